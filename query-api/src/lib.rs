//! The read side: the GraphQL schema over the read models, served at `/graphql` (GraphiQL on GET).
//!
//! Invariant: the only crate that knows GraphQL. Resolvers read the projector runtime's views (never
//! the log, except a book's chart and as-of folds through the runtime), so a query answers in the time
//! of a lookup however long the history. Every query may name the log position it must reflect
//! (`minPosition`, read-your-writes: waits up to two seconds, then `projection.behind`) or ask for the
//! model as of a past position or business date (`asOf`). Money and quantities are strings (exact
//! decimals); ids are UUIDs; errors carry a stable `code` in their extensions.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{
    Context, EmptyMutation, Enum, ErrorExtensions, InputObject, MergedObject, Object, Schema, SimpleObject,
};
use domain::finance::book::Book;
use domain::inventory::StockKey;
use domain::time::{CHINA_UTC_OFFSET_MINUTES, Period};
use domain::{Aggregate, BookId, ItemId, Timestamp, WarehouseId};
use infra::{AnyStore, EventStore, StreamId};
use projections::audit::{Audit, AuditFilter};
use projections::dashboard::Dashboard;
use projections::documents::{DocumentFilter, Documents};
use projections::ledger::Ledgers;
use projections::open_items::OpenItems;
use projections::per_book::PerBook;
use projections::process_metrics::{FlowKind, ProcessMetrics};
use projections::runtime::{AsOf, AsOfCache, Handle, ProjectionError, ProjectorSet, ReadModel};
use projections::stock::Stock;
use uuid::Uuid;

pub mod finance;
pub mod subscriptions;

/// How long a query waits for a model to reach its `minPosition`.
pub const MIN_POSITION_WAIT: Duration = Duration::from_secs(2);
/// The most items one page returns.
pub const PAGE_MAX: usize = 500;
/// Query depth and complexity limits: deep or wide queries are refused before they run.
pub const DEPTH_MAX: usize = 12;
pub const COMPLEXITY_MAX: usize = 2_000;

/// The live read models' handles, one per model.
pub struct Handles {
    pub ledger: Handle<Ledgers>,
    pub open_items: Handle<PerBook<OpenItems>>,
    pub stock: Handle<PerBook<Stock>>,
    pub metrics: Handle<PerBook<ProcessMetrics>>,
    pub documents: Handle<PerBook<Documents>>,
    pub dashboard: Handle<PerBook<Dashboard>>,
    pub audit: Handle<PerBook<Audit>>,
}

impl Handles {
    /// Adds every read model the API serves to `set` (opened from its snapshot) and answers their handles.
    pub fn add_to<S: EventStore>(set: &mut ProjectorSet<S>) -> Handles {
        Handles::added(set, false)
    }

    /// The same, every model starting from position 0 (an offline rebuild).
    pub fn add_all_from_zero<S: EventStore>(set: &mut ProjectorSet<S>) -> Handles {
        Handles::added(set, true)
    }

    fn added<S: EventStore>(set: &mut ProjectorSet<S>, from_zero: bool) -> Handles {
        fn one<M: ReadModel, S: EventStore>(set: &mut ProjectorSet<S>, from_zero: bool) -> Handle<M> {
            if from_zero { set.add_from_zero() } else { set.add() }
        }
        Handles {
            ledger: one(set, from_zero),
            open_items: one(set, from_zero),
            stock: one(set, from_zero),
            metrics: one(set, from_zero),
            documents: one(set, from_zero),
            dashboard: one(set, from_zero),
            audit: one(set, from_zero),
        }
    }
}

/// Something done for each read model the API serves, by its type (tools that list, check or rebuild
/// the models go through this rather than a list of their own).
pub trait EachModel {
    fn model<M: ReadModel>(&mut self);
}

/// Calls `visit.model::<M>()` for every read model the API serves, as [`Handles`] holds them.
pub fn for_each_model(visit: &mut impl EachModel) {
    visit.model::<Ledgers>();
    visit.model::<PerBook<OpenItems>>();
    visit.model::<PerBook<Stock>>();
    visit.model::<PerBook<ProcessMetrics>>();
    visit.model::<PerBook<Documents>>();
    visit.model::<PerBook<Dashboard>>();
    visit.model::<PerBook<Audit>>();
}

/// What the resolvers read: the store (a book's chart, as-of folds, audit events) and the live models.
/// The store is whichever adapter the service runs over ([`AnyStore`]).
pub struct ReadSide {
    pub store: AnyStore,
    pub models: Handles,
    stock_as_of: AsOfCache<PerBook<Stock>>,
    ledger_as_of: AsOfCache<Ledgers>,
    items_as_of: AsOfCache<PerBook<OpenItems>>,
}

impl ReadSide {
    pub fn new(store: impl Into<AnyStore>, models: Handles) -> ReadSide {
        ReadSide {
            store: store.into(),
            models,
            stock_as_of: AsOfCache::new(8),
            ledger_as_of: AsOfCache::new(8),
            items_as_of: AsOfCache::new(8),
        }
    }
}

pub type ErpSchema = Schema<QueryRoot, EmptyMutation, subscriptions::SubscriptionRoot>;

/// The schema, with its limits, over `read`.
pub fn schema(read: Arc<ReadSide>) -> ErpSchema {
    Schema::build(QueryRoot::default(), EmptyMutation, subscriptions::SubscriptionRoot)
        .data(read)
        .limit_depth(DEPTH_MAX)
        .limit_complexity(COMPLEXITY_MAX)
        .finish()
}

/// The schema's SDL (written to `docs/schema.graphql`; a test fails when the two drift apart).
pub fn sdl() -> String {
    Schema::build(QueryRoot::default(), EmptyMutation, subscriptions::SubscriptionRoot).finish().sdl()
}

/// Checks a bearer token and answers whom it belongs to: how a WebSocket client that cannot set
/// headers (a browser) authenticates, with `{"authorization": "Bearer <token>"}` as its
/// `connection_init` payload.
pub type Authenticate = Arc<dyn Fn(&str) -> Option<domain::Caller> + Send + Sync>;

#[derive(Clone)]
struct Served {
    schema: ErpSchema,
    authenticate: Option<Authenticate>,
}

/// `/graphql`: GraphiQL on GET, queries on POST; `/graphql/ws`: subscriptions over WebSocket. The
/// caller an authentication layer put in the request's extensions is handed to the resolvers, which
/// answer only for its book. Without authentication (in-process tests) every book may be read.
pub fn router(read: Arc<ReadSide>) -> axum::Router {
    router_with(read, None)
}

/// [`router`], with WebSocket clients that came without an `Authorization` header authenticated by
/// their `connection_init` payload through `authenticate` (and refused without a known token).
pub fn router_with(read: Arc<ReadSide>, authenticate: Option<Authenticate>) -> axum::Router {
    let served = Served { schema: schema(read), authenticate };
    axum::Router::new()
        .route("/graphql", axum::routing::get(graphiql).post(graphql))
        .route("/graphql/ws", axum::routing::get(graphql_ws))
        .with_state(served)
}

async fn graphql(
    axum::extract::State(served): axum::extract::State<Served>,
    caller: Option<axum::Extension<domain::Caller>>,
    request: async_graphql_axum::GraphQLRequest,
) -> async_graphql_axum::GraphQLResponse {
    let mut request = request.into_inner();
    if let Some(axum::Extension(caller)) = caller {
        request = request.data(caller);
    }
    served.schema.execute(request).await.into()
}

type Serving = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

async fn graphql_ws(
    axum::extract::State(served): axum::extract::State<Served>,
    caller: Option<axum::Extension<domain::Caller>>,
    protocol: async_graphql_axum::GraphQLProtocol,
    upgrade: axum::extract::WebSocketUpgrade,
) -> axum::response::Response {
    upgrade.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| {
        let socket = async_graphql_axum::GraphQLWebSocket::new(socket, served.schema, protocol);
        let serving: Serving = match (caller, served.authenticate) {
            (Some(axum::Extension(caller)), _) => {
                let mut data = async_graphql::Data::default();
                data.insert(caller);
                Box::pin(socket.with_data(data).serve())
            }
            (None, Some(authenticate)) => Box::pin(
                socket
                    .on_connection_init(move |payload| async move {
                        let token = ["authorization", "Authorization"]
                            .iter()
                            .find_map(|k| payload.get(*k).and_then(serde_json::Value::as_str))
                            .map(|v| v.trim_start_matches("Bearer ").trim().to_string());
                        match token.as_deref().and_then(|t| authenticate(t)) {
                            Some(caller) => {
                                let mut data = async_graphql::Data::default();
                                data.insert(caller);
                                Ok(data)
                            }
                            None => Err(error(
                                "auth.invalid_token",
                                "send {\"authorization\": \"Bearer <token>\"} as the connection_init payload",
                            )),
                        }
                    })
                    .serve(),
            ),
            (None, None) => Box::pin(socket.serve()),
        };
        serving
    })
}

async fn graphiql() -> axum::response::Html<String> {
    axum::response::Html(
        async_graphql::http::GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .finish(),
    )
}

fn error(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
}

fn store_error(e: infra::StoreError) -> async_graphql::Error {
    error(e.code(), e.to_string())
}

/// The date a query names, or now (the wall clock) when it names none.
fn now_or_today(day: Option<&str>) -> async_graphql::Result<Timestamp> {
    day.map_or_else(|| Ok(Timestamp(now_micros())), date)
}

fn projection_error(e: ProjectionError) -> async_graphql::Error {
    error(e.code(), e.to_string())
}

/// The book a query names, which must be the caller's: a token of one book reads nothing of another
/// (`auth.wrong_book`). Without a caller (the API mounted without authentication, as in-process
/// tests do) every book may be read.
fn book_of(ctx: &Context<'_>, text: &str) -> async_graphql::Result<BookId> {
    let book = BookId(uuid("book", text)?);
    match ctx.data_opt::<domain::Caller>() {
        Some(caller) if caller.book != book => {
            Err(error("auth.wrong_book", format!("this token reads book {}, not {}", caller.book.0, book.0)))
        }
        _ => Ok(book),
    }
}

/// A cursor naming a stock item, `{item}:{warehouse}`, as the lists by stock item hand out.
fn stock_cursor(cursor: &str) -> async_graphql::Result<StockKey> {
    let invalid = || error("input.invalid", format!("{cursor:?} is not a cursor of this list"));
    let (item, warehouse) = cursor.split_once(':').ok_or_else(invalid)?;
    let (item, warehouse) = (Uuid::parse_str(item), Uuid::parse_str(warehouse));
    match (item, warehouse) {
        (Ok(item), Ok(warehouse)) => Ok(StockKey { item: ItemId(item), warehouse: WarehouseId(warehouse) }),
        _ => Err(invalid()),
    }
}

fn uuid(what: &str, text: &str) -> async_graphql::Result<Uuid> {
    Uuid::parse_str(text).map_err(|_| error("input.invalid", format!("{what} {text:?} is not a UUID")))
}

fn date(text: &str) -> async_graphql::Result<Timestamp> {
    domain::time::parse_local_date(text, CHINA_UTC_OFFSET_MINUTES)
        .ok_or_else(|| error("input.invalid", format!("{text:?} is not a date (YYYY-MM-DD)")))
}

/// The last instant of the day a query names (everything that happened on it counts), or the end of
/// time when it names none (today's books: everything recorded so far).
fn end_of(day: Option<&str>) -> async_graphql::Result<Timestamp> {
    match day {
        Some(day) => Ok(Timestamp(date(day)?.0 + 86_400_000_000 - 1)),
        None => Ok(Timestamp(i64::MAX)),
    }
}

/// A point in the past to read a model at: a log position or a business date (the end of that day).
#[derive(InputObject, Clone, Debug)]
pub struct AsOfInput {
    pub position: Option<u64>,
    /// YYYY-MM-DD, China Standard Time: everything that happened up to the end of that day.
    pub date: Option<String>,
}

impl AsOfInput {
    fn resolve(&self) -> async_graphql::Result<AsOf> {
        match (&self.position, &self.date) {
            (Some(position), None) => Ok(AsOf::Position(*position)),
            (None, Some(day)) => Ok(AsOf::Date(end_of(Some(day))?)),
            _ => Err(error("input.invalid", "asOf takes either a position or a date")),
        }
    }
}

/// Runs `f` over a model: the live one (after it reached `min_position`) or one as of a past point.
async fn with_model<M: ReadModel, R>(
    read: &ReadSide,
    live: &Handle<M>,
    cache: Option<&AsOfCache<M>>,
    min_position: Option<u64>,
    as_of: Option<AsOfInput>,
    f: impl FnOnce(&M) -> R,
) -> async_graphql::Result<(R, u64)> {
    if let Some(as_of) = as_of {
        let cache =
            cache.ok_or_else(|| error("input.invalid", "this model is not kept as of past points"))?;
        let at = as_of.resolve()?;
        let model = cache.get(&read.store, at).await.map_err(projection_error)?;
        let position = match at {
            AsOf::Position(p) => p,
            AsOf::Date(_) => read.store.head_position().await.map_err(store_error)?,
        };
        return Ok((f(&model), position));
    }
    if let Some(position) = min_position {
        live.wait_for(position, MIN_POSITION_WAIT).await.map_err(projection_error)?;
    }
    Ok(live.read(f))
}

/// A page size must be 1 to [`PAGE_MAX`].
fn check_page(first: usize) -> async_graphql::Result<()> {
    if first == 0 || first > PAGE_MAX {
        return Err(error("input.invalid", format!("first is 1 to {PAGE_MAX}")));
    }
    Ok(())
}

/// A page of `first` from `rows` fetched one beyond it: whether there is more, and the rows kept.
fn split_page<T>(mut rows: Vec<T>, first: usize) -> (Vec<T>, bool) {
    let has_next_page = rows.len() > first;
    rows.truncate(first);
    (rows, has_next_page)
}

fn money(d: rust_decimal::Decimal) -> String {
    d.normalize().to_string()
}

#[derive(SimpleObject)]
pub struct Positions {
    /// The log's head.
    pub head: u64,
    pub ledger: u64,
    pub open_items: u64,
    pub stock: u64,
    pub process_metrics: u64,
}

#[derive(SimpleObject)]
pub struct StockLevelRow {
    pub item: String,
    pub warehouse: String,
    pub on_hand: String,
    pub reserved: String,
    pub available: String,
    pub incoming: String,
    pub in_transit: String,
    pub value: String,
}

#[derive(SimpleObject)]
pub struct StockLevelPage {
    pub nodes: Vec<StockLevelRow>,
    /// Pass as `after` for the next page; none on the last.
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
    /// The log position the page reflects.
    pub position: u64,
}

#[derive(SimpleObject)]
pub struct StockMovement {
    pub position: u64,
    /// Business time, microseconds since 1970-01-01 UTC.
    pub at: i64,
    pub warehouse: String,
    pub kind: String,
    pub qty: String,
    pub value: String,
    pub on_hand_after: String,
    pub value_after: String,
    pub document: Option<String>,
}

/// What is on hand of one lot (批次) of an item in a warehouse, and the bins (货位) it was put away in.
#[derive(SimpleObject)]
pub struct StockLot {
    pub warehouse: String,
    /// None for goods received without a lot.
    pub lot: Option<String>,
    pub on_hand: String,
    pub bins: Vec<String>,
}

#[derive(SimpleObject, Clone, PartialEq)]
pub struct StockAlert {
    pub item: String,
    pub warehouse: String,
    pub available: String,
    pub safety_stock: String,
}

#[derive(SimpleObject)]
pub struct Suggestion {
    pub item: String,
    pub warehouse: String,
    pub qty: String,
    pub supplier: Option<String>,
    /// Issued per day over the trailing 30 days.
    pub daily_rate: String,
}

/// A replenishment suggestion (补货建议) raised when the stock item fell below its safety stock, and
/// neither taken up by a requisition nor dismissed yet.
#[derive(SimpleObject)]
pub struct OpenReplenishmentSuggestion {
    pub item: String,
    pub warehouse: String,
    /// Available and safety stock when it was raised.
    pub available: String,
    pub safety_stock: String,
    /// What brings available stock back to the safety level.
    pub suggested_qty: String,
    /// Business time it was raised, microseconds since 1970-01-01 UTC.
    pub raised_at: i64,
    /// The log position of the suggestion.
    pub raised_position: u64,
}

#[derive(SimpleObject)]
pub struct OpenReplenishmentSuggestionPage {
    pub nodes: Vec<OpenReplenishmentSuggestion>,
    /// Pass as `after` for the next page; none on the last.
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
    /// The log position the page reflects.
    pub position: u64,
}

#[derive(SimpleObject)]
pub struct SlowMover {
    pub item: String,
    pub warehouse: String,
    pub on_hand: String,
    /// Days the stock lasts at the trailing 30-day issue rate; none when nothing was issued.
    pub days_of_cover: Option<String>,
}

#[derive(SimpleObject)]
pub struct TrialBalanceLine {
    pub code: String,
    pub name: String,
    pub level: u32,
    pub opening: String,
    pub debit: String,
    pub credit: String,
    pub closing: String,
}

#[derive(SimpleObject)]
pub struct TrialBalance {
    pub period: String,
    pub position: u64,
    pub rows: Vec<TrialBalanceLine>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum Subledger {
    Receivable,
    Payable,
}

#[derive(SimpleObject)]
pub struct PartnerBalance {
    pub partner: String,
    pub balance: String,
}

#[derive(SimpleObject)]
pub struct AgingBuckets {
    pub not_due: String,
    /// Past due by 0 to 30 days.
    pub within_30_days: String,
    pub days_31_to_60: String,
    pub days_61_to_90: String,
    pub over_90_days: String,
}

#[derive(SimpleObject)]
pub struct OpenItemsReport {
    pub position: u64,
    pub balances: Vec<PartnerBalance>,
    pub aging: AgingBuckets,
}

/// An event's envelope: what happened, to which stream, who recorded it, when, and what caused it.
#[derive(SimpleObject)]
pub struct EventEnvelope {
    pub position: u64,
    pub stream: String,
    pub version: u64,
    pub event_id: String,
    pub event_type: String,
    pub schema_version: u32,
    pub book: String,
    pub actor: String,
    pub command_id: String,
    pub correlation_id: String,
    pub causation_id: String,
    /// Business time and store time, microseconds since 1970-01-01 UTC.
    pub occurred_at: i64,
    pub recorded_at: i64,
    /// The commit hash before this event's commit (hex): its link in the hash chain.
    pub previous_hash: String,
}

impl EventEnvelope {
    fn of(e: &infra::RecordedEvent) -> EventEnvelope {
        EventEnvelope {
            position: e.position,
            stream: e.stream_id.as_str().to_string(),
            version: e.stream_version,
            event_id: e.event_id.0.to_string(),
            event_type: e.event_type.name().to_string(),
            schema_version: u32::from(e.event_type.version()),
            book: e.metadata.book.0.to_string(),
            actor: e.metadata.actor.clone(),
            command_id: e.metadata.command_id.0.to_string(),
            correlation_id: e.metadata.correlation_id.to_string(),
            causation_id: e.metadata.causation_id.to_string(),
            occurred_at: e.metadata.occurred_at.0,
            recorded_at: e.recorded_at.0,
            previous_hash: e.prev_hash.to_hex(),
        }
    }
}

#[derive(SimpleObject)]
pub struct EventPage {
    pub nodes: Vec<EventEnvelope>,
    /// The last position (or, for a stream, version) of the page: pass as `after` for the next.
    pub end_cursor: Option<u64>,
    pub has_next_page: bool,
}

impl EventPage {
    fn of(
        events: &[infra::RecordedEvent],
        has_next_page: bool,
        cursor: impl Fn(&infra::RecordedEvent) -> u64,
    ) -> Self {
        EventPage {
            end_cursor: if has_next_page { events.last().map(cursor) } else { None },
            nodes: events.iter().map(EventEnvelope::of).collect(),
            has_next_page,
        }
    }
}

#[derive(SimpleObject, Clone, PartialEq)]
pub struct Ranked {
    pub id: String,
    pub qty: String,
    pub revenue: String,
}

#[derive(SimpleObject, Clone, PartialEq)]
pub struct Share {
    pub name: String,
    pub amount: String,
}

#[derive(SimpleObject, Clone, PartialEq)]
pub struct DayFigures {
    pub date: String,
    pub revenue: String,
    pub cost_of_sales: String,
    pub orders: u64,
}

#[derive(SimpleObject, Clone, PartialEq)]
pub struct DashboardReport {
    pub revenue: String,
    pub cost_of_sales: String,
    pub gross_margin: String,
    pub orders: u64,
    /// Cash and bank balances of the book (its 库存现金 and 银行存款 accounts).
    pub cash: String,
    pub receivables: String,
    pub payables: String,
    pub inventory_value: String,
    /// Cost of sales of the last 30 days, annualized, over the inventory value now; none without stock.
    pub inventory_turnover: Option<String>,
    pub top_customers: Vec<Ranked>,
    pub top_items: Vec<Ranked>,
    pub by_channel: Vec<Share>,
    pub by_region: Vec<Share>,
    pub daily: Vec<DayFigures>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DocumentKind {
    SalesOrder,
    Shipment,
    SalesInvoice,
    CustomerReceipt,
    PurchaseOrder,
    PurchaseInvoice,
    SupplierPayment,
    /// 采购入库单.
    GoodsReceipt,
}

impl DocumentKind {
    fn model(self) -> projections::documents::DocumentKind {
        use projections::documents::DocumentKind as K;
        match self {
            DocumentKind::SalesOrder => K::SalesOrder,
            DocumentKind::Shipment => K::Shipment,
            DocumentKind::SalesInvoice => K::SalesInvoice,
            DocumentKind::CustomerReceipt => K::CustomerReceipt,
            DocumentKind::PurchaseOrder => K::PurchaseOrder,
            DocumentKind::PurchaseInvoice => K::PurchaseInvoice,
            DocumentKind::SupplierPayment => K::SupplierPayment,
            DocumentKind::GoodsReceipt => K::GoodsReceipt,
        }
    }
}

#[derive(SimpleObject)]
pub struct DocumentRow {
    pub kind: String,
    pub id: String,
    pub partner: Option<String>,
    pub amount: String,
    pub status: String,
    /// Business times, microseconds since 1970-01-01 UTC.
    pub created: i64,
    pub updated: i64,
    pub reference: Option<String>,
}

#[derive(SimpleObject)]
pub struct DocumentPage {
    pub nodes: Vec<DocumentRow>,
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
    pub position: u64,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum Process {
    OrderToCash,
    ProcureToPay,
}

#[derive(SimpleObject)]
pub struct StepMetrics {
    pub step: String,
    pub count: u64,
    /// Microseconds.
    pub mean_us: i64,
    pub p50_us: i64,
    pub p90_us: i64,
    pub p95_us: i64,
    pub max_us: i64,
    /// Documents that reached the step before and not this one yet, and the oldest one's wait.
    pub waiting: u64,
    pub oldest_waiting_us: i64,
}

#[derive(SimpleObject)]
pub struct ProcessReport {
    pub position: u64,
    pub steps: Vec<StepMetrics>,
    pub bottleneck: Option<String>,
}

/// Every query: the operations' read models here, the books in [`finance`].
#[derive(MergedObject, Default)]
pub struct QueryRoot(BaseQuery, finance::FinanceQuery);

#[derive(Default)]
pub struct BaseQuery;

#[Object]
impl BaseQuery {
    /// How far each read model has folded the log.
    async fn positions(&self, ctx: &Context<'_>) -> async_graphql::Result<Positions> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        Ok(Positions {
            head: read.store.head_position().await.map_err(store_error)?,
            ledger: read.models.ledger.position(),
            open_items: read.models.open_items.position(),
            stock: read.models.stock.position(),
            process_metrics: read.models.metrics.position(),
        })
    }

    /// Stock per item and warehouse, by item then warehouse, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn stock_levels(
        &self,
        ctx: &Context<'_>,
        book: String,
        item: Option<String>,
        warehouse: Option<String>,
        #[graphql(default = 50)] first: usize,
        after: Option<String>,
        min_position: Option<u64>,
        as_of: Option<AsOfInput>,
    ) -> async_graphql::Result<StockLevelPage> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = book_of(ctx, &book)?;
        check_page(first)?;
        let item = item.map(|i| uuid("item", &i).map(ItemId)).transpose()?;
        let warehouse = warehouse.map(|w| uuid("warehouse", &w).map(WarehouseId)).transpose()?;
        let after = after.as_deref().map(|a| a.to_string());
        let (rows, position) =
            with_model(read, &read.models.stock, Some(&read.stock_as_of), min_position, as_of, |stock| {
                let stock = stock.book(book);
                stock
                    .levels()
                    .filter(|(k, _)| {
                        item.is_none_or(|i| k.item == i) && warehouse.is_none_or(|w| k.warehouse == w)
                    })
                    .map(|(k, l)| (format!("{}:{}", k.item, k.warehouse), k, l.clone()))
                    .filter(|(cursor, _, _)| after.as_ref().is_none_or(|a| cursor > a))
                    .take(first + 1)
                    .collect::<Vec<_>>()
            })
            .await?;
        let (rows, has_next_page) = split_page(rows, first);
        let end_cursor = if has_next_page { rows.last().map(|(c, _, _)| c.clone()) } else { None };
        let nodes = rows
            .into_iter()
            .map(|(_, k, l)| StockLevelRow {
                item: k.item.to_string(),
                warehouse: k.warehouse.to_string(),
                on_hand: money(l.on_hand),
                reserved: money(l.reserved),
                available: money(l.available()),
                incoming: money(l.incoming),
                in_transit: money(l.in_transit),
                value: money(l.value),
            })
            .collect();
        Ok(StockLevelPage { nodes, end_cursor, has_next_page, position })
    }

    /// An item's stock ledger (收发明细): every movement in log order with the balance after it (the
    /// last `last` movements).
    async fn stock_ledger(
        &self,
        ctx: &Context<'_>,
        book: String,
        item: String,
        #[graphql(default = 100)] last: usize,
        min_position: Option<u64>,
    ) -> async_graphql::Result<Vec<StockMovement>> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = book_of(ctx, &book)?;
        check_page(last)?;
        let item = ItemId(uuid("item", &item)?);
        let (tail, _) = with_model(read, &read.models.stock, None, min_position, None, |stock| {
            let stock = stock.book(book);
            stock.ledger_tail(item, last as u64)
        })
        .await?;
        // The movements themselves are in the log: read back by position (a page's worth of point
        // reads, never a replay).
        let events = events_at(&read.store, &tail.positions).await?;
        let mut decoded = Vec::with_capacity(events.len());
        for event in &events {
            let stock: domain::inventory::stock::StockEvent =
                infra::codec::decode_domain_event(&event.event_type, &event.payload).map_err(store_error)?;
            decoded.push((event.position, event.metadata.occurred_at, event.stream_id.as_str(), stock));
        }
        let entries = tail.entries(decoded.iter().map(|(p, at, stream, e)| (*p, *at, *stream, e)));
        Ok(entries
            .into_iter()
            .map(|e| StockMovement {
                position: e.position,
                at: e.at.0,
                warehouse: e.warehouse.to_string(),
                kind: e.kind,
                qty: money(e.qty),
                value: money(e.value),
                on_hand_after: money(e.on_hand_after),
                value_after: money(e.value_after),
                document: e.document,
            })
            .collect())
    }

    /// An item's stock by lot (批次), per warehouse, with the bins each lot was put away in; lots with
    /// nothing on hand are left out.
    async fn stock_lots(
        &self,
        ctx: &Context<'_>,
        book: String,
        item: String,
        warehouse: Option<String>,
        min_position: Option<u64>,
        as_of: Option<AsOfInput>,
    ) -> async_graphql::Result<Vec<StockLot>> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = book_of(ctx, &book)?;
        let item = ItemId(uuid("item", &item)?);
        let warehouse = warehouse.map(|w| uuid("warehouse", &w).map(WarehouseId)).transpose()?;
        let (lots, _) =
            with_model(read, &read.models.stock, Some(&read.stock_as_of), min_position, as_of, |stock| {
                let stock = stock.book(book);
                stock
                    .lots(item, warehouse)
                    .map(|(warehouse, lot, level)| StockLot {
                        warehouse: warehouse.to_string(),
                        lot: lot.map(String::from),
                        on_hand: money(level.on_hand),
                        bins: level.bins.iter().cloned().collect(),
                    })
                    .collect()
            })
            .await?;
        Ok(lots)
    }

    /// Replenishment suggestions (智能补货) as of `now` (a date; today when none is given).
    async fn replenishment(
        &self,
        ctx: &Context<'_>,
        book: String,
        now: Option<String>,
        min_position: Option<u64>,
    ) -> async_graphql::Result<Vec<Suggestion>> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = book_of(ctx, &book)?;
        let now = now_or_today(now.as_deref())?;
        let (suggestions, _) = with_model(read, &read.models.stock, None, min_position, None, |stock| {
            let stock = stock.book(book);
            stock
                .replenishment(now)
                .into_iter()
                .map(|s| Suggestion {
                    item: s.key.item.to_string(),
                    warehouse: s.key.warehouse.to_string(),
                    qty: money(s.qty),
                    supplier: s.supplier.map(|p| p.to_string()),
                    daily_rate: money(s.daily_rate),
                })
                .collect()
        })
        .await?;
        Ok(suggestions)
    }

    /// The replenishment suggestions raised and still open (not taken up, not dismissed), by item then
    /// warehouse, a page at a time (`after`: the last page's `endCursor`).
    async fn open_replenishment_suggestions(
        &self,
        ctx: &Context<'_>,
        book: String,
        #[graphql(default = 50)] first: usize,
        after: Option<String>,
        min_position: Option<u64>,
    ) -> async_graphql::Result<OpenReplenishmentSuggestionPage> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = book_of(ctx, &book)?;
        check_page(first)?;
        let after = after.as_deref().map(stock_cursor).transpose()?;
        let (rows, position) = with_model(read, &read.models.stock, None, min_position, None, |stock| {
            let stock = stock.book(book);
            stock
                .open_suggestions(after)
                .take(first + 1)
                .map(|(key, s)| OpenReplenishmentSuggestion {
                    item: key.item.to_string(),
                    warehouse: key.warehouse.to_string(),
                    available: money(s.available),
                    safety_stock: money(s.safety_stock),
                    suggested_qty: money(s.suggested_qty),
                    raised_at: s.raised_at.0,
                    raised_position: s.position,
                })
                .collect::<Vec<_>>()
        })
        .await?;
        let (nodes, has_next_page) = split_page(rows, first);
        let end_cursor =
            if has_next_page { nodes.last().map(|n| format!("{}:{}", n.item, n.warehouse)) } else { None };
        Ok(OpenReplenishmentSuggestionPage { nodes, end_cursor, has_next_page, position })
    }

    /// Stock on hand with no issue in the last `days` before `now` (滞销).
    async fn slow_movers(
        &self,
        ctx: &Context<'_>,
        book: String,
        #[graphql(default = 90)] days: i64,
        now: Option<String>,
        min_position: Option<u64>,
    ) -> async_graphql::Result<Vec<SlowMover>> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = book_of(ctx, &book)?;
        if !(1..=3_650).contains(&days) {
            return Err(error("input.invalid", "days is 1 to 3,650"));
        }
        let now = now_or_today(now.as_deref())?;
        let (slow, _) = with_model(read, &read.models.stock, None, min_position, None, |stock| {
            let stock = stock.book(book);
            stock
                .slow_moving(now, days)
                .into_iter()
                .map(|(key, on_hand, cover)| SlowMover {
                    item: key.item.to_string(),
                    warehouse: key.warehouse.to_string(),
                    on_hand: money(on_hand),
                    days_of_cover: cover.map(money),
                })
                .collect()
        })
        .await?;
        Ok(slow)
    }

    /// The trial balance (科目余额表) of a book's month: every account of its chart.
    async fn trial_balance(
        &self,
        ctx: &Context<'_>,
        book: String,
        period: String,
        min_position: Option<u64>,
        as_of: Option<AsOfInput>,
    ) -> async_graphql::Result<TrialBalance> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = book_of(ctx, &book)?;
        let month = Period::parse(&period)
            .ok_or_else(|| error("input.invalid", format!("{period:?} is not a month (YYYY-MM)")))?;
        let chart = chart(&read.store, book).await?;
        let (rows, position) =
            with_model(read, &read.models.ledger, Some(&read.ledger_as_of), min_position, as_of, |ledgers| {
                ledgers.book(book).trial_balance(&chart, month)
            })
            .await?;
        let rows = rows
            .into_iter()
            .map(|r| TrialBalanceLine {
                code: r.code,
                name: r.name,
                level: r.level as u32,
                opening: money(r.opening),
                debit: money(r.debit),
                credit: money(r.credit),
                closing: money(r.closing),
            })
            .collect();
        Ok(TrialBalance { period, position, rows })
    }

    /// Receivables or payables: each partner's balance and the aging of what is open, at a date
    /// (today's books when none is given: everything recorded so far).
    async fn open_items(
        &self,
        ctx: &Context<'_>,
        book: String,
        subledger: Subledger,
        at: Option<String>,
        min_position: Option<u64>,
        as_of: Option<AsOfInput>,
    ) -> async_graphql::Result<OpenItemsReport> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = book_of(ctx, &book)?;
        let at = end_of(at.as_deref())?;
        let which = match subledger {
            Subledger::Receivable => projections::open_items::Ledger::Receivable,
            Subledger::Payable => projections::open_items::Ledger::Payable,
        };
        let ((balances, aging), position) = with_model(
            read,
            &read.models.open_items,
            Some(&read.items_as_of),
            min_position,
            as_of,
            |items| {
                let items = items.book(book);
                (items.balances(which, at), items.aging(which, at))
            },
        )
        .await?;
        Ok(OpenItemsReport {
            position,
            balances: balances
                .into_iter()
                .map(|(p, b)| PartnerBalance { partner: p.to_string(), balance: money(b) })
                .collect(),
            aging: AgingBuckets {
                not_due: money(aging.not_due),
                within_30_days: money(aging.days_0_30),
                days_31_to_60: money(aging.days_31_60),
                days_61_to_90: money(aging.days_61_90),
                over_90_days: money(aging.over_90),
            },
        })
    }

    /// The owner's dashboard (老板驾驶舱) of a book: the trading figures over the local days [from, to),
    /// with the balances of now.
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        book: String,
        from: Option<String>,
        to: Option<String>,
        #[graphql(default = 10)] top: usize,
        min_position: Option<u64>,
    ) -> async_graphql::Result<DashboardReport> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let args = DashboardArgs::parse(ctx, &book, from.as_deref(), to.as_deref(), top)?;
        dashboard_report(read, &args, min_position).await
    }

    /// Stock items whose available quantity is below their safety stock (库存预警).
    async fn stock_alerts(
        &self,
        ctx: &Context<'_>,
        book: String,
        min_position: Option<u64>,
    ) -> async_graphql::Result<Vec<StockAlert>> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        stock_alerts(read, book_of(ctx, &book)?, min_position).await
    }

    /// A stream's history, oldest first, a page at a time (`after`: the last version seen).
    async fn stream_history(
        &self,
        ctx: &Context<'_>,
        book: String,
        stream: String,
        #[graphql(default = 50)] first: usize,
        after: Option<u64>,
    ) -> async_graphql::Result<EventPage> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = book_of(ctx, &book)?;
        check_page(first)?;
        let id = StreamId::new(stream).map_err(store_error)?;
        let from = after.map_or(0, |v| v + 1);
        let events = read.store.read_stream(&id, from, first + 1).await.map_err(store_error)?;
        // A stream of another book is not this book's to read: it reads as empty, as a missing one does.
        if events.iter().any(|e| e.metadata.book != book) {
            return Ok(EventPage::of(&[], false, |e| e.stream_version));
        }
        let (events, has_next_page) = split_page(events, first);
        Ok(EventPage::of(&events, has_next_page, |e| e.stream_version))
    }

    /// The event log filtered by actor, event type, correlation id (one business flow) and business
    /// time, in log order, a page at a time (`after`: the last position seen).
    #[allow(clippy::too_many_arguments)]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        book: String,
        actor: Option<String>,
        event_type: Option<String>,
        correlation: Option<String>,
        from: Option<String>,
        to: Option<String>,
        #[graphql(default = 50)] first: usize,
        after: Option<u64>,
        min_position: Option<u64>,
    ) -> async_graphql::Result<EventPage> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = book_of(ctx, &book)?;
        check_page(first)?;
        let filter = AuditFilter {
            actor,
            event_type,
            correlation: correlation.map(|c| uuid("correlation", &c)).transpose()?,
        };
        let from = from
            .as_deref()
            .map(date)
            .transpose()?
            .map(|t| domain::time::local_day(t, CHINA_UTC_OFFSET_MINUTES));
        let to = to
            .as_deref()
            .map(date)
            .transpose()?
            .map(|t| domain::time::local_day(t, CHINA_UTC_OFFSET_MINUTES));
        let in_range = |e: &infra::RecordedEvent| {
            let day = domain::time::local_day(e.metadata.occurred_at, CHINA_UTC_OFFSET_MINUTES);
            from.is_none_or(|f| day >= f) && to.is_none_or(|t| day < t)
        };
        if let Some(position) = min_position {
            read.models.audit.wait_for(position, MIN_POSITION_WAIT).await.map_err(projection_error)?;
        }
        let mut found = Vec::new();
        let mut cursor = after.unwrap_or(0);
        // Candidates in chunks (from the index, or the log itself when no criterion can use the index),
        // kept when the time range admits them, until the page is full or nothing is left.
        loop {
            let (candidates, _) =
                read.models.audit.read(|audit| audit.book(book).positions(&filter, cursor, first + 1));
            let events = match candidates {
                Some(positions) if positions.is_empty() => break,
                Some(positions) => events_at(&read.store, &positions).await?,
                None => {
                    let page = read.store.read_all(cursor + 1, first + 1).await.map_err(store_error)?;
                    if page.is_empty() {
                        break;
                    }
                    page
                }
            };
            let Some(last) = events.last().map(|e| e.position) else { break };
            cursor = last;
            found.extend(events.into_iter().filter(|e| in_range(e)));
            if found.len() > first {
                break;
            }
        }
        let (found, has_next_page) = split_page(found, first);
        Ok(EventPage::of(&found, has_next_page, |e| e.position))
    }

    /// Documents, newest first, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn documents(
        &self,
        ctx: &Context<'_>,
        book: String,
        kind: Option<DocumentKind>,
        status: Option<String>,
        partner: Option<String>,
        from: Option<String>,
        to: Option<String>,
        #[graphql(default = 50)] first: usize,
        after: Option<String>,
        min_position: Option<u64>,
    ) -> async_graphql::Result<DocumentPage> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = book_of(ctx, &book)?;
        check_page(first)?;
        use projections::documents::{DocumentKind as K, Status};
        let status = match status {
            Some(word) => Some(Status::parse(&word).ok_or_else(|| {
                error(
                    "input.invalid",
                    format!("{word:?} is not a document status (placed, shipped, paid, ...)"),
                )
            })?),
            None => None,
        };
        let filter = DocumentFilter {
            kind: kind.map(DocumentKind::model),
            status,
            partner: partner.map(|p| uuid("partner", &p).map(domain::PartnerId)).transpose()?,
            from: from.as_deref().map(date).transpose()?,
            to: to.as_deref().map(date).transpose()?,
        };
        // The cursor is the last row's place in the list: `created:id:kind`.
        let after = match after {
            Some(cursor) => {
                let invalid = || error("input.invalid", format!("{cursor:?} is not a cursor of this list"));
                let mut parts = cursor.splitn(3, ':');
                let (Some(at), Some(id), Some(kind)) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(invalid());
                };
                let kind =
                    kind.parse::<usize>().ok().and_then(|k| K::ALL.get(k).copied()).ok_or_else(invalid)?;
                Some((Timestamp(at.parse().map_err(|_| invalid())?), uuid("cursor", id)?, kind))
            }
            None => None,
        };
        let (rows, position) =
            with_model(read, &read.models.documents, None, min_position, None, |documents| {
                let documents = documents.book(book);
                documents
                    .list(&filter, after, first + 1)
                    .into_iter()
                    .map(|d| {
                        let kind_index = K::ALL.iter().position(|k| *k == d.kind).unwrap_or_default();
                        let row = DocumentRow {
                            kind: format!("{:?}", d.kind),
                            id: d.id.to_string(),
                            partner: d.partner.map(|p| p.to_string()),
                            amount: money(d.amount),
                            status: d.status.word().to_string(),
                            created: d.created.0,
                            updated: d.updated.0,
                            reference: d.reference.map(|r| r.to_string()),
                        };
                        (format!("{}:{}:{kind_index}", d.created.0, d.id), row)
                    })
                    .collect::<Vec<_>>()
            })
            .await?;
        let (rows, has_next_page) = split_page(rows, first);
        let end_cursor = if has_next_page { rows.last().map(|(cursor, _)| cursor.clone()) } else { None };
        let rows = rows.into_iter().map(|(_, row)| row).collect();
        Ok(DocumentPage { nodes: rows, end_cursor, has_next_page, position })
    }

    /// Process durations of a document flow over the documents that entered it in [from, to).
    #[allow(clippy::too_many_arguments)]
    async fn process_metrics(
        &self,
        ctx: &Context<'_>,
        book: String,
        process: Process,
        from: Option<String>,
        to: Option<String>,
        segment: Option<String>,
        warehouse: Option<String>,
        now: Option<String>,
        min_position: Option<u64>,
    ) -> async_graphql::Result<ProcessReport> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = book_of(ctx, &book)?;
        let kind = match process {
            Process::OrderToCash => FlowKind::OrderToCash,
            Process::ProcureToPay => FlowKind::ProcureToPay,
        };
        let filter = projections::process_metrics::Filter {
            from: from.as_deref().map(date).transpose()?,
            to: to.as_deref().map(date).transpose()?,
            segment,
            warehouse: warehouse.map(|w| uuid("warehouse", &w).map(WarehouseId)).transpose()?,
        };
        let now = now_or_today(now.as_deref())?;
        let ((summary, waiting, bottleneck), position) =
            with_model(read, &read.models.metrics, None, min_position, None, |m| {
                let m = m.book(book);
                (m.summary(kind, &filter), m.waiting(kind, &filter, now), m.bottleneck(kind, &filter))
            })
            .await?;
        let steps = summary
            .into_iter()
            .zip(waiting)
            .map(|(s, w)| StepMetrics {
                step: s.step.to_string(),
                count: s.count as u64,
                mean_us: s.mean_us,
                p50_us: s.p50_us,
                p90_us: s.p90_us,
                p95_us: s.p95_us,
                max_us: s.max_us,
                waiting: w.count as u64,
                oldest_waiting_us: w.oldest_us,
            })
            .collect();
        Ok(ProcessReport { position, steps, bottleneck: bottleneck.map(String::from) })
    }
}

/// What a dashboard is asked for, checked.
#[derive(Clone, Copy)]
pub(crate) struct DashboardArgs {
    book: BookId,
    /// Local days [from, to).
    from: Option<i64>,
    to: Option<i64>,
    top: usize,
}

impl DashboardArgs {
    fn parse(
        ctx: &Context<'_>,
        book: &str,
        from: Option<&str>,
        to: Option<&str>,
        top: usize,
    ) -> async_graphql::Result<Self> {
        use domain::time::local_day;
        let book = book_of(ctx, book)?;
        if top == 0 || top > 100 {
            return Err(error("input.invalid", "top is 1 to 100"));
        }
        let day = |text: &str| date(text).map(|t| local_day(t, CHINA_UTC_OFFSET_MINUTES));
        Ok(DashboardArgs { book, from: from.map(day).transpose()?, to: to.map(day).transpose()?, top })
    }
}

/// The owner's dashboard: the trading figures from the dashboard model, cash from the book's ledger,
/// receivables and payables from the open items, inventory value and turnover from the stock model.
pub(crate) async fn dashboard_report(
    read: &ReadSide,
    args: &DashboardArgs,
    min_position: Option<u64>,
) -> async_graphql::Result<DashboardReport> {
    use domain::finance::accounts::AccountRole;
    use domain::time::local_day;
    let DashboardArgs { book, from, to, top } = *args;
    let today = local_day(Timestamp(now_micros()), CHINA_UTC_OFFSET_MINUTES);
    let chart = chart(&read.store, book).await?;
    let period = Period::containing(Timestamp(now_micros()), CHINA_UTC_OFFSET_MINUTES);
    let cash_codes: Vec<String> = chart
        .iter()
        .filter(|a| matches!(a.role, Some(AccountRole::Cash | AccountRole::Bank)))
        .map(|a| a.code.clone())
        .collect();
    let (cash, _) = with_model(read, &read.models.ledger, None, min_position, None, |ledgers| {
        cash_codes.iter().map(|code| ledgers.book(book).balance(code, period)).sum::<rust_decimal::Decimal>()
    })
    .await?;
    let everything = Timestamp(i64::MAX);
    let ((receivables, payables), _) =
        with_model(read, &read.models.open_items, None, min_position, None, |items| {
            let items = items.book(book);
            use projections::open_items::Ledger as L;
            let total = |l| items.balances(l, everything).values().sum::<rust_decimal::Decimal>();
            (total(L::Receivable), total(L::Payable))
        })
        .await?;
    let (inventory, _) =
        with_model(read, &read.models.stock, None, min_position, None, |stock| stock.book(book).valuation())
            .await?;
    let (report, _) = with_model(read, &read.models.dashboard, None, min_position, None, |d| {
        let d = d.book(book);
        let totals = d.totals(from, to);
        let recent = d.totals(Some(today - 29), Some(today + 1)).cost_of_sales;
        let turnover = (!inventory.is_zero()).then(|| {
            money(
                (recent * rust_decimal::Decimal::from(365) / rust_decimal::Decimal::from(30) / inventory)
                    .round_dp(2),
            )
        });
        let ranked = |id: String, t: &projections::dashboard::Takings| Ranked {
            id,
            qty: money(t.qty),
            revenue: money(t.revenue),
        };
        DashboardReport {
            revenue: money(totals.revenue),
            cost_of_sales: money(totals.cost_of_sales),
            gross_margin: money(totals.gross_margin),
            orders: totals.orders,
            cash: money(cash),
            receivables: money(receivables),
            payables: money(payables),
            inventory_value: money(inventory),
            inventory_turnover: turnover,
            top_customers: d.top_customers(top).into_iter().map(|(p, t)| ranked(p.to_string(), t)).collect(),
            top_items: d.top_items(top).into_iter().map(|(i, t)| ranked(i.to_string(), t)).collect(),
            by_channel: d
                .by_channel()
                .iter()
                .map(|(n, a)| Share { name: n.clone(), amount: money(*a) })
                .collect(),
            by_region: d
                .by_region()
                .iter()
                .map(|(n, a)| Share { name: n.clone(), amount: money(*a) })
                .collect(),
            daily: d
                .daily(from, to)
                .into_iter()
                .map(|(day, f)| DayFigures {
                    date: domain::time::format_day(day),
                    revenue: money(f.revenue),
                    cost_of_sales: money(f.cost_of_sales),
                    orders: f.orders,
                })
                .collect(),
        }
    })
    .await?;
    Ok(report)
}

/// Stock items whose available quantity is below their safety stock.
pub(crate) async fn stock_alerts(
    read: &ReadSide,
    book: BookId,
    min_position: Option<u64>,
) -> async_graphql::Result<Vec<StockAlert>> {
    let (alerts, _) = with_model(read, &read.models.stock, None, min_position, None, |stock| {
        let stock = stock.book(book);
        stock
            .alerts()
            .into_iter()
            .map(|(key, available, safety)| StockAlert {
                item: key.item.to_string(),
                warehouse: key.warehouse.to_string(),
                available: money(available),
                safety_stock: money(safety),
            })
            .collect()
    })
    .await?;
    Ok(alerts)
}

/// The wall clock, for "waiting how long until now" when the query names no time (the edge may read
/// the clock; the models never do).
fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// The events at `positions` (each a point read of the log), in the order given.
async fn events_at(
    store: &impl EventStore,
    positions: &[u64],
) -> async_graphql::Result<Vec<infra::RecordedEvent>> {
    let mut events = Vec::with_capacity(positions.len());
    for &position in positions {
        let mut page = store.read_all(position, 1).await.map_err(store_error)?;
        match page.pop() {
            Some(event) if event.position == position => events.push(event),
            _ => return Err(error("store.missing", format!("no event at position {position}"))),
        }
    }
    Ok(events)
}

/// A book's chart of accounts, folded from its stream.
async fn chart(
    store: &impl EventStore,
    book: BookId,
) -> async_graphql::Result<Vec<domain::finance::accounts::Account>> {
    let stream = StreamId::new(Book::stream(book)).map_err(store_error)?;
    let mut state = Book::default();
    let mut from = 0;
    loop {
        let page = store.read_stream(&stream, from, 1_024).await.map_err(store_error)?;
        let Some(last) = page.last() else { break };
        from = last.stream_version + 1;
        for event in &page {
            let event =
                infra::codec::decode_domain_event(&event.event_type, &event.payload).map_err(store_error)?;
            state.evolve(&event);
        }
    }
    if state.id.is_none() {
        return Err(error("book.not_found", format!("book {} does not exist", book.0)));
    }
    Ok(state.accounts)
}

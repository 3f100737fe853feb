//! The request bodies of the command endpoints, one type per command, and how each becomes a domain
//! command: parsed strictly (unknown fields are refused), values checked at the edge (quantities
//! positive with at most four decimals, prices within limits), the facts the domain needs read from the
//! masters by the application services, then executed on the bus.
//!
//! Ids are chosen by the client (UUIDs): a client that retries, or refers to what it just created,
//! needs no answer from the first attempt. Decimals are JSON strings, so no amount passes through a
//! binary float.

use std::future::Future;

use domain::finance::accounts::Standard;
use domain::finance::book::{Book, BookCommand, BookSettings as FinanceBookSettings, VatStatus};
use domain::finance::voucher::{Voucher, VoucherCommand, VoucherLine, VoucherWord};
use domain::inventory::CostingMethod;
use domain::master::{
    Item, ItemCommand, ItemDetails, ItemKind, Partner, PartnerCommand, PartnerDetails, PartnerRoles,
    Warehouse, WarehouseCommand, WarehouseDetails,
};
use domain::process::order_fulfilment::line_reservation;
use domain::purchasing::{PurchaseOrder, PurchaseOrderCommand, SupplierPayment, SupplierPaymentCommand};
use domain::sales::{
    Allocation, Channel, CreditFacts, CustomerReceipt, CustomerReceiptCommand, InvoiceLineInput,
    OrderLineInput, SalesInvoiceCommand, SalesOrderCommand, Shipment, ShipmentCommand, ShipmentLineInput,
};
use domain::time::{CHINA_UTC_OFFSET_MINUTES, Period};
use domain::values::{Quantity, UnitAmount};
use domain::{
    Aggregate, CommandMeta, CustomerReceiptId, DomainEvent, GoodsReceiptId, ItemId, PartnerId,
    PurchaseInvoiceId, PurchaseOrderId, Role, SalesInvoiceId, SalesOrderId, ShipmentId, SupplierPaymentId,
    Timestamp, VoucherId, WarehouseId,
};
use infra::EventStore;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::problem::Problem;
use crate::bus::{BusError, CommandBus, Executed};
use crate::finance::{FinanceError, VoucherDraft};
use crate::purchasing::{BookSettings, OrderLineDraft, PurchaseOrderDraft};
use crate::sales::{InvoicingError, Placement};

/// JSON-Schema patterns of what the edge parses (checked against every date 1900-9999 by the fuzz run's
/// author): a month `YYYY-MM` and a date `YYYY-MM-DD`, from 1970, real days only.
pub const MONTH_PATTERN: &str = r"^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])$";
pub const DATE_PATTERN: &str = r"^((19[7-9][0-9]|[2-9][0-9]{3})-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)|(19(7[26]|8[048]|9[26])|[2-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[3579][26])00)-02-29)$";
/// An online platform's name: a lower-case slug (taobao, douyin, pinduoduo, wechat), so the claim's
/// stream id `platform-order-{platform}-{id}` cannot be read two ways.
pub const PLATFORM_PATTERN: &str = r"^[a-z0-9_]{1,32}$";
/// A platform's order id: letters, digits, `_` and `-`, 1 to 64.
pub const PLATFORM_ORDER_PATTERN: &str = r"^[A-Za-z0-9_-]{1,64}$";

/// What a command endpoint is given besides its body: the bus, the command's metadata (built from
/// the caller, the idempotency key and the business time) and the `If-Match` version, if any.
pub struct Ctx<S: EventStore> {
    pub bus: CommandBus<S>,
    pub meta: CommandMeta,
    /// `Some(v)`: the stream must be at version `v` (`None` inside: must not exist).
    pub expected: Option<Option<u64>>,
}

/// One command endpoint: `POST /api/v1/commands/{NAME}` with a `Self` body.
pub trait HttpCommand: DeserializeOwned + JsonSchema + Send + 'static {
    const NAME: &'static str;
    const SUMMARY: &'static str;
    /// Who may send it, besides an admin (who may send anything).
    const ROLES: &'static [Role];
    /// Whether it acts on one stream and so honours `If-Match`.
    const IF_MATCH: bool = false;
    fn execute<S: EventStore>(self, ctx: Ctx<S>) -> impl Future<Output = Result<Accepted, Problem>> + Send;
}

/// One recorded event as the response shows it.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct EventOut {
    #[serde(rename = "type")]
    pub event_type: String,
    pub version: u16,
    pub data: serde_json::Value,
}

/// The answer to an accepted command.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub command: String,
    pub command_id: Uuid,
    /// The stream the command was decided on.
    pub stream: String,
    /// The stream's version after the command (none: the stream does not exist).
    pub version: Option<u64>,
    /// Global position of the command's last event: pass it as `minPosition` to a query to read
    /// your own write.
    pub position: Option<u64>,
    /// True when this command had been executed before (a retry) and this is its original outcome.
    pub duplicate: bool,
    /// The events appended (empty for a retry, or when there was nothing to record).
    pub events: Vec<EventOut>,
}

impl Accepted {
    fn of<E: DomainEvent>(name: &str, meta: &CommandMeta, stream: String, executed: Executed<E>) -> Accepted {
        let events = executed
            .events
            .iter()
            .map(|e| {
                let name = e.name();
                EventOut {
                    event_type: name.name.to_string(),
                    version: name.version,
                    data: e
                        .serialize_payload(serde_json::value::Serializer)
                        .unwrap_or(serde_json::Value::Null),
                }
            })
            .collect();
        Accepted {
            command: name.to_string(),
            command_id: meta.command_id.0,
            stream,
            version: executed.stream_version,
            position: executed.last_position,
            duplicate: executed.duplicate,
            events,
        }
    }
}

/// Runs a command on its aggregate, honouring `If-Match`.
async fn run<A: Aggregate, S: EventStore>(
    name: &str,
    ctx: &Ctx<S>,
    command: A::Command,
) -> Result<Accepted, Problem> {
    let stream = A::stream_id(&command);
    let executed = match ctx.expected {
        Some(expected) => ctx.bus.execute_expecting::<A>(&ctx.meta, &command, expected).await,
        None => ctx.bus.execute::<A>(&ctx.meta, &command).await,
    }
    .map_err(|e| Problem::from_bus(&e))?;
    Ok(Accepted::of(name, &ctx.meta, stream, executed))
}

fn qty(what: &str, value: Decimal) -> Result<Quantity, Problem> {
    Quantity::new(value).map_err(|e| Problem::bad_request(e.code(), format!("{what}: {e}")))
}

fn price(what: &str, value: Decimal) -> Result<UnitAmount, Problem> {
    UnitAmount::new(value).map_err(|e| Problem::bad_request(e.code(), format!("{what}: {e}")))
}

/// A money amount: not negative, at most two decimals (fen).
fn money(what: &str, value: Decimal) -> Result<Decimal, Problem> {
    if value.is_sign_negative() {
        return Err(Problem::bad_request(
            "value.negative",
            format!("{what} must not be negative, got {value}"),
        ));
    }
    if value.normalize().scale() > 2 {
        return Err(Problem::bad_request("value.too_precise", format!("{what} has more than 2 decimals")));
    }
    Ok(value)
}

/// A `u32` as JSON means it: any integer in range, also one written with a zero fraction (`959.0`
/// is an integer to JSON Schema, and so to the OpenAPI document).
fn whole<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    struct Whole;
    impl serde::de::Visitor<'_> for Whole {
        type Value = u32;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an integer from 0 to 4294967295")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| E::custom(format!("{v} is out of range (0 to 4294967295)")))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| E::custom(format!("{v} is out of range (0 to 4294967295)")))
        }
        #[allow(clippy::float_arithmetic)] // Only to recognise an integral JSON number; no money here.
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<u32, E> {
            if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // Checked just above.
                Ok(v as u32)
            } else {
                Err(E::custom(format!("{v} is not an integer from 0 to 4294967295")))
            }
        }
    }
    deserializer.deserialize_any(Whole)
}

/// A text the edge restricts to `allowed` characters, 1 to `max` of them (as `pattern` says).
fn check(
    what: &str,
    text: &str,
    pattern: &str,
    allowed: fn(char) -> bool,
    max: usize,
) -> Result<(), Problem> {
    if text.is_empty() || text.chars().count() > max || !text.chars().all(allowed) {
        return Err(Problem::bad_request(
            "input.invalid",
            format!("{what} {text:?} does not match {pattern}"),
        ));
    }
    Ok(())
}

fn date(what: &str, text: &str) -> Result<Timestamp, Problem> {
    domain::time::parse_local_date(text, CHINA_UTC_OFFSET_MINUTES).ok_or_else(|| {
        Problem::bad_request("input.invalid", format!("{what} {text:?} is not a date (YYYY-MM-DD)"))
    })
}

fn bus_problem<R: domain::Rejection>(e: BusError<R>) -> Problem {
    Problem::from_bus(&e)
}

// ---------------------------------------------------------------------------------------------------
// Masters

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Costing {
    #[default]
    MovingAverage,
    Fifo,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    #[default]
    Goods,
    RawMaterial,
}

/// An item (物料/商品) of the item master.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateItem {
    #[schemars(with = "Uuid")]
    pub id: ItemId,
    pub sku: String,
    pub name: String,
    /// Unit of measure: 个, 箱, kg ...
    pub unit: String,
    pub barcode: Option<String>,
    /// VAT rate as a fraction: "0.13", "0.09", "0.06", "0.03" or "0".
    pub vat_rate: Decimal,
    #[serde(default)]
    pub costing: Costing,
    #[serde(default)]
    pub safety_stock: Decimal,
    #[serde(default)]
    pub reorder_qty: Decimal,
    #[schemars(with = "Option<Uuid>")]
    pub default_supplier: Option<PartnerId>,
    #[serde(default, deserialize_with = "whole")]
    pub lead_time_days: u32,
    #[serde(default)]
    pub kind: Kind,
}

impl HttpCommand for CreateItem {
    const NAME: &'static str = "create-item";
    const SUMMARY: &'static str = "Creates an item in the item master.";
    const ROLES: &'static [Role] = &[Role::Purchasing, Role::Warehouse];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let details = ItemDetails {
            sku: self.sku,
            name: self.name,
            unit: self.unit,
            barcode: self.barcode,
            vat_rate: self.vat_rate,
            costing: match self.costing {
                Costing::MovingAverage => CostingMethod::MovingAverage,
                Costing::Fifo => CostingMethod::Fifo,
            },
            safety_stock: self.safety_stock,
            reorder_qty: self.reorder_qty,
            default_supplier: self.default_supplier,
            lead_time_days: self.lead_time_days,
            kind: match self.kind {
                Kind::Goods => ItemKind::Goods,
                Kind::RawMaterial => ItemKind::RawMaterial,
            },
        };
        run::<Item, S>(Self::NAME, &ctx, ItemCommand::Create { id: self.id, details }).await
    }
}

/// A business partner: a customer, a supplier, or both.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePartner {
    #[schemars(with = "Uuid")]
    pub id: PartnerId,
    pub name: String,
    #[serde(default)]
    pub customer: bool,
    #[serde(default)]
    pub supplier: bool,
    /// Unified social credit code (统一社会信用代码) or other tax id.
    pub tax_id: Option<String>,
    /// Most a customer may owe; zero means cash only.
    #[serde(default)]
    pub credit_limit: Decimal,
    #[serde(default, deserialize_with = "whole")]
    pub payment_terms_days: u32,
    pub region: String,
}

impl HttpCommand for CreatePartner {
    const NAME: &'static str = "create-partner";
    const SUMMARY: &'static str = "Creates a customer or supplier in the partner master.";
    const ROLES: &'static [Role] = &[Role::Sales, Role::Purchasing, Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let details = PartnerDetails {
            name: self.name,
            roles: PartnerRoles { customer: self.customer, supplier: self.supplier },
            tax_id: self.tax_id,
            credit_limit: money("creditLimit", self.credit_limit)?,
            payment_terms_days: self.payment_terms_days,
            region: self.region,
        };
        run::<Partner, S>(Self::NAME, &ctx, PartnerCommand::Create { id: self.id, details }).await
    }
}

/// A warehouse with its bins (货位).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWarehouse {
    #[schemars(with = "Uuid")]
    pub id: WarehouseId,
    pub code: String,
    pub name: String,
    pub city: String,
    /// Degrees, WGS 84 (orders are routed to the nearest warehouse with stock).
    pub latitude: Decimal,
    pub longitude: Decimal,
    #[serde(default)]
    pub bins: Vec<String>,
}

impl HttpCommand for CreateWarehouse {
    const NAME: &'static str = "create-warehouse";
    const SUMMARY: &'static str = "Creates a warehouse.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let details = WarehouseDetails {
            code: self.code,
            name: self.name,
            city: self.city,
            latitude: self.latitude,
            longitude: self.longitude,
            bins: self.bins,
        };
        run::<Warehouse, S>(Self::NAME, &ctx, WarehouseCommand::Create { id: self.id, details }).await
    }
}

// ---------------------------------------------------------------------------------------------------
// The book

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AccountingStandard {
    /// 小企业会计准则.
    #[default]
    SmallEnterprise,
    /// 企业会计准则.
    Enterprise,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Vat {
    /// 一般纳税人.
    #[default]
    General,
    /// 小规模纳税人.
    SmallScale,
}

/// Opens the caller's book (账套): its chart of accounts and first month.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBook {
    pub name: String,
    #[serde(default)]
    pub standard: AccountingStandard,
    /// The first month kept in this book: YYYY-MM.
    #[schemars(regex(pattern = MONTH_PATTERN))]
    pub first_period: String,
    #[serde(default)]
    pub vat: Vat,
    #[serde(default)]
    pub allow_negative_stock: bool,
    /// Whether automatic vouchers post without review (default true).
    pub auto_post: Option<bool>,
}

impl HttpCommand for CreateBook {
    const NAME: &'static str = "create-book";
    const SUMMARY: &'static str = "Creates the caller's book with its chart of accounts.";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let first_period = Period::parse(&self.first_period).ok_or_else(|| {
            Problem::bad_request(
                "input.invalid",
                format!("firstPeriod {:?} is not a month (YYYY-MM)", self.first_period),
            )
        })?;
        let settings = FinanceBookSettings {
            name: self.name,
            standard: match self.standard {
                AccountingStandard::SmallEnterprise => Standard::SmallEnterprise,
                AccountingStandard::Enterprise => Standard::Enterprise,
            },
            first_period,
            vat: match self.vat {
                Vat::General => VatStatus::General,
                Vat::SmallScale => VatStatus::SmallScale,
            },
            allow_negative_stock: self.allow_negative_stock,
            auto_post: self.auto_post.unwrap_or(true),
            utc_offset_minutes: CHINA_UTC_OFFSET_MINUTES,
        };
        let book = ctx.meta.book;
        run::<Book, S>(Self::NAME, &ctx, BookCommand::Create { id: book, settings }).await
    }
}

// ---------------------------------------------------------------------------------------------------
// Sales

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "kind", deny_unknown_fields)]
pub enum ChannelIn {
    /// A business customer on account: the credit limit applies.
    Direct,
    /// A physical shop.
    Store { store: String },
    /// An online platform (taobao, douyin, pinduoduo, wechat ...): its order id makes placing idempotent.
    #[serde(rename_all = "camelCase")]
    Online {
        #[schemars(regex(pattern = PLATFORM_PATTERN))]
        platform: String,
        #[schemars(regex(pattern = PLATFORM_ORDER_PATTERN))]
        platform_order_id: String,
    },
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SalesLineIn {
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    pub qty: Decimal,
    /// Net unit price (before VAT).
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
    /// Where the line ships from, when not the order's warehouse.
    #[schemars(with = "Option<Uuid>")]
    pub warehouse: Option<WarehouseId>,
}

/// A sales order (销售订单). Customer, items and warehouses must be active masters; the customer's
/// credit limit is checked against what they owe.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlaceSalesOrder {
    #[schemars(with = "Uuid")]
    pub id: SalesOrderId,
    #[schemars(with = "Uuid")]
    pub customer: PartnerId,
    pub channel: ChannelIn,
    #[schemars(with = "Uuid")]
    pub warehouse: WarehouseId,
    pub lines: Vec<SalesLineIn>,
}

impl HttpCommand for PlaceSalesOrder {
    const NAME: &'static str = "place-sales-order";
    const SUMMARY: &'static str = "Places a sales order; stock is reserved for it automatically.";
    const ROLES: &'static [Role] = &[Role::Sales];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push(OrderLineInput {
                item: l.item,
                qty: qty(&format!("lines[{i}].qty"), l.qty)?,
                unit_price: price(&format!("lines[{i}].unitPrice"), l.unit_price)?,
                vat_rate: l.vat_rate,
                default_supplier: None,
                warehouse: l.warehouse,
            });
        }
        let command = SalesOrderCommand::Place {
            id: self.id,
            customer: self.customer,
            channel: match self.channel {
                ChannelIn::Direct => Channel::Direct,
                ChannelIn::Store { store } => Channel::Store { store },
                ChannelIn::Online { platform, platform_order_id } => {
                    let slug = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
                    check("channel.platform", &platform, PLATFORM_PATTERN, slug, 32)?;
                    let id = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
                    check("channel.platformOrderId", &platform_order_id, PLATFORM_ORDER_PATTERN, id, 64)?;
                    Channel::Online { platform, platform_order_id }
                }
            },
            warehouse: self.warehouse,
            lines,
            // Read from the masters and the customer's account by the service.
            credit: CreditFacts { limit: Decimal::ZERO, open_receivables: Decimal::ZERO },
            masters_usable: false,
        };
        let stream = domain::sales::SalesOrder::stream_id(&command);
        match crate::sales::place_sales_order(&ctx.bus, &ctx.meta, &command).await.map_err(bus_problem)? {
            Placement::Placed(executed) => Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed)),
            Placement::AlreadyPlaced(first) => Err(Problem::new(
                axum::http::StatusCode::CONFLICT,
                "sales_order.platform_order_placed",
                format!("this platform order was placed before, as sales order {}", first.0),
            )),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShipmentLineIn {
    /// The order line shipped (0-based).
    #[serde(deserialize_with = "whole")]
    pub order_line: u32,
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    pub qty: Decimal,
}

/// A shipment (发货单) of a sales order's lines from one warehouse, taking the stock reserved for them.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateShipment {
    #[schemars(with = "Uuid")]
    pub id: ShipmentId,
    #[schemars(with = "Uuid")]
    pub order: SalesOrderId,
    #[schemars(with = "Uuid")]
    pub warehouse: WarehouseId,
    pub lines: Vec<ShipmentLineIn>,
}

impl HttpCommand for CreateShipment {
    const NAME: &'static str = "create-shipment";
    const SUMMARY: &'static str = "Creates a shipment for lines of a sales order.";
    const ROLES: &'static [Role] = &[Role::Warehouse, Role::Sales];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push(ShipmentLineInput {
                order_line: l.order_line,
                item: l.item,
                qty: qty(&format!("lines[{i}].qty"), l.qty)?,
                reservation: Some(line_reservation(self.order, l.order_line)),
            });
        }
        let create =
            ShipmentCommand::Create { id: self.id, order: self.order, warehouse: self.warehouse, lines };
        run::<Shipment, S>(Self::NAME, &ctx, create).await
    }
}

/// What was picked for each shipment line, in line order (less ships partially, zero skips a line).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PickShipment {
    #[schemars(with = "Uuid")]
    pub id: ShipmentId,
    pub picked: Vec<Decimal>,
}

impl HttpCommand for PickShipment {
    const NAME: &'static str = "pick-shipment";
    const SUMMARY: &'static str = "Records what was picked for a shipment.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<Shipment, S>(Self::NAME, &ctx, ShipmentCommand::Pick { id: self.id, picked: self.picked }).await
    }
}

/// The goods left the warehouse: stock is issued and costed automatically.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShipShipment {
    #[schemars(with = "Uuid")]
    pub id: ShipmentId,
}

impl HttpCommand for ShipShipment {
    const NAME: &'static str = "ship-shipment";
    const SUMMARY: &'static str = "Ships a picked shipment.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<Shipment, S>(Self::NAME, &ctx, ShipmentCommand::Ship { id: self.id }).await
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvoiceLineIn {
    #[schemars(with = "Uuid")]
    pub shipment: ShipmentId,
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    pub qty: Decimal,
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
}

/// A sales invoice (销售发票) billing shipped goods; each shipment is billed once.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssueSalesInvoice {
    #[schemars(with = "Uuid")]
    pub id: SalesInvoiceId,
    #[schemars(with = "Uuid")]
    pub customer: PartnerId,
    pub lines: Vec<InvoiceLineIn>,
    /// YYYY-MM-DD.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub due_date: String,
}

impl HttpCommand for IssueSalesInvoice {
    const NAME: &'static str = "issue-sales-invoice";
    const SUMMARY: &'static str = "Issues a sales invoice for shipped goods.";
    const ROLES: &'static [Role] = &[Role::Sales, Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push(InvoiceLineInput {
                shipment: l.shipment,
                item: l.item,
                qty: qty(&format!("lines[{i}].qty"), l.qty)?,
                unit_price: price(&format!("lines[{i}].unitPrice"), l.unit_price)?,
                vat_rate: l.vat_rate,
            });
        }
        let issue = SalesInvoiceCommand::Issue {
            id: self.id,
            customer: self.customer,
            lines,
            due_at: date("dueDate", &self.due_date)?,
            masters_usable: true,
        };
        let stream = domain::sales::SalesInvoice::stream_id(&issue);
        let executed =
            crate::sales::issue_sales_invoice(&ctx.bus, &ctx.meta, &issue).await.map_err(|e| match e {
                InvoicingError::Invoice(e) => Problem::from_bus(&e),
                InvoicingError::Shipment(e) => Problem::from_bus(&e),
            })?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvoiceAmount {
    #[schemars(with = "Uuid")]
    pub invoice: SalesInvoiceId,
    pub amount: Decimal,
}

/// Money received from a customer (收款单), applied to the invoices named; what is left is kept as an
/// advance (预收款).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordCustomerReceipt {
    #[schemars(with = "Uuid")]
    pub id: CustomerReceiptId,
    #[schemars(with = "Uuid")]
    pub customer: PartnerId,
    pub amount: Decimal,
    #[serde(default)]
    pub invoices: Vec<InvoiceAmount>,
}

impl HttpCommand for RecordCustomerReceipt {
    const NAME: &'static str = "record-customer-receipt";
    const SUMMARY: &'static str = "Records money received from a customer against invoices.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut allocation = Vec::with_capacity(self.invoices.len());
        for (i, a) in self.invoices.into_iter().enumerate() {
            allocation.push((a.invoice, money(&format!("invoices[{i}].amount"), a.amount)?));
        }
        let record = CustomerReceiptCommand::Record {
            id: self.id,
            customer: self.customer,
            amount: money("amount", self.amount)?,
            allocation: Allocation::Explicit(allocation),
        };
        run::<CustomerReceipt, S>(Self::NAME, &ctx, record).await
    }
}

// ---------------------------------------------------------------------------------------------------
// Purchasing

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PurchaseLineIn {
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    pub qty: Decimal,
    /// Net unit price (before VAT).
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
}

/// A purchase order (采购订单), checked against the masters, stock and the department's budget.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacePurchaseOrder {
    #[schemars(with = "Uuid")]
    pub id: PurchaseOrderId,
    #[schemars(with = "Uuid")]
    pub supplier: PartnerId,
    #[schemars(with = "Uuid")]
    pub warehouse: WarehouseId,
    /// The buying department's code (its budget is checked).
    pub department: String,
    pub lines: Vec<PurchaseLineIn>,
}

impl HttpCommand for PlacePurchaseOrder {
    const NAME: &'static str = "place-purchase-order";
    const SUMMARY: &'static str = "Places a purchase order.";
    const ROLES: &'static [Role] = &[Role::Purchasing];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push(OrderLineDraft {
                item: l.item,
                qty: qty(&format!("lines[{i}].qty"), l.qty)?,
                unit_price: price(&format!("lines[{i}].unitPrice"), l.unit_price)?,
                vat_rate: l.vat_rate,
            });
        }
        let draft = PurchaseOrderDraft {
            id: self.id,
            supplier: self.supplier,
            warehouse: self.warehouse,
            department: self.department,
            lines,
            requisition: None,
        };
        let settings = purchasing_settings(&ctx).await?;
        let stream = PurchaseOrder::stream(self.id);
        let executed = crate::purchasing::place_purchase_order(&ctx.bus, &ctx.meta, &draft, &settings)
            .await
            .map_err(bus_problem)?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

/// Approves a purchase order (by someone other than its buyer).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovePurchaseOrder {
    #[schemars(with = "Uuid")]
    pub id: PurchaseOrderId,
}

impl HttpCommand for ApprovePurchaseOrder {
    const NAME: &'static str = "approve-purchase-order";
    const SUMMARY: &'static str = "Approves a purchase order.";
    const ROLES: &'static [Role] = &[Role::Purchasing];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<PurchaseOrder, S>(Self::NAME, &ctx, PurchaseOrderCommand::Approve { id: self.id }).await
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceivedLine {
    /// The order line (0-based).
    #[serde(deserialize_with = "whole")]
    pub line: u32,
    pub qty: Decimal,
}

/// Goods arrive against a purchase order (采购入库): stock goes up at the order's price (暂估 until the
/// supplier's invoice comes), automatically.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceiveGoods {
    #[schemars(with = "Uuid")]
    pub order: PurchaseOrderId,
    /// The goods receipt's id (采购入库单).
    #[schemars(with = "Uuid")]
    pub receipt: GoodsReceiptId,
    pub lines: Vec<ReceivedLine>,
    /// One of the warehouse's bins.
    pub bin: Option<String>,
    /// The supplier's lot (批次).
    pub lot: Option<String>,
}

impl HttpCommand for ReceiveGoods {
    const NAME: &'static str = "receive-goods";
    const SUMMARY: &'static str = "Receives goods against a purchase order.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push((l.line, qty(&format!("lines[{i}].qty"), l.qty)?));
        }
        let receive = PurchaseOrderCommand::Receive {
            id: self.order,
            receipt: self.receipt,
            lines,
            bin: self.bin,
            lot: self.lot,
            // No over-receipt until books carry a tolerance of their own.
            tolerance: Decimal::ZERO,
            bin_known: false,
            invoice: None,
        };
        let stream = PurchaseOrder::stream(self.order);
        let executed = crate::purchasing::receive_purchase_order(&ctx.bus, &ctx.meta, &receive)
            .await
            .map_err(bus_problem)?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaidInvoice {
    #[schemars(with = "Uuid")]
    pub invoice: PurchaseInvoiceId,
    pub amount: Decimal,
}

/// A payment to a supplier (付款单) against their invoices.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaySupplier {
    #[schemars(with = "Uuid")]
    pub id: SupplierPaymentId,
    #[schemars(with = "Uuid")]
    pub supplier: PartnerId,
    pub amount: Decimal,
    #[serde(default)]
    pub invoices: Vec<PaidInvoice>,
}

impl HttpCommand for PaySupplier {
    const NAME: &'static str = "pay-supplier";
    const SUMMARY: &'static str = "Records a payment to a supplier against invoices.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut allocations = Vec::with_capacity(self.invoices.len());
        for (i, a) in self.invoices.into_iter().enumerate() {
            allocations.push((a.invoice, money(&format!("invoices[{i}].amount"), a.amount)?));
        }
        let pay = SupplierPaymentCommand::Pay {
            id: self.id,
            supplier: self.supplier,
            amount: money("amount", self.amount)?,
            allocations,
        };
        run::<SupplierPayment, S>(Self::NAME, &ctx, pay).await
    }
}

// ---------------------------------------------------------------------------------------------------
// Finance

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Word {
    /// 记.
    Ji,
    /// 收.
    Shou,
    /// 付.
    Fu,
    /// 转.
    Zhuan,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VoucherLineIn {
    /// 摘要.
    pub summary: String,
    /// Account code, e.g. "1002" or "6602.01".
    pub account: String,
    #[serde(default)]
    pub debit: Decimal,
    #[serde(default)]
    pub credit: Decimal,
    #[schemars(with = "Option<Uuid>")]
    pub partner: Option<PartnerId>,
    #[schemars(with = "Option<Uuid>")]
    pub item: Option<ItemId>,
    pub department: Option<String>,
}

/// A manual voucher (记账凭证), drafted into the month of its date; it is posted after review.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DraftVoucher {
    #[schemars(with = "Uuid")]
    pub id: VoucherId,
    pub word: Word,
    /// YYYY-MM-DD.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub date: String,
    pub lines: Vec<VoucherLineIn>,
}

impl HttpCommand for DraftVoucher {
    const NAME: &'static str = "draft-voucher";
    const SUMMARY: &'static str = "Drafts a manual voucher.";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push(VoucherLine {
                summary: l.summary,
                account: l.account,
                debit: money(&format!("lines[{i}].debit"), l.debit)?,
                credit: money(&format!("lines[{i}].credit"), l.credit)?,
                partner: l.partner,
                item: l.item,
                department: l.department,
            });
        }
        let draft = VoucherDraft {
            id: self.id,
            book: ctx.meta.book,
            word: match self.word {
                Word::Ji => VoucherWord::Ji,
                Word::Shou => VoucherWord::Shou,
                Word::Fu => VoucherWord::Fu,
                Word::Zhuan => VoucherWord::Zhuan,
            },
            date: date("date", &self.date)?,
            lines,
            source: None,
            reverses: None,
        };
        let stream = Voucher::stream(self.id);
        let executed = crate::finance::draft_voucher(&ctx.bus, &ctx.meta, &draft)
            .await
            .map_err(|e| finance_problem(&e))?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

fn finance_problem(e: &FinanceError) -> Problem {
    match e {
        FinanceError::Voucher(e) => Problem::from_bus(e),
        FinanceError::Journal(e) => Problem::from_bus(e),
        FinanceError::Opening(e) => Problem::from_bus(e),
        FinanceError::PurchaseInvoice(e) => Problem::from_bus(e),
        FinanceError::Stock(e) => Problem::from_bus(e),
        FinanceError::Invoice(e) => Problem::from_bus(e),
    }
}

/// A reviewer (审核) checks a drafted voucher: not the person who drafted it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewVoucher {
    #[schemars(with = "Uuid")]
    pub id: VoucherId,
}

impl HttpCommand for ReviewVoucher {
    const NAME: &'static str = "review-voucher";
    const SUMMARY: &'static str = "Reviews a drafted voucher.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<Voucher, S>(Self::NAME, &ctx, VoucherCommand::Review { id: self.id }).await
    }
}

/// Posts (过账) a reviewed voucher into its month's journal, which numbers it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostVoucher {
    #[schemars(with = "Uuid")]
    pub id: VoucherId,
}

impl HttpCommand for PostVoucher {
    const NAME: &'static str = "post-voucher";
    const SUMMARY: &'static str = "Posts a reviewed voucher.";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        crate::finance::post_voucher(&ctx.bus, &ctx.meta, self.id).await.map_err(|e| finance_problem(&e))?;
        // The voucher's stream after posting is the answer (its number is in its events).
        let stream = Voucher::stream(self.id);
        let events = ctx
            .bus
            .store()
            .read_stream(&infra::StreamId::new(&stream).map_err(|e| Problem::from_store(&e))?, 0, 1000)
            .await
            .map_err(|e| Problem::from_store(&e))?;
        let last = events.last();
        Ok(Accepted {
            command: Self::NAME.to_string(),
            command_id: ctx.meta.command_id.0,
            stream,
            version: last.map(|e| e.stream_version),
            position: last.map(|e| e.position),
            duplicate: false,
            events: Vec::new(),
        })
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PurchaseInvoiceLineIn {
    #[schemars(with = "Uuid")]
    pub order: PurchaseOrderId,
    /// The order line (0-based).
    #[serde(deserialize_with = "whole")]
    pub line: u32,
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    pub qty: Decimal,
    /// Net unit price on the invoice.
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
}

/// A supplier's VAT invoice (采购发票), matched against its orders and receipts (three-way match): within
/// tolerance it becomes payable and replaces the estimate (暂估) the receipt was booked at.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterPurchaseInvoice {
    #[schemars(with = "Uuid")]
    pub id: PurchaseInvoiceId,
    #[schemars(with = "Uuid")]
    pub supplier: PartnerId,
    /// The invoice's number (发票号码).
    pub number: String,
    pub lines: Vec<PurchaseInvoiceLineIn>,
}

impl HttpCommand for RegisterPurchaseInvoice {
    const NAME: &'static str = "register-purchase-invoice";
    const SUMMARY: &'static str = "Registers a supplier's invoice against purchase orders and receipts.";
    const ROLES: &'static [Role] = &[Role::Purchasing, Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push(domain::purchasing::PurchaseInvoiceLineInput {
                po: l.order,
                po_line: l.line,
                item: l.item,
                qty: qty(&format!("lines[{i}].qty"), l.qty)?,
                unit_price: price(&format!("lines[{i}].unitPrice"), l.unit_price)?,
                vat_rate: l.vat_rate,
            });
        }
        let stream = domain::purchasing::PurchaseInvoice::stream_id(
            &domain::purchasing::PurchaseInvoiceCommand::ApproveException {
                id: self.id,
                reason: String::new(),
            },
        );
        let executed = crate::purchasing::register_purchase_invoice(
            &ctx.bus,
            &ctx.meta,
            self.id,
            self.supplier,
            self.number,
            lines,
        )
        .await
        .map_err(bus_problem)?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

/// Month end (期末结转) for a month of the caller's book: the VAT transfer, surcharges, the profit
/// transfer (and in December the year end), as automatic vouchers. Running it again books only what
/// postings since added.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunMonthEnd {
    /// YYYY-MM.
    #[schemars(regex(pattern = MONTH_PATTERN))]
    pub period: String,
}

fn period(what: &str, text: &str) -> Result<Period, Problem> {
    Period::parse(text).ok_or_else(|| {
        Problem::bad_request("input.invalid", format!("{what} {text:?} is not a month (YYYY-MM)"))
    })
}

impl HttpCommand for RunMonthEnd {
    const NAME: &'static str = "run-month-end";
    const SUMMARY: &'static str = "Books a month's closing transfers (VAT, surcharges, profit).";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let period = period("period", &self.period)?;
        crate::finance::run_month_end(&ctx.bus, &ctx.meta, ctx.meta.book, period)
            .await
            .map_err(|e| finance_problem(&e))?;
        let journal = crate::finance::journal_stream(ctx.meta.book, period);
        book_answer::<domain::finance::journal::PeriodJournal, S>(Self::NAME, &ctx, journal).await
    }
}

/// Closes a month (结账) of the caller's book: no posting goes into it afterwards. The month before must
/// be closed and every voucher of the month posted or discarded.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClosePeriod {
    /// YYYY-MM.
    #[schemars(regex(pattern = MONTH_PATTERN))]
    pub period: String,
}

impl HttpCommand for ClosePeriod {
    const NAME: &'static str = "close-period";
    const SUMMARY: &'static str = "Closes a month of the book.";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let period = period("period", &self.period)?;
        let executed = crate::finance::close_period(&ctx.bus, &ctx.meta, ctx.meta.book, period)
            .await
            .map_err(|e| finance_problem(&e))?;
        let stream = crate::finance::journal_stream(ctx.meta.book, period);
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

/// The answer of a command that wrote through several steps: where the stream it names stands now.
async fn book_answer<A: Aggregate, S: EventStore>(
    name: &str,
    ctx: &Ctx<S>,
    stream: String,
) -> Result<Accepted, Problem> {
    let version = ctx.bus.version::<A>(&stream).await.map_err(|e| Problem::from_store(&e))?;
    let position = Some(ctx.bus.store().head_position().await.map_err(|e| Problem::from_store(&e))?);
    Ok(Accepted {
        command: name.to_string(),
        command_id: ctx.meta.command_id.0,
        stream,
        version,
        position,
        duplicate: false,
        events: Vec::new(),
    })
}

/// Reverses a posted voucher with a red voucher (红字冲销) dated in an open month; the red voucher is
/// drafted and needs review before it is posted. A voucher is reversed once.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReverseVoucher {
    /// The posted voucher.
    #[schemars(with = "Uuid")]
    pub id: VoucherId,
    /// The red voucher's id.
    #[schemars(with = "Uuid")]
    pub reversal: VoucherId,
    /// YYYY-MM-DD.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub date: String,
}

impl HttpCommand for ReverseVoucher {
    const NAME: &'static str = "reverse-voucher";
    const SUMMARY: &'static str = "Reverses a posted voucher with a red voucher.";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let date = date("date", &self.date)?;
        let executed = crate::finance::reverse_voucher(&ctx.bus, &ctx.meta, self.id, self.reversal, date)
            .await
            .map_err(|e| finance_problem(&e))?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, Voucher::stream(self.reversal), executed))
    }
}

/// Drops a voucher that was never posted (作废).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiscardVoucher {
    #[schemars(with = "Uuid")]
    pub id: VoucherId,
    pub reason: String,
}

impl HttpCommand for DiscardVoucher {
    const NAME: &'static str = "discard-voucher";
    const SUMMARY: &'static str = "Discards a voucher that was never posted.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<Voucher, S>(Self::NAME, &ctx, VoucherCommand::Discard { id: self.id, reason: self.reason })
            .await
    }
}

/// Reopens a closed month (反结账) while the month after is still open; an admin's, with a reason.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReopenPeriod {
    /// YYYY-MM.
    #[schemars(regex(pattern = MONTH_PATTERN))]
    pub period: String,
    pub reason: String,
}

impl HttpCommand for ReopenPeriod {
    const NAME: &'static str = "reopen-period";
    const SUMMARY: &'static str = "Reopens a closed month.";
    const ROLES: &'static [Role] = &[];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let period = period("period", &self.period)?;
        let executed =
            crate::finance::reopen_period(&ctx.bus, &ctx.meta, ctx.meta.book, period, &self.reason)
                .await
                .map_err(|e| finance_problem(&e))?;
        let stream = crate::finance::journal_stream(ctx.meta.book, period);
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

/// Cancels what is still to come of a purchase order; its budget commitment shrinks to what was
/// received.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelPurchaseOrder {
    #[schemars(with = "Uuid")]
    pub id: PurchaseOrderId,
    pub reason: String,
}

impl HttpCommand for CancelPurchaseOrder {
    const NAME: &'static str = "cancel-purchase-order";
    const SUMMARY: &'static str = "Cancels the rest of a purchase order.";
    const ROLES: &'static [Role] = &[Role::Purchasing];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let settings = purchasing_settings(&ctx).await?;
        let executed = crate::purchasing::cancel_purchase_order_remainder(
            &ctx.bus,
            &ctx.meta,
            self.id,
            &self.reason,
            &settings,
        )
        .await
        .map_err(bus_problem)?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, PurchaseOrder::stream(self.id), executed))
    }
}

/// The book's settings the purchasing checks need, read from the caller's book.
async fn purchasing_settings<S: EventStore>(ctx: &Ctx<S>) -> Result<BookSettings, Problem> {
    let book: Book = ctx.bus.load(&Book::stream(ctx.meta.book)).await.map_err(|e| Problem::from_store(&e))?;
    Ok(BookSettings {
        allow_negative_stock: book.settings.as_ref().is_some_and(|s| s.allow_negative_stock),
        utc_offset_minutes: book.settings.as_ref().map_or(CHINA_UTC_OFFSET_MINUTES, |s| s.utc_offset_minutes),
    })
}

/// Every command the API takes, in the order the OpenAPI document lists them.
#[macro_export]
macro_rules! for_each_command {
    ($m:ident) => {
        $m!(CreateItem);
        $m!(CreatePartner);
        $m!(CreateWarehouse);
        $m!(CreateBook);
        $m!(PlaceSalesOrder);
        $m!(CreateShipment);
        $m!(PickShipment);
        $m!(ShipShipment);
        $m!(IssueSalesInvoice);
        $m!(RecordCustomerReceipt);
        $m!(PlacePurchaseOrder);
        $m!(ApprovePurchaseOrder);
        $m!(CancelPurchaseOrder);
        $m!(ReceiveGoods);
        $m!(RegisterPurchaseInvoice);
        $m!(PaySupplier);
        $m!(DraftVoucher);
        $m!(ReviewVoucher);
        $m!(PostVoucher);
        $m!(ReverseVoucher);
        $m!(DiscardVoucher);
        $m!(RunMonthEnd);
        $m!(ClosePeriod);
        $m!(ReopenPeriod);
    };
}

/// Serialises a value for the response (never fails for these types).
pub(crate) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

//! The request bodies of the command endpoints, one type per command, and how each becomes a domain
//! command: parsed strictly (unknown fields are refused), values checked at the edge (quantities
//! positive with at most four decimals, prices within limits), the facts the domain needs read from the
//! masters by the application services, then executed on the bus.
//!
//! Ids are chosen by the client (UUIDs): a client that retries, or refers to what it just created,
//! needs no answer from the first attempt. Decimals are JSON strings, so no amount passes through a
//! binary float.
//!
//! One file per area (`masters`, `sales`, `purchasing`, `inventory`, `production`, `returns`, `finance`);
//! `for_each_command!` at the end of this file is the one list of them all.

use std::future::Future;

use domain::finance::book::Book;
use domain::time::{CHINA_UTC_OFFSET_MINUTES, Period};
use domain::values::{Quantity, UnitAmount};
use domain::{
    Aggregate, CommandMeta, DomainEvent, ItemId, PartnerId, PurchaseOrderId, Role, Timestamp, WarehouseId,
};
use infra::EventStore;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::problem::Problem;
use crate::bus::{BusError, CommandBus, Executed};
use crate::finance::FinanceError;
use crate::purchasing::BookSettings;

// One file per area; each takes what every command needs (the trait, the answer, the edge's checks,
// the serde and schema derives) from here with `use super::*`.
mod finance;
mod inventory;
mod masters;
mod production;
mod purchasing;
mod returns;
mod sales;

pub use finance::*;
pub use inventory::*;
pub use masters::*;
pub use production::*;
pub use purchasing::*;
pub use returns::*;
pub use sales::*;

/// JSON-Schema patterns of what the edge parses (checked against every date 1900-9999 by the fuzz run's
/// author): a month `YYYY-MM` and a date `YYYY-MM-DD`, from 1970, real days only.
pub const MONTH_PATTERN: &str = r"^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])$";
pub const DATE_PATTERN: &str = r"^((19[7-9][0-9]|[2-9][0-9]{3})-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)|(19(7[26]|8[048]|9[26])|[2-9][0-9](0[48]|[2468][048]|[13579][26])|([2468][048]|[3579][26])00)-02-29)$";
/// A department's code (its budget's stream, in the caller's book, is named after it): letters, digits,
/// `_`, `-` and `.`.
pub const DEPARTMENT_PATTERN: &str = r"^[A-Za-z0-9_.-]{1,32}$";
/// An online platform's name: a lower-case slug (taobao, douyin, pinduoduo, wechat), so the claim's
/// stream id `platform-order-{book}-{platform}-{id}` cannot be read two ways.
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

impl Accepted {
    /// The answer to several commands decided on one stream and appended at once.
    fn of_all<E: DomainEvent>(
        name: &str,
        meta: &CommandMeta,
        stream: String,
        all: Vec<Executed<E>>,
    ) -> Accepted {
        let mut answer = Accepted {
            command: name.to_string(),
            command_id: meta.command_id.0,
            stream,
            version: None,
            position: None,
            duplicate: !all.is_empty(),
            events: Vec::new(),
        };
        for executed in all {
            let one = Accepted::of(name, meta, String::new(), executed);
            answer.version = one.version.or(answer.version);
            answer.position = one.position.or(answer.position);
            answer.duplicate &= one.duplicate;
            answer.events.extend(one.events);
        }
        answer
    }
}

/// The answer of a command an application service wrote in steps (each under an id derived from the
/// command's): the events of the command's flow on `stream`, and where the stream stands now.
async fn flow_answer<A: Aggregate, S: EventStore>(
    name: &str,
    ctx: &Ctx<S>,
    stream: String,
) -> Result<Accepted, Problem> {
    let id = infra::StreamId::new(&stream).map_err(|e| Problem::from_store(&e))?;
    let recorded =
        ctx.bus.store().read_stream(&id, 0, FLOW_EVENTS_MAX).await.map_err(|e| Problem::from_store(&e))?;
    let mut events = Vec::new();
    for event in recorded.iter().filter(|e| e.metadata.correlation_id == ctx.meta.correlation_id) {
        let decoded: A::Event = infra::codec::decode_domain_event(&event.event_type, &event.payload)
            .map_err(|e| Problem::from_store(&e))?;
        events.push(EventOut {
            event_type: event.event_type.name().to_string(),
            version: event.event_type.version(),
            data: decoded.serialize_payload(serde_json::value::Serializer).unwrap_or(serde_json::Value::Null),
        });
    }
    let last = recorded.last();
    Ok(Accepted {
        command: name.to_string(),
        command_id: ctx.meta.command_id.0,
        stream,
        version: last.map(|e| e.stream_version),
        position: last.map(|e| e.position),
        duplicate: false,
        events,
    })
}

/// Most events [`flow_answer`] reads of a stream: a bank statement's import and a match per line.
const FLOW_EVENTS_MAX: usize = 2 * domain::finance::bank::STATEMENT_LINES_MAX + 16;

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

/// The amounts paid or received against invoices, each checked as [`money`] and named by its place
/// in the `invoices` list.
pub(crate) fn invoice_amounts<I>(
    invoices: impl IntoIterator<Item = (I, Decimal)>,
) -> Result<Vec<(I, Decimal)>, Problem> {
    invoices
        .into_iter()
        .enumerate()
        .map(|(i, (invoice, amount))| Ok((invoice, money(&format!("invoices[{i}].amount"), amount)?)))
        .collect()
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

fn period(what: &str, text: &str) -> Result<Period, Problem> {
    Period::parse(text).ok_or_else(|| {
        Problem::bad_request("input.invalid", format!("{what} {text:?} is not a month (YYYY-MM)"))
    })
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
        $m!(SetPurchasingPolicy);
        $m!(PlaceSalesOrder);
        $m!(CreateShipment);
        $m!(PickShipment);
        $m!(ShipShipment);
        $m!(IssueSalesInvoice);
        $m!(RecordCustomerReceipt);
        $m!(CreateCustomerReturn);
        $m!(DraftRequisition);
        $m!(SubmitRequisition);
        $m!(ApproveRequisition);
        $m!(RejectRequisition);
        $m!(ConvertRequisition);
        $m!(SetDepartmentBudget);
        $m!(PlacePurchaseOrder);
        $m!(ApprovePurchaseOrderBudget);
        $m!(ApprovePurchaseOrder);
        $m!(AmendPurchaseOrder);
        $m!(CancelPurchaseOrder);
        $m!(ClosePurchaseOrder);
        $m!(ReceiveGoods);
        $m!(RegisterPurchaseInvoice);
        $m!(RegisterPurchaseFreight);
        $m!(PaySupplier);
        $m!(CreateSupplierReturn);
        $m!(CompleteReturn);
        $m!(CreateTransfer);
        $m!(DispatchTransfer);
        $m!(ReceiveTransfer);
        $m!(OpenStocktake);
        $m!(CountStocktake);
        $m!(SubmitStocktake);
        $m!(ApproveStocktake);
        $m!(RejectStocktake);
        $m!(SetStockPolicy);
        $m!(TakeUpReplenishment);
        $m!(DismissReplenishment);
        $m!(ReleaseProductionOrder);
        $m!(CompleteProductionOrder);
        $m!(EnterOpeningBalances);
        $m!(DraftVoucher);
        $m!(ReviewVoucher);
        $m!(PostVoucher);
        $m!(ReverseVoucher);
        $m!(DiscardVoucher);
        $m!(ImportBankStatement);
        $m!(MatchStatementLine);
        $m!(UnmatchStatementLine);
        $m!(AccruePayroll);
        $m!(PayPayroll);
        $m!(RunMonthEnd);
        $m!(ClosePeriod);
        $m!(ReopenPeriod);
    };
}

/// Serialises a value for the response (never fails for these types).
pub(crate) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

//! Purchase orders with their automatic checks (采购订单提交检查): what a buyer enters is completed with the
//! facts the order's rules need, read from the aggregates that own them, before the order is decided.
//!
//! - Masters: the supplier (a partner with the supplier role), the receiving warehouse and every item
//!   must exist and be active; a bin named for a receipt must be one of the warehouse's bins.
//! - Stock check: each line records what of its item is available in the receiving warehouse now.
//! - Budget check: the order's net amount is committed against its department's budget for the month of
//!   its business date (`DepartmentBudget`, one stream per book, department and month, so two orders cannot
//!   both take the last of it) before the order is placed; the order is placed over budget, waiting for
//!   finance, when the commitment did not fit. Amending an order commits its new amount; cancelling its
//!   remainder cuts the commitment to what was received.
//!
//! Crash-safe by the same rule as the sales claims: the commitment is made under a command id derived
//! from the order command's, so a retried placement repeats (and finds) the same commitment, and the
//! order's own command is recognised as a retry by the bus.

use domain::inventory::{StockItem, StockKey, StockPolicy};
use domain::master::{Item, Partner, Usable, Warehouse};
use domain::purchasing::budget::BudgetCommitted;
use domain::purchasing::order::price_lines;
use domain::purchasing::{
    BudgetCommand, BudgetEvent, DepartmentBudget, PoLineInput, PurchaseOrder, PurchaseOrderCommand,
    PurchaseOrderEvent, PurchaseOrderRejection,
};
use domain::time::{CHINA_UTC_OFFSET_MINUTES, Period};
use domain::values::{Code, Quantity, UnitAmount, round_money};
use domain::{
    Aggregate, BookId, CommandId, CommandMeta, ItemId, PartnerId, PurchaseOrderId, RequisitionId, WarehouseId,
};
use infra::{EventStore, StoreError, StreamId};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::bus::{BusError, CommandBus, Executed};

/// The book's settings these checks need (the finance issue makes them a book's record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookSettings {
    /// Whether stock may go negative; part of every stock item's policy.
    pub allow_negative_stock: bool,
    /// The book's time zone, for the month a business date falls in.
    pub utc_offset_minutes: i32,
}

impl Default for BookSettings {
    fn default() -> Self {
        BookSettings { allow_negative_stock: false, utc_offset_minutes: CHINA_UTC_OFFSET_MINUTES }
    }
}

/// A purchase order line as a buyer enters it.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderLineDraft {
    pub item: ItemId,
    pub qty: Quantity,
    pub unit_price: UnitAmount,
    pub vat_rate: Decimal,
}

/// A purchase order as a buyer enters it.
#[derive(Clone, Debug, PartialEq)]
pub struct PurchaseOrderDraft {
    pub id: PurchaseOrderId,
    pub supplier: PartnerId,
    pub warehouse: WarehouseId,
    pub department: String,
    pub lines: Vec<OrderLineDraft>,
    pub requisition: Option<RequisitionId>,
}

/// Derived id of a step taken on behalf of an order command (see `sales::claim_meta`).
fn step_meta(meta: &CommandMeta, name: &[u8]) -> CommandMeta {
    CommandMeta { command_id: CommandId(Uuid::new_v5(&meta.command_id.0, name)), ..meta.clone() }
}

async fn usable<S: EventStore, A: Aggregate + Usable>(
    bus: &CommandBus<S>,
    book: BookId,
    stream: &str,
) -> Result<Option<A>, StoreError> {
    let master: A = bus.load_in(book, stream).await?;
    Ok(master.is_usable().then_some(master))
}

/// The lines completed with each item's stock policy and the stock check, and whether every master is
/// usable.
async fn complete_lines<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    supplier: PartnerId,
    warehouse: WarehouseId,
    drafts: &[OrderLineDraft],
    settings: &BookSettings,
) -> Result<(Vec<PoLineInput>, bool), StoreError> {
    let supplier_ok = usable::<S, Partner>(bus, book, &Partner::stream(supplier))
        .await?
        .is_some_and(|p| p.details.as_ref().is_some_and(|d| d.roles.supplier));
    let warehouse_ok = usable::<S, Warehouse>(bus, book, &Warehouse::stream(warehouse)).await?.is_some();
    let mut usable_all = supplier_ok && warehouse_ok;
    let mut lines = Vec::with_capacity(drafts.len());
    for draft in drafts {
        let item = usable::<S, Item>(bus, book, &Item::stream(draft.item)).await?;
        let (costing, safety_stock) = match item.as_ref().and_then(|i| i.details.as_ref()) {
            Some(details) => (details.costing, details.safety_stock),
            None => {
                usable_all = false;
                (domain::inventory::CostingMethod::MovingAverage, Decimal::ZERO)
            }
        };
        let key = StockKey { item: draft.item, warehouse };
        let stock: StockItem = bus.load_in(book, &key.stream_id()).await?;
        lines.push(PoLineInput {
            item: draft.item,
            qty: draft.qty,
            unit_price: draft.unit_price,
            vat_rate: draft.vat_rate,
            policy: StockPolicy { costing, safety_stock, allow_negative: settings.allow_negative_stock },
            available_now: stock.available(),
        });
    }
    Ok((lines, usable_all))
}

/// Commits `amount` for `order` against the department's month and answers what was left for it
/// (`Decimal::MAX` when the month is unbudgeted), as the budget recorded it.
async fn commit_budget<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    department: &Code,
    period: Period,
    order: PurchaseOrderId,
    amount: Decimal,
) -> Result<Decimal, BusError<PurchaseOrderRejection>> {
    // The department's budget in the order's book: codes are the book's own (ADR 0014).
    let commit =
        BudgetCommand::Commit { book: meta.book, department: department.clone(), period, order, amount };
    let done = bus.execute::<DepartmentBudget>(meta, &commit).await.map_err(|e| match e {
        // Priced lines are in cents and below the document limit (`price_lines`), which is all a
        // commitment asks; a refusal here is a bug, reported with the budget's own words.
        BusError::Rejected(r) => {
            BusError::Store(StoreError::InvalidMetadata { reason: format!("budget: {r}") })
        }
        BusError::Conflict { attempts } => BusError::Conflict { attempts },
        BusError::Store(e) => BusError::Store(e),
        BusError::Stale { expected, actual } => BusError::Stale { expected, actual },
        BusError::WrongBook { stream } => BusError::WrongBook { stream },
    })?;
    let recorded = match done.events.first() {
        Some(BudgetEvent::Committed(committed)) => committed.clone(),
        // A retry, or the same amount committed already: the commitment on record answers.
        _ => {
            let budget: DepartmentBudget =
                bus.load_in(meta.book, &DepartmentBudget::stream_id(&commit)).await?;
            match budget.decisions.get(&order) {
                Some(decision) => decision.clone(),
                None => {
                    return Err(BusError::Store(StoreError::InvalidMetadata {
                        reason: format!("budget: no commitment of order {} on record", order.0),
                    }));
                }
            }
        }
    };
    Ok(remaining_for(&recorded))
}

fn remaining_for(committed: &BudgetCommitted) -> Decimal {
    committed.remaining_before.unwrap_or(Decimal::MAX)
}

/// The month an order's business date falls in, in the book's time zone.
fn period_of(meta: &CommandMeta, settings: &BookSettings) -> Period {
    Period::containing(meta.occurred_at, settings.utc_offset_minutes)
}

fn department_code(department: &str) -> Result<Code, BusError<PurchaseOrderRejection>> {
    Code::new("department", department)
        .map_err(|_| BusError::Rejected(PurchaseOrderRejection::InvalidDepartment))
}

/// Places a purchase order after its automatic checks (masters, stock, budget).
pub async fn place_purchase_order<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    draft: &PurchaseOrderDraft,
    settings: &BookSettings,
) -> Result<Executed<PurchaseOrderEvent>, BusError<PurchaseOrderRejection>> {
    let department = department_code(&draft.department)?;
    // An order placed for a requisition: its status as the book sees it, for the domain's rule.
    if let Some(requisition) = draft.requisition {
        let stream = domain::purchasing::PurchaseRequisition::stream_id(
            &domain::purchasing::RequisitionCommand::Approve { id: requisition },
        );
        let status = bus
            .inspect_in::<domain::purchasing::PurchaseRequisition, _>(meta.book, &stream, |r| r.status)
            .await?;
        domain::purchasing::order::check_requisition(status).map_err(BusError::Rejected)?;
    }
    let (lines, masters_usable) =
        complete_lines(bus, meta.book, draft.supplier, draft.warehouse, &draft.lines, settings).await?;
    let (_, amount_net) = price_lines(&lines).map_err(BusError::Rejected)?;
    let mut budget_remaining = Decimal::MAX;
    if masters_usable {
        let period = period_of(meta, settings);
        let step = step_meta(meta, b"budget-commit");
        budget_remaining = commit_budget(bus, &step, &department, period, draft.id, amount_net).await?;
    }
    let place = PurchaseOrderCommand::Place {
        id: draft.id,
        supplier: draft.supplier,
        warehouse: draft.warehouse,
        department: department.as_str().to_string(),
        lines,
        requisition: draft.requisition,
        budget_remaining,
        masters_usable,
    };
    bus.execute::<PurchaseOrder>(meta, &place).await
}

/// The business date of the order's placement: its budget month.
async fn placed_period<S: EventStore>(
    bus: &CommandBus<S>,
    order: PurchaseOrderId,
    settings: &BookSettings,
) -> Result<Option<Period>, StoreError> {
    let stream = StreamId::new(PurchaseOrder::stream(order))?;
    let first = bus.store().read_stream(&stream, 0, 1).await?;
    Ok(first
        .first()
        .map(|placed| Period::containing(placed.metadata.occurred_at, settings.utc_offset_minutes)))
}

/// Replaces an order's lines before any receipt, with the checks run again on the new lines.
pub async fn amend_purchase_order<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    order: PurchaseOrderId,
    drafts: &[OrderLineDraft],
    settings: &BookSettings,
) -> Result<Executed<PurchaseOrderEvent>, BusError<PurchaseOrderRejection>> {
    let current: PurchaseOrder = bus.load_in(meta.book, &PurchaseOrder::stream(order)).await?;
    let Some(placed) = current.placed.clone() else {
        return Err(BusError::Rejected(PurchaseOrderRejection::NotFound));
    };
    let (lines, masters_usable) =
        complete_lines(bus, meta.book, placed.supplier, placed.warehouse, drafts, settings).await?;
    if !masters_usable {
        return Err(BusError::Rejected(PurchaseOrderRejection::MasterUnusable));
    }
    let (_, amount_net) = price_lines(&lines).map_err(BusError::Rejected)?;
    // Only an order that may still be amended moves its commitment.
    current
        .decide(
            &PurchaseOrderCommand::Amend { id: order, lines: lines.clone(), budget_remaining: Decimal::MAX },
            meta,
        )
        .map_err(BusError::Rejected)?;
    let period = placed_period(bus, order, settings).await?.unwrap_or_else(|| period_of(meta, settings));
    let department = department_code(&placed.department)?;
    let step = step_meta(meta, b"budget-commit");
    let budget_remaining = commit_budget(bus, &step, &department, period, order, amount_net).await?;
    bus.execute::<PurchaseOrder>(meta, &PurchaseOrderCommand::Amend { id: order, lines, budget_remaining })
        .await
}

/// Cancels what is still to come of an order and frees its budget: the commitment becomes the value of
/// what was received.
pub async fn cancel_purchase_order_remainder<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    order: PurchaseOrderId,
    reason: &str,
    settings: &BookSettings,
) -> Result<Executed<PurchaseOrderEvent>, BusError<PurchaseOrderRejection>> {
    let cancel = PurchaseOrderCommand::CancelRemainder { id: order, reason: reason.to_string() };
    let done = bus.execute::<PurchaseOrder>(meta, &cancel).await?;
    let state: PurchaseOrder = bus.load_in(meta.book, &PurchaseOrder::stream(order)).await?;
    let Some(placed) = state.placed.as_ref() else { return Ok(done) };
    let received_value: Decimal = state
        .lines
        .iter()
        .zip(&state.received)
        .map(|(line, received)| round_money(*received * line.unit_price))
        .sum();
    let period = placed_period(bus, order, settings).await?.unwrap_or_else(|| period_of(meta, settings));
    let department = department_code(&placed.department)?;
    commit_budget(bus, &step_meta(meta, b"budget-release"), &department, period, order, received_value)
        .await?;
    Ok(done)
}

/// Receives goods against an order (`PurchaseOrderCommand::Receive`), with whether its bin, if it names
/// one, is one of the receiving warehouse's bins read from the warehouse master.
pub async fn receive_purchase_order<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    receive: &PurchaseOrderCommand,
) -> Result<Executed<PurchaseOrderEvent>, BusError<PurchaseOrderRejection>> {
    let mut receive = receive.clone();
    if let PurchaseOrderCommand::Receive { id, bin: Some(bin), bin_known, .. } = &mut receive {
        let warehouse = bus
            .inspect_in::<PurchaseOrder, _>(meta.book, &PurchaseOrder::stream(*id), |o| {
                o.placed.as_ref().map(|p| p.warehouse)
            })
            .await?;
        *bin_known = match warehouse {
            Some(warehouse) => {
                bus.inspect_in::<Warehouse, bool>(meta.book, &Warehouse::stream(warehouse), |w| {
                    w.details.as_ref().is_some_and(|d| d.bins.iter().any(|b| b == bin))
                })
                .await?
            }
            // No such order: the order itself says so.
            None => true,
        };
    }
    bus.execute::<PurchaseOrder>(meta, &receive).await
}

/// A carrier's freight invoice (运费) for an order's goods, booked as the book chose: a selling expense,
/// or capitalized into the goods' cost (the price-difference flow spreads it over the order's lines
/// and revalues their stock). The order must exist.
#[allow(clippy::too_many_arguments)]
pub async fn register_purchase_freight<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    id: domain::PurchaseInvoiceId,
    carrier: PartnerId,
    number: &str,
    po: PurchaseOrderId,
    amount_net: Decimal,
    vat_rate: Decimal,
) -> Result<
    Executed<domain::purchasing::PurchaseInvoiceEvent>,
    BusError<domain::purchasing::PurchaseInvoiceRejection>,
> {
    let capitalize = bus
        .inspect_in::<domain::finance::book::Book, _>(
            meta.book,
            &domain::finance::book::Book::stream(meta.book),
            |b| b.capitalize_freight,
        )
        .await?;
    let po_known = bus
        .inspect_in::<PurchaseOrder, _>(meta.book, &PurchaseOrder::stream(po), |o| o.placed.is_some())
        .await?;
    let register = domain::purchasing::PurchaseInvoiceCommand::RegisterFreight {
        id,
        carrier,
        number: number.to_string(),
        po,
        amount_net,
        vat_rate,
        capitalize,
        po_known,
    };
    bus.execute::<domain::purchasing::PurchaseInvoice>(meta, &register).await
}

/// The matching tolerances purchase invoices are registered with until books carry their own: the
/// quantity exactly as received, the price within 5 % of the order's.
pub const INVOICE_TOLERANCES: domain::purchasing::Tolerances =
    domain::purchasing::Tolerances { qty: Decimal::ZERO, price: Decimal::from_parts(5, 0, 0, false, 2) };

/// Registers a supplier's invoice (three-way match: order, receipt, invoice) with the facts its rules
/// need read from the orders it names (price ordered, quantity received and already invoiced per
/// line) and from the masters (the supplier and every item active).
pub async fn register_purchase_invoice<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    id: domain::PurchaseInvoiceId,
    supplier: PartnerId,
    number: String,
    lines: Vec<domain::purchasing::PurchaseInvoiceLineInput>,
) -> Result<
    Executed<domain::purchasing::PurchaseInvoiceEvent>,
    BusError<domain::purchasing::PurchaseInvoiceRejection>,
> {
    use domain::purchasing::{OrderLineFacts, PurchaseInvoice, PurchaseInvoiceCommand};
    let partner: Partner = bus.load_in(meta.book, &Partner::stream(supplier)).await?;
    let mut usable = partner.is_usable() && partner.details.as_ref().is_some_and(|d| d.roles.supplier);
    let mut facts = Vec::new();
    let mut orders: Vec<PurchaseOrderId> = lines.iter().map(|l| l.po).collect();
    orders.sort();
    orders.dedup();
    for po in orders {
        let order: PurchaseOrder = bus.load_in(meta.book, &PurchaseOrder::stream(po)).await?;
        for line in &order.lines {
            let at = line.line as usize;
            facts.push(OrderLineFacts {
                po,
                po_line: line.line,
                ordered_price: line.unit_price,
                received_qty: order.received.get(at).copied().unwrap_or_default(),
                invoiced_qty: order.invoiced.get(at).copied().unwrap_or_default(),
            });
        }
    }
    let mut items: Vec<ItemId> = lines.iter().map(|l| l.item).collect();
    items.sort();
    items.dedup();
    for item in items {
        usable &= bus.inspect_in::<Item, bool>(meta.book, &Item::stream(item), |i| i.is_usable()).await?;
    }
    let register = PurchaseInvoiceCommand::Register {
        id,
        supplier,
        number,
        lines,
        facts,
        tolerances: INVOICE_TOLERANCES,
        masters_usable: usable,
    };
    bus.execute::<PurchaseInvoice>(meta, &register).await
}

/// Converting requisition `id` into `purchase_order`, with whether that order is placed in `book` and
/// names this requisition or none (an order placed for another requisition, or none at all, cannot be
/// what this one became).
pub async fn requisition_conversion<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    id: RequisitionId,
    purchase_order: PurchaseOrderId,
) -> Result<domain::purchasing::RequisitionCommand, StoreError> {
    let order_placed = bus
        .inspect_in::<PurchaseOrder, bool>(book, &PurchaseOrder::stream(purchase_order), |o| {
            o.placed.as_ref().is_some_and(|p| p.requisition.is_none_or(|r| r == id))
        })
        .await?;
    Ok(domain::purchasing::RequisitionCommand::Convert { id, purchase_order, order_placed })
}

/// A requisition's submission with the facts its approval turns on: the estimated amount (the drafted
/// quantity at the unit price the requester expects, rounded half-up to cents) and the threshold of
/// the book's purchasing policy (its default when the book set none, or does not exist yet).
pub async fn requisition_submission<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    id: RequisitionId,
    expected_unit_price: UnitAmount,
) -> Result<domain::purchasing::RequisitionCommand, StoreError> {
    use domain::purchasing::{PurchaseRequisition, RequisitionCommand};
    let stream = PurchaseRequisition::stream_id(&RequisitionCommand::Approve { id });
    let qty = bus
        .inspect_in::<PurchaseRequisition, Decimal>(book, &stream, |r| {
            r.drafted.as_ref().map_or(Decimal::ZERO, |d| d.qty)
        })
        .await?;
    let approval_threshold = bus
        .inspect_in::<domain::finance::book::Book, _>(book, &domain::finance::book::Book::stream(book), |b| {
            b.requisition_approval_threshold()
        })
        .await?;
    Ok(RequisitionCommand::Submit {
        id,
        estimated_amount: round_money(qty * expected_unit_price.get()),
        approval_threshold,
    })
}

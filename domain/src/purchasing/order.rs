//! PurchaseOrder (采购订单): placed (with the automatic stock and budget checks) → approved →
//! partially received → received → closed; amended before any receipt; the remainder cancelled.
//!
//! Placing runs two checks on facts read at the edge: for each line, how much of the item is already
//! available (recorded, so a buyer sees a purchase the stock did not need), and the department's
//! remaining budget for the period; over budget, the order waits for finance. Approval then needs the
//! purchasing role and someone other than the person who placed it. Goods are received against lines,
//! partially, up to the ordered quantity plus the book's over-receipt tolerance.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection, Role};
use crate::ids::{
    GoodsReceiptId, ItemId, PartnerId, PurchaseInvoiceId, PurchaseOrderId, RequisitionId, WarehouseId,
};
use crate::inventory::StockPolicy;
use crate::purchasing::invoice::PurchaseInvoiceLine;
use crate::values::{DOCUMENT_AMOUNT_MAX, Quantity, UnitAmount, line_amounts};

/// Most lines in one purchase order.
pub const PO_LINES_MAX: usize = 500;

#[derive(Clone, Debug, PartialEq)]
pub struct PoLineInput {
    pub item: ItemId,
    pub qty: Quantity,
    /// Net unit price agreed with the supplier.
    pub unit_price: UnitAmount,
    pub vat_rate: Decimal,
    /// The item's stock policy (from the item master), for opening its stock on the first receipt.
    pub policy: StockPolicy,
    /// What of the item is available in the receiving warehouse now (the automatic stock check).
    pub available_now: Decimal,
}

#[derive(Clone, Debug, PartialEq)]
pub enum PurchaseOrderCommand {
    Place {
        id: PurchaseOrderId,
        supplier: PartnerId,
        warehouse: WarehouseId,
        department: String,
        lines: Vec<PoLineInput>,
        requisition: Option<RequisitionId>,
        /// The department's budget left for the period (the automatic budget check).
        budget_remaining: Decimal,
        /// Whether the supplier, the warehouse and every item are active masters (read at the edge).
        masters_usable: bool,
    },
    /// Finance accepts an order over budget.
    ApproveBudget {
        id: PurchaseOrderId,
    },
    Approve {
        id: PurchaseOrderId,
    },
    /// Replaces the lines before anything was received; the order must be approved again.
    Amend {
        id: PurchaseOrderId,
        lines: Vec<PoLineInput>,
        budget_remaining: Decimal,
    },
    /// Goods arrive against lines: (line, quantity) pairs.
    Receive {
        id: PurchaseOrderId,
        receipt: GoodsReceiptId,
        lines: Vec<(u32, Quantity)>,
        bin: Option<String>,
        lot: Option<String>,
        /// The book's over-receipt tolerance as a fraction (0.05 = 5 % more than ordered is accepted).
        tolerance: Decimal,
        /// Whether `bin` is one of the receiving warehouse's bins (a fact read at the edge; ignored
        /// without a bin).
        bin_known: bool,
        /// The supplier's VAT invoice when it came with the goods (发票随货): the goods are received at
        /// its prices and the payable booked at once, with no estimate (暂估) in between.
        invoice: Option<InvoiceWithGoods>,
    },
    CancelRemainder {
        id: PurchaseOrderId,
        reason: String,
    },
    Close {
        id: PurchaseOrderId,
    },
    /// From the price-difference flow: capitalized freight of `amount` spread over the order's goods.
    AllocateFreight {
        id: PurchaseOrderId,
        invoice: PurchaseInvoiceId,
        amount: Decimal,
    },
    /// From the price-difference flow: a booked purchase invoice's line (`invoice_line`) covered `qty`
    /// of order line `line` at a net `difference` from the order price. Idempotent per invoice line.
    RecordInvoiced {
        id: PurchaseOrderId,
        invoice: PurchaseInvoiceId,
        invoice_line: u32,
        line: u32,
        qty: Decimal,
        difference: Decimal,
    },
}

impl PurchaseOrderCommand {
    pub fn id(&self) -> PurchaseOrderId {
        match self {
            PurchaseOrderCommand::Place { id, .. }
            | PurchaseOrderCommand::ApproveBudget { id }
            | PurchaseOrderCommand::Approve { id }
            | PurchaseOrderCommand::Amend { id, .. }
            | PurchaseOrderCommand::Receive { id, .. }
            | PurchaseOrderCommand::CancelRemainder { id, .. }
            | PurchaseOrderCommand::Close { id }
            | PurchaseOrderCommand::RecordInvoiced { id, .. }
            | PurchaseOrderCommand::AllocateFreight { id, .. } => *id,
        }
    }
}

/// A supplier's invoice that arrived with the goods: its number and, for each received line, its net
/// unit price (the VAT rate is the order line's).
#[derive(Clone, Debug, PartialEq)]
pub struct InvoiceWithGoods {
    pub id: PurchaseInvoiceId,
    pub number: String,
    pub prices: Vec<(u32, UnitAmount)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoLine {
    pub line: u32,
    pub item: ItemId,
    pub qty: Decimal,
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
    pub amount_net: Decimal,
    pub policy: StockPolicy,
    /// The stock check: available when the order was placed.
    pub available_at_order: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrderPlaced {
    pub id: PurchaseOrderId,
    pub supplier: PartnerId,
    pub warehouse: WarehouseId,
    pub department: String,
    pub requisition: Option<RequisitionId>,
    pub lines: Vec<PoLine>,
    pub amount_net: Decimal,
    pub by: String,
    /// The budget check: true when the order exceeded the department's remaining budget.
    pub over_budget: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrderBudgetApproved {
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrderApproved {
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrderAmended {
    pub lines: Vec<PoLine>,
    pub amount_net: Decimal,
    pub over_budget: bool,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedLine {
    pub line: u32,
    pub item: ItemId,
    pub qty: Decimal,
    pub unit_price: Decimal,
    pub policy: StockPolicy,
}

/// The invoice that came with the goods, priced and taxed per line as a registered invoice is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedInvoice {
    pub id: PurchaseInvoiceId,
    pub number: String,
    pub lines: Vec<PurchaseInvoiceLine>,
    pub amount_net: Decimal,
    pub amount_tax: Decimal,
    pub amount_gross: Decimal,
}

/// Goods received against the order: everything receiving stock needs travels here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoodsReceived {
    pub id: PurchaseOrderId,
    pub receipt: GoodsReceiptId,
    pub warehouse: WarehouseId,
    pub supplier: PartnerId,
    /// Each line at the price the stock takes it at: the invoice's when one came with the goods, else
    /// the order's (an estimate until the invoice is booked).
    pub lines: Vec<ReceivedLine>,
    pub bin: Option<String>,
    pub lot: Option<String>,
    pub by: String,
    /// Since v2: the invoice that came with the goods, if any.
    pub invoice: Option<ReceivedInvoice>,
}

/// `purchasing.GoodsReceived` v1, before an invoice could come with the goods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoodsReceivedV1 {
    pub id: PurchaseOrderId,
    pub receipt: GoodsReceiptId,
    pub warehouse: WarehouseId,
    pub supplier: PartnerId,
    pub lines: Vec<ReceivedLine>,
    pub bin: Option<String>,
    pub lot: Option<String>,
    pub by: String,
}

impl From<GoodsReceivedV1> for GoodsReceived {
    fn from(v1: GoodsReceivedV1) -> Self {
        GoodsReceived {
            id: v1.id,
            receipt: v1.receipt,
            warehouse: v1.warehouse,
            supplier: v1.supplier,
            lines: v1.lines,
            bin: v1.bin,
            lot: v1.lot,
            by: v1.by,
            invoice: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrderRemainderCancelled {
    /// Per line, the quantity that will no longer be received.
    pub cancelled: Vec<(u32, Decimal)>,
    pub reason: String,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrderClosed {
    pub by: String,
}

/// One line's share of capitalized freight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreightShare {
    pub line: u32,
    pub item: ItemId,
    /// The quantity the share is spread over (received, or ordered when nothing was received yet).
    pub qty: Decimal,
    pub amount: Decimal,
}

/// Capitalized freight spread over the order's lines by their value (received quantity × order
/// price, or ordered when nothing was received yet), each share rounded half-up and the last line
/// taking the rounding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrderFreightAllocated {
    pub invoice: PurchaseInvoiceId,
    pub warehouse: WarehouseId,
    pub amount: Decimal,
    pub shares: Vec<FreightShare>,
}

/// An order line invoiced: which goods (item and receiving warehouse) the invoice's price difference
/// falls on, so the stock they went into can take it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrderLineInvoiced {
    pub invoice: PurchaseInvoiceId,
    pub invoice_line: u32,
    pub line: u32,
    pub item: ItemId,
    pub warehouse: WarehouseId,
    pub qty: Decimal,
    /// Invoiced net less the order price × qty (each rounded half-up to the cent).
    pub difference: Decimal,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum PurchaseOrderEvent {
        Placed(PurchaseOrderPlaced) = "purchasing.PurchaseOrderPlaced" v 1,
        BudgetApproved(PurchaseOrderBudgetApproved) = "purchasing.PurchaseOrderBudgetApproved" v 1,
        Approved(PurchaseOrderApproved) = "purchasing.PurchaseOrderApproved" v 1,
        Amended(PurchaseOrderAmended) = "purchasing.PurchaseOrderAmended" v 1,
        Received(GoodsReceived) = "purchasing.GoodsReceived" v 2 upcast [1 => GoodsReceivedV1],
        RemainderCancelled(PurchaseOrderRemainderCancelled) = "purchasing.PurchaseOrderRemainderCancelled" v 1,
        Closed(PurchaseOrderClosed) = "purchasing.PurchaseOrderClosed" v 1,
        LineInvoiced(PurchaseOrderLineInvoiced) = "purchasing.PurchaseOrderLineInvoiced" v 1,
        FreightAllocated(PurchaseOrderFreightAllocated) = "purchasing.PurchaseOrderFreightAllocated" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurchaseOrderRejection {
    #[error("the purchase order already exists")]
    AlreadyExists,
    #[error("the purchase order does not exist")]
    NotFound,
    #[error("a purchase order has 1 to {PO_LINES_MAX} lines with a valid VAT rate")]
    InvalidLines,
    #[error("the purchase order is {0}; that is not possible now")]
    WrongStatus(&'static str),
    #[error("this needs the {0:?} role")]
    NotAllowed(Role),
    #[error("{0} placed this order and cannot approve it")]
    OwnOrder(String),
    #[error("nothing can be amended once goods were received")]
    AlreadyReceived,
    #[error(
        "line {line}: receiving {receiving} would bring it to {total}, over {ordered} plus the tolerance"
    )]
    OverReceipt { line: u32, receiving: Decimal, total: Decimal, ordered: Decimal },
    #[error("line {0} does not exist")]
    UnknownLine(u32),
    #[error("a receipt needs at least one line, each line once")]
    InvalidReceipt,
    #[error("goods receipt {0} was already recorded")]
    DuplicateReceipt(GoodsReceiptId),
    #[error("the order still expects goods; receive them or cancel the remainder first")]
    Outstanding,
    #[error("the supplier, the warehouse or an item is deactivated")]
    MasterUnusable,
    #[error("a department is named by 1 to 64 characters")]
    InvalidDepartment,
    #[error("the order's net amount {0} is not below 10^15")]
    AmountTooLarge(Decimal),
    #[error("bin {0:?} is not one of the receiving warehouse's bins")]
    UnknownBin(String),
    #[error("an invoice that comes with the goods has a number and one price for each line received")]
    InvalidInvoice,
    #[error("the requisition named is not an approved one of this book waiting for its purchase order")]
    RequisitionUnusable,
}

impl Rejection for PurchaseOrderRejection {
    fn code(&self) -> &'static str {
        match self {
            PurchaseOrderRejection::AlreadyExists => "po.already_exists",
            PurchaseOrderRejection::InvalidDepartment => "po.invalid_department",
            PurchaseOrderRejection::AmountTooLarge(_) => "po.amount_too_large",
            PurchaseOrderRejection::UnknownBin(_) => "po.unknown_bin",
            PurchaseOrderRejection::InvalidInvoice => "po.invalid_invoice",
            PurchaseOrderRejection::RequisitionUnusable => "po.requisition_unusable",
            PurchaseOrderRejection::NotFound => "po.not_found",
            PurchaseOrderRejection::InvalidLines => "po.invalid_lines",
            PurchaseOrderRejection::WrongStatus(_) => "po.wrong_status",
            PurchaseOrderRejection::NotAllowed(_) => "po.not_allowed",
            PurchaseOrderRejection::OwnOrder(_) => "po.own_order",
            PurchaseOrderRejection::AlreadyReceived => "po.already_received",
            PurchaseOrderRejection::OverReceipt { .. } => "po.over_receipt",
            PurchaseOrderRejection::UnknownLine(_) => "po.unknown_line",
            PurchaseOrderRejection::InvalidReceipt => "po.invalid_receipt",
            PurchaseOrderRejection::DuplicateReceipt(_) => "po.duplicate_receipt",
            PurchaseOrderRejection::Outstanding => "po.outstanding",
            PurchaseOrderRejection::MasterUnusable => "po.master_unusable",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PurchaseOrderStatus {
    #[default]
    New,
    AwaitingBudget,
    Placed,
    Approved,
    PartiallyReceived,
    Received,
    Closed,
}

impl PurchaseOrderStatus {
    fn name(self) -> &'static str {
        match self {
            PurchaseOrderStatus::New => "new",
            PurchaseOrderStatus::AwaitingBudget => "awaiting budget approval",
            PurchaseOrderStatus::Placed => "placed",
            PurchaseOrderStatus::Approved => "approved",
            PurchaseOrderStatus::PartiallyReceived => "partially received",
            PurchaseOrderStatus::Received => "received",
            PurchaseOrderStatus::Closed => "closed",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PurchaseOrder {
    pub status: PurchaseOrderStatus,
    pub placed: Option<PurchaseOrderPlaced>,
    pub lines: Vec<PoLine>,
    pub received: Vec<Decimal>,
    pub cancelled: Vec<Decimal>,
    pub receipts: Vec<GoodsReceiptId>,
    pub placed_by: Option<String>,
    /// Per line, the quantity invoiced so far.
    pub invoiced: Vec<Decimal>,
    /// The invoice lines recorded, so a repeated record changes nothing.
    pub invoice_lines: std::collections::BTreeSet<(PurchaseInvoiceId, u32)>,
    /// The freight invoices allocated, so a repeated allocation changes nothing.
    pub freight: std::collections::BTreeSet<PurchaseInvoiceId>,
}

/// Whether an order may be placed for a requisition whose status, as the order's book sees it, is
/// `status` (`New` for one that does not exist there): only for an approved one still waiting for its
/// order (the conversion then records which order it became).
pub fn check_requisition(status: crate::purchasing::RequisitionStatus) -> Result<(), PurchaseOrderRejection> {
    match status {
        crate::purchasing::RequisitionStatus::Approved => Ok(()),
        _ => Err(PurchaseOrderRejection::RequisitionUnusable),
    }
}

/// The priced lines of an order and their net total, or why they cannot be an order's lines.
pub fn price_lines(inputs: &[PoLineInput]) -> Result<(Vec<PoLine>, Decimal), PurchaseOrderRejection> {
    if inputs.is_empty() || inputs.len() > PO_LINES_MAX {
        return Err(PurchaseOrderRejection::InvalidLines);
    }
    let mut lines = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        if !crate::values::is_vat_rate(input.vat_rate) {
            return Err(PurchaseOrderRejection::InvalidLines);
        }
        lines.push(PoLine {
            line: i as u32,
            item: input.item,
            qty: input.qty.get(),
            unit_price: input.unit_price.get(),
            vat_rate: input.vat_rate,
            amount_net: line_amounts(input.qty.get(), input.unit_price.get(), input.vat_rate).0,
            policy: input.policy.clone(),
            available_at_order: input.available_now,
        });
    }
    let total: Decimal = lines.iter().map(|l| l.amount_net).sum();
    if total >= DOCUMENT_AMOUNT_MAX {
        return Err(PurchaseOrderRejection::AmountTooLarge(total));
    }
    Ok((lines, total))
}

impl PurchaseOrder {
    /// The stream of the purchaseorder `id`: the one place its name is made.
    pub fn stream(id: PurchaseOrderId) -> String {
        format!("purchase-order-{id}")
    }

    fn outstanding(&self, i: usize) -> Decimal {
        self.lines[i].qty - self.received[i] - self.cancelled[i]
    }

    /// Prices the received lines at the invoice that came with them and makes the invoice's lines, or
    /// refuses an invoice without a number or without exactly one price per received line.
    fn invoice_with_goods(
        &self,
        po: PurchaseOrderId,
        invoice: &InvoiceWithGoods,
        received: &mut [ReceivedLine],
    ) -> Result<ReceivedInvoice, PurchaseOrderRejection> {
        let number = invoice.number.trim();
        let mut priced: Vec<u32> = invoice.prices.iter().map(|(line, _)| *line).collect();
        priced.sort_unstable();
        priced.dedup();
        let mut lines: Vec<u32> = received.iter().map(|l| l.line).collect();
        lines.sort_unstable();
        if number.is_empty() || number.len() > 64 || priced != lines || priced.len() != invoice.prices.len() {
            return Err(PurchaseOrderRejection::InvalidInvoice);
        }
        let mut invoice_lines = Vec::with_capacity(received.len());
        for line in received.iter_mut() {
            let ordered = &self.lines[line.line as usize];
            let price = invoice.prices.iter().find(|(l, _)| *l == line.line).expect("checked").1.get();
            let (amount_net, amount_tax) = line_amounts(line.qty, price, ordered.vat_rate);
            line.unit_price = price;
            invoice_lines.push(PurchaseInvoiceLine {
                po,
                po_line: line.line,
                item: line.item,
                qty: line.qty,
                unit_price: price,
                vat_rate: ordered.vat_rate,
                amount_net,
                amount_tax,
                ordered_price: ordered.unit_price,
                received_qty: line.qty,
            });
        }
        let amount_net: Decimal = invoice_lines.iter().map(|l| l.amount_net).sum();
        let amount_tax: Decimal = invoice_lines.iter().map(|l| l.amount_tax).sum();
        if amount_net + amount_tax >= DOCUMENT_AMOUNT_MAX {
            return Err(PurchaseOrderRejection::AmountTooLarge(amount_net + amount_tax));
        }
        Ok(ReceivedInvoice {
            id: invoice.id,
            number: number.to_string(),
            lines: invoice_lines,
            amount_net,
            amount_tax,
            amount_gross: amount_net + amount_tax,
        })
    }

    fn receiving_status(&self) -> PurchaseOrderStatus {
        let all_done = (0..self.lines.len()).all(|i| self.outstanding(i) <= Decimal::ZERO);
        if all_done {
            PurchaseOrderStatus::Received
        } else if self.received.iter().any(|r| *r > Decimal::ZERO) {
            PurchaseOrderStatus::PartiallyReceived
        } else {
            PurchaseOrderStatus::Approved
        }
    }
}

impl Aggregate for PurchaseOrder {
    type Command = PurchaseOrderCommand;
    type Event = PurchaseOrderEvent;
    type Rejection = PurchaseOrderRejection;

    fn stream_id(command: &PurchaseOrderCommand) -> String {
        PurchaseOrder::stream(command.id())
    }

    fn evolve(&mut self, event: &PurchaseOrderEvent) {
        use PurchaseOrderStatus as S;
        match event {
            PurchaseOrderEvent::Placed(e) => {
                self.status = if e.over_budget { S::AwaitingBudget } else { S::Placed };
                self.lines = e.lines.clone();
                self.received = vec![Decimal::ZERO; e.lines.len()];
                self.cancelled = vec![Decimal::ZERO; e.lines.len()];
                self.invoiced = vec![Decimal::ZERO; e.lines.len()];
                self.placed_by = Some(e.by.clone());
                self.placed = Some(e.clone());
            }
            PurchaseOrderEvent::BudgetApproved(_) => self.status = S::Placed,
            PurchaseOrderEvent::Approved(_) => self.status = S::Approved,
            PurchaseOrderEvent::Amended(e) => {
                self.status = if e.over_budget { S::AwaitingBudget } else { S::Placed };
                self.lines = e.lines.clone();
                self.received = vec![Decimal::ZERO; e.lines.len()];
                self.cancelled = vec![Decimal::ZERO; e.lines.len()];
                self.invoiced = vec![Decimal::ZERO; e.lines.len()];
                self.placed_by = Some(e.by.clone());
            }
            PurchaseOrderEvent::Received(e) => {
                for line in &e.lines {
                    self.received[line.line as usize] += line.qty;
                    if e.invoice.is_some() {
                        self.invoiced[line.line as usize] += line.qty;
                    }
                }
                self.receipts.push(e.receipt);
                self.status = self.receiving_status();
            }
            PurchaseOrderEvent::RemainderCancelled(e) => {
                for (line, qty) in &e.cancelled {
                    self.cancelled[*line as usize] += qty;
                }
                self.status = self.receiving_status();
                if self.status == S::Approved {
                    // Nothing was received and nothing is outstanding any more.
                    self.status = S::Received;
                }
            }
            PurchaseOrderEvent::Closed(_) => self.status = S::Closed,
            PurchaseOrderEvent::FreightAllocated(e) => {
                self.freight.insert(e.invoice);
            }
            PurchaseOrderEvent::LineInvoiced(e) => {
                self.invoiced[e.line as usize] += e.qty;
                self.invoice_lines.insert((e.invoice, e.invoice_line));
            }
        }
    }

    fn decide(
        &self,
        command: &PurchaseOrderCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<PurchaseOrderEvent>, PurchaseOrderRejection> {
        use PurchaseOrderRejection as R;
        use PurchaseOrderStatus as S;
        let status = self.status;
        let wrong = || if status == S::New { R::NotFound } else { R::WrongStatus(status.name()) };
        match command {
            PurchaseOrderCommand::Place {
                id,
                supplier,
                warehouse,
                department,
                lines,
                requisition,
                budget_remaining,
                masters_usable,
            } => {
                if status != S::New {
                    return Err(R::AlreadyExists);
                }
                if !masters_usable {
                    return Err(R::MasterUnusable);
                }
                let (lines, amount_net) = price_lines(lines)?;
                Ok(vec![PurchaseOrderEvent::Placed(PurchaseOrderPlaced {
                    id: *id,
                    supplier: *supplier,
                    warehouse: *warehouse,
                    department: department.clone(),
                    requisition: *requisition,
                    lines,
                    amount_net,
                    by: meta.actor.clone(),
                    over_budget: amount_net > *budget_remaining,
                })])
            }
            PurchaseOrderCommand::ApproveBudget { .. } => {
                if status != S::AwaitingBudget {
                    return Err(wrong());
                }
                if !meta.has_role(Role::Finance) {
                    return Err(R::NotAllowed(Role::Finance));
                }
                Ok(vec![PurchaseOrderEvent::BudgetApproved(PurchaseOrderBudgetApproved {
                    by: meta.actor.clone(),
                })])
            }
            PurchaseOrderCommand::Approve { .. } => {
                if status != S::Placed {
                    return Err(wrong());
                }
                if !meta.has_role(Role::Purchasing) {
                    return Err(R::NotAllowed(Role::Purchasing));
                }
                if self.placed_by.as_deref() == Some(meta.actor.as_str()) {
                    return Err(R::OwnOrder(meta.actor.clone()));
                }
                Ok(vec![PurchaseOrderEvent::Approved(PurchaseOrderApproved { by: meta.actor.clone() })])
            }
            PurchaseOrderCommand::Amend { lines, budget_remaining, .. } => {
                if !matches!(status, S::AwaitingBudget | S::Placed | S::Approved) {
                    return Err(if status == S::New { R::NotFound } else { R::AlreadyReceived });
                }
                let (lines, amount_net) = price_lines(lines)?;
                Ok(vec![PurchaseOrderEvent::Amended(PurchaseOrderAmended {
                    lines,
                    amount_net,
                    over_budget: amount_net > *budget_remaining,
                    by: meta.actor.clone(),
                })])
            }
            PurchaseOrderCommand::Receive { id, receipt, lines, bin, lot, tolerance, bin_known, invoice } => {
                if !matches!(status, S::Approved | S::PartiallyReceived) {
                    return Err(wrong());
                }
                if let Some(bin) = bin
                    && !bin_known
                {
                    return Err(R::UnknownBin(bin.clone()));
                }
                if self.receipts.contains(receipt) {
                    return Err(R::DuplicateReceipt(*receipt));
                }
                let mut seen: Vec<u32> = lines.iter().map(|(l, _)| *l).collect();
                seen.sort_unstable();
                seen.dedup();
                if lines.is_empty() || seen.len() != lines.len() || *tolerance < Decimal::ZERO {
                    return Err(R::InvalidReceipt);
                }
                let mut received = Vec::with_capacity(lines.len());
                for (line, qty) in lines {
                    let ordered = self.lines.get(*line as usize).ok_or(R::UnknownLine(*line))?;
                    let total = self.received[*line as usize] + qty.get();
                    let allowed = (ordered.qty - self.cancelled[*line as usize]) * (Decimal::ONE + tolerance);
                    if total > allowed {
                        return Err(R::OverReceipt {
                            line: *line,
                            receiving: qty.get(),
                            total,
                            ordered: ordered.qty,
                        });
                    }
                    received.push(ReceivedLine {
                        line: *line,
                        item: ordered.item,
                        qty: qty.get(),
                        unit_price: ordered.unit_price,
                        policy: ordered.policy.clone(),
                    });
                }
                let invoice = match invoice {
                    Some(invoice) => Some(self.invoice_with_goods(*id, invoice, &mut received)?),
                    None => None,
                };
                let placed = self.placed.as_ref().expect("placed");
                Ok(vec![PurchaseOrderEvent::Received(GoodsReceived {
                    id: *id,
                    receipt: *receipt,
                    warehouse: placed.warehouse,
                    supplier: placed.supplier,
                    lines: received,
                    bin: bin.clone(),
                    lot: lot.clone(),
                    by: meta.actor.clone(),
                    invoice,
                })])
            }
            PurchaseOrderCommand::CancelRemainder { reason, .. } => {
                if !matches!(status, S::Placed | S::Approved | S::PartiallyReceived | S::AwaitingBudget) {
                    return Err(wrong());
                }
                let cancelled: Vec<(u32, Decimal)> = (0..self.lines.len())
                    .filter(|&i| self.outstanding(i) > Decimal::ZERO)
                    .map(|i| (i as u32, self.outstanding(i)))
                    .collect();
                Ok(vec![PurchaseOrderEvent::RemainderCancelled(PurchaseOrderRemainderCancelled {
                    cancelled,
                    reason: reason.clone(),
                    by: meta.actor.clone(),
                })])
            }
            PurchaseOrderCommand::RecordInvoiced { invoice, invoice_line, line, qty, difference, .. } => {
                if status == S::New {
                    return Err(R::NotFound);
                }
                if self.invoice_lines.contains(&(*invoice, *invoice_line)) {
                    return Ok(Vec::new());
                }
                let ordered = self.lines.get(*line as usize).ok_or(R::UnknownLine(*line))?;
                let placed = self.placed.as_ref().expect("placed");
                Ok(vec![PurchaseOrderEvent::LineInvoiced(PurchaseOrderLineInvoiced {
                    invoice: *invoice,
                    invoice_line: *invoice_line,
                    line: *line,
                    item: ordered.item,
                    warehouse: placed.warehouse,
                    qty: *qty,
                    difference: *difference,
                })])
            }
            PurchaseOrderCommand::AllocateFreight { invoice, amount, .. } => {
                if status == S::New {
                    return Err(R::NotFound);
                }
                if self.freight.contains(invoice) {
                    return Ok(Vec::new());
                }
                let anything_received = self.received.iter().any(|r| *r > Decimal::ZERO);
                let basis: Vec<(usize, Decimal)> = self
                    .lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (i, if anything_received { self.received[i] } else { l.qty }))
                    .filter(|(_, qty)| *qty > Decimal::ZERO)
                    .collect();
                let value = |i: usize, qty: Decimal| qty * self.lines[i].unit_price;
                let total: Decimal = basis.iter().map(|&(i, qty)| value(i, qty)).sum();
                let mut shares = Vec::with_capacity(basis.len());
                let mut left = *amount;
                for (n, &(i, qty)) in basis.iter().enumerate() {
                    let share = if n + 1 == basis.len() {
                        left
                    } else if total.is_zero() {
                        crate::values::round_money(*amount * qty / basis.iter().map(|b| b.1).sum::<Decimal>())
                    } else {
                        crate::values::round_money(*amount * value(i, qty) / total)
                    };
                    left -= share;
                    shares.push(FreightShare {
                        line: i as u32,
                        item: self.lines[i].item,
                        qty,
                        amount: share,
                    });
                }
                Ok(vec![PurchaseOrderEvent::FreightAllocated(PurchaseOrderFreightAllocated {
                    invoice: *invoice,
                    warehouse: self.placed.as_ref().expect("placed").warehouse,
                    amount: *amount,
                    shares,
                })])
            }
            PurchaseOrderCommand::Close { .. } => match status {
                S::Received => {
                    Ok(vec![PurchaseOrderEvent::Closed(PurchaseOrderClosed { by: meta.actor.clone() })])
                }
                S::Approved | S::PartiallyReceived | S::Placed | S::AwaitingBudget => Err(R::Outstanding),
                _ => Err(wrong()),
            },
        }
    }
}

#[cfg(test)]
mod tests;

//! SalesOrder: placed from a channel with lines and their prices, checked against the customer's credit,
//! reserved line by line (by the order-fulfilment process manager), then confirmed, cancelled or closed.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection};
use crate::ids::{ItemId, PartnerId, SalesOrderId, WarehouseId};
use crate::values::{Quantity, UnitAmount, line_amounts};

/// Most lines in one sales order.
pub const ORDER_LINES_MAX: usize = 500;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    /// A business customer buying on account: the credit limit applies.
    Direct,
    /// A physical shop: paid at the counter.
    Store { store: String },
    /// An online platform; its order id makes placement idempotent (see `platform.rs`).
    Online { platform: String, platform_order_id: String },
}

impl Channel {
    /// The name reports group orders under: `direct`, `store`, or the platform's name.
    pub fn segment(&self) -> &str {
        match self {
            Channel::Direct => "direct",
            Channel::Store { .. } => "store",
            Channel::Online { platform, .. } => platform,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct OrderLineInput {
    pub item: ItemId,
    pub qty: Quantity,
    /// Net unit price (before VAT).
    pub unit_price: UnitAmount,
    pub vat_rate: Decimal,
    /// From the item master: who to buy from when the line is short.
    pub default_supplier: Option<PartnerId>,
    /// Where the line ships from; `None` means the order's warehouse. Routing (`routing.rs`) fills it.
    pub warehouse: Option<WarehouseId>,
}

/// What the customer owes and may owe, read from receivables when the order is placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditFacts {
    pub limit: Decimal,
    pub open_receivables: Decimal,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SalesOrderCommand {
    Place {
        id: SalesOrderId,
        customer: PartnerId,
        channel: Channel,
        warehouse: WarehouseId,
        lines: Vec<OrderLineInput>,
        credit: CreditFacts,
        /// Whether the customer and every item are active masters (read when the order is placed).
        masters_usable: bool,
    },
    /// From order fulfilment: what stock held for a line, and what it could not.
    RecordReservation {
        id: SalesOrderId,
        line: u32,
        reserved: Decimal,
        backordered: Decimal,
    },
    /// From shipping: goods of a line left the warehouse.
    RecordShipment {
        id: SalesOrderId,
        line: u32,
        qty: Decimal,
    },
    Confirm {
        id: SalesOrderId,
    },
    Cancel {
        id: SalesOrderId,
        reason: String,
    },
    Close {
        id: SalesOrderId,
    },
}

impl SalesOrderCommand {
    pub fn id(&self) -> SalesOrderId {
        match self {
            SalesOrderCommand::Place { id, .. }
            | SalesOrderCommand::RecordReservation { id, .. }
            | SalesOrderCommand::RecordShipment { id, .. }
            | SalesOrderCommand::Confirm { id }
            | SalesOrderCommand::Cancel { id, .. }
            | SalesOrderCommand::Close { id } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub line: u32,
    pub item: ItemId,
    pub qty: Decimal,
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
    /// `round_half_up(qty × unit_price, 2)`.
    pub amount_net: Decimal,
    /// `round_half_up(amount_net × vat_rate, 2)`, per line as accounting.md prescribes.
    pub amount_tax: Decimal,
    pub default_supplier: Option<PartnerId>,
    /// The warehouse the line is reserved and shipped from.
    pub warehouse: WarehouseId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrderPlaced {
    pub id: SalesOrderId,
    pub customer: PartnerId,
    pub channel: Channel,
    pub warehouse: WarehouseId,
    pub lines: Vec<OrderLine>,
    pub amount_net: Decimal,
    pub amount_tax: Decimal,
    pub amount_gross: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrderLineReserved {
    pub line: u32,
    pub qty: Decimal,
}

/// Carries what a requisition for the shortage needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrderLineBackordered {
    pub id: SalesOrderId,
    pub line: u32,
    pub item: ItemId,
    pub qty: Decimal,
    pub default_supplier: Option<PartnerId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrderReadyToPick {
    pub id: SalesOrderId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrderLineShipped {
    pub line: u32,
    pub qty: Decimal,
}

/// Every line shipped in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrderShipped {
    pub id: SalesOrderId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrderConfirmed {
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrderCancelled {
    pub id: SalesOrderId,
    pub by: String,
    pub reason: String,
    /// The lines still holding stock (reserved and not shipped), so their reservations can be released.
    pub held: Vec<HeldLine>,
}

/// A line's goods still held in a warehouse when the order is cancelled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldLine {
    pub line: u32,
    pub item: ItemId,
    pub warehouse: WarehouseId,
}

/// Stock reserved for a line after the order was cancelled or closed (the cancellation and the
/// reservation crossed): the order does not want it, so the reservation is to be released.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrderReservationReturned {
    pub id: SalesOrderId,
    pub line: u32,
    pub item: ItemId,
    pub warehouse: WarehouseId,
    pub qty: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrderClosed {
    pub by: String,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum SalesOrderEvent {
        Placed(SalesOrderPlaced) = "sales.SalesOrderPlaced" v 1,
        LineReserved(SalesOrderLineReserved) = "sales.SalesOrderLineReserved" v 1,
        LineBackordered(SalesOrderLineBackordered) = "sales.SalesOrderLineBackordered" v 1,
        ReadyToPick(SalesOrderReadyToPick) = "sales.SalesOrderReadyToPick" v 1,
        Confirmed(SalesOrderConfirmed) = "sales.SalesOrderConfirmed" v 1,
        Cancelled(SalesOrderCancelled) = "sales.SalesOrderCancelled" v 1,
        Closed(SalesOrderClosed) = "sales.SalesOrderClosed" v 1,
        LineShipped(SalesOrderLineShipped) = "sales.SalesOrderLineShipped" v 1,
        Shipped(SalesOrderShipped) = "sales.SalesOrderShipped" v 1,
        ReservationReturned(SalesOrderReservationReturned) = "sales.SalesOrderReservationReturned" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SalesOrderRejection {
    #[error("the sales order already exists")]
    AlreadyExists,
    #[error("the sales order does not exist")]
    NotFound,
    #[error("a sales order has 1 to {ORDER_LINES_MAX} lines")]
    InvalidLines,
    #[error("VAT rate {0} is not one of 0, 1 %, 3 %, 6 %, 9 %, 13 %")]
    InvalidVatRate(Decimal),
    #[error("the customer or an item is deactivated")]
    MasterUnusable,
    #[error("credit limit {limit} exceeded: {open} open plus {order} for this order")]
    CreditLimitExceeded { limit: Decimal, open: Decimal, order: Decimal },
    #[error("the sales order is {0}; that is not possible now")]
    WrongStatus(&'static str),
    #[error("line {0} does not exist")]
    UnknownLine(u32),
    #[error("line {line} would account for {accounted} of its {ordered}")]
    OverAccounted { line: u32, accounted: Decimal, ordered: Decimal },
    #[error("a platform and a platform order id are 1 to 64 characters")]
    InvalidPlatformOrder,
    #[error("line {line} would ship {shipped} of its {ordered}")]
    OverShipped { line: u32, shipped: Decimal, ordered: Decimal },
}

impl Rejection for SalesOrderRejection {
    fn code(&self) -> &'static str {
        match self {
            SalesOrderRejection::AlreadyExists => "sales.order_exists",
            SalesOrderRejection::NotFound => "sales.order_not_found",
            SalesOrderRejection::InvalidLines => "sales.invalid_lines",
            SalesOrderRejection::InvalidVatRate(_) => "sales.invalid_vat_rate",
            SalesOrderRejection::MasterUnusable => "sales.master_unusable",
            SalesOrderRejection::CreditLimitExceeded { .. } => "sales.credit_limit_exceeded",
            SalesOrderRejection::WrongStatus(_) => "sales.wrong_status",
            SalesOrderRejection::UnknownLine(_) => "sales.unknown_line",
            SalesOrderRejection::OverAccounted { .. } => "sales.line_over_accounted",
            SalesOrderRejection::InvalidPlatformOrder => "sales.invalid_platform_order",
            SalesOrderRejection::OverShipped { .. } => "sales.line_over_shipped",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SalesOrderStatus {
    #[default]
    New,
    Placed,
    Confirmed,
    Cancelled,
    Closed,
}

impl SalesOrderStatus {
    fn name(self) -> &'static str {
        match self {
            SalesOrderStatus::New => "new",
            SalesOrderStatus::Placed => "placed",
            SalesOrderStatus::Confirmed => "confirmed",
            SalesOrderStatus::Cancelled => "cancelled",
            SalesOrderStatus::Closed => "closed",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SalesOrder {
    pub id: Option<SalesOrderId>,
    /// Who ordered (a return against the order's shipments must come from them).
    pub customer: Option<PartnerId>,
    pub status: SalesOrderStatus,
    pub lines: Vec<OrderLine>,
    pub reserved: Vec<Decimal>,
    pub backordered: Vec<Decimal>,
    pub ready_to_pick: bool,
    pub shipped: Vec<Decimal>,
    pub fully_shipped: bool,
    pub amount_gross: Decimal,
}

impl Aggregate for SalesOrder {
    type Command = SalesOrderCommand;
    type Event = SalesOrderEvent;
    type Rejection = SalesOrderRejection;

    fn stream_id(command: &SalesOrderCommand) -> String {
        format!("sales-order-{}", command.id())
    }

    fn evolve(&mut self, event: &SalesOrderEvent) {
        match event {
            SalesOrderEvent::Placed(e) => {
                self.id = Some(e.id);
                self.customer = Some(e.customer);
                self.status = SalesOrderStatus::Placed;
                self.lines = e.lines.clone();
                self.reserved = vec![Decimal::ZERO; e.lines.len()];
                self.backordered = vec![Decimal::ZERO; e.lines.len()];
                self.shipped = vec![Decimal::ZERO; e.lines.len()];
                self.amount_gross = e.amount_gross;
            }
            SalesOrderEvent::LineReserved(e) => self.reserved[e.line as usize] += e.qty,
            SalesOrderEvent::LineBackordered(e) => self.backordered[e.line as usize] += e.qty,
            SalesOrderEvent::ReadyToPick(_) => self.ready_to_pick = true,
            SalesOrderEvent::Confirmed(_) => self.status = SalesOrderStatus::Confirmed,
            SalesOrderEvent::Cancelled(_) => self.status = SalesOrderStatus::Cancelled,
            SalesOrderEvent::Closed(_) => self.status = SalesOrderStatus::Closed,
            SalesOrderEvent::LineShipped(e) => self.shipped[e.line as usize] += e.qty,
            SalesOrderEvent::Shipped(_) => self.fully_shipped = true,
            // The line never held the stock; the reservation goes back to the warehouse.
            SalesOrderEvent::ReservationReturned(_) => {}
        }
        for (i, line) in self.lines.iter().enumerate() {
            assert!(
                self.reserved[i] + self.backordered[i] <= line.qty,
                "a line never accounts for more than ordered"
            );
        }
    }

    fn decide(
        &self,
        command: &SalesOrderCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<SalesOrderEvent>, SalesOrderRejection> {
        use SalesOrderRejection as R;
        use SalesOrderStatus as S;
        let wrong = |status: S| if status == S::New { R::NotFound } else { R::WrongStatus(status.name()) };
        match command {
            SalesOrderCommand::Place { id, customer, channel, warehouse, lines, credit, masters_usable } => {
                if self.status != S::New {
                    return Err(R::AlreadyExists);
                }
                if lines.is_empty() || lines.len() > ORDER_LINES_MAX {
                    return Err(R::InvalidLines);
                }
                if !masters_usable {
                    return Err(R::MasterUnusable);
                }
                let mut placed = Vec::with_capacity(lines.len());
                for (i, input) in lines.iter().enumerate() {
                    if !crate::values::is_vat_rate(input.vat_rate) {
                        return Err(R::InvalidVatRate(input.vat_rate));
                    }
                    let (amount_net, amount_tax) =
                        line_amounts(input.qty.get(), input.unit_price.get(), input.vat_rate);
                    placed.push(OrderLine {
                        line: i as u32,
                        item: input.item,
                        qty: input.qty.get(),
                        unit_price: input.unit_price.get(),
                        vat_rate: input.vat_rate,
                        amount_net,
                        amount_tax,
                        default_supplier: input.default_supplier,
                        warehouse: input.warehouse.unwrap_or(*warehouse),
                    });
                }
                let amount_net: Decimal = placed.iter().map(|l| l.amount_net).sum();
                let amount_tax: Decimal = placed.iter().map(|l| l.amount_tax).sum();
                let amount_gross = amount_net + amount_tax;
                if *channel == Channel::Direct && credit.open_receivables + amount_gross > credit.limit {
                    return Err(R::CreditLimitExceeded {
                        limit: credit.limit,
                        open: credit.open_receivables,
                        order: amount_gross,
                    });
                }
                Ok(vec![SalesOrderEvent::Placed(SalesOrderPlaced {
                    id: *id,
                    customer: *customer,
                    channel: channel.clone(),
                    warehouse: *warehouse,
                    lines: placed,
                    amount_net,
                    amount_tax,
                    amount_gross,
                })])
            }
            SalesOrderCommand::RecordReservation { id, line, reserved, backordered } => {
                match self.status {
                    S::Placed | S::Confirmed => {}
                    // A late answer from stock for an order that was cancelled or closed: a shortage
                    // changes nothing; stock reserved meanwhile is handed back, or it would stay held.
                    S::Cancelled | S::Closed => {
                        let Some(ordered) = self.lines.get(*line as usize) else { return Ok(Vec::new()) };
                        if *reserved <= Decimal::ZERO {
                            return Ok(Vec::new());
                        }
                        return Ok(vec![SalesOrderEvent::ReservationReturned(
                            SalesOrderReservationReturned {
                                id: *id,
                                line: *line,
                                item: ordered.item,
                                warehouse: ordered.warehouse,
                                qty: *reserved,
                            },
                        )]);
                    }
                    S::New => return Err(R::NotFound),
                }
                let i = *line as usize;
                let ordered = self.lines.get(i).ok_or(R::UnknownLine(*line))?;
                let accounted = self.reserved[i] + self.backordered[i] + reserved + backordered;
                if accounted > ordered.qty || *reserved < Decimal::ZERO || *backordered < Decimal::ZERO {
                    return Err(R::OverAccounted { line: *line, accounted, ordered: ordered.qty });
                }
                let mut events = Vec::new();
                if *reserved > Decimal::ZERO {
                    events.push(SalesOrderEvent::LineReserved(SalesOrderLineReserved {
                        line: *line,
                        qty: *reserved,
                    }));
                }
                if *backordered > Decimal::ZERO {
                    events.push(SalesOrderEvent::LineBackordered(SalesOrderLineBackordered {
                        id: *id,
                        line: *line,
                        item: ordered.item,
                        qty: *backordered,
                        default_supplier: ordered.default_supplier,
                    }));
                }
                let all_reserved = self.lines.iter().enumerate().all(|(j, l)| {
                    let reserved_j = self.reserved[j] + if j == i { *reserved } else { Decimal::ZERO };
                    reserved_j == l.qty
                });
                if all_reserved && !self.ready_to_pick {
                    events.push(SalesOrderEvent::ReadyToPick(SalesOrderReadyToPick { id: *id }));
                }
                Ok(events)
            }
            SalesOrderCommand::RecordShipment { id, line, qty } => {
                if self.status == S::New {
                    return Err(R::NotFound);
                }
                let i = *line as usize;
                let ordered = self.lines.get(i).ok_or(R::UnknownLine(*line))?;
                let shipped = self.shipped[i] + qty;
                if shipped > ordered.qty || *qty <= Decimal::ZERO {
                    return Err(R::OverShipped { line: *line, shipped, ordered: ordered.qty });
                }
                let mut events =
                    vec![SalesOrderEvent::LineShipped(SalesOrderLineShipped { line: *line, qty: *qty })];
                let all_shipped = self.lines.iter().enumerate().all(|(j, l)| {
                    let shipped_j = self.shipped[j] + if j == i { *qty } else { Decimal::ZERO };
                    shipped_j == l.qty
                });
                if all_shipped && !self.fully_shipped {
                    events.push(SalesOrderEvent::Shipped(SalesOrderShipped { id: *id }));
                }
                Ok(events)
            }
            SalesOrderCommand::Confirm { .. } => {
                if self.status != S::Placed {
                    return Err(wrong(self.status));
                }
                Ok(vec![SalesOrderEvent::Confirmed(SalesOrderConfirmed { by: meta.actor.clone() })])
            }
            SalesOrderCommand::Cancel { id, reason } => {
                if !matches!(self.status, S::Placed | S::Confirmed) {
                    return Err(wrong(self.status));
                }
                let held = self
                    .lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| self.reserved[*i] > self.shipped[*i])
                    .map(|(_, l)| HeldLine { line: l.line, item: l.item, warehouse: l.warehouse })
                    .collect();
                Ok(vec![SalesOrderEvent::Cancelled(SalesOrderCancelled {
                    id: *id,
                    by: meta.actor.clone(),
                    reason: reason.clone(),
                    held,
                })])
            }
            SalesOrderCommand::Close { .. } => {
                if self.status != S::Confirmed {
                    return Err(wrong(self.status));
                }
                Ok(vec![SalesOrderEvent::Closed(SalesOrderClosed { by: meta.actor.clone() })])
            }
        }
    }
}

#[cfg(test)]
mod tests;

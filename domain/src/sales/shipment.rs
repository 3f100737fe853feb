//! Shipment (销售出库 / 发货): goods for a sales order leave a warehouse.
//!
//! created (lines to ship, from the order's reserved lines) → picked (per line, possibly less than
//! asked: a partial shipment) → shipped (`GoodsShipped`, the fact the shipping process manager turns
//! into stock issues and order updates) → costed line by line as stock reports what each issue took.
//! Lots are chosen by the stock item when it issues (oldest first), so the shipment records them after.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection};
use crate::ids::{ItemId, ReservationId, SalesInvoiceId, SalesOrderId, ShipmentId, WarehouseId};
use crate::values::Quantity;

/// Most lines on one shipment.
pub const SHIPMENT_LINES_MAX: usize = 500;

#[derive(Clone, Debug, PartialEq)]
pub struct ShipmentLineInput {
    pub order_line: u32,
    pub item: ItemId,
    pub qty: Quantity,
    /// The reservation the goods were held under.
    pub reservation: Option<ReservationId>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ShipmentCommand {
    Create {
        id: ShipmentId,
        order: SalesOrderId,
        warehouse: WarehouseId,
        lines: Vec<ShipmentLineInput>,
    },
    /// Quantities picked per shipment line, in line order; less than asked ships partially, zero skips.
    Pick {
        id: ShipmentId,
        picked: Vec<Decimal>,
    },
    Ship {
        id: ShipmentId,
    },
    /// From shipping: stock issued a line and took this cost.
    RecordIssued {
        id: ShipmentId,
        line: u32,
        value: Decimal,
    },
    /// An invoice claims the shipment, so no other invoice can bill it again.
    ClaimForInvoice {
        id: ShipmentId,
        invoice: SalesInvoiceId,
    },
}

impl ShipmentCommand {
    pub fn id(&self) -> ShipmentId {
        match self {
            ShipmentCommand::Create { id, .. }
            | ShipmentCommand::Pick { id, .. }
            | ShipmentCommand::Ship { id }
            | ShipmentCommand::RecordIssued { id, .. }
            | ShipmentCommand::ClaimForInvoice { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentLine {
    pub line: u32,
    pub order_line: u32,
    pub item: ItemId,
    pub qty: Decimal,
    pub reservation: Option<ReservationId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentCreated {
    pub id: ShipmentId,
    pub order: SalesOrderId,
    pub warehouse: WarehouseId,
    pub lines: Vec<ShipmentLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentPicked {
    pub picked: Vec<Decimal>,
    pub by: String,
}

/// Everything the shipping process manager needs: the order, the warehouse and what left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoodsShipped {
    pub id: ShipmentId,
    pub order: SalesOrderId,
    pub warehouse: WarehouseId,
    pub lines: Vec<ShipmentLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentLineIssued {
    pub line: u32,
    pub value: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentCosted {
    pub id: ShipmentId,
    pub value: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentInvoiceClaimed {
    pub invoice: SalesInvoiceId,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum ShipmentEvent {
        Created(ShipmentCreated) = "sales.ShipmentCreated" v 1,
        Picked(ShipmentPicked) = "sales.ShipmentPicked" v 1,
        Shipped(GoodsShipped) = "sales.GoodsShipped" v 1,
        LineIssued(ShipmentLineIssued) = "sales.ShipmentLineIssued" v 1,
        Costed(ShipmentCosted) = "sales.ShipmentCosted" v 1,
        InvoiceClaimed(ShipmentInvoiceClaimed) = "sales.ShipmentInvoiceClaimed" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShipmentRejection {
    #[error("the shipment already exists")]
    AlreadyExists,
    #[error("the shipment does not exist")]
    NotFound,
    #[error("a shipment has 1 to {SHIPMENT_LINES_MAX} lines")]
    InvalidLines,
    #[error("the shipment is {0}; that is not possible now")]
    WrongStatus(&'static str),
    #[error("picked quantities must be one per line, between zero and what the line asks")]
    InvalidPick,
    #[error("nothing was picked")]
    NothingPicked,
    #[error("line {0} was not shipped, or its cost is recorded already")]
    NothingToCost(u32),
    #[error("the shipment is already billed by invoice {0}")]
    AlreadyInvoiced(SalesInvoiceId),
}

impl Rejection for ShipmentRejection {
    fn code(&self) -> &'static str {
        match self {
            ShipmentRejection::AlreadyExists => "shipment.already_exists",
            ShipmentRejection::NotFound => "shipment.not_found",
            ShipmentRejection::InvalidLines => "shipment.invalid_lines",
            ShipmentRejection::WrongStatus(_) => "shipment.wrong_status",
            ShipmentRejection::InvalidPick => "shipment.invalid_pick",
            ShipmentRejection::NothingPicked => "shipment.nothing_picked",
            ShipmentRejection::NothingToCost(_) => "shipment.nothing_to_cost",
            ShipmentRejection::AlreadyInvoiced(_) => "shipment.already_invoiced",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShipmentStatus {
    #[default]
    New,
    Created,
    Picked,
    Shipped,
    Costed,
}

impl ShipmentStatus {
    fn name(self) -> &'static str {
        match self {
            ShipmentStatus::New => "new",
            ShipmentStatus::Created => "created",
            ShipmentStatus::Picked => "picked",
            ShipmentStatus::Shipped => "shipped",
            ShipmentStatus::Costed => "costed",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shipment {
    pub status: ShipmentStatus,
    pub order: Option<SalesOrderId>,
    pub warehouse: Option<WarehouseId>,
    pub lines: Vec<ShipmentLine>,
    pub picked: Vec<Decimal>,
    /// Lines that left, and their cost once stock reported it.
    pub shipped: Vec<ShipmentLine>,
    pub costs: Vec<(u32, Decimal)>,
    pub invoice: Option<SalesInvoiceId>,
}

impl Aggregate for Shipment {
    type Command = ShipmentCommand;
    type Event = ShipmentEvent;
    type Rejection = ShipmentRejection;

    fn stream_id(command: &ShipmentCommand) -> String {
        format!("shipment-{}", command.id())
    }

    fn evolve(&mut self, event: &ShipmentEvent) {
        match event {
            ShipmentEvent::Created(e) => {
                self.status = ShipmentStatus::Created;
                self.order = Some(e.order);
                self.warehouse = Some(e.warehouse);
                self.lines = e.lines.clone();
            }
            ShipmentEvent::Picked(e) => {
                self.status = ShipmentStatus::Picked;
                self.picked = e.picked.clone();
            }
            ShipmentEvent::Shipped(e) => {
                self.status = ShipmentStatus::Shipped;
                self.shipped = e.lines.clone();
            }
            ShipmentEvent::LineIssued(e) => self.costs.push((e.line, e.value)),
            ShipmentEvent::Costed(_) => self.status = ShipmentStatus::Costed,
            ShipmentEvent::InvoiceClaimed(e) => self.invoice = Some(e.invoice),
        }
    }

    fn decide(
        &self,
        command: &ShipmentCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<ShipmentEvent>, ShipmentRejection> {
        use ShipmentRejection as R;
        use ShipmentStatus as S;
        let expect = |wanted: S| match self.status {
            status if status == wanted => Ok(()),
            S::New => Err(R::NotFound),
            status => Err(R::WrongStatus(status.name())),
        };
        match command {
            ShipmentCommand::Create { id, order, warehouse, lines } => {
                if self.status != S::New {
                    return Err(R::AlreadyExists);
                }
                if lines.is_empty() || lines.len() > SHIPMENT_LINES_MAX {
                    return Err(R::InvalidLines);
                }
                let lines = lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| ShipmentLine {
                        line: i as u32,
                        order_line: l.order_line,
                        item: l.item,
                        qty: l.qty.get(),
                        reservation: l.reservation,
                    })
                    .collect();
                Ok(vec![ShipmentEvent::Created(ShipmentCreated {
                    id: *id,
                    order: *order,
                    warehouse: *warehouse,
                    lines,
                })])
            }
            ShipmentCommand::Pick { picked, .. } => {
                expect(S::Created)?;
                let valid = picked.len() == self.lines.len()
                    && picked.iter().zip(&self.lines).all(|(p, l)| *p >= Decimal::ZERO && *p <= l.qty);
                if !valid {
                    return Err(R::InvalidPick);
                }
                if picked.iter().all(|p| p.is_zero()) {
                    return Err(R::NothingPicked);
                }
                Ok(vec![ShipmentEvent::Picked(ShipmentPicked {
                    picked: picked.clone(),
                    by: meta.actor.clone(),
                })])
            }
            ShipmentCommand::Ship { id } => {
                expect(S::Picked)?;
                let lines = self
                    .lines
                    .iter()
                    .zip(&self.picked)
                    .filter(|(_, picked)| !picked.is_zero())
                    .map(|(line, picked)| ShipmentLine { qty: *picked, ..line.clone() })
                    .collect();
                Ok(vec![ShipmentEvent::Shipped(GoodsShipped {
                    id: *id,
                    order: self.order.expect("created"),
                    warehouse: self.warehouse.expect("created"),
                    lines,
                })])
            }
            ShipmentCommand::ClaimForInvoice { invoice, .. } => {
                if !matches!(self.status, S::Shipped | S::Costed) {
                    return Err(if self.status == S::New {
                        R::NotFound
                    } else {
                        R::WrongStatus(self.status.name())
                    });
                }
                match self.invoice {
                    None => {
                        Ok(vec![ShipmentEvent::InvoiceClaimed(ShipmentInvoiceClaimed { invoice: *invoice })])
                    }
                    Some(claimed) if claimed == *invoice => Ok(Vec::new()),
                    Some(claimed) => Err(R::AlreadyInvoiced(claimed)),
                }
            }
            ShipmentCommand::RecordIssued { id, line, value } => {
                expect(S::Shipped)?;
                let shipped = self.shipped.iter().any(|l| l.line == *line);
                if !shipped || self.costs.iter().any(|(l, _)| l == line) {
                    return Err(R::NothingToCost(*line));
                }
                let mut events =
                    vec![ShipmentEvent::LineIssued(ShipmentLineIssued { line: *line, value: *value })];
                if self.costs.len() + 1 == self.shipped.len() {
                    let total = self.costs.iter().map(|(_, v)| *v).sum::<Decimal>() + value;
                    events.push(ShipmentEvent::Costed(ShipmentCosted { id: *id, value: total }));
                }
                Ok(events)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn meta() -> CommandMeta {
        crate::testing::meta("picker")
    }

    fn id() -> ShipmentId {
        ShipmentId(Uuid::from_u128(3))
    }

    fn create() -> ShipmentCommand {
        let line = |n: u32, qty: u32| ShipmentLineInput {
            order_line: n,
            item: ItemId(Uuid::from_u128(10 + n as u128)),
            qty: Quantity::units(qty),
            reservation: Some(ReservationId(Uuid::from_u128(20 + n as u128))),
        };
        ShipmentCommand::Create {
            id: id(),
            order: SalesOrderId(Uuid::from_u128(4)),
            warehouse: WarehouseId(Uuid::from_u128(5)),
            lines: vec![line(0, 3), line(1, 2)],
        }
    }

    fn run(commands: &[ShipmentCommand]) -> (Shipment, Result<Vec<ShipmentEvent>, ShipmentRejection>) {
        let (last, steps) = commands.split_last().expect("at least one command");
        let outcome = crate::testing::given_by::<Shipment>("picker", steps).when(&meta(), last);
        (outcome.after, outcome.result)
    }

    fn d(n: i64) -> Decimal {
        Decimal::from(n)
    }

    #[test]
    fn a_partial_pick_ships_only_what_was_picked() {
        let (_, result) = run(&[
            create(),
            ShipmentCommand::Pick { id: id(), picked: vec![d(2), d(0)] },
            ShipmentCommand::Ship { id: id() },
        ]);
        let events = result.unwrap();
        let ShipmentEvent::Shipped(shipped) = &events[0] else { panic!() };
        assert_eq!(shipped.lines.len(), 1);
        assert_eq!((shipped.lines[0].qty, shipped.lines[0].order_line), (d(2), 0));
    }

    #[test]
    fn picks_are_checked_against_the_lines() {
        let (_, over) = run(&[create(), ShipmentCommand::Pick { id: id(), picked: vec![d(4), d(0)] }]);
        assert_eq!(over.unwrap_err().code(), "shipment.invalid_pick");
        let (_, short) = run(&[create(), ShipmentCommand::Pick { id: id(), picked: vec![d(1)] }]);
        assert_eq!(short.unwrap_err().code(), "shipment.invalid_pick");
        let (_, none) = run(&[create(), ShipmentCommand::Pick { id: id(), picked: vec![d(0), d(0)] }]);
        assert_eq!(none.unwrap_err().code(), "shipment.nothing_picked");
        let (_, unpicked) = run(&[create(), ShipmentCommand::Ship { id: id() }]);
        assert_eq!(unpicked.unwrap_err().code(), "shipment.wrong_status");
    }

    #[test]
    fn the_shipment_is_costed_when_every_shipped_line_reports_its_cost_once() {
        let shipped = [
            create(),
            ShipmentCommand::Pick { id: id(), picked: vec![d(3), d(2)] },
            ShipmentCommand::Ship { id: id() },
        ];
        let mut steps = shipped.to_vec();
        steps.push(ShipmentCommand::RecordIssued { id: id(), line: 0, value: Decimal::new(3600, 2) });
        let (state, _) = run(&steps);
        assert_eq!(
            state
                .decide(&ShipmentCommand::RecordIssued { id: id(), line: 0, value: d(1) }, &meta())
                .unwrap_err()
                .code(),
            "shipment.nothing_to_cost"
        );
        let events = state
            .decide(
                &ShipmentCommand::RecordIssued { id: id(), line: 1, value: Decimal::new(2400, 2) },
                &meta(),
            )
            .unwrap();
        assert!(matches!(events.last(), Some(ShipmentEvent::Costed(c)) if c.value == d(60)));
    }

    #[test]
    fn a_shipment_is_created_once_with_lines() {
        let (_, twice) = run(&[create(), create()]);
        assert_eq!(twice.unwrap_err().code(), "shipment.already_exists");
        let empty = ShipmentCommand::Create {
            id: id(),
            order: SalesOrderId(Uuid::from_u128(4)),
            warehouse: WarehouseId(Uuid::from_u128(5)),
            lines: vec![],
        };
        assert_eq!(run(&[empty]).1.unwrap_err().code(), "shipment.invalid_lines");
        assert_eq!(run(&[ShipmentCommand::Ship { id: id() }]).1.unwrap_err().code(), "shipment.not_found");
    }
}

//! StockTransfer (调拨): goods move between two warehouses in two steps with goods in transit between.
//!
//! created → dispatched (the transfer process manager takes each line out of the sending stock, which
//! reports the cost and lots it took) → in transit once every line is out → received at the other end
//! (each line comes into the receiving stock at the cost and lots it left with) → completed once every
//! line is in. No voucher: the goods stay in 1405 throughout, the cost moves with them.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::stock::{LotTake, StockPolicy};
use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection};
use crate::ids::{ItemId, TransferId, WarehouseId};
use crate::values::Quantity;

/// Most lines in one transfer.
pub const TRANSFER_LINES_MAX: usize = 500;

#[derive(Clone, Debug, PartialEq)]
pub struct TransferLineInput {
    pub item: ItemId,
    pub qty: Quantity,
    /// The item's stock policy, should the receiving warehouse not hold the item yet.
    pub policy: StockPolicy,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TransferCommand {
    Create {
        id: TransferId,
        from: WarehouseId,
        to: WarehouseId,
        lines: Vec<TransferLineInput>,
        /// Whether both warehouses and every item are active masters (read at the edge).
        masters_usable: bool,
    },
    Dispatch {
        id: TransferId,
    },
    /// From the transfer process manager: a line left the sending stock with this cost and these lots.
    RecordOut {
        id: TransferId,
        line: u32,
        value: Decimal,
        lots: Vec<LotTake>,
    },
    /// The goods arrived at the receiving warehouse.
    Receive {
        id: TransferId,
    },
    /// From the transfer process manager: a line entered the receiving stock.
    RecordIn {
        id: TransferId,
        line: u32,
    },
}

impl TransferCommand {
    pub fn id(&self) -> TransferId {
        match self {
            TransferCommand::Create { id, .. }
            | TransferCommand::Dispatch { id }
            | TransferCommand::RecordOut { id, .. }
            | TransferCommand::Receive { id }
            | TransferCommand::RecordIn { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferLine {
    pub line: u32,
    pub item: ItemId,
    pub qty: Decimal,
    pub policy: StockPolicy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferCreated {
    pub id: TransferId,
    pub from: WarehouseId,
    pub to: WarehouseId,
    pub lines: Vec<TransferLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferDispatched {
    pub id: TransferId,
    pub from: WarehouseId,
    pub to: WarehouseId,
    pub lines: Vec<TransferLine>,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferLineOut {
    pub line: u32,
    pub value: Decimal,
    pub lots: Vec<LotTake>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferInTransit {
    pub id: TransferId,
    pub value: Decimal,
}

/// A line arriving, with the cost and lots it left with: everything receiving stock needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrivingLine {
    pub line: u32,
    pub item: ItemId,
    pub qty: Decimal,
    pub value: Decimal,
    pub lots: Vec<LotTake>,
    pub policy: StockPolicy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferReceived {
    pub id: TransferId,
    pub from: WarehouseId,
    pub to: WarehouseId,
    pub lines: Vec<ArrivingLine>,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferLineIn {
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferCompleted {
    pub id: TransferId,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum TransferEvent {
        Created(TransferCreated) = "inventory.TransferCreated" v 1,
        Dispatched(TransferDispatched) = "inventory.TransferDispatched" v 1,
        LineOut(TransferLineOut) = "inventory.TransferLineOut" v 1,
        InTransit(TransferInTransit) = "inventory.TransferInTransit" v 1,
        Received(TransferReceived) = "inventory.TransferReceived" v 1,
        LineIn(TransferLineIn) = "inventory.TransferLineIn" v 1,
        Completed(TransferCompleted) = "inventory.TransferCompleted" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferRejection {
    #[error("the transfer already exists")]
    AlreadyExists,
    #[error("the transfer does not exist")]
    NotFound,
    #[error("a transfer moves 1 to {TRANSFER_LINES_MAX} distinct items between two different warehouses")]
    InvalidLines,
    #[error("the transfer is {0}; that is not possible now")]
    WrongStatus(&'static str),
    #[error("line {0} is not expected now, or was recorded already")]
    UnexpectedLine(u32),
    #[error("a warehouse or an item is deactivated")]
    MasterUnusable,
}

impl Rejection for TransferRejection {
    fn code(&self) -> &'static str {
        match self {
            TransferRejection::AlreadyExists => "transfer.already_exists",
            TransferRejection::NotFound => "transfer.not_found",
            TransferRejection::InvalidLines => "transfer.invalid_lines",
            TransferRejection::WrongStatus(_) => "transfer.wrong_status",
            TransferRejection::UnexpectedLine(_) => "transfer.unexpected_line",
            TransferRejection::MasterUnusable => "transfer.master_unusable",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransferStatus {
    #[default]
    New,
    Created,
    Dispatched,
    InTransit,
    Received,
    Completed,
}

impl TransferStatus {
    fn name(self) -> &'static str {
        match self {
            TransferStatus::New => "new",
            TransferStatus::Created => "created",
            TransferStatus::Dispatched => "dispatched",
            TransferStatus::InTransit => "in transit",
            TransferStatus::Received => "received",
            TransferStatus::Completed => "completed",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct StockTransfer {
    pub status: TransferStatus,
    pub created: Option<TransferCreated>,
    pub out: Vec<TransferLineOut>,
    pub arrived: Vec<u32>,
}

impl Aggregate for StockTransfer {
    type Command = TransferCommand;
    type Event = TransferEvent;
    type Rejection = TransferRejection;

    fn stream_id(command: &TransferCommand) -> String {
        format!("transfer-{}", command.id())
    }

    fn evolve(&mut self, event: &TransferEvent) {
        use TransferStatus as S;
        match event {
            TransferEvent::Created(e) => {
                self.status = S::Created;
                self.created = Some(e.clone());
            }
            TransferEvent::Dispatched(_) => self.status = S::Dispatched,
            TransferEvent::LineOut(e) => self.out.push(e.clone()),
            TransferEvent::InTransit(_) => self.status = S::InTransit,
            TransferEvent::Received(_) => self.status = S::Received,
            TransferEvent::LineIn(e) => self.arrived.push(e.line),
            TransferEvent::Completed(_) => self.status = S::Completed,
        }
    }

    fn decide(
        &self,
        command: &TransferCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<TransferEvent>, TransferRejection> {
        use TransferRejection as R;
        use TransferStatus as S;
        let expect = |wanted: S| match self.status {
            status if status == wanted => Ok(()),
            S::New => Err(R::NotFound),
            status => Err(R::WrongStatus(status.name())),
        };
        let lines = || self.created.as_ref().map_or(&[][..], |c| c.lines.as_slice());
        match command {
            TransferCommand::Create { id, from, to, lines, masters_usable } => {
                if self.status != S::New {
                    return Err(R::AlreadyExists);
                }
                if !masters_usable {
                    return Err(R::MasterUnusable);
                }
                let mut items: Vec<_> = lines.iter().map(|l| l.item).collect();
                items.sort();
                items.dedup();
                if from == to
                    || lines.is_empty()
                    || lines.len() > TRANSFER_LINES_MAX
                    || items.len() != lines.len()
                {
                    return Err(R::InvalidLines);
                }
                let lines = lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| TransferLine {
                        line: i as u32,
                        item: l.item,
                        qty: l.qty.get(),
                        policy: l.policy.clone(),
                    })
                    .collect();
                Ok(vec![TransferEvent::Created(TransferCreated { id: *id, from: *from, to: *to, lines })])
            }
            TransferCommand::Dispatch { id } => {
                expect(S::Created)?;
                let created = self.created.as_ref().expect("created");
                Ok(vec![TransferEvent::Dispatched(TransferDispatched {
                    id: *id,
                    from: created.from,
                    to: created.to,
                    lines: created.lines.clone(),
                    by: meta.actor.clone(),
                })])
            }
            TransferCommand::RecordOut { id, line, value, lots } => {
                expect(S::Dispatched)?;
                if *line as usize >= lines().len() || self.out.iter().any(|o| o.line == *line) {
                    return Err(R::UnexpectedLine(*line));
                }
                let mut events = vec![TransferEvent::LineOut(TransferLineOut {
                    line: *line,
                    value: *value,
                    lots: lots.clone(),
                })];
                if self.out.len() + 1 == lines().len() {
                    let total = self.out.iter().map(|o| o.value).sum::<Decimal>() + value;
                    events.push(TransferEvent::InTransit(TransferInTransit { id: *id, value: total }));
                }
                Ok(events)
            }
            TransferCommand::Receive { id } => {
                expect(S::InTransit)?;
                let created = self.created.as_ref().expect("created");
                let lines = created
                    .lines
                    .iter()
                    .map(|l| {
                        let out = self
                            .out
                            .iter()
                            .find(|o| o.line == l.line)
                            .expect("in transit means every line is out");
                        ArrivingLine {
                            line: l.line,
                            item: l.item,
                            qty: l.qty,
                            value: out.value,
                            lots: out.lots.clone(),
                            policy: l.policy.clone(),
                        }
                    })
                    .collect();
                Ok(vec![TransferEvent::Received(TransferReceived {
                    id: *id,
                    from: created.from,
                    to: created.to,
                    lines,
                    by: meta.actor.clone(),
                })])
            }
            TransferCommand::RecordIn { id, line } => {
                expect(S::Received)?;
                if *line as usize >= lines().len() || self.arrived.contains(line) {
                    return Err(R::UnexpectedLine(*line));
                }
                let mut events = vec![TransferEvent::LineIn(TransferLineIn { line: *line })];
                if self.arrived.len() + 1 == lines().len() {
                    events.push(TransferEvent::Completed(TransferCompleted { id: *id }));
                }
                Ok(events)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::CostingMethod;
    use crate::testing::{self, given};
    use uuid::Uuid;

    fn id() -> TransferId {
        TransferId(Uuid::from_u128(1))
    }

    fn create(from: u128, to: u128) -> TransferCommand {
        let policy =
            StockPolicy { costing: CostingMethod::Fifo, safety_stock: Decimal::ZERO, allow_negative: false };
        TransferCommand::Create {
            id: id(),
            from: WarehouseId(Uuid::from_u128(from)),
            to: WarehouseId(Uuid::from_u128(to)),
            lines: vec![
                TransferLineInput {
                    item: ItemId(Uuid::from_u128(10)),
                    qty: Quantity::units(2),
                    policy: policy.clone(),
                },
                TransferLineInput { item: ItemId(Uuid::from_u128(11)), qty: Quantity::units(1), policy },
            ],
            masters_usable: true,
        }
    }

    fn out(line: u32, value: i64) -> TransferCommand {
        TransferCommand::RecordOut { id: id(), line, value: Decimal::from(value), lots: vec![] }
    }

    #[test]
    fn a_transfer_is_in_transit_when_every_line_is_out_and_arrives_with_the_cost_it_left_with() {
        let dispatched = [create(2, 3), TransferCommand::Dispatch { id: id() }, out(0, 20)];
        let state = testing::given_by::<StockTransfer>("kai", &dispatched);
        let outcome = state.when(&testing::meta("p"), &out(1, 5));
        assert!(
            matches!(outcome.events().last(), Some(TransferEvent::InTransit(t)) if t.value == Decimal::from(25))
        );
        let mut steps = dispatched.to_vec();
        steps.push(out(1, 5));
        let in_transit = testing::given_by::<StockTransfer>("kai", &steps);
        let received = in_transit.when(&testing::meta("lin"), &TransferCommand::Receive { id: id() });
        let TransferEvent::Received(r) = &received.events()[0] else { panic!() };
        assert_eq!((r.lines[0].value, r.lines[1].value), (Decimal::from(20), Decimal::from(5)));
    }

    #[test]
    fn lines_are_recorded_once_and_only_in_their_step() {
        let state = testing::given_by::<StockTransfer>(
            "kai",
            &[create(2, 3), TransferCommand::Dispatch { id: id() }, out(0, 20)],
        );
        state.when(&testing::meta("p"), &out(0, 20)).rejected("transfer.unexpected_line");
        state.when(&testing::meta("p"), &out(7, 1)).rejected("transfer.unexpected_line");
        state
            .when(&testing::meta("p"), &TransferCommand::Receive { id: id() })
            .rejected("transfer.wrong_status");
        state
            .when(&testing::meta("p"), &TransferCommand::RecordIn { id: id(), line: 0 })
            .rejected("transfer.wrong_status");
    }

    #[test]
    fn a_transfer_goes_between_two_warehouses_with_distinct_items() {
        given::<StockTransfer>(&[])
            .when(&testing::meta("kai"), &create(2, 2))
            .rejected("transfer.invalid_lines");
        given::<StockTransfer>(&[])
            .when(&testing::meta("kai"), &TransferCommand::Dispatch { id: id() })
            .rejected("transfer.not_found");
    }

    #[test]
    fn a_transfer_naming_a_deactivated_warehouse_or_item_is_rejected() {
        let TransferCommand::Create { id, from, to, lines, .. } = create(2, 3) else { panic!() };
        let create = TransferCommand::Create { id, from, to, lines, masters_usable: false };
        given::<StockTransfer>(&[]).when(&testing::meta("kai"), &create).rejected("transfer.master_unusable");
    }
}

//! StockItem: the stock of one item in one warehouse, the unit of concurrency for goods.
//!
//! Two orders racing for the last unit address the same stream with an exact expected version, so only
//! one reservation can win. The state holds on-hand, reserved (by reservation id), the total value, the
//! lots in receipt order and, for FIFO items, the cost of each layer. Every event that takes goods out
//! carries the lots and the cost it took, so nothing downstream ever recomputes cost.
//!
//! Costing (accounting.md): a moving average is never rounded; the item keeps quantity and total value,
//! and taking q units takes `round_half_up(q × value ÷ quantity, 2)`, or the whole value when q is the
//! whole quantity, so no residue is left. FIFO takes layers oldest first, each partial layer rounded the
//! same way. With negative stock allowed (not the default) the part of an issue that no stock covers is
//! costed at the last receipt's unit cost, and the next receipt absorbs the difference.

use std::collections::{BTreeMap, VecDeque};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection};
use crate::ids::{ItemId, ReservationId, TransferId, WarehouseId};
use crate::values::{Code, Quantity, UnitAmount, round_money};

/// Which stock a command is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StockKey {
    pub item: ItemId,
    pub warehouse: WarehouseId,
}

impl StockKey {
    pub fn stream_id(&self) -> String {
        format!("stock-{}-{}", self.item, self.warehouse)
    }

    /// The key a stock stream is named after ([`StockKey::stream_id`]), or `None` for another stream.
    pub fn from_stream_id(stream: &str) -> Option<StockKey> {
        StockKey::from_ids(stream.strip_prefix("stock-")?)
    }

    /// The key written as `{item}-{warehouse}` (hyphenated UUIDs), as the streams named after a stock
    /// item end.
    pub(crate) fn from_ids(text: &str) -> Option<StockKey> {
        let (item, warehouse) = (text.get(..36)?, text.get(36..)?.strip_prefix('-')?);
        Some(StockKey {
            item: ItemId(uuid::Uuid::parse_str(item).ok()?),
            warehouse: WarehouseId(uuid::Uuid::parse_str(warehouse).ok()?),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CostingMethod {
    MovingAverage,
    Fifo,
}

/// How a stock item is kept; taken from the item master and the book when the stock item is opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockPolicy {
    pub costing: CostingMethod,
    /// Falling below this available quantity emits `StockFellBelowSafety`.
    pub safety_stock: Decimal,
    /// Whether reservations and issues may exceed what is on hand (the book's setting; default no).
    pub allow_negative: bool,
}

/// The business document behind a movement (drill-down from a figure to its document).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocRef {
    /// e.g. `purchasing.GoodsReceipt`, `sales.Shipment`, `inventory.Stocktake`.
    pub kind: String,
    pub id: Uuid,
    /// The line of the document, where the movement belongs to one.
    pub line: Option<u32>,
}

/// Goods taken from one lot (FIFO layer), with the cost they took (zero for moving-average items,
/// whose cost is taken from the pooled value and recorded on the event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotTake {
    pub lot: Option<String>,
    pub qty: Decimal,
    pub value: Decimal,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StockCommand {
    /// Goods arrive (purchase receipt, production completion, return). Opens the stock item if new.
    Receive {
        key: StockKey,
        policy: StockPolicy,
        qty: Quantity,
        unit_cost: UnitAmount,
        lot: Option<Code>,
        bin: Option<Code>,
        source: DocRef,
    },
    /// Holds goods for a sales order line.
    Reserve {
        key: StockKey,
        reservation: ReservationId,
        qty: Quantity,
    },
    /// Holds what is available for a document line (a sales order line) and records the rest as a
    /// shortage, a fact the order fulfilment reacts to; never refused for lack of stock. Idempotent per
    /// reservation id.
    ReserveForDocument {
        key: StockKey,
        reservation: ReservationId,
        qty: Quantity,
        for_doc: DocRef,
    },
    /// Gives back what is left of a reservation.
    Release {
        key: StockKey,
        reservation: ReservationId,
    },
    /// Goods leave (shipment, material issue), from a reservation if one is named.
    Issue {
        key: StockKey,
        qty: Quantity,
        reservation: Option<ReservationId>,
        lot: Option<Code>,
        source: DocRef,
    },
    /// First step of a transfer: goods leave for another warehouse and are in transit.
    TransferOut {
        key: StockKey,
        transfer: TransferId,
        /// The transfer document's line.
        line: u32,
        to: WarehouseId,
        qty: Quantity,
    },
    /// Second step: goods in transit arrive, at the cost and lots they left with.
    TransferIn {
        key: StockKey,
        policy: StockPolicy,
        transfer: TransferId,
        line: u32,
        from: WarehouseId,
        qty: Quantity,
        value: Decimal,
        lots: Vec<LotTake>,
    },
    /// A counted difference (stocktake) or a correction: a gain needs a unit cost unless one is known.
    Adjust {
        key: StockKey,
        policy: StockPolicy,
        qty_delta: Decimal,
        unit_cost: Option<UnitAmount>,
        reason: Code,
        source: DocRef,
        /// How a loss is settled, as approved; none for gains.
        loss: Option<LossTreatment>,
    },
    ChangePolicy {
        key: StockKey,
        policy: StockPolicy,
    },
    /// The cost of `qty` received units turned out `amount` higher (lower when negative) than they were
    /// received at: a purchase price difference or a cost added later (freight). The part that falls on
    /// goods still on hand raises their value; the rest was sold or used already and goes to cost.
    Revalue {
        key: StockKey,
        qty: Quantity,
        amount: Decimal,
        source: DocRef,
    },
}

impl StockCommand {
    pub fn key(&self) -> &StockKey {
        match self {
            StockCommand::Receive { key, .. }
            | StockCommand::Reserve { key, .. }
            | StockCommand::ReserveForDocument { key, .. }
            | StockCommand::Release { key, .. }
            | StockCommand::Issue { key, .. }
            | StockCommand::TransferOut { key, .. }
            | StockCommand::TransferIn { key, .. }
            | StockCommand::Adjust { key, .. }
            | StockCommand::ChangePolicy { key, .. }
            | StockCommand::Revalue { key, .. } => key,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockItemOpened {
    pub item: ItemId,
    pub warehouse: WarehouseId,
    pub policy: StockPolicy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockReceived {
    pub qty: Decimal,
    pub unit_cost: Decimal,
    /// `round_half_up(qty × unit_cost, 2)`: what the goods add to the stock value.
    pub value: Decimal,
    pub lot: Option<String>,
    pub bin: Option<String>,
    pub source: DocRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockReserved {
    pub reservation: ReservationId,
    pub qty: Decimal,
    /// The document line the goods are held for, when reserved through `ReserveForDocument`.
    pub for_doc: Option<DocRef>,
}

/// Part of a document's request could not be reserved: the shortage a backorder is raised for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockReservationShort {
    pub reservation: ReservationId,
    pub requested: Decimal,
    pub short: Decimal,
    pub for_doc: DocRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationReleased {
    pub reservation: ReservationId,
    pub qty: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockIssued {
    pub qty: Decimal,
    /// The cost taken out: what cost of goods sold (or WIP) is charged with.
    pub value: Decimal,
    pub takes: Vec<LotTake>,
    /// Quantity no stock covered (only where negative stock is allowed), costed at the last unit cost.
    pub uncovered_qty: Decimal,
    pub reservation: Option<ReservationId>,
    /// How much of the reservation this issue consumed.
    pub reservation_consumed: Decimal,
    pub source: DocRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockTransferredOut {
    pub transfer: TransferId,
    pub line: u32,
    pub to: WarehouseId,
    pub qty: Decimal,
    pub value: Decimal,
    pub takes: Vec<LotTake>,
    pub uncovered_qty: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockTransferredIn {
    pub transfer: TransferId,
    pub line: u32,
    pub from: WarehouseId,
    pub qty: Decimal,
    pub value: Decimal,
    pub lots: Vec<LotTake>,
}

/// How a loss (盘亏) is settled, as whoever approved it decided. A normal loss (shrinkage within the
/// usual) is a non-operating expense. An abnormal one (非正常损失: theft, loss through mismanagement) also
/// gives back the input VAT deducted when the goods were bought (进项税额转出, at the rate the goods
/// carried). What a responsible person or an insurer owes (赔偿) is receivable from them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossTreatment {
    /// The input VAT rate of the goods when the loss is abnormal; none for a normal loss.
    pub abnormal_vat_rate: Option<Decimal>,
    /// Owed by `liable`; zero when nobody owes anything.
    pub compensation: Decimal,
    /// Who owes the compensation (a person or an insurer).
    pub liable: Option<String>,
}

impl LossTreatment {
    /// A rate in [0, 1), a compensation that is neither negative nor larger than any document amount,
    /// and someone liable for any compensation.
    pub fn is_valid(&self) -> bool {
        let rate_ok = self.abnormal_vat_rate.is_none_or(|r| r >= Decimal::ZERO && r < Decimal::ONE);
        let compensation_ok = self.compensation >= Decimal::ZERO
            && self.compensation <= crate::values::DOCUMENT_AMOUNT_MAX
            && self.compensation.scale() <= 2;
        let liable_ok = self.compensation.is_zero()
            || self.liable.as_deref().is_some_and(|l| !l.trim().is_empty() && l.len() <= 200);
        rate_ok && compensation_ok && liable_ok
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockAdjusted {
    /// Positive for a gain, negative for a loss.
    pub qty_delta: Decimal,
    /// The value added (gain) or taken (loss, negative).
    pub value_delta: Decimal,
    pub unit_cost: Decimal,
    pub takes: Vec<LotTake>,
    pub reason: String,
    pub source: DocRef,
    /// Since v2: how the loss is settled (none for gains and for v1 events, which settled every loss as
    /// a normal one).
    pub loss: Option<LossTreatment>,
}

/// `inventory.StockAdjusted` v1, before losses had a treatment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockAdjustedV1 {
    pub qty_delta: Decimal,
    pub value_delta: Decimal,
    pub unit_cost: Decimal,
    pub takes: Vec<LotTake>,
    pub reason: String,
    pub source: DocRef,
}

impl From<StockAdjustedV1> for StockAdjusted {
    fn from(v1: StockAdjustedV1) -> Self {
        StockAdjusted {
            qty_delta: v1.qty_delta,
            value_delta: v1.value_delta,
            unit_cost: v1.unit_cost,
            takes: v1.takes,
            reason: v1.reason,
            source: v1.source,
            loss: None,
        }
    }
}

/// A cost difference split between the goods on hand and what already left: `to_stock + to_cost =
/// amount`. `to_stock` is `amount × covered ÷ qty` rounded half-up, where covered is what of `qty` is
/// still on hand, and never takes more value than the stock holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockRevalued {
    pub qty: Decimal,
    pub amount: Decimal,
    pub to_stock: Decimal,
    pub to_cost: Decimal,
    /// For FIFO items, what each layer took, newest layer first, one entry per layer from the newest
    /// (the newest goods are the ones the difference is about); empty for moving-average items.
    pub layers: Vec<LotTake>,
    pub source: DocRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockPolicyChanged {
    pub policy: StockPolicy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockFellBelowSafety {
    /// Which stock fell: the replenishment process manager raises its suggestion for this key.
    pub key: StockKey,
    pub available: Decimal,
    pub safety_stock: Decimal,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum StockEvent {
        Opened(StockItemOpened) = "inventory.StockItemOpened" v 1,
        Received(StockReceived) = "inventory.StockReceived" v 1,
        Reserved(StockReserved) = "inventory.StockReserved" v 1,
        Released(ReservationReleased) = "inventory.ReservationReleased" v 1,
        Issued(StockIssued) = "inventory.StockIssued" v 1,
        TransferredOut(StockTransferredOut) = "inventory.StockTransferredOut" v 1,
        TransferredIn(StockTransferredIn) = "inventory.StockTransferredIn" v 1,
        Adjusted(StockAdjusted) = "inventory.StockAdjusted" v 2 upcast [1 => StockAdjustedV1],
        PolicyChanged(StockPolicyChanged) = "inventory.StockPolicyChanged" v 1,
        FellBelowSafety(StockFellBelowSafety) = "inventory.StockFellBelowSafety" v 1,
        ReservationShort(StockReservationShort) = "inventory.StockReservationShort" v 1,
        Revalued(StockRevalued) = "inventory.StockRevalued" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockRejection {
    #[error("only {available} available, {requested} requested")]
    Insufficient { requested: Decimal, available: Decimal },
    #[error("lot {lot} holds {available}, {requested} requested")]
    InsufficientLot { lot: String, requested: Decimal, available: Decimal },
    #[error("reservation {0} already exists")]
    ReservationExists(ReservationId),
    #[error("reservation {0} does not exist or was released")]
    ReservationUnknown(ReservationId),
    #[error("this stock item has not received anything yet")]
    NotOpened,
    #[error("the command names stock {command:?} but was sent to stock {stream:?}")]
    WrongStream { command: StockKey, stream: StockKey },
    #[error(
        "the adjustment would leave {on_hand_after} on hand with {reserved} reserved; release reservations first"
    )]
    AdjustmentBelowReserved { on_hand_after: Decimal, reserved: Decimal },
    #[error("an adjustment of zero changes nothing")]
    ZeroAdjustment,
    #[error("a stock gain needs a unit cost: none was given and nothing was ever received")]
    GainWithoutCost,
    #[error("invalid stock policy: {0}")]
    InvalidPolicy(&'static str),
    #[error("a transfer must go to another warehouse")]
    TransferToSameWarehouse,
    #[error("a transfer's value and lots must be non-negative and lots must not exceed its quantity")]
    InvalidTransfer,
    #[error(
        "a loss treatment belongs to a loss, with a VAT rate in [0, 1), a compensation in cents that is not \
         negative, and someone liable for any compensation"
    )]
    InvalidLossTreatment,
    #[error("a revaluation is an amount in cents within the document limit, on a positive quantity")]
    InvalidRevaluation,
}

impl Rejection for StockRejection {
    fn code(&self) -> &'static str {
        match self {
            StockRejection::Insufficient { .. } => "stock.insufficient",
            StockRejection::InsufficientLot { .. } => "stock.insufficient_lot",
            StockRejection::ReservationExists(_) => "stock.reservation_exists",
            StockRejection::ReservationUnknown(_) => "stock.reservation_unknown",
            StockRejection::NotOpened => "stock.not_opened",
            StockRejection::WrongStream { .. } => "stock.wrong_stream",
            StockRejection::AdjustmentBelowReserved { .. } => "stock.adjustment_below_reserved",
            StockRejection::ZeroAdjustment => "stock.zero_adjustment",
            StockRejection::GainWithoutCost => "stock.gain_without_cost",
            StockRejection::InvalidPolicy(_) => "stock.invalid_policy",
            StockRejection::TransferToSameWarehouse => "stock.transfer_to_same_warehouse",
            StockRejection::InvalidTransfer => "stock.invalid_transfer",
            StockRejection::InvalidLossTreatment => "stock.invalid_loss_treatment",
            StockRejection::InvalidRevaluation => "stock.invalid_revaluation",
        }
    }
}

/// One lot (and, for FIFO, one cost layer) in receipt order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub lot: Option<String>,
    pub qty: Decimal,
    /// The layer's cost for FIFO items; always zero for moving-average items (their value is pooled).
    pub value: Decimal,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StockItem {
    pub key: Option<StockKey>,
    pub policy: Option<StockPolicy>,
    pub on_hand: Decimal,
    pub reserved: Decimal,
    /// Total value of what is on hand.
    pub value: Decimal,
    pub layers: VecDeque<Layer>,
    pub reservations: BTreeMap<ReservationId, Decimal>,
    pub last_unit_cost: Option<Decimal>,
    /// Set by `StockFellBelowSafety`, cleared when available is back at or above safety stock.
    pub below_safety_alerted: bool,
}

impl StockItem {
    pub fn available(&self) -> Decimal {
        self.on_hand - self.reserved
    }

    fn allow_negative(&self) -> bool {
        self.policy.as_ref().is_some_and(|p| p.allow_negative)
    }

    fn is_fifo(&self) -> bool {
        self.policy.as_ref().is_some_and(|p| p.costing == CostingMethod::Fifo)
    }

    /// Decides which lots and how much cost `qty` takes (oldest first, or from `lot` only).
    fn take(
        &self,
        qty: Decimal,
        lot: Option<&Code>,
    ) -> Result<(Vec<LotTake>, Decimal, Decimal), StockRejection> {
        let fifo = self.is_fifo();
        let mut takes = Vec::new();
        let mut left = qty;
        if let Some(lot) = lot {
            let in_lot: Decimal =
                self.layers.iter().filter(|l| l.lot.as_deref() == Some(lot.as_str())).map(|l| l.qty).sum();
            if in_lot < qty {
                return Err(StockRejection::InsufficientLot {
                    lot: lot.as_str().to_string(),
                    requested: qty,
                    available: in_lot,
                });
            }
        }
        for layer in &self.layers {
            if left.is_zero() {
                break;
            }
            if lot.is_some_and(|l| layer.lot.as_deref() != Some(l.as_str())) {
                continue;
            }
            let qty = left.min(layer.qty);
            let value = match (fifo, qty == layer.qty) {
                (false, _) => Decimal::ZERO,
                (true, true) => layer.value,
                (true, false) => round_money(qty * layer.value / layer.qty),
            };
            takes.push(LotTake { lot: layer.lot.clone(), qty, value });
            left -= qty;
        }
        let covered = qty - left;
        let covered_value = if fifo {
            takes.iter().map(|t| t.value).sum()
        } else if covered.is_zero() {
            Decimal::ZERO
        } else if covered == self.on_hand {
            self.value
        } else {
            round_money(covered * self.value / self.on_hand)
        };
        let uncovered_value = round_money(left * self.last_unit_cost.unwrap_or(Decimal::ZERO));
        Ok((takes, covered_value + uncovered_value, left))
    }

    /// Spreads `value` over the newest `qty` units' FIFO layers by quantity, newest first, each share
    /// rounded half-up and the last absorbing the rounding. No layer is taken below zero: what a layer
    /// cannot give is taken from the newest layers that still hold value (the caller never asks for
    /// more than the stock is worth).
    fn spread(&self, qty: Decimal, value: Decimal) -> Vec<LotTake> {
        let mut shares: Vec<LotTake> = Vec::new();
        let (mut left_qty, mut left_value) = (qty, value);
        for layer in self.layers.iter().rev() {
            if left_qty.is_zero() {
                break;
            }
            let take = left_qty.min(layer.qty);
            let share = if take == left_qty { left_value } else { round_money(left_value * take / left_qty) };
            let share = share.max(-layer.value);
            shares.push(LotTake { lot: layer.lot.clone(), qty: take, value: share });
            left_qty -= take;
            left_value -= share;
        }
        // What clamping left over (only ever a reduction) from the newest layers that still hold value.
        for (i, layer) in self.layers.iter().rev().enumerate() {
            if left_value.is_zero() {
                break;
            }
            if i == shares.len() {
                shares.push(LotTake { lot: layer.lot.clone(), qty: Decimal::ZERO, value: Decimal::ZERO });
            }
            let more = left_value.max(-(layer.value + shares[i].value));
            shares[i].value += more;
            left_value -= more;
        }
        debug_assert!(left_value.is_zero(), "a revaluation never takes more than the stock holds");
        shares
    }

    /// Adds goods as a receipt does: fills a negative position first, then forms a layer.
    fn add(&mut self, lot: Option<String>, qty: Decimal, value: Decimal) {
        let before = self.on_hand;
        self.on_hand += qty;
        self.value += value;
        let remainder = if before < Decimal::ZERO { qty + before } else { qty };
        if remainder > Decimal::ZERO {
            let fifo = self.is_fifo();
            let layer_value = match (fifo, before < Decimal::ZERO) {
                (false, _) => Decimal::ZERO,
                // Coming back from negative: the new layer carries the whole stock value.
                (true, true) => self.value,
                (true, false) => value,
            };
            match self.layers.back_mut() {
                Some(last) if !fifo && last.lot == lot => last.qty += remainder,
                _ => self.layers.push_back(Layer { lot, qty: remainder, value: layer_value }),
            }
        }
    }

    /// Removes goods as decided by `take`.
    fn remove(&mut self, qty: Decimal, value: Decimal, takes: &[LotTake]) {
        for take in takes {
            let layer = self
                .layers
                .iter_mut()
                .find(|l| l.lot == take.lot && l.qty > Decimal::ZERO)
                .expect("a take always names a layer that holds its lot");
            assert!(take.qty <= layer.qty, "a take never exceeds its layer");
            layer.qty -= take.qty;
            layer.value -= take.value;
            self.layers.retain(|l| !l.qty.is_zero());
        }
        self.on_hand -= qty;
        self.value -= value;
        if self.on_hand <= Decimal::ZERO {
            self.layers.clear();
        }
    }

    fn check_invariants(&self) {
        if !self.allow_negative() {
            assert!(self.on_hand >= Decimal::ZERO, "on hand went negative without permission");
            assert!(self.reserved <= self.on_hand, "reserved exceeds on hand");
        }
        assert!(self.reserved >= Decimal::ZERO, "reserved went negative");
        if self.on_hand > Decimal::ZERO {
            let layered: Decimal = self.layers.iter().map(|l| l.qty).sum();
            assert_eq!(layered, self.on_hand, "lots must add up to on hand");
            if self.is_fifo() {
                let layered_value: Decimal = self.layers.iter().map(|l| l.value).sum();
                assert_eq!(layered_value, self.value, "FIFO layers must add up to the stock value");
            }
        }
    }

    fn opening(&self, key: &StockKey, policy: &StockPolicy) -> Result<Option<StockEvent>, StockRejection> {
        if self.key.is_some() {
            return Ok(None);
        }
        validate_policy(policy)?;
        Ok(Some(StockEvent::Opened(StockItemOpened {
            item: key.item,
            warehouse: key.warehouse,
            policy: policy.clone(),
        })))
    }
}

/// The lots a transfer brings in, with the value each carries into the receiving stock: nothing for a
/// moving-average receiver (it pools the value); for FIFO the sender's lot costs when they account for
/// the whole value, else the value spread over the lots by quantity, the last one absorbing rounding.
fn receiving_lots(lots: &[LotTake], qty: Decimal, value: Decimal, fifo: bool) -> Vec<LotTake> {
    if !fifo {
        return lots
            .iter()
            .map(|l| LotTake { lot: l.lot.clone(), qty: l.qty, value: Decimal::ZERO })
            .collect();
    }
    let lot_qty: Decimal = lots.iter().map(|l| l.qty).sum();
    let lot_value: Decimal = lots.iter().map(|l| l.value).sum();
    let sender_costs_complete = if lot_qty == qty { lot_value == value } else { lot_value <= value };
    if sender_costs_complete && lots.iter().all(|l| !l.value.is_zero() || value.is_zero()) {
        return lots.to_vec();
    }
    let mut out: Vec<LotTake> = lots
        .iter()
        .map(|l| LotTake { lot: l.lot.clone(), qty: l.qty, value: round_money(value * l.qty / qty) })
        .collect();
    if lot_qty == qty
        && let Some((last, rest)) = out.split_last_mut()
    {
        last.value = value - rest.iter().map(|l| l.value).sum::<Decimal>();
    }
    out
}

fn validate_policy(policy: &StockPolicy) -> Result<(), StockRejection> {
    if policy.safety_stock < Decimal::ZERO {
        return Err(StockRejection::InvalidPolicy("safety stock must not be negative"));
    }
    Ok(())
}

impl Aggregate for StockItem {
    type Command = StockCommand;
    type Event = StockEvent;
    type Rejection = StockRejection;

    fn stream_id(command: &StockCommand) -> String {
        command.key().stream_id()
    }

    fn evolve(&mut self, event: &StockEvent) {
        match event {
            StockEvent::Opened(e) => {
                self.key = Some(StockKey { item: e.item, warehouse: e.warehouse });
                self.policy = Some(e.policy.clone());
            }
            StockEvent::Received(e) => {
                self.add(e.lot.clone(), e.qty, e.value);
                self.last_unit_cost = Some(e.unit_cost);
            }
            StockEvent::Reserved(e) => {
                self.reserved += e.qty;
                *self.reservations.entry(e.reservation).or_default() += e.qty;
            }
            StockEvent::Released(e) => {
                self.reserved -= e.qty;
                self.reservations.remove(&e.reservation);
            }
            StockEvent::Issued(e) => {
                if let Some(r) = e.reservation
                    && let Some(held) = self.reservations.get_mut(&r)
                {
                    *held -= e.reservation_consumed;
                    self.reserved -= e.reservation_consumed;
                    if held.is_zero() {
                        self.reservations.remove(&r);
                    }
                }
                self.remove(e.qty, e.value, &e.takes);
            }
            StockEvent::TransferredOut(e) => self.remove(e.qty, e.value, &e.takes),
            StockEvent::TransferredIn(e) => {
                let mut lot_qty = Decimal::ZERO;
                let mut lot_value = Decimal::ZERO;
                for lot in &e.lots {
                    self.add(lot.lot.clone(), lot.qty, lot.value);
                    lot_qty += lot.qty;
                    lot_value += lot.value;
                }
                if e.qty > lot_qty {
                    self.add(None, e.qty - lot_qty, e.value - lot_value);
                } else {
                    self.value += e.value - lot_value;
                }
                if !e.qty.is_zero() {
                    self.last_unit_cost = Some(e.value / e.qty);
                }
            }
            StockEvent::Adjusted(e) => {
                if e.qty_delta > Decimal::ZERO {
                    self.add(None, e.qty_delta, e.value_delta);
                    self.last_unit_cost = Some(e.unit_cost);
                } else {
                    self.remove(-e.qty_delta, -e.value_delta, &e.takes);
                }
            }
            StockEvent::PolicyChanged(e) => self.policy = Some(e.policy.clone()),
            StockEvent::FellBelowSafety(_) => self.below_safety_alerted = true,
            StockEvent::ReservationShort(_) => {}
            StockEvent::Revalued(e) => {
                self.value += e.to_stock;
                for (layer, share) in self.layers.iter_mut().rev().zip(&e.layers) {
                    layer.value += share.value;
                }
            }
        }
        let safety = self.policy.as_ref().map_or(Decimal::ZERO, |p| p.safety_stock);
        if self.below_safety_alerted && self.available() >= safety {
            self.below_safety_alerted = false;
        }
        self.check_invariants();
    }

    fn decide(&self, command: &StockCommand, _meta: &CommandMeta) -> Result<Vec<StockEvent>, StockRejection> {
        if let Some(stream) = self.key
            && stream != *command.key()
        {
            return Err(StockRejection::WrongStream { command: *command.key(), stream });
        }
        let mut events = Vec::new();
        match command {
            StockCommand::Receive { key, policy, qty, unit_cost, lot, bin, source } => {
                events.extend(self.opening(key, policy)?);
                events.push(StockEvent::Received(StockReceived {
                    qty: qty.get(),
                    unit_cost: unit_cost.get(),
                    value: round_money(qty.get() * unit_cost.get()),
                    lot: lot.as_ref().map(|l| l.as_str().to_string()),
                    bin: bin.as_ref().map(|b| b.as_str().to_string()),
                    source: source.clone(),
                }));
            }
            StockCommand::Reserve { reservation, qty, .. } => {
                if self.reservations.contains_key(reservation) {
                    return Err(StockRejection::ReservationExists(*reservation));
                }
                if qty.get() > self.available() && !self.allow_negative() {
                    return Err(StockRejection::Insufficient {
                        requested: qty.get(),
                        available: self.available().max(Decimal::ZERO),
                    });
                }
                events.push(StockEvent::Reserved(StockReserved {
                    reservation: *reservation,
                    qty: qty.get(),
                    for_doc: None,
                }));
            }
            StockCommand::ReserveForDocument { reservation, qty, for_doc, .. } => {
                if self.reservations.contains_key(reservation) {
                    return Ok(Vec::new());
                }
                let reservable = if self.allow_negative() {
                    qty.get()
                } else {
                    qty.get().min(self.available().max(Decimal::ZERO))
                };
                if reservable > Decimal::ZERO {
                    events.push(StockEvent::Reserved(StockReserved {
                        reservation: *reservation,
                        qty: reservable,
                        for_doc: Some(for_doc.clone()),
                    }));
                }
                if reservable < qty.get() {
                    events.push(StockEvent::ReservationShort(StockReservationShort {
                        reservation: *reservation,
                        requested: qty.get(),
                        short: qty.get() - reservable,
                        for_doc: for_doc.clone(),
                    }));
                }
            }
            StockCommand::Release { reservation, .. } => {
                let held = self
                    .reservations
                    .get(reservation)
                    .ok_or(StockRejection::ReservationUnknown(*reservation))?;
                events.push(StockEvent::Released(ReservationReleased {
                    reservation: *reservation,
                    qty: *held,
                }));
            }
            StockCommand::Issue { qty, reservation, lot, source, .. } => {
                let held = match reservation {
                    Some(r) => *self.reservations.get(r).ok_or(StockRejection::ReservationUnknown(*r))?,
                    None => Decimal::ZERO,
                };
                let consumed = held.min(qty.get());
                let may_take = held + self.available();
                if qty.get() > may_take && !self.allow_negative() {
                    return Err(StockRejection::Insufficient {
                        requested: qty.get(),
                        available: may_take.max(Decimal::ZERO),
                    });
                }
                let (takes, value, uncovered_qty) = self.take(qty.get(), lot.as_ref())?;
                events.push(StockEvent::Issued(StockIssued {
                    qty: qty.get(),
                    value,
                    takes,
                    uncovered_qty,
                    reservation: *reservation,
                    reservation_consumed: consumed,
                    source: source.clone(),
                }));
            }
            StockCommand::TransferOut { key, transfer, line, to, qty } => {
                if *to == key.warehouse {
                    return Err(StockRejection::TransferToSameWarehouse);
                }
                if qty.get() > self.available() && !self.allow_negative() {
                    return Err(StockRejection::Insufficient {
                        requested: qty.get(),
                        available: self.available().max(Decimal::ZERO),
                    });
                }
                let (takes, value, uncovered_qty) = self.take(qty.get(), None)?;
                events.push(StockEvent::TransferredOut(StockTransferredOut {
                    transfer: *transfer,
                    line: *line,
                    to: *to,
                    qty: qty.get(),
                    value,
                    takes,
                    uncovered_qty,
                }));
            }
            StockCommand::TransferIn { key, policy, transfer, line, from, qty, value, lots } => {
                if *from == key.warehouse {
                    return Err(StockRejection::TransferToSameWarehouse);
                }
                let lot_qty: Decimal = lots.iter().map(|l| l.qty).sum();
                let lot_value: Decimal = lots.iter().map(|l| l.value).sum();
                let lots_valid = lots.iter().all(|l| l.qty > Decimal::ZERO && l.value >= Decimal::ZERO);
                if *value < Decimal::ZERO || !lots_valid || lot_qty > qty.get() || lot_value > *value {
                    return Err(StockRejection::InvalidTransfer);
                }
                events.extend(self.opening(key, policy)?);
                let fifo = self.policy.as_ref().unwrap_or(policy).costing == CostingMethod::Fifo;
                let lots = receiving_lots(lots, qty.get(), *value, fifo);
                events.push(StockEvent::TransferredIn(StockTransferredIn {
                    transfer: *transfer,
                    line: *line,
                    from: *from,
                    qty: qty.get(),
                    value: *value,
                    lots,
                }));
            }
            StockCommand::Adjust { key, policy, qty_delta, unit_cost, reason, source, loss } => {
                if qty_delta.is_zero() {
                    return Err(StockRejection::ZeroAdjustment);
                }
                if loss.as_ref().is_some_and(|l| *qty_delta > Decimal::ZERO || !l.is_valid()) {
                    return Err(StockRejection::InvalidLossTreatment);
                }
                let delta = Quantity::new(qty_delta.abs()).map_err(|_| StockRejection::ZeroAdjustment)?;
                if *qty_delta > Decimal::ZERO {
                    let cost = unit_cost
                        .map(UnitAmount::get)
                        .or(self.last_unit_cost)
                        .ok_or(StockRejection::GainWithoutCost)?;
                    events.extend(self.opening(key, policy)?);
                    events.push(StockEvent::Adjusted(StockAdjusted {
                        qty_delta: delta.get(),
                        value_delta: round_money(delta.get() * cost),
                        unit_cost: cost,
                        takes: Vec::new(),
                        reason: reason.as_str().to_string(),
                        source: source.clone(),
                        loss: None,
                    }));
                } else {
                    if self.key.is_none() {
                        return Err(StockRejection::NotOpened);
                    }
                    let on_hand_after = self.on_hand - delta.get();
                    if on_hand_after < self.reserved
                        || (on_hand_after < Decimal::ZERO && !self.allow_negative())
                    {
                        return Err(StockRejection::AdjustmentBelowReserved {
                            on_hand_after,
                            reserved: self.reserved,
                        });
                    }
                    let (takes, value, _) = self.take(delta.get(), None)?;
                    let unit_cost = if delta.get().is_zero() { Decimal::ZERO } else { value / delta.get() };
                    events.push(StockEvent::Adjusted(StockAdjusted {
                        qty_delta: -delta.get(),
                        value_delta: -value,
                        unit_cost,
                        takes,
                        reason: reason.as_str().to_string(),
                        source: source.clone(),
                        loss: loss.clone(),
                    }));
                }
            }
            StockCommand::Revalue { qty, amount, source, .. } => {
                if amount.scale() > 2 || amount.abs() > crate::values::DOCUMENT_AMOUNT_MAX {
                    return Err(StockRejection::InvalidRevaluation);
                }
                let qty = qty.get();
                let covered = self.on_hand.max(Decimal::ZERO).min(qty);
                let share = if covered == qty { *amount } else { round_money(*amount * covered / qty) };
                // A lower cost never takes more than the stock is worth.
                let to_stock = share.max(-self.value.max(Decimal::ZERO));
                events.push(StockEvent::Revalued(StockRevalued {
                    qty,
                    amount: *amount,
                    to_stock,
                    to_cost: *amount - to_stock,
                    layers: if self.is_fifo() { self.spread(covered, to_stock) } else { Vec::new() },
                    source: source.clone(),
                }));
            }
            StockCommand::ChangePolicy { policy, .. } => {
                if self.key.is_none() {
                    return Err(StockRejection::NotOpened);
                }
                validate_policy(policy)?;
                if self.policy.as_ref() != Some(policy) {
                    events.push(StockEvent::PolicyChanged(StockPolicyChanged { policy: policy.clone() }));
                }
            }
        }
        // Safety stock: one alert when available first drops below it. The state after the events is
        // computed (a copy through evolve) only when an alert is possible: not while one is standing
        // (one command cannot both recover and fall again), and not when available cannot go below a
        // zero safety stock.
        let policy = events
            .iter()
            .rev()
            .find_map(|e| match e {
                StockEvent::Opened(o) => Some(&o.policy),
                StockEvent::PolicyChanged(p) => Some(&p.policy),
                _ => None,
            })
            .or(self.policy.as_ref());
        let may_alert = !events.is_empty()
            && !self.below_safety_alerted
            && policy.is_some_and(|p| p.safety_stock > Decimal::ZERO || p.allow_negative);
        if may_alert {
            let mut next = self.clone();
            for event in &events {
                next.evolve(event);
            }
            let safety = next.policy.as_ref().map_or(Decimal::ZERO, |p| p.safety_stock);
            if !next.below_safety_alerted && next.available() < safety {
                events.push(StockEvent::FellBelowSafety(StockFellBelowSafety {
                    key: *command.key(),
                    available: next.available(),
                    safety_stock: safety,
                }));
            }
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests;

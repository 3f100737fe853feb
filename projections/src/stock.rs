//! Stock levels (库存): per item and warehouse, on hand, reserved, available, incoming (what open
//! purchase orders still expect), in transit (transferred out to it and not yet in), and the value;
//! the stock ledger (收发明细) of every movement with the balance after it; safety-stock alerts;
//! slow-moving items; replenishment suggestions (智能补货) from the trailing issue rate, lead time,
//! safety stock, what is available and what is coming; and the replenishment suggestions actually
//! raised (补货建议) that are still open: neither taken up by a requisition nor dismissed.
//!
//! A fold over the stock items' events (their stream names the item and warehouse), the purchase
//! orders' (incoming), the item master's (lead time, reorder quantity, default supplier) and the
//! replenishment suggestions' (their stream names the stock item too). On hand, reserved and value
//! follow the stock item aggregates exactly (a test compares them).

use std::collections::BTreeMap;

use domain::inventory::stock::StockEvent;
use domain::inventory::{Replenishment, ReplenishmentEvent, StockKey};
use domain::master::ItemEvent;
use domain::purchasing::PurchaseOrderEvent;
use domain::{ItemId, PartnerId, PurchaseOrderId, Timestamp, WarehouseId};
use rust_decimal::Decimal;

use crate::fact::Fact;
use crate::postings::Postings;
use serde::{Deserialize, Serialize};

const DAY_MICROS: i64 = 86_400_000_000;

/// Days of issue history kept per stock item for the trailing rate.
pub const RATE_WINDOW_DAYS: i64 = 90;

/// One stock item's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub on_hand: Decimal,
    pub reserved: Decimal,
    pub value: Decimal,
    /// What open purchase orders for this warehouse still expect.
    pub incoming: Decimal,
    /// Transferred out towards this warehouse and not yet received here.
    pub in_transit: Decimal,
    pub safety_stock: Decimal,
    pub last_issue: Option<Timestamp>,
    /// Issued quantity per day (days since 1970-01-01), the last [`RATE_WINDOW_DAYS`] days seen.
    issued_by_day: BTreeMap<i64, Decimal>,
    /// Lot (none for goods received without one) → what is on hand of it and the bins it was put away
    /// in (批次 × 货位).
    lots: BTreeMap<Option<String>, LotLevel>,
}

impl StockLevel {
    pub fn available(&self) -> Decimal {
        self.on_hand - self.reserved
    }

    /// Average issued per day over the `days` before `now`.
    pub fn daily_rate(&self, now: Timestamp, days: i64) -> Decimal {
        let today = now.0.div_euclid(DAY_MICROS);
        let issued: Decimal = self.issued_by_day.range(today - days + 1..=today).map(|(_, q)| *q).sum();
        issued / Decimal::from(days.max(1))
    }
}

/// A movement in the stock ledger, with the item's balance in that warehouse after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub position: u64,
    pub at: Timestamp,
    pub warehouse: WarehouseId,
    /// `received`, `issued`, `transferred_out`, `transferred_in`, `adjusted`, `revalued`.
    pub kind: String,
    /// Signed: positive in, negative out.
    pub qty: Decimal,
    pub value: Decimal,
    pub on_hand_after: Decimal,
    pub value_after: Decimal,
    /// The document behind it (`kind:id`), where the event names one.
    pub document: Option<String>,
}

/// What the item master says about replenishing an item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemTerms {
    pub lead_time_days: u32,
    pub reorder_qty: Decimal,
    pub default_supplier: Option<PartnerId>,
}

/// A replenishment suggestion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub key: StockKey,
    pub qty: Decimal,
    pub supplier: Option<PartnerId>,
    /// The issue rate the suggestion was made from (per day, trailing 30 days).
    pub daily_rate: Decimal,
}

/// A replenishment suggestion raised for a stock item and not yet taken up or dismissed, with the
/// figures it was raised on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenSuggestion {
    /// Available and safety stock when it was raised (what the process manager saw).
    pub available: Decimal,
    pub safety_stock: Decimal,
    /// What brings available stock back to the safety level.
    pub suggested_qty: Decimal,
    /// Business time of the suggestion and its log position.
    pub raised_at: Timestamp,
    pub position: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct OpenOrder {
    warehouse: WarehouseId,
    /// Per order line: item and quantity still expected.
    outstanding: Vec<(ItemId, Decimal)>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Stock {
    levels: BTreeMap<(ItemId, WarehouseId), StockLevel>,
    /// Item → the log positions of its movements in every warehouse (收发明细). The movements are
    /// in the log: a page of the stock ledger reads them back ([`LedgerTail::entries`]), so the model
    /// keeps one or two bytes a movement instead of a copy of it.
    movements: HashMap<ItemId, Postings>,
    orders: BTreeMap<PurchaseOrderId, OpenOrder>,
    terms: BTreeMap<ItemId, ItemTerms>,
    /// The open replenishment suggestions, by item and warehouse (the aggregate keeps at most one open
    /// per stock item, so the key is enough).
    open_suggestions: BTreeMap<(ItemId, WarehouseId), OpenSuggestion>,
}

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// What is on hand of one lot of an item in a warehouse, and where it was put away.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotLevel {
    pub on_hand: Decimal,
    /// The bins receipts of the lot named (a receipt names one; issues name none, so the goods of a
    /// lot put away in two bins are not told apart).
    pub bins: std::collections::BTreeSet<String>,
}

/// What a stock event does to the quantity on hand and the value where it happens, as the stock
/// ledger shows it: (kind, signed quantity, signed value). `None` for events that move neither
/// (reservations, policies, alerts).
pub fn movement_of(event: &StockEvent) -> Option<(&'static str, Decimal, Decimal)> {
    Some(match event {
        StockEvent::Received(e) => ("received", e.qty, e.value),
        StockEvent::Issued(e) => ("issued", -e.qty, -e.value),
        StockEvent::TransferredOut(e) => ("transferred_out", -e.qty, -e.value),
        StockEvent::TransferredIn(e) => ("transferred_in", e.qty, e.value),
        StockEvent::Adjusted(e) => ("adjusted", e.qty_delta, e.value_delta),
        StockEvent::Revalued(e) => ("revalued", Decimal::ZERO, e.to_stock),
        StockEvent::Opened(_)
        | StockEvent::PolicyChanged(_)
        | StockEvent::Reserved(_)
        | StockEvent::Released(_)
        | StockEvent::ReservationShort(_)
        | StockEvent::FellBelowSafety(_) => return None,
    })
}

/// The document behind a movement, as `kind:id` (made only when a ledger page is shown, never while
/// folding).
fn document_of(event: &StockEvent) -> Option<String> {
    let (kind, id) = match event {
        StockEvent::Received(e) => (e.source.kind.as_str(), e.source.id),
        StockEvent::Issued(e) => (e.source.kind.as_str(), e.source.id),
        StockEvent::Adjusted(e) => (e.source.kind.as_str(), e.source.id),
        StockEvent::Revalued(e) => (e.source.kind.as_str(), e.source.id),
        StockEvent::TransferredOut(e) => ("inventory.StockTransfer", e.transfer.0),
        StockEvent::TransferredIn(e) => ("inventory.StockTransfer", e.transfer.0),
        _ => return None,
    };
    Some(format!("{kind}:{id}"))
}

/// Follows the lots of one stock item as its layers do: receipts add to their lot, every issue,
/// transfer and loss names the lots it took from; what no lot covered (negative stock, gains) is
/// unlotted.
fn lot_event(lots: &mut BTreeMap<Option<String>, LotLevel>, event: &StockEvent) {
    fn add<'a>(
        lots: &'a mut BTreeMap<Option<String>, LotLevel>,
        lot: Option<&String>,
        qty: Decimal,
    ) -> &'a mut LotLevel {
        let level = lots.entry(lot.cloned()).or_default();
        level.on_hand += qty;
        level
    }
    let taken = |takes: &[domain::inventory::stock::LotTake]| takes.iter().map(|t| t.qty).sum::<Decimal>();
    match event {
        StockEvent::Received(e) => {
            let level = add(lots, e.lot.as_ref(), e.qty);
            if let Some(bin) = &e.bin {
                level.bins.insert(bin.clone());
            }
        }
        StockEvent::Issued(domain::inventory::stock::StockIssued { qty, takes, .. })
        | StockEvent::TransferredOut(domain::inventory::stock::StockTransferredOut { qty, takes, .. }) => {
            for take in takes {
                add(lots, take.lot.as_ref(), -take.qty);
            }
            let uncovered = *qty - taken(takes);
            if !uncovered.is_zero() {
                add(lots, None, -uncovered);
            }
        }
        StockEvent::TransferredIn(e) => {
            for lot in &e.lots {
                add(lots, lot.lot.as_ref(), lot.qty);
            }
            let rest = e.qty - taken(&e.lots);
            if rest > Decimal::ZERO {
                add(lots, None, rest);
            }
        }
        StockEvent::Adjusted(e) if e.qty_delta > Decimal::ZERO => {
            add(lots, None, e.qty_delta);
        }
        StockEvent::Adjusted(e) => {
            for take in &e.takes {
                add(lots, take.lot.as_ref(), -take.qty);
            }
            let uncovered = -e.qty_delta - taken(&e.takes);
            if !uncovered.is_zero() {
                add(lots, None, -uncovered);
            }
        }
        _ => {}
    }
}

/// The newest movements of an item, as positions to read from the log, with the item's balances now
/// in each warehouse: walking the movements back from the newest gives the balance after each one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerTail {
    pub positions: Vec<u64>,
    balances: BTreeMap<WarehouseId, (Decimal, Decimal)>,
}

impl LedgerTail {
    /// The ledger entries of the movements at `self.positions`, given those events (position,
    /// business time, stream, event) in log order.
    pub fn entries<'a>(
        &self,
        events: impl DoubleEndedIterator<Item = (u64, Timestamp, &'a str, &'a StockEvent)>,
    ) -> Vec<LedgerEntry> {
        let mut balances = self.balances.clone();
        let mut entries: Vec<LedgerEntry> = events
            .rev()
            .filter_map(|(position, at, stream, event)| {
                let key = StockKey::from_stream_id(stream)?;
                let (kind, qty, value) = movement_of(event)?;
                let balance = balances.entry(key.warehouse).or_default();
                let entry = LedgerEntry {
                    position,
                    at,
                    warehouse: key.warehouse,
                    kind: kind.to_string(),
                    qty,
                    value,
                    on_hand_after: balance.0,
                    value_after: balance.1,
                    document: document_of(event),
                };
                balance.0 -= qty;
                balance.1 -= value;
                Some(entry)
            })
            .collect();
        entries.reverse();
        entries
    }
}

impl Stock {
    /// Folds one event at log `position`, recorded in `stream` with business time `at`.
    pub fn apply(&mut self, input: &Fact, stream: &str, position: u64, at: Timestamp) {
        match input {
            Fact::Stock(event) => {
                if let Some(key) = StockKey::from_stream_id(stream) {
                    self.stock_event(key, event, position, at);
                }
            }
            Fact::PurchaseOrder(event) => self.order_event(stream, event),
            Fact::Replenishment(event) => {
                if let Some(key) = Replenishment::key_of_stream(stream) {
                    self.replenishment_event(key, event, position, at);
                }
            }
            Fact::Item(ItemEvent::Created(d) | ItemEvent::Changed(d)) => {
                if let Some(item) = crate::id_in(stream, "item-") {
                    self.terms.insert(
                        ItemId(item),
                        ItemTerms {
                            lead_time_days: d.lead_time_days,
                            reorder_qty: d.reorder_qty,
                            default_supplier: d.default_supplier,
                        },
                    );
                }
            }
            _ => {}
        }
    }

    fn stock_event(&mut self, key: StockKey, event: &StockEvent, position: u64, at: Timestamp) {
        let level = self.levels.entry((key.item, key.warehouse)).or_default();
        match event {
            StockEvent::Opened(e) => level.safety_stock = e.policy.safety_stock,
            StockEvent::PolicyChanged(e) => level.safety_stock = e.policy.safety_stock,
            StockEvent::Reserved(e) => level.reserved += e.qty,
            StockEvent::Released(e) => level.reserved -= e.qty,
            StockEvent::Issued(e) => {
                level.reserved -= e.reservation_consumed;
                level.last_issue = Some(at);
                let day = at.0.div_euclid(DAY_MICROS);
                *level.issued_by_day.entry(day).or_default() += e.qty;
                let newest = *level.issued_by_day.keys().next_back().expect("just added");
                // Days fall out of the window at the old end only: drop those, not a scan of all.
                while level
                    .issued_by_day
                    .first_key_value()
                    .is_some_and(|(d, _)| *d <= newest - RATE_WINDOW_DAYS)
                {
                    level.issued_by_day.pop_first();
                }
            }
            StockEvent::TransferredIn(e) => level.in_transit -= e.qty,
            _ => {}
        }
        lot_event(&mut level.lots, event);
        if let Some((_, qty, value)) = movement_of(event) {
            level.on_hand += qty;
            level.value += value;
            self.movements.entry(key.item).or_default().push(position);
        }
        // Goods sent out are in transit towards the other warehouse until they arrive there.
        if let StockEvent::TransferredOut(e) = event {
            self.levels.entry((key.item, e.to)).or_default().in_transit += e.qty;
        }
    }

    fn replenishment_event(
        &mut self,
        key: StockKey,
        event: &ReplenishmentEvent,
        position: u64,
        at: Timestamp,
    ) {
        match event {
            ReplenishmentEvent::Suggested(e) => {
                let suggestion = OpenSuggestion {
                    available: e.available,
                    safety_stock: e.safety_stock,
                    suggested_qty: e.suggested_qty,
                    raised_at: at,
                    position,
                };
                self.open_suggestions.insert((key.item, key.warehouse), suggestion);
            }
            ReplenishmentEvent::TakenUp(_) | ReplenishmentEvent::Dismissed(_) => {
                self.open_suggestions.remove(&(key.item, key.warehouse));
            }
        }
    }

    /// An item's levels, warehouse by warehouse.
    fn levels_of(&self, item: ItemId) -> impl Iterator<Item = (WarehouseId, &StockLevel)> {
        self.levels
            .range((item, WarehouseId(uuid::Uuid::nil()))..=(item, WarehouseId(uuid::Uuid::max())))
            .map(|((_, warehouse), level)| (*warehouse, level))
    }

    /// What is on hand of each lot of an item (in one warehouse or all), with the bins each was put
    /// away in; lots with nothing on hand are left out.
    pub fn lots(
        &self,
        item: ItemId,
        warehouse: Option<WarehouseId>,
    ) -> impl Iterator<Item = (WarehouseId, Option<&str>, &LotLevel)> {
        self.levels_of(item).filter(move |(w, _)| warehouse.is_none_or(|x| x == *w)).flat_map(|(w, level)| {
            let lots = level.lots.iter().filter(|(_, lot)| !lot.on_hand.is_zero());
            lots.map(move |(lot, l)| (w, lot.as_deref(), l))
        })
    }

    fn set_incoming(&mut self, warehouse: WarehouseId, item: ItemId, delta: Decimal) {
        self.levels.entry((item, warehouse)).or_default().incoming += delta;
    }

    fn order_event(&mut self, stream: &str, event: &PurchaseOrderEvent) {
        let Some(id) = crate::id_in(stream, "purchase-order-") else {
            return;
        };
        let id = PurchaseOrderId(id);
        let lines = match event {
            PurchaseOrderEvent::Placed(e) => {
                let order = OpenOrder {
                    warehouse: e.warehouse,
                    outstanding: e.lines.iter().map(|l| (l.item, l.qty)).collect(),
                };
                for (item, qty) in &order.outstanding {
                    self.set_incoming(e.warehouse, *item, *qty);
                }
                self.orders.insert(id, order);
                return;
            }
            PurchaseOrderEvent::Amended(e) => {
                let Some(order) = self.orders.remove(&id) else { return };
                for (item, qty) in &order.outstanding {
                    self.set_incoming(order.warehouse, *item, -*qty);
                }
                let order = OpenOrder {
                    warehouse: order.warehouse,
                    outstanding: e.lines.iter().map(|l| (l.item, l.qty)).collect(),
                };
                for (item, qty) in &order.outstanding {
                    self.set_incoming(order.warehouse, *item, *qty);
                }
                self.orders.insert(id, order);
                return;
            }
            PurchaseOrderEvent::Received(e) => e.lines.iter().map(|l| (l.line, l.qty)).collect(),
            PurchaseOrderEvent::RemainderCancelled(e) => e.cancelled.clone(),
            PurchaseOrderEvent::Closed(_) => {
                if let Some(order) = self.orders.remove(&id) {
                    for (item, qty) in &order.outstanding {
                        self.set_incoming(order.warehouse, *item, -*qty);
                    }
                }
                return;
            }
            _ => return,
        };
        let Some(order) = self.orders.get_mut(&id) else { return };
        let warehouse = order.warehouse;
        let mut changes = Vec::new();
        for (line, qty) in lines {
            if let Some((item, outstanding)) = order.outstanding.get_mut(line as usize) {
                // Over-receipts within tolerance expect nothing below zero.
                let taken = qty.min(*outstanding).max(Decimal::ZERO);
                *outstanding -= taken;
                changes.push((*item, taken));
            }
        }
        for (item, taken) in changes {
            self.set_incoming(warehouse, item, -taken);
        }
    }

    /// One stock item's figures.
    pub fn level(&self, item: ItemId, warehouse: WarehouseId) -> Option<&StockLevel> {
        self.levels.get(&(item, warehouse))
    }

    /// Every stock item's figures, by item and warehouse.
    pub fn levels(&self) -> impl Iterator<Item = (StockKey, &StockLevel)> {
        self.levels
            .iter()
            .map(|((item, warehouse), level)| (StockKey { item: *item, warehouse: *warehouse }, level))
    }

    /// The newest `last` movements of an item across its warehouses, to read from the log, with what
    /// [`LedgerTail::entries`] needs to give each its balance after.
    pub fn ledger_tail(&self, item: ItemId, last: u64) -> LedgerTail {
        let positions = self.movements.get(&item).map(|p| p.last_n(last).collect()).unwrap_or_default();
        let balances = self.levels_of(item).map(|(w, level)| (w, (level.on_hand, level.value))).collect();
        LedgerTail { positions, balances }
    }

    /// How many movements an item has had.
    pub fn movement_count(&self, item: ItemId) -> u64 {
        self.movements.get(&item).map_or(0, Postings::len)
    }

    /// The value of all stock.
    pub fn valuation(&self) -> Decimal {
        self.levels.values().map(|l| l.value).sum()
    }

    /// Stock items whose available quantity is below their safety stock.
    pub fn alerts(&self) -> Vec<(StockKey, Decimal, Decimal)> {
        self.levels()
            .filter(|(_, l)| l.safety_stock > Decimal::ZERO && l.available() < l.safety_stock)
            .map(|(key, l)| (key, l.available(), l.safety_stock))
            .collect()
    }

    /// The replenishment suggestions raised and still open, by item then warehouse, from the one after
    /// `after` (a page's cursor) on.
    pub fn open_suggestions(
        &self,
        after: Option<StockKey>,
    ) -> impl Iterator<Item = (StockKey, &OpenSuggestion)> {
        use std::ops::Bound::{Excluded, Unbounded};
        let from = after.map_or(Unbounded, |k| Excluded((k.item, k.warehouse)));
        self.open_suggestions
            .range((from, Unbounded))
            .map(|((item, warehouse), s)| (StockKey { item: *item, warehouse: *warehouse }, s))
    }

    /// Stock on hand with no issue in the last `days` before `now` (滞销), with its days of cover at
    /// the trailing 30-day rate (`None`: nothing issued in that time).
    pub fn slow_moving(&self, now: Timestamp, days: i64) -> Vec<(StockKey, Decimal, Option<Decimal>)> {
        let cutoff = Timestamp(now.0 - days * DAY_MICROS);
        self.levels()
            .filter(|(_, l)| l.on_hand > Decimal::ZERO && l.last_issue.is_none_or(|t| t < cutoff))
            .map(|(key, l)| {
                let rate = l.daily_rate(now, 30);
                let cover = (!rate.is_zero()).then(|| (l.on_hand / rate).round_dp(1));
                (key, l.on_hand, cover)
            })
            .collect()
    }

    /// 智能补货: for each stock item, what covers its lead time at the trailing 30-day issue rate plus
    /// its safety stock, less what is available, incoming and in transit; rounded up to the item's
    /// reorder quantity. Only positive suggestions.
    pub fn replenishment(&self, now: Timestamp) -> Vec<Suggestion> {
        self.levels()
            .filter_map(|(key, l)| {
                let terms = self.terms.get(&key.item).cloned().unwrap_or_default();
                let rate = l.daily_rate(now, 30);
                let need = rate * Decimal::from(terms.lead_time_days) + l.safety_stock
                    - (l.available() + l.incoming + l.in_transit);
                if need <= Decimal::ZERO {
                    return None;
                }
                let qty = if terms.reorder_qty > Decimal::ZERO {
                    (need / terms.reorder_qty).ceil() * terms.reorder_qty
                } else {
                    need.ceil()
                };
                Some(Suggestion { key, qty, supplier: terms.default_supplier, daily_rate: rate.round_dp(4) })
            })
            .collect()
    }
}

impl crate::runtime::ReadModel for Stock {
    const NAME: &'static str = "stock";
    /// 5: the open replenishment suggestions joined the state.
    const VERSION: u32 = 5;

    fn apply(&mut self, event: &infra::Envelope<'_>, fact: &Fact) {
        Stock::apply(self, fact, event.stream_id, event.position, event.occurred_at);
    }
}

#[cfg(test)]
mod tests {
    use domain::inventory::stock::{
        StockIssued, StockItemOpened, StockReceived, StockTransferredIn, StockTransferredOut,
    };
    use domain::inventory::{CostingMethod, DocRef, StockPolicy};
    use domain::purchasing::order::{
        GoodsReceived, PoLine, PurchaseOrderPlaced, PurchaseOrderRemainderCancelled, ReceivedLine,
    };
    use domain::{GoodsReceiptId, TransferId};
    use uuid::Uuid;

    use super::*;

    const A: ItemId = ItemId(Uuid::from_u128(1));
    const SHANGHAI: WarehouseId = WarehouseId(Uuid::from_u128(10));
    const BEIJING: WarehouseId = WarehouseId(Uuid::from_u128(11));
    const PO: PurchaseOrderId = PurchaseOrderId(Uuid::from_u128(20));

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn day(n: i64) -> Timestamp {
        Timestamp(1_794_000_000_000_000 + n * DAY_MICROS)
    }

    fn policy(safety: &str) -> StockPolicy {
        StockPolicy { costing: CostingMethod::MovingAverage, safety_stock: d(safety), allow_negative: false }
    }

    fn doc() -> DocRef {
        DocRef { kind: "test.Doc".into(), id: Uuid::from_u128(99), line: None }
    }

    struct Script {
        stock: Stock,
        position: u64,
        /// Every stock event folded, as the log holds it: (position, time, stream, event).
        log: Vec<(u64, Timestamp, String, StockEvent)>,
    }

    impl Script {
        fn stock(&mut self, warehouse: WarehouseId, event: StockEvent, at: Timestamp) {
            self.position += 1;
            let stream = StockKey { item: A, warehouse }.stream_id();
            self.stock.apply(&Fact::Stock(event.clone()), &stream, self.position, at);
            self.log.push((self.position, at, stream, event));
        }

        /// The item's stock ledger, its last `last` movements read back from the log.
        fn ledger(&self, last: u64) -> Vec<LedgerEntry> {
            let tail = self.stock.ledger_tail(A, last);
            let events = tail.positions.iter().map(|p| {
                let (position, at, stream, event) = self.log.iter().find(|e| e.0 == *p).unwrap();
                (*position, *at, stream.as_str(), event)
            });
            tail.entries(events.collect::<Vec<_>>().into_iter())
        }

        fn replenishment(&mut self, key: StockKey, event: ReplenishmentEvent, at: Timestamp) {
            self.position += 1;
            self.stock.apply(&Fact::Replenishment(event), &Replenishment::stream(key), self.position, at);
        }

        fn order(&mut self, event: PurchaseOrderEvent) {
            self.position += 1;
            self.stock.apply(
                &Fact::PurchaseOrder(event),
                &format!("purchase-order-{PO}"),
                self.position,
                day(0),
            );
        }
    }

    #[test]
    fn a_scripted_month_gives_on_hand_incoming_in_transit_the_ledger_and_the_suggestions() {
        let mut s = Script { stock: Stock::default(), position: 0, log: Vec::new() };
        s.order(PurchaseOrderEvent::Placed(PurchaseOrderPlaced {
            id: PO,
            supplier: PartnerId(Uuid::from_u128(30)),
            warehouse: SHANGHAI,
            department: "采购部".into(),
            requisition: None,
            lines: vec![PoLine {
                line: 0,
                item: A,
                qty: d("100"),
                unit_price: d("20"),
                vat_rate: d("0.13"),
                amount_net: d("2000"),
                policy: policy("40"),
                available_at_order: Decimal::ZERO,
            }],
            amount_net: d("2000"),
            by: "li".into(),
            over_budget: false,
        }));
        assert_eq!(s.stock.level(A, SHANGHAI).unwrap().incoming, d("100"));
        s.stock(
            SHANGHAI,
            StockEvent::Opened(StockItemOpened { item: A, warehouse: SHANGHAI, policy: policy("40") }),
            day(1),
        );
        s.stock(
            SHANGHAI,
            StockEvent::Received(StockReceived {
                qty: d("60"),
                unit_cost: d("20"),
                value: d("1200"),
                lot: None,
                bin: None,
                source: doc(),
            }),
            day(1),
        );
        s.order(PurchaseOrderEvent::Received(GoodsReceived {
            id: PO,
            receipt: GoodsReceiptId(Uuid::from_u128(21)),
            warehouse: SHANGHAI,
            supplier: PartnerId(Uuid::from_u128(30)),
            lines: vec![ReceivedLine {
                line: 0,
                item: A,
                qty: d("60"),
                unit_price: d("20"),
                policy: policy("40"),
            }],
            bin: None,
            lot: None,
            by: "kai".into(),
            invoice: None,
        }));
        assert_eq!(s.stock.level(A, SHANGHAI).unwrap().incoming, d("40"), "40 still expected");
        // 30 sold over the month, then 10 sent to Beijing (in transit until they arrive).
        for n in 0..3 {
            s.stock(
                SHANGHAI,
                StockEvent::Issued(StockIssued {
                    qty: d("10"),
                    value: d("200"),
                    takes: Vec::new(),
                    uncovered_qty: Decimal::ZERO,
                    reservation: None,
                    reservation_consumed: Decimal::ZERO,
                    source: doc(),
                }),
                day(5 + n * 10),
            );
        }
        let transfer = TransferId(Uuid::from_u128(40));
        s.stock(
            SHANGHAI,
            StockEvent::TransferredOut(StockTransferredOut {
                transfer,
                line: 0,
                to: BEIJING,
                qty: d("10"),
                value: d("200"),
                takes: Vec::new(),
                uncovered_qty: Decimal::ZERO,
            }),
            day(26),
        );
        assert_eq!(s.stock.level(A, BEIJING).unwrap().in_transit, d("10"));
        s.stock(
            BEIJING,
            StockEvent::TransferredIn(StockTransferredIn {
                transfer,
                line: 0,
                from: SHANGHAI,
                qty: d("10"),
                value: d("200"),
                lots: Vec::new(),
            }),
            day(28),
        );
        let shanghai = s.stock.level(A, SHANGHAI).unwrap().clone();
        let beijing = s.stock.level(A, BEIJING).unwrap().clone();
        assert_eq!((shanghai.on_hand, shanghai.value), (d("20"), d("400")));
        assert_eq!((beijing.on_hand, beijing.in_transit, beijing.value), (d("10"), d("0"), d("200")));
        assert_eq!(s.stock.valuation(), d("600"));
        // The ledger: every movement with the balance after it, in order.
        let ledger = s.ledger(100);
        let kinds: Vec<_> =
            ledger.iter().map(|e| (e.kind.as_str(), e.warehouse, e.on_hand_after, e.value_after)).collect();
        assert_eq!(
            kinds,
            vec![
                ("received", SHANGHAI, d("60"), d("1200")),
                ("issued", SHANGHAI, d("50"), d("1000")),
                ("issued", SHANGHAI, d("40"), d("800")),
                ("issued", SHANGHAI, d("30"), d("600")),
                ("transferred_out", SHANGHAI, d("20"), d("400")),
                ("transferred_in", BEIJING, d("10"), d("200")),
            ]
        );
        // A page of the last two: the same balances, read from the newest back.
        assert_eq!(s.ledger(2), ledger[4..].to_vec());
        assert_eq!(s.stock.movement_count(A), 6);
        // Shanghai: 20 on hand below its safety stock of 40.
        assert_eq!(s.stock.alerts(), vec![(StockKey { item: A, warehouse: SHANGHAI }, d("20"), d("40"))]);
        // 30 issued in the 30 days to day 30: 1 a day. With a 7-day lead time (the master's default of 0
        // here) the need is 0 × 1 + 40 − (20 + 40 incoming) = −20: nothing to order yet.
        assert!(s.stock.replenishment(day(30)).is_empty());
        // The rest of the order is cancelled: now 40 − 20 = 20 short, suggested as is (no reorder size).
        s.order(PurchaseOrderEvent::RemainderCancelled(PurchaseOrderRemainderCancelled {
            cancelled: vec![(0, d("40"))],
            reason: "supplier out of stock".into(),
            by: "li".into(),
        }));
        let suggestions = s.stock.replenishment(day(30));
        assert_eq!(suggestions.len(), 1);
        assert_eq!((suggestions[0].key.warehouse, suggestions[0].qty), (SHANGHAI, d("20")));
        // Beijing has issued nothing: slow-moving after 30 days with no cover figure.
        let slow = s.stock.slow_moving(day(60), 30);
        assert!(slow.contains(&(StockKey { item: A, warehouse: BEIJING }, d("10"), None)), "{slow:?}");
        assert!(
            slow.iter().any(|(k, _, _)| k.warehouse == SHANGHAI),
            "Shanghai's last issue was on day 25, more than 30 days before day 60"
        );
    }

    #[test]
    fn lots_are_followed_through_receipts_and_issues_with_the_bins_they_were_put_away_in() {
        let mut s = Script { stock: Stock::default(), position: 0, log: Vec::new() };
        let receive = |lot: &str, bin: &str, qty: &str| {
            StockEvent::Received(StockReceived {
                qty: d(qty),
                unit_cost: d("2"),
                value: d(qty) * d("2"),
                lot: Some(lot.into()),
                bin: Some(bin.into()),
                source: doc(),
            })
        };
        s.stock(SHANGHAI, receive("L1", "A-01", "10"), day(1));
        s.stock(SHANGHAI, receive("L2", "B-02", "5"), day(2));
        s.stock(SHANGHAI, receive("L2", "B-03", "1"), day(3));
        let take = |lot: &str, qty: &str| domain::inventory::stock::LotTake {
            lot: Some(lot.into()),
            qty: d(qty),
            value: d(qty) * d("2"),
        };
        s.stock(
            SHANGHAI,
            StockEvent::Issued(StockIssued {
                qty: d("12"),
                value: d("24"),
                takes: vec![take("L1", "10"), take("L2", "2")],
                uncovered_qty: Decimal::ZERO,
                reservation: None,
                reservation_consumed: Decimal::ZERO,
                source: doc(),
            }),
            day(4),
        );
        let lots: Vec<(Option<&str>, Decimal, Vec<&str>)> = s
            .stock
            .lots(A, Some(SHANGHAI))
            .map(|(_, lot, level)| (lot, level.on_hand, level.bins.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(lots, vec![(Some("L2"), d("4"), vec!["B-02", "B-03"])], "lot L1 is used up");
        assert_eq!(s.stock.lots(A, Some(BEIJING)).count(), 0);
    }

    #[test]
    fn suggestions_raised_stay_open_until_taken_up_or_dismissed() {
        use domain::RequisitionId;
        use domain::inventory::replenishment::{
            ReplenishmentDismissed, ReplenishmentSuggested, ReplenishmentTakenUp,
        };
        const B: ItemId = ItemId(Uuid::from_u128(2));
        let mut s = Script { stock: Stock::default(), position: 0, log: Vec::new() };
        let suggested = |key: StockKey, available: &str| {
            ReplenishmentEvent::Suggested(ReplenishmentSuggested {
                key,
                available: d(available),
                safety_stock: d("40"),
                suggested_qty: d("40") - d(available),
            })
        };
        let (a_shanghai, a_beijing, b_shanghai) = (
            StockKey { item: A, warehouse: SHANGHAI },
            StockKey { item: A, warehouse: BEIJING },
            StockKey { item: B, warehouse: SHANGHAI },
        );
        s.replenishment(a_shanghai, suggested(a_shanghai, "20"), day(1));
        s.replenishment(b_shanghai, suggested(b_shanghai, "5"), day(2));
        s.replenishment(a_beijing, suggested(a_beijing, "0"), day(3));
        let taken_up =
            ReplenishmentTakenUp { requisition: RequisitionId(Uuid::from_u128(50)), by: "li".into() };
        s.replenishment(a_shanghai, ReplenishmentEvent::TakenUp(taken_up), day(4));
        let dismissed = ReplenishmentDismissed { reason: "清仓".into(), by: "kai".into() };
        s.replenishment(a_beijing, ReplenishmentEvent::Dismissed(dismissed), day(5));
        let view = |stock: &Stock, after: Option<StockKey>| {
            stock
                .open_suggestions(after)
                .map(|(k, o)| {
                    format!(
                        "{}@{} available {} safety {} suggested {} raised day {} at {}",
                        k.item.0.as_u128(),
                        k.warehouse.0.as_u128(),
                        o.available,
                        o.safety_stock,
                        o.suggested_qty,
                        (o.raised_at.0 - day(0).0) / DAY_MICROS,
                        o.position
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(view(&s.stock, None), "2@10 available 5 safety 40 suggested 35 raised day 2 at 2");
        // Raised again after its dismissal: open again, with the new figures; a page after the first
        // open one holds the rest.
        s.replenishment(a_beijing, suggested(a_beijing, "10"), day(6));
        assert_eq!(
            view(&s.stock, None),
            "1@11 available 10 safety 40 suggested 30 raised day 6 at 6\n\
             2@10 available 5 safety 40 suggested 35 raised day 2 at 2"
        );
        assert_eq!(
            view(&s.stock, Some(a_beijing)),
            "2@10 available 5 safety 40 suggested 35 raised day 2 at 2"
        );
        assert_eq!(view(&s.stock, Some(b_shanghai)), "");
        // Another stream's events and a taking up of nothing open change nothing.
        let before = s.stock.clone();
        s.stock.apply(&Fact::Replenishment(suggested(a_shanghai, "1")), "stock-x", 7, day(7));
        s.replenishment(
            a_shanghai,
            ReplenishmentEvent::Dismissed(ReplenishmentDismissed { reason: "-".into(), by: "kai".into() }),
            day(7),
        );
        assert_eq!(s.stock, before);
    }
}

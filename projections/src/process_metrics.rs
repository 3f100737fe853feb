//! Process-duration metrics (流程时长): how long documents spend in each step of order to cash (placed →
//! reserved → picked → shipped → invoiced → paid) and procure to pay (requested → approved → ordered →
//! received → invoiced → paid), from the business times of the events; per step the count, mean, p50,
//! p90, p95 and max over a date range, the bottleneck step, and the documents still waiting in each step
//! and for how long; broken down by channel and warehouse (order to cash) or department and warehouse
//! (procure to pay).
//!
//! Each step's time is the first time it happened for the document (an order shipped in two parts is
//! shipped when its first shipment leaves). A purchase order placed without a requisition starts at
//! "ordered". Durations are whole microseconds; percentiles are nearest-rank.

use std::collections::BTreeMap;

use domain::purchasing::{PurchaseInvoiceEvent, PurchaseOrderEvent, RequisitionEvent};
use domain::sales::{SalesInvoiceEvent, SalesOrderEvent, ShipmentEvent};
use domain::{
    PurchaseInvoiceId, PurchaseOrderId, RequisitionId, SalesInvoiceId, SalesOrderId, ShipmentId, Timestamp,
    WarehouseId,
};
use serde::{Deserialize, Serialize};

use crate::fact::Fact;
use crate::id_in;

/// Which document flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowKind {
    OrderToCash,
    ProcureToPay,
}

impl FlowKind {
    /// The flow's steps in order; the first is where a document enters it.
    pub fn steps(self) -> [&'static str; 6] {
        match self {
            FlowKind::OrderToCash => ["placed", "reserved", "picked", "shipped", "invoiced", "paid"],
            FlowKind::ProcureToPay => ["requested", "approved", "ordered", "received", "invoiced", "paid"],
        }
    }
}

/// One document's way through its flow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// Order to cash: the channel (`direct`, `store`, or the platform's name); procure to pay: the
    /// ordering department.
    pub segment: String,
    pub warehouse: Option<WarehouseId>,
    /// When each step first happened.
    pub at: [Option<Timestamp>; 6],
    /// Cancelled documents wait for nothing.
    pub cancelled: bool,
}

impl Flow {
    fn reach(&mut self, step: usize, at: Timestamp) {
        self.at[step].get_or_insert(at);
    }

    /// When the document entered the flow: its first step that happened.
    pub fn started(&self) -> Option<Timestamp> {
        self.at.iter().flatten().next().copied()
    }
}

/// Statistics of one step: the time from the step before it to this one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepStats {
    pub step: &'static str,
    pub count: usize,
    pub mean_us: i64,
    pub p50_us: i64,
    pub p90_us: i64,
    pub p95_us: i64,
    pub max_us: i64,
}

/// Documents waiting to reach a step, and the longest any of them has waited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Waiting {
    pub step: &'static str,
    pub count: usize,
    pub oldest_us: i64,
}

/// Which documents a query is about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Documents that entered the flow in [from, to).
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub segment: Option<String>,
    pub warehouse: Option<WarehouseId>,
}

impl Filter {
    fn admits(&self, flow: &Flow) -> bool {
        let started = flow.started();
        self.from.is_none_or(|from| started.is_some_and(|s| s >= from))
            && self.to.is_none_or(|to| started.is_some_and(|s| s < to))
            && self.segment.as_ref().is_none_or(|s| *s == flow.segment)
            && self.warehouse.is_none_or(|w| flow.warehouse == Some(w))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessMetrics {
    orders: BTreeMap<SalesOrderId, Flow>,
    shipments: BTreeMap<ShipmentId, SalesOrderId>,
    sales_invoices: BTreeMap<SalesInvoiceId, Vec<SalesOrderId>>,
    /// Requisitions before they become orders: (department-less) requested and approved times.
    requisitions: BTreeMap<RequisitionId, Flow>,
    purchases: BTreeMap<PurchaseOrderId, Flow>,
    purchase_invoices: BTreeMap<PurchaseInvoiceId, Vec<PurchaseOrderId>>,
}

impl ProcessMetrics {
    /// Folds one event recorded in `stream` with business time `at`.
    pub fn apply(&mut self, input: &Fact, stream: &str, at: Timestamp) {
        match input {
            Fact::SalesOrder(event) => {
                let Some(id) = id_in(stream, "sales-order-").map(SalesOrderId) else { return };
                match event {
                    SalesOrderEvent::Placed(e) => {
                        let flow = self.orders.entry(id).or_default();
                        flow.segment = e.channel.segment().to_string();
                        flow.warehouse = Some(e.warehouse);
                        flow.reach(0, at);
                    }
                    SalesOrderEvent::ReadyToPick(_) => self.order_step(id, 1, at),
                    SalesOrderEvent::Cancelled(_) => {
                        if let Some(flow) = self.orders.get_mut(&id) {
                            flow.cancelled = true;
                        }
                    }
                    _ => {}
                }
            }
            Fact::Shipment(event) => match event {
                ShipmentEvent::Created(e) => {
                    self.shipments.insert(e.id, e.order);
                }
                ShipmentEvent::Picked(_) => {
                    let shipment = id_in(stream, "shipment-").map(ShipmentId);
                    if let Some(order) = shipment.and_then(|s| self.shipments.get(&s).copied()) {
                        self.order_step(order, 2, at);
                    }
                }
                ShipmentEvent::Shipped(e) => self.order_step(e.order, 3, at),
                _ => {}
            },
            Fact::SalesInvoice(event) => match event {
                SalesInvoiceEvent::Issued(e) => {
                    let mut orders: Vec<SalesOrderId> =
                        e.shipments.iter().filter_map(|s| self.shipments.get(s).copied()).collect();
                    orders.sort();
                    orders.dedup();
                    for order in &orders {
                        self.order_step(*order, 4, at);
                    }
                    self.sales_invoices.insert(e.id, orders);
                }
                SalesInvoiceEvent::Paid(e) => {
                    for order in self.sales_invoices.get(&e.id).cloned().unwrap_or_default() {
                        self.order_step(order, 5, at);
                    }
                }
                _ => {}
            },
            Fact::Requisition(event) => {
                let Some(id) = id_in(stream, "requisition-").map(RequisitionId) else { return };
                match event {
                    RequisitionEvent::Submitted(_) => self.requisitions.entry(id).or_default().reach(0, at),
                    RequisitionEvent::Approved(_) => self.requisitions.entry(id).or_default().reach(1, at),
                    _ => {}
                }
            }
            Fact::PurchaseOrder(event) => {
                let Some(id) = id_in(stream, "purchase-order-").map(PurchaseOrderId) else { return };
                match event {
                    PurchaseOrderEvent::Placed(e) => {
                        let mut flow =
                            e.requisition.and_then(|r| self.requisitions.remove(&r)).unwrap_or_default();
                        flow.segment = e.department.clone();
                        flow.warehouse = Some(e.warehouse);
                        flow.reach(2, at);
                        self.purchases.insert(id, flow);
                    }
                    PurchaseOrderEvent::Received(_) => self.purchase_step(id, 3, at),
                    PurchaseOrderEvent::RemainderCancelled(_) => {
                        if let Some(flow) = self.purchases.get_mut(&id)
                            && flow.at[3].is_none()
                        {
                            flow.cancelled = true;
                        }
                    }
                    _ => {}
                }
            }
            Fact::PurchaseInvoice(event) => {
                let (invoice, orders): (PurchaseInvoiceId, Vec<PurchaseOrderId>) = match event {
                    PurchaseInvoiceEvent::Booked(e) => (e.id, e.lines.iter().map(|l| l.po).collect()),
                    PurchaseInvoiceEvent::RecordedWithGoods(e) => (e.id, vec![e.po]),
                    PurchaseInvoiceEvent::Paid(e) => {
                        for po in self.purchase_invoices.get(&e.id).cloned().unwrap_or_default() {
                            self.purchase_step(po, 5, at);
                        }
                        return;
                    }
                    _ => return,
                };
                let mut orders = orders;
                orders.sort();
                orders.dedup();
                for po in &orders {
                    self.purchase_step(*po, 4, at);
                }
                self.purchase_invoices.insert(invoice, orders);
            }
            _ => {}
        }
    }

    fn order_step(&mut self, order: SalesOrderId, step: usize, at: Timestamp) {
        if let Some(flow) = self.orders.get_mut(&order) {
            flow.reach(step, at);
        }
    }

    fn purchase_step(&mut self, po: PurchaseOrderId, step: usize, at: Timestamp) {
        if let Some(flow) = self.purchases.get_mut(&po) {
            flow.reach(step, at);
        }
    }

    fn flows(&self, kind: FlowKind) -> Box<dyn Iterator<Item = &Flow> + '_> {
        match kind {
            FlowKind::OrderToCash => Box::new(self.orders.values()),
            FlowKind::ProcureToPay => Box::new(self.purchases.values()),
        }
    }

    /// Per step (after the first), the time from the step before it, over the documents `filter`
    /// admits that reached both.
    pub fn summary(&self, kind: FlowKind, filter: &Filter) -> Vec<StepStats> {
        let names = kind.steps();
        let mut durations: Vec<Vec<i64>> = vec![Vec::new(); names.len()];
        for flow in self.flows(kind).filter(|f| filter.admits(f)) {
            for (step, pair) in flow.at.windows(2).enumerate() {
                if let [Some(before), Some(after)] = pair {
                    durations[step + 1].push((after.0 - before.0).max(0));
                }
            }
        }
        (1..names.len())
            .map(|step| {
                let mut d = std::mem::take(&mut durations[step]);
                d.sort_unstable();
                let rank = |p: usize| d[(d.len() * p).div_ceil(100).max(1) - 1];
                if d.is_empty() {
                    return StepStats { step: names[step], ..StepStats::default() };
                }
                StepStats {
                    step: names[step],
                    count: d.len(),
                    mean_us: d.iter().sum::<i64>() / d.len() as i64,
                    p50_us: rank(50),
                    p90_us: rank(90),
                    p95_us: rank(95),
                    max_us: *d.last().expect("not empty"),
                }
            })
            .collect()
    }

    /// The step documents spend longest reaching (by mean; of equal ones the earlier, where the work
    /// piles up first), if any were measured.
    pub fn bottleneck(&self, kind: FlowKind, filter: &Filter) -> Option<&'static str> {
        let steps = self.summary(kind, filter);
        steps.into_iter().filter(|s| s.count > 0).rev().max_by_key(|s| s.mean_us).map(|s| s.step)
    }

    /// Per step, the documents (not cancelled) that reached the step before it and not it yet, and how
    /// long the oldest of them has been waiting at `now`.
    pub fn waiting(&self, kind: FlowKind, filter: &Filter, now: Timestamp) -> Vec<Waiting> {
        let names = kind.steps();
        let mut waiting: Vec<Waiting> =
            names.iter().map(|step| Waiting { step, ..Waiting::default() }).collect();
        for flow in self.flows(kind).filter(|f| !f.cancelled && filter.admits(f)) {
            let Some(last) = flow.at.iter().rposition(Option::is_some) else { continue };
            if last + 1 < names.len() {
                let since = flow.at[last].expect("reached");
                let entry = &mut waiting[last + 1];
                entry.count += 1;
                entry.oldest_us = entry.oldest_us.max(now.0 - since.0);
            }
        }
        waiting.into_iter().skip(1).collect()
    }

    /// One document's flow.
    pub fn order(&self, id: SalesOrderId) -> Option<&Flow> {
        self.orders.get(&id)
    }

    pub fn purchase(&self, id: PurchaseOrderId) -> Option<&Flow> {
        self.purchases.get(&id)
    }
}

impl crate::runtime::ReadModel for ProcessMetrics {
    const NAME: &'static str = "process-metrics";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &infra::Envelope<'_>, fact: &Fact) {
        ProcessMetrics::apply(self, fact, event.stream_id, event.occurred_at);
    }
}

#[cfg(test)]
mod tests {
    use domain::sales::invoice::{SalesInvoiceIssued, SalesInvoicePaid};
    use domain::sales::order::{SalesOrderCancelled, SalesOrderPlaced, SalesOrderReadyToPick};
    use domain::sales::shipment::{GoodsShipped, ShipmentCreated, ShipmentPicked};
    use domain::{PartnerId, SalesInvoiceId};
    use rust_decimal::Decimal;

    use super::*;
    use domain::sales::Channel;
    use uuid::Uuid;

    const HOUR: i64 = 3_600_000_000;
    const W1: WarehouseId = WarehouseId(Uuid::from_u128(1));
    const W2: WarehouseId = WarehouseId(Uuid::from_u128(2));

    fn h(hours: i64) -> Timestamp {
        Timestamp(1_794_000_000_000_000 + hours * HOUR)
    }

    fn order(n: u128) -> SalesOrderId {
        SalesOrderId(Uuid::from_u128(100 + n))
    }

    fn shipment(n: u128) -> ShipmentId {
        ShipmentId(Uuid::from_u128(200 + n))
    }

    fn invoice(n: u128) -> SalesInvoiceId {
        SalesInvoiceId(Uuid::from_u128(300 + n))
    }

    struct Script(ProcessMetrics);

    impl Script {
        fn order(&mut self, n: u128, event: SalesOrderEvent, at: i64) {
            self.0.apply(&Fact::SalesOrder(event), &format!("sales-order-{}", order(n)), h(at));
        }

        fn place(&mut self, n: u128, channel: Channel, warehouse: WarehouseId, at: i64) {
            let placed = SalesOrderPlaced {
                id: order(n),
                customer: PartnerId(Uuid::from_u128(9)),
                channel,
                warehouse,
                lines: Vec::new(),
                amount_net: Decimal::ZERO,
                amount_tax: Decimal::ZERO,
                amount_gross: Decimal::ZERO,
            };
            self.order(n, SalesOrderEvent::Placed(placed), at);
        }

        fn ship(&mut self, n: u128, warehouse: WarehouseId, picked: i64, shipped: i64) {
            let stream = format!("shipment-{}", shipment(n));
            let created = ShipmentCreated { id: shipment(n), order: order(n), warehouse, lines: Vec::new() };
            self.0.apply(&Fact::Shipment(ShipmentEvent::Created(created)), &stream, h(picked));
            let picked_event = ShipmentPicked { picked: Vec::new(), by: "kai".into() };
            self.0.apply(&Fact::Shipment(ShipmentEvent::Picked(picked_event)), &stream, h(picked));
            let left = GoodsShipped { id: shipment(n), order: order(n), warehouse, lines: Vec::new() };
            self.0.apply(&Fact::Shipment(ShipmentEvent::Shipped(left)), &stream, h(shipped));
        }

        fn invoice(&mut self, n: u128, at: i64) {
            let issued = SalesInvoiceIssued {
                id: invoice(n),
                customer: PartnerId(Uuid::from_u128(9)),
                shipments: vec![shipment(n)],
                lines: Vec::new(),
                amount_net: Decimal::ZERO,
                amount_tax: Decimal::ZERO,
                amount_gross: Decimal::ZERO,
                issued_at: h(at),
                due_at: h(at),
            };
            let stream = format!("sales-invoice-{}", invoice(n));
            self.0.apply(&Fact::SalesInvoice(SalesInvoiceEvent::Issued(issued)), &stream, h(at));
        }

        fn pay(&mut self, n: u128, at: i64) {
            let paid = SalesInvoiceEvent::Paid(SalesInvoicePaid { id: invoice(n) });
            self.0.apply(&Fact::SalesInvoice(paid), &format!("sales-invoice-{}", invoice(n)), h(at));
        }
    }

    fn taobao() -> Channel {
        Channel::Online { platform: "taobao".into(), platform_order_id: "TB1".into() }
    }

    /// The flows of docs: A (store, W1) done in 100 hours; B (Taobao, W1) invoiced, not paid; C (Taobao,
    /// W2) waiting for stock; D (store, W2) cancelled.
    fn scripted() -> ProcessMetrics {
        let mut s = Script(ProcessMetrics::default());
        let ready = |n| SalesOrderEvent::ReadyToPick(SalesOrderReadyToPick { id: order(n) });
        s.place(1, Channel::Store { store: "南京路店".into() }, W1, 0);
        s.order(1, ready(1), 1);
        s.ship(1, W1, 3, 4);
        s.invoice(1, 28);
        s.pay(1, 100);
        s.place(2, taobao(), W1, 2);
        s.order(2, ready(2), 2);
        s.ship(2, W1, 6, 10);
        s.invoice(2, 10);
        s.place(3, taobao(), W2, 5);
        s.place(4, Channel::Store { store: "南京路店".into() }, W2, 6);
        let cancelled = SalesOrderCancelled {
            id: order(4),
            reason: "customer changed their mind".into(),
            by: "li".into(),
            held: Vec::new(),
        };
        s.order(4, SalesOrderEvent::Cancelled(cancelled), 7);
        s.0
    }

    fn stats(s: &StepStats) -> (&'static str, usize, i64, i64, i64, i64) {
        (
            s.step,
            s.count,
            s.mean_us / HOUR * 10 + s.mean_us % HOUR * 10 / HOUR,
            s.p50_us / HOUR,
            s.p90_us / HOUR,
            s.max_us / HOUR,
        )
    }

    #[test]
    fn step_durations_percentiles_and_the_bottleneck_match_the_hand_computed_figures() {
        let metrics = scripted();
        let all = Filter::default();
        // (step, count, mean in tenths of an hour, p50 h, p90 h, max h), worked out by hand:
        // reserved A 1 h, B 0 h; picked A 2, B 4; shipped A 1, B 4; invoiced A 24, B 0; paid A 72.
        let summary: Vec<_> = metrics.summary(FlowKind::OrderToCash, &all).iter().map(stats).collect();
        assert_eq!(
            summary,
            vec![
                ("reserved", 2, 5, 0, 1, 1),
                ("picked", 2, 30, 2, 4, 4),
                ("shipped", 2, 25, 1, 4, 4),
                ("invoiced", 2, 120, 0, 24, 24),
                ("paid", 1, 720, 72, 72, 72),
            ]
        );
        assert_eq!(metrics.bottleneck(FlowKind::OrderToCash, &all), Some("paid"));
        let taobao = Filter { segment: Some("taobao".into()), ..Filter::default() };
        assert_eq!(metrics.summary(FlowKind::OrderToCash, &taobao)[0].count, 1, "only B was reserved");
        assert_eq!(
            metrics.bottleneck(FlowKind::OrderToCash, &taobao),
            Some("picked"),
            "B: 4 h picking and shipping; picking first"
        );
        let early = Filter { from: Some(h(0)), to: Some(h(2)), ..Filter::default() };
        assert_eq!(metrics.summary(FlowKind::OrderToCash, &early)[4].count, 1, "A entered in [0, 2) h");
    }

    #[test]
    fn open_documents_wait_in_the_step_they_have_not_reached_and_cancelled_ones_wait_for_nothing() {
        let metrics = scripted();
        let waiting: Vec<_> = metrics
            .waiting(FlowKind::OrderToCash, &Filter::default(), h(120))
            .into_iter()
            .map(|w| (w.step, w.count, w.oldest_us / HOUR))
            .collect();
        // C waits for its reservation since hour 5 (115 h); B for its payment since hour 10 (110 h).
        assert_eq!(
            waiting,
            vec![
                ("reserved", 1, 115),
                ("picked", 0, 0),
                ("shipped", 0, 0),
                ("invoiced", 0, 0),
                ("paid", 1, 110)
            ]
        );
        let w2 = Filter { warehouse: Some(W2), ..Filter::default() };
        assert_eq!(metrics.waiting(FlowKind::OrderToCash, &w2, h(120))[0].count, 1);
        assert_eq!(metrics.waiting(FlowKind::OrderToCash, &w2, h(120))[4].count, 0);
    }

    #[test]
    fn procure_to_pay_runs_from_the_requisition_or_from_the_order_when_there_was_none() {
        use domain::purchasing::invoice::{PurchaseInvoiceBooked, PurchaseInvoiceLine, PurchaseInvoicePaid};
        use domain::purchasing::order::{GoodsReceived, PurchaseOrderPlaced};
        use domain::purchasing::requisition::{RequisitionApproved, RequisitionSubmitted};
        use domain::{GoodsReceiptId, ItemId};
        let mut m = ProcessMetrics::default();
        let requisition = RequisitionId(Uuid::from_u128(1));
        let stream = format!("requisition-{requisition}");
        let submitted =
            RequisitionSubmitted { by: "li".into(), estimated_amount: Decimal::ONE, needs_approval: true };
        m.apply(&Fact::Requisition(RequisitionEvent::Submitted(submitted)), &stream, h(0));
        let approved = RequisitionApproved { by: "wang".into(), automatic: false };
        m.apply(&Fact::Requisition(RequisitionEvent::Approved(approved)), &stream, h(3));
        for (n, requisition, placed) in [(1u128, Some(requisition), 5), (2, None, 8)] {
            let po = PurchaseOrderId(Uuid::from_u128(10 + n));
            let stream = format!("purchase-order-{po}");
            let place = PurchaseOrderPlaced {
                id: po,
                supplier: PartnerId(Uuid::from_u128(9)),
                warehouse: W1,
                department: "采购部".into(),
                requisition,
                lines: Vec::new(),
                amount_net: Decimal::ZERO,
                by: "li".into(),
                over_budget: false,
            };
            m.apply(&Fact::PurchaseOrder(PurchaseOrderEvent::Placed(place)), &stream, h(placed));
            let received = GoodsReceived {
                id: po,
                receipt: GoodsReceiptId(Uuid::from_u128(20 + n)),
                warehouse: W1,
                supplier: PartnerId(Uuid::from_u128(9)),
                lines: Vec::new(),
                bin: None,
                lot: None,
                by: "kai".into(),
                invoice: None,
            };
            m.apply(&Fact::PurchaseOrder(PurchaseOrderEvent::Received(received)), &stream, h(29));
            let bill = PurchaseInvoiceId(Uuid::from_u128(30 + n));
            let line = PurchaseInvoiceLine {
                po,
                po_line: 0,
                item: ItemId(Uuid::from_u128(5)),
                qty: Decimal::ONE,
                unit_price: Decimal::ONE,
                vat_rate: Decimal::ZERO,
                amount_net: Decimal::ONE,
                amount_tax: Decimal::ZERO,
                ordered_price: Decimal::ONE,
                received_qty: Decimal::ONE,
            };
            let booked = PurchaseInvoiceBooked {
                id: bill,
                supplier: PartnerId(Uuid::from_u128(9)),
                number: "No.1".into(),
                lines: vec![line],
                amount_net: Decimal::ONE,
                amount_tax: Decimal::ZERO,
                amount_gross: Decimal::ONE,
                revalues_stock: true,
            };
            let stream = format!("purchase-invoice-{bill}");
            m.apply(&Fact::PurchaseInvoice(PurchaseInvoiceEvent::Booked(booked)), &stream, h(30));
            let paid = PurchaseInvoiceEvent::Paid(PurchaseInvoicePaid { id: bill });
            m.apply(&Fact::PurchaseInvoice(paid), &stream, h(60));
        }
        let summary: Vec<_> = m
            .summary(FlowKind::ProcureToPay, &Filter::default())
            .iter()
            .map(|s| (s.step, s.count, s.max_us / HOUR))
            .collect();
        // approved 3 h and ordered 2 h for the requisitioned order only; then both: received 24 and 21 h,
        // invoiced 1 h, paid 30 h.
        assert_eq!(
            summary,
            vec![
                ("approved", 1, 3),
                ("ordered", 1, 2),
                ("received", 2, 24),
                ("invoiced", 2, 1),
                ("paid", 2, 30)
            ]
        );
        assert_eq!(m.bottleneck(FlowKind::ProcureToPay, &Filter::default()), Some("paid"));
        let direct = m.purchase(PurchaseOrderId(Uuid::from_u128(12))).unwrap();
        assert_eq!(direct.started(), Some(h(8)), "an order without a requisition enters at ordered");
    }
}

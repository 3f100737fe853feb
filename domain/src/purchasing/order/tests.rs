//! Given / when / then for PurchaseOrder: the checks on placing, approvals, amendments, receipts with
//! tolerance, cancelling the remainder and closing.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::*;
use crate::inventory::CostingMethod;

fn meta(actor: &str, roles: &[Role]) -> CommandMeta {
    crate::testing::meta_with(actor, roles)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn id() -> PurchaseOrderId {
    PurchaseOrderId(Uuid::from_u128(3))
}

fn line(item: u128, qty: u32, price: &str) -> PoLineInput {
    PoLineInput {
        item: ItemId(Uuid::from_u128(item)),
        qty: Quantity::units(qty),
        unit_price: UnitAmount::new(d(price)).unwrap(),
        vat_rate: d("0.13"),
        policy: StockPolicy {
            costing: CostingMethod::MovingAverage,
            safety_stock: Decimal::ZERO,
            allow_negative: false,
        },
        available_now: d("4"),
    }
}

fn place(budget: &str) -> PurchaseOrderCommand {
    PurchaseOrderCommand::Place {
        id: id(),
        supplier: PartnerId(Uuid::from_u128(4)),
        warehouse: WarehouseId(Uuid::from_u128(5)),
        department: "采购部".into(),
        lines: vec![line(10, 100, "2.50"), line(11, 10, "9.99")],
        requisition: None,
        budget_remaining: d(budget),
        masters_usable: true,
    }
}

fn receive(receipt: u128, lines: &[(u32, u32)]) -> PurchaseOrderCommand {
    PurchaseOrderCommand::Receive {
        id: id(),
        receipt: GoodsReceiptId(Uuid::from_u128(receipt)),
        lines: lines.iter().map(|&(l, q)| (l, Quantity::units(q))).collect(),
        bin: Some("A-01".into()),
        lot: Some("L-1".into()),
        tolerance: d("0.05"),
        bin_known: true,
        invoice: None,
    }
}

/// Applies `(actor, roles, command)` steps that must all be accepted.
fn given(steps: &[(&str, &[Role], PurchaseOrderCommand)]) -> PurchaseOrder {
    let steps: Vec<_> =
        steps.iter().map(|(actor, roles, command)| (meta(actor, roles), command.clone())).collect();
    crate::testing::given::<PurchaseOrder>(&steps).state
}

fn code(state: &PurchaseOrder, actor: &str, roles: &[Role], command: PurchaseOrderCommand) -> &'static str {
    state.decide(&command, &meta(actor, roles)).expect_err("rejected").code()
}

const BUYER: &[Role] = &[Role::Purchasing];
const FINANCE: &[Role] = &[Role::Finance];

fn approved() -> PurchaseOrder {
    given(&[("li", BUYER, place("1000")), ("wang", BUYER, PurchaseOrderCommand::Approve { id: id() })])
}

#[test]
fn placing_records_the_stock_check_and_passes_the_budget_check_within_budget() {
    let events = PurchaseOrder::default().decide(&place("1000"), &meta("li", BUYER)).unwrap();
    let PurchaseOrderEvent::Placed(placed) = &events[0] else { panic!() };
    assert_eq!(placed.amount_net, d("349.90"));
    assert!(!placed.over_budget);
    assert_eq!(placed.lines[0].available_at_order, d("4"));
}

#[test]
fn an_order_naming_a_deactivated_supplier_or_item_is_rejected() {
    let PurchaseOrderCommand::Place {
        id,
        supplier,
        warehouse,
        department,
        lines,
        requisition,
        budget_remaining,
        ..
    } = place("1000")
    else {
        panic!()
    };
    let place = PurchaseOrderCommand::Place {
        id,
        supplier,
        warehouse,
        department,
        lines,
        requisition,
        budget_remaining,
        masters_usable: false,
    };
    assert_eq!(code(&PurchaseOrder::default(), "li", BUYER, place), "po.master_unusable");
}

#[test]
fn an_order_over_budget_waits_for_finance_before_it_can_be_approved() {
    let state = given(&[("li", BUYER, place("100"))]);
    assert_eq!(state.status, PurchaseOrderStatus::AwaitingBudget);
    assert_eq!(code(&state, "wang", BUYER, PurchaseOrderCommand::Approve { id: id() }), "po.wrong_status");
    assert_eq!(
        code(&state, "wang", BUYER, PurchaseOrderCommand::ApproveBudget { id: id() }),
        "po.not_allowed"
    );
    let state = given(&[
        ("li", BUYER, place("100")),
        ("zhao", FINANCE, PurchaseOrderCommand::ApproveBudget { id: id() }),
    ]);
    assert_eq!(state.status, PurchaseOrderStatus::Placed);
}

#[test]
fn approval_needs_purchasing_and_someone_other_than_the_buyer() {
    let state = given(&[("li", BUYER, place("1000"))]);
    assert_eq!(code(&state, "li", BUYER, PurchaseOrderCommand::Approve { id: id() }), "po.own_order");
    assert_eq!(code(&state, "zhao", FINANCE, PurchaseOrderCommand::Approve { id: id() }), "po.not_allowed");
    assert_eq!(approved().status, PurchaseOrderStatus::Approved);
}

#[test]
fn goods_are_received_partially_within_the_tolerance_and_the_order_completes() {
    let state = approved();
    assert_eq!(code(&state, "kai", &[], receive(1, &[(0, 106)])), "po.over_receipt");
    let partial = given(&[
        ("li", BUYER, place("1000")),
        ("wang", BUYER, PurchaseOrderCommand::Approve { id: id() }),
        ("kai", &[], receive(1, &[(0, 60)])),
    ]);
    assert_eq!(partial.status, PurchaseOrderStatus::PartiallyReceived);
    assert_eq!(code(&partial, "kai", &[], receive(1, &[(1, 1)])), "po.duplicate_receipt");
    assert_eq!(code(&partial, "kai", &[], receive(2, &[(9, 1)])), "po.unknown_line");
    let events = partial.decide(&receive(2, &[(0, 45), (1, 10)]), &meta("kai", &[])).unwrap();
    let PurchaseOrderEvent::Received(received) = &events[0] else { panic!() };
    assert_eq!(received.lines.len(), 2);
    assert_eq!(received.lot.as_deref(), Some("L-1"));
    let mut done = partial.clone();
    done.evolve(&events[0]);
    assert_eq!(done.status, PurchaseOrderStatus::Received, "105 of 100 is within 5 %");
}

#[test]
fn nothing_can_be_received_before_approval_or_amended_after_a_receipt() {
    let placed = given(&[("li", BUYER, place("1000"))]);
    assert_eq!(code(&placed, "kai", &[], receive(1, &[(0, 1)])), "po.wrong_status");
    let amended = placed
        .decide(
            &PurchaseOrderCommand::Amend {
                id: id(),
                lines: vec![line(10, 50, "2.40")],
                budget_remaining: d("1000"),
            },
            &meta("li", BUYER),
        )
        .unwrap();
    assert!(matches!(&amended[0], PurchaseOrderEvent::Amended(a) if a.amount_net == d("120.00")));
    let received = given(&[
        ("li", BUYER, place("1000")),
        ("wang", BUYER, PurchaseOrderCommand::Approve { id: id() }),
        ("kai", &[], receive(1, &[(0, 1)])),
    ]);
    let amend =
        PurchaseOrderCommand::Amend { id: id(), lines: vec![line(10, 1, "1")], budget_remaining: d("1000") };
    assert_eq!(code(&received, "li", BUYER, amend), "po.already_received");
}

#[test]
fn cancelling_the_remainder_lets_a_partly_received_order_close() {
    let partial = given(&[
        ("li", BUYER, place("1000")),
        ("wang", BUYER, PurchaseOrderCommand::Approve { id: id() }),
        ("kai", &[], receive(1, &[(0, 60)])),
    ]);
    assert_eq!(code(&partial, "li", BUYER, PurchaseOrderCommand::Close { id: id() }), "po.outstanding");
    let cancelled = given(&[
        ("li", BUYER, place("1000")),
        ("wang", BUYER, PurchaseOrderCommand::Approve { id: id() }),
        ("kai", &[], receive(1, &[(0, 60)])),
        (
            "li",
            BUYER,
            PurchaseOrderCommand::CancelRemainder { id: id(), reason: "supplier out of stock".into() },
        ),
    ]);
    assert_eq!(cancelled.status, PurchaseOrderStatus::Received);
    assert_eq!(cancelled.cancelled, vec![d("40"), d("10")]);
    assert!(cancelled.decide(&PurchaseOrderCommand::Close { id: id() }, &meta("li", BUYER)).is_ok());
    assert_eq!(
        code(&PurchaseOrder::default(), "li", BUYER, PurchaseOrderCommand::Close { id: id() }),
        "po.not_found"
    );
    assert_eq!(code(&approved(), "li", BUYER, place("1000")), "po.already_exists");
}

#[test]
fn an_order_whose_total_reaches_the_document_limit_is_refused_before_anything_is_committed() {
    // Every line within its own limits, the total not: 10^9 units at 10^9 is 10^18.
    let huge = |item| PoLineInput { qty: Quantity::units(1_000_000_000), ..line(item, 1, "1000000000") };
    let err = crate::purchasing::order::price_lines(&[huge(10), huge(11)]).unwrap_err();
    assert_eq!(err.code(), "po.amount_too_large");
    let PurchaseOrderCommand::Place {
        id,
        supplier,
        warehouse,
        department,
        requisition,
        budget_remaining,
        ..
    } = place("1000")
    else {
        panic!()
    };
    let place = PurchaseOrderCommand::Place {
        id,
        supplier,
        warehouse,
        department,
        lines: vec![huge(10)],
        requisition,
        budget_remaining,
        masters_usable: true,
    };
    assert_eq!(code(&PurchaseOrder::default(), "li", BUYER, place), "po.amount_too_large");
}

#[test]
fn goods_cannot_go_into_a_bin_the_warehouse_does_not_have() {
    let PurchaseOrderCommand::Receive { id, receipt, lines, bin, lot, tolerance, .. } =
        receive(1, &[(0, 10)])
    else {
        panic!()
    };
    let unknown = PurchaseOrderCommand::Receive {
        id,
        receipt,
        lines,
        bin,
        lot,
        tolerance,
        bin_known: false,
        invoice: None,
    };
    assert_eq!(code(&approved(), "kai", &[Role::Warehouse], unknown), "po.unknown_bin");
}

#[test]
fn an_invoiced_line_names_the_goods_and_warehouse_its_price_difference_falls_on_once() {
    let invoiced = |invoice_line: u32, line: u32| PurchaseOrderCommand::RecordInvoiced {
        id: id(),
        invoice: PurchaseInvoiceId(Uuid::from_u128(9)),
        invoice_line,
        line,
        qty: d("100"),
        difference: d("5.00"),
    };
    let received = given(&[
        ("li", BUYER, place("1000")),
        ("wang", BUYER, PurchaseOrderCommand::Approve { id: id() }),
        ("kai", &[], receive(20, &[(0, 100)])),
    ]);
    let events = received.decide(&invoiced(0, 0), &meta("finance", FINANCE)).unwrap();
    let [PurchaseOrderEvent::LineInvoiced(e)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(
        (e.item, e.warehouse, e.difference),
        (ItemId(Uuid::from_u128(10)), WarehouseId(Uuid::from_u128(5)), d("5.00"))
    );
    let mut after = received.clone();
    after.evolve(&events[0]);
    assert_eq!(after.invoiced[0], d("100"));
    assert!(after.decide(&invoiced(0, 0), &meta("finance", FINANCE)).unwrap().is_empty(), "recorded once");
    assert_eq!(code(&received, "finance", FINANCE, invoiced(1, 7)), "po.unknown_line");
    assert_eq!(code(&PurchaseOrder::default(), "finance", FINANCE, invoiced(0, 0)), "po.not_found");
}

#[test]
fn capitalized_freight_is_spread_by_received_value_and_the_last_line_takes_the_rounding() {
    let allocate = |amount: &str| PurchaseOrderCommand::AllocateFreight {
        id: id(),
        invoice: PurchaseInvoiceId(Uuid::from_u128(9)),
        amount: d(amount),
    };
    // Nothing received yet: by ordered value, 250.00 and 99.90.
    let ordered = approved();
    let events = ordered.decide(&allocate("10.00"), &meta("zhao", FINANCE)).unwrap();
    let [PurchaseOrderEvent::FreightAllocated(e)] = events.as_slice() else { panic!("{events:?}") };
    let shares: Vec<_> = e.shares.iter().map(|s| (s.line, s.qty, s.amount)).collect();
    // 10 × 250 / 349.90 = 7.1449 → 7.14; the last line takes 2.86.
    assert_eq!(shares, vec![(0, d("100"), d("7.14")), (1, d("10"), d("2.86"))]);
    // Once goods arrived, only what was received carries freight.
    let mut received = ordered.clone();
    for event in received.decide(&receive(20, &[(0, 40)]), &meta("kai", &[])).unwrap() {
        received.evolve(&event);
    }
    let events = received.decide(&allocate("10.00"), &meta("zhao", FINANCE)).unwrap();
    let [PurchaseOrderEvent::FreightAllocated(e)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!(
        e.shares.iter().map(|s| (s.line, s.qty, s.amount)).collect::<Vec<_>>(),
        vec![(0, d("40"), d("10.00"))]
    );
    let mut allocated = received.clone();
    allocated.evolve(&events[0]);
    assert!(
        allocated.decide(&allocate("10.00"), &meta("zhao", FINANCE)).unwrap().is_empty(),
        "once per invoice"
    );
}

#[test]
fn an_order_is_placed_only_for_an_approved_requisition_waiting_for_it() {
    use crate::purchasing::RequisitionStatus as S;
    assert_eq!(check_requisition(S::Approved), Ok(()));
    for unusable in [S::New, S::Draft, S::Submitted, S::Rejected, S::Converted] {
        let refused = check_requisition(unusable).unwrap_err();
        assert_eq!(refused.code(), "po.requisition_unusable", "{unusable:?}");
    }
}

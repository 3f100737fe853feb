//! Given / when / then for SalesOrder and the platform order claim.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::*;
use crate::ids::BookId;
use crate::sales::platform::{PlatformOrder, PlatformOrderCommand};

fn meta(actor: &str) -> CommandMeta {
    crate::testing::meta(actor)
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn id() -> SalesOrderId {
    SalesOrderId(Uuid::from_u128(50))
}

fn line(item: u128, qty: u32, price: &str) -> OrderLineInput {
    OrderLineInput {
        item: ItemId(Uuid::from_u128(item)),
        qty: Quantity::units(qty),
        unit_price: UnitAmount::new(d(price)).unwrap(),
        vat_rate: d("0.13"),
        default_supplier: Some(PartnerId(Uuid::from_u128(77))),
        warehouse: None,
    }
}

fn place(channel: Channel, lines: Vec<OrderLineInput>, limit: &str, open: &str) -> SalesOrderCommand {
    SalesOrderCommand::Place {
        id: id(),
        customer: PartnerId(Uuid::from_u128(60)),
        channel,
        warehouse: WarehouseId(Uuid::from_u128(70)),
        lines,
        credit: CreditFacts { limit: d(limit), open_receivables: d(open) },
        masters_usable: true,
    }
}

fn given(commands: &[SalesOrderCommand]) -> SalesOrder {
    crate::testing::given_by::<SalesOrder>("clerk", commands).state
}

fn code(state: &SalesOrder, command: SalesOrderCommand) -> &'static str {
    state.decide(&command, &meta("clerk")).expect_err("rejected").code()
}

fn two_lines() -> SalesOrderCommand {
    place(Channel::Direct, vec![line(1, 3, "10.005"), line(2, 1, "99.99")], "1000", "0")
}

#[test]
fn placing_prices_each_line_and_rounds_vat_per_line() {
    let events = SalesOrder::default().decide(&two_lines(), &meta("clerk")).unwrap();
    let SalesOrderEvent::Placed(placed) = &events[0] else { panic!() };
    // 3 × 10.005 = 30.015 → 30.02; VAT 13 % of 30.02 = 3.9026 → 3.90.
    assert_eq!((placed.lines[0].amount_net, placed.lines[0].amount_tax), (d("30.02"), d("3.90")));
    assert_eq!((placed.lines[1].amount_net, placed.lines[1].amount_tax), (d("99.99"), d("13.00")));
    assert_eq!(placed.amount_gross, d("146.91"));
}

#[test]
fn a_direct_order_beyond_the_credit_limit_is_rejected_but_a_shop_sale_is_not_checked() {
    let over = place(Channel::Direct, vec![line(1, 1, "100")], "200", "150");
    assert_eq!(code(&SalesOrder::default(), over), "sales.credit_limit_exceeded");
    let shop = place(Channel::Store { store: "南京路店".into() }, vec![line(1, 1, "100")], "0", "150");
    assert!(SalesOrder::default().decide(&shop, &meta("clerk")).is_ok());
}

#[test]
fn an_order_needs_lines_valid_vat_and_usable_masters() {
    assert_eq!(
        code(&SalesOrder::default(), place(Channel::Direct, vec![], "1000", "0")),
        "sales.invalid_lines"
    );
    let mut bad_vat = line(1, 1, "1");
    bad_vat.vat_rate = d("0.17");
    assert_eq!(
        code(&SalesOrder::default(), place(Channel::Direct, vec![bad_vat], "1000", "0")),
        "sales.invalid_vat_rate"
    );
    let SalesOrderCommand::Place { id, customer, channel, warehouse, lines, credit, .. } = two_lines() else {
        panic!()
    };
    let unusable =
        SalesOrderCommand::Place { id, customer, channel, warehouse, lines, credit, masters_usable: false };
    assert_eq!(code(&SalesOrder::default(), unusable), "sales.master_unusable");
    assert_eq!(code(&given(&[two_lines()]), two_lines()), "sales.order_exists");
}

#[test]
fn an_order_is_ready_to_pick_once_every_line_is_fully_reserved() {
    let state = given(&[
        two_lines(),
        SalesOrderCommand::RecordReservation { id: id(), line: 0, reserved: d("3"), backordered: d("0") },
    ]);
    assert!(!state.ready_to_pick);
    let events = state
        .decide(
            &SalesOrderCommand::RecordReservation {
                id: id(),
                line: 1,
                reserved: d("1"),
                backordered: d("0"),
            },
            &meta("p"),
        )
        .unwrap();
    assert!(matches!(events.last(), Some(SalesOrderEvent::ReadyToPick(_))));
}

#[test]
fn a_shortage_backorders_the_line_with_what_a_requisition_needs() {
    let events = given(&[two_lines()])
        .decide(
            &SalesOrderCommand::RecordReservation {
                id: id(),
                line: 0,
                reserved: d("1"),
                backordered: d("2"),
            },
            &meta("p"),
        )
        .unwrap();
    assert!(matches!(&events[0], SalesOrderEvent::LineReserved(r) if r.qty == d("1")));
    let SalesOrderEvent::LineBackordered(b) = &events[1] else { panic!("{events:?}") };
    assert_eq!(
        (b.qty, b.item, b.default_supplier),
        (d("2"), ItemId(Uuid::from_u128(1)), Some(PartnerId(Uuid::from_u128(77))))
    );
    assert_eq!(events.len(), 2, "not ready to pick while a line is short");
}

#[test]
fn a_line_cannot_account_for_more_than_was_ordered() {
    let state = given(&[two_lines()]);
    let over =
        SalesOrderCommand::RecordReservation { id: id(), line: 1, reserved: d("1"), backordered: d("1") };
    assert_eq!(code(&state, over), "sales.line_over_accounted");
    let unknown =
        SalesOrderCommand::RecordReservation { id: id(), line: 7, reserved: d("1"), backordered: d("0") };
    assert_eq!(code(&state, unknown), "sales.unknown_line");
}

#[test]
fn confirm_cancel_and_close_follow_the_life_cycle() {
    assert_eq!(
        code(&SalesOrder::default(), SalesOrderCommand::Confirm { id: id() }),
        "sales.order_not_found"
    );
    let confirmed = given(&[two_lines(), SalesOrderCommand::Confirm { id: id() }]);
    assert_eq!(confirmed.status, SalesOrderStatus::Confirmed);
    assert_eq!(code(&confirmed, SalesOrderCommand::Confirm { id: id() }), "sales.wrong_status");
    assert_eq!(code(&given(&[two_lines()]), SalesOrderCommand::Close { id: id() }), "sales.wrong_status");
    let closed =
        given(&[two_lines(), SalesOrderCommand::Confirm { id: id() }, SalesOrderCommand::Close { id: id() }]);
    assert_eq!(closed.status, SalesOrderStatus::Closed);
    let cancelled =
        given(&[two_lines(), SalesOrderCommand::Cancel { id: id(), reason: "customer changed mind".into() }]);
    assert_eq!(
        code(&cancelled, SalesOrderCommand::Cancel { id: id(), reason: "again".into() }),
        "sales.wrong_status"
    );
    let late =
        SalesOrderCommand::RecordReservation { id: id(), line: 0, reserved: d("3"), backordered: d("0") };
    assert!(
        matches!(cancelled.decide(&late, &meta("p")).unwrap()[..], [SalesOrderEvent::ReservationReturned(_)]),
        "a late reservation of a cancelled order is handed back, not recorded"
    );
}

#[test]
fn a_platform_order_id_names_one_sales_order_forever() {
    let claim = |order: u128| PlatformOrderCommand::Claim {
        book: BookId(Uuid::from_u128(1)),
        platform: "taobao".into(),
        platform_order_id: "TB-20261123-0001".into(),
        order: SalesOrderId(Uuid::from_u128(order)),
    };
    let mut state = PlatformOrder::default();
    for event in state.decide(&claim(1), &meta("shop")).unwrap() {
        state.evolve(&event);
    }
    assert!(
        state.decide(&claim(1), &meta("shop")).unwrap().is_empty(),
        "the same order claiming again is a no-op"
    );
    let err = state.decide(&claim(2), &meta("shop")).unwrap_err();
    assert_eq!(
        err,
        crate::sales::platform::PlatformOrderRejection::AlreadyPlaced(SalesOrderId(Uuid::from_u128(1)))
    );
    let blank = PlatformOrderCommand::Claim {
        book: BookId(Uuid::from_u128(1)),
        platform: " ".into(),
        platform_order_id: "x".into(),
        order: SalesOrderId(Uuid::from_u128(3)),
    };
    assert_eq!(
        PlatformOrder::default().decide(&blank, &meta("shop")).unwrap_err().code(),
        "sales.invalid_platform_order"
    );
}

#[test]
fn the_same_platform_order_id_in_two_books_is_two_claims_each_on_its_book_s_stream() {
    let claim = |book: u128| PlatformOrderCommand::Claim {
        book: BookId(Uuid::from_u128(book)),
        platform: "taobao".into(),
        platform_order_id: "123".into(),
        order: SalesOrderId(Uuid::from_u128(book)),
    };
    assert_eq!(
        PlatformOrder::stream_id(&claim(1)),
        "platform-order-00000000-0000-0000-0000-000000000001-taobao-123"
    );
    assert_ne!(PlatformOrder::stream_id(&claim(1)), PlatformOrder::stream_id(&claim(2)));
    assert_eq!(
        PlatformOrder::stream_id(&claim(2)),
        crate::sales::platform::platform_order_stream(BookId(Uuid::from_u128(2)), "taobao", "123")
    );
}

#[test]
fn shipments_are_recorded_per_line_and_the_order_is_shipped_when_every_line_is() {
    let state = given(&[two_lines(), SalesOrderCommand::RecordShipment { id: id(), line: 0, qty: d("3") }]);
    assert!(!state.fully_shipped);
    let over = SalesOrderCommand::RecordShipment { id: id(), line: 1, qty: d("2") };
    assert_eq!(code(&state, over), "sales.line_over_shipped");
    let events = state
        .decide(&SalesOrderCommand::RecordShipment { id: id(), line: 1, qty: d("1") }, &meta("p"))
        .unwrap();
    assert!(matches!(events.last(), Some(SalesOrderEvent::Shipped(_))));
}

#[test]
fn a_cancelled_order_names_the_lines_still_holding_stock() {
    let state = given(&[
        two_lines(),
        SalesOrderCommand::RecordReservation { id: id(), line: 0, reserved: d("3"), backordered: d("0") },
        SalesOrderCommand::RecordReservation { id: id(), line: 1, reserved: d("1"), backordered: d("0") },
        SalesOrderCommand::RecordShipment { id: id(), line: 1, qty: d("1") },
    ]);
    let events =
        state.decide(&SalesOrderCommand::Cancel { id: id(), reason: "late".into() }, &meta("li")).unwrap();
    let SalesOrderEvent::Cancelled(cancelled) = &events[0] else { panic!() };
    assert_eq!(cancelled.held.iter().map(|h| h.line).collect::<Vec<_>>(), vec![0], "line 1 has shipped");
}

#[test]
fn stock_reserved_after_the_order_was_cancelled_is_handed_back_and_a_late_shortage_changes_nothing() {
    let state = given(&[two_lines(), SalesOrderCommand::Cancel { id: id(), reason: "changed mind".into() }]);
    let late =
        SalesOrderCommand::RecordReservation { id: id(), line: 1, reserved: d("1"), backordered: d("0") };
    let events = state.decide(&late, &meta("stock")).unwrap();
    let [SalesOrderEvent::ReservationReturned(returned)] = events.as_slice() else { panic!("{events:?}") };
    assert_eq!((returned.line, returned.qty), (1, d("1")));
    assert_eq!(returned.item, state.lines[1].item);
    assert_eq!(returned.warehouse, state.lines[1].warehouse);
    let short =
        SalesOrderCommand::RecordReservation { id: id(), line: 0, reserved: d("0"), backordered: d("2") };
    assert_eq!(state.decide(&short, &meta("stock")).unwrap(), vec![]);
}

//! Given / when / then for every rule and rejection of StockItem, and property tests over random
//! command sequences.

use proptest::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::*;
use crate::testing::{self, Given};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn key() -> StockKey {
    StockKey { item: ItemId(Uuid::from_u128(1)), warehouse: WarehouseId(Uuid::from_u128(10)) }
}

fn policy(costing: CostingMethod) -> StockPolicy {
    StockPolicy { costing, safety_stock: Decimal::ZERO, allow_negative: false }
}

fn meta() -> CommandMeta {
    testing::meta("clerk")
}

fn doc(kind: &str) -> DocRef {
    DocRef { kind: kind.into(), id: Uuid::from_u128(5), line: None }
}

fn q(s: &str) -> Quantity {
    Quantity::new(d(s)).unwrap()
}

fn receive(qty: &str, cost: &str, lot: Option<&str>, costing: CostingMethod) -> StockCommand {
    StockCommand::Receive {
        key: key(),
        policy: policy(costing),
        qty: q(qty),
        unit_cost: UnitAmount::new(d(cost)).unwrap(),
        lot: lot.map(|l| Code::new("lot", l).unwrap()),
        bin: None,
        source: doc("purchasing.GoodsReceipt"),
    }
}

fn reservation(n: u128) -> ReservationId {
    ReservationId(Uuid::from_u128(n))
}

fn issue(qty: &str, reservation: Option<ReservationId>) -> StockCommand {
    StockCommand::Issue { key: key(), qty: q(qty), reservation, lot: None, source: doc("sales.Shipment") }
}

/// Given these commands were accepted (by a clerk).
fn given(commands: &[StockCommand]) -> Given<StockItem> {
    testing::given_by("clerk", commands)
}

#[test]
fn the_first_receipt_opens_the_stock_item_and_values_the_goods_at_cost() {
    let outcome = given(&[]).when(&meta(), &receive("10", "2.345", Some("L1"), CostingMethod::MovingAverage));
    let events = outcome.events();
    assert!(matches!(&events[0], StockEvent::Opened(o) if o.item == key().item));
    let StockEvent::Received(r) = &events[1] else { panic!("{events:?}") };
    assert_eq!((r.qty, r.value, r.lot.as_deref()), (d("10"), d("23.45"), Some("L1")));
    assert_eq!((outcome.after.on_hand, outcome.after.value), (d("10"), d("23.45")));
}

#[test]
fn a_second_receipt_does_not_open_again() {
    let outcome = given(&[receive("1", "1", None, CostingMethod::MovingAverage)])
        .when(&meta(), &receive("1", "1", None, CostingMethod::MovingAverage));
    assert_eq!(outcome.events().len(), 1);
}

#[test]
fn a_moving_average_issue_takes_its_rounded_share_of_the_value() {
    let outcome = given(&[
        receive("3", "1", None, CostingMethod::MovingAverage),
        receive("3", "2", None, CostingMethod::MovingAverage),
    ])
    .when(&meta(), &issue("1", None));
    // 6 units worth 9.00: one unit takes round(9 / 6) = 1.50.
    let StockEvent::Issued(e) = &outcome.events()[0] else { panic!() };
    assert_eq!(e.value, d("1.50"));
    assert_eq!((outcome.after.on_hand, outcome.after.value), (d("5"), d("7.50")));
}

#[test]
fn issuing_everything_takes_the_whole_value_and_leaves_no_residue() {
    let outcome = given(&[
        receive("3", "0.333", None, CostingMethod::MovingAverage),
        issue("1", None),
        issue("1", None),
    ])
    .when(&meta(), &issue("1", None));
    assert_eq!((outcome.after.on_hand, outcome.after.value), (Decimal::ZERO, Decimal::ZERO));
}

#[test]
fn a_fifo_issue_takes_the_oldest_layers_first_at_their_cost() {
    let outcome = given(&[
        receive("2", "10", Some("A"), CostingMethod::Fifo),
        receive("5", "12", Some("B"), CostingMethod::Fifo),
    ])
    .when(&meta(), &issue("3", None));
    let StockEvent::Issued(e) = &outcome.events()[0] else { panic!() };
    assert_eq!(
        e.takes,
        vec![
            LotTake { lot: Some("A".into()), qty: d("2"), value: d("20") },
            LotTake { lot: Some("B".into()), qty: d("1"), value: d("12") },
        ]
    );
    assert_eq!(e.value, d("32"));
    assert_eq!(outcome.after.value, d("48"));
    assert_eq!(outcome.after.layers.len(), 1);
}

#[test]
fn an_issue_from_a_named_lot_takes_only_that_lot() {
    let base = [
        receive("2", "10", Some("A"), CostingMethod::Fifo),
        receive("5", "12", Some("B"), CostingMethod::Fifo),
    ];
    let command = StockCommand::Issue {
        key: key(),
        qty: q("3"),
        reservation: None,
        lot: Some(Code::new("lot", "B").unwrap()),
        source: doc("sales.Shipment"),
    };
    let outcome = given(&base).when(&meta(), &command);
    let StockEvent::Issued(e) = &outcome.events()[0] else { panic!() };
    assert_eq!(e.takes, vec![LotTake { lot: Some("B".into()), qty: d("3"), value: d("36") }]);
    let too_much = StockCommand::Issue {
        key: key(),
        qty: q("3"),
        reservation: None,
        lot: Some(Code::new("lot", "A").unwrap()),
        source: doc("sales.Shipment"),
    };
    given(&base).when(&meta(), &too_much).rejected("stock.insufficient_lot");
}

#[test]
fn a_reservation_within_available_holds_the_goods() {
    let outcome = given(&[receive("10", "1", None, CostingMethod::MovingAverage)])
        .when(&meta(), &StockCommand::Reserve { key: key(), reservation: reservation(1), qty: q("4") });
    assert_eq!(outcome.after.available(), d("6"));
    assert_eq!(outcome.after.reserved, d("4"));
}

#[test]
fn a_reservation_beyond_available_is_rejected() {
    given(&[
        receive("10", "1", None, CostingMethod::MovingAverage),
        StockCommand::Reserve { key: key(), reservation: reservation(1), qty: q("8") },
    ])
    .when(&meta(), &StockCommand::Reserve { key: key(), reservation: reservation(2), qty: q("3") })
    .rejected("stock.insufficient");
    given(&[])
        .when(&meta(), &StockCommand::Reserve { key: key(), reservation: reservation(2), qty: q("1") })
        .rejected("stock.insufficient");
}

#[test]
fn the_same_reservation_cannot_be_made_twice() {
    given(&[
        receive("10", "1", None, CostingMethod::MovingAverage),
        StockCommand::Reserve { key: key(), reservation: reservation(1), qty: q("1") },
    ])
    .when(&meta(), &StockCommand::Reserve { key: key(), reservation: reservation(1), qty: q("1") })
    .rejected("stock.reservation_exists");
}

#[test]
fn releasing_gives_back_what_is_left_of_a_reservation_and_an_unknown_one_is_rejected() {
    let base = [
        receive("10", "1", None, CostingMethod::MovingAverage),
        StockCommand::Reserve { key: key(), reservation: reservation(1), qty: q("5") },
        issue("2", Some(reservation(1))),
    ];
    let outcome =
        given(&base).when(&meta(), &StockCommand::Release { key: key(), reservation: reservation(1) });
    assert_eq!(
        outcome.events()[0],
        StockEvent::Released(ReservationReleased { reservation: reservation(1), qty: d("3") })
    );
    assert_eq!(outcome.after.reserved, Decimal::ZERO);
    given(&base)
        .when(&meta(), &StockCommand::Release { key: key(), reservation: reservation(9) })
        .rejected("stock.reservation_unknown");
}

#[test]
fn an_issue_consumes_its_reservation_and_cannot_take_goods_reserved_for_others() {
    let base = [
        receive("10", "1", None, CostingMethod::MovingAverage),
        StockCommand::Reserve { key: key(), reservation: reservation(1), qty: q("6") },
    ];
    let outcome = given(&base).when(&meta(), &issue("6", Some(reservation(1))));
    assert_eq!((outcome.after.on_hand, outcome.after.reserved), (d("4"), Decimal::ZERO));
    assert!(outcome.after.reservations.is_empty());
    given(&base).when(&meta(), &issue("5", None)).rejected("stock.insufficient");
    given(&base).when(&meta(), &issue("1", Some(reservation(3)))).rejected("stock.reservation_unknown");
}

#[test]
fn with_negative_stock_allowed_an_issue_beyond_on_hand_is_costed_at_the_last_unit_cost() {
    let mut negative = policy(CostingMethod::MovingAverage);
    negative.allow_negative = true;
    let first = StockCommand::Receive {
        key: key(),
        policy: negative,
        qty: q("2"),
        unit_cost: UnitAmount::new(d("3")).unwrap(),
        lot: None,
        bin: None,
        source: doc("purchasing.GoodsReceipt"),
    };
    let outcome = given(std::slice::from_ref(&first)).when(&meta(), &issue("5", None));
    let StockEvent::Issued(e) = &outcome.events()[0] else { panic!() };
    assert_eq!((e.value, e.uncovered_qty), (d("15"), d("3")));
    assert_eq!((outcome.after.on_hand, outcome.after.value), (d("-3"), d("-9")));
    let back = given(&[first, issue("5", None)])
        .when(&meta(), &receive("4", "3", None, CostingMethod::MovingAverage));
    assert_eq!((back.after.on_hand, back.after.value), (d("1"), d("3")));
}

#[test]
fn a_transfer_out_carries_cost_and_lots_and_cannot_go_to_the_same_warehouse() {
    let base = [receive("4", "2.5", Some("L9"), CostingMethod::Fifo)];
    let to = WarehouseId(Uuid::from_u128(11));
    let transfer = TransferId(Uuid::from_u128(3));
    let outcome = given(&base)
        .when(&meta(), &StockCommand::TransferOut { key: key(), transfer, line: 0, to, qty: q("3") });
    let StockEvent::TransferredOut(e) = &outcome.events()[0] else { panic!() };
    assert_eq!((e.value, e.takes.len()), (d("7.5"), 1));
    given(&base)
        .when(
            &meta(),
            &StockCommand::TransferOut { key: key(), transfer, line: 0, to: key().warehouse, qty: q("1") },
        )
        .rejected("stock.transfer_to_same_warehouse");
    given(&base)
        .when(&meta(), &StockCommand::TransferOut { key: key(), transfer, line: 0, to, qty: q("5") })
        .rejected("stock.insufficient");
}

#[test]
fn a_transfer_in_arrives_with_the_cost_and_lots_it_left_with() {
    let receiving = StockKey { item: key().item, warehouse: WarehouseId(Uuid::from_u128(11)) };
    let command = StockCommand::TransferIn {
        key: receiving,
        policy: policy(CostingMethod::Fifo),
        transfer: TransferId(Uuid::from_u128(3)),
        line: 0,
        from: key().warehouse,
        qty: q("3"),
        value: d("7.5"),
        lots: vec![LotTake { lot: Some("L9".into()), qty: d("3"), value: d("7.5") }],
    };
    let outcome = given(&[]).when(&meta(), &command);
    assert_eq!((outcome.after.on_hand, outcome.after.value), (d("3"), d("7.5")));
    assert_eq!(outcome.after.layers[0].lot.as_deref(), Some("L9"));
}

#[test]
fn a_stock_gain_is_valued_at_the_given_or_last_cost_and_needs_one() {
    let gain = |cost: Option<&str>| StockCommand::Adjust {
        key: key(),
        policy: policy(CostingMethod::MovingAverage),
        qty_delta: d("2"),
        unit_cost: cost.map(|c| UnitAmount::new(d(c)).unwrap()),
        reason: Code::new("reason", "stocktake").unwrap(),
        source: doc("inventory.Stocktake"),
        loss: None,
    };
    let outcome = given(&[receive("1", "4", None, CostingMethod::MovingAverage)]).when(&meta(), &gain(None));
    assert_eq!(outcome.after.value, d("12"));
    let outcome = given(&[]).when(&meta(), &gain(Some("1.5")));
    assert_eq!(outcome.after.value, d("3"));
    given(&[]).when(&meta(), &gain(None)).rejected("stock.gain_without_cost");
}

#[test]
fn a_stock_loss_cannot_undercut_reservations_and_zero_changes_nothing() {
    let loss = |delta: &str| StockCommand::Adjust {
        key: key(),
        policy: policy(CostingMethod::MovingAverage),
        qty_delta: d(delta),
        unit_cost: None,
        reason: Code::new("reason", "damaged").unwrap(),
        source: doc("inventory.Stocktake"),
        loss: None,
    };
    let base = [
        receive("10", "1", None, CostingMethod::MovingAverage),
        StockCommand::Reserve { key: key(), reservation: reservation(1), qty: q("8") },
    ];
    let outcome = given(&base).when(&meta(), &loss("-2"));
    assert_eq!((outcome.after.on_hand, outcome.after.value), (d("8"), d("8")));
    given(&base).when(&meta(), &loss("-3")).rejected("stock.adjustment_below_reserved");
    given(&base).when(&meta(), &loss("0")).rejected("stock.zero_adjustment");
    given(&[]).when(&meta(), &loss("-1")).rejected("stock.not_opened");
    // A loss's treatment is carried to the event; a gain cannot have one, nor a negative compensation.
    let treatment = LossTreatment {
        abnormal_vat_rate: Some(d("0.13")),
        compensation: d("1.00"),
        liable: Some("王五".into()),
    };
    let treated = |delta: &str, treatment: &LossTreatment| match loss(delta) {
        StockCommand::Adjust { loss: _, key, policy, qty_delta, unit_cost, reason, source } => {
            StockCommand::Adjust {
                key,
                policy,
                qty_delta,
                unit_cost,
                reason,
                source,
                loss: Some(treatment.clone()),
            }
        }
        _ => unreachable!(),
    };
    let outcome = given(&base).when(&meta(), &treated("-1", &treatment));
    let [StockEvent::Adjusted(adjusted)] = outcome.events() else { panic!("{:?}", outcome.events()) };
    assert_eq!(adjusted.loss, Some(treatment.clone()));
    given(&base).when(&meta(), &treated("1", &treatment)).rejected("stock.invalid_loss_treatment");
    let negative = LossTreatment { compensation: d("-1"), ..treatment };
    given(&base).when(&meta(), &treated("-1", &negative)).rejected("stock.invalid_loss_treatment");
}

#[test]
fn falling_below_safety_stock_alerts_once_until_stock_recovers() {
    let mut safe = policy(CostingMethod::MovingAverage);
    safe.safety_stock = d("5");
    let first = StockCommand::Receive {
        key: key(),
        policy: safe,
        qty: q("10"),
        unit_cost: UnitAmount::new(d("1")).unwrap(),
        lot: None,
        bin: None,
        source: doc("purchasing.GoodsReceipt"),
    };
    let outcome = given(std::slice::from_ref(&first)).when(&meta(), &issue("6", None));
    assert!(matches!(outcome.events().last(), Some(StockEvent::FellBelowSafety(f)) if f.available == d("4")));
    let again = given(&[first.clone(), issue("6", None)]).when(&meta(), &issue("1", None));
    assert_eq!(again.events().len(), 1, "no second alert while still below");
    let recovered = given(&[first, issue("6", None), receive("5", "1", None, CostingMethod::MovingAverage)]);
    assert!(!recovered.state.below_safety_alerted);
    let outcome = recovered.when(&meta(), &issue("5", None));
    assert!(
        matches!(outcome.events().last(), Some(StockEvent::FellBelowSafety(_))),
        "re-armed after recovery"
    );
}

#[test]
fn a_command_for_another_stock_item_is_rejected() {
    let other = StockKey { item: ItemId(Uuid::from_u128(2)), warehouse: key().warehouse };
    given(&[receive("1", "1", None, CostingMethod::MovingAverage)])
        .when(&meta(), &StockCommand::Reserve { key: other, reservation: reservation(1), qty: q("1") })
        .rejected("stock.wrong_stream");
}

#[test]
fn a_policy_change_is_recorded_once_and_needs_an_open_stock_item() {
    let mut changed = policy(CostingMethod::MovingAverage);
    changed.safety_stock = d("3");
    let outcome = given(&[receive("10", "1", None, CostingMethod::MovingAverage)])
        .when(&meta(), &StockCommand::ChangePolicy { key: key(), policy: changed.clone() });
    assert_eq!(outcome.after.policy, Some(changed.clone()));
    let same = given(&[receive("10", "1", None, CostingMethod::MovingAverage)]).when(
        &meta(),
        &StockCommand::ChangePolicy { key: key(), policy: policy(CostingMethod::MovingAverage) },
    );
    assert!(same.events().is_empty());
    given(&[])
        .when(&meta(), &StockCommand::ChangePolicy { key: key(), policy: changed })
        .rejected("stock.not_opened");
    let mut bad = policy(CostingMethod::Fifo);
    bad.safety_stock = d("-1");
    given(&[])
        .when(
            &meta(),
            &StockCommand::Receive {
                key: key(),
                policy: bad,
                qty: q("1"),
                unit_cost: UnitAmount::new(d("1")).unwrap(),
                lot: None,
                bin: None,
                source: doc("x"),
            },
        )
        .rejected("stock.invalid_policy");
}

// ---- properties ----

fn command_strategy(costing: CostingMethod) -> impl Strategy<Value = StockCommand> {
    let qty = (1u32..40, 0u32..4).prop_map(|(whole, quarter)| {
        Quantity::new(Decimal::from(whole) + Decimal::new(quarter as i64 * 25, 2)).unwrap()
    });
    let cost = (0u32..100_000).prop_map(|c| UnitAmount::new(Decimal::new(c as i64, 3)).unwrap());
    let lot = prop_oneof![Just(None), Just(Some("A")), Just(Some("B"))];
    prop_oneof![
        3 => (qty.clone(), cost, lot.clone()).prop_map(move |(qty, unit_cost, lot)| StockCommand::Receive {
            key: key(),
            policy: policy(costing),
            qty,
            unit_cost,
            lot: lot.map(|l| Code::new("lot", l).unwrap()),
            bin: None,
            source: doc("p"),
        }),
        2 => (0u128..4, qty.clone()).prop_map(|(r, qty)| StockCommand::Reserve { key: key(), reservation: reservation(r), qty }),
        1 => (0u128..4).prop_map(|r| StockCommand::Release { key: key(), reservation: reservation(r) }),
        3 => (qty.clone(), prop::option::of(0u128..4), lot).prop_map(|(qty, r, lot)| StockCommand::Issue {
            key: key(),
            qty,
            reservation: r.map(reservation),
            lot: lot.map(|l| Code::new("lot", l).unwrap()),
            source: doc("s"),
        }),
        1 => (-30i64..30).prop_map(move |delta| StockCommand::Adjust {
            key: key(),
            policy: policy(costing),
            qty_delta: Decimal::from(delta),
            unit_cost: None,
            reason: Code::new("reason", "count").unwrap(),
            source: doc("t"),
            loss: None,
        }),
    ]
}

fn check_sequence(commands: Vec<StockCommand>) -> Result<(), TestCaseError> {
    let mut state = StockItem::default();
    let mut log = Vec::new();
    let (mut cheapest, mut dearest, mut seen) = (Decimal::MAX, Decimal::ZERO, 0usize);
    for command in &commands {
        if let Ok(events) = state.decide(command, &meta()) {
            for event in events {
                state.evolve(&event); // evolve asserts the invariants after every event
                log.push(event);
            }
        }
        prop_assert!(state.on_hand >= Decimal::ZERO);
        prop_assert!(state.reserved <= state.on_hand);
        prop_assert!(state.value >= Decimal::ZERO);
        if state.on_hand.is_zero() {
            prop_assert_eq!(state.value, Decimal::ZERO, "no residue once everything left");
        }
        // Stock value = quantity × cost within rounding: between the cheapest and the dearest unit cost
        // ever received, give or take a cent per movement.
        for event in &log[seen..] {
            let cost = match event {
                StockEvent::Received(r) => Some(r.unit_cost),
                StockEvent::Adjusted(a) if a.qty_delta > Decimal::ZERO => Some(a.unit_cost),
                _ => None,
            };
            if let Some(cost) = cost {
                cheapest = cheapest.min(cost);
                dearest = dearest.max(cost);
            }
        }
        seen = log.len();
        let slack = Decimal::new(log.len() as i64, 2);
        if state.on_hand > Decimal::ZERO {
            prop_assert!(
                state.value >= state.on_hand * cheapest - slack,
                "value {} below cheapest",
                state.value
            );
            prop_assert!(
                state.value <= state.on_hand * dearest + slack,
                "value {} above dearest",
                state.value
            );
        }
    }
    prop_assert_eq!(StockItem::fold(&log), state, "replaying the events rebuilds the same state");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_moving_average_sequences_keep_the_invariants_and_replay_to_the_same_state(
        commands in prop::collection::vec(command_strategy(CostingMethod::MovingAverage), 1..60)
    ) {
        check_sequence(commands)?;
    }

    #[test]
    fn random_fifo_sequences_keep_the_invariants_and_replay_to_the_same_state(
        commands in prop::collection::vec(command_strategy(CostingMethod::Fifo), 1..60)
    ) {
        check_sequence(commands)?;
    }
}

fn reserve_for_doc(n: u128, qty: &str) -> StockCommand {
    StockCommand::ReserveForDocument {
        key: key(),
        reservation: reservation(n),
        qty: q(qty),
        for_doc: DocRef { kind: "sales.SalesOrder".into(), id: Uuid::from_u128(n), line: Some(0) },
    }
}

#[test]
fn reserving_for_a_document_holds_what_is_available_and_records_the_shortage() {
    let outcome = given(&[receive("3", "1", None, CostingMethod::MovingAverage)])
        .when(&meta(), &reserve_for_doc(1, "5"));
    let events = outcome.events();
    assert!(matches!(&events[0], StockEvent::Reserved(r) if r.qty == d("3") && r.for_doc.is_some()));
    assert!(
        matches!(&events[1], StockEvent::ReservationShort(s) if s.short == d("2") && s.requested == d("5"))
    );
    assert_eq!(outcome.after.available(), Decimal::ZERO);
}

#[test]
fn reserving_for_a_document_with_nothing_available_records_only_the_shortage() {
    let outcome = given(&[]).when(&meta(), &reserve_for_doc(1, "2"));
    assert_eq!(outcome.events().len(), 1);
    assert!(matches!(&outcome.events()[0], StockEvent::ReservationShort(s) if s.short == d("2")));
    assert_eq!(outcome.after.reserved, Decimal::ZERO);
}

#[test]
fn reserving_for_a_document_twice_with_the_same_reservation_changes_nothing() {
    let outcome = given(&[receive("3", "1", None, CostingMethod::MovingAverage), reserve_for_doc(1, "1")])
        .when(&meta(), &reserve_for_doc(1, "1"));
    assert!(outcome.events().is_empty());
}

fn revalue(qty: &str, amount: &str) -> StockCommand {
    StockCommand::Revalue {
        key: key(),
        qty: q(qty),
        amount: d(amount),
        source: doc("purchasing.PurchaseInvoice"),
    }
}

fn revalued(outcome: &testing::Outcome<StockItem>) -> StockRevalued {
    match outcome.events() {
        [StockEvent::Revalued(r)] => r.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_cost_difference_on_goods_still_on_hand_raises_their_value() {
    let outcome =
        given(&[receive("10", "10", None, CostingMethod::MovingAverage)]).when(&meta(), &revalue("10", "5"));
    let r = revalued(&outcome);
    assert_eq!((r.to_stock, r.to_cost), (d("5"), d("0")));
    assert_eq!(outcome.after.value, d("105"));
}

#[test]
fn the_part_of_a_difference_on_goods_already_gone_goes_to_cost_rounded_half_up() {
    // 10 received at 10.00, 7 sold: a 10.00 difference on the 10 falls 3/10 on stock (3.00), 7.00 to cost.
    let base = [receive("10", "10", None, CostingMethod::MovingAverage), issue("7", None)];
    let r = revalued(&given(&base).when(&meta(), &revalue("10", "10")));
    assert_eq!((r.to_stock, r.to_cost), (d("3.00"), d("7.00")));
    // 3 of 9 on hand: 1/3 of 1.00 is 0.33 (half-up), 0.67 to cost.
    let r = revalued(&given(&base).when(&meta(), &revalue("9", "1")));
    assert_eq!((r.to_stock, r.to_cost), (d("0.33"), d("0.67")));
    // Nothing on hand (or never received here): everything to cost.
    let r = revalued(&given(&[]).when(&meta(), &revalue("5", "2.50")));
    assert_eq!((r.to_stock, r.to_cost), (d("0"), d("2.50")));
}

#[test]
fn a_lower_cost_never_takes_the_stock_below_zero() {
    let base = [receive("1", "1", None, CostingMethod::MovingAverage)];
    let outcome = given(&base).when(&meta(), &revalue("1", "-5"));
    let r = revalued(&outcome);
    assert_eq!((r.to_stock, r.to_cost), (d("-1"), d("-4")));
    assert_eq!(outcome.after.value, d("0"));
    given(&base).when(&meta(), &revalue("1", "0.001")).rejected("stock.invalid_revaluation");
}

#[test]
fn a_fifo_difference_lands_on_the_newest_layers_so_later_issues_carry_it() {
    let base = [
        receive("5", "10", Some("A"), CostingMethod::Fifo),
        receive("5", "12", Some("B"), CostingMethod::Fifo),
    ];
    let outcome = given(&base).when(&meta(), &revalue("5", "-10"));
    let r = revalued(&outcome);
    assert_eq!(r.layers, vec![LotTake { lot: Some("B".into()), qty: d("5"), value: d("-10") }]);
    let layers: Vec<_> = outcome.after.layers.iter().map(|l| l.value).collect();
    assert_eq!(layers, vec![d("50"), d("50")]);
    // Issuing all ten now takes 100.00: the difference travelled with the goods.
    let mut after = base.to_vec();
    after.push(revalue("5", "-10"));
    let issued = given(&after).when(&meta(), &issue("10", None));
    let [StockEvent::Issued(i)] = issued.events() else { panic!() };
    assert_eq!(i.value, d("100"));
}

fn revaluing_strategy(costing: CostingMethod) -> impl Strategy<Value = StockCommand> {
    let qty = (1u32..20).prop_map(Quantity::units);
    prop_oneof![
        2 => (qty.clone(), 0u32..5_000).prop_map(move |(qty, c)| StockCommand::Receive {
            key: key(),
            policy: policy(costing),
            qty,
            unit_cost: UnitAmount::new(Decimal::new(c as i64, 2)).unwrap(),
            lot: None,
            bin: None,
            source: doc("p"),
        }),
        2 => qty.clone().prop_map(|qty| StockCommand::Issue { key: key(), qty, reservation: None, lot: None, source: doc("s") }),
        2 => (qty, -10_000i64..10_000).prop_map(|(qty, cents)| StockCommand::Revalue {
            key: key(),
            qty,
            amount: Decimal::new(cents, 2),
            source: doc("i"),
        }),
    ]
}

fn check_revaluations(commands: Vec<StockCommand>) -> Result<(), TestCaseError> {
    let mut state = StockItem::default();
    let mut log = Vec::new();
    let mut value_in = Decimal::ZERO;
    for command in &commands {
        if let Ok(events) = state.decide(command, &meta()) {
            for event in events {
                match &event {
                    StockEvent::Received(r) => value_in += r.value,
                    StockEvent::Issued(i) => value_in -= i.value,
                    StockEvent::Revalued(r) => {
                        prop_assert_eq!(r.to_stock + r.to_cost, r.amount);
                        value_in += r.to_stock;
                    }
                    _ => {}
                }
                state.evolve(&event);
                log.push(event);
            }
        }
        prop_assert_eq!(state.value, value_in, "the value is what came in, less what went out");
        prop_assert!(state.value >= Decimal::ZERO);
        prop_assert!(state.layers.iter().all(|l| l.value >= Decimal::ZERO), "{:?}", state.layers);
        if state.on_hand.is_zero() {
            prop_assert_eq!(state.value, Decimal::ZERO, "no residue once everything left");
        }
    }
    prop_assert_eq!(StockItem::fold(&log), state, "replaying the events rebuilds the same state");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn revaluations_keep_the_value_equal_to_what_came_in_less_what_left_and_no_layer_below_zero(
        commands in prop::collection::vec(revaluing_strategy(CostingMethod::Fifo), 1..50),
        average in prop::collection::vec(revaluing_strategy(CostingMethod::MovingAverage), 1..50),
    ) {
        check_revaluations(commands)?;
        check_revaluations(average)?;
    }
}

#[test]
fn a_stock_stream_names_its_key_and_other_streams_name_none() {
    assert_eq!(StockKey::from_stream_id(&key().stream_id()), Some(key()));
    assert_eq!(StockKey::from_stream_id("sales-order-1"), None);
    assert_eq!(StockKey::from_stream_id("stock-not-a-key"), None);
}

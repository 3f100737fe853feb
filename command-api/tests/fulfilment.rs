//! Order fulfilment end to end on the embedded store: the race for the last units through the process
//! manager (exactly ten reserved, ninety backordered with requisitions), exactly-once effects across
//! restarts, and idempotent placement of platform orders.

use std::time::Duration;

use command_api::sales::{Placement, place_sales_order};
use command_api::{BusError, CommandBus, FileCheckpoints, ProcessRunner};
use domain::inventory::{CostingMethod, DocRef, StockCommand, StockItem, StockKey, StockPolicy};
use domain::process::order_fulfilment::OrderFulfilment;
use domain::sales::{Channel, CreditFacts, OrderLineInput, SalesOrderCommand, SalesOrderRejection};
use domain::values::{Quantity, UnitAmount};
use domain::{BookId, CommandId, CommandMeta, ItemId, PartnerId, SalesOrderId, Timestamp, WarehouseId};
use infra::{EmbeddedStore, EventStore};
use rust_decimal::Decimal;
use uuid::Uuid;

fn meta(n: u128) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), "shop", BookId(Uuid::from_u128(1)), Timestamp(0))
}

fn item() -> ItemId {
    ItemId(Uuid::from_u128(10))
}

fn warehouse() -> WarehouseId {
    WarehouseId(Uuid::from_u128(20))
}

/// The masters the orders here name: the customer, the item, the warehouses (placement reads them).
async fn masters(bus: &CommandBus<EmbeddedStore>) {
    masters_in(bus, meta, 0).await;
}

/// [`masters`] recorded with `meta`'s book, their ids shifted by `shift` (ids name streams, and a
/// stream belongs to one book).
async fn masters_in(bus: &CommandBus<EmbeddedStore>, meta: impl Fn(u128) -> CommandMeta, shift: u128) {
    use domain::master::{
        Item, ItemCommand, ItemDetails, Partner, PartnerCommand, PartnerDetails, PartnerRoles, Warehouse,
        WarehouseCommand, WarehouseDetails,
    };
    let customer = PartnerDetails {
        name: "华东贸易".into(),
        roles: PartnerRoles { customer: true, supplier: false },
        tax_id: None,
        credit_limit: Decimal::ZERO,
        payment_terms_days: 30,
        region: "上海".into(),
    };
    let create = PartnerCommand::Create { id: PartnerId(Uuid::from_u128(30 + shift)), details: customer };
    bus.execute::<Partner>(&meta(900_001), &create).await.unwrap();
    let details = ItemDetails {
        sku: "SKU-10".into(),
        name: "保温杯".into(),
        unit: "个".into(),
        barcode: None,
        vat_rate: Decimal::new(13, 2),
        costing: CostingMethod::Fifo,
        safety_stock: Decimal::ZERO,
        reorder_qty: Decimal::ZERO,
        default_supplier: Some(PartnerId(Uuid::from_u128(40))),
        lead_time_days: 7,
        kind: domain::master::ItemKind::Goods,
    };
    let id = ItemId(Uuid::from_u128(10 + shift));
    bus.execute::<Item>(&meta(900_002 + shift), &ItemCommand::Create { id, details }).await.unwrap();
    for n in [20u128, 21, 22] {
        let details = WarehouseDetails {
            code: format!("W{n}"),
            name: format!("仓库 {n}"),
            city: "上海".into(),
            latitude: Decimal::new(3123, 2),
            longitude: Decimal::new(12147, 2),
            bins: Vec::new(),
        };
        let create = WarehouseCommand::Create { id: WarehouseId(Uuid::from_u128(n + shift)), details };
        bus.execute::<Warehouse>(&meta(900_000 + n + shift), &create).await.unwrap();
    }
}

/// The masters, then `units` of the item in the warehouse.
async fn stock_up(bus: &CommandBus<EmbeddedStore>, units: u32) {
    masters(bus).await;
    let receive = StockCommand::Receive {
        key: StockKey { item: item(), warehouse: warehouse() },
        policy: StockPolicy {
            costing: CostingMethod::Fifo,
            safety_stock: Decimal::ZERO,
            allow_negative: false,
        },
        qty: Quantity::units(units),
        unit_cost: UnitAmount::new(Decimal::new(1200, 2)).unwrap(),
        lot: None,
        bin: None,
        source: DocRef { kind: "purchasing.GoodsReceipt".into(), id: Uuid::from_u128(1), line: None },
    };
    bus.execute::<StockItem>(&meta(1), &receive).await.unwrap();
}

fn order(n: u128, channel: Channel) -> SalesOrderCommand {
    order_in(n, channel, 0)
}

/// [`order`] naming the masters of [`masters_in`] with ids shifted by `shift`.
fn order_in(n: u128, channel: Channel, shift: u128) -> SalesOrderCommand {
    SalesOrderCommand::Place {
        id: SalesOrderId(Uuid::from_u128(1_000 + n)),
        customer: PartnerId(Uuid::from_u128(30 + shift)),
        channel,
        warehouse: WarehouseId(Uuid::from_u128(20 + shift)),
        lines: vec![OrderLineInput {
            item: ItemId(Uuid::from_u128(10 + shift)),
            qty: Quantity::units(1),
            unit_price: UnitAmount::new(Decimal::new(2990, 2)).unwrap(),
            vat_rate: Decimal::new(13, 2),
            default_supplier: Some(PartnerId(Uuid::from_u128(40))),
            warehouse: None,
        }],
        credit: CreditFacts { limit: Decimal::ZERO, open_receivables: Decimal::ZERO },
        masters_usable: true,
    }
}

fn shop() -> Channel {
    Channel::Store { store: "南京路店".into() }
}

/// Counts events by type name over the whole log.
async fn count(store: &EmbeddedStore, name: &str) -> usize {
    let mut total = 0;
    let mut from = 1;
    loop {
        let page = store.read_all(from, 10_000).await.unwrap();
        let Some(last) = page.last() else { return total };
        from = last.position + 1;
        total += page.iter().filter(|e| e.event_type.name() == name).count();
    }
}

async fn place_concurrently(bus: &CommandBus<EmbeddedStore>, orders: u128) {
    let mut tasks = Vec::new();
    for n in 0..orders {
        let bus = bus.clone();
        tasks.push(tokio::spawn(
            async move { place_sales_order(&bus, &meta(100 + n), &order(n, shop())).await },
        ));
    }
    for task in tasks {
        assert!(matches!(task.await.unwrap().unwrap(), Placement::Placed(_)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_orders_for_ten_units_reserve_ten_and_backorder_ninety_with_requisitions() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    stock_up(&bus, 10).await;
    place_concurrently(&bus, 100).await;
    let mut runner = ProcessRunner::new(bus.clone(), OrderFulfilment, FileCheckpoints::new(dir.path()), 16);
    runner.run_until_quiet().await.unwrap();
    assert_eq!(runner.stats.commands_rejected, 0);
    assert_eq!(count(&store, "inventory.StockReserved").await, 10);
    assert_eq!(count(&store, "inventory.StockReservationShort").await, 90);
    assert_eq!(count(&store, "sales.SalesOrderReadyToPick").await, 10);
    assert_eq!(count(&store, "sales.SalesOrderLineBackordered").await, 90);
    assert_eq!(count(&store, "purchasing.RequisitionDrafted").await, 90);
    // Nothing negative: the stock item still holds 10, all reserved.
    let over = StockCommand::Reserve {
        key: StockKey { item: item(), warehouse: warehouse() },
        reservation: domain::ReservationId(Uuid::from_u128(9)),
        qty: Quantity::units(1),
    };
    assert_eq!(bus.execute::<StockItem>(&meta(9_999), &over).await.unwrap_err().code(), "stock.insufficient");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_fulfilment_at_any_moment_and_restarting_completes_every_flow_exactly_once() {
    let mut cut_mid_flow = 0;
    for cut in 0..24u64 {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
        let bus = CommandBus::new(store.clone());
        stock_up(&bus, 3).await;
        place_concurrently(&bus, 5).await;
        let mut first = ProcessRunner::new(
            CommandBus::new(store.clone()),
            OrderFulfilment,
            FileCheckpoints::new(dir.path()),
            4,
        );
        let stopped =
            tokio::time::timeout(Duration::from_micros(cut * 150), first.run_until_quiet()).await.is_err();
        if stopped && first.stats.commands_done > 0 {
            cut_mid_flow += 1;
        }
        let mut second = ProcessRunner::new(
            CommandBus::new(store.clone()),
            OrderFulfilment,
            FileCheckpoints::new(dir.path()),
            4,
        );
        second.run_until_quiet().await.unwrap();
        assert_eq!(count(&store, "inventory.StockReserved").await, 3, "cut {cut}");
        assert_eq!(count(&store, "inventory.StockReservationShort").await, 2, "cut {cut}");
        assert_eq!(count(&store, "sales.SalesOrderLineReserved").await, 3, "cut {cut}");
        assert_eq!(count(&store, "sales.SalesOrderReadyToPick").await, 3, "cut {cut}");
        assert_eq!(count(&store, "sales.SalesOrderLineBackordered").await, 2, "cut {cut}");
        assert_eq!(count(&store, "purchasing.RequisitionDrafted").await, 2, "cut {cut}");
    }
    assert!(cut_mid_flow > 0, "at least one stop landed in the middle of the flows");
}

#[tokio::test]
async fn a_second_placement_of_a_platform_order_answers_with_the_first_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path()).unwrap();
    let bus = CommandBus::new(store.clone());
    masters(&bus).await;
    let online = || Channel::Online { platform: "pinduoduo".into(), platform_order_id: "PDD-77".into() };
    let first = place_sales_order(&bus, &meta(1), &order(1, online())).await.unwrap();
    assert!(matches!(first, Placement::Placed(_)));
    let second = place_sales_order(&bus, &meta(2), &order(2, online())).await.unwrap();
    assert!(matches!(second, Placement::AlreadyPlaced(id) if id == SalesOrderId(Uuid::from_u128(1_001))));
    // A retry of the first placement is answered as done, not as a duplicate order.
    let retry = place_sales_order(&bus, &meta(1), &order(1, online())).await.unwrap();
    assert!(matches!(retry, Placement::Placed(executed) if executed.duplicate));
    assert_eq!(count(&store, "sales.SalesOrderPlaced").await, 1);
    assert_eq!(count(&store, "sales.PlatformOrderClaimed").await, 1);
}

#[tokio::test]
async fn another_book_places_the_same_platform_order_id_as_its_own_and_answers_its_own_second_placement() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path()).unwrap();
    let bus = CommandBus::new(store.clone());
    masters(&bus).await;
    let online = || Channel::Online { platform: "taobao".into(), platform_order_id: "123".into() };
    let first = place_sales_order(&bus, &meta(1), &order(1, online())).await.unwrap();
    assert!(matches!(first, Placement::Placed(_)));
    let other_book = |n: u128| CommandMeta { book: BookId(Uuid::from_u128(2)), ..meta(n) };
    // The first book's masters do not exist for the second book: its order naming them is refused,
    // and leaves the platform order id unclaimed for the corrected order below.
    let borrowed = place_sales_order(&bus, &other_book(2), &order(2, online())).await.unwrap_err();
    assert!(matches!(borrowed, BusError::Rejected(SalesOrderRejection::MasterUnusable)), "{borrowed:?}");
    masters_in(&bus, other_book, 100).await;
    let theirs = place_sales_order(&bus, &other_book(3), &order_in(3, online(), 100)).await.unwrap();
    assert!(matches!(theirs, Placement::Placed(_)), "{theirs:?}");
    let again = place_sales_order(&bus, &other_book(4), &order_in(4, online(), 100)).await.unwrap();
    assert!(matches!(again, Placement::AlreadyPlaced(id) if id == SalesOrderId(Uuid::from_u128(1_003))));
    assert_eq!(count(&store, "sales.PlatformOrderClaimed").await, 2, "one claim in each book");
}

async fn ship_one_unit(bus: &CommandBus<EmbeddedStore>, order_n: u128, shipment_n: u128) {
    use domain::process::order_fulfilment::line_reservation;
    use domain::sales::{ShipmentCommand, ShipmentLineInput};
    let order = SalesOrderId(Uuid::from_u128(1_000 + order_n));
    let id = domain::ShipmentId(Uuid::from_u128(shipment_n));
    let create = ShipmentCommand::Create {
        id,
        order,
        warehouse: warehouse(),
        lines: vec![ShipmentLineInput {
            order_line: 0,
            item: item(),
            qty: Quantity::units(1),
            reservation: Some(line_reservation(order, 0)),
        }],
    };
    let steps =
        [create, ShipmentCommand::Pick { id, picked: vec![Decimal::ONE] }, ShipmentCommand::Ship { id }];
    for (i, step) in steps.iter().enumerate() {
        bus.execute::<domain::sales::Shipment>(&meta(shipment_n * 10 + i as u128), step).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipped_order_is_issued_from_its_reservation_recorded_and_costed_exactly_once_across_restarts() {
    use domain::process::shipping::Shipping;
    let mut cut_mid_flow = 0;
    for cut in 0..16u64 {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
        let bus = CommandBus::new(store.clone());
        stock_up(&bus, 10).await;
        place_concurrently(&bus, 2).await;
        ProcessRunner::new(bus.clone(), OrderFulfilment, FileCheckpoints::new(dir.path()), 8)
            .run_until_quiet()
            .await
            .unwrap();
        ship_one_unit(&bus, 0, 7_000).await;
        ship_one_unit(&bus, 1, 7_001).await;
        let mut first =
            ProcessRunner::new(CommandBus::new(store.clone()), Shipping, FileCheckpoints::new(dir.path()), 4);
        let stopped =
            tokio::time::timeout(Duration::from_micros(cut * 200), first.run_until_quiet()).await.is_err();
        if stopped && first.stats.commands_done > 0 {
            cut_mid_flow += 1;
        }
        ProcessRunner::new(CommandBus::new(store.clone()), Shipping, FileCheckpoints::new(dir.path()), 4)
            .run_until_quiet()
            .await
            .unwrap();
        assert_eq!(count(&store, "inventory.StockIssued").await, 2, "cut {cut}");
        assert_eq!(count(&store, "sales.SalesOrderLineShipped").await, 2, "cut {cut}");
        assert_eq!(count(&store, "sales.SalesOrderShipped").await, 2, "cut {cut}");
        assert_eq!(count(&store, "sales.ShipmentCosted").await, 2, "cut {cut}");
    }
    assert!(cut_mid_flow > 0, "at least one stop landed in the middle of shipping");

    // The cost the shipment records is what stock took: 12.00 per unit, and the reservations are used up.
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    stock_up(&bus, 1).await;
    place_concurrently(&bus, 1).await;
    ProcessRunner::new(bus.clone(), OrderFulfilment, FileCheckpoints::new(dir.path()), 8)
        .run_until_quiet()
        .await
        .unwrap();
    ship_one_unit(&bus, 0, 8_000).await;
    ProcessRunner::new(bus.clone(), Shipping, FileCheckpoints::new(dir.path()), 8)
        .run_until_quiet()
        .await
        .unwrap();
    let all = store.read_all(1, 1000).await.unwrap();
    let costed = all.iter().find(|e| e.event_type.name() == "sales.ShipmentCosted").expect("costed");
    let decoded: domain::sales::ShipmentEvent =
        infra::codec::decode_domain_event(&costed.event_type, &costed.payload).unwrap();
    let domain::sales::ShipmentEvent::Costed(c) = decoded else { panic!() };
    assert_eq!(c.value, Decimal::new(1200, 2));
    let receive_again = StockCommand::Reserve {
        key: StockKey { item: item(), warehouse: warehouse() },
        reservation: domain::ReservationId(Uuid::from_u128(77)),
        qty: Quantity::units(1),
    };
    assert_eq!(
        bus.execute::<StockItem>(&meta(77), &receive_again).await.unwrap_err().code(),
        "stock.insufficient"
    );
}

#[tokio::test]
async fn a_routed_order_split_across_two_warehouses_reserves_in_each_and_is_ready_to_pick() {
    use domain::sales::routing::{Coordinates, WarehouseStock, route_lines};
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    masters(&bus).await;
    let (shanghai, beijing) = (WarehouseId(Uuid::from_u128(21)), WarehouseId(Uuid::from_u128(22)));
    for (w, units) in [(shanghai, 3u32), (beijing, 5)] {
        let receive = StockCommand::Receive {
            key: StockKey { item: item(), warehouse: w },
            policy: StockPolicy {
                costing: CostingMethod::MovingAverage,
                safety_stock: Decimal::ZERO,
                allow_negative: false,
            },
            qty: Quantity::units(units),
            unit_cost: UnitAmount::new(Decimal::ONE).unwrap(),
            lot: None,
            bin: None,
            source: DocRef { kind: "purchasing.GoodsReceipt".into(), id: Uuid::from_u128(1), line: None },
        };
        bus.execute::<StockItem>(&meta(50 + units as u128), &receive).await.unwrap();
    }
    let at = |lat: &str, lon: &str| Coordinates {
        latitude: lat.parse().unwrap(),
        longitude: lon.parse().unwrap(),
    };
    let candidates = vec![
        WarehouseStock {
            warehouse: shanghai,
            location: at("31.2304", "121.4737"),
            available: vec![(item(), Decimal::from(3))],
        },
        WarehouseStock {
            warehouse: beijing,
            location: at("39.9042", "116.4074"),
            available: vec![(item(), Decimal::from(5))],
        },
    ];
    let SalesOrderCommand::Place { id, customer, channel, lines, credit, masters_usable, .. } =
        order(1, shop())
    else {
        panic!()
    };
    let mut six = lines[0].clone();
    six.qty = Quantity::units(6);
    let routed = route_lines(at("30.2741", "120.1551"), &[six], &candidates).unwrap();
    assert_eq!(routed.len(), 2, "Shanghai holds 3, the other 3 come from Beijing");
    let place = SalesOrderCommand::Place {
        id,
        customer,
        channel,
        warehouse: shanghai,
        lines: routed,
        credit,
        masters_usable,
    };
    place_sales_order(&bus, &meta(100), &place).await.unwrap();
    ProcessRunner::new(bus.clone(), OrderFulfilment, FileCheckpoints::new(dir.path()), 8)
        .run_until_quiet()
        .await
        .unwrap();
    assert_eq!(count(&store, "inventory.StockReserved").await, 2);
    assert_eq!(count(&store, "inventory.StockReservationShort").await, 0);
    assert_eq!(count(&store, "sales.SalesOrderReadyToPick").await, 1);
}

#[tokio::test]
async fn cancelling_an_order_releases_the_stock_its_lines_held() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    stock_up(&bus, 1).await;
    place_concurrently(&bus, 1).await;
    let mut runner = ProcessRunner::new(bus.clone(), OrderFulfilment, FileCheckpoints::new(dir.path()), 1);
    runner.run_until_quiet().await.unwrap();
    let reserve = StockCommand::Reserve {
        key: StockKey { item: item(), warehouse: warehouse() },
        reservation: domain::ReservationId(Uuid::from_u128(9)),
        qty: Quantity::units(1),
    };
    assert_eq!(bus.execute::<StockItem>(&meta(90), &reserve).await.unwrap_err().code(), "stock.insufficient");
    let cancel = SalesOrderCommand::Cancel {
        id: SalesOrderId(Uuid::from_u128(1_000)),
        reason: "customer changed mind".into(),
    };
    bus.execute::<domain::sales::SalesOrder>(&meta(91), &cancel).await.unwrap();
    runner.run_until_quiet().await.unwrap();
    assert_eq!(count(&store, "inventory.ReservationReleased").await, 1);
    bus.execute::<StockItem>(&meta(92), &reserve).await.expect("the released unit is available again");
}

#[tokio::test]
async fn an_order_cancelled_before_its_reservation_was_recorded_gives_the_stock_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    stock_up(&bus, 1).await;
    place_concurrently(&bus, 1).await;
    // Cancelled before fulfilment ran: the order holds nothing yet, but fulfilment will reserve.
    let cancel =
        SalesOrderCommand::Cancel { id: SalesOrderId(Uuid::from_u128(1_000)), reason: "too slow".into() };
    bus.execute::<domain::sales::SalesOrder>(&meta(91), &cancel).await.unwrap();
    let mut runner = ProcessRunner::new(bus.clone(), OrderFulfilment, FileCheckpoints::new(dir.path()), 1);
    runner.run_until_quiet().await.unwrap();
    assert_eq!(count(&store, "inventory.StockReserved").await, 1);
    assert_eq!(count(&store, "sales.SalesOrderReservationReturned").await, 1);
    assert_eq!(count(&store, "inventory.ReservationReleased").await, 1);
    assert_eq!(count(&store, "sales.SalesOrderReadyToPick").await, 0);
    let reserve = StockCommand::Reserve {
        key: StockKey { item: item(), warehouse: warehouse() },
        reservation: domain::ReservationId(Uuid::from_u128(9)),
        qty: Quantity::units(1),
    };
    bus.execute::<StockItem>(&meta(92), &reserve).await.expect("the unit is free again");
}

#[tokio::test]
async fn placing_reads_the_masters_a_deactivated_item_is_refused_and_the_credit_limit_is_the_customers() {
    use domain::master::{Item, ItemCommand};
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path()).unwrap();
    let bus = CommandBus::new(store.clone());
    // No masters yet: nothing is usable, whatever the caller claims.
    let err = place_sales_order(&bus, &meta(1), &order(1, shop())).await.unwrap_err();
    assert_eq!(err.code(), "sales.master_unusable");
    masters(&bus).await;
    // A direct order on account: the caller claims a generous limit, the master says zero (cash only).
    let SalesOrderCommand::Place { id, customer, warehouse, lines, masters_usable, .. } = order(2, shop())
    else {
        panic!()
    };
    let direct = SalesOrderCommand::Place {
        id,
        customer,
        channel: Channel::Direct,
        warehouse,
        lines,
        credit: CreditFacts { limit: Decimal::from(1_000_000), open_receivables: Decimal::ZERO },
        masters_usable,
    };
    let err = place_sales_order(&bus, &meta(2), &direct).await.unwrap_err();
    assert_eq!(err.code(), "sales.credit_limit_exceeded");
    bus.execute::<Item>(&meta(3), &ItemCommand::Deactivate { id: item() }).await.unwrap();
    let err = place_sales_order(&bus, &meta(4), &order(4, shop())).await.unwrap_err();
    assert_eq!(err.code(), "sales.master_unusable");
    assert_eq!(count(&store, "sales.SalesOrderPlaced").await, 0);
}

#[tokio::test]
async fn the_credit_check_reads_what_the_customers_account_says_they_owe() {
    use domain::master::{Partner, PartnerCommand, PartnerDetails, PartnerRoles};
    use domain::sales::{CustomerAccount, CustomerAccountCommand};
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path()).unwrap();
    let bus = CommandBus::new(store.clone());
    masters(&bus).await;
    let details = PartnerDetails {
        name: "华东贸易".into(),
        roles: PartnerRoles { customer: true, supplier: false },
        tax_id: None,
        credit_limit: Decimal::from(1_000),
        payment_terms_days: 30,
        region: "上海".into(),
    };
    bus.execute::<Partner>(&meta(2), &PartnerCommand::Change { id: PartnerId(Uuid::from_u128(30)), details })
        .await
        .unwrap();
    let owes = |n: u128, amount: i64| {
        let bus = bus.clone();
        async move {
            let moved = CustomerAccountCommand::Move {
                customer: PartnerId(Uuid::from_u128(30)),
                amount: Decimal::from(amount),
                document: Uuid::from_u128(n),
            };
            bus.execute::<CustomerAccount>(&meta(n), &moved).await.unwrap();
        }
    };
    let direct = |n: u128| {
        let SalesOrderCommand::Place { id, customer, warehouse, lines, credit, masters_usable, .. } =
            order(n, shop())
        else {
            panic!()
        };
        SalesOrderCommand::Place {
            id,
            customer,
            channel: Channel::Direct,
            warehouse,
            lines,
            credit,
            masters_usable,
        }
    };
    // 900 open and an order of 33.79 gross: within the 1,000 limit. The caller's own figure is ignored.
    owes(10, 900).await;
    place_sales_order(&bus, &meta(11), &direct(1)).await.expect("within the limit");
    owes(12, 100).await;
    let err = place_sales_order(&bus, &meta(13), &direct(2)).await.unwrap_err();
    assert_eq!(err.code(), "sales.credit_limit_exceeded", "1,000 open and 33.79 more is over 1,000");
}

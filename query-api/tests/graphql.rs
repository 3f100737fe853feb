//! The GraphQL API, black box over HTTP (a server on port 0 with the projectors live): read-your-writes,
//! as-of, pagination, stable error codes, the limits; and the SDL in `docs/schema.graphql` kept in step
//! with the code.

use std::sync::Arc;
use std::time::Duration;

use command_api::CommandBus;
use command_api::finance::record_automatic_voucher;
use domain::finance::accounts::AccountRole as R;
use domain::finance::rules::{AutoVoucher, RoleLine};
use domain::finance::voucher::{VoucherSource, VoucherWord};
use domain::inventory::{
    CostingMethod, DocRef, Replenishment, ReplenishmentCommand, StockCommand, StockItem, StockKey,
    StockPolicy,
};
use domain::time::Period;
use domain::values::{Code, Quantity, UnitAmount};
use domain::{
    BookId, CommandId, CommandMeta, EventId, ItemId, RequisitionId, Timestamp, VoucherId, WarehouseId,
};
use infra::EmbeddedStore;
use projections::per_book::PerBook;
use projections::runtime::Projector;
use query_api::ReadSide;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

mod common;

/// 2026-11-10T02:00Z.
const NOVEMBER: Timestamp = Timestamp(1_794_276_000_000_000);
const BOOK: BookId = BookId(Uuid::from_u128(1));
const WAREHOUSE: WarehouseId = WarehouseId(Uuid::from_u128(20));

#[test]
fn the_published_schema_is_the_one_the_code_serves() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schema.graphql");
    let sdl = query_api::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).unwrap();
    }
    let published = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        published == sdl,
        "docs/schema.graphql is out of date: run UPDATE_SCHEMA=1 cargo nextest run -p query-api"
    );
}

async fn sale(bus: &CommandBus<EmbeddedStore>, n: u128, amount: i64) {
    let line = |role, debit, credit| RoleLine {
        summary: "现销".into(),
        role,
        debit,
        credit,
        partner: None,
        item: None,
    };
    let amount = Decimal::from(amount);
    let auto = AutoVoucher {
        id: VoucherId(Uuid::from_u128(10_000 + n)),
        book: BOOK,
        word: VoucherWord::Ji,
        date: NOVEMBER,
        lines: vec![line(R::Cash, amount, Decimal::ZERO), line(R::Revenue, Decimal::ZERO, amount)],
        source: VoucherSource {
            kind: "test.Sale".into(),
            id: Uuid::from_u128(n),
            event: EventId(Uuid::from_u128(n)),
        },
    };
    let meta =
        CommandMeta::new(CommandId(Uuid::from_u128(20_000 + n)), "process:auto-vouchers", BOOK, NOVEMBER);
    record_automatic_voucher(bus, &meta, &auto).await.unwrap();
}

async fn receive(bus: &CommandBus<EmbeddedStore>, n: u128, qty: u32) {
    let receive = StockCommand::Receive {
        key: StockKey { item: ItemId(Uuid::from_u128(n)), warehouse: WAREHOUSE },
        policy: StockPolicy {
            costing: CostingMethod::MovingAverage,
            safety_stock: Decimal::ZERO,
            allow_negative: false,
        },
        qty: Quantity::units(qty),
        unit_cost: UnitAmount::new(Decimal::from(2)).unwrap(),
        // Item 3 comes in a lot, put away in a bin.
        lot: (n == 3).then(|| Code::new("lot", "L-3").unwrap()),
        bin: (n == 3).then(|| Code::new("bin", "A-03").unwrap()),
        source: DocRef { kind: "test.Receipt".into(), id: Uuid::from_u128(n), line: None },
    };
    let meta = CommandMeta::new(CommandId(Uuid::from_u128(30_000 + n)), "kai", BOOK, NOVEMBER);
    bus.execute::<StockItem>(&meta, &receive).await.unwrap();
}

use common::post;

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code: {response}"))
}

/// Every read model kept live by its own projector over `store`, served by the GraphQL router on a
/// port of its own; the sender stops the projectors.
async fn serve_live(
    store: &EmbeddedStore,
    snapshots: &std::path::Path,
) -> (std::net::SocketAddr, tokio::sync::watch::Sender<bool>) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    macro_rules! live {
        ($model:ty) => {{
            let mut projector = Projector::<$model, _>::open(store.clone(), snapshots);
            let handle = projector.handle();
            let stopped = stopped.clone();
            tokio::spawn(async move { projector.run(stopped).await });
            handle
        }};
    }
    let read = Arc::new(ReadSide::new(
        store.clone(),
        query_api::Handles {
            ledger: live!(projections::ledger::Ledgers),
            open_items: live!(PerBook<projections::open_items::OpenItems>),
            stock: live!(PerBook<projections::stock::Stock>),
            metrics: live!(PerBook<projections::process_metrics::ProcessMetrics>),
            documents: live!(PerBook<projections::documents::Documents>),
            dashboard: live!(PerBook<projections::dashboard::Dashboard>),
            audit: live!(PerBook<projections::audit::Audit>),
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, query_api::router(read)).await });
    (address, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_answer_from_the_live_models_with_read_your_writes_as_of_pages_and_coded_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    tests::fixtures::book(&bus, BOOK, Period::new(2026, 11).unwrap()).await;
    sale(&bus, 1, 100).await;
    for n in 1..=3 {
        receive(&bus, n, 10 * n as u32).await;
    }
    let after_setup = store.head_position_now();

    let (address, stop) = serve_live(&store, &dir.path().join("snapshots")).await;

    // GraphiQL on GET.
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(b"GET /graphql HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).await.unwrap();
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("graphiql"),
        "{}",
        &page[..200.min(page.len())]
    );

    // A write, then a read that must see it.
    sale(&bus, 2, 50).await;
    let head = store.head_position_now();
    let trial = "query($book: String!, $min: Int, $asOf: AsOfInput) {
        trialBalance(book: $book, period: \"2026-11\", minPosition: $min, asOf: $asOf) { position rows { code closing } } }";
    let response = post(address, trial, json!({ "book": BOOK.0.to_string(), "min": head })).await;
    let rows = &response["data"]["trialBalance"]["rows"];
    let cash =
        rows.as_array().unwrap_or_else(|| panic!("{response}")).iter().find(|r| r["code"] == "1001").unwrap();
    assert_eq!(cash["closing"], "150", "{response}");
    assert!(response["data"]["trialBalance"]["position"].as_u64().unwrap() >= head);
    // As of the log before the second sale.
    let response =
        post(address, trial, json!({ "book": BOOK.0.to_string(), "asOf": { "position": after_setup } }))
            .await;
    let rows = &response["data"]["trialBalance"]["rows"];
    let cash = rows.as_array().unwrap().iter().find(|r| r["code"] == "1001").unwrap();
    assert_eq!(cash["closing"], "100", "{response}");

    // Stock, two to a page.
    let levels =
        "query($after: String, $min: Int) { stockLevels(book: \"00000000-0000-0000-0000-000000000001\", first: 2, after: $after, minPosition: $min) {
        nodes { item onHand value } endCursor hasNextPage } }";
    let first = post(address, levels, json!({ "min": head })).await;
    let first = &first["data"]["stockLevels"];
    assert_eq!(first["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(first["hasNextPage"], true);
    let second = post(address, levels, json!({ "after": first["endCursor"] })).await;
    let second = &second["data"]["stockLevels"];
    assert_eq!(second["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(second["hasNextPage"], false);
    let on_hand: Vec<&str> = first["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["nodes"].as_array().unwrap())
        .map(|n| n["onHand"].as_str().unwrap())
        .collect();
    assert_eq!(on_hand, vec!["10", "20", "30"]);

    // Errors with stable codes.
    let behind = post(address, trial, json!({ "book": BOOK.0.to_string(), "min": head + 1_000 })).await;
    assert_eq!(code(&behind), "projection.behind");
    let bad = post(address, trial, json!({ "book": "not-a-uuid" })).await;
    assert_eq!(code(&bad), "input.invalid");
    let unknown = post(address, trial, json!({ "book": Uuid::from_u128(99).to_string() })).await;
    assert_eq!(code(&unknown), "book.not_found");
    let too_big = post(
        address,
        "{ stockLevels(book: \"00000000-0000-0000-0000-000000000001\", first: 100000) { hasNextPage } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&too_big), "input.invalid");
    // A query beyond the complexity limit is refused before it runs.
    let wide: String = (0..600).map(|i| format!("p{i}: positions {{ head ledger stock }} ")).collect();
    let refused = post(address, &format!("{{ {wide} }}"), json!({})).await;
    assert!(
        refused["errors"][0]["message"].as_str().unwrap_or_else(|| panic!("{refused}")).contains("complex"),
        "{refused}"
    );

    // Receivables and the process metrics answer (nothing open, no flows yet).
    let items = post(
        address,
        "{ openItems(book: \"00000000-0000-0000-0000-000000000001\", subledger: RECEIVABLE) { balances { partner } aging { notDue } } }",
        json!({}),
    )
    .await;
    assert_eq!(items["data"]["openItems"]["aging"]["notDue"], "0", "{items}");
    let metrics = post(
        address,
        "{ processMetrics(book: \"00000000-0000-0000-0000-000000000001\", process: ORDER_TO_CASH) { steps { step count } bottleneck } }",
        json!({}),
    )
    .await;
    assert_eq!(metrics["data"]["processMetrics"]["steps"].as_array().unwrap().len(), 5, "{metrics}");
    let documents =
        post(address, "{ documents(book: \"00000000-0000-0000-0000-000000000001\", kind: SALES_ORDER, first: 5) { nodes { id } hasNextPage } }", json!({}))
            .await;
    assert_eq!(documents["data"]["documents"]["hasNextPage"], false, "{documents}");
    let bad_cursor = post(
        address,
        "{ documents(book: \"00000000-0000-0000-0000-000000000001\", after: \"nonsense\") { hasNextPage } }",
        json!({}),
    )
    .await;
    assert_eq!(code(&bad_cursor), "input.invalid");
    // The dashboard: cash from the ledger, inventory from the stock model (10 + 20 + 30 at 2.00).
    let board = "query($book: String!, $min: Int) { dashboard(book: $book, minPosition: $min) {
        cash inventoryValue revenue orders daily { date } } }";
    let board = post(address, board, json!({ "book": BOOK.0.to_string(), "min": head })).await;
    assert_eq!(board["data"]["dashboard"]["cash"], "150", "{board}");
    assert_eq!(board["data"]["dashboard"]["inventoryValue"], "120", "{board}");
    // The audit trail: the stock clerk's events, two to a page, and a stream's history.
    let audit = "query($after: Int, $min: Int) { auditLog(book: \"00000000-0000-0000-0000-000000000001\", actor: \"kai\", first: 2, after: $after, minPosition: $min) {
        nodes { position actor eventType stream } endCursor hasNextPage } }";
    let page = post(address, audit, json!({ "min": head })).await;
    let page = &page["data"]["auditLog"];
    assert_eq!(page["nodes"].as_array().unwrap().len(), 2, "{page}");
    assert!(page["nodes"].as_array().unwrap().iter().all(|n| n["actor"] == "kai"));
    assert_eq!(page["hasNextPage"], true);
    let rest = post(address, audit, json!({ "after": page["endCursor"] })).await;
    let rest = &rest["data"]["auditLog"]["nodes"];
    // Three receipts, each opening its stock item first: six events by kai.
    assert_eq!(rest.as_array().unwrap().len(), 2, "{rest}");
    let stream = StockKey { item: ItemId(Uuid::from_u128(1)), warehouse: WAREHOUSE }.stream_id();
    let history = post(
        address,
        "query($s: String!) { streamHistory(book: \"00000000-0000-0000-0000-000000000001\", stream: $s) { nodes { version eventType actor } } }",
        json!({ "s": stream }),
    )
    .await;
    let types: Vec<&str> = history["data"]["streamHistory"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["inventory.StockItemOpened", "inventory.StockReceived"]);
    // The stock ledger of item 3: its receipt of 30 at 2.00. Nothing issued: every item is a slow
    // mover a year on, none needs replenishing (no safety stock, no issues).
    let item3 = Uuid::from_u128(3).to_string();
    let ledger = post(
        address,
        "query($i: String!) { stockLedger(book: \"00000000-0000-0000-0000-000000000001\", item: $i) { kind qty onHandAfter valueAfter } }",
        json!({ "i": item3 }),
    )
    .await;
    assert_eq!(
        ledger["data"]["stockLedger"],
        json!([{ "kind": "received", "qty": "30", "onHandAfter": "30", "valueAfter": "60" }])
    );
    let lots = post(
        address,
        "query($i: String!) { stockLots(book: \"00000000-0000-0000-0000-000000000001\", item: $i) { lot onHand bins } }",
        json!({ "i": Uuid::from_u128(3).to_string() }),
    )
    .await;
    assert_eq!(lots["data"]["stockLots"], json!([{ "lot": "L-3", "onHand": "30", "bins": ["A-03"] }]));
    let slow =
        post(address, "{ slowMovers(book: \"00000000-0000-0000-0000-000000000001\", days: 30, now: \"2027-11-30\") { item onHand daysOfCover } }", json!({}))
            .await;
    assert_eq!(slow["data"]["slowMovers"].as_array().unwrap().len(), 3, "{slow}");
    let calm =
        post(address, "{ stockAlerts(book: \"00000000-0000-0000-0000-000000000001\") { item } replenishment(book: \"00000000-0000-0000-0000-000000000001\", now: \"2026-11-30\") { item } }", json!({}))
            .await;
    assert_eq!(calm["data"], json!({ "stockAlerts": [], "replenishment": [] }));
    stop.send(true).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Raises a replenishment suggestion for `item` in the warehouse of `book` (as the process manager
/// does: stock at 5 of a safety stock of 20).
async fn suggest(bus: &CommandBus<EmbeddedStore>, book: BookId, n: u128, item: u128) -> StockKey {
    let key = StockKey { item: ItemId(Uuid::from_u128(item)), warehouse: WAREHOUSE };
    let suggest =
        ReplenishmentCommand::Suggest { key, available: Decimal::from(5), safety_stock: Decimal::from(20) };
    let meta =
        CommandMeta::new(CommandId(Uuid::from_u128(40_000 + n)), "process:replenishment", book, NOVEMBER);
    bus.execute::<Replenishment>(&meta, &suggest).await.unwrap();
    key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_replenishment_suggestions_are_those_raised_and_neither_taken_up_nor_dismissed() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    let other = BookId(Uuid::from_u128(2));
    let keys = [suggest(&bus, BOOK, 1, 1).await, suggest(&bus, BOOK, 2, 2).await];
    suggest(&bus, BOOK, 3, 3).await;
    suggest(&bus, BOOK, 4, 4).await;
    suggest(&bus, other, 5, 5).await;
    let meta = |n: u128| CommandMeta::new(CommandId(Uuid::from_u128(50_000 + n)), "li", BOOK, NOVEMBER);
    let requisition = RequisitionId(Uuid::from_u128(60));
    let take_up =
        ReplenishmentCommand::TakeUp { key: keys[0], requisition, requisition_item: Some(keys[0].item) };
    bus.execute::<Replenishment>(&meta(1), &take_up).await.unwrap();
    let dismiss = ReplenishmentCommand::Dismiss { key: keys[1], reason: "清仓款".into() };
    bus.execute::<Replenishment>(&meta(2), &dismiss).await.unwrap();
    let head = store.head_position_now();

    let (address, stop) = serve_live(&store, &dir.path().join("snapshots")).await;

    let open = "query($book: String!, $first: Int! = 50, $after: String, $min: Int) {
        openReplenishmentSuggestions(book: $book, first: $first, after: $after, minPosition: $min) {
            nodes { item warehouse available safetyStock suggestedQty raisedAt raisedPosition }
            endCursor hasNextPage position } }";
    let book = BOOK.0.to_string();
    let first = post(address, open, json!({ "book": book, "first": 1, "min": head })).await;
    let first = &first["data"]["openReplenishmentSuggestions"];
    assert_eq!(first["hasNextPage"], true, "{first}");
    assert!(first["position"].as_u64().unwrap() >= head);
    let item3 = Uuid::from_u128(3).to_string();
    assert_eq!(
        first["nodes"],
        json!([{ "item": item3, "warehouse": WAREHOUSE.0.to_string(), "available": "5", "safetyStock": "20",
                 "suggestedQty": "15", "raisedAt": NOVEMBER.0, "raisedPosition": first["nodes"][0]["raisedPosition"] }])
    );
    assert!(first["nodes"][0]["raisedPosition"].as_u64().unwrap() > 0);
    let second = post(address, open, json!({ "book": book, "first": 1, "after": first["endCursor"] })).await;
    let second = &second["data"]["openReplenishmentSuggestions"];
    assert_eq!(second["hasNextPage"], false, "{second}");
    assert_eq!(second["endCursor"], Value::Null);
    let items: Vec<&str> =
        second["nodes"].as_array().unwrap().iter().map(|n| n["item"].as_str().unwrap()).collect();
    assert_eq!(
        items,
        vec![Uuid::from_u128(4).to_string()],
        "items 1 and 2 are closed, item 5 is another book's"
    );
    // Each book sees its own.
    let theirs = post(address, open, json!({ "book": other.0.to_string() })).await;
    let theirs = &theirs["data"]["openReplenishmentSuggestions"]["nodes"];
    assert_eq!(theirs.as_array().unwrap().len(), 1, "{theirs}");
    assert_eq!(theirs[0]["item"], Uuid::from_u128(5).to_string());
    // A cursor that is not one, and a page too large, are refused with their code.
    let bad = post(address, open, json!({ "book": book, "after": "nonsense" })).await;
    assert_eq!(code(&bad), "input.invalid");
    assert!(bad["errors"][0]["message"].as_str().unwrap().contains("cursor"), "{bad}");
    let huge = post(address, open, json!({ "book": book, "first": 100_000 })).await;
    assert_eq!(code(&huge), "input.invalid");
    stop.send(true).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
}

//! The books over GraphQL, black box over HTTP and WebSocket, after a month of real trade
//! (`tests::scenarios::buy_and_sell`, the month the finance tests check by hand): account detail with
//! running balances a page at a time, the voucher list, the drill-down from a voucher to the event that
//! caused it, the balance sheet and income statement, a customer's open items and statement, goods
//! receipts among the documents; and the live dashboard and stock alerts over a subscription.

use std::sync::Arc;
use std::time::Duration;

use command_api::CommandBus;
use domain::inventory::{CostingMethod, StockCommand, StockItem, StockKey, StockPolicy};
use domain::{CommandId, CommandMeta, Role};
use futures_util::{SinkExt, StreamExt};
use infra::EmbeddedStore;
use projections::runtime::ProjectorSet;
use query_api::{Handles, ReadSide};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tests::scenarios::{BOOK, CUSTOMER, ITEM, NOVEMBER, WAREHOUSE};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use uuid::Uuid;

mod common;

/// POSTs a GraphQL query and answers its data (failing on GraphQL errors).
async fn post(address: std::net::SocketAddr, query: &str, variables: Value) -> Value {
    let json = common::post(address, query, variables).await;
    assert!(json.get("errors").is_none(), "{json}");
    json["data"].clone()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The decimal in a JSON string.
fn num(value: &Value) -> Decimal {
    value.as_str().unwrap_or_else(|| panic!("not a decimal string: {value}")).parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_books_of_a_month_answer_with_detail_drill_down_statements_and_live_updates() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    let trade = tests::scenarios::buy_and_sell(&bus, dir.path()).await;
    let head = store.head_position_now();

    let mut set = ProjectorSet::new(store.clone(), dir.path().join("snapshots"));
    let handles = Handles::add_to(&mut set);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move { set.run(stopped).await });
    let read = Arc::new(ReadSide::new(store.clone(), handles));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, query_api::router(read)).await });
    let book = BOOK.0.to_string();

    // 库存商品 (1405), one voucher a page: received 120.00, the price difference 3.00, the cost of the
    // three sold 36.90; each line with the balance after it, carried from page to page.
    let detail = "query($book: String!, $after: String, $min: Int) {
        accountDetail(book: $book, account: \"1405\", from: \"2026-11\", to: \"2026-11\", first: 1,
                      after: $after, minPosition: $min) {
            opening closing hasNextPage endCursor nodes { number debit credit balance summary source { kind } } } }";
    let mut after = Value::Null;
    let mut lines = Vec::new();
    let closing = loop {
        let page = post(address, detail, json!({ "book": book, "after": after, "min": head })).await;
        let page = &page["accountDetail"];
        assert_eq!(page["opening"], "0");
        lines.extend(page["nodes"].as_array().unwrap().iter().cloned());
        if page["hasNextPage"] == false {
            break num(&page["closing"]);
        }
        after = page["endCursor"].clone();
    };
    let movements: Vec<(Decimal, Decimal, Decimal)> =
        lines.iter().map(|l| (num(&l["debit"]), num(&l["credit"]), num(&l["balance"]))).collect();
    assert_eq!(
        movements,
        vec![(d("120"), d("0"), d("120")), (d("3"), d("0"), d("123")), (d("0"), d("36.9"), d("86.1"))]
    );
    assert_eq!(closing, d("86.1"), "the running balance ends at the closing balance");

    // The month's vouchers: six, numbered 1 to 6 under 记.
    let vouchers = post(
        address,
        "query($book: String!) { vouchers(book: $book, period: \"2026-11\") {
            total nodes { id word number debitTotal creditTotal source { kind } posting { eventType } } } }",
        json!({ "book": book }),
    )
    .await;
    let nodes = vouchers["vouchers"]["nodes"].as_array().unwrap();
    assert_eq!(vouchers["vouchers"]["total"], 6);
    assert_eq!(
        nodes.iter().map(|v| v["number"].as_u64().unwrap()).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
    assert!(nodes.iter().all(|v| v["word"] == "JI" && v["debitTotal"] == v["creditTotal"]));
    assert!(nodes.iter().all(|v| v["posting"]["eventType"] == "finance.VoucherPosted"));
    // Drill-down (财务穿透): the cost of sales voucher → the shipment → the event that costed it.
    let cost =
        nodes.iter().find(|v| v["source"]["kind"] == "sales.Shipment").expect("the shipment's voucher");
    let voucher = post(
        address,
        "query($book: String!, $id: String!) { voucher(book: $book, id: $id) {
            number source { kind id eventId } sourceEvent { eventId eventType stream } lines { account debit credit } } }",
        json!({ "book": book, "id": cost["id"] }),
    )
    .await;
    let voucher = &voucher["voucher"];
    assert_eq!(voucher["source"]["id"], trade.shipment.0.to_string());
    assert_eq!(voucher["sourceEvent"]["eventType"], "sales.ShipmentCosted", "{voucher}");
    assert_eq!(voucher["sourceEvent"]["eventId"], voucher["source"]["eventId"]);
    assert_eq!(voucher["sourceEvent"]["stream"], format!("shipment-{}", trade.shipment.0));
    let unknown = post(
        address,
        "query($book: String!) { voucher(book: $book, id: \"00000000-0000-0000-0000-000000000009\") { id } }",
        json!({ "book": book }),
    )
    .await;
    assert_eq!(unknown["voucher"], Value::Null);

    // The statements of the month.
    let statements = post(
        address,
        "query($book: String!) {
            balanceSheet(book: $book, period: \"2026-11\") { cash inventories totalAssets totalLiabilities totalEquity }
            incomeStatement(book: $book, from: \"2026-11\", to: \"2026-11\") { revenue costOfSales netProfit } }",
        json!({ "book": book }),
    )
    .await;
    let sheet = &statements["balanceSheet"];
    assert_eq!((num(&sheet["cash"]), num(&sheet["inventories"])), (d("100"), d("86.1")));
    assert_eq!(num(&sheet["totalAssets"]), num(&sheet["totalLiabilities"]) + num(&sheet["totalEquity"]));
    let income = &statements["incomeStatement"];
    assert_eq!(
        (num(&income["revenue"]), num(&income["costOfSales"]), num(&income["netProfit"])),
        (d("59.7"), d("36.9"), d("22.8"))
    );

    // The customer: the invoice paid, 32.54 left with us as an advance.
    let customer = CUSTOMER.0.to_string();
    let partner = post(
        address,
        "query($p: String!) {
            partnerOpenItems(book: \"00000000-0000-0000-0000-000000000001\", subledger: RECEIVABLE, partner: $p) { kind amount open settlements { amount } }
            partnerStatement(book: \"00000000-0000-0000-0000-000000000001\", subledger: RECEIVABLE, partner: $p, from: \"2026-11-01\", to: \"2026-11-30\") {
                opening closing lines { kind opened amount balance } } }",
        json!({ "p": customer }),
    )
    .await;
    assert_eq!(
        partner["partnerOpenItems"],
        json!([{ "kind": "ADVANCE", "amount": "32.54", "open": "32.54", "settlements": [] }])
    );
    let statement = &partner["partnerStatement"];
    assert_eq!((num(&statement["opening"]), num(&statement["closing"])), (d("0"), d("-32.54")));
    let lines: Vec<(String, Decimal)> = statement["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (format!("{}:{}", l["kind"].as_str().unwrap(), l["opened"]), num(&l["amount"])))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("INVOICE:true".to_string(), d("67.46")),
            ("INVOICE:false".to_string(), d("-67.46")),
            ("ADVANCE:true".to_string(), d("-32.54")),
        ]
    );
    // The goods receipt is listed with the documents, against its order.
    let receipts =
        post(address, "{ documents(book: \"00000000-0000-0000-0000-000000000001\", kind: GOODS_RECEIPT) { nodes { status amount reference } } }", json!({}))
            .await;
    assert_eq!(
        receipts["documents"]["nodes"],
        json!([{ "status": "received", "amount": "120", "reference": trade.po.0.to_string() }])
    );

    // Another book sees none of this book's business, not even a stream's history.
    let other = post(
        address,
        "query($s: String!) { q: stockLevels(book: \"00000000-0000-0000-0000-0000000000ff\") { nodes { item } }
            d: documents(book: \"00000000-0000-0000-0000-0000000000ff\") { nodes { id } }
            a: auditLog(book: \"00000000-0000-0000-0000-0000000000ff\", actor: \"li\") { nodes { position } }
            h: streamHistory(book: \"00000000-0000-0000-0000-0000000000ff\", stream: $s) { nodes { position } }
            o: openItems(book: \"00000000-0000-0000-0000-0000000000ff\", subledger: RECEIVABLE) { balances { partner } } }",
        json!({ "s": format!("shipment-{}", trade.shipment.0) }),
    )
    .await;
    assert_eq!(
        other,
        json!({ "q": { "nodes": [] }, "d": { "nodes": [] }, "a": { "nodes": [] }, "h": { "nodes": [] },
                "o": { "balances": [] } })
    );
    let own = post(
        address,
        "query($s: String!, $b: String!) { h: streamHistory(book: $b, stream: $s) { nodes { eventType } } }",
        json!({ "s": format!("shipment-{}", trade.shipment.0), "b": book }),
    )
    .await;
    assert!(!own["h"]["nodes"].as_array().unwrap().is_empty(), "{own}");

    // Live: subscribe to the stock alerts and the dashboard over WebSocket (graphql-transport-ws).
    let mut request = format!("ws://{address}/graphql/ws").into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let tcp = tokio::net::TcpStream::connect(address).await.unwrap();
    let (mut socket, _) = tokio_tungstenite::client_async(request, tcp).await.unwrap();
    let send = |value: Value| Message::Text(value.to_string().into());
    socket.send(send(json!({ "type": "connection_init" }))).await.unwrap();
    assert_eq!(recv(&mut socket).await["type"], "connection_ack");
    socket
        .send(send(json!({ "id": "alerts", "type": "subscribe",
            "payload": { "query": "subscription { stockAlerts(book: \"00000000-0000-0000-0000-000000000001\") { item available safetyStock } }" } })))
        .await
        .unwrap();
    socket
        .send(send(json!({ "id": "board", "type": "subscribe",
            "payload": { "query": format!("subscription {{ dashboard(book: \"{book}\") {{ revenue inventoryValue }} }}") } })))
        .await
        .unwrap();
    let mut first = Vec::new();
    for _ in 0..2 {
        let message = recv(&mut socket).await;
        assert_eq!(message["type"], "next", "{message}");
        first.push(message);
    }
    let of = |messages: &[Value], id: &str| messages.iter().find(|m| m["id"] == id).cloned().unwrap();
    assert_eq!(of(&first, "alerts")["payload"]["data"]["stockAlerts"], json!([]));
    assert_eq!(of(&first, "board")["payload"]["data"]["dashboard"]["revenue"], "59.7");
    // The warehouse raises the item's safety stock above the 7 on hand: the alert arrives by itself.
    let policy =
        StockPolicy { costing: CostingMethod::Fifo, safety_stock: Decimal::from(10), allow_negative: false };
    let change = StockCommand::ChangePolicy { key: StockKey { item: ITEM, warehouse: WAREHOUSE }, policy };
    let meta = CommandMeta::new(CommandId(Uuid::from_u128(900)), "kai", BOOK, NOVEMBER)
        .with_roles(&[Role::Warehouse]);
    bus.execute::<StockItem>(&meta, &change).await.unwrap();
    let alert = recv(&mut socket).await;
    assert_eq!(alert["id"], "alerts", "only what changed is sent again: {alert}");
    assert_eq!(
        alert["payload"]["data"]["stockAlerts"],
        json!([{ "item": ITEM.0.to_string(), "available": "7", "safetyStock": "10" }])
    );
    socket.send(send(json!({ "id": "alerts", "type": "complete" }))).await.unwrap();
    socket.send(send(json!({ "id": "board", "type": "complete" }))).await.unwrap();
    stop.send(true).unwrap();
}

/// The next text message on the socket, as JSON.
async fn recv<S>(socket: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

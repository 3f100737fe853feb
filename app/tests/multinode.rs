//! Several `erp serve` processes over one PostgreSQL schema (issue 7, scale-out): nodes A and B take
//! commands (and both run the process managers), node Q is a query node (`--read-only`). Through A the
//! company is set up and a little stock received; then A and B take a load of conflicting commands at
//! once: sales orders for more than the stock on the same items (both nodes' order-fulfilment processes
//! reserve them on the same stock streams), the same platform order placed on both nodes, shipments,
//! invoices (the same shipment invoiced through both nodes at once) and receipts. No answer may be a
//! 5xx. Afterwards every node, and a fourth process started with an empty data directory (the read
//! models rebuilt from the log alone), answers the same stock levels, documents, receivables and trial
//! balance; nothing is oversold, every order was reserved once, the vouchers balance; a command sent to
//! Q is refused with 503 `service.read_only` and appends nothing. Skipped, saying so, without
//! `ERP_TEST_POSTGRES_URL`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{Value, json};

mod common;
use common::{BOOK, CUSTOMER, Client, ITEM, PEOPLE, SUPPLIER, WAREHOUSE, company, dec, header, request};

/// The items sold: the test company's cup and two more.
const ITEMS: [&str; 3] =
    [ITEM, "00000000-0000-0000-0000-0000000000a2", "00000000-0000-0000-0000-0000000000a3"];
/// Received of each item.
const STOCK_EACH: i64 = 12;
/// Direct sales orders per command node (demand: 2 × 24 × 2 on average, 96 for 36 in stock).
const ORDERS_PER_NODE: u64 = 24;
/// Platform orders placed on both nodes at once with the same platform order id.
const PLATFORM_ORDERS: u64 = 4;
const PERIOD: &str = "2026-11";

/// One `erp serve` process; killed when dropped (also when the test fails, after printing its log's end).
struct Node {
    name: &'static str,
    child: Child,
    client: Client,
    dir: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.join("erp.log")).unwrap_or_default();
            // A panic inside the node (a task's) with where it happened, wherever it is in the log.
            for (i, _) in log.lines().enumerate().filter(|(_, l)| l.contains("panicked at")) {
                eprintln!("--- node {} panicked (log line {i}) ---", self.name);
                log.lines().skip(i).take(3).for_each(|l| eprintln!("{l}"));
            }
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- node {} log (last lines) ---", self.name);
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// Starts `erp serve` over the schema: the store in the configuration file, `extra` configuration
/// lines (before the tokens) and `args` on the command line.
fn start(
    base: &Path,
    name: &'static str,
    schema: &tests::postgres::Schema,
    extra: &str,
    args: &[&str],
) -> Node {
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = format!("store = {:?}\nstore_schema = {:?}\n{extra}", schema.url(), schema.name());
    for (token, actor, book, roles) in PEOPLE {
        config.push_str(&app::serve::token_entry_toml(token, actor, book, roles[0]));
    }
    let log = std::fs::File::create(dir.join("erp.log")).unwrap();
    let (child, address) =
        app::serve::spawn_child_with(Path::new(env!("CARGO_BIN_EXE_erp")), &dir, &config, args, log.into())
            .unwrap_or_else(|e| panic!("node {name}: {e}"));
    Node { name, child, client: Client { address }, dir }
}

async fn ready(node: &Node) {
    let started = Instant::now();
    loop {
        let (status, _, body) = request(node.client.address, "GET", "/readyz", &[], b"").await;
        if status == 200 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "node {} never ready: {}",
            node.name,
            String::from_utf8_lossy(&body)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn id(prefix: u64, n: u64) -> String {
    format!("00000000-0000-0000-{prefix:04x}-{n:012x}")
}

const POSITIONS: &str = "{ positions { head ledger openItems stock processMetrics } }";

async fn head(c: &Client) -> u64 {
    let answer = c.graphql("t-boss", POSITIONS, json!({})).await;
    answer["data"]["positions"]["head"].as_u64().unwrap_or_else(|| panic!("{answer}"))
}

/// Waits until the log's head has not moved for a while: every process manager of both command nodes
/// has reacted to everything.
async fn settled(c: &Client) -> u64 {
    let started = Instant::now();
    let mut last = head(c).await;
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let now = head(c).await;
        if now == last {
            return now;
        }
        assert!(started.elapsed() < Duration::from_secs(40), "the log never settled (at {now})");
        last = now;
    }
}

/// The second item and the third, bought with the first: one purchase order, received in full.
async fn stock_up(c: &Client) {
    for (k, item) in ITEMS.iter().enumerate().skip(1) {
        let body = json!({ "id": item, "sku": format!("CUP-0{}", k + 1), "name": format!("茶杯 {}", k + 1),
                           "unit": "个", "vatRate": "0.13", "defaultSupplier": SUPPLIER, "leadTimeDays": 7 });
        c.ok("t-zhao", "create-item", body).await;
    }
    let po = id(0xe, 1);
    let lines: Vec<Value> = ITEMS
        .iter()
        .map(|item| json!({ "item": item, "qty": STOCK_EACH.to_string(), "unitPrice": "12.00", "vatRate": "0.13" }))
        .collect();
    let order = json!({ "id": po, "supplier": SUPPLIER, "warehouse": WAREHOUSE, "department": "PUR", "lines": lines });
    c.ok("t-zhao", "place-purchase-order", order).await;
    c.ok("t-qian", "approve-purchase-order", json!({ "id": po })).await;
    let lines: Vec<Value> =
        (0..ITEMS.len()).map(|line| json!({ "line": line, "qty": STOCK_EACH.to_string() })).collect();
    let received = c
        .ok(
            "t-sun",
            "receive-goods",
            json!({ "order": po, "receipt": id(0xe, 2), "lines": lines, "bin": "A-01" }),
        )
        .await;
    c.until("t-sun", STOCK_ALL, json!({ "book": BOOK, "min": received }), |d| {
        let nodes = d["stockLevels"]["nodes"].as_array().unwrap();
        nodes.len() == ITEMS.len() && nodes.iter().all(|n| dec(&n["onHand"]) == Decimal::from(STOCK_EACH))
    })
    .await;
}

/// What the load was answered, by status and code.
#[derive(Default)]
struct Tally {
    answers: BTreeMap<(u16, String), u64>,
    /// (item, qty) of every shipment shipped.
    shipped: Vec<(usize, i64)>,
    /// Invoices issued (by either node).
    invoices: u64,
}

type Shared = Arc<Mutex<Tally>>;

async fn send(
    c: &Client,
    tally: &Shared,
    token: &str,
    name: &str,
    body: &Value,
    key: Option<&str>,
) -> common::Answer {
    let extra: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    let answer = c.command_with(token, name, body, &extra).await;
    assert!(answer.status < 500, "{name} answered {}: {}", answer.status, answer.body);
    let code = if answer.status == 200 { String::new() } else { answer.code().to_string() };
    *tally.lock().unwrap().answers.entry((answer.status, format!("{name} {code}"))).or_default() += 1;
    answer
}

/// How the order-fulfilment process decided an order: `true` ready to pick, `false` backordered.
async fn fulfilled(c: &Client, order: &str) -> bool {
    const HISTORY: &str = "query($book: String!, $stream: String!) {
        streamHistory(book: $book, stream: $stream, first: 100) { nodes { eventType } } }";
    let stream = format!("sales-order-{order}");
    let started = Instant::now();
    loop {
        let answer = c.graphql("t-wang", HISTORY, json!({ "book": BOOK, "stream": stream })).await;
        let nodes = answer["data"]["streamHistory"]["nodes"].as_array().cloned().unwrap_or_default();
        for n in &nodes {
            match n["eventType"].as_str() {
                Some("sales.SalesOrderReadyToPick") => return true,
                Some("sales.SalesOrderLineBackordered") => return false,
                _ => {}
            }
        }
        assert!(started.elapsed() < Duration::from_secs(30), "order {order} never reserved: {answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One direct sales order through `here`, and when stock held it, shipped, invoiced and (every other
/// one) paid; the invoice is sent to both nodes at once, once under the same idempotency key and once
/// under another invoice id, so that one of them bills the shipment and the other is refused.
async fn sell(here: Client, there: Client, node: u64, k: u64, tally: Shared) {
    let order = id(node, k);
    let item = ((k + node) % ITEMS.len() as u64) as usize;
    let qty = 1 + (k % 3) as i64;
    let body = json!({ "id": order, "customer": CUSTOMER, "channel": { "kind": "direct" }, "warehouse": WAREHOUSE,
                       "lines": [{ "item": ITEMS[item], "qty": qty.to_string(), "unitPrice": "19.90", "vatRate": "0.13" }] });
    let placed = send(&here, &tally, "t-wang", "place-sales-order", &body, None).await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    if !fulfilled(&here, &order).await {
        return;
    }
    let shipment = id(0x100 + node, k);
    let create = json!({ "id": shipment, "order": order, "warehouse": WAREHOUSE,
                         "lines": [{ "orderLine": 0, "item": ITEMS[item], "qty": qty.to_string() }] });
    assert_eq!(send(&here, &tally, "t-sun", "create-shipment", &create, None).await.status, 200);
    let pick = json!({ "id": shipment, "picked": [qty.to_string()] });
    assert_eq!(send(&there, &tally, "t-sun", "pick-shipment", &pick, None).await.status, 200);
    let ship = json!({ "id": shipment });
    // The same request through both nodes at once, under one key: one command, executed once.
    let key = format!("ship-{shipment}");
    let (a, b) = tokio::join!(
        send(&here, &tally, "t-sun", "ship-shipment", &ship, Some(&key)),
        send(&there, &tally, "t-sun", "ship-shipment", &ship, Some(&key)),
    );
    assert!(a.status == 200 && b.status == 200, "{} / {}", a.body, b.body);
    tally.lock().unwrap().shipped.push((item, qty));

    // Two invoices for the one shipment, one through each node: the shipment is billed once.
    let invoice = |n: u64| {
        json!({ "id": id(0x200 + node, 2 * k + n), "customer": CUSTOMER, "dueDate": "2026-12-16",
                "lines": [{ "shipment": shipment, "item": ITEMS[item], "qty": qty.to_string(), "unitPrice": "19.90", "vatRate": "0.13" }] })
    };
    let (first, second) = (invoice(0), invoice(1));
    let (a, b) = tokio::join!(
        send(&here, &tally, "t-wang", "issue-sales-invoice", &first, None),
        send(&there, &tally, "t-wang", "issue-sales-invoice", &second, None),
    );
    let billed: Vec<&common::Answer> = [&a, &b].into_iter().filter(|x| x.status == 200).collect();
    assert_eq!(billed.len(), 1, "one invoice bills the shipment: {} / {}", a.body, b.body);
    tally.lock().unwrap().invoices += 1;
    if k % 2 == 1 {
        let winner = if a.status == 200 { &first } else { &second };
        let gross = billed[0].body["events"][0]["data"]["amount_gross"].as_str().unwrap().to_string();
        let receipt = json!({ "id": id(0x300 + node, k), "customer": CUSTOMER, "amount": gross,
                              "invoices": [{ "invoice": winner["id"], "amount": gross }] });
        assert_eq!(send(&there, &tally, "t-li", "record-customer-receipt", &receipt, None).await.status, 200);
    }
}

/// The same platform order placed through both nodes at once, under two order ids: one order.
async fn platform_order(a: Client, b: Client, n: u64, tally: Shared) {
    let order = |node: u64| {
        json!({ "id": id(0x400 + node, n), "customer": CUSTOMER,
                "channel": { "kind": "online", "platform": "taobao", "platformOrderId": format!("TB-{n}") },
                "warehouse": WAREHOUSE,
                "lines": [{ "item": ITEMS[(n % 3) as usize], "qty": "1", "unitPrice": "21.00", "vatRate": "0.13" }] })
    };
    let (x, y) = (order(1), order(2));
    let (ax, by) = tokio::join!(
        send(&a, &tally, "t-wang", "place-sales-order", &x, None),
        send(&b, &tally, "t-wang", "place-sales-order", &y, None),
    );
    assert!(ax.status == 200 || by.status == 200, "{} / {}", ax.body, by.body);
}

const STOCK_ALL: &str = "query($book: String!, $min: Int) {
    stockLevels(book: $book, first: 500, minPosition: $min) {
        nodes { item warehouse onHand reserved available incoming inTransit value } } }";
const DOCUMENTS: &str = "query($book: String!, $min: Int) {
    documents(book: $book, first: 500, minPosition: $min) {
        nodes { kind id partner amount status created updated reference } hasNextPage } }";
const RECEIVABLES: &str = "query($book: String!, $min: Int) {
    openItems(book: $book, subledger: RECEIVABLE, minPosition: $min) {
        balances { partner balance }
        aging { notDue within30Days days31To60 days61To90 over90Days } } }";
const TRIAL_BALANCE: &str = "query($book: String!, $period: String!, $min: Int) {
    trialBalance(book: $book, period: $period, minPosition: $min) {
        rows { code name level opening debit credit closing } } }";
const EVENTS_OF_TYPE: &str = "query($book: String!, $type: String!, $min: Int) {
    auditLog(book: $book, eventType: $type, first: 500, minPosition: $min) { nodes { stream } hasNextPage } }";

/// What a node answers about the books at `min`: stock, documents, receivables, trial balance.
async fn books(c: &Client, min: u64) -> Value {
    let vars = json!({ "book": BOOK, "period": PERIOD, "min": min });
    let mut all = serde_json::Map::new();
    for (name, query) in [
        ("stock", STOCK_ALL),
        ("documents", DOCUMENTS),
        ("receivables", RECEIVABLES),
        ("trialBalance", TRIAL_BALANCE),
    ] {
        let answer = c.graphql("t-boss", query, vars.clone()).await;
        assert!(answer["errors"].is_null(), "{name}: {answer}");
        all.insert(name.to_string(), answer["data"].clone());
    }
    Value::Object(all)
}

async fn count_events(c: &Client, event_type: &str, min: u64) -> usize {
    let answer =
        c.graphql("t-boss", EVENTS_OF_TYPE, json!({ "book": BOOK, "type": event_type, "min": min })).await;
    assert!(answer["errors"].is_null(), "{answer}");
    assert_eq!(answer["data"]["auditLog"]["hasNextPage"], false, "{answer}");
    answer["data"]["auditLog"]["nodes"].as_array().unwrap().len()
}

/// `address` answers `path` with 200.
async fn answers(address: SocketAddr, path: &str) {
    let (status, _, body) = request(address, "GET", path, &[], b"").await;
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_command_nodes_and_a_query_node_agree_with_a_rebuild_after_conflicting_load() {
    let Some(schema) = tests::postgres::Schema::fresh() else { return };
    let started = Instant::now();
    let base = tempfile::tempdir().unwrap();
    // The first node migrates the schema; the others start on it.
    let a = start(base.path(), "a", &schema, "", &[]);
    ready(&a).await;
    let b = start(base.path(), "b", &schema, "", &[]);
    let q = start(base.path(), "q", &schema, "", &["--read-only"]);
    ready(&b).await;
    ready(&q).await;
    let (ca, cb, cq) = (&a.client, &b.client, &q.client);

    // Through A: the company, its masters and 12 of each item in stock.
    company(ca).await;
    stock_up(ca).await;

    // The load through A and B at once.
    let tally: Shared = Arc::default();
    let mut load = tokio::task::JoinSet::new();
    for k in 0..ORDERS_PER_NODE {
        let (a, b) = (Client { address: ca.address }, Client { address: cb.address });
        load.spawn(sell(Client { address: a.address }, Client { address: b.address }, 1, k, tally.clone()));
        load.spawn(sell(b, a, 2, k, tally.clone()));
    }
    for n in 0..PLATFORM_ORDERS {
        load.spawn(platform_order(
            Client { address: ca.address },
            Client { address: cb.address },
            n,
            tally.clone(),
        ));
    }
    while let Some(done) = load.join_next().await {
        done.expect("a load task failed");
    }
    let load_done = started.elapsed();

    // Everything the process managers do after the load, then every node at the log's head.
    let head = settled(ca).await;
    let answers_a = books(ca, head).await;
    let answers_b = books(cb, head).await;
    let answers_q = books(cq, head).await;
    for (name, c) in [("b", cb), ("q", cq)] {
        assert_eq!(self::head(c).await, head, "node {name} sees another head");
    }

    // A fourth process with an empty data directory: every read model folded from the log alone. It
    // is a query node (from its configuration file), so it adds nothing to the log it is compared with.
    let r = start(base.path(), "rebuild", &schema, "read_only = true\n", &[]);
    ready(&r).await;
    let answers_r = books(&r.client, head).await;
    assert_eq!(answers_a, answers_r, "node A differs from a rebuild from the log");
    assert_eq!(answers_b, answers_r, "node B differs from a rebuild from the log");
    assert_eq!(answers_q, answers_r, "node Q differs from a rebuild from the log");
    assert_eq!(self::head(&r.client).await, head, "the rebuild appended to the log");

    let tally = std::mem::take(&mut *tally.lock().unwrap());
    let fulfilment = answers_r.clone();

    // No oversell: per item, what was shipped plus what is reserved is at most what was received, and
    // the stock's own figures say the same as the shipments the load saw go out.
    let levels = fulfilment["stock"]["stockLevels"]["nodes"].as_array().unwrap();
    assert_eq!(levels.len(), ITEMS.len(), "{levels:?}");
    for (i, item) in ITEMS.iter().enumerate() {
        let level =
            levels.iter().find(|l| l["item"] == *item).unwrap_or_else(|| panic!("no stock of {item}"));
        let (on_hand, reserved, available) =
            (dec(&level["onHand"]), dec(&level["reserved"]), dec(&level["available"]));
        let shipped: i64 = tally.shipped.iter().filter(|(it, _)| *it == i).map(|(_, q)| q).sum();
        assert!(on_hand >= Decimal::ZERO && available >= Decimal::ZERO, "{level}");
        assert_eq!(on_hand, Decimal::from(STOCK_EACH - shipped), "{level}");
        assert!(Decimal::from(shipped) + reserved <= Decimal::from(STOCK_EACH), "oversold: {level}");
        assert_eq!(available, on_hand - reserved, "{level}");
    }

    // Every order decided once by order fulfilment, though both command nodes run it: one
    // reservation or shortage per order line, and every order either ready to pick or backordered.
    let documents = fulfilment["documents"]["documents"]["nodes"].as_array().unwrap();
    assert_eq!(fulfilment["documents"]["documents"]["hasNextPage"], false);
    let orders: Vec<&Value> = documents.iter().filter(|d| d["kind"] == "SalesOrder").collect();
    let expected_orders = (2 * ORDERS_PER_NODE + PLATFORM_ORDERS) as usize;
    assert_eq!(orders.len(), expected_orders, "one order per placement, one per platform order id");
    let backordered = orders.iter().filter(|o| o["status"] == "backordered").count();
    assert!(backordered > 0, "the demand exceeded the stock: some orders wait");
    assert!(!tally.shipped.is_empty(), "some orders shipped");
    let reserved = count_events(ca, "inventory.StockReserved", head).await;
    let short = count_events(ca, "inventory.StockReservationShort", head).await;
    let ready_events = count_events(ca, "sales.SalesOrderReadyToPick", head).await;
    let backordered_events = count_events(ca, "sales.SalesOrderLineBackordered", head).await;
    assert!(reserved <= expected_orders && short <= expected_orders, "{reserved} reserved, {short} short");
    assert_eq!(ready_events + backordered_events, expected_orders, "an order decided twice");
    let invoices = documents.iter().filter(|d| d["kind"] == "SalesInvoice").count();
    assert_eq!(invoices as u64, tally.invoices, "one invoice per shipment");

    // The vouchers balance: the month's debits equal its credits, and the receivables agree with the
    // ledger's accounts receivable.
    let rows = fulfilment["trialBalance"]["trialBalance"]["rows"].as_array().unwrap();
    let top = rows.iter().filter(|r| r["level"] == 1);
    let (debit, credit) =
        top.fold((Decimal::ZERO, Decimal::ZERO), |(d, c), r| (d + dec(&r["debit"]), c + dec(&r["credit"])));
    assert!(debit > Decimal::ZERO, "vouchers were posted: {rows:?}");
    assert_eq!(debit, credit, "the trial balance does not balance");
    let receivable: Decimal = fulfilment["receivables"]["openItems"]["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| dec(&b["balance"]))
        .sum();
    let ledger_ar = rows.iter().find(|r| r["code"] == "1122").map(|r| dec(&r["closing"]));
    assert_eq!(ledger_ar, Some(receivable), "应收账款 and the open receivables disagree");

    // The query node takes no commands: 503 service.read_only, and the log does not move.
    let order = json!({ "id": id(0x500, 1), "customer": CUSTOMER, "channel": { "kind": "direct" }, "warehouse": WAREHOUSE,
                        "lines": [{ "item": ITEM, "qty": "1", "unitPrice": "19.90", "vatRate": "0.13" }] });
    let refused = cq.command_with("t-wang", "place-sales-order", &order, &[]).await;
    assert_eq!((refused.status, refused.code()), (503, "service.read_only"), "{}", refused.body);
    assert_eq!(header(&refused.headers, "content-type"), Some("application/problem+json"));
    assert!(refused.body["detail"].as_str().unwrap().contains("queries only"), "{}", refused.body);
    let refused = r.client.command_with("t-boss", "create-warehouse", &json!({}), &[]).await;
    assert_eq!((refused.status, refused.code()), (503, "service.read_only"), "{}", refused.body);
    for path in ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"] {
        answers(cq.address, path).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(self::head(cq).await, head, "a refused command moved the log");

    // Neither command node's process managers failed (a command refused as a store error, one that
    // kept conflicting) while both reacted to the same events.
    for node in [&a, &b] {
        let log = std::fs::read_to_string(node.dir.join("erp.log")).unwrap();
        let bad: Vec<&str> = log.lines().filter(|l| l.contains("ERROR") || l.contains("WARN")).collect();
        assert!(bad.is_empty(), "node {}: {bad:#?}", node.name);
    }

    let failures: u64 = tally.answers.iter().filter(|((s, _), _)| *s >= 500).map(|(_, n)| n).sum();
    assert_eq!(failures, 0);
    eprintln!(
        "multinode: load {:.1} s, total {:.1} s, head {head}; {} shipped, {backordered} backordered; answers {:?}",
        load_done.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        tally.shipped.len(),
        tally.answers
    );
}

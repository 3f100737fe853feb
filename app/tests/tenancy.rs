//! Books that share one service keep their business keys apart (ADR 0014): two companies may both sell
//! Taobao order "123" and both have a purchasing department `PUR`. Each book's platform-order claim and
//! department budget live in streams of its own, so neither refuses the other (`auth.wrong_book`),
//! and each book still refuses its own second placement of a platform order.

use serde_json::{Value, json};

mod common;
use common::{Answer, BOOK, CUSTOMER, Client, ITEM, OTHER_BOOK, SUPPLIER, WAREHOUSE, company, serve};

/// The other book's masters: its own ids, the same codes and names as the first book's.
const OTHER_ITEM: &str = "00000000-0000-0000-0000-0000000002a1";
const OTHER_WAREHOUSE: &str = "00000000-0000-0000-0000-0000000002b1";
const OTHER_CUSTOMER: &str = "00000000-0000-0000-0000-0000000002c1";
const OTHER_SUPPLIER: &str = "00000000-0000-0000-0000-0000000002d1";

async fn other_company(c: &Client) {
    c.ok("t-other", "create-book", json!({ "name": "另一家商贸", "firstPeriod": "2026-11" })).await;
    let warehouse = json!({ "id": OTHER_WAREHOUSE, "code": "SH1", "name": "上海仓", "city": "上海",
                            "latitude": "31.23", "longitude": "121.47", "bins": ["A-01"] });
    c.ok("t-other", "create-warehouse", warehouse).await;
    let supplier = json!({ "id": OTHER_SUPPLIER, "name": "义乌供应商", "supplier": true, "region": "浙江" });
    c.ok("t-other", "create-partner", supplier).await;
    let customer = json!({ "id": OTHER_CUSTOMER, "name": "杭州客户", "customer": true, "creditLimit": "100000",
                           "paymentTermsDays": 30, "region": "浙江" });
    c.ok("t-other", "create-partner", customer).await;
    let item = json!({ "id": OTHER_ITEM, "sku": "CUP-01", "name": "茶杯", "unit": "个", "vatRate": "0.13",
                       "defaultSupplier": OTHER_SUPPLIER, "leadTimeDays": 7 });
    c.ok("t-other", "create-item", item).await;
}

fn id(n: u32) -> String {
    format!("00000000-0000-0000-0000-{n:012x}")
}

/// Taobao order "123", placed as sales order `order` with the book's own masters.
fn taobao_123(order: &str, customer: &str, warehouse: &str, item: &str) -> Value {
    json!({ "id": order, "customer": customer,
            "channel": { "kind": "online", "platform": "taobao", "platformOrderId": "123" },
            "warehouse": warehouse,
            "lines": [{ "item": item, "qty": "1", "unitPrice": "19.90", "vatRate": "0.13" }] })
}

async fn answer(c: &Client, token: &str, name: &str, body: Value) -> Answer {
    c.command_with(token, name, &body, &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_books_place_the_same_platform_order_id_and_each_refuses_its_own_second_placement() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    other_company(&c).await;

    let (first, other_first) = (id(0x901), id(0x902));
    let placed =
        answer(&c, "t-wang", "place-sales-order", taobao_123(&first, CUSTOMER, WAREHOUSE, ITEM)).await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    let other = taobao_123(&other_first, OTHER_CUSTOMER, OTHER_WAREHOUSE, OTHER_ITEM);
    let placed = answer(&c, "t-other", "place-sales-order", other).await;
    assert_eq!(placed.status, 200, "the other book's Taobao 123 is its own: {}", placed.body);

    // Each book's second placement of Taobao 123 is answered with its own first order.
    for (token, second, first, customer, warehouse, item) in [
        ("t-wang", id(0x903), &first, CUSTOMER, WAREHOUSE, ITEM),
        ("t-other", id(0x904), &other_first, OTHER_CUSTOMER, OTHER_WAREHOUSE, OTHER_ITEM),
    ] {
        let again =
            answer(&c, token, "place-sales-order", taobao_123(&second, customer, warehouse, item)).await;
        assert_eq!(
            (again.status, again.code()),
            (409, "sales_order.platform_order_placed"),
            "{}",
            again.body
        );
        assert!(again.body["detail"].as_str().unwrap().contains(first.as_str()), "{}", again.body);
    }

    // The claims are two streams, each in its book.
    const HISTORY: &str = "query($book: String!, $stream: String!) {
        streamHistory(book: $book, stream: $stream) { nodes { eventType book } } }";
    for book in [BOOK, OTHER_BOOK] {
        let token = if book == BOOK { "t-boss" } else { "t-other" };
        let stream = format!("platform-order-{book}-taobao-123");
        let history = c.graphql(token, HISTORY, json!({ "book": book, "stream": stream })).await;
        let nodes = history["data"]["streamHistory"]["nodes"].as_array().cloned().unwrap_or_default();
        assert_eq!(nodes.len(), 1, "{history}");
        assert_eq!(nodes[0]["eventType"], "sales.PlatformOrderClaimed");
        assert_eq!(nodes[0]["book"], book);
    }
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_books_each_budget_their_own_department_of_the_same_code() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    other_company(&c).await;

    let budget = |amount: &str| json!({ "department": "PUR", "period": "2026-11", "amount": amount });
    let set = answer(&c, "t-li", "set-department-budget", budget("100.00")).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["stream"], format!("budget-{BOOK}-PUR-2026-11"));
    let other = answer(&c, "t-other", "set-department-budget", budget("1000.00")).await;
    assert_eq!(other.status, 200, "the other book's PUR is its own: {}", other.body);
    assert_eq!(other.body["stream"], format!("budget-{OTHER_BOOK}-PUR-2026-11"));

    // The same order, 10 at 12.00 (120.00), in each book: over the first book's 100.00, within the
    // other's 1,000.00.
    let po = |order: String, supplier: &str, warehouse: &str, item: &str| {
        json!({ "id": order, "supplier": supplier, "warehouse": warehouse, "department": "PUR",
                "lines": [{ "item": item, "qty": "10", "unitPrice": "12.00", "vatRate": "0.13" }] })
    };
    let placed = answer(&c, "t-zhao", "place-purchase-order", po(id(0xa01), SUPPLIER, WAREHOUSE, ITEM)).await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    assert_eq!(placed.body["events"][0]["data"]["over_budget"], true, "{}", placed.body);
    let other = po(id(0xa02), OTHER_SUPPLIER, OTHER_WAREHOUSE, OTHER_ITEM);
    let placed = answer(&c, "t-other", "place-purchase-order", other).await;
    assert_eq!(placed.status, 200, "{}", placed.body);
    assert_eq!(placed.body["events"][0]["data"]["over_budget"], false, "{}", placed.body);

    // A second order in each book commits against that book's budget only: 100.00 more fits the
    // other book's 880.00 left, and the first book's budget stays spent.
    let second = |order: String, supplier: &str, warehouse: &str, item: &str| {
        json!({ "id": order, "supplier": supplier, "warehouse": warehouse, "department": "PUR",
                "lines": [{ "item": item, "qty": "1", "unitPrice": "100.00", "vatRate": "0.13" }] })
    };
    let placed =
        answer(&c, "t-zhao", "place-purchase-order", second(id(0xa03), SUPPLIER, WAREHOUSE, ITEM)).await;
    assert_eq!(placed.body["events"][0]["data"]["over_budget"], true, "{}", placed.body);
    let other = second(id(0xa04), OTHER_SUPPLIER, OTHER_WAREHOUSE, OTHER_ITEM);
    let placed = answer(&c, "t-other", "place-purchase-order", other).await;
    assert_eq!(placed.body["events"][0]["data"]["over_budget"], false, "{}", placed.body);
    service.stop().await.unwrap();
}

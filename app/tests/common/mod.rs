//! What the service's black-box tests share: one HTTP/1.1 exchange over a plain TCP connection (no
//! HTTP client crate for a few lines of protocol), and the test company: its people and tokens, the
//! service on port 0, a client for commands and GraphQL, the book with its masters, a purchase.
#![allow(dead_code)] // Each test file uses its own part.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use app::serve::{ServeConfig, Service};
use command_api::http::auth::{TokenEntry, Tokens};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 exchange over a fresh connection: (status, headers lower-cased, body).
pub async fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    // A server may answer (413) before reading all of a large body and close: a write error then is fine.
    let _ = stream.write_all(body).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let mut lines = head.lines();
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = response[split + 4..].to_vec();
    if headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")) {
        body = unchunk(&body);
    }
    (status, headers, body)
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// POSTs a GraphQL query with `token` and answers the JSON response (status 200 asserted).
pub async fn graphql(
    address: SocketAddr,
    token: &str,
    query: &str,
    variables: serde_json::Value,
) -> serde_json::Value {
    let bearer = format!("Bearer {token}");
    let body = serde_json::json!({ "query": query, "variables": variables }).to_string();
    let headers = [("Authorization", bearer.as_str()), ("Content-Type", "application/json")];
    let (status, _, body) = request(address, "POST", "/graphql", &headers, body.as_bytes()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

pub const BOOK: &str = "00000000-0000-0000-0000-000000000001";
pub const OTHER_BOOK: &str = "00000000-0000-0000-0000-000000000002";
pub const ITEM: &str = "00000000-0000-0000-0000-0000000000a1";
pub const WAREHOUSE: &str = "00000000-0000-0000-0000-0000000000b1";
pub const CUSTOMER: &str = "00000000-0000-0000-0000-0000000000c1";
pub const SUPPLIER: &str = "00000000-0000-0000-0000-0000000000d1";

/// The people of the test company, each with a token: (token, actor, book, roles).
pub const PEOPLE: [(&str, &str, &str, &[&str]); 8] = [
    ("t-boss", "boss", BOOK, &["admin"]),
    ("t-wang", "wang", BOOK, &["sales"]),
    ("t-zhao", "zhao", BOOK, &["purchasing"]),
    ("t-qian", "qian", BOOK, &["purchasing"]),
    ("t-sun", "sun", BOOK, &["warehouse"]),
    ("t-li", "li", BOOK, &["finance"]),
    ("t-zhou", "zhou", BOOK, &["auditor"]),
    ("t-other", "other", OTHER_BOOK, &["admin"]),
];

pub fn config(dir: &std::path::Path) -> ServeConfig {
    let tokens = PEOPLE
        .iter()
        .map(|(token, actor, book, roles)| TokenEntry {
            hash: Tokens::hash(token),
            actor: actor.to_string(),
            book: book.parse().unwrap(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        })
        .collect();
    ServeConfig {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        data_dir: Some(dir.to_path_buf()),
        store: None,
        store_schema: None,
        store_connections: None,
        read_only: false,
        store_namespace: None,
        tokens,
    }
}

pub struct Client {
    pub address: SocketAddr,
}

/// What a command request answered.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn position(&self) -> u64 {
        self.body["position"].as_u64().unwrap_or_else(|| panic!("no position in {}", self.body))
    }
}

impl Client {
    pub async fn command_with(
        &self,
        token: &str,
        name: &str,
        body: &Value,
        extra: &[(&str, &str)],
    ) -> Answer {
        let bearer = format!("Bearer {token}");
        let mut headers = vec![
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
            ("Erp-Occurred-At", "2026-11-16T10:00:00"),
        ];
        headers.extend_from_slice(extra);
        let (status, headers, body) = request(
            self.address,
            "POST",
            &format!("/api/v1/commands/{name}"),
            &headers,
            body.to_string().as_bytes(),
        )
        .await;
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Answer { status, headers, body }
    }

    /// A command that must be accepted; answers its position.
    pub async fn ok(&self, token: &str, name: &str, body: Value) -> u64 {
        let answer = self.command_with(token, name, &body, &[]).await;
        assert_eq!(answer.status, 200, "{name}: {}", answer.body);
        answer.position()
    }

    pub async fn graphql(&self, token: &str, query: &str, variables: Value) -> Value {
        graphql(self.address, token, query, variables).await
    }

    /// Asks `query` until `done` holds for its data (a process manager's step lands a moment after
    /// the command that triggers it), at most ten seconds.
    pub async fn until(
        &self,
        token: &str,
        query: &str,
        variables: Value,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        loop {
            let answer = self.graphql(token, query, variables.clone()).await;
            assert!(answer["errors"].is_null(), "{answer}");
            if done(&answer["data"]) {
                return answer["data"].clone();
            }
            assert!(started.elapsed() < Duration::from_secs(10), "never reached: {answer}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn head(&self) -> u64 {
        let (_, _, body) = request(self.address, "GET", "/metrics", &[], b"").await;
        let text = String::from_utf8(body).unwrap();
        let line = text.lines().find(|l| l.starts_with("erp_log_head_position ")).expect("the head gauge");
        line.split(' ').nth(1).unwrap().parse().unwrap()
    }
}

pub fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap_or_else(|| panic!("not a decimal string: {v}")).parse().unwrap()
}

pub async fn serve(dir: &std::path::Path) -> (Service, Client) {
    let service = app::serve::start(&config(dir)).await.unwrap();
    let client = Client { address: service.address };
    (service, client)
}

/// The book, its masters, and 10 of the item bought and received (the purchase side of the flow).
pub async fn company(c: &Client) {
    c.ok("t-li", "create-book", json!({ "name": "测试商贸", "firstPeriod": "2026-11" })).await;
    let warehouse = json!({ "id": WAREHOUSE, "code": "SH1", "name": "上海仓", "city": "上海",
                            "latitude": "31.23", "longitude": "121.47", "bins": ["A-01"] });
    c.ok("t-boss", "create-warehouse", warehouse).await;
    let supplier = json!({ "id": SUPPLIER, "name": "义乌供应商", "supplier": true, "region": "浙江" });
    c.ok("t-zhao", "create-partner", supplier).await;
    let customer = json!({ "id": CUSTOMER, "name": "杭州客户", "customer": true, "creditLimit": "100000",
                           "paymentTermsDays": 30, "region": "浙江" });
    c.ok("t-wang", "create-partner", customer).await;
    let item = json!({ "id": ITEM, "sku": "CUP-01", "name": "茶杯", "unit": "个", "vatRate": "0.13",
                       "defaultSupplier": SUPPLIER, "leadTimeDays": 7 });
    c.ok("t-zhao", "create-item", item).await;
}

pub const PO: &str = "00000000-0000-0000-0000-0000000000e1";
pub const RECEIPT: &str = "00000000-0000-0000-0000-0000000000e2";

pub const STOCK: &str = "query($book: String!, $item: String!, $min: Int) {
    stockLevels(book: $book, item: $item, minPosition: $min) { nodes { onHand reserved available value } } }";

pub fn level(data: &Value) -> &Value {
    &data["stockLevels"]["nodes"][0]
}

/// A direct sales order `id` of 3 cups at 19.90 + 13 % VAT from the customer, from the warehouse.
pub fn order_of_three(id: &str) -> Value {
    json!({ "id": id, "customer": CUSTOMER, "channel": { "kind": "direct" }, "warehouse": WAREHOUSE,
            "lines": [{ "item": ITEM, "qty": "3", "unitPrice": "19.90", "vatRate": "0.13" }] })
}

/// Whether a stock level answer shows exactly `qty` cups reserved.
pub fn reserved_is(data: &Value, qty: i64) -> bool {
    level(data)["reserved"].as_str().is_some_and(|q| q.parse::<Decimal>().unwrap() == Decimal::from(qty))
}

/// Places [`order_of_three`] as `t-wang` and waits until the order-fulfilment process has reserved
/// the 3 cups; answers the order's position.
pub async fn sell_three(c: &Client, id: &str) -> u64 {
    let placed = c.ok("t-wang", "place-sales-order", order_of_three(id)).await;
    c.until("t-wang", STOCK, json!({ "book": BOOK, "item": ITEM, "min": placed }), |d| reserved_is(d, 3))
        .await;
    placed
}

pub async fn procure(c: &Client) {
    let po = json!({ "id": PO, "supplier": SUPPLIER, "warehouse": WAREHOUSE, "department": "PUR",
                     "lines": [{ "item": ITEM, "qty": "10", "unitPrice": "12.00", "vatRate": "0.13" }] });
    c.ok("t-zhao", "place-purchase-order", po).await;
    // The buyer may not approve their own order; a second buyer does.
    let own = c.command_with("t-zhao", "approve-purchase-order", &json!({ "id": PO }), &[]).await;
    assert_eq!((own.status, own.code()), (422, "po.own_order"), "{}", own.body);
    c.ok("t-qian", "approve-purchase-order", json!({ "id": PO })).await;
    let receive =
        json!({ "order": PO, "receipt": RECEIPT, "lines": [{ "line": 0, "qty": "10" }], "bin": "A-01" });
    let received = c.ok("t-sun", "receive-goods", receive).await;
    // The receiving process books the goods into stock a moment later.
    let data = c
        .until("t-sun", STOCK, json!({ "book": BOOK, "item": ITEM, "min": received }), |d| {
            level(d)["onHand"].as_str().is_some_and(|q| q.parse::<Decimal>().unwrap() == Decimal::from(10))
        })
        .await;
    assert_eq!(dec(&level(&data)["value"]), Decimal::new(12000, 2));
}

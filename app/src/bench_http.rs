//! `erp bench http` (W4): the service under load over loopback from a separate process. The bench
//! starts `erp serve` as a child process on a fresh data directory, sets up a company through the
//! command API (masters and plenty of stock), then runs `--concurrency` keep-alive clients: first
//! placing sales orders (commands/s and latency), then asking GraphQL for stock levels and receivables
//! (reads/s and latency). Each client is a plain HTTP/1.1 connection, one request at a time.
#![allow(clippy::float_arithmetic)] // Rates and percentiles for reporting only; no money passes here.

use std::net::SocketAddr;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::bench::{percentile, runtime};
use crate::cli::BenchCommon;

const BOOK: &str = "00000000-0000-0000-0000-000000000001";
const TOKEN: &str = "erp-bench-http-token";
/// A second buyer: a purchase order is approved by someone other than who placed it.
const APPROVER: &str = "erp-bench-http-approver";
const ITEMS: u64 = 200;
const CUSTOMERS: u64 = 100;
const WAREHOUSE: &str = "00000000-0000-0000-0000-00000000a001";
const SUPPLIER: &str = "00000000-0000-0000-0000-00000000b001";

fn item(n: u64) -> String {
    format!("00000000-0000-0000-0001-{:012x}", n % ITEMS)
}

fn customer(n: u64) -> String {
    format!("00000000-0000-0000-0002-{:012x}", n % CUSTOMERS)
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    reader: tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    address: SocketAddr,
    token: &'static str,
}

impl Connection {
    async fn open(address: SocketAddr) -> anyhow::Result<Connection> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (read, writer) = stream.into_split();
        Ok(Connection { reader: tokio::io::BufReader::new(read), writer, address, token: TOKEN })
    }

    /// POSTs `body` to `path` and answers the status and body.
    async fn post(&mut self, path: &str, body: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nErp-Occurred-At: 2026-11-16T10:00:00\r\nContent-Length: {}\r\n\r\n",
            self.address,
            self.token,
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        self.writer.write_all(&request).await?;
        self.response().await
    }

    /// Reads one response: its status and body.
    async fn response(&mut self) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut line = String::new();
        self.reader.read_line(&mut line).await?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("bad status line {line:?}"))?;
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            self.reader.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") && value.contains("chunked") {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim(), 16)?;
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk).await?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            body.resize(length.unwrap_or(0), 0);
            self.reader.read_exact(&mut body).await?;
        }
        Ok((status, body))
    }

    /// GETs `path` (over a connection of its own: the server closes nothing, but a GET has no body).
    async fn get(&mut self, path: &str) -> anyhow::Result<String> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.address);
        self.writer.write_all(request.as_bytes()).await?;
        let (status, body) = self.response().await?;
        anyhow::ensure!(status == 200, "GET {path}: {status}");
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    async fn command(&mut self, name: &str, body: &Value) -> anyhow::Result<Value> {
        let (status, answer) =
            self.post(&format!("/api/v1/commands/{name}"), body.to_string().as_bytes()).await?;
        anyhow::ensure!(status == 200, "{name}: {status} {}", String::from_utf8_lossy(&answer));
        Ok(serde_json::from_slice(&answer)?)
    }
}

/// Starts `erp serve` (this very binary) on a data directory below `dir`; answers the child and the
/// address it printed.
fn start_server(dir: &std::path::Path) -> anyhow::Result<(Child, SocketAddr)> {
    let tokens = crate::serve::token_entry_toml(TOKEN, "bench", BOOK, "admin")
        + &crate::serve::token_entry_toml(APPROVER, "approver", BOOK, "purchasing");
    crate::serve::spawn_child(&std::env::current_exe()?, dir, &tokens)
}

/// The company the load runs against: a book, a warehouse, a supplier, customers, items, and a
/// million of each item in stock (received against one purchase order).
async fn setup(address: SocketAddr) -> anyhow::Result<()> {
    let mut c = Connection::open(address).await?;
    c.command("create-book", &json!({ "name": "压测公司", "firstPeriod": "2026-11" })).await?;
    c.command(
        "create-warehouse",
        &json!({ "id": WAREHOUSE, "code": "W1", "name": "仓库", "city": "上海",
                                            "latitude": "31.23", "longitude": "121.47" }),
    )
    .await?;
    c.command(
        "create-partner",
        &json!({ "id": SUPPLIER, "name": "供应商", "supplier": true, "region": "浙江" }),
    )
    .await?;
    for n in 0..CUSTOMERS {
        c.command(
            "create-partner",
            &json!({ "id": customer(n), "name": format!("客户 {n}"), "customer": true,
                                              "creditLimit": "100000000", "region": "华东" }),
        )
        .await?;
    }
    for n in 0..ITEMS {
        c.command(
            "create-item",
            &json!({ "id": item(n), "sku": format!("SKU-{n:04}"), "name": format!("商品 {n}"),
                                           "unit": "个", "vatRate": "0.13", "defaultSupplier": SUPPLIER }),
        )
        .await?;
    }
    let po = "00000000-0000-0000-0003-000000000001";
    let lines: Vec<Value> = (0..ITEMS)
        .map(|n| json!({ "item": item(n), "qty": "1000000", "unitPrice": "12.00", "vatRate": "0.13" }))
        .collect();
    c.command("place-purchase-order", &json!({ "id": po, "supplier": SUPPLIER, "warehouse": WAREHOUSE, "department": "PUR", "lines": lines })).await?;
    c.token = APPROVER;
    c.command("approve-purchase-order", &json!({ "id": po })).await?;
    c.token = TOKEN;
    let received: Vec<Value> = (0..ITEMS).map(|n| json!({ "line": n, "qty": "1000000" })).collect();
    let receipt = "00000000-0000-0000-0003-000000000002";
    let (status, answer) = c
        .post(
            "/api/v1/commands/receive-goods",
            json!({ "order": po, "receipt": receipt, "lines": received }).to_string().as_bytes(),
        )
        .await?;
    anyhow::ensure!(status == 200, "receive-goods: {status} {}", String::from_utf8_lossy(&answer));
    Ok(())
}

/// Runs `clients` connections for `seconds`, each sending `make(client, n)` bodies to `path` one
/// after the other; answers the latencies of the 2xx answers (µs) and the count of the others.
async fn load(
    address: SocketAddr,
    clients: usize,
    seconds: f64,
    path: &'static str,
    make: fn(u64, u64) -> String,
) -> anyhow::Result<(Vec<u64>, u64, f64)> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients as u64 {
        tasks.spawn(async move {
            let mut connection = Connection::open(address).await?;
            let (mut latencies, mut failed) = (Vec::new(), 0u64);
            let mut n = 0;
            while Instant::now() < deadline {
                let body = make(client, n);
                let sent = Instant::now();
                let (status, _) = connection.post(path, body.as_bytes()).await?;
                if (200..300).contains(&status) {
                    latencies.push(sent.elapsed().as_micros() as u64);
                } else {
                    failed += 1;
                }
                n += 1;
            }
            anyhow::Ok((latencies, failed))
        });
    }
    let (mut latencies, mut failed) = (Vec::new(), 0);
    while let Some(done) = tasks.join_next().await {
        let (l, f) = done??;
        latencies.extend(l);
        failed += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Ok((latencies, failed, elapsed))
}

/// Waits until the log's head has stood still for half a second with the read models at it (the
/// process managers and projections have caught up); answers how long that took.
async fn settle(address: SocketAddr) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut last = (u64::MAX, Instant::now());
    loop {
        let mut c = Connection::open(address).await?;
        let text = c.get("/metrics").await?;
        let gauge = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<u64>().ok()))
                .unwrap_or(0)
        };
        let (head, lag) = (gauge("erp_log_head_position "), gauge("erp_read_models_lag "));
        if head != last.0 {
            last = (head, Instant::now());
        } else if lag == 0 && last.1.elapsed() >= Duration::from_millis(500) {
            return Ok(started.elapsed().as_secs_f64());
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(120), "the service did not settle");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A sales order of three lines, written straight into JSON text: the load generator shares the
/// machine with the server, so it spends as little as it can per request.
fn order(client: u64, n: u64) -> String {
    let k = client * 1_000_000 + n;
    let line = |l: u64| {
        format!(
            r#"{{"item":"{}","qty":"1","unitPrice":"19.90","vatRate":"0.13"}}"#,
            item(k.wrapping_mul(7919) + l * 61)
        )
    };
    format!(
        r#"{{"id":"00000000-0000-0000-{:04x}-{n:012x}","customer":"{}","channel":{{"kind":"direct"}},"warehouse":"{WAREHOUSE}","lines":[{},{},{}]}}"#,
        0x1000 + client,
        customer(k),
        line(0),
        line(1),
        line(2)
    )
}

fn read(client: u64, n: u64) -> String {
    if (client + n).is_multiple_of(2) {
        format!(
            r#"{{"query":"query($book: String!, $item: String!) {{ stockLevels(book: $book, item: $item) {{ nodes {{ onHand reserved available }} }} }}","variables":{{"book":"{BOOK}","item":"{}"}}}}"#,
            item(n)
        )
    } else {
        format!(
            r#"{{"query":"query($book: String!) {{ openItems(book: $book, subledger: RECEIVABLE) {{ aging {{ notDue within30Days }} }} }}","variables":{{"book":"{BOOK}"}}}}"#
        )
    }
}

pub(crate) fn http(common: &BenchCommon, concurrency: usize, seconds: f64) -> anyhow::Result<Value> {
    let dir = crate::bench::scratch(common)?;
    let (mut child, address) = start_server(dir.path())?;
    let outcome = runtime()?.block_on(async {
        setup(address).await?;
        let (commands, commands_failed, commands_seconds) =
            load(address, concurrency, seconds, "/api/v1/commands/place-sales-order", order).await?;
        // The orders' process work (reservations) and the read models finish before the reads are
        // measured, so the reads do not share the machine with the commands' tail.
        let settled = settle(address).await?;
        let (reads, reads_failed, reads_seconds) = load(address, concurrency, seconds, "/graphql", read).await?;
        anyhow::Ok(json!({
            "workload": "W4 HTTP: place-sales-order (3 lines) at C clients, then GraphQL stock levels / receivables",
            "concurrency": concurrency,
            "commands_per_sec": commands.len() as f64 / commands_seconds,
            "commands_p50_us": percentile(&commands, 0.5),
            "commands_p99_us": percentile(&commands, 0.99),
            "commands_failed": commands_failed,
            "settle_seconds": settled,
            "reads_per_sec": reads.len() as f64 / reads_seconds,
            "reads_p50_us": percentile(&reads, 0.5),
            "reads_p99_us": percentile(&reads, 0.99),
            "reads_failed": reads_failed,
            "target_commands_per_sec": 10_000,
            "target_commands_p99_us": 20_000,
            "target_reads_per_sec": 20_000,
            "target_reads_p99_us": 10_000,
        }))
    });
    let _ = child.kill();
    let _ = child.wait();
    outcome
}

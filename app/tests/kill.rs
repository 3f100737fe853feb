//! `erp serve` killed with SIGKILL under HTTP load: every command that was answered 2xx is in the log
//! after a restart on the same data directory (an acknowledged write survives a crash).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use command_api::http::auth::Tokens;
use serde_json::{Value, json};

mod common;
use common::request;

const BOOK: &str = "00000000-0000-0000-0000-000000000001";
const TOKEN: &str = "t-kill";

/// Starts `erp serve` on a port of its choosing and answers the child and the address it printed.
fn start(dir: &std::path::Path) -> (Child, SocketAddr) {
    let config = dir.join("erp.toml");
    std::fs::write(
        &config,
        format!(
            "[[tokens]]\nhash = \"{}\"\nactor = \"load\"\nbook = \"{BOOK}\"\nroles = [\"admin\"]\n",
            Tokens::hash(TOKEN)
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_erp"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    // "erp serving on http://127.0.0.1:PORT  (GraphiQL: ...)"
    let address = line.split("http://").nth(1).and_then(|r| r.split_whitespace().next()).expect(&line);
    (child, address.parse().unwrap())
}

async fn create_partner(address: SocketAddr, n: u64) -> u16 {
    let body = json!({ "id": format!("00000000-0000-0000-0000-{n:012x}"), "name": format!("客户 {n}"),
                       "customer": true, "region": "华东" });
    let bearer = format!("Bearer {TOKEN}");
    let headers = [("Authorization", bearer.as_str()), ("Content-Type", "application/json")];
    let sent = tokio::time::timeout(
        Duration::from_secs(5),
        request_or_reset(address, "/api/v1/commands/create-partner", &headers, body.to_string()),
    )
    .await;
    sent.ok().flatten().unwrap_or(0)
}

/// A request whose connection may die with the server: `None` then.
async fn request_or_reset(
    address: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: String,
) -> Option<u16> {
    let path = path.to_string();
    let headers: Vec<(String, String)> =
        headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    // `request` panics on a broken exchange; a task keeps that panic from failing the test.
    tokio::spawn(async move {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        request(address, "POST", &path, &headers, body.as_bytes()).await.0
    })
    .await
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_answered_2xx_before_a_sigkill_is_in_the_log_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, address) = start(dir.path());
    // Wait until it answers.
    for _ in 0..100 {
        if request_ok(address).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Sixteen clients create partners as fast as they are answered; the server is killed mid-stream.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..16u64 {
        let acknowledged = acknowledged.clone();
        clients.spawn(async move {
            for k in 0.. {
                let n = 1 + c + 16 * k;
                match create_partner(address, n).await {
                    200 => acknowledged.lock().unwrap().push(n),
                    0 => return,
                    other => panic!("partner {n}: status {other}"),
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    while clients.join_next().await.is_some() {}
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 50, "the load ran: {} acknowledged", acknowledged.len());

    let (mut child, address) = start(dir.path());
    let bearer = format!("Bearer {TOKEN}");
    let mut missing = Vec::new();
    for n in &acknowledged {
        let query = json!({ "query": "query($book: String!, $stream: String!) { streamHistory(book: $book, stream: $stream) { nodes { eventType } } }",
                            "variables": { "book": BOOK, "stream": format!("partner-00000000-0000-0000-0000-{n:012x}") } });
        let (status, _, body) = request(
            address,
            "POST",
            "/graphql",
            &[("Authorization", bearer.as_str()), ("Content-Type", "application/json")],
            query.to_string().as_bytes(),
        )
        .await;
        assert_eq!(status, 200);
        let answer: Value = serde_json::from_slice(&body).unwrap();
        if answer["data"]["streamHistory"]["nodes"].as_array().is_none_or(|n| n.is_empty()) {
            missing.push(*n);
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?} of {}", acknowledged.len());
}

async fn request_ok(address: SocketAddr) -> bool {
    tokio::spawn(async move { request(address, "GET", "/healthz", &[], b"").await.0 == 200 })
        .await
        .unwrap_or(false)
}

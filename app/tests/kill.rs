//! `erp serve` killed with SIGKILL under HTTP load: every command that was answered 2xx is in the log
//! after a restart on the same data directory (an acknowledged write survives a crash).

use std::net::SocketAddr;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

mod common;
use common::request;

const BOOK: &str = "00000000-0000-0000-0000-000000000001";
const TOKEN: &str = "t-kill";

/// Starts `erp serve` in a process of its own and answers the child and its address.
fn start(dir: &std::path::Path) -> (Child, SocketAddr) {
    let tokens = app::serve::token_entry_toml(TOKEN, "load", BOOK, "admin");
    app::serve::spawn_child(std::path::Path::new(env!("CARGO_BIN_EXE_erp")), dir, &tokens).unwrap()
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
    let mut missing = Vec::new();
    const HISTORY: &str = "query($book: String!, $stream: String!) {
        streamHistory(book: $book, stream: $stream) { nodes { eventType } } }";
    for n in &acknowledged {
        let stream = format!("partner-00000000-0000-0000-0000-{n:012x}");
        let answer =
            common::graphql(address, TOKEN, HISTORY, json!({ "book": BOOK, "stream": stream })).await;
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

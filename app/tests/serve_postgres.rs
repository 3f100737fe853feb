//! `erp serve --store postgres://...` end to end over HTTP: the service over a fresh schema of the
//! database named by `ERP_TEST_POSTGRES_URL` takes the test company's commands, its read side answers
//! them at their positions (read-your-writes) and after the process managers' steps, and a restart over
//! the same schema (with an empty data directory, so every read model and process manager starts from
//! the PostgreSQL log alone) still shows them. Skipped, saying so, without the variable.

use rust_decimal::Decimal;
use serde_json::json;

mod common;
use common::{
    BOOK, Client, ITEM, PO, STOCK, company, dec, level, order_of_three, procure, request, reserved_is,
    sell_three,
};

const DOCS: &str = "query($book: String!, $kind: DocumentKind, $min: Int) {
    documents(book: $book, kind: $kind, minPosition: $min) { nodes { id status } position } }";

const POSITIONS: &str = "{ positions { head stock } }";

async fn start(schema: &tests::postgres::Schema, dir: &std::path::Path) -> (app::serve::Service, Client) {
    let mut config = common::config(dir);
    config.store = Some(schema.url().to_string());
    config.store_schema = Some(schema.name().to_string());
    let service = app::serve::start(&config).await.expect("erp serve over PostgreSQL");
    let client = Client { address: service.address };
    (service, client)
}

async fn ready(c: &Client) {
    let started = std::time::Instant::now();
    loop {
        let (status, _, body) = request(c.address, "GET", "/readyz", &[], b"").await;
        if status == 200 {
            return;
        }
        assert!(started.elapsed().as_secs() < 10, "never ready: {}", String::from_utf8_lossy(&body));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_over_postgres_reads_its_own_writes_and_keeps_them_across_a_restart() {
    let Some(schema) = tests::postgres::Schema::fresh() else { return };
    let first_dir = tempfile::tempdir().unwrap();
    let (service, c) = start(&schema, first_dir.path()).await;
    ready(&c).await;

    // The masters and 10 cups bought and received (the receiving process books them into stock).
    company(&c).await;
    procure(&c).await;

    // Read-your-writes: the sales order is among the documents at its own position, no polling.
    const ORDER: &str = "00000000-0000-0000-0000-0000000000f1";
    let placed = c.ok("t-wang", "place-sales-order", order_of_three(ORDER)).await;
    let docs = c.graphql("t-wang", DOCS, json!({ "book": BOOK, "kind": "SALES_ORDER", "min": placed })).await;
    assert!(docs["errors"].is_null(), "{docs}");
    let nodes = docs["data"]["documents"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{docs}");
    assert_eq!(nodes[0]["id"], ORDER, "{docs}");
    assert!(docs["data"]["documents"]["position"].as_u64().unwrap() >= placed, "{docs}");

    // The order-fulfilment process reserves the 3 cups a moment later.
    c.until("t-wang", STOCK, json!({ "book": BOOK, "item": ITEM, "min": placed }), |d| reserved_is(d, 3))
        .await;
    let head = c.head().await;
    assert!(head >= placed, "the head gauge {head} is behind the order's position {placed}");
    let positions = c.graphql("t-boss", POSITIONS, json!({})).await;
    assert!(positions["errors"].is_null(), "{positions}");
    assert!(positions["data"]["positions"]["head"].as_u64().unwrap() >= placed, "{positions}");
    service.stop().await.unwrap();

    // A restart over the same schema with an empty data directory: everything comes back from the log.
    let second_dir = tempfile::tempdir().unwrap();
    let (service, c) = start(&schema, second_dir.path()).await;
    ready(&c).await;
    let data = c
        .until("t-sun", STOCK, json!({ "book": BOOK, "item": ITEM, "min": head }), |d| reserved_is(d, 3))
        .await;
    assert_eq!(dec(&level(&data)["onHand"]), Decimal::from(10), "{data}");
    assert_eq!(dec(&level(&data)["value"]), Decimal::new(12000, 2), "{data}");
    let docs =
        c.graphql("t-zhao", DOCS, json!({ "book": BOOK, "kind": "PURCHASE_ORDER", "min": head })).await;
    assert!(docs["errors"].is_null(), "{docs}");
    assert_eq!(docs["data"]["documents"]["nodes"][0]["id"], PO, "{docs}");

    // The restarted service takes commands where the first one left off: the order is known (its
    // second placement is refused or answered as a repeat, never a second order).
    let answer = c.command_with("t-wang", "place-sales-order", &order_of_three(ORDER), &[]).await;
    assert_ne!(answer.status, 500, "{}", answer.body);
    let docs = c.graphql("t-wang", DOCS, json!({ "book": BOOK, "kind": "SALES_ORDER", "min": head })).await;
    assert_eq!(docs["data"]["documents"]["nodes"].as_array().unwrap().len(), 1, "{docs}");
    service.stop().await.unwrap();
}

#[tokio::test]
async fn serve_refuses_an_unknown_store_without_repeating_its_url() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.store = Some("mysql://root:secret@db/erp".into());
    let error = app::serve::start(&config).await.err().expect("refused").to_string();
    assert!(error.contains("mysql") && !error.contains("secret"), "{error}");
    config.store = None;
    config.store_schema = Some("erp".into());
    let error = app::serve::start(&config).await.err().expect("refused").to_string();
    assert!(error.contains("schema"), "{error}");
}

/// A log copied to another PostgreSQL schema (`erp migrate`) numbers its events otherwise: the data
/// directory's snapshots and process checkpoints, positions in the old log, must not be taken for the
/// copy's (the read models would count every event twice). Served from the copy with the same data
/// directory, the service rebuilds them from the copy and answers exactly what it answered before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_over_a_migrated_copy_with_the_same_data_directory_rebuilds_instead_of_counting_twice() {
    let (Some(original), Some(copy)) = (tests::postgres::Schema::fresh(), tests::postgres::Schema::fresh())
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = start(&original, dir.path()).await;
    ready(&c).await;
    company(&c).await;
    procure(&c).await;
    sell_three(&c, "00000000-0000-0000-0000-0000000000f2").await;
    service.stop().await.unwrap();
    assert!(dir.path().join("projections").read_dir().unwrap().next().is_some(), "snapshots were written");

    let (from, to) = (original.connect().await, copy.connect().await);
    let report = infra::migrate::migrate(&from.into(), &to.clone().into(), &mut |_| {}).await.unwrap();
    assert!(report.events > 0);
    drop(to);

    let (service, c) = start(&copy, dir.path()).await;
    ready(&c).await;
    let head = c.head().await;
    let data = c
        .until("t-sun", STOCK, json!({ "book": BOOK, "item": ITEM, "min": head }), |d| {
            level(d)["reserved"].as_str().is_some_and(|q| q.parse::<Decimal>().unwrap() >= Decimal::from(3))
        })
        .await;
    assert_eq!(dec(&level(&data)["reserved"]), Decimal::from(3), "{data}");
    assert_eq!(dec(&level(&data)["onHand"]), Decimal::from(10), "{data}");
    let docs = c.graphql("t-wang", DOCS, json!({ "book": BOOK, "kind": "SALES_ORDER", "min": head })).await;
    assert_eq!(docs["data"]["documents"]["nodes"].as_array().unwrap().len(), 1, "{docs}");
    let identity = std::fs::read_to_string(dir.path().join("store.identity")).unwrap();
    assert!(identity.starts_with("postgres:"), "{identity}");
    service.stop().await.unwrap();
}

/// Moving a node from its embedded log to PostgreSQL with `erp migrate --data-dir`: the process
/// managers' checkpoints are carried to the copy's positions (so they neither act on history again nor
/// skip anything), the snapshots are dropped, and the node serves the same books from the copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_moved_to_postgres_with_migrate_keeps_its_process_checkpoints_and_its_books() {
    let Some(schema) = tests::postgres::Schema::fresh() else { return };
    let dir = tempfile::tempdir().unwrap();
    let service = app::serve::start(&common::config(dir.path())).await.unwrap();
    let c = Client { address: service.address };
    ready(&c).await;
    company(&c).await;
    procure(&c).await;
    let head = c.head().await;
    c.until("t-sun", STOCK, json!({ "book": BOOK, "item": ITEM, "min": head }), |d| {
        level(d)["onHand"].as_str().is_some_and(|q| q.parse::<Decimal>().unwrap() == Decimal::from(10))
    })
    .await;
    service.stop().await.unwrap();
    let data = dir.path().to_path_buf();
    let before = app::migrate::read_checkpoints(&data).unwrap();
    assert!(before.iter().any(|(_, p)| *p > 0), "the process managers ran: {before:?}");

    let args = app::cli::MigrateArgs {
        from: data.display().to_string(),
        from_schema: None,
        to: schema.url().to_string(),
        to_schema: Some(schema.name().to_string()),
        from_namespace: None,
        to_namespace: None,
        store_connections: None,
        data_dir: Some(data.clone()),
        json: true,
    };
    let code = tokio::task::spawn_blocking(move || app::migrate::run(&args)).await.unwrap().unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let after = app::migrate::read_checkpoints(&data).unwrap();
    assert_eq!(after.len(), before.len());
    for ((name, was), (_, now)) in before.iter().zip(&after) {
        assert!((*was == 0) == (*now == 0), "{name}: {was} -> {now}");
        assert!(*now == 0 || *now > 1 << 20, "{name}: a PostgreSQL position: {now}");
    }
    assert!(!data.join("projections").exists(), "snapshots of the old positions are dropped");

    let (service, c) = start(&schema, dir.path()).await;
    ready(&c).await;
    let head = c.head().await;
    let stock = c
        .until("t-sun", STOCK, json!({ "book": BOOK, "item": ITEM, "min": head }), |d| {
            level(d)["onHand"].as_str().is_some_and(|q| q.parse::<Decimal>().unwrap() >= Decimal::from(10))
        })
        .await;
    assert_eq!(dec(&level(&stock)["onHand"]), Decimal::from(10), "{stock}");
    let kept = app::migrate::read_checkpoints(&data).unwrap();
    assert!(kept.iter().zip(&after).all(|((_, k), (_, a))| k >= a), "{kept:?} {after:?}");
    service.stop().await.unwrap();
}

/// A KurrentDB URL is recognised in every build; without the `kurrentdb` feature the service says which
/// feature it lacks, and in either build it never repeats the URL (it may hold a password).
#[tokio::test]
async fn serve_answers_a_kurrentdb_url_without_repeating_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    for url in ["kurrentdb://admin:secret@127.0.0.1:1?tls=false", "esdb://admin:secret@127.0.0.1:1?tls=false"]
    {
        config.store = Some(url.into());
        let error = app::serve::start(&config).await.err().expect("refused").to_string();
        assert!(!error.contains("secret"), "{error}");
        if cfg!(feature = "kurrentdb") {
            assert!(error.contains("KurrentDB"), "{error}");
        } else {
            assert_eq!(error, infra::kurrentdb::NOT_BUILT_IN);
        }
    }
    config.store = None;
    config.store_namespace = Some("acme".into());
    let error = app::serve::start(&config).await.err().expect("refused").to_string();
    assert!(error.contains("namespace"), "{error}");
}

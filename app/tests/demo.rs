//! `erp seed` / `erp demo`: the demo company is made through the command bus, the same log for the
//! same seed, with books that balance and agree with the stock, and `erp serve` carries on from it.

mod common;

use std::time::{Duration, Instant};

use app::demo::{DemoConfig, DemoSummary, is_seeded, log_digest, seed_data_dir};
use command_api::FileCheckpoints;
use command_api::http::auth::{TokenEntry, Tokens};
use domain::finance::book::Book;
use domain::inventory::{StockItem, StockKey};
use domain::process::ProcessManager;
use domain::time::{CHINA_UTC_OFFSET_MINUTES, Period, parse_local_date};
use infra::{EmbeddedStore, EventStore};
use projections::reports::BalanceSheet;
use rust_decimal::Decimal;
use serde_json::json;

/// A small company over a few weeks: enough for every flow, quick in a debug build.
fn small(seed: u64) -> DemoConfig {
    DemoConfig {
        seed,
        days: 20,
        orders_per_day: 4,
        items: 120,
        customers: 40,
        suppliers: 8,
        ..DemoConfig::default()
    }
}

async fn seeded(dir: &std::path::Path, config: &DemoConfig) -> (DemoSummary, EmbeddedStore) {
    let summary = seed_data_dir(dir, config, |_, _| {}).await.expect("seeded");
    let store = EmbeddedStore::open_dir(dir.join("log")).expect("the seeded log opens");
    (summary, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_makes_the_same_log_and_another_seed_a_different_one() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let (first, a) = seeded(dirs[0].path(), &small(7)).await;
    let (second, b) = seeded(dirs[1].path(), &small(7)).await;
    let (other, c) = seeded(dirs[2].path(), &small(8)).await;
    assert_eq!(first, second, "the same summary");
    assert_eq!(a.head_position().await.unwrap(), b.head_position().await.unwrap());
    // The head hashes differ: the store's recording time is part of the hash chain. Everything else
    // about every event is the same.
    assert_eq!(log_digest(&a).await.unwrap(), log_digest(&b).await.unwrap());
    assert_ne!(log_digest(&a).await.unwrap(), log_digest(&c).await.unwrap());
    assert_ne!(first, other);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_month_closes_with_books_that_balance_and_agree_with_the_stock() {
    let dir = tempfile::tempdir().unwrap();
    // From 20 January: the stocktake on the 20th, January closed on the 31st, February's rent and
    // courier fees paid.
    let config =
        DemoConfig { start: parse_local_date("2026-01-20", CHINA_UTC_OFFSET_MINUTES).unwrap(), ..small(11) };
    let (summary, store) = seeded(dir.path(), &config).await;
    println!("{summary}");
    assert!(summary.orders >= 40, "{summary}");
    assert!(summary.shipments >= summary.orders * 8 / 10, "{summary}");
    assert!(summary.invoices >= summary.orders * 7 / 10, "{summary}");
    assert!(summary.receipts >= summary.invoices / 2, "{summary}");
    assert!(summary.goods_receipts >= summary.purchase_orders * 3 / 4, "{summary}");
    assert!(summary.supplier_invoices > 0 && summary.stocktakes == 1, "{summary}");
    assert_eq!(summary.months_closed, 1, "{summary}");
    assert!(summary.manual_vouchers >= 3, "wages accrued, rent and courier fees paid: {summary}");
    assert!(summary.rejected() * 20 <= summary.orders, "at most one in twenty refused: {summary}");
    let head = store.head_position().await.unwrap();
    assert_eq!(summary.events, head);

    // The service's process managers find their checkpoints at the head.
    let checkpoints = FileCheckpoints::new(dir.path().join("process"));
    let mut names = Vec::new();
    macro_rules! name {
        ($p:path) => {
            names.push(<$p as ProcessManager>::NAME);
        };
    }
    command_api::for_each_process_manager!(name);
    assert_eq!(names.len(), 13);
    for name in names {
        assert_eq!(checkpoints.load(name).unwrap(), head, "{name}");
    }

    // Every month's trial balance balances, and so does the balance sheet.
    let books = tests::books::fold_books(&store).await;
    let bus = command_api::CommandBus::new(store.clone());
    let chart = bus.load::<Book>(&Book::stream(config.book)).await.unwrap().accounts;
    let (january, february) = (Period::new(2026, 1).unwrap(), Period::new(2026, 2).unwrap());
    for month in [january, february] {
        let rows = books.ledger.trial_balance(&chart, month);
        let top: Vec<_> = rows.iter().filter(|r| r.level == 1).collect();
        assert_eq!(top.iter().map(|r| r.closing).sum::<Decimal>(), Decimal::ZERO, "{month}");
        assert_eq!(
            top.iter().map(|r| r.debit).sum::<Decimal>(),
            top.iter().map(|r| r.credit).sum::<Decimal>(),
            "{month}"
        );
    }
    let sheet = BalanceSheet::at(&books.ledger, &chart, february);
    assert_eq!(sheet.total_assets, sheet.total_liabilities + sheet.total_equity);
    assert!(books.vouchers.len() as u64 > summary.invoices, "every flow booked its vouchers");
    // January's profit moved to 本年利润 at its month end; its income accounts are empty.
    assert_eq!(books.ledger.balance("5001", january), Decimal::ZERO);

    // The stock ledger agrees with 库存商品: every stock item's value, summed, is 1405's balance.
    let keys: std::collections::HashSet<StockKey> = tests::books::whole_log(&store)
        .await
        .iter()
        .filter(|e| e.event_type.name().starts_with("inventory.Stock"))
        .filter_map(|e| StockKey::from_stream_id(e.stream_id.as_str()))
        .collect();
    let mut value = Decimal::ZERO;
    for key in &keys {
        value += bus.load::<StockItem>(&key.stream_id()).await.unwrap().value;
    }
    assert_eq!(value, books.ledger.balance("1405", february));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erp_serve_on_a_seeded_data_directory_is_ready_and_shows_the_demo_company() {
    let dir = tempfile::tempdir().unwrap();
    let config = small(3);
    let summary = seed_data_dir(dir.path(), &config, |_, _| {}).await.unwrap();
    assert!(is_seeded(dir.path()).unwrap());
    let token = Tokens::generate();
    let serve = app::serve::ServeConfig {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        data_dir: Some(dir.path().to_path_buf()),
        store: None,
        store_schema: None,
        store_connections: None,
        read_only: false,
        store_namespace: None,
        tokens: vec![TokenEntry {
            hash: Tokens::hash(&token),
            actor: "demo".into(),
            book: config.book.0,
            roles: vec!["admin".into()],
        }],
    };
    let service = app::serve::start(&serve).await.unwrap();
    let started = Instant::now();
    while common::request(service.address, "GET", "/readyz", &[], b"").await.0 != 200 {
        assert!(started.elapsed() < Duration::from_secs(20), "the read models never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let query = "query($book: String!) { dashboard(book: $book) { orders } }";
    let answer =
        common::graphql(service.address, &token, query, json!({ "book": config.book.0.to_string() })).await;
    assert_eq!(answer["data"]["dashboard"]["orders"].as_u64(), Some(summary.orders), "{answer}");
    service.stop().await.unwrap();
    // The process managers started at their checkpoints: nothing was left for them to do.
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    assert_eq!(store.head_position().await.unwrap(), summary.events);
}

//! Snapshot tests of every read model's views after a scripted month of trade
//! (`tests::scenarios::buy_and_sell`): each view rendered as text and compared with the snapshot kept in
//! `tests/snapshots/` (insta). A change to a fold that changes what a view shows fails here and shows
//! the difference; an intended change is accepted by running the test with `INSTA_UPDATE=always` and
//! reviewing the new `.snap` files.

use std::fmt::Write;

use command_api::CommandBus;
use domain::Timestamp;
use domain::finance::book::Book;
use domain::time::Period;
use infra::{EmbeddedStore, EventStore};
use projections::audit::AuditFilter;
use projections::documents::DocumentFilter;
use projections::open_items::Ledger as Which;
use projections::process_metrics::FlowKind;
use projections::reports::{BalanceSheet, IncomeStatement};
use tests::read_models::ReadModels;
use tests::scenarios::{BOOK, CUSTOMER, ITEM, NOVEMBER, SUPPLIER};

/// The month of trade with every model folded to the head, as the service keeps them.
struct Views {
    store: EmbeddedStore,
    bus: CommandBus<EmbeddedStore>,
    models: ReadModels,
    _dir: tempfile::TempDir,
}

async fn views() -> Views {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let bus = CommandBus::new(store.clone());
    tests::scenarios::buy_and_sell(&bus, dir.path()).await;
    let mut models = ReadModels::open(&store, &dir.path().join("snapshots"), u64::MAX);
    models.advance().await;
    Views { store, bus, models, _dir: dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_view_after_a_month_of_trade() {
    let v = views().await;
    let month = Period::new(2026, 11).unwrap();
    let chart = v.bus.load::<Book>(&Book::stream(BOOK)).await.unwrap().accounts;

    let ledger = v.models.ledger.read(|ledgers| {
        let ledger = ledgers.book(BOOK);
        let mut out = String::from("code       opening      debit     credit    closing\n");
        for row in ledger.trial_balance(&chart, month) {
            if row.debit.is_zero() && row.credit.is_zero() && row.opening.is_zero() {
                continue;
            }
            let _ = writeln!(
                out,
                "{:<8} {:>9} {:>10} {:>10} {:>10}",
                row.code, row.opening, row.debit, row.credit, row.closing
            );
        }
        let sheet = BalanceSheet::at(ledger, &chart, month);
        let _ = writeln!(out, "\n{sheet:#?}");
        let income = IncomeStatement::over(ledger, &chart, month..=month);
        let _ = writeln!(out, "\n{income:#?}");
        // Log positions depend on how the process managers interleaved: the count is what is stable.
        let _ = writeln!(out, "\n1405 detail: {} vouchers", ledger.detail_len("1405", month..=month));
        out
    });
    insta::assert_snapshot!("ledger", ledger.0);

    let items = v.models.items.read(|items| {
        let items = items.book(BOOK);
        let mut out = String::new();
        for which in [Which::Receivable, Which::Payable] {
            let _ = writeln!(out, "{which:?} balances: {:?}", items.balances(which, Timestamp(i64::MAX)));
            let _ = writeln!(out, "{which:?} aging: {:?}", items.aging(which, NOVEMBER));
        }
        let _ = writeln!(
            out,
            "customer's open items: {:#?}",
            items.open_items(Which::Receivable, CUSTOMER, NOVEMBER)
        );
        let _ = writeln!(
            out,
            "supplier's statement: {:#?}",
            items.statement(Which::Payable, SUPPLIER, NOVEMBER, NOVEMBER)
        );
        out
    });
    insta::assert_snapshot!("open_items", items.0);

    let stock = v.models.stock.read(|stock| {
        let stock = stock.book(BOOK);
        let mut out = String::new();
        for (key, level) in stock.levels() {
            let _ = writeln!(out, "{} @ {}: {level:?}", key.item, key.warehouse);
        }
        let _ = writeln!(out, "valuation {}", stock.valuation());
        let _ = writeln!(out, "alerts {:?}", stock.alerts());
        let _ = writeln!(out, "movements of the item: {}", stock.movement_count(ITEM));
        out
    });
    insta::assert_snapshot!("stock", stock.0);

    let metrics = v.models.metrics.read(|metrics| {
        let metrics = metrics.book(BOOK);
        let filter = Default::default();
        let mut out = String::new();
        for kind in [FlowKind::OrderToCash, FlowKind::ProcureToPay] {
            let _ = writeln!(out, "{kind:?}: {:#?}", metrics.summary(kind, &filter));
            let _ = writeln!(out, "waiting: {:#?}", metrics.waiting(kind, &filter, NOVEMBER));
        }
        out
    });
    insta::assert_snapshot!("process_metrics", metrics.0);

    let documents = v
        .models
        .documents
        .read(|documents| format!("{:#?}", documents.book(BOOK).list(&DocumentFilter::default(), None, 50)));
    insta::assert_snapshot!("documents", documents.0);

    let dashboard = v.models.dashboard.read(|d| {
        let d = d.book(BOOK);
        format!(
            "{:#?}\nby channel {:?}\nby region {:?}\ntop items {:?}\ndaily {:?}",
            d.totals(None, None),
            d.by_channel(),
            d.by_region(),
            d.top_items(3),
            d.daily(None, None)
        )
    });
    insta::assert_snapshot!("dashboard", dashboard.0);

    let audit = v.models.audit.read(|audit| {
        let audit = audit.book(BOOK);
        // How many events each criterion finds (their positions depend on how the process managers
        // interleaved).
        let count = |filter: AuditFilter| audit.positions(&filter, 0, 1_000).map_or(0, |p| p.len());
        let by = |actor: &str| count(AuditFilter { actor: Some(actor.into()), ..Default::default() });
        let typed = |t: &str| count(AuditFilter { event_type: Some(t.into()), ..Default::default() });
        format!(
            "by li: {:?}\nvouchers posted: {:?}\nshipments costed: {:?}",
            by("li"),
            typed("finance.VoucherPosted"),
            typed("sales.ShipmentCosted")
        )
    });
    insta::assert_snapshot!("audit", audit.0);
    assert_eq!(v.models.set.position(), v.store.head_position().await.unwrap());
}

//! The read side's benchmarks over a real log (one made by `erp bench order-to-cash --keep DIR`):
//! W2 through every read model (`erp bench projections`), W5 cold start (`erp bench cold-start`) and
//! query latency (`erp bench queries`).
#![allow(clippy::float_arithmetic)] // Rates and ratios for reporting only; no money passes here.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use infra::{EmbeddedStore, Envelope, LogPage};
use projections::fact::Fact;
use projections::per_book::PerBook;
use projections::runtime::{ProjectorSet, READ_PAGE, ReadModel, View};
use serde_json::{Value, json};

use crate::bench::{peak_rss_mib, percentile, rss_mib};

fn open_log(data_dir: &Path) -> anyhow::Result<EmbeddedStore> {
    anyhow::ensure!(
        data_dir.is_dir(),
        "no log at {} (make one with `erp bench order-to-cash --keep DIR`; the log is DIR/log)",
        data_dir.display()
    );
    Ok(EmbeddedStore::open_dir(data_dir)?)
}

/// Every read model as a view folded by hand, timed one by one.
#[derive(Default)]
struct Views {
    ledger: View<projections::ledger::Ledgers>,
    items: View<PerBook<projections::open_items::OpenItems>>,
    stock: View<PerBook<projections::stock::Stock>>,
    metrics: View<PerBook<projections::process_metrics::ProcessMetrics>>,
    documents: View<PerBook<projections::documents::Documents>>,
    dashboard: View<PerBook<projections::dashboard::Dashboard>>,
    audit: View<PerBook<projections::audit::Audit>>,
}

const NAMES: [&str; 7] = [
    projections::ledger::Ledgers::NAME,
    projections::open_items::OpenItems::NAME,
    projections::stock::Stock::NAME,
    projections::process_metrics::ProcessMetrics::NAME,
    projections::documents::Documents::NAME,
    projections::dashboard::Dashboard::NAME,
    projections::audit::Audit::NAME,
];

impl Views {
    /// Folds one page into every model, adding the seconds each one took to `spent`.
    fn fold(&mut self, page: &[Envelope<'_>], facts: &[Fact], spent: &mut [f64; 7]) {
        let mut timed = |i: usize, fold: &mut dyn FnMut()| {
            let t = Instant::now();
            fold();
            spent[i] += t.elapsed().as_secs_f64();
        };
        timed(0, &mut || self.ledger.apply_envelopes(page, facts));
        timed(1, &mut || self.items.apply_envelopes(page, facts));
        timed(2, &mut || self.stock.apply_envelopes(page, facts));
        timed(3, &mut || self.metrics.apply_envelopes(page, facts));
        timed(4, &mut || self.documents.apply_envelopes(page, facts));
        timed(5, &mut || self.dashboard.apply_envelopes(page, facts));
        timed(6, &mut || self.audit.apply_envelopes(page, facts));
    }
}

/// W2 through the read models: the whole log read from position 0 in pages, each event decoded once
/// and folded through every model on this thread. Answers the events, the seconds and the breakdown.
pub(crate) fn fold_whole_log(store: &EmbeddedStore) -> anyhow::Result<(u64, f64, Value)> {
    let head = store.head_position_now();
    let started = Instant::now();
    let mut views = Views::default();
    let mut spent = [0.0f64; 7];
    let (mut reading, mut decoding) = (0.0f64, 0.0f64);
    let mut position = 0;
    let (mut page, mut facts) = (LogPage::new(), Vec::new());
    while position < head {
        let t = Instant::now();
        store.read_page_blocking(position + 1, READ_PAGE, &mut page)?;
        reading += t.elapsed().as_secs_f64();
        let Some(last) = page.last_position() else { break };
        position = last;
        let t = Instant::now();
        Fact::decode_page_into(&page, &mut facts)?;
        decoding += t.elapsed().as_secs_f64();
        // Built once for every model, as the runtime does; counted as reading.
        let t = Instant::now();
        let envelopes: Vec<Envelope<'_>> = page.envelopes().collect();
        reading += t.elapsed().as_secs_f64();
        views.fold(&envelopes, &facts, &mut spent);
    }
    let seconds = started.elapsed().as_secs_f64();
    // Every model at its largest, before they are dropped.
    let with_models = rss_mib();
    anyhow::ensure!(
        views.stock.model.books().any(|(_, stock)| stock.valuation() > rust_decimal::Decimal::ZERO),
        "the stock model folded nothing"
    );
    let per_model: serde_json::Map<String, Value> =
        NAMES.iter().zip(spent).map(|(n, s)| (n.to_string(), json!(s))).collect();
    let breakdown = json!({ "read": reading, "decode": decoding, "models": per_model, "rss_with_models_mib": with_models });
    Ok((position, seconds, breakdown))
}

/// `erp bench projections`: W2 through every read model over an existing log, on one thread; then the
/// same through the runtime as a rebuild does it (a reader task decoding ahead of the fold).
pub(crate) fn projections(data_dir: &Path, rebuild: bool) -> anyhow::Result<Value> {
    let store = open_log(data_dir)?;
    // Where the memory goes: the store's index alone, then with every model folded.
    let (open_rss, open_peak) = (rss_mib(), peak_rss_mib());
    let (events, seconds, breakdown) = fold_whole_log(&store)?;
    let peak_single = peak_rss_mib();
    let one_thread = json!({
        "workload": "W2 through every read model (one read, one decode per event, one task)",
        "events": events,
        "seconds": seconds,
        "events_per_sec": events as f64 / seconds,
        "target_events_per_sec": 1_000_000,
        "seconds_breakdown": breakdown,
        "peak_rss_mib": peak_single,
        "rss_after_open_mib": open_rss,
        "peak_rss_after_open_mib": open_peak,
    });
    if !rebuild {
        store.close()?;
        return Ok(one_thread);
    }
    let scratch = tempfile::tempdir()?;
    let runtime = crate::bench::runtime()?;
    let started = Instant::now();
    let rebuilt = runtime.block_on(async {
        // No snapshot is written while measuring.
        let mut set = ProjectorSet::new(store.clone(), scratch.path()).with_snapshot_every(u64::MAX);
        let _handles = query_api::Handles::add_all_from_zero(&mut set);
        set.catch_up(|_, _| {}).await
    })?;
    let rebuild_seconds = started.elapsed().as_secs_f64();

    anyhow::ensure!(rebuilt == events, "the rebuild reached {rebuilt}, not {events}");
    store.close()?;
    let mut result = one_thread;
    result.as_object_mut().expect("an object").extend(
        json!({
            "rebuild_seconds": rebuild_seconds,
            "rebuild_events_per_sec": events as f64 / rebuild_seconds,
            "rebuild_note": "the runtime's catch-up: a reader task and a decoder task ahead of the fold",
        })
        .as_object()
        .expect("an object")
        .clone(),
    );
    Ok(result)
}

/// W2 on PostgreSQL: every read model rebuilt from position 0 by the runtime's catch-up (pages read
/// ahead of the fold, as a node over PostgreSQL rebuilds), from a log copied into `schema` with
/// `erp migrate`. The store is opened read-only.
pub(crate) fn projections_postgres(
    url: &str,
    schema: Option<&str>,
    connections: Option<usize>,
) -> anyhow::Result<Value> {
    use infra::EventStore;
    let runtime = crate::bench::runtime()?;
    let scratch = tempfile::tempdir()?;
    runtime.block_on(async {
        let mut config = crate::serve::postgres_config(url, schema, connections);
        config.create_or_migrate = false;
        let store = infra::AnyStore::from(
            infra::PostgresStore::open(config)
                .await
                .map_err(|e| crate::serve::store_error("open the PostgreSQL store", &e))?,
        );
        // Positions have gaps on PostgreSQL: count the events (a read of the whole log, which also
        // leaves the server's cache as warm as the embedded store's page cache is for W2 there).
        let (mut events, mut from) = (0u64, 1u64);
        loop {
            let page = store.read_all(from, 10_000).await?;
            let Some(last) = page.last() else { break };
            (events, from) = (events + page.len() as u64, last.position + 1);
        }
        let head = store.head_position().await?;
        let started = Instant::now();
        let mut set = ProjectorSet::new(store.clone(), scratch.path()).with_snapshot_every(u64::MAX);
        let _handles = query_api::Handles::add_all_from_zero(&mut set);
        let reached = set.catch_up(|_, _| {}).await?;
        let seconds = started.elapsed().as_secs_f64();
        anyhow::ensure!(reached >= head, "the rebuild reached {reached}, not the head {head}");
        anyhow::Ok(json!({
            "workload": "W2 through every read model (the runtime's rebuild)",
            "store": "postgres",
            "events": events,
            "seconds": seconds,
            "events_per_sec": events as f64 / seconds,
            "peak_rss_mib": peak_rss_mib(),
        }))
    })
}

/// Prepares `erp bench cold-start`: every model folded to `behind` events before the head and
/// snapshotted there, as a service that stopped (or crashed after its last snapshot) would leave them.
pub(crate) fn prepare_cold_start(data_dir: &Path, behind: u64) -> anyhow::Result<(u64, u64)> {
    let store = open_log(data_dir)?;
    let head = store.head_position_now();
    let until = head.saturating_sub(behind);
    let snapshots = data_dir.join("projections");
    let runtime = crate::bench::runtime()?;
    runtime.block_on(async {
        let mut set = ProjectorSet::new(store.clone(), &snapshots);
        let _handles = query_api::Handles::add_all_from_zero(&mut set);
        set.catch_up_to(until, |_, _| {}).await?;
        set.snapshot_all()?;
        anyhow::Ok(())
    })?;
    store.close()?;
    Ok((head, until))
}

/// One cold start: open the store and read every snapshot at the same time, then fold the tail to the
/// head. Answers the seconds of each phase.
pub(crate) fn cold_start(data_dir: &Path) -> anyhow::Result<Value> {
    let started = Instant::now();
    // As the service opens it: the CRC sweep of the frames under the checkpoint runs beside the start.
    let config = infra::EmbeddedConfig { verify_in_background: true, ..infra::EmbeddedConfig::new(data_dir) };
    let mut set = ProjectorSet::<EmbeddedStore>::detached(data_dir.join("projections"));
    let _handles = query_api::Handles::add_to(&mut set);
    let (store, opened_store, loaded) = std::thread::scope(|scope| {
        let opening = scope.spawn(|| {
            let store = EmbeddedStore::open(config);
            (store, started.elapsed().as_secs_f64())
        });
        set.load();
        let loaded = started.elapsed().as_secs_f64();
        let (store, opened) = opening.join().expect("the store opens without panicking");
        (store, opened, loaded)
    });
    let store = store?;
    set.attach(store.clone());
    let from = set.position();
    let runtime = crate::bench::runtime()?;
    let head = runtime.block_on(set.catch_up(|_, _| {}))?;
    let seconds = started.elapsed().as_secs_f64();
    store.close()?;
    Ok(json!({
        "workload": "W5 cold start (open the store and read every read model's snapshot at once, fold the tail)",
        "head": head,
        "tail_events": head - from,
        "seconds": seconds,
        "seconds_open_store": opened_store,
        "seconds_load_snapshots": loaded,
        "seconds_fold_tail": seconds - opened_store.max(loaded),
        "target_seconds": 2.0,
        "snapshot_bytes": snapshot_bytes(&data_dir.join("projections")),
        "peak_rss_mib": peak_rss_mib(),
    }))
}

fn snapshot_bytes(dir: &Path) -> Value {
    let mut sizes = serde_json::Map::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if let Ok(meta) = entry.metadata() {
            sizes.insert(entry.file_name().to_string_lossy().into_owned(), json!(meta.len()));
        }
    }
    Value::Object(sizes)
}

/// `erp bench queries`: each query kind asked `queries` times through the GraphQL schema in process
/// (parsing, validation, resolvers, serialization; no HTTP), p50 and p99 per kind.
pub(crate) fn queries(data_dir: &Path, queries: usize) -> anyhow::Result<Value> {
    let store = open_log(data_dir)?;
    let runtime = crate::bench::runtime()?;
    let results = runtime.block_on(async {
        let mut set = ProjectorSet::new(store.clone(), data_dir.join("projections"));
        let handles = query_api::Handles::add_to(&mut set);
        set.catch_up(|_, _| {}).await?;
        let read = Arc::new(query_api::ReadSide::new(store.clone(), handles));
        let schema = query_api::schema(read);
        let book = uuid::Uuid::from_u128(1);
        let kinds = [
            (
                "trial_balance",
                format!(
                    r#"{{ trialBalance(book: "{book}", period: "1970-06") {{ rows {{ code closing }} }} }}"#
                ),
            ),
            (
                "receivables_aging",
                format!(
                    r#"{{ openItems(book: "{book}", subledger: RECEIVABLE) {{ aging {{ notDue within30Days over90Days }} }} }}"#
                ),
            ),
            (
                "stock_page",
                format!(
                    r#"{{ stockLevels(book: "{book}", first: 50) {{ nodes {{ item onHand available value }} endCursor }} }}"#
                ),
            ),
        ];
        let mut out = Vec::new();
        for (name, query) in kinds {
            let mut micros = Vec::with_capacity(queries);
            for _ in 0..queries {
                let t = Instant::now();
                let response = schema.execute(query.as_str()).await;
                micros.push(t.elapsed().as_micros() as u64);
                anyhow::ensure!(response.errors.is_empty(), "{name}: {:?}", response.errors);
            }
            micros.sort_unstable();
            out.push(json!({
                "workload": format!("query {name}"),
                "queries": queries,
                "p50_us": percentile(&micros, 0.5),
                "p99_us": percentile(&micros, 0.99),
                "max_us": micros.last().copied().unwrap_or(0),
                "target_us": 10_000,
            }));
        }
        // As of the middle of the log: the first question folds a fresh ledger (the cost of a past
        // point), the next ones answer from the cache.
        let middle = store.head_position_now() / 2;
        let as_of = format!(
            r#"{{ trialBalance(book: "{book}", period: "1970-06", asOf: {{ position: {middle} }}) {{ rows {{ code closing }} }} }}"#
        );
        let t = Instant::now();
        let response = schema.execute(as_of.as_str()).await;
        let fold_seconds = t.elapsed().as_secs_f64();
        anyhow::ensure!(response.errors.is_empty(), "as of: {:?}", response.errors);
        let t = Instant::now();
        let response = schema.execute(as_of.as_str()).await;
        anyhow::ensure!(response.errors.is_empty(), "as of: {:?}", response.errors);
        out.push(json!({
            "workload": "query trial_balance as of the log's middle position",
            "first_seconds": fold_seconds,
            "cached_us": t.elapsed().as_micros() as u64,
        }));
        anyhow::Ok(out)
    })?;
    let head = store.head_position_now();
    store.close()?;
    Ok(json!({ "head": head, "results": results, "peak_rss_mib": peak_rss_mib() }))
}

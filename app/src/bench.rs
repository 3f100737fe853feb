//! `erp bench <workload>`: the workloads of docs/benchmarks.md, measured against the physical limits
//! measured in the same run.
//!
//! Every result prints as a table row, or with `--json` as one JSON object per line with at least
//! `workload`, `events_per_sec` and, where a limit is defined, `limit_events_per_sec`. Each workload runs
//! `--runs` times and reports the median run (machines here are shared and noisy).
#![allow(clippy::float_arithmetic)] // Rates and ratios for reporting only; no money passes here.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use domain::{BookId, CommandId, EventId, Timestamp};
use infra::{
    AnyStore, EmbeddedConfig, EmbeddedStore, EventMetadata, EventStore, EventType, ExpectedVersion, NewEvent,
    PostgresStore, StreamId,
};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cli::{BenchCommon, BenchWorkload};

pub fn run(workload: BenchWorkload) -> anyhow::Result<ExitCode> {
    let on_postgres = match &workload {
        BenchWorkload::Append { common, .. }
        | BenchWorkload::AppendBatch { common, .. }
        | BenchWorkload::Projections { common, .. } => {
            anyhow::ensure!(
                common.store.is_some() || common.store_schema.is_none(),
                "--store-schema is for a PostgreSQL --store"
            );
            anyhow::ensure!(
                common.store.is_some() || common.store_connections.is_none(),
                "--store-connections is for a PostgreSQL --store; the embedded store has no pool"
            );
            false
        }
        BenchWorkload::Disk { common }
        | BenchWorkload::Replay { common, .. }
        | BenchWorkload::OrderToCash { common, .. }
        | BenchWorkload::ColdStart { common, .. }
        | BenchWorkload::Http { common, .. }
        | BenchWorkload::Queries { common, .. }
        | BenchWorkload::Open { common, .. } => common.store.is_some() || common.store_connections.is_some(),
    };
    anyhow::ensure!(
        !on_postgres,
        "this workload runs on the embedded store only; --store and --store-connections are for append, \
         append-batch and projections"
    );
    match workload {
        BenchWorkload::Disk { common } => {
            let dir = scratch(&common)?;
            let results = median_of(common.runs, || {
                Ok(disk_result(&measure_disk(dir.path(), 1000, common.probe_mib << 20)?))
            })?;
            report(&common, &[results]);
        }
        BenchWorkload::Append { common, concurrency, events, streams } => {
            anyhow::ensure!(concurrency >= 1 && streams >= concurrency, "need 1 <= concurrency <= streams");
            let events = events.unwrap_or(if concurrency == 1 { 5_000 } else { 200_000 });
            let result = median_of(common.runs, || append_single(&common, concurrency, events, streams))?;
            report(&common, &[result]);
        }
        BenchWorkload::AppendBatch { common, events, batch, pipeline } => {
            anyhow::ensure!(
                (1..=infra::limits::EVENTS_PER_APPEND_MAX).contains(&batch),
                "batch out of range"
            );
            anyhow::ensure!((1..=16).contains(&pipeline), "pipeline is 1 to 16");
            let result = median_of(common.runs, || append_batch(&common, events, batch, pipeline))?;
            report(&common, &[result]);
        }
        BenchWorkload::Replay { common, events } => {
            let dir = scratch(&common)?;
            let store_dir = dir.path().join("log");
            build_store(&store_dir, events, 1000, 1)?;
            let borrowed = median_of(common.runs, || replay_borrowed(&store_dir))?;
            let owned = median_of(common.runs, || replay_owned(&store_dir))?;
            report(&common, &[borrowed, owned]);
        }
        BenchWorkload::OrderToCash { common, orders, concurrency, vouchers, projections, days, keep } => {
            anyhow::ensure!(
                concurrency >= 1 && orders >= concurrency as u64,
                "need 1 <= concurrency <= orders"
            );
            anyhow::ensure!(keep.is_none() || common.runs == 1, "--keep takes --runs 1");
            let result = median_of(common.runs, || {
                crate::bench_flows::order_to_cash(
                    &common,
                    orders,
                    concurrency,
                    vouchers,
                    projections,
                    days,
                    keep.as_deref(),
                )
            })?;
            report(&common, &[result]);
        }
        BenchWorkload::Projections { common, data_dir: _, one_thread_only: _ } if common.store.is_some() => {
            let result = median_of(common.runs, || {
                crate::bench_read::projections_postgres(
                    common.store.as_deref().expect("checked"),
                    common.store_schema.as_deref(),
                    common.store_connections,
                )
            })?;
            report(&common, &[result]);
        }
        BenchWorkload::Projections { common, data_dir, one_thread_only } => {
            let data_dir = data_dir.expect("clap requires it without --store");
            let result =
                median_of(common.runs, || crate::bench_read::projections(&data_dir, !one_thread_only))?;
            report(&common, &[result]);
        }
        BenchWorkload::ColdStart { common, data_dir, behind } => {
            let (head, at) = crate::bench_read::prepare_cold_start(&data_dir, behind)?;
            tracing::info!(head, snapshots_at = at, "snapshots written; measuring cold starts");
            let result = median_of(common.runs, || crate::bench_read::cold_start(&data_dir))?;
            report(&common, &[result]);
        }
        BenchWorkload::Http { common, concurrency, seconds } => {
            anyhow::ensure!((1..=4096).contains(&concurrency), "concurrency is 1 to 4096");
            let result = median_of(common.runs, || crate::bench_http::http(&common, concurrency, seconds))?;
            report(&common, &[result]);
        }
        BenchWorkload::Queries { common, data_dir, queries } => {
            let result = crate::bench_read::queries(&data_dir, queries)?;
            report(&common, &[result]);
        }
        BenchWorkload::Open { common, events, batch } => {
            let dir = scratch(&common)?;
            let store_dir = dir.path().join("log");
            build_store(&store_dir, events, batch, if batch == 1 { 256 } else { 1 })?;
            let mut results = Vec::new();
            for (mode, checkpoint, crc) in
                [("checkpoint+crc", true, true), ("checkpoint", true, false), ("full scan", false, true)]
            {
                results
                    .push(median_of(common.runs, || open_store(&store_dir, events, mode, checkpoint, crc))?);
            }
            report(&common, &results);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A fresh temporary directory under `--dir` (or the system's), removed afterwards.
pub(crate) fn scratch(common: &BenchCommon) -> anyhow::Result<tempfile::TempDir> {
    let parent = common.dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&parent)?;
    Ok(tempfile::Builder::new().prefix("erp-bench-").tempdir_in(parent)?)
}

/// Runs `f` `runs` times and returns the run with the median `events_per_sec` (or `seconds`).
fn median_of(runs: usize, mut f: impl FnMut() -> anyhow::Result<Value>) -> anyhow::Result<Value> {
    let mut results = Vec::new();
    for _ in 0..runs.max(1) {
        results.push(f()?);
    }
    let key = |v: &Value| v["events_per_sec"].as_f64().or_else(|| v["seconds"].as_f64()).unwrap_or(0.0);
    results.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let mut median = results.swap_remove(results.len() / 2);
    median["runs"] = json!(runs.max(1));
    Ok(median)
}

fn report(common: &BenchCommon, results: &[Value]) {
    for result in results {
        if common.json {
            println!("{result}");
        } else {
            let Value::Object(map) = result else { continue };
            let line: Vec<String> = map
                .iter()
                .map(|(k, v)| match v {
                    Value::Number(n) if n.is_f64() => format!("{k}={:.3}", n.as_f64().unwrap_or(0.0)),
                    Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect();
            println!("{}", line.join("  "));
        }
    }
}

/// Peak resident memory of this process so far, from /proc (0 where unavailable).
pub(crate) fn peak_rss_mib() -> f64 {
    proc_status_mib("VmHWM:")
}

/// Resident memory of this process now, from /proc (0 where unavailable).
pub(crate) fn rss_mib() -> f64 {
    proc_status_mib("VmRSS:")
}

fn proc_status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds (user + system) used so far by each thread of this process, by thread name.
pub(crate) fn thread_cpu_seconds() -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    let ticks = 100.0; // USER_HZ on Linux
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return out };
    for task in tasks.filter_map(Result::ok) {
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default().trim().to_string();
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(u), Some(s)) = (fields.get(11), fields.get(12)) else { continue };
        let seconds = (u.parse::<f64>().unwrap_or(0.0) + s.parse::<f64>().unwrap_or(0.0)) / ticks;
        *out.entry(name).or_insert(0.0) += seconds;
    }
    out
}

pub(crate) fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub struct Disk {
    pub fsync_p50_us: u64,
    pub fsync_p99_us: u64,
    pub bandwidth_bytes_per_sec: f64,
}

/// Measures `fsyncs` × (4 KiB write + fdatasync) and the time to write and sync `bytes` sequentially.
pub fn measure_disk(dir: &Path, fsyncs: usize, bytes: u64) -> anyhow::Result<Disk> {
    let path = dir.join("disk-probe");
    let file = std::fs::OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&path)?;
    let block = vec![0x5au8; 4096];
    let mut latencies = Vec::with_capacity(fsyncs);
    for i in 0..fsyncs {
        let started = Instant::now();
        file.write_all_at(&block, (i * block.len()) as u64)?;
        file.sync_data()?;
        latencies.push(started.elapsed().as_micros() as u64);
    }
    latencies.sort_unstable();
    file.set_len(0)?;
    file.sync_all()?;
    let chunk = vec![0xa5u8; 8 << 20];
    let started = Instant::now();
    let mut written = 0u64;
    while written < bytes {
        file.write_all_at(&chunk, written)?;
        written += chunk.len() as u64;
    }
    file.sync_data()?;
    let seconds = started.elapsed().as_secs_f64();
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(Disk {
        fsync_p50_us: percentile(&latencies, 0.5),
        fsync_p99_us: percentile(&latencies, 0.99),
        bandwidth_bytes_per_sec: written as f64 / seconds,
    })
}

fn disk_result(disk: &Disk) -> Value {
    json!({
        "workload": "disk",
        "fsync_p50_us": disk.fsync_p50_us,
        "fsync_p99_us": disk.fsync_p99_us,
        "bandwidth_mib_per_sec": disk.bandwidth_bytes_per_sec / (1024.0 * 1024.0),
        "fsyncs_per_sec_one_writer": 1e6 / disk.fsync_p50_us.max(1) as f64,
        "events_per_sec": Value::Null,
    })
}

/// The W1 event: an order line of about 200 bytes encoded.
#[derive(Serialize)]
struct OrderLineAdded<'a> {
    order_id: [u8; 16],
    sku: &'a str,
    quantity: Decimal,
    unit_price: Decimal,
    customer_id: [u8; 16],
    note: &'a str,
}

const NOTE: &str = "deliver to the back door before 10:00; call the warehouse on arrival";

/// The `index`-th event of command `command_n`; event `n` of the workload is its payload seed.
fn order_line_event(n: u64) -> NewEvent {
    command_event(n, n, 0)
}

fn command_event(command_n: u64, n: u64, index: u32) -> NewEvent {
    let command = CommandId(Uuid::from_u64_pair(0xbe9c, command_n));
    let sku = format!("SKU-{:06}", n % 1000);
    let line = OrderLineAdded {
        order_id: Uuid::from_u64_pair(1, n).into_bytes(),
        sku: &sku,
        quantity: Decimal::new((n % 50 + 1) as i64, 0),
        unit_price: Decimal::new(1999 + (n % 1000) as i64, 2),
        customer_id: Uuid::from_u64_pair(2, n % 500).into_bytes(),
        note: &NOTE[..64],
    };
    NewEvent {
        event_id: EventId::derive(command, index),
        event_type: EventType::new("bench.OrderLineAdded", 1).expect("valid type"),
        metadata: EventMetadata {
            book: BookId(Uuid::from_u128(1)),
            actor: "bench".into(),
            command_id: command,
            correlation_id: command.0,
            causation_id: command.0,
            occurred_at: Timestamp(1_767_225_600_000_000 + command_n as i64),
        },
        payload: postcard::to_allocvec(&line).expect("encodable"),
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".seg"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

fn append_single(
    common: &BenchCommon,
    concurrency: usize,
    events: u64,
    streams: usize,
) -> anyhow::Result<Value> {
    let dir = scratch(common)?;
    let disk = match common.store {
        None => Some(measure_disk(dir.path(), 300, common.probe_mib << 20)?),
        Some(_) => None,
    };
    let store_dir = dir.path().join("log");
    let rt = runtime()?;
    let store = rt.block_on(bench_store(common, &store_dir))?;
    let per_writer = events / concurrency as u64;
    // Events are built before the clock starts: this measures the store, not the event factory.
    let prepared: Vec<Vec<NewEvent>> = (0..concurrency as u64)
        .map(|w| (0..per_writer).map(|i| order_line_event(w * per_writer + i)).collect())
        .collect();
    let started = Instant::now();
    let latencies: Vec<Vec<u64>> = rt.block_on(async {
        let mut tasks = Vec::new();
        for (w, events) in prepared.into_iter().enumerate() {
            let store = store.clone();
            let mut events = events.into_iter();
            // Each writer owns the streams w, w + C, w + 2C ...: no conflicts, exact versions.
            let mine: Vec<StreamId> = (w..streams)
                .step_by(concurrency)
                .map(|s| StreamId::new(format!("order-{s}")).expect("valid"))
                .collect();
            tasks.push(tokio::spawn(async move {
                let mut versions: Vec<Option<u64>> = vec![None; mine.len()];
                let mut latencies = Vec::with_capacity(per_writer as usize);
                for i in 0..per_writer {
                    let k = (i as usize) % mine.len();
                    let expected = versions[k].map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
                    let event = events.next().expect("prepared");
                    let t = Instant::now();
                    let appended =
                        store.append(&mine[k], expected, vec![event]).await?.expect("no conflicts");
                    latencies.push(t.elapsed().as_micros() as u64);
                    versions[k] = Some(appended.next_expected_version);
                }
                anyhow::Ok(latencies)
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.push(task.await??);
        }
        anyhow::Ok(all)
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let total = per_writer * concurrency as u64;
    let cpu = thread_cpu_seconds();
    let cpu_share = |name: &str| cpu.get(name).copied().unwrap_or(0.0) / seconds;
    let mut all: Vec<u64> = latencies.into_iter().flatten().collect();
    all.sort_unstable();
    let events_per_sec = total as f64 / seconds;
    let mut result = json!({
        "workload": "W1 append-single",
        "store": store.kind(),
        "store_connections": store_connections(&store),
        "concurrency": concurrency,
        "events": total,
        "seconds": seconds,
        "events_per_sec": events_per_sec,
        "p50_us": percentile(&all, 0.5),
        "p99_us": percentile(&all, 0.99),
        "cpu_clients": cpu_share("tokio-rt-worker"),
    });
    // The limits and the writer's figures are the embedded store's; a server's are its own.
    if let (AnyStore::Embedded(embedded), Some(disk)) = (&store, disk) {
        let stats = embedded.writer_stats();
        let bytes_per_event = rt.block_on(finish_store(store.clone(), &store_dir))? as f64 / total as f64;
        let group_limit = concurrency as f64 * 1e6 / disk.fsync_p50_us.max(1) as f64;
        let bandwidth_limit = disk.bandwidth_bytes_per_sec / bytes_per_event;
        let limit = group_limit.min(bandwidth_limit);
        extend(
            &mut result,
            json!({
                "limit_events_per_sec": limit,
                "fraction_of_limit": events_per_sec / limit,
                "appends_per_group_commit": stats.appends as f64 / stats.groups.max(1) as f64,
                "writer_sync_share": stats.sync_micros as f64 / 1e6 / seconds,
                "cpu_writer": cpu_share("erp-log-writer"),
                "cpu_syncer": cpu_share("erp-log-syncer"),
                "cpu_acker": cpu_share("erp-log-acker"),
                "fsync_p50_us": disk.fsync_p50_us,
                "bandwidth_mib_per_sec": disk.bandwidth_bytes_per_sec / (1024.0 * 1024.0),
                "bytes_per_event": bytes_per_event,
            }),
        );
    } else {
        rt.block_on(finish_store(store, &store_dir))?;
    }
    extend(&mut result, json!({ "peak_rss_mib": peak_rss_mib() }));
    Ok(result)
}

/// Adds `more`'s fields to the object `result`.
fn extend(result: &mut Value, more: Value) {
    if let (Some(result), Value::Object(more)) = (result.as_object_mut(), more) {
        result.extend(more);
    }
}

/// The store a write benchmark runs on: the embedded store in `dir`, or a fresh schema
/// (`erp_bench_<pid>_<time>`) of the PostgreSQL server `--store` names.
async fn bench_store(common: &BenchCommon, dir: &Path) -> anyhow::Result<AnyStore> {
    match common.store.as_deref() {
        None => Ok(EmbeddedStore::open_dir(dir)?.into()),
        Some(url) => {
            anyhow::ensure!(infra::postgres::is_postgres_url(url), "--store takes a postgres:// URL");
            let unique = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_micros();
            let schema = format!("erp_bench_{}_{unique}", std::process::id());
            let config = crate::serve::postgres_config(url, Some(&schema), common.store_connections);
            let store = PostgresStore::open(config)
                .await
                .map_err(|e| crate::serve::store_error("open the PostgreSQL store", &e))?;
            Ok(store.into())
        }
    }
}

/// The pool size of a PostgreSQL store (`null` for the others): W1 on PostgreSQL is bounded by it.
fn store_connections(store: &AnyStore) -> Option<usize> {
    match store {
        AnyStore::Postgres(s) => Some(s.connections_max()),
        _ => None,
    }
}

/// Closes a benchmark's store and answers the bytes its log took (embedded), or drops the
/// PostgreSQL schema it made (and answers 0).
async fn finish_store(store: AnyStore, dir: &Path) -> anyhow::Result<u64> {
    match store {
        AnyStore::Embedded(s) => {
            s.close()?;
            Ok(dir_bytes(dir))
        }
        AnyStore::Postgres(s) => {
            s.drop_schema().await?;
            Ok(0)
        }
        #[cfg(feature = "kurrentdb")]
        AnyStore::Kurrent(_) => Ok(0),
    }
}

/// One command's worth of events (an import of `count` order lines): they share the command's metadata.
fn batch_events(first: u64, count: usize) -> Vec<NewEvent> {
    (0..count as u64).map(|i| command_event(first, first + i, i as u32)).collect()
}

fn append_batch(common: &BenchCommon, events: u64, batch: usize, pipeline: usize) -> anyhow::Result<Value> {
    let dir = scratch(common)?;
    let disk = match common.store {
        None => Some(measure_disk(dir.path(), 100, common.probe_mib << 20)?),
        Some(_) => None,
    };
    let store_dir = dir.path().join("log");
    let rt = runtime()?;
    let store = rt.block_on(bench_store(common, &store_dir))?;
    let appends = events / batch as u64;
    let streams = 100u64;
    let started = Instant::now();
    let mut latencies = rt.block_on(async {
        // One writer: it builds the next command's events while up to `pipeline` appends are in flight,
        // as a bulk importer would; each append goes to its own stream, so none waits for another.
        let mut in_flight = std::collections::VecDeque::new();
        let mut latencies = Vec::with_capacity(appends as usize);
        let mut versions: Vec<Option<u64>> = vec![None; streams as usize];
        for a in 0..appends {
            let k = (a % streams) as usize;
            let stream = StreamId::new(format!("batch-{k}"))?;
            // Appends to stream k are `streams` apart, so the previous one to it has been awaited.
            let expected = versions[k].map_or(ExpectedVersion::NoStream, ExpectedVersion::Exact);
            let events = batch_events(a * batch as u64, batch);
            if in_flight.len() >= pipeline {
                let (k, handle): (usize, tokio::task::JoinHandle<anyhow::Result<(u64, u64)>>) =
                    in_flight.pop_front().expect("non-empty");
                let (version, micros) = handle.await??;
                versions[k] = Some(version);
                latencies.push(micros);
            }
            let store = store.clone();
            in_flight.push_back((
                k,
                tokio::spawn(async move {
                    let t = Instant::now();
                    let appended = store.append(&stream, expected, events).await?.expect("no conflicts");
                    anyhow::Ok((appended.next_expected_version, t.elapsed().as_micros() as u64))
                }),
            ));
            debug_assert!(pipeline < streams as usize);
        }
        for (_, handle) in in_flight {
            latencies.push(handle.await??.1);
        }
        anyhow::Ok(latencies)
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let total = appends * batch as u64;
    let (kind, connections) = (store.kind(), store_connections(&store));
    let bytes = rt.block_on(finish_store(store, &store_dir))?;
    latencies.sort_unstable();
    let events_per_sec = total as f64 / seconds;
    let mut result = json!({
        "workload": "W1b append-batch",
        "store": kind,
        "store_connections": connections,
        "batch": batch,
        "pipeline": pipeline,
        "events": total,
        "seconds": seconds,
        "events_per_sec": events_per_sec,
        "p50_us": percentile(&latencies, 0.5),
        "p99_us": percentile(&latencies, 0.99),
    });
    // The bandwidth limit is the embedded store's; a server's disk is its own.
    if let Some(disk) = disk {
        let bytes_per_event = bytes as f64 / total as f64;
        let limit = disk.bandwidth_bytes_per_sec / bytes_per_event;
        extend(
            &mut result,
            json!({
                "limit_events_per_sec": limit,
                "fraction_of_limit": events_per_sec / limit,
                "mib_per_sec": events_per_sec * bytes_per_event / (1024.0 * 1024.0),
                "bandwidth_mib_per_sec": disk.bandwidth_bytes_per_sec / (1024.0 * 1024.0),
                "bytes_per_event": bytes_per_event,
            }),
        );
    }
    extend(&mut result, json!({ "peak_rss_mib": peak_rss_mib() }));
    Ok(result)
}

/// Builds a store of `events` order-line events, `batch` per append, from `writers` concurrent writers.
/// Durability is off while building (the build is set-up, not the measurement); the store is closed
/// cleanly so the index checkpoint exists.
fn build_store(dir: &PathBuf, events: u64, batch: usize, writers: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = EmbeddedConfig { durability: infra::Durability::None, ..EmbeddedConfig::new(dir) };
    let store = EmbeddedStore::open(config)?;
    let rt = runtime()?;
    let appends = events / batch as u64;
    rt.block_on(async {
        let mut tasks = Vec::new();
        for w in 0..writers as u64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut a = w;
                while a < appends {
                    let stream = StreamId::new(format!("order-{}", a % 10_000))?;
                    store
                        .append(&stream, ExpectedVersion::Any, batch_events(a * batch as u64, batch))
                        .await??;
                    a += writers as u64;
                }
                anyhow::Ok(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        anyhow::Ok(())
    })?;
    store.close()?;
    tracing::info!(
        events = appends * batch as u64,
        seconds = started.elapsed().as_secs_f64(),
        "benchmark store built"
    );
    Ok(())
}

fn replay_borrowed(dir: &Path) -> anyhow::Result<Value> {
    let store = EmbeddedStore::open_dir(dir)?;
    let started = Instant::now();
    let mut payload_bytes = 0u64;
    let mut last_position = 0u64;
    let count = store.replay_from(0, |event| {
        // The trivial fold: touch every event, check order, sum payload sizes.
        assert_eq!(event.position, last_position + 1);
        last_position = event.position;
        payload_bytes += event.record.payload.len() as u64;
        Ok(())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "workload": "W2 replay (borrowed decode + trivial fold)",
        "events": count,
        "seconds": seconds,
        "events_per_sec": count as f64 / seconds,
        "payload_bytes": payload_bytes,
        "peak_rss_mib": peak_rss_mib(),
    }))
}

fn replay_owned(dir: &Path) -> anyhow::Result<Value> {
    let store = EmbeddedStore::open_dir(dir)?;
    let started = Instant::now();
    let mut count = 0u64;
    let mut next = 1u64;
    loop {
        let page = store.read_all_blocking(next, 65_536)?;
        let Some(last) = page.last() else { break };
        next = last.position + 1;
        count += page.len() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "workload": "W2 replay (owned envelopes via read_all + trivial fold)",
        "events": count,
        "seconds": seconds,
        "events_per_sec": count as f64 / seconds,
        "peak_rss_mib": peak_rss_mib(),
    }))
}

fn open_store(dir: &Path, events: u64, mode: &str, checkpoint: bool, crc: bool) -> anyhow::Result<Value> {
    let ckpt = dir.join("index.ckpt");
    let saved = dir.join("index.ckpt.bench");
    if !checkpoint {
        std::fs::rename(&ckpt, &saved)?;
    }
    let config = EmbeddedConfig { verify_crc_on_open: crc, ..EmbeddedConfig::new(dir) };
    let started = Instant::now();
    let store = EmbeddedStore::open(config)?;
    let seconds = started.elapsed().as_secs_f64();
    let report = store.open_report().clone();
    drop(store);
    if !checkpoint {
        // Closing wrote a fresh checkpoint; put the original back so every run starts the same.
        std::fs::rename(&saved, &ckpt)?;
    }
    anyhow::ensure!(
        report.head_position >= events - events % 1000,
        "store has {} events",
        report.head_position
    );
    Ok(json!({
        "workload": format!("open ({mode})"),
        "events": report.head_position,
        "streams": report.streams,
        "segments": report.segments,
        "seconds": seconds,
        "events_per_sec": report.head_position as f64 / seconds,
        "target_seconds": 2.0,
        "peak_rss_mib": peak_rss_mib(),
    }))
}

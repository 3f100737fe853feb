//! `erp migrate --from DIR_OR_URL --to DIR_OR_URL`: opens both stores, runs `infra::migrate` with a
//! progress bar on a terminal (log lines otherwise), and reports what was copied and proved.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use infra::migrate::{MigrateProgress, MigrateReport};
use infra::{AnyStore, EmbeddedConfig, EmbeddedStore, PostgresStore};

use crate::cli::MigrateArgs;

/// Which end of the copy a store is: a source is only read and must exist.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Source,
    Target,
}

pub fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.store_connections.is_none()
            || [&args.from, &args.to].into_iter().any(|end| infra::postgres::is_postgres_url(end)),
        crate::serve::STORE_CONNECTIONS_NOT_POSTGRES
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let source = open(
            &args.from,
            args.from_schema.as_deref(),
            args.from_namespace.as_deref(),
            args.store_connections,
            End::Source,
        )
        .await?;
        let target = open(
            &args.to,
            args.to_schema.as_deref(),
            args.to_namespace.as_deref(),
            args.store_connections,
            End::Target,
        )
        .await?;
        let terminal = std::io::stderr().is_terminal() && !args.json;
        let bar = indicatif::ProgressBar::new(0);
        if terminal {
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix:>12} [{bar:40}] {pos}/{len} events  {per_sec}  ETA {eta}",
                )?
                .progress_chars("=> "),
            );
        } else {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let started = Instant::now();
        let mut logged = Instant::now();
        let mut on_progress = |p: MigrateProgress| {
            let (phase, done, total) = match p {
                MigrateProgress::CheckingSource => ("checking", 0, 0),
                MigrateProgress::Copying { done, total } => ("copying", done, total),
                MigrateProgress::Verifying { done, total } => ("verifying", done, total),
            };
            if bar.prefix() != phase {
                bar.set_prefix(phase);
                bar.reset();
            }
            bar.set_length(total);
            bar.set_position(done);
            if !terminal && logged.elapsed() >= Duration::from_secs(5) {
                logged = Instant::now();
                tracing::info!(phase, done, total, "migrating");
            }
        };
        let checkpoints = match &args.data_dir {
            Some(dir) => read_checkpoints(dir)?,
            None => Vec::new(),
        };
        let positions: Vec<u64> = checkpoints.iter().map(|(_, p)| *p).collect();
        let outcome =
            infra::migrate::migrate_translating(&source, &target, &positions, &mut on_progress).await;
        bar.finish_and_clear();
        let closed = (source.close(), target.close());
        let report = match outcome {
            Ok(report) => report,
            Err(e) => {
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({ "ok": false, "code": e.code(), "message": e.to_string() })
                    );
                }
                eprintln!("migrate FAILED [{}]: {e}", e.code());
                return Ok(ExitCode::from(1));
            }
        };
        closed.0?;
        closed.1?;
        if let Some(dir) = &args.data_dir {
            carry_over(dir, &target, &checkpoints, &report)?;
        }
        print_report(&report, args.json, started.elapsed());
        Ok(ExitCode::SUCCESS)
    })
}

fn print_report(report: &MigrateReport, json: bool, took: Duration) {
    if json {
        let seal = |s: &infra::migrate::ChainSeal| serde_json::json!({ "store": s.store, "kind": s.kind, "hash": s.hash.to_hex(), "events": s.events });
        let json = serde_json::json!({
            "ok": true,
            "events": report.events,
            "commits": report.commits,
            "already_copied": report.already_copied,
            "copied": report.copied,
            "content_digest": report.content_digest.to_hex(),
            "source": seal(&report.source_seal),
            "target": seal(&report.target_seal),
            "hashes_identical": report.hashes_identical,
            "seconds": took.as_secs_f64(),
        });
        println!("{json}");
        return;
    }
    println!("events          {} in {} commits", report.events, report.commits);
    println!("copied          {} (already there: {})", report.copied, report.already_copied);
    println!("content digest  {}", report.content_digest);
    let s = &report.source_seal;
    println!("source          {} {} {}", s.store, s.kind.replace('_', " "), s.hash);
    let t = &report.target_seal;
    println!("target          {} {} {}", t.store, t.kind.replace('_', " "), t.hash);
    if report.hashes_identical {
        println!(
            "migrate OK in {:.1} s: every event, position and chain hash copied unchanged",
            took.as_secs_f64()
        );
    } else {
        println!(
            "migrate OK in {:.1} s: every event's id, stream version, metadata, timestamps and payload copied \
             and compared; the target chains them its own way (ADR 0017)",
            took.as_secs_f64()
        );
    }
}

/// Opens a store named by a data directory, a `postgres://` URL (with `connections` as its pool size,
/// when given) or a KurrentDB URL (with `namespace`, in a build with the `kurrentdb` feature). Errors
/// name only a URL's scheme: the rest may hold a password.
async fn open(
    spec: &str,
    schema: Option<&str>,
    namespace: Option<&str>,
    connections: Option<usize>,
    end: End,
) -> anyhow::Result<AnyStore> {
    let which = if end == End::Source { "source" } else { "target" };
    let spec = spec.trim();
    if infra::kurrentdb::is_kurrentdb_url(spec) {
        anyhow::ensure!(schema.is_none(), "a schema is for a PostgreSQL {which}; KurrentDB has a namespace");
        return crate::serve::open_kurrentdb(spec, namespace).await;
    }
    anyhow::ensure!(namespace.is_none(), "a namespace is for a KurrentDB {which}");
    if infra::postgres::is_postgres_url(spec) {
        let mut config = crate::serve::postgres_config(spec, schema, connections);
        config.create_or_migrate = end == End::Target;
        let store = PostgresStore::open(config)
            .await
            .map_err(|e| crate::serve::store_error(&format!("open the {which} PostgreSQL store"), &e))?;
        return Ok(store.into());
    }
    if spec.contains("://") {
        let scheme = infra::postgres::url_scheme(spec);
        anyhow::bail!(
            "the {which} {scheme:?} is not a store this build knows: a data directory or a postgres:// URL"
        );
    }
    anyhow::ensure!(schema.is_none(), "a schema is for a PostgreSQL {which}; an embedded log has none");
    let dir = Path::new(spec);
    let log = match end {
        End::Source => {
            let log = crate::log_dir(dir);
            anyhow::ensure!(has_segments(&log), "the source {} holds no log", dir.display());
            log
        }
        // A log's own directory is used as it is; anything else is laid out like a service's data
        // directory, so `erp serve --data-dir` serves the copy.
        End::Target if has_segments(dir) => dir.to_path_buf(),
        End::Target => dir.join("log"),
    };
    let store = EmbeddedStore::open(EmbeddedConfig::new(&log))
        .map_err(|e| anyhow::anyhow!("cannot open the {which} log in {}: {e}", log.display()))?;
    Ok(store.into())
}

/// Whether `dir` holds segment files of an embedded log.
fn has_segments(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".seg")))
        .unwrap_or(false)
}

/// The process managers' checkpoints in `data_dir/process`: (name, position), in name order.
pub fn read_checkpoints(data_dir: &Path) -> anyhow::Result<Vec<(String, u64)>> {
    let dir = data_dir.join("process");
    let checkpoints = command_api::FileCheckpoints::new(&dir);
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => anyhow::bail!("cannot read {}: {e}", dir.display()),
    };
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(manager) = name.strip_prefix("process-").and_then(|n| n.strip_suffix(".ckpt")) {
            found.push((manager.to_string(), checkpoints.load(manager)?));
        }
    }
    found.sort();
    Ok(found)
}

/// Readies `data_dir` to serve the copy: every checkpoint moved to its event's position in the copy
/// (one not found there is refused: the source moved on after the copy began, so run it again once the
/// service is stopped), the snapshots dropped unless the copy keeps every position, the store named.
fn carry_over(
    data_dir: &Path,
    target: &AnyStore,
    checkpoints: &[(String, u64)],
    report: &MigrateReport,
) -> anyhow::Result<()> {
    let mut moved = Vec::with_capacity(checkpoints.len());
    for (name, position) in checkpoints {
        let to = match report.translated.iter().find(|(from, _)| from == position) {
            Some(&(_, to)) => to,
            None if *position == 0 => 0,
            None => anyhow::bail!(
                "process manager {name}'s checkpoint {position} is not in the copy (the source went on after \
                 this run began); stop the service and run erp migrate again"
            ),
        };
        moved.push((name, to));
    }
    // An embedded copy is served from the data directory around its log (`--to`); a server's copy from
    // the node's own data directory.
    let dest = match target {
        AnyStore::Embedded(s) => match s.dir().parent() {
            Some(parent) if s.dir().file_name() == Some("log".as_ref()) => parent.to_path_buf(),
            _ => anyhow::bail!(
                "for an embedded target give --to a data directory (its log goes to log/), not a log directory"
            ),
        },
        _ => data_dir.to_path_buf(),
    };
    let checkpoints = command_api::FileCheckpoints::new(dest.join("process"));
    for (name, to) in &moved {
        checkpoints.save(name, *to)?;
    }
    if !(report.hashes_identical && dest == data_dir) {
        match std::fs::remove_dir_all(dest.join("projections")) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("cannot drop the read-model snapshots: {e}"),
        }
    }
    crate::serve::record_store_identity(&dest, &target.identity())?;
    tracing::info!(data_dir = %dest.display(), checkpoints = moved.len(), "process checkpoints carried over to the copy");
    Ok(())
}

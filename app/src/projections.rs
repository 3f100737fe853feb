//! `erp projections list | status | rebuild [NAME]`: the read models' snapshots against the log, and
//! offline rebuilds with a progress bar (rate and ETA on a terminal, plain log lines otherwise).
#![allow(clippy::float_arithmetic)] // The rebuild rate, for reporting only; no money passes here.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use infra::{EmbeddedStore, EventStore};
use projections::runtime::{Opened, ReadModel, View, read_snapshot, snapshot_path, write_snapshot};

use crate::cli::{ProjectionsArgs, ProjectionsCommand};

/// Every read model the runtime keeps, by name and code version.
fn models() -> Vec<(&'static str, u32)> {
    vec![
        model::<projections::ledger::Ledgers>(),
        model::<projections::open_items::OpenItems>(),
        model::<projections::stock::Stock>(),
        model::<projections::process_metrics::ProcessMetrics>(),
        model::<projections::documents::Documents>(),
        model::<projections::dashboard::Dashboard>(),
        model::<projections::audit::Audit>(),
    ]
}

fn model<M: ReadModel>() -> (&'static str, u32) {
    (M::NAME, M::VERSION)
}

pub fn run(command: ProjectionsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ProjectionsCommand::List => {
            for (name, version) in models() {
                println!("{name:<16} v{version}");
            }
            Ok(ExitCode::SUCCESS)
        }
        ProjectionsCommand::Status(args) => status(&args),
        ProjectionsCommand::Rebuild { name, args } => rebuild(name.as_deref(), &args),
    }
}

fn snapshot_dir(args: &ProjectionsArgs) -> PathBuf {
    args.snapshot_dir.clone().unwrap_or_else(|| args.data_dir.join("projections"))
}

fn open_store(args: &ProjectionsArgs) -> anyhow::Result<EmbeddedStore> {
    if !args.data_dir.is_dir() {
        anyhow::bail!("data directory {} does not exist", args.data_dir.display());
    }
    Ok(EmbeddedStore::open_dir(&args.data_dir)?)
}

fn status(args: &ProjectionsArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(args)?;
    let head = crate::bench::runtime()?.block_on(store.head_position())?;
    let dir = snapshot_dir(args);
    let rows = [
        status_of::<projections::ledger::Ledgers>(&dir),
        status_of::<projections::open_items::OpenItems>(&dir),
    ];
    for (name, version, opened) in rows {
        let (position, state) = match &opened {
            Opened::Snapshot { position } => (*position, "snapshot".to_string()),
            Opened::Empty => (0, "no snapshot".to_string()),
            Opened::VersionChanged { found } => (0, format!("snapshot of v{found}: rebuilds on start")),
            Opened::Damaged { reason } => (0, format!("snapshot damaged ({reason}): rebuilds on start")),
        };
        let lag = head.saturating_sub(position);
        if args.json {
            let json = serde_json::json!({
                "name": name, "version": version, "position": position, "head": head, "lag": lag, "state": state,
            });
            println!("{json}");
        } else {
            println!(
                "{name:<16} v{version}  position {position:>12}  head {head:>12}  lag {lag:>12}  {state}"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn status_of<M: ReadModel>(dir: &Path) -> (&'static str, u32, Opened) {
    (M::NAME, M::VERSION, read_snapshot::<M>(dir).1)
}

fn rebuild(name: Option<&str>, args: &ProjectionsArgs) -> anyhow::Result<ExitCode> {
    if let Some(name) = name
        && !models().iter().any(|(known, _)| *known == name)
    {
        let known: Vec<&str> = models().iter().map(|(n, _)| *n).collect();
        anyhow::bail!("no read model named {name:?}; there are: {}", known.join(", "));
    }
    let store = open_store(args)?;
    let dir = snapshot_dir(args);
    let runtime = crate::bench::runtime()?;
    let wanted = |n: &str| name.is_none_or(|name| name == n);
    if wanted(projections::ledger::Ledgers::NAME) {
        runtime.block_on(rebuild_one::<projections::ledger::Ledgers>(&store, &dir, args.json))?;
    }
    if wanted(projections::open_items::OpenItems::NAME) {
        runtime.block_on(rebuild_one::<projections::open_items::OpenItems>(&store, &dir, args.json))?;
    }
    if wanted(projections::stock::Stock::NAME) {
        runtime.block_on(rebuild_one::<projections::stock::Stock>(&store, &dir, args.json))?;
    }
    if wanted(projections::audit::Audit::NAME) {
        runtime.block_on(rebuild_one::<projections::audit::Audit>(&store, &dir, args.json))?;
    }
    if wanted(projections::dashboard::Dashboard::NAME) {
        runtime.block_on(rebuild_one::<projections::dashboard::Dashboard>(&store, &dir, args.json))?;
    }
    if wanted(projections::documents::Documents::NAME) {
        runtime.block_on(rebuild_one::<projections::documents::Documents>(&store, &dir, args.json))?;
    }
    if wanted(projections::process_metrics::ProcessMetrics::NAME) {
        runtime
            .block_on(rebuild_one::<projections::process_metrics::ProcessMetrics>(&store, &dir, args.json))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn rebuild_one<M: ReadModel>(store: &EmbeddedStore, dir: &Path, json: bool) -> anyhow::Result<()> {
    let head = store.head_position().await?;
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal() && !json;
    let bar = indicatif::ProgressBar::new(head);
    if terminal {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix:>12} [{bar:40}] {pos}/{len} events  {per_sec}  ETA {eta}",
            )?
            .progress_chars("=> "),
        );
        bar.set_prefix(M::NAME);
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut logged = Instant::now();
    let mut view = View::<M>::default();
    view.catch_up(store, head, |position| {
        bar.set_position(position);
        if !terminal && logged.elapsed() >= Duration::from_secs(5) {
            logged = Instant::now();
            tracing::info!(model = M::NAME, position, head, "rebuilding");
        }
    })
    .await?;
    bar.finish_and_clear();
    write_snapshot::<M>(dir, &view)?;
    let seconds = started.elapsed().as_secs_f64();
    let rate = if seconds > 0.0 { head as f64 / seconds } else { 0.0 };
    if json {
        let json = serde_json::json!({
            "name": M::NAME, "version": M::VERSION, "position": view.position, "events_per_sec": rate.round(),
            "seconds": seconds, "snapshot": snapshot_path::<M>(dir),
        });
        println!("{json}");
    } else {
        println!(
            "{:<16} rebuilt to position {} in {:.2} s ({:.0} events/s), snapshot {}",
            M::NAME,
            view.position,
            seconds,
            rate,
            snapshot_path::<M>(dir).display()
        );
    }
    Ok(())
}

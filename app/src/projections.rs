//! `erp projections list | status | rebuild [NAME]`: the read models' snapshots against the log, and
//! offline rebuilds with a progress bar (rate and ETA on a terminal, plain log lines otherwise).
#![allow(clippy::float_arithmetic)] // The rebuild rate, for reporting only; no money passes here.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use infra::{EmbeddedStore, EventStore};
use projections::runtime::{Opened, ProjectorSet, ReadModel};
use query_api::EachModel;

use crate::cli::{ProjectionsArgs, ProjectionsCommand};

/// Every read model the service keeps, by name and code version.
fn models() -> Vec<(&'static str, u32)> {
    struct Names(Vec<(&'static str, u32)>);
    impl EachModel for Names {
        fn model<M: ReadModel>(&mut self) {
            self.0.push((M::NAME, M::VERSION));
        }
    }
    let mut names = Names(Vec::new());
    query_api::for_each_model(&mut names);
    names.0
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

/// Where the snapshots are: as given, else the service's (`DIR/projections` beside `DIR/log`), else
/// `projections/` in the log's directory (a bare log, such as a benchmark keeps).
fn snapshot_dir(args: &ProjectionsArgs) -> PathBuf {
    args.snapshot_dir.clone().unwrap_or_else(|| {
        let log = crate::log_dir(&args.data_dir);
        if log == args.data_dir { log.join("projections") } else { args.data_dir.join("projections") }
    })
}

fn open_store(args: &ProjectionsArgs) -> anyhow::Result<EmbeddedStore> {
    if !args.data_dir.is_dir() {
        anyhow::bail!("data directory {} does not exist", args.data_dir.display());
    }
    Ok(EmbeddedStore::open_dir(crate::log_dir(&args.data_dir))?)
}

fn status(args: &ProjectionsArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(args)?;
    let head = crate::bench::runtime()?.block_on(store.head_position())?;
    let dir = snapshot_dir(args);
    struct Rows<'a>(&'a Path, Vec<(&'static str, u32, Opened)>);
    impl EachModel for Rows<'_> {
        fn model<M: ReadModel>(&mut self) {
            let row = status_of::<M>(self.0);
            self.1.push(row);
        }
    }
    let mut rows = Rows(&dir, Vec::new());
    query_api::for_each_model(&mut rows);
    let rows = rows.1;
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

/// A model's snapshot, checked but not decoded (a status must not load every model).
fn status_of<M: ReadModel>(dir: &Path) -> (&'static str, u32, Opened) {
    use infra::snapshot::SnapshotRead;
    let opened = match infra::snapshot::peek_snapshot(dir, M::NAME, M::VERSION) {
        SnapshotRead::Found { position, .. } => Opened::Snapshot { position },
        SnapshotRead::Missing => Opened::Empty,
        SnapshotRead::OtherVersion { found } => Opened::VersionChanged { found },
        SnapshotRead::Damaged { reason } => Opened::Damaged { reason },
    };
    (M::NAME, M::VERSION, opened)
}

/// Adds the read model called `name` to `set`, starting from position 0.
fn add_from_zero(set: &mut ProjectorSet<EmbeddedStore>, name: &str) {
    struct Named<'a>(&'a mut ProjectorSet<EmbeddedStore>, &'a str);
    impl EachModel for Named<'_> {
        fn model<M: ReadModel>(&mut self) {
            if self.1 == M::NAME {
                self.0.add_from_zero::<M>();
            }
        }
    }
    query_api::for_each_model(&mut Named(set, name));
}

/// Folds the named read model, or every one, from position 0 in one reading of the log (each event
/// decoded once for all of them), then writes their snapshots.
fn rebuild(name: Option<&str>, args: &ProjectionsArgs) -> anyhow::Result<ExitCode> {
    let names: Vec<&str> = models().iter().map(|(n, _)| *n).collect();
    if let Some(name) = name
        && !names.contains(&name)
    {
        anyhow::bail!("no read model named {name:?}; there are: {}", names.join(", "));
    }
    let store = open_store(args)?;
    let dir = snapshot_dir(args);
    let runtime = crate::bench::runtime()?;
    let mut set = ProjectorSet::new(store.clone(), &dir);
    let wanted: Vec<&str> = names.into_iter().filter(|n| name.is_none_or(|name| name == *n)).collect();
    for model in &wanted {
        add_from_zero(&mut set, model);
    }
    let head = runtime.block_on(store.head_position())?;
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal() && !args.json;
    let bar = indicatif::ProgressBar::new(head);
    if terminal {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix:>12} [{bar:40}] {pos}/{len} events  {per_sec}  ETA {eta}",
            )?
            .progress_chars("=> "),
        );
        bar.set_prefix(if wanted.len() == 1 { wanted[0].to_string() } else { "read models".to_string() });
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut logged = Instant::now();
    let position = runtime.block_on(set.catch_up_to(head, |position, head| {
        bar.set_position(position);
        if !terminal && logged.elapsed() >= Duration::from_secs(5) {
            logged = Instant::now();
            tracing::info!(position, head, "rebuilding");
        }
    }))?;
    bar.finish_and_clear();
    set.snapshot_all()?;
    let seconds = started.elapsed().as_secs_f64();
    let rate = if seconds > 0.0 { head as f64 / seconds } else { 0.0 };
    for model in wanted {
        let path = dir.join(format!("{model}.snapshot"));
        if args.json {
            let json = serde_json::json!({
                "name": model, "position": position, "events_per_sec": rate.round(), "seconds": seconds,
                "snapshot": path,
            });
            println!("{json}");
        } else {
            println!(
                "{model:<16} rebuilt to position {position} in {seconds:.2} s ({rate:.0} events/s), snapshot {}",
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

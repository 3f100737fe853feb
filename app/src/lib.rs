//! The composition root of the ERP: the `erp` command line and what each subcommand wires together.
//!
//! Invariant: no business rule and no storage format lives here; subcommands compose `infra` (and, as
//! they arrive, the domain, projections and APIs) and report. Exit codes: 0 success, 1 a failure or a
//! failed check, 2 a usage error (clap's own).

pub mod audit;
pub mod bench;
mod bench_flows;
mod bench_read;
pub mod cli;
pub mod projections;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

/// Runs the CLI with the given arguments (the first is the program name).
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    init_tracing(cli.log_json);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        cli::Command::Audit { command: cli::AuditCommand::Verify(args) } => audit::verify(&args),
        cli::Command::Bench { workload } => bench::run(workload),
        cli::Command::Projections { command } => projections::run(command),
    }
}

/// Logs to stderr; `RUST_LOG` filters (default `info`), `--log-json` switches to JSON lines.
fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

//! The composition root of the ERP: the `erp` command line and what each subcommand wires together.
//!
//! Invariant: no business rule and no storage format lives here; subcommands compose `infra` (and, as
//! they arrive, the domain, projections and APIs) and report. Exit codes: 0 success, 1 a failure or a
//! failed check, 2 a usage error (clap's own).

pub mod audit;
pub mod bench;
mod bench_flows;
mod bench_http;
mod bench_read;
pub mod cli;
pub mod demo;
pub mod migrate;
pub mod projections;
pub mod serve;

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
        cli::Command::Migrate(args) => migrate::run(&args),
        cli::Command::Projections { command } => projections::run(command),
        cli::Command::Seed(args) => seed_command(&args),
        cli::Command::Demo { seed, listen } => demo_command(&seed, listen),
        cli::Command::Serve(args) => serve_command(&args),
        cli::Command::Token { command: cli::TokenCommand::New { actor, book, roles } } => {
            let token = command_api::http::auth::Tokens::generate();
            let entry = command_api::http::auth::TokenEntry {
                hash: command_api::http::auth::Tokens::hash(&token),
                actor,
                book,
                roles,
            };
            // Checked as the service will check it.
            command_api::http::auth::Tokens::new(std::slice::from_ref(&entry))?;
            println!("token: {token}");
            println!();
            println!("# for the configuration file:");
            println!("[[tokens]]");
            println!("hash = {:?}", entry.hash);
            println!("actor = {:?}", entry.actor);
            println!("book = \"{}\"", entry.book);
            println!("roles = {:?}", entry.roles);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn serve_command(args: &cli::ServeArgs) -> anyhow::Result<ExitCode> {
    let config = serve::ServeConfig::from_args(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let service = serve::start(&config).await?;
        println!(
            "{}{}  (GraphiQL: http://{}/graphql)",
            serve::SERVING_LINE,
            service.address,
            service.address
        );
        service.wait().await
    })?;
    Ok(ExitCode::SUCCESS)
}

fn demo_config(args: &cli::SeedArgs) -> demo::DemoConfig {
    demo::DemoConfig {
        seed: args.seed,
        days: args.days,
        orders_per_day: args.orders_per_day,
        ..demo::DemoConfig::default()
    }
}

/// Seeds the demo company with a progress bar on stderr (hidden when it is not a terminal), then
/// prints what it made.
fn seed_with_progress(
    runtime: &tokio::runtime::Runtime,
    data_dir: &std::path::Path,
    config: &demo::DemoConfig,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let bar = indicatif::ProgressBar::new(u64::from(config.days));
    if std::io::stderr().is_terminal() {
        bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix:>12} [{bar:40}] {pos}/{len} days  ETA {eta}")?
                .progress_chars("=> "),
        );
        bar.set_prefix("seeding");
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let summary = runtime.block_on(demo::seed_data_dir(data_dir, config, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    }))?;
    bar.finish_and_clear();
    println!("{summary}");
    Ok(())
}

fn seed_command(args: &cli::SeedArgs) -> anyhow::Result<ExitCode> {
    let data_dir = args.data_dir.clone().unwrap_or_else(|| std::path::PathBuf::from("data"));
    let config = demo_config(args);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    seed_with_progress(&runtime, &data_dir, &config)?;
    println!();
    println!("serve it:      erp serve --data-dir {}", data_dir.display());
    println!("with a token:  erp token new --actor demo --book {} --roles admin", config.book.0);
    Ok(ExitCode::SUCCESS)
}

fn demo_command(args: &cli::SeedArgs, listen: std::net::SocketAddr) -> anyhow::Result<ExitCode> {
    use command_api::http::auth::{TokenEntry, Tokens};
    let data_dir = args.data_dir.clone().unwrap_or_else(|| std::path::PathBuf::from("demo-data"));
    let config = demo_config(args);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if demo::is_seeded(&data_dir)? {
        println!("{} holds the demo company already: serving it", data_dir.display());
    } else {
        seed_with_progress(&runtime, &data_dir, &config)?;
    }
    // A token for this run only: an admin of the demo's book.
    let token = Tokens::generate();
    let entry = TokenEntry {
        hash: Tokens::hash(&token),
        actor: "demo".into(),
        book: config.book.0,
        roles: vec!["admin".into()],
    };
    let serve_config = serve::ServeConfig {
        listen: Some(listen),
        data_dir: Some(data_dir),
        store: None,
        store_schema: None,
        store_connections: None,
        read_only: false,
        store_namespace: None,
        tokens: vec![entry],
    };
    runtime.block_on(async {
        let service = serve::start(&serve_config).await?;
        let address = service.address;
        println!();
        println!("erp demo serving on http://{address}");
        println!("  GraphiQL     http://{address}/graphql  (header  Authorization: Bearer {token})");
        println!("  commands     http://{address}/api/v1/openapi.json");
        println!("  token        {token}  (admin of book {})", config.book.0);
        service.wait().await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The log's directory for a `--data-dir`: a service's data directory holds it in `log/` (beside
/// `projections/` and `process/`); any other directory is taken to be a log itself.
pub(crate) fn log_dir(data_dir: &std::path::Path) -> std::path::PathBuf {
    let log = data_dir.join("log");
    if log.is_dir() { log } else { data_dir.to_path_buf() }
}

/// Logs to stderr; `RUST_LOG` filters (default `info`), `--log-json` switches to JSON lines.
fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

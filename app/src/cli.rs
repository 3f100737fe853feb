//! The command-line grammar of `erp` (clap derive). Subcommands arrive with their issues: `history`
//! and `export` are not here yet.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "erp", version, about = "An event-sourced ERP for small and medium enterprises")]
pub struct Cli {
    /// Log as JSON lines on stderr instead of human-readable text.
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit the books: prove the log is intact.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Run a benchmark workload (docs/benchmarks.md).
    Bench {
        #[command(subcommand)]
        workload: BenchWorkload,
    },
    /// The read models: their snapshots, how far behind the log they are, rebuilds.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// Copy a log into another store, keeping every event's id, stream, version, metadata and
    /// timestamps, then prove the copy (ADR 0017). Resumes an earlier copy; run it again after
    /// stopping the service to copy what came in meanwhile.
    Migrate(MigrateArgs),
    /// Make the demo company in a data directory: a year of a trading business through the command
    /// bus (deterministic for a seed), with a progress bar; `erp serve` then serves it.
    Seed(SeedArgs),
    /// Seed the demo company into a data directory (once; an existing demo is served as it is) and
    /// serve it: prints the URL, GraphiQL and a token for its book.
    Demo {
        #[command(flatten)]
        seed: SeedArgs,
        /// Address to listen on.
        #[arg(long, env = "ERP_LISTEN", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
    /// Serve the command API, GraphQL and the probes (`/healthz`, `/readyz`, `/metrics`).
    Serve(ServeArgs),
    /// Bearer tokens for the service.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The data directory to seed (its log must be empty): `data` for `erp seed`, `demo-data` for
    /// `erp demo`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Every id, name and choice follows from it: the same seed makes the same company.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Business days, from 2026-01-01.
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Sales orders on an ordinary weekday.
    #[arg(long, default_value_t = 60)]
    pub orders_per_day: u32,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML configuration file (listen, data_dir, store, store_schema, store_connections,
    /// store_namespace, read_only, [[tokens]]); variables and flags override it.
    #[arg(long, env = "ERP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "ERP_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// The data directory (default `data`): the embedded store's log, and with any store the read
    /// models' snapshots and the process managers' checkpoints.
    #[arg(long, env = "ERP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The store holding the log: `embedded` (default), a PostgreSQL URL
    /// `postgres://user[:password]@host[:port]/database`, or a KurrentDB URL
    /// `kurrentdb://[user:password@]host[:port][?tls=false]` (also `esdb://`, `kurrentdb+discover://`;
    /// only in a build with the `kurrentdb` feature).
    #[arg(long, env = "ERP_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// With a PostgreSQL store: the schema holding its tables, created if missing (default: the
    /// connection's current schema, usually `public`).
    #[arg(long, env = "ERP_STORE_SCHEMA")]
    pub store_schema: Option<String>,
    /// With a PostgreSQL store: the most connections its pool keeps for appends and reads, 1 to 64
    /// (default 16; the store's listener takes one more). Refused with any other store.
    #[arg(long, env = "ERP_STORE_CONNECTIONS")]
    pub store_connections: Option<usize>,
    /// A query node: GraphQL and the probes only; every command is answered 503 `service.read_only`
    /// and the process managers do not run here (`read_only = true` in the configuration file; with
    /// `ERP_READ_ONLY`, any value but 0, false, no, off or empty).
    #[arg(long, env = "ERP_READ_ONLY", value_parser = clap::builder::FalseyValueParser::new())]
    pub read_only: bool,
    /// With a KurrentDB store: the prefix of its stream names on the server (`NAMESPACE/stream`), so
    /// that several companies or test runs share one server (default: none, the stream ids as they are).
    #[arg(long, env = "ERP_STORE_NAMESPACE")]
    pub store_namespace: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a new token: prints the token (give it to its user) and the entry for the configuration
    /// file (which keeps only its hash).
    New {
        /// Who acts with the token (recorded as the actor of what they do).
        #[arg(long)]
        actor: String,
        /// The book (UUID) the token acts in.
        #[arg(long)]
        book: uuid::Uuid,
        /// Comma-separated roles: admin, sales, purchasing, warehouse, finance, auditor, analyst.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectionsCommand {
    /// Every read model with its code version.
    List,
    /// Per read model: the snapshot's position and version, the log's head, and the lag.
    Status(ProjectionsArgs),
    /// Folds a read model (or all) from position 0 and writes its snapshot, with a progress bar.
    Rebuild {
        /// The read model's name (`erp projections list`); all when left out.
        name: Option<String>,
        #[command(flatten)]
        args: ProjectionsArgs,
    },
}

#[derive(Debug, Args)]
pub struct ProjectionsArgs {
    /// The service's data directory (`erp serve --data-dir`), or a log's directory.
    #[arg(long, env = "ERP_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Where the snapshots are (default: the service's, `projections/` in the data directory).
    #[arg(long, env = "ERP_SNAPSHOT_DIR")]
    pub snapshot_dir: Option<PathBuf>,
    /// Print one JSON object per read model instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every frame's CRC, the hash chain, positions and stream versions; print head position and
    /// head hash. Exits 1 naming the first bad position.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The service's data directory (`erp serve --data-dir`), or a log's directory.
    #[arg(long, env = "ERP_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Also require this head hash (hex), e.g. one published earlier: proves nothing before it changed.
    /// For a PostgreSQL store, the heads digest.
    #[arg(long)]
    pub expect_head_hash: Option<String>,
    /// Verify a PostgreSQL store (`postgres://...`) or a KurrentDB store (`kurrentdb://...`, in a build
    /// with the `kurrentdb` feature) instead: every stream's hash chain, read only.
    #[arg(long, env = "ERP_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// The KurrentDB store's namespace (default: none, the stream ids as they are).
    #[arg(long, env = "ERP_STORE_NAMESPACE")]
    pub store_namespace: Option<String>,
    /// The PostgreSQL store's schema (default: the connection's current schema).
    #[arg(long, env = "ERP_STORE_SCHEMA")]
    pub store_schema: Option<String>,
    /// The PostgreSQL store's pool size, 1 to 64 (default 16).
    #[arg(long, env = "ERP_STORE_CONNECTIONS")]
    pub store_connections: Option<usize>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The log to copy: a data directory (`erp serve --data-dir`, or a log's own directory) or a
    /// `postgres://` URL. A PostgreSQL source is only read: a schema without a store is refused.
    #[arg(long, env = "ERP_MIGRATE_FROM", hide_env_values = true)]
    pub from: String,
    /// The source's PostgreSQL schema (default: the connection's current schema).
    #[arg(long)]
    pub from_schema: Option<String>,
    /// Where to copy it: a data directory (the log goes to its `log/`) or a `postgres://` URL (the
    /// schema is created if missing). Must be empty or an earlier copy of the same log.
    #[arg(long, env = "ERP_MIGRATE_TO", hide_env_values = true)]
    pub to: String,
    /// The target's PostgreSQL schema (default: the connection's current schema).
    #[arg(long)]
    pub to_schema: Option<String>,
    /// The source's KurrentDB namespace (default: none, the stream ids as they are).
    #[arg(long)]
    pub from_namespace: Option<String>,
    /// The target's KurrentDB namespace (default: none, the stream ids as they are).
    #[arg(long)]
    pub to_namespace: Option<String>,
    /// The pool size of each PostgreSQL end, 1 to 64 (default 16); refused when neither end is one.
    #[arg(long)]
    pub store_connections: Option<usize>,
    /// The data directory of the node that will serve the copy (for an embedded target, `--to`
    /// itself): its process managers' checkpoints are carried over to the copy's positions, so they
    /// neither act on history again nor skip anything; its read-model snapshots are dropped (they
    /// rebuild from the copy); and it is bound to the copy's store.
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options every benchmark takes.
#[derive(Debug, Args, Clone)]
pub struct BenchCommon {
    /// Directory to create the benchmark's store in (a fresh temporary one below it). Defaults to the
    /// system temporary directory; point it at the disk you want to measure.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print one JSON object per result on stdout.
    #[arg(long)]
    pub json: bool,
    /// Repeat the measurement this many times and report the median run.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// MiB written to measure sequential bandwidth in the same run.
    #[arg(long, default_value_t = 512)]
    pub probe_mib: u64,
    /// Run `append`, `append-batch` and `projections` against a PostgreSQL server (`postgres://...`)
    /// instead of the embedded store: each run makes a fresh schema `erp_bench_*` and drops it after
    /// (`projections` reads `--store-schema` instead, a log copied there with `erp migrate`).
    #[arg(long, env = "ERP_BENCH_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// The schema `projections` reads on PostgreSQL.
    #[arg(long)]
    pub store_schema: Option<String>,
    /// The PostgreSQL store's pool size, 1 to 64 (default 16): how many of W1's writers can be in a
    /// transaction at once.
    #[arg(long)]
    pub store_connections: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum BenchWorkload {
    /// fdatasync latency of small writes and sequential write bandwidth: the physical limits.
    Disk {
        #[command(flatten)]
        common: BenchCommon,
    },
    /// W1: one ~200-byte event per append to one of 10,000 streams, exact expected version, durable.
    Append {
        #[command(flatten)]
        common: BenchCommon,
        /// Concurrent writers (1, 64, 256 in docs/benchmarks.md).
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Appends per run (default: 5,000 at concurrency 1, else 200,000).
        #[arg(long)]
        events: Option<u64>,
        #[arg(long, default_value_t = 10_000)]
        streams: usize,
    },
    /// W1b: one writer, 1,000 events per append, durable.
    AppendBatch {
        #[command(flatten)]
        common: BenchCommon,
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
        /// Appends the writer keeps in flight while it builds the next one (1 = strictly one at a time).
        #[arg(long, default_value_t = 2)]
        pipeline: usize,
    },
    /// W2 (trivial fold): read every event from position 0 and decode it; borrowed and owned paths.
    Replay {
        #[command(flatten)]
        common: BenchCommon,
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
    },
    /// W3 (as far as the flows go today): place a 3-line order, the order-fulfilment process manager
    /// reserves every line, the order becomes ready to pick. Flows per second and end-to-end latency.
    OrderToCash {
        #[command(flatten)]
        common: BenchCommon,
        #[arg(long, default_value_t = 20_000)]
        orders: u64,
        /// Concurrent clients placing orders.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Book every flow's vouchers too (cost of sales, sales invoice, receipt) with the
        /// automatic-voucher process manager live; a flow is complete when its receipt is posted.
        #[arg(long)]
        vouchers: bool,
        /// Afterwards, fold the whole log through every read model on one task from position 0: W2
        /// through the projections, over a log of real business events.
        #[arg(long)]
        projections: bool,
        /// Spread the orders' business dates evenly over this many days from 1970-01-01 (0: all on the
        /// first day), so a long log has months, aging and daily series like a real company's.
        #[arg(long, default_value_t = 0)]
        days: u32,
        /// Keep the log in this directory (created; must not hold a log yet) for `erp bench
        /// projections`, `erp bench cold-start` and `erp bench queries`; with `--runs 1`.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// W2 through every read model over an existing log (one made with `order-to-cash --keep`): one
    /// reading, one decode per event, every model folded on one task; the time per model and the peak
    /// memory.
    Projections {
        #[command(flatten)]
        common: BenchCommon,
        /// The data directory of the log (`order-to-cash --keep DIR`'s `DIR/log`); not with `--store`.
        #[arg(long, required_unless_present = "store", conflicts_with = "store")]
        data_dir: Option<PathBuf>,
        /// Measure only the one-thread fold, not the rebuild through the runtime after it.
        #[arg(long)]
        one_thread_only: bool,
    },
    /// W5: from opening the store to every read model caught up with the log's head, with snapshots
    /// taken beforehand at `--behind` events before the head (the tail a restart replays).
    ColdStart {
        #[command(flatten)]
        common: BenchCommon,
        /// The data directory of the log.
        #[arg(long)]
        data_dir: PathBuf,
        /// How far behind the head the snapshots are.
        #[arg(long, default_value_t = 100_000)]
        behind: u64,
    },
    /// Query latency over an existing log's read models: the trial balance, receivables aging and
    /// stock pages, each asked many times; p50 and p99.
    Queries {
        #[command(flatten)]
        common: BenchCommon,
        /// The data directory of the log.
        #[arg(long)]
        data_dir: PathBuf,
        /// Queries of each kind.
        #[arg(long, default_value_t = 1_000)]
        queries: usize,
    },
    /// W4: `erp serve` in a child process under load over loopback from this one: sales orders placed
    /// through the command API by `--concurrency` keep-alive clients, then GraphQL reads.
    Http {
        #[command(flatten)]
        common: BenchCommon,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Seconds of each load (commands, then reads).
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Opening a store of N events: with the index checkpoint (normal) and by full scan (after a crash).
    Open {
        #[command(flatten)]
        common: BenchCommon,
        #[arg(long, default_value_t = 10_000_000)]
        events: u64,
        /// Events per append when building the store (1 makes one frame per event, the worst case).
        #[arg(long, default_value_t = 1)]
        batch: usize,
    },
}

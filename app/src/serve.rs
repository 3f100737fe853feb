//! `erp serve`: the service. One process holds the log (the embedded store in the data directory, or a
//! PostgreSQL schema: `--store postgres://...`), the command API, the process managers, the read models
//! and the GraphQL API, behind one listener:
//!
//! - `POST /api/v1/commands/{name}`, `GET /api/v1/openapi.json` (command-api)
//! - `/graphql` (GraphiQL on GET), `/graphql/ws` (query-api)
//! - `/healthz` (the process answers), `/readyz` (the read models reached the log's head as it was at
//!   start, and the store is sound), `/metrics` (Prometheus text)
//!
//! A query node (`read_only`, `erp serve --read-only`) serves the same routes but answers every command
//! 503 `service.read_only` and runs no process managers: several nodes over one PostgreSQL store, some
//! taking commands (each running the process managers, whose derived command ids make two nodes'
//! reactions to one event execute once), some only queries.
//!
//! Shutdown (SIGINT/SIGTERM or [`Service::stop`]): the listener stops taking connections, requests in
//! flight are answered, commands still executing are waited for, the process managers save where they
//! are, the read models write their snapshots, and the store is closed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use command_api::http::auth::{TokenEntry, Tokens};
use command_api::http::{CommandApi, Metrics};
use command_api::{CommandBus, FileCheckpoints, ProcessRunner};
use domain::process::ProcessManager;
use infra::{AnyStore, EmbeddedConfig, EmbeddedStore, EventStore, PostgresConfig, PostgresStore};
use projections::runtime::ProjectorSet;
use prometheus_client::metrics::gauge::Gauge;
use query_api::{Handles, ReadSide};
use serde::Deserialize;
use tokio::sync::watch;

/// How long shutdown waits for commands still executing.
pub const DRAIN_MAX: Duration = Duration::from_secs(15);
/// A process manager that stopped (a command kept conflicting, a store failure) is started again after
/// this pause; its derived command ids make the repeated work harmless.
const PROCESS_RESTART_PAUSE: Duration = Duration::from_secs(1);

/// What the service is configured with: the file (`--config`), then `ERP_*` variables, then flags.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Address to listen on (default 127.0.0.1:8080).
    pub listen: Option<SocketAddr>,
    /// The data directory (default `data`): the embedded store's log, and with any store the read
    /// models' snapshots and the process managers' checkpoints (local to the node).
    pub data_dir: Option<PathBuf>,
    /// Which store holds the log: `embedded` (the default, in the data directory), a PostgreSQL URL
    /// `postgres://user[:password]@host[:port]/database` (ADR 0015), or a KurrentDB URL
    /// `kurrentdb://...` / `esdb://...` (ADR 0016; only in a build with the `kurrentdb` feature).
    pub store: Option<String>,
    /// With a PostgreSQL store: the schema holding its tables (created or migrated on start); the
    /// connection's current schema (usually `public`) when left out.
    pub store_schema: Option<String>,
    /// With a PostgreSQL store: the most connections its pool keeps for appends and reads, 1 to
    /// `infra::limits::POSTGRES_CONNECTIONS_MAX` (`store.invalid_setting` otherwise);
    /// `infra::limits::POSTGRES_CONNECTIONS_DEFAULT` when left out. Refused with any other store, as
    /// `store_schema` is: a setting that would do nothing is more likely a mistake than a choice.
    pub store_connections: Option<usize>,
    /// A query node: commands are answered 503 `service.read_only` and the process managers do not
    /// run here (the nodes that take commands run them); GraphQL and the probes work as usual. For
    /// several nodes over one PostgreSQL store.
    #[serde(default)]
    pub read_only: bool,
    /// With a KurrentDB store: the prefix of its stream names on the server (`NAMESPACE/stream`); the
    /// stream ids as they are when left out.
    pub store_namespace: Option<String>,
    /// The bearer tokens (hashed).
    #[serde(default)]
    pub tokens: Vec<TokenEntry>,
}

impl ServeConfig {
    pub fn read(path: &Path) -> anyhow::Result<ServeConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the configuration {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("configuration {}: {e}", path.display()))
    }

    /// The configuration `erp serve` runs with: the file (`--config`), then the `ERP_*` variables and
    /// the flags (clap has already let a flag override its variable), each overriding what came before.
    pub fn from_args(args: &crate::cli::ServeArgs) -> anyhow::Result<ServeConfig> {
        let mut config = match &args.config {
            Some(path) => ServeConfig::read(path)?,
            None => ServeConfig::default(),
        };
        if args.listen.is_some() {
            config.listen = args.listen;
        }
        if args.data_dir.is_some() {
            config.data_dir = args.data_dir.clone();
        }
        if args.store.is_some() {
            config.store = args.store.clone();
        }
        if args.store_schema.is_some() {
            config.store_schema = args.store_schema.clone();
        }
        if args.store_connections.is_some() {
            config.store_connections = args.store_connections;
        }
        if args.store_namespace.is_some() {
            config.store_namespace = args.store_namespace.clone();
        }
        // The flag (or `ERP_READ_ONLY`) makes a node a query node; it cannot make one configured
        // read-only take commands.
        if args.read_only {
            config.read_only = true;
        }
        Ok(config)
    }

    pub fn listen(&self) -> SocketAddr {
        self.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)))
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| PathBuf::from("data"))
    }
}

/// A running service.
pub struct Service {
    pub address: SocketAddr,
    stop: watch::Sender<bool>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Service {
    /// Stops the service gracefully and waits until it has.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.done.await?
    }

    /// Waits until the service stops by itself (a signal).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.done.await?
    }
}

/// Runs one process manager for the life of the service, starting it again after a pause if it stops.
fn spawn_process<S, P>(
    bus: &CommandBus<S>,
    manager: fn() -> P,
    checkpoints: &FileCheckpoints,
    stop: &watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()>
where
    S: EventStore,
    P: ProcessManager,
    P::Output: command_api::Dispatch<S>,
{
    let (bus, checkpoints, mut stop) = (bus.clone(), checkpoints.clone(), stop.clone());
    tokio::spawn(async move {
        loop {
            let mut runner = ProcessRunner::new(bus.clone(), manager(), checkpoints.clone(), 1024)
                .with_save_interval(Duration::from_millis(500));
            // On a stop, the runner lets its running commands finish and saves where it is.
            if let Err(e) = runner.run_until_stopped(stop.clone()).await {
                tracing::error!(process = P::NAME, error = %e, "process manager stopped; starting it again");
            }
            if *stop.borrow() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(PROCESS_RESTART_PAUSE) => {}
                _ = stop.changed() => return,
            }
        }
    })
}

/// Starts every process manager; the service's stop waits for them (they finish their running
/// commands and save their checkpoints) before it closes the store.
fn spawn_processes(
    bus: &CommandBus<AnyStore>,
    dir: &Path,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let c = FileCheckpoints::new(dir);
    let mut running = Vec::new();
    macro_rules! spawn {
        ($p:path) => {
            running.push(spawn_process(bus, || $p, &c, stop));
        };
    }
    command_api::for_each_process_manager!(spawn);
    running
}

/// Starts the service: opens the store, loads the read models, starts the process managers and the
/// listener. Answers once the listener is bound (the read models may still be catching up: `/readyz`).
pub async fn start(config: &ServeConfig) -> anyhow::Result<Service> {
    let tokens = Arc::new(Tokens::new(&config.tokens)?);
    anyhow::ensure!(
        !tokens.is_empty(),
        "no tokens are configured: nobody could use the service (make one with `erp token new`)"
    );
    let data_dir = config.data_dir();
    std::fs::create_dir_all(&data_dir)?;
    let store = open_store(config, &data_dir).await?;
    bind_data_dir(&store.identity(), &data_dir)?;
    let start_head = store.head_position().await?;
    let (stop_tx, stop_rx) = watch::channel(false);

    // Read models: loaded from their snapshots, then folding the log live.
    let mut set = ProjectorSet::new(store.clone(), data_dir.join("projections"));
    let handles = Handles::add_to(&mut set);
    let read = Arc::new(ReadSide::new(store.clone(), handles));
    let projections = {
        let stop = stop_rx.clone();
        tokio::spawn(async move { set.run(stop).await })
    };

    let bus = CommandBus::new(store.clone());
    // A query node appends nothing, so its process managers (which issue commands) stay off: the nodes
    // that take commands run them.
    let processes = if config.read_only {
        Vec::new()
    } else {
        spawn_processes(&bus, &data_dir.join("process"), &stop_rx)
    };

    let authenticate: query_api::Authenticate = {
        let tokens = tokens.clone();
        Arc::new(move |token: &str| tokens.caller(token).cloned())
    };
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Metrics::default();
    metrics.register(&mut registry);
    let api =
        if config.read_only { CommandApi::read_only(bus, metrics) } else { CommandApi::new(bus, metrics) };
    let (head, lag) = (Gauge::default(), Gauge::default());
    registry.register("erp_log_head_position", "The log's last position", head.clone());
    registry.register("erp_read_models_lag", "Events the slowest read model is behind the log", lag.clone());
    let probes = Arc::new(Probes {
        read: read.clone(),
        store: store.clone(),
        start_head,
        ready: AtomicBool::new(false),
        registry,
        head,
        lag,
    });
    let router = Router::new()
        .merge(command_api::http::router(api.clone()))
        .merge(query_api::router_with(read.clone(), Some(authenticate)))
        .merge(probe_routes(probes))
        .layer(axum::middleware::from_fn_with_state(tokens, command_api::http::auth::authenticate));

    let listener = tokio::net::TcpListener::bind(config.listen()).await?;
    let address = listener.local_addr()?;
    tracing::info!(%address, store = store.kind(), head = start_head, data_dir = %data_dir.display(), read_only = config.read_only, "serving");
    let done = {
        let mut stop = stop_rx.clone();
        let stop_tx = stop_tx.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => {}
                    _ = signal() => {}
                }
            };
            axum::serve(listener, router).with_graceful_shutdown(shutdown).await?;
            tracing::info!("listener closed; draining commands");
            if !api.drained(DRAIN_MAX).await {
                tracing::warn!(running = api.running(), "commands still running at shutdown");
            }
            let _ = stop_tx.send(true);
            for process in processes {
                if let Err(e) = process.await {
                    tracing::error!(error = %e, "a process manager's task failed");
                }
            }
            match projections.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "read models stopped with an error"),
                Err(e) => tracing::error!(error = %e, "read models task failed"),
            }
            store.close()?;
            tracing::info!("stopped");
            anyhow::Ok(())
        })
    };
    Ok(Service { address, stop: stop_tx, done })
}

/// Opens the store `config` names: the embedded store in `data_dir/log` (verified in the background),
/// a PostgreSQL schema (created or migrated first), or a KurrentDB server (in a build with the
/// `kurrentdb` feature).
async fn open_store(config: &ServeConfig, data_dir: &Path) -> anyhow::Result<AnyStore> {
    let store = config.store.as_deref().map(str::trim);
    let kurrentdb = store.is_some_and(infra::kurrentdb::is_kurrentdb_url);
    anyhow::ensure!(
        config.store_namespace.is_none() || kurrentdb,
        "a store namespace is for a KurrentDB store"
    );
    let postgres = store.is_some_and(infra::postgres::is_postgres_url);
    anyhow::ensure!(config.store_connections.is_none() || postgres, STORE_CONNECTIONS_NOT_POSTGRES);
    match store {
        None | Some("") | Some("embedded") => {
            anyhow::ensure!(
                config.store_schema.is_none(),
                "a store schema is for a PostgreSQL store; the embedded store has none"
            );
            let mut store_config = EmbeddedConfig::new(data_dir.join("log"));
            store_config.verify_in_background = true;
            Ok(EmbeddedStore::open(store_config)?.into())
        }
        Some(url) if postgres => {
            let store_config = postgres_config(url, config.store_schema.as_deref(), config.store_connections);
            let store = PostgresStore::open(store_config)
                .await
                .map_err(|e| store_error("open the PostgreSQL store", &e))?;
            Ok(store.into())
        }
        Some(url) if kurrentdb => {
            anyhow::ensure!(
                config.store_schema.is_none(),
                "a store schema is for a PostgreSQL store; a KurrentDB store has a namespace"
            );
            open_kurrentdb(url, config.store_namespace.as_deref()).await
        }
        // Only the scheme is repeated: the rest may hold a password.
        Some(other) => anyhow::bail!(
            "store {:?} is not known: `embedded`, a `postgres://` URL or a `kurrentdb://` URL",
            infra::postgres::url_scheme(other)
        ),
    }
}

/// The refusal of a pool size given with a store that has no pool (embedded, KurrentDB), as a store
/// schema is refused there: a setting that would do nothing is more likely a mistake than a choice.
/// The configuration of a PostgreSQL store at `url`: its schema and pool size where given, the
/// store's defaults otherwise (every command that opens one takes both).
pub(crate) fn postgres_config(url: &str, schema: Option<&str>, connections: Option<usize>) -> PostgresConfig {
    let mut config = PostgresConfig::new(url);
    config.schema = schema.map(str::to_owned);
    if let Some(connections) = connections {
        config.connections_max = connections;
    }
    config
}

pub const STORE_CONNECTIONS_NOT_POSTGRES: &str = "a store connection pool (--store-connections, ERP_STORE_CONNECTIONS, store_connections) is for a \
     PostgreSQL store; the embedded and KurrentDB stores have none";

/// A store's error for the command line: what could not be done, the error's stable code, and its
/// message (which never holds a URL's password).
pub fn store_error(what: &str, e: &infra::StoreError) -> anyhow::Error {
    anyhow::anyhow!("cannot {what} [{}]: {e}", e.code())
}

/// The file naming the log a data directory's derived state came from.
const STORE_IDENTITY_FILE: &str = "store.identity";

/// Binds `data_dir`'s derived state to the store it is served from. Read-model snapshots (`projections/`)
/// and process-manager checkpoints (`process/`) are positions in one log; another log, even a copy of
/// this one (`erp migrate`), numbers its events otherwise, and folding it from those positions would
/// count events twice or skip them. So when the store is not the one the directory names, both are
/// discarded (they are rebuilt from the log) and the directory names the new store. A directory
/// without the file is taken to belong to an embedded log (its own `log/`), and to no PostgreSQL store.
fn bind_data_dir(identity: &str, data_dir: &Path) -> anyhow::Result<()> {
    let path = data_dir.join(STORE_IDENTITY_FILE);
    let derived = [data_dir.join("projections"), data_dir.join("process")];
    let stale = match std::fs::read_to_string(&path) {
        Ok(found) if found.trim() == identity => return Ok(()),
        Ok(found) => Some(found.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (identity != "embedded"
            && derived.iter().any(|d| d.exists()))
        .then(|| "(not recorded)".to_string()),
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    };
    if let Some(found) = stale {
        tracing::warn!(
            data_dir = %data_dir.display(), was = %found, now = %identity,
            "the data directory's read models and process checkpoints came from another log: rebuilding them"
        );
        for dir in &derived {
            match std::fs::remove_dir_all(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => anyhow::bail!("cannot discard {}: {e}", dir.display()),
            }
        }
    }
    record_store_identity(data_dir, identity)
}

/// Names `identity` as the store `data_dir`'s derived state belongs to (atomically).
pub fn record_store_identity(data_dir: &Path, identity: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let temporary = data_dir.join(format!("{STORE_IDENTITY_FILE}.tmp"));
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&temporary)?;
        writeln!(file, "{identity}")?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, data_dir.join(STORE_IDENTITY_FILE))?;
    std::fs::File::open(data_dir)?.sync_all()?;
    Ok(())
}

/// Connects to a KurrentDB server (ADR 0016). The URL is never repeated: it may hold a password.
#[cfg(feature = "kurrentdb")]
pub(crate) async fn open_kurrentdb(url: &str, namespace: Option<&str>) -> anyhow::Result<AnyStore> {
    let store = infra::KurrentStore::connect(url, namespace)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the KurrentDB store: {e}"))?;
    Ok(store.into())
}

/// A build without the adapter says which feature it lacks.
#[cfg(not(feature = "kurrentdb"))]
pub(crate) async fn open_kurrentdb(_url: &str, _namespace: Option<&str>) -> anyhow::Result<AnyStore> {
    anyhow::bail!(infra::kurrentdb::NOT_BUILT_IN)
}

/// SIGINT or SIGTERM.
async fn signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

struct Probes {
    read: Arc<ReadSide>,
    store: AnyStore,
    start_head: u64,
    ready: AtomicBool,
    registry: prometheus_client::registry::Registry,
    head: Gauge,
    lag: Gauge,
}

impl Probes {
    /// The lowest position among the read models.
    fn models_position(&self) -> u64 {
        let m = &self.read.models;
        [
            m.ledger.position(),
            m.open_items.position(),
            m.stock.position(),
            m.metrics.position(),
            m.documents.position(),
            m.dashboard.position(),
            m.audit.position(),
        ]
        .into_iter()
        .min()
        .unwrap_or(0)
    }
}

fn probe_routes(probes: Arc<Probes>) -> Router {
    Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok\n" }))
        .route(
            "/readyz",
            axum::routing::get({
                let probes = probes.clone();
                move || {
                    let probes = probes.clone();
                    async move {
                        if let Some(damage) = probes.store.damage().await {
                            return (
                                StatusCode::SERVICE_UNAVAILABLE,
                                format!("store unavailable: {damage}\n"),
                            );
                        }
                        let position = probes.models_position();
                        if probes.ready.load(Ordering::Relaxed) || position >= probes.start_head {
                            probes.ready.store(true, Ordering::Relaxed);
                            (StatusCode::OK, "ready\n".to_string())
                        } else {
                            (
                                StatusCode::SERVICE_UNAVAILABLE,
                                format!("read models at {position} of {}\n", probes.start_head),
                            )
                        }
                    }
                }
            }),
        )
        .route(
            "/metrics",
            axum::routing::get(move || {
                let probes = probes.clone();
                async move {
                    match probes.store.head_position().await {
                        Ok(head) => {
                            probes.head.set(i64::try_from(head).unwrap_or(i64::MAX));
                            // Positions, not events, over PostgreSQL: its positions have gaps (ADR 0015).
                            let lag = head.saturating_sub(probes.models_position());
                            probes.lag.set(i64::try_from(lag).unwrap_or(i64::MAX));
                        }
                        Err(e) => tracing::warn!(error = %e, "metrics: the log's head could not be read"),
                    }
                    let mut text = String::new();
                    if prometheus_client::encoding::text::encode(&mut text, &probes.registry).is_err() {
                        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                    }
                    let mut response = text.into_response();
                    response.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        ),
                    );
                    response
                }
            }),
        )
}

/// What `erp serve` prints once it listens; [`spawn_child`] reads the address back from it.
pub const SERVING_LINE: &str = "erp serving on http://";

/// Starts `erp serve` (the binary at `exe`) as a child process listening on a port of its choosing,
/// with `tokens` as its configuration (a TOML `[[tokens]]` list, written to `dir/erp.toml`) and
/// `dir/data` as its data directory; answers the child and the address it printed. For the tests
/// and benchmarks that need the service in a process of its own (a SIGKILL, a load from outside).
pub fn spawn_child(
    exe: &Path,
    dir: &Path,
    tokens: &str,
) -> anyhow::Result<(std::process::Child, SocketAddr)> {
    spawn_child_with(exe, dir, tokens, &[], std::process::Stdio::null())
}

/// [`spawn_child`] with more arguments for `erp serve` (`--read-only`, `--store ...`) and the child's
/// stderr (its log) sent to `stderr`.
pub fn spawn_child_with(
    exe: &Path,
    dir: &Path,
    config: &str,
    args: &[&str],
    stderr: std::process::Stdio,
) -> anyhow::Result<(std::process::Child, SocketAddr)> {
    use std::io::BufRead;
    let config_path = dir.join("erp.toml");
    std::fs::write(&config_path, config)?;
    let mut child = std::process::Command::new(exe)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config_path)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("the child has no stdout"))?;
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let address = line
        .strip_prefix(SERVING_LINE)
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or_else(|| anyhow::anyhow!("erp serve said {line:?}"))?;
    Ok((child, address.parse()?))
}

/// A `[[tokens]]` entry of the configuration file for `token`.
pub fn token_entry_toml(token: &str, actor: &str, book: &str, role: &str) -> String {
    format!(
        "[[tokens]]\nhash = \"{}\"\nactor = \"{actor}\"\nbook = \"{book}\"\nroles = [\"{role}\"]\n",
        Tokens::hash(token)
    )
}

//! The PostgreSQL event store (ADR 0015): the same port, envelope and hash chain as the embedded log, in
//! one table of a PostgreSQL schema, for several nodes over one database.
//!
//! - Positions are `transaction id << 20 | index within the append` (`append.rs`): known at write time,
//!   increasing along the log, contiguous within an append, with gaps between appends.
//! - Readers of the global log (`read_all`, `head_position`, subscriptions) see only positions below the
//!   *horizon*, `xmin << 20`, where `xmin` is the oldest transaction still running when the read's
//!   snapshot was taken (`read.rs`). Every transaction below it has finished and every transaction that
//!   can still commit has a larger id, so nothing can ever appear below a reader's checkpoint: no gap
//!   timer, no missed event.
//! - Per-stream optimistic concurrency: the append reads the stream's head, checks the expected version,
//!   and inserts the next versions; `UNIQUE (stream_id, stream_version)` lets only one of two racers
//!   commit.
//! - The hash chain is per stream (the global order of an append is not final until every older
//!   transaction has finished): each commit hashes the embedded store's commit body, which holds the hash
//!   of the stream's previous commit (`verify.rs` walks it).
//! - Subscriptions page the log from their checkpoint and, when caught up, wait for a wake-up: this
//!   store's own appends, or a `NOTIFY` that each node's listener connection sends after its appends
//!   commit (not inside them: that would serialise every commit of the server), with a slow poll as a
//!   fallback (`subscription.rs`).
//!
//! Connections come from a small pool of its own (`pool.rs`); the schema is created or migrated when the
//! store connects (`schema.rs`).

mod append;
mod pool;
mod read;
mod schema;
mod subscription;
mod verify;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::envelope::{
    Appended, ExpectedVersion, ImportCommit, NewEvent, RecordedEvent, StreamId, WrongExpectedVersion,
};
use crate::error::StoreError;
use crate::limits;
use crate::port::{AppendResult, EventStore};

pub use append::HeldAppend;
pub use subscription::PostgresSubscription;
pub use verify::{PostgresVerifyProblem, PostgresVerifyReport};

/// Where the store's connection and schema are and how it behaves. The URL is a libpq-style
/// `postgres://user[:password]@host[:port]/database[?options]` or `key=value` string; TLS is not
/// supported yet (ADR 0015), so a URL that requires it fails to connect.
#[derive(Clone)]
pub struct PostgresConfig {
    pub url: String,
    /// The schema holding the store's tables, created if missing: 1 to 63 lower-case ASCII letters,
    /// digits and `_`, not starting with a digit or `pg_`. `None` uses the connection's current schema
    /// (usually `public`).
    pub schema: Option<String>,
    /// Connections kept for appends and reads (the listener has one more of its own): 1 to
    /// [`limits::POSTGRES_CONNECTIONS_MAX`], by default [`limits::POSTGRES_CONNECTIONS_DEFAULT`]
    /// (`erp serve --store-connections`); [`PostgresStore::open`] refuses any other number with
    /// `store.invalid_setting` before it connects.
    pub connections_max: usize,
    /// How long an append or read waits for a free connection before it is refused as overloaded.
    pub connection_wait_max: Duration,
    /// How often a caught-up subscription looks again without a wake-up.
    pub poll_interval: Duration,
    /// How long `read_all` and `head_position` wait for this store's acknowledged appends to become
    /// visible to readers (read-your-writes within a node).
    pub visibility_wait_max: Duration,
    /// Create the schema and tables, or migrate them, when they are missing or older (the service);
    /// `false` opens only a store that exists at this build's schema version and changes nothing (the
    /// auditor and the source of a migration).
    pub create_or_migrate: bool,
}

impl PostgresConfig {
    pub fn new(url: impl Into<String>) -> Self {
        PostgresConfig {
            url: url.into(),
            schema: None,
            connections_max: limits::POSTGRES_CONNECTIONS_DEFAULT,
            connection_wait_max: limits::POSTGRES_CONNECTION_WAIT_MAX,
            poll_interval: limits::POSTGRES_POLL_INTERVAL,
            visibility_wait_max: limits::POSTGRES_VISIBILITY_WAIT_MAX,
            create_or_migrate: true,
        }
    }
}

impl std::fmt::Debug for PostgresConfig {
    /// Leaves the URL out: it may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("schema", &self.schema)
            .field("connections_max", &self.connections_max)
            .field("connection_wait_max", &self.connection_wait_max)
            .field("poll_interval", &self.poll_interval)
            .field("visibility_wait_max", &self.visibility_wait_max)
            .field("create_or_migrate", &self.create_or_migrate)
            .finish_non_exhaustive()
    }
}

/// The PostgreSQL store. Cheap to clone; the last clone to go away closes its connections.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

/// What every clone, append and subscription of one store shares.
pub(crate) struct Inner {
    pool: Arc<pool::Pool>,
    /// The schema the tables live in, and the payload of this store's notifications.
    schema: String,
    /// Minted when the store was made (see [`PostgresStore::identity`]).
    identity: uuid::Uuid,
    /// Bumped on every wake-up: a notification of an append to this schema (from any node), an append
    /// of this store, or the listener (re)connecting.
    wake_tx: Arc<watch::Sender<u64>>,
    /// Bumped by this store's acknowledged appends only: the listener connection notifies the other
    /// nodes when it moves (coalescing the appends acknowledged while a notification is on its way).
    appended_tx: watch::Sender<u64>,
    /// The last position this store acknowledged; reads of the global log wait, bounded, until the
    /// horizon passes it.
    acked: AtomicU64,
    poll_interval: Duration,
    visibility_wait_max: Duration,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl Inner {
    /// Records an acknowledged append and wakes this node's subscriptions without waiting for the
    /// notification's round trip.
    fn acknowledge(&self, last_position: u64) {
        self.acked.fetch_max(last_position, Ordering::AcqRel);
        self.appended_tx.send_modify(|n| *n = n.wrapping_add(1));
        self.wake();
    }

    fn wake(&self) {
        self.wake_tx.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl PostgresStore {
    /// Connects to `url`, creating or migrating the store's tables in `schema` (see
    /// [`PostgresConfig::schema`]).
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<PostgresStore, StoreError> {
        let mut config = PostgresConfig::new(url);
        config.schema = schema.map(str::to_owned);
        PostgresStore::open(config).await
    }

    /// Connects with `config`, creating or migrating the tables first.
    pub async fn open(config: PostgresConfig) -> Result<PostgresStore, StoreError> {
        if let Some(schema) = &config.schema {
            check_schema_name(schema)?;
        }
        check_connections_max(config.connections_max)?;
        let mut pg: tokio_postgres::Config =
            config.url.parse().map_err(|e| StoreError::database("reading the PostgreSQL URL", e))?;
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(CONNECT_TIMEOUT);
        }
        if pg.get_application_name().is_none() {
            pg.application_name("erp-event-store");
        }
        let mut client = pool::connect(&pg).await?;
        let schema = match &config.schema {
            Some(schema) => schema.clone(),
            None => client
                .query_one("SELECT current_schema()", &[])
                .await
                .map_err(|e| StoreError::database("reading the current schema", e))?
                .get::<_, Option<String>>(0)
                .ok_or_else(|| {
                    StoreError::database(
                        "reading the current schema",
                        "the connection's search_path names no existing schema; name one",
                    )
                })?,
        };
        if config.create_or_migrate {
            schema::migrate(&mut client, &schema).await?;
        } else {
            schema::check(&mut client, &schema).await?;
        }
        let identity = schema::identity(&mut client, &schema).await?;
        drop(client);
        // Every pooled connection works in the schema (the name was checked to need no quoting) and
        // waits at most so long for a lock: an append blocked behind another append to its stream whose
        // node went silent mid-transaction fails instead of waiting for TCP to notice.
        let mut options = pg.get_options().map(|o| format!("{o} ")).unwrap_or_default();
        if config.schema.is_some() {
            options.push_str(&format!("-c search_path={schema} "));
        }
        options.push_str(&format!("-c lock_timeout={}", limits::POSTGRES_LOCK_WAIT_MAX.as_millis()));
        pg.options(options);
        let (wake_tx, _) = watch::channel(0u64);
        let wake_tx = Arc::new(wake_tx);
        let (appended_tx, appended_rx) = watch::channel(0u64);
        let listener = subscription::spawn_listener(pg.clone(), schema.clone(), wake_tx.clone(), appended_rx);
        tracing::info!(schema = %schema, connections_max = config.connections_max, "PostgreSQL event store connected");
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                pool: pool::Pool::new(pg, config.connections_max, config.connection_wait_max),
                schema,
                identity,
                wake_tx,
                appended_tx,
                acked: AtomicU64::new(0),
                poll_interval: config.poll_interval,
                visibility_wait_max: config.visibility_wait_max,
                listener,
            }),
        })
    }

    /// The schema holding the store's tables.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The most connections its pool keeps ([`PostgresConfig::connections_max`]; the listener's is not
    /// counted).
    pub fn connections_max(&self) -> usize {
        self.inner.pool.size()
    }

    /// The store's identity, minted once when it was made: a copy (`erp migrate`) has its own, and
    /// its own positions, so what was derived from one log's positions is never taken for the other's.
    pub fn identity(&self) -> uuid::Uuid {
        self.inner.identity
    }

    /// Appends commits copied from another log, in order, each keeping its recording time
    /// (`erp migrate`, ADR 0017): all in one transaction, taking consecutive positions of its id, each
    /// chained to its stream's previous commit. All or nothing: a conflict answers one
    /// `Err(WrongExpectedVersion)` and writes nothing.
    pub async fn import(
        &self,
        commits: &[ImportCommit],
    ) -> Result<Vec<Result<Appended, WrongExpectedVersion>>, StoreError> {
        append::import(&self.inner, commits).await
    }

    /// Walks every stream's hash chain and checks it (see [`PostgresVerifyReport`]).
    pub async fn verify(&self) -> Result<PostgresVerifyReport, StoreError> {
        verify::verify(&self.inner).await
    }

    /// Drops the store's schema and everything in it: for benchmarks that make a schema per run.
    #[doc(hidden)]
    pub async fn drop_schema(self) -> Result<(), StoreError> {
        let conn = self.inner.pool.get().await?;
        conn.client()
            .batch_execute(&format!("DROP SCHEMA \"{}\" CASCADE", self.inner.schema))
            .await
            .map_err(|e| StoreError::database("dropping the schema", e))
    }

    /// Appends like [`EventStore::append`] but stops before `COMMIT`, holding the transaction open
    /// until [`HeldAppend::commit`]: for tests of what readers see while a writer's transaction is open.
    #[doc(hidden)]
    pub async fn append_held(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<Result<HeldAppend, WrongExpectedVersion>, StoreError> {
        append::append_held(&self.inner, stream, expected, &events).await
    }
}

/// True when `url` names a PostgreSQL server: a `postgres://` or `postgresql://` URL, as the client
/// parses them.
pub fn is_postgres_url(url: &str) -> bool {
    let url = url.trim();
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The scheme of a store URL (`(no scheme)` when it has none): what a message may repeat of a URL
/// whose rest can hold a password.
pub fn url_scheme(url: &str) -> &str {
    url.trim().split_once("://").map_or("(no scheme)", |(scheme, _)| scheme)
}

/// Refuses a pool size outside 1 to [`limits::POSTGRES_CONNECTIONS_MAX`] with `store.invalid_setting`:
/// no connection would leave every append waiting until it is refused as overloaded, and too many
/// would take the server's connections from the other nodes (the limit's doc says why it is 64).
pub fn check_connections_max(connections_max: usize) -> Result<(), StoreError> {
    if (1..=limits::POSTGRES_CONNECTIONS_MAX).contains(&connections_max) {
        return Ok(());
    }
    Err(StoreError::InvalidSetting {
        setting: "connections_max",
        reason: format!(
            "a PostgreSQL store keeps 1 to {} connections (default {}), not {connections_max}",
            limits::POSTGRES_CONNECTIONS_MAX,
            limits::POSTGRES_CONNECTIONS_DEFAULT
        ),
    })
}

/// How long opening a connection may take when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts only names that need no quoting anywhere (DDL, `search_path` in the startup options).
fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let valid = !schema.is_empty()
        && schema.len() <= 63
        && schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !schema.as_bytes()[0].is_ascii_digit()
        && !schema.starts_with("pg_");
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidMetadata {
            reason: format!(
                "schema name {schema:?}: 1 to 63 lower-case ASCII letters, digits and '_', not starting \
                 with a digit or 'pg_'"
            ),
        })
    }
}

impl EventStore for PostgresStore {
    type Subscription = PostgresSubscription;

    async fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> AppendResult {
        append::append(&self.inner, stream, expected, &events).await
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        read::read_stream(&self.inner, stream, from_version, max_count).await
    }

    async fn read_all(&self, from_position: u64, max_count: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        read::read_all(&self.inner, from_position, max_count).await
    }

    fn subscribe_all(&self, checkpoint: u64) -> PostgresSubscription {
        PostgresSubscription::new(self.inner.clone(), checkpoint)
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        read::head_position(&self.inner).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_url_is_told_by_its_scheme_and_a_message_repeats_only_that() {
        assert!(is_postgres_url(" postgres://u:pw@db/erp") && is_postgres_url("postgresql://db/erp"));
        assert!(!is_postgres_url("mysql://u:pw@db/erp") && !is_postgres_url("data"));
        assert_eq!(url_scheme("mysql://root:secret@db/erp"), "mysql");
        assert_eq!(url_scheme("data/log"), "(no scheme)");
    }

    #[test]
    fn a_pool_of_none_or_more_than_the_limit_is_refused_before_anything_connects() {
        for good in [1, limits::POSTGRES_CONNECTIONS_DEFAULT, limits::POSTGRES_CONNECTIONS_MAX] {
            assert!(check_connections_max(good).is_ok(), "{good}");
        }
        for bad in [0, limits::POSTGRES_CONNECTIONS_MAX + 1, usize::MAX] {
            let error = check_connections_max(bad).unwrap_err();
            assert_eq!(error.code(), "store.invalid_setting", "{bad}");
            assert!(
                error.to_string().contains(&format!("1 to {}", limits::POSTGRES_CONNECTIONS_MAX)),
                "{error}"
            );
        }
    }

    #[tokio::test]
    async fn open_refuses_a_pool_out_of_range_without_connecting() {
        // Port 1 has no server: the refusal must come before any connection is tried.
        let mut config = PostgresConfig::new("postgres://erp:hunter2@127.0.0.1:1/erp");
        config.connections_max = 0;
        let error = PostgresStore::open(config).await.err().expect("refused");
        assert_eq!(error.code(), "store.invalid_setting", "{error}");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[test]
    fn schema_names_that_would_need_quoting_are_refused() {
        for good in ["erp", "erp_test_0af3", "_x", "a1"] {
            assert!(check_schema_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Erp", "1erp", "pg_erp", "erp-x", "erp x", "erp\"", &"e".repeat(64)] {
            assert_eq!(check_schema_name(bad).unwrap_err().code(), "store.invalid_metadata", "{bad}");
        }
    }
}

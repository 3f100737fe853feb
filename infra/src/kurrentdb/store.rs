//! [`KurrentStore`]: its configuration, its connection, the port, and how the client's errors become
//! ours.

use std::sync::Arc;

use crate::envelope::{
    Appended, ExpectedVersion, ImportCommit, NewEvent, RecordedEvent, StreamId, WrongExpectedVersion,
};
use crate::error::StoreError;
use crate::port::{AppendResult, EventStore};

use super::chain::KurrentVerifyReport;
use super::layout::{self, Names};
use super::subscription::KurrentSubscription;
use super::{append, read, verify};

/// Where the server is and which of its streams are this store's.
#[derive(Clone)]
pub struct KurrentConfig {
    /// The client's connection string: `kurrentdb://[user:password@]host[:port][?options]` (or `esdb://`,
    /// `kurrentdb+discover://` for a cluster found through DNS, ...; see [`super::URL_SCHEMES`]). TLS is
    /// the client's default: a server started with `--insecure` needs `?tls=false`.
    pub url: String,
    /// Prefix of this store's stream names on the server (`<namespace>/<stream>`), so that several
    /// stores (tenants, test runs) share one server without seeing each other's events: 1 to 64 ASCII
    /// letters, digits, `_` or `-`. `None` uses the stream ids as they are and reads every non-system
    /// stream of the server that holds events in our layout.
    pub namespace: Option<String>,
}

impl KurrentConfig {
    pub fn new(url: impl Into<String>) -> Self {
        KurrentConfig { url: url.into(), namespace: None }
    }
}

impl std::fmt::Debug for KurrentConfig {
    /// Leaves the URL out: it may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KurrentConfig").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

/// The KurrentDB store. Cheap to clone: clones share one client (one HTTP/2 connection per node).
#[derive(Clone)]
pub struct KurrentStore {
    pub(crate) inner: Arc<Inner>,
}

/// What every clone, append and subscription of one store shares.
pub(crate) struct Inner {
    pub(crate) client: kurrentdb::Client,
    pub(crate) names: Names,
}

impl KurrentStore {
    /// Connects to the server `url` names, with this store's streams behind `namespace` if given.
    pub async fn connect(url: &str, namespace: Option<&str>) -> Result<KurrentStore, StoreError> {
        let mut config = KurrentConfig::new(url);
        config.namespace = namespace.map(str::to_owned);
        KurrentStore::open(config).await
    }

    /// Connects with `config` and reads the newest event of `$all` once, so that a wrong address, a
    /// refused TLS handshake or credentials without the right to read `$all` fail here rather than at
    /// the first request.
    pub async fn open(config: KurrentConfig) -> Result<KurrentStore, StoreError> {
        if let Some(namespace) = &config.namespace {
            layout::check_namespace(namespace)?;
        }
        let settings = parse_url(&config.url)?;
        let client = kurrentdb::Client::new(settings)
            .map_err(|e| StoreError::database("creating the KurrentDB client", e))?;
        let inner = Arc::new(Inner { client, names: Names::new(config.namespace.as_deref()) });
        read::probe(&inner).await?;
        tracing::info!(namespace = ?config.namespace, "KurrentDB event store connected");
        Ok(KurrentStore { inner })
    }

    /// The namespace this store's streams are behind, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.inner.names.prefix().strip_suffix('/')
    }

    /// Walks the log in position order and checks every stream's hash chain (see
    /// [`KurrentVerifyReport`], the PostgreSQL store's report).
    pub async fn verify(&self) -> Result<KurrentVerifyReport, StoreError> {
        verify::verify(&self.inner).await
    }

    /// Appends commits copied from another log (`erp migrate`, ADR 0017), in order, one append each at
    /// exactly its stream's next revision, keeping ids, versions, content and recording times; answers
    /// each commit's outcome in order, stopping at the first conflict.
    pub async fn import(
        &self,
        commits: &[ImportCommit],
    ) -> Result<Vec<Result<Appended, WrongExpectedVersion>>, StoreError> {
        append::import(&self.inner, commits).await
    }
}

/// Parses the client's connection string without ever repeating it: the client's own parse error
/// quotes the whole string, credentials included, when it is not a URL at all.
pub(crate) fn parse_url(url: &str) -> Result<kurrentdb::ClientSettings, StoreError> {
    let url = url.trim();
    if !layout::is_kurrentdb_url(url) {
        return Err(StoreError::database(
            "reading the KurrentDB URL",
            format!("the scheme is not one of {}", layout::URL_SCHEMES.join(", ")),
        ));
    }
    url.parse::<kurrentdb::ClientSettings>().map_err(|e| {
        let reason = match e.error() {
            // The message is the URL itself here.
            Some(parse) => format!("not a valid URL ({parse})"),
            // The message names the option or part that is wrong, never the credentials.
            None => e.message().to_owned(),
        };
        StoreError::database("reading the KurrentDB URL", reason)
    })
}

/// A failure of the server or of the connection to it, with what was being done.
pub(crate) fn failure(context: &str, error: kurrentdb::Error) -> StoreError {
    let reason = match &error {
        kurrentdb::Error::AccessDenied => {
            "access denied: the URL's user may not do this (reading `$all` needs an admin, or an \
             ACL that allows it)"
                .to_owned()
        }
        kurrentdb::Error::ResourceDeleted => "the stream is deleted on the server".to_owned(),
        other => other.to_string(),
    };
    StoreError::database(context, reason)
}

/// The server's answer to a write at the wrong revision, as our conflict.
pub(crate) fn conflict(
    stream: &StreamId,
    expected: ExpectedVersion,
    current: kurrentdb::CurrentRevision,
) -> WrongExpectedVersion {
    let actual = match current {
        kurrentdb::CurrentRevision::Current(version) => Some(version),
        kurrentdb::CurrentRevision::NoStream => None,
    };
    WrongExpectedVersion { stream: stream.clone(), expected, actual }
}

/// Our expected version as the server's expected stream state, one to one.
pub(crate) fn stream_state(expected: ExpectedVersion) -> kurrentdb::StreamState {
    match expected {
        ExpectedVersion::Any => kurrentdb::StreamState::Any,
        ExpectedVersion::NoStream => kurrentdb::StreamState::NoStream,
        ExpectedVersion::Exact(version) => kurrentdb::StreamState::StreamRevision(version),
    }
}

impl EventStore for KurrentStore {
    type Subscription = KurrentSubscription;

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

    fn subscribe_all(&self, checkpoint: u64) -> KurrentSubscription {
        KurrentSubscription::new(self.inner.clone(), checkpoint)
    }

    async fn head_position(&self) -> Result<u64, StoreError> {
        read::head_position(&self.inner).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-pw";

    #[test]
    fn urls_parse_with_the_clients_own_parser() {
        let settings = parse_url("kurrentdb://localhost:2113?tls=false").unwrap();
        assert!(!settings.is_secure_mode_enabled());
        assert_eq!(settings.hosts()[0].port, 2113);
        let settings = parse_url(&format!("esdb://admin:{SECRET}@db.example:2114")).unwrap();
        assert!(settings.is_secure_mode_enabled(), "TLS unless the URL says otherwise");
        assert_eq!(settings.hosts()[0].host, "db.example");
        assert!(parse_url("kurrentdb+discover://cluster.example:2113").unwrap().is_dns_discovery_enabled());
        assert!(parse_url("esdb://a:2113,b:2113,c:2113").is_ok(), "gossip seeds");
    }

    #[test]
    fn a_bad_url_is_refused_without_repeating_it() {
        for url in [
            format!("kurrentdb://admin:{SECRET}@host:99999"),
            format!("kurrentdb://admin:{SECRET}@"),
            format!("kurrentdb://admin:{SECRET}@host?tls=maybe"),
            format!("postgres://admin:{SECRET}@host/db"),
            format!("kurrentdb://admin:{SECRET}@host/path"),
        ] {
            let err = parse_url(&url).unwrap_err();
            assert_eq!(err.code(), "store.database", "{url}");
            assert!(!err.to_string().contains(SECRET), "{url}: {err}");
        }
    }

    #[test]
    fn the_servers_conflict_becomes_ours_one_to_one() {
        let stream = StreamId::new("order-1").unwrap();
        let c = conflict(&stream, ExpectedVersion::Exact(1), kurrentdb::CurrentRevision::Current(2));
        assert_eq!(
            c,
            WrongExpectedVersion {
                stream: stream.clone(),
                expected: ExpectedVersion::Exact(1),
                actual: Some(2)
            }
        );
        let c = conflict(&stream, ExpectedVersion::Exact(0), kurrentdb::CurrentRevision::NoStream);
        assert_eq!(c.actual, None);
        assert_eq!(stream_state(ExpectedVersion::Any), kurrentdb::StreamState::Any);
        assert_eq!(stream_state(ExpectedVersion::NoStream), kurrentdb::StreamState::NoStream);
        assert_eq!(stream_state(ExpectedVersion::Exact(7)), kurrentdb::StreamState::StreamRevision(7));
    }

    #[test]
    fn client_errors_are_failures_of_the_store() {
        for error in [
            kurrentdb::Error::AccessDenied,
            kurrentdb::Error::ConnectionClosed,
            kurrentdb::Error::DeadlineExceeded,
            kurrentdb::Error::ResourceDeleted,
            kurrentdb::Error::ServerError("boom".into()),
        ] {
            let err = failure("reading a stream", error);
            assert_eq!(err.code(), "store.database");
            assert!(!err.is_rejection());
            assert!(err.to_string().starts_with("database: reading a stream: "), "{err}");
        }
        assert!(failure("x", kurrentdb::Error::AccessDenied).to_string().contains("$all"));
    }
}

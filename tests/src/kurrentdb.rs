//! KurrentDB for tests: a fresh namespace per test on the server named by `ERP_TEST_KURRENTDB_URL`
//! (ADR 0016). A server cannot be wiped per test, so each test's store puts its streams behind a
//! namespace of its own (`erp_test_<random>/...`) and sees only those, as if the log were empty. The
//! streams stay on the server: run the tests against a throwaway one. Without the variable, or in a
//! build without the `kurrentdb` feature, the KurrentDB tests say on stderr that they were skipped.

/// The environment variable naming the test server.
pub const URL_VAR: &str = "ERP_TEST_KURRENTDB_URL";

/// How to run the KurrentDB tests, for the lines that say they were skipped.
pub const HOW_TO_RUN: &str = "start a server (`docker run --rm -p 2113:2113 \
     docker.kurrent.io/kurrent-latest/kurrentdb:latest --insecure --run-projections=None`), then \
     `ERP_TEST_KURRENTDB_URL=kurrentdb://localhost:2113?tls=false cargo nextest run -p tests --features \
     kurrentdb kurrentdb` (ADR 0016)";

/// The test server's URL, if this machine has one.
pub fn url() -> Option<String> {
    std::env::var(URL_VAR).ok().filter(|url| !url.trim().is_empty())
}

/// A new, unique namespace (nothing is created until a store appends behind it).
pub fn fresh_namespace() -> String {
    format!("erp_test_{:032x}", crate::command().as_u128())
}

/// A store over a fresh namespace of the test server, for the contract suite (the guard is the
/// namespace's name); `None`, with a line on stderr, when `ERP_TEST_KURRENTDB_URL` is not set.
#[cfg(feature = "kurrentdb")]
pub async fn fresh_store() -> Option<(infra::KurrentStore, String)> {
    let Some(url) = url() else {
        eprintln!(
            "SKIPPED: {URL_VAR} is not set, so this KurrentDB test did not run; to run it, {HOW_TO_RUN}"
        );
        return None;
    };
    let namespace = fresh_namespace();
    let store =
        infra::KurrentStore::connect(&url, Some(&namespace)).await.expect("connect to the test server");
    Some((store, namespace))
}

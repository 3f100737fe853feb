//! PostgreSQL for tests: a fresh schema per test in the database named by `ERP_TEST_POSTGRES_URL`
//! (CI sets it to `postgres://postgres@127.0.0.1:5432/test`), dropped when the test ends. Without the
//! variable the PostgreSQL tests say on stderr that they were skipped, and pass.

use infra::{PostgresConfig, PostgresStore};

/// The environment variable naming the test database.
pub const URL_VAR: &str = "ERP_TEST_POSTGRES_URL";

/// The test database's URL, if this machine has one.
pub fn url() -> Option<String> {
    std::env::var(URL_VAR).ok().filter(|url| !url.trim().is_empty())
}

/// A schema of the test database, dropped (with everything in it) when this is dropped.
pub struct Schema {
    url: String,
    name: String,
}

impl Schema {
    /// A new, unique schema name (nothing is created until a store connects to it); `None`, with a line
    /// on stderr, when `ERP_TEST_POSTGRES_URL` is not set.
    pub fn fresh() -> Option<Schema> {
        let Some(url) = url() else {
            eprintln!("SKIPPED: {URL_VAR} is not set, so this PostgreSQL test did not run (CI sets it)");
            return None;
        };
        Some(Schema { url, name: format!("erp_test_{:032x}", crate::command().as_u128()) })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A store (a "node") over this schema, with the default settings.
    pub async fn connect(&self) -> PostgresStore {
        PostgresStore::connect(&self.url, Some(&self.name)).await.expect("connect to the test database")
    }

    /// The settings [`Schema::connect`] uses, to change some.
    pub fn config(&self) -> PostgresConfig {
        let mut config = PostgresConfig::new(&self.url);
        config.schema = Some(self.name.clone());
        config
    }

    /// A plain client whose `search_path` is this schema, to look at or damage the tables directly.
    pub async fn raw_client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("SET search_path TO \"{}\"", self.name))
            .await
            .expect("set search_path");
        client
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // Drop may run on a runtime's thread, where blocking on a future is not allowed: a thread of its
        // own with a runtime of its own drops the schema.
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let (client, connection) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await.map_err(|e| e.to_string())?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}: {dropped:?}", self.name);
        }
    }
}

/// A store over a fresh schema and the schema's guard, for the contract suite; `None` when skipped.
pub async fn fresh_store() -> Option<(PostgresStore, Schema)> {
    let schema = Schema::fresh()?;
    Some((schema.connect().await, schema))
}

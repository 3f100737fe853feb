//! The PostgreSQL store's schema and its migrations, applied on start.
//!
//! Migrations are an ordered list in Rust; `erp_schema_migrations` records which ones ran. Every start
//! applies the missing ones in one transaction under a transaction-scoped advisory lock named after the
//! schema, so two nodes starting at once do not both create the tables: the second waits, then finds
//! them recorded. A database migrated by a newer build (a version this one does not know) is refused.
//! Never edit a migration that has shipped; add the next one.

use tokio_postgres::Client;

use crate::error::StoreError;

/// One step of the schema: its version (1, 2, ...) and the SQL that takes the schema there.
pub(crate) struct Migration {
    pub version: i32,
    pub sql: &'static str,
}

/// Every migration, in order.
///
/// Version 1, the log (ADR 0015):
/// - `position`: `transaction id << 20 | index within the append`, known at write time, increasing
///   along the log, contiguous within one append; readers see only positions below the horizon.
/// - `(stream_id, stream_version)` unique: two appends racing for a stream's next version cannot both
///   commit; the second blocks on the first and fails with a unique violation.
/// - `event_id` unique: an event id names one event forever (idempotent retries, `store.event_id_reused`).
/// - times are `bigint` microseconds since the Unix epoch, exactly `domain::Timestamp` (a `timestamptz`
///   holds microseconds too, but only from 4713 BC to 294276 AD, and would round-trip through a calendar).
/// - `prev_hash` / `commit_hash`: the per-stream hash chain, on every row of a commit.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: "
        CREATE TABLE events (
            position        bigint   PRIMARY KEY,
            stream_id       text     NOT NULL,
            stream_version  bigint   NOT NULL CHECK (stream_version >= 0),
            event_id        uuid     NOT NULL UNIQUE,
            event_type      text     NOT NULL,
            type_version    integer  NOT NULL CHECK (type_version BETWEEN 1 AND 65535),
            book            uuid     NOT NULL,
            actor           text     NOT NULL,
            command_id      uuid     NOT NULL,
            correlation_id  uuid     NOT NULL,
            causation_id    uuid     NOT NULL,
            occurred_at     bigint   NOT NULL,
            recorded_at     bigint   NOT NULL,
            payload         bytea    NOT NULL,
            prev_hash       bytea    NOT NULL CHECK (octet_length(prev_hash) = 32),
            commit_hash     bytea    NOT NULL CHECK (octet_length(commit_hash) = 32),
            CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
        );
    ",
    },
    Migration {
        version: 2,
        // The store's identity (ADR 0017): minted once when the store is made, never changed, so whatever a
        // node derives from this log (read-model snapshots, process-manager checkpoints, all keyed by
        // position) can tell this log from another one, such as a copy made by `erp migrate`, whose
        // positions differ. A dump restored elsewhere keeps it, and keeps its positions too.
        sql: "
        CREATE TABLE store_identity (
            id          uuid        NOT NULL,
            created_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX store_identity_one_row ON store_identity ((true));
        INSERT INTO store_identity (id) VALUES (gen_random_uuid());
    ",
    },
];

/// The advisory lock key that serialises migrations of one schema across nodes.
const MIGRATION_LOCK_PREFIX: &str = "erp.event_store.migrate.";

/// Creates the schema if needed and applies the migrations it lacks; returns how many ran.
pub(crate) async fn migrate(client: &mut Client, schema: &str) -> Result<usize, StoreError> {
    let fail = |context: &'static str| move |e: tokio_postgres::Error| StoreError::database(context, e);
    let tx = client.transaction().await.map_err(fail("beginning the migration"))?;
    let lock_name = format!("{MIGRATION_LOCK_PREFIX}{schema}");
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&lock_name])
        .await
        .map_err(fail("taking the migration lock"))?;
    let quoted = quote_ident(schema);
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {quoted};
         CREATE TABLE IF NOT EXISTS {quoted}.erp_schema_migrations (
             version     integer     PRIMARY KEY,
             applied_at  timestamptz NOT NULL DEFAULT now()
         );"
    ))
    .await
    .map_err(fail("creating the schema"))?;
    let applied: Vec<i32> = tx
        .query(&format!("SELECT version FROM {quoted}.erp_schema_migrations ORDER BY version"), &[])
        .await
        .map_err(fail("reading the applied migrations"))?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(&newest) = applied.last()
        && newest > known
    {
        return Err(StoreError::database(
            "checking the schema version",
            format!(
                "schema {schema} is at migration {newest}, newer than this build knows ({known}); \
                 run a build at least as new as the one that migrated it"
            ),
        ));
    }
    tx.batch_execute(&format!("SET LOCAL search_path TO {quoted}"))
        .await
        .map_err(fail("selecting the schema"))?;
    let mut ran = 0;
    for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        tx.batch_execute(migration.sql)
            .await
            .map_err(|e| StoreError::database(format!("applying migration {}", migration.version), e))?;
        tx.execute("INSERT INTO erp_schema_migrations (version) VALUES ($1)", &[&migration.version])
            .await
            .map_err(fail("recording a migration"))?;
        ran += 1;
    }
    tx.commit().await.map_err(fail("committing the migration"))?;
    if ran > 0 {
        tracing::info!(schema, migrations = ran, version = known, "event store schema migrated");
    }
    Ok(ran)
}

/// Checks that `schema` holds a store this build can use, without creating or changing anything: for
/// the readers that must not make an empty store where they expected one (`erp audit verify`, the
/// source of `erp migrate`).
pub(crate) async fn check(client: &mut Client, schema: &str) -> Result<(), StoreError> {
    let quoted = quote_ident(schema);
    let exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
             WHERE table_schema = $1 AND table_name = 'erp_schema_migrations')",
            &[&schema],
        )
        .await
        .map_err(|e| StoreError::database("looking for the store's tables", e))?
        .get(0);
    if !exists {
        return Err(StoreError::database(
            "opening an existing store",
            format!("schema {schema} holds no event store (nothing was created)"),
        ));
    }
    let newest: Option<i32> = client
        .query_one(&format!("SELECT max(version) FROM {quoted}.erp_schema_migrations"), &[])
        .await
        .map_err(|e| StoreError::database("reading the applied migrations", e))?
        .get(0);
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if newest != Some(known) {
        return Err(StoreError::database(
            "checking the schema version",
            format!(
                "schema {schema} is at migration {}, this build reads {known}; open it once with \
                 `erp serve` of this build (which migrates it) or use the build that made it",
                newest.unwrap_or(0)
            ),
        ));
    }
    Ok(())
}

/// The store's identity (migration 2), minted when the store was made.
pub(crate) async fn identity(client: &mut Client, schema: &str) -> Result<uuid::Uuid, StoreError> {
    client
        .query_one(&format!("SELECT id FROM {}.store_identity", quote_ident(schema)), &[])
        .await
        .map(|row| row.get(0))
        .map_err(|e| StoreError::database("reading the store's identity", e))
}

/// `name` as a quoted SQL identifier. A schema named in the configuration is a plain identifier already
/// (see `mod.rs`); the connection's current schema, used when none is named, may be anything.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identifier_is_quoted_with_its_quotes_doubled() {
        assert_eq!(quote_ident("erp"), "\"erp\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn migrations_are_numbered_1_2_3_in_order() {
        for (i, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, i as i32 + 1);
        }
    }
}

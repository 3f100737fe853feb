//! A small pool of PostgreSQL connections: at most N clients, handed out behind a semaphore, each with
//! the statements it has prepared.
//!
//! Hand-made rather than `deadpool-postgres` (ADR 0015): the store needs only "borrow a connection, give it
//! back unless it is broken or mid-transaction", which is about a hundred lines, while the crate brings
//! its own runtime abstraction and configuration layers for features the store does not use.
//!
//! A connection goes back to the pool when its [`Conn`] is dropped, unless it was dropped inside a
//! transaction (its future was cancelled between `BEGIN` and `COMMIT`/`ROLLBACK`): such a connection is
//! closed instead, so the server rolls the transaction back and the next borrower never inherits it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use crate::error::StoreError;

/// Connections, reused; at most `size` borrowed at once.
pub(crate) struct Pool {
    config: tokio_postgres::Config,
    idle: Mutex<Vec<Idle>>,
    permits: Arc<Semaphore>,
    size: usize,
    wait_max: Duration,
}

/// A connection waiting in the pool, with the statements prepared on it.
struct Idle {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

/// A borrowed connection. Dropped, it goes back to the pool (or is closed, see the module doc).
pub(crate) struct Conn {
    idle: Option<Idle>,
    pool: Arc<Pool>,
    in_transaction: bool,
    _permit: OwnedSemaphorePermit,
}

impl Pool {
    /// A pool of `size` connections, none open yet: each is opened when a borrower finds none idle, so
    /// a node opens only as many as its peak concurrency needs. `size` was checked by
    /// [`super::check_connections_max`]; a pool of none would refuse every borrower.
    pub fn new(config: tokio_postgres::Config, size: usize, wait_max: Duration) -> Arc<Pool> {
        assert!(size >= 1, "a pool of {size} connections");
        Arc::new(Pool {
            config,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Arc::new(Semaphore::new(size)),
            size,
            wait_max,
        })
    }

    /// The most connections borrowed at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Borrows a connection, opening one if none is idle; waits at most `wait_max` for a free slot.
    pub async fn get(self: &Arc<Self>) -> Result<Conn, StoreError> {
        let permit = match tokio::time::timeout(self.wait_max, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(StoreError::Closed),
            Err(_) => return Err(StoreError::Overloaded { waited_ms: self.wait_max.as_millis() as u64 }),
        };
        let reused = {
            let mut idle = self.idle.lock().expect("pool lock");
            loop {
                match idle.pop() {
                    Some(conn) if conn.client.is_closed() => continue,
                    other => break other,
                }
            }
        };
        let idle = match reused {
            Some(idle) => idle,
            None => Idle { client: connect(&self.config).await?, statements: HashMap::new() },
        };
        Ok(Conn { idle: Some(idle), pool: self.clone(), in_transaction: false, _permit: permit })
    }
}

/// Opens one connection and drives it on a task of its own.
pub(crate) async fn connect(config: &tokio_postgres::Config) -> Result<Client, StoreError> {
    let (client, connection) =
        config.connect(NoTls).await.map_err(|e| StoreError::database("connecting to PostgreSQL", e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "a PostgreSQL connection of the event store closed with an error");
        }
    });
    Ok(client)
}

impl Conn {
    fn idle(&self) -> &Idle {
        self.idle.as_ref().expect("a borrowed connection holds its client until dropped")
    }

    pub fn client(&self) -> &Client {
        &self.idle().client
    }

    /// Runs `sql`, prepared on this connection the first time it runs there, and returns its rows.
    pub async fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = match self.idle().statements.get(sql) {
            Some(statement) => statement.clone(),
            None => {
                let statement = self.client().prepare(sql).await?;
                self.idle.as_mut().expect("held").statements.insert(sql, statement.clone());
                statement
            }
        };
        self.client().query(&statement, params).await
    }

    /// `BEGIN`: from here until [`Conn::commit`] or [`Conn::rollback`] a dropped connection is closed.
    pub async fn begin(&mut self) -> Result<(), StoreError> {
        self.in_transaction = true;
        self.client()
            .batch_execute("BEGIN")
            .await
            .map_err(|e| StoreError::database("beginning a transaction", e))
    }

    /// `COMMIT`: returns once PostgreSQL has made the transaction durable (`synchronous_commit` as the
    /// server has it; the store never lowers it).
    pub async fn commit(&mut self) -> Result<(), tokio_postgres::Error> {
        self.client().batch_execute("COMMIT").await?;
        self.in_transaction = false;
        Ok(())
    }

    /// `ROLLBACK`, after a failed statement or a decision not to write.
    pub async fn rollback(&mut self) {
        if self.client().batch_execute("ROLLBACK").await.is_ok() {
            self.in_transaction = false;
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let Some(idle) = self.idle.take() else { return };
        if self.in_transaction || idle.client.is_closed() {
            // Dropping the client closes the connection; the server rolls back what it had open.
            return;
        }
        self.pool.idle.lock().expect("pool lock").push(idle);
    }
}

//! The KurrentDB store's subscription: a catch-up subscription to `$all`, filtered on the server to this
//! store's streams, from the first record of the append holding the consumer's checkpoint; the events
//! at or before the checkpoint are skipped here. The consumer keeps its checkpoint (the server keeps
//! none: no persistent subscription).
//!
//! A task follows the server's subscription and hands decoded events over a bounded channel, so that
//! [`Subscription::next`] and [`Subscription::next_batch`] are cancel-safe (a channel's `recv` is) and a
//! dropped call costs no re-subscription. The client re-subscribes by itself after a dropped stream,
//! from the last event it received, up to [`limits::KURRENTDB_RESUBSCRIBE_MAX`] times in a row.

use std::sync::Arc;
use std::time::Duration;

use kurrentdb::{RetryOptions, SubscribeToAllOptions};
use tokio::sync::mpsc;

use super::read::{self, Positions};
use super::store::{Inner, failure};
use crate::envelope::RecordedEvent;
use crate::error::StoreError;
use crate::limits;
use crate::port::Subscription;

type Item = Result<RecordedEvent, StoreError>;

/// A catch-up-then-live subscription to this store's events in `$all`.
pub struct KurrentSubscription {
    events: mpsc::Receiver<Item>,
    /// A failure met while a batch was being filled, handed out by the next call.
    held: Option<StoreError>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for KurrentSubscription {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl KurrentSubscription {
    pub(crate) fn new(inner: Arc<Inner>, checkpoint: u64) -> Self {
        let (tx, events) = mpsc::channel(limits::KURRENTDB_SUBSCRIPTION_BUFFER);
        let task = tokio::spawn(async move {
            if let Err(e) = follow(&inner, checkpoint, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        KurrentSubscription { events, held: None, task }
    }

    async fn receive(&mut self) -> Item {
        if let Some(e) = self.held.take() {
            return Err(e);
        }
        self.events.recv().await.unwrap_or(Err(StoreError::Closed))
    }
}

/// Follows the server's subscription, sending every event of ours after `checkpoint`, until the
/// consumer goes away (`Ok`) or the subscription fails.
async fn follow(inner: &Inner, checkpoint: u64, tx: &mpsc::Sender<Item>) -> Result<(), StoreError> {
    let options = SubscribeToAllOptions::default()
        .position(read::start_of(checkpoint))
        .filter(read::filter(inner))
        .retry_options(
            RetryOptions::default()
                .retry_limit(limits::KURRENTDB_RESUBSCRIBE_MAX)
                .retry_delay(Duration::from_millis(500)),
        );
    let mut subscription = inner.client.subscribe_to_all(&options).await;
    let mut positions = Positions::default();
    // The last position handed over: positions strictly increase, so anything at or before it (the
    // checkpoint's append's earlier events, an event sent again after a re-subscription) is skipped.
    let mut delivered = checkpoint;
    loop {
        let resolved = subscription.next().await.map_err(|e| failure("following $all", e))?;
        let Some(raw) = resolved.event else { continue };
        let Some(mut decoded) = read::decode(inner, &raw)? else { continue };
        positions.assign(inner, &mut decoded).await?;
        if decoded.event.position <= delivered {
            continue;
        }
        delivered = decoded.event.position;
        if tx.send(Ok(decoded.event)).await.is_err() {
            return Ok(());
        }
    }
}

impl Subscription for KurrentSubscription {
    async fn next(&mut self) -> Result<RecordedEvent, StoreError> {
        self.receive().await
    }

    async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let max = max.max(1);
        let mut batch = vec![self.receive().await?];
        while batch.len() < max {
            match self.events.try_recv() {
                Ok(Ok(event)) => batch.push(event),
                Ok(Err(e)) => {
                    self.held = Some(e);
                    break;
                }
                Err(_) => break,
            }
        }
        Ok(batch)
    }
}

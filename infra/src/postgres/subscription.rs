//! Subscriptions to the PostgreSQL store's log, and the listener that wakes them.
//!
//! A subscription pages the log from its checkpoint (`read_all_page`: only positions below the
//! horizon, so it can neither skip an event committed late nor repeat one). When a page comes back
//! empty it waits for a wake-up: the listener's `NOTIFY` from any node's append to this schema, this
//! store's own appends, or the slow poll. When the page is empty because committed events wait above
//! the horizon (an older transaction is still running: an append in another schema, or any other
//! transaction of the server, neither of which notifies this schema's listeners when it ends), it looks
//! again soon instead, backing off from a few milliseconds to the slow poll. A wake-up only says "look
//! again"; what is delivered is decided by the read alone.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

use super::Inner;
use super::read::read_all_page;
use crate::envelope::RecordedEvent;
use crate::error::StoreError;
use crate::port::Subscription;

/// Events fetched per page of a subscription.
const SUBSCRIPTION_BATCH_MAX: usize = 1024;

/// The first wait before looking again at events held back by the horizon; doubled each time they are
/// still held back, up to the poll interval.
const HELD_BACK_POLL_MIN: Duration = Duration::from_millis(5);

/// How long the listener waits before connecting again after its connection failed.
const LISTENER_RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Catch-up then live, by position below the horizon. Cancel-safe: events fetched but not yet returned
/// stay in `buffer`, and the checkpoint moves only when an event is handed out.
pub struct PostgresSubscription {
    inner: Arc<Inner>,
    wake: watch::Receiver<u64>,
    /// The last position handed out.
    checkpoint: u64,
    buffer: VecDeque<RecordedEvent>,
}

impl PostgresSubscription {
    pub(crate) fn new(inner: Arc<Inner>, checkpoint: u64) -> Self {
        let wake = inner.wake_tx.subscribe();
        PostgresSubscription { inner, wake, checkpoint, buffer: VecDeque::new() }
    }

    /// Fills the buffer with the next page, waiting for one if the subscription is caught up.
    async fn fill(&mut self) -> Result<(), StoreError> {
        let mut held_back_wait = HELD_BACK_POLL_MIN;
        loop {
            // Marked seen before the read: a wake-up during the read makes the wait below return at once.
            self.wake.borrow_and_update();
            let from = self.checkpoint + 1;
            let page = read_all_page(&self.inner, from, SUBSCRIPTION_BATCH_MAX).await?;
            if !page.events.is_empty() {
                assert!(page.events[0].position >= from, "a page starts at or after the position asked for");
                self.buffer.extend(page.events);
                return Ok(());
            }
            let wait = if page.held_back {
                let wait = held_back_wait.min(self.inner.poll_interval);
                held_back_wait = held_back_wait.saturating_mul(2);
                wait
            } else {
                held_back_wait = HELD_BACK_POLL_MIN;
                self.inner.poll_interval
            };
            // The sender lives in `inner`, which this subscription holds, so `changed` cannot fail.
            let _ = tokio::time::timeout(wait, self.wake.changed()).await;
        }
    }
}

impl Subscription for PostgresSubscription {
    async fn next(&mut self) -> Result<RecordedEvent, StoreError> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                assert!(event.position > self.checkpoint, "a subscription must not repeat or go backwards");
                self.checkpoint = event.position;
                return Ok(event);
            }
            self.fill().await?;
        }
    }

    async fn next_batch(&mut self, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let first = self.next().await?;
        let take = self.buffer.len().min(max.max(1) - 1);
        let mut out = Vec::with_capacity(take + 1);
        out.push(first);
        out.extend(self.buffer.drain(..take));
        assert!(out.windows(2).all(|w| w[0].position < w[1].position), "a batch is in position order");
        self.checkpoint = out.last().expect("one at least").position;
        Ok(out)
    }
}

/// Listens for the appends' notifications on a connection of its own and turns the ones for `schema`
/// into wake-ups; reconnects after a failure (waking everyone, since notifications sent meanwhile are
/// lost). Runs until the store aborts it.
pub(crate) fn spawn_listener(
    config: tokio_postgres::Config,
    schema: String,
    wake: Arc<watch::Sender<u64>>,
    mut appended: watch::Receiver<u64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = listen(&config, &schema, &wake, &mut appended).await {
                tracing::warn!(error = %e, "the event store's notification listener lost its connection");
            }
            wake.send_modify(|n| *n = n.wrapping_add(1));
            tokio::time::sleep(LISTENER_RECONNECT_DELAY).await;
        }
    })
}

/// One listening connection, until it ends. It also tells the other nodes about this node's appends:
/// when `appended` moves it sends one `NOTIFY` (after the appends' commits, outside their
/// transactions), and appends acknowledged while it is on its way are told by the next one.
async fn listen(
    config: &tokio_postgres::Config,
    schema: &str,
    wake: &watch::Sender<u64>,
    appended: &mut watch::Receiver<u64>,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let listen = client.batch_execute("LISTEN erp_events");
    tokio::pin!(listen);
    let mut listening = false;
    // Appends acknowledged before this connection was up are told too (a notification costs little).
    appended.mark_changed();
    let mut notifying: Option<std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send + '_>>> = None;
    loop {
        tokio::select! {
            result = &mut listen, if !listening => {
                result?;
                listening = true;
                // Anything committed before LISTEN took effect is found by the read this prompts.
                wake.send_modify(|n| *n = n.wrapping_add(1));
            }
            changed = appended.changed(), if listening && notifying.is_none() => {
                if changed.is_err() {
                    return Ok(()); // The store is gone.
                }
                let client = &client;
                notifying = Some(Box::pin(async move {
                    client.execute("SELECT pg_notify('erp_events', $1)", &[&schema]).await
                }));
            }
            result = async { notifying.as_mut().expect("guarded").await }, if notifying.is_some() => {
                notifying = None;
                result?;
            }
            message = std::future::poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(n))) if n.payload() == schema => {
                    wake.send_modify(|n| *n = n.wrapping_add(1));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
        }
    }
}

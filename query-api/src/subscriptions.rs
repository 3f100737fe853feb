//! Live queries over WebSocket (`/graphql/ws`, the graphql-transport-ws protocol): the owner's
//! dashboard and the stock alerts, each sent at once and then again whenever it changes.
//!
//! A subscription waits on its read model's position (it moves after every batch the projector
//! folds), recomputes the answer, and sends it only when it differs from the last one sent; after a
//! change it waits [`UPDATE_INTERVAL`] before looking again, so a busy log costs a browser at most a
//! few updates a second, not one per batch.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::futures_util::Stream;
use async_graphql::futures_util::stream;
use async_graphql::{Context, Subscription};
use tokio::sync::watch;

use crate::{DashboardArgs, DashboardReport, ReadSide, StockAlert, dashboard_report, stock_alerts};

/// The least time between two updates of one subscription.
pub const UPDATE_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Default)]
pub struct SubscriptionRoot;

/// A stream of `compute`'s answers: the first at once, then each one that differs from the last sent,
/// looked for whenever `position` moves (at most once per [`UPDATE_INTERVAL`]). Ends when the
/// projector is gone. An error is sent and ends the stream.
fn live<T, F, Fut>(
    position: watch::Receiver<u64>,
    compute: F,
) -> impl Stream<Item = async_graphql::Result<T>> + Send + 'static
where
    T: Clone + PartialEq + Send + Sync + 'static,
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = async_graphql::Result<T>> + Send,
{
    struct State<T, F> {
        position: watch::Receiver<u64>,
        compute: F,
        last: Option<T>,
        done: bool,
    }
    let state = State { position, compute, last: None, done: false };
    stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        loop {
            if state.last.is_some() {
                // Wait for the model to move, then let a burst of batches settle.
                if state.position.changed().await.is_err() {
                    return None;
                }
                tokio::time::sleep(UPDATE_INTERVAL).await;
            }
            state.position.borrow_and_update();
            match (state.compute)().await {
                Ok(answer) if state.last.as_ref() == Some(&answer) => continue,
                Ok(answer) => {
                    state.last = Some(answer.clone());
                    return Some((Ok(answer), state));
                }
                Err(e) => {
                    state.done = true;
                    return Some((Err(e), state));
                }
            }
        }
    })
}

#[Subscription]
impl SubscriptionRoot {
    /// The owner's dashboard of a book (as the `dashboard` query answers it), sent at once and again
    /// whenever its figures change.
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        book: String,
        from: Option<String>,
        to: Option<String>,
        #[graphql(default = 10)] top: usize,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<DashboardReport>>> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>().clone();
        let args = DashboardArgs::parse(ctx, &book, from.as_deref(), to.as_deref(), top)?;
        let position = read.models.dashboard.watch();
        Ok(live(position, move || {
            let read = read.clone();
            async move { dashboard_report(&read, &args, None).await }
        }))
    }

    /// The stock alerts (库存预警: available below safety stock), sent at once and again whenever the
    /// list changes.
    async fn stock_alerts(
        &self,
        ctx: &Context<'_>,
        book: String,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Vec<StockAlert>>>> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>().clone();
        let book = crate::book_of(ctx, &book)?;
        let position = read.models.stock.watch();
        Ok(live(position, move || {
            let read = read.clone();
            async move { stock_alerts(&read, book, None).await }
        }))
    }
}

//! The KurrentDB store's audit check: the log read in position order (`$all`, filtered to this store's
//! streams, as `read_all` reads it), every event checked against its stream and every commit's hash
//! recomputed as the append computed it (`chain.rs`). The PostgreSQL store's check, field for field:
//! versions 0, 1, 2 ... per stream, positions increasing with them, a commit's events consecutive and
//! agreeing on its links and recording time, each commit linked to its stream's previous one (zeros for
//! the first), its stored hash the hash of its body; the first problem named, and the heads digest (every
//! stream's last commit hash, in stream id order) as the seal. It reads what the server answers at the
//! time, so events appended meanwhile may or may not be included, and takes no lock.

use super::chain::{ChainRow, ChainWalk, KurrentVerifyReport};
use super::read;
use super::store::Inner;
use crate::error::StoreError;

/// Events read per page.
const VERIFY_PAGE: usize = 1_000;

pub(crate) async fn verify(inner: &Inner) -> Result<KurrentVerifyReport, StoreError> {
    let mut walk = ChainWalk::default();
    let mut from = 1u64;
    loop {
        let page = read::read_all_decoded(inner, from, VERIFY_PAGE).await?;
        let Some(last) = page.last() else { break };
        from = last.event.position + 1;
        for decoded in page {
            walk.take(ChainRow {
                event: decoded.event,
                index: decoded.index,
                count: decoded.count,
                commit_hash: decoded.commit_hash,
            });
        }
        if walk.failed() {
            break;
        }
    }
    Ok(walk.finish())
}

//! The KurrentDB event store (ADR 0016): the same port, envelope and per-stream hash chain over a
//! KurrentDB server, through its official gRPC client (the `kurrentdb` crate, behind the `kurrentdb`
//! feature of this crate).
//!
//! - A stream is a server stream of the same name, behind `<namespace>/` when the store has a
//!   namespace (`layout.rs`); expected versions map one to one onto the server's expected revisions.
//! - Every event keeps its id (the domain's deterministic one), its type name, its payload as
//!   `application/octet-stream`, and the rest of our envelope in its custom metadata, in a versioned
//!   layout (`layout.rs`, pinned by golden bytes).
//! - Our global position of an event is `first << 14 | index`, where `first` is the `$all` position of
//!   the first event of its append (`layout.rs` says why); `read.rs` works it out while reading.
//! - An append reads the stream's head (for the hash chain, and to recognise a retry), writes at the
//!   exact revision it read, and reads the written events back to answer their positions and to compare
//!   their content (`append.rs`).
//! - Reads of the log and subscriptions go to `$all`, filtered on the server to this store's streams
//!   (`read.rs`, `subscription.rs`); the consumer keeps its checkpoint, the server keeps none.
//!
//! - The chain check (`verify.rs`, `chain.rs`) walks the log in position order and recomputes every
//!   stream's chain from what it reads; `erp migrate` imports commits through the append (`append.rs`).
//!
//! Without the `kurrentdb` feature only `layout.rs` and `chain.rs` are compiled: enough to recognise a KurrentDB URL.

// Without the feature only the URL schemes are used; the rest is held by the unit tests.
#[cfg_attr(not(feature = "kurrentdb"), allow(dead_code))]
mod layout;

pub use layout::{URL_SCHEMES, is_kurrentdb_url};

// The chain's rules, without the client: used by the append, the import and the chain check.
#[cfg_attr(not(feature = "kurrentdb"), allow(dead_code))]
mod chain;

pub use chain::{KurrentVerifyProblem, KurrentVerifyReport};

#[cfg(feature = "kurrentdb")]
mod append;
#[cfg(feature = "kurrentdb")]
mod read;
#[cfg(feature = "kurrentdb")]
mod store;
#[cfg(feature = "kurrentdb")]
mod subscription;
#[cfg(feature = "kurrentdb")]
mod verify;

#[cfg(feature = "kurrentdb")]
pub use store::{KurrentConfig, KurrentStore};
#[cfg(feature = "kurrentdb")]
pub use subscription::KurrentSubscription;

/// What a build without the `kurrentdb` feature answers to a KurrentDB URL.
pub const NOT_BUILT_IN: &str = "this build has no KurrentDB adapter; build with `--features kurrentdb`";

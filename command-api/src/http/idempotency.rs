//! `Idempotency-Key`: a retried request answers what the first one answered; the same key with another
//! body is refused (ADR 0013).
//!
//! Two layers. The command id is derived from the book and the key, so a retry can never execute twice:
//! the bus finds the command in its stream and answers its original outcome, across restarts too. On
//! top, this bounded memory of recent keys keeps each key's body hash and response, to replay the exact
//! response and to refuse a different body; it is lost on restart, after which a retry still does not
//! execute twice but is answered from the log (`duplicate: true`).

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use domain::{BookId, CommandId};
use uuid::Uuid;

/// Keys remembered (least recently used dropped first).
pub const KEYS_MAX: usize = 100_000;
/// How long a key is remembered.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 3600);
/// Longest key accepted.
pub const KEY_LEN_MAX: usize = 200;

/// The namespace of command ids derived from idempotency keys.
const NAMESPACE: Uuid = Uuid::from_u128(0x6572_705f_6964_656d_706f_7465_6e63_7901);

/// The command id a key stands for in a book: the same key always executes as the same command.
pub fn command_id(book: BookId, command: &str, key: &str) -> CommandId {
    let mut name = Vec::with_capacity(16 + command.len() + key.len() + 1);
    name.extend_from_slice(book.0.as_bytes());
    name.extend_from_slice(command.as_bytes());
    name.push(0);
    name.extend_from_slice(key.as_bytes());
    CommandId(Uuid::new_v5(&NAMESPACE, &name))
}

/// Whether `key` is acceptable: 1 to [`KEY_LEN_MAX`] visible ASCII characters.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= KEY_LEN_MAX && key.bytes().all(|b| b.is_ascii_graphic())
}

/// A stored answer.
#[derive(Clone, Debug)]
pub struct Stored {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub etag: Option<String>,
}

enum Entry {
    InFlight { body_hash: [u8; 32], since: Instant },
    Done { body_hash: [u8; 32], at: Instant, answer: Stored },
}

/// What to do with a request carrying a key.
pub enum Claim {
    /// First time (or forgotten): execute, then [`Keys::finish`] or [`Keys::abandon`].
    Execute,
    /// The same request was answered before: answer this again.
    Replay(Stored),
    /// The key was used with another body.
    Mismatch,
    /// The same key is being executed right now.
    InFlight,
}

pub struct Keys {
    entries: Mutex<lru::LruCache<(BookId, String), Entry>>,
}

impl Default for Keys {
    fn default() -> Self {
        Keys { entries: Mutex::new(lru::LruCache::new(NonZeroUsize::new(KEYS_MAX).expect("non-zero"))) }
    }
}

impl Keys {
    pub fn claim(&self, book: BookId, key: &str, body_hash: [u8; 32]) -> Claim {
        let mut entries = self.entries.lock().expect("idempotency lock");
        let now = Instant::now();
        let slot = (book, key.to_string());
        match entries.get(&slot) {
            Some(Entry::Done { body_hash: h, at, answer }) if now.duration_since(*at) < KEY_TTL => {
                return if *h == body_hash { Claim::Replay(answer.clone()) } else { Claim::Mismatch };
            }
            Some(Entry::InFlight { body_hash: h, since }) if now.duration_since(*since) < KEY_TTL => {
                return if *h == body_hash { Claim::InFlight } else { Claim::Mismatch };
            }
            _ => {}
        }
        entries.put(slot, Entry::InFlight { body_hash, since: now });
        Claim::Execute
    }

    /// Keeps the final answer of a claimed key.
    pub fn finish(&self, book: BookId, key: &str, body_hash: [u8; 32], answer: Stored) {
        let mut entries = self.entries.lock().expect("idempotency lock");
        entries.put((book, key.to_string()), Entry::Done { body_hash, at: Instant::now(), answer });
    }

    /// Forgets a claimed key whose request got no final answer (overload, a failure of the store): a
    /// retry executes again (safely: the derived command id).
    pub fn abandon(&self, book: BookId, key: &str) {
        let mut entries = self.entries.lock().expect("idempotency lock");
        entries.pop(&(book, key.to_string()));
    }
}

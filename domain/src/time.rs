//! Business and recording time as a plain value.
//!
//! The domain never reads a clock: a `Timestamp` arrives with the command (business time, `occurred_at`)
//! or is assigned by the store when it records an event (`recorded_at`). Microseconds since the Unix epoch,
//! UTC, as a signed 64-bit integer: enough for ±292,000 years and cheap to encode.

use serde::{Deserialize, Serialize};

/// Microseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn unix_micros(self) -> i64 {
        self.0
    }
}

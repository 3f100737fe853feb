//! What every command carries besides its content: who, for which book, when, and its id.

use serde::{Deserialize, Serialize};

use crate::{BookId, CommandId, Timestamp};

/// The context of one command. Time and ids come from outside the domain (the API or a process
/// manager), never from a clock or a random generator inside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandMeta {
    pub command_id: CommandId,
    pub actor: String,
    pub book: BookId,
    /// Business time of the fact the command records.
    pub occurred_at: Timestamp,
}

/// An expected business refusal: the command breaks a rule. Every rejection has a stable code.
pub trait Rejection: std::error::Error + Send + Sync + 'static {
    fn code(&self) -> &'static str;
}

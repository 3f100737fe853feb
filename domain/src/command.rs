//! What every command carries besides its content: who, for which book, when, and its id.

use serde::{Deserialize, Serialize};

use uuid::Uuid;

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
    /// The business flow this command belongs to (the first command's id starts a flow).
    pub correlation_id: Uuid,
    /// What directly caused the command: the client's request id, or the event a process manager
    /// reacted to.
    pub causation_id: Uuid,
}

impl CommandMeta {
    /// A command issued directly by a person or a client: it starts its own flow.
    pub fn new(
        command_id: CommandId,
        actor: impl Into<String>,
        book: BookId,
        occurred_at: Timestamp,
    ) -> Self {
        CommandMeta {
            command_id,
            actor: actor.into(),
            book,
            occurred_at,
            correlation_id: command_id.0,
            causation_id: command_id.0,
        }
    }
}

/// An expected business refusal: the command breaks a rule. Every rejection has a stable code.
pub trait Rejection: std::error::Error + Send + Sync + 'static {
    fn code(&self) -> &'static str;
}

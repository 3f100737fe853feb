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
    /// What the actor may do, as established by authentication at the edge (empty for a process
    /// manager, whose commands never need an approving role).
    pub roles: Vec<Role>,
}

/// The roles of the architecture's bearer tokens; rules such as "approved by purchasing, not by the
/// requester" read them from the command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    Admin,
    Sales,
    Purchasing,
    Warehouse,
    Finance,
    Auditor,
    Analyst,
}

/// Who is calling, as authentication at the edge established it: the person or client (`actor`), the
/// one book (tenant) they act in, and their roles. Commands take their metadata from it; queries are
/// answered only for its book.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub actor: String,
    pub book: BookId,
    pub roles: Vec<Role>,
}

impl Caller {
    /// Whether the caller holds `role` (an admin holds every role).
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role) || self.roles.contains(&Role::Admin)
    }
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
            roles: Vec::new(),
        }
    }

    /// The same command context, for an actor holding `roles`.
    pub fn with_roles(mut self, roles: &[Role]) -> Self {
        self.roles = roles.to_vec();
        self
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role) || self.roles.contains(&Role::Admin)
    }
}

/// An expected business refusal: the command breaks a rule. Every rejection has a stable code.
pub trait Rejection: std::error::Error + Send + Sync + 'static {
    fn code(&self) -> &'static str;
}

//! The one given / when / then helper every aggregate's tests use (style.md §11).
//!
//! `given(steps)` applies commands that must all be accepted; `when` decides one more command on that
//! state and keeps both the answer and the state after it; `rejected(code)` and `events()` read the
//! outcome. Tests stay data: the steps, the command, the expected events or rejection code.

use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection, Role};
use crate::ids::{BookId, CommandId};
use crate::time::Timestamp;

/// A command context for `actor` with `roles` (book and time fixed; ids do not matter to decide).
pub fn meta_with(actor: &str, roles: &[Role]) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(1)), actor, BookId(Uuid::from_u128(2)), Timestamp(0))
        .with_roles(roles)
}

/// A command context for `actor` with no role.
pub fn meta(actor: &str) -> CommandMeta {
    meta_with(actor, &[])
}

/// A state reached by accepted commands.
pub struct Given<A: Aggregate> {
    pub state: A,
}

/// Applies `(context, command)` steps, each of which must be accepted.
pub fn given<A: Aggregate>(steps: &[(CommandMeta, A::Command)]) -> Given<A> {
    let mut state = A::default();
    for (i, (meta, command)) in steps.iter().enumerate() {
        match state.decide(command, meta) {
            Ok(events) => {
                for event in &events {
                    state.evolve(event);
                }
            }
            Err(rejection) => panic!("given step {i} was rejected [{}]: {rejection}", rejection.code()),
        }
    }
    Given { state }
}

/// Applies commands from one actor, each of which must be accepted.
pub fn given_by<A: Aggregate>(actor: &str, commands: &[A::Command]) -> Given<A>
where
    A::Command: Clone,
{
    let steps: Vec<_> = commands.iter().map(|c| (meta(actor), c.clone())).collect();
    given(&steps)
}

impl<A: Aggregate> Given<A> {
    /// Decides `command` on the given state.
    pub fn when(&self, meta: &CommandMeta, command: &A::Command) -> Outcome<A> {
        let result = self.state.decide(command, meta);
        let mut after = self.state.clone();
        if let Ok(events) = &result {
            for event in events {
                after.evolve(event);
            }
        }
        Outcome { result, after }
    }
}

/// What a command answered, and the state after its events.
pub struct Outcome<A: Aggregate> {
    pub result: Result<Vec<A::Event>, A::Rejection>,
    pub after: A,
}

impl<A: Aggregate> Outcome<A> {
    /// The events of an accepted command (panics with the rejection otherwise).
    pub fn events(&self) -> &[A::Event] {
        match &self.result {
            Ok(events) => events,
            Err(rejection) => panic!("expected events, got rejection [{}]: {rejection}", rejection.code()),
        }
    }

    /// Asserts the command was rejected with `code` and a message.
    pub fn rejected(&self, code: &str) {
        match &self.result {
            Err(rejection) => {
                assert_eq!(rejection.code(), code, "{rejection}");
                assert!(!rejection.to_string().is_empty());
            }
            Ok(events) => panic!("expected rejection {code}, got {events:?}"),
        }
    }
}

//! The audit trail (审计追踪): which events an actor recorded, which events of a type, which events one
//! business flow (correlation id) produced, as indexes of log positions; the events themselves (their
//! envelopes: who, when, caused by what) are read from the log by position. A stream's history needs no
//! index: the log reads a stream directly.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::arena::Rows;
use crate::postings::Postings;

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Positions by actor, by event type and by correlation id, each a compact posting list (about one
/// to two bytes a position: the whole index stays small at ten million events).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    by_actor: HashMap<String, Postings>,
    by_type: HashMap<String, Postings>,
    /// A row of `flows` per correlation id: a log holds millions of flows, and a map of row numbers
    /// grows by moving a fifth of the bytes a map of posting lists would.
    by_correlation: HashMap<Uuid, u32>,
    flows: Rows<Postings>,
}

/// Which events an audit query asks for; each given criterion must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub event_type: Option<String>,
    pub correlation: Option<Uuid>,
}

impl Audit {
    pub fn apply(&mut self, event: &infra::Envelope<'_>) {
        let position = event.position;
        // Look up before inserting: the keys are few and an owned copy per event would cost more than
        // the rest of the fold.
        fn push(index: &mut HashMap<String, Postings>, key: &str, position: u64) {
            match index.get_mut(key) {
                Some(positions) => positions.push(position),
                None => index.entry(key.to_string()).or_default().push(position),
            }
        }
        push(&mut self.by_actor, event.actor, position);
        push(&mut self.by_type, event.event_type, position);
        let flows = &mut self.flows;
        let row = *self
            .by_correlation
            .entry(event.correlation_id)
            .or_insert_with(|| flows.push(Postings::default()));
        self.flows.get_mut(row).expect("every row is in the flows").push(position);
    }

    /// Positions of the events `filter` admits, in log order, after `after`, at most `first`; `None`
    /// when the filter names nothing to index by (a query over the whole log reads the log itself).
    pub fn positions(&self, filter: &AuditFilter, after: u64, first: usize) -> Option<Vec<u64>> {
        let empty = Postings::default();
        let mut lists: Vec<&Postings> = [
            filter.actor.as_ref().map(|a| self.by_actor.get(a).unwrap_or(&empty)),
            filter.event_type.as_ref().map(|t| self.by_type.get(t).unwrap_or(&empty)),
            filter
                .correlation
                .map(|c| self.by_correlation.get(&c).and_then(|row| self.flows.get(*row)).unwrap_or(&empty)),
        ]
        .into_iter()
        .flatten()
        .collect();
        // Walk the shortest list; the others are asked whether they hold each position.
        lists.sort_by_key(|l| l.len());
        let (shortest, others) = lists.split_first()?;
        Some(shortest.after(after).filter(|p| others.iter().all(|l| l.contains(*p))).take(first).collect())
    }
}

impl crate::runtime::ReadModel for Audit {
    const NAME: &'static str = "audit";
    const VERSION: u32 = 3;

    fn apply(&mut self, event: &infra::Envelope<'_>, _fact: &crate::fact::Fact) {
        Audit::apply(self, event);
    }
}

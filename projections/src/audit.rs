//! The audit trail (审计追踪): which events an actor recorded, which events of a type, which events one
//! business flow (correlation id) produced, as indexes of log positions; the events themselves (their
//! envelopes: who, when, caused by what) are read from the log by position. A stream's history needs no
//! index: the log reads a stream directly.

use std::collections::BTreeMap;

use infra::RecordedEvent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    by_actor: BTreeMap<String, Vec<u64>>,
    by_type: BTreeMap<String, Vec<u64>>,
    by_correlation: BTreeMap<Uuid, Vec<u64>>,
}

/// Which events an audit query asks for; each given criterion must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub event_type: Option<String>,
    pub correlation: Option<Uuid>,
}

impl Audit {
    pub fn apply(&mut self, event: &RecordedEvent) {
        let position = event.position;
        // Look up before inserting: the keys are few and an owned copy per event would cost more than
        // the rest of the fold.
        fn push(index: &mut BTreeMap<String, Vec<u64>>, key: &str, position: u64) {
            match index.get_mut(key) {
                Some(positions) => positions.push(position),
                None => {
                    index.insert(key.to_string(), vec![position]);
                }
            }
        }
        push(&mut self.by_actor, &event.metadata.actor, position);
        push(&mut self.by_type, event.event_type.name(), position);
        self.by_correlation.entry(event.metadata.correlation_id).or_default().push(position);
    }

    /// Positions of the events `filter` admits, in log order, after `after`, at most `first`; `None`
    /// when the filter names nothing to index by (a query over the whole log reads the log itself).
    pub fn positions(&self, filter: &AuditFilter, after: u64, first: usize) -> Option<Vec<u64>> {
        let empty = Vec::new();
        let lists: Vec<&Vec<u64>> = [
            filter.actor.as_ref().map(|a| self.by_actor.get(a).unwrap_or(&empty)),
            filter.event_type.as_ref().map(|t| self.by_type.get(t).unwrap_or(&empty)),
            filter.correlation.map(|c| self.by_correlation.get(&c).unwrap_or(&empty)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let (shortest, others) = {
            let mut sorted = lists;
            sorted.sort_by_key(|l| l.len());
            let mut sorted = sorted.into_iter();
            (sorted.next()?, sorted.collect::<Vec<_>>())
        };
        let start = shortest.partition_point(|p| *p <= after);
        Some(
            shortest[start..]
                .iter()
                .filter(|p| others.iter().all(|l| l.binary_search(p).is_ok()))
                .take(first)
                .copied()
                .collect(),
        )
    }
}

impl crate::runtime::ReadModel for Audit {
    const NAME: &'static str = "audit";
    const VERSION: u32 = 1;

    fn listens_to(_event_type: &str) -> bool {
        true
    }

    fn apply(&mut self, event: &RecordedEvent) -> Result<(), infra::StoreError> {
        Audit::apply(self, event);
        Ok(())
    }
}

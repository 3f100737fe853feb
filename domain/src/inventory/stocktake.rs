//! Stocktake (盘点): count a warehouse's items, compare with the books, have the differences approved,
//! then adjust stock.
//!
//! open (with the book quantities as of opening) → count each line → submit (differences fixed) →
//! approve (by someone other than the submitter) or reject → the stocktake-posting process manager
//! adjusts each differing stock item and records it here → completed when every difference is posted.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::stock::{LossTreatment, StockPolicy};
use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection};
use crate::ids::{ItemId, StocktakeId, WarehouseId};

/// Most lines in one stocktake: a warehouse section at a time keeps documents reviewable.
pub const STOCKTAKE_LINES_MAX: usize = 5_000;

/// One item to count, with what the books said when the stocktake was opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StocktakeLine {
    pub item: ItemId,
    pub book_qty: Decimal,
    /// The item's stock policy, used if the stock item has to be opened by a gain.
    pub policy: StockPolicy,
    /// Cost for a gain where the stock item has none yet (otherwise its last cost is used).
    pub unit_cost: Option<Decimal>,
}

/// A counted difference: positive is a gain, negative a loss.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StocktakeDifference {
    pub line: u32,
    pub item: ItemId,
    pub delta: Decimal,
    pub policy: StockPolicy,
    pub unit_cost: Option<Decimal>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StocktakeCommand {
    Open {
        id: StocktakeId,
        warehouse: WarehouseId,
        lines: Vec<StocktakeLine>,
    },
    Count {
        id: StocktakeId,
        line: u32,
        counted: Decimal,
    },
    Submit {
        id: StocktakeId,
    },
    /// Approves the differences; each loss line may name how it is settled (a normal loss otherwise).
    Approve {
        id: StocktakeId,
        losses: Vec<StocktakeLoss>,
    },
    Reject {
        id: StocktakeId,
        reason: String,
    },
    /// From the posting process manager: the stock adjustment of `line` is recorded.
    RecordPosted {
        id: StocktakeId,
        line: u32,
    },
}

impl StocktakeCommand {
    pub fn id(&self) -> StocktakeId {
        match self {
            StocktakeCommand::Open { id, .. }
            | StocktakeCommand::Count { id, .. }
            | StocktakeCommand::Submit { id }
            | StocktakeCommand::Approve { id, .. }
            | StocktakeCommand::Reject { id, .. }
            | StocktakeCommand::RecordPosted { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StocktakeOpened {
    pub id: StocktakeId,
    pub warehouse: WarehouseId,
    pub lines: Vec<StocktakeLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StocktakeLineCounted {
    pub line: u32,
    pub counted: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StocktakeSubmitted {
    pub by: String,
    pub differences: Vec<StocktakeDifference>,
}

/// How the loss on one line is settled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StocktakeLoss {
    pub line: u32,
    pub treatment: LossTreatment,
}

/// Carries everything the posting needs, so the process manager stays a pure function of this event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StocktakeApproved {
    pub id: StocktakeId,
    pub by: String,
    pub warehouse: WarehouseId,
    pub differences: Vec<StocktakeDifference>,
    /// Since v2: the loss lines the approver settled otherwise than as a normal loss.
    pub losses: Vec<StocktakeLoss>,
}

/// `inventory.StocktakeApproved` v1, before losses could be settled as abnormal or compensated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StocktakeApprovedV1 {
    pub id: StocktakeId,
    pub by: String,
    pub warehouse: WarehouseId,
    pub differences: Vec<StocktakeDifference>,
}

impl From<StocktakeApprovedV1> for StocktakeApproved {
    fn from(v1: StocktakeApprovedV1) -> Self {
        StocktakeApproved {
            id: v1.id,
            by: v1.by,
            warehouse: v1.warehouse,
            differences: v1.differences,
            losses: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StocktakeRejected {
    pub by: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StocktakeLinePosted {
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StocktakeCompleted {
    pub id: StocktakeId,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum StocktakeEvent {
        Opened(StocktakeOpened) = "inventory.StocktakeOpened" v 1,
        Counted(StocktakeLineCounted) = "inventory.StocktakeLineCounted" v 1,
        Submitted(StocktakeSubmitted) = "inventory.StocktakeSubmitted" v 1,
        Approved(StocktakeApproved) = "inventory.StocktakeApproved" v 2 upcast [1 => StocktakeApprovedV1],
        Rejected(StocktakeRejected) = "inventory.StocktakeRejected" v 1,
        LinePosted(StocktakeLinePosted) = "inventory.StocktakeLinePosted" v 1,
        Completed(StocktakeCompleted) = "inventory.StocktakeCompleted" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StocktakeRejection {
    #[error("the stocktake already exists")]
    AlreadyExists,
    #[error("the stocktake does not exist")]
    NotFound,
    #[error("a stocktake needs 1 to {STOCKTAKE_LINES_MAX} lines, each item once")]
    InvalidLines,
    #[error("the stocktake is {0}; that is not possible now")]
    WrongStatus(&'static str),
    #[error("line {0} does not exist")]
    UnknownLine(u32),
    #[error("a count cannot be negative")]
    NegativeCount,
    #[error("{0} lines are not counted yet")]
    NotAllCounted(usize),
    #[error("the stocktake must be approved by someone other than {0}, who submitted it")]
    SelfApproval(String),
    #[error("line {0} has no difference to post, or it is posted already")]
    NothingToPost(u32),
    #[error(
        "line {0}: a loss treatment must name a loss line once, with a VAT rate in [0, 1), a compensation \
         in cents that is not negative, and who owes any compensation"
    )]
    InvalidLossTreatment(u32),
}

impl Rejection for StocktakeRejection {
    fn code(&self) -> &'static str {
        match self {
            StocktakeRejection::AlreadyExists => "stocktake.already_exists",
            StocktakeRejection::NotFound => "stocktake.not_found",
            StocktakeRejection::InvalidLines => "stocktake.invalid_lines",
            StocktakeRejection::WrongStatus(_) => "stocktake.wrong_status",
            StocktakeRejection::UnknownLine(_) => "stocktake.unknown_line",
            StocktakeRejection::NegativeCount => "stocktake.negative_count",
            StocktakeRejection::NotAllCounted(_) => "stocktake.not_all_counted",
            StocktakeRejection::SelfApproval(_) => "stocktake.self_approval",
            StocktakeRejection::NothingToPost(_) => "stocktake.nothing_to_post",
            StocktakeRejection::InvalidLossTreatment(_) => "stocktake.invalid_loss_treatment",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StocktakeStatus {
    #[default]
    New,
    Counting,
    Submitted,
    Approved,
    Rejected,
    Completed,
}

impl StocktakeStatus {
    fn name(self) -> &'static str {
        match self {
            StocktakeStatus::New => "new",
            StocktakeStatus::Counting => "counting",
            StocktakeStatus::Submitted => "submitted",
            StocktakeStatus::Approved => "approved",
            StocktakeStatus::Rejected => "rejected",
            StocktakeStatus::Completed => "completed",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stocktake {
    pub id: Option<StocktakeId>,
    pub warehouse: Option<WarehouseId>,
    pub status: StocktakeStatus,
    pub lines: Vec<StocktakeLine>,
    pub counted: Vec<Option<Decimal>>,
    pub submitted_by: Option<String>,
    pub differences: Vec<StocktakeDifference>,
    pub posted: Vec<u32>,
}

impl Aggregate for Stocktake {
    type Command = StocktakeCommand;
    type Event = StocktakeEvent;
    type Rejection = StocktakeRejection;

    fn stream_id(command: &StocktakeCommand) -> String {
        format!("stocktake-{}", command.id())
    }

    fn evolve(&mut self, event: &StocktakeEvent) {
        match event {
            StocktakeEvent::Opened(e) => {
                self.id = Some(e.id);
                self.warehouse = Some(e.warehouse);
                self.lines = e.lines.clone();
                self.counted = vec![None; e.lines.len()];
                self.status = StocktakeStatus::Counting;
            }
            StocktakeEvent::Counted(e) => self.counted[e.line as usize] = Some(e.counted),
            StocktakeEvent::Submitted(e) => {
                self.submitted_by = Some(e.by.clone());
                self.differences = e.differences.clone();
                self.status = StocktakeStatus::Submitted;
            }
            StocktakeEvent::Approved(_) => self.status = StocktakeStatus::Approved,
            StocktakeEvent::Rejected(_) => self.status = StocktakeStatus::Rejected,
            StocktakeEvent::LinePosted(e) => self.posted.push(e.line),
            StocktakeEvent::Completed(_) => self.status = StocktakeStatus::Completed,
        }
    }

    fn decide(
        &self,
        command: &StocktakeCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<StocktakeEvent>, StocktakeRejection> {
        use StocktakeRejection as R;
        use StocktakeStatus as S;
        let status = self.status;
        let expect = |wanted: S| {
            if status == wanted {
                Ok(())
            } else if status == S::New {
                Err(R::NotFound)
            } else {
                Err(R::WrongStatus(status.name()))
            }
        };
        match command {
            StocktakeCommand::Open { id, warehouse, lines } => {
                if status != S::New {
                    return Err(R::AlreadyExists);
                }
                let mut items: Vec<_> = lines.iter().map(|l| l.item).collect();
                items.sort();
                items.dedup();
                let valid = !lines.is_empty()
                    && lines.len() <= STOCKTAKE_LINES_MAX
                    && items.len() == lines.len()
                    && lines.iter().all(|l| l.unit_cost.is_none_or(|c| c >= Decimal::ZERO));
                if !valid {
                    return Err(R::InvalidLines);
                }
                Ok(vec![StocktakeEvent::Opened(StocktakeOpened {
                    id: *id,
                    warehouse: *warehouse,
                    lines: lines.clone(),
                })])
            }
            StocktakeCommand::Count { line, counted, .. } => {
                expect(S::Counting)?;
                if *line as usize >= self.lines.len() {
                    return Err(R::UnknownLine(*line));
                }
                if *counted < Decimal::ZERO {
                    return Err(R::NegativeCount);
                }
                Ok(vec![StocktakeEvent::Counted(StocktakeLineCounted { line: *line, counted: *counted })])
            }
            StocktakeCommand::Submit { .. } => {
                expect(S::Counting)?;
                let missing = self.counted.iter().filter(|c| c.is_none()).count();
                if missing > 0 {
                    return Err(R::NotAllCounted(missing));
                }
                let differences = self
                    .lines
                    .iter()
                    .zip(&self.counted)
                    .enumerate()
                    .filter_map(|(i, (line, counted))| {
                        let delta = counted.expect("all counted") - line.book_qty;
                        (!delta.is_zero()).then(|| StocktakeDifference {
                            line: i as u32,
                            item: line.item,
                            delta,
                            policy: line.policy.clone(),
                            unit_cost: line.unit_cost,
                        })
                    })
                    .collect();
                Ok(vec![StocktakeEvent::Submitted(StocktakeSubmitted {
                    by: meta.actor.clone(),
                    differences,
                })])
            }
            StocktakeCommand::Approve { id, losses } => {
                expect(S::Submitted)?;
                let submitter = self.submitted_by.clone().unwrap_or_default();
                if submitter == meta.actor {
                    return Err(R::SelfApproval(submitter));
                }
                for (i, loss) in losses.iter().enumerate() {
                    let is_loss =
                        self.differences.iter().any(|d| d.line == loss.line && d.delta < Decimal::ZERO);
                    let repeated = losses[..i].iter().any(|earlier| earlier.line == loss.line);
                    if !is_loss || repeated || !loss.treatment.is_valid() {
                        return Err(R::InvalidLossTreatment(loss.line));
                    }
                }
                let mut events = vec![StocktakeEvent::Approved(StocktakeApproved {
                    id: *id,
                    by: meta.actor.clone(),
                    warehouse: self.warehouse.expect("opened"),
                    differences: self.differences.clone(),
                    losses: losses.clone(),
                })];
                if self.differences.is_empty() {
                    events.push(StocktakeEvent::Completed(StocktakeCompleted { id: *id }));
                }
                Ok(events)
            }
            StocktakeCommand::Reject { reason, .. } => {
                expect(S::Submitted)?;
                Ok(vec![StocktakeEvent::Rejected(StocktakeRejected {
                    by: meta.actor.clone(),
                    reason: reason.clone(),
                })])
            }
            StocktakeCommand::RecordPosted { id, line } => {
                expect(S::Approved)?;
                let differs = self.differences.iter().any(|d| d.line == *line);
                if !differs || self.posted.contains(line) {
                    return Err(R::NothingToPost(*line));
                }
                let mut events = vec![StocktakeEvent::LinePosted(StocktakeLinePosted { line: *line })];
                if self.posted.len() + 1 == self.differences.len() {
                    events.push(StocktakeEvent::Completed(StocktakeCompleted { id: *id }));
                }
                Ok(events)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::CostingMethod;
    use uuid::Uuid;

    fn meta(actor: &str) -> CommandMeta {
        crate::testing::meta(actor)
    }

    fn id() -> StocktakeId {
        StocktakeId(Uuid::from_u128(7))
    }

    fn line(item: u128, book: i64) -> StocktakeLine {
        StocktakeLine {
            item: ItemId(Uuid::from_u128(item)),
            book_qty: Decimal::from(book),
            policy: StockPolicy {
                costing: CostingMethod::MovingAverage,
                safety_stock: Decimal::ZERO,
                allow_negative: false,
            },
            unit_cost: None,
        }
    }

    /// Applies `(actor, command)` pairs, each of which must be accepted; returns the state.
    fn given(steps: &[(&str, StocktakeCommand)]) -> Stocktake {
        let steps: Vec<_> = steps.iter().map(|(actor, command)| (meta(actor), command.clone())).collect();
        crate::testing::given::<Stocktake>(&steps).state
    }

    fn rejected(state: &Stocktake, actor: &str, command: StocktakeCommand) -> &'static str {
        state.decide(&command, &meta(actor)).expect_err("rejected").code()
    }

    fn counted_and_submitted() -> Vec<(&'static str, StocktakeCommand)> {
        vec![
            (
                "li",
                StocktakeCommand::Open {
                    id: id(),
                    warehouse: WarehouseId(Uuid::from_u128(3)),
                    lines: vec![line(1, 10), line(2, 5), line(3, 4)],
                },
            ),
            ("li", StocktakeCommand::Count { id: id(), line: 0, counted: Decimal::from(9) }),
            ("li", StocktakeCommand::Count { id: id(), line: 1, counted: Decimal::from(5) }),
            ("li", StocktakeCommand::Count { id: id(), line: 2, counted: Decimal::from(6) }),
            ("li", StocktakeCommand::Submit { id: id() }),
        ]
    }

    #[test]
    fn submitting_fixes_the_differences_between_counts_and_books() {
        let state = given(&counted_and_submitted());
        let deltas: Vec<_> = state.differences.iter().map(|d| (d.line, d.delta)).collect();
        assert_eq!(deltas, vec![(0, Decimal::from(-1)), (2, Decimal::from(2))]);
    }

    #[test]
    fn a_stocktake_cannot_be_submitted_until_every_line_is_counted() {
        let steps = &counted_and_submitted()[..3];
        assert_eq!(
            rejected(&given(steps), "li", StocktakeCommand::Submit { id: id() }),
            "stocktake.not_all_counted"
        );
    }

    #[test]
    fn the_submitter_cannot_approve_their_own_stocktake() {
        let state = given(&counted_and_submitted());
        assert_eq!(
            rejected(&state, "li", StocktakeCommand::Approve { id: id(), losses: Vec::new() }),
            "stocktake.self_approval"
        );
        let approved =
            state.decide(&StocktakeCommand::Approve { id: id(), losses: Vec::new() }, &meta("wang")).unwrap();
        let StocktakeEvent::Approved(a) = &approved[0] else { panic!() };
        assert_eq!(a.differences.len(), 2, "the approval carries what the posting needs");
    }

    #[test]
    fn posting_every_difference_completes_the_stocktake_and_a_line_posts_once() {
        let mut steps = counted_and_submitted();
        steps.push(("wang", StocktakeCommand::Approve { id: id(), losses: Vec::new() }));
        steps.push(("pm", StocktakeCommand::RecordPosted { id: id(), line: 0 }));
        let state = given(&steps);
        assert_eq!(
            rejected(&state, "pm", StocktakeCommand::RecordPosted { id: id(), line: 0 }),
            "stocktake.nothing_to_post"
        );
        assert_eq!(
            rejected(&state, "pm", StocktakeCommand::RecordPosted { id: id(), line: 1 }),
            "stocktake.nothing_to_post"
        );
        let last = state.decide(&StocktakeCommand::RecordPosted { id: id(), line: 2 }, &meta("pm")).unwrap();
        assert!(matches!(last.last(), Some(StocktakeEvent::Completed(_))));
    }

    #[test]
    fn a_stocktake_without_differences_completes_on_approval() {
        let steps = vec![
            (
                "li",
                StocktakeCommand::Open {
                    id: id(),
                    warehouse: WarehouseId(Uuid::from_u128(3)),
                    lines: vec![line(1, 10)],
                },
            ),
            ("li", StocktakeCommand::Count { id: id(), line: 0, counted: Decimal::from(10) }),
            ("li", StocktakeCommand::Submit { id: id() }),
            ("wang", StocktakeCommand::Approve { id: id(), losses: Vec::new() }),
        ];
        assert_eq!(given(&steps).status, StocktakeStatus::Completed);
    }

    #[test]
    fn counts_are_checked_and_only_accepted_while_counting() {
        let open = given(&counted_and_submitted()[..1]);
        assert_eq!(
            rejected(&open, "li", StocktakeCommand::Count { id: id(), line: 9, counted: Decimal::ONE }),
            "stocktake.unknown_line"
        );
        assert_eq!(
            rejected(
                &open,
                "li",
                StocktakeCommand::Count { id: id(), line: 0, counted: Decimal::NEGATIVE_ONE }
            ),
            "stocktake.negative_count"
        );
        let submitted = given(&counted_and_submitted());
        assert_eq!(
            rejected(&submitted, "li", StocktakeCommand::Count { id: id(), line: 0, counted: Decimal::ONE }),
            "stocktake.wrong_status"
        );
        assert_eq!(
            rejected(&Stocktake::default(), "li", StocktakeCommand::Submit { id: id() }),
            "stocktake.not_found"
        );
    }

    #[test]
    fn a_stocktake_needs_distinct_items_and_cannot_be_opened_twice() {
        let twice = StocktakeCommand::Open {
            id: id(),
            warehouse: WarehouseId(Uuid::from_u128(3)),
            lines: vec![line(1, 1), line(1, 2)],
        };
        assert_eq!(rejected(&Stocktake::default(), "li", twice), "stocktake.invalid_lines");
        let empty =
            StocktakeCommand::Open { id: id(), warehouse: WarehouseId(Uuid::from_u128(3)), lines: vec![] };
        assert_eq!(rejected(&Stocktake::default(), "li", empty.clone()), "stocktake.invalid_lines");
        let open = given(&counted_and_submitted()[..1]);
        assert_eq!(rejected(&open, "li", empty), "stocktake.already_exists");
    }

    #[test]
    fn a_rejected_stocktake_cannot_be_approved() {
        let mut steps = counted_and_submitted();
        steps.push(("wang", StocktakeCommand::Reject { id: id(), reason: "recount aisle 3".into() }));
        assert_eq!(
            rejected(&given(&steps), "zhao", StocktakeCommand::Approve { id: id(), losses: Vec::new() }),
            "stocktake.wrong_status"
        );
    }
}

//! DepartmentBudget (部门采购预算): what a department may spend on purchases in one month, and what its
//! purchase orders have committed against it.
//!
//! The automatic budget check of a purchase order is a commitment here, made before the order is placed
//! (command-api `purchasing::place_purchase_order`): the budget decides whether the order fits what is
//! left, records the commitment either way, and the order is placed with that answer. Because the
//! commitments of one department and month are one stream, two orders placed at the same moment cannot
//! both spend the last of the budget. An order's commitment is set again when the order is amended or its
//! remainder cancelled (its amount is then what is still to come plus what came).
//!
//! Department codes are chosen by each book (company), so two books sharing a log may both have a
//! `PUR`: the budget's stream carries the book (ADR 0014), which travels in the command; the stored
//! events are unchanged (their envelope names the book).
//!
//! A month without a budget set is unbudgeted: orders commit against it (so spending shows) but are never
//! over budget. Setting a budget needs the finance role.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection, Role};
use crate::ids::{BookId, PurchaseOrderId};
use crate::time::Period;
use crate::values::{Code, DOCUMENT_AMOUNT_MAX};

#[derive(Clone, Debug, PartialEq)]
pub enum BudgetCommand {
    /// Finance sets (or changes) the month's budget. `book` (the command's `CommandMeta::book`) names
    /// the stream only.
    Set { book: BookId, department: Code, period: Period, amount: Decimal },
    /// A purchase order's commitment becomes `amount` (net of VAT): placed, amended, or cut back.
    Commit { book: BookId, department: Code, period: Period, order: PurchaseOrderId, amount: Decimal },
}

impl BudgetCommand {
    fn key(&self) -> (BookId, &Code, Period) {
        match self {
            BudgetCommand::Set { book, department, period, .. }
            | BudgetCommand::Commit { book, department, period, .. } => (*book, department, *period),
        }
    }
}

/// The stream of a department's budget for a month in `book`: the one place its name is made.
pub fn budget_stream(book: BookId, department: &Code, period: Period) -> String {
    format!("budget-{}-{}-{period}", book.0, department.as_str())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetSet {
    pub department: String,
    pub period: Period,
    pub amount: Decimal,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetCommitted {
    pub department: String,
    pub period: Period,
    pub order: PurchaseOrderId,
    /// The order's commitment now, and before this event (0 for a new order).
    pub amount: Decimal,
    pub previous: Decimal,
    /// What was left for this order: the budget less every other order's commitment (unbounded when the
    /// month is unbudgeted, written as `None`).
    pub remaining_before: Option<Decimal>,
    /// The commitment is more than what was left.
    pub over_budget: bool,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum BudgetEvent {
        Set(BudgetSet) = "purchasing.BudgetSet" v 1,
        Committed(BudgetCommitted) = "purchasing.BudgetCommitted" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetRejection {
    #[error("setting a budget needs the finance role")]
    NotAllowed,
    #[error("a budget or a commitment is zero or positive with at most two decimals, below 10^15")]
    InvalidAmount,
}

impl Rejection for BudgetRejection {
    fn code(&self) -> &'static str {
        match self {
            BudgetRejection::NotAllowed => "budget.not_allowed",
            BudgetRejection::InvalidAmount => "budget.invalid_amount",
        }
    }
}

fn valid_amount(amount: Decimal) -> bool {
    amount >= Decimal::ZERO && amount.scale() <= 2 && amount < DOCUMENT_AMOUNT_MAX
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DepartmentBudget {
    /// `None` until finance sets a budget for the month.
    pub amount: Option<Decimal>,
    /// Each order's current commitment, as recorded (amount, what was left for it, over budget or not).
    pub decisions: BTreeMap<PurchaseOrderId, BudgetCommitted>,
    pub committed: Decimal,
}

impl DepartmentBudget {
    /// What is left for new commitments (`None`: unbudgeted).
    pub fn remaining(&self) -> Option<Decimal> {
        self.amount.map(|amount| amount - self.committed)
    }
}

impl Aggregate for DepartmentBudget {
    type Command = BudgetCommand;
    type Event = BudgetEvent;
    type Rejection = BudgetRejection;

    fn stream_id(command: &BudgetCommand) -> String {
        let (book, department, period) = command.key();
        budget_stream(book, department, period)
    }

    fn evolve(&mut self, event: &BudgetEvent) {
        match event {
            BudgetEvent::Set(e) => self.amount = Some(e.amount),
            BudgetEvent::Committed(e) => {
                self.committed += e.amount - e.previous;
                self.decisions.insert(e.order, e.clone());
            }
        }
        assert_eq!(
            self.committed,
            self.decisions.values().map(|d| d.amount).sum::<Decimal>(),
            "commitments add up"
        );
    }

    fn decide(
        &self,
        command: &BudgetCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<BudgetEvent>, BudgetRejection> {
        match command {
            BudgetCommand::Set { department, period, amount, .. } => {
                if !meta.has_role(Role::Finance) {
                    return Err(BudgetRejection::NotAllowed);
                }
                if !valid_amount(*amount) {
                    return Err(BudgetRejection::InvalidAmount);
                }
                if self.amount == Some(*amount) {
                    return Ok(Vec::new());
                }
                Ok(vec![BudgetEvent::Set(BudgetSet {
                    department: department.as_str().to_string(),
                    period: *period,
                    amount: *amount,
                    by: meta.actor.clone(),
                })])
            }
            BudgetCommand::Commit { department, period, order, amount, .. } => {
                if !valid_amount(*amount) {
                    return Err(BudgetRejection::InvalidAmount);
                }
                let previous = self.decisions.get(order).map_or(Decimal::ZERO, |d| d.amount);
                if self.decisions.contains_key(order) && previous == *amount {
                    return Ok(Vec::new());
                }
                let remaining_before = self.remaining().map(|left| left + previous);
                Ok(vec![BudgetEvent::Committed(BudgetCommitted {
                    department: department.as_str().to_string(),
                    period: *period,
                    order: *order,
                    amount: *amount,
                    previous,
                    remaining_before,
                    over_budget: remaining_before.is_some_and(|left| *amount > left),
                })])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::testing::{Given, given, given_by, meta, meta_with};

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn dept() -> Code {
        Code::new("department", "采购部").unwrap()
    }

    fn book(n: u128) -> BookId {
        BookId(Uuid::from_u128(n))
    }

    fn period() -> Period {
        Period::new(2026, 11).unwrap()
    }

    fn set(amount: &str) -> BudgetCommand {
        BudgetCommand::Set { book: book(1), department: dept(), period: period(), amount: d(amount) }
    }

    fn commit(order: u128, amount: &str) -> BudgetCommand {
        BudgetCommand::Commit {
            book: book(1),
            department: dept(),
            period: period(),
            order: PurchaseOrderId(Uuid::from_u128(order)),
            amount: d(amount),
        }
    }

    fn committed(events: &[BudgetEvent]) -> &BudgetCommitted {
        let [BudgetEvent::Committed(c)] = events else { panic!("{events:?}") };
        c
    }

    #[test]
    fn only_finance_sets_a_budget_and_amounts_are_checked() {
        let clerk = DepartmentBudget::default().decide(&set("1000"), &meta("li")).unwrap_err();
        assert_eq!(clerk.code(), "budget.not_allowed");
        let finance = finance();
        assert_eq!(
            DepartmentBudget::default().decide(&set("-1"), &finance).unwrap_err().code(),
            "budget.invalid_amount"
        );
        assert_eq!(
            DepartmentBudget::default().decide(&set("1.001"), &finance).unwrap_err().code(),
            "budget.invalid_amount"
        );
        assert_eq!(
            DepartmentBudget::default().decide(&commit(1, "-5"), &meta("p")).unwrap_err().code(),
            "budget.invalid_amount"
        );
        let events = DepartmentBudget::default().decide(&set("1000"), &finance).unwrap();
        assert!(matches!(&events[..], [BudgetEvent::Set(s)] if s.amount == d("1000") && s.by == "zhao"));
    }

    fn finance() -> CommandMeta {
        meta_with("zhao", &[Role::Finance])
    }

    #[test]
    fn orders_commit_against_what_is_left_and_the_one_that_does_not_fit_is_over_budget() {
        let given: Given<DepartmentBudget> =
            given(&[(finance(), set("1000")), (meta("p"), commit(1, "600")), (meta("p"), commit(2, "300"))]);
        assert_eq!(given.state.remaining(), Some(d("100")));
        let fits = given.when(&meta("p"), &commit(3, "100"));
        assert!(!committed(fits.events()).over_budget);
        let outcome = given.when(&meta("p"), &commit(3, "100.01"));
        let third = committed(outcome.events());
        assert!(third.over_budget, "recorded, and over budget");
        assert_eq!(third.remaining_before, Some(d("100")));
        assert_eq!(outcome.after.remaining(), Some(d("-0.01")));
    }

    #[test]
    fn amending_an_order_replaces_its_commitment_and_the_same_amount_again_changes_nothing() {
        let given: Given<DepartmentBudget> =
            given(&[(finance(), set("1000")), (meta("p"), commit(1, "900"))]);
        // Raised to 1,000: what was left for this order is its own 900 plus the 100 free.
        let raised = given.when(&meta("p"), &commit(1, "1000"));
        let event = committed(raised.events());
        assert_eq!(
            (event.previous, event.remaining_before, event.over_budget),
            (d("900"), Some(d("1000")), false)
        );
        assert_eq!(raised.after.remaining(), Some(d("0")));
        assert_eq!(raised.after.decide(&commit(1, "1000"), &meta("p")).unwrap(), vec![]);
        // Cut back after a cancelled remainder: budget comes free again.
        let cut = given.when(&meta("p"), &commit(1, "250"));
        assert_eq!(cut.after.remaining(), Some(d("750")));
    }

    #[test]
    fn an_unbudgeted_month_records_commitments_but_is_never_over_budget() {
        let state = given_by::<DepartmentBudget>("p", &[commit(1, "5000000")]).state;
        assert_eq!(state.committed, d("5000000"));
        let events = state.decide(&commit(2, "1"), &meta("p")).unwrap();
        assert_eq!((committed(&events).remaining_before, committed(&events).over_budget), (None, false));
    }

    #[test]
    fn each_book_department_and_month_is_its_own_stream() {
        assert_eq!(
            DepartmentBudget::stream_id(&set("1")),
            "budget-00000000-0000-0000-0000-000000000001-采购部-2026-11"
        );
        let other_book =
            BudgetCommand::Set { book: book(2), department: dept(), period: period(), amount: d("1") };
        assert_ne!(DepartmentBudget::stream_id(&other_book), DepartmentBudget::stream_id(&set("1")));
        let next_month = BudgetCommand::Set {
            book: book(1),
            department: dept(),
            period: Period::new(2026, 12).unwrap(),
            amount: d("1"),
        };
        assert_ne!(DepartmentBudget::stream_id(&next_month), DepartmentBudget::stream_id(&set("1")));
    }
}

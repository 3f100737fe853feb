//! Bank statements (银行对账单): imported lines matched to the receipts and payments the books already hold
//! (银行对账). Automatic matching pairs a line with the one receipt or payment of the same signed amount,
//! the same counterparty and a date within three days; anything ambiguous or unknown stays unmatched for
//! a person, who matches it by hand or unmatches a wrong pair.
//!
//! Matching records a fact; it books nothing: the receipt or payment already has its voucher.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection, Role};
use crate::ids::{BookId, CustomerReceiptId, SupplierPaymentId};
use crate::time::Timestamp;

/// Most lines in one statement.
pub const STATEMENT_LINES_MAX: usize = 10_000;
/// How far apart the bank's date and the books' date may be for an automatic match.
pub const MATCH_WINDOW_DAYS: i64 = 3;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    pub date: Timestamp,
    /// Money in positive, money out negative.
    pub amount: Decimal,
    pub counterparty: String,
    pub reference: String,
}

/// What a statement line is matched to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MatchTarget {
    CustomerReceipt(CustomerReceiptId),
    SupplierPayment(SupplierPaymentId),
}

/// A receipt or payment in the books that a line could be matched to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub target: MatchTarget,
    /// Signed as on a statement: receipts positive, payments negative.
    pub amount: Decimal,
    pub date: Timestamp,
    pub counterparty: String,
}

fn same_name(a: &str, b: &str) -> bool {
    let normal =
        |s: &str| s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect::<String>();
    normal(a) == normal(b)
}

/// The automatic matches of `lines` (index, target) among `candidates`: a line is matched only when
/// exactly one unused candidate has its amount and counterparty within the date window, and a candidate
/// only when exactly one line could take it.
pub fn auto_match(lines: &[StatementLine], candidates: &[Candidate]) -> Vec<(u32, MatchTarget)> {
    let window = MATCH_WINDOW_DAYS * 86_400_000_000;
    let fits = |line: &StatementLine, c: &Candidate| {
        c.amount == line.amount
            && (c.date.0 - line.date.0).abs() <= window
            && same_name(&c.counterparty, &line.counterparty)
    };
    let mut matches = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let fitting: Vec<&Candidate> = candidates.iter().filter(|c| fits(line, c)).collect();
        let [only] = fitting.as_slice() else { continue };
        let takers = lines.iter().filter(|other| fits(other, only)).count();
        if takers == 1 {
            matches.push((i as u32, only.target));
        }
    }
    matches
}

#[derive(Clone, Debug, PartialEq)]
pub enum StatementCommand {
    Import {
        id: Uuid,
        book: BookId,
        account: String,
        lines: Vec<StatementLine>,
    },
    /// `amount` is the target's signed amount as the books hold it (a fact read at the edge).
    Match {
        id: Uuid,
        line: u32,
        target: MatchTarget,
        amount: Decimal,
        automatic: bool,
    },
    Unmatch {
        id: Uuid,
        line: u32,
    },
}

impl StatementCommand {
    fn id(&self) -> Uuid {
        match self {
            StatementCommand::Import { id, .. }
            | StatementCommand::Match { id, .. }
            | StatementCommand::Unmatch { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementImported {
    pub id: Uuid,
    pub book: BookId,
    pub account: String,
    pub lines: Vec<StatementLine>,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLineMatched {
    pub line: u32,
    pub target: MatchTarget,
    pub automatic: bool,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLineUnmatched {
    pub line: u32,
    pub target: MatchTarget,
    pub by: String,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum StatementEvent {
        Imported(StatementImported) = "finance.BankStatementImported" v 1,
        Matched(StatementLineMatched) = "finance.BankStatementLineMatched" v 1,
        Unmatched(StatementLineUnmatched) = "finance.BankStatementLineUnmatched" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementRejection {
    #[error("the statement was imported already")]
    AlreadyImported,
    #[error("the statement does not exist")]
    NotFound,
    #[error("bank statements need the finance role")]
    NotAllowed,
    #[error("a statement has 1 to {STATEMENT_LINES_MAX} lines")]
    InvalidLines,
    #[error("line {line}: {reason}")]
    InvalidLine { line: usize, reason: &'static str },
    #[error("line {0} does not exist")]
    UnknownLine(u32),
    #[error("line {0} is matched already; unmatch it first")]
    AlreadyMatched(u32),
    #[error("line {0} is not matched")]
    NotMatched(u32),
    #[error("line {line} is {line_amount}, the receipt or payment is {target_amount}")]
    AmountMismatch { line: u32, line_amount: Decimal, target_amount: Decimal },
    #[error("that receipt or payment is matched to line {0} already")]
    TargetTaken(u32),
}

impl Rejection for StatementRejection {
    fn code(&self) -> &'static str {
        match self {
            StatementRejection::AlreadyImported => "bank.already_imported",
            StatementRejection::NotFound => "bank.not_found",
            StatementRejection::NotAllowed => "bank.not_allowed",
            StatementRejection::InvalidLines => "bank.invalid_lines",
            StatementRejection::InvalidLine { .. } => "bank.invalid_line",
            StatementRejection::UnknownLine(_) => "bank.unknown_line",
            StatementRejection::AlreadyMatched(_) => "bank.already_matched",
            StatementRejection::NotMatched(_) => "bank.not_matched",
            StatementRejection::AmountMismatch { .. } => "bank.amount_mismatch",
            StatementRejection::TargetTaken(_) => "bank.target_taken",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct BankStatement {
    pub imported: Option<StatementImported>,
    /// Per line, what it is matched to.
    pub matches: Vec<Option<MatchTarget>>,
}

impl BankStatement {
    /// The stream of the bank statement `id`: the one place its name is made.
    pub fn stream(id: Uuid) -> String {
        format!("bank-statement-{id}")
    }

    /// The lines no receipt or payment accounts for yet.
    pub fn unmatched(&self) -> Vec<u32> {
        self.matches.iter().enumerate().filter(|(_, m)| m.is_none()).map(|(i, _)| i as u32).collect()
    }
}

impl Aggregate for BankStatement {
    type Command = StatementCommand;
    type Event = StatementEvent;
    type Rejection = StatementRejection;

    fn stream_id(command: &StatementCommand) -> String {
        BankStatement::stream(command.id())
    }

    fn evolve(&mut self, event: &StatementEvent) {
        match event {
            StatementEvent::Imported(e) => {
                self.matches = vec![None; e.lines.len()];
                self.imported = Some(e.clone());
            }
            StatementEvent::Matched(e) => self.matches[e.line as usize] = Some(e.target),
            StatementEvent::Unmatched(e) => self.matches[e.line as usize] = None,
        }
    }

    fn decide(
        &self,
        command: &StatementCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<StatementEvent>, StatementRejection> {
        use StatementRejection as R;
        if !meta.has_role(Role::Finance) {
            return Err(R::NotAllowed);
        }
        match command {
            StatementCommand::Import { id, book, account, lines } => {
                if self.imported.is_some() {
                    return Err(R::AlreadyImported);
                }
                if lines.is_empty() || lines.len() > STATEMENT_LINES_MAX {
                    return Err(R::InvalidLines);
                }
                for (line, l) in lines.iter().enumerate() {
                    if l.amount.is_zero() || l.amount.scale() > 2 {
                        return Err(R::InvalidLine { line, reason: "an amount is not zero and in cents" });
                    }
                    if l.counterparty.chars().count() > 200 || l.reference.chars().count() > 200 {
                        return Err(R::InvalidLine {
                            line,
                            reason: "a counterparty or reference is at most 200 characters",
                        });
                    }
                }
                Ok(vec![StatementEvent::Imported(StatementImported {
                    id: *id,
                    book: *book,
                    account: account.clone(),
                    lines: lines.clone(),
                    by: meta.actor.clone(),
                })])
            }
            StatementCommand::Match { line, target, amount, automatic, .. } => {
                let imported = self.imported.as_ref().ok_or(R::NotFound)?;
                let l = imported.lines.get(*line as usize).ok_or(R::UnknownLine(*line))?;
                match self.matches[*line as usize] {
                    Some(existing) if existing == *target => return Ok(Vec::new()),
                    Some(_) => return Err(R::AlreadyMatched(*line)),
                    None => {}
                }
                if let Some(other) = self.matches.iter().position(|m| *m == Some(*target)) {
                    return Err(R::TargetTaken(other as u32));
                }
                if l.amount != *amount {
                    return Err(R::AmountMismatch {
                        line: *line,
                        line_amount: l.amount,
                        target_amount: *amount,
                    });
                }
                Ok(vec![StatementEvent::Matched(StatementLineMatched {
                    line: *line,
                    target: *target,
                    automatic: *automatic,
                    by: meta.actor.clone(),
                })])
            }
            StatementCommand::Unmatch { line, .. } => {
                self.imported.as_ref().ok_or(R::NotFound)?;
                let target = self
                    .matches
                    .get(*line as usize)
                    .ok_or(R::UnknownLine(*line))?
                    .ok_or(R::NotMatched(*line))?;
                Ok(vec![StatementEvent::Unmatched(StatementLineUnmatched {
                    line: *line,
                    target,
                    by: meta.actor.clone(),
                })])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Given, given, meta, meta_with};

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn day(n: i64) -> Timestamp {
        Timestamp(1_794_000_000_000_000 + n * 86_400_000_000)
    }

    fn line(day_n: i64, amount: &str, who: &str) -> StatementLine {
        StatementLine {
            date: day(day_n),
            amount: d(amount),
            counterparty: who.into(),
            reference: String::new(),
        }
    }

    fn receipt(n: u128) -> MatchTarget {
        MatchTarget::CustomerReceipt(CustomerReceiptId(Uuid::from_u128(n)))
    }

    fn candidate(n: u128, amount: &str, day_n: i64, who: &str) -> Candidate {
        Candidate { target: receipt(n), amount: d(amount), date: day(day_n), counterparty: who.into() }
    }

    #[test]
    fn a_line_is_matched_automatically_only_to_the_one_receipt_of_its_amount_counterparty_and_dates() {
        let lines = vec![
            line(10, "1000.00", "华东贸易"),
            line(10, "500.00", "华东 贸易"),
            line(10, "500.00", "华东贸易"),
            line(10, "77.00", "华北商行"),
            line(20, "-3000.00", "义乌供应商"),
        ];
        let candidates = vec![
            candidate(1, "1000.00", 12, "华东贸易"), // two days apart: fits
            candidate(2, "500.00", 10, "华东贸易"),  // two lines could take it: left for a person
            candidate(3, "77.00", 20, "华北商行"),   // ten days apart: no
            Candidate {
                target: MatchTarget::SupplierPayment(SupplierPaymentId(Uuid::from_u128(4))),
                amount: d("-3000.00"),
                date: day(19),
                counterparty: "义乌供应商".into(),
            },
        ];
        let matches = auto_match(&lines, &candidates);
        assert_eq!(
            matches,
            vec![(0, receipt(1)), (4, MatchTarget::SupplierPayment(SupplierPaymentId(Uuid::from_u128(4))))]
        );
    }

    #[test]
    fn matching_checks_the_amount_and_keeps_each_line_and_target_to_one_pair_until_unmatched() {
        let id = Uuid::from_u128(1);
        let finance = meta_with("zhao", &[Role::Finance]);
        let import = StatementCommand::Import {
            id,
            book: BookId(Uuid::from_u128(1)),
            account: "1002".into(),
            lines: vec![line(1, "100.00", "甲"), line(2, "100.00", "甲")],
        };
        assert_eq!(
            BankStatement::default().decide(&import, &meta("li")).unwrap_err().code(),
            "bank.not_allowed"
        );
        let statement: Given<BankStatement> = given(&[(finance.clone(), import)]);
        let matching = |line, target, amount: &str| StatementCommand::Match {
            id,
            line,
            target,
            amount: d(amount),
            automatic: false,
        };
        assert_eq!(
            statement.when(&finance, &matching(0, receipt(7), "99.99")).result.unwrap_err().code(),
            "bank.amount_mismatch"
        );
        assert_eq!(
            statement.when(&finance, &matching(5, receipt(7), "100.00")).result.unwrap_err().code(),
            "bank.unknown_line"
        );
        let matched = statement.when(&finance, &matching(0, receipt(7), "100.00"));
        assert_eq!(matched.after.unmatched(), vec![1]);
        assert_eq!(
            matched.after.decide(&matching(1, receipt(7), "100.00"), &finance).unwrap_err().code(),
            "bank.target_taken"
        );
        assert_eq!(
            matched.after.decide(&matching(0, receipt(8), "100.00"), &finance).unwrap_err().code(),
            "bank.already_matched"
        );
        let mut after = matched.after.clone();
        for event in after.decide(&StatementCommand::Unmatch { id, line: 0 }, &finance).unwrap() {
            after.evolve(&event);
        }
        assert_eq!(after.unmatched(), vec![0, 1]);
    }
}

//! PeriodJournal (日记账 of one book and month): the ledger entries of the month's posted vouchers, their
//! gapless numbers per voucher word, and whether the month is closed.
//!
//! One stream per book and month (`journal-{book}-{YYYY-MM}`): posting and closing a month are decided on
//! the same stream, so no voucher can slip into a month after it closed, and numbers are given in the
//! order postings are decided, one after the other, without gaps. Business commands never touch it: only
//! posting does, so the allocator is off their path. The posted event carries the voucher's lines: the
//! journal alone is the general ledger, and the trial balance is a fold over it.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::voucher::{VoucherLine, VoucherLineV1, VoucherRejection, VoucherSource, VoucherWord, check_lines};
use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection, Role};
use crate::ids::{BookId, VoucherId};
use crate::time::{Period, Timestamp};

#[derive(Clone, Debug, PartialEq)]
pub enum JournalCommand {
    Post {
        book: BookId,
        period: Period,
        voucher: VoucherId,
        word: VoucherWord,
        date: Timestamp,
        lines: Vec<VoucherLine>,
        source: Option<VoucherSource>,
        reverses: Option<VoucherId>,
    },
    /// 结账. `previous_closed`: the month before is closed, or this is the book's first month (a fact).
    /// `unposted`: vouchers of the month drafted and not posted (nor discarded): a fact; they block the close.
    Close { book: BookId, period: Period, previous_closed: bool, unposted: Vec<VoucherId> },
    /// 反结账, by an admin with a reason. `next_closed`: the month after is closed (a fact).
    Reopen { book: BookId, period: Period, reason: String, next_closed: bool },
}

impl JournalCommand {
    fn key(&self) -> (BookId, Period) {
        match self {
            JournalCommand::Post { book, period, .. }
            | JournalCommand::Close { book, period, .. }
            | JournalCommand::Reopen { book, period, .. } => (*book, *period),
        }
    }
}

/// A voucher entered in the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherPosted {
    pub book: BookId,
    pub period: Period,
    pub voucher: VoucherId,
    pub word: VoucherWord,
    /// Gapless per book, period and word, from 1.
    pub number: u32,
    pub date: Timestamp,
    pub lines: Vec<VoucherLine>,
    pub source: Option<VoucherSource>,
    pub reverses: Option<VoucherId>,
    pub by: String,
}

/// `VoucherPosted` v1: its lines had no department.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherPostedV1 {
    pub book: BookId,
    pub period: Period,
    pub voucher: VoucherId,
    pub word: VoucherWord,
    pub number: u32,
    pub date: Timestamp,
    pub lines: Vec<VoucherLineV1>,
    pub source: Option<VoucherSource>,
    pub reverses: Option<VoucherId>,
    pub by: String,
}

impl From<VoucherPostedV1> for VoucherPosted {
    fn from(v1: VoucherPostedV1) -> Self {
        VoucherPosted {
            book: v1.book,
            period: v1.period,
            voucher: v1.voucher,
            word: v1.word,
            number: v1.number,
            date: v1.date,
            lines: v1.lines.into_iter().map(VoucherLine::from).collect(),
            source: v1.source,
            reverses: v1.reverses,
            by: v1.by,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodClosed {
    pub book: BookId,
    pub period: Period,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodReopened {
    pub book: BookId,
    pub period: Period,
    pub by: String,
    pub reason: String,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum JournalEvent {
        Posted(VoucherPosted) = "finance.VoucherPosted" v 2 upcast [1 => VoucherPostedV1],
        Closed(PeriodClosed) = "finance.PeriodClosed" v 1,
        Reopened(PeriodReopened) = "finance.PeriodReopened" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalRejection {
    #[error("the period is closed: nothing can be posted into it")]
    Closed,
    #[error("the period is already closed")]
    AlreadyClosed,
    #[error("the period is open")]
    NotClosed,
    #[error("the month before is still open; close it first")]
    PreviousOpen,
    #[error("the month after is closed; reopen it first")]
    NextClosed,
    #[error("{0} vouchers of the month are not posted; post or discard them first")]
    UnpostedVouchers(usize),
    #[error("closing needs the finance role, reopening the admin role")]
    NotAllowed,
    #[error("a reason is 1 to 500 characters")]
    InvalidReason,
    #[error("{0}")]
    Voucher(VoucherRejection),
}

impl Rejection for JournalRejection {
    fn code(&self) -> &'static str {
        match self {
            JournalRejection::Closed => "period.closed",
            JournalRejection::AlreadyClosed => "period.already_closed",
            JournalRejection::NotClosed => "period.not_closed",
            JournalRejection::PreviousOpen => "period.previous_open",
            JournalRejection::NextClosed => "period.next_closed",
            JournalRejection::UnpostedVouchers(_) => "period.unposted_vouchers",
            JournalRejection::NotAllowed => "period.not_allowed",
            JournalRejection::InvalidReason => "period.invalid_reason",
            JournalRejection::Voucher(v) => v.code(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PeriodJournal {
    pub closed: bool,
    /// The last number given per word.
    pub numbers: BTreeMap<VoucherWord, u32>,
    /// Every posted voucher with its word and number.
    pub posted: BTreeMap<VoucherId, (VoucherWord, u32)>,
    /// The month's movement per account code: (debits, credits).
    pub totals: BTreeMap<String, (Decimal, Decimal)>,
}

impl PeriodJournal {
    /// The month's net movement of an account, debits positive.
    pub fn net(&self, code: &str) -> Decimal {
        self.totals.get(code).map_or(Decimal::ZERO, |(debit, credit)| debit - credit)
    }
}

impl Aggregate for PeriodJournal {
    type Command = JournalCommand;
    type Event = JournalEvent;
    type Rejection = JournalRejection;

    fn stream_id(command: &JournalCommand) -> String {
        let (book, period) = command.key();
        format!("journal-{}-{period}", book.0)
    }

    fn evolve(&mut self, event: &JournalEvent) {
        match event {
            JournalEvent::Posted(e) => {
                let last = self.numbers.entry(e.word).or_insert(0);
                assert_eq!(e.number, *last + 1, "voucher numbers are gapless");
                *last = e.number;
                self.posted.insert(e.voucher, (e.word, e.number));
                for line in &e.lines {
                    let total = self.totals.entry(line.account.clone()).or_default();
                    total.0 += line.debit;
                    total.1 += line.credit;
                }
            }
            JournalEvent::Closed(_) => self.closed = true,
            JournalEvent::Reopened(_) => self.closed = false,
        }
    }

    fn decide(
        &self,
        command: &JournalCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<JournalEvent>, JournalRejection> {
        use JournalRejection as R;
        match command {
            JournalCommand::Post { book, period, voucher, word, date, lines, source, reverses } => {
                if self.posted.contains_key(voucher) {
                    // Posted before (a retried posting): the number stands.
                    return Ok(Vec::new());
                }
                if self.closed {
                    return Err(R::Closed);
                }
                check_lines(lines, reverses.is_some() || source.is_some()).map_err(R::Voucher)?;
                let number = self.numbers.get(word).copied().unwrap_or(0) + 1;
                Ok(vec![JournalEvent::Posted(VoucherPosted {
                    book: *book,
                    period: *period,
                    voucher: *voucher,
                    word: *word,
                    number,
                    date: *date,
                    lines: lines.clone(),
                    source: source.clone(),
                    reverses: *reverses,
                    by: meta.actor.clone(),
                })])
            }
            JournalCommand::Close { book, period, previous_closed, unposted } => {
                if !meta.has_role(Role::Finance) {
                    return Err(R::NotAllowed);
                }
                if self.closed {
                    return Err(R::AlreadyClosed);
                }
                if !previous_closed {
                    return Err(R::PreviousOpen);
                }
                if !unposted.is_empty() {
                    return Err(R::UnpostedVouchers(unposted.len()));
                }
                Ok(vec![JournalEvent::Closed(PeriodClosed {
                    book: *book,
                    period: *period,
                    by: meta.actor.clone(),
                })])
            }
            JournalCommand::Reopen { book, period, reason, next_closed } => {
                if !meta.has_role(Role::Admin) {
                    return Err(R::NotAllowed);
                }
                if !self.closed {
                    return Err(R::NotClosed);
                }
                if reason.trim().is_empty() || reason.chars().count() > 500 {
                    return Err(R::InvalidReason);
                }
                if *next_closed {
                    return Err(R::NextClosed);
                }
                Ok(vec![JournalEvent::Reopened(PeriodReopened {
                    book: *book,
                    period: *period,
                    by: meta.actor.clone(),
                    reason: reason.clone(),
                })])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::testing::{Given, given, meta, meta_with};

    fn book() -> BookId {
        BookId(Uuid::from_u128(1))
    }

    fn november() -> Period {
        Period::new(2026, 11).unwrap()
    }

    fn line(account: &str, debit: i64, credit: i64) -> VoucherLine {
        VoucherLine {
            summary: "销售".into(),
            account: account.into(),
            debit: Decimal::from(debit),
            credit: Decimal::from(credit),
            partner: None,
            item: None,
            department: None,
        }
    }

    fn post(voucher: u128, word: VoucherWord) -> JournalCommand {
        JournalCommand::Post {
            book: book(),
            period: november(),
            voucher: VoucherId(Uuid::from_u128(voucher)),
            word,
            date: Timestamp(0),
            lines: vec![line("1122", 113, 0), line("5001", 0, 100), line("22210102", 0, 13)],
            source: None,
            reverses: None,
        }
    }

    fn close(previous_closed: bool) -> JournalCommand {
        JournalCommand::Close { book: book(), period: november(), previous_closed, unposted: Vec::new() }
    }

    fn number(events: &[JournalEvent]) -> u32 {
        let [JournalEvent::Posted(posted)] = events else { panic!("{events:?}") };
        posted.number
    }

    #[test]
    fn each_word_numbers_from_one_without_gaps_and_a_repeated_posting_keeps_its_number() {
        let journal: Given<PeriodJournal> = given(&[
            (meta("p"), post(1, VoucherWord::Ji)),
            (meta("p"), post(2, VoucherWord::Ji)),
            (meta("p"), post(3, VoucherWord::Shou)),
        ]);
        assert_eq!(number(journal.when(&meta("p"), &post(4, VoucherWord::Ji)).events()), 3);
        assert_eq!(number(journal.when(&meta("p"), &post(5, VoucherWord::Shou)).events()), 2);
        assert_eq!(number(journal.when(&meta("p"), &post(6, VoucherWord::Zhuan)).events()), 1);
        assert_eq!(journal.when(&meta("p"), &post(2, VoucherWord::Ji)).events(), &[]);
        assert_eq!(journal.state.posted[&VoucherId(Uuid::from_u128(2))], (VoucherWord::Ji, 2));
    }

    #[test]
    fn a_closed_period_refuses_postings_until_an_admin_reopens_it_with_a_reason() {
        let finance = meta_with("zhao", &[Role::Finance]);
        let closed: Given<PeriodJournal> =
            given(&[(meta("p"), post(1, VoucherWord::Ji)), (finance.clone(), close(true))]);
        assert_eq!(
            closed.when(&meta("p"), &post(2, VoucherWord::Ji)).result.unwrap_err().code(),
            "period.closed"
        );
        assert_eq!(closed.when(&finance, &close(true)).result.unwrap_err().code(), "period.already_closed");
        let reopen = |reason: &str, next_closed| JournalCommand::Reopen {
            book: book(),
            period: november(),
            reason: reason.into(),
            next_closed,
        };
        assert_eq!(
            closed.when(&finance, &reopen("wrong cost", false)).result.unwrap_err().code(),
            "period.not_allowed"
        );
        let admin = meta_with("boss", &[Role::Admin]);
        assert_eq!(
            closed.when(&admin, &reopen(" ", false)).result.unwrap_err().code(),
            "period.invalid_reason"
        );
        assert_eq!(
            closed.when(&admin, &reopen("late invoice", true)).result.unwrap_err().code(),
            "period.next_closed"
        );
        let reopened = closed.when(&admin, &reopen("late invoice", false));
        assert!(!reopened.after.closed);
        assert_eq!(number(&reopened.after.decide(&post(2, VoucherWord::Ji), &meta("p")).unwrap()), 2);
    }

    #[test]
    fn a_month_closes_only_after_the_month_before_and_only_by_finance() {
        let fresh = PeriodJournal::default();
        assert_eq!(fresh.decide(&close(true), &meta("li")).unwrap_err().code(), "period.not_allowed");
        let finance = meta_with("zhao", &[Role::Finance]);
        assert_eq!(fresh.decide(&close(false), &finance).unwrap_err().code(), "period.previous_open");
        let pending = JournalCommand::Close {
            book: book(),
            period: november(),
            previous_closed: true,
            unposted: vec![VoucherId(Uuid::from_u128(9))],
        };
        assert_eq!(fresh.decide(&pending, &finance).unwrap_err().code(), "period.unposted_vouchers");
    }

    #[test]
    fn the_journal_refuses_an_unbalanced_entry_whatever_the_voucher_said() {
        let mut bad = post(1, VoucherWord::Ji);
        if let JournalCommand::Post { lines, .. } = &mut bad {
            lines[0].debit = Decimal::from(112);
        }
        assert_eq!(
            PeriodJournal::default().decide(&bad, &meta("p")).unwrap_err().code(),
            "voucher.unbalanced"
        );
    }
}

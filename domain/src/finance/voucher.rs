//! Voucher (记账凭证): drafted (by an accountant, or automatically from a business event), reviewed (审核)
//! by someone other than its preparer, then posted (过账) into its period's journal, which numbers it.
//! A posted voucher is never changed: it is corrected by a reversing voucher (红字冲销) that repeats its
//! lines with the amounts negated, and a voucher is reversed at most once.
//!
//! Posting spans two streams: the voucher (`BeginPosting` locks it against discarding), the journal
//! (`journal.rs`: the number and the ledger entry), the voucher again (`RecordPosting`). The command-api
//! posting service runs the three steps; a journal that refuses (period closed) is answered with
//! `AbandonPosting`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection, Role};
use crate::ids::{BookId, EventId, ItemId, PartnerId, VoucherId};
use crate::time::{Period, Timestamp};

/// Most lines in one voucher.
pub const VOUCHER_LINES_MAX: usize = 500;

/// 凭证字: the word a voucher is numbered under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum VoucherWord {
    /// 记: the single word most small companies use for everything.
    Ji,
    /// 收: cash or bank received.
    Shou,
    /// 付: cash or bank paid.
    Fu,
    /// 转: neither.
    Zhuan,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherLine {
    /// 摘要.
    pub summary: String,
    pub account: String,
    pub debit: Decimal,
    pub credit: Decimal,
    pub partner: Option<PartnerId>,
    pub item: Option<ItemId>,
    /// The department the line is analysed by (辅助核算: 部门), where the book tracks one.
    pub department: Option<String>,
}

/// A voucher line as stored before lines carried a department (v1 of the events that hold lines).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherLineV1 {
    pub summary: String,
    pub account: String,
    pub debit: Decimal,
    pub credit: Decimal,
    pub partner: Option<PartnerId>,
    pub item: Option<ItemId>,
}

impl From<VoucherLineV1> for VoucherLine {
    fn from(v1: VoucherLineV1) -> Self {
        VoucherLine {
            summary: v1.summary,
            account: v1.account,
            debit: v1.debit,
            credit: v1.credit,
            partner: v1.partner,
            item: v1.item,
            department: None,
        }
    }
}

/// What a voucher was made from: the document and the event (财务穿透 from a balance to its cause).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherSource {
    pub kind: String,
    pub id: Uuid,
    pub event: EventId,
}

/// Facts about the book read at the edge when a voucher is drafted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftFacts {
    /// Line accounts that do not exist in the book's chart or have sub-accounts.
    pub unpostable_accounts: Vec<String>,
    /// Whether the voucher's period is open in the book.
    pub period_open: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum VoucherCommand {
    Draft {
        id: VoucherId,
        book: BookId,
        word: VoucherWord,
        period: Period,
        date: Timestamp,
        lines: Vec<VoucherLine>,
        /// Set for automatic vouchers.
        source: Option<VoucherSource>,
        /// Set for a reversing voucher: the posted voucher it cancels.
        reverses: Option<VoucherId>,
        facts: DraftFacts,
    },
    Review {
        id: VoucherId,
    },
    CancelReview {
        id: VoucherId,
    },
    /// Drops a voucher that was never posted.
    Discard {
        id: VoucherId,
        reason: String,
    },
    /// First step of posting; `review_waived` when the book posts automatic vouchers without review.
    BeginPosting {
        id: VoucherId,
        review_waived: bool,
    },
    /// The journal refused the posting (its period closed meanwhile).
    AbandonPosting {
        id: VoucherId,
        reason: String,
    },
    /// Last step of posting: the number the journal gave it.
    RecordPosting {
        id: VoucherId,
        number: u32,
    },
    /// Reserves the right to reverse this posted voucher for the reversing voucher `reversal`.
    ClaimReversal {
        id: VoucherId,
        reversal: VoucherId,
    },
}

impl VoucherCommand {
    pub fn id(&self) -> VoucherId {
        match self {
            VoucherCommand::Draft { id, .. }
            | VoucherCommand::Review { id }
            | VoucherCommand::CancelReview { id }
            | VoucherCommand::Discard { id, .. }
            | VoucherCommand::BeginPosting { id, .. }
            | VoucherCommand::AbandonPosting { id, .. }
            | VoucherCommand::RecordPosting { id, .. }
            | VoucherCommand::ClaimReversal { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherDrafted {
    pub id: VoucherId,
    pub book: BookId,
    pub word: VoucherWord,
    pub period: Period,
    pub date: Timestamp,
    pub lines: Vec<VoucherLine>,
    pub source: Option<VoucherSource>,
    pub reverses: Option<VoucherId>,
    pub automatic: bool,
    pub by: String,
}

/// `VoucherDrafted` v1: its lines had no department.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherDraftedV1 {
    pub id: VoucherId,
    pub book: BookId,
    pub word: VoucherWord,
    pub period: Period,
    pub date: Timestamp,
    pub lines: Vec<VoucherLineV1>,
    pub source: Option<VoucherSource>,
    pub reverses: Option<VoucherId>,
    pub automatic: bool,
    pub by: String,
}

impl From<VoucherDraftedV1> for VoucherDrafted {
    fn from(v1: VoucherDraftedV1) -> Self {
        VoucherDrafted {
            id: v1.id,
            book: v1.book,
            word: v1.word,
            period: v1.period,
            date: v1.date,
            lines: v1.lines.into_iter().map(VoucherLine::from).collect(),
            source: v1.source,
            reverses: v1.reverses,
            automatic: v1.automatic,
            by: v1.by,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherReviewed {
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherReviewCancelled {
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherDiscarded {
    pub by: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherPostingBegun {
    pub review_waived: bool,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherPostingAbandoned {
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherNumbered {
    pub number: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherReversalClaimed {
    pub reversal: VoucherId,
    pub by: String,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum VoucherEvent {
        Drafted(VoucherDrafted) = "finance.VoucherDrafted" v 2 upcast [1 => VoucherDraftedV1],
        Reviewed(VoucherReviewed) = "finance.VoucherReviewed" v 1,
        ReviewCancelled(VoucherReviewCancelled) = "finance.VoucherReviewCancelled" v 1,
        Discarded(VoucherDiscarded) = "finance.VoucherDiscarded" v 1,
        PostingBegun(VoucherPostingBegun) = "finance.VoucherPostingBegun" v 1,
        PostingAbandoned(VoucherPostingAbandoned) = "finance.VoucherPostingAbandoned" v 1,
        Numbered(VoucherNumbered) = "finance.VoucherNumbered" v 1,
        ReversalClaimed(VoucherReversalClaimed) = "finance.VoucherReversalClaimed" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoucherRejection {
    #[error("the voucher already exists")]
    AlreadyExists,
    #[error("the voucher does not exist")]
    NotFound,
    #[error("this needs the finance role")]
    NotAllowed,
    #[error("a voucher has 2 to {VOUCHER_LINES_MAX} lines")]
    InvalidLines,
    #[error("line {line}: {reason}")]
    InvalidLine { line: usize, reason: &'static str },
    #[error("debits {debit} and credits {credit} differ (or are zero)")]
    Unbalanced { debit: Decimal, credit: Decimal },
    #[error("accounts {0:?} do not exist in the book or have sub-accounts")]
    UnknownAccount(Vec<String>),
    #[error("the period is closed")]
    PeriodClosed,
    #[error("the voucher is {0}; that is not possible now")]
    WrongStatus(&'static str),
    #[error("{0} prepared this voucher and cannot review it")]
    OwnVoucher(String),
    #[error("the voucher needs a review before it is posted")]
    NotReviewed,
    #[error("the voucher was already reversed by another voucher")]
    AlreadyReversed,
    #[error("a reason is 1 to 500 characters")]
    InvalidReason,
}

impl Rejection for VoucherRejection {
    fn code(&self) -> &'static str {
        match self {
            VoucherRejection::AlreadyExists => "voucher.already_exists",
            VoucherRejection::NotFound => "voucher.not_found",
            VoucherRejection::NotAllowed => "voucher.not_allowed",
            VoucherRejection::InvalidLines => "voucher.invalid_lines",
            VoucherRejection::InvalidLine { .. } => "voucher.invalid_line",
            VoucherRejection::Unbalanced { .. } => "voucher.unbalanced",
            VoucherRejection::UnknownAccount(_) => "voucher.unknown_account",
            VoucherRejection::PeriodClosed => "period.closed",
            VoucherRejection::WrongStatus(_) => "voucher.wrong_status",
            VoucherRejection::OwnVoucher(_) => "voucher.own_voucher",
            VoucherRejection::NotReviewed => "voucher.not_reviewed",
            VoucherRejection::AlreadyReversed => "voucher.already_reversed",
            VoucherRejection::InvalidReason => "voucher.invalid_reason",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VoucherStatus {
    #[default]
    New,
    Drafted,
    Reviewed,
    Posting,
    Posted,
    Discarded,
}

impl VoucherStatus {
    pub fn name(self) -> &'static str {
        match self {
            VoucherStatus::New => "not drafted",
            VoucherStatus::Drafted => "drafted",
            VoucherStatus::Reviewed => "reviewed",
            VoucherStatus::Posting => "being posted",
            VoucherStatus::Posted => "posted",
            VoucherStatus::Discarded => "discarded",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Voucher {
    pub status: VoucherStatus,
    pub drafted: Option<VoucherDrafted>,
    pub reviewed_by: Option<String>,
    pub number: Option<u32>,
    pub reversed_by: Option<VoucherId>,
}

/// Checks the lines of a voucher: amounts in cents, one side per line, balanced and not zero. Red
/// (negative) amounts are allowed where `red_allowed`: reversing vouchers and automatic ones (a red
/// invoice, a purchase invoice below the order price); an accountant's own entries are positive and
/// corrected by reversal.
pub fn check_lines(lines: &[VoucherLine], red_allowed: bool) -> Result<(), VoucherRejection> {
    if lines.len() < 2 || lines.len() > VOUCHER_LINES_MAX {
        return Err(VoucherRejection::InvalidLines);
    }
    let (mut debit, mut credit) = (Decimal::ZERO, Decimal::ZERO);
    for (line, l) in lines.iter().enumerate() {
        let invalid = |reason| VoucherRejection::InvalidLine { line, reason };
        if l.summary.chars().count() > 200 {
            return Err(invalid("a summary is at most 200 characters"));
        }
        if l.department.as_ref().is_some_and(|d| d.trim().is_empty() || d.chars().count() > 64) {
            return Err(invalid("a department is 1 to 64 characters"));
        }
        if l.debit.scale() > 2 || l.credit.scale() > 2 {
            return Err(invalid("amounts are in cents"));
        }
        if (l.debit.is_zero()) == (l.credit.is_zero()) {
            return Err(invalid("a line is a debit or a credit, not both and not neither"));
        }
        if !red_allowed && (l.debit < Decimal::ZERO || l.credit < Decimal::ZERO) {
            return Err(invalid("only reversing and automatic vouchers have red (negative) amounts"));
        }
        if l.debit.abs() >= Decimal::from(1_000_000_000_000_000i64)
            || l.credit.abs() >= Decimal::from(1_000_000_000_000_000i64)
        {
            return Err(invalid("an amount is below 10^15"));
        }
        debit += l.debit;
        credit += l.credit;
    }
    if debit != credit || debit.is_zero() {
        return Err(VoucherRejection::Unbalanced { debit, credit });
    }
    Ok(())
}

fn check_reason(reason: &str) -> Result<(), VoucherRejection> {
    if reason.trim().is_empty() || reason.chars().count() > 500 {
        return Err(VoucherRejection::InvalidReason);
    }
    Ok(())
}

impl Aggregate for Voucher {
    type Command = VoucherCommand;
    type Event = VoucherEvent;
    type Rejection = VoucherRejection;

    fn stream_id(command: &VoucherCommand) -> String {
        Voucher::stream(command.id())
    }

    fn evolve(&mut self, event: &VoucherEvent) {
        use VoucherStatus as S;
        match event {
            VoucherEvent::Drafted(e) => {
                self.status = S::Drafted;
                self.drafted = Some(e.clone());
            }
            VoucherEvent::Reviewed(e) => {
                self.status = S::Reviewed;
                self.reviewed_by = Some(e.by.clone());
            }
            VoucherEvent::ReviewCancelled(_) => {
                self.status = S::Drafted;
                self.reviewed_by = None;
            }
            VoucherEvent::Discarded(_) => self.status = S::Discarded,
            VoucherEvent::PostingBegun(_) => self.status = S::Posting,
            VoucherEvent::PostingAbandoned(_) => {
                self.status = if self.reviewed_by.is_some() { S::Reviewed } else { S::Drafted };
            }
            VoucherEvent::Numbered(e) => {
                self.status = S::Posted;
                self.number = Some(e.number);
            }
            VoucherEvent::ReversalClaimed(e) => self.reversed_by = Some(e.reversal),
        }
    }

    fn decide(
        &self,
        command: &VoucherCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<VoucherEvent>, VoucherRejection> {
        use VoucherRejection as R;
        use VoucherStatus as S;
        let status = self.status;
        let wrong = || if status == S::New { R::NotFound } else { R::WrongStatus(status.name()) };
        let finance = || if meta.has_role(Role::Finance) { Ok(()) } else { Err(R::NotAllowed) };
        match command {
            VoucherCommand::Draft { id, book, word, period, date, lines, source, reverses, facts } => {
                if status != S::New {
                    return Err(R::AlreadyExists);
                }
                let automatic = source.is_some() && reverses.is_none();
                if !automatic {
                    finance()?;
                }
                check_lines(lines, reverses.is_some() || source.is_some())?;
                if !facts.unpostable_accounts.is_empty() {
                    return Err(R::UnknownAccount(facts.unpostable_accounts.clone()));
                }
                if !facts.period_open {
                    return Err(R::PeriodClosed);
                }
                Ok(vec![VoucherEvent::Drafted(VoucherDrafted {
                    id: *id,
                    book: *book,
                    word: *word,
                    period: *period,
                    date: *date,
                    lines: lines.clone(),
                    source: source.clone(),
                    reverses: *reverses,
                    automatic,
                    by: meta.actor.clone(),
                })])
            }
            VoucherCommand::Review { .. } => {
                finance()?;
                if status != S::Drafted {
                    return Err(wrong());
                }
                let preparer = &self.drafted.as_ref().expect("drafted").by;
                if *preparer == meta.actor {
                    return Err(R::OwnVoucher(preparer.clone()));
                }
                Ok(vec![VoucherEvent::Reviewed(VoucherReviewed { by: meta.actor.clone() })])
            }
            VoucherCommand::CancelReview { .. } => {
                finance()?;
                if status != S::Reviewed {
                    return Err(wrong());
                }
                Ok(vec![VoucherEvent::ReviewCancelled(VoucherReviewCancelled { by: meta.actor.clone() })])
            }
            VoucherCommand::Discard { reason, .. } => {
                finance()?;
                if !matches!(status, S::Drafted | S::Reviewed) {
                    return Err(wrong());
                }
                check_reason(reason)?;
                Ok(vec![VoucherEvent::Discarded(VoucherDiscarded {
                    by: meta.actor.clone(),
                    reason: reason.clone(),
                })])
            }
            VoucherCommand::BeginPosting { review_waived, .. } => match status {
                S::Posting | S::Posted => Ok(Vec::new()),
                S::Reviewed => Ok(vec![VoucherEvent::PostingBegun(VoucherPostingBegun {
                    review_waived: false,
                    by: meta.actor.clone(),
                })]),
                S::Drafted if *review_waived && self.drafted.as_ref().is_some_and(|d| d.automatic) => {
                    Ok(vec![VoucherEvent::PostingBegun(VoucherPostingBegun {
                        review_waived: true,
                        by: meta.actor.clone(),
                    })])
                }
                S::Drafted => Err(R::NotReviewed),
                _ => Err(wrong()),
            },
            VoucherCommand::AbandonPosting { reason, .. } => {
                if status != S::Posting {
                    return Err(wrong());
                }
                check_reason(reason)?;
                Ok(vec![VoucherEvent::PostingAbandoned(VoucherPostingAbandoned { reason: reason.clone() })])
            }
            VoucherCommand::RecordPosting { number, .. } => match status {
                S::Posted if self.number == Some(*number) => Ok(Vec::new()),
                S::Posting => Ok(vec![VoucherEvent::Numbered(VoucherNumbered { number: *number })]),
                _ => Err(wrong()),
            },
            VoucherCommand::ClaimReversal { reversal, .. } => {
                finance()?;
                if status != S::Posted {
                    return Err(wrong());
                }
                match self.reversed_by {
                    Some(by) if by == *reversal => Ok(Vec::new()),
                    Some(_) => Err(R::AlreadyReversed),
                    None => Ok(vec![VoucherEvent::ReversalClaimed(VoucherReversalClaimed {
                        reversal: *reversal,
                        by: meta.actor.clone(),
                    })]),
                }
            }
        }
    }
}

impl Voucher {
    /// The stream of the voucher `id`: the one place its name is made.
    pub fn stream(id: VoucherId) -> String {
        format!("voucher-{id}")
    }

    /// The lines of a reversing voucher for this one: the same accounts, the amounts negated.
    pub fn reversal_lines(&self) -> Vec<VoucherLine> {
        self.drafted
            .as_ref()
            .map(|d| {
                d.lines
                    .iter()
                    .map(|l| VoucherLine {
                        summary: format!("冲销: {}", l.summary).chars().take(200).collect(),
                        debit: -l.debit,
                        credit: -l.credit,
                        ..l.clone()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;

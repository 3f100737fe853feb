//! Finance services: vouchers drafted with the book's facts, posted into their period's journal
//! (gapless numbers), reversed by red vouchers; periods closed and reopened; and the automatic vouchers
//! the `AutoVouchers` process manager asks for, whose account roles are resolved in the book's chart.
//!
//! Posting spans the voucher and the journal. Each step runs under a command id derived from the posting
//! command's, so a retried posting repeats exactly the same steps and the journal, which numbers a
//! voucher once, keeps the number it gave the first time.

use domain::finance::book::Book;
use domain::finance::journal::{JournalCommand, JournalEvent, JournalRejection, PeriodJournal};
use domain::finance::voucher::{
    DraftFacts, Voucher, VoucherCommand, VoucherEvent, VoucherLine, VoucherRejection, VoucherSource,
    VoucherStatus, VoucherWord,
};
use domain::finance::{AutoVoucher, RoleLine};
use domain::time::Period;
use domain::{Aggregate, BookId, CommandId, CommandMeta, Timestamp, VoucherId};
use infra::{EventStore, StoreError};
use uuid::Uuid;

use crate::bus::{BusError, CommandBus, Executed};

fn step_meta(meta: &CommandMeta, name: &[u8]) -> CommandMeta {
    CommandMeta { command_id: CommandId(Uuid::new_v5(&meta.command_id.0, name)), ..meta.clone() }
}

fn book_stream(book: BookId) -> String {
    format!("book-{}", book.0)
}

fn journal_stream(book: BookId, period: Period) -> String {
    PeriodJournal::stream_id(&JournalCommand::Close { book, period, previous_closed: false })
}

fn voucher_stream(id: VoucherId) -> String {
    Voucher::stream_id(&VoucherCommand::Review { id })
}

/// Why a finance service did not do what it was asked.
#[derive(Debug)]
pub enum FinanceError {
    Voucher(BusError<VoucherRejection>),
    Journal(BusError<JournalRejection>),
}

impl FinanceError {
    pub fn code(&self) -> &'static str {
        match self {
            FinanceError::Voucher(e) => e.code(),
            FinanceError::Journal(e) => e.code(),
        }
    }
}

impl std::fmt::Display for FinanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FinanceError::Voucher(e) => e.fmt(f),
            FinanceError::Journal(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for FinanceError {
    fn from(e: StoreError) -> Self {
        FinanceError::Voucher(BusError::Store(e))
    }
}

fn voucher_rejected(r: VoucherRejection) -> FinanceError {
    FinanceError::Voucher(BusError::Rejected(r))
}

/// A voucher as an accountant (or a posting rule, once roles are resolved) enters it.
#[derive(Clone, Debug, PartialEq)]
pub struct VoucherDraft {
    pub id: VoucherId,
    pub book: BookId,
    pub word: VoucherWord,
    /// Business date; its month in the book's time zone is the voucher's period.
    pub date: Timestamp,
    pub lines: Vec<VoucherLine>,
    pub source: Option<VoucherSource>,
    pub reverses: Option<VoucherId>,
}

/// Whether `period` takes postings: not before the book's first month and not closed.
async fn period_open<S: EventStore>(
    bus: &CommandBus<S>,
    book: &Book,
    book_id: BookId,
    period: Period,
) -> Result<bool, StoreError> {
    let Some(settings) = &book.settings else { return Ok(false) };
    if period < settings.first_period {
        return Ok(false);
    }
    let journal: PeriodJournal = bus.load(&journal_stream(book_id, period)).await?;
    Ok(!journal.closed)
}

/// Drafts a voucher after reading the book: every account must exist and take postings, the period must
/// be open.
pub async fn draft_voucher<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    draft: &VoucherDraft,
) -> Result<Executed<VoucherEvent>, FinanceError> {
    let book: Book = bus.load(&book_stream(draft.book)).await?;
    let Some(settings) = &book.settings else {
        return Err(voucher_rejected(VoucherRejection::UnknownAccount(
            draft.lines.iter().map(|l| l.account.clone()).collect(),
        )));
    };
    let period = Period::containing(draft.date, settings.utc_offset_minutes);
    let mut unpostable: Vec<String> =
        draft.lines.iter().filter(|l| !book.is_postable(&l.account)).map(|l| l.account.clone()).collect();
    unpostable.sort();
    unpostable.dedup();
    let facts = DraftFacts {
        unpostable_accounts: unpostable,
        period_open: period_open(bus, &book, draft.book, period).await?,
    };
    let command = VoucherCommand::Draft {
        id: draft.id,
        book: draft.book,
        word: draft.word,
        period,
        date: draft.date,
        lines: draft.lines.clone(),
        source: draft.source.clone(),
        reverses: draft.reverses,
        facts,
    };
    bus.execute::<Voucher>(meta, &command).await.map_err(FinanceError::Voucher)
}

/// Posts a drafted voucher (reviewed, or automatic in a book that posts those without review) into its
/// period's journal; answers its number.
pub async fn post_voucher<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    id: VoucherId,
) -> Result<u32, FinanceError> {
    let voucher: Voucher = bus.load(&voucher_stream(id)).await?;
    if let (VoucherStatus::Posted, Some(number)) = (voucher.status, voucher.number) {
        return Ok(number);
    }
    let Some(drafted) = voucher.drafted.clone() else {
        return Err(voucher_rejected(VoucherRejection::NotFound));
    };
    let book: Book = bus.load(&book_stream(drafted.book)).await?;
    let review_waived = book.settings.as_ref().is_some_and(|s| s.auto_post);
    bus.execute::<Voucher>(
        &step_meta(meta, b"post/begin"),
        &VoucherCommand::BeginPosting { id, review_waived },
    )
    .await
    .map_err(FinanceError::Voucher)?;
    let post = JournalCommand::Post {
        book: drafted.book,
        period: drafted.period,
        voucher: id,
        word: drafted.word,
        date: drafted.date,
        lines: drafted.lines.clone(),
        source: drafted.source.clone(),
        reverses: drafted.reverses,
    };
    match bus.execute::<PeriodJournal>(&step_meta(meta, b"post/journal"), &post).await {
        Ok(_) => {}
        Err(BusError::Rejected(rejection)) => {
            let abandon = VoucherCommand::AbandonPosting { id, reason: rejection.to_string() };
            bus.execute::<Voucher>(&step_meta(meta, b"post/abandon"), &abandon)
                .await
                .map_err(FinanceError::Voucher)?;
            return Err(FinanceError::Journal(BusError::Rejected(rejection)));
        }
        Err(e) => return Err(FinanceError::Journal(e)),
    }
    let journal: PeriodJournal = bus.load(&journal_stream(drafted.book, drafted.period)).await?;
    let (_, number) = *journal.posted.get(&id).expect("the journal just posted it");
    bus.execute::<Voucher>(&step_meta(meta, b"post/record"), &VoucherCommand::RecordPosting { id, number })
        .await
        .map_err(FinanceError::Voucher)?;
    Ok(number)
}

/// Reverses a posted voucher with a red voucher `reversal` dated `date` (its period must be open): the
/// original is claimed first, so it is reversed once; the red voucher is then drafted like any manual
/// voucher and needs a review before it is posted.
pub async fn reverse_voucher<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    original: VoucherId,
    reversal: VoucherId,
    date: Timestamp,
) -> Result<Executed<VoucherEvent>, FinanceError> {
    bus.execute::<Voucher>(
        &step_meta(meta, b"reverse/claim"),
        &VoucherCommand::ClaimReversal { id: original, reversal },
    )
    .await
    .map_err(FinanceError::Voucher)?;
    let voucher: Voucher = bus.load(&voucher_stream(original)).await?;
    let drafted = voucher.drafted.as_ref().expect("a claimed voucher was drafted");
    let draft = VoucherDraft {
        id: reversal,
        book: drafted.book,
        word: drafted.word,
        date,
        lines: voucher.reversal_lines(),
        source: drafted.source.clone(),
        reverses: Some(original),
    };
    draft_voucher(bus, meta, &draft).await
}

/// Closes a book's month (结账) once the month before is closed.
pub async fn close_period<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    book: BookId,
    period: Period,
) -> Result<Executed<JournalEvent>, FinanceError> {
    let book_state: Book = bus.load(&book_stream(book)).await?;
    let first = book_state.settings.as_ref().map(|s| s.first_period);
    let previous_closed = match (first, previous(period)) {
        (Some(first), _) if period <= first => true,
        (_, Some(before)) => bus.load::<PeriodJournal>(&journal_stream(book, before)).await?.closed,
        (_, None) => true,
    };
    let close = JournalCommand::Close { book, period, previous_closed };
    bus.execute::<PeriodJournal>(meta, &close).await.map_err(FinanceError::Journal)
}

/// Reopens a closed month (反结账) when the month after is open; needs an admin and a reason.
pub async fn reopen_period<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    book: BookId,
    period: Period,
    reason: &str,
) -> Result<Executed<JournalEvent>, FinanceError> {
    let next_closed = bus.load::<PeriodJournal>(&journal_stream(book, next(period))).await?.closed;
    let reopen = JournalCommand::Reopen { book, period, reason: reason.to_string(), next_closed };
    bus.execute::<PeriodJournal>(meta, &reopen).await.map_err(FinanceError::Journal)
}

fn previous(period: Period) -> Option<Period> {
    if period.month == 1 {
        Period::new(period.year - 1, 12)
    } else {
        Period::new(period.year, period.month - 1)
    }
}

fn next(period: Period) -> Period {
    if period.month == 12 {
        Period::new(period.year + 1, 1).unwrap_or(period)
    } else {
        Period::new(period.year, period.month + 1).unwrap_or(period)
    }
}

/// What became of an automatic voucher.
#[derive(Debug, PartialEq, Eq)]
pub enum AutoVoucherOutcome {
    /// Drafted, and posted when the book posts automatic vouchers without review.
    Recorded { posted: Option<u32> },
    /// Drafted before (a re-read event): nothing new.
    Duplicate,
}

/// Drafts the voucher a posting rule asked for, with each role resolved to the book's account, and posts
/// it when the book says automatic vouchers need no review.
pub async fn record_automatic_voucher<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    auto: &AutoVoucher,
) -> Result<AutoVoucherOutcome, FinanceError> {
    let book: Book = bus.load(&book_stream(auto.book)).await?;
    let lines = auto
        .lines
        .iter()
        .map(|line: &RoleLine| {
            book.account_for(line.role).map(|account| VoucherLine {
                summary: line.summary.clone(),
                account: account.code.clone(),
                debit: line.debit,
                credit: line.credit,
                partner: line.partner,
                item: line.item,
            })
        })
        .collect::<Option<Vec<_>>>();
    let Some(lines) = lines else {
        let missing =
            auto.lines.iter().filter(|l| book.account_for(l.role).is_none()).map(|l| format!("{:?}", l.role));
        return Err(voucher_rejected(VoucherRejection::UnknownAccount(missing.collect())));
    };
    let draft = VoucherDraft {
        id: auto.id,
        book: auto.book,
        word: auto.word,
        date: auto.date,
        lines,
        source: Some(auto.source.clone()),
        reverses: None,
    };
    let drafted = draft_voucher(bus, meta, &draft).await?;
    let auto_post = book.settings.as_ref().is_some_and(|s| s.auto_post);
    if drafted.duplicate {
        // Drafted before; finish a posting a crash may have cut short, else there is nothing to do.
        let voucher: Voucher = bus.load(&voucher_stream(auto.id)).await?;
        if !auto_post || voucher.status == VoucherStatus::Posted {
            return Ok(AutoVoucherOutcome::Duplicate);
        }
    }
    let posted = if auto_post {
        Some(post_voucher(bus, &step_meta(meta, b"auto-post"), auto.id).await?)
    } else {
        None
    };
    Ok(AutoVoucherOutcome::Recorded { posted })
}

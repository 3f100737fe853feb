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
use infra::codec::decode_domain_event;
use infra::{EventStore, StoreError};
use uuid::Uuid;

use crate::bus::{BusError, CommandBus, Executed};

fn step_meta(meta: &CommandMeta, name: &[u8]) -> CommandMeta {
    CommandMeta { command_id: CommandId(Uuid::new_v5(&meta.command_id.0, name)), ..meta.clone() }
}

fn book_stream(book: BookId) -> String {
    Book::stream(book)
}

pub fn journal_stream(book: BookId, period: Period) -> String {
    PeriodJournal::stream_id(&JournalCommand::Close {
        book,
        period,
        previous_closed: false,
        unposted: Vec::new(),
    })
}

fn voucher_stream(id: VoucherId) -> String {
    Voucher::stream(id)
}

/// Why a finance service did not do what it was asked.
#[derive(Debug)]
pub enum FinanceError {
    Voucher(BusError<VoucherRejection>),
    Journal(BusError<JournalRejection>),
    Opening(BusError<domain::finance::opening::OpeningRejection>),
    PurchaseInvoice(BusError<domain::purchasing::PurchaseInvoiceRejection>),
    Stock(BusError<domain::inventory::StockRejection>),
    Invoice(BusError<domain::sales::SalesInvoiceRejection>),
}

impl FinanceError {
    pub fn code(&self) -> &'static str {
        match self {
            FinanceError::Voucher(e) => e.code(),
            FinanceError::Journal(e) => e.code(),
            FinanceError::Opening(e) => e.code(),
            FinanceError::PurchaseInvoice(e) => e.code(),
            FinanceError::Stock(e) => e.code(),
            FinanceError::Invoice(e) => e.code(),
        }
    }
}

impl std::fmt::Display for FinanceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FinanceError::Voucher(e) => e.fmt(f),
            FinanceError::Journal(e) => e.fmt(f),
            FinanceError::Opening(e) => e.fmt(f),
            FinanceError::PurchaseInvoice(e) => e.fmt(f),
            FinanceError::Stock(e) => e.fmt(f),
            FinanceError::Invoice(e) => e.fmt(f),
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
    first_period: Period,
    book_id: BookId,
    period: Period,
) -> Result<bool, StoreError> {
    if period < first_period {
        return Ok(false);
    }
    bus.inspect::<PeriodJournal, bool>(&journal_stream(book_id, period), |journal| !journal.closed).await
}

/// Drafts a voucher after reading the book: every account must exist and take postings, the period must
/// be open.
pub async fn draft_voucher<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    draft: &VoucherDraft,
) -> Result<Executed<VoucherEvent>, FinanceError> {
    let command = draft_command(bus, draft).await?;
    bus.execute::<Voucher>(meta, &command).await.map_err(FinanceError::Voucher)
}

/// The draft command of `draft`, with the book's facts read.
async fn draft_command<S: EventStore>(
    bus: &CommandBus<S>,
    draft: &VoucherDraft,
) -> Result<VoucherCommand, FinanceError> {
    // What the draft needs of the book, read in place (a book's chart is not copied per voucher).
    let read = bus
        .inspect::<Book, _>(&book_stream(draft.book), |book| {
            let settings = book.settings.as_ref()?;
            let mut unpostable: Vec<String> = draft
                .lines
                .iter()
                .filter(|l| !book.is_postable(&l.account))
                .map(|l| l.account.clone())
                .collect();
            unpostable.sort();
            unpostable.dedup();
            Some((settings.utc_offset_minutes, settings.first_period, unpostable))
        })
        .await?;
    let Some((utc_offset_minutes, first_period, unpostable)) = read else {
        return Err(voucher_rejected(VoucherRejection::UnknownAccount(
            draft.lines.iter().map(|l| l.account.clone()).collect(),
        )));
    };
    let period = Period::containing(draft.date, utc_offset_minutes);
    let facts = DraftFacts {
        unpostable_accounts: unpostable,
        period_open: period_open(bus, first_period, draft.book, period).await?,
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
    Ok(command)
}

/// Posts a drafted voucher (reviewed, or automatic in a book that posts those without review) into its
/// period's journal; answers its number.
pub async fn post_voucher<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    id: VoucherId,
) -> Result<u32, FinanceError> {
    let voucher: Voucher = bus.load_in(meta.book, &voucher_stream(id)).await?;
    if let (VoucherStatus::Posted, Some(number)) = (voucher.status, voucher.number) {
        return Ok(number);
    }
    let Some(drafted) = voucher.drafted.clone() else {
        return Err(voucher_rejected(VoucherRejection::NotFound));
    };
    let review_waived = bus
        .inspect::<Book, bool>(&book_stream(drafted.book), |book| {
            book.settings.as_ref().is_some_and(|s| s.auto_post)
        })
        .await?;
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
    // Every posting of the month goes through the one journal: concurrent ones share an append.
    let number = match bus.execute_coalesced::<PeriodJournal>(step_meta(meta, b"post/journal"), post).await {
        Ok(done) => done.events.iter().find_map(|e| match e {
            JournalEvent::Posted(posted) => Some(posted.number),
            _ => None,
        }),
        Err(BusError::Rejected(rejection)) => {
            let abandon = VoucherCommand::AbandonPosting { id, reason: rejection.to_string() };
            bus.execute::<Voucher>(&step_meta(meta, b"post/abandon"), &abandon)
                .await
                .map_err(FinanceError::Voucher)?;
            return Err(FinanceError::Journal(BusError::Rejected(rejection)));
        }
        Err(e) => return Err(FinanceError::Journal(e)),
    };
    let number = match number {
        Some(number) => number,
        // Posted before (a retried posting): the journal has its number.
        None => bus
            .inspect::<PeriodJournal, Option<u32>>(&journal_stream(drafted.book, drafted.period), |journal| {
                journal.posted.get(&id).map(|(_, number)| *number)
            })
            .await?
            .expect("the journal holds the voucher it just answered for"),
    };
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
    let voucher: Voucher = bus.load_in(meta.book, &voucher_stream(original)).await?;
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
    let previous_closed = match (first, period.previous()) {
        (Some(first), _) if period <= first => true,
        (_, Some(before)) => bus.load::<PeriodJournal>(&journal_stream(book, before)).await?.closed,
        (_, None) => true,
    };
    let unposted = unposted_vouchers(bus, book, period).await?;
    let close = JournalCommand::Close { book, period, previous_closed, unposted };
    bus.execute::<PeriodJournal>(meta, &close).await.map_err(FinanceError::Journal)
}

/// The vouchers of `book` drafted into `period` and neither posted nor discarded. Reads the log for the
/// drafts (a month's close is rare; the read side will serve this from a projection).
async fn unposted_vouchers<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    period: Period,
) -> Result<Vec<VoucherId>, StoreError> {
    let mut drafted = Vec::new();
    scan_book(bus, book, |event| {
        if event.event_type.name() == "finance.VoucherDrafted"
            && let VoucherEvent::Drafted(d) =
                decode_domain_event::<VoucherEvent>(&event.event_type, &event.payload)?
            && d.period == period
        {
            drafted.push(d.id);
        }
        Ok(())
    })
    .await?;
    let mut unposted = Vec::new();
    for id in drafted {
        let status =
            bus.inspect_in::<Voucher, VoucherStatus>(book, &voucher_stream(id), |v| v.status).await?;
        if !matches!(status, VoucherStatus::Posted | VoucherStatus::Discarded) {
            unposted.push(id);
        }
    }
    Ok(unposted)
}

/// Visits every event of `book` in the log, oldest first. The finance facts that need a whole-log view
/// (drafts of a month, receipts and payments to match) read it this way until the read side serves them.
async fn scan_book<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    mut visit: impl FnMut(&infra::RecordedEvent) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut position = 1;
    loop {
        let page = bus.store().read_all(position, 4096).await?;
        let Some(last) = page.last() else { return Ok(()) };
        position = last.position + 1;
        for event in page.iter().filter(|e| e.metadata.book == book) {
            visit(event)?;
        }
    }
}

/// Reopens a closed month (反结账) when the month after is open; needs an admin and a reason.
pub async fn reopen_period<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    book: BookId,
    period: Period,
    reason: &str,
) -> Result<Executed<JournalEvent>, FinanceError> {
    let next_closed =
        bus.load::<PeriodJournal>(&journal_stream(book, period.next().unwrap_or(period))).await?.closed;
    let reopen = JournalCommand::Reopen { book, period, reason: reason.to_string(), next_closed };
    bus.execute::<PeriodJournal>(meta, &reopen).await.map_err(FinanceError::Journal)
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
    // The stock lines of raw materials go to 原材料 rather than 库存商品: the item master says which.
    let mut lines = auto.lines.clone();
    for line in lines.iter_mut().filter(|l| l.role == domain::finance::accounts::AccountRole::Inventory) {
        let Some(item) = line.item else { continue };
        let kind = bus
            .inspect_in::<domain::master::Item, _>(meta.book, &domain::master::Item::stream(item), |i| {
                i.details.as_ref().map(|d| d.kind)
            })
            .await?;
        if kind == Some(domain::master::ItemKind::RawMaterial) {
            line.role = domain::finance::accounts::AccountRole::RawMaterials;
        }
    }
    // Roles resolved in the book's chart, read in place.
    let (resolved, auto_post, word) = bus
        .inspect::<Book, _>(&book_stream(auto.book), |book| {
            let vat = book.settings.as_ref().map_or(domain::finance::book::VatStatus::General, |s| s.vat);
            let role_lines = domain::finance::rules::for_vat_status(lines, vat);
            let missing: Vec<String> = role_lines
                .iter()
                .filter(|l| book.account_for(l.role).is_none())
                .map(|l| format!("{:?}", l.role))
                .collect();
            let resolved: Result<Vec<VoucherLine>, Vec<String>> = if missing.is_empty() {
                Ok(role_lines
                    .iter()
                    .map(|line: &RoleLine| VoucherLine {
                        summary: line.summary.clone(),
                        account: book.account_for(line.role).expect("checked").code.clone(),
                        debit: line.debit,
                        credit: line.credit,
                        partner: line.partner,
                        item: line.item,
                        department: None,
                    })
                    .collect())
            } else {
                Err(missing)
            };
            let word = domain::finance::rules::word_for(&role_lines, book.words);
            (resolved, book.settings.as_ref().is_some_and(|s| s.auto_post), word)
        })
        .await?;
    let lines = resolved.map_err(|missing| voucher_rejected(VoucherRejection::UnknownAccount(missing)))?;
    let draft = VoucherDraft {
        id: auto.id,
        book: auto.book,
        word,
        date: auto.date,
        lines,
        source: Some(auto.source.clone()),
        reverses: None,
    };
    // In a book that posts automatic vouchers without review, the draft and the start of its posting are
    // one append.
    let command = draft_command(bus, &draft).await?;
    let begin_meta = step_meta(&step_meta(meta, b"auto-post"), b"post/begin");
    let begin = VoucherCommand::BeginPosting { id: auto.id, review_waived: true };
    let steps: Vec<(&CommandMeta, &VoucherCommand)> =
        if auto_post { vec![(meta, &command), (&begin_meta, &begin)] } else { vec![(meta, &command)] };
    let mut outcomes = bus.execute_all::<Voucher>(&steps).await.map_err(FinanceError::Voucher)?.into_iter();
    let drafted = outcomes
        .next()
        .expect("one outcome per command")
        .map_err(|r| FinanceError::Voucher(BusError::Rejected(r)))?;
    if let Some(Err(r)) = outcomes.next() {
        return Err(FinanceError::Voucher(BusError::Rejected(r)));
    }
    if drafted.duplicate {
        // Drafted before; finish a posting a crash may have cut short, else there is nothing to do.
        let voucher: Voucher = bus.load_in(meta.book, &voucher_stream(auto.id)).await?;
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

/// What month end booked: the number of each voucher posted, or `None` where there was nothing to move
/// (or the voucher waits for review in a book that reviews automatic vouchers).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MonthEndReport {
    pub vat_transfer: Option<u32>,
    pub surcharges: Option<u32>,
    pub profit_transfer: Option<u32>,
    pub year_end: Option<u32>,
    /// Month-end vouchers drafted but waiting for review.
    pub waiting_for_review: Vec<VoucherId>,
}

/// The book's signed balances (debits positive) at the end of `period`, over every posted voucher from
/// the book's first month, read from the month journals.
pub async fn balances_at<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    first: Period,
    period: Period,
) -> Result<domain::finance::month_end::Balances, StoreError> {
    let mut balances = domain::finance::month_end::Balances::new();
    let mut month = Some(first);
    while let Some(current) = month.filter(|m| *m <= period) {
        // Read in place: a busy month's journal is large, and only its totals are needed.
        bus.inspect::<PeriodJournal, ()>(&journal_stream(book, current), |journal| {
            for (code, (debit, credit)) in &journal.totals {
                *balances.entry(code.clone()).or_default() += debit - credit;
            }
        })
        .await?;
        month = current.next();
    }
    Ok(balances)
}

/// Month end (期末结转): the VAT transfer, the profit transfer, and in December the year end, each drafted
/// as an automatic voucher dated the month's last instant and posted when the book posts automatic
/// vouchers without review. Running it again books only what postings since the last run added.
pub async fn run_month_end<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    book_id: BookId,
    period: Period,
) -> Result<MonthEndReport, FinanceError> {
    use domain::finance::accounts::AccountRole as R;
    use domain::finance::month_end::{profit_transfer, surcharges, vat_transfer, year_end};
    let book: Book = bus.load(&book_stream(book_id)).await?;
    let Some(settings) = book.settings.clone() else {
        return Err(voucher_rejected(VoucherRejection::NotFound));
    };
    let mut report = MonthEndReport::default();
    // In this order: the surcharges are on the VAT the transfer moved, the profit transfer takes the
    // surcharges along, and the year end closes the profit.
    // A small-scale taxpayer owes VAT at its levy rate on sales and has nothing to transfer out.
    let general = settings.vat == domain::finance::book::VatStatus::General;
    let mut steps = if general { vec!["vat-transfer"] } else { Vec::new() };
    if book.surcharges.is_some() {
        steps.push("surcharges");
    }
    steps.push("profit-transfer");
    if period.month == 12 {
        steps.push("year-end");
    }
    let code = |role| book.account_for(role).map(|a| a.code.clone()).unwrap_or_default();
    for kind in steps {
        let balances = balances_at(bus, book_id, settings.first_period, period).await?;
        let lines = match kind {
            "vat-transfer" => vat_transfer(&book.accounts, &balances),
            "surcharges" => {
                let journal: PeriodJournal = bus.load(&journal_stream(book_id, period)).await?;
                // A general taxpayer's VAT of the month is what the transfer moved; a small-scale
                // taxpayer's is the levy its sales were charged (its output VAT of the month).
                let vat_payable = if general {
                    journal.net(&code(R::VatTransferredOut))
                } else {
                    -journal.net(&code(R::OutputVat))
                };
                let accrued = (
                    -journal.net(&code(R::UrbanConstructionTax)),
                    -journal.net(&code(R::EducationSurcharge)),
                );
                surcharges(&book.accounts, vat_payable, book.surcharges.unwrap_or_default(), accrued)
            }
            "profit-transfer" => profit_transfer(&book.accounts, &balances),
            _ => year_end(&book.accounts, &balances),
        };
        let Some(lines) = lines else { continue };
        // Named after the month's state: a second run with nothing new finds nothing to move; after late
        // postings it makes a new voucher for what they added.
        let journal: PeriodJournal = bus.load(&journal_stream(book_id, period)).await?;
        let name = format!("month-end/{period}/{kind}/{}", journal.posted.len());
        let id = VoucherId(Uuid::new_v5(&book_id.0, name.as_bytes()));
        let step = CommandMeta { command_id: CommandId(Uuid::new_v5(&id.0, b"draft")), ..meta.clone() };
        let word = match book.words {
            domain::finance::book::WordScheme::Single => VoucherWord::Ji,
            domain::finance::book::WordScheme::ReceiptPaymentTransfer => VoucherWord::Zhuan,
        };
        let draft = VoucherDraft {
            id,
            book: book_id,
            word,
            date: period.last_instant(settings.utc_offset_minutes),
            lines,
            source: Some(VoucherSource {
                kind: domain::finance::month_end::MONTH_END_SOURCE.into(),
                id: book_id.0,
                event: domain::EventId::derive(step.command_id, 0),
            }),
            reverses: None,
        };
        draft_voucher(bus, &step, &draft).await?;
        if !settings.auto_post {
            report.waiting_for_review.push(id);
            // Later steps need this one posted (the profit transfer moves what the year end closes).
            break;
        }
        let number = post_voucher(
            bus,
            &CommandMeta { command_id: CommandId(Uuid::new_v5(&id.0, b"post")), ..meta.clone() },
            id,
        )
        .await?;
        match kind {
            "vat-transfer" => report.vat_transfer = Some(number),
            "profit-transfer" => report.profit_transfer = Some(number),
            "surcharges" => report.surcharges = Some(number),
            _ => report.year_end = Some(number),
        }
    }
    Ok(report)
}

/// What a book starts with (see `domain::finance::opening`).
#[derive(Clone, Debug, PartialEq)]
pub struct Opening {
    pub lines: Vec<VoucherLine>,
    pub receivables: Vec<domain::finance::opening::OpeningItem>,
    pub payables: Vec<domain::finance::opening::OpeningItem>,
    pub stock: Vec<domain::finance::opening::OpeningStock>,
}

/// The source kind of what opening balances post.
pub const OPENING_SOURCE: &str = "finance.Opening";

/// Enters a book's opening balances: checked against their items and stock, posted into the journal of
/// the month before the book's first (so every report shows them as opening), and the stock received
/// into each stock item at its cost. Every step runs under an id derived from `meta`'s, so entering the
/// same opening again after a crash completes it without doing anything twice.
pub async fn enter_opening_balances<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    book_id: BookId,
    opening: &Opening,
) -> Result<(), FinanceError> {
    use domain::finance::accounts::AccountRole;
    use domain::finance::opening::{OpeningBalances, OpeningCommand, OpeningFacts};
    let book: Book = bus.load(&book_stream(book_id)).await?;
    let Some(settings) = book.settings.clone() else {
        return Err(voucher_rejected(VoucherRejection::NotFound));
    };
    let code = |role| book.account_for(role).map(|a| a.code.clone()).unwrap_or_default();
    let mut unpostable: Vec<String> =
        opening.lines.iter().filter(|l| !book.is_postable(&l.account)).map(|l| l.account.clone()).collect();
    unpostable.sort();
    unpostable.dedup();
    let facts = OpeningFacts {
        receivables_account: code(AccountRole::Receivables),
        payables_accounts: vec![code(AccountRole::Payables), code(AccountRole::Grni)],
        inventory_accounts: vec![code(AccountRole::Inventory), code(AccountRole::RawMaterials)],
        unpostable_accounts: unpostable,
    };
    let enter = OpeningCommand::Enter {
        book: book_id,
        lines: opening.lines.clone(),
        receivables: opening.receivables.clone(),
        payables: opening.payables.clone(),
        stock: opening.stock.clone(),
        facts,
    };
    let step = step_meta(meta, b"opening/enter");
    bus.execute::<OpeningBalances>(&step, &enter).await.map_err(FinanceError::Opening)?;
    let before_first = settings.first_period.previous().unwrap_or(settings.first_period);
    let voucher = VoucherId(Uuid::new_v5(&book_id.0, b"opening-balances"));
    let post = JournalCommand::Post {
        book: book_id,
        period: before_first,
        voucher,
        word: VoucherWord::Ji,
        date: before_first.last_instant(settings.utc_offset_minutes),
        lines: opening.lines.clone(),
        source: Some(VoucherSource {
            kind: OPENING_SOURCE.into(),
            id: book_id.0,
            event: domain::EventId::derive(step.command_id, 0),
        }),
        reverses: None,
    };
    bus.execute::<PeriodJournal>(&step_meta(meta, b"opening/post"), &post)
        .await
        .map_err(FinanceError::Journal)?;
    // Each open receivable becomes an invoice that receipts can pay (it books nothing: it is in the
    // opening balances already).
    for (n, item) in
        opening.receivables.iter().enumerate().filter(|(_, i)| i.amount > rust_decimal::Decimal::ZERO)
    {
        let open = domain::sales::SalesInvoiceCommand::OpenFromOpeningBalance {
            id: domain::SalesInvoiceId(domain::finance::opening::opening_document(book_id, true, n)),
            customer: item.partner,
            reference: item.reference.clone(),
            amount_gross: item.amount,
            issued_at: item.dated,
            due_at: item.due,
        };
        let step = step_meta(meta, format!("opening/receivable/{n}").as_bytes());
        bus.execute::<domain::sales::SalesInvoice>(&step, &open).await.map_err(FinanceError::Invoice)?;
    }
    // Likewise each open payable becomes a purchase invoice that supplier payments can pay.
    for (n, item) in
        opening.payables.iter().enumerate().filter(|(_, i)| i.amount > rust_decimal::Decimal::ZERO)
    {
        let open = domain::purchasing::PurchaseInvoiceCommand::OpenFromOpeningBalance {
            id: domain::PurchaseInvoiceId(domain::finance::opening::opening_document(book_id, false, n)),
            supplier: item.partner,
            reference: item.reference.clone(),
            amount_gross: item.amount,
            issued_at: item.dated,
            due_at: item.due,
        };
        let step = step_meta(meta, format!("opening/payable/{n}").as_bytes());
        bus.execute::<domain::purchasing::PurchaseInvoice>(&step, &open)
            .await
            .map_err(FinanceError::PurchaseInvoice)?;
    }
    for (n, line) in opening.stock.iter().enumerate() {
        let item: domain::master::Item =
            bus.load_in(meta.book, &domain::master::Item::stream(line.item)).await?;
        let (costing, safety_stock) =
            item.details.as_ref().map_or(
                (domain::inventory::CostingMethod::MovingAverage, rust_decimal::Decimal::ZERO),
                |d| (d.costing, d.safety_stock),
            );
        let (Ok(qty), Ok(unit_cost)) =
            (domain::values::Quantity::new(line.qty), domain::values::UnitAmount::new(line.unit_cost))
        else {
            continue;
        };
        let receive = domain::inventory::StockCommand::Receive {
            key: domain::inventory::StockKey { item: line.item, warehouse: line.warehouse },
            policy: domain::inventory::StockPolicy {
                costing,
                safety_stock,
                allow_negative: settings.allow_negative_stock,
            },
            qty,
            unit_cost,
            lot: None,
            bin: None,
            source: domain::inventory::DocRef {
                kind: OPENING_SOURCE.into(),
                id: book_id.0,
                line: Some(n as u32),
            },
        };
        let step = step_meta(meta, format!("opening/stock/{n}").as_bytes());
        bus.execute::<domain::inventory::StockItem>(&step, &receive).await.map_err(FinanceError::Stock)?;
    }
    Ok(())
}

/// Why a bank statement was not imported or matched.
#[derive(Debug)]
pub enum BankError {
    /// The CSV could not be read: the row (1-based, the header is row 1) and why.
    Csv {
        row: usize,
        reason: String,
    },
    Statement(BusError<domain::finance::bank::StatementRejection>),
}

impl BankError {
    pub fn code(&self) -> &'static str {
        match self {
            BankError::Csv { .. } => "bank.invalid_csv",
            BankError::Statement(e) => e.code(),
        }
    }
}

impl From<StoreError> for BankError {
    fn from(e: StoreError) -> Self {
        BankError::Statement(BusError::Store(e))
    }
}

/// Most bytes of a statement file.
pub const STATEMENT_CSV_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Reads a bank statement exported as CSV with the header `date,amount,counterparty,reference`: dates
/// `YYYY-MM-DD` (taken at noon in the book's time zone), amounts with a sign (money out negative).
pub fn parse_statement_csv(
    text: &str,
    utc_offset_minutes: i32,
) -> Result<Vec<domain::finance::bank::StatementLine>, BankError> {
    let fail = |row: usize, reason: String| BankError::Csv { row, reason };
    if text.len() > STATEMENT_CSV_BYTES_MAX {
        return Err(fail(0, format!("the file is larger than {STATEMENT_CSV_BYTES_MAX} bytes")));
    }
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| fail(1, e.to_string()))?.clone();
    let expected = ["date", "amount", "counterparty", "reference"];
    if headers.len() != 4 || headers.iter().zip(expected).any(|(h, e)| !h.eq_ignore_ascii_case(e)) {
        return Err(fail(1, format!("the header must be {}", expected.join(","))));
    }
    let mut lines = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = record.map_err(|e| fail(row, e.to_string()))?;
        if record.len() != 4 {
            return Err(fail(row, format!("{} fields, 4 expected", record.len())));
        }
        let date = domain::time::parse_local_date(&record[0], utc_offset_minutes)
            .ok_or_else(|| fail(row, format!("{:?} is not a date YYYY-MM-DD", &record[0])))?;
        let amount: rust_decimal::Decimal = record[1]
            .replace(',', "")
            .parse()
            .map_err(|_| fail(row, format!("{:?} is not an amount", &record[1])))?;
        lines.push(domain::finance::bank::StatementLine {
            date,
            amount,
            counterparty: record[2].to_string(),
            reference: record[3].to_string(),
        });
    }
    Ok(lines)
}

/// What importing a statement found.
#[derive(Debug, PartialEq, Eq)]
pub struct StatementReport {
    pub matched: Vec<(u32, domain::finance::bank::MatchTarget)>,
    /// Lines left for a person to match.
    pub unmatched: Vec<u32>,
}

/// The receipts and payments of `book` dated between `from` and `to` (within the matching window), with
/// their counterparties' names. Reads the log; the read side will serve this from a projection.
async fn match_candidates<S: EventStore>(
    bus: &CommandBus<S>,
    book: BookId,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<domain::finance::bank::Candidate>, StoreError> {
    use domain::finance::bank::{Candidate, MATCH_WINDOW_DAYS, MatchTarget};
    use domain::master::Partner;
    use domain::purchasing::SupplierPaymentEvent;
    use domain::sales::CustomerReceiptEvent;
    let window = MATCH_WINDOW_DAYS * 86_400_000_000;
    let mut found = Vec::new();
    scan_book(bus, book, |event| {
        let at = event.metadata.occurred_at;
        if at.0 < from.0 - window || at.0 > to.0 + window {
            return Ok(());
        }
        match event.event_type.name() {
            "sales.CustomerReceiptRecorded" => {
                if let CustomerReceiptEvent::Recorded(r) =
                    decode_domain_event(&event.event_type, &event.payload)?
                {
                    found.push((MatchTarget::CustomerReceipt(r.id), r.amount, r.customer, at));
                }
            }
            "purchasing.SupplierPaid" => {
                let SupplierPaymentEvent::Paid(p) = decode_domain_event(&event.event_type, &event.payload)?;
                found.push((MatchTarget::SupplierPayment(p.id), -p.amount, p.supplier, at));
            }
            _ => {}
        }
        Ok(())
    })
    .await?;
    let mut candidates = Vec::with_capacity(found.len());
    for (target, amount, partner, date) in found {
        let counterparty = bus
            .inspect_in::<Partner, String>(book, &Partner::stream(partner), |p| {
                p.details.as_ref().map(|d| d.name.clone()).unwrap_or_default()
            })
            .await?;
        candidates.push(Candidate { target, amount, date, counterparty });
    }
    Ok(candidates)
}

/// Imports a bank statement from CSV and matches what it can automatically; the report lists the pairs
/// and the lines left for a person.
pub async fn import_bank_statement<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    book: BookId,
    statement: Uuid,
    account: &str,
    csv_text: &str,
) -> Result<StatementReport, BankError> {
    use domain::finance::bank::{BankStatement, StatementCommand, auto_match};
    let book_state: Book = bus.load(&book_stream(book)).await?;
    let offset = book_state.settings.as_ref().map_or(480, |s| s.utc_offset_minutes);
    let lines = parse_statement_csv(csv_text, offset)?;
    let import =
        StatementCommand::Import { id: statement, book, account: account.to_string(), lines: lines.clone() };
    bus.execute::<BankStatement>(&step_meta(meta, b"bank/import"), &import)
        .await
        .map_err(BankError::Statement)?;
    let from = lines.iter().map(|l| l.date).min().unwrap_or(Timestamp(0));
    let to = lines.iter().map(|l| l.date).max().unwrap_or(Timestamp(0));
    let candidates = match_candidates(bus, book, from, to).await?;
    let state: BankStatement =
        bus.load_in(meta.book, &domain::finance::bank::BankStatement::stream(statement)).await?;
    for (line, target) in auto_match(&lines, &candidates) {
        if state.matches.contains(&Some(target)) || state.matches[line as usize].is_some() {
            continue;
        }
        let amount = lines[line as usize].amount;
        let matching = StatementCommand::Match { id: statement, line, target, amount, automatic: true };
        let step = step_meta(meta, format!("bank/match/{line}").as_bytes());
        bus.execute::<BankStatement>(&step, &matching).await.map_err(BankError::Statement)?;
    }
    let state: BankStatement =
        bus.load_in(meta.book, &domain::finance::bank::BankStatement::stream(statement)).await?;
    let matched = state.matches.iter().enumerate().filter_map(|(i, m)| m.map(|t| (i as u32, t))).collect();
    Ok(StatementReport { matched, unmatched: state.unmatched() })
}

/// Matches a statement line by hand to a receipt or payment, whose amount is read from the books.
pub async fn match_statement_line<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    statement: Uuid,
    line: u32,
    target: domain::finance::bank::MatchTarget,
) -> Result<(), BankError> {
    use domain::finance::bank::{BankStatement, MatchTarget, StatementCommand};
    let amount = match target {
        MatchTarget::CustomerReceipt(id) => {
            let receipt: domain::sales::CustomerReceipt =
                bus.load_in(meta.book, &domain::sales::CustomerReceipt::stream(id)).await?;
            receipt.recorded.map(|r| r.amount)
        }
        MatchTarget::SupplierPayment(id) => {
            let payment: domain::purchasing::SupplierPayment =
                bus.load_in(meta.book, &domain::purchasing::SupplierPayment::stream(id)).await?;
            payment.paid.map(|p| -p.amount)
        }
    };
    // A receipt or payment the books do not hold matches nothing: zero never equals a statement amount.
    let matching = StatementCommand::Match {
        id: statement,
        line,
        target,
        amount: amount.unwrap_or_default(),
        automatic: false,
    };
    bus.execute::<BankStatement>(meta, &matching).await.map_err(BankError::Statement)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_csv_is_read_with_its_dates_at_local_noon_and_a_bad_row_is_named() {
        let csv = "date,amount,counterparty,reference\n2026-11-10,\"1,130.00\",\"华东贸易, 上海\",INV-1\n2026-11-11,-3000,义乌供应商,\n";
        let lines = parse_statement_csv(csv, 480).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].amount, "1130.00".parse().unwrap());
        assert_eq!(lines[0].counterparty, "华东贸易, 上海");
        assert_eq!(Period::containing(lines[0].date, 480), Period::new(2026, 11).unwrap());
        assert_eq!(lines[0].date, Timestamp(1_794_283_200_000_000), "12:00 in Shanghai is 04:00 UTC");
        assert_eq!(lines[1].amount, "-3000".parse().unwrap());
        for (bad, row) in [
            ("date,amount,counterparty,reference\n2026-02-30,1,a,b\n", 2),
            ("date,amount,counterparty,reference\n2026-11-10,abc,a,b\n", 2),
            ("date,amount,counterparty,reference\n2026-11-10,1,a,b\n2026/11/10,1,a,b\n", 3),
            ("day,amount,counterparty,reference\n", 1),
        ] {
            match parse_statement_csv(bad, 480) {
                Err(BankError::Csv { row: r, .. }) => assert_eq!(r, row, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}

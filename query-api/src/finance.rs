//! The books over GraphQL: account detail (明细账) with running balances, the voucher list (凭证列表), a
//! voucher with its source document and the very event behind it (财务穿透), the balance sheet and the
//! income statement (also per department), and partners' open items and statements (对账单).
//!
//! The ledger model keeps balances and the log positions of postings; the lines themselves are read
//! back from the log by position, a page at a time (never a replay).

use std::sync::Arc;

use async_graphql::{Context, Enum, Object, SimpleObject};
use domain::finance::journal::{JournalEvent, VoucherPosted};
use domain::finance::voucher::{VoucherSource, VoucherWord};
use domain::time::Period;
use domain::{PartnerId, VoucherId};
use projections::ledger::entries;
use projections::open_items::{ItemKind, Ledger as Which};
use projections::reports::{BalanceSheet, IncomeStatement};
use rust_decimal::Decimal;

use crate::{
    AsOfInput, EventEnvelope, ReadSide, Subledger, chart, check_page, date, end_of, error, events_at, money,
    split_page, store_error, uuid, with_model,
};

/// The most events of a voucher's business flow read to find the event that caused it.
pub const DRILL_DOWN_EVENTS_MAX: usize = 10_000;

/// 凭证字.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum Word {
    /// 记
    Ji,
    /// 收
    Shou,
    /// 付
    Fu,
    /// 转
    Zhuan,
}

impl Word {
    fn of(word: VoucherWord) -> Word {
        match word {
            VoucherWord::Ji => Word::Ji,
            VoucherWord::Shou => Word::Shou,
            VoucherWord::Fu => Word::Fu,
            VoucherWord::Zhuan => Word::Zhuan,
        }
    }

    fn model(self) -> VoucherWord {
        match self {
            Word::Ji => VoucherWord::Ji,
            Word::Shou => VoucherWord::Shou,
            Word::Fu => VoucherWord::Fu,
            Word::Zhuan => VoucherWord::Zhuan,
        }
    }
}

/// The document and event a voucher was made from (automatic vouchers).
#[derive(SimpleObject, Clone)]
pub struct VoucherSourceView {
    /// The document's kind, e.g. `sales.Shipment`.
    pub kind: String,
    pub id: String,
    /// The id of the event that caused the voucher.
    pub event_id: String,
}

/// One line of an account's detail, with the balance after it (signed, debits positive).
#[derive(SimpleObject)]
pub struct LedgerLine {
    /// The log position of the voucher's posting.
    pub position: u64,
    pub period: String,
    pub voucher: String,
    pub word: Word,
    pub number: u32,
    /// Business time, microseconds since 1970-01-01 UTC.
    pub date: i64,
    pub summary: String,
    pub debit: String,
    pub credit: String,
    pub balance: String,
    pub partner: Option<String>,
    pub department: Option<String>,
    pub source: Option<VoucherSourceView>,
}

#[derive(SimpleObject)]
pub struct AccountDetail {
    pub account: String,
    /// The balance before the first month (signed, debits positive).
    pub opening: String,
    pub nodes: Vec<LedgerLine>,
    /// Pass as `after` for the next page; none on the last.
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
    /// The balance at the end of the last month.
    pub closing: String,
    pub position: u64,
}

#[derive(SimpleObject)]
pub struct VoucherLineView {
    pub account: String,
    pub summary: String,
    pub debit: String,
    pub credit: String,
    pub partner: Option<String>,
    pub department: Option<String>,
}

/// A posted voucher as the log holds it.
#[derive(SimpleObject)]
pub struct VoucherView {
    /// The log position of its posting.
    pub position: u64,
    pub id: String,
    pub period: String,
    pub word: Word,
    pub number: u32,
    pub date: i64,
    pub lines: Vec<VoucherLineView>,
    pub debit_total: String,
    pub credit_total: String,
    pub source: Option<VoucherSourceView>,
    /// The voucher this one reverses (红字冲销), if it does.
    pub reverses: Option<String>,
    pub posted_by: String,
    /// The posting's own envelope: who posted it, when, in which flow.
    pub posting: EventEnvelope,
    /// The event that caused the voucher, found in its business flow (drill-down to the fact); asked
    /// for only by `voucher`, none in lists.
    pub source_event: Option<EventEnvelope>,
}

#[derive(SimpleObject)]
pub struct VoucherPage {
    pub nodes: Vec<VoucherView>,
    /// How many vouchers the month (and word) holds.
    pub total: u64,
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
    pub position: u64,
}

/// 资产负债表 (小企业会计准则, condensed).
#[derive(SimpleObject)]
pub struct BalanceSheetReport {
    pub period: String,
    pub position: u64,
    pub cash: String,
    pub receivables: String,
    pub prepayments: String,
    pub other_receivables: String,
    pub inventories: String,
    pub pending_losses: String,
    pub fixed_assets: String,
    pub total_assets: String,
    pub short_term_loans: String,
    pub payables: String,
    pub advance_receipts: String,
    pub payroll_payable: String,
    pub taxes_payable: String,
    pub other_payables: String,
    pub total_liabilities: String,
    pub paid_in_capital: String,
    pub retained_earnings: String,
    pub total_equity: String,
}

/// 利润表 over a range of months.
#[derive(SimpleObject)]
pub struct IncomeStatementReport {
    pub from: String,
    pub to: String,
    /// The department reported (部门利润表); none for the whole company.
    pub department: Option<String>,
    pub position: u64,
    pub revenue: String,
    pub cost_of_sales: String,
    pub taxes_and_surcharges: String,
    pub selling_expenses: String,
    pub admin_expenses: String,
    pub finance_expenses: String,
    pub operating_profit: String,
    pub non_operating_income: String,
    pub non_operating_expenses: String,
    pub profit_before_tax: String,
    pub income_tax: String,
    pub net_profit: String,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OpenItemKind {
    Invoice,
    /// Money received or paid ahead of an invoice.
    Advance,
    /// A red invoice of a return.
    Credit,
}

fn kind_of(kind: ItemKind) -> OpenItemKind {
    match kind {
        ItemKind::Invoice => OpenItemKind::Invoice,
        ItemKind::Advance => OpenItemKind::Advance,
        ItemKind::Credit => OpenItemKind::Credit,
    }
}

#[derive(SimpleObject)]
pub struct Settlement {
    pub date: i64,
    pub amount: String,
}

/// An invoice, advance or credit of a partner with what is still open and what settled it (核销).
#[derive(SimpleObject)]
pub struct OpenItemView {
    pub document: String,
    pub kind: OpenItemKind,
    pub dated: i64,
    pub due: i64,
    pub amount: String,
    pub open: String,
    pub settlements: Vec<Settlement>,
}

#[derive(SimpleObject)]
pub struct StatementLineView {
    pub date: i64,
    pub document: String,
    pub kind: OpenItemKind,
    /// The document itself (`true`) or a settlement of it.
    pub opened: bool,
    /// Signed: what it adds to the balance.
    pub amount: String,
    pub balance: String,
}

/// 对账单: what a partner owed (or was owed) before the range, every movement in it, and after.
#[derive(SimpleObject)]
pub struct PartnerStatement {
    pub partner: String,
    pub position: u64,
    pub opening: String,
    pub lines: Vec<StatementLineView>,
    pub closing: String,
}

fn month(text: &str) -> async_graphql::Result<Period> {
    Period::parse(text).ok_or_else(|| error("input.invalid", format!("{text:?} is not a month (YYYY-MM)")))
}

fn which(subledger: Subledger) -> Which {
    match subledger {
        Subledger::Receivable => Which::Receivable,
        Subledger::Payable => Which::Payable,
    }
}

impl From<&VoucherSource> for VoucherSourceView {
    fn from(source: &VoucherSource) -> Self {
        VoucherSourceView {
            kind: source.kind.clone(),
            id: source.id.to_string(),
            event_id: source.event.0.to_string(),
        }
    }
}

/// The posting at each position, decoded.
async fn postings(
    read: &ReadSide,
    positions: &[u64],
) -> async_graphql::Result<Vec<(infra::RecordedEvent, VoucherPosted)>> {
    let mut out = Vec::with_capacity(positions.len());
    for event in events_at(&read.store, positions).await? {
        let decoded: JournalEvent =
            infra::codec::decode_domain_event(&event.event_type, &event.payload).map_err(store_error)?;
        let JournalEvent::Posted(posted) = decoded else {
            return Err(error("store.unexpected", format!("position {} is not a posting", event.position)));
        };
        out.push((event, posted));
    }
    Ok(out)
}

fn voucher_view(event: &infra::RecordedEvent, posted: VoucherPosted) -> VoucherView {
    let debit: Decimal = posted.lines.iter().map(|l| l.debit).sum();
    let credit: Decimal = posted.lines.iter().map(|l| l.credit).sum();
    VoucherView {
        position: event.position,
        id: posted.voucher.0.to_string(),
        period: posted.period.to_string(),
        word: Word::of(posted.word),
        number: posted.number,
        date: posted.date.0,
        source: posted.source.as_ref().map(VoucherSourceView::from),
        reverses: posted.reverses.map(|v| v.0.to_string()),
        posted_by: posted.by.clone(),
        debit_total: money(debit),
        credit_total: money(credit),
        lines: posted
            .lines
            .into_iter()
            .map(|l| VoucherLineView {
                account: l.account,
                summary: l.summary,
                debit: money(l.debit),
                credit: money(l.credit),
                partner: l.partner.map(|p| p.to_string()),
                department: l.department,
            })
            .collect(),
        posting: EventEnvelope::of(event),
        source_event: None,
    }
}

/// A cursor over an offset into a list, with the running balance at that point: `offset:balance`.
fn parse_offset_cursor(cursor: &str) -> async_graphql::Result<(u64, Option<Decimal>)> {
    let invalid = || error("input.invalid", format!("{cursor:?} is not a cursor of this list"));
    match cursor.split_once(':') {
        Some((offset, balance)) => {
            Ok((offset.parse().map_err(|_| invalid())?, Some(balance.parse().map_err(|_| invalid())?)))
        }
        None => Ok((cursor.parse().map_err(|_| invalid())?, None)),
    }
}

#[derive(Default)]
pub struct FinanceQuery;

#[Object]
impl FinanceQuery {
    /// An account's detail (明细账) over the months [from, to]: each voucher line posted to it (not
    /// to its sub-accounts) in posting order, with the balance after it; a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn account_detail(
        &self,
        ctx: &Context<'_>,
        book: String,
        account: String,
        from: String,
        to: String,
        #[graphql(default = 50)] first: usize,
        after: Option<String>,
        min_position: Option<u64>,
    ) -> async_graphql::Result<AccountDetail> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        check_page(first)?;
        let book = crate::book_of(ctx, &book)?;
        let (from, to) = (month(&from)?, month(&to)?);
        if from > to {
            return Err(error("input.invalid", "from is after to"));
        }
        let (skip, carried) = match after.as_deref() {
            Some(cursor) => parse_offset_cursor(cursor)?,
            None => (0, None),
        };
        let before = from.previous();
        let ((positions, opening, closing), position) =
            with_model(read, &read.models.ledger, None, min_position, None, |ledgers| {
                let ledger = ledgers.book(book);
                let opening = before.map_or(Decimal::ZERO, |p| ledger.balance(&account, p));
                let closing = ledger.balance(&account, to);
                (ledger.detail_page(&account, from..=to, skip, first + 1), opening, closing)
            })
            .await?;
        let (positions, has_next_page) = split_page(positions, first);
        // The balance carried from the earlier pages (in the cursor), else the opening balance.
        let mut balance = if skip == 0 {
            opening
        } else {
            carried.ok_or_else(|| error("input.invalid", "the cursor carries no balance"))?
        };
        let mut nodes = Vec::new();
        for (event, posted) in postings(read, &positions).await? {
            for entry in entries(&account, event.position, &posted) {
                balance += entry.debit - entry.credit;
                nodes.push(LedgerLine {
                    position: entry.position,
                    period: entry.period.to_string(),
                    voucher: entry.voucher.0.to_string(),
                    word: Word::of(entry.word),
                    number: entry.number,
                    date: entry.date.0,
                    summary: entry.summary,
                    debit: money(entry.debit),
                    credit: money(entry.credit),
                    balance: money(balance),
                    partner: entry.partner.map(|p| p.to_string()),
                    department: entry.department,
                    source: entry.source.as_ref().map(VoucherSourceView::from),
                });
            }
        }
        let end_cursor = has_next_page.then(|| format!("{}:{balance}", skip + positions.len() as u64));
        Ok(AccountDetail {
            account,
            opening: money(opening),
            nodes,
            end_cursor,
            has_next_page,
            closing: money(closing),
            position,
        })
    }

    /// A month's vouchers (凭证列表), of one word or all, in word then number order; a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn vouchers(
        &self,
        ctx: &Context<'_>,
        book: String,
        period: String,
        word: Option<Word>,
        #[graphql(default = 50)] first: usize,
        after: Option<String>,
        min_position: Option<u64>,
    ) -> async_graphql::Result<VoucherPage> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        check_page(first)?;
        let book = crate::book_of(ctx, &book)?;
        let period = month(&period)?;
        let skip = match after.as_deref() {
            Some(cursor) => parse_offset_cursor(cursor)?.0,
            None => 0,
        };
        let ((positions, total), position) =
            with_model(read, &read.models.ledger, None, min_position, None, |ledgers| {
                ledgers.book(book).journal_page(period, word.map(Word::model), skip, first + 1)
            })
            .await?;
        let (positions, has_next_page) = split_page(positions, first);
        let nodes: Vec<VoucherView> =
            postings(read, &positions).await?.into_iter().map(|(e, p)| voucher_view(&e, p)).collect();
        let end_cursor = has_next_page.then(|| (skip + nodes.len() as u64).to_string());
        Ok(VoucherPage { nodes, total, end_cursor, has_next_page, position })
    }

    /// One posted voucher with its lines, its source document and the event that caused it (财务穿透:
    /// from a figure to the voucher, the document and the fact).
    async fn voucher(
        &self,
        ctx: &Context<'_>,
        book: String,
        id: String,
        min_position: Option<u64>,
    ) -> async_graphql::Result<Option<VoucherView>> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = crate::book_of(ctx, &book)?;
        let voucher = VoucherId(uuid("voucher", &id)?);
        let (at, _) = with_model(read, &read.models.ledger, None, min_position, None, |ledgers| {
            ledgers.book(book).voucher_position(voucher)
        })
        .await?;
        let Some(at) = at else { return Ok(None) };
        let Some((event, posted)) = postings(read, &[at]).await?.pop() else { return Ok(None) };
        let cause = posted.source.as_ref().map(|s| s.event);
        let mut view = voucher_view(&event, posted);
        if let Some(cause) = cause {
            // The voucher was made in the flow of the event that caused it: that flow's events (the
            // audit index by correlation id) hold it.
            let filter = projections::audit::AuditFilter {
                correlation: Some(event.metadata.correlation_id),
                ..Default::default()
            };
            // The cause came before the posting; a flow of more than DRILL_DOWN_EVENTS_MAX events is
            // not searched to its end (the source's event id is still there to follow).
            let (mut after, mut examined) = (0, 0);
            while examined < DRILL_DOWN_EVENTS_MAX {
                let (candidates, _) = read.models.audit.read(|audit| {
                    audit.book(book).positions(&filter, after, crate::PAGE_MAX).unwrap_or_default()
                });
                let candidates: Vec<u64> = candidates.into_iter().filter(|p| *p < event.position).collect();
                let Some(last) = candidates.last().copied() else { break };
                examined += candidates.len();
                let found =
                    events_at(&read.store, &candidates).await?.into_iter().find(|e| e.event_id == cause);
                if let Some(found) = found {
                    view.source_event = Some(EventEnvelope::of(&found));
                    break;
                }
                after = last;
            }
        }
        Ok(Some(view))
    }

    /// The balance sheet (资产负债表) of a book at the end of a month.
    async fn balance_sheet(
        &self,
        ctx: &Context<'_>,
        book: String,
        period: String,
        min_position: Option<u64>,
        as_of: Option<AsOfInput>,
    ) -> async_graphql::Result<BalanceSheetReport> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = crate::book_of(ctx, &book)?;
        let month = month(&period)?;
        let accounts = chart(&read.store, book).await?;
        let (sheet, position) =
            with_model(read, &read.models.ledger, Some(&read.ledger_as_of), min_position, as_of, |ledgers| {
                BalanceSheet::at(ledgers.book(book), &accounts, month)
            })
            .await?;
        Ok(BalanceSheetReport {
            period,
            position,
            cash: money(sheet.cash),
            receivables: money(sheet.receivables),
            prepayments: money(sheet.prepayments),
            other_receivables: money(sheet.other_receivables),
            inventories: money(sheet.inventories),
            pending_losses: money(sheet.pending_losses),
            fixed_assets: money(sheet.fixed_assets),
            total_assets: money(sheet.total_assets),
            short_term_loans: money(sheet.short_term_loans),
            payables: money(sheet.payables),
            advance_receipts: money(sheet.advance_receipts),
            payroll_payable: money(sheet.payroll_payable),
            taxes_payable: money(sheet.taxes_payable),
            other_payables: money(sheet.other_payables),
            total_liabilities: money(sheet.total_liabilities),
            paid_in_capital: money(sheet.paid_in_capital),
            retained_earnings: money(sheet.retained_earnings),
            total_equity: money(sheet.total_equity),
        })
    }

    /// The income statement (利润表) of a book over the months [from, to], of the whole company or of
    /// one department (部门利润表; the departments' statements add up to the company's).
    #[allow(clippy::too_many_arguments)]
    async fn income_statement(
        &self,
        ctx: &Context<'_>,
        book: String,
        from: String,
        to: String,
        department: Option<String>,
        min_position: Option<u64>,
        as_of: Option<AsOfInput>,
    ) -> async_graphql::Result<IncomeStatementReport> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = crate::book_of(ctx, &book)?;
        let (first, last) = (month(&from)?, month(&to)?);
        if first > last {
            return Err(error("input.invalid", "from is after to"));
        }
        let accounts = chart(&read.store, book).await?;
        let (statement, position) =
            with_model(read, &read.models.ledger, Some(&read.ledger_as_of), min_position, as_of, |ledgers| {
                let ledger = ledgers.book(book);
                match &department {
                    Some(d) => IncomeStatement::for_department(ledger, &accounts, first..=last, Some(d)),
                    None => IncomeStatement::over(ledger, &accounts, first..=last),
                }
            })
            .await?;
        Ok(IncomeStatementReport {
            from,
            to,
            department,
            position,
            revenue: money(statement.revenue),
            cost_of_sales: money(statement.cost_of_sales),
            taxes_and_surcharges: money(statement.taxes_and_surcharges),
            selling_expenses: money(statement.selling_expenses),
            admin_expenses: money(statement.admin_expenses),
            finance_expenses: money(statement.finance_expenses),
            operating_profit: money(statement.operating_profit),
            non_operating_income: money(statement.non_operating_income),
            non_operating_expenses: money(statement.non_operating_expenses),
            profit_before_tax: money(statement.profit_before_tax),
            income_tax: money(statement.income_tax),
            net_profit: money(statement.net_profit),
        })
    }

    /// A partner's items in a subledger with something open at a date (today's books when none is
    /// given), oldest first, each with what settled it so far (核销).
    #[allow(clippy::too_many_arguments)]
    async fn partner_open_items(
        &self,
        ctx: &Context<'_>,
        book: String,
        subledger: Subledger,
        partner: String,
        at: Option<String>,
        min_position: Option<u64>,
        as_of: Option<AsOfInput>,
    ) -> async_graphql::Result<Vec<OpenItemView>> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = crate::book_of(ctx, &book)?;
        let partner = PartnerId(uuid("partner", &partner)?);
        let at = end_of(at.as_deref())?;
        let (items, _) = with_model(
            read,
            &read.models.open_items,
            Some(&read.items_as_of),
            min_position,
            as_of,
            |items| {
                let items = items.book(book);
                items
                    .open_items(which(subledger), partner, at)
                    .into_iter()
                    .map(|i| OpenItemView {
                        document: i.document.to_string(),
                        kind: kind_of(i.kind),
                        dated: i.dated.0,
                        due: i.due.0,
                        amount: money(i.amount),
                        open: money(i.open_at(at)),
                        settlements: i
                            .settlements
                            .iter()
                            .filter(|(when, _)| *when <= at)
                            .map(|(when, amount)| Settlement { date: when.0, amount: money(*amount) })
                            .collect(),
                    })
                    .collect()
            },
        )
        .await?;
        Ok(items)
    }

    /// A partner's statement (对账单) over the days [from, to]: the balance brought forward, every
    /// invoice, advance, credit and settlement with the running balance, and the balance after.
    #[allow(clippy::too_many_arguments)]
    async fn partner_statement(
        &self,
        ctx: &Context<'_>,
        book: String,
        subledger: Subledger,
        partner: String,
        from: String,
        to: String,
        min_position: Option<u64>,
    ) -> async_graphql::Result<PartnerStatement> {
        let read = ctx.data_unchecked::<Arc<ReadSide>>();
        let book = crate::book_of(ctx, &book)?;
        let partner_id = PartnerId(uuid("partner", &partner)?);
        let (first, last) = (date(&from)?, end_of(Some(&to))?);
        if first > last {
            return Err(error("input.invalid", "from is after to"));
        }
        let (statement, position) =
            with_model(read, &read.models.open_items, None, min_position, None, |items| {
                let items = items.book(book);
                items.statement(which(subledger), partner_id, first, last)
            })
            .await?;
        Ok(PartnerStatement {
            partner,
            position,
            opening: money(statement.opening),
            closing: money(statement.closing),
            lines: statement
                .lines
                .into_iter()
                .map(|l| StatementLineView {
                    date: l.date.0,
                    document: l.document.to_string(),
                    kind: kind_of(l.kind),
                    opened: l.opened,
                    amount: money(l.amount),
                    balance: money(l.balance),
                })
                .collect(),
        })
    }
}

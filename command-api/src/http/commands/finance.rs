//! The book and its accounting: the book itself, opening balances, vouchers, bank statements, payroll,
//! month end, closing and reopening months.

use domain::finance::accounts::Standard;
use domain::finance::bank::{BankStatement, MatchTarget, StatementCommand};
use domain::finance::book::{BookCommand, BookSettings as FinanceBookSettings, VatStatus};
use domain::finance::opening::{OpeningBalances, OpeningCommand, OpeningFacts, OpeningItem, OpeningStock};
use domain::finance::payroll::{Payroll, PayrollCommand};
use domain::finance::voucher::{Voucher, VoucherCommand, VoucherLine, VoucherWord};
use domain::{CustomerReceiptId, SupplierPaymentId, VoucherId};

use super::*;
use crate::finance::{BankError, Opening, VoucherDraft};

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AccountingStandard {
    /// 小企业会计准则.
    #[default]
    SmallEnterprise,
    /// 企业会计准则.
    Enterprise,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Vat {
    /// 一般纳税人.
    #[default]
    General,
    /// 小规模纳税人.
    SmallScale,
}

/// Opens the caller's book (账套): its chart of accounts and first month.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBook {
    pub name: String,
    #[serde(default)]
    pub standard: AccountingStandard,
    /// The first month kept in this book: YYYY-MM.
    #[schemars(regex(pattern = MONTH_PATTERN))]
    pub first_period: String,
    #[serde(default)]
    pub vat: Vat,
    #[serde(default)]
    pub allow_negative_stock: bool,
    /// Whether automatic vouchers post without review (default true).
    pub auto_post: Option<bool>,
}

impl HttpCommand for CreateBook {
    const NAME: &'static str = "create-book";
    const SUMMARY: &'static str = "Creates the caller's book with its chart of accounts.";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let first_period = Period::parse(&self.first_period).ok_or_else(|| {
            Problem::bad_request(
                "input.invalid",
                format!("firstPeriod {:?} is not a month (YYYY-MM)", self.first_period),
            )
        })?;
        let settings = FinanceBookSettings {
            name: self.name,
            standard: match self.standard {
                AccountingStandard::SmallEnterprise => Standard::SmallEnterprise,
                AccountingStandard::Enterprise => Standard::Enterprise,
            },
            first_period,
            vat: match self.vat {
                Vat::General => VatStatus::General,
                Vat::SmallScale => VatStatus::SmallScale,
            },
            allow_negative_stock: self.allow_negative_stock,
            auto_post: self.auto_post.unwrap_or(true),
            utc_offset_minutes: CHINA_UTC_OFFSET_MINUTES,
        };
        let book = ctx.meta.book;
        run::<Book, S>(Self::NAME, &ctx, BookCommand::Create { id: book, settings }).await
    }
}

/// Sets the caller's book's purchasing policy: the estimated amount (net, yuan) up to which
/// submitting a requisition approves it (5,000 until set). The value is checked by the book, so a
/// refused one is a 422 with the book's code.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetPurchasingPolicy {
    /// Net yuan, at most two decimals, not negative.
    pub requisition_approval_threshold: Decimal,
}

impl HttpCommand for SetPurchasingPolicy {
    const NAME: &'static str = "set-purchasing-policy";
    const SUMMARY: &'static str = "Sets the book's requisition approval threshold.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let command = BookCommand::SetPurchasingPolicy {
            id: ctx.meta.book,
            requisition_approval_threshold: self.requisition_approval_threshold,
        };
        run::<Book, S>(Self::NAME, &ctx, command).await
    }
}

#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Word {
    /// 记.
    Ji,
    /// 收.
    Shou,
    /// 付.
    Fu,
    /// 转.
    Zhuan,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VoucherLineIn {
    /// 摘要.
    pub summary: String,
    /// Account code, e.g. "1002" or "6602.01".
    pub account: String,
    #[serde(default)]
    pub debit: Decimal,
    #[serde(default)]
    pub credit: Decimal,
    #[schemars(with = "Option<Uuid>")]
    pub partner: Option<PartnerId>,
    #[schemars(with = "Option<Uuid>")]
    pub item: Option<ItemId>,
    pub department: Option<String>,
}

/// A manual voucher (记账凭证), drafted into the month of its date; it is posted after review.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DraftVoucher {
    #[schemars(with = "Uuid")]
    pub id: VoucherId,
    pub word: Word,
    /// YYYY-MM-DD.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub date: String,
    pub lines: Vec<VoucherLineIn>,
}

fn voucher_lines(lines: Vec<VoucherLineIn>) -> Result<Vec<VoucherLine>, Problem> {
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.into_iter().enumerate() {
        out.push(VoucherLine {
            summary: l.summary,
            account: l.account,
            debit: money(&format!("lines[{i}].debit"), l.debit)?,
            credit: money(&format!("lines[{i}].credit"), l.credit)?,
            partner: l.partner,
            item: l.item,
            department: l.department,
        });
    }
    Ok(out)
}

impl HttpCommand for DraftVoucher {
    const NAME: &'static str = "draft-voucher";
    const SUMMARY: &'static str = "Drafts a manual voucher.";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let lines = voucher_lines(self.lines)?;
        let draft = VoucherDraft {
            id: self.id,
            book: ctx.meta.book,
            word: match self.word {
                Word::Ji => VoucherWord::Ji,
                Word::Shou => VoucherWord::Shou,
                Word::Fu => VoucherWord::Fu,
                Word::Zhuan => VoucherWord::Zhuan,
            },
            date: date("date", &self.date)?,
            lines,
            source: None,
            reverses: None,
        };
        let stream = Voucher::stream(self.id);
        let executed = crate::finance::draft_voucher(&ctx.bus, &ctx.meta, &draft)
            .await
            .map_err(|e| finance_problem(&e))?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

/// A reviewer (审核) checks a drafted voucher: not the person who drafted it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewVoucher {
    #[schemars(with = "Uuid")]
    pub id: VoucherId,
}

impl HttpCommand for ReviewVoucher {
    const NAME: &'static str = "review-voucher";
    const SUMMARY: &'static str = "Reviews a drafted voucher.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<Voucher, S>(Self::NAME, &ctx, VoucherCommand::Review { id: self.id }).await
    }
}

/// Posts (过账) a reviewed voucher into its month's journal, which numbers it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostVoucher {
    #[schemars(with = "Uuid")]
    pub id: VoucherId,
}

impl HttpCommand for PostVoucher {
    const NAME: &'static str = "post-voucher";
    const SUMMARY: &'static str = "Posts a reviewed voucher.";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        crate::finance::post_voucher(&ctx.bus, &ctx.meta, self.id).await.map_err(|e| finance_problem(&e))?;
        // The voucher's stream after posting is the answer (its number is in its events).
        let stream = Voucher::stream(self.id);
        let events = ctx
            .bus
            .store()
            .read_stream(&infra::StreamId::new(&stream).map_err(|e| Problem::from_store(&e))?, 0, 1000)
            .await
            .map_err(|e| Problem::from_store(&e))?;
        let last = events.last();
        Ok(Accepted {
            command: Self::NAME.to_string(),
            command_id: ctx.meta.command_id.0,
            stream,
            version: last.map(|e| e.stream_version),
            position: last.map(|e| e.position),
            duplicate: false,
            events: Vec::new(),
        })
    }
}

/// Month end (期末结转) for a month of the caller's book: the VAT transfer, surcharges, the profit
/// transfer (and in December the year end), as automatic vouchers. Running it again books only what
/// postings since added.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunMonthEnd {
    /// YYYY-MM.
    #[schemars(regex(pattern = MONTH_PATTERN))]
    pub period: String,
}

impl HttpCommand for RunMonthEnd {
    const NAME: &'static str = "run-month-end";
    const SUMMARY: &'static str = "Books a month's closing transfers (VAT, surcharges, profit).";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let period = period("period", &self.period)?;
        crate::finance::run_month_end(&ctx.bus, &ctx.meta, ctx.meta.book, period)
            .await
            .map_err(|e| finance_problem(&e))?;
        let journal = crate::finance::journal_stream(ctx.meta.book, period);
        book_answer::<domain::finance::journal::PeriodJournal, S>(Self::NAME, &ctx, journal).await
    }
}

/// Closes a month (结账) of the caller's book: no posting goes into it afterwards. The month before must
/// be closed and every voucher of the month posted or discarded.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClosePeriod {
    /// YYYY-MM.
    #[schemars(regex(pattern = MONTH_PATTERN))]
    pub period: String,
}

impl HttpCommand for ClosePeriod {
    const NAME: &'static str = "close-period";
    const SUMMARY: &'static str = "Closes a month of the book.";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let period = period("period", &self.period)?;
        let executed = crate::finance::close_period(&ctx.bus, &ctx.meta, ctx.meta.book, period)
            .await
            .map_err(|e| finance_problem(&e))?;
        let stream = crate::finance::journal_stream(ctx.meta.book, period);
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

/// Reverses a posted voucher with a red voucher (红字冲销) dated in an open month; the red voucher is
/// drafted and needs review before it is posted. A voucher is reversed once.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReverseVoucher {
    /// The posted voucher.
    #[schemars(with = "Uuid")]
    pub id: VoucherId,
    /// The red voucher's id.
    #[schemars(with = "Uuid")]
    pub reversal: VoucherId,
    /// YYYY-MM-DD.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub date: String,
}

impl HttpCommand for ReverseVoucher {
    const NAME: &'static str = "reverse-voucher";
    const SUMMARY: &'static str = "Reverses a posted voucher with a red voucher.";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let date = date("date", &self.date)?;
        let executed = crate::finance::reverse_voucher(&ctx.bus, &ctx.meta, self.id, self.reversal, date)
            .await
            .map_err(|e| finance_problem(&e))?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, Voucher::stream(self.reversal), executed))
    }
}

/// Drops a voucher that was never posted (作废).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiscardVoucher {
    #[schemars(with = "Uuid")]
    pub id: VoucherId,
    pub reason: String,
}

impl HttpCommand for DiscardVoucher {
    const NAME: &'static str = "discard-voucher";
    const SUMMARY: &'static str = "Discards a voucher that was never posted.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<Voucher, S>(Self::NAME, &ctx, VoucherCommand::Discard { id: self.id, reason: self.reason })
            .await
    }
}

/// Reopens a closed month (反结账) while the month after is still open; an admin's, with a reason.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReopenPeriod {
    /// YYYY-MM.
    #[schemars(regex(pattern = MONTH_PATTERN))]
    pub period: String,
    pub reason: String,
}

impl HttpCommand for ReopenPeriod {
    const NAME: &'static str = "reopen-period";
    const SUMMARY: &'static str = "Reopens a closed month.";
    const ROLES: &'static [Role] = &[];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let period = period("period", &self.period)?;
        let executed =
            crate::finance::reopen_period(&ctx.bus, &ctx.meta, ctx.meta.book, period, &self.reason)
                .await
                .map_err(|e| finance_problem(&e))?;
        let stream = crate::finance::journal_stream(ctx.meta.book, period);
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

// ---------------------------------------------------------------------------------------------------
// Opening balances

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenItemIn {
    #[schemars(with = "Uuid")]
    pub partner: PartnerId,
    /// The document's number in the previous system.
    pub reference: String,
    /// YYYY-MM-DD.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub dated: String,
    /// YYYY-MM-DD.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub due: String,
    /// Gross, still open.
    pub amount: Decimal,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpeningStockIn {
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    #[schemars(with = "Uuid")]
    pub warehouse: WarehouseId,
    pub qty: Decimal,
    pub unit_cost: Decimal,
}

/// The book's opening balances (期初余额), once: the accounts' balances as a balanced voucher, tied out
/// against the open receivables and payables (each dated, so payments can settle them) and the stock
/// on hand (received into each stock item at its cost).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnterOpeningBalances {
    pub lines: Vec<VoucherLineIn>,
    #[serde(default)]
    pub receivables: Vec<OpenItemIn>,
    #[serde(default)]
    pub payables: Vec<OpenItemIn>,
    #[serde(default)]
    pub stock: Vec<OpeningStockIn>,
}

fn open_items(what: &str, items: Vec<OpenItemIn>) -> Result<Vec<OpeningItem>, Problem> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        out.push(OpeningItem {
            partner: item.partner,
            reference: item.reference,
            dated: date(&format!("{what}[{i}].dated"), &item.dated)?,
            due: date(&format!("{what}[{i}].due"), &item.due)?,
            amount: money(&format!("{what}[{i}].amount"), item.amount)?,
        });
    }
    Ok(out)
}

impl HttpCommand for EnterOpeningBalances {
    const NAME: &'static str = "enter-opening-balances";
    const SUMMARY: &'static str = "Enters the book's opening balances, open items and stock, once.";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let lines = voucher_lines(self.lines)?;
        let mut stock = Vec::with_capacity(self.stock.len());
        for (i, s) in self.stock.into_iter().enumerate() {
            stock.push(OpeningStock {
                item: s.item,
                warehouse: s.warehouse,
                qty: qty(&format!("stock[{i}].qty"), s.qty)?.get(),
                unit_cost: price(&format!("stock[{i}].unitCost"), s.unit_cost)?.get(),
            });
        }
        let opening = Opening {
            lines,
            receivables: open_items("receivables", self.receivables)?,
            payables: open_items("payables", self.payables)?,
            stock,
        };
        let book = ctx.meta.book;
        crate::finance::enter_opening_balances(&ctx.bus, &ctx.meta, book, &opening)
            .await
            .map_err(|e| finance_problem(&e))?;
        let stream = OpeningBalances::stream_id(&OpeningCommand::Enter {
            book,
            lines: Vec::new(),
            receivables: Vec::new(),
            payables: Vec::new(),
            stock: Vec::new(),
            facts: OpeningFacts {
                receivables_account: String::new(),
                payables_accounts: Vec::new(),
                inventory_accounts: Vec::new(),
                unpostable_accounts: Vec::new(),
            },
        });
        flow_answer::<OpeningBalances, S>(Self::NAME, &ctx, stream).await
    }
}

// ---------------------------------------------------------------------------------------------------
// Bank statements

/// Most characters of a statement's CSV: what fits the request body limit (256 KiB).
pub const STATEMENT_CSV_CHARS_MAX: usize = 200_000;

/// A bank statement (银行对账单) exported from online banking as CSV with the header
/// `date,amount,counterparty,reference` (dates YYYY-MM-DD, money out negative): imported, then
/// matched automatically to the receipts and payments of the same amount, counterparty and dates
/// within three days; the rest is left for a person.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportBankStatement {
    pub id: Uuid,
    /// The bank account's code in the chart, e.g. "1002" or "1002.01".
    pub account: String,
    /// The statement file's text.
    #[schemars(length(max = STATEMENT_CSV_CHARS_MAX))]
    pub csv: String,
}

fn bank_problem(e: &BankError) -> Problem {
    match e {
        BankError::Csv { row, reason } => {
            Problem::rejected(e.code(), format!("the statement's row {row} cannot be read: {reason}"))
        }
        BankError::Statement(e) => Problem::from_bus(e),
    }
}

impl HttpCommand for ImportBankStatement {
    const NAME: &'static str = "import-bank-statement";
    const SUMMARY: &'static str = "Imports a bank statement (CSV) and matches what it can automatically.";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        if self.csv.chars().count() > STATEMENT_CSV_CHARS_MAX {
            return Err(Problem::bad_request(
                "input.invalid",
                format!("csv has more than {STATEMENT_CSV_CHARS_MAX} characters"),
            ));
        }
        let book = ctx.meta.book;
        crate::finance::import_bank_statement(&ctx.bus, &ctx.meta, book, self.id, &self.account, &self.csv)
            .await
            .map_err(|e| bank_problem(&e))?;
        flow_answer::<BankStatement, S>(Self::NAME, &ctx, BankStatement::stream(self.id)).await
    }
}

/// What a statement line is matched to.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "kind", deny_unknown_fields)]
pub enum MatchTargetIn {
    CustomerReceipt {
        #[schemars(with = "Uuid")]
        id: CustomerReceiptId,
    },
    SupplierPayment {
        #[schemars(with = "Uuid")]
        id: SupplierPaymentId,
    },
}

/// Matches a statement line by hand to a receipt or payment of the same amount.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchStatementLine {
    /// The statement.
    pub id: Uuid,
    /// The statement's line (0-based, in the file's order).
    #[serde(deserialize_with = "whole")]
    pub line: u32,
    pub target: MatchTargetIn,
}

impl HttpCommand for MatchStatementLine {
    const NAME: &'static str = "match-statement-line";
    const SUMMARY: &'static str = "Matches a bank statement line to a receipt or payment.";
    const ROLES: &'static [Role] = &[Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let target = match self.target {
            MatchTargetIn::CustomerReceipt { id } => MatchTarget::CustomerReceipt(id),
            MatchTargetIn::SupplierPayment { id } => MatchTarget::SupplierPayment(id),
        };
        crate::finance::match_statement_line(&ctx.bus, &ctx.meta, self.id, self.line, target)
            .await
            .map_err(|e| bank_problem(&e))?;
        flow_answer::<BankStatement, S>(Self::NAME, &ctx, BankStatement::stream(self.id)).await
    }
}

/// Undoes a wrong match of a statement line.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnmatchStatementLine {
    /// The statement.
    pub id: Uuid,
    #[serde(deserialize_with = "whole")]
    pub line: u32,
}

impl HttpCommand for UnmatchStatementLine {
    const NAME: &'static str = "unmatch-statement-line";
    const SUMMARY: &'static str = "Undoes the match of a bank statement line.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<BankStatement, S>(Self::NAME, &ctx, StatementCommand::Unmatch { id: self.id, line: self.line })
            .await
    }
}

// ---------------------------------------------------------------------------------------------------
// Payroll

/// A month's wages accrued (计提工资) by cost centre: selling, administration, production; the
/// voucher follows automatically.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccruePayroll {
    /// YYYY-MM.
    #[schemars(regex(pattern = MONTH_PATTERN))]
    pub period: String,
    #[serde(default)]
    pub selling: Decimal,
    #[serde(default)]
    pub administration: Decimal,
    #[serde(default)]
    pub production: Decimal,
}

impl HttpCommand for AccruePayroll {
    const NAME: &'static str = "accrue-payroll";
    const SUMMARY: &'static str = "Accrues a month's wages by cost centre.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let accrue = PayrollCommand::Accrue {
            book: ctx.meta.book,
            period: period("period", &self.period)?,
            selling: money("selling", self.selling)?,
            administration: money("administration", self.administration)?,
            production: money("production", self.production)?,
        };
        run::<Payroll, S>(Self::NAME, &ctx, accrue).await
    }
}

/// A month's accrued wages paid (发放工资): the net to the staff, the income tax withheld (代扣个税).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PayPayroll {
    /// YYYY-MM: the month whose wages are paid.
    #[schemars(regex(pattern = MONTH_PATTERN))]
    pub period: String,
    pub net: Decimal,
    #[serde(default)]
    pub income_tax: Decimal,
}

impl HttpCommand for PayPayroll {
    const NAME: &'static str = "pay-payroll";
    const SUMMARY: &'static str = "Pays a month's accrued wages.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let pay = PayrollCommand::Pay {
            book: ctx.meta.book,
            period: period("period", &self.period)?,
            net: money("net", self.net)?,
            income_tax: money("incomeTax", self.income_tax)?,
        };
        run::<Payroll, S>(Self::NAME, &ctx, pay).await
    }
}

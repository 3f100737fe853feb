//! The small-enterprise statements (小企业会计准则 formats, condensed): the balance sheet (资产负债表) at the
//! end of a month and the income statement (利润表) of a month and of the year to date, read off the
//! ledger fold by account roles, so they work for either chart.
//!
//! Until month end has moved the profit-and-loss balances to 本年利润, the balance sheet counts them in
//! retained earnings (未分配利润) directly, so it balances on any day. The income statement leaves the
//! month-end vouchers out: it reports what was earned and spent, not the closing entries.

use domain::finance::accounts::{Account, AccountRole};
use domain::time::Period;
use rust_decimal::Decimal;

use crate::ledger::Ledger;

/// The signed balance (debits positive) of an account and all its sub-accounts at the end of `period`.
fn subtree(ledger: &Ledger, chart: &[Account], code: &str, period: Period) -> Decimal {
    let mut total = ledger.balance(code, period);
    for child in chart.iter().filter(|a| a.parent.as_deref() == Some(code)) {
        total += subtree(ledger, chart, &child.code, period);
    }
    total
}

fn role(ledger: &Ledger, chart: &[Account], role: AccountRole, period: Period) -> Decimal {
    chart
        .iter()
        .find(|a| a.role == Some(role))
        .map_or(Decimal::ZERO, |a| subtree(ledger, chart, &a.code, period))
}

fn roles(ledger: &Ledger, chart: &[Account], list: &[AccountRole], period: Period) -> Decimal {
    list.iter().map(|r| role(ledger, chart, *r, period)).sum()
}

/// The top-level account (heading) of the account playing `role`.
fn heading(chart: &[Account], role: AccountRole) -> Option<&Account> {
    let mut account = chart.iter().find(|a| a.role == Some(role))?;
    while let Some(parent) = account.parent.as_deref().and_then(|p| chart.iter().find(|a| a.code == p)) {
        account = parent;
    }
    Some(account)
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BalanceSheet {
    /// 货币资金
    pub cash: Decimal,
    pub receivables: Decimal,
    pub prepayments: Decimal,
    pub other_receivables: Decimal,
    /// 存货: materials, goods, goods shipped and in transit, work in progress.
    pub inventories: Decimal,
    /// 待处理财产损溢 not yet resolved.
    pub pending_losses: Decimal,
    /// 固定资产账面价值: cost less accumulated depreciation.
    pub fixed_assets: Decimal,
    pub total_assets: Decimal,
    pub short_term_loans: Decimal,
    /// 应付账款, including goods received not yet invoiced (暂估).
    pub payables: Decimal,
    pub advance_receipts: Decimal,
    pub payroll_payable: Decimal,
    /// 应交税费 (all of 2221).
    pub taxes_payable: Decimal,
    pub other_payables: Decimal,
    pub total_liabilities: Decimal,
    pub paid_in_capital: Decimal,
    /// 未分配利润: retained profit, this year's profit, and profit-and-loss not yet transferred.
    pub retained_earnings: Decimal,
    pub total_equity: Decimal,
}

impl BalanceSheet {
    pub fn at(ledger: &Ledger, chart: &[Account], period: Period) -> BalanceSheet {
        use AccountRole as R;
        let asset = |list: &[R]| roles(ledger, chart, list, period);
        let liability = |list: &[R]| -roles(ledger, chart, list, period);
        let taxes =
            heading(chart, R::OutputVat).map_or(Decimal::ZERO, |h| -subtree(ledger, chart, &h.code, period));
        let payables =
            heading(chart, R::Payables).map_or(Decimal::ZERO, |h| -subtree(ledger, chart, &h.code, period));
        let pl: Decimal = chart
            .iter()
            .filter(|a| a.category == domain::finance::accounts::Category::ProfitAndLoss)
            .map(|a| ledger.balance(&a.code, period))
            .sum();
        let mut sheet = BalanceSheet {
            cash: asset(&[R::Cash, R::Bank]),
            receivables: asset(&[R::Receivables]),
            prepayments: asset(&[R::Prepayments]),
            other_receivables: asset(&[R::OtherReceivables]),
            inventories: asset(&[
                R::RawMaterials,
                R::Inventory,
                R::GoodsShipped,
                R::GoodsInTransit,
                R::ProductionCost,
                R::ManufacturingOverhead,
            ]),
            pending_losses: asset(&[R::PendingLoss]),
            fixed_assets: asset(&[R::FixedAssets, R::AccumulatedDepreciation]),
            short_term_loans: liability(&[R::ShortTermLoans]),
            payables,
            advance_receipts: liability(&[R::AdvanceReceipts]),
            payroll_payable: liability(&[R::PayrollPayable]),
            taxes_payable: taxes,
            other_payables: liability(&[R::OtherPayables]),
            paid_in_capital: liability(&[R::PaidInCapital]),
            retained_earnings: liability(&[R::CurrentYearProfit, R::RetainedProfit]) - pl,
            ..BalanceSheet::default()
        };
        sheet.total_assets = sheet.cash
            + sheet.receivables
            + sheet.prepayments
            + sheet.other_receivables
            + sheet.inventories
            + sheet.pending_losses
            + sheet.fixed_assets;
        sheet.total_liabilities = sheet.short_term_loans
            + sheet.payables
            + sheet.advance_receipts
            + sheet.payroll_payable
            + sheet.taxes_payable
            + sheet.other_payables;
        sheet.total_equity = sheet.paid_in_capital + sheet.retained_earnings;
        sheet
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncomeStatement {
    /// 营业收入
    pub revenue: Decimal,
    /// 营业成本
    pub cost_of_sales: Decimal,
    pub taxes_and_surcharges: Decimal,
    pub selling_expenses: Decimal,
    pub admin_expenses: Decimal,
    pub finance_expenses: Decimal,
    /// 营业利润
    pub operating_profit: Decimal,
    pub non_operating_income: Decimal,
    pub non_operating_expenses: Decimal,
    /// 利润总额
    pub profit_before_tax: Decimal,
    pub income_tax: Decimal,
    /// 净利润
    pub net_profit: Decimal,
}

impl IncomeStatement {
    /// Over `months` (one month, or January to the month for the year to date).
    pub fn over(
        ledger: &Ledger,
        chart: &[Account],
        months: std::ops::RangeInclusive<Period>,
    ) -> IncomeStatement {
        IncomeStatement::from_movements(chart, |code| ledger.operating_movement(code, months.clone()))
    }

    /// The income statement of one department (部门利润表) over `months`: what its lines earned and
    /// cost (`None`: the lines that name no department). The departments' statements add up to the
    /// whole company's.
    pub fn for_department(
        ledger: &Ledger,
        chart: &[Account],
        months: std::ops::RangeInclusive<Period>,
        department: Option<&str>,
    ) -> IncomeStatement {
        IncomeStatement::from_movements(chart, |code| {
            ledger.department_movement(code, months.clone(), department)
        })
    }

    fn from_movements(chart: &[Account], movement_of: impl Fn(&str) -> Decimal) -> IncomeStatement {
        use AccountRole as R;
        let movement =
            |r: R| chart.iter().find(|a| a.role == Some(r)).map_or(Decimal::ZERO, |a| movement_of(&a.code));
        let income = |r: R| -movement(r);
        let mut statement = IncomeStatement {
            revenue: income(R::Revenue) + income(R::OtherRevenue),
            cost_of_sales: movement(R::Cogs),
            taxes_and_surcharges: movement(R::TaxesAndSurcharges),
            selling_expenses: movement(R::SalesExpense),
            admin_expenses: movement(R::AdminExpense),
            finance_expenses: movement(R::FinanceExpense),
            non_operating_income: income(R::NonOperatingIncome),
            non_operating_expenses: movement(R::NonOperatingExpense),
            income_tax: movement(R::IncomeTax),
            ..IncomeStatement::default()
        };
        statement.operating_profit = statement.revenue
            - statement.cost_of_sales
            - statement.taxes_and_surcharges
            - statement.selling_expenses
            - statement.admin_expenses
            - statement.finance_expenses;
        statement.profit_before_tax =
            statement.operating_profit + statement.non_operating_income - statement.non_operating_expenses;
        statement.net_profit = statement.profit_before_tax - statement.income_tax;
        statement
    }
}

#[cfg(test)]
mod tests {
    use domain::finance::accounts::{Standard, template};
    use domain::finance::journal::{JournalEvent, VoucherPosted};
    use domain::finance::voucher::{VoucherLine, VoucherSource, VoucherWord};
    use domain::{BookId, EventId, Timestamp, VoucherId};
    use uuid::Uuid;

    use super::*;

    fn posted(n: u128, period: Period, lines: &[(&str, &str, &str)], month_end: bool) -> JournalEvent {
        posted_for(n, period, lines, month_end, None)
    }

    fn posted_for(
        n: u128,
        period: Period,
        lines: &[(&str, &str, &str)],
        month_end: bool,
        department: Option<&str>,
    ) -> JournalEvent {
        JournalEvent::Posted(VoucherPosted {
            book: BookId(Uuid::from_u128(1)),
            period,
            voucher: VoucherId(Uuid::from_u128(n)),
            word: VoucherWord::Ji,
            number: n as u32,
            date: Timestamp(0),
            lines: lines
                .iter()
                .map(|&(account, debit, credit)| VoucherLine {
                    summary: String::new(),
                    account: account.into(),
                    debit: debit.parse().unwrap(),
                    credit: credit.parse().unwrap(),
                    partner: None,
                    item: None,
                    // The money side stays company-wide; the P&L side belongs to the department.
                    department: department.filter(|_| account.starts_with('5')).map(String::from),
                })
                .collect(),
            source: month_end.then(|| VoucherSource {
                kind: crate::ledger::MONTH_END_SOURCE.into(),
                id: Uuid::from_u128(1),
                event: EventId(Uuid::from_u128(2)),
            }),
            reverses: None,
            by: "p".into(),
        })
    }

    #[test]
    fn the_balance_sheet_balances_before_and_after_month_end_and_the_income_statement_ignores_closing_entries()
     {
        let nov = Period::new(2026, 11).unwrap();
        let chart = template(Standard::SmallEnterprise);
        let mut ledger = Ledger::default();
        for event in [
            posted(1, nov, &[("1002", "10000", "0"), ("3001", "0", "10000")], false),
            posted(
                2,
                nov,
                &[("1405", "1200", "0"), ("22210101", "156", "0"), ("220201", "0", "1356")],
                false,
            ),
            posted(3, nov, &[("1122", "1130", "0"), ("5001", "0", "1000"), ("22210102", "0", "130")], false),
            posted(4, nov, &[("5401", "600", "0"), ("1405", "0", "600")], false),
            posted(5, nov, &[("5602", "50", "0"), ("1002", "0", "50")], false),
        ]
        .iter()
        .enumerate()
        {
            ledger.apply(event.1, event.0 as u64 + 1);
        }
        let before = BalanceSheet::at(&ledger, &chart, nov);
        assert_eq!(before.total_assets, before.total_liabilities + before.total_equity);
        assert_eq!(before.retained_earnings, Decimal::from(350), "1,000 − 600 − 50 not yet transferred");
        assert_eq!(before.taxes_payable, Decimal::from(-26), "input VAT exceeds output VAT: a tax asset");
        assert_eq!(before.inventories, Decimal::from(600));
        ledger.apply(
            &posted(
                6,
                nov,
                &[("5001", "1000", "0"), ("5401", "0", "600"), ("5602", "0", "50"), ("3103", "0", "350")],
                true,
            ),
            6,
        );
        let after = BalanceSheet::at(&ledger, &chart, nov);
        assert_eq!(after, before, "month end moves profit between equity lines, not out of them");
        let income = IncomeStatement::over(&ledger, &chart, nov..=nov);
        assert_eq!(
            (income.revenue, income.cost_of_sales, income.admin_expenses, income.net_profit),
            (Decimal::from(1000), Decimal::from(600), Decimal::from(50), Decimal::from(350))
        );
    }

    #[test]
    fn each_department_has_its_own_income_statement_and_together_they_make_the_companys() {
        let nov = Period::new(2026, 11).unwrap();
        let chart = template(Standard::SmallEnterprise);
        let mut ledger = Ledger::default();
        for event in [
            posted_for(
                1,
                nov,
                &[("1122", "1130", "0"), ("5001", "0", "1000"), ("22210102", "0", "130")],
                false,
                Some("华东销售部"),
            ),
            posted_for(2, nov, &[("5401", "600", "0"), ("1405", "0", "600")], false, Some("华东销售部")),
            posted_for(
                3,
                nov,
                &[("1122", "565", "0"), ("5001", "0", "500"), ("22210102", "0", "65")],
                false,
                Some("华南销售部"),
            ),
            posted_for(4, nov, &[("5601", "80", "0"), ("1002", "0", "80")], false, Some("华南销售部")),
            posted_for(5, nov, &[("5602", "50", "0"), ("1002", "0", "50")], false, None),
            posted(
                6,
                nov,
                &[
                    ("5001", "1500", "0"),
                    ("5401", "0", "600"),
                    ("5601", "0", "80"),
                    ("5602", "0", "50"),
                    ("3103", "0", "770"),
                ],
                true,
            ),
        ]
        .iter()
        .enumerate()
        {
            ledger.apply(event.1, event.0 as u64 + 1);
        }
        assert_eq!(ledger.departments().into_iter().collect::<Vec<_>>(), vec!["华东销售部", "华南销售部"]);
        let east = IncomeStatement::for_department(&ledger, &chart, nov..=nov, Some("华东销售部"));
        assert_eq!(
            (east.revenue, east.cost_of_sales, east.net_profit),
            (Decimal::from(1000), Decimal::from(600), Decimal::from(400))
        );
        let south = IncomeStatement::for_department(&ledger, &chart, nov..=nov, Some("华南销售部"));
        assert_eq!(
            (south.revenue, south.selling_expenses, south.net_profit),
            (Decimal::from(500), Decimal::from(80), Decimal::from(420))
        );
        let unassigned = IncomeStatement::for_department(&ledger, &chart, nov..=nov, None);
        assert_eq!(unassigned.net_profit, Decimal::from(-50), "the month-end transfer is nobody's");
        let whole = IncomeStatement::over(&ledger, &chart, nov..=nov);
        assert_eq!(whole.net_profit, east.net_profit + south.net_profit + unassigned.net_profit);
    }
}

//! Month-end vouchers (期末结转), computed from the book's balances at the end of the month (signed,
//! debits positive, over every posted voucher from the book's first month):
//!
//! - VAT transfer (转出未交增值税): when output VAT plus input VAT transferred out exceeds input VAT (and
//!   what earlier transfers moved), the excess moves to 未交增值税: Dr 应交增值税-转出未交增值税 / Cr 未交增值税.
//!   When input VAT is larger, nothing moves: the credit carries forward (留抵).
//! - Profit transfer (结转损益): every profit-and-loss account's balance moves to 本年利润, leaving them at
//!   zero; income accounts are debited, cost and expense accounts credited, 本年利润 takes the difference.
//! - Year end (December): 本年利润's balance moves to 利润分配.
//!
//! Each answers `None` when there is nothing to move, so running month end again after it was done
//! books nothing more, and running it after late postings books only what they added.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::accounts::{Account, AccountRole, Category};
use super::voucher::VoucherLine;

/// The source kind of the vouchers month end books: reports leave them out of what a month earned.
pub const MONTH_END_SOURCE: &str = "finance.MonthEnd";

/// Signed balances (debits positive) by account code.
pub type Balances = BTreeMap<String, Decimal>;

fn balance(balances: &Balances, chart: &[Account], role: AccountRole) -> Option<(String, Decimal)> {
    let account = chart.iter().find(|a| a.role == Some(role))?;
    Some((account.code.clone(), balances.get(&account.code).copied().unwrap_or_default()))
}

fn line(summary: &str, account: &str, signed: Decimal) -> VoucherLine {
    VoucherLine {
        summary: summary.into(),
        account: account.into(),
        debit: signed.max(Decimal::ZERO),
        credit: (-signed).max(Decimal::ZERO),
        partner: None,
        item: None,
        department: None,
    }
}

/// 转出未交增值税: the VAT payable of the month, if any.
pub fn vat_transfer(chart: &[Account], balances: &Balances) -> Option<Vec<VoucherLine>> {
    // The 应交增值税 sub-accounts together: a credit balance is VAT owed and not yet transferred.
    let roles = [
        AccountRole::InputVat,
        AccountRole::OutputVat,
        AccountRole::VatTransferOut,
        AccountRole::VatTransferredOut,
    ];
    let mut net = Decimal::ZERO;
    for role in roles {
        net += balance(balances, chart, role)?.1;
    }
    let owed = -net;
    if owed <= Decimal::ZERO {
        return None;
    }
    let (transferred, _) = balance(balances, chart, AccountRole::VatTransferredOut)?;
    let (unpaid, _) = balance(balances, chart, AccountRole::UnpaidVat)?;
    Some(vec![line("转出未交增值税", &transferred, owed), line("转出未交增值税", &unpaid, -owed)])
}

/// The surcharge rates of a book: (urban construction, education), as fractions.
pub type SurchargeRates = (Decimal, Decimal);

/// 计提税金及附加: the surcharges on the VAT transferred this month (`vat_payable`), each rounded half-up,
/// less what the month already accrued (`accrued`, so a second month-end run adds only the difference).
/// Dr 税金及附加 / Cr 应交城市维护建设税 / Cr 应交教育费附加.
pub fn surcharges(
    chart: &[Account],
    vat_payable: Decimal,
    rates: SurchargeRates,
    accrued: (Decimal, Decimal),
) -> Option<Vec<VoucherLine>> {
    if vat_payable <= Decimal::ZERO {
        return None;
    }
    let code = |role| chart.iter().find(|a| a.role == Some(role)).map(|a| a.code.clone());
    let urban = crate::values::round_money(vat_payable * rates.0) - accrued.0;
    let education = crate::values::round_money(vat_payable * rates.1) - accrued.1;
    let total = urban + education;
    if total <= Decimal::ZERO {
        return None;
    }
    let mut lines = vec![line("计提税金及附加", &code(AccountRole::TaxesAndSurcharges)?, total)];
    if !urban.is_zero() {
        lines.push(line("计提城市维护建设税", &code(AccountRole::UrbanConstructionTax)?, -urban));
    }
    if !education.is_zero() {
        lines.push(line("计提教育费附加", &code(AccountRole::EducationSurcharge)?, -education));
    }
    Some(lines)
}

/// 结转损益: every profit-and-loss account to 本年利润.
pub fn profit_transfer(chart: &[Account], balances: &Balances) -> Option<Vec<VoucherLine>> {
    let (profit, _) = balance(balances, chart, AccountRole::CurrentYearProfit)?;
    let parents: Vec<&str> = chart.iter().filter_map(|a| a.parent.as_deref()).collect();
    let mut lines = Vec::new();
    let mut to_profit = Decimal::ZERO;
    for account in
        chart.iter().filter(|a| a.category == Category::ProfitAndLoss && !parents.contains(&a.code.as_str()))
    {
        let signed = balances.get(&account.code).copied().unwrap_or_default();
        if signed.is_zero() {
            continue;
        }
        // Clear the account: the opposite of its balance.
        lines.push(line("结转损益", &account.code, -signed));
        to_profit += signed;
    }
    if lines.is_empty() {
        return None;
    }
    if !to_profit.is_zero() {
        lines.push(line("结转损益", &profit, to_profit));
    }
    Some(lines)
}

/// 年末结转: 本年利润 to 利润分配.
pub fn year_end(chart: &[Account], balances: &Balances) -> Option<Vec<VoucherLine>> {
    let (profit, signed) = balance(balances, chart, AccountRole::CurrentYearProfit)?;
    let (retained, _) = balance(balances, chart, AccountRole::RetainedProfit)?;
    if signed.is_zero() {
        return None;
    }
    Some(vec![line("年末结转本年利润", &profit, -signed), line("年末结转本年利润", &retained, signed)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finance::accounts::{Standard, template};
    use crate::finance::voucher::check_lines;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn balances(pairs: &[(&str, &str)]) -> Balances {
        pairs.iter().map(|(code, amount)| (code.to_string(), d(amount))).collect()
    }

    fn sides(lines: &[VoucherLine]) -> Vec<(String, Decimal, Decimal)> {
        lines.iter().map(|l| (l.account.clone(), l.debit, l.credit)).collect()
    }

    #[test]
    fn output_vat_beyond_input_vat_moves_to_unpaid_vat_and_a_surplus_of_input_vat_carries_forward() {
        let chart = template(Standard::SmallEnterprise);
        let owed = balances(&[("22210101", "390.00"), ("22210102", "-1300.00"), ("22210103", "-13.00")]);
        let lines = vat_transfer(&chart, &owed).unwrap();
        assert_eq!(
            sides(&lines),
            vec![("22210104".into(), d("923.00"), d("0")), ("222102".into(), d("0"), d("923.00"))]
        );
        check_lines(&lines, false).unwrap();
        // After the transfer the sub-accounts net to zero: nothing more to move.
        let after = balances(&[
            ("22210101", "390.00"),
            ("22210102", "-1300.00"),
            ("22210103", "-13.00"),
            ("22210104", "923.00"),
        ]);
        assert_eq!(vat_transfer(&chart, &after), None);
        let surplus = balances(&[("22210101", "500.00"), ("22210102", "-130.00")]);
        assert_eq!(vat_transfer(&chart, &surplus), None, "留抵: input VAT carries forward");
    }

    #[test]
    fn every_profit_and_loss_balance_moves_to_current_year_profit() {
        let chart = template(Standard::SmallEnterprise);
        let month = balances(&[
            ("5001", "-1000.00"),
            ("5401", "600.00"),
            ("5602", "150.00"),
            ("5301", "-20.00"),
            ("1122", "1130.00"),
        ]);
        let lines = profit_transfer(&chart, &month).unwrap();
        check_lines(&lines, false).unwrap();
        assert!(lines.contains(&line("结转损益", "5001", d("1000.00"))));
        assert!(lines.contains(&line("结转损益", "5401", d("-600.00"))));
        // Income 1,020, expenses 750: 270 of profit, a credit to 3103.
        assert_eq!(lines.last().unwrap().account, "3103");
        assert_eq!(lines.last().unwrap().credit, d("270.00"));
        assert!(!lines.iter().any(|l| l.account == "1122"), "balance-sheet accounts stay");
        assert_eq!(profit_transfer(&chart, &balances(&[("1122", "1")])), None);
    }

    #[test]
    fn the_enterprise_chart_transfers_to_its_own_codes() {
        let chart = template(Standard::Enterprise);
        let lines = profit_transfer(&chart, &balances(&[("6001", "-100"), ("6401", "40")])).unwrap();
        assert_eq!(lines.last().unwrap().account, "4103");
    }

    #[test]
    fn surcharges_are_their_rates_of_the_vat_payable_rounded_per_line() {
        let chart = template(Standard::SmallEnterprise);
        let none = (Decimal::ZERO, Decimal::ZERO);
        let lines = surcharges(&chart, d("923.00"), (d("0.07"), d("0.03")), none).unwrap();
        // 923.00 × 7 % = 64.61; × 3 % = 27.69.
        assert_eq!(
            sides(&lines),
            vec![
                ("5403".into(), d("92.30"), d("0")),
                ("222103".into(), d("0"), d("64.61")),
                ("222104".into(), d("0"), d("27.69")),
            ]
        );
        check_lines(&lines, false).unwrap();
        assert_eq!(surcharges(&chart, Decimal::ZERO, (d("0.07"), d("0.03")), none), None);
        assert_eq!(surcharges(&chart, d("100"), none, none), None);
        // Accrued already: only what late VAT added.
        let more =
            surcharges(&chart, d("1023.00"), (d("0.07"), d("0.03")), (d("64.61"), d("27.69"))).unwrap();
        assert_eq!(more[0].debit, d("10.00"));
        assert_eq!(surcharges(&chart, d("923.00"), (d("0.07"), d("0.03")), (d("64.61"), d("27.69"))), None);
    }

    #[test]
    fn at_year_end_the_years_profit_moves_to_retained_profit() {
        let chart = template(Standard::SmallEnterprise);
        let lines = year_end(&chart, &balances(&[("3103", "-270.00")])).unwrap();
        assert_eq!(
            sides(&lines),
            vec![("3103".into(), d("270.00"), d("0")), ("3104".into(), d("0"), d("270.00"))]
        );
        let loss = year_end(&chart, &balances(&[("3103", "80.00")])).unwrap();
        assert_eq!(
            sides(&loss),
            vec![("3103".into(), d("0"), d("80.00")), ("3104".into(), d("80.00"), d("0"))]
        );
        assert_eq!(year_end(&chart, &Balances::new()), None);
    }
}

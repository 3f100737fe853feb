//! Charts of accounts (会计科目表): the account roles the automatic vouchers key on, and the templates of the
//! two standards a book can be created with.
//!
//! Logic never names a literal code: sub-account numbering below four digits is not standardised in
//! China, and the two standards number profit and loss differently (5001 主营业务收入 in 小企业会计准则,
//! 6001 in 企业会计准则). A posting rule asks for a role; the book's chart says which account plays it.
//! The template is copied into the book's creation event, so a later change of the template never
//! changes an existing book's chart.

use serde::{Deserialize, Serialize};

/// What an account is for, as far as the system's own logic is concerned. Stored in events: never
/// reorder or remove variants; add new ones at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AccountRole {
    Cash,
    Bank,
    Receivables,
    Prepayments,
    OtherReceivables,
    GoodsInTransit,
    RawMaterials,
    Inventory,
    GoodsShipped,
    FixedAssets,
    AccumulatedDepreciation,
    PendingLoss,
    ShortTermLoans,
    Payables,
    /// 暂估应付: goods received before their invoice.
    Grni,
    AdvanceReceipts,
    PayrollPayable,
    InputVat,
    OutputVat,
    VatTransferOut,
    /// 转出未交增值税: the month-end transfer of VAT payable.
    VatTransferredOut,
    UnpaidVat,
    UrbanConstructionTax,
    EducationSurcharge,
    IndividualIncomeTax,
    OtherPayables,
    PaidInCapital,
    CurrentYearProfit,
    RetainedProfit,
    ProductionCost,
    ManufacturingOverhead,
    Revenue,
    OtherRevenue,
    NonOperatingIncome,
    Cogs,
    TaxesAndSurcharges,
    SalesExpense,
    AdminExpense,
    FinanceExpense,
    NonOperatingExpense,
    IncomeTax,
}

/// The accounting standard a book follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Standard {
    /// 小企业会计准则 (2013): the default.
    SmallEnterprise,
    /// 企业会计准则.
    Enterprise,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Category {
    Asset,
    Liability,
    Equity,
    /// 成本类 (production cost, overhead).
    Cost,
    ProfitAndLoss,
}

/// The side on which an account's balance normally stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    Debit,
    Credit,
}

/// One account of a chart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub code: String,
    pub name: String,
    pub category: Category,
    pub side: Side,
    /// The role this account plays for the automatic vouchers, if any (at most one account per role).
    pub role: Option<AccountRole>,
    /// The parent's code for a sub-account (its code starts with the parent's).
    pub parent: Option<String>,
}

use AccountRole as R;
use Category as C;

/// One template row: code, name, category, side, role, parent code.
type TemplateRow = (&'static str, &'static str, Category, Side, Option<AccountRole>, Option<&'static str>);

/// The 小企业会计准则 template.
const SMALL_ENTERPRISE: &[TemplateRow] = &[
    ("1001", "库存现金", C::Asset, Side::Debit, Some(R::Cash), None),
    ("1002", "银行存款", C::Asset, Side::Debit, Some(R::Bank), None),
    ("1122", "应收账款", C::Asset, Side::Debit, Some(R::Receivables), None),
    ("1123", "预付账款", C::Asset, Side::Debit, Some(R::Prepayments), None),
    ("1221", "其他应收款", C::Asset, Side::Debit, Some(R::OtherReceivables), None),
    ("1402", "在途物资", C::Asset, Side::Debit, Some(R::GoodsInTransit), None),
    ("1403", "原材料", C::Asset, Side::Debit, Some(R::RawMaterials), None),
    ("1405", "库存商品", C::Asset, Side::Debit, Some(R::Inventory), None),
    ("1406", "发出商品", C::Asset, Side::Debit, Some(R::GoodsShipped), None),
    ("1601", "固定资产", C::Asset, Side::Debit, Some(R::FixedAssets), None),
    ("1602", "累计折旧", C::Asset, Side::Credit, Some(R::AccumulatedDepreciation), None),
    ("1901", "待处理财产损溢", C::Asset, Side::Debit, Some(R::PendingLoss), None),
    ("2001", "短期借款", C::Liability, Side::Credit, Some(R::ShortTermLoans), None),
    ("2202", "应付账款", C::Liability, Side::Credit, None, None),
    ("220201", "应付账款-供应商", C::Liability, Side::Credit, Some(R::Payables), Some("2202")),
    ("220202", "应付账款-暂估", C::Liability, Side::Credit, Some(R::Grni), Some("2202")),
    ("2203", "预收账款", C::Liability, Side::Credit, Some(R::AdvanceReceipts), None),
    ("2211", "应付职工薪酬", C::Liability, Side::Credit, Some(R::PayrollPayable), None),
    ("2221", "应交税费", C::Liability, Side::Credit, None, None),
    ("222101", "应交增值税", C::Liability, Side::Credit, None, Some("2221")),
    // Input VAT and the month-end transfer are debited: their balances stand on the debit side.
    ("22210101", "进项税额", C::Liability, Side::Debit, Some(R::InputVat), Some("222101")),
    ("22210102", "销项税额", C::Liability, Side::Credit, Some(R::OutputVat), Some("222101")),
    ("22210103", "进项税额转出", C::Liability, Side::Credit, Some(R::VatTransferOut), Some("222101")),
    ("22210104", "转出未交增值税", C::Liability, Side::Debit, Some(R::VatTransferredOut), Some("222101")),
    ("222102", "未交增值税", C::Liability, Side::Credit, Some(R::UnpaidVat), Some("2221")),
    ("222103", "应交城市维护建设税", C::Liability, Side::Credit, Some(R::UrbanConstructionTax), Some("2221")),
    ("222104", "应交教育费附加", C::Liability, Side::Credit, Some(R::EducationSurcharge), Some("2221")),
    ("222105", "应交个人所得税", C::Liability, Side::Credit, Some(R::IndividualIncomeTax), Some("2221")),
    ("2241", "其他应付款", C::Liability, Side::Credit, Some(R::OtherPayables), None),
    ("3001", "实收资本", C::Equity, Side::Credit, Some(R::PaidInCapital), None),
    ("3103", "本年利润", C::Equity, Side::Credit, Some(R::CurrentYearProfit), None),
    ("3104", "利润分配", C::Equity, Side::Credit, Some(R::RetainedProfit), None),
    ("4001", "生产成本", C::Cost, Side::Debit, Some(R::ProductionCost), None),
    ("4101", "制造费用", C::Cost, Side::Debit, Some(R::ManufacturingOverhead), None),
    ("5001", "主营业务收入", C::ProfitAndLoss, Side::Credit, Some(R::Revenue), None),
    ("5051", "其他业务收入", C::ProfitAndLoss, Side::Credit, Some(R::OtherRevenue), None),
    ("5301", "营业外收入", C::ProfitAndLoss, Side::Credit, Some(R::NonOperatingIncome), None),
    ("5401", "主营业务成本", C::ProfitAndLoss, Side::Debit, Some(R::Cogs), None),
    ("5403", "税金及附加", C::ProfitAndLoss, Side::Debit, Some(R::TaxesAndSurcharges), None),
    ("5601", "销售费用", C::ProfitAndLoss, Side::Debit, Some(R::SalesExpense), None),
    ("5602", "管理费用", C::ProfitAndLoss, Side::Debit, Some(R::AdminExpense), None),
    ("5603", "财务费用", C::ProfitAndLoss, Side::Debit, Some(R::FinanceExpense), None),
    ("5711", "营业外支出", C::ProfitAndLoss, Side::Debit, Some(R::NonOperatingExpense), None),
    ("5801", "所得税费用", C::ProfitAndLoss, Side::Debit, Some(R::IncomeTax), None),
];

/// Where 企业会计准则 numbers an account differently from the small-enterprise template.
const ENTERPRISE_CODES: &[(&str, &str)] = &[
    ("3001", "4001"),
    ("3103", "4103"),
    ("3104", "4104"),
    ("4001", "5001"),
    ("4101", "5101"),
    ("5001", "6001"),
    ("5051", "6051"),
    ("5301", "6301"),
    ("5401", "6401"),
    ("5403", "6403"),
    ("5601", "6601"),
    ("5602", "6602"),
    ("5603", "6603"),
    ("5711", "6711"),
    ("5801", "6801"),
];

/// The chart a new book of `standard` starts with.
pub fn template(standard: Standard) -> Vec<Account> {
    let code = |c: &str| -> String {
        match standard {
            Standard::SmallEnterprise => c.to_string(),
            Standard::Enterprise => {
                ENTERPRISE_CODES.iter().find(|(small, _)| *small == c).map_or(c, |(_, big)| big).to_string()
            }
        }
    };
    SMALL_ENTERPRISE
        .iter()
        .map(|&(c, name, category, side, role, parent)| Account {
            code: code(c),
            name: name.to_string(),
            category,
            side,
            role,
            parent: parent.map(code),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_is_played_by_exactly_one_account_of_each_template() {
        for standard in [Standard::SmallEnterprise, Standard::Enterprise] {
            let chart = template(standard);
            let mut roles: Vec<_> = chart.iter().filter_map(|a| a.role).collect();
            let count = roles.len();
            roles.sort();
            roles.dedup();
            assert_eq!(roles.len(), count, "{standard:?}: a role played twice");
            assert_eq!(count, 41, "{standard:?}: every role has an account");
        }
    }

    #[test]
    fn the_two_standards_number_profit_and_loss_and_equity_differently() {
        let small = template(Standard::SmallEnterprise);
        let big = template(Standard::Enterprise);
        let code =
            |chart: &[Account], role| chart.iter().find(|a| a.role == Some(role)).unwrap().code.clone();
        assert_eq!((code(&small, R::Revenue), code(&big, R::Revenue)), ("5001".into(), "6001".into()));
        assert_eq!((code(&small, R::Cogs), code(&big, R::Cogs)), ("5401".into(), "6401".into()));
        assert_eq!(code(&big, R::CurrentYearProfit), "4103");
        assert_eq!(
            code(&big, R::ProductionCost),
            "5001",
            "production cost moves to 5001 in the enterprise chart"
        );
        assert_eq!(code(&small, R::Inventory), code(&big, R::Inventory));
    }

    #[test]
    fn a_sub_account_starts_with_its_parents_code_and_shares_its_category() {
        for standard in [Standard::SmallEnterprise, Standard::Enterprise] {
            let chart = template(standard);
            for account in chart.iter().filter(|a| a.parent.is_some()) {
                let parent = chart.iter().find(|p| Some(&p.code) == account.parent.as_ref()).unwrap();
                assert!(account.code.starts_with(&parent.code), "{}", account.code);
                assert_eq!(account.category, parent.category);
            }
        }
    }
}

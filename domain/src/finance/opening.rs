//! Opening balances (期初余额) of a book, entered once before its first month: the accounts' balances,
//! the open receivables and payables as dated items (so aging is right from day one), and the stock on
//! hand per item and warehouse with its cost.
//!
//! The rules tie the three together: the balances balance; the open items of customers and suppliers add
//! up to the receivables and payables accounts' opening balances; the stock adds up to the inventory
//! account's. The command-api posts the balances into the journal of the month before the first (so every
//! report of the first month shows them as opening) and receives the stock into the stock items.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::voucher::{VoucherLine, check_lines};
use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection, Role};
use crate::ids::{BookId, ItemId, PartnerId, WarehouseId};
use crate::time::Timestamp;

/// Most opening items or stock lines in one entry.
pub const OPENING_ROWS_MAX: usize = 100_000;

/// The id of the `n`-th opening item of a book's receivables (or payables): the sales invoice that
/// takes its payments, and the open item the subledger keeps, share it.
pub fn opening_document(book: BookId, receivable: bool, n: usize) -> Uuid {
    let ledger = if receivable { "Receivable" } else { "Payable" };
    Uuid::new_v5(&book.0, format!("opening/{ledger}/{n}").as_bytes())
}

/// An invoice (or an advance, with a negative amount) open when the book starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningItem {
    pub partner: PartnerId,
    /// The document's number in the previous system.
    pub reference: String,
    pub dated: Timestamp,
    pub due: Timestamp,
    pub amount: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningStock {
    pub item: ItemId,
    pub warehouse: WarehouseId,
    pub qty: Decimal,
    pub unit_cost: Decimal,
}

impl OpeningStock {
    /// The stock value this line adds, rounded half-up to the cent as a stock receipt rounds it.
    pub fn value(&self) -> Decimal {
        crate::values::round_money(self.qty * self.unit_cost)
    }
}

/// The accounts the cross-checks need, read from the book's chart, and which of the lines' accounts
/// cannot take postings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpeningFacts {
    pub receivables_account: String,
    pub payables_accounts: Vec<String>,
    /// The stock accounts (库存商品 and 原材料): the opening stock adds up to them together.
    pub inventory_accounts: Vec<String>,
    pub unpostable_accounts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OpeningCommand {
    Enter {
        book: BookId,
        lines: Vec<VoucherLine>,
        receivables: Vec<OpeningItem>,
        payables: Vec<OpeningItem>,
        stock: Vec<OpeningStock>,
        facts: OpeningFacts,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningBalancesEntered {
    pub book: BookId,
    pub lines: Vec<VoucherLine>,
    pub receivables: Vec<OpeningItem>,
    pub payables: Vec<OpeningItem>,
    pub stock: Vec<OpeningStock>,
    pub by: String,
}

/// `OpeningBalancesEntered` v1: its lines had no department.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningBalancesEnteredV1 {
    pub book: BookId,
    pub lines: Vec<super::voucher::VoucherLineV1>,
    pub receivables: Vec<OpeningItem>,
    pub payables: Vec<OpeningItem>,
    pub stock: Vec<OpeningStock>,
    pub by: String,
}

impl From<OpeningBalancesEnteredV1> for OpeningBalancesEntered {
    fn from(v1: OpeningBalancesEnteredV1) -> Self {
        OpeningBalancesEntered {
            book: v1.book,
            lines: v1.lines.into_iter().map(VoucherLine::from).collect(),
            receivables: v1.receivables,
            payables: v1.payables,
            stock: v1.stock,
            by: v1.by,
        }
    }
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum OpeningEvent {
        Entered(OpeningBalancesEntered) = "finance.OpeningBalancesEntered" v 2 upcast [1 => OpeningBalancesEnteredV1],
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpeningRejection {
    #[error("opening balances were entered already; correct them with vouchers in the first month")]
    AlreadyEntered,
    #[error("entering opening balances needs the finance role")]
    NotAllowed,
    #[error("{0}")]
    Lines(super::voucher::VoucherRejection),
    #[error("accounts {0:?} do not exist in the book or have sub-accounts")]
    UnknownAccount(Vec<String>),
    #[error("{what}: the items add up to {items}, the account's opening balance is {account}")]
    Mismatch { what: &'static str, items: Decimal, account: Decimal },
    #[error("an opening row is invalid: {0}")]
    InvalidRow(&'static str),
}

impl Rejection for OpeningRejection {
    fn code(&self) -> &'static str {
        match self {
            OpeningRejection::AlreadyEntered => "opening.already_entered",
            OpeningRejection::NotAllowed => "opening.not_allowed",
            OpeningRejection::Lines(r) => r.code(),
            OpeningRejection::UnknownAccount(_) => "opening.unknown_account",
            OpeningRejection::Mismatch { .. } => "opening.mismatch",
            OpeningRejection::InvalidRow(_) => "opening.invalid_row",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpeningBalances {
    pub entered: Option<OpeningBalancesEntered>,
}

fn signed(lines: &[VoucherLine], accounts: &[&str]) -> Decimal {
    lines.iter().filter(|l| accounts.contains(&l.account.as_str())).map(|l| l.debit - l.credit).sum()
}

impl Aggregate for OpeningBalances {
    type Command = OpeningCommand;
    type Event = OpeningEvent;
    type Rejection = OpeningRejection;

    fn stream_id(command: &OpeningCommand) -> String {
        let OpeningCommand::Enter { book, .. } = command;
        format!("opening-{}", book.0)
    }

    fn evolve(&mut self, event: &OpeningEvent) {
        let OpeningEvent::Entered(e) = event;
        self.entered = Some(e.clone());
    }

    fn decide(
        &self,
        command: &OpeningCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<OpeningEvent>, OpeningRejection> {
        let OpeningCommand::Enter { book, lines, receivables, payables, stock, facts } = command;
        if !meta.has_role(Role::Finance) {
            return Err(OpeningRejection::NotAllowed);
        }
        if self.entered.is_some() {
            return Err(OpeningRejection::AlreadyEntered);
        }
        check_lines(lines, false).map_err(OpeningRejection::Lines)?;
        if !facts.unpostable_accounts.is_empty() {
            return Err(OpeningRejection::UnknownAccount(facts.unpostable_accounts.clone()));
        }
        if receivables.len() + payables.len() > OPENING_ROWS_MAX || stock.len() > OPENING_ROWS_MAX {
            return Err(OpeningRejection::InvalidRow("too many rows"));
        }
        for item in receivables.iter().chain(payables) {
            if item.reference.trim().is_empty()
                || item.amount.is_zero()
                || item.amount.scale() > 2
                || item.due < item.dated
            {
                return Err(OpeningRejection::InvalidRow(
                    "an item has a reference, a non-zero amount in cents and is due on or after its date",
                ));
            }
        }
        if stock.iter().any(|s| s.qty <= Decimal::ZERO || s.unit_cost < Decimal::ZERO) {
            return Err(OpeningRejection::InvalidRow("stock has a positive quantity and a cost"));
        }
        let receivable: Decimal = receivables.iter().map(|i| i.amount).sum();
        let account = signed(lines, &[facts.receivables_account.as_str()]);
        if receivable != account {
            return Err(OpeningRejection::Mismatch { what: "receivables", items: receivable, account });
        }
        let payable: Decimal = payables.iter().map(|i| i.amount).sum();
        let accounts: Vec<&str> = facts.payables_accounts.iter().map(String::as_str).collect();
        let account = -signed(lines, &accounts);
        if payable != account {
            return Err(OpeningRejection::Mismatch { what: "payables", items: payable, account });
        }
        let stock_value: Decimal = stock.iter().map(OpeningStock::value).sum();
        let accounts: Vec<&str> = facts.inventory_accounts.iter().map(String::as_str).collect();
        let account = signed(lines, &accounts);
        if stock_value != account {
            return Err(OpeningRejection::Mismatch { what: "stock", items: stock_value, account });
        }
        Ok(vec![OpeningEvent::Entered(OpeningBalancesEntered {
            book: *book,
            lines: lines.clone(),
            receivables: receivables.clone(),
            payables: payables.clone(),
            stock: stock.clone(),
            by: meta.actor.clone(),
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{meta, meta_with};

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn line(account: &str, debit: &str, credit: &str) -> VoucherLine {
        VoucherLine {
            summary: "期初".into(),
            account: account.into(),
            debit: d(debit),
            credit: d(credit),
            partner: None,
            item: None,
            department: None,
        }
    }

    fn facts() -> OpeningFacts {
        OpeningFacts {
            receivables_account: "1122".into(),
            payables_accounts: vec!["220201".into(), "220202".into()],
            inventory_accounts: vec!["1405".into(), "1403".into()],
            unpostable_accounts: Vec::new(),
        }
    }

    fn item(amount: &str) -> OpeningItem {
        OpeningItem {
            partner: PartnerId(Uuid::from_u128(60)),
            reference: "INV-2025-0042".into(),
            dated: Timestamp(0),
            due: Timestamp(30),
            amount: d(amount),
        }
    }

    fn enter(receivables: Vec<OpeningItem>, stock_cost: &str) -> OpeningCommand {
        OpeningCommand::Enter {
            book: BookId(Uuid::from_u128(1)),
            lines: vec![
                line("1002", "5000", "0"),
                line("1122", "1130", "0"),
                line("1405", "240", "0"),
                line("220201", "0", "370"),
                line("3001", "0", "6000"),
            ],
            receivables,
            payables: vec![item("370")],
            stock: vec![OpeningStock {
                item: ItemId(Uuid::from_u128(1)),
                warehouse: WarehouseId(Uuid::from_u128(2)),
                qty: d("20"),
                unit_cost: d(stock_cost),
            }],
            facts: facts(),
        }
    }

    #[test]
    fn opening_balances_are_entered_once_by_finance_and_tie_to_their_items_and_stock() {
        let finance = meta_with("zhao", &[Role::Finance]);
        let fresh = OpeningBalances::default();
        let good = enter(vec![item("1000"), item("130")], "12");
        assert_eq!(fresh.decide(&good, &meta("li")).unwrap_err().code(), "opening.not_allowed");
        let events = fresh.decide(&good, &finance).unwrap();
        let mut state = OpeningBalances::default();
        state.evolve(&events[0]);
        assert_eq!(state.decide(&good, &finance).unwrap_err().code(), "opening.already_entered");
        let short = enter(vec![item("1000")], "12");
        assert_eq!(fresh.decide(&short, &finance).unwrap_err().code(), "opening.mismatch");
        let dear = enter(vec![item("1000"), item("130")], "12.01");
        assert_eq!(
            fresh.decide(&dear, &finance).unwrap_err().code(),
            "opening.mismatch",
            "stock 240.20 ≠ 1405 240"
        );
        let undated = enter(vec![OpeningItem { due: Timestamp(-1), ..item("1130") }], "12");
        assert_eq!(fresh.decide(&undated, &finance).unwrap_err().code(), "opening.invalid_row");
    }
}

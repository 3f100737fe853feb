//! The general ledger as a fold over the period journals (`finance.VoucherPosted`): movements per account
//! and month, and from them the trial balance (科目余额表) of any month: opening balance, the month's debits
//! and credits, closing balance, for every account including the headings above sub-accounts.
//!
//! Balances are signed with debits positive; a row's `side` says how a report shows it. Only posted
//! vouchers count: drafts are not in the ledger.

use std::collections::BTreeMap;

use domain::VoucherId;
use domain::finance::accounts::{Account, Side};
use domain::finance::journal::{JournalEvent, VoucherPosted};
use domain::finance::voucher::{VoucherLine, VoucherSource, VoucherWord};
use domain::time::Period;
use domain::{PartnerId, Timestamp};
use rust_decimal::Decimal;

use crate::postings::Postings;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Movement {
    pub debit: Decimal,
    pub credit: Decimal,
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ledger {
    /// Account code → month → the month's movement.
    movements: BTreeMap<String, BTreeMap<Period, Movement>>,
    /// Every voucher folded in, with the log position of its posting: a journal read twice is counted
    /// once, and a voucher is found by its id (drill-down).
    vouchers: HashMap<VoucherId, u64>,
    /// Month → voucher word → the positions of the postings, in number order (凭证列表).
    journal: BTreeMap<Period, BTreeMap<VoucherWord, Postings>>,
    /// The same movements without the month-end vouchers (结转): what the income statement reports.
    operating: BTreeMap<String, BTreeMap<Period, Movement>>,
    /// Department → account code → month → the operating movement of the lines naming the department
    /// (部门核算).
    departments: BTreeMap<String, BTreeMap<String, BTreeMap<Period, Movement>>>,
    /// Account code → month → the log positions of the vouchers posted to it (明细账). The lines
    /// themselves are in the log: a page of an account's detail reads those events back
    /// ([`entries`]), so the ledger keeps one or two bytes per line instead of a copy of it.
    postings: HashMap<String, BTreeMap<Period, Postings>>,
}

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// One posted voucher line of an account, as the detail (明细账) shows it: read back from the
/// voucher's `VoucherPosted` event at `position`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The log position of the posting: the event behind the line.
    pub position: u64,
    pub period: Period,
    pub voucher: VoucherId,
    pub word: VoucherWord,
    pub number: u32,
    pub date: Timestamp,
    pub summary: String,
    pub debit: Decimal,
    pub credit: Decimal,
    pub partner: Option<PartnerId>,
    pub department: Option<String>,
    /// The document and event the voucher came from (automatic vouchers).
    pub source: Option<VoucherSource>,
}

/// The lines of `posted` (recorded at `position`) on account `code` (not its sub-accounts).
pub fn entries(code: &str, position: u64, posted: &VoucherPosted) -> Vec<Entry> {
    posted
        .lines
        .iter()
        .filter(|line| line.account == code)
        .map(|line| Entry {
            position,
            period: posted.period,
            voucher: posted.voucher,
            word: posted.word,
            number: posted.number,
            date: posted.date,
            summary: line.summary.clone(),
            debit: line.debit,
            credit: line.credit,
            partner: line.partner,
            department: line.department.clone(),
            source: posted.source.clone(),
        })
        .collect()
}

pub use domain::finance::month_end::MONTH_END_SOURCE;

/// Positions `skip` to `skip + take` of several posting lists read one after the other.
fn page_of<'a>(lists: impl Iterator<Item = &'a Postings>, skip: u64, take: usize) -> Vec<u64> {
    let mut skip = skip;
    let mut page = Vec::with_capacity(take.min(1_024));
    for postings in lists {
        if page.len() >= take {
            break;
        }
        if skip >= postings.len() {
            skip -= postings.len();
            continue;
        }
        page.extend(postings.from_index(skip).take(take - page.len()));
        skip = 0;
    }
    page
}

/// One row of a trial balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrialBalanceRow {
    pub code: String,
    pub name: String,
    /// 1 for a top-level account, 2 for its sub-accounts, ...
    pub level: usize,
    pub side: Side,
    /// Signed, debits positive.
    pub opening: Decimal,
    pub debit: Decimal,
    pub credit: Decimal,
    pub closing: Decimal,
}

/// `map[code][period] += (debit, credit)`, without an owned copy of `code` once it is known.
fn add(
    map: &mut BTreeMap<String, BTreeMap<Period, Movement>>,
    code: &str,
    period: Period,
    line: &VoucherLine,
) {
    let months = match map.get_mut(code) {
        Some(months) => months,
        None => map.entry(code.to_string()).or_default(),
    };
    let movement = months.entry(period).or_default();
    movement.debit += line.debit;
    movement.credit += line.credit;
}

/// The net movement (debits positive) of `code` in `map` over `months`.
fn net(
    map: &BTreeMap<String, BTreeMap<Period, Movement>>,
    code: &str,
    months: std::ops::RangeInclusive<Period>,
) -> Decimal {
    map.get(code)
        .map(|by_month| by_month.range(months).map(|(_, m)| m.debit - m.credit).sum())
        .unwrap_or_default()
}

impl Ledger {
    /// Folds a journal event recorded at log `position`.
    pub fn apply(&mut self, event: &JournalEvent, position: u64) {
        let JournalEvent::Posted(posted) = event else { return };
        match self.vouchers.entry(posted.voucher) {
            std::collections::hash_map::Entry::Occupied(_) => return,
            std::collections::hash_map::Entry::Vacant(vacant) => vacant.insert(position),
        };
        self.journal.entry(posted.period).or_default().entry(posted.word).or_default().push(position);
        let month_end = posted.source.as_ref().is_some_and(|s| s.kind == MONTH_END_SOURCE);
        for (i, line) in posted.lines.iter().enumerate() {
            let code = line.account.as_str();
            add(&mut self.movements, code, posted.period, line);
            if !month_end {
                add(&mut self.operating, code, posted.period, line);
                if let Some(department) = &line.department {
                    let accounts = match self.departments.get_mut(department) {
                        Some(accounts) => accounts,
                        None => self.departments.entry(department.clone()).or_default(),
                    };
                    add(accounts, code, posted.period, line);
                }
            }
            // A voucher is listed once under an account however many of its lines are there.
            if posted.lines[..i].iter().any(|earlier| earlier.account == line.account) {
                continue;
            }
            let months = match self.postings.get_mut(code) {
                Some(months) => months,
                None => self.postings.entry(code.to_string()).or_default(),
            };
            months.entry(posted.period).or_default().push(position);
        }
    }

    /// The log positions of the vouchers posted to an account (not its sub-accounts) in `months`:
    /// month by month, in posting order within a month. [`entries`] expands each into its lines.
    pub fn detail(&self, code: &str, months: std::ops::RangeInclusive<Period>) -> Vec<u64> {
        self.detail_page(code, months, 0, usize::MAX)
    }

    /// A page of an account's detail: the positions from the `skip`-th on, at most `take`.
    pub fn detail_page(
        &self,
        code: &str,
        months: std::ops::RangeInclusive<Period>,
        skip: u64,
        take: usize,
    ) -> Vec<u64> {
        let Some(by_month) = self.postings.get(code) else { return Vec::new() };
        page_of(by_month.range(months).map(|(_, p)| p), skip, take)
    }

    /// Where the posting of a voucher is in the log.
    pub fn voucher_position(&self, voucher: VoucherId) -> Option<u64> {
        self.vouchers.get(&voucher).copied()
    }

    /// A page of a month's vouchers (凭证列表) of one word or all, in word then number order: the
    /// positions of their postings from the `skip`-th on, at most `take`, and how many there are.
    pub fn journal_page(
        &self,
        period: Period,
        word: Option<VoucherWord>,
        skip: u64,
        take: usize,
    ) -> (Vec<u64>, u64) {
        let Some(words) = self.journal.get(&period) else { return (Vec::new(), 0) };
        let lists: Vec<&Postings> =
            words.iter().filter(|(w, _)| word.is_none_or(|wanted| **w == wanted)).map(|(_, p)| p).collect();
        let total = lists.iter().map(|p| p.len()).sum();
        (page_of(lists.into_iter(), skip, take), total)
    }

    /// How many vouchers an account's detail holds in `months`.
    pub fn detail_len(&self, code: &str, months: std::ops::RangeInclusive<Period>) -> u64 {
        self.postings.get(code).map_or(0, |by_month| by_month.range(months).map(|(_, p)| p.len()).sum())
    }

    /// An account's net movement (debits positive) over `months`, without the month-end vouchers.
    pub fn operating_movement(&self, code: &str, months: std::ops::RangeInclusive<Period>) -> Decimal {
        net(&self.operating, code, months)
    }

    /// An account's net movement over `months` on the lines of one department (部门核算; `None`: the
    /// lines that name none), without the month-end vouchers.
    pub fn department_movement(
        &self,
        code: &str,
        months: std::ops::RangeInclusive<Period>,
        department: Option<&str>,
    ) -> Decimal {
        let of = |accounts| net(accounts, code, months.clone());
        match department {
            Some(department) => self.departments.get(department).map(of).unwrap_or_default(),
            None => {
                self.operating_movement(code, months.clone())
                    - self.departments.values().map(of).sum::<Decimal>()
            }
        }
    }

    /// Every department named on a posted line.
    pub fn departments(&self) -> std::collections::BTreeSet<String> {
        self.departments.keys().cloned().collect()
    }

    /// The signed balance of one account (not its sub-accounts) at the end of `period`.
    pub fn balance(&self, code: &str, period: Period) -> Decimal {
        self.movements
            .get(code)
            .map(|months| months.range(..=period).map(|(_, m)| m.debit - m.credit).sum())
            .unwrap_or_default()
    }

    fn own(&self, code: &str, period: Period) -> (Decimal, Movement) {
        let Some(months) = self.movements.get(code) else { return (Decimal::ZERO, Movement::default()) };
        let opening = months.range(..period).map(|(_, m)| m.debit - m.credit).sum();
        (opening, months.get(&period).copied().unwrap_or_default())
    }

    /// The trial balance of `period` over `chart`: every account, headings summing their sub-accounts.
    /// Movements on codes the chart does not know are left out (the voucher checks keep them from
    /// happening).
    pub fn trial_balance(&self, chart: &[Account], period: Period) -> Vec<TrialBalanceRow> {
        let children = |code: &str| -> Vec<&Account> {
            chart.iter().filter(|a| a.parent.as_deref() == Some(code)).collect()
        };
        fn total<'a>(
            ledger: &Ledger,
            account: &'a Account,
            children: &dyn Fn(&str) -> Vec<&'a Account>,
            period: Period,
        ) -> (Decimal, Movement) {
            let (mut opening, mut movement) = ledger.own(&account.code, period);
            for child in children(&account.code) {
                let (o, m) = total(ledger, child, children, period);
                opening += o;
                movement.debit += m.debit;
                movement.credit += m.credit;
            }
            (opening, movement)
        }
        let level = |account: &Account| {
            let mut level = 1;
            let mut parent = account.parent.as_deref();
            while let Some(code) = parent {
                level += 1;
                parent = chart.iter().find(|a| a.code == code).and_then(|a| a.parent.as_deref());
            }
            level
        };
        let mut rows: Vec<TrialBalanceRow> = chart
            .iter()
            .map(|account| {
                let (opening, movement) = total(self, account, &children, period);
                TrialBalanceRow {
                    code: account.code.clone(),
                    name: account.name.clone(),
                    level: level(account),
                    side: account.side,
                    opening,
                    debit: movement.debit,
                    credit: movement.credit,
                    closing: opening + movement.debit - movement.credit,
                }
            })
            .collect();
        rows.sort_by(|a, b| a.code.cmp(&b.code));
        rows
    }
}

/// The general ledgers of every book, each folded from its own journals: a book's balances never mix
/// with another's.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Ledgers {
    books: BTreeMap<domain::BookId, Ledger>,
}

impl Ledgers {
    /// Folds a journal event recorded at log `position`.
    pub fn apply(&mut self, event: &JournalEvent, position: u64) {
        let book = match event {
            JournalEvent::Posted(p) => p.book,
            _ => return,
        };
        self.books.entry(book).or_default().apply(event, position);
    }

    /// A book's ledger (empty for a book with no postings).
    pub fn book(&self, book: domain::BookId) -> &Ledger {
        static EMPTY: std::sync::OnceLock<Ledger> = std::sync::OnceLock::new();
        self.books.get(&book).unwrap_or_else(|| EMPTY.get_or_init(Ledger::default))
    }
}

impl crate::runtime::ReadModel for Ledgers {
    const NAME: &'static str = "ledger";
    const VERSION: u32 = 4;

    fn apply(&mut self, event: &infra::Envelope<'_>, fact: &crate::fact::Fact) {
        if let crate::fact::Fact::Journal(journal) = fact {
            Ledgers::apply(self, journal, event.position);
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::BookId;
    use domain::finance::accounts::{Standard, template};
    use domain::finance::journal::VoucherPosted;
    use domain::finance::voucher::VoucherLine;
    use uuid::Uuid;

    use super::*;

    fn posted(voucher: u128, period: Period, lines: &[(&str, i64, i64)]) -> JournalEvent {
        JournalEvent::Posted(VoucherPosted {
            book: BookId(Uuid::from_u128(1)),
            period,
            voucher: VoucherId(Uuid::from_u128(voucher)),
            word: VoucherWord::Ji,
            number: voucher as u32,
            date: Timestamp(0),
            lines: lines
                .iter()
                .map(|&(account, debit, credit)| VoucherLine {
                    summary: String::new(),
                    account: account.into(),
                    debit: Decimal::from(debit),
                    credit: Decimal::from(credit),
                    partner: None,
                    item: None,
                    department: None,
                })
                .collect(),
            source: None,
            reverses: None,
            by: "p".into(),
        })
    }

    #[test]
    fn each_book_keeps_its_own_ledger() {
        let nov = Period::new(2026, 11).unwrap();
        let for_book = |book: u128, voucher: u128, amount: i64| {
            let JournalEvent::Posted(mut p) =
                posted(voucher, nov, &[("1002", amount, 0), ("3001", 0, amount)])
            else {
                unreachable!()
            };
            p.book = BookId(Uuid::from_u128(book));
            JournalEvent::Posted(p)
        };
        let mut ledgers = Ledgers::default();
        ledgers.apply(&for_book(1, 1, 100), 1);
        ledgers.apply(&for_book(2, 2, 7), 2);
        ledgers.apply(&for_book(2, 3, 3), 3);
        assert_eq!(ledgers.book(BookId(Uuid::from_u128(1))).balance("1002", nov), Decimal::from(100));
        assert_eq!(ledgers.book(BookId(Uuid::from_u128(2))).balance("1002", nov), Decimal::from(10));
        assert_eq!(ledgers.book(BookId(Uuid::from_u128(3))).balance("1002", nov), Decimal::ZERO);
    }

    #[test]
    fn a_months_trial_balance_has_openings_movements_and_closings_that_sum_to_zero() {
        let (oct, nov) = (Period::new(2026, 10).unwrap(), Period::new(2026, 11).unwrap());
        let mut ledger = Ledger::default();
        let events = [
            posted(1, oct, &[("1405", 1000, 0), ("220202", 0, 1000)]),
            posted(2, nov, &[("1122", 1130, 0), ("5001", 0, 1000), ("22210102", 0, 130)]),
            posted(3, nov, &[("5401", 600, 0), ("1405", 0, 600)]),
        ];
        for (i, event) in events.iter().enumerate() {
            ledger.apply(event, i as u64 + 1);
        }
        ledger.apply(&events[1], 2); // read twice, counted once
        let chart = template(Standard::SmallEnterprise);
        let rows = ledger.trial_balance(&chart, nov);
        let row = |code: &str| rows.iter().find(|r| r.code == code).unwrap().clone();
        let inventory = row("1405");
        assert_eq!(
            (inventory.opening, inventory.debit, inventory.credit, inventory.closing),
            (1000.into(), 0.into(), 600.into(), 400.into())
        );
        // Headings sum their sub-accounts: 2221 ← 222101 ← 22210102.
        assert_eq!(row("2221").credit, Decimal::from(130));
        assert_eq!(row("2202").opening, Decimal::from(-1000));
        assert_eq!((row("22210102").level, row("2221").level), (3, 1));
        let top: Vec<_> = rows.iter().filter(|r| r.level == 1).collect();
        assert_eq!(top.iter().map(|r| r.opening).sum::<Decimal>(), Decimal::ZERO);
        assert_eq!(
            top.iter().map(|r| r.debit).sum::<Decimal>(),
            top.iter().map(|r| r.credit).sum::<Decimal>()
        );
        assert_eq!(top.iter().map(|r| r.closing).sum::<Decimal>(), Decimal::ZERO);
        assert_eq!(ledger.balance("1122", nov), Decimal::from(1130));
        assert_eq!(ledger.balance("1122", oct), Decimal::ZERO);
        // Drill-down: the vouchers behind 1405's balance are found at their log positions, and each
        // expands into its lines there.
        assert_eq!(ledger.detail("1405", oct..=nov), vec![1, 3]);
        assert_eq!(ledger.detail_page("1405", oct..=nov, 1, 10), vec![3], "a page after the first voucher");
        assert_eq!(ledger.voucher_position(VoucherId(Uuid::from_u128(2))), Some(2));
        assert_eq!(ledger.journal_page(nov, None, 0, 10), (vec![2, 3], 2));
        assert_eq!(ledger.journal_page(nov, Some(VoucherWord::Shou), 0, 10), (vec![], 0));
        assert_eq!((ledger.detail("1405", nov..=nov), ledger.detail_len("1405", oct..=nov)), (vec![3], 2));
        let JournalEvent::Posted(third) = &events[2] else { unreachable!() };
        let lines = entries("1405", 3, third);
        assert_eq!(
            lines.iter().map(|e| (e.position, e.number, e.debit, e.credit)).collect::<Vec<_>>(),
            vec![(3, 3, 0.into(), 600.into())]
        );
    }
}

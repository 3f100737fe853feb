//! Book (账套): one company's accounting setup: its standard, first period, VAT status, stock and posting
//! policies, and its chart of accounts (the standard's template, copied at creation, plus the
//! sub-accounts users add).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::accounts::{Account, AccountRole, Standard, template};
use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection, Role};
use crate::ids::BookId;
use crate::time::Period;
use crate::values::DOCUMENT_AMOUNT_MAX;

/// Most accounts in one chart.
pub const ACCOUNTS_MAX: usize = 5_000;

/// The estimated amount (net, yuan) above which a requisition needs a buyer's approval in a book
/// that never set its own purchasing policy: what every book used before books carried one, so a
/// book's behaviour does not change until finance changes it.
pub const REQUISITION_APPROVAL_THRESHOLD_DEFAULT: Decimal = Decimal::from_parts(5_000, 0, 0, false, 0);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VatStatus {
    /// 一般纳税人: input VAT is deductible.
    General,
    /// 小规模纳税人.
    SmallScale,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookSettings {
    pub name: String,
    pub standard: Standard,
    pub first_period: Period,
    pub vat: VatStatus,
    pub allow_negative_stock: bool,
    /// Automatic vouchers post without review.
    pub auto_post: bool,
    /// The book's time zone, minutes east of UTC (480 for China Standard Time).
    pub utc_offset_minutes: i32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum BookCommand {
    Create {
        id: BookId,
        settings: BookSettings,
    },
    /// A sub-account under an existing account (e.g. 1122 per key customer, 5602 per expense kind).
    AddAccount {
        id: BookId,
        account: Account,
    },
    /// The surcharges on VAT the book accrues at month end (城市维护建设税 7 %, 5 % or 1 %; 教育费附加 3 %),
    /// as fractions; zero turns one off.
    ConfigureSurcharges {
        id: BookId,
        urban_construction: Decimal,
        education: Decimal,
    },
    /// The voucher words the book numbers its automatic vouchers under.
    ChooseVoucherWords {
        id: BookId,
        words: WordScheme,
    },
    /// Whether purchase freight becomes part of the goods' cost (manufacturers) or a selling expense
    /// (trading companies, the default).
    ChooseFreightTreatment {
        id: BookId,
        capitalize: bool,
    },
    /// The book's purchasing policy: the estimated amount (net, yuan) up to which submitting a
    /// requisition approves it; above it a buyer other than the requester approves it.
    SetPurchasingPolicy {
        id: BookId,
        requisition_approval_threshold: Decimal,
    },
}

/// How a book's automatic vouchers are worded (凭证字).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WordScheme {
    /// Everything under 记: what most small companies use.
    #[default]
    Single,
    /// 收 for money received, 付 for money paid, 转 for the rest.
    ReceiptPaymentTransfer,
}

impl BookCommand {
    pub fn id(&self) -> BookId {
        match self {
            BookCommand::Create { id, .. }
            | BookCommand::AddAccount { id, .. }
            | BookCommand::ConfigureSurcharges { id, .. }
            | BookCommand::ChooseVoucherWords { id, .. }
            | BookCommand::ChooseFreightTreatment { id, .. }
            | BookCommand::SetPurchasingPolicy { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookCreated {
    pub id: BookId,
    pub settings: BookSettings,
    /// The chart the book starts with: the standard's template as it was at creation.
    pub accounts: Vec<Account>,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAdded {
    pub account: Account,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherWordsChosen {
    pub words: WordScheme,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreightTreatmentChosen {
    pub capitalize: bool,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurchargesConfigured {
    pub urban_construction: Decimal,
    pub education: Decimal,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchasingPolicySet {
    pub requisition_approval_threshold: Decimal,
    pub by: String,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum BookEvent {
        Created(BookCreated) = "finance.BookCreated" v 1,
        AccountAdded(AccountAdded) = "finance.AccountAdded" v 1,
        SurchargesConfigured(SurchargesConfigured) = "finance.SurchargesConfigured" v 1,
        VoucherWordsChosen(VoucherWordsChosen) = "finance.VoucherWordsChosen" v 1,
        FreightTreatmentChosen(FreightTreatmentChosen) = "finance.FreightTreatmentChosen" v 1,
        PurchasingPolicySet(PurchasingPolicySet) = "finance.PurchasingPolicySet" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookRejection {
    #[error("the book already exists")]
    AlreadyExists,
    #[error("the book does not exist")]
    NotFound,
    #[error("setting up a book or its accounts needs the finance or admin role")]
    NotAllowed,
    #[error("invalid book setting: {0}")]
    InvalidSettings(&'static str),
    #[error("account {code}: {reason}")]
    InvalidAccount { code: String, reason: &'static str },
}

impl Rejection for BookRejection {
    fn code(&self) -> &'static str {
        match self {
            BookRejection::AlreadyExists => "book.already_exists",
            BookRejection::NotFound => "book.not_found",
            BookRejection::NotAllowed => "book.not_allowed",
            BookRejection::InvalidSettings(_) => "book.invalid_settings",
            BookRejection::InvalidAccount { .. } => "book.invalid_account",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Book {
    pub id: Option<BookId>,
    pub settings: Option<BookSettings>,
    pub accounts: Vec<Account>,
    /// Surcharge rates on VAT (urban construction, education); none until configured.
    pub surcharges: Option<(Decimal, Decimal)>,
    pub words: WordScheme,
    /// Whether purchase freight is capitalized into the goods (else expensed).
    pub capitalize_freight: bool,
    /// The requisition approval threshold the book set; none until set (see
    /// [`Book::requisition_approval_threshold`]).
    pub requisition_threshold_set: Option<Decimal>,
}

impl Book {
    /// The stream of the book `id`: the one place its name is made.
    pub fn stream(id: BookId) -> String {
        format!("book-{}", id.0)
    }

    pub fn account(&self, code: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.code == code)
    }

    /// An account vouchers may post to: it exists and has no sub-accounts (a parent's balance is the sum
    /// of its children's).
    pub fn is_postable(&self, code: &str) -> bool {
        self.account(code).is_some() && !self.accounts.iter().any(|a| a.parent.as_deref() == Some(code))
    }

    /// The estimated amount (net, yuan) up to which submitting a requisition approves it: the book's
    /// own setting, or [`REQUISITION_APPROVAL_THRESHOLD_DEFAULT`] while it has set none.
    pub fn requisition_approval_threshold(&self) -> Decimal {
        self.requisition_threshold_set.unwrap_or(REQUISITION_APPROVAL_THRESHOLD_DEFAULT)
    }

    /// The account playing `role`.
    pub fn account_for(&self, role: AccountRole) -> Option<&Account> {
        self.accounts.iter().find(|a| a.role == Some(role))
    }
}

fn check_account(book: &Book, account: &Account) -> Result<(), BookRejection> {
    let invalid = |reason| BookRejection::InvalidAccount { code: account.code.clone(), reason };
    if account.code.is_empty() || account.code.len() > 20 || !account.code.chars().all(|c| c.is_ascii_digit())
    {
        return Err(invalid("a code is 1 to 20 digits"));
    }
    if account.name.trim().is_empty() || account.name.chars().count() > 100 {
        return Err(invalid("a name is 1 to 100 characters"));
    }
    if book.account(&account.code).is_some() {
        return Err(invalid("the code is taken"));
    }
    let Some(parent) = account.parent.as_deref().and_then(|p| book.account(p)) else {
        return Err(invalid("a sub-account names an existing parent"));
    };
    if !account.code.starts_with(&parent.code) || account.code.len() <= parent.code.len() {
        return Err(invalid("a sub-account's code extends its parent's"));
    }
    if account.category != parent.category {
        return Err(invalid("a sub-account is in its parent's category"));
    }
    if let Some(role) = account.role
        && book.account_for(role).is_some()
    {
        return Err(invalid("another account already plays that role"));
    }
    if book.accounts.len() >= ACCOUNTS_MAX {
        return Err(invalid("the chart is full"));
    }
    Ok(())
}

/// A requisition approval threshold as money: not negative, whole fen, and below the largest total
/// a document may have (no requisition is worth more, so a higher threshold means nothing more).
/// Answers it without trailing zeros, so equal thresholds are recorded alike.
fn check_approval_threshold(threshold: Decimal) -> Result<Decimal, BookRejection> {
    if threshold < Decimal::ZERO {
        return Err(BookRejection::InvalidSettings("a requisition approval threshold is not negative"));
    }
    let threshold = threshold.normalize();
    if threshold.scale() > 2 {
        return Err(BookRejection::InvalidSettings("a requisition approval threshold is in whole fen"));
    }
    if threshold >= DOCUMENT_AMOUNT_MAX {
        return Err(BookRejection::InvalidSettings(
            "a requisition approval threshold is below the largest document amount (10^15)",
        ));
    }
    Ok(threshold)
}

impl Aggregate for Book {
    type Command = BookCommand;
    type Event = BookEvent;
    type Rejection = BookRejection;

    fn stream_id(command: &BookCommand) -> String {
        Book::stream(command.id())
    }

    fn evolve(&mut self, event: &BookEvent) {
        match event {
            BookEvent::Created(e) => {
                self.id = Some(e.id);
                self.settings = Some(e.settings.clone());
                self.accounts = e.accounts.clone();
            }
            BookEvent::AccountAdded(e) => {
                // A role moves to the new account only if nobody played it (checked on the way in).
                self.accounts.push(e.account.clone());
            }
            BookEvent::SurchargesConfigured(e) => self.surcharges = Some((e.urban_construction, e.education)),
            BookEvent::VoucherWordsChosen(e) => self.words = e.words,
            BookEvent::FreightTreatmentChosen(e) => self.capitalize_freight = e.capitalize,
            BookEvent::PurchasingPolicySet(e) => {
                // Decided only for money (checked on the way in): anything else was never written.
                assert!(
                    e.requisition_approval_threshold >= Decimal::ZERO
                        && e.requisition_approval_threshold < DOCUMENT_AMOUNT_MAX,
                    "a recorded requisition approval threshold is money: {}",
                    e.requisition_approval_threshold
                );
                self.requisition_threshold_set = Some(e.requisition_approval_threshold);
            }
        }
    }

    fn decide(&self, command: &BookCommand, meta: &CommandMeta) -> Result<Vec<BookEvent>, BookRejection> {
        if !meta.has_role(Role::Finance) {
            return Err(BookRejection::NotAllowed);
        }
        match command {
            BookCommand::Create { id, settings } => {
                if self.id.is_some() {
                    return Err(BookRejection::AlreadyExists);
                }
                if settings.name.trim().is_empty() || settings.name.chars().count() > 200 {
                    return Err(BookRejection::InvalidSettings("a book's name is 1 to 200 characters"));
                }
                if !(-12 * 60..=14 * 60).contains(&settings.utc_offset_minutes) {
                    return Err(BookRejection::InvalidSettings("a time zone is between UTC-12 and UTC+14"));
                }
                Ok(vec![BookEvent::Created(BookCreated {
                    id: *id,
                    settings: settings.clone(),
                    accounts: template(settings.standard),
                    by: meta.actor.clone(),
                })])
            }
            BookCommand::AddAccount { account, .. } => {
                if self.id.is_none() {
                    return Err(BookRejection::NotFound);
                }
                check_account(self, account)?;
                Ok(vec![BookEvent::AccountAdded(AccountAdded {
                    account: account.clone(),
                    by: meta.actor.clone(),
                })])
            }
            BookCommand::ChooseVoucherWords { words, .. } => {
                if self.id.is_none() {
                    return Err(BookRejection::NotFound);
                }
                if self.words == *words {
                    return Ok(Vec::new());
                }
                Ok(vec![BookEvent::VoucherWordsChosen(VoucherWordsChosen {
                    words: *words,
                    by: meta.actor.clone(),
                })])
            }
            BookCommand::ChooseFreightTreatment { capitalize, .. } => {
                if self.id.is_none() {
                    return Err(BookRejection::NotFound);
                }
                if self.capitalize_freight == *capitalize {
                    return Ok(Vec::new());
                }
                Ok(vec![BookEvent::FreightTreatmentChosen(FreightTreatmentChosen {
                    capitalize: *capitalize,
                    by: meta.actor.clone(),
                })])
            }
            BookCommand::ConfigureSurcharges { urban_construction, education, .. } => {
                if self.id.is_none() {
                    return Err(BookRejection::NotFound);
                }
                let rate = |r: &Decimal| *r >= Decimal::ZERO && *r <= Decimal::new(1, 1) && r.scale() <= 4;
                if !rate(urban_construction) || !rate(education) {
                    return Err(BookRejection::InvalidSettings("a surcharge rate is between 0 and 0.1"));
                }
                Ok(vec![BookEvent::SurchargesConfigured(SurchargesConfigured {
                    urban_construction: *urban_construction,
                    education: *education,
                    by: meta.actor.clone(),
                })])
            }
            BookCommand::SetPurchasingPolicy { requisition_approval_threshold, .. } => {
                if self.id.is_none() {
                    return Err(BookRejection::NotFound);
                }
                let threshold = check_approval_threshold(*requisition_approval_threshold)?;
                if self.requisition_approval_threshold() == threshold {
                    return Ok(Vec::new());
                }
                Ok(vec![BookEvent::PurchasingPolicySet(PurchasingPolicySet {
                    requisition_approval_threshold: threshold,
                    by: meta.actor.clone(),
                })])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::finance::accounts::{Category, Side};
    use crate::testing::{given, meta, meta_with};

    pub(crate) fn settings() -> BookSettings {
        BookSettings {
            name: "上海示例贸易有限公司".into(),
            standard: Standard::SmallEnterprise,
            first_period: Period::new(2026, 1).unwrap(),
            vat: VatStatus::General,
            allow_negative_stock: false,
            auto_post: true,
            utc_offset_minutes: 480,
        }
    }

    fn id() -> BookId {
        BookId(Uuid::from_u128(1))
    }

    fn finance() -> CommandMeta {
        meta_with("zhao", &[Role::Finance])
    }

    fn sub(code: &str, parent: &str, role: Option<AccountRole>) -> Account {
        Account {
            code: code.into(),
            name: format!("科目 {code}"),
            category: Category::Asset,
            side: Side::Debit,
            role,
            parent: Some(parent.into()),
        }
    }

    #[test]
    fn a_new_book_gets_its_standards_chart_and_only_finance_sets_it_up() {
        let create = BookCommand::Create { id: id(), settings: settings() };
        assert_eq!(Book::default().decide(&create, &meta("li")).unwrap_err().code(), "book.not_allowed");
        let book = given::<Book>(&[(finance(), create.clone())]).state;
        assert_eq!(book.account_for(AccountRole::Grni).unwrap().code, "220202");
        assert!(book.is_postable("220202"));
        assert!(!book.is_postable("2202"), "a parent with sub-accounts takes no postings");
        assert_eq!(book.decide(&create, &finance()).unwrap_err().code(), "book.already_exists");
        let mut nameless = settings();
        nameless.name = " ".into();
        let err = Book::default().decide(&BookCommand::Create { id: id(), settings: nameless }, &finance());
        assert_eq!(err.unwrap_err().code(), "book.invalid_settings");
    }

    #[test]
    fn a_sub_account_extends_an_existing_parent_and_turns_it_into_a_heading() {
        let book = given::<Book>(&[(finance(), BookCommand::Create { id: id(), settings: settings() })]);
        let add = |account| BookCommand::AddAccount { id: id(), account };
        let added = book.when(&finance(), &add(sub("112201", "1122", None)));
        assert!(!added.after.is_postable("1122"));
        assert!(added.after.is_postable("112201"));
        for (bad, why) in [
            (sub("1122", "1122", None), "taken"),
            (sub("113301", "1133", None), "no such parent"),
            (sub("100201", "1122", None), "does not extend the parent"),
            (sub("112202", "1122", Some(AccountRole::Receivables)), "role already played"),
            (Account { category: Category::Liability, ..sub("112203", "1122", None) }, "other category"),
            (Account { code: "11x2".into(), ..sub("11x2", "1122", None) }, "not digits"),
        ] {
            assert_eq!(
                book.when(&finance(), &add(bad)).result.unwrap_err().code(),
                "book.invalid_account",
                "{why}"
            );
        }
    }

    fn policy(threshold: &str) -> BookCommand {
        BookCommand::SetPurchasingPolicy {
            id: id(),
            requisition_approval_threshold: threshold.parse().unwrap(),
        }
    }

    #[test]
    fn a_book_that_never_set_a_purchasing_policy_approves_requisitions_up_to_5000_yuan() {
        let book =
            given::<Book>(&[(finance(), BookCommand::Create { id: id(), settings: settings() })]).state;
        assert_eq!(book.requisition_approval_threshold(), Decimal::from(5_000));
        assert_eq!(Book::default().requisition_approval_threshold(), REQUISITION_APPROVAL_THRESHOLD_DEFAULT);
    }

    #[test]
    fn finance_or_an_admin_sets_the_purchasing_policy_and_the_book_keeps_its_threshold() {
        let book = given::<Book>(&[(finance(), BookCommand::Create { id: id(), settings: settings() })]);
        let set = book.when(&finance(), &policy("100.50"));
        assert_eq!(
            set.events(),
            [BookEvent::PurchasingPolicySet(PurchasingPolicySet {
                requisition_approval_threshold: Decimal::new(10050, 2),
                by: "zhao".into(),
            })]
        );
        assert_eq!(set.after.requisition_approval_threshold(), Decimal::new(10050, 2));
        let by_admin = book.when(&meta_with("boss", &[Role::Admin]), &policy("0"));
        assert_eq!(
            by_admin.after.requisition_approval_threshold(),
            Decimal::ZERO,
            "zero: every one is approved by a buyer"
        );
        for role in [Role::Purchasing, Role::Sales, Role::Warehouse] {
            let refused = book.when(&meta_with("zhao", &[role]), &policy("100"));
            assert_eq!(refused.result.unwrap_err().code(), "book.not_allowed", "{role:?}");
        }
        let missing = Book::default().decide(&policy("100"), &finance());
        assert_eq!(missing.unwrap_err().code(), "book.not_found");
    }

    #[test]
    fn setting_the_threshold_the_book_already_has_records_nothing() {
        let book = given::<Book>(&[(finance(), BookCommand::Create { id: id(), settings: settings() })]);
        assert!(book.when(&finance(), &policy("5000.00")).events().is_empty(), "the default");
        let set = given::<Book>(&[
            (finance(), BookCommand::Create { id: id(), settings: settings() }),
            (finance(), policy("100")),
        ]);
        assert!(set.when(&finance(), &policy("100.0")).events().is_empty());
        assert_eq!(set.when(&finance(), &policy("5000")).events().len(), 1, "back to 5,000 is a change");
    }

    #[test]
    fn a_negative_fractional_fen_or_huge_threshold_is_rejected_as_an_invalid_setting() {
        let book = given::<Book>(&[(finance(), BookCommand::Create { id: id(), settings: settings() })]);
        for bad in ["-0.01", "-5000", "100.001", "1000000000000000", "99999999999999999"] {
            let refused = book.when(&finance(), &policy(bad));
            assert_eq!(refused.result.unwrap_err().code(), "book.invalid_settings", "{bad}");
        }
        for good in ["0", "0.01", "100.10", "999999999999999.99"] {
            assert_eq!(book.when(&finance(), &policy(good)).events().len(), 1, "{good}");
        }
    }
}

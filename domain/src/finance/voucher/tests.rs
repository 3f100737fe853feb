//! Given / when / then for Voucher: drafting rules, review by another person, posting steps, reversal.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::*;
use crate::testing::{Given, given, meta, meta_with};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn id() -> VoucherId {
    VoucherId(Uuid::from_u128(7))
}

fn line(account: &str, debit: &str, credit: &str) -> VoucherLine {
    VoucherLine {
        summary: "收到货款".into(),
        account: account.into(),
        debit: d(debit),
        credit: d(credit),
        partner: None,
        item: None,
        department: None,
    }
}

fn facts() -> DraftFacts {
    DraftFacts { unpostable_accounts: Vec::new(), period_open: true }
}

fn draft(lines: Vec<VoucherLine>, source: Option<VoucherSource>) -> VoucherCommand {
    VoucherCommand::Draft {
        id: id(),
        book: BookId(Uuid::from_u128(1)),
        word: VoucherWord::Ji,
        period: Period::new(2026, 11).unwrap(),
        date: Timestamp(0),
        lines,
        source,
        reverses: None,
        facts: facts(),
    }
}

fn receipt() -> Vec<VoucherLine> {
    vec![line("1002", "1130.00", "0"), line("1122", "0", "1130.00")]
}

fn source() -> VoucherSource {
    VoucherSource {
        kind: "sales.CustomerReceipt".into(),
        id: Uuid::from_u128(9),
        event: EventId(Uuid::from_u128(10)),
    }
}

fn accountant(name: &str) -> CommandMeta {
    meta_with(name, &[Role::Finance])
}

fn code(given: &Given<Voucher>, meta: &CommandMeta, command: VoucherCommand) -> &'static str {
    given.when(meta, &command).result.unwrap_err().code()
}

#[test]
fn a_voucher_balances_in_cents_with_one_side_per_line() {
    let fresh: Given<Voucher> = given(&[]);
    let wang = accountant("wang");
    assert_eq!(code(&fresh, &wang, draft(vec![line("1002", "1", "0")], None)), "voucher.invalid_lines");
    assert_eq!(
        code(&fresh, &wang, draft(vec![line("1002", "10", "0"), line("1122", "0", "9.99")], None)),
        "voucher.unbalanced"
    );
    assert_eq!(
        code(&fresh, &wang, draft(vec![line("1002", "0.001", "0"), line("1122", "0", "0.001")], None)),
        "voucher.invalid_line"
    );
    assert_eq!(
        code(&fresh, &wang, draft(vec![line("1002", "1", "1"), line("1122", "0", "0")], None)),
        "voucher.invalid_line"
    );
    assert_eq!(
        code(&fresh, &wang, draft(vec![line("1002", "-1", "0"), line("1122", "0", "-1")], None)),
        "voucher.invalid_line"
    );
    assert_eq!(
        code(&fresh, &wang, draft(vec![line("1002", "0", "0"), line("1122", "0", "0")], None)),
        "voucher.invalid_line"
    );
    let mut by_department = receipt();
    by_department[0].department = Some(" ".into());
    assert_eq!(code(&fresh, &wang, draft(by_department.clone(), None)), "voucher.invalid_line");
    by_department[0].department = Some("销售一部".into());
    assert!(fresh.when(&wang, &draft(by_department, None)).result.is_ok(), "a line may name its department");
    let events = fresh.when(&wang, &draft(receipt(), None)).events().to_vec();
    assert!(matches!(&events[..], [VoucherEvent::Drafted(v)] if !v.automatic && v.by == "wang"));
}

#[test]
fn drafting_needs_finance_open_accounts_and_an_open_period_but_an_automatic_voucher_needs_no_role() {
    let fresh: Given<Voucher> = given(&[]);
    assert_eq!(code(&fresh, &meta("li"), draft(receipt(), None)), "voucher.not_allowed");
    let automatic = fresh.when(&meta("process:auto-vouchers"), &draft(receipt(), Some(source())));
    assert!(matches!(automatic.events(), [VoucherEvent::Drafted(v)] if v.automatic));
    let VoucherCommand::Draft { id, book, word, period, date, lines, source, reverses, .. } =
        draft(receipt(), None)
    else {
        panic!()
    };
    let with = |facts| VoucherCommand::Draft {
        id,
        book,
        word,
        period,
        date,
        lines: lines.clone(),
        source: source.clone(),
        reverses,
        facts,
    };
    let unknown = with(DraftFacts { unpostable_accounts: vec!["1122".into()], period_open: true });
    assert_eq!(code(&fresh, &accountant("wang"), unknown), "voucher.unknown_account");
    let closed = with(DraftFacts { unpostable_accounts: Vec::new(), period_open: false });
    assert_eq!(code(&fresh, &accountant("wang"), closed), "period.closed");
}

#[test]
fn the_reviewer_is_not_the_preparer_and_an_unreviewed_manual_voucher_cannot_be_posted() {
    let drafted: Given<Voucher> = given(&[(accountant("wang"), draft(receipt(), None))]);
    let review = VoucherCommand::Review { id: id() };
    assert_eq!(code(&drafted, &accountant("wang"), review.clone()), "voucher.own_voucher");
    assert_eq!(code(&drafted, &meta("li"), review.clone()), "voucher.not_allowed");
    let begin = |review_waived| VoucherCommand::BeginPosting { id: id(), review_waived };
    assert_eq!(
        code(&drafted, &meta("p"), begin(true)),
        "voucher.not_reviewed",
        "only automatic vouchers skip review"
    );
    let reviewed = drafted.when(&accountant("zhao"), &review);
    assert_eq!(reviewed.after.reviewed_by.as_deref(), Some("zhao"));
    assert!(matches!(
        reviewed.after.decide(&begin(false), &meta("p")).unwrap()[..],
        [VoucherEvent::PostingBegun(_)]
    ));
}

#[test]
fn posting_locks_the_voucher_records_its_number_once_and_can_be_abandoned() {
    let automatic: Given<Voucher> = given(&[(meta("process:auto"), draft(receipt(), Some(source())))]);
    let begin = VoucherCommand::BeginPosting { id: id(), review_waived: true };
    let posting: Given<Voucher> =
        given(&[(meta("process:auto"), draft(receipt(), Some(source()))), (meta("p"), begin.clone())]);
    assert!(
        matches!(automatic.when(&meta("p"), &begin).events(), [VoucherEvent::PostingBegun(b)] if b.review_waived)
    );
    assert_eq!(posting.when(&meta("p"), &begin).events(), &[], "beginning again changes nothing");
    let discard = VoucherCommand::Discard { id: id(), reason: "duplicate".into() };
    assert_eq!(
        code(&posting, &accountant("zhao"), discard),
        "voucher.wrong_status",
        "a voucher being posted stays"
    );
    let numbered = posting.when(&meta("p"), &VoucherCommand::RecordPosting { id: id(), number: 12 });
    assert_eq!((numbered.after.status, numbered.after.number), (VoucherStatus::Posted, Some(12)));
    assert_eq!(
        numbered.after.decide(&VoucherCommand::RecordPosting { id: id(), number: 12 }, &meta("p")).unwrap(),
        vec![]
    );
    let abandoned = posting
        .when(&meta("p"), &VoucherCommand::AbandonPosting { id: id(), reason: "period closed".into() });
    assert_eq!(abandoned.after.status, VoucherStatus::Drafted);
}

#[test]
fn a_posted_voucher_is_reversed_once_by_a_red_voucher_of_negated_lines() {
    let posted: Given<Voucher> = given(&[
        (meta("process:auto"), draft(receipt(), Some(source()))),
        (meta("p"), VoucherCommand::BeginPosting { id: id(), review_waived: true }),
        (meta("p"), VoucherCommand::RecordPosting { id: id(), number: 1 }),
    ]);
    let discard = VoucherCommand::Discard { id: id(), reason: "wrong".into() };
    assert_eq!(
        code(&posted, &accountant("zhao"), discard),
        "voucher.wrong_status",
        "posted vouchers are never dropped"
    );
    let red = VoucherId(Uuid::from_u128(8));
    let claim = |reversal| VoucherCommand::ClaimReversal { id: id(), reversal };
    let claimed = posted.when(&accountant("zhao"), &claim(red));
    assert_eq!(claimed.after.reversed_by, Some(red));
    assert_eq!(claimed.after.decide(&claim(red), &accountant("zhao")).unwrap(), vec![]);
    assert_eq!(
        claimed.after.decide(&claim(VoucherId(Uuid::from_u128(9))), &accountant("zhao")).unwrap_err().code(),
        "voucher.already_reversed"
    );
    let lines = posted.state.reversal_lines();
    assert_eq!((lines[0].debit, lines[1].credit), (d("-1130.00"), d("-1130.00")));
    check_lines(&lines, true).expect("a red voucher balances");
    assert_eq!(check_lines(&lines, false).unwrap_err().code(), "voucher.invalid_line");
}

//! Finance services on the embedded store: drafting with the book's facts, review and posting into the
//! period journal with gapless numbers (also under concurrent posting), closing and reopening a month,
//! and reversal by a red voucher.

use command_api::CommandBus;
use command_api::finance::{
    VoucherDraft, close_period, draft_voucher, post_voucher, reopen_period, reverse_voucher,
};
use domain::finance::accounts::Standard;
use domain::finance::book::{Book, BookCommand, BookSettings, VatStatus};
use domain::finance::journal::{JournalCommand, PeriodJournal};
use domain::finance::voucher::{Voucher, VoucherCommand, VoucherLine, VoucherStatus, VoucherWord};
use domain::time::Period;
use domain::{Aggregate, BookId, CommandId, CommandMeta, Role, Timestamp, VoucherId};
use infra::EmbeddedStore;
use rust_decimal::Decimal;
use uuid::Uuid;

/// 2026-11-10T02:00Z.
const NOVEMBER: Timestamp = Timestamp(1_794_276_000_000_000);
/// 2026-12-10T02:00Z.
const DECEMBER: Timestamp = Timestamp(1_796_868_000_000_000);
const BOOK: BookId = BookId(Uuid::from_u128(1));

fn meta(n: u128, actor: &str, roles: &[Role]) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), actor, BOOK, NOVEMBER).with_roles(roles)
}

fn wang(n: u128) -> CommandMeta {
    meta(n, "wang", &[Role::Finance])
}

fn zhao(n: u128) -> CommandMeta {
    meta(n, "zhao", &[Role::Finance])
}

fn period(month: u8) -> Period {
    Period::new(2026, month).unwrap()
}

async fn book(bus: &CommandBus<EmbeddedStore>, auto_post: bool) {
    book_with(bus, auto_post, VatStatus::General).await;
}

async fn book_with(bus: &CommandBus<EmbeddedStore>, auto_post: bool, vat: VatStatus) {
    let settings = BookSettings {
        name: "上海示例贸易有限公司".into(),
        standard: Standard::SmallEnterprise,
        first_period: period(11),
        vat,
        allow_negative_stock: false,
        auto_post,
        utc_offset_minutes: 480,
    };
    bus.execute::<Book>(&wang(1), &BookCommand::Create { id: BOOK, settings }).await.unwrap();
}

/// Configures 城建税 7 % and 教育费附加 3 %, then books a sale by hand (drafted, reviewed by someone
/// else, posted): 1,000.00 net with `vat` of output VAT.
async fn surcharges_and_a_sale(bus: &CommandBus<EmbeddedStore>, vat: &str) {
    let configure = BookCommand::ConfigureSurcharges {
        id: BOOK,
        urban_construction: "0.07".parse().unwrap(),
        education: "0.03".parse().unwrap(),
    };
    bus.execute::<Book>(&wang(40), &configure).await.unwrap();
    let gross = (Decimal::from(1000) + vat.parse::<Decimal>().unwrap()).to_string();
    let sale = VoucherDraft {
        lines: vec![line("1122", &gross, "0"), line("5001", "0", "1000.00"), line("22210102", "0", vat)],
        ..draft(300, NOVEMBER)
    };
    draft_voucher(bus, &wang(41), &sale).await.unwrap();
    bus.execute::<Voucher>(&zhao(42), &VoucherCommand::Review { id: sale.id }).await.unwrap();
    post_voucher(bus, &zhao(43), sale.id).await.unwrap();
}

fn line(account: &str, debit: &str, credit: &str) -> VoucherLine {
    VoucherLine {
        summary: "提现".into(),
        account: account.into(),
        debit: debit.parse().unwrap(),
        credit: credit.parse().unwrap(),
        partner: None,
        item: None,
        department: None,
    }
}

fn draft(n: u128, date: Timestamp) -> VoucherDraft {
    VoucherDraft {
        id: VoucherId(Uuid::from_u128(n)),
        book: BOOK,
        word: VoucherWord::Ji,
        date,
        lines: vec![line("1001", "500.00", "0"), line("1002", "0", "500.00")],
        source: None,
        reverses: None,
    }
}

async fn journal(bus: &CommandBus<EmbeddedStore>, month: u8) -> PeriodJournal {
    let any = JournalCommand::Close {
        book: BOOK,
        period: period(month),
        previous_closed: false,
        unposted: Vec::new(),
    };
    bus.load(&PeriodJournal::stream_id(&any)).await.unwrap()
}

fn open_bus() -> (CommandBus<EmbeddedStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (CommandBus::new(EmbeddedStore::open_dir(dir.path()).unwrap()), dir)
}

#[tokio::test]
async fn a_manual_voucher_is_drafted_reviewed_by_another_accountant_and_posted_with_the_next_number() {
    let (bus, _dir) = open_bus();
    book(&bus, false).await;
    draft_voucher(&bus, &wang(10), &draft(100, NOVEMBER)).await.unwrap();
    let unreviewed = post_voucher(&bus, &wang(11), VoucherId(Uuid::from_u128(100))).await.unwrap_err();
    assert_eq!(unreviewed.code(), "voucher.not_reviewed");
    let review = VoucherCommand::Review { id: VoucherId(Uuid::from_u128(100)) };
    bus.execute::<Voucher>(&zhao(12), &review).await.unwrap();
    assert_eq!(post_voucher(&bus, &zhao(13), VoucherId(Uuid::from_u128(100))).await.unwrap(), 1);
    // Posting again (a retry, or another click) answers the same number and books nothing more.
    assert_eq!(post_voucher(&bus, &zhao(14), VoucherId(Uuid::from_u128(100))).await.unwrap(), 1);
    assert_eq!(journal(&bus, 11).await.posted.len(), 1);

    // Before the book's first month (October): no postings.
    let err =
        draft_voucher(&bus, &wang(17), &draft(102, Timestamp(1_791_597_600_000_000))).await.unwrap_err();
    assert_eq!(err.code(), "period.closed");

    // A sub-account turns its parent into a heading: postings to 1002 itself are refused from then on.
    let account = domain::finance::accounts::Account {
        code: "100201".into(),
        name: "工商银行".into(),
        category: domain::finance::accounts::Category::Asset,
        side: domain::finance::accounts::Side::Debit,
        role: None,
        parent: Some("1002".into()),
    };
    bus.execute::<Book>(&wang(15), &BookCommand::AddAccount { id: BOOK, account }).await.unwrap();
    let err = draft_voucher(&bus, &wang(16), &draft(101, NOVEMBER)).await.unwrap_err();
    assert_eq!(err.code(), "voucher.unknown_account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vouchers_posted_concurrently_into_one_month_get_gapless_distinct_numbers() {
    const VOUCHERS: u128 = 200;
    let (bus, _dir) = open_bus();
    book(&bus, false).await;
    for n in 0..VOUCHERS {
        draft_voucher(&bus, &wang(1_000 + n), &draft(10_000 + n, NOVEMBER)).await.unwrap();
        let review = VoucherCommand::Review { id: VoucherId(Uuid::from_u128(10_000 + n)) };
        bus.execute::<Voucher>(&zhao(2_000 + n), &review).await.unwrap();
    }
    let mut tasks = Vec::new();
    for n in 0..VOUCHERS {
        let bus = bus.clone();
        tasks.push(tokio::spawn(async move {
            post_voucher(&bus, &zhao(3_000 + n), VoucherId(Uuid::from_u128(10_000 + n))).await.unwrap()
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=VOUCHERS as u32).collect::<Vec<_>>(), "1 to 200, each once");
    for n in [0, VOUCHERS - 1] {
        let voucher: Voucher = bus.load(&format!("voucher-{}", Uuid::from_u128(10_000 + n))).await.unwrap();
        assert_eq!(voucher.status, VoucherStatus::Posted);
    }
}

#[tokio::test]
async fn a_closed_month_refuses_drafts_and_postings_until_an_admin_reopens_it() {
    let (bus, _dir) = open_bus();
    book(&bus, false).await;
    draft_voucher(&bus, &wang(10), &draft(100, NOVEMBER)).await.unwrap();
    bus.execute::<Voucher>(&zhao(11), &VoucherCommand::Review { id: VoucherId(Uuid::from_u128(100)) })
        .await
        .unwrap();
    // December cannot close before November.
    assert_eq!(
        close_period(&bus, &zhao(12), BOOK, period(12)).await.unwrap_err().code(),
        "period.previous_open"
    );
    // The reviewed voucher is not posted yet: the month does not close.
    let err = close_period(&bus, &zhao(13), BOOK, period(11)).await.unwrap_err();
    assert_eq!(err.code(), "period.unposted_vouchers");
    // A close decided at the same moment as the draft (it did not see it): the posting then finds the
    // month closed, refuses, and lets go of the voucher.
    let racing =
        JournalCommand::Close { book: BOOK, period: period(11), previous_closed: true, unposted: Vec::new() };
    bus.execute::<PeriodJournal>(&zhao(13), &racing).await.unwrap();
    let err = post_voucher(&bus, &zhao(14), VoucherId(Uuid::from_u128(100))).await.unwrap_err();
    assert_eq!(err.code(), "period.closed");
    let voucher: Voucher = bus.load("voucher-00000000-0000-0000-0000-000000000064").await.unwrap();
    assert_eq!(voucher.status, VoucherStatus::Reviewed, "the refused posting let go of the voucher");
    assert_eq!(
        draft_voucher(&bus, &wang(15), &draft(101, NOVEMBER)).await.unwrap_err().code(),
        "period.closed"
    );
    // Reopening: not by finance, not without a reason, not while December is closed.
    let err = reopen_period(&bus, &zhao(16), BOOK, period(11), "late invoice").await.unwrap_err();
    assert_eq!(err.code(), "period.not_allowed");
    close_period(&bus, &zhao(17), BOOK, period(12)).await.unwrap();
    let admin = meta(18, "boss", &[Role::Admin]);
    assert_eq!(
        reopen_period(&bus, &admin, BOOK, period(11), "late invoice").await.unwrap_err().code(),
        "period.next_closed"
    );
    reopen_period(&bus, &meta(19, "boss", &[Role::Admin]), BOOK, period(12), "late invoice").await.unwrap();
    reopen_period(&bus, &meta(20, "boss", &[Role::Admin]), BOOK, period(11), "late invoice").await.unwrap();
    assert_eq!(post_voucher(&bus, &zhao(21), VoucherId(Uuid::from_u128(100))).await.unwrap(), 1);
}

#[tokio::test]
async fn a_posted_voucher_is_corrected_only_by_one_red_voucher_in_an_open_month() {
    let (bus, _dir) = open_bus();
    book(&bus, false).await;
    let original = VoucherId(Uuid::from_u128(100));
    draft_voucher(&bus, &wang(10), &draft(100, NOVEMBER)).await.unwrap();
    bus.execute::<Voucher>(&zhao(11), &VoucherCommand::Review { id: original }).await.unwrap();
    post_voucher(&bus, &zhao(12), original).await.unwrap();
    close_period(&bus, &zhao(13), BOOK, period(11)).await.unwrap();
    // Reversed in December, the open month, by a red voucher that needs its own review.
    let red = VoucherId(Uuid::from_u128(200));
    let drafted = reverse_voucher(&bus, &wang(14), original, red, DECEMBER).await.unwrap();
    let [domain::finance::voucher::VoucherEvent::Drafted(red_voucher)] = &drafted.events[..] else {
        panic!()
    };
    assert_eq!(red_voucher.reverses, Some(original));
    assert_eq!(red_voucher.period, period(12));
    assert_eq!(red_voucher.lines[0].debit, Decimal::new(-50_000, 2));
    let again = reverse_voucher(&bus, &wang(15), original, VoucherId(Uuid::from_u128(201)), DECEMBER).await;
    assert_eq!(again.unwrap_err().code(), "voucher.already_reversed");
    bus.execute::<Voucher>(&zhao(16), &VoucherCommand::Review { id: red }).await.unwrap();
    assert_eq!(post_voucher(&bus, &zhao(17), red).await.unwrap(), 1, "December's first 记 voucher");
    let december = journal(&bus, 12).await;
    assert!(december.posted.contains_key(&red));
}

#[tokio::test]
async fn opening_balances_tie_to_their_items_and_stock_and_open_the_first_months_trial_balance() {
    use command_api::finance::{Opening, enter_opening_balances};
    use domain::finance::opening::{OpeningItem, OpeningStock};
    use domain::inventory::{StockItem, StockKey};
    let (bus, _dir) = open_bus();
    book(&bus, false).await;
    let customer = domain::PartnerId(Uuid::from_u128(60));
    let key = StockKey {
        item: domain::ItemId(Uuid::from_u128(10)),
        warehouse: domain::WarehouseId(Uuid::from_u128(20)),
    };
    let item = |amount: &str| OpeningItem {
        partner: customer,
        reference: "INV-2026-0042".into(),
        dated: Timestamp(1_790_000_000_000_000),
        due: Timestamp(1_791_000_000_000_000),
        amount: amount.parse().unwrap(),
    };
    let supplier = domain::PartnerId(Uuid::from_u128(70));
    let opening = |receivable: &str| Opening {
        lines: vec![
            line("1002", "5000.00", "0"),
            line("1122", "1130.00", "0"),
            line("1405", "240.00", "0"),
            line("220201", "0", "565.00"),
            line("3001", "0", "5805.00"),
        ],
        receivables: vec![item(receivable)],
        payables: vec![OpeningItem { partner: supplier, reference: "SUP-0007".into(), ..item("565.00") }],
        stock: vec![OpeningStock {
            item: key.item,
            warehouse: key.warehouse,
            qty: "20".parse().unwrap(),
            unit_cost: "12".parse().unwrap(),
        }],
    };
    let err = enter_opening_balances(&bus, &wang(30), BOOK, &opening("1000.00")).await.unwrap_err();
    assert_eq!(err.code(), "opening.mismatch", "the open items must add up to 1122");
    enter_opening_balances(&bus, &wang(31), BOOK, &opening("1130.00")).await.unwrap();
    // Entering them again under the same command completes nothing twice; under another, it is refused.
    enter_opening_balances(&bus, &wang(31), BOOK, &opening("1130.00")).await.unwrap();
    let again = enter_opening_balances(&bus, &wang(32), BOOK, &opening("1130.00")).await.unwrap_err();
    assert_eq!(again.code(), "opening.already_entered");
    // The stock is there at its cost, once.
    let stock: StockItem = bus.load(&key.stream_id()).await.unwrap();
    assert_eq!((stock.on_hand, stock.value), ("20".parse().unwrap(), "240.00".parse().unwrap()));
    // The balances sit in October (the month before the first) and open November.
    let october: PeriodJournal = bus
        .load(&PeriodJournal::stream_id(&JournalCommand::Close {
            book: BOOK,
            period: period(10),
            previous_closed: false,
            unposted: Vec::new(),
        }))
        .await
        .unwrap();
    assert_eq!(october.net("1122"), "1130.00".parse::<Decimal>().unwrap());
    assert_eq!(october.posted.len(), 1);

    // The opening receivable is collected like any invoice: a receipt allocated to it pays it.
    use domain::sales::{Allocation, CustomerReceipt, CustomerReceiptCommand, SalesInvoice};
    let opening_invoice = domain::SalesInvoiceId(domain::finance::opening::opening_document(BOOK, true, 0));
    let receipt = CustomerReceiptCommand::Record {
        id: domain::CustomerReceiptId(Uuid::from_u128(33)),
        customer,
        amount: "1130.00".parse().unwrap(),
        allocation: Allocation::Explicit(vec![(opening_invoice, "1130.00".parse().unwrap())]),
    };
    bus.execute::<CustomerReceipt>(&wang(34), &receipt).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    command_api::ProcessRunner::new(
        bus.clone(),
        domain::process::receipt_allocation::ReceiptAllocation,
        command_api::FileCheckpoints::new(dir.path()),
        1,
    )
    .run_until_quiet()
    .await
    .unwrap();
    let invoice: SalesInvoice = bus.load(&format!("sales-invoice-{opening_invoice}")).await.unwrap();
    assert!(invoice.paid, "the opening receivable is paid");

    // So is the opening payable: a payment allocated to it pays it, in part and then in full.
    use domain::purchasing::{
        PurchaseInvoice, PurchaseInvoiceStatus, SupplierPayment, SupplierPaymentCommand,
    };
    let opening_bill = domain::PurchaseInvoiceId(domain::finance::opening::opening_document(BOOK, false, 0));
    for (n, amount) in [(35u128, "300.00"), (36, "265.00")] {
        let pay = SupplierPaymentCommand::Pay {
            id: domain::SupplierPaymentId(Uuid::from_u128(n)),
            supplier,
            amount: amount.parse().unwrap(),
            allocations: vec![(opening_bill, amount.parse().unwrap())],
        };
        bus.execute::<SupplierPayment>(&wang(n), &pay).await.unwrap();
    }
    command_api::ProcessRunner::new(
        bus.clone(),
        domain::process::supplier_payment::SupplierPaymentAllocation,
        command_api::FileCheckpoints::new(dir.path()),
        1,
    )
    .run_until_quiet()
    .await
    .unwrap();
    let bill: PurchaseInvoice = bus.load(&format!("purchase-invoice-{opening_bill}")).await.unwrap();
    assert_eq!((bill.status, bill.open), (PurchaseInvoiceStatus::Paid, Decimal::ZERO));
}

#[tokio::test]
async fn month_end_transfers_vat_accrues_the_configured_surcharges_on_it_and_then_the_profit() {
    use command_api::finance::run_month_end;
    let (bus, _dir) = open_bus();
    book(&bus, true).await;
    // A sale booked by hand: 1,000.00 net, 130.00 output VAT.
    surcharges_and_a_sale(&bus, "130.00").await;
    let report = run_month_end(&bus, &zhao(44), BOOK, period(11)).await.unwrap();
    assert_eq!((report.vat_transfer, report.surcharges, report.profit_transfer), (Some(2), Some(3), Some(4)));
    let november = journal(&bus, 11).await;
    let net = |code: &str| november.net(code);
    assert_eq!((net("22210104"), net("222102")), (Decimal::new(13_000, 2), Decimal::new(-13_000, 2)));
    assert_eq!(
        (net("222103"), net("222104")),
        (Decimal::new(-910, 2), Decimal::new(-390, 2)),
        "7 % and 3 % of 130.00"
    );
    assert_eq!(net("5403"), Decimal::ZERO, "the surcharges were accrued, then transferred with the profit");
    assert_eq!(net("3103"), Decimal::new(-98_700, 2), "1,000.00 of sales less 13.00 of surcharges");
    let again = run_month_end(&bus, &zhao(45), BOOK, period(11)).await.unwrap();
    assert_eq!((again.vat_transfer, again.surcharges, again.profit_transfer), (None, None, None));
}

#[tokio::test]
async fn a_book_with_receipt_payment_transfer_words_numbers_automatic_vouchers_under_each_word() {
    use command_api::finance::record_automatic_voucher;
    use domain::finance::book::WordScheme;
    use domain::finance::rules::{self, AutoVoucher};
    use domain::sales::receipt::CustomerReceiptRecorded;
    use domain::sales::shipment::ShipmentCosted;
    let (bus, _dir) = open_bus();
    book(&bus, true).await;
    let choose = BookCommand::ChooseVoucherWords { id: BOOK, words: WordScheme::ReceiptPaymentTransfer };
    bus.execute::<Book>(&wang(50), &choose).await.unwrap();
    let source = |n: u128| domain::finance::voucher::VoucherSource {
        kind: "test".into(),
        id: Uuid::from_u128(n),
        event: domain::EventId(Uuid::from_u128(n)),
    };
    let receipt = rules::customer_receipt(&CustomerReceiptRecorded {
        id: domain::CustomerReceiptId(Uuid::from_u128(1)),
        customer: domain::PartnerId(Uuid::from_u128(60)),
        amount: "100".parse().unwrap(),
        allocations: Vec::new(),
        advance: "100".parse().unwrap(),
        automatic: false,
    });
    let cost = rules::shipment_costed(&ShipmentCosted {
        id: domain::ShipmentId(Uuid::from_u128(2)),
        value: "5".parse().unwrap(),
    });
    for (n, lines) in [(601u128, receipt), (602, cost)] {
        let auto = AutoVoucher {
            id: VoucherId(Uuid::from_u128(n)),
            book: BOOK,
            word: VoucherWord::Ji,
            date: NOVEMBER,
            lines,
            source: source(n),
        };
        record_automatic_voucher(&bus, &meta(n, "process:auto-vouchers", &[]), &auto).await.unwrap();
    }
    let november = journal(&bus, 11).await;
    assert_eq!(november.posted[&VoucherId(Uuid::from_u128(601))], (VoucherWord::Shou, 1));
    assert_eq!(november.posted[&VoucherId(Uuid::from_u128(602))], (VoucherWord::Zhuan, 1));
}

#[tokio::test]
async fn a_small_scale_taxpayer_accrues_surcharges_on_the_levy_its_sales_were_charged() {
    use command_api::finance::run_month_end;
    let (bus, _dir) = open_bus();
    book_with(&bus, true, VatStatus::SmallScale).await;
    // A sale at the 3 % levy: 1,000.00 net, 30.00 VAT owed.
    surcharges_and_a_sale(&bus, "30.00").await;
    let report = run_month_end(&bus, &zhao(44), BOOK, period(11)).await.unwrap();
    assert_eq!((report.vat_transfer, report.surcharges, report.profit_transfer), (None, Some(2), Some(3)));
    let november = journal(&bus, 11).await;
    assert_eq!(
        (november.net("222103"), november.net("222104")),
        (Decimal::new(-210, 2), Decimal::new(-90, 2)),
        "7 % and 3 % of the 30.00 levy"
    );
    assert_eq!(
        november.net("22210102"),
        Decimal::new(-3000, 2),
        "the levy stays owed; nothing is transferred"
    );
    let again = run_month_end(&bus, &zhao(45), BOOK, period(11)).await.unwrap();
    assert_eq!((again.surcharges, again.profit_transfer), (None, None));
}

#[tokio::test]
async fn a_small_scale_taxpayer_books_the_input_vat_of_a_purchase_invoice_as_cost() {
    use command_api::finance::record_automatic_voucher;
    use domain::finance::rules::{AutoVoucher, RoleLine};
    let (bus, _dir) = open_bus();
    book_with(&bus, true, VatStatus::SmallScale).await;
    let role = |role, debit: &str, credit: &str| RoleLine {
        summary: "采购发票".into(),
        role,
        debit: debit.parse().unwrap(),
        credit: credit.parse().unwrap(),
        partner: None,
        item: None,
    };
    use domain::finance::accounts::AccountRole as R;
    let auto = AutoVoucher {
        id: VoucherId(Uuid::from_u128(700)),
        book: BOOK,
        word: VoucherWord::Ji,
        date: NOVEMBER,
        lines: vec![
            role(R::Grni, "100.00", "0"),
            role(R::InputVat, "3.00", "0"),
            role(R::Payables, "0", "103.00"),
        ],
        source: domain::finance::voucher::VoucherSource {
            kind: "purchasing.PurchaseInvoice".into(),
            id: Uuid::from_u128(701),
            event: domain::EventId(Uuid::from_u128(702)),
        },
    };
    record_automatic_voucher(&bus, &meta(703, "process:auto-vouchers", &[]), &auto).await.unwrap();
    let november = journal(&bus, 11).await;
    assert_eq!(november.net("5401"), "3.00".parse::<Decimal>().unwrap(), "not deductible: part of the cost");
    assert_eq!(november.net("22210101"), Decimal::ZERO);
}

//! The domain event catalogue as a stored schema: every event type's payload is pinned by golden bytes,
//! round-trips through the codec, and every type the domain declares has a sample here.

use std::collections::BTreeMap;

use domain::DomainEvent;
use domain::finance::accounts::{Account, AccountRole, Category, Side, Standard};
use domain::finance::book::{AccountAdded, BookCreated, BookEvent, BookSettings, VatStatus};
use domain::finance::journal::{JournalEvent, PeriodClosed, PeriodReopened, VoucherPosted};
use domain::finance::voucher::{
    VoucherDiscarded, VoucherDrafted, VoucherEvent, VoucherLine, VoucherNumbered, VoucherPostingAbandoned,
    VoucherPostingBegun, VoucherReversalClaimed, VoucherReviewCancelled, VoucherReviewed, VoucherSource,
    VoucherWord,
};
use domain::inventory::replenishment::{
    ReplenishmentDismissed, ReplenishmentSuggested, ReplenishmentTakenUp,
};
use domain::inventory::stock::{
    ReservationReleased, StockAdjusted, StockFellBelowSafety, StockIssued, StockItemOpened,
    StockPolicyChanged, StockReceived, StockReservationShort, StockReserved, StockTransferredIn,
    StockTransferredOut,
};
use domain::inventory::stocktake::{
    StocktakeApproved, StocktakeCompleted, StocktakeLineCounted, StocktakeLinePosted, StocktakeOpened,
    StocktakeRejected, StocktakeSubmitted,
};
use domain::inventory::transfer::{
    ArrivingLine, TransferCompleted, TransferCreated, TransferDispatched, TransferInTransit, TransferLine,
    TransferLineIn, TransferLineOut, TransferReceived,
};
use domain::inventory::{CostingMethod, DocRef, LossTreatment, LotTake, StockEvent, StockPolicy};
use domain::inventory::{
    ReplenishmentEvent, StockKey, StocktakeDifference, StocktakeEvent, StocktakeLine, StocktakeLoss,
    TransferEvent,
};
use domain::master::{
    ItemDetails, ItemEvent, PartnerDetails, PartnerEvent, PartnerRoles, WarehouseDetails, WarehouseEvent,
};
use domain::purchasing::RequisitionEvent;
use domain::purchasing::budget::{BudgetCommitted, BudgetEvent, BudgetSet};
use domain::purchasing::invoice::{
    MatchMismatch, PurchaseInvoiceLine, PurchaseInvoiceMatchFailed, PurchaseInvoiceMatched,
    PurchaseInvoicePaid, PurchaseInvoiceRegistered, SupplierPaymentRecorded,
};
use domain::purchasing::order::{
    GoodsReceived, PoLine, PurchaseOrderAmended, PurchaseOrderApproved, PurchaseOrderBudgetApproved,
    PurchaseOrderClosed, PurchaseOrderPlaced, PurchaseOrderRemainderCancelled, ReceivedLine,
};
use domain::purchasing::payment::SupplierPaid;
use domain::purchasing::requisition::{
    RequisitionApproved, RequisitionConverted, RequisitionDrafted, RequisitionRejected, RequisitionSubmitted,
};
use domain::purchasing::{PurchaseInvoiceEvent, PurchaseOrderEvent, SupplierPaymentEvent};
use domain::returns::{ReturnCompleted, ReturnCreated, ReturnDirection, ReturnEvent, ReturnLine};
use domain::sales::ShipmentEvent;
use domain::sales::invoice::{InvoiceLine, PaymentAllocated, SalesInvoiceIssued, SalesInvoicePaid};
use domain::sales::order::{
    HeldLine, SalesOrderCancelled, SalesOrderClosed, SalesOrderConfirmed, SalesOrderLineBackordered,
    SalesOrderLineReserved, SalesOrderLineShipped, SalesOrderPlaced, SalesOrderReadyToPick,
    SalesOrderReservationReturned, SalesOrderShipped,
};
use domain::sales::platform::PlatformOrderClaimed;
use domain::sales::receipt::{CustomerReceiptRecorded, ReceiptExcessMovedToAdvance};
use domain::sales::shipment::ShipmentInvoiceClaimed;
use domain::sales::shipment::{
    GoodsShipped, ShipmentCosted, ShipmentCreated, ShipmentLine, ShipmentLineIssued, ShipmentPicked,
};
use domain::sales::{Channel, OrderLine, PlatformOrderEvent, SalesOrderEvent};
use domain::sales::{CustomerReceiptEvent, SalesInvoiceEvent};
use domain::{
    CustomerReceiptId, GoodsReceiptId, ItemId, PartnerId, PurchaseInvoiceId, PurchaseOrderId, RequisitionId,
    ReservationId, ReturnId, SalesInvoiceId, SalesOrderId, ShipmentId, StocktakeId, SupplierPaymentId,
    Timestamp, TransferId, WarehouseId,
};
use infra::codec::{decode_domain_event, encode_domain_event};
use rust_decimal::Decimal;
use uuid::Uuid;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn doc() -> DocRef {
    DocRef { kind: "sales.Shipment".into(), id: Uuid::from_u128(3), line: Some(2) }
}

fn take() -> LotTake {
    LotTake { lot: Some("L1".into()), qty: d("2"), value: d("5.10") }
}

fn loss_treatment() -> LossTreatment {
    LossTreatment {
        abnormal_vat_rate: Some(d("0.13")), compensation: d("1.00"), liable: Some("王五".into())
    }
}

fn received_invoice() -> domain::purchasing::order::ReceivedInvoice {
    domain::purchasing::order::ReceivedInvoice {
        id: PurchaseInvoiceId(Uuid::from_u128(84)),
        number: "No.07700001".into(),
        lines: vec![PurchaseInvoiceLine {
            po: PurchaseOrderId(Uuid::from_u128(81)),
            po_line: 0,
            item: ItemId(Uuid::from_u128(1)),
            qty: d("6"),
            unit_price: d("2.50"),
            vat_rate: d("0.13"),
            amount_net: d("15.00"),
            amount_tax: d("1.95"),
            ordered_price: d("2.50"),
            received_qty: d("6"),
        }],
        amount_net: d("15.00"),
        amount_tax: d("1.95"),
        amount_gross: d("16.95"),
    }
}

fn production_samples() -> Vec<domain::production::ProductionOrderEvent> {
    use domain::production::{
        MaterialLine, ProductionMaterialIssued, ProductionOrderCompleted, ProductionOrderEvent,
        ProductionOrderReleased,
    };
    let id = domain::ProductionOrderId(Uuid::from_u128(90));
    let policy =
        StockPolicy { costing: CostingMethod::MovingAverage, safety_stock: d("0"), allow_negative: false };
    vec![
        ProductionOrderEvent::Released(ProductionOrderReleased {
            id,
            product: ItemId(Uuid::from_u128(11)),
            qty: d("10"),
            warehouse: WarehouseId(Uuid::from_u128(20)),
            materials: vec![MaterialLine { line: 0, item: ItemId(Uuid::from_u128(10)), qty: d("60") }],
            product_policy: policy.clone(),
            by: "sun".into(),
        }),
        ProductionOrderEvent::MaterialIssued(ProductionMaterialIssued {
            line: 0,
            qty: d("60"),
            value: d("300.00"),
        }),
        ProductionOrderEvent::Completed(ProductionOrderCompleted {
            id,
            product: ItemId(Uuid::from_u128(11)),
            warehouse: WarehouseId(Uuid::from_u128(20)),
            qty: d("10"),
            product_policy: policy,
            material_cost: d("300.00"),
            conversion_cost: d("300.00"),
            cost: d("600.00"),
            by: "sun".into(),
        }),
    ]
}

fn stock_samples() -> Vec<StockEvent> {
    let policy = StockPolicy { costing: CostingMethod::Fifo, safety_stock: d("5"), allow_negative: false };
    vec![
        StockEvent::Opened(StockItemOpened {
            item: ItemId(Uuid::from_u128(1)),
            warehouse: WarehouseId(Uuid::from_u128(2)),
            policy: policy.clone(),
        }),
        StockEvent::Received(StockReceived {
            qty: d("10"),
            unit_cost: d("2.55"),
            value: d("25.50"),
            lot: Some("L1".into()),
            bin: Some("A-01".into()),
            source: doc(),
        }),
        StockEvent::Reserved(StockReserved {
            reservation: ReservationId(Uuid::from_u128(4)),
            qty: d("1.5"),
            for_doc: Some(doc()),
        }),
        StockEvent::ReservationShort(StockReservationShort {
            reservation: ReservationId(Uuid::from_u128(4)),
            requested: d("3"),
            short: d("1.5"),
            for_doc: doc(),
        }),
        StockEvent::Released(ReservationReleased {
            reservation: ReservationId(Uuid::from_u128(4)),
            qty: d("1.5"),
        }),
        StockEvent::Issued(StockIssued {
            qty: d("2"),
            value: d("5.10"),
            takes: vec![take()],
            uncovered_qty: d("0"),
            reservation: Some(ReservationId(Uuid::from_u128(4))),
            reservation_consumed: d("1.5"),
            source: doc(),
        }),
        StockEvent::TransferredOut(StockTransferredOut {
            transfer: TransferId(Uuid::from_u128(5)),
            line: 0,
            to: WarehouseId(Uuid::from_u128(6)),
            qty: d("2"),
            value: d("5.10"),
            takes: vec![take()],
            uncovered_qty: d("0"),
        }),
        StockEvent::TransferredIn(StockTransferredIn {
            transfer: TransferId(Uuid::from_u128(5)),
            line: 0,
            from: WarehouseId(Uuid::from_u128(2)),
            qty: d("2"),
            value: d("5.10"),
            lots: vec![take()],
        }),
        StockEvent::Adjusted(StockAdjusted {
            qty_delta: d("-1"),
            value_delta: d("-2.55"),
            unit_cost: d("2.55"),
            takes: vec![LotTake { lot: None, qty: d("1"), value: d("2.55") }],
            reason: "stocktake".into(),
            source: doc(),
            loss: Some(loss_treatment()),
        }),
        StockEvent::PolicyChanged(StockPolicyChanged { policy }),
        StockEvent::FellBelowSafety(StockFellBelowSafety {
            key: domain::inventory::StockKey {
                item: ItemId(Uuid::from_u128(1)),
                warehouse: WarehouseId(Uuid::from_u128(2)),
            },
            available: d("4"),
            safety_stock: d("5"),
        }),
        StockEvent::Revalued(domain::inventory::stock::StockRevalued {
            qty: d("10"),
            amount: d("-1.00"),
            to_stock: d("-0.40"),
            to_cost: d("-0.60"),
            layers: vec![LotTake { lot: Some("L1".into()), qty: d("4"), value: d("-0.40") }],
            source: DocRef {
                kind: "purchasing.PurchaseInvoice".into(),
                id: Uuid::from_u128(82),
                line: Some(0),
            },
        }),
    ]
}

/// Golden payloads: a change here means stored events would no longer read back. Add a new version
/// instead of changing a stored type.
fn golden() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from(GOLDEN)
}

/// Payloads of superseded versions, as they were stored: each must still decode, upcast to its current
/// sample (the line's department, added in v2, reads as none; so does a loss's treatment).
const GOLDEN_OLD: [(&str, u16, &str); 9] = [
    (
        "master.ItemCreated",
        1,
        "07534b552d30303109e4bf9de6b8a9e69daf03e4b8aa010d3639303132333435363738393204302e3133000232300331303001100000000000000000000000000000001e07",
    ),
    (
        "master.ItemChanged",
        1,
        "07534b552d30303109e4bf9de6b8a9e69daf03e4b8aa010d3639303132333435363738393204302e3133000232300331303001100000000000000000000000000000001e07",
    ),
    (
        "purchasing.GoodsReceived",
        1,
        "100000000000000000000000000000005110000000000000000000000000000000521000000000000000000000000000000046100000000000000000000000000000004d01001000000000000000000000000000000001013604322e3530010130000104412d303101034c2d31036b6169",
    ),
    (
        "purchasing.PurchaseInvoiceBooked",
        1,
        "1000000000000000000000000000000053100000000000000000000000000000004d0b4e6f2e303435313233393901100000000000000000000000000000005100100000000000000000000000000000000102313004322e363004302e31330532362e303004332e333804322e35300231300532362e303004332e33380532392e3338",
    ),
    (
        "inventory.StockAdjusted",
        1,
        "022d31052d322e353504322e35350100013104322e35350973746f636b74616b650e73616c65732e536869706d656e7410000000000000000000000000000000030102",
    ),
    (
        "inventory.StocktakeApproved",
        1,
        "10000000000000000000000000000000280477616e67100000000000000000000000000000000201001000000000000000000000000000000001022d31000130000103322e35",
    ),
    (
        "finance.VoucherDrafted",
        1,
        "1000000000000000000000000000000007100000000000000000000000000000000101ea0f0b80a0dff9cdf8af060206e694b6e6acbe0431303032063131332e30300130000006e694b6e6acbe04313132320130063131332e303001100000000000000000000000000000003c011000000000000000000000000000000001011573616c65732e437573746f6d6572526563656970741000000000000000000000000000000009100000000000000000000000000000000a00011570726f636573733a6175746f2d766f756368657273",
    ),
    (
        "finance.VoucherPosted",
        1,
        "1000000000000000000000000000000001ea0f0b1000000000000000000000000000000007010c80a0dff9cdf8af060206e694b6e6acbe0431303032063131332e30300130000006e694b6e6acbe04313132320130063131332e303001100000000000000000000000000000003c011000000000000000000000000000000001011573616c65732e437573746f6d6572526563656970741000000000000000000000000000000009100000000000000000000000000000000a000170",
    ),
    (
        "finance.OpeningBalancesEntered",
        1,
        "10000000000000000000000000000000010206e69c9fe5889d043131323207313133302e30300130000006e69c9fe5889d0433303031013007313133302e3030000001100000000000000000000000000000003c06494e562d34328080afa2dbffad0680c0d7ecf5b9ae0607313133302e3030000110000000000000000000000000000000011000000000000000000000000000000002023230023132047a68616f",
    ),
];

const GOLDEN: [(&str, &str); 121] = [
    (
        "returns.ReturnLineIssued",
        "10000000000000000000000000000000550010000000000000000000000000000000010534302e30300534322e303004322e3030",
    ),
    (
        "production.ProductionOrderReleased",
        "100000000000000000000000000000005a100000000000000000000000000000000b02313010000000000000000000000000000000140100100000000000000000000000000000000a023630000130000373756e",
    ),
    ("production.ProductionMaterialIssued", "00023630063330302e3030"),
    (
        "production.ProductionOrderCompleted",
        "100000000000000000000000000000005a100000000000000000000000000000000b100000000000000000000000000000001402313000013000063330302e3030063330302e3030063630302e30300373756e",
    ),
    (
        "inventory.StockItemOpened",
        "1000000000000000000000000000000001100000000000000000000000000000000201013500",
    ),
    (
        "inventory.StockReceived",
        "02313004322e35350532352e353001024c310104412d30310e73616c65732e536869706d656e7410000000000000000000000000000000030102",
    ),
    (
        "inventory.StockReserved",
        "100000000000000000000000000000000403312e35010e73616c65732e536869706d656e7410000000000000000000000000000000030102",
    ),
    (
        "inventory.StockReservationShort",
        "1000000000000000000000000000000004013303312e350e73616c65732e536869706d656e7410000000000000000000000000000000030102",
    ),
    ("inventory.ReservationReleased", "100000000000000000000000000000000403312e35"),
    (
        "inventory.StockIssued",
        "013204352e31300101024c31013204352e3130013001100000000000000000000000000000000403312e350e73616c65732e536869706d656e7410000000000000000000000000000000030102",
    ),
    (
        "inventory.StockTransferredOut",
        "1000000000000000000000000000000005001000000000000000000000000000000006013204352e31300101024c31013204352e31300130",
    ),
    (
        "inventory.StockTransferredIn",
        "1000000000000000000000000000000005001000000000000000000000000000000002013204352e31300101024c31013204352e3130",
    ),
    (
        "inventory.StockAdjusted",
        "022d31052d322e353504322e35350100013104322e35350973746f636b74616b650e73616c65732e536869706d656e7410000000000000000000000000000000030102010104302e313304312e30300106e78e8be4ba94",
    ),
    ("inventory.StockPolicyChanged", "01013500"),
    (
        "inventory.StockFellBelowSafety",
        "1000000000000000000000000000000001100000000000000000000000000000000201340135",
    ),
    (
        "sales.SalesOrderPlaced",
        "1000000000000000000000000000000032100000000000000000000000000000003c020674616f62616f0454422d3110000000000000000000000000000000460100100000000000000000000000000000000101330631302e30303504302e31330533302e303204332e393001100000000000000000000000000000004d10000000000000000000000000000000460533302e303204332e39300533332e3932",
    ),
    ("sales.SalesOrderLineReserved", "000131"),
    (
        "sales.SalesOrderLineBackordered",
        "1000000000000000000000000000000032001000000000000000000000000000000001013201100000000000000000000000000000004d",
    ),
    ("sales.SalesOrderReadyToPick", "1000000000000000000000000000000032"),
    ("sales.SalesOrderConfirmed", "026c69"),
    (
        "sales.SalesOrderCancelled",
        "1000000000000000000000000000000032026c6908637573746f6d6572010010000000000000000000000000000000011000000000000000000000000000000046",
    ),
    ("sales.SalesOrderClosed", "026c69"),
    ("sales.PlatformOrderClaimed", "0674616f62616f0454422d311000000000000000000000000000000032"),
    (
        "purchasing.RequisitionDrafted",
        "10000000000000000000000000000000501000000000000000000000000000000001013201100000000000000000000000000000004d0e73616c65732e536869706d656e74100000000000000000000000000000000301021870726f636573733a6f726465722d66756c66696c6d656e74",
    ),
    (
        "inventory.StocktakeOpened",
        "100000000000000000000000000000002810000000000000000000000000000000020110000000000000000000000000000000010231300001300000",
    ),
    ("inventory.StocktakeLineCounted", "000139"),
    ("inventory.StocktakeSubmitted", "026c6901001000000000000000000000000000000001022d31000130000103322e35"),
    (
        "inventory.StocktakeApproved",
        "10000000000000000000000000000000280477616e67100000000000000000000000000000000201001000000000000000000000000000000001022d31000130000103322e3501000104302e313304312e30300106e78e8be4ba94",
    ),
    ("inventory.StocktakeRejected", "0477616e67077265636f756e74"),
    ("inventory.StocktakeLinePosted", "00"),
    ("inventory.StocktakeCompleted", "1000000000000000000000000000000028"),
    (
        "master.ItemCreated",
        "07534b552d30303109e4bf9de6b8a9e69daf03e4b8aa010d3639303132333435363738393204302e3133000232300331303001100000000000000000000000000000001e0700",
    ),
    (
        "master.ItemChanged",
        "07534b552d30303109e4bf9de6b8a9e69daf03e4b8aa010d3639303132333435363738393204302e3133000232300331303001100000000000000000000000000000001e0701",
    ),
    ("master.ItemDeactivated", ""),
    ("master.ItemReactivated", ""),
    (
        "master.WarehouseCreated",
        "045348303109e4b88ae6b5b7e4bb9306e4b88ae6b5b70733312e32333034083132312e343733370104412d3031",
    ),
    (
        "master.WarehouseChanged",
        "045348303109e4b88ae6b5b7e4bb9306e4b88ae6b5b70733312e32333034083132312e343733370104412d3031",
    ),
    ("master.WarehouseDeactivated", ""),
    ("master.WarehouseReactivated", ""),
    (
        "master.PartnerCreated",
        "0ce69dade5b79ee4bc98e980890101011239313333303130304d4132483358585830590535303030301e06e58d8ee4b89c",
    ),
    (
        "master.PartnerChanged",
        "0ce69dade5b79ee4bc98e980890101011239313333303130304d4132483358585830590535303030301e06e58d8ee4b89c",
    ),
    ("master.PartnerDeactivated", ""),
    ("master.PartnerReactivated", ""),
    ("sales.SalesOrderLineShipped", "000133"),
    ("sales.SalesOrderShipped", "1000000000000000000000000000000032"),
    (
        "finance.BookCreated",
        "100000000000000000000000000000000106e7a4bae4be8b00ea0f01000001c0070104313132320ae7a791e79bae313132320000010200047a68616f",
    ),
    ("finance.AccountAdded", "063131323230310ce7a791e79bae313132323031000000010431313232047a68616f"),
    (
        "finance.VoucherDrafted",
        "1000000000000000000000000000000007100000000000000000000000000000000101ea0f0b80a0dff9cdf8af060206e694b6e6acbe0431303032063131332e3030013000000006e694b6e6acbe04313132320130063131332e303001100000000000000000000000000000003c01100000000000000000000000000000000100011573616c65732e437573746f6d6572526563656970741000000000000000000000000000000009100000000000000000000000000000000a00011570726f636573733a6175746f2d766f756368657273",
    ),
    ("finance.VoucherReviewed", "047a68616f"),
    ("finance.VoucherReviewCancelled", "047a68616f"),
    ("finance.VoucherDiscarded", "047a68616f06e9878de5a48d"),
    ("finance.VoucherPostingBegun", "010170"),
    ("finance.VoucherPostingAbandoned", "06636c6f736564"),
    ("finance.VoucherNumbered", "0c"),
    ("finance.VoucherReversalClaimed", "1000000000000000000000000000000008047a68616f"),
    (
        "finance.VoucherPosted",
        "1000000000000000000000000000000001ea0f0b1000000000000000000000000000000007010c80a0dff9cdf8af060206e694b6e6acbe0431303032063131332e3030013000000006e694b6e6acbe04313132320130063131332e303001100000000000000000000000000000003c01100000000000000000000000000000000100011573616c65732e437573746f6d6572526563656970741000000000000000000000000000000009100000000000000000000000000000000a000170",
    ),
    ("finance.PeriodClosed", "1000000000000000000000000000000001ea0f0b047a68616f"),
    (
        "finance.PeriodReopened",
        "1000000000000000000000000000000001ea0f0b04626f73730c6c61746520696e766f696365",
    ),
    (
        "purchasing.PurchaseInvoiceBooked",
        "1000000000000000000000000000000053100000000000000000000000000000004d0b4e6f2e303435313233393901100000000000000000000000000000005100100000000000000000000000000000000102313004322e363004302e31330532362e303004332e333804322e35300231300532362e303004332e33380532392e333801",
    ),
    (
        "purchasing.PurchaseOrderLineInvoiced",
        "100000000000000000000000000000005200001000000000000000000000000000000001100000000000000000000000000000000202313004312e3030",
    ),
    (
        "inventory.StockRevalued",
        "023130052d312e3030052d302e3430052d302e36300101024c310134052d302e34301a70757263686173696e672e5075726368617365496e766f69636510000000000000000000000000000000520100",
    ),
    (
        "finance.OpeningBalancesEntered",
        "10000000000000000000000000000000010206e69c9fe5889d043131323207313133302e3030013000000006e69c9fe5889d0433303031013007313133302e303000000001100000000000000000000000000000003c06494e562d34328080afa2dbffad0680c0d7ecf5b9ae0607313133302e3030000110000000000000000000000000000000011000000000000000000000000000000002023230023132047a68616f",
    ),
    (
        "sales.ReceiptAdvanceApplied",
        "100000000000000000000000000000005b100000000000000000000000000000003c100000000000000000000000000000005c0532352e3030",
    ),
    (
        "finance.PayrollAccrued",
        "1000000000000000000000000000000001ea0f0b07333030302e303007353030302e3030013007383030302e3030047a68616f",
    ),
    (
        "finance.PayrollPaid",
        "1000000000000000000000000000000001ea0f0b07373430302e3030063630302e3030047a68616f",
    ),
    (
        "finance.BankStatementImported",
        "1000000000000000000000000000000071100000000000000000000000000000000104313030320180c099cc83f9af06082d333030302e303018e4b989e4b98ce5b08fe59586e59381e4be9be5ba94e5958606e4bb98e6acbe047a68616f",
    ),
    ("finance.BankStatementLineMatched", "0000100000000000000000000000000000005b01047a68616f"),
    ("finance.BankStatementLineUnmatched", "0000100000000000000000000000000000005b047a68616f"),
    ("finance.SurchargesConfigured", "04302e303704302e3033047a68616f"),
    ("finance.VoucherWordsChosen", "01047a68616f"),
    ("finance.FreightTreatmentChosen", "01047a68616f"),
    ("finance.PurchasingPolicySet", "063830302e3530047a68616f"),
    (
        "sales.CustomerAccountMoved",
        "100000000000000000000000000000003c082d313030302e3030100000000000000000000000000000006e07313034322e3530",
    ),
    (
        "sales.SalesInvoiceOpenedFromOpeningBalance",
        "100000000000000000000000000000005f100000000000000000000000000000003c0d494e562d323032352d3030343207313133302e30308080afa2dbffad0680c0d7ecf5b9ae06",
    ),
    ("purchasing.BudgetSet", "09e98787e8b4ade983a8ea0f0b053130303030047a68616f"),
    (
        "purchasing.BudgetCommitted",
        "09e98787e8b4ade983a8ea0f0b1000000000000000000000000000000051063630302e35300130010334303001",
    ),
    (
        "sales.SalesOrderReservationReturned",
        "100000000000000000000000000000003200100000000000000000000000000000000110000000000000000000000000000000460131",
    ),
    (
        "sales.ShipmentCreated",
        "100000000000000000000000000000005a1000000000000000000000000000000032100000000000000000000000000000004601000010000000000000000000000000000000010133011000000000000000000000000000000004",
    ),
    ("sales.ShipmentPicked", "010133067069636b6572"),
    (
        "sales.GoodsShipped",
        "100000000000000000000000000000005a1000000000000000000000000000000032100000000000000000000000000000004601000010000000000000000000000000000000010133011000000000000000000000000000000004",
    ),
    ("sales.ShipmentLineIssued", "000533362e3030"),
    ("sales.ShipmentCosted", "100000000000000000000000000000005a0533362e3030"),
    ("purchasing.RequisitionSubmitted", "026c69043930303001"),
    ("purchasing.RequisitionApproved", "0477616e6700"),
    ("purchasing.RequisitionRejected", "0477616e6709746f6f206561726c79"),
    ("purchasing.RequisitionConverted", "1000000000000000000000000000000051"),
    (
        "purchasing.PurchaseOrderPlaced",
        "1000000000000000000000000000000051100000000000000000000000000000004d100000000000000000000000000000004609e98787e8b4ade983a80110000000000000000000000000000000500100100000000000000000000000000000000102313004322e353004302e31330532352e30300101300001340532352e3030026c6900",
    ),
    ("purchasing.PurchaseOrderBudgetApproved", "047a68616f"),
    ("purchasing.PurchaseOrderApproved", "0477616e67"),
    (
        "purchasing.PurchaseOrderAmended",
        "0100100000000000000000000000000000000102313004322e353004302e31330532352e30300101300001340532352e303001026c69",
    ),
    (
        "purchasing.GoodsReceived",
        "100000000000000000000000000000005110000000000000000000000000000000521000000000000000000000000000000046100000000000000000000000000000004d01001000000000000000000000000000000001013604322e3530010130000104412d303101034c2d31036b61690110000000000000000000000000000000540b4e6f2e3037373030303031011000000000000000000000000000000051001000000000000000000000000000000001013604322e353004302e31330531352e303004312e393504322e353001360531352e303004312e39350531362e3935",
    ),
    (
        "purchasing.PurchaseOrderFreightAllocated",
        "100000000000000000000000000000005310000000000000000000000000000000460531322e30300100100000000000000000000000000000000101360531322e3030",
    ),
    (
        "purchasing.PurchaseInvoiceRecordedWithGoods",
        "1000000000000000000000000000000053100000000000000000000000000000004d100000000000000000000000000000005110000000000000000000000000000000520b4e6f2e3037373030303031011000000000000000000000000000000051001000000000000000000000000000000001013604322e353004302e31330531352e303004312e393504322e353001360531352e303004312e39350531362e3935",
    ),
    (
        "purchasing.PurchaseFreightBooked",
        "1000000000000000000000000000000053100000000000000000000000000000004e0b4e6f2e3039393030303032100000000000000000000000000000005104302e30390531322e303004312e30380531332e303801",
    ),
    (
        "purchasing.PurchaseOrderRemainderCancelled",
        "0100013415737570706c696572206f7574206f662073746f636b026c69",
    ),
    ("purchasing.PurchaseOrderClosed", "026c69"),
    ("sales.ShipmentInvoiceClaimed", "100000000000000000000000000000005b"),
    (
        "sales.SalesInvoiceIssued",
        "100000000000000000000000000000005b100000000000000000000000000000003c01100000000000000000000000000000005a01100000000000000000000000000000005a100000000000000000000000000000000101330631302e30303504302e31330533302e303204332e39300533302e303204332e39300533332e3932808082e288d2a3068080ecd5f8e8a406",
    ),
    (
        "sales.PaymentAllocated",
        "100000000000000000000000000000005b100000000000000000000000000000005c100000000000000000000000000000003c0533332e39320531362e30380130",
    ),
    ("sales.SalesInvoicePaid", "100000000000000000000000000000005b"),
    (
        "sales.CustomerReceiptRecorded",
        "100000000000000000000000000000005c100000000000000000000000000000003c02353001100000000000000000000000000000005b023530013001",
    ),
    ("sales.ReceiptExcessMovedToAdvance", "100000000000000000000000000000005b0531362e3038"),
    (
        "purchasing.PurchaseInvoiceRegistered",
        "1000000000000000000000000000000053100000000000000000000000000000004d0b4e6f2e303435313233393901100000000000000000000000000000005100100000000000000000000000000000000102313004322e353004302e31330532352e303004332e323504322e35300231300532352e303004332e32350532382e3235026c69",
    ),
    ("purchasing.PurchaseInvoiceMatched", "100000000000000000000000000000005301047a68616f0106616772656564"),
    ("purchasing.PurchaseInvoiceMatchFailed", "01001b707269636520322e36302c206f72646572656420617420322e3530"),
    ("purchasing.SupplierPaymentRecorded", "10000000000000000000000000000000540532382e32350130"),
    ("purchasing.PurchaseInvoicePaid", "1000000000000000000000000000000053"),
    (
        "purchasing.PurchaseInvoiceOpenedFromOpeningBalance",
        "1000000000000000000000000000000053100000000000000000000000000000004d085355502d30303037063536352e30308080afa2dbffad0680c0d7ecf5b9ae06",
    ),
    (
        "purchasing.SupplierPaid",
        "1000000000000000000000000000000054100000000000000000000000000000004d0233300110000000000000000000000000000000530532382e323504312e3735047a68616f",
    ),
    (
        "returns.ReturnCreated",
        "100000000000000000000000000000005500100000000000000000000000000000003c10000000000000000000000000000000460e73616c65732e536869706d656e741000000000000000000000000000000003010201001000000000000000000000000000000001013202323004302e31330534302e303004352e32300103312e35000130000534302e303004352e32300534352e32300c77726f6e6720636f6c6f7572",
    ),
    (
        "returns.ReturnCompleted",
        "100000000000000000000000000000005501100000000000000000000000000000004601001000000000000000000000000000000001013202323004302e31330534302e303004352e32300103312e3500013000036b6169",
    ),
    (
        "inventory.TransferCreated",
        "10000000000000000000000000000000561000000000000000000000000000000046100000000000000000000000000000004701001000000000000000000000000000000001013301013000",
    ),
    (
        "inventory.TransferDispatched",
        "10000000000000000000000000000000561000000000000000000000000000000046100000000000000000000000000000004701001000000000000000000000000000000001013301013000036b6169",
    ),
    ("inventory.TransferLineOut", "0004332e33300101024c31013204352e3130"),
    ("inventory.TransferInTransit", "100000000000000000000000000000005604332e3330"),
    (
        "inventory.TransferReceived",
        "10000000000000000000000000000000561000000000000000000000000000000046100000000000000000000000000000004701001000000000000000000000000000000001013304332e33300101024c31013204352e313001013000036c696e",
    ),
    ("inventory.TransferLineIn", "00"),
    ("inventory.TransferCompleted", "1000000000000000000000000000000056"),
    (
        "inventory.ReplenishmentSuggested",
        "10000000000000000000000000000000011000000000000000000000000000000046013601380132",
    ),
    ("inventory.ReplenishmentTakenUp", "1000000000000000000000000000000050026c69"),
    ("inventory.ReplenishmentDismissed", "08736561736f6e616c026c69"),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn master_samples() -> (Vec<ItemEvent>, Vec<WarehouseEvent>, Vec<PartnerEvent>) {
    let item = ItemDetails {
        sku: "SKU-001".into(),
        name: "保温杯".into(),
        unit: "个".into(),
        barcode: Some("6901234567892".into()),
        vat_rate: d("0.13"),
        costing: CostingMethod::MovingAverage,
        safety_stock: d("20"),
        reorder_qty: d("100"),
        default_supplier: Some(PartnerId(Uuid::from_u128(30))),
        lead_time_days: 7,
        kind: domain::master::ItemKind::Goods,
    };
    let warehouse = WarehouseDetails {
        code: "SH01".into(),
        name: "上海仓".into(),
        city: "上海".into(),
        latitude: d("31.2304"),
        longitude: d("121.4737"),
        bins: vec!["A-01".into()],
    };
    let partner = PartnerDetails {
        name: "杭州优选".into(),
        roles: PartnerRoles { customer: true, supplier: true },
        tax_id: Some("91330100MA2H3XXX0Y".into()),
        credit_limit: d("50000"),
        payment_terms_days: 30,
        region: "华东".into(),
    };
    (
        vec![
            ItemEvent::Created(item.clone()),
            ItemEvent::Changed(ItemDetails { kind: domain::master::ItemKind::RawMaterial, ..item }),
            ItemEvent::Deactivated(domain::master::item::Marker {}),
            ItemEvent::Reactivated(domain::master::item::Marker {}),
        ],
        vec![
            WarehouseEvent::Created(warehouse.clone()),
            WarehouseEvent::Changed(warehouse),
            WarehouseEvent::Deactivated(domain::master::warehouse::Marker {}),
            WarehouseEvent::Reactivated(domain::master::warehouse::Marker {}),
        ],
        vec![
            PartnerEvent::Created(partner.clone()),
            PartnerEvent::Changed(partner),
            PartnerEvent::Deactivated(domain::master::partner::Marker {}),
            PartnerEvent::Reactivated(domain::master::partner::Marker {}),
        ],
    )
}

fn stocktake_samples() -> Vec<StocktakeEvent> {
    let policy =
        StockPolicy { costing: CostingMethod::MovingAverage, safety_stock: d("0"), allow_negative: false };
    let id = StocktakeId(Uuid::from_u128(40));
    let difference = StocktakeDifference {
        line: 0,
        item: ItemId(Uuid::from_u128(1)),
        delta: d("-1"),
        policy: policy.clone(),
        unit_cost: Some(d("2.5")),
    };
    vec![
        StocktakeEvent::Opened(StocktakeOpened {
            id,
            warehouse: WarehouseId(Uuid::from_u128(2)),
            lines: vec![StocktakeLine {
                item: ItemId(Uuid::from_u128(1)),
                book_qty: d("10"),
                policy,
                unit_cost: None,
            }],
        }),
        StocktakeEvent::Counted(StocktakeLineCounted { line: 0, counted: d("9") }),
        StocktakeEvent::Submitted(StocktakeSubmitted {
            by: "li".into(),
            differences: vec![difference.clone()],
        }),
        StocktakeEvent::Approved(StocktakeApproved {
            id,
            by: "wang".into(),
            warehouse: WarehouseId(Uuid::from_u128(2)),
            differences: vec![difference],
            losses: vec![StocktakeLoss { line: 0, treatment: loss_treatment() }],
        }),
        StocktakeEvent::Rejected(StocktakeRejected { by: "wang".into(), reason: "recount".into() }),
        StocktakeEvent::LinePosted(StocktakeLinePosted { line: 0 }),
        StocktakeEvent::Completed(StocktakeCompleted { id }),
    ]
}

fn shipment_samples() -> Vec<ShipmentEvent> {
    let id = ShipmentId(Uuid::from_u128(90));
    let order = SalesOrderId(Uuid::from_u128(50));
    let warehouse = WarehouseId(Uuid::from_u128(70));
    let line = ShipmentLine {
        line: 0,
        order_line: 0,
        item: ItemId(Uuid::from_u128(1)),
        qty: d("3"),
        reservation: Some(ReservationId(Uuid::from_u128(4))),
    };
    vec![
        ShipmentEvent::Created(ShipmentCreated { id, order, warehouse, lines: vec![line.clone()] }),
        ShipmentEvent::Picked(ShipmentPicked { picked: vec![d("3")], by: "picker".into() }),
        ShipmentEvent::Shipped(GoodsShipped { id, order, warehouse, lines: vec![line] }),
        ShipmentEvent::LineIssued(ShipmentLineIssued { line: 0, value: d("36.00") }),
        ShipmentEvent::Costed(ShipmentCosted { id, value: d("36.00") }),
        ShipmentEvent::InvoiceClaimed(ShipmentInvoiceClaimed {
            invoice: SalesInvoiceId(Uuid::from_u128(91)),
        }),
    ]
}

fn billing_samples() -> (Vec<SalesInvoiceEvent>, Vec<CustomerReceiptEvent>) {
    let invoice = SalesInvoiceId(Uuid::from_u128(91));
    let receipt = CustomerReceiptId(Uuid::from_u128(92));
    let customer = PartnerId(Uuid::from_u128(60));
    let invoices = vec![
        SalesInvoiceEvent::Issued(SalesInvoiceIssued {
            id: invoice,
            customer,
            shipments: vec![ShipmentId(Uuid::from_u128(90))],
            lines: vec![InvoiceLine {
                shipment: ShipmentId(Uuid::from_u128(90)),
                item: ItemId(Uuid::from_u128(1)),
                qty: d("3"),
                unit_price: d("10.005"),
                vat_rate: d("0.13"),
                amount_net: d("30.02"),
                amount_tax: d("3.90"),
            }],
            amount_net: d("30.02"),
            amount_tax: d("3.90"),
            amount_gross: d("33.92"),
            issued_at: Timestamp(1_767_225_600_000_000),
            due_at: Timestamp(1_769_817_600_000_000),
        }),
        SalesInvoiceEvent::PaymentAllocated(PaymentAllocated {
            invoice,
            receipt,
            customer,
            applied: d("33.92"),
            excess: d("16.08"),
            open_after: d("0"),
        }),
        SalesInvoiceEvent::Paid(SalesInvoicePaid { id: invoice }),
        SalesInvoiceEvent::OpenedFromOpeningBalance(domain::sales::invoice::SalesInvoiceOpened {
            id: SalesInvoiceId(Uuid::from_u128(95)),
            customer: PartnerId(Uuid::from_u128(60)),
            reference: "INV-2025-0042".into(),
            amount_gross: d("1130.00"),
            issued_at: domain::Timestamp(1_790_000_000_000_000),
            due_at: domain::Timestamp(1_791_000_000_000_000),
        }),
    ];
    let receipts = vec![
        CustomerReceiptEvent::Recorded(CustomerReceiptRecorded {
            id: receipt,
            customer,
            amount: d("50"),
            allocations: vec![(invoice, d("50"))],
            advance: d("0"),
            automatic: true,
        }),
        CustomerReceiptEvent::ExcessMovedToAdvance(ReceiptExcessMovedToAdvance {
            invoice,
            amount: d("16.08"),
        }),
        CustomerReceiptEvent::AdvanceApplied(domain::sales::receipt::ReceiptAdvanceApplied {
            id: CustomerReceiptId(Uuid::from_u128(91)),
            customer: PartnerId(Uuid::from_u128(60)),
            invoice: SalesInvoiceId(Uuid::from_u128(92)),
            amount: d("25.00"),
        }),
    ];
    (invoices, receipts)
}

fn purchase_order_samples() -> Vec<PurchaseOrderEvent> {
    let id = PurchaseOrderId(Uuid::from_u128(81));
    let policy = StockPolicy { costing: CostingMethod::Fifo, safety_stock: d("0"), allow_negative: false };
    let line = PoLine {
        line: 0,
        item: ItemId(Uuid::from_u128(1)),
        qty: d("10"),
        unit_price: d("2.50"),
        vat_rate: d("0.13"),
        amount_net: d("25.00"),
        policy: policy.clone(),
        available_at_order: d("4"),
    };
    vec![
        PurchaseOrderEvent::Placed(PurchaseOrderPlaced {
            id,
            supplier: PartnerId(Uuid::from_u128(77)),
            warehouse: WarehouseId(Uuid::from_u128(70)),
            department: "采购部".into(),
            requisition: Some(RequisitionId(Uuid::from_u128(80))),
            lines: vec![line.clone()],
            amount_net: d("25.00"),
            by: "li".into(),
            over_budget: false,
        }),
        PurchaseOrderEvent::BudgetApproved(PurchaseOrderBudgetApproved { by: "zhao".into() }),
        PurchaseOrderEvent::Approved(PurchaseOrderApproved { by: "wang".into() }),
        PurchaseOrderEvent::Amended(PurchaseOrderAmended {
            lines: vec![line],
            amount_net: d("25.00"),
            over_budget: true,
            by: "li".into(),
        }),
        PurchaseOrderEvent::Received(GoodsReceived {
            id,
            receipt: GoodsReceiptId(Uuid::from_u128(82)),
            warehouse: WarehouseId(Uuid::from_u128(70)),
            supplier: PartnerId(Uuid::from_u128(77)),
            lines: vec![ReceivedLine {
                line: 0,
                item: ItemId(Uuid::from_u128(1)),
                qty: d("6"),
                unit_price: d("2.50"),
                policy,
            }],
            bin: Some("A-01".into()),
            lot: Some("L-1".into()),
            by: "kai".into(),
            invoice: Some(received_invoice()),
        }),
        PurchaseOrderEvent::RemainderCancelled(PurchaseOrderRemainderCancelled {
            cancelled: vec![(0, d("4"))],
            reason: "supplier out of stock".into(),
            by: "li".into(),
        }),
        PurchaseOrderEvent::Closed(PurchaseOrderClosed { by: "li".into() }),
        PurchaseOrderEvent::FreightAllocated(domain::purchasing::order::PurchaseOrderFreightAllocated {
            invoice: PurchaseInvoiceId(Uuid::from_u128(83)),
            warehouse: WarehouseId(Uuid::from_u128(70)),
            amount: d("12.00"),
            shares: vec![domain::purchasing::order::FreightShare {
                line: 0,
                item: ItemId(Uuid::from_u128(1)),
                qty: d("6"),
                amount: d("12.00"),
            }],
        }),
        PurchaseOrderEvent::LineInvoiced(domain::purchasing::order::PurchaseOrderLineInvoiced {
            invoice: PurchaseInvoiceId(Uuid::from_u128(82)),
            invoice_line: 0,
            line: 0,
            item: ItemId(Uuid::from_u128(1)),
            warehouse: WarehouseId(Uuid::from_u128(2)),
            qty: d("10"),
            difference: d("1.00"),
        }),
    ]
}

fn finance_samples() -> (Vec<BookEvent>, Vec<VoucherEvent>, Vec<JournalEvent>) {
    let book = domain::BookId(Uuid::from_u128(1));
    let period = domain::time::Period::new(2026, 11).unwrap();
    let account = |code: &str, parent: Option<&str>, role| Account {
        code: code.into(),
        name: format!("科目{code}"),
        category: Category::Asset,
        side: Side::Debit,
        role,
        parent: parent.map(Into::into),
    };
    let books = vec![
        BookEvent::Created(BookCreated {
            id: book,
            settings: BookSettings {
                name: "示例".into(),
                standard: Standard::SmallEnterprise,
                first_period: domain::time::Period::new(2026, 1).unwrap(),
                vat: VatStatus::General,
                allow_negative_stock: false,
                auto_post: true,
                utc_offset_minutes: 480,
            },
            accounts: vec![account("1122", None, Some(AccountRole::Receivables))],
            by: "zhao".into(),
        }),
        BookEvent::AccountAdded(AccountAdded {
            account: account("112201", Some("1122"), None),
            by: "zhao".into(),
        }),
        BookEvent::SurchargesConfigured(domain::finance::book::SurchargesConfigured {
            urban_construction: d("0.07"),
            education: d("0.03"),
            by: "zhao".into(),
        }),
        BookEvent::VoucherWordsChosen(domain::finance::book::VoucherWordsChosen {
            words: domain::finance::book::WordScheme::ReceiptPaymentTransfer,
            by: "zhao".into(),
        }),
        BookEvent::FreightTreatmentChosen(domain::finance::book::FreightTreatmentChosen {
            capitalize: true,
            by: "zhao".into(),
        }),
        BookEvent::PurchasingPolicySet(domain::finance::book::PurchasingPolicySet {
            requisition_approval_threshold: d("800.50"),
            by: "zhao".into(),
        }),
    ];
    let lines = vec![
        VoucherLine {
            summary: "收款".into(),
            account: "1002".into(),
            debit: d("113.00"),
            credit: d("0"),
            partner: None,
            item: None,
            department: None,
        },
        VoucherLine {
            summary: "收款".into(),
            account: "1122".into(),
            debit: d("0"),
            credit: d("113.00"),
            partner: Some(PartnerId(Uuid::from_u128(60))),
            item: Some(ItemId(Uuid::from_u128(1))),
            department: None,
        },
    ];
    let source = VoucherSource {
        kind: "sales.CustomerReceipt".into(),
        id: Uuid::from_u128(9),
        event: domain::EventId(Uuid::from_u128(10)),
    };
    let voucher = domain::VoucherId(Uuid::from_u128(7));
    let vouchers = vec![
        VoucherEvent::Drafted(VoucherDrafted {
            id: voucher,
            book,
            word: VoucherWord::Shou,
            period,
            date: domain::Timestamp(1_794_276_000_000_000),
            lines: lines.clone(),
            source: Some(source.clone()),
            reverses: None,
            automatic: true,
            by: "process:auto-vouchers".into(),
        }),
        VoucherEvent::Reviewed(VoucherReviewed { by: "zhao".into() }),
        VoucherEvent::ReviewCancelled(VoucherReviewCancelled { by: "zhao".into() }),
        VoucherEvent::Discarded(VoucherDiscarded { by: "zhao".into(), reason: "重复".into() }),
        VoucherEvent::PostingBegun(VoucherPostingBegun { review_waived: true, by: "p".into() }),
        VoucherEvent::PostingAbandoned(VoucherPostingAbandoned { reason: "closed".into() }),
        VoucherEvent::Numbered(VoucherNumbered { number: 12 }),
        VoucherEvent::ReversalClaimed(VoucherReversalClaimed {
            reversal: domain::VoucherId(Uuid::from_u128(8)),
            by: "zhao".into(),
        }),
    ];
    let journals = vec![
        JournalEvent::Posted(VoucherPosted {
            book,
            period,
            voucher,
            word: VoucherWord::Shou,
            number: 12,
            date: domain::Timestamp(1_794_276_000_000_000),
            lines,
            source: Some(source),
            reverses: None,
            by: "p".into(),
        }),
        JournalEvent::Closed(PeriodClosed { book, period, by: "zhao".into() }),
        JournalEvent::Reopened(PeriodReopened {
            book,
            period,
            by: "boss".into(),
            reason: "late invoice".into(),
        }),
    ];
    (books, vouchers, journals)
}

fn opening_samples() -> Vec<domain::finance::opening::OpeningEvent> {
    use domain::finance::opening::{OpeningBalancesEntered, OpeningEvent, OpeningItem, OpeningStock};
    let line = |account: &str, debit: &str, credit: &str| VoucherLine {
        summary: "期初".into(),
        account: account.into(),
        debit: d(debit),
        credit: d(credit),
        partner: None,
        item: None,
        department: None,
    };
    vec![OpeningEvent::Entered(OpeningBalancesEntered {
        book: domain::BookId(Uuid::from_u128(1)),
        lines: vec![line("1122", "1130.00", "0"), line("3001", "0", "1130.00")],
        receivables: vec![OpeningItem {
            partner: PartnerId(Uuid::from_u128(60)),
            reference: "INV-42".into(),
            dated: domain::Timestamp(1_790_000_000_000_000),
            due: domain::Timestamp(1_791_000_000_000_000),
            amount: d("1130.00"),
        }],
        payables: Vec::new(),
        stock: vec![OpeningStock {
            item: ItemId(Uuid::from_u128(1)),
            warehouse: WarehouseId(Uuid::from_u128(2)),
            qty: d("20"),
            unit_cost: d("12"),
        }],
        by: "zhao".into(),
    })]
}

fn payroll_samples() -> Vec<domain::finance::payroll::PayrollEvent> {
    use domain::finance::payroll::{PayrollAccrued, PayrollEvent, PayrollPaid};
    let book = domain::BookId(Uuid::from_u128(1));
    let period = domain::time::Period::new(2026, 11).unwrap();
    vec![
        PayrollEvent::Accrued(PayrollAccrued {
            book,
            period,
            selling: d("3000.00"),
            administration: d("5000.00"),
            production: d("0"),
            total: d("8000.00"),
            by: "zhao".into(),
        }),
        PayrollEvent::Paid(PayrollPaid {
            book,
            period,
            net: d("7400.00"),
            income_tax: d("600.00"),
            by: "zhao".into(),
        }),
    ]
}

fn bank_samples() -> Vec<domain::finance::bank::StatementEvent> {
    use domain::finance::bank::{
        MatchTarget, StatementEvent, StatementImported, StatementLine, StatementLineMatched,
        StatementLineUnmatched,
    };
    let target = MatchTarget::CustomerReceipt(CustomerReceiptId(Uuid::from_u128(91)));
    vec![
        StatementEvent::Imported(StatementImported {
            id: Uuid::from_u128(113),
            book: domain::BookId(Uuid::from_u128(1)),
            account: "1002".into(),
            lines: vec![StatementLine {
                date: domain::Timestamp(1_794_283_200_000_000),
                amount: d("-3000.00"),
                counterparty: "义乌小商品供应商".into(),
                reference: "付款".into(),
            }],
            by: "zhao".into(),
        }),
        StatementEvent::Matched(StatementLineMatched { line: 0, target, automatic: true, by: "zhao".into() }),
        StatementEvent::Unmatched(StatementLineUnmatched { line: 0, target, by: "zhao".into() }),
    ]
}

fn customer_account_samples() -> Vec<domain::sales::CustomerAccountEvent> {
    vec![domain::sales::CustomerAccountEvent::Moved(domain::sales::account::CustomerAccountMoved {
        customer: PartnerId(Uuid::from_u128(60)),
        amount: d("-1000.00"),
        document: Uuid::from_u128(110),
        balance: d("1042.50"),
    })]
}

fn budget_samples() -> Vec<BudgetEvent> {
    let period = domain::time::Period::new(2026, 11).unwrap();
    vec![
        BudgetEvent::Set(BudgetSet {
            department: "采购部".into(),
            period,
            amount: d("10000"),
            by: "zhao".into(),
        }),
        BudgetEvent::Committed(BudgetCommitted {
            department: "采购部".into(),
            period,
            order: PurchaseOrderId(Uuid::from_u128(81)),
            amount: d("600.50"),
            previous: d("0"),
            remaining_before: Some(d("400")),
            over_budget: true,
        }),
    ]
}

fn purchase_invoice_samples() -> (Vec<PurchaseInvoiceEvent>, Vec<SupplierPaymentEvent>) {
    let id = PurchaseInvoiceId(Uuid::from_u128(83));
    let payment = SupplierPaymentId(Uuid::from_u128(84));
    let invoices = vec![
        PurchaseInvoiceEvent::Registered(PurchaseInvoiceRegistered {
            id,
            supplier: PartnerId(Uuid::from_u128(77)),
            number: "No.04512399".into(),
            lines: vec![PurchaseInvoiceLine {
                po: PurchaseOrderId(Uuid::from_u128(81)),
                po_line: 0,
                item: ItemId(Uuid::from_u128(1)),
                qty: d("10"),
                unit_price: d("2.50"),
                vat_rate: d("0.13"),
                amount_net: d("25.00"),
                amount_tax: d("3.25"),
                ordered_price: d("2.50"),
                received_qty: d("10"),
            }],
            amount_net: d("25.00"),
            amount_tax: d("3.25"),
            amount_gross: d("28.25"),
            by: "li".into(),
        }),
        PurchaseInvoiceEvent::Matched(PurchaseInvoiceMatched {
            id,
            approved_by: Some("zhao".into()),
            reason: Some("agreed".into()),
        }),
        PurchaseInvoiceEvent::MatchFailed(PurchaseInvoiceMatchFailed {
            mismatches: vec![MatchMismatch { line: 0, reason: "price 2.60, ordered at 2.50".into() }],
        }),
        PurchaseInvoiceEvent::PaymentRecorded(SupplierPaymentRecorded {
            payment,
            amount: d("28.25"),
            open_after: d("0"),
        }),
        PurchaseInvoiceEvent::Paid(PurchaseInvoicePaid { id }),
        PurchaseInvoiceEvent::RecordedWithGoods(
            domain::purchasing::invoice::PurchaseInvoiceRecordedWithGoods {
                id,
                supplier: PartnerId(Uuid::from_u128(77)),
                po: PurchaseOrderId(Uuid::from_u128(81)),
                receipt: GoodsReceiptId(Uuid::from_u128(82)),
                number: "No.07700001".into(),
                lines: received_invoice().lines,
                amount_net: d("15.00"),
                amount_tax: d("1.95"),
                amount_gross: d("16.95"),
            },
        ),
        PurchaseInvoiceEvent::FreightBooked(domain::purchasing::invoice::PurchaseFreightBooked {
            id,
            carrier: PartnerId(Uuid::from_u128(78)),
            number: "No.09900002".into(),
            po: PurchaseOrderId(Uuid::from_u128(81)),
            vat_rate: d("0.09"),
            amount_net: d("12.00"),
            amount_tax: d("1.08"),
            amount_gross: d("13.08"),
            capitalized: true,
        }),
        PurchaseInvoiceEvent::OpenedFromOpeningBalance(domain::purchasing::invoice::PurchaseInvoiceOpened {
            id,
            supplier: PartnerId(Uuid::from_u128(77)),
            reference: "SUP-0007".into(),
            amount_gross: d("565.00"),
            issued_at: Timestamp(1_790_000_000_000_000),
            due_at: Timestamp(1_791_000_000_000_000),
        }),
        PurchaseInvoiceEvent::Booked(domain::purchasing::invoice::PurchaseInvoiceBooked {
            id,
            supplier: PartnerId(Uuid::from_u128(77)),
            number: "No.04512399".into(),
            lines: vec![PurchaseInvoiceLine {
                po: PurchaseOrderId(Uuid::from_u128(81)),
                po_line: 0,
                item: ItemId(Uuid::from_u128(1)),
                qty: d("10"),
                unit_price: d("2.60"),
                vat_rate: d("0.13"),
                amount_net: d("26.00"),
                amount_tax: d("3.38"),
                ordered_price: d("2.50"),
                received_qty: d("10"),
            }],
            amount_net: d("26.00"),
            amount_tax: d("3.38"),
            amount_gross: d("29.38"),
            revalues_stock: true,
        }),
    ];
    let payments = vec![SupplierPaymentEvent::Paid(SupplierPaid {
        id: payment,
        supplier: PartnerId(Uuid::from_u128(77)),
        amount: d("30"),
        allocations: vec![(id, d("28.25"))],
        prepayment: d("1.75"),
        by: "zhao".into(),
    })];
    (invoices, payments)
}

fn return_samples() -> Vec<ReturnEvent> {
    let id = ReturnId(Uuid::from_u128(85));
    let line = ReturnLine {
        line: 0,
        item: ItemId(Uuid::from_u128(1)),
        qty: d("2"),
        unit_price: d("20"),
        vat_rate: d("0.13"),
        amount_net: d("40.00"),
        amount_tax: d("5.20"),
        unit_cost: Some(d("1.5")),
        policy: StockPolicy {
            costing: CostingMethod::MovingAverage,
            safety_stock: d("0"),
            allow_negative: false,
        },
    };
    vec![
        ReturnEvent::Created(ReturnCreated {
            id,
            direction: ReturnDirection::FromCustomer,
            partner: PartnerId(Uuid::from_u128(60)),
            warehouse: WarehouseId(Uuid::from_u128(70)),
            original: doc(),
            lines: vec![line.clone()],
            amount_net: d("40.00"),
            amount_tax: d("5.20"),
            amount_gross: d("45.20"),
            reason: "wrong colour".into(),
        }),
        ReturnEvent::Completed(ReturnCompleted {
            id,
            direction: ReturnDirection::ToSupplier,
            warehouse: WarehouseId(Uuid::from_u128(70)),
            lines: vec![line],
            by: "kai".into(),
        }),
        ReturnEvent::LineIssued(domain::returns::ReturnLineIssued {
            id,
            line: 0,
            item: ItemId(Uuid::from_u128(1)),
            cost: d("40.00"),
            amount_net: d("42.00"),
            difference: d("2.00"),
        }),
    ]
}

fn transfer_samples() -> Vec<TransferEvent> {
    let id = TransferId(Uuid::from_u128(86));
    let (from, to) = (WarehouseId(Uuid::from_u128(70)), WarehouseId(Uuid::from_u128(71)));
    let policy = StockPolicy { costing: CostingMethod::Fifo, safety_stock: d("0"), allow_negative: false };
    let line =
        TransferLine { line: 0, item: ItemId(Uuid::from_u128(1)), qty: d("3"), policy: policy.clone() };
    vec![
        TransferEvent::Created(TransferCreated { id, from, to, lines: vec![line.clone()] }),
        TransferEvent::Dispatched(TransferDispatched { id, from, to, lines: vec![line], by: "kai".into() }),
        TransferEvent::LineOut(TransferLineOut { line: 0, value: d("3.30"), lots: vec![take()] }),
        TransferEvent::InTransit(TransferInTransit { id, value: d("3.30") }),
        TransferEvent::Received(TransferReceived {
            id,
            from,
            to,
            lines: vec![ArrivingLine {
                line: 0,
                item: ItemId(Uuid::from_u128(1)),
                qty: d("3"),
                value: d("3.30"),
                lots: vec![take()],
                policy,
            }],
            by: "lin".into(),
        }),
        TransferEvent::LineIn(TransferLineIn { line: 0 }),
        TransferEvent::Completed(TransferCompleted { id }),
    ]
}

fn replenishment_samples() -> Vec<ReplenishmentEvent> {
    let key = StockKey { item: ItemId(Uuid::from_u128(1)), warehouse: WarehouseId(Uuid::from_u128(70)) };
    vec![
        ReplenishmentEvent::Suggested(ReplenishmentSuggested {
            key,
            available: d("6"),
            safety_stock: d("8"),
            suggested_qty: d("2"),
        }),
        ReplenishmentEvent::TakenUp(ReplenishmentTakenUp {
            requisition: RequisitionId(Uuid::from_u128(80)),
            by: "li".into(),
        }),
        ReplenishmentEvent::Dismissed(ReplenishmentDismissed { reason: "seasonal".into(), by: "li".into() }),
    ]
}

fn sales_samples() -> (Vec<SalesOrderEvent>, Vec<PlatformOrderEvent>, Vec<RequisitionEvent>) {
    let id = SalesOrderId(Uuid::from_u128(50));
    let line = OrderLine {
        line: 0,
        item: ItemId(Uuid::from_u128(1)),
        qty: d("3"),
        unit_price: d("10.005"),
        vat_rate: d("0.13"),
        amount_net: d("30.02"),
        amount_tax: d("3.90"),
        default_supplier: Some(PartnerId(Uuid::from_u128(77))),
        warehouse: WarehouseId(Uuid::from_u128(70)),
    };
    let sales = vec![
        SalesOrderEvent::Placed(SalesOrderPlaced {
            id,
            customer: PartnerId(Uuid::from_u128(60)),
            channel: Channel::Online { platform: "taobao".into(), platform_order_id: "TB-1".into() },
            warehouse: WarehouseId(Uuid::from_u128(70)),
            lines: vec![line],
            amount_net: d("30.02"),
            amount_tax: d("3.90"),
            amount_gross: d("33.92"),
        }),
        SalesOrderEvent::LineReserved(SalesOrderLineReserved { line: 0, qty: d("1") }),
        SalesOrderEvent::LineBackordered(SalesOrderLineBackordered {
            id,
            line: 0,
            item: ItemId(Uuid::from_u128(1)),
            qty: d("2"),
            default_supplier: Some(PartnerId(Uuid::from_u128(77))),
        }),
        SalesOrderEvent::ReadyToPick(SalesOrderReadyToPick { id }),
        SalesOrderEvent::Confirmed(SalesOrderConfirmed { by: "li".into() }),
        SalesOrderEvent::Cancelled(SalesOrderCancelled {
            id,
            by: "li".into(),
            reason: "customer".into(),
            held: vec![HeldLine {
                line: 0,
                item: ItemId(Uuid::from_u128(1)),
                warehouse: WarehouseId(Uuid::from_u128(70)),
            }],
        }),
        SalesOrderEvent::Closed(SalesOrderClosed { by: "li".into() }),
        SalesOrderEvent::LineShipped(SalesOrderLineShipped { line: 0, qty: d("3") }),
        SalesOrderEvent::Shipped(SalesOrderShipped { id }),
        SalesOrderEvent::ReservationReturned(SalesOrderReservationReturned {
            id,
            line: 0,
            item: ItemId(Uuid::from_u128(1)),
            warehouse: WarehouseId(Uuid::from_u128(70)),
            qty: d("1"),
        }),
    ];
    let platform = vec![PlatformOrderEvent::Claimed(PlatformOrderClaimed {
        platform: "taobao".into(),
        platform_order_id: "TB-1".into(),
        order: id,
    })];
    let requisitions = vec![
        RequisitionEvent::Drafted(RequisitionDrafted {
            id: RequisitionId(Uuid::from_u128(80)),
            item: ItemId(Uuid::from_u128(1)),
            qty: d("2"),
            supplier: Some(PartnerId(Uuid::from_u128(77))),
            source: doc(),
            requested_by: "process:order-fulfilment".into(),
        }),
        RequisitionEvent::Submitted(RequisitionSubmitted {
            by: "li".into(),
            estimated_amount: d("9000"),
            needs_approval: true,
        }),
        RequisitionEvent::Approved(RequisitionApproved { by: "wang".into(), automatic: false }),
        RequisitionEvent::Rejected(RequisitionRejected { by: "wang".into(), reason: "too early".into() }),
        RequisitionEvent::Converted(RequisitionConverted {
            purchase_order: PurchaseOrderId(Uuid::from_u128(81)),
        }),
    ];
    (sales, platform, requisitions)
}

/// Every declared type of `E` has a sample; returns (type name, payload hex) for each sample.
fn encode_all<E: DomainEvent + PartialEq + std::fmt::Debug>(samples: &[E]) -> Vec<(String, String)> {
    let sampled: Vec<_> = samples.iter().map(|e| e.name()).collect();
    for declared in E::TYPES {
        assert!(sampled.contains(declared), "no golden sample for {} v{}", declared.name, declared.version);
    }
    samples
        .iter()
        .map(|event| {
            let (event_type, payload) = encode_domain_event(event).unwrap();
            assert_eq!(event_type.version(), event.name().version);
            let back: E = decode_domain_event(&event_type, &payload).unwrap();
            assert_eq!(&back, event, "round trip of {event_type}");
            (event_type.name().to_string(), hex(&payload))
        })
        .collect()
}

#[test]
fn every_event_type_has_a_golden_sample_that_round_trips() {
    let (items, warehouses, partners) = master_samples();
    let (sales, platform, requisitions) = sales_samples();
    let (invoices, receipts) = billing_samples();
    let (purchase_invoices, payments) = purchase_invoice_samples();
    let total = encode_all(&stock_samples()).len()
        + encode_all(&production_samples()).len()
        + encode_all(&replenishment_samples()).len()
        + encode_all(&transfer_samples()).len()
        + encode_all(&return_samples()).len()
        + encode_all(&purchase_invoices).len()
        + encode_all(&payments).len()
        + encode_all(&budget_samples()).len()
        + encode_all(&customer_account_samples()).len()
        + encode_all(&bank_samples()).len()
        + encode_all(&payroll_samples()).len()
        + encode_all(&opening_samples()).len()
        + encode_all(&finance_samples().0).len()
        + encode_all(&finance_samples().1).len()
        + encode_all(&finance_samples().2).len()
        + encode_all(&invoices).len()
        + encode_all(&receipts).len()
        + encode_all(&purchase_order_samples()).len()
        + encode_all(&shipment_samples()).len()
        + encode_all(&sales).len()
        + encode_all(&platform).len()
        + encode_all(&requisitions).len()
        + encode_all(&stocktake_samples()).len()
        + encode_all(&items).len()
        + encode_all(&warehouses).len()
        + encode_all(&partners).len();
    assert_eq!(total, GOLDEN.len(), "every sample has a golden entry and no golden entry is stale");
}

#[test]
fn event_payloads_match_their_golden_bytes() {
    let golden = golden();
    let (items, warehouses, partners) = master_samples();
    let mut all = encode_all(&stock_samples());
    all.extend(encode_all(&production_samples()));
    let (sales, platform, requisitions) = sales_samples();
    all.extend(encode_all(&sales));
    all.extend(encode_all(&platform));
    all.extend(encode_all(&requisitions));
    all.extend(encode_all(&purchase_order_samples()));
    let (purchase_invoices, payments) = purchase_invoice_samples();
    all.extend(encode_all(&purchase_invoices));
    all.extend(encode_all(&payments));
    all.extend(encode_all(&budget_samples()));
    all.extend(encode_all(&customer_account_samples()));
    all.extend(encode_all(&bank_samples()));
    all.extend(encode_all(&payroll_samples()));
    all.extend(encode_all(&opening_samples()));
    let (books, vouchers, journals) = finance_samples();
    all.extend(encode_all(&books));
    all.extend(encode_all(&vouchers));
    all.extend(encode_all(&journals));
    all.extend(encode_all(&shipment_samples()));
    all.extend(encode_all(&replenishment_samples()));
    all.extend(encode_all(&transfer_samples()));
    all.extend(encode_all(&return_samples()));
    let (invoices, receipts) = billing_samples();
    all.extend(encode_all(&invoices));
    all.extend(encode_all(&receipts));
    all.extend(encode_all(&stocktake_samples()));
    all.extend(encode_all(&items));
    all.extend(encode_all(&warehouses));
    all.extend(encode_all(&partners));
    let mut mismatches = Vec::new();
    for (key, got) in all {
        match golden.get(key.as_str()) {
            Some(want) if *want == got => {}
            _ => mismatches.push(format!("(\"{key}\", \"{got}\"),")),
        }
    }
    assert!(mismatches.is_empty(), "payloads differ from their golden bytes:\n{}", mismatches.join("\n"));
}

#[test]
fn an_unknown_event_type_or_trailing_bytes_are_decode_errors() {
    let (event_type, mut payload) = encode_domain_event(&stock_samples()[2]).unwrap();
    let unknown = infra::EventType::new("inventory.StockTeleported", 1).unwrap();
    let err = decode_domain_event::<StockEvent>(&unknown, &payload).unwrap_err();
    assert_eq!(err.code(), "store.decode");
    payload.push(0);
    assert!(decode_domain_event::<StockEvent>(&event_type, &payload).is_err());
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex")).collect()
}

#[test]
fn superseded_versions_decode_from_their_golden_bytes_into_the_current_samples() {
    let (_, vouchers, journals) = finance_samples();
    let openings = opening_samples();
    // v1 stock adjustments and stocktake approvals had no loss treatment: the current samples without it.
    let stock: Vec<StockEvent> = stock_samples()
        .into_iter()
        .map(|e| match e {
            StockEvent::Adjusted(a) => StockEvent::Adjusted(StockAdjusted { loss: None, ..a }),
            other => other,
        })
        .collect();
    // v1 items had no kind: they were goods.
    let items: Vec<ItemEvent> = master_samples()
        .0
        .into_iter()
        .map(|e| match e {
            ItemEvent::Changed(d) => {
                ItemEvent::Changed(ItemDetails { kind: domain::master::ItemKind::Goods, ..d })
            }
            other => other,
        })
        .collect();
    // v1 receipts came without an invoice.
    let orders: Vec<PurchaseOrderEvent> = purchase_order_samples()
        .into_iter()
        .map(|e| match e {
            PurchaseOrderEvent::Received(r) => {
                PurchaseOrderEvent::Received(GoodsReceived { invoice: None, ..r })
            }
            other => other,
        })
        .collect();
    // v1 purchase invoices expensed their price differences.
    let bills: Vec<PurchaseInvoiceEvent> = purchase_invoice_samples()
        .0
        .into_iter()
        .map(|e| match e {
            PurchaseInvoiceEvent::Booked(b) => {
                PurchaseInvoiceEvent::Booked(domain::purchasing::invoice::PurchaseInvoiceBooked {
                    revalues_stock: false,
                    ..b
                })
            }
            other => other,
        })
        .collect();
    let stocktakes: Vec<StocktakeEvent> = stocktake_samples()
        .into_iter()
        .map(|e| match e {
            StocktakeEvent::Approved(a) => {
                StocktakeEvent::Approved(StocktakeApproved { losses: Vec::new(), ..a })
            }
            other => other,
        })
        .collect();
    for (name, version, payload) in GOLDEN_OLD {
        let event_type = infra::EventType::new(name, version).unwrap();
        let bytes = unhex(payload);
        let found = match name {
            "finance.VoucherDrafted" => vouchers.contains(&decode_domain_event(&event_type, &bytes).unwrap()),
            "finance.VoucherPosted" => journals.contains(&decode_domain_event(&event_type, &bytes).unwrap()),
            "finance.OpeningBalancesEntered" => {
                openings.contains(&decode_domain_event(&event_type, &bytes).unwrap())
            }
            "inventory.StockAdjusted" => stock.contains(&decode_domain_event(&event_type, &bytes).unwrap()),
            "purchasing.PurchaseInvoiceBooked" => {
                bills.contains(&decode_domain_event(&event_type, &bytes).unwrap())
            }
            "purchasing.GoodsReceived" => orders.contains(&decode_domain_event(&event_type, &bytes).unwrap()),
            "master.ItemCreated" | "master.ItemChanged" => {
                items.contains(&decode_domain_event(&event_type, &bytes).unwrap())
            }
            "inventory.StocktakeApproved" => {
                stocktakes.contains(&decode_domain_event(&event_type, &bytes).unwrap())
            }
            other => panic!("no current samples for {other}"),
        };
        assert!(found, "{name} v{version} does not upcast to its current sample");
    }
}

//! Purchasing: requisitions (请购) so far; orders, receipts, invoices and payments follow.

pub mod order;
pub mod requisition;

pub use order::{
    GoodsReceived, PoLineInput, PurchaseOrder, PurchaseOrderCommand, PurchaseOrderEvent,
    PurchaseOrderRejection, PurchaseOrderStatus,
};
pub use requisition::{
    PurchaseRequisition, RequisitionCommand, RequisitionEvent, RequisitionRejection, RequisitionStatus,
};

/// The document kind goods receipts carry in stock movements.
pub const GOODS_RECEIPT_DOC: &str = "purchasing.GoodsReceipt";

//! Purchasing: requisitions (请购), purchase orders with their receipts (采购订单, 采购入库), and purchase
//! invoices three-way matched against them (采购发票).

pub mod budget;
pub mod invoice;
pub mod order;
pub mod payment;
pub mod requisition;

pub use budget::{BudgetCommand, BudgetEvent, BudgetRejection, DepartmentBudget};
pub use invoice::{
    OrderLineFacts, PurchaseInvoice, PurchaseInvoiceCommand, PurchaseInvoiceEvent, PurchaseInvoiceLineInput,
    PurchaseInvoiceRejection, PurchaseInvoiceStatus, Tolerances,
};
pub use order::{
    GoodsReceived, PoLineInput, PurchaseOrder, PurchaseOrderCommand, PurchaseOrderEvent,
    PurchaseOrderRejection, PurchaseOrderStatus,
};
pub use payment::{SupplierPayment, SupplierPaymentCommand, SupplierPaymentEvent, SupplierPaymentRejection};
pub use requisition::{
    PurchaseRequisition, RequisitionCommand, RequisitionEvent, RequisitionRejection, RequisitionStatus,
};

/// The document kind goods receipts carry in stock movements.
pub const GOODS_RECEIPT_DOC: &str = "purchasing.GoodsReceipt";

//! Purchasing: requisitions (请购) so far; orders, receipts, invoices and payments follow.

pub mod requisition;

pub use requisition::{
    PurchaseRequisition, RequisitionCommand, RequisitionEvent, RequisitionRejection, RequisitionStatus,
};

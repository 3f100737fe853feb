//! Pure business logic of the ERP.
//!
//! Invariant: nothing here performs I/O, reads a clock or draws a random number. Time and identifiers
//! arrive with the command; the crate depends only on serde, rust_decimal, uuid and thiserror, and a test in
//! `tests/` fails the build if that ever changes.

pub mod aggregate;
pub mod command;
pub mod event;
pub mod finance;
pub mod ids;
pub mod inventory;
pub mod master;
pub mod process;
pub mod production;
pub mod purchasing;
pub mod returns;
pub mod sales;
#[cfg(test)]
pub(crate) mod testing;
pub mod time;
pub mod values;

pub use aggregate::Aggregate;
pub use command::{Caller, CommandMeta, Rejection, Role};
pub use event::{DomainEvent, EventName};
pub use ids::{
    BookId, CommandId, CustomerReceiptId, EventId, GoodsReceiptId, ItemId, PartnerId, ProductionOrderId,
    PurchaseInvoiceId, PurchaseOrderId, RequisitionId, ReservationId, ReturnId, SalesInvoiceId, SalesOrderId,
    ShipmentId, StocktakeId, SupplierPaymentId, TransferId, VoucherId, WarehouseId,
};
pub use time::{Period, Timestamp};

/// For the exported macros (`domain_events!`, `process_input!`), so crates using them need not name
/// serde themselves.
#[doc(hidden)]
pub use serde as __serde;

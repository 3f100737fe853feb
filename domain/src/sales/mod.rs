//! Sales: orders from every channel, and the claim that makes a platform's order id count once.

pub mod account;
pub mod invoice;
pub mod order;
pub mod platform;
pub mod receipt;
pub mod routing;
pub mod shipment;

pub use order::{
    Channel, CreditFacts, OrderLine, OrderLineInput, SalesOrder, SalesOrderCommand, SalesOrderEvent,
    SalesOrderRejection, SalesOrderStatus,
};
pub use platform::{PlatformOrder, PlatformOrderCommand, PlatformOrderEvent, PlatformOrderRejection};

pub use account::{CustomerAccount, CustomerAccountCommand, CustomerAccountEvent, customer_account_stream};
pub use invoice::{
    InvoiceLineInput, SalesInvoice, SalesInvoiceCommand, SalesInvoiceEvent, SalesInvoiceRejection,
};
pub use receipt::{Allocation, CustomerReceipt, CustomerReceiptCommand, CustomerReceiptEvent, OpenInvoice};
pub use shipment::{
    Shipment, ShipmentCommand, ShipmentEvent, ShipmentLineInput, ShipmentRejection, ShipmentStatus,
};

/// The document kind shipment lines carry in stock movements.
pub const SHIPMENT_DOC: &str = "sales.Shipment";

/// The document kind sales-order lines carry in stock movements and requisitions.
pub const SALES_ORDER_DOC: &str = "sales.SalesOrder";

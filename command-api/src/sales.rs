//! Sales commands that span aggregates, by claims instead of transactions.
//!
//! Placing a sales order: the customer, warehouses and items are read from their masters (active or not,
//! the credit limit); an online order then claims its platform order id, so that a second placement of
//! the same platform order answers with the first sales order instead of creating another.
//! Issuing a sales invoice: every shipment it bills is claimed for it first, so a shipment is billed once.
//!
//! Crash-safe in either order of failure: a claim without its document is completed by the retried
//! command (the same document claiming again is a no-op), and the document is only written after its
//! claims; input is validated before anything is claimed.

use domain::master::{Item, Partner, Usable, Warehouse};
use domain::sales::invoice::price_invoice_lines;
use domain::sales::platform::PlatformOrderRejection;
use domain::sales::shipment::ShipmentRejection;
use domain::sales::{
    Channel, CreditFacts, CustomerAccount, PlatformOrder, PlatformOrderCommand, SalesOrder,
    SalesOrderCommand, SalesOrderEvent, SalesOrderRejection, customer_account_stream,
};
use domain::sales::{
    SalesInvoice, SalesInvoiceCommand, SalesInvoiceEvent, SalesInvoiceRejection, Shipment, ShipmentCommand,
};
use domain::{CommandId, CommandMeta, SalesOrderId, WarehouseId};
use infra::{EventStore, StoreError};
use uuid::Uuid;

use crate::bus::{BusError, CommandBus, Executed};

/// The context of a claim made on behalf of `meta`'s command: a command of its own whose id is derived
/// from the document command's id and `name`, so a retried document command repeats the same claim.
fn claim_meta(meta: &CommandMeta, name: &[u8]) -> CommandMeta {
    CommandMeta { command_id: CommandId(Uuid::new_v5(&meta.command_id.0, name)), ..meta.clone() }
}

/// The answer to a placement.
#[derive(Debug)]
pub enum Placement {
    Placed(Executed<SalesOrderEvent>),
    /// The platform order was placed before, as this sales order.
    AlreadyPlaced(SalesOrderId),
}

/// Completes a placement with the facts its rules need, read from the masters (ADR 0008): whether the
/// customer (a partner with the customer role), every warehouse and every item are active, and the
/// customer's credit limit, and what the customer owes from their account.
async fn with_master_facts<S: EventStore>(
    bus: &CommandBus<S>,
    book: domain::BookId,
    command: &SalesOrderCommand,
) -> Result<SalesOrderCommand, StoreError> {
    let SalesOrderCommand::Place { customer, warehouse, lines, credit, .. } = command else {
        return Ok(command.clone());
    };
    let partner: Partner = bus.load_in(book, &Partner::stream(*customer)).await?;
    let mut usable =
        partner.is_usable() && partner.details.as_ref().is_some_and(|details| details.roles.customer);
    let mut warehouses: Vec<WarehouseId> =
        lines.iter().map(|line| line.warehouse.unwrap_or(*warehouse)).chain([*warehouse]).collect();
    warehouses.sort();
    warehouses.dedup();
    for id in warehouses {
        let warehouse: Warehouse = bus.load_in(book, &Warehouse::stream(id)).await?;
        usable &= warehouse.is_usable();
    }
    for line in lines {
        let item: Item = bus.load_in(book, &Item::stream(line.item)).await?;
        usable &= item.is_usable();
    }
    // What the customer owes, as their account says (kept by the customer-accounts process manager).
    let open_receivables = bus
        .inspect_in::<CustomerAccount, rust_decimal::Decimal>(
            book,
            &customer_account_stream(*customer),
            |a| a.balance,
        )
        .await?;
    let mut completed = command.clone();
    if let SalesOrderCommand::Place { credit: completed_credit, masters_usable, .. } = &mut completed {
        *masters_usable = usable;
        *completed_credit = CreditFacts {
            limit: partner.details.as_ref().map_or(credit.limit, |details| details.credit_limit),
            open_receivables,
        };
    }
    Ok(completed)
}

/// Places a sales order: the master facts are read first (the caller's `masters_usable` and credit
/// limit are replaced by what the masters say), then an online order claims its platform order id.
pub async fn place_sales_order<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    command: &SalesOrderCommand,
) -> Result<Placement, BusError<SalesOrderRejection>> {
    let command = &with_master_facts(bus, meta.book, command).await?;
    if let SalesOrderCommand::Place { id, channel: Channel::Online { platform, platform_order_id }, .. } =
        command
    {
        // Decided against a new order first: a placement its own rules refuse (unusable masters, credit,
        // bad lines) must not leave its platform order id claimed by an order that never was, or the
        // corrected order would be answered "already placed" with the refused one's id. (An order that
        // exists already is the claim's retry, answered below.)
        if let Err(rejection) = domain::Aggregate::decide(&SalesOrder::default(), command, meta) {
            return Err(BusError::Rejected(rejection));
        }
        // The claim is the book's: another book may sell the same platform order id (ADR 0014).
        let claim = PlatformOrderCommand::Claim {
            book: meta.book,
            platform: platform.clone(),
            platform_order_id: platform_order_id.clone(),
            order: *id,
        };
        let claim_meta = claim_meta(meta, b"platform-claim");
        match bus.execute::<PlatformOrder>(&claim_meta, &claim).await {
            Ok(_) => {}
            Err(BusError::Rejected(PlatformOrderRejection::AlreadyPlaced(first))) => {
                return Ok(Placement::AlreadyPlaced(first));
            }
            Err(BusError::Rejected(PlatformOrderRejection::Invalid)) => {
                return Err(BusError::Rejected(SalesOrderRejection::InvalidPlatformOrder));
            }
            Err(BusError::Conflict { attempts }) => return Err(BusError::Conflict { attempts }),
            Err(BusError::Store(e)) => return Err(BusError::Store(e)),
            Err(BusError::Stale { expected, actual }) => return Err(BusError::Stale { expected, actual }),
            Err(BusError::WrongBook { stream }) => return Err(BusError::WrongBook { stream }),
        }
    }
    bus.execute::<SalesOrder>(meta, command).await.map(Placement::Placed)
}

/// Why an invoice was not issued: the invoice's own rules, or a shipment that cannot be billed by it.
#[derive(Debug)]
pub enum InvoicingError {
    Invoice(BusError<SalesInvoiceRejection>),
    Shipment(BusError<ShipmentRejection>),
}

impl InvoicingError {
    pub fn code(&self) -> &'static str {
        match self {
            InvoicingError::Invoice(e) => e.code(),
            InvoicingError::Shipment(e) => e.code(),
        }
    }
}

/// Claims every shipment the invoice bills, then issues it.
pub async fn issue_sales_invoice<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    command: &SalesInvoiceCommand,
) -> Result<Executed<SalesInvoiceEvent>, InvoicingError> {
    if let SalesInvoiceCommand::Issue { id, lines, .. } = command {
        price_invoice_lines(lines).map_err(|r| InvoicingError::Invoice(BusError::Rejected(r)))?;
        let mut shipments: Vec<_> = lines.iter().map(|l| l.shipment).collect();
        shipments.sort();
        shipments.dedup();
        for shipment in shipments {
            let claim_meta = claim_meta(meta, shipment.0.as_bytes());
            bus.execute::<Shipment>(
                &claim_meta,
                &ShipmentCommand::ClaimForInvoice { id: shipment, invoice: *id },
            )
            .await
            .map_err(InvoicingError::Shipment)?;
        }
    }
    bus.execute::<SalesInvoice>(meta, command).await.map_err(InvoicingError::Invoice)
}

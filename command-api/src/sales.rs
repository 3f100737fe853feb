//! Sales commands that span aggregates, by claims instead of transactions.
//!
//! Placing a sales order: an online order first claims its platform order id, so that a second placement
//! of the same platform order answers with the first sales order instead of creating another.
//! Issuing a sales invoice: every shipment it bills is claimed for it first, so a shipment is billed once.
//!
//! Crash-safe in either order of failure: a claim without its document is completed by the retried
//! command (the same document claiming again is a no-op), and the document is only written after its
//! claims; input is validated before anything is claimed.

use domain::sales::invoice::price_invoice_lines;
use domain::sales::platform::PlatformOrderRejection;
use domain::sales::shipment::ShipmentRejection;
use domain::sales::{
    Channel, PlatformOrder, PlatformOrderCommand, SalesOrder, SalesOrderCommand, SalesOrderEvent,
    SalesOrderRejection,
};
use domain::sales::{
    SalesInvoice, SalesInvoiceCommand, SalesInvoiceEvent, SalesInvoiceRejection, Shipment, ShipmentCommand,
};
use domain::{CommandId, CommandMeta, SalesOrderId};
use infra::EventStore;
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

pub async fn place_sales_order<S: EventStore>(
    bus: &CommandBus<S>,
    meta: &CommandMeta,
    command: &SalesOrderCommand,
) -> Result<Placement, BusError<SalesOrderRejection>> {
    if let SalesOrderCommand::Place { id, channel: Channel::Online { platform, platform_order_id }, .. } =
        command
    {
        let claim = PlatformOrderCommand::Claim {
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

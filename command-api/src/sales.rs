//! Placing a sales order: an online order first claims its platform order id, so that a second
//! placement of the same platform order answers with the first sales order instead of creating another.
//!
//! Crash-safe in either order of failure: a claim without its order is completed by the retried
//! placement (the same order claiming again is a no-op), and the order is only placed after its claim.

use domain::sales::platform::PlatformOrderRejection;
use domain::sales::{
    Channel, PlatformOrder, PlatformOrderCommand, SalesOrder, SalesOrderCommand, SalesOrderEvent,
    SalesOrderRejection,
};
use domain::{CommandId, CommandMeta, SalesOrderId};
use infra::EventStore;
use uuid::Uuid;

use crate::bus::{BusError, CommandBus, Executed};

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
        // The claim is its own command: its id is derived from the placement's.
        let claim_meta = CommandMeta {
            command_id: CommandId(Uuid::new_v5(&meta.command_id.0, b"platform-claim")),
            ..meta.clone()
        };
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

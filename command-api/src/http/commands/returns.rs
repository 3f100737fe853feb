//! Returns (退货): goods back from a customer against a shipment, or back to a supplier against a
//! purchase order, and the goods moving.

use domain::returns::{Return, ReturnCommand};
use domain::{ReturnId, ShipmentId};

use super::*;
use crate::returns::ReturnDraft;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReturnedLine {
    /// The document's line (0-based): a shipment line, or a purchase order line.
    #[serde(deserialize_with = "whole")]
    pub line: u32,
    pub qty: Decimal,
}

fn returned(lines: Vec<ReturnedLine>) -> Result<Vec<(u32, Quantity)>, Problem> {
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.into_iter().enumerate() {
        out.push((l.line, qty(&format!("lines[{i}].qty"), l.qty)?));
    }
    Ok(out)
}

/// Goods a customer sends back (销售退货) against a shipment: each line at the price it was sold at and
/// back into stock at the cost it left with, once the return is completed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCustomerReturn {
    #[schemars(with = "Uuid")]
    pub id: ReturnId,
    #[schemars(with = "Uuid")]
    pub customer: PartnerId,
    #[schemars(with = "Uuid")]
    pub shipment: ShipmentId,
    pub lines: Vec<ReturnedLine>,
    pub reason: String,
    /// Where the goods go back into, when not the warehouse they shipped from.
    #[schemars(with = "Option<Uuid>")]
    pub warehouse: Option<WarehouseId>,
}

impl HttpCommand for CreateCustomerReturn {
    const NAME: &'static str = "create-customer-return";
    const SUMMARY: &'static str = "Records goods a customer returns against a shipment.";
    const ROLES: &'static [Role] = &[Role::Sales, Role::Warehouse];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let draft = ReturnDraft {
            id: self.id,
            lines: returned(self.lines)?,
            reason: self.reason,
            warehouse: self.warehouse,
        };
        let settings = purchasing_settings(&ctx).await?;
        let executed = crate::returns::create_customer_return(
            &ctx.bus,
            &ctx.meta,
            self.customer,
            self.shipment,
            &draft,
            &settings,
        )
        .await
        .map_err(bus_problem)?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, return_stream(self.id), executed))
    }
}

fn return_stream(id: ReturnId) -> String {
    Return::stream_id(&ReturnCommand::Complete { id })
}

/// Goods going back to the supplier of a purchase order (采购退货), at the order's prices; they leave
/// stock at the stock's own cost once the return is completed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateSupplierReturn {
    #[schemars(with = "Uuid")]
    pub id: ReturnId,
    #[schemars(with = "Uuid")]
    pub order: PurchaseOrderId,
    pub lines: Vec<ReturnedLine>,
    pub reason: String,
    /// Where the goods leave from, when not the order's warehouse.
    #[schemars(with = "Option<Uuid>")]
    pub warehouse: Option<WarehouseId>,
}

impl HttpCommand for CreateSupplierReturn {
    const NAME: &'static str = "create-supplier-return";
    const SUMMARY: &'static str = "Records goods going back to a supplier against a purchase order.";
    const ROLES: &'static [Role] = &[Role::Purchasing, Role::Warehouse];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let draft = ReturnDraft {
            id: self.id,
            lines: returned(self.lines)?,
            reason: self.reason,
            warehouse: self.warehouse,
        };
        let settings = purchasing_settings(&ctx).await?;
        let executed =
            crate::returns::create_supplier_return(&ctx.bus, &ctx.meta, self.order, &draft, &settings)
                .await
                .map_err(bus_problem)?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, return_stream(self.id), executed))
    }
}

/// The returned goods moved (received from the customer, or shipped to the supplier): stock follows
/// automatically.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteReturn {
    #[schemars(with = "Uuid")]
    pub id: ReturnId,
}

impl HttpCommand for CompleteReturn {
    const NAME: &'static str = "complete-return";
    const SUMMARY: &'static str = "Records that returned goods moved; stock follows.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<Return, S>(Self::NAME, &ctx, ReturnCommand::Complete { id: self.id }).await
    }
}

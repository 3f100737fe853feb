//! Order to cash: sales orders, shipments, invoices and customer receipts.

use domain::process::order_fulfilment::line_reservation;
use domain::sales::{
    Allocation, Channel, CreditFacts, CustomerReceipt, CustomerReceiptCommand, InvoiceLineInput,
    OrderLineInput, SalesInvoiceCommand, SalesOrderCommand, Shipment, ShipmentCommand, ShipmentLineInput,
};
use domain::{CustomerReceiptId, SalesInvoiceId, SalesOrderId, ShipmentId};

use super::*;
use crate::sales::{InvoicingError, Placement};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "kind", deny_unknown_fields)]
pub enum ChannelIn {
    /// A business customer on account: the credit limit applies.
    Direct,
    /// A physical shop.
    Store { store: String },
    /// An online platform (taobao, douyin, pinduoduo, wechat ...): its order id makes placing idempotent.
    #[serde(rename_all = "camelCase")]
    Online {
        #[schemars(regex(pattern = PLATFORM_PATTERN))]
        platform: String,
        #[schemars(regex(pattern = PLATFORM_ORDER_PATTERN))]
        platform_order_id: String,
    },
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SalesLineIn {
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    pub qty: Decimal,
    /// Net unit price (before VAT).
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
    /// Where the line ships from, when not the order's warehouse.
    #[schemars(with = "Option<Uuid>")]
    pub warehouse: Option<WarehouseId>,
}

/// A sales order (销售订单). Customer, items and warehouses must be active masters; the customer's
/// credit limit is checked against what they owe.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlaceSalesOrder {
    #[schemars(with = "Uuid")]
    pub id: SalesOrderId,
    #[schemars(with = "Uuid")]
    pub customer: PartnerId,
    pub channel: ChannelIn,
    #[schemars(with = "Uuid")]
    pub warehouse: WarehouseId,
    pub lines: Vec<SalesLineIn>,
}

impl HttpCommand for PlaceSalesOrder {
    const NAME: &'static str = "place-sales-order";
    const SUMMARY: &'static str = "Places a sales order; stock is reserved for it automatically.";
    const ROLES: &'static [Role] = &[Role::Sales];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push(OrderLineInput {
                item: l.item,
                qty: qty(&format!("lines[{i}].qty"), l.qty)?,
                unit_price: price(&format!("lines[{i}].unitPrice"), l.unit_price)?,
                vat_rate: l.vat_rate,
                default_supplier: None,
                warehouse: l.warehouse,
            });
        }
        let command = SalesOrderCommand::Place {
            id: self.id,
            customer: self.customer,
            channel: match self.channel {
                ChannelIn::Direct => Channel::Direct,
                ChannelIn::Store { store } => Channel::Store { store },
                ChannelIn::Online { platform, platform_order_id } => {
                    let slug = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
                    check("channel.platform", &platform, PLATFORM_PATTERN, slug, 32)?;
                    let id = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
                    check("channel.platformOrderId", &platform_order_id, PLATFORM_ORDER_PATTERN, id, 64)?;
                    Channel::Online { platform, platform_order_id }
                }
            },
            warehouse: self.warehouse,
            lines,
            // Read from the masters and the customer's account by the service.
            credit: CreditFacts { limit: Decimal::ZERO, open_receivables: Decimal::ZERO },
            masters_usable: false,
        };
        let stream = domain::sales::SalesOrder::stream_id(&command);
        match crate::sales::place_sales_order(&ctx.bus, &ctx.meta, &command).await.map_err(bus_problem)? {
            Placement::Placed(executed) => Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed)),
            Placement::AlreadyPlaced(first) => Err(Problem::new(
                axum::http::StatusCode::CONFLICT,
                "sales_order.platform_order_placed",
                format!("this platform order was placed before, as sales order {}", first.0),
            )),
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShipmentLineIn {
    /// The order line shipped (0-based).
    #[serde(deserialize_with = "whole")]
    pub order_line: u32,
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    pub qty: Decimal,
}

/// A shipment (发货单) of a sales order's lines from one warehouse, taking the stock reserved for them.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateShipment {
    #[schemars(with = "Uuid")]
    pub id: ShipmentId,
    #[schemars(with = "Uuid")]
    pub order: SalesOrderId,
    #[schemars(with = "Uuid")]
    pub warehouse: WarehouseId,
    pub lines: Vec<ShipmentLineIn>,
}

impl HttpCommand for CreateShipment {
    const NAME: &'static str = "create-shipment";
    const SUMMARY: &'static str = "Creates a shipment for lines of a sales order.";
    const ROLES: &'static [Role] = &[Role::Warehouse, Role::Sales];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push(ShipmentLineInput {
                order_line: l.order_line,
                item: l.item,
                qty: qty(&format!("lines[{i}].qty"), l.qty)?,
                reservation: Some(line_reservation(self.order, l.order_line)),
            });
        }
        let create =
            ShipmentCommand::Create { id: self.id, order: self.order, warehouse: self.warehouse, lines };
        run::<Shipment, S>(Self::NAME, &ctx, create).await
    }
}

/// What was picked for each shipment line, in line order (less ships partially, zero skips a line).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PickShipment {
    #[schemars(with = "Uuid")]
    pub id: ShipmentId,
    pub picked: Vec<Decimal>,
}

impl HttpCommand for PickShipment {
    const NAME: &'static str = "pick-shipment";
    const SUMMARY: &'static str = "Records what was picked for a shipment.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<Shipment, S>(Self::NAME, &ctx, ShipmentCommand::Pick { id: self.id, picked: self.picked }).await
    }
}

/// The goods left the warehouse: stock is issued and costed automatically.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShipShipment {
    #[schemars(with = "Uuid")]
    pub id: ShipmentId,
}

impl HttpCommand for ShipShipment {
    const NAME: &'static str = "ship-shipment";
    const SUMMARY: &'static str = "Ships a picked shipment.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<Shipment, S>(Self::NAME, &ctx, ShipmentCommand::Ship { id: self.id }).await
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvoiceLineIn {
    #[schemars(with = "Uuid")]
    pub shipment: ShipmentId,
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    pub qty: Decimal,
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
}

/// A sales invoice (销售发票) billing shipped goods; each shipment is billed once.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssueSalesInvoice {
    #[schemars(with = "Uuid")]
    pub id: SalesInvoiceId,
    #[schemars(with = "Uuid")]
    pub customer: PartnerId,
    pub lines: Vec<InvoiceLineIn>,
    /// YYYY-MM-DD.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub due_date: String,
}

impl HttpCommand for IssueSalesInvoice {
    const NAME: &'static str = "issue-sales-invoice";
    const SUMMARY: &'static str = "Issues a sales invoice for shipped goods.";
    const ROLES: &'static [Role] = &[Role::Sales, Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push(InvoiceLineInput {
                shipment: l.shipment,
                item: l.item,
                qty: qty(&format!("lines[{i}].qty"), l.qty)?,
                unit_price: price(&format!("lines[{i}].unitPrice"), l.unit_price)?,
                vat_rate: l.vat_rate,
            });
        }
        let issue = SalesInvoiceCommand::Issue {
            id: self.id,
            customer: self.customer,
            lines,
            due_at: date("dueDate", &self.due_date)?,
            masters_usable: true,
        };
        let stream = domain::sales::SalesInvoice::stream_id(&issue);
        let executed =
            crate::sales::issue_sales_invoice(&ctx.bus, &ctx.meta, &issue).await.map_err(|e| match e {
                InvoicingError::Invoice(e) => Problem::from_bus(&e),
                InvoicingError::Shipment(e) => Problem::from_bus(&e),
            })?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvoiceAmount {
    #[schemars(with = "Uuid")]
    pub invoice: SalesInvoiceId,
    pub amount: Decimal,
}

/// Money received from a customer (收款单), applied to the invoices named; what is left is kept as an
/// advance (预收款).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordCustomerReceipt {
    #[schemars(with = "Uuid")]
    pub id: CustomerReceiptId,
    #[schemars(with = "Uuid")]
    pub customer: PartnerId,
    pub amount: Decimal,
    #[serde(default)]
    pub invoices: Vec<InvoiceAmount>,
}

impl HttpCommand for RecordCustomerReceipt {
    const NAME: &'static str = "record-customer-receipt";
    const SUMMARY: &'static str = "Records money received from a customer against invoices.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let allocation = invoice_amounts(self.invoices.into_iter().map(|a| (a.invoice, a.amount)))?;
        let record = CustomerReceiptCommand::Record {
            id: self.id,
            customer: self.customer,
            amount: money("amount", self.amount)?,
            allocation: Allocation::Explicit(allocation),
        };
        run::<CustomerReceipt, S>(Self::NAME, &ctx, record).await
    }
}

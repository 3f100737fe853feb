//! Procure to pay: requisitions, department budgets, purchase orders (placed, approved, amended,
//! cancelled, closed), receipts, supplier and freight invoices, payments.

use domain::inventory::DocRef;
use domain::purchasing::{
    BudgetCommand, DepartmentBudget, PurchaseInvoice, PurchaseInvoiceCommand, PurchaseOrder,
    PurchaseOrderCommand, PurchaseRequisition, RequisitionCommand, SupplierPayment, SupplierPaymentCommand,
};
use domain::values::Code;
use domain::{GoodsReceiptId, PurchaseInvoiceId, RequisitionId, SupplierPaymentId};

use super::*;
use crate::purchasing::{OrderLineDraft, PurchaseOrderDraft};

/// The document kind of a requisition a person raised (its own source).
const REQUISITION_DOC: &str = "purchasing.PurchaseRequisition";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PurchaseLineIn {
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    pub qty: Decimal,
    /// Net unit price (before VAT).
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
}

/// A purchase order (采购订单), checked against the masters, stock and the department's budget.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacePurchaseOrder {
    #[schemars(with = "Uuid")]
    pub id: PurchaseOrderId,
    #[schemars(with = "Uuid")]
    pub supplier: PartnerId,
    #[schemars(with = "Uuid")]
    pub warehouse: WarehouseId,
    /// The buying department's code (its budget is checked).
    pub department: String,
    pub lines: Vec<PurchaseLineIn>,
    /// The approved requisition (请购单) this order is placed for, if any; `convert-requisition`
    /// then records the conversion.
    #[schemars(with = "Option<Uuid>")]
    pub requisition: Option<RequisitionId>,
}

impl HttpCommand for PlacePurchaseOrder {
    const NAME: &'static str = "place-purchase-order";
    const SUMMARY: &'static str = "Places a purchase order.";
    const ROLES: &'static [Role] = &[Role::Purchasing];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push(OrderLineDraft {
                item: l.item,
                qty: qty(&format!("lines[{i}].qty"), l.qty)?,
                unit_price: price(&format!("lines[{i}].unitPrice"), l.unit_price)?,
                vat_rate: l.vat_rate,
            });
        }
        let draft = PurchaseOrderDraft {
            id: self.id,
            supplier: self.supplier,
            warehouse: self.warehouse,
            department: self.department,
            lines,
            requisition: self.requisition,
        };
        let settings = purchasing_settings(&ctx).await?;
        let stream = PurchaseOrder::stream(self.id);
        let executed = crate::purchasing::place_purchase_order(&ctx.bus, &ctx.meta, &draft, &settings)
            .await
            .map_err(bus_problem)?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

/// Approves a purchase order (by someone other than its buyer).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovePurchaseOrder {
    #[schemars(with = "Uuid")]
    pub id: PurchaseOrderId,
}

impl HttpCommand for ApprovePurchaseOrder {
    const NAME: &'static str = "approve-purchase-order";
    const SUMMARY: &'static str = "Approves a purchase order.";
    const ROLES: &'static [Role] = &[Role::Purchasing];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<PurchaseOrder, S>(Self::NAME, &ctx, PurchaseOrderCommand::Approve { id: self.id }).await
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceivedLine {
    /// The order line (0-based).
    #[serde(deserialize_with = "whole")]
    pub line: u32,
    pub qty: Decimal,
}

/// Goods arrive against a purchase order (采购入库): stock goes up at the order's price (暂估 until the
/// supplier's invoice comes), automatically.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceiveGoods {
    #[schemars(with = "Uuid")]
    pub order: PurchaseOrderId,
    /// The goods receipt's id (采购入库单).
    #[schemars(with = "Uuid")]
    pub receipt: GoodsReceiptId,
    pub lines: Vec<ReceivedLine>,
    /// One of the warehouse's bins.
    pub bin: Option<String>,
    /// The supplier's lot (批次).
    pub lot: Option<String>,
}

impl HttpCommand for ReceiveGoods {
    const NAME: &'static str = "receive-goods";
    const SUMMARY: &'static str = "Receives goods against a purchase order.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push((l.line, qty(&format!("lines[{i}].qty"), l.qty)?));
        }
        let receive = PurchaseOrderCommand::Receive {
            id: self.order,
            receipt: self.receipt,
            lines,
            bin: self.bin,
            lot: self.lot,
            // No over-receipt until books carry a tolerance of their own.
            tolerance: Decimal::ZERO,
            bin_known: false,
            invoice: None,
        };
        let stream = PurchaseOrder::stream(self.order);
        let executed = crate::purchasing::receive_purchase_order(&ctx.bus, &ctx.meta, &receive)
            .await
            .map_err(bus_problem)?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaidInvoice {
    #[schemars(with = "Uuid")]
    pub invoice: PurchaseInvoiceId,
    pub amount: Decimal,
}

/// A payment to a supplier (付款单) against their invoices.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaySupplier {
    #[schemars(with = "Uuid")]
    pub id: SupplierPaymentId,
    #[schemars(with = "Uuid")]
    pub supplier: PartnerId,
    pub amount: Decimal,
    #[serde(default)]
    pub invoices: Vec<PaidInvoice>,
}

impl HttpCommand for PaySupplier {
    const NAME: &'static str = "pay-supplier";
    const SUMMARY: &'static str = "Records a payment to a supplier against invoices.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let allocations = invoice_amounts(self.invoices.into_iter().map(|a| (a.invoice, a.amount)))?;
        let pay = SupplierPaymentCommand::Pay {
            id: self.id,
            supplier: self.supplier,
            amount: money("amount", self.amount)?,
            allocations,
        };
        run::<SupplierPayment, S>(Self::NAME, &ctx, pay).await
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PurchaseInvoiceLineIn {
    #[schemars(with = "Uuid")]
    pub order: PurchaseOrderId,
    /// The order line (0-based).
    #[serde(deserialize_with = "whole")]
    pub line: u32,
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    pub qty: Decimal,
    /// Net unit price on the invoice.
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
}

/// A supplier's VAT invoice (采购发票), matched against its orders and receipts (three-way match): within
/// tolerance it becomes payable and replaces the estimate (暂估) the receipt was booked at.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterPurchaseInvoice {
    #[schemars(with = "Uuid")]
    pub id: PurchaseInvoiceId,
    #[schemars(with = "Uuid")]
    pub supplier: PartnerId,
    /// The invoice's number (发票号码).
    pub number: String,
    pub lines: Vec<PurchaseInvoiceLineIn>,
}

impl HttpCommand for RegisterPurchaseInvoice {
    const NAME: &'static str = "register-purchase-invoice";
    const SUMMARY: &'static str = "Registers a supplier's invoice against purchase orders and receipts.";
    const ROLES: &'static [Role] = &[Role::Purchasing, Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push(domain::purchasing::PurchaseInvoiceLineInput {
                po: l.order,
                po_line: l.line,
                item: l.item,
                qty: qty(&format!("lines[{i}].qty"), l.qty)?,
                unit_price: price(&format!("lines[{i}].unitPrice"), l.unit_price)?,
                vat_rate: l.vat_rate,
            });
        }
        let stream = domain::purchasing::PurchaseInvoice::stream_id(
            &domain::purchasing::PurchaseInvoiceCommand::ApproveException {
                id: self.id,
                reason: String::new(),
            },
        );
        let executed = crate::purchasing::register_purchase_invoice(
            &ctx.bus,
            &ctx.meta,
            self.id,
            self.supplier,
            self.number,
            lines,
        )
        .await
        .map_err(bus_problem)?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

/// Cancels what is still to come of a purchase order; its budget commitment shrinks to what was
/// received.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelPurchaseOrder {
    #[schemars(with = "Uuid")]
    pub id: PurchaseOrderId,
    pub reason: String,
}

impl HttpCommand for CancelPurchaseOrder {
    const NAME: &'static str = "cancel-purchase-order";
    const SUMMARY: &'static str = "Cancels the rest of a purchase order.";
    const ROLES: &'static [Role] = &[Role::Purchasing];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let settings = purchasing_settings(&ctx).await?;
        let executed = crate::purchasing::cancel_purchase_order_remainder(
            &ctx.bus,
            &ctx.meta,
            self.id,
            &self.reason,
            &settings,
        )
        .await
        .map_err(bus_problem)?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, PurchaseOrder::stream(self.id), executed))
    }
}

/// The lines of a purchase order replaced before anything was received (改单): the checks run again on
/// the new lines, the budget commitment moves to their amount, and the order needs approval again.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AmendPurchaseOrder {
    #[schemars(with = "Uuid")]
    pub id: PurchaseOrderId,
    pub lines: Vec<PurchaseLineIn>,
}

fn order_lines(lines: Vec<PurchaseLineIn>) -> Result<Vec<OrderLineDraft>, Problem> {
    let mut drafts = Vec::with_capacity(lines.len());
    for (i, l) in lines.into_iter().enumerate() {
        drafts.push(OrderLineDraft {
            item: l.item,
            qty: qty(&format!("lines[{i}].qty"), l.qty)?,
            unit_price: price(&format!("lines[{i}].unitPrice"), l.unit_price)?,
            vat_rate: l.vat_rate,
        });
    }
    Ok(drafts)
}

impl HttpCommand for AmendPurchaseOrder {
    const NAME: &'static str = "amend-purchase-order";
    const SUMMARY: &'static str = "Replaces a purchase order's lines before anything was received.";
    const ROLES: &'static [Role] = &[Role::Purchasing];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let lines = order_lines(self.lines)?;
        let settings = purchasing_settings(&ctx).await?;
        let executed =
            crate::purchasing::amend_purchase_order(&ctx.bus, &ctx.meta, self.id, &lines, &settings)
                .await
                .map_err(bus_problem)?;
        Ok(Accepted::of(Self::NAME, &ctx.meta, PurchaseOrder::stream(self.id), executed))
    }
}

/// Finance accepts an order placed over its department's budget (超预算审批); a buyer approves it after.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovePurchaseOrderBudget {
    #[schemars(with = "Uuid")]
    pub id: PurchaseOrderId,
}

impl HttpCommand for ApprovePurchaseOrderBudget {
    const NAME: &'static str = "approve-purchase-order-budget";
    const SUMMARY: &'static str = "Accepts a purchase order placed over its department's budget.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<PurchaseOrder, S>(Self::NAME, &ctx, PurchaseOrderCommand::ApproveBudget { id: self.id }).await
    }
}

/// Closes a purchase order with nothing outstanding: every line received or cancelled.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClosePurchaseOrder {
    #[schemars(with = "Uuid")]
    pub id: PurchaseOrderId,
}

impl HttpCommand for ClosePurchaseOrder {
    const NAME: &'static str = "close-purchase-order";
    const SUMMARY: &'static str = "Closes a purchase order with nothing outstanding.";
    const ROLES: &'static [Role] = &[Role::Purchasing];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<PurchaseOrder, S>(Self::NAME, &ctx, PurchaseOrderCommand::Close { id: self.id }).await
    }
}

/// A department's purchasing budget for a month (部门采购预算), set or changed by finance; orders commit
/// against it as they are placed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetDepartmentBudget {
    /// The department's code, as purchase orders name it.
    #[schemars(regex(pattern = DEPARTMENT_PATTERN))]
    pub department: String,
    /// YYYY-MM.
    #[schemars(regex(pattern = MONTH_PATTERN))]
    pub period: String,
    /// Net of VAT.
    pub amount: Decimal,
}

impl HttpCommand for SetDepartmentBudget {
    const NAME: &'static str = "set-department-budget";
    const SUMMARY: &'static str = "Sets a department's purchasing budget for a month.";
    const ROLES: &'static [Role] = &[Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let code = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        check("department", &self.department, DEPARTMENT_PATTERN, code, 32)?;
        let department = Code::new("department", &self.department)
            .map_err(|e| Problem::bad_request(e.code(), format!("department: {e}")))?;
        let set = BudgetCommand::Set {
            book: ctx.meta.book,
            department,
            period: period("period", &self.period)?,
            amount: money("amount", self.amount)?,
        };
        run::<DepartmentBudget, S>(Self::NAME, &ctx, set).await
    }
}

/// A carrier's freight invoice (运费发票) for a purchase order's goods, booked as the book chose: a
/// selling expense, or capitalized into the goods' cost.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterPurchaseFreight {
    #[schemars(with = "Uuid")]
    pub id: PurchaseInvoiceId,
    #[schemars(with = "Uuid")]
    pub carrier: PartnerId,
    /// The invoice's number (发票号码).
    pub number: String,
    #[schemars(with = "Uuid")]
    pub order: PurchaseOrderId,
    pub amount_net: Decimal,
    /// VAT rate as a fraction: "0.09" for transport services.
    pub vat_rate: Decimal,
}

impl HttpCommand for RegisterPurchaseFreight {
    const NAME: &'static str = "register-purchase-freight";
    const SUMMARY: &'static str = "Registers a carrier's freight invoice for a purchase order.";
    const ROLES: &'static [Role] = &[Role::Purchasing, Role::Finance];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let executed = crate::purchasing::register_purchase_freight(
            &ctx.bus,
            &ctx.meta,
            self.id,
            self.carrier,
            &self.number,
            self.order,
            money("amountNet", self.amount_net)?,
            self.vat_rate,
        )
        .await
        .map_err(bus_problem)?;
        let stream = PurchaseInvoice::stream_id(&PurchaseInvoiceCommand::ApproveException {
            id: self.id,
            reason: String::new(),
        });
        Ok(Accepted::of(Self::NAME, &ctx.meta, stream, executed))
    }
}

// ---------------------------------------------------------------------------------------------------
// Requisitions

/// A purchase requisition (请购单): someone needs `qty` of an item, from a supplier if they know one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DraftRequisition {
    #[schemars(with = "Uuid")]
    pub id: RequisitionId,
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    pub qty: Decimal,
    #[schemars(with = "Option<Uuid>")]
    pub supplier: Option<PartnerId>,
}

impl HttpCommand for DraftRequisition {
    const NAME: &'static str = "draft-requisition";
    const SUMMARY: &'static str = "Drafts a purchase requisition.";
    const ROLES: &'static [Role] = &[Role::Purchasing, Role::Warehouse, Role::Sales];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let draft = RequisitionCommand::Draft {
            id: self.id,
            item: self.item,
            qty: qty("qty", self.qty)?,
            supplier: self.supplier,
            // Raised by a person: the requisition is its own source.
            source: DocRef { kind: REQUISITION_DOC.into(), id: self.id.0, line: None },
        };
        run::<PurchaseRequisition, S>(Self::NAME, &ctx, draft).await
    }
}

/// Submits a drafted requisition with the unit price the requester expects: within the approval
/// threshold it is approved at once, above it a buyer other than the requester approves it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitRequisition {
    #[schemars(with = "Uuid")]
    pub id: RequisitionId,
    /// Net, per unit.
    pub expected_unit_price: Decimal,
}

impl HttpCommand for SubmitRequisition {
    const NAME: &'static str = "submit-requisition";
    const SUMMARY: &'static str = "Submits a purchase requisition for approval.";
    const ROLES: &'static [Role] = &[Role::Purchasing, Role::Warehouse, Role::Sales];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let unit_price = price("expectedUnitPrice", self.expected_unit_price)?;
        let submit = crate::purchasing::requisition_submission(&ctx.bus, ctx.meta.book, self.id, unit_price)
            .await
            .map_err(|e| Problem::from_store(&e))?;
        run::<PurchaseRequisition, S>(Self::NAME, &ctx, submit).await
    }
}

/// A buyer, not the requester, approves a submitted requisition.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApproveRequisition {
    #[schemars(with = "Uuid")]
    pub id: RequisitionId,
}

impl HttpCommand for ApproveRequisition {
    const NAME: &'static str = "approve-requisition";
    const SUMMARY: &'static str = "Approves a submitted purchase requisition.";
    const ROLES: &'static [Role] = &[Role::Purchasing];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<PurchaseRequisition, S>(Self::NAME, &ctx, RequisitionCommand::Approve { id: self.id }).await
    }
}

/// A buyer, not the requester, rejects a submitted requisition, saying why.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RejectRequisition {
    #[schemars(with = "Uuid")]
    pub id: RequisitionId,
    pub reason: String,
}

impl HttpCommand for RejectRequisition {
    const NAME: &'static str = "reject-requisition";
    const SUMMARY: &'static str = "Rejects a submitted purchase requisition.";
    const ROLES: &'static [Role] = &[Role::Purchasing];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let reject = RequisitionCommand::Reject { id: self.id, reason: self.reason };
        run::<PurchaseRequisition, S>(Self::NAME, &ctx, reject).await
    }
}

/// Records the purchase order an approved requisition became (转采购订单).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConvertRequisition {
    #[schemars(with = "Uuid")]
    pub id: RequisitionId,
    #[schemars(with = "Uuid")]
    pub purchase_order: PurchaseOrderId,
}

impl HttpCommand for ConvertRequisition {
    const NAME: &'static str = "convert-requisition";
    const SUMMARY: &'static str = "Records the purchase order an approved requisition became.";
    const ROLES: &'static [Role] = &[Role::Purchasing];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let convert =
            crate::purchasing::requisition_conversion(&ctx.bus, ctx.meta.book, self.id, self.purchase_order)
                .await
                .map_err(|e| Problem::from_store(&e))?;
        run::<PurchaseRequisition, S>(Self::NAME, &ctx, convert).await
    }
}

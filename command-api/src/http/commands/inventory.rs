//! Stock: transfers between warehouses, stocktakes, a stock item's policy (its safety stock, below
//! which it is reported for replenishment), and the replenishment suggestions that raises, taken up
//! or dismissed.

use domain::inventory::{
    LossTreatment, Replenishment, ReplenishmentCommand, StockItem, StockKey, StockTransfer, Stocktake,
    StocktakeCommand, StocktakeLoss, TransferCommand,
};
use domain::{RequisitionId, StocktakeId, TransferId};

use super::*;
use crate::inventory::TransferDraft;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferLineIn {
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    pub qty: Decimal,
}

/// A transfer (调拨单) of goods from one warehouse to another. Dispatching takes them out of the sending
/// stock into transit, at their cost and lots; receiving puts them into the other.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTransfer {
    #[schemars(with = "Uuid")]
    pub id: TransferId,
    #[schemars(with = "Uuid")]
    pub from: WarehouseId,
    #[schemars(with = "Uuid")]
    pub to: WarehouseId,
    pub lines: Vec<TransferLineIn>,
}

impl HttpCommand for CreateTransfer {
    const NAME: &'static str = "create-transfer";
    const SUMMARY: &'static str = "Creates a transfer of goods between two warehouses.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, l) in self.lines.into_iter().enumerate() {
            lines.push((l.item, qty(&format!("lines[{i}].qty"), l.qty)?));
        }
        let draft = TransferDraft { id: self.id, from: self.from, to: self.to, lines };
        let settings = purchasing_settings(&ctx).await?;
        let create = crate::inventory::transfer_command(&ctx.bus, ctx.meta.book, &draft, &settings)
            .await
            .map_err(|e| Problem::from_store(&e))?;
        run::<StockTransfer, S>(Self::NAME, &ctx, create).await
    }
}

/// The goods of a transfer left the sending warehouse.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DispatchTransfer {
    #[schemars(with = "Uuid")]
    pub id: TransferId,
}

impl HttpCommand for DispatchTransfer {
    const NAME: &'static str = "dispatch-transfer";
    const SUMMARY: &'static str = "Dispatches a transfer: its goods go into transit.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<StockTransfer, S>(Self::NAME, &ctx, TransferCommand::Dispatch { id: self.id }).await
    }
}

/// The goods of a transfer in transit arrived at the receiving warehouse.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceiveTransfer {
    #[schemars(with = "Uuid")]
    pub id: TransferId,
}

impl HttpCommand for ReceiveTransfer {
    const NAME: &'static str = "receive-transfer";
    const SUMMARY: &'static str = "Receives a transfer in transit at the receiving warehouse.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<StockTransfer, S>(Self::NAME, &ctx, TransferCommand::Receive { id: self.id }).await
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StocktakeItemIn {
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    /// The unit cost of a gain, for an item the warehouse has never held (it has no cost yet).
    pub unit_cost: Option<Decimal>,
}

/// Opens a stocktake (盘点单) of items in a warehouse: the books' quantity of each is read as it opens.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenStocktake {
    #[schemars(with = "Uuid")]
    pub id: StocktakeId,
    #[schemars(with = "Uuid")]
    pub warehouse: WarehouseId,
    pub items: Vec<StocktakeItemIn>,
}

impl HttpCommand for OpenStocktake {
    const NAME: &'static str = "open-stocktake";
    const SUMMARY: &'static str = "Opens a stocktake of items in a warehouse.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut items = Vec::with_capacity(self.items.len());
        for (i, l) in self.items.into_iter().enumerate() {
            let unit_cost = l.unit_cost.map(|c| price(&format!("items[{i}].unitCost"), c)).transpose()?;
            items.push((l.item, unit_cost));
        }
        let settings = purchasing_settings(&ctx).await?;
        let open = crate::inventory::stocktake_command(
            &ctx.bus,
            ctx.meta.book,
            self.id,
            self.warehouse,
            &items,
            &settings,
        )
        .await
        .map_err(bus_problem)?;
        run::<Stocktake, S>(Self::NAME, &ctx, open).await
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CountIn {
    /// The stocktake's line (0-based, in the order the items were listed).
    #[serde(deserialize_with = "whole")]
    pub line: u32,
    /// What was counted (zero when none was found).
    pub counted: Decimal,
}

/// Counts of a stocktake's lines, recorded all or none (a line counted again takes the later count).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CountStocktake {
    #[schemars(with = "Uuid")]
    pub id: StocktakeId,
    #[schemars(length(min = 1, max = domain::inventory::stocktake::STOCKTAKE_LINES_MAX))]
    pub counts: Vec<CountIn>,
}

/// A count or a stock level: zero, or a quantity (positive, at most four decimals).
fn counted(what: &str, value: Decimal) -> Result<Decimal, Problem> {
    if value.is_zero() {
        Ok(Decimal::ZERO)
    } else if value.is_sign_negative() {
        Err(Problem::bad_request("value.negative", format!("{what} must not be negative, got {value}")))
    } else {
        qty(what, value).map(Quantity::get)
    }
}

impl HttpCommand for CountStocktake {
    const NAME: &'static str = "count-stocktake";
    const SUMMARY: &'static str = "Records counts of a stocktake's lines.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        if self.counts.is_empty() || self.counts.len() > domain::inventory::stocktake::STOCKTAKE_LINES_MAX {
            return Err(Problem::bad_request(
                "input.invalid",
                format!(
                    "counts: 1 to {} per request, got {}",
                    domain::inventory::stocktake::STOCKTAKE_LINES_MAX,
                    self.counts.len()
                ),
            ));
        }
        let mut counts = Vec::with_capacity(self.counts.len());
        for (i, c) in self.counts.into_iter().enumerate() {
            counts.push((c.line, counted(&format!("counts[{i}].counted"), c.counted)?));
        }
        let done = crate::inventory::record_counts(&ctx.bus, &ctx.meta, self.id, &counts)
            .await
            .map_err(bus_problem)?;
        let stream = Stocktake::stream_id(&StocktakeCommand::Submit { id: self.id });
        Ok(Accepted::of_all(Self::NAME, &ctx.meta, stream, done))
    }
}

/// Submits a counted stocktake: its differences from the books are fixed for approval.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitStocktake {
    #[schemars(with = "Uuid")]
    pub id: StocktakeId,
}

impl HttpCommand for SubmitStocktake {
    const NAME: &'static str = "submit-stocktake";
    const SUMMARY: &'static str = "Submits a counted stocktake for approval.";
    const ROLES: &'static [Role] = &[Role::Warehouse];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<Stocktake, S>(Self::NAME, &ctx, StocktakeCommand::Submit { id: self.id }).await
    }
}

/// How a loss line is settled, when not as a normal loss.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LossIn {
    #[serde(deserialize_with = "whole")]
    pub line: u32,
    /// An abnormal loss (非正常损失: theft, mismanagement) gives back the input VAT at this rate.
    pub abnormal_vat_rate: Option<Decimal>,
    /// What someone owes for it (赔偿), in yuan.
    #[serde(default)]
    pub compensation: Decimal,
    /// Who owes the compensation: a person or an insurer.
    pub liable: Option<String>,
}

/// Approves a submitted stocktake (by someone other than its submitter): stock is adjusted line by
/// line automatically.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApproveStocktake {
    #[schemars(with = "Uuid")]
    pub id: StocktakeId,
    #[serde(default)]
    pub losses: Vec<LossIn>,
}

impl HttpCommand for ApproveStocktake {
    const NAME: &'static str = "approve-stocktake";
    const SUMMARY: &'static str = "Approves a submitted stocktake; stock is adjusted.";
    const ROLES: &'static [Role] = &[Role::Warehouse, Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let mut losses = Vec::with_capacity(self.losses.len());
        for (i, l) in self.losses.into_iter().enumerate() {
            losses.push(StocktakeLoss {
                line: l.line,
                treatment: LossTreatment {
                    abnormal_vat_rate: l.abnormal_vat_rate,
                    compensation: money(&format!("losses[{i}].compensation"), l.compensation)?,
                    liable: l.liable,
                },
            });
        }
        run::<Stocktake, S>(Self::NAME, &ctx, StocktakeCommand::Approve { id: self.id, losses }).await
    }
}

/// Rejects a submitted stocktake (by someone other than its submitter), saying why; nothing is adjusted.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RejectStocktake {
    #[schemars(with = "Uuid")]
    pub id: StocktakeId,
    pub reason: String,
}

impl HttpCommand for RejectStocktake {
    const NAME: &'static str = "reject-stocktake";
    const SUMMARY: &'static str = "Rejects a submitted stocktake.";
    const ROLES: &'static [Role] = &[Role::Warehouse, Role::Finance];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        run::<Stocktake, S>(Self::NAME, &ctx, StocktakeCommand::Reject { id: self.id, reason: self.reason })
            .await
    }
}

/// A stock item's safety stock (安全库存): falling below it raises a stock alert and puts the item on
/// the replenishment list. The costing method stays; negative stock is the book's setting.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetStockPolicy {
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    #[schemars(with = "Uuid")]
    pub warehouse: WarehouseId,
    pub safety_stock: Decimal,
}

impl HttpCommand for SetStockPolicy {
    const NAME: &'static str = "set-stock-policy";
    const SUMMARY: &'static str = "Sets a stock item's safety stock.";
    const ROLES: &'static [Role] = &[Role::Warehouse, Role::Purchasing];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let safety_stock = counted("safetyStock", self.safety_stock)?;
        let settings = purchasing_settings(&ctx).await?;
        let key = StockKey { item: self.item, warehouse: self.warehouse };
        let change =
            crate::inventory::stock_policy_command(&ctx.bus, ctx.meta.book, key, safety_stock, &settings)
                .await
                .map_err(|e| Problem::from_store(&e))?;
        run::<StockItem, S>(Self::NAME, &ctx, change).await
    }
}

/// A replenishment suggestion (补货建议) taken up: the buyer drafted a requisition for the item, and
/// the suggestion closes with it. The requisition must name the suggestion's item.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TakeUpReplenishment {
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    #[schemars(with = "Uuid")]
    pub warehouse: WarehouseId,
    #[schemars(with = "Uuid")]
    pub requisition: RequisitionId,
}

impl HttpCommand for TakeUpReplenishment {
    const NAME: &'static str = "take-up-replenishment";
    const SUMMARY: &'static str = "Takes up a stock item's open replenishment suggestion with a requisition.";
    const ROLES: &'static [Role] = &[Role::Purchasing, Role::Warehouse];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let key = StockKey { item: self.item, warehouse: self.warehouse };
        let take_up = crate::inventory::replenishment_take_up(&ctx.bus, ctx.meta.book, key, self.requisition)
            .await
            .map_err(|e| Problem::from_store(&e))?;
        run::<Replenishment, S>(Self::NAME, &ctx, take_up).await
    }
}

/// A replenishment suggestion dismissed (not needed: a seasonal item, a discontinued one), saying why.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DismissReplenishment {
    #[schemars(with = "Uuid")]
    pub item: ItemId,
    #[schemars(with = "Uuid")]
    pub warehouse: WarehouseId,
    pub reason: String,
}

impl HttpCommand for DismissReplenishment {
    const NAME: &'static str = "dismiss-replenishment";
    const SUMMARY: &'static str = "Dismisses a stock item's open replenishment suggestion.";
    const ROLES: &'static [Role] = &[Role::Purchasing, Role::Warehouse];
    const IF_MATCH: bool = true;
    async fn execute<S: EventStore>(self, ctx: Ctx<S>) -> Result<Accepted, Problem> {
        let key = StockKey { item: self.item, warehouse: self.warehouse };
        let dismiss = ReplenishmentCommand::Dismiss { key, reason: self.reason };
        run::<Replenishment, S>(Self::NAME, &ctx, dismiss).await
    }
}

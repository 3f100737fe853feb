//! Inventory: stock per (item, warehouse), the unit of concurrency for everything that moves goods.

pub mod replenishment;
pub mod stock;
pub mod stocktake;
pub mod transfer;

pub use replenishment::{Replenishment, ReplenishmentCommand, ReplenishmentEvent};
pub use stock::{
    CostingMethod, DocRef, LossTreatment, LotTake, StockCommand, StockEvent, StockItem, StockKey,
    StockPolicy, StockRejection,
};
pub use stocktake::{
    Stocktake, StocktakeCommand, StocktakeDifference, StocktakeEvent, StocktakeLine, StocktakeLoss,
    StocktakeRejection,
};
pub use transfer::{
    StockTransfer, TransferCommand, TransferEvent, TransferLineInput, TransferRejection, TransferStatus,
};

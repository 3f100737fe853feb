//! Inventory: stock per (item, warehouse), the unit of concurrency for everything that moves goods.

pub mod stock;

pub use stock::{
    CostingMethod, DocRef, LotTake, StockCommand, StockEvent, StockItem, StockKey, StockPolicy,
    StockRejection,
};

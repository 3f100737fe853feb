//! Item master (SKU): what is bought, stocked and sold.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{MasterRejection, check_not_negative, check_text, master_aggregate};
use crate::ids::{ItemId, PartnerId};
use crate::inventory::CostingMethod;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDetails {
    pub sku: String,
    pub name: String,
    /// Unit of measure: 个, 箱, kg ...
    pub unit: String,
    pub barcode: Option<String>,
    /// VAT rate as a fraction: 0.13, 0.09, 0.06, 0.03 (small-scale) or 0.
    pub vat_rate: Decimal,
    pub costing: CostingMethod,
    pub safety_stock: Decimal,
    pub reorder_qty: Decimal,
    pub default_supplier: Option<PartnerId>,
    pub lead_time_days: u32,
    /// Since v2: what the item is to the books (v1 items read as goods).
    pub kind: ItemKind,
}

/// What an item is to the books: the stock account its value sits in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemKind {
    /// Goods for sale, bought or made (库存商品, 1405).
    #[default]
    Goods,
    /// Material for production (原材料, 1403).
    RawMaterial,
}

/// `ItemDetails` as items were created and changed in v1, before they had a kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDetailsV1 {
    pub sku: String,
    pub name: String,
    pub unit: String,
    pub barcode: Option<String>,
    pub vat_rate: Decimal,
    pub costing: CostingMethod,
    pub safety_stock: Decimal,
    pub reorder_qty: Decimal,
    pub default_supplier: Option<PartnerId>,
    pub lead_time_days: u32,
}

impl From<ItemDetailsV1> for ItemDetails {
    fn from(v1: ItemDetailsV1) -> Self {
        ItemDetails {
            sku: v1.sku,
            name: v1.name,
            unit: v1.unit,
            barcode: v1.barcode,
            vat_rate: v1.vat_rate,
            costing: v1.costing,
            safety_stock: v1.safety_stock,
            reorder_qty: v1.reorder_qty,
            default_supplier: v1.default_supplier,
            lead_time_days: v1.lead_time_days,
            kind: ItemKind::Goods,
        }
    }
}

impl ItemDetails {
    fn validate(&self) -> Result<(), MasterRejection> {
        check_text("sku", &self.sku, 64)?;
        check_text("name", &self.name, 200)?;
        check_text("unit", &self.unit, 16)?;
        if let Some(barcode) = &self.barcode
            && (barcode.is_empty()
                || barcode.len() > 64
                || !barcode.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(MasterRejection::Invalid {
                what: "barcode",
                reason: "1 to 64 letters or digits".into(),
            });
        }
        if !crate::values::is_vat_rate(self.vat_rate) {
            return Err(MasterRejection::Invalid {
                what: "vat rate",
                reason: format!("{} is not one of 0, 0.01, 0.03, 0.06, 0.09, 0.13", self.vat_rate),
            });
        }
        check_not_negative("safety stock", self.safety_stock)?;
        check_not_negative("reorder quantity", self.reorder_qty)?;
        if self.lead_time_days > 365 {
            return Err(MasterRejection::Invalid { what: "lead time", reason: "at most 365 days".into() });
        }
        Ok(())
    }
}

master_aggregate!(
    Item,
    ItemCommand,
    ItemEvent,
    ItemId,
    ItemDetails,
    "item",
    "item",
    created = "master.ItemCreated",
    changed = "master.ItemChanged",
    deactivated = "master.ItemDeactivated",
    reactivated = "master.ItemReactivated",
    details_version = 2,
    upcast = [1 => ItemDetailsV1]
);

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
    reactivated = "master.ItemReactivated"
);

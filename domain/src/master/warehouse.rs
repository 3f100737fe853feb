//! Warehouse master: where stock is kept, with its city and coordinates for routing orders.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{MasterRejection, check_text, master_aggregate};
use crate::ids::WarehouseId;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarehouseDetails {
    pub code: String,
    pub name: String,
    pub city: String,
    /// Degrees, WGS 84.
    pub latitude: Decimal,
    pub longitude: Decimal,
    /// Bin (货位) codes.
    pub bins: Vec<String>,
}

/// Most bins per warehouse held in the master record.
const BINS_MAX: usize = 10_000;

impl WarehouseDetails {
    fn validate(&self) -> Result<(), MasterRejection> {
        check_text("code", &self.code, 32)?;
        check_text("name", &self.name, 200)?;
        check_text("city", &self.city, 100)?;
        if self.latitude.abs() > Decimal::from(90) || self.longitude.abs() > Decimal::from(180) {
            return Err(MasterRejection::Invalid {
                what: "coordinates",
                reason: "latitude ±90, longitude ±180".into(),
            });
        }
        if self.bins.len() > BINS_MAX {
            return Err(MasterRejection::Invalid { what: "bins", reason: format!("at most {BINS_MAX}") });
        }
        for bin in &self.bins {
            check_text("bin", bin, 32)?;
        }
        let mut sorted: Vec<_> = self.bins.iter().collect();
        sorted.sort();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err(MasterRejection::Invalid { what: "bins", reason: "a bin code appears twice".into() });
        }
        Ok(())
    }
}

master_aggregate!(
    Warehouse,
    WarehouseCommand,
    WarehouseEvent,
    WarehouseId,
    WarehouseDetails,
    "warehouse",
    "warehouse",
    created = "master.WarehouseCreated",
    changed = "master.WarehouseChanged",
    deactivated = "master.WarehouseDeactivated",
    reactivated = "master.WarehouseReactivated"
);

//! Partner master (往来单位): customers and suppliers, with credit limit and payment terms.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{MasterRejection, check_not_negative, check_text, master_aggregate};
use crate::ids::PartnerId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerRoles {
    pub customer: bool,
    pub supplier: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerDetails {
    pub name: String,
    pub roles: PartnerRoles,
    /// Unified social credit code (统一社会信用代码) or other tax id.
    pub tax_id: Option<String>,
    /// Most a customer may owe (open receivables plus the new order); zero means cash only.
    pub credit_limit: Decimal,
    pub payment_terms_days: u32,
    pub region: String,
}

impl PartnerDetails {
    fn validate(&self) -> Result<(), MasterRejection> {
        check_text("name", &self.name, 200)?;
        check_text("region", &self.region, 100)?;
        if !self.roles.customer && !self.roles.supplier {
            return Err(MasterRejection::Invalid {
                what: "roles",
                reason: "a partner is a customer, a supplier or both".into(),
            });
        }
        if let Some(tax_id) = &self.tax_id
            && (tax_id.len() != 18 || !tax_id.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()))
        {
            return Err(MasterRejection::Invalid {
                what: "tax id",
                reason: "a unified social credit code is 18 digits or capital letters".into(),
            });
        }
        check_not_negative("credit limit", self.credit_limit)?;
        if self.payment_terms_days > 365 {
            return Err(MasterRejection::Invalid {
                what: "payment terms",
                reason: "at most 365 days".into(),
            });
        }
        Ok(())
    }
}

master_aggregate!(
    Partner,
    PartnerCommand,
    PartnerEvent,
    PartnerId,
    PartnerDetails,
    "partner",
    "partner",
    created = "master.PartnerCreated",
    changed = "master.PartnerChanged",
    deactivated = "master.PartnerDeactivated",
    reactivated = "master.PartnerReactivated"
);

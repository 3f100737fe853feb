//! Returns (退货): goods coming back from a customer, or going back to a supplier. Both reverse the
//! stock movement and the amounts of the original sale or purchase.
//!
//! A customer return is received back into stock at the cost the goods left with (from the shipment),
//! so the stock value and cost of goods sold reverse exactly; its amounts (net, VAT, gross, rounded per
//! line) are what a red-letter invoice (红字发票) credits. A return to a supplier leaves stock at the
//! stock's own cost (moving average or FIFO), and its amounts at the order's price are what the supplier
//! owes back; the cost each line left at is recorded back on the return, and the difference between
//! the two is the return's gain or loss (booked against cost of sales, so 1405 keeps following the
//! stock). The returns process manager moves the stock.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection};
use crate::ids::{ItemId, PartnerId, ReturnId, WarehouseId};
use crate::inventory::{DocRef, StockPolicy};
use crate::values::{Quantity, UnitAmount, line_amounts};

/// The document kinds returns carry in stock movements.
pub const SALES_RETURN_DOC: &str = "sales.SalesReturn";
pub const PURCHASE_RETURN_DOC: &str = "purchasing.PurchaseReturn";

/// Most lines on one return.
pub const RETURN_LINES_MAX: usize = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReturnDirection {
    /// From a customer back into our stock.
    FromCustomer,
    /// From our stock back to a supplier.
    ToSupplier,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReturnLineInput {
    pub item: ItemId,
    pub qty: Quantity,
    /// Net unit price of the original sale or purchase: what the amounts reverse.
    pub unit_price: UnitAmount,
    pub vat_rate: Decimal,
    /// For a customer return: the unit cost the goods left stock with (from the shipment's issue).
    pub unit_cost: Option<UnitAmount>,
    /// The item's stock policy, should the return open its stock item.
    pub policy: StockPolicy,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ReturnCommand {
    Create {
        id: ReturnId,
        direction: ReturnDirection,
        partner: PartnerId,
        warehouse: WarehouseId,
        /// The document returned against (a shipment or a purchase order).
        original: DocRef,
        lines: Vec<ReturnLineInput>,
        reason: String,
        /// Whether the partner, the warehouse and every item are active masters (read at the edge).
        masters_usable: bool,
    },
    /// The goods moved: received from the customer, or shipped to the supplier.
    Complete { id: ReturnId },
    /// From the returns process manager: the goods of a supplier return's `line` left stock at `value`.
    RecordIssue { id: ReturnId, line: u32, value: Decimal },
}

impl ReturnCommand {
    pub fn id(&self) -> ReturnId {
        match self {
            ReturnCommand::Create { id, .. }
            | ReturnCommand::Complete { id }
            | ReturnCommand::RecordIssue { id, .. } => *id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLine {
    pub line: u32,
    pub item: ItemId,
    pub qty: Decimal,
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
    pub amount_net: Decimal,
    pub amount_tax: Decimal,
    pub unit_cost: Option<Decimal>,
    pub policy: StockPolicy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnCreated {
    pub id: ReturnId,
    pub direction: ReturnDirection,
    pub partner: PartnerId,
    pub warehouse: WarehouseId,
    pub original: DocRef,
    pub lines: Vec<ReturnLine>,
    pub amount_net: Decimal,
    pub amount_tax: Decimal,
    pub amount_gross: Decimal,
    pub reason: String,
}

/// Everything the returns process manager needs to move the stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnCompleted {
    pub id: ReturnId,
    pub direction: ReturnDirection,
    pub warehouse: WarehouseId,
    pub lines: Vec<ReturnLine>,
    pub by: String,
}

/// The goods of a supplier return's line left stock at `cost`, while the supplier credits `amount_net`:
/// the difference (`amount_net − cost`) is the return's gain (positive) or loss on those goods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLineIssued {
    pub id: ReturnId,
    pub line: u32,
    pub item: ItemId,
    pub cost: Decimal,
    pub amount_net: Decimal,
    pub difference: Decimal,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum ReturnEvent {
        Created(ReturnCreated) = "returns.ReturnCreated" v 1,
        Completed(ReturnCompleted) = "returns.ReturnCompleted" v 1,
        LineIssued(ReturnLineIssued) = "returns.ReturnLineIssued" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnRejection {
    #[error("the return already exists")]
    AlreadyExists,
    #[error("the return does not exist")]
    NotFound,
    #[error("a return has 1 to {RETURN_LINES_MAX} lines with valid VAT rates, and a reason")]
    InvalidLines,
    #[error("a customer return needs the unit cost each line left stock with")]
    MissingCost,
    #[error("the return is completed already")]
    AlreadyCompleted,
    #[error("the partner, the warehouse or an item is deactivated")]
    MasterUnusable,
    #[error("line {0} is not a line of this supplier return")]
    UnknownLine(u32),
    #[error("the shipment returned against went to another customer")]
    NotThisCustomer,
}

impl Rejection for ReturnRejection {
    fn code(&self) -> &'static str {
        match self {
            ReturnRejection::AlreadyExists => "return.already_exists",
            ReturnRejection::NotFound => "return.not_found",
            ReturnRejection::NotThisCustomer => "return.not_this_customer",
            ReturnRejection::InvalidLines => "return.invalid_lines",
            ReturnRejection::MissingCost => "return.missing_cost",
            ReturnRejection::AlreadyCompleted => "return.already_completed",
            ReturnRejection::MasterUnusable => "return.master_unusable",
            ReturnRejection::UnknownLine(_) => "return.unknown_line",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Return {
    pub created: Option<ReturnCreated>,
    pub completed: bool,
    /// The lines whose issue cost was recorded.
    pub issued: Vec<u32>,
}

impl Aggregate for Return {
    type Command = ReturnCommand;
    type Event = ReturnEvent;
    type Rejection = ReturnRejection;

    fn stream_id(command: &ReturnCommand) -> String {
        format!("return-{}", command.id())
    }

    fn evolve(&mut self, event: &ReturnEvent) {
        match event {
            ReturnEvent::Created(e) => self.created = Some(e.clone()),
            ReturnEvent::Completed(_) => self.completed = true,
            ReturnEvent::LineIssued(e) => self.issued.push(e.line),
        }
    }

    fn decide(
        &self,
        command: &ReturnCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<ReturnEvent>, ReturnRejection> {
        use ReturnRejection as R;
        match command {
            ReturnCommand::Create {
                id,
                direction,
                partner,
                warehouse,
                original,
                lines,
                reason,
                masters_usable,
            } => {
                if self.created.is_some() {
                    return Err(R::AlreadyExists);
                }
                if !masters_usable {
                    return Err(R::MasterUnusable);
                }
                if lines.is_empty()
                    || lines.len() > RETURN_LINES_MAX
                    || reason.trim().is_empty()
                    || !lines.iter().all(|l| crate::values::is_vat_rate(l.vat_rate))
                {
                    return Err(R::InvalidLines);
                }
                if *direction == ReturnDirection::FromCustomer && lines.iter().any(|l| l.unit_cost.is_none())
                {
                    return Err(R::MissingCost);
                }
                let lines: Vec<ReturnLine> = lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let (amount_net, amount_tax) =
                            line_amounts(l.qty.get(), l.unit_price.get(), l.vat_rate);
                        ReturnLine {
                            line: i as u32,
                            item: l.item,
                            qty: l.qty.get(),
                            unit_price: l.unit_price.get(),
                            vat_rate: l.vat_rate,
                            amount_net,
                            amount_tax,
                            unit_cost: l.unit_cost.map(UnitAmount::get),
                            policy: l.policy.clone(),
                        }
                    })
                    .collect();
                let amount_net: Decimal = lines.iter().map(|l| l.amount_net).sum();
                let amount_tax: Decimal = lines.iter().map(|l| l.amount_tax).sum();
                Ok(vec![ReturnEvent::Created(ReturnCreated {
                    id: *id,
                    direction: *direction,
                    partner: *partner,
                    warehouse: *warehouse,
                    original: original.clone(),
                    lines,
                    amount_net,
                    amount_tax,
                    amount_gross: amount_net + amount_tax,
                    reason: reason.trim().to_string(),
                })])
            }
            ReturnCommand::RecordIssue { id, line, value } => {
                let created = self.created.as_ref().ok_or(R::NotFound)?;
                if self.issued.contains(line) {
                    return Ok(Vec::new());
                }
                let returned = created
                    .lines
                    .iter()
                    .find(|l| l.line == *line && created.direction == ReturnDirection::ToSupplier)
                    .ok_or(R::UnknownLine(*line))?;
                Ok(vec![ReturnEvent::LineIssued(ReturnLineIssued {
                    id: *id,
                    line: *line,
                    item: returned.item,
                    cost: *value,
                    amount_net: returned.amount_net,
                    difference: returned.amount_net - value,
                })])
            }
            ReturnCommand::Complete { id } => {
                let created = self.created.as_ref().ok_or(R::NotFound)?;
                if self.completed {
                    return Err(R::AlreadyCompleted);
                }
                Ok(vec![ReturnEvent::Completed(ReturnCompleted {
                    id: *id,
                    direction: created.direction,
                    warehouse: created.warehouse,
                    lines: created.lines.clone(),
                    by: meta.actor.clone(),
                })])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::CostingMethod;
    use crate::testing::{self, given};
    use uuid::Uuid;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn create(direction: ReturnDirection, unit_cost: Option<&str>) -> ReturnCommand {
        ReturnCommand::Create {
            id: ReturnId(Uuid::from_u128(1)),
            direction,
            partner: PartnerId(Uuid::from_u128(2)),
            warehouse: WarehouseId(Uuid::from_u128(3)),
            original: DocRef { kind: "sales.Shipment".into(), id: Uuid::from_u128(4), line: None },
            lines: vec![ReturnLineInput {
                item: ItemId(Uuid::from_u128(5)),
                qty: Quantity::units(3),
                unit_price: UnitAmount::new(d("10.005")).unwrap(),
                vat_rate: d("0.13"),
                unit_cost: unit_cost.map(|c| UnitAmount::new(d(c)).unwrap()),
                policy: StockPolicy {
                    costing: CostingMethod::MovingAverage,
                    safety_stock: Decimal::ZERO,
                    allow_negative: false,
                },
            }],
            reason: "damaged in transit".into(),
            masters_usable: true,
        }
    }

    #[test]
    fn a_return_reverses_the_amounts_rounded_per_line() {
        let outcome = given::<Return>(&[])
            .when(&testing::meta("li"), &create(ReturnDirection::FromCustomer, Some("6")));
        let ReturnEvent::Created(created) = &outcome.events()[0] else { panic!() };
        assert_eq!(
            (created.amount_net, created.amount_tax, created.amount_gross),
            (d("30.02"), d("3.90"), d("33.92"))
        );
    }

    #[test]
    fn a_customer_return_needs_the_cost_the_goods_left_with() {
        given::<Return>(&[])
            .when(&testing::meta("li"), &create(ReturnDirection::FromCustomer, None))
            .rejected("return.missing_cost");
        assert!(
            given::<Return>(&[])
                .when(&testing::meta("li"), &create(ReturnDirection::ToSupplier, None))
                .result
                .is_ok()
        );
    }

    #[test]
    fn a_return_completes_once_and_carries_what_moving_the_stock_needs() {
        let created = testing::given_by::<Return>("li", &[create(ReturnDirection::FromCustomer, Some("6"))]);
        let complete = ReturnCommand::Complete { id: ReturnId(Uuid::from_u128(1)) };
        let outcome = created.when(&testing::meta("kai"), &complete);
        assert!(
            matches!(&outcome.events()[0], ReturnEvent::Completed(c) if c.lines[0].unit_cost == Some(d("6")))
        );
        testing::given_by::<Return>(
            "li",
            &[create(ReturnDirection::FromCustomer, Some("6")), complete.clone()],
        )
        .when(&testing::meta("kai"), &complete)
        .rejected("return.already_completed");
        given::<Return>(&[]).when(&testing::meta("kai"), &complete).rejected("return.not_found");
    }

    #[test]
    fn a_return_naming_a_deactivated_master_is_rejected() {
        let ReturnCommand::Create { id, direction, partner, warehouse, original, lines, reason, .. } =
            create(ReturnDirection::ToSupplier, None)
        else {
            panic!()
        };
        let create = ReturnCommand::Create {
            id,
            direction,
            partner,
            warehouse,
            original,
            lines,
            reason,
            masters_usable: false,
        };
        given::<Return>(&[]).when(&testing::meta("li"), &create).rejected("return.master_unusable");
    }
}

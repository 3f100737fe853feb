//! SupplierPayment (付款单): money paid to a supplier, allocated to its matched invoices; what is not
//! allocated is a prepayment (预付). The supplier-payment process manager records each allocation on its
//! invoice.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection, Role};
use crate::ids::{PartnerId, PurchaseInvoiceId, SupplierPaymentId};

#[derive(Clone, Debug, PartialEq)]
pub enum SupplierPaymentCommand {
    Pay {
        id: SupplierPaymentId,
        supplier: PartnerId,
        amount: Decimal,
        allocations: Vec<(PurchaseInvoiceId, Decimal)>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierPaid {
    pub id: SupplierPaymentId,
    pub supplier: PartnerId,
    pub amount: Decimal,
    pub allocations: Vec<(PurchaseInvoiceId, Decimal)>,
    pub prepayment: Decimal,
    pub by: String,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum SupplierPaymentEvent {
        Paid(SupplierPaid) = "purchasing.SupplierPaid" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupplierPaymentRejection {
    #[error("the payment already exists")]
    AlreadyExists,
    #[error("paying a supplier needs the finance role")]
    NotAllowed,
    #[error(
        "a payment and its allocations are positive amounts with at most two decimals, allocations within the payment"
    )]
    InvalidAmount,
}

impl Rejection for SupplierPaymentRejection {
    fn code(&self) -> &'static str {
        match self {
            SupplierPaymentRejection::AlreadyExists => "supplier_payment.already_exists",
            SupplierPaymentRejection::NotAllowed => "supplier_payment.not_allowed",
            SupplierPaymentRejection::InvalidAmount => "supplier_payment.invalid_amount",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SupplierPayment {
    pub paid: Option<SupplierPaid>,
}

impl SupplierPayment {
    /// The stream of the supplierpayment `id`: the one place its name is made.
    pub fn stream(id: SupplierPaymentId) -> String {
        format!("supplier-payment-{id}")
    }
}

impl Aggregate for SupplierPayment {
    type Command = SupplierPaymentCommand;
    type Event = SupplierPaymentEvent;
    type Rejection = SupplierPaymentRejection;

    fn stream_id(command: &SupplierPaymentCommand) -> String {
        let SupplierPaymentCommand::Pay { id, .. } = command;
        SupplierPayment::stream(*id)
    }

    fn evolve(&mut self, event: &SupplierPaymentEvent) {
        let SupplierPaymentEvent::Paid(paid) = event;
        self.paid = Some(paid.clone());
    }

    fn decide(
        &self,
        command: &SupplierPaymentCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<SupplierPaymentEvent>, SupplierPaymentRejection> {
        use SupplierPaymentRejection as R;
        let SupplierPaymentCommand::Pay { id, supplier, amount, allocations } = command;
        if self.paid.is_some() {
            return Err(R::AlreadyExists);
        }
        if !meta.has_role(Role::Finance) {
            return Err(R::NotAllowed);
        }
        let cents = |a: &Decimal| *a > Decimal::ZERO && a.normalize().scale() <= 2;
        let allocated: Decimal = allocations.iter().map(|(_, a)| *a).sum();
        if !cents(amount) || !allocations.iter().all(|(_, a)| cents(a)) || allocated > *amount {
            return Err(R::InvalidAmount);
        }
        Ok(vec![SupplierPaymentEvent::Paid(SupplierPaid {
            id: *id,
            supplier: *supplier,
            amount: *amount,
            allocations: allocations.clone(),
            prepayment: amount - allocated,
            by: meta.actor.clone(),
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, given};
    use uuid::Uuid;

    fn pay(amount: &str, allocations: &[(u128, &str)]) -> SupplierPaymentCommand {
        SupplierPaymentCommand::Pay {
            id: SupplierPaymentId(Uuid::from_u128(1)),
            supplier: PartnerId(Uuid::from_u128(2)),
            amount: amount.parse().unwrap(),
            allocations: allocations
                .iter()
                .map(|(i, a)| (PurchaseInvoiceId(Uuid::from_u128(*i)), a.parse().unwrap()))
                .collect(),
        }
    }

    #[test]
    fn a_payment_by_finance_allocates_to_invoices_and_keeps_the_rest_as_prepayment() {
        let outcome = given::<SupplierPayment>(&[])
            .when(&testing::meta_with("zhao", &[Role::Finance]), &pay("500", &[(3, "284.76")]));
        let SupplierPaymentEvent::Paid(paid) = &outcome.events()[0];
        assert_eq!(paid.prepayment, "215.24".parse::<Decimal>().unwrap());
    }

    #[test]
    fn a_payment_needs_finance_and_sound_amounts() {
        given::<SupplierPayment>(&[])
            .when(&testing::meta("li"), &pay("1", &[]))
            .rejected("supplier_payment.not_allowed");
        let finance = testing::meta_with("zhao", &[Role::Finance]);
        given::<SupplierPayment>(&[])
            .when(&finance, &pay("100", &[(3, "101")]))
            .rejected("supplier_payment.invalid_amount");
        given::<SupplierPayment>(&[])
            .when(&finance, &pay("0.001", &[]))
            .rejected("supplier_payment.invalid_amount");
    }
}

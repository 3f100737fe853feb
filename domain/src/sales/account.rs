//! CustomerAccount (客户往来余额): a customer's open receivables as one running balance, kept by the
//! `customer-accounts` process manager from invoices, payments allocated to them and red invoices of
//! returns. The credit check of a new order reads it (`command-api::sales::place_sales_order`), so the
//! limit holds against what the books say the customer owes, not against what a caller claims.
//!
//! It lags the invoices by the process manager's delay; a credit check a moment behind is accepted
//! (ADR 0008: facts read at the edge may be a moment old; the event records what was read).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection};
use crate::ids::PartnerId;

#[derive(Clone, Debug, PartialEq)]
pub enum CustomerAccountCommand {
    /// Moves the balance: positive for an invoice, negative for a payment or a red invoice.
    Move { customer: PartnerId, amount: Decimal, document: Uuid },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerAccountMoved {
    pub customer: PartnerId,
    pub amount: Decimal,
    pub document: Uuid,
    pub balance: Decimal,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum CustomerAccountEvent {
        Moved(CustomerAccountMoved) = "sales.CustomerAccountMoved" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerAccountRejection {
    #[error("an account moves by a non-zero amount in cents")]
    InvalidAmount,
}

impl Rejection for CustomerAccountRejection {
    fn code(&self) -> &'static str {
        match self {
            CustomerAccountRejection::InvalidAmount => "customer_account.invalid_amount",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerAccount {
    /// What the customer owes on invoices (less what they paid on them and red invoices).
    pub balance: Decimal,
}

/// The stream of a customer's account.
pub fn customer_account_stream(customer: PartnerId) -> String {
    format!("customer-account-{customer}")
}

impl Aggregate for CustomerAccount {
    type Command = CustomerAccountCommand;
    type Event = CustomerAccountEvent;
    type Rejection = CustomerAccountRejection;

    fn stream_id(command: &CustomerAccountCommand) -> String {
        let CustomerAccountCommand::Move { customer, .. } = command;
        customer_account_stream(*customer)
    }

    fn evolve(&mut self, event: &CustomerAccountEvent) {
        let CustomerAccountEvent::Moved(e) = event;
        self.balance += e.amount;
    }

    fn decide(
        &self,
        command: &CustomerAccountCommand,
        _meta: &CommandMeta,
    ) -> Result<Vec<CustomerAccountEvent>, CustomerAccountRejection> {
        let CustomerAccountCommand::Move { customer, amount, document } = command;
        if amount.is_zero() || amount.scale() > 2 {
            return Err(CustomerAccountRejection::InvalidAmount);
        }
        Ok(vec![CustomerAccountEvent::Moved(CustomerAccountMoved {
            customer: *customer,
            amount: *amount,
            document: *document,
            balance: self.balance + amount,
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{given_by, meta};

    fn moved(amount: &str) -> CustomerAccountCommand {
        CustomerAccountCommand::Move {
            customer: PartnerId(Uuid::from_u128(60)),
            amount: amount.parse().unwrap(),
            document: Uuid::from_u128(1),
        }
    }

    #[test]
    fn invoices_raise_the_balance_payments_lower_it_and_a_zero_move_is_refused() {
        let account = given_by::<CustomerAccount>("p", &[moved("1130.00"), moved("-1000.00")]).state;
        assert_eq!(account.balance, "130.00".parse::<Decimal>().unwrap());
        assert_eq!(
            account.decide(&moved("0"), &meta("p")).unwrap_err().code(),
            "customer_account.invalid_amount"
        );
    }
}

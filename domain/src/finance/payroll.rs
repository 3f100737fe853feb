//! Payroll of a book's month (工资): accrued by cost centre (selling, administration, production) and
//! paid net of the individual income tax withheld. One stream per book and month.
//!
//! Accrual: Dr 销售费用 / 管理费用 / 生产成本 / Cr 应付职工薪酬. Payment: Dr 应付职工薪酬 / Cr 银行存款 (net) /
//! Cr 应交税费-个人所得税 (withheld). The vouchers come from the automatic-voucher process manager.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::aggregate::Aggregate;
use crate::command::{CommandMeta, Rejection, Role};
use crate::ids::BookId;
use crate::time::Period;

#[derive(Clone, Debug, PartialEq)]
pub enum PayrollCommand {
    Accrue { book: BookId, period: Period, selling: Decimal, administration: Decimal, production: Decimal },
    Pay { book: BookId, period: Period, net: Decimal, income_tax: Decimal },
}

impl PayrollCommand {
    fn key(&self) -> (BookId, Period) {
        match self {
            PayrollCommand::Accrue { book, period, .. } | PayrollCommand::Pay { book, period, .. } => {
                (*book, *period)
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayrollAccrued {
    pub book: BookId,
    pub period: Period,
    pub selling: Decimal,
    pub administration: Decimal,
    pub production: Decimal,
    pub total: Decimal,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayrollPaid {
    pub book: BookId,
    pub period: Period,
    pub net: Decimal,
    pub income_tax: Decimal,
    pub by: String,
}

crate::domain_events! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum PayrollEvent {
        Accrued(PayrollAccrued) = "finance.PayrollAccrued" v 1,
        Paid(PayrollPaid) = "finance.PayrollPaid" v 1,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayrollRejection {
    #[error("payroll needs the finance role")]
    NotAllowed,
    #[error("the month's payroll was accrued already")]
    AlreadyAccrued,
    #[error("amounts are zero or positive, in cents, and the payroll is not zero")]
    InvalidAmount,
    #[error("paying {paying} would pay more than the {unpaid} accrued and unpaid")]
    OverPaid { paying: Decimal, unpaid: Decimal },
}

impl Rejection for PayrollRejection {
    fn code(&self) -> &'static str {
        match self {
            PayrollRejection::NotAllowed => "payroll.not_allowed",
            PayrollRejection::AlreadyAccrued => "payroll.already_accrued",
            PayrollRejection::InvalidAmount => "payroll.invalid_amount",
            PayrollRejection::OverPaid { .. } => "payroll.over_paid",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Payroll {
    pub accrued: Decimal,
    pub paid: Decimal,
    pub accrued_once: bool,
}

fn cents(amount: Decimal) -> bool {
    amount >= Decimal::ZERO && amount.scale() <= 2
}

impl Aggregate for Payroll {
    type Command = PayrollCommand;
    type Event = PayrollEvent;
    type Rejection = PayrollRejection;

    fn stream_id(command: &PayrollCommand) -> String {
        let (book, period) = command.key();
        format!("payroll-{}-{period}", book.0)
    }

    fn evolve(&mut self, event: &PayrollEvent) {
        match event {
            PayrollEvent::Accrued(e) => {
                self.accrued += e.total;
                self.accrued_once = true;
            }
            PayrollEvent::Paid(e) => self.paid += e.net + e.income_tax,
        }
        assert!(self.paid <= self.accrued, "payroll is never paid beyond what was accrued");
    }

    fn decide(
        &self,
        command: &PayrollCommand,
        meta: &CommandMeta,
    ) -> Result<Vec<PayrollEvent>, PayrollRejection> {
        if !meta.has_role(Role::Finance) {
            return Err(PayrollRejection::NotAllowed);
        }
        match command {
            PayrollCommand::Accrue { book, period, selling, administration, production } => {
                if self.accrued_once {
                    return Err(PayrollRejection::AlreadyAccrued);
                }
                let total = selling + administration + production;
                if ![*selling, *administration, *production].into_iter().all(cents) || total.is_zero() {
                    return Err(PayrollRejection::InvalidAmount);
                }
                Ok(vec![PayrollEvent::Accrued(PayrollAccrued {
                    book: *book,
                    period: *period,
                    selling: *selling,
                    administration: *administration,
                    production: *production,
                    total,
                    by: meta.actor.clone(),
                })])
            }
            PayrollCommand::Pay { book, period, net, income_tax } => {
                if !cents(*net) || !cents(*income_tax) || (net + income_tax).is_zero() {
                    return Err(PayrollRejection::InvalidAmount);
                }
                let unpaid = self.accrued - self.paid;
                if net + income_tax > unpaid {
                    return Err(PayrollRejection::OverPaid { paying: net + income_tax, unpaid });
                }
                Ok(vec![PayrollEvent::Paid(PayrollPaid {
                    book: *book,
                    period: *period,
                    net: *net,
                    income_tax: *income_tax,
                    by: meta.actor.clone(),
                })])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::testing::{Given, given, meta, meta_with};

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn accrue() -> PayrollCommand {
        PayrollCommand::Accrue {
            book: BookId(Uuid::from_u128(1)),
            period: Period::new(2026, 11).unwrap(),
            selling: d("3000"),
            administration: d("5000"),
            production: Decimal::ZERO,
        }
    }

    fn pay(net: &str, tax: &str) -> PayrollCommand {
        PayrollCommand::Pay {
            book: BookId(Uuid::from_u128(1)),
            period: Period::new(2026, 11).unwrap(),
            net: d(net),
            income_tax: d(tax),
        }
    }

    #[test]
    fn payroll_is_accrued_once_by_finance_and_paid_up_to_what_was_accrued() {
        let finance = meta_with("zhao", &[Role::Finance]);
        assert_eq!(
            Payroll::default().decide(&accrue(), &meta("li")).unwrap_err().code(),
            "payroll.not_allowed"
        );
        let accrued: Given<Payroll> = given(&[(finance.clone(), accrue())]);
        assert_eq!(accrued.state.accrued, d("8000"));
        assert_eq!(accrued.when(&finance, &accrue()).result.unwrap_err().code(), "payroll.already_accrued");
        assert_eq!(
            accrued.when(&finance, &pay("7400", "600.01")).result.unwrap_err().code(),
            "payroll.over_paid"
        );
        assert_eq!(
            accrued.when(&finance, &pay("-1", "0")).result.unwrap_err().code(),
            "payroll.invalid_amount"
        );
        let paid = accrued.when(&finance, &pay("7400", "600"));
        assert_eq!(paid.after.paid, d("8000"));
    }
}

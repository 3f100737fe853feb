//! Validated business values: quantities and money as `rust_decimal::Decimal`, never floats.
//!
//! Parse at the edge, then trust types: a `Quantity` that exists is positive and has at most
//! [`QUANTITY_SCALE_MAX`] decimals; a `Money` amount has at most 2. Rounding is always named where it
//! happens ([`round_money`] is half-up to cents, as accounting.md prescribes).

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Most decimals a quantity may carry (grams of a kilogram item, millimetres of a metre).
pub const QUANTITY_SCALE_MAX: u32 = 4;
/// Largest quantity in one document line: far above any real line, small enough that a product with
/// a unit cost never overflows.
pub const QUANTITY_MAX: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);
/// Largest unit cost or unit price accepted.
pub const UNIT_AMOUNT_MAX: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);
/// Largest total of one document or budget (10^15, exclusive): beyond any real company, small enough
/// that sums of many never overflow.
pub const DOCUMENT_AMOUNT_MAX: Decimal = Decimal::from_parts(2_764_472_320, 232_830, 0, false, 0);

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{what} must be greater than zero, got {value}")]
    NotPositive { what: &'static str, value: Decimal },
    #[error("{what} must not be negative, got {value}")]
    Negative { what: &'static str, value: Decimal },
    #[error("{what} has {scale} decimals, at most {max} are allowed")]
    TooPrecise { what: &'static str, scale: u32, max: u32 },
    #[error("{what} is {value}, more than the limit of {max}")]
    TooLarge { what: &'static str, value: Decimal, max: Decimal },
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("{what} is longer than {max} characters")]
    TooLong { what: &'static str, max: usize },
}

impl ValueError {
    pub fn code(&self) -> &'static str {
        match self {
            ValueError::NotPositive { .. } => "value.not_positive",
            ValueError::Negative { .. } => "value.negative",
            ValueError::TooPrecise { .. } => "value.too_precise",
            ValueError::TooLarge { .. } => "value.too_large",
            ValueError::Empty { .. } => "value.empty",
            ValueError::TooLong { .. } => "value.too_long",
        }
    }
}

/// A positive quantity of an item in its unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Quantity(Decimal);

impl Quantity {
    pub fn new(value: Decimal) -> Result<Quantity, ValueError> {
        let what = "quantity";
        if value <= Decimal::ZERO {
            return Err(ValueError::NotPositive { what, value });
        }
        if value.scale() > QUANTITY_SCALE_MAX && value.normalize().scale() > QUANTITY_SCALE_MAX {
            return Err(ValueError::TooPrecise {
                what,
                scale: value.normalize().scale(),
                max: QUANTITY_SCALE_MAX,
            });
        }
        if value > QUANTITY_MAX {
            return Err(ValueError::TooLarge { what, value, max: QUANTITY_MAX });
        }
        Ok(Quantity(value.normalize()))
    }

    /// A whole number of units (tests and fixtures).
    pub fn units(n: u32) -> Quantity {
        Quantity::new(Decimal::from(n.max(1))).expect("a positive whole number is a valid quantity")
    }

    pub fn get(self) -> Decimal {
        self.0
    }
}

/// A non-negative amount per unit (unit cost or unit price), not rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UnitAmount(Decimal);

impl UnitAmount {
    pub fn new(value: Decimal) -> Result<UnitAmount, ValueError> {
        let what = "unit amount";
        if value < Decimal::ZERO {
            return Err(ValueError::Negative { what, value });
        }
        if value > UNIT_AMOUNT_MAX {
            return Err(ValueError::TooLarge { what, value, max: UNIT_AMOUNT_MAX });
        }
        Ok(UnitAmount(value.normalize()))
    }

    pub fn get(self) -> Decimal {
        self.0
    }
}

/// Rounds an amount of money half-up to cents (accounting.md: "half-up rounding applied per line").
pub fn round_money(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The VAT rates in force in China: 13 %, 9 %, 6 % for general taxpayers, 3 % and 1 % for small-scale
/// taxpayers, and zero.
pub const VAT_RATES: [Decimal; 6] = [
    Decimal::from_parts(0, 0, 0, false, 0),
    Decimal::from_parts(1, 0, 0, false, 2),
    Decimal::from_parts(3, 0, 0, false, 2),
    Decimal::from_parts(6, 0, 0, false, 2),
    Decimal::from_parts(9, 0, 0, false, 2),
    Decimal::from_parts(13, 0, 0, false, 2),
];

/// Whether `rate` is a VAT rate in force (however many trailing zeros it is written with).
pub fn is_vat_rate(rate: Decimal) -> bool {
    VAT_RATES.contains(&rate)
}

/// The amounts of a document line, each rounded half-up to cents where it is computed (accounting.md:
/// VAT is computed and rounded per line): `(net, tax)` with `net = round(qty × unit_price)` and
/// `tax = round(net × vat_rate)`.
pub fn line_amounts(qty: Decimal, unit_price: Decimal, vat_rate: Decimal) -> (Decimal, Decimal) {
    let net = round_money(qty * unit_price);
    (net, round_money(net * vat_rate))
}

/// A short, trimmed, non-empty text such as a lot number, a bin code or a reason.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Code(String);

impl Code {
    /// Longest code accepted.
    pub const LEN_MAX: usize = 64;

    pub fn new(what: &'static str, value: &str) -> Result<Code, ValueError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ValueError::Empty { what });
        }
        if value.chars().count() > Self::LEN_MAX {
            return Err(ValueError::TooLong { what, max: Self::LEN_MAX });
        }
        Ok(Code(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn quantities_must_be_positive_bounded_and_at_most_four_decimals() {
        assert_eq!(Quantity::new(d("0")).unwrap_err().code(), "value.not_positive");
        assert_eq!(Quantity::new(d("-1")).unwrap_err().code(), "value.not_positive");
        assert_eq!(Quantity::new(d("1.00001")).unwrap_err().code(), "value.too_precise");
        assert_eq!(Quantity::new(d("1000000001")).unwrap_err().code(), "value.too_large");
        assert_eq!(Quantity::new(d("2.50000")).unwrap().get(), d("2.5"), "trailing zeros are not precision");
    }

    #[test]
    fn money_rounds_half_up_to_cents() {
        assert_eq!(round_money(d("1.005")), d("1.01"));
        assert_eq!(round_money(d("1.004")), d("1.00"));
        assert_eq!(round_money(d("-1.005")), d("-1.01"));
    }

    #[test]
    fn vat_rates_are_the_ones_in_force_and_line_amounts_round_per_line() {
        assert!(is_vat_rate(d("0.13")) && is_vat_rate(d("0.130")) && is_vat_rate(d("0")));
        assert!(!is_vat_rate(d("0.17")));
        assert_eq!(line_amounts(d("3"), d("10.005"), d("0.13")), (d("30.02"), d("3.90")));
    }

    #[test]
    fn codes_are_trimmed_and_bounded() {
        assert_eq!(Code::new("lot", "  L-1 ").unwrap().as_str(), "L-1");
        assert_eq!(Code::new("lot", "   ").unwrap_err().code(), "value.empty");
        assert_eq!(Code::new("lot", &"x".repeat(65)).unwrap_err().code(), "value.too_long");
    }
}

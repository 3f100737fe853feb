//! The owner's dashboard (老板驾驶舱): revenue, cost of sales and gross margin, orders, sales by channel
//! and by region, the top customers and items, and daily series, folded from the business events
//! (invoices, returns, costed shipments, placed orders, the partner master's regions). Cash, receivables,
//! payables and inventory come from the ledger, open-item and stock models at query time.
//!
//! Days are the book's local days (China Standard Time). Revenue is invoiced net, less customer returns'
//! red invoices; cost of sales is the cost shipments and returns carried; orders count when placed.

use std::collections::BTreeMap;

use domain::master::PartnerEvent;
use domain::returns::{ReturnDirection, ReturnEvent};
use domain::sales::{SalesInvoiceEvent, SalesOrderEvent, ShipmentEvent};
use domain::time::{CHINA_UTC_OFFSET_MINUTES, local_day};
use domain::{ItemId, PartnerId, Timestamp};
use rust_decimal::Decimal;

use crate::fact::Fact;
use serde::{Deserialize, Serialize};

/// One day's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Day {
    pub revenue: Decimal,
    pub cost_of_sales: Decimal,
    pub orders: u64,
    pub ordered: Decimal,
}

/// What a customer or an item brought in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Takings {
    pub qty: Decimal,
    pub revenue: Decimal,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Local day (days since 1970-01-01) → figures.
    days: BTreeMap<i64, Day>,
    customers: BTreeMap<PartnerId, Takings>,
    items: BTreeMap<ItemId, Takings>,
    /// Ordered gross by channel and by the customer's region when ordering.
    channels: BTreeMap<String, Decimal>,
    regions: BTreeMap<String, Decimal>,
    partner_regions: BTreeMap<PartnerId, String>,
}

/// The figures over a range of days.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub revenue: Decimal,
    pub cost_of_sales: Decimal,
    pub gross_margin: Decimal,
    pub orders: u64,
}

impl Dashboard {
    /// Folds one event recorded in `stream` with business time `at`.
    pub fn apply(&mut self, input: &Fact, stream: &str, at: Timestamp) {
        let day = local_day(at, CHINA_UTC_OFFSET_MINUTES);
        match input {
            Fact::SalesOrder(SalesOrderEvent::Placed(e)) => {
                let today = self.days.entry(day).or_default();
                today.orders += 1;
                today.ordered += e.amount_gross;
                *self.channels.entry(e.channel.segment().to_string()).or_default() += e.amount_gross;
                let region = self.partner_regions.get(&e.customer).cloned().unwrap_or_else(|| "—".into());
                *self.regions.entry(region).or_default() += e.amount_gross;
            }
            Fact::Shipment(ShipmentEvent::Costed(e)) => {
                self.days.entry(day).or_default().cost_of_sales += e.value;
            }
            Fact::SalesInvoice(SalesInvoiceEvent::Issued(e)) => {
                self.days.entry(day).or_default().revenue += e.amount_net;
                let customer = self.customers.entry(e.customer).or_default();
                customer.revenue += e.amount_net;
                customer.qty += e.lines.iter().map(|l| l.qty).sum::<Decimal>();
                for line in &e.lines {
                    let item = self.items.entry(line.item).or_default();
                    item.qty += line.qty;
                    item.revenue += line.amount_net;
                }
            }
            Fact::Return(ReturnEvent::Created(e)) if e.direction == ReturnDirection::FromCustomer => {
                self.days.entry(day).or_default().revenue -= e.amount_net;
                self.customers.entry(e.partner).or_default().revenue -= e.amount_net;
                for line in &e.lines {
                    let item = self.items.entry(line.item).or_default();
                    item.qty -= line.qty;
                    item.revenue -= line.amount_net;
                }
            }
            Fact::Return(ReturnEvent::Completed(e)) if e.direction == ReturnDirection::FromCustomer => {
                let cost: Decimal = e
                    .lines
                    .iter()
                    .filter_map(|l| l.unit_cost.map(|c| domain::values::round_money(l.qty * c)))
                    .sum();
                self.days.entry(day).or_default().cost_of_sales -= cost;
            }
            Fact::Partner(PartnerEvent::Created(d) | PartnerEvent::Changed(d)) => {
                if let Some(id) =
                    stream.strip_prefix("partner-").and_then(|id| uuid::Uuid::parse_str(id).ok())
                {
                    self.partner_regions.insert(PartnerId(id), d.region.clone());
                }
            }
            _ => {}
        }
    }

    /// The figures over local days [from, to) (all days when open-ended).
    pub fn totals(&self, from: Option<i64>, to: Option<i64>) -> Totals {
        let range = self.days.range(from.unwrap_or(i64::MIN)..to.unwrap_or(i64::MAX));
        let mut totals = Totals::default();
        for (_, day) in range {
            totals.revenue += day.revenue;
            totals.cost_of_sales += day.cost_of_sales;
            totals.orders += day.orders;
        }
        totals.gross_margin = totals.revenue - totals.cost_of_sales;
        totals
    }

    /// The daily series over [from, to).
    pub fn daily(&self, from: Option<i64>, to: Option<i64>) -> Vec<(i64, &Day)> {
        self.days.range(from.unwrap_or(i64::MIN)..to.unwrap_or(i64::MAX)).map(|(d, f)| (*d, f)).collect()
    }

    /// The `n` customers who brought in most revenue (ties by id).
    pub fn top_customers(&self, n: usize) -> Vec<(PartnerId, &Takings)> {
        let mut all: Vec<_> = self.customers.iter().map(|(p, t)| (*p, t)).collect();
        all.sort_by_key(|(p, t)| (std::cmp::Reverse(t.revenue), *p));
        all.truncate(n);
        all
    }

    /// The `n` items that brought in most revenue (ties by id).
    pub fn top_items(&self, n: usize) -> Vec<(ItemId, &Takings)> {
        let mut all: Vec<_> = self.items.iter().map(|(i, t)| (*i, t)).collect();
        all.sort_by_key(|(i, t)| (std::cmp::Reverse(t.revenue), *i));
        all.truncate(n);
        all
    }

    pub fn by_channel(&self) -> &BTreeMap<String, Decimal> {
        &self.channels
    }

    pub fn by_region(&self) -> &BTreeMap<String, Decimal> {
        &self.regions
    }
}

impl crate::runtime::ReadModel for Dashboard {
    const NAME: &'static str = "dashboard";
    const VERSION: u32 = 1;

    fn apply(&mut self, event: &infra::Envelope<'_>, fact: &Fact) {
        Dashboard::apply(self, fact, event.stream_id, event.occurred_at);
    }
}

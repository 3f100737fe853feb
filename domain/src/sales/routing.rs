//! Order routing (智能分单): an order that names no warehouse is routed line by line to the nearest
//! warehouse, by the delivery city's coordinates, that can reserve the line, and split across the next
//! nearest ones when no single warehouse can. What no warehouse has goes to the nearest one, where
//! fulfilment backorders it.
//!
//! Pure: the warehouses' coordinates and available stock are facts read when the order is placed.
//! Distances rank warehouses only, so an equirectangular approximation (longitude scaled by the cosine
//! of the mean latitude, computed in decimals) is exact enough and needs no floating point.

use rust_decimal::Decimal;

use crate::ids::{ItemId, WarehouseId};
use crate::sales::order::OrderLineInput;
use crate::values::Quantity;

/// A point on the map, in degrees (WGS 84).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coordinates {
    pub latitude: Decimal,
    pub longitude: Decimal,
}

/// A candidate warehouse: where it is and what it has available, per item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarehouseStock {
    pub warehouse: WarehouseId,
    pub location: Coordinates,
    pub available: Vec<(ItemId, Decimal)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    #[error("there is no active warehouse to route the order to")]
    NoWarehouse,
}

/// π to 28 digits (rust_decimal keeps its constant behind the `maths` feature, not needed otherwise).
const PI: Decimal = Decimal::from_parts(1_102_470_953, 185_874_565, 1_703_060_790, false, 28);

/// cos(x) for x in radians by its Taylor series: accurate to 1e-6 for |x| ≤ 1.2 (latitudes to 68°).
fn cos_radians(x: Decimal) -> Decimal {
    let x2 = x * x;
    let mut term = Decimal::ONE;
    let mut sum = Decimal::ONE;
    for n in 1..8u32 {
        term = -term * x2 / Decimal::from((2 * n - 1) * (2 * n));
        sum += term;
    }
    sum
}

/// A number that orders warehouses by their distance to `to` (the squared equirectangular distance).
fn distance_rank(from: Coordinates, to: Coordinates) -> Decimal {
    let degrees_to_radians = PI / Decimal::from(180);
    let mean_latitude = (from.latitude + to.latitude) / Decimal::TWO * degrees_to_radians;
    let dy = from.latitude - to.latitude;
    let dx = (from.longitude - to.longitude) * cos_radians(mean_latitude);
    dx * dx + dy * dy
}

/// Routes the lines that name no warehouse; lines that name one are kept as they are.
pub fn route_lines(
    delivery: Coordinates,
    lines: &[OrderLineInput],
    candidates: &[WarehouseStock],
) -> Result<Vec<OrderLineInput>, RoutingError> {
    let mut by_distance: Vec<&WarehouseStock> = candidates.iter().collect();
    by_distance.sort_by(|a, b| {
        distance_rank(a.location, delivery)
            .cmp(&distance_rank(b.location, delivery))
            .then(a.warehouse.cmp(&b.warehouse))
    });
    let nearest = by_distance.first().ok_or(RoutingError::NoWarehouse)?.warehouse;
    // What is left in each warehouse as lines take it (two lines of one item share the stock).
    let mut left: Vec<Vec<(ItemId, Decimal)>> = by_distance.iter().map(|w| w.available.clone()).collect();
    let available = |left: &Vec<Vec<(ItemId, Decimal)>>, w: usize, item: ItemId| {
        left[w].iter().find(|(i, _)| *i == item).map_or(Decimal::ZERO, |(_, q)| (*q).max(Decimal::ZERO))
    };
    let take = |left: &mut Vec<Vec<(ItemId, Decimal)>>, w: usize, item: ItemId, qty: Decimal| {
        if let Some(entry) = left[w].iter_mut().find(|(i, _)| *i == item) {
            entry.1 -= qty;
        }
    };
    let mut routed = Vec::with_capacity(lines.len());
    for line in lines {
        if line.warehouse.is_some() {
            routed.push(line.clone());
            continue;
        }
        let qty = line.qty.get();
        // One warehouse for the whole line, the nearest that can.
        if let Some(w) = (0..by_distance.len()).find(|&w| available(&left, w, line.item) >= qty) {
            take(&mut left, w, line.item, qty);
            routed.push(OrderLineInput { warehouse: Some(by_distance[w].warehouse), ..line.clone() });
            continue;
        }
        // Split: nearest first, as much as each has; the rest to the nearest warehouse.
        let mut remaining = qty;
        for (w, candidate) in by_distance.iter().enumerate() {
            let part = available(&left, w, line.item).min(remaining);
            if part > Decimal::ZERO {
                take(&mut left, w, line.item, part);
                remaining -= part;
                let part = Quantity::new(part).expect("a positive part of a valid quantity is valid");
                routed.push(OrderLineInput {
                    qty: part,
                    warehouse: Some(candidate.warehouse),
                    ..line.clone()
                });
            }
        }
        if remaining > Decimal::ZERO {
            let rest = Quantity::new(remaining).expect("a positive rest of a valid quantity is valid");
            routed.push(OrderLineInput { qty: rest, warehouse: Some(nearest), ..line.clone() });
        }
    }
    Ok(routed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::UnitAmount;
    use uuid::Uuid;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn at(latitude: &str, longitude: &str) -> Coordinates {
        Coordinates { latitude: d(latitude), longitude: d(longitude) }
    }

    fn item(n: u128) -> ItemId {
        ItemId(Uuid::from_u128(n))
    }

    fn warehouse(n: u128) -> WarehouseId {
        WarehouseId(Uuid::from_u128(n))
    }

    // Shanghai, Beijing and Guangzhou warehouses; deliveries to Hangzhou (nearest Shanghai).
    fn candidates(shanghai: &str, beijing: &str, guangzhou: &str) -> Vec<WarehouseStock> {
        vec![
            WarehouseStock {
                warehouse: warehouse(2),
                location: at("39.9042", "116.4074"),
                available: vec![(item(1), d(beijing))],
            },
            WarehouseStock {
                warehouse: warehouse(3),
                location: at("23.1291", "113.2644"),
                available: vec![(item(1), d(guangzhou))],
            },
            WarehouseStock {
                warehouse: warehouse(1),
                location: at("31.2304", "121.4737"),
                available: vec![(item(1), d(shanghai))],
            },
        ]
    }

    fn hangzhou() -> Coordinates {
        at("30.2741", "120.1551")
    }

    fn line(qty: u32) -> OrderLineInput {
        OrderLineInput {
            item: item(1),
            qty: Quantity::units(qty),
            unit_price: UnitAmount::new(Decimal::ONE).unwrap(),
            vat_rate: d("0.13"),
            default_supplier: None,
            warehouse: None,
        }
    }

    fn routing(lines: &[OrderLineInput], stock: &[WarehouseStock]) -> Vec<(WarehouseId, Decimal)> {
        route_lines(hangzhou(), lines, stock)
            .unwrap()
            .iter()
            .map(|l| (l.warehouse.unwrap(), l.qty.get()))
            .collect()
    }

    #[test]
    fn a_line_goes_to_the_nearest_warehouse_that_can_reserve_all_of_it() {
        assert_eq!(routing(&[line(5)], &candidates("10", "10", "10")), vec![(warehouse(1), d("5"))]);
        // Shanghai is short; from Hangzhou, Guangzhou (about 9.4° away) is nearer than Beijing (10.1°).
        assert_eq!(routing(&[line(5)], &candidates("2", "10", "10")), vec![(warehouse(3), d("5"))]);
        assert_eq!(routing(&[line(5)], &candidates("2", "10", "0")), vec![(warehouse(2), d("5"))]);
    }

    #[test]
    fn a_line_no_single_warehouse_can_hold_is_split_nearest_first() {
        let routed = routing(&[line(10)], &candidates("4", "3", "5"));
        assert_eq!(routed[0], (warehouse(1), d("4")), "the nearest gives what it has first");
        let total: Decimal = routed.iter().map(|(_, q)| *q).sum();
        assert_eq!(total, d("10"));
    }

    #[test]
    fn what_no_warehouse_has_goes_to_the_nearest_to_be_backordered() {
        let routed = routing(&[line(20)], &candidates("4", "3", "5"));
        assert_eq!(routed.last(), Some(&(warehouse(1), d("8"))));
        assert_eq!(routed.iter().map(|(_, q)| *q).sum::<Decimal>(), d("20"));
    }

    #[test]
    fn lines_of_the_same_item_share_what_a_warehouse_has() {
        let routed = routing(&[line(6), line(6)], &candidates("10", "0", "10"));
        assert_eq!(routed[0], (warehouse(1), d("6")));
        assert_eq!(routed[1].0, warehouse(3), "only 4 left in Shanghai");
    }

    #[test]
    fn a_line_that_names_its_warehouse_is_kept_and_no_warehouse_is_an_error() {
        let mut fixed = line(1);
        fixed.warehouse = Some(warehouse(9));
        assert_eq!(
            routing(std::slice::from_ref(&fixed), &candidates("10", "10", "10")),
            vec![(warehouse(9), d("1"))]
        );
        assert_eq!(route_lines(hangzhou(), &[line(1)], &[]), Err(RoutingError::NoWarehouse));
    }

    #[test]
    fn the_cosine_series_is_accurate_over_china() {
        let half = cos_radians(PI / Decimal::from(3));
        assert!((half - d("0.5")).abs() < d("0.000001"), "{half}");
    }
}

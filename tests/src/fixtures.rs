//! Master data for flow tests: placing a document reads its masters (ADR 0008), so a test that places
//! orders creates the customers, items and warehouses they name first.

use command_api::CommandBus;
use domain::inventory::CostingMethod;
use domain::master::{
    Item, ItemCommand, ItemDetails, Partner, PartnerCommand, PartnerDetails, PartnerRoles, Warehouse,
    WarehouseCommand, WarehouseDetails,
};
use domain::{BookId, CommandId, CommandMeta, ItemId, PartnerId, Timestamp, WarehouseId};
use infra::EventStore;
use rust_decimal::Decimal;
use uuid::Uuid;

fn admin(id: Uuid) -> CommandMeta {
    // Derived from the master's id, so creating the same fixtures twice is recognised as a retry.
    CommandMeta::new(
        CommandId(Uuid::new_v5(&id, b"fixture")),
        "admin",
        BookId(Uuid::from_u128(1)),
        Timestamp(0),
    )
}

/// Creates active customers (cash only), items (FIFO, 13 % VAT) and warehouses with these ids.
pub async fn masters<S: EventStore>(
    bus: &CommandBus<S>,
    customers: &[PartnerId],
    items: &[ItemId],
    warehouses: &[WarehouseId],
) {
    for (n, &id) in customers.iter().enumerate() {
        let details = PartnerDetails {
            name: format!("customer {n}"),
            roles: PartnerRoles { customer: true, supplier: false },
            tax_id: None,
            credit_limit: Decimal::ZERO,
            payment_terms_days: 30,
            region: "上海".into(),
        };
        bus.execute::<Partner>(&admin(id.0), &PartnerCommand::Create { id, details })
            .await
            .expect("customer");
    }
    for (n, &id) in items.iter().enumerate() {
        let details = ItemDetails {
            sku: format!("SKU-{n}"),
            name: format!("item {n}"),
            unit: "个".into(),
            barcode: None,
            vat_rate: Decimal::new(13, 2),
            costing: CostingMethod::Fifo,
            safety_stock: Decimal::ZERO,
            reorder_qty: Decimal::ZERO,
            default_supplier: None,
            lead_time_days: 7,
        };
        bus.execute::<Item>(&admin(id.0), &ItemCommand::Create { id, details }).await.expect("item");
    }
    for (n, &id) in warehouses.iter().enumerate() {
        let details = WarehouseDetails {
            code: format!("W{n}"),
            name: format!("warehouse {n}"),
            city: "上海".into(),
            latitude: Decimal::new(3123, 2),
            longitude: Decimal::new(12147, 2),
            bins: Vec::new(),
        };
        bus.execute::<Warehouse>(&admin(id.0), &WarehouseCommand::Create { id, details })
            .await
            .expect("warehouse");
    }
}

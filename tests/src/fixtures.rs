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
            kind: domain::master::ItemKind::Goods,
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

/// A book in China Standard Time whose first month is `first_period`, posting automatic vouchers
/// without review, with the 小企业会计准则 chart.
pub async fn book<S: EventStore>(bus: &CommandBus<S>, id: BookId, first_period: domain::time::Period) {
    use domain::finance::accounts::Standard;
    use domain::finance::book::{Book, BookCommand, BookSettings, VatStatus};
    let settings = BookSettings {
        name: "上海示例贸易有限公司".into(),
        standard: Standard::SmallEnterprise,
        first_period,
        vat: VatStatus::General,
        allow_negative_stock: false,
        auto_post: true,
        utc_offset_minutes: domain::time::CHINA_UTC_OFFSET_MINUTES,
    };
    let finance = admin(id.0).with_roles(&[domain::Role::Finance]);
    bus.execute::<Book>(&finance, &BookCommand::Create { id, settings }).await.expect("book");
}

/// An active supplier.
pub async fn supplier<S: EventStore>(bus: &CommandBus<S>, id: PartnerId, name: &str) {
    let details = PartnerDetails {
        name: name.into(),
        roles: PartnerRoles { customer: false, supplier: true },
        tax_id: None,
        credit_limit: Decimal::ZERO,
        payment_terms_days: 30,
        region: "浙江".into(),
    };
    bus.execute::<Partner>(&admin(id.0), &PartnerCommand::Create { id, details }).await.expect("supplier");
}

/// Runs every process manager of the trading flows, automatic vouchers included, until a whole round
/// finds nothing to do (each one's commands feed the next); answers how many automatic vouchers were
/// refused.
pub async fn run_process_managers(bus: &CommandBus<infra::EmbeddedStore>, dir: &std::path::Path) -> u64 {
    use command_api::{FileCheckpoints, ProcessRunner};
    use domain::process::auto_vouchers::AutoVouchers;
    use domain::process::customer_accounts::CustomerAccounts;
    use domain::process::order_fulfilment::OrderFulfilment;
    use domain::process::price_differences::PriceDifferences;
    use domain::process::production::Production;
    use domain::process::receipt_allocation::ReceiptAllocation;
    use domain::process::receiving::Receiving;
    use domain::process::returns::Returns;
    use domain::process::shipping::Shipping;
    use domain::process::stocktake_posting::StocktakePosting;
    use domain::process::supplier_payment::SupplierPaymentAllocation;
    use domain::process::transfers::Transfers;
    let mut refused = 0;
    loop {
        let head = bus.store().head_position().await.expect("head");
        let c = FileCheckpoints::new(dir);
        let quiet = "a process manager stopped";
        ProcessRunner::new(bus.clone(), Receiving, c.clone(), 1 << 20).run_until_quiet().await.expect(quiet);
        ProcessRunner::new(bus.clone(), OrderFulfilment, c.clone(), 1 << 20)
            .run_until_quiet()
            .await
            .expect(quiet);
        ProcessRunner::new(bus.clone(), Shipping, c.clone(), 1 << 20).run_until_quiet().await.expect(quiet);
        ProcessRunner::new(bus.clone(), ReceiptAllocation, c.clone(), 1 << 20)
            .run_until_quiet()
            .await
            .expect(quiet);
        ProcessRunner::new(bus.clone(), SupplierPaymentAllocation, c.clone(), 1 << 20)
            .run_until_quiet()
            .await
            .expect(quiet);
        ProcessRunner::new(bus.clone(), Transfers, c.clone(), 1 << 20).run_until_quiet().await.expect(quiet);
        ProcessRunner::new(bus.clone(), StocktakePosting, c.clone(), 1 << 20)
            .run_until_quiet()
            .await
            .expect(quiet);
        ProcessRunner::new(bus.clone(), PriceDifferences, c.clone(), 1 << 20)
            .run_until_quiet()
            .await
            .expect(quiet);
        ProcessRunner::new(bus.clone(), Production, c.clone(), 1 << 20).run_until_quiet().await.expect(quiet);
        ProcessRunner::new(bus.clone(), Returns, c.clone(), 1 << 20).run_until_quiet().await.expect(quiet);
        ProcessRunner::new(bus.clone(), CustomerAccounts, c.clone(), 1 << 20)
            .run_until_quiet()
            .await
            .expect(quiet);
        let mut vouchers = ProcessRunner::new(bus.clone(), AutoVouchers, c, 1 << 20);
        vouchers.run_until_quiet().await.expect(quiet);
        refused += vouchers.stats.commands_rejected;
        if bus.store().head_position().await.expect("head") == head {
            return refused;
        }
    }
}

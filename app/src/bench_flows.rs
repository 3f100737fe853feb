//! `erp bench order-to-cash`: business flows through the in-process command bus with the process
//! managers live (W3: place → reserve → ready to pick → ship → issue from stock → shipment costed →
//! invoice → receipt → allocated → paid). Vouchers join the flow with the finance issue.
#![allow(clippy::float_arithmetic)] // Rates and ratios for reporting only; no money passes here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use command_api::sales::{issue_sales_invoice, place_sales_order};
use command_api::{CommandBus, FileCheckpoints, ProcessRunner};
use domain::Role;
use domain::finance::accounts::Standard;
use domain::finance::book::{Book, BookCommand, BookSettings, VatStatus};
use domain::inventory::{CostingMethod, DocRef, StockCommand, StockItem, StockKey, StockPolicy};
use domain::master::{
    Item, ItemCommand, ItemDetails, Partner, PartnerCommand, PartnerDetails, PartnerRoles, Warehouse,
    WarehouseCommand, WarehouseDetails,
};
use domain::process::ProcessManager;
use domain::process::auto_vouchers::AutoVouchers;
use domain::process::order_fulfilment::{OrderFulfilment, line_reservation};
use domain::process::receipt_allocation::ReceiptAllocation;
use domain::process::shipping::Shipping;
use domain::sales::{
    Allocation, Channel, CreditFacts, CustomerReceipt, CustomerReceiptCommand, InvoiceLineInput,
    OrderLineInput, SalesInvoiceCommand, SalesInvoiceEvent, SalesOrderCommand, SalesOrderEvent, Shipment,
    ShipmentCommand, ShipmentEvent, ShipmentLineInput,
};
use domain::time::{CHINA_UTC_OFFSET_MINUTES, Period};
use domain::values::{Quantity, UnitAmount};
use domain::{
    BookId, CommandId, CommandMeta, CustomerReceiptId, ItemId, PartnerId, SalesInvoiceId, SalesOrderId,
    ShipmentId, Timestamp, WarehouseId,
};
use infra::codec::decode_domain_event;
use infra::{EmbeddedStore, EventStore, Subscription};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::bench::{peak_rss_mib, percentile, runtime, scratch};
use crate::cli::BenchCommon;

const ITEMS: u64 = 1_000;
const WAREHOUSES: u64 = 2;
const CUSTOMERS: u64 = 500;
/// How often the process managers save their checkpoints (as a service would run them).
const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

fn meta(namespace: u64, n: u64) -> CommandMeta {
    meta_at(namespace, n, Timestamp(0))
}

fn meta_at(namespace: u64, n: u64, at: Timestamp) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u64_pair(namespace, n)), "bench", BookId(Uuid::from_u128(1)), at)
}

const DAY_MICROS: i64 = 86_400_000_000;

fn item(n: u64) -> ItemId {
    ItemId(Uuid::from_u64_pair(0x17e5, n % ITEMS))
}

fn warehouse(n: u64) -> WarehouseId {
    WarehouseId(Uuid::from_u64_pair(0x3a7e, n % WAREHOUSES))
}

fn order(n: u64) -> SalesOrderCommand {
    // A cheap deterministic spread of SKUs: three distinct items per order.
    let base = n.wrapping_mul(2_654_435_761) % ITEMS;
    let lines = (0..3)
        .map(|k| OrderLineInput {
            item: item(base + k * 331),
            qty: Quantity::units(1 + (n % 3) as u32),
            unit_price: UnitAmount::new(Decimal::new(1990 + (k as i64) * 100, 2)).expect("valid price"),
            vat_rate: Decimal::new(13, 2),
            default_supplier: None,
            warehouse: None,
        })
        .collect();
    SalesOrderCommand::Place {
        id: SalesOrderId(Uuid::from_u64_pair(0x0de7, n)),
        customer: PartnerId(Uuid::from_u64_pair(0xc057, n % CUSTOMERS)),
        channel: Channel::Direct,
        warehouse: warehouse(n),
        lines,
        credit: CreditFacts { limit: Decimal::new(1_000_000_000, 0), open_receivables: Decimal::ZERO },
        masters_usable: true,
    }
}

/// Master `n` of the benchmark company: items first, then customers, then warehouses.
async fn create_master(bus: &CommandBus<EmbeddedStore>, n: u64) -> anyhow::Result<()> {
    let m = meta(0x3a57, n);
    let failed = |e: &dyn std::fmt::Display| anyhow::anyhow!("master {n}: {e}");
    if n < ITEMS {
        let details = ItemDetails {
            sku: format!("SKU-{n:05}"),
            name: format!("商品 {n}"),
            unit: "个".into(),
            barcode: None,
            vat_rate: Decimal::new(13, 2),
            costing: CostingMethod::MovingAverage,
            safety_stock: Decimal::ZERO,
            reorder_qty: Decimal::ZERO,
            default_supplier: None,
            lead_time_days: 7,
            kind: domain::master::ItemKind::Goods,
        };
        bus.execute::<Item>(&m, &ItemCommand::Create { id: item(n), details })
            .await
            .map_err(|e| failed(&e))?;
    } else if n < ITEMS + CUSTOMERS {
        let c = n - ITEMS;
        let details = PartnerDetails {
            name: format!("客户 {c}"),
            roles: PartnerRoles { customer: true, supplier: false },
            tax_id: None,
            credit_limit: Decimal::new(1_000_000_000, 0),
            payment_terms_days: 30,
            region: "华东".into(),
        };
        let id = PartnerId(Uuid::from_u64_pair(0xc057, c));
        bus.execute::<Partner>(&m, &PartnerCommand::Create { id, details }).await.map_err(|e| failed(&e))?;
    } else {
        let w = n - ITEMS - CUSTOMERS;
        let details = WarehouseDetails {
            code: format!("W{w}"),
            name: format!("仓库 {w}"),
            city: "上海".into(),
            latitude: Decimal::new(3123, 2),
            longitude: Decimal::new(12147, 2),
            bins: Vec::new(),
        };
        let create = WarehouseCommand::Create { id: warehouse(w), details };
        bus.execute::<Warehouse>(&m, &create).await.map_err(|e| failed(&e))?;
    }
    Ok(())
}

pub(crate) fn order_to_cash(
    common: &BenchCommon,
    orders: u64,
    concurrency: usize,
    vouchers: bool,
    projections: bool,
    days: u32,
    keep: Option<&std::path::Path>,
) -> anyhow::Result<Value> {
    let scratch_dir;
    let dir: &std::path::Path = match keep {
        Some(keep) => {
            anyhow::ensure!(!keep.join("log").exists(), "{} holds a log already", keep.display());
            std::fs::create_dir_all(keep)?;
            keep
        }
        None => {
            scratch_dir = scratch(common)?;
            scratch_dir.path()
        }
    };
    // Order n's business time: spread evenly over `days` (all on day 0 when 0).
    let at = move |n: u64| {
        Timestamp(if days == 0 { 0 } else { (n * u64::from(days) / orders) as i64 * DAY_MICROS })
    };
    let store = EmbeddedStore::open_dir(dir.join("log"))?;
    let bus = CommandBus::new(store.clone());
    let rt = runtime()?;
    rt.block_on(async {
        // The masters every order names (placing reads them), then stock of every item in both
        // warehouses, plenty of it, concurrently.
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..64u64 {
            let bus = bus.clone();
            tasks.spawn(async move {
                let mut n = w;
                while n < ITEMS + CUSTOMERS + WAREHOUSES {
                    create_master(&bus, n).await?;
                    n += 64;
                }
                anyhow::Ok(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        if vouchers {
            // The book the vouchers go to: its first month holds the benchmark's business time.
            let settings = BookSettings {
                name: "基准公司".into(),
                standard: Standard::SmallEnterprise,
                first_period: Period::containing(Timestamp(0), CHINA_UTC_OFFSET_MINUTES),
                vat: VatStatus::General,
                allow_negative_stock: false,
                auto_post: true,
                utc_offset_minutes: CHINA_UTC_OFFSET_MINUTES,
            };
            let create = BookCommand::Create { id: BookId(Uuid::from_u128(1)), settings };
            let finance = meta(0xb00c, 0).with_roles(&[Role::Finance]);
            bus.execute::<Book>(&finance, &create).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        for w in 0..64u64 {
            let bus = bus.clone();
            tasks.spawn(async move {
                let mut n = w;
                while n < ITEMS * WAREHOUSES {
                    let receive = StockCommand::Receive {
                        key: StockKey { item: item(n / WAREHOUSES), warehouse: warehouse(n) },
                        policy: StockPolicy {
                            costing: CostingMethod::MovingAverage,
                            safety_stock: Decimal::ZERO,
                            allow_negative: false,
                        },
                        qty: Quantity::units(1_000_000),
                        unit_cost: UnitAmount::new(Decimal::new(1200, 2)).expect("valid cost"),
                        lot: None,
                        bin: None,
                        source: DocRef {
                            kind: "purchasing.GoodsReceipt".into(),
                            id: Uuid::from_u64_pair(7, n),
                            line: None,
                        },
                    };
                    bus.execute::<StockItem>(&meta(0x5e7, n), &receive)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    n += 64;
                }
                anyhow::Ok(())
            });
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        anyhow::Ok(())
    })?;
    let setup_head = store.head_position_now();
    let setup_stats = store.writer_stats();

    // Each client waits for its order to be ready to pick before placing the next: a closed loop over
    // the whole flow, so latency is the flow's own and not a queue's.
    // Keyed by the order id (ready to pick) or the shipment id (costed).
    type Waiters = Arc<Mutex<HashMap<Uuid, tokio::sync::oneshot::Sender<()>>>>;
    let waiters: Waiters = Arc::new(Mutex::new(HashMap::new()));
    let started = Instant::now();
    let (latencies, finished) = rt.block_on(async {
        // The process manager, live.
        let checkpoints = FileCheckpoints::new(dir);
        checkpoints.save(OrderFulfilment::NAME, setup_head)?;
        checkpoints.save(Shipping::NAME, setup_head)?;
        let mut fulfilment = ProcessRunner::new(bus.clone(), OrderFulfilment, checkpoints.clone(), 256)
            .with_save_interval(CHECKPOINT_INTERVAL);
        let fulfilment = tokio::spawn(async move { fulfilment.run_until(u64::MAX).await });
        let mut shipping = ProcessRunner::new(bus.clone(), Shipping, checkpoints.clone(), 256)
            .with_save_interval(CHECKPOINT_INTERVAL);
        let shipping = tokio::spawn(async move { shipping.run_until(u64::MAX).await });
        checkpoints.save(ReceiptAllocation::NAME, setup_head)?;
        checkpoints.save(AutoVouchers::NAME, setup_head)?;
        let voucher_runner = vouchers.then(|| {
            let mut runner = ProcessRunner::new(bus.clone(), AutoVouchers, checkpoints.clone(), 256)
                .with_save_interval(CHECKPOINT_INTERVAL);
            tokio::spawn(async move { runner.run_until(u64::MAX).await })
        });
        let mut allocation = ProcessRunner::new(bus.clone(), ReceiptAllocation, checkpoints, 256)
            .with_save_interval(CHECKPOINT_INTERVAL);
        let allocation = tokio::spawn(async move { allocation.run_until(u64::MAX).await });
        // Completion: each order's ReadyToPick, seen on the log.
        let watcher = {
            let store = store.clone();
            let waiters = waiters.clone();
            tokio::spawn(async move {
                let mut subscription = store.subscribe_all(setup_head);
                let mut done = 0u64;
                let mut posted = 0u64;
                // Cost of sales, sales invoice and receipt: three vouchers a flow.
                let vouchers_expected = if vouchers { 3 * orders } else { 0 };
                while done < orders || posted < vouchers_expected {
                    let event = subscription.next().await?;
                    let key = match event.event_type.name() {
                        "finance.VoucherPosted" => {
                            posted += 1;
                            continue;
                        }
                        "sales.SalesOrderReadyToPick" => {
                            match decode_domain_event::<SalesOrderEvent>(&event.event_type, &event.payload)? {
                                SalesOrderEvent::ReadyToPick(ready) => ready.id.0,
                                _ => continue,
                            }
                        }
                        "sales.ShipmentCosted" => {
                            match decode_domain_event::<ShipmentEvent>(&event.event_type, &event.payload)? {
                                ShipmentEvent::Costed(costed) => costed.id.0,
                                _ => continue,
                            }
                        }
                        "sales.SalesInvoicePaid" => {
                            match decode_domain_event::<SalesInvoiceEvent>(&event.event_type, &event.payload)?
                            {
                                SalesInvoiceEvent::Paid(paid) => {
                                    done += 1;
                                    paid.id.0
                                }
                                _ => continue,
                            }
                        }
                        _ => continue,
                    };
                    if let Some(tx) = waiters.lock().expect("lock").remove(&key) {
                        let _ = tx.send(());
                    }
                }
                anyhow::Ok(Instant::now())
            })
        };
        let mut clients = tokio::task::JoinSet::new();
        for c in 0..concurrency as u64 {
            let bus = bus.clone();
            let waiters = waiters.clone();
            clients.spawn(async move {
                let mut latencies = Vec::new();
                let mut n = c;
                while n < orders {
                    let placed = Instant::now();
                    let order_id = SalesOrderId(Uuid::from_u64_pair(0x0de7, n));
                    let (ready_tx, ready) = tokio::sync::oneshot::channel();
                    waiters.lock().expect("lock").insert(order_id.0, ready_tx);
                    let command = order(n);
                    place_sales_order(&bus, &meta_at(0x0de7, n, at(n)), &command)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    ready.await?;
                    // Pick everything and ship it.
                    let SalesOrderCommand::Place { warehouse, lines, .. } = command else {
                        unreachable!("placed above")
                    };
                    let shipment = ShipmentId(Uuid::from_u64_pair(0x5417, n));
                    let (costed_tx, costed) = tokio::sync::oneshot::channel();
                    waiters.lock().expect("lock").insert(shipment.0, costed_tx);
                    let create = ShipmentCommand::Create {
                        id: shipment,
                        order: order_id,
                        warehouse,
                        lines: lines
                            .iter()
                            .enumerate()
                            .map(|(i, l)| ShipmentLineInput {
                                order_line: i as u32,
                                item: l.item,
                                qty: l.qty,
                                reservation: Some(line_reservation(order_id, i as u32)),
                            })
                            .collect(),
                    };
                    let pick = ShipmentCommand::Pick {
                        id: shipment,
                        picked: lines.iter().map(|l| l.qty.get()).collect(),
                    };
                    // The warehouse picks and ships at once: the three commands go to the shipment's
                    // stream together (one append), each keeping its own command id and outcome.
                    let ship = ShipmentCommand::Ship { id: shipment };
                    let metas =
                        [meta_at(0x5417, n, at(n)), meta_at(0x5418, n, at(n)), meta_at(0x5419, n, at(n))];
                    let steps = [(&metas[0], &create), (&metas[1], &pick), (&metas[2], &ship)];
                    for outcome in
                        bus.execute_all::<Shipment>(&steps).await.map_err(|e| anyhow::anyhow!("{e}"))?
                    {
                        outcome.map_err(|e| anyhow::anyhow!("shipment {n}: {e}"))?;
                    }
                    costed.await?;
                    // Invoice the shipment, receive the money, wait until the invoice is paid.
                    let invoice = SalesInvoiceId(Uuid::from_u64_pair(0x1a7c, n));
                    let (paid_tx, paid) = tokio::sync::oneshot::channel();
                    waiters.lock().expect("lock").insert(invoice.0, paid_tx);
                    let issue = SalesInvoiceCommand::Issue {
                        id: invoice,
                        customer: PartnerId(Uuid::from_u64_pair(0xc057, n % CUSTOMERS)),
                        lines: lines
                            .iter()
                            .map(|l| InvoiceLineInput {
                                shipment,
                                item: l.item,
                                qty: l.qty,
                                unit_price: l.unit_price,
                                vat_rate: l.vat_rate,
                            })
                            .collect(),
                        due_at: Timestamp(at(n).0 + 30 * DAY_MICROS),
                        masters_usable: true,
                    };
                    let issued = issue_sales_invoice(&bus, &meta_at(0x1a7c, n, at(n)), &issue)
                        .await
                        .map_err(|e| anyhow::anyhow!("{}", e.code()))?;
                    let Some(SalesInvoiceEvent::Issued(issued)) = issued.events.first() else {
                        anyhow::bail!("invoice {n} was not issued");
                    };
                    let receipt = CustomerReceiptCommand::Record {
                        id: CustomerReceiptId(Uuid::from_u64_pair(0x2ec7, n)),
                        customer: issued.customer,
                        amount: issued.amount_gross,
                        allocation: Allocation::Explicit(vec![(invoice, issued.amount_gross)]),
                    };
                    bus.execute::<CustomerReceipt>(&meta_at(0x2ec7, n, at(n)), &receipt)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    paid.await?;
                    latencies.push(placed.elapsed().as_micros() as u64);
                    n += concurrency as u64;
                }
                anyhow::Ok(latencies)
            });
        }
        let mut latencies = Vec::with_capacity(orders as usize);
        while let Some(done) = clients.join_next().await {
            latencies.extend(done??);
        }
        let finished = watcher.await??;
        fulfilment.abort();
        shipping.abort();
        allocation.abort();
        if let Some(runner) = voucher_runner {
            runner.abort();
        }
        anyhow::Ok((latencies, finished))
    })?;
    let seconds = finished.duration_since(started).as_secs_f64();
    let events = store.head_position_now() - setup_head;
    let stats = store.writer_stats();
    let (appends, groups) = (stats.appends - setup_stats.appends, stats.groups - setup_stats.groups);
    let mut latencies = latencies;
    latencies.sort_unstable();
    let replay = if projections { Some(crate::bench_read::fold_whole_log(&store)?) } else { None };
    store.close()?;
    let (replay_events, replay_seconds, per_model) = replay.unwrap_or((0, 0.0, Value::Null));
    Ok(json!({
        "projections_seconds_breakdown": per_model,
        "projections_events": replay_events,
        "projections_seconds": replay_seconds,
        "projections_events_per_sec": if replay_seconds > 0.0 { replay_events as f64 / replay_seconds } else { 0.0 },
        "workload": "W3 order-to-cash (place 3 lines → reserve → ship → issue → invoice → receive → paid)",
        "orders": orders,
        "concurrency": concurrency,
        "seconds": seconds,
        "flows_per_sec": orders as f64 / seconds,
        "events_per_sec": events as f64 / seconds,
        "events_per_flow": events as f64 / orders as f64,
        "appends_per_flow": appends as f64 / orders as f64,
        "appends_per_fsync": appends as f64 / groups.max(1) as f64,
        "fsyncs_per_sec": groups as f64 / seconds,
        "fsync_mean_us": (stats.sync_micros - setup_stats.sync_micros) as f64 / groups.max(1) as f64,
        "p50_us": percentile(&latencies, 0.5),
        "p99_us": percentile(&latencies, 0.99),
        "target_flows_per_sec": 5000,
        "vouchers": vouchers,
        "peak_rss_mib": peak_rss_mib(),
    }))
}

//! `erp bench order-to-cash`: business flows through the in-process command bus with the
//! order-fulfilment process manager live (W3, as far as the flows reach today: place → reserve →
//! ready to pick). Shipment, invoice and receipt join the flow with their issues.
#![allow(clippy::float_arithmetic)] // Rates and ratios for reporting only; no money passes here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use command_api::sales::place_sales_order;
use command_api::{CommandBus, FileCheckpoints, ProcessRunner};
use domain::inventory::{CostingMethod, DocRef, StockCommand, StockItem, StockKey, StockPolicy};
use domain::process::ProcessManager;
use domain::process::order_fulfilment::OrderFulfilment;
use domain::sales::{Channel, CreditFacts, OrderLineInput, SalesOrderCommand, SalesOrderEvent};
use domain::values::{Quantity, UnitAmount};
use domain::{BookId, CommandId, CommandMeta, ItemId, PartnerId, SalesOrderId, Timestamp, WarehouseId};
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

fn meta(namespace: u64, n: u64) -> CommandMeta {
    CommandMeta::new(
        CommandId(Uuid::from_u64_pair(namespace, n)),
        "bench",
        BookId(Uuid::from_u128(1)),
        Timestamp(0),
    )
}

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

pub(crate) fn order_to_reservation(
    common: &BenchCommon,
    orders: u64,
    concurrency: usize,
) -> anyhow::Result<Value> {
    let dir = scratch(common)?;
    let store = EmbeddedStore::open_dir(dir.path().join("log"))?;
    let bus = CommandBus::new(store.clone());
    let rt = runtime()?;
    rt.block_on(async {
        // Stock every item in both warehouses, plenty of it, concurrently.
        let mut tasks = tokio::task::JoinSet::new();
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

    // Each client waits for its order to be ready to pick before placing the next: a closed loop over
    // the whole flow, so latency is the flow's own and not a queue's.
    type Waiters = Arc<Mutex<HashMap<SalesOrderId, (Instant, tokio::sync::oneshot::Sender<u64>)>>>;
    let waiters: Waiters = Arc::new(Mutex::new(HashMap::new()));
    let started = Instant::now();
    let (latencies, finished) = rt.block_on(async {
        // The process manager, live.
        let checkpoints = FileCheckpoints::new(dir.path());
        checkpoints.save(OrderFulfilment::NAME, setup_head)?;
        let mut runner = ProcessRunner::new(bus.clone(), OrderFulfilment, checkpoints, 256);
        let runner = tokio::spawn(async move { runner.run_until(u64::MAX).await });
        // Completion: each order's ReadyToPick, seen on the log.
        let watcher = {
            let store = store.clone();
            let waiters = waiters.clone();
            tokio::spawn(async move {
                let mut subscription = store.subscribe_all(setup_head);
                let mut done = 0u64;
                while done < orders {
                    let event = subscription.next().await?;
                    if event.event_type.name() != "sales.SalesOrderReadyToPick" {
                        continue;
                    }
                    let decoded: SalesOrderEvent = decode_domain_event(&event.event_type, &event.payload)?;
                    let SalesOrderEvent::ReadyToPick(ready) = decoded else { continue };
                    if let Some((placed, tx)) = waiters.lock().expect("lock").remove(&ready.id) {
                        let _ = tx.send(placed.elapsed().as_micros() as u64);
                        done += 1;
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
                    let command = order(n);
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    waiters
                        .lock()
                        .expect("lock")
                        .insert(SalesOrderId(Uuid::from_u64_pair(0x0de7, n)), (Instant::now(), tx));
                    place_sales_order(&bus, &meta(0x0de7, n), &command)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    latencies.push(rx.await?);
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
        runner.abort();
        anyhow::Ok((latencies, finished))
    })?;
    let seconds = finished.duration_since(started).as_secs_f64();
    let events = store.head_position_now() - setup_head;
    let mut latencies = latencies;
    latencies.sort_unstable();
    store.close()?;
    Ok(json!({
        "workload": "W3 order-to-reservation (place 3 lines → reserve → ready to pick)",
        "orders": orders,
        "concurrency": concurrency,
        "seconds": seconds,
        "flows_per_sec": orders as f64 / seconds,
        "events_per_sec": events as f64 / seconds,
        "events_per_flow": events as f64 / orders as f64,
        "p50_us": percentile(&latencies, 0.5),
        "p99_us": percentile(&latencies, 0.99),
        "target_flows_per_sec": 5000,
        "peak_rss_mib": peak_rss_mib(),
    }))
}

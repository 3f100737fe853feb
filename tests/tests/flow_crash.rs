//! Crash test for business flows: the process running the order-fulfilment process manager is SIGKILLed
//! at random moments and restarted; in the end every order is reserved or backordered exactly once, and
//! every shortage has exactly one requisition.

use std::process::{Command, Stdio};
use std::time::Duration;

use command_api::CommandBus;
use command_api::sales::place_sales_order;
use domain::inventory::{CostingMethod, DocRef, StockCommand, StockItem, StockKey, StockPolicy};
use domain::sales::{Channel, CreditFacts, OrderLineInput, SalesOrderCommand};
use domain::values::{Quantity, UnitAmount};
use domain::{BookId, CommandId, CommandMeta, ItemId, PartnerId, SalesOrderId, Timestamp, WarehouseId};
use infra::EmbeddedStore;
use rust_decimal::Decimal;
use uuid::Uuid;

const ORDERS: u128 = 120;
const UNITS: u32 = 70;
const KILLS: usize = 12;

fn meta(n: u128) -> CommandMeta {
    CommandMeta::new(CommandId(Uuid::from_u128(n)), "shop", BookId(Uuid::from_u128(1)), Timestamp(0))
}

fn key() -> StockKey {
    StockKey { item: ItemId(Uuid::from_u128(10)), warehouse: WarehouseId(Uuid::from_u128(20)) }
}

async fn count(store: &EmbeddedStore, name: &str) -> usize {
    tests::books::whole_log(store).await.iter().filter(|e| e.event_type.name() == name).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flow_completes_exactly_once_across_sigkills_of_the_process_manager() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
        let bus = CommandBus::new(store.clone());
        let receive = StockCommand::Receive {
            key: key(),
            policy: StockPolicy {
                costing: CostingMethod::Fifo,
                safety_stock: Decimal::ZERO,
                allow_negative: false,
            },
            qty: Quantity::units(UNITS),
            unit_cost: UnitAmount::new(Decimal::from(3)).unwrap(),
            lot: None,
            bin: None,
            source: DocRef { kind: "purchasing.GoodsReceipt".into(), id: Uuid::from_u128(1), line: None },
        };
        bus.execute::<StockItem>(&meta(1), &receive).await.unwrap();
        tests::fixtures::masters(&bus, &[PartnerId(Uuid::from_u128(2))], &[key().item], &[key().warehouse])
            .await;
        for n in 0..ORDERS {
            let order = SalesOrderCommand::Place {
                id: SalesOrderId(Uuid::from_u128(1_000 + n)),
                customer: PartnerId(Uuid::from_u128(2)),
                channel: Channel::Store { store: "总店".into() },
                warehouse: key().warehouse,
                lines: vec![OrderLineInput {
                    item: key().item,
                    qty: Quantity::units(1),
                    unit_price: UnitAmount::new(Decimal::from(9)).unwrap(),
                    vat_rate: Decimal::new(13, 2),
                    default_supplier: Some(PartnerId(Uuid::from_u128(3))),
                    warehouse: None,
                }],
                credit: CreditFacts { limit: Decimal::ZERO, open_receivables: Decimal::ZERO },
                masters_usable: true,
            };
            place_sales_order(&bus, &meta(100 + n), &order).await.unwrap();
        }
        store.close().unwrap();
    }

    let mut killed_mid_flow = 0;
    for kill in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flow-runner"))
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn flow-runner");
        // Early kills land in the first flows, later ones deeper; each restart resumes from the checkpoint.
        std::thread::sleep(Duration::from_millis(4 + 3 * kill as u64));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().ok();
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !finished && !stdout.contains("done") {
            killed_mid_flow += 1;
        }
        assert!(
            !String::from_utf8_lossy(&output.stderr).contains("Error"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // A last run to the end.
    let output = Command::new(env!("CARGO_BIN_EXE_flow-runner")).arg(dir.path()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    eprintln!("{killed_mid_flow} of {KILLS} kills landed before the flows were done");
    assert!(killed_mid_flow > 0, "at least one kill landed before the flows were done");

    let verified = infra::embedded::verify_data_dir(&dir.path().join("log")).unwrap();
    assert!(verified.is_ok(), "{:?}", verified.problem);
    let store = EmbeddedStore::open_dir(dir.path().join("log")).unwrap();
    let (units, orders) = (UNITS as usize, ORDERS as usize);
    assert_eq!(count(&store, "inventory.StockReserved").await, units);
    assert_eq!(count(&store, "inventory.StockReservationShort").await, orders - units);
    assert_eq!(count(&store, "sales.SalesOrderLineReserved").await, units);
    assert_eq!(count(&store, "sales.SalesOrderReadyToPick").await, units);
    assert_eq!(count(&store, "sales.SalesOrderLineBackordered").await, orders - units);
    assert_eq!(count(&store, "purchasing.RequisitionDrafted").await, orders - units);
}

//! `erp seed` and `erp demo`: a realistic trading company made through the same command bus and
//! application services the HTTP commands use, so everything the service shows about it was decided by
//! the domain's rules: about 1,000 SKUs, three warehouses (上海, 广州, 成都), 200 customers across the
//! provinces, 30 suppliers, and a year of business day by day: orders from the shop counters and four
//! platforms, de-duplicated by platform order id and routed to the nearest warehouse with stock;
//! shipments, invoices and receipts; replenishment purchases received after their lead time, supplier
//! invoices matched three ways (or arriving with the goods) and paid; a stocktake a month; rent, wages,
//! courier fees and taxes; month end and the month closed.
//!
//! Deterministic for a given seed: every id, name and choice comes from the seed (`fastrand` and UUIDv5),
//! business time is a calendar walked day by day, and every command — the process managers' included —
//! runs one at a time, so two runs append the same events in the same order. Only the store's recording
//! time differs (it is part of the hash chain, so the head hash does; [`log_digest`] leaves it out).
//!
//! The process managers are the service's (`command_api::for_each_process_manager!`), run here to
//! quiet after each step of a day by one sequential pump instead of `ProcessRunner` (whose concurrent
//! dispatch would order a batch's appends by timing); their checkpoints are saved at the end under the
//! same names, in the same directory, so `erp serve` on the data directory carries on from the log's
//! head. Among them, replenishment raises a suggestion when a stock item falls below its safety stock;
//! the demo's buyer orders by reorder point and lead time instead, so those suggestions stay open, the
//! list a buyer finds when the service starts.
//!
//! A command the business refuses (stock short, a credit limit) is counted by its code and skipped; a
//! store failure stops the seeding.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use command_api::finance::{
    FinanceError, Opening, VoucherDraft, balances_at, close_period, draft_voucher, enter_opening_balances,
    post_voucher, run_month_end,
};
use command_api::process::{BATCH_EVENTS_MAX, COMMANDS_PER_APPEND_MAX};
use command_api::purchasing::{
    BookSettings as PurchasingSettings, OrderLineDraft, PurchaseOrderDraft, place_purchase_order,
    receive_purchase_order,
};
use command_api::sales::{InvoicingError, Placement, issue_sales_invoice, place_sales_order};
use command_api::{BusError, CommandBus, Dispatch, DispatchOutcome, FileCheckpoints};
use domain::finance::accounts::{AccountRole, Standard};
use domain::finance::book::{Book, BookCommand, BookSettings, VatStatus};
use domain::finance::voucher::{Voucher, VoucherCommand, VoucherLine, VoucherWord};
use domain::inventory::{CostingMethod, StockItem, StockKey, Stocktake, StocktakeCommand};
use domain::master::{
    Item, ItemCommand, ItemDetails, ItemKind, Partner, PartnerCommand, PartnerDetails, PartnerRoles,
    Warehouse, WarehouseCommand, WarehouseDetails,
};
use domain::process::{ProcessInput, ProcessManager, reaction_meta};
use domain::purchasing::order::{InvoiceWithGoods, PO_LINES_MAX};
use domain::purchasing::{
    PurchaseInvoice, PurchaseInvoiceCommand, PurchaseInvoiceLineInput, PurchaseInvoiceStatus, PurchaseOrder,
    PurchaseOrderCommand, SupplierPayment, SupplierPaymentCommand,
};
use domain::sales::routing::{Coordinates, WarehouseStock, route_lines};
use domain::sales::{
    Allocation, Channel, CreditFacts, CustomerReceipt, CustomerReceiptCommand, InvoiceLineInput, OrderLine,
    OrderLineInput, SalesInvoiceCommand, SalesInvoiceEvent, SalesOrder, SalesOrderCommand, SalesOrderStatus,
    Shipment, ShipmentCommand, ShipmentLineInput,
};
use domain::time::{CHINA_UTC_OFFSET_MINUTES, Period, format_day, local_day, parse_local_date};
use domain::values::{Quantity, UnitAmount, round_money};
use domain::{
    Aggregate, BookId, CommandId, CommandMeta, CustomerReceiptId, GoodsReceiptId, ItemId, PartnerId,
    PurchaseInvoiceId, PurchaseOrderId, Rejection, Role, SalesInvoiceId, SalesOrderId, ShipmentId,
    StocktakeId, SupplierPaymentId, Timestamp, VoucherId, WarehouseId,
};
use infra::codec::decode_process_input;
use infra::{Durability, EmbeddedConfig, EmbeddedStore, EventStore, RecordedEvent};
use rust_decimal::{Decimal, RoundingStrategy};
use uuid::Uuid;

/// What company to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoConfig {
    /// Every id, name and choice is derived from it: the same seed makes the same company and year.
    pub seed: u64,
    /// Business days to walk, from `start`.
    pub days: u32,
    /// Sales orders on an ordinary weekday (weekends, 618, 双十一 and the Spring Festival move it).
    pub orders_per_day: u32,
    /// The book everything is recorded in (the demo token acts in it).
    pub book: BookId,
    /// Any instant of the first business day; its month is the book's first.
    pub start: Timestamp,
    pub items: u32,
    pub customers: u32,
    pub suppliers: u32,
}

/// The demo's book: a fixed id, so a token made for one demo works for the next.
pub const DEMO_BOOK: BookId = BookId(Uuid::from_u128(0x0de3_0b00_c000_4000_8000_0000_0000_0001));

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            seed: 1,
            days: 365,
            orders_per_day: 60,
            book: DEMO_BOOK,
            start: parse_local_date("2026-01-01", CHINA_UTC_OFFSET_MINUTES).expect("a valid date"),
            items: 1_000,
            customers: 200,
            suppliers: 30,
        }
    }
}

/// What the seeding made and what the business refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DemoSummary {
    pub seed: u64,
    pub first_day: String,
    pub days: u32,
    pub items: u64,
    pub warehouses: u64,
    pub customers: u64,
    pub suppliers: u64,
    /// Sales orders placed, and by channel segment (store, taobao, ...; direct for business customers).
    pub orders: u64,
    pub orders_by_channel: BTreeMap<String, u64>,
    /// Orders split across warehouses by routing.
    pub orders_split: u64,
    /// Platform orders submitted a second time and answered with the first sales order.
    pub duplicates_refused: u64,
    /// Order lines not taken because no warehouse had the goods (the shop showed them sold out).
    pub lines_out_of_stock: u64,
    /// Orders never ready to pick (stock reserved elsewhere meanwhile), cancelled after three days.
    pub orders_cancelled: u64,
    pub shipments: u64,
    pub invoices: u64,
    pub receipts: u64,
    pub purchase_orders: u64,
    pub goods_receipts: u64,
    /// Supplier invoices registered and matched, and those that came with the goods.
    pub supplier_invoices: u64,
    pub supplier_payments: u64,
    pub stocktakes: u64,
    /// Rent, wages, courier fees and taxes: drafted, reviewed by another person, posted.
    pub manual_vouchers: u64,
    pub months_closed: u64,
    /// Commands the business refused, by code (the process managers' included).
    pub refused: BTreeMap<&'static str, u64>,
    /// Events in the log.
    pub events: u64,
}

impl DemoSummary {
    /// Every refused command.
    pub fn rejected(&self) -> u64 {
        self.refused.values().sum()
    }
}

impl std::fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "demo company: seed {}, {} days from {}", self.seed, self.days, self.first_day)?;
        writeln!(
            f,
            "  masters    {} items, {} warehouses, {} customers, {} suppliers",
            self.items, self.warehouses, self.customers, self.suppliers
        )?;
        let channels: Vec<String> = self.orders_by_channel.iter().map(|(c, n)| format!("{c} {n}")).collect();
        writeln!(
            f,
            "  orders     {} ({}), {} split across warehouses",
            self.orders,
            channels.join(", "),
            self.orders_split
        )?;
        writeln!(
            f,
            "             {} platform re-submissions refused, {} lines sold out, {} orders cancelled",
            self.duplicates_refused, self.lines_out_of_stock, self.orders_cancelled
        )?;
        writeln!(
            f,
            "  sales      {} shipments, {} invoices, {} receipts",
            self.shipments, self.invoices, self.receipts
        )?;
        writeln!(
            f,
            "  purchases  {} orders, {} goods receipts, {} supplier invoices, {} payments",
            self.purchase_orders, self.goods_receipts, self.supplier_invoices, self.supplier_payments
        )?;
        writeln!(f, "  stock      {} stocktakes", self.stocktakes)?;
        writeln!(
            f,
            "  finance    {} manual vouchers (rent, wages, courier fees, taxes), {} months closed",
            self.manual_vouchers, self.months_closed
        )?;
        let refused: Vec<String> = self.refused.iter().map(|(code, n)| format!("{code} {n}")).collect();
        if refused.is_empty() {
            writeln!(f, "  refused    none")?;
        } else {
            writeln!(f, "  refused    {} ({})", self.rejected(), refused.join(", "))?;
        }
        write!(f, "  log        {} events", self.events)
    }
}

/// Seeds the demo company into `store` (which must be empty) and leaves the service's process-manager
/// checkpoints in `data_dir/process`, at the log's head. `progress` is told the days done and the days
/// in all: before the masters are made, and after every day.
pub async fn seed(
    store: &EmbeddedStore,
    data_dir: &Path,
    config: &DemoConfig,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<DemoSummary> {
    anyhow::ensure!(
        store.head_position().await? == 0,
        "the log in {} holds events already: the demo seeds an empty data directory (an interrupted \
         seeding leaves its log behind: remove the directory and seed again)",
        data_dir.display()
    );
    anyhow::ensure!(config.items >= 1 && config.items <= ITEMS_MAX, "items: 1 to {ITEMS_MAX}");
    anyhow::ensure!(
        config.suppliers as usize >= CATEGORIES.len() && config.suppliers <= SUPPLIERS_MAX,
        "suppliers: {} (one per category) to {SUPPLIERS_MAX}",
        CATEGORIES.len()
    );
    anyhow::ensure!(
        config.customers >= CUSTOMERS_MIN && config.customers <= CUSTOMERS_MAX,
        "customers: {CUSTOMERS_MIN} to {CUSTOMERS_MAX}"
    );
    anyhow::ensure!(
        config.orders_per_day <= ORDERS_PER_DAY_MAX,
        "orders per day: at most {ORDERS_PER_DAY_MAX}"
    );
    let total = u64::from(config.days);
    progress(0, total);
    let mut demo = Demo::new(store.clone(), config);
    demo.setup().await?;
    for day in 0..config.days {
        demo.day(day).await?;
        progress(u64::from(day) + 1, total);
    }
    demo.settle().await?;
    // The service's process managers carry on from here.
    let checkpoints = FileCheckpoints::new(data_dir.join("process"));
    macro_rules! checkpoint {
        ($p:path) => {
            checkpoints.save(<$p as ProcessManager>::NAME, demo.processed)?;
        };
    }
    command_api::for_each_process_manager!(checkpoint);
    demo.summary.events = store.head_position().await?;
    Ok(demo.summary)
}

/// Seeds the demo company into a data directory as `erp seed` does: the embedded store in
/// `data_dir/log` (which must hold no events), the process-manager checkpoints in `data_dir/process`,
/// where `erp serve` finds them. The store is written without waiting for each append to reach the
/// disk (seventeen times faster here: every command waits for its append, and an fsync is ~2 ms),
/// then closed and its files synced once, so the seeded directory is as durable as a served one; a
/// seeding cut short is made again from its seed.
pub async fn seed_data_dir(
    data_dir: &Path,
    config: &DemoConfig,
    progress: impl FnMut(u64, u64),
) -> anyhow::Result<DemoSummary> {
    std::fs::create_dir_all(data_dir)?;
    let log = data_dir.join("log");
    let mut store_config = EmbeddedConfig::new(&log);
    store_config.durability = Durability::None;
    let store = EmbeddedStore::open(store_config)?;
    let summary = seed(&store, data_dir, config, progress).await;
    store.close()?;
    let summary = summary?;
    sync_files(&log)?;
    Ok(summary)
}

/// Whether `data_dir` holds a finished seeding: its process managers' checkpoints are written last.
pub fn is_seeded(data_dir: &Path) -> anyhow::Result<bool> {
    let checkpoints = FileCheckpoints::new(data_dir.join("process"));
    Ok(checkpoints.load(domain::process::auto_vouchers::AutoVouchers::NAME)? > 0)
}

/// fsyncs every file in `dir`, then `dir` itself.
fn sync_files(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::File::open(entry.path())?.sync_all()?;
        }
    }
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// A digest of the log's content — every event's position, stream, version, id, type, metadata and
/// payload, but not the time the store recorded it — equal for two seedings with the same config.
/// A chain of UUIDv5 (SHA-1) over the events, in hex.
pub async fn log_digest(store: &EmbeddedStore) -> anyhow::Result<String> {
    let mut digest = Uuid::nil();
    let mut from = 1;
    let mut bytes = Vec::new();
    loop {
        let page = store.read_all(from, DIGEST_PAGE).await?;
        let Some(last) = page.last() else { break };
        from = last.position + 1;
        for event in &page {
            bytes.clear();
            bytes.extend_from_slice(&event.position.to_le_bytes());
            bytes.extend_from_slice(event.stream_id.as_str().as_bytes());
            bytes.extend_from_slice(&event.stream_version.to_le_bytes());
            bytes.extend_from_slice(event.event_id.0.as_bytes());
            bytes.extend_from_slice(event.event_type.name().as_bytes());
            bytes.extend_from_slice(&event.event_type.version().to_le_bytes());
            let m = &event.metadata;
            bytes.extend_from_slice(m.book.0.as_bytes());
            bytes.extend_from_slice(m.actor.as_bytes());
            bytes.extend_from_slice(m.command_id.0.as_bytes());
            bytes.extend_from_slice(m.correlation_id.as_bytes());
            bytes.extend_from_slice(m.causation_id.as_bytes());
            bytes.extend_from_slice(&m.occurred_at.0.to_le_bytes());
            bytes.extend_from_slice(&event.payload);
            digest = Uuid::new_v5(&digest, &bytes);
        }
    }
    Ok(digest.simple().to_string())
}

// ---------------------------------------------------------------------------------------------------
// Limits and the shape of the business

/// Events a digest reads per page.
const DIGEST_PAGE: usize = 4_096;
/// Limits of the config: the catalogue's names run out well above these, and a PO holds at most 500 lines.
const ITEMS_MAX: u32 = 5_000;
const SUPPLIERS_MAX: u32 = 200;
const CUSTOMERS_MIN: u32 = 10;
const CUSTOMERS_MAX: u32 = 10_000;
/// A day's orders are placed one at a time; more than this would take hours a year.
const ORDERS_PER_DAY_MAX: u32 = 5_000;
/// Times a process manager's command that conflicts is tried (nothing else writes, so once is the rule).
const DISPATCH_ATTEMPTS_MAX: usize = 3;
/// Units an average order takes: consumers buy about two, the few business customers about sixty. The
/// opening stock and the reorder points are sized on it.
const UNITS_PER_ORDER: i64 = 5;
/// Days of demand a warehouse keeps as safety stock, and orders at a time.
const SAFETY_DAYS: i64 = 7;
const REORDER_DAYS: i64 = 30;
/// An order not ready to pick after this many days is cancelled (its reservations are released).
const READY_WAIT_DAYS: u32 = 3;
/// Platforms settle an order's money this many days after it ships (确认收货).
const PLATFORM_SETTLEMENT_DAYS: u32 = 3;
/// One online order in this many is pushed by the platform a second time.
const RESUBMISSION_ONE_IN: u32 = 70;
/// One supplier invoice in this many bills a line 2 % above the order (within the 5 % tolerance).
const PRICE_DIFFERENCE_ONE_IN: u32 = 25;
/// Lines counted per stocktake (one warehouse section).
const STOCKTAKE_LINES: usize = 25;
/// The paid-in capital the company starts with, in yuan.
const CAPITAL_YUAN: i64 = 3_000_000;

const DAY_MICROS: i64 = 86_400_000_000;
const HOUR_MICROS: i64 = 3_600_000_000;
const MINUTE_MICROS: i64 = 60_000_000;

/// Who does what: the roles the domain's rules check (an approver is never the one who asked).
#[derive(Clone, Copy)]
struct Actor {
    id: &'static str,
    roles: &'static [Role],
}

const ADMIN: Actor = Actor { id: "admin", roles: &[Role::Admin] };
const SALES: Actor = Actor { id: "zhang.wei", roles: &[Role::Sales] };
/// The platforms' order feed, placing online orders as they arrive.
const SHOP_FEED: Actor = Actor { id: "shop-feed", roles: &[Role::Sales] };
const BUYER: Actor = Actor { id: "liu.yang", roles: &[Role::Purchasing] };
const PURCHASING_MANAGER: Actor = Actor { id: "chen.jing", roles: &[Role::Purchasing] };
const CLERK: Actor = Actor { id: "wang.lei", roles: &[Role::Warehouse] };
const WAREHOUSE_MANAGER: Actor = Actor { id: "zhao.min", roles: &[Role::Warehouse] };
const ACCOUNTANT: Actor = Actor { id: "li.na", roles: &[Role::Finance] };
const CONTROLLER: Actor = Actor { id: "sun.li", roles: &[Role::Finance] };

// ---------------------------------------------------------------------------------------------------
// The catalogue

struct WarehouseSite {
    code: &'static str,
    name: &'static str,
    city: &'static str,
    latitude: &'static str,
    longitude: &'static str,
    store: &'static str,
    /// Monthly rent of the warehouse and its shop, in yuan, at 60 orders a day.
    rent_yuan: i64,
}

const WAREHOUSES: [WarehouseSite; 3] = [
    WarehouseSite {
        code: "SH01",
        name: "上海青浦仓",
        city: "上海",
        latitude: "31.1508",
        longitude: "121.1240",
        store: "上海南京路店",
        rent_yuan: 14_000,
    },
    WarehouseSite {
        code: "GZ01",
        name: "广州白云仓",
        city: "广州",
        latitude: "23.3959",
        longitude: "113.3080",
        store: "广州天河店",
        rent_yuan: 9_000,
    },
    WarehouseSite {
        code: "CD01",
        name: "成都双流仓",
        city: "成都",
        latitude: "30.5745",
        longitude: "103.9236",
        store: "成都春熙路店",
        rent_yuan: 7_000,
    },
];

/// A province: its name (the partner's region), capital, coordinates, administrative code (the start
/// of its companies' credit codes) and a weight for how many customers it has.
struct Province {
    name: &'static str,
    city: &'static str,
    latitude: &'static str,
    longitude: &'static str,
    code: &'static str,
    weight: u32,
}

const PROVINCES: [Province; 23] = [
    Province {
        name: "广东",
        city: "广州",
        latitude: "23.1291",
        longitude: "113.2644",
        code: "440000",
        weight: 14,
    },
    Province {
        name: "浙江",
        city: "杭州",
        latitude: "30.2741",
        longitude: "120.1551",
        code: "330000",
        weight: 10,
    },
    Province {
        name: "江苏",
        city: "南京",
        latitude: "32.0603",
        longitude: "118.7969",
        code: "320000",
        weight: 10,
    },
    Province {
        name: "上海",
        city: "上海",
        latitude: "31.2304",
        longitude: "121.4737",
        code: "310000",
        weight: 8,
    },
    Province {
        name: "北京",
        city: "北京",
        latitude: "39.9042",
        longitude: "116.4074",
        code: "110000",
        weight: 7,
    },
    Province {
        name: "山东",
        city: "济南",
        latitude: "36.6512",
        longitude: "117.1201",
        code: "370000",
        weight: 7,
    },
    Province {
        name: "四川",
        city: "成都",
        latitude: "30.5728",
        longitude: "104.0668",
        code: "510000",
        weight: 7,
    },
    Province {
        name: "河南",
        city: "郑州",
        latitude: "34.7466",
        longitude: "113.6254",
        code: "410000",
        weight: 5,
    },
    Province {
        name: "湖北",
        city: "武汉",
        latitude: "30.5928",
        longitude: "114.3055",
        code: "420000",
        weight: 5,
    },
    Province {
        name: "福建",
        city: "福州",
        latitude: "26.0745",
        longitude: "119.2965",
        code: "350000",
        weight: 5,
    },
    Province {
        name: "湖南",
        city: "长沙",
        latitude: "28.2282",
        longitude: "112.9388",
        code: "430000",
        weight: 4,
    },
    Province {
        name: "安徽",
        city: "合肥",
        latitude: "31.8206",
        longitude: "117.2272",
        code: "340000",
        weight: 4,
    },
    Province {
        name: "重庆",
        city: "重庆",
        latitude: "29.5630",
        longitude: "106.5516",
        code: "500000",
        weight: 4,
    },
    Province {
        name: "河北",
        city: "石家庄",
        latitude: "38.0428",
        longitude: "114.5149",
        code: "130000",
        weight: 3,
    },
    Province {
        name: "陕西",
        city: "西安",
        latitude: "34.3416",
        longitude: "108.9398",
        code: "610000",
        weight: 3,
    },
    Province {
        name: "天津",
        city: "天津",
        latitude: "39.0842",
        longitude: "117.2009",
        code: "120000",
        weight: 2,
    },
    Province {
        name: "云南",
        city: "昆明",
        latitude: "24.8801",
        longitude: "102.8329",
        code: "530000",
        weight: 2,
    },
    Province {
        name: "广西",
        city: "南宁",
        latitude: "22.8170",
        longitude: "108.3665",
        code: "450000",
        weight: 2,
    },
    Province {
        name: "江西",
        city: "南昌",
        latitude: "28.6820",
        longitude: "115.8579",
        code: "360000",
        weight: 2,
    },
    Province {
        name: "辽宁",
        city: "沈阳",
        latitude: "41.8057",
        longitude: "123.4315",
        code: "210000",
        weight: 2,
    },
    Province {
        name: "贵州",
        city: "贵阳",
        latitude: "26.6470",
        longitude: "106.6302",
        code: "520000",
        weight: 1,
    },
    Province {
        name: "山西",
        city: "太原",
        latitude: "37.8706",
        longitude: "112.5489",
        code: "140000",
        weight: 1,
    },
    Province {
        name: "黑龙江",
        city: "哈尔滨",
        latitude: "45.8038",
        longitude: "126.5350",
        code: "230000",
        weight: 1,
    },
];

/// A product line: name, unit, cost range in yuan, VAT in percent (粮油 and books 9 %, the rest 13 %).
struct Product {
    name: &'static str,
    unit: &'static str,
    cost_yuan: (i64, i64),
    vat_percent: i64,
}

const fn p(name: &'static str, unit: &'static str, lo: i64, hi: i64, vat_percent: i64) -> Product {
    Product { name, unit, cost_yuan: (lo, hi), vat_percent }
}

struct Category {
    code: &'static str,
    /// What its suppliers are called (…日用品有限公司).
    trade: &'static str,
    /// Food is costed first in, first out, and received in lots.
    fifo: bool,
    /// Where its suppliers are: city and province.
    towns: &'static [(&'static str, &'static str)],
    products: &'static [Product],
    specs: &'static [&'static str],
}

const CATEGORIES: [Category; 8] = [
    Category {
        code: "JJ",
        trade: "日用品",
        fifo: false,
        towns: &[("义乌", "浙江"), ("宁波", "浙江"), ("杭州", "浙江")],
        products: &[
            p("保温杯", "个", 18, 90, 13),
            p("收纳盒", "个", 6, 40, 13),
            p("衣架", "包", 5, 25, 13),
            p("毛巾", "条", 4, 20, 13),
            p("浴巾", "条", 15, 60, 13),
            p("拖鞋", "双", 6, 35, 13),
            p("雨伞", "把", 12, 60, 13),
            p("台灯", "台", 30, 150, 13),
            p("抱枕", "个", 12, 50, 13),
            p("四件套", "套", 80, 320, 13),
            p("晾衣架", "个", 25, 120, 13),
            p("垃圾桶", "个", 8, 40, 13),
            p("香薰", "瓶", 10, 60, 13),
            p("地垫", "张", 10, 70, 13),
            p("收纳袋", "个", 5, 30, 13),
        ],
        specs: &["白色", "灰色", "蓝色", "粉色", "大号", "中号", "小号", "两件装", "北欧风", "简约款"],
    },
    Category {
        code: "CF",
        trade: "厨具",
        fifo: false,
        towns: &[("潮州", "广东"), ("阳江", "广东"), ("永康", "浙江")],
        products: &[
            p("不粘锅", "口", 45, 180, 13),
            p("炒锅", "口", 50, 220, 13),
            p("菜刀", "把", 20, 120, 13),
            p("砧板", "块", 15, 80, 13),
            p("保鲜盒", "套", 12, 60, 13),
            p("电饭煲", "台", 120, 400, 13),
            p("电水壶", "台", 40, 150, 13),
            p("筷子", "套", 8, 40, 13),
            p("饭碗", "套", 15, 70, 13),
            p("餐盘", "套", 20, 90, 13),
            p("汤锅", "口", 50, 200, 13),
            p("油壶", "个", 8, 35, 13),
            p("调料盒", "套", 10, 50, 13),
            p("削皮刀", "把", 4, 20, 13),
            p("保鲜膜", "卷", 5, 20, 13),
        ],
        specs: &["不锈钢", "陶瓷", "玻璃", "家用款", "加厚款", "小号", "中号", "大号", "经典款", "套装"],
    },
    Category {
        code: "GH",
        trade: "日化",
        fifo: false,
        towns: &[("广州", "广东"), ("上海", "上海"), ("苏州", "江苏")],
        products: &[
            p("洗发水", "瓶", 15, 60, 13),
            p("沐浴露", "瓶", 15, 55, 13),
            p("牙膏", "支", 5, 25, 13),
            p("牙刷", "支", 3, 20, 13),
            p("洗衣液", "瓶", 15, 50, 13),
            p("洗洁精", "瓶", 5, 20, 13),
            p("抽纸", "提", 10, 40, 13),
            p("湿巾", "包", 3, 15, 13),
            p("洗手液", "瓶", 8, 30, 13),
            p("面膜", "盒", 20, 90, 13),
            p("护手霜", "支", 8, 40, 13),
            p("剃须刀", "个", 20, 150, 13),
            p("漱口水", "瓶", 10, 40, 13),
            p("消毒液", "瓶", 8, 35, 13),
            p("香皂", "块", 3, 15, 13),
        ],
        specs: &[
            "清香型",
            "无香型",
            "家庭装",
            "旅行装",
            "标准装",
            "2件装",
            "3件装",
            "经典款",
            "温和型",
            "清爽型",
        ],
    },
    Category {
        code: "SP",
        trade: "食品",
        fifo: true,
        towns: &[("五常", "黑龙江"), ("济南", "山东"), ("福州", "福建")],
        products: &[
            p("东北大米", "袋", 25, 80, 9),
            p("面粉", "袋", 10, 40, 9),
            p("花生油", "桶", 40, 140, 9),
            p("杂粮", "袋", 15, 50, 9),
            p("挂面", "包", 5, 20, 9),
            p("坚果", "罐", 25, 120, 13),
            p("饼干", "盒", 8, 40, 13),
            p("方便面", "箱", 25, 70, 13),
            p("绿茶", "罐", 40, 260, 13),
            p("咖啡", "盒", 30, 150, 13),
            p("矿泉水", "箱", 15, 40, 13),
            p("酸奶", "箱", 30, 80, 13),
            p("巧克力", "盒", 20, 100, 13),
            p("蜂蜜", "瓶", 30, 120, 13),
            p("辣椒酱", "瓶", 6, 25, 13),
        ],
        specs: &["家庭装", "礼盒装", "袋装", "罐装", "原味", "经典款", "量贩装", "小包装", "精选", "特级"],
    },
    Category {
        code: "SM",
        trade: "电子科技",
        fifo: false,
        towns: &[("深圳", "广东"), ("东莞", "广东"), ("惠州", "广东")],
        products: &[
            p("数据线", "根", 6, 40, 13),
            p("充电器", "个", 20, 100, 13),
            p("充电宝", "个", 50, 200, 13),
            p("蓝牙耳机", "副", 60, 400, 13),
            p("手机壳", "个", 5, 30, 13),
            p("钢化膜", "片", 3, 20, 13),
            p("无线鼠标", "个", 25, 150, 13),
            p("机械键盘", "个", 100, 500, 13),
            p("U盘", "个", 20, 120, 13),
            p("读卡器", "个", 10, 50, 13),
            p("蓝牙音箱", "个", 60, 300, 13),
            p("手机支架", "个", 8, 50, 13),
            p("智能手环", "个", 80, 300, 13),
            p("插线板", "个", 20, 90, 13),
            p("移动硬盘", "个", 200, 600, 13),
        ],
        specs: &["黑色", "白色", "灰色", "标准版", "升级版", "Pro版", "经典款", "轻薄款", "2026款", "套装"],
    },
    Category {
        code: "WJ",
        trade: "文具",
        fifo: false,
        towns: &[("宁波", "浙江"), ("温州", "浙江"), ("义乌", "浙江")],
        products: &[
            p("中性笔", "盒", 8, 30, 13),
            p("笔记本", "本", 3, 25, 13),
            p("文件夹", "个", 3, 20, 13),
            p("订书机", "个", 8, 40, 13),
            p("便利贴", "包", 3, 15, 13),
            p("计算器", "个", 20, 90, 13),
            p("双肩书包", "个", 50, 200, 13),
            p("台历", "本", 8, 35, 13),
            p("透明胶带", "卷", 1, 8, 13),
            p("剪刀", "把", 4, 20, 13),
            p("马克笔", "套", 10, 60, 13),
            p("彩色铅笔", "盒", 8, 50, 13),
            p("橡皮", "块", 1, 5, 13),
            p("直尺", "把", 1, 8, 13),
            p("打印纸", "箱", 80, 180, 13),
        ],
        specs: &["黑色", "蓝色", "红色", "A4", "A5", "10支装", "5本装", "经典款", "学生款", "办公款"],
    },
    Category {
        code: "MY",
        trade: "母婴用品",
        fifo: false,
        towns: &[("泉州", "福建"), ("杭州", "浙江"), ("上海", "上海")],
        products: &[
            p("纸尿裤", "包", 50, 150, 13),
            p("奶瓶", "个", 30, 120, 13),
            p("婴儿湿巾", "包", 5, 20, 13),
            p("婴儿洗发沐浴露", "瓶", 20, 80, 13),
            p("围兜", "条", 8, 35, 13),
            p("口水巾", "包", 8, 30, 13),
            p("安抚奶嘴", "个", 10, 50, 13),
            p("婴儿袜", "双", 5, 20, 13),
            p("爬行垫", "张", 60, 250, 13),
            p("儿童餐具", "套", 20, 90, 13),
            p("辅食碗", "个", 15, 60, 13),
            p("吸管杯", "个", 20, 80, 13),
            p("婴儿润肤乳", "瓶", 20, 90, 13),
            p("隔尿垫", "张", 10, 50, 13),
            p("摇铃玩具", "套", 15, 60, 13),
        ],
        specs: &["S码", "M码", "L码", "XL码", "0-6月", "6-12月", "1-3岁", "经典款", "加厚款", "便携装"],
    },
    Category {
        code: "TS",
        trade: "图书发行",
        fifo: false,
        towns: &[("北京", "北京"), ("南京", "江苏"), ("长沙", "湖南")],
        products: &[
            p("少儿绘本", "册", 12, 50, 9),
            p("长篇小说", "册", 20, 60, 9),
            p("家常菜谱", "册", 15, 45, 9),
            p("钢笔字帖", "册", 5, 20, 9),
            p("英汉词典", "册", 30, 90, 9),
            p("中国通史", "册", 30, 120, 9),
            p("科普百科", "册", 20, 80, 9),
            p("唐诗三百首", "册", 10, 40, 9),
            p("育儿指南", "册", 20, 60, 9),
            p("旅行指南", "册", 20, 70, 9),
            p("编程入门", "册", 40, 100, 9),
            p("财务会计", "册", 30, 90, 9),
            p("心理学", "册", 25, 70, 9),
            p("数学练习册", "册", 8, 30, 9),
            p("世界地图册", "册", 15, 60, 9),
        ],
        specs: &["精装", "平装", "彩绘版", "注音版", "典藏版", "第2版", "全套", "上册", "下册", "新版"],
    },
];

const BRANDS: [&str; 12] =
    ["悦家", "简居", "禾木", "拾光", "青禾", "蓝湾", "米粒", "橙屿", "星河", "云朵", "木语", "初见"];
/// Characters companies put in their names (恒顺, 鑫达 ...).
const TRADE_NAME_CHARS: [&str; 16] =
    ["恒", "顺", "鑫", "盛", "华", "泰", "联", "达", "嘉", "润", "永", "兴", "隆", "昌", "源", "佳"];
const SURNAMES: [&str; 24] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何",
    "高", "林", "罗", "郑", "梁", "谢", "宋",
];
const GIVEN_NAMES: [&str; 40] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀英", "霞", "平", "刚", "桂英", "晓明", "婷婷", "子涵", "浩然", "欣怡", "宇轩", "梓萱", "一诺", "思远",
    "雨桐", "俊杰", "佳琪", "志强", "海燕", "建华", "文博", "嘉怡", "天宇",
];
const SHOP_KINDS: [&str; 5] = ["商贸有限公司", "超市", "便利店有限公司", "百货有限公司", "贸易有限公司"];
/// Characters of a unified social credit code (no I, O, Z, S, V).
const CREDIT_CODE_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// The channels orders come from, with their weights out of 100 and price factor in percent
/// (拼多多 and 抖音 sell below list price; business customers buy at wholesale).
const CHANNELS: [(Chan, u32, i64); 6] = [
    (Chan::Taobao, 30, 100),
    (Chan::Douyin, 20, 95),
    (Chan::Pinduoduo, 15, 92),
    (Chan::Wechat, 10, 100),
    (Chan::Store, 17, 100),
    (Chan::Direct, 8, 85),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chan {
    Store,
    Taobao,
    Douyin,
    Pinduoduo,
    Wechat,
    Direct,
}

impl Chan {
    fn platform(self) -> Option<&'static str> {
        match self {
            Chan::Taobao => Some("taobao"),
            Chan::Douyin => Some("douyin"),
            Chan::Pinduoduo => Some("pinduoduo"),
            Chan::Wechat => Some("wechat"),
            Chan::Store | Chan::Direct => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The company as generated

struct ItemInfo {
    id: ItemId,
    sku: String,
    name: String,
    unit: &'static str,
    vat_rate: Decimal,
    costing: CostingMethod,
    cost: Decimal,
    price: Decimal,
    supplier: usize,
    /// Per warehouse: safety stock, reorder point and reorder quantity (sized on expected demand).
    safety: [Decimal; WAREHOUSES.len()],
    reorder_point: [Decimal; WAREHOUSES.len()],
    reorder_qty: [Decimal; WAREHOUSES.len()],
}

struct CustomerInfo {
    id: PartnerId,
    name: String,
    province: usize,
    /// The warehouse (and shop) nearest to the customer.
    home: usize,
    credit_limit: Decimal,
    terms_days: u32,
    tax_id: Option<String>,
}

struct SupplierInfo {
    id: PartnerId,
    name: String,
    region: &'static str,
    category: usize,
    lead_time_days: u32,
    terms_days: u32,
    /// Sends its VAT invoice with the goods (发票随货) instead of after them.
    invoice_with_goods: bool,
}

/// A sales order waiting to ship.
struct OpenOrder {
    id: SalesOrderId,
    customer: usize,
    channel: Chan,
    placed_day: u32,
}

/// Goods on their way: a purchase order to receive on its arrival day.
struct Arrival {
    po: PurchaseOrderId,
    supplier: usize,
    warehouse: usize,
    lines: Vec<(usize, Decimal)>,
}

/// A supplier invoice to pay once due.
struct Payable {
    invoice: PurchaseInvoiceId,
    supplier: usize,
    due_day: u32,
}

/// An order shipped today, to be invoiced.
struct Shipped {
    customer: usize,
    channel: Chan,
    lines: Vec<InvoiceLineInput>,
}

/// A customer's money to record on its day.
struct Due {
    invoice: SalesInvoiceId,
    customer: usize,
    amount: Decimal,
}

/// The account codes the manual vouchers use, resolved in the book's chart.
#[derive(Default)]
struct Accounts {
    bank: String,
    capital: String,
    sales_expense: String,
    admin_expense: String,
    payroll: String,
    unpaid_vat: String,
    urban_construction_tax: String,
    education_surcharge: String,
}

struct Demo<'c> {
    bus: CommandBus<EmbeddedStore>,
    config: &'c DemoConfig,
    rng: fastrand::Rng,
    /// Namespace of every id the demo makes.
    ns: Uuid,
    /// Ids made so far (each id names its kind and number).
    ids: u64,
    /// Business time of the next command.
    now: Timestamp,
    /// Local midnight of the first day.
    midnight: Timestamp,
    /// Last log position every process manager has handled.
    processed: u64,
    summary: DemoSummary,
    accounts: Accounts,
    items: Vec<ItemInfo>,
    /// Cumulative popularity weights of `items`, for drawing an item.
    popularity: Vec<u64>,
    customers: Vec<CustomerInfo>,
    /// Indices of the business customers and of the consumers.
    businesses: Vec<usize>,
    consumers: Vec<usize>,
    suppliers: Vec<SupplierInfo>,
    warehouses: Vec<WarehouseId>,
    locations: Vec<Coordinates>,
    open_orders: Vec<OpenOrder>,
    /// What today's orders were routed to take, not yet reserved (fulfilment runs after the day's orders).
    routed_today: BTreeMap<(usize, usize), Decimal>,
    /// Stock that moved today: checked for replenishment in the evening.
    touched: BTreeSet<(usize, usize)>,
    /// Ordered from suppliers and not received, per (item, warehouse).
    on_order: BTreeMap<(usize, usize), Decimal>,
    arrivals: BTreeMap<u32, Vec<Arrival>>,
    /// Purchase orders whose supplier invoice arrives that day.
    invoices_due: BTreeMap<u32, Vec<(PurchaseOrderId, usize)>>,
    payables: Vec<Payable>,
    receivables: BTreeMap<u32, Vec<Due>>,
    shipments_by_period: BTreeMap<Period, u64>,
    /// Where each item is in `items` (for lookup only, never iterated).
    item_index: HashMap<ItemId, usize>,
}

impl<'c> Demo<'c> {
    fn new(store: EmbeddedStore, config: &'c DemoConfig) -> Self {
        let day = local_day(config.start, CHINA_UTC_OFFSET_MINUTES);
        let midnight = Timestamp(day * DAY_MICROS - i64::from(CHINA_UTC_OFFSET_MINUTES) * MINUTE_MICROS);
        Demo {
            bus: CommandBus::new(store),
            config,
            rng: fastrand::Rng::with_seed(config.seed),
            ns: Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("erp-demo/{}", config.seed).as_bytes()),
            ids: 0,
            now: midnight,
            midnight,
            processed: 0,
            summary: DemoSummary {
                seed: config.seed,
                first_day: format_day(day),
                days: config.days,
                ..DemoSummary::default()
            },
            accounts: Accounts::default(),
            items: Vec::new(),
            popularity: Vec::new(),
            customers: Vec::new(),
            businesses: Vec::new(),
            consumers: Vec::new(),
            suppliers: Vec::new(),
            warehouses: Vec::new(),
            locations: Vec::new(),
            open_orders: Vec::new(),
            routed_today: BTreeMap::new(),
            touched: BTreeSet::new(),
            on_order: BTreeMap::new(),
            arrivals: BTreeMap::new(),
            invoices_due: BTreeMap::new(),
            payables: Vec::new(),
            receivables: BTreeMap::new(),
            shipments_by_period: BTreeMap::new(),
            item_index: HashMap::new(),
        }
    }

    // -----------------------------------------------------------------------------------------------
    // Ids, time and outcomes

    fn uuid(&mut self, kind: &str) -> Uuid {
        self.ids += 1;
        Uuid::new_v5(&self.ns, format!("{kind}/{}", self.ids).as_bytes())
    }

    fn meta(&mut self, actor: Actor) -> CommandMeta {
        let id = CommandId(self.uuid("command"));
        CommandMeta::new(id, actor.id, self.config.book, self.now).with_roles(actor.roles)
    }

    /// `hour:minute` local time on business day `day`.
    fn at(&self, day: u32, hour: i64, minute: i64) -> Timestamp {
        Timestamp(self.midnight.0 + i64::from(day) * DAY_MICROS + hour * HOUR_MICROS + minute * MINUTE_MICROS)
    }

    fn warehouse_index(&self, id: WarehouseId) -> Option<usize> {
        self.warehouses.iter().position(|w| *w == id)
    }

    fn period(&self, day: u32) -> Period {
        Period::containing(self.at(day, 12, 0), CHINA_UTC_OFFSET_MINUTES)
    }

    /// (year, month, day of month, weekday with 0 = Sunday) of business day `day`.
    fn date(&self, day: u32) -> (u16, u8, u8, u8) {
        let local = local_day(self.at(day, 12, 0), CHINA_UTC_OFFSET_MINUTES);
        let text = format_day(local);
        let number =
            |range: std::ops::Range<usize>| text.get(range).and_then(|s| s.parse().ok()).unwrap_or(1);
        // 1970-01-01 was a Thursday.
        let weekday = (local + 4).rem_euclid(7) as u8;
        (number(0..4), number(5..7) as u8, number(8..10) as u8, weekday)
    }

    /// The value of an accepted command, or `None` after counting a refusal by its code; a store
    /// failure stops the demo.
    fn accepted<T, E: Refused>(&mut self, result: Result<T, E>) -> anyhow::Result<Option<T>> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(e) => {
                let code = e.into_code()?;
                *self.summary.refused.entry(code).or_default() += 1;
                Ok(None)
            }
        }
    }

    async fn run<A: Aggregate>(&mut self, actor: Actor, command: &A::Command) -> anyhow::Result<bool> {
        let meta = self.meta(actor);
        let result = self.bus.execute::<A>(&meta, command).await;
        Ok(self.accepted(result)?.is_some())
    }

    // -----------------------------------------------------------------------------------------------
    // The process managers, one command at a time

    /// Runs the service's process managers until none has anything left to do. Each page of the log
    /// goes through all of them in turn (the order the flow tests run them in); every command a page
    /// asks for is executed before the next page is read, in the order the events asked for them.
    async fn settle(&mut self) -> anyhow::Result<()> {
        loop {
            let page = self.bus.store().read_all(self.processed + 1, BATCH_EVENTS_MAX).await?;
            let Some(last) = page.last().map(|e| e.position) else { return Ok(()) };
            macro_rules! pump {
                ($p:path) => {
                    self.pump(&$p, &page).await?;
                };
            }
            command_api::for_each_process_manager!(pump);
            self.processed = last;
        }
    }

    /// What one process manager asks of a page of events, executed stream by stream in the order the
    /// streams were first asked for, each stream's commands in one append as the runner does.
    async fn pump<P>(&mut self, manager: &P, page: &[RecordedEvent]) -> anyhow::Result<()>
    where
        P: ProcessManager,
        P::Output: Dispatch<EmbeddedStore>,
    {
        let mut groups: Vec<Vec<(CommandMeta, P::Output)>> = Vec::new();
        // For lookup only: the order of `groups` is the order of first appearance.
        let mut group_of: HashMap<String, usize> = HashMap::new();
        for event in page {
            if !<P::Input as ProcessInput>::listens_to(event.event_type.name()) {
                continue;
            }
            let input: P::Input = decode_process_input(&event.event_type, &event.payload)?;
            let context = command_api::process::event_context(event);
            for (index, command) in manager.react(&input, &context).into_iter().enumerate() {
                let meta = reaction_meta(P::NAME, &context, index as u32);
                let stream = Dispatch::<EmbeddedStore>::stream_id(&command);
                match group_of.get(&stream) {
                    Some(&g) => groups[g].push((meta, command)),
                    None => {
                        group_of.insert(stream, groups.len());
                        groups.push(vec![(meta, command)]);
                    }
                }
            }
        }
        for commands in groups {
            for chunk in commands.chunks(COMMANDS_PER_APPEND_MAX) {
                let mut pending = chunk.to_vec();
                for attempt in 1..=DISPATCH_ATTEMPTS_MAX {
                    let outcomes = P::Output::dispatch_all(&pending, &self.bus).await?;
                    let mut again = Vec::new();
                    for (command, outcome) in pending.into_iter().zip(outcomes) {
                        match outcome {
                            DispatchOutcome::Done | DispatchOutcome::Duplicate => {}
                            DispatchOutcome::Rejected { code, .. } => {
                                *self.summary.refused.entry(code).or_default() += 1;
                            }
                            DispatchOutcome::Conflict if attempt < DISPATCH_ATTEMPTS_MAX => {
                                again.push(command)
                            }
                            DispatchOutcome::Conflict => {
                                *self.summary.refused.entry("command.conflict").or_default() += 1;
                            }
                        }
                    }
                    pending = again;
                    if pending.is_empty() {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------------
    // Day zero: the book, the masters, the capital, the opening stock

    async fn setup(&mut self) -> anyhow::Result<()> {
        self.now = self.at(0, 7, 0);
        let first_period = self.period(0);
        let settings = BookSettings {
            name: "上海悦途商贸有限公司".into(),
            standard: Standard::SmallEnterprise,
            first_period,
            vat: VatStatus::General,
            allow_negative_stock: false,
            auto_post: true,
            utc_offset_minutes: CHINA_UTC_OFFSET_MINUTES,
        };
        let book = self.config.book;
        anyhow::ensure!(
            self.run::<Book>(CONTROLLER, &BookCommand::Create { id: book, settings }).await?,
            "the demo book could not be created"
        );
        // Shanghai's rates: 城市维护建设税 7 %, 教育费附加 3 %.
        let surcharges = BookCommand::ConfigureSurcharges {
            id: book,
            urban_construction: Decimal::new(7, 2),
            education: Decimal::new(3, 2),
        };
        self.run::<Book>(CONTROLLER, &surcharges).await?;
        let chart: Book = self.bus.load(&Book::stream(book)).await?;
        let code = |role| chart.account_for(role).map(|a| a.code.clone()).unwrap_or_default();
        self.accounts = Accounts {
            bank: code(AccountRole::Bank),
            capital: code(AccountRole::PaidInCapital),
            sales_expense: code(AccountRole::SalesExpense),
            admin_expense: code(AccountRole::AdminExpense),
            payroll: code(AccountRole::PayrollPayable),
            unpaid_vat: code(AccountRole::UnpaidVat),
            urban_construction_tax: code(AccountRole::UrbanConstructionTax),
            education_surcharge: code(AccountRole::EducationSurcharge),
        };

        self.make_warehouses().await?;
        self.make_suppliers().await?;
        self.make_customers().await?;
        self.make_items().await?;

        // The shareholders' capital, in the bank before the first day (期初余额).
        let lines = vec![
            line("股东投入资本", &self.accounts.bank, Decimal::from(CAPITAL_YUAN), Decimal::ZERO),
            line("股东投入资本", &self.accounts.capital, Decimal::ZERO, Decimal::from(CAPITAL_YUAN)),
        ];
        let opening = Opening { lines, receivables: Vec::new(), payables: Vec::new(), stock: Vec::new() };
        let meta = self.meta(ACCOUNTANT);
        let entered = enter_opening_balances(&self.bus, &meta, book, &opening).await;
        self.accepted(entered)?;

        // The opening stock: every supplier's goods for every warehouse, ordered and received before
        // the shops open.
        self.now = self.at(0, 7, 30);
        for supplier in 0..self.suppliers.len() {
            for warehouse in 0..self.warehouses.len() {
                let lines: Vec<(usize, Decimal)> = (0..self.items.len())
                    .filter(|&i| self.items[i].supplier == supplier)
                    .map(|i| {
                        (i, self.items[i].reorder_point[warehouse] + self.items[i].reorder_qty[warehouse])
                    })
                    .collect();
                self.purchase(supplier, warehouse, lines, 0).await?;
            }
        }
        self.now = self.at(0, 8, 0);
        self.receive_arrivals(0).await?;
        self.settle().await
    }

    async fn make_warehouses(&mut self) -> anyhow::Result<()> {
        for (n, site) in WAREHOUSES.iter().enumerate() {
            let id = WarehouseId(self.uuid("warehouse"));
            let location = Coordinates { latitude: dec(site.latitude), longitude: dec(site.longitude) };
            let details = WarehouseDetails {
                code: site.code.into(),
                name: site.name.into(),
                city: site.city.into(),
                latitude: location.latitude,
                longitude: location.longitude,
                bins: (1..=4)
                    .flat_map(|aisle| (1..=5).map(move |rack| format!("{aisle:02}-{rack:02}")))
                    .collect(),
            };
            anyhow::ensure!(
                self.run::<Warehouse>(ADMIN, &WarehouseCommand::Create { id, details }).await?,
                "warehouse {n} could not be created"
            );
            self.warehouses.push(id);
            self.locations.push(location);
            self.summary.warehouses += 1;
        }
        Ok(())
    }

    async fn make_suppliers(&mut self) -> anyhow::Result<()> {
        let mut names = BTreeSet::new();
        for n in 0..self.config.suppliers as usize {
            let category = n % CATEGORIES.len();
            let c = &CATEGORIES[category];
            let (town, province) = c.towns[self.rng.usize(..c.towns.len())];
            let name = loop {
                let a = TRADE_NAME_CHARS[self.rng.usize(..TRADE_NAME_CHARS.len())];
                let b = TRADE_NAME_CHARS[self.rng.usize(..TRADE_NAME_CHARS.len())];
                let name = format!("{town}市{a}{b}{}有限公司", c.trade);
                if a != b && names.insert(name.clone()) {
                    break name;
                }
            };
            let supplier = SupplierInfo {
                id: PartnerId(self.uuid("supplier")),
                name,
                region: province,
                category,
                lead_time_days: self.rng.u32(2..=7),
                terms_days: [30, 45, 60][self.rng.usize(..3)],
                invoice_with_goods: self.rng.u32(..3) == 0,
            };
            let tax_id = Some(self.credit_code(province_code(province)));
            let details = PartnerDetails {
                name: supplier.name.clone(),
                roles: PartnerRoles { customer: false, supplier: true },
                tax_id,
                credit_limit: Decimal::ZERO,
                payment_terms_days: supplier.terms_days,
                region: supplier.region.into(),
            };
            self.run::<Partner>(BUYER, &PartnerCommand::Create { id: supplier.id, details }).await?;
            self.suppliers.push(supplier);
            self.summary.suppliers += 1;
        }
        Ok(())
    }

    async fn make_customers(&mut self) -> anyhow::Result<()> {
        let weights: Vec<u64> = cumulative(PROVINCES.iter().map(|p| u64::from(p.weight)));
        let mut names = BTreeSet::new();
        // One customer in five is a business buying on account; the rest are consumers.
        for n in 0..self.config.customers as usize {
            let business = n.is_multiple_of(5);
            let province = draw(&mut self.rng, &weights);
            let pv = &PROVINCES[province];
            let name = loop {
                let name = if business {
                    let a = TRADE_NAME_CHARS[self.rng.usize(..TRADE_NAME_CHARS.len())];
                    let b = TRADE_NAME_CHARS[self.rng.usize(..TRADE_NAME_CHARS.len())];
                    format!("{}{a}{b}{}", pv.city, SHOP_KINDS[self.rng.usize(..SHOP_KINDS.len())])
                } else {
                    let surname = SURNAMES[self.rng.usize(..SURNAMES.len())];
                    format!("{surname}{}", GIVEN_NAMES[self.rng.usize(..GIVEN_NAMES.len())])
                };
                if names.insert(name.clone()) || names.len() > 900 {
                    break name;
                }
            };
            let location = Coordinates { latitude: dec(pv.latitude), longitude: dec(pv.longitude) };
            let home = nearest(&self.locations, location);
            let customer = CustomerInfo {
                id: PartnerId(self.uuid("customer")),
                name,
                province,
                home,
                credit_limit: if business {
                    Decimal::from(10_000 * i64::from(self.rng.u32(5..=30)))
                } else {
                    Decimal::ZERO
                },
                terms_days: if business { [30, 45, 60][self.rng.usize(..3)] } else { 0 },
                tax_id: if business { Some(self.credit_code(pv.code)) } else { None },
            };
            let details = PartnerDetails {
                name: customer.name.clone(),
                roles: PartnerRoles { customer: true, supplier: false },
                tax_id: customer.tax_id.clone(),
                credit_limit: customer.credit_limit,
                payment_terms_days: customer.terms_days,
                region: pv.name.into(),
            };
            self.run::<Partner>(SALES, &PartnerCommand::Create { id: customer.id, details }).await?;
            if business {
                self.businesses.push(n);
            } else {
                self.consumers.push(n);
            }
            self.customers.push(customer);
            self.summary.customers += 1;
        }
        Ok(())
    }

    /// A unified social credit code: 91 (an enterprise), the province's code, then nine characters
    /// and a check character (drawn, not computed: nothing verifies it).
    fn credit_code(&mut self, province_code: &str) -> String {
        let mut code = format!("91{province_code}");
        while code.len() < 18 {
            code.push(char::from(CREDIT_CODE_CHARS[self.rng.usize(..CREDIT_CODE_CHARS.len())]));
        }
        code
    }

    async fn make_items(&mut self) -> anyhow::Result<()> {
        // Popularity: a long tail, the item of rank n weighing 1/(n + 20) (the top one sells some fifty
        // times as much as the last of a thousand). Ranks are shuffled so that popularity does not follow
        // the catalogue's order.
        let count = self.config.items as usize;
        let mut ranks: Vec<u64> = (0..count as u64).collect();
        self.rng.shuffle(&mut ranks);
        let weights: Vec<u64> = ranks.iter().map(|rank| 1_000_000 / (rank + 20)).collect();
        let weight_total: u64 = weights.iter().sum();
        self.popularity = cumulative(weights.iter().copied());
        // Where demand falls: each warehouse serves the customers nearest to it.
        let mut served = [0i64; WAREHOUSES.len()];
        for c in &self.customers {
            served[c.home] += 1;
        }
        // The item master holds one safety stock and reorder quantity: the busiest warehouse's.
        let busiest = (0..served.len()).max_by_key(|&w| (served[w], std::cmp::Reverse(w))).unwrap_or(0);
        let customers_total = served.iter().sum::<i64>().max(1);
        let units_per_day = Decimal::from(i64::from(self.config.orders_per_day) * UNITS_PER_ORDER);
        let mut names = BTreeSet::new();
        let mut per_category = [0u32; 8];
        for (n, weight) in weights.iter().enumerate() {
            let category = n % CATEGORIES.len();
            let c = &CATEGORIES[category];
            let (product, name) = loop {
                let product = &c.products[self.rng.usize(..c.products.len())];
                let brand = BRANDS[self.rng.usize(..BRANDS.len())];
                let spec = c.specs[self.rng.usize(..c.specs.len())];
                let name = format!("{brand} {} {spec}", product.name);
                if names.insert(name.clone()) {
                    break (product, name);
                }
            };
            per_category[category] += 1;
            let cost = Decimal::new(self.rng.i64(product.cost_yuan.0 * 100..=product.cost_yuan.1 * 100), 2);
            // List price: a 30 % to 80 % markup, ending in .90 as shops price.
            let markup = Decimal::new(self.rng.i64(130..=180), 2);
            let whole = (cost * markup).round_dp_with_strategy(0, RoundingStrategy::AwayFromZero);
            let price = (whole - Decimal::new(10, 2)).max(cost + Decimal::ONE);
            let suppliers: Vec<usize> =
                (0..self.suppliers.len()).filter(|&s| self.suppliers[s].category == category).collect();
            let supplier = suppliers[self.rng.usize(..suppliers.len())];
            let lead = Decimal::from(self.suppliers[supplier].lead_time_days);
            let mut safety = [Decimal::ZERO; WAREHOUSES.len()];
            let mut reorder_point = [Decimal::ZERO; WAREHOUSES.len()];
            let mut reorder_qty = [Decimal::ZERO; WAREHOUSES.len()];
            for w in 0..WAREHOUSES.len() {
                // Expected units a day at this warehouse.
                let demand = units_per_day * Decimal::from(*weight) / Decimal::from(weight_total)
                    * Decimal::from(served[w])
                    / Decimal::from(customers_total);
                safety[w] = ceil(demand * Decimal::from(SAFETY_DAYS)).max(Decimal::TWO);
                reorder_point[w] = safety[w] + ceil(demand * lead);
                // In fives, at least ten.
                let qty = ceil(demand * Decimal::from(REORDER_DAYS) / Decimal::from(5)) * Decimal::from(5);
                reorder_qty[w] = qty.max(Decimal::TEN);
            }
            let item = ItemInfo {
                id: ItemId(self.uuid("item")),
                sku: format!("{}-{:04}", c.code, per_category[category]),
                name,
                unit: product.unit,
                vat_rate: Decimal::new(product.vat_percent, 2),
                costing: if c.fifo { CostingMethod::Fifo } else { CostingMethod::MovingAverage },
                cost,
                price,
                supplier,
                safety,
                reorder_point,
                reorder_qty,
            };
            let barcode = self.barcode();
            let details = ItemDetails {
                sku: item.sku.clone(),
                name: item.name.clone(),
                unit: item.unit.into(),
                barcode: Some(barcode),
                vat_rate: item.vat_rate,
                costing: item.costing,
                safety_stock: item.safety[busiest],
                reorder_qty: item.reorder_qty[busiest],
                default_supplier: Some(self.suppliers[supplier].id),
                lead_time_days: self.suppliers[supplier].lead_time_days,
                kind: ItemKind::Goods,
            };
            self.run::<Item>(BUYER, &ItemCommand::Create { id: item.id, details }).await?;
            self.item_index.insert(item.id, self.items.len());
            self.items.push(item);
            self.summary.items += 1;
        }
        Ok(())
    }

    /// An EAN-13 barcode in China's range (690–699), with its check digit.
    fn barcode(&mut self) -> String {
        let mut digits: Vec<u32> = vec![6, 9, self.rng.u32(0..=9)];
        digits.extend((0..9).map(|_| self.rng.u32(0..=9)));
        let sum: u32 =
            digits.iter().enumerate().map(|(i, d)| if i.is_multiple_of(2) { *d } else { 3 * d }).sum();
        digits.push((10 - sum % 10) % 10);
        digits.iter().map(|d| char::from_digit(*d, 10).unwrap_or('0')).collect()
    }

    // -----------------------------------------------------------------------------------------------
    // One business day

    async fn day(&mut self, day: u32) -> anyhow::Result<()> {
        let (_, month, dom, _) = self.date(day);
        // Morning: goods arrive, suppliers' invoices come in, money goes out and comes in.
        self.now = self.at(day, 8, 30);
        self.receive_arrivals(day).await?;
        self.now = self.at(day, 9, 0);
        self.register_supplier_invoices(day).await?;
        self.now = self.at(day, 9, 30);
        match dom {
            1 => self.pay_rent(month).await?,
            5 => self.pay_courier(day).await?,
            10 => self.pay_wages(day).await?,
            15 => self.pay_taxes(day).await?,
            25 => self.pay_suppliers(day).await?,
            _ => {}
        }
        self.now = self.at(day, 10, 0);
        self.collect(day).await?;
        self.settle().await?;
        // Yesterday's orders leave the warehouses, and are invoiced once out.
        self.now = self.at(day, 10, 30);
        let shipped = self.ship(day).await?;
        self.settle().await?;
        self.now = self.at(day, 11, 30);
        self.invoice(day, shipped).await?;
        // What was paid at the shop's counter is recorded with its invoice.
        self.collect(day).await?;
        self.settle().await?;
        // The day's orders, 09:00 to 21:00; fulfilment reserves them once they are all in.
        self.take_orders(day).await?;
        self.settle().await?;
        // Evening: what fell low is bought, a section is counted now and then.
        self.now = self.at(day, 21, 30);
        self.replenish(day).await?;
        if dom == 20 {
            self.stocktake(usize::from(month) % self.warehouses.len()).await?;
        }
        self.settle().await?;
        if self.period(day + 1) != self.period(day) {
            self.close_month(day).await?;
        }
        Ok(())
    }

    /// How many orders come in on `day`: the base on a weekday, more at weekends and on the shopping
    /// festivals (618, 双十一, 双十二), fewer over the Spring Festival; ±20 % noise.
    fn orders_on(&mut self, day: u32) -> u32 {
        let (_, month, dom, weekday) = self.date(day);
        let mut percent: u32 = match (month, dom) {
            (11, 11) => 400,
            (11, 1..=10) => 150,
            (6, 18) => 300,
            (6, 1..=17) => 130,
            (12, 12) => 200,
            (2, 10..=24) => 50,
            _ => 100,
        };
        if weekday == 0 || weekday == 6 {
            percent = percent * 6 / 5;
        }
        let noise = self.rng.u32(80..=120);
        self.config.orders_per_day * percent / 100 * noise / 100
    }

    async fn take_orders(&mut self, day: u32) -> anyhow::Result<()> {
        self.routed_today.clear();
        let count = self.orders_on(day);
        let channel_weights = cumulative(CHANNELS.iter().map(|(_, w, _)| u64::from(*w)));
        for n in 0..count {
            // Spread over the shops' opening hours, 09:00 to 21:00.
            let minute = i64::from(n) * 720 / i64::from(count.max(1));
            self.now = self.at(day, 9, minute);
            let (channel, _, price_percent) = CHANNELS[draw(&mut self.rng, &channel_weights)];
            if channel == Chan::Direct && self.businesses.is_empty() {
                continue;
            }
            self.take_order(day, channel, price_percent).await?;
        }
        Ok(())
    }

    async fn take_order(&mut self, day: u32, channel: Chan, price_percent: i64) -> anyhow::Result<()> {
        let customer = if channel == Chan::Direct {
            self.businesses[self.rng.usize(..self.businesses.len())]
        } else {
            self.consumers[self.rng.usize(..self.consumers.len())]
        };
        let home = self.customers[customer].home;
        // A consumer buys one to three items, mostly one of each; a business two to five, by the case
        // of five, up to thirty.
        let business = channel == Chan::Direct;
        let line_count = match (business, self.rng.u32(..10)) {
            (true, _) => self.rng.usize(2..=5),
            (false, 0..=5) => 1,
            (false, 6..=8) => 2,
            (false, _) => 3,
        };
        let mut wanted: Vec<(usize, Decimal)> = Vec::new();
        while wanted.len() < line_count {
            let item = draw(&mut self.rng, &self.popularity);
            if wanted.iter().any(|(i, _)| *i == item) {
                continue;
            }
            let qty = match (business, self.rng.u32(..10)) {
                (true, _) => 5 * self.rng.i64(1..=6),
                (false, 0..=6) => 1,
                (false, 7..=8) => 2,
                (false, _) => 3,
            };
            wanted.push((item, Decimal::from(qty)));
        }
        // The shop's counter sells what its warehouse holds; everything else is routed to the nearest
        // warehouse with stock, and a line no warehouse can fill shows as sold out.
        let candidates: Vec<usize> =
            if channel == Chan::Store { vec![home] } else { (0..self.warehouses.len()).collect() };
        let mut stock: Vec<WarehouseStock> = candidates
            .iter()
            .map(|&w| WarehouseStock {
                warehouse: self.warehouses[w],
                location: self.locations[w],
                available: Vec::new(),
            })
            .collect();
        let mut lines = Vec::new();
        for (item, qty) in wanted {
            let mut total = Decimal::ZERO;
            for (slot, &w) in candidates.iter().enumerate() {
                let available = self.available(item, w).await?;
                total += available.max(Decimal::ZERO);
                stock[slot].available.push((self.items[item].id, available));
            }
            if total < qty {
                self.summary.lines_out_of_stock += 1;
                continue;
            }
            let info = &self.items[item];
            let unit_price = round_money(info.price * Decimal::new(price_percent, 2));
            lines.push(OrderLineInput {
                item: info.id,
                qty: Quantity::new(qty)?,
                unit_price: UnitAmount::new(unit_price)?,
                vat_rate: info.vat_rate,
                default_supplier: Some(self.suppliers[info.supplier].id),
                warehouse: None,
            });
        }
        if lines.is_empty() {
            return Ok(());
        }
        let pv = &PROVINCES[self.customers[customer].province];
        let delivery = Coordinates { latitude: dec(pv.latitude), longitude: dec(pv.longitude) };
        let lines = route_lines(delivery, &lines, &stock)?;
        let channel_value = match channel.platform() {
            None if channel == Chan::Store => Channel::Store { store: WAREHOUSES[home].store.into() },
            None => Channel::Direct,
            Some(platform) => Channel::Online {
                platform: platform.to_string(),
                platform_order_id: self.platform_order_id(channel, day),
            },
        };
        let id = SalesOrderId(self.uuid("sales-order"));
        let place = SalesOrderCommand::Place {
            id,
            customer: self.customers[customer].id,
            channel: channel_value.clone(),
            warehouse: self.warehouses[home],
            lines: lines.clone(),
            // Read from the masters and the customer's account by the service.
            credit: CreditFacts { limit: Decimal::ZERO, open_receivables: Decimal::ZERO },
            masters_usable: false,
        };
        let actor = if channel.platform().is_some() { SHOP_FEED } else { SALES };
        let meta = self.meta(actor);
        let placed = place_sales_order(&self.bus, &meta, &place).await;
        match self.accepted(placed)? {
            Some(Placement::Placed(_)) => {
                self.summary.orders += 1;
                *self.summary.orders_by_channel.entry(channel_value.segment().to_string()).or_default() += 1;
                let mut warehouses_used = BTreeSet::new();
                for routed in &lines {
                    let w = routed.warehouse.and_then(|id| self.warehouse_index(id)).unwrap_or(home);
                    let item = self.item_index[&routed.item];
                    *self.routed_today.entry((item, w)).or_default() += routed.qty.get();
                    warehouses_used.insert(w);
                }
                if warehouses_used.len() > 1 {
                    self.summary.orders_split += 1;
                }
                self.open_orders.push(OpenOrder { id, customer, channel, placed_day: day });
            }
            Some(Placement::AlreadyPlaced(_)) => self.summary.duplicates_refused += 1,
            None => {}
        }
        // Now and then a platform pushes the same order again: the platform order id answers it.
        if channel.platform().is_some() && self.rng.u32(..RESUBMISSION_ONE_IN) == 0 {
            let mut again = place;
            if let SalesOrderCommand::Place { id, .. } = &mut again {
                *id = SalesOrderId(self.uuid("sales-order"));
            }
            let meta = self.meta(SHOP_FEED);
            let placed = place_sales_order(&self.bus, &meta, &again).await;
            match self.accepted(placed)? {
                Some(Placement::AlreadyPlaced(_)) => self.summary.duplicates_refused += 1,
                Some(Placement::Placed(_)) => anyhow::bail!("a platform order was placed twice"),
                None => {}
            }
        }
        Ok(())
    }

    /// A platform's order number in the platform's own style.
    fn platform_order_id(&mut self, channel: Chan, day: u32) -> String {
        let (year, month, dom, _) = self.date(day);
        let digits = |rng: &mut fastrand::Rng, n: usize| -> String {
            (0..n).map(|_| char::from_digit(rng.u32(0..=9), 10).unwrap_or('0')).collect()
        };
        match channel {
            Chan::Pinduoduo => format!("{:02}{month:02}{dom:02}-{}", year % 100, digits(&mut self.rng, 15)),
            Chan::Wechat => format!("wx{year}{month:02}{dom:02}{}", digits(&mut self.rng, 12)),
            Chan::Douyin => format!("69{}", digits(&mut self.rng, 17)),
            _ => format!("{}{}", self.rng.u32(1..=4), digits(&mut self.rng, 18)),
        }
    }

    /// What of `item` warehouse `w` can still promise today: available stock, less what today's orders
    /// were routed to take and fulfilment has not reserved yet.
    async fn available(&mut self, item: usize, w: usize) -> anyhow::Result<Decimal> {
        let key = StockKey { item: self.items[item].id, warehouse: self.warehouses[w] };
        let available =
            self.bus.inspect::<StockItem, Decimal>(&key.stream_id(), StockItem::available).await?;
        Ok(available - self.routed_today.get(&(item, w)).copied().unwrap_or_default())
    }

    /// Ships every open order that is ready to pick: one shipment per warehouse its lines come from,
    /// created, picked and shipped in one go. Answers what was shipped, for invoicing.
    async fn ship(&mut self, day: u32) -> anyhow::Result<Vec<Shipped>> {
        let open = std::mem::take(&mut self.open_orders);
        let mut shipped = Vec::new();
        for order in open {
            if order.placed_day >= day {
                self.open_orders.push(order);
                continue;
            }
            let stream = SalesOrder::stream_id(&SalesOrderCommand::Confirm { id: order.id });
            let (ready, status, lines) = self
                .bus
                .inspect::<SalesOrder, _>(&stream, |o| (o.ready_to_pick, o.status, o.lines.clone()))
                .await?;
            if status != SalesOrderStatus::Placed {
                continue;
            }
            if !ready {
                if day - order.placed_day >= READY_WAIT_DAYS {
                    let cancel =
                        SalesOrderCommand::Cancel { id: order.id, reason: "缺货，已退款".into() };
                    if self.run::<SalesOrder>(SALES, &cancel).await? {
                        self.summary.orders_cancelled += 1;
                    }
                } else {
                    self.open_orders.push(order);
                }
                continue;
            }
            let mut by_warehouse: BTreeMap<WarehouseId, Vec<&OrderLine>> = BTreeMap::new();
            for l in &lines {
                by_warehouse.entry(l.warehouse).or_default().push(l);
            }
            let mut invoice_lines = Vec::new();
            for (warehouse, lines) in by_warehouse {
                let id = ShipmentId(self.uuid("shipment"));
                let inputs: Vec<ShipmentLineInput> = lines
                    .iter()
                    .map(|l| {
                        Ok(ShipmentLineInput {
                            order_line: l.line,
                            item: l.item,
                            qty: Quantity::new(l.qty)?,
                            reservation: Some(domain::process::order_fulfilment::line_reservation(
                                order.id, l.line,
                            )),
                        })
                    })
                    .collect::<Result<_, domain::values::ValueError>>()?;
                let create = ShipmentCommand::Create { id, order: order.id, warehouse, lines: inputs };
                let pick = ShipmentCommand::Pick { id, picked: lines.iter().map(|l| l.qty).collect() };
                let ship = ShipmentCommand::Ship { id };
                let metas = [self.meta(CLERK), self.meta(CLERK), self.meta(CLERK)];
                let steps = [(&metas[0], &create), (&metas[1], &pick), (&metas[2], &ship)];
                let outcomes = self.bus.execute_all::<Shipment>(&steps).await;
                let Some(outcomes) = self.accepted(outcomes)? else { continue };
                let mut all = true;
                for outcome in outcomes {
                    all &= self.accepted(outcome.map_err(BusError::Rejected))?.is_some();
                }
                if !all {
                    continue;
                }
                self.summary.shipments += 1;
                *self.shipments_by_period.entry(self.period(day)).or_default() += 1;
                let w = self.warehouse_index(warehouse).unwrap_or(0);
                for l in lines {
                    let item = self.item_index[&l.item];
                    self.touched.insert((item, w));
                    invoice_lines.push(InvoiceLineInput {
                        shipment: id,
                        item: l.item,
                        qty: Quantity::new(l.qty)?,
                        unit_price: UnitAmount::new(l.unit_price)?,
                        vat_rate: l.vat_rate,
                    });
                }
            }
            if !invoice_lines.is_empty() {
                shipped.push(Shipped {
                    customer: order.customer,
                    channel: order.channel,
                    lines: invoice_lines,
                });
            }
        }
        Ok(shipped)
    }

    /// One invoice per shipped order, billing all its shipments; the money is expected at the counter
    /// today, from the platform after settlement, or from a business customer on its due date.
    async fn invoice(&mut self, day: u32, shipped: Vec<Shipped>) -> anyhow::Result<()> {
        for order in shipped {
            let customer = &self.customers[order.customer];
            let (customer_id, terms) = (customer.id, customer.terms_days);
            let id = SalesInvoiceId(self.uuid("sales-invoice"));
            let due_day = match order.channel {
                Chan::Store => day,
                Chan::Direct => day + terms,
                _ => day + PLATFORM_SETTLEMENT_DAYS,
            };
            let issue = SalesInvoiceCommand::Issue {
                id,
                customer: customer_id,
                lines: order.lines,
                due_at: self.at(due_day, 12, 0),
                masters_usable: true,
            };
            let meta = self.meta(ACCOUNTANT);
            let issued = issue_sales_invoice(&self.bus, &meta, &issue).await;
            let Some(issued) = self.accepted(issued)? else { continue };
            let Some(SalesInvoiceEvent::Issued(issued)) = issued.events.first() else { continue };
            self.summary.invoices += 1;
            // One business customer in ten pays two weeks late.
            let pays_on =
                if order.channel == Chan::Direct && self.rng.u32(..10) == 0 { due_day + 14 } else { due_day };
            self.receivables.entry(pays_on).or_default().push(Due {
                invoice: id,
                customer: order.customer,
                amount: issued.amount_gross,
            });
        }
        Ok(())
    }

    /// Records the money customers pay today, each receipt against its invoice.
    async fn collect(&mut self, day: u32) -> anyhow::Result<()> {
        let due: Vec<Due> = self.receivables.remove(&day).unwrap_or_default();
        for due in due {
            let record = CustomerReceiptCommand::Record {
                id: CustomerReceiptId(self.uuid("customer-receipt")),
                customer: self.customers[due.customer].id,
                amount: due.amount,
                allocation: Allocation::Explicit(vec![(due.invoice, due.amount)]),
            };
            if self.run::<CustomerReceipt>(ACCOUNTANT, &record).await? {
                self.summary.receipts += 1;
            }
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------------
    // Purchasing

    /// Places a purchase order with the service's automatic checks, has it approved by the purchasing
    /// manager, and expects the goods on business day `arrives`; in several orders when the lines are more
    /// than one order holds.
    async fn purchase(
        &mut self,
        supplier: usize,
        warehouse: usize,
        lines: Vec<(usize, Decimal)>,
        arrives: u32,
    ) -> anyhow::Result<()> {
        for chunk in lines.chunks(PO_LINES_MAX) {
            self.purchase_order(supplier, warehouse, chunk.to_vec(), arrives).await?;
        }
        Ok(())
    }

    /// One purchase order of [`Demo::purchase`], of at most `PO_LINES_MAX` lines.
    async fn purchase_order(
        &mut self,
        supplier: usize,
        warehouse: usize,
        lines: Vec<(usize, Decimal)>,
        arrives: u32,
    ) -> anyhow::Result<()> {
        let id = PurchaseOrderId(self.uuid("purchase-order"));
        let mut drafts = Vec::with_capacity(lines.len());
        for (item, qty) in &lines {
            let info = &self.items[*item];
            drafts.push(OrderLineDraft {
                item: info.id,
                qty: Quantity::new(*qty)?,
                unit_price: UnitAmount::new(info.cost)?,
                vat_rate: info.vat_rate,
            });
        }
        let draft = PurchaseOrderDraft {
            id,
            supplier: self.suppliers[supplier].id,
            warehouse: self.warehouses[warehouse],
            department: "采购部".into(),
            lines: drafts,
            requisition: None,
        };
        let meta = self.meta(BUYER);
        let placed = place_purchase_order(&self.bus, &meta, &draft, &PurchasingSettings::default()).await;
        if self.accepted(placed)?.is_none() {
            return Ok(());
        }
        if !self.run::<PurchaseOrder>(PURCHASING_MANAGER, &PurchaseOrderCommand::Approve { id }).await? {
            return Ok(());
        }
        self.summary.purchase_orders += 1;
        for (item, qty) in &lines {
            *self.on_order.entry((*item, warehouse)).or_default() += *qty;
        }
        self.arrivals.entry(arrives).or_default().push(Arrival { po: id, supplier, warehouse, lines });
        Ok(())
    }

    /// Receives every purchase order arriving today, in full; suppliers that send their invoice with the
    /// goods have it booked on receipt, the others' invoices follow a few days later.
    async fn receive_arrivals(&mut self, day: u32) -> anyhow::Result<()> {
        let arrivals = self.arrivals.remove(&day).unwrap_or_default();
        for arrival in arrivals {
            let supplier = &self.suppliers[arrival.supplier];
            let (with_goods, food) = (supplier.invoice_with_goods, CATEGORIES[supplier.category].fifo);
            let (year, month, dom, _) = self.date(day);
            let invoice = if with_goods {
                let mut prices = Vec::with_capacity(arrival.lines.len());
                for (n, (item, _)) in arrival.lines.iter().enumerate() {
                    prices.push((n as u32, UnitAmount::new(self.items[*item].cost)?));
                }
                Some(InvoiceWithGoods {
                    id: PurchaseInvoiceId(self.uuid("purchase-invoice")),
                    number: format!("{:08}", self.rng.u32(..100_000_000)),
                    prices,
                })
            } else {
                None
            };
            let mut lines = Vec::with_capacity(arrival.lines.len());
            for (n, (_, qty)) in arrival.lines.iter().enumerate() {
                lines.push((n as u32, Quantity::new(*qty)?));
            }
            let receive = PurchaseOrderCommand::Receive {
                id: arrival.po,
                receipt: GoodsReceiptId(self.uuid("goods-receipt")),
                lines,
                bin: None,
                // Food is received in lots (批次), dated.
                lot: food.then(|| format!("{year}{month:02}{dom:02}")),
                tolerance: Decimal::ZERO,
                bin_known: false,
                invoice: invoice.clone(),
            };
            let meta = self.meta(CLERK);
            let received = receive_purchase_order(&self.bus, &meta, &receive).await;
            if self.accepted(received)?.is_none() {
                continue;
            }
            self.summary.goods_receipts += 1;
            for (item, qty) in &arrival.lines {
                if let Some(on_order) = self.on_order.get_mut(&(*item, arrival.warehouse)) {
                    *on_order -= *qty;
                }
            }
            match invoice {
                Some(invoice) => {
                    self.summary.supplier_invoices += 1;
                    let due_day = day + self.suppliers[arrival.supplier].terms_days;
                    self.payables.push(Payable { invoice: invoice.id, supplier: arrival.supplier, due_day });
                }
                None => {
                    let arrives = day + self.rng.u32(2..=5);
                    self.invoices_due.entry(arrives).or_default().push((arrival.po, arrival.supplier));
                }
            }
        }
        Ok(())
    }

    /// Registers the supplier invoices that arrive today, matched three ways against the order and what
    /// was received (the facts read from the purchase order); now and then a line is billed a little
    /// above the order's price, within tolerance, and the difference goes into the goods' cost.
    async fn register_supplier_invoices(&mut self, day: u32) -> anyhow::Result<()> {
        let due = self.invoices_due.remove(&day).unwrap_or_default();
        for (po, supplier) in due {
            let order: PurchaseOrder = self.bus.load(&PurchaseOrder::stream(po)).await?;
            let mut lines = Vec::new();
            let above = self.rng.u32(..PRICE_DIFFERENCE_ONE_IN) == 0;
            for (i, ordered) in order.lines.iter().enumerate() {
                let qty = order.received[i] - order.invoiced[i];
                if qty <= Decimal::ZERO {
                    continue;
                }
                let price = if above && lines.is_empty() {
                    round_money(ordered.unit_price * Decimal::new(102, 2))
                } else {
                    ordered.unit_price
                };
                lines.push(PurchaseInvoiceLineInput {
                    po,
                    po_line: i as u32,
                    item: ordered.item,
                    qty: Quantity::new(qty)?,
                    unit_price: UnitAmount::new(price)?,
                    vat_rate: ordered.vat_rate,
                });
            }
            if lines.is_empty() {
                continue;
            }
            // The facts of the match (ordered price, received and invoiced so far) and whether the
            // masters are active are read by the service, as the API's register-purchase-invoice does.
            let id = PurchaseInvoiceId(self.uuid("purchase-invoice"));
            let number = format!("{:08}", self.rng.u32(..100_000_000));
            let meta = self.meta(BUYER);
            let result = command_api::purchasing::register_purchase_invoice(
                &self.bus,
                &meta,
                id,
                self.suppliers[supplier].id,
                number,
                lines,
            )
            .await;
            if self.accepted(result)?.is_some() {
                self.summary.supplier_invoices += 1;
                let due_day = day + self.suppliers[supplier].terms_days;
                self.payables.push(Payable { invoice: id, supplier, due_day });
            }
        }
        Ok(())
    }

    /// The monthly payment run (the 25th): each supplier is paid, in one payment, every matched invoice
    /// that falls due before the next run.
    async fn pay_suppliers(&mut self, day: u32) -> anyhow::Result<()> {
        let (due, later): (Vec<Payable>, Vec<Payable>) =
            std::mem::take(&mut self.payables).into_iter().partition(|p| p.due_day <= day + 30);
        self.payables = later;
        let mut by_supplier: BTreeMap<usize, Vec<(PurchaseInvoiceId, Decimal)>> = BTreeMap::new();
        for payable in due {
            let stream = PurchaseInvoice::stream_id(&PurchaseInvoiceCommand::ApproveException {
                id: payable.invoice,
                reason: String::new(),
            });
            let (status, open) =
                self.bus.inspect::<PurchaseInvoice, _>(&stream, |i| (i.status, i.open)).await?;
            match status {
                PurchaseInvoiceStatus::Matched if open > Decimal::ZERO => {
                    by_supplier.entry(payable.supplier).or_default().push((payable.invoice, open));
                }
                // Waiting for its invoice to be booked with the goods, or for an approval: next run.
                PurchaseInvoiceStatus::New | PurchaseInvoiceStatus::Exception => self.payables.push(payable),
                _ => {}
            }
        }
        for (supplier, allocations) in by_supplier {
            let amount: Decimal = allocations.iter().map(|(_, a)| *a).sum();
            let pay = SupplierPaymentCommand::Pay {
                id: SupplierPaymentId(self.uuid("supplier-payment")),
                supplier: self.suppliers[supplier].id,
                amount,
                allocations,
            };
            if self.run::<SupplierPayment>(CONTROLLER, &pay).await? {
                self.summary.supplier_payments += 1;
            }
        }
        Ok(())
    }

    /// Buys what fell to its reorder point today, counting what is already on its way: one order per
    /// supplier and warehouse.
    async fn replenish(&mut self, day: u32) -> anyhow::Result<()> {
        let touched = std::mem::take(&mut self.touched);
        let mut orders: BTreeMap<(usize, usize), Vec<(usize, Decimal)>> = BTreeMap::new();
        for (item, w) in touched {
            let key = StockKey { item: self.items[item].id, warehouse: self.warehouses[w] };
            let available =
                self.bus.inspect::<StockItem, Decimal>(&key.stream_id(), StockItem::available).await?;
            let coming = self.on_order.get(&(item, w)).copied().unwrap_or_default();
            let info = &self.items[item];
            let position = available + coming;
            if position < info.reorder_point[w] {
                let qty = info.reorder_qty[w] + (info.reorder_point[w] - position);
                orders.entry((info.supplier, w)).or_default().push((item, qty));
            }
        }
        for ((supplier, w), lines) in orders {
            let arrives = day + self.suppliers[supplier].lead_time_days;
            self.purchase(supplier, w, lines, arrives).await?;
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------------
    // Stock

    /// Counts a section of one warehouse: most counts agree with the books; a few find a unit or two
    /// missing (never more than is free of reservations) or one too many. Counted and submitted by the
    /// clerk, approved by the warehouse manager; the stocktake-posting process adjusts the stock.
    async fn stocktake(&mut self, w: usize) -> anyhow::Result<()> {
        let mut picked = BTreeSet::new();
        let mut lines = Vec::new();
        let mut counts = Vec::new();
        let mut tries = 0;
        while lines.len() < STOCKTAKE_LINES.min(self.items.len()) && tries < 10 * STOCKTAKE_LINES {
            tries += 1;
            let item = self.rng.usize(..self.items.len());
            if !picked.insert(item) {
                continue;
            }
            let key = StockKey { item: self.items[item].id, warehouse: self.warehouses[w] };
            // The books' side of the line, read as the API's stocktakes read it.
            let Some(line) = command_api::inventory::book_line(&self.bus, self.config.book, key).await?
            else {
                continue;
            };
            let available =
                self.bus.inspect::<StockItem, Decimal>(&key.stream_id(), StockItem::available).await?;
            let on_hand = line.book_qty;
            let counted = match self.rng.u32(..20) {
                0..=1 if available >= Decimal::ONE => {
                    on_hand - Decimal::from(self.rng.i64(1..=2)).min(available)
                }
                2 => on_hand + Decimal::ONE,
                _ => on_hand,
            };
            lines.push(line);
            counts.push(counted);
            self.touched.insert((item, w));
        }
        if lines.is_empty() {
            return Ok(());
        }
        let id = StocktakeId(self.uuid("stocktake"));
        let mut commands = vec![(CLERK, StocktakeCommand::Open { id, warehouse: self.warehouses[w], lines })];
        for (n, counted) in counts.into_iter().enumerate() {
            commands.push((CLERK, StocktakeCommand::Count { id, line: n as u32, counted }));
        }
        commands.push((CLERK, StocktakeCommand::Submit { id }));
        commands.push((WAREHOUSE_MANAGER, StocktakeCommand::Approve { id, losses: Vec::new() }));
        let metas: Vec<CommandMeta> = commands.iter().map(|(actor, _)| self.meta(*actor)).collect();
        let steps: Vec<(&CommandMeta, &StocktakeCommand)> =
            metas.iter().zip(&commands).map(|(m, (_, c))| (m, c)).collect();
        let outcomes = self.bus.execute_all::<Stocktake>(&steps).await;
        let Some(outcomes) = self.accepted(outcomes)? else { return Ok(()) };
        let mut all = true;
        for outcome in outcomes {
            all &= self.accepted(outcome.map_err(BusError::Rejected))?.is_some();
        }
        if all {
            self.summary.stocktakes += 1;
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------------
    // Finance

    /// A manual voucher: drafted by the accountant, reviewed by the controller, posted.
    async fn manual_voucher(&mut self, lines: Vec<VoucherLine>) -> anyhow::Result<()> {
        let id = VoucherId(self.uuid("voucher"));
        let draft = VoucherDraft {
            id,
            book: self.config.book,
            word: VoucherWord::Ji,
            date: self.now,
            lines,
            source: None,
            reverses: None,
        };
        let meta = self.meta(ACCOUNTANT);
        let drafted = draft_voucher(&self.bus, &meta, &draft).await;
        if self.accepted(drafted)?.is_none() {
            return Ok(());
        }
        if !self.run::<Voucher>(CONTROLLER, &VoucherCommand::Review { id }).await? {
            return Ok(());
        }
        let meta = self.meta(ACCOUNTANT);
        let posted = post_voucher(&self.bus, &meta, id).await;
        if self.accepted(posted)?.is_some() {
            self.summary.manual_vouchers += 1;
        }
        Ok(())
    }

    /// Fixed costs grow with the business: scaled to the orders a day, from what they are at 60.
    fn scaled(&self, yuan_at_60: i64) -> Decimal {
        round_money(Decimal::from(yuan_at_60) * Decimal::from(self.config.orders_per_day) / Decimal::from(60))
    }

    /// The 1st: the warehouses' and shops' rent for the month.
    async fn pay_rent(&mut self, month: u8) -> anyhow::Result<()> {
        let mut lines = Vec::new();
        let mut total = Decimal::ZERO;
        for site in &WAREHOUSES {
            let rent = self.scaled(site.rent_yuan);
            total += rent;
            let summary = format!("{}月{}及{}租金", month, site.name, site.store);
            lines.push(line(&summary, &self.accounts.sales_expense, rent, Decimal::ZERO));
        }
        lines.push(line(&format!("{month}月房租"), &self.accounts.bank, Decimal::ZERO, total));
        self.manual_voucher(lines).await
    }

    /// The 5th: last month's courier fees, by the shipments sent.
    async fn pay_courier(&mut self, day: u32) -> anyhow::Result<()> {
        let Some(previous) = self.period(day).previous() else { return Ok(()) };
        let shipped = self.shipments_by_period.get(&previous).copied().unwrap_or(0);
        if shipped == 0 {
            return Ok(());
        }
        // ¥5.50 a parcel.
        let fee = round_money(Decimal::from(shipped) * Decimal::new(550, 2));
        let summary = format!("支付{}快递费（{shipped} 件）", previous);
        let lines = vec![
            line(&summary, &self.accounts.sales_expense, fee, Decimal::ZERO),
            line(&summary, &self.accounts.bank, Decimal::ZERO, fee),
        ];
        self.manual_voucher(lines).await
    }

    /// The wages of a month: accrued on its last day (计提), sales staff to selling expenses, the office
    /// to administrative expenses.
    async fn accrue_wages(&mut self, period: Period) -> anyhow::Result<()> {
        let (sales, office) = (self.scaled(52_000), self.scaled(38_000));
        let summary = format!("计提{period}工资");
        let lines = vec![
            line(&summary, &self.accounts.sales_expense, sales, Decimal::ZERO),
            line(&summary, &self.accounts.admin_expense, office, Decimal::ZERO),
            line(&summary, &self.accounts.payroll, Decimal::ZERO, sales + office),
        ];
        self.manual_voucher(lines).await
    }

    /// The 10th: last month's accrued wages paid out.
    async fn pay_wages(&mut self, day: u32) -> anyhow::Result<()> {
        let Some(previous) = self.period(day).previous() else { return Ok(()) };
        if previous < self.period(0) {
            return Ok(());
        }
        let owed = -self.balance(&self.accounts.payroll.clone(), previous).await?;
        if owed <= Decimal::ZERO {
            return Ok(());
        }
        let summary = format!("发放{previous}工资");
        let lines = vec![
            line(&summary, &self.accounts.payroll, owed, Decimal::ZERO),
            line(&summary, &self.accounts.bank, Decimal::ZERO, owed),
        ];
        self.manual_voucher(lines).await
    }

    /// The 15th: last month's VAT and surcharges, as month end left them, paid to the tax bureau.
    async fn pay_taxes(&mut self, day: u32) -> anyhow::Result<()> {
        let Some(previous) = self.period(day).previous() else { return Ok(()) };
        if previous < self.period(0) {
            return Ok(());
        }
        let mut lines = Vec::new();
        let mut total = Decimal::ZERO;
        let taxes = [
            ("增值税", self.accounts.unpaid_vat.clone()),
            ("城市维护建设税", self.accounts.urban_construction_tax.clone()),
            ("教育费附加", self.accounts.education_surcharge.clone()),
        ];
        for (name, code) in taxes {
            let owed = -self.balance(&code, previous).await?;
            if owed > Decimal::ZERO {
                total += owed;
                lines.push(line(&format!("缴纳{previous}{name}"), &code, owed, Decimal::ZERO));
            }
        }
        if lines.is_empty() {
            return Ok(());
        }
        lines.push(line(&format!("缴纳{previous}税费"), &self.accounts.bank, Decimal::ZERO, total));
        self.manual_voucher(lines).await
    }

    /// The signed balance (debits positive) of `code` at the end of `period`, from the month journals.
    async fn balance(&self, code: &str, period: Period) -> anyhow::Result<Decimal> {
        let balances = balances_at(&self.bus, self.config.book, self.period(0), period).await?;
        Ok(balances.get(code).copied().unwrap_or_default())
    }

    /// The month's last evening: wages accrued, then month end (VAT, surcharges, profit, and in
    /// December the year end) and the month closed.
    async fn close_month(&mut self, day: u32) -> anyhow::Result<()> {
        let period = self.period(day);
        self.now = self.at(day, 22, 0);
        self.accrue_wages(period).await?;
        self.settle().await?;
        self.now = self.at(day, 23, 0);
        let meta = self.meta(CONTROLLER);
        let month_end = run_month_end(&self.bus, &meta, self.config.book, period).await;
        if self.accepted(month_end)?.is_none() {
            return Ok(());
        }
        let meta = self.meta(CONTROLLER);
        let closed = close_period(&self.bus, &meta, self.config.book, period).await;
        if self.accepted(closed)?.is_some() {
            self.summary.months_closed += 1;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------
// Helpers

/// A refused command's stable code; a failure of the store is no refusal and stops the demo.
trait Refused {
    fn into_code(self) -> anyhow::Result<&'static str>;
}

impl<R: Rejection> Refused for BusError<R> {
    fn into_code(self) -> anyhow::Result<&'static str> {
        match self {
            BusError::Store(e) => Err(anyhow::Error::new(e).context("the store failed")),
            other => Ok(other.code()),
        }
    }
}

impl Refused for FinanceError {
    fn into_code(self) -> anyhow::Result<&'static str> {
        match self {
            FinanceError::Voucher(e) => e.into_code(),
            FinanceError::Journal(e) => e.into_code(),
            FinanceError::Opening(e) => e.into_code(),
            FinanceError::PurchaseInvoice(e) => e.into_code(),
            FinanceError::Stock(e) => e.into_code(),
            FinanceError::Invoice(e) => e.into_code(),
        }
    }
}

impl Refused for InvoicingError {
    fn into_code(self) -> anyhow::Result<&'static str> {
        match self {
            InvoicingError::Invoice(e) => e.into_code(),
            InvoicingError::Shipment(e) => e.into_code(),
        }
    }
}

fn dec(text: &str) -> Decimal {
    text.parse().expect("a decimal literal of the catalogue")
}

/// Rounds up to a whole unit.
fn ceil(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(0, RoundingStrategy::ToPositiveInfinity)
}

fn line(summary: &str, account: &str, debit: Decimal, credit: Decimal) -> VoucherLine {
    VoucherLine {
        summary: summary.into(),
        account: account.into(),
        debit,
        credit,
        partner: None,
        item: None,
        department: None,
    }
}

/// Running totals of `weights`, for [`draw`].
fn cumulative(weights: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut total = 0;
    weights
        .map(|w| {
            total += w;
            total
        })
        .collect()
}

/// An index drawn with the probability of its weight, from running totals.
fn draw(rng: &mut fastrand::Rng, cumulative: &[u64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0);
    if total == 0 {
        return 0;
    }
    let x = rng.u64(..total);
    cumulative.partition_point(|&c| c <= x)
}

/// The location nearest to `to` by squared degrees: enough to pick a customer's home shop.
fn nearest(locations: &[Coordinates], to: Coordinates) -> usize {
    let rank = |c: &Coordinates| {
        let (dy, dx) = (c.latitude - to.latitude, c.longitude - to.longitude);
        dy * dy + dx * dx
    };
    (0..locations.len()).min_by_key(|&i| rank(&locations[i])).unwrap_or(0)
}

fn province_code(name: &str) -> &'static str {
    PROVINCES.iter().find(|p| p.name == name).map_or("310000", |p| p.code)
}

//! The master-data life cycle and each master's validation, given / when / then.

use rust_decimal::Decimal;
use uuid::Uuid;

use super::*;
use crate::aggregate::Aggregate;
use crate::command::CommandMeta;
use crate::ids::{ItemId, PartnerId, WarehouseId};
use crate::inventory::CostingMethod;

fn meta() -> CommandMeta {
    crate::testing::meta("admin")
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn item_id() -> ItemId {
    ItemId(Uuid::from_u128(10))
}

pub(crate) fn item_details() -> ItemDetails {
    ItemDetails {
        sku: "SKU-001".into(),
        name: "不锈钢保温杯 500ml".into(),
        unit: "个".into(),
        barcode: Some("6901234567892".into()),
        vat_rate: d("0.13"),
        costing: CostingMethod::MovingAverage,
        safety_stock: d("20"),
        reorder_qty: d("100"),
        default_supplier: Some(PartnerId(Uuid::from_u128(30))),
        lead_time_days: 7,
        kind: crate::master::ItemKind::Goods,
    }
}

/// Runs `commands` from an empty item (all but the last must be accepted); returns the state after the
/// last one and its result.
fn run_item(commands: &[ItemCommand]) -> (Item, Result<Vec<ItemEvent>, MasterRejection>) {
    let (last, steps) = commands.split_last().expect("at least one command");
    let outcome = crate::testing::given_by::<Item>("admin", steps).when(&meta(), last);
    (outcome.after, outcome.result)
}

fn code<T>(result: &Result<T, MasterRejection>) -> &'static str {
    match result {
        Err(r) => crate::command::Rejection::code(r),
        Ok(_) => "accepted",
    }
}

#[test]
fn an_item_is_created_usable_and_its_stream_is_named_after_its_id() {
    let create = ItemCommand::Create { id: item_id(), details: item_details() };
    assert_eq!(Item::stream_id(&create), format!("item-{}", item_id()));
    let (state, result) = run_item(&[create]);
    assert_eq!(result.unwrap().len(), 1);
    assert!(state.is_usable());
}

#[test]
fn creating_an_item_twice_is_rejected() {
    let create = ItemCommand::Create { id: item_id(), details: item_details() };
    let (_, result) = run_item(&[create.clone(), create]);
    assert_eq!(code(&result), "master.already_exists");
}

#[test]
fn changing_records_new_details_and_an_identical_change_records_nothing() {
    let mut renamed = item_details();
    renamed.name = "保温杯 500ml（新款）".into();
    let create = ItemCommand::Create { id: item_id(), details: item_details() };
    let (state, result) =
        run_item(&[create.clone(), ItemCommand::Change { id: item_id(), details: renamed.clone() }]);
    assert_eq!(result.unwrap().len(), 1);
    assert_eq!(state.details.unwrap().name, renamed.name);
    let (_, same) = run_item(&[create, ItemCommand::Change { id: item_id(), details: item_details() }]);
    assert!(same.unwrap().is_empty());
    let (_, missing) = run_item(&[ItemCommand::Change { id: item_id(), details: item_details() }]);
    assert_eq!(code(&missing), "master.not_found");
}

#[test]
fn a_deactivated_item_is_not_usable_cannot_be_changed_and_can_be_reactivated() {
    let create = ItemCommand::Create { id: item_id(), details: item_details() };
    let deactivate = ItemCommand::Deactivate { id: item_id() };
    let (state, _) = run_item(&[create.clone(), deactivate.clone()]);
    assert!(!state.is_usable());
    let (_, change) = run_item(&[
        create.clone(),
        deactivate.clone(),
        ItemCommand::Change { id: item_id(), details: item_details() },
    ]);
    assert_eq!(code(&change), "master.deactivated");
    let (_, twice) = run_item(&[create.clone(), deactivate.clone(), deactivate.clone()]);
    assert!(twice.unwrap().is_empty(), "deactivating twice changes nothing");
    let (state, _) = run_item(&[create.clone(), deactivate, ItemCommand::Reactivate { id: item_id() }]);
    assert!(state.is_usable());
    let (_, active) = run_item(&[create, ItemCommand::Reactivate { id: item_id() }]);
    assert_eq!(code(&active), "master.already_active");
}

#[test]
fn item_details_outside_the_rules_are_rejected() {
    type Edit = Box<dyn Fn(&mut ItemDetails)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("empty sku", Box::new(|d| d.sku = " ".into())),
        ("vat rate 0.17", Box::new(|d| d.vat_rate = "0.17".parse().unwrap())),
        ("barcode with a space", Box::new(|d| d.barcode = Some("690 123".into()))),
        ("negative safety stock", Box::new(|d| d.safety_stock = Decimal::NEGATIVE_ONE)),
        ("lead time of two years", Box::new(|d| d.lead_time_days = 730)),
    ];
    for (name, change) in cases {
        let mut details = item_details();
        change(&mut details);
        let (_, result) = run_item(&[ItemCommand::Create { id: item_id(), details }]);
        assert_eq!(code(&result), "master.invalid", "{name}");
    }
}

fn warehouse_details() -> WarehouseDetails {
    WarehouseDetails {
        code: "SH01".into(),
        name: "上海仓".into(),
        city: "上海".into(),
        latitude: d("31.2304"),
        longitude: d("121.4737"),
        bins: vec!["A-01".into(), "A-02".into()],
    }
}

#[test]
fn warehouse_coordinates_and_bins_are_checked() {
    let id = WarehouseId(Uuid::from_u128(5));
    let accepted =
        Warehouse::default().decide(&WarehouseCommand::Create { id, details: warehouse_details() }, &meta());
    assert!(accepted.is_ok());
    let mut far = warehouse_details();
    far.latitude = d("91");
    let mut twice = warehouse_details();
    twice.bins.push("A-01".into());
    for details in [far, twice] {
        let result = Warehouse::default().decide(&WarehouseCommand::Create { id, details }, &meta());
        assert_eq!(code(&result), "master.invalid");
    }
}

fn partner_details() -> PartnerDetails {
    PartnerDetails {
        name: "杭州优选贸易有限公司".into(),
        roles: PartnerRoles { customer: true, supplier: false },
        tax_id: Some("91330100MA2H3XXX0Y".into()),
        credit_limit: d("50000"),
        payment_terms_days: 30,
        region: "华东".into(),
    }
}

#[test]
fn a_partner_needs_a_role_a_valid_tax_id_and_a_non_negative_credit_limit() {
    let id = PartnerId(Uuid::from_u128(6));
    assert!(
        Partner::default()
            .decide(&PartnerCommand::Create { id, details: partner_details() }, &meta())
            .is_ok()
    );
    let mut no_role = partner_details();
    no_role.roles = PartnerRoles { customer: false, supplier: false };
    let mut bad_tax = partner_details();
    bad_tax.tax_id = Some("123".into());
    let mut negative = partner_details();
    negative.credit_limit = d("-1");
    for details in [no_role, bad_tax, negative] {
        let result = Partner::default().decide(&PartnerCommand::Create { id, details }, &meta());
        assert_eq!(code(&result), "master.invalid");
    }
}

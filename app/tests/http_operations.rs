//! Black-box tests of the operations' command endpoints of `erp serve` (the service on port 0):
//! requisitions and the book's purchasing policy, budgets, amending and closing purchase orders,
//! freight, returns, transfers, stocktakes, stock policies and replenishment suggestions, production,
//! opening balances, payroll and bank statements. Each group: the events a command appended and their
//! effect on the read models, a business refusal (422, the domain's code), a refusal at the edge (400)
//! and a role refused (403), none of which appends anything.

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{Value, json};

mod common;
use common::{
    Answer, BOOK, CUSTOMER, Client, ITEM, PO, SUPPLIER, WAREHOUSE, company, dec, level, procure, sell_three,
    serve,
};

const WAREHOUSE_2: &str = "00000000-0000-0000-0000-0000000000b2";

fn id(n: u32) -> String {
    format!("00000000-0000-0000-0000-{n:012x}")
}

/// The types of the events a command appended.
fn types(answer: &Answer) -> Vec<String> {
    answer.body["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events in {}", answer.body))
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

/// A command that must be accepted; answers it.
async fn accepted(c: &Client, token: &str, name: &str, body: Value) -> Answer {
    let answer = c.command_with(token, name, &body, &[]).await;
    assert_eq!(answer.status, 200, "{name}: {}", answer.body);
    answer
}

/// The log's head once the process managers have stopped writing (it has not moved for a while).
async fn quiet_head(c: &Client) -> u64 {
    let started = Instant::now();
    let mut head = c.head().await;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = c.head().await;
        if now == head {
            return head;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the log never settled");
        head = now;
    }
}

/// A command that must be refused with `status` and `code`, appending nothing.
async fn refused(c: &Client, token: &str, name: &str, body: Value, status: u16, code: &str) {
    let head = quiet_head(c).await;
    let answer = c.command_with(token, name, &body, &[]).await;
    assert_eq!((answer.status, answer.code()), (status, code), "{name}: {}", answer.body);
    assert_eq!(c.head().await, head, "{name} refused with {code}: nothing appended");
}

/// Sends a command until it is accepted (what it needs is recorded by a process manager a moment after
/// the command before), at most ten seconds; answers it.
async fn eventually(c: &Client, token: &str, name: &str, body: Value) -> Answer {
    let started = Instant::now();
    loop {
        let answer = c.command_with(token, name, &body, &[]).await;
        if answer.status == 200 {
            return answer;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{name} never accepted: {}", answer.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the stock of `item` in `warehouse` is `on_hand`; answers its row.
async fn stock_reaches(c: &Client, item: &str, warehouse: &str, on_hand: i64, min: u64) -> Value {
    const LEVEL: &str = "query($book: String!, $item: String!, $warehouse: String!, $min: Int) {
        stockLevels(book: $book, item: $item, warehouse: $warehouse, minPosition: $min) {
            nodes { onHand reserved available inTransit value } } }";
    let variables = json!({ "book": BOOK, "item": item, "warehouse": warehouse, "min": min });
    let data = c
        .until("t-sun", LEVEL, variables, |d| {
            level(d)["onHand"]
                .as_str()
                .is_some_and(|q| q.parse::<Decimal>().unwrap() == Decimal::from(on_hand))
        })
        .await;
    level(&data).clone()
}

const TRIAL: &str = "query($book: String!, $period: String!) {
    trialBalance(book: $book, period: $period) { rows { code opening debit credit closing } } }";

/// Waits until the trial balance of `period` has a row for `code` that `done` accepts; answers it.
async fn ledger_row(c: &Client, period: &str, code: &str, done: impl Fn(&Value) -> bool) -> Value {
    let data = c
        .until("t-li", TRIAL, json!({ "book": BOOK, "period": period }), |d| {
            d["trialBalance"]["rows"]
                .as_array()
                .is_some_and(|rows| rows.iter().any(|r| r["code"] == code && done(r)))
        })
        .await;
    data["trialBalance"]["rows"].as_array().unwrap().iter().find(|r| r["code"] == code).unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requisition_above_the_threshold_is_approved_by_a_buyer_who_did_not_raise_it() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    let (req, own, small) = (id(0x501), id(0x502), id(0x503));

    let drafted = accepted(
        &c,
        "t-wang",
        "draft-requisition",
        json!({ "id": req, "item": ITEM, "qty": "100", "supplier": SUPPLIER }),
    )
    .await;
    assert_eq!(types(&drafted), ["purchasing.RequisitionDrafted"]);
    assert_eq!(drafted.body["events"][0]["data"]["requested_by"], "wang");
    // 100 at 60.00 is 6,000.00, above the threshold: a buyer approves it.
    let submitted =
        accepted(&c, "t-wang", "submit-requisition", json!({ "id": req, "expectedUnitPrice": "60.00" }))
            .await;
    assert_eq!(types(&submitted), ["purchasing.RequisitionSubmitted"]);
    assert_eq!(dec(&submitted.body["events"][0]["data"]["estimated_amount"]), Decimal::from(6000));
    assert_eq!(submitted.body["events"][0]["data"]["needs_approval"], true);
    refused(&c, "t-sun", "approve-requisition", json!({ "id": req }), 403, "auth.forbidden").await;
    let approved = accepted(&c, "t-zhao", "approve-requisition", json!({ "id": req })).await;
    assert_eq!(types(&approved), ["purchasing.RequisitionApproved"]);
    // Only a purchase order placed in the book (for this requisition or none) is what it became.
    refused(
        &c,
        "t-zhao",
        "convert-requisition",
        json!({ "id": req, "purchaseOrder": PO }),
        422,
        "requisition.unknown_order",
    )
    .await;
    // An order placed for a requisition names an approved one of the book: not a draft, not an
    // unknown one (and nothing is appended when it is refused).
    let po_for = |requisition: &str| {
        json!({ "id": PO, "supplier": SUPPLIER, "warehouse": WAREHOUSE, "department": "PUR",
                "lines": [{ "item": ITEM, "qty": "100", "unitPrice": "60.00", "vatRate": "0.13" }],
                "requisition": requisition })
    };
    accepted(&c, "t-sun", "draft-requisition", json!({ "id": id(0x505), "item": ITEM, "qty": "1" })).await;
    for unusable in [id(0x505), id(0x5ff)] {
        refused(&c, "t-zhao", "place-purchase-order", po_for(&unusable), 422, "po.requisition_unusable")
            .await;
    }
    let placed = accepted(&c, "t-zhao", "place-purchase-order", po_for(&req)).await;
    assert_eq!(placed.body["events"][0]["data"]["requisition"], req.as_str(), "{}", placed.body);
    let converted =
        accepted(&c, "t-zhao", "convert-requisition", json!({ "id": req, "purchaseOrder": PO })).await;
    assert_eq!(types(&converted), ["purchasing.RequisitionConverted"]);

    // A buyer's own requisition is approved or rejected by another buyer.
    accepted(&c, "t-zhao", "draft-requisition", json!({ "id": own, "item": ITEM, "qty": "100" })).await;
    accepted(&c, "t-zhao", "submit-requisition", json!({ "id": own, "expectedUnitPrice": "60.00" })).await;
    refused(&c, "t-zhao", "approve-requisition", json!({ "id": own }), 422, "requisition.own_request").await;
    let rejected =
        accepted(&c, "t-qian", "reject-requisition", json!({ "id": own, "reason": "库存够用" })).await;
    assert_eq!(types(&rejected), ["purchasing.RequisitionRejected"]);
    refused(
        &c,
        "t-qian",
        "convert-requisition",
        json!({ "id": own, "purchaseOrder": PO }),
        422,
        "requisition.wrong_status",
    )
    .await;

    // Within the threshold, submitting approves it.
    accepted(&c, "t-sun", "draft-requisition", json!({ "id": small, "item": ITEM, "qty": "2" })).await;
    let submitted =
        accepted(&c, "t-sun", "submit-requisition", json!({ "id": small, "expectedUnitPrice": "12.5" }))
            .await;
    assert_eq!(types(&submitted), ["purchasing.RequisitionSubmitted", "purchasing.RequisitionApproved"]);
    assert_eq!(submitted.body["events"][1]["data"]["automatic"], true);

    refused(
        &c,
        "t-wang",
        "draft-requisition",
        json!({ "id": id(0x504), "item": ITEM, "qty": "0" }),
        400,
        "value.not_positive",
    )
    .await;
    refused(
        &c,
        "t-wang",
        "submit-requisition",
        json!({ "id": req, "expectedUnitPrice": "60.00", "estimatedAmount": "1" }),
        400,
        "input.invalid",
    )
    .await;
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_sets_the_book_s_approval_threshold_and_a_500_yuan_requisition_then_waits_for_a_buyer() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    let policy = |threshold: &str| json!({ "requisitionApprovalThreshold": threshold });

    // Under the default 5,000, 10 at 50.00 is approved on submission.
    let (within, above) = (id(0x5a1), id(0x5a2));
    accepted(&c, "t-sun", "draft-requisition", json!({ "id": within, "item": ITEM, "qty": "10" })).await;
    let submitted =
        accepted(&c, "t-sun", "submit-requisition", json!({ "id": within, "expectedUnitPrice": "50.00" }))
            .await;
    assert_eq!(types(&submitted), ["purchasing.RequisitionSubmitted", "purchasing.RequisitionApproved"]);

    // Only finance (or an admin) sets it; the book refuses what is not an amount of money.
    refused(&c, "t-zhao", "set-purchasing-policy", policy("100"), 403, "auth.forbidden").await;
    for bad in ["-1", "100.001", "1000000000000000"] {
        refused(&c, "t-li", "set-purchasing-policy", policy(bad), 422, "book.invalid_settings").await;
    }
    refused(&c, "t-li", "set-purchasing-policy", json!({ "threshold": "100" }), 400, "input.invalid").await;
    let set = accepted(&c, "t-li", "set-purchasing-policy", policy("100")).await;
    assert_eq!(types(&set), ["finance.PurchasingPolicySet"]);
    assert_eq!(set.body["stream"], format!("book-{BOOK}"));
    assert_eq!(dec(&set.body["events"][0]["data"]["requisition_approval_threshold"]), Decimal::from(100));
    assert_eq!(set.body["events"][0]["data"]["by"], "li");
    let again = accepted(&c, "t-boss", "set-purchasing-policy", policy("100.00")).await;
    assert!(types(&again).is_empty(), "the same threshold again records nothing");

    // Now the same 500 yuan is above the book's threshold: a buyer approves it.
    accepted(&c, "t-sun", "draft-requisition", json!({ "id": above, "item": ITEM, "qty": "10" })).await;
    let submitted =
        accepted(&c, "t-sun", "submit-requisition", json!({ "id": above, "expectedUnitPrice": "50.00" }))
            .await;
    assert_eq!(types(&submitted), ["purchasing.RequisitionSubmitted"]);
    assert_eq!(submitted.body["events"][0]["data"]["needs_approval"], true);
    accepted(&c, "t-zhao", "approve-requisition", json!({ "id": above })).await;
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_over_its_department_budget_waits_for_finance_and_an_amended_order_is_approved_again() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    let budget = json!({ "department": "PUR", "period": "2026-11", "amount": "100.00" });
    let set = accepted(&c, "t-li", "set-department-budget", budget).await;
    assert_eq!(types(&set), ["purchasing.BudgetSet"]);
    assert_eq!(set.body["stream"], format!("budget-{BOOK}-PUR-2026-11"), "the book's own PUR");
    refused(
        &c,
        "t-zhao",
        "set-department-budget",
        json!({ "department": "PUR", "period": "2026-11", "amount": "1" }),
        403,
        "auth.forbidden",
    )
    .await;
    refused(
        &c,
        "t-li",
        "set-department-budget",
        json!({ "department": "PUR", "period": "2026-11", "amount": "-1" }),
        400,
        "value.negative",
    )
    .await;
    refused(
        &c,
        "t-li",
        "set-department-budget",
        json!({ "department": "P U R", "period": "2026-11", "amount": "1" }),
        400,
        "input.invalid",
    )
    .await;

    // 10 at 12.00 is 120.00, over the 100.00 left: finance accepts it before a buyer approves it.
    let po = json!({ "id": PO, "supplier": SUPPLIER, "warehouse": WAREHOUSE, "department": "PUR",
                     "lines": [{ "item": ITEM, "qty": "10", "unitPrice": "12.00", "vatRate": "0.13" }] });
    let placed = accepted(&c, "t-zhao", "place-purchase-order", po).await;
    assert_eq!(placed.body["events"][0]["data"]["over_budget"], true);
    refused(&c, "t-qian", "approve-purchase-order", json!({ "id": PO }), 422, "po.wrong_status").await;
    let budget_approved = accepted(&c, "t-li", "approve-purchase-order-budget", json!({ "id": PO })).await;
    assert_eq!(types(&budget_approved), ["purchasing.PurchaseOrderBudgetApproved"]);

    // Amended to 5: within the budget now, and approved again.
    let amend =
        json!({ "id": PO, "lines": [{ "item": ITEM, "qty": "5", "unitPrice": "12.00", "vatRate": "0.13" }] });
    refused(&c, "t-wang", "amend-purchase-order", amend.clone(), 403, "auth.forbidden").await;
    let bad = json!({ "id": PO, "lines": [{ "item": ITEM, "qty": "5", "unitPrice": "-12.00", "vatRate": "0.13" }] });
    refused(&c, "t-zhao", "amend-purchase-order", bad, 400, "value.negative").await;
    let amended = accepted(&c, "t-zhao", "amend-purchase-order", amend).await;
    assert_eq!(types(&amended), ["purchasing.PurchaseOrderAmended"]);
    accepted(&c, "t-qian", "approve-purchase-order", json!({ "id": PO })).await;
    refused(&c, "t-zhao", "close-purchase-order", json!({ "id": PO }), 422, "po.outstanding").await;
    let receive = json!({ "order": PO, "receipt": id(0x601), "lines": [{ "line": 0, "qty": "5" }] });
    let received = accepted(&c, "t-sun", "receive-goods", receive).await;
    stock_reaches(&c, ITEM, WAREHOUSE, 5, received.position()).await;
    let closed = accepted(&c, "t-zhao", "close-purchase-order", json!({ "id": PO })).await;
    assert_eq!(types(&closed), ["purchasing.PurchaseOrderClosed"]);

    // The carrier's freight invoice for the order, expensed as the book chose.
    let freight = |order: &str| {
        json!({ "id": id(0x602), "carrier": SUPPLIER, "number": "No.0099", "order": order,
                "amountNet": "20.00", "vatRate": "0.09" })
    };
    refused(
        &c,
        "t-zhao",
        "register-purchase-freight",
        freight(&id(0xdead)),
        422,
        "purchase_invoice.unknown_order",
    )
    .await;
    let booked = accepted(&c, "t-zhao", "register-purchase-freight", freight(PO)).await;
    assert!(types(&booked).contains(&"purchasing.PurchaseFreightBooked".to_string()), "{}", booked.body);
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_takes_stock_through_transit_into_the_other_warehouse_at_its_cost() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    procure(&c).await;
    let warehouse = json!({ "id": WAREHOUSE_2, "code": "HZ1", "name": "杭州仓", "city": "杭州",
                            "latitude": "30.27", "longitude": "120.15" });
    c.ok("t-sun", "create-warehouse", warehouse).await;
    let transfer = id(0x701);
    let create = |qty: &str| json!({ "id": transfer, "from": WAREHOUSE, "to": WAREHOUSE_2, "lines": [{ "item": ITEM, "qty": qty }] });
    refused(&c, "t-wang", "create-transfer", create("4"), 403, "auth.forbidden").await;
    refused(&c, "t-sun", "create-transfer", create("1.00001"), 400, "value.too_precise").await;
    refused(&c, "t-sun", "dispatch-transfer", json!({ "id": transfer }), 422, "transfer.not_found").await;
    let created = accepted(&c, "t-sun", "create-transfer", create("4")).await;
    assert_eq!(types(&created), ["inventory.TransferCreated"]);
    let dispatched = accepted(&c, "t-sun", "dispatch-transfer", json!({ "id": transfer })).await;
    assert_eq!(types(&dispatched), ["inventory.TransferDispatched"]);
    let sent = stock_reaches(&c, ITEM, WAREHOUSE, 6, dispatched.position()).await;
    assert_eq!(dec(&sent["value"]), Decimal::new(7200, 2));
    // Receiving needs every line out first (the transfer is in transit then).
    let received = eventually(&c, "t-sun", "receive-transfer", json!({ "id": transfer })).await;
    assert_eq!(types(&received), ["inventory.TransferReceived"]);
    let arrived = stock_reaches(&c, ITEM, WAREHOUSE_2, 4, received.position()).await;
    assert_eq!(dec(&arrived["value"]), Decimal::new(4800, 2), "at the cost it left with");
    refused(&c, "t-sun", "receive-transfer", json!({ "id": transfer }), 422, "transfer.wrong_status").await;
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stocktake_counts_against_the_books_and_adjusts_stock_once_someone_else_approves_it() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    procure(&c).await;
    let stocktake = id(0x801);
    let open = json!({ "id": stocktake, "warehouse": WAREHOUSE, "items": [{ "item": ITEM }] });
    refused(&c, "t-wang", "open-stocktake", open.clone(), 403, "auth.forbidden").await;
    // The books' quantity is read by the service, never taken from the client.
    let mut claimed = open.clone();
    claimed["items"][0]["bookQty"] = json!("3");
    refused(&c, "t-sun", "open-stocktake", claimed, 400, "input.invalid").await;
    let unknown = json!({ "id": stocktake, "warehouse": WAREHOUSE, "items": [{ "item": id(0xdead) }] });
    refused(&c, "t-sun", "open-stocktake", unknown, 422, "stocktake.invalid_lines").await;
    let opened = accepted(&c, "t-sun", "open-stocktake", open).await;
    assert_eq!(types(&opened), ["inventory.StocktakeOpened"]);
    assert_eq!(dec(&opened.body["events"][0]["data"]["lines"][0]["book_qty"]), Decimal::from(10));

    refused(
        &c,
        "t-sun",
        "count-stocktake",
        json!({ "id": stocktake, "counts": [{ "line": 0, "counted": "-1" }] }),
        400,
        "value.negative",
    )
    .await;
    refused(
        &c,
        "t-sun",
        "count-stocktake",
        json!({ "id": stocktake, "counts": [{ "line": 0, "counted": "8" }, { "line": 3, "counted": "1" }] }),
        422,
        "stocktake.unknown_line",
    )
    .await;
    let counted = accepted(
        &c,
        "t-sun",
        "count-stocktake",
        json!({ "id": stocktake, "counts": [{ "line": 0, "counted": "8" }] }),
    )
    .await;
    assert_eq!(types(&counted), ["inventory.StocktakeLineCounted"]);
    let submitted = accepted(&c, "t-sun", "submit-stocktake", json!({ "id": stocktake })).await;
    assert_eq!(dec(&submitted.body["events"][0]["data"]["differences"][0]["delta"]), Decimal::from(-2));
    refused(&c, "t-sun", "approve-stocktake", json!({ "id": stocktake }), 422, "stocktake.self_approval")
        .await;
    let approved = accepted(&c, "t-li", "approve-stocktake", json!({ "id": stocktake })).await;
    assert_eq!(types(&approved), ["inventory.StocktakeApproved"]);
    let counted = stock_reaches(&c, ITEM, WAREHOUSE, 8, approved.position()).await;
    assert_eq!(dec(&counted["value"]), Decimal::new(9600, 2), "two lost at 12.00");

    // The safety stock of the item in this warehouse.
    let policy = |warehouse: &str, safety: &str| json!({ "item": ITEM, "warehouse": warehouse, "safetyStock": safety });
    let changed = accepted(&c, "t-sun", "set-stock-policy", policy(WAREHOUSE, "5")).await;
    assert_eq!(types(&changed), ["inventory.StockPolicyChanged"]);
    assert_eq!(dec(&changed.body["events"][0]["data"]["policy"]["safety_stock"]), Decimal::from(5));
    refused(&c, "t-sun", "set-stock-policy", policy(WAREHOUSE, "-5"), 400, "value.negative").await;
    refused(&c, "t-sun", "set-stock-policy", policy(&id(0xbeef), "5"), 422, "stock.not_opened").await;
    refused(&c, "t-wang", "set-stock-policy", policy(WAREHOUSE, "5"), 403, "auth.forbidden").await;
    service.stop().await.unwrap();
}

/// The event types of a stream once it has `count` of them (a process manager writes it a moment
/// after the command that caused it), as the first book's warehouse clerk reads its history.
/// The open replenishment suggestions of the book once the stock model has folded `min`: their items.
async fn open_suggestions(c: &Client, min: u64) -> Vec<Value> {
    const OPEN: &str = "query($book: String!, $min: Int) {
        openReplenishmentSuggestions(book: $book, minPosition: $min) {
            nodes { item warehouse available safetyStock suggestedQty raisedAt } hasNextPage } }";
    let data = c.graphql("t-zhao", OPEN, json!({ "book": BOOK, "min": min })).await;
    assert!(data["errors"].is_null(), "{data}");
    data["data"]["openReplenishmentSuggestions"]["nodes"].as_array().unwrap().clone()
}

async fn history(c: &Client, stream: &str, count: usize) -> Vec<Value> {
    const HISTORY: &str = "query($book: String!, $stream: String!) {
        streamHistory(book: $book, stream: $stream) { nodes { eventType actor } } }";
    let data = c
        .until("t-sun", HISTORY, json!({ "book": BOOK, "stream": stream }), |d| {
            d["streamHistory"]["nodes"].as_array().is_some_and(|n| n.len() >= count)
        })
        .await;
    data["streamHistory"]["nodes"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_below_its_safety_level_raises_a_suggestion_that_a_buyer_takes_up_or_dismisses() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    procure(&c).await;
    let stream = format!("replenishment-{ITEM}-{WAREHOUSE}");
    let dismiss = json!({ "item": ITEM, "warehouse": WAREHOUSE, "reason": "清仓款，不再补货" });
    refused(&c, "t-zhao", "dismiss-replenishment", dismiss.clone(), 422, "replenishment.no_open_suggestion")
        .await;

    // 10 on hand, safety stock raised to 15: the stock falls below it and the replenishment process
    // suggests the 5 missing.
    let policy = |safety: &str| json!({ "item": ITEM, "warehouse": WAREHOUSE, "safetyStock": safety });
    let raised = accepted(&c, "t-sun", "set-stock-policy", policy("15")).await;
    assert_eq!(types(&raised), ["inventory.StockPolicyChanged", "inventory.StockFellBelowSafety"]);
    let suggested = history(&c, &stream, 1).await;
    assert_eq!(suggested[0]["eventType"], "inventory.ReplenishmentSuggested", "{suggested:?}");
    assert_eq!(suggested[0]["actor"], "process:replenishment");
    let open = open_suggestions(&c, quiet_head(&c).await).await;
    assert_eq!(
        open,
        [json!({ "item": ITEM, "warehouse": WAREHOUSE, "available": "10", "safetyStock": "15",
                 "suggestedQty": "5", "raisedAt": open[0]["raisedAt"] })],
        "the suggestion is listed as open"
    );

    // Taken up by a requisition for the item: not by sales, not without a requisition, not by one
    // for another item or one never drafted.
    let requisition = id(0xc01);
    let take_up = json!({ "item": ITEM, "warehouse": WAREHOUSE, "requisition": requisition });
    refused(&c, "t-wang", "take-up-replenishment", take_up.clone(), 403, "auth.forbidden").await;
    let mut unnamed = take_up.clone();
    unnamed.as_object_mut().unwrap().remove("requisition");
    refused(&c, "t-zhao", "take-up-replenishment", unnamed, 400, "input.invalid").await;
    let mut not_a_uuid = take_up.clone();
    not_a_uuid["item"] = json!("CUP-01");
    refused(&c, "t-zhao", "take-up-replenishment", not_a_uuid, 400, "input.invalid").await;
    refused(
        &c,
        "t-zhao",
        "take-up-replenishment",
        take_up.clone(),
        422,
        "replenishment.requisition_mismatch",
    )
    .await;
    accepted(
        &c,
        "t-zhao",
        "draft-requisition",
        json!({ "id": requisition, "item": ITEM, "qty": "5", "supplier": SUPPLIER }),
    )
    .await;
    let taken = accepted(&c, "t-zhao", "take-up-replenishment", take_up.clone()).await;
    assert_eq!(types(&taken), ["inventory.ReplenishmentTakenUp"]);
    assert_eq!(taken.body["stream"], stream);
    assert_eq!(taken.body["events"][0]["data"]["requisition"], requisition);
    assert_eq!(taken.body["events"][0]["data"]["by"], "zhao");
    refused(&c, "t-zhao", "take-up-replenishment", take_up, 422, "replenishment.no_open_suggestion").await;
    assert!(open_suggestions(&c, taken.position()).await.is_empty(), "taken up: no longer open");

    // Back above safety (5), then below it again (12): a new suggestion, which the warehouse dismisses.
    accepted(&c, "t-sun", "set-stock-policy", policy("5")).await;
    let fell = accepted(&c, "t-sun", "set-stock-policy", policy("12")).await;
    assert_eq!(types(&fell), ["inventory.StockPolicyChanged", "inventory.StockFellBelowSafety"]);
    let again = history(&c, &stream, 3).await;
    assert_eq!(again[2]["eventType"], "inventory.ReplenishmentSuggested", "{again:?}");
    let open = open_suggestions(&c, quiet_head(&c).await).await;
    assert_eq!(open.len(), 1, "raised again: {open:?}");
    assert_eq!((&open[0]["available"], &open[0]["suggestedQty"]), (&json!("10"), &json!("2")));
    refused(&c, "t-wang", "dismiss-replenishment", dismiss.clone(), 403, "auth.forbidden").await;
    let mut no_reason = dismiss.clone();
    no_reason["reason"] = json!(12);
    refused(&c, "t-sun", "dismiss-replenishment", no_reason, 400, "input.invalid").await;
    let dismissed = accepted(&c, "t-sun", "dismiss-replenishment", dismiss.clone()).await;
    assert_eq!(types(&dismissed), ["inventory.ReplenishmentDismissed"]);
    assert_eq!(dismissed.body["events"][0]["data"]["reason"], "清仓款，不再补货");
    refused(&c, "t-sun", "dismiss-replenishment", dismiss, 422, "replenishment.no_open_suggestion").await;
    assert!(open_suggestions(&c, dismissed.position()).await.is_empty(), "dismissed: no longer open");
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_take_their_prices_and_costs_from_the_documents_and_move_the_stock() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    procure(&c).await;
    // Sell 3 at 19.90 and ship them.
    let (order, shipment) = (id(0x901), id(0x902));
    sell_three(&c, &order).await;
    let ship = json!({ "id": shipment, "order": order, "warehouse": WAREHOUSE, "lines": [{ "orderLine": 0, "item": ITEM, "qty": "3" }] });
    c.ok("t-sun", "create-shipment", ship).await;
    c.ok("t-sun", "pick-shipment", json!({ "id": shipment, "picked": ["3"] })).await;
    let shipped = c.ok("t-sun", "ship-shipment", json!({ "id": shipment })).await;
    stock_reaches(&c, ITEM, WAREHOUSE, 7, shipped).await;

    // One comes back from the customer: at 19.90, into stock at the 12.00 it left with.
    let back = id(0x903);
    let customer_return = |line: u32, qty: &str| json!({ "id": back, "customer": CUSTOMER, "shipment": shipment, "lines": [{ "line": line, "qty": qty }], "reason": "颜色不对" });
    refused(&c, "t-wang", "create-customer-return", customer_return(4, "1"), 422, "return.unknown_line")
        .await;
    refused(&c, "t-wang", "create-customer-return", customer_return(0, "0"), 400, "value.not_positive").await;
    refused(&c, "t-li", "create-customer-return", customer_return(0, "1"), 403, "auth.forbidden").await;
    // Goods shipped to one customer do not come back from another.
    let from_someone_else = json!({ "id": back, "customer": SUPPLIER, "shipment": shipment, "lines": [{ "line": 0, "qty": "1" }], "reason": "颜色不对" });
    refused(&c, "t-wang", "create-customer-return", from_someone_else, 422, "return.not_this_customer").await;
    // The shipment's cost is recorded a moment after it shipped.
    let created = eventually(&c, "t-wang", "create-customer-return", customer_return(0, "1")).await;
    assert_eq!(types(&created), ["returns.ReturnCreated"]);
    let line = &created.body["events"][0]["data"]["lines"][0];
    assert_eq!(
        (dec(&line["unit_price"]), dec(&line["unit_cost"])),
        (Decimal::new(1990, 2), Decimal::from(12))
    );
    refused(&c, "t-wang", "complete-return", json!({ "id": back }), 403, "auth.forbidden").await;
    let completed = accepted(&c, "t-sun", "complete-return", json!({ "id": back })).await;
    assert_eq!(types(&completed), ["returns.ReturnCompleted"]);
    let restored = stock_reaches(&c, ITEM, WAREHOUSE, 8, completed.position()).await;
    assert_eq!(dec(&restored["value"]), Decimal::new(9600, 2));
    refused(&c, "t-sun", "complete-return", json!({ "id": back }), 422, "return.already_completed").await;

    // Two go back to the supplier at the order's 12.00.
    let out = id(0x904);
    let supplier_return =
        json!({ "id": out, "order": PO, "lines": [{ "line": 0, "qty": "2" }], "reason": "破损" });
    let created = accepted(&c, "t-zhao", "create-supplier-return", supplier_return).await;
    assert_eq!(created.body["events"][0]["data"]["partner"], SUPPLIER);
    assert_eq!(dec(&created.body["events"][0]["data"]["amount_net"]), Decimal::from(24));
    let completed = accepted(&c, "t-sun", "complete-return", json!({ "id": out })).await;
    stock_reaches(&c, ITEM, WAREHOUSE, 6, completed.position()).await;
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_issues_its_materials_and_receives_the_product_at_their_cost_plus_conversion() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    let (material, product, po, order) = (id(0xa01), id(0xa02), id(0xa03), id(0xa04));
    let item = |id: &str, sku: &str, kind: &str| json!({ "id": id, "sku": sku, "name": sku, "unit": "个", "vatRate": "0.13", "kind": kind });
    c.ok("t-zhao", "create-item", item(&material, "CLAY-01", "raw-material")).await;
    c.ok("t-zhao", "create-item", item(&product, "MUG-01", "goods")).await;
    let buy = json!({ "id": po, "supplier": SUPPLIER, "warehouse": WAREHOUSE, "department": "PUR",
                      "lines": [{ "item": material, "qty": "10", "unitPrice": "5.00", "vatRate": "0.13" }] });
    c.ok("t-zhao", "place-purchase-order", buy).await;
    c.ok("t-qian", "approve-purchase-order", json!({ "id": po })).await;
    let received = c
        .ok(
            "t-sun",
            "receive-goods",
            json!({ "order": po, "receipt": id(0xa05), "lines": [{ "line": 0, "qty": "10" }] }),
        )
        .await;
    stock_reaches(&c, &material, WAREHOUSE, 10, received).await;

    let release = |qty: &str| json!({ "id": order, "product": product, "qty": "2", "warehouse": WAREHOUSE, "materials": [{ "item": material, "qty": qty }] });
    refused(&c, "t-sun", "release-production-order", release("100"), 422, "production.material_short").await;
    refused(&c, "t-sun", "release-production-order", release("-4"), 400, "value.not_positive").await;
    refused(&c, "t-wang", "release-production-order", release("4"), 403, "auth.forbidden").await;
    let released = accepted(&c, "t-sun", "release-production-order", release("4")).await;
    assert_eq!(types(&released), ["production.ProductionOrderReleased"]);
    stock_reaches(&c, &material, WAREHOUSE, 6, released.position()).await;
    refused(
        &c,
        "t-sun",
        "complete-production-order",
        json!({ "id": order, "conversionCost": "1.001" }),
        400,
        "value.too_precise",
    )
    .await;
    // Completing needs every issue recorded on the order, a moment after the stock moved.
    let completed = eventually(
        &c,
        "t-sun",
        "complete-production-order",
        json!({ "id": order, "conversionCost": "10.00" }),
    )
    .await;
    assert_eq!(types(&completed), ["production.ProductionOrderCompleted"]);
    let made = stock_reaches(&c, &product, WAREHOUSE, 2, completed.position()).await;
    assert_eq!(dec(&made["value"]), Decimal::from(30), "4 × 5.00 of materials and 10.00 of conversion");
    refused(&c, "t-sun", "complete-production-order", json!({ "id": order }), 422, "production.wrong_status")
        .await;
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_balances_and_payroll_reach_the_ledger_and_open_stock() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    let opening = |inventory: &str| {
        json!({ "lines": [
                    { "summary": "期初", "account": "1002", "debit": "10000.00" },
                    { "summary": "期初", "account": "1405", "debit": inventory },
                    { "summary": "期初", "account": "3001", "credit": "10120.00" } ],
                "stock": [{ "item": ITEM, "warehouse": WAREHOUSE, "qty": "10", "unitCost": "12.00" }] })
    };
    let mut unbalanced_stock = opening("120.00");
    unbalanced_stock["lines"][1]["debit"] = json!("100.00");
    unbalanced_stock["lines"][2]["credit"] = json!("10100.00");
    refused(&c, "t-li", "enter-opening-balances", unbalanced_stock, 422, "opening.mismatch").await;
    let mut bad_date = opening("120.00");
    bad_date["receivables"] = json!([{ "partner": CUSTOMER, "reference": "X-1", "dated": "2026-02-30", "due": "2026-12-01", "amount": "1.00" }]);
    refused(&c, "t-li", "enter-opening-balances", bad_date, 400, "input.invalid").await;
    refused(&c, "t-sun", "enter-opening-balances", opening("120.00"), 403, "auth.forbidden").await;
    let entered = accepted(&c, "t-li", "enter-opening-balances", opening("120.00")).await;
    assert_eq!(types(&entered), ["finance.OpeningBalancesEntered"]);
    let bank = ledger_row(&c, "2026-11", "1002", |r| dec(&r["opening"]) == Decimal::from(10000)).await;
    assert_eq!(dec(&bank["closing"]), Decimal::from(10000));
    let stock = stock_reaches(&c, ITEM, WAREHOUSE, 10, entered.position()).await;
    assert_eq!(dec(&stock["value"]), Decimal::from(120));
    refused(&c, "t-li", "enter-opening-balances", opening("120.00"), 422, "opening.already_entered").await;

    // November's wages: accrued by cost centre, then paid net of the income tax withheld.
    let accrue = json!({ "period": "2026-11", "selling": "5000.00", "administration": "3000.00" });
    refused(&c, "t-sun", "accrue-payroll", accrue.clone(), 403, "auth.forbidden").await;
    refused(
        &c,
        "t-li",
        "accrue-payroll",
        json!({ "period": "2026-13", "selling": "1" }),
        400,
        "input.invalid",
    )
    .await;
    let accrued = accepted(&c, "t-li", "accrue-payroll", accrue.clone()).await;
    assert_eq!(types(&accrued), ["finance.PayrollAccrued"]);
    assert_eq!(accrued.body["stream"], format!("payroll-{BOOK}-2026-11"));
    ledger_row(&c, "2026-11", "2211", |r| dec(&r["credit"]) == Decimal::from(8000)).await;
    refused(&c, "t-li", "accrue-payroll", accrue, 422, "payroll.already_accrued").await;
    let pay = |net: &str| json!({ "period": "2026-11", "net": net, "incomeTax": "500.00" });
    refused(&c, "t-li", "pay-payroll", pay("7600.00"), 422, "payroll.over_paid").await;
    refused(&c, "t-li", "pay-payroll", pay("7500.001"), 400, "value.too_precise").await;
    let paid = accepted(&c, "t-li", "pay-payroll", pay("7500.00")).await;
    assert_eq!(types(&paid), ["finance.PayrollPaid"]);
    let bank = ledger_row(&c, "2026-11", "1002", |r| dec(&r["credit"]) == Decimal::from(7500)).await;
    assert_eq!(dec(&bank["closing"]), Decimal::from(2500));
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_statement_is_imported_from_csv_and_its_lines_matched_to_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    let receipt = id(0xb01);
    c.ok(
        "t-li",
        "record-customer-receipt",
        json!({ "id": receipt, "customer": CUSTOMER, "amount": "500.00" }),
    )
    .await;
    let statement = id(0xb02);
    let csv =
        "date,amount,counterparty,reference\n2026-11-16,500.00,杭州客户,R1\n2026-11-17,-99.00,某某公司,X\n";
    let import = |csv: &str| json!({ "id": statement, "account": "1002", "csv": csv });
    refused(&c, "t-li", "import-bank-statement", import("day,amount\n1,2\n"), 422, "bank.invalid_csv").await;
    refused(&c, "t-li", "import-bank-statement", import(&"x".repeat(200_001)), 400, "input.invalid").await;
    refused(&c, "t-sun", "import-bank-statement", import(csv), 403, "auth.forbidden").await;
    let imported = accepted(&c, "t-li", "import-bank-statement", import(csv)).await;
    // The receipt's line is matched automatically (same amount, counterparty, dates within 3 days).
    assert_eq!(types(&imported), ["finance.BankStatementImported", "finance.BankStatementLineMatched"]);
    assert_eq!(imported.body["events"][1]["data"]["line"], 0);

    // A wrong pair is undone and matched by hand; the other line's amount matches no receipt.
    let unmatched =
        accepted(&c, "t-li", "unmatch-statement-line", json!({ "id": statement, "line": 0 })).await;
    assert_eq!(types(&unmatched), ["finance.BankStatementLineUnmatched"]);
    let matching = |line: u32| json!({ "id": statement, "line": line, "target": { "kind": "customer-receipt", "id": receipt } });
    refused(&c, "t-li", "match-statement-line", matching(1), 422, "bank.amount_mismatch").await;
    refused(
        &c,
        "t-li",
        "match-statement-line",
        json!({ "id": statement, "line": 0, "target": { "kind": "cheque", "id": receipt } }),
        400,
        "input.invalid",
    )
    .await;
    let matched = accepted(&c, "t-li", "match-statement-line", matching(0)).await;
    assert_eq!(types(&matched), ["finance.BankStatementLineMatched"]);
    assert_eq!(matched.body["events"][0]["data"]["automatic"], false);
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_each_operation_with_its_roles_and_its_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    let (status, _, body) = common::request(c.address, "GET", "/api/v1/openapi.json", &[], b"").await;
    assert_eq!(status, 200);
    let document: Value = serde_json::from_slice(&body).unwrap();
    for (name, roles) in [
        ("draft-requisition", "admin, purchasing, warehouse, sales"),
        ("approve-requisition", "admin, purchasing"),
        ("set-department-budget", "admin, finance"),
        ("approve-purchase-order-budget", "admin, finance"),
        ("create-customer-return", "admin, sales, warehouse"),
        ("create-supplier-return", "admin, purchasing, warehouse"),
        ("open-stocktake", "admin, warehouse"),
        ("approve-stocktake", "admin, warehouse, finance"),
        ("set-stock-policy", "admin, warehouse, purchasing"),
        ("take-up-replenishment", "admin, purchasing, warehouse"),
        ("dismiss-replenishment", "admin, purchasing, warehouse"),
        ("release-production-order", "admin, warehouse"),
        ("set-purchasing-policy", "admin, finance"),
        ("enter-opening-balances", "admin, finance"),
        ("import-bank-statement", "admin, finance"),
        ("accrue-payroll", "admin, finance"),
    ] {
        let operation = &document["paths"][format!("/api/v1/commands/{name}")]["post"];
        assert_eq!(operation["description"], format!("Roles: {roles}."), "{name}");
    }
    let schemas = &document["components"]["schemas"];
    assert_eq!(schemas["OpenStocktake"]["additionalProperties"], false, "no book quantity can be sent");
    assert_eq!(schemas["CountStocktake"]["properties"]["counts"]["maxItems"], 5000);
    assert_eq!(schemas["ImportBankStatement"]["properties"]["csv"]["maxLength"], 200_000);
    assert!(schemas["SetDepartmentBudget"]["properties"]["department"]["pattern"].is_string());
    service.stop().await.unwrap();
}

//! Black-box tests of `erp serve` over HTTP (the service on port 0): order-to-cash and procure-to-pay
//! through the command API and GraphQL with read-your-writes; every class of bad input answered with
//! its status and code while the log's head stays put; idempotency keys, `If-Match`, roles and books;
//! a restart keeps every acknowledged command.

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{Value, json};

mod common;
use common::{
    BOOK, CUSTOMER, ITEM, OTHER_BOOK, PO, STOCK, SUPPLIER, WAREHOUSE, company, dec, header, level, procure,
    request, sell_three, serve,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_to_cash_and_procure_to_pay_run_over_http_and_read_their_own_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    procure(&c).await;

    // Sell 3 at 19.90 + 13 % VAT.
    const ORDER: &str = "00000000-0000-0000-0000-0000000000f1";
    sell_three(&c, ORDER).await;
    const SHIPMENT: &str = "00000000-0000-0000-0000-0000000000f2";
    let shipment = json!({ "id": SHIPMENT, "order": ORDER, "warehouse": WAREHOUSE,
                           "lines": [{ "orderLine": 0, "item": ITEM, "qty": "3" }] });
    c.ok("t-sun", "create-shipment", shipment).await;
    c.ok("t-sun", "pick-shipment", json!({ "id": SHIPMENT, "picked": ["3"] })).await;
    let shipped = c.ok("t-sun", "ship-shipment", json!({ "id": SHIPMENT })).await;
    c.until("t-sun", STOCK, json!({ "book": BOOK, "item": ITEM, "min": shipped }), |d| {
        level(d)["onHand"].as_str().is_some_and(|q| q.parse::<Decimal>().unwrap() == Decimal::from(7))
    })
    .await;
    const INVOICE: &str = "00000000-0000-0000-0000-0000000000f3";
    let invoice = json!({ "id": INVOICE, "customer": CUSTOMER, "dueDate": "2026-12-16",
                          "lines": [{ "shipment": SHIPMENT, "item": ITEM, "qty": "3", "unitPrice": "19.90", "vatRate": "0.13" }] });
    let invoiced = c.command_with("t-wang", "issue-sales-invoice", &invoice, &[]).await;
    assert_eq!(invoiced.status, 200, "{}", invoiced.body);
    assert_eq!(invoiced.body["events"][0]["type"], "sales.SalesInvoiceIssued");
    assert_eq!(invoiced.body["events"][0]["data"]["amount_gross"], "67.46");

    // Read-your-writes: the receivable is there at the invoice's position, no polling needed.
    const ITEMS: &str = "query($book: String!, $partner: String!, $min: Int) {
        partnerOpenItems(book: $book, subledger: RECEIVABLE, partner: $partner, minPosition: $min) { document open } }";
    let open = c
        .graphql("t-li", ITEMS, json!({ "book": BOOK, "partner": CUSTOMER, "min": invoiced.position() }))
        .await;
    assert_eq!(dec(&open["data"]["partnerOpenItems"][0]["open"]), Decimal::new(6746, 2), "{open}");

    let receipt = json!({ "id": "00000000-0000-0000-0000-0000000000f4", "customer": CUSTOMER, "amount": "67.46",
                          "invoices": [{ "invoice": INVOICE, "amount": "67.46" }] });
    let paid = c.ok("t-li", "record-customer-receipt", receipt).await;
    c.until("t-li", ITEMS, json!({ "book": BOOK, "partner": CUSTOMER, "min": paid }), |d| {
        d["partnerOpenItems"].as_array().is_some_and(|items| items.iter().all(|i| dec(&i["open"]).is_zero()))
    })
    .await;

    // The automatic vouchers: the month's trial balance balances and shows the sale.
    const TRIAL: &str = "query($book: String!) { trialBalance(book: $book, period: \"2026-11\") { rows { code level debit credit } } }";
    let trial = c
        .until("t-li", TRIAL, json!({ "book": BOOK }), |d| {
            d["trialBalance"]["rows"].as_array().is_some_and(|rows| {
                rows.iter().any(|r| r["code"] == "5001" && dec(&r["credit"]) == Decimal::new(5970, 2))
            })
        })
        .await;
    let rows = trial["trialBalance"]["rows"].as_array().unwrap();
    let top = rows.iter().filter(|r| r["level"] == 1);
    let (debit, credit) =
        top.fold((Decimal::ZERO, Decimal::ZERO), |(d, c), r| (d + dec(&r["debit"]), c + dec(&r["credit"])));
    assert_eq!(debit, credit, "{trial}");

    // The owner's dashboard.
    const DASHBOARD: &str = "query($book: String!) { dashboard(book: $book) { revenue orders } }";
    let dashboard = c.graphql("t-boss", DASHBOARD, json!({ "book": BOOK })).await;
    assert_eq!(dec(&dashboard["data"]["dashboard"]["revenue"]), Decimal::new(5970, 2), "{dashboard}");

    // A platform order placed twice (a shop's retry, a second import) is one sales order.
    let online = |id: &str| {
        json!({ "id": id, "customer": CUSTOMER, "channel": { "kind": "online", "platform": "taobao", "platformOrderId": "TB-1001" },
                "warehouse": WAREHOUSE, "lines": [{ "item": ITEM, "qty": "1", "unitPrice": "19.90", "vatRate": "0.13" }] })
    };
    c.ok("t-wang", "place-sales-order", online("00000000-0000-0000-0000-0000000000f6")).await;
    let again = c
        .command_with("t-wang", "place-sales-order", &online("00000000-0000-0000-0000-0000000000f7"), &[])
        .await;
    assert_eq!((again.status, again.code()), (409, "sales_order.platform_order_placed"), "{}", again.body);
    assert!(again.body["detail"].as_str().unwrap().contains("00000000-0000-0000-0000-0000000000f6"));

    // The supplier's invoice at 12.30 (within the 5 % price tolerance) makes the payable; paying it
    // settles it.
    const PURCHASE_INVOICE: &str = "00000000-0000-0000-0000-0000000000e3";
    let invoice = json!({ "id": PURCHASE_INVOICE, "supplier": SUPPLIER, "number": "No.04512399",
                          "lines": [{ "order": PO, "line": 0, "item": ITEM, "qty": "10", "unitPrice": "12.30", "vatRate": "0.13" }] });
    let registered = c.ok("t-zhao", "register-purchase-invoice", invoice).await;
    const PAYABLE: &str = "query($book: String!, $partner: String!, $min: Int) {
        partnerOpenItems(book: $book, subledger: PAYABLE, partner: $partner, minPosition: $min) { document open } }";
    let payable =
        c.graphql("t-li", PAYABLE, json!({ "book": BOOK, "partner": SUPPLIER, "min": registered })).await;
    assert_eq!(dec(&payable["data"]["partnerOpenItems"][0]["open"]), Decimal::new(13899, 2), "{payable}");
    let pay = json!({ "id": "00000000-0000-0000-0000-0000000000f5", "supplier": SUPPLIER, "amount": "138.99",
                      "invoices": [{ "invoice": PURCHASE_INVOICE, "amount": "138.99" }] });
    let paid = c.ok("t-li", "pay-supplier", pay).await;
    c.until("t-li", PAYABLE, json!({ "book": BOOK, "partner": SUPPLIER, "min": paid }), |d| {
        d["partnerOpenItems"].as_array().is_some_and(|items| items.iter().all(|i| dec(&i["open"]).is_zero()))
    })
    .await;
    // Every automatic voucher of the month is posted (the bank paid out 138.99), then the month ends
    // and closes: a voucher dated in it afterwards is refused.
    c.until("t-li", TRIAL, json!({ "book": BOOK }), |d| {
        d["trialBalance"]["rows"].as_array().is_some_and(|rows| {
            rows.iter().any(|r| r["code"] == "1002" && dec(&r["credit"]) == Decimal::new(13899, 2))
        })
    })
    .await;
    c.ok("t-li", "run-month-end", json!({ "period": "2026-11" })).await;
    c.ok("t-li", "close-period", json!({ "period": "2026-11" })).await;
    let late = json!({ "id": "00000000-0000-0000-0000-0000000000f8", "word": "ji", "date": "2026-11-30", "lines": [
        { "summary": "迟到的凭证", "account": "1001", "debit": "1.00" },
        { "summary": "迟到的凭证", "account": "1002", "credit": "1.00" } ] });
    let refused = c.command_with("t-li", "draft-voucher", &late, &[]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    // Reopening a month is an admin's (反结账); then the late voucher goes in.
    let reopen = json!({ "period": "2026-11", "reason": "迟到的凭证" });
    let denied = c.command_with("t-li", "reopen-period", &reopen, &[]).await;
    assert_eq!((denied.status, denied.code()), (403, "auth.forbidden"), "{}", denied.body);
    c.ok("t-boss", "reopen-period", reopen).await;
    c.ok("t-li", "draft-voucher", late).await;
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_answers_its_status_and_code_and_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    let head = c.head().await;

    let order = |qty: &str, item: &str, customer: &str| {
        json!({ "id": "00000000-0000-0000-0000-000000000101", "customer": customer, "channel": { "kind": "direct" },
                "warehouse": WAREHOUSE, "lines": [{ "item": item, "qty": qty, "unitPrice": "19.90", "vatRate": "0.13" }] })
    };
    let unknown = "00000000-0000-0000-0000-00000000dead";
    /// What is sent (what, token, command, body, extra headers) and the expected (status, code).
    type Case<'a> = (&'a str, &'a str, &'a str, Vec<u8>, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        ("malformed JSON", "t-wang", "place-sales-order", b"{\"id\": ".to_vec(), vec![], 400, "input.malformed_json"),
        ("unknown command", "t-wang", "launch-rocket", b"{}".to_vec(), vec![], 404, "command.unknown"),
        ("missing field", "t-boss", "create-item", br#"{"id": "00000000-0000-0000-0000-000000000102", "name": "x", "unit": "x", "vatRate": "0.13"}"#.to_vec(), vec![], 400, "input.invalid"),
        ("extra field", "t-wang", "place-sales-order", { let mut o = order("1", ITEM, CUSTOMER); o["discount"] = json!("5"); o.to_string().into_bytes() }, vec![], 400, "input.invalid"),
        ("negative quantity", "t-wang", "place-sales-order", order("-1", ITEM, CUSTOMER).to_string().into_bytes(), vec![], 400, "value.not_positive"),
        ("zero quantity", "t-wang", "place-sales-order", order("0", ITEM, CUSTOMER).to_string().into_bytes(), vec![], 400, "value.not_positive"),
        ("too many decimals", "t-wang", "place-sales-order", order("1.00001", ITEM, CUSTOMER).to_string().into_bytes(), vec![], 400, "value.too_precise"),
        ("a number for a decimal", "t-wang", "place-sales-order", { let mut o = order("1", ITEM, CUSTOMER); o["lines"][0]["qty"] = json!(1.5); o.to_string().into_bytes() }, vec![], 400, "input.invalid"),
        ("unknown SKU", "t-wang", "place-sales-order", order("1", unknown, CUSTOMER).to_string().into_bytes(), vec![], 422, "sales.master_unusable"),
        ("unknown partner", "t-wang", "place-sales-order", order("1", ITEM, unknown).to_string().into_bytes(), vec![], 422, "sales.master_unusable"),
        ("oversized body", "t-wang", "place-sales-order", vec![b' '; 300 * 1024], vec![], 413, "input.too_large"),
        ("missing token", "", "place-sales-order", order("1", ITEM, CUSTOMER).to_string().into_bytes(), vec![], 401, "auth.missing_token"),
        ("wrong token", "t-nobody", "place-sales-order", order("1", ITEM, CUSTOMER).to_string().into_bytes(), vec![], 401, "auth.invalid_token"),
        ("wrong role", "t-sun", "place-sales-order", order("1", ITEM, CUSTOMER).to_string().into_bytes(), vec![], 403, "auth.forbidden"),
        ("an auditor writes", "t-zhou", "create-item", b"{}".to_vec(), vec![], 403, "auth.forbidden"),
        ("not JSON", "t-wang", "place-sales-order", b"id=1".to_vec(), vec![("Content-Type", "text/plain")], 415, "input.unsupported_media_type"),
        ("bad business date", "t-wang", "place-sales-order", order("1", ITEM, CUSTOMER).to_string().into_bytes(), vec![("Erp-Occurred-At", "16/11/2026")], 400, "input.invalid_header"),
        ("stale expected version", "t-boss", "create-shipment", json!({ "id": "00000000-0000-0000-0000-000000000103", "order": unknown, "warehouse": WAREHOUSE, "lines": [] }).to_string().into_bytes(), vec![("If-Match", "\"4\"")], 409, "command.stale_version"),
        ("If-Match on a command across streams", "t-wang", "place-sales-order", order("1", ITEM, CUSTOMER).to_string().into_bytes(), vec![("If-Match", "\"0\"")], 400, "input.if_match_unsupported"),
        ("a platform order id the claim's stream cannot hold", "t-wang", "place-sales-order", { let mut o = order("1", ITEM, CUSTOMER); o["channel"] = json!({ "kind": "online", "platform": "taobao", "platformOrderId": "a\u{8}" }); o.to_string().into_bytes() }, vec![], 400, "input.invalid"),
        ("another book's stream", "t-other", "create-item", json!({ "id": ITEM, "sku": "X", "name": "x", "unit": "个", "vatRate": "0.13" }).to_string().into_bytes(), vec![], 403, "auth.wrong_book"),
    ];
    for (what, token, command, body, extra, status, code) in cases {
        let bearer = format!("Bearer {token}");
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if !token.is_empty() {
            headers.push(("Authorization", bearer.as_str()));
        }
        if !extra.iter().any(|(n, _)| *n == "Content-Type") {
            headers.push(("Content-Type", "application/json"));
        }
        headers.extend(extra.iter().copied());
        let (got, response_headers, body) =
            request(c.address, "POST", &format!("/api/v1/commands/{command}"), &headers, &body).await;
        let problem: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!((got, problem["code"].as_str().unwrap_or("")), (status, code), "{what}: {problem}");
        assert_eq!(header(&response_headers, "content-type"), Some("application/problem+json"), "{what}");
        assert_eq!(problem["status"], status, "{what}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{what}: a sentence for people");
        assert_eq!(c.head().await, head, "{what}: nothing appended");
    }

    // GraphQL: a token reads its own book only.
    const DOCS: &str = "query($book: String!) { documents(book: $book) { nodes { id } } }";
    let answer = c.graphql("t-other", DOCS, json!({ "book": BOOK })).await;
    assert_eq!(answer["errors"][0]["extensions"]["code"], "auth.wrong_book", "{answer}");
    let answer = c.graphql("t-zhou", DOCS, json!({ "book": BOOK })).await;
    assert!(answer["errors"].is_null(), "an auditor reads: {answer}");
    let (status, _, _) =
        request(c.address, "POST", "/graphql", &[("Content-Type", "application/json")], b"{}").await;
    assert_eq!(status, 401, "GraphQL needs a token too");
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_replays_its_answer_and_refuses_another_body() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    let partner = |name: &str| json!({ "id": "00000000-0000-0000-0000-000000000201", "name": name, "customer": true, "region": "江苏" });
    let key = [("Idempotency-Key", "create-partner-201")];
    let first = c.command_with("t-wang", "create-partner", &partner("苏州客户"), &key).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let head = c.head().await;
    let again = c.command_with("t-wang", "create-partner", &partner("苏州客户"), &key).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body, "the original answer, byte for byte");
    assert_eq!(header(&again.headers, "idempotent-replayed"), Some("true"));
    let other = c.command_with("t-wang", "create-partner", &partner("无锡客户"), &key).await;
    assert_eq!((other.status, other.code()), (422, "idempotency.key_reused"), "{}", other.body);
    assert_eq!(c.head().await, head, "no retry appended anything");

    assert_eq!(header(&first.headers, "etag"), Some("\"0\""), "the stream's version");

    // If-Match: a voucher drafted by one accountant, reviewed by another against the version they saw.
    const VOUCHER: &str = "00000000-0000-0000-0000-000000000301";
    let draft = json!({ "id": VOUCHER, "word": "ji", "date": "2026-11-16", "lines": [
        { "summary": "提现", "account": "1001", "debit": "500.00" },
        { "summary": "提现", "account": "1002", "credit": "500.00" } ] });
    let drafted = c.command_with("t-li", "draft-voucher", &draft, &[]).await;
    assert_eq!(drafted.status, 200, "{}", drafted.body);
    let seen = header(&drafted.headers, "etag").unwrap().to_string();
    let stale =
        c.command_with("t-boss", "review-voucher", &json!({ "id": VOUCHER }), &[("If-Match", "\"7\"")]).await;
    assert_eq!((stale.status, stale.code()), (409, "command.stale_version"), "{}", stale.body);
    let reviewed =
        c.command_with("t-boss", "review-voucher", &json!({ "id": VOUCHER }), &[("If-Match", &seen)]).await;
    assert_eq!(reviewed.status, 200, "{}", reviewed.body);
    let posted = c.command_with("t-boss", "post-voucher", &json!({ "id": VOUCHER }), &[]).await;
    assert_eq!(posted.status, 200, "{}", posted.body);
    // A posted voucher is reversed once, by a red voucher; a draft can be discarded.
    let reverse = |reversal: &str| json!({ "id": VOUCHER, "reversal": reversal, "date": "2026-11-17" });
    c.ok("t-li", "reverse-voucher", reverse("00000000-0000-0000-0000-000000000302")).await;
    let twice = c
        .command_with("t-li", "reverse-voucher", &reverse("00000000-0000-0000-0000-000000000303"), &[])
        .await;
    assert_eq!(twice.status, 422, "{}", twice.body);
    let discard = json!({ "id": "00000000-0000-0000-0000-000000000302", "reason": "冲错了" });
    c.ok("t-li", "discard-voucher", discard).await;
    service.stop().await.unwrap();

    // Restarted on the same data directory: every acknowledged command is there, and the key still
    // cannot execute twice (its command id is derived from it): the retry answers from the log.
    let (service, c) = serve(dir.path()).await;
    assert!(c.head().await >= head);
    let retried = c.command_with("t-wang", "create-partner", &partner("苏州客户"), &key).await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    assert_eq!(retried.body["duplicate"], true);
    assert_eq!(retried.body["position"], first.body["position"]);
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_describes_itself_and_answers_its_probes() {
    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    let (status, _, body) = request(c.address, "GET", "/api/v1/openapi.json", &[], b"").await;
    assert_eq!(status, 200);
    let document: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    for name in ["place-sales-order", "receive-goods", "draft-voucher", "post-voucher", "create-item"] {
        let path = &paths[&format!("/api/v1/commands/{name}")]["post"];
        assert!(path["requestBody"]["content"]["application/json"]["schema"].is_object(), "{name}");
        assert!(path["responses"]["422"].is_object(), "{name}");
    }
    let order = &document["components"]["schemas"]["PlaceSalesOrder"];
    assert_eq!(order["additionalProperties"], false, "unknown fields are refused, and the document says so");
    let (status, _, body) = request(c.address, "GET", "/healthz", &[], b"").await;
    assert_eq!((status, body.as_slice()), (200, &b"ok\n"[..]));
    let started = Instant::now();
    loop {
        let (status, _, _) = request(c.address, "GET", "/readyz", &[], b"").await;
        if status == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, headers, body) = request(c.address, "GET", "/metrics", &[], b"").await;
    assert_eq!(status, 200);
    assert!(header(&headers, "content-type").unwrap().starts_with("application/openmetrics-text"));
    assert!(String::from_utf8(body).unwrap().contains("erp_read_models_lag"));
    let (status, _, body) = request(c.address, "GET", "/graphql", &[], b"").await;
    assert_eq!(status, 200, "GraphiQL is served without a token");
    assert!(String::from_utf8_lossy(&body).contains("graphiql"));
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_subscribes_with_its_token_in_the_connection_init_payload_and_only_to_its_book() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let dir = tempfile::tempdir().unwrap();
    let (service, c) = serve(dir.path()).await;
    company(&c).await;
    // No Authorization header on the upgrade, as from a browser.
    let connect = || async {
        let mut request = format!("ws://{}/graphql/ws", c.address).into_client_request().unwrap();
        request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
        let tcp = tokio::net::TcpStream::connect(c.address).await.unwrap();
        tokio_tungstenite::client_async(request, tcp).await.unwrap().0
    };
    let text = |value: Value| Message::Text(value.to_string().into());
    async fn next<S>(socket: &mut S) -> Option<Value>
    where
        S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
    {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("in time") {
                Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    // A wrong token: refused at connection_init.
    let mut socket = connect().await;
    socket
        .send(text(json!({ "type": "connection_init", "payload": { "authorization": "Bearer t-nobody" } })))
        .await
        .unwrap();
    let answer = next(&mut socket).await;
    assert!(answer.as_ref().is_none_or(|a| a["type"] != "connection_ack"), "{answer:?}");

    // The owner's token: acknowledged; the dashboard of the own book streams, another book's is refused.
    let mut socket = connect().await;
    socket
        .send(text(json!({ "type": "connection_init", "payload": { "authorization": "Bearer t-boss" } })))
        .await
        .unwrap();
    assert_eq!(next(&mut socket).await.unwrap()["type"], "connection_ack");
    let subscribe = |id: &str, book: &str| {
        json!({ "id": id, "type": "subscribe",
                "payload": { "query": format!("subscription {{ dashboard(book: \"{book}\") {{ revenue }} }}") } })
    };
    socket.send(text(subscribe("own", BOOK))).await.unwrap();
    let own = next(&mut socket).await.unwrap();
    assert_eq!((own["id"].as_str(), own["type"].as_str()), (Some("own"), Some("next")), "{own}");
    assert!(own["payload"]["data"]["dashboard"]["revenue"].is_string(), "{own}");
    socket.send(text(subscribe("other", OTHER_BOOK))).await.unwrap();
    let other = next(&mut socket).await.unwrap();
    assert_eq!(other["id"], "other");
    let code = if other["type"] == "error" {
        other["payload"][0]["extensions"]["code"].clone()
    } else {
        other["payload"]["errors"][0]["extensions"]["code"].clone()
    };
    assert_eq!(code, "auth.wrong_book", "{other}");
    service.stop().await.unwrap();
}

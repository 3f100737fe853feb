//! The command API over HTTP (ADR 0013): `POST /api/v1/commands/{name}` per command, its OpenAPI 3.1
//! document at `/api/v1/openapi.json`, problems as `application/problem+json`.
//!
//! A request goes: the caller (authenticated by the middleware in [`auth`]) → the command's role check
//! (403) → a slot of the bounded concurrency (503 when full) → the body (413 over the limit, 415 not
//! JSON, 400 malformed or not matching the command's schema) → the idempotency key (a replay, or 422
//! for a reused key with another body) → the command, executed in a task of its own so that a client
//! that hangs up cannot cut a command in half → 200 with the events appended, or 409/422 and nothing
//! appended.

pub mod auth;
pub mod commands;
pub mod idempotency;
pub mod problem;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{Caller, CommandId, CommandMeta, Timestamp};
use infra::EventStore;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::bus::CommandBus;
use commands::{Accepted, Ctx, HttpCommand};
use idempotency::{Claim, Keys, Stored};
use problem::Problem;

/// Largest request body accepted.
pub const BODY_MAX: usize = 256 * 1024;
/// Commands executing at once; more are refused with 503 at once (shedding beats queueing: a queued
/// request's client has often given up by the time it runs).
pub const IN_FLIGHT_MAX: usize = 1024;
/// How long a request waits for its command's outcome. The command itself is not cancelled (it may
/// still land); the client retries with the same `Idempotency-Key` to learn it.
pub const COMMAND_WAIT_MAX: Duration = Duration::from_secs(10);

type Runner<S> = fn(
    Ctx<S>,
    Bytes,
)
    -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Accepted, Problem>> + Send>>;

/// One command endpoint, as the router and the OpenAPI document see it.
pub struct Endpoint<S: EventStore> {
    pub name: &'static str,
    pub summary: &'static str,
    pub roles: &'static [domain::Role],
    pub if_match: bool,
    schema: fn(&mut schemars::SchemaGenerator) -> schemars::Schema,
    run: Runner<S>,
}

fn endpoint<C: HttpCommand, S: EventStore>() -> Endpoint<S> {
    Endpoint {
        name: C::NAME,
        summary: C::SUMMARY,
        roles: C::ROLES,
        if_match: C::IF_MATCH,
        schema: |generator| generator.subschema_for::<C>(),
        run: |ctx, body| {
            Box::pin(async move {
                let command: C = parse(&body)?;
                command.execute(ctx).await
            })
        },
    }
}

/// Every command endpoint.
pub fn endpoints<S: EventStore>() -> Vec<Endpoint<S>> {
    let mut all = Vec::new();
    macro_rules! add {
        ($c:ident) => {
            all.push(endpoint::<commands::$c, S>());
        };
    }
    crate::for_each_command!(add);
    all
}

/// Parses a body into a command: 400 `input.malformed_json` when it is not JSON, `input.invalid` when
/// it does not match the command (missing, unknown or mistyped fields).
fn parse<C: serde::de::DeserializeOwned>(body: &[u8]) -> Result<C, Problem> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            Problem::bad_request("input.malformed_json", format!("the body is not JSON: {e}"))
        }
        _ => Problem::bad_request("input.invalid", format!("the body does not fit the command: {e}")),
    })
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    command: String,
    status: u16,
}

/// The command API's metrics (registered by the composition root into its registry).
#[derive(Clone)]
pub struct Metrics {
    answered: Family<CommandLabels, Counter>,
    seconds: Family<CommandLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            answered: Family::default(),
            seconds: Family::new_with_constructor(|| {
                Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.000_25, 2.0, 16))
            }),
        }
    }
}

impl Metrics {
    pub fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        registry.register(
            "erp_commands",
            "Command requests answered, by command and status",
            self.answered.clone(),
        );
        registry.register(
            "erp_command_seconds",
            "Time to answer a command request, by command and status",
            self.seconds.clone(),
        );
    }

    fn observe(&self, command: &str, status: StatusCode, started: Instant) {
        let labels = CommandLabels { command: command.to_string(), status: status.as_u16() };
        self.answered.get_or_create(&labels).inc();
        self.seconds.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    }
}

/// What the command endpoints share.
pub struct CommandApi<S: EventStore> {
    bus: CommandBus<S>,
    endpoints: BTreeMap<&'static str, Endpoint<S>>,
    keys: Keys,
    in_flight: Arc<tokio::sync::Semaphore>,
    metrics: Metrics,
    /// Commands running now, for graceful shutdown to wait on.
    running: Arc<AtomicU64>,
    /// The business clock when a request names no `Erp-Occurred-At` (microseconds since the epoch).
    clock: fn() -> Timestamp,
    /// A query node (`erp serve --read-only`): every command is refused with 503 `service.read_only`.
    read_only: bool,
}

fn wall_clock() -> Timestamp {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    Timestamp(micros)
}

impl<S: EventStore> CommandApi<S> {
    pub fn new(bus: CommandBus<S>, metrics: Metrics) -> Arc<CommandApi<S>> {
        Self::build(bus, metrics, false)
    }

    /// The command API of a query node (`erp serve --read-only`): every known command is answered 503
    /// `service.read_only` and appends nothing; the OpenAPI document is served as on any node.
    pub fn read_only(bus: CommandBus<S>, metrics: Metrics) -> Arc<CommandApi<S>> {
        Self::build(bus, metrics, true)
    }

    fn build(bus: CommandBus<S>, metrics: Metrics, read_only: bool) -> Arc<CommandApi<S>> {
        Arc::new(CommandApi {
            bus,
            endpoints: endpoints::<S>().into_iter().map(|e| (e.name, e)).collect(),
            keys: Keys::default(),
            in_flight: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_MAX)),
            metrics,
            running: Arc::new(AtomicU64::new(0)),
            clock: wall_clock,
            read_only,
        })
    }

    /// Commands executing now.
    pub fn running(&self) -> u64 {
        self.running.load(Ordering::SeqCst)
    }

    /// Waits until no command is executing (graceful shutdown, after the listener stopped taking
    /// requests), at most `max`.
    pub async fn drained(&self, max: Duration) -> bool {
        let deadline = Instant::now() + max;
        while self.running() > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

/// `/api/v1/commands/{name}` and `/api/v1/openapi.json`. The caller comes from [`auth::authenticate`],
/// which the composition root layers over this router.
pub fn router<S: EventStore>(api: Arc<CommandApi<S>>) -> Router {
    let openapi = Arc::new(openapi_document(&api.endpoints.values().collect::<Vec<_>>()));
    Router::new()
        .route("/api/v1/commands/{name}", axum::routing::post(command::<S>))
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let openapi = openapi.clone();
                async move { axum::Json((*openapi).clone()) }
            }),
        )
        .layer(DefaultBodyLimit::disable())
        .with_state(api)
}

/// `Erp-Occurred-At`: the business time of the fact the command records, `YYYY-MM-DD` or
/// `YYYY-MM-DDTHH:MM:SS`, China Standard Time. Without it, now.
fn occurred_at(headers: &HeaderMap, clock: fn() -> Timestamp) -> Result<Timestamp, Problem> {
    let Some(value) = headers.get("erp-occurred-at") else { return Ok(clock()) };
    let bad = || {
        Problem::bad_request(
            "input.invalid_header",
            "Erp-Occurred-At must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (China Standard Time)",
        )
    };
    let text = value.to_str().map_err(|_| bad())?;
    let (day, time) = text.split_once('T').unwrap_or((text, "00:00:00"));
    let start =
        domain::time::parse_local_date(day, domain::time::CHINA_UTC_OFFSET_MINUTES).ok_or_else(bad)?;
    let parts: Vec<&str> = time.split(':').collect();
    let [h, m, s] = parts.as_slice() else { return Err(bad()) };
    let field = |t: &str, max: i64| -> Result<i64, Problem> {
        let v: i64 = if t.len() == 2 { t.parse().map_err(|_| bad())? } else { return Err(bad()) };
        if v > max { Err(bad()) } else { Ok(v) }
    };
    let seconds = field(h, 23)? * 3600 + field(m, 59)? * 60 + field(s, 59)?;
    Ok(Timestamp(start.0 + seconds * 1_000_000))
}

/// `Erp-Occurred-At`'s pattern: a date, then optionally a time of day.
fn occurred_at_pattern() -> String {
    let date = commands::DATE_PATTERN.trim_end_matches('$');
    format!("{date}(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])?$")
}

/// `If-Match: "<version>"`: the stream version the command expects.
fn if_match(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or("");
    let inner = text.trim().trim_start_matches("W/").trim_matches('"');
    inner.parse::<u64>().map(Some).map_err(|_| {
        Problem::bad_request(
            "input.invalid_header",
            "If-Match must be a stream version in quotes, e.g. \"3\"",
        )
    })
}

fn response_of(stored: &Stored, replayed: bool) -> Response {
    let mut response = (stored.status, stored.body.clone()).into_response();
    let headers = response.headers_mut();
    let content_type =
        if stored.status.is_success() { "application/json" } else { "application/problem+json" };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(etag) = stored.etag.as_deref().and_then(|e| HeaderValue::from_str(e).ok()) {
        headers.insert(header::ETAG, etag);
    }
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

async fn command<S: EventStore>(
    State(api): State<Arc<CommandApi<S>>>,
    Path(name): Path<String>,
    caller: Option<axum::Extension<Caller>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let started = Instant::now();
    let (label, response) = match answer(&api, &name, caller.map(|c| c.0), &headers, body).await {
        Ok(response) => (name.as_str(), response),
        Err(problem) => (name.as_str(), problem.into_response()),
    };
    // Unknown names are counted under one label, so a scanner cannot grow the metrics without bound.
    let label = if api.endpoints.contains_key(label) { label } else { "unknown" };
    api.metrics.observe(label, response.status(), started);
    response
}

async fn answer<S: EventStore>(
    api: &Arc<CommandApi<S>>,
    name: &str,
    caller: Option<Caller>,
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, Problem> {
    let Some(endpoint) = api.endpoints.get(name) else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "command.unknown",
            format!("there is no command {name:?}; /api/v1/openapi.json lists them"),
        ));
    };
    if api.read_only {
        return Err(Problem::read_only());
    }
    let Some(caller) = caller else {
        return Err(Problem::new(StatusCode::UNAUTHORIZED, "auth.missing_token", "no caller"));
    };
    // An admin may send anything; an empty list means admins only.
    if !caller.has_role(domain::Role::Admin) && !endpoint.roles.iter().any(|r| caller.has_role(*r)) {
        let roles: Vec<&str> = endpoint.roles.iter().map(|r| auth::role_name(*r)).collect();
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "auth.forbidden",
            format!(
                "{name} needs one of the roles {}",
                ["admin"].iter().chain(&roles).copied().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let Ok(permit) = api.in_flight.clone().try_acquire_owned() else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service.overloaded",
            "too many commands at once; retry",
        ));
    };
    let body = body.map_err(|e| {
        Problem::new(
            e.status(),
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE { "input.too_large" } else { "input.unreadable" },
            e.body_text(),
        )
    })?;
    if body.len() > BODY_MAX {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "input.too_large",
            format!("the body is {} bytes, more than {BODY_MAX}", body.len()),
        ));
    }
    let json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "input.unsupported_media_type",
            "commands are JSON: send Content-Type: application/json",
        ));
    }
    let expected = if_match(headers)?;
    if expected.is_some() && !endpoint.if_match {
        return Err(Problem::bad_request(
            "input.if_match_unsupported",
            format!("{name} spans several streams and does not take If-Match"),
        ));
    }
    let occurred_at = occurred_at(headers, api.clock)?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if idempotency::valid_key(k) => Some(k.to_string()),
            _ => {
                return Err(Problem::bad_request(
                    "input.invalid_header",
                    format!(
                        "Idempotency-Key must be 1 to {} visible ASCII characters",
                        idempotency::KEY_LEN_MAX
                    ),
                ));
            }
        },
    };
    let body_hash = infra::digest(&body);
    if let Some(key) = &key {
        match api.keys.claim(caller.book, key, body_hash) {
            Claim::Execute => {}
            Claim::Replay(stored) => return Ok(response_of(&stored, true)),
            Claim::Mismatch => {
                return Err(Problem::rejected(
                    "idempotency.key_reused",
                    "this Idempotency-Key was used with another body; use a new key for a new request",
                ));
            }
            Claim::InFlight => {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "idempotency.in_flight",
                    "a request with this Idempotency-Key is being executed; retry in a moment",
                ));
            }
        }
    }
    let command_id = match &key {
        Some(key) => idempotency::command_id(caller.book, name, key),
        None => CommandId(Uuid::new_v4()),
    };
    let meta = CommandMeta::new(command_id, caller.actor.clone(), caller.book, occurred_at)
        .with_roles(&caller.roles);
    let ctx = Ctx { bus: api.bus.clone(), meta, expected: expected.map(Some) };
    // A task of its own: the command completes even when the client hangs up (hyper drops the
    // handler's future then), so no command is ever cut between its claims and its document.
    let running = Running::start(&api.running);
    let run = endpoint.run;
    let task = tokio::spawn(async move {
        let outcome = run(ctx, body).await;
        drop((running, permit));
        outcome
    });
    let outcome = match tokio::time::timeout(COMMAND_WAIT_MAX, task).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(join)) => Err(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "service.fault",
            format!("the command failed unexpectedly: {join}"),
        )),
        Err(_) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "command.timeout",
            "the command took too long to answer; it may still complete: retry with the same Idempotency-Key",
        )),
    };
    let stored = match &outcome {
        Ok(accepted) => Stored {
            status: StatusCode::OK,
            body: commands::to_json(accepted),
            etag: accepted.version.map(|v| format!("\"{v}\"")),
        },
        Err(problem) => Stored { status: problem.status(), body: commands::to_json(problem), etag: None },
    };
    if let Some(key) = &key {
        // Final answers are kept for replay; a transient one (overload, timeout, a failing store) is
        // not, so the retry executes (safely: same command id).
        if stored.status.is_success() || stored.status.is_client_error() {
            api.keys.finish(caller.book, key, body_hash, stored.clone());
        } else {
            api.keys.abandon(caller.book, key);
        }
    }
    Ok(response_of(&stored, false))
}

/// One command counted as running until dropped (also when its task panics), for the drain.
struct Running(Arc<AtomicU64>);

impl Running {
    fn start(count: &Arc<AtomicU64>) -> Running {
        count.fetch_add(1, Ordering::SeqCst);
        Running(count.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The OpenAPI 3.1 document of the command endpoints: one path per command, the request schema
/// generated from the command's type (JSON Schema 2020-12, as OpenAPI 3.1 embeds it).
pub fn openapi_document<S: EventStore>(endpoints: &[&Endpoint<S>]) -> Value {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut generator = schemas::generator(settings);
    let accepted = generator.subschema_for::<Accepted>();
    let problem = generator.subschema_for::<Problem>();
    let problem_response = |description: &str| json!({ "description": description, "content": { "application/problem+json": { "schema": problem.clone() } } });
    let mut paths = serde_json::Map::new();
    for endpoint in endpoints {
        let schema = (endpoint.schema)(&mut generator);
        let roles: Vec<&str> =
            std::iter::once("admin").chain(endpoint.roles.iter().map(|r| auth::role_name(*r))).collect();
        let mut parameters = vec![
            json!({ "name": "Idempotency-Key", "in": "header", "required": false,
                    "description": "A retried request with the same key answers the original response.",
                    "schema": { "type": "string", "minLength": 1, "maxLength": idempotency::KEY_LEN_MAX, "pattern": "^[!-~]+$" } }),
            json!({ "name": "Erp-Occurred-At", "in": "header", "required": false,
                    "description": "Business time, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, China Standard Time (default: now).",
                    "schema": { "type": "string", "pattern": occurred_at_pattern() } }),
        ];
        if endpoint.if_match {
            parameters.push(json!({ "name": "If-Match", "in": "header", "required": false,
                "description": "The stream version the command expects, in quotes (409 otherwise).",
                "schema": { "type": "string", "pattern": "^\"[0-9]{1,19}\"$" } }));
        }
        paths.insert(
            format!("/api/v1/commands/{}", endpoint.name),
            json!({ "post": {
                "operationId": endpoint.name,
                "summary": endpoint.summary,
                "description": format!("Roles: {}.", roles.join(", ")),
                "security": [{ "bearer": [] }],
                "parameters": parameters,
                "requestBody": { "required": true, "content": { "application/json": { "schema": schema } } },
                "responses": {
                    "200": { "description": "Accepted: the events appended.", "headers": { "ETag": { "schema": { "type": "string" } } },
                             "content": { "application/json": { "schema": accepted.clone() } } },
                    "400": problem_response("The request is malformed or a value is out of range."),
                    "401": problem_response("No token, or an unknown one."),
                    "403": problem_response("The token's roles do not allow this command."),
                    "409": problem_response("The stream moved (If-Match, or contention that outlasted the retries)."),
                    "413": problem_response("The body is too large."),
                    "415": problem_response("The body is not JSON."),
                    "422": problem_response("The business refused the command; nothing was appended."),
                    "503": problem_response("Overloaded or unavailable; retry with the same Idempotency-Key. A query node \
                        (`erp serve --read-only`) answers every command 503 `service.read_only`: send it to a node that takes commands."),
                }
            } }),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "erp command API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Commands of the ERP. Queries are GraphQL at /graphql." },
        "paths": paths,
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } }
        }
    })
}

mod schemas {
    use serde_json::Value;

    /// Decimals as the edge takes them: JSON strings of at most 28 digits (every match fits a
    /// `rust_decimal::Decimal`); written with `[0-9]`, as `\d` means any Unicode digit to some tools.
    pub const DECIMAL_PATTERN: &str = r"^-?[0-9]{1,18}(\.[0-9]{1,10})?$";

    /// The generator, with the schemas of two kinds of field made to say exactly what the server
    /// takes: decimals (schemars' default admits JSON numbers and exponents; `serde-str` takes
    /// neither) and `u32`s (their maximum).
    pub fn generator(settings: schemars::generate::SchemaSettings) -> schemars::SchemaGenerator {
        settings
            .with_transform(schemars::transform::RecursiveTransform(|schema: &mut schemars::Schema| {
                let Some(object) = schema.as_object_mut() else { return };
                let is_decimal = object.get("type").and_then(Value::as_array).is_some_and(|types| {
                    types.iter().any(|t| t == "string") && types.iter().any(|t| t == "number")
                });
                if is_decimal {
                    object.insert("type".into(), "string".into());
                    object.insert("pattern".into(), DECIMAL_PATTERN.into());
                }
                if object.get("format").and_then(Value::as_str) == Some("uint32") {
                    object.insert("maximum".into(), u32::MAX.into());
                }
            }))
            .into_generator()
    }
}

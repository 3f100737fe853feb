//! Bearer tokens: each maps to one book (tenant), an actor and roles. Only their BLAKE3 hashes are kept
//! in configuration and memory, so a leaked configuration file grants nothing. Tokens are 256 random
//! bits, so a fast hash is enough (no password stretching needed).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::{BookId, Caller, Role};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::problem::Problem;

/// One configured token, as the configuration file holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// BLAKE3 of the token, hex (`erp token new` prints it).
    pub hash: String,
    /// Who acts with the token (recorded as each event's actor).
    pub actor: String,
    pub book: Uuid,
    /// admin, sales, purchasing, warehouse, finance, auditor, analyst.
    pub roles: Vec<String>,
}

/// Why the token configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenConfigError {
    #[error("token of {actor}: the hash {hash:?} is not 64 hex digits (BLAKE3)")]
    BadHash { actor: String, hash: String },
    #[error(
        "token of {actor}: unknown role {role:?} (admin, sales, purchasing, warehouse, finance, auditor, analyst)"
    )]
    UnknownRole { actor: String, role: String },
    #[error("token of {actor}: the actor name must be 1 to 100 characters")]
    BadActor { actor: String },
    #[error("two tokens have the same hash")]
    Duplicate,
}

pub fn role_from_name(name: &str) -> Option<Role> {
    Some(match name {
        "admin" => Role::Admin,
        "sales" => Role::Sales,
        "purchasing" => Role::Purchasing,
        "warehouse" => Role::Warehouse,
        "finance" => Role::Finance,
        "auditor" => Role::Auditor,
        "analyst" => Role::Analyst,
        _ => return None,
    })
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Sales => "sales",
        Role::Purchasing => "purchasing",
        Role::Warehouse => "warehouse",
        Role::Finance => "finance",
        Role::Auditor => "auditor",
        Role::Analyst => "analyst",
    }
}

/// The configured tokens, by hash.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    by_hash: HashMap<[u8; 32], Caller>,
}

impl Tokens {
    pub fn new(entries: &[TokenEntry]) -> Result<Tokens, TokenConfigError> {
        let mut by_hash = HashMap::new();
        for entry in entries {
            let hash = from_hex(&entry.hash).ok_or_else(|| TokenConfigError::BadHash {
                actor: entry.actor.clone(),
                hash: entry.hash.clone(),
            })?;
            if entry.actor.is_empty() || entry.actor.chars().count() > 100 {
                return Err(TokenConfigError::BadActor { actor: entry.actor.clone() });
            }
            let roles = entry
                .roles
                .iter()
                .map(|r| {
                    role_from_name(r).ok_or_else(|| TokenConfigError::UnknownRole {
                        actor: entry.actor.clone(),
                        role: r.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let caller = Caller { actor: entry.actor.clone(), book: BookId(entry.book), roles };
            if by_hash.insert(hash, caller).is_some() {
                return Err(TokenConfigError::Duplicate);
            }
        }
        Ok(Tokens { by_hash })
    }

    /// The hash a configuration stores for `token`.
    pub fn hash(token: &str) -> String {
        infra::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A fresh token: 256 random bits (two v4 UUIDs' worth, from the OS generator).
    pub fn generate() -> String {
        format!("erp_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
    }

    pub fn caller(&self, token: &str) -> Option<&Caller> {
        self.by_hash.get(&infra::digest(token.as_bytes()))
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

/// 64 hex digits as 32 bytes.
fn from_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Paths anyone may read: probes, metrics, the API's own description and the GraphiQL page.
fn is_public(method: &Method, path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics" | "/api/v1/openapi.json")
        || (method == Method::GET && path == "/graphql")
}

/// Middleware: every non-public request must carry `Authorization: Bearer <token>` of a configured
/// token; the caller it maps to goes into the request's extensions for the handlers.
pub async fn authenticate(State(tokens): State<Arc<Tokens>>, mut request: Request, next: Next) -> Response {
    if is_public(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    // A browser cannot set headers on a WebSocket: GraphQL subscriptions then authenticate with their
    // `connection_init` payload, which query-api checks through `Tokens::caller`.
    if presented.is_none() && request.uri().path() == "/graphql/ws" {
        return next.run(request).await;
    }
    let problem = match presented {
        None => Problem::new(
            StatusCode::UNAUTHORIZED,
            "auth.missing_token",
            "this endpoint needs an `Authorization: Bearer <token>` header",
        ),
        Some(token) => match tokens.caller(token) {
            Some(caller) => {
                request.extensions_mut().insert(caller.clone());
                return next.run(request).await;
            }
            None => {
                Problem::new(StatusCode::UNAUTHORIZED, "auth.invalid_token", "the token is not known here")
            }
        },
    };
    let mut response = problem.into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

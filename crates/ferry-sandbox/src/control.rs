//! The control API, on its own port and off the providers' paths: what a test or the demo
//! does to the simulated providers. Every call is also a plain method on [`World`], so
//! in-process Rust tests can skip HTTP.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::SandboxConfig;
use crate::faults::FaultRule;
use crate::world::{NewClient, NewUser, Provider, World};

/// The demo's OAuth clients, the ones `make run` configures Ferry with.
pub const DEMO_GOOGLE_CLIENT_ID: &str = "ferry-sandbox-desktop.apps.googleusercontent.com";
pub const DEMO_MICROSOFT_CLIENT_ID: &str = "f3771a5e-0b1c-4d2e-8f90-5a1db0c5e7f1";

/// Users and clients for the demo and for tests that do not need their own.
pub fn seed_demo(world: &World) {
    world.add_client(NewClient {
        provider: Some(Provider::Google),
        client_id: Some(DEMO_GOOGLE_CLIENT_ID.into()),
        name: "Ferry".into(),
        project: Some("ferry-sandbox".into()),
        ..NewClient::default()
    });
    world.add_client(NewClient {
        provider: Some(Provider::Microsoft),
        client_id: Some(DEMO_MICROSOFT_CLIENT_ID.into()),
        name: "Ferry".into(),
        redirect_uris: vec![
            "ferry://oauth/microsoft".into(),
            "http://localhost/oauth/microsoft".into(),
            "http://127.0.0.1/oauth/microsoft".into(),
        ],
        ..NewClient::default()
    });
    for (provider, email, name, password, tenant, hd) in [
        (
            Provider::Google,
            "ada@example.com",
            "Ada Lovelace",
            "ada",
            None,
            None,
        ),
        (
            Provider::Google,
            "grace@example.org",
            "Grace Hopper",
            "grace",
            None,
            Some("example.org"),
        ),
        (
            Provider::Microsoft,
            "alan@outlook.example",
            "Alan Turing",
            "alan",
            None,
            None,
        ),
        (
            Provider::Microsoft,
            "katherine@contoso.example",
            "Katherine Johnson",
            "katherine",
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47"),
            None,
        ),
    ] {
        world.add_user(NewUser {
            provider: Some(provider),
            email: email.into(),
            name: name.into(),
            password: Some(password.into()),
            tenant: tenant.map(str::to_owned),
            hosted_domain: hd.map(str::to_owned),
        });
    }
}

/// Mail for the demo's users (the command-line sandbox seeds it; in-process tests fill
/// the mailboxes they need themselves).
pub fn seed_demo_mail(world: &World) {
    for (provider, email, count) in [
        (Provider::Google, "ada@example.com", 250),
        (Provider::Google, "grace@example.org", 120),
        (Provider::Microsoft, "alan@outlook.example", 150),
        (Provider::Microsoft, "katherine@contoso.example", 200),
    ] {
        if let Some(owner) = world.find_user_by_email(provider, email) {
            crate::mail::control::seed_mailbox(
                world,
                &owner,
                &crate::mail::control::SeedRequest {
                    seed: 1,
                    count,
                    span_days: None,
                    also_to: Vec::new(),
                },
            );
        }
    }
}

pub fn router(world: Arc<World>) -> Router {
    Router::new()
        .route("/users", get(list_users).post(add_user))
        .route("/users/{id}/revoke", post(revoke))
        .route("/users/{id}/password-change", post(password_change))
        .route("/clients", get(list_clients).post(add_client))
        .route("/clients/{id}/testing", post(set_testing))
        .route("/config", get(get_config).put(put_config))
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/requests", get(requests).delete(clear_requests))
        .route("/requests/count", get(count_requests))
        .route("/secrets", get(secrets))
        .route("/health", get(|| async { "ok" }))
        .merge(crate::mail::control::router())
        .with_state(world)
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": format!("no such {what}") })),
    )
        .into_response()
}

async fn list_users(State(world): State<Arc<World>>) -> Json<Value> {
    Json(json!(world
        .state()
        .users
        .values()
        .cloned()
        .collect::<Vec<_>>()))
}

async fn add_user(State(world): State<Arc<World>>, Json(new): Json<NewUser>) -> Response {
    (StatusCode::CREATED, Json(json!(world.add_user(new)))).into_response()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RevokeRequest {
    #[serde(default)]
    client_id: Option<String>,
}

async fn revoke(
    State(world): State<Arc<World>>,
    Path(id): Path<String>,
    body: Option<Json<RevokeRequest>>,
) -> Response {
    if !world.state().users.contains_key(&id) {
        return not_found("user");
    }
    let client = body.and_then(|Json(b)| b.client_id);
    let revoked = world.revoke_grants(&id, client.as_deref());
    Json(json!({ "revoked_refresh_tokens": revoked })).into_response()
}

async fn password_change(State(world): State<Arc<World>>, Path(id): Path<String>) -> Response {
    if world.change_password(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found("user")
    }
}

async fn list_clients(State(world): State<Arc<World>>) -> Json<Value> {
    Json(json!(world
        .state()
        .clients
        .values()
        .cloned()
        .collect::<Vec<_>>()))
}

async fn add_client(State(world): State<Arc<World>>, Json(new): Json<NewClient>) -> Response {
    (StatusCode::CREATED, Json(json!(world.add_client(new)))).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Testing {
    testing: bool,
}

async fn set_testing(
    State(world): State<Arc<World>>,
    Path(id): Path<String>,
    Json(body): Json<Testing>,
) -> Response {
    match world.state().clients.get_mut(&id) {
        Some(client) => {
            client.testing = body.testing;
            StatusCode::NO_CONTENT.into_response()
        }
        None => not_found("client"),
    }
}

async fn get_config(State(world): State<Arc<World>>) -> Json<SandboxConfig> {
    Json(world.config())
}

/// Replaces the configuration; fields left out keep their defaults.
async fn put_config(
    State(world): State<Arc<World>>,
    Json(config): Json<SandboxConfig>,
) -> Json<SandboxConfig> {
    world.set_config(config);
    Json(world.config())
}

async fn clock(State(world): State<Arc<World>>) -> Json<Value> {
    Json(json!({ "now_unix": world.clock.unix() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: u64,
}

async fn advance(State(world): State<Arc<World>>, Json(body): Json<Advance>) -> Json<Value> {
    world.clock.advance(Duration::from_secs(body.seconds));
    Json(json!({ "now_unix": world.clock.unix() }))
}

async fn list_faults(State(world): State<Arc<World>>) -> Json<Vec<FaultRule>> {
    Json(world.faults.list())
}

async fn add_fault(State(world): State<Arc<World>>, Json(rule): Json<FaultRule>) -> StatusCode {
    world.faults.add(rule);
    StatusCode::CREATED
}

async fn clear_faults(State(world): State<Arc<World>>) -> StatusCode {
    world.faults.clear();
    StatusCode::NO_CONTENT
}

async fn requests(State(world): State<Arc<World>>) -> Json<Value> {
    Json(json!(world.log.all()))
}

async fn clear_requests(State(world): State<Arc<World>>) -> StatusCode {
    world.log.clear();
    StatusCode::NO_CONTENT
}

/// Every code, token and PKCE verifier the sandbox issued or received, so that tests can
/// check none of them turns up where it must not (Ferry's database, logs, IPC).
async fn secrets(State(world): State<Arc<World>>) -> Json<Value> {
    let state = world.state();
    Json(json!({
        "codes": state.codes.keys().collect::<Vec<_>>(),
        "access_tokens": state.access_tokens.keys().collect::<Vec<_>>(),
        "refresh_tokens": state.refresh_tokens.keys().collect::<Vec<_>>(),
        "verifiers": state.verifiers,
        "id_tokens": state.id_tokens,
    }))
}

/// `GET /requests/count?service=google&path=/token&grant_type=refresh_token`
async fn count_requests(
    State(world): State<Arc<World>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let service = q.get("service").map(String::as_str).unwrap_or("google");
    let path = q.get("path").map(String::as_str).unwrap_or("");
    let count = world
        .log
        .count(service, path, q.get("grant_type").map(String::as_str));
    Json(json!({ "count": count }))
}

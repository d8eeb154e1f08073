//! Graph `GET /v1.0/me`, with Graph's error envelope and the per-mailbox throttling that
//! every Graph call goes through ([`caller`]).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::oauth::bearer;
use crate::quota::{Permit, ThrottleReason};
use crate::world::{AccessToken, Provider, User, World};

/// Graph's error body: `{"error":{"code","message","innerError":{...}}}`.
pub fn graph_error(world: &World, status: StatusCode, code: &str, message: &str) -> Response {
    let date = chrono::DateTime::from_timestamp(world.clock.unix() as i64, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_default();
    let request_id = uuid::Uuid::new_v4().to_string();
    (
        status,
        Json(json!({"error": {
            "code": code,
            "message": message,
            "innerError": { "date": date, "request-id": request_id, "client-request-id": request_id },
        }})),
    )
        .into_response()
}

/// Who is calling Graph: authenticated, admitted by the mailbox's throttling, holding
/// one of its concurrent slots for Graph's own service time and until dropped.
pub struct Caller {
    pub access: AccessToken,
    pub user: User,
    _slot: Option<Permit>,
}

pub async fn caller(world: &World, headers: &HeaderMap) -> Result<Caller, Response> {
    let Some(token) = bearer(headers) else {
        return Err(graph_error(
            world,
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        ));
    };
    let Some((access, user)) = world
        .access_token(token)
        .filter(|(_, u)| u.provider == Provider::Microsoft)
    else {
        return Err(graph_error(
            world,
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        ));
    };
    let config = world.config().quotas;
    let slot = if config.enabled {
        match world.quotas.enter_graph(
            &access.client_id,
            &user.id,
            world.clock.now(),
            config.graph_requests_per_10_min,
            config.graph_concurrent_per_mailbox,
            Duration::from_secs(config.graph_retry_after_s),
        ) {
            Ok(permit) => Some(permit),
            Err(throttled) => {
                let message = match throttled.reason {
                    ThrottleReason::GraphConcurrency => {
                        "Application is over its MailboxConcurrency limit."
                    }
                    _ => "Application is over its MailboxRequests limit.",
                };
                let mut response = graph_error(
                    world,
                    StatusCode::TOO_MANY_REQUESTS,
                    "ApplicationThrottled",
                    message,
                );
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(throttled.retry_after.as_secs()),
                );
                return Err(response);
            }
        }
    } else {
        None
    };
    let service = world.config().microsoft.graph_service_ms;
    if service > 0 {
        tokio::time::sleep(Duration::from_millis(service)).await;
    }
    Ok(Caller {
        access,
        user,
        _slot: slot,
    })
}

pub async fn me(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let user = match caller(&world, &headers).await {
        Ok(caller) => caller.user,
        Err(response) => return response,
    };
    Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
        "businessPhones": [],
        "displayName": user.name,
        "givenName": user.given_name,
        "jobTitle": null,
        "mail": user.email,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": null,
        "surname": user.family_name,
        "userPrincipalName": user.email,
        "id": user.subject,
    }))
    .into_response()
}

/// The OpenID Connect userinfo endpoint (`https://graph.microsoft.com/oidc/userinfo`):
/// the pairwise `sub`, and the name and e-mail that `profile` and `email` allow.
pub async fn userinfo(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let found = bearer(&headers)
        .and_then(|t| world.access_token(t))
        .filter(|(_, u)| u.provider == Provider::Microsoft);
    let Some((access, user)) = found else {
        return graph_error(
            &world,
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        );
    };
    if !access.scopes.iter().any(|s| s == "openid") {
        return graph_error(
            &world,
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    let mut claims = serde_json::Map::new();
    claims.insert(
        "sub".into(),
        json!(super::pairwise_subject(&access.client_id, &user.subject)),
    );
    if access.scopes.iter().any(|s| s == "profile") {
        claims.insert("name".into(), json!(user.name));
        claims.insert("given_name".into(), json!(user.given_name));
        claims.insert("family_name".into(), json!(user.family_name));
    }
    if access.scopes.iter().any(|s| s == "email") {
        claims.insert("email".into(), json!(user.email));
    }
    Json(serde_json::Value::Object(claims)).into_response()
}

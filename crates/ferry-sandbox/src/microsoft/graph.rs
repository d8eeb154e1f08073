//! Graph `GET /v1.0/me`, with Graph's error envelope and the per-mailbox throttling.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::oauth::bearer;
use crate::quota::ThrottleReason;
use crate::world::{Provider, World};

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

pub async fn me(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return graph_error(
            &world,
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        );
    };
    let Some((access, user)) = world
        .access_token(token)
        .filter(|(_, u)| u.provider == Provider::Microsoft)
    else {
        return graph_error(
            &world,
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        );
    };
    let config = world.config().quotas;
    let _permit = if config.enabled {
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
                let (code, message) = match throttled.reason {
                    ThrottleReason::GraphConcurrency => (
                        "ApplicationThrottled",
                        "Application is over its MailboxConcurrency limit.",
                    ),
                    _ => (
                        "ApplicationThrottled",
                        "Application is over its MailboxRequests limit.",
                    ),
                };
                let mut response =
                    graph_error(&world, StatusCode::TOO_MANY_REQUESTS, code, message);
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(throttled.retry_after.as_secs()),
                );
                return response;
            }
        }
    } else {
        None
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

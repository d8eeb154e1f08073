//! Graph JSON batching (`POST /v1.0/$batch`): at most 20 requests; Outlook runs at most
//! 4 of them at a time; `dependsOn` runs a request after the ones it names, and fails it
//! with 424 when one of those failed. Each request is served (and throttled) as if it
//! came alone.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::microsoft::graph::graph_error;
use crate::reqlog::RequestRecord;
use crate::world::World;

/// "currently limited to 20 individual requests".
pub const MAX_REQUESTS: usize = 20;
/// Outlook runs at most this many of a batch's requests in parallel.
const PARALLEL: usize = 4;

#[derive(Debug, Deserialize)]
pub struct BatchRequest {
    requests: Vec<Item>,
}

#[derive(Debug, Clone, Deserialize)]
struct Item {
    id: String,
    method: String,
    url: String,
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default, rename = "dependsOn")]
    depends_on: Vec<String>,
}

async fn run(world: &Arc<World>, item: &Item, authorization: Option<&str>) -> Value {
    if item.url.trim_start_matches('/').starts_with("$batch") {
        return json!({"id": item.id, "status": 400, "body": {"error": {"code": "BadRequest", "message": "Batches do not nest."}}});
    }
    let path = format!("/v1.0/{}", item.url.trim_start_matches('/'));
    let mut request = Request::builder().method(item.method.as_str()).uri(&path);
    for (name, value) in &item.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(auth) = authorization {
        request = request.header(header::AUTHORIZATION, auth);
    }
    let Ok(request) = request.body(Body::empty()) else {
        return json!({"id": item.id, "status": 400, "body": {"error": {"code": "BadRequest", "message": "Invalid request in batch."}}});
    };
    let response = match crate::microsoft::router(Arc::clone(world))
        .oneshot(request)
        .await
    {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let status = response.status();
    let mut headers = serde_json::Map::new();
    for (name, value) in response.headers() {
        if let Ok(value) = value.to_str() {
            headers.insert(name.to_string(), json!(value));
        }
    }
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    world.log.push(RequestRecord::batched(
        world.clock.unix(),
        "microsoft",
        &item.method,
        &path,
        status.as_u16(),
    ));
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    json!({"id": item.id, "status": status.as_u16(), "headers": headers, "body": body})
}

pub async fn batch(
    State(world): State<Arc<World>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Ok(request) = serde_json::from_slice::<BatchRequest>(&body) else {
        return graph_error(
            &world,
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid batch payload format.",
        );
    };
    if request.requests.len() > MAX_REQUESTS {
        return graph_error(
            &world,
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("The number of requests in a batch cannot exceed {MAX_REQUESTS}."),
        );
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let responses: Vec<Value> = if request.requests.iter().all(|r| r.depends_on.is_empty()) {
        stream::iter(request.requests)
            .map(|item| {
                let world = Arc::clone(&world);
                let authorization = authorization.clone();
                async move { run(&world, &item, authorization.as_deref()).await }
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await
    } else {
        // With dependencies, one after another in the order given.
        let mut done: HashMap<String, u16> = HashMap::new();
        let mut out = Vec::new();
        for item in &request.requests {
            let failed = item
                .depends_on
                .iter()
                .any(|d| done.get(d).is_none_or(|status| *status >= 400));
            let answer = if failed {
                json!({"id": item.id, "status": 424, "body": {"error": {"code": "FailedDependency", "message": "A request this one depends on failed."}}})
            } else {
                run(&world, item, authorization.as_deref()).await
            };
            done.insert(
                item.id.clone(),
                answer["status"].as_u64().unwrap_or(500) as u16,
            );
            out.push(answer);
        }
        out
    };
    Json(json!({"responses": responses})).into_response()
}

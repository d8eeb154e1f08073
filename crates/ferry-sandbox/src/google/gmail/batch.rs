//! Google's HTTP batch endpoint for Gmail: a `multipart/mixed` body of up to 100 HTTP
//! requests, answered with a `multipart/mixed` body of their responses. Each call is
//! served (and charged, and counted against the user's concurrent slots) as if it came
//! alone, all at once: the outer answer is 200 even when calls inside fail with 429.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::join_all;
use tower::ServiceExt;

use super::google_error;
use crate::reqlog::RequestRecord;
use crate::world::World;

pub const PATH: &str = "/batch/gmail/v1";
/// "limited to 100 calls in a single batch request".
pub const MAX_CALLS: usize = 100;

struct Call {
    content_id: Option<String>,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

fn boundary_of(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/mixed")
    {
        return None;
    }
    content_type.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim_matches('"').to_owned())
    })
}

/// Splits a multipart body into its parts' text.
fn parts(body: &str, boundary: &str) -> Vec<String> {
    let delimiter = format!("--{boundary}");
    body.split(&delimiter)
        .skip(1)
        .take_while(|p| !p.starts_with("--"))
        .map(|p| {
            p.trim_start_matches("\r\n")
                .trim_start_matches('\n')
                .to_owned()
        })
        .collect()
}

fn split_head(text: &str) -> (&str, &str) {
    text.split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .unwrap_or((text, ""))
}

fn parse_call(part: &str) -> Option<Call> {
    let (outer_head, inner) = split_head(part);
    let content_id = outer_head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-id")
            .then(|| v.trim().trim_matches(|c| c == '<' || c == '>').to_owned())
    });
    let (head, _body) = split_head(inner);
    let mut lines = head.lines();
    let mut request_line = lines.next()?.split_whitespace();
    let method = request_line.next()?.to_owned();
    let mut target = request_line.next()?.to_owned();
    // A full URL names Gmail's host; the sandbox serves the path.
    if let Some(rest) = target.split_once("://").map(|(_, r)| r) {
        target = rest
            .find('/')
            .map_or("/".to_owned(), |i| rest[i..].to_owned());
    }
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Call {
        content_id,
        method,
        target,
        headers,
    })
}

fn status_line(status: StatusCode) -> String {
    format!(
        "HTTP/1.1 {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
}

pub async fn batch(State(world): State<Arc<World>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(boundary) = boundary_of(&headers) else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "badRequest",
            "A batch request must be multipart/mixed with a boundary.",
            "global",
        );
    };
    let text = String::from_utf8_lossy(&body);
    let parts = parts(&text, &boundary);
    if parts.len() > MAX_CALLS {
        return google_error(
            StatusCode::BAD_REQUEST,
            "badRequest",
            &format!(
                "Too many requests in batch: {} (limit: {MAX_CALLS}).",
                parts.len()
            ),
            "global",
        );
    }
    let authorization = headers.get(header::AUTHORIZATION).cloned();
    let inner = super::router(Arc::clone(&world));
    let calls = parts.iter().enumerate().map(|(n, part)| {
        let inner = inner.clone();
        let authorization = authorization.clone();
        let world = Arc::clone(&world);
        async move {
            let Some(call) = parse_call(part) else {
                return (
                    None,
                    StatusCode::BAD_REQUEST,
                    Bytes::from_static(
                        b"{\"error\":{\"code\":400,\"message\":\"Unreadable request in batch.\"}}",
                    ),
                );
            };
            let content_id = call.content_id.clone().or(Some(format!("item{n}")));
            let path = call.target.split('?').next().unwrap_or_default().to_owned();
            if path.starts_with("/batch") {
                return (
                    content_id,
                    StatusCode::BAD_REQUEST,
                    Bytes::from_static(
                        b"{\"error\":{\"code\":400,\"message\":\"Batches do not nest.\"}}",
                    ),
                );
            }
            let mut request = Request::builder()
                .method(call.method.as_str())
                .uri(&call.target);
            for (name, value) in &call.headers {
                request = request.header(name.as_str(), value.as_str());
            }
            if let Some(auth) = authorization.filter(|_| {
                !call
                    .headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            }) {
                request = request.header(header::AUTHORIZATION, auth);
            }
            let Ok(request) = request.body(Body::empty()) else {
                return (content_id, StatusCode::BAD_REQUEST, Bytes::new());
            };
            let response = match inner.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap_or_default();
            world.log.push(RequestRecord::batched(
                world.clock.unix(),
                "google",
                &call.method,
                &path,
                status.as_u16(),
            ));
            (content_id, status, bytes)
        }
    });
    let answers = join_all(calls).await;

    let out_boundary = format!("batch_{}", uuid::Uuid::new_v4().simple());
    let mut out = String::new();
    for (content_id, status, bytes) in answers {
        out.push_str(&format!(
            "--{out_boundary}\r\nContent-Type: application/http\r\n"
        ));
        if let Some(id) = content_id {
            out.push_str(&format!("Content-ID: <response-{id}>\r\n"));
        }
        out.push_str(&format!(
            "\r\n{}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{}\r\n",
            status_line(status),
            String::from_utf8_lossy(&bytes)
        ));
    }
    out.push_str(&format!("--{out_boundary}--\r\n"));
    let mut response = (StatusCode::OK, out).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("multipart/mixed; boundary={out_boundary}")) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

//! The Gmail API (`gmail/v1`), read side: profile, labels, messages in all four formats,
//! attachments, threads, history, and the HTTP batch endpoint, with Google's error
//! envelope, quota units per method and the per-user concurrency cap
//! (`shared/provider-reference.md` §2.1, §3.1, §5.4).

// The handlers' helpers fail with the provider's error response itself, which the
// handler returns at once; boxing it would only add a step.
#![allow(clippy::result_large_err)]

mod batch;
pub mod store;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use serde_json::{json, Value};

use crate::mail::letter;
use crate::oauth::bearer;
use crate::quota::{gmail_method_cost, Permit};
use crate::world::{Provider, User, World};
use store::{Change, GmailBox, Stored};

pub const SCOPE_READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
pub const SCOPE_METADATA: &str = "https://www.googleapis.com/auth/gmail.metadata";
const FULL_SCOPES: &[&str] = &[
    SCOPE_READONLY,
    "https://www.googleapis.com/auth/gmail.modify",
    "https://mail.google.com/",
];

/// Page size when `maxResults` is not given, and its maximum.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 500;

/// Every user's mailbox, created empty on first use.
#[derive(Debug, Default)]
pub struct Mailboxes(Mutex<HashMap<String, GmailBox>>);

impl Mailboxes {
    pub fn lock(&self) -> MutexGuard<'_, HashMap<String, GmailBox>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on `user_id`'s mailbox, with history older than the retention dropped.
    pub fn with<T>(&self, world: &World, user_id: &str, f: impl FnOnce(&mut GmailBox) -> T) -> T {
        let retention = Duration::from_secs(world.config().google.gmail_history_retention_s);
        let mut all = self.lock();
        let mailbox = all.entry(user_id.to_owned()).or_default();
        mailbox.expire_history(world.clock.now(), retention);
        f(mailbox)
    }
}

pub fn router(world: Arc<World>) -> Router {
    Router::new()
        .route("/gmail/v1/users/{user}/profile", get(profile))
        .route("/gmail/v1/users/{user}/labels", get(labels))
        .route("/gmail/v1/users/{user}/labels/{id}", get(label))
        .route("/gmail/v1/users/{user}/messages", get(list_messages))
        .route("/gmail/v1/users/{user}/messages/{id}", get(get_message))
        .route(
            "/gmail/v1/users/{user}/messages/{id}/attachments/{attachment}",
            get(get_attachment),
        )
        .route("/gmail/v1/users/{user}/threads", get(list_threads))
        .route("/gmail/v1/users/{user}/threads/{id}", get(get_thread))
        .route("/gmail/v1/users/{user}/history", get(list_history))
        .route(batch::PATH, post(batch::batch))
        .with_state(world)
}

/// Google's error envelope.
pub fn google_error(status: StatusCode, reason: &str, message: &str, domain: &str) -> Response {
    let status_name = match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        _ => "UNKNOWN",
    };
    (
        status,
        Json(json!({"error": {
            "code": status.as_u16(),
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": status_name,
        }})),
    )
        .into_response()
}

fn not_found() -> Response {
    google_error(
        StatusCode::NOT_FOUND,
        "notFound",
        "Requested entity was not found.",
        "global",
    )
}

fn bad_request(message: &str) -> Response {
    google_error(
        StatusCode::BAD_REQUEST,
        "invalidArgument",
        message,
        "global",
    )
}

/// Who is calling, and whether only the metadata scope was granted. Holds one of the
/// user's concurrent slots while the request runs.
struct Caller {
    user: User,
    metadata_only: bool,
    _slot: Option<Permit>,
}

/// Authenticates, checks the scope, charges `method`'s units and takes a slot, which it
/// holds for Gmail's own service time (so that calls at once overlap, as at Gmail).
async fn caller(
    world: &World,
    headers: &HeaderMap,
    user_param: &str,
    method: &str,
) -> Result<Caller, Response> {
    let Some((access, user)) = bearer(headers)
        .and_then(|t| world.access_token(t))
        .filter(|(_, u)| u.provider == Provider::Google)
    else {
        return Err(super::unauthenticated());
    };
    if user_param != "me" && !user_param.eq_ignore_ascii_case(&user.email) {
        return Err(google_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Delegation denied for the requested user.",
            "global",
        ));
    }
    let full = access
        .scopes
        .iter()
        .any(|s| FULL_SCOPES.contains(&s.as_str()));
    let metadata = access.scopes.iter().any(|s| s == SCOPE_METADATA);
    if !full && !metadata {
        let mut response = google_error(
            StatusCode::FORBIDDEN,
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
            "global",
        );
        *response.body_mut() = axum::body::Body::from(
            json!({"error": {
                "code": 403,
                "message": "Request had insufficient authentication scopes.",
                "errors": [{"message": "Insufficient Permission", "domain": "global", "reason": "insufficientPermissions"}],
                "status": "PERMISSION_DENIED",
                "details": [{
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                    "domain": "googleapis.com",
                    "metadata": {"service": "gmail.googleapis.com", "method": format!("caribou.api.proto.MailboxService.{method}")},
                }],
            }})
            .to_string(),
        );
        return Err(response);
    }
    let quotas = world.config().quotas;
    let slot = if quotas.enabled {
        let slot = world
            .quotas
            .enter_gmail(&user.id, quotas.gmail_max_concurrent_per_user)
            .map_err(|_| {
                google_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rateLimitExceeded",
                    "Too many concurrent requests for user",
                    "usageLimits",
                )
            })?;
        let cost = gmail_method_cost(quotas.gmail_profile, method);
        world
            .quotas
            .charge_gmail(&user.id, cost, world.clock.now(), quotas.gmail_units())
            .map_err(|_| {
                let status = StatusCode::from_u16(quotas.gmail_quota_status)
                    .unwrap_or(StatusCode::TOO_MANY_REQUESTS);
                google_error(
                    status,
                    "userRateLimitExceeded",
                    "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'gmail.googleapis.com' for consumer 'project_number:sandbox'.",
                    "usageLimits",
                )
            })?;
        Some(slot)
    } else {
        None
    };
    let service = world.config().google.gmail_service_ms;
    if service > 0 {
        tokio::time::sleep(Duration::from_millis(service)).await;
    }
    Ok(Caller {
        user,
        metadata_only: !full,
        _slot: slot,
    })
}

/// Query pairs, repeated keys kept (`labelIds`, `metadataHeaders`, `historyTypes`).
fn pairs(query: &Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn all<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn page_size(world: &World, pairs: &[(String, String)]) -> Result<usize, Response> {
    let Some(raw) = first(pairs, "maxResults") else {
        return Ok(DEFAULT_PAGE);
    };
    let n: usize = raw
        .parse()
        .map_err(|_| bad_request(&format!("Invalid value for maxResults: {raw}")))?;
    if n > MAX_PAGE && !world.config().google.gmail_clamp_max_results {
        return Err(bad_request("maxResults must be at most 500."));
    }
    Ok(n.clamp(1, MAX_PAGE))
}

/// Page tokens are opaque to clients: an offset, encoded.
fn page_start(pairs: &[(String, String)]) -> Result<usize, Response> {
    match first(pairs, "pageToken") {
        None | Some("") => Ok(0),
        Some(token) => URL_SAFE
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("at:").and_then(|n| n.parse().ok()))
            .ok_or_else(|| bad_request("Invalid pageToken")),
    }
}

fn page_token(offset: usize) -> String {
    URL_SAFE.encode(format!("at:{offset}"))
}

/// A list reply: `out` with the page's items under `key` (left out when there are none,
/// as Gmail does) and a `nextPageToken` for `next` when there is more.
fn paged(mut out: Value, key: &str, items: Vec<Value>, more: bool, next: usize) -> Value {
    if !items.is_empty() {
        out[key] = Value::Array(items);
    }
    if more {
        out["nextPageToken"] = json!(page_token(next));
    }
    out
}

async fn profile(
    State(world): State<Arc<World>>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&world, &headers, &user, "users.getProfile").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (total, threads, history) = world.gmail.with(&world, &caller.user.id, |m| {
        (m.len(), m.threads_total(), m.history_id())
    });
    Json(json!({
        "emailAddress": caller.user.email,
        "messagesTotal": total,
        "threadsTotal": threads,
        "historyId": history.to_string(),
    }))
    .into_response()
}

fn label_json(mailbox: &GmailBox, label: &store::Label, counts: bool) -> Value {
    let mut out = json!({
        "id": label.id,
        "name": label.name,
        "type": if label.system { "system" } else { "user" },
    });
    if !label.system {
        out["messageListVisibility"] = json!("show");
        out["labelListVisibility"] = json!("labelShow");
    }
    if counts {
        let with: Vec<&Stored> = mailbox
            .newest_first()
            .filter(|m| m.labels.contains(&label.id))
            .collect();
        let unread: Vec<&&Stored> = with
            .iter()
            .filter(|m| m.labels.contains("UNREAD"))
            .collect();
        let threads: BTreeSet<&str> = with.iter().map(|m| m.thread_id.as_str()).collect();
        let unread_threads: BTreeSet<&str> = unread.iter().map(|m| m.thread_id.as_str()).collect();
        out["messagesTotal"] = json!(with.len());
        out["messagesUnread"] = json!(unread.len());
        out["threadsTotal"] = json!(threads.len());
        out["threadsUnread"] = json!(unread_threads.len());
    }
    out
}

async fn labels(
    State(world): State<Arc<World>>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&world, &headers, &user, "users.labels.list").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let labels: Vec<Value> = world.gmail.with(&world, &caller.user.id, |m| {
        m.labels().map(|l| label_json(m, l, false)).collect()
    });
    Json(json!({ "labels": labels })).into_response()
}

async fn label(
    State(world): State<Arc<World>>,
    Path((user, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&world, &headers, &user, "users.labels.get").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    world
        .gmail
        .with(&world, &caller.user.id, |m| {
            m.label(&id).map(|l| label_json(m, l, true))
        })
        .map_or_else(not_found, |l| Json(l).into_response())
}

/// The messages a list asks for: `labelIds` (all of them), Spam and Trash only when
/// `includeSpamTrash`, and `q` terms `after:`/`before:` (dates or epoch seconds) and
/// `label:`/`in:`. Other search terms are refused rather than ignored.
fn selection(
    pairs: &[(String, String)],
    metadata_only: bool,
    world: &World,
) -> Result<impl Fn(&Stored) -> bool, Response> {
    let labels: Vec<String> = all(pairs, "labelIds")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let spam_trash = first(pairs, "includeSpamTrash") == Some("true");
    let mut after_ms = i64::MIN;
    let mut before_ms = i64::MAX;
    let mut in_labels = Vec::new();
    if let Some(q) = first(pairs, "q").filter(|q| !q.trim().is_empty()) {
        if metadata_only {
            return Err(metadata_refusal(
                world,
                "Metadata scope does not support 'q' parameter",
            ));
        }
        for term in q.split_whitespace() {
            let (key, value) = term.split_once(':').unwrap_or((term, ""));
            match key {
                "after" | "before" => {
                    let ms = search_date(value)
                        .ok_or_else(|| bad_request(&format!("Invalid date in q: {term}")))?;
                    if key == "after" {
                        after_ms = ms;
                    } else {
                        before_ms = ms;
                    }
                }
                "in" | "label" => in_labels.push(value.to_ascii_uppercase()),
                _ => {
                    return Err(bad_request(&format!(
                        "The sandbox's search understands after:, before:, in: and label: only, not '{term}'"
                    )))
                }
            }
        }
    }
    Ok(move |m: &Stored| {
        labels.iter().all(|l| m.labels.contains(l))
            && in_labels.iter().all(|l| m.labels.contains(l))
            && (spam_trash || !(m.labels.contains("SPAM") || m.labels.contains("TRASH")))
            && m.internal_ms >= after_ms
            && m.internal_ms < before_ms
    })
}

/// `YYYY/MM/DD` (midnight UTC; Gmail uses the account's time zone) or epoch seconds.
fn search_date(value: &str) -> Option<i64> {
    if let Ok(seconds) = value.parse::<i64>() {
        return Some(seconds * 1000);
    }
    let date = chrono::NaiveDate::parse_from_str(value, "%Y/%m/%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d"))
        .ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

fn metadata_refusal(world: &World, message: &str) -> Response {
    let status = StatusCode::from_u16(world.config().google.gmail_metadata_refusal_status)
        .unwrap_or(StatusCode::FORBIDDEN);
    google_error(status, "forbidden", message, "global")
}

/// A list's page size, where it starts, and which messages it selects.
fn listing(
    world: &World,
    pairs: &[(String, String)],
    caller: &Caller,
) -> Result<(usize, usize, impl Fn(&Stored) -> bool), Response> {
    Ok((
        page_size(world, pairs)?,
        page_start(pairs)?,
        selection(pairs, caller.metadata_only, world)?,
    ))
}

async fn list_messages(
    State(world): State<Arc<World>>,
    Path(user): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&world, &headers, &user, "users.messages.list").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (size, start, wanted) = match listing(&world, &pairs(&query), &caller) {
        Ok(listing) => listing,
        Err(r) => return r,
    };
    world.gmail.with(&world, &caller.user.id, |m| {
        let matching: Vec<&Stored> = m.newest_first().filter(|s| wanted(s)).collect();
        let page: Vec<Value> = matching
            .iter()
            .skip(start)
            .take(size)
            .map(|s| json!({"id": s.id, "threadId": s.thread_id}))
            .collect();
        let out = json!({"resultSizeEstimate": matching.len()});
        Json(paged(
            out,
            "messages",
            page,
            start + size < matching.len(),
            start + size,
        ))
        .into_response()
    })
}

/// A message in `format` (`minimal`, `metadata`, `full` (the default) or `raw`).
fn message_json(m: &Stored, format: &str, metadata_headers: &[&str]) -> Value {
    let mut out = json!({
        "id": m.id,
        "threadId": m.thread_id,
        "labelIds": m.labels.iter().collect::<Vec<_>>(),
        "snippet": m.snippet,
        "historyId": m.history_id.to_string(),
        "internalDate": m.internal_ms.to_string(),
        "sizeEstimate": m.raw.len(),
    });
    match format {
        "raw" => out["raw"] = json!(URL_SAFE.encode(&m.raw)),
        "full" => out["payload"] = letter::gmail_payload(&m.raw, true),
        "metadata" => {
            let mut payload = letter::gmail_payload(&m.raw, false);
            let headers = payload["headers"].take();
            let kept: Vec<Value> = headers
                .as_array()
                .into_iter()
                .flatten()
                .filter(|h| {
                    metadata_headers.is_empty()
                        || metadata_headers.iter().any(|w| {
                            h["name"]
                                .as_str()
                                .is_some_and(|n| n.eq_ignore_ascii_case(w))
                        })
                })
                .cloned()
                .collect();
            // Metadata shows the top-level headers only, no parts or bodies.
            out["payload"] = json!({
                "partId": payload["partId"], "mimeType": payload["mimeType"],
                "filename": payload["filename"], "headers": kept, "body": {"size": 0},
            });
        }
        _ => {}
    }
    out
}

fn format_param(
    world: &World,
    pairs: &[(String, String)],
    caller: &Caller,
    allowed: &[&str],
) -> Result<String, Response> {
    let format = first(pairs, "format").unwrap_or("full").to_owned();
    if !allowed.contains(&format.as_str()) {
        return Err(bad_request(&format!("Invalid value for format: {format}")));
    }
    if caller.metadata_only && (format == "full" || format == "raw") {
        return Err(metadata_refusal(
            world,
            &format!(
                "Metadata scope doesn't allow format {}",
                format.to_uppercase()
            ),
        ));
    }
    Ok(format)
}

async fn get_message(
    State(world): State<Arc<World>>,
    Path((user, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&world, &headers, &user, "users.messages.get").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let pairs = pairs(&query);
    let format = match format_param(
        &world,
        &pairs,
        &caller,
        &["minimal", "full", "raw", "metadata"],
    ) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let wanted_headers = all(&pairs, "metadataHeaders");
    world
        .gmail
        .with(&world, &caller.user.id, |m| {
            m.get(&id)
                .map(|s| message_json(s, &format, &wanted_headers))
        })
        .map_or_else(not_found, |v| Json(v).into_response())
}

async fn get_attachment(
    State(world): State<Arc<World>>,
    Path((user, id, attachment)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&world, &headers, &user, "users.messages.attachments.get").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if caller.metadata_only {
        return metadata_refusal(&world, "Metadata scope does not allow attachments");
    }
    let raw = world.gmail.with(&world, &caller.user.id, |m| {
        m.get(&id).map(|s| Arc::clone(&s.raw))
    });
    match raw.and_then(|raw| letter::gmail_attachment(&raw, &attachment)) {
        Some(bytes) => Json(json!({
            "attachmentId": attachment,
            "size": bytes.len(),
            "data": URL_SAFE.encode(&bytes),
        }))
        .into_response(),
        None => not_found(),
    }
}

async fn list_threads(
    State(world): State<Arc<World>>,
    Path(user): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&world, &headers, &user, "users.threads.list").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (size, start, wanted) = match listing(&world, &pairs(&query), &caller) {
        Ok(listing) => listing,
        Err(r) => return r,
    };
    world.gmail.with(&world, &caller.user.id, |m| {
        // Threads in the order of their newest matching message.
        let mut seen = BTreeSet::new();
        let threads: Vec<&Stored> = m
            .newest_first()
            .filter(|s| wanted(s) && seen.insert(s.thread_id.clone()))
            .collect();
        let page: Vec<Value> = threads
            .iter()
            .skip(start)
            .take(size)
            .map(|s| {
                let history = m.thread(&s.thread_id).iter().map(|t| t.history_id).max();
                json!({"id": s.thread_id, "snippet": s.snippet, "historyId": history.unwrap_or_default().to_string()})
            })
            .collect();
        let out = json!({"resultSizeEstimate": threads.len()});
        Json(paged(out, "threads", page, start + size < threads.len(), start + size)).into_response()
    })
}

async fn get_thread(
    State(world): State<Arc<World>>,
    Path((user, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&world, &headers, &user, "users.threads.get").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let pairs = pairs(&query);
    let format = match format_param(&world, &pairs, &caller, &["minimal", "full", "metadata"]) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let wanted_headers = all(&pairs, "metadataHeaders");
    world.gmail.with(&world, &caller.user.id, |m| {
        let messages = m.thread(&id);
        if messages.is_empty() {
            return not_found();
        }
        let history = messages.iter().map(|s| s.history_id).max().unwrap_or_default();
        Json(json!({
            "id": id,
            "historyId": history.to_string(),
            "messages": messages.iter().map(|s| message_json(s, &format, &wanted_headers)).collect::<Vec<_>>(),
        }))
        .into_response()
    })
}

async fn list_history(
    State(world): State<Arc<World>>,
    Path(user): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match caller(&world, &headers, &user, "users.history.list").await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let pairs = pairs(&query);
    let Some(start) = first(&pairs, "startHistoryId") else {
        return bad_request("Missing required parameter: startHistoryId");
    };
    let Ok(start) = start.parse::<u64>() else {
        return bad_request(&format!("Invalid value for startHistoryId: {start}"));
    };
    let (size, offset) = match (page_size(&world, &pairs), page_start(&pairs)) {
        (Ok(size), Ok(offset)) => (size, offset),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let types = all(&pairs, "historyTypes");
    let label = first(&pairs, "labelId").map(str::to_owned);
    world.gmail.with(&world, &caller.user.id, |m| {
        let records = match m.history_since(start) {
            Ok(records) => records,
            Err(store::StaleHistory) => return not_found(),
        };
        let matching: Vec<&store::Record> = records
            .into_iter()
            .filter(|r| types.is_empty() || types.contains(&r.change.kind()))
            .filter(|r| label.as_ref().is_none_or(|l| r.labels.contains(l) || matches!(&r.change, Change::LabelsAdded(ls) | Change::LabelsRemoved(ls) if ls.contains(l))))
            .collect();
        let page: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(size)
            .map(|r| history_json(r))
            .collect();
        let out = json!({"historyId": m.history_id().to_string()});
        Json(paged(out, "history", page, offset + size < matching.len(), offset + size)).into_response()
    })
}

fn history_json(r: &store::Record) -> Value {
    let message = json!({"id": r.message_id, "threadId": r.thread_id, "labelIds": r.labels});
    let short = json!({"id": r.message_id, "threadId": r.thread_id});
    let mut out = json!({"id": r.id.to_string(), "messages": [short]});
    match &r.change {
        Change::Added => out["messagesAdded"] = json!([{"message": message}]),
        Change::Deleted => out["messagesDeleted"] = json!([{"message": message}]),
        Change::LabelsAdded(ids) => {
            out["labelsAdded"] = json!([{"message": message, "labelIds": ids}])
        }
        Change::LabelsRemoved(ids) => {
            out["labelsRemoved"] = json!([{"message": message, "labelIds": ids}])
        }
    }
    out
}

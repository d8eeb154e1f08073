//! Graph mail (`/v1.0/me/mailFolders`, per-folder `messages/delta`, messages, attachments,
//! `$batch`), as `shared/provider-reference.md` §2.4, §2.5 and §5.7 describe: opaque
//! `nextLink`/`deltaLink`s carrying the first call's options, pages of 10 unless
//! `Prefer: odata.maxpagesize` asks for more, `$top` capping the round, `@removed`
//! entries, replays and empty pages, ids that change on moves unless immutable ids are
//! asked for, and evicted or reset delta tokens.

// The handlers' helpers fail with the provider's error response itself, which the
// handler returns at once; boxing it would only add a step.
#![allow(clippy::result_large_err)]

mod batch;
pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::graph::{caller, graph_error, Caller};
use crate::mail::letter::{self, Mailbox};
use crate::world::World;
use store::{Message, OutlookBox};

/// Where Graph's links point: this sandbox's origin, standing in for
/// `https://graph.microsoft.com` (a client follows them as given).
fn graph(world: &World) -> String {
    format!("{}/v1.0", world.urls().microsoft)
}

/// Properties `$select` may name.
const MESSAGE_PROPERTIES: &[&str] = &[
    "bccRecipients",
    "body",
    "bodyPreview",
    "categories",
    "ccRecipients",
    "changeKey",
    "conversationId",
    "conversationIndex",
    "createdDateTime",
    "flag",
    "from",
    "hasAttachments",
    "id",
    "importance",
    "inferenceClassification",
    "internetMessageId",
    "isDeliveryReceiptRequested",
    "isDraft",
    "isRead",
    "isReadReceiptRequested",
    "lastModifiedDateTime",
    "parentFolderId",
    "receivedDateTime",
    "replyTo",
    "sender",
    "sentDateTime",
    "subject",
    "toRecipients",
    "webLink",
];

/// Every user's Outlook mailbox, created empty on first use.
#[derive(Debug, Default)]
pub struct Mailboxes(Mutex<HashMap<String, OutlookBox>>);

impl Mailboxes {
    pub fn lock(&self) -> MutexGuard<'_, HashMap<String, OutlookBox>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn with<T>(&self, user_id: &str, f: impl FnOnce(&mut OutlookBox) -> T) -> T {
        f(self.lock().entry(user_id.to_owned()).or_default())
    }
}

pub fn router(world: Arc<World>) -> Router {
    Router::new()
        .route("/v1.0/me/mailFolders", get(list_folders))
        .route("/v1.0/me/mailFolders/{folder}", get(get_folder))
        .route(
            "/v1.0/me/mailFolders/{folder}/childFolders",
            get(child_folders),
        )
        .route("/v1.0/me/mailFolders/{folder}/messages", get(list_messages))
        .route("/v1.0/me/mailFolders/{folder}/messages/delta", get(delta))
        .route("/v1.0/me/mailFolders/{folder}/messages/delta()", get(delta))
        .route("/v1.0/me/messages/{id}", get(get_message))
        .route("/v1.0/me/messages/{id}/$value", get(get_mime))
        .route("/v1.0/me/messages/{id}/attachments", get(list_attachments))
        .route(
            "/v1.0/me/messages/{id}/attachments/{attachment}",
            get(get_attachment),
        )
        .route("/v1.0/$batch", post(batch::batch))
        .with_state(world)
}

/// A mail caller: a Graph caller whose token carries a mail scope.
async fn mail_caller(world: &World, headers: &HeaderMap) -> Result<Caller, Response> {
    let caller = caller(world, headers).await?;
    let allowed = caller.access.scopes.iter().any(|s| {
        let s = s.trim_start_matches(super::GRAPH);
        s.eq_ignore_ascii_case("Mail.Read") || s.eq_ignore_ascii_case("Mail.ReadWrite")
    });
    if !allowed {
        return Err(graph_error(
            world,
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        ));
    }
    Ok(caller)
}

fn bad_request(world: &World, code: &str, message: &str) -> Response {
    graph_error(world, StatusCode::BAD_REQUEST, code, message)
}

fn not_found(world: &World) -> Response {
    graph_error(
        world,
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

fn pairs(query: &Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `Prefer` preferences: `odata.maxpagesize`, `IdType="ImmutableId"`,
/// `outlook.body-content-type="text"`.
struct Prefer {
    max_page: Option<usize>,
    immutable: bool,
    text_body: bool,
}

fn prefer(headers: &HeaderMap) -> Prefer {
    let mut out = Prefer {
        max_page: None,
        immutable: false,
        text_body: false,
    };
    for value in headers.get_all("prefer") {
        for item in value.to_str().unwrap_or_default().split(',') {
            let (key, val) = item.trim().split_once('=').unwrap_or((item.trim(), ""));
            let val = val.trim().trim_matches('"');
            match key.trim().to_ascii_lowercase().as_str() {
                "odata.maxpagesize" => out.max_page = val.parse().ok(),
                "idtype" => out.immutable = val.eq_ignore_ascii_case("ImmutableId"),
                "outlook.body-content-type" => out.text_body = val.eq_ignore_ascii_case("text"),
                _ => {}
            }
        }
    }
    out
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn recipient(m: &Mailbox) -> Value {
    json!({"emailAddress": {"name": m.name, "address": m.address}})
}

/// A message as Graph shows it, all properties or those `select` names (and `id`).
fn message_json(m: &Message, prefer: &Prefer, select: Option<&[String]>, expand: bool) -> Value {
    let view = &m.view;
    let (content_type, content) = match (&view.html, prefer.text_body) {
        (Some(html), false) => ("html", html.clone()),
        _ => ("text", view.text.clone()),
    };
    let preview: String = view
        .text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(255)
        .collect();
    let from = view.from.as_ref().map(recipient);
    let mut all = json!({
        "id": m.id(prefer.immutable),
        "createdDateTime": iso(m.received_ms),
        "lastModifiedDateTime": iso(m.modified_ms),
        "changeKey": m.change_key,
        "categories": m.categories,
        "receivedDateTime": iso(m.received_ms),
        "sentDateTime": iso(view.sent_ms.unwrap_or(m.received_ms)),
        "hasAttachments": view.attachments.iter().any(|a| !a.inline),
        "internetMessageId": view.internet_message_id,
        "subject": view.subject,
        "bodyPreview": preview,
        "importance": "normal",
        "parentFolderId": m.folder,
        "conversationId": m.conversation_id,
        "conversationIndex": STANDARD.encode(m.conversation_id.as_bytes().iter().take(22).copied().collect::<Vec<u8>>()),
        "isDeliveryReceiptRequested": false,
        "isReadReceiptRequested": false,
        "isRead": m.is_read,
        "isDraft": false,
        "webLink": format!("https://outlook.office365.com/owa/?ItemID={}&viewmodel=ReadMessageItem", m.immutable_id),
        "inferenceClassification": "focused",
        "body": {"contentType": content_type, "content": content},
        "sender": from,
        "from": from,
        "toRecipients": view.to.iter().map(recipient).collect::<Vec<_>>(),
        "ccRecipients": view.cc.iter().map(recipient).collect::<Vec<_>>(),
        "bccRecipients": [],
        "replyTo": [],
        "flag": {"flagStatus": if m.flagged { "flagged" } else { "notFlagged" }},
    });
    if let Some(select) = select {
        let mut kept = Map::new();
        if let Value::Object(fields) = all.take() {
            for (key, value) in fields {
                if key == "id" || select.iter().any(|s| s == &key) {
                    kept.insert(key, value);
                }
            }
        }
        all = Value::Object(kept);
    }
    if expand {
        all["attachments"] = view
            .attachments
            .iter()
            .enumerate()
            .map(|(n, a)| attachment_json(&m.raw, n, a, false))
            .collect();
    }
    all["@odata.type"] = json!("#microsoft.graph.message");
    all["@odata.etag"] = json!(format!("W/\"{}\"", m.change_key));
    all
}

/// `$expand`: only `attachments` (with or without options, which the sandbox reads as
/// metadata only) is known; anything else is refused.
fn expand_param(world: &World, pairs: &[(String, String)]) -> Result<bool, Response> {
    let Some(raw) = param(pairs, "$expand") else {
        return Ok(false);
    };
    let name = raw.split('(').next().unwrap_or_default().trim();
    if name == "attachments" {
        return Ok(true);
    }
    Err(bad_request(
        world,
        "RequestBroker--ParseUri",
        &format!("Could not find a navigation property named '{name}' on type 'microsoft.graph.message'."),
    ))
}

fn select_param(
    world: &World,
    pairs: &[(String, String)],
) -> Result<Option<Vec<String>>, Response> {
    let Some(raw) = param(pairs, "$select") else {
        return Ok(None);
    };
    let names: Vec<String> = raw
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(unknown) = names
        .iter()
        .find(|n| !MESSAGE_PROPERTIES.contains(&n.as_str()))
    {
        return Err(bad_request(
            world,
            "RequestBroker--ParseUri",
            &format!(
                "Could not find a property named '{unknown}' on type 'microsoft.graph.message'."
            ),
        ));
    }
    Ok(Some(names))
}

fn folder_json(mailbox: &OutlookBox, folder: &store::Folder) -> Value {
    let messages = mailbox.in_folder(&folder.id);
    json!({
        "id": folder.id,
        "displayName": folder.name,
        "parentFolderId": folder.parent.clone().unwrap_or_else(|| "AQMkADAwATM0MDAAMS1root".to_owned()),
        "childFolderCount": mailbox.children(Some(&folder.id)).len(),
        "unreadItemCount": messages.iter().filter(|m| !m.is_read).count(),
        "totalItemCount": messages.len(),
        "isHidden": false,
    })
}

/// A page of a plain (non-delta) collection, `$top` (default 10) and `$skip`.
fn page(world: &World, pairs: &[(String, String)], items: Vec<Value>, base: &str) -> Response {
    let top = param(pairs, "$top")
        .and_then(|t| t.parse().ok())
        .unwrap_or(10usize);
    if !(1..=1000).contains(&top) {
        return bad_request(
            world,
            "ErrorInvalidArgument",
            "$top must be between 1 and 1000.",
        );
    }
    let skip = param(pairs, "$skip")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0usize);
    let total = items.len();
    let value: Vec<Value> = items.into_iter().skip(skip).take(top).collect();
    let mut out = json!({"value": value});
    if skip + top < total {
        // The next page keeps the query ($filter, $select, $orderby), with the new $skip.
        let mut next = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in pairs.iter().filter(|(k, _)| k != "$top" && k != "$skip") {
            next.append_pair(key, value);
        }
        next.append_pair("$top", &top.to_string());
        next.append_pair("$skip", &(skip + top).to_string());
        out["@odata.nextLink"] = json!(format!("{base}?{}", next.finish()));
    }
    Json(out).into_response()
}

async fn list_folders(
    State(world): State<Arc<World>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match mail_caller(&world, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let items = world.outlook.with(&caller.user.id, |m| {
        m.children(None)
            .into_iter()
            .map(|f| folder_json(m, f))
            .collect()
    });
    page(
        &world,
        &pairs(&query),
        items,
        &format!("{}/me/mailFolders", graph(&world)),
    )
}

async fn get_folder(
    State(world): State<Arc<World>>,
    Path(folder): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = match mail_caller(&world, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    world
        .outlook
        .with(&caller.user.id, |m| {
            m.folder(&folder).map(|f| folder_json(m, f))
        })
        .map_or_else(|| not_found(&world), |f| Json(f).into_response())
}

async fn child_folders(
    State(world): State<Arc<World>>,
    Path(folder): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match mail_caller(&world, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let items: Option<Vec<Value>> = world.outlook.with(&caller.user.id, |m| {
        let parent = m.folder(&folder)?.id.clone();
        Some(
            m.children(Some(&parent))
                .into_iter()
                .map(|f| folder_json(m, f))
                .collect(),
        )
    });
    match items {
        Some(items) => page(
            &world,
            &pairs(&query),
            items,
            &format!("{}/me/mailFolders/{folder}/childFolders", graph(&world)),
        ),
        None => not_found(&world),
    }
}

async fn list_messages(
    State(world): State<Arc<World>>,
    Path(folder): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match mail_caller(&world, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let pairs = pairs(&query);
    let select = match select_param(&world, &pairs) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let prefer = prefer(&headers);
    let expand = match expand_param(&world, &pairs) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let Some(range) = param(&pairs, "$filter").map_or(Some((i64::MIN, i64::MAX)), received_range)
    else {
        return bad_request(
            &world,
            "ErrorInvalidUrlQuery",
            "Only receivedDateTime comparisons (ge, gt, le, lt), joined by 'and', are supported in $filter here.",
        );
    };
    let found: Option<Vec<Message>> = world.outlook.with(&caller.user.id, |m| {
        let id = m.folder(&folder)?.id.clone();
        let mut messages = m.in_folder(&id);
        messages.retain(|msg| (range.0..=range.1).contains(&msg.received_ms));
        messages.sort_by(|a, b| {
            (b.received_ms, &b.immutable_id).cmp(&(a.received_ms, &a.immutable_id))
        });
        Some(messages.into_iter().cloned().collect())
    });
    // Made outside the mailboxes' lock (see `delta`).
    let items: Option<Vec<Value>> = found.map(|messages| {
        messages
            .iter()
            .map(|msg| message_json(msg, &prefer, select.as_deref(), expand))
            .collect()
    });
    match items {
        Some(items) => page(
            &world,
            &pairs,
            items,
            &format!("{}/me/mailFolders/{folder}/messages", graph(&world)),
        ),
        None => not_found(&world),
    }
}

/// One entry of a delta page, taken under the mailboxes' lock: a message (its JSON made
/// after the lock is let go), or a removal as sent.
enum Entry {
    Message(Message),
    Json(Value),
}

/// Where a delta round stands; carried, encoded, in `$skiptoken` and `$deltatoken`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Round {
    folder: String,
    /// Changes after this sequence number (an initial round lists the folder instead).
    since: u64,
    /// The change log position the round covers up to.
    until: u64,
    initial: bool,
    /// Initial rounds: the last item sent, as (received ms, immutable id) or id order.
    after_key: Option<(i64, String)>,
    /// Change rounds: the last change sent.
    after_seq: u64,
    sent: usize,
    top: Option<usize>,
    select: Option<Vec<String>>,
    #[serde(default)]
    expand: bool,
    received_from_ms: Option<i64>,
    newest_first: bool,
    epoch: u64,
    reset: u64,
    issued_s: u64,
}

fn encode(round: &Round) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(round).unwrap_or_default())
}

fn decode(token: &str) -> Option<Round> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token).ok()?).ok()
}

/// `receivedDateTime <op> <time>` terms joined by `and`, as an inclusive range of unix
/// ms: the `$filter` a message listing takes here.
fn received_range(filter: &str) -> Option<(i64, i64)> {
    let (mut from, mut to) = (i64::MIN, i64::MAX);
    for term in filter.split(" and ") {
        let mut words = term.split_whitespace();
        let (field, op, value) = (words.next()?, words.next()?, words.next()?);
        if !field.eq_ignore_ascii_case("receivedDateTime") || words.next().is_some() {
            return None;
        }
        let ms = chrono::DateTime::parse_from_rfc3339(value.trim_matches('\''))
            .ok()?
            .timestamp_millis();
        match op {
            "ge" => from = from.max(ms),
            "gt" => from = from.max(ms + 1),
            "le" => to = to.min(ms),
            "lt" => to = to.min(ms - 1),
            _ => return None,
        }
    }
    Some((from, to))
}

/// `receivedDateTime ge|gt <time>`: the one `$filter` a messages delta takes.
fn received_filter(filter: &str) -> Option<i64> {
    let (from, to) = received_range(filter)?;
    (to == i64::MAX && from != i64::MIN && !filter.contains(" and ")).then_some(from)
}

fn first_round(
    world: &World,
    pairs: &[(String, String)],
    folder: &str,
    mailbox: &OutlookBox,
) -> Result<Round, Response> {
    if param(pairs, "$search").is_some() {
        return Err(bad_request(
            world,
            "ErrorInvalidUrlQuery",
            "$search is not supported on delta queries.",
        ));
    }
    let newest_first = match param(pairs, "$orderby") {
        None => false,
        Some(o) if o.trim().eq_ignore_ascii_case("receivedDateTime desc") => true,
        Some(_) => {
            return Err(bad_request(
                world,
                "ErrorInvalidUrlQuery",
                "Only receivedDateTime desc is supported for $orderby on delta.",
            ))
        }
    };
    let received_from_ms = match param(pairs, "$filter") {
        None => None,
        Some(f) => Some(received_filter(f).ok_or_else(|| {
            bad_request(
                world,
                "ErrorInvalidUrlQueryFilter",
                "Only receivedDateTime ge|gt is supported for $filter on delta.",
            )
        })?),
    };
    let top = match param(pairs, "$top") {
        None => None,
        Some(t) => Some(
            t.parse()
                .map_err(|_| bad_request(world, "ErrorInvalidArgument", "Invalid $top."))?,
        ),
    };
    Ok(Round {
        folder: folder.to_owned(),
        since: 0,
        until: mailbox.seq(),
        initial: true,
        after_key: None,
        after_seq: 0,
        sent: 0,
        top,
        select: select_param(world, pairs)?,
        expand: expand_param(world, pairs)?,
        received_from_ms,
        newest_first,
        epoch: mailbox.epoch,
        reset: mailbox.reset_epoch,
        issued_s: world.clock.unix(),
    })
}

fn round_key(m: &Message, newest_first: bool) -> (i64, String) {
    if newest_first {
        (-m.received_ms, m.immutable_id.clone())
    } else {
        (0, m.immutable_id.clone())
    }
}

async fn delta(
    State(world): State<Arc<World>>,
    Path(folder_key): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match mail_caller(&world, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let pairs = pairs(&query);
    let prefer = prefer(&headers);
    let config = world.config().microsoft;
    let page_size = prefer.max_page.map_or(config.graph_default_page_size, |p| {
        p.clamp(1, config.graph_max_page_size_messages)
    });
    let now_s = world.clock.unix();
    let world_ref = &world;
    let result = world.outlook.with(&caller.user.id, |mailbox| {
        let Some(folder) = mailbox.folder(&folder_key).map(|f| f.id.clone()) else {
            return Err(not_found(world_ref));
        };
        // Graph writes `mailFolders('{id}')`; the links are opaque to clients either way.
        let base = format!("{}/me/mailFolders/{folder}/messages/delta", graph(world_ref));
        let mut round = match (param(&pairs, "$skiptoken"), param(&pairs, "$deltatoken")) {
            (Some(token), _) => decode(token).ok_or_else(|| bad_request(world_ref, "ErrorInvalidUrlQuery", "The $skiptoken is not valid."))?,
            (None, Some(token)) => {
                let mut next = decode(token).ok_or_else(|| bad_request(world_ref, "ErrorInvalidUrlQuery", "The $deltatoken is not valid."))?;
                next.until = mailbox.seq();
                next
            }
            (None, None) => first_round(world_ref, &pairs, &folder, mailbox)?,
        };
        if round.folder != folder {
            return Err(bad_request(world_ref, "ErrorInvalidUrlQuery", "The token belongs to another folder."));
        }
        if round.reset < mailbox.reset_epoch {
            let mut gone = graph_error(world_ref, StatusCode::GONE, "resyncRequired", "Resync required. Replace any local cached data with the data from the initial delta query.");
            if let Ok(location) = HeaderValue::from_str(&base) {
                gone.headers_mut().insert(header::LOCATION, location);
            }
            return Err(gone);
        }
        if round.epoch < mailbox.epoch || now_s.saturating_sub(round.issued_s) > config.graph_delta_token_max_age_s {
            let status = StatusCode::from_u16(config.graph_expired_token_status).unwrap_or(StatusCode::GONE);
            return Err(graph_error(world_ref, status, &config.graph_expired_token_code, "The sync state is not found. The delta token is expired and data must be synchronized again."));
        }

        let mut rng = rand::thread_rng();
        let mut value = Vec::new();
        let more = if rng.gen_bool(config.graph_empty_page_rate.clamp(0.0, 1.0)) && round.sent > 0 {
            true // an empty page; the same place again next time
        } else if round.initial {
            let cap = round.top.unwrap_or(usize::MAX).min(if round.received_from_ms.is_some() { config.graph_filtered_delta_cap } else { usize::MAX });
            let mut items: Vec<&Message> = mailbox
                .in_folder(&folder)
                .into_iter()
                .filter(|m| round.received_from_ms.is_none_or(|from| m.received_ms >= from))
                .collect();
            items.sort_by_key(|m| round_key(m, round.newest_first));
            let start = round.after_key.as_ref().map_or(0, |after| items.partition_point(|m| &round_key(m, round.newest_first) <= after));
            if start > 0 && rng.gen_bool(config.graph_replay_rate.clamp(0.0, 1.0)) {
                value.push(Entry::Message(items[start - 1].clone()));
            }
            let room = cap.saturating_sub(round.sent).min(page_size);
            for m in items.iter().skip(start).take(room) {
                value.push(Entry::Message((*m).clone()));
                round.after_key = Some(round_key(m, round.newest_first));
                round.sent += 1;
            }
            start + room < items.len() && round.sent < cap
        } else {
            let changes = mailbox.changes(&folder, round.since, round.until);
            let start = changes.partition_point(|c| c.seq <= round.after_seq);
            for change in changes.iter().skip(start).take(page_size) {
                value.push(match change.here {
                    Some(m) => Entry::Message(m.clone()),
                    None => Entry::Json(json!({
                        "@odata.type": "#microsoft.graph.message",
                        "id": store::client_id(&change.immutable_id, change.moves, prefer.immutable),
                        "@removed": {"reason": if change.deleted { "deleted" } else { "changed" }},
                    })),
                });
                round.after_seq = change.seq;
                round.sent += 1;
            }
            start + page_size < changes.len()
        };
        let (select, expand) = (round.select.clone(), round.expand);
        let mut out = json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(message)",
        });
        if more {
            out["@odata.nextLink"] = json!(format!("{base}?$skiptoken={}", encode(&round)));
        } else {
            let next = Round {
                since: round.until,
                initial: false,
                after_key: None,
                after_seq: 0,
                sent: 0,
                top: None,
                issued_s: now_s,
                ..round
            };
            out["@odata.deltaLink"] = json!(format!("{base}?$deltatoken={}", encode(&next)));
        }
        Ok((out, value, select, expand))
    });
    match result {
        Ok((mut out, value, select, expand)) => {
            // Each message's JSON is made outside the mailboxes' lock, so that requests
            // for several folders are served side by side, as Graph serves them.
            out["value"] = Value::Array(
                value
                    .into_iter()
                    .map(|entry| match entry {
                        Entry::Message(m) => message_json(&m, &prefer, select.as_deref(), expand),
                        Entry::Json(json) => json,
                    })
                    .collect(),
            );
            let mut response = Json(out).into_response();
            if prefer.max_page.is_some() {
                if let Ok(applied) =
                    HeaderValue::from_str(&format!("odata.maxpagesize={page_size}"))
                {
                    response.headers_mut().insert("preference-applied", applied);
                }
            }
            response
        }
        Err(response) => response,
    }
}

async fn get_message(
    State(world): State<Arc<World>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let caller = match mail_caller(&world, &headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let pairs = pairs(&query);
    let select = match select_param(&world, &pairs) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let expand = match expand_param(&world, &pairs) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let prefer = prefer(&headers);
    world
        .outlook
        .with(&caller.user.id, |m| {
            m.get(&id)
                .map(|msg| message_json(msg, &prefer, select.as_deref(), expand))
        })
        .map_or_else(|| not_found(&world), |v| Json(v).into_response())
}

/// The caller's message `id` as bytes, or the response to send instead.
async fn message_bytes(
    world: &World,
    headers: &HeaderMap,
    id: &str,
) -> Result<Arc<[u8]>, Response> {
    let caller = mail_caller(world, headers).await?;
    world
        .outlook
        .with(&caller.user.id, |m| {
            m.get(id).map(|msg| Arc::clone(&msg.raw))
        })
        .ok_or_else(|| not_found(world))
}

async fn get_mime(
    State(world): State<Arc<World>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match message_bytes(&world, &headers, &id).await {
        Ok(raw) => ([(header::CONTENT_TYPE, "text/plain")], raw.to_vec()).into_response(),
        Err(response) => response,
    }
}

fn attachment_json(
    raw: &[u8],
    index: usize,
    attachment: &letter::Attachment,
    with_bytes: bool,
) -> Value {
    let mut out = json!({
        "@odata.type": "#microsoft.graph.fileAttachment",
        "id": format!("AAMkAGAtt{index}"),
        "name": attachment.name,
        "contentType": attachment.content_type,
        "size": attachment.size,
        "isInline": attachment.inline,
        "contentId": attachment.content_id,
    });
    if with_bytes {
        out["contentBytes"] =
            json!(letter::attachment_bytes(raw, index).map(|b| STANDARD.encode(b)));
    }
    out
}

async fn list_attachments(
    State(world): State<Arc<World>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let raw = match message_bytes(&world, &headers, &id).await {
        Ok(raw) => raw,
        Err(response) => return response,
    };
    let view = letter::outlook(&raw);
    let value: Vec<Value> = view
        .attachments
        .iter()
        .enumerate()
        .map(|(n, a)| attachment_json(&raw, n, a, true))
        .collect();
    Json(json!({"value": value})).into_response()
}

async fn get_attachment(
    State(world): State<Arc<World>>,
    Path((id, attachment)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let raw = match message_bytes(&world, &headers, &id).await {
        Ok(raw) => raw,
        Err(response) => return response,
    };
    let view = letter::outlook(&raw);
    let index = attachment
        .strip_prefix("AAMkAGAtt")
        .and_then(|n| n.parse::<usize>().ok());
    match index.and_then(|n| view.attachments.get(n).map(|a| (n, a))) {
        Some((n, a)) => Json(attachment_json(&raw, n, a, true)).into_response(),
        None => not_found(&world),
    }
}

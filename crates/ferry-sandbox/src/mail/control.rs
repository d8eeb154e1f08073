//! Test controls for mail, on the control port: fill a mailbox with generated mail, and
//! act on it as another mail client would (deliver, delete, relabel, read), or expire
//! its history. Each is also a plain function for in-process tests.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::generate::{self, Letter, Spec};
use super::letter;
use crate::secrets::hex;
use crate::world::{Provider, User, World};

/// How long before the sandbox's "now" generated mail starts, by default (13 months, so
/// that a 12-month backfill leaves some out).
const DEFAULT_SPAN_DAYS: u32 = 400;

pub fn router() -> Router<Arc<World>> {
    Router::new()
        .route("/mail/{user}/seed", post(seed))
        .route("/mail/{user}/messages", post(deliver))
        .route("/mail/{user}/messages/{id}", delete(remove))
        .route("/mail/{user}/messages/{id}/labels", post(relabel))
        .route("/mail/{user}/history/expire", post(expire))
        .route("/mail/{user}/messages/{id}/move", post(move_message))
        .route("/mail/{user}/messages/{id}/flags", post(flags))
        .route("/mail/{user}/delta/expire", post(expire_delta))
        .route("/mail/{user}/delta/reset", post(reset_delta))
        .route("/mail/{user}/summary", get(summary))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRequest {
    #[serde(default)]
    pub seed: u64,
    pub count: usize,
    #[serde(default)]
    pub span_days: Option<u32>,
    /// Other users (by e-mail) who receive the same messages: another account of the
    /// same person, so that one `Message-ID` arrives in two mailboxes.
    #[serde(default)]
    pub also_to: Vec<String>,
}

fn user(world: &World, key: &str) -> Option<User> {
    let state = world.state();
    state
        .users
        .get(key)
        .or_else(|| {
            state
                .users
                .values()
                .find(|u| u.email.eq_ignore_ascii_case(key))
        })
        .cloned()
}

fn missing(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": format!("no such {what}")})),
    )
        .into_response()
}

/// Gmail labels for a generated letter (user labels created by name).
fn gmail_labels(
    mailbox: &mut crate::google::gmail::store::GmailBox,
    letter: &Letter,
) -> BTreeSet<String> {
    let mut labels = BTreeSet::new();
    if letter.sent {
        labels.insert("SENT".to_owned());
    } else {
        labels.insert("INBOX".to_owned());
        labels.insert("CATEGORY_PERSONAL".to_owned());
    }
    if letter.unread {
        labels.insert("UNREAD".to_owned());
    }
    if letter.starred {
        labels.insert("STARRED".to_owned());
    }
    if let Some(id) = letter
        .folder
        .as_deref()
        .and_then(|f| mailbox.label_named(f))
    {
        labels.insert(id);
    }
    labels
}

/// Fills `owner`'s mailbox (and those of `also_to`) with generated mail, as it was before
/// any client looked: nothing of it is in the history. Returns how many were delivered.
pub fn seed_mailbox(world: &World, owner: &User, request: &SeedRequest) -> usize {
    let letters = generate::mailbox(&Spec {
        seed: request.seed,
        count: request.count,
        owner: owner.email.clone(),
        also_to: request.also_to.clone(),
        newest_ms: crate::world::unix(world.clock.now()) as i64 * 1000,
        span_days: request.span_days.unwrap_or(DEFAULT_SPAN_DAYS),
    });
    let mut recipients = vec![owner.clone()];
    recipients.extend(
        request
            .also_to
            .iter()
            .filter_map(|email| user(world, email)),
    );
    for recipient in &recipients {
        if recipient.provider == Provider::Microsoft {
            world.outlook.with(&recipient.id, |mailbox| {
                for letter in letters.iter().rev() {
                    let folder = match (&letter.folder, letter.sent) {
                        (_, true) => mailbox
                            .folder("sentitems")
                            .map(|f| f.id.clone())
                            .unwrap_or_default(),
                        (Some(path), false) => mailbox.folder_at(path),
                        (None, false) => mailbox
                            .folder("inbox")
                            .map(|f| f.id.clone())
                            .unwrap_or_default(),
                    };
                    mailbox.insert(
                        letter.raw.clone().into(),
                        &folder,
                        letter.received_ms,
                        !letter.unread,
                        letter.starred,
                    );
                }
            });
            continue;
        }
        world.gmail.with(world, &recipient.id, |mailbox| {
            // Oldest first, so that replies find their threads.
            for letter in letters.iter().rev() {
                let labels = gmail_labels(mailbox, letter);
                mailbox.insert(
                    letter.raw.clone().into(),
                    labels,
                    letter.received_ms,
                    world.clock.now(),
                    false,
                );
            }
        });
    }
    letters.len()
}

async fn seed(
    State(world): State<Arc<World>>,
    Path(key): Path<String>,
    Json(request): Json<SeedRequest>,
) -> Response {
    let Some(owner) = user(&world, &key) else {
        return missing("user");
    };
    let count = seed_mailbox(&world, &owner, &request);
    let history = world.gmail.with(&world, &owner.id, |m| m.history_id());
    Json(json!({"delivered": count, "historyId": history.to_string()})).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Delivery {
    /// The message as text, or as base64 when it is not text.
    #[serde(default)]
    raw: Option<String>,
    #[serde(default)]
    raw_base64: Option<String>,
    /// Gmail: label ids (or user label names); INBOX and UNREAD when none are given.
    /// Outlook: the first is the folder (id, well-known name or path; Inbox if none).
    #[serde(default)]
    labels: Option<Vec<String>>,
    /// Milliseconds since the epoch; the sandbox's now when absent.
    #[serde(default)]
    received_ms: Option<i64>,
}

async fn deliver(
    State(world): State<Arc<World>>,
    Path(key): Path<String>,
    Json(delivery): Json<Delivery>,
) -> Response {
    let Some(owner) = user(&world, &key) else {
        return missing("user");
    };
    let raw = match (delivery.raw, delivery.raw_base64) {
        (Some(text), None) => text.into_bytes(),
        (None, Some(b64)) => match STANDARD.decode(b64) {
            Ok(bytes) => bytes,
            Err(err) => {
                return (StatusCode::BAD_REQUEST, format!("raw_base64: {err}")).into_response()
            }
        },
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                "give exactly one of raw and raw_base64",
            )
                .into_response()
        }
    };
    let now = world.clock.now();
    let received = delivery
        .received_ms
        .unwrap_or(crate::world::unix(now) as i64 * 1000);
    if owner.provider == Provider::Microsoft {
        let folder = delivery
            .labels
            .as_ref()
            .and_then(|l| l.first().cloned())
            .unwrap_or_else(|| "inbox".into());
        let id = world.outlook.with(&owner.id, |mailbox| {
            let folder = mailbox
                .folder(&folder)
                .map(|f| f.id.clone())
                .unwrap_or_else(|| mailbox.folder_at(&folder));
            mailbox.insert(raw.into(), &folder, received, false, false)
        });
        return Json(json!({"id": id})).into_response();
    }
    let id = world.gmail.with(&world, &owner.id, |mailbox| {
        let labels = delivery
            .labels
            .unwrap_or_else(|| vec!["INBOX".into(), "UNREAD".into()])
            .iter()
            .filter_map(|l| {
                mailbox
                    .label(l)
                    .map(|l| l.id.clone())
                    .or_else(|| mailbox.label_named(l))
            })
            .collect();
        mailbox.insert(raw.into(), labels, received, now, true)
    });
    Json(json!({"id": id})).into_response()
}

async fn remove(
    State(world): State<Arc<World>>,
    Path((key, id)): Path<(String, String)>,
) -> Response {
    let Some(owner) = user(&world, &key) else {
        return missing("user");
    };
    let now = world.clock.now();
    let deleted = if owner.provider == Provider::Microsoft {
        world.outlook.with(&owner.id, |m| m.delete(&id))
    } else {
        world.gmail.with(&world, &owner.id, |m| m.delete(&id, now))
    };
    if deleted {
        StatusCode::NO_CONTENT.into_response()
    } else {
        missing("message")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Relabel {
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
}

async fn relabel(
    State(world): State<Arc<World>>,
    Path((key, id)): Path<(String, String)>,
    Json(change): Json<Relabel>,
) -> Response {
    let Some(owner) = user(&world, &key) else {
        return missing("user");
    };
    let now = world.clock.now();
    let done = world.gmail.with(&world, &owner.id, |m| {
        let mut resolve = |names: &[String]| -> Vec<String> {
            names
                .iter()
                .filter_map(|l| {
                    m.label(l)
                        .map(|l| l.id.clone())
                        .or_else(|| m.label_named(l))
                })
                .collect()
        };
        let add = resolve(&change.add);
        let remove = resolve(&change.remove);
        m.modify(&id, &add, &remove, now)
    });
    if done {
        StatusCode::NO_CONTENT.into_response()
    } else {
        missing("message")
    }
}

async fn expire(State(world): State<Arc<World>>, Path(key): Path<String>) -> Response {
    let Some(owner) = user(&world, &key) else {
        return missing("user");
    };
    world
        .gmail
        .with(&world, &owner.id, |m| m.expire_all_history());
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Move {
    /// A folder id, well-known name or path (created if new).
    folder: String,
}

/// Outlook: moves a message to another folder (its default id changes).
async fn move_message(
    State(world): State<Arc<World>>,
    Path((key, id)): Path<(String, String)>,
    Json(request): Json<Move>,
) -> Response {
    let Some(owner) = user(&world, &key) else {
        return missing("user");
    };
    let now_ms = crate::world::unix(world.clock.now()) as i64 * 1000;
    let moved = world.outlook.with(&owner.id, |m| {
        let folder = m
            .folder(&request.folder)
            .map(|f| f.id.clone())
            .unwrap_or_else(|| m.folder_at(&request.folder));
        m.move_to(&id, &folder, now_ms)
    });
    if moved {
        StatusCode::NO_CONTENT.into_response()
    } else {
        missing("message")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Flags {
    #[serde(default)]
    read: Option<bool>,
    #[serde(default)]
    flagged: Option<bool>,
}

/// Outlook: marks a message read or unread, flagged or not.
async fn flags(
    State(world): State<Arc<World>>,
    Path((key, id)): Path<(String, String)>,
    Json(request): Json<Flags>,
) -> Response {
    let Some(owner) = user(&world, &key) else {
        return missing("user");
    };
    let now_ms = crate::world::unix(world.clock.now()) as i64 * 1000;
    let changed = world.outlook.with(&owner.id, |m| {
        m.update(&id, now_ms, |message| {
            if let Some(read) = request.read {
                message.is_read = read;
            }
            if let Some(flagged) = request.flagged {
                message.flagged = flagged;
            }
        })
    });
    if changed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        missing("message")
    }
}

/// Outlook: every delta token issued so far is evicted (`syncStateNotFound`).
async fn expire_delta(State(world): State<Arc<World>>, Path(key): Path<String>) -> Response {
    let Some(owner) = user(&world, &key) else {
        return missing("user");
    };
    world.outlook.with(&owner.id, |m| m.epoch += 1);
    StatusCode::NO_CONTENT.into_response()
}

/// Outlook: every delta token issued so far gets 410 Gone with the initial query's URL.
async fn reset_delta(State(world): State<Arc<World>>, Path(key): Path<String>) -> Response {
    let Some(owner) = user(&world, &key) else {
        return missing("user");
    };
    world.outlook.with(&owner.id, |m| m.reset_epoch += 1);
    StatusCode::NO_CONTENT.into_response()
}

/// The mailbox in brief, for comparing with what a client synced: the message count and
/// a SHA-256 over every message's id, labels (Gmail) or folder and flags (Outlook) and
/// bytes, in id order. For Gmail, also each message's id, labels and content hashes
/// (of its raw bytes, and of its `full` resource: [`letter::payload_digest_input`]).
async fn summary(State(world): State<Arc<World>>, Path(key): Path<String>) -> Response {
    let Some(owner) = user(&world, &key) else {
        return missing("user");
    };
    if owner.provider == Provider::Microsoft {
        let (count, hash) = world.outlook.with(&owner.id, |m| {
            let mut messages: Vec<_> = m.folders.keys().flat_map(|f| m.in_folder(f)).collect();
            messages.sort_by(|a, b| a.immutable_id.cmp(&b.immutable_id));
            let mut hasher = Sha256::new();
            for message in &messages {
                hasher.update(message.immutable_id.as_bytes());
                hasher.update(message.folder.as_bytes());
                hasher.update([u8::from(message.is_read), u8::from(message.flagged)]);
                hasher.update(Sha256::digest(&message.raw));
            }
            (messages.len(), hasher.finalize())
        });
        return Json(json!({"messages": count, "sha256": hex(&hash)})).into_response();
    }
    let (count, hash, history, contents) = world.gmail.with(&world, &owner.id, |m| {
        let mut messages: Vec<_> = m.newest_first().collect();
        messages.sort_by(|a, b| a.id.cmp(&b.id));
        let mut hasher = Sha256::new();
        let mut contents = Vec::with_capacity(messages.len());
        for message in &messages {
            hasher.update(message.id.as_bytes());
            for label in &message.labels {
                hasher.update(label.as_bytes());
            }
            let raw = Sha256::digest(&message.raw);
            hasher.update(raw);
            // Each message's content both ways a client may keep it: raw, or as the
            // `full` resource threads.get sends.
            let payload = letter::gmail_payload(&message.raw, true);
            let full = Sha256::digest(letter::payload_digest_input(&payload).as_bytes());
            contents.push(json!({
                "id": message.id, "labels": message.labels,
                "raw": hex(&raw), "full": hex(&full),
            }));
        }
        (messages.len(), hasher.finalize(), m.history_id(), contents)
    });
    Json(json!({
        "messages": count, "sha256": hex(&hash), "historyId": history.to_string(),
        "contents": contents,
    }))
    .into_response()
}

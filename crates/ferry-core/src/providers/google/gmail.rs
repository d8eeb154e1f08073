//! A typed Gmail client for what sync needs: the profile (its `historyId`), labels, message
//! lists, messages as raw bytes or whole conversations (one at a time or through the batch
//! endpoint), attachments, and the history since a `historyId`. Replies are parsed into
//! typed values; anything else becomes a typed [`GmailError`], never a panic.

use std::time::Duration;

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;

use crate::account::AccessToken;

/// Quota units per call under Google's current (2026) table.
pub mod units {
    pub const PROFILE: u64 = 1;
    pub const LABELS: u64 = 1;
    pub const HISTORY: u64 = 2;
    pub const LIST: u64 = 5;
    pub const GET: u64 = 20;
    /// `threads.get`: a conversation with all its messages.
    pub const THREAD: u64 = 40;
    pub const ATTACHMENT: u64 = 20;
}

/// At most this many calls in one batch request.
pub const MAX_BATCH: usize = 100;

/// One call of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fetch {
    /// A message, as raw bytes.
    Message(String),
    /// A conversation: its messages as Gmail's `full` resources (`threads.get` has no
    /// raw format).
    Thread(String),
}

impl Fetch {
    /// What the call costs.
    pub fn units(&self) -> u64 {
        match self {
            Fetch::Message(_) => units::GET,
            Fetch::Thread(_) => units::THREAD,
        }
    }

    fn path(&self) -> String {
        match self {
            Fetch::Message(id) => format!("messages/{id}?format=raw"),
            Fetch::Thread(id) => format!("threads/{id}?format=full"),
        }
    }
}

/// Each call of a batch and its own answer: the message, or the conversation's messages.
pub type BatchAnswers = Vec<(Fetch, Result<Vec<RawMessage>, GmailError>)>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GmailError {
    #[error("Gmail did not accept the access token")]
    Unauthorized,
    /// `history.list` with a `startHistoryId` Gmail no longer has: a full sync is needed.
    #[error("Gmail no longer has the history Ferry asked for")]
    StaleHistory,
    #[error("Gmail has no such message")]
    NotFound,
    /// Over quota, or too many calls at once (`concurrent`); wait and try again.
    #[error("Gmail asked Ferry to slow down")]
    Throttled {
        retry_after: Option<Duration>,
        concurrent: bool,
    },
    #[error("Gmail refused: {0}")]
    Refused(String),
    #[error("Gmail failed ({0})")]
    Server(u16),
    #[error("Gmail could not be reached: {0}")]
    Network(String),
    #[error("Gmail sent a reply Ferry could not read: {0}")]
    BadReply(String),
}

impl GmailError {
    /// Worth trying again later without anything changing on Ferry's side.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            GmailError::Throttled { .. } | GmailError::Server(_) | GmailError::Network(_)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub email: String,
    pub messages_total: u64,
    pub history_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub id: String,
    pub name: String,
    pub system: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    pub id: String,
    pub thread_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    pub messages: Vec<MessageRef>,
    pub next_page_token: Option<String>,
    pub estimate: u64,
}

/// A message with its bytes: raw (`format=raw`), or Gmail's `full` resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub id: String,
    pub thread_id: String,
    pub label_ids: Vec<String>,
    pub history_id: String,
    /// Unix ms.
    pub internal_date: i64,
    pub raw: Vec<u8>,
    pub content: Content,
}

/// What a [`RawMessage`]'s bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// The RFC 5322 message.
    Rfc822,
    /// Gmail's `format=full` resource, as JSON.
    Full,
}

/// One change from the history, in Gmail's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryEvent {
    Added { id: String, labels: Vec<String> },
    Deleted { id: String },
    LabelsAdded { id: String, labels: Vec<String> },
    LabelsRemoved { id: String, labels: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    pub events: Vec<HistoryEvent>,
    pub next_page_token: Option<String>,
    /// The mailbox's current `historyId`: the checkpoint once the last page is in.
    pub history_id: String,
}

// --- Wire shapes (Gmail's discovery document) -------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireProfile {
    email_address: String,
    #[serde(default)]
    messages_total: u64,
    history_id: String,
}

#[derive(Deserialize)]
struct WireLabels {
    #[serde(default)]
    labels: Vec<WireLabel>,
}

#[derive(Deserialize)]
struct WireLabel {
    id: String,
    name: String,
    #[serde(default, rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireList {
    #[serde(default)]
    messages: Vec<WireRef>,
    next_page_token: Option<String>,
    #[serde(default)]
    result_size_estimate: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRef {
    id: String,
    #[serde(default)]
    thread_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMessage {
    id: String,
    #[serde(default)]
    thread_id: String,
    #[serde(default)]
    label_ids: Vec<String>,
    #[serde(default)]
    history_id: String,
    #[serde(default)]
    internal_date: String,
    raw: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireHistory {
    #[serde(default)]
    history: Vec<WireRecord>,
    next_page_token: Option<String>,
    history_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRecord {
    #[serde(default)]
    messages_added: Vec<WireWrapped>,
    #[serde(default)]
    messages_deleted: Vec<WireWrapped>,
    #[serde(default)]
    labels_added: Vec<WireLabelChange>,
    #[serde(default)]
    labels_removed: Vec<WireLabelChange>,
}

#[derive(Deserialize)]
struct WireWrapped {
    message: WireMessage,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireLabelChange {
    message: WireMessage,
    #[serde(default)]
    label_ids: Vec<String>,
}

#[derive(Deserialize)]
struct WireError {
    error: WireErrorBody,
}

#[derive(Deserialize)]
struct WireErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<WireErrorItem>,
}

#[derive(Deserialize)]
struct WireErrorItem {
    #[serde(default)]
    reason: String,
}

/// Bytes Gmail sends as base64url, padded or not.
pub(crate) fn base64url(data: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD
        .decode(data.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(data))
}

fn decode_raw(data: &str) -> Result<Vec<u8>, GmailError> {
    base64url(data).map_err(|e| GmailError::BadReply(format!("raw is not base64url: {e}")))
}

impl WireMessage {
    /// The message with `raw`, its bytes in the form `content` says.
    fn with(self, raw: Vec<u8>, content: Content) -> RawMessage {
        RawMessage {
            internal_date: self.internal_date.parse().unwrap_or_default(),
            id: self.id,
            thread_id: self.thread_id,
            label_ids: self.label_ids,
            history_id: self.history_id,
            raw,
            content,
        }
    }
}

impl TryFrom<WireMessage> for RawMessage {
    type Error = GmailError;

    fn try_from(m: WireMessage) -> Result<Self, GmailError> {
        let raw = decode_raw(m.raw.as_deref().unwrap_or_default())?;
        Ok(m.with(raw, Content::Rfc822))
    }
}

/// A conversation's messages, each kept as the JSON Gmail sent for it.
fn thread_messages(body: &[u8]) -> Result<Vec<RawMessage>, GmailError> {
    #[derive(Deserialize)]
    struct WireThread {
        #[serde(default)]
        messages: Vec<serde_json::Value>,
    }
    let thread: WireThread =
        serde_json::from_slice(body).map_err(|e| GmailError::BadReply(e.to_string()))?;
    thread
        .messages
        .into_iter()
        .map(|resource| {
            let m = WireMessage::deserialize(&resource)
                .map_err(|e| GmailError::BadReply(e.to_string()))?;
            let raw =
                serde_json::to_vec(&resource).map_err(|e| GmailError::BadReply(e.to_string()))?;
            Ok(m.with(raw, Content::Full))
        })
        .collect()
}

/// A call's successful answer.
fn answer_of(call: &Fetch, body: &[u8]) -> Result<Vec<RawMessage>, GmailError> {
    match call {
        Fetch::Message(_) => serde_json::from_slice::<WireMessage>(body)
            .map_err(|e| GmailError::BadReply(e.to_string()))
            .and_then(RawMessage::try_from)
            .map(|m| vec![m]),
        Fetch::Thread(_) => thread_messages(body),
    }
}

/// The error a non-success status and body mean.
fn error_for(status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> GmailError {
    let parsed: Option<WireErrorBody> = serde_json::from_slice::<WireError>(body)
        .ok()
        .map(|e| e.error);
    let reason = parsed
        .as_ref()
        .and_then(|e| e.errors.first())
        .map(|e| e.reason.clone())
        .unwrap_or_default();
    let message = parsed.map(|e| e.message).unwrap_or_default();
    match status.as_u16() {
        401 => GmailError::Unauthorized,
        404 => GmailError::NotFound,
        429 | 403
            if matches!(
                reason.as_str(),
                "rateLimitExceeded" | "userRateLimitExceeded" | "dailyLimitExceeded" | ""
            ) && (status.as_u16() == 429 || !reason.is_empty()) =>
        {
            GmailError::Throttled {
                retry_after,
                concurrent: message.contains("concurrent"),
            }
        }
        400..=499 => GmailError::Refused(if message.is_empty() {
            format!("HTTP {status}")
        } else {
            message
        }),
        other => GmailError::Server(other),
    }
}

/// Gmail's API for one account's calls (the token is passed to each).
#[derive(Debug, Clone)]
pub struct GmailClient {
    http: reqwest::Client,
    base: Url,
}

impl GmailClient {
    /// `base` is Gmail's origin (`gmail_url` in the provider settings).
    pub fn new(http: reqwest::Client, base: Url) -> Self {
        Self { http, base }
    }

    fn url(&self, path: &str) -> Result<Url, GmailError> {
        self.base
            .join(&format!("gmail/v1/users/me/{path}"))
            .map_err(|e| GmailError::BadReply(e.to_string()))
    }

    async fn get(&self, token: &AccessToken, url: Url) -> Result<Vec<u8>, GmailError> {
        let response = self
            .http
            .get(url)
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(|e| GmailError::Network(e.without_url().to_string()))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|e| GmailError::Network(e.without_url().to_string()))?;
        if status.is_success() {
            Ok(body.to_vec())
        } else {
            Err(error_for(status, &body, retry_after))
        }
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        token: &AccessToken,
        url: Url,
    ) -> Result<T, GmailError> {
        let body = self.get(token, url).await?;
        serde_json::from_slice(&body).map_err(|e| GmailError::BadReply(e.to_string()))
    }

    pub async fn profile(&self, token: &AccessToken) -> Result<Profile, GmailError> {
        let p: WireProfile = self.get_json(token, self.url("profile")?).await?;
        Ok(Profile {
            email: p.email_address,
            messages_total: p.messages_total,
            history_id: p.history_id,
        })
    }

    pub async fn labels(&self, token: &AccessToken) -> Result<Vec<Label>, GmailError> {
        let l: WireLabels = self.get_json(token, self.url("labels")?).await?;
        Ok(l.labels
            .into_iter()
            .map(|l| Label {
                system: l.kind == "system",
                id: l.id,
                name: l.name,
            })
            .collect())
    }

    /// A page of message ids, newest first; `query` is a Gmail search (`after:...`).
    pub async fn list(
        &self,
        token: &AccessToken,
        page_token: Option<&str>,
        max: u32,
        query: Option<&str>,
    ) -> Result<ListPage, GmailError> {
        let mut url = self.url("messages")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("maxResults", &max.to_string());
            if let Some(token) = page_token {
                q.append_pair("pageToken", token);
            }
            if let Some(query) = query {
                q.append_pair("q", query);
            }
        }
        let l: WireList = self.get_json(token, url).await?;
        Ok(ListPage {
            messages: l
                .messages
                .into_iter()
                .map(|m| MessageRef {
                    id: m.id,
                    thread_id: m.thread_id,
                })
                .collect(),
            next_page_token: l.next_page_token.filter(|t| !t.is_empty()),
            estimate: l.result_size_estimate,
        })
    }

    pub async fn raw(&self, token: &AccessToken, id: &str) -> Result<RawMessage, GmailError> {
        let mut url = self.url(&format!("messages/{id}"))?;
        url.query_pairs_mut().append_pair("format", "raw");
        let m: WireMessage = self.get_json(token, url).await?;
        m.try_into()
    }

    /// An attachment's bytes (`attachments.get`).
    pub async fn attachment(
        &self,
        token: &AccessToken,
        message: &str,
        attachment: &str,
    ) -> Result<Vec<u8>, GmailError> {
        #[derive(Deserialize)]
        struct WireBody {
            #[serde(default)]
            data: String,
        }
        let url = self.url(&format!("messages/{message}/attachments/{attachment}"))?;
        let body: WireBody = self.get_json(token, url).await?;
        decode_raw(&body.data)
    }

    /// Several messages and conversations in one batch request; each answer stands alone
    /// (a call inside can be throttled while the others succeed). The outer request's own
    /// failure is `Err`.
    pub async fn batch(
        &self,
        token: &AccessToken,
        calls: &[Fetch],
    ) -> Result<BatchAnswers, GmailError> {
        let boundary = format!("ferry_{}", uuid::Uuid::new_v4().simple());
        let mut body = String::new();
        for (n, call) in calls.iter().take(MAX_BATCH).enumerate() {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <m{n}>\r\n\r\nGET /gmail/v1/users/me/{}\r\n\r\n",
                call.path()
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let url = self
            .base
            .join("batch/gmail/v1")
            .map_err(|e| GmailError::BadReply(e.to_string()))?;
        let response = self
            .http
            .post(url)
            .bearer_auth(token.expose_secret())
            .header(
                "content-type",
                format!("multipart/mixed; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| GmailError::Network(e.without_url().to_string()))?;
        let status = response.status();
        let retry = retry_after(response.headers());
        let reply_boundary = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split("boundary=").nth(1))
            .map(|b| b.trim_matches('"').to_owned());
        let text = response
            .text()
            .await
            .map_err(|e| GmailError::Network(e.without_url().to_string()))?;
        if !status.is_success() {
            return Err(error_for(status, text.as_bytes(), retry));
        }
        let reply_boundary = reply_boundary
            .ok_or_else(|| GmailError::BadReply("batch reply without a boundary".into()))?;
        parse_batch(&text, &reply_boundary, calls)
    }

    /// The changes after `start`, a page at a time.
    pub async fn history(
        &self,
        token: &AccessToken,
        start: &str,
        page_token: Option<&str>,
    ) -> Result<HistoryPage, GmailError> {
        let mut url = self.url("history")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("startHistoryId", start);
            q.append_pair("maxResults", "500");
            if let Some(token) = page_token {
                q.append_pair("pageToken", token);
            }
        }
        let h: WireHistory = match self.get_json(token, url).await {
            Err(GmailError::NotFound) => return Err(GmailError::StaleHistory),
            other => other?,
        };
        let mut events = Vec::new();
        for record in h.history {
            for added in record.messages_added {
                events.push(HistoryEvent::Added {
                    id: added.message.id,
                    labels: added.message.label_ids,
                });
            }
            for change in record.labels_added {
                events.push(HistoryEvent::LabelsAdded {
                    id: change.message.id,
                    labels: change.label_ids,
                });
            }
            for change in record.labels_removed {
                events.push(HistoryEvent::LabelsRemoved {
                    id: change.message.id,
                    labels: change.label_ids,
                });
            }
            for deleted in record.messages_deleted {
                events.push(HistoryEvent::Deleted {
                    id: deleted.message.id,
                });
            }
        }
        Ok(HistoryPage {
            events,
            next_page_token: h.next_page_token.filter(|t| !t.is_empty()),
            history_id: h.history_id,
        })
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// Splits a batch reply into each call's answer, matched to `calls` by `Content-ID`.
fn parse_batch(text: &str, boundary: &str, calls: &[Fetch]) -> Result<BatchAnswers, GmailError> {
    let mut out = Vec::new();
    for part in text.split(&format!("--{boundary}")).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let index = part
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case("content-id").then(|| {
                    v.trim()
                        .trim_matches(|c| c == '<' || c == '>')
                        .trim_start_matches("response-")
                        .trim_start_matches('m')
                        .parse::<usize>()
                        .ok()
                })?
            })
            .ok_or_else(|| GmailError::BadReply("a batch answer without its Content-ID".into()))?;
        let call = calls
            .get(index)
            .cloned()
            .ok_or_else(|| GmailError::BadReply("a batch answer for a call never made".into()))?;
        let status = part
            .lines()
            .find(|l| l.starts_with("HTTP/"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u16>().ok())
            .and_then(|s| StatusCode::from_u16(s).ok())
            .ok_or_else(|| GmailError::BadReply("a batch answer without a status".into()))?;
        let body = part.find('{').map(|i| part[i..].trim_end()).unwrap_or("");
        let answer = if status.is_success() {
            answer_of(&call, body.as_bytes())
        } else {
            Err(error_for(status, body.as_bytes(), None))
        };
        out.push((call, answer));
    }
    if out.len() != calls.len().min(MAX_BATCH) {
        return Err(GmailError::BadReply(format!(
            "the batch answered {} of {} calls",
            out.len(),
            calls.len()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_gmail_means_them() {
        let quota = br#"{"error":{"code":429,"message":"Quota exceeded","errors":[{"domain":"usageLimits","reason":"userRateLimitExceeded"}]}}"#;
        assert_eq!(
            error_for(
                StatusCode::TOO_MANY_REQUESTS,
                quota,
                Some(Duration::from_secs(3))
            ),
            GmailError::Throttled {
                retry_after: Some(Duration::from_secs(3)),
                concurrent: false
            }
        );
        let busy = br#"{"error":{"code":429,"message":"Too many concurrent requests for user","errors":[{"reason":"rateLimitExceeded"}]}}"#;
        assert!(matches!(
            error_for(StatusCode::TOO_MANY_REQUESTS, busy, None),
            GmailError::Throttled {
                concurrent: true,
                ..
            }
        ));
        let legacy =
            br#"{"error":{"code":403,"message":"x","errors":[{"reason":"rateLimitExceeded"}]}}"#;
        assert!(matches!(
            error_for(StatusCode::FORBIDDEN, legacy, None),
            GmailError::Throttled { .. }
        ));
        let denied = br#"{"error":{"code":403,"message":"Insufficient Permission","errors":[{"reason":"insufficientPermissions"}]}}"#;
        assert_eq!(
            error_for(StatusCode::FORBIDDEN, denied, None),
            GmailError::Refused("Insufficient Permission".into())
        );
        assert_eq!(
            error_for(StatusCode::BAD_GATEWAY, b"<html>", None),
            GmailError::Server(502)
        );
        assert_eq!(
            error_for(StatusCode::UNAUTHORIZED, b"", None),
            GmailError::Unauthorized
        );
    }

    #[test]
    fn a_batch_reply_is_matched_to_its_calls_and_a_short_one_is_refused() {
        let calls = vec![
            Fetch::Message("a".to_owned()),
            Fetch::Message("b".to_owned()),
            Fetch::Thread("t".to_owned()),
        ];
        let raw = URL_SAFE.encode(b"Subject: x\r\n\r\nhi\r\n");
        let thread = r#"{"id":"t","historyId":"9","messages":[{"id":"c","threadId":"t","labelIds":["INBOX"],"historyId":"8","internalDate":"1800000000000","payload":{"mimeType":"text/plain","headers":[]}},{"id":"d","threadId":"t","historyId":"9","internalDate":"1800000001000","payload":{}}]}"#;
        let reply = format!(
            "--B\r\nContent-Type: application/http\r\nContent-ID: <response-m1>\r\n\r\nHTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n\r\n{{\"error\":{{\"code\":429,\"message\":\"Too many concurrent requests for user\",\"errors\":[{{\"reason\":\"rateLimitExceeded\"}}]}}}}\r\n\
             --B\r\nContent-Type: application/http\r\nContent-ID: <response-m2>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{thread}\r\n\
             --B\r\nContent-Type: application/http\r\nContent-ID: <response-m0>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{{\"id\":\"a\",\"threadId\":\"a\",\"labelIds\":[\"INBOX\"],\"historyId\":\"7\",\"internalDate\":\"1800000000000\",\"raw\":\"{raw}\"}}\r\n--B--\r\n"
        );
        let answers = parse_batch(&reply, "B", &calls).expect("parsed");
        let answer = |call: &Fetch| {
            answers
                .iter()
                .find(|(c, _)| c == call)
                .map(|(_, a)| a.clone())
                .expect("answered")
        };
        let a = answer(&calls[0]).expect("a");
        assert_eq!(a[0].raw, b"Subject: x\r\n\r\nhi\r\n".to_vec());
        assert_eq!(a[0].content, Content::Rfc822);
        assert!(matches!(
            answer(&calls[1]),
            Err(GmailError::Throttled {
                concurrent: true,
                ..
            })
        ));
        let t = answer(&calls[2]).expect("the conversation");
        assert_eq!(
            t.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            ["c", "d"]
        );
        assert!(t
            .iter()
            .all(|m| m.content == Content::Full && m.thread_id == "t"));
        let kept: serde_json::Value = serde_json::from_slice(&t[0].raw).expect("json kept");
        assert_eq!(kept["payload"]["mimeType"], "text/plain");
        let short = reply
            .split("--B\r\nContent-Type: application/http\r\nContent-ID: <response-m0>")
            .next()
            .unwrap_or_default()
            .to_owned()
            + "--B--";
        assert!(
            parse_batch(&short, "B", &calls).is_err(),
            "a missing answer is not silently dropped"
        );
    }
}

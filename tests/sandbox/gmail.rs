//! The sandbox's Gmail API: a generated mailbox read through every method Ferry uses, its
//! bodies checked against Gmail's discovery document, history and its 404, the batch
//! endpoint, quota units and the per-user concurrency cap (reference §2.1, §3.1, §5.4).

use std::collections::BTreeSet;

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use ferry_sandbox::browser::Person;
use ferry_sandbox::{Sandbox, SandboxConfig};
use serde_json::{json, Value};

use crate::conformance::check_discovery;
use crate::support::{self, read_spec};

const READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
const METADATA: &str = "https://www.googleapis.com/auth/gmail.metadata";

/// Ada's access token with `scope` besides the sign-in scopes.
async fn token(sb: &Sandbox, scope: &str) -> String {
    support::google_token(
        sb,
        &Person::new("ada@example.com", "ada"),
        &["openid", "email", scope],
    )
    .await
}

struct Gmail {
    sb: Sandbox,
    token: String,
    doc: Value,
}

impl Gmail {
    async fn start(config: SandboxConfig, seeded: usize) -> Self {
        let sb = support::start_with(config).await;
        let token = token(&sb, READONLY).await;
        if seeded > 0 {
            control(
                &sb,
                "/mail/ada@example.com/seed",
                json!({"seed": 11, "count": seeded}),
            )
            .await;
        }
        Self {
            sb,
            token,
            doc: read_spec("google/gmail.v1.json"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/gmail/v1/users/me/{path}", self.sb.google_url())
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = support::http()
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// Checks `body` against discovery schema `schema`, strictly.
    fn conforms(&self, schema: &str, body: &Value) {
        let mut problems = Vec::new();
        check_discovery(
            &self.doc,
            &json!({"$ref": schema}),
            body,
            schema,
            &mut problems,
        );
        assert!(problems.is_empty(), "{schema}: {problems:#?}");
    }
}

async fn control(sb: &Sandbox, path: &str, body: Value) -> Value {
    let response = support::http()
        .post(format!("{}{path}", sb.control_url()))
        .json(&body)
        .send()
        .await
        .expect("control");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap_or(Value::Null)
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_seeded_mailbox_lists_newest_first_in_pages_that_cover_it_once() {
    let g = Gmail::start(SandboxConfig::default(), 730).await;
    let profile = g.ok("profile").await;
    g.conforms("Profile", &profile);
    assert_eq!(profile["emailAddress"], "ada@example.com");
    assert_eq!(profile["messagesTotal"], 730);

    let labels = g.ok("labels").await;
    g.conforms("ListLabelsResponse", &labels);
    let names: BTreeSet<&str> = labels["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert!(
        names.contains("INBOX") && names.contains("Travel/2026"),
        "{names:?}"
    );

    let first = g.ok("messages").await;
    g.conforms("ListMessagesResponse", &first);
    assert_eq!(ids(&first, "messages").len(), 100, "default page");
    assert!(
        first["messages"][0]
            .as_object()
            .is_some_and(|m| m.len() == 2),
        "id and threadId only"
    );

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = g
            .ok(&format!(
                "messages?maxResults=900&includeSpamTrash=true&pageToken={token}"
            ))
            .await;
        let page_ids = ids(&page, "messages");
        assert!(page_ids.len() <= 500, "clamped to 500");
        seen.extend(page_ids);
        match page["nextPageToken"].as_str() {
            Some(next) => token = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 730);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 730, "each once");
    let newest = g.ok(&format!("messages/{}?format=minimal", seen[0])).await;
    let oldest = g
        .ok(&format!("messages/{}?format=minimal", seen[729]))
        .await;
    let date = |m: &Value| {
        m["internalDate"]
            .as_str()
            .and_then(|d| d.parse::<i64>().ok())
    };
    assert!(date(&newest) > date(&oldest), "newest first");

    let (status, body) = g.get("messages?maxResults=x").await;
    assert_eq!(
        (status, body["error"]["errors"][0]["reason"].clone()),
        (400, json!("invalidArgument"))
    );
}

#[tokio::test]
async fn messages_come_in_four_formats_with_attachments_and_threads() {
    let mut config = SandboxConfig::default();
    config.google.gmail_service_ms = 0; // hundreds of calls, one after another
    let g = Gmail::start(config, 120).await;
    let list = g.ok("messages?maxResults=120").await;
    let mut attachments = 0;
    for id in ids(&list, "messages") {
        let minimal = g.ok(&format!("messages/{id}?format=minimal")).await;
        g.conforms("Message", &minimal);
        assert!(minimal.get("payload").is_none() && minimal.get("raw").is_none());

        let metadata = g
            .ok(&format!(
                "messages/{id}?format=metadata&metadataHeaders=Subject&metadataHeaders=From"
            ))
            .await;
        g.conforms("Message", &metadata);
        let names: BTreeSet<&str> = metadata["payload"]["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h["name"].as_str())
            .collect();
        assert_eq!(names, BTreeSet::from(["From", "Subject"]));

        let raw = g.ok(&format!("messages/{id}?format=raw")).await;
        g.conforms("Message", &raw);
        let bytes = URL_SAFE
            .decode(raw["raw"].as_str().expect("raw"))
            .expect("base64url");
        assert_eq!(Some(bytes.len() as u64), raw["sizeEstimate"].as_u64());

        let full = g.ok(&format!("messages/{id}")).await;
        g.conforms("Message", &full);
        let mut parts = vec![full["payload"].clone()];
        while let Some(part) = parts.pop() {
            if let Some(attachment) = part["body"]["attachmentId"].as_str() {
                let body = g
                    .ok(&format!("messages/{id}/attachments/{attachment}"))
                    .await;
                g.conforms("MessagePartBody", &body);
                let data = URL_SAFE
                    .decode(body["data"].as_str().expect("data"))
                    .expect("base64url");
                assert_eq!(Some(data.len() as u64), part["body"]["size"].as_u64());
                attachments += 1;
            }
            parts.extend(part["parts"].as_array().into_iter().flatten().cloned());
        }
    }
    assert!(
        attachments > 5,
        "the generated mail has attachments and inline images"
    );

    let threads = g.ok("threads?maxResults=500").await;
    g.conforms("ListThreadsResponse", &threads);
    let thread_ids = ids(&threads, "threads");
    assert!(thread_ids.len() < 120, "some threads hold several messages");
    let long = {
        let mut best = Value::Null;
        for id in &thread_ids {
            let thread = g.ok(&format!("threads/{id}?format=metadata")).await;
            g.conforms("Thread", &thread);
            if thread["messages"].as_array().map_or(0, Vec::len)
                > best["messages"].as_array().map_or(0, Vec::len)
            {
                best = thread;
            }
        }
        best
    };
    assert!(long["messages"].as_array().map_or(0, Vec::len) > 1);
    let (status, _) = g
        .get(&format!("threads/{}?format=raw", thread_ids[0]))
        .await;
    assert_eq!(status, 400, "threads have no raw format");
    let (status, body) = g.get("messages/ffffffffffff").await;
    assert_eq!(
        (status, body["error"]["status"].clone()),
        (404, json!("NOT_FOUND"))
    );
}

#[tokio::test]
async fn history_reports_each_change_in_order_and_a_stale_start_is_404() {
    let mut g = Gmail::start(SandboxConfig::default(), 20).await;
    let start = g.ok("profile").await["historyId"]
        .as_str()
        .expect("historyId")
        .to_owned();
    let delivered = control(
        &g.sb,
        "/mail/ada@example.com/messages",
        json!({"raw": "Message-ID: <new@x>\r\nSubject: New\r\nFrom: a@b.example\r\n\r\nHi Ada\r\n"}),
    )
    .await;
    let new_id = delivered["id"].as_str().expect("id").to_owned();
    control(
        &g.sb,
        &format!("/mail/ada@example.com/messages/{new_id}/labels"),
        json!({"add": ["Work"], "remove": ["UNREAD"]}),
    )
    .await;
    let old = ids(&g.ok("messages?maxResults=30").await, "messages")
        .last()
        .cloned()
        .expect("a message");
    let response = support::http()
        .delete(format!(
            "{}/mail/ada@example.com/messages/{old}",
            g.sb.control_url()
        ))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);

    let history = g.ok(&format!("history?startHistoryId={start}")).await;
    g.conforms("ListHistoryResponse", &history);
    let records = history["history"].as_array().expect("history");
    let kinds: Vec<&str> = records
        .iter()
        .flat_map(|r| {
            [
                "messagesAdded",
                "labelsAdded",
                "labelsRemoved",
                "messagesDeleted",
            ]
            .into_iter()
            .filter(move |k| r.get(*k).is_some())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "messagesAdded",
            "labelsAdded",
            "labelsRemoved",
            "messagesDeleted"
        ]
    );
    let record_ids: Vec<u64> = records
        .iter()
        .filter_map(|r| r["id"].as_str()?.parse().ok())
        .collect();
    assert!(
        record_ids.windows(2).all(|w| w[0] < w[1]),
        "increasing: {record_ids:?}"
    );
    assert_eq!(history["historyId"], g.ok("profile").await["historyId"]);

    let only_deleted = g
        .ok(&format!(
            "history?startHistoryId={start}&historyTypes=messageDeleted"
        ))
        .await;
    assert_eq!(only_deleted["history"].as_array().map(Vec::len), Some(1));
    let paged = g
        .ok(&format!("history?startHistoryId={start}&maxResults=1"))
        .await;
    assert!(paged["nextPageToken"].is_string());

    // A week later the log has moved on: the old start id is stale.
    let response = support::http()
        .post(format!("{}/clock/advance", g.sb.control_url()))
        .json(&json!({"seconds": 8 * 86_400}))
        .send()
        .await
        .expect("advance");
    assert!(response.status().is_success());
    g.token = token(&g.sb, READONLY).await; // the old one expired meanwhile
    let (status, body) = g.get(&format!("history?startHistoryId={start}")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["errors"][0]["reason"], "notFound");

    // "Expire now" does the same at once.
    let fresh = g.ok("profile").await["historyId"]
        .as_str()
        .expect("historyId")
        .to_owned();
    control(
        &g.sb,
        "/mail/ada@example.com/messages",
        json!({"raw": "Subject: x\r\n\r\ny\r\n"}),
    )
    .await;
    assert_eq!(
        g.get(&format!("history?startHistoryId={fresh}")).await.0,
        200
    );
    control(&g.sb, "/mail/ada@example.com/history/expire", json!({})).await;
    assert_eq!(
        g.get(&format!("history?startHistoryId={fresh}")).await.0,
        404
    );
    assert_eq!(g.get("history").await.0, 400, "startHistoryId is required");
}

/// A batch body of GETs for these paths.
fn batch_body(paths: &[String]) -> String {
    let mut body = String::new();
    for (n, path) in paths.iter().enumerate() {
        body.push_str(&format!(
            "--b0undary\r\nContent-Type: application/http\r\nContent-ID: <item{n}>\r\n\r\nGET /gmail/v1/users/me/{path}\r\n\r\n"
        ));
    }
    body.push_str("--b0undary--\r\n");
    body
}

async fn batch(g: &Gmail, paths: &[String]) -> (u16, Vec<(u16, Value)>) {
    let response = support::http()
        .post(format!("{}/batch/gmail/v1", g.sb.google_url()))
        .bearer_auth(&g.token)
        .header("content-type", "multipart/mixed; boundary=b0undary")
        .body(batch_body(paths))
        .send()
        .await
        .expect("batch");
    let status = response.status().as_u16();
    let boundary = response.headers()["content-type"]
        .to_str()
        .ok()
        .and_then(|c| c.split("boundary=").nth(1))
        .map(str::to_owned);
    let text = response.text().await.unwrap_or_default();
    let Some(boundary) = boundary.filter(|_| status == 200) else {
        return (status, Vec::new());
    };
    let answers = text
        .split(&format!("--{boundary}"))
        .skip(1)
        .filter(|p| !p.starts_with("--"))
        .map(|part| {
            let status_line = part
                .lines()
                .find(|l| l.starts_with("HTTP/1.1"))
                .unwrap_or_default();
            let code = status_line
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let json = part.find('{').map(|i| part[i..].trim()).unwrap_or("null");
            (code, serde_json::from_str(json).unwrap_or(Value::Null))
        })
        .collect();
    (status, answers)
}

#[tokio::test]
async fn the_batch_endpoint_answers_each_call_and_refuses_more_than_100() {
    let g = Gmail::start(SandboxConfig::default(), 40).await;
    let list = ids(&g.ok("messages?maxResults=40").await, "messages");
    let paths: Vec<String> = list
        .iter()
        .map(|id| format!("messages/{id}?format=metadata"))
        .collect();
    let (status, answers) = batch(&g, &paths[..30]).await;
    assert_eq!(status, 200);
    assert_eq!(answers.len(), 30);
    for (code, body) in &answers {
        assert_eq!(*code, 200);
        g.conforms("Message", body);
    }
    let got: BTreeSet<&str> = answers
        .iter()
        .filter_map(|(_, b)| b["id"].as_str())
        .collect();
    assert_eq!(got.len(), 30, "every message once");
    let inner = g.sb.world().log.all().iter().filter(|r| r.in_batch).count();
    assert_eq!(inner, 30, "each call is logged as in a batch");

    let too_many: Vec<String> = (0..101).map(|_| "profile".to_owned()).collect();
    assert_eq!(batch(&g, &too_many).await.0, 400);
}

#[tokio::test]
async fn quota_units_and_the_concurrency_cap_bind_inside_batches_too() {
    let mut config = SandboxConfig::default();
    config.quotas.enabled = true;
    config.quotas.gmail_units_per_user_per_min = Some(1_000);
    config.quotas.gmail_max_concurrent_per_user = 10;
    let g = Gmail::start(config, 60).await;
    let list = ids(&g.ok("messages?maxResults=60").await, "messages"); // 5 units
    let paths: Vec<String> = list
        .iter()
        .map(|id| format!("messages/{id}?format=minimal"))
        .collect();

    // 40 calls at once: the cap of 10 concurrent calls per user turns some away.
    let (status, answers) = batch(&g, &paths[..40]).await;
    assert_eq!(status, 200, "the batch itself succeeds");
    let busy = answers
        .iter()
        .filter(|(code, body)| {
            *code == 429 && body["error"]["message"] == "Too many concurrent requests for user"
        })
        .count();
    let served = answers.iter().filter(|(code, _)| *code == 200).count();
    assert!(busy > 0 && served >= 10, "{busy} refused, {served} served");

    // Units: 1,000 per minute, 20 per messages.get (2026 table): the rest are refused.
    let mut refused = None;
    for id in &list {
        let (status, body) = g.get(&format!("messages/{id}?format=minimal")).await;
        if status != 200 {
            refused = Some((status, body));
            break;
        }
    }
    let (status, body) = refused.expect("the quota binds");
    assert_eq!(status, 429);
    assert_eq!(body["error"]["errors"][0]["domain"], "usageLimits");
    assert_eq!(
        body["error"]["errors"][0]["reason"],
        "userRateLimitExceeded"
    );
}

#[tokio::test]
async fn the_metadata_scope_refuses_search_bodies_and_raw() {
    let sb = support::start().await;
    control(
        &sb,
        "/mail/ada@example.com/seed",
        json!({"seed": 3, "count": 5}),
    )
    .await;
    let token = token(&sb, METADATA).await;
    let get = |path: String| {
        let token = token.clone();
        async move {
            support::http()
                .get(path)
                .bearer_auth(token)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    let base = format!("{}/gmail/v1/users/me", sb.google_url());
    let body: Value = support::http()
        .get(format!("{base}/messages"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let id = ids(&body, "messages")[0].clone();
    assert_eq!(
        get(format!("{base}/messages/{id}?format=metadata")).await,
        200
    );
    assert_eq!(get(format!("{base}/messages/{id}?format=full")).await, 403);
    assert_eq!(get(format!("{base}/messages/{id}?format=raw")).await, 403);
    assert_eq!(
        get(format!("{base}/messages?q=after:2020/01/01")).await,
        403
    );
}

//! The sandbox's Graph mail: folders, per-folder message delta rounds (pages, links,
//! `$top`, `@removed`, replays, empty pages), immutable and default ids, evicted and reset
//! tokens, `$batch`, attachments and throttling; bodies checked against the Graph OpenAPI
//! subset (reference §2.4, §2.5, §3.3, §5.7).

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ferry_sandbox::browser::Person;
use ferry_sandbox::{Sandbox, SandboxConfig};
use serde_json::{json, Value};

use crate::conformance::{assert_valid, graph_properties, graph_validator};
use crate::support;

const KATHERINE: &str = "katherine@contoso.example";

async fn token(sb: &Sandbox, scope: &str) -> String {
    support::microsoft_token(sb, &Person::new(KATHERINE, "katherine"), &[scope]).await
}

/// Delta pages without randomness unless a test asks for it.
fn steady() -> SandboxConfig {
    let mut config = SandboxConfig::default();
    config.microsoft.graph_empty_page_rate = 0.0;
    config.microsoft.graph_replay_rate = 0.0;
    config.microsoft.graph_service_ms = 0;
    config
}

struct Outlook {
    sb: Sandbox,
    token: String,
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Outlook {
    async fn start(config: SandboxConfig, seeded: usize) -> Self {
        let sb = support::start_with(config).await;
        let token = token(&sb, "Mail.Read").await;
        if seeded > 0 {
            control(
                &sb,
                &format!("/mail/{KATHERINE}/seed"),
                json!({"seed": 5, "count": seeded}),
            )
            .await;
        }
        Self { sb, token }
    }

    /// GET a Graph URL (absolute links are followed as given) with `Prefer` headers.
    async fn get(&self, url: &str, prefer: &[&str]) -> Page {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}/v1.0/{url}", self.sb.microsoft_url())
        };
        // Graph's links name graph.microsoft.com; the sandbox serves the same paths.
        let url = url.replace("https://graph.microsoft.com", self.sb.microsoft_url());
        let mut request = support::http().get(url).bearer_auth(&self.token);
        for p in prefer {
            request = request.header("Prefer", *p);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Page {
            status,
            headers,
            body,
        }
    }

    /// One full delta round from `start`: every page's items, and the deltaLink.
    async fn round(&self, start: &str, prefer: &[&str]) -> (Vec<Value>, Vec<usize>, String) {
        let mut items = Vec::new();
        let mut sizes = Vec::new();
        let mut url = start.to_owned();
        for _ in 0..10_000 {
            let page = self.get(&url, prefer).await;
            assert_eq!(page.status, 200, "{url}: {}", page.body);
            let next = page.body["@odata.nextLink"].as_str();
            let delta = page.body["@odata.deltaLink"].as_str();
            assert!(
                next.is_some() != delta.is_some(),
                "exactly one link: {}",
                page.body
            );
            let value = page.body["value"].as_array().cloned().unwrap_or_default();
            sizes.push(value.len());
            items.extend(value);
            match (next, delta) {
                (Some(next), _) => url = next.to_owned(),
                (None, Some(delta)) => return (items, sizes, delta.to_owned()),
                _ => unreachable!(),
            }
        }
        panic!("the round never ended");
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

/// Items merged by id, as a client must (replays and repeats collapse).
fn merged(items: &[Value]) -> BTreeMap<String, Value> {
    let mut by_id = BTreeMap::new();
    for item in items {
        let id = item["id"].as_str().expect("id").to_owned();
        if item.get("@removed").is_some() {
            by_id.remove(&id);
        } else {
            by_id.insert(id, item.clone());
        }
    }
    by_id
}

#[tokio::test]
async fn folders_and_messages_match_the_openapi_subset() {
    let o = Outlook::start(steady(), 80).await;
    control(
        &o.sb,
        &format!("/mail/{KATHERINE}/messages"),
        json!({"raw": "Subject: Tickets\r\n\r\nLisbon\r\n", "labels": ["Travel/2026"]}),
    )
    .await;
    let folders = o.get("me/mailFolders?$top=50", &[]).await;
    assert_eq!(folders.status, 200);
    let (validator, _) = graph_validator("microsoft.graph.mailFolderCollectionResponse");
    assert_valid(&validator, &folders.body, "mailFolders");
    let names: BTreeSet<&str> = folders.body["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["displayName"].as_str())
        .collect();
    assert!(
        names.contains("Inbox") && names.contains("Travel"),
        "{names:?}"
    );
    let travel = folders.body["value"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["displayName"] == "Travel")
        .expect("Travel");
    let children = o
        .get(
            &format!(
                "me/mailFolders/{}/childFolders",
                travel["id"].as_str().unwrap_or_default()
            ),
            &[],
        )
        .await;
    assert_eq!(
        children.body["value"][0]["displayName"], "2026",
        "nested folder"
    );

    let list = o.get("me/mailFolders/inbox/messages?$top=40", &[]).await;
    let (validator, spec) = graph_validator("microsoft.graph.messageCollectionResponse");
    assert_valid(&validator, &list.body, "inbox messages");
    let mut described = Vec::new();
    graph_properties(
        &spec,
        &spec["components"]["schemas"]["microsoft.graph.message"],
        &mut described,
    );
    for message in list.body["value"].as_array().into_iter().flatten() {
        for key in message
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
            .filter(|k| !k.starts_with('@'))
        {
            assert!(
                described.contains(key),
                "message sends {key}, which the schema does not describe"
            );
        }
    }
    let first = &list.body["value"][0];
    assert_eq!(
        first["@odata.etag"],
        format!("W/\"{}\"", first["changeKey"].as_str().unwrap_or_default())
    );

    let (status, error) = {
        let page = o.get("me/messages/nope", &[]).await;
        (page.status, page.body)
    };
    assert_eq!(status, 404);
    let (validator, _) = graph_validator("microsoft.graph.ODataErrors.ODataError");
    assert_valid(&validator, &error, "Graph error");
}

#[tokio::test]
async fn a_delta_round_pages_by_ten_unless_asked_and_top_caps_the_round() {
    let o = Outlook::start(steady(), 150).await;
    let inbox = o.get("me/mailFolders/inbox", &[]).await.body["totalItemCount"]
        .as_u64()
        .expect("count") as usize;
    assert!(inbox > 60, "{inbox} in the inbox");

    let (items, sizes, _) = o
        .round(
            "me/mailFolders/inbox/messages/delta?$select=subject,isRead",
            &[],
        )
        .await;
    assert!(
        sizes.iter().all(|s| *s <= 10) && sizes[0] == 10,
        "default pages of 10: {sizes:?}"
    );
    assert_eq!(merged(&items).len(), inbox, "the round covers the folder");
    assert_eq!(items.len(), inbox, "each once when nothing changes");
    assert!(
        items
            .iter()
            .all(|m| m.get("body").is_none() && m.get("subject").is_some()),
        "$select carried in the links"
    );

    let first = o
        .get(
            "me/mailFolders/inbox/messages/delta",
            &["odata.maxpagesize=50"],
        )
        .await;
    assert_eq!(first.body["value"].as_array().map(Vec::len), Some(50));
    assert_eq!(first.headers["preference-applied"], "odata.maxpagesize=50");
    let big = o
        .get(
            "me/mailFolders/inbox/messages/delta",
            &["odata.maxpagesize=5000"],
        )
        .await;
    assert_eq!(
        big.body["value"].as_array().map(Vec::len),
        Some(inbox.min(1000)),
        "capped at the maximum"
    );

    // $top caps the whole round: what lies beyond it is never sent.
    let (capped, _, _) = o
        .round("me/mailFolders/inbox/messages/delta?$top=25", &[])
        .await;
    assert_eq!(capped.len(), 25);

    let refused = o
        .get("me/mailFolders/inbox/messages/delta?$search=hello", &[])
        .await;
    assert_eq!(refused.status, 400);
    let filtered = o
        .get(
            "me/mailFolders/inbox/messages/delta?$filter=receivedDateTime ge 2000-01-01T00:00:00Z",
            &["odata.maxpagesize=1000"],
        )
        .await;
    assert_eq!(filtered.body["value"].as_array().map(Vec::len), Some(inbox));
    assert_eq!(
        o.get(
            "me/mailFolders/inbox/messages/delta?$filter=isRead eq true",
            &[]
        )
        .await
        .status,
        400
    );
}

#[tokio::test]
async fn later_rounds_bring_changes_moves_and_removals_and_ids_follow_the_prefer_header() {
    let o = Outlook::start(steady(), 30).await;
    let immutable = "IdType=\"ImmutableId\"";
    let (items, _, mut delta) = o
        .round("me/mailFolders/inbox/messages/delta", &[immutable])
        .await;
    let (default_items, _, _) = o.round("me/mailFolders/inbox/messages/delta", &[]).await;
    let mut local = merged(&items);
    let ids: Vec<String> = local.keys().cloned().collect();
    let default_ids: BTreeSet<String> = merged(&default_items).keys().cloned().collect();

    let new = control(
        &o.sb,
        &format!("/mail/{KATHERINE}/messages"),
        json!({"raw": "Subject: Fresh\r\nMessage-ID: <fresh@x>\r\n\r\nnew mail\r\n"}),
    )
    .await;
    control(
        &o.sb,
        &format!("/mail/{KATHERINE}/messages/{}/flags", ids[0]),
        json!({"read": true, "flagged": true}),
    )
    .await;
    control(
        &o.sb,
        &format!("/mail/{KATHERINE}/messages/{}/move", ids[1]),
        json!({"folder": "archive"}),
    )
    .await;
    let response = support::http()
        .delete(format!(
            "{}/mail/{KATHERINE}/messages/{}",
            o.sb.control_url(),
            ids[2]
        ))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), 204);

    let (changes, _, next) = o.round(&delta, &[immutable]).await;
    delta = next;
    let removed: BTreeMap<&str, &str> = changes
        .iter()
        .filter_map(|c| Some((c["id"].as_str()?, c["@removed"]["reason"].as_str()?)))
        .collect();
    assert_eq!(removed.get(ids[1].as_str()), Some(&"changed"), "moved out");
    assert_eq!(removed.get(ids[2].as_str()), Some(&"deleted"));
    let updated = changes
        .iter()
        .find(|c| c["id"] == ids[0].as_str())
        .expect("the flagged one");
    assert_eq!(
        (
            updated["isRead"].clone(),
            updated["flag"]["flagStatus"].clone()
        ),
        (json!(true), json!("flagged"))
    );
    assert_ne!(updated["changeKey"], local[&ids[0]]["changeKey"]);
    assert!(
        changes.iter().any(|c| c["id"] == new["id"]),
        "the new one arrives in full"
    );
    for change in &changes {
        if change.get("@removed").is_some() {
            local.remove(change["id"].as_str().unwrap_or_default());
        } else {
            local.insert(
                change["id"].as_str().unwrap_or_default().to_owned(),
                change.clone(),
            );
        }
    }
    let now = o
        .get("me/mailFolders/inbox/messages?$top=1000", &[immutable])
        .await;
    let server: BTreeSet<&str> = now.body["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(
        local.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        server,
        "the merged copy equals the folder"
    );

    // Nothing changed since: an empty round.
    let (quiet, _, _) = o.round(&delta, &[immutable]).await;
    assert!(quiet.is_empty());

    // The moved message kept its immutable id; its default id changed.
    let moved = o.get(&format!("me/messages/{}", ids[1]), &[]).await;
    assert_eq!(moved.status, 200, "an immutable id survives the move");
    assert!(
        !default_ids.contains(moved.body["id"].as_str().unwrap_or_default()),
        "the default id changed"
    );
    assert_eq!(
        moved.body["parentFolderId"],
        o.get("me/mailFolders/archive", &[]).await.body["id"]
    );
}

#[tokio::test]
async fn replays_and_empty_pages_still_converge_when_merged_by_id() {
    let mut config = steady();
    config.microsoft.graph_empty_page_rate = 0.3;
    config.microsoft.graph_replay_rate = 0.5;
    let o = Outlook::start(config, 100).await;
    let total = o.get("me/mailFolders/inbox", &[]).await.body["totalItemCount"]
        .as_u64()
        .expect("count") as usize;
    // The noise is random: every round converges, and over ten rounds both kinds appear.
    let (mut empty, mut repeated) = (false, false);
    for _ in 0..10 {
        let (items, sizes, _) = o.round("me/mailFolders/inbox/messages/delta", &[]).await;
        empty |= sizes.contains(&0);
        repeated |= items.len() > total;
        assert_eq!(merged(&items).len(), total);
    }
    assert!(empty, "some pages were empty");
    assert!(repeated, "some items came twice");
}

#[tokio::test]
async fn evicted_tokens_are_syncstatenotfound_and_a_reset_is_410_with_the_initial_url() {
    let o = Outlook::start(steady(), 12).await;
    let (_, _, delta) = o.round("me/mailFolders/inbox/messages/delta", &[]).await;
    control(&o.sb, &format!("/mail/{KATHERINE}/delta/expire"), json!({})).await;
    let gone = o.get(&delta, &[]).await;
    assert_eq!(
        (gone.status, gone.body["error"]["code"].clone()),
        (410, json!("syncStateNotFound"))
    );

    let (_, _, delta) = o.round("me/mailFolders/inbox/messages/delta", &[]).await;
    control(&o.sb, &format!("/mail/{KATHERINE}/delta/reset"), json!({})).await;
    let reset = o.get(&delta, &[]).await;
    assert_eq!(reset.status, 410);
    let location = reset.headers["location"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        location.contains("/messages/delta") && !location.contains("token"),
        "{location}"
    );
    let (again, _, _) = o.round(&location, &[]).await;
    assert!(!again.is_empty(), "the initial query works again");

    // Tokens also age out (30 days by default).
    let (_, _, delta) = o.round("me/mailFolders/inbox/messages/delta", &[]).await;
    let response = support::http()
        .post(format!("{}/clock/advance", o.sb.control_url()))
        .json(&json!({"seconds": 31 * 86_400}))
        .send()
        .await
        .expect("advance");
    assert!(response.status().is_success());
    let o = Outlook {
        token: token(&o.sb, "Mail.Read").await,
        sb: o.sb,
    };
    assert_eq!(o.get(&delta, &[]).await.status, 410);
}

async fn batch(o: &Outlook, requests: Value) -> (u16, Value) {
    let response = support::http()
        .post(format!("{}/v1.0/$batch", o.sb.microsoft_url()))
        .bearer_auth(&o.token)
        .json(&json!({"requests": requests}))
        .send()
        .await
        .expect("batch");
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn batches_take_twenty_requests_run_four_at_a_time_and_honour_dependencies() {
    let mut config = steady();
    config.quotas.enabled = true;
    config.microsoft.graph_service_ms = 30;
    let o = Outlook::start(config, 30).await;
    let list = o.get("me/mailFolders/inbox/messages?$top=20", &[]).await;
    let requests: Vec<Value> = list.body["value"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(n, m)| json!({"id": n.to_string(), "method": "GET", "url": format!("/me/messages/{}?$select=subject", m["id"].as_str().unwrap_or_default())}))
        .collect();
    let (status, body) = batch(&o, json!(requests)).await;
    assert_eq!(status, 200);
    let statuses: Vec<u64> = body["responses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["status"].as_u64())
        .collect();
    assert_eq!(statuses.len(), requests.len());
    assert!(
        statuses.iter().all(|s| *s == 200),
        "4 at a time stay within the mailbox's 4 slots: {statuses:?}"
    );

    let too_many: Vec<Value> = (0..21)
        .map(|n| json!({"id": n.to_string(), "method": "GET", "url": "/me"}))
        .collect();
    assert_eq!(batch(&o, json!(too_many)).await.0, 400);

    let (_, chained) = batch(
        &o,
        json!([
            {"id": "1", "method": "GET", "url": "/me/messages/missing"},
            {"id": "2", "method": "GET", "url": "/me/mailFolders/inbox", "dependsOn": ["1"]},
        ]),
    )
    .await;
    let by_id: BTreeMap<&str, u64> = chained["responses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| Some((r["id"].as_str()?, r["status"].as_u64()?)))
        .collect();
    assert_eq!(by_id, BTreeMap::from([("1", 404), ("2", 424)]));
}

#[tokio::test]
async fn attachments_mime_and_throttling_and_the_mail_scope() {
    let mut config = steady();
    config.quotas.enabled = true;
    config.quotas.graph_requests_per_10_min = 400;
    let o = Outlook::start(config, 60).await;
    let list = o
        .get(
            "me/mailFolders/inbox/messages?$top=100&$select=hasAttachments,subject",
            &[],
        )
        .await;
    let mut checked = 0;
    for message in list.body["value"].as_array().into_iter().flatten() {
        let id = message["id"].as_str().unwrap_or_default();
        let attachments = o.get(&format!("me/messages/{id}/attachments"), &[]).await;
        for attachment in attachments.body["value"].as_array().into_iter().flatten() {
            let bytes = STANDARD
                .decode(attachment["contentBytes"].as_str().expect("bytes"))
                .expect("base64");
            assert_eq!(Some(bytes.len() as u64), attachment["size"].as_u64());
            checked += 1;
        }
    }
    assert!(checked > 0, "some mail has attachments");
    let id = list.body["value"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mime = support::http()
        .get(format!(
            "{}/v1.0/me/messages/{id}/$value",
            o.sb.microsoft_url()
        ))
        .bearer_auth(&o.token)
        .send()
        .await
        .expect("$value")
        .text()
        .await
        .unwrap_or_default();
    assert!(mime.contains("Message-ID:"), "the MIME source");

    let user_read_only = Outlook {
        token: token(&o.sb, "User.Read").await,
        sb: o.sb,
    };
    assert_eq!(
        user_read_only.get("me/mailFolders", &[]).await.status,
        403,
        "no mail scope"
    );
    let o = Outlook {
        token: token(&user_read_only.sb, "Mail.Read").await,
        sb: user_read_only.sb,
    };

    // 400 requests per 10 minutes: the next one is throttled, with Retry-After.
    let mut throttled = None;
    for _ in 0..400 {
        let page = o.get("me/mailFolders", &[]).await;
        if page.status == 429 {
            throttled = Some(page);
            break;
        }
    }
    let page = throttled.expect("the limit binds");
    assert_eq!(page.body["error"]["code"], "ApplicationThrottled");
    assert!(page.headers.contains_key("retry-after"));
}

//! Gmail sync against the sandbox: a full sync equals the mailbox, later syncs follow what
//! another client did, a stale history resyncs without duplicates, a sync cut off at any
//! moment resumes without loss, and Ferry's own traffic draws no 429.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

use ferry_core::providers::Provider;
use ferry_core::store::mail;
use ferry_sandbox::browser::Person;
use ferry_sandbox::mail::control::{seed_mailbox, SeedRequest};
use ferry_sandbox::{Sandbox, SandboxConfig, SandboxOptions};
use rand::Rng;

use crate::support::{add_account, World, MAIL_AND_CALENDAR};

/// A world whose sandbox has `config`, with Ada's mailbox seeded and her account added;
/// Ferry paces itself for a Gmail quota of `quota` units a minute.
async fn ada_with_mail(config: SandboxConfig, count: usize) -> (World, String) {
    ada_with_quota(config, count, 60_000, false).await
}

async fn ada_with_quota(
    config: SandboxConfig,
    count: usize,
    quota: u64,
    manual_time: bool,
) -> (World, String) {
    let sandbox = Sandbox::start(SandboxOptions {
        config,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    let user = sandbox
        .world()
        .find_user_by_email(ferry_sandbox::Provider::Google, "ada@example.com")
        .expect("Ada");
    seed_mailbox(
        sandbox.world(),
        &user,
        &SeedRequest {
            seed: 9,
            count,
            // Within the first sync's 12 months.
            span_days: Some(300),
            also_to: Vec::new(),
        },
    );
    let builder = if manual_time {
        World::build().manual_time()
    } else {
        World::build()
    };
    let mut w = builder
        .sandbox(sandbox)
        .providers(move |p| {
            if let Some(google) = p.google.as_mut() {
                google.gmail_quota_per_minute = quota;
            }
        })
        .start()
        .await;
    let id = add_account(
        &mut w.ferry,
        Provider::Google,
        MAIL_AND_CALENDAR,
        Person::new("ada@example.com", "ada"),
    )
    .await;
    (w, id)
}

/// What `pick` makes of each message in Ada's Gmail mailbox, newest first.
fn ada_at_gmail<T>(
    w: &World,
    pick: impl Fn(&ferry_sandbox::google::gmail::store::Stored) -> T,
) -> Vec<T> {
    let world = w.sandbox.world();
    let user = world
        .find_user_by_email(ferry_sandbox::Provider::Google, "ada@example.com")
        .expect("Ada");
    world
        .gmail
        .with(world, &user.id, |m| m.newest_first().map(&pick).collect())
}

/// The sandbox's mailbox as (id → sorted labels, unread).
fn provider_side(w: &World) -> BTreeMap<String, (Vec<String>, bool)> {
    ada_at_gmail(w, |s| {
        let labels: Vec<String> = s.labels.iter().cloned().collect();
        (s.id.clone(), (labels, s.labels.contains("UNREAD")))
    })
    .into_iter()
    .collect()
}

/// The sandbox's messages' conversations (message id → thread id).
fn gmail_threads(w: &World) -> BTreeMap<String, String> {
    ada_at_gmail(w, |s| (s.id.clone(), s.thread_id.clone()))
        .into_iter()
        .collect()
}

/// Every message Ferry stored holds what Gmail has: the raw bytes for a message fetched
/// alone, Gmail's `full` resource (part for part) for one that came with its
/// conversation. Both ways are checked to have been taken.
async fn assert_same_content(w: &World, account: &str) {
    let stored: Vec<(String, String, Vec<u8>, bool)> = sqlx::query_as(
        "SELECT m.id, m.raw_format, r.raw, r.compressed FROM mail_messages m
         JOIN mail_raw r ON r.account_id = m.account_id AND r.id = m.id WHERE m.account_id = ?",
    )
    .bind(account)
    .fetch_all(w.core().store().pool())
    .await
    .expect("stored");
    assert!(
        stored.iter().any(|(_, _, _, compressed)| *compressed),
        "messages are kept compressed"
    );
    let stored = stored.into_iter().map(|(id, format, raw, compressed)| {
        (id, format, mail::unpack(raw, compressed).expect("unpacked"))
    });
    let at_gmail: BTreeMap<String, Vec<u8>> = ada_at_gmail(w, |s| (s.id.clone(), s.raw.to_vec()))
        .into_iter()
        .collect();
    let mut formats = BTreeSet::new();
    for (id, format, raw) in stored {
        let original = at_gmail.get(&id).expect("a message Gmail has");
        match format.as_str() {
            "gmail-json" => {
                let resource: serde_json::Value = serde_json::from_slice(&raw).expect("json");
                let digest = ferry_sandbox::mail::letter::payload_digest_input;
                assert_eq!(
                    digest(&resource["payload"]),
                    digest(&ferry_sandbox::mail::letter::gmail_payload(original, true)),
                    "{id}"
                );
            }
            _ => assert_eq!(&raw, original, "{id}"),
        }
        formats.insert(format);
    }
    assert_eq!(
        formats,
        BTreeSet::from(["gmail-json".to_owned(), "rfc822".to_owned()])
    );
}

/// Ferry's copy, in the same shape.
async fn ferry_side(w: &World, account: &str) -> BTreeMap<String, (Vec<String>, bool)> {
    mail::keys(w.core().store().pool(), account)
        .await
        .expect("keys")
        .into_iter()
        .map(|k| (k.id, (k.folders, k.unread)))
        .collect()
}

/// Deletes these messages in the sandbox (`base` is the mailbox's control path), as
/// another client would.
async fn delete(w: &World, base: &str, ids: &[String]) {
    for gone in ids {
        control(
            w,
            reqwest::Method::DELETE,
            &format!("{base}/{gone}"),
            serde_json::json!({}),
        )
        .await;
    }
}

/// How many ids resyncs under way have noted as listed.
async fn resync_notes(w: &World) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM mail_resync_listed")
        .fetch_one(w.core().store().pool())
        .await
        .expect("listed")
}

async fn control(w: &World, method: reqwest::Method, path: &str, body: serde_json::Value) {
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", w.sandbox.control_url()))
        .json(&body)
        .send()
        .await
        .expect("control");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}

#[tokio::test]
async fn a_full_sync_equals_the_mailbox_and_later_syncs_follow_another_client() {
    let (w, id) = ada_with_mail(SandboxConfig::default(), 230).await;
    let report = w.core().sync_mail(&id).await.expect("full sync");
    assert_eq!(report.counts.added, 230);
    assert_eq!(
        ferry_side(&w, &id).await,
        provider_side(&w),
        "Ferry's copy equals Gmail's"
    );
    assert_same_content(&w, &id).await;
    let pool = w.core().store().pool();
    assert!(
        !mail::search(pool, "budget", 5)
            .await
            .expect("search")
            .is_empty(),
        "bodies are searchable"
    );

    // Another client: a new message, a deletion, a relabel and a read.
    let ids: Vec<String> = provider_side(&w).into_keys().collect();
    control(&w, reqwest::Method::POST, "/mail/ada@example.com/messages", serde_json::json!({
        "raw": "Message-ID: <fresh@example.org>\r\nFrom: Grace <grace@example.org>\r\nSubject: Kangaroo sighting\r\n\r\nA kangaroo in the car park.\r\n"
    }))
    .await;
    control(
        &w,
        reqwest::Method::DELETE,
        &format!("/mail/ada@example.com/messages/{}", ids[0]),
        serde_json::json!({}),
    )
    .await;
    control(
        &w,
        reqwest::Method::POST,
        &format!("/mail/ada@example.com/messages/{}/labels", ids[1]),
        serde_json::json!({"add": ["Work", "STARRED"], "remove": ["INBOX"]}),
    )
    .await;
    control(
        &w,
        reqwest::Method::POST,
        &format!("/mail/ada@example.com/messages/{}/labels", ids[2]),
        serde_json::json!({"remove": ["UNREAD"]}),
    )
    .await;

    let report = w.core().sync_mail(&id).await.expect("incremental sync");
    assert_eq!(
        (report.counts.added, report.counts.removed),
        (1, 1),
        "{report:?}"
    );
    assert!(
        report.counts.requests < 12,
        "an incremental sync is a few calls: {report:?}"
    );
    assert_eq!(ferry_side(&w, &id).await, provider_side(&w));
    assert_eq!(
        mail::search(pool, "kangaroo", 5)
            .await
            .expect("search")
            .len(),
        1
    );

    let runs: Vec<(String, i64, Option<String>)> =
        sqlx::query_as("SELECT kind, added, error FROM sync_runs WHERE account_id = ? ORDER BY id")
            .bind(&id)
            .fetch_all(pool)
            .await
            .expect("runs");
    assert_eq!(runs.first().map(|r| r.0.as_str()), Some("full"));
    assert!(runs.iter().all(|r| r.2.is_none()), "{runs:?}");

    // A poll with nothing new reads the history only: the labels were read this hour.
    let before = w.sandbox.world().log.all().len();
    let report = w.core().sync_mail(&id).await.expect("quiet poll");
    let paths: Vec<String> = w.sandbox.world().log.all()[before..]
        .iter()
        .filter(|r| r.path.contains("/gmail/"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(paths, ["/gmail/v1/users/me/history"], "{report:?}");

    // A label Ferry has never seen is read as soon as a change names it.
    control(
        &w,
        reqwest::Method::POST,
        &format!("/mail/ada@example.com/messages/{}/labels", ids[3]),
        serde_json::json!({"add": ["Kangaroos"]}),
    )
    .await;
    let report = w
        .core()
        .sync_mail(&id)
        .await
        .expect("poll with a new label");
    assert_eq!(
        report.counts.requests, 2,
        "the history and the labels: {report:?}"
    );
    assert_eq!(ferry_side(&w, &id).await, provider_side(&w));
    let names: Vec<String> = mail::folder_list(pool, &id)
        .await
        .expect("folders")
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert!(names.iter().any(|n| n == "Kangaroos"), "{names:?}");
}

#[tokio::test]
async fn sync_now_for_one_service_runs_it_at_once() {
    let (w, id) = ada_with_mail(SandboxConfig::default(), 20).await;
    w.core().sync_mail(&id).await.expect("first sync");
    w.core().start_keeper();
    // The keeper's first look: the mailbox was synced a moment ago, so nothing is due
    // for a minute.
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    control(
        &w,
        reqwest::Method::POST,
        "/mail/ada@example.com/messages",
        serde_json::json!({"raw": "Subject: asked for\r\n\r\nnow\r\n"}),
    )
    .await;
    w.core()
        .sync_service_now(&id, ferry_core::store::Service::Mail)
        .await
        .expect("asked");
    let pool = w.core().store().pool().clone();
    let mut stored = 0;
    for _ in 0..100 {
        stored = mail::count(&pool, &id).await.expect("count");
        if stored == 21 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(
        stored, 21,
        "the new message came at once, not at the next minute's poll"
    );
    assert!(w
        .core()
        .sync_service_now("no-such-account", ferry_core::store::Service::Mail)
        .await
        .is_err());
}

/// Ada's 200 messages synced, then another client deletes 120 of them.
async fn ada_after_a_mass_deletion() -> (World, String) {
    let (w, id) = ada_with_mail(SandboxConfig::default(), 200).await;
    w.core().sync_mail(&id).await.expect("full sync");
    let ids: Vec<String> = provider_side(&w).into_keys().collect();
    delete(&w, "/mail/ada@example.com/messages", &ids[..120]).await;
    (w, id)
}

/// Runs a sync that must stop to ask; returns what Ferry has left and what it asks about.
async fn held_sync(w: &World, id: &str) -> (u64, ferry_core::sync::HeldRemovals) {
    let err = w.core().sync_mail(id).await.expect_err("the round is held");
    assert_eq!(
        err.code,
        ferry_core::error::ErrorCode::NeedsConfirmation,
        "{err:?}"
    );
    let left = mail::count(w.core().store().pool(), id)
        .await
        .expect("count");
    let status = w.core().mail_status().await.expect("status");
    let held = status
        .iter()
        .find(|s| s.account_id == id)
        .and_then(|s| s.held)
        .expect("the dashboard shows the held round");
    (left, held)
}

#[tokio::test]
async fn a_round_that_would_remove_a_large_share_stops_and_asks_first() {
    let (mut w, id) = ada_after_a_mass_deletion().await;
    let (left, held) = held_sync(&w, &id).await;
    // No more than may go without asking (50, or a quarter of 200) went before the hold.
    assert!(left >= 150, "{left} left");
    assert!(held.removing > 50 && held.of == 200, "{held:?}");
    // Asking again changes nothing until the user answers.
    let (again, _) = held_sync(&w, &id).await;
    assert_eq!(again, left);

    // The tray lists it.
    w.wait_for("the tray's list of what waits for the user", |e| match e {
        ferry_core::events::CoreEvent::AttentionChanged(list) => list
            .iter()
            .find(|a| {
                a.account_id == id
                    && a.reason == ferry_core::views::AttentionReason::ConfirmRemovals
            })
            .cloned(),
        _ => None,
    })
    .await;

    // One notification says so, however often Ferry looks.
    let key = format!("held:mail:{id}");
    w.core().review_alerts().await.expect("review");
    w.core().review_alerts().await.expect("review again");
    let shown: Vec<ferry_core::alerts::Alert> = w
        .notifier
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            ferry_core::alerts::NotifierCall::Show(alert) if alert.key == key => Some(alert),
            _ => None,
        })
        .collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].body.contains("Gmail no longer has"),
        "{:?}",
        shown[0]
    );

    // "Keep them": the round goes through without removing, and is not asked again.
    w.core()
        .decide_removals(&id, ferry_core::store::Service::Mail, false)
        .await
        .expect("decide");
    w.core().sync_mail(&id).await.expect("the round goes on");
    assert_eq!(
        mail::count(w.core().store().pool(), &id)
            .await
            .expect("count"),
        left,
        "Ferry kept its copies"
    );
    let status = w.core().mail_status().await.expect("status");
    assert!(status.iter().all(|s| s.held.is_none()), "{status:?}");
    w.core().review_alerts().await.expect("review");
    assert!(
        w.notifier
            .calls()
            .contains(&ferry_core::alerts::NotifierCall::Withdraw(key)),
        "the answered question's notification is withdrawn"
    );
    w.core()
        .sync_mail(&id)
        .await
        .expect("later polls run as usual");
}

#[tokio::test]
async fn removals_the_user_confirms_are_applied() {
    let (w, id) = ada_after_a_mass_deletion().await;
    held_sync(&w, &id).await;
    w.core()
        .decide_removals(&id, ferry_core::store::Service::Mail, true)
        .await
        .expect("decide");
    w.core().sync_mail(&id).await.expect("the round goes on");
    assert_eq!(
        ferry_side(&w, &id).await,
        provider_side(&w),
        "Ferry follows Gmail"
    );
    assert!(
        w.core()
            .decide_removals(&id, ferry_core::store::Service::Mail, true)
            .await
            .is_err(),
        "nothing is held any more"
    );
}

#[tokio::test]
async fn a_stale_history_ends_in_a_full_resync_without_duplicates() {
    let (w, id) = ada_with_mail(SandboxConfig::default(), 60).await;
    w.core().sync_mail(&id).await.expect("full sync");
    control(
        &w,
        reqwest::Method::POST,
        "/mail/ada@example.com/history/expire",
        serde_json::json!({}),
    )
    .await;
    control(
        &w,
        reqwest::Method::POST,
        "/mail/ada@example.com/messages",
        serde_json::json!({"raw": "Subject: after the reset\r\n\r\nnew\r\n"}),
    )
    .await;
    // Gone while the history was lost: no history will tell Ferry. Only Gmail's "not
    // found" when asked removes them; one moved to Trash (which listings leave out) stays.
    let ids: Vec<String> = provider_side(&w).into_keys().collect();
    delete(&w, "/mail/ada@example.com/messages", &ids[..3]).await;
    control(
        &w,
        reqwest::Method::POST,
        &format!("/mail/ada@example.com/messages/{}/labels", ids[3]),
        serde_json::json!({"add": ["TRASH"], "remove": ["INBOX"]}),
    )
    .await;

    let report = w.core().sync_mail(&id).await.expect("resync");
    assert_eq!(
        (report.counts.added, report.counts.removed),
        (1, 3),
        "only the new one is new, only the deleted ones go: {report:?}"
    );
    assert_eq!(ferry_side(&w, &id).await, provider_side(&w));
    assert_eq!(
        resync_notes(&w).await,
        0,
        "the resync's notes are cleared once it is over"
    );
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM sync_runs WHERE account_id = ? ORDER BY id")
            .bind(&id)
            .fetch_all(w.core().store().pool())
            .await
            .expect("runs");
    let checkpoint = mail::checkpoint(w.core().store().pool(), &id, "")
        .await
        .expect("checkpoint");
    assert!(
        kinds.iter().any(|k| k == "reset"),
        "{kinds:?} {report:?} {checkpoint:?}"
    );

    // Caught up again: the next sync reads the history as usual.
    let quiet = w.core().sync_mail(&id).await.expect("incremental");
    assert_eq!(quiet.counts.added + quiet.counts.removed, 0);
}

/// Starts a sync and drops it (as a quit or crash would) ten times, each after a random
/// moment of up to `within_ms`; the store never holds more than the mailbox's `count`.
/// Then syncs to the end.
async fn cut_off_ten_times(w: &World, id: &str, count: u64, within_ms: u64) {
    let mut rng = rand::thread_rng();
    for _ in 0..10 {
        let core = w.core().clone();
        let account = id.to_owned();
        let run = tokio::spawn(async move { core.sync_mail(&account).await });
        tokio::time::sleep(StdDuration::from_millis(rng.gen_range(0..within_ms))).await;
        run.abort();
        let _ = run.await;
        let stored = mail::count(w.core().store().pool(), id)
            .await
            .expect("count");
        assert!(stored <= count, "never more than the mailbox");
    }
    w.core().sync_mail(id).await.expect("sync to the end");
}

#[tokio::test]
async fn a_sync_cut_off_at_any_moment_resumes_without_loss_or_duplicates() {
    let config = SandboxConfig {
        latency_ms: 5,
        ..SandboxConfig::default()
    };
    let (w, id) = ada_with_mail(config, 400).await;
    cut_off_ten_times(&w, &id, 400, 600).await;
    assert_eq!(
        ferry_side(&w, &id).await,
        provider_side(&w),
        "nothing lost, nothing doubled"
    );
}

#[tokio::test]
async fn ferrys_own_traffic_stays_inside_gmails_quota() {
    // A project with 1,000 units a minute, and Ferry told so: 90 messages (more than
    // 1,000 units, even fetched by conversation) need Ferry to pace itself into a second
    // minute.
    let mut config = SandboxConfig::default();
    config.quotas.enabled = true;
    config.quotas.gmail_units_per_user_per_min = Some(1_000);
    let (w, id) = ada_with_quota(config, 90, 1_000, true).await;
    // Ferry's clock and the sandbox's move together, a second at a time, while it syncs.
    let run = {
        let core = w.core().clone();
        let id = id.clone();
        tokio::spawn(async move { core.sync_mail(&id).await })
    };
    let mut waited = 0;
    while !run.is_finished() {
        w.advance(chrono::Duration::seconds(1));
        waited += 1;
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    let report = run.await.expect("task").expect("full sync");
    assert!(
        waited > 50,
        "Ferry waited for the next minute's quota ({waited} s)"
    );
    assert_eq!(report.counts.added, 90);
    let log = w.sandbox.world().log.all();
    let refused = log
        .iter()
        .filter(|r| r.status == 429 || r.status == 403)
        .count();
    assert_eq!(refused, 0, "no call was throttled");
    let fetches = |in_batch: bool| {
        log.iter()
            .filter(|r| r.in_batch == in_batch)
            .filter(|r| r.path.contains("/messages/") || r.path.contains("/threads/"))
            .count()
    };
    assert!(fetches(true) > 0, "messages came through batches");
    assert_eq!(fetches(false), 0, "and none alone");
    assert!(
        report.counts.quota_units > 1_000,
        "more than one minute's budget: {report:?}"
    );
}

/// Graph returns at most 5,000 messages for a delta round filtered by date (40 here):
/// what the round leaves out of the twelve months is listed after it, newest first.
#[tokio::test]
async fn what_a_capped_outlook_round_leaves_out_is_listed_after_it() {
    let mut config = SandboxConfig::default();
    config.microsoft.graph_filtered_delta_cap = 40;
    let build = World::build().providers(|p| {
        if let Some(microsoft) = p.microsoft.as_mut() {
            microsoft.delta_round_cap = 40;
        }
    });
    let (w, id) = katherine_built(build, config, 300, |_| {}).await;
    w.core().sync_mail(&id).await.expect("sync");
    assert_eq!(
        ferry_side(&w, &id).await,
        outlook_side(&w),
        "every message of the window, not only the newest 40 of each folder"
    );
    let listings = logged(&w, |r| r.path.ends_with("/messages"));
    assert!(listings > 0, "the rest came through listings");
    let caught_up = w.core().mail_status().await.expect("status");
    assert!(caught_up.iter().all(|s| s.caught_up), "{caught_up:?}");
}

/// After Graph loses every folder's delta, each folder's resync asks about the messages
/// it did not show in a `$batch`, whose calls Outlook runs four at a time. With Graph's
/// four concurrent requests per mailbox applied, no call is refused: a batch holds as
/// many of the mailbox's slots as it runs calls at once.
#[tokio::test]
async fn outlook_resyncs_of_several_folders_at_once_draw_no_429() {
    let mut config = SandboxConfig::default();
    config.quotas.enabled = true;
    config.latency_ms = 5;
    let (w, id) = katherine_in(config, 400).await;
    w.core().sync_mail(&id).await.expect("first sync");
    // Five messages gone from each of the four largest folders, unknown to any delta.
    let mut by_folder: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (message, (folders, _)) in outlook_side(&w) {
        by_folder
            .entry(folders[0].clone())
            .or_default()
            .push(message);
    }
    let mut largest: Vec<Vec<String>> = by_folder.into_values().collect();
    largest.sort_by_key(|ids| std::cmp::Reverse(ids.len()));
    let base = "/mail/katherine@contoso.example/messages";
    control(
        &w,
        reqwest::Method::POST,
        "/mail/katherine@contoso.example/delta/expire",
        serde_json::json!({}),
    )
    .await;
    for ids in largest.iter().take(4) {
        assert!(ids.len() >= 5, "a folder of five or more: {}", ids.len());
        delete(&w, base, &ids[..5]).await;
    }
    let report = w.core().sync_mail(&id).await.expect("resync");
    assert!(report.reset && report.counts.removed == 20, "{report:?}");
    assert_eq!(ferry_side(&w, &id).await, outlook_side(&w));
    let refused = logged(&w, |r| r.status == 429);
    assert_eq!(refused, 0, "no call was refused");
}

#[tokio::test]
async fn an_outlook_sync_cut_off_at_any_moment_resumes_without_loss_or_duplicates() {
    let (w, id) = katherine_with_mail(600).await;
    cut_off_ten_times(&w, &id, 600, 400).await;
    assert_eq!(
        ferry_side(&w, &id).await,
        outlook_side(&w),
        "nothing lost, nothing doubled"
    );
}

/// Two Gmail accounts and an Outlook one syncing at once, with Gmail's quota set low
/// enough to bind (1,000 units a minute; 90 messages cost more, even fetched by
/// conversation) and Graph's four concurrent requests per mailbox applied: no call is
/// refused.
#[tokio::test]
async fn three_accounts_syncing_at_once_draw_no_429_under_binding_quotas() {
    let mut config = SandboxConfig::default();
    config.quotas.enabled = true;
    config.quotas.gmail_units_per_user_per_min = Some(1_000);
    config.latency_ms = 5;
    let sandbox = Sandbox::start(SandboxOptions {
        config,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    let people = [
        (
            ferry_sandbox::Provider::Google,
            "ada@example.com",
            "ada",
            90,
        ),
        (
            ferry_sandbox::Provider::Google,
            "grace@example.org",
            "grace",
            90,
        ),
        (
            ferry_sandbox::Provider::Microsoft,
            "katherine@contoso.example",
            "katherine",
            600,
        ),
    ];
    for (n, (provider, email, _, count)) in people.iter().enumerate() {
        let user = sandbox
            .world()
            .find_user_by_email(*provider, email)
            .expect("user");
        seed_mailbox(
            sandbox.world(),
            &user,
            &SeedRequest {
                seed: 30 + n as u64,
                count: *count,
                span_days: Some(300),
                also_to: Vec::new(),
            },
        );
    }
    let mut w = World::build()
        .manual_time()
        .sandbox(sandbox)
        .providers(|p| {
            if let Some(google) = p.google.as_mut() {
                google.gmail_quota_per_minute = 1_000;
            }
        })
        .start()
        .await;
    let mut ids = Vec::new();
    for (provider, email, password, _) in people {
        let provider = match provider {
            ferry_sandbox::Provider::Google => Provider::Google,
            ferry_sandbox::Provider::Microsoft => Provider::Microsoft,
        };
        ids.push(
            add_account(
                &mut w.ferry,
                provider,
                MAIL_AND_CALENDAR,
                Person::new(email, password),
            )
            .await,
        );
    }
    let runs: Vec<_> = ids
        .iter()
        .map(|id| {
            let core = w.core().clone();
            let id = id.clone();
            tokio::spawn(async move { core.sync_mail(&id).await })
        })
        .collect();
    // Ferry's clock and the sandbox's move together, a second at a time.
    let mut waited = 0;
    while !runs.iter().all(|r| r.is_finished()) {
        w.advance(chrono::Duration::seconds(1));
        waited += 1;
        tokio::time::sleep(StdDuration::from_millis(20)).await;
        assert!(waited < 1_000, "the syncs finish");
    }
    for run in runs {
        run.await.expect("task").expect("sync");
    }
    assert!(
        waited > 50,
        "Gmail's quota made Ferry wait for the next minute ({waited} s)"
    );
    let log = w.sandbox.world().log.all();
    let refused: Vec<String> = log
        .iter()
        .filter(|r| r.status == 429 || (r.status == 403 && r.path.contains("/gmail/")))
        .map(|r| format!("{} {}", r.status, r.path))
        .collect();
    assert!(refused.is_empty(), "no call was refused: {refused:?}");
    assert_eq!(ferry_side(&w, &ids[0]).await, provider_side(&w));
    assert_eq!(ferry_side(&w, &ids[2]).await, outlook_side(&w));
    let status = w.core().mail_status().await.expect("status");
    assert!(
        status.iter().all(|s| s.caught_up) && status.len() == 3,
        "{status:?}"
    );
}

/// Katherine's Outlook mailbox seeded and her account added.
async fn katherine_with_mail(count: usize) -> (World, String) {
    katherine_in(SandboxConfig::default(), count).await
}

async fn katherine_in(config: SandboxConfig, count: usize) -> (World, String) {
    katherine_prepared(config, count, |_| {}).await
}

/// Katherine's mailbox seeded, then `prepare`d (as another client would change it), and
/// her account added.
async fn katherine_prepared(
    config: SandboxConfig,
    count: usize,
    prepare: impl FnOnce(&Sandbox),
) -> (World, String) {
    katherine_built(World::build(), config, count, prepare).await
}

/// [`katherine_prepared`] in a world `build` describes (on manual time, say).
async fn katherine_built(
    build: crate::support::WorldBuilder,
    config: SandboxConfig,
    count: usize,
    prepare: impl FnOnce(&Sandbox),
) -> (World, String) {
    let sandbox = Sandbox::start(SandboxOptions {
        config,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    let user = sandbox
        .world()
        .find_user_by_email(
            ferry_sandbox::Provider::Microsoft,
            "katherine@contoso.example",
        )
        .expect("Katherine");
    seed_mailbox(
        sandbox.world(),
        &user,
        &SeedRequest {
            seed: 4,
            count,
            span_days: Some(300),
            also_to: Vec::new(),
        },
    );
    prepare(&sandbox);
    let mut w = build.sandbox(sandbox).start().await;
    let id = add_account(
        &mut w.ferry,
        Provider::Microsoft,
        MAIL_AND_CALENDAR,
        Person::new("katherine@contoso.example", "katherine"),
    )
    .await;
    (w, id)
}

/// The sandbox's Outlook mailbox as (immutable id → [folder], unread).
fn outlook_side(w: &World) -> BTreeMap<String, (Vec<String>, bool)> {
    let world = w.sandbox.world();
    let user = world
        .find_user_by_email(
            ferry_sandbox::Provider::Microsoft,
            "katherine@contoso.example",
        )
        .expect("Katherine");
    world.outlook.with(&user.id, |m| {
        let folders: Vec<String> = m.folders.keys().cloned().collect();
        folders
            .iter()
            .flat_map(|f| m.in_folder(f))
            .map(|msg| {
                (
                    msg.immutable_id.clone(),
                    (vec![msg.folder.clone()], !msg.is_read),
                )
            })
            .collect()
    })
}

#[tokio::test]
async fn an_outlook_mailbox_syncs_folder_by_folder_and_follows_moves_and_deletions() {
    let (w, id) = katherine_with_mail(150).await;
    let report = w.core().sync_mail(&id).await.expect("first sync");
    assert_eq!(report.counts.added, 150, "{report:?}");
    assert_eq!(
        ferry_side(&w, &id).await,
        outlook_side(&w),
        "Ferry's copy equals Outlook's"
    );
    // Each round brought far fewer than Graph's cap, so it left nothing to list; the
    // folders (none nested here) and the well-known names took one batch.
    assert_eq!(logged(&w, |r| r.path.ends_with("/messages")), 0);
    assert_eq!(logged(&w, |r| r.path.ends_with("/$batch")), 1);

    let ids: Vec<String> = outlook_side(&w).into_keys().collect();
    let base = "/mail/katherine@contoso.example/messages";
    control(&w, reqwest::Method::POST, base, serde_json::json!({"raw": "Message-ID: <wombat@x>\r\nSubject: Wombat\r\n\r\nA wombat.\r\n"})).await;
    control(
        &w,
        reqwest::Method::POST,
        &format!("{base}/{}/move", ids[0]),
        serde_json::json!({"folder": "archive"}),
    )
    .await;
    control(
        &w,
        reqwest::Method::POST,
        &format!("{base}/{}/flags", ids[1]),
        serde_json::json!({"read": true, "flagged": true}),
    )
    .await;
    control(
        &w,
        reqwest::Method::DELETE,
        &format!("{base}/{}", ids[2]),
        serde_json::json!({}),
    )
    .await;

    let report = w.core().sync_mail(&id).await.expect("incremental sync");
    assert_eq!(
        report.counts.removed, 1,
        "only the deleted one goes: {report:?}"
    );
    assert_eq!(
        ferry_side(&w, &id).await,
        outlook_side(&w),
        "moved, read, deleted and new all followed"
    );
    assert_eq!(
        mail::search(w.core().store().pool(), "wombat", 5)
            .await
            .expect("search")
            .len(),
        1
    );

    // Evicted delta tokens: every folder starts its round again, nothing doubles.
    control(
        &w,
        reqwest::Method::POST,
        "/mail/katherine@contoso.example/delta/expire",
        serde_json::json!({}),
    )
    .await;
    // Meanwhile two are deleted and one moved: no delta will tell Ferry of those. Only
    // Graph's "not found", when asked, removes one.
    delete(&w, base, &ids[3..5]).await;
    control(
        &w,
        reqwest::Method::POST,
        &format!("{base}/{}/move", ids[5]),
        serde_json::json!({"folder": "archive"}),
    )
    .await;
    let report = w.core().sync_mail(&id).await.expect("resync");
    assert!(
        report.reset && report.counts.added == 0 && report.counts.removed == 2,
        "{report:?}"
    );
    assert_eq!(ferry_side(&w, &id).await, outlook_side(&w));
    assert_eq!(
        resync_notes(&w).await,
        0,
        "the resync's notes are cleared once it is over"
    );
    let status = w.core().mail_status().await.expect("status");
    assert!(status.iter().all(|s| s.caught_up), "{status:?}");

    // Attachments are described with each message; their bytes come when opened.
    let pool = w.core().store().pool().clone();
    let (message, names): (String, String) = sqlx::query_as(
        "SELECT id, attachments FROM mail_messages
         WHERE account_id = ? AND attachments LIKE '%\"inline\":false%' LIMIT 1",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .expect("an Outlook message with an attachment");
    let found = w
        .core()
        .mail_list(&ferry_core::inbox::MailListRequest {
            filter: ferry_core::inbox::MailFilter {
                search: "has:attachment".into(),
                account_id: Some(id.clone()),
                ..ferry_core::inbox::MailFilter::default()
            },
            cursor: None,
            limit: 500,
        })
        .await
        .expect("search");
    assert!(
        found.messages.iter().any(|m| m.id == message),
        "has:attachment finds it"
    );
    let described: Vec<serde_json::Value> = serde_json::from_str(&names).expect("json");
    let index = described
        .iter()
        .position(|a| a["inline"] == serde_json::json!(false))
        .expect("a file");
    let dir = tempfile::tempdir().expect("dir");
    let saved = w
        .core()
        .save_attachment(
            &ferry_core::inbox::MessageRef {
                account_id: id.clone(),
                id: message.clone(),
            },
            u32::try_from(index).expect("index"),
            Some(dir.path()),
        )
        .await
        .expect("saved");
    let raw = {
        let world = w.sandbox.world();
        let user = world
            .find_user_by_email(
                ferry_sandbox::Provider::Microsoft,
                "katherine@contoso.example",
            )
            .expect("Katherine");
        world.outlook.with(&user.id, |m| {
            m.get(&message)
                .map(|msg| msg.raw.to_vec())
                .expect("the message")
        })
    };
    assert_eq!(
        std::fs::read(&saved).expect("the file"),
        ferry_sandbox::mail::letter::attachment_bytes(&raw, index).expect("the part"),
        "the bytes Outlook holds"
    );

    // An inline image the body names by cid: is fetched from Outlook and shown in place.
    let inline: String = sqlx::query_scalar(
        "SELECT id FROM mail_messages
         WHERE account_id = ? AND attachments LIKE '%\"inline\":true%' LIMIT 1",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .expect("an Outlook message with an inline image");
    let view = w
        .core()
        .read_message(
            &ferry_core::inbox::MessageRef {
                account_id: id.clone(),
                id: inline,
            },
            false,
        )
        .await
        .expect("read");
    let html = view.html.expect("an HTML body");
    assert!(
        html.contains("src=\"data:image/") && !html.contains("cid:"),
        "{html}"
    );

    // A poll of a caught-up mailbox is one batch of the folders' deltas: the folder list
    // was read this hour.
    let before = w.sandbox.world().log.all().len();
    let report = w.core().sync_mail(&id).await.expect("quiet poll");
    let log = w.sandbox.world().log.all();
    let sent: Vec<&str> = log[before..]
        .iter()
        .filter(|r| r.path.starts_with("/v1.0/") && !r.in_batch)
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(sent, ["/v1.0/$batch"], "{report:?}");
    let inner = log[before..].iter().filter(|r| r.in_batch).count();
    let folders = mail::folder_list(w.core().store().pool(), &id)
        .await
        .expect("folders")
        .len();
    assert!(
        log[before..]
            .iter()
            .filter(|r| r.in_batch)
            .all(|r| r.path.ends_with("/messages/delta") && r.status == 200),
        "each folder's delta, answered"
    );
    assert_eq!(inner, folders, "one delta per folder");
    assert_eq!(
        (report.counts.requests, report.counts.quota_units),
        (1, folders as u64),
        "one request, each call inside it counted against Graph's limits"
    );

    // A change arrives through the batched poll.
    let ids: Vec<String> = outlook_side(&w).into_keys().collect();
    control(
        &w,
        reqwest::Method::POST,
        &format!("/mail/katherine@contoso.example/messages/{}/flags", ids[0]),
        serde_json::json!({"read": false}),
    )
    .await;
    w.core().sync_mail(&id).await.expect("poll");
    assert_eq!(ferry_side(&w, &id).await, outlook_side(&w));
}

/// How many requests the sandbox served that `pick` picks.
fn logged(w: &World, pick: impl Fn(&ferry_sandbox::reqlog::RequestRecord) -> bool) -> usize {
    w.sandbox
        .world()
        .log
        .all()
        .iter()
        .filter(|r| pick(r))
        .count()
}

/// A first sync of three months of the 300 days seeded; returns Ferry's copy, checked to
/// be a part, and less than half, of `everything`.
async fn sync_three_months(
    w: &World,
    id: &str,
    everything: &BTreeMap<String, (Vec<String>, bool)>,
) -> BTreeMap<String, (Vec<String>, bool)> {
    keep_mail_for(w, 3).await;
    w.core().sync_mail(id).await.expect("first sync");
    let recent = ferry_side(w, id).await;
    assert!(
        !recent.is_empty() && recent.len() < everything.len() / 2,
        "three months of 300 days: {} of {}",
        recent.len(),
        everything.len()
    );
    assert!(recent.keys().all(|k| everything.contains_key(k)));
    recent
}

/// Sets how far back mail is synced, in months (0: all of it).
async fn keep_mail_for(w: &World, months: u32) {
    let core = w.core();
    let mut settings = core.settings().await.expect("settings");
    settings.mail_months = months;
    core.set_settings(settings).await.expect("save settings");
}

#[tokio::test]
async fn a_deeper_mail_setting_fetches_only_the_older_mail_it_adds() {
    // 300 days of mail; Ferry first keeps three months of it.
    let (w, id) = ada_with_mail(SandboxConfig::default(), 240).await;
    let everything = provider_side(&w);
    let recent = sync_three_months(&w, &id, &everything).await;

    // All mail: the older messages come, and only they are fetched.
    w.sandbox.world().log.clear();
    keep_mail_for(&w, 0).await;
    let report = w.core().sync_mail(&id).await.expect("deeper sync");
    assert_eq!(ferry_side(&w, &id).await, everything);
    let older = (everything.len() - recent.len()) as u64;
    assert_eq!(report.counts.added, older, "{report:?}");
    // Each call was for older mail: a message alone that Ferry did not have, or a
    // conversation with three or more older messages (cheaper than three gets).
    let threads = gmail_threads(&w);
    let log = w.sandbox.world().log.all();
    let mut calls = 0;
    for r in log.iter().filter(|r| r.in_batch) {
        let last = r.path.rsplit('/').next().unwrap_or_default().to_owned();
        if r.path.contains("/threads/") {
            let older_in_it = threads
                .iter()
                .filter(|(m, t)| **t == last && !recent.contains_key(*m))
                .count();
            assert!(older_in_it >= 3, "{last} has {older_in_it} older messages");
        } else {
            assert!(!recent.contains_key(&last), "{last} was stored already");
        }
        calls += 1;
    }
    assert!(calls > 0);
    assert!(
        report.counts.quota_units < older * 20,
        "conversations fetched whole cost less than a get per message: {report:?}"
    );

    // Less far back again: what is stored stays, and nothing more is fetched.
    w.sandbox.world().log.clear();
    keep_mail_for(&w, 1).await;
    let report = w.core().sync_mail(&id).await.expect("shallower sync");
    assert_eq!(report.counts.removed, 0);
    assert_eq!(ferry_side(&w, &id).await, everything);
    let listed = logged(&w, |r| r.path.ends_with("/messages"));
    assert_eq!(listed, 0, "a shallower setting lists nothing again");
}

#[tokio::test]
async fn a_deeper_mail_setting_fills_each_outlook_folder_from_further_back() {
    let (w, id) = katherine_with_mail(240).await;
    let everything = outlook_side(&w);
    let recent = sync_three_months(&w, &id, &everything).await;

    keep_mail_for(&w, 12).await;
    let report = w.core().sync_mail(&id).await.expect("deeper sync");
    assert_eq!(ferry_side(&w, &id).await, everything);
    assert_eq!(
        report.counts.added,
        (everything.len() - recent.len()) as u64,
        "{report:?}"
    );
    assert_eq!(report.counts.removed, 0);
    let status = w.core().mail_status().await.expect("status");
    assert!(status.iter().all(|s| s.caught_up), "{status:?}");
}

/// A message moved into a folder made after Ferry last read the folder list is kept,
/// filed nowhere, until the list is read again: minutes later, not the hour an unchanged
/// list waits. Then it is in its new folder (nested in another new one, so found a level
/// down the tree).
#[tokio::test]
async fn a_message_moved_into_a_new_outlook_folder_is_found_there_within_minutes() {
    let (w, id) = katherine_built(
        World::build().manual_time(),
        SandboxConfig::default(),
        60,
        |_| {},
    )
    .await;
    w.core().sync_mail(&id).await.expect("first sync");
    assert_eq!(ferry_side(&w, &id).await, outlook_side(&w));
    let folder_reads = |w: &World| logged(w, |r| r.path.ends_with("/me/mailFolders"));
    let moved = outlook_side(&w)
        .into_keys()
        .next()
        .expect("a message to move");
    let base = "/mail/katherine@contoso.example/messages";
    control(
        &w,
        reqwest::Method::POST,
        &format!("{base}/{moved}/move"),
        serde_json::json!({"folder": "Projects/2027"}),
    )
    .await;

    // The next poll sees it leave; where it went is not a folder Ferry knows yet.
    let reads = folder_reads(&w);
    w.advance(chrono::Duration::minutes(1));
    w.core().sync_mail(&id).await.expect("poll");
    assert_eq!(folder_reads(&w), reads, "the folder list is not due yet");
    let ferry = ferry_side(&w, &id).await;
    assert_eq!(
        ferry.get(&moved).map(|(folders, _)| folders.clone()),
        Some(Vec::new()),
        "kept, filed nowhere"
    );

    // Five minutes on, the list is read again and the new folder synced.
    w.advance(ferry_core::sync::mail::STRAYS_EVERY);
    w.core().sync_mail(&id).await.expect("poll");
    assert_eq!(folder_reads(&w), reads + 1);
    assert_eq!(ferry_side(&w, &id).await, outlook_side(&w));
    assert_eq!(logged(&w, |r| r.path.ends_with("/childFolders")), 1);

    // With no strays left, the list waits its hour again.
    w.advance(ferry_core::sync::mail::STRAYS_EVERY);
    w.core().sync_mail(&id).await.expect("poll");
    assert_eq!(folder_reads(&w), reads + 1);
}

#[tokio::test]
async fn an_outlook_mailbox_in_another_language_still_has_its_inbox_in_the_unified_inbox() {
    // Katherine reads Outlook in German: her folders' display names say so.
    let (w, id) = katherine_prepared(SandboxConfig::default(), 60, |sandbox| {
        let user = sandbox
            .world()
            .find_user_by_email(
                ferry_sandbox::Provider::Microsoft,
                "katherine@contoso.example",
            )
            .expect("Katherine");
        sandbox.world().outlook.with(&user.id, |m| {
            for folder in m.folders.values_mut() {
                match folder.role {
                    Some("inbox") => folder.name = "Posteingang".into(),
                    Some("sentitems") => folder.name = "Gesendete Elemente".into(),
                    _ => {}
                }
            }
        });
    })
    .await;
    let user = w
        .sandbox
        .world()
        .find_user_by_email(
            ferry_sandbox::Provider::Microsoft,
            "katherine@contoso.example",
        )
        .expect("Katherine");
    let in_inbox = w.sandbox.world().outlook.with(&user.id, |m| {
        let inbox = m.folder("inbox").expect("an inbox").id.clone();
        m.in_folder(&inbox).len()
    });
    assert!(in_inbox > 0);
    w.core().sync_mail(&id).await.expect("sync");

    let inbox = w
        .core()
        .mail_list(&ferry_core::inbox::MailListRequest {
            filter: ferry_core::inbox::MailFilter::default(),
            cursor: None,
            limit: 500,
        })
        .await
        .expect("inbox");
    assert_eq!(
        inbox.messages.len(),
        in_inbox,
        "the unified inbox holds her Posteingang"
    );
    let folders = mail::folder_list(w.core().store().pool(), &id)
        .await
        .expect("folders");
    let names: Vec<&str> = folders.iter().map(|f| f.name.as_str()).collect();
    assert!(
        names.contains(&"Inbox") && names.contains(&"Sent Items"),
        "named as Ferry names them: {names:?}"
    );
    assert!(!names.contains(&"Posteingang"), "{names:?}");
}

#[tokio::test]
async fn a_run_that_brings_no_new_mail_still_tells_the_window_the_status_moved() {
    // The commit that makes a folder caught up (or a poll that finds nothing) may carry no
    // message; the window must still hear of it, or it shows "Syncing" until new mail.
    let (mut w, id) = katherine_with_mail(40).await;
    w.core().sync_mail(&id).await.expect("first sync");
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    w.events();
    w.seen.clear();
    let report = w.core().sync_mail(&id).await.expect("a quiet poll");
    assert_eq!(report.counts.added + report.counts.changed, 0, "{report:?}");
    let told = w
        .wait_for("the account's mail changed", |e| match e {
            ferry_core::events::CoreEvent::MailChanged(ids) if ids.contains(&id) => Some(()),
            _ => None,
        })
        .await;
    assert_eq!(told, ());
}

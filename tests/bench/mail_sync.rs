//! Benchmark: a first mail sync, one new message and an idle hour, against the in-process
//! sandbox with 80 ms round trips and the providers' quotas on (Gmail's 2026 table,
//! Graph's 10,000 per 10 minutes and 4 at once). The keeper drives the sync, as in the
//! app, from the moment the account is added.
//!
//! Prints, for Gmail (10,000 messages) and Outlook (10,000 messages over its folders):
//! - the time from the account appearing to its newest 50 inbox messages being listed;
//! - the full sync's time, and its ratio to the provider's floor measured in the same
//!   run: Gmail's quota floor (`shared/provider-reference.md` §3.4(a), the cheaper of
//!   fetching per message and per thread), Graph's round-trip floor (sequential delta
//!   pages per folder at the largest honoured page size, 4 folders at once);
//! - the requests (and Gmail units) spent to show one new message, and what polling an
//!   unchanged mailbox costs per hour;
//! - the 429s the sandbox answered (none are injected, so any is Ferry's).
//!
//! Gmail's quota is scaled (`FERRY_BENCH_GMAIL_QUOTA`, units per user per minute) so that
//! the run takes minutes, not half an hour; the ratio is what counts.
//! `FERRY_BENCH_SYNC_MESSAGES` changes the mailbox size; `FERRY_BENCH_ONLY=gmail` or
//! `outlook` runs one half. Run with `make bench` (or
//! `cargo bench -p ferry-core --bench mail_sync`).

#![allow(clippy::print_stdout, clippy::unwrap_used)] // a benchmark prints its figures

#[path = "../core/support.rs"]
#[allow(dead_code)] // the benchmark uses part of what the tests share
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ferry_core::providers::Provider;
use ferry_core::store::{mail, sync as runs};
use ferry_sandbox::browser::Person;
use ferry_sandbox::mail::control::{seed_mailbox, SeedRequest};
use ferry_sandbox::quota::{gmail_method_cost, GmailProfile};
use ferry_sandbox::{Sandbox, SandboxConfig, SandboxOptions};

use support::{add_account, World, MAIL};

const LATENCY_MS: u64 = 80;
const NEWEST: usize = 50;
/// Graph lets four requests per mailbox run at once.
const GRAPH_LANES: usize = 4;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The sandbox as the benchmark runs it: real round trips, every quota applied.
async fn sandbox(gmail_quota: u64) -> Sandbox {
    let mut config = SandboxConfig {
        latency_ms: LATENCY_MS,
        ..SandboxConfig::default()
    };
    config.quotas.enabled = true;
    config.quotas.gmail_profile = GmailProfile::Y2026;
    config.quotas.gmail_units_per_user_per_min = Some(gmail_quota);
    Sandbox::start(SandboxOptions {
        config,
        ..SandboxOptions::default()
    })
    .await
    .unwrap()
}

fn seed(sandbox: &Sandbox, provider: ferry_sandbox::Provider, email: &str, count: usize) {
    let user = sandbox.world().find_user_by_email(provider, email).unwrap();
    seed_mailbox(
        sandbox.world(),
        &user,
        &SeedRequest {
            seed: 21,
            count,
            // All of it within the first sync's twelve months.
            span_days: Some(300),
            also_to: Vec::new(),
        },
    );
}

/// The sequential trips on Ferry's longest path through an Outlook sync, from the
/// sandbox's log after `from`: (requests that found the folders, most requests to one
/// folder). Folders are synced side by side, so the path is the first plus the second.
fn outlook_path(sandbox: &Sandbox, from: usize) -> (usize, usize) {
    let mut finding = 0;
    let mut per_folder: BTreeMap<String, usize> = BTreeMap::new();
    for r in sandbox.world().log.all().iter().skip(from) {
        if r.in_batch || !r.path.starts_with("/v1.0/") {
            continue;
        }
        match r.path.split_once("/mailFolders/") {
            Some((_, rest)) if rest.contains("/messages") => {
                let folder = rest.split('/').next().unwrap_or_default().to_owned();
                *per_folder.entry(folder).or_default() += 1;
            }
            _ => finding += 1,
        }
    }
    (finding, per_folder.into_values().max().unwrap_or(0))
}

/// Requests the sandbox logged for mail (token and sign-in traffic left out), and how
/// many of them it refused with 429.
fn mail_requests(sandbox: &Sandbox, from: usize) -> (usize, usize) {
    let log = sandbox.world().log.all();
    let mail: Vec<_> = log
        .iter()
        .skip(from)
        .filter(|r| r.path.contains("/gmail/") || r.path.contains("/v1.0/"))
        .filter(|r| !r.in_batch)
        .collect();
    if std::env::var_os("FERRY_BENCH_VERBOSE").is_some() {
        for r in &mail {
            println!("    {} {} {}", r.method, r.path, r.status);
        }
    }
    let refused = mail.iter().filter(|r| r.status == 429).count()
        + log
            .iter()
            .skip(from)
            .filter(|r| r.in_batch && r.status == 429)
            .count();
    (mail.len(), refused)
}

/// Polls every 20 ms until `done`, giving up after `limit`.
async fn until<F, Fut>(limit: Duration, mut done: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "gave up after {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

struct FirstSync {
    newest: Duration,
    full: Duration,
}

/// Adds the account and times the keeper's first sync: the newest inbox messages
/// (`newest`, the sandbox's ids), then all `count` messages, caught up.
async fn first_sync(
    w: &mut World,
    provider: Provider,
    person: Person,
    newest: Vec<String>,
    count: u64,
) -> (String, FirstSync) {
    let id = add_account(&mut w.ferry, provider, MAIL, person).await;
    let pool = w.core().store().pool().clone();
    let core = w.core().clone();
    let newest_time = until(Duration::from_secs(120), || {
        let (pool, id, newest) = (pool.clone(), id.clone(), newest.clone());
        async move { mail::existing(&pool, &id, &newest).await.unwrap().len() == newest.len() }
    })
    .await;
    // The status is read when the window would read it, after a mail change reached it
    // (and every half second in case none does): asking the database every 20 ms would
    // take CPU from the sync it measures.
    let sink = w.ferry.sink.clone();
    let mut asked = Instant::now();
    let full = until(Duration::from_secs(3600), || {
        let changed = sink
            .take()
            .iter()
            .any(|e| matches!(e, ferry_core::events::CoreEvent::MailChanged(_)));
        let ask = changed || asked.elapsed() > Duration::from_millis(500);
        if ask {
            asked = Instant::now();
        }
        let (core, id) = (core.clone(), id.clone());
        async move {
            ask && core
                .mail_status()
                .await
                .unwrap()
                .iter()
                .any(|s| s.account_id == id && s.caught_up && u64::from(s.messages) >= count)
        }
    })
    .await
        + newest_time;
    (
        id,
        FirstSync {
            newest: newest_time,
            full,
        },
    )
}

/// Waits until no sync run of the account is under way (its counts are written when it
/// ends, after its last page).
async fn runs_finished(w: &World, account: &str) {
    let pool = w.core().store().pool().clone();
    until(Duration::from_secs(120), || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM sync_runs WHERE account_id = ? AND finished_at IS NULL",
            )
            .bind(account)
            .fetch_one(&pool)
            .await
            .unwrap()
                == 0
        }
    })
    .await;
}

/// What the last sync run of the account cost, by Ferry's own accounting.
async fn last_run(w: &World, account: &str) -> (i64, i64) {
    let run = runs::runs(w.core().store().pool(), account, 1, true)
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    (run.requests, run.quota_units)
}

/// Delivers one message through the sandbox's control API, asks for a sync (as window
/// focus or Sync now would) and counts the requests until it is stored. Then one more
/// poll with nothing new: its requests and units, per hour of polling a minute.
async fn new_message_and_idle(w: &World, account: &str, key: &str, folder: &str) {
    let before = w.sandbox.world().log.all().len();
    let message = format!(
        "From: Bench <bench@example.net>\r\nTo: {key}\r\nSubject: One new message\r\nMessage-ID: <bench-new@example.net>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n\r\nHello.\r\n"
    );
    let response = reqwest::Client::new()
        .post(format!("{}/mail/{key}/messages", w.sandbox.control_url()))
        .json(&serde_json::json!({"raw": message, "labels": [folder]}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let pool = w.core().store().pool().clone();
    w.core().check_now();
    let shown = until(Duration::from_secs(120), || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM mail_messages WHERE account_id = ? AND message_id = ?",
            )
            .bind(account)
            .bind("bench-new@example.net")
            .fetch_one(&pool)
            .await
            .unwrap()
                > 0
        }
    })
    .await;
    let (http, _) = mail_requests(&w.sandbox, before);
    runs_finished(w, account).await;
    println!(
        "  one new message: shown {:.2} s after a sync was asked for, {http} HTTP requests until then (target <= 2)",
        secs(shown)
    );

    let before = w.sandbox.world().log.all().len();
    let runs_before = runs::runs(w.core().store().pool(), account, 1000, true)
        .await
        .unwrap()
        .len();
    w.core().check_now();
    until(Duration::from_secs(60), || {
        let pool = pool.clone();
        async move {
            runs::runs(&pool, account, 1000, true)
                .await
                .unwrap()
                .iter()
                .filter(|r| r.finished_at.is_some())
                .count()
                > runs_before
        }
    })
    .await;
    let (http, _) = mail_requests(&w.sandbox, before);
    let (requests, units) = last_run(w, account).await;
    println!(
        "  idle poll: {http} HTTP requests ({requests} calls, {units} units); polling each minute: {} requests and {} units an hour",
        http * 60,
        units * 60
    );
}

async fn gmail(count: usize, quota: u64) {
    let sandbox = sandbox(quota).await;
    seed(
        &sandbox,
        ferry_sandbox::Provider::Google,
        "ada@example.com",
        count,
    );
    let user = sandbox
        .world()
        .find_user_by_email(ferry_sandbox::Provider::Google, "ada@example.com")
        .unwrap();
    let (newest, threads) = sandbox.world().gmail.with(sandbox.world(), &user.id, |m| {
        let newest: Vec<String> = m
            .newest_first()
            .filter(|s| s.labels.contains("INBOX"))
            .take(NEWEST)
            .map(|s| s.id.clone())
            .collect();
        (newest, m.threads_total() as u64)
    });
    let mut w = World::build()
        .sandbox(sandbox)
        .providers(move |p| {
            if let Some(google) = p.google.as_mut() {
                google.gmail_quota_per_minute = quota;
            }
        })
        .start()
        .await;
    w.core().start_keeper();

    // §3.4(a): a profile call, the listing at 500 a page, then every message (or every
    // thread) fetched.
    let cost = |method| gmail_method_cost(GmailProfile::Y2026, method);
    let n = count as u64;
    let per_message = cost("users.getProfile")
        + n.div_ceil(500) * cost("users.messages.list")
        + n * cost("users.messages.get");
    let per_thread = cost("users.getProfile")
        + threads.div_ceil(500) * cost("users.threads.list")
        + threads * cost("users.threads.get");
    let floor_units = per_message.min(per_thread);
    let floor = Duration::from_secs_f64(floor_units as f64 / quota as f64 * 60.0);

    let before = w.sandbox.world().log.all().len();
    let (id, sync) = first_sync(
        &mut w,
        Provider::Google,
        Person::new("ada@example.com", "ada"),
        newest,
        n,
    )
    .await;
    let (http, refused) = mail_requests(&w.sandbox, before);
    runs_finished(&w, &id).await;
    let status = w.core().mail_status().await.unwrap();
    let spent = status.iter().find(|s| s.account_id == id).unwrap();
    println!("Gmail, {count} messages in {threads} threads, quota {quota} units a minute (2026 table), {LATENCY_MS} ms round trips:");
    println!("  newest {NEWEST} inbox messages listed: {:.2} s after the account appeared (target <= 1.5 s)", secs(sync.newest));
    println!(
        "  full sync: {:.1} s; quota floor {:.1} s ({floor_units} units: per message {per_message}, per thread {per_thread}); ratio {:.3} (target <= 1.1)",
        secs(sync.full),
        secs(floor),
        secs(sync.full) / secs(floor),
    );
    println!(
        "  spent: {http} HTTP requests, {} calls, {} quota units; 429s: {refused}",
        spent.requests_today, spent.quota_units_today
    );
    new_message_and_idle(&w, &id, "ada@example.com", "INBOX").await;
    w.core().shutdown().await;
}

/// The makespan of sequential page chains on `lanes` parallel lanes (longest first).
fn makespan(mut chains: Vec<u64>, lanes: usize) -> u64 {
    chains.sort_unstable_by(|a, b| b.cmp(a));
    let mut lane = vec![0u64; lanes];
    for chain in chains {
        let least = lane.iter_mut().min().unwrap();
        *least += chain;
    }
    lane.into_iter().max().unwrap_or(0)
}

async fn graph(count: usize) {
    let sandbox = sandbox(6_000).await;
    seed(
        &sandbox,
        ferry_sandbox::Provider::Microsoft,
        "katherine@contoso.example",
        count,
    );
    let config = sandbox.world().config();
    let page = config.microsoft.graph_max_page_size_messages as u64;
    let user = sandbox
        .world()
        .find_user_by_email(
            ferry_sandbox::Provider::Microsoft,
            "katherine@contoso.example",
        )
        .unwrap();
    let (newest, per_folder) = sandbox.world().outlook.with(&user.id, |m| {
        let inbox = m.folder("inbox").map(|f| f.id.clone()).unwrap_or_default();
        let mut messages = m.in_folder(&inbox);
        messages.sort_by_key(|msg| std::cmp::Reverse(msg.received_ms));
        let newest: Vec<String> = messages
            .iter()
            .take(NEWEST)
            .map(|msg| msg.immutable_id.clone())
            .collect();
        let per_folder: BTreeMap<String, u64> = m
            .folders
            .values()
            .map(|f| (f.name.clone(), m.in_folder(&f.id).len() as u64))
            .collect();
        (newest, per_folder)
    });

    // One round trip, measured: the sandbox's latency on a cheap call, plus the time
    // Graph works on each call.
    let probe = format!("{}/common/discovery/v2.0/keys", sandbox.microsoft_url());
    let http = reqwest::Client::new();
    let mut trips = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        http.get(&probe).send().await.unwrap();
        trips.push(start.elapsed());
    }
    trips.sort();
    let rtt = trips[2] + Duration::from_millis(config.microsoft.graph_service_ms);
    // The folder list, then each folder's delta chain; an empty folder still takes a page.
    let chains: Vec<u64> = per_folder
        .values()
        .map(|n| n.div_ceil(page).max(1))
        .collect();
    let trips_floor = 1 + makespan(chains, GRAPH_LANES);
    let floor = rtt * trips_floor as u32;

    let mut w = World::build().sandbox(sandbox).start().await;
    w.core().start_keeper();
    let before = w.sandbox.world().log.all().len();
    let (id, sync) = first_sync(
        &mut w,
        Provider::Microsoft,
        Person::new("katherine@contoso.example", "katherine"),
        newest,
        count as u64,
    )
    .await;
    let (http_requests, refused) = mail_requests(&w.sandbox, before);
    let (finding, longest) = outlook_path(&w.sandbox, before);
    runs_finished(&w, &id).await;
    let folders: Vec<String> = per_folder
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    println!(
        "Outlook, {count} messages in {} folders ({}), page size up to {page}, {LATENCY_MS} ms round trips:",
        folders.len(),
        folders.join(", ")
    );
    println!("  newest {NEWEST} inbox messages listed: {:.2} s after the account appeared (target <= 1.5 s)", secs(sync.newest));
    println!(
        "  full sync: {:.1} s; round-trip floor {:.2} s ({trips_floor} sequential trips of {:.0} ms); ratio {:.1} (target <= 1.2)",
        secs(sync.full),
        secs(floor),
        secs(rtt) * 1000.0,
        secs(sync.full) / secs(floor)
    );
    println!("  spent: {http_requests} HTTP requests; 429s: {refused}");
    let path = finding + longest;
    println!(
        "  Ferry's longest path: {finding} requests to find the folders, then {longest} for the largest folder (a small first page, and a listing of what the 5,000-message cap of a filtered delta round left out): {path} sequential trips, {:.2} s, {:.1} times the floor before anything is read or stored",
        secs(rtt) * path as f64,
        path as f64 / trips_floor as f64
    );
    let (fetching, pages) = fetch_only(&w, &id, &user.id, page as u32).await;
    println!(
        "  the same delta chains fetched and read but not stored, four folders at a time: {:.1} s ({:.1} times the floor; the sandbox shares this machine's two cores)",
        secs(fetching),
        secs(fetching) / secs(floor)
    );
    let writing = store_only(pages).await;
    println!(
        "  the same pages written to an empty store, without the network: {:.1} s ({:.1} times the floor; SQLite has one writer, so this bounds the full sync from below)",
        secs(writing),
        secs(writing) / secs(floor)
    );
    new_message_and_idle(&w, &id, "katherine@contoso.example", "inbox").await;
    w.core().shutdown().await;
}

/// Every folder's delta chain fetched and decoded as Ferry's sync fetches it (pages of
/// `page`, four folders at a time, the largest first) but not stored: the time the
/// sandbox and HTTP take for the mailbox on this machine, and the pages (folder, items).
async fn fetch_only(
    w: &World,
    account: &str,
    user: &str,
    page: u32,
) -> (Duration, Vec<(String, Vec<serde_json::Value>)>) {
    use ferry_core::providers::microsoft::graph_mail::{DeltaItem, GraphMailClient};
    let token = w.core().access_token(account).await.unwrap();
    let base = url::Url::parse(&format!("{}/v1.0/", w.sandbox.microsoft_url())).unwrap();
    let client = GraphMailClient::new(reqwest::Client::new(), base);
    let mut folders: Vec<(usize, String)> = w.sandbox.world().outlook.with(user, |m| {
        m.folders
            .values()
            .map(|f| (m.in_folder(&f.id).len(), f.id.clone()))
            .collect()
    });
    folders.sort_unstable_by(|a, b| b.cmp(a));
    let queue = std::sync::Mutex::new(folders.into_iter().map(|(_, id)| id));
    let next = || queue.lock().unwrap().next();
    let pages = std::sync::Mutex::new(Vec::new());
    let lane = || async {
        while let Some(folder) = next() {
            let mut link = client
                .initial_link(&folder, chrono::DateTime::UNIX_EPOCH)
                .unwrap();
            loop {
                let answer = client.delta(&token, &link, page).await.unwrap();
                let items = answer
                    .items
                    .into_iter()
                    .filter_map(|item| match item {
                        DeltaItem::Message { json, .. } => Some(json),
                        DeltaItem::Removed { .. } => None,
                    })
                    .collect();
                pages.lock().unwrap().push((folder.clone(), items));
                match answer.next_link {
                    Some(more) => link = more,
                    None => break,
                }
            }
        }
    };
    let start = Instant::now();
    tokio::join!(lane(), lane(), lane(), lane());
    (start.elapsed(), pages.into_inner().unwrap())
}

/// `pages` written to an empty store as a sync writes them (transactions of
/// `COMMIT_CHUNK` messages, each with its checkpoint), one after the other: the time the
/// store takes for the mailbox with no network in the way.
async fn store_only(pages: Vec<(String, Vec<serde_json::Value>)>) -> Duration {
    use ferry_core::store::mail::{FolderRecord, MailPage};
    use ferry_core::sync::mail::graph::{change_for, COMMIT_CHUNK};
    let dir = tempfile::tempdir().unwrap();
    let store = ferry_core::store::Store::open(&dir.path().join("ferry.sqlite3"))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO accounts (id, provider, subject, email, display_name, created_at, updated_at)
         VALUES ('bench', 'microsoft', 'bench', 'katherine@contoso.example', 'Katherine', 0, 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    // Read first, as the sync does beside its writes; only the writing is timed. A
    // folder's record goes with its first transaction, as the sync writes it once.
    let mut written = Vec::new();
    let mut recorded = std::collections::HashSet::new();
    for (folder, items) in pages {
        let changes: Vec<_> = items
            .into_iter()
            .map(|json| change_for(json, &folder))
            .collect();
        let mut changes = changes.into_iter().peekable();
        while changes.peek().is_some() {
            let folders = if recorded.insert(folder.clone()) {
                vec![FolderRecord {
                    id: folder.clone(),
                    name: folder.clone(),
                    system: false,
                    parent_id: None,
                }]
            } else {
                Vec::new()
            };
            written.push(MailPage {
                account_id: "bench".into(),
                scope: folder.clone(),
                folders,
                changes: changes.by_ref().take(COMMIT_CHUNK).collect(),
                checkpoint: "{}".into(),
                at: 0,
            });
        }
    }
    let start = Instant::now();
    for page in &written {
        mail::apply(store.writer(), page).await.unwrap();
    }
    let took = start.elapsed();
    store.close().await;
    took
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count = env_number("FERRY_BENCH_SYNC_MESSAGES", 10_000) as usize;
    let quota = env_number("FERRY_BENCH_GMAIL_QUOTA", 30_000);
    // `FERRY_BENCH_ONLY=gmail` (or `outlook`) runs one half.
    let only = std::env::var("FERRY_BENCH_ONLY").unwrap_or_default();
    if only != "outlook" {
        gmail(count, quota).await;
    }
    if only != "gmail" {
        graph(count).await;
    }
}

//! Benchmark: the mail store at 100,000 messages. The sandbox's generator writes the mail
//! (threads, charsets, HTML, attachments); each message goes through the same reading and
//! the same page-and-checkpoint writes as a Gmail sync, in pages of 500.
//!
//! Prints: indexing time (reading and writing), the database's size per 1,000 messages
//! (with and without the raw messages it keeps), and p50/p95 latency of 20 typical
//! searches and of the unified inbox's first page. The brief's target is p95 ≤ 50 ms.
//! `FERRY_BENCH_MESSAGES` changes the count. Run with `make bench` (or
//! `cargo bench -p ferry-core --bench mail_search`).

#![allow(clippy::print_stdout, clippy::unwrap_used)] // a benchmark prints its figures

use std::time::{Duration, Instant};

use ferry_core::inbox::{self, MailFilter, MailListRequest, Mailbox};
use ferry_core::providers::google::gmail::{Content, RawMessage};
use ferry_core::store::mail::{self, MailChange, MailPage};
use ferry_core::store::Store;
use ferry_core::sync::mail::gmail::new_message;
use ferry_sandbox::mail::generate::{mailbox, Spec};

const PAGE: usize = 500;
const CHUNK: usize = 10_000;
const ROUNDS: usize = 10;
const ACCOUNT: &str = "bench-account";

/// What people type: words, names, phrases, filters and their mixes.
const QUERIES: [&str; 20] = [
    "budget",
    "invoice",
    "lisbon",
    "flight hotel",
    "\"design review\"",
    "meet",
    "from:grace",
    "from:billing invoice",
    "to:ada",
    "has:attachment",
    "has:attachment report",
    "is:unread",
    "is:unread agenda",
    "account:ada",
    "after:2026-06-01 launch",
    "before:2026-03-01 photos",
    "größenänderung",
    "счёт",
    "quarterly planning",
    "approved numbers tomorrow",
];

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn page_of(store: &Store, filter: MailFilter) -> (Duration, usize) {
    let start = Instant::now();
    let list = inbox::list(
        store.pool(),
        &MailListRequest {
            filter,
            cursor: None,
            limit: 50,
        },
    )
    .await
    .unwrap();
    (start.elapsed(), list.messages.len())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let count: usize = std::env::var("FERRY_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    // FERRY_BENCH_DB keeps the database there, to look at afterwards.
    let path = std::env::var_os("FERRY_BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("ferry.sqlite3"));
    let reuse = path.exists();
    let store = Store::open(&path).await.unwrap();
    if reuse {
        // A database kept from an earlier run (FERRY_BENCH_DB): only the searches run.
        println!("Searching the kept database {}:", path.display());
        searches(&store).await;
        return;
    }
    sqlx::query(
        "INSERT INTO accounts (id, provider, subject, email, display_name, created_at, updated_at)
         VALUES (?, 'google', 'bench', 'ada@example.com', 'Ada', 0, 0)",
    )
    .bind(ACCOUNT)
    .execute(store.pool())
    .await
    .unwrap();

    println!("Mail store with {count} generated messages (release build):");
    let newest_ms = 1_796_000_000_000_i64;
    let mut reading = Duration::ZERO;
    let mut writing = Duration::ZERO;
    let mut raw_bytes = 0usize;
    let mut written = 0usize;
    for chunk in 0..count.div_ceil(CHUNK) {
        let letters = mailbox(&Spec {
            seed: chunk as u64 + 1,
            count: CHUNK.min(count - written),
            owner: "ada@example.com".into(),
            also_to: Vec::new(),
            newest_ms: newest_ms - chunk as i64 * 30 * 86_400_000,
            span_days: 30,
        });
        for (n, page) in letters.chunks(PAGE).enumerate() {
            let start = Instant::now();
            let changes: Vec<MailChange> = page
                .iter()
                .enumerate()
                .map(|(i, letter)| {
                    raw_bytes += letter.raw.len();
                    let mut labels = vec!["INBOX".to_owned()];
                    if letter.unread {
                        labels.push("UNREAD".into());
                    }
                    MailChange::Upsert(Box::new(new_message(RawMessage {
                        id: format!("{chunk}-{n}-{i}"),
                        thread_id: format!("{chunk}-{}", letter.conversation),
                        label_ids: labels,
                        history_id: "1".into(),
                        internal_date: letter.received_ms,
                        raw: letter.raw.clone(),
                        content: Content::Rfc822,
                    })))
                })
                .collect();
            reading += start.elapsed();
            let start = Instant::now();
            mail::apply(
                store.pool(),
                &MailPage {
                    account_id: ACCOUNT.into(),
                    scope: String::new(),
                    folders: vec![mail::FolderRecord {
                        id: "INBOX".into(),
                        name: "INBOX".into(),
                        system: true,
                        parent_id: None,
                    }],
                    changes,
                    checkpoint: format!("{{\"page\":{written}}}"),
                    at: newest_ms,
                },
            )
            .await
            .unwrap();
            writing += start.elapsed();
            written += page.len();
        }
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(store.pool())
        .await
        .unwrap();
    let bytes = std::fs::metadata(&path).unwrap().len() as f64;
    let kept: i64 = sqlx::query_scalar("SELECT sum(length(raw)) FROM mail_raw")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let kept = kept as f64;
    let per_thousand = |b: f64| b / (written as f64 / 1000.0) / 1_048_576.0;
    println!(
        "  indexing: {:.1} s in all ({:.2} ms per message): reading {:.1} s, writing {:.1} s",
        (reading + writing).as_secs_f64(),
        ms(reading + writing) / written as f64,
        reading.as_secs_f64(),
        writing.as_secs_f64()
    );
    println!(
        "  database: {:.0} MiB, {:.2} MiB per 1,000 messages; {:.2} MiB of it the messages kept ({:.2} MiB as received, compressed), {:.2} MiB the index and fields",
        bytes / 1_048_576.0,
        per_thousand(bytes),
        per_thousand(kept),
        per_thousand(raw_bytes as f64),
        per_thousand(bytes - kept)
    );

    searches(&store).await;
    store.close().await;
}

async fn searches(store: &Store) {
    let mut all = Vec::new();
    println!("  searches ({ROUNDS} rounds each, first page of 50):");
    for query in QUERIES {
        let filter = MailFilter {
            mailbox: Mailbox::All,
            search: query.into(),
            ..MailFilter::default()
        };
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..ROUNDS {
            let (took, n) = page_of(store, filter.clone()).await;
            times.push(took);
            found = n;
        }
        times.sort();
        println!(
            "    {query:<28} median {:>6.1} ms   worst {:>6.1} ms   ({found} on the page)",
            ms(percentile(&times, 50)),
            ms(times[times.len() - 1])
        );
        all.extend(times);
    }
    all.sort();
    println!(
        "  search over all 20 queries: p50 {:.1} ms, p95 {:.1} ms (target p95 ≤ 50 ms)",
        ms(percentile(&all, 50)),
        ms(percentile(&all, 95))
    );
    let mut inbox_times = Vec::new();
    for _ in 0..ROUNDS * 2 {
        inbox_times.push(page_of(store, MailFilter::default()).await.0);
    }
    inbox_times.sort();
    println!(
        "  unified inbox, first page: p50 {:.1} ms, p95 {:.1} ms",
        ms(percentile(&inbox_times, 50)),
        ms(percentile(&inbox_times, 95))
    );
}

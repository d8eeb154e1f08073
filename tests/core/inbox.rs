//! The unified inbox over two synced accounts (Gmail and Outlook) that share part of their
//! mail: one row per message, pages that cover everything once, search with its filters
//! and highlights, the reading pane's safe HTML, and attachments taken from the message.

use std::collections::HashSet;

use ferry_core::inbox::{self, MailFilter, MailListRequest, Mailbox, MessageRef};
use ferry_core::providers::Provider;
use ferry_core::sync::mail::parse::RemoteContent;
use ferry_core::ErrorCode;
use ferry_sandbox::browser::Person;
use ferry_sandbox::mail::control::{seed_mailbox, SeedRequest};
use ferry_sandbox::{Sandbox, SandboxOptions};

use crate::support::{add_account, World, MAIL};

const ADA: &str = "ada@example.com";
const KATHERINE: &str = "katherine@contoso.example";

struct Two {
    w: World,
    google: String,
    microsoft: String,
}

/// Ada's Gmail gets 80 messages that also reach Katherine's Outlook, plus one with a
/// word nothing else has; Katherine has 30 of her own. Both accounts are added and synced.
async fn two_accounts() -> Two {
    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .expect("sandbox");
    let ada = sandbox
        .world()
        .find_user_by_email(ferry_sandbox::Provider::Google, ADA)
        .expect("Ada");
    seed_mailbox(
        sandbox.world(),
        &ada,
        &SeedRequest {
            seed: 21,
            count: 80,
            span_days: Some(200),
            also_to: vec![KATHERINE.into()],
        },
    );
    let katherine = sandbox
        .world()
        .find_user_by_email(ferry_sandbox::Provider::Microsoft, KATHERINE)
        .expect("Katherine");
    seed_mailbox(
        sandbox.world(),
        &katherine,
        &SeedRequest {
            seed: 22,
            count: 30,
            span_days: Some(200),
            also_to: Vec::new(),
        },
    );
    let mut w = World::build().sandbox(sandbox).start().await;
    let response = reqwest::Client::new()
        .post(format!("{}/mail/{ADA}/messages", w.sandbox.control_url()))
        .json(&serde_json::json!({
            "raw": "Message-ID: <quokka@example.net>\r\nFrom: Rottnest <ranger@example.net>\r\n\
                    To: ada@example.com\r\nSubject: Island census\r\n\r\nWe counted every quokka twice.\r\n"
        }))
        .send()
        .await
        .expect("deliver");
    assert!(response.status().is_success(), "{}", response.status());
    let google = add_account(
        &mut w.ferry,
        Provider::Google,
        MAIL,
        Person::new(ADA, "ada"),
    )
    .await;
    let microsoft = add_account(
        &mut w.ferry,
        Provider::Microsoft,
        MAIL,
        Person::new(KATHERINE, "katherine"),
    )
    .await;
    w.core().sync_mail(&google).await.expect("Gmail sync");
    w.core().sync_mail(&microsoft).await.expect("Outlook sync");
    Two {
        w,
        google,
        microsoft,
    }
}

fn request(filter: MailFilter, cursor: Option<String>, limit: u32) -> MailListRequest {
    MailListRequest {
        filter,
        cursor,
        limit,
    }
}

fn searching(text: &str) -> MailFilter {
    MailFilter {
        mailbox: Mailbox::All,
        search: text.into(),
        ..MailFilter::default()
    }
}

fn text_of(segments: &[inbox::Segment]) -> String {
    segments.iter().map(|s| s.text.as_str()).collect()
}

#[tokio::test]
async fn two_accounts_make_one_inbox_searchable_and_readable() {
    let t = two_accounts().await;
    let pool = t.w.core().store().pool().clone();

    let status = t.w.core().mail_status().await.expect("status");
    assert_eq!(status.len(), 2);
    for s in &status {
        assert!(s.started && s.caught_up, "synced to the end: {s:?}");
        assert!(s.messages >= 80 && s.last_sync_at.is_some(), "{s:?}");
        assert_eq!(s.last_error, None);
    }

    // Every page in turn: newest first, each message once (by Message-ID) across pages.
    let mut cursor = None;
    let mut seen = HashSet::new();
    let mut shared = 0;
    let mut last = None;
    let mut accounts = HashSet::new();
    loop {
        let page = inbox::list(&pool, &request(MailFilter::default(), cursor, 17))
            .await
            .expect("page");
        assert!(!page.ranked, "no words: date order");
        let in_page: HashSet<_> = page.messages.iter().map(|m| &m.message_id).collect();
        assert_eq!(
            in_page.len(),
            page.messages.len(),
            "a page lists a message once"
        );
        for m in &page.messages {
            let key = m.message_id.clone().unwrap_or_else(|| m.id.clone());
            if !seen.insert(key) {
                // The window drops a repeat from an earlier page.
                continue;
            }
            if let Some(previous) = last {
                assert!(m.received_at <= previous, "newest first");
            }
            last = Some(m.received_at);
            accounts.insert(m.account_id.clone());
            if !m.also_in.is_empty() {
                shared += 1;
                assert_ne!(m.also_in[0].account_id, m.account_id);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let inbox_messages: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT coalesce(m.message_id, m.id)) FROM mail_messages m
         JOIN mail_message_folders f ON f.account_id = m.account_id AND f.message = m.id
         JOIN mail_folders d ON d.account_id = f.account_id AND d.id = f.folder
         WHERE upper(d.name) = 'INBOX'",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(
        seen.len() as i64,
        inbox_messages,
        "the pages cover the inbox"
    );
    assert!(
        inbox_messages > 40,
        "the seeded mail is mostly in the inbox"
    );
    assert_eq!(accounts.len(), 2, "both accounts are in the one inbox");
    assert!(
        shared > 20,
        "mail sent to both accounts shows once, marked with both: {shared}"
    );

    // Search: a word from one body, whole and as a prefix, highlighted.
    for typed in ["quokka", "quok", "\"counted every quokka\""] {
        let found = inbox::list(&pool, &request(searching(typed), None, 50))
            .await
            .expect("search");
        assert!(found.ranked);
        assert_eq!(found.messages.len(), 1, "{typed}: one message has it");
        let hit = &found.messages[0];
        assert_eq!(hit.account_id, t.google);
        assert!(
            hit.snippet
                .iter()
                .any(|s| s.hit && s.text.to_lowercase().contains("quokka")),
            "{typed}: the match is marked in {:?}",
            hit.snippet
        );
    }
    let by_sender = inbox::list(&pool, &request(searching("from:rottnest census"), None, 50))
        .await
        .expect("from:");
    assert_eq!(by_sender.messages.len(), 1);
    assert_eq!(text_of(&by_sender.messages[0].subject), "Island census");
    assert!(
        by_sender.messages[0]
            .subject
            .iter()
            .any(|s| s.hit && s.text == "census"),
        "the subject's match is marked"
    );

    let outlook_only = inbox::list(&pool, &request(searching("account:contoso"), None, 200))
        .await
        .expect("account:");
    assert!(!outlook_only.messages.is_empty());
    assert!(outlook_only
        .messages
        .iter()
        .all(|m| m.account_id == t.microsoft));

    let with_files = inbox::list(&pool, &request(searching("has:attachment"), None, 200))
        .await
        .expect("has:attachment");
    assert!(
        !with_files.messages.is_empty(),
        "the generator attaches files"
    );
    assert!(with_files.messages.iter().all(|m| m.has_attachments));

    let err = inbox::list(&pool, &request(searching("before:soon"), None, 50))
        .await
        .expect_err("a bad date");
    let err = ferry_core::AppError::from(err);
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(
        err.message.starts_with("Before: needs a date"),
        "{}",
        err.message
    );
    let err = inbox::list(
        &pool,
        &request(MailFilter::default(), Some("junk".into()), 5),
    )
    .await
    .expect_err("a forged cursor");
    assert_eq!(ferry_core::AppError::from(err).code, ErrorCode::Validation);

    // Filters: unread only, and one account's folder.
    let unread = inbox::list(
        &pool,
        &request(
            MailFilter {
                mailbox: Mailbox::All,
                unread_only: true,
                ..MailFilter::default()
            },
            None,
            200,
        ),
    )
    .await
    .expect("unread");
    assert!(!unread.messages.is_empty() && unread.messages.iter().all(|m| m.unread));

    // The reading pane: remote content blocked until allowed; inline images in place,
    // from the message itself or fetched from Gmail; an attachment's bytes as large as it
    // said. Gmail's messages came both ways: alone as raw bytes, and with their
    // conversation as Gmail's JSON (whose attachments stay at Gmail until opened).
    let google_rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, raw_format FROM mail_messages WHERE account_id = ? AND has_html",
    )
    .bind(&t.google)
    .fetch_all(&pool)
    .await
    .expect("ids");
    let core = t.w.core();
    let files = tempfile::tempdir().expect("a folder for attachments");
    let mut blocked = 0;
    let mut inline_images = HashSet::new();
    let mut attachments_read = HashSet::new();
    for (id, format) in &google_rows {
        let at = MessageRef {
            account_id: t.google.clone(),
            id: id.clone(),
        };
        let view = core.read_message(&at, false).await.expect("read");
        let html = view.html.clone().expect("an HTML message has HTML");
        assert!(!html.contains("<script"), "no script survives");
        assert!(
            !html.contains("src=\"http"),
            "no remote image while blocked"
        );
        assert!(!html.contains("\"cid:"), "every inline image is in place");
        if html.contains("src=\"data:image/") {
            inline_images.insert(format.clone());
        }
        if view.remote_blocked > 0 {
            blocked += 1;
            let allowed = core.read_message(&at, true).await.expect("read, allowing");
            assert_eq!(allowed.remote_blocked, 0);
            assert!(allowed.html.expect("html").contains("src=\"http"));
        }
        for attachment in view.attachments.iter().filter(|a| !a.inline) {
            let path = core
                .save_attachment(&at, attachment.index, Some(files.path()))
                .await
                .expect("attachment");
            let saved = std::fs::read(&path).expect("saved");
            assert_eq!(
                saved.len(),
                attachment.size as usize,
                "{}",
                attachment.filename
            );
            attachments_read.insert(format.clone());
        }
    }
    assert!(blocked > 0, "some newsletters carry a tracking pixel");
    let both: HashSet<String> = ["rfc822".to_owned(), "gmail-json".to_owned()].into();
    assert_eq!(
        inline_images, both,
        "cid: images are shown, whichever way mail came"
    );
    assert_eq!(
        attachments_read, both,
        "attachments open, whichever way mail came"
    );

    // A conversation lists its messages oldest first.
    let threaded: (String, String) = sqlx::query_as(
        "SELECT account_id, thread_id FROM mail_messages GROUP BY account_id, thread_id
         ORDER BY count(*) DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .expect("a thread");
    let conversation = inbox::conversation(&pool, &threaded.0, &threaded.1)
        .await
        .expect("conversation");
    assert!(conversation.len() > 1, "the generator writes long threads");
    assert!(conversation
        .windows(2)
        .all(|w| w[0].received_at <= w[1].received_at));

    let gone = inbox::read(
        &pool,
        &MessageRef {
            account_id: t.google.clone(),
            id: "no-such-message".into(),
        },
        RemoteContent::Block,
    )
    .await
    .expect_err("gone");
    assert_eq!(ferry_core::AppError::from(gone).code, ErrorCode::NotFound);
}

async fn deliver(w: &World, to: &str, word: &str) {
    let raw = format!(
        "Message-ID: <{word}@example.net>\r\nFrom: Someone <someone@example.net>\r\nTo: {to}\r\nSubject: {word}\r\n\r\nAbout the {word}.\r\n"
    );
    let response = reqwest::Client::new()
        .post(format!("{}/mail/{to}/messages", w.sandbox.control_url()))
        .json(&serde_json::json!({ "raw": raw }))
        .send()
        .await
        .expect("deliver");
    assert!(response.status().is_success(), "{}", response.status());
}

async fn found(w: &World, word: &str) -> usize {
    inbox::list(w.core().store().pool(), &request(searching(word), None, 10))
        .await
        .expect("search")
        .messages
        .len()
}

/// Whether a message with `word` is found within 10 s.
async fn arrives(w: &World, word: &str) -> bool {
    for _ in 0..100 {
        if found(w, word).await == 1 {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn a_paused_service_waits_while_the_others_sync_and_the_log_shows_each_run() {
    let t = two_accounts().await;
    let core = t.w.core();

    let log = core.sync_log(&t.google).await.expect("log");
    let first = log.last().expect("the first sync is logged");
    assert_eq!(first.kind, "full");
    assert!(
        first.added > 80 && first.requests > 0 && first.quota_units > 0,
        "{first:?}"
    );
    assert!(log.iter().all(|r| r.error.is_none()));

    core.set_service_paused(&t.google, ferry_core::services::Service::Mail, true)
        .await
        .expect("pause");
    let status = core.mail_status().await.expect("status");
    assert!(status.iter().any(|s| s.account_id == t.google && s.paused));
    assert!(status
        .iter()
        .any(|s| s.account_id == t.microsoft && !s.paused));
    assert!(
        status.iter().all(|s| s.requests_today > 0),
        "today's traffic is counted: {status:?}"
    );

    core.start_keeper();
    deliver(&t.w, ADA, "platypus").await;
    deliver(&t.w, KATHERINE, "echidna").await;
    core.check_now();
    assert!(
        arrives(&t.w, "echidna").await,
        "the Outlook account synced on Sync now"
    );
    assert_eq!(found(&t.w, "platypus").await, 0, "the paused Gmail waited");

    core.set_service_paused(&t.google, ferry_core::services::Service::Mail, false)
        .await
        .expect("resume");
    core.check_now();
    assert!(
        arrives(&t.w, "platypus").await,
        "resumed, the Gmail account caught up"
    );
    let err = core
        .set_service_paused("gone", ferry_core::services::Service::Mail, true)
        .await
        .expect_err("no such account");
    assert_eq!(err.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn messages_export_as_eml_and_a_search_as_mbox() {
    let t = two_accounts().await;
    let core = t.w.core();
    let pool = core.store().pool().clone();
    let out = tempfile::tempdir().expect("dir");

    let quokka = inbox::list(&pool, &request(searching("quokka"), None, 5))
        .await
        .expect("search")
        .messages
        .remove(0);
    let at = MessageRef {
        account_id: quokka.account_id.clone(),
        id: quokka.id.clone(),
    };
    let path = core.export_message(&at, out.path()).await.expect("eml");
    assert_eq!(path.file_name().expect("name"), "Island census.eml");
    let saved = std::fs::read(&path).expect("read");
    assert!(
        saved.starts_with(b"Message-ID: <quokka@example.net>"),
        "Gmail's bytes as received"
    );

    // A Gmail message Ferry keeps as Gmail's JSON (it came with its conversation) is
    // exported as Gmail has it, fetched raw.
    let kept_as_json: String = sqlx::query_scalar(
        "SELECT id FROM mail_messages WHERE account_id = ? AND raw_format = 'gmail-json' LIMIT 1",
    )
    .bind(&t.google)
    .fetch_one(&pool)
    .await
    .expect("a message that came with its conversation");
    let path = core
        .export_message(
            &MessageRef {
                account_id: t.google.clone(),
                id: kept_as_json.clone(),
            },
            out.path(),
        )
        .await
        .expect("Gmail eml");
    let world = t.w.sandbox.world();
    let user = world
        .find_user_by_email(ferry_sandbox::Provider::Google, ADA)
        .expect("Ada");
    let at_gmail = world.gmail.with(world, &user.id, |m| {
        m.newest_first()
            .find(|s| s.id == kept_as_json)
            .map(|s| s.raw.to_vec())
            .expect("in the mailbox")
    });
    assert_eq!(std::fs::read(&path).expect("read"), at_gmail);

    // An Outlook message's MIME comes from Outlook itself.
    let outlook: String =
        sqlx::query_scalar("SELECT id FROM mail_messages WHERE account_id = ? LIMIT 1")
            .bind(&t.microsoft)
            .fetch_one(&pool)
            .await
            .expect("an Outlook message");
    let path = core
        .export_message(
            &MessageRef {
                account_id: t.microsoft.clone(),
                id: outlook,
            },
            out.path(),
        )
        .await
        .expect("Outlook eml");
    let mime = String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned();
    assert!(
        mime.contains("Subject:") && mime.contains("Message-ID:"),
        "{mime:.300}"
    );

    let (path, count) = core
        .export_mbox(&searching("account:contoso"), out.path())
        .await
        .expect("mbox");
    let listed = inbox::list(&pool, &request(searching("account:contoso"), None, 200))
        .await
        .expect("list")
        .messages
        .len();
    assert_eq!(count as usize, listed, "every message the search shows");
    // Mail in legacy charsets stays as it came: bytes, not necessarily UTF-8.
    let mbox = String::from_utf8_lossy(&std::fs::read(&path).expect("mbox")).into_owned();
    assert_eq!(
        mbox.lines().filter(|l| l.starts_with("From ")).count(),
        listed,
        "one separator per message, and no body line mistaken for one"
    );
}

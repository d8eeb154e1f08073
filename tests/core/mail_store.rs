//! Mail in the store: a page and its checkpoint commit together or not at all, writes are
//! idempotent, search follows every write, and removing an account takes its mail along.

use ferry_core::store::mail::{
    self, AttachmentRecord, FolderRecord, MailChange, MailPage, NewMessage, RawFormat, Recipient,
};
use ferry_core::store::{Store, DATABASE_FILE};

async fn store_with_account() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join(DATABASE_FILE))
        .await
        .expect("open");
    sqlx::query(
        "INSERT INTO accounts (id, provider, tenant, subject, email, display_name, created_at, updated_at)
         VALUES ('a1', 'google', '', 'sub-1', 'ada@example.com', 'Ada', 1, 1)",
    )
    .execute(store.pool())
    .await
    .expect("account");
    (dir, store)
}

fn message(id: &str, body: &str) -> NewMessage {
    NewMessage {
        id: id.into(),
        thread_id: format!("t-{id}"),
        message_id: Some(format!("{id}@example.com")),
        subject: format!("About {id}"),
        from_name: "Grace Hopper".into(),
        from_address: "grace@navy.example".into(),
        recipients: vec![Recipient {
            kind: "to".into(),
            name: "Ada".into(),
            address: "ada@example.com".into(),
        }],
        received_at: 1_800_000_000_000,
        snippet: body.chars().take(20).collect(),
        body_text: body.into(),
        has_html: false,
        unread: true,
        starred: false,
        attachments: vec![AttachmentRecord {
            index: 0,
            filename: "quarterly-figures.pdf".into(),
            content_type: "application/pdf".into(),
            size: 10,
            inline: false,
            content_id: None,
        }],
        raw: format!("Subject: About {id}\r\n\r\n{body}\r\n").into_bytes(),
        raw_format: RawFormat::Rfc822,
        problem: None,
        version: Some("1".into()),
        folders: vec!["INBOX".into(), "UNREAD".into()],
    }
}

fn page(changes: Vec<MailChange>, checkpoint: &str) -> MailPage {
    MailPage {
        account_id: "a1".into(),
        scope: String::new(),
        folders: vec![FolderRecord {
            id: "INBOX".into(),
            name: "INBOX".into(),
            system: true,
            parent_id: None,
        }],
        changes,
        checkpoint: checkpoint.into(),
        at: 1_800_000_000_000,
    }
}

fn upsert(id: &str, body: &str) -> MailChange {
    MailChange::Upsert(Box::new(message(id, body)))
}

#[tokio::test]
async fn a_page_and_its_checkpoint_commit_together_and_repeat_harmlessly() {
    let (_dir, store) = store_with_account().await;
    let pool = store.pool();
    let first = page(
        vec![
            upsert("m1", "the budget is attached"),
            upsert("m2", "lunch on friday"),
        ],
        r#"{"page":1}"#,
    );
    let applied = mail::apply(pool, &first).await.expect("apply");
    assert_eq!((applied.added, applied.changed), (2, 0));
    assert_eq!(
        mail::checkpoint(pool, "a1", "")
            .await
            .expect("read")
            .as_deref(),
        Some(r#"{"page":1}"#)
    );

    // The same page again (a restart after the commit, before the next page): nothing doubles.
    let again = mail::apply(pool, &first).await.expect("apply again");
    assert_eq!((again.added, again.changed), (0, 2));
    assert_eq!(mail::count(pool, "a1").await.expect("count"), 2);
    assert_eq!(
        mail::search(pool, "budget", 10)
            .await
            .expect("search")
            .len(),
        1,
        "one search row per message"
    );

    // A page that fails part-way leaves neither its messages nor its checkpoint.
    sqlx::query("CREATE TRIGGER poison BEFORE INSERT ON mail_messages WHEN new.id = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END")
        .execute(pool)
        .await
        .expect("trigger");
    let broken = page(
        vec![upsert("m3", "third"), upsert("poison", "x")],
        r#"{"page":2}"#,
    );
    assert!(mail::apply(pool, &broken).await.is_err());
    assert_eq!(
        mail::count(pool, "a1").await.expect("count"),
        2,
        "m3 rolled back"
    );
    assert_eq!(
        mail::checkpoint(pool, "a1", "")
            .await
            .expect("read")
            .as_deref(),
        Some(r#"{"page":1}"#)
    );
    store.close().await;
}

#[tokio::test]
async fn search_follows_flags_removals_and_the_account_itself() {
    let (_dir, store) = store_with_account().await;
    let pool = store.pool();
    mail::apply(
        pool,
        &page(
            vec![
                upsert("m1", "Café budget for the offsite"),
                upsert("m2", "weekend photos"),
            ],
            "{}",
        ),
    )
    .await
    .expect("apply");
    for (query, hits) in [
        ("budget", 1),
        ("cafe", 1),
        ("grace", 2),
        ("quarterly", 2),
        ("photos", 1),
        ("nothing", 0),
    ] {
        assert_eq!(
            mail::search(pool, query, 10).await.expect("search").len(),
            hits,
            "{query}"
        );
    }
    let flags = MailChange::Flags {
        id: "m1".into(),
        unread: Some(false),
        starred: Some(true),
        add_folders: vec!["Label_1".into()],
        remove_folders: vec!["UNREAD".into()],
    };
    let unknown = MailChange::Flags {
        id: "never-seen".into(),
        unread: Some(false),
        starred: None,
        add_folders: vec![],
        remove_folders: vec![],
    };
    let applied = mail::apply(
        pool,
        &page(
            vec![
                flags,
                unknown,
                MailChange::Remove {
                    id: "m2".into(),
                    folder: None,
                },
            ],
            "{}",
        ),
    )
    .await
    .expect("apply");
    assert_eq!(
        (applied.changed, applied.removed),
        (1, 1),
        "flags for an unknown message do nothing"
    );
    let keys = mail::keys(pool, "a1").await.expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].folders, ["INBOX", "Label_1"]);
    assert!(!keys[0].unread);
    assert!(
        mail::search(pool, "photos", 10)
            .await
            .expect("search")
            .is_empty(),
        "removed from search"
    );

    sqlx::query("DELETE FROM accounts WHERE id = 'a1'")
        .execute(pool)
        .await
        .expect("remove account");
    assert_eq!(mail::count(pool, "a1").await.expect("count"), 0);
    assert!(
        mail::search(pool, "budget", 10)
            .await
            .expect("search")
            .is_empty(),
        "its search rows went too"
    );
    assert_eq!(mail::checkpoint(pool, "a1", "").await.expect("read"), None);
    store.close().await;
}

/// A store written before message bytes moved out and rowids followed dates is carried
/// over whole: bytes, search, and rowids in date order (two in one millisecond apart).
#[tokio::test]
async fn an_older_mail_store_is_migrated_without_loss() {
    use ferry_core::store::MIGRATOR;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    const SPLIT: i64 = 20261130130000;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(DATABASE_FILE);
    let older = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            MIGRATOR
                .migrations
                .iter()
                .filter(|m| m.version < SPLIT)
                .cloned()
                .collect(),
        ),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    let pool = SqlitePoolOptions::new()
        .connect_with(
            SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .foreign_keys(true),
        )
        .await
        .expect("pool");
    older.run(&pool).await.expect("older migrations");
    sqlx::query(
        "INSERT INTO accounts (id, provider, tenant, subject, email, display_name, created_at, updated_at)
         VALUES ('a1', 'google', '', 'sub-1', 'ada@example.com', 'Ada', 1, 1)",
    )
    .execute(&pool)
    .await
    .expect("account");
    for (id, at, body) in [
        ("m1", 1_800_000_000_000_i64, "wombat burrows"),
        ("m2", 1_700_000_000_000, "numbat termites"),
        ("m3", 1_800_000_000_000, "quoll nights"),
    ] {
        sqlx::query(
            "INSERT INTO mail_messages (account_id, id, thread_id, received_at, body_text, raw)
             VALUES ('a1', ?, 't', ?, ?, ?)",
        )
        .bind(id)
        .bind(at)
        .bind(body)
        .bind(format!("Subject: {id}\r\n\r\n{body}\r\n").into_bytes())
        .execute(&pool)
        .await
        .expect("message");
    }
    sqlx::query("INSERT INTO mail_message_folders (account_id, message, folder) VALUES ('a1', 'm1', 'INBOX')")
        .execute(&pool)
        .await
        .expect("filed");
    sqlx::query("INSERT INTO sync_runs (account_id, service, kind, started_at) VALUES ('a1', 'mail', 'full', 5)")
        .execute(&pool)
        .await
        .expect("a run");
    pool.close().await;

    let store = Store::open(&path).await.expect("migrated");
    let rows: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT rowid, id, received_at FROM mail_messages ORDER BY rowid")
            .fetch_all(store.pool())
            .await
            .expect("rows");
    let ids: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(ids, ["m2", "m1", "m3"], "rowids in date order");
    for (rowid, _, at) in &rows {
        assert_eq!(
            rowid >> 20,
            *at,
            "a rowid is its date times 2^20 plus a number"
        );
    }
    assert_ne!(rows[1].0, rows[2].0);
    let (raw, compressed): (Vec<u8>, bool) =
        sqlx::query_as("SELECT raw, compressed FROM mail_raw WHERE id = 'm2'")
            .fetch_one(store.pool())
            .await
            .expect("raw kept");
    assert_eq!(raw, b"Subject: m2\r\n\r\nnumbat termites\r\n");
    assert!(!compressed, "bytes stored before stay as they were");
    for (word, id) in [("wombat", "m1"), ("numbat", "m2"), ("quoll", "m3")] {
        let found = mail::search(store.pool(), word, 10).await.expect("search");
        assert_eq!(found, vec![("a1".to_owned(), id.to_owned())], "{word}");
    }
    // New messages follow the same numbering.
    let later = page(
        vec![MailChange::Upsert(Box::new(message("m4", "kiwi")))],
        "{}",
    );
    mail::apply(store.pool(), &later).await.expect("apply");
    let rowid: i64 = sqlx::query_scalar("SELECT rowid FROM mail_messages WHERE id = 'm4'")
        .fetch_one(store.pool())
        .await
        .expect("m4");
    assert_eq!(
        rowid,
        (1_800_000_000_000_i64 << 20) + 2,
        "after m1 and m3 in its millisecond"
    );

    // The tables built again take the new values and keep every rule: the run log and the
    // folders carried over, and an account's removal still cascades to everything.
    let mut gmail = message("m5", "tuatara");
    gmail.raw_format = ferry_core::store::mail::RawFormat::GmailJson;
    let later = page(vec![MailChange::Upsert(Box::new(gmail))], "{}");
    mail::apply(store.pool(), &later).await.expect("gmail-json");
    sqlx::query("INSERT INTO sync_runs (account_id, service, kind, started_at) VALUES ('a1', 'mail', 'deeper', 6)")
        .execute(store.pool())
        .await
        .expect("a deeper run");
    let pool = store.pool().clone();
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .expect(sql)
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM sync_runs").await, 2);
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM mail_message_folders WHERE message = 'm1' AND folder = 'INBOX'"
        )
        .await,
        1
    );
    assert!(
        sqlx::query("INSERT INTO mail_raw (account_id, id, raw) VALUES ('a1', 'nowhere', x'00')")
            .execute(store.pool())
            .await
            .is_err(),
        "mail_raw still refers to mail_messages"
    );
    sqlx::query("DELETE FROM accounts WHERE id = 'a1'")
        .execute(store.pool())
        .await
        .expect("account removed");
    for sql in [
        "SELECT COUNT(*) FROM mail_messages",
        "SELECT COUNT(*) FROM mail_raw",
        "SELECT COUNT(*) FROM mail_message_folders",
        "SELECT COUNT(*) FROM mail_search",
        "SELECT COUNT(*) FROM sync_runs",
    ] {
        assert_eq!(count(sql).await, 0, "{sql}");
    }
}

/// A search over more matches than it ranks: the best of the newest come first, then
/// every older match, newest first; each match exactly once.
#[tokio::test]
async fn a_long_search_ranks_the_newest_then_lists_the_rest() {
    use ferry_core::inbox::{self, MailFilter, MailListRequest, Mailbox, RANKED_MATCHES};
    let (_dir, store) = store_with_account().await;
    let total = RANKED_MATCHES as usize + 130;
    let changes: Vec<MailChange> = (0..total)
        .map(|i| {
            let mut m = message(&format!("m{i}"), "a heron by the lake");
            m.received_at = 1_800_000_000_000 + i as i64 * 60_000;
            if i % 50 == 0 {
                m.subject = "heron heron heron".into();
            }
            MailChange::Upsert(Box::new(m))
        })
        .collect();
    mail::apply(store.pool(), &page(changes, "{}"))
        .await
        .expect("apply");

    let mut seen = std::collections::HashSet::new();
    let mut cursor = None;
    let mut pages = Vec::new();
    loop {
        let list = inbox::list(
            store.pool(),
            &MailListRequest {
                filter: MailFilter {
                    mailbox: Mailbox::All,
                    search: "heron".into(),
                    ..MailFilter::default()
                },
                cursor: cursor.take(),
                limit: 100,
            },
        )
        .await
        .expect("page");
        for m in &list.messages {
            assert!(seen.insert(m.id.clone()), "{} listed twice", m.id);
        }
        pages.push(list.clone());
        match list.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), total, "every match, once");
    assert!(pages[0].ranked);
    let first = &pages[0].messages[0];
    assert!(
        first.subject.iter().any(|s| s.hit),
        "a subject full of the word ranks first: {first:?}"
    );
    let last_page = pages.last().expect("pages");
    assert!(!last_page.ranked, "older matches follow by date");
    let older: Vec<i64> = last_page
        .messages
        .iter()
        .map(|m| m.received_at.timestamp_millis())
        .collect();
    assert!(older.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert!(
        older[0] < 1_800_000_000_000 + 130 * 60_000,
        "the unranked ones are the oldest"
    );
}

/// A page's messages are written together: each new one numbered after the others of its
/// millisecond, one stored already keeping its number and taking its new folders, a
/// message twice in a page written twice in order, and a removal between upserts applied
/// where it stands.
#[tokio::test]
async fn a_page_of_messages_is_written_at_once_in_the_order_it_came() {
    let (_dir, store) = store_with_account().await;
    let first = page(vec![upsert("m1", "wombat")], "{}");
    assert_eq!(
        mail::apply(store.pool(), &first).await.expect("m1").added,
        1
    );
    let rowid = |id: &'static str| {
        let pool = store.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT rowid FROM mail_messages WHERE id = ?")
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect(id)
        }
    };
    let m1 = rowid("m1").await;

    let mut moved = message("m1", "wombat, moved");
    moved.folders = vec!["Archive".into()];
    let mut twice = message("m3", "quoll, second word");
    twice.folders = vec!["Later".into()];
    let changes = vec![
        upsert("m2", "numbat"),
        MailChange::Upsert(Box::new(moved)),
        upsert("m3", "quoll"),
        MailChange::Upsert(Box::new(twice)),
        MailChange::Remove {
            id: "m2".into(),
            folder: None,
        },
        upsert("m4", "kiwi"),
    ];
    let applied = mail::apply(store.pool(), &page(changes, "{}"))
        .await
        .expect("page");
    assert_eq!(
        (applied.added, applied.changed, applied.removed),
        (3, 2, 1),
        "m2, m3 and m4 new; m1 and m3's second version changes; m2 removed"
    );
    assert_eq!(rowid("m1").await, m1, "a stored message keeps its number");
    assert_eq!(
        rowid("m3").await,
        m1 + 2,
        "after m1 and m2 in its millisecond"
    );
    assert_eq!(rowid("m4").await, m1 + 3);
    let keys: Vec<(String, Vec<String>)> = mail::keys(store.pool(), "a1")
        .await
        .expect("keys")
        .into_iter()
        .map(|k| (k.id, k.folders))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("m1".to_owned(), vec!["Archive".to_owned()]),
            ("m3".to_owned(), vec!["Later".to_owned()]),
            (
                "m4".to_owned(),
                vec!["INBOX".to_owned(), "UNREAD".to_owned()]
            ),
        ]
    );
    assert_eq!(
        mail::search(store.pool(), "second", 5)
            .await
            .expect("search"),
        vec![("a1".to_owned(), "m3".to_owned())],
        "the later version of m3 is the one searched"
    );
    assert!(mail::search(store.pool(), "numbat", 5)
        .await
        .expect("search")
        .is_empty());
    assert_eq!(
        mail::search(store.pool(), "kiwi", 5).await.expect("search"),
        vec![("a1".to_owned(), "m4".to_owned())],
        "a new message is searchable once its page is written"
    );
    let indexed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_search")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(indexed, 3, "each stored message is indexed once");
    sqlx::query("INSERT INTO mail_search (mail_search) VALUES ('integrity-check')")
        .execute(store.pool())
        .await
        .expect("the search index agrees with itself");
}

/// A message's bytes are kept compressed when that makes them smaller, and come back as
/// received, for the reading pane and for export alike. A tiny one is kept as it is; a
/// stored frame that cannot be decompressed is reported, not shown as something else.
#[tokio::test]
async fn stored_messages_are_kept_compressed_and_come_back_as_received() {
    use ferry_core::inbox::{self, MessageRef, Stored};
    use ferry_core::sync::mail::parse::RemoteContent;
    let (_dir, store) = store_with_account().await;
    let long = "The wombat digs a burrow under the gum tree. ".repeat(400);
    let mut big = message("big", &long);
    big.raw = format!("Subject: Burrows\r\n\r\n{long}\r\n").into_bytes();
    let received = big.raw.clone();
    let changes = vec![MailChange::Upsert(Box::new(big)), upsert("tiny", "kiwi")];
    mail::apply(store.writer(), &page(changes, "{}"))
        .await
        .expect("apply");
    let rows: Vec<(String, i64, bool)> =
        sqlx::query_as("SELECT id, length(raw), compressed FROM mail_raw ORDER BY id")
            .fetch_all(store.pool())
            .await
            .expect("rows");
    assert_eq!(rows[0].0, "big");
    assert!(rows[0].2, "the long one is compressed");
    assert!(
        (rows[0].1 as usize) < received.len() / 10,
        "to a fraction of its size: {} of {}",
        rows[0].1,
        received.len()
    );
    assert_eq!(rows[1].0, "tiny");
    assert!(!rows[1].2, "a frame would be larger than the tiny one");

    let big = MessageRef {
        account_id: "a1".into(),
        id: "big".into(),
    };
    let (kept, _) = inbox::stored(store.pool(), &big).await.expect("for export");
    assert!(matches!(kept, Stored::Rfc822(bytes) if bytes == received));
    let reading = inbox::read(store.pool(), &big, RemoteContent::Block)
        .await
        .expect("for the reading pane");
    assert!(
        reading.view.text.contains("gum tree"),
        "{}",
        reading.view.text
    );

    sqlx::query("UPDATE mail_raw SET raw = x'28b52ffd00' WHERE id = 'big'")
        .execute(store.writer())
        .await
        .expect("damaged");
    let err = inbox::stored(store.pool(), &big)
        .await
        .expect_err("a damaged frame");
    assert!(
        err.to_string().contains("could not be decompressed"),
        "{err}"
    );
    let err = inbox::read(store.pool(), &big, RemoteContent::Block)
        .await
        .expect_err("a damaged frame, in the reading pane");
    assert!(
        err.to_string().contains("could not be decompressed"),
        "{err}"
    );
}

//! Mail in the store: messages, their labels or folders, full-text search, and the sync
//! checkpoints and run log. [`apply`] writes a page of changes and the checkpoint that
//! covers it in one transaction, so a crash at any moment loses nothing and, on the next
//! start, repeats nothing: every write is an idempotent upsert or delete by id.

use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite, SqlitePool, Transaction};

use super::StoreError;
use crate::services::Service;

/// An address on a message, with the header it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// `to`, `cc` or `bcc`.
    pub kind: String,
    pub name: String,
    pub address: String,
}

/// An attachment's description (its bytes stay in the raw message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRecord {
    pub index: usize,
    pub filename: String,
    pub content_type: String,
    pub size: usize,
    pub inline: bool,
    pub content_id: Option<String>,
}

/// A message as the sync engine hands it over: the provider's ids and state, what Ferry
/// read from it, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub id: String,
    pub thread_id: String,
    pub message_id: Option<String>,
    pub subject: String,
    pub from_name: String,
    pub from_address: String,
    pub recipients: Vec<Recipient>,
    /// Unix ms.
    pub received_at: i64,
    pub snippet: String,
    pub body_text: String,
    pub has_html: bool,
    pub unread: bool,
    pub starred: bool,
    pub attachments: Vec<AttachmentRecord>,
    pub raw: Vec<u8>,
    /// What `raw` is: the RFC 5322 message, or Gmail's or Graph's JSON for it (the MIME
    /// source is then fetched when needed).
    pub raw_format: RawFormat,
    /// Why it could not be read (it is kept and shown raw).
    pub problem: Option<String>,
    /// Gmail historyId or Graph changeKey.
    pub version: Option<String>,
    /// Label or folder ids.
    pub folders: Vec<String>,
}

/// What a stored message's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawFormat {
    Rfc822,
    /// Gmail's `format=full` resource (a message that came with its conversation).
    GmailJson,
    GraphJson,
}

impl RawFormat {
    fn as_str(self) -> &'static str {
        match self {
            RawFormat::Rfc822 => "rfc822",
            RawFormat::GmailJson => "gmail-json",
            RawFormat::GraphJson => "graph-json",
        }
    }
}

/// A label or folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderRecord {
    pub id: String,
    pub name: String,
    pub system: bool,
    pub parent_id: Option<String>,
}

/// One change the provider reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailChange {
    /// New, or changed in full: written over what was there.
    Upsert(Box<NewMessage>),
    /// The provider said it is gone (never inferred from an absence). With `folder`, it
    /// left that folder: it is removed only if it is still filed there (a message moved
    /// elsewhere arrives from the other folder too, in either order).
    Remove { id: String, folder: Option<String> },
    /// It left `folder` for another (Outlook): it stays, unfiled, until it arrives there
    /// (in the same run, in either order, or once the folder list shows where it went);
    /// see [`has_strays`].
    Detach { id: String, folder: String },
    /// Read state, star, labels: a message Ferry does not have yet is left alone.
    Flags {
        id: String,
        unread: Option<bool>,
        starred: Option<bool>,
        add_folders: Vec<String>,
        remove_folders: Vec<String>,
    },
    /// A resync's listing showed this message ([`unlisted`] leaves it out).
    Listed { id: String },
    /// The resync is over: forget what its listing showed.
    ResyncDone,
}

/// Dates past this (unix ms, in the year 2223) count as this for a message's rowid, which
/// is its date times 2^20 and must stay within 63 bits.
const MAX_ROWID_MS: i64 = 8_000_000_000_000;

/// The smallest rowid a message received at `ms` (unix ms) can have: messages received
/// before `ms` have smaller ones, so a date bound is a rowid bound.
pub fn first_rowid(ms: i64) -> i64 {
    ms.clamp(1, MAX_ROWID_MS) << 20
}

/// A page of changes and the checkpoint that covers it.
#[derive(Debug, Clone)]
pub struct MailPage {
    pub account_id: String,
    /// `''` when the service has one checkpoint; a folder id for Graph's per-folder rounds.
    pub scope: String,
    pub folders: Vec<FolderRecord>,
    pub changes: Vec<MailChange>,
    /// The provider's checkpoint after this page, as JSON.
    pub checkpoint: String,
    /// Unix ms.
    pub at: i64,
}

/// What a page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
}

/// Messages written per statement: 20 values a row keep a statement well inside SQLite's
/// limit on bound values.
const ROWS_PER_STATEMENT: usize = 200;

/// Writes `messages` (no id twice) over what is stored of them, and indexes the new ones
/// for search; returns how many were new.
/// One statement per table for them all, not several per message: a page of a thousand
/// messages would otherwise cost thousands of round trips to the database's thread.
async fn write_messages(
    tx: &mut Transaction<'_, Sqlite>,
    account: &str,
    messages: &[&NewMessage],
    packed: &[&Packed],
) -> Result<u64, StoreError> {
    let mut fresh = Vec::new();
    for (chunk, packed) in messages
        .chunks(ROWS_PER_STATEMENT)
        .zip(packed.chunks(ROWS_PER_STATEMENT))
    {
        fresh.extend(write_chunk(tx, account, chunk, packed).await?);
    }
    let added = fresh.len() as u64;
    index_for_search(tx, fresh).await?;
    Ok(added)
}

/// Adds the new messages with these rowids to the search index, in one statement per
/// thousand and in rowid order. (A changed message is indexed again by the
/// `mail_search_change` trigger; a removed one leaves by `mail_search_remove`.) A trigger
/// per inserted row did the same work at three times the cost: the index's own tables
/// are keyed by rowid, and rows arriving in a delta page's order land all over them.
async fn index_for_search(
    tx: &mut Transaction<'_, Sqlite>,
    mut rowids: Vec<i64>,
) -> Result<(), StoreError> {
    rowids.sort_unstable();
    for chunk in rowids.chunks(ROWS_PER_STATEMENT * 5) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO mail_search (rowid, subject, participants, body, attachments)
             SELECT rowid, subject, participants, body, attachments FROM mail_search_source
             WHERE rowid",
        );
        push_in(&mut query, chunk.iter().copied());
        query.push(" ORDER BY rowid");
        query.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Writes up to [`ROWS_PER_STATEMENT`] messages, each with its bytes as `packed`;
/// returns the rowids of the new ones.
async fn write_chunk(
    tx: &mut Transaction<'_, Sqlite>,
    account: &str,
    messages: &[&NewMessage],
    packed: &[&Packed],
) -> Result<Vec<i64>, StoreError> {
    use std::collections::{HashMap, HashSet};
    let ids: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
    let existed = stored_ids(tx, account, &ids).await?;

    // A new message's rowid follows its date (see the migration that introduced it): the
    // next free number in its millisecond. A message already stored keeps its own.
    let bases: Vec<i64> = messages
        .iter()
        .filter(|m| !existed.contains(&m.id))
        .map(|m| first_rowid(m.received_at))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut next: HashMap<i64, i64> = HashMap::with_capacity(bases.len());
    if !bases.is_empty() {
        let mut query = QueryBuilder::<Sqlite>::new("WITH b(base) AS (");
        query.push_values(&bases, |mut row, base| {
            row.push_bind(*base);
        });
        query.push(
            ") SELECT base, coalesce((SELECT max(rowid) + 1 FROM mail_messages
                 WHERE rowid BETWEEN base AND base + 1048575), base) FROM b",
        );
        next.extend(
            query
                .build_query_as::<(i64, i64)>()
                .fetch_all(&mut **tx)
                .await?,
        );
    }
    let mut rowid = |m: &NewMessage| -> Option<i64> {
        if existed.contains(&m.id) {
            return None;
        }
        let base = first_rowid(m.received_at);
        let slot = next.entry(base).or_insert(base);
        let mine = *slot;
        *slot += 1;
        Some(mine)
    };

    let rowids: Vec<Option<i64>> = messages.iter().map(|m| rowid(m)).collect();
    let mut query = QueryBuilder::<Sqlite>::new(
        "INSERT INTO mail_messages (rowid, account_id, id, thread_id, message_id, subject,
             from_name, from_address, recipients, received_at, snippet, body_text, has_html,
             unread, starred, attachments, size, raw_format, problem, version) ",
    );
    query.push_values(messages.iter().zip(&rowids), |mut row, (m, rowid)| {
        let recipients = serde_json::to_string(&m.recipients).unwrap_or_else(|_| "[]".into());
        let attachments = serde_json::to_string(&m.attachments).unwrap_or_else(|_| "[]".into());
        row.push_bind(*rowid)
            .push_bind(account)
            .push_bind(&m.id)
            .push_bind(&m.thread_id)
            .push_bind(&m.message_id)
            .push_bind(&m.subject)
            .push_bind(&m.from_name)
            .push_bind(&m.from_address)
            .push_bind(recipients)
            .push_bind(m.received_at)
            .push_bind(&m.snippet)
            .push_bind(&m.body_text)
            .push_bind(m.has_html)
            .push_bind(m.unread)
            .push_bind(m.starred)
            .push_bind(attachments)
            .push_bind(m.raw.len() as i64)
            .push_bind(m.raw_format.as_str())
            .push_bind(&m.problem)
            .push_bind(&m.version);
    });
    query.push(
        " ON CONFLICT (account_id, id) DO UPDATE SET
             thread_id = excluded.thread_id, message_id = excluded.message_id,
             subject = excluded.subject, from_name = excluded.from_name,
             from_address = excluded.from_address, recipients = excluded.recipients,
             received_at = excluded.received_at, snippet = excluded.snippet,
             body_text = excluded.body_text, has_html = excluded.has_html,
             unread = excluded.unread, starred = excluded.starred,
             attachments = excluded.attachments, size = excluded.size,
             raw_format = excluded.raw_format, problem = excluded.problem, version = excluded.version",
    );
    query.build().execute(&mut **tx).await?;

    let mut query =
        QueryBuilder::<Sqlite>::new("INSERT INTO mail_raw (account_id, id, raw, compressed) ");
    query.push_values(messages.iter().zip(packed), |mut row, (m, packed)| {
        row.push_bind(account)
            .push_bind(&m.id)
            .push_bind(&packed.bytes)
            .push_bind(packed.compressed);
    });
    query.push(
        " ON CONFLICT (account_id, id) DO UPDATE SET
             raw = excluded.raw, compressed = excluded.compressed",
    );
    query.build().execute(&mut **tx).await?;

    // Each message's folders are what it says now.
    let refiled: Vec<&String> = ids.iter().filter(|id| existed.contains(*id)).collect();
    if !refiled.is_empty() {
        let mut query =
            QueryBuilder::<Sqlite>::new("DELETE FROM mail_message_folders WHERE account_id = ");
        query.push_bind(account).push(" AND message");
        push_in(&mut query, refiled);
        query.build().execute(&mut **tx).await?;
    }
    let filed: Vec<(&String, &String)> = messages
        .iter()
        .flat_map(|m| m.folders.iter().map(move |f| (&m.id, f)))
        .collect();
    for chunk in filed.chunks(ROWS_PER_STATEMENT * 5) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO mail_message_folders (account_id, message, folder) ",
        );
        query.push_values(chunk, |mut row, (id, folder)| {
            row.push_bind(account).push_bind(*id).push_bind(*folder);
        });
        query.build().execute(&mut **tx).await?;
    }
    Ok(rowids.into_iter().flatten().collect())
}

/// Files message `id` under `folder` (a label, for Gmail); filing it twice is harmless.
async fn file(
    tx: &mut Transaction<'_, Sqlite>,
    account: &str,
    id: &str,
    folder: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT OR IGNORE INTO mail_message_folders (account_id, message, folder) VALUES (?, ?, ?)",
    )
    .bind(account)
    .bind(id)
    .bind(folder)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes message `id` out of `folder`.
async fn unfile(
    tx: &mut Transaction<'_, Sqlite>,
    account: &str,
    id: &str,
    folder: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM mail_message_folders WHERE account_id = ? AND message = ? AND folder = ?",
    )
    .bind(account)
    .bind(id)
    .bind(folder)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How hard stored messages are compressed: zstd's fastest level already takes JSON, HTML
/// and MIME text to a third or less, at several hundred MB/s.
const COMPRESSION_LEVEL: i32 = 1;

/// A message's bytes as stored: one zstd frame, or as received when that is no larger
/// (or the compressor failed, which keeps the message all the same).
#[derive(Debug)]
struct Packed {
    bytes: Vec<u8>,
    compressed: bool,
}

impl Packed {
    /// `raw` as stored, compressed by `compressor` (one per page: a context for each
    /// message cost more than the compressing).
    fn of(raw: &[u8], compressor: Option<&mut zstd::bulk::Compressor<'_>>) -> Self {
        match compressor.map(|c| c.compress(raw)) {
            Some(Ok(bytes)) if bytes.len() < raw.len() => Packed {
                bytes,
                compressed: true,
            },
            _ => Packed {
                bytes: raw.to_vec(),
                compressed: false,
            },
        }
    }
}

/// A message's bytes as received, from what `mail_raw` keeps (`compressed` as stored).
pub fn unpack(stored: Vec<u8>, compressed: bool) -> Result<Vec<u8>, StoreError> {
    if !compressed {
        return Ok(stored);
    }
    zstd::stream::decode_all(stored.as_slice()).map_err(|err| {
        StoreError::Damaged(format!("a stored message could not be decompressed: {err}"))
    })
}

/// Writes `page` and its checkpoint in one transaction.
pub async fn apply(pool: &SqlitePool, page: &MailPage) -> Result<Applied, StoreError> {
    let account = page.account_id.as_str();
    // Each new or changed message's bytes, compressed before the write lock is taken.
    let mut compressor = zstd::bulk::Compressor::new(COMPRESSION_LEVEL).ok();
    let packed: Vec<Option<Packed>> = page
        .changes
        .iter()
        .map(|change| match change {
            MailChange::Upsert(message) => Some(Packed::of(&message.raw, compressor.as_mut())),
            _ => None,
        })
        .collect();
    let mut tx = super::begin_write(pool).await?;
    for folder in &page.folders {
        sqlx::query(
            "INSERT INTO mail_folders (account_id, id, name, kind, parent_id) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                 parent_id = excluded.parent_id",
        )
        .bind(account)
        .bind(&folder.id)
        .bind(&folder.name)
        .bind(if folder.system { "system" } else { "user" })
        .bind(&folder.parent_id)
        .execute(&mut *tx)
        .await?;
    }
    let mut applied = Applied::default();
    // Messages are written together, in runs of upserts between the other changes (which
    // keep their order around them); a message twice in a run ends it.
    let mut run: Vec<&NewMessage> = Vec::new();
    let mut run_packed: Vec<&Packed> = Vec::new();
    let mut changes = page.changes.iter().zip(&packed).peekable();
    while let Some((change, packed)) = changes.next() {
        if let (MailChange::Upsert(message), Some(packed)) = (change, packed) {
            run.push(message);
            run_packed.push(packed);
            let ends = match changes.peek() {
                Some((MailChange::Upsert(next), _)) => run.iter().any(|m| m.id == next.id),
                _ => true,
            };
            if ends {
                let added = write_messages(&mut tx, account, &run, &run_packed).await?;
                applied.added += added;
                applied.changed += run.len() as u64 - added;
                run.clear();
                run_packed.clear();
            }
            continue;
        }
        match change {
            MailChange::Upsert(_) => {}
            MailChange::Remove { id, folder } => {
                let gone = sqlx::query(
                    "DELETE FROM mail_messages WHERE account_id = ?1 AND id = ?2 AND (?3 IS NULL OR EXISTS (
                         SELECT 1 FROM mail_message_folders f
                         WHERE f.account_id = ?1 AND f.message = ?2 AND f.folder = ?3))",
                )
                .bind(account)
                .bind(id)
                .bind(folder)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                applied.removed += gone;
            }
            MailChange::Detach { id, folder } => unfile(&mut tx, account, id, folder).await?,
            MailChange::Listed { id } => {
                sqlx::query(
                    "INSERT OR IGNORE INTO mail_resync_listed (account_id, scope, id) VALUES (?, ?, ?)",
                )
                .bind(account)
                .bind(&page.scope)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            MailChange::ResyncDone => {
                sqlx::query("DELETE FROM mail_resync_listed WHERE account_id = ? AND scope = ?")
                    .bind(account)
                    .bind(&page.scope)
                    .execute(&mut *tx)
                    .await?;
            }
            MailChange::Flags {
                id,
                unread,
                starred,
                add_folders,
                remove_folders,
            } => {
                let touched = sqlx::query(
                    "UPDATE mail_messages SET unread = coalesce(?, unread), starred = coalesce(?, starred)
                     WHERE account_id = ? AND id = ?",
                )
                .bind(unread)
                .bind(starred)
                .bind(account)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if touched == 0 {
                    continue;
                }
                for folder in add_folders {
                    file(&mut tx, account, id, folder).await?;
                }
                for folder in remove_folders {
                    unfile(&mut tx, account, id, folder).await?;
                }
                applied.changed += 1;
            }
        }
    }
    sqlx::query(
        "INSERT INTO sync_checkpoints (account_id, service, scope, checkpoint, updated_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id, service, scope) DO UPDATE SET
             checkpoint = excluded.checkpoint, updated_at = excluded.updated_at",
    )
    .bind(account)
    .bind(Service::Mail.as_str())
    .bind(&page.scope)
    .bind(&page.checkpoint)
    .bind(page.at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(applied)
}

/// Whether any of the account's messages is filed in no folder: an Outlook message that
/// left a folder and arrived in none Ferry syncs. Such messages are kept (Outlook still has
/// them).
pub async fn has_strays(pool: &SqlitePool, account: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM mail_messages m WHERE m.account_id = ?1 AND NOT EXISTS (
             SELECT 1 FROM mail_message_folders f WHERE f.account_id = ?1 AND f.message = m.id))",
    )
    .bind(account)
    .fetch_one(pool)
    .await?)
}

/// The checkpoint last committed for this account's mail (and scope).
pub async fn checkpoint(
    pool: &SqlitePool,
    account: &str,
    scope: &str,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT checkpoint FROM sync_checkpoints WHERE account_id = ? AND service = ? AND scope = ?",
    )
    .bind(account)
    .bind(Service::Mail.as_str())
    .bind(scope)
    .fetch_optional(pool)
    .await?)
}

/// Every mail checkpoint of the account (one per scope), with when it was committed.
pub async fn checkpoints(
    pool: &SqlitePool,
    account: &str,
) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT checkpoint, updated_at FROM sync_checkpoints WHERE account_id = ? AND service = ?",
    )
    .bind(account)
    .bind(Service::Mail.as_str())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(checkpoint, at)| {
            (
                checkpoint,
                chrono::DateTime::from_timestamp_millis(at).unwrap_or_default(),
            )
        })
        .collect())
}

/// Which of `ids` the account has in the store already.
pub async fn existing(
    pool: &SqlitePool,
    account: &str,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    if ids.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let mut conn = pool.acquire().await?;
    stored_ids(&mut conn, account, ids).await
}

/// Which of `ids` the account has in the store (on `conn`, inside a transaction or not).
async fn stored_ids(
    conn: &mut sqlx::SqliteConnection,
    account: &str,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    let mut found = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        let mut query =
            QueryBuilder::<Sqlite>::new("SELECT id FROM mail_messages WHERE account_id = ");
        query.push_bind(account).push(" AND id");
        push_in(&mut query, chunk);
        found.extend(
            query
                .build_query_scalar::<String>()
                .fetch_all(&mut *conn)
                .await?,
        );
    }
    Ok(found)
}

/// Appends ` IN (?, …)`, binding `values`.
fn push_in<'a, T>(query: &mut QueryBuilder<'a, Sqlite>, values: impl IntoIterator<Item = T>)
where
    T: 'a + sqlx::Encode<'a, Sqlite> + sqlx::Type<Sqlite>,
{
    query.push(" IN (");
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    query.push(")");
}

/// Up to `limit` stored messages received since `since_ms` (unix ms) that the current
/// resync's listing (of `scope`) has not shown: each must be asked about before it may go.
/// With `filed_in`, only messages filed in that folder (a listing of one folder).
pub async fn unlisted(
    pool: &SqlitePool,
    account: &str,
    scope: &str,
    filed_in: Option<&str>,
    since_ms: i64,
    limit: u32,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT m.id FROM mail_messages m
         WHERE m.account_id = ?1 AND m.received_at >= ?3
           AND NOT EXISTS (SELECT 1 FROM mail_resync_listed l
                           WHERE l.account_id = ?1 AND l.scope = ?2 AND l.id = m.id)
           AND (?5 IS NULL OR EXISTS (SELECT 1 FROM mail_message_folders f
                                      WHERE f.account_id = ?1 AND f.message = m.id
                                        AND f.folder = ?5))
         ORDER BY m.received_at DESC LIMIT ?4",
    )
    .bind(account)
    .bind(scope)
    .bind(since_ms)
    .bind(limit)
    .bind(filed_in)
    .fetch_all(pool)
    .await?)
}

/// The ids of the account's labels or folders that Ferry knows.
pub async fn folder_ids(
    pool: &SqlitePool,
    account: &str,
) -> Result<std::collections::HashSet<String>, StoreError> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT id FROM mail_folders WHERE account_id = ?")
            .bind(account)
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect(),
    )
}

/// The account's labels or folders as stored.
pub async fn folder_list(
    pool: &SqlitePool,
    account: &str,
) -> Result<Vec<FolderRecord>, StoreError> {
    let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, name, kind, parent_id FROM mail_folders WHERE account_id = ? ORDER BY id",
    )
    .bind(account)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, kind, parent_id)| FolderRecord {
            id,
            name,
            system: kind == "system",
            parent_id,
        })
        .collect())
}

pub async fn count(pool: &SqlitePool, account: &str) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mail_messages WHERE account_id = ?")
        .bind(account)
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// A message's ids and folders, for comparing with the provider's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageKey {
    pub id: String,
    pub folders: Vec<String>,
    pub unread: bool,
    pub raw_len: usize,
}

/// Every message of the account, by id, with its folders.
pub async fn keys(pool: &SqlitePool, account: &str) -> Result<Vec<MessageKey>, StoreError> {
    let rows: Vec<(String, bool, i64, Option<String>)> = sqlx::query_as(
        "SELECT m.id, m.unread, m.size, group_concat(f.folder, char(31))
         FROM mail_messages m LEFT JOIN mail_message_folders f ON f.account_id = m.account_id AND f.message = m.id
         WHERE m.account_id = ? GROUP BY m.id ORDER BY m.id",
    )
    .bind(account)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, unread, size, folders)| {
            let mut folders: Vec<String> = folders
                .unwrap_or_default()
                .split('\u{1f}')
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect();
            folders.sort();
            MessageKey {
                id,
                folders,
                unread,
                raw_len: usize::try_from(size).unwrap_or_default(),
            }
        })
        .collect())
}

/// Messages matching an FTS5 query (already in FTS5 syntax), best first: (account, id).
pub async fn search(
    pool: &SqlitePool,
    fts_query: &str,
    limit: u32,
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT m.account_id, m.id FROM mail_search s JOIN mail_messages m ON m.rowid = s.rowid
         WHERE mail_search MATCH ? ORDER BY rank LIMIT ?",
    )
    .bind(fts_query)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// An account's mail at a glance: how much is stored, its checkpoints, its last run,
/// whether the user paused it, and what its runs spent since a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailOverview {
    pub account_id: String,
    pub messages: u64,
    pub unread: u64,
    pub checkpoints: Vec<String>,
    /// Unix ms.
    pub last_run_at: Option<i64>,
    pub last_error: Option<String>,
    pub paused: bool,
    /// A held round of removals waiting for the user: (removing, of).
    pub held: Option<(u64, u64)>,
    pub requests_since: u64,
    pub quota_units_since: u64,
}

/// Every account's [`MailOverview`], accounts without mail included; spending counts
/// runs started at or after `since` (unix ms).
pub async fn overview(pool: &SqlitePool, since: i64) -> Result<Vec<MailOverview>, StoreError> {
    type Row = (
        String,
        i64,
        i64,
        Option<String>,
        Option<i64>,
        Option<String>,
        bool,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT a.id,
                (SELECT count(*) FROM mail_messages m WHERE m.account_id = a.id),
                (SELECT count(*) FROM mail_messages m WHERE m.account_id = a.id AND m.unread),
                (SELECT json_group_array(c.checkpoint) FROM sync_checkpoints c
                  WHERE c.account_id = a.id AND c.service = 'mail'),
                r.finished_at, r.error,
                EXISTS (SELECT 1 FROM sync_paused p WHERE p.account_id = a.id AND p.service = 'mail'),
                (SELECT coalesce(sum(requests), 0) FROM sync_runs s
                  WHERE s.account_id = a.id AND s.service = 'mail' AND s.started_at >= ?1),
                (SELECT coalesce(sum(quota_units), 0) FROM sync_runs s
                  WHERE s.account_id = a.id AND s.service = 'mail' AND s.started_at >= ?1),
                h.removing, h.local
             FROM accounts a
             LEFT JOIN sync_holds h ON h.account_id = a.id AND h.service = 'mail'
                  AND h.decision IS NULL
             LEFT JOIN sync_runs r ON r.id = (SELECT max(id) FROM sync_runs
                  WHERE account_id = a.id AND service = 'mail' AND finished_at IS NOT NULL)
             ORDER BY a.created_at",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    let count = |n: i64| u64::try_from(n).unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(
            |(
                account_id,
                messages,
                unread,
                checkpoints,
                last_run_at,
                last_error,
                paused,
                requests,
                units,
                held_removing,
                held_local,
            )| {
                MailOverview {
                    account_id,
                    messages: count(messages),
                    unread: count(unread),
                    checkpoints: checkpoints
                        .and_then(|json| serde_json::from_str(&json).ok())
                        .unwrap_or_default(),
                    last_run_at,
                    last_error,
                    paused,
                    held: held_removing
                        .zip(held_local)
                        .map(|(removing, local)| (count(removing), count(local))),
                    requests_since: count(requests),
                    quota_units_since: count(units),
                }
            },
        )
        .collect())
}

/// What one sync run did, for the account page's sync log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    pub requests: u64,
    pub quota_units: u64,
}

/// Notes the start of a run (`full`, `incremental` or `reset`); returns its id.
pub async fn start_run(
    pool: &SqlitePool,
    account: &str,
    kind: &str,
    at: i64,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO sync_runs (account_id, service, kind, started_at) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(account)
    .bind(Service::Mail.as_str())
    .bind(kind)
    .bind(at)
    .fetch_one(pool)
    .await?)
}

/// Notes how a run ended (and, if it turned into another kind, which).
pub async fn finish_run(
    pool: &SqlitePool,
    run: i64,
    kind: Option<&str>,
    counts: RunCounts,
    error: Option<&str>,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE sync_runs SET kind = coalesce(?, kind), finished_at = ?, added = ?, changed = ?,
             removed = ?, requests = ?, quota_units = ?, error = ? WHERE id = ?",
    )
    .bind(kind)
    .bind(at)
    .bind(counts.added as i64)
    .bind(counts.changed as i64)
    .bind(counts.removed as i64)
    .bind(counts.requests as i64)
    .bind(counts.quota_units as i64)
    .bind(error)
    .bind(run)
    .execute(pool)
    .await?;
    Ok(())
}

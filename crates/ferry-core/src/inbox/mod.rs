//! The unified inbox: what the window shows of the synced mail. Lists across accounts,
//! newest first or ranked by a search ([`query`]); a message read for the reading pane,
//! its HTML made safe; conversations; attachments taken out of the stored message.
//!
//! The same message in two of the user's accounts (one `Message-ID`) is listed once, with
//! the other accounts in `also_in`. A page is deduplicated here; the window drops a row
//! whose `message_id` an earlier page already showed.

pub mod query;

use std::collections::HashMap;

use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use crate::error::{capitalise, AppError, ErrorCode};
use crate::store::mail::{self, AttachmentRecord, Recipient};
use crate::store::StoreError;
use crate::sync::mail::parse::{self, RemoteContent};
use crate::sync::mail::payload;
use query::{QueryError, SearchQuery};

/// The most rows one request returns.
pub const MAX_PAGE: u32 = 200;

/// Raw text shown for a message Ferry could not read, at most (the rest is in the export).
const RAW_PREVIEW_BYTES: usize = 256 * 1024;

/// Inline images larger than this are left out of the reading pane (as a broken image),
/// so one message cannot make the pane's document huge.
const MAX_INLINE_IMAGE: usize = 5 * 1024 * 1024;

/// Which messages: a mailbox, narrowed by account, folder, unread and the search box.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct MailFilter {
    pub mailbox: Mailbox,
    pub account_id: Option<String>,
    /// A label or folder id; with `account_id` only (ids are per account).
    pub folder_id: Option<String>,
    pub unread_only: bool,
    /// The search box, in [`query`]'s language; empty for none.
    pub search: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub enum Mailbox {
    /// Every account's inbox (Gmail's INBOX label, Outlook's Inbox folder).
    #[default]
    Inbox,
    /// Starred (Gmail) or flagged (Outlook).
    Starred,
    /// Everything synced, archive included.
    All,
}

/// One request for rows: the filter, and where the previous page ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct MailListRequest {
    pub filter: MailFilter,
    /// `next` of the previous page; none for the first.
    pub cursor: Option<String>,
    pub limit: u32,
}

/// A message's place: its account and the provider's id for it there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct MessageRef {
    pub account_id: String,
    pub id: String,
}

/// Text with the search's matches marked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Segment {
    pub text: String,
    pub hit: bool,
}

/// A row of the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct MessageSummary {
    pub account_id: String,
    pub id: String,
    /// The same message in the user's other accounts.
    pub also_in: Vec<MessageRef>,
    pub message_id: Option<String>,
    pub thread_id: String,
    /// Messages in its conversation (in this account), itself included.
    pub thread_size: u32,
    pub subject: Vec<Segment>,
    pub from_name: String,
    pub from_address: String,
    pub received_at: DateTime<Utc>,
    pub snippet: Vec<Segment>,
    pub unread: bool,
    pub starred: bool,
    pub has_attachments: bool,
    /// Ferry could not read it; it is kept as received and shown raw.
    pub unreadable: bool,
}

/// A page of rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct MailList {
    pub messages: Vec<MessageSummary>,
    /// Where the next page starts; none at the end.
    pub next: Option<String>,
    /// Whether the rows are ranked by relevance (a search with words) rather than by date.
    pub ranked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AddressView {
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    pub index: u32,
    pub filename: String,
    pub content_type: String,
    pub size: u32,
    pub inline: bool,
}

/// A message in the reading pane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub account_id: String,
    pub id: String,
    pub also_in: Vec<MessageRef>,
    pub thread_id: String,
    pub subject: String,
    pub from: AddressView,
    pub to: Vec<AddressView>,
    pub cc: Vec<AddressView>,
    pub received_at: DateTime<Utc>,
    pub unread: bool,
    pub starred: bool,
    /// Label and folder names.
    pub folders: Vec<String>,
    pub text: String,
    /// Sanitised HTML, for a sandboxed frame; none for a plain-text message.
    pub html: Option<String>,
    /// Remote images and styles left out (0 once the user allowed them).
    pub remote_blocked: u32,
    pub attachments: Vec<AttachmentView>,
    /// What was odd about it (an unknown charset, no body), or why it could not be read.
    pub problem: Option<String>,
    /// Ferry could not read it at all: `text` is the raw message (its start).
    pub unreadable: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("that message is no longer in Ferry (it may have been deleted or moved away)")]
    NotFound,
    #[error("that attachment is not in the message")]
    NoAttachment,
    #[error("the list's position could not be read; start again from the top")]
    BadCursor,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for InboxError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

impl From<InboxError> for AppError {
    fn from(err: InboxError) -> Self {
        let code = match &err {
            InboxError::Query(_) | InboxError::BadCursor => ErrorCode::Validation,
            InboxError::NotFound | InboxError::NoAttachment => ErrorCode::NotFound,
            InboxError::Store(_) => ErrorCode::Storage,
        };
        AppError::new(code, capitalise(&err.to_string()) + ".")
    }
}

/// Where a page ends: after a row (date order) or after so many rows (ranked).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cursor {
    After {
        received_at: i64,
        account_id: String,
        id: String,
    },
    Skip(u32),
    /// Past the ranked matches: matches older than this rowid, newest first.
    Older(i64),
}

impl Cursor {
    fn encode(&self) -> String {
        let text = match self {
            Cursor::After {
                received_at,
                account_id,
                id,
            } => serde_json::json!(["after", received_at, account_id, id]),
            Cursor::Skip(n) => serde_json::json!(["skip", n]),
            Cursor::Older(rowid) => serde_json::json!(["older", rowid]),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text.to_string())
    }

    fn decode(text: &str) -> Result<Self, InboxError> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| InboxError::BadCursor)?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| InboxError::BadCursor)?;
        let parts = value.as_array().ok_or(InboxError::BadCursor)?;
        match parts.as_slice() {
            [kind, at, account, id] if kind == "after" => Ok(Cursor::After {
                received_at: at.as_i64().ok_or(InboxError::BadCursor)?,
                account_id: account.as_str().ok_or(InboxError::BadCursor)?.to_owned(),
                id: id.as_str().ok_or(InboxError::BadCursor)?.to_owned(),
            }),
            [kind, n] if kind == "skip" => Ok(Cursor::Skip(
                n.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or(InboxError::BadCursor)?,
            )),
            [kind, rowid] if kind == "older" => {
                Ok(Cursor::Older(rowid.as_i64().ok_or(InboxError::BadCursor)?))
            }
            _ => Err(InboxError::BadCursor),
        }
    }
}

/// Marks FTS5's `highlight()` and `snippet()` put around matches (never in mail text
/// Ferry indexes: control characters are not words).
const HIT_START: char = '\u{2}';
const HIT_END: char = '\u{3}';

fn segments(marked: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut rest = marked;
    while let Some(start) = rest.find(HIT_START) {
        if start > 0 {
            out.push(Segment {
                text: rest[..start].to_owned(),
                hit: false,
            });
        }
        let after = &rest[start + HIT_START.len_utf8()..];
        let end = after.find(HIT_END).unwrap_or(after.len());
        out.push(Segment {
            text: after[..end].to_owned(),
            hit: true,
        });
        rest = after.get(end + HIT_END.len_utf8()..).unwrap_or("");
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(Segment {
            text: rest.to_owned(),
            hit: false,
        });
    }
    out
}

fn like(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

fn day_ms(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc().timestamp_millis())
        .unwrap_or_default()
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The columns every row query selects, in [`Row`]'s order (subject and snippet, plain
/// or marked, follow).
const ROW_COLUMNS: &str = "m.account_id, m.id, m.message_id, m.thread_id,
    (SELECT count(*) FROM mail_messages t WHERE t.account_id = m.account_id AND t.thread_id = m.thread_id),
    m.from_name, m.from_address, m.received_at, m.unread, m.starred,
    m.attachments != '[]',
    m.problem IS NOT NULL AND m.subject = '' AND m.from_address = '' AND m.body_text = ''";

type Row = (
    String,
    String,
    Option<String>,
    String,
    i64,
    String,
    String,
    i64,
    bool,
    bool,
    bool,
    bool,
    String,
    String,
);

fn summary(row: Row) -> MessageSummary {
    let (
        account_id,
        id,
        message_id,
        thread_id,
        thread_size,
        from_name,
        from_address,
        received_at,
        unread,
        starred,
        has_attachments,
        unreadable,
        subject,
        snippet,
    ) = row;
    MessageSummary {
        account_id,
        id,
        also_in: Vec::new(),
        message_id,
        thread_id,
        thread_size: u32::try_from(thread_size).unwrap_or(u32::MAX),
        subject: segments(&subject),
        from_name,
        from_address,
        received_at: utc(received_at),
        snippet: segments(&snippet),
        unread,
        starred,
        has_attachments,
        unreadable,
    }
}

/// Relevance (lower is better, as FTS5 has it): a word in the subject counts most, then
/// in the participants and attachment names, then in the body.
const BM25: &str = "bm25(mail_search, 8.0, 4.0, 1.0, 2.0)";

/// A search ranks the newest this many matches by relevance; older matches follow, newest
/// first. Ranking every match of a common word in a large mailbox would cost a lookup
/// per match.
pub const RANKED_MATCHES: u32 = 200;

/// The `WHERE` terms of a filter and a search (after `WHERE 1`), on `m` (mail_messages)
/// and `a` (accounts).
fn push_filters(sql: &mut QueryBuilder<'_, Sqlite>, filter: &MailFilter, search: &SearchQuery) {
    match filter.mailbox {
        Mailbox::Inbox if filter.folder_id.is_none() => {
            sql.push(
                " AND EXISTS (SELECT 1 FROM mail_message_folders f JOIN mail_folders d
                   ON d.account_id = f.account_id AND d.id = f.folder
                   WHERE f.account_id = m.account_id AND f.message = m.id
                   AND d.kind = 'system' AND d.parent_id IS NULL AND upper(d.name) = 'INBOX')",
            );
        }
        Mailbox::Starred => {
            sql.push(" AND m.starred");
        }
        Mailbox::Inbox | Mailbox::All => {}
    }
    if let Some(account) = &filter.account_id {
        sql.push(" AND m.account_id = ").push_bind(account.clone());
        if let Some(folder) = &filter.folder_id {
            sql.push(
                " AND EXISTS (SELECT 1 FROM mail_message_folders f
                   WHERE f.account_id = m.account_id AND f.message = m.id AND f.folder = ",
            )
            .push_bind(folder.clone())
            .push(")");
        }
    }
    if filter.unread_only || search.unread == Some(true) {
        sql.push(" AND m.unread");
    }
    if search.unread == Some(false) {
        sql.push(" AND NOT m.unread");
    }
    if search.starred {
        sql.push(" AND m.starred");
    }
    if search.has_attachment {
        sql.push(" AND m.attachments != '[]'");
    }
    for from in &search.from {
        let pattern = like(from);
        sql.push(" AND (m.from_name LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR m.from_address LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
    for to in &search.to {
        sql.push(" AND m.recipients LIKE ")
            .push_bind(like(to))
            .push(" ESCAPE '\\'");
    }
    for account in &search.account {
        let pattern = like(account);
        sql.push(" AND (a.email LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR a.display_name LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
    if let Some(before) = search.before {
        sql.push(" AND m.received_at < ").push_bind(day_ms(before));
    }
    if let Some(after) = search.after {
        sql.push(" AND m.received_at >= ").push_bind(day_ms(after));
    }
}

/// The newest matches of a search, as a `candidates` CTE (without the `WITH`): rowids
/// follow dates, so the index gives them newest first and stops at the limit. Only
/// `older_than` and older, when given.
fn push_candidates(
    sql: &mut QueryBuilder<'_, Sqlite>,
    fts: &str,
    filter: &MailFilter,
    search: &SearchQuery,
    older_than: Option<i64>,
    limit: i64,
) {
    // Without a filter that needs the rows (see `searched`), the index alone answers,
    // without reading a row per match.
    let rows_needed = filter.mailbox != Mailbox::All
        || filter.account_id.is_some()
        || filter.unread_only
        || !search.from.is_empty()
        || !search.to.is_empty()
        || !search.account.is_empty()
        || search.has_attachment
        || search.unread.is_some()
        || search.starred;
    if rows_needed {
        sql.push(
            "candidates AS MATERIALIZED (SELECT s.rowid AS rid FROM mail_search s
             CROSS JOIN mail_messages m ON m.rowid = s.rowid
             JOIN accounts a ON a.id = m.account_id
             WHERE mail_search MATCH ",
        )
        .push_bind(fts.to_owned());
        push_filters(sql, filter, search);
    } else {
        sql.push(
            "candidates AS MATERIALIZED (SELECT s.rowid AS rid FROM mail_search s
             WHERE mail_search MATCH ",
        )
        .push_bind(fts.to_owned());
    }
    // Date bounds as rowid bounds, which the index applies itself.
    if let Some(before) = search.before {
        sql.push(" AND s.rowid < ")
            .push_bind(mail::first_rowid(day_ms(before)));
    }
    if let Some(after) = search.after {
        sql.push(" AND s.rowid >= ")
            .push_bind(mail::first_rowid(day_ms(after)));
    }
    if let Some(rowid) = older_than {
        sql.push(" AND s.rowid < ").push_bind(rowid);
    }
    sql.push(" ORDER BY s.rowid DESC LIMIT ")
        .push_bind(limit)
        .push(")");
}

/// The columns of the rows in `page` (a CTE of `rid` and `score`), with the search's
/// matches marked, ordered by `order`. The index reads only from the page's oldest row
/// on; `+ 0` keeps the id test out of it, as it would run the query again per id.
fn push_marked_rows(sql: &mut QueryBuilder<'_, Sqlite>, fts: &str, order: &str) {
    sql.push(" SELECT ")
        .push(ROW_COLUMNS)
        .push(
            ", highlight(mail_search, 0, char(2), char(3)),
               snippet(mail_search, 2, char(2), char(3), '…', 24)
             FROM mail_search s CROSS JOIN mail_messages m ON m.rowid = s.rowid
             WHERE mail_search MATCH ",
        )
        .push_bind(fts.to_owned())
        .push(
            " AND s.rowid >= (SELECT min(rid) FROM page)
             AND (s.rowid + 0) IN (SELECT rid FROM page) ORDER BY ",
        )
        .push(order);
}

/// Searching covers all mail, as Gmail's does: the Inbox mailbox does not narrow a
/// search (a label or folder, Starred and the other filters do).
fn searched(filter: &MailFilter) -> MailFilter {
    let searching = !filter.search.trim().is_empty();
    MailFilter {
        mailbox: match filter.mailbox {
            Mailbox::Inbox if searching => Mailbox::All,
            other => other,
        },
        ..filter.clone()
    }
}

/// A page of the list. Without words, newest first. With words, the newest
/// [`RANKED_MATCHES`] matches best first, then any older matches newest first.
pub async fn list(pool: &SqlitePool, request: &MailListRequest) -> Result<MailList, InboxError> {
    let filter = &searched(&request.filter);
    let search = query::parse(&filter.search)?;
    let fts = search.fts();
    let limit = request.limit.clamp(1, MAX_PAGE);
    let cursor = request.cursor.as_deref().map(Cursor::decode).transpose()?;
    // One more row than asked says whether there is a next page.
    let fetch = i64::from(limit) + 1;

    let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new("WITH ");
    let mut skip = 0;
    let ranked = match (&fts, &cursor) {
        (Some(fts), None | Some(Cursor::Skip(_))) => {
            skip = match cursor {
                Some(Cursor::Skip(n)) => n,
                _ => 0,
            };
            push_candidates(
                &mut sql,
                fts,
                filter,
                &search,
                None,
                i64::from(RANKED_MATCHES),
            );
            sql.push(format!(
                ", page AS MATERIALIZED (SELECT s.rowid AS rid, {BM25} AS score FROM mail_search s
                 WHERE mail_search MATCH "
            ))
            .push_bind(fts.clone())
            .push(
                " AND s.rowid >= (SELECT min(rid) FROM candidates)
                 AND (s.rowid + 0) IN (SELECT rid FROM candidates) ORDER BY score LIMIT ",
            )
            .push_bind(fetch)
            .push(" OFFSET ")
            .push_bind(i64::from(skip))
            .push(")");
            push_marked_rows(
                &mut sql,
                fts,
                "(SELECT score FROM page WHERE page.rid = s.rowid)",
            );
            true
        }
        (Some(fts), Some(Cursor::Older(rowid))) => {
            push_candidates(&mut sql, fts, filter, &search, Some(*rowid), fetch);
            sql.push(", page AS MATERIALIZED (SELECT rid, 0 AS score FROM candidates)");
            push_marked_rows(&mut sql, fts, "s.rowid DESC");
            false
        }
        (None, None | Some(Cursor::After { .. })) => {
            sql.push(
                "page AS MATERIALIZED (SELECT m.rowid AS rid, m.received_at AS at,
                     m.account_id AS acc, m.id AS mid FROM mail_messages m
                 JOIN accounts a ON a.id = m.account_id WHERE 1",
            );
            push_filters(&mut sql, filter, &search);
            if let Some(Cursor::After {
                received_at,
                account_id,
                id,
            }) = &cursor
            {
                sql.push(" AND (m.received_at, m.account_id, m.id) < (")
                    .push_bind(*received_at)
                    .push(", ")
                    .push_bind(account_id.clone())
                    .push(", ")
                    .push_bind(id.clone())
                    .push(")");
            }
            // The page drives (CROSS JOIN keeps it first): left to itself, SQLite may
            // walk the whole date index to spare itself sorting the page's few rows.
            sql.push(" ORDER BY m.received_at DESC, m.account_id DESC, m.id DESC LIMIT ")
                .push_bind(fetch)
                .push(") SELECT ")
                .push(ROW_COLUMNS)
                .push(
                    ", m.subject, m.snippet FROM page CROSS JOIN mail_messages m ON m.rowid = page.rid
                     ORDER BY page.at DESC, page.acc DESC, page.mid DESC",
                );
            false
        }
        _ => return Err(InboxError::BadCursor),
    };

    let rows: Vec<Row> = sql.build_query_as().fetch_all(pool).await?;
    let more = rows.len() > limit as usize;
    let mut messages: Vec<MessageSummary> =
        rows.into_iter().take(limit as usize).map(summary).collect();
    let next = match (&fts, more, messages.last()) {
        (_, _, None) => None,
        (None, true, Some(last)) => Some(Cursor::After {
            received_at: last.received_at.timestamp_millis(),
            account_id: last.account_id.clone(),
            id: last.id.clone(),
        }),
        (None, false, _) => None,
        (Some(_), true, Some(_)) if ranked => Some(Cursor::Skip(skip + limit)),
        (Some(fts), false, Some(_)) if ranked => older_matches(pool, fts, filter, &search).await?,
        (Some(_), true, Some(last)) => Some(Cursor::Older(rowid_of(pool, last).await?)),
        (Some(_), false, Some(_)) => None,
    }
    .map(|c| c.encode());
    add_copies(pool, &mut messages).await?;
    if filter.account_id.is_none() {
        dedupe(&mut messages);
    }
    Ok(MailList {
        messages,
        next,
        ranked,
    })
}

/// Where older matches start once the ranked ones are shown: below the oldest ranked
/// match, if the ranking was full (else every match was ranked).
async fn older_matches(
    pool: &SqlitePool,
    fts: &str,
    filter: &MailFilter,
    search: &SearchQuery,
) -> Result<Option<Cursor>, InboxError> {
    let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new("WITH ");
    push_candidates(
        &mut sql,
        fts,
        filter,
        search,
        None,
        i64::from(RANKED_MATCHES),
    );
    sql.push(" SELECT count(*), min(rid) FROM candidates");
    let (count, oldest): (i64, Option<i64>) = sql.build_query_as().fetch_one(pool).await?;
    Ok(match oldest {
        Some(rowid) if count >= i64::from(RANKED_MATCHES) => Some(Cursor::Older(rowid)),
        _ => None,
    })
}

async fn rowid_of(pool: &SqlitePool, m: &MessageSummary) -> Result<i64, InboxError> {
    Ok(
        sqlx::query_scalar("SELECT rowid FROM mail_messages WHERE account_id = ? AND id = ?")
            .bind(&m.account_id)
            .bind(&m.id)
            .fetch_one(pool)
            .await?,
    )
}

/// Fills `also_in` from every account holding the same `Message-ID`.
async fn add_copies(pool: &SqlitePool, messages: &mut [MessageSummary]) -> Result<(), InboxError> {
    let ids: Vec<&str> = messages
        .iter()
        .filter_map(|m| m.message_id.as_deref())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT message_id, account_id, id FROM mail_messages WHERE message_id IN (",
    );
    let mut list = sql.separated(", ");
    for id in &ids {
        list.push_bind(*id);
    }
    sql.push(") ORDER BY account_id, id");
    let copies: Vec<(String, String, String)> = sql.build_query_as().fetch_all(pool).await?;
    let mut by_header: HashMap<String, Vec<MessageRef>> = HashMap::new();
    for (header, account_id, id) in copies {
        by_header
            .entry(header)
            .or_default()
            .push(MessageRef { account_id, id });
    }
    for message in messages {
        if let Some(copies) = message.message_id.as_ref().and_then(|h| by_header.get(h)) {
            message.also_in = copies
                .iter()
                .filter(|c| c.account_id != message.account_id)
                .cloned()
                .collect();
        }
    }
    Ok(())
}

/// Keeps the first row of each `Message-ID` in the page.
fn dedupe(messages: &mut Vec<MessageSummary>) {
    let mut seen = std::collections::HashSet::new();
    messages.retain(|m| match &m.message_id {
        Some(header) => seen.insert(header.clone()),
        None => true,
    });
}

/// The conversation a message belongs to, oldest first (in the message's account).
pub async fn conversation(
    pool: &SqlitePool,
    account_id: &str,
    thread_id: &str,
) -> Result<Vec<MessageSummary>, InboxError> {
    let sql = format!(
        "SELECT {ROW_COLUMNS}, m.subject, m.snippet FROM mail_messages m
         WHERE m.account_id = ? AND m.thread_id = ? ORDER BY m.received_at, m.id"
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(account_id)
        .bind(thread_id)
        .fetch_all(pool)
        .await?;
    let mut messages: Vec<MessageSummary> = rows.into_iter().map(summary).collect();
    add_copies(pool, &mut messages).await?;
    Ok(messages)
}

type StoredMessage = (
    String,
    String,
    String,
    String,
    String,
    i64,
    bool,
    bool,
    String,
    String,
    Option<Vec<u8>>,
    Option<bool>,
    String,
    Option<String>,
    Option<String>,
);

/// A message for the reading pane, and the inline images its HTML names by `cid:` that
/// the provider keeps, as (Content-ID, where its bytes are): Outlook keeps every part of
/// its messages, Gmail the larger parts of a message that came with its conversation. The
/// caller fetches those and puts them in place ([`with_inline_images`]).
#[derive(Debug)]
pub struct Reading {
    pub view: MessageView,
    pub fetch: Vec<(String, AttachmentSource)>,
}

/// An inline part the provider keeps, before the HTML says whether it shows it: its
/// Content-ID, type, size and where its bytes are.
type KeptInline = (String, String, u64, AttachmentSource);

/// A message for the reading pane; remote content stays out unless `remote` allows it.
pub async fn read(
    pool: &SqlitePool,
    message: &MessageRef,
    remote: RemoteContent,
) -> Result<Reading, InboxError> {
    let stored: Option<StoredMessage> = sqlx::query_as(
        "SELECT m.thread_id, m.subject, m.from_name, m.from_address, m.recipients, m.received_at,
                m.unread, m.starred, m.attachments, m.body_text, r.raw, r.compressed,
                m.raw_format, m.problem, m.message_id
         FROM mail_messages m LEFT JOIN mail_raw r ON r.account_id = m.account_id AND r.id = m.id
         WHERE m.account_id = ? AND m.id = ?",
    )
    .bind(&message.account_id)
    .bind(&message.id)
    .fetch_optional(pool)
    .await?;
    let Some((
        thread_id,
        subject,
        from_name,
        from_address,
        recipients,
        received_at,
        unread,
        starred,
        attachments,
        body_text,
        raw,
        compressed,
        raw_format,
        problem,
        header,
    )) = stored
    else {
        return Err(InboxError::NotFound);
    };
    let raw = crate::store::mail::unpack(raw.unwrap_or_default(), compressed.unwrap_or(false))?;
    let recipients: Vec<Recipient> = serde_json::from_str(&recipients).unwrap_or_default();
    let addresses = |kind: &str| -> Vec<AddressView> {
        recipients
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| AddressView {
                name: r.name.clone(),
                address: r.address.clone(),
            })
            .collect()
    };
    let attachments: Vec<AttachmentRecord> = serde_json::from_str(&attachments).unwrap_or_default();
    let folders: Vec<String> = sqlx::query_scalar::<_, String>(
        "SELECT coalesce(d.name, f.folder) FROM mail_message_folders f
         LEFT JOIN mail_folders d ON d.account_id = f.account_id AND d.id = f.folder
         WHERE f.account_id = ? AND f.message = ? ORDER BY 1",
    )
    .bind(&message.account_id)
    .bind(&message.id)
    .fetch_all(pool)
    .await?
    .into_iter()
    .filter_map(|name| folder_name(&name))
    .collect();
    let mut also_in: Vec<MessageRef> =
        match &header {
            Some(header) => sqlx::query_as::<_, (String, String)>(
                "SELECT account_id, id FROM mail_messages WHERE message_id = ? AND account_id != ?
                 ORDER BY account_id",
            )
            .bind(header)
            .bind(&message.account_id)
            .fetch_all(pool)
            .await?,
            None => Vec::new(),
        }
        .into_iter()
        .map(|(account_id, id)| MessageRef { account_id, id })
        .collect();
    also_in.dedup();

    // The body, the inline parts stored with it (put in place here), and those the
    // provider keeps.
    let (body, kept): (_, Vec<KeptInline>) = match raw_format.as_str() {
        "graph-json" => {
            let json: serde_json::Value = serde_json::from_slice(&raw).unwrap_or_default();
            let body = graph_html(&json).map(|html| parse::HtmlBody {
                html,
                inline: Vec::new(),
            });
            (Ok(body), outlook_inline(&json))
        }
        "gmail-json" => match payload::html_full(&raw) {
            Ok(Some((html, parts))) => {
                let mut inline = Vec::new();
                let mut kept = Vec::new();
                for part in parts {
                    let Some(cid) = part.meta.content_id.clone() else {
                        continue;
                    };
                    let (content_type, size) = (part.meta.content_type.clone(), part.meta.size);
                    match gmail_source(part) {
                        Some(AttachmentSource::Here(bytes)) => inline.push((cid, bytes)),
                        Some(source) => kept.push((cid, content_type, size as u64, source)),
                        None => {}
                    }
                }
                (Ok(Some(parse::HtmlBody { html, inline })), kept)
            }
            other => (other.map(|_| None), Vec::new()),
        },
        _ => (parse::html_body(&raw), Vec::new()),
    };
    let unreadable = body.is_err();
    let (text, html, blocked) = match body {
        Err(_) => {
            let end = raw.len().min(RAW_PREVIEW_BYTES);
            (String::from_utf8_lossy(&raw[..end]).into_owned(), None, 0)
        }
        Ok(Some(body)) => {
            let safe = parse::sanitize_html(&body.html, remote);
            let html = with_inline_images(safe.html, body.inline);
            (body_text, Some(html), safe.blocked)
        }
        Ok(None) => (body_text, None, 0),
    };
    // Of the parts the provider keeps, the images the HTML shows (and that are small
    // enough to be put in).
    let fetch = match &html {
        Some(html) => kept
            .into_iter()
            .filter(|(cid, content_type, size, _)| {
                !cid.is_empty()
                    && html.contains(&format!("\"cid:{cid}\""))
                    && content_type.starts_with("image/")
                    && *size <= MAX_INLINE_IMAGE as u64
            })
            .map(|(cid, _, _, source)| (cid, source))
            .collect(),
        None => Vec::new(),
    };
    let view = MessageView {
        account_id: message.account_id.clone(),
        id: message.id.clone(),
        also_in,
        thread_id,
        subject,
        from: AddressView {
            name: from_name,
            address: from_address,
        },
        to: addresses("to"),
        cc: addresses("cc"),
        received_at: utc(received_at),
        unread,
        starred,
        folders,
        text,
        html,
        remote_blocked: u32::try_from(blocked).unwrap_or(u32::MAX),
        attachments: attachments
            .into_iter()
            .map(|a| AttachmentView {
                index: u32::try_from(a.index).unwrap_or(u32::MAX),
                filename: a.filename,
                content_type: a.content_type,
                size: u32::try_from(a.size).unwrap_or(u32::MAX),
                inline: a.inline,
            })
            .collect(),
        problem,
        unreadable,
    };
    Ok(Reading { view, fetch })
}

/// A label or folder as the reading pane names it: Gmail's state labels (UNREAD,
/// STARRED, IMPORTANT, the inbox categories) are shown otherwise or not at all, and its
/// upper-case system names read as words ("INBOX" as "Inbox").
fn folder_name(name: &str) -> Option<String> {
    if matches!(name, "UNREAD" | "STARRED" | "IMPORTANT") || name.starts_with("CATEGORY_") {
        return None;
    }
    if name.len() > 1 && name.chars().all(|c| c.is_ascii_uppercase()) {
        return Some(capitalise(&name.to_ascii_lowercase()));
    }
    Some(name.to_owned())
}

fn graph_html(json: &serde_json::Value) -> Option<String> {
    let body = json.get("body")?;
    let html = body["contentType"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("html"));
    html.then(|| body["content"].as_str().unwrap_or_default().to_owned())
}

/// Points `cid:` images at the message's own parts, as data URLs (the reading pane's
/// frame loads nothing else).
pub(crate) fn with_inline_images(
    mut html: String,
    inline: Vec<(String, parse::PartBytes)>,
) -> String {
    for (cid, part) in inline {
        if part.bytes.len() > MAX_INLINE_IMAGE || !part.content_type.starts_with("image/") {
            continue;
        }
        let data = format!(
            "data:{};base64,{}",
            part.content_type,
            base64::engine::general_purpose::STANDARD.encode(&part.bytes)
        );
        html = html.replace(&format!("\"cid:{cid}\""), &format!("\"{data}\""));
    }
    html
}

/// What a stored message's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// The RFC 5322 message (Gmail's `raw`).
    Rfc822(Vec<u8>),
    /// Gmail's `full` resource for it; the MIME source is fetched from Gmail when needed.
    GmailJson(Vec<u8>),
    /// Graph's JSON for it; the MIME source is fetched from Outlook when needed.
    GraphJson(Vec<u8>),
}

/// The stored bytes of a message, with a few headers for an mbox's separator line.
pub async fn stored(
    pool: &SqlitePool,
    message: &MessageRef,
) -> Result<(Stored, StoredMeta), InboxError> {
    type Row = (Option<Vec<u8>>, Option<bool>, String, String, i64, String);
    let row: Option<Row> = sqlx::query_as(
        "SELECT r.raw, r.compressed, m.raw_format, m.from_address, m.received_at, m.subject
          FROM mail_messages m
          LEFT JOIN mail_raw r ON r.account_id = m.account_id AND r.id = m.id
          WHERE m.account_id = ? AND m.id = ?",
    )
    .bind(&message.account_id)
    .bind(&message.id)
    .fetch_optional(pool)
    .await?;
    let Some((raw, compressed, format, from, received_at, subject)) = row else {
        return Err(InboxError::NotFound);
    };
    let raw = crate::store::mail::unpack(raw.unwrap_or_default(), compressed.unwrap_or(false))?;
    let meta = StoredMeta {
        from,
        received_at: utc(received_at),
        subject,
    };
    Ok((
        match format.as_str() {
            "gmail-json" => Stored::GmailJson(raw),
            "graph-json" => Stored::GraphJson(raw),
            _ => Stored::Rfc822(raw),
        },
        meta,
    ))
}

/// What an export names a message by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMeta {
    pub from: String,
    pub received_at: DateTime<Utc>,
    pub subject: String,
}

/// Where an attachment's bytes are: in the stored message, or at the provider.
pub async fn attachment(
    pool: &SqlitePool,
    message: &MessageRef,
    index: u32,
) -> Result<AttachmentSource, InboxError> {
    let index = index as usize;
    match stored(pool, message).await?.0 {
        Stored::Rfc822(raw) => parse::attachment(&raw, index).map(AttachmentSource::Here),
        Stored::GmailJson(raw) => payload::part_full(&raw, index).and_then(gmail_source),
        Stored::GraphJson(raw) => serde_json::from_slice::<serde_json::Value>(&raw)
            .ok()
            .and_then(|json| outlook_source(json["attachments"].get(index)?)),
    }
    .ok_or(InboxError::NoAttachment)
}

/// Where the bytes of a part of a Gmail message are: with it, or at Gmail.
fn gmail_source(part: payload::GmailPart) -> Option<AttachmentSource> {
    let meta = part.meta;
    match (part.data, part.attachment_id) {
        (Some(bytes), _) => Some(AttachmentSource::Here(parse::PartBytes {
            filename: meta.filename,
            content_type: meta.content_type,
            bytes,
        })),
        (None, Some(attachment_id)) => Some(AttachmentSource::Provider {
            attachment_id,
            filename: meta.filename,
            content_type: meta.content_type,
        }),
        (None, None) => None,
    }
}

/// Where the bytes of an attachment Graph described are; none without an id.
fn outlook_source(described: &serde_json::Value) -> Option<AttachmentSource> {
    let text = |key: &str| described[key].as_str().unwrap_or_default().to_owned();
    let attachment_id = text("id");
    if attachment_id.is_empty() {
        return None;
    }
    Some(AttachmentSource::Provider {
        attachment_id,
        filename: text("name"),
        content_type: text("contentType"),
    })
}

/// The inline parts Outlook described for a message (it keeps them all).
fn outlook_inline(json: &serde_json::Value) -> Vec<KeptInline> {
    let text = |a: &serde_json::Value, key: &str| a[key].as_str().unwrap_or_default().to_owned();
    json["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["isInline"].as_bool() == Some(true))
        .filter_map(|a| {
            let size = a["size"].as_u64().unwrap_or(u64::MAX);
            outlook_source(a)
                .map(|source| (text(a, "contentId"), text(a, "contentType"), size, source))
        })
        .collect()
}

/// Where an attachment's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentSource {
    /// In the message as Ferry keeps it.
    Here(parse::PartBytes),
    /// At the provider (Outlook keeps an Outlook message's parts; Gmail the larger parts
    /// of a message Ferry has as its `full` resource): fetched when opened.
    Provider {
        attachment_id: String,
        filename: String,
        content_type: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_text_becomes_segments() {
        let hit = |t: &str| Segment {
            text: t.into(),
            hit: true,
        };
        let plain = |t: &str| Segment {
            text: t.into(),
            hit: false,
        };
        assert_eq!(
            segments("the \u{2}budget\u{3} for \u{2}Q3\u{3}"),
            vec![plain("the "), hit("budget"), plain(" for "), hit("Q3")]
        );
        assert_eq!(segments(""), vec![plain("")]);
        assert_eq!(
            segments("\u{2}open"),
            vec![hit("open")],
            "an unclosed mark ends the text"
        );
    }

    #[test]
    fn cursors_survive_the_round_trip_and_junk_is_refused() {
        for cursor in [
            Cursor::After {
                received_at: 1_796_026_500_000,
                account_id: "a".into(),
                id: "m\"1".into(),
            },
            Cursor::Skip(50),
        ] {
            assert_eq!(Cursor::decode(&cursor.encode()).expect("reads"), cursor);
        }
        assert!(matches!(
            Cursor::decode("not base64!"),
            Err(InboxError::BadCursor)
        ));
        assert!(matches!(
            Cursor::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("[1]")),
            Err(InboxError::BadCursor)
        ));
    }

    #[test]
    fn gmail_state_labels_are_not_folders() {
        assert_eq!(folder_name("INBOX").as_deref(), Some("Inbox"));
        assert_eq!(folder_name("UNREAD"), None);
        assert_eq!(folder_name("CATEGORY_PROMOTIONS"), None);
        assert_eq!(
            folder_name("Receipts/2026").as_deref(),
            Some("Receipts/2026")
        );
        assert_eq!(folder_name("Sent Items").as_deref(), Some("Sent Items"));
    }

    #[test]
    fn like_patterns_match_the_typed_text_only() {
        assert_eq!(like("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}

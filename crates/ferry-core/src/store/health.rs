//! Connection health per account, and the per-account timeline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{SqliteConnection, SqlitePool};

use super::StoreError;
use crate::providers::failure::Cause;

/// Where an account's connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum HealthState {
    Healthy,
    /// Renewing access right now (never stored: the keeper reports it while it works).
    Working,
    /// Refreshing failed for a reason that passes (network, provider trouble); Ferry
    /// retries on its own.
    Retrying,
    /// Only signing in again fixes it.
    NeedsSignIn,
    /// The user paused this account.
    Paused,
}

impl HealthState {
    fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy | HealthState::Working => "healthy",
            HealthState::Retrying => "retrying",
            HealthState::NeedsSignIn => "needs_sign_in",
            HealthState::Paused => "paused",
        }
    }

    fn from_db(text: &str) -> Self {
        match text {
            "retrying" => HealthState::Retrying,
            "needs_sign_in" => HealthState::NeedsSignIn,
            "paused" => HealthState::Paused,
            _ => HealthState::Healthy,
        }
    }
}

/// An account's health as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub account_id: String,
    pub state: HealthState,
    pub since: DateTime<Utc>,
    pub cause: Option<Cause>,
    pub code: Option<String>,
    pub failures: u32,
    pub next_try_at: Option<DateTime<Utc>>,
    pub last_refresh_at: Option<DateTime<Utc>>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub grant_expires_at: Option<DateTime<Utc>>,
    pub notified_at: Option<DateTime<Utc>>,
    pub warned_at: Option<DateTime<Utc>>,
}

impl Health {
    pub fn healthy(account_id: &str, now: DateTime<Utc>) -> Self {
        Self {
            account_id: account_id.to_owned(),
            state: HealthState::Healthy,
            since: now,
            cause: None,
            code: None,
            failures: 0,
            next_try_at: None,
            last_refresh_at: None,
            last_sync_at: None,
            grant_expires_at: None,
            notified_at: None,
            warned_at: None,
        }
    }
}

impl Health {
    /// Moves to `state`. A new state is a new incident: it starts now, nothing about it
    /// has been announced yet, and failures are counted afresh. Returns whether the
    /// state changed.
    pub fn enter(&mut self, state: HealthState, now: DateTime<Utc>) -> bool {
        if self.state == state {
            return false;
        }
        self.state = state;
        self.since = now;
        self.notified_at = None;
        self.failures = 0;
        true
    }

    /// Forgets the last failure (the account works, or the user paused it).
    pub fn clear_failure(&mut self) {
        self.cause = None;
        self.code = None;
        self.failures = 0;
        self.next_try_at = None;
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    account_id: String,
    state: String,
    since: i64,
    cause: Option<String>,
    code: Option<String>,
    failures: i64,
    next_try_at: Option<i64>,
    last_refresh_at: Option<i64>,
    last_sync_at: Option<i64>,
    grant_expires_at: Option<i64>,
    notified_at: Option<i64>,
    warned_at: Option<i64>,
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn cause_to_db(cause: Cause) -> String {
    serde_json::to_value(cause)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn cause_from_db(text: &str) -> Option<Cause> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
}

impl From<Row> for Health {
    fn from(row: Row) -> Self {
        Self {
            account_id: row.account_id,
            state: HealthState::from_db(&row.state),
            since: at(row.since),
            cause: row.cause.as_deref().and_then(cause_from_db),
            code: row.code,
            failures: u32::try_from(row.failures).unwrap_or(u32::MAX),
            next_try_at: row.next_try_at.map(at),
            last_refresh_at: row.last_refresh_at.map(at),
            last_sync_at: row.last_sync_at.map(at),
            grant_expires_at: row.grant_expires_at.map(at),
            notified_at: row.notified_at.map(at),
            warned_at: row.warned_at.map(at),
        }
    }
}

const COLUMNS: &str = "account_id, state, since, cause, code, failures, next_try_at, \
     last_refresh_at, last_sync_at, grant_expires_at, notified_at, warned_at";

/// Every account's health; an account without a row is healthy since it was added.
pub async fn all(pool: &SqlitePool) -> Result<Vec<Health>, StoreError> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM account_health
         UNION ALL
         SELECT id, 'healthy', created_at, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL
         FROM accounts WHERE id NOT IN (SELECT account_id FROM account_health)"
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Health::from).collect())
}

pub async fn get(
    conn: &mut SqliteConnection,
    account_id: &str,
) -> Result<Option<Health>, StoreError> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM account_health WHERE account_id = ?"
    ))
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(Health::from))
}

/// Writes an account's health (insert or replace).
pub async fn put(conn: &mut SqliteConnection, health: &Health) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT OR REPLACE INTO account_health ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(&health.account_id)
    .bind(health.state.as_str())
    .bind(ms(health.since))
    .bind(health.cause.map(cause_to_db))
    .bind(&health.code)
    .bind(i64::from(health.failures))
    .bind(health.next_try_at.map(ms))
    .bind(health.last_refresh_at.map(ms))
    .bind(health.last_sync_at.map(ms))
    .bind(health.grant_expires_at.map(ms))
    .bind(health.notified_at.map(ms))
    .bind(health.warned_at.map(ms))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Kinds of timeline entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum TimelineKind {
    Added,
    SignedInAgain,
    ScopesChanged,
    Refreshed,
    RefreshFailed,
    NeedsSignIn,
    Recovered,
    Notified,
    Paused,
    Resumed,
}

impl TimelineKind {
    fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Added => "added",
            TimelineKind::SignedInAgain => "signedInAgain",
            TimelineKind::ScopesChanged => "scopesChanged",
            TimelineKind::Refreshed => "refreshed",
            TimelineKind::RefreshFailed => "refreshFailed",
            TimelineKind::NeedsSignIn => "needsSignIn",
            TimelineKind::Recovered => "recovered",
            TimelineKind::Notified => "notified",
            TimelineKind::Paused => "paused",
            TimelineKind::Resumed => "resumed",
        }
    }
}

/// One thing that happened to an account. Plain words and provider codes only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub kind: TimelineKind,
    pub detail: String,
    /// The provider's code (`invalid_grant`, `AADSTS700082`), when there is one.
    pub code: Option<String>,
}

impl TimelineEntry {
    pub fn new(at: DateTime<Utc>, kind: TimelineKind, detail: impl Into<String>) -> Self {
        Self {
            at,
            kind,
            detail: detail.into(),
            code: None,
        }
    }

    /// With the provider's code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

/// What an account's incident was announced with: a notification of the incident, or a
/// warning that its grant ends soon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announced {
    Notified,
    Warned,
}

/// Records that `account_id`'s incident (or warning) was announced at `now`, so it is not
/// announced again, across restarts.
pub async fn mark_announced(
    conn: &mut SqliteConnection,
    account_id: &str,
    announced: Announced,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let query = match announced {
        Announced::Notified => "UPDATE account_health SET notified_at = ? WHERE account_id = ?",
        Announced::Warned => "UPDATE account_health SET warned_at = ? WHERE account_id = ?",
    };
    sqlx::query(query)
        .bind(ms(now))
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Entries kept per account; older ones are dropped as new ones come.
const TIMELINE_KEEP: i64 = 500;

pub async fn append(
    conn: &mut SqliteConnection,
    account_id: &str,
    entry: &TimelineEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO account_timeline (account_id, at, kind, detail, code) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(account_id)
    .bind(ms(entry.at))
    .bind(entry.kind.as_str())
    .bind(&entry.detail)
    .bind(&entry.code)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM account_timeline WHERE account_id = ? AND id <= (
           SELECT id FROM account_timeline WHERE account_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
    )
    .bind(account_id)
    .bind(account_id)
    .bind(TIMELINE_KEEP)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    at: i64,
    kind: String,
    detail: String,
    code: Option<String>,
}

/// An account's timeline, oldest first.
pub async fn timeline(
    pool: &SqlitePool,
    account_id: &str,
) -> Result<Vec<TimelineEntry>, StoreError> {
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT at, kind, detail, code FROM account_timeline WHERE account_id = ? ORDER BY id",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let kind = serde_json::from_value(serde_json::Value::String(row.kind)).ok()?;
            Some(TimelineEntry {
                at: at(row.at),
                kind,
                detail: row.detail,
                code: row.code,
            })
        })
        .collect())
}

//! What the dashboard and the account page read and set of sync: services paused by the
//! user, and the log of runs.

use sqlx::SqlitePool;

use super::StoreError;
use crate::services::Service;

/// Pauses (or resumes) one service of an account. False when the account is gone.
pub async fn set_paused(
    pool: &SqlitePool,
    account: &str,
    service: Service,
    paused: bool,
    at: i64,
) -> Result<bool, StoreError> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM accounts WHERE id = ?")
        .bind(account)
        .fetch_optional(pool)
        .await?;
    if exists.is_none() {
        return Ok(false);
    }
    if paused {
        sqlx::query(
            "INSERT INTO sync_paused (account_id, service, since) VALUES (?, ?, ?)
             ON CONFLICT (account_id, service) DO NOTHING",
        )
        .bind(account)
        .bind(service.as_str())
        .bind(at)
        .execute(pool)
        .await?;
    } else {
        sqlx::query("DELETE FROM sync_paused WHERE account_id = ? AND service = ?")
            .bind(account)
            .bind(service.as_str())
            .execute(pool)
            .await?;
    }
    Ok(true)
}

/// Whether the user paused this service of the account.
pub async fn is_paused(
    pool: &SqlitePool,
    account: &str,
    service: Service,
) -> Result<bool, StoreError> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM sync_paused WHERE account_id = ? AND service = ?")
            .bind(account)
            .bind(service.as_str())
            .fetch_optional(pool)
            .await?;
    Ok(found.is_some())
}

/// One sync run, as the account page's log shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunRecord {
    pub service: String,
    pub kind: String,
    /// Unix ms.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub added: i64,
    pub changed: i64,
    pub removed: i64,
    pub requests: i64,
    pub quota_units: i64,
    pub error: Option<String>,
}

/// The account's newest runs first, at most `limit`. Runs that changed nothing and
/// failed nothing (the minute's polls) are left out unless `quiet` asks for them.
pub async fn runs(
    pool: &SqlitePool,
    account: &str,
    limit: u32,
    quiet: bool,
) -> Result<Vec<RunRecord>, StoreError> {
    Ok(sqlx::query_as::<_, RunRecord>(
        "SELECT service, kind, started_at, finished_at, added, changed, removed, requests,
                quota_units, error
         FROM sync_runs WHERE account_id = ?
           AND (? OR added + changed + removed > 0 OR error IS NOT NULL OR kind != 'incremental')
         ORDER BY started_at DESC, id DESC LIMIT ?",
    )
    .bind(account)
    .bind(quiet)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

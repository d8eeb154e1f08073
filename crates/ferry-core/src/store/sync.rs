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

/// What the user decided about a held round of removals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Apply the removals.
    Remove,
    /// Keep the local copies of what the provider no longer has.
    Keep,
}

/// A round of removals waiting for the user, or decided and not yet carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hold {
    pub removing: i64,
    pub local: i64,
    /// Unix ms.
    pub held_at: i64,
    pub decision: Option<Decision>,
}

/// Holds a round that would remove `removing` of `local` items, until the user decides.
pub async fn hold(
    pool: &SqlitePool,
    account: &str,
    service: Service,
    removing: i64,
    local: i64,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sync_holds (account_id, service, removing, local, held_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id, service) DO UPDATE SET removing = excluded.removing,
             local = excluded.local, held_at = excluded.held_at, decision = NULL,
             notified = CASE WHEN sync_holds.decision IS NULL THEN sync_holds.notified ELSE 0 END",
    )
    .bind(account)
    .bind(service.as_str())
    .bind(removing)
    .bind(local)
    .bind(at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The service's held round, if there is one.
pub async fn held(
    pool: &SqlitePool,
    account: &str,
    service: Service,
) -> Result<Option<Hold>, StoreError> {
    let row: Option<(i64, i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT removing, local, held_at, decision FROM sync_holds WHERE account_id = ? AND service = ?",
    )
    .bind(account)
    .bind(service.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(removing, local, held_at, decision)| Hold {
        removing,
        local,
        held_at,
        decision: match decision.as_deref() {
            Some("remove") => Some(Decision::Remove),
            Some("keep") => Some(Decision::Keep),
            _ => None,
        },
    }))
}

/// Records the user's decision on a held round. False when nothing is held.
pub async fn decide(
    pool: &SqlitePool,
    account: &str,
    service: Service,
    decision: Decision,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE sync_holds SET decision = ? WHERE account_id = ? AND service = ?")
            .bind(match decision {
                Decision::Remove => "remove",
                Decision::Keep => "keep",
            })
            .bind(account)
            .bind(service.as_str())
            .execute(pool)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// The held round was carried out as decided.
pub async fn release(pool: &SqlitePool, account: &str, service: Service) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM sync_holds WHERE account_id = ? AND service = ? AND decision IS NOT NULL",
    )
    .bind(account)
    .bind(service.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

/// A held round waiting for the user, with what its notification says.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Waiting {
    pub account_id: String,
    pub email: String,
    pub provider: String,
    pub service: String,
    pub removing: i64,
    pub local: i64,
    pub notified: bool,
}

/// Every held round the user has not answered yet.
pub async fn waiting(pool: &SqlitePool) -> Result<Vec<Waiting>, StoreError> {
    Ok(sqlx::query_as::<_, Waiting>(
        "SELECT h.account_id, a.email, a.provider, h.service, h.removing, h.local, h.notified
         FROM sync_holds h JOIN accounts a ON a.id = h.account_id
         WHERE h.decision IS NULL ORDER BY a.created_at",
    )
    .fetch_all(pool)
    .await?)
}

/// The held round's notification was shown (or would have been, were they on).
pub async fn mark_notified(
    pool: &SqlitePool,
    account: &str,
    service: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sync_holds SET notified = 1 WHERE account_id = ? AND service = ?")
        .bind(account)
        .bind(service)
        .execute(pool)
        .await?;
    Ok(())
}

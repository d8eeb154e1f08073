//! Account rows: identity, services, health.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use super::health::{self, Health};
use super::StoreError;
use crate::providers::Provider;
use crate::services::{CalendarAccess, Service, ServiceChoice};

/// An account as stored: its identity, services and health. Tokens never live here;
/// `crate::views` turns records into what the UI shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: String,
    pub provider: Provider,
    pub email: String,
    pub display_name: String,
    /// Mail, Calendar and Contacts, in that order.
    pub services: Vec<ServiceRecord>,
    pub added_at: DateTime<Utc>,
    /// The last sign-in, refresh or sync.
    pub last_activity_at: Option<DateTime<Utc>>,
    pub health: Health,
}

/// One service of an account: whether the user wants it and whether the provider
/// granted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceRecord {
    pub service: Service,
    pub requested: bool,
    pub granted: bool,
    /// Calendar only: read, or read and write. Mail and contacts are read-only.
    pub access: CalendarAccess,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    provider: String,
    email: String,
    display_name: String,
    created_at: i64,
    last_activity_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    account_id: String,
    service: String,
    requested: bool,
    granted: bool,
    access: String,
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub(super) async fn list(pool: &SqlitePool) -> Result<Vec<AccountRecord>, StoreError> {
    let rows: Vec<AccountRow> = sqlx::query_as(
        "SELECT id, provider, email, display_name, created_at, last_activity_at
         FROM accounts ORDER BY created_at, id",
    )
    .fetch_all(pool)
    .await?;
    let services: Vec<ServiceRow> = sqlx::query_as(
        "SELECT account_id, service, requested, granted, access FROM account_services",
    )
    .fetch_all(pool)
    .await?;
    let healths = health::all(pool).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let Some(provider) = Provider::from_db(&row.provider) else {
                tracing::warn!(account = %row.id, "skipping account with unknown provider");
                return None;
            };
            let services = Service::ALL
                .iter()
                .map(|&service| {
                    let stored = services
                        .iter()
                        .find(|s| s.account_id == row.id && s.service == service.as_str());
                    ServiceRecord {
                        service,
                        requested: stored.is_some_and(|s| s.requested),
                        granted: stored.is_some_and(|s| s.granted),
                        access: match stored.map(|s| s.access.as_str()) {
                            Some("readwrite") => CalendarAccess::ReadWrite,
                            _ => CalendarAccess::Read,
                        },
                    }
                })
                .collect();
            let health = healths
                .iter()
                .find(|h| h.account_id == row.id)
                .cloned()
                .unwrap_or_else(|| Health::healthy(&row.id, from_millis(row.created_at)));
            Some(AccountRecord {
                health,
                id: row.id,
                provider,
                email: row.email,
                display_name: row.display_name,
                services,
                added_at: from_millis(row.created_at),
                last_activity_at: row.last_activity_at.map(from_millis),
            })
        })
        .collect())
}

pub(super) async fn provider(pool: &SqlitePool, id: &str) -> Result<Option<Provider>, StoreError> {
    let provider: Option<String> = sqlx::query_scalar("SELECT provider FROM accounts WHERE id = ?")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(provider.as_deref().and_then(Provider::from_db))
}

/// Turns services off: a service stays requested only if `keep` still asks for it.
pub(super) async fn keep_requested(
    pool: &SqlitePool,
    id: &str,
    keep: &ServiceChoice,
) -> Result<bool, StoreError> {
    let mut tx = super::begin_write(pool).await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM accounts WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Ok(false);
    }
    for (service, wanted) in [
        (Service::Mail, keep.mail),
        (Service::Calendar, keep.calendar.is_some()),
        (Service::Contacts, keep.contacts),
    ] {
        if !wanted {
            sqlx::query(
                "UPDATE account_services SET requested = 0 WHERE account_id = ? AND service = ?",
            )
            .bind(id)
            .bind(service.as_str())
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

//! Account rows as the UI sees them. Tokens never live in these views.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::SqlitePool;

use super::health::{self, Health, HealthState};
use super::StoreError;
use crate::help::Help;
use crate::providers::Provider;
use crate::services::{CalendarAccess, Service, ServiceChoice};

/// What the UI may know about an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub id: String,
    pub provider: Provider,
    pub email: String,
    pub display_name: String,
    /// Mail, Calendar and Contacts, in that order.
    pub services: Vec<ServiceView>,
    pub added_at: DateTime<Utc>,
    /// The last sign-in, refresh or sync.
    pub last_activity_at: Option<DateTime<Utc>>,
    pub health: HealthView,
}

/// How an account's connection is doing, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct HealthView {
    pub state: HealthState,
    pub since: DateTime<Utc>,
    /// While retrying: when the next attempt is.
    pub next_try_at: Option<DateTime<Utc>>,
    /// The provider's code for the last failure, for the curious and for support.
    pub code: Option<String>,
    /// What went wrong and what to do, in plain words.
    pub help: Option<Help>,
    pub last_refresh_at: Option<DateTime<Utc>>,
    pub last_sync_at: Option<DateTime<Utc>>,
    /// When the provider will end this grant, if known ("Needs sign-in in N days").
    pub grant_expires_at: Option<DateTime<Utc>>,
}

impl HealthView {
    fn from_health(health: &Health, provider: Provider) -> Self {
        Self {
            state: health.state,
            since: health.since,
            next_try_at: health.next_try_at,
            code: health.code.clone(),
            help: health
                .cause
                .map(|cause| crate::help::for_cause(provider, cause)),
            last_refresh_at: health.last_refresh_at,
            last_sync_at: health.last_sync_at,
            grant_expires_at: health.grant_expires_at,
        }
    }
}

/// One service of an account: whether the user wants it and whether the provider
/// granted it ("Not granted" when wanted but not granted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
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

pub(super) async fn list(pool: &SqlitePool) -> Result<Vec<AccountView>, StoreError> {
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
                    ServiceView {
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
            Some(AccountView {
                health: HealthView::from_health(&health, provider),
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
    let mut tx = pool.begin().await?;
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

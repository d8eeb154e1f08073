//! Saving a completed sign-in: the account row (found by provider + tenant + subject,
//! never by email), its sealed tokens and its per-service grants, in one transaction.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use super::health::{self, Health, HealthState, TimelineEntry, TimelineKind};
use super::StoreError;
use crate::account::{AccessToken, Identity, RefreshToken, TokenSet};
use crate::providers::Provider;
use crate::services::{CalendarAccess, Service, ServiceChoice, ServiceGrants};
use crate::vault::{CipherError, RootKey};

/// What is sealed: both tokens together, so one write replaces both.
#[derive(Serialize, Deserialize)]
struct SealedTokens {
    access_token: String,
    refresh_token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("this sign-in is for {signed_in}, but the account being reconnected is {expected}; nothing was changed")]
    DifferentAccount { expected: String, signed_in: String },
    #[error("the account no longer exists")]
    NoSuchAccount,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for SaveError {
    fn from(err: sqlx::Error) -> Self {
        SaveError::Store(StoreError::Query(err))
    }
}

/// The outcome of saving a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub account_id: String,
    /// False when the same account was already there and was updated.
    pub created: bool,
}

/// A sign-in to save: who signed in, with which tokens, what was asked for and granted.
#[derive(Debug)]
pub struct NewSignIn<'a> {
    pub provider: Provider,
    pub identity: &'a Identity,
    pub tokens: &'a TokenSet,
    pub requested: &'a ServiceChoice,
    pub granted: &'a ServiceGrants,
    /// Reconnect this account: the sign-in must be its identity.
    pub reconnect: Option<&'a str>,
}

/// Saves a sign-in, in one transaction: the account (keyed by provider, tenant and
/// subject), its sealed tokens, its services, a fresh health and a timeline entry.
pub async fn save(
    pool: &SqlitePool,
    root: &RootKey,
    sign_in: &NewSignIn<'_>,
    now: DateTime<Utc>,
) -> Result<Saved, SaveError> {
    let NewSignIn {
        provider,
        identity,
        tokens,
        requested,
        granted,
        reconnect,
    } = *sign_in;
    let now_ms = now.timestamp_millis();
    let mut tx = super::begin_write(pool).await?;
    let existing: Option<String> = sqlx::query_scalar(
        "SELECT id FROM accounts WHERE provider = ? AND tenant = ? AND subject = ?",
    )
    .bind(provider.as_str())
    .bind(&identity.tenant)
    .bind(&identity.subject)
    .fetch_optional(&mut *tx)
    .await?;

    if let Some(expected_id) = reconnect {
        let expected: Option<String> =
            sqlx::query_scalar("SELECT email FROM accounts WHERE id = ?")
                .bind(expected_id)
                .fetch_optional(&mut *tx)
                .await?;
        let expected = expected.ok_or(SaveError::NoSuchAccount)?;
        if existing.as_deref() != Some(expected_id) {
            return Err(SaveError::DifferentAccount {
                expected,
                signed_in: identity.email.clone(),
            });
        }
    }

    let previous_grants: Vec<(String, bool)> = match &existing {
        Some(id) => sqlx::query_as(
            "SELECT service, granted FROM account_services WHERE account_id = ? ORDER BY service",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?,
        None => Vec::new(),
    };
    let (account_id, created) = match existing {
        Some(id) => {
            sqlx::query("UPDATE accounts SET email = ?, display_name = ?, updated_at = ?, last_activity_at = ? WHERE id = ?")
                .bind(&identity.email)
                .bind(&identity.name)
                .bind(now_ms)
                .bind(now_ms)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            (id, false)
        }
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            sqlx::query(
                "INSERT INTO accounts (id, provider, tenant, subject, email, display_name, created_at, updated_at, last_activity_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&id)
            .bind(provider.as_str())
            .bind(&identity.tenant)
            .bind(&identity.subject)
            .bind(&identity.email)
            .bind(&identity.name)
            .bind(now_ms)
            .bind(now_ms)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
            (id, true)
        }
    };

    let sealed = seal(
        root,
        &account_id,
        &tokens.access_token,
        tokens.refresh_token.as_ref(),
    );
    sqlx::query(
        "INSERT INTO account_tokens (account_id, sealed, access_expires_at, scopes, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id) DO UPDATE SET sealed = excluded.sealed,
           access_expires_at = excluded.access_expires_at, scopes = excluded.scopes, updated_at = excluded.updated_at",
    )
    .bind(&account_id)
    .bind(sealed)
    .bind(tokens.expires_at.timestamp_millis())
    .bind(tokens.scopes.join(" "))
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;

    for service in Service::ALL {
        let (wanted, got) = (requested.includes(service), granted.includes(service));
        let access = match service {
            Service::Calendar => granted.calendar.or(requested.calendar),
            Service::Mail | Service::Contacts => None,
        };
        let access = match access {
            Some(CalendarAccess::ReadWrite) => "readwrite",
            _ => "read",
        };
        sqlx::query(
            "INSERT INTO account_services (account_id, service, requested, granted, access) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (account_id, service) DO UPDATE SET requested = excluded.requested,
               granted = excluded.granted, access = excluded.access",
        )
        .bind(&account_id)
        .bind(service.as_str())
        .bind(wanted)
        .bind(got)
        .bind(access)
        .execute(&mut *tx)
        .await?;
    }

    // What happened, for the account's timeline, and a fresh start for its health.
    let services = describe(granted);
    let (kind, detail) = if created {
        (TimelineKind::Added, format!("Added, with {services}."))
    } else {
        (
            TimelineKind::SignedInAgain,
            format!("Signed in again; Ferry has {services}."),
        )
    };
    let entry = |kind, detail: String| TimelineEntry {
        at: now,
        kind,
        detail,
        code: None,
    };
    health::append(&mut tx, &account_id, &entry(kind, detail)).await?;
    let now_grants: Vec<(String, bool)> = sqlx::query_as(
        "SELECT service, granted FROM account_services WHERE account_id = ? ORDER BY service",
    )
    .bind(&account_id)
    .fetch_all(&mut *tx)
    .await?;
    if !created && now_grants != previous_grants {
        health::append(
            &mut tx,
            &account_id,
            &entry(
                TimelineKind::ScopesChanged,
                format!("Access changed: now {services}."),
            ),
        )
        .await?;
    }
    let before = health::get(&mut tx, &account_id).await?;
    let mut fresh = Health::healthy(&account_id, now);
    fresh.last_refresh_at = Some(now);
    fresh.last_sync_at = before.as_ref().and_then(|h| h.last_sync_at);
    fresh.grant_expires_at = tokens.grant_expires_at;
    if before
        .as_ref()
        .is_some_and(|h| h.state == HealthState::NeedsSignIn)
    {
        health::append(
            &mut tx,
            &account_id,
            &entry(
                TimelineKind::Recovered,
                "Working again after signing in.".into(),
            ),
        )
        .await?;
    }
    health::put(&mut tx, &fresh).await?;
    tx.commit().await?;
    Ok(Saved {
        account_id,
        created,
    })
}

/// "mail, calendar (read and write) and contacts", or "no services".
fn describe(granted: &ServiceChoice) -> String {
    let mut parts = Vec::new();
    if granted.mail {
        parts.push("mail".to_owned());
    }
    match granted.calendar {
        Some(CalendarAccess::ReadWrite) => parts.push("calendar (read and write)".to_owned()),
        Some(CalendarAccess::Read) => parts.push("calendar".to_owned()),
        None => {}
    }
    if granted.contacts {
        parts.push("contacts".to_owned());
    }
    match parts.len() {
        0 => "no services".to_owned(),
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} and {last}", parts.join(", "))
        }
    }
}

/// An account's tokens as stored: opened with the vault key, with what is known of them.
pub struct Stored {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub expires_at: DateTime<Utc>,
    pub scopes: Vec<String>,
}

/// Reads and opens an account's tokens.
pub async fn stored(
    conn: &mut sqlx::SqliteConnection,
    root: &RootKey,
    account_id: &str,
) -> Result<Option<Stored>, SaveError> {
    let row: Option<(Vec<u8>, i64, String)> = sqlx::query_as(
        "SELECT sealed, access_expires_at, scopes FROM account_tokens WHERE account_id = ?",
    )
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((sealed, expires_at, scopes)) = row else {
        return Ok(None);
    };
    let plain = root
        .open(account_id, &sealed)
        .map_err(|e: CipherError| SaveError::Store(StoreError::Sealed(e.to_string())))?;
    let tokens: SealedTokens = serde_json::from_slice(plain.expose_secret())
        .map_err(|_| SaveError::Store(StoreError::Sealed("unreadable token record".into())))?;
    Ok(Some(Stored {
        access_token: AccessToken::new(tokens.access_token),
        refresh_token: tokens.refresh_token.map(RefreshToken::new),
        expires_at: DateTime::from_timestamp_millis(expires_at).unwrap_or_default(),
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
    }))
}

fn seal(
    root: &RootKey,
    account_id: &str,
    access: &AccessToken,
    refresh: Option<&RefreshToken>,
) -> Vec<u8> {
    let plain = SecretString::from(
        serde_json::to_string(&SealedTokens {
            access_token: access.expose_secret().to_owned(),
            refresh_token: refresh.map(|r| r.expose_secret().to_owned()),
        })
        .unwrap_or_default(),
    );
    root.seal(account_id, plain.expose_secret().as_bytes())
}

/// Replaces an account's tokens after a refresh. A rotated refresh token is written in
/// the same statement as the access token it came with, so neither is ever used before
/// the other is safely on disk.
pub async fn replace_tokens(
    conn: &mut sqlx::SqliteConnection,
    root: &RootKey,
    account_id: &str,
    stored: &Stored,
    now: DateTime<Utc>,
) -> Result<(), SaveError> {
    let sealed = seal(
        root,
        account_id,
        &stored.access_token,
        stored.refresh_token.as_ref(),
    );
    sqlx::query(
        "UPDATE account_tokens SET sealed = ?, access_expires_at = ?, scopes = ?, updated_at = ? WHERE account_id = ?",
    )
    .bind(sealed)
    .bind(stored.expires_at.timestamp_millis())
    .bind(stored.scopes.join(" "))
    .bind(now.timestamp_millis())
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE accounts SET last_activity_at = ? WHERE id = ?")
        .bind(now.timestamp_millis())
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// When each account's access token expires, by account id.
pub async fn access_expiries(
    pool: &SqlitePool,
) -> Result<std::collections::HashMap<String, DateTime<Utc>>, StoreError> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT account_id, access_expires_at FROM account_tokens")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, at)| (id, DateTime::from_timestamp_millis(at).unwrap_or_default()))
        .collect())
}

/// An account's tokens, opened with the vault key.
pub async fn tokens(
    pool: &SqlitePool,
    root: &RootKey,
    account_id: &str,
) -> Result<Option<(AccessToken, Option<RefreshToken>)>, SaveError> {
    let mut conn = pool.acquire().await?;
    Ok(stored(&mut conn, root, account_id)
        .await?
        .map(|s| (s.access_token, s.refresh_token)))
}

/// Removes an account and everything Ferry keeps for it; returns its refresh token so
/// the caller can revoke it at the provider.
pub async fn remove(
    pool: &SqlitePool,
    root: &RootKey,
    account_id: &str,
) -> Result<Option<RefreshToken>, SaveError> {
    let refresh = tokens(pool, root, account_id)
        .await
        .ok()
        .flatten()
        .and_then(|(_, refresh)| refresh);
    let deleted = sqlx::query("DELETE FROM accounts WHERE id = ?")
        .bind(account_id)
        .execute(pool)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(SaveError::NoSuchAccount);
    }
    Ok(refresh)
}

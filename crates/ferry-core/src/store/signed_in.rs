//! Saving a completed sign-in: the account row (found by provider + tenant + subject,
//! never by email), its sealed tokens and its per-service grants, in one transaction.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use super::StoreError;
use crate::oauth::{CalendarAccess, Identity, ServiceChoice, TokenSet};
use crate::provider::Provider;
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

/// Saves a sign-in. With `reconnect`, the sign-in must be that account's identity.
#[allow(clippy::too_many_arguments)]
pub async fn save(
    pool: &SqlitePool,
    root: &RootKey,
    provider: Provider,
    identity: &Identity,
    tokens: &TokenSet,
    requested: &ServiceChoice,
    granted: &ServiceChoice,
    reconnect: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Saved, SaveError> {
    let now_ms = now.timestamp_millis();
    let mut tx = pool.begin().await?;
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

    let plain = SecretString::from(
        serde_json::to_string(&SealedTokens {
            access_token: tokens.access_token.expose_secret().to_owned(),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|r| r.expose_secret().to_owned()),
        })
        .unwrap_or_default(),
    );
    let sealed = root.seal(&account_id, plain.expose_secret().as_bytes());
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

    for (service, wanted, got, access) in [
        ("mail", requested.mail, granted.mail, None),
        (
            "calendar",
            requested.calendar.is_some(),
            granted.calendar.is_some(),
            granted.calendar.or(requested.calendar),
        ),
        ("contacts", requested.contacts, granted.contacts, None),
    ] {
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
        .bind(service)
        .bind(wanted)
        .bind(got)
        .bind(access)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Saved {
        account_id,
        created,
    })
}

/// An account's tokens, opened with the vault key.
pub async fn tokens(
    pool: &SqlitePool,
    root: &RootKey,
    account_id: &str,
) -> Result<Option<(SecretString, Option<SecretString>)>, SaveError> {
    let sealed: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT sealed FROM account_tokens WHERE account_id = ?")
            .bind(account_id)
            .fetch_optional(pool)
            .await?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let plain = root
        .open(account_id, &sealed)
        .map_err(|e: CipherError| SaveError::Store(StoreError::Sealed(e.to_string())))?;
    let tokens: SealedTokens = serde_json::from_slice(plain.expose_secret())
        .map_err(|_| SaveError::Store(StoreError::Sealed("unreadable token record".into())))?;
    Ok(Some((
        SecretString::from(tokens.access_token),
        tokens.refresh_token.map(SecretString::from),
    )))
}

/// Removes an account and everything Ferry keeps for it; returns its refresh token so
/// the caller can revoke it at the provider.
pub async fn remove(
    pool: &SqlitePool,
    root: &RootKey,
    account_id: &str,
) -> Result<Option<SecretString>, SaveError> {
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

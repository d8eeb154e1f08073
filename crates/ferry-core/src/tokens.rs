//! Access tokens for every account, for anything that calls a provider: the keeper, and
//! the sync engines to come. [`Tokens`] is a cheap-to-clone handle.
//!
//! - One refresh per account at a time: callers of [`Tokens::access_token`] queue on the
//!   account's lock and find the token the first one fetched (single flight).
//! - A rotated refresh token is committed together with its access token, the health row
//!   and the timeline, in one transaction, before either is handed out.
//! - Failures are classified ([`crate::oauth::refresh`]): needs sign-in stops retries;
//!   transient failures retry with exponential backoff and jitter, capped.
//! - [`Tokens::after_unauthorized`]: "the provider said 401", refresh once, unless someone
//!   already did since that token was handed out.
//! - Failures reach callers typed ([`TokenError`]).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use secrecy::ExposeSecret;

use crate::account::AccessToken;
use crate::alerts::Alerts;
use crate::context::Context;
use crate::error::{AppError, ErrorCode};
use crate::oauth::refresh::{self, Cause, FailureKind, RefreshFailure, Refreshed};
use crate::providers::Provider;
use crate::store::health::{self, Health, HealthState, TimelineEntry, TimelineKind};
use crate::store::signed_in::{self, Stored};
use crate::store::StoreError;
use crate::vault::VaultError;

/// Refresh this long before the access token expires.
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);
/// However short a token's life, an account is refreshed at most this often, and not
/// before half the token's life has passed: a provider handing out five-minute tokens
/// must not turn the margin above into a refresh loop (Microsoft answers loops with
/// AADSTS50196).
pub const MIN_REFRESH_INTERVAL: Duration = Duration::minutes(1);
const BACKOFF_BASE: Duration = Duration::seconds(30);
/// Short enough that a machine back online recovers within minutes even without a
/// network-change signal.
const BACKOFF_CAP: Duration = Duration::minutes(10);

/// Counters for benchmarks and tests: refreshes here, the schedule's in the keeper.
#[derive(Debug, Default)]
pub struct KeeperStats {
    /// Times the schedule woke up.
    pub wakeups: AtomicU64,
    /// Wake-ups that found nothing to do.
    pub idle_wakeups: AtomicU64,
    /// Refresh requests sent to a provider.
    pub refreshes: AtomicU64,
    /// Passes over the accounts (each wake-up makes one, or more when work was done).
    pub passes: AtomicU64,
    /// Refresh requests in flight now, and the most ever at once.
    pub in_flight: AtomicU64,
    pub peak_in_flight: AtomicU64,
}

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Only signing in again helps; the keeper has recorded it and announces it.
    #[error("{0} needs you to sign in again before Ferry can use this account")]
    NeedsSignIn(Provider),
    /// A passing problem; the keeper retries at `retry_at`.
    #[error("Ferry could not renew access at {provider} just now; it will try again")]
    Transient {
        provider: Provider,
        retry_at: DateTime<Utc>,
    },
    #[error("that account is no longer in Ferry")]
    Gone,
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TokenError> for AppError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::NeedsSignIn(_) => AppError::new(
                ErrorCode::NeedsSignIn,
                crate::error::capitalise(&format!("{err}.")),
            ),
            TokenError::Transient { .. } => AppError::new(
                ErrorCode::Network,
                crate::error::capitalise(&format!("{err}.")),
            ),
            TokenError::Gone => AppError::account_gone(),
            TokenError::Vault(vault) => vault.into(),
            TokenError::Store(store) => store.into(),
        }
    }
}

impl From<signed_in::SaveError> for TokenError {
    fn from(err: signed_in::SaveError) -> Self {
        match err {
            signed_in::SaveError::Store(store) => TokenError::Store(store),
            signed_in::SaveError::NoSuchAccount | signed_in::SaveError::DifferentAccount { .. } => {
                TokenError::Gone
            }
        }
    }
}

impl From<sqlx::Error> for TokenError {
    fn from(err: sqlx::Error) -> Self {
        TokenError::Store(StoreError::Query(err))
    }
}

/// A handle on every account's tokens.
#[derive(Clone)]
pub struct Tokens {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: Context,
    alerts: Alerts,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Accounts whose refresh is in flight, shown as "Working".
    working: Mutex<HashSet<String>>,
    stats: Arc<KeeperStats>,
}

/// When a token obtained at `obtained_at` and expiring at `expires_at` should be renewed:
/// [`REFRESH_MARGIN`] before it expires, but never before half its life nor sooner than
/// [`MIN_REFRESH_INTERVAL`] after it was obtained.
pub(crate) fn renew_at(obtained_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> DateTime<Utc> {
    let half_life = (expires_at - obtained_at) / 2;
    let floor = obtained_at + half_life.max(MIN_REFRESH_INTERVAL);
    (expires_at - REFRESH_MARGIN).max(floor)
}

/// When the account's access token was obtained (its last refresh or sign-in).
pub(crate) fn obtained_at(health: &Health) -> DateTime<Utc> {
    health.last_refresh_at.unwrap_or(health.since)
}

/// Exponential backoff with "equal jitter": half fixed, half random, capped.
fn backoff(failures: u32, retry_after: Option<std::time::Duration>) -> Duration {
    let exp = BACKOFF_BASE * 2_i32.saturating_pow(failures.saturating_sub(1).min(16));
    let capped = exp.min(BACKOFF_CAP);
    let half = capped.num_milliseconds() / 2;
    let jitter = rand::thread_rng().gen_range(0..=half.max(0));
    let wait = Duration::milliseconds(half + jitter);
    let asked = retry_after
        .map(|d| d.min(crate::oauth::lifetime::MAX_RETRY_AFTER))
        .and_then(|d| Duration::from_std(d).ok())
        .unwrap_or_default();
    wait.max(asked)
}

impl Tokens {
    /// Asks the notification service to look again (a sync stopped to ask the user).
    pub(crate) fn review_alerts(&self) {
        self.inner.alerts.review_soon();
    }

    pub(crate) fn new(ctx: Context, alerts: Alerts, stats: Arc<KeeperStats>) -> Self {
        Self {
            inner: Arc::new(Inner {
                ctx,
                alerts,
                locks: Mutex::new(HashMap::new()),
                working: Mutex::new(HashSet::new()),
                stats,
            }),
        }
    }

    pub fn stats(&self) -> &Arc<KeeperStats> {
        &self.inner.stats
    }

    pub fn is_working(&self, account_id: &str) -> bool {
        self.inner
            .working
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(account_id)
    }

    fn set_working(&self, account_id: &str, working: bool) {
        let mut set = self.inner.working.lock().unwrap_or_else(|p| p.into_inner());
        if working {
            set.insert(account_id.to_owned());
        } else {
            set.remove(account_id);
        }
    }

    /// The account's lock: everything that reads and replaces its tokens or health holds it.
    pub(crate) fn lock_for(&self, account_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.inner.locks.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(account_id.to_owned()).or_default())
    }

    /// A fresh access token for the account, refreshing it first if it is due. Concurrent
    /// callers for one account share a single refresh.
    pub async fn access_token(&self, account_id: &str) -> Result<AccessToken, TokenError> {
        let lock = self.lock_for(account_id);
        let _guard = lock.lock().await;
        let (stored, health, provider) = self.load(account_id).await?;
        if health.state == HealthState::NeedsSignIn {
            return Err(TokenError::NeedsSignIn(provider));
        }
        let now = self.inner.ctx.clock.now();
        if now < renew_at(obtained_at(&health), stored.expires_at) && now < stored.expires_at {
            return Ok(stored.access_token);
        }
        let stored = self
            .refresh_locked(account_id, provider, stored, health)
            .await?;
        Ok(stored.access_token)
    }

    /// The provider refused `rejected` (HTTP 401): refresh once and return the new token,
    /// unless the stored token is already another one (someone refreshed meanwhile), which
    /// is returned as it is. Never prompts for sign-in by itself.
    pub async fn after_unauthorized(
        &self,
        account_id: &str,
        rejected: &AccessToken,
    ) -> Result<AccessToken, TokenError> {
        let lock = self.lock_for(account_id);
        let _guard = lock.lock().await;
        let (stored, health, provider) = self.load(account_id).await?;
        if health.state == HealthState::NeedsSignIn {
            return Err(TokenError::NeedsSignIn(provider));
        }
        if stored.access_token.expose_secret() != rejected.expose_secret() {
            return Ok(stored.access_token);
        }
        let stored = self
            .refresh_locked(account_id, provider, stored, health)
            .await?;
        Ok(stored.access_token)
    }

    /// The keeper's path: under the account's lock, refresh if `due` still says so (or a
    /// check was asked for). Returns whether a refresh was made.
    pub(crate) async fn refresh_if_due(
        &self,
        account_id: &str,
        forced: bool,
        due: impl Fn(&Health, DateTime<Utc>) -> Option<DateTime<Utc>>,
    ) -> Result<bool, TokenError> {
        let lock = self.lock_for(account_id);
        let _guard = lock.lock().await;
        let (stored, health, provider) = self.load(account_id).await?;
        match due(&health, stored.expires_at) {
            Some(at) if at <= self.inner.ctx.clock.now() || forced => {
                self.refresh_locked(account_id, provider, stored, health)
                    .await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn load(&self, account_id: &str) -> Result<(Stored, Health, Provider), TokenError> {
        let ctx = &self.inner.ctx;
        let root = ctx.vault.root().await?;
        let provider = ctx
            .store
            .account_provider(account_id)
            .await?
            .ok_or(TokenError::Gone)?;
        let mut conn = ctx.store.pool().acquire().await?;
        let stored = signed_in::stored(&mut conn, &root, account_id)
            .await?
            .ok_or(TokenError::Gone)?;
        let health = health::get(&mut conn, account_id)
            .await?
            .unwrap_or_else(|| Health::healthy(account_id, ctx.clock.now()));
        Ok((stored, health, provider))
    }

    /// Refreshes with the account's lock held, commits the outcome (tokens, health and
    /// timeline in one transaction) and reports it.
    async fn refresh_locked(
        &self,
        account_id: &str,
        provider: Provider,
        stored: Stored,
        health: Health,
    ) -> Result<Stored, TokenError> {
        let Some(refresh_token) = stored.refresh_token.clone() else {
            let failure = RefreshFailure {
                kind: FailureKind::NeedsSignIn,
                cause: Cause::Expired,
                code: "no refresh token".into(),
                retry_after: None,
            };
            self.record_failure(account_id, provider, health, &failure)
                .await?;
            return Err(TokenError::NeedsSignIn(provider));
        };
        let ctx = &self.inner.ctx;
        let stats = &self.inner.stats;
        stats.refreshes.fetch_add(1, Ordering::Relaxed);
        let now_in_flight = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        stats
            .peak_in_flight
            .fetch_max(now_in_flight, Ordering::SeqCst);
        let now = ctx.clock.now();
        self.set_working(account_id, true);
        ctx.account_changed(account_id);
        let result = refresh::refresh(
            &ctx.http,
            &ctx.providers,
            provider,
            &refresh_token,
            &stored.scopes,
            now,
        )
        .await;
        stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        // Recording the outcome reports the account again, with its new state.
        self.set_working(account_id, false);
        match result {
            Ok(refreshed) => {
                self.failpoint("after-token-response");
                self.record_success(account_id, provider, stored, health, refreshed)
                    .await
            }
            Err(failure) => {
                let next_try_at = self
                    .record_failure(account_id, provider, health, &failure)
                    .await?;
                Err(match failure.kind {
                    FailureKind::NeedsSignIn => TokenError::NeedsSignIn(provider),
                    _ => TokenError::Transient {
                        provider,
                        retry_at: next_try_at.unwrap_or(now),
                    },
                })
            }
        }
    }

    /// Test runs only: `FERRY_FAILPOINT=<name>` ends the process here, as `kill -9`
    /// would, to prove what survives a crash at that point.
    fn failpoint(&self, name: &str) {
        if self.inner.ctx.failpoint(name) {
            tracing::warn!(failpoint = name, "aborting at failpoint");
            std::process::abort();
        }
    }

    async fn record_success(
        &self,
        account_id: &str,
        provider: Provider,
        old: Stored,
        before: Health,
        refreshed: Refreshed,
    ) -> Result<Stored, TokenError> {
        let ctx = &self.inner.ctx;
        let now = ctx.clock.now();
        let root = ctx.vault.root().await?;
        let rotated = refreshed.refresh_token.is_some();
        let stored = Stored {
            access_token: refreshed.access_token,
            refresh_token: refreshed.refresh_token.or(old.refresh_token),
            expires_at: refreshed.expires_at,
            scopes: refreshed.scopes.unwrap_or(old.scopes),
        };
        let mut after = before.clone();
        after.enter(HealthState::Healthy, now);
        after.clear_failure();
        after.last_refresh_at = Some(now);
        if refreshed.grant_expires_at.is_some() {
            after.grant_expires_at = refreshed.grant_expires_at;
        }
        let detail = format!(
            "Access renewed{}; valid until {}.",
            if rotated {
                " (new sign-in token saved)"
            } else {
                ""
            },
            stored.expires_at.format("%H:%M UTC")
        );
        let mut tx = crate::store::begin_write(ctx.store.writer()).await?;
        signed_in::replace_tokens(&mut tx, &root, account_id, &stored, now).await?;
        health::put(&mut tx, &after).await?;
        health::append(
            &mut tx,
            account_id,
            &TimelineEntry::new(now, TimelineKind::Refreshed, detail),
        )
        .await?;
        if before.state != HealthState::Healthy {
            let entry = TimelineEntry::new(now, TimelineKind::Recovered, "Working again.");
            health::append(&mut tx, account_id, &entry).await?;
        }
        tx.commit().await?;
        tracing::info!(%provider, rotated, "access token refreshed");
        ctx.account_changed(account_id);
        if before.state != HealthState::Healthy {
            self.inner.alerts.review_soon();
        }
        Ok(stored)
    }

    /// Records a failed refresh; returns when it will be tried again, if it will.
    async fn record_failure(
        &self,
        account_id: &str,
        provider: Provider,
        before: Health,
        failure: &RefreshFailure,
    ) -> Result<Option<DateTime<Utc>>, TokenError> {
        let ctx = &self.inner.ctx;
        let now = ctx.clock.now();
        let cause = if failure.kind == FailureKind::NeedsSignIn {
            // The provider may know better why (a Google project in Testing status).
            provider.explain(&ctx.providers, failure.cause, before.grant_expires_at, now)
        } else {
            failure.cause
        };
        let mut after = before.clone();
        after.cause = Some(cause);
        after.code = Some(failure.code.clone());
        let help = crate::help::for_cause(provider, cause);
        let mut entries =
            vec![
                TimelineEntry::new(now, TimelineKind::RefreshFailed, help.summary + ".")
                    .with_code(failure.code.clone()),
            ];
        match failure.kind {
            FailureKind::NeedsSignIn => {
                if after.enter(HealthState::NeedsSignIn, now) {
                    entries.push(
                        TimelineEntry::new(now, TimelineKind::NeedsSignIn, help.fix)
                            .with_code(failure.code.clone()),
                    );
                }
                after.next_try_at = None;
            }
            FailureKind::Transient | FailureKind::Configuration => {
                after.enter(HealthState::Retrying, now);
                after.failures = after.failures.saturating_add(1);
                after.next_try_at = Some(now + backoff(after.failures, failure.retry_after));
            }
        }
        let mut tx = crate::store::begin_write(ctx.store.writer()).await?;
        health::put(&mut tx, &after).await?;
        for e in &entries {
            health::append(&mut tx, account_id, e).await?;
        }
        tx.commit().await?;
        tracing::warn!(%provider, kind = ?failure.kind, code = %failure.code, "refresh failed");
        ctx.account_changed(account_id);
        self.inner.alerts.review_soon();
        Ok(after.next_try_at)
    }

    /// Pauses (or resumes) an account under its lock: recorded in its health and timeline.
    /// Returns whether anything changed.
    pub(crate) async fn set_paused(
        &self,
        account_id: &str,
        paused: bool,
    ) -> Result<bool, TokenError> {
        let ctx = &self.inner.ctx;
        let lock = self.lock_for(account_id);
        let _guard = lock.lock().await;
        let now = ctx.clock.now();
        if ctx.store.account_provider(account_id).await?.is_none() {
            return Err(TokenError::Gone);
        }
        let mut tx = crate::store::begin_write(ctx.store.writer()).await?;
        let mut health = health::get(&mut tx, account_id)
            .await?
            .unwrap_or_else(|| Health::healthy(account_id, now));
        let (state, kind, detail) = if paused {
            (HealthState::Paused, TimelineKind::Paused, "Paused by you.")
        } else {
            (
                HealthState::Healthy,
                TimelineKind::Resumed,
                "Resumed by you.",
            )
        };
        if !health.enter(state, now) {
            return Ok(false);
        }
        health.clear_failure();
        health::put(&mut tx, &health).await?;
        health::append(&mut tx, account_id, &TimelineEntry::new(now, kind, detail)).await?;
        tx.commit().await?;
        ctx.account_changed(account_id);
        self.inner.alerts.review_soon();
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        for failures in 1..=20 {
            let wait = backoff(failures, None);
            let exp = (BACKOFF_BASE * 2_i32.pow((failures - 1).min(16))).min(BACKOFF_CAP);
            assert!(
                wait >= exp / 2 && wait <= exp,
                "{failures}: {wait:?} within [{}, {}]",
                exp / 2,
                exp
            );
        }
        let asked = backoff(1, Some(std::time::Duration::from_secs(600)));
        assert_eq!(asked, Duration::seconds(600), "Retry-After is honoured");
    }

    #[test]
    fn short_lived_tokens_are_renewed_at_half_life_and_never_within_a_minute() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        assert_eq!(
            renew_at(t0, t0 + Duration::hours(1)),
            t0 + Duration::minutes(55)
        );
        assert_eq!(
            renew_at(t0, t0 + Duration::minutes(5)),
            t0 + Duration::seconds(150)
        );
        assert_eq!(
            renew_at(t0, t0 + Duration::seconds(30)),
            t0 + MIN_REFRESH_INTERVAL
        );
        assert_eq!(renew_at(t0, t0), t0 + MIN_REFRESH_INTERVAL);
    }
}

//! The keeper: keeps every account's access token fresh in the background, and records
//! how each connection is doing.
//!
//! - Each account's token is refreshed shortly before it expires, and at least daily
//!   even when nothing uses it (Microsoft drops refresh tokens unused for 90 days, Google
//!   after six months).
//! - One refresh per account at a time: callers of [`Core::access_token`] queue on the
//!   account's lock and find the token the first one fetched.
//! - A rotated refresh token is committed together with its access token before either is
//!   handed out, so a crash never loses the only valid refresh token.
//! - Failures are classified ([`crate::oauth::refresh`]): needs sign-in stops retries;
//!   transient failures retry with exponential backoff and jitter, capped.
//! - The schedule wakes at most once a minute when nothing is due, which also notices a
//!   suspend/resume (the wall clock jumps) within a minute; [`Core::check_now`] re-checks
//!   at once (network change, "Sync now").
//! - It runs as one task that [`Core::shutdown`] stops cleanly.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use secrecy::SecretString;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::alerts::{self, AlertSettings, Shown, Watched};
use crate::core::Core;
use crate::error::{AppError, ErrorCode};
use crate::events::CoreEvent;
use crate::oauth::refresh::{self, Cause, FailureKind, RefreshFailure, Refreshed};
use crate::provider::Provider;
use crate::settings::Settings;
use crate::store::health::{self, Health, HealthState, TimelineEntry, TimelineKind};
use crate::store::signed_in::{self, Stored};

/// Refresh this long before the access token expires.
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);
/// Refresh at least this often, even if the token is never used.
pub const IDLE_REFRESH: Duration = Duration::hours(24);
/// However short a token's life, the keeper refreshes an account at most this often, and
/// not before half the token's life has passed: a provider handing out five-minute tokens
/// must not turn the margin above into a refresh loop (Microsoft answers loops with
/// AADSTS50196).
pub const MIN_REFRESH_INTERVAL: Duration = Duration::minutes(1);
/// The longest the schedule sleeps: it re-checks at least this often.
pub const TICK: Duration = Duration::minutes(1);
/// Refreshes running at once, across all accounts.
pub const MAX_CONCURRENT: usize = 4;
const BACKOFF_BASE: Duration = Duration::seconds(30);
/// Short enough that a machine back online recovers within minutes even without a
/// network-change signal.
const BACKOFF_CAP: Duration = Duration::minutes(10);

/// Counters for benchmarks and tests.
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

/// The keeper's state inside the core.
pub(crate) struct Keeper {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Accounts whose refresh is in flight, shown as "Working".
    working: Mutex<std::collections::HashSet<String>>,
    http: reqwest::Client,
    wake: Notify,
    /// Set by [`Core::check_now`]: the next pass refreshes every account it can.
    forced: std::sync::atomic::AtomicBool,
    stop: Notify,
    alerts_due: Notify,
    shown: Mutex<Shown>,
    limit: Arc<Semaphore>,
    pub(crate) stats: KeeperStats,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Keeper {
    pub(crate) fn new() -> Self {
        Self {
            locks: Mutex::new(HashMap::new()),
            working: Mutex::new(std::collections::HashSet::new()),
            http: crate::oauth::http_client(),
            wake: Notify::new(),
            forced: std::sync::atomic::AtomicBool::new(false),
            stop: Notify::new(),
            alerts_due: Notify::new(),
            shown: Mutex::new(Shown::default()),
            limit: Arc::new(Semaphore::new(MAX_CONCURRENT)),
            stats: KeeperStats::default(),
            tasks: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn is_working(&self, account_id: &str) -> bool {
        self.working
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(account_id)
    }

    fn set_working(&self, account_id: &str, working: bool) {
        let mut set = self.working.lock().unwrap_or_else(|p| p.into_inner());
        if working {
            set.insert(account_id.to_owned());
        } else {
            set.remove(account_id);
        }
    }

    /// Asks for a look at the notifications soon (something changed outside the keeper,
    /// such as a reconnect).
    pub(crate) fn review_soon(&self) {
        self.alerts_due.notify_one();
    }

    fn lock_for(&self, account_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(account_id.to_owned()).or_default())
    }
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

/// When a token obtained at `obtained_at` and expiring at `expires_at` should be renewed:
/// [`REFRESH_MARGIN`] before it expires, but never before half its life nor sooner than
/// [`MIN_REFRESH_INTERVAL`] after it was obtained.
fn renew_at(obtained_at: DateTime<Utc>, expires_at: DateTime<Utc>) -> DateTime<Utc> {
    let half_life = (expires_at - obtained_at) / 2;
    let floor = obtained_at + half_life.max(MIN_REFRESH_INTERVAL);
    (expires_at - REFRESH_MARGIN).max(floor)
}

/// When the account's access token was obtained (its last refresh or sign-in).
fn obtained_at(health: &Health) -> DateTime<Utc> {
    health.last_refresh_at.unwrap_or(health.since)
}

/// When an account next needs the keeper, or `None` if it waits for the user.
fn due_at(health: &Health, access_expires_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match health.state {
        HealthState::NeedsSignIn | HealthState::Paused => None,
        HealthState::Retrying => Some(health.next_try_at.unwrap_or(health.since)),
        HealthState::Healthy | HealthState::Working => {
            let obtained = obtained_at(health);
            Some(renew_at(obtained, access_expires_at).min(obtained + IDLE_REFRESH))
        }
    }
}

impl Core {
    /// Starts the background keeper. Called once by the shell after start-up.
    pub fn start_keeper(self: &Arc<Self>) {
        let schedule = {
            let core = Arc::clone(self);
            self.runtime
                .spawn(async move { core.schedule_loop().await })
        };
        let alerts = {
            let core = Arc::clone(self);
            self.runtime.spawn(async move { core.alerts_loop().await })
        };
        self.keeper
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend([schedule, alerts]);
        // Anything recorded but not yet announced (say, before a crash) is looked at now;
        // what was announced before stays quiet.
        self.keeper.alerts_due.notify_one();
    }

    /// Checks every connection now ("Sync now", or after a resume or network change):
    /// each account that is not waiting for the user is refreshed at once.
    pub fn check_now(&self) {
        self.keeper.forced.store(true, Ordering::SeqCst);
        self.keeper.wake.notify_one();
    }

    /// Pauses (or resumes) the keeper's work for an account. A paused account is left
    /// alone: no refreshes, no notifications, until resumed.
    pub async fn set_paused(&self, account_id: &str, paused: bool) -> Result<(), AppError> {
        let lock = self.keeper.lock_for(account_id);
        let _guard = lock.lock().await;
        let now = self.clock.now();
        if self.store.account_provider(account_id).await?.is_none() {
            return Err(AppError::account_gone());
        }
        let mut conn = self.store.pool().begin().await?;
        let mut health = health::get(&mut conn, account_id)
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
            return Ok(());
        }
        health.clear_failure();
        health::put(&mut conn, &health).await?;
        health::append(
            &mut conn,
            account_id,
            &entry(now, kind, detail.into(), None),
        )
        .await?;
        conn.commit().await?;
        self.events.emit(CoreEvent::AccountsChanged);
        self.keeper.alerts_due.notify_one();
        // Resuming: look at it now rather than at the next tick.
        self.keeper.wake.notify_one();
        Ok(())
    }

    pub fn keeper_stats(&self) -> &KeeperStats {
        &self.keeper.stats
    }

    /// Stops the keeper's tasks and waits for them.
    pub(crate) async fn stop_keeper(&self) {
        self.keeper.stop.notify_waiters();
        let tasks: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.keeper.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }

    async fn schedule_loop(self: Arc<Self>) {
        loop {
            let now = self.clock.now();
            let next = match self.run_due(now).await {
                Ok(next) => next,
                Err(err) => {
                    tracing::warn!(%err, "keeper could not check accounts");
                    None
                }
            };
            self.keeper.stats.passes.fetch_add(1, Ordering::Relaxed);
            let wake_at = next.map_or(now + TICK, |n| n.min(now + TICK)).max(now);
            tokio::select! {
                () = self.clock.sleep_until(wake_at) => {}
                () = self.keeper.wake.notified() => {}
                () = self.keeper.stop.notified() => break,
            }
            self.keeper.stats.wakeups.fetch_add(1, Ordering::Relaxed);
            // Time moves on for transient failures too: a review may now be due.
            self.keeper.alerts_due.notify_one();
        }
    }

    /// Refreshes every account that is due (several at once, bounded) and returns when
    /// the next one will be.
    async fn run_due(
        self: &Arc<Self>,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, AppError> {
        let healths = health::all(self.store.pool()).await?;
        let expiries: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
            "SELECT account_id, access_expires_at FROM account_tokens",
        )
        .fetch_all(self.store.pool())
        .await?
        .into_iter()
        .collect();
        let forced = self.keeper.forced.swap(false, Ordering::SeqCst);
        let mut due = Vec::new();
        let mut next: Option<DateTime<Utc>> = None;
        for h in &healths {
            let Some(expires) = expiries.get(&h.account_id) else {
                continue;
            };
            let expires = DateTime::from_timestamp_millis(*expires).unwrap_or_default();
            match due_at(h, expires) {
                Some(at) if at <= now || forced => due.push((h.account_id.clone(), forced)),
                Some(at) => next = Some(next.map_or(at, |n| n.min(at))),
                None => {}
            }
        }
        if due.is_empty() {
            self.keeper
                .stats
                .idle_wakeups
                .fetch_add(1, Ordering::Relaxed);
            return Ok(next);
        }
        let before = self.keeper.stats.refreshes.load(Ordering::SeqCst);
        let mut running = Vec::with_capacity(due.len());
        for (id, forced) in due {
            let core = Arc::clone(self);
            let limit = Arc::clone(&self.keeper.limit);
            running.push(self.runtime.spawn(async move {
                let Ok(_permit) = limit.acquire_owned().await else {
                    return;
                };
                if let Err(err) = core.refresh_if_due(&id, forced).await {
                    tracing::warn!(account = %id, code = ?err.code, %err, "scheduled refresh failed");
                }
            }));
        }
        for task in running {
            let _ = task.await;
        }
        if self.keeper.stats.refreshes.load(Ordering::SeqCst) == before {
            // Nothing could be attempted (the vault is locked, say): wait for the next
            // tick rather than spinning on the same due accounts.
            return Ok(next);
        }
        // Something was done, so look again at once for what comes next.
        Ok(Some(now))
    }

    /// A fresh access token for the account, refreshing it first if it is about to
    /// expire. Concurrent callers for one account share a single refresh.
    pub async fn access_token(
        self: &Arc<Self>,
        account_id: &str,
    ) -> Result<SecretString, AppError> {
        let lock = self.keeper.lock_for(account_id);
        let _guard = lock.lock().await;
        let (stored, health, provider) = self.load(account_id).await?;
        if health.state == HealthState::NeedsSignIn {
            return Err(AppError::new(
                ErrorCode::NeedsSignIn,
                format!("{provider} needs you to sign in again before Ferry can use this account."),
            ));
        }
        let now = self.clock.now();
        if now < renew_at(obtained_at(&health), stored.expires_at) && now < stored.expires_at {
            return Ok(stored.access_token);
        }
        let stored = self
            .refresh_locked(account_id, provider, stored, health)
            .await?;
        Ok(stored.access_token)
    }

    /// The scheduled path: refresh if, under the account's lock, it is still due (or a
    /// check was asked for).
    async fn refresh_if_due(
        self: &Arc<Self>,
        account_id: &str,
        forced: bool,
    ) -> Result<(), AppError> {
        let lock = self.keeper.lock_for(account_id);
        let _guard = lock.lock().await;
        let (stored, health, provider) = self.load(account_id).await?;
        match due_at(&health, stored.expires_at) {
            Some(at) if at <= self.clock.now() || forced => {
                self.refresh_locked(account_id, provider, stored, health)
                    .await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn load(&self, account_id: &str) -> Result<(Stored, Health, Provider), AppError> {
        let root = self.vault.root().await?;
        let provider = self
            .store
            .account_provider(account_id)
            .await?
            .ok_or_else(AppError::account_gone)?;
        let mut conn = self.store.pool().acquire().await?;
        let stored = signed_in::stored(&mut conn, &root, account_id)
            .await?
            .ok_or_else(|| {
                AppError::new(ErrorCode::NotFound, "That account has no saved sign-in.")
            })?;
        let health = health::get(&mut conn, account_id)
            .await?
            .unwrap_or_else(|| Health::healthy(account_id, self.clock.now()));
        Ok((stored, health, provider))
    }

    /// Refreshes with the account's lock held, commits the outcome (tokens, health and
    /// timeline in one transaction) and reports it.
    async fn refresh_locked(
        self: &Arc<Self>,
        account_id: &str,
        provider: Provider,
        stored: Stored,
        health: Health,
    ) -> Result<Stored, AppError> {
        let Some(refresh_token) = stored.refresh_token.clone() else {
            let failure = RefreshFailure {
                kind: FailureKind::NeedsSignIn,
                cause: Cause::Expired,
                code: "no refresh token".into(),
                retry_after: None,
            };
            self.record_failure(account_id, provider, health, &failure)
                .await?;
            return Err(needs_sign_in(provider));
        };
        let stats = &self.keeper.stats;
        stats.refreshes.fetch_add(1, Ordering::Relaxed);
        let now_in_flight = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        stats
            .peak_in_flight
            .fetch_max(now_in_flight, Ordering::SeqCst);
        let now = self.clock.now();
        self.keeper.set_working(account_id, true);
        self.events.emit(CoreEvent::AccountsChanged);
        let result = refresh::refresh(
            &self.keeper.http,
            self.providers(),
            provider,
            &refresh_token,
            &stored.scopes,
            now,
        )
        .await;
        stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        // Recording the outcome reports the account again, with its new state.
        self.keeper.set_working(account_id, false);
        match result {
            Ok(refreshed) => {
                self.failpoint("after-token-response");
                self.record_success(account_id, provider, stored, health, refreshed)
                    .await
            }
            Err(failure) => {
                let kind = failure.kind;
                self.record_failure(account_id, provider, health, &failure)
                    .await?;
                Err(match kind {
                    FailureKind::NeedsSignIn => needs_sign_in(provider),
                    _ => AppError::new(
                        ErrorCode::Network,
                        format!("Ferry could not renew access at {provider} just now; it will try again."),
                    ),
                })
            }
        }
    }

    /// Test builds only: `FERRY_FAILPOINT=<name>` ends the process here, as `kill -9`
    /// would, to prove what survives a crash at that point.
    fn failpoint(&self, name: &str) {
        if self.info().profile == crate::profile::Profile::Test
            && std::env::var("FERRY_FAILPOINT").is_ok_and(|v| v == name)
        {
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
    ) -> Result<Stored, AppError> {
        let now = self.clock.now();
        let root = self.vault.root().await?;
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
        let mut tx = self.store.pool().begin().await?;
        signed_in::replace_tokens(&mut tx, &root, account_id, &stored, now).await?;
        health::put(&mut tx, &after).await?;
        let detail = format!(
            "Access renewed{}; valid until {}.",
            if rotated {
                " (new sign-in token saved)"
            } else {
                ""
            },
            stored.expires_at.format("%H:%M UTC")
        );
        health::append(
            &mut tx,
            account_id,
            &entry(now, TimelineKind::Refreshed, detail, None),
        )
        .await?;
        if before.state != HealthState::Healthy {
            health::append(
                &mut tx,
                account_id,
                &entry(now, TimelineKind::Recovered, "Working again.".into(), None),
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(%provider, rotated, "access token refreshed");
        self.events.emit(CoreEvent::AccountsChanged);
        if before.state != HealthState::Healthy {
            self.keeper.alerts_due.notify_one();
        }
        Ok(stored)
    }

    async fn record_failure(
        &self,
        account_id: &str,
        provider: Provider,
        before: Health,
        failure: &RefreshFailure,
    ) -> Result<(), AppError> {
        let now = self.clock.now();
        let mut cause = failure.cause;
        // A Google project in Testing status: expiry after 7 days is the likely reason.
        let testing = provider == Provider::Google
            && self.providers().google.as_ref().is_some_and(|g| g.testing);
        if failure.kind == FailureKind::NeedsSignIn
            && testing
            && matches!(cause, Cause::Expired | Cause::Revoked)
            && before.grant_expires_at.is_some_and(|end| end <= now)
        {
            cause = Cause::AppInTesting;
        }
        let mut after = before.clone();
        after.cause = Some(cause);
        after.code = Some(failure.code.clone());
        let mut entries = vec![entry(
            now,
            TimelineKind::RefreshFailed,
            crate::help::for_cause(provider, cause).summary + ".",
            Some(failure.code.clone()),
        )];
        match failure.kind {
            FailureKind::NeedsSignIn => {
                if after.enter(HealthState::NeedsSignIn, now) {
                    entries.push(entry(
                        now,
                        TimelineKind::NeedsSignIn,
                        crate::help::for_cause(provider, cause).fix,
                        Some(failure.code.clone()),
                    ));
                }
                after.next_try_at = None;
            }
            FailureKind::Transient | FailureKind::Configuration => {
                after.enter(HealthState::Retrying, now);
                after.failures = after.failures.saturating_add(1);
                after.next_try_at = Some(now + backoff(after.failures, failure.retry_after));
            }
        }
        let mut tx = self.store.pool().begin().await?;
        health::put(&mut tx, &after).await?;
        for e in &entries {
            health::append(&mut tx, account_id, e).await?;
        }
        tx.commit().await?;
        tracing::warn!(%provider, kind = ?failure.kind, code = %failure.code, "refresh failed");
        self.events.emit(CoreEvent::AccountsChanged);
        self.keeper.alerts_due.notify_one();
        Ok(())
    }

    async fn alerts_loop(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = self.keeper.alerts_due.notified() => {}
                () = self.keeper.stop.notified() => break,
            }
            // Let failures that arrive together (several accounts revoked at once) land
            // before deciding, so they make one notification.
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_millis(750)) => {}
                () = self.keeper.stop.notified() => break,
            }
            if let Err(err) = self.review_alerts().await {
                tracing::warn!(%err, "could not review notifications");
            }
        }
    }

    /// Decides what to announce now, shows or withdraws it, and records it.
    pub async fn review_alerts(&self) -> Result<(), AppError> {
        let now = self.clock.now();
        let accounts = self.store.list_accounts().await?;
        let healths = health::all(self.store.pool()).await?;
        let watched: Vec<Watched> = healths
            .into_iter()
            .filter_map(|h| {
                let account = accounts.iter().find(|a| a.id == h.account_id)?;
                Some(Watched {
                    email: account.email.clone(),
                    provider: account.provider,
                    health: h,
                })
            })
            .collect();
        let settings = self.alert_settings().await?;
        let decision = {
            let shown = self.keeper.shown.lock().unwrap_or_else(|p| p.into_inner());
            alerts::review(&watched, &shown, settings, now)
        };
        for key in &decision.withdraw {
            self.notifier.withdraw(key);
            self.keeper
                .shown
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .0
                .remove(key);
        }
        for alert in &decision.show {
            match self.notifier.show(alert) {
                Ok(()) => {
                    let covered: Vec<String> = watched
                        .iter()
                        .filter(|w| {
                            decision.mark_notified.contains(&w.health.account_id)
                                || alert.key.ends_with(&w.health.account_id)
                        })
                        .map(|w| w.health.account_id.clone())
                        .collect();
                    self.keeper
                        .shown
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                        .insert(alert.key.clone(), covered);
                    tracing::info!(key = %alert.key, "notification shown");
                }
                Err(err) => tracing::warn!(%err, key = %alert.key, "could not show a notification"),
            }
        }
        if !decision.mark_notified.is_empty() || !decision.mark_warned.is_empty() {
            let mut tx = self.store.pool().begin().await?;
            for (ids, column) in [
                (&decision.mark_notified, "notified_at"),
                (&decision.mark_warned, "warned_at"),
            ] {
                for id in ids {
                    sqlx::query(&format!(
                        "UPDATE account_health SET {column} = ? WHERE account_id = ?"
                    ))
                    .bind(now.timestamp_millis())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    let detail = if settings.enabled {
                        "You were notified."
                    } else {
                        "Not notified: notifications are turned off."
                    };
                    health::append(
                        &mut tx,
                        id,
                        &entry(now, TimelineKind::Notified, detail.into(), None),
                    )
                    .await?;
                }
            }
            tx.commit().await?;
        }
        if !decision.show.is_empty() || !decision.withdraw.is_empty() {
            self.events.emit(CoreEvent::AccountsChanged);
        }
        Ok(())
    }

    async fn alert_settings(&self) -> Result<AlertSettings, AppError> {
        let settings = crate::settings::load(self.store.pool()).await?;
        let minutes = settings.transient_alert_minutes.clamp(1, 24 * 60);
        Ok(AlertSettings {
            enabled: settings.notifications,
            transient_after: Duration::minutes(i64::from(minutes)),
        })
    }

    pub async fn settings(&self) -> Result<Settings, AppError> {
        Ok(crate::settings::load(self.store.pool()).await?)
    }

    pub async fn set_settings(&self, settings: Settings) -> Result<Settings, AppError> {
        if !(1..=24 * 60).contains(&settings.transient_alert_minutes) {
            return Err(AppError::new(
                ErrorCode::Validation,
                "Choose between 1 minute and 24 hours.",
            ));
        }
        crate::settings::save(self.store.pool(), &settings).await?;
        self.keeper.alerts_due.notify_one();
        Ok(settings)
    }

    /// What happened to an account, oldest first.
    pub async fn timeline(&self, account_id: &str) -> Result<Vec<TimelineEntry>, AppError> {
        Ok(health::timeline(self.store.pool(), account_id).await?)
    }

    /// Writes an account's timeline as JSON into `dir`; returns the file's path.
    pub async fn export_timeline(
        &self,
        account_id: &str,
        dir: &std::path::Path,
    ) -> Result<String, AppError> {
        let account = self.account(account_id).await?;
        let entries = self.timeline(account_id).await?;
        let export = serde_json::json!({
            "account": { "email": account.email, "provider": account.provider },
            "exportedAt": self.clock.now(),
            "timeline": entries,
        });
        let safe: String = account
            .email
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!(
            "ferry-timeline-{safe}-{}.json",
            self.clock.now().format("%Y%m%d-%H%M%S")
        ));
        let text = serde_json::to_string_pretty(&export).unwrap_or_default();
        tokio::fs::write(&path, text).await.map_err(|e| {
            AppError::new(
                ErrorCode::Storage,
                format!("Could not save the timeline: {e}."),
            )
        })?;
        Ok(path.display().to_string())
    }
}

fn entry(
    at: DateTime<Utc>,
    kind: TimelineKind,
    detail: String,
    code: Option<String>,
) -> TimelineEntry {
    TimelineEntry {
        at,
        kind,
        detail,
        code,
    }
}

fn needs_sign_in(provider: Provider) -> AppError {
    AppError::new(
        ErrorCode::NeedsSignIn,
        format!("{provider} needs you to sign in again before Ferry can use this account."),
    )
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
    fn due_times_follow_state_expiry_and_the_daily_refresh() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mut h = Health::healthy("a", t0);
        h.last_refresh_at = Some(t0);
        assert_eq!(
            due_at(&h, t0 + Duration::hours(1)),
            Some(t0 + Duration::minutes(55))
        );
        assert_eq!(due_at(&h, t0 + Duration::days(3)), Some(t0 + IDLE_REFRESH));
        // Short-lived tokens: half their life, and never sooner than a minute.
        assert_eq!(
            due_at(&h, t0 + Duration::minutes(5)),
            Some(t0 + Duration::seconds(150))
        );
        assert_eq!(
            due_at(&h, t0 + Duration::minutes(3)),
            Some(t0 + Duration::seconds(90))
        );
        assert_eq!(
            due_at(&h, t0 + Duration::seconds(30)),
            Some(t0 + MIN_REFRESH_INTERVAL)
        );
        assert_eq!(due_at(&h, t0), Some(t0 + MIN_REFRESH_INTERVAL));
        h.state = HealthState::Retrying;
        h.next_try_at = Some(t0 + Duration::minutes(2));
        assert_eq!(due_at(&h, t0), Some(t0 + Duration::minutes(2)));
        h.state = HealthState::NeedsSignIn;
        assert_eq!(due_at(&h, t0), None);
        h.state = HealthState::Paused;
        assert_eq!(due_at(&h, t0), None);
    }
}

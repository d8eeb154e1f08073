//! The keeper against the provider sandbox, on a manual clock that moves Ferry's time and
//! the sandbox's together: refresh before expiry, one refresh for many callers, rotation,
//! revocation becoming "needs sign-in" with one notification, and an outage that stays
//! quiet and heals itself.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use ferry_core::alerts::NotifierCall;
use ferry_core::providers::Provider;
use ferry_core::store::health::{HealthState, TimelineKind};
use ferry_core::views::AccountView;
use ferry_sandbox::browser::Person;
use ferry_sandbox::{Sandbox, SandboxConfig, SandboxOptions};
use secrecy::ExposeSecret;

use ferry_core::providers::ProviderSettings;

use crate::support::{add_account, LockedKeychain, Mode, World, MAIL_AND_CALENDAR};

/// Keeper worlds run on manual time: Ferry's clock and the sandbox's move together.
async fn world() -> World {
    World::build().manual_time().start().await
}

async fn world_in(mode: Mode) -> World {
    World::build().mode(mode).manual_time().start().await
}

/// A world whose provider settings `adjust` changes first.
async fn world_with(adjust: impl FnOnce(&mut ProviderSettings) + Send + 'static) -> World {
    World::build().providers(adjust).manual_time().start().await
}

impl World {
    async fn add(&mut self, provider: Provider, email: &str, password: &str) -> String {
        add_account(
            &mut self.ferry,
            provider,
            MAIL_AND_CALENDAR,
            Person::new(email, password),
        )
        .await
    }

    fn refreshes(&self, service: &str) -> usize {
        self.sandbox
            .world()
            .log
            .count(service, "/token", Some("refresh_token"))
    }

    async fn account(&self, id: &str) -> AccountView {
        self.ferry
            .core
            .list_accounts()
            .await
            .expect("list")
            .into_iter()
            .find(|a| a.id == id)
            .expect("account")
    }

    /// Waits (real time) until the account's health satisfies `check`.
    async fn until(
        &self,
        id: &str,
        what: &str,
        check: impl Fn(&AccountView) -> bool,
    ) -> AccountView {
        for _ in 0..400 {
            let account = self.account(id).await;
            if check(&account) {
                return account;
            }
            tokio::time::sleep(StdDuration::from_millis(25)).await;
        }
        panic!("{what}: {:?}", self.account(id).await.health);
    }

    fn shows(&self) -> Vec<String> {
        self.notifier
            .calls()
            .into_iter()
            .filter_map(|c| match c {
                NotifierCall::Show(alert) => Some(alert.title),
                NotifierCall::Withdraw(_) => None,
            })
            .collect()
    }

    fn revoke(&self, provider: ferry_sandbox::world::Provider, email: &str) {
        let world = self.sandbox.world();
        let user = world.find_user_by_email(provider, email).expect("user");
        assert!(
            world.revoke_grants(&user.id, None) > 0,
            "something was revoked"
        );
    }

    async fn fault(&self, rule: serde_json::Value) {
        let status = reqwest::Client::new()
            .post(format!("{}/faults", self.sandbox.control_url()))
            .json(&rule)
            .send()
            .await
            .expect("control")
            .status();
        assert!(status.is_success(), "fault accepted: {status}");
    }

    async fn clear_faults(&self) {
        reqwest::Client::new()
            .delete(format!("{}/faults", self.sandbox.control_url()))
            .send()
            .await
            .expect("control");
    }
}

crate::in_both_modes!(ten_callers_near_expiry_share_one_refresh);
async fn ten_callers_near_expiry_share_one_refresh(mode: Mode) {
    let mut w = world_in(mode).await;
    let id = w.add(Provider::Google, "ada@example.com", "ada").await;
    let before = w.ferry.core.access_token(&id).await.expect("token");
    assert_eq!(w.refreshes("google"), 0, "a fresh token is used as it is");

    w.advance(Duration::minutes(57));
    let callers: Vec<_> = (0..10)
        .map(|_| {
            let core = Arc::clone(&w.ferry.core);
            let id = id.clone();
            tokio::spawn(async move { core.access_token(&id).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for caller in callers {
        tokens.push(
            caller
                .await
                .expect("joined")
                .expect("token")
                .expose_secret()
                .to_owned(),
        );
    }
    assert_eq!(
        w.refreshes("google"),
        1,
        "exactly one refresh call reached Google"
    );
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "everyone got the same new token"
    );
    assert_ne!(tokens[0], before.expose_secret());
    let health = w.account(&id).await.health;
    assert_eq!(health.state, HealthState::Healthy);
    assert_eq!(
        health.last_refresh_at.map(|t| t.timestamp_millis()),
        Some(w.core().clock().now().timestamp_millis())
    );
}

crate::in_both_modes!(a_rotated_microsoft_refresh_token_is_saved_with_its_access_token);
async fn a_rotated_microsoft_refresh_token_is_saved_with_its_access_token(mode: Mode) {
    let mut w = world_in(mode).await;
    let id = w
        .add(
            Provider::Microsoft,
            "katherine@contoso.example",
            "katherine",
        )
        .await;
    let root = w.ferry.core.vault().root().await.expect("key");
    let pool = w.ferry.core.store().pool().clone();
    let (_, first) = ferry_core::store::signed_in::tokens(&pool, &root, &id)
        .await
        .expect("read")
        .expect("saved");
    // Microsoft's access tokens live 60 to 90 minutes.
    w.advance(Duration::minutes(88));
    w.ferry.core.access_token(&id).await.expect("refreshed");
    assert_eq!(w.refreshes("microsoft"), 1);
    let (_, second) = ferry_core::store::signed_in::tokens(&pool, &root, &id)
        .await
        .expect("read")
        .expect("saved");
    let (first, second) = (
        first.expect("refresh token"),
        second.expect("refresh token"),
    );
    assert_ne!(
        first.expose_secret(),
        second.expose_secret(),
        "Microsoft rotated it"
    );
    let timeline = ferry_core::store::health::timeline(&pool, &id)
        .await
        .expect("timeline");
    let last = timeline.last().expect("entry");
    assert_eq!(last.kind, TimelineKind::Refreshed);
    assert!(
        last.detail.contains("new sign-in token saved"),
        "{}",
        last.detail
    );
}

crate::in_both_modes!(the_schedule_refreshes_before_expiry_without_being_asked);
async fn the_schedule_refreshes_before_expiry_without_being_asked(mode: Mode) {
    let mut w = world_in(mode).await;
    let id = w.add(Provider::Google, "ada@example.com", "ada").await;
    w.ferry.core.start_keeper();
    w.advance(Duration::minutes(50));
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    assert_eq!(w.refreshes("google"), 0, "not due yet");
    w.advance(Duration::minutes(6));
    w.until(&id, "refreshed by the schedule", |a| {
        a.health
            .last_refresh_at
            .is_some_and(|t| t > a.added_at + Duration::minutes(50))
    })
    .await;
    assert_eq!(w.refreshes("google"), 1);
    w.ferry.core.shutdown().await;
}

crate::in_both_modes!(a_revoked_grant_needs_sign_in_announced_once_and_withdrawn_on_reconnect);
async fn a_revoked_grant_needs_sign_in_announced_once_and_withdrawn_on_reconnect(mode: Mode) {
    let mut w = world_in(mode).await;
    let id = w.add(Provider::Google, "ada@example.com", "ada").await;
    w.ferry.core.start_keeper();
    w.revoke(ferry_sandbox::world::Provider::Google, "ada@example.com");
    w.ferry.core.check_now();
    let account = w
        .until(&id, "needs sign-in", |a| {
            a.health.state == HealthState::NeedsSignIn
        })
        .await;
    assert_eq!(account.health.code.as_deref(), Some("invalid_grant"));
    let help = account.health.help.expect("help");
    assert!(help.fix.contains("Reconnect"), "{help:?}");

    // One notification, and no second one however often Ferry looks again.
    w.settle().await;
    for _ in 0..50 {
        if !w.shows().is_empty() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    w.ferry.core.check_now();
    w.advance(Duration::hours(2));
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    assert_eq!(w.shows(), ["ada@example.com needs you to sign in again"]);
    let timeline = ferry_core::store::health::timeline(w.ferry.core.store().pool(), &id)
        .await
        .expect("timeline");
    let kinds: Vec<TimelineKind> = timeline.iter().map(|e| e.kind).collect();
    assert!(
        kinds.contains(&TimelineKind::NeedsSignIn) && kinds.contains(&TimelineKind::Notified),
        "{kinds:?}"
    );

    // Reconnecting heals it and takes the notification back.
    w.add(Provider::Google, "ada@example.com", "ada").await;
    w.until(&id, "healthy again", |a| {
        a.health.state == HealthState::Healthy
    })
    .await;
    w.ferry.core.review_alerts().await.expect("review");
    assert!(w
        .notifier
        .calls()
        .contains(&NotifierCall::Withdraw("sign-in".into())));
    w.ferry.core.shutdown().await;
}

#[tokio::test]
async fn three_accounts_revoked_together_make_one_notification() {
    let mut w = world().await;
    let ada = w.add(Provider::Google, "ada@example.com", "ada").await;
    let grace = w.add(Provider::Google, "grace@example.org", "grace").await;
    let katherine = w
        .add(
            Provider::Microsoft,
            "katherine@contoso.example",
            "katherine",
        )
        .await;
    w.ferry.core.start_keeper();
    w.revoke(ferry_sandbox::world::Provider::Google, "ada@example.com");
    w.revoke(ferry_sandbox::world::Provider::Google, "grace@example.org");
    w.revoke(
        ferry_sandbox::world::Provider::Microsoft,
        "katherine@contoso.example",
    );
    w.ferry.core.check_now();
    for id in [&ada, &grace, &katherine] {
        w.until(id, "needs sign-in", |a| {
            a.health.state == HealthState::NeedsSignIn
        })
        .await;
    }
    w.settle().await;
    tokio::time::sleep(StdDuration::from_millis(1200)).await;
    assert_eq!(w.shows(), ["3 accounts need you to sign in again"]);
    w.ferry.core.shutdown().await;
}

#[tokio::test]
async fn twenty_minutes_unreachable_is_retried_quietly_and_heals_on_its_own() {
    let mut w = world().await;
    let id = w.add(Provider::Google, "ada@example.com", "ada").await;
    w.ferry.core.start_keeper();
    w.fault(serde_json::json!({
        "service": "google", "path_contains": "/token", "action": { "kind": "drop" }
    }))
    .await;
    w.advance(Duration::minutes(56));
    let retrying = w
        .until(&id, "retrying", |a| a.health.state == HealthState::Retrying)
        .await;
    let since = retrying.health.since;
    for _ in 0..20 {
        w.advance(Duration::minutes(1));
        tokio::time::sleep(StdDuration::from_millis(60)).await;
    }
    let account = w.account(&id).await;
    assert_eq!(
        account.health.state,
        HealthState::Retrying,
        "never needs sign-in"
    );
    assert_eq!(account.health.since, since, "one incident");
    assert!(
        w.refreshes("google") >= 3,
        "retried with backoff: {}",
        w.refreshes("google")
    );
    tokio::time::sleep(StdDuration::from_millis(1000)).await;
    assert!(
        w.shows().is_empty(),
        "no notification for 20 minutes: {:?}",
        w.shows()
    );

    // The next attempt is at most the backoff cap (10 minutes) away.
    w.clear_faults().await;
    for _ in 0..11 {
        w.advance(Duration::minutes(1));
        tokio::time::sleep(StdDuration::from_millis(60)).await;
    }
    w.until(&id, "healthy again", |a| {
        a.health.state == HealthState::Healthy
    })
    .await;
    assert!(w.shows().is_empty());
    w.ferry.core.shutdown().await;
}

#[tokio::test]
async fn a_paused_account_is_left_alone_until_resumed() {
    let mut w = world().await;
    let id = w.add(Provider::Google, "ada@example.com", "ada").await;
    w.ferry.core.start_keeper();
    w.ferry.core.set_paused(&id, true).await.expect("pause");
    assert_eq!(w.account(&id).await.health.state, HealthState::Paused);
    for _ in 0..5 {
        w.advance(Duration::minutes(30));
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(w.refreshes("google"), 0, "no refresh while paused");

    w.ferry.core.set_paused(&id, false).await.expect("resume");
    w.until(&id, "refreshed after resuming", |a| {
        a.health.state == HealthState::Healthy && a.health.last_refresh_at > Some(a.added_at)
    })
    .await;
    assert_eq!(
        w.refreshes("google"),
        1,
        "the expired token was renewed at once"
    );
    let kinds: Vec<TimelineKind> = w
        .ferry
        .core
        .timeline(&id)
        .await
        .expect("timeline")
        .iter()
        .map(|e| e.kind)
        .collect();
    assert!(
        kinds.contains(&TimelineKind::Paused) && kinds.contains(&TimelineKind::Resumed),
        "{kinds:?}"
    );
    w.ferry.core.shutdown().await;
}

#[tokio::test]
async fn a_google_project_in_testing_warns_the_day_before_its_grants_end() {
    let mut w = world_with(|p| p.google.as_mut().expect("google").testing = true).await;
    let id = w.add(Provider::Google, "ada@example.com", "ada").await;
    let ends = w
        .account(&id)
        .await
        .health
        .grant_expires_at
        .expect("known end");
    assert_eq!(
        ends.timestamp_millis(),
        (w.core().clock().now() + Duration::days(7)).timestamp_millis(),
        "7 days after consent"
    );
    // Five days on: nothing to say yet.
    w.advance(Duration::days(5));
    w.ferry.core.review_alerts().await.expect("review");
    assert!(w.shows().is_empty());
    // Within a day of the end: one warning, once.
    w.advance(Duration::days(1) + Duration::hours(2));
    w.ferry.core.review_alerts().await.expect("review");
    w.ferry.core.review_alerts().await.expect("review");
    assert_eq!(
        w.shows(),
        ["ada@example.com needs signing in again tomorrow"]
    );
}

#[tokio::test]
async fn an_account_shows_working_while_its_refresh_is_in_flight() {
    let mut w = world().await;
    let id = w.add(Provider::Google, "ada@example.com", "ada").await;
    w.fault(serde_json::json!({
        "service": "google", "path_contains": "/token", "grant_type": "refresh_token",
        "action": { "kind": "latency", "ms": 400 }
    }))
    .await;
    w.advance(Duration::minutes(57));
    let core = Arc::clone(&w.ferry.core);
    let caller = {
        let id = id.clone();
        tokio::spawn(async move { core.access_token(&id).await })
    };
    w.until(&id, "working", |a| a.health.state == HealthState::Working)
        .await;
    caller.await.expect("joined").expect("token");
    assert_eq!(w.account(&id).await.health.state, HealthState::Healthy);
}

#[tokio::test]
async fn a_locked_vault_makes_the_schedule_wait_not_spin() {
    let mut w = world().await;
    w.add(Provider::Google, "ada@example.com", "ada").await;
    // The same data, but the keychain is locked now: no token can be opened.
    w.keys = Arc::new(LockedKeychain);
    w.restart().await;
    let locked = &w.ferry;
    locked.core.start_keeper();
    w.advance(Duration::hours(2));
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    let wakeups = locked
        .core
        .keeper_stats()
        .wakeups
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        wakeups <= 3,
        "the schedule waits for its next tick: {wakeups} wake-ups"
    );
    assert_eq!(w.refreshes("google"), 0);
    locked.core.shutdown().await;
}

async fn sandbox_with(adjust: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    let mut config = SandboxConfig::default();
    adjust(&mut config);
    Sandbox::start(SandboxOptions {
        config,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox")
}

/// A token that lives no longer than the refresh margin must not be refreshed in a loop
/// (the old schedule did so about 25 times a second).
#[tokio::test]
async fn short_lived_tokens_are_renewed_at_half_life_not_in_a_loop() {
    let sandbox = sandbox_with(|c| c.google.access_token_ttl_s = 120).await;
    let mut w = World::build().sandbox(sandbox).manual_time().start().await;
    let id = w.add(Provider::Google, "ada@example.com", "ada").await;
    w.ferry.core.start_keeper();
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert_eq!(
        w.refreshes("google"),
        0,
        "a two-minute token is not renewed before half its life"
    );
    w.ferry.core.access_token(&id).await.expect("token");
    assert_eq!(w.refreshes("google"), 0, "nor for a caller");

    w.advance(Duration::seconds(61));
    w.until(&id, "renewed at half-life", |a| {
        a.health
            .last_refresh_at
            .is_some_and(|t| t > a.added_at + Duration::seconds(30))
    })
    .await;
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert_eq!(w.refreshes("google"), 1, "once, and not again at once");
    w.ferry.core.shutdown().await;
}

/// Durations a provider sends are clamped: a lifetime beyond any date and a `Retry-After`
/// of decades neither panic nor park the account.
#[tokio::test]
async fn numbers_from_the_provider_are_clamped() {
    let mut w = world().await;
    let id = w.add(Provider::Google, "ada@example.com", "ada").await;
    let world = w.sandbox.world();
    let mut config = world.config();
    config.google.access_token_ttl_s = 9_000_000_000_000;
    world.set_config(config);

    w.advance(Duration::minutes(57));
    w.ferry.core.access_token(&id).await.expect("refreshed");
    let root = w.ferry.core.vault().root().await.expect("key");
    let mut conn = w.ferry.core.store().pool().acquire().await.expect("conn");
    let stored = ferry_core::store::signed_in::stored(&mut conn, &root, &id)
        .await
        .expect("read")
        .expect("saved");
    drop(conn);
    assert_eq!(
        stored.expires_at.timestamp_millis(),
        (w.core().clock().now() + ferry_core::oauth::lifetime::MAX_ACCESS_LIFETIME)
            .timestamp_millis(),
        "a lifetime of 285,000 years counts as a day"
    );

    for retry_after_s in [1_000_000_000_u64, 1_000_000_000_000_000] {
        w.fault(serde_json::json!({
            "service": "google",
            "grant_type": "refresh_token",
            "times": 1,
            "action": {"kind": "respond", "status": 503, "body": "{\"error\":\"server_error\"}",
                       "retry_after_s": retry_after_s},
        }))
        .await;
        w.advance(Duration::hours(25));
        let err = w
            .ferry
            .core
            .access_token(&id)
            .await
            .expect_err("the provider failed");
        assert_eq!(err.code, ferry_core::ErrorCode::Network);
        let health = w.account(&id).await.health;
        assert_eq!(health.state, HealthState::Retrying);
        let next = health.next_try_at.expect("a retry time");
        assert!(
            next <= w.core().clock().now() + Duration::hours(1),
            "Retry-After {retry_after_s} s waits at most an hour, not until {next}"
        );
    }
}

/// Quitting while a Microsoft refresh is in flight: shutdown waits for it, and the rotated
/// refresh token is committed before the core stops. Against a server that retires a
/// replaced token, it is the only one that still works.
#[tokio::test]
async fn quitting_mid_refresh_commits_the_rotated_token_first() {
    const PROVIDER_DELAY_MS: u64 = 1500;
    let sandbox = sandbox_with(|c| c.microsoft.old_refresh_token_stays_valid = false).await;
    let mut w = World::build().sandbox(sandbox).manual_time().start().await;
    let id = w
        .add(
            Provider::Microsoft,
            "katherine@contoso.example",
            "katherine",
        )
        .await;
    let stored = |core: Arc<ferry_core::Core>, id: String| async move {
        let root = core.vault().root().await.expect("key");
        ferry_core::store::signed_in::tokens(core.store().pool(), &root, &id)
            .await
            .expect("read")
            .expect("saved")
            .1
            .expect("refresh token")
            .expose_secret()
            .to_owned()
    };
    let first = stored(Arc::clone(w.core()), id.clone()).await;

    // The provider takes its time; the refresh is due.
    let rule = serde_json::json!({
        "service": "microsoft", "grant_type": "refresh_token", "times": 1,
        "action": {"kind": "latency", "ms": PROVIDER_DELAY_MS},
    });
    reqwest::Client::new()
        .post(format!("{}/faults", w.sandbox.control_url()))
        .json(&rule)
        .send()
        .await
        .expect("control");
    w.core().start_keeper();
    w.advance(Duration::minutes(89));
    let stats = w.core().keeper_stats();
    for _ in 0..200 {
        if stats.in_flight.load(std::sync::atomic::Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    assert_eq!(
        stats.in_flight.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "a refresh is in flight"
    );

    let quitting = std::time::Instant::now();
    w.core().shutdown().await;
    let took = quitting.elapsed();
    eprintln!(
        "shutdown with a refresh in flight took {} ms (provider delay {PROVIDER_DELAY_MS} ms)",
        took.as_millis()
    );
    assert!(
        took < ferry_core::keeper::DRAIN_DEADLINE,
        "drained within the deadline"
    );

    w.restart().await;
    let second = stored(Arc::clone(w.core()), id.clone()).await;
    assert_ne!(second, first, "the rotated refresh token was committed");
    // The old token is dead at this server: only the committed one can renew access.
    w.advance(Duration::minutes(90));
    w.core()
        .access_token(&id)
        .await
        .expect("the committed refresh token works");
    w.core().shutdown().await;
}

/// "The provider said 401": one refresh, and callers holding an already-replaced token get
/// the current one without another.
#[tokio::test]
async fn a_rejected_token_is_refreshed_once() {
    let mut w = world().await;
    let id = w.add(Provider::Google, "ada@example.com", "ada").await;
    let tokens = w.ferry.core.tokens().clone();
    let first = tokens.access_token(&id).await.expect("token");
    let second = tokens
        .after_unauthorized(&id, &first)
        .await
        .expect("refreshed");
    assert_ne!(second.expose_secret(), first.expose_secret());
    assert_eq!(w.refreshes("google"), 1);
    let again = tokens
        .after_unauthorized(&id, &first)
        .await
        .expect("current token");
    assert_eq!(again.expose_secret(), second.expose_secret());
    assert_eq!(
        w.refreshes("google"),
        1,
        "no second refresh for a stale 401"
    );
}

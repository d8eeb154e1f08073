//! The keeper: Ferry's background schedule, an actor.
//!
//! It runs `Job`s: each says what is due and when the next thing will be, and does the
//! work for one key (an account). Refreshing access tokens is the first job
//! (`RefreshJob`); the sync engines add theirs, so pause, "Sync now", resume and
//! network wake-ups cover them too.
//!
//! - Each account's token is refreshed shortly before it expires, and at least daily even
//!   when nothing uses it (Microsoft drops refresh tokens unused for 90 days, Google after
//!   six months); see `crate::tokens` for the refresh itself.
//! - At most `MAX_CONCURRENT` pieces of work run at once; they run in a join set the
//!   actor owns.
//! - The schedule wakes at most once a `TICK` when nothing is due, which also notices a
//!   suspend/resume (the wall clock jumps) within a minute; `Keeper::check_now` re-checks
//!   at once (network change, "Sync now"), reporting its progress as it goes.
//! - `Keeper::shutdown` stops scheduling and drains the work in flight (a refresh commits
//!   its rotated token) for up to `DRAIN_DEADLINE`, then stops what is left.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinSet;

pub use crate::tokens::{KeeperStats, MIN_REFRESH_INTERVAL, REFRESH_MARGIN};

use crate::actor::{Inbox, Mailbox};
use crate::alerts::Alerts;
use crate::context::Context;
use crate::error::AppError;
use crate::events::{CoreEvent, Progress, Task};
use crate::store::health::{self, Health, HealthState};
use crate::store::signed_in;
use crate::tokens::{obtained_at, renew_at, Tokens};

/// Refresh at least this often, even if the token is never used.
pub const IDLE_REFRESH: Duration = Duration::hours(24);
/// The longest the schedule sleeps: it re-checks at least this often.
pub const TICK: Duration = Duration::minutes(1);
/// Pieces of work running at once, across all jobs and accounts.
pub const MAX_CONCURRENT: usize = 4;
/// How long quitting waits for work in flight. A bound on the process's exit, measured on
/// the real clock: a refresh's provider call times out after 30 seconds, and a rotated
/// token must be committed before Ferry exits.
pub const DRAIN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(35);

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a job has to do now, and when it will next have something.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub due: Vec<String>,
    pub next: Option<DateTime<Utc>>,
}

/// Background work the keeper schedules.
pub(crate) trait Job: Send + Sync + 'static {
    /// For log lines.
    fn name(&self) -> &'static str;
    /// Whether its work counts in "Sync now"'s "Checking connections" progress.
    fn checks_connections(&self) -> bool {
        false
    }
    /// The keys due at `now` (every key that can run, when `forced`), and the next due time.
    fn plan(&self, now: DateTime<Utc>, forced: bool) -> BoxFuture<'_, Result<Plan, AppError>>;
    /// Does the work for `key`, recording its own outcome. Returns whether it attempted
    /// anything: a job that could not (a locked vault) makes the schedule wait for its next
    /// tick instead of spinning.
    fn run(self: Arc<Self>, key: String, forced: bool) -> BoxFuture<'static, bool>;
}

enum Command {
    CheckNow,
    Wake,
    Shutdown(oneshot::Sender<()>),
}

/// A handle on the keeper; cheap to clone.
#[derive(Clone)]
pub(crate) struct Keeper {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: Context,
    alerts: Alerts,
    jobs: Vec<Arc<dyn Job>>,
    stats: Arc<KeeperStats>,
    mailbox: Mailbox<Command>,
}

impl Keeper {
    pub fn new(
        ctx: Context,
        alerts: Alerts,
        stats: Arc<KeeperStats>,
        jobs: Vec<Arc<dyn Job>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                ctx,
                alerts,
                jobs,
                stats,
                mailbox: Mailbox::new(),
            }),
        }
    }

    /// Starts the schedule (once).
    pub fn start(&self) {
        let this = self.clone();
        self.inner
            .mailbox
            .start(&self.inner.ctx.runtime, "keeper", move |inbox| {
                this.clone().run(inbox)
            });
    }

    /// Everything that can run, runs now ("Sync now", resume, network back).
    pub fn check_now(&self) {
        self.inner.mailbox.send(Command::CheckNow);
    }

    /// Look again at what is due (an account was resumed).
    pub fn wake(&self) {
        self.inner.mailbox.send(Command::Wake);
    }

    /// Stops scheduling, drains the work in flight (at most [`DRAIN_DEADLINE`]) and waits
    /// for the actor to end.
    pub async fn shutdown(&self) {
        self.inner.mailbox.stop(Command::Shutdown).await;
    }

    async fn run(self, mut inbox: Inbox<Command>) {
        let ctx = &self.inner.ctx;
        let stats = &self.inner.stats;
        let limit = Arc::new(Semaphore::new(MAX_CONCURRENT));
        // Each piece of work: (counts as a connection check, made progress).
        let mut running: JoinSet<(bool, bool)> = JoinSet::new();
        let mut forced = false;
        loop {
            let now = ctx.clock.now();
            // Test runs: a bug in the schedule itself, once, to show it is restarted.
            static PANICKED: std::sync::atomic::AtomicBool =
                std::sync::atomic::AtomicBool::new(false);
            if ctx.failpoint("keeper-panic") && !PANICKED.swap(true, Ordering::SeqCst) {
                panic!("keeper-panic failpoint");
            }
            let checking = std::mem::take(&mut forced);
            let (spawned, checks, next) = self.spawn_due(&mut running, &limit, now, checking).await;
            stats.passes.fetch_add(1, Ordering::Relaxed);
            if spawned == 0 {
                stats.idle_wakeups.fetch_add(1, Ordering::Relaxed);
            }
            // "Sync now" shows how far it has come.
            let mut progress = checking.then_some(Progress {
                task: Task::CheckConnections,
                done: 0,
                total: u32::try_from(checks).unwrap_or(u32::MAX),
            });
            if let Some(progress) = &progress {
                ctx.events.emit(CoreEvent::Progress(progress.clone()));
            }
            // This round's work, commands still heard.
            let mut progressed = false;
            while !running.is_empty() {
                tokio::select! {
                    Some(done) = running.join_next() => {
                        let (check, made_progress) = done.unwrap_or((false, false));
                        progressed |= made_progress;
                        if let (Some(progress), true) = (&mut progress, check) {
                            progress.done += 1;
                            ctx.events.emit(CoreEvent::Progress(progress.clone()));
                        }
                    }
                    command = inbox.recv() => match command {
                        Some(Command::CheckNow) => forced = true,
                        Some(Command::Wake) => {}
                        Some(Command::Shutdown(reply)) => return self.stop(running, Some(reply)).await,
                        None => return self.stop(running, None).await,
                    },
                }
            }
            // Something was done (or asked for), so look again at once.
            if progressed || forced {
                continue;
            }
            let wake_at = next.map_or(now + TICK, |n| n.min(now + TICK)).max(now);
            tokio::select! {
                () = ctx.clock.sleep_until(wake_at) => {}
                command = inbox.recv() => match command {
                    Some(Command::CheckNow) => forced = true,
                    Some(Command::Wake) => {}
                    Some(Command::Shutdown(reply)) => return self.stop(running, Some(reply)).await,
                    None => return self.stop(running, None).await,
                },
            }
            stats.wakeups.fetch_add(1, Ordering::Relaxed);
            // Time moves on for transient failures too: a notification may now be due.
            self.inner.alerts.review_soon();
        }
    }

    /// Asks every job what is due and starts it; returns how many pieces of work were
    /// started and when the next is due.
    /// Starts what is due; returns how many pieces, how many of them check connections,
    /// and when something is next due.
    async fn spawn_due(
        &self,
        running: &mut JoinSet<(bool, bool)>,
        limit: &Arc<Semaphore>,
        now: DateTime<Utc>,
        forced: bool,
    ) -> (usize, usize, Option<DateTime<Utc>>) {
        let mut spawned = 0;
        let mut checks = 0;
        let mut next: Option<DateTime<Utc>> = None;
        for job in &self.inner.jobs {
            let plan = match job.plan(now, forced).await {
                Ok(plan) => plan,
                Err(err) => {
                    tracing::warn!(job = job.name(), %err, "could not plan background work");
                    continue;
                }
            };
            next = match (next, plan.next) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let check = job.checks_connections();
            for key in plan.due {
                let job = Arc::clone(job);
                let limit = Arc::clone(limit);
                running.spawn(async move {
                    let Ok(_permit) = limit.acquire_owned().await else {
                        return (check, false);
                    };
                    (check, job.run(key, forced).await)
                });
                spawned += 1;
                checks += usize::from(check);
            }
        }
        (spawned, checks, next)
    }

    /// Lets the work in flight finish (up to [`DRAIN_DEADLINE`]), stops the rest, replies.
    async fn stop(&self, mut running: JoinSet<(bool, bool)>, reply: Option<oneshot::Sender<()>>) {
        let in_flight = running.len();
        let drained = tokio::time::timeout(DRAIN_DEADLINE, async {
            while running.join_next().await.is_some() {}
        })
        .await
        .is_ok();
        if drained {
            tracing::info!(in_flight, "keeper stopped; work in flight finished");
        } else {
            tracing::warn!(
                left = running.len(),
                "keeper stopped; work still running after the deadline was abandoned"
            );
            running.shutdown().await;
        }
        if let Some(reply) = reply {
            let _ = reply.send(());
        }
    }
}

/// When an account next needs a refresh, or `None` if it waits for the user.
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

/// Keeps every account's access token fresh: the keeper's first job.
pub(crate) struct RefreshJob {
    ctx: Context,
    tokens: Tokens,
}

impl RefreshJob {
    pub fn new(ctx: Context, tokens: Tokens) -> Self {
        Self { ctx, tokens }
    }
}

impl Job for RefreshJob {
    fn name(&self) -> &'static str {
        "refresh"
    }

    fn checks_connections(&self) -> bool {
        true
    }

    fn plan(&self, now: DateTime<Utc>, forced: bool) -> BoxFuture<'_, Result<Plan, AppError>> {
        Box::pin(async move {
            let pool = self.ctx.store.pool();
            let healths = health::all(pool).await?;
            let expiries = signed_in::access_expiries(pool).await?;
            let mut plan = Plan::default();
            for h in &healths {
                let Some(expires) = expiries.get(&h.account_id) else {
                    continue;
                };
                match due_at(h, *expires) {
                    Some(at) if at <= now || forced => plan.due.push(h.account_id.clone()),
                    Some(at) => plan.next = Some(plan.next.map_or(at, |n| n.min(at))),
                    None => {}
                }
            }
            Ok(plan)
        })
    }

    fn run(self: Arc<Self>, key: String, forced: bool) -> BoxFuture<'static, bool> {
        Box::pin(async move {
            match self.tokens.refresh_if_due(&key, forced, due_at).await {
                Ok(attempted) => attempted,
                Err(err) => {
                    tracing::warn!(account = %key, %err, "scheduled refresh failed");
                    // A failed refresh was attempted; a locked vault or a store error
                    // means nothing could be.
                    matches!(
                        err,
                        crate::tokens::TokenError::NeedsSignIn(_)
                            | crate::tokens::TokenError::Transient { .. }
                    )
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! What every provider's mail sync shares: budgeted calls that refresh the token once on
//! a 401 and wait out throttling, and committing a page with its checkpoint.

use std::future::Future;
use std::sync::Mutex;

use chrono::Duration;
use serde::Serialize;

use super::{Report, SyncError};
use crate::account::AccessToken;
use crate::context::Context;
use crate::providers::google::gmail::GmailError;
use crate::providers::microsoft::graph_mail::GraphError;
use crate::store::health::HealthState;
use crate::store::mail::{self, FolderRecord, MailChange, MailPage};
use crate::store::sync::{self, Decision};
use crate::store::{Service, StoreError};
use crate::sync::budget::Budget;
use crate::tokens::Tokens;

/// How often one call is tried when the provider asks Ferry to slow down.
pub const THROTTLE_TRIES: u32 = 5;

/// What sync needs to know of a provider's error.
pub(crate) trait CallError: Into<SyncError> {
    fn unauthorized(&self) -> bool;
    /// `Some(retry_after)` when the provider asked Ferry to slow down.
    fn throttled(&self) -> Option<Option<std::time::Duration>>;
    /// The error to give up with after too many throttled tries.
    fn still_throttled() -> Self;
}

impl CallError for GmailError {
    fn unauthorized(&self) -> bool {
        matches!(self, GmailError::Unauthorized)
    }
    fn throttled(&self) -> Option<Option<std::time::Duration>> {
        match self {
            GmailError::Throttled { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }
    fn still_throttled() -> Self {
        GmailError::Throttled {
            retry_after: None,
            concurrent: false,
        }
    }
}

impl CallError for GraphError {
    fn unauthorized(&self) -> bool {
        matches!(self, GraphError::Unauthorized)
    }
    fn throttled(&self) -> Option<Option<std::time::Duration>> {
        match self {
            GraphError::Throttled { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
    fn still_throttled() -> Self {
        GraphError::Throttled { retry_after: None }
    }
}

/// One account's sync: its context, tokens and budget.
pub(crate) struct Session {
    pub ctx: Context,
    pub tokens: Tokens,
    pub budget: Budget,
    /// This run's removals, against what the account had when it started.
    pub guard: Mutex<Guard>,
}

/// What a run may remove: nothing beyond [`super::needs_asking`] unless the user decided.
#[derive(Debug, Default)]
pub(crate) struct Guard {
    account: String,
    /// Messages stored when the run started.
    local: i64,
    /// Stored messages this run's pages remove so far.
    removing: i64,
    decision: Option<Decision>,
}

impl Session {
    pub fn now_ms(&self) -> i64 {
        self.ctx.clock.now().timestamp_millis()
    }

    /// The account was paused, is waiting for the user, or is gone: a run stops at the
    /// next page instead of carrying on (and refreshing tokens) behind the user's back.
    pub async fn should_stop(&self, account: &str) -> Result<bool, SyncError> {
        let mut conn = self
            .ctx
            .store
            .pool()
            .acquire()
            .await
            .map_err(StoreError::from)?;
        let health = crate::store::health::get(&mut conn, account).await?;
        Ok(
            health
                .is_none_or(|h| matches!(h.state, HealthState::Paused | HealthState::NeedsSignIn)),
        )
    }

    /// Notes the start of a run in the sync log, and what the account has before it.
    pub async fn start_run(&self, account: &str, kind: &str) -> Result<i64, SyncError> {
        let pool = self.ctx.store.pool();
        let local = mail::count(pool, account).await?;
        let decision = sync::held(pool, account, Service::Mail)
            .await?
            .and_then(|h| h.decision);
        *self.guard() = Guard {
            account: account.to_owned(),
            local: i64::try_from(local).unwrap_or(i64::MAX),
            removing: 0,
            decision,
        };
        Ok(mail::start_run(pool, account, kind, self.now_ms()).await?)
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, Guard> {
        self.guard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds the page when its removals would take this run past what may go without
    /// asking; carries out the user's decision on a round held before.
    async fn guard_removals(
        &self,
        account: &str,
        changes: &mut Vec<MailChange>,
    ) -> Result<(), SyncError> {
        let ids: Vec<String> = changes
            .iter()
            .filter_map(|c| match c {
                MailChange::Remove { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let pool = self.ctx.store.pool();
        // What a provider reports gone that Ferry never had removes nothing.
        let stored = i64::try_from(mail::existing(pool, account, &ids).await?.len()).unwrap_or(0);
        let (removing, local, decision) = {
            let mut guard = self.guard();
            guard.removing += stored;
            (guard.removing, guard.local, guard.decision)
        };
        match decision {
            Some(Decision::Remove) => Ok(()),
            Some(Decision::Keep) => {
                changes.retain(|c| !matches!(c, MailChange::Remove { .. }));
                Ok(())
            }
            None if super::needs_asking(removing, local) => {
                tracing::warn!(
                    account,
                    removing,
                    local,
                    "a sync round would remove a large share of the mail; asking first"
                );
                sync::hold(pool, account, Service::Mail, removing, local, self.now_ms()).await?;
                self.ctx.mail_changed(account);
                self.tokens.review_alerts();
                Err(SyncError::Held { removing, local })
            }
            None => Ok(()),
        }
    }

    /// Notes how the run went, and hands back its report or its error.
    pub async fn finish_run(
        &self,
        run: i64,
        report: Report,
        outcome: Result<(), SyncError>,
    ) -> Result<Report, SyncError> {
        let error = outcome.as_ref().err().map(ToString::to_string);
        let decided = {
            let guard = self.guard();
            guard.decision.is_some().then(|| guard.account.clone())
        };
        if let (Ok(()), Some(account)) = (&outcome, decided) {
            // The round held before went through as the user decided.
            sync::release(self.ctx.store.pool(), &account, Service::Mail).await?;
        }
        mail::finish_run(
            self.ctx.store.pool(),
            run,
            if report.reset {
                Some("reset")
            } else {
                report.deeper.then_some("deeper")
            },
            report.counts,
            error.as_deref(),
            self.now_ms(),
        )
        .await?;
        // What the account's status shows moved on even when no message did: the last
        // sync, an error, or a round that ended on a page with nothing new (the commit
        // that makes the account caught up may carry no message at all).
        if report.pages > 0 || error.is_some() {
            let account = self.guard().account.clone();
            self.ctx.mail_changed(&account);
        }
        outcome.map(|()| report)
    }

    /// Every call of this identity waits `retry_after` (2 s if the provider said nothing).
    pub fn pause(&self, retry_after: Option<std::time::Duration>) {
        let wait = retry_after.map_or(Duration::seconds(2), |d| {
            Duration::from_std(d).unwrap_or(Duration::seconds(2))
        });
        self.budget.pause_until(self.ctx.clock.now() + wait);
    }

    /// One budgeted call, with one token refresh on a 401 and waits on throttling.
    pub async fn call<T, E, F, Fut>(
        &self,
        account: &str,
        report: &mut Report,
        cost: u64,
        f: F,
    ) -> Result<T, SyncError>
    where
        E: CallError,
        F: Fn(AccessToken) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.call_batch(account, report, cost, 1, f).await
    }

    /// [`Self::call`] for a request the provider serves as `at_once` calls side by side
    /// (a Graph `$batch`): it holds that many of the budget's concurrent slots.
    pub async fn call_batch<T, E, F, Fut>(
        &self,
        account: &str,
        report: &mut Report,
        cost: u64,
        at_once: usize,
        f: F,
    ) -> Result<T, SyncError>
    where
        E: CallError,
        F: Fn(AccessToken) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        for _ in 0..THROTTLE_TRIES {
            let slot = self.budget.spend_slots(cost, at_once).await;
            report.counts.requests += 1;
            report.counts.quota_units += cost;
            let answer = self.with_token(account, &f).await;
            drop(slot);
            match answer {
                Err(Throttled(retry_after)) => self.pause(retry_after),
                Err(Failed(err)) => return Err(err),
                Ok(value) => return Ok(value),
            }
        }
        Err(E::still_throttled().into())
    }

    /// Runs `f` with the account's token; a 401 gets one refresh and one retry. A
    /// throttled answer comes back apart, for the caller to wait and try again.
    pub async fn with_token<T, E, F, Fut>(&self, account: &str, f: F) -> Result<T, Refusal>
    where
        E: CallError,
        F: Fn(AccessToken) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let token = self
            .tokens
            .access_token(account)
            .await
            .map_err(|e| Failed(e.into()))?;
        let answer = match f(token.clone()).await {
            Err(err) if err.unauthorized() => {
                let fresh = self
                    .tokens
                    .after_unauthorized(account, &token)
                    .await
                    .map_err(|e| Failed(e.into()))?;
                f(fresh).await
            }
            other => other,
        };
        answer.map_err(|err| match err.throttled() {
            Some(retry_after) => Throttled(retry_after),
            None => Failed(err.into()),
        })
    }

    /// Writes a page of changes with the checkpoint that covers it, in one transaction.
    pub async fn commit(
        &self,
        account: &str,
        scope: &str,
        checkpoint: &impl Serialize,
        mut changes: Vec<MailChange>,
        folders: Vec<FolderRecord>,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        self.guard_removals(account, &mut changes).await?;
        let page = MailPage {
            account_id: account.to_owned(),
            scope: scope.to_owned(),
            folders,
            changes,
            checkpoint: serde_json::to_string(checkpoint)
                .map_err(|e| SyncError::Checkpoint(e.to_string()))?,
            at: self.now_ms(),
        };
        let applied = mail::apply(self.ctx.store.writer(), &page).await?;
        report.pages += 1;
        report.counts.added += applied.added;
        report.counts.changed += applied.changed;
        report.counts.removed += applied.removed;
        if applied.added + applied.changed + applied.removed > 0 {
            self.ctx.mail_changed(account);
        }
        Ok(())
    }
}

/// Why a call did not give an answer.
pub(crate) enum Refusal {
    /// The provider asked Ferry to slow down (for this long, if it said).
    Throttled(Option<std::time::Duration>),
    Failed(SyncError),
}

use Refusal::{Failed, Throttled};

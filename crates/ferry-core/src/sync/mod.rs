//! Sync: bringing each account's mail, calendar and contacts into the local store.
//! What differs per service lives in its folder; [`mail`] is the first. Each sync spends
//! a [`budget::Budget`] per provider identity and runs as a keeper job ([`MailJob`]), so
//! pause, "Sync now", resume and network wake-ups reach it.
//!
//! So far: Gmail. Graph mail, calendar and contacts run on the same pieces next.

pub mod budget;
pub mod mail;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use crate::context::Context;
use crate::error::{AppError, ErrorCode};
use crate::keeper::{BoxFuture, Job, Plan};
use crate::providers::google::gmail::GmailClient;
use crate::providers::Provider;
use crate::services::Service;
use crate::store::health::HealthState;
use crate::tokens::Tokens;
use budget::{Budget, Limits};
use mail::gmail::{Checkpoint, GmailSync, Report, SyncError};

/// How often a caught-up mailbox is asked for changes.
pub const POLL_INTERVAL: Duration = Duration::minutes(1);
/// How far back a first sync goes (a setting later; the last 12 months by default).
pub const BACKFILL: Duration = Duration::days(365);

impl From<SyncError> for AppError {
    fn from(err: SyncError) -> Self {
        let code = match &err {
            SyncError::Token(crate::tokens::TokenError::NeedsSignIn(_)) => ErrorCode::NeedsSignIn,
            SyncError::Store(_) | SyncError::Checkpoint(_) => ErrorCode::Storage,
            _ => ErrorCode::Network,
        };
        AppError::new(code, err.to_string())
    }
}

/// Mail sync for every account: one budget per account, shared by its runs.
pub(crate) struct MailSync {
    ctx: Context,
    tokens: Tokens,
    budgets: Mutex<HashMap<String, Budget>>,
}

impl MailSync {
    pub fn new(ctx: Context, tokens: Tokens) -> Self {
        Self {
            ctx,
            tokens,
            budgets: Mutex::new(HashMap::new()),
        }
    }

    fn budget(&self, account: &str, limits: Limits) -> Budget {
        self.budgets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(account.to_owned())
            .or_insert_with(|| Budget::new(limits, Arc::clone(&self.ctx.clock)))
            .clone()
    }

    /// One run for `account` (up to a slice of pages).
    pub async fn run(&self, account: &str) -> Result<Report, SyncError> {
        let provider = self.ctx.store.account_provider(account).await?;
        let google = self.ctx.providers.google.as_ref();
        match (provider, google) {
            (Some(Provider::Google), Some(google)) => {
                let client = GmailClient::new(self.ctx.http.clone(), google.gmail_url.clone());
                let budget = self.budget(account, Limits::gmail(google.gmail_quota_per_minute));
                GmailSync::new(
                    self.ctx.clone(),
                    self.tokens.clone(),
                    client,
                    budget,
                    BACKFILL,
                )
                .run(account)
                .await
            }
            // Outlook mail comes with the Graph engine; nothing to do yet.
            _ => Ok(Report::default()),
        }
    }

    /// Runs until the account is caught up.
    pub async fn run_to_end(&self, account: &str) -> Result<Report, SyncError> {
        let mut total = Report::default();
        loop {
            let report = self.run(account).await?;
            total.pages += report.pages;
            total.counts.added += report.counts.added;
            total.counts.changed += report.counts.changed;
            total.counts.removed += report.counts.removed;
            total.counts.requests += report.counts.requests;
            total.counts.quota_units += report.counts.quota_units;
            total.reset |= report.reset;
            if !report.more {
                return Ok(total);
            }
        }
    }
}

/// The keeper's mail job: every account with mail granted, due when it has not caught
/// up yet (a first sync goes on) or its poll interval has passed.
pub(crate) struct MailJob {
    sync: Arc<MailSync>,
}

impl MailJob {
    pub fn new(sync: Arc<MailSync>) -> Self {
        Self { sync }
    }
}

fn due(checkpoint: Option<(Checkpoint, DateTime<Utc>)>) -> Option<DateTime<Utc>> {
    match checkpoint {
        None | Some((Checkpoint::Full { .. }, _)) => None,
        Some((
            Checkpoint::Incremental {
                page_token: Some(_),
                ..
            },
            _,
        )) => None,
        Some((Checkpoint::Incremental { .. }, at)) => Some(at + POLL_INTERVAL),
    }
}

impl Job for MailJob {
    fn name(&self) -> &'static str {
        "mail"
    }

    fn plan(&self, now: DateTime<Utc>, forced: bool) -> BoxFuture<'_, Result<Plan, AppError>> {
        Box::pin(async move {
            let ctx = &self.sync.ctx;
            let mut plan = Plan::default();
            for account in ctx.store.list_accounts().await? {
                let wanted = account.provider == Provider::Google
                    && account
                        .services
                        .iter()
                        .any(|s| s.service == Service::Mail && s.requested && s.granted)
                    && !matches!(
                        account.health.state,
                        HealthState::NeedsSignIn | HealthState::Paused
                    );
                if !wanted {
                    continue;
                }
                let stored =
                    crate::store::mail::checkpoint_at(ctx.store.pool(), &account.id, "").await?;
                let parsed = stored.and_then(|(json, at)| {
                    Some((serde_json::from_str::<Checkpoint>(&json).ok()?, at))
                });
                match due(parsed) {
                    Some(at) if at > now && !forced => {
                        plan.next = Some(plan.next.map_or(at, |n| n.min(at)))
                    }
                    _ => plan.due.push(account.id),
                }
            }
            Ok(plan)
        })
    }

    fn run(self: Arc<Self>, key: String, _forced: bool) -> BoxFuture<'static, bool> {
        Box::pin(async move {
            match self.sync.run(&key).await {
                Ok(report) => {
                    tracing::info!(account = %key, pages = report.pages, added = report.counts.added, changed = report.counts.changed, removed = report.counts.removed, more = report.more, "mail synced");
                    true
                }
                Err(err) => {
                    tracing::warn!(account = %key, %err, "mail sync stopped");
                    false
                }
            }
        })
    }
}

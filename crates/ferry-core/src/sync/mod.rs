//! Sync: bringing each account's mail, calendar and contacts into the local store.
//! What differs per service lives in its folder; [`mail`] is the first. Each sync spends
//! a [`budget::Budget`] per provider identity and runs as a keeper job ([`MailJob`]), so
//! pause, "Sync now", resume and network wake-ups reach it.
//!
//! So far: Gmail and Outlook mail. Calendar and contacts run on the same pieces next.

pub mod budget;
pub mod mail;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::context::Context;
use crate::error::{AppError, ErrorCode};
use crate::keeper::{BoxFuture, Job, Plan};
use crate::providers::google::gmail::{units, GmailClient};
use crate::providers::microsoft::graph_mail::GraphMailClient;
use crate::providers::Provider;
use crate::services::Service;
use crate::store::health::HealthState;
use crate::tokens::Tokens;
use budget::{Budget, Limits};
use mail::gmail::{Checkpoint, GmailSync};
use mail::graph::{Checkpoint as GraphCheckpoint, GraphSync};
use mail::session::Session;
use mail::{Report, SyncError};

/// How often a caught-up mailbox is asked for changes.
pub const POLL_INTERVAL: Duration = Duration::minutes(1);
/// Where mail synced `months` back from `now` starts (the settings' depth; 0 for all
/// mail, which starts at the Unix epoch).
pub fn mail_since(now: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    if months == 0 {
        return DateTime::UNIX_EPOCH;
    }
    now.checked_sub_months(chrono::Months::new(months))
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// A depth that reaches less than this much further back than what is synced already
/// is not worth a backfill (the window's start moves on by a day each day).
const DEEPER_BY: Duration = Duration::days(1);

/// Whether a window starting at `since` (unix seconds) reaches further back than one that
/// started at `reached`, by enough to fetch what lies between.
pub(crate) fn reaches_further(since: i64, reached: i64) -> bool {
    since < reached - DEEPER_BY.num_seconds()
}

impl From<SyncError> for AppError {
    fn from(err: SyncError) -> Self {
        let code = match &err {
            SyncError::Token(crate::tokens::TokenError::NeedsSignIn(_)) => ErrorCode::NeedsSignIn,
            SyncError::Store(_) | SyncError::Checkpoint(_) => ErrorCode::Storage,
            SyncError::NotConfigured => ErrorCode::Configuration,
            SyncError::AccountGone => ErrorCode::NotFound,
            SyncError::Held { .. } => ErrorCode::NeedsConfirmation,
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
    /// When each account's labels or folders were last read, and whether its last run
    /// left strays (which make the next read come sooner).
    folders_read: Mutex<HashMap<String, (DateTime<Utc>, bool)>>,
    /// Accounts whose mail the user asked to sync now (the dashboard's Sync now).
    asked: Mutex<std::collections::HashSet<String>>,
}

impl MailSync {
    pub fn new(ctx: Context, tokens: Tokens) -> Self {
        Self {
            ctx,
            tokens,
            budgets: Mutex::new(HashMap::new()),
            folders_read: Mutex::new(HashMap::new()),
            asked: Mutex::new(std::collections::HashSet::new()),
        }
    }

    /// The user asked for this account's mail now: it is due at the keeper's next look.
    pub fn ask(&self, account: &str) {
        self.asked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.to_owned());
    }

    /// Whether the user asked for the account's mail now (the question is then taken).
    fn take_asked(&self, account: &str) -> bool {
        self.asked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(account)
    }

    /// Whether the account's labels or folders are due to be read again.
    fn folders_due(&self, account: &str) -> bool {
        let now = self.ctx.clock.now();
        self.folders_read
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .is_none_or(|(at, strays)| {
                let every = if *strays {
                    mail::STRAYS_EVERY
                } else {
                    mail::FOLDERS_EVERY
                };
                now - *at >= every
            })
    }

    fn note_folders(&self, account: &str, report: &Result<Report, SyncError>) {
        let Ok(report) = report else {
            return;
        };
        let mut read = self.folders_read.lock().unwrap_or_else(|p| p.into_inner());
        if report.read_folders {
            read.insert(account.to_owned(), (self.ctx.clock.now(), report.strays));
        } else if let Some((_, strays)) = read.get_mut(account) {
            *strays = report.strays;
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

    fn session(&self, budget: Budget) -> Session {
        Session {
            ctx: self.ctx.clone(),
            tokens: self.tokens.clone(),
            budget,
            guard: Mutex::default(),
        }
    }

    /// One run for `account` (up to a slice of pages).
    pub async fn run(&self, account: &str) -> Result<Report, SyncError> {
        let provider = match self.client_for(account).await {
            Ok(provider) => provider,
            // The account is gone, or its provider is not configured any more.
            Err(SyncError::AccountGone | SyncError::NotConfigured) => return Ok(Report::default()),
            Err(other) => return Err(other),
        };
        let folders_due = self.folders_due(account);
        let months = crate::store::settings::load(self.ctx.store.pool())
            .await?
            .mail_months;
        let since = mail_since(self.ctx.clock.now(), months);
        let report = match provider {
            ProviderClient::Gmail(client, session) => {
                GmailSync::new(session, client, since, folders_due)
                    .run(account)
                    .await
            }
            ProviderClient::Graph(client, session) => {
                GraphSync::new(session, client, since, folders_due)
                    .run(account)
                    .await
            }
        };
        self.note_folders(account, &report);
        report
    }

    /// A message's MIME source, fetched within the account's budget (export of a message
    /// Ferry keeps as the provider's JSON).
    pub async fn mime(&self, account: &str, id: &str) -> Result<Vec<u8>, SyncError> {
        match self.client_for(account).await? {
            ProviderClient::Gmail(client, session) => {
                let client = &client;
                let message = session
                    .call(
                        account,
                        &mut Report::default(),
                        units::GET,
                        move |t| async move { client.raw(&t, id).await },
                    )
                    .await?;
                Ok(message.raw)
            }
            ProviderClient::Graph(client, session) => {
                let client = &client;
                session
                    .call(account, &mut Report::default(), 1, move |t| async move {
                        client.mime(&t, id).await
                    })
                    .await
            }
        }
    }

    /// An attachment's bytes, fetched within the account's budget (open, save, an inline
    /// image).
    pub async fn attachment(
        &self,
        account: &str,
        message: &str,
        attachment: &str,
    ) -> Result<Vec<u8>, SyncError> {
        let mut report = Report::default();
        match self.client_for(account).await? {
            ProviderClient::Gmail(client, session) => {
                let client = &client;
                session
                    .call(
                        account,
                        &mut report,
                        units::ATTACHMENT,
                        move |t| async move { client.attachment(&t, message, attachment).await },
                    )
                    .await
            }
            ProviderClient::Graph(client, session) => {
                let client = &client;
                session
                    .call(account, &mut report, 1, move |t| async move {
                        client.attachment(&t, message, attachment).await
                    })
                    .await
            }
        }
    }

    /// The account's mail client and a session on its budget (for a run, or a one-off
    /// call).
    async fn client_for(&self, account: &str) -> Result<ProviderClient, SyncError> {
        let providers = &self.ctx.providers;
        match self.ctx.store.account_provider(account).await? {
            Some(Provider::Google) => {
                let google = providers.google.as_ref().ok_or(SyncError::NotConfigured)?;
                let client = GmailClient::new(self.ctx.http.clone(), google.gmail_url.clone());
                let budget = self.budget(account, Limits::gmail(google.gmail_quota_per_minute));
                Ok(ProviderClient::Gmail(client, self.session(budget)))
            }
            Some(Provider::Microsoft) => {
                let microsoft = providers
                    .microsoft
                    .as_ref()
                    .ok_or(SyncError::NotConfigured)?;
                let client =
                    GraphMailClient::new(self.ctx.http.clone(), microsoft.graph_url.clone())
                        .round_cap(microsoft.delta_round_cap);
                Ok(ProviderClient::Graph(
                    client,
                    self.session(self.budget(account, Limits::GRAPH)),
                ))
            }
            None => Err(SyncError::AccountGone),
        }
    }

    /// Runs until the account is caught up.
    pub async fn run_to_end(&self, account: &str) -> Result<Report, SyncError> {
        let mut total = Report::default();
        loop {
            let report = self.run(account).await?;
            total.absorb(&report);
            if !report.more {
                total.more = false;
                return Ok(total);
            }
        }
    }
}

/// A client for one account's provider, with a session on its budget.
enum ProviderClient {
    Gmail(GmailClient, Session),
    Graph(GraphMailClient, Session),
}

/// Where an account's mail sync stands, for the inbox's progress line and the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct MailStatus {
    pub account_id: String,
    pub messages: u32,
    pub unread: u32,
    /// Every folder has been synced once and is now only polled.
    pub caught_up: bool,
    /// Whether a sync has ever started (else mail is not synced for this account).
    pub started: bool,
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Why the last run stopped early, in words.
    pub last_error: Option<String>,
    /// The user paused this service's sync.
    pub paused: bool,
    /// A sync round that would remove this many of the account's messages is waiting
    /// for the user to say whether to remove them.
    pub held: Option<HeldRemovals>,
    /// Requests sent since midnight (UTC), and the provider's quota units they cost
    /// (Gmail counts units; Graph counts requests).
    pub requests_today: u32,
    pub quota_units_today: u32,
}

/// A round of removals waiting for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct HeldRemovals {
    pub removing: u32,
    /// What the account had when the round started.
    pub of: u32,
}

/// Every account's [`MailStatus`] at `now`.
pub async fn mail_status(
    store: &crate::store::Store,
    now: DateTime<Utc>,
) -> Result<Vec<MailStatus>, crate::store::StoreError> {
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or_default();
    let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(crate::store::mail::overview(store.pool(), midnight)
        .await?
        .into_iter()
        .map(|o| MailStatus {
            caught_up: !o.checkpoints.is_empty() && o.checkpoints.iter().all(|c| caught_up(c)),
            started: !o.checkpoints.is_empty(),
            account_id: o.account_id,
            messages: count(o.messages),
            unread: count(o.unread),
            last_sync_at: o.last_run_at.and_then(DateTime::from_timestamp_millis),
            last_error: o.last_error,
            paused: o.paused,
            held: o.held.map(|(removing, of)| HeldRemovals {
                removing: count(removing),
                of: count(of),
            }),
            requests_today: count(o.requests_since),
            quota_units_today: count(o.quota_units_since),
        })
        .collect())
}

/// One sync run in the account page's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SyncRunView {
    pub service: Service,
    /// `full`, `incremental`, `reset`, or `deeper` (fetching older mail after the setting
    /// reached further back).
    pub kind: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub added: u32,
    pub changed: u32,
    pub removed: u32,
    pub requests: u32,
    pub quota_units: u32,
    pub error: Option<String>,
}

/// How many runs the log shows.
const LOG_LENGTH: u32 = 50;

/// The account's sync log, newest first: every run that changed something, failed, or
/// started over (the quiet minute's polls are left out).
pub async fn sync_log(
    store: &crate::store::Store,
    account: &str,
) -> Result<Vec<SyncRunView>, crate::store::StoreError> {
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(
        crate::store::sync::runs(store.pool(), account, LOG_LENGTH, false)
            .await?
            .into_iter()
            .filter_map(|r| {
                Some(SyncRunView {
                    service: Service::parse(&r.service)?,
                    kind: r.kind,
                    started_at: DateTime::from_timestamp_millis(r.started_at)?,
                    finished_at: r.finished_at.and_then(DateTime::from_timestamp_millis),
                    added: count(r.added),
                    changed: count(r.changed),
                    removed: count(r.removed),
                    requests: count(r.requests),
                    quota_units: count(r.quota_units),
                    error: r.error,
                })
            })
            .collect(),
    )
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

/// Whether a stored checkpoint (Gmail's or a Graph folder's) is between rounds.
fn caught_up(json: &str) -> bool {
    match serde_json::from_str::<Checkpoint>(json) {
        Ok(Checkpoint::Incremental { page_token, .. }) => page_token.is_none(),
        Ok(Checkpoint::Full { .. } | Checkpoint::Confirm { .. }) => false,
        Err(_) => serde_json::from_str::<GraphCheckpoint>(json).is_ok_and(|c| c.caught_up),
    }
}

/// When an account's mail is next due: now if it has no checkpoint yet or one is
/// mid-round, else a poll interval after the oldest commit.
fn due(checkpoints: &[(String, DateTime<Utc>)]) -> Option<DateTime<Utc>> {
    if checkpoints.is_empty() || checkpoints.iter().any(|(json, _)| !caught_up(json)) {
        return None;
    }
    checkpoints.iter().map(|(_, at)| *at + POLL_INTERVAL).min()
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
                let wanted = account
                    .services
                    .iter()
                    .any(|s| s.service == Service::Mail && s.requested && s.granted)
                    && !matches!(
                        account.health.state,
                        HealthState::NeedsSignIn | HealthState::Paused
                    );
                let pool = ctx.store.pool();
                // A round held for the user waits for their answer.
                let waiting = crate::store::sync::held(pool, &account.id, Service::Mail)
                    .await?
                    .is_some_and(|h| h.decision.is_none());
                if !wanted
                    || waiting
                    || crate::store::sync::is_paused(pool, &account.id, Service::Mail).await?
                {
                    continue;
                }
                let checkpoints =
                    crate::store::mail::checkpoints(ctx.store.pool(), &account.id).await?;
                let asked = self.sync.take_asked(&account.id);
                match due(&checkpoints) {
                    Some(at) if at > now && !forced && !asked => {
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

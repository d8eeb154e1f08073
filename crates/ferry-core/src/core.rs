//! [`Core`]: the one object the shell holds. Each UI command is a call on it.

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;
use serde::Serialize;

use crate::account::AccessToken;
use crate::alerts::{Alerts, Notifier};
use crate::browser::SystemBrowser;
use crate::clock::Clock;
use crate::context::Context;
use crate::deeplink::{DeepLink, DeepLinkError};
use crate::error::{AppError, ErrorCode};
use crate::events::hub::Hub;
use crate::events::{EventSink, NoticeLevel};
use crate::inbox::{self, MailList, MailListRequest, MessageRef, MessageSummary, MessageView};
use crate::keeper::{Keeper, KeeperStats, RefreshJob};
use crate::profile::Profile;
use crate::providers::ProviderSettings;
use crate::providers::Revocation;
use crate::sign_in::{SignIn, SignInRequest, SignInStarted};
use crate::store::health::{self, TimelineEntry};
use crate::store::settings::{self, Settings};
use crate::store::signed_in;
use crate::store::{Store, DATABASE_FILE};
use crate::sync::mail::parse::RemoteContent;
use crate::sync::mail::Report as MailSyncReport;
use crate::sync::{MailJob, MailStatus, MailSync, SyncRunView};
use crate::tokens::Tokens;
use crate::vault::{KeyStore, Keychain, Vault, VaultStatus, PASSPHRASE_FILE};
use crate::views::{AccountView, Attention};

/// Where and as what this Ferry runs. The shell resolves the OS directories.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub profile: Profile,
    pub version: String,
    /// The OS app-data directory for this profile's identifier.
    pub data_dir: PathBuf,
    /// Where Google and Microsoft are reached (the real ones, or the sandbox).
    pub providers: ProviderSettings,
}

impl CoreConfig {
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join(DATABASE_FILE)
    }

    pub fn info(&self) -> AppInfo {
        AppInfo {
            version: self.version.clone(),
            profile: self.profile,
            data_dir: self.data_dir.display().to_string(),
            sandbox: self.providers.uses_sandbox(),
        }
    }
}

/// What the UI shows about this installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: String,
    pub profile: Profile,
    pub data_dir: String,
    /// Some provider is the local sandbox, not the real Google or Microsoft.
    pub sandbox: bool,
}

/// What became of a `ferry://` link.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkOutcome {
    /// Not a link Ferry understands; logged and dropped.
    Ignored(DeepLinkError),
    /// A sign-in response arrived while no sign-in was waiting for one.
    NoPendingSignIn,
    /// A sign-in response for the sign-in in progress; it finishes in the background.
    SignInResponse,
}

/// What the core needs from the machine it runs on; the shell gives the real ones.
pub struct Platform {
    pub key_store: Arc<dyn KeyStore>,
    pub clock: Arc<dyn Clock>,
    pub events: Arc<dyn EventSink>,
    pub browser: Arc<dyn SystemBrowser>,
    pub notifier: Arc<dyn Notifier>,
}

/// What Remove did besides deleting the account's local data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Removed {
    /// Ferry's access was revoked at the provider (Google).
    pub revoked: bool,
    /// What the user may still want to do, in plain words.
    pub advice: Option<String>,
}

/// The facade the shell holds: it wires the services together, hands out what they
/// offer, and shuts them down in order.
pub struct Core {
    config: CoreConfig,
    ctx: Context,
    sign_in: Arc<SignIn>,
    tokens: Tokens,
    keeper: Keeper,
    alerts: Alerts,
    hub: Hub,
    mail: Arc<MailSync>,
}

impl Core {
    /// Opens the database (migrating it) and wires the parts together.
    #[tracing::instrument(skip_all, fields(profile = %config.profile), err)]
    pub async fn start(config: CoreConfig, platform: Platform) -> Result<Self, AppError> {
        let store = Store::open(&config.database_path()).await?;
        let vault = Vault::new(
            Keychain::new(platform.key_store, &config.profile.identifier()),
            config.data_dir.join(PASSPHRASE_FILE),
        );
        tracing::info!(version = %config.version, started_at = %platform.clock.now(), "core started");
        let hub = Hub::new(platform.events, store.clone(), Arc::clone(&platform.clock));
        hub.start(&tokio::runtime::Handle::current());
        let ctx = Context {
            store,
            vault: Arc::new(vault),
            clock: platform.clock,
            events: Arc::new(hub.clone()),
            providers: Arc::new(config.providers.clone()),
            http: crate::oauth::http_client(),
            profile: config.profile,
            runtime: tokio::runtime::Handle::current(),
        };
        let alerts = Alerts::new(ctx.clone(), platform.notifier);
        let stats = Arc::new(KeeperStats::default());
        let tokens = Tokens::new(ctx.clone(), alerts.clone(), Arc::clone(&stats));
        let refresh = Arc::new(RefreshJob::new(ctx.clone(), tokens.clone()));
        let mail = Arc::new(MailSync::new(ctx.clone(), tokens.clone()));
        let mail_job = Arc::new(MailJob::new(Arc::clone(&mail)));
        let keeper = Keeper::new(ctx.clone(), alerts.clone(), stats, vec![refresh, mail_job]);
        let sign_in = Arc::new(SignIn::new(
            ctx.clone(),
            alerts.clone(),
            keeper.clone(),
            platform.browser,
        ));
        Ok(Self {
            config,
            ctx,
            sign_in,
            tokens,
            keeper,
            alerts,
            hub,
            mail,
        })
    }

    /// The shell reports whether the OS will hand `ferry://` links to Ferry. On Linux
    /// that depends on registering a desktop handler at start, which can fail.
    pub fn set_deep_links_registered(&self, registered: bool) {
        self.sign_in.set_deep_links_registered(registered);
    }

    /// Starts a sign-in and opens the provider's page in the system browser. A sign-in
    /// already in progress is cancelled: the dialog is modal, so only one can be wanted.
    pub async fn begin_sign_in(&self, request: SignInRequest) -> Result<SignInStarted, AppError> {
        self.sign_in.begin(request).await
    }

    /// Cancel in the dialog. Returns whether that sign-in was still in progress.
    pub fn cancel_sign_in(&self, flow_id: &str) -> bool {
        self.sign_in.cancel(flow_id)
    }

    /// Whether a sign-in is waiting for the browser to come back.
    pub fn sign_in_pending(&self) -> bool {
        self.sign_in.pending()
    }

    pub fn info(&self) -> AppInfo {
        self.config.info()
    }

    pub fn store(&self) -> &Store {
        &self.ctx.store
    }

    pub fn vault(&self) -> &Vault {
        &self.ctx.vault
    }

    pub fn providers(&self) -> &ProviderSettings {
        &self.ctx.providers
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.ctx.clock
    }

    pub async fn list_accounts(&self) -> Result<Vec<AccountView>, AppError> {
        let records = self.ctx.store.list_accounts().await?;
        Ok(records
            .into_iter()
            .map(|record| {
                let working = self.tokens.is_working(&record.id);
                AccountView::new(record, working)
            })
            .collect())
    }

    /// The accounts waiting for the user to sign in again (what the tray lists).
    pub async fn attention(&self) -> Vec<Attention> {
        self.hub.attention().await
    }

    /// One account as the UI sees it.
    pub async fn account(&self, account_id: &str) -> Result<AccountView, AppError> {
        self.list_accounts()
            .await?
            .into_iter()
            .find(|a| a.id == account_id)
            .ok_or_else(AppError::account_gone)
    }

    /// Handles a `ferry://` URL from the OS, whether it came with a cold start or to the
    /// running instance. Never fails: what Ferry does not understand is logged and dropped.
    pub fn open_link(&self, raw: &str) -> LinkOutcome {
        match DeepLink::parse(raw) {
            Err(err) => {
                tracing::warn!(reason = %err, "ignored deep link");
                LinkOutcome::Ignored(err)
            }
            Ok(link) => {
                tracing::info!(link = %link.describe(), "deep link received");
                match link {
                    DeepLink::OAuthCallback(callback) if self.sign_in.pending() => {
                        let sign_in = Arc::clone(&self.sign_in);
                        self.ctx
                            .runtime
                            .spawn(async move { sign_in.complete(callback).await });
                        LinkOutcome::SignInResponse
                    }
                    DeepLink::OAuthCallback(callback) => {
                        self.sign_in.no_sign_in_waiting(callback.provider);
                        LinkOutcome::NoPendingSignIn
                    }
                }
            }
        }
    }

    /// Removes an account: revokes Ferry's access at the provider where it can (Google),
    /// then deletes its tokens and every local row. The local data goes even when the
    /// provider cannot be reached; the result says what is left to do.
    pub async fn remove_account(&self, account_id: &str) -> Result<Removed, AppError> {
        let account = self.account(account_id).await?;
        let provider = account.provider;
        let root = self.ctx.vault.root().await?;
        let refresh = signed_in::remove(self.ctx.store.pool(), &root, account_id).await?;
        self.ctx.account_changed(account_id);
        let revocation = match &refresh {
            Some(token) => {
                provider
                    .revoke(&self.ctx.http, self.providers(), token)
                    .await
            }
            None => Revocation::NotSupported,
        };
        tracing::info!(%provider, ?revocation, "account removed");
        let removed = match revocation {
            Revocation::Revoked => Removed {
                revoked: true,
                advice: None,
            },
            Revocation::NotSupported => Removed {
                revoked: false,
                advice: Some(format!(
                    "{provider} does not let apps withdraw their own access. To remove Ferry \
                     from your account too, open your {provider} account's privacy page and \
                     remove Ferry under apps with access."
                )),
            },
            Revocation::Failed(reason) => Removed {
                revoked: false,
                advice: Some(format!(
                    "Ferry deleted the account here, but could not withdraw its access at \
                     {provider} ({reason}). To finish, remove Ferry from your {provider} \
                     account's list of apps with access."
                )),
            },
        };
        self.notify(
            NoticeLevel::Info,
            format!("{} is removed from Ferry.", account.email),
        );
        if let Some(advice) = &removed.advice {
            self.notify(NoticeLevel::Warning, advice.clone());
        }
        Ok(removed)
    }

    pub(crate) fn notify(&self, level: NoticeLevel, message: String) {
        self.ctx.notice(level, message);
    }

    /// Turns off the services `services` leaves out (turning one on needs a sign-in, with
    /// Reconnect). Grants stay as the provider gave them.
    pub async fn set_services(
        &self,
        account_id: &str,
        services: crate::oauth::ServiceChoice,
    ) -> Result<(), AppError> {
        if !self.ctx.store.keep_requested(account_id, &services).await? {
            return Err(AppError::account_gone());
        }
        self.ctx.account_changed(account_id);
        Ok(())
    }

    pub fn vault_status(&self) -> VaultStatus {
        self.ctx.vault.status()
    }

    /// Unlocks the passphrase vault (computers without a keychain).
    pub async fn unlock_vault(&self, passphrase: SecretString) -> Result<VaultStatus, AppError> {
        self.ctx.vault.unlock(passphrase).await?;
        Ok(self.ctx.vault.status())
    }

    /// Chooses a passphrase to protect Ferry's key where no keychain exists.
    pub async fn create_passphrase_vault(
        &self,
        passphrase: SecretString,
    ) -> Result<VaultStatus, AppError> {
        self.ctx.vault.create_with_passphrase(passphrase).await?;
        Ok(self.ctx.vault.status())
    }

    /// Starts the background services: the keeper's schedule and the notifications.
    /// Called once by the shell after start-up.
    pub fn start_keeper(&self) {
        self.alerts.start();
        self.keeper.start();
    }

    /// Syncs the account's mail until it is caught up (the keeper does this on its own;
    /// tests and "Sync now" for one account call it directly).
    pub async fn sync_mail(&self, account_id: &str) -> Result<MailSyncReport, AppError> {
        Ok(self.mail.run_to_end(account_id).await?)
    }

    /// A page of the unified inbox (or of a search).
    pub async fn mail_list(&self, request: &MailListRequest) -> Result<MailList, AppError> {
        Ok(inbox::list(self.ctx.store.pool(), request).await?)
    }

    /// A message's MIME source: as stored, or fetched from the provider for a message
    /// Ferry keeps as the provider's JSON.
    async fn mime_of(
        &self,
        message: &MessageRef,
    ) -> Result<(Vec<u8>, inbox::StoredMeta), AppError> {
        let (stored, meta) = inbox::stored(self.ctx.store.pool(), message).await?;
        let raw = match stored {
            inbox::Stored::Rfc822(raw) => raw,
            inbox::Stored::GmailJson(_) | inbox::Stored::GraphJson(_) => {
                self.mail.mime(&message.account_id, &message.id).await?
            }
        };
        Ok((raw, meta))
    }

    /// Saves one message as an `.eml` file in `dir`; returns its path.
    pub async fn export_message(
        &self,
        message: &MessageRef,
        dir: &std::path::Path,
    ) -> Result<PathBuf, AppError> {
        let (raw, meta) = self.mime_of(message).await?;
        crate::export::eml(&raw, &meta.subject, dir).await
    }

    /// Saves every message a filter shows (a mailbox, a label or folder, a search) as one
    /// mbox file in `dir`; returns its path and how many messages it holds.
    pub async fn export_mbox(
        &self,
        filter: &inbox::MailFilter,
        dir: &std::path::Path,
    ) -> Result<(PathBuf, u32), AppError> {
        let pool = self.ctx.store.pool();
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut cursor = None;
        let mut count = 0u32;
        loop {
            let page = inbox::list(
                pool,
                &MailListRequest {
                    filter: filter.clone(),
                    cursor: cursor.take(),
                    limit: inbox::MAX_PAGE,
                },
            )
            .await?;
            for m in &page.messages {
                if !seen.insert(m.message_id.clone().unwrap_or_else(|| m.id.clone())) {
                    continue;
                }
                let at = MessageRef {
                    account_id: m.account_id.clone(),
                    id: m.id.clone(),
                };
                let (raw, meta) = self.mime_of(&at).await?;
                crate::export::mbox_entry(&mut out, &raw, &meta.from, meta.received_at);
                count += 1;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let path = crate::export::mbox(&out, self.ctx.clock.now(), dir).await?;
        tracing::info!(messages = count, bytes = out.len(), "mail exported as mbox");
        Ok((path, count))
    }

    /// Where each account's mail sync stands.
    pub async fn mail_status(&self) -> Result<Vec<MailStatus>, AppError> {
        Ok(crate::sync::mail_status(&self.ctx.store, self.ctx.clock.now()).await?)
    }

    /// The account's sync log, newest first.
    pub async fn sync_log(&self, account_id: &str) -> Result<Vec<SyncRunView>, AppError> {
        Ok(crate::sync::sync_log(&self.ctx.store, account_id).await?)
    }

    /// Pauses or resumes one service's sync (the dashboard's Pause); the account's other
    /// services and its connection carry on.
    pub async fn set_service_paused(
        &self,
        account_id: &str,
        service: crate::services::Service,
        paused: bool,
    ) -> Result<(), AppError> {
        let at = self.ctx.clock.now().timestamp_millis();
        if !crate::store::sync::set_paused(self.ctx.store.pool(), account_id, service, paused, at)
            .await?
        {
            return Err(AppError::account_gone());
        }
        tracing::info!(account = %account_id, service = service.as_str(), paused, "service sync paused or resumed");
        self.ctx.mail_changed(account_id);
        if !paused {
            self.keeper.wake();
        }
        Ok(())
    }

    /// Syncs one service of an account now (the dashboard's Sync now), through the
    /// keeper like every other run.
    pub async fn sync_service_now(
        &self,
        account_id: &str,
        service: crate::services::Service,
    ) -> Result<(), AppError> {
        if self.ctx.store.account_provider(account_id).await?.is_none() {
            return Err(AppError::account_gone());
        }
        if service == crate::services::Service::Mail {
            self.mail.ask(account_id);
        }
        tracing::info!(account = %account_id, service = service.as_str(), "sync now asked for one service");
        self.keeper.wake();
        Ok(())
    }

    /// The user's answer to a held sync round: `remove` applies the removals it found,
    /// else Ferry keeps its copies of what the provider no longer has. Either way the
    /// service's sync goes on at once.
    pub async fn decide_removals(
        &self,
        account_id: &str,
        service: crate::services::Service,
        remove: bool,
    ) -> Result<(), AppError> {
        use crate::store::sync::{decide, Decision};
        let decision = if remove {
            Decision::Remove
        } else {
            Decision::Keep
        };
        if !decide(self.ctx.store.pool(), account_id, service, decision).await? {
            return Err(AppError::new(
                ErrorCode::NotFound,
                "Nothing is waiting for an answer: this sync is not held.",
            ));
        }
        tracing::info!(account = %account_id, service = service.as_str(), remove, "held sync round decided");
        self.ctx.mail_changed(account_id);
        self.alerts.review_soon();
        self.keeper.wake();
        Ok(())
    }

    /// A message's conversation, oldest first.
    pub async fn mail_conversation(
        &self,
        account_id: &str,
        thread_id: &str,
    ) -> Result<Vec<MessageSummary>, AppError> {
        Ok(inbox::conversation(self.ctx.store.pool(), account_id, thread_id).await?)
    }

    /// A message for the reading pane; remote content only when the user allowed it.
    pub async fn read_message(
        &self,
        message: &MessageRef,
        allow_remote: bool,
    ) -> Result<MessageView, AppError> {
        let remote = if allow_remote {
            RemoteContent::Allow
        } else {
            RemoteContent::Block
        };
        let inbox::Reading { mut view, fetch } =
            inbox::read(self.ctx.store.pool(), message, remote).await?;
        if let Some(html) = view.html.take() {
            view.html = Some(self.fetched_images(message, html, fetch).await);
        }
        Ok(view)
    }

    /// A message's HTML with the inline images the provider keeps (`fetch`) fetched and
    /// put in place. One that cannot be fetched now (offline, say) stays a broken image;
    /// the message still reads.
    async fn fetched_images(
        &self,
        message: &MessageRef,
        html: String,
        fetch: Vec<(String, inbox::AttachmentSource)>,
    ) -> String {
        let mut parts = Vec::with_capacity(fetch.len());
        for (cid, source) in fetch {
            match self.part_bytes(message, source).await {
                Ok(part) => parts.push((cid, part)),
                Err(err) => tracing::info!(%err, "an inline image could not be fetched"),
            }
        }
        inbox::with_inline_images(html, parts)
    }

    /// An attachment's bytes: from the stored message, or fetched from the provider within
    /// the account's budget.
    async fn part_bytes(
        &self,
        message: &MessageRef,
        source: inbox::AttachmentSource,
    ) -> Result<crate::sync::mail::parse::PartBytes, AppError> {
        Ok(match source {
            inbox::AttachmentSource::Here(part) => part,
            inbox::AttachmentSource::Provider {
                attachment_id,
                filename,
                content_type,
            } => crate::sync::mail::parse::PartBytes {
                bytes: self
                    .mail
                    .attachment(&message.account_id, &message.id, &attachment_id)
                    .await?,
                filename,
                content_type,
            },
        })
    }

    /// Writes an attachment into `dir` (Downloads for Save; the cache for Open) and
    /// returns its path. The cache is trimmed to its cap first.
    pub async fn save_attachment(
        &self,
        message: &MessageRef,
        index: u32,
        dir: Option<&std::path::Path>,
    ) -> Result<PathBuf, AppError> {
        let source = inbox::attachment(self.ctx.store.pool(), message, index).await?;
        let part = self.part_bytes(message, source).await?;
        let dir = match dir {
            Some(dir) => dir.to_owned(),
            None => {
                let cache = self.config.data_dir.join(crate::export::ATTACHMENT_CACHE);
                crate::export::trim_cache(&cache, part.bytes.len() as u64).await;
                cache
            }
        };
        crate::export::attachment(&part, &dir).await
    }

    /// Checks every connection now ("Sync now", or after a resume or network change):
    /// each account that is not waiting for the user is refreshed at once.
    pub fn check_now(&self) {
        self.keeper.check_now();
    }

    /// Pauses (or resumes) the background work for an account. A paused account is left
    /// alone: no refreshes, no notifications, until resumed.
    pub async fn set_paused(&self, account_id: &str, paused: bool) -> Result<(), AppError> {
        if self.tokens.set_paused(account_id, paused).await? {
            // Resuming: look at it now rather than at the next tick.
            self.keeper.wake();
        }
        Ok(())
    }

    pub fn keeper_stats(&self) -> &KeeperStats {
        self.tokens.stats()
    }

    /// The accounts' tokens, for whatever calls a provider.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// A fresh access token for the account, refreshing it first if it is due. Concurrent
    /// callers for one account share a single refresh.
    pub async fn access_token(&self, account_id: &str) -> Result<AccessToken, AppError> {
        Ok(self.tokens.access_token(account_id).await?)
    }

    /// Decides what to announce now, shows or withdraws it, and records it.
    pub async fn review_alerts(&self) -> Result<(), AppError> {
        self.alerts.review().await
    }

    pub async fn settings(&self) -> Result<Settings, AppError> {
        Ok(settings::load(self.ctx.store.pool()).await?)
    }

    pub async fn set_settings(&self, settings: Settings) -> Result<Settings, AppError> {
        if !(1..=24 * 60).contains(&settings.transient_alert_minutes) {
            return Err(AppError::new(
                ErrorCode::Validation,
                "Choose between 1 minute and 24 hours.",
            ));
        }
        if !settings::MAIL_MONTHS.contains(&settings.mail_months) {
            return Err(AppError::new(
                ErrorCode::Validation,
                "Choose how far back to keep mail from the list.",
            ));
        }
        let before = settings::load(self.ctx.store.pool()).await?;
        settings::save(self.ctx.store.writer(), &settings).await?;
        self.alerts.review_soon();
        if settings.mail_months != before.mail_months {
            // Further back: each account's mail sync fetches what the new depth adds.
            for account in self.ctx.store.list_accounts().await? {
                self.mail.ask(&account.id);
            }
            self.keeper.wake();
        }
        Ok(settings)
    }

    /// Whether the daily update check is due now (see [`crate::updates::check_due`]).
    pub async fn update_check_due(&self) -> Result<bool, AppError> {
        let last = settings::last_update_check(self.ctx.store.pool()).await?;
        Ok(crate::updates::check_due(last, self.ctx.clock.now()))
    }

    /// Records that Ferry asked for an update now.
    pub async fn update_checked(&self) -> Result<(), AppError> {
        let now = self.ctx.clock.now();
        Ok(settings::set_last_update_check(self.ctx.store.pool(), now).await?)
    }

    /// What happened to an account, oldest first.
    pub async fn timeline(&self, account_id: &str) -> Result<Vec<TimelineEntry>, AppError> {
        Ok(health::timeline(self.ctx.store.pool(), account_id).await?)
    }

    /// Writes an account's timeline as JSON into `dir`; returns the file's path.
    pub async fn export_timeline(
        &self,
        account_id: &str,
        dir: &std::path::Path,
    ) -> Result<String, AppError> {
        let account = self.account(account_id).await?;
        let entries = self.timeline(account_id).await?;
        crate::export::timeline(&account, &entries, self.ctx.clock.now(), dir).await
    }

    /// The report behind "Copy diagnostics": versions, system, keychain, each account's
    /// provider and health (no addresses), and the last log lines from `log_dir`, masked.
    pub async fn diagnostics(
        &self,
        machine: &crate::diagnostics::Machine,
        log_dir: &std::path::Path,
    ) -> Result<String, AppError> {
        use crate::diagnostics::{last_log_lines, report, Facts, LOG_LINES};
        let accounts = self.list_accounts().await?;
        let keychain = if self.ctx.vault.status().passphrase {
            "passphrase vault (no system keychain answered)".to_owned()
        } else {
            format!("system keychain ({})", crate::vault::KEYCHAIN_NAME)
        };
        let dir = log_dir.to_owned();
        let log = tokio::task::spawn_blocking(move || last_log_lines(&dir, LOG_LINES))
            .await
            .unwrap_or_default();
        Ok(report(&Facts {
            version: &self.config.version,
            profile: self.config.profile,
            sandbox: self.config.providers.uses_sandbox(),
            machine,
            keychain: &keychain,
            accounts: &accounts,
            log: &log,
            now: self.ctx.clock.now(),
        }))
    }

    /// Stops everything in order: the sign-in in progress, the keeper (its work in flight
    /// finishes and commits), the notifications, the events they raised, then the database.
    pub async fn shutdown(&self) {
        self.sign_in.cancel_active();
        self.keeper.shutdown().await;
        self.alerts.shutdown().await;
        self.hub.shutdown().await;
        self.ctx.store.close().await;
        tracing::info!("core stopped");
    }
}

//! [`Core`]: the one object the shell holds. Each UI command is a call on it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use secrecy::SecretString;
use serde::Serialize;

use crate::alerts::Notifier;
use crate::browser::SystemBrowser;
use crate::clock::Clock;
use crate::deeplink::{DeepLink, DeepLinkError};
use crate::error::AppError;
use crate::events::{CoreEvent, EventSink, Notice, NoticeLevel};
use crate::keeper::Keeper;
use crate::oauth::{Revocation, SignInFlows};
use crate::profile::Profile;
use crate::providers::ProviderSettings;
use crate::sign_in::ActiveSignIn;
use crate::store::health::HealthState;
use crate::store::signed_in;
use crate::store::{AccountView, Store, DATABASE_FILE};
use crate::vault::{KeyStore, Keychain, Vault, VaultStatus, PASSPHRASE_FILE};

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

pub struct Core {
    config: CoreConfig,
    pub(crate) store: Store,
    pub(crate) vault: Vault,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) events: Arc<dyn EventSink>,
    pub(crate) browser: Arc<dyn SystemBrowser>,
    pub(crate) flows: SignInFlows,
    pub(crate) active: Mutex<Option<ActiveSignIn>>,
    pub(crate) notifier: Arc<dyn Notifier>,
    pub(crate) keeper: Keeper,
    /// Whether the OS hands `ferry://` links to Ferry (else Microsoft uses loopback).
    deep_links: AtomicBool,
    /// Where background work runs. Captured at start, so work can be started from
    /// threads outside the runtime (the shell's main thread delivers links).
    pub(crate) runtime: tokio::runtime::Handle,
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
        Ok(Self {
            config,
            store,
            vault,
            clock: platform.clock,
            events: platform.events,
            browser: platform.browser,
            flows: SignInFlows::new(),
            active: Mutex::new(None),
            notifier: platform.notifier,
            keeper: Keeper::new(),
            deep_links: AtomicBool::new(cfg!(not(target_os = "linux"))),
            runtime: tokio::runtime::Handle::current(),
        })
    }

    /// The shell reports whether the OS will hand `ferry://` links to Ferry. On Linux
    /// that depends on registering a desktop handler at start, which can fail.
    pub fn set_deep_links_registered(&self, registered: bool) {
        self.deep_links.store(registered, Ordering::Relaxed);
    }

    pub(crate) fn deep_links_registered(&self) -> bool {
        self.deep_links.load(Ordering::Relaxed)
    }

    pub fn info(&self) -> AppInfo {
        self.config.info()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    pub fn providers(&self) -> &ProviderSettings {
        &self.config.providers
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub async fn list_accounts(&self) -> Result<Vec<AccountView>, AppError> {
        let mut accounts = self.store.list_accounts().await?;
        for account in &mut accounts {
            let state = account.health.state;
            let busy = matches!(state, HealthState::Healthy | HealthState::Retrying);
            if busy && self.keeper.is_working(&account.id) {
                account.health.state = HealthState::Working;
            }
        }
        Ok(accounts)
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
    pub fn open_link(self: &Arc<Self>, raw: &str) -> LinkOutcome {
        match DeepLink::parse(raw) {
            Err(err) => {
                tracing::warn!(reason = %err, "ignored deep link");
                LinkOutcome::Ignored(err)
            }
            Ok(link) => {
                tracing::info!(link = %link.describe(), "deep link received");
                match link {
                    DeepLink::OAuthCallback(callback) if self.sign_in_pending() => {
                        let core = Arc::clone(self);
                        self.runtime
                            .spawn(async move { core.complete(callback).await });
                        LinkOutcome::SignInResponse
                    }
                    DeepLink::OAuthCallback(callback) => {
                        self.no_sign_in_waiting(callback.provider);
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
        let root = self.vault.root().await?;
        let refresh = signed_in::remove(self.store.pool(), &root, account_id).await?;
        self.events.emit(CoreEvent::AccountsChanged);
        let revocation = match &refresh {
            Some(token) => self.flows.revoke(self.providers(), provider, token).await,
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
        self.events
            .emit(CoreEvent::Notice(Notice { level, message }));
    }

    /// Turns off the services `services` leaves out (turning one on needs a sign-in, with
    /// Reconnect). Grants stay as the provider gave them.
    pub async fn set_services(
        &self,
        account_id: &str,
        services: crate::oauth::ServiceChoice,
    ) -> Result<(), AppError> {
        if !self.store.keep_requested(account_id, &services).await? {
            return Err(AppError::account_gone());
        }
        self.events.emit(CoreEvent::AccountsChanged);
        Ok(())
    }

    pub fn vault_status(&self) -> VaultStatus {
        self.vault.status()
    }

    /// Unlocks the passphrase vault (computers without a keychain).
    pub async fn unlock_vault(&self, passphrase: SecretString) -> Result<VaultStatus, AppError> {
        self.vault.unlock(passphrase).await?;
        Ok(self.vault.status())
    }

    /// Chooses a passphrase to protect Ferry's key where no keychain exists.
    pub async fn create_passphrase_vault(
        &self,
        passphrase: SecretString,
    ) -> Result<VaultStatus, AppError> {
        self.vault.create_with_passphrase(passphrase).await?;
        Ok(self.vault.status())
    }

    /// Finishes outstanding work and closes the database.
    pub async fn shutdown(&self) {
        self.cancel_active();
        self.stop_keeper().await;
        self.store.close().await;
        tracing::info!("core stopped");
    }
}

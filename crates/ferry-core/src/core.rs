//! [`Core`]: the one object the shell holds. Each UI command is a call on it.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::clock::Clock;
use crate::deeplink::{DeepLink, DeepLinkError};
use crate::error::AppError;
use crate::events::{CoreEvent, EventSink, Notice, NoticeLevel};
use crate::profile::Profile;
use crate::providers::ProviderSettings;
use crate::store::{AccountView, Store, DATABASE_FILE};
use crate::vault::{KeyStore, Keychain, Vault};

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
}

pub struct Core {
    config: CoreConfig,
    store: Store,
    vault: Vault,
    clock: Arc<dyn Clock>,
    events: Arc<dyn EventSink>,
}

impl Core {
    /// Opens the database (migrating it) and wires the parts together.
    #[tracing::instrument(skip_all, fields(profile = %config.profile), err)]
    pub async fn start(
        config: CoreConfig,
        key_store: Arc<dyn KeyStore>,
        clock: Arc<dyn Clock>,
        events: Arc<dyn EventSink>,
    ) -> Result<Self, AppError> {
        let store = Store::open(&config.database_path()).await?;
        let vault = Vault::new(Keychain::new(key_store, &config.profile.identifier()));
        tracing::info!(version = %config.version, started_at = %clock.now(), "core started");
        Ok(Self {
            config,
            store,
            vault,
            clock,
            events,
        })
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
        Ok(self.store.list_accounts().await?)
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
                    DeepLink::OAuthCallback(callback) => {
                        self.events.emit(CoreEvent::Notice(Notice {
                            level: NoticeLevel::Warning,
                            message: format!(
                                "Ferry received a sign-in response from {}, but no sign-in \
                                 is in progress. To add an account, start again from Add \
                                 account.",
                                callback.provider
                            ),
                        }));
                        LinkOutcome::NoPendingSignIn
                    }
                }
            }
        }
    }

    /// Finishes outstanding work and closes the database.
    pub async fn shutdown(&self) {
        self.store.close().await;
        tracing::info!("core stopped");
    }
}

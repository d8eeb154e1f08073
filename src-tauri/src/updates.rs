//! Signed updates through Tauri's updater plugin. Ferry looks at most once a day (the
//! core decides when) or when asked in Settings; a newer version is downloaded and its
//! signature checked against the public key in `tauri.conf.json` before the window and
//! the tray say "Update ready"; it installs only when the user says so. A package that
//! does not verify is refused with a clear message, and the running version carries on.
//!
//! The endpoint comes from `plugins.updater.endpoints` (the release workflow sets it) or
//! `FERRY_UPDATE_ENDPOINT`; with neither, updates are off. Test runs may also replace the
//! public key (`FERRY_UPDATE_PUBKEY`), so a test can sign packages of its own.

use std::sync::Mutex;
use std::time::Duration;

use ferry_core::profile::Profile;
use ferry_core::updates::{unreachable, unverified, UpdateStatus};
use ferry_core::{AppError, ErrorCode};
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_updater::{Error as UpdaterError, Update, UpdaterExt};
use tauri_specta::Event;

use crate::Shell;

pub const ENDPOINT_ENV: &str = "FERRY_UPDATE_ENDPOINT";
pub const PUBKEY_ENV: &str = "FERRY_UPDATE_PUBKEY";

/// How often the background task asks the core whether the daily check is due.
const POLL: Duration = Duration::from_secs(60 * 60);

/// Where updates stand, for the window and the tray; managed by the app.
#[derive(Default)]
pub struct Updates {
    status: Mutex<Option<UpdateStatus>>,
    /// The verified package waiting for the user's word.
    ready: Mutex<Option<(Update, Vec<u8>)>>,
    /// A check or an install is running.
    busy: Mutex<bool>,
}

/// Sent to the window whenever the status changes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, specta::Type, tauri_specta::Event)]
pub struct UpdateEvent(pub UpdateStatus);

pub fn plugin(profile: Profile) -> tauri::plugin::TauriPlugin<Wry, tauri_plugin_updater::Config> {
    let mut builder = tauri_plugin_updater::Builder::new();
    if profile == Profile::Test {
        if let Ok(key) = std::env::var(PUBKEY_ENV) {
            builder = builder.pubkey(key);
        }
    }
    builder.build()
}

impl Updates {
    pub fn status(&self) -> UpdateStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or(UpdateStatus::Idle)
    }

    /// Whether a check or an install is running, or a verified package waits for the
    /// user's word (it lives in this process's memory).
    pub fn in_progress(&self) -> bool {
        *self.busy.lock().unwrap_or_else(|p| p.into_inner())
            || self
                .ready
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_some()
    }
}

fn set_status(app: &AppHandle, status: UpdateStatus) {
    if let Some(updates) = app.try_state::<Updates>() {
        *updates.status.lock().unwrap_or_else(|p| p.into_inner()) = Some(status.clone());
    }
    crate::tray::show_update(app, &status);
    if let Err(err) = UpdateEvent(status).emit(app) {
        tracing::warn!(%err, "could not tell the window about the update");
    }
}

/// Checks once a day in the background, for as long as Ferry runs.
pub fn start(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let due = match app.try_state::<Shell>().map(|s| s.core.clone()) {
                Some(Ok(core)) => core.update_check_due().await.unwrap_or(false),
                _ => false,
            };
            if due {
                check(&app).await;
            }
            tokio::time::sleep(POLL).await;
        }
    });
}

/// Looks for a newer version, and downloads and verifies it if there is one.
pub async fn check(app: &AppHandle) {
    let Some(updates) = app.try_state::<Updates>() else {
        return;
    };
    {
        let mut busy = updates.busy.lock().unwrap_or_else(|p| p.into_inner());
        if *busy {
            return;
        }
        *busy = true;
    }
    let outcome = look(app).await;
    *updates.busy.lock().unwrap_or_else(|p| p.into_inner()) = false;
    if let Some(Ok(core)) = app.try_state::<Shell>().map(|s| s.core.clone()) {
        if let Err(err) = core.update_checked().await {
            tracing::warn!(%err, "could not record the update check");
        }
    }
    set_status(app, outcome);
}

async fn look(app: &AppHandle) -> UpdateStatus {
    let mut builder = app.updater_builder();
    if let Some(endpoint) = std::env::var(ENDPOINT_ENV).ok().filter(|v| !v.is_empty()) {
        let parsed = url::Url::parse(&endpoint)
            .map_err(|e| e.to_string())
            .and_then(|url| builder.endpoints(vec![url]).map_err(|e| e.to_string()));
        match parsed {
            Ok(with_endpoint) => builder = with_endpoint,
            Err(err) => {
                tracing::warn!(%err, "the update endpoint is not usable");
                return UpdateStatus::Failed {
                    message: unreachable("the update address is not valid"),
                };
            }
        }
    }
    let updater = match builder.timeout(Duration::from_secs(60)).build() {
        Ok(updater) => updater,
        Err(UpdaterError::EmptyEndpoints) => {
            tracing::info!("no update endpoint configured; updates are off");
            return UpdateStatus::Idle;
        }
        Err(err) => {
            tracing::warn!(%err, "could not set up the updater");
            return UpdateStatus::Failed {
                message: unreachable(&err.to_string()),
            };
        }
    };
    set_status(app, UpdateStatus::Checking);
    let update = match updater.check().await {
        Ok(Some(update)) => update,
        Ok(None) => {
            tracing::info!("Ferry is up to date");
            return UpdateStatus::UpToDate {
                checked_at: chrono_now(app),
            };
        }
        Err(err) => {
            tracing::warn!(%err, "update check failed");
            return UpdateStatus::Failed {
                message: unreachable(&err.to_string()),
            };
        }
    };
    let version = update.version.clone();
    tracing::info!(%version, "a newer Ferry is available; downloading it");
    match update.download(|_, _| {}, || {}).await {
        Ok(bytes) => {
            tracing::info!(%version, bytes = bytes.len(), "update downloaded and its signature verified");
            let notes = update.body.clone();
            if let Some(updates) = app.try_state::<Updates>() {
                *updates.ready.lock().unwrap_or_else(|p| p.into_inner()) = Some((update, bytes));
            }
            UpdateStatus::Ready { version, notes }
        }
        Err(
            err @ (UpdaterError::Minisign(_)
            | UpdaterError::Base64(_)
            | UpdaterError::SignatureUtf8(_)
            | UpdaterError::SignedVersionMismatch { .. }
            | UpdaterError::MissingSignedVersion),
        ) => {
            tracing::warn!(%version, %err, "update refused: its signature does not verify");
            UpdateStatus::Failed {
                message: unverified(&version, &update.current_version),
            }
        }
        Err(err) => {
            tracing::warn!(%version, %err, "update download failed");
            UpdateStatus::Failed {
                message: unreachable(&err.to_string()),
            }
        }
    }
}

fn chrono_now(app: &AppHandle) -> chrono::DateTime<chrono::Utc> {
    match app.try_state::<Shell>().map(|s| s.core.clone()) {
        Some(Ok(core)) => core.clock().now(),
        #[allow(clippy::disallowed_methods)] // no core to ask: the system clock
        _ => chrono::Utc::now(),
    }
}

/// Installs the verified update (on the user's word) and restarts Ferry into it.
pub async fn install(app: &AppHandle) -> Result<(), AppError> {
    let pending = app
        .try_state::<Updates>()
        .and_then(|u| u.ready.lock().unwrap_or_else(|p| p.into_inner()).take());
    let Some((update, bytes)) = pending else {
        return Err(AppError::new(
            ErrorCode::Validation,
            "There is no update ready to install.",
        ));
    };
    let version = update.version.clone();
    set_status(
        app,
        UpdateStatus::Installing {
            version: version.clone(),
        },
    );
    let result = tauri::async_runtime::spawn_blocking(move || update.install(bytes))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    match result {
        Ok(()) => {
            tracing::info!(%version, "update installed; restarting");
            app.restart();
        }
        Err(err) => {
            tracing::warn!(%version, %err, "update install failed");
            let message = format!(
                "Ferry {version} could not be installed ({err}). You are still on the current \
                 version, which keeps working."
            );
            set_status(
                app,
                UpdateStatus::Failed {
                    message: message.clone(),
                },
            );
            Err(AppError::new(ErrorCode::Internal, message))
        }
    }
}

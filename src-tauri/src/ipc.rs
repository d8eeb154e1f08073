//! The typed contract with the UI. Every command and event is listed in
//! [`specta_builder`], which both serves them and generates `ui/src/bindings.ts`.

use std::sync::Mutex;

use ferry_core::events::{CoreEvent, EventSink, Notice, Progress, SignInUpdate};
use ferry_core::inbox::{
    MailFilter, MailList, MailListRequest, MessageRef, MessageSummary, MessageView,
};
use ferry_core::oauth::ServiceChoice;
use ferry_core::services::Service;
use ferry_core::sign_in::{SignInRequest, SignInStarted};
use ferry_core::store::health::TimelineEntry;
use ferry_core::store::settings::Settings;
use ferry_core::sync::{MailStatus, SyncRunView};
use ferry_core::updates::UpdateStatus;
use ferry_core::vault::VaultStatus;
use ferry_core::views::AccountView;
use ferry_core::{AppError, AppInfo, Removed};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, State};
use tauri_specta::{collect_commands, collect_events, Event};

use crate::Shell;

/// The first thing the UI asks: who am I, and did the core start?
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub info: AppInfo,
    /// Why Ferry could not start (for example a database from a newer Ferry).
    pub startup_error: Option<AppError>,
}

#[tauri::command]
#[specta::specta]
fn app_status(shell: State<'_, Shell>) -> AppStatus {
    AppStatus {
        info: shell.info.clone(),
        startup_error: shell.core.as_ref().err().cloned(),
    }
}

#[tauri::command]
#[specta::specta]
async fn list_accounts(shell: State<'_, Shell>) -> Result<Vec<AccountView>, AppError> {
    shell.core()?.list_accounts().await
}

/// Add account (or Reconnect): opens the provider's sign-in page in the system browser.
/// Progress arrives as `SignInEvent`s for the returned flow id.
#[tauri::command]
#[specta::specta]
async fn begin_sign_in(
    shell: State<'_, Shell>,
    request: SignInRequest,
) -> Result<SignInStarted, AppError> {
    shell.core()?.begin_sign_in(request).await
}

/// Cancel in the dialog. False when that sign-in had already ended.
#[tauri::command]
#[specta::specta]
fn cancel_sign_in(shell: State<'_, Shell>, flow_id: String) -> Result<bool, AppError> {
    Ok(shell.core()?.cancel_sign_in(&flow_id))
}

/// Revokes Ferry's access where the provider allows it, and deletes the account's data.
#[tauri::command]
#[specta::specta]
async fn remove_account(shell: State<'_, Shell>, account_id: String) -> Result<Removed, AppError> {
    shell.core()?.remove_account(&account_id).await
}

/// Turns off the services `services` leaves out.
#[tauri::command]
#[specta::specta]
async fn set_services(
    shell: State<'_, Shell>,
    account_id: String,
    services: ServiceChoice,
) -> Result<(), AppError> {
    shell.core()?.set_services(&account_id, services).await
}

/// "Sync now": checks every connection at once.
#[tauri::command]
#[specta::specta]
fn check_now(shell: State<'_, Shell>) -> Result<(), AppError> {
    shell.core()?.check_now();
    Ok(())
}

/// Pauses or resumes the background work for an account.
#[tauri::command]
#[specta::specta]
async fn set_paused(
    shell: State<'_, Shell>,
    account_id: String,
    paused: bool,
) -> Result<(), AppError> {
    shell.core()?.set_paused(&account_id, paused).await
}

/// What happened to an account, oldest first.
#[tauri::command]
#[specta::specta]
async fn account_timeline(
    shell: State<'_, Shell>,
    account_id: String,
) -> Result<Vec<TimelineEntry>, AppError> {
    shell.core()?.timeline(&account_id).await
}

/// Saves an account's timeline as JSON in the Downloads folder; returns the file's path.
#[tauri::command]
#[specta::specta]
async fn export_timeline(
    app: AppHandle,
    shell: State<'_, Shell>,
    account_id: String,
) -> Result<String, AppError> {
    let dir = downloads(&app)?;
    shell.core()?.export_timeline(&account_id, &dir).await
}

/// A page of the unified inbox, or of a search.
#[tauri::command]
#[specta::specta]
async fn list_mail(
    shell: State<'_, Shell>,
    request: MailListRequest,
) -> Result<MailList, AppError> {
    shell.core()?.mail_list(&request).await
}

/// Where each account's mail sync stands (the inbox's progress line).
#[tauri::command]
#[specta::specta]
async fn mail_status(shell: State<'_, Shell>) -> Result<Vec<MailStatus>, AppError> {
    shell.core()?.mail_status().await
}

/// An account's sync log, newest first.
#[tauri::command]
#[specta::specta]
async fn sync_log(
    shell: State<'_, Shell>,
    account_id: String,
) -> Result<Vec<SyncRunView>, AppError> {
    shell.core()?.sync_log(&account_id).await
}

/// Pauses or resumes one service's sync for an account (the dashboard).
#[tauri::command]
#[specta::specta]
async fn set_service_paused(
    shell: State<'_, Shell>,
    account_id: String,
    service: Service,
    paused: bool,
) -> Result<(), AppError> {
    shell
        .core()?
        .set_service_paused(&account_id, service, paused)
        .await
}

/// Syncs one service of an account now (the dashboard).
#[tauri::command]
#[specta::specta]
async fn sync_service_now(
    shell: State<'_, Shell>,
    account_id: String,
    service: Service,
) -> Result<(), AppError> {
    shell.core()?.sync_service_now(&account_id, service).await
}

/// The user's answer to a held sync round: remove what the provider removed, or keep
/// Ferry's copies.
#[tauri::command]
#[specta::specta]
async fn decide_removals(
    shell: State<'_, Shell>,
    account_id: String,
    service: Service,
    remove: bool,
) -> Result<(), AppError> {
    shell
        .core()?
        .decide_removals(&account_id, service, remove)
        .await
}

/// A message's conversation, oldest first.
#[tauri::command]
#[specta::specta]
async fn mail_conversation(
    shell: State<'_, Shell>,
    account_id: String,
    thread_id: String,
) -> Result<Vec<MessageSummary>, AppError> {
    shell
        .core()?
        .mail_conversation(&account_id, &thread_id)
        .await
}

/// A message for the reading pane; remote images only once the user allowed them.
#[tauri::command]
#[specta::specta]
async fn read_message(
    shell: State<'_, Shell>,
    message: MessageRef,
    allow_remote: bool,
) -> Result<MessageView, AppError> {
    shell.core()?.read_message(&message, allow_remote).await
}

/// Opens an attachment with the system's app for its type (from Ferry's cache).
#[tauri::command]
#[specta::specta]
async fn open_attachment(
    app: AppHandle,
    shell: State<'_, Shell>,
    message: MessageRef,
    index: u32,
) -> Result<(), AppError> {
    use tauri_plugin_opener::OpenerExt;
    let path = shell.core()?.save_attachment(&message, index, None).await?;
    app.opener()
        .open_path(path.display().to_string(), None::<&str>)
        .map_err(|e| {
            AppError::new(
                ferry_core::ErrorCode::Internal,
                format!("No app could open the attachment: {e}."),
            )
        })
}

/// Saves an attachment in the Downloads folder; returns the file's path.
#[tauri::command]
#[specta::specta]
async fn save_attachment(
    app: AppHandle,
    shell: State<'_, Shell>,
    message: MessageRef,
    index: u32,
) -> Result<String, AppError> {
    let dir = downloads(&app)?;
    let path = shell
        .core()?
        .save_attachment(&message, index, Some(&dir))
        .await?;
    Ok(path.display().to_string())
}

/// Saves a message as an `.eml` file in Downloads; returns the file's path.
#[tauri::command]
#[specta::specta]
async fn export_message(
    app: AppHandle,
    shell: State<'_, Shell>,
    message: MessageRef,
) -> Result<String, AppError> {
    let dir = downloads(&app)?;
    let path = shell.core()?.export_message(&message, &dir).await?;
    Ok(path.display().to_string())
}

/// What "Export as mbox" wrote.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct MboxExport {
    pub path: String,
    pub messages: u32,
}

/// Saves every message the filter shows as one mbox file in Downloads.
#[tauri::command]
#[specta::specta]
async fn export_mbox(
    app: AppHandle,
    shell: State<'_, Shell>,
    filter: MailFilter,
) -> Result<MboxExport, AppError> {
    let dir = downloads(&app)?;
    let (path, messages) = shell.core()?.export_mbox(&filter, &dir).await?;
    Ok(MboxExport {
        path: path.display().to_string(),
        messages,
    })
}

fn downloads(app: &AppHandle) -> Result<std::path::PathBuf, AppError> {
    use tauri::Manager;
    app.path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| AppError::new(ferry_core::ErrorCode::Internal, e.to_string()))
}

/// What "Copy diagnostics" produced.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostics {
    /// Versions, system, keychain, each account's provider and health, and the last log
    /// lines; no address and no secret.
    pub text: String,
    /// Whether it is on the clipboard; if not, the UI shows it for the user to copy.
    pub copied: bool,
}

/// "Copy diagnostics" in Settings: builds the report and puts it on the clipboard.
#[tauri::command]
#[specta::specta]
async fn copy_diagnostics(
    app: AppHandle,
    shell: State<'_, Shell>,
) -> Result<Diagnostics, AppError> {
    use tauri::Manager;
    use tauri_plugin_clipboard_manager::ClipboardExt;
    let log_dir = app.path().app_log_dir().map_err(|e| {
        AppError::new(
            ferry_core::ErrorCode::Internal,
            format!("Ferry could not find its log folder: {e}."),
        )
    })?;
    let text = shell
        .core()?
        .diagnostics(&crate::diagnostics::machine(), &log_dir)
        .await?;
    let copied = match app.clipboard().write_text(text.clone()) {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(%err, "could not put the diagnostics on the clipboard");
            false
        }
    };
    tracing::info!(copied, lines = text.lines().count(), "diagnostics prepared");
    Ok(Diagnostics { text, copied })
}

/// Where updates stand (the window asks once, then follows `UpdateEvent`).
#[tauri::command]
#[specta::specta]
fn update_status(updates: State<'_, crate::updates::Updates>) -> UpdateStatus {
    updates.status()
}

/// "Check for updates" in Settings: looks now, whatever the daily schedule says. The
/// outcome arrives as an `UpdateEvent`.
#[tauri::command]
#[specta::specta]
fn check_for_updates(app: AppHandle) {
    tauri::async_runtime::spawn(async move { crate::updates::check(&app).await });
}

/// Installs the downloaded, verified update and restarts Ferry into it.
#[tauri::command]
#[specta::specta]
async fn install_update(app: AppHandle) -> Result<(), AppError> {
    crate::updates::install(&app).await
}

#[tauri::command]
#[specta::specta]
async fn get_settings(shell: State<'_, Shell>) -> Result<Settings, AppError> {
    shell.core()?.settings().await
}

#[tauri::command]
#[specta::specta]
async fn set_settings(
    app: AppHandle,
    shell: State<'_, Shell>,
    settings: Settings,
) -> Result<Settings, AppError> {
    crate::autostart::apply(&app, settings.launch_at_login)?;
    shell.core()?.set_settings(settings).await
}

/// Whether a passphrase protects Ferry's key (no system keychain), and if it is unlocked.
#[tauri::command]
#[specta::specta]
fn vault_status(shell: State<'_, Shell>) -> Result<VaultStatus, AppError> {
    Ok(shell.core()?.vault_status())
}

/// Unlocks the passphrase vault.
#[tauri::command]
#[specta::specta]
async fn unlock_vault(
    shell: State<'_, Shell>,
    passphrase: String,
) -> Result<VaultStatus, AppError> {
    shell
        .core()?
        .unlock_vault(SecretString::from(passphrase))
        .await
}

/// Protects Ferry's key with a passphrase, where no system keychain exists.
#[tauri::command]
#[specta::specta]
async fn create_passphrase_vault(
    shell: State<'_, Shell>,
    passphrase: String,
) -> Result<VaultStatus, AppError> {
    shell
        .core()?
        .create_passphrase_vault(SecretString::from(passphrase))
        .await
}

/// The UI calls this once it listens for events and its first screen is painted. Held
/// events are delivered, and the start-up time goes to the log, where the footprint
/// benchmark reads it.
#[tauri::command]
#[specta::specta]
fn ui_ready(shell: State<'_, Shell>) -> Result<(), AppError> {
    shell.sink.release();
    let core = shell.core()?;
    let since_start = shell.started.elapsed();
    tracing::info!(
        since_start_ms = since_start.as_millis() as u64,
        unix_ms = core.clock().now().timestamp_millis(),
        "first paint"
    );
    Ok(())
}

/// A short message for the user, shown as a toast.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct NoticeEvent(pub Notice);

/// These accounts changed (each id once per burst); the UI reloads what it shows of them.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct AccountsChangedEvent(pub Vec<String>);

/// These accounts' mail changed; the inbox and the dashboard reload what they show.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct MailChangedEvent(pub Vec<String>);

/// Long work moved on ("Sync now" checking connections).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ProgressEvent(pub Progress);

/// A sign-in moved on.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct SignInEvent(pub SignInUpdate);

/// Reconnect was chosen from a notification or the tray; the UI opens the sign-in for
/// this account id.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ReconnectRequestedEvent(pub String);

/// Review was chosen from a notification or the tray for this account's held sync; the
/// UI shows the Status screen.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct ReviewRequestedEvent(pub String);

pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            app_status,
            list_accounts,
            begin_sign_in,
            cancel_sign_in,
            remove_account,
            set_services,
            check_now,
            set_paused,
            account_timeline,
            export_timeline,
            list_mail,
            mail_status,
            sync_log,
            set_service_paused,
            decide_removals,
            sync_service_now,
            mail_conversation,
            read_message,
            open_attachment,
            save_attachment,
            export_message,
            export_mbox,
            copy_diagnostics,
            update_status,
            check_for_updates,
            install_update,
            get_settings,
            set_settings,
            vault_status,
            unlock_vault,
            create_passphrase_vault,
            ui_ready
        ])
        .events(collect_events![
            NoticeEvent,
            AccountsChangedEvent,
            MailChangedEvent,
            ProgressEvent,
            crate::updates::UpdateEvent,
            SignInEvent,
            ReconnectRequestedEvent,
            ReviewRequestedEvent
        ])
}

/// Events raised while no window listens are kept for the next one, up to this many.
const MAX_HELD: usize = 20;

/// Forwards core events to the webview, and attention changes to the tray (nothing else
/// reaches the tray). While no UI listens (before `ui_ready`, or with the window closed)
/// notices and reconnect and review requests are held for the next window; other events are dropped,
/// since a new window loads fresh state anyway.
pub struct TauriSink {
    app: AppHandle,
    held: Mutex<Option<Vec<CoreEvent>>>,
}

impl TauriSink {
    pub fn new(app: AppHandle) -> Self {
        Self {
            app,
            held: Mutex::new(Some(Vec::new())),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Option<Vec<CoreEvent>>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The UI is listening: deliver what was held and stop holding.
    pub fn release(&self) {
        let held = self.held().take();
        for event in held.into_iter().flatten() {
            self.deliver(event);
        }
    }

    /// Whether notices wait for the next window.
    pub fn holds_notices(&self) -> bool {
        self.held().as_ref().is_some_and(|held| !held.is_empty())
    }

    /// No UI is listening any more (the window closed).
    pub fn hold(&self) {
        self.held().get_or_insert_with(Vec::new);
    }

    fn deliver(&self, event: CoreEvent) {
        let result = match event {
            CoreEvent::Notice(notice) => NoticeEvent(notice).emit(&self.app),
            CoreEvent::AccountsChanged(ids) => AccountsChangedEvent(ids).emit(&self.app),
            CoreEvent::MailChanged(ids) => MailChangedEvent(ids).emit(&self.app),
            CoreEvent::Progress(progress) => ProgressEvent(progress).emit(&self.app),
            // The tray's alone; see `emit`.
            CoreEvent::AttentionChanged(_) => Ok(()),
            CoreEvent::SignIn(update) => SignInEvent(update).emit(&self.app),
            CoreEvent::ReconnectRequested(id) => ReconnectRequestedEvent(id).emit(&self.app),
            CoreEvent::ReviewRequested(id) => ReviewRequestedEvent(id).emit(&self.app),
        };
        if let Err(err) = result {
            tracing::warn!(%err, "could not deliver an event to the UI");
        }
    }
}

impl EventSink for TauriSink {
    fn emit(&self, event: CoreEvent) {
        if let CoreEvent::AttentionChanged(attention) = event {
            crate::tray::show(&self.app, attention);
            return;
        }
        if let Some(held) = self.held().as_mut() {
            if matches!(
                event,
                CoreEvent::Notice(_)
                    | CoreEvent::ReconnectRequested(_)
                    | CoreEvent::ReviewRequested(_)
            ) {
                if held.len() == MAX_HELD {
                    held.remove(0);
                }
                held.push(event);
            }
            return;
        }
        self.deliver(event);
    }
}

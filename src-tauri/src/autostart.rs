//! Launch at login, through the autostart plugin: Ferry starts hidden, in the tray.

use ferry_core::{AppError, ErrorCode};
use tauri::AppHandle;
use tauri_plugin_autostart::ManagerExt;

pub fn plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri_plugin_autostart::init(
        tauri_plugin_autostart::MacosLauncher::LaunchAgent,
        Some(vec![crate::window::HIDDEN_FLAG]),
    )
}

/// Makes the OS's launch-at-login entry match the setting.
pub fn apply(app: &AppHandle, enabled: bool) -> Result<(), AppError> {
    let launcher = app.autolaunch();
    let now = launcher.is_enabled().unwrap_or(false);
    let result = match (enabled, now) {
        (true, false) => launcher.enable(),
        (false, true) => launcher.disable(),
        _ => Ok(()),
    };
    result.map_err(|err| {
        AppError::new(
            ErrorCode::Internal,
            format!("Ferry could not change its launch-at-login setting: {err}."),
        )
    })
}

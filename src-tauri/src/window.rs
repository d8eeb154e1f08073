//! The main window. Closing it hides Ferry to the tray.

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder, WindowEvent};

pub const MAIN: &str = "main";

pub fn create_main(app: &AppHandle) -> tauri::Result<()> {
    let window = WebviewWindowBuilder::new(app, MAIN, WebviewUrl::App("index.html".into()))
        .title("Ferry")
        .inner_size(960.0, 680.0)
        .min_inner_size(640.0, 480.0)
        .build()?;
    let hidden = window.clone();
    window.on_window_event(move |event| {
        if let WindowEvent::CloseRequested { api, .. } = event {
            api.prevent_close();
            if let Err(err) = hidden.hide() {
                tracing::warn!(%err, "could not hide the main window");
            }
        }
    });
    Ok(())
}

/// Shows, unminimises and focuses the main window.
pub fn show_main(app: &AppHandle) {
    let Some(window) = app.get_webview_window(MAIN) else {
        tracing::warn!("main window is gone");
        return;
    };
    let result = window
        .show()
        .and_then(|()| window.unminimize())
        .and_then(|()| window.set_focus());
    if let Err(err) = result {
        tracing::warn!(%err, "could not show the main window");
    }
}

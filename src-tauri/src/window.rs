//! The main window. Ferry lives in the tray: closing the window destroys it (and its
//! WebKit web process, most of Ferry's memory), and Open Ferry builds it again.

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindow, WebviewWindowBuilder, WindowEvent};

use crate::Shell;

pub const MAIN: &str = "main";

/// Start in the tray without a window (used when launched at login).
pub const HIDDEN_FLAG: &str = "--hidden";

pub fn create_main(app: &AppHandle) -> tauri::Result<WebviewWindow> {
    let window = WebviewWindowBuilder::new(app, MAIN, WebviewUrl::App("index.html".into()))
        .title("Ferry")
        .inner_size(960.0, 680.0)
        // Narrow enough for a phone-sized column beside other windows (the layout holds at 360 px).
        .min_inner_size(360.0, 400.0)
        .build()?;
    tune_webview(&window);
    let handle = app.clone();
    window.on_window_event(move |event| {
        if let WindowEvent::Destroyed = event {
            tracing::info!("main window closed; Ferry keeps running in the tray");
            // Notices raised while no window is open wait for the next one.
            if let Some(shell) = handle.try_state::<Shell>() {
                shell.sink.hold();
            }
            crate::slim::window_closed(&handle);
        }
    });
    Ok(window)
}

/// Shows the main window, building it if it was closed, and brings it to the front.
pub fn show_main(app: &AppHandle) {
    let window = if let Some(window) = app.get_webview_window(MAIN) {
        window
    } else {
        log_opening(app);
        match create_main(app) {
            Ok(window) => window,
            Err(err) => {
                tracing::error!(%err, "could not open the main window");
                return;
            }
        }
    };
    let result = window
        .show()
        .and_then(|()| window.unminimize())
        .and_then(|()| window.set_focus());
    if let Err(err) = result {
        tracing::warn!(%err, "could not bring the main window to the front");
    }
}

/// Notes when a new window was asked for; the footprint benchmark reads the time from
/// here to the first paint.
fn log_opening(app: &AppHandle) {
    if let Some(Ok(core)) = app.try_state::<Shell>().map(|shell| shell.core.clone()) {
        tracing::info!(
            unix_ms = core.clock().now().timestamp_millis(),
            "opening the main window"
        );
    }
}

/// Ferry's UI is one local document of lists and dialogs: it needs neither GPU
/// compositing nor WebGL nor a browser-sized cache. Turning them off keeps a tray app's
/// memory down, and avoids WebKitGTK's compositing bugs (blank windows) on some GPUs.
#[cfg(target_os = "linux")]
fn tune_webview(window: &WebviewWindow) {
    let result = window.with_webview(|webview| {
        use webkit2gtk::{
            CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt,
        };
        let view = webview.inner();
        if let Some(settings) = WebViewExt::settings(&view) {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            settings.set_enable_webgl(false);
            settings.set_enable_page_cache(false);
        }
        if let Some(context) = view.context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
    });
    if let Err(err) = result {
        tracing::warn!(%err, "could not tune the webview");
    }
}

#[cfg(not(target_os = "linux"))]
fn tune_webview(_window: &WebviewWindow) {}

//! SIGTERM (logout, shutdown, `kill`) and SIGINT (Ctrl+C in a terminal) quit Ferry the
//! same way the tray's Quit does, so the core shuts down cleanly.

use tauri::AppHandle;

#[cfg(unix)]
pub fn quit_on_terminate(app: &AppHandle) {
    use tokio::signal::unix::{signal, SignalKind};

    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let (mut term, mut int) = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(term), Ok(int)) => (term, int),
            (Err(err), _) | (_, Err(err)) => {
                tracing::warn!(%err, "cannot listen for termination signals");
                return;
            }
        };
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "quitting on signal");
        app.exit(0);
    });
}

#[cfg(not(unix))]
pub fn quit_on_terminate(_app: &AppHandle) {}

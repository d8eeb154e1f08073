//! Giving a closed window's memory back: a while after the window closes, Ferry starts a
//! fresh copy of itself in the tray and quits (Linux only; `ferry_core::slim` says why
//! and decides when). The copy waits for this process to be gone before it starts.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferry_core::slim::{self, Holdup, Step};
use tauri::{AppHandle, Manager};

use crate::{updates::Updates, window, Shell};

/// Counts window closes: only the timer of the latest close may restart.
#[derive(Default)]
pub struct Slim {
    closes: AtomicU64,
}

/// Who this process replaced, and how the handover went; for the log once it exists.
pub struct Handover {
    pub predecessor: u32,
    pub gone: bool,
    pub waited: Duration,
}

/// At the very start of a fresh copy: waits until the Ferry it replaces has quit, so the
/// single-instance lock and the tray are free. Returns `None` for an ordinary start.
pub fn await_predecessor() -> Option<Handover> {
    let value = std::env::var(slim::REPLACES_ENV).ok();
    // Programs Ferry starts must not inherit it.
    std::env::remove_var(slim::REPLACES_ENV);
    let predecessor = slim::predecessor(value.as_deref(), std::process::id())?;
    let started = Instant::now();
    let gone = slim::wait_until_gone(predecessor, slim::HANDOVER_LIMIT, slim::running);
    Some(Handover {
        predecessor,
        gone,
        waited: started.elapsed(),
    })
}

/// The main window has just closed: restart in the tray once it has stayed closed for the
/// configured time and nothing holds the restart back.
pub fn window_closed(app: &AppHandle) {
    if !cfg!(target_os = "linux") {
        // WebView2 and WKWebView keep their pages in processes that go with the window.
        return;
    }
    let Some(after) = slim::after(std::env::var(slim::AFTER_ENV).ok().as_deref()) else {
        return;
    };
    let Some(state) = app.try_state::<Slim>() else {
        return;
    };
    let this_close = state.closes.fetch_add(1, Ordering::SeqCst) + 1;
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(after).await;
        let mut logged = None;
        loop {
            if app.state::<Slim>().closes.load(Ordering::SeqCst) != this_close {
                return; // the window opened and closed again; that close's timer decides
            }
            match slim::step(&holdups(&app)) {
                Step::Cancel => return,
                Step::Restart => {
                    restart(&app);
                    return;
                }
                Step::Wait(holdup) => {
                    if logged != Some(holdup) {
                        tracing::info!(reason = holdup.reason(), "restart in the tray held back");
                        logged = Some(holdup);
                    }
                }
            }
            tokio::time::sleep(slim::RETRY).await;
        }
    });
}

fn holdups(app: &AppHandle) -> Vec<Holdup> {
    let mut found = Vec::new();
    if app.get_webview_window(window::MAIN).is_some() {
        found.push(Holdup::Window);
    }
    if let Some(shell) = app.try_state::<Shell>() {
        if shell.core.as_ref().is_ok_and(|core| core.sign_in_pending()) {
            found.push(Holdup::SignIn);
        }
        if shell.notifier.waiting() {
            found.push(Holdup::Notification);
        }
        if shell.sink.holds_notices() {
            found.push(Holdup::Notice);
        }
    }
    if app
        .try_state::<Updates>()
        .is_some_and(|updates| updates.in_progress())
    {
        found.push(Holdup::Update);
    }
    found
}

fn restart(app: &AppHandle) {
    // After a package upgrade the running binary is gone from disk; then this one stays.
    let started = std::env::current_exe().and_then(|program| {
        Command::new(program)
            .arg(window::HIDDEN_FLAG)
            .env(slim::REPLACES_ENV, std::process::id().to_string())
            .stdin(Stdio::null())
            .spawn()
    });
    match started {
        Ok(successor) => {
            tracing::info!(
                successor = successor.id(),
                "restarting in the tray to give back the closed window's memory"
            );
            app.exit(0);
        }
        Err(err) => {
            tracing::warn!(%err, "could not start a fresh Ferry in the tray; this one stays");
        }
    }
}

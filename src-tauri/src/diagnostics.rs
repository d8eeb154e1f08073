//! Support: what the shell knows about the machine for "Copy diagnostics", and the panic
//! hook. A panic anywhere is written to the log with a backtrace and the user is told
//! once; the core restarts the background actor it hit (see `ferry_core`'s actor module).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_core::diagnostics::Machine;
use ferry_core::events::{CoreEvent, EventSink, Notice, NoticeLevel};

use crate::ipc::TauriSink;

/// At most one notice about internal errors this often, however many panics there are.
const NOTICE_EVERY: Duration = Duration::from_secs(60);

pub fn machine() -> Machine {
    Machine {
        os: os_name(),
        desktop: ["XDG_CURRENT_DESKTOP", "DESKTOP_SESSION"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty())),
        webview: tauri::webview_version().ok(),
        shell: tauri::VERSION.to_owned(),
    }
}

/// "Debian GNU/Linux 12 (bookworm)" from os-release on Linux; the platform's name elsewhere.
fn os_name() -> String {
    #[cfg(target_os = "linux")]
    if let Ok(text) = std::fs::read_to_string("/etc/os-release") {
        if let Some(name) = text.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")) {
            return name.trim_matches('"').to_owned();
        }
    }
    match std::env::consts::OS {
        "macos" => "macOS".to_owned(),
        "windows" => "Windows".to_owned(),
        other => other.to_owned(),
    }
}

/// Logs every panic with its backtrace and tells the user (once a minute at most), on top
/// of the default hook's message on stderr.
pub fn install_panic_hook(sink: Arc<TauriSink>) {
    let default = std::panic::take_hook();
    let last_notice: Mutex<Option<Instant>> = Mutex::new(None);
    std::panic::set_hook(Box::new(move |info| {
        let backtrace = std::backtrace::Backtrace::force_capture();
        tracing::error!(panic = %info, %backtrace, "internal error (panic)");
        let due = {
            let mut last = last_notice.lock().unwrap_or_else(|p| p.into_inner());
            let due = last.is_none_or(|at| at.elapsed() >= NOTICE_EVERY);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if due {
            // From another thread: the panicking one may hold the sink's lock.
            let sink = Arc::clone(&sink);
            std::thread::spawn(move || {
                sink.emit(CoreEvent::Notice(Notice {
                    level: NoticeLevel::Error,
                    message: "Something went wrong inside Ferry. It was written to the log, \
                              and Ferry is restarting its background work. If it happens again, \
                              use Copy diagnostics in Settings and send it to support."
                        .to_owned(),
                }));
            });
        }
        default(info);
    }));
}

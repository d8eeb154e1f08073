//! Desktop notifications through notify-rust (the freedesktop notification service on
//! Linux). Ferry's core decides what to announce; this shows it, offers Reconnect where
//! the platform has actions, and withdraws it when asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ferry_core::alerts::{Alert, Notifier};
use tauri::AppHandle;

use crate::ipc::TauriSink;

#[cfg(all(unix, not(target_os = "macos")))]
type Handle = notify_rust::NotificationHandle;
#[cfg(not(all(unix, not(target_os = "macos"))))]
type Handle = ();

pub struct DesktopNotifier {
    app: AppHandle,
    sink: Arc<TauriSink>,
    /// Notifications on screen, by alert key, until answered, dismissed or withdrawn.
    shown: Arc<Mutex<HashMap<String, Handle>>>,
}

impl DesktopNotifier {
    pub fn new(app: AppHandle, sink: Arc<TauriSink>) -> Self {
        Self {
            app,
            sink,
            shown: Arc::default(),
        }
    }

    fn shown(&self) -> std::sync::MutexGuard<'_, HashMap<String, Handle>> {
        self.shown.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a notification on screen waits for a click that only this process hears.
    pub fn waiting(&self) -> bool {
        !self.shown().is_empty()
    }
}

const RECONNECT: &str = "reconnect";
const OPEN: &str = "default";

impl Notifier for DesktopNotifier {
    fn show(&self, alert: &Alert) -> Result<(), String> {
        let mut notification = notify_rust::Notification::new();
        notification
            .appname("Ferry")
            .summary(&alert.title)
            .body(&alert.body)
            .icon("dev.ferry.desktop");
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            notification.action(OPEN, "Open Ferry");
            if alert.reconnect.is_some() {
                notification.action(RECONNECT, "Reconnect");
            }
            // Stays until acted on or withdrawn: it is about something that needs the user.
            notification.timeout(notify_rust::Timeout::Never);
        }
        let handle = notification.show().map_err(|e| e.to_string())?;
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            let id = handle.id();
            if let Some(old) = self.shown().insert(alert.key.clone(), handle) {
                old.close();
            }
            let app = self.app.clone();
            let sink = Arc::clone(&self.sink);
            let shown = Arc::clone(&self.shown);
            let key = alert.key.clone();
            let account = alert.reconnect.clone();
            let review = alert.review_of().map(str::to_owned);
            // Waits for a click on this notification's actions, on a thread of its own
            // (the call blocks until an action or until the notification closes).
            std::thread::spawn(move || {
                let _ = notify_rust::handle_action(id, move |action| {
                    let chosen = match action {
                        notify_rust::ActionResponse::Custom(name) => *name,
                        notify_rust::ActionResponse::Closed(_) => return,
                    };
                    on_action(&app, &sink, chosen, account.as_deref(), review.as_deref());
                });
                // Answered or dismissed: it no longer waits for this process. (A newer
                // notification under the same key has its own id and stays.)
                let mut shown = shown.lock().unwrap_or_else(|p| p.into_inner());
                if shown.get(&key).is_some_and(|h| h.id() == id) {
                    shown.remove(&key);
                }
            });
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        {
            let _ = handle;
            let _ = (&self.app, &self.sink, RECONNECT, OPEN);
        }
        Ok(())
    }

    fn withdraw(&self, key: &str) {
        let handle = self.shown().remove(key);
        #[cfg(all(unix, not(target_os = "macos")))]
        if let Some(handle) = handle {
            handle.close();
            tracing::info!(key, "notification withdrawn");
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let _ = handle;
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
fn on_action(
    app: &AppHandle,
    sink: &TauriSink,
    action: &str,
    account: Option<&str>,
    review: Option<&str>,
) {
    use ferry_core::events::{CoreEvent, EventSink};

    use crate::window;
    tracing::info!(action, "notification action");
    window::show_main(app);
    match (action, account, review) {
        (RECONNECT, Some(account), _) => {
            sink.emit(CoreEvent::ReconnectRequested(account.to_owned()))
        }
        // A held sync's notification opens where it is answered.
        (_, _, Some(held)) => sink.emit(CoreEvent::ReviewRequested(held.to_owned())),
        _ => {}
    }
}

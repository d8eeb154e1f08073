//! What the core tells the UI. The shell provides an [`EventSink`] that forwards each
//! event to the webview; tests provide one that records them.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum NoticeLevel {
    Info,
    Warning,
    Error,
}

/// A short message for the user, shown as a toast.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Notice {
    pub level: NoticeLevel,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreEvent {
    Notice(Notice),
    /// The list of accounts, or something shown in it, changed.
    AccountsChanged,
}

pub trait EventSink: Send + Sync + 'static {
    fn emit(&self, event: CoreEvent);
}

/// Keeps every event, for tests.
#[derive(Debug, Default)]
pub struct RecordingSink {
    events: Mutex<Vec<CoreEvent>>,
}

impl RecordingSink {
    pub fn take(&self) -> Vec<CoreEvent> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl EventSink for RecordingSink {
    fn emit(&self, event: CoreEvent) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event);
    }
}

//! What the core tells the UI and the tray. The shell provides an [`EventSink`] that
//! forwards each event to the webview and the tray; tests provide one that records them.
//!
//! Services raise fine-grained events (this account changed, this task moved on); the
//! [`hub`] between them and the shell coalesces those over [`hub::COALESCE`] and works out
//! when the accounts needing the user change, so the window reloads once per burst and
//! the tray hears only about attention.

pub(crate) mod hub;

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::AppError;
pub use crate::views::Attention;

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
    /// These accounts changed: added, removed, or their health, services or timeline.
    /// Services raise one per change; the shell receives them merged, each id once.
    AccountsChanged(Vec<String>),
    /// These accounts' mail changed (a sync page landed): the inbox and the dashboard
    /// reload. Coalesced like `AccountsChanged`.
    MailChanged(Vec<String>),
    /// The accounts waiting for the user to sign in again are now these. Raised by the
    /// hub, only when the list differs from the last one.
    AttentionChanged(Vec<Attention>),
    /// Long work moved on. The shell receives the latest state of each task per burst.
    Progress(Progress),
    /// A sign-in moved on (the browser answered, it finished, it failed).
    SignIn(SignInUpdate),
    /// The user chose Reconnect for this account outside the window (a notification, the
    /// tray): the UI opens the sign-in for it.
    ReconnectRequested(String),
    /// The user chose to review a held sync of this account outside the window (a
    /// notification, the tray): the UI shows the Status screen, where it is answered.
    ReviewRequested(String),
}

/// Where a sign-in stands. The Add account dialog follows its own `flow_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SignInUpdate {
    pub flow_id: String,
    pub stage: SignInStage,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SignInStage {
    /// The browser came back; Ferry is exchanging the code and checking the identity.
    Finishing,
    /// The account is saved.
    #[serde(rename_all = "camelCase")]
    Done {
        account_id: String,
        email: String,
        /// False when an existing account was updated (added again, or reconnected).
        created: bool,
    },
    /// Nothing was stored; the error says why and what to do.
    Failed { error: AppError },
    /// The user cancelled, or started another sign-in.
    Cancelled,
}

/// How far a piece of long work has come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub task: Task,
    pub done: u32,
    pub total: u32,
}

impl Progress {
    pub fn finished(&self) -> bool {
        self.done >= self.total
    }
}

/// Long work the user may watch. The sync engines add theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Task {
    /// "Sync now": every connection checked at once.
    CheckConnections,
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

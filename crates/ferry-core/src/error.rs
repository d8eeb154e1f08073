//! The one error shape the UI sees: `{code, message}`.
//!
//! Core modules have their own `thiserror` enums; each maps explicitly to an [`ErrorCode`]
//! here, so the UI branches on a small closed set and never on message text.

use serde::{Deserialize, Serialize};

/// What kind of failure the UI is looking at. Keep this set small: add a code only when
/// the UI needs to act differently on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub enum ErrorCode {
    /// The request itself was invalid (bad input from the UI or from a link).
    Validation,
    /// The thing asked for does not exist.
    NotFound,
    /// The OS keychain could not be reached or refused access.
    KeychainUnavailable,
    /// The passphrase vault is locked, or the passphrase given was wrong.
    VaultLocked,
    /// The local database failed.
    Storage,
    /// The local database was written by a newer Ferry and is left untouched.
    DatabaseTooNew,
    /// The provider settings (`providers.toml` or the environment) are not usable.
    Configuration,
    /// A sign-in did not complete (declined, abandoned, refused, tampered with, or the
    /// provider failed); nothing was stored. The message says why and what to do.
    SignIn,
    /// The web browser could not be opened.
    Browser,
    /// The account needs the user to sign in again (Reconnect).
    NeedsSignIn,
    /// A provider could not be reached or failed for now; Ferry retries on its own.
    Network,
    /// Ferry stopped to ask the user first (a sync that would remove a large share of
    /// their data); nothing goes on until they answer.
    NeedsConfirmation,
    /// Anything else: a bug. The message is safe to show; details are in the log.
    Internal,
}

/// An error as it crosses into the UI. The message is written for a person and never
/// contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The account asked about was removed (perhaps in another window, or just now).
    pub fn account_gone() -> Self {
        Self::new(ErrorCode::NotFound, "That account is no longer in Ferry.")
    }
}

/// `text` with its first letter in upper case: lower-case `thiserror` messages read as
/// sentences in the UI.
pub(crate) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

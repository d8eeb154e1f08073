//! What a failed refresh means, in the terms both providers' rules are written in: the
//! kind (sign in again, retry, or a configuration problem) and the cause the plain-language
//! help explains. Each provider's folder classifies its own error bodies into these.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a failed refresh means for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum FailureKind {
    /// Only signing in again fixes it (revoked, expired, password changed, consent or MFA
    /// needed, account disabled...).
    NeedsSignIn,
    /// No network, timeouts, 5xx, 429, `temporarily_unavailable`, retryable AADSTS codes:
    /// retry with backoff.
    Transient,
    /// The app's registration is wrong (client id, redirect, scopes); neither retrying nor
    /// signing in helps.
    Configuration,
}

/// Why help is needed, in the terms the plain-language help is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Cause {
    Revoked,
    Expired,
    PasswordChanged,
    ConsentNeeded,
    AdminApprovalRequired,
    AppInTesting,
    ConditionalAccess,
    MoreVerificationNeeded,
    AccountDisabled,
    NotInTenant,
    Offline,
    ProviderUnavailable,
    Throttled,
    BadConfiguration,
    Unknown,
}

/// A classified failure. `code` is the provider's own (`invalid_grant`, `AADSTS700082`,
/// `HTTP 503`, `network`) for the timeline; it is never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFailure {
    pub kind: FailureKind,
    pub cause: Cause,
    pub code: String,
    /// How long the provider asked us to wait (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl RefreshFailure {
    pub fn new(kind: FailureKind, cause: Cause, code: impl Into<String>) -> Self {
        Self {
            kind,
            cause,
            code: code.into(),
            retry_after: None,
        }
    }
}

/// A token endpoint's error body: OAuth's `error` and `error_description`, and
/// Microsoft's `error_codes` and `suberror`.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub error_description: String,
    #[serde(default)]
    pub error_codes: Vec<u64>,
    #[serde(default)]
    pub suberror: String,
}

//! When to look for a new version of Ferry: at most once a day, remembered across
//! restarts. The shell does the looking (Tauri's updater plugin: download, signature,
//! install); what to tell the user is decided here.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Ferry asks for an update at most this often (besides "Check for updates" in Settings).
pub const CHECK_EVERY: Duration = Duration::hours(24);

/// Whether the daily check is due at `now`, given when the last one ran.
pub fn check_due(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    // A clock set back (last in the future) counts as due, or the check would stall.
    last.is_none_or(|last| now >= last + CHECK_EVERY || last > now)
}

/// Where updates stand, as the window and the tray show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum UpdateStatus {
    /// Nothing known: not checked yet, or no update endpoint configured.
    Idle,
    /// Asking the update endpoint, or downloading and verifying.
    Checking,
    /// Checked: this is the newest version.
    #[serde(rename_all = "camelCase")]
    UpToDate { checked_at: DateTime<Utc> },
    /// A newer version is downloaded and its signature verified; it installs on the
    /// user's word.
    #[serde(rename_all = "camelCase")]
    Ready {
        version: String,
        notes: Option<String>,
    },
    /// Installing; Ferry restarts when done.
    #[serde(rename_all = "camelCase")]
    Installing { version: String },
    /// The check or the download failed, or the download did not verify; nothing was
    /// installed and the running version carries on.
    #[serde(rename_all = "camelCase")]
    Failed { message: String },
}

/// The message for an update whose package did not verify against Ferry's public key.
pub fn unverified(version: &str, running: &str) -> String {
    format!(
        "Ferry {version} was downloaded, but its signature does not match Ferry's, so it was \
         not installed. You are still on Ferry {running}, which keeps working."
    )
}

/// The message for a check or download that failed along the way.
pub fn unreachable(reason: &str) -> String {
    format!("Ferry could not check for updates ({reason}). It will try again tomorrow.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_runs_at_most_daily_and_survives_a_clock_set_back() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        assert!(check_due(None, t0), "never checked");
        assert!(!check_due(Some(t0), t0 + Duration::hours(23)));
        assert!(check_due(Some(t0), t0 + CHECK_EVERY));
        assert!(
            check_due(Some(t0 + Duration::days(3)), t0),
            "last check in the future"
        );
    }
}

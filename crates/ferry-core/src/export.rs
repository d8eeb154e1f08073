//! Files Ferry writes for the user: an account's timeline as JSON.

use chrono::{DateTime, Utc};

use crate::error::{AppError, ErrorCode};
use crate::store::health::TimelineEntry;
use crate::views::AccountView;

/// Writes `entries` of `account` as JSON into `dir`; returns the file's path. The file
/// holds the address, provider and what happened, never a secret.
pub(crate) async fn timeline(
    account: &AccountView,
    entries: &[TimelineEntry],
    now: DateTime<Utc>,
    dir: &std::path::Path,
) -> Result<String, AppError> {
    let export = serde_json::json!({
        "account": { "email": account.email, "provider": account.provider },
        "exportedAt": now,
        "timeline": entries,
    });
    let safe: String = account
        .email
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!(
        "ferry-timeline-{safe}-{}.json",
        now.format("%Y%m%d-%H%M%S")
    ));
    let text = serde_json::to_string_pretty(&export).unwrap_or_default();
    tokio::fs::write(&path, text).await.map_err(|e| {
        AppError::new(
            ErrorCode::Storage,
            format!("Could not save the timeline: {e}."),
        )
    })?;
    Ok(path.display().to_string())
}

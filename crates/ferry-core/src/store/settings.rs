//! The user's preferences, kept in the `settings` table (one JSON value per key).

use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

use super::StoreError;

/// What the Settings panel edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Desktop notifications when a connection breaks.
    pub notifications: bool,
    /// How long a connection may keep failing for a passing reason (network, provider
    /// trouble) before Ferry mentions it.
    pub transient_alert_minutes: u32,
    /// Start Ferry in the tray when the user logs in.
    pub launch_at_login: bool,
    /// Ferry has asked once whether to launch at login (after the first account).
    pub launch_at_login_offered: bool,
    /// How far back mail is synced, in months; 0 for all of it. Going further back
    /// fetches the older mail; going less far keeps what is stored.
    pub mail_months: u32,
}

/// The choices for [`Settings::mail_months`] (0: all mail).
pub const MAIL_MONTHS: [u32; 7] = [1, 3, 6, 12, 24, 60, 0];

impl Default for Settings {
    fn default() -> Self {
        Self {
            notifications: true,
            transient_alert_minutes: 30,
            launch_at_login: false,
            launch_at_login_offered: false,
            mail_months: 12,
        }
    }
}

const KEYS: [&str; 5] = [
    "notifications",
    "transient_alert_minutes",
    "launch_at_login",
    "launch_at_login_offered",
    "mail_months",
];

pub async fn load(pool: &SqlitePool) -> Result<Settings, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM settings")
        .fetch_all(pool)
        .await?;
    let mut settings = Settings::default();
    for (key, value) in rows {
        let flag = value == "true";
        match key.as_str() {
            "notifications" => settings.notifications = flag,
            "transient_alert_minutes" => {
                if let Ok(minutes) = value.parse() {
                    settings.transient_alert_minutes = minutes;
                }
            }
            "launch_at_login" => settings.launch_at_login = flag,
            "launch_at_login_offered" => settings.launch_at_login_offered = flag,
            "mail_months" => {
                if let Some(months) = value.parse().ok().filter(|m| MAIL_MONTHS.contains(m)) {
                    settings.mail_months = months;
                }
            }
            _ => {}
        }
    }
    Ok(settings)
}

pub async fn save(pool: &SqlitePool, settings: &Settings) -> Result<(), StoreError> {
    let values = [
        settings.notifications.to_string(),
        settings.transient_alert_minutes.to_string(),
        settings.launch_at_login.to_string(),
        settings.launch_at_login_offered.to_string(),
        settings.mail_months.to_string(),
    ];
    let mut tx = super::begin_write(pool).await?;
    for (key, value) in KEYS.iter().zip(values) {
        sqlx::query("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)")
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// When Ferry last asked for an update (not a preference: kept beside them).
const LAST_UPDATE_CHECK: &str = "last_update_check_ms";

pub async fn last_update_check(
    pool: &SqlitePool,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    let value: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
        .bind(LAST_UPDATE_CHECK)
        .fetch_optional(pool)
        .await?;
    Ok(value
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(chrono::DateTime::from_timestamp_millis))
}

pub async fn set_last_update_check(
    pool: &SqlitePool,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)")
        .bind(LAST_UPDATE_CHECK)
        .bind(at.timestamp_millis().to_string())
        .execute(pool)
        .await?;
    Ok(())
}

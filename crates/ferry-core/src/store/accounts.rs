//! Account rows as the UI sees them. Tokens never live in these views.

use serde::Serialize;
use sqlx::SqlitePool;

use super::StoreError;
use crate::provider::Provider;

/// What the UI may know about an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub id: String,
    pub provider: Provider,
    pub email: String,
    pub display_name: String,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    provider: String,
    email: String,
    display_name: String,
}

pub(super) async fn list(pool: &SqlitePool) -> Result<Vec<AccountView>, StoreError> {
    let rows: Vec<AccountRow> = sqlx::query_as(
        "SELECT id, provider, email, display_name FROM accounts ORDER BY created_at, id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let Some(provider) = Provider::from_db(&row.provider) else {
                tracing::warn!(account = %row.id, "skipping account with unknown provider");
                return None;
            };
            Some(AccountView {
                id: row.id,
                provider,
                email: row.email,
                display_name: row.display_name,
            })
        })
        .collect())
}

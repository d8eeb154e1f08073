//! What the UI and the tray show, built from the store's records: the account list with
//! its health in plain words, and the accounts that need the user. The store knows
//! nothing of these shapes or of the help text.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::help::Help;
use crate::providers::Provider;
use crate::services::{CalendarAccess, Service};
use crate::store::health::{Health, HealthState};
use crate::store::{AccountRecord, ServiceRecord};

/// What the UI may know about an account. Tokens never live in these views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub id: String,
    pub provider: Provider,
    pub email: String,
    pub display_name: String,
    /// Mail, Calendar and Contacts, in that order.
    pub services: Vec<ServiceView>,
    pub added_at: DateTime<Utc>,
    /// The last sign-in, refresh or sync.
    pub last_activity_at: Option<DateTime<Utc>>,
    pub health: HealthView,
}

impl AccountView {
    /// The view of `record`; `working` says a refresh is in flight for it right now.
    pub fn new(record: AccountRecord, working: bool) -> Self {
        let mut health = HealthView::new(&record.health, record.provider);
        let busy = matches!(health.state, HealthState::Healthy | HealthState::Retrying);
        if busy && working {
            health.state = HealthState::Working;
        }
        Self {
            health,
            services: record.services.iter().map(ServiceView::from).collect(),
            id: record.id,
            provider: record.provider,
            email: record.email,
            display_name: record.display_name,
            added_at: record.added_at,
            last_activity_at: record.last_activity_at,
        }
    }
}

/// How an account's connection is doing, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct HealthView {
    pub state: HealthState,
    pub since: DateTime<Utc>,
    /// While retrying: when the next attempt is.
    pub next_try_at: Option<DateTime<Utc>>,
    /// The provider's code for the last failure, for the curious and for support.
    pub code: Option<String>,
    /// What went wrong and what to do, in plain words.
    pub help: Option<Help>,
    pub last_refresh_at: Option<DateTime<Utc>>,
    pub last_sync_at: Option<DateTime<Utc>>,
    /// When the provider will end this grant, if known ("Needs sign-in in N days").
    pub grant_expires_at: Option<DateTime<Utc>>,
}

impl HealthView {
    fn new(health: &Health, provider: Provider) -> Self {
        Self {
            state: health.state,
            since: health.since,
            next_try_at: health.next_try_at,
            code: health.code.clone(),
            help: health
                .cause
                .map(|cause| crate::help::for_cause(provider, cause)),
            last_refresh_at: health.last_refresh_at,
            last_sync_at: health.last_sync_at,
            grant_expires_at: health.grant_expires_at,
        }
    }
}

/// One service of an account: whether the user wants it and whether the provider
/// granted it ("Not granted" when wanted but not granted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    pub service: Service,
    pub requested: bool,
    pub granted: bool,
    /// Calendar only: read, or read and write. Mail and contacts are read-only.
    pub access: CalendarAccess,
}

impl From<&ServiceRecord> for ServiceView {
    fn from(record: &ServiceRecord) -> Self {
        Self {
            service: record.service,
            requested: record.requested,
            granted: record.granted,
            access: record.access,
        }
    }
}

/// An account that waits for the user: what the tray lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Attention {
    pub account_id: String,
    pub email: String,
    pub provider: Provider,
    pub reason: AttentionReason,
}

/// What the account waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum AttentionReason {
    /// Signing in again (Reconnect).
    SignIn,
    /// An answer about a sync that would remove much of its data (on the Status screen).
    ConfirmRemovals,
}

/// The accounts among `records` that need the user, in list order: those to sign in
/// again, then those whose sync waits for an answer (`held`, account ids).
pub fn attention(records: &[AccountRecord], held: &[String]) -> Vec<Attention> {
    let item = |r: &AccountRecord, reason| Attention {
        account_id: r.id.clone(),
        email: r.email.clone(),
        provider: r.provider,
        reason,
    };
    let sign_in = records
        .iter()
        .filter(|r| r.health.state == HealthState::NeedsSignIn)
        .map(|r| item(r, AttentionReason::SignIn));
    let confirm = records
        .iter()
        .filter(|r| held.contains(&r.id) && r.health.state != HealthState::NeedsSignIn)
        .map(|r| item(r, AttentionReason::ConfirmRemovals));
    sign_in.chain(confirm).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, state: HealthState) -> AccountRecord {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mut health = Health::healthy(id, at);
        health.state = state;
        health.cause = (state == HealthState::NeedsSignIn)
            .then_some(crate::providers::failure::Cause::Revoked);
        AccountRecord {
            id: id.to_owned(),
            provider: Provider::Google,
            email: format!("{id}@example.com"),
            display_name: id.to_owned(),
            services: vec![],
            added_at: at,
            last_activity_at: None,
            health,
        }
    }

    #[test]
    fn working_shows_only_over_a_state_that_is_not_waiting_for_the_user() {
        let view = |state, working| AccountView::new(record("a", state), working).health.state;
        assert_eq!(view(HealthState::Healthy, true), HealthState::Working);
        assert_eq!(view(HealthState::Retrying, true), HealthState::Working);
        assert_eq!(view(HealthState::Healthy, false), HealthState::Healthy);
        assert_eq!(
            view(HealthState::NeedsSignIn, true),
            HealthState::NeedsSignIn
        );
        assert_eq!(view(HealthState::Paused, true), HealthState::Paused);
    }

    #[test]
    fn help_comes_from_the_cause_in_the_providers_words() {
        let view = AccountView::new(record("a", HealthState::NeedsSignIn), false);
        let help = view.health.help.expect("help for a cause");
        assert!(help.fix.contains("myaccount.google.com"), "{help:?}");
        let healthy = AccountView::new(record("b", HealthState::Healthy), false);
        assert_eq!(healthy.health.help, None);
    }

    #[test]
    fn attention_lists_accounts_waiting_for_a_sign_in_then_for_an_answer() {
        let records = [
            record("a", HealthState::Healthy),
            record("b", HealthState::NeedsSignIn),
            record("c", HealthState::Retrying),
            record("d", HealthState::NeedsSignIn),
        ];
        let listed: Vec<_> = attention(&records, &["c".into(), "d".into()])
            .into_iter()
            .map(|a| (a.account_id, a.reason))
            .collect();
        assert_eq!(
            listed,
            [
                ("b".into(), AttentionReason::SignIn),
                ("d".into(), AttentionReason::SignIn),
                ("c".into(), AttentionReason::ConfirmRemovals),
            ]
        );
    }
}

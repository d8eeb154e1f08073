//! When desktop notifications are due. Pure. One notification per incident: an
//! account that needs sign-in is announced once (several at once in one notification),
//! and the notification is withdrawn when they recover. A transient failure is announced
//! only once it has lasted the configured time (30 minutes by default). What was already
//! announced is recorded in the database, so a restart does not announce it again.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::help;
use crate::providers::Provider;
use crate::store::health::{Health, HealthState};

/// A notification as Ferry wants it shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Identifies what the notification is about, so it can be replaced or withdrawn:
    /// `sign-in`, `unreachable`, `ends-soon:<account>`.
    pub key: String,
    pub title: String,
    pub body: String,
    /// The account a Reconnect action would reconnect (one account only).
    pub reconnect: Option<String>,
}

impl Alert {
    /// The account whose held sync this notification asks the user to review.
    pub fn review_of(&self) -> Option<&str> {
        let (_service, account) = self.key.strip_prefix(super::HELD)?.split_once(':')?;
        Some(account)
    }
}

/// The desktop's notification service. The shell's uses notify-rust; tests record.
pub trait Notifier: Send + Sync + 'static {
    fn show(&self, alert: &Alert) -> Result<(), String>;
    fn withdraw(&self, key: &str);
}

/// A notifier for cores that never notify.
#[derive(Debug, Default)]
pub struct Silent;

impl Notifier for Silent {
    fn show(&self, _: &Alert) -> Result<(), String> {
        Ok(())
    }
    fn withdraw(&self, _: &str) {}
}

/// Keeps what a notifier was asked, for tests.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    pub log: Mutex<Vec<NotifierCall>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifierCall {
    Show(Alert),
    Withdraw(String),
}

impl RecordingNotifier {
    pub fn calls(&self) -> Vec<NotifierCall> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Notifier for RecordingNotifier {
    fn show(&self, alert: &Alert) -> Result<(), String> {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(NotifierCall::Show(alert.clone()));
        Ok(())
    }
    fn withdraw(&self, key: &str) {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(NotifierCall::Withdraw(key.to_owned()));
    }
}

/// User preferences for notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertSettings {
    pub enabled: bool,
    /// How long a transient failure must last before it is announced.
    pub transient_after: Duration,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            transient_after: Duration::minutes(30),
        }
    }
}

/// An account as the policy sees it.
#[derive(Debug, Clone)]
pub struct Watched {
    pub health: Health,
    pub email: String,
    pub provider: Provider,
}

/// What the policy decided: notifications to show and withdraw, and which accounts'
/// incidents (or warnings) are now announced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decision {
    pub show: Vec<Alert>,
    pub withdraw: Vec<String>,
    pub mark_notified: Vec<String>,
    pub mark_warned: Vec<String>,
}

/// What is currently on screen: notification key → the accounts it covers.
#[derive(Debug, Default)]
pub struct Shown(pub HashMap<String, Vec<String>>);

/// Decides, from every account's health, what to announce now. Pure, for testing.
pub fn review(
    accounts: &[Watched],
    shown: &Shown,
    settings: AlertSettings,
    now: DateTime<Utc>,
) -> Decision {
    let mut decision = Decision::default();

    // Withdraw what no longer applies: every account it covered has moved on.
    for (key, covered) in &shown.0 {
        let still = |id: &String, wanted: &dyn Fn(&Health) -> bool| {
            accounts
                .iter()
                .any(|a| &a.health.account_id == id && wanted(&a.health))
        };
        let applies = match key.as_str() {
            "sign-in" => covered
                .iter()
                .any(|id| still(id, &|h| h.state == HealthState::NeedsSignIn)),
            "unreachable" => covered
                .iter()
                .any(|id| still(id, &|h| h.state == HealthState::Retrying)),
            _ => covered.iter().any(|id| {
                still(id, &|h| {
                    h.state == HealthState::Healthy
                        && h.grant_expires_at.is_some_and(|end| end > now)
                })
            }),
        };
        if !applies {
            decision.withdraw.push(key.clone());
        }
    }

    // Sign-in needed: one notification for every account not yet announced.
    let fresh: Vec<&Watched> = accounts
        .iter()
        .filter(|a| a.health.state == HealthState::NeedsSignIn && a.health.notified_at.is_none())
        .collect();
    if !fresh.is_empty() {
        decision
            .mark_notified
            .extend(fresh.iter().map(|a| a.health.account_id.clone()));
        if settings.enabled {
            decision.show.push(sign_in_alert(&fresh));
        }
    }

    // Transient trouble that has lasted: one notification, only once.
    let stuck: Vec<&Watched> = accounts
        .iter()
        .filter(|a| {
            a.health.state == HealthState::Retrying
                && a.health.notified_at.is_none()
                && now - a.health.since >= settings.transient_after
        })
        .collect();
    if !stuck.is_empty() {
        decision
            .mark_notified
            .extend(stuck.iter().map(|a| a.health.account_id.clone()));
        if settings.enabled {
            decision
                .show
                .push(unreachable_alert(&stuck, settings.transient_after));
        }
    }

    // A grant that ends within a day: warn once, the day before.
    for a in accounts {
        let Some(end) = a.health.grant_expires_at else {
            continue;
        };
        if a.health.state == HealthState::Healthy
            && a.health.warned_at.is_none()
            && end > now
            && end - now <= Duration::days(1)
        {
            decision.mark_warned.push(a.health.account_id.clone());
            if settings.enabled {
                decision.show.push(Alert {
                    key: format!("ends-soon:{}", a.health.account_id),
                    title: format!("{} needs signing in again tomorrow", a.email),
                    body: format!(
                        "{}'s permission for Ferry ends within a day. Open Ferry and choose \
                         Reconnect to keep it working.",
                        a.provider
                    ),
                    reconnect: Some(a.health.account_id.clone()),
                });
            }
        }
    }
    decision
}

fn sign_in_alert(fresh: &[&Watched]) -> Alert {
    match fresh {
        [one] => {
            let help = one
                .health
                .cause
                .map(|cause| help::for_cause(one.provider, cause));
            Alert {
                key: "sign-in".into(),
                title: format!("{} needs you to sign in again", one.email),
                body: match help {
                    Some(help) => format!("{}. {}", help.summary, help.fix),
                    None => "Choose Reconnect to sign in again.".into(),
                },
                reconnect: Some(one.health.account_id.clone()),
            }
        }
        many => {
            let emails: Vec<&str> = many.iter().map(|a| a.email.as_str()).collect();
            Alert {
                key: "sign-in".into(),
                title: format!("{} accounts need you to sign in again", many.len()),
                body: format!(
                    "{}. Open Ferry and choose Reconnect on each.",
                    emails.join(", ")
                ),
                reconnect: None,
            }
        }
    }
}

fn unreachable_alert(stuck: &[&Watched], after: Duration) -> Alert {
    let mut providers: Vec<String> = stuck.iter().map(|a| a.provider.to_string()).collect();
    providers.sort();
    providers.dedup();
    Alert {
        key: "unreachable".into(),
        title: format!(
            "Ferry has not reached {} for {} minutes",
            providers.join(" or "),
            after.num_minutes()
        ),
        body: "Ferry keeps trying on its own; nothing is lost. Check the internet connection \
               if this continues."
            .into(),
        reconnect: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::refresh::Cause;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default() + Duration::minutes(minutes)
    }

    fn watched(id: &str, state: HealthState, since: i64) -> Watched {
        let mut health = Health::healthy(id, at(since));
        health.state = state;
        health.cause = Some(Cause::Revoked);
        Watched {
            health,
            email: format!("{id}@example.com"),
            provider: Provider::Google,
        }
    }

    #[test]
    fn several_accounts_needing_sign_in_make_one_notification_once() {
        let mut accounts = vec![
            watched("a", HealthState::NeedsSignIn, 0),
            watched("b", HealthState::NeedsSignIn, 0),
            watched("c", HealthState::NeedsSignIn, 0),
        ];
        let decision = review(
            &accounts,
            &Shown::default(),
            AlertSettings::default(),
            at(1),
        );
        assert_eq!(decision.show.len(), 1);
        assert_eq!(
            decision.show[0].title,
            "3 accounts need you to sign in again"
        );
        assert_eq!(decision.mark_notified, ["a", "b", "c"]);

        for a in &mut accounts {
            a.health.notified_at = Some(at(1));
        }
        let shown = Shown(HashMap::from([(
            "sign-in".to_owned(),
            vec!["a".into(), "b".into(), "c".into()],
        )]));
        let again = review(&accounts, &shown, AlertSettings::default(), at(2));
        assert_eq!(again, Decision::default(), "nothing new to say");

        // All recover: the notification goes.
        for a in &mut accounts {
            a.health.state = HealthState::Healthy;
        }
        let recovered = review(&accounts, &shown, AlertSettings::default(), at(3));
        assert_eq!(recovered.withdraw, ["sign-in"]);
    }

    #[test]
    fn a_held_syncs_notification_names_the_account_to_review() {
        let alert = |key: String| Alert {
            key,
            title: String::new(),
            body: String::new(),
            reconnect: None,
        };
        let held = alert(crate::alerts::held_key("acc-1", "mail"));
        assert_eq!(held.review_of(), Some("acc-1"));
        assert_eq!(alert("sign-in".into()).review_of(), None);
        assert_eq!(alert("ends-soon:acc-1".into()).review_of(), None);
    }

    #[test]
    fn a_single_account_gets_plain_help_and_a_reconnect_action() {
        let accounts = vec![watched("a", HealthState::NeedsSignIn, 0)];
        let decision = review(
            &accounts,
            &Shown::default(),
            AlertSettings::default(),
            at(0),
        );
        let alert = &decision.show[0];
        assert_eq!(alert.title, "a@example.com needs you to sign in again");
        assert!(alert.body.contains("Reconnect"), "{}", alert.body);
        assert_eq!(alert.reconnect.as_deref(), Some("a"));
    }

    #[test]
    fn transient_trouble_waits_for_the_threshold() {
        let accounts = vec![watched("a", HealthState::Retrying, 0)];
        let early = review(
            &accounts,
            &Shown::default(),
            AlertSettings::default(),
            at(29),
        );
        assert_eq!(early, Decision::default());
        let late = review(
            &accounts,
            &Shown::default(),
            AlertSettings::default(),
            at(30),
        );
        assert_eq!(late.show.len(), 1);
        assert_eq!(late.show[0].key, "unreachable");
    }

    #[test]
    fn turned_off_notifications_still_record_the_incident() {
        let accounts = vec![watched("a", HealthState::NeedsSignIn, 0)];
        let settings = AlertSettings {
            enabled: false,
            ..AlertSettings::default()
        };
        let decision = review(&accounts, &Shown::default(), settings, at(0));
        assert!(decision.show.is_empty());
        assert_eq!(
            decision.mark_notified,
            ["a"],
            "turning them on later does not replay it"
        );
    }

    #[test]
    fn a_grant_ending_tomorrow_is_warned_about_once() {
        let mut account = watched("a", HealthState::Healthy, 0);
        account.health.grant_expires_at = Some(at(0) + Duration::days(7));
        let far = review(
            std::slice::from_ref(&account),
            &Shown::default(),
            AlertSettings::default(),
            at(0),
        );
        assert!(far.show.is_empty());
        let near_time = at(0) + Duration::days(6) + Duration::hours(1);
        let near = review(
            std::slice::from_ref(&account),
            &Shown::default(),
            AlertSettings::default(),
            near_time,
        );
        assert_eq!(near.mark_warned, ["a"]);
        assert_eq!(near.show[0].key, "ends-soon:a");
        account.health.warned_at = Some(near_time);
        let again = review(
            &[account],
            &Shown::default(),
            AlertSettings::default(),
            near_time,
        );
        assert!(again.show.is_empty());
    }
}

//! Desktop notifications about connections: when they are due (`policy`, pure), and the
//! service that applies the policy (`Alerts`): it shows and withdraws notifications
//! through the shell's `Notifier` and records what was announced in the database.
//!
//! The service is an actor. Anything that changes an account's health asks it to look
//! again (`Alerts::review_soon`); it waits `DEBOUNCE` on the injected clock so that
//! failures arriving together (several accounts revoked at once) make one notification,
//! then reviews. `Alerts::shutdown` stops it and waits for it.

mod policy;

use std::sync::{Arc, Mutex};

use chrono::Duration;
use tokio::sync::oneshot;

pub use policy::{
    review, Alert, AlertSettings, Decision, Notifier, NotifierCall, RecordingNotifier, Shown,
    Silent, Watched,
};

use crate::actor::{Inbox, Mailbox};
use crate::context::Context;
use crate::error::AppError;
use crate::events::CoreEvent;
use crate::store::health::{self, Announced, TimelineEntry, TimelineKind};
use crate::store::settings;

/// How long the service waits after a change before deciding.
pub const DEBOUNCE: Duration = Duration::milliseconds(750);

enum Command {
    ReviewSoon,
    Shutdown(oneshot::Sender<()>),
}

/// A handle on the notification service; cheap to clone.
#[derive(Clone)]
pub(crate) struct Alerts {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: Context,
    notifier: Arc<dyn Notifier>,
    /// What is on screen now, by key, with the accounts each covers.
    shown: Mutex<Shown>,
    mailbox: Mailbox<Command>,
}

impl Alerts {
    pub fn new(ctx: Context, notifier: Arc<dyn Notifier>) -> Self {
        Self {
            inner: Arc::new(Inner {
                ctx,
                notifier,
                shown: Mutex::new(Shown::default()),
                mailbox: Mailbox::new(),
            }),
        }
    }

    /// Starts the actor (once). Anything recorded but not yet announced (say, before a
    /// crash) is looked at now; what was announced before stays quiet.
    pub fn start(&self) {
        let this = self.clone();
        self.inner
            .mailbox
            .start(&self.inner.ctx.runtime, "alerts", move |inbox| {
                this.clone().run(inbox)
            });
        self.review_soon();
    }

    /// Asks for a look at the notifications soon (a health changed, a setting changed).
    pub fn review_soon(&self) {
        self.inner.mailbox.send(Command::ReviewSoon);
    }

    /// Stops the actor and waits for it; a review in progress finishes first.
    pub async fn shutdown(&self) {
        self.inner.mailbox.stop(Command::Shutdown).await;
    }

    async fn run(self, mut inbox: Inbox<Command>) {
        loop {
            match inbox.recv().await {
                Some(Command::ReviewSoon) => {}
                Some(Command::Shutdown(reply)) => {
                    let _ = reply.send(());
                    return;
                }
                None => return,
            }
            // Let failures that arrive together land before deciding.
            let deadline = self.inner.ctx.clock.now() + DEBOUNCE;
            loop {
                tokio::select! {
                    () = self.inner.ctx.clock.sleep_until(deadline) => break,
                    command = inbox.recv() => match command {
                        Some(Command::ReviewSoon) => {}
                        Some(Command::Shutdown(reply)) => {
                            let _ = reply.send(());
                            return;
                        }
                        None => return,
                    },
                }
            }
            if let Err(err) = self.review().await {
                tracing::warn!(%err, "could not review notifications");
            }
        }
    }

    /// Decides what to announce now, shows or withdraws it, and records it.
    pub async fn review(&self) -> Result<(), AppError> {
        let ctx = &self.inner.ctx;
        let now = ctx.clock.now();
        let watched: Vec<Watched> = ctx
            .store
            .list_accounts()
            .await?
            .into_iter()
            .map(|account| Watched {
                email: account.email,
                provider: account.provider,
                health: account.health,
            })
            .collect();
        let settings = alert_settings(&settings::load(ctx.store.pool()).await?);
        let decision = review(&watched, &self.shown(), settings, ctx.clock.now());
        for key in &decision.withdraw {
            self.inner.notifier.withdraw(key);
            self.shown().0.remove(key);
        }
        for alert in &decision.show {
            match self.inner.notifier.show(alert) {
                Ok(()) => {
                    let covered: Vec<String> = watched
                        .iter()
                        .filter(|w| {
                            decision.mark_notified.contains(&w.health.account_id)
                                || alert.key.ends_with(&w.health.account_id)
                        })
                        .map(|w| w.health.account_id.clone())
                        .collect();
                    self.shown().0.insert(alert.key.clone(), covered);
                    tracing::info!(key = %alert.key, "notification shown");
                }
                Err(err) => tracing::warn!(%err, key = %alert.key, "could not show a notification"),
            }
        }
        if !decision.mark_notified.is_empty() || !decision.mark_warned.is_empty() {
            let detail = if settings.enabled {
                "You were notified."
            } else {
                "Not notified: notifications are turned off."
            };
            let mut tx = crate::store::begin_write(ctx.store.writer()).await?;
            for (ids, announced) in [
                (&decision.mark_notified, Announced::Notified),
                (&decision.mark_warned, Announced::Warned),
            ] {
                for id in ids {
                    health::mark_announced(&mut tx, id, announced, now).await?;
                    let entry = TimelineEntry::new(now, TimelineKind::Notified, detail);
                    health::append(&mut tx, id, &entry).await?;
                }
            }
            tx.commit().await?;
        }
        self.review_holds(settings.enabled).await?;
        // Their timelines gained an entry.
        let recorded: Vec<String> = decision
            .mark_notified
            .iter()
            .chain(&decision.mark_warned)
            .cloned()
            .collect();
        if !recorded.is_empty() {
            ctx.events.emit(CoreEvent::AccountsChanged(recorded));
        }
        Ok(())
    }

    /// A sync that stopped to ask the user is announced once (recorded with the hold, so
    /// a restart does not repeat it), and the notification is withdrawn once answered.
    async fn review_holds(&self, enabled: bool) -> Result<(), AppError> {
        let pool = self.inner.ctx.store.pool();
        let waiting = crate::store::sync::waiting(pool).await?;
        let keys: Vec<String> = waiting
            .iter()
            .map(|w| held_key(&w.account_id, &w.service))
            .collect();
        let answered: Vec<String> = self
            .shown()
            .0
            .keys()
            .filter(|k| k.starts_with(HELD) && !keys.contains(k))
            .cloned()
            .collect();
        for key in answered {
            self.inner.notifier.withdraw(&key);
            self.shown().0.remove(&key);
        }
        for (hold, key) in waiting.iter().zip(keys) {
            if hold.notified {
                continue;
            }
            if enabled {
                let alert = held_alert(hold, key.clone());
                match self.inner.notifier.show(&alert) {
                    Ok(()) => {
                        self.shown().0.insert(key, vec![hold.account_id.clone()]);
                    }
                    Err(err) => {
                        tracing::warn!(%err, key = %alert.key, "could not show a notification");
                        continue;
                    }
                }
            }
            crate::store::sync::mark_notified(pool, &hold.account_id, &hold.service).await?;
        }
        Ok(())
    }

    fn shown(&self) -> std::sync::MutexGuard<'_, Shown> {
        self.inner.shown.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Notification keys of held syncs start with this.
/// The key prefix of a held sync's notification: `held:<service>:<account>`.
pub(crate) const HELD: &str = "held:";

fn held_key(account: &str, service: &str) -> String {
    format!("{HELD}{service}:{account}")
}

/// The notification for a sync that stopped before removing much of the user's data.
fn held_alert(hold: &crate::store::sync::Waiting, key: String) -> Alert {
    let provider = match hold.provider.as_str() {
        "google" => "Gmail",
        _ => "Outlook",
    };
    Alert {
        key,
        title: "Ferry stopped before removing mail".into(),
        body: format!(
            "{provider} no longer has {} of the {} messages Ferry keeps for {}. Open Status in Ferry to remove them or keep them.",
            hold.removing, hold.local, hold.email
        ),
        reconnect: None,
    }
}

/// The policy's settings from the user's, within the range the Settings panel allows.
fn alert_settings(settings: &settings::Settings) -> AlertSettings {
    let minutes = settings.transient_alert_minutes.clamp(1, 24 * 60);
    AlertSettings {
        enabled: settings.notifications,
        transient_after: Duration::minutes(i64::from(minutes)),
    }
}

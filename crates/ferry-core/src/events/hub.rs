//! The hub: every service's events pass through it on their way to the shell.
//!
//! Notices, sign-in updates and reconnect requests go straight on, in order. Account
//! changes and progress are collected for [`COALESCE`] on the injected clock after the
//! first one arrives, then delivered as one `AccountsChanged` (each id once; mail changes
//! likewise as one `MailChanged`) and the latest
//! `Progress` of each task. After each burst of account changes the hub reads who needs
//! the user and raises `AttentionChanged` when that list differs from the last one: the
//! tray listens to nothing else. A refresh that marks an account Working and then Healthy
//! within the window reaches the window once, and the tray not at all.
//!
//! The hub is an actor; shutdown delivers what is pending, so it stops after the services
//! that raise events and before the store.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use chrono::Duration;
use tokio::sync::oneshot;

use super::{Attention, CoreEvent, EventSink, Progress};
use crate::actor::{Inbox, Mailbox};
use crate::clock::Clock;
use crate::store::Store;

/// How long the hub gathers changes after the first before delivering them.
pub const COALESCE: Duration = Duration::milliseconds(100);

enum Command {
    Changed(Vec<String>),
    MailChanged(Vec<String>),
    Progress(Progress),
    Shutdown(oneshot::Sender<()>),
}

/// What has arrived since the last delivery.
#[derive(Debug, Default)]
struct Batch {
    accounts: BTreeSet<String>,
    mail: BTreeSet<String>,
    /// The latest progress of each task, in the order the tasks first reported.
    progress: Vec<Progress>,
}

impl Batch {
    fn add(&mut self, command: Command) -> Option<oneshot::Sender<()>> {
        match command {
            Command::Changed(ids) => self.accounts.extend(ids),
            Command::MailChanged(ids) => self.mail.extend(ids),
            Command::Progress(progress) => {
                match self.progress.iter_mut().find(|p| p.task == progress.task) {
                    Some(latest) => *latest = progress,
                    None => self.progress.push(progress),
                }
            }
            Command::Shutdown(reply) => return Some(reply),
        }
        None
    }

    /// The events to deliver, in order: account changes, then each task's latest progress.
    fn take(&mut self) -> Vec<CoreEvent> {
        let mut events = Vec::new();
        if !self.accounts.is_empty() {
            let ids = std::mem::take(&mut self.accounts).into_iter().collect();
            events.push(CoreEvent::AccountsChanged(ids));
        }
        if !self.mail.is_empty() {
            let ids = std::mem::take(&mut self.mail).into_iter().collect();
            events.push(CoreEvent::MailChanged(ids));
        }
        events.extend(self.progress.drain(..).map(CoreEvent::Progress));
        events
    }
}

/// The sink services raise events on; cheap to clone.
#[derive(Clone)]
pub(crate) struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    out: Arc<dyn EventSink>,
    store: Store,
    clock: Arc<dyn Clock>,
    /// The accounts needing the user as last delivered (`None` before the first look).
    attention: Mutex<Option<Vec<Attention>>>,
    mailbox: Mailbox<Command>,
}

impl Hub {
    pub fn new(out: Arc<dyn EventSink>, store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                out,
                store,
                clock,
                attention: Mutex::new(None),
                mailbox: Mailbox::new(),
            }),
        }
    }

    /// Starts delivering (once). Events raised before are kept until then.
    pub fn start(&self, runtime: &tokio::runtime::Handle) {
        let this = self.clone();
        self.inner
            .mailbox
            .start(runtime, "event hub", move |inbox| this.clone().run(inbox));
    }

    /// Delivers what is pending and stops.
    pub async fn shutdown(&self) {
        self.inner.mailbox.stop(Command::Shutdown).await;
    }

    /// The accounts needing the user now, read from the store.
    pub async fn attention(&self) -> Vec<Attention> {
        match self.inner.store.list_accounts().await {
            Ok(records) => {
                let held = match crate::store::sync::waiting(self.inner.store.pool()).await {
                    Ok(waiting) => waiting.into_iter().map(|w| w.account_id).collect(),
                    Err(err) => {
                        tracing::warn!(%err, "could not read which syncs wait for the user");
                        Vec::new()
                    }
                };
                crate::views::attention(&records, &held)
            }
            Err(err) => {
                tracing::warn!(%err, "could not read which accounts need attention");
                Vec::new()
            }
        }
    }

    async fn run(self, mut inbox: Inbox<Command>) {
        let first = self.attention().await;
        *self.last_attention() = Some(first);
        let mut batch = Batch::default();
        loop {
            let Some(command) = inbox.recv().await else {
                return;
            };
            let mut stop = batch.add(command);
            if stop.is_none() {
                let deadline = self.inner.clock.now() + COALESCE;
                loop {
                    tokio::select! {
                        () = self.inner.clock.sleep_until(deadline) => break,
                        command = inbox.recv() => match command {
                            Some(command) => {
                                stop = batch.add(command);
                                if stop.is_some() {
                                    break;
                                }
                            }
                            None => break,
                        },
                    }
                }
            }
            self.deliver(&mut batch).await;
            if let Some(reply) = stop {
                let _ = reply.send(());
                return;
            }
        }
    }

    async fn deliver(&self, batch: &mut Batch) {
        let mut accounts_changed = false;
        for event in batch.take() {
            // A sync that stops to ask (or goes on once answered) changes mail.
            accounts_changed |= matches!(
                event,
                CoreEvent::AccountsChanged(_) | CoreEvent::MailChanged(_)
            );
            self.inner.out.emit(event);
        }
        if accounts_changed {
            let now = self.attention().await;
            let changed = {
                let mut last = self.last_attention();
                let changed = last.as_ref() != Some(&now);
                *last = Some(now.clone());
                changed
            };
            if changed {
                self.inner.out.emit(CoreEvent::AttentionChanged(now));
            }
        }
    }

    fn last_attention(&self) -> std::sync::MutexGuard<'_, Option<Vec<Attention>>> {
        self.inner
            .attention
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

impl EventSink for Hub {
    fn emit(&self, event: CoreEvent) {
        match event {
            CoreEvent::AccountsChanged(ids) => self.inner.mailbox.send(Command::Changed(ids)),
            CoreEvent::MailChanged(ids) => self.inner.mailbox.send(Command::MailChanged(ids)),
            CoreEvent::Progress(progress) => self.inner.mailbox.send(Command::Progress(progress)),
            other => self.inner.out.emit(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Task;

    fn check(done: u32, total: u32) -> Command {
        Command::Progress(Progress {
            task: Task::CheckConnections,
            done,
            total,
        })
    }

    #[test]
    fn a_batch_names_each_account_once_and_keeps_the_latest_progress() {
        let mut batch = Batch::default();
        for command in [
            Command::Changed(vec!["b".into()]),
            check(0, 3),
            Command::MailChanged(vec!["b".into()]),
            Command::Changed(vec!["a".into(), "b".into()]),
            check(2, 3),
            Command::MailChanged(vec!["b".into()]),
            Command::Changed(vec!["b".into()]),
        ] {
            assert!(batch.add(command).is_none());
        }
        assert_eq!(
            batch.take(),
            [
                CoreEvent::AccountsChanged(vec!["a".into(), "b".into()]),
                CoreEvent::MailChanged(vec!["b".into()]),
                CoreEvent::Progress(Progress {
                    task: Task::CheckConnections,
                    done: 2,
                    total: 3
                }),
            ]
        );
        assert!(batch.take().is_empty(), "a delivered batch is empty");
    }
}

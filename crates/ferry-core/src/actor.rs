//! What every background actor shares: a command channel, a task started once and
//! restarted if it panics, and a shutdown that is a command with a reply, awaited. The
//! keeper, the notification service and the event hub are built on it, and the sync
//! engines will be.
//!
//! A panic inside an actor ends only that run: the supervisor logs it and starts the actor
//! again on the same inbox, after `RESTART_DELAY` (doubling up to `MAX_RESTART_DELAY` while
//! it keeps failing), so commands sent meanwhile are kept and background work carries on.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, OwnedMutexGuard};
use tokio::task::JoinHandle;

/// An actor's inbox, held for the length of one run.
pub(crate) type Inbox<C> = OwnedMutexGuard<mpsc::UnboundedReceiver<C>>;

/// The first wait before restarting an actor that panicked (real time: this is about the
/// process staying up, not about the schedule).
pub const RESTART_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between restarts of an actor that keeps panicking.
pub const MAX_RESTART_DELAY: Duration = Duration::from_secs(60);

pub(crate) struct Mailbox<C> {
    commands: mpsc::UnboundedSender<C>,
    inbox: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<C>>>,
    started: AtomicBool,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl<C: Send + 'static> Mailbox<C> {
    pub fn new() -> Self {
        let (commands, inbox) = mpsc::unbounded_channel();
        Self {
            commands,
            inbox: Arc::new(tokio::sync::Mutex::new(inbox)),
            started: AtomicBool::new(false),
            task: Mutex::new(None),
        }
    }

    /// Sends a command; one sent after the actor ended is dropped.
    pub fn send(&self, command: C) {
        let _ = self.commands.send(command);
    }

    /// Starts the actor `name` (once) on `runtime`. `run` is called with the inbox for
    /// each run: once, and again after a panic.
    pub fn start<F, Fut>(&self, runtime: &tokio::runtime::Handle, name: &'static str, run: F)
    where
        F: Fn(Inbox<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        if self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let inbox = Arc::clone(&self.inbox);
        let runtime_for_runs = runtime.clone();
        let task = runtime.spawn(async move {
            let mut delay = RESTART_DELAY;
            loop {
                let held = Arc::clone(&inbox).lock_owned().await;
                match runtime_for_runs.spawn(run(held)).await {
                    Ok(()) => return,
                    Err(err) if err.is_panic() => {
                        tracing::error!(
                            actor = name,
                            restart_in_ms = delay.as_millis() as u64,
                            "background actor stopped by a panic; restarting it"
                        );
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(MAX_RESTART_DELAY);
                    }
                    // Cancelled: the runtime is shutting down.
                    Err(_) => return,
                }
            }
        });
        *self.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    /// Sends the shutdown command `shutdown(reply)` and waits for the reply and the task.
    /// An actor that never started has nothing to stop; one that died without replying is
    /// not restarted again.
    pub async fn stop(&self, shutdown: impl FnOnce(oneshot::Sender<()>) -> C) {
        if !self.started.load(Ordering::SeqCst) {
            return;
        }
        let (reply, done) = oneshot::channel();
        let sent = self.commands.send(shutdown(reply)).is_ok();
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(mut task) = task else {
            return;
        };
        if sent {
            // The reply, unless the actor's task ends first (cancelled, or gone).
            tokio::select! {
                reply = done => {
                    if reply.is_err() {
                        task.abort();
                    }
                }
                _ = &mut task => return,
            }
        } else {
            task.abort();
        }
        let _ = task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    enum Command {
        Add(u32),
        Panic,
        Shutdown(oneshot::Sender<()>),
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_actor_is_restarted_and_keeps_its_queued_commands() {
        let total = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let runs = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let mailbox: Mailbox<Command> = Mailbox::new();
        let (t, r) = (Arc::clone(&total), Arc::clone(&runs));
        mailbox.start(
            &tokio::runtime::Handle::current(),
            "test",
            move |mut inbox| {
                let (total, runs) = (Arc::clone(&t), Arc::clone(&r));
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    while let Some(command) = inbox.recv().await {
                        match command {
                            Command::Add(n) => {
                                total.fetch_add(n, Ordering::SeqCst);
                            }
                            Command::Panic => panic!("a bug in the actor"),
                            Command::Shutdown(reply) => {
                                let _ = reply.send(());
                                return;
                            }
                        }
                    }
                }
            },
        );
        mailbox.send(Command::Add(1));
        mailbox.send(Command::Panic);
        mailbox.send(Command::Add(2));
        mailbox.send(Command::Panic);
        mailbox.send(Command::Add(4));
        // Paused time: the restart delays (1 s, then 2 s) pass as soon as all is idle.
        mailbox.stop(Command::Shutdown).await;
        assert_eq!(total.load(Ordering::SeqCst), 7, "no command was lost");
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "started once, restarted twice"
        );
    }

    #[tokio::test]
    async fn an_actor_that_never_started_stops_at_once() {
        let mailbox: Mailbox<Command> = Mailbox::new();
        mailbox.stop(Command::Shutdown).await;
    }
}

//! What every background actor shares: a command channel, a task started once, and a
//! shutdown that is a command with a reply, awaited. The keeper and the notification
//! service are built on it, and the sync engines will be.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub(crate) struct Mailbox<C> {
    commands: mpsc::UnboundedSender<C>,
    /// Taken by [`Mailbox::start`]; still here means the actor never started.
    inbox: Mutex<Option<mpsc::UnboundedReceiver<C>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl<C: Send + 'static> Mailbox<C> {
    pub fn new() -> Self {
        let (commands, inbox) = mpsc::unbounded_channel();
        Self {
            commands,
            inbox: Mutex::new(Some(inbox)),
            task: Mutex::new(None),
        }
    }

    /// Sends a command; one sent after the actor ended is dropped.
    pub fn send(&self, command: C) {
        let _ = self.commands.send(command);
    }

    /// Starts the actor (once) on `runtime`, with the inbox.
    pub fn start<F, Fut>(&self, runtime: &tokio::runtime::Handle, run: F)
    where
        F: FnOnce(mpsc::UnboundedReceiver<C>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Some(inbox) = self.inbox.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        let task = runtime.spawn(run(inbox));
        *self.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    /// Sends the shutdown command `shutdown(reply)` and waits for the reply and the task.
    /// An actor that never started has nothing to stop.
    pub async fn stop(&self, shutdown: impl FnOnce(oneshot::Sender<()>) -> C) {
        if self
            .inbox
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .is_some()
        {
            return;
        }
        let (reply, done) = oneshot::channel();
        if self.commands.send(shutdown(reply)).is_ok() {
            let _ = done.await;
        }
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

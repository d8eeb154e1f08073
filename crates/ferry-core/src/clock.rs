//! Injected time. Business logic asks a [`Clock`], never the system, so tests can move
//! time forward without sleeping.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

/// A future that completes when a clock reaches a moment.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> DateTime<Utc>;

    /// Completes once `now() >= deadline`. Background work waits on this, never on the
    /// runtime's timer directly, so tests and benchmarks can move time.
    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that may read the wall clock
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep {
        let wait = (deadline - self.now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that only moves when told to; sleepers wake as it passes their deadline.
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: watch::Sender::new(start),
        }
    }

    pub fn advance(&self, by: Duration) {
        self.now.send_modify(|now| *now += by);
    }

    pub fn set(&self, to: DateTime<Utc>) {
        self.now.send_replace(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep {
        let mut changes = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as the clock; if it is gone, never wake.
            if changes.wait_for(|now| *now >= deadline).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).expect("valid timestamp");
        let clock = ManualClock::new(start);
        assert_eq!(
            clock.now(),
            start,
            "a new manual clock reads its start time"
        );
        clock.advance(Duration::minutes(90));
        assert_eq!(
            clock.now(),
            start + Duration::minutes(90),
            "advance adds exactly"
        );
    }

    #[tokio::test]
    async fn manual_sleepers_wake_when_the_clock_passes_their_deadline() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).expect("valid timestamp");
        let clock = std::sync::Arc::new(ManualClock::new(start));
        let sleeper = tokio::spawn(clock.sleep_until(start + Duration::minutes(5)));
        clock.advance(Duration::minutes(4));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished(), "not yet");
        clock.advance(Duration::minutes(1));
        tokio::time::timeout(std::time::Duration::from_secs(5), sleeper)
            .await
            .expect("woke")
            .expect("joined");
        clock.set(start);
        assert_eq!(clock.now(), start, "set jumps to the given time");
    }
}

//! A request budget per provider identity (one Gmail user, one Graph mailbox), shared by
//! every sync that spends it: units per sliding minute below the provider's quota, a cap
//! on calls at once below the provider's concurrency limit, and a pause for everyone when
//! the provider says `Retry-After`. Ferry waits for room rather than drawing a 429.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::clock::Clock;

/// A budget's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Units Ferry may spend in any minute.
    pub units_per_minute: u64,
    /// Calls Ferry keeps in flight at once.
    pub concurrent: usize,
}

impl Limits {
    /// Gmail, for a project with `quota` units per user per minute: 90% of it (the rest
    /// is the user's other clients' margin); the per-user concurrency cap is undocumented
    /// (about 10), so 8.
    pub fn gmail(quota: u64) -> Limits {
        Limits {
            units_per_minute: quota / 10 * 9,
            concurrent: 8,
        }
    }

    /// Graph, per mailbox: 10,000 requests per 10 minutes (1 unit each) and 4 at once.
    pub const GRAPH: Limits = Limits {
        units_per_minute: 900,
        concurrent: 4,
    };
}

#[derive(Debug)]
struct Window {
    spent: VecDeque<(DateTime<Utc>, u64)>,
    paused_until: Option<DateTime<Utc>>,
}

/// One identity's budget; cheap to clone, shared by its syncs.
#[derive(Debug, Clone)]
pub struct Budget {
    limits: Limits,
    clock: Arc<dyn Clock>,
    window: Arc<Mutex<Window>>,
    slots: Arc<Semaphore>,
}

/// Held while a call is in flight.
#[derive(Debug)]
pub struct Spent {
    _slot: OwnedSemaphorePermit,
}

impl Budget {
    pub fn new(limits: Limits, clock: Arc<dyn Clock>) -> Self {
        Self {
            limits,
            clock,
            window: Arc::new(Mutex::new(Window {
                spent: VecDeque::new(),
                paused_until: None,
            })),
            slots: Arc::new(Semaphore::new(limits.concurrent.max(1))),
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn window(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When `units` more fit, or `None` if they fit now (and are then recorded).
    fn try_spend(&self, units: u64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut window = self.window();
        if let Some(until) = window.paused_until.filter(|until| *until > now) {
            return Some(until);
        }
        while window
            .spent
            .front()
            .is_some_and(|(at, _)| now - *at >= Duration::minutes(1))
        {
            window.spent.pop_front();
        }
        let used: u64 = window.spent.iter().map(|(_, u)| u).sum();
        let units = units.min(self.limits.units_per_minute);
        if used + units <= self.limits.units_per_minute {
            window.spent.push_back((now, units));
            return None;
        }
        // Wait until enough of the oldest spending leaves the minute.
        let mut freed = 0;
        for (at, spent) in &window.spent {
            freed += spent;
            if used - freed + units <= self.limits.units_per_minute {
                return Some(*at + Duration::minutes(1));
            }
        }
        Some(now + Duration::minutes(1))
    }

    /// Waits (on the injected clock) until `units` fit in the minute and a slot is free.
    pub async fn spend(&self, units: u64) -> Spent {
        self.spend_slots(units, 1).await
    }

    /// Spends `units` on one request that runs `slots` calls at once at the provider (a
    /// Graph `$batch`): it holds that many of the slots (at most all of them).
    pub async fn spend_slots(&self, units: u64, slots: usize) -> Spent {
        let held = u32::try_from(slots.clamp(1, self.limits.concurrent.max(1))).unwrap_or(1);
        let slot = Arc::clone(&self.slots)
            .acquire_many_owned(held)
            .await
            .unwrap_or_else(|_| unreachable!("the budget never closes its slots"));
        loop {
            let now = self.clock.now();
            match self.try_spend(units, now) {
                None => return Spent { _slot: slot },
                Some(at) => self.clock.sleep_until(at.max(now)).await,
            }
        }
    }

    /// The provider asked for a pause (`Retry-After`, or a throttling answer): every call
    /// of this identity waits until `until`.
    pub fn pause_until(&self, until: DateTime<Utc>) {
        let mut window = self.window();
        window.paused_until = Some(window.paused_until.map_or(until, |p| p.max(until)));
    }

    /// Units spent in the last minute.
    pub fn spent_last_minute(&self) -> u64 {
        let now = self.clock.now();
        self.window()
            .spent
            .iter()
            .filter(|(at, _)| now - *at < Duration::minutes(1))
            .map(|(_, u)| u)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn spending_waits_for_the_minute_to_free_room_and_pauses_are_shared() {
        let clock = Arc::new(ManualClock::new(
            DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        ));
        let budget = Budget::new(
            Limits {
                units_per_minute: 100,
                concurrent: 2,
            },
            clock.clone(),
        );
        for _ in 0..5 {
            drop(budget.spend(20).await);
        }
        assert_eq!(budget.spent_last_minute(), 100);
        let waiting = {
            let budget = budget.clone();
            tokio::spawn(async move { drop(budget.spend(20).await) })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "no room in this minute");
        clock.advance(Duration::seconds(61));
        tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("room again after a minute")
            .expect("task");

        budget.pause_until(clock.now() + Duration::seconds(30));
        let paused = {
            let budget = budget.clone();
            tokio::spawn(async move { drop(budget.spend(1).await) })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!paused.is_finished(), "Retry-After holds every call");
        clock.advance(Duration::seconds(31));
        tokio::time::timeout(std::time::Duration::from_secs(5), paused)
            .await
            .expect("resumes after the pause")
            .expect("task");
    }

    #[tokio::test]
    async fn no_more_than_the_concurrency_cap_are_in_flight() {
        let clock = Arc::new(ManualClock::new(
            DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        ));
        let budget = Budget::new(
            Limits {
                units_per_minute: 1_000,
                concurrent: 2,
            },
            clock,
        );
        let a = budget.spend(1).await;
        let _b = budget.spend(1).await;
        let third = {
            let budget = budget.clone();
            tokio::spawn(async move { drop(budget.spend(1).await) })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!third.is_finished());
        drop(a);
        tokio::time::timeout(std::time::Duration::from_secs(5), third)
            .await
            .expect("a slot freed")
            .expect("task");
    }

    #[tokio::test]
    async fn a_batch_holds_a_slot_for_each_call_it_runs_at_once() {
        let clock = Arc::new(ManualClock::new(
            DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        ));
        let budget = Budget::new(
            Limits {
                units_per_minute: 1_000,
                concurrent: 4,
            },
            clock,
        );
        let single = budget.spend(1).await;
        // Asking for more than there are holds all of them, once the single one is done.
        let batch = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.spend_slots(20, 20).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!batch.is_finished(), "three slots free are not enough");
        drop(single);
        let held = tokio::time::timeout(std::time::Duration::from_secs(5), batch)
            .await
            .expect("the slots freed")
            .expect("task");
        let another = {
            let budget = budget.clone();
            tokio::spawn(async move { drop(budget.spend(1).await) })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!another.is_finished(), "the batch holds every slot");
        drop(held);
        tokio::time::timeout(std::time::Duration::from_secs(5), another)
            .await
            .expect("a slot freed")
            .expect("task");
    }
}

//! Quotas as the providers apply them: Gmail charges quota units per method against a
//! per-user budget per minute; Graph allows a number of requests per 10 minutes and a
//! number of concurrent requests per app and mailbox (`shared/provider-reference.md` §3).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// Which of Gmail's published quota tables applies (§3.1): the page of 2026 (for Cloud
/// projects created since May 2026) or the one of 2024-25.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum GmailProfile {
    #[default]
    #[serde(rename = "2026")]
    Y2026,
    #[serde(rename = "2024")]
    Y2024,
}

impl GmailProfile {
    /// Units per user per minute.
    pub fn units_per_user_per_min(self) -> u64 {
        match self {
            GmailProfile::Y2026 => 6_000,
            GmailProfile::Y2024 => 15_000,
        }
    }
}

/// Gmail quota units per method under `profile` (the 2024-25 table differs in
/// `messages.get` and `attachments.get`: 5 instead of 20).
pub fn gmail_method_cost(profile: GmailProfile, method: &str) -> u64 {
    match method {
        "users.getProfile" | "users.labels.list" | "users.labels.get" => 1,
        "users.history.list" => 2,
        "users.messages.list" | "users.messages.modify" => 5,
        "users.threads.list" | "users.threads.modify" => 10,
        "users.messages.get" | "users.messages.attachments.get" => match profile {
            GmailProfile::Y2026 => 20,
            GmailProfile::Y2024 => 5,
        },
        "users.threads.get" => 40,
        "users.messages.batchModify" => 50,
        "users.messages.send" => 100,
        _ => 5,
    }
}

/// Why a request was refused, and when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after: Duration,
    pub reason: ThrottleReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleReason {
    /// Gmail `userRateLimitExceeded`.
    GmailUserRate,
    /// Graph: over 10,000 requests in 10 minutes for this app and mailbox.
    GraphRequests,
    /// Graph: over 4 concurrent requests for this app and mailbox.
    GraphConcurrency,
    /// Gmail: "Too many concurrent requests for user".
    GmailConcurrency,
}

const MINUTE: Duration = Duration::from_secs(60);
const TEN_MINUTES: Duration = Duration::from_secs(600);

#[derive(Debug, Default)]
pub struct Quotas {
    gmail: Mutex<HashMap<String, VecDeque<(SystemTime, u64)>>>,
    graph: Mutex<HashMap<(String, String), VecDeque<SystemTime>>>,
    in_flight: Arc<Mutex<HashMap<(String, String), usize>>>,
}

/// Holds one of a mailbox's concurrent request slots until dropped.
#[derive(Debug)]
pub struct Permit {
    key: (String, String),
    in_flight: Arc<Mutex<HashMap<(String, String), usize>>>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = in_flight.get_mut(&self.key) {
            *count = count.saturating_sub(1);
        }
    }
}

impl Quotas {
    /// Charges `method`'s units to `user` at `now`, or refuses when the last minute's
    /// units plus these would exceed `limit`.
    pub fn charge_gmail(
        &self,
        user: &str,
        cost: u64,
        now: SystemTime,
        limit: u64,
    ) -> Result<(), Throttled> {
        let mut all = self.gmail.lock().unwrap_or_else(|p| p.into_inner());
        let window = all.entry(user.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at).unwrap_or_default() >= MINUTE)
        {
            window.pop_front();
        }
        let used: u64 = window.iter().map(|(_, units)| units).sum();
        if used + cost > limit {
            let oldest = window.front().map(|(at, _)| *at).unwrap_or(now);
            let retry_after = MINUTE.saturating_sub(now.duration_since(oldest).unwrap_or_default());
            return Err(Throttled {
                retry_after: retry_after.max(Duration::from_secs(1)),
                reason: ThrottleReason::GmailUserRate,
            });
        }
        window.push_back((now, cost));
        Ok(())
    }

    /// Takes one of `user`'s concurrent Gmail slots (shared by all the user's clients),
    /// or refuses when `cap` are in use.
    pub fn enter_gmail(&self, user: &str, cap: usize) -> Result<Permit, Throttled> {
        self.enter_slot(
            ("gmail".to_owned(), user.to_owned()),
            cap,
            Throttled {
                retry_after: Duration::from_secs(1),
                reason: ThrottleReason::GmailConcurrency,
            },
        )
    }

    fn enter_slot(
        &self,
        key: (String, String),
        cap: usize,
        refusal: Throttled,
    ) -> Result<Permit, Throttled> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let count = in_flight.entry(key.clone()).or_default();
        if *count >= cap {
            return Err(refusal);
        }
        *count += 1;
        Ok(Permit {
            key,
            in_flight: Arc::clone(&self.in_flight),
        })
    }

    /// Admits one Graph request for `app` on `mailbox`, or refuses it.
    pub fn enter_graph(
        &self,
        app: &str,
        mailbox: &str,
        now: SystemTime,
        per_10_min: u64,
        concurrent: usize,
        retry_after: Duration,
    ) -> Result<Permit, Throttled> {
        let key = (app.to_owned(), mailbox.to_owned());
        let permit = self.enter_slot(
            key.clone(),
            concurrent,
            Throttled {
                retry_after,
                reason: ThrottleReason::GraphConcurrency,
            },
        )?;
        let mut all = self.graph.lock().unwrap_or_else(|p| p.into_inner());
        let window = all.entry(key).or_default();
        while window
            .front()
            .is_some_and(|at| now.duration_since(*at).unwrap_or_default() >= TEN_MINUTES)
        {
            window.pop_front();
        }
        // A refused request still counts against the limit, as at Graph.
        window.push_back(now);
        if window.len() as u64 > per_10_min {
            return Err(Throttled {
                retry_after,
                reason: ThrottleReason::GraphRequests,
            });
        }
        Ok(permit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    #[test]
    fn gmail_charges_units_per_method_within_a_sliding_minute() {
        let q = Quotas::default();
        let cost = |method| gmail_method_cost(GmailProfile::Y2026, method);
        assert_eq!(
            gmail_method_cost(GmailProfile::Y2024, "users.messages.get"),
            5
        );
        // 2026 table: messages.get costs 20, so 300 fit in 6,000 units.
        for _ in 0..300 {
            q.charge_gmail("u", cost("users.messages.get"), at(0), 6_000)
                .expect("within quota");
        }
        let refused = q
            .charge_gmail("u", cost("users.getProfile"), at(30), 6_000)
            .expect_err("over quota");
        assert_eq!(refused.reason, ThrottleReason::GmailUserRate);
        assert_eq!(
            refused.retry_after,
            Duration::from_secs(30),
            "until the oldest unit leaves the window"
        );
        assert!(
            q.charge_gmail("other", cost("users.getProfile"), at(30), 6_000)
                .is_ok(),
            "quotas are per user"
        );
        assert!(
            q.charge_gmail("u", cost("users.getProfile"), at(60), 6_000)
                .is_ok(),
            "the window slid past"
        );
    }

    #[test]
    fn graph_limits_requests_per_ten_minutes_and_concurrency_per_mailbox() {
        let q = Quotas::default();
        let retry = Duration::from_secs(2);
        let permits: Vec<_> = (0..4)
            .map(|_| {
                q.enter_graph("app", "box", at(0), 10_000, 4, retry)
                    .expect("admitted")
            })
            .collect();
        let fifth = q
            .enter_graph("app", "box", at(0), 10_000, 4, retry)
            .expect_err("5th concurrent");
        assert_eq!(fifth.reason, ThrottleReason::GraphConcurrency);
        assert!(
            q.enter_graph("app", "other-box", at(0), 10_000, 4, retry)
                .is_ok(),
            "per mailbox"
        );
        drop(permits);

        let q = Quotas::default();
        let enter = |secs| q.enter_graph("app", "box", at(secs), 3, 4, retry).map(drop);
        for _ in 0..3 {
            enter(0).expect("admitted");
        }
        let over = enter(300).expect_err("4th in 10 minutes");
        assert_eq!(over.reason, ThrottleReason::GraphRequests);
        // At 600 s the three from 0 s have left the window; what remains is the refused
        // request from 300 s. Two more fit only if that one did not count.
        enter(600).expect("admitted");
        assert!(enter(600).is_ok(), "refused one + 2 = 3, within the limit");
        assert!(
            enter(600).is_err(),
            "refused one + 3 = 4: the refused request counted"
        );
        assert!(enter(1200).is_ok(), "a new window");
    }
}

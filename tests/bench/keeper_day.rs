//! Benchmark: the keeper looking after 100 accounts (50 Google, 50 Microsoft) with
//! 60-minute access tokens for one simulated day, against the in-process provider
//! sandbox. Ferry's clock and the sandbox's move together, a minute at a time.
//!
//! Prints: refresh calls (and per account per token), peak concurrent refresh requests,
//! CPU time, and the scheduler's wake-ups, overall and in minutes when nothing was due.
//! Run with `make bench` (or `cargo bench -p ferry-core --bench keeper_day`).

#![allow(clippy::print_stdout, clippy::unwrap_used)] // a benchmark prints its figures

#[path = "../core/support.rs"]
#[allow(dead_code)] // the benchmark uses part of what the tests share
mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use ferry_core::oauth::{CalendarAccess, ServiceChoice};
use ferry_core::providers::Provider;
use ferry_sandbox::browser::Person;
use ferry_sandbox::world::{NewUser, Provider as SandboxProvider};
use ferry_sandbox::{Sandbox, SandboxOptions};

const ACCOUNTS: usize = 100;
const MINUTES: i64 = 24 * 60;

/// User plus system CPU time of this process (Ferry's core and the sandbox together).
fn cpu_time() -> StdDuration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is 14th, stime 15th.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15; `after` starts at field 3.
    let total = ticks(11) + ticks(12);
    StdDuration::from_millis(total * 10) // USER_HZ is 100 on Linux
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    let mut config = sandbox.world().config();
    config.google.access_token_ttl_s = 3600;
    config.microsoft.access_token_ttl_min_s = 3600;
    config.microsoft.access_token_ttl_max_s = 3600;
    sandbox.world().set_config(config);

    // Ferry's clock and the sandbox's start now and move together.
    let mut w = support::World::build()
        .sandbox(sandbox)
        .manual_time()
        .start()
        .await;

    // Calendar and contacts only: this measures keeping tokens alive. With Mail the
    // keeper would also poll every mailbox each minute (mail sync's cost is its own figure).
    let services = ServiceChoice {
        mail: false,
        calendar: Some(CalendarAccess::Read),
        contacts: true,
    };
    let started = Instant::now();
    for i in 0..ACCOUNTS {
        let (provider, sandbox_provider, email) = if i % 2 == 0 {
            (
                Provider::Google,
                SandboxProvider::Google,
                format!("user{i}@example.com"),
            )
        } else {
            (
                Provider::Microsoft,
                SandboxProvider::Microsoft,
                format!("user{i}@outlook.example"),
            )
        };
        w.sandbox.world().add_user(NewUser {
            provider: Some(sandbox_provider),
            email: email.clone(),
            name: format!("User {i}"),
            password: Some("pw".into()),
            tenant: None,
            hosted_domain: None,
        });
        support::add_account(&mut w.ferry, provider, services, Person::new(&email, "pw")).await;
    }
    println!(
        "signed in {ACCOUNTS} accounts in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let core = Arc::clone(w.core());
    let stats = core.keeper_stats();
    let refresh_log = |s: &Sandbox| {
        s.world()
            .log
            .count("google", "/token", Some("refresh_token"))
            + s.world()
                .log
                .count("microsoft", "/token", Some("refresh_token"))
    };
    core.start_keeper();
    // Let the first pass settle.
    while stats.passes.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(StdDuration::from_millis(1)).await;
    }

    let cpu_before = cpu_time();
    let wall = Instant::now();
    let wakeups_before = stats.wakeups.load(Ordering::SeqCst);
    let mut idle_minutes = 0;
    let mut max_idle_wakeups = 0;
    for _ in 0..MINUTES {
        let refreshes = refresh_log(&w.sandbox);
        let wakeups = stats.wakeups.load(Ordering::SeqCst);
        let passes = stats.passes.load(Ordering::SeqCst);
        w.advance(Duration::minutes(1));
        // Wait for the keeper to wake and finish what this minute brought.
        while stats.passes.load(Ordering::SeqCst) == passes {
            tokio::time::sleep(StdDuration::from_micros(200)).await;
        }
        while stats.in_flight.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(StdDuration::from_micros(200)).await;
        }
        tokio::time::sleep(StdDuration::from_millis(2)).await;
        if refresh_log(&w.sandbox) == refreshes {
            idle_minutes += 1;
            let woke = stats.wakeups.load(Ordering::SeqCst) - wakeups;
            max_idle_wakeups = max_idle_wakeups.max(woke);
        }
    }
    let cpu = cpu_time() - cpu_before;
    let calls = refresh_log(&w.sandbox);
    let per_account = calls as f64 / ACCOUNTS as f64;
    // With 60-minute tokens refreshed 5 minutes early, each token lasts 55 minutes.
    let tokens_per_day = MINUTES as f64 / 55.0;
    let healthy = core
        .list_accounts()
        .await
        .unwrap()
        .iter()
        .filter(|a| a.health.state == ferry_core::store::health::HealthState::Healthy)
        .count();

    println!(
        "simulated day: {MINUTES} minutes in {:.1} s of wall time",
        wall.elapsed().as_secs_f64()
    );
    println!("refresh calls: {calls} ({per_account:.1} per account; one per token is {tokens_per_day:.1})");
    println!(
        "refresh calls per account per token: {:.2}",
        per_account / tokens_per_day
    );
    println!(
        "peak concurrent refresh requests: {}",
        stats.peak_in_flight.load(Ordering::SeqCst)
    );
    println!(
        "CPU time over the day (an upper bound: Ferry's core, the in-process sandbox serving every refresh, and this benchmark's own stepping): {:.2} s",
        cpu.as_secs_f64()
    );
    println!(
        "scheduler wake-ups: {} in {MINUTES} minutes; in the {idle_minutes} minutes with nothing due, at most {max_idle_wakeups} per minute",
        stats.wakeups.load(Ordering::SeqCst) - wakeups_before
    );
    println!("accounts healthy at the end: {healthy} of {ACCOUNTS}");
    core.shutdown().await;
}

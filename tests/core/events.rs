//! What reaches the shell: account changes coalesced per burst, progress of "Sync now",
//! and attention changes only when the accounts needing the user change (the tray listens
//! to nothing else).

use std::time::Duration as StdDuration;

use ferry_core::events::{Attention, CoreEvent, Progress, Task};
use ferry_core::providers::Provider;
use ferry_sandbox::browser::Person;

use crate::support::{add_account, World, MAIL_AND_CALENDAR};

/// A manual-time world with Ada's Google account, its sign-in events taken.
async fn with_ada() -> (World, String) {
    let mut w = World::build().manual_time().start().await;
    let id = add_account(
        &mut w.ferry,
        Provider::Google,
        MAIL_AND_CALENDAR,
        Person::new("ada@example.com", "ada"),
    )
    .await;
    w.core().start_keeper();
    w.settle().await;
    w.seen.clear();
    w.ferry.sink.take();
    (w, id)
}

/// "Sync now", then waits in real time (the manual clock stays put, so everything raised
/// falls into one coalescing window) until the keeper has finished the round.
async fn check_now_and_wait(w: &World) {
    use std::sync::atomic::Ordering::SeqCst;
    let stats = w.core().keeper_stats();
    // The round ends with a pass that finds nothing (more) to do.
    let idle_before = stats.idle_wakeups.load(SeqCst);
    w.core().check_now();
    for _ in 0..400 {
        if stats.idle_wakeups.load(SeqCst) > idle_before && stats.in_flight.load(SeqCst) == 0 {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    panic!("the check did not finish");
}

/// The payloads `pick` finds among `events`, in order.
fn picked<T>(events: &[CoreEvent], pick: impl Fn(&CoreEvent) -> Option<T>) -> Vec<T> {
    events.iter().filter_map(pick).collect()
}

fn changes(events: &[CoreEvent]) -> Vec<Vec<String>> {
    picked(events, |e| match e {
        CoreEvent::AccountsChanged(ids) => Some(ids.clone()),
        _ => None,
    })
}

fn attention(events: &[CoreEvent]) -> Vec<Vec<Attention>> {
    picked(events, |e| match e {
        CoreEvent::AttentionChanged(list) => Some(list.clone()),
        _ => None,
    })
}

fn progress(events: &[CoreEvent]) -> Vec<Progress> {
    picked(events, |e| match e {
        CoreEvent::Progress(p) => Some(p.clone()),
        _ => None,
    })
}

#[tokio::test]
async fn a_refresh_reaches_the_window_once_and_the_tray_not_at_all() {
    let (mut w, id) = with_ada().await;
    check_now_and_wait(&w).await;
    assert_eq!(
        w.sandbox
            .world()
            .log
            .count("google", "/token", Some("refresh_token")),
        1,
        "the check refreshed the token"
    );
    assert!(
        w.events().is_empty(),
        "nothing reaches the shell inside the window"
    );
    w.settle().await;
    let events = w.events().to_vec();
    // Working, then Healthy again: two changes raised, one delivered.
    assert_eq!(changes(&events), [vec![id]], "{events:?}");
    assert_eq!(
        progress(&events),
        [Progress {
            task: Task::CheckConnections,
            done: 1,
            total: 1
        }],
        "only the latest progress of the burst"
    );
    assert!(
        attention(&events).is_empty(),
        "nobody needs the user before or after: {events:?}"
    );
    w.core().shutdown().await;
}

#[tokio::test]
async fn the_tray_hears_when_an_account_needs_the_user_and_when_it_no_longer_does() {
    let (mut w, id) = with_ada().await;
    let world = w.sandbox.world();
    let user = world
        .find_user_by_email(ferry_sandbox::world::Provider::Google, "ada@example.com")
        .expect("user");
    assert!(world.revoke_grants(&user.id, None) > 0);

    check_now_and_wait(&w).await;
    w.settle().await;
    let events = w.events().to_vec();
    assert_eq!(
        attention(&events),
        [vec![Attention {
            account_id: id.clone(),
            email: "ada@example.com".into(),
            provider: Provider::Google,
            reason: ferry_core::views::AttentionReason::SignIn,
        }]],
        "{events:?}"
    );

    // Checking again leaves it waiting for the user: nothing new for the tray, and the
    // check has nothing to do.
    w.seen.clear();
    check_now_and_wait(&w).await;
    w.settle().await;
    let events = w.events().to_vec();
    assert!(attention(&events).is_empty(), "{events:?}");
    assert_eq!(
        progress(&events),
        [Progress {
            task: Task::CheckConnections,
            done: 0,
            total: 0
        }]
    );

    w.seen.clear();
    w.core().remove_account(&id).await.expect("remove");
    w.settle().await;
    let events = w.events().to_vec();
    assert_eq!(changes(&events), [vec![id]]);
    assert_eq!(attention(&events), [Vec::<Attention>::new()]);
    w.core().shutdown().await;
}

#[tokio::test]
async fn quitting_delivers_what_is_pending() {
    let (mut w, id) = with_ada().await;
    w.core().set_paused(&id, true).await.expect("pause");
    assert!(w.events().is_empty(), "still inside the window");
    w.core().shutdown().await;
    assert_eq!(changes(w.events()), [vec![id]]);
}

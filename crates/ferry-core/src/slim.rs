//! Giving the window's memory back (Linux). WebKitGTK keeps much of what a window loaded
//! after the window is gone: the pages of its libraries (WebKit, JavaScriptCore, Mesa's
//! LLVM), its allocations, and its network process. A tray app that has shown its window
//! once would carry that all day. So a while after the window closes, when nothing is in
//! flight that a restart would cut short, Ferry starts a fresh copy of itself in the tray
//! and quits; the copy waits for it to be gone before it takes over. Everything Ferry
//! knows is in the store and the keychain, so nothing is lost; a sign-in, a notification
//! waiting for a click, a notice for the next window, or an update waiting to install
//! holds the restart back until it is over.
//!
//! This module decides; the shell (`src-tauri/src/slim.rs`) times it and restarts.

use std::time::{Duration, Instant};

/// Milliseconds from the window closing to the restart; `off` turns slimming off.
pub const AFTER_ENV: &str = "FERRY_SLIM_AFTER_MS";
/// Set on the fresh copy: the process id of the Ferry it replaces.
pub const REPLACES_ENV: &str = "FERRY_REPLACES_PID";
/// A window reopened within this long after closing comes back without the restart.
pub const DEFAULT_AFTER: Duration = Duration::from_secs(10);
/// While something holds the restart back, Ferry looks again this often.
pub const RETRY: Duration = Duration::from_secs(5);
/// The fresh copy waits at most this long for the old one to quit, then starts anyway
/// (the single-instance lock then decides which of them runs).
pub const HANDOVER_LIMIT: Duration = Duration::from_secs(20);

/// How long after the window closes to restart, from [`AFTER_ENV`]; `None`: never.
/// An unreadable value falls back to the default rather than turning slimming off.
pub fn after(value: Option<&str>) -> Option<Duration> {
    match value.map(str::trim) {
        None | Some("") => Some(DEFAULT_AFTER),
        Some(v) if v.eq_ignore_ascii_case("off") => None,
        Some(v) => Some(v.parse().map_or(DEFAULT_AFTER, Duration::from_millis)),
    }
}

/// Something a restart now would cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holdup {
    /// The window is open again.
    Window,
    /// A sign-in waits for the browser to come back.
    SignIn,
    /// A desktop notification waits for a click (its actions go to this process).
    Notification,
    /// A notice waits for the next window.
    Notice,
    /// An update is being fetched, or waits for the user's word to install.
    Update,
}

impl Holdup {
    /// For the log.
    pub fn reason(self) -> &'static str {
        match self {
            Holdup::Window => "the window is open",
            Holdup::SignIn => "a sign-in is waiting for the browser",
            Holdup::Notification => "a notification is waiting for a click",
            Holdup::Notice => "a notice is waiting for the next window",
            Holdup::Update => "an update is being fetched or waits to install",
        }
    }
}

/// What to do when the timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing holds it back: restart now.
    Restart,
    /// The window came back: forget the restart.
    Cancel,
    /// Look again after [`RETRY`].
    Wait(Holdup),
}

/// The step for the holdups found now.
pub fn step(holdups: &[Holdup]) -> Step {
    if holdups.contains(&Holdup::Window) {
        Step::Cancel
    } else {
        holdups.first().map_or(Step::Restart, |&h| Step::Wait(h))
    }
}

/// The id in [`REPLACES_ENV`], if it names a process other than this one.
pub fn predecessor(value: Option<&str>, this: u32) -> Option<u32> {
    value
        .and_then(|v| v.trim().parse().ok())
        .filter(|&pid| pid != this && pid != 0)
}

/// Whether process `pid` is still running. A process that has exited but not yet been
/// reaped (a zombie) has let go of everything, its single-instance lock included, so it
/// counts as gone.
#[cfg(target_os = "linux")]
pub fn running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) state ...": comm may hold spaces and parentheses; the state follows
    // the last ')'.
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, Some("Z" | "X") | None)
}

/// Elsewhere Ferry does not slim down, so there is never a predecessor to wait for.
#[cfg(not(target_os = "linux"))]
pub fn running(_pid: u32) -> bool {
    false
}

/// Blocks until `running(pid)` is false or `limit` has passed; returns whether it ended.
pub fn wait_until_gone(pid: u32, limit: Duration, running: impl Fn(u32) -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if !running(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_comes_from_the_environment_and_can_be_turned_off() {
        assert_eq!(after(None), Some(DEFAULT_AFTER));
        assert_eq!(after(Some("1500")), Some(Duration::from_millis(1500)));
        assert_eq!(after(Some(" OFF ")), None);
        assert_eq!(after(Some("soon")), Some(DEFAULT_AFTER), "unreadable");
    }

    #[test]
    fn an_open_window_cancels_and_any_other_holdup_waits() {
        assert_eq!(step(&[]), Step::Restart);
        assert_eq!(
            step(&[Holdup::SignIn, Holdup::Notice]),
            Step::Wait(Holdup::SignIn)
        );
        assert_eq!(step(&[Holdup::Update, Holdup::Window]), Step::Cancel);
    }

    #[test]
    fn only_another_process_can_be_a_predecessor() {
        assert_eq!(predecessor(Some("4242"), 7), Some(4242));
        assert_eq!(predecessor(Some("7"), 7), None, "itself");
        assert_eq!(predecessor(Some("0"), 7), None);
        assert_eq!(predecessor(Some("x"), 7), None);
        assert_eq!(predecessor(None, 7), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_exited_process_counts_as_gone_before_it_is_reaped() {
        assert!(running(std::process::id()));
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("start `true`");
        let pid = child.id();
        // Not reaped yet: a zombie until `wait` below.
        assert!(wait_until_gone(pid, Duration::from_secs(10), running));
        assert!(
            std::fs::metadata(format!("/proc/{pid}")).is_ok(),
            "still a zombie"
        );
        child.wait().expect("reap");
        assert!(!running(pid));
    }

    #[test]
    fn waiting_gives_up_at_the_limit() {
        let started = Instant::now();
        assert!(!wait_until_gone(1, Duration::from_millis(100), |_| true));
        assert!(started.elapsed() >= Duration::from_millis(100));
    }
}

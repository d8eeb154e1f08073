//! Before anything else runs: make sure every command-line argument is text, because
//! `std::env::args()` (which Tauri's deep-link plugin calls at start-up) panics on one
//! that is not. If one is not, Ferry starts itself again without it
//! ([`ferry_core::args`]); the new process logs how many were left out.

use ferry_core::args::{text_arguments, DROPPED_ARGS_ENV};

/// Returns only when every argument is text; otherwise replaces the process.
pub fn ensure_text() {
    let args = text_arguments(std::env::args_os());
    if args.dropped == 0 {
        return;
    }
    if std::env::var_os(DROPPED_ARGS_ENV).is_some() {
        // Already restarted once and still not text: do not loop.
        eprintln!("ferry: the command line is not valid text; giving up");
        std::process::exit(2);
    }
    let program = match std::env::current_exe() {
        Ok(program) => program,
        Err(err) => {
            eprintln!("ferry: could not find its own executable to restart: {err}");
            std::process::exit(2);
        }
    };
    let mut command = std::process::Command::new(program);
    command
        .args(args.kept.iter().skip(1))
        .env(DROPPED_ARGS_ENV, args.dropped.to_string());
    #[cfg(unix)]
    if let Some(name) = args.kept.first() {
        use std::os::unix::process::CommandExt;
        command.arg0(name);
    }
    let err = run_instead(command);
    eprintln!("ferry: could not restart without the unreadable arguments: {err}");
    std::process::exit(2);
}

/// Runs `command` in place of this process: on Unix the same process (and pid) goes on
/// as it; elsewhere it runs and this process exits with its code. Returns only if it
/// could not be started.
pub fn run_instead(mut command: std::process::Command) -> std::io::Error {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.exec()
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(err) => err,
    }
}

/// How many arguments the previous process left out (0 if none); read once at start-up,
/// and taken out of the environment so that programs Ferry starts do not inherit it.
pub fn dropped_by_restart() -> usize {
    let count = std::env::var(DROPPED_ARGS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    std::env::remove_var(DROPPED_ARGS_ENV);
    count
}

/// The command line as text (every argument is, after [`ensure_text`]).
pub fn current() -> Vec<String> {
    text_arguments(std::env::args_os()).kept
}

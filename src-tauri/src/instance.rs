//! A second Ferry hands its command line to the running one over the single-instance
//! lock (a D-Bus name on Linux). If that Ferry is quitting at that moment, it still holds
//! the name but no longer answers, and the handover fails. The new Ferry then waits a
//! moment and starts again, once: by then the name is free and it becomes the running
//! Ferry (or hands over to one that answers).

use std::time::Duration;

/// Set in the second attempt's environment, so that a handover that fails again ends.
const RETRY_ENV: &str = "FERRY_INSTANCE_RETRY";

/// How long the quitting Ferry gets to let go of the name.
const PAUSE: Duration = Duration::from_millis(500);

/// Whether Ferry could not start because the running Ferry did not take its handover.
/// (tauri-plugin-single-instance says so only in its error's text.)
pub fn handover_failed(message: &str) -> bool {
    message.contains("failed to forward arguments to the running instance")
}

/// Starts this Ferry again with the same arguments, after [`PAUSE`]; returns if this is
/// already the second attempt, or if it cannot.
pub fn start_again() {
    if std::env::var_os(RETRY_ENV).is_some() {
        return;
    }
    let Ok(program) = std::env::current_exe() else {
        return;
    };
    std::thread::sleep(PAUSE);
    let mut command = std::process::Command::new(program);
    command
        .args(std::env::args_os().skip(1))
        .env(RETRY_ENV, "1");
    let err = crate::args::run_instead(command);
    eprintln!("ferry: could not start again: {err}");
}

/// Takes the retry mark out of the environment, so that Ferrys this one starts (a
/// restart in the tray, an update) get their own retry.
pub fn forget_retry() {
    std::env::remove_var(RETRY_ENV);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_failed_handover_is_retried() {
        assert!(handover_failed(
            "failed to initialize plugin `single-instance`: failed to forward arguments to the \
             running instance: org.freedesktop.DBus.Error.NoReply: Message recipient \
             disconnected from message bus without replying"
        ));
        assert!(!handover_failed(
            "failed to initialize plugin `deep-link`: no scheme"
        ));
    }
}

//! "Copy diagnostics": what support needs to help someone, and nothing it must not see.
//! Versions, the operating system and desktop, which keychain holds the vault key, each
//! account's provider and health (never its address), and the last lines of the log
//! with anything that looks like an address or a token masked.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use chrono::{DateTime, SecondsFormat, Utc};
use regex::Regex;

use crate::logging::LOG_FILE_PREFIX;
use crate::profile::Profile;
use crate::views::AccountView;

/// How many log lines the report carries.
pub const LOG_LINES: usize = 200;

/// What the shell knows about the machine and itself.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// The operating system, as readable as the shell can make it ("Debian GNU/Linux 12").
    pub os: String,
    /// `XDG_CURRENT_DESKTOP` or the like; `None` where there is no such thing.
    pub desktop: Option<String>,
    /// The webview engine's version, where the shell can read it.
    pub webview: Option<String>,
    /// The shell framework's version (Tauri).
    pub shell: String,
}

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")
        .expect("a fixed pattern compiles")
});
/// Long runs of token-like characters: access and refresh tokens, codes, verifiers, JWTs.
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9_\-~+/.]{32,}=*").expect("a fixed pattern compiles"));

/// Masks e-mail addresses and token-like strings in a log line. Log lines should hold
/// neither (Ferry never logs a secret, and logs accounts by id), so this is a second
/// line of defence for text that leaves the machine.
pub fn redact(line: &str) -> String {
    let line = ADDRESS.replace_all(line, "<address>");
    TOKEN.replace_all(&line, "<redacted>").into_owned()
}

/// The last `n` lines across the log files in `dir`, oldest first.
pub fn last_log_lines(dir: &Path, n: usize) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(LOG_FILE_PREFIX) && name.ends_with(".log"))
        })
        .collect();
    // Daily files are named by date, so their names sort in time order.
    files.sort();
    let mut lines: Vec<String> = Vec::new();
    for file in files.iter().rev() {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut these: Vec<String> = text.lines().map(str::to_owned).collect();
        let wanted = n - lines.len();
        if these.len() > wanted {
            these.drain(..these.len() - wanted);
        }
        these.append(&mut lines);
        lines = these;
        if lines.len() >= n {
            break;
        }
    }
    lines
}

/// Everything the report says, gathered by the core and the shell.
pub struct Facts<'a> {
    pub version: &'a str,
    pub profile: Profile,
    /// Some provider is the local sandbox.
    pub sandbox: bool,
    pub machine: &'a Machine,
    pub keychain: &'a str,
    pub accounts: &'a [AccountView],
    pub log: &'a [String],
    pub now: DateTime<Utc>,
}

/// The report as plain text, ready to paste into a message.
pub fn report(facts: &Facts<'_>) -> String {
    let mut out = String::new();
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    let _ = writeln!(out, "Ferry diagnostics, {}", at(facts.now));
    let _ = writeln!(
        out,
        "Ferry {} ({:?} build{})",
        facts.version,
        facts.profile,
        if facts.sandbox {
            ", provider sandbox"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "Shell: Tauri {}", facts.machine.shell);
    if let Some(webview) = &facts.machine.webview {
        let _ = writeln!(out, "Webview: {webview}");
    }
    let _ = writeln!(
        out,
        "System: {} ({}, {})",
        facts.machine.os,
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    let _ = writeln!(
        out,
        "Desktop: {}",
        facts.machine.desktop.as_deref().unwrap_or("none reported")
    );
    let _ = writeln!(out, "Keychain: {}", facts.keychain);
    let _ = writeln!(out, "\nAccounts: {}", facts.accounts.len());
    for (i, account) in facts.accounts.iter().enumerate() {
        let services: Vec<String> = account
            .services
            .iter()
            .filter(|s| s.requested)
            .map(|s| {
                let granted = if s.granted { "" } else { " (not granted)" };
                format!("{}{granted}", s.service.as_str())
            })
            .collect();
        let health = &account.health;
        let _ = write!(
            out,
            "{}. {} – {:?} since {}",
            i + 1,
            account.provider,
            health.state,
            at(health.since)
        );
        if let Some(code) = &health.code {
            let _ = write!(out, ", code {code}");
        }
        if let Some(next) = health.next_try_at {
            let _ = write!(out, ", next try {}", at(next));
        }
        if let Some(refreshed) = health.last_refresh_at {
            let _ = write!(out, ", refreshed {}", at(refreshed));
        }
        let _ = writeln!(out, "; services: {}", services.join(", "));
    }
    let _ = writeln!(out, "\nLast {} log lines:", facts.log.len());
    for line in facts.log {
        let _ = writeln!(out, "{}", redact(line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_tokens_are_masked_and_the_rest_kept() {
        let line =
            "2026-11-30T04:00:00Z INFO sign-in ended email=ada.lovelace+work@mail.example.co.uk \
                    code=4/0AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abc provider=Google";
        let out = redact(line);
        assert!(!out.contains("ada.lovelace"), "{out}");
        assert!(!out.contains("AbCdEfGh"), "{out}");
        assert!(
            out.contains("<address>") && out.contains("<redacted>"),
            "{out}"
        );
        assert!(out.contains("INFO sign-in ended") && out.contains("provider=Google"));
        assert_eq!(
            redact("keeper stopped; work in flight finished in_flight=1"),
            "keeper stopped; work in flight finished in_flight=1"
        );
    }

    #[test]
    fn the_last_lines_come_from_the_newest_files_oldest_first() {
        let dir = tempfile::tempdir().expect("dir");
        let write = |name: &str, lines: std::ops::Range<usize>| {
            let text: String = lines.map(|i| format!("line {i}\n")).collect();
            std::fs::write(dir.path().join(name), text).expect("write");
        };
        write("ferry.2026-11-28.log", 0..150);
        write("ferry.2026-11-29.log", 150..250);
        write("ferry.2026-11-30.log", 250..300);
        write("other.log", 1000..1001);
        let lines = last_log_lines(dir.path(), LOG_LINES);
        assert_eq!(lines.len(), LOG_LINES);
        assert_eq!(lines.first().map(String::as_str), Some("line 100"));
        assert_eq!(lines.last().map(String::as_str), Some("line 299"));
        assert!(last_log_lines(&dir.path().join("missing"), 10).is_empty());
    }
}

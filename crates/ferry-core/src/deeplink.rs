//! `ferry://` URLs, parsed against an allowlist.
//!
//! Anything can open a `ferry://` URL: a browser, another app, a web page. So a link is
//! untrusted input. It is parsed into a [`DeepLink`] or rejected with a [`DeepLinkError`];
//! nothing here panics, and nothing a link carries (codes, state) is logged: use
//! [`DeepLink::describe`] for log lines.
//!
//! The allowlist today:
//! - `ferry://oauth/microsoft?code=…&state=…` (or `error=…&state=…`): the end of a Microsoft
//!   sign-in. Google refuses custom schemes for desktop clients, so it returns over loopback.

use std::fmt;

use url::Url;

use crate::oauth::callback::truncate_for_log;
pub use crate::oauth::callback::{CallbackError, CallbackOutcome, OAuthCallback};
use crate::providers::Provider;

/// The URL scheme Ferry registers with the OS.
pub const SCHEME: &str = "ferry";

/// Longer links are refused unread. Authorization codes run to about 2 KB at Microsoft;
/// this leaves room for state and provider extras while bounding the work an attacker
/// can cause.
const MAX_LINK_LEN: usize = 8 * 1024;

/// A link Ferry understands.
#[derive(Debug)]
pub enum DeepLink {
    OAuthCallback(OAuthCallback),
}

impl DeepLink {
    /// A description that is safe to log: the route and the parameter names, no values.
    pub fn describe(&self) -> String {
        match self {
            DeepLink::OAuthCallback(callback) => callback.describe(),
        }
    }
}

/// Why a link was refused. The messages name what was wrong, never the values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeepLinkError {
    #[error("the link is longer than {MAX_LINK_LEN} characters")]
    TooLong,
    #[error("the link is not a valid URL")]
    NotAUrl,
    #[error("the link is not a {SCHEME}:// link")]
    WrongScheme,
    #[error("Ferry does not know the link route {0:?}")]
    UnknownRoute(String),
    #[error(transparent)]
    Callback(#[from] CallbackError),
}

impl DeepLink {
    /// Parses a raw string as handed over by the OS.
    pub fn parse(raw: &str) -> Result<Self, DeepLinkError> {
        if raw.len() > MAX_LINK_LEN {
            return Err(DeepLinkError::TooLong);
        }
        let url = Url::parse(raw.trim()).map_err(|_| DeepLinkError::NotAUrl)?;
        Self::try_from(&url)
    }
}

impl TryFrom<&Url> for DeepLink {
    type Error = DeepLinkError;

    fn try_from(url: &Url) -> Result<Self, Self::Error> {
        if url.as_str().len() > MAX_LINK_LEN {
            return Err(DeepLinkError::TooLong);
        }
        if url.scheme() != SCHEME {
            return Err(DeepLinkError::WrongScheme);
        }
        if url.username() != "" || url.password().is_some() || url.port().is_some() {
            return Err(DeepLinkError::UnknownRoute(route_for_log(url)));
        }
        // The URL parser lowercases the scheme but not the host of a custom scheme.
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let path = url.path().trim_end_matches('/');
        match (host.as_str(), path) {
            ("oauth", "/microsoft") => Ok(DeepLink::OAuthCallback(OAuthCallback::from_query(
                Provider::Microsoft,
                url.query_pairs(),
            )?)),
            _ => Err(DeepLinkError::UnknownRoute(route_for_log(url))),
        }
    }
}

/// The host and path of a link, shortened, for an error message or a log line.
fn route_for_log(url: &Url) -> String {
    truncate_for_log(&format!(
        "{}{}",
        url.host_str().unwrap_or_default(),
        url.path()
    ))
}

impl fmt::Display for DeepLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The program a desktop entry's `Exec` line starts (its first word, unquoted), from the
/// `[Desktop Entry]` group; `None` if there is none. Used on Linux to tell whether the
/// `ferry://` handler the desktop already knows (say, from an installed package) starts
/// this very Ferry, in which case Ferry does not register one of its own.
pub fn desktop_entry_program(text: &str) -> Option<String> {
    let mut in_entry = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_entry = line == "[Desktop Entry]";
            continue;
        }
        let Some(exec) = line.strip_prefix("Exec=").filter(|_| in_entry) else {
            continue;
        };
        let exec = exec.trim_start();
        let program = match exec.strip_prefix('"') {
            Some(quoted) => quoted.split('"').next().unwrap_or_default(),
            None => exec.split_whitespace().next().unwrap_or_default(),
        };
        return (!program.is_empty()).then(|| program.to_owned());
    }
    None
}

#[cfg(test)]
mod desktop_entry_tests {
    use super::desktop_entry_program;

    #[test]
    fn the_program_is_the_first_word_of_exec_in_the_desktop_entry_group() {
        let package =
            "[Desktop Entry]\nName=Ferry\nExec=ferry %u\nMimeType=x-scheme-handler/ferry;\n";
        assert_eq!(desktop_entry_program(package).as_deref(), Some("ferry"));
        let handler = "[Desktop Entry]\nExec=\"/opt/My Apps/ferry\" %u\n";
        assert_eq!(
            desktop_entry_program(handler).as_deref(),
            Some("/opt/My Apps/ferry")
        );
        let action_only = "[Desktop Action new]\nExec=other\n[Desktop Entry]\nName=x\n";
        assert_eq!(desktop_entry_program(action_only), None);
        assert_eq!(desktop_entry_program("[Desktop Entry]\nExec=\n"), None);
    }
}

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

use std::collections::BTreeSet;
use std::fmt;

use secrecy::SecretString;
use url::Url;

use crate::providers::Provider;

/// The URL scheme Ferry registers with the OS.
pub const SCHEME: &str = "ferry";

/// Longer links are refused unread. Authorization codes run to about 2 KB at Microsoft;
/// this leaves room for state and provider extras while bounding the work an attacker
/// can cause.
const MAX_LINK_LEN: usize = 8 * 1024;
const MAX_STATE_LEN: usize = 2 * 1024;
const MAX_CODE_LEN: usize = 4 * 1024;
const MAX_ERROR_DESCRIPTION_LEN: usize = 2 * 1024;

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

/// The authorization response a provider sends back to Ferry (RFC 6749 §4.1.2).
#[derive(Debug)]
pub struct OAuthCallback {
    pub provider: Provider,
    pub state: String,
    pub outcome: CallbackOutcome,
    /// The `iss` parameter (RFC 9207), when the provider sends one.
    pub issuer: Option<String>,
    /// Names of parameters Ferry does not use (providers add some); kept for logging.
    pub ignored: BTreeSet<String>,
}

#[derive(Debug)]
pub enum CallbackOutcome {
    /// The authorization code; consumed by the token exchange, never logged.
    Code(SecretString),
    /// The provider refused (e.g. `access_denied` when the user clicked Deny).
    Error {
        error: String,
        description: Option<String>,
    },
}

impl OAuthCallback {
    /// Reads an authorization response from query parameters. Used for `ferry://` links
    /// and for the loopback listener alike.
    pub fn from_query<'a>(
        provider: Provider,
        pairs: impl IntoIterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
    ) -> Result<Self, DeepLinkError> {
        let mut code = None;
        let mut state = None;
        let mut error = None;
        let mut description = None;
        let mut issuer = None;
        let mut ignored = BTreeSet::new();
        for (key, value) in pairs {
            let slot = match key.as_ref() {
                "code" => &mut code,
                "state" => &mut state,
                "error" => &mut error,
                "error_description" => &mut description,
                "iss" => &mut issuer,
                _ => {
                    ignored.insert(truncate_for_log(&key));
                    continue;
                }
            };
            if slot.replace(value.into_owned()).is_some() {
                // Two values for one parameter is how parameter-pollution attacks start.
                return Err(DeepLinkError::DuplicateParameter(key.into_owned()));
            }
        }

        let state = state.ok_or(DeepLinkError::MissingParameter("state"))?;
        check_len("state", &state, MAX_STATE_LEN)?;
        let outcome = match (error, code) {
            (Some(error), _) => {
                if error.is_empty() || !error.chars().all(is_oauth_error_char) {
                    return Err(DeepLinkError::Malformed("error"));
                }
                if let Some(text) = &description {
                    check_len("error_description", text, MAX_ERROR_DESCRIPTION_LEN)?;
                }
                CallbackOutcome::Error { error, description }
            }
            (None, Some(code)) => {
                if code.is_empty() {
                    return Err(DeepLinkError::Malformed("code"));
                }
                check_len("code", &code, MAX_CODE_LEN)?;
                CallbackOutcome::Code(SecretString::from(code))
            }
            (None, None) => return Err(DeepLinkError::MissingParameter("code")),
        };
        Ok(Self {
            provider,
            state,
            outcome,
            issuer,
            ignored,
        })
    }

    fn describe(&self) -> String {
        let outcome = match &self.outcome {
            CallbackOutcome::Code(_) => "code".to_owned(),
            CallbackOutcome::Error { error, .. } => format!("error={error}"),
        };
        let mut text = format!("oauth callback from {}: {outcome}", self.provider);
        if self.issuer.is_some() {
            text.push_str(", iss");
        }
        if !self.ignored.is_empty() {
            let names: Vec<&str> = self.ignored.iter().map(String::as_str).collect();
            text.push_str(&format!(", ignored parameters [{}]", names.join(", ")));
        }
        text
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
    #[error("the link lacks the {0} parameter")]
    MissingParameter(&'static str),
    #[error("the link repeats the {0} parameter")]
    DuplicateParameter(String),
    #[error("the link's {0} parameter is malformed")]
    Malformed(&'static str),
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

fn truncate_for_log(text: &str) -> String {
    const LIMIT: usize = 64;
    if text.chars().count() <= LIMIT {
        text.to_owned()
    } else {
        let head: String = text.chars().take(LIMIT).collect();
        format!("{head}…")
    }
}

fn check_len(name: &'static str, value: &str, max: usize) -> Result<(), DeepLinkError> {
    if value.len() > max {
        Err(DeepLinkError::Malformed(name))
    } else {
        Ok(())
    }
}

/// RFC 6749 §4.1.2.1: `error` uses %x20-21 / %x23-5B / %x5D-7E.
fn is_oauth_error_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

impl fmt::Display for DeepLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

//! The authorization response a provider sends back (RFC 6749 §4.1.2), read from query
//! parameters, whichever way it came: a `ferry://` link or the loopback listener. It is
//! untrusted input: a typed value or a typed refusal, never a panic, and nothing it
//! carries (code, state) is logged; `describe` gives what may be.

use std::collections::BTreeSet;

use secrecy::SecretString;

use crate::providers::Provider;

/// Bounds on what a response may carry: authorization codes run to about 2 KB at
/// Microsoft; these leave room for state and provider extras while bounding the work an
/// attacker can cause.
const MAX_STATE_LEN: usize = 2 * 1024;
const MAX_CODE_LEN: usize = 4 * 1024;
const MAX_ERROR_DESCRIPTION_LEN: usize = 2 * 1024;

/// Why a response was refused. The messages name what was wrong, never the values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("the sign-in response lacks the {0} parameter")]
    MissingParameter(&'static str),
    #[error("the sign-in response repeats the {0} parameter")]
    DuplicateParameter(String),
    #[error("the sign-in response's {0} parameter is malformed")]
    Malformed(&'static str),
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
    ) -> Result<Self, CallbackError> {
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
                return Err(CallbackError::DuplicateParameter(key.into_owned()));
            }
        }

        let state = state.ok_or(CallbackError::MissingParameter("state"))?;
        check_len("state", &state, MAX_STATE_LEN)?;
        let outcome = match (error, code) {
            (Some(error), _) => {
                if error.is_empty() || !error.chars().all(is_oauth_error_char) {
                    return Err(CallbackError::Malformed("error"));
                }
                if let Some(text) = &description {
                    check_len("error_description", text, MAX_ERROR_DESCRIPTION_LEN)?;
                }
                CallbackOutcome::Error { error, description }
            }
            (None, Some(code)) => {
                if code.is_empty() {
                    return Err(CallbackError::Malformed("code"));
                }
                check_len("code", &code, MAX_CODE_LEN)?;
                CallbackOutcome::Code(SecretString::from(code))
            }
            (None, None) => return Err(CallbackError::MissingParameter("code")),
        };
        Ok(Self {
            provider,
            state,
            outcome,
            issuer,
            ignored,
        })
    }

    pub(crate) fn describe(&self) -> String {
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

fn check_len(name: &'static str, value: &str, max: usize) -> Result<(), CallbackError> {
    if value.len() > max {
        Err(CallbackError::Malformed(name))
    } else {
        Ok(())
    }
}

/// RFC 6749 §4.1.2.1: `error` uses %x20-21 / %x23-5B / %x5D-7E.
fn is_oauth_error_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

pub(crate) fn truncate_for_log(text: &str) -> String {
    const LIMIT: usize = 64;
    if text.chars().count() <= LIMIT {
        text.to_owned()
    } else {
        let head: String = text.chars().take(LIMIT).collect();
        format!("{head}…")
    }
}

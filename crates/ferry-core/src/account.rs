//! What an account is and holds once signed in: who ([`Identity`]) and its tokens
//! ([`TokenSet`]), each token a type of its own so an access token can never be passed
//! where a refresh token is meant. Secrets show as `[redacted]` in `Debug` and have no
//! `Serialize`; reading one is an explicit `expose_secret()`.

use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

macro_rules! secret_token {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::from(value.into()))
            }
        }

        impl ExposeSecret<str> for $name {
            fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}([redacted])", stringify!($name))
            }
        }
    };
}

secret_token!(
    /// Sent to provider APIs as `Authorization: Bearer`; lives about an hour.
    AccessToken
);
secret_token!(
    /// Exchanged for new access tokens; lives for months, and may be rotated on each use.
    RefreshToken
);

/// Who signed in, as the provider vouches in the id_token (or userinfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Microsoft tenant id; empty for Google.
    pub tenant: String,
    /// Google `sub`; Microsoft `oid` (stable across apps), or `sub` without it.
    pub subject: String,
    pub email: String,
    pub name: String,
}

/// The tokens a sign-in or a refresh gave.
pub struct TokenSet {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    pub expires_at: DateTime<Utc>,
    pub scopes: Vec<String>,
    /// When the grant itself ends, if the provider said (`refresh_token_expires_in`).
    pub grant_expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field("grant_expires_at", &self.grant_expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_show_in_debug() {
        let access = AccessToken::new("ya29.secret-value");
        let refresh = RefreshToken::new("1//0secret-value");
        let shown = format!("{access:?} {refresh:?}");
        assert!(!shown.contains("secret-value"), "{shown}");
        assert_eq!(access.expose_secret(), "ya29.secret-value");
    }
}

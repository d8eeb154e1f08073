//! The account providers: who they are, where Ferry reaches them ([`config`]), and each
//! one's rules in its own folder ([`google`], [`microsoft`]): scopes, grants, error
//! classification, issuer rules, revocation and lifetimes, with room for their API
//! clients. Code elsewhere asks [`Provider`] and does not match on it.

pub mod config;
pub mod failure;
pub mod google;
pub mod microsoft;

use std::fmt;

use crate::account::RefreshToken;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use config::{ConfigError, GoogleSettings, MicrosoftSettings, ProviderSettings, Source};
use failure::{Cause, ErrorBody, RefreshFailure};

use crate::services::{ServiceChoice, ServiceGrants};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Google,
    Microsoft,
}

impl Provider {
    /// The name stored in the database and used in redirect paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Google => "google",
            Provider::Microsoft => "microsoft",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "google" => Some(Provider::Google),
            "microsoft" => Some(Provider::Microsoft),
            _ => None,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Provider::Google => "Google",
            Provider::Microsoft => "Microsoft",
        })
    }
}

impl Provider {
    /// The scopes to request for `choice`: the minimal set, plus the sign-in scopes.
    pub fn scopes(self, choice: &ServiceChoice) -> Vec<String> {
        match self {
            Provider::Google => google::scopes(choice),
            Provider::Microsoft => microsoft::scopes(choice),
        }
    }

    /// Which services a grant covers, from the `scope` the token endpoint returned.
    pub fn granted(self, granted_scopes: &[String]) -> ServiceGrants {
        match self {
            Provider::Google => google::granted(granted_scopes),
            Provider::Microsoft => microsoft::granted(granted_scopes),
        }
    }

    /// What a token endpoint's OAuth error body means.
    pub fn classify(self, body: &ErrorBody) -> RefreshFailure {
        match self {
            Provider::Google => google::classify(body),
            Provider::Microsoft => microsoft::classify(body),
        }
    }

    /// Checks the `iss` of an authorization response.
    pub fn callback_issuer(self, settings: &ProviderSettings, iss: &str) -> CallbackIssuer {
        match self {
            Provider::Google => match &settings.google {
                Some(g) if google::is_issuer(g, iss) => CallbackIssuer::Confirmed,
                _ => CallbackIssuer::Wrong,
            },
            Provider::Microsoft => match &settings.microsoft {
                Some(m) if microsoft::could_issue(m, iss) => {
                    CallbackIssuer::SameAsIdToken(iss.to_owned())
                }
                _ => CallbackIssuer::Wrong,
            },
        }
    }

    /// Whether a refresh request names the scopes again (Microsoft wants them, to pick the
    /// resource; Google keeps the grant's).
    pub fn refresh_names_scopes(self) -> bool {
        self == Provider::Microsoft
    }

    /// Whether an id_token's `iss` (for Microsoft, with its `tid`) is this provider's.
    pub fn issued_id_token(
        self,
        settings: &ProviderSettings,
        iss: &str,
        tid: Option<&str>,
    ) -> bool {
        match self {
            Provider::Google => settings
                .google
                .as_ref()
                .is_some_and(|g| google::issued_id_token(g, iss)),
            Provider::Microsoft => settings
                .microsoft
                .as_ref()
                .zip(tid)
                .is_some_and(|(m, tid)| iss == microsoft::issuer_for(m, tid)),
        }
    }

    /// The account's stable identity from the id_token's `sub` and (Microsoft) `oid`.
    pub fn subject(self, sub: &str, oid: Option<&str>) -> String {
        match self {
            Provider::Google => sub.to_owned(),
            Provider::Microsoft => microsoft::subject(sub, oid),
        }
    }

    /// Whether the browser can come back through a `ferry://` link (Google refuses custom
    /// schemes for desktop clients).
    pub fn returns_by_link(self) -> bool {
        self == Provider::Microsoft
    }

    /// Parameters the provider's authorization URL takes besides the standard ones.
    pub fn authorize_params(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Provider::Google => &[],
            // Let the user pick among the accounts signed in to the browser.
            Provider::Microsoft => &[("prompt", "select_account")],
        }
    }

    /// When a grant made now will end, where the provider's rules say (Google Testing).
    pub fn grant_end(
        self,
        settings: &ProviderSettings,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match (self, &settings.google) {
            (Provider::Google, Some(google)) => google::grant_end(google, now),
            _ => None,
        }
    }

    /// The cause to show for a failed refresh, with the provider's own knowledge of why.
    pub fn explain(
        self,
        settings: &ProviderSettings,
        cause: Cause,
        grant_end: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Cause {
        match (self, &settings.google) {
            (Provider::Google, Some(google)) => google::explain(google, cause, grant_end, now),
            _ => cause,
        }
    }

    /// Withdraws Ferry's access at the provider, where it can be withdrawn.
    pub async fn revoke(
        self,
        http: &reqwest::Client,
        settings: &ProviderSettings,
        token: &RefreshToken,
    ) -> Revocation {
        match (self, &settings.google) {
            (Provider::Google, Some(google)) => google::revoke(http, google, token).await,
            _ => Revocation::NotSupported,
        }
    }
}

/// What an authorization response's `iss` says (RFC 9207).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackIssuer {
    /// Exactly the provider's issuer.
    Confirmed,
    /// The right form, but which tenant is known only from the id_token, whose `iss` must
    /// then be exactly this.
    SameAsIdToken(String),
    /// Not this provider's issuer.
    Wrong,
}

/// What became of asking the provider to revoke a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    /// Microsoft has no revocation endpoint for this kind of client; the user removes
    /// Ferry's access on their account page.
    NotSupported,
    /// The provider was unreachable or refused; the text says why (no secret in it).
    Failed(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::CalendarAccess;

    const ALL: ServiceChoice = ServiceChoice {
        mail: true,
        calendar: Some(CalendarAccess::Read),
        contacts: true,
    };

    #[test]
    fn the_minimal_scopes_plus_sign_in() {
        let google = Provider::Google.scopes(&ServiceChoice {
            mail: true,
            ..Default::default()
        });
        assert_eq!(
            google,
            [
                "openid",
                "email",
                "profile",
                "https://www.googleapis.com/auth/gmail.readonly"
            ]
        );
        let ms = Provider::Microsoft.scopes(&ServiceChoice {
            calendar: Some(CalendarAccess::ReadWrite),
            ..Default::default()
        });
        assert_eq!(
            ms,
            [
                "openid",
                "email",
                "profile",
                "offline_access",
                "Calendars.ReadWrite"
            ]
        );
    }

    #[test]
    fn a_grant_is_read_back_per_service() {
        for provider in [Provider::Google, Provider::Microsoft] {
            let requested = provider.scopes(&ALL);
            assert_eq!(
                provider.granted(&requested),
                ALL,
                "{provider}: everything granted"
            );
        }
        // Google's granular consent: the user unticked contacts.
        let partial: Vec<String> = Provider::Google
            .scopes(&ALL)
            .into_iter()
            .filter(|s| !s.contains("contacts"))
            .collect();
        assert_eq!(
            Provider::Google.granted(&partial),
            ServiceGrants {
                contacts: false,
                ..ALL
            }
        );
        // Microsoft lists Graph permissions with their resource prefix.
        let prefixed = vec![
            "openid".to_owned(),
            "https://graph.microsoft.com/Mail.Read".to_owned(),
        ];
        assert_eq!(
            Provider::Microsoft.granted(&prefixed),
            ServiceGrants {
                mail: true,
                ..Default::default()
            }
        );
        assert!(Provider::Google.granted(&[]).is_empty());
    }
}

//! Refreshing an access token, and what a failure means. Failures are classified from the
//! providers' actual codes (`shared/provider-reference.md` §1): the user must sign in
//! again; the problem is transient and a retry will do; or the app is misconfigured.
//! A transient failure is never reported as needing sign-in.

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use crate::account::{AccessToken, RefreshToken};
use serde::Deserialize;

pub use crate::providers::failure::{Cause, ErrorBody, FailureKind, RefreshFailure};

use super::lifetime;
use crate::providers::Provider;
use crate::providers::ProviderSettings;

/// A successful refresh.
pub struct Refreshed {
    pub access_token: AccessToken,
    /// Microsoft rotates refresh tokens; Google sends none (keep the old one).
    pub refresh_token: Option<RefreshToken>,
    pub expires_at: DateTime<Utc>,
    /// Granted scopes, when the provider lists them.
    pub scopes: Option<Vec<String>>,
    /// When the grant itself ends (Google's `refresh_token_expires_in`), if known.
    pub grant_expires_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Refreshed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refreshed")
            .field("rotated", &self.refresh_token.is_some())
            .field("expires_at", &self.expires_at)
            .field("grant_expires_at", &self.grant_expires_at)
            .finish_non_exhaustive()
    }
}

/// Classifies a token endpoint's error reply. Pure: tested against the reference's codes.
pub fn classify(
    provider: Provider,
    status: u16,
    body: &str,
    retry_after: Option<Duration>,
) -> RefreshFailure {
    use Cause::*;
    use FailureKind::*;
    let parsed: ErrorBody = serde_json::from_str(body).unwrap_or_default();
    let mut failure = if status == 429 {
        RefreshFailure::new(Transient, Throttled, "HTTP 429")
    } else if status >= 500 {
        RefreshFailure::new(Transient, ProviderUnavailable, format!("HTTP {status}"))
    } else if parsed.error.is_empty() {
        // Not an OAuth error body (a proxy page, garbage): treat as the provider failing.
        RefreshFailure::new(Transient, ProviderUnavailable, format!("HTTP {status}"))
    } else {
        provider.classify(&parsed)
    };
    failure.retry_after = retry_after;
    failure
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    refresh_token_expires_in: Option<u64>,
}

/// Exchanges a refresh token for a new access token at the provider.
pub async fn refresh(
    http: &reqwest::Client,
    settings: &ProviderSettings,
    provider: Provider,
    refresh_token: &RefreshToken,
    scopes: &[String],
    now: DateTime<Utc>,
) -> Result<Refreshed, RefreshFailure> {
    let Some(client) = settings.client(provider) else {
        return Err(RefreshFailure::new(
            FailureKind::Configuration,
            Cause::BadConfiguration,
            "not configured",
        ));
    };
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose_secret()),
        ("client_id", &client.client_id),
    ];
    if let Some(secret) = &client.client_secret {
        form.push(("client_secret", secret));
    }
    let scope = scopes.join(" ");
    if provider.refresh_names_scopes() && !scope.is_empty() {
        form.push(("scope", &scope));
    }
    let response = http
        .post(client.token_url.clone())
        .form(&form)
        .send()
        .await
        .map_err(|err| {
            let code = if err.is_timeout() {
                "timeout"
            } else {
                "network"
            };
            RefreshFailure::new(FailureKind::Transient, Cause::Offline, code)
        })?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| lifetime::retry_after(v, now));
    let body = response
        .text()
        .await
        .map_err(|_| RefreshFailure::new(FailureKind::Transient, Cause::Offline, "network"))?;
    if !(200..300).contains(&status) {
        return Err(classify(provider, status, &body, retry_after));
    }
    parse_token_reply(&body, now)
}

/// Reads a successful token endpoint reply. Pure: anything that is not a usable token (not
/// JSON, no or an empty `access_token`, `expires_in` of 0) is a malformed reply, which is
/// the provider misbehaving: transient, tried again later. Lifetimes are clamped
/// ([`lifetime`]).
pub fn parse_token_reply(body: &str, now: DateTime<Utc>) -> Result<Refreshed, RefreshFailure> {
    let malformed = || {
        RefreshFailure::new(
            FailureKind::Transient,
            Cause::ProviderUnavailable,
            "malformed reply",
        )
    };
    let token: TokenBody = serde_json::from_str(body).map_err(|_| malformed())?;
    if token.access_token.trim().is_empty() {
        return Err(malformed());
    }
    let expires_at = lifetime::access_expires_at(now, token.expires_in).map_err(|_| malformed())?;
    Ok(Refreshed {
        access_token: AccessToken::new(token.access_token),
        refresh_token: token
            .refresh_token
            .filter(|r| !r.trim().is_empty())
            .map(RefreshToken::new),
        expires_at,
        scopes: token
            .scope
            .map(|s| s.split_whitespace().map(str::to_owned).collect()),
        grant_expires_at: token
            .refresh_token_expires_in
            .map(|s| lifetime::grant_expires_at(now, s)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Cause::*;
    use FailureKind::*;

    fn ms(code: u64, error: &str, suberror: &str) -> RefreshFailure {
        let body = serde_json::json!({
            "error": error,
            "error_description": format!("AADSTS{code}: something."),
            "error_codes": [code],
            "suberror": suberror,
        });
        classify(Provider::Microsoft, 400, &body.to_string(), None)
    }

    #[test]
    fn microsoft_codes_decide_not_the_error_name() {
        for (code, cause) in [
            (50173, Revoked),
            (700082, Expired),
            (70008, Revoked),
            (70043, ConditionalAccess),
            (50076, MoreVerificationNeeded),
            (65001, ConsentNeeded),
            (90094, AdminApprovalRequired),
            (50132, PasswordChanged),
            (50057, AccountDisabled),
        ] {
            for error in ["invalid_grant", "interaction_required"] {
                let got = ms(code, error, "basic_action");
                assert_eq!(
                    (got.kind, got.cause),
                    (NeedsSignIn, cause),
                    "AADSTS{code} as {error}"
                );
                assert_eq!(got.code, format!("AADSTS{code}"));
            }
        }
        for code in [50033, 90006, 90033, 70012] {
            assert_eq!(
                ms(code, "invalid_grant", "").kind,
                Transient,
                "AADSTS{code}"
            );
        }
        assert_eq!(ms(90055, "temporarily_unavailable", "").cause, Throttled);
        for code in [700016, 50011, 700025, 50196] {
            assert_eq!(
                ms(code, "invalid_request", "").kind,
                Configuration,
                "AADSTS{code}"
            );
        }
    }

    #[test]
    fn google_errors_and_transport_failures() {
        let revoked =
            r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#;
        let got = classify(Provider::Google, 400, revoked, None);
        assert_eq!(
            (got.kind, got.code.as_str()),
            (NeedsSignIn, "invalid_grant")
        );
        let bad = r#"{"error":"invalid_grant","error_description":"Bad Request"}"#;
        assert_eq!(classify(Provider::Google, 400, bad, None).kind, NeedsSignIn);
        let client =
            r#"{"error":"invalid_client","error_description":"The OAuth client was not found."}"#;
        assert_eq!(
            classify(Provider::Google, 401, client, None).kind,
            Configuration
        );
        let unavailable = r#"{"error":"temporarily_unavailable"}"#;
        assert_eq!(
            classify(Provider::Google, 400, unavailable, None).kind,
            Transient
        );
    }

    #[test]
    fn server_trouble_is_never_a_sign_in_problem() {
        for provider in [Provider::Google, Provider::Microsoft] {
            // Even an invalid_grant body behind a 5xx or 429 is the server's trouble.
            let body = r#"{"error":"invalid_grant","error_codes":[50173]}"#;
            for status in [429, 500, 502, 503, 504] {
                let got = classify(provider, status, body, Some(Duration::from_secs(7)));
                assert_eq!(got.kind, Transient, "{provider} {status}");
                assert_eq!(got.retry_after, Some(Duration::from_secs(7)));
            }
            for garbage in ["", "<html>proxy</html>", "{\"truncated\":"] {
                assert_eq!(classify(provider, 400, garbage, None).kind, Transient);
            }
        }
    }
}

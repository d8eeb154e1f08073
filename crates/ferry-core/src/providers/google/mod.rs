//! Google: the scopes Ferry asks for, what a grant covers, how its token endpoint's errors
//! read, which issuers it uses, revocation (RFC 7009, with Google's departures), and the
//! 7-day grants of a project in Testing status; the Gmail client in [`gmail`].

pub mod gmail;

use chrono::{DateTime, Duration, Utc};
use secrecy::ExposeSecret;

use super::config::GoogleSettings;
use super::failure::{Cause, ErrorBody, FailureKind, RefreshFailure};
use super::Revocation;
use crate::account::RefreshToken;
use crate::services::{CalendarAccess, ServiceChoice, ServiceGrants};

/// How long Google honours a grant to a project in Testing status.
pub const TESTING_GRANT_LIFETIME: Duration = Duration::days(7);

const SCOPE_BASE: &str = "https://www.googleapis.com/auth/";

fn scope(name: &str) -> String {
    format!("{SCOPE_BASE}{name}")
}

/// The minimal scopes for `choice`, after the sign-in scopes.
pub fn scopes(choice: &ServiceChoice) -> Vec<String> {
    let mut scopes: Vec<String> = ["openid", "email", "profile"].map(String::from).to_vec();
    if choice.mail {
        scopes.push(scope("gmail.readonly"));
    }
    match choice.calendar {
        Some(CalendarAccess::Read) => scopes.push(scope("calendar.readonly")),
        Some(CalendarAccess::ReadWrite) => scopes.push(scope("calendar.events")),
        None => {}
    }
    if choice.contacts {
        scopes.push(scope("contacts.readonly"));
    }
    scopes
}

/// Which services a grant covers, from the `scope` the token endpoint returned.
pub fn granted(granted_scopes: &[String]) -> ServiceGrants {
    let has = |wanted: &str| granted_scopes.iter().any(|s| s == wanted);
    ServiceGrants {
        mail: has(&scope("gmail.readonly")) || has("https://mail.google.com/"),
        calendar: if has(&scope("calendar.events")) || has(&scope("calendar")) {
            Some(CalendarAccess::ReadWrite)
        } else if has(&scope("calendar.readonly")) {
            Some(CalendarAccess::Read)
        } else {
            None
        },
        contacts: has(&scope("contacts.readonly")) || has(&scope("contacts")),
    }
}

/// Classifies Google's token endpoint errors by `error` (§1.1 of the provider reference).
pub fn classify(body: &ErrorBody) -> RefreshFailure {
    use Cause::*;
    use FailureKind::*;
    let code = body.error.clone();
    match body.error.as_str() {
        "invalid_grant" => {
            let text = body.error_description.to_ascii_lowercase();
            let cause = if text.contains("revoked") {
                Revoked
            } else if text.contains("expired") {
                Expired
            } else {
                Revoked
            };
            RefreshFailure::new(NeedsSignIn, cause, code)
        }
        "admin_policy_enforced" => RefreshFailure::new(NeedsSignIn, AdminApprovalRequired, code),
        "temporarily_unavailable" | "server_error" | "internal_failure" => {
            RefreshFailure::new(Transient, ProviderUnavailable, code)
        }
        "rate_limit_exceeded" => RefreshFailure::new(Transient, Throttled, code),
        "invalid_client"
        | "unauthorized_client"
        | "deleted_client"
        | "invalid_request"
        | "invalid_scope"
        | "org_internal" => RefreshFailure::new(Configuration, BadConfiguration, code),
        _ => RefreshFailure::new(Transient, Unknown, code),
    }
}

/// RFC 9207: the `iss` of an authorization response is exactly the issuer.
pub fn is_issuer(settings: &GoogleSettings, iss: &str) -> bool {
    settings.issuer == iss
}

/// The `iss` of Google's id_tokens: the issuer, or the bare host form Google also uses.
pub fn issued_id_token(settings: &GoogleSettings, iss: &str) -> bool {
    let bare = settings
        .issuer
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    iss == settings.issuer || iss == bare
}

/// When a new grant ends, if the project's status says so (Testing: 7 days).
pub fn grant_end(settings: &GoogleSettings, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    settings.testing.then(|| now + TESTING_GRANT_LIFETIME)
}

/// A grant that died when a Testing project's 7 days ran out: say so, rather than
/// "revoked" or "expired".
pub fn explain(
    settings: &GoogleSettings,
    cause: Cause,
    grant_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Cause {
    let ended = grant_end.is_some_and(|end| end <= now);
    if settings.testing && ended && matches!(cause, Cause::Expired | Cause::Revoked) {
        Cause::AppInTesting
    } else {
        cause
    }
}

/// Revokes a refresh token (RFC 7009), identifying Ferry as the client it was issued to
/// (§2.1) and saying what kind of token it is.
pub async fn revoke(
    http: &reqwest::Client,
    settings: &GoogleSettings,
    token: &RefreshToken,
) -> Revocation {
    let mut form = vec![
        ("token", token.expose_secret()),
        ("token_type_hint", "refresh_token"),
        ("client_id", settings.client_id.as_str()),
    ];
    if let Some(secret) = &settings.client_secret {
        form.push(("client_secret", secret.as_str()));
    }
    let sent = http
        .post(settings.revoke_url.clone())
        .form(&form)
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => Revocation::Revoked,
        Ok(response) => {
            let status = response.status();
            // Google answers 400 invalid_token for a token that is already dead.
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            match body.get("error").and_then(|e| e.as_str()) {
                Some("invalid_token") => Revocation::Revoked,
                Some(error) => Revocation::Failed(format!("{status}, {error}")),
                None => Revocation::Failed(status.to_string()),
            }
        }
        Err(err) if err.is_timeout() || err.is_connect() => {
            Revocation::Failed("Google could not be reached".into())
        }
        Err(_) => Revocation::Failed("the request failed".into()),
    }
}

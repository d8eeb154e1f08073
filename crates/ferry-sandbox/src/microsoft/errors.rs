//! Microsoft identity platform errors: `AADSTSnnnn` codes with the body shape the token
//! endpoint sends (`shared/provider-reference.md` §1.2, §4.6). Descriptions are short
//! paraphrases; clients must branch on `error_codes` and `suberror`, never on the text.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::world::World;

pub struct Aadsts {
    pub status: StatusCode,
    pub error: &'static str,
    pub text: &'static str,
    pub suberror: Option<&'static str>,
    pub retry_after_s: Option<u64>,
}

const fn e(
    status: StatusCode,
    error: &'static str,
    text: &'static str,
    suberror: Option<&'static str>,
) -> Aadsts {
    Aadsts {
        status,
        error,
        text,
        suberror,
        retry_after_s: None,
    }
}

const BAD: StatusCode = StatusCode::BAD_REQUEST;

/// The catalogue. Unknown codes get a generic `invalid_grant`.
pub fn lookup(code: u32, mfa_error_value: &str) -> Aadsts {
    let interaction = if mfa_error_value == "interaction_required" {
        "interaction_required"
    } else {
        "invalid_grant"
    };
    match code {
        // Needs interactive sign-in.
        50173 => e(BAD, "invalid_grant", "The grant was revoked; a fresh sign-in is needed. The password may have been changed or reset.", Some("bad_token")),
        700082 => e(BAD, "invalid_grant", "The refresh token has expired because it was not used for too long.", Some("bad_token")),
        70008 => e(BAD, "invalid_grant", "The authorization code or refresh token has expired. Send a new interactive authorization request.", Some("bad_token")),
        70043 => e(BAD, "invalid_grant", "The refresh token has expired because of a Conditional Access sign-in frequency policy.", Some("bad_token")),
        700084 => e(BAD, "invalid_grant", "The refresh token was issued to a single-page app and its fixed 24-hour lifetime is over.", Some("bad_token")),
        50076 => e(BAD, if interaction == "interaction_required" { "interaction_required" } else { "invalid_grant" }, "Multi-factor authentication is required; retry with a new authorize request.", Some("basic_action")),
        50079 => e(BAD, "interaction_required", "The user must enroll in multi-factor authentication.", Some("basic_action")),
        50078 => e(BAD, "invalid_grant", "The multi-factor authentication presented has expired.", Some("basic_action")),
        50074 => e(BAD, "interaction_required", "Strong authentication is required.", Some("basic_action")),
        65001 => e(BAD, "invalid_grant", "The user or an administrator has not consented to this application. Send an interactive authorization request.", Some("consent_required")),
        65004 => e(BAD, "access_denied", "The user declined to consent to the application.", Some("consent_required")),
        90094 | 90095 => e(BAD, "invalid_grant", "An administrator must consent to the permissions this application requests.", Some("consent_required")),
        50055 | 50144 => e(BAD, "invalid_grant", "The user's password has expired.", Some("user_password_expired")),
        50132 | 50133 => e(BAD, "invalid_grant", "The session is no longer valid after a password change or expiry.", Some("bad_token")),
        50057 => e(BAD, "invalid_grant", "The user account is disabled.", Some("message_only")),
        50053 => e(BAD, "invalid_grant", "The account is locked after too many failed sign-ins.", Some("message_only")),
        53003 => e(BAD, "invalid_grant", "Access was blocked by Conditional Access policies.", Some("message_only")),
        53000 => e(BAD, "invalid_grant", "The device must be compliant with the organisation's policy.", Some("additional_action")),
        53001 => e(BAD, "invalid_grant", "The device must be joined to the organisation's domain.", Some("additional_action")),
        50158 => e(BAD, "interaction_required", "An external security challenge was not satisfied.", Some("basic_action")),
        50089 => e(BAD, "invalid_grant", "The flow token expired; the user must sign in again.", Some("bad_token")),
        70000 => e(BAD, "invalid_grant", "The grant is invalid or malformed.", Some("bad_token")),
        16000 | 50020 | 50034 => e(BAD, "invalid_grant", "The user account does not exist in this tenant.", Some("message_only")),
        // Transient: retry with backoff.
        50033 => transient("A transient error occurred. Try again."),
        50087 => transient("A transient error occurred in strong authentication. Try again."),
        90006 => transient("An external server returned a retryable error."),
        90033 => transient("The directory service is temporarily unavailable."),
        90090 => transient("The Graph service returned a retryable error."),
        70012 => transient("A Microsoft account server error occurred. Try again."),
        90024 => throttled("The request budget was exceeded. Wait and retry."),
        90055 => throttled("The tenant is being throttled. Back off and retry."),
        50196 => e(BAD, "invalid_grant", "The server stopped a request loop from this client.", None),
        // Configuration: neither retry nor prompt.
        700016 => e(BAD, "unauthorized_client", "The application was not found in the directory.", None),
        50011 => e(BAD, "invalid_request", "The redirect URI in the request does not match the ones registered for the application.", None),
        70011 => e(BAD, "invalid_scope", "The scope value is not valid.", None),
        700022 => e(BAD, "invalid_scope", "The scopes belong to more than one resource, or are not valid together.", None),
        700025 => e(StatusCode::UNAUTHORIZED, "invalid_client", "The client is public, so it must not present a client secret or assertion.", None),
        9001023 => e(BAD, "unauthorized_client", "This grant type is not supported on the /common or /consumers endpoints.", None),
        50194 => e(BAD, "invalid_request", "The application is not configured as a multi-tenant application.", None),
        9002332 => e(BAD, "unauthorized_client", "The application is for Microsoft Entra users only; /consumers cannot be used.", None),
        54005 => e(BAD, "invalid_grant", "The authorization code was already redeemed.", None),
        501481 => e(BAD, "invalid_grant", "The code verifier does not match the code challenge of the authorization request.", None),
        50147 | 501491 => e(BAD, "invalid_request", "The code challenge has an invalid size.", None),
        9002313 => e(BAD, "invalid_request", "The request is malformed or invalid.", None),
        900144 => e(BAD, "invalid_request", "The request is missing a required parameter.", None),
        70003 => e(BAD, "unsupported_grant_type", "The grant type is not supported.", None),
        90002 => e(BAD, "invalid_tenant", "The tenant was not found.", None),
        _ => e(BAD, "invalid_grant", "The request failed.", None),
    }
}

fn transient(text: &'static str) -> Aadsts {
    Aadsts {
        retry_after_s: Some(1),
        ..e(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            text,
            None,
        )
    }
}

fn throttled(text: &'static str) -> Aadsts {
    Aadsts {
        retry_after_s: Some(5),
        ..e(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            text,
            None,
        )
    }
}

/// The token endpoint's error body for `code`.
pub fn response(world: &World, code: u32) -> Response {
    let entry = lookup(code, &world.config().microsoft.mfa_error_value);
    let now = world.clock.unix() as i64;
    let timestamp = chrono::DateTime::from_timestamp(now, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_default();
    let trace_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = uuid::Uuid::new_v4().to_string();
    let mut body = json!({
        "error": entry.error,
        "error_description": format!(
            "AADSTS{code}: {} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}",
            entry.text
        ).replace(". Trace ID", ".\r\nTrace ID").replace(" Correlation ID", "\r\nCorrelation ID").replace(" Timestamp", "\r\nTimestamp"),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": format!("{}/error?code={code}", world.urls().microsoft),
    });
    if let Some(suberror) = entry.suberror {
        body["suberror"] = json!(suberror);
    }
    let mut response = (entry.status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(seconds) = entry.retry_after_s {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

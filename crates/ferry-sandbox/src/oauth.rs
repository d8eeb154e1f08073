//! Protocol pieces both providers share: PKCE, redirects, forms, bearer tokens, the
//! sign-in step of the HTML flow.

use std::collections::HashMap;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use url::Url;

use crate::world::{PendingFlow, Provider, User, World};

/// RFC 7636 §4.1: 43-128 characters of `[A-Z] [a-z] [0-9] - . _ ~`.
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

pub fn pkce_matches(verifier: &str, challenge: &str, method: &str) -> bool {
    match method {
        "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge,
        "plain" => verifier == challenge,
        _ => false,
    }
}

/// Appends query parameters to a redirect URI that may already have a query.
pub fn redirect_to(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in params {
                    query.append_pair(k, v);
                }
            }
            Redirect::to(url.as_str()).into_response()
        }
        Err(_) => (StatusCode::BAD_REQUEST, "invalid redirect_uri").into_response(),
    }
}

pub fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

/// A form body as a map; a repeated field is an error (the providers reject them).
pub fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut fields = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if fields.insert(k.to_string(), v.to_string()).is_some() {
            return Err(format!("repeated parameter {k}"));
        }
    }
    Ok(fields)
}

/// Like [`parse_form`], but keeps every value of repeated fields (checkbox lists).
pub fn parse_form_multi(body: &[u8]) -> HashMap<String, Vec<String>> {
    let mut fields: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        fields.entry(k.to_string()).or_default().push(v.to_string());
    }
    fields
}

pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The sign-in step shared by both providers: checks the password and binds the user to
/// the pending flow. Returns the flow, or a message for the form.
pub fn sign_in(
    world: &World,
    provider: Provider,
    flow_id: &str,
    email: &str,
    password: &str,
) -> Result<(PendingFlow, User), SignInError> {
    let mut state = world.state();
    let flow = state
        .flows
        .get(flow_id)
        .filter(|f| f.provider == provider)
        .cloned()
        .ok_or(SignInError::NoFlow)?;
    let user = state
        .users
        .values()
        .find(|u| u.provider == provider && u.email.eq_ignore_ascii_case(email.trim()))
        .cloned();
    let Some(user) = user.filter(|u| u.password == password) else {
        return Err(SignInError::WrongPassword {
            client_id: flow.client_id,
        });
    };
    if let Some(pending) = state.flows.get_mut(flow_id) {
        pending.user_id = Some(user.id.clone());
    }
    Ok((flow, user))
}

pub enum SignInError {
    /// The flow id is unknown or expired: the page is stale.
    NoFlow,
    WrongPassword {
        client_id: String,
    },
}

/// The user id bound to a flow by [`sign_in`], for the consent step.
pub fn signed_in_flow(
    world: &World,
    provider: Provider,
    flow_id: &str,
) -> Option<(PendingFlow, User)> {
    let state = world.state();
    let flow = state
        .flows
        .get(flow_id)
        .filter(|f| f.provider == provider)?
        .clone();
    let user = state.users.get(flow.user_id.as_deref()?)?.clone();
    Some((flow, user))
}

/// The consent step's opening, shared by both providers: reads the posted form, finds
/// the flow the user signed in to, and takes it out of the pending set (a consent page
/// can be answered once). None when the page is stale.
pub fn take_consented_flow(
    world: &World,
    provider: Provider,
    body: &[u8],
) -> Option<(HashMap<String, Vec<String>>, PendingFlow, User)> {
    let form = parse_form_multi(body);
    let flow_id = form
        .get("flow")
        .and_then(|v| v.first())
        .cloned()
        .unwrap_or_default();
    let (flow, user) = signed_in_flow(world, provider, &flow_id)?;
    world.state().flows.remove(&flow_id);
    Some((form, flow, user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_verifier(verifier));
        assert!(pkce_matches(verifier, challenge, "S256"));
        assert!(!pkce_matches(verifier, challenge, "plain"));
        assert!(!pkce_matches("x", challenge, "S256"));
        assert!(!valid_verifier("too-short"));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}!", "a".repeat(50))));
    }
}

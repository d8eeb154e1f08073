//! The authorization endpoint: validate the request, sign in, per-scope consent, redirect.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use url::Url;

use super::{is_identity_scope, known_scope, normalize_scope};
use crate::html::{self, escape, escape_attr, hidden};
use crate::oauth::{self, redirect_to, SignInError};
use crate::secrets;
use crate::world::{PendingFlow, Provider, World};

const G: Provider = Provider::Google;
const SIGN_IN_ACTION: &str = "/o/oauth2/v2/auth/signin";
const CONSENT_ACTION: &str = "/o/oauth2/v2/auth/consent";

fn blocked(code: &str, detail: &str) -> Response {
    oauth::html(StatusCode::BAD_REQUEST, html::error(G, code, detail))
}

/// Desktop-client redirect rules: loopback over http with any port; no custom schemes,
/// no out-of-band copy-paste, nothing else.
fn check_redirect(uri: &str) -> Result<(), (&'static str, &'static str)> {
    if uri == "urn:ietf:wg:oauth:2.0:oob" || uri.starts_with("urn:") {
        return Err((
            "redirect_uri_mismatch",
            "The out-of-band flow is no longer supported.",
        ));
    }
    let url = Url::parse(uri).map_err(|_| {
        (
            "redirect_uri_mismatch",
            "The redirect URI is not a valid URL.",
        )
    })?;
    match url.scheme() {
        "http" => {}
        "https" => {
            return Err((
                "redirect_uri_mismatch",
                "Desktop clients redirect to a loopback address.",
            ))
        }
        _ => {
            return Err((
                "invalid_request",
                "Custom scheme URIs are not allowed for 'Desktop' client type.",
            ))
        }
    }
    match url.host_str() {
        Some("127.0.0.1" | "[::1]" | "localhost") => Ok(()),
        _ => Err((
            "redirect_uri_mismatch",
            "Desktop clients redirect to a loopback address.",
        )),
    }
}

/// Parameters that go back on the redirect with every answer.
fn answer_params(world: &World, flow: &PendingFlow) -> Vec<(&'static str, String)> {
    let mut params = Vec::new();
    if let Some(state) = &flow.state {
        params.push(("state", state.clone()));
    }
    let config = world.config();
    if config.google.send_iss || config.strict {
        params.push(("iss", super::issuer(world)));
    }
    params
}

fn redirect_with(flow: &PendingFlow, params: Vec<(&'static str, String)>) -> Response {
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    redirect_to(&flow.redirect_uri, &pairs)
}

pub async fn start(
    State(world): State<Arc<World>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| q.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let Some(client_id) = param("client_id") else {
        return blocked("invalid_request", "Missing required parameter: client_id");
    };
    let Some(client) = world.client(G, client_id) else {
        return oauth::html(
            StatusCode::UNAUTHORIZED,
            html::error(G, "invalid_client", "The OAuth client was not found."),
        );
    };
    let Some(redirect_uri) = param("redirect_uri") else {
        return blocked(
            "invalid_request",
            "Missing required parameter: redirect_uri",
        );
    };
    if let Err((code, detail)) = check_redirect(redirect_uri) {
        return blocked(code, detail);
    }
    let mut flow = PendingFlow {
        provider: G,
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: param("state").map(str::to_owned),
        scopes: Vec::new(),
        code_challenge: String::new(),
        challenge_method: String::new(),
        nonce: param("nonce").map(str::to_owned),
        tenant_segment: None,
        user_id: None,
        created_at: world.clock.now(),
    };
    // From here the redirect URI is trusted, so errors go back to the client.
    let fail = |error: &str, description: &str| {
        let mut params = vec![
            ("error", error.to_owned()),
            ("error_description", description.to_owned()),
        ];
        params.extend(answer_params(&world, &flow));
        redirect_with(&flow, params)
    };
    if param("response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "Only response_type=code is supported.",
        );
    }
    let scopes: Vec<String> = param("scope")
        .unwrap_or_default()
        .split_whitespace()
        .map(normalize_scope)
        .collect();
    if scopes.is_empty() {
        return blocked("invalid_request", "Missing required parameter: scope");
    }
    if let Some(bad) = scopes.iter().find(|s| !known_scope(s)) {
        return blocked(
            "invalid_scope",
            &format!("Some requested scopes were invalid: {bad}"),
        );
    }
    let Some(challenge) = param("code_challenge") else {
        return blocked(
            "invalid_request",
            "Missing required parameter: code_challenge",
        );
    };
    let method = param("code_challenge_method").unwrap_or("plain");
    let plain_ok = world.config().google.allow_plain_pkce;
    if !(method == "S256" || (method == "plain" && plain_ok)) {
        return blocked(
            "invalid_request",
            "Invalid code_challenge_method: this client must use S256.",
        );
    }
    flow.scopes = scopes;
    flow.code_challenge = challenge.to_owned();
    flow.challenge_method = method.to_owned();

    let flow_id = secrets::random_b64(18);
    world.state().flows.insert(flow_id.clone(), flow);
    oauth::html(
        StatusCode::OK,
        sign_in_page(&world, &flow_id, &client.name, None),
    )
}

fn sign_in_page(world: &World, flow_id: &str, client_name: &str, error: Option<&str>) -> String {
    // The demo's accounts, so a person trying Ferry knows what to type.
    let accounts: Vec<(String, String, Option<&str>)> = world
        .state()
        .users
        .values()
        .filter(|u| u.provider == G)
        .map(|u| (u.email.clone(), u.password.clone(), None))
        .collect();
    html::with_demo_accounts(
        html::sign_in(G, SIGN_IN_ACTION, flow_id, client_name, error),
        &accounts,
    )
}

/// What each scope lets Ferry do, in the consent screen's words.
fn describe(scope: &str) -> String {
    match scope {
        "https://mail.google.com/" => "Read, compose, send and permanently delete all your email from Gmail".into(),
        "https://www.googleapis.com/auth/gmail.readonly" => "View your email messages and settings".into(),
        "https://www.googleapis.com/auth/gmail.metadata" => "View your email message metadata such as labels and headers, but not the email body".into(),
        "https://www.googleapis.com/auth/calendar.readonly" => "See and download any calendar you can access using your Google Calendar".into(),
        "https://www.googleapis.com/auth/calendar.events" => "View and edit events on all your calendars".into(),
        "https://www.googleapis.com/auth/calendar" => "See, edit, share and permanently delete all the calendars you can access using Google Calendar".into(),
        "https://www.googleapis.com/auth/contacts.readonly" => "See and download your contacts".into(),
        "https://www.googleapis.com/auth/contacts" => "See, edit, download and permanently delete your contacts".into(),
        other => format!("Use {other}"),
    }
}

fn consent_page(flow_id: &str, client_name: &str, email: &str, scopes: &[String]) -> String {
    let identity = scopes.iter().any(|s| is_identity_scope(s));
    let boxes: String = scopes
        .iter()
        .filter(|s| !is_identity_scope(s))
        .map(|s| {
            format!(
                "<label><input type=\"checkbox\" name=\"scope\" value=\"{}\" checked> {}</label>",
                escape_attr(s),
                escape(&describe(s))
            )
        })
        .collect();
    let identity_note = if identity {
        "<p>It will also see your name, email address and profile picture.</p>"
    } else {
        ""
    };
    html::page(
        G,
        &format!("{client_name} wants access to your Google Account"),
        &format!(
            "<p>Signed in as <strong>{}</strong></p><form method=\"post\" action=\"{CONSENT_ACTION}\">{}\
             <fieldset><legend>Select what {} can access</legend>{boxes}</fieldset>{identity_note}\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button>\
             <button type=\"submit\" name=\"decision\" value=\"allow\">Continue</button></form>",
            escape(email),
            hidden("flow", flow_id),
            escape(client_name),
        ),
    )
}

pub async fn sign_in(State(world): State<Arc<World>>, body: Bytes) -> Response {
    let form = oauth::parse_form_multi(&body);
    let field = |name: &str| {
        form.get(name)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    };
    let flow_id = field("flow");
    match oauth::sign_in(&world, G, &flow_id, &field("email"), &field("password")) {
        Ok((flow, user)) => {
            let client_name = world.client_name(&flow.client_id);
            oauth::html(
                StatusCode::OK,
                consent_page(&flow_id, &client_name, &user.email, &flow.scopes),
            )
        }
        Err(SignInError::WrongPassword { client_id }) => {
            let client_name = world.client_name(&client_id);
            let page = sign_in_page(
                &world,
                &flow_id,
                &client_name,
                Some("Wrong password. Try again."),
            );
            oauth::html(StatusCode::OK, page)
        }
        Err(SignInError::NoFlow) => blocked(
            "invalid_request",
            "This sign-in page has expired. Start again from the app.",
        ),
    }
}

pub async fn consent(State(world): State<Arc<World>>, body: Bytes) -> Response {
    let Some((form, flow, user)) = oauth::take_consented_flow(&world, G, &body) else {
        return blocked(
            "invalid_request",
            "This consent page has expired. Start again from the app.",
        );
    };
    let decision = form
        .get("decision")
        .and_then(|v| v.first())
        .map(String::as_str);
    if decision != Some("allow") {
        let mut params = vec![("error", "access_denied".to_owned())];
        params.extend(answer_params(&world, &flow));
        return redirect_with(&flow, params);
    }
    // Identity scopes come with the account; the others only when their box was ticked.
    let ticked: Vec<&String> = form
        .get("scope")
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let granted: Vec<String> = flow
        .scopes
        .iter()
        .filter(|s| is_identity_scope(s) || ticked.contains(s))
        .cloned()
        .collect();
    let code = format!("4/0A{}", secrets::random_b64(48));
    world.store_code(&code, &flow, &user.id, granted.clone());
    let mut params = vec![
        ("code", code),
        ("scope", granted.join(" ")),
        ("authuser", "0".to_owned()),
        ("prompt", "consent".to_owned()),
    ];
    params.extend(answer_params(&world, &flow));
    redirect_with(&flow, params)
}

#[cfg(test)]
mod tests {
    use super::check_redirect;

    #[test]
    fn desktop_redirect_rules() {
        assert!(check_redirect("http://127.0.0.1:53682/oauth/google").is_ok());
        assert!(check_redirect("http://[::1]:9/cb").is_ok());
        assert!(check_redirect("http://localhost:8080/").is_ok());
        assert_eq!(
            check_redirect("ferry://oauth/google").map_err(|e| e.0),
            Err("invalid_request")
        );
        assert_eq!(
            check_redirect("urn:ietf:wg:oauth:2.0:oob").map_err(|e| e.0),
            Err("redirect_uri_mismatch")
        );
        assert_eq!(
            check_redirect("https://127.0.0.1/cb").map_err(|e| e.0),
            Err("redirect_uri_mismatch")
        );
        assert_eq!(
            check_redirect("http://example.com/cb").map_err(|e| e.0),
            Err("redirect_uri_mismatch")
        );
    }
}

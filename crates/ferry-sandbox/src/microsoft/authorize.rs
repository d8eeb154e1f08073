//! The v2.0 authorization endpoint: tenant, client and redirect checks, sign-in, an
//! all-or-nothing consent screen, redirect.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use url::Url;

use super::{known_tenant, tenant_admits, OIDC_SCOPES};
use crate::html::{self, escape, hidden};
use crate::oauth::{self, redirect_to, SignInError};
use crate::secrets;
use crate::world::{PendingFlow, Provider, World, MSA_TENANT};

const M: Provider = Provider::Microsoft;

fn blocked(code: u32, detail: &str) -> Response {
    oauth::html(
        StatusCode::BAD_REQUEST,
        html::error(M, &format!("AADSTS{code}"), detail),
    )
}

/// Redirect matching for public clients: exact, except that the port of an
/// `http://localhost` (or manifest-added `http://127.0.0.1`) registration is ignored and a
/// path-less registration matches `/`. `[::1]` is not supported; query strings are not
/// allowed for apps that sign in personal accounts.
pub fn redirect_matches(registered: &str, requested: &str) -> bool {
    let (Ok(reg), Ok(req)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    if req.query().is_some() || req.fragment().is_some() || req.host_str() == Some("[::1]") {
        return false;
    }
    if req.scheme() == "http" {
        let loopback = matches!(req.host_str(), Some("localhost" | "127.0.0.1"));
        return loopback
            && reg.scheme() == "http"
            && reg.host_str() == req.host_str()
            && reg.path() == req.path();
    }
    reg.as_str() == req.as_str()
}

pub async fn start(
    State(world): State<Arc<World>>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| q.get(name).map(String::as_str).filter(|v| !v.is_empty());
    if !known_tenant(&world, &tenant) {
        return blocked(90002, &format!("Tenant '{tenant}' not found."));
    }
    let Some(client_id) = param("client_id") else {
        return blocked(
            900144,
            "The request must contain the parameter 'client_id'.",
        );
    };
    let Some(client) = world.client(M, client_id) else {
        return blocked(
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory."),
        );
    };
    let Some(redirect_uri) = param("redirect_uri") else {
        return blocked(
            900144,
            "The request must contain the parameter 'redirect_uri'.",
        );
    };
    if !client
        .redirect_uris
        .iter()
        .any(|r| redirect_matches(r, redirect_uri))
    {
        return blocked(50011, &format!("The redirect URI '{redirect_uri}' does not match the redirect URIs configured for the application."));
    }
    let flow = PendingFlow {
        provider: M,
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: param("state").map(str::to_owned),
        scopes: param("scope")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        code_challenge: param("code_challenge").unwrap_or_default().to_owned(),
        challenge_method: param("code_challenge_method").unwrap_or("plain").to_owned(),
        nonce: param("nonce").map(str::to_owned),
        tenant_segment: Some(tenant.clone()),
        user_id: None,
        created_at: world.clock.now(),
    };
    let fail = |code: u32, error: &str| {
        let description = format!("AADSTS{code}: {}", super::aadsts_lookup(code, "").text);
        let mut params = vec![
            ("error", error.to_owned()),
            ("error_description", description),
        ];
        if let Some(state) = &flow.state {
            params.push(("state", state.clone()));
        }
        if let Some(iss) = strict_iss(&world, &tenant) {
            params.push(("iss", iss));
        }
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        redirect_to(&flow.redirect_uri, &pairs)
    };
    if param("response_type") != Some("code") {
        return fail(70003, "unsupported_response_type");
    }
    if flow.scopes.is_empty() {
        return fail(900144, "invalid_request");
    }
    if let Some(problem) = scope_problem(&flow.scopes) {
        return fail(problem, "invalid_scope");
    }
    if !flow.code_challenge.is_empty() {
        if !matches!(flow.challenge_method.as_str(), "S256" | "plain") {
            return fail(9002313, "invalid_request");
        }
        if !(43..=128).contains(&flow.code_challenge.len()) {
            return fail(501491, "invalid_request");
        }
    }
    let flow_id = secrets::random_b64(18);
    world.state().flows.insert(flow_id.clone(), flow);
    let action = format!("/{tenant}/oauth2/v2.0/authorize/signin");
    oauth::html(
        StatusCode::OK,
        sign_in_page(&world, &action, &flow_id, &client.name, None),
    )
}

/// `.default` cannot be mixed with other permissions, and all permissions must belong to
/// one resource (an unprefixed permission means Graph).
fn scope_problem(scopes: &[String]) -> Option<u32> {
    let resource_scopes: Vec<&String> = scopes
        .iter()
        .filter(|s| !OIDC_SCOPES.contains(&s.as_str()))
        .collect();
    if resource_scopes.iter().any(|s| s.ends_with(".default")) && resource_scopes.len() > 1 {
        return Some(70011);
    }
    let resource = |s: &str| match s.rfind('/') {
        Some(i) if s.contains("://") => s[..=i].to_owned(),
        _ => super::GRAPH.to_owned(),
    };
    let first = resource_scopes.first().map(|s| resource(s));
    if resource_scopes.iter().any(|s| Some(resource(s)) != first) {
        return Some(700022);
    }
    None
}

fn sign_in_page(
    world: &World,
    action: &str,
    flow_id: &str,
    client_name: &str,
    error: Option<&str>,
) -> String {
    let accounts: Vec<(String, String, Option<&str>)> = world
        .state()
        .users
        .values()
        .filter(|u| u.provider == M)
        .map(|u| {
            let kind = if u.tenant.as_deref() == Some(MSA_TENANT) {
                "personal"
            } else {
                "work"
            };
            (u.email.clone(), u.password.clone(), Some(kind))
        })
        .collect();
    html::with_demo_accounts(
        html::sign_in(M, action, flow_id, client_name, error),
        &accounts,
    )
}

fn describe(scope: &str) -> String {
    match scope {
        "openid" => "Sign you in".into(),
        "profile" => "View your basic profile".into(),
        "email" => "View your email address".into(),
        "offline_access" => "Maintain access to data you have given it access to".into(),
        other => {
            let name = other.rsplit('/').next().unwrap_or(other);
            match name {
                "Mail.Read" => "Read your mail".into(),
                "Calendars.Read" => "Read your calendars".into(),
                "Calendars.ReadWrite" => "Have full access to your calendars".into(),
                "Contacts.Read" => "Read your contacts".into(),
                "User.Read" => "Sign you in and read your profile".into(),
                _ => format!("Use {name}"),
            }
        }
    }
}

pub async fn sign_in(
    State(world): State<Arc<World>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form = oauth::parse_form_multi(&body);
    let field = |name: &str| {
        form.get(name)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    };
    let flow_id = field("flow");
    let action = format!("/{tenant}/oauth2/v2.0/authorize/signin");
    match oauth::sign_in(&world, M, &flow_id, &field("email"), &field("password")) {
        Ok((flow, user)) => {
            let segment = flow.tenant_segment.clone().unwrap_or_default();
            let user_tenant = user.tenant.clone().unwrap_or_default();
            let client_name = world.client_name(&flow.client_id);
            if !tenant_admits(&segment, &user_tenant) {
                if let Some(pending) = world.state().flows.get_mut(&flow_id) {
                    pending.user_id = None;
                }
                let message = "AADSTS50020: This account cannot sign in here: it does not belong to the tenant this application uses.";
                return oauth::html(
                    StatusCode::OK,
                    sign_in_page(&world, &action, &flow_id, &client_name, Some(message)),
                );
            }
            let list: String = flow
                .scopes
                .iter()
                .map(|s| format!("<li>{}</li>", escape(&describe(s))))
                .collect();
            let page = html::page(
                M,
                "Permissions requested",
                &format!(
                    "<p><strong>{}</strong> would like to:</p><ul>{list}</ul><p>Signed in as <strong>{}</strong></p>\
                     <form method=\"post\" action=\"/{tenant}/oauth2/v2.0/authorize/consent\">{}\
                     <button type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button>\
                     <button type=\"submit\" name=\"decision\" value=\"allow\">Accept</button></form>",
                    escape(&client_name),
                    escape(&user.email),
                    hidden("flow", &flow_id),
                ),
            );
            oauth::html(StatusCode::OK, page)
        }
        Err(SignInError::WrongPassword { client_id }) => {
            let client_name = world.client_name(&client_id);
            let page = sign_in_page(
                &world,
                &action,
                &flow_id,
                &client_name,
                Some("Your account or password is incorrect."),
            );
            oauth::html(StatusCode::OK, page)
        }
        Err(SignInError::NoFlow) => blocked(
            9002313,
            "This sign-in page has expired. Start again from the app.",
        ),
    }
}

pub async fn consent(State(world): State<Arc<World>>, body: Bytes) -> Response {
    let Some((form, flow, user)) = oauth::take_consented_flow(&world, M, &body) else {
        return blocked(
            9002313,
            "This consent page has expired. Start again from the app.",
        );
    };
    let state = flow.state.clone().unwrap_or_default();
    if form
        .get("decision")
        .and_then(|v| v.first())
        .map(String::as_str)
        != Some("allow")
    {
        let description = format!("AADSTS65004: {}", super::aadsts_lookup(65004, "").text);
        let mut params = vec![
            ("error", "access_denied"),
            ("error_description", description.as_str()),
        ];
        if flow.state.is_some() {
            params.push(("state", state.as_str()));
        }
        let iss = strict_iss(&world, user.tenant.as_deref().unwrap_or_default());
        if let Some(iss) = &iss {
            params.push(("iss", iss.as_str()));
        }
        return redirect_to(&flow.redirect_uri, &params);
    }
    let personal = user.tenant.as_deref() == Some(MSA_TENANT);
    let code = if personal {
        format!("M.C5{}", secrets::random_b64(64))
    } else {
        format!("1.A{}", secrets::random_b64(96))
    };
    world.store_code(&code, &flow, &user.id, flow.scopes.clone());
    let session_state = uuid::Uuid::new_v4().to_string();
    let mut params = vec![("code", code.as_str())];
    if flow.state.is_some() {
        params.push(("state", state.as_str()));
    }
    params.push(("session_state", session_state.as_str()));
    let iss = strict_iss(&world, user.tenant.as_deref().unwrap_or_default());
    if let Some(iss) = &iss {
        params.push(("iss", iss.as_str()));
    }
    redirect_to(&flow.redirect_uri, &params)
}

/// Strict mode sends RFC 9207 `iss`, which Microsoft itself never does: the issuer of the
/// user's tenant once known, else of the tenant segment the app used.
fn strict_iss(world: &World, tenant: &str) -> Option<String> {
    world.config().strict.then(|| super::issuer(world, tenant))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_client_redirect_matching() {
        let localhost = "http://localhost/oauth/microsoft";
        assert!(
            redirect_matches(localhost, "http://localhost:53100/oauth/microsoft"),
            "port ignored"
        );
        assert!(redirect_matches(
            localhost,
            "http://localhost/oauth/microsoft"
        ));
        assert!(
            !redirect_matches(localhost, "http://localhost:1/other"),
            "paths distinguish"
        );
        assert!(
            !redirect_matches(localhost, "http://127.0.0.1:1/oauth/microsoft"),
            "hosts distinguish"
        );
        assert!(
            !redirect_matches(
                "http://[::1]/oauth/microsoft",
                "http://[::1]:5/oauth/microsoft"
            ),
            "IPv6 unsupported"
        );
        assert!(
            !redirect_matches(localhost, "http://localhost:2/oauth/microsoft?x=1"),
            "no query strings"
        );
        assert!(
            redirect_matches("http://localhost", "http://localhost:8400/"),
            "path-less gets a slash"
        );
        assert!(redirect_matches(
            "ferry://oauth/microsoft",
            "ferry://oauth/microsoft"
        ));
        assert!(!redirect_matches(
            "ferry://oauth/microsoft",
            "ferry://oauth/google"
        ));
        assert!(
            !redirect_matches("https://app.example/cb", "https://app.example:444/cb"),
            "only loopback ignores ports"
        );
    }

    #[test]
    fn scopes_of_one_resource_only() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            scope_problem(&s(&[
                "openid",
                "offline_access",
                "Mail.Read",
                "https://graph.microsoft.com/User.Read"
            ])),
            None
        );
        assert_eq!(
            scope_problem(&s(&["Mail.Read", "https://outlook.office.com/Mail.Read"])),
            Some(700022)
        );
        assert_eq!(
            scope_problem(&s(&["https://graph.microsoft.com/.default", "Mail.Read"])),
            Some(70011)
        );
        assert_eq!(
            scope_problem(&s(&["openid", "https://graph.microsoft.com/.default"])),
            None
        );
    }
}

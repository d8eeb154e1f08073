//! Google: OAuth 2.0 for a "Desktop app" client, OpenID Connect identity, revocation.
//! Paths are Google's (`accounts.google.com`, `oauth2.googleapis.com`,
//! `openidconnect.googleapis.com`, `www.googleapis.com`), served from one origin.

mod authorize;
pub mod gmail;
mod token;

pub(crate) use token::no_store as token_no_store;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::oauth::bearer;
use crate::world::{User, World};

pub const AUTHORIZE_PATH: &str = "/o/oauth2/v2/auth";
pub const TOKEN_PATH: &str = "/token";
pub const REVOKE_PATH: &str = "/revoke";
pub const JWKS_PATH: &str = "/oauth2/v3/certs";
pub const USERINFO_PATH: &str = "/v1/userinfo";

pub const SCOPE_EMAIL: &str = "https://www.googleapis.com/auth/userinfo.email";
pub const SCOPE_PROFILE: &str = "https://www.googleapis.com/auth/userinfo.profile";

pub fn router(world: Arc<World>) -> Router {
    Router::new()
        .route(AUTHORIZE_PATH, get(authorize::start))
        .route("/o/oauth2/v2/auth/signin", post(authorize::sign_in))
        .route("/o/oauth2/v2/auth/consent", post(authorize::consent))
        .route(TOKEN_PATH, post(token::token))
        .route(REVOKE_PATH, post(token::revoke))
        .route("/.well-known/openid-configuration", get(discovery))
        .route(JWKS_PATH, get(certs))
        .route(USERINFO_PATH, get(oidc_userinfo))
        .route("/oauth2/v3/userinfo", get(oidc_userinfo))
        .route("/oauth2/v2/userinfo", get(v2_userinfo))
        .route("/userinfo/v2/me", get(v2_userinfo))
        .with_state(Arc::clone(&world))
        .merge(gmail::router(world))
}

/// Google spells `email` and `profile` as URLs in granted scopes.
pub fn normalize_scope(scope: &str) -> String {
    match scope {
        "email" => SCOPE_EMAIL.to_owned(),
        "profile" => SCOPE_PROFILE.to_owned(),
        other => other.to_owned(),
    }
}

/// Sign-in scopes, granted with the account and never shown as a checkbox.
pub fn is_identity_scope(scope: &str) -> bool {
    matches!(scope, "openid" | SCOPE_EMAIL | SCOPE_PROFILE)
}

/// Scopes whose refresh tokens die when the user changes their password.
pub fn is_gmail_scope(scope: &str) -> bool {
    scope == "https://mail.google.com/"
        || scope.starts_with("https://www.googleapis.com/auth/gmail.")
}

pub fn known_scope(scope: &str) -> bool {
    scope == "openid"
        || scope == "https://mail.google.com/"
        || scope.starts_with("https://www.googleapis.com/auth/")
}

/// The issuer: this sandbox's origin, standing in for `https://accounts.google.com`.
pub fn issuer(world: &World) -> String {
    world.urls().google
}

async fn discovery(State(world): State<Arc<World>>) -> Json<Value> {
    let base = world.urls().google;
    let config = world.config();
    let mut doc = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}{AUTHORIZE_PATH}"),
        "device_authorization_endpoint": format!("{base}/device/code"),
        "token_endpoint": format!("{base}{TOKEN_PATH}"),
        "userinfo_endpoint": format!("{base}{USERINFO_PATH}"),
        "revocation_endpoint": format!("{base}{REVOKE_PATH}"),
        "jwks_uri": format!("{base}{JWKS_PATH}"),
        "response_types_supported": ["code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token", "none"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "email", "email_verified", "exp", "family_name", "given_name", "iat", "iss", "name", "picture", "sub"],
        "code_challenge_methods_supported": ["plain", "S256"],
        "grant_types_supported": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer"],
    });
    if config.google.advertise_iss_supported || config.strict {
        doc["authorization_response_iss_parameter_supported"] = json!(true);
    }
    Json(doc)
}

async fn certs(State(world): State<Arc<World>>) -> Json<Value> {
    Json(world.signers.google.jwks())
}

/// The claims a userinfo endpoint may show, given the granted scopes.
fn profile_claims(user: &User, scopes: &[String]) -> Map<String, Value> {
    let mut claims = Map::new();
    if scopes.iter().any(|s| s == SCOPE_PROFILE) {
        claims.insert("name".into(), json!(user.name));
        claims.insert("given_name".into(), json!(user.given_name));
        claims.insert("family_name".into(), json!(user.family_name));
    }
    if scopes.iter().any(|s| s == SCOPE_EMAIL) {
        claims.insert("email".into(), json!(user.email));
    }
    if let Some(hd) = &user.hosted_domain {
        claims.insert("hd".into(), json!(hd));
    }
    claims
}

pub(crate) fn unauthenticated() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": {
            "code": 401,
            "message": "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
            "status": "UNAUTHENTICATED",
        }})),
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static(
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
        ),
    );
    response
}

async fn oidc_userinfo(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let Some((access, user)) = bearer(&headers).and_then(|t| world.access_token(t)) else {
        return unauthenticated();
    };
    let mut claims = profile_claims(&user, &access.scopes);
    claims.insert("sub".into(), json!(user.subject));
    if claims.contains_key("email") {
        claims.insert("email_verified".into(), json!(true));
    }
    Json(Value::Object(claims)).into_response()
}

async fn v2_userinfo(State(world): State<Arc<World>>, headers: HeaderMap) -> Response {
    let Some((access, user)) = bearer(&headers).and_then(|t| world.access_token(t)) else {
        return unauthenticated();
    };
    let mut claims = profile_claims(&user, &access.scopes);
    claims.insert("id".into(), json!(user.subject));
    if claims.contains_key("email") {
        claims.insert("verified_email".into(), json!(true));
    }
    Json(Value::Object(claims)).into_response()
}

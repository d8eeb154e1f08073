//! The token endpoint (code exchange and refresh) and the revocation endpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{is_gmail_scope, issuer, profile_claims, SCOPE_EMAIL, SCOPE_PROFILE};
use crate::oauth::{parse_form, pkce_matches, valid_verifier};
use crate::secrets;
use crate::world::{AccessToken, Provider, RefreshToken, User, World};

const DAY: Duration = Duration::from_secs(86_400);
const ID_TOKEN_TTL_S: u64 = 3600;

/// RFC 6749 §5.1: token responses are never cached.
pub fn no_store(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn error(status: StatusCode, error: &str, description: &str) -> Response {
    no_store(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

pub async fn token(State(world): State<Arc<World>>, body: Bytes) -> Response {
    let form = match parse_form(&body) {
        Ok(form) => form,
        Err(why) => return error(StatusCode::BAD_REQUEST, "invalid_request", &why),
    };
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let Some(client) = field("client_id").and_then(|id| world.client(Provider::Google, id)) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The OAuth client was not found.",
        );
    };
    // Desktop clients may omit the secret; one that is sent must be right.
    if let (Some(sent), Some(expected)) = (field("client_secret"), client.secret.as_deref()) {
        if sent != expected {
            return error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized");
        }
    }
    match field("grant_type") {
        Some("authorization_code") => exchange_code(&world, &client.client_id, &form),
        Some("refresh_token") => refresh(&world, &client.client_id, field("refresh_token")),
        Some(other) => error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {other}"),
        ),
        None => error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Invalid grant_type: ",
        ),
    }
}

fn exchange_code(
    world: &World,
    client_id: &str,
    form: &std::collections::HashMap<String, String>,
) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let now = world.clock.now();
    let ttl = Duration::from_secs(world.config().code_ttl_s);
    let code = {
        let mut state = world.state();
        let Some(code) = field("code").and_then(|c| state.codes.get_mut(c)) else {
            return error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
        };
        let fresh = !code.used
            && code.provider == Provider::Google
            && code.client_id == client_id
            && now < code.issued_at + ttl;
        // A code is spent by its first redemption attempt, successful or not.
        code.used = true;
        if !fresh {
            return error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
        }
        code.clone()
    };
    if field("redirect_uri") != Some(code.redirect_uri.as_str()) {
        return error(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "Bad Request",
        );
    }
    let Some(verifier) = field("code_verifier") else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Missing code verifier.",
        );
    };
    if !valid_verifier(verifier)
        || !pkce_matches(verifier, &code.code_challenge, &code.challenge_method)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Invalid code verifier.",
        );
    }
    world.state().verifiers.push(verifier.to_owned());
    let Some(user) = world.state().users.get(&code.user_id).cloned() else {
        return error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
    };

    let refresh_token = mint_refresh_token(world, client_id, &user, &code.scopes, code.issued_at);
    let mut body = access_response(world, client_id, &user, &code.scopes, &refresh_token);
    body["refresh_token"] = json!(refresh_token);
    if code
        .scopes
        .iter()
        .any(|s| s == "openid" || s == SCOPE_EMAIL || s == SCOPE_PROFILE)
    {
        let token = id_token(world, client_id, &user, &code.scopes, code.nonce.as_deref());
        world.state().id_tokens.push(token.clone());
        body["id_token"] = json!(token);
    }
    no_store(StatusCode::OK, body)
}

/// A new refresh token for `user` and `client_id`, counted against Google's per-client limit.
fn mint_refresh_token(
    world: &World,
    client_id: &str,
    user: &User,
    scopes: &[String],
    consented_at: std::time::SystemTime,
) -> String {
    let now = world.clock.now();
    let refresh_token = format!("1//0{}", secrets::random_b64(72));
    let mut state = world.state();
    state.refresh_tokens.insert(
        refresh_token.clone(),
        RefreshToken::issued(client_id, user, scopes, now, consented_at),
    );
    evict_over_limit(
        &mut state.refresh_tokens,
        &user.id,
        client_id,
        world.config().google.refresh_tokens_per_client,
    );
    refresh_token
}

/// Google keeps a fixed number of live refresh tokens per account and client; issuing
/// one more silently invalidates the oldest.
fn evict_over_limit(
    tokens: &mut std::collections::HashMap<String, RefreshToken>,
    user_id: &str,
    client_id: &str,
    limit: usize,
) {
    let mut live: Vec<(&String, std::time::SystemTime)> = tokens
        .iter()
        .filter(|(_, t)| t.valid && t.user_id == user_id && t.client_id == client_id)
        .map(|(k, t)| (k, t.issued_at))
        .collect();
    if live.len() <= limit {
        return;
    }
    live.sort_by_key(|(_, issued)| *issued);
    let doomed: Vec<String> = live[..live.len() - limit]
        .iter()
        .map(|(k, _)| (*k).clone())
        .collect();
    for key in doomed {
        if let Some(token) = tokens.get_mut(&key) {
            token.valid = false;
        }
    }
}

fn access_response(
    world: &World,
    client_id: &str,
    user: &User,
    scopes: &[String],
    refresh_token: &str,
) -> Value {
    let ttl = world.config().google.access_token_ttl_s;
    let access_token = format!("ya29.{}", secrets::random_b64(96));
    world.state().access_tokens.insert(
        access_token.clone(),
        AccessToken {
            client_id: client_id.to_owned(),
            user_id: user.id.clone(),
            scopes: scopes.to_vec(),
            expires_at: world.clock.now() + Duration::from_secs(ttl),
            refresh_token: Some(refresh_token.to_owned()),
            valid: true,
        },
    );
    json!({
        "access_token": access_token,
        "expires_in": ttl,
        "scope": scopes.join(" "),
        "token_type": "Bearer",
    })
}

fn id_token(
    world: &World,
    client_id: &str,
    user: &User,
    scopes: &[String],
    nonce: Option<&str>,
) -> String {
    let now = world.clock.unix();
    let iss = issuer(world);
    let iss = if world.config().google.id_token_iss_bare_host {
        iss.trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_owned()
    } else {
        iss
    };
    let mut claims = if world.config().strict {
        // Strict: who the user is comes from userinfo only.
        serde_json::Map::new()
    } else {
        profile_claims(user, scopes)
    };
    if claims.contains_key("email") {
        claims.insert("email_verified".into(), json!(true));
    }
    claims.insert("iss".into(), json!(iss));
    claims.insert("azp".into(), json!(client_id));
    claims.insert("aud".into(), json!(client_id));
    claims.insert("sub".into(), json!(user.subject));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + ID_TOKEN_TTL_S));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    world.signers.google.sign(&Value::Object(claims))
}

/// Why a refresh token no longer works, if it does not.
fn dead(world: &World, token: &RefreshToken, user: &User) -> bool {
    let now = world.clock.now();
    let config = world.config().google;
    let testing = world
        .state()
        .clients
        .get(&token.client_id)
        .is_some_and(|c| c.testing);
    !token.valid
        || (testing && now >= token.consented_at + DAY * config.testing_refresh_ttl_days as u32)
        || now >= token.last_used + DAY * config.refresh_inactivity_days as u32
        || (token.password_epoch < user.password_epoch
            && token.scopes.iter().any(|s| is_gmail_scope(s)))
}

fn refresh(world: &World, client_id: &str, presented: Option<&str>) -> Response {
    let description = world.config().google.dead_token_description;
    let Some(presented) = presented else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: refresh_token",
        );
    };
    let Some((token, user)) = world.refresh_token(presented, client_id) else {
        return error(StatusCode::BAD_REQUEST, "invalid_grant", &description);
    };
    if token.rotated && world.config().strict {
        // A replaced token used again: someone else may hold it. The grant goes.
        world.revoke_grants(&user.id, Some(client_id));
        return error(StatusCode::BAD_REQUEST, "invalid_grant", &description);
    }
    if dead(world, &token, &user) {
        if let Some(t) = world.state().refresh_tokens.get_mut(presented) {
            t.valid = false;
        }
        return error(StatusCode::BAD_REQUEST, "invalid_grant", &description);
    }
    if let Some(t) = world.state().refresh_tokens.get_mut(presented) {
        t.last_used = world.clock.now();
    }
    if !world.config().strict {
        // No rotation: the response carries no refresh_token.
        return no_store(
            StatusCode::OK,
            access_response(world, client_id, &user, &token.scopes, presented),
        );
    }
    let rotated = mint_refresh_token(world, client_id, &user, &token.scopes, token.consented_at);
    if let Some(t) = world.state().refresh_tokens.get_mut(presented) {
        t.rotated = true;
    }
    let mut body = access_response(world, client_id, &user, &token.scopes, &rotated);
    body["refresh_token"] = json!(rotated);
    no_store(StatusCode::OK, body)
}

/// `POST /revoke` with `token` in the form (or the query, which Google also accepts).
pub async fn revoke(
    State(world): State<Arc<World>>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let form = parse_form(&body).unwrap_or_default();
    let Some(token) = form
        .get("token")
        .or_else(|| query.get("token"))
        .filter(|t| !t.is_empty())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: token",
        );
    };
    if world.config().strict {
        return strict_revoke(&world, &form, token);
    }
    let owner = {
        let state = world.state();
        let from_refresh = state
            .refresh_tokens
            .get(token.as_str())
            .filter(|t| t.valid)
            .map(|t| (t.user_id.clone(), t.client_id.clone()));
        let from_access = state
            .access_tokens
            .get(token.as_str())
            .filter(|t| t.valid && t.expires_at > world.clock.now())
            .map(|t| (t.user_id.clone(), t.client_id.clone()));
        from_refresh.or(from_access)
    };
    match owner {
        Some((user_id, client_id)) => {
            // Revocation removes the grant for every client of the project.
            world.revoke_grants(&user_id, Some(&client_id));
            (StatusCode::OK, "").into_response()
        }
        // Google departs from RFC 7009 here: an unknown token is a 400, not a 200.
        None => error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        ),
    }
}

/// RFC 7009 as written: the client identifies itself (§2.1) and may only revoke its own
/// tokens; an unknown or dead token is a 200 (§2.2), unlike Google's 400.
fn strict_revoke(world: &World, form: &HashMap<String, String>, token: &str) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let Some(client) = field("client_id").and_then(|id| world.client(Provider::Google, id)) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The revocation request does not identify a known client.",
        );
    };
    if client.secret.is_some() && field("client_secret") != client.secret.as_deref() {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The client could not be authenticated.",
        );
    }
    if let Some(hint) = field("token_type_hint") {
        if hint != "refresh_token" && hint != "access_token" {
            return error(
                StatusCode::BAD_REQUEST,
                "unsupported_token_type",
                "Unknown token_type_hint.",
            );
        }
    }
    let owner = {
        let state = world.state();
        let from_refresh = state
            .refresh_tokens
            .get(token)
            .map(|t| (t.user_id.clone(), t.client_id.clone()));
        let from_access = state
            .access_tokens
            .get(token)
            .map(|t| (t.user_id.clone(), t.client_id.clone()));
        from_refresh.or(from_access)
    };
    match owner {
        Some((_, issued_to)) if issued_to != client.client_id => error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "The token was not issued to this client.",
        ),
        Some((user_id, _)) => {
            world.revoke_grants(&user_id, Some(&client.client_id));
            (StatusCode::OK, "").into_response()
        }
        None => (StatusCode::OK, "").into_response(),
    }
}

//! The v2.0 token endpoint: code redemption and refresh with rotation.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rand::Rng;
use serde_json::{json, Value};

use super::{errors, issuer, pairwise_subject, qualify, tenant_admits};
use crate::google::token_no_store as no_store;
use crate::oauth::{parse_form, pkce_matches, valid_verifier};
use crate::secrets;
use crate::world::{AccessToken, Provider, RefreshToken, User, World};

const DAY: Duration = Duration::from_secs(86_400);
const ID_TOKEN_TTL_S: u64 = 3600;

pub async fn token(
    State(world): State<Arc<World>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(form) = parse_form(&body) else {
        return errors::response(&world, 9002313);
    };
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let Some(client_id) = field("client_id") else {
        return errors::response(&world, 900144);
    };
    if world.client(Provider::Microsoft, client_id).is_none() {
        return errors::response(&world, 700016);
    }
    if field("client_secret").is_some() || field("client_assertion").is_some() {
        return errors::response(&world, 700025);
    }
    match field("grant_type") {
        Some("authorization_code") => redeem(&world, &tenant, client_id, &form),
        Some("refresh_token") => refresh(&world, &tenant, client_id, field("refresh_token")),
        None => errors::response(&world, 900144),
        Some(_) => errors::response(&world, 70003),
    }
}

fn redeem(
    world: &World,
    tenant: &str,
    client_id: &str,
    form: &HashMap<String, String>,
) -> Response {
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let now = world.clock.now();
    let ttl = Duration::from_secs(world.config().code_ttl_s);
    let code = {
        let mut state = world.state();
        let Some(code) = field("code").and_then(|c| state.codes.get_mut(c)) else {
            return errors::response(world, 70000);
        };
        if code.provider != Provider::Microsoft || code.client_id != client_id {
            return errors::response(world, 70000);
        }
        if code.used {
            return errors::response(world, 54005);
        }
        code.used = true;
        if now >= code.issued_at + ttl {
            return errors::response(world, 70008);
        }
        code.clone()
    };
    if field("redirect_uri") != Some(code.redirect_uri.as_str()) {
        return errors::response(world, 50011);
    }
    if !code.code_challenge.is_empty() {
        let verified = field("code_verifier").filter(|v| {
            valid_verifier(v) && pkce_matches(v, &code.code_challenge, &code.challenge_method)
        });
        let Some(verifier) = verified else {
            return errors::response(world, 501481);
        };
        world.state().verifiers.push(verifier.to_owned());
    }
    let Some(user) = world.state().users.get(&code.user_id).cloned() else {
        return errors::response(world, 70000);
    };
    if !tenant_admits(tenant, user.tenant.as_deref().unwrap_or_default()) {
        return errors::response(world, 50020);
    }
    no_store(
        StatusCode::OK,
        issue(
            world,
            client_id,
            &user,
            &code.scopes,
            code.nonce.as_deref(),
            code.issued_at,
        ),
    )
}

/// Access token, refresh token (only with `offline_access`) and id_token (only with `openid`).
fn issue(
    world: &World,
    client_id: &str,
    user: &User,
    scopes: &[String],
    nonce: Option<&str>,
    consented_at: std::time::SystemTime,
) -> Value {
    let config = world.config().microsoft;
    let ttl = rand::thread_rng().gen_range(
        config.access_token_ttl_min_s
            ..=config
                .access_token_ttl_max_s
                .max(config.access_token_ttl_min_s),
    );
    let now = world.clock.now();
    let refresh_token = scopes
        .iter()
        .any(|s| s == "offline_access")
        .then(|| format!("1.A{}", secrets::random_b64(160)));
    let access_token = format!("EwB{}", secrets::random_b64(120));
    {
        let mut state = world.state();
        if let Some(refresh) = &refresh_token {
            state.refresh_tokens.insert(
                refresh.clone(),
                RefreshToken::issued(client_id, user, scopes, now, consented_at),
            );
        }
        state.access_tokens.insert(
            access_token.clone(),
            AccessToken {
                client_id: client_id.to_owned(),
                user_id: user.id.clone(),
                scopes: scopes.to_vec(),
                expires_at: now + Duration::from_secs(ttl),
                refresh_token: refresh_token.clone(),
                valid: true,
            },
        );
    }
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scopes.iter().map(|s| qualify(s)).collect::<Vec<_>>().join(" "),
        "expires_in": ttl,
        "ext_expires_in": ttl,
        "access_token": access_token,
    });
    if let Some(refresh) = refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    if scopes.iter().any(|s| s == "openid") {
        let token = id_token(world, client_id, user, scopes, nonce);
        world.state().id_tokens.push(token.clone());
        body["id_token"] = json!(token);
    }
    body
}

fn id_token(
    world: &World,
    client_id: &str,
    user: &User,
    scopes: &[String],
    nonce: Option<&str>,
) -> String {
    let now = world.clock.unix();
    let tid = user.tenant.clone().unwrap_or_default();
    let mut claims = json!({
        "ver": "2.0",
        "iss": issuer(world, &tid),
        "sub": pairwise_subject(client_id, &user.subject),
        "aud": client_id,
        "exp": now + ID_TOKEN_TTL_S,
        "iat": now,
        "nbf": now,
        "tid": tid,
        "aio": secrets::random_b64(24),
    });
    // Strict: who the user is comes from userinfo only.
    let strict = world.config().strict;
    if scopes.iter().any(|s| s == "profile") {
        if !strict {
            claims["name"] = json!(user.name);
            claims["preferred_username"] = json!(user.email);
        }
        claims["oid"] = json!(user.subject);
    }
    if scopes.iter().any(|s| s == "email") && !strict {
        claims["email"] = json!(user.email);
    }
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    world.signers.microsoft.sign(&claims)
}

fn refresh(world: &World, tenant: &str, client_id: &str, presented: Option<&str>) -> Response {
    let Some(presented) = presented else {
        return errors::response(world, 900144);
    };
    let config = world.config().microsoft;
    let Some((token, user)) = world.refresh_token(presented, client_id) else {
        return errors::response(world, 9002313);
    };
    let now = world.clock.now();
    if token.rotated && world.config().strict {
        // A replaced token used again: someone else may hold it. The grant goes.
        world.revoke_grants(&user.id, Some(client_id));
        return errors::response(world, config.revocation_error_code);
    }
    if !token.valid || token.password_epoch < user.password_epoch {
        return errors::response(world, config.revocation_error_code);
    }
    if now >= token.last_used + DAY * config.refresh_inactivity_days as u32 {
        return errors::response(world, 700082);
    }
    if !tenant_admits(tenant, user.tenant.as_deref().unwrap_or_default()) {
        return errors::response(world, 50020);
    }
    {
        let mut state = world.state();
        if let Some(old) = state.refresh_tokens.get_mut(presented) {
            old.last_used = now;
            old.rotated = true;
            if !config.old_refresh_token_stays_valid {
                old.valid = false;
            }
        }
    }
    // Rotation: a new refresh token comes back with every refresh.
    no_store(
        StatusCode::OK,
        issue(
            world,
            client_id,
            &user,
            &token.scopes,
            None,
            token.consented_at,
        ),
    )
}

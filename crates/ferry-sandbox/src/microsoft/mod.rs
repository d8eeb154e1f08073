//! The Microsoft identity platform (v2.0 endpoints, public desktop client), the Graph
//! `/me` endpoint and Graph mail ([`mail`]). Paths are `login.microsoftonline.com`'s and `graph.microsoft.com`'s,
//! served from one origin.

mod authorize;
mod errors;
mod graph;
pub mod mail;
mod token;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::world::{World, MSA_TENANT};

pub use errors::lookup as aadsts_lookup;

/// The scope prefix of Microsoft Graph; unprefixed scopes mean Graph.
pub const GRAPH: &str = "https://graph.microsoft.com/";
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

pub fn router(world: Arc<World>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize::start))
        .route(
            "/{tenant}/oauth2/v2.0/authorize/signin",
            post(authorize::sign_in),
        )
        .route(
            "/{tenant}/oauth2/v2.0/authorize/consent",
            post(authorize::consent),
        )
        .route("/{tenant}/oauth2/v2.0/token", post(token::token))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .route("/v1.0/me", get(graph::me))
        .route("/oidc/userinfo", get(graph::userinfo))
        .with_state(Arc::clone(&world))
        .merge(mail::router(world))
}

/// The error body the token endpoint sends for an AADSTS code (also used for injected faults).
pub fn aadsts_error(world: &World, code: u32) -> Response {
    errors::response(world, code)
}

/// `common`, `organizations`, `consumers`, or a tenant id some user belongs to.
pub fn known_tenant(world: &World, segment: &str) -> bool {
    matches!(
        segment,
        "common" | "organizations" | "consumers" | MSA_TENANT
    ) || world
        .state()
        .users
        .values()
        .any(|u| u.tenant.as_deref() == Some(segment))
}

/// Whether a user may sign in through the `{tenant}` segment.
pub fn tenant_admits(segment: &str, user_tenant: &str) -> bool {
    match segment {
        "common" => true,
        "consumers" => user_tenant == MSA_TENANT,
        "organizations" => user_tenant != MSA_TENANT,
        other => other == user_tenant,
    }
}

/// `sub` is pairwise: the same user has a different subject in each application.
pub fn pairwise_subject(client_id: &str, oid: &str) -> String {
    let digest = Sha256::digest(format!("{client_id}:{oid}").as_bytes());
    URL_SAFE_NO_PAD.encode(digest)
}

/// Scopes as the token response lists them: Graph permissions with their resource prefix.
pub fn qualify(scope: &str) -> String {
    if OIDC_SCOPES.contains(&scope) || scope.contains("://") {
        scope.to_owned()
    } else {
        format!("{GRAPH}{scope}")
    }
}

pub fn issuer(world: &World, tenant_id: &str) -> String {
    format!("{}/{tenant_id}/v2.0", world.urls().microsoft)
}

async fn discovery(State(world): State<Arc<World>>, Path(tenant): Path<String>) -> Response {
    use axum::response::IntoResponse;
    if !known_tenant(&world, &tenant) {
        return errors::response(&world, 90002);
    }
    let base = world.urls().microsoft;
    let strict = world.config().strict;
    let issuer_tenant = match tenant.as_str() {
        "common" | "organizations" => "{tenantid}".to_owned(),
        "consumers" => MSA_TENANT.to_owned(),
        other => other.to_owned(),
    };
    let mut doc = json!({
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{issuer_tenant}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{base}/{tenant}/kerberos"),
        "tenant_region_scope": null,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    });
    if strict {
        // Microsoft itself never advertises RFC 9207; the strict sandbox does.
        doc["authorization_response_iss_parameter_supported"] = json!(true);
    }
    Json(doc).into_response()
}

async fn keys(State(world): State<Arc<World>>) -> Json<Value> {
    Json(world.signers.microsoft.jwks())
}

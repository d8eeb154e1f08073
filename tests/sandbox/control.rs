//! The control API over HTTP: users, clients, clock, configuration, faults, request log,
//! quotas. Token requests here are raw HTTP so the faults are seen as a client sees them.

use std::time::{Duration, Instant};

use ferry_sandbox::browser::{Browser, Outcome, Person};
use ferry_sandbox::Sandbox;
use oauth2::{CsrfToken, PkceCodeChallenge, Scope, TokenResponse};
use serde_json::{json, Value};

use crate::support::{self, param};

const REDIRECT: &str = "http://127.0.0.1:40000/oauth/google";

async fn control(
    sb: &Sandbox,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = support::http().request(method, format!("{}{path}", sb.control_url()));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("control request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Signs in through a client created over the control API; returns the refresh token.
async fn google_refresh_token(
    sb: &Sandbox,
    client_id: &str,
    email: &str,
    password: &str,
) -> String {
    let client = oauth_client!(
        client_id,
        format!("{}/o/oauth2/v2/auth", sb.google_url()),
        format!("{}/token", sb.google_url()),
        REDIRECT
    );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .set_pkce_challenge(challenge)
        .url();
    let Ok(Outcome::Redirect(redirect)) = Browser::new()
        .authorize(url.as_str(), &Person::new(email, password))
        .await
    else {
        panic!("sign-in failed");
    };
    let tokens = client
        .exchange_code(oauth2::AuthorizationCode::new(
            param(&redirect, "code").expect("code"),
        ))
        .set_pkce_verifier(verifier)
        .request_async(&support::http())
        .await
        .expect("exchange");
    tokens.refresh_token().expect("rt").secret().clone()
}

async fn refresh_raw(
    sb: &Sandbox,
    client_id: &str,
    refresh_token: &str,
) -> reqwest::Result<reqwest::Response> {
    support::http()
        .post(format!("{}/token", sb.google_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
}

async fn setup(sb: &Sandbox) -> (String, String) {
    let (status, user) = control(sb, reqwest::Method::POST, "/users", Some(json!({
        "provider": "google", "email": "mary@example.net", "name": "Mary Somerville", "password": "pw"
    }))).await;
    assert_eq!(status, 201, "{user}");
    let (status, client) = control(
        sb,
        reqwest::Method::POST,
        "/clients",
        Some(json!({"provider": "google", "name": "Test app"})),
    )
    .await;
    assert_eq!(status, 201);
    let client_id = client["client_id"].as_str().expect("client_id").to_owned();
    assert!(
        client_id.ends_with(".apps.googleusercontent.com"),
        "{client_id}"
    );
    let rt = google_refresh_token(sb, &client_id, "mary@example.net", "pw").await;
    (client_id, rt)
}

#[tokio::test]
async fn users_and_clients_created_over_http_can_sign_in_and_be_revoked() {
    let sb = support::start().await;
    let (client_id, rt) = setup(&sb).await;
    assert_eq!(
        refresh_raw(&sb, &client_id, &rt)
            .await
            .expect("refresh")
            .status(),
        200
    );
    let (_, users) = control(&sb, reqwest::Method::GET, "/users", None).await;
    let mary = users
        .as_array()
        .expect("list")
        .iter()
        .find(|u| u["email"] == "mary@example.net")
        .expect("mary")
        .clone();
    assert!(mary.get("password").is_none(), "passwords are not listed");
    let (status, body) = control(
        &sb,
        reqwest::Method::POST,
        &format!("/users/{}/revoke", mary["id"].as_str().expect("id")),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (status, body["revoked_refresh_tokens"].as_u64()),
        (200, Some(1))
    );
    assert_eq!(
        refresh_raw(&sb, &client_id, &rt)
            .await
            .expect("refresh")
            .status(),
        400
    );
}

#[tokio::test]
async fn the_request_log_counts_refresh_calls() {
    let sb = support::start().await;
    let (client_id, rt) = setup(&sb).await;
    control(&sb, reqwest::Method::DELETE, "/requests", None).await;
    for _ in 0..3 {
        refresh_raw(&sb, &client_id, &rt).await.expect("refresh");
    }
    let (_, count) = control(
        &sb,
        reqwest::Method::GET,
        "/requests/count?service=google&path=/token&grant_type=refresh_token",
        None,
    )
    .await;
    assert_eq!(count["count"], 3);
    let (_, log) = control(&sb, reqwest::Method::GET, "/requests", None).await;
    let text = log.to_string();
    assert!(!text.contains(&rt), "the log keeps no tokens");
}

#[tokio::test]
async fn the_clock_and_token_lifetimes_are_controllable() {
    let sb = support::start().await;
    let (_, mut config) = control(&sb, reqwest::Method::GET, "/config", None).await;
    config["google"]["access_token_ttl_s"] = json!(120);
    let (status, _) = control(&sb, reqwest::Method::PUT, "/config", Some(config)).await;
    assert_eq!(status, 200);
    let (client_id, rt) = setup(&sb).await;
    let body: Value = refresh_raw(&sb, &client_id, &rt)
        .await
        .expect("refresh")
        .json()
        .await
        .expect("JSON");
    assert_eq!(body["expires_in"], 120);
    let access = body["access_token"].as_str().expect("token").to_owned();
    let userinfo = |token: String| {
        let url = format!("{}/v1/userinfo", sb.google_url());
        async move {
            support::http()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("userinfo")
                .status()
                .as_u16()
        }
    };
    assert_eq!(userinfo(access.clone()).await, 200);
    let (_, before) = control(&sb, reqwest::Method::GET, "/clock", None).await;
    let (_, after) = control(
        &sb,
        reqwest::Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 121})),
    )
    .await;
    assert!(after["now_unix"].as_u64() >= before["now_unix"].as_u64().map(|t| t + 121));
    assert_eq!(userinfo(access).await, 401, "expired on the virtual clock");
}

#[tokio::test]
async fn a_burst_of_503s_then_normal_service() {
    let sb = support::start().await;
    let (client_id, rt) = setup(&sb).await;
    let (status, _) = control(&sb, reqwest::Method::POST, "/faults", Some(json!({
        "service": "google", "path_contains": "/token", "grant_type": "refresh_token", "times": 3,
        "action": {"kind": "respond", "status": 503, "body": "{\"error\":\"temporarily_unavailable\"}"}
    }))).await;
    assert_eq!(status, 201);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            refresh_raw(&sb, &client_id, &rt)
                .await
                .expect("response")
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [503, 503, 503, 200]);
}

#[tokio::test]
async fn throttling_with_retry_after() {
    let sb = support::start().await;
    let (client_id, rt) = setup(&sb).await;
    sb.world().faults.add(serde_json::from_value(json!({
        "service": "google", "times": 1,
        "action": {"kind": "respond", "status": 429, "retry_after_s": 7,
                   "body": "{\"error\":{\"code\":429,\"message\":\"Too many concurrent requests for user\",\"errors\":[{\"domain\":\"usageLimits\",\"reason\":\"rateLimitExceeded\"}]}}"}
    })).expect("rule"));
    let response = refresh_raw(&sb, &client_id, &rt).await.expect("response");
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
}

#[tokio::test]
async fn a_dropped_connection_and_malformed_json_reach_the_client_as_failures() {
    let sb = support::start().await;
    let (client_id, rt) = setup(&sb).await;
    sb.world().faults.add(
        serde_json::from_value(
            json!({"service": "google", "times": 1, "action": {"kind": "drop"}}),
        )
        .expect("rule"),
    );
    let dropped = match refresh_raw(&sb, &client_id, &rt).await {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(dropped, "the client sees a broken connection");

    sb.world().faults.add(
        serde_json::from_value(
            json!({"service": "google", "times": 1, "action": {"kind": "malformed_json"}}),
        )
        .expect("rule"),
    );
    let response = refresh_raw(&sb, &client_id, &rt).await.expect("response");
    assert_eq!(response.status(), 200);
    assert!(
        response.json::<Value>().await.is_err(),
        "the body is not JSON"
    );
    assert_eq!(
        refresh_raw(&sb, &client_id, &rt)
            .await
            .expect("response")
            .status(),
        200,
        "spent rules are gone"
    );
}

#[tokio::test]
async fn latency_is_injected_per_rule() {
    let sb = support::start().await;
    let (client_id, rt) = setup(&sb).await;
    sb.world().faults.add(
        serde_json::from_value(
            json!({"service": "google", "times": 1, "action": {"kind": "latency", "ms": 300}}),
        )
        .expect("rule"),
    );
    let started = Instant::now();
    assert_eq!(
        refresh_raw(&sb, &client_id, &rt)
            .await
            .expect("response")
            .status(),
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn any_aadsts_code_can_be_injected() {
    let mut config = ferry_sandbox::SandboxConfig::default();
    config.microsoft.mfa_error_value = "interaction_required".into();
    let sb = support::start_with(config).await;
    sb.world().faults.add(serde_json::from_value(json!({
        "service": "microsoft", "path_contains": "/token", "times": 1, "action": {"kind": "aadsts", "code": 50076}
    })).expect("rule"));
    let response = support::http()
        .post(format!("{}/common/oauth2/v2.0/token", sb.microsoft_url()))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(
        (body["error"].as_str(), body["suberror"].as_str()),
        (Some("interaction_required"), Some("basic_action"))
    );
    assert_eq!(body["error_codes"][0], 50076);

    sb.world().faults.add(
        serde_json::from_value(json!({
            "service": "microsoft", "times": 1, "action": {"kind": "aadsts", "code": 90024}
        }))
        .expect("rule"),
    );
    let response = support::http()
        .post(format!("{}/common/oauth2/v2.0/token", sb.microsoft_url()))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 429, "a transient budget error");
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn graph_throttles_per_mailbox_when_quotas_are_on() {
    let mut config = ferry_sandbox::SandboxConfig::default();
    config.quotas.enabled = true;
    config.quotas.graph_requests_per_10_min = 2;
    let sb = support::start_with(config).await;
    let client = oauth_client!(
        ferry_sandbox::control::DEMO_MICROSOFT_CLIENT_ID,
        format!("{}/common/oauth2/v2.0/authorize", sb.microsoft_url()),
        format!("{}/common/oauth2/v2.0/token", sb.microsoft_url()),
        "ferry://oauth/microsoft"
    );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("User.Read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let Ok(Outcome::Redirect(redirect)) = Browser::new()
        .authorize(url.as_str(), &Person::new("alan@outlook.example", "alan"))
        .await
    else {
        panic!("sign-in");
    };
    let tokens = client
        .exchange_code(oauth2::AuthorizationCode::new(
            param(&redirect, "code").expect("code"),
        ))
        .set_pkce_verifier(verifier)
        .request_async(&support::http())
        .await
        .expect("exchange");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = support::http()
            .get(format!("{}/v1.0/me", sb.microsoft_url()))
            .bearer_auth(tokens.access_token().secret())
            .send()
            .await
            .expect("/me");
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert_eq!(response.headers()["retry-after"], "2");
            let body: Value = response.json().await.expect("JSON");
            assert_eq!(body["error"]["code"], "ApplicationThrottled");
        }
    }
    assert_eq!(statuses, [200, 200, 429]);
}

#[tokio::test]
async fn a_graph_claims_challenge_can_be_injected() {
    let sb = support::start().await;
    let challenge = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"insufficient_claims\", claims=\"eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZX19fQ==\"";
    sb.world().faults.add(serde_json::from_value(json!({
        "service": "microsoft", "path_contains": "/v1.0/me", "times": 1,
        "action": {"kind": "respond", "status": 401, "headers": {"WWW-Authenticate": challenge},
                   "body": "{\"error\":{\"code\":\"InvalidAuthenticationToken\",\"message\":\"Continuous access evaluation resulted in claims challenge\"}}"}
    })).expect("rule"));
    let response = support::http()
        .get(format!("{}/v1.0/me", sb.microsoft_url()))
        .send()
        .await
        .expect("/me");
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], challenge);
}

//! Google: a Desktop client's authorization code + PKCE flow, refresh without rotation,
//! granular consent, revocation, and every way a refresh token dies.

use std::time::Duration;

use ferry_sandbox::browser::{Browser, Outcome, Person};
use ferry_sandbox::Sandbox;
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RefreshToken, Scope,
    TokenResponse,
};
use serde_json::Value;

use crate::support::{self, param, verify_id_token, Tokens, DEMO_GOOGLE_CLIENT_ID};

const REDIRECT: &str = "http://127.0.0.1:53682/oauth/google";
const GMAIL: &str = "https://www.googleapis.com/auth/gmail.readonly";
const CALENDAR: &str = "https://www.googleapis.com/auth/calendar.readonly";
const CONTACTS: &str = "https://www.googleapis.com/auth/contacts.readonly";
const DAY: u64 = 86_400;

struct Signed {
    outcome: Outcome,
    verifier: PkceCodeVerifier,
    state: CsrfToken,
    nonce: String,
}

macro_rules! google_client {
    ($sb:expr) => {
        oauth_client!(
            DEMO_GOOGLE_CLIENT_ID,
            format!("{}/o/oauth2/v2/auth", $sb.google_url()),
            format!("{}/token", $sb.google_url()),
            REDIRECT
        )
    };
}

async fn authorize(sb: &Sandbox, scopes: &[&str], person: &Person) -> Signed {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = format!("n-{}", uuid::Uuid::new_v4());
    let client = google_client!(sb);
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_extra_param("nonce", &nonce);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    let (url, state) = request.url();
    let outcome = Browser::new()
        .authorize(url.as_str(), person)
        .await
        .expect("the browser completes the flow");
    Signed {
        outcome,
        verifier,
        state,
        nonce,
    }
}

fn code_of(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Redirect(url) => param(url, "code").unwrap_or_else(|| panic!("no code in {url}")),
        other => panic!("expected a redirect, got {other:?}"),
    }
}

async fn sign_in(sb: &Sandbox, scopes: &[&str], person: &Person) -> Tokens {
    let signed = authorize(sb, scopes, person).await;
    google_client!(sb)
        .exchange_code(AuthorizationCode::new(code_of(&signed.outcome)))
        .set_pkce_verifier(signed.verifier)
        .request_async(&support::http())
        .await
        .expect("the code exchange succeeds")
}

async fn refresh(sb: &Sandbox, token: &RefreshToken) -> Result<Tokens, String> {
    google_client!(sb)
        .exchange_refresh_token(token)
        .request_async(&support::http())
        .await
        .map_err(|e| match e {
            oauth2::RequestTokenError::ServerResponse(r) => format!(
                "{}: {}",
                r.error(),
                r.error_description().map(String::as_str).unwrap_or("")
            ),
            other => other.to_string(),
        })
}

async fn post_token(sb: &Sandbox, form: &[(&str, &str)]) -> (u16, Value) {
    let response = support::http()
        .post(format!("{}/token", sb.google_url()))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

fn ada() -> Person {
    Person::new("ada@example.com", "ada")
}

#[tokio::test]
async fn code_flow_with_pkce_then_refresh_through_the_oauth2_crate() {
    let sb = support::start().await;
    let signed = authorize(
        &sb,
        &["openid", "email", "profile", GMAIL, CALENDAR],
        &ada(),
    )
    .await;
    let Outcome::Redirect(redirect) = &signed.outcome else {
        panic!("expected a redirect, got {:?}", signed.outcome)
    };
    assert!(
        redirect.as_str().starts_with(REDIRECT),
        "back to the loopback redirect: {redirect}"
    );
    assert_eq!(
        param(redirect, "state").as_deref(),
        Some(signed.state.secret().as_str()),
        "state echoed"
    );
    assert_eq!(
        param(redirect, "iss").as_deref(),
        Some(sb.google_url()),
        "RFC 9207 iss is on by default"
    );

    let tokens = google_client!(sb)
        .exchange_code(AuthorizationCode::new(code_of(&signed.outcome)))
        .set_pkce_verifier(signed.verifier)
        .request_async(&support::http())
        .await
        .expect("code exchange");
    assert!(tokens.access_token().secret().starts_with("ya29."));
    assert_eq!(tokens.expires_in(), Some(Duration::from_secs(3599)));
    let granted: Vec<&str> = tokens
        .scopes()
        .expect("scope is listed")
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert!(
        granted.contains(&GMAIL) && granted.contains(&CALENDAR),
        "{granted:?}"
    );
    assert!(
        granted.contains(&"https://www.googleapis.com/auth/userinfo.email"),
        "email is spelled as a URL"
    );
    let refresh_token = tokens
        .refresh_token()
        .expect("a Desktop client always gets a refresh token")
        .clone();

    let id_token = tokens
        .extra_fields()
        .id_token
        .as_deref()
        .expect("openid gives an id_token");
    let claims = verify_id_token(
        &format!("{}/oauth2/v3/certs", sb.google_url()),
        id_token,
        DEMO_GOOGLE_CLIENT_ID,
        sb.google_url(),
    )
    .await;
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["nonce"], signed.nonce.as_str(), "nonce echoed");
    let sub = claims["sub"].as_str().expect("sub").to_owned();
    assert!(
        sub.len() <= 255 && sub.chars().all(|c| c.is_ascii_digit()),
        "Google subjects are numeric: {sub}"
    );

    let userinfo: Value = support::http()
        .get(format!("{}/v1/userinfo", sb.google_url()))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .expect("userinfo")
        .json()
        .await
        .expect("userinfo JSON");
    assert_eq!(userinfo["sub"], sub.as_str(), "userinfo and id_token agree");

    let refreshed = refresh(&sb, &refresh_token).await.expect("refresh");
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    assert!(
        refreshed.refresh_token().is_none(),
        "Google does not rotate refresh tokens"
    );
    assert!(
        refresh(&sb, &refresh_token).await.is_ok(),
        "the same refresh token keeps working"
    );
    assert_eq!(
        sb.world()
            .log
            .count("google", "/token", Some("refresh_token")),
        2
    );
}

#[tokio::test]
async fn unticked_scopes_are_not_granted() {
    let sb = support::start().await;
    let person = ada().untick(CONTACTS);
    let signed = authorize(
        &sb,
        &["openid", "email", GMAIL, CALENDAR, CONTACTS],
        &person,
    )
    .await;
    let Outcome::Redirect(redirect) = &signed.outcome else {
        panic!("{:?}", signed.outcome)
    };
    let in_redirect = param(redirect, "scope").expect("scope on the redirect");
    assert!(!in_redirect.contains(CONTACTS), "{in_redirect}");
    let tokens = google_client!(sb)
        .exchange_code(AuthorizationCode::new(code_of(&signed.outcome)))
        .set_pkce_verifier(signed.verifier)
        .request_async(&support::http())
        .await
        .expect("exchange");
    let granted: Vec<String> = tokens
        .scopes()
        .expect("scopes")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(granted.contains(&GMAIL.to_owned()) && granted.contains(&CALENDAR.to_owned()));
    assert!(
        !granted.contains(&CONTACTS.to_owned()),
        "the unticked scope is missing: {granted:?}"
    );
}

#[tokio::test]
async fn denying_consent_redirects_with_access_denied() {
    let sb = support::start().await;
    let signed = authorize(&sb, &["openid", GMAIL], &ada().deny()).await;
    let Outcome::Redirect(redirect) = &signed.outcome else {
        panic!("{:?}", signed.outcome)
    };
    assert_eq!(param(redirect, "error").as_deref(), Some("access_denied"));
    assert_eq!(
        param(redirect, "state").as_deref(),
        Some(signed.state.secret().as_str())
    );
    assert_eq!(param(redirect, "code"), None);
}

#[tokio::test]
async fn a_wrong_password_is_refused_on_the_form() {
    let sb = support::start().await;
    let (url, _) = google_client!(sb)
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .set_pkce_challenge(PkceCodeChallenge::new_random_sha256().0)
        .url();
    let refused = Browser::new()
        .authorize(url.as_str(), &Person::new("ada@example.com", "nope"))
        .await;
    assert!(
        matches!(refused, Err(ferry_sandbox::browser::BrowserError::SignInRefused(ref m)) if m.contains("Wrong password")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn codes_are_single_use_and_expire() {
    let sb = support::start().await;
    let signed = authorize(&sb, &["openid"], &ada()).await;
    let code = code_of(&signed.outcome);
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", DEMO_GOOGLE_CLIENT_ID),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", signed.verifier.secret().as_str()),
    ];
    assert_eq!(post_token(&sb, &form).await.0, 200);
    let (status, body) = post_token(&sb, &form).await;
    assert_eq!(
        (
            status,
            body["error"].as_str(),
            body["error_description"].as_str()
        ),
        (400, Some("invalid_grant"), Some("Bad Request"))
    );

    let late = authorize(&sb, &["openid"], &ada()).await;
    sb.world().clock.advance(Duration::from_secs(601));
    let code = code_of(&late.outcome);
    let (status, body) = post_token(
        &sb,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", DEMO_GOOGLE_CLIENT_ID),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", late.verifier.secret().as_str()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "a 10-minute-old code is dead"
    );
}

#[tokio::test]
async fn pkce_is_required_with_s256_and_checked() {
    let sb = support::start().await;
    let base = format!(
        "{}/o/oauth2/v2/auth?client_id={DEMO_GOOGLE_CLIENT_ID}&redirect_uri={REDIRECT}&response_type=code&scope=openid",
        sb.google_url()
    );
    let browser = Browser::new();
    for (url, why) in [
        (base.clone(), "no challenge"),
        (
            format!("{base}&code_challenge=abc&code_challenge_method=plain"),
            "plain",
        ),
    ] {
        match browser.authorize(&url, &ada()).await.expect("a page") {
            Outcome::ErrorPage { code, .. } => assert_eq!(code, "invalid_request", "{why}"),
            other => panic!("{why}: expected an error page, got {other:?}"),
        }
    }
    let signed = authorize(&sb, &["openid"], &ada()).await;
    let code = code_of(&signed.outcome);
    let wrong = PkceCodeVerifier::new("x".repeat(64));
    let (status, body) = post_token(
        &sb,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", DEMO_GOOGLE_CLIENT_ID),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", wrong.secret().as_str()),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn desktop_clients_get_loopback_redirects_only() {
    let sb = support::start().await;
    let browser = Browser::new();
    let url = |client: &str, redirect: &str| {
        format!(
            "{}/o/oauth2/v2/auth?client_id={client}&redirect_uri={}&response_type=code&scope=openid&code_challenge={}&code_challenge_method=S256",
            sb.google_url(),
            urlencode(redirect),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        )
    };
    for (client, redirect, expected) in [
        (
            DEMO_GOOGLE_CLIENT_ID,
            "ferry://oauth/google",
            "invalid_request",
        ),
        (
            DEMO_GOOGLE_CLIENT_ID,
            "urn:ietf:wg:oauth:2.0:oob",
            "redirect_uri_mismatch",
        ),
        (
            DEMO_GOOGLE_CLIENT_ID,
            "https://evil.example/cb",
            "redirect_uri_mismatch",
        ),
        (
            "unknown.apps.googleusercontent.com",
            REDIRECT,
            "invalid_client",
        ),
    ] {
        match browser
            .authorize(&url(client, redirect), &ada())
            .await
            .expect("a page")
        {
            Outcome::ErrorPage { code, .. } => assert_eq!(code, expected, "{redirect}"),
            other => panic!("{redirect}: expected an error page, got {other:?}"),
        }
    }
    let any_port = url(DEMO_GOOGLE_CLIENT_ID, "http://127.0.0.1:1/x");
    assert!(
        matches!(
            browser.authorize(&any_port, &ada()).await,
            Ok(Outcome::Redirect(_))
        ),
        "any loopback port"
    );
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn revocation_kills_the_grant_and_unknown_tokens_get_400_invalid_token() {
    let sb = support::start().await;
    let tokens = sign_in(&sb, &["openid", "email", GMAIL], &ada()).await;
    let refresh_token = tokens.refresh_token().expect("refresh").clone();
    let revoke = |token: String| {
        let url = format!("{}/revoke", sb.google_url());
        async move {
            support::http()
                .post(url)
                .form(&[("token", token)])
                .send()
                .await
                .expect("revoke")
        }
    };
    assert_eq!(revoke(refresh_token.secret().clone()).await.status(), 200);
    let again = revoke(refresh_token.secret().clone()).await;
    assert_eq!(again.status(), 400, "Google departs from RFC 7009 here");
    let body: Value = again.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(revoke("never-issued".into()).await.status(), 400);

    let err = refresh(&sb, &refresh_token)
        .await
        .expect_err("a revoked token cannot refresh");
    assert_eq!(err, "invalid_grant: Token has been expired or revoked.");
    let userinfo = support::http()
        .get(format!("{}/v1/userinfo", sb.google_url()))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .expect("userinfo");
    assert_eq!(userinfo.status(), 401, "its access tokens die with it");
}

#[tokio::test]
async fn a_password_change_kills_only_tokens_with_gmail_scopes() {
    let sb = support::start().await;
    let with_gmail = sign_in(&sb, &["openid", GMAIL], &ada()).await;
    let calendar_only = sign_in(&sb, &["openid", CALENDAR], &ada()).await;
    let user = sb
        .world()
        .find_user_by_email(ferry_sandbox::Provider::Google, "ada@example.com")
        .expect("ada");
    assert!(sb.world().change_password(&user.id));
    assert!(
        refresh(&sb, with_gmail.refresh_token().expect("rt"))
            .await
            .is_err(),
        "Gmail scopes die"
    );
    assert!(
        refresh(&sb, calendar_only.refresh_token().expect("rt"))
            .await
            .is_ok(),
        "other scopes survive"
    );
}

#[tokio::test]
async fn testing_status_tokens_die_seven_days_after_consent() {
    let sb = support::start().await;
    sb.world()
        .state()
        .clients
        .get_mut(DEMO_GOOGLE_CLIENT_ID)
        .expect("client")
        .testing = true;
    let tokens = sign_in(&sb, &["openid", GMAIL], &ada()).await;
    let rt = tokens.refresh_token().expect("rt").clone();
    sb.world()
        .clock
        .advance(Duration::from_secs(7 * DAY - 3600));
    assert!(
        refresh(&sb, &rt).await.is_ok(),
        "still alive an hour before the deadline"
    );
    sb.world().clock.advance(Duration::from_secs(2 * 3600));
    assert!(
        refresh(&sb, &rt).await.is_err(),
        "dead seven days after consent, even though used"
    );
}

#[tokio::test]
async fn six_months_unused_kills_a_refresh_token_but_use_keeps_it_alive() {
    let sb = support::start().await;
    let kept = sign_in(&sb, &["openid"], &ada())
        .await
        .refresh_token()
        .expect("rt")
        .clone();
    let idle = sign_in(&sb, &["openid"], &ada())
        .await
        .refresh_token()
        .expect("rt")
        .clone();
    for _ in 0..4 {
        sb.world().clock.advance(Duration::from_secs(60 * DAY));
        assert!(refresh(&sb, &kept).await.is_ok(), "used every two months");
    }
    assert!(refresh(&sb, &idle).await.is_err(), "240 days unused");
}

#[tokio::test]
async fn the_token_over_the_per_client_limit_evicts_the_oldest() {
    let mut config = ferry_sandbox::SandboxConfig::default();
    config.google.refresh_tokens_per_client = 3;
    let sb = support::start_with(config).await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(
            sign_in(&sb, &["openid"], &ada())
                .await
                .refresh_token()
                .expect("rt")
                .clone(),
        );
        sb.world().clock.advance(Duration::from_secs(1));
    }
    assert!(
        refresh(&sb, &tokens[0]).await.is_err(),
        "the oldest went silently"
    );
    for token in &tokens[1..] {
        assert!(refresh(&sb, token).await.is_ok());
    }
}

#[tokio::test]
async fn the_iss_parameter_and_its_discovery_flag_are_switchable() {
    let mut config = ferry_sandbox::SandboxConfig::default();
    config.google.send_iss = false;
    config.google.advertise_iss_supported = false;
    let sb = support::start_with(config).await;
    let signed = authorize(&sb, &["openid"], &ada()).await;
    let Outcome::Redirect(redirect) = &signed.outcome else {
        panic!("{:?}", signed.outcome)
    };
    assert_eq!(param(redirect, "iss"), None);
    let discovery: Value = support::get_json(
        &format!("{}/.well-known/openid-configuration", sb.google_url()),
        None,
    )
    .await;
    assert!(discovery
        .get("authorization_response_iss_parameter_supported")
        .is_none());
    assert_eq!(discovery["issuer"], sb.google_url());
}

async fn revoke(sb: &Sandbox, form: &[(&str, &str)]) -> (u16, String) {
    let response = support::http()
        .post(format!("{}/revoke", sb.google_url()))
        .form(form)
        .send()
        .await
        .expect("revoke request");
    (
        response.status().as_u16(),
        response.text().await.expect("body"),
    )
}

#[tokio::test]
async fn strict_revocation_identifies_the_client_and_answers_200_for_dead_tokens() {
    let sb = support::start_with(support::strict()).await;
    let tokens = sign_in(&sb, &["openid", "email", GMAIL], &ada()).await;
    let refresh_token = tokens
        .refresh_token()
        .expect("refresh token")
        .secret()
        .clone();

    let (status, body) = revoke(&sb, &[("token", &refresh_token)]).await;
    assert_eq!(
        (status, body.contains("invalid_client")),
        (401, true),
        "{body}"
    );
    let (status, body) = revoke(
        &sb,
        &[
            ("token", &refresh_token),
            ("client_id", "someone-else.apps.googleusercontent.com"),
        ],
    )
    .await;
    assert_eq!(status, 401, "an unknown client: {body}");
    let (status, body) = revoke(
        &sb,
        &[
            ("token", &refresh_token),
            ("client_id", DEMO_GOOGLE_CLIENT_ID),
            ("token_type_hint", "id_token"),
        ],
    )
    .await;
    assert_eq!(
        (status, body.contains("unsupported_token_type")),
        (400, true),
        "{body}"
    );
    assert!(
        refresh(&sb, &RefreshToken::new(refresh_token.clone()))
            .await
            .is_ok(),
        "refused revocations leave the grant alive"
    );

    let (status, _) = revoke(
        &sb,
        &[
            ("token", &refresh_token),
            ("client_id", DEMO_GOOGLE_CLIENT_ID),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(refresh(&sb, &RefreshToken::new(refresh_token.clone()))
        .await
        .is_err());
    let (status, _) = revoke(
        &sb,
        &[
            ("token", &refresh_token),
            ("client_id", DEMO_GOOGLE_CLIENT_ID),
        ],
    )
    .await;
    assert_eq!(status, 200, "RFC 7009 §2.2: a dead token is still a 200");
}

#[tokio::test]
async fn strict_google_rotates_and_a_reused_token_revokes_the_grant() {
    let sb = support::start_with(support::strict()).await;
    let tokens = sign_in(&sb, &["openid", "email", GMAIL], &ada()).await;
    let first = tokens.refresh_token().expect("refresh token").clone();
    let renewed = refresh(&sb, &first).await.expect("refresh");
    let second = renewed.refresh_token().expect("rotated").clone();
    assert_ne!(first.secret(), second.secret());
    refresh(&sb, &second).await.expect("the new one works");
    let err = refresh(&sb, &first)
        .await
        .expect_err("the replaced one is refused");
    assert!(err.starts_with("invalid_grant"), "{err}");
    assert!(
        refresh(&sb, &second).await.is_err(),
        "reuse revoked the whole grant, the newest token too"
    );
}

#[tokio::test]
async fn strict_id_tokens_leave_identity_to_userinfo_and_iss_is_always_sent() {
    let mut config = support::strict();
    config.google.send_iss = false;
    config.google.advertise_iss_supported = false;
    let sb = support::start_with(config).await;
    let signed = authorize(&sb, &["openid", "email", "profile", GMAIL], &ada()).await;
    let Outcome::Redirect(url) = &signed.outcome else {
        panic!("redirect");
    };
    assert_eq!(param(url, "iss").as_deref(), Some(sb.google_url()));
    let discovery: Value = support::get_json(
        &format!("{}/.well-known/openid-configuration", sb.google_url()),
        None,
    )
    .await;
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        true
    );

    let tokens = google_client!(sb)
        .exchange_code(AuthorizationCode::new(code_of(&signed.outcome)))
        .set_pkce_verifier(signed.verifier)
        .request_async(&support::http())
        .await
        .expect("exchange");
    let claims = verify_id_token(
        &format!("{}/oauth2/v3/certs", sb.google_url()),
        tokens.extra_fields().id_token.as_deref().expect("id_token"),
        DEMO_GOOGLE_CLIENT_ID,
        sb.google_url(),
    )
    .await;
    assert!(
        claims.get("email").is_none() && claims.get("name").is_none(),
        "{claims}"
    );
    let info: Value = support::get_json(
        &format!("{}/v1/userinfo", sb.google_url()),
        Some(tokens.access_token().secret()),
    )
    .await;
    assert_eq!(info["email"], "ada@example.com");
    assert_eq!(info["sub"], claims["sub"]);
    assert!(info["name"].as_str().is_some_and(|n| !n.is_empty()));
}

//! Microsoft: a public desktop client through `ferry://` and loopback, `offline_access`,
//! rotation, tenants, pairwise subjects, AADSTS error bodies, Graph `/me`.

use std::time::Duration;

use ferry_sandbox::browser::{Browser, BrowserError, Outcome, Person};
use ferry_sandbox::{Provider, Sandbox};
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RefreshToken, Scope,
    TokenResponse,
};
use serde_json::Value;

use crate::support::{self, param, verify_id_token, Tokens, DEMO_MICROSOFT_CLIENT_ID};

const SCHEME_REDIRECT: &str = "ferry://oauth/microsoft";
const MSA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const CONTOSO: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const ALL: [&str; 8] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "User.Read",
    "Mail.Read",
    "Calendars.Read",
    "Contacts.Read",
];

macro_rules! ms_client {
    ($sb:expr, $tenant:expr, $redirect:expr) => {
        oauth_client!(
            DEMO_MICROSOFT_CLIENT_ID,
            format!("{}/{}/oauth2/v2.0/authorize", $sb.microsoft_url(), $tenant),
            format!("{}/{}/oauth2/v2.0/token", $sb.microsoft_url(), $tenant),
            $redirect
        )
    };
}

struct Signed {
    outcome: Result<Outcome, BrowserError>,
    verifier: PkceCodeVerifier,
    nonce: String,
}

async fn authorize(
    sb: &Sandbox,
    tenant: &str,
    redirect: &str,
    scopes: &[&str],
    person: &Person,
) -> Signed {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = uuid::Uuid::new_v4().to_string();
    let client = ms_client!(sb, tenant, redirect);
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_extra_param("nonce", &nonce);
    for scope in scopes {
        request = request.add_scope(Scope::new((*scope).to_owned()));
    }
    let (url, _) = request.url();
    Signed {
        outcome: Browser::new().authorize(url.as_str(), person).await,
        verifier,
        nonce,
    }
}

fn code_of(signed: &Signed) -> String {
    match &signed.outcome {
        Ok(Outcome::Redirect(url)) => {
            param(url, "code").unwrap_or_else(|| panic!("no code in {url}"))
        }
        other => panic!("expected a redirect, got {other:?}"),
    }
}

async fn exchange(sb: &Sandbox, tenant: &str, redirect: &str, signed: Signed) -> Tokens {
    let code = code_of(&signed);
    ms_client!(sb, tenant, redirect)
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(signed.verifier)
        .request_async(&support::http())
        .await
        .expect("code redemption")
}

async fn refresh(sb: &Sandbox, token: &RefreshToken) -> Result<Tokens, Value> {
    let response = support::http()
        .post(format!("{}/common/oauth2/v2.0/token", sb.microsoft_url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", DEMO_MICROSOFT_CLIENT_ID),
            ("refresh_token", token.secret()),
        ])
        .send()
        .await
        .expect("token request");
    let ok = response.status().is_success();
    let body: Value = response.json().await.expect("JSON");
    if ok {
        Ok(serde_json::from_value(body).expect("token response"))
    } else {
        Err(body)
    }
}

fn alan() -> Person {
    Person::new("alan@outlook.example", "alan")
}

#[tokio::test]
async fn a_personal_account_signs_in_through_ferry_scheme_and_refresh_rotates() {
    let sb = support::start().await;
    let signed = authorize(&sb, "common", SCHEME_REDIRECT, &ALL, &alan()).await;
    let Ok(Outcome::Redirect(redirect)) = &signed.outcome else {
        panic!("{:?}", signed.outcome)
    };
    assert_eq!(
        redirect.scheme(),
        "ferry",
        "the browser is sent to the app's scheme: {redirect}"
    );
    assert_eq!(
        param(redirect, "iss"),
        None,
        "Microsoft sends no iss parameter"
    );
    assert!(param(redirect, "session_state").is_some());
    let nonce = signed.nonce.clone();
    let tokens = exchange(&sb, "common", SCHEME_REDIRECT, signed).await;

    let granted: Vec<String> = tokens
        .scopes()
        .expect("scope")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(
        granted.contains(&"https://graph.microsoft.com/Mail.Read".to_owned()),
        "{granted:?}"
    );
    let secs = tokens.expires_in().expect("expires_in").as_secs();
    assert!((3600..=5400).contains(&secs), "60-90 minutes: {secs}");

    let id_token = tokens
        .extra_fields()
        .id_token
        .as_deref()
        .expect("openid gives an id_token");
    let issuer = format!("{}/{MSA_TENANT}/v2.0", sb.microsoft_url());
    let claims = verify_id_token(
        &format!("{}/common/discovery/v2.0/keys", sb.microsoft_url()),
        id_token,
        DEMO_MICROSOFT_CLIENT_ID,
        &issuer,
    )
    .await;
    assert_eq!(
        claims["tid"], MSA_TENANT,
        "personal accounts carry the MSA tenant"
    );
    assert_eq!(claims["nonce"], nonce.as_str());
    let oid = claims["oid"]
        .as_str()
        .expect("oid with the profile scope")
        .to_owned();
    assert_ne!(
        claims["sub"].as_str(),
        Some(oid.as_str()),
        "sub is pairwise, not the oid"
    );

    let me: Value = support::http()
        .get(format!("{}/v1.0/me", sb.microsoft_url()))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .expect("/me")
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["id"], oid.as_str(), "the oid is the Graph user id");
    assert_eq!(me["mail"], "alan@outlook.example");

    let first = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token")
        .clone();
    let rotated = refresh(&sb, &first).await.expect("refresh");
    let second = rotated
        .refresh_token()
        .expect("every refresh returns a new refresh token")
        .clone();
    assert_ne!(first.secret(), second.secret());
    assert!(rotated.extra_fields().id_token.is_some());
    assert!(
        refresh(&sb, &first).await.is_ok(),
        "the old refresh token stays valid, as documented"
    );
    assert!(refresh(&sb, &second).await.is_ok());
}

#[tokio::test]
async fn a_strict_server_retires_the_rotated_refresh_token() {
    let mut config = ferry_sandbox::SandboxConfig::default();
    config.microsoft.old_refresh_token_stays_valid = false;
    let sb = support::start_with(config).await;
    let tokens = exchange(
        &sb,
        "common",
        SCHEME_REDIRECT,
        authorize(&sb, "common", SCHEME_REDIRECT, &ALL, &alan()).await,
    )
    .await;
    let first = tokens.refresh_token().expect("rt").clone();
    refresh(&sb, &first).await.expect("first refresh");
    let body = refresh(&sb, &first)
        .await
        .expect_err("the retired token is refused");
    assert_eq!(body["error_codes"][0], 50173);
}

#[tokio::test]
async fn without_offline_access_there_is_no_refresh_token() {
    let sb = support::start().await;
    let tokens = exchange(
        &sb,
        "common",
        SCHEME_REDIRECT,
        authorize(
            &sb,
            "common",
            SCHEME_REDIRECT,
            &["openid", "User.Read"],
            &alan(),
        )
        .await,
    )
    .await;
    assert!(tokens.refresh_token().is_none());
    let tokens = exchange(
        &sb,
        "common",
        SCHEME_REDIRECT,
        authorize(&sb, "common", SCHEME_REDIRECT, &["User.Read"], &alan()).await,
    )
    .await;
    assert!(
        tokens.extra_fields().id_token.is_none(),
        "no openid, no id_token"
    );
}

#[tokio::test]
async fn loopback_redirects_ignore_the_port_and_ipv6_is_refused() {
    let sb = support::start().await;
    let signed = authorize(
        &sb,
        "common",
        "http://localhost:49152/oauth/microsoft",
        &ALL,
        &alan(),
    )
    .await;
    assert!(
        matches!(&signed.outcome, Ok(Outcome::Redirect(u)) if u.port() == Some(49152)),
        "{:?}",
        signed.outcome
    );
    for bad in [
        "http://[::1]:49152/oauth/microsoft",
        "http://localhost:49152/elsewhere",
        "ferry://oauth/google",
    ] {
        let signed = authorize(&sb, "common", bad, &ALL, &alan()).await;
        match signed.outcome {
            Ok(Outcome::ErrorPage { code, .. }) => assert_eq!(code, "AADSTS50011", "{bad}"),
            other => panic!("{bad}: expected AADSTS50011, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn tenants_admit_the_right_accounts() {
    let sb = support::start().await;
    let katherine = Person::new("katherine@contoso.example", "katherine");
    let refused = authorize(&sb, "consumers", SCHEME_REDIRECT, &ALL, &katherine).await;
    assert!(
        matches!(&refused.outcome, Err(BrowserError::SignInRefused(m)) if m.contains("AADSTS50020")),
        "{:?}",
        refused.outcome
    );
    let signed = authorize(&sb, "organizations", SCHEME_REDIRECT, &ALL, &katherine).await;
    let tokens = exchange(&sb, "organizations", SCHEME_REDIRECT, signed).await;
    let id_token = tokens.extra_fields().id_token.clone().expect("id_token");
    let claims = verify_id_token(
        &format!("{}/organizations/discovery/v2.0/keys", sb.microsoft_url()),
        &id_token,
        DEMO_MICROSOFT_CLIENT_ID,
        &format!("{}/{CONTOSO}/v2.0", sb.microsoft_url()),
    )
    .await;
    assert_eq!(claims["tid"], CONTOSO);
    let page = Browser::new()
        .authorize(
            &format!(
                "{}/no-such-tenant/oauth2/v2.0/authorize?client_id={DEMO_MICROSOFT_CLIENT_ID}",
                sb.microsoft_url()
            ),
            &alan(),
        )
        .await
        .expect("page");
    assert!(
        matches!(page, Outcome::ErrorPage { ref code, .. } if code == "AADSTS90002"),
        "{page:?}"
    );
}

#[tokio::test]
async fn errors_carry_aadsts_codes_and_trace_fields() {
    let sb = support::start().await;
    let signed = authorize(&sb, "common", SCHEME_REDIRECT, &ALL, &alan()).await;
    let code = code_of(&signed);
    let redeem = |extra: Option<(&'static str, &'static str)>| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", DEMO_MICROSOFT_CLIENT_ID.to_owned()),
            ("code", code.clone()),
            ("redirect_uri", SCHEME_REDIRECT.to_owned()),
            ("code_verifier", signed.verifier.secret().clone()),
        ];
        if let Some((k, v)) = extra {
            form.push((k, v.to_owned()));
        }
        let url = format!("{}/common/oauth2/v2.0/token", sb.microsoft_url());
        async move {
            let response = support::http()
                .post(url)
                .form(&form)
                .send()
                .await
                .expect("token");
            (
                response.status().as_u16(),
                response.json::<Value>().await.expect("JSON"),
            )
        }
    };
    let (status, body) = redeem(Some(("client_secret", "s3cret"))).await;
    assert_eq!(
        (status, body["error_codes"][0].as_u64()),
        (401, Some(700025)),
        "a public client sends no secret"
    );
    let (status, _) = redeem(None).await;
    assert_eq!(
        status, 200,
        "client authentication failed before the code was looked at"
    );
    let (_, body) = redeem(None).await;
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_codes"][0], 54005);
    let description = body["error_description"].as_str().expect("description");
    assert!(description.starts_with("AADSTS54005: "), "{description}");
    assert!(description.contains("\r\nTrace ID: "), "{description}");
    for field in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(body[field].is_string(), "{field} in {body}");
    }
}

#[tokio::test]
async fn a_password_change_or_revocation_needs_a_new_sign_in() {
    let sb = support::start().await;
    let tokens = exchange(
        &sb,
        "common",
        SCHEME_REDIRECT,
        authorize(&sb, "common", SCHEME_REDIRECT, &ALL, &alan()).await,
    )
    .await;
    let rt = tokens.refresh_token().expect("rt").clone();
    let user = sb
        .world()
        .find_user_by_email(Provider::Microsoft, "alan@outlook.example")
        .expect("alan");
    sb.world().change_password(&user.id);
    let body = refresh(&sb, &rt)
        .await
        .expect_err("all refresh tokens die with a password change");
    assert_eq!(body["error_codes"][0], 50173);
    assert_eq!(body["suberror"], "bad_token");

    let tokens = exchange(
        &sb,
        "common",
        SCHEME_REDIRECT,
        authorize(&sb, "common", SCHEME_REDIRECT, &ALL, &alan()).await,
    )
    .await;
    assert!(sb.world().revoke_grants(&user.id, None) >= 1);
    assert!(refresh(&sb, tokens.refresh_token().expect("rt"))
        .await
        .is_err());
}

#[tokio::test]
async fn ninety_days_unused_is_aadsts700082() {
    let sb = support::start().await;
    let tokens = exchange(
        &sb,
        "common",
        SCHEME_REDIRECT,
        authorize(&sb, "common", SCHEME_REDIRECT, &ALL, &alan()).await,
    )
    .await;
    sb.world().clock.advance(Duration::from_secs(91 * 86_400));
    let body = refresh(&sb, tokens.refresh_token().expect("rt"))
        .await
        .expect_err("expired");
    assert_eq!(body["error_codes"][0], 700082);
}

#[tokio::test]
async fn there_is_no_revocation_endpoint() {
    let sb = support::start().await;
    let discovery: Value = support::get_json(
        &format!(
            "{}/common/v2.0/.well-known/openid-configuration",
            sb.microsoft_url()
        ),
        None,
    )
    .await;
    assert!(discovery.get("revocation_endpoint").is_none());
    assert!(discovery
        .get("authorization_response_iss_parameter_supported")
        .is_none());
    assert_eq!(discovery["subject_types_supported"][0], "pairwise");
    let status = support::http()
        .post(format!("{}/common/oauth2/v2.0/revoke", sb.microsoft_url()))
        .form(&[("token", "x")])
        .send()
        .await
        .expect("request")
        .status();
    assert_eq!(status, 404);
}

#[tokio::test]
async fn strict_reuse_of_a_rotated_token_revokes_the_grant() {
    let sb = support::start_with(support::strict()).await;
    let tokens = exchange(
        &sb,
        "common",
        SCHEME_REDIRECT,
        authorize(&sb, "common", SCHEME_REDIRECT, &ALL, &alan()).await,
    )
    .await;
    let first = tokens.refresh_token().expect("rt").clone();
    let second = refresh(&sb, &first)
        .await
        .expect("refresh")
        .refresh_token()
        .expect("rotated")
        .clone();
    let body = refresh(&sb, &first).await.expect_err("reuse is refused");
    assert_eq!(body["error_codes"][0], 50173);
    let body = refresh(&sb, &second)
        .await
        .expect_err("and the grant is gone, newest token included");
    assert_eq!(body["error_codes"][0], 50173);
}

#[tokio::test]
async fn strict_microsoft_sends_iss_and_leaves_identity_to_userinfo() {
    let sb = support::start_with(support::strict()).await;
    let signed = authorize(&sb, "common", SCHEME_REDIRECT, &ALL, &alan()).await;
    let Ok(Outcome::Redirect(url)) = &signed.outcome else {
        panic!("redirect");
    };
    let iss = format!("{}/{MSA_TENANT}/v2.0", sb.microsoft_url());
    assert_eq!(param(url, "iss").as_deref(), Some(iss.as_str()));
    let discovery: Value = support::get_json(
        &format!(
            "{}/common/v2.0/.well-known/openid-configuration",
            sb.microsoft_url()
        ),
        None,
    )
    .await;
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        true
    );

    let tokens = exchange(&sb, "common", SCHEME_REDIRECT, signed).await;
    let claims = verify_id_token(
        &format!("{}/common/discovery/v2.0/keys", sb.microsoft_url()),
        tokens.extra_fields().id_token.as_deref().expect("id_token"),
        DEMO_MICROSOFT_CLIENT_ID,
        &iss,
    )
    .await;
    for absent in ["email", "name", "preferred_username"] {
        assert!(claims.get(absent).is_none(), "{absent} in {claims}");
    }
    let info: Value = support::get_json(
        &format!("{}/oidc/userinfo", sb.microsoft_url()),
        Some(tokens.access_token().secret()),
    )
    .await;
    assert_eq!(info["email"], "alan@outlook.example");
    assert_eq!(info["sub"], claims["sub"], "the same pairwise subject");
}

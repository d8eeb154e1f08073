//! Sign-in flows against the provider sandbox, as Ferry will run them: begin, the user in
//! the (scripted) browser, the callback over loopback or `ferry://`, finish.

use chrono::{DateTime, Duration, Utc};
use ferry_core::deeplink::{DeepLink, OAuthCallback};
use ferry_core::oauth::{ServiceChoice, SignInError, SignInFlows, StateSigner};
use ferry_core::providers::Provider;
use ferry_core::providers::ProviderSettings;
use ferry_core::vault::RootKey;
use ferry_sandbox::browser::{with_param, Browser, Outcome, Person};
use ferry_sandbox::{Sandbox, SandboxConfig, SandboxOptions};
use secrecy::ExposeSecret;
use url::Url;

use crate::support::{ada, alan, settings, Mode, EVERYTHING_READ, MAIL_AND_CALENDAR};

const GOOGLE_REDIRECT: &str = "http://127.0.0.1:45321/oauth/google";
const MS_REDIRECT: &str = "ferry://oauth/microsoft";
const MSA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

struct World {
    sandbox: Sandbox,
    settings: ProviderSettings,
    signer: StateSigner,
    flows: std::sync::Arc<SignInFlows>,
}

async fn world_with(config: SandboxConfig) -> World {
    let sandbox = Sandbox::start(SandboxOptions {
        config,
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    World {
        settings: settings(&sandbox),
        sandbox,
        signer: StateSigner::new(RootKey::generate().state_key()),
        flows: std::sync::Arc::new(SignInFlows::new()),
    }
}

async fn world() -> World {
    world_with(SandboxConfig::default()).await
}

fn now() -> DateTime<Utc> {
    #[allow(clippy::disallowed_methods)] // these tests run against the sandbox's real-time clock
    Utc::now()
}

/// Begins a sign-in and lets `person` complete it in the browser; returns the redirect.
async fn browse(w: &World, provider: Provider, services: ServiceChoice, person: &Person) -> Url {
    let redirect = match provider {
        Provider::Google => GOOGLE_REDIRECT,
        Provider::Microsoft => MS_REDIRECT,
    };
    let begun = w
        .flows
        .begin(&w.settings, &w.signer, provider, services, redirect, now())
        .expect("begin");
    assert!(w.flows.is_pending(&begun.flow_id));
    match Browser::new()
        .authorize(begun.authorization_url.as_str(), person)
        .await
        .expect("browser")
    {
        Outcome::Redirect(url) => url,
        other => panic!("expected a redirect, got {other:?}"),
    }
}

/// What Ferry's loopback listener (Google) or deep-link handler (Microsoft) would parse.
fn callback(provider: Provider, url: &Url) -> OAuthCallback {
    match provider {
        Provider::Google => OAuthCallback::from_query(Provider::Google, url.query_pairs())
            .expect("loopback callback"),
        Provider::Microsoft => match DeepLink::parse(url.as_str()).expect("ferry:// link") {
            DeepLink::OAuthCallback(cb) => cb,
        },
    }
}

#[tokio::test]
async fn google_sign_in_yields_a_verified_identity_tokens_and_grants() {
    let w = world().await;
    let url = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada()).await;
    let signed = w
        .flows
        .finish(
            &w.settings,
            &w.signer,
            callback(Provider::Google, &url),
            now(),
        )
        .await
        .expect("finish");
    assert_eq!(signed.identity.email, "ada@example.com");
    assert_eq!(signed.identity.tenant, "", "Google has no tenant");
    assert!(!signed.identity.subject.is_empty());
    assert_eq!(signed.granted, MAIL_AND_CALENDAR);
    assert_eq!(signed.requested, MAIL_AND_CALENDAR);
    assert!(
        signed.tokens.refresh_token.is_some(),
        "a refresh token to keep the connection"
    );
    assert!(signed
        .tokens
        .access_token
        .expose_secret()
        .starts_with("ya29."));
    assert!(
        !w.flows.is_pending(&signed.flow_id),
        "finished flows are gone"
    );
    let debug = format!("{:?}", signed.tokens);
    assert!(
        !debug.contains("ya29."),
        "token values never reach Debug output: {debug}"
    );
}

#[tokio::test]
async fn microsoft_sign_in_through_a_ferry_link_is_keyed_by_tenant_and_object_id() {
    let w = world().await;
    let url = browse(&w, Provider::Microsoft, EVERYTHING_READ, &alan()).await;
    assert_eq!(url.scheme(), "ferry");
    let signed = w
        .flows
        .finish(
            &w.settings,
            &w.signer,
            callback(Provider::Microsoft, &url),
            now(),
        )
        .await
        .expect("finish");
    assert_eq!(signed.identity.tenant, MSA_TENANT);
    assert_eq!(signed.identity.email, "alan@outlook.example");
    let user = w
        .sandbox
        .world()
        .find_user_by_email(ferry_sandbox::Provider::Microsoft, "alan@outlook.example")
        .expect("alan");
    assert_eq!(
        signed.identity.subject, user.subject,
        "the oid, stable across apps, not the pairwise sub"
    );
    assert_eq!(signed.granted, EVERYTHING_READ);
}

#[tokio::test]
async fn a_scope_the_user_unticked_is_recorded_as_not_granted() {
    let w = world().await;
    let person = ada().untick("https://www.googleapis.com/auth/contacts.readonly");
    let url = browse(&w, Provider::Google, EVERYTHING_READ, &person).await;
    let signed = w
        .flows
        .finish(
            &w.settings,
            &w.signer,
            callback(Provider::Google, &url),
            now(),
        )
        .await
        .expect("finish");
    assert_eq!(signed.requested, EVERYTHING_READ);
    assert_eq!(
        signed.granted,
        ServiceChoice {
            contacts: false,
            ..EVERYTHING_READ
        }
    );
}

#[tokio::test]
async fn denial_replay_tampering_and_expiry_are_refused() {
    let w = world().await;
    let denied = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada().deny()).await;
    let err = w
        .flows
        .finish(
            &w.settings,
            &w.signer,
            callback(Provider::Google, &denied),
            now(),
        )
        .await
        .expect_err("denied");
    assert_eq!(err, SignInError::Denied);

    let url = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada()).await;
    w.flows
        .finish(
            &w.settings,
            &w.signer,
            callback(Provider::Google, &url),
            now(),
        )
        .await
        .expect("first use");
    let replay = w
        .flows
        .finish(
            &w.settings,
            &w.signer,
            callback(Provider::Google, &url),
            now(),
        )
        .await
        .expect_err("replay");
    assert_eq!(replay, SignInError::NotPending);

    let url = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada()).await;
    let tampered = with_param(&url, "state", |v| format!("{v}x"));
    let err = w
        .flows
        .finish(
            &w.settings,
            &w.signer,
            callback(Provider::Google, &tampered),
            now(),
        )
        .await
        .expect_err("tampered");
    assert_eq!(err, SignInError::Unverified);

    let late = w
        .flows
        .finish(
            &w.settings,
            &w.signer,
            callback(Provider::Google, &url),
            now() + Duration::minutes(16),
        )
        .await;
    assert_eq!(late.expect_err("expired"), SignInError::Expired);

    let foreign = StateSigner::new(RootKey::generate().state_key());
    let url = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada()).await;
    let err = w
        .flows
        .finish(
            &w.settings,
            &foreign,
            callback(Provider::Google, &url),
            now(),
        )
        .await
        .expect_err("foreign");
    assert_eq!(err, SignInError::Unverified, "a state another Ferry signed");
}

#[tokio::test]
async fn mix_up_defences_check_the_provider_and_the_issuer() {
    let w = world().await;
    let url = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada()).await;
    let as_microsoft =
        OAuthCallback::from_query(Provider::Microsoft, url.query_pairs()).expect("parse");
    let err = w
        .flows
        .finish(&w.settings, &w.signer, as_microsoft, now())
        .await
        .expect_err("mix-up");
    assert_eq!(err, SignInError::WrongProvider);

    let url = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada()).await;
    let forged = with_param(&url, "iss", |_| "https://attacker.example".into());
    let err = w
        .flows
        .finish(
            &w.settings,
            &w.signer,
            callback(Provider::Google, &forged),
            now(),
        )
        .await
        .expect_err("iss");
    assert_eq!(err, SignInError::IssuerMismatch);
}

#[tokio::test]
async fn an_id_token_from_the_wrong_issuer_is_refused() {
    let mut config = SandboxConfig::default();
    config.google.send_iss = false;
    config.google.advertise_iss_supported = false;
    let mut w = world_with(config).await;
    if let Some(google) = w.settings.google.as_mut() {
        google.issuer = "http://127.0.0.1:1".into();
    }
    let url = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada()).await;
    let err = w
        .flows
        .finish(
            &w.settings,
            &w.signer,
            callback(Provider::Google, &url),
            now(),
        )
        .await
        .expect_err("iss");
    assert!(
        matches!(err, SignInError::IdToken(ref m) if m.contains("issued by")),
        "{err}"
    );
}

#[tokio::test]
async fn code_exchange_failures_are_reported_without_storing_anything() {
    let w = world().await;
    let url = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada()).await;
    w.sandbox.world().faults.add(serde_json::from_value(serde_json::json!({
        "service": "google", "path_contains": "/token", "times": 1,
        "action": {"kind": "respond", "status": 400, "body": "{\"error\":\"invalid_grant\",\"error_description\":\"Bad Request\"}"}
    })).expect("rule"));
    let err = w
        .flows
        .finish(
            &w.settings,
            &w.signer,
            callback(Provider::Google, &url),
            now(),
        )
        .await
        .expect_err("exchange");
    assert_eq!(
        err,
        SignInError::Exchange {
            provider: Provider::Google,
            error: "invalid_grant".into()
        }
    );

    let url = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada()).await;
    w.sandbox.world().faults.add(serde_json::from_value(serde_json::json!({
        "service": "google", "path_contains": "/token", "times": 1, "action": {"kind": "malformed_json"}
    })).expect("rule"));
    let err = w
        .flows
        .finish(
            &w.settings,
            &w.signer,
            callback(Provider::Google, &url),
            now(),
        )
        .await
        .expect_err("parse");
    assert_eq!(err, SignInError::BadResponse(Provider::Google));

    let url = browse(&w, Provider::Microsoft, EVERYTHING_READ, &alan()).await;
    let World {
        sandbox,
        settings,
        signer,
        flows,
    } = w;
    sandbox.stop().await;
    let err = flows
        .finish(
            &settings,
            &signer,
            callback(Provider::Microsoft, &url),
            now(),
        )
        .await
        .expect_err("unreachable");
    assert_eq!(err, SignInError::Network(Provider::Microsoft));
}

#[tokio::test]
async fn cancel_forgets_the_flow_and_its_callback_is_refused() {
    let w = world().await;
    let begun = w
        .flows
        .begin(
            &w.settings,
            &w.signer,
            Provider::Google,
            MAIL_AND_CALENDAR,
            GOOGLE_REDIRECT,
            now(),
        )
        .expect("begin");
    let outcome = Browser::new()
        .authorize(begun.authorization_url.as_str(), &ada())
        .await
        .expect("browser");
    assert!(w.flows.cancel(&begun.flow_id));
    let Outcome::Redirect(url) = outcome else {
        panic!("redirect")
    };
    let err = w
        .flows
        .finish(
            &w.settings,
            &w.signer,
            callback(Provider::Google, &url),
            now(),
        )
        .await
        .expect_err("cancelled");
    assert_eq!(err, SignInError::NotPending);
    let none = ProviderSettings::default();
    assert!(matches!(
        w.flows.begin(
            &none,
            &w.signer,
            Provider::Google,
            MAIL_AND_CALENDAR,
            GOOGLE_REDIRECT,
            now()
        ),
        Err(SignInError::NotConfigured(Provider::Google))
    ));
}

#[tokio::test]
async fn a_google_sign_in_returns_through_a_real_loopback_listener() {
    use ferry_core::oauth::loopback::LoopbackListener;
    let w = world().await;
    let (flows, signer) = (std::sync::Arc::clone(&w.flows), w.signer.clone());
    let listener = LoopbackListener::start(
        Provider::Google,
        std::time::Duration::from_secs(30),
        std::sync::Arc::new(move |callback| flows.recognises(&signer, callback, now())),
    )
    .await
    .expect("listen");
    let begun = w
        .flows
        .begin(
            &w.settings,
            &w.signer,
            Provider::Google,
            MAIL_AND_CALENDAR,
            listener.redirect_uri(),
            now(),
        )
        .expect("begin");
    let waiting = tokio::spawn(listener.callback());
    let Outcome::Redirect(redirect) = Browser::new()
        .authorize(begun.authorization_url.as_str(), &ada())
        .await
        .expect("browser")
    else {
        panic!("expected a redirect");
    };
    // The browser follows the redirect to Ferry's listener and shows its page.
    let page = reqwest::get(redirect.as_str())
        .await
        .expect("follow")
        .text()
        .await
        .expect("page");
    assert!(page.contains("You can close this tab"));
    let callback = waiting.await.expect("task").expect("callback");
    let signed = w
        .flows
        .finish(&w.settings, &w.signer, callback, now())
        .await
        .expect("finish");
    assert_eq!(signed.identity.email, "ada@example.com");
}

/// Finishes a sign-in from `url`, a redirect the browser followed.
async fn finish(
    w: &World,
    provider: Provider,
    url: &Url,
) -> Result<ferry_core::oauth::SignedIn, SignInError> {
    w.flows
        .finish(&w.settings, &w.signer, callback(provider, url), now())
        .await
}

/// RFC 9207 compares the whole issuer: look-alikes that share its beginning are refused
/// before any code is exchanged.
#[tokio::test]
async fn a_microsoft_issuer_must_match_exactly() {
    let w = world().await;
    let authority = w
        .settings
        .microsoft
        .as_ref()
        .expect("microsoft")
        .authority
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let look_alikes = [
        format!("{authority}.attacker.example/{MSA_TENANT}/v2.0"),
        format!("{authority}@attacker.example/{MSA_TENANT}/v2.0"),
        format!("{authority}0/{MSA_TENANT}/v2.0"),
        format!("{authority}/{MSA_TENANT}/v2.0/extra"),
        format!("{authority}/{MSA_TENANT}/v2"),
        format!("{authority}//v2.0"),
    ];
    for iss in &look_alikes {
        let url = browse(&w, Provider::Microsoft, MAIL_AND_CALENDAR, &alan()).await;
        let forged = with_param(&url, "iss", |_| iss.clone());
        let err = finish(&w, Provider::Microsoft, &forged)
            .await
            .expect_err(iss);
        assert_eq!(err, SignInError::IssuerMismatch, "{iss}");
    }
    assert_eq!(
        w.sandbox
            .world()
            .log
            .count("microsoft", "/token", Some("authorization_code")),
        0,
        "no code went to the token endpoint"
    );
    // Another tenant's issuer has the right shape, but not the id_token's.
    let url = browse(&w, Provider::Microsoft, MAIL_AND_CALENDAR, &alan()).await;
    let other = format!("{authority}/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0");
    let err = finish(
        &w,
        Provider::Microsoft,
        &with_param(&url, "iss", |_| other.clone()),
    )
    .await
    .expect_err("another tenant");
    assert_eq!(err, SignInError::IssuerMismatch);
    // The exact issuer is accepted.
    let url = browse(&w, Provider::Microsoft, MAIL_AND_CALENDAR, &alan()).await;
    let exact = format!("{authority}/{MSA_TENANT}/v2.0");
    let signed = finish(
        &w,
        Provider::Microsoft,
        &with_param(&url, "iss", |_| exact.clone()),
    )
    .await
    .expect("exact issuer");
    assert_eq!(signed.identity.tenant, MSA_TENANT);
}

/// RFC 9207 §2.4: a server that promises `iss` and leaves it out is refused; one that does
/// not promise it is not.
#[tokio::test]
async fn a_missing_issuer_is_refused_where_the_server_promises_one() {
    let mut config = SandboxConfig::default();
    config.google.send_iss = false;
    let w = world_with(config).await;
    let url = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada()).await;
    let err = finish(&w, Provider::Google, &url)
        .await
        .expect_err("no iss");
    assert_eq!(err, SignInError::IssuerMissing(Provider::Google));

    let mut config = w.sandbox.world().config();
    config.google.advertise_iss_supported = false;
    let w = world_with(config).await;
    let url = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada()).await;
    finish(&w, Provider::Google, &url)
        .await
        .expect("an older server that never promised iss");
    // Microsoft promises nothing and sends nothing.
    let url = browse(&w, Provider::Microsoft, MAIL_AND_CALENDAR, &alan()).await;
    finish(&w, Provider::Microsoft, &url)
        .await
        .expect("Microsoft sends no iss");
}

/// A strict server gives name and e-mail at userinfo only, and sends `iss` for Microsoft
/// too: both are used.
#[tokio::test]
async fn identity_comes_from_userinfo_when_the_id_token_leaves_it_out() {
    let w = world_with(Mode::Strict.config()).await;
    let url = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada()).await;
    let signed = finish(&w, Provider::Google, &url).await.expect("google");
    let ada_user = w
        .sandbox
        .world()
        .find_user_by_email(ferry_sandbox::world::Provider::Google, "ada@example.com")
        .expect("ada");
    assert_eq!(signed.identity.email, "ada@example.com");
    assert_eq!(signed.identity.name, ada_user.name);

    let url = browse(&w, Provider::Microsoft, MAIL_AND_CALENDAR, &alan()).await;
    assert!(
        url.query_pairs().any(|(k, _)| k == "iss"),
        "strict Microsoft sends iss"
    );
    let signed = finish(&w, Provider::Microsoft, &url)
        .await
        .expect("microsoft");
    assert_eq!(signed.identity.email, "alan@outlook.example");
    assert!(!signed.identity.name.is_empty());
    assert_eq!(
        w.sandbox
            .world()
            .log
            .count("microsoft", "/oidc/userinfo", None),
        1,
        "asked userinfo once"
    );
}

/// Without a refresh token the account would quietly need sign-in within the hour.
#[tokio::test]
async fn a_sign_in_without_a_refresh_token_is_refused() {
    let w = world().await;
    let begun = w
        .flows
        .begin(
            &w.settings,
            &w.signer,
            Provider::Microsoft,
            MAIL_AND_CALENDAR,
            MS_REDIRECT,
            now(),
        )
        .expect("begin");
    // As if the app registration did not allow offline access.
    let no_offline = with_param(&begun.authorization_url, "scope", |scope| {
        scope
            .split(' ')
            .filter(|s| *s != "offline_access")
            .collect::<Vec<_>>()
            .join(" ")
    });
    let Outcome::Redirect(url) = Browser::new()
        .authorize(no_offline.as_str(), &alan())
        .await
        .expect("browser")
    else {
        panic!("expected a redirect");
    };
    let err = finish(&w, Provider::Microsoft, &url)
        .await
        .expect_err("no refresh token");
    assert_eq!(err, SignInError::NoRefreshToken(Provider::Microsoft));
    assert!(err.to_string().contains("lasting access"), "{err}");
}

/// An `expires_in` beyond any date is clamped, not added to the clock (which panicked).
#[tokio::test]
async fn a_huge_token_lifetime_is_clamped_at_sign_in() {
    let mut config = SandboxConfig::default();
    config.google.access_token_ttl_s = 9_000_000_000_000;
    let w = world_with(config).await;
    let url = browse(&w, Provider::Google, MAIL_AND_CALENDAR, &ada()).await;
    let at = now();
    let signed = finish(&w, Provider::Google, &url).await.expect("signed in");
    let lifetime = signed.tokens.expires_at - at;
    assert!(
        lifetime <= ferry_core::oauth::lifetime::MAX_ACCESS_LIFETIME + Duration::seconds(5)
            && lifetime >= ferry_core::oauth::lifetime::MAX_ACCESS_LIFETIME - Duration::seconds(5),
        "{lifetime}"
    );
}

/// A token naming a key the cache lacks makes Ferry fetch the keys again, but at most once a
/// minute: forged tokens cannot make it hammer the provider.
#[tokio::test]
async fn an_unknown_key_id_refetches_the_keys_at_most_once_a_minute() {
    use base64::Engine;
    use ferry_core::oauth::id_token::{self, Expected, IdTokenError, KeyCache};
    let w = world().await;
    let jwks = format!("{}/oauth2/v3/certs", w.sandbox.google_url());
    let jwks = Url::parse(&jwks).expect("url");
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let token = format!(
        "{}.{}.c2ln",
        b64(serde_json::json!({"alg": "RS256", "kid": "not-a-key"})),
        b64(serde_json::json!({"iss": "x", "sub": "y", "aud": "z", "exp": 1}))
    );
    let keys = KeyCache::default();
    let http = reqwest::Client::new();
    let issuer = |_: &id_token::IdClaims| true;
    let at = |t: DateTime<Utc>| Expected {
        audience: "z",
        issuer: &issuer,
        nonce: "n",
        now: t,
    };
    let t0 = now();
    for offset in [0, 10, 30, 59] {
        let err = id_token::verify(
            &keys,
            &http,
            &jwks,
            &token,
            &at(t0 + Duration::seconds(offset)),
        )
        .await
        .expect_err("unknown key");
        assert_eq!(err, IdTokenError::UnknownKey);
    }
    assert_eq!(keys.fetches(), 1, "one fetch in the first minute");
    id_token::verify(&keys, &http, &jwks, &token, &at(t0 + Duration::seconds(61)))
        .await
        .expect_err("still unknown");
    assert_eq!(keys.fetches(), 2, "and one more after it");
}

//! Sign-in flows against the provider sandbox, as Ferry will run them: begin, the user in
//! the (scripted) browser, the callback over loopback or `ferry://`, finish.

use chrono::{DateTime, Duration, Utc};
use ferry_core::deeplink::{DeepLink, OAuthCallback};
use ferry_core::oauth::{CalendarAccess, ServiceChoice, SignInError, SignInFlows, StateSigner};
use ferry_core::provider::Provider;
use ferry_core::providers::ProviderSettings;
use ferry_core::vault::RootKey;
use ferry_sandbox::browser::{with_param, Browser, Outcome, Person};
use ferry_sandbox::{Sandbox, SandboxConfig, SandboxOptions};
use secrecy::ExposeSecret;
use url::Url;

use crate::support::settings;

const GOOGLE_REDIRECT: &str = "http://127.0.0.1:45321/oauth/google";
const MS_REDIRECT: &str = "ferry://oauth/microsoft";
const MSA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

struct World {
    sandbox: Sandbox,
    settings: ProviderSettings,
    signer: StateSigner,
    flows: SignInFlows,
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
        flows: SignInFlows::new(),
    }
}

async fn world() -> World {
    world_with(SandboxConfig::default()).await
}

fn now() -> DateTime<Utc> {
    #[allow(clippy::disallowed_methods)] // these tests run against the sandbox's real-time clock
    Utc::now()
}

const MAIL_AND_CALENDAR: ServiceChoice = ServiceChoice {
    mail: true,
    calendar: Some(CalendarAccess::Read),
    contacts: false,
};
const EVERYTHING: ServiceChoice = ServiceChoice {
    mail: true,
    calendar: Some(CalendarAccess::Read),
    contacts: true,
};

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

fn ada() -> Person {
    Person::new("ada@example.com", "ada")
}

fn alan() -> Person {
    Person::new("alan@outlook.example", "alan")
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
    let url = browse(&w, Provider::Microsoft, EVERYTHING, &alan()).await;
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
    assert_eq!(signed.granted, EVERYTHING);
}

#[tokio::test]
async fn a_scope_the_user_unticked_is_recorded_as_not_granted() {
    let w = world().await;
    let person = ada().untick("https://www.googleapis.com/auth/contacts.readonly");
    let url = browse(&w, Provider::Google, EVERYTHING, &person).await;
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
    assert_eq!(signed.requested, EVERYTHING);
    assert_eq!(
        signed.granted,
        ServiceChoice {
            contacts: false,
            ..EVERYTHING
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
    assert_eq!(err, SignInError::Tampered);

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
    assert_eq!(err, SignInError::Tampered, "a state another Ferry signed");
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

    let url = browse(&w, Provider::Microsoft, EVERYTHING, &alan()).await;
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
    let listener = LoopbackListener::start(Provider::Google, std::time::Duration::from_secs(30))
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

//! `ferry://` links: what is accepted, what is refused, and that nothing leaks.

use ferry_core::deeplink::{CallbackError, CallbackOutcome, DeepLink, DeepLinkError};
use ferry_core::providers::Provider;
use secrecy::ExposeSecret;

fn callback(raw: &str) -> ferry_core::deeplink::OAuthCallback {
    match DeepLink::parse(raw) {
        Ok(DeepLink::OAuthCallback(callback)) => callback,
        Err(err) => panic!("{raw} should parse, got {err}"),
    }
}

#[test]
fn a_microsoft_code_callback_parses_into_typed_fields() {
    let cb = callback("ferry://oauth/microsoft?code=M.C123%2Fx&state=s-1&session_state=abc");
    assert_eq!(cb.provider, Provider::Microsoft);
    assert_eq!(cb.state, "s-1");
    match &cb.outcome {
        CallbackOutcome::Code(code) => {
            assert_eq!(code.expose_secret(), "M.C123/x", "percent-decoded")
        }
        other => panic!("expected a code, got {other:?}"),
    }
    assert_eq!(cb.issuer, None);
    assert!(
        cb.ignored.contains("session_state"),
        "unknown provider extras are noted, not fatal"
    );
}

#[test]
fn an_error_callback_keeps_the_provider_error() {
    let cb = callback(
        "ferry://oauth/microsoft/?error=access_denied&error_description=AADSTS65004%3A+declined&state=s&iss=https%3A%2F%2Flogin.example",
    );
    match cb.outcome {
        CallbackOutcome::Error { error, description } => {
            assert_eq!(error, "access_denied");
            assert_eq!(description.as_deref(), Some("AADSTS65004: declined"));
        }
        other => panic!("expected an error outcome, got {other:?}"),
    }
    assert_eq!(
        cb.issuer.as_deref(),
        Some("https://login.example"),
        "iss is kept for mix-up checks"
    );
}

#[test]
fn links_outside_the_allowlist_are_refused_with_a_reason() {
    let cases: &[(&str, DeepLinkError)] = &[
        ("not a url", DeepLinkError::NotAUrl),
        (
            "https://oauth/microsoft?code=a&state=b",
            DeepLinkError::WrongScheme,
        ),
        (
            "ferry://oauth/google?code=a&state=b",
            DeepLinkError::UnknownRoute("oauth/google".into()),
        ),
        (
            "ferry://settings",
            DeepLinkError::UnknownRoute("settings".into()),
        ),
        (
            "ferry://user:pw@oauth/microsoft?code=a&state=b",
            DeepLinkError::UnknownRoute("oauth/microsoft".into()),
        ),
        (
            "ferry://oauth/microsoft?code=a",
            DeepLinkError::Callback(CallbackError::MissingParameter("state")),
        ),
        (
            "ferry://oauth/microsoft?state=a",
            DeepLinkError::Callback(CallbackError::MissingParameter("code")),
        ),
        (
            "ferry://oauth/microsoft?code=&state=a",
            DeepLinkError::Callback(CallbackError::Malformed("code")),
        ),
        (
            "ferry://oauth/microsoft?code=a&code=b&state=c",
            DeepLinkError::Callback(CallbackError::DuplicateParameter("code".into())),
        ),
        (
            "ferry://oauth/microsoft?code=a&state=c&state=d",
            DeepLinkError::Callback(CallbackError::DuplicateParameter("state".into())),
        ),
        (
            "ferry://oauth/microsoft?error=bad%22quote&state=c",
            DeepLinkError::Callback(CallbackError::Malformed("error")),
        ),
    ];
    for (raw, expected) in cases {
        match DeepLink::parse(raw) {
            Err(err) => assert_eq!(&err, expected, "for {raw}"),
            Ok(link) => panic!("{raw} should be refused, parsed as {link}"),
        }
    }
}

#[test]
fn oversized_links_are_refused_before_parsing() {
    let huge = format!("ferry://oauth/microsoft?state=s&code={}", "a".repeat(9000));
    assert_eq!(DeepLink::parse(&huge).err(), Some(DeepLinkError::TooLong));
    let long_code = format!("ferry://oauth/microsoft?state=s&code={}", "a".repeat(5000));
    assert_eq!(
        DeepLink::parse(&long_code).err(),
        Some(DeepLinkError::Callback(CallbackError::Malformed("code")))
    );
}

#[test]
fn descriptions_and_errors_never_carry_parameter_values() {
    let secret_code = "SECRET-CODE-4242";
    let raw = format!("ferry://oauth/microsoft?code={secret_code}&state=STATE-777&foo=1");
    let link = DeepLink::parse(&raw).expect("valid link");
    let described = link.describe();
    let debugged = format!("{link:?}");
    for text in [&described, &debugged] {
        assert!(!text.contains(secret_code), "code leaked into {text}");
    }
    assert!(
        described.contains("code") && described.contains("foo"),
        "names are kept: {described}"
    );
    assert!(
        !described.contains("STATE-777"),
        "state leaked into {described}"
    );

    let dup = format!("ferry://oauth/microsoft?code={secret_code}&code=x&state=s");
    let err = DeepLink::parse(&dup).expect_err("duplicate code");
    assert!(
        !err.to_string().contains(secret_code),
        "code leaked into {err}"
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap, deterministic fuzz: every prefix of some hostile inputs.
    let inputs = [
        "ferry://oauth/microsoft?code=%FF%FE&state=%00",
        "ferry://%%%/??&&==#",
        "ferry:oauth/microsoft?code=a&state=b",
        "FERRY://OAUTH/MICROSOFT?code=a&state=b",
        "ferry://oauth/microsoft?error=&state=",
        "ferry://[::1]:99999/x",
    ];
    for input in inputs {
        for end in 0..=input.len() {
            if let Some(prefix) = input.get(..end) {
                let _ = DeepLink::parse(prefix);
            }
        }
    }
    // Uppercase scheme and host are normalised by URL parsing and accepted.
    assert!(DeepLink::parse("FERRY://OAUTH/microsoft?code=a&state=b").is_ok());
}

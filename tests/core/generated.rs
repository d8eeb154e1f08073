//! Generated input for every parser of what comes from outside: `ferry://` links, loopback
//! requests, token replies, error bodies, `Retry-After`, and id_tokens. Each property runs
//! a few thousand cases per run and asserts that nothing panics and that every refusal is
//! a typed error, and that what is accepted is within bounds.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ferry_core::deeplink::DeepLink;
use ferry_core::oauth::callback::{CallbackError, OAuthCallback};
use ferry_core::oauth::id_token::{self, Expected, IdClaims, IdTokenError, KeyCache};
use ferry_core::oauth::lifetime::{self, MAX_ACCESS_LIFETIME, MAX_GRANT_LIFETIME, MAX_RETRY_AFTER};
use ferry_core::oauth::loopback::LoopbackListener;
use ferry_core::oauth::refresh::{self, FailureKind};
use ferry_core::providers::Provider;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Cases per property and run: enough to meet the odd corner every CI run, cheap enough to
/// keep `make test` quick (these are pure parsers, microseconds each).
const CASES: u32 = 3000;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

/// Any JSON value, nested a few levels, with the numbers that break naive code.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![
            Just(0_u64),
            Just(u64::MAX),
            Just(8_200_000_000_000),
            Just(1)
        ]
        .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::hash_map("[a-z_]{1,12}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object that looks like a reply of the kind `fields` names, with any values.
fn reply_like(fields: &'static [&'static str]) -> impl Strategy<Value = String> {
    let field = prop::sample::select(fields);
    prop::collection::vec((field, any_json()), 0..fields.len() + 2).prop_map(|pairs| {
        let object: serde_json::Map<String, Value> =
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Value::Object(object).to_string()
    })
}

/// Text that is JSON-like, truncated JSON, or anything at all.
fn body(fields: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => reply_like(fields),
        1 => reply_like(fields).prop_flat_map(|s| {
            let len = s.len();
            (Just(s), 0..=len).prop_map(|(s, cut)| s.get(..cut).unwrap_or_default().to_owned())
        }),
        1 => ".{0,200}",
    ]
}

const TOKEN_FIELDS: &[&str] = &[
    "access_token",
    "expires_in",
    "refresh_token",
    "scope",
    "token_type",
    "id_token",
    "refresh_token_expires_in",
];
const ERROR_FIELDS: &[&str] = &[
    "error",
    "error_description",
    "error_codes",
    "suberror",
    "timestamp",
    "trace_id",
];

#[test]
fn token_replies_parse_or_fail_typed_and_stay_in_bounds() {
    runner(CASES)
        .run(&body(TOKEN_FIELDS), |text| {
            match refresh::parse_token_reply(&text, t0()) {
                Ok(reply) => {
                    prop_assert!(reply.expires_at > t0());
                    prop_assert!(reply.expires_at <= t0() + MAX_ACCESS_LIFETIME);
                    if let Some(end) = reply.grant_expires_at {
                        prop_assert!(end <= t0() + MAX_GRANT_LIFETIME);
                    }
                }
                Err(failure) => {
                    prop_assert_eq!(failure.kind, FailureKind::Transient);
                    prop_assert_eq!(failure.code, "malformed reply");
                }
            }
            Ok(())
        })
        .expect("token replies");
}

#[test]
fn error_bodies_are_always_classified() {
    let input = (
        prop_oneof![Just(Provider::Google), Just(Provider::Microsoft)],
        prop_oneof![Just(400_u16), Just(401), Just(403), Just(429), 100_u16..600],
        body(ERROR_FIELDS),
        prop::option::of(0_u64..u64::MAX),
    );
    runner(CASES)
        .run(&input, |(provider, status, text, retry)| {
            let retry = retry.map(StdDuration::from_secs);
            let failure = refresh::classify(provider, status, &text, retry);
            prop_assert!(!failure.code.is_empty());
            if status == 429 || status >= 500 {
                prop_assert_eq!(failure.kind, FailureKind::Transient);
            }
            Ok(())
        })
        .expect("error bodies");
}

#[test]
fn retry_after_is_read_or_ignored_and_never_exceeds_the_cap() {
    let input = prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        (-10_000_000_000_i64..10_000_000_000)
            .prop_map(|s| (t0() + Duration::seconds(s)).to_rfc2822()),
        ".{0,40}",
    ];
    runner(CASES)
        .run(&input, |text| {
            if let Some(wait) = lifetime::retry_after(&text, t0()) {
                prop_assert!(wait <= MAX_RETRY_AFTER);
            }
            Ok(())
        })
        .expect("retry-after");
}

/// Pieces a `ferry://` link is made of, right and wrong.
fn link() -> impl Strategy<Value = String> {
    let one_of = |fixed: &'static [&'static str], any: &'static str| {
        prop_oneof![
            3 => prop::sample::select(fixed).prop_map(str::to_owned),
            1 => any,
        ]
    };
    let scheme = one_of(&["ferry", "FERRY", "https"], "[a-z]{1,6}");
    let host = one_of(&["oauth", "OAuth", ""], ".{0,12}");
    let path = one_of(&["/microsoft", "/microsoft/", "/google"], ".{0,16}");
    let name = one_of(
        &["code", "state", "error", "error_description", "iss"],
        "[a-z]{1,8}",
    );
    let value = prop_oneof![
        ".{0,24}",
        "[A-Za-z0-9._~-]{0,5000}",
        Just("%ff%fe".to_owned())
    ];
    let pairs = prop::collection::vec((name, value), 0..6);
    (scheme, host, path, pairs).prop_map(|(scheme, host, path, pairs)| {
        let query: Vec<String> = pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", v.replace('&', "%26").replace('#', "%23")))
            .collect();
        format!("{scheme}://{host}{path}?{}", query.join("&"))
    })
}

#[test]
fn links_parse_or_are_refused_with_a_reason() {
    let input = prop_oneof![3 => link(), 1 => ".{0,300}"];
    runner(CASES)
        .run(&input, |raw| {
            match DeepLink::parse(&raw) {
                Ok(DeepLink::OAuthCallback(callback)) => {
                    prop_assert_eq!(callback.provider, Provider::Microsoft);
                    prop_assert!(raw.len() <= 8 * 1024, "over-long links are refused");
                    prop_assert!(callback.state.len() <= 2 * 1024);
                    // What may be logged names no value.
                    let described = DeepLink::OAuthCallback(callback).describe();
                    prop_assert!(!described.contains("state="));
                }
                Err(err) => prop_assert!(!err.to_string().is_empty()),
            }
            Ok(())
        })
        .expect("links");
}

#[test]
fn query_strings_from_the_loopback_parse_or_are_refused() {
    let name = prop_oneof![
        3 => prop::sample::select(&["code", "state", "error", "iss"][..]).prop_map(str::to_owned),
        1 => ".{0,8}",
    ];
    let pair = (name, ".{0,64}");
    runner(CASES)
        .run(&prop::collection::vec(pair, 0..8), |pairs| {
            let cows = pairs.iter().map(|(k, v)| {
                (
                    std::borrow::Cow::from(&k[..]),
                    std::borrow::Cow::from(&v[..]),
                )
            });
            match OAuthCallback::from_query(Provider::Google, cows) {
                Ok(callback) => prop_assert!(pairs
                    .iter()
                    .any(|(k, v)| k == "state" && *v == callback.state)),
                Err(
                    CallbackError::MissingParameter(_)
                    | CallbackError::DuplicateParameter(_)
                    | CallbackError::Malformed(_),
                ) => {}
            }
            Ok(())
        })
        .expect("loopback queries");
}

/// Raw requests to the listener, as anything on this computer could send them. It answers
/// or closes each at once, lets none of them through, and still takes the real callback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_requests_to_the_loopback_listener_never_end_the_wait() {
    let listener = LoopbackListener::start(
        Provider::Google,
        StdDuration::from_secs(120),
        Arc::new(|callback| callback.state == "the-real-state"),
    )
    .await
    .expect("listen");
    let addr = listener.local_addr();
    let redirect = listener.redirect_uri().to_owned();
    let waiting = tokio::spawn(listener.callback());

    let request = prop_oneof![
        (".{0,200}", prop::collection::vec(".{0,40}", 0..4)).prop_map(|(target, headers)| {
            let mut text = format!("GET /oauth/google?{target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            for header in headers {
                text.push_str(&header.replace(['\r', '\n'], " "));
                text.push_str("\r\n");
            }
            text.into_bytes()
        }),
        prop::collection::vec(any::<u8>(), 0..300),
    ];
    // Network round trips: fewer cases than the pure parsers, still thousands.
    let cases = TestRunner::new(Config {
        cases: 2000,
        failure_persistence: None,
        ..Config::default()
    });
    let mut runner = cases;
    let mut samples = Vec::new();
    for _ in 0..2000 {
        samples.push(request.new_tree(&mut runner).expect("sample").current());
    }
    for bytes in samples {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let _ = stream.write_all(&bytes).await;
        let _ = stream.write_all(b"\r\n\r\n").await;
        let _ = stream.shutdown().await;
        let mut answer = Vec::new();
        let read =
            tokio::time::timeout(StdDuration::from_secs(5), stream.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the listener answered or closed at once");
        assert!(
            answer.is_empty() || answer.starts_with(b"HTTP/1.1 "),
            "an HTTP answer or none"
        );
        assert!(
            !waiting.is_finished(),
            "no generated request ended the wait"
        );
    }
    let ok = reqwest::get(format!("{redirect}?code=c&state=the-real-state"))
        .await
        .expect("the real callback");
    assert_eq!(ok.status(), 200);
    let callback = waiting.await.expect("task").expect("callback");
    assert_eq!(callback.state, "the-real-state");
}

/// Claims as an id_token may carry them: the right names with any values.
fn claims_json() -> impl Strategy<Value = Value> {
    let aud = prop_oneof![
        Just(json!("ferry")),
        Just(json!(["ferry"])),
        Just(json!(["other", "ferry"])),
        any_json(),
    ];
    let exp = prop_oneof![
        Just(json!(2_000_000_000)),
        Just(json!(1.9e9)),
        Just(json!(0)),
        any_json(),
    ];
    let optional = || prop::option::of(any_json());
    let nonce = prop_oneof![Just(Some(json!("n"))), optional()];
    (aud, exp, optional(), nonce, optional(), optional()).prop_map(
        |(aud, exp, azp, nonce, email, extra)| {
            let mut claims = json!({"iss": "i", "sub": "s", "aud": aud, "exp": exp});
            for (name, value) in [
                ("azp", azp),
                ("nonce", nonce),
                ("email", email),
                ("tid", extra),
            ] {
                if let Some(value) = value {
                    claims[name] = value;
                }
            }
            claims
        },
    )
}

#[test]
fn id_token_claims_are_checked_or_refused_typed() {
    let issuer = |_: &IdClaims| true;
    let expected = Expected {
        audience: "ferry",
        issuer: &issuer,
        nonce: "n",
        now: DateTime::from_timestamp(1_900_000_000, 0).unwrap_or_default(),
    };
    runner(CASES)
        .run(&claims_json(), |claims| {
            if let Ok(parsed) = serde_json::from_value::<IdClaims>(claims) {
                match id_token::check_claims(&parsed, &expected) {
                    Ok(()) => prop_assert_eq!(parsed.nonce.as_deref(), Some("n")),
                    Err(IdTokenError::Audience | IdTokenError::Expired | IdTokenError::Nonce) => {}
                    Err(other) => prop_assert!(false, "unexpected refusal {other:?}"),
                }
            }
            Ok(())
        })
        .expect("claims");
}

/// Whole tokens: garbage, and claims signed with the sandbox's real key, verified end to end
/// against its JWKS (fetched once, then cached).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_tokens_verify_or_fail_typed() {
    let sandbox = ferry_sandbox::Sandbox::start(ferry_sandbox::SandboxOptions::default())
        .await
        .expect("sandbox");
    let jwks = url::Url::parse(&format!("{}/oauth2/v3/certs", sandbox.google_url())).expect("url");
    let keys = KeyCache::default();
    let http = reqwest::Client::new();
    let issuer = |c: &IdClaims| c.iss == "i";
    let now = DateTime::from_timestamp(1_900_000_000, 0).unwrap_or_default();
    let expected = Expected {
        audience: "ferry",
        issuer: &issuer,
        nonce: "n",
        now,
    };
    let token = prop_oneof![
        2 => claims_json().prop_map({
            let world = Arc::clone(sandbox.world());
            move |claims| world.signers.google.sign(&claims)
        }),
        1 => "[A-Za-z0-9_.=-]{0,300}",
        1 => ".{0,120}",
    ];
    let mut runner = runner(CASES);
    let mut samples = Vec::new();
    for _ in 0..CASES {
        samples.push(token.new_tree(&mut runner).expect("sample").current());
    }
    let mut verified = 0;
    for token in samples {
        match id_token::verify(&keys, &http, &jwks, &token, &expected).await {
            Ok(claims) => {
                verified += 1;
                assert_eq!(claims.nonce.as_deref(), Some("n"));
            }
            Err(err) => assert!(!err.to_string().is_empty()),
        }
    }
    assert!(
        keys.fetches() <= 2,
        "keys were cached: {} fetches",
        keys.fetches()
    );
    assert!(verified > 0, "some generated tokens were genuinely valid");
}

//! Provider settings: real clients from the file or environment, the sandbox from the
//! environment, and plain http refused anywhere but loopback.

use std::collections::HashMap;

use ferry_core::providers::config::{ConfigError, ProviderSettings, Source};

fn load(file: Option<&str>, env: &[(&str, &str)]) -> Result<ProviderSettings, ConfigError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("providers.toml");
    if let Some(text) = file {
        std::fs::write(&path, text).expect("write config");
    }
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ProviderSettings::load(&path, |name| env.get(name).cloned())
}

#[test]
fn with_nothing_configured_no_provider_is_available() {
    let settings = load(None, &[]).expect("loads");
    assert_eq!(settings, ProviderSettings::default());
    assert!(!settings.uses_sandbox());
}

#[test]
fn the_sandbox_is_reached_through_its_urls_and_badged() {
    let settings = load(
        None,
        &[
            ("FERRY_SANDBOX_GOOGLE_URL", "http://127.0.0.1:41001"),
            ("FERRY_SANDBOX_MICROSOFT_URL", "http://127.0.0.1:41002/"),
        ],
    )
    .expect("loads");
    assert!(settings.uses_sandbox());
    let google = settings.google.expect("google");
    assert_eq!(google.source, Source::Sandbox);
    assert_eq!(
        google.authorize_url.as_str(),
        "http://127.0.0.1:41001/o/oauth2/v2/auth"
    );
    assert_eq!(google.token_url.as_str(), "http://127.0.0.1:41001/token");
    assert_eq!(google.issuer, "http://127.0.0.1:41001");
    let microsoft = settings.microsoft.expect("microsoft");
    assert_eq!(microsoft.tenant, "common");
    assert_eq!(
        microsoft.authorize_url().expect("url").as_str(),
        "http://127.0.0.1:41002/common/oauth2/v2.0/authorize"
    );
    assert_eq!(microsoft.graph_url.as_str(), "http://127.0.0.1:41002/v1.0/");
    assert_eq!(
        ferry_core::providers::microsoft::issuer_for(&microsoft, "t-1"),
        "http://127.0.0.1:41002/t-1/v2.0"
    );
}

#[test]
fn plain_http_is_refused_off_loopback() {
    for host in [
        "http://192.168.1.5:8080",
        "http://sandbox.example",
        "http://10.0.0.1",
    ] {
        let err = load(None, &[("FERRY_SANDBOX_GOOGLE_URL", host)]).expect_err(host);
        assert!(matches!(err, ConfigError::InsecureUrl(..)), "{host}: {err}");
    }
    for host in [
        "http://localhost:1",
        "http://127.0.0.2:1",
        "http://[::1]:1",
        "https://sandbox.example",
    ] {
        assert!(
            load(None, &[("FERRY_SANDBOX_GOOGLE_URL", host)]).is_ok(),
            "{host}"
        );
    }
    assert_eq!(
        load(None, &[("FERRY_SANDBOX_MICROSOFT_URL", "ftp://127.0.0.1")]).expect_err("scheme"),
        ConfigError::BadUrl("FERRY_SANDBOX_MICROSOFT_URL")
    );
}

#[test]
fn real_clients_come_from_the_file_and_the_environment_wins() {
    let file = "[google]\nclient_id = \"file-id.apps.googleusercontent.com\"\nclient_secret = \"s\"\n\n[microsoft]\nclient_id = \"11111111-2222-3333-4444-555555555555\"\ntenant = \"consumers\"\n";
    let settings = load(
        Some(file),
        &[("FERRY_SANDBOX_GOOGLE_URL", "http://127.0.0.1:1")],
    )
    .expect("loads");
    let google = settings.google.clone().expect("google");
    assert_eq!(
        (google.source, google.client_id.as_str()),
        (Source::Real, "file-id.apps.googleusercontent.com")
    );
    assert_eq!(
        google.authorize_url.as_str(),
        "https://accounts.google.com/o/oauth2/v2/auth"
    );
    assert_eq!(
        google.token_url.as_str(),
        "https://oauth2.googleapis.com/token"
    );
    assert_eq!(google.client_secret.as_deref(), Some("s"));
    assert!(!settings.uses_sandbox(), "a real client beats the sandbox");
    let microsoft = settings.microsoft.expect("microsoft");
    assert_eq!(
        microsoft.token_url().expect("url").as_str(),
        "https://login.microsoftonline.com/consumers/oauth2/v2.0/token"
    );

    let settings = load(
        Some(file),
        &[
            ("FERRY_GOOGLE_CLIENT_ID", "env-id"),
            ("FERRY_MICROSOFT_TENANT", "organizations"),
        ],
    )
    .expect("loads");
    assert_eq!(settings.google.expect("google").client_id, "env-id");
    assert_eq!(
        settings.microsoft.expect("microsoft").tenant,
        "organizations"
    );
}

#[test]
fn a_broken_file_or_tenant_is_a_clear_error() {
    let err = load(Some("[google]\nclientid = \"typo\"\n"), &[]).expect_err("unknown key");
    assert!(err.to_string().contains("providers.toml"), "{err}");
    let err = load(None, &[("FERRY_MICROSOFT_TENANT", "common/../x")]).expect_err("bad tenant");
    assert_eq!(err, ConfigError::BadTenant("common/../x".into()));
    let ui: ferry_core::AppError = err.into();
    assert_eq!(ui.code, ferry_core::ErrorCode::Configuration);
}

//! Where Ferry reaches Google and Microsoft, and as which OAuth client.
//!
//! Real users bring their own client IDs, in `providers.toml` in Ferry's config folder or
//! in environment variables. Without them, Ferry can be pointed at the provider sandbox
//! (`FERRY_SANDBOX_GOOGLE_URL`, `FERRY_SANDBOX_MICROSOFT_URL`), and the UI says so.
//! Ferry has no other way in: tests and the demo use exactly these settings.
//!
//! Every provider URL must be https, except on a loopback address (the sandbox), where
//! plain http is accepted. Tokens never travel over plain http across a network.

use std::net::IpAddr;
use std::path::Path;

use serde::Deserialize;
use url::Url;

use crate::providers::microsoft::graph_mail::ROUND_CAP;

/// The file in Ferry's config folder.
pub const CONFIG_FILE: &str = "providers.toml";

pub const GOOGLE_CLIENT_ID_ENV: &str = "FERRY_GOOGLE_CLIENT_ID";
pub const GOOGLE_CLIENT_SECRET_ENV: &str = "FERRY_GOOGLE_CLIENT_SECRET";
/// `1` when the Google project is in "Testing" status (grants end after 7 days).
pub const GOOGLE_TESTING_ENV: &str = "FERRY_GOOGLE_TESTING";
pub const GMAIL_QUOTA_ENV: &str = "FERRY_GMAIL_QUOTA_PER_MINUTE";
/// Gmail quota units per user per minute for projects created since May 2026; older
/// projects have 15,000, and a project's owner can have it raised.
pub const GMAIL_QUOTA_DEFAULT: u64 = 6_000;
pub const MICROSOFT_CLIENT_ID_ENV: &str = "FERRY_MICROSOFT_CLIENT_ID";
pub const MICROSOFT_TENANT_ENV: &str = "FERRY_MICROSOFT_TENANT";
pub const SANDBOX_GOOGLE_ENV: &str = "FERRY_SANDBOX_GOOGLE_URL";
pub const SANDBOX_MICROSOFT_ENV: &str = "FERRY_SANDBOX_MICROSOFT_URL";

/// The sandbox's demo clients (`crates/ferry-sandbox/src/control.rs`).
const SANDBOX_GOOGLE_CLIENT_ID: &str = "ferry-sandbox-desktop.apps.googleusercontent.com";
const SANDBOX_MICROSOFT_CLIENT_ID: &str = "f3771a5e-0b1c-4d2e-8f90-5a1db0c5e7f1";

const GOOGLE_ACCOUNTS: &str = "https://accounts.google.com";
const GOOGLE_OAUTH: &str = "https://oauth2.googleapis.com";
const GOOGLE_OPENID: &str = "https://openidconnect.googleapis.com";
const GOOGLE_CERTS: &str = "https://www.googleapis.com";
const GMAIL_API: &str = "https://gmail.googleapis.com";
const MICROSOFT_LOGIN: &str = "https://login.microsoftonline.com";
const MICROSOFT_GRAPH: &str = "https://graph.microsoft.com";
/// OpenID Connect Discovery §4: the metadata's path below the issuer.
const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// Where a provider's settings came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The real provider, with the user's own client.
    Real,
    /// The local provider sandbox.
    Sandbox,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleSettings {
    pub source: Source,
    pub client_id: String,
    /// Google issues Desktop clients a secret that is not confidential; sent when set.
    pub client_secret: Option<String>,
    pub authorize_url: Url,
    pub token_url: Url,
    pub revoke_url: Url,
    pub userinfo_url: Url,
    pub jwks_url: Url,
    /// The authorization server's metadata: the issuer plus the well-known path.
    pub discovery_url: Url,
    /// Gmail's API origin (`/gmail/v1/...` and `/batch/gmail/v1` below it).
    pub gmail_url: Url,
    /// The `iss` of id_tokens and of RFC 9207 authorization responses.
    pub issuer: String,
    /// The project is in "Testing" status, so every grant ends 7 days after consent.
    pub testing: bool,
    /// Gmail quota units per user per minute for this project; sync stays below it.
    pub gmail_quota_per_minute: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicrosoftSettings {
    pub source: Source,
    pub client_id: String,
    /// `common`, `organizations`, `consumers` or a tenant id.
    pub tenant: String,
    /// The identity platform's origin; endpoints are `{authority}/{tenant}/oauth2/v2.0/…`.
    pub authority: Url,
    pub graph_url: Url,
    /// The most messages a delta round filtered by date brings: Graph's 5,000
    /// ([`crate::providers::microsoft::graph_mail::ROUND_CAP`]); tests that lower the
    /// sandbox's cap lower it here too.
    pub delta_round_cap: u32,
}

impl MicrosoftSettings {
    pub fn authorize_url(&self) -> Result<Url, url::ParseError> {
        self.authority
            .join(&format!("{}/oauth2/v2.0/authorize", self.tenant))
    }

    pub fn token_url(&self) -> Result<Url, url::ParseError> {
        self.authority
            .join(&format!("{}/oauth2/v2.0/token", self.tenant))
    }

    pub fn jwks_url(&self) -> Result<Url, url::ParseError> {
        self.authority
            .join(&format!("{}/discovery/v2.0/keys", self.tenant))
    }

    /// The OpenID Connect discovery document of the configured tenant.
    pub fn discovery_url(&self) -> Result<Url, url::ParseError> {
        self.authority.join(&format!(
            "{}/v2.0/.well-known/openid-configuration",
            self.tenant
        ))
    }

    /// The OpenID Connect userinfo endpoint, which Microsoft serves from Graph's host.
    pub fn userinfo_url(&self) -> Result<Url, url::ParseError> {
        self.graph_url.join("../oidc/userinfo")
    }
}

/// One provider's OAuth client and the endpoints a sign-in uses, whichever provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub authorize_url: Url,
    pub token_url: Url,
    pub jwks_url: Url,
    /// The authorization server's metadata (whether it sends RFC 9207 `iss`).
    pub discovery_url: Url,
    pub userinfo_url: Url,
}

/// What Ferry knows about both providers; either may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderSettings {
    pub google: Option<GoogleSettings>,
    pub microsoft: Option<MicrosoftSettings>,
}

impl ProviderSettings {
    /// True when any provider is the sandbox: the UI shows a "Sandbox" badge.
    pub fn uses_sandbox(&self) -> bool {
        self.google
            .as_ref()
            .is_some_and(|g| g.source == Source::Sandbox)
            || self
                .microsoft
                .as_ref()
                .is_some_and(|m| m.source == Source::Sandbox)
    }

    /// The client and endpoints for `provider`, if it is configured.
    pub fn client(&self, provider: super::Provider) -> Option<OAuthClient> {
        use super::Provider;
        match provider {
            Provider::Google => {
                let g = self.google.as_ref()?;
                Some(OAuthClient {
                    client_id: g.client_id.clone(),
                    client_secret: g.client_secret.clone(),
                    authorize_url: g.authorize_url.clone(),
                    token_url: g.token_url.clone(),
                    jwks_url: g.jwks_url.clone(),
                    discovery_url: g.discovery_url.clone(),
                    userinfo_url: g.userinfo_url.clone(),
                })
            }
            Provider::Microsoft => {
                let m = self.microsoft.as_ref()?;
                Some(OAuthClient {
                    client_id: m.client_id.clone(),
                    client_secret: None,
                    authorize_url: m.authorize_url().ok()?,
                    token_url: m.token_url().ok()?,
                    jwks_url: m.jwks_url().ok()?,
                    discovery_url: m.discovery_url().ok()?,
                    userinfo_url: m.userinfo_url().ok()?,
                })
            }
        }
    }

    /// Reads `providers.toml` (if present) and the environment (which wins).
    /// `env` is the environment lookup, injected so tests need not touch the process's.
    pub fn load(
        config_file: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file = match std::fs::read_to_string(config_file) {
            Ok(text) => toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::File {
                path: config_file.display().to_string(),
                reason: e.message().to_owned(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileConfig::default(),
            Err(e) => {
                return Err(ConfigError::File {
                    path: config_file.display().to_string(),
                    reason: e.to_string(),
                })
            }
        };
        let env = |name: &str| {
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let google_id = env(GOOGLE_CLIENT_ID_ENV).or(file.google.client_id);
        let testing = env(GOOGLE_TESTING_ENV)
            .map(|v| v == "1" || v.eq_ignore_ascii_case("true"))
            .or(file.google.testing)
            .unwrap_or(false);
        let gmail_quota_per_minute = env(GMAIL_QUOTA_ENV)
            .and_then(|v| v.parse().ok())
            .or(file.google.gmail_quota_per_minute)
            .filter(|q| *q > 0)
            .unwrap_or(GMAIL_QUOTA_DEFAULT);
        let google = match (google_id, env(SANDBOX_GOOGLE_ENV)) {
            (Some(client_id), _) => Some(GoogleSettings {
                source: Source::Real,
                client_id,
                client_secret: env(GOOGLE_CLIENT_SECRET_ENV).or(file.google.client_secret),
                authorize_url: fixed(GOOGLE_ACCOUNTS, "/o/oauth2/v2/auth"),
                token_url: fixed(GOOGLE_OAUTH, "/token"),
                revoke_url: fixed(GOOGLE_OAUTH, "/revoke"),
                userinfo_url: fixed(GOOGLE_OPENID, "/v1/userinfo"),
                jwks_url: fixed(GOOGLE_CERTS, "/oauth2/v3/certs"),
                discovery_url: fixed(GOOGLE_ACCOUNTS, WELL_KNOWN),
                gmail_url: fixed(GMAIL_API, "/"),
                issuer: GOOGLE_ACCOUNTS.to_owned(),
                testing,
                gmail_quota_per_minute,
            }),
            (None, Some(base)) => {
                let base = checked_base(SANDBOX_GOOGLE_ENV, &base)?;
                let at = |path: &str| {
                    base.join(path)
                        .map_err(|_| ConfigError::BadUrl(SANDBOX_GOOGLE_ENV))
                };
                Some(GoogleSettings {
                    source: Source::Sandbox,
                    client_id: SANDBOX_GOOGLE_CLIENT_ID.to_owned(),
                    client_secret: None,
                    authorize_url: at("o/oauth2/v2/auth")?,
                    token_url: at("token")?,
                    revoke_url: at("revoke")?,
                    userinfo_url: at("v1/userinfo")?,
                    jwks_url: at("oauth2/v3/certs")?,
                    discovery_url: at(WELL_KNOWN.trim_start_matches('/'))?,
                    gmail_url: base.clone(),
                    issuer: base.as_str().trim_end_matches('/').to_owned(),
                    testing,
                    gmail_quota_per_minute,
                })
            }
            (None, None) => None,
        };

        let microsoft_id = env(MICROSOFT_CLIENT_ID_ENV).or(file.microsoft.client_id);
        let tenant = env(MICROSOFT_TENANT_ENV)
            .or(file.microsoft.tenant)
            .unwrap_or_else(|| "common".to_owned());
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        {
            return Err(ConfigError::BadTenant(tenant));
        }
        let microsoft = match (microsoft_id, env(SANDBOX_MICROSOFT_ENV)) {
            (Some(client_id), _) => Some(MicrosoftSettings {
                source: Source::Real,
                client_id,
                tenant,
                authority: fixed(MICROSOFT_LOGIN, "/"),
                graph_url: fixed(MICROSOFT_GRAPH, "/v1.0/"),
                delta_round_cap: ROUND_CAP,
            }),
            (None, Some(base)) => {
                let authority = checked_base(SANDBOX_MICROSOFT_ENV, &base)?;
                let graph_url = authority
                    .join("v1.0/")
                    .map_err(|_| ConfigError::BadUrl(SANDBOX_MICROSOFT_ENV))?;
                Some(MicrosoftSettings {
                    source: Source::Sandbox,
                    client_id: SANDBOX_MICROSOFT_CLIENT_ID.to_owned(),
                    tenant,
                    authority,
                    graph_url,
                    delta_round_cap: ROUND_CAP,
                })
            }
            (None, None) => None,
        };
        Ok(Self { google, microsoft })
    }
}

/// The real providers' fixed origins, which are known-good constants.
fn fixed(origin: &str, path: &str) -> Url {
    Url::parse(origin)
        .and_then(|o| o.join(path))
        .unwrap_or_else(|_| unreachable!("constant URL {origin}{path}"))
}

/// A base URL from configuration, with a trailing slash so `join` appends.
fn checked_base(name: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let mut url = Url::parse(raw).map_err(|_| ConfigError::BadUrl(name))?;
    check_transport(name, &url)?;
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// https everywhere; plain http only to a loopback address.
pub fn check_transport(name: &'static str, url: &Url) -> Result<(), ConfigError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(ConfigError::InsecureUrl(
            name,
            url.host_str().unwrap_or_default().to_owned(),
        )),
        _ => Err(ConfigError::BadUrl(name)),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

impl From<ConfigError> for crate::error::AppError {
    fn from(err: ConfigError) -> Self {
        crate::error::AppError::new(crate::error::ErrorCode::Configuration, err.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read {path}: {reason}")]
    File { path: String, reason: String },
    #[error("{0} is not a valid URL")]
    BadUrl(&'static str),
    #[error("{0} uses plain http to {1}; Ferry only allows http to this computer (loopback) and https everywhere else")]
    InsecureUrl(&'static str, String),
    #[error(
        "{0:?} is not a Microsoft tenant (use common, organizations, consumers or a tenant id)"
    )]
    BadTenant(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    google: FileGoogle,
    #[serde(default)]
    microsoft: FileMicrosoft,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGoogle {
    client_id: Option<String>,
    client_secret: Option<String>,
    /// The Google project's publishing status is "Testing": grants end after 7 days.
    testing: Option<bool>,
    /// Gmail quota units per user per minute (6,000 unless the project has more).
    gmail_quota_per_minute: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileMicrosoft {
    client_id: Option<String>,
    tenant: Option<String>,
}

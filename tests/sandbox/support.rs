//! Shared helpers: a running sandbox, an `oauth2` client type that keeps the id_token,
//! and id_token verification against the sandbox's JWKS.

use std::path::PathBuf;

use ferry_sandbox::{Sandbox, SandboxConfig, SandboxOptions};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{ExtraTokenFields, StandardRevocableToken, StandardTokenResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use ferry_sandbox::browser::{Browser, Outcome, Person};
pub use ferry_sandbox::control::{DEMO_GOOGLE_CLIENT_ID, DEMO_MICROSOFT_CLIENT_ID};

/// Keeps `id_token` from token responses, which the basic client would drop.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdTokenField {
    #[serde(default)]
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

pub type Tokens = StandardTokenResponse<IdTokenField, BasicTokenType>;
pub type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// An `oauth2` public client with authorization and token endpoints and a redirect URI.
macro_rules! oauth_client {
    ($id:expr, $auth:expr, $token:expr, $redirect:expr) => {
        $crate::support::OAuthClient::new(oauth2::ClientId::new($id.to_string()))
            .set_auth_uri(oauth2::AuthUrl::new($auth).expect("auth url"))
            .set_token_uri(oauth2::TokenUrl::new($token).expect("token url"))
            .set_redirect_uri(
                oauth2::RedirectUrl::new($redirect.to_string()).expect("redirect url"),
            )
    };
}

pub async fn start() -> Sandbox {
    start_with(SandboxConfig::default()).await
}

pub async fn start_with(config: SandboxConfig) -> Sandbox {
    Sandbox::start(SandboxOptions {
        config,
        ..SandboxOptions::default()
    })
    .await
    .expect("the sandbox starts")
}

/// The sandbox following the RFCs where the providers are lenient.
pub fn strict() -> SandboxConfig {
    SandboxConfig {
        strict: true,
        ..SandboxConfig::default()
    }
}

/// GETs `url` (with a bearer token when given) and reads its JSON body.
pub async fn get_json(url: &str, bearer: Option<&str>) -> Value {
    let mut request = http().get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON body")
}

/// An HTTP client that, like the oauth2 crate requires, does not follow redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Verifies an id_token's signature against the JWKS at `jwks_url` and returns its claims.
pub async fn verify_id_token(jwks_url: &str, token: &str, audience: &str, issuer: &str) -> Value {
    let jwks: Value = http()
        .get(jwks_url)
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    let header = jsonwebtoken::decode_header(token).expect("id_token header");
    assert_eq!(header.alg, Algorithm::RS256, "id_tokens are RS256");
    let kid = header.kid.expect("id_token names its key");
    let jwk = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
        .expect("the JWKS has the id_token's key");
    let key = DecodingKey::from_rsa_components(
        jwk["n"].as_str().expect("n"),
        jwk["e"].as_str().expect("e"),
    )
    .expect("RSA key from JWKS");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the id_token verifies")
        .claims
}

/// `shared/` beside the repository (CI puts it there), or `FERRY_SHARED_DIR`.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("FERRY_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

pub fn read_spec(relative: &str) -> Value {
    let path = shared_dir().join("specs").join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (set FERRY_SHARED_DIR to the shared/ folder)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("spec is JSON")
}

/// Signs `person` in at the sandbox's Google with `scopes` (the demo Desktop client,
/// PKCE, a loopback redirect) and returns the access token.
pub async fn google_token(sb: &Sandbox, person: &Person, scopes: &[&str]) -> String {
    sign_in_token(
        &format!("{}/o/oauth2/v2/auth", sb.google_url()),
        &format!("{}/token", sb.google_url()),
        DEMO_GOOGLE_CLIENT_ID,
        "http://127.0.0.1:4242/oauth/google",
        person,
        scopes,
    )
    .await
}

/// The same at the sandbox's Microsoft (`ferry://` redirect, the common tenant).
pub async fn microsoft_token(sb: &Sandbox, person: &Person, scopes: &[&str]) -> String {
    sign_in_token(
        &format!("{}/common/oauth2/v2.0/authorize", sb.microsoft_url()),
        &format!("{}/common/oauth2/v2.0/token", sb.microsoft_url()),
        DEMO_MICROSOFT_CLIENT_ID,
        "ferry://oauth/microsoft",
        person,
        scopes,
    )
    .await
}

/// An authorization-code flow with PKCE through the scripted browser.
async fn sign_in_token(
    authorize: &str,
    token: &str,
    client_id: &str,
    redirect: &str,
    person: &Person,
    scopes: &[&str],
) -> String {
    let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
    let url = Url::parse_with_params(
        authorize,
        &[
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("response_type", "code"),
            ("scope", &scopes.join(" ")),
            ("state", "test-state"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .expect("authorize url");
    let Ok(Outcome::Redirect(back)) = Browser::new().authorize(url.as_str(), person).await else {
        panic!("sign-in");
    };
    let body: Value = http()
        .post(token)
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", &param(&back, "code").expect("code")),
            ("redirect_uri", redirect),
            ("code_verifier", verifier.secret()),
        ])
        .send()
        .await
        .expect("exchange")
        .json()
        .await
        .expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

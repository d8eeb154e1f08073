//! Sign-in flows: begin (PKCE verifier, nonce, signed state, authorization URL), then
//! finish with the provider's callback (state, provider and `iss` checks, code exchange,
//! id_token verification). A flow is pending between the two and can finish at most once.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthorizationCode, ClientId, ClientSecret, ExtraTokenFields, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use url::Url;

use super::callback::{CallbackOutcome, OAuthCallback};
use super::id_token::{self, Expected, IdClaims, IdTokenError, KeyCache};
use super::lifetime;
use super::state::{StateClaims, StateError, StateSigner};
use crate::account::{AccessToken, Identity, RefreshToken, TokenSet};
use crate::providers::config::OAuthClient;
use crate::providers::CallbackIssuer;
use crate::providers::Provider;
use crate::providers::ProviderSettings;
use crate::services::{ServiceChoice, ServiceGrants};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct IdTokenField {
    #[serde(default)]
    id_token: Option<String>,
    /// Google, for time-based access: when the refresh token stops working.
    #[serde(default)]
    refresh_token_expires_in: Option<u64>,
}
impl ExtraTokenFields for IdTokenField {}

type Tokens = StandardTokenResponse<IdTokenField, BasicTokenType>;
type Client = oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// Why a sign-in did not complete. Messages are for a person; none carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error("{0} is not set up in Ferry")]
    NotConfigured(Provider),
    #[error("you declined access, so nothing was added")]
    Denied,
    #[error("{provider} refused the sign-in: {error}")]
    Refused { provider: Provider, error: String },
    #[error("the sign-in response was not valid (it may have been altered); nothing was added")]
    Tampered,
    /// The `state` does not verify: not from a sign-in this Ferry started (forged, altered,
    /// or another Ferry's). It cannot belong to the sign-in in progress, which waits on.
    #[error("the sign-in response was not started by this Ferry (it may be forged)")]
    Unverified,
    #[error("the sign-in took longer than 15 minutes; please start again")]
    Expired,
    #[error("this sign-in response was already used, or no sign-in is waiting for it")]
    NotPending,
    #[error("the sign-in response came from a different provider than the one you chose")]
    WrongProvider,
    #[error("the sign-in response names an unexpected issuer; nothing was added")]
    IssuerMismatch,
    #[error(
        "the sign-in response did not say who sent it, which {0} always does; nothing was added"
    )]
    IssuerMissing(Provider),
    #[error("{0} did not give Ferry lasting access (no refresh token), so the account could not stay connected; nothing was added")]
    NoRefreshToken(Provider),
    #[error("{0} did not share the account's e-mail address, so Ferry cannot tell which account it is; nothing was added")]
    NoEmail(Provider),
    #[error("{provider} did not accept the sign-in ({error}); please try again")]
    Exchange { provider: Provider, error: String },
    #[error("could not reach {0}; check your connection and try again")]
    Network(Provider),
    #[error("{0} sent a reply Ferry could not read")]
    BadResponse(Provider),
    #[error("the identity token could not be verified: {0}")]
    IdToken(String),
}

#[derive(Debug)]
pub struct SignedIn {
    pub flow_id: String,
    pub provider: Provider,
    pub identity: Identity,
    pub tokens: TokenSet,
    pub requested: ServiceChoice,
    pub granted: ServiceGrants,
}

pub struct Begun {
    pub flow_id: String,
    pub authorization_url: Url,
}

struct Pending {
    provider: Provider,
    verifier: PkceCodeVerifier,
    nonce: String,
    redirect_uri: String,
}

/// The sign-ins that are waiting for their callback.
pub struct SignInFlows {
    http: reqwest::Client,
    keys: KeyCache,
    pending: Mutex<HashMap<String, Pending>>,
    /// Per discovery URL: whether the server promises RFC 9207 `iss`, and when that was read.
    sends_iss: Mutex<HashMap<String, (bool, DateTime<Utc>)>>,
}

/// How long a server's metadata is trusted before it is read again.
const DISCOVERY_TTL: chrono::Duration = chrono::Duration::hours(1);

/// The part of a discovery document Ferry uses.
#[derive(Debug, Deserialize)]
struct Discovery {
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// The claims Ferry reads from a userinfo reply.
#[derive(Debug, Default, Deserialize)]
struct UserInfo {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl Default for SignInFlows {
    fn default() -> Self {
        Self::new()
    }
}

fn random_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl SignInFlows {
    pub fn new() -> Self {
        Self {
            http: super::http_client(),
            keys: KeyCache::default(),
            pending: Mutex::new(HashMap::new()),
            sends_iss: Mutex::new(HashMap::new()),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a sign-in: a fresh PKCE verifier and nonce, a signed state, and the URL to
    /// open in the system browser.
    pub fn begin(
        &self,
        settings: &ProviderSettings,
        signer: &StateSigner,
        provider: Provider,
        services: ServiceChoice,
        redirect_uri: &str,
        now: DateTime<Utc>,
    ) -> Result<Begun, SignInError> {
        let client = settings
            .client(provider)
            .ok_or(SignInError::NotConfigured(provider))?;
        let flow_id = random_token();
        let nonce = random_token();
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = signer.sign(&StateClaims {
            flow: flow_id.clone(),
            nonce: nonce.clone(),
            provider,
            services,
            iat: now.timestamp(),
        });
        let mut url = client.authorize_url;
        url.query_pairs_mut()
            .append_pair("client_id", &client.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &provider.scopes(&services).join(" "))
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", "S256");
        url.query_pairs_mut()
            .extend_pairs(provider.authorize_params());
        self.pending().insert(
            flow_id.clone(),
            Pending {
                provider,
                verifier,
                nonce,
                redirect_uri: redirect_uri.to_owned(),
            },
        );
        tracing::info!(%provider, "sign-in started");
        Ok(Begun {
            flow_id,
            authorization_url: url,
        })
    }

    /// Forgets a pending sign-in (Cancel, or the browser was abandoned).
    pub fn cancel(&self, flow_id: &str) -> bool {
        self.pending().remove(flow_id).is_some()
    }

    pub fn is_pending(&self, flow_id: &str) -> bool {
        self.pending().contains_key(flow_id)
    }

    /// Whether `callback` can be the answer to a sign-in in progress: its state verifies,
    /// names this provider and a flow still pending. Anything else (a forged request to the
    /// loopback port, a stale link) is turned away without touching the sign-in.
    pub fn recognises(
        &self,
        signer: &StateSigner,
        callback: &OAuthCallback,
        now: DateTime<Utc>,
    ) -> bool {
        signer.verify(&callback.state, now).is_ok_and(|claims| {
            claims.provider == callback.provider && self.is_pending(&claims.flow)
        })
    }

    /// Completes a sign-in with the provider's callback.
    pub async fn finish(
        &self,
        settings: &ProviderSettings,
        signer: &StateSigner,
        callback: OAuthCallback,
        now: DateTime<Utc>,
    ) -> Result<SignedIn, SignInError> {
        let state = signer.verify(&callback.state, now).map_err(|e| match e {
            StateError::Expired => SignInError::Expired,
            StateError::Malformed | StateError::Forged => SignInError::Unverified,
        })?;
        if state.provider != callback.provider {
            return Err(SignInError::WrongProvider);
        }
        // Taking the flow out makes the state single-use, whatever happens next.
        let pending = self
            .pending()
            .remove(&state.flow)
            .ok_or(SignInError::NotPending)?;
        if pending.provider != state.provider || pending.nonce != state.nonce {
            return Err(SignInError::Tampered);
        }
        let issuer_check = self.check_iss(settings, &callback, now).await?;
        let code = match callback.outcome {
            CallbackOutcome::Code(code) => code,
            CallbackOutcome::Error { error, .. } if error == "access_denied" => {
                return Err(SignInError::Denied)
            }
            CallbackOutcome::Error { error, .. } => {
                return Err(SignInError::Refused {
                    provider: state.provider,
                    error,
                })
            }
        };
        let provider = state.provider;
        let oauth = settings
            .client(provider)
            .ok_or(SignInError::NotConfigured(provider))?;
        let redirect =
            RedirectUrl::new(pending.redirect_uri.clone()).map_err(|_| SignInError::Tampered)?;
        let mut client = Client::new(ClientId::new(oauth.client_id.clone()))
            .set_token_uri(TokenUrl::from_url(oauth.token_url.clone()))
            .set_redirect_uri(redirect);
        if let Some(secret) = oauth.client_secret.clone() {
            client = client
                .set_client_secret(ClientSecret::new(secret))
                .set_auth_type(oauth2::AuthType::RequestBody);
        }
        let response = client
            .exchange_code(AuthorizationCode::new(code.expose_secret().to_owned()))
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => SignInError::Exchange {
                    provider,
                    error: r.error().to_string(),
                },
                RequestTokenError::Request(_) => SignInError::Network(provider),
                RequestTokenError::Parse(..) | RequestTokenError::Other(_) => {
                    SignInError::BadResponse(provider)
                }
            })?;

        let id_token = response
            .extra_fields()
            .id_token
            .clone()
            .ok_or(SignInError::BadResponse(provider))?;
        let claims = self
            .verify_id_token(settings, provider, &oauth, &id_token, &pending.nonce, now)
            .await?;
        if let CallbackIssuer::SameAsIdToken(iss) = issuer_check {
            if iss != claims.iss {
                return Err(SignInError::IssuerMismatch);
            }
        }
        let scopes: Vec<String> = match response.scopes() {
            Some(scopes) => scopes.iter().map(|s| s.to_string()).collect(),
            // RFC 6749 §5.1: no `scope` means exactly what was requested.
            None => provider.scopes(&state.services),
        };
        let granted = provider.granted(&scopes);
        let access_token = response.access_token().secret();
        if access_token.trim().is_empty() {
            return Err(SignInError::BadResponse(provider));
        }
        let expires_at =
            lifetime::access_expires_at(now, response.expires_in().map(|d| d.as_secs()))
                .map_err(|_| SignInError::BadResponse(provider))?;
        // Without a refresh token the account would silently need sign-in within the hour.
        let refresh_token = response
            .refresh_token()
            .map(|r| r.secret().to_owned())
            .filter(|r| !r.trim().is_empty())
            .ok_or(SignInError::NoRefreshToken(provider))?;
        let tokens = TokenSet {
            access_token: AccessToken::new(access_token),
            refresh_token: Some(RefreshToken::new(refresh_token)),
            expires_at,
            scopes,
            grant_expires_at: response
                .extra_fields()
                .refresh_token_expires_in
                .map(|s| lifetime::grant_expires_at(now, s)),
        };
        let mut email = claims
            .email
            .clone()
            .or_else(|| claims.preferred_username.clone())
            .filter(|e| !e.trim().is_empty());
        let mut name = claims.name.clone().filter(|n| !n.trim().is_empty());
        if email.is_none() || name.is_none() {
            // The id_token may leave these to the userinfo endpoint (OpenID Connect §5.4).
            let info = self
                .userinfo(&oauth, &tokens.access_token, &claims.sub, provider)
                .await?;
            email = email.or(info.email.filter(|e| !e.trim().is_empty()));
            name = name.or(info.name.filter(|n| !n.trim().is_empty()));
        }
        let email = email.ok_or(SignInError::NoEmail(provider))?;
        let identity = Identity {
            tenant: claims.tid.clone().unwrap_or_default(),
            subject: provider.subject(&claims.sub, claims.oid.as_deref()),
            // Someone who shares no name is shown by their address.
            name: name.unwrap_or_else(|| email.clone()),
            email,
        };
        tracing::info!(%provider, "sign-in completed");
        Ok(SignedIn {
            flow_id: state.flow,
            provider,
            identity,
            tokens,
            requested: state.services,
            granted,
        })
    }

    /// RFC 9207 mix-up defence: the callback's `iss` must be exactly the provider's issuer,
    /// and may be missing only if the provider does not promise to send it (its discovery
    /// document lacks `authorization_response_iss_parameter_supported`).
    async fn check_iss(
        &self,
        settings: &ProviderSettings,
        callback: &OAuthCallback,
        now: DateTime<Utc>,
    ) -> Result<CallbackIssuer, SignInError> {
        let provider = callback.provider;
        let Some(iss) = &callback.issuer else {
            let oauth = settings
                .client(provider)
                .ok_or(SignInError::NotConfigured(provider))?;
            return if self
                .promises_iss(&oauth.discovery_url, provider, now)
                .await?
            {
                Err(SignInError::IssuerMissing(provider))
            } else {
                Ok(CallbackIssuer::Confirmed)
            };
        };
        match provider.callback_issuer(settings, iss) {
            CallbackIssuer::Wrong => Err(SignInError::IssuerMismatch),
            fine => Ok(fine),
        }
    }

    /// Whether the server's metadata promises RFC 9207 `iss` (read at most hourly).
    async fn promises_iss(
        &self,
        discovery_url: &Url,
        provider: Provider,
        now: DateTime<Utc>,
    ) -> Result<bool, SignInError> {
        let cached = self
            .sends_iss
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(discovery_url.as_str())
            .copied();
        if let Some((promised, read_at)) = cached {
            if now < read_at + DISCOVERY_TTL && now >= read_at {
                return Ok(promised);
            }
        }
        let doc: Discovery =
            super::get_json(self.http.get(discovery_url.clone()), provider).await?;
        let promised = doc.authorization_response_iss_parameter_supported;
        self.sends_iss
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(discovery_url.to_string(), (promised, now));
        Ok(promised)
    }

    /// Asks the userinfo endpoint for what the id_token left out. Its `sub` must be the
    /// id_token's (OpenID Connect Core §5.3.2), or nothing it says is used.
    async fn userinfo(
        &self,
        oauth: &OAuthClient,
        access_token: &AccessToken,
        subject: &str,
        provider: Provider,
    ) -> Result<UserInfo, SignInError> {
        let request = self
            .http
            .get(oauth.userinfo_url.clone())
            .bearer_auth(access_token.expose_secret());
        let info: UserInfo = super::get_json(request, provider).await?;
        match info.sub.as_deref() {
            Some(sub) if sub == subject => Ok(info),
            _ => Err(SignInError::BadResponse(provider)),
        }
    }

    async fn verify_id_token(
        &self,
        settings: &ProviderSettings,
        provider: Provider,
        oauth: &OAuthClient,
        token: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<IdClaims, SignInError> {
        // Each provider has its own rule for which issuers to accept.
        let accept = |c: &IdClaims| provider.issued_id_token(settings, &c.iss, c.tid.as_deref());
        let expected = Expected {
            audience: &oauth.client_id,
            issuer: &accept,
            nonce,
            now,
        };
        let result =
            id_token::verify(&self.keys, &self.http, &oauth.jwks_url, token, &expected).await;
        result.map_err(|e: IdTokenError| SignInError::IdToken(e.to_string()))
    }
}

//! id_token verification: RS256 signature against the provider's JWKS (refetched once
//! when the key id is unknown, for key rotation), then `iss`, `aud`, `exp` and `nonce`
//! checked by Ferry itself against the injected clock.

use std::collections::HashMap;
use std::sync::Mutex;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use url::Url;

/// Leeway for clock differences between Ferry and the provider.
const CLOCK_LEEWAY_S: i64 = 120;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error("could not fetch the provider's signing keys: {0}")]
    Keys(String),
    #[error("the id_token is not a valid signed token: {0}")]
    Invalid(String),
    #[error("the id_token is signed with an unknown key")]
    UnknownKey,
    #[error("the id_token was issued by {0:?}, not the expected provider")]
    Issuer(String),
    #[error("the id_token is for another application")]
    Audience,
    #[error("the id_token has expired")]
    Expired,
    #[error("the id_token does not carry this sign-in's nonce")]
    Nonce,
}

/// The claims Ferry uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// Microsoft: the tenant id.
    #[serde(default)]
    pub tid: Option<String>,
    /// Microsoft: the user's object id within the tenant.
    #[serde(default)]
    pub oid: Option<String>,
    /// Microsoft: the sign-in name (often the email).
    #[serde(default)]
    pub preferred_username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Jwk {
    kid: Option<String>,
    kty: String,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Debug, Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// An RSA public key as the JWKS gives it: modulus and exponent, base64url.
type RsaComponents = (String, String);

/// Public keys by key id, per JWKS URL.
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: Mutex<HashMap<String, HashMap<String, RsaComponents>>>,
}

impl KeyCache {
    async fn fetch(&self, http: &reqwest::Client, url: &Url) -> Result<(), IdTokenError> {
        let set: JwkSet = http
            .get(url.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| IdTokenError::Keys(e.to_string()))?
            .json()
            .await
            .map_err(|e| IdTokenError::Keys(e.to_string()))?;
        let keys = set
            .keys
            .into_iter()
            .filter(|k| k.kty == "RSA")
            .filter_map(|k| Some((k.kid?, (k.n?, k.e?))))
            .collect();
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url.to_string(), keys);
        Ok(())
    }

    fn get(&self, url: &Url, kid: &str) -> Option<RsaComponents> {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url.as_str())?
            .get(kid)
            .cloned()
    }

    async fn key(
        &self,
        http: &reqwest::Client,
        url: &Url,
        kid: &str,
    ) -> Result<DecodingKey, IdTokenError> {
        let components = match self.get(url, kid) {
            Some(found) => found,
            None => {
                self.fetch(http, url).await?;
                self.get(url, kid).ok_or(IdTokenError::UnknownKey)?
            }
        };
        DecodingKey::from_rsa_components(&components.0, &components.1)
            .map_err(|e| IdTokenError::Invalid(e.to_string()))
    }
}

/// What a valid id_token must say.
pub struct Expected<'a> {
    pub audience: &'a str,
    /// Accepted issuers; for Microsoft, computed from the token's own `tid`.
    pub issuer: &'a (dyn Fn(&IdClaims) -> bool + Send + Sync),
    pub nonce: &'a str,
    pub now: chrono::DateTime<chrono::Utc>,
}

pub async fn verify(
    keys: &KeyCache,
    http: &reqwest::Client,
    jwks_url: &Url,
    token: &str,
    expected: &Expected<'_>,
) -> Result<IdClaims, IdTokenError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| IdTokenError::Invalid(e.to_string()))?;
    if header.alg != Algorithm::RS256 {
        return Err(IdTokenError::Invalid(format!("algorithm {:?}", header.alg)));
    }
    let kid = header.kid.ok_or(IdTokenError::UnknownKey)?;
    let key = keys.key(http, jwks_url, &kid).await?;
    let mut validation = Validation::new(Algorithm::RS256);
    // Time and audience are checked below, against the injected clock.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<IdClaims>(token, &key, &validation)
        .map_err(|e| IdTokenError::Invalid(e.to_string()))?
        .claims;
    if !(expected.issuer)(&claims) {
        return Err(IdTokenError::Issuer(claims.iss));
    }
    if claims.aud != expected.audience {
        return Err(IdTokenError::Audience);
    }
    if claims.exp + CLOCK_LEEWAY_S < expected.now.timestamp() {
        return Err(IdTokenError::Expired);
    }
    if claims.nonce.as_deref() != Some(expected.nonce) {
        return Err(IdTokenError::Nonce);
    }
    Ok(claims)
}

//! id_token verification: RS256 signature against the provider's JWKS, then `iss`, `aud`
//! (a string or an array, with `azp`), `exp` and `nonce` checked by Ferry itself against
//! the injected clock.
//!
//! Signing keys are cached per JWKS URL for as long as the reply's `Cache-Control:
//! max-age` allows (an hour when it says nothing, a day at most). A key id the cache does
//! not know makes one refetch (keys rotate), but at most once a minute, so a stream of
//! forged tokens cannot turn Ferry into a client hammering the provider. Only RSA keys
//! meant for signatures (`use` absent or `sig`, `alg` absent or `RS256`) are kept.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use url::Url;

/// Leeway for clock differences between Ferry and the provider.
const CLOCK_LEEWAY_S: i64 = 120;
/// How long keys are kept when the JWKS reply does not say.
const DEFAULT_KEYS_TTL: Duration = Duration::hours(1);
/// The longest keys are kept, whatever the reply says: a provider that rotates keys
/// faster than it advertised is still picked up within a day.
const MAX_KEYS_TTL: Duration = Duration::days(1);
/// The soonest an unknown key id makes Ferry fetch the keys again.
const REFETCH_INTERVAL: Duration = Duration::minutes(1);

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

/// `aud`: one audience, or several (OpenID Connect Core §2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn as_slice(&self) -> &[String] {
        match self {
            Audience::One(one) => std::slice::from_ref(one),
            Audience::Many(many) => many,
        }
    }
}

/// The claims Ferry uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    /// The party the token was issued to; required when `aud` names several.
    #[serde(default)]
    pub azp: Option<String>,
    /// A NumericDate, which RFC 7519 allows to be fractional.
    pub exp: f64,
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
    #[serde(rename = "use", default)]
    usage: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl Jwk {
    /// An RSA key for RS256 signatures, as (kid, (n, e)); any other key is left out.
    fn into_rs256(self) -> Option<(String, RsaComponents)> {
        let for_signing = self.usage.as_deref().is_none_or(|u| u == "sig");
        let rs256 = self.alg.as_deref().is_none_or(|a| a == "RS256");
        (self.kty == "RSA" && for_signing && rs256).then_some((self.kid?, (self.n?, self.e?)))
    }
}

#[derive(Debug, Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// An RSA public key as the JWKS gives it: modulus and exponent, base64url.
type RsaComponents = (String, String);

#[derive(Debug)]
struct KeySet {
    keys: HashMap<String, RsaComponents>,
    fetched_at: DateTime<Utc>,
    fresh_until: DateTime<Utc>,
}

/// Public keys by key id, per JWKS URL.
#[derive(Debug, Default)]
pub struct KeyCache {
    sets: Mutex<HashMap<String, KeySet>>,
    /// Key sets fetched, for tests and diagnostics.
    fetches: std::sync::atomic::AtomicU64,
}

/// How long a JWKS reply may be cached, from its `Cache-Control` header.
pub fn keys_ttl(cache_control: Option<&str>) -> Duration {
    let Some(header) = cache_control else {
        return DEFAULT_KEYS_TTL;
    };
    let mut ttl = DEFAULT_KEYS_TTL;
    for directive in header.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Duration::zero();
        }
        if let Some(value) = lower.strip_prefix("max-age=") {
            if let Ok(seconds) = value.trim_matches('"').parse::<u32>() {
                ttl = Duration::seconds(i64::from(seconds));
            }
        }
    }
    ttl.min(MAX_KEYS_TTL)
}

enum Lookup {
    Found(RsaComponents),
    /// Not cached, or cached too long ago: fetch.
    Fetch,
    /// The fresh set lacks this key id and was fetched less than a minute ago.
    Unknown,
}

impl KeyCache {
    /// How many times a key set was fetched.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn sets(&self) -> std::sync::MutexGuard<'_, HashMap<String, KeySet>> {
        self.sets.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        url: &Url,
        now: DateTime<Utc>,
    ) -> Result<(), IdTokenError> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let response = http
            .get(url.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| IdTokenError::Keys(e.to_string()))?;
        let ttl = keys_ttl(
            response
                .headers()
                .get(reqwest::header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
        );
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| IdTokenError::Keys(e.to_string()))?;
        let keys = set.keys.into_iter().filter_map(Jwk::into_rs256).collect();
        self.sets().insert(
            url.to_string(),
            KeySet {
                keys,
                fetched_at: now,
                fresh_until: now + ttl,
            },
        );
        Ok(())
    }

    fn lookup(&self, url: &Url, kid: &str, now: DateTime<Utc>) -> Lookup {
        let sets = self.sets();
        let Some(set) = sets.get(url.as_str()) else {
            return Lookup::Fetch;
        };
        match set.keys.get(kid) {
            Some(found) if now < set.fresh_until => Lookup::Found(found.clone()),
            Some(_) => Lookup::Fetch,
            None if now >= set.fetched_at + REFETCH_INTERVAL => Lookup::Fetch,
            None => Lookup::Unknown,
        }
    }

    async fn key(
        &self,
        http: &reqwest::Client,
        url: &Url,
        kid: &str,
        now: DateTime<Utc>,
    ) -> Result<DecodingKey, IdTokenError> {
        let components = match self.lookup(url, kid, now) {
            Lookup::Found(found) => found,
            Lookup::Unknown => return Err(IdTokenError::UnknownKey),
            Lookup::Fetch => {
                self.fetch(http, url, now).await?;
                match self.lookup(url, kid, now) {
                    Lookup::Found(found) => found,
                    Lookup::Fetch | Lookup::Unknown => return Err(IdTokenError::UnknownKey),
                }
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
    let key = keys.key(http, jwks_url, &kid, expected.now).await?;
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
    check_claims(&claims, expected)?;
    Ok(claims)
}

/// The checks on a signature-verified token's claims, apart from the issuer. Pure.
pub fn check_claims(claims: &IdClaims, expected: &Expected<'_>) -> Result<(), IdTokenError> {
    let audiences = claims.aud.as_slice();
    if !audiences.iter().any(|a| a == expected.audience) {
        return Err(IdTokenError::Audience);
    }
    // OpenID Connect Core §3.1.3.7: with several audiences, `azp` must name Ferry.
    let azp_ok = match claims.azp.as_deref() {
        Some(azp) => azp == expected.audience,
        None => audiences.len() == 1,
    };
    if !azp_ok {
        return Err(IdTokenError::Audience);
    }
    if claims.exp + (CLOCK_LEEWAY_S as f64) < expected.now.timestamp() as f64 {
        return Err(IdTokenError::Expired);
    }
    if claims.nonce.as_deref() != Some(expected.nonce) {
        return Err(IdTokenError::Nonce);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(aud: Audience, azp: Option<&str>) -> IdClaims {
        IdClaims {
            iss: "https://accounts.google.com".into(),
            sub: "1".into(),
            aud,
            azp: azp.map(str::to_owned),
            exp: 2_000_000_000.0,
            nonce: Some("n".into()),
            email: None,
            name: None,
            tid: None,
            oid: None,
            preferred_username: None,
        }
    }

    fn check(claims: &IdClaims) -> Result<(), IdTokenError> {
        let issuer = |_: &IdClaims| true;
        check_claims(
            claims,
            &Expected {
                audience: "ferry",
                issuer: &issuer,
                nonce: "n",
                now: DateTime::from_timestamp(1_900_000_000, 0).unwrap_or_default(),
            },
        )
    }

    #[test]
    fn an_audience_may_be_a_string_or_an_array_with_azp() {
        assert_eq!(check(&claims(Audience::One("ferry".into()), None)), Ok(()));
        let many = || Audience::Many(vec!["other".into(), "ferry".into()]);
        assert_eq!(check(&claims(many(), Some("ferry"))), Ok(()));
        assert_eq!(
            check(&claims(many(), None)),
            Err(IdTokenError::Audience),
            "several audiences need azp"
        );
        assert_eq!(
            check(&claims(many(), Some("other"))),
            Err(IdTokenError::Audience),
            "issued to another party"
        );
        assert_eq!(
            check(&claims(Audience::Many(vec!["other".into()]), None)),
            Err(IdTokenError::Audience)
        );
        let parsed: IdClaims = serde_json::from_str(
            r#"{"iss":"i","sub":"s","aud":["a","ferry"],"azp":"ferry","exp":1.9e9}"#,
        )
        .expect("an array and a fractional exp parse");
        assert_eq!(parsed.aud.as_slice(), ["a", "ferry"]);
    }

    #[test]
    fn keys_are_cached_as_long_as_cache_control_says_within_limits() {
        assert_eq!(keys_ttl(None), DEFAULT_KEYS_TTL);
        assert_eq!(
            keys_ttl(Some("public, max-age=20000, must-revalidate, no-transform")),
            Duration::seconds(20_000)
        );
        assert_eq!(keys_ttl(Some("max-age=99999999")), MAX_KEYS_TTL);
        assert_eq!(keys_ttl(Some("no-store")), Duration::zero());
        assert_eq!(keys_ttl(Some("private, No-Cache")), Duration::zero());
        assert_eq!(keys_ttl(Some("max-age=soon")), DEFAULT_KEYS_TTL);
    }

    #[test]
    fn only_rsa_signing_keys_for_rs256_are_kept() {
        let set: JwkSet = serde_json::from_str(
            r#"{"keys":[
                {"kid":"a","kty":"RSA","n":"n","e":"e"},
                {"kid":"b","kty":"RSA","use":"sig","alg":"RS256","n":"n","e":"e"},
                {"kid":"c","kty":"RSA","use":"enc","n":"n","e":"e"},
                {"kid":"d","kty":"RSA","alg":"RS512","n":"n","e":"e"},
                {"kid":"e","kty":"EC","crv":"P-256","x":"x","y":"y"},
                {"kty":"RSA","n":"n","e":"e"}
            ]}"#,
        )
        .expect("jwks");
        let kept: Vec<String> = set
            .keys
            .into_iter()
            .filter_map(Jwk::into_rs256)
            .map(|(kid, _)| kid)
            .collect();
        assert_eq!(kept, ["a", "b"]);
    }
}

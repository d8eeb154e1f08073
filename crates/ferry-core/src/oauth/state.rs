//! The OAuth `state` parameter: the sign-in's id, a nonce, the provider and the chosen
//! services, issued-at, and an HMAC-SHA256 over them with a key derived from the vault
//! key. A callback is accepted only if its state verifies, is under 15 minutes old, and
//! names a sign-in that is still pending (the registry makes it single-use).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::providers::Provider;
use crate::services::ServiceChoice;

/// How long a sign-in may take, browser included.
pub const STATE_TTL: chrono::Duration = chrono::Duration::minutes(15);

/// Tolerated clock difference for a state that claims to come from the future.
const FUTURE_SKEW: chrono::Duration = chrono::Duration::minutes(1);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateClaims {
    /// The pending sign-in this state belongs to.
    pub flow: String,
    pub nonce: String,
    pub provider: Provider,
    pub services: ServiceChoice,
    /// Issued at, unix seconds.
    pub iat: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the sign-in response is malformed")]
    Malformed,
    #[error("the sign-in response was not started by this Ferry")]
    Forged,
    #[error("the sign-in took longer than 15 minutes")]
    Expired,
}

pub struct StateSigner {
    key: SecretBox<[u8; 32]>,
}

impl Clone for StateSigner {
    fn clone(&self) -> Self {
        Self {
            key: SecretBox::new(Box::new(*self.key.expose_secret())),
        }
    }
}

impl StateSigner {
    pub fn new(key: SecretBox<[u8; 32]>) -> Self {
        Self { key }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; a 32-byte key cannot be rejected.
        <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }

    pub fn sign(&self, claims: &StateClaims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    pub fn verify(
        &self,
        state: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<StateClaims, StateError> {
        let (payload, tag) = state.split_once('.').ok_or(StateError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| StateError::Malformed)?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&tag).map_err(|_| StateError::Forged)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| StateError::Malformed)?;
        let claims: StateClaims =
            serde_json::from_slice(&bytes).map_err(|_| StateError::Malformed)?;
        let issued =
            chrono::DateTime::from_timestamp(claims.iat, 0).ok_or(StateError::Malformed)?;
        if now - issued > STATE_TTL || issued - now > FUTURE_SKEW {
            return Err(StateError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::RootKey;

    fn claims(iat: i64) -> StateClaims {
        StateClaims {
            flow: "flow-1".into(),
            nonce: "n".into(),
            provider: Provider::Microsoft,
            services: ServiceChoice {
                mail: true,
                ..Default::default()
            },
            iat,
        }
    }

    fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(secs, 0).expect("time")
    }

    #[test]
    fn a_state_verifies_once_signed_and_for_fifteen_minutes() {
        let signer = StateSigner::new(RootKey::generate().state_key());
        let state = signer.sign(&claims(1_800_000_000));
        assert_eq!(
            signer.verify(&state, at(1_800_000_000 + 60)),
            Ok(claims(1_800_000_000))
        );
        assert_eq!(
            signer.verify(&state, at(1_800_000_000 + 15 * 60)),
            Ok(claims(1_800_000_000))
        );
        assert_eq!(
            signer.verify(&state, at(1_800_000_000 + 15 * 60 + 1)),
            Err(StateError::Expired)
        );
        assert_eq!(
            signer.verify(&state, at(1_800_000_000 - 120)),
            Err(StateError::Expired),
            "from the future"
        );
    }

    #[test]
    fn tampered_foreign_and_garbage_states_are_refused() {
        let root = RootKey::generate();
        let signer = StateSigner::new(root.state_key());
        let state = signer.sign(&claims(1_800_000_000));
        let now = at(1_800_000_000);

        let other = StateSigner::new(RootKey::generate().state_key());
        assert_eq!(
            other.verify(&state, now),
            Err(StateError::Forged),
            "another Ferry's state"
        );

        let (payload, tag) = state.split_once('.').expect("two parts");
        let mut forged_claims = claims(1_800_000_000);
        forged_claims.provider = Provider::Google;
        let forged_payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged_claims).expect("json"));
        assert_eq!(
            signer.verify(&format!("{forged_payload}.{tag}"), now),
            Err(StateError::Forged),
            "provider swapped"
        );
        assert_eq!(
            signer.verify(&format!("{payload}.AAAA"), now),
            Err(StateError::Forged)
        );
        for garbage in ["", "no-dot", "a.b.c", "!!.??"] {
            assert!(signer.verify(garbage, now).is_err(), "{garbage:?}");
        }
    }
}

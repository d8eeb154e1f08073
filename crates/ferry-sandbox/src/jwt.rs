//! RS256 signing of id_tokens, and the JWKS that lets a client verify them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub struct Signer {
    kid: String,
    key: EncodingKey,
    jwk: Value,
}

impl Signer {
    /// Panics only if a key compiled into the sandbox is broken, which a test catches.
    fn from_pem(pem: &str) -> Self {
        let private = RsaPrivateKey::from_pkcs8_pem(pem).expect("sandbox key is valid PKCS#8");
        let n = private.n().to_bytes_be();
        let e = private.e().to_bytes_be();
        let kid = crate::secrets::hex(&Sha256::digest(&n)[..10]);
        let jwk = json!({
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": kid,
            "n": URL_SAFE_NO_PAD.encode(n),
            "e": URL_SAFE_NO_PAD.encode(e),
        });
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("sandbox key is valid PEM");
        Self { kid, key, jwk }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).expect("RS256 signing cannot fail")
    }

    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }
}

pub struct Signers {
    pub google: Signer,
    pub microsoft: Signer,
}

impl Signers {
    pub fn load() -> Self {
        Self {
            google: Signer::from_pem(include_str!("../keys/google-rs256.pem")),
            microsoft: Signer::from_pem(include_str!("../keys/microsoft-rs256.pem")),
        }
    }
}

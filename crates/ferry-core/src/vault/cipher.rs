//! Token encryption. One random 256-bit root key lives in the OS keychain; each account's
//! tokens are sealed with AES-256-GCM under a key derived from it (HKDF-SHA256, the
//! account id as `info`), with the account id as associated data, so a sealed blob moved
//! to another account's row does not open.
//!
//! Sealed format: `0x01 || 96-bit random nonce || ciphertext || 128-bit tag`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hkdf::Hkdf;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;
/// Domain separation: the same root key derives unrelated keys for unrelated uses.
const TOKEN_KEY_SALT: &[u8] = b"ferry/v1/account-token-key";
const STATE_KEY_INFO: &[u8] = b"ferry/v1/oauth-state-hmac";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("the stored vault key is not a 256-bit key")]
    BadRootKey,
    #[error("sealed data is damaged, or belongs to another account")]
    Tampered,
}

/// The root key. Never serialised except to the keychain, never logged.
pub struct RootKey(SecretBox<[u8; 32]>);

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RootKey([REDACTED])")
    }
}

impl RootKey {
    pub fn generate() -> Self {
        let mut bytes = Box::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self(SecretBox::new(bytes))
    }

    /// The keychain form: standard base64.
    pub fn to_keychain(&self) -> SecretString {
        SecretString::from(STANDARD.encode(self.0.expose_secret()))
    }

    pub fn from_keychain(stored: &SecretString) -> Result<Self, CipherError> {
        let bytes = STANDARD
            .decode(stored.expose_secret().trim())
            .map_err(|_| CipherError::BadRootKey)?;
        let array: [u8; 32] = bytes.try_into().map_err(|_| CipherError::BadRootKey)?;
        Ok(Self(SecretBox::new(Box::new(array))))
    }

    fn derive(&self, salt: &[u8], info: &[u8]) -> SecretBox<[u8; 32]> {
        let hk = Hkdf::<Sha256>::new(Some(salt), self.0.expose_secret());
        let mut out = Box::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        let _ = hk.expand(info, out.as_mut());
        SecretBox::new(out)
    }

    /// The key that seals one account's tokens (HKDF-SHA256 of the root key, salted for
    /// tokens, with the account id as info). Every seal and open derives it afresh.
    pub fn account_key(&self, account_id: &str) -> SecretBox<[u8; 32]> {
        self.derive(TOKEN_KEY_SALT, account_id.as_bytes())
    }

    fn account_cipher(&self, account_id: &str) -> Aes256Gcm {
        let key = self.account_key(account_id);
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.expose_secret()))
    }

    /// The key that signs OAuth `state` values.
    pub fn state_key(&self) -> SecretBox<[u8; 32]> {
        self.derive(b"ferry/v1", STATE_KEY_INFO)
    }

    pub fn seal(&self, account_id: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad: account_id.as_bytes(),
        };
        let ciphertext = self
            .account_cipher(account_id)
            .encrypt(Nonce::from_slice(&nonce), payload)
            .unwrap_or_else(|_| unreachable!("AES-GCM encryption of an in-memory buffer"));
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, account_id: &str, sealed: &[u8]) -> Result<SecretBox<Vec<u8>>, CipherError> {
        let (version, rest) = sealed.split_first().ok_or(CipherError::Tampered)?;
        if *version != FORMAT_V1 || rest.len() < NONCE_LEN + 16 {
            return Err(CipherError::Tampered);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: account_id.as_bytes(),
        };
        self.account_cipher(account_id)
            .decrypt(Nonce::from_slice(nonce), payload)
            .map(|plain| SecretBox::new(Box::new(plain)))
            .map_err(|_| CipherError::Tampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_for_their_account_and_key() {
        let root = RootKey::generate();
        let sealed = root.seal("acct-1", b"refresh-token-value");
        assert!(
            !sealed.windows(5).any(|w| w == b"refre"),
            "no plaintext in the sealed bytes"
        );
        let opened = root.open("acct-1", &sealed).expect("opens");
        assert_eq!(opened.expose_secret().as_slice(), b"refresh-token-value");

        assert_eq!(
            root.open("acct-2", &sealed).err(),
            Some(CipherError::Tampered),
            "bound to the account"
        );
        assert_eq!(
            RootKey::generate().open("acct-1", &sealed).err(),
            Some(CipherError::Tampered),
            "bound to the key"
        );
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(
            root.open("acct-1", &flipped).err(),
            Some(CipherError::Tampered),
            "tag checked"
        );
        assert_eq!(
            root.open("acct-1", &sealed[..10]).err(),
            Some(CipherError::Tampered),
            "truncated"
        );
        assert_ne!(
            root.seal("acct-1", b"same"),
            root.seal("acct-1", b"same"),
            "a fresh nonce each time"
        );
    }

    #[test]
    fn the_root_key_round_trips_through_its_keychain_form() {
        let root = RootKey::generate();
        let again = RootKey::from_keychain(&root.to_keychain()).expect("parses");
        let sealed = root.seal("a", b"x");
        assert!(again.open("a", &sealed).is_ok());
        assert_eq!(
            RootKey::from_keychain(&SecretString::from("c2hvcnQ=")).err(),
            Some(CipherError::BadRootKey)
        );
        assert_eq!(format!("{root:?}"), "RootKey([REDACTED])");
    }
}

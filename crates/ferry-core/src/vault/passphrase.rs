//! The passphrase vault, for machines without a keychain (Linux with no Secret Service).
//! The root key is wrapped with AES-256-GCM under a key derived from the user's
//! passphrase with Argon2id, and kept in `vault.json` in the data folder. Nothing in the
//! file is usable without the passphrase; the passphrase itself is never stored.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::{Deserialize, Serialize};

use super::cipher::RootKey;

/// The file in the data folder.
pub const PASSPHRASE_FILE: &str = "vault.json";
/// Shorter passphrases are refused: the file may be copied and attacked offline.
pub const MIN_PASSPHRASE_CHARS: usize = 10;
const AAD: &[u8] = b"ferry/v1/vault-key";

/// Argon2id cost. The defaults follow RFC 9106's second recommendation (64 MiB, t=3, p=4)
/// with one lane, since unlocking runs on one core: about 125 ms on the 2-core build
/// machine, once per start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        Self {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct VaultFile {
    version: u8,
    kdf: String,
    params: KdfParams,
    salt: String,
    nonce: String,
    wrapped: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassphraseError {
    #[error("that passphrase is not right")]
    Wrong,
    #[error("choose a passphrase of at least {MIN_PASSPHRASE_CHARS} characters")]
    TooShort,
    #[error("the passphrase vault file is damaged: {0}")]
    Damaged(String),
    #[error("could not write the passphrase vault file: {0}")]
    Io(String),
}

fn kek(
    passphrase: &SecretString,
    salt: &[u8],
    params: KdfParams,
) -> Result<SecretBox<[u8; 32]>, PassphraseError> {
    let params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|e| PassphraseError::Damaged(e.to_string()))?;
    let mut out = Box::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.expose_secret().as_bytes(), salt, out.as_mut())
        .map_err(|e| PassphraseError::Damaged(e.to_string()))?;
    Ok(SecretBox::new(out))
}

fn cipher(key: &SecretBox<[u8; 32]>) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.expose_secret()))
}

/// Creates a new root key protected by `passphrase` and writes the file (atomically,
/// readable by this user only). Blocking: run it off the async workers.
pub fn create(
    path: &Path,
    passphrase: &SecretString,
    params: KdfParams,
) -> Result<RootKey, PassphraseError> {
    if passphrase.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(PassphraseError::TooShort);
    }
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let root = RootKey::generate();
    let key = kek(passphrase, &salt, params)?;
    let plain = root.to_keychain();
    let wrapped = cipher(&key)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plain.expose_secret().as_bytes(),
                aad: AAD,
            },
        )
        .map_err(|_| PassphraseError::Io("encryption failed".into()))?;
    let file = VaultFile {
        version: 1,
        kdf: "argon2id".into(),
        params,
        salt: STANDARD.encode(salt),
        nonce: STANDARD.encode(nonce),
        wrapped: STANDARD.encode(wrapped),
    };
    let json = serde_json::to_vec_pretty(&file).map_err(|e| PassphraseError::Io(e.to_string()))?;
    let partial = path.with_extension("json.partial");
    write_private(&partial, &json).map_err(|e| PassphraseError::Io(e.to_string()))?;
    std::fs::rename(&partial, path).map_err(|e| PassphraseError::Io(e.to_string()))?;
    Ok(root)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Opens the root key with `passphrase`. Blocking: run it off the async workers.
pub fn unlock(path: &Path, passphrase: &SecretString) -> Result<RootKey, PassphraseError> {
    let bytes = std::fs::read(path).map_err(|e| PassphraseError::Damaged(e.to_string()))?;
    let file: VaultFile =
        serde_json::from_slice(&bytes).map_err(|e| PassphraseError::Damaged(e.to_string()))?;
    if file.version != 1 || file.kdf != "argon2id" {
        return Err(PassphraseError::Damaged("unknown format".into()));
    }
    let decode = |text: &str| {
        STANDARD
            .decode(text)
            .map_err(|e| PassphraseError::Damaged(e.to_string()))
    };
    let (salt, nonce, wrapped) = (
        decode(&file.salt)?,
        decode(&file.nonce)?,
        decode(&file.wrapped)?,
    );
    if nonce.len() != 12 {
        return Err(PassphraseError::Damaged("bad nonce".into()));
    }
    let key = kek(passphrase, &salt, file.params)?;
    let plain = cipher(&key)
        .decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &wrapped,
                aad: AAD,
            },
        )
        .map_err(|_| PassphraseError::Wrong)?;
    let text = SecretString::from(
        String::from_utf8(plain).map_err(|_| PassphraseError::Damaged("not text".into()))?,
    );
    RootKey::from_keychain(&text).map_err(|e| PassphraseError::Damaged(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfParams = KdfParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn the_key_opens_with_the_passphrase_only() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(PASSPHRASE_FILE);
        let pass = SecretString::from("correct horse battery");
        let root = create(&path, &pass, CHEAP).expect("create");
        let sealed = root.seal("acct", b"token");

        let again = unlock(&path, &pass).expect("unlock");
        assert_eq!(
            again.open("acct", &sealed).expect("open").expose_secret(),
            b"token"
        );
        assert_eq!(
            unlock(&path, &SecretString::from("wrong horse battery")).err(),
            Some(PassphraseError::Wrong)
        );
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            !text.contains("correct horse"),
            "the passphrase is not stored"
        );
        assert!(
            !text.contains(root.to_keychain().expose_secret()),
            "nor the key"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn short_passphrases_and_damaged_files_are_clear_errors() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(PASSPHRASE_FILE);
        assert_eq!(
            create(&path, &SecretString::from("short"), CHEAP).err(),
            Some(PassphraseError::TooShort)
        );
        std::fs::write(&path, b"{not json").expect("write");
        assert!(matches!(
            unlock(&path, &SecretString::from("whatever long")),
            Err(PassphraseError::Damaged(_))
        ));
    }
}

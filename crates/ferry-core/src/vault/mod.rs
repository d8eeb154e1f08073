//! Secrets. The OS keychain is the root of trust: it holds one Ferry vault key, read (or
//! created) once per start. Tokens are sealed under keys derived from it (`cipher`) and
//! stored in SQLite, so a token rotation commits atomically with its account row, macOS
//! asks for keychain access once rather than per account, and Windows' 2,560-byte
//! credential limit never applies.
//!
//! Every keychain call blocks (D-Bus on Linux, Security.framework on macOS, Credential
//! Manager on Windows), so each runs on the blocking pool, never on an async worker.

mod cipher;
mod keychain;
pub mod passphrase;

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;
use serde::Serialize;
use tokio::sync::OnceCell;

pub use cipher::{CipherError, RootKey};
pub use keychain::{KeyStore, Keychain, KeychainError, MemoryKeyStore, OsKeyStore};
pub use passphrase::{KdfParams, PassphraseError, PASSPHRASE_FILE};

use crate::error::{capitalise, AppError, ErrorCode};

/// The keychain entry holding the vault key, inside the profile's namespace.
pub const ROOT_ENTRY: &str = "vault-key";

/// The system keychain this build uses, in the words its platform uses.
pub const KEYCHAIN_NAME: &str = if cfg!(target_os = "macos") {
    "macOS Keychain"
} else if cfg!(windows) {
    "Windows Credential Manager"
} else {
    "Secret Service"
};

#[derive(Debug, Clone, thiserror::Error)]
pub enum VaultError {
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    #[error(
        "the vault key in the system keychain is damaged, so Ferry cannot read its saved \
         sign-ins; it has been left as it is"
    )]
    DamagedKey,
    #[error(transparent)]
    Cipher(#[from] CipherError),
    #[error("Ferry is locked: enter your passphrase to unlock it")]
    Locked,
    #[error(transparent)]
    Passphrase(#[from] PassphraseError),
    #[error(
        "the system keychain is working, so Ferry keeps its key there; a passphrase is only \
         for computers without one"
    )]
    KeychainWorks,
    #[error("Ferry already has a passphrase")]
    PassphraseExists,
}

impl From<VaultError> for AppError {
    fn from(err: VaultError) -> Self {
        match err {
            VaultError::Keychain(inner) => inner.into(),
            VaultError::DamagedKey => {
                AppError::new(ErrorCode::KeychainUnavailable, err.to_string())
            }
            VaultError::Cipher(_) => AppError::new(ErrorCode::Internal, err.to_string()),
            VaultError::Locked | VaultError::Passphrase(PassphraseError::Wrong) => {
                AppError::new(ErrorCode::VaultLocked, capitalised(&err))
            }
            VaultError::Passphrase(PassphraseError::TooShort)
            | VaultError::KeychainWorks
            | VaultError::PassphraseExists => {
                AppError::new(ErrorCode::Validation, capitalised(&err))
            }
            VaultError::Passphrase(_) => AppError::new(ErrorCode::Storage, capitalised(&err)),
        }
    }
}

fn capitalised(err: &VaultError) -> String {
    capitalise(&format!("{err}."))
}

/// Where the vault key is kept, and whether Ferry holds it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct VaultStatus {
    /// True when a passphrase protects the key (no system keychain).
    pub passphrase: bool,
    /// False until the key has been read (keychain) or unlocked (passphrase).
    pub unlocked: bool,
}

/// The vault: the keychain (or a passphrase file) plus the root key, cached after the
/// first access.
#[derive(Debug)]
pub struct Vault {
    keychain: Keychain,
    passphrase_file: PathBuf,
    kdf: KdfParams,
    root: OnceCell<Arc<RootKey>>,
}

impl Vault {
    /// `passphrase_file` is where a passphrase-protected key lives if the user chose one.
    pub fn new(keychain: Keychain, passphrase_file: PathBuf) -> Self {
        Self {
            keychain,
            passphrase_file,
            kdf: KdfParams::default(),
            root: OnceCell::new(),
        }
    }

    /// Cheaper Argon2 settings, for tests of what surrounds it.
    pub fn with_kdf(mut self, kdf: KdfParams) -> Self {
        self.kdf = kdf;
        self
    }

    pub fn status(&self) -> VaultStatus {
        VaultStatus {
            passphrase: self.passphrase_file.exists(),
            unlocked: self.root.initialized(),
        }
    }

    /// Unlocks a passphrase vault.
    pub async fn unlock(&self, passphrase: SecretString) -> Result<(), VaultError> {
        if self.root.initialized() {
            return Ok(());
        }
        let path = self.passphrase_file.clone();
        let root = tokio::task::spawn_blocking(move || passphrase::unlock(&path, &passphrase))
            .await
            .map_err(|e| KeychainError::Interrupted(e.to_string()))??;
        let _ = self.root.set(Arc::new(root));
        tracing::info!("vault unlocked with the passphrase");
        Ok(())
    }

    /// Protects a new vault key with a passphrase. Only where the keychain cannot be used.
    pub async fn create_with_passphrase(&self, passphrase: SecretString) -> Result<(), VaultError> {
        if self.passphrase_file.exists() {
            return Err(VaultError::PassphraseExists);
        }
        match self.keychain.get(ROOT_ENTRY).await {
            Ok(_) => return Err(VaultError::KeychainWorks),
            Err(KeychainError::Unavailable(_)) => {}
            Err(other) => return Err(other.into()),
        }
        let path = self.passphrase_file.clone();
        let kdf = self.kdf;
        let root = tokio::task::spawn_blocking(move || passphrase::create(&path, &passphrase, kdf))
            .await
            .map_err(|e| KeychainError::Interrupted(e.to_string()))??;
        let _ = self.root.set(Arc::new(root));
        tracing::info!("created a passphrase-protected vault key");
        Ok(())
    }

    pub fn keychain(&self) -> &Keychain {
        &self.keychain
    }

    /// The root key: read from the keychain on first use (created there if absent), then
    /// kept in memory. A failed attempt is not cached, so a keychain unlocked later works.
    pub async fn root(&self) -> Result<Arc<RootKey>, VaultError> {
        if let Some(root) = self.root.get() {
            return Ok(Arc::clone(root));
        }
        if self.passphrase_file.exists() {
            return Err(VaultError::Locked);
        }
        self.root
            .get_or_try_init(|| async {
                match self.keychain.get(ROOT_ENTRY).await? {
                    Some(stored) => RootKey::from_keychain(&stored)
                        .map(Arc::new)
                        .map_err(|_| VaultError::DamagedKey),
                    None => {
                        let key = RootKey::generate();
                        self.keychain.set(ROOT_ENTRY, key.to_keychain()).await?;
                        tracing::info!("created the vault key in the system keychain");
                        Ok(Arc::new(key))
                    }
                }
            })
            .await
            .cloned()
    }
}

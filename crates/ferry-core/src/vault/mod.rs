//! Secrets. The OS keychain is the root of trust: it holds one Ferry vault key, read (or
//! created) once per start. Tokens are sealed under keys derived from it ([`cipher`]) and
//! stored in SQLite, so a token rotation commits atomically with its account row, macOS
//! asks for keychain access once rather than per account, and Windows' 2,560-byte
//! credential limit never applies.
//!
//! Every keychain call blocks (D-Bus on Linux, Security.framework on macOS, Credential
//! Manager on Windows), so each runs on the blocking pool, never on an async worker.

mod cipher;
mod keychain;

use std::sync::Arc;

use tokio::sync::OnceCell;

pub use cipher::{CipherError, RootKey};
pub use keychain::{KeyStore, Keychain, KeychainError, MemoryKeyStore, OsKeyStore};

use crate::error::{AppError, ErrorCode};

/// The keychain entry holding the vault key, inside the profile's namespace.
pub const ROOT_ENTRY: &str = "vault-key";

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
}

impl From<VaultError> for AppError {
    fn from(err: VaultError) -> Self {
        match err {
            VaultError::Keychain(inner) => inner.into(),
            VaultError::DamagedKey => {
                AppError::new(ErrorCode::KeychainUnavailable, err.to_string())
            }
            VaultError::Cipher(_) => AppError::new(ErrorCode::Internal, err.to_string()),
        }
    }
}

/// The vault: the keychain plus the root key, cached after the first access.
#[derive(Debug)]
pub struct Vault {
    keychain: Keychain,
    root: OnceCell<Arc<RootKey>>,
}

impl Vault {
    pub fn new(keychain: Keychain) -> Self {
        Self {
            keychain,
            root: OnceCell::new(),
        }
    }

    pub fn keychain(&self) -> &Keychain {
        &self.keychain
    }

    /// The root key: read from the keychain on first use (created there if absent), then
    /// kept in memory. A failed attempt is not cached, so a keychain unlocked later works.
    pub async fn root(&self) -> Result<Arc<RootKey>, VaultError> {
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

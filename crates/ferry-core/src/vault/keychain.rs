//! The OS keychain behind one narrow interface.
//!
//! Entries are namespaced by the app identifier (see [`crate::profile`]), so a test run
//! never sees a real install's secrets. A missing entry is `Ok(None)`; a keychain that
//! cannot be reached is [`KeychainError::Unavailable`], never a panic.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use secrecy::{ExposeSecret, SecretString};

use crate::error::{AppError, ErrorCode};

#[derive(Debug, Clone, thiserror::Error)]
pub enum KeychainError {
    /// No keychain service answered, or it refused access (locked, no Secret Service).
    #[error("the system keychain is not available: {0}")]
    Unavailable(String),
    /// The keychain answered but rejected this entry.
    #[error("the system keychain rejected the request: {0}")]
    Rejected(String),
    /// The blocking task was cancelled or panicked.
    #[error("the keychain call did not complete: {0}")]
    Interrupted(String),
}

impl From<KeychainError> for AppError {
    fn from(err: KeychainError) -> Self {
        let code = match err {
            KeychainError::Unavailable(_) => ErrorCode::KeychainUnavailable,
            KeychainError::Rejected(_) | KeychainError::Interrupted(_) => ErrorCode::Internal,
        };
        AppError::new(code, err.to_string())
    }
}

/// A blocking secret store. [`OsKeyStore`] is the real one; [`MemoryKeyStore`] serves unit
/// tests that are not about the keychain itself.
pub trait KeyStore: Send + Sync + fmt::Debug + 'static {
    fn get(&self, service: &str, name: &str) -> Result<Option<SecretString>, KeychainError>;
    fn set(&self, service: &str, name: &str, value: &SecretString) -> Result<(), KeychainError>;
    /// Returns whether an entry was there to delete.
    fn delete(&self, service: &str, name: &str) -> Result<bool, KeychainError>;
}

/// The platform keychain through the `keyring` crate: Keychain Services on macOS, the
/// Credential Manager on Windows, the Secret Service on Linux.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeyStore;

impl OsKeyStore {
    fn entry(service: &str, name: &str) -> Result<keyring::Entry, KeychainError> {
        keyring::Entry::new(service, name).map_err(map_keyring_error)
    }
}

impl KeyStore for OsKeyStore {
    fn get(&self, service: &str, name: &str) -> Result<Option<SecretString>, KeychainError> {
        match Self::entry(service, name)?.get_password() {
            Ok(value) => Ok(Some(SecretString::from(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(map_keyring_error(err)),
        }
    }

    fn set(&self, service: &str, name: &str, value: &SecretString) -> Result<(), KeychainError> {
        Self::entry(service, name)?
            .set_password(value.expose_secret())
            .map_err(map_keyring_error)
    }

    fn delete(&self, service: &str, name: &str) -> Result<bool, KeychainError> {
        match Self::entry(service, name)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(err) => Err(map_keyring_error(err)),
        }
    }
}

/// Sorts keyring's errors into "the keychain is not there" and "it said no to this".
/// Only the error's kind is kept: keyring's messages never include the secret, but its
/// `BadEncoding` variant carries the raw bytes, which must not reach a log.
fn map_keyring_error(err: keyring::Error) -> KeychainError {
    match err {
        keyring::Error::PlatformFailure(inner) => KeychainError::Unavailable(inner.to_string()),
        keyring::Error::NoStorageAccess(inner) => KeychainError::Unavailable(inner.to_string()),
        keyring::Error::BadEncoding(_) => {
            KeychainError::Rejected("the stored value is not valid text".into())
        }
        keyring::Error::TooLong(attribute, limit) => {
            KeychainError::Rejected(format!("{attribute} is longer than {limit}"))
        }
        keyring::Error::Invalid(attribute, reason) => {
            KeychainError::Rejected(format!("invalid {attribute}: {reason}"))
        }
        keyring::Error::Ambiguous(_) => {
            KeychainError::Rejected("more than one matching entry".into())
        }
        keyring::Error::NoEntry => KeychainError::Rejected("no such entry".into()),
        other => KeychainError::Rejected(other.to_string()),
    }
}

/// An in-process store for tests that need a keychain but are not testing it.
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    entries: Mutex<HashMap<(String, String), SecretString>>,
}

impl MemoryKeyStore {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), SecretString>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl KeyStore for MemoryKeyStore {
    fn get(&self, service: &str, name: &str) -> Result<Option<SecretString>, KeychainError> {
        Ok(self
            .entries()
            .get(&(service.to_owned(), name.to_owned()))
            .cloned())
    }

    fn set(&self, service: &str, name: &str, value: &SecretString) -> Result<(), KeychainError> {
        self.entries()
            .insert((service.to_owned(), name.to_owned()), value.clone());
        Ok(())
    }

    fn delete(&self, service: &str, name: &str) -> Result<bool, KeychainError> {
        Ok(self
            .entries()
            .remove(&(service.to_owned(), name.to_owned()))
            .is_some())
    }
}

/// Async access to one namespace of a [`KeyStore`]; cheap to clone.
#[derive(Debug, Clone)]
pub struct Keychain {
    store: Arc<dyn KeyStore>,
    service: Arc<str>,
}

impl Keychain {
    /// `namespace` is the app identifier; every entry is stored under it.
    pub fn new(store: Arc<dyn KeyStore>, namespace: &str) -> Self {
        Self {
            store,
            service: Arc::from(namespace),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.service
    }

    #[tracing::instrument(skip(self), fields(service = %self.service), err)]
    pub async fn get(&self, name: &str) -> Result<Option<SecretString>, KeychainError> {
        let name = name.to_owned();
        self.blocking(move |store, service| store.get(service, &name))
            .await
    }

    #[tracing::instrument(skip(self, value), fields(service = %self.service), err)]
    pub async fn set(&self, name: &str, value: SecretString) -> Result<(), KeychainError> {
        let name = name.to_owned();
        self.blocking(move |store, service| store.set(service, &name, &value))
            .await
    }

    #[tracing::instrument(skip(self), fields(service = %self.service), err)]
    pub async fn delete(&self, name: &str) -> Result<bool, KeychainError> {
        let name = name.to_owned();
        self.blocking(move |store, service| store.delete(service, &name))
            .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn KeyStore, &str) -> Result<T, KeychainError> + Send + 'static,
    ) -> Result<T, KeychainError> {
        let store = Arc::clone(&self.store);
        let service = Arc::clone(&self.service);
        tokio::task::spawn_blocking(move || call(store.as_ref(), &service))
            .await
            .map_err(|err| KeychainError::Interrupted(err.to_string()))?
    }
}

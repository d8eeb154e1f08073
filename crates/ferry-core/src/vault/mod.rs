//! Secrets. The OS keychain is the root of trust; this module is the only code that talks
//! to it.
//!
//! Every keychain call blocks (D-Bus on Linux, Security.framework on macOS, Credential
//! Manager on Windows), so each runs on the blocking pool, never on an async worker.

mod keychain;

pub use keychain::{KeyStore, Keychain, KeychainError, MemoryKeyStore, OsKeyStore};

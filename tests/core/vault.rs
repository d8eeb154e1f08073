//! The keychain, against the test session's real Secret Service (gnome-keyring).
//!
//! These tests are `#[ignore]`d in a plain `cargo test`, which has no private keychain;
//! the test session (`make test`) runs them with `--include-ignored`.

use std::sync::Arc;

use ferry_core::vault::{KeyStore, Keychain, KeychainError, MemoryKeyStore, OsKeyStore};
use secrecy::{ExposeSecret, SecretString};

const NEEDS_SESSION: &str = "needs the test session's Secret Service: run `make test`";

/// Where no passphrase vault exists: these vaults use the keychain.
fn no_passphrase() -> std::path::PathBuf {
    std::path::PathBuf::from("/nonexistent/ferry/vault.json")
}

/// A namespace no other test run shares.
fn namespace(test: &str) -> String {
    format!("dev.ferry.desktop.test.{test}.{}", uuid::Uuid::new_v4())
}

async fn round_trip(keychain: &Keychain) {
    assert!(
        keychain.get("vault-key").await.expect("get").is_none(),
        "missing entry is None"
    );
    keychain
        .set("vault-key", SecretString::from("first value"))
        .await
        .expect("set");
    let read = keychain
        .get("vault-key")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(read.expose_secret(), "first value");

    keychain
        .set("vault-key", SecretString::from("second value"))
        .await
        .expect("overwrite");
    let read = keychain
        .get("vault-key")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(
        read.expose_secret(),
        "second value",
        "set replaces the value"
    );

    assert!(
        keychain.delete("vault-key").await.expect("delete"),
        "deleted an entry"
    );
    assert!(
        keychain.get("vault-key").await.expect("get").is_none(),
        "gone after delete"
    );
    assert!(
        !keychain.delete("vault-key").await.expect("delete"),
        "nothing left to delete"
    );
}

#[tokio::test]
#[ignore = "needs the test session's Secret Service: run `make test`"]
async fn round_trip_in_the_real_secret_service() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "{NEEDS_SESSION}"
    );
    let keychain = Keychain::new(Arc::new(OsKeyStore), &namespace("roundtrip"));
    round_trip(&keychain).await;
}

#[tokio::test]
#[ignore = "needs the test session's Secret Service: run `make test`"]
async fn namespaces_do_not_see_each_other() {
    let store: Arc<dyn KeyStore> = Arc::new(OsKeyStore);
    let real = Keychain::new(Arc::clone(&store), &namespace("real"));
    let test = Keychain::new(store, &namespace("other"));
    real.set("vault-key", SecretString::from("real secret"))
        .await
        .expect("set");
    assert!(
        test.get("vault-key").await.expect("get").is_none(),
        "another namespace must not read this entry"
    );
    assert!(real.delete("vault-key").await.expect("cleanup"));
}

#[tokio::test]
async fn the_memory_store_behaves_like_the_real_one() {
    let keychain = Keychain::new(Arc::new(MemoryKeyStore::default()), "memory");
    round_trip(&keychain).await;
}

/// Runs in a child process whose D-Bus address leads nowhere (see the test below); it
/// does nothing in an ordinary run.
#[tokio::test]
#[allow(clippy::print_stdout)] // the parent test reads these lines
async fn child_process_without_a_keychain() {
    if std::env::var_os("FERRY_VAULT_CHILD").is_none() {
        return;
    }
    let keychain = Keychain::new(Arc::new(OsKeyStore), "dev.ferry.desktop.test.nobus");
    let result = keychain.get("vault-key").await;
    match result {
        Err(KeychainError::Unavailable(reason)) => println!("UNAVAILABLE: {reason}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let err = keychain
        .set("vault-key", SecretString::from("x"))
        .await
        .expect_err("set must fail too");
    let ui: ferry_core::AppError = err.into();
    assert_eq!(ui.code, ferry_core::ErrorCode::KeychainUnavailable);
    println!("SET-REFUSED");
    let vault = ferry_core::vault::Vault::new(keychain, no_passphrase());
    match vault.root().await {
        Err(ferry_core::vault::VaultError::Keychain(KeychainError::Unavailable(_))) => {
            println!("VAULT-LOCKED")
        }
        other => panic!("expected the vault to report the keychain unavailable, got {other:?}"),
    }
}

#[test]
fn an_unreachable_keychain_is_an_error_not_a_panic() {
    let exe = std::env::current_exe().expect("test binary path");
    let output = std::process::Command::new(exe)
        .args([
            "vault::child_process_without_a_keychain",
            "--exact",
            "--nocapture",
        ])
        .env("FERRY_VAULT_CHILD", "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/ferry-test-bus",
        )
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("UNAVAILABLE:"),
        "get reported Unavailable:\n{stdout}"
    );
    assert!(stdout.contains("SET-REFUSED"), "set was refused:\n{stdout}");
    assert!(
        stdout.contains("VAULT-LOCKED"),
        "the vault reported it:\n{stdout}"
    );
}

mod root_key {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::no_passphrase;

    use ferry_core::vault::{
        KeyStore, Keychain, KeychainError, MemoryKeyStore, OsKeyStore, Vault, VaultError,
        ROOT_ENTRY,
    };
    use secrecy::{ExposeSecret, SecretString};

    /// Counts calls into the keychain.
    #[derive(Debug, Default)]
    struct Counting {
        inner: MemoryKeyStore,
        calls: AtomicUsize,
    }

    impl KeyStore for Counting {
        fn get(&self, s: &str, n: &str) -> Result<Option<SecretString>, KeychainError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.inner.get(s, n)
        }
        fn set(&self, s: &str, n: &str, v: &SecretString) -> Result<(), KeychainError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.inner.set(s, n, v)
        }
        fn delete(&self, s: &str, n: &str) -> Result<bool, KeychainError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.inner.delete(s, n)
        }
    }

    #[tokio::test]
    async fn the_root_key_is_created_once_and_read_once_per_start() {
        let store = Arc::new(Counting::default());
        let first = Vault::new(Keychain::new(store.clone(), "ns"), no_passphrase());
        let key = first.root().await.expect("created");
        for _ in 0..5 {
            first.root().await.expect("cached");
        }
        assert_eq!(
            store.calls.load(Ordering::SeqCst),
            2,
            "one read (empty) and one write"
        );
        let sealed = key.seal("acct", b"token");

        // The next start reads the same key, with one keychain access.
        let second = Vault::new(Keychain::new(store.clone(), "ns"), no_passphrase());
        let opened = second
            .root()
            .await
            .expect("read")
            .open("acct", &sealed)
            .expect("same key");
        assert_eq!(opened.expose_secret().as_slice(), b"token");
        assert_eq!(store.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_damaged_key_is_reported_and_left_alone() {
        let store = Arc::new(MemoryKeyStore::default());
        let keychain = Keychain::new(store.clone(), "ns");
        keychain
            .set(ROOT_ENTRY, SecretString::from("not a key"))
            .await
            .expect("set");
        let err = Vault::new(keychain.clone(), no_passphrase())
            .root()
            .await
            .expect_err("damaged");
        assert!(matches!(err, VaultError::DamagedKey), "{err}");
        let kept = keychain
            .get(ROOT_ENTRY)
            .await
            .expect("get")
            .expect("still there");
        assert_eq!(
            kept.expose_secret(),
            "not a key",
            "never overwritten: old tokens may need it"
        );
    }

    #[tokio::test]
    #[ignore = "needs the test session's Secret Service: run `make test`"]
    async fn the_root_key_persists_in_the_real_secret_service() {
        let namespace = format!("dev.ferry.desktop.test.root.{}", uuid::Uuid::new_v4());
        let sealed = {
            let vault = Vault::new(
                Keychain::new(Arc::new(OsKeyStore), &namespace),
                no_passphrase(),
            );
            vault.root().await.expect("created").seal("acct", b"token")
        };
        let vault = Vault::new(
            Keychain::new(Arc::new(OsKeyStore), &namespace),
            no_passphrase(),
        );
        assert!(vault
            .root()
            .await
            .expect("read back")
            .open("acct", &sealed)
            .is_ok());
        assert!(vault.keychain().delete(ROOT_ENTRY).await.expect("cleanup"));
    }
}

/// Linux without a Secret Service: Ferry offers a passphrase instead of failing.
mod passphrase {
    use std::sync::Arc;

    use ferry_core::vault::{
        KdfParams, KeyStore, Keychain, MemoryKeyStore, Vault, VaultError, VaultStatus,
    };

    use crate::support::LockedKeychain;
    use ferry_core::ErrorCode;
    use secrecy::{ExposeSecret, SecretString};

    const CHEAP: KdfParams = KdfParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };

    fn vault(store: Arc<dyn KeyStore>, dir: &std::path::Path) -> Vault {
        Vault::new(Keychain::new(store, "ns"), dir.join("vault.json")).with_kdf(CHEAP)
    }

    fn pass(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[tokio::test]
    async fn without_a_keychain_a_passphrase_protects_the_key_across_restarts() {
        let dir = tempfile::tempdir().expect("dir");
        let first = vault(Arc::new(LockedKeychain), dir.path());
        let err: ferry_core::AppError = first.root().await.expect_err("no keychain").into();
        assert_eq!(err.code, ErrorCode::KeychainUnavailable);

        let short = first
            .create_with_passphrase(pass("short"))
            .await
            .expect_err("short");
        assert_eq!(
            ferry_core::AppError::from(short).code,
            ErrorCode::Validation
        );
        first
            .create_with_passphrase(pass("a long enough passphrase"))
            .await
            .expect("create");
        assert_eq!(
            first.status(),
            VaultStatus {
                passphrase: true,
                unlocked: true
            }
        );
        let sealed = first.root().await.expect("key").seal("acct", b"token");

        // Ferry starts again: locked until the passphrase is given.
        let second = vault(Arc::new(LockedKeychain), dir.path());
        assert!(!second.status().unlocked);
        assert!(matches!(second.root().await, Err(VaultError::Locked)));
        let wrong = second
            .unlock(pass("not the passphrase"))
            .await
            .expect_err("wrong");
        let wrong = ferry_core::AppError::from(wrong);
        assert_eq!(wrong.code, ErrorCode::VaultLocked);
        assert!(wrong.message.contains("not right"), "{}", wrong.message);
        second
            .unlock(pass("a long enough passphrase"))
            .await
            .expect("unlock");
        let opened = second
            .root()
            .await
            .expect("key")
            .open("acct", &sealed)
            .expect("open");
        assert_eq!(opened.expose_secret(), b"token");
        assert!(matches!(
            second
                .create_with_passphrase(pass("another long passphrase"))
                .await,
            Err(VaultError::PassphraseExists)
        ));
    }

    #[tokio::test]
    async fn a_working_keychain_is_not_replaced_by_a_passphrase() {
        let dir = tempfile::tempdir().expect("dir");
        let v = vault(Arc::new(MemoryKeyStore::default()), dir.path());
        assert!(matches!(
            v.create_with_passphrase(pass("a long enough passphrase"))
                .await,
            Err(VaultError::KeychainWorks)
        ));
        assert!(!dir.path().join("vault.json").exists());
    }
}

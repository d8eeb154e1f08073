//! Saving sign-ins: one account per provider + tenant + subject, sealed tokens, grants,
//! reconnect and remove.

use chrono::{DateTime, Duration, Utc};
use ferry_core::account::{AccessToken, Identity, RefreshToken, TokenSet};
use ferry_core::providers::Provider;
use ferry_core::store::signed_in::{self, NewSignIn, SaveError};
use ferry_core::store::{Store, DATABASE_FILE};
use ferry_core::vault::RootKey;
use secrecy::ExposeSecret;

use crate::support::{EVERYTHING, MAIL};

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("time")
}

fn identity(subject: &str, email: &str) -> Identity {
    Identity {
        tenant: "t-1".into(),
        subject: subject.into(),
        email: email.into(),
        name: "Grace Hopper".into(),
    }
}

fn tokens(access: &str, refresh: &str) -> TokenSet {
    TokenSet {
        access_token: AccessToken::new(access),
        refresh_token: Some(RefreshToken::new(refresh)),
        expires_at: at() + Duration::hours(1),
        scopes: vec!["openid".into(), "Mail.Read".into()],
        grant_expires_at: None,
    }
}

async fn count(store: &Store, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(store.pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn a_sign_in_is_saved_sealed_and_the_same_account_is_updated_not_duplicated() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join(DATABASE_FILE);
    let store = Store::open(&path).await.expect("store");
    let root = RootKey::generate();

    let first = signed_in::save(
        store.pool(),
        &root,
        &NewSignIn {
            provider: Provider::Microsoft,
            identity: &identity("oid-1", "grace@old.example"),
            tokens: &tokens("ACCESS-TOKEN-ONE", "REFRESH-TOKEN-ONE"),
            requested: &EVERYTHING,
            granted: &MAIL,
            reconnect: None,
        },
        at(),
    )
    .await
    .expect("save");
    assert!(first.created);
    let again = signed_in::save(
        store.pool(),
        &root,
        &NewSignIn {
            provider: Provider::Microsoft,
            identity: &identity("oid-1", "grace@new.example"),
            tokens: &tokens("ACCESS-TOKEN-TWO", "REFRESH-TOKEN-TWO"),
            requested: &EVERYTHING,
            granted: &EVERYTHING,
            reconnect: None,
        },
        at(),
    )
    .await
    .expect("save again");
    assert_eq!(
        again,
        signed_in::Saved {
            account_id: first.account_id.clone(),
            created: false
        },
        "keyed by subject, not email"
    );

    let accounts = store.list_accounts().await.expect("list");
    assert_eq!(accounts.len(), 1);
    assert_eq!(
        accounts[0].email, "grace@new.example",
        "the email follows the provider"
    );
    let (access, refresh) = signed_in::tokens(store.pool(), &root, &first.account_id)
        .await
        .expect("open")
        .expect("tokens");
    assert_eq!(access.expose_secret(), "ACCESS-TOKEN-TWO");
    assert_eq!(
        refresh.expect("refresh").expose_secret(),
        "REFRESH-TOKEN-TWO"
    );
    let granted: i64 =
        sqlx::query_scalar("SELECT granted FROM account_services WHERE service = 'contacts'")
            .fetch_one(store.pool())
            .await
            .expect("grant");
    assert_eq!(granted, 1, "grants follow the latest sign-in");

    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(store.pool())
        .await
        .expect("checkpoint");
    store.close().await;
    let bytes = std::fs::read(&path).expect("db file");
    for secret in [
        "ACCESS-TOKEN-ONE",
        "ACCESS-TOKEN-TWO",
        "REFRESH-TOKEN-ONE",
        "REFRESH-TOKEN-TWO",
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the database file in plain text"
        );
    }
}

#[tokio::test]
async fn a_reconnect_that_returns_another_account_changes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&dir.path().join(DATABASE_FILE))
        .await
        .expect("store");
    let root = RootKey::generate();
    let saved = signed_in::save(
        store.pool(),
        &root,
        &NewSignIn {
            provider: Provider::Google,
            identity: &identity("sub-a", "a@example.com"),
            tokens: &tokens("A1", "R1"),
            requested: &MAIL,
            granted: &MAIL,
            reconnect: None,
        },
        at(),
    )
    .await
    .expect("save");
    let err = signed_in::save(
        store.pool(),
        &root,
        &NewSignIn {
            provider: Provider::Google,
            identity: &identity("sub-b", "b@example.com"),
            tokens: &tokens("B1", "R2"),
            requested: &MAIL,
            granted: &MAIL,
            reconnect: Some(&saved.account_id),
        },
        at(),
    )
    .await
    .expect_err("different account");
    assert!(
        matches!(err, SaveError::DifferentAccount { ref expected, ref signed_in } if expected == "a@example.com" && signed_in == "b@example.com"),
        "{err}"
    );
    assert_eq!(count(&store, "accounts").await, 1, "no new account");
    let (access, _) = signed_in::tokens(store.pool(), &root, &saved.account_id)
        .await
        .expect("open")
        .expect("tokens");
    assert_eq!(access.expose_secret(), "A1", "the old tokens are untouched");

    let ok = signed_in::save(
        store.pool(),
        &root,
        &NewSignIn {
            provider: Provider::Google,
            identity: &identity("sub-a", "a@example.com"),
            tokens: &tokens("A2", "R3"),
            requested: &MAIL,
            granted: &MAIL,
            reconnect: Some(&saved.account_id),
        },
        at(),
    )
    .await
    .expect("same account reconnects");
    assert!(!ok.created);
}

#[tokio::test]
async fn removing_an_account_deletes_every_row_and_hands_back_the_refresh_token() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&dir.path().join(DATABASE_FILE))
        .await
        .expect("store");
    let root = RootKey::generate();
    let saved = signed_in::save(
        store.pool(),
        &root,
        &NewSignIn {
            provider: Provider::Google,
            identity: &identity("sub-a", "a@example.com"),
            tokens: &tokens("A1", "R1"),
            requested: &EVERYTHING,
            granted: &EVERYTHING,
            reconnect: None,
        },
        at(),
    )
    .await
    .expect("save");
    let refresh = signed_in::remove(store.pool(), &root, &saved.account_id)
        .await
        .expect("remove");
    assert_eq!(
        refresh.expect("refresh").expose_secret(),
        "R1",
        "for revocation at the provider"
    );
    for table in ["accounts", "account_tokens", "account_services"] {
        assert_eq!(count(&store, table).await, 0, "{table} is empty");
    }
    assert!(matches!(
        signed_in::remove(store.pool(), &root, &saved.account_id).await,
        Err(SaveError::NoSuchAccount)
    ));
}

#[tokio::test]
async fn tokens_sealed_for_one_account_do_not_open_as_another() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(&dir.path().join(DATABASE_FILE))
        .await
        .expect("store");
    let root = RootKey::generate();
    let a = signed_in::save(
        store.pool(),
        &root,
        &NewSignIn {
            provider: Provider::Google,
            identity: &identity("sub-a", "a@x"),
            tokens: &tokens("A", "RA"),
            requested: &MAIL,
            granted: &MAIL,
            reconnect: None,
        },
        at(),
    )
    .await
    .expect("a");
    let b = signed_in::save(
        store.pool(),
        &root,
        &NewSignIn {
            provider: Provider::Google,
            identity: &identity("sub-b", "b@x"),
            tokens: &tokens("B", "RB"),
            requested: &MAIL,
            granted: &MAIL,
            reconnect: None,
        },
        at(),
    )
    .await
    .expect("b");
    sqlx::query("UPDATE account_tokens SET sealed = (SELECT sealed FROM account_tokens WHERE account_id = ?) WHERE account_id = ?")
        .bind(&a.account_id).bind(&b.account_id).execute(store.pool()).await.expect("swap");
    assert!(
        signed_in::tokens(store.pool(), &root, &b.account_id)
            .await
            .is_err(),
        "a copied blob is refused"
    );
    assert!(
        signed_in::tokens(store.pool(), &RootKey::generate(), &a.account_id)
            .await
            .is_err(),
        "another vault key cannot open it"
    );
}

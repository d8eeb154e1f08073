//! The SQLite store on a real file: WAL, migrations, refusing a newer schema.

use std::path::Path;

use ferry_core::store::{known_schema_version, Store, StoreError, DATABASE_FILE};
use sha2::{Digest, Sha256};

fn file_hash(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).expect("read database file")).to_vec()
}

#[tokio::test]
async fn a_new_database_is_created_migrated_and_in_wal_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("data").join(DATABASE_FILE);
    let store = Store::open(&path).await.expect("open a fresh database");
    assert!(path.exists(), "the database file is created");

    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .expect("journal mode");
    assert_eq!(mode, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .expect("synchronous");
    assert_eq!(sync, 1, "synchronous=NORMAL is 1");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .expect("foreign keys");
    assert_eq!(fk, 1, "foreign keys are enforced");
    let applied: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .expect("migration history");
    assert_eq!(applied, known_schema_version());
    assert!(store.list_accounts().await.expect("list").is_empty());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path.parent().expect("parent"))
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o700,
            "the data folder is private to the user"
        );
    }
    store.close().await;
}

#[tokio::test]
async fn reopening_keeps_data_and_applies_nothing_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(DATABASE_FILE);
    let store = Store::open(&path).await.expect("first open");
    sqlx::query(
        "INSERT INTO accounts (id, provider, tenant, subject, email, display_name, created_at, updated_at)
         VALUES ('a1', 'google', '', 'sub-1', 'ada@example.com', 'Ada', 1, 1)",
    )
    .execute(store.pool())
    .await
    .expect("insert");
    store.close().await;

    let store = Store::open(&path).await.expect("second open");
    let accounts = store.list_accounts().await.expect("list");
    assert_eq!(accounts.len(), 1, "the row survives a reopen");
    assert_eq!(accounts[0].email, "ada@example.com");
    let history: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .expect("history");
    assert_eq!(history as usize, ferry_core::store::MIGRATOR.iter().count());
    store.close().await;
}

#[tokio::test]
async fn the_same_subject_cannot_be_stored_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join(DATABASE_FILE))
        .await
        .expect("open");
    let insert = |id: &'static str, email: &'static str| {
        sqlx::query(
            "INSERT INTO accounts (id, provider, tenant, subject, email, created_at, updated_at)
             VALUES (?, 'microsoft', 'tenant-1', 'sub-1', ?, 1, 1)",
        )
        .bind(id)
        .bind(email)
    };
    insert("a1", "one@example.com")
        .execute(store.pool())
        .await
        .expect("first");
    let second = insert("a2", "renamed@example.com")
        .execute(store.pool())
        .await;
    assert!(
        second.is_err(),
        "provider + tenant + subject is unique, whatever the email"
    );
    store.close().await;
}

#[tokio::test]
async fn a_database_from_a_newer_ferry_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(DATABASE_FILE);
    let store = Store::open(&path).await.expect("open");
    let future = known_schema_version() + 1;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (?, 'from the future', 1, x'00', 0)",
    )
    .bind(future)
    .execute(store.pool())
    .await
    .expect("record a future migration");
    // Fold the WAL into the main file so the hash covers everything.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(store.pool())
        .await
        .expect("checkpoint");
    store.close().await;
    let before = file_hash(&path);

    let err = Store::open(&path)
        .await
        .expect_err("a newer schema must be refused");
    match &err {
        StoreError::TooNew { found, known, .. } => {
            assert_eq!(*found, future);
            assert_eq!(*known, known_schema_version());
        }
        other => panic!("expected TooNew, got {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("newer version of Ferry"),
        "clear message: {message}"
    );
    assert_eq!(file_hash(&path), before, "the database file is not altered");

    let ui: ferry_core::AppError = err.into();
    assert_eq!(ui.code, ferry_core::ErrorCode::DatabaseTooNew);
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(DATABASE_FILE);
    std::fs::write(
        &path,
        b"this is not sqlite, just some text that is long enough",
    )
    .expect("write");
    let before = file_hash(&path);
    let err = Store::open(&path).await.expect_err("garbage is refused");
    let ui: ferry_core::AppError = err.into();
    assert_eq!(ui.code, ferry_core::ErrorCode::Storage);
    assert!(!ui.message.is_empty());
    assert_eq!(file_hash(&path), before, "the file is not overwritten");
}

/// A task cancelled between sqlx running `BEGIN` and handing back the transaction leaves
/// the transaction open with nothing to roll it back. Such connections must not come back
/// from the pool still holding the write lock: every later write would wait out the busy
/// timeout, or be refused outright on the same connection.
#[tokio::test]
async fn a_transaction_abandoned_by_a_cancelled_task_does_not_block_later_writes() {
    use sqlx::Connection;

    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join(DATABASE_FILE))
        .await
        .expect("open");
    // On the readers' pool and on the writer's one connection alike.
    for pool in [store.pool(), store.writer()].into_iter().cycle().take(6) {
        let mut conn = pool.acquire().await.expect("acquire");
        let tx = conn
            .begin_with("BEGIN IMMEDIATE")
            .await
            .expect("begin a transaction");
        // What a cancellation at that moment leaves: a transaction no one will close.
        std::mem::forget(tx);
        drop(conn);

        let write = async {
            let mut tx = ferry_core::store::begin_write(store.writer()).await?;
            sqlx::query("CREATE TABLE IF NOT EXISTS probe (n INTEGER)")
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO probe (n) VALUES (1)")
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        };
        tokio::time::timeout(std::time::Duration::from_secs(3), write)
            .await
            .expect("a later write does not wait for the abandoned transaction")
            .expect("a later write succeeds");
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM probe")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(rows, 6);
    store.close().await;
}

/// Ferry's writers queue for the writer's one connection instead of polling SQLite's
/// lock: a write that waits longer than the busy timeout (5 s) behind a long one still
/// goes through, where SQLite's busy wait would give up with "database is locked".
#[tokio::test]
async fn a_write_waits_its_turn_behind_a_long_one_instead_of_failing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join(DATABASE_FILE))
        .await
        .expect("open");
    sqlx::query("CREATE TABLE probe (n INTEGER)")
        .execute(store.pool())
        .await
        .expect("create");
    let mut long = ferry_core::store::begin_write(store.writer())
        .await
        .expect("the long write begins");
    sqlx::query("INSERT INTO probe (n) VALUES (1)")
        .execute(&mut *long)
        .await
        .expect("insert");
    let second = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = ferry_core::store::begin_write(store.writer()).await?;
            sqlx::query("INSERT INTO probe (n) VALUES (2)")
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(5_500)).await;
    assert!(
        !second.is_finished(),
        "the second write waits for the first"
    );
    long.commit().await.expect("the long write commits");
    second
        .await
        .expect("join")
        .expect("the second write goes through after waiting longer than the busy timeout");
    let rows: Vec<i64> = sqlx::query_scalar("SELECT n FROM probe ORDER BY rowid")
        .fetch_all(store.pool())
        .await
        .expect("rows");
    assert_eq!(rows, [1, 2]);
    store.close().await;
}

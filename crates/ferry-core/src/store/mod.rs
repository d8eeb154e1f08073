//! The local SQLite database: one file in the app-data directory, WAL mode, migrated at
//! start. A database that a newer Ferry has migrated is refused before anything writes to
//! it, so a downgrade never damages data.

mod accounts;
pub mod health;
pub mod mail;
pub mod settings;
pub mod signed_in;
pub mod sync;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqlitePool};

pub use crate::services::Service;
pub use accounts::{AccountRecord, ServiceRecord};

use crate::error::{AppError, ErrorCode};
use crate::providers::Provider;
use crate::services::ServiceChoice;

/// Starts a transaction that will write: it takes SQLite's write lock at once (`BEGIN
/// IMMEDIATE`), waiting up to the busy timeout for another writer. A deferred
/// transaction that reads first and writes later fails at once instead ("database is
/// locked") when another writer committed in between, which background sync makes
/// likely.
///
/// Pass [`Store::writer`]: its one connection queues Ferry's writers in order instead of
/// leaving them to SQLite's busy wait (which sleeps up to 100 ms between tries), and its
/// page cache stays valid from one write to the next (a connection drops its cache when
/// another connection wrote since it last looked).
pub async fn begin_write(
    pool: &SqlitePool,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Whether a connection coming back to the pool may be handed out again. A task
/// cancelled at the wrong moment can leave a transaction open on its connection: dropped
/// between sqlx running `BEGIN` and building the `Transaction`, no one will ever roll it
/// back. Such a connection would keep SQLite's write lock and refuse every later
/// `BEGIN IMMEDIATE`, so it is closed instead (closing rolls the transaction back). The
/// ping first lets a rollback that a dropped `Transaction` queued run before the check.
async fn no_transaction_left(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    conn.ping().await?;
    let clean = !conn.is_in_transaction();
    if !clean {
        tracing::warn!("closing a database connection that a cancelled task left mid-transaction");
    }
    Ok(clean)
}

/// The migrations in `migrations/`, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// The database file's name inside the data directory.
pub const DATABASE_FILE: &str = "ferry.sqlite3";

/// How long a writer waits for another before giving up. Long enough to ride out a
/// checkpoint or a concurrent sync transaction, short enough that a stuck lock surfaces.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// SQLite allows one writer at a time; a few readers is all the app needs.
const MAX_CONNECTIONS: u32 = 4;

/// The writer's page cache, in KiB (SQLite's default is 2 MiB): a page of a thousand
/// messages touches more than that, and each miss is a read from the file. Readers keep
/// the default: a write elsewhere empties their cache anyway.
const WRITER_CACHE_KIB: u32 = 16 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the database {path} was written by a newer version of Ferry (schema version {found}; \
         this Ferry knows up to {known}). It has been left untouched: install the newer \
         Ferry, or move the file aside to start afresh"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("could not prepare the data folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not open the database {path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("could not update the database schema: {0}")]
    Migrate(#[from] MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    #[error("stored tokens could not be opened: {0}")]
    Sealed(String),
    #[error("the database holds data Ferry cannot read: {0}")]
    Damaged(String),
}

/// A query that failed outside a store function (a transaction's commit) reaches the UI as
/// a storage error.
impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::from(err).into()
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        let code = match err {
            StoreError::TooNew { .. } => ErrorCode::DatabaseTooNew,
            _ => ErrorCode::Storage,
        };
        AppError::new(code, err.to_string())
    }
}

/// A handle on the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    /// One connection, for transactions that write (see [`begin_write`]).
    writer: SqlitePool,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    #[tracing::instrument(err)]
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        refuse_newer_schema(path).await?;

        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let open = |connections: u32, options: SqliteConnectOptions| {
            SqlitePoolOptions::new()
                .max_connections(connections)
                .after_release(|conn, _| Box::pin(async move { no_transaction_left(conn).await }))
                .connect_with(options)
        };
        let open_err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let pool = open(MAX_CONNECTIONS, options.clone())
            .await
            .map_err(open_err)?;
        MIGRATOR.run(&pool).await?;
        // The writer keeps its statement journals (a multi-row upsert's undo record) in
        // memory: in a file they were a fifth of what a page of mail wrote to disk.
        let writer = open(
            1,
            options
                .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
                .pragma("temp_store", "memory"),
        )
        .await
        .map_err(open_err)?;
        tracing::info!(path = %path.display(), "database ready");
        Ok(Self {
            pool,
            writer,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The connection for transactions that write ([`begin_write`]); reads go to
    /// [`Store::pool`].
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// Waits for open connections to finish and checkpoints the WAL.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    pub async fn list_accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        accounts::list(&self.pool).await
    }

    /// The provider of an account, or `None` if there is no such account.
    pub async fn account_provider(&self, id: &str) -> Result<Option<Provider>, StoreError> {
        accounts::provider(&self.pool, id).await
    }

    /// Turns off the services `keep` does not ask for. False if there is no such account.
    pub async fn keep_requested(&self, id: &str, keep: &ServiceChoice) -> Result<bool, StoreError> {
        accounts::keep_requested(&self.writer, id, keep).await
    }
}

/// The newest schema version this build knows.
pub fn known_schema_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Looks at an existing database read-only and refuses it if it carries a migration this
/// build does not know, before any connection that could write is opened.
async fn refuse_newer_schema(path: &Path) -> Result<(), StoreError> {
    if !path.exists() {
        return Ok(());
    }
    let open_err = |source| StoreError::Open {
        path: path.to_owned(),
        source,
    };
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .map_err(open_err)?;
    let has_history: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(&mut conn)
    .await
    .map_err(open_err)?;
    let applied: Vec<i64> = if has_history.is_some() {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
            .fetch_all(&mut conn)
            .await?
    } else {
        Vec::new()
    };
    conn.close().await?;

    let known: HashSet<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    if applied.iter().any(|v| !known.contains(v)) {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found: applied.iter().copied().max().unwrap_or_default(),
            known: known_schema_version(),
        });
    }
    Ok(())
}

/// Creates the directory readable by this user only: it holds account metadata.
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let folder_err = |source| StoreError::Folder {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(folder_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(folder_err)?;
    }
    Ok(())
}

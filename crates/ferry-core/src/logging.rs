//! Logging: daily rolling files in the OS log directory, and stderr in development.
//!
//! Log lines never carry a secret. Entry points use `#[instrument(skip(...))]` for
//! anything sensitive, and secret values are `secrecy` types whose `Debug` is redacted.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// The environment variable that overrides the log filter (`tracing` env-filter syntax).
pub const LOG_FILTER_ENV: &str = "FERRY_LOG";

/// What is logged unless `FERRY_LOG` says otherwise.
pub const DEFAULT_FILTER: &str = "info";

/// Log files are named `ferry.YYYY-MM-DD.log`.
pub const LOG_FILE_PREFIX: &str = "ferry";

/// Two weeks of daily files is enough to look back on an incident and small on disk.
const MAX_LOG_FILES: usize = 14;

/// Keeps the background log writer alive; dropping it flushes what is buffered.
#[must_use = "dropping the guard stops file logging"]
pub struct LogGuard {
    _file: WorkerGuard,
}

#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("could not set up the log folder {0}: {1}")]
    Folder(String, String),
    #[error("logging was already set up")]
    AlreadySet,
}

/// Installs the global subscriber: files in `log_dir`, plus stderr when `to_stderr`.
/// `filter` comes from `FERRY_LOG` when set (the caller reads the environment).
pub fn init(
    log_dir: &Path,
    to_stderr: bool,
    filter: Option<&str>,
) -> Result<LogGuard, LoggingError> {
    std::fs::create_dir_all(log_dir)
        .map_err(|e| LoggingError::Folder(log_dir.display().to_string(), e.to_string()))?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .filename_suffix("log")
        .max_log_files(MAX_LOG_FILES)
        .build(log_dir)
        .map_err(|e| LoggingError::Folder(log_dir.display().to_string(), e.to_string()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);

    let filter = || {
        EnvFilter::try_new(filter.unwrap_or(DEFAULT_FILTER))
            .unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
    };
    let file_layer = fmt::layer()
        .with_ansi(false)
        .with_writer(writer)
        .with_filter(filter());
    let stderr_layer = to_stderr.then(|| {
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter())
    });
    tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init()
        .map_err(|_| LoggingError::AlreadySet)?;
    Ok(LogGuard { _file: guard })
}

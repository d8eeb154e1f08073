//! Files Ferry writes for the user: an account's timeline as JSON, and attachments
//! (saved to Downloads, or into a size-capped cache to open).

use chrono::{DateTime, Utc};

use crate::error::{AppError, ErrorCode};
use crate::store::health::TimelineEntry;
use crate::views::AccountView;

/// Writes `entries` of `account` as JSON into `dir`; returns the file's path. The file
/// holds the address, provider and what happened, never a secret.
pub(crate) async fn timeline(
    account: &AccountView,
    entries: &[TimelineEntry],
    now: DateTime<Utc>,
    dir: &std::path::Path,
) -> Result<String, AppError> {
    let export = serde_json::json!({
        "account": { "email": account.email, "provider": account.provider },
        "exportedAt": now,
        "timeline": entries,
    });
    let safe: String = account
        .email
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!(
        "ferry-timeline-{safe}-{}.json",
        now.format("%Y%m%d-%H%M%S")
    ));
    let text = serde_json::to_string_pretty(&export).unwrap_or_default();
    tokio::fs::write(&path, text).await.map_err(|e| {
        AppError::new(
            ErrorCode::Storage,
            format!("Could not save the timeline: {e}."),
        )
    })?;
    Ok(path.display().to_string())
}

/// The attachment cache's folder, in the data directory.
pub(crate) const ATTACHMENT_CACHE: &str = "attachments";

/// The cache holds at most this much; the oldest files go first.
const CACHE_CAP: u64 = 200 * 1024 * 1024;

/// A name that is safe as a file name on every system: no folders, no control or
/// reserved characters, not empty, not hidden.
fn safe_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_control() || "/\\:*?\"<>|".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        "attachment".to_owned()
    } else {
        trimmed.chars().take(150).collect()
    }
}

/// Writes `part` into `dir` under its own (cleaned) name, numbered if that is taken;
/// returns the path.
pub(crate) async fn attachment(
    part: &crate::sync::mail::parse::PartBytes,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf, AppError> {
    let failed = |e: std::io::Error| {
        AppError::new(
            ErrorCode::Storage,
            format!("Could not save the attachment: {e}."),
        )
    };
    tokio::fs::create_dir_all(dir).await.map_err(failed)?;
    let name = safe_name(&part.filename);
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem.to_owned(), format!(".{ext}")),
        _ => (name.clone(), String::new()),
    };
    for n in 1..1000 {
        let candidate = if n == 1 {
            dir.join(&name)
        } else {
            dir.join(format!("{stem} ({n}){extension}"))
        };
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
            .await;
        match file {
            Ok(mut file) => {
                use tokio::io::AsyncWriteExt;
                file.write_all(&part.bytes).await.map_err(failed)?;
                file.flush().await.map_err(failed)?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(failed(e)),
        }
    }
    Err(AppError::new(
        ErrorCode::Storage,
        "Could not save the attachment: too many files of that name.",
    ))
}

/// Deletes the oldest cached files until `incoming` more bytes fit under the cap.
pub(crate) async fn trim_cache(dir: &std::path::Path, incoming: u64) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    let mut files = Vec::new();
    while let Ok(Some(entry)) = entries.next_entry().await {
        if let Ok(meta) = entry.metadata().await {
            if meta.is_file() {
                let modified = meta.modified().unwrap_or(std::time::SystemTime::UNIX_EPOCH);
                files.push((modified, meta.len(), entry.path()));
            }
        }
    }
    files.sort();
    let mut total: u64 = files.iter().map(|(_, len, _)| len).sum::<u64>() + incoming;
    for (_, len, path) in files {
        if total <= CACHE_CAP {
            break;
        }
        if tokio::fs::remove_file(&path).await.is_ok() {
            total -= len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_names_cannot_leave_the_folder() {
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name("..."), "attachment");
        assert_eq!(safe_name("report\u{0}.pdf"), "report_.pdf");
        assert_eq!(safe_name("a:b?.txt"), "a_b_.txt");
    }

    #[tokio::test]
    async fn a_taken_name_is_numbered_and_the_cache_keeps_under_its_cap() {
        let dir = tempfile::tempdir().expect("dir");
        let part = crate::sync::mail::parse::PartBytes {
            filename: "plan.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: vec![1, 2, 3],
        };
        let first = attachment(&part, dir.path()).await.expect("first");
        let second = attachment(&part, dir.path()).await.expect("second");
        assert_eq!(first.file_name().expect("name"), "plan.pdf");
        assert_eq!(second.file_name().expect("name"), "plan (2).pdf");
        assert_eq!(std::fs::read(&second).expect("read"), vec![1, 2, 3]);

        trim_cache(dir.path(), CACHE_CAP).await;
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("list").count(),
            0,
            "room for a file as large as the cap means the older ones go"
        );
    }
}

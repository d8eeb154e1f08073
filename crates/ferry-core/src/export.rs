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
    write_new(
        dir,
        &safe_name(&part.filename),
        &part.bytes,
        "the attachment",
    )
    .await
}

/// Writes `bytes` into a new file in `dir` named `name`, numbered ("name (2).ext") if
/// that is taken; never overwrites. `what` names it in an error.
async fn write_new(
    dir: &std::path::Path,
    name: &str,
    bytes: &[u8],
    what: &str,
) -> Result<std::path::PathBuf, AppError> {
    let failed = |e: std::io::Error| {
        AppError::new(ErrorCode::Storage, format!("Could not save {what}: {e}."))
    };
    tokio::fs::create_dir_all(dir).await.map_err(failed)?;
    let (stem, extension) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem.to_owned(), format!(".{ext}")),
        _ => (name.to_owned(), String::new()),
    };
    for n in 1..1000 {
        let candidate = if n == 1 {
            dir.join(name)
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
                file.write_all(bytes).await.map_err(failed)?;
                file.flush().await.map_err(failed)?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(failed(e)),
        }
    }
    Err(AppError::new(
        ErrorCode::Storage,
        format!("Could not save {what}: too many files of that name."),
    ))
}

/// Saves one message as an `.eml` file named after its subject; returns the path.
pub(crate) async fn eml(
    raw: &[u8],
    subject: &str,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf, AppError> {
    let stem: String = safe_name(if subject.trim().is_empty() {
        "message"
    } else {
        subject
    })
    .chars()
    .take(80)
    .collect();
    write_new(dir, &format!("{stem}.eml"), raw, "the message").await
}

/// Appends one message to an mbox (the mboxrd kind): a `From ` line with the sender and
/// date, the message with line ends as `\n`, every line that starts with `From ` after
/// any number of `>` given one more `>`, and a blank line.
pub(crate) fn mbox_entry(out: &mut Vec<u8>, raw: &[u8], from: &str, at: DateTime<Utc>) {
    let sender = if from.trim().is_empty() || from.contains(char::is_whitespace) {
        "MAILER-DAEMON"
    } else {
        from
    };
    out.extend_from_slice(
        format!("From {sender} {}\n", at.format("%a %b %e %H:%M:%S %Y")).as_bytes(),
    );
    let text = raw
        .strip_suffix(b"\r\n")
        .or_else(|| raw.strip_suffix(b"\n"))
        .unwrap_or(raw);
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line
            .iter()
            .skip_while(|&&b| b == b'>')
            .take(5)
            .eq(b"From ".iter())
        {
            out.push(b'>');
        }
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// Writes a finished mbox into `dir`; returns its path.
pub(crate) async fn mbox(
    bytes: &[u8],
    now: DateTime<Utc>,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf, AppError> {
    let name = format!("ferry-mail-{}.mbox", now.format("%Y%m%d-%H%M%S"));
    write_new(dir, &name, bytes, "the mailbox").await
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

    #[test]
    fn an_mbox_quotes_from_lines_and_keeps_the_rest() {
        let mut out = Vec::new();
        let at = DateTime::from_timestamp(1_796_026_500, 0).expect("date");
        mbox_entry(
            &mut out,
            b"Subject: x\r\n\r\nFrom here on\r\n>From there\r\nfrom below\r\n",
            "grace@navy.example",
            at,
        );
        mbox_entry(&mut out, b"Subject: y\n\nbody", "", at);
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "From grace@navy.example Mon Nov 30 08:15:00 2026\nSubject: x\n\n>From here on\n>>From there\nfrom below\n\n\
             From MAILER-DAEMON Mon Nov 30 08:15:00 2026\nSubject: y\n\nbody\n\n"
        );
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

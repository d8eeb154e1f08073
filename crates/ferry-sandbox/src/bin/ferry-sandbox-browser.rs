//! A stand-in for the user's web browser, for Ferry's end-to-end tests. Set it as
//! `BROWSER` and `xdg-open` hands it the URL Ferry opens, just as it would to Firefox.
//!
//! It plays a person described in `$FERRY_SANDBOX_BROWSER_DIR/person.json`:
//! `{"email", "password", "untick": [scope…], "allow": bool, "abandon": bool,
//!   "tamper_state": bool}`. It signs in on the sandbox's pages, consents, and follows the
//! redirect: a loopback URL is loaded (as a browser shows the page), a `ferry://` URL is
//! written to `link.txt` in the same folder for the test to deliver by launching Ferry
//! with it (as the OS would). Each visit is appended to `visits.jsonl` with the time, the
//! redirect's host and path, and what happened; never a code or state. A file path (an
//! attachment Ferry opens) is noted with its name and size.

use std::io::Write;
use std::path::{Path, PathBuf};

use ferry_sandbox::browser::{with_param, Browser, Outcome, Person};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Script {
    email: String,
    password: String,
    #[serde(default)]
    untick: Vec<String>,
    #[serde(default = "yes")]
    allow: bool,
    /// Nobody is at the browser: the page is never completed.
    #[serde(default)]
    abandon: bool,
    /// Change the `state` on the way back, as an attacker in the middle would.
    #[serde(default)]
    tamper_state: bool,
}

fn yes() -> bool {
    true
}

/// Wall-clock time, compared by the tests with the page's `Date.now()`.
#[allow(clippy::disallowed_methods)]
fn unix_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

fn record(dir: &Path, what: serde_json::Value) {
    let line = serde_json::json!({ "at_ms": unix_ms() as u64, "visit": what });
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("visits.jsonl"))
    {
        let _ = writeln!(file, "{line}");
    }
}

async fn visit(dir: &Path, start: &str) -> Result<serde_json::Value, String> {
    let script: Script = std::fs::read(dir.join("person.json"))
        .map_err(|e| format!("no person.json: {e}"))
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))?;
    if script.abandon {
        return Ok(serde_json::json!({ "outcome": "abandoned" }));
    }
    let mut person = Person::new(&script.email, &script.password);
    person.untick = script.untick;
    person.allow = script.allow;
    let outcome = Browser::new()
        .authorize(start, &person)
        .await
        .map_err(|e| e.to_string())?;
    let mut redirect = match outcome {
        Outcome::Redirect(url) => url,
        Outcome::ErrorPage { code, .. } => {
            return Ok(serde_json::json!({ "outcome": "error page", "code": code }))
        }
    };
    if script.tamper_state {
        redirect = with_param(&redirect, "state", |v| format!("{v}x"));
    }
    let place = format!(
        "{}://{}{}",
        redirect.scheme(),
        redirect.host_str().unwrap_or_default(),
        redirect.path()
    );
    if redirect.scheme() == "ferry" {
        let link = dir.join("link.txt");
        let partial = dir.join("link.txt.partial");
        std::fs::write(&partial, redirect.as_str()).map_err(|e| e.to_string())?;
        std::fs::rename(&partial, &link).map_err(|e| e.to_string())?;
        return Ok(serde_json::json!({ "outcome": "link", "to": place }));
    }
    let sent_at = unix_ms() as u64;
    let status = reqwest::get(redirect)
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("loopback: {e}"))?;
    Ok(
        serde_json::json!({ "outcome": "loaded", "to": place, "status": status, "sent_at_ms": sent_at }),
    )
}

fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: ferry-sandbox-browser URL");
        std::process::exit(2);
    };
    let dir =
        PathBuf::from(std::env::var("FERRY_SANDBOX_BROWSER_DIR").unwrap_or_else(|_| ".".into()));
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("ferry-sandbox-browser: {err}");
            std::process::exit(1);
        }
    };
    // A file (an attachment Ferry opens): xdg-open hands it here when nothing else on the
    // machine claims its type. Noted with its name and size, as a browser would show it.
    let file = url.strip_prefix("file://").unwrap_or(&url);
    if file.starts_with('/') {
        let path = Path::new(file);
        let what = match std::fs::metadata(path) {
            Ok(meta) => serde_json::json!({
                "outcome": "opened file",
                "name": path.file_name().map(|n| n.to_string_lossy().into_owned()),
                "bytes": meta.len(),
            }),
            Err(err) => serde_json::json!({ "outcome": "failed", "error": err.to_string() }),
        };
        record(&dir, what);
        return;
    }
    let result = runtime.block_on(visit(&dir, &url));
    match result {
        Ok(what) => record(&dir, what),
        Err(err) => {
            record(
                &dir,
                serde_json::json!({ "outcome": "failed", "error": err }),
            );
            std::process::exit(1);
        }
    }
}

//! Where `ferry://` URLs enter: the first launch's arguments, a second launch's arguments
//! forwarded by single-instance, and (macOS) the OS "open URL" event. All of them end in
//! [`dispatch`], which hands the raw text to the core.

use ferry_core::{deeplink::SCHEME, LinkOutcome};
use tauri::{AppHandle, Manager};

use crate::{window, Shell};

/// Arguments that look like one of our links. Anything else (flags) is not a link.
fn link_arguments(args: &[String]) -> impl Iterator<Item = &str> {
    args.iter().skip(1).map(String::as_str).filter(|arg| {
        arg.get(..SCHEME.len() + 1)
            .is_some_and(|head| head.eq_ignore_ascii_case(&format!("{SCHEME}:")))
    })
}

pub fn on_cold_start(app: &AppHandle) {
    #[cfg(any(target_os = "linux", windows))]
    {
        // Installs ~/.local/share/applications/…-handler.desktop (or the registry entry)
        // so a build that was not installed by a package still receives its links. An
        // installed package's own entry already does, and is left in charge.
        #[cfg(target_os = "linux")]
        let handled = scheme_handled_by_this_ferry();
        #[cfg(not(target_os = "linux"))]
        let handled = false;
        let registered = if handled {
            tracing::info!(
                "ferry:// already opens this Ferry (a desktop entry); not registering another"
            );
            true
        } else {
            register(app)
        };
        if let Some(Ok(core)) = app.try_state::<Shell>().map(|s| s.core.clone()) {
            core.set_deep_links_registered(registered);
        }
        let args = crate::args::current();
        for link in link_arguments(&args) {
            dispatch(app, link);
        }
    }
    #[cfg(target_os = "macos")]
    {
        use tauri_plugin_deep_link::DeepLinkExt;
        let handle = app.clone();
        app.deep_link().on_open_url(move |event| {
            for url in event.urls() {
                dispatch(&handle, url.as_str());
            }
        });
    }
}

#[cfg(any(target_os = "linux", windows))]
fn register(app: &AppHandle) -> bool {
    use tauri_plugin_deep_link::DeepLinkExt;
    match app.deep_link().register_all() {
        Ok(()) => true,
        Err(err) => {
            tracing::warn!(%err, "could not register the ferry:// scheme; Microsoft sign-ins will return over loopback");
            false
        }
    }
}

/// Whether the desktop's handler for `ferry://` (its default for the scheme, found in the
/// XDG data folders) starts this executable.
#[cfg(target_os = "linux")]
fn scheme_handled_by_this_ferry() -> bool {
    use std::path::{Path, PathBuf};
    let Ok(out) = std::process::Command::new("xdg-mime")
        .args(["query", "default", &format!("x-scheme-handler/{SCHEME}")])
        .output()
    else {
        return false;
    };
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let Ok(me) = std::env::current_exe().and_then(|p| p.canonicalize()) else {
        return false;
    };
    if id.is_empty() || id.contains('/') {
        return false;
    }
    let home = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    let dirs = std::env::var("XDG_DATA_DIRS")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "/usr/local/share:/usr/share".to_owned());
    let search: Vec<PathBuf> = home
        .into_iter()
        .chain(dirs.split(':').map(PathBuf::from))
        .collect();
    let resolve = |program: &str| -> Option<PathBuf> {
        let path = Path::new(program);
        if path.is_absolute() {
            return path.canonicalize().ok();
        }
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
            .and_then(|found| found.canonicalize().ok())
    };
    search.iter().any(|dir| {
        std::fs::read_to_string(dir.join("applications").join(&id))
            .ok()
            .and_then(|text| ferry_core::deeplink::desktop_entry_program(&text))
            .and_then(|program| resolve(&program))
            .is_some_and(|program| program == me)
    })
}

/// Another `ferry` process started and handed us its arguments before exiting.
pub fn on_second_instance(app: &AppHandle, args: &[String]) {
    let mut links = link_arguments(args).peekable();
    if args.iter().any(|arg| arg == window::HIDDEN_FLAG) {
        // Started for the tray (at login, or a restart that lost the race to a user's
        // launch): Ferry is already there, so there is nothing to show.
        tracing::info!("a second Ferry started hidden; this one stays as it is");
    } else if links.peek().is_none() {
        // Launching Ferry again means "show me Ferry".
        window::show_main(app);
    }
    for link in links {
        dispatch(app, link);
    }
}

fn dispatch(app: &AppHandle, raw: &str) {
    let Some(shell) = app.try_state::<Shell>() else {
        tracing::warn!("link arrived before Ferry finished starting; ignored");
        return;
    };
    let Ok(core) = &shell.core else {
        tracing::warn!("link arrived but Ferry failed to start; ignored");
        return;
    };
    match core.open_link(raw) {
        LinkOutcome::Ignored(_) => {}
        // Bring Ferry back in front of the browser the user just signed in with.
        LinkOutcome::NoPendingSignIn | LinkOutcome::SignInResponse => window::show_main(app),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ferry_arguments_are_links() {
        let args: Vec<String> = [
            "ferry",
            "--minimized",
            "FERRY://oauth/x",
            "ferry:",
            "https://x",
            "fer",
        ]
        .map(String::from)
        .to_vec();
        let links: Vec<&str> = link_arguments(&args).collect();
        assert_eq!(
            links,
            ["FERRY://oauth/x", "ferry:"],
            "the binary name and flags are skipped"
        );
    }
}

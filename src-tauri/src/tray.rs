//! The tray icon and its menu. All well: Sync now, Open Ferry, Quit Ferry. When accounts
//! need the user, the icon carries a red dot and the menu lists each one: Reconnect, or
//! Review for a sync that stopped to ask; when an update is downloaded and verified, the
//! menu offers it first.

use ferry_core::events::{CoreEvent, EventSink};
use ferry_core::views::{Attention, AttentionReason};
use tauri::image::Image;
use tauri::menu::{Menu, MenuBuilder, MenuItemBuilder};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

use crate::{window, Shell};

pub const TRAY_ID: &str = "ferry";
const OPEN: &str = "open";
const QUIT: &str = "quit";
const SYNC: &str = "sync";
const RECONNECT_PREFIX: &str = "reconnect:";
const REVIEW_PREFIX: &str = "review:";
const INSTALL_UPDATE: &str = "install-update";

/// What the tray shows besides its fixed items.
struct Shown {
    attention: Vec<Attention>,
    /// The version of an update that is downloaded and verified.
    update: Option<String>,
}

static SHOWN: std::sync::Mutex<Shown> = std::sync::Mutex::new(Shown {
    attention: Vec::new(),
    update: None,
});

const ATTENTION_ICON: &[u8] = include_bytes!("../../icons/tray-attention.png");

fn menu(
    app: &AppHandle,
    attention: &[Attention],
    update: Option<&str>,
) -> tauri::Result<Menu<Wry>> {
    let mut builder = MenuBuilder::new(app);
    if let Some(version) = update {
        builder = builder
            .item(
                &MenuItemBuilder::with_id(
                    INSTALL_UPDATE,
                    format!("Update ready: restart into Ferry {version}"),
                )
                .build(app)?,
            )
            .separator();
    }
    for item in attention {
        let (id, text) = match item.reason {
            AttentionReason::SignIn => (
                format!("{RECONNECT_PREFIX}{}", item.account_id),
                format!("Reconnect {}", item.email),
            ),
            AttentionReason::ConfirmRemovals => (
                format!("{REVIEW_PREFIX}{}", item.account_id),
                format!("Review mail removals for {}", item.email),
            ),
        };
        builder = builder.item(&MenuItemBuilder::with_id(id, text).build(app)?);
    }
    if !attention.is_empty() {
        builder = builder.separator();
    }
    builder
        .item(&MenuItemBuilder::with_id(SYNC, "Sync now").build(app)?)
        .item(&MenuItemBuilder::with_id(OPEN, "Open Ferry").build(app)?)
        .separator()
        .item(&MenuItemBuilder::with_id(QUIT, "Quit Ferry").build(app)?)
        .build()
}

fn on_menu(app: &AppHandle, id: &str) {
    match id {
        OPEN => window::show_main(app),
        QUIT => {
            tracing::info!("quit chosen from the tray");
            app.exit(0);
        }
        INSTALL_UPDATE => {
            tracing::info!("update install chosen from the tray");
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                if let Err(err) = crate::updates::install(&app).await {
                    tracing::warn!(%err, "update install from the tray failed");
                }
            });
        }
        SYNC => {
            if let Some(Ok(core)) = app.try_state::<Shell>().map(|s| s.core.clone()) {
                tracing::info!("sync now chosen from the tray");
                core.check_now();
            }
        }
        other => {
            let event = if let Some(account) = other.strip_prefix(REVIEW_PREFIX) {
                CoreEvent::ReviewRequested(account.to_owned())
            } else if let Some(account) = other.strip_prefix(RECONNECT_PREFIX) {
                CoreEvent::ReconnectRequested(account.to_owned())
            } else {
                tracing::warn!(item = other, "unknown tray menu item");
                return;
            };
            window::show_main(app);
            if let Some(shell) = app.try_state::<Shell>() {
                shell.sink.emit(event);
            }
        }
    }
}

pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let mut tray = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip("Ferry")
        .menu(&menu(app, &[], None)?)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                window::show_main(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    tracing::info!("tray icon created");
    show_initial(app);
    Ok(())
}

/// Shows the accounts at start: the core raises `AttentionChanged` only on a change.
fn show_initial(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Some(Ok(core)) = app.try_state::<Shell>().map(|s| s.core.clone()) else {
            return;
        };
        let attention = core.attention().await;
        show(&app, attention);
    });
}

/// Rebuilds the icon and menu for the accounts needing the user (the core says when that
/// list changes; apart from updates, nothing else touches the tray).
pub fn show(app: &AppHandle, attention: Vec<Attention>) {
    SHOWN.lock().unwrap_or_else(|p| p.into_inner()).attention = attention;
    redraw(app);
}

/// Adds or removes the "Update ready" item.
pub fn show_update(app: &AppHandle, status: &ferry_core::updates::UpdateStatus) {
    let version = match status {
        ferry_core::updates::UpdateStatus::Ready { version, .. } => Some(version.clone()),
        _ => None,
    };
    {
        let mut shown = SHOWN.lock().unwrap_or_else(|p| p.into_inner());
        if shown.update == version {
            return;
        }
        shown.update = version;
    }
    redraw(app);
}

fn redraw(app: &AppHandle) {
    let handle = app.clone();
    // Menus and icons belong to the main thread.
    let _ = app.run_on_main_thread(move || {
        let (attention, update) = {
            let shown = SHOWN.lock().unwrap_or_else(|p| p.into_inner());
            (shown.attention.clone(), shown.update.clone())
        };
        if let Err(err) = apply(&handle, &attention, update.as_deref()) {
            tracing::warn!(%err, "could not update the tray");
        }
    });
}

fn apply(app: &AppHandle, attention: &[Attention], update: Option<&str>) -> tauri::Result<()> {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return Ok(());
    };
    tray.set_menu(Some(menu(app, attention, update)?))?;
    let mut text = if attention.is_empty() {
        tray.set_icon(app.default_window_icon().cloned())?;
        "Ferry: all accounts connected".to_owned()
    } else {
        tray.set_icon(Some(Image::from_bytes(ATTENTION_ICON)?))?;
        let signing_in: Vec<&Attention> = attention
            .iter()
            .filter(|a| a.reason == AttentionReason::SignIn)
            .collect();
        let reviews = attention.len() - signing_in.len();
        let mut parts = Vec::new();
        match signing_in.as_slice() {
            [] => {}
            [one] => parts.push(format!("{} needs you to sign in again", one.email)),
            many => parts.push(format!("{} accounts need you to sign in again", many.len())),
        }
        match reviews {
            0 => {}
            1 => parts.push("a mail sync waits for your answer".to_owned()),
            n => parts.push(format!("{n} mail syncs wait for your answer")),
        }
        format!("Ferry: {}", parts.join("; "))
    };
    if let Some(version) = update {
        text.push_str(&format!(". Update ready: Ferry {version}"));
    }
    tray.set_tooltip(Some(text))?;
    Ok(())
}

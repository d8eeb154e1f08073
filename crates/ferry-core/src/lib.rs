//! Ferry's core, with no knowledge of Tauri.
//!
//! The desktop shell in `src-tauri/` owns windows, the tray and plugins; it builds a
//! [`Core`] at start-up and turns each UI command into one call on it. Everything that
//! decides something lives here and is tested headless:
//!
//! - [`Core`]: the facade; its services ([`sign_in`], [`tokens`], [`keeper`], [`alerts`])
//!   share one context (store, vault, clock, events, provider settings, HTTP client).
//! - [`store`]: the SQLite database (WAL, migrations, refusing a newer schema), and all SQL.
//! - [`vault`]: the OS keychain holds one root key; tokens are sealed under keys from it.
//! - [`oauth`]: the protocol: sign-in flows (PKCE, signed `state`, callbacks, id_tokens),
//!   refresh, the loopback listener, lifetimes read from outside.
//! - [`deeplink`]: `ferry://` URLs parsed against an allowlist into typed values.
//! - [`logging`]: daily rolling log files, never a secret in them; [`diagnostics`] the
//!   report for support, addresses and tokens masked.
//! - [`providers`]: Google's and Microsoft's rules, one folder each, and where Ferry reaches
//!   them (real, or the sandbox).
//! - [`services`]: mail, calendar, contacts: one type everywhere.
//! - [`clock`]: injected time, so tests can move it.
//! - [`updates`]: when to look for a new version, and what to tell the user.
//! - [`sync`]: bringing mail (then calendar and contacts) into the store: Gmail and Outlook
//!   engines on one budget, session and checkpoint design, run by the keeper.
//! - [`inbox`]: the unified inbox the window shows: lists across accounts (one row per
//!   `Message-ID`), search and its language, the reading pane's safe HTML, attachments.
//! - [`slim`]: when Ferry restarts itself in the tray to give back a closed window's memory.
//! - [`views`]: what the UI and the tray show, built from the store's records.
//! - [`events`]: what the core tells the UI and the tray, coalesced, through a sink the
//!   shell provides.
//! - [`error`]: the `{code, message}` shape every failure takes at the UI boundary.
//!
//! What must never happen: a secret in plain text on disk, in a log line or across IPC; a
//! panic on input from outside (links, callbacks, provider replies, the keychain); a
//! database written by a newer Ferry being altered by an older one.

pub mod account;
mod actor;
pub mod alerts;
pub mod args;
pub mod browser;
pub mod clock;
mod context;
mod core;
pub mod deeplink;
pub mod diagnostics;
pub mod error;
pub mod events;
mod export;
pub mod help;
pub mod inbox;
pub mod keeper;
pub mod logging;
pub mod oauth;
pub mod profile;
pub mod providers;
pub mod services;
pub mod sign_in;
pub mod slim;
pub mod store;
pub mod sync;
pub mod tokens;
pub mod updates;
pub mod vault;
pub mod views;

pub use crate::core::{AppInfo, Core, CoreConfig, LinkOutcome, Platform, Removed};
pub use error::{AppError, ErrorCode};

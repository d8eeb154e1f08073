//! The provider sandbox: a local Google and Microsoft for Ferry's tests, benchmarks and
//! demo. It is never linked into Ferry; Ferry reaches it only through configuration
//! (provider URLs), exactly as it reaches the real providers.
//!
//! - [`Sandbox::start`] serves both providers and a control API on 127.0.0.1 and stops
//!   when dropped. `cargo run -p ferry-sandbox` does the same from the command line.
//! - [`google`] and [`microsoft`] follow `shared/provider-reference.md`: same paths,
//!   parameters, JSON bodies and errors, including where the providers depart from the RFCs.
//! - [`control`] lets a test create users and clients, revoke grants, change passwords,
//!   move the virtual clock, inject faults and read the request log; [`mail`] generates
//!   mailboxes and acts on them as another mail client would.
//! - [`browser`] signs in through the same HTML forms a person would use.
//!
//! Everything the providers keep (users, grants, codes, tokens) lives in one [`world::World`]
//! behind a mutex; time is the world's virtual clock, so a test can age tokens by days.

pub mod browser;
pub mod config;
pub mod control;
pub mod faults;
pub mod google;
mod html;
pub mod jwt;
pub mod mail;
pub mod microsoft;
mod oauth;
pub mod quota;
pub mod reqlog;
mod secrets;
mod server;
pub mod world;

pub use config::SandboxConfig;
pub use server::{Sandbox, SandboxError, SandboxOptions};
pub use world::{Client, NewClient, NewUser, Provider, User, World};

//! The account providers: who they are and where Ferry reaches them.

pub mod config;

pub use config::{ConfigError, GoogleSettings, MicrosoftSettings, ProviderSettings, Source};

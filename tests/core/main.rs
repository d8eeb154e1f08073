//! Integration tests of ferry-core, one binary. They use the real SQLite file and, where
//! the test session provides one, the real Secret Service.

mod accounts;
mod add_account;
mod app;
mod deeplink;
mod events;
mod generated;
mod inbox;
mod keeper;
mod loopback;
mod mail_store;
mod mail_sync;
mod providers;
mod signin;
mod store;
mod support;
mod vault;

//! Sync: bringing each account's mail, calendar and contacts into the local store.
//! What differs per service lives in its folder; [`mail`] is the first.

pub mod mail;

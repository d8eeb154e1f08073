//! The provider sandbox, tested in-process: OAuth round trips with the `oauth2` crate
//! through the scripted browser, each failure mode, the control API, and conformance of
//! its bodies with the official descriptions in `shared/specs/`.

#[macro_use]
mod support;

mod conformance;
mod control;
mod gmail;
mod google;
mod graph_mail;
mod microsoft;

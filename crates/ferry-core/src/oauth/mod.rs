//! OAuth 2.0 for a native app (RFC 8252, RFC 9700): which scopes a choice of services
//! needs, what a grant actually covers, and the signed `state` that ties a callback to
//! the sign-in that started it.

pub mod flow;
pub mod id_token;
pub mod lifetime;
pub mod loopback;
pub mod refresh;
pub mod services;
pub mod state;

pub use flow::{Begun, Identity, Revocation, SignInError, SignInFlows, SignedIn, TokenSet};
pub use services::{CalendarAccess, ServiceChoice, ServiceGrants};
pub use state::{StateClaims, StateError, StateSigner, STATE_TTL};

/// The HTTP client for provider endpoints: no redirects (a token endpoint must not send
/// us elsewhere; the oauth2 crate requires it) and a 30-second limit on every request.
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

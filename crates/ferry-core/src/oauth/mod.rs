//! OAuth 2.0 for a native app (RFC 8252, RFC 9700): which scopes a choice of services
//! needs, what a grant actually covers, and the signed `state` that ties a callback to
//! the sign-in that started it.

pub mod callback;
pub mod flow;
pub mod id_token;
pub mod lifetime;
pub mod loopback;
pub mod refresh;
pub mod state;

pub use crate::account::{Identity, TokenSet};
pub use crate::providers::Revocation;
pub use crate::services::{CalendarAccess, ServiceChoice, ServiceGrants};
pub use flow::{Begun, SignInError, SignInFlows, SignedIn};
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

/// Sends a GET to one of `provider`'s endpoints and reads its JSON reply: unreachable is a
/// network error, anything but a 2xx with the expected JSON a bad reply.
pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    provider: crate::providers::Provider,
) -> Result<T, flow::SignInError> {
    let response = request
        .send()
        .await
        .map_err(|_| flow::SignInError::Network(provider))?;
    if !response.status().is_success() {
        return Err(flow::SignInError::BadResponse(provider));
    }
    response
        .json()
        .await
        .map_err(|_| flow::SignInError::BadResponse(provider))
}

//! The loopback redirect listener (RFC 8252 §7.3): bound to 127.0.0.1 on a random port
//! for one sign-in, it accepts exactly one well-formed callback on the provider's path,
//! answers the browser with a short "return to Ferry" page, and closes. It also closes
//! when the sign-in is cancelled (dropped) or abandoned (timeout).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::deeplink::OAuthCallback;
use crate::provider::Provider;

/// How long a sign-in may sit in the browser before Ferry gives up on it.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(15 * 60);

const DONE_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Ferry</title>\
<style>body{font-family:system-ui,sans-serif;max-width:30rem;margin:4rem auto;text-align:center;color:#1c2330}</style>\
</head><body><h1>You can close this tab</h1><p>Ferry has your sign-in response. Return to Ferry to see your account.</p></body></html>";

const BAD_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Ferry</title></head>\
<body><h1>This is not a valid sign-in response</h1><p>Return to Ferry and try again.</p></body></html>";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoopbackError {
    #[error("the browser did not come back within the time allowed")]
    TimedOut,
    #[error("the sign-in listener stopped")]
    Closed,
}

type Slot = Arc<Mutex<Option<oneshot::Sender<OAuthCallback>>>>;

/// A listener waiting for one callback. Dropping it stops the listener.
pub struct LoopbackListener {
    redirect_uri: String,
    addr: SocketAddr,
    received: oneshot::Receiver<OAuthCallback>,
    stop: Option<oneshot::Sender<()>>,
    timeout: Duration,
}

impl LoopbackListener {
    /// Binds 127.0.0.1 on a free port and serves `/oauth/{provider}`. Google gets the IP
    /// literal in its redirect URI (RFC 8252 §8.3); Microsoft matches registered loopback
    /// URIs by host and path, and its documented registration is `http://localhost`.
    pub async fn start(provider: Provider, timeout: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let path = format!("/oauth/{}", provider.as_str());
        let (sender, received) = oneshot::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let slot: Slot = Arc::new(Mutex::new(Some(sender)));
        let done = Arc::new(tokio::sync::Notify::new());
        let state = (provider, Arc::clone(&slot), Arc::clone(&done));
        let app = Router::new().route(&path, get(receive)).with_state(state);
        tokio::spawn(async move {
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    tokio::select! {
                        _ = stopped => {}
                        () = done.notified() => {}
                    }
                })
                .await;
            if let Err(err) = result {
                tracing::warn!(%err, "sign-in listener failed");
            }
        });
        tracing::info!(
            port = addr.port(),
            "listening for the sign-in callback on loopback"
        );
        Ok(Self {
            redirect_uri: format!("http://{}:{}{path}", redirect_host(provider), addr.port()),
            addr,
            received,
            stop: Some(stop),
            timeout,
        })
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the callback; the listener closes once it arrives or time runs out.
    pub async fn callback(mut self) -> Result<OAuthCallback, LoopbackError> {
        let outcome = tokio::time::timeout(self.timeout, &mut self.received).await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match outcome {
            Ok(Ok(callback)) => Ok(callback),
            Ok(Err(_)) => Err(LoopbackError::Closed),
            Err(_) => Err(LoopbackError::TimedOut),
        }
    }
}

fn redirect_host(provider: Provider) -> &'static str {
    match provider {
        Provider::Google => "127.0.0.1",
        Provider::Microsoft => "localhost",
    }
}

impl Drop for LoopbackListener {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn receive(
    State((provider, slot, done)): State<(Provider, Slot, Arc<tokio::sync::Notify>)>,
    RawQuery(query): RawQuery,
) -> impl IntoResponse {
    let query = query.unwrap_or_default();
    let parsed = OAuthCallback::from_query(provider, url::form_urlencoded::parse(query.as_bytes()));
    let callback = match parsed {
        Ok(callback) => callback,
        Err(err) => {
            // Keep waiting: a stray or forged request must not end the sign-in.
            tracing::warn!(reason = %err, "ignored a malformed sign-in callback");
            return (StatusCode::BAD_REQUEST, Html(BAD_PAGE));
        }
    };
    let sender = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    match sender {
        Some(sender) => {
            let _ = sender.send(callback);
            done.notify_one();
            (StatusCode::OK, Html(DONE_PAGE))
        }
        None => (StatusCode::GONE, Html(BAD_PAGE)),
    }
}

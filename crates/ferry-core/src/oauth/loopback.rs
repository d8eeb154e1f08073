//! The loopback redirect listener (RFC 8252 §7.3): bound to 127.0.0.1 on a random port
//! for one sign-in, it accepts exactly one callback on the provider's path that the
//! sign-in recognises (its filter), answers the browser with a short "return to Ferry"
//! page, and closes. It also closes when the sign-in is cancelled (dropped) or abandoned
//! (timeout).
//!
//! Anything on this machine can connect to the port, so the listener defends itself: a
//! request must arrive whole within [`HEADER_TIMEOUT`], a connection lives at most
//! [`CONNECTION_TIMEOUT`], at most [`MAX_CONNECTIONS`] are open at once (a new one closes
//! the oldest, so idle connections cannot crowd out the browser's), and when the listener
//! closes every connection goes with it.
//! Requests that are malformed or not for the sign-in in progress get an error page and
//! leave the sign-in waiting for its own.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{AbortHandle, JoinSet};

use super::callback::OAuthCallback;
use crate::providers::Provider;

/// How long a sign-in may sit in the browser before Ferry gives up on it.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// A browser sends its request at once; a connection still sending headers after this
/// is dropped.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest one connection is kept, whatever it does.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections open at once; a browser needs one or two.
pub const MAX_CONNECTIONS: usize = 16;
/// After the callback, how long the browser has to read its page before the listener
/// closes everything.
const CLOSING_GRACE: Duration = Duration::from_secs(2);

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

/// Decides whether a well-formed callback is the sign-in's own (its state verifies and
/// names the pending sign-in). Called for each request; must not block.
pub type CallbackFilter = Arc<dyn Fn(&OAuthCallback) -> bool + Send + Sync>;

/// What every connection's handler shares.
struct Shared {
    path: String,
    provider: Provider,
    filter: CallbackFilter,
    slot: Mutex<Option<oneshot::Sender<OAuthCallback>>>,
    done: tokio::sync::Notify,
}

/// A listener waiting for one callback. Dropping it stops the listener.
pub struct LoopbackListener {
    redirect_uri: String,
    addr: SocketAddr,
    received: oneshot::Receiver<OAuthCallback>,
    stop: Option<oneshot::Sender<()>>,
    timeout: Duration,
}

impl LoopbackListener {
    /// Binds 127.0.0.1 on a free port and serves `/oauth/{provider}`. Both providers get
    /// the IP literal in the redirect URI (RFC 8252 §8.3): `localhost` may resolve to
    /// `::1`, where another program could be listening on the same port.
    pub async fn start(
        provider: Provider,
        timeout: Duration,
        filter: CallbackFilter,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let path = format!("/oauth/{}", provider.as_str());
        let (sender, received) = oneshot::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let shared = Arc::new(Shared {
            path: path.clone(),
            provider,
            filter,
            slot: Mutex::new(Some(sender)),
            done: tokio::sync::Notify::new(),
        });
        tokio::spawn(serve(listener, shared, stopped));
        tracing::info!(
            port = addr.port(),
            "listening for the sign-in callback on loopback"
        );
        Ok(Self {
            redirect_uri: format!("http://127.0.0.1:{}{path}", addr.port()),
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

impl Drop for LoopbackListener {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Accepts connections until stopped or answered, then closes the port and every
/// connection still open.
async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stopped: oneshot::Receiver<()>) {
    let mut connections = JoinSet::new();
    let mut open: VecDeque<AbortHandle> = VecDeque::new();
    let answered = loop {
        tokio::select! {
            _ = &mut stopped => break false,
            () = shared.done.notified() => break true,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                // At the cap, the oldest connection makes room: a flood cannot take
                // Ferry's descriptors, and the newest (the browser's) is served.
                open.retain(|c| !c.is_finished());
                while open.len() >= MAX_CONNECTIONS {
                    if let Some(oldest) = open.pop_front() {
                        oldest.abort();
                    }
                }
                let shared = Arc::clone(&shared);
                let handle = connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let response = shared.answer(&request);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let connection = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_TIMEOUT)
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service);
                    let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
                });
                open.push_back(handle);
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    };
    drop(listener);
    if answered {
        // Let the browser read its page; the rest are cut off below.
        let _ = tokio::time::timeout(CLOSING_GRACE, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
    }
    connections.shutdown().await;
}

impl Shared {
    fn answer(&self, request: &Request<Incoming>) -> Response<String> {
        if request.method() != Method::GET || request.uri().path() != self.path {
            return page(StatusCode::NOT_FOUND, BAD_PAGE);
        }
        let query = request.uri().query().unwrap_or_default();
        let parsed =
            OAuthCallback::from_query(self.provider, url::form_urlencoded::parse(query.as_bytes()));
        let callback = match parsed {
            Ok(callback) => callback,
            Err(err) => {
                // Keep waiting: a stray or forged request must not end the sign-in.
                tracing::warn!(reason = %err, "ignored a malformed sign-in callback");
                return page(StatusCode::BAD_REQUEST, BAD_PAGE);
            }
        };
        if !(self.filter)(&callback) {
            tracing::warn!("ignored a sign-in callback that is not for the sign-in in progress");
            return page(StatusCode::BAD_REQUEST, BAD_PAGE);
        }
        let sender = self.slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        match sender {
            Some(sender) => {
                let _ = sender.send(callback);
                self.done.notify_one();
                page(StatusCode::OK, DONE_PAGE)
            }
            None => page(StatusCode::GONE, BAD_PAGE),
        }
    }
}

fn page(status: StatusCode, body: &'static str) -> Response<String> {
    let mut response = Response::new(body.to_owned());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

//! Starting and stopping the sandbox: one listener per provider plus the control API,
//! all on 127.0.0.1, and the middleware that logs requests and applies faults.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::SandboxConfig;
use crate::faults::FaultAction;
use crate::reqlog::RequestRecord;
use crate::world::{Urls, World};
use crate::{control, google, microsoft};

/// Bodies larger than this are refused; the providers' forms are tiny.
const MAX_BODY: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// 0 picks a free port.
    pub google_port: u16,
    pub microsoft_port: u16,
    pub control_port: u16,
    pub config: SandboxConfig,
    /// Create the demo users and clients (see [`control::seed_demo`]).
    pub seed_demo: bool,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            google_port: 0,
            microsoft_port: 0,
            control_port: 0,
            config: SandboxConfig::default(),
            seed_demo: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("could not listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
}

/// A running sandbox. Dropping it stops the servers.
pub struct Sandbox {
    world: Arc<World>,
    urls: Urls,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sandbox {
    pub async fn start(options: SandboxOptions) -> Result<Self, SandboxError> {
        let world = Arc::new(World::new(options.config));
        let bind = |port: u16| async move {
            TcpListener::bind((Ipv4Addr::LOCALHOST, port))
                .await
                .map_err(|source| SandboxError::Bind { port, source })
        };
        let google = bind(options.google_port).await?;
        let microsoft = bind(options.microsoft_port).await?;
        let control = bind(options.control_port).await?;
        let url = |listener: &TcpListener| {
            listener
                .local_addr()
                .map(|addr: SocketAddr| format!("http://{addr}"))
                .unwrap_or_default()
        };
        let urls = Urls {
            google: url(&google),
            microsoft: url(&microsoft),
            control: url(&control),
        };
        world.set_urls(urls.clone());
        if options.seed_demo {
            control::seed_demo(&world);
        }

        let observed = |router: Router, service: &'static str| {
            router.layer(middleware::from_fn_with_state(
                (Arc::clone(&world), service),
                observe,
            ))
        };
        let (shutdown, _) = watch::channel(false);
        let serve = |listener: TcpListener, router: Router| {
            let mut stop = shutdown.subscribe();
            tokio::spawn(async move {
                let result = axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|stopped| *stopped).await;
                    })
                    .await;
                if let Err(err) = result {
                    tracing::warn!(%err, "sandbox server stopped with an error");
                }
            })
        };
        let tasks = vec![
            serve(
                google,
                observed(google::router(Arc::clone(&world)), "google"),
            ),
            serve(
                microsoft,
                observed(microsoft::router(Arc::clone(&world)), "microsoft"),
            ),
            serve(control, control::router(Arc::clone(&world))),
        ];
        tracing::info!(google = %urls.google, microsoft = %urls.microsoft, control = %urls.control, "sandbox listening");
        Ok(Self {
            world,
            urls,
            shutdown,
            tasks,
        })
    }

    pub fn google_url(&self) -> &str {
        &self.urls.google
    }

    pub fn microsoft_url(&self) -> &str {
        &self.urls.microsoft
    }

    pub fn control_url(&self) -> &str {
        &self.urls.control
    }

    pub fn world(&self) -> &Arc<World> {
        &self.world
    }

    /// Stops the servers and waits for them to finish.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Logs the request, adds the configured latency, and applies an injected fault.
async fn observe(
    State((world, service)): State<(Arc<World>, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    };
    let grant_type = path
        .ends_with("/token")
        .then(|| {
            url::form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == "grant_type")
                .map(|(_, v)| v.into_owned())
        })
        .flatten();

    let latency = world.config().latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let fault = world
        .faults
        .take(service, &method, &path, grant_type.as_deref());
    let response = match fault {
        None => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Some(FaultAction::Latency { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Some(FaultAction::Respond {
            status,
            body,
            content_type,
            retry_after_s,
            headers,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (status, body).into_response();
            let content_type =
                content_type.unwrap_or_else(|| "application/json; charset=utf-8".into());
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            if let Some(seconds) = retry_after_s {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    header::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        Some(FaultAction::MalformedJson) => {
            let mut response = (StatusCode::OK, "{\"access_token\": \"ya29.trunc").into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            response
        }
        Some(FaultAction::Aadsts { code }) => microsoft::aadsts_error(&world, code),
        Some(FaultAction::Drop) => dropped_connection(),
    };
    world.log.push(RequestRecord {
        seq: 0,
        at_unix: world.clock.unix(),
        service: service.to_owned(),
        method,
        path,
        grant_type,
        status: response.status().as_u16(),
        in_batch: false,
    });
    response
}

/// A response whose body fails at once: the server closes the connection mid-answer.
fn dropped_connection() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected drop",
        ))
    });
    let mut response = Response::new(Body::from_stream(failing));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

//! Add account and Reconnect, as the UI drives them: one sign-in at a time, opened in the
//! system browser, finished by a loopback callback (Google, and Microsoft where
//! `ferry://` is not registered) or a `ferry://` link (Microsoft), then saved.
//!
//! Progress is reported as [`SignInUpdate`] events for the sign-in's `flow_id`. Whatever
//! goes wrong, nothing is stored and the update says why in plain words.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::alerts::Alerts;
use crate::browser::SystemBrowser;
use crate::context::Context;
use crate::error::{capitalise, AppError, ErrorCode};
use crate::events::{CoreEvent, NoticeLevel, SignInStage, SignInUpdate};
use crate::keeper::Keeper;
use crate::oauth::callback::OAuthCallback;
use crate::oauth::loopback::{CallbackFilter, LoopbackError, LoopbackListener, SIGN_IN_TIMEOUT};
use crate::oauth::{ServiceChoice, SignInError, SignInFlows, StateSigner, STATE_TTL};
use crate::providers::Provider;
use crate::store::signed_in::{self, SaveError};

/// Where Microsoft sends the browser back when `ferry://` is registered with the OS.
pub const MICROSOFT_LINK_REDIRECT: &str = "ferry://oauth/microsoft";

/// What the user asked for in the Add account dialog (or on an account's page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SignInRequest {
    pub provider: Provider,
    pub services: ServiceChoice,
    /// Reconnect this account: the sign-in must come back as the same account.
    pub reconnect: Option<String>,
}

/// A sign-in waiting in the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SignInStarted {
    pub flow_id: String,
    /// How the browser will come back: `loopback` or `link` (`ferry://`).
    pub return_path: ReturnPath,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ReturnPath {
    Loopback,
    Link,
}

/// The one sign-in in progress.
struct ActiveSignIn {
    flow_id: String,
    provider: Provider,
    reconnect: Option<String>,
    /// Waits for the loopback callback, or for the time limit of a `ferry://` sign-in.
    waiter: JoinHandle<()>,
}

impl From<SignInError> for AppError {
    fn from(err: SignInError) -> Self {
        let message = match &err {
            SignInError::Denied => {
                "You declined access in the browser, so nothing was added.".to_owned()
            }
            other => capitalise(&format!("{other}.")),
        };
        AppError::new(ErrorCode::SignIn, message)
    }
}

impl From<SaveError> for AppError {
    fn from(err: SaveError) -> Self {
        match err {
            SaveError::DifferentAccount { .. } => {
                AppError::new(ErrorCode::SignIn, capitalise(&err.to_string()))
            }
            SaveError::NoSuchAccount => AppError::account_gone(),
            SaveError::Store(store) => store.into(),
        }
    }
}

/// Add account and Reconnect: the one sign-in in progress, and how it ends. Held by
/// [`crate::Core`] as `Arc<SignIn>`.
pub(crate) struct SignIn {
    ctx: Context,
    alerts: Alerts,
    /// Woken when an account is saved, so its sync starts at once.
    keeper: Keeper,
    browser: Arc<dyn SystemBrowser>,
    flows: SignInFlows,
    active: Mutex<Option<ActiveSignIn>>,
    /// Whether the OS hands `ferry://` links to Ferry (else Microsoft uses loopback).
    deep_links: AtomicBool,
}

impl SignIn {
    pub fn new(
        ctx: Context,
        alerts: Alerts,
        keeper: Keeper,
        browser: Arc<dyn SystemBrowser>,
    ) -> Self {
        Self {
            ctx,
            alerts,
            keeper,
            browser,
            flows: SignInFlows::new(),
            active: Mutex::new(None),
            deep_links: AtomicBool::new(cfg!(not(target_os = "linux"))),
        }
    }

    /// The shell reports whether the OS will hand `ferry://` links to Ferry. On Linux
    /// that depends on registering a desktop handler at start, which can fail.
    pub fn set_deep_links_registered(&self, registered: bool) {
        self.deep_links.store(registered, Ordering::Relaxed);
    }

    fn deep_links_registered(&self) -> bool {
        self.deep_links.load(Ordering::Relaxed)
    }

    fn active(&self) -> std::sync::MutexGuard<'_, Option<ActiveSignIn>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, flow_id: &str, stage: SignInStage) {
        self.ctx.events.emit(CoreEvent::SignIn(SignInUpdate {
            flow_id: flow_id.to_owned(),
            stage,
        }));
    }

    async fn signer(&self) -> Result<StateSigner, AppError> {
        let root = self.ctx.vault.root().await?;
        Ok(StateSigner::new(root.state_key()))
    }

    /// Starts a sign-in and opens the provider's page in the system browser. A sign-in
    /// already in progress is cancelled: the dialog is modal, so only one can be wanted.
    pub async fn begin(
        self: &Arc<Self>,
        request: SignInRequest,
    ) -> Result<SignInStarted, AppError> {
        if request.services.is_empty() {
            return Err(AppError::new(
                ErrorCode::Validation,
                "Choose at least one of Mail, Calendar or Contacts.",
            ));
        }
        if let Some(id) = &request.reconnect {
            let known = self.ctx.store.account_provider(id).await?;
            if known != Some(request.provider) {
                return Err(AppError::account_gone());
            }
        }
        // The keychain is asked first: if it is locked or missing, the user hears so before
        // signing in, not after.
        let signer = self.signer().await?;
        let provider = request.provider;
        let use_link = provider.returns_by_link() && self.deep_links_registered();
        let listener = if use_link {
            None
        } else {
            Some(
                LoopbackListener::start(provider, SIGN_IN_TIMEOUT, self.loopback_filter(&signer))
                    .await
                    .map_err(|err| {
                        AppError::new(
                            ErrorCode::Internal,
                            format!("Ferry could not listen for the browser's answer: {err}."),
                        )
                    })?,
            )
        };
        let redirect = listener
            .as_ref()
            .map_or(MICROSOFT_LINK_REDIRECT, |l| l.redirect_uri())
            .to_owned();
        self.cancel_active();
        let begun = self.flows.begin(
            &self.ctx.providers,
            &signer,
            provider,
            request.services,
            &redirect,
            self.ctx.clock.now(),
        )?;
        let flow_id = begun.flow_id.clone();
        let core = Arc::clone(self);
        // The time limit runs on the injected clock; the listener's own is a backstop.
        let deadline = self.ctx.clock.sleep_until(self.ctx.clock.now() + STATE_TTL);
        let flow = flow_id.clone();
        let waiter = match listener {
            Some(listener) => self.ctx.runtime.spawn(async move {
                tokio::select! {
                    outcome = listener.callback() => match outcome {
                        Ok(callback) => core.complete(callback).await,
                        Err(LoopbackError::TimedOut) => core.abandon(&flow),
                        Err(LoopbackError::Closed) => {}
                    },
                    () = deadline => core.abandon(&flow),
                }
            }),
            None => self.ctx.runtime.spawn(async move {
                deadline.await;
                core.abandon(&flow);
            }),
        };
        *self.active() = Some(ActiveSignIn {
            flow_id: flow_id.clone(),
            provider,
            reconnect: request.reconnect,
            waiter,
        });
        if let Err(reason) = self.browser.open(&begun.authorization_url) {
            tracing::warn!(%reason, "could not open the browser");
            self.cancel(&flow_id);
            return Err(AppError::new(
                ErrorCode::Browser,
                format!("Ferry could not open your web browser ({reason}). Set a default browser and try again."),
            ));
        }
        Ok(SignInStarted {
            flow_id,
            return_path: if use_link {
                ReturnPath::Link
            } else {
                ReturnPath::Loopback
            },
        })
    }

    /// What the loopback listener lets through: only a response to a sign-in in progress.
    /// Anything else is answered with an error page and reported, and the listener keeps
    /// waiting for the real one.
    fn loopback_filter(self: &Arc<Self>, signer: &StateSigner) -> CallbackFilter {
        let core = Arc::downgrade(self);
        let signer = signer.clone();
        Arc::new(move |callback: &OAuthCallback| {
            let Some(core) = core.upgrade() else {
                return false;
            };
            let ours = core
                .flows
                .recognises(&signer, callback, core.ctx.clock.now());
            if !ours {
                core.ctx.notice(
                    NoticeLevel::Warning,
                    "Ferry ignored a sign-in response that was not for the sign-in in progress. \
                     It is still waiting for your browser."
                        .to_owned(),
                );
            }
            ours
        })
    }

    /// Cancel in the dialog. Returns whether that sign-in was still in progress.
    pub fn cancel(&self, flow_id: &str) -> bool {
        self.end_if_active(flow_id, SignInStage::Cancelled)
    }

    /// Cancels whatever sign-in is in progress (a new one starts, or Ferry shuts down).
    pub fn cancel_active(&self) {
        let taken = self.active().take();
        if let Some(taken) = taken {
            self.end(taken, SignInStage::Cancelled);
        }
    }

    /// The waiter may be the task calling this (a loopback callback, the time limit).
    /// Aborting it then takes effect at its next `.await`, and callers await nothing after
    /// ending a sign-in, so they run to completion.
    fn end(&self, active: ActiveSignIn, stage: SignInStage) {
        active.waiter.abort();
        self.flows.cancel(&active.flow_id);
        tracing::info!(provider = %active.provider, outcome = stage_name(&stage), "sign-in ended");
        self.update(&active.flow_id, stage);
    }

    /// Ends the sign-in `flow_id` (if it is still the active one) with `stage`.
    fn end_if_active(&self, flow_id: &str, stage: SignInStage) -> bool {
        let mut active = self.active();
        if active.as_ref().is_none_or(|a| a.flow_id != flow_id) {
            return false;
        }
        let taken = active.take();
        drop(active);
        if let Some(taken) = taken {
            self.end(taken, stage);
        }
        true
    }

    fn abandon(&self, flow_id: &str) {
        self.end_if_active(
            flow_id,
            SignInStage::Failed {
                error: AppError::new(
                    ErrorCode::SignIn,
                    "The browser did not come back within 15 minutes, so the sign-in was \
                     stopped. Nothing was added; start again when you are ready.",
                ),
            },
        );
    }

    /// Whether a `ferry://` response can be taken now (a sign-in is waiting for one).
    pub fn pending(&self) -> bool {
        self.active().is_some()
    }

    /// Finishes the active sign-in with the browser's response: from the loopback listener
    /// or a `ferry://` link. A response that cannot belong to it (forged, stale, replayed:
    /// its state does not verify or names no pending sign-in) is reported and the sign-in
    /// keeps waiting, so a web page opening a forged link cannot end it; one that carries
    /// this sign-in's state but fails a later check (issuer, id_token) ends it.
    pub async fn complete(self: &Arc<Self>, callback: OAuthCallback) {
        let Some((flow_id, reconnect)) = self
            .active()
            .as_ref()
            .map(|a| (a.flow_id.clone(), a.reconnect.clone()))
        else {
            self.no_sign_in_waiting(callback.provider);
            return;
        };
        self.update(&flow_id, SignInStage::Finishing);
        let outcome = self.finish_and_save(callback, reconnect.as_deref()).await;
        match outcome {
            Ok((account_id, email, created)) => {
                let ended = self.end_if_active(
                    &flow_id,
                    SignInStage::Done {
                        account_id: account_id.clone(),
                        email: email.clone(),
                        created,
                    },
                );
                if ended {
                    self.ctx.account_changed(&account_id);
                    // Its mail (and anything else due) starts now, not at the next tick.
                    self.keeper.wake();
                    // A reconnect may end an incident: its notification goes.
                    self.alerts.review_soon();
                    self.ctx.notice(
                        NoticeLevel::Info,
                        if reconnect.is_some() {
                            format!("{email} is reconnected.")
                        } else if created {
                            format!("{email} is added.")
                        } else {
                            format!("{email} was already in Ferry; its sign-in is updated.")
                        },
                    );
                }
            }
            Err(Stale(err)) => {
                // A response for an earlier sign-in: tell the user; the current one waits on.
                self.ctx.notice(
                    NoticeLevel::Warning,
                    format!(
                        "Ferry ignored a sign-in response: {err}. The sign-in in progress is \
                         still waiting for your browser."
                    ),
                );
            }
            Err(Fatal(error)) => {
                tracing::warn!(code = ?error.code, %error, "sign-in failed");
                self.end_if_active(&flow_id, SignInStage::Failed { error });
            }
        }
    }

    pub fn no_sign_in_waiting(&self, provider: Provider) {
        self.ctx.notice(
            NoticeLevel::Warning,
            format!(
                "Ferry received a sign-in response from {provider}, but no sign-in is in \
                 progress. To add an account, start again from Add account."
            ),
        );
    }

    async fn finish_and_save(
        self: &Arc<Self>,
        callback: OAuthCallback,
        reconnect: Option<&str>,
    ) -> Result<(String, String, bool), Failure> {
        let signer = self.signer().await.map_err(Fatal)?;
        let mut signed = self
            .flows
            .finish(&self.ctx.providers, &signer, callback, self.ctx.clock.now())
            .await
            .map_err(|err| match err {
                SignInError::NotPending | SignInError::Expired | SignInError::Unverified => {
                    Stale(err.to_string())
                }
                other => Fatal(other.into()),
            })?;
        // Where the provider's rules end every grant (a Google project in Testing status).
        if signed.tokens.grant_expires_at.is_none() {
            signed.tokens.grant_expires_at = signed
                .provider
                .grant_end(&self.ctx.providers, self.ctx.clock.now());
        }
        // Cancel may have been pressed while the code was being exchanged.
        if self
            .active()
            .as_ref()
            .is_none_or(|a| a.flow_id != signed.flow_id)
        {
            return Err(Stale("that sign-in was cancelled".into()));
        }
        let root = self.ctx.vault.root().await.map_err(|e| Fatal(e.into()))?;
        let record = signed_in::NewSignIn {
            provider: signed.provider,
            identity: &signed.identity,
            tokens: &signed.tokens,
            requested: &signed.requested,
            granted: &signed.granted,
            reconnect,
        };
        let saved = signed_in::save(
            self.ctx.store.writer(),
            &root,
            &record,
            self.ctx.clock.now(),
        )
        .await
        .map_err(|e| Fatal(e.into()))?;
        tracing::info!(
            provider = %signed.provider,
            created = saved.created,
            "account saved"
        );
        Ok((saved.account_id, signed.identity.email, saved.created))
    }
}

enum Failure {
    /// Not for the sign-in in progress; it keeps waiting.
    Stale(String),
    /// Ends the sign-in in progress.
    Fatal(AppError),
}
use Failure::{Fatal, Stale};

fn stage_name(stage: &SignInStage) -> &'static str {
    match stage {
        SignInStage::Finishing => "finishing",
        SignInStage::Done { .. } => "done",
        SignInStage::Failed { .. } => "failed",
        SignInStage::Cancelled => "cancelled",
    }
}

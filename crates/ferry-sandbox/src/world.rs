//! Everything the simulated providers know, behind one mutex, on a virtual clock.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::config::SandboxConfig;
use crate::faults::Faults;
use crate::jwt::Signers;
use crate::quota::Quotas;
use crate::reqlog::RequestLog;
use crate::secrets;

/// The tenant id Microsoft gives every personal (MSA) account.
pub const MSA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Google,
    Microsoft,
}

impl Provider {
    pub fn display_name(self) -> &'static str {
        match self {
            Provider::Google => "Google",
            Provider::Microsoft => "Microsoft",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: String,
    pub provider: Provider,
    pub email: String,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    #[serde(skip)]
    pub password: String,
    /// Google: the stable `sub`. Microsoft: the `oid` (pairwise `sub`s derive from it).
    pub subject: String,
    /// Microsoft: the tenant id (`MSA_TENANT` for personal accounts).
    pub tenant: Option<String>,
    /// Google Workspace domain (`hd`).
    pub hosted_domain: Option<String>,
    /// Bumped by a password change; tokens remember the epoch they were issued in.
    pub password_epoch: u32,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub provider: Option<Provider>,
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub password: Option<String>,
    /// Microsoft work account tenant id; none means a personal account.
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub hosted_domain: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub client_id: String,
    pub provider: Provider,
    pub name: String,
    /// Google: revoking a grant removes it for every client of the project.
    pub project: String,
    #[serde(skip)]
    pub secret: Option<String>,
    /// Microsoft: registered redirect URIs (port ignored for `http://localhost`).
    pub redirect_uris: Vec<String>,
    /// Google: the consent screen's publishing status is "Testing".
    pub testing: bool,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    pub provider: Option<Provider>,
    #[serde(default)]
    pub client_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub testing: bool,
}

/// An authorization request waiting for the user to sign in and consent.
#[derive(Debug, Clone)]
pub struct PendingFlow {
    pub provider: Provider,
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub scopes: Vec<String>,
    pub code_challenge: String,
    pub challenge_method: String,
    pub nonce: Option<String>,
    /// Microsoft: the `{tenant}` path segment the request came in on.
    pub tenant_segment: Option<String>,
    pub user_id: Option<String>,
    pub created_at: SystemTime,
}

#[derive(Debug, Clone)]
pub struct AuthCode {
    pub provider: Provider,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub challenge_method: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub issued_at: SystemTime,
    pub used: bool,
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub issued_at: SystemTime,
    pub last_used: SystemTime,
    /// When the user consented; Testing-status tokens die a fixed time after it.
    pub consented_at: SystemTime,
    pub password_epoch: u32,
    pub valid: bool,
    /// A newer token replaced this one (rotation); in strict mode, using it again is
    /// taken as theft and revokes the grant.
    pub rotated: bool,
}

impl RefreshToken {
    /// A fresh, valid token, issued and last used `now`.
    pub fn issued(
        client_id: &str,
        user: &User,
        scopes: &[String],
        now: SystemTime,
        consented_at: SystemTime,
    ) -> Self {
        Self {
            client_id: client_id.to_owned(),
            user_id: user.id.clone(),
            scopes: scopes.to_vec(),
            issued_at: now,
            last_used: now,
            consented_at,
            password_epoch: user.password_epoch,
            valid: true,
            rotated: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub expires_at: SystemTime,
    /// The refresh token this access token came with or from.
    pub refresh_token: Option<String>,
    pub valid: bool,
}

#[derive(Debug, Default)]
pub struct State {
    pub users: HashMap<String, User>,
    pub clients: HashMap<String, Client>,
    pub flows: HashMap<String, PendingFlow>,
    pub codes: HashMap<String, AuthCode>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub access_tokens: HashMap<String, AccessToken>,
    /// PKCE verifiers received and id_tokens issued, kept only so that tests can scan
    /// for them where they must never appear (`GET /control/secrets`).
    pub verifiers: Vec<String>,
    pub id_tokens: Vec<String>,
}

/// Where the sandbox listens, known once its sockets are bound.
#[derive(Debug, Clone)]
pub struct Urls {
    pub google: String,
    pub microsoft: String,
    pub control: String,
}

/// The virtual clock: real time plus an offset that only tests move.
#[derive(Debug, Default)]
pub struct VirtualClock {
    offset: Mutex<Duration>,
}

impl VirtualClock {
    #[allow(clippy::disallowed_methods)] // the sandbox's one reading of the wall clock
    pub fn now(&self) -> SystemTime {
        SystemTime::now() + *self.offset.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap_or_else(|p| p.into_inner()) += by;
    }

    pub fn unix(&self) -> u64 {
        unix(self.now())
    }
}

pub fn unix(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

pub struct World {
    pub clock: VirtualClock,
    config: RwLock<SandboxConfig>,
    state: Mutex<State>,
    pub signers: Signers,
    pub log: RequestLog,
    pub faults: Faults,
    pub quotas: Quotas,
    /// Gmail mailboxes by user id.
    pub gmail: crate::google::gmail::Mailboxes,
    /// Outlook mailboxes by user id.
    pub outlook: crate::microsoft::mail::Mailboxes,
    urls: OnceLock<Urls>,
}

impl World {
    pub fn new(config: SandboxConfig) -> Self {
        Self {
            clock: VirtualClock::default(),
            config: RwLock::new(config),
            state: Mutex::new(State::default()),
            signers: Signers::load(),
            log: RequestLog::default(),
            faults: Faults::default(),
            quotas: Quotas::default(),
            gmail: crate::google::gmail::Mailboxes::default(),
            outlook: crate::microsoft::mail::Mailboxes::default(),
            urls: OnceLock::new(),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn config(&self) -> SandboxConfig {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_config(&self, config: SandboxConfig) {
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = config;
    }

    pub(crate) fn set_urls(&self, urls: Urls) {
        let _ = self.urls.set(urls);
    }

    pub fn urls(&self) -> Urls {
        self.urls.get().cloned().unwrap_or(Urls {
            google: String::new(),
            microsoft: String::new(),
            control: String::new(),
        })
    }

    pub fn add_user(&self, new: NewUser) -> User {
        let provider = new.provider.unwrap_or(Provider::Google);
        let mut words = new.name.split_whitespace();
        let given_name = words.next().unwrap_or_default().to_owned();
        let family_name = words.collect::<Vec<_>>().join(" ");
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            provider,
            email: new.email.clone(),
            name: new.name,
            given_name,
            family_name,
            password: new.password.unwrap_or_else(|| "sandbox".into()),
            subject: match provider {
                Provider::Google => secrets::google_subject(),
                Provider::Microsoft => uuid::Uuid::new_v4().to_string(),
            },
            tenant: match provider {
                Provider::Google => None,
                Provider::Microsoft => Some(new.tenant.unwrap_or_else(|| MSA_TENANT.to_owned())),
            },
            hosted_domain: new.hosted_domain,
            password_epoch: 0,
        };
        self.state().users.insert(user.id.clone(), user.clone());
        user
    }

    pub fn add_client(&self, new: NewClient) -> Client {
        let provider = new.provider.unwrap_or(Provider::Google);
        let client_id = new.client_id.unwrap_or_else(|| match provider {
            Provider::Google => format!(
                "{}-{}.apps.googleusercontent.com",
                &secrets::random_hex(6),
                secrets::random_hex(8)
            ),
            Provider::Microsoft => uuid::Uuid::new_v4().to_string(),
        });
        let client = Client {
            project: new.project.unwrap_or_else(|| client_id.clone()),
            client_id,
            provider,
            name: new.name,
            secret: new.secret,
            redirect_uris: new.redirect_uris,
            testing: new.testing,
        };
        self.state()
            .clients
            .insert(client.client_id.clone(), client.clone());
        client
    }

    /// The registered client `client_id`, if it is one of `provider`'s.
    pub fn client(&self, provider: Provider, client_id: &str) -> Option<Client> {
        self.state()
            .clients
            .get(client_id)
            .filter(|c| c.provider == provider)
            .cloned()
    }

    /// The display name of a client, for the sign-in and consent pages.
    pub fn client_name(&self, client_id: &str) -> String {
        self.state()
            .clients
            .get(client_id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    }

    /// Stores an authorization code issued to `flow`'s client for `user_id` and `scopes`.
    pub fn store_code(&self, code: &str, flow: &PendingFlow, user_id: &str, scopes: Vec<String>) {
        let issued = AuthCode {
            provider: flow.provider,
            client_id: flow.client_id.clone(),
            user_id: user_id.to_owned(),
            redirect_uri: flow.redirect_uri.clone(),
            code_challenge: flow.code_challenge.clone(),
            challenge_method: flow.challenge_method.clone(),
            scopes,
            nonce: flow.nonce.clone(),
            issued_at: self.clock.now(),
            used: false,
        };
        self.state().codes.insert(code.to_owned(), issued);
    }

    pub fn find_user_by_email(&self, provider: Provider, email: &str) -> Option<User> {
        self.state()
            .users
            .values()
            .find(|u| u.provider == provider && u.email.eq_ignore_ascii_case(email))
            .cloned()
    }

    /// Kills every token the user holds for `client_id`, or for all clients when `None`.
    /// At Google a revocation covers every client of the same project.
    pub fn revoke_grants(&self, user_id: &str, client_id: Option<&str>) -> usize {
        let mut state = self.state();
        let projects: Option<String> = client_id
            .and_then(|id| state.clients.get(id))
            .map(|c| c.project.clone());
        let clients = state.clients.clone();
        let covered = |token_client: &str| match (&projects, client_id) {
            (None, None) => true,
            (Some(project), _) => clients
                .get(token_client)
                .is_some_and(|c| &c.project == project),
            (None, Some(id)) => token_client == id,
        };
        let mut killed = 0;
        for token in state.refresh_tokens.values_mut() {
            if token.user_id == user_id && token.valid && covered(&token.client_id) {
                token.valid = false;
                killed += 1;
            }
        }
        for token in state.access_tokens.values_mut() {
            if token.user_id == user_id && covered(&token.client_id) {
                token.valid = false;
            }
        }
        killed
    }

    /// The user changed their password: tokens issued before now remember the old epoch.
    pub fn change_password(&self, user_id: &str) -> bool {
        let mut state = self.state();
        match state.users.get_mut(user_id) {
            Some(user) => {
                user.password_epoch += 1;
                true
            }
            None => false,
        }
    }

    /// A refresh token presented by `client_id`, with its user; none if unknown or
    /// issued to another client. Whether it still works is the provider's call.
    pub fn refresh_token(&self, presented: &str, client_id: &str) -> Option<(RefreshToken, User)> {
        let state = self.state();
        let token = state
            .refresh_tokens
            .get(presented)
            .filter(|t| t.client_id == client_id)?
            .clone();
        let user = state.users.get(&token.user_id)?.clone();
        Some((token, user))
    }

    /// Looks up a live access token presented as `Authorization: Bearer …`.
    pub fn access_token(&self, token: &str) -> Option<(AccessToken, User)> {
        let now = self.clock.now();
        let state = self.state();
        let access = state.access_tokens.get(token)?;
        if !access.valid || access.expires_at <= now {
            return None;
        }
        if let Some(refresh) = access
            .refresh_token
            .as_ref()
            .and_then(|r| state.refresh_tokens.get(r))
        {
            if !refresh.valid {
                return None;
            }
        }
        let user = state.users.get(&access.user_id)?.clone();
        Some((access.clone(), user))
    }
}

//! What every background service needs, in one cheap-to-clone value: the database, the
//! vault, the clock, the event sink, the provider settings and the HTTP client for
//! provider endpoints. Services ([`crate::tokens::Tokens`], [`crate::keeper::Keeper`],
//! [`crate::alerts::Alerts`], and the sync engines to come) receive a `Context`, never the
//! whole [`crate::Core`].

use std::sync::Arc;

use crate::clock::Clock;
use crate::events::{CoreEvent, EventSink, Notice, NoticeLevel};
use crate::profile::Profile;
use crate::providers::ProviderSettings;
use crate::store::Store;
use crate::vault::Vault;

#[derive(Clone)]
pub(crate) struct Context {
    pub store: Store,
    pub vault: Arc<Vault>,
    pub clock: Arc<dyn Clock>,
    pub events: Arc<dyn EventSink>,
    pub providers: Arc<ProviderSettings>,
    /// For provider endpoints: no redirects, a time limit on every request.
    pub http: reqwest::Client,
    pub profile: Profile,
    /// Where background work runs, captured at start so it can be started from threads
    /// outside the runtime (the shell's main thread delivers links).
    pub runtime: tokio::runtime::Handle,
}

impl Context {
    /// A short message for the user, shown as a toast.
    pub fn notice(&self, level: NoticeLevel, message: String) {
        self.events
            .emit(CoreEvent::Notice(Notice { level, message }));
    }

    /// Whether the test run asked for the failure `name` (`FERRY_FAILPOINT=<name>`); never
    /// outside the test profile.
    pub fn failpoint(&self, name: &str) -> bool {
        self.profile == Profile::Test && std::env::var("FERRY_FAILPOINT").is_ok_and(|v| v == name)
    }

    /// Something about this account that the UI shows changed.
    pub fn account_changed(&self, account_id: &str) {
        self.events
            .emit(CoreEvent::AccountsChanged(vec![account_id.to_owned()]));
    }

    /// This account's mail changed (the inbox reloads; the account list does not).
    pub fn mail_changed(&self, account_id: &str) {
        self.events
            .emit(CoreEvent::MailChanged(vec![account_id.to_owned()]));
    }
}

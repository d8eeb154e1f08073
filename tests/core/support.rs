//! What several core test files share: a scripted browser standing in for the user's, and
//! a core started against the provider sandbox.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ferry_core::alerts::Notifier;
use ferry_core::browser::SystemBrowser;
use ferry_core::clock::Clock;
use ferry_core::events::RecordingSink;
use ferry_core::oauth::{CalendarAccess, ServiceChoice};
use ferry_core::profile::Profile;
use ferry_core::providers::ProviderSettings;
use ferry_core::vault::{KeyStore, KeychainError};
use ferry_core::{Core, CoreConfig, Platform};
use ferry_sandbox::browser::{Browser, Outcome, Person};
use ferry_sandbox::Sandbox;
use secrecy::SecretString;
use tokio::sync::mpsc;
use url::Url;

/// Mail only.
pub const MAIL: ServiceChoice = ServiceChoice {
    mail: true,
    calendar: None,
    contacts: false,
};
/// Mail and calendar (read only).
pub const MAIL_AND_CALENDAR: ServiceChoice = ServiceChoice {
    mail: true,
    calendar: Some(CalendarAccess::Read),
    contacts: false,
};
/// Every service, read only.
pub const EVERYTHING_READ: ServiceChoice = ServiceChoice {
    mail: true,
    calendar: Some(CalendarAccess::Read),
    contacts: true,
};
/// Every service, with calendar read and write.
pub const EVERYTHING: ServiceChoice = ServiceChoice {
    mail: true,
    calendar: Some(CalendarAccess::ReadWrite),
    contacts: true,
};

/// The sandbox's demo people: Google (personal), Microsoft (personal, work).
pub fn ada() -> Person {
    Person::new("ada@example.com", "ada")
}

pub fn alan() -> Person {
    Person::new("alan@outlook.example", "alan")
}

pub fn katherine() -> Person {
    Person::new("katherine@contoso.example", "katherine")
}

/// The user's browser, scripted: who signs in, and what they click.
pub struct ScriptedBrowser {
    pub person: Mutex<Option<Person>>,
    pub opened: AtomicUsize,
    /// Behave like a desktop with no browser set up.
    pub broken: AtomicBool,
    /// The last page Ferry opened, for tests that drive the browser themselves.
    pub last_opened: Mutex<Option<Url>>,
    /// `ferry://` redirects, which a real browser hands to the OS.
    links: mpsc::UnboundedSender<Url>,
}

impl SystemBrowser for ScriptedBrowser {
    fn open(&self, url: &Url) -> Result<(), String> {
        if self.broken.load(Ordering::SeqCst) {
            return Err("no browser is set up".into());
        }
        self.opened.fetch_add(1, Ordering::SeqCst);
        *self.last_opened.lock().expect("lock") = Some(url.clone());
        let Some(person) = self.person.lock().expect("lock").clone() else {
            // Nobody at the browser: the sign-in is abandoned.
            return Ok(());
        };
        let url = url.clone();
        let links = self.links.clone();
        // The scripted browser's pages are not Send; it runs on a thread of its own.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(browse(url, person, links));
        });
        Ok(())
    }
}

async fn browse(url: Url, person: Person, links: mpsc::UnboundedSender<Url>) {
    let outcome = Browser::new()
        .authorize(url.as_str(), &person)
        .await
        .expect("browser");
    let Outcome::Redirect(redirect) = outcome else {
        panic!("expected a redirect, got {outcome:?}");
    };
    if redirect.scheme() == "ferry" {
        links.send(redirect).expect("test listens");
    } else {
        // The browser loads the loopback page.
        reqwest::get(redirect).await.expect("loopback answers");
    }
}

/// How the sandbox behaves: like Google and Microsoft today, or strictly as the RFCs say
/// (`SandboxConfig::strict`). Sign-in, keep-alive and remove tests run in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Lenient,
    Strict,
}

impl Mode {
    pub fn config(self) -> ferry_sandbox::SandboxConfig {
        ferry_sandbox::SandboxConfig {
            strict: self == Mode::Strict,
            ..ferry_sandbox::SandboxConfig::default()
        }
    }

    pub async fn sandbox(self) -> Sandbox {
        Sandbox::start(ferry_sandbox::SandboxOptions {
            config: self.config(),
            ..ferry_sandbox::SandboxOptions::default()
        })
        .await
        .expect("sandbox")
    }
}

/// Runs the test body `name(mode)` once against each sandbox mode, as `name::lenient`
/// and `name::strict`.
#[macro_export]
macro_rules! in_both_modes {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn lenient() {
                super::$name($crate::support::Mode::Lenient).await
            }
            #[tokio::test]
            async fn strict() {
                super::$name($crate::support::Mode::Strict).await
            }
        }
    };
}

pub fn settings(sandbox: &Sandbox) -> ProviderSettings {
    let env: HashMap<&str, String> = HashMap::from([
        ("FERRY_SANDBOX_GOOGLE_URL", sandbox.google_url().to_owned()),
        (
            "FERRY_SANDBOX_MICROSOFT_URL",
            sandbox.microsoft_url().to_owned(),
        ),
    ]);
    ProviderSettings::load(std::path::Path::new("/nonexistent/providers.toml"), |k| {
        env.get(k).cloned()
    })
    .expect("settings")
}

/// A core started against the sandbox, with the scripted browser and a recording sink.
pub struct Started {
    pub core: Arc<Core>,
    pub sink: Arc<RecordingSink>,
    pub browser: Arc<ScriptedBrowser>,
    pub links: mpsc::UnboundedReceiver<Url>,
}

pub async fn start_core(
    sandbox: &Sandbox,
    dir: &std::path::Path,
    keys: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    notifier: Arc<dyn Notifier>,
) -> Started {
    start_core_with(settings(sandbox), dir, keys, clock, notifier).await
}

/// As [`start_core`], with provider settings the test adjusted.
pub async fn start_core_with(
    providers: ProviderSettings,
    dir: &std::path::Path,
    keys: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    notifier: Arc<dyn Notifier>,
) -> Started {
    let sink = Arc::new(RecordingSink::default());
    let (tx, rx) = mpsc::unbounded_channel();
    let browser = Arc::new(ScriptedBrowser {
        person: Mutex::new(None),
        opened: AtomicUsize::new(0),
        broken: AtomicBool::new(false),
        last_opened: Mutex::new(None),
        links: tx,
    });
    let config = CoreConfig {
        profile: Profile::Test,
        version: "0.0.0-test".into(),
        data_dir: dir.to_owned(),
        providers,
    };
    let core = Core::start(
        config,
        Platform {
            key_store: keys,
            clock,
            events: sink.clone(),
            browser: browser.clone(),
            notifier,
        },
    )
    .await
    .expect("core starts");
    core.set_deep_links_registered(true);
    Started {
        core: Arc::new(core),
        sink,
        browser,
        links: rx,
    }
}

/// Signs `person` in through the whole flow and returns the new account's id. Microsoft
/// links are delivered as the OS would.
pub async fn add_account(
    started: &mut Started,
    provider: ferry_core::providers::Provider,
    services: ferry_core::oauth::ServiceChoice,
    person: Person,
) -> String {
    use ferry_core::events::{CoreEvent, SignInStage};
    *started.browser.person.lock().expect("lock") = Some(person);
    let flow = started
        .core
        .begin_sign_in(ferry_core::sign_in::SignInRequest {
            provider,
            services,
            reconnect: None,
        })
        .await
        .expect("sign-in starts")
        .flow_id;
    if provider == ferry_core::providers::Provider::Microsoft {
        let link = tokio::time::timeout(std::time::Duration::from_secs(10), started.links.recv())
            .await
            .expect("the browser came back")
            .expect("link");
        started.core.open_link(link.as_str());
    }
    for _ in 0..500 {
        for event in started.sink.take() {
            if let CoreEvent::SignIn(update) = event {
                if update.flow_id != flow {
                    continue;
                }
                match update.stage {
                    SignInStage::Done { account_id, .. } => return account_id,
                    SignInStage::Finishing => {}
                    other => panic!("sign-in ended with {other:?}"),
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("sign-in did not finish");
}

/// A keychain that is locked, or absent (Linux without a Secret Service).
#[derive(Debug)]
pub struct LockedKeychain;

impl KeyStore for LockedKeychain {
    fn get(&self, _: &str, _: &str) -> Result<Option<SecretString>, KeychainError> {
        Err(KeychainError::Unavailable(
            "the collection is locked".into(),
        ))
    }
    fn set(&self, _: &str, _: &str, _: &SecretString) -> Result<(), KeychainError> {
        Err(KeychainError::Unavailable(
            "the collection is locked".into(),
        ))
    }
    fn delete(&self, _: &str, _: &str) -> Result<bool, KeychainError> {
        Err(KeychainError::Unavailable(
            "the collection is locked".into(),
        ))
    }
}

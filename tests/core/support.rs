//! What the core test files share: the services they ask for, the people who sign in, a
//! scripted browser standing in for the user's, and [`World`]: a core started against the
//! provider sandbox, built with [`World::build`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ferry_core::alerts::{Notifier, RecordingNotifier};
use ferry_core::browser::SystemBrowser;
use ferry_core::clock::{Clock, ManualClock, SystemClock};
use ferry_core::events::{CoreEvent, RecordingSink};
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

/// Starts a core against the sandbox `providers` describe, with the scripted browser and
/// a recording sink.
async fn start_core_with(
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

/// How a world's time runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Time {
    /// The system clock: for sign-in tests (the sandbox issues id_tokens on real time).
    Real,
    /// One manual clock for Ferry and the sandbox, starting now, moved by the test.
    Manual,
}

type Adjust = Box<dyn FnOnce(&mut ProviderSettings) + Send>;

/// Builds a [`World`]: the sandbox, a temporary data folder, a keychain, a recording
/// notifier and a core started on them. Every core test file starts its worlds here.
pub struct WorldBuilder {
    mode: Mode,
    time: Time,
    sandbox: Option<Sandbox>,
    keys: Option<Arc<dyn KeyStore>>,
    adjust: Option<Adjust>,
}

impl WorldBuilder {
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    pub fn manual_time(mut self) -> Self {
        self.time = Time::Manual;
        self
    }

    /// A sandbox the test configured (instead of one in `mode`).
    pub fn sandbox(mut self, sandbox: Sandbox) -> Self {
        self.sandbox = Some(sandbox);
        self
    }

    pub fn keys(mut self, keys: Arc<dyn KeyStore>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Changes the provider settings before the core starts.
    pub fn providers(
        mut self,
        adjust: impl FnOnce(&mut ProviderSettings) + Send + 'static,
    ) -> Self {
        self.adjust = Some(Box::new(adjust));
        self
    }

    pub async fn start(self) -> World {
        let sandbox = match self.sandbox {
            Some(sandbox) => sandbox,
            None => self.mode.sandbox().await,
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let keys = self
            .keys
            .unwrap_or_else(|| Arc::new(ferry_core::vault::MemoryKeyStore::default()));
        let manual = (self.time == Time::Manual).then(|| {
            #[allow(clippy::disallowed_methods)] // the manual clock starts where the sandbox's does
            let now = chrono::Utc::now();
            Arc::new(ManualClock::new(now))
        });
        let notifier = Arc::new(RecordingNotifier::default());
        let mut providers = settings(&sandbox);
        if let Some(adjust) = self.adjust {
            adjust(&mut providers);
        }
        let ferry = start_core_with(
            providers.clone(),
            dir.path(),
            Arc::clone(&keys),
            clock_of(&manual),
            notifier.clone(),
        )
        .await;
        World {
            sandbox,
            ferry,
            providers,
            manual,
            notifier,
            keys,
            dir,
            seen: Vec::new(),
        }
    }
}

fn clock_of(manual: &Option<Arc<ManualClock>>) -> Arc<dyn Clock> {
    match manual {
        Some(clock) => clock.clone(),
        None => Arc::new(SystemClock),
    }
}

/// A core started against a sandbox, with everything a test looks at.
pub struct World {
    pub sandbox: Sandbox,
    pub ferry: Started,
    providers: ProviderSettings,
    manual: Option<Arc<ManualClock>>,
    pub notifier: Arc<RecordingNotifier>,
    pub keys: Arc<dyn KeyStore>,
    pub dir: tempfile::TempDir,
    /// Every event taken from the sink so far.
    pub seen: Vec<CoreEvent>,
}

impl World {
    /// A lenient sandbox, real time, an in-memory keychain.
    pub fn build() -> WorldBuilder {
        WorldBuilder {
            mode: Mode::Lenient,
            time: Time::Real,
            sandbox: None,
            keys: None,
            adjust: None,
        }
    }

    pub fn core(&self) -> &Arc<Core> {
        &self.ferry.core
    }

    /// Moves Ferry's clock and the sandbox's together (manual time only).
    pub fn advance(&self, by: chrono::Duration) {
        let clock = self.manual.as_ref().expect("a world on manual time");
        clock.advance(by);
        self.sandbox
            .world()
            .clock
            .advance(by.to_std().expect("forward"));
    }

    /// Lets the debounces on the injected clock (notifications, event coalescing) run out.
    pub async fn settle(&self) {
        if self.manual.is_some() {
            self.advance(chrono::Duration::seconds(1));
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }

    /// Every event so far.
    pub fn events(&mut self) -> &[CoreEvent] {
        self.seen.extend(self.ferry.sink.take());
        &self.seen
    }

    /// Waits (up to 10 s of real time) for an event that `find` picks among all seen so
    /// far; on manual time the clock moves a second per try, so coalesced events arrive.
    pub async fn wait_for<T>(&mut self, what: &str, find: impl Fn(&CoreEvent) -> Option<T>) -> T {
        for _ in 0..500 {
            if let Some(found) = self.events().iter().find_map(&find) {
                return found;
            }
            if self.manual.is_some() {
                self.advance(chrono::Duration::seconds(1));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("waited for {what}; events: {:?}", self.seen);
    }

    /// Quits Ferry and starts it again on the same data folder, keychain and clock.
    pub async fn restart(&mut self) {
        self.ferry.core.shutdown().await;
        self.ferry = start_core_with(
            self.providers.clone(),
            self.dir.path(),
            Arc::clone(&self.keys),
            clock_of(&self.manual),
            self.notifier.clone(),
        )
        .await;
    }
}

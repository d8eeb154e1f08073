//! Add account, Reconnect and Remove through `Core`, as the UI drives them, against the
//! provider sandbox. A scripted browser stands in for the user's: it signs in, consents
//! and follows the redirect to Ferry's loopback listener, or hands a `ferry://` link back
//! to the test, which delivers it as the OS would.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use ferry_core::events::{CoreEvent, NoticeLevel, SignInStage};
use ferry_core::oauth::ServiceChoice;
use ferry_core::providers::Provider;
use ferry_core::sign_in::{ReturnPath, SignInRequest};
use ferry_core::store::Service;
use ferry_core::{ErrorCode, LinkOutcome};
use ferry_sandbox::browser::{with_param, Browser, Outcome, Person};
use url::Url;

use crate::support::{ada, katherine, LockedKeychain, Mode, World, EVERYTHING, MAIL_AND_CALENDAR};

async fn world() -> World {
    World::build().start().await
}

async fn world_in(mode: Mode) -> World {
    World::build().mode(mode).start().await
}

impl World {
    fn browse_as(&self, person: Option<Person>) {
        *self.ferry.browser.person.lock().expect("lock") = person;
    }

    async fn begin(
        &mut self,
        provider: Provider,
        services: ServiceChoice,
        person: Option<Person>,
    ) -> String {
        self.begin_request(
            SignInRequest {
                provider,
                services,
                reconnect: None,
            },
            person,
        )
        .await
    }

    async fn begin_request(&mut self, request: SignInRequest, person: Option<Person>) -> String {
        self.browse_as(person);
        self.ferry
            .core
            .begin_sign_in(request)
            .await
            .expect("sign-in starts")
            .flow_id
    }

    /// Waits until `flow` ends, returning how.
    async fn ended(&mut self, flow: &str) -> SignInStage {
        self.wait_for(&format!("sign-in {flow} to end"), |e| match e {
            CoreEvent::SignIn(u) if u.flow_id == flow && u.stage != SignInStage::Finishing => {
                Some(u.stage.clone())
            }
            _ => None,
        })
        .await
    }

    async fn next_link(&mut self) -> Url {
        tokio::time::timeout(Duration::from_secs(10), self.ferry.links.recv())
            .await
            .expect("the browser came back")
            .expect("link")
    }

    fn notices(&mut self) -> Vec<(NoticeLevel, String)> {
        self.seen.extend(self.ferry.sink.take());
        self.seen
            .iter()
            .filter_map(|e| match e {
                CoreEvent::Notice(n) => Some((n.level.clone(), n.message.clone())),
                _ => None,
            })
            .collect()
    }

    async fn count(&self, query: &str) -> u64 {
        let url = format!("{}/requests/count?{query}", self.sandbox.control_url());
        let body: serde_json::Value = reqwest::get(url)
            .await
            .expect("control")
            .json()
            .await
            .expect("json");
        body["count"].as_u64().expect("count")
    }

    async fn rows(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.ferry.core.store().pool())
            .await
            .expect("count")
    }
}

fn done(stage: &SignInStage) -> (String, bool) {
    match stage {
        SignInStage::Done {
            account_id,
            created,
            ..
        } => (account_id.clone(), *created),
        other => panic!("expected the sign-in to finish, got {other:?}"),
    }
}

fn failed(stage: &SignInStage) -> (ErrorCode, String) {
    match stage {
        SignInStage::Failed { error } => (error.code, error.message.clone()),
        other => panic!("expected the sign-in to fail, got {other:?}"),
    }
}

crate::in_both_modes!(a_google_account_is_added_through_the_loopback_listener);
async fn a_google_account_is_added_through_the_loopback_listener(mode: Mode) {
    let mut w = world_in(mode).await;
    let flow = w
        .begin(Provider::Google, MAIL_AND_CALENDAR, Some(ada()))
        .await;
    let (account_id, created) = done(&w.ended(&flow).await);
    assert!(created);

    let accounts = w.core().list_accounts().await.expect("list");
    assert_eq!(accounts.len(), 1);
    let account = &accounts[0];
    assert_eq!(account.id, account_id);
    assert_eq!(account.email, "ada@example.com");
    assert_eq!(account.provider, Provider::Google);
    assert!(account.last_activity_at.is_some());
    let status: Vec<(Service, bool, bool)> = account
        .services
        .iter()
        .map(|s| (s.service, s.requested, s.granted))
        .collect();
    assert_eq!(
        status,
        [
            (Service::Mail, true, true),
            (Service::Calendar, true, true),
            (Service::Contacts, false, false)
        ]
    );
    w.wait_for("the new account in a change", |e| match e {
        CoreEvent::AccountsChanged(ids) if ids.contains(&account_id) => Some(()),
        _ => None,
    })
    .await;
    assert!(w
        .notices()
        .iter()
        .any(|(level, text)| *level == NoticeLevel::Info
            && text.contains("ada@example.com is added")));

    // Adding the same account again updates it instead of adding a second one.
    let again = w.begin(Provider::Google, EVERYTHING, Some(ada())).await;
    let (same_id, created) = done(&w.ended(&again).await);
    assert_eq!((same_id, created), (account_id, false));
    assert_eq!(w.core().list_accounts().await.expect("list").len(), 1);
}

crate::in_both_modes!(a_microsoft_account_returns_through_a_ferry_link_and_a_replay_is_refused);
async fn a_microsoft_account_returns_through_a_ferry_link_and_a_replay_is_refused(mode: Mode) {
    let mut w = world_in(mode).await;
    let started = w
        .core()
        .begin_sign_in(SignInRequest {
            provider: Provider::Microsoft,
            services: EVERYTHING,
            reconnect: None,
        })
        .await;
    // Nobody was at the browser for that one; begin again with Katherine there.
    assert_eq!(started.expect("starts").return_path, ReturnPath::Link);
    let flow = w
        .begin(Provider::Microsoft, EVERYTHING, Some(katherine()))
        .await;
    let link = w.next_link().await;
    assert_eq!(
        w.core().open_link(link.as_str()),
        LinkOutcome::SignInResponse
    );
    let (_, created) = done(&w.ended(&flow).await);
    assert!(created);
    let accounts = w.core().list_accounts().await.expect("list");
    assert_eq!(accounts[0].email, "katherine@contoso.example");
    assert!(accounts[0]
        .services
        .iter()
        .all(|s| s.requested && s.granted));

    // The same response again (a replayed link) finds no sign-in and changes nothing.
    assert_eq!(
        w.core().open_link(link.as_str()),
        LinkOutcome::NoPendingSignIn
    );
    // And while another sign-in waits, it is reported and that sign-in keeps waiting.
    let waiting = w.begin(Provider::Microsoft, EVERYTHING, None).await;
    assert_eq!(
        w.core().open_link(link.as_str()),
        LinkOutcome::SignInResponse
    );
    for _ in 0..100 {
        if w.notices()
            .iter()
            .any(|(_, t)| t.contains("Ferry ignored a sign-in response"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(w
        .notices()
        .iter()
        .any(|(l, t)| *l == NoticeLevel::Warning && t.contains("still waiting")));
    assert!(w.core().cancel_sign_in(&waiting), "it was still waiting");
    assert_eq!(w.ended(&waiting).await, SignInStage::Cancelled);
    assert_eq!(w.core().list_accounts().await.expect("list").len(), 1);
}

#[tokio::test]
async fn microsoft_falls_back_to_loopback_where_ferry_links_are_not_registered() {
    let mut w = world().await;
    w.core().set_deep_links_registered(false);
    w.browse_as(Some(katherine()));
    let started = w
        .core()
        .begin_sign_in(SignInRequest {
            provider: Provider::Microsoft,
            services: MAIL_AND_CALENDAR,
            reconnect: None,
        })
        .await
        .expect("starts");
    assert_eq!(started.return_path, ReturnPath::Loopback);
    done(&w.ended(&started.flow_id).await);
}

#[tokio::test]
async fn an_unticked_scope_is_recorded_as_not_granted() {
    let mut w = world().await;
    let person = ada().untick("https://www.googleapis.com/auth/contacts.readonly");
    let flow = w.begin(Provider::Google, EVERYTHING, Some(person)).await;
    done(&w.ended(&flow).await);
    let account = &w.core().list_accounts().await.expect("list")[0];
    let contacts = account
        .services
        .iter()
        .find(|s| s.service == Service::Contacts)
        .expect("contacts");
    assert!(contacts.requested && !contacts.granted, "{contacts:?}");
}

#[tokio::test]
async fn denial_ends_the_sign_in_with_nothing_stored() {
    let mut w = world().await;
    let flow = w
        .begin(Provider::Google, MAIL_AND_CALENDAR, Some(ada().deny()))
        .await;
    let (code, message) = failed(&w.ended(&flow).await);
    assert_eq!(code, ErrorCode::SignIn);
    assert!(message.contains("declined"), "{message}");
    assert_eq!(w.rows("accounts").await, 0);
    assert_eq!(w.rows("account_tokens").await, 0);
}

/// Any web page can open a `ferry://` link, and anything on this computer can call the
/// loopback port: a forged response is reported, and the sign-in waits for its own.
#[tokio::test]
async fn forged_responses_leave_the_sign_in_waiting_for_its_own() {
    let mut w = world().await;

    // Microsoft, through ferry:// links: an altered state and a state of Ferry's own
    // making but for no sign-in in progress.
    let flow = w
        .begin(Provider::Microsoft, EVERYTHING, Some(katherine()))
        .await;
    let genuine = w.next_link().await;
    let altered = with_param(&genuine, "state", |v| format!("{v}x"));
    w.core().open_link(altered.as_str());
    let forged = with_param(&genuine, "state", |_| {
        "eyJmbG93IjoiYSJ9.c2lnbmF0dXJl".into()
    });
    w.core().open_link(forged.as_str());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ignored = w
        .notices()
        .iter()
        .filter(|(level, m)| *level == NoticeLevel::Warning && m.contains("still waiting"))
        .count();
    assert_eq!(ignored, 2, "each forged response is reported: {:?}", w.seen);
    assert_eq!(
        w.count("service=microsoft&path=/token").await,
        0,
        "no forged code was exchanged"
    );
    w.core().open_link(genuine.as_str());
    done(&w.ended(&flow).await);

    // Google, over loopback: a forged request to the listener is turned away.
    let flow = w.begin(Provider::Google, MAIL_AND_CALENDAR, None).await;
    let page = w
        .ferry
        .browser
        .last_opened
        .lock()
        .expect("lock")
        .clone()
        .expect("the browser was opened");
    let redirect_uri = page
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .expect("redirect_uri");
    let forged = reqwest::get(format!("{redirect_uri}?code=attacker&state=forged.c2ln"))
        .await
        .expect("the listener answers");
    assert_eq!(forged.status(), 400);
    tokio::time::sleep(Duration::from_millis(100)).await;
    w.seen.extend(w.ferry.sink.take());
    assert!(
        !w.seen.iter().any(|e| matches!(
            e,
            CoreEvent::SignIn(u) if u.flow_id == flow && u.stage != SignInStage::Finishing
        )),
        "the sign-in is still waiting"
    );
    let Outcome::Redirect(redirect) = Browser::new()
        .authorize(page.as_str(), &ada())
        .await
        .expect("browser")
    else {
        panic!("expected a redirect");
    };
    let answer = reqwest::get(redirect.as_str()).await.expect("callback");
    assert_eq!(answer.status(), 200, "the genuine callback is taken");
    done(&w.ended(&flow).await);
    assert_eq!(w.rows("accounts").await, 2);
}

#[tokio::test]
async fn cancel_ends_the_sign_in_once_and_stores_nothing() {
    let mut w = world().await;
    let started = w
        .core()
        .begin_sign_in(SignInRequest {
            provider: Provider::Google,
            services: MAIL_AND_CALENDAR,
            reconnect: None,
        })
        .await
        .expect("starts");
    assert!(w.core().cancel_sign_in(&started.flow_id));
    assert_eq!(w.ended(&started.flow_id).await, SignInStage::Cancelled);
    assert!(!w.core().cancel_sign_in(&started.flow_id), "only once");
    assert_eq!(w.rows("accounts").await, 0);
}

#[tokio::test]
async fn reconnect_keeps_the_account_and_refuses_a_different_one() {
    let mut w = world().await;
    let flow = w
        .begin(Provider::Google, MAIL_AND_CALENDAR, Some(ada()))
        .await;
    let (ada_id, _) = done(&w.ended(&flow).await);

    let flow = w
        .begin_request(
            SignInRequest {
                provider: Provider::Google,
                services: EVERYTHING,
                reconnect: Some(ada_id.clone()),
            },
            Some(ada()),
        )
        .await;
    let (id, created) = done(&w.ended(&flow).await);
    assert_eq!((id.as_str(), created), (ada_id.as_str(), false));
    assert!(w
        .notices()
        .iter()
        .any(|(_, t)| t.contains("ada@example.com is reconnected")));
    let account = &w.core().list_accounts().await.expect("list")[0];
    assert!(account.services.iter().all(|s| s.granted), "contacts added");

    let flow = w
        .begin_request(
            SignInRequest {
                provider: Provider::Google,
                services: EVERYTHING,
                reconnect: Some(ada_id.clone()),
            },
            Some(Person::new("grace@example.org", "grace")),
        )
        .await;
    let (code, message) = failed(&w.ended(&flow).await);
    assert_eq!(code, ErrorCode::SignIn);
    assert!(
        message.contains("grace@example.org") && message.contains("ada@example.com"),
        "{message}"
    );
    let accounts = w.core().list_accounts().await.expect("list");
    assert_eq!(accounts.len(), 1, "grace was not added");

    // Turning a service off keeps the rest.
    w.core()
        .set_services(&ada_id, MAIL_AND_CALENDAR)
        .await
        .expect("set services");
    let account = &w.core().list_accounts().await.expect("list")[0];
    let requested: Vec<bool> = account.services.iter().map(|s| s.requested).collect();
    assert_eq!(requested, [true, true, false]);
}

crate::in_both_modes!(remove_revokes_at_google_and_deletes_every_local_row);
async fn remove_revokes_at_google_and_deletes_every_local_row(mode: Mode) {
    let mut w = world_in(mode).await;
    let flow = w
        .begin(Provider::Google, MAIL_AND_CALENDAR, Some(ada()))
        .await;
    let (google_id, _) = done(&w.ended(&flow).await);
    let flow = w
        .begin(Provider::Microsoft, EVERYTHING, Some(katherine()))
        .await;
    let link = w.next_link().await;
    w.core().open_link(link.as_str());
    let (ms_id, _) = done(&w.ended(&flow).await);

    let removed = w.core().remove_account(&google_id).await.expect("remove");
    assert!(
        removed.revoked,
        "Google accepted the revocation ({mode:?}): {:?}",
        removed.advice
    );
    assert_eq!(w.count("service=google&path=/revoke").await, 1);
    let removed = w.core().remove_account(&ms_id).await.expect("remove");
    assert!(!removed.revoked);
    assert!(removed.advice.expect("advice").contains("Microsoft"));

    for table in ["accounts", "account_tokens", "account_services"] {
        assert_eq!(w.rows(table).await, 0, "{table} is empty");
    }
    let err = w.core().remove_account(&ms_id).await.expect_err("gone");
    assert_eq!(err.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn accounts_survive_a_restart_and_their_tokens_still_open() {
    let mut w = world().await;
    let flow = w
        .begin(Provider::Google, MAIL_AND_CALENDAR, Some(ada()))
        .await;
    let (id, _) = done(&w.ended(&flow).await);
    w.restart().await;
    let core = w.core();
    let accounts = core.list_accounts().await.expect("list");
    assert_eq!(accounts.len(), 1);
    let root = core.vault().root().await.expect("vault key");
    let tokens = ferry_core::store::signed_in::tokens(core.store().pool(), &root, &id)
        .await
        .expect("tokens");
    let (access, refresh) = tokens.expect("saved");
    assert!(refresh.is_some());
    // The saved access token works at the provider: no new sign-in needed.
    use secrecy::ExposeSecret;
    let status = reqwest::Client::new()
        .get(format!("{}/oauth2/v2/userinfo", w.sandbox.google_url()))
        .bearer_auth(access.expose_secret())
        .send()
        .await
        .expect("userinfo")
        .status();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bad_requests_and_a_missing_browser_are_clear_errors() {
    let mut w = world().await;
    let err = w
        .core()
        .begin_sign_in(SignInRequest {
            provider: Provider::Google,
            services: ServiceChoice::default(),
            reconnect: None,
        })
        .await
        .expect_err("no services");
    assert_eq!(err.code, ErrorCode::Validation);
    let err = w
        .core()
        .begin_sign_in(SignInRequest {
            provider: Provider::Google,
            services: MAIL_AND_CALENDAR,
            reconnect: Some("no-such-account".into()),
        })
        .await
        .expect_err("unknown account");
    assert_eq!(err.code, ErrorCode::NotFound);

    w.ferry.browser.broken.store(true, Ordering::SeqCst);
    let err = w
        .core()
        .begin_sign_in(SignInRequest {
            provider: Provider::Google,
            services: MAIL_AND_CALENDAR,
            reconnect: None,
        })
        .await
        .expect_err("no browser");
    assert_eq!(err.code, ErrorCode::Browser);
    assert!(
        err.message.contains("no browser is set up"),
        "{}",
        err.message
    );
    // Its sign-in was cancelled, not left waiting.
    let cancelled = w.notices().len();
    assert_eq!(
        cancelled, 0,
        "no notice for a sign-in that never reached the browser"
    );
}

#[tokio::test]
async fn a_locked_keychain_stops_the_sign_in_before_the_browser_opens() {
    let w = World::build().keys(Arc::new(LockedKeychain)).start().await;
    let (core, browser) = (w.core(), &w.ferry.browser);
    let err = core
        .begin_sign_in(SignInRequest {
            provider: Provider::Google,
            services: MAIL_AND_CALENDAR,
            reconnect: None,
        })
        .await
        .expect_err("locked");
    assert_eq!(err.code, ErrorCode::KeychainUnavailable);
    assert!(err.message.contains("keychain"), "{}", err.message);
    assert_eq!(browser.opened.load(Ordering::SeqCst), 0);
    assert!(core.list_accounts().await.expect("list").is_empty());
}

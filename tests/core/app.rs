//! The core as the shell drives it: start, list accounts, links, shutdown.

use std::sync::Arc;

use chrono::DateTime;
use ferry_core::browser::NoBrowser;
use ferry_core::clock::ManualClock;
use ferry_core::deeplink::DeepLinkError;
use ferry_core::events::{CoreEvent, NoticeLevel, RecordingSink};
use ferry_core::profile::Profile;
use ferry_core::vault::MemoryKeyStore;
use ferry_core::{Core, CoreConfig, LinkOutcome, Platform};

async fn start(dir: &std::path::Path) -> (Arc<Core>, Arc<RecordingSink>) {
    let sink = Arc::new(RecordingSink::default());
    let clock = Arc::new(ManualClock::new(
        DateTime::from_timestamp(1_790_000_000, 0).expect("timestamp"),
    ));
    let config = CoreConfig {
        profile: Profile::Test,
        version: "0.0.0-test".into(),
        data_dir: dir.to_owned(),
        providers: Default::default(),
    };
    let core = Core::start(
        config,
        Platform {
            key_store: Arc::new(MemoryKeyStore::default()),
            clock,
            events: sink.clone(),
            browser: Arc::new(NoBrowser),
            notifier: Arc::new(ferry_core::alerts::Silent),
        },
    )
    .await
    .expect("core starts");
    (Arc::new(core), sink)
}

#[tokio::test]
async fn a_fresh_core_has_no_accounts_and_reports_its_profile() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (core, _) = start(dir.path()).await;
    assert!(core.list_accounts().await.expect("list").is_empty());
    let info = core.info();
    assert_eq!(info.profile, Profile::Test);
    assert_eq!(info.data_dir, dir.path().display().to_string());
    assert_eq!(
        core.vault().keychain().namespace(),
        "dev.ferry.desktop.test"
    );
    core.shutdown().await;
}

#[tokio::test]
async fn a_sign_in_response_with_no_sign_in_pending_tells_the_user() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (core, sink) = start(dir.path()).await;
    let outcome = core.open_link("ferry://oauth/microsoft?code=abc&state=xyz");
    assert_eq!(outcome, LinkOutcome::NoPendingSignIn);
    let events = sink.take();
    assert_eq!(events.len(), 1, "exactly one notice: {events:?}");
    match &events[0] {
        CoreEvent::Notice(notice) => {
            assert_eq!(notice.level, NoticeLevel::Warning);
            assert!(
                notice.message.contains("no sign-in is in progress"),
                "{}",
                notice.message
            );
            assert!(
                !notice.message.contains("abc"),
                "the code never reaches the UI"
            );
        }
        other => panic!("expected a notice, got {other:?}"),
    }
    core.shutdown().await;
}

#[tokio::test]
async fn links_ferry_does_not_understand_are_dropped_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (core, sink) = start(dir.path()).await;
    assert_eq!(
        core.open_link("ferry://delete-everything"),
        LinkOutcome::Ignored(DeepLinkError::UnknownRoute("delete-everything".into()))
    );
    assert_eq!(
        core.open_link("ferry:%"),
        LinkOutcome::Ignored(DeepLinkError::UnknownRoute("%".into()))
    );
    assert!(
        sink.take().is_empty(),
        "nothing is shown for links Ferry ignores"
    );
    core.shutdown().await;
}

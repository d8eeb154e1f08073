//! The core as the shell drives it: start, list accounts, links, shutdown.

use ferry_core::deeplink::DeepLinkError;
use ferry_core::events::{CoreEvent, NoticeLevel};
use ferry_core::profile::Profile;
use ferry_core::LinkOutcome;

use crate::support::World;

/// The core on manual time, as the shell starts it.
async fn start() -> World {
    World::build().manual_time().start().await
}

#[tokio::test]
async fn a_fresh_core_has_no_accounts_and_reports_its_profile() {
    let w = start().await;
    let core = w.core();
    assert!(core.list_accounts().await.expect("list").is_empty());
    let info = core.info();
    assert_eq!(info.profile, Profile::Test);
    assert_eq!(info.data_dir, w.dir.path().display().to_string());
    assert_eq!(
        core.vault().keychain().namespace(),
        "dev.ferry.desktop.test"
    );
    core.shutdown().await;
}

#[tokio::test]
async fn a_sign_in_response_with_no_sign_in_pending_tells_the_user() {
    let w = start().await;
    let (core, sink) = (w.core(), &w.ferry.sink);
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
    let w = start().await;
    let (core, sink) = (w.core(), &w.ferry.sink);
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

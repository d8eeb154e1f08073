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

#[tokio::test]
async fn diagnostics_name_providers_and_health_but_never_an_address_or_token() {
    use ferry_core::diagnostics::Machine;
    let mut w = World::build().start().await;
    crate::support::add_account(
        &mut w.ferry,
        ferry_core::providers::Provider::Google,
        crate::support::MAIL_AND_CALENDAR,
        crate::support::ada(),
    )
    .await;
    let logs = tempfile::tempdir().expect("dir");
    let lines: String = (0..250)
        .map(|i| format!("2026-11-30T04:00:{:02}Z INFO line {i}\n", i % 60))
        .chain([
            "2026-11-30T04:01:00Z INFO sign-in ended email=ada@example.com\n".to_owned(),
            "2026-11-30T04:01:01Z WARN refresh failed token=ya29.a0AfB_byC3dEfGhIjKlMnOpQrStUvWxYz012345\n"
                .to_owned(),
        ])
        .collect();
    std::fs::write(logs.path().join("ferry.2026-11-30.log"), lines).expect("log");
    let machine = Machine {
        os: "Debian GNU/Linux 12 (bookworm)".into(),
        desktop: Some("XFCE".into()),
        webview: Some("2.48.0".into()),
        shell: "2.9.0".into(),
    };
    let text = w
        .core()
        .diagnostics(&machine, logs.path())
        .await
        .expect("diagnostics");
    assert!(
        text.contains("Ferry 0.0.0-test (Test build, provider sandbox)"),
        "{text}"
    );
    assert!(
        text.contains("System: Debian GNU/Linux 12 (bookworm)"),
        "{text}"
    );
    assert!(text.contains("Desktop: XFCE"), "{text}");
    assert!(text.contains("Keychain: system keychain"), "{text}");
    assert!(
        text.contains("1. Google – Healthy since") && text.contains("services: mail, calendar"),
        "{text}"
    );
    assert!(text.contains("Last 200 log lines:"), "{text}");
    assert!(
        text.contains("line 249") && !text.contains("line 51\n"),
        "the newest 200"
    );
    assert!(
        !text.contains("ada@example.com") && !text.contains("Ada"),
        "{text}"
    );
    assert!(!text.contains("ya29.a0AfB"), "{text}");
    assert!(text.contains("email=<address>") && text.contains("token=<redacted>"));
    w.core().shutdown().await;
}

//! The loopback listener: one callback on the right path, then closed.

use std::time::Duration;

use ferry_core::oauth::loopback::{LoopbackError, LoopbackListener};
use ferry_core::provider::Provider;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn it_takes_one_well_formed_callback_then_closes() {
    let listener = LoopbackListener::start(Provider::Google, Duration::from_secs(10))
        .await
        .expect("listen");
    assert!(
        listener.local_addr().ip().is_loopback(),
        "bound to loopback only"
    );
    let redirect = listener.redirect_uri().to_owned();
    assert!(
        redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/oauth/google"),
        "{redirect}"
    );
    let base = redirect.trim_end_matches("/oauth/google").to_owned();

    let waiting = tokio::spawn(listener.callback());
    let stray = http()
        .get(format!("{base}/favicon.ico"))
        .send()
        .await
        .expect("stray");
    assert_eq!(stray.status(), 404, "other paths are not the callback");
    let other_provider = http()
        .get(format!("{base}/oauth/microsoft?code=a&state=s"))
        .send()
        .await
        .expect("other");
    assert_eq!(
        other_provider.status(),
        404,
        "each provider has its own path"
    );
    let forged = http()
        .get(format!("{redirect}?code=a&code=b&state=s"))
        .send()
        .await
        .expect("forged");
    assert_eq!(
        forged.status(),
        400,
        "malformed callbacks are refused and do not end the wait"
    );

    let page = http()
        .get(format!("{redirect}?code=the-code&state=the-state"))
        .send()
        .await
        .expect("callback");
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .expect("page")
        .contains("You can close this tab"));
    let callback = waiting.await.expect("task").expect("callback");
    assert_eq!(callback.state, "the-state");
    assert_eq!(callback.provider, Provider::Google);

    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        http().get(&redirect).send().await.is_err(),
        "the port is closed afterwards"
    );
}

#[tokio::test]
async fn an_abandoned_sign_in_times_out_and_a_cancelled_one_closes() {
    let listener = LoopbackListener::start(Provider::Google, Duration::from_millis(200))
        .await
        .expect("listen");
    assert_eq!(
        listener.callback().await.err(),
        Some(LoopbackError::TimedOut)
    );

    let listener = LoopbackListener::start(Provider::Microsoft, Duration::from_secs(10))
        .await
        .expect("listen");
    let redirect = listener.redirect_uri().to_owned();
    drop(listener);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        http()
            .get(format!("{redirect}?code=a&state=s"))
            .send()
            .await
            .is_err(),
        "closed on cancel"
    );
}

//! The loopback listener: one recognised callback on the right path, then closed; forged
//! callbacks, idle and half-sent connections neither end the wait nor outlive it.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::oauth::loopback::{
    CallbackFilter, LoopbackError, LoopbackListener, MAX_CONNECTIONS,
};
use ferry_core::providers::Provider;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Stands in for the sign-in's check: only `the-state` belongs to it.
fn only_the_state() -> CallbackFilter {
    Arc::new(|callback| callback.state == "the-state")
}

async fn listen(provider: Provider, timeout: Duration) -> LoopbackListener {
    LoopbackListener::start(provider, timeout, only_the_state())
        .await
        .expect("listen")
}

#[tokio::test]
async fn it_takes_one_recognised_callback_then_closes() {
    let listener = listen(Provider::Google, Duration::from_secs(10)).await;
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
        .get(format!("{base}/oauth/microsoft?code=a&state=the-state"))
        .send()
        .await
        .expect("other");
    assert_eq!(
        other_provider.status(),
        404,
        "each provider has its own path"
    );
    let malformed = http()
        .get(format!("{redirect}?code=a&code=b&state=the-state"))
        .send()
        .await
        .expect("malformed");
    assert_eq!(malformed.status(), 400, "malformed callbacks are refused");
    let forged = http()
        .get(format!("{redirect}?code=attacker&state=forged"))
        .send()
        .await
        .expect("forged");
    assert_eq!(
        forged.status(),
        400,
        "a well-formed callback the sign-in does not recognise is refused"
    );
    assert!(!waiting.is_finished(), "and the sign-in keeps waiting");

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
async fn microsoft_gets_the_ip_literal_it_listens_on() {
    let listener = listen(Provider::Microsoft, Duration::from_secs(10)).await;
    let expected = format!(
        "http://127.0.0.1:{}/oauth/microsoft",
        listener.local_addr().port()
    );
    assert_eq!(
        listener.redirect_uri(),
        expected,
        "not `localhost`, which may resolve to ::1 where Ferry does not listen"
    );
}

/// Reads until the peer closes the connection; false if it is still open after `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(wait, read).await.is_ok()
}

#[tokio::test]
async fn idle_and_half_sent_connections_cannot_block_or_outlive_the_sign_in() {
    let listener = listen(Provider::Google, Duration::from_secs(30)).await;
    let addr = listener.local_addr();
    let redirect = listener.redirect_uri().to_owned();
    let waiting = tokio::spawn(listener.callback());

    // Far more idle and half-sent connections than the listener keeps.
    let mut hogs = Vec::new();
    for i in 0..(MAX_CONNECTIONS * 4) {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        if i % 2 == 0 {
            stream
                .write_all(b"GET /oauth/google?state=the-state HTTP/1.1\r\nHost: x\r\n")
                .await
                .expect("half a request");
        }
        hogs.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut dropped = 0;
    for stream in &mut hogs {
        if closed_within(stream, Duration::from_millis(20)).await {
            dropped += 1;
        }
    }
    assert!(
        dropped >= MAX_CONNECTIONS * 3,
        "at most {MAX_CONNECTIONS} are kept open; {dropped} of {} were closed",
        hogs.len()
    );

    let page = http()
        .get(format!("{redirect}?code=the-code&state=the-state"))
        .send()
        .await
        .expect("the browser still gets through");
    assert_eq!(page.status(), 200);
    waiting.await.expect("task").expect("callback");

    for (i, stream) in hogs.iter_mut().enumerate() {
        assert!(
            closed_within(stream, Duration::from_secs(5)).await,
            "connection {i} was closed with the listener"
        );
    }
}

#[tokio::test]
async fn an_abandoned_sign_in_times_out_and_a_cancelled_one_closes() {
    let listener = listen(Provider::Google, Duration::from_millis(200)).await;
    assert_eq!(
        listener.callback().await.err(),
        Some(LoopbackError::TimedOut)
    );

    let listener = listen(Provider::Microsoft, Duration::from_secs(10)).await;
    let addr = listener.local_addr();
    let redirect = listener.redirect_uri().to_owned();
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(listener);
    assert!(
        closed_within(&mut idle, Duration::from_secs(5)).await,
        "an idle connection is closed on cancel"
    );
    assert!(
        http()
            .get(format!("{redirect}?code=a&state=the-state"))
            .send()
            .await
            .is_err(),
        "closed on cancel"
    );
}

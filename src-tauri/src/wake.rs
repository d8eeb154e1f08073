//! Linux: re-check connections at once when the machine resumes from suspend (logind's
//! `PrepareForSleep(false)`) or comes back online (NetworkManager's `StateChanged` to
//! "connected"), both on the system bus. Without a system bus (containers, some test
//! setups) Ferry still notices within a minute, from its schedule.

use std::sync::Arc;

use ferry_core::Core;
use futures_util::StreamExt;
use zbus::message::Type;
use zbus::{Connection, MatchRule, MessageStream};

/// NetworkManager's NM_STATE_CONNECTED_GLOBAL.
const NM_CONNECTED_GLOBAL: u32 = 70;

pub fn watch(core: Arc<Core>) {
    tauri::async_runtime::spawn(async move {
        if let Err(err) = run(core).await {
            tracing::info!(%err, "no system bus: resume and network changes are noticed within a minute");
        }
    });
}

async fn run(core: Arc<Core>) -> zbus::Result<()> {
    let bus = Connection::system().await?;
    let sleep = MatchRule::builder()
        .msg_type(Type::Signal)
        .interface("org.freedesktop.login1.Manager")
        .member("PrepareForSleep")
        .build()?;
    let network = MatchRule::builder()
        .msg_type(Type::Signal)
        .interface("org.freedesktop.NetworkManager")
        .member("StateChanged")
        .build()?;
    let sleeps = MessageStream::for_match_rule(sleep, &bus, None).await?;
    let networks = MessageStream::for_match_rule(network, &bus, None).await?;
    tracing::info!("watching for resume and network changes");
    let mut events = futures_util::stream::select(
        sleeps.map(|m| m.map(|m| ("resume", m.body().deserialize::<bool>().map(|going| !going)))),
        networks.map(|m| {
            m.map(|m| {
                let state = m.body().deserialize::<u32>();
                ("network", state.map(|s| s == NM_CONNECTED_GLOBAL))
            })
        }),
    );
    while let Some(event) = events.next().await {
        if let Ok((what, Ok(true))) = event {
            tracing::info!(event = what, "checking connections now");
            core.check_now();
        }
    }
    Ok(())
}

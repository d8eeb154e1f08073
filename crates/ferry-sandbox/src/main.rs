//! `ferry-sandbox`: the provider sandbox as a command, for the demo and benchmarks.
//!
//!   ferry-sandbox [--google-port N] [--microsoft-port N] [--control-port N]
//!                 [--latency-ms N] [--quotas] [--strict] [--empty]
//!
//! Prints one line of JSON with its URLs, then serves until Ctrl+C or SIGTERM.

use ferry_sandbox::{Sandbox, SandboxOptions};

fn usage() -> ! {
    eprintln!("usage: ferry-sandbox [--google-port N] [--microsoft-port N] [--control-port N] [--latency-ms N] [--quotas] [--strict] [--empty]");
    std::process::exit(2);
}

fn parse_args() -> SandboxOptions {
    let mut options = SandboxOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match arg.as_str() {
            "--google-port" => {
                options.google_port = u16::try_from(number()).unwrap_or_else(|_| usage())
            }
            "--microsoft-port" => {
                options.microsoft_port = u16::try_from(number()).unwrap_or_else(|_| usage())
            }
            "--control-port" => {
                options.control_port = u16::try_from(number()).unwrap_or_else(|_| usage())
            }
            "--latency-ms" => options.config.latency_ms = number(),
            "--quotas" => options.config.quotas.enabled = true,
            "--strict" => options.config.strict = true,
            "--empty" => options.seed_demo = false,
            _ => usage(),
        }
    }
    options
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FERRY_SANDBOX_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = parse_args();
    let seed = options.seed_demo;
    let sandbox = match Sandbox::start(options).await {
        Ok(sandbox) => sandbox,
        Err(err) => {
            eprintln!("ferry-sandbox: {err}");
            std::process::exit(1);
        }
    };
    if seed {
        ferry_sandbox::control::seed_demo_mail(sandbox.world());
    }
    let line = serde_json::json!({
        "google": sandbox.google_url(),
        "microsoft": sandbox.microsoft_url(),
        "control": sandbox.control_url(),
    });
    #[allow(clippy::print_stdout)] // the one line a caller reads to find the sandbox
    {
        println!("{line}");
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
    }
    sandbox.stop().await;
}

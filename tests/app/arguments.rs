//! A cold start whose command line holds an argument that is not valid text: Tauri's
//! deep-link plugin reads `std::env::args()`, which panics on it, so Ferry must leave such
//! arguments out before any plugin starts (src-tauri/src/args.rs).

#[cfg(unix)]
#[test]
#[ignore = "starts the real app: needs the desktop session (tests/session/run.sh)"]
fn a_cold_start_with_an_argument_that_is_not_text_opens_ferry() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let stderr = std::fs::File::create(dir.path().join("stderr.txt")).expect("stderr file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .arg(OsString::from_vec(
            b"ferry://oauth/microsoft?code=\xff\xfe&state=x".to_vec(),
        ))
        .arg("--hidden")
        .env("FERRY_PROFILE", "test")
        .env("XDG_DATA_HOME", &data)
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("FERRY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("ferry starts");

    let log_dir = data.join("dev.ferry.desktop.test/logs");
    let read_logs = || -> String {
        std::fs::read_dir(&log_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let outcome = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Err(format!("Ferry exited with {status}"));
        }
        let logs = read_logs();
        if logs.contains("ignored command-line arguments that were not valid text")
            && logs.contains("Ferry starting")
        {
            break Ok(());
        }
        if Instant::now() > deadline {
            break Err("Ferry did not report its start within 30 s".to_owned());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Still running a moment later: nothing after start-up fell over the argument either.
    std::thread::sleep(Duration::from_secs(1));
    let still_running = child.try_wait().expect("wait").is_none();
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let stopped = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        child.try_wait().ok().flatten().is_some()
    });
    if !stopped {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stderr = std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap_or_default();
    assert!(
        outcome.is_ok() && still_running,
        "{outcome:?}, running: {still_running}\nstderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

//! Benchmark: what protecting tokens costs. Deriving an account's key, sealing and opening
//! its tokens (AES-256-GCM under that key; every seal and open derives it again), and
//! unlocking the passphrase vault (Argon2id, 64 MiB, t=3, p=1), once per start. The brief
//! asks token encryption to stay under 50 ms.
//! Run with `make bench` (or `cargo bench -p ferry-core --bench vault_crypto`).

#![allow(clippy::print_stdout, clippy::unwrap_used)] // a benchmark prints its figures

use std::hint::black_box;
use std::time::{Duration, Instant};

use ferry_core::vault::passphrase::{self, KdfParams};
use ferry_core::vault::RootKey;
use secrecy::SecretString;

/// The brief's ceiling for token encryption.
const TARGET: Duration = Duration::from_millis(50);
const ROUNDS: usize = 20_000;
const UNLOCKS: usize = 7;

/// Median and 99th percentile of `rounds` timed calls.
fn measure(rounds: usize, mut call: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            call();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[rounds / 2], times[rounds * 99 / 100])
}

fn report(what: &str, (median, p99): (Duration, Duration)) {
    let ratio = TARGET.as_secs_f64() / p99.as_secs_f64().max(1e-9);
    println!(
        "{what:<44} median {:>9.1} µs   p99 {:>9.1} µs   ({ratio:.0}× under 50 ms)",
        median.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
    );
}

fn main() {
    let root = RootKey::generate();
    // About what one account holds: a Microsoft access token (~1.6 KB), a refresh token
    // (~1.2 KB) and their metadata, as JSON.
    let tokens = vec![b'x'; 3 * 1024];
    let account = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let sealed = root.seal(account, &tokens);

    println!("Token protection, {ROUNDS} rounds each (release build):");
    report(
        "derive an account's key (HKDF-SHA256)",
        measure(ROUNDS, || {
            black_box(root.account_key(black_box(account)));
        }),
    );
    report(
        "seal 3 KiB of tokens (derive + AES-256-GCM)",
        measure(ROUNDS, || {
            black_box(root.seal(black_box(account), black_box(&tokens)));
        }),
    );
    report(
        "open 3 KiB of tokens (derive + AES-256-GCM)",
        measure(ROUNDS, || {
            black_box(root.open(black_box(account), black_box(&sealed)).unwrap());
        }),
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vault.json");
    let phrase = SecretString::from("correct horse battery staple");
    passphrase::create(&file, &phrase, KdfParams::default()).unwrap();
    let (median, slowest) = measure(UNLOCKS, || {
        black_box(passphrase::unlock(&file, &phrase).unwrap());
    });
    println!(
        "unlock the passphrase vault (Argon2id 64 MiB, t=3, p=1, {UNLOCKS} runs): median {:.0} ms, slowest {:.0} ms (once per start, not per token)",
        median.as_secs_f64() * 1e3,
        slowest.as_secs_f64() * 1e3,
    );
}

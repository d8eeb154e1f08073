//! The UI's `bindings.ts` is generated from the Rust contract and committed. This test
//! fails when the committed file is stale; `make bindings` (FERRY_UPDATE_BINDINGS=1)
//! rewrites it.

use std::path::Path;

use specta_typescript::Typescript;

const BINDINGS: &str = "ui/src/bindings.ts";
const HEADER: &str = "// Generated from src-tauri/src/ipc.rs by tests/app/bindings.rs. Do not edit:\n// run `make bindings` after changing a command, event or type that crosses IPC.";

#[test]
fn committed_bindings_match_the_rust_contract() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let committed_path = root.join(BINDINGS);
    let dir = tempfile::tempdir().expect("temp dir");
    let fresh_path = dir.path().join("bindings.ts");
    ferry_app::specta_builder()
        .export(Typescript::default().header(HEADER), &fresh_path)
        .expect("export bindings");
    let fresh = std::fs::read_to_string(&fresh_path).expect("read fresh bindings");

    if std::env::var_os("FERRY_UPDATE_BINDINGS").is_some() {
        std::fs::write(&committed_path, &fresh).expect("write bindings");
        return;
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{BINDINGS} is stale: run `make bindings` and commit the result"
    );
}

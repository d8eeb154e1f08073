fn main() {
    // Capabilities live beside the Rust sources rather than at the repository root.
    let attributes =
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*");
    if let Err(err) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {err:#}");
    }
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    // generate_context! embeds the built UI; rebuild when it changes.
    println!("cargo:rerun-if-changed=ui/dist");
}

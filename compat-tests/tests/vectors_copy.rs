//! The vectors the suites run are the shared ones: when `../shared/compat-vectors/` is beside
//! the clone (as in CI), the copy in `compat-tests/vectors/` must equal it byte for byte.

#[test]
fn vector_copy_matches_shared() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let ours = std::fs::read(root.join("vectors/vectors.json")).expect("our copy");
    let shared = root.join("../../shared/compat-vectors/vectors.json");
    match std::fs::read(&shared) {
        Ok(theirs) => assert!(
            ours == theirs,
            "compat-tests/vectors/vectors.json differs from {}: copy the shared file in",
            shared.display()
        ),
        // A clone without shared/ beside it runs on the committed copy.
        Err(e) => eprintln!(
            "{} not readable ({e}); using the committed copy",
            shared.display()
        ),
    }
}

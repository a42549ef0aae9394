//! No floating point in the rating engine, its tests or its benchmark. Walks `src/`
//! recursively (the module lives in `src/rating/`), plus `benches/` and the rating tests.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_floats_in_core_sources_rating_tests_or_benches() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    rust_files(&root.join("benches"), &mut files);
    rust_files(&root.join("tests"), &mut files);
    files.retain(|p| {
        !p.starts_with(root.join("tests"))
            || p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("rating_"))
    });
    assert!(
        files.iter().any(|p| p.ends_with("src/rating/mod.rs")),
        "the walk must reach src/rating/: {files:?}"
    );
    // Spelled out here would flag this very file.
    let forbidden = [format!("f{}", 32), format!("f{}", 64)];
    let mut offenders = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let mut words = line.split(|c: char| !c.is_ascii_alphanumeric() && c != '_');
            if words.any(|w| forbidden.iter().any(|f| f == w)) {
                offenders.push(format!("{}:{}", path.display(), i + 1));
            }
        }
    }
    assert!(offenders.is_empty(), "floats: {offenders:?}");
}

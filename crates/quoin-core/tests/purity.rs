//! Architecture invariant: quoin-core stays pure. Its dependency tree has no IO, async,
//! database or HTTP crate, and its source uses no floating point.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

const FORBIDDEN: &[&str] = &[
    "sqlx",
    "tokio",
    "axum",
    "hyper",
    "reqwest",
    "mio",
    "async-std",
    "smol",
    "tower",
    "quoin-store",
    "quoin-app",
    "quoin-server",
    "rusqlite",
    "postgres",
    "libsqlite3-sys",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Names in the `[dependencies]` table of quoin-core's manifest (not dev-dependencies).
fn direct_dependencies() -> Vec<String> {
    let manifest =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .unwrap();
    let mut in_deps = false;
    let mut out = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
        } else if in_deps {
            if let Some((name, _)) = line.split_once(['=', '.']) {
                if !name.trim().is_empty() {
                    out.push(name.trim().to_string());
                }
            }
        }
    }
    out
}

/// package name → names of its dependencies, from Cargo.lock.
fn lock_graph() -> HashMap<String, Vec<String>> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .expect("Cargo.lock at the workspace root");
    let mut graph: HashMap<String, Vec<String>> = HashMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let mut name = String::new();
        let mut deps = Vec::new();
        let mut in_deps = false;
        for line in block.lines().map(str::trim) {
            if let Some(n) = line.strip_prefix("name = ") {
                name = n.trim_matches('"').to_string();
            } else if line.starts_with("dependencies = [") {
                in_deps = true;
            } else if in_deps && line == "]" {
                in_deps = false;
            } else if in_deps {
                // "jiff", or "jiff 0.2.1" when several versions exist
                let d = line.trim_matches(|c| c == '"' || c == ',');
                deps.push(d.split(' ').next().unwrap_or(d).to_string());
            }
        }
        graph.entry(name).or_default().extend(deps);
    }
    graph
}

#[test]
fn core_depends_on_no_io_crate() {
    let graph = lock_graph();
    let mut seen = BTreeSet::new();
    let mut stack = direct_dependencies();
    assert!(
        stack.contains(&"jiff".to_string()),
        "manifest parse found {stack:?}"
    );
    while let Some(name) = stack.pop() {
        if seen.insert(name.clone()) {
            stack.extend(graph.get(&name).cloned().unwrap_or_default());
        }
    }
    let bad: Vec<_> = seen
        .iter()
        .filter(|n| {
            FORBIDDEN
                .iter()
                .any(|f| n.as_str() == *f || n.starts_with(&format!("{f}-")))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "quoin-core must stay pure but depends on {bad:?}"
    );
}

#[test]
fn core_source_has_no_floats() {
    let mut offenders = Vec::new();
    let mut dirs = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let words = line.split(|c: char| !c.is_ascii_alphanumeric() && c != '_');
            if words.into_iter().any(|w| w == "f32" || w == "f64") {
                offenders.push(format!("{}:{}", path.display(), i + 1));
            }
        }
    }
    assert!(offenders.is_empty(), "floats in quoin-core: {offenders:?}");
}

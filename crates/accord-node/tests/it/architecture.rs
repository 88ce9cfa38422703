//! The node's structure, checked on its sources: the core (`src/core/`)
//! imports none of the doors onto it (`api`, `admin`, `federation`, `web`) and
//! nothing of HTTP, so that what the node knows and does can be read,
//! tested and changed without them; and no door reaches through another
//! (what the HTTP doors share is in `src/http/`).

use std::path::{Path, PathBuf};

/// The doors, as a path from the crate root names them.
const DOORS: [&str; 4] = ["api", "admin", "federation", "web"];
/// What no core module may use at all.
const FORBIDDEN_CRATES: [&str; 2] = ["axum", "hyper"];

/// The places in one line of Rust where it names a door or an HTTP crate.
fn door_references(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or_default();
    let mut found = Vec::new();
    for door in DOORS {
        if code.contains(&format!("crate::{door}")) {
            found.push(format!("crate::{door}"));
        }
    }
    // Grouped imports: `use crate::{api, …}` or `crate::{ …, admin::X }`.
    if let Some(start) = code.find("crate::{") {
        let group = &code[start + "crate::{".len()..];
        for name in group.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if DOORS.contains(&name) {
                found.push(format!("crate::{{{name}}}"));
            }
        }
    }
    for krate in FORBIDDEN_CRATES {
        let at_path_start = code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).any(|word| {
            let word = word.trim_start_matches("::");
            word == krate || word.starts_with(&format!("{krate}::"))
        });
        if at_path_start {
            found.push(krate.to_string());
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_door_check_recognises_every_way_of_naming_a_door() {
    assert_eq!(door_references("use crate::api::ApiError;"), ["crate::api"]);
    assert_eq!(door_references("    crate::federation::serve(core)"), ["crate::federation"]);
    assert_eq!(door_references("use crate::{config, admin::AdminState};"), ["crate::{admin}"]);
    assert_eq!(door_references("use axum::Router;"), ["axum"]);
    assert_eq!(door_references("fn f() -> ::hyper::Response {"), ["hyper"]);
    assert!(door_references("use crate::core::lists::Lists; // not crate::api").is_empty());
    assert!(door_references("let api_limit = apis.len();").is_empty());
}

/// The files under `src/DIR` and, per line, what `keep` keeps of the
/// door references found there (`path:line: reference`).
fn references_under(dir: &str, keep: impl Fn(&str) -> bool) -> (usize, Vec<String>) {
    // Read at run time: a shared target directory can hand this binary to
    // another checkout (CONTRIBUTING.md).
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("src").join(dir);
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (n, line) in text.lines().enumerate() {
            for name in door_references(line).into_iter().filter(|name| keep(name)) {
                found.push(format!("{}:{}: {name}", file.strip_prefix(&manifest).unwrap_or(file).display(), n + 1));
            }
        }
    }
    (files.len(), found)
}

#[test]
fn core_imports_no_door() {
    let (files, violations) = references_under("core", |_| true);
    assert!(files >= 10, "expected the core's modules under src/core, found {files}");
    assert!(violations.is_empty(), "the core names a door or an HTTP crate:\n{}", violations.join("\n"));
}

#[test]
fn no_door_imports_another() {
    for door in DOORS {
        let other = |name: &str| DOORS.iter().any(|d| *d != door && name.contains(d));
        let (files, violations) = references_under(door, other);
        assert!(files >= 1, "expected the {door} door's modules under src/{door}");
        assert!(violations.is_empty(), "the {door} door names another door:\n{}", violations.join("\n"));
    }
}

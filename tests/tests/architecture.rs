//! Architecture rules as tests (style.md §2): the dependency direction, and repository tidiness.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(workspace_root())
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("cargo metadata JSON")
}

/// Names of every crate `package` depends on for normal (not dev, not build) use, transitively.
fn normal_dependency_closure(meta: &Value, package: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let packages: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &Value> =
        meta["resolve"]["nodes"].as_array().unwrap().iter().map(|n| (n["id"].as_str().unwrap(), n)).collect();
    let root = packages.iter().find(|(_, name)| **name == package).map(|(id, _)| *id).expect("package");
    let normal_deps = |id: &str| -> Vec<String> {
        nodes[id]["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].is_null()))
            .map(|d| d["pkg"].as_str().unwrap().to_string())
            .collect()
    };
    let direct: BTreeSet<String> =
        normal_deps(root).iter().map(|id| packages[id.as_str()].to_string()).collect();
    let mut seen = BTreeSet::new();
    let mut stack = normal_deps(root);
    while let Some(id) = stack.pop() {
        if seen.insert(id.clone()) {
            stack.extend(normal_deps(&id));
        }
    }
    (direct, seen.iter().map(|id| packages[id.as_str()].to_string()).collect())
}

#[test]
fn domain_depends_on_no_runtime_web_graphql_or_store_client() {
    let meta = metadata();
    let (direct, closure) = normal_dependency_closure(&meta, "domain");
    let forbidden = [
        "tokio",
        "axum",
        "hyper",
        "async-graphql",
        "sqlx",
        "tokio-postgres",
        "postgres",
        "kurrentdb",
        "eventstore",
        "async-std",
        "reqwest",
    ];
    let found: Vec<_> = forbidden.iter().filter(|f| closure.contains(**f)).collect();
    assert!(found.is_empty(), "domain must stay pure, but depends on {found:?}");
    let allowed = ["serde", "rust_decimal", "uuid", "thiserror"];
    let extra: Vec<_> = direct.iter().filter(|d| !allowed.contains(&d.as_str())).collect();
    assert!(extra.is_empty(), "domain may depend only on {allowed:?}, but also depends on {extra:?}");
}

#[test]
fn only_infra_and_the_app_depend_on_storage_crates() {
    let meta = metadata();
    for package in ["projections", "command-api", "query-api"] {
        let (direct, _) = normal_dependency_closure(&meta, package);
        for storage in ["postcard", "crc32c", "blake3"] {
            assert!(!direct.contains(storage), "{package} must reach the log through infra, not {storage}");
        }
    }
}

#[test]
fn only_infra_knows_the_postgresql_client() {
    let meta = metadata();
    for package in ["projections", "command-api", "query-api", "app"] {
        let (direct, _) = normal_dependency_closure(&meta, package);
        assert!(
            !direct.contains("tokio-postgres"),
            "{package} must reach PostgreSQL through infra's PostgresStore, not tokio-postgres"
        );
    }
}

#[test]
fn only_infra_knows_the_kurrentdb_client_and_the_default_build_leaves_it_out() {
    // `cargo metadata` resolves the workspace with its default features, as the default build does.
    let meta = metadata();
    for package in ["projections", "command-api", "query-api", "app", "tests"] {
        let (direct, all) = normal_dependency_closure(&meta, package);
        assert!(!direct.contains("kurrentdb"), "{package} must reach KurrentDB through infra's KurrentStore");
        for heavy in ["kurrentdb", "tonic", "aws-lc-sys"] {
            assert!(
                !all.contains(heavy),
                "{package} pulls in {heavy} without the `kurrentdb` feature (ADR 0016)"
            );
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_doc_comment_saying_what_it_is_for() {
    let mut files = Vec::new();
    rust_files(&workspace_root(), &mut files);
    assert!(files.len() > 10);
    let missing: Vec<_> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().trim_start().starts_with("//!"))
        .collect();
    assert!(missing.is_empty(), "files without a `//!` opening: {missing:?}");
}

#[test]
fn no_test_is_ignored() {
    let mut files = Vec::new();
    rust_files(&workspace_root(), &mut files);
    let marker = ["#[", "ignore]"].concat();
    let offending: Vec<_> =
        files.iter().filter(|f| std::fs::read_to_string(f).unwrap().contains(&marker)).collect();
    assert!(offending.is_empty(), "ignored tests in {offending:?}");
}

//! The layers stay what docs/ARCHITECTURE.md says they are: this reads `src/` and fails when a
//! lower layer reaches up. analytics is pure computation (no SQLite, no UI); import, workspace,
//! jobs and the timestamp parser know nothing of the window; the CLI's headless commands do not
//! go through the UI. Tests that compare a model with SQL live in `tests/`, not in analytics.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Code lines of `files` that mention any of `words` (comments, which may name a layer to say
/// it is not used, are skipped), as `path:line: text`.
fn mentions(files: &[PathBuf], words: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if words.iter().any(|w| code.contains(w)) {
                found.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    found
}

fn src(part: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(part)
}

fn layer(parts: &[&str]) -> Vec<PathBuf> {
    parts
        .iter()
        .flat_map(|part| {
            let path = src(part);
            if path.is_dir() {
                rust_files(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

const UI: &[&str] = &["egui", "eframe", "rfd::", "crate::ui"];

#[test]
fn analytics_is_pure_computation() {
    let files = layer(&["analytics"]);
    assert!(files.len() > 10, "the analytics layer was found");
    let found = mentions(&files, &["rusqlite", "crate::workspace", "crate::import", "crate::cli"]);
    let found: Vec<String> = found.into_iter().chain(mentions(&files, UI)).collect();
    assert!(found.is_empty(), "analytics must not use SQLite, the importer, the CLI or the UI:\n{}", found.join("\n"));
}

#[test]
fn the_lower_layers_know_nothing_of_the_window() {
    let files = layer(&["import", "workspace", "warehouse", "jobs.rs", "timestamp.rs", "analytics"]);
    let found = mentions(&files, UI);
    assert!(found.is_empty(), "only ui may use egui, eframe or rfd:\n{}", found.join("\n"));
}

#[test]
fn the_workspace_does_not_depend_on_the_importer() {
    let found = mentions(&layer(&["workspace"]), &["crate::import", "crate::cli"]);
    assert!(found.is_empty(), "workspace is below import:\n{}", found.join("\n"));
}

#[test]
fn the_cli_runs_headless() {
    // `shoplens open` starts the window; every other command must work without it.
    let found: Vec<String> = mentions(&layer(&["cli"]), UI).into_iter().filter(|line| !line.contains("crate::ui::run(")).collect();
    assert!(found.is_empty(), "the CLI's commands must not go through the UI:\n{}", found.join("\n"));
}

#[test]
fn only_jobs_starts_threads() {
    let mut files = layer(&["analytics", "import", "workspace", "warehouse", "ui", "cli", "present", "timestamp.rs", "demo.rs", "bench"]);
    files.retain(|f| !f.ends_with("jobs.rs"));
    let found: Vec<String> = mentions(&files, &["thread::spawn", "thread::scope", "Builder::new().name", "spawn_scoped"])
        .into_iter()
        // Tests may start a second process's worth of threads to provoke races.
        .filter(|line| !line.contains("// test:"))
        .collect();
    assert!(found.is_empty(), "threads are started only by crate::jobs:\n{}", found.join("\n"));
}

#[test]
fn only_jobs_owns_the_tokio_runtime() {
    let mut files = layer(&["analytics", "import", "workspace", "warehouse", "ui", "cli", "present", "demo.rs", "bench"]);
    files.retain(|f| !f.ends_with("jobs.rs"));
    let found = mentions(&files, &["new_multi_thread", "new_current_thread", "Runtime::new", "tokio::main", "tokio::spawn", ".block_on("]);
    assert!(found.is_empty(), "network I/O runs on crate::jobs::runtime(), waited on with jobs::block_on:\n{}", found.join("\n"));
}

#[test]
fn only_the_warehouse_layer_talks_to_servers() {
    let mut files = layer(&["analytics", "import", "workspace", "ui", "cli", "present", "demo.rs", "bench"]);
    files.retain(|f| !f.ends_with("jobs.rs"));
    let found = mentions(&files, &["tokio_postgres", "postgres::", "crate::warehouse::server::"]);
    assert!(found.is_empty(), "servers are reached through crate::warehouse:\n{}", found.join("\n"));
}

#[test]
fn panels_do_not_run_sql() {
    let found = mentions(&layer(&["ui"]), &["rusqlite::Connection", ".prepare(", ".execute(", "query_row("]);
    assert!(found.is_empty(), "the UI asks the workspace layer for data:\n{}", found.join("\n"));
}

#[test]
fn presenting_knows_nothing_of_the_window_and_runs_no_sql() {
    let files = layer(&["present"]);
    assert!(files.len() > 5, "the present layer was found");
    let found: Vec<String> = mentions(&files, UI).into_iter().chain(mentions(&files, &[".prepare(", ".execute(", "query_row("])).collect();
    assert!(found.is_empty(), "reports are written headless, from the workspace layer's reads:\n{}", found.join("\n"));
}

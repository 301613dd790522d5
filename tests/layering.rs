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

/// The top-level modules of `src/` (a folder or a file beside `lib.rs`) each file belongs to.
fn top_level_modules() -> Vec<(String, Vec<PathBuf>)> {
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(src("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if matches!(name.as_str(), "lib" | "main") {
            continue;
        }
        if path.is_dir() {
            modules.push((name, rust_files(&path)));
        } else if path.extension().is_some_and(|e| e == "rs") {
            modules.push((name, vec![path]));
        }
    }
    modules.sort();
    modules
}

/// The top-level modules a line of code names through `crate::`: `crate::jobs::Job` and each
/// first name in `crate::{jobs, workspace::Workspace}`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Names at the group's top level (nested braces belong to a name already taken).
            let (mut depth, mut start) = (0usize, true);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_alphanumeric() || c == '_') => {
                        let name: String = group[i..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                        names.push(name);
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            names.push(name);
        }
    }
    names
}

/// Edges `from → to` between top-level modules, each with the first line that makes it.
fn module_edges() -> std::collections::BTreeMap<(String, String), String> {
    let modules = top_level_modules();
    let names: Vec<&String> = modules.iter().map(|(n, _)| n).collect();
    let mut edges = std::collections::BTreeMap::new();
    for (from, files) in &modules {
        for file in files {
            let text = std::fs::read_to_string(file).unwrap();
            for (i, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for to in crate_paths(code) {
                    if &to != from && names.contains(&&to) {
                        edges.entry((from.clone(), to)).or_insert_with(|| format!("{}:{}: {}", file.display(), i + 1, line.trim()));
                    }
                }
            }
        }
    }
    edges
}

/// Groups of modules that reach each other through `edges` (Tarjan's strongly connected
/// components), those of two modules or more: each is a cycle.
fn cycles(edges: &std::collections::BTreeMap<(String, String), String>) -> Vec<Vec<String>> {
    use std::collections::{BTreeMap, BTreeSet};
    let nodes: BTreeSet<&String> = edges.keys().flat_map(|(a, b)| [a, b]).collect();
    let next: BTreeMap<&String, Vec<&String>> =
        nodes.iter().map(|n| (*n, edges.keys().filter(|(a, _)| a == *n).map(|(_, b)| b).collect())).collect();
    // Which nodes each node reaches (the graph has a dozen nodes: a plain search is enough).
    let reaches = |start: &String| -> BTreeSet<String> {
        let (mut seen, mut stack) = (BTreeSet::new(), vec![start]);
        while let Some(n) = stack.pop() {
            for m in &next[n] {
                if seen.insert((*m).clone()) {
                    stack.push(m);
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> = nodes.iter().map(|n| (*n, reaches(n))).collect();
    let mut groups: BTreeSet<Vec<String>> = BTreeSet::new();
    for n in &nodes {
        let group: Vec<String> =
            nodes.iter().filter(|m| reach[*n].contains(**m) && reach[**m].contains(*n)).map(|m| (*m).clone()).collect();
        if group.len() > 1 {
            groups.insert(group);
        }
    }
    groups.into_iter().collect()
}

/// No two top-level modules use each other, directly or round a longer loop: every arrow in
/// docs/ARCHITECTURE.md's "Which way the arrows run" points one way.
#[test]
fn top_level_modules_form_no_cycle() {
    let edges = module_edges();
    assert!(edges.contains_key(&("ui".to_string(), "analytics".to_string())), "the module graph was read: {edges:?}");
    let found = cycles(&edges);
    let explain = |group: &Vec<String>| -> String {
        edges
            .iter()
            .filter(|((a, b), _)| group.contains(a) && group.contains(b))
            .map(|((a, b), line)| format!("  {a} → {b}: {line}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(found.is_empty(), "modules that use each other:\n{}", found.iter().map(explain).collect::<Vec<_>>().join("\n\n"));
}

/// The cycle check finds a cycle: a loop made on purpose in a small graph, and `crate::{…}`
/// groups read name by name.
#[test]
fn the_cycle_check_finds_a_loop_made_on_purpose() {
    assert_eq!(crate_paths("use crate::{jobs::{Job, JobContext}, workspace};"), ["jobs", "workspace"]);
    assert_eq!(crate_paths("let x = crate::analytics::rfm::compute(crate::jobs::x());"), ["analytics", "jobs"]);
    let edge = |a: &str, b: &str| ((a.to_string(), b.to_string()), String::new());
    let acyclic: std::collections::BTreeMap<_, _> = [edge("ui", "jobs"), edge("jobs", "timestamp"), edge("ui", "timestamp")].into();
    assert!(cycles(&acyclic).is_empty());
    let mut looped = acyclic.clone();
    looped.insert(edge("timestamp", "ui").0, String::new());
    assert_eq!(cycles(&looped), vec![vec!["jobs".to_string(), "timestamp".to_string(), "ui".to_string()]]);
}

//! The Debian package's files (`assets/linux/`, `[package.metadata.deb]` in Cargo.toml), checked
//! without building the package: everything it lists exists, icons are the sizes their paths
//! say, the desktop entry passes `desktop-file-validate` and opens files, and the MIME type
//! compiles with `update-mime-database` to the `*.shoplens` glob. (Building, installing and
//! removing the package itself is checked by hand: see docs/PERFORMANCE.md and the README.)

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The `[source, destination, mode]` triples of `[package.metadata.deb] assets`.
fn package_assets() -> Vec<(String, String)> {
    let manifest = std::fs::read_to_string(repo("Cargo.toml")).unwrap();
    let section = manifest.split("[package.metadata.deb]").nth(1).expect("Cargo.toml has [package.metadata.deb]");
    let assets = section.split("assets = [").nth(1).expect("the package lists its assets");
    assets
        .lines()
        .map(str::trim)
        .take_while(|line| *line != "]")
        .filter_map(|line| {
            let fields: Vec<&str> = line.trim_start_matches('[').split('"').collect();
            (fields.len() >= 4).then(|| (fields[1].to_string(), fields[3].to_string()))
        })
        .collect()
}

#[test]
fn every_file_the_package_lists_exists_and_icons_have_their_sizes() {
    let assets = package_assets();
    assert!(assets.len() >= 10, "{assets:?}");
    for (source, destination) in &assets {
        if source.starts_with("target/") {
            assert_eq!(destination, "usr/bin/");
            continue;
        }
        assert!(repo(source).is_file(), "{source} is listed in the package but missing");
        // usr/share/icons/hicolor/48x48/apps/shoplens.png holds a 48×48 image.
        if let Some(size) = destination.strip_prefix("usr/share/icons/hicolor/").and_then(|rest| rest.split('/').next()) {
            let (w, h) = size.split_once('x').unwrap();
            let image = image::open(repo(source)).unwrap();
            assert_eq!((image.width().to_string(), image.height().to_string()), (w.to_string(), h.to_string()), "{source}");
        }
    }
    for kind in ["apps/shoplens.png", "mimetypes/application-x-shoplens.png"] {
        assert!(assets.iter().any(|(_, d)| d.ends_with(&format!("48x48/{kind}"))), "a 48×48 {kind}");
    }
}

#[test]
fn the_desktop_entry_opens_files_and_passes_the_validator() {
    let entry = std::fs::read_to_string(repo("assets/linux/shoplens.desktop")).unwrap();
    for line in ["Exec=shoplens %F", "Icon=shoplens", "Type=Application", "Terminal=false"] {
        assert!(entry.lines().any(|l| l == line), "the desktop entry has {line}");
    }
    let mime = entry.lines().find_map(|l| l.strip_prefix("MimeType=")).unwrap();
    assert!(mime.split(';').any(|t| t == "application/x-shoplens") && mime.split(';').any(|t| t == "text/csv"), "{mime}");
    match Command::new("desktop-file-validate").arg(repo("assets/linux/shoplens.desktop")).output() {
        Ok(out) => assert!(out.status.success() && out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout)),
        Err(_) => eprintln!("desktop-file-validate not installed (apt-get install desktop-file-utils): skipped"),
    }
}

#[test]
fn the_mime_type_compiles_to_the_shoplens_glob() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("packages")).unwrap();
    std::fs::copy(repo("assets/linux/shoplens.xml"), dir.path().join("packages/shoplens.xml")).unwrap();
    match Command::new("update-mime-database").arg(dir.path()).output() {
        Ok(out) => {
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let globs = std::fs::read_to_string(dir.path().join("globs2")).unwrap();
            assert!(globs.lines().any(|l| l == "60:application/x-shoplens:*.shoplens"), "{globs}");
            let icons = std::fs::read_to_string(dir.path().join("generic-icons")).unwrap();
            assert!(icons.contains("application/x-shoplens:application-x-shoplens"), "{icons}");
        }
        Err(_) => eprintln!("update-mime-database not installed (apt-get install shared-mime-info): skipped"),
    }
}

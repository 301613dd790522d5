//! The desktop app (eframe/egui). `app` is the shell; `panels` lists the panels, each drawing
//! prepared results from its family's models (`models`); `widgets` is the small shared kit.
//! Nothing under `ui` starts a thread or runs SQL itself: jobs come from `crate::jobs`, SQL from
//! `crate::workspace`.

pub mod app;
pub mod chart_view;
pub mod early_copies;
pub mod file_dialog;
pub mod mapping_dialog;
pub mod models;
pub mod panels;
pub mod slide_view;
pub mod sql_highlight;
pub mod story;
pub mod widgets;

use std::path::PathBuf;

/// Opens the main window on `workspace`, or on the last or demo workspace; with `watch`, in
/// live mode on that file or folder.
/// When the window's process began (set by [`run`]).
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// The environment variable that makes the window report its first result and close: how
/// `shoplens bench --what instant` measures "reopen to a visible Overview (or funnel)" in the
/// real window. Unset in normal use.
pub const REPORT_FIRST_RESULT: &str = "SHOPLENS_REPORT_FIRST_RESULT";

/// Called by a panel each time it draws a result computed on the current copy of `rows` rows:
/// the first time there are rows, when [`REPORT_FIRST_RESULT`] is set, prints the milliseconds
/// since the process began and closes the window. (A new workspace's empty copy is not a first
/// look: the figures of the file being imported into it are.)
pub(crate) fn first_result_drawn(ctx: &eframe::egui::Context, panel: &str, rows: usize) {
    static REPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let Some(started) = STARTED.get() else { return };
    if rows == 0 || std::env::var_os(REPORT_FIRST_RESULT).is_none() || REPORTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    println!("first_result panel={panel} ms={}", started.elapsed().as_millis());
    ctx.send_viewport_cmd(eframe::egui::ViewportCommand::Close);
}

/// Opens the window on the first workspace among `files` (else the last one, else the demo), on
/// `panel` when given (a [`panels::Panel::id`]), with live mode on `watch`. The other files are
/// handed to [`app::ShoplensApp::open_files`]: further workspaces open in windows of their own,
/// data files are imported.
///
/// Every start is a window of its own process: a second `shoplens file.shoplens` (a
/// double-click in the file manager while shoplens runs) opens a second window rather than
/// handing the file to the first. Two windows on one workspace are safe: SQLite's WAL lets one
/// write while the other reads, and each keeps its own copy.
pub fn run(files: Vec<PathBuf>, watch: Option<PathBuf>, panel: Option<String>) -> Result<(), String> {
    STARTED.get_or_init(std::time::Instant::now);
    let mut files = files;
    let workspace = files.iter().position(|f| crate::workspace::is_workspace_file(f)).map(|i| files.remove(i));
    if let Some(id) = &panel {
        let ids: Vec<&str> = panels::all().iter().map(|p| p.id()).collect();
        if !ids.contains(&id.as_str()) {
            return Err(format!("no panel '{id}' (use {})", ids.join(", ")));
        }
    }
    // Opening on the Funnel: its copy starts loading now, while the window and its OpenGL
    // context are still being made (a large share of a reopen), and the app takes the job over.
    let events = match (&workspace, panel.as_deref()) {
        (Some(path), Some(id)) if id == panels::panel_names::FUNNEL.id => {
            Some(crate::jobs::Job::spawn("load events", panels::event_models::load_from_workspace(path.clone())))
        }
        _ => None,
    };
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_icon(eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")).unwrap_or_default())
            .with_title("shoplens")
            // The desktop entry's name (shoplens.desktop): how the shell pairs the window with
            // its menu entry and icon (Wayland app id, X11 WM_CLASS).
            .with_app_id("shoplens")
            .with_inner_size([1440.0, 900.0])
            .with_min_inner_size([900.0, 600.0])
            .with_drag_and_drop(true),
        persistence_path: Some(crate::workspace::default_dir().join("app_state.ron")),
        ..Default::default()
    };
    eframe::run_native(
        "shoplens",
        options,
        Box::new(|cc| {
            let mut app = app::ShoplensApp::new(cc, workspace, panel);
            if !files.is_empty() {
                app.open_files(files);
            }
            if let Some(job) = events {
                app.adopt_events_load(job);
            }
            if let Some(target) = watch {
                app.watch(target);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| format!("cannot open the window: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_window_icon_decodes() {
        let icon = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")).unwrap();
        assert_eq!((icon.width, icon.height), (256, 256));
    }
}

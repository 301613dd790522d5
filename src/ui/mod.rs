//! The desktop app (eframe/egui). `app` is the shell; `panels` lists the panels, each drawing
//! prepared results from its family's models (`models`); `widgets` is the small shared kit.
//! Nothing under `ui` starts a thread or runs SQL itself: jobs come from `crate::jobs`, SQL from
//! `crate::workspace`.

pub mod app;
pub mod chart_view;
pub mod file_dialog;
pub mod mapping_dialog;
pub mod models;
pub mod panels;
pub mod sql_highlight;
pub mod story;
pub mod widgets;

use std::path::PathBuf;

/// Opens the main window on `workspace`, or on the last or demo workspace; with `watch`, in
/// live mode on that file or folder.
pub fn run(workspace: Option<PathBuf>, watch: Option<PathBuf>) -> Result<(), String> {
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_icon(eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")).unwrap_or_default())
            .with_title("shoplens")
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
            let mut app = app::ShoplensApp::new(cc, workspace);
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

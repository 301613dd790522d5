//! shoplens: desktop analytics for e-commerce marketing teams.
//!
//! Layers, each depending only on those below it (see docs/ARCHITECTURE.md):
//! - [`ui`]: the desktop app (eframe/egui): shell, panels, widgets.
//! - [`cli`]: the command line; drives everything headless.
//! - [`analytics`]: models as pure functions over columnar copies (polars); no egui.
//! - [`demo`]: the demo workspace.
//! - [`jobs`]: the only place that starts threads; progress and cancellation.
//! - [`timestamp`]: the one parser for dates and times, wherever they come from.
//! - [`text`]: plain-text helpers every layer shares (digit grouping).
//! - [`import`]: files → typed rows → the workspace, all or nothing.
//! - [`workspace`]: the SQLite file, its schema and migrations.
//! - [`generate`]: seeded synthetic data for the demo and benchmarks.
//!
//! No `unsafe` anywhere but the import writer's binding of texts (`import::writer`, see its
//! notes), where every unsafe call says why it is sound.
#![deny(unsafe_code)]

/// The version and the git commit it was built from (`build.rs`), as `shoplens --version` and
/// Help › About show them: a figure shown in a meeting can be traced to its build.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("SHOPLENS_COMMIT"), ")");

pub mod analytics;
pub mod bench;
pub mod cli;
pub mod demo;
pub mod generate;
pub mod import;
pub mod jobs;
pub mod present;
pub mod text;
pub mod timestamp;
pub mod ui;
pub mod warehouse;
pub mod workspace;

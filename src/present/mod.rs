//! Presenting: saved views recomputed as report pages ([`slide`]), charts described once
//! ([`chart`], [`charts`]) and written to the window (`ui::chart_view`), to SVG ([`svg`]) inside a
//! self-contained HTML report ([`html`]), and to PDF ([`pdf`]). Nothing here knows egui.

pub mod chart;
pub mod charts;
pub mod format;
pub mod html;
pub mod marks;
pub mod panels;
pub mod pdf;
pub mod slide;
pub mod svg;
pub mod typeset;

use std::path::{Path, PathBuf};

use crate::jobs::JobContext;
use crate::workspace::views;
use slide::{Slide, SlideError, StorySource};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no story named '{name}' in this workspace (stories: {})", if .known.is_empty() { "none yet".to_string() } else { .known.join(", ") })]
    NoStory { name: String, known: Vec<String> },
    #[error("the story '{0}' has no views")]
    EmptyStory(String),
    #[error("view {position} ('{title}'): {source}")]
    View { position: usize, title: String, source: SlideError },
    #[error(transparent)]
    Source(#[from] SlideError),
    #[error("reading the story: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Pdf(#[from] pdf::PdfError),
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// Where a report goes: the HTML file, the PDF file, or both.
#[derive(Debug, Clone, Default)]
pub struct ReportTargets {
    pub html: Option<PathBuf>,
    pub pdf: Option<PathBuf>,
}

/// Recomputes every view of `story` in the workspace at `path`, with progress per view.
pub fn story_slides(path: &Path, story: &str, ctx: &JobContext) -> Result<Vec<Slide>, ReportError> {
    let mut source = StorySource::open(path)?;
    let known = views::stories(source.conn())?;
    if !known.iter().any(|s| s == story) {
        return Err(ReportError::NoStory { name: story.to_string(), known });
    }
    let saved = views::views(source.conn(), story)?;
    if saved.is_empty() {
        return Err(ReportError::EmptyStory(story.to_string()));
    }
    let mut slides = Vec::with_capacity(saved.len());
    for (i, view) in saved.iter().enumerate() {
        ctx.set_message(format!("view {} of {}: {}", i + 1, saved.len(), view.view.title));
        let slide = slide::build(&view.view, &mut source, ctx).map_err(|source| match source {
            SlideError::Cancelled(c) => ReportError::Source(SlideError::Cancelled(c)),
            source => ReportError::View { position: i + 1, title: view.view.title.clone(), source },
        })?;
        slides.push(slide);
    }
    Ok(slides)
}

/// Writes `slides` of `story` to the targets; returns the files written.
pub fn write_report(workspace: &Path, story: &str, slides: &[Slide], targets: &ReportTargets) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = Vec::new();
    // Written beside the target and renamed, so a reader never sees half a report.
    let write = |path: &Path, bytes: &[u8]| -> Result<(), ReportError> {
        let error = |source| ReportError::Write { path: path.to_path_buf(), source };
        let partial = path.with_extension("partial");
        std::fs::write(&partial, bytes).map_err(error)?;
        std::fs::rename(&partial, path).map_err(error)
    };
    if let Some(path) = &targets.html {
        let created = chrono::Local::now().format("%Y-%m-%d %H:%M").to_string();
        let name = workspace.file_name().map_or_else(|| workspace.display().to_string(), |n| n.to_string_lossy().into_owned());
        write(path, html::report_html(story, &name, &created, slides).as_bytes())?;
        written.push(path.clone());
    }
    if let Some(path) = &targets.pdf {
        write(path, &pdf::report_pdf(story, slides)?)?;
        written.push(path.clone());
    }
    Ok(written)
}

/// The whole report as one job's work: recompute the story, then write it.
pub fn report(workspace: &Path, story: &str, targets: &ReportTargets, ctx: &JobContext) -> Result<Vec<PathBuf>, ReportError> {
    let slides = story_slides(workspace, story, ctx)?;
    ctx.check().map_err(|c| ReportError::Source(SlideError::Cancelled(c)))?;
    ctx.set_message("writing the report");
    write_report(workspace, story, &slides, targets)
}

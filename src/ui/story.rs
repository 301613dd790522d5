//! Saved views and stories in the window: the Story sidebar (open, reorder, rename, edit,
//! delete views; pick or start a story), the "Save view" dialog, the report export job, and the
//! presentation mode's slides. [`StoryModels`] owns the views as read from the workspace
//! and every job that reads or changes them; the shell restores a view into its panel.

use std::path::PathBuf;

use eframe::egui::{self, RichText};

use crate::analytics::period::DateRange;
use crate::jobs::{Job, JobError, JobMonitor};
use crate::ui::models::{DataChange, PanelModels, PollContext};
use crate::workspace::views::{self, SavedView, View};
use crate::workspace::Workspace;

/// The stories and the chosen story's views, as last read from the workspace.
#[derive(Debug, Clone, Default)]
pub struct StoryListing {
    /// The story read (the one asked for if it exists, else the demo's, else the first).
    pub story: String,
    pub stories: Vec<String>,
    pub views: Vec<SavedView>,
}

/// The story family: what the sidebar shows, and the jobs that read, change and print it.
#[derive(Default)]
pub struct StoryModels {
    /// The story the sidebar shows (the demo's, or the first, once read).
    pub story: String,
    pub listing: StoryListing,
    read: Option<Job<StoryListing>>,
    /// A change (save, move, edit, delete): the listing is read again when it is done.
    change: Option<Job<String>>,
    report: Option<Job<Vec<PathBuf>>>,
    /// Presentation mode's slides: the story's views recomputed as the report does.
    pub slides: Option<PreparedSlides>,
    preparing: Option<Job<PreparedSlides>>,
    workspace: Option<PathBuf>,
}

/// A story's slides and the story they were computed for.
pub struct PreparedSlides {
    pub story: String,
    pub slides: Vec<crate::present::slide::Slide>,
}

/// A change to the saved views, run off the UI thread.
pub enum StoryChange {
    Save { story: String, view: Box<View> },
    Move { id: i64, position: i64 },
    Edit { id: i64, title: String, caption: String },
    Delete { id: i64 },
}

impl StoryModels {
    /// Reads the stories and the views of the shown story again.
    pub fn reload(&mut self) -> Option<JobMonitor> {
        let path = self.workspace.clone()?;
        let wanted = self.story.clone();
        let job = Job::spawn("read stories", move |_| {
            let conn = crate::workspace::open_read_only(&path)?;
            let stories = views::stories(&conn)?;
            let story = if stories.contains(&wanted) {
                wanted
            } else if stories.iter().any(|s| s == crate::demo::DEMO_STORY) {
                crate::demo::DEMO_STORY.to_string()
            } else {
                stories.first().cloned().unwrap_or_default()
            };
            let views = if story.is_empty() { Vec::new() } else { views::views(&conn, &story)? };
            Ok(StoryListing { story, stories, views })
        });
        let monitor = job.monitor();
        if let Some(old) = self.read.replace(job) {
            old.cancel();
        }
        Some(monitor)
    }

    /// Shows another story.
    pub fn show_story(&mut self, name: &str) -> Option<JobMonitor> {
        self.story = name.to_string();
        self.reload()
    }

    pub fn change(&mut self, change: StoryChange) -> Option<JobMonitor> {
        let path = self.workspace.clone()?;
        if let StoryChange::Save { story, .. } = &change {
            self.story = story.clone();
        }
        let job = Job::spawn("save story", move |_| {
            let mut ws = Workspace::open(&path)?;
            let conn = ws.conn_mut();
            Ok(match change {
                StoryChange::Save { story, view } => {
                    views::save_view(conn, &story, &view)?;
                    format!("Saved the view '{}' in the story '{story}'", view.title)
                }
                StoryChange::Move { id, position } => {
                    views::move_view(conn, id, position)?;
                    String::new()
                }
                StoryChange::Edit { id, title, caption } => {
                    views::edit_view(conn, id, &title, &caption)?;
                    format!("Saved '{title}'")
                }
                StoryChange::Delete { id } => {
                    views::delete_view(conn, id)?;
                    "Deleted the view".to_string()
                }
            })
        });
        let monitor = job.monitor();
        self.change = Some(job);
        Some(monitor)
    }

    /// Writes the shown story as a report; the job recomputes every view.
    pub fn export_report(&mut self, targets: crate::present::ReportTargets) -> Option<JobMonitor> {
        let path = self.workspace.clone()?;
        let story = self.story.clone();
        let job = Job::spawn("write report", move |ctx| Ok(crate::present::report(&path, &story, &targets, ctx)?));
        let monitor = job.monitor();
        if let Some(old) = self.report.replace(job) {
            old.cancel();
        }
        Some(monitor)
    }

    /// Makes sure the shown story's slides are ready or on their way: computed once per story,
    /// again only after the data or the story's views changed (which drops them).
    pub fn ensure_slides(&mut self) -> Option<JobMonitor> {
        let current = self.slides.as_ref().is_some_and(|s| s.story == self.story);
        if current || self.preparing.is_some() {
            return None;
        }
        let path = self.workspace.clone()?;
        let story = self.story.clone();
        let job = Job::spawn("prepare slides", move |ctx| {
            let slides = crate::present::story_slides(&path, &story, ctx)?;
            Ok(PreparedSlides { story, slides })
        });
        let monitor = job.monitor();
        self.preparing = Some(job);
        Some(monitor)
    }

    pub fn writing_report(&self) -> bool {
        self.report.is_some()
    }
}

impl PanelModels for StoryModels {
    fn poll(&mut self, cx: &mut PollContext<'_>) {
        // Read once the shell has opened (or created) the workspace and read its listing.
        if cx.data.snapshot.is_some() && self.workspace != cx.data.path {
            self.workspace = cx.data.path.clone();
            self.listing = StoryListing::default();
            if let Some(monitor) = self.reload() {
                cx.track(monitor);
            }
        }
        match crate::jobs::take_finished(&mut self.read) {
            Some(Ok(listing)) => {
                self.story = listing.story.clone();
                self.listing = listing;
                // The views may have changed: slides are made again when next presented.
                self.slides = None;
            }
            Some(Err(JobError::Failed(e))) => cx.error(format!("Reading the stories failed: {e}")),
            _ => {}
        }
        if let Some(outcome) = crate::jobs::take_finished(&mut self.change) {
            let ok = outcome.is_ok();
            // A move needs no message.
            if !matches!(&outcome, Ok(m) if m.is_empty()) {
                cx.chore_outcome(Some(outcome), "Changing the story failed");
            }
            if ok {
                if let Some(monitor) = self.reload() {
                    cx.track(monitor);
                }
            }
        }
        match crate::jobs::take_finished(&mut self.report) {
            Some(Ok(files)) => {
                let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                cx.info(format!("Report written: {}", names.join(" and ")));
            }
            Some(Err(JobError::Failed(e))) => cx.error(format!("Writing the report failed: {e}")),
            _ => {}
        }
        match crate::jobs::take_finished(&mut self.preparing) {
            Some(Ok(prepared)) => self.slides = Some(prepared),
            Some(Err(JobError::Failed(e))) => cx.error(format!("Preparing the slides failed: {e}")),
            _ => {}
        }
    }

    fn data_changed(&mut self, change: &DataChange, _: &mut PollContext<'_>) {
        if *change == DataChange::Workspace {
            *self = Self::default();
        } else {
            // Slides are drawn only against the data they were computed from.
            self.slides = None;
        }
    }

    fn busy(&self) -> bool {
        self.read.is_some() || self.change.is_some() || self.report.is_some() || self.preparing.is_some()
    }
}

/// What the user asked of the sidebar.
pub enum SidebarAction {
    Open(SavedView),
    Present(usize),
    SaveCurrent,
    ExportReport,
    ShowStory(String),
    Change(StoryChange),
}

/// A view's title and caption being edited in the sidebar.
#[derive(Default)]
pub struct Sidebar {
    editing: Option<(i64, String, String)>,
    /// The view last opened (highlighted).
    pub opened: Option<i64>,
}

impl Sidebar {
    /// Draws the sidebar (each view says which panel it opens).
    pub fn ui(&mut self, ui: &mut egui::Ui, models: &StoryModels, last_day: Option<chrono::NaiveDate>) -> Option<SidebarAction> {
        let mut action = None;
        ui.heading("Story");
        let listing = &models.listing;
        ui.horizontal(|ui| {
            let label = ui.label("Story");
            egui::ComboBox::from_id_salt("story_pick")
                .selected_text(if models.story.is_empty() { "none yet".to_string() } else { models.story.clone() })
                .width(170.0)
                .show_ui(ui, |ui| {
                    for story in &listing.stories {
                        if ui.selectable_label(*story == models.story, story).clicked() {
                            action = Some(SidebarAction::ShowStory(story.clone()));
                        }
                    }
                })
                .response
                .labelled_by(label.id);
        });
        ui.horizontal(|ui| {
            let has_views = !listing.views.is_empty();
            if ui
                .add_enabled(has_views, egui::Button::new(RichText::new("Present").strong()))
                .on_hover_text("Full screen from the first view; arrows step, Esc leaves")
                .clicked()
            {
                action = Some(SidebarAction::Present(0));
            }
            if ui.button("Save view…").on_hover_text("Keep this panel as it is now, with a title and a caption").clicked() {
                action = Some(SidebarAction::SaveCurrent);
            }
        });
        let report = ui
            .add_enabled(!listing.views.is_empty() && !models.writing_report(), egui::Button::new("Export report (HTML + PDF)…"))
            .on_hover_text("Recomputes every view and writes one HTML file and one PDF beside it");
        if report.clicked() {
            action = Some(SidebarAction::ExportReport);
        }
        ui.separator();
        if listing.views.is_empty() {
            ui.label(RichText::new("No views yet: set a panel up as you want to show it, then Save view.").weak());
        }
        let count = listing.views.len() as i64;
        egui::ScrollArea::vertical().show(ui, |ui| {
            for saved in &listing.views {
                let v = &saved.view;
                ui.push_id(saved.id, |ui| {
                    egui::Frame::group(ui.style()).show(ui, |ui| {
                        ui.set_width(ui.available_width());
                        if let Some((id, title, caption)) = &mut self.editing {
                            if *id == saved.id {
                                ui.add(egui::TextEdit::singleline(title).hint_text("title"));
                                ui.add(egui::TextEdit::multiline(caption).hint_text("caption").desired_rows(2));
                                ui.horizontal(|ui| {
                                    if ui.button("Save").clicked() {
                                        action = Some(SidebarAction::Change(StoryChange::Edit {
                                            id: *id,
                                            title: title.clone(),
                                            caption: caption.clone(),
                                        }));
                                    }
                                    if ui.button("Cancel").clicked() {
                                        action = Some(SidebarAction::ShowStory(models.story.clone()));
                                    }
                                });
                                return;
                            }
                        }
                        let selected = self.opened == Some(saved.id);
                        let title = format!("{}. {}", saved.position + 1, v.title);
                        if ui.selectable_label(selected, RichText::new(title).strong()).on_hover_text("Open this view").clicked() {
                            action = Some(SidebarAction::Open(saved.clone()));
                        }
                        if !v.caption.is_empty() {
                            ui.label(RichText::new(&v.caption).small());
                        }
                        let panel = crate::present::panels::named(&v.panel).map_or(v.panel.as_str(), |panel| panel.title);
                        ui.label(RichText::new(format!("{panel} · {}", v.dates.describe(last_day))).small().weak());
                        ui.horizontal(|ui| {
                            if ui.add_enabled(saved.position > 0, egui::Button::new("Up").small()).clicked() {
                                action = Some(SidebarAction::Change(StoryChange::Move { id: saved.id, position: saved.position - 1 }));
                            }
                            if ui.add_enabled(saved.position + 1 < count, egui::Button::new("Down").small()).clicked() {
                                action = Some(SidebarAction::Change(StoryChange::Move { id: saved.id, position: saved.position + 1 }));
                            }
                            if ui.small_button("Edit").on_hover_text("Rename, or change the caption").clicked() {
                                self.editing = Some((saved.id, v.title.clone(), v.caption.clone()));
                            }
                            if ui.small_button("Present from here").clicked() {
                                action = Some(SidebarAction::Present(saved.position as usize));
                            }
                            if ui.small_button("Delete").clicked() {
                                action = Some(SidebarAction::Change(StoryChange::Delete { id: saved.id }));
                            }
                        });
                    });
                });
            }
        });
        if matches!(action, Some(SidebarAction::Change(StoryChange::Edit { .. })) | Some(SidebarAction::ShowStory(_))) {
            self.editing = None;
        }
        action
    }
}

/// Which dates a view being saved keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateMode {
    Fixed,
    AllData,
    LastFullMonth,
    LastThreeMonths,
    YearToDate,
}

/// The "Save view" dialog's fields.
pub struct SaveViewDialog {
    pub title: String,
    pub caption: String,
    pub story: String,
    pub dates: DateMode,
    /// What the slide presents: one of the panel's charts or tables.
    pub element: Option<crate::present::slide::SlideElement>,
    /// The panel's charts and tables, for the choice.
    pub elements: Vec<(crate::present::slide::SlideElement, &'static str)>,
}

impl SaveViewDialog {
    pub fn new(story: &str, panel_title: &str, fixed: bool, elements: Vec<(crate::present::slide::SlideElement, &'static str)>) -> Self {
        Self {
            element: elements.first().map(|(e, _)| *e),
            elements,
            title: panel_title.to_string(),
            caption: String::new(),
            story: if story.is_empty() { crate::demo::DEMO_STORY.to_string() } else { story.to_string() },
            dates: if fixed { DateMode::Fixed } else { DateMode::AllData },
        }
    }

    /// The view's date range: the filter's days, or a range relative to the data's last day.
    pub fn date_range(&self, from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>) -> DateRange {
        match self.dates {
            DateMode::Fixed => DateRange::Fixed { from, to },
            DateMode::AllData => DateRange::AllData,
            DateMode::LastFullMonth => DateRange::LastFullMonth,
            DateMode::LastThreeMonths => DateRange::LastThreeMonths,
            DateMode::YearToDate => DateRange::YearToDate,
        }
    }

    /// Draws the dialog; `Some(true)` to save, `Some(false)` to cancel.
    pub fn ui(&mut self, ctx: &egui::Context, filter_days: &str, last_day: Option<chrono::NaiveDate>) -> Option<bool> {
        let mut outcome = None;
        let response = egui::Modal::new(egui::Id::unique("save_view")).show(ctx, |ui| {
            ui.heading("Save view");
            egui::Grid::new("save_view_fields").num_columns(2).show(ui, |ui| {
                let label = ui.label("Title");
                ui.add(egui::TextEdit::singleline(&mut self.title).desired_width(320.0)).labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Caption");
                ui.add(
                    egui::TextEdit::multiline(&mut self.caption)
                        .desired_rows(3)
                        .desired_width(320.0)
                        .hint_text("What the audience should see"),
                )
                .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("In the story");
                ui.add(egui::TextEdit::singleline(&mut self.story).desired_width(320.0)).labelled_by(label.id);
                ui.end_row();
                if !self.elements.is_empty() {
                    ui.label("On the slide");
                    let chosen = self.elements.iter().find(|(e, _)| Some(*e) == self.element).map_or("", |(_, name)| name);
                    egui::ComboBox::from_id_salt("slide_element").selected_text(chosen).show_ui(ui, |ui| {
                        for (element, name) in &self.elements {
                            ui.selectable_value(&mut self.element, Some(*element), *name);
                        }
                    });
                    ui.end_row();
                }
            });
            ui.label("Dates");
            ui.radio_value(&mut self.dates, DateMode::Fixed, format!("Fixed: these dates ({filter_days})"));
            for (mode, range) in [
                (DateMode::AllData, DateRange::AllData),
                (DateMode::LastFullMonth, DateRange::LastFullMonth),
                (DateMode::LastThreeMonths, DateRange::LastThreeMonths),
                (DateMode::YearToDate, DateRange::YearToDate),
            ] {
                ui.radio_value(&mut self.dates, mode, range.describe(last_day));
            }
            ui.label(RichText::new("Relative dates follow the data: after a new import the view shows the new last month.").weak());
            ui.horizontal(|ui| {
                let ready = !self.title.trim().is_empty() && !self.story.trim().is_empty();
                if ui.add_enabled(ready, egui::Button::new("Save")).clicked() {
                    outcome = Some(true);
                }
                if ui.button("Cancel").clicked() {
                    outcome = Some(false);
                }
            });
        });
        if response.should_close() && outcome.is_none() {
            outcome = Some(false);
        }
        outcome
    }
}

/// Presentation mode: which story's views, and the one on screen.
pub struct Presentation {
    pub views: Vec<SavedView>,
    pub index: usize,
    /// The zoom to go back to when it ends.
    pub zoom_before: f32,
}

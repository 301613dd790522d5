//! The dialog shown when a file's columns are not recognised: pick what the file is and which
//! column feeds which field, with sample values and pre-guessed choices. Order lines can be
//! joined to other files dropped with them (an orders file, a customers file) on key columns,
//! and say which status values mean a cancellation. The import saves the confirmed mapping
//! (and the join), so the next files with the same columns load without asking.

use std::path::PathBuf;

use eframe::egui::{self, RichText};

use crate::import::join::{self, Related};
use crate::import::kinds::{self, CancellationRule, Mapping};
use crate::import::{ImportOptions, Inspection};
use crate::ui::widgets;
use crate::workspace::catalogue::{normalize_header, Target};

pub struct MappingDialog {
    pub file: PathBuf,
    inspection: Inspection,
    target: Target,
    mapping: Mapping,
    /// The other files dropped with this one, which it can be joined to.
    companions: Vec<(PathBuf, Inspection)>,
    joins: Vec<JoinChoice>,
    /// With a status column: the values that mean cancelled, comma-separated.
    cancelled_values: String,
}

/// One file joined to the lines: which companion, on which columns.
struct JoinChoice {
    companion: usize,
    key: String,
    their_key: String,
}

/// What the user decided about a file.
pub enum MappingChoice {
    /// Import the file with these options, joined to `joins` (remembered when not empty).
    Import {
        file: PathBuf,
        options: ImportOptions,
        joins: Vec<Related>,
    },
    Skip(PathBuf),
}

impl MappingDialog {
    pub fn new(file: PathBuf, inspection: Inspection, companions: Vec<(PathBuf, Inspection)>) -> Self {
        let mapping = kinds::guess_mapping(Target::OrderLines, &inspection.headers);
        Self {
            file,
            inspection,
            target: Target::OrderLines,
            mapping,
            companions,
            joins: Vec::new(),
            cancelled_values: kinds::CANCELLED_STATUSES.join(", "),
        }
    }

    fn missing(&self) -> Vec<&'static str> {
        self.target.columns().iter().filter(|c| c.required && !self.mapping.contains_key(c.name)).map(|c| c.name).collect()
    }

    /// The columns to map: the file's, then each joined file's (named as the import names them).
    fn headers(&self) -> Vec<String> {
        let mut headers = self.inspection.headers.clone();
        for j in &self.joins {
            let (path, companion) = &self.companions[j.companion];
            let their_key = companion.headers.iter().position(|h| *h == j.their_key).unwrap_or(usize::MAX);
            let added = join::added_headers(path, &companion.headers, their_key, &headers);
            headers.extend(added);
        }
        headers
    }

    /// Sample values of a column of the file or of a joined file (their own rows, not joined).
    fn samples_of(&self, column: &str) -> Vec<String> {
        let own = self.inspection.samples_of(column);
        if !own.is_empty() || self.inspection.headers.iter().any(|h| h == column) {
            return own.into_iter().map(str::to_string).collect();
        }
        for j in &self.joins {
            let (path, companion) = &self.companions[j.companion];
            let stem = widgets::display_name(path).split('.').next().unwrap_or_default().to_string();
            let name = column.strip_prefix(&format!("{stem}.")).unwrap_or(column);
            let values = companion.samples_of(name);
            if !values.is_empty() {
                return values.into_iter().map(str::to_string).collect();
            }
        }
        Vec::new()
    }

    /// Joins to other files dropped together (order lines only).
    fn joins_ui(&mut self, ui: &mut egui::Ui) {
        if self.companions.is_empty() {
            return;
        }
        ui.horizontal_wrapped(|ui| {
            ui.strong("Join other files").on_hover_text(
                "A relational dump spreads an order over files: the lines, the orders (date, customer, status) and the customers. \
                 Join them on the columns that match, and map the joined columns below.",
            );
            let used: Vec<usize> = self.joins.iter().map(|j| j.companion).collect();
            for (i, (path, _)) in self.companions.iter().enumerate().filter(|(i, _)| !used.contains(i)) {
                if ui.button(format!("+ {}", widgets::display_name(path))).on_hover_text("Join this file to the lines").clicked() {
                    self.joins.push(JoinChoice { companion: i, key: String::new(), their_key: String::new() });
                    break;
                }
            }
        });
        let keys_before = self.joins.iter().map(|j| (j.key.clone(), j.their_key.clone())).collect::<Vec<_>>();
        let mut remove = None;
        for index in 0..self.joins.len() {
            // The columns before this join: the file's and the earlier joins'.
            let before = {
                let mut headers = self.inspection.headers.clone();
                for j in &self.joins[..index] {
                    let (path, companion) = &self.companions[j.companion];
                    let their_key = companion.headers.iter().position(|h| *h == j.their_key).unwrap_or(usize::MAX);
                    headers.extend(join::added_headers(path, &companion.headers, their_key, &headers));
                }
                headers
            };
            let (path, companion) = &self.companions[self.joins[index].companion];
            let (name, theirs) = (widgets::display_name(path), companion.headers.clone());
            let j = &mut self.joins[index];
            // The usual case: both sides have a column of the same name.
            if j.key.is_empty() {
                if let Some(shared) = before.iter().find(|h| theirs.iter().any(|t| normalize_header(t) == normalize_header(h))) {
                    j.key = shared.clone();
                    j.their_key = theirs.iter().find(|t| normalize_header(t) == normalize_header(shared)).cloned().unwrap_or_default();
                }
            }
            ui.horizontal_wrapped(|ui| {
                ui.label(format!("{name}: where"));
                egui::ComboBox::from_id_salt(("join_key", index)).selected_text(j.key.clone()).width(150.0).show_ui(ui, |ui| {
                    for h in &before {
                        ui.selectable_value(&mut j.key, h.clone(), h);
                    }
                });
                ui.label("equals its");
                egui::ComboBox::from_id_salt(("join_their_key", index)).selected_text(j.their_key.clone()).width(150.0).show_ui(ui, |ui| {
                    for h in &theirs {
                        ui.selectable_value(&mut j.their_key, h.clone(), h);
                    }
                });
                if ui.small_button("Remove").clicked() {
                    remove = Some(index);
                }
            });
        }
        if let Some(index) = remove {
            self.joins.truncate(index);
        }
        // A new or changed join brings new columns: guess the fields still without one.
        if self.joins.iter().map(|j| (j.key.clone(), j.their_key.clone())).collect::<Vec<_>>() != keys_before || remove.is_some() {
            let headers = self.headers();
            self.mapping.retain(|_, source| headers.contains(source));
            for (target, source) in kinds::guess_mapping(self.target, &headers) {
                self.mapping.entry(target).or_insert(source);
            }
        }
    }

    /// The cancellation rule the user sets (order lines): by the mapped status column's values.
    fn cancellation(&self) -> Option<CancellationRule> {
        (self.target == Target::OrderLines && self.mapping.contains_key("status")).then(|| {
            CancellationRule::Status(self.cancelled_values.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect())
        })
    }

    pub fn ui(&mut self, ctx: &egui::Context) -> Option<MappingChoice> {
        let mut choice = None;
        egui::Modal::new(egui::Id::unique("mapping_dialog")).show(ctx, |ui| {
            ui.set_max_width(720.0);
            let name = self.file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            ui.heading(format!("How should shoplens read {name}?"));
            ui.label(format!(
                "{}, {} columns. These columns are not a layout shoplens knows; say what the file holds.",
                self.inspection.format,
                self.inspection.headers.len()
            ));
            ui.horizontal_wrapped(|ui| {
                for (target, label) in [
                    (Target::OrderLines, "Order lines"),
                    (Target::Events, "Shop events"),
                    (Target::Products, "Product catalogue"),
                    (Target::OurPrices, "Our prices"),
                    (Target::CompetitorPrices, "Competitor prices"),
                    (Target::Users, "Marketplace users"),
                    (Target::CollectionItems, "Collection items"),
                    (Target::Listings, "Listings"),
                    (Target::MarketplaceOrders, "Marketplace orders"),
                    (Target::Interactions, "Listing interactions"),
                    (Target::Raw, "Keep as its own table"),
                ] {
                    if ui.radio_value(&mut self.target, target, label).changed() && target != Target::Raw {
                        self.mapping = kinds::guess_mapping(target, &self.inspection.headers);
                    }
                }
            });
            ui.separator();
            if self.target == Target::OrderLines {
                self.joins_ui(ui);
            } else {
                self.joins.clear();
            }
            let headers = self.headers();
            if self.target == Target::Raw {
                ui.label(
                    "The file becomes a table of its own, queryable in the SQL panel. Columns stay text unless every value is a number.",
                );
            } else {
                egui::Grid::new("mapping_grid").striped(true).num_columns(3).show(ui, |ui| {
                    ui.strong("Field");
                    ui.strong("Column in the file");
                    ui.strong("Sample values");
                    ui.end_row();
                    for column in self.target.columns() {
                        let label = ui.label(if column.required { format!("{} *", column.name) } else { column.name.to_string() });
                        let mut selected = self.mapping.get(column.name).cloned();
                        egui::ComboBox::from_id_salt(("map", column.name))
                            .selected_text(selected.clone().unwrap_or_else(|| "—".into()))
                            .width(180.0)
                            .show_ui(ui, |ui| {
                                ui.selectable_value(&mut selected, None, "—");
                                for header in &headers {
                                    ui.selectable_value(&mut selected, Some(header.clone()), header);
                                }
                            })
                            .response
                            .labelled_by(label.id);
                        match &selected {
                            Some(source) => {
                                self.mapping.insert(column.name.to_string(), source.clone());
                                ui.label(RichText::new(self.samples_of(source).join(", ")).weak());
                            }
                            None => {
                                self.mapping.remove(column.name);
                                ui.label("");
                            }
                        }
                        ui.end_row();
                    }
                });
            }
            if self.cancellation().is_some() {
                ui.horizontal(|ui| {
                    let label = ui.label("Cancelled when status is");
                    ui.add(egui::TextEdit::singleline(&mut self.cancelled_values).desired_width(320.0)).labelled_by(label.id);
                });
            } else if self.target == Target::OrderLines {
                ui.label(
                    RichText::new(
                        "Without a status column, an invoice C + number is a cancellation only where every invoice is numbered the UCI way; the quality report says which rule applied.",
                    )
                    .weak(),
                );
            }
            let missing = if self.target == Target::Raw { Vec::new() } else { self.missing() };
            if !missing.is_empty() {
                ui.colored_label(widgets::BAD, format!("Choose a column for: {}", missing.join(", ")));
            }
            ui.horizontal(|ui| {
                if ui.add_enabled(missing.is_empty(), egui::Button::new("Import")).clicked() {
                    let mapping = if self.target == Target::Raw {
                        Vec::new()
                    } else {
                        self.mapping.iter().map(|(t, s)| (t.clone(), s.clone())).collect()
                    };
                    let options = ImportOptions { target: Some(self.target), mapping, cancellation: self.cancellation(), ..Default::default() };
                    let joins = self
                        .joins
                        .iter()
                        .filter(|j| !j.key.is_empty() && !j.their_key.is_empty())
                        .map(|j| Related { path: self.companions[j.companion].0.clone(), key: j.key.clone(), their_key: j.their_key.clone() })
                        .collect();
                    choice = Some(MappingChoice::Import { file: self.file.clone(), options, joins });
                }
                if ui.button("Skip this file").clicked() {
                    choice = Some(MappingChoice::Skip(self.file.clone()));
                }
            });
        });
        choice
    }
}

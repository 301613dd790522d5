//! The dialog shown when a file's columns are not recognised: pick what the file is and which
//! column feeds which field, with sample values and pre-guessed choices. The import saves the
//! confirmed mapping, so the next file with the same header loads without asking.

use std::path::PathBuf;

use eframe::egui::{self, RichText};

use crate::import::kinds::{self, Mapping, Target};
use crate::import::{ImportOptions, Inspection};
use crate::ui::widgets;

pub struct MappingDialog {
    pub file: PathBuf,
    inspection: Inspection,
    target: Target,
    mapping: Mapping,
}

pub enum MappingChoice {
    Import(PathBuf, ImportOptions),
    Skip(PathBuf),
}

impl MappingDialog {
    pub fn new(file: PathBuf, inspection: Inspection) -> Self {
        let mapping = kinds::guess_mapping(Target::OrderLines, &inspection.headers);
        Self { file, inspection, target: Target::OrderLines, mapping }
    }

    fn missing(&self) -> Vec<&'static str> {
        self.target.columns().iter().filter(|c| c.required && !self.mapping.contains_key(c.name)).map(|c| c.name).collect()
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
                                for header in &self.inspection.headers {
                                    ui.selectable_value(&mut selected, Some(header.clone()), header);
                                }
                            })
                            .response
                            .labelled_by(label.id);
                        match &selected {
                            Some(source) => {
                                self.mapping.insert(column.name.to_string(), source.clone());
                                ui.label(RichText::new(self.inspection.samples_of(source).join(", ")).weak());
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
                    let options = ImportOptions { target: Some(self.target), mapping, ..Default::default() };
                    choice = Some(MappingChoice::Import(self.file.clone(), options));
                }
                if ui.button("Skip this file").clicked() {
                    choice = Some(MappingChoice::Skip(self.file.clone()));
                }
            });
        });
        choice
    }
}

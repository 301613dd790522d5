//! The Segments panel: RFM segments (treemap, table, R×F heat map, editable map and actions,
//! customer lists), k-means clusters and cohort retention. Results come from
//! [`CustomerModels`]; this module only draws them and asks for what the user changes.

use std::sync::Arc;

use eframe::egui::{self, RichText};
use egui_plot::{Line, PlotPoints, Points};

use super::customer_models::CustomerModels;
use super::warehouse::{OnServer, WarehouseModels};
use super::{panel_names, Panel, PanelContext, PanelName, Request};
use crate::analytics::clusters;
use crate::analytics::cohorts::{self, CohortResult};
use crate::analytics::rfm::{self, RfmResult, SegmentGrid};
use crate::ui::models::PanelModels;
use crate::ui::widgets::{self, category_colour, HeatCell};
use crate::warehouse::pushdown::ServerRfm;

const RULES: &str = "How RFM scores work\n\
• Purchases: non-cancelled order lines with a customer id, inside the filters.\n\
• Recency = days from the last purchase to the analysis date; Frequency = distinct invoices; Monetary = Σ quantity × price.\n\
• Scores 1–5 are quintiles, as the usual pandas recipe computes them: qcut(recency, 5) reversed so 5 = most recent; \
frequency is ranked first-come (customers in id order) before cutting, so ties never merge bins; qcut(monetary, 5).\n\
• Bin edges are linear percentiles; each bin includes its upper edge. If ties make two edges equal, the bin between them stays empty.\n\
• The segment is read from the R×F map below; M is shown but does not change the segment.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Segments,
    Clusters,
    Cohorts,
}

const TABS: [(Tab, &str); 3] =
    [(Tab::Segments, panel_names::tab::RFM_SEGMENTS), (Tab::Clusters, "Clusters"), (Tab::Cohorts, panel_names::tab::COHORTS)];

pub struct SegmentsPanel {
    tab: Tab,
    /// Treemap sized by revenue instead of customers.
    by_revenue: bool,
    /// Segment whose customers are listed.
    selected: Option<String>,
    date_text: String,
    /// Why the typed analysis date was not used (it names the date).
    date_error: Option<String>,
    edit_map: bool,
    rename_to: String,
    cohort_revenue: bool,
    /// The listed customers, rebuilt when the selection or the results change. Holding the
    /// result it was built from keeps that result alive, so comparing it by address is sound.
    list: Option<(Arc<dyn std::any::Any + Send + Sync>, String, bool, crate::analytics::Table)>,
}

/// Where the Segments tab's RFM comes from.
enum RfmSource {
    /// The workspace's copy.
    Copy,
    /// The server, which is still computing (or its segment map is still being read).
    ServerWaiting,
    ServerFailed(String),
    Server(Arc<OnServer<ServerRfm>>),
}

/// The RFM result the Segments tab draws: from the workspace's copy or from a server, with what
/// names its codes, what keeps it alive (for the list cache) and the CLV columns (copy only).
struct ShownRfm<'a> {
    rfm: &'a RfmResult,
    names: rfm::CustomerNames<'a>,
    owner: Arc<dyn std::any::Any + Send + Sync>,
    value: Option<Arc<std::collections::HashMap<u32, rfm::ValueColumns>>>,
    /// Where it was computed, for the panel to say.
    note: Option<String>,
    /// The currency of the money shown (`None`: not stated).
    currency: Option<String>,
}

impl Default for SegmentsPanel {
    fn default() -> Self {
        Self {
            tab: Tab::Segments,
            by_revenue: false,
            selected: None,
            date_text: String::new(),
            date_error: None,
            edit_map: false,
            rename_to: String::new(),
            cohort_revenue: false,
            list: None,
        }
    }
}

impl Panel for SegmentsPanel {
    fn name(&self) -> PanelName {
        panel_names::SEGMENTS
    }

    fn hint(&self) -> &'static str {
        "RFM segments, k-means clusters, cohort retention, campaign lists"
    }

    fn reset(&mut self) {
        *self = Self::default();
    }

    fn view_state(&self, models: &crate::ui::models::Models) -> super::ViewState {
        let mut state = super::ViewState::default();
        state.set("tab", super::tab_name(&TABS, self.tab));
        state.set("by_revenue", self.by_revenue);
        state.set("selected", &self.selected);
        state.set("cohort_revenue", self.cohort_revenue);
        state.set("clusters", models.find::<CustomerModels>().and_then(|m| m.k));
        state
    }

    fn restore_view(&mut self, state: &super::ViewState, models: &mut crate::ui::models::Models) {
        if let Some(tab) = state.get::<String>("tab").and_then(|t| super::tab_named(&TABS, &t)) {
            self.tab = tab;
        }
        state.restore("by_revenue", &mut self.by_revenue);
        state.restore("selected", &mut self.selected);
        state.restore("cohort_revenue", &mut self.cohort_revenue);
        state.restore("clusters", &mut models.get::<CustomerModels>().k);
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
        let Some(orders) = &cx.data.orders else {
            widgets::waiting(ui, cx.data.orders_waiting_text());
            return;
        };
        ui.horizontal(|ui| {
            for (tab, name) in TABS {
                ui.selectable_value(&mut self.tab, tab, RichText::new(name).size(15.0));
            }
        });
        ui.separator();
        let mut requests = Vec::new();
        // A server table chosen in the Data panel: RFM segments may be computed there instead.
        let server = if self.tab == Tab::Segments { self.server_rfm(ui, cx, &mut requests) } else { RfmSource::Copy };
        let models = cx.models.get::<CustomerModels>();
        match self.tab {
            Tab::Segments | Tab::Clusters => {
                requests.extend(models.request_rfm(cx.data, cx.filters, self.tab == Tab::Clusters).into_iter().map(Request::Track))
            }
            Tab::Cohorts => requests.extend(models.request_cohorts(orders, cx.filters).map(Request::Track)),
        }
        if models.busy() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("updating…");
            });
        }
        let workspace = cx.data.path.as_ref();
        let mut retry = false;
        egui::ScrollArea::vertical().id_salt("segments_scroll").show(ui, |ui| match self.tab {
            Tab::Segments => {
                let local = models.rfm.get().cloned();
                let shown = match (&server, &local) {
                    (RfmSource::Server(on_server), _) => Some(ShownRfm {
                        rfm: &on_server.result.result,
                        names: on_server.result.names(),
                        owner: on_server.clone(),
                        value: None,
                        note: Some(format!("Computed on the server: {} transferred.", widgets::bytes(on_server.bytes))),
                        currency: None,
                    }),
                    (RfmSource::Copy, Some(result)) => Some(ShownRfm {
                        rfm: &result.result,
                        names: rfm::CustomerNames::of(&result.input),
                        owner: result.clone(),
                        value: models.value_columns(result, cx.filters),
                        note: None,
                        currency: result.input.money_currency(cx.filters).0,
                    }),
                    _ => None,
                };
                match &server {
                    RfmSource::ServerFailed(error) => {
                        ui.colored_label(widgets::BAD, error);
                        retry = ui.button("Retry").clicked();
                    }
                    RfmSource::ServerWaiting => widgets::waiting(ui, "The server is computing RFM segments…"),
                    RfmSource::Copy | RfmSource::Server(_) => {
                        if let Some(edited) = self.segments_tab(ui, models, shown, &mut requests) {
                            models.set_grid(edited, workspace);
                        }
                    }
                }
            }
            Tab::Clusters => self.clusters_tab(ui, models, &mut requests),
            Tab::Cohorts => match models.cohorts.get().cloned() {
                Some(result) => self.cohorts_tab(ui, &result, &mut requests),
                None => widgets::waiting(ui, "Computing cohorts…"),
            },
        });
        if retry {
            cx.models.get::<super::warehouse::WarehouseModels>().retry();
        }
        for request in requests {
            cx.request(request);
        }
    }
}

impl SegmentsPanel {
    /// The "Computed on" choice once a server table is set for Segments; when the server is
    /// chosen, its RFM for the current inputs (requested if need be).
    fn server_rfm(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>, requests: &mut Vec<Request>) -> RfmSource {
        let (date, grid) = {
            let models = cx.models.get::<CustomerModels>();
            models.ensure_grid(cx.data.path.as_ref());
            (models.analysis_date, models.grid.clone())
        };
        let warehouse = cx.models.get::<WarehouseModels>();
        let Some(on) = warehouse.overview_on.clone() else { return RfmSource::Copy };
        let travels = "The server sums each customer's purchases; one row per customer travels, scores are computed here";
        super::warehouse::computed_on_ui(ui, &on, &mut warehouse.segments_on_server, "this workspace's copy", travels);
        if !warehouse.segments_on_server {
            return RfmSource::Copy;
        }
        let Some(grid) = grid else { return RfmSource::ServerWaiting };
        requests.extend(warehouse.request_rfm(cx.filters, date, &grid).map(Request::Track));
        if let Some(error) = warehouse.rfm_error(cx.filters, date, &grid) {
            return RfmSource::ServerFailed(format!("The server could not compute RFM: {error}"));
        }
        match warehouse.shown_rfm(cx.filters, date, &grid) {
            Some((result, current)) => {
                if !current {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("updating…");
                    });
                }
                RfmSource::Server(result)
            }
            None => RfmSource::ServerWaiting,
        }
    }

    /// Draws the RFM tab; returns an edited segment map to save.
    fn segments_tab(
        &mut self,
        ui: &mut egui::Ui,
        models: &mut CustomerModels,
        shown: Option<ShownRfm<'_>>,
        requests: &mut Vec<Request>,
    ) -> Option<SegmentGrid> {
        let (Some(shown), Some(grid)) = (shown, models.grid.clone()) else {
            widgets::waiting(ui, "Computing RFM segments…");
            return None;
        };
        let result = shown.rfm;
        if let Some(note) = &shown.note {
            ui.label(RichText::new(note).weak());
        }
        if result.customers.is_empty() {
            ui.label("No purchases with a customer id in the selected period: import order lines (File › Import) or widen the filters.");
            return None;
        }
        let value = shown.value.clone();
        let mean_clv = value
            .as_ref()
            .map(|v| result.segment_means(&v.iter().map(|(&c, v)| (c, v.clv)).collect()))
            .unwrap_or_else(|| vec![None; result.segments.len()]);
        let mut save = None;

        ui.horizontal(|ui| {
            ui.label("Analysis date");
            let edit_id = ui.make_persistent_id("analysis_date");
            if models.analysis_date.is_none() && !ui.memory(|m| m.has_focus(edit_id)) {
                // The default follows the data shown (it changes with filters and imports).
                self.date_text = result.analysis_date.to_string();
            }
            let edit = ui.add(egui::TextEdit::singleline(&mut self.date_text).id(edit_id).desired_width(90.0).hint_text("YYYY-MM-DD"));
            if edit.lost_focus() || (edit.has_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))) {
                match crate::timestamp::parse_date(&self.date_text) {
                    Ok(date) => {
                        self.date_error = None;
                        models.analysis_date = (date != result.analysis_date || models.analysis_date.is_some()).then_some(date);
                    }
                    Err(e) => self.date_error = (!self.date_text.trim().is_empty()).then(|| e.to_string()),
                }
            }
            if let Some(error) = &self.date_error {
                ui.colored_label(widgets::BAD, error);
            }
            if models.analysis_date.is_some() && ui.small_button("Default").on_hover_text("The day after the last purchase").clicked() {
                models.analysis_date = None;
                self.date_text.clear();
            }
            ui.label(RichText::new(format!("{} customers", widgets::number(result.customers.len() as f64, 0))).weak());
            ui.label(RichText::new("How scores work").underline()).on_hover_text(RULES);
            ui.separator();
            if ui.button("Export all customers (CSV)").on_hover_text("Campaign-ready list with scores, segment, CLV and P(alive)").clicked()
            {
                requests.push(Request::ExportTable {
                    file_name: "customers_rfm.csv".into(),
                    table: rfm::customer_table(&shown.names, result, None, value.as_deref()),
                });
            }
            if shown.note.is_some() {
                ui.label(RichText::new("No CLV columns on a server run: CLV is fitted on the workspace's copy").weak());
            } else if value.is_none() {
                ui.label(RichText::new("CLV columns fill in once Customer value has been computed").weak());
            }
        });
        ui.add_space(6.0);
        // A dimension most customers share one value of cannot tell them apart: said first.
        for thin in &result.thin {
            ui.colored_label(ui.visuals().warn_fg_color, format!("Too little spread to score {thin}."));
        }

        let width = ui.available_width();
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width((width * 0.5).max(320.0));
                ui.horizontal(|ui| {
                    ui.strong("Segments by");
                    ui.selectable_value(&mut self.by_revenue, false, "customers");
                    ui.selectable_value(&mut self.by_revenue, true, "revenue");
                });
                let items: Vec<(String, f64, egui::Color32)> = result
                    .segments
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.name.clone(), if self.by_revenue { s.revenue } else { s.customers as f64 }, category_colour(i)))
                    .collect();
                if let Some(i) = widgets::treemap(ui, &items, egui::vec2((width * 0.5 - 20.0).max(300.0), 260.0)) {
                    self.selected = Some(result.segments[i].name.clone());
                }
            });
            ui.vertical(|ui| {
                ui.strong("R × F: customers per score pair (click a cell to list its segment)");
                if let Some(name) = heat_map_rf(ui, result, &grid) {
                    self.selected = Some(name);
                }
                ui.checkbox(&mut self.edit_map, "Edit the segment map");
            });
        });
        if self.edit_map {
            save = self.edit_map_ui(ui, &grid);
        }
        ui.add_space(8.0);
        if let Some((edited, commit)) = self.segment_table(ui, (result, shown.currency.as_deref()), &grid, &mean_clv, requests) {
            if commit {
                save = Some(edited);
            } else {
                // Typing: keep the text in memory; it is saved when the field loses focus.
                models.grid = Some(edited);
            }
        }
        ui.add_space(8.0);
        self.customer_list(ui, &shown, value.as_deref(), requests);
        save
    }

    fn segment_table(
        &mut self,
        ui: &mut egui::Ui,
        (result, currency): (&RfmResult, Option<&str>),
        grid: &SegmentGrid,
        mean_clv: &[Option<f64>],
        requests: &mut Vec<Request>,
    ) -> Option<(SegmentGrid, bool)> {
        ui.horizontal(|ui| {
            ui.strong("Segments");
            if ui.small_button("CSV").clicked() {
                requests.push(Request::ExportTable { file_name: "segments.csv".into(), table: rfm::segment_table(result, grid, mean_clv) });
            }
            ui.label(RichText::new("Click a name to list its customers. Actions are editable and saved in the workspace.").weak());
        });
        let mut edited_grid: Option<SegmentGrid> = None;
        let mut commit = false;
        let spend_decimals = widgets::money_decimals(result.segments.iter().map(|s| s.mean_monetary));
        let clv_decimals = widgets::money_decimals(mean_clv.iter().flatten().copied());
        egui::Grid::new("segment_table").striped(true).num_columns(9).show(ui, |ui| {
            for h in [
                "Segment",
                "Customers",
                "% customers",
                "% revenue",
                "Mean recency (days)",
                "Mean orders",
                "Mean revenue",
                "Mean CLV",
                "Recommended action",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for (i, s) in result.segments.iter().enumerate() {
                ui.horizontal(|ui| {
                    let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                    ui.painter().rect_filled(rect, 2.0, category_colour(i));
                    let selected = self.selected.as_deref() == Some(s.name.as_str());
                    if ui.selectable_label(selected, &s.name).clicked() {
                        self.selected = Some(s.name.clone());
                    }
                });
                ui.label(widgets::number(s.customers as f64, 0));
                ui.label(format!("{:.1}%", s.customer_share * 100.0));
                ui.label(format!("{:.1}%", s.revenue_share * 100.0));
                ui.label(widgets::number(s.mean_recency, 0));
                ui.label(widgets::number(s.mean_frequency, 1));
                ui.label(widgets::money_with_decimals(s.mean_monetary, currency, spend_decimals));
                ui.label(
                    mean_clv.get(i).copied().flatten().map_or("–".into(), |v| widgets::money_with_decimals(v, currency, clv_decimals)),
                );
                let mut action = grid.action(&s.name).to_string();
                let response = ui.add(egui::TextEdit::singleline(&mut action).desired_width(420.0).id_salt(("action", i)));
                if response.changed() {
                    let mut g = edited_grid.take().unwrap_or_else(|| grid.clone());
                    g.set_action(&s.name, action);
                    edited_grid = Some(g);
                }
                if response.lost_focus() {
                    commit = true;
                }
                ui.end_row();
            }
        });
        match edited_grid {
            Some(g) => Some((g, commit)),
            None if commit => Some((grid.clone(), true)),
            None => None,
        }
    }

    fn customer_list(
        &mut self,
        ui: &mut egui::Ui,
        shown: &ShownRfm<'_>,
        value: Option<&std::collections::HashMap<u32, rfm::ValueColumns>>,
        requests: &mut Vec<Request>,
    ) {
        let result = shown.rfm;
        let Some(name) = self.selected.clone() else {
            ui.label(RichText::new("Select a segment to list its customers.").weak());
            return;
        };
        let Some(index) = result.segments.iter().position(|s| s.name == name) else {
            self.selected = None;
            return;
        };
        let stale = self.list.as_ref().is_none_or(|(r, s, v, _)| !Arc::ptr_eq(r, &shown.owner) || *s != name || *v != value.is_some());
        if stale {
            let table = rfm::customer_table(&shown.names, result, Some(index), value);
            self.list = Some((shown.owner.clone(), name.clone(), value.is_some(), table));
        }
        let Some((_, _, _, (header, rows))) = &self.list else { return };
        ui.horizontal(|ui| {
            ui.strong(format!("{name}: {} customers", widgets::number(rows.len() as f64, 0)));
            if ui.button("Export this segment (CSV)").clicked() {
                let file_name = format!("segment_{}.csv", name.to_lowercase().replace(|c: char| !c.is_alphanumeric(), "_"));
                requests.push(Request::ExportTable { file_name, table: (header.clone(), rows.clone()) });
            }
        });
        let numeric: Vec<bool> =
            header.iter().map(|h| !matches!(h.as_str(), "customer_id" | "country" | "last_purchase" | "segment")).collect();
        widgets::text_table(ui, "segment_customers", header, rows, &numeric, 320.0);
    }

    /// The segment map editor; returns the edited map to save.
    fn edit_map_ui(&mut self, ui: &mut egui::Ui, grid: &SegmentGrid) -> Option<SegmentGrid> {
        egui::Frame::group(ui.style())
            .show(ui, |ui| {
                ui.label("Pick the segment of each R × F cell. Rename a segment below; the map is saved in the workspace.");
                let names = grid.names();
                let mut edited: Option<SegmentGrid> = None;
                egui::Grid::new("segment_map_editor").num_columns(6).show(ui, |ui| {
                    ui.label("");
                    for f in 1..=5 {
                        ui.strong(format!("F{f}"));
                    }
                    ui.end_row();
                    for r in (1..=5u8).rev() {
                        ui.strong(format!("R{r}"));
                        for f in 1..=5u8 {
                            let current = grid.segment(r, f).to_string();
                            let mut chosen = current.clone();
                            egui::ComboBox::from_id_salt(("cell", r, f)).width(150.0).selected_text(&chosen).show_ui(ui, |ui| {
                                for name in &names {
                                    ui.selectable_value(&mut chosen, name.clone(), name);
                                }
                            });
                            if chosen != current {
                                let mut g = edited.take().unwrap_or_else(|| grid.clone());
                                g.cells[usize::from(r - 1)][usize::from(f - 1)] = chosen;
                                edited = Some(g);
                            }
                        }
                        ui.end_row();
                    }
                });
                ui.horizontal(|ui| {
                    let target = self.selected.clone().unwrap_or_else(|| names.first().cloned().unwrap_or_default());
                    let label = ui.label(format!("Rename '{target}' to"));
                    ui.add(egui::TextEdit::singleline(&mut self.rename_to).desired_width(160.0)).labelled_by(label.id);
                    let new_name = self.rename_to.trim().to_string();
                    if ui.add_enabled(!new_name.is_empty() && !names.contains(&new_name), egui::Button::new("Rename")).clicked() {
                        let mut g = edited.take().unwrap_or_else(|| grid.clone());
                        g.rename(&target, &new_name);
                        self.selected = Some(new_name.clone());
                        self.rename_to.clear();
                        edited = Some(g);
                    }
                    if ui.button("Add a new segment").on_hover_text("Adds a name to pick in the cells above").clicked()
                        && !new_name.is_empty()
                    {
                        let mut g = edited.take().unwrap_or_else(|| grid.clone());
                        g.set_action(&new_name, String::new());
                        // A name only exists through a cell: give it the selected segment's first cell.
                        if let Some(cell) = g.cells.iter_mut().flatten().find(|c| **c == target) {
                            *cell = new_name.clone();
                        }
                        self.rename_to.clear();
                        edited = Some(g);
                    }
                    if ui.button("Reset to the standard map").clicked() {
                        edited = Some(SegmentGrid::default());
                    }
                });
                edited
            })
            .inner
    }

    fn clusters_tab(&mut self, ui: &mut egui::Ui, models: &mut CustomerModels, requests: &mut Vec<Request>) {
        let Some(result) = models.clusters.get().cloned() else {
            widgets::waiting(ui, "Running k-means for k = 2 to 8…");
            return;
        };
        // The segments the clusters were computed from, not the newest RFM result.
        let rfm_result: &RfmResult = &result.input;
        ui.label(
            "k-means on standardised log recency, log frequency and log monetary value. Pick k where the elbow bends \
             and the silhouette is high; the suggestion is the best silhouette for k of 3 or more (k = 2 only splits good \
             customers from the rest).",
        );
        ui.horizontal(|ui| {
            ui.label("Clusters (k)");
            let mut k = models.k.unwrap_or(result.suggested_k);
            if ui.add(egui::Slider::new(&mut k, clusters::K_RANGE)).changed() {
                models.k = Some(k);
            }
            ui.label(RichText::new(format!("suggested: {}", result.suggested_k)).weak());
            if models.k.is_some() && ui.small_button("Use suggested").clicked() {
                models.k = None;
            }
            if ui.button("Export profiles (CSV)").clicked() {
                requests.push(Request::ExportTable { file_name: "clusters.csv".into(), table: clusters::profile_table(&result) });
            }
        });
        let width = ui.available_width();
        ui.horizontal(|ui| {
            for (title, pick) in [("Elbow: inertia by k", 0), ("Silhouette by k (higher is better)", 1)] {
                ui.vertical(|ui| {
                    ui.strong(title);
                    let points: Vec<[f64; 2]> =
                        result.candidates.iter().map(|c| [c.k as f64, if pick == 0 { c.inertia } else { c.silhouette }]).collect();
                    let chosen: Vec<[f64; 2]> = points.iter().copied().filter(|p| p[0] as usize == result.k).collect();
                    widgets::plot(ui, ("k_plot", pick))
                        .width((width / 2.0 - 20.0).max(250.0))
                        .height(200.0)
                        .allow_drag(false)
                        .allow_zoom(false)
                        .show(ui, |plot| {
                            plot.line(Line::new(title, PlotPoints::from(points.clone())));
                            plot.points(Points::new(format!("{title} points"), PlotPoints::from(points)).radius(3.0));
                            plot.points(Points::new("chosen k", PlotPoints::from(chosen)).radius(6.0).color(widgets::BAD));
                        });
                });
            }
        });
        ui.add_space(6.0);
        ui.strong("Cluster profiles (numbered by mean revenue, highest first)");
        egui::Grid::new("cluster_profiles").striped(true).show(ui, |ui| {
            for h in ["Cluster", "Customers", "Mean recency (days)", "Mean orders", "Mean revenue", "Mostly", "Share"] {
                ui.strong(h);
            }
            ui.end_row();
            for p in &result.profiles {
                ui.horizontal(|ui| {
                    let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                    ui.painter().rect_filled(rect, 2.0, category_colour(p.cluster));
                    ui.label(format!("Cluster {}", p.cluster));
                });
                ui.label(widgets::number(p.customers as f64, 0));
                ui.label(widgets::number(p.mean_recency, 0));
                ui.label(widgets::number(p.mean_frequency, 1));
                ui.label(widgets::money(p.mean_monetary));
                ui.label(&p.main_segment);
                ui.label(format!("{:.0}%", p.main_segment_share * 100.0));
                ui.end_row();
            }
        });
        ui.add_space(6.0);
        ui.strong("Clusters next to named segments (customers)");
        let rows: Vec<String> = result.profiles.iter().map(|p| format!("Cluster {}", p.cluster)).collect();
        let columns: Vec<String> = rfm_result.segments.iter().map(|s| abbreviate(&s.name)).collect();
        let max = result.crosstab.iter().flatten().copied().max().unwrap_or(1).max(1) as f32;
        widgets::heat_map(ui, &rows, &columns, egui::vec2(86.0, 26.0), |r, c| {
            let n = result.crosstab[r][c];
            Some(HeatCell {
                intensity: n as f32 / max,
                text: if n > 0 { widgets::number(n as f64, 0) } else { String::new() },
                hover: format!("Cluster {r}, {}: {n} customers", rfm_result.segments[c].name),
            })
        });
    }

    fn cohorts_tab(&mut self, ui: &mut egui::Ui, result: &CohortResult, requests: &mut Vec<Request>) {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.cohort_revenue, false, "% customers retained");
            ui.selectable_value(&mut self.cohort_revenue, true, "revenue per customer");
            if ui.button("Export (CSV)").clicked() {
                requests.push(Request::ExportTable { file_name: "cohorts.csv".into(), table: cohorts::table(result, self.cohort_revenue) });
            }
        });
        ui.label(
            RichText::new(
                "Rows: customers by the month of their first purchase. Columns: months since then. A customer is retained in a month \
                 when they buy in it. Revenue per customer divides by the cohort's size.",
            )
            .weak(),
        );
        if result.cohorts.is_empty() {
            ui.label("No purchases with a customer id in the selected period.");
            return;
        }
        let rows: Vec<String> = result.cohorts.iter().map(|c| format!("{} ({})", c.label(), c.size)).collect();
        let columns: Vec<String> = (0..result.months).map(|k| k.to_string()).collect();
        let max_revenue = result
            .cohorts
            .iter()
            .flat_map(|c| (1..c.revenue.len()).filter_map(|k| c.revenue_per_customer(k)))
            .fold(0.0, f64::max)
            .max(1e-9);
        let revenue = self.cohort_revenue;
        if let Some(note) = crate::present::format::cohort_partial_note(result) {
            ui.label(RichText::new(note).weak());
        }
        let cell_width = ((ui.available_width() - 120.0) / result.months.max(1) as f32).clamp(44.0, 70.0);
        widgets::heat_map(ui, &rows, &columns, egui::vec2(cell_width, 22.0), |r, k| {
            let cohort = &result.cohorts[r];
            let partial = result.is_partial(cohort, k);
            let mark = if partial { "*" } else { "" };
            let (unshaded, partial_note) = if partial { (0.0, " (a partial month)") } else { (1.0, "") };
            if revenue {
                let v = cohort.revenue_per_customer(k)?;
                // Month 0 is the first order itself: shade the later months on their own scale.
                let intensity = if k == 0 { 0.0 } else { (v / max_revenue) as f32 };
                Some(HeatCell {
                    intensity: intensity * unshaded,
                    text: format!("{}{mark}", widgets::number(v, 0)),
                    hover: format!("{} cohort, month {k}{partial_note}: {} per acquired customer", cohort.label(), widgets::money(v)),
                })
            } else {
                let pct = cohort.retention_pct(k)?;
                Some(HeatCell {
                    intensity: if k == 0 { 0.0 } else { (pct / 50.0).min(1.0) as f32 * unshaded },
                    text: format!("{pct:.0}%{mark}"),
                    hover: format!(
                        "{} cohort, month {k}{partial_note}: {} of {} customers bought",
                        cohort.label(),
                        cohort.active[k],
                        cohort.size
                    ),
                })
            }
        });
    }
}

/// The R×F heat map, R5 on top; returns the segment of a clicked cell.
fn heat_map_rf(ui: &mut egui::Ui, result: &RfmResult, grid: &SegmentGrid) -> Option<String> {
    let rows: Vec<String> = (1..=5).rev().map(|r| format!("R{r}")).collect();
    let columns: Vec<String> = (1..=5).map(|f| format!("F{f}")).collect();
    let max = result.heat.iter().flatten().copied().max().unwrap_or(1).max(1) as f32;
    let clicked = widgets::heat_map(ui, &rows, &columns, egui::vec2(104.0, 46.0), |row, column| {
        let (r, f) = (5 - row as u8, column as u8 + 1);
        let n = result.heat[usize::from(r - 1)][usize::from(f - 1)];
        let segment = grid.segment(r, f);
        Some(HeatCell {
            intensity: n as f32 / max,
            text: format!("{}\n{}", abbreviate(segment), widgets::number(n as f64, 0)),
            hover: format!("R{r} F{f}: {segment}, {n} customers"),
        })
    })?;
    let (r, f) = (5 - clicked.0 as u8, clicked.1 as u8 + 1);
    Some(grid.segment(r, f).to_string())
}

/// Short enough for a heat-map cell.
fn abbreviate(name: &str) -> String {
    if name.chars().count() <= 13 {
        return name.to_string();
    }
    let short: String = name.chars().take(12).collect();
    format!("{}.", short.trim_end())
}

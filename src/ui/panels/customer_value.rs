//! The Customer value panel: BG/NBD + Gamma-Gamma fits, their warnings, P(alive) and expected
//! purchases over a frequency × recency grid, the calibration/holdout check and the customers
//! with the highest CLV. The fit runs in a job owned by [`CustomerModels`].

use eframe::egui::{self, RichText};

use super::customer_models::CustomerModels;
use super::{panel_names, Panel, PanelContext, PanelName, Request};
use crate::analytics::clv::{self, ClvResult, TimeUnit};
use crate::analytics::order_frame::OrderFrame;
use crate::analytics::Filters;
use crate::ui::widgets::{self, HeatCell};

const MODEL_HELP: &str = "BG/NBD: while 'alive' a customer buys at a steady random rate; after each purchase they may leave for good. \
Gamma-Gamma: each customer has a typical order value; their orders vary around it. Both are fitted by maximum likelihood.\n\
Inputs per customer: frequency = purchase days after the first; recency = time from the first to the last purchase day; \
T = time from the first purchase day to the end of the data. Purchases on one day count once. Spend = mean value of the repeat purchases.\n\
CLV = Σ over the horizon of expected purchases in each period × expected order value, discounted per period.";

#[derive(Default)]
pub struct CustomerValuePanel {
    split_text: String,
    /// Why the typed split date was not used (it names the date).
    split_error: Option<String>,
    /// How many top customers to list.
    top: usize,
}

impl Panel for CustomerValuePanel {
    fn name(&self) -> PanelName {
        panel_names::CUSTOMER_VALUE
    }

    fn hint(&self) -> &'static str {
        "Lifetime value (BG/NBD + Gamma-Gamma), P(alive), expected purchases"
    }

    fn reset(&mut self) {
        *self = Self::default();
    }

    fn view_state(&self, models: &crate::ui::models::Models) -> super::ViewState {
        let mut state = super::ViewState::default();
        state.set("top", self.top);
        state.set("split", &self.split_text);
        state.set("settings", models.find::<CustomerModels>().map(|m| m.clv_settings.clone()).unwrap_or_default());
        state
    }

    fn restore_view(&mut self, state: &super::ViewState, models: &mut crate::ui::models::Models) {
        state.restore("top", &mut self.top);
        state.restore("split", &mut self.split_text);
        state.restore("settings", &mut models.get::<CustomerModels>().clv_settings);
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
        let Some(orders) = &cx.data.orders else {
            widgets::waiting(ui, cx.data.orders_waiting_text());
            return;
        };
        let models = cx.models.get::<CustomerModels>();
        self.settings_bar(ui, models);
        let started = models.request_clv(orders, cx.filters);
        if models.clv.is_running() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("fitting…");
            });
        }
        let mut requests = Vec::new();
        if let Some(error) = models.clv_error(orders, cx.filters) {
            ui.colored_label(widgets::BAD, format!("The models could not be fitted: {error}"));
        } else if let Some(fit) = models.clv.get().cloned() {
            egui::ScrollArea::vertical()
                .id_salt("value_scroll")
                .show(ui, |ui| self.result_ui(ui, (&fit.input, cx.filters), &fit.result.result, &mut requests));
        } else {
            widgets::waiting(ui, "Fitting BG/NBD and Gamma-Gamma…");
        }
        cx.track(started);
        for request in requests {
            cx.request(request);
        }
    }
}

impl CustomerValuePanel {
    fn settings_bar(&mut self, ui: &mut egui::Ui, models: &mut CustomerModels) {
        let s = &mut models.clv_settings;
        ui.horizontal_wrapped(|ui| {
            let unit_label = ui.label("Time unit");
            egui::ComboBox::from_id_salt("clv_unit")
                .selected_text(s.unit.plural())
                .show_ui(ui, |ui| {
                    for unit in TimeUnit::ALL {
                        ui.selectable_value(&mut s.unit, unit, unit.plural());
                    }
                })
                .response
                .labelled_by(unit_label.id);
            ui.label("Horizon");
            ui.add(egui::DragValue::new(&mut s.horizon).range(1..=120).suffix(format!(" {}", s.unit.plural())));
            ui.label("Discount rate");
            let mut pct = s.discount_rate * 100.0;
            if ui
                .add(
                    egui::DragValue::new(&mut pct)
                        .range(0.0..=20.0)
                        .speed(0.05)
                        .fixed_decimals(2)
                        .suffix(format!(" % per {}", singular(s.unit))),
                )
                .changed()
            {
                s.discount_rate = pct / 100.0;
            }
            ui.label("L2 penalty").on_hover_text("0 = plain maximum likelihood. A small penalty (0.001–0.1) steadies fits on little data.");
            ui.add(egui::DragValue::new(&mut s.penalty).range(0.0..=10.0).speed(0.001).max_decimals(4));
            ui.label("Holdout split");
            let edit = ui.add(egui::TextEdit::singleline(&mut self.split_text).desired_width(90.0).hint_text("2/3 of the way"));
            if edit.lost_focus() {
                let text = self.split_text.trim();
                match crate::timestamp::parse_date(text) {
                    Ok(date) => {
                        s.holdout_split = Some(date);
                        self.split_error = None;
                    }
                    Err(_) if text.is_empty() => {
                        s.holdout_split = None;
                        self.split_error = None;
                    }
                    Err(e) => self.split_error = Some(e.to_string()),
                }
            }
            if let Some(error) = &self.split_error {
                ui.colored_label(widgets::BAD, error);
            }
            ui.label(RichText::new("About the models").underline()).on_hover_text(MODEL_HELP);
        });
        ui.separator();
    }

    fn result_ui(&mut self, ui: &mut egui::Ui, (frame, filters): (&OrderFrame, &Filters), result: &ClvResult, requests: &mut Vec<Request>) {
        let currency = frame.money_currency(filters).0;
        let money = |value: f64| widgets::money_in(value, currency.as_deref());
        let unit = result.settings.unit.plural();
        let horizon = result.settings.horizon;
        for warning in &result.warnings {
            egui::Frame::group(ui.style()).fill(ui.visuals().warn_fg_color.gamma_multiply(0.15)).show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new(format!("Warning: {warning}")).color(ui.visuals().warn_fg_color));
            });
        }
        self.parameters(ui, result);
        ui.add_space(6.0);
        if result.customers.is_empty() {
            ui.label("No per-customer predictions: see the warnings above.");
        } else {
            let n = result.customers.len() as f64;
            let expected: f64 = result.customers.iter().map(|c| c.expected_purchases).sum();
            let alive: f64 = result.customers.iter().map(|c| c.p_alive).sum::<f64>() / n;
            let total_clv: Option<f64> = result.has_clv().then(|| result.customers.iter().filter_map(|c| c.clv).sum());
            ui.columns(4, |cols| {
                widgets::stat_card(
                    &mut cols[0],
                    "Customers modelled",
                    &widgets::number(n, 0),
                    "Customers with a purchase in the filters, up to the last purchase day.",
                );
                widgets::stat_card(
                    &mut cols[1],
                    &format!("Expected purchases, next {horizon} {unit}"),
                    &widgets::number(expected, 0),
                    "Σ over customers of E[purchases in the horizon] (BG/NBD).",
                );
                widgets::stat_card(
                    &mut cols[2],
                    "Mean P(alive)",
                    &format!("{:.1}%", alive * 100.0),
                    "Average probability that a customer has not left for good.",
                );
                widgets::stat_card(
                    &mut cols[3],
                    &format!("Total CLV, next {horizon} {unit}"),
                    &total_clv.map_or("–".into(), money),
                    "Σ of discounted expected value over the horizon. Shown only when Gamma-Gamma is usable.",
                );
            });
        }
        ui.add_space(8.0);
        if let Some(grid) = &result.grid {
            let width = ui.available_width();
            let rows: Vec<String> = grid.frequencies.iter().rev().map(|f| format!("{f:.0}")).collect();
            let columns: Vec<String> =
                grid.recencies.iter().enumerate().map(|(i, r)| if i % 4 == 0 { format!("{r:.0}") } else { String::new() }).collect();
            let cell =
                egui::vec2(((width / 2.0 - 70.0) / columns.len() as f32).clamp(10.0, 24.0), (300.0 / rows.len() as f32).clamp(7.0, 20.0));
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    ui.strong(format!("Expected purchases in the next {horizon} {unit}")).on_hover_text(format!(
                        "For a customer first seen {:.0} {unit} ago. Rows: repeat purchases; columns: recency ({unit}).",
                        grid.big_t
                    ));
                    let max = grid.expected.iter().flatten().copied().fold(0.0, f64::max).max(1e-9);
                    let n = grid.frequencies.len();
                    widgets::heat_map(ui, &rows, &columns, cell, |r, c| {
                        let v = grid.expected[n - 1 - r][c];
                        Some(HeatCell {
                            intensity: (v / max) as f32,
                            text: String::new(),
                            hover: format!(
                                "frequency {}, recency {:.1} {unit}: {v:.2} purchases expected",
                                grid.frequencies[n - 1 - r],
                                grid.recencies[c]
                            ),
                        })
                    });
                    ui.label(RichText::new(format!("rows: frequency (repeat purchases), columns: recency in {unit}")).weak());
                });
                ui.vertical(|ui| {
                    ui.strong("P(alive)").on_hover_text("Probability the customer is still active, for the same grid.");
                    let n = grid.frequencies.len();
                    widgets::heat_map(ui, &rows, &columns, cell, |r, c| {
                        let v = grid.p_alive[n - 1 - r][c];
                        Some(HeatCell {
                            intensity: v as f32,
                            text: String::new(),
                            hover: format!(
                                "frequency {}, recency {:.1} {unit}: P(alive) = {:.0}%",
                                grid.frequencies[n - 1 - r],
                                grid.recencies[c],
                                v * 100.0
                            ),
                        })
                    });
                    ui.label(RichText::new("dark = likely still a customer").weak());
                });
            });
        }
        ui.add_space(8.0);
        self.holdout(ui, result);
        ui.add_space(8.0);
        self.top_customers(ui, (frame, currency.as_deref()), result, requests);
    }

    fn parameters(&self, ui: &mut egui::Ui, result: &ClvResult) {
        ui.horizontal_top(|ui| {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                let b = &result.bgnbd;
                ui.strong(format!(
                    "BG/NBD ({} customers, time in {})",
                    widgets::number(b.customers as f64, 0),
                    result.settings.unit.plural()
                ));
                egui::Grid::new("bgnbd_params").num_columns(2).show(ui, |ui| {
                    fit_rows(ui, &[("r", b.model.r), ("α", b.model.alpha), ("a", b.model.a), ("b", b.model.b)], b);
                });
            });
            egui::Frame::group(ui.style()).show(ui, |ui| match &result.gamma_gamma {
                Ok(g) => {
                    ui.strong(format!("Gamma-Gamma ({} repeat buyers)", widgets::number(g.customers as f64, 0)));
                    egui::Grid::new("gg_params").num_columns(2).show(ui, |ui| {
                        fit_rows(ui, &[("p", g.model.p), ("q", g.model.q), ("v", g.model.v)], g);
                        ui.label("spend ~ frequency correlation");
                        let rho = result.spend_frequency_correlation;
                        let text = rho.map_or("n/a".into(), |r| format!("{r:.3}"));
                        let colour =
                            if rho.is_some_and(|r| r.abs() >= clv::CORRELATION_WARNING) { widgets::BAD } else { ui.visuals().text_color() };
                        ui.colored_label(colour, text).on_hover_text(
                            "Gamma-Gamma assumes spend per order does not depend on how often a customer buys (|r| < 0.3 is fine).",
                        );
                        ui.end_row();
                    });
                }
                Err(e) => {
                    ui.strong("Gamma-Gamma");
                    ui.label(e);
                }
            });
        });
    }

    fn holdout(&self, ui: &mut egui::Ui, result: &ClvResult) {
        ui.strong("Calibration / holdout check").on_hover_text(
            "BG/NBD refitted on purchases up to the split only; for each group of customers by their purchases before the split, \
             the mean purchases predicted for the rest of the data against what they actually did.",
        );
        match &result.holdout {
            Err(e) => {
                ui.label(format!("Not available: {e}"));
            }
            Ok(h) => {
                let unit = result.settings.unit.plural();
                let gap = if h.total_actual > 0.0 { (h.total_predicted / h.total_actual - 1.0) * 100.0 } else { 0.0 };
                ui.label(format!(
                    "Fitted up to {}, predicted {} to {} ({:.1} {unit}): {} purchases predicted, {} actual ({gap:+.1}%).",
                    h.split,
                    clv_next_day(h.split),
                    h.end,
                    h.length,
                    widgets::number(h.total_predicted, 0),
                    widgets::number(h.total_actual, 0)
                ));
                crate::ui::chart_view::show(ui, &crate::present::charts::clv_holdout(h), h.split, 220.0);
            }
        }
    }

    fn top_customers(
        &mut self,
        ui: &mut egui::Ui,
        (frame, currency): (&OrderFrame, Option<&str>),
        result: &ClvResult,
        requests: &mut Vec<Request>,
    ) {
        if result.customers.is_empty() {
            return;
        }
        if self.top == 0 {
            self.top = 100;
        }
        let unit = result.settings.unit.plural();
        let horizon = result.settings.horizon;
        let header = vec![
            "Customer".to_string(),
            "Repeat purchases".to_string(),
            format!("Recency ({unit})"),
            format!("T ({unit})"),
            "P(alive)".to_string(),
            format!("Expected purchases ({horizon} {unit})"),
            "Expected order value".to_string(),
            "CLV".to_string(),
        ];
        // Each money column with the same decimals in every row.
        let shown = || result.customers.iter().take(self.top);
        let value_decimals = widgets::money_decimals(shown().filter_map(|c| c.expected_value));
        let clv_decimals = widgets::money_decimals(shown().filter_map(|c| c.clv));
        let rows: Vec<Vec<String>> = shown()
            .map(|c| {
                vec![
                    frame.customers[c.customer as usize].clone(),
                    widgets::number(c.x, 0),
                    format!("{:.1}", c.t_x),
                    format!("{:.1}", c.big_t),
                    format!("{:.1}%", c.p_alive * 100.0),
                    format!("{:.2}", c.expected_purchases),
                    c.expected_value.map_or("–".into(), |v| widgets::money_with_decimals(v, currency, value_decimals)),
                    c.clv.map_or("–".into(), |v| widgets::money_with_decimals(v, currency, clv_decimals)),
                ]
            })
            .collect();
        ui.horizontal(|ui| {
            ui.strong(if result.has_clv() { "Top customers by CLV" } else { "Top customers by expected purchases" });
            egui::ComboBox::from_id_salt("top_n").selected_text(format!("top {}", self.top)).show_ui(ui, |ui| {
                for n in [20, 100, 500] {
                    ui.selectable_value(&mut self.top, n, format!("top {n}"));
                }
            });
            if ui.button("Export all customers (CSV)").on_hover_text("The same file as `shoplens clv --out`").clicked() {
                requests.push(Request::ExportTable {
                    file_name: "customer_value.csv".into(),
                    table: clv::customer_table(frame, result, usize::MAX),
                });
            }
        });
        let numeric: Vec<bool> = (0..header.len()).map(|i| i > 0).collect();
        widgets::text_table(ui, "top_clv", &header, &rows, &numeric, 360.0);
    }
}

/// A fit's parameters, log-likelihood and status as grid rows.
fn fit_rows<P>(ui: &mut egui::Ui, params: &[(&str, f64)], fit: &clv::ModelFit<P>) {
    for (name, value) in params {
        ui.label(*name);
        ui.monospace(format!("{value:.4}"));
        ui.end_row();
    }
    ui.label("log-likelihood");
    ui.monospace(format!("{:.2}", fit.log_likelihood));
    ui.end_row();
    ui.label("fit");
    ui.label(fit_status(fit.converged, &fit.at_boundary, fit.iterations));
    ui.end_row();
}

fn fit_status(converged: bool, at_boundary: &[&str], iterations: u64) -> String {
    match (converged, at_boundary.is_empty()) {
        (true, true) => format!("converged ({iterations} iterations)"),
        (_, false) => format!("at a boundary: {}", at_boundary.join(", ")),
        (false, true) => format!("did not converge ({iterations} iterations)"),
    }
}

fn singular(unit: TimeUnit) -> &'static str {
    unit.plural().trim_end_matches('s')
}

fn clv_next_day(day: chrono::NaiveDate) -> chrono::NaiveDate {
    day.succ_opt().unwrap_or(day)
}

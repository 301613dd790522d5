//! The Decisions tab: did each price change work? Every change of our price (decided here or in
//! an imported price history) measured against comparable untouched products, beside the
//! prediction recorded with a decision; all of them together; a chart per change; and the
//! decision log of accepted and rejected proposals.

use super::*;
use crate::analytics::impact::{Assessment, Portfolio};
use crate::ui::chart_view;

/// What the tab lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum ChangesShown {
    /// Decisions taken in shoplens when there are any, else every change.
    #[default]
    Decided,
    All,
    /// The log of accepted and rejected proposals.
    Log,
}

impl PricingPanel {
    pub(super) fn decisions_ui(&mut self, ui: &mut egui::Ui, data: &PricingData, models: &mut PricingModels, requests: &mut Vec<Request>) {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.changes_shown, ChangesShown::Decided, "Decided in shoplens");
            ui.selectable_value(&mut self.changes_shown, ChangesShown::All, "Every price change");
            let log = format!("Decision log ({})", widgets::count_of(models.decisions.len() as u64, "decision", "decisions"));
            ui.selectable_value(&mut self.changes_shown, ChangesShown::Log, log);
            if self.changes_shown != ChangesShown::Log {
                ui.separator();
                let label = ui.label("Days compared before and after each change:");
                ui.add(egui::DragValue::new(&mut self.impact_window).range(7..=91)).labelled_by(label.id).on_hover_text(
                    "Each change is measured over this many days before it and as many from it on, both inside the sales data.",
                );
            }
        });
        if self.changes_shown == ChangesShown::Log {
            decision_log(ui, data, &models.decisions, requests);
            return;
        }
        requests.extend(models.request_impact(self.impact_window).map(Request::Track));
        match models.impact.get().cloned() {
            Some(output) => self.impact_ui(ui, &output, requests),
            None => widgets::waiting(ui, "Measuring price changes…"),
        }
    }

    fn impact_ui(&mut self, ui: &mut egui::Ui, output: &models::ImpactOutput, requests: &mut Vec<Request>) {
        let (data, assessments) = (&output.input, &output.result);
        let window = assessments.first().map_or(self.impact_window, |a| a.window_days);
        let mut shown = impact::listed(assessments, self.changes_shown == ChangesShown::All);
        // Newest first, the measured before the rest (the last weeks' changes cannot be yet).
        shown.sort_by_key(|a| a.outcome.is_err());
        if assessments.is_empty() {
            ui.label("Our price never changed in this workspace's price history: there is nothing to measure yet.");
            return;
        }
        portfolio_ui(ui, &impact::portfolio(shown.iter().copied()), window, widgets::money);
        ui.horizontal(|ui| {
            if self.changes_shown == ChangesShown::Decided && assessments.iter().all(|a| a.decided.is_none()) {
                ui.label(RichText::new("No change was decided in shoplens yet: every change of the price history is listed.").weak());
            }
            if ui.small_button("CSV").on_hover_text("Every price change, as `shoplens pricing impact` writes it").clicked() {
                requests
                    .push(Request::ExportTable { file_name: "price_impact.csv".into(), table: impact::impact_table(data, assessments) });
            }
        });
        let width = ui.available_width();
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width((width * 0.58).max(460.0));
                // The verdict early: in a narrow window the later columns scroll.
                let header = [
                    "product",
                    "from",
                    "verdict",
                    "price",
                    "units predicted",
                    "units realised",
                    "95% interval",
                    "P(rise)",
                    "profit predicted",
                    "profit realised",
                ]
                .map(String::from);
                let rows: Vec<Vec<String>> = shown.iter().map(|a| impact_row(data, a)).collect();
                // The first measured change (else the first) is shown until one of the listed
                // changes is picked.
                let picked = self.impact_change_in(data);
                if !shown.iter().any(|a| Some((a.change.product, a.change.day)) == picked) {
                    self.impact_change = shown
                        .iter()
                        .find(|a| a.outcome.is_ok())
                        .or(shown.first())
                        .map(|a| (data.products[a.change.product as usize].id.clone(), a.change.day));
                }
                let selected = shown.iter().position(|a| Some((a.change.product, a.change.day)) == self.impact_change_in(data));
                let numeric = [false, false, false, false, true, true, true, true, true, true];
                if let Some(i) = widgets::pick_table(ui, "price_impact", &header, &rows, &numeric, 420.0, selected) {
                    self.impact_change = Some((data.products[shown[i].change.product as usize].id.clone(), shown[i].change.day));
                }
            });
            ui.vertical(|ui| {
                let Some(assessment) =
                    self.impact_change_in(data).and_then(|key| shown.iter().find(|a| (a.change.product, a.change.day) == key))
                else {
                    ui.label("Pick a change to see its days against the comparable products.");
                    return;
                };
                // Its own scroll: the figures and warnings run below a laptop's window.
                egui::ScrollArea::vertical().id_salt("change_detail").show(ui, |ui| change_detail(ui, data, assessment, requests));
            });
        });
    }

    /// The picked change as (product code, day) in `data` (ids, not codes, are kept: codes differ
    /// between copies).
    fn impact_change_in(&self, data: &PricingData) -> Option<(u32, i64)> {
        let (id, day) = self.impact_change.as_ref()?;
        Some((data.product_named(id)?, *day))
    }
}

/// The portfolio's sentences, the first as a heading.
fn portfolio_ui(ui: &mut egui::Ui, portfolio: &Portfolio, window: usize, money: impl Fn(f64) -> String) {
    let sentences = portfolio.sentences(window, money);
    for (i, sentence) in sentences.iter().enumerate() {
        if i == 0 {
            ui.strong(sentence);
        } else {
            ui.label(sentence);
        }
    }
    ui.label(
        RichText::new(
            "Figures are a day. Realised: the product's change from the days before to the days after, against comparable \
             products of its category whose price stayed put, scaled to its level before (a difference-in-differences). Paid or \
             cost: the 95% interval of the profit (of the revenue without a cost) lies above or below zero; a change with no \
             effect at all still gets one about one time in twenty.",
        )
        .weak(),
    );
}

/// A change in units a day: "+1.25", "−0.40".
fn units(value: f64) -> String {
    crate::text::signed(value, |v| format!("{v:.2}"))
}

/// A row of the changes table: the figures a day, units then profit (money as the panel writes
/// it, without a currency).
fn impact_row(data: &PricingData, a: &Assessment) -> Vec<String> {
    let predicted = a.decided.and_then(|d| d.predicted);
    let or_dash = |v: Option<f64>| v.map_or_else(|| "–".to_string(), units);
    let mut row = vec![product_label(data, a.change.product), date_of_day(a.change.day).to_string()];
    let price = format!("{:.2} to {:.2}", a.change.old_price, a.change.new_price);
    let (predicted_units, predicted_profit) = (or_dash(predicted.map(|p| p.units)), or_dash(predicted.map(|p| p.profit)));
    match &a.outcome {
        Ok(r) => row.extend([
            match r.warnings.len() {
                0 => impact::verdict(r).to_string(),
                n => format!("{} · {}", impact::verdict(r), widgets::count_of(n as u64, "warning", "warnings")),
            },
            price,
            predicted_units,
            units(r.units.effect),
            format!("{} … {}", units(r.units.interval.0), units(r.units.interval.1)),
            format!("{:.0}%", r.units.p_positive * 100.0),
            predicted_profit,
            or_dash(r.profit.map(|p| p.effect)),
        ]),
        Err(_) => {
            row.extend([
                "not measured".to_string(),
                price,
                predicted_units,
                "–".into(),
                "–".into(),
                "–".into(),
                predicted_profit,
                "–".into(),
            ]);
        }
    }
    row
}

/// One change: its chart, its figures against the prediction, and what may make them wrong.
fn change_detail(ui: &mut egui::Ui, data: &PricingData, a: &Assessment, requests: &mut Vec<Request>) {
    let id = &data.products[a.change.product as usize].id;
    ui.add(egui::Label::new(RichText::new(product_label(data, a.change.product)).strong()).wrap());
    let r = match &a.outcome {
        Ok(r) => r,
        Err(why) => {
            ui.label(format!("Not measured: {why}."));
            return;
        }
    };
    let chart = crate::present::charts::price_change(r, id);
    let save = chart_view::title(ui, &chart);
    let shown = chart_view::show(ui, &chart, ("price_change", a.change.product, a.change.day), 240.0);
    if save {
        let day = date_of_day(a.change.day);
        requests.push(Request::SaveChart { file_name: format!("price_change_{id}_{day}.png"), rect: shown.response.rect });
    }
    let verdict = impact::verdict(r);
    let colour = match verdict {
        "paid" => widgets::GOOD,
        "cost" => widgets::BAD,
        _ => ui.visuals().text_color(),
    };
    ui.colored_label(colour, format!("Verdict: {verdict}"));
    let money = |v: f64| crate::text::signed(v, widgets::money);
    let predicted = a.decided.and_then(|d| d.predicted);
    egui::Grid::new(("impact_figures", a.change.product, a.change.day)).striped(true).show(ui, |ui| {
        ui.strong("");
        ui.strong("predicted");
        ui.strong("realised");
        ui.strong("95% interval");
        ui.end_row();
        let mut line = |name: &str, predicted: Option<f64>, estimate: &impact::DidEstimate, write: &dyn Fn(f64) -> String| {
            ui.label(name);
            ui.label(predicted.map_or_else(|| "–".into(), write));
            ui.label(write(estimate.effect));
            ui.label(format!("{} … {}", write(estimate.interval.0), write(estimate.interval.1)));
            ui.end_row();
        };
        line("Units a day", predicted.map(|p| p.units), &r.units, &units);
        line("Revenue a day", predicted.map(|p| p.revenue), &r.revenue, &money);
        if let Some(profit) = &r.profit {
            line("Profit a day", predicted.map(|p| p.profit), profit, &money);
        }
    });
    match (a.decided, predicted) {
        (None, _) => ui.label(RichText::new("From the imported price history: no prediction was recorded.").weak()),
        (Some(_), None) => ui.label(RichText::new("Decided in shoplens without a prediction (no elasticity, cost or sales then).").weak()),
        (Some(_), Some(_)) => match a.prediction_inside() {
            Some(true) => ui.label("The prediction fell inside the realised interval."),
            _ => ui.colored_label(ui.visuals().warn_fg_color, "The prediction fell outside the realised interval."),
        },
    };
    for warning in &r.warnings {
        ui.colored_label(ui.visuals().warn_fg_color, format!("Warning: {warning}."));
    }
}

/// The log of accepted and rejected proposals, with what each predicted.
fn decision_log(ui: &mut egui::Ui, data: &PricingData, decisions: &[PriceDecision], requests: &mut Vec<Request>) {
    ui.horizontal(|ui| {
        let accepted = decisions.iter().filter(|d| d.accepted).count();
        ui.label(format!(
            "{}: {accepted} accepted, {} rejected. Newest first.",
            widgets::count_of(decisions.len() as u64, "decision", "decisions"),
            decisions.len() - accepted
        ));
        if ui.small_button("CSV").clicked() {
            requests.push(Request::ExportTable { file_name: "price_decisions.csv".into(), table: decisions_table(decisions) });
        }
    });
    if decisions.is_empty() {
        ui.label("No decisions yet: accept or reject proposals on the Recommendations tab.");
        return;
    }
    let (header, mut rows) = decisions_table(decisions);
    // The product by its name where the catalogue has one (the CSV keeps the id alone).
    for row in &mut rows {
        if let Some(code) = data.product_named(&row[0]) {
            row[0] = product_label(data, code);
        }
        // The predictions a day to the cent (the CSV keeps four decimals).
        for cell in row.iter_mut().skip(7) {
            if let Ok(value) = cell.parse::<f64>() {
                *cell = units(value);
            }
        }
    }
    let numeric = [false, true, true, false, false, false, false, true, true, true];
    widgets::text_table(ui, "price_decisions", &header, &rows, &numeric, 300.0);
}

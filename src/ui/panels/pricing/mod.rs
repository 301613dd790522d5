//! The Pricing panel: where our prices stand against competitors (monitor), what moved
//! (signals, with acknowledge and snooze), price elasticity per product, recommended prices
//! under the markup band with an approval queue, the decision log, A/B tests and matches by
//! name: one file per tab beside this one, and the family's jobs and results in [`models`].

use std::collections::BTreeMap;

use eframe::egui::{self, Color32, RichText};
use egui_plot::{Bar, BarChart, Line, MarkerShape, PlotPoints, Points};

mod abtest;
mod decisions;
mod elasticity;
mod matches;
pub mod models;
mod monitor;
mod recommendations;
mod signals;

use abtest::AbForm;
use decisions::ChangesShown;
use matches::matches_ui;
use models::{decided_prices, ElasticityOutput, MarketOutput, PriceBasis, PricingModels, ProposalsOutput};

use super::{panel_names, Panel, PanelContext, PanelName, Request};
use crate::analytics::abtest::{parse_days, Arm};
use crate::analytics::alerts::{self, Review, SignalKey};
use crate::analytics::customers::{date_of_day, format_time};
use crate::analytics::elasticity::Verdict;
use crate::analytics::impact::{self, Predicted};
use crate::analytics::pricing::{self, PricingData, Severity, SignalKind};
use crate::analytics::recommend::{self, Anchor, PositionRule, Recommendation};
use crate::ui::models::PanelModels;
use crate::ui::widgets::{self, category_colour};
use crate::workspace::settings::{decisions_table, PriceDecision};

const DAY: f64 = 86_400.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Monitor,
    Signals,
    Elasticity,
    Recommendations,
    Decisions,
    AbTest,
    Matches,
}

/// What the user decided in the queue, not yet recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pending {
    Accept,
    Reject,
    /// Accept at this price instead of the proposal.
    Set(f64),
}

const TABS: [(Tab, &str); 7] = [
    (Tab::Monitor, panel_names::tab::MONITOR),
    (Tab::Signals, "Signals"),
    (Tab::Elasticity, "Elasticity"),
    (Tab::Recommendations, "Recommendations"),
    (Tab::Decisions, panel_names::tab::DECISIONS),
    (Tab::AbTest, "A/B test"),
    (Tab::Matches, "Matches by name"),
];

pub struct PricingPanel {
    tab: Tab,
    /// The product shown in the Monitor's chart and the Elasticity's chart, by id (codes
    /// differ between copies).
    product: Option<String>,
    search: String,
    show_reviewed: bool,
    only_changes: bool,
    /// Pending decisions by product id.
    queue: BTreeMap<String, Pending>,
    /// Our price basis as being edited (`None`: not editing).
    basis_edit: Option<PriceBasis>,
    ab: AbForm,
    /// Decisions tab: the days compared before and after each price change, which changes are
    /// listed, and the one charted (product id, day).
    impact_window: usize,
    changes_shown: ChangesShown,
    impact_change: Option<(String, i64)>,
}

impl Default for PricingPanel {
    fn default() -> Self {
        Self {
            tab: Tab::Monitor,
            product: None,
            search: String::new(),
            show_reviewed: false,
            only_changes: true,
            queue: BTreeMap::new(),
            basis_edit: None,
            ab: AbForm::default(),
            impact_window: 28,
            changes_shown: ChangesShown::default(),
            impact_change: None,
        }
    }
}

impl Panel for PricingPanel {
    fn name(&self) -> PanelName {
        panel_names::PRICING
    }

    fn hint(&self) -> &'static str {
        "Competitor monitor, market signals, price elasticity, recommended prices and the decision log"
    }

    fn reset(&mut self) {
        *self = Self::default();
    }

    fn view_state(&self, _: &crate::ui::models::Models) -> super::ViewState {
        let mut state = super::ViewState::default();
        state.set("tab", super::tab_name(&TABS, self.tab));
        state.set("product", &self.product);
        state.set("show_reviewed", self.show_reviewed);
        state.set("only_changes", self.only_changes);
        state.set("ab", &self.ab);
        state.set("window_days", self.impact_window);
        state.set("changes_shown", self.changes_shown);
        state
    }

    fn restore_view(&mut self, state: &super::ViewState, _: &mut crate::ui::models::Models) {
        if let Some(tab) = state.get::<String>("tab").and_then(|t| super::tab_named(&TABS, &t)) {
            self.tab = tab;
        }
        state.restore("product", &mut self.product);
        state.restore("show_reviewed", &mut self.show_reviewed);
        state.restore("only_changes", &mut self.only_changes);
        state.restore("ab", &mut self.ab);
        state.restore("window_days", &mut self.impact_window);
        state.restore("changes_shown", &mut self.changes_shown);
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
        let path = cx.data.path.clone();
        let models = cx.models.get::<PricingModels>();
        let mut requests: Vec<Request> = models.ensure_loaded(cx.data).map(Request::Track).into_iter().collect();
        ui.horizontal(|ui| {
            for (tab, name) in TABS {
                ui.selectable_value(&mut self.tab, tab, RichText::new(name).size(15.0));
            }
        });
        ui.separator();
        let Some(data) = models.ready() else {
            widgets::waiting(ui, "Loading prices…");
            requests.into_iter().for_each(|r| cx.request(r));
            return;
        };
        if data.data.products.is_empty() && data.data.observations.is_empty() && self.tab != Tab::Matches {
            ui.label(
                "This workspace has no pricing data yet. Import a catalogue (product_id, name, category, brand, cost, price, stock), \
                 our price history (product_id, price, valid_from) and competitor prices (product_id, competitor, price, observed_at). \
                 Competitor feeds keyed by product name are matched in the Matches by name tab.",
            );
            requests.into_iter().for_each(|r| cx.request(r));
            return;
        }
        if models.loading() || models.busy() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(if models.loading() { "reloading prices…" } else { "updating…" });
            });
        }
        for (left_out, why) in [
            (data.data.other_currency, "in another currency than ours"),
            (data.data.other_tax_basis, "with tax included where ours exclude it (or the reverse)"),
            (data.data.conflicting, "that disagree (one competitor, product and time, different prices)"),
        ] {
            if left_out > 0 {
                let text = format!(
                    "{} competitor observations {why} are left out: only prices that can be trusted are compared.",
                    widgets::number(left_out as f64, 0)
                );
                ui.label(RichText::new(text).color(widgets::BAD));
            }
        }
        if !data.data.unknown_basis.is_empty() {
            let feeds: Vec<String> =
                data.data.unknown_basis.iter().map(|(c, n)| format!("{} in {c}", widgets::number(*n as f64, 0))).collect();
            let text = format!(
                "Which currency are our prices in? Competitor prices are stated ({}) and ours are not, so they are left out until you say (Change, above).",
                feeds.join(", ")
            );
            ui.colored_label(ui.visuals().warn_fg_color, text);
        }
        match self.tab {
            Tab::Monitor => {
                self.basis_ui(ui, models, path.as_ref());
                requests.extend(models.request_market().map(Request::Track));
                match models.market.get().cloned() {
                    Some(market) => self.monitor_ui(ui, &market, models, &mut requests),
                    None => widgets::waiting(ui, "Comparing prices…"),
                }
            }
            Tab::Signals => {
                requests.extend(models.request_market().map(Request::Track));
                match models.market.get().cloned() {
                    Some(market) => self.signals_ui(ui, &market, models, path.as_ref(), &mut requests),
                    None => widgets::waiting(ui, "Looking for signals…"),
                }
            }
            Tab::Elasticity => {
                requests.extend(models.request_elasticity().map(Request::Track));
                match models.elasticity.get().cloned() {
                    Some(output) => self.elasticity_ui(ui, &output, &mut requests),
                    None => widgets::waiting(ui, "Estimating elasticities…"),
                }
            }
            Tab::Recommendations => {
                requests.extend(models.request_proposals().into_iter().map(Request::Track));
                match models.proposals.get().cloned() {
                    Some(output) => self.recommendations_ui(ui, &output, models, path.as_ref(), &mut requests),
                    None => widgets::waiting(ui, "Working out prices…"),
                }
            }
            Tab::Decisions => self.decisions_ui(ui, &data.data, models, &mut requests),
            Tab::AbTest => self.abtest_ui(ui, &data.data, models, &mut requests),
            Tab::Matches => matches_ui(ui, &data.data, models, path.as_ref(), &mut requests),
        }
        for request in requests {
            cx.request(request);
        }
    }
}

/// A product's label: its id and name.
fn product_label(data: &PricingData, product: u32) -> String {
    let p = &data.products[product as usize];
    if p.name.is_empty() {
        p.id.clone()
    } else {
        format!("{} {}", p.id, p.name)
    }
}

fn price(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{v:.2}"))
}

fn date_axis(mark: egui_plot::GridMark) -> String {
    date_of_day(mark.value.floor() as i64).format("%d %b %y").to_string()
}

/// `points` as a step line: each value holds until the next one, the last until `end`.
fn steps(points: &[(f64, f64)], end: f64) -> Vec<[f64; 2]> {
    let mut out: Vec<[f64; 2]> = Vec::with_capacity(points.len() * 2 + 1);
    // Only corners: a repeated point (a price that did not change) breaks the line's joins.
    for (i, &(x, y)) in points.iter().enumerate() {
        if i > 0 && y == points[i - 1].1 {
            continue;
        }
        if let Some(&[_, previous]) = out.last() {
            out.push([x, previous]);
        }
        out.push([x, y]);
    }
    if let Some(&(_, y)) = points.last().filter(|&&(x, _)| end > x) {
        out.push([end, y]);
    }
    out
}

impl PricingPanel {
    /// What our prices are (currency, tax): shown, and editable, since it decides which
    /// competitor prices are compared.
    fn basis_ui(&mut self, ui: &mut egui::Ui, models: &mut PricingModels, path: Option<&std::path::PathBuf>) {
        ui.horizontal(|ui| {
            let basis = &models.basis;
            let tax = |t: Option<bool>| match t {
                Some(true) => "including tax",
                Some(false) => "excluding tax",
                None => "tax not stated",
            };
            match &mut self.basis_edit {
                None => {
                    ui.label(format!(
                        "Our prices: {}, {}.",
                        basis
                            .currency
                            .as_deref()
                            .map_or("currency not set (the order lines' own, when stated)".to_string(), |c| format!("in {c}")),
                        tax(basis.include_tax)
                    ))
                    .on_hover_text("Competitor prices in another currency, or on another tax basis, are left out of every comparison.");
                    if ui.small_button("Change").clicked() {
                        self.basis_edit = Some(basis.clone());
                    }
                }
                Some(edit) => {
                    let label = ui.label("Our prices are in");
                    let mut currency = edit.currency.clone().unwrap_or_default();
                    ui.add(egui::TextEdit::singleline(&mut currency).desired_width(50.0).hint_text("GBP")).labelled_by(label.id);
                    edit.currency = Some(currency.trim().to_uppercase()).filter(|c| !c.is_empty());
                    egui::ComboBox::from_id_salt("our_tax").selected_text(tax(edit.include_tax)).show_ui(ui, |ui| {
                        for choice in [None, Some(true), Some(false)] {
                            ui.selectable_value(&mut edit.include_tax, choice, tax(choice));
                        }
                    });
                    if ui.button("Save").clicked() {
                        models.set_basis(edit.clone(), path);
                        self.basis_edit = None;
                    } else if ui.button("Cancel").clicked() {
                        self.basis_edit = None;
                    }
                }
            }
        });
    }
}

// Controls the Signals and Recommendations tabs share.

/// A fraction edited as a percentage.
fn percent_drag(ui: &mut egui::Ui, label: &str, fraction: &mut f64) {
    ui.label(label);
    let mut pct = *fraction * 100.0;
    if ui.add(egui::DragValue::new(&mut pct).range(0.5..=90.0).speed(0.1).suffix(" %")).changed() {
        *fraction = pct / 100.0;
    }
}

/// Save / Reset for the settings being edited; Reset applies `defaults` (not saved until Save).
fn settings_buttons(
    ui: &mut egui::Ui,
    models: &mut PricingModels,
    path: Option<&std::path::PathBuf>,
    defaults: impl FnOnce(&mut PricingModels),
) {
    ui.horizontal(|ui| {
        let unsaved = models.unsaved();
        if ui.add_enabled(unsaved, egui::Button::new("Save in the workspace")).clicked() {
            models.save_settings(path);
        }
        if ui.button("Defaults").clicked() {
            defaults(models);
        }
        if unsaved {
            ui.label(RichText::new("edited, not saved").weak());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::steps;

    #[test]
    fn a_step_line_holds_each_price_until_the_next() {
        assert_eq!(steps(&[(1.0, 10.0), (3.0, 8.0)], 5.0), vec![[1.0, 10.0], [3.0, 10.0], [3.0, 8.0], [5.0, 8.0]]);
        assert!(steps(&[], 5.0).is_empty());
        // An unchanged price adds no point.
        assert_eq!(steps(&[(1.0, 10.0), (2.0, 10.0), (3.0, 8.0)], 3.0), vec![[1.0, 10.0], [3.0, 10.0], [3.0, 8.0]]);
    }
}

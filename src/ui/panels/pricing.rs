//! The Pricing panel: where our prices stand against competitors (monitor), what moved
//! (signals, with acknowledge and snooze), price elasticity per product, recommended prices
//! under the markup band with an approval queue, and the decision log. Results come from
//! [`PricingModels`].

use std::collections::BTreeMap;

use eframe::egui::{self, Color32, RichText};
use egui_plot::{Bar, BarChart, Line, MarkerShape, PlotPoints, Points};

use super::pricing_models::{decided_prices, ElasticityOutput, MarketOutput, PriceBasis, PricingModels, ProposalsOutput};
use super::{Panel, PanelContext, Request};
use crate::analytics::abtest::{parse_days, Arm};
use crate::analytics::alerts::{self, Review, SignalKey};
use crate::analytics::customers::{date_of_day, format_time};
use crate::analytics::elasticity::{self, Verdict};
use crate::analytics::pricing::{self, PricingData, Severity, SignalKind};
use crate::analytics::recommend::{self, Anchor, PositionRule, Recommendation};
use crate::ui::models::PanelModels;
use crate::ui::widgets::{self, category_colour};
use crate::workspace::settings::{decisions_table, PriceDecision};

const DAY: f64 = 86_400.0;

const SIGNALS_HELP: &str = "How signals fire\n\
• Competitor drop / rise: a competitor's price moved this much against its own previous observation.\n\
• Own change: our price moved this much. Low stock: the catalogue's stock is below the level.\n\
• Undercut / overpriced: our price is this far below / above the cheapest current competitor price.\n\
• Anomaly: a price this many robust z-scores away from the median of its series' recent history.\n\
• Demand surge: a day's views of a product far above the median of its previous four weeks (events needed).\n\
• A condition that persists fires once; one judged against a threshold clears only at half of it.\n\
The list below leaves out acknowledged and snoozed alerts and what is over the daily cap per product; \
the CSV export lists every signal.";

const RULES_HELP: &str = "How a price is proposed\n\
1. Optimum: cost·e/(1+e) when the elasticity e is identified (or pooled) and below −1; otherwise the current price.\n\
2. Position: within / beat by / match the cheapest, the average or a named competitor.\n\
3. Max change: at most this far from the current price in one step.\n\
4. Ending: .99 (rounded down, unless that leaves the band).\n\
The markup band cost × (1 + min) … cost × (1 + max) is a hard limit applied after every step.";

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
    (Tab::Monitor, "Monitor"),
    (Tab::Signals, "Signals"),
    (Tab::Elasticity, "Elasticity"),
    (Tab::Recommendations, "Recommendations"),
    (Tab::Decisions, "Decisions"),
    (Tab::AbTest, "A/B test"),
    (Tab::Matches, "Matches by name"),
];

/// The A/B test tab's form: the arms as typed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct AbForm {
    /// Two groups of products instead of one product in two periods.
    groups: bool,
    product: String,
    group_a: String,
    group_b: String,
    a: String,
    b: String,
}

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
        }
    }
}

impl Panel for PricingPanel {
    fn id(&self) -> &'static str {
        "pricing"
    }

    fn title(&self) -> &'static str {
        "Pricing"
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
            Tab::Decisions => decisions_ui(ui, &data.data, &models.decisions, &mut requests),
            Tab::AbTest => self.abtest_ui(ui, &data.data, models, &mut requests),
            Tab::Matches => matches_ui(ui, &data.data, models, path.as_ref(), &mut requests),
        }
        for request in requests {
            cx.request(request);
        }
    }
}

/// Name-keyed competitor feeds: each competitor product's suggested match, best first, to
/// confirm or reject; only confirmed matches are compared (as `shoplens pricing match`).
fn matches_ui(
    ui: &mut egui::Ui,
    data: &PricingData,
    models: &mut PricingModels,
    path: Option<&std::path::PathBuf>,
    requests: &mut Vec<Request>,
) {
    use crate::analytics::matching::MatchStatus;
    if models.matches.is_none() && !models.matching() {
        requests.extend(models.refresh_matches(path).map(Request::Track));
    }
    if models.min_similarity == 0.0 {
        models.min_similarity = 0.8;
    }
    ui.label(
        "Competitor feeds without our product ids are matched by name: units and sizes normalised, word order ignored. \
         Other sizes, counts, packs or house brands are never matched; a size, count or brand stated on one side only \
         stays at most 85% similar, for you to decide. A group's similarity is its weakest link. \
         Only confirmed matches feed the monitor and the signals.",
    );
    ui.horizontal(|ui| {
        ui.label("Suggest from a similarity of");
        let slider = ui.add(egui::Slider::new(&mut models.min_similarity, 0.5..=1.0).step_by(0.01));
        if ui.button("Match again").clicked() || slider.drag_stopped() {
            requests.extend(models.refresh_matches(path).map(Request::Track));
        }
    });
    let Some(rows) = models.matches.clone() else {
        widgets::waiting(ui, "Matching names…");
        return;
    };
    if rows.is_empty() {
        ui.label("No competitor prices keyed by name in this workspace. Import a feed with competitor (or vendor), product_name, price (or current_price) and observed_at (or nowtime), such as Project Hammer's.");
        return;
    }
    let count = |status| rows.iter().filter(|r| r.status == status).count();
    ui.label(format!(
        "{} competitor products: {} suggested, {} confirmed, {} rejected.",
        rows.len(),
        count(MatchStatus::Suggested),
        count(MatchStatus::Confirmed),
        count(MatchStatus::Rejected)
    ));
    let mut decision: Option<(usize, MatchStatus)> = None;
    let mut confirm_all = None;
    ui.horizontal(|ui| {
        let threshold = models.min_similarity.max(0.9);
        if ui.button(format!("Confirm every suggestion from {threshold:.2}")).clicked() {
            confirm_all = Some(threshold);
        }
        if ui.small_button("CSV").on_hover_text("competitor, competitor_product, product_id, similarity, status").clicked() {
            requests.push(Request::ExportTable { file_name: "matches.csv".into(), table: crate::analytics::matching::table(&rows) });
        }
    });
    let ours: std::collections::HashMap<&str, &str> = data.products.iter().map(|p| (p.id.as_str(), p.name.as_str())).collect();
    // Thousands of rows (Hammer: 4,549): a table that lays out only the visible rows, with
    // clipped columns so a 200-character name cannot push similarity and status off screen.
    let height = ui.available_height().max(200.0);
    let column = |width: f32| egui_extras::Column::initial(width).at_least(60.0).clip(true);
    egui_extras::TableBuilder::new(ui)
        .id_salt("name_matches")
        .striped(true)
        .resizable(true)
        .max_scroll_height(height)
        .column(column(100.0))
        .column(column(320.0))
        .column(column(220.0))
        .column(column(80.0))
        .column(column(80.0))
        .column(egui_extras::Column::remainder().at_least(130.0))
        .header(22.0, |mut header| {
            for h in ["Competitor", "Their product", "Matched to", "Similarity", "Status", ""] {
                header.col(|ui| {
                    ui.strong(h);
                });
            }
        })
        .body(|body| {
            body.rows(22.0, rows.len(), |mut table_row| {
                let i = table_row.index();
                let row = &rows[i];
                let target = match ours.get(row.product_id.as_str()) {
                    Some(name) if !name.is_empty() => format!("{} {name}", row.product_id),
                    _ if row.product_id.is_empty() => "(nothing similar enough)".to_string(),
                    _ => row.product_id.clone(),
                };
                for text in [&row.product.competitor, &row.product.name, &target] {
                    table_row.col(|ui| {
                        ui.add(egui::Label::new(text.as_str()).truncate());
                    });
                }
                table_row.col(|ui| {
                    ui.label(row.similarity.map_or("–".to_string(), |s| format!("{:.0}%", s * 100.0)));
                });
                table_row.col(|ui| {
                    let colour = match row.status {
                        MatchStatus::Confirmed => widgets::GOOD,
                        MatchStatus::Rejected => widgets::BAD,
                        MatchStatus::Suggested => ui.visuals().weak_text_color(),
                    };
                    ui.colored_label(colour, row.status.name());
                });
                table_row.col(|ui| {
                    ui.push_id(i, |ui| {
                        ui.horizontal(|ui| {
                            if !row.product_id.is_empty() && row.similarity.is_some() && ui.small_button("Confirm").clicked() {
                                decision = Some((i, MatchStatus::Confirmed));
                            }
                            if ui.small_button("Reject").clicked() {
                                decision = Some((i, MatchStatus::Rejected));
                            }
                        });
                    });
                });
            });
        });
    if let Some((index, status)) = decision {
        let key = rows[index].product.clone();
        models.decide_matches(|r| (r.product == key).then_some(status), path);
    }
    if let Some(threshold) = confirm_all {
        models.decide_matches(
            |r| {
                (r.status == MatchStatus::Suggested && !r.product_id.is_empty() && r.similarity.is_some_and(|s| s >= threshold))
                    .then_some(MatchStatus::Confirmed)
            },
            path,
        );
    }
}

impl PricingPanel {
    /// The A/B test tab: arms typed as in `shoplens pricing abtest`, the comparison, its
    /// warnings and verdict, the daily units chart and the CSV of the metrics.
    fn abtest_ui(&mut self, ui: &mut egui::Ui, data: &PricingData, models: &mut PricingModels, requests: &mut Vec<Request>) {
        // Start from the product picked elsewhere (else the first in the catalogue), split at
        // its last price change, else its last four weeks of sales against the four before.
        if self.ab.product.is_empty() && !self.ab.groups {
            self.ab.product = self.product.clone().or_else(|| data.products.first().map(|p| p.id.clone())).unwrap_or_default();
        }
        if self.ab.a.is_empty() && self.ab.b.is_empty() {
            if let Some(code) = data.product_named(&self.ab.product) {
                // A change after the sales data ends (a decision taken today) has no sales to
                // test: the last change inside the data.
                let sales_end = data.sales.iter().map(|s| s.day).max().unwrap_or(i64::MAX);
                let change = data
                    .our_history(code)
                    .iter()
                    .skip(1)
                    .rev()
                    .find(|c| c.time.div_euclid(86_400) <= sales_end)
                    .map(|c| date_of_day(c.time.div_euclid(86_400)));
                let last_sale = data.sales_of(code).last().map(|s| date_of_day(s.day) + chrono::Duration::days(1));
                if let Some(split) = change.or_else(|| last_sale.map(|d| d - chrono::Duration::days(28))) {
                    let (day, weeks) = (chrono::Duration::days(1), chrono::Duration::days(28));
                    self.ab.a = format!("{}..{}", split - weeks, split - day);
                    self.ab.b = format!("{}..{}", split, split + weeks - day);
                }
            }
        }
        ui.label(
            "Compare one product before and after a price change, or two groups of products over the same days. \
             Days without a sale inside the data count as zero; days beyond the data are not compared; intervals are 95% (Welch).",
        );
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.ab.groups, false, "one product, two periods");
            ui.selectable_value(&mut self.ab.groups, true, "two groups of products");
        });
        egui::Grid::new("ab_form").num_columns(2).show(ui, |ui| {
            if self.ab.groups {
                let label = ui.label("Group A (ids, comma-separated)");
                ui.add(egui::TextEdit::singleline(&mut self.ab.group_a).desired_width(300.0)).labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Group B");
                ui.add(egui::TextEdit::singleline(&mut self.ab.group_b).desired_width(300.0)).labelled_by(label.id);
                ui.end_row();
            } else {
                let label = ui.label("Product id");
                ui.add(egui::TextEdit::singleline(&mut self.ab.product).desired_width(160.0)).labelled_by(label.id);
                ui.end_row();
            }
            let label = ui.label("Arm A days");
            ui.add(egui::TextEdit::singleline(&mut self.ab.a).hint_text("2010-01-01..2010-03-31").desired_width(220.0))
                .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("Arm B days");
            ui.add(egui::TextEdit::singleline(&mut self.ab.b).hint_text("2010-04-01..2010-06-30").desired_width(220.0))
                .labelled_by(label.id);
            ui.end_row();
        });
        let codes = |ids: &str| {
            ids.split(',').filter(|t| !t.trim().is_empty()).map(|id| data.product_named(id.trim())).collect::<Option<Vec<u32>>>()
        };
        let arms = || -> Result<(Arm, Arm), String> {
            let (a, b) = (parse_days(&self.ab.a).ok(), parse_days(&self.ab.b).ok());
            let (a, b) = match (a, b, self.ab.groups) {
                (Some(a), Some(b), _) => (a, b),
                (Some(d), None, true) | (None, Some(d), true) => (d, d),
                _ => return Err("Type each arm's days as FROM..TO (YYYY-MM-DD..YYYY-MM-DD).".into()),
            };
            let (pa, pb) = if self.ab.groups {
                let unknown = || "A product id in the groups is not in the catalogue.".to_string();
                (codes(&self.ab.group_a).ok_or_else(unknown)?, codes(&self.ab.group_b).ok_or_else(unknown)?)
            } else {
                let p = data
                    .product_named(self.ab.product.trim())
                    .ok_or_else(|| format!("No product '{}' in the catalogue.", self.ab.product))?;
                (vec![p], vec![p])
            };
            Ok((Arm { products: pa, from: a.0, to: a.1 }, Arm { products: pb, from: b.0, to: b.1 }))
        };
        match arms() {
            Ok((a, b)) => {
                requests.extend(models.request_abtest(a, b).map(Request::Track));
            }
            Err(why) => {
                ui.label(RichText::new(why).weak());
                return;
            }
        }
        let Some(output) = models.abtest.get().cloned() else {
            widgets::waiting(ui, "Comparing the arms…");
            return;
        };
        let result = match &output.result {
            Ok(result) => result,
            Err(e) => {
                ui.colored_label(widgets::BAD, e.to_string());
                return;
            }
        };
        ui.separator();
        let price = |p: Option<f64>| p.map_or("–".to_string(), widgets::money);
        ui.label(format!(
            "A: {} days, price paid {}   B: {} days, price paid {}",
            result.days.0,
            price(result.prices.0),
            result.days.1,
            price(result.prices.1)
        ));
        let header: Vec<String> = ["metric", "A", "B", "B − A", "95% interval", "P(B > A)"].map(String::from).to_vec();
        let rows: Vec<Vec<String>> = result
            .metrics
            .iter()
            .map(|m| {
                vec![
                    m.name.replace('_', " "),
                    widgets::number(m.a, 2),
                    widgets::number(m.b, 2),
                    widgets::number(m.difference, 2),
                    m.ci.map_or("–".into(), |(l, h)| format!("{} to {}", widgets::number(l, 2), widgets::number(h, 2))),
                    m.p_b_greater.map_or("–".into(), |p| format!("{:.1}%", p * 100.0)),
                ]
            })
            .collect();
        widgets::text_table(ui, "ab_metrics", &header, &rows, &[false, true, true, true, true, true], 160.0);
        if ui.small_button("CSV").on_hover_text("metric, a, b, difference, ci_low, ci_high, p_b_greater").clicked() {
            requests.push(Request::ExportTable { file_name: "abtest.csv".into(), table: crate::analytics::abtest::table(result) });
        }
        for warning in &result.warnings {
            ui.colored_label(Color32::from_rgb(180, 110, 0), format!("Warning: {warning}"));
        }
        ui.label(RichText::new(&result.verdict).strong());
        let chart = crate::present::charts::ab_units(result);
        ui.strong(chart.title.as_str()).on_hover_text(chart.note.as_str());
        crate::ui::chart_view::show(ui, &chart, (result.days, result.units.0.len()), 220.0);
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

    fn monitor_ui(&mut self, ui: &mut egui::Ui, output: &MarketOutput, models: &mut PricingModels, requests: &mut Vec<Request>) {
        let (data, monitor) = (&output.input, &output.result.monitor);
        let compared: Vec<f64> = monitor.positions.iter().filter_map(|p| p.index).collect();
        let cheapest = monitor.positions.iter().filter(|p| p.rank == Some(1)).count();
        let dearest = monitor.positions.iter().filter(|p| p.rank.is_some_and(|r| r == p.sellers && r > 1)).count();
        ui.horizontal(|ui| {
            let as_of = crate::analytics::customers::date_of_day(monitor.as_of.div_euclid(86_400));
            ui.label(RichText::new(format!("As of {} (the last competitor observation)", widgets::day(as_of))).weak());
            ui.separator();
            let vs_label = ui.label("Index also against");
            let mut reference = models.thresholds.reference_competitor.clone();
            egui::ComboBox::from_id_salt("vs_competitor")
                .selected_text(reference.clone().unwrap_or_else(|| "(market average only)".into()))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut reference, None, "(market average only)");
                    for name in &data.competitors {
                        ui.selectable_value(&mut reference, Some(name.clone()), name);
                    }
                })
                .response
                .labelled_by(vs_label.id);
            models.thresholds.reference_competitor = reference;
            if ui.small_button("CSV").on_hover_text("Every product's position (as `shoplens pricing monitor --out`)").clicked() {
                requests.push(Request::ExportTable { file_name: "price_monitor.csv".into(), table: pricing::monitor_table(data, monitor) });
            }
        });
        ui.columns(4, |cols| {
            let mean = (!compared.is_empty()).then(|| compared.iter().sum::<f64>() / compared.len() as f64);
            widgets::stat_card(
                &mut cols[0],
                "Price index (market = 100)",
                &mean.map_or_else(|| "–".into(), |m| format!("{m:.1}")),
                "Mean over compared products of our price / the mean current competitor price × 100. Below 100: we are cheaper.",
            );
            widgets::stat_card(
                &mut cols[1],
                "Cheapest on",
                &format!("{cheapest} of {}", compared.len()),
                "Products where our price is the lowest among the sellers (rank 1).",
            );
            widgets::stat_card(
                &mut cols[2],
                "Dearest on",
                &format!("{dearest} of {}", compared.len()),
                "Products where every competitor is cheaper.",
            );
            let stale: usize = monitor.uncovered.iter().map(|&(_, n)| n).sum();
            widgets::stat_card(
                &mut cols[3],
                "Missing observations",
                &widgets::number(stale as f64, 0),
                "Product × competitor pairs without an observation in the stale window (see Coverage below).",
            );
        });
        ui.add_space(6.0);
        egui::ScrollArea::vertical().id_salt("monitor_scroll").show(ui, |ui| {
            let width = ui.available_width();
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    ui.set_width((width * 0.42).max(360.0));
                    ui.horizontal(|ui| {
                        ui.strong("Products");
                        ui.add(egui::TextEdit::singleline(&mut self.search).hint_text("search id or name").desired_width(160.0));
                    });
                    let needle = self.search.to_lowercase();
                    let shown: Vec<&pricing::Position> = monitor
                        .positions
                        .iter()
                        .filter(|p| {
                            needle.is_empty() || {
                                let product = &data.products[p.product as usize];
                                product.id.to_lowercase().contains(&needle) || product.name.to_lowercase().contains(&needle)
                            }
                        })
                        .collect();
                    if self.product.is_none() {
                        // Start with the first product of the catalogue.
                        self.product = monitor.positions.first().map(|p| data.products[p.product as usize].id.clone());
                    }
                    let header = ["product", "ours", "cheapest", "index", "rank"].map(String::from);
                    let rows: Vec<Vec<String>> = shown
                        .iter()
                        .map(|p| {
                            vec![
                                product_label(data, p.product),
                                price(p.ours),
                                price(p.cheapest.map(|c| c.1)),
                                p.index.map_or_else(|| "–".into(), |i| format!("{i:.1}")),
                                p.rank.map_or_else(|| "–".into(), |r| format!("{r} of {}", p.sellers)),
                            ]
                        })
                        .collect();
                    let selected = shown.iter().position(|p| Some(&data.products[p.product as usize].id) == self.product.as_ref());
                    if let Some(i) =
                        widgets::pick_table(ui, "price_positions", &header, &rows, &[false, true, true, true, true], 380.0, selected)
                    {
                        self.product = Some(data.products[shown[i].product as usize].id.clone());
                    }
                });
                ui.vertical(|ui| {
                    let code = self.product.as_ref().and_then(|id| data.products.iter().position(|p| &p.id == id));
                    match code {
                        Some(code) => price_history_chart(ui, data, code as u32, monitor),
                        None => {
                            ui.label("Pick a product to see its prices over time.");
                        }
                    }
                });
            });
            ui.add_space(8.0);
            ui.strong("Competitor price moves per day");
            moves_chart(ui, monitor);
            ui.add_space(8.0);
            ui.columns(2, |cols| {
                for (col, (title, groups)) in cols.iter_mut().zip([("By category", &monitor.by_category), ("By brand", &monitor.by_brand)])
                {
                    col.strong(title);
                    let (header, rows) = pricing::groups_table(groups, title.trim_start_matches("By "));
                    widgets::text_table(col, title, &header, &rows, &[false, true, true, true, true], 220.0);
                }
            });
            ui.add_space(8.0);
            ui.strong(format!("Coverage: products without an observation in the last {} days", models.thresholds.stale_days));
            ui.horizontal_wrapped(|ui| {
                for &(competitor, missing) in &monitor.uncovered {
                    let text = format!("{}: {missing}", data.competitors[competitor as usize]);
                    ui.label(if missing > 0 { RichText::new(text).color(widgets::BAD) } else { RichText::new(text) });
                    ui.separator();
                }
            });
        });
    }

    fn signals_ui(
        &mut self,
        ui: &mut egui::Ui,
        output: &MarketOutput,
        models: &mut PricingModels,
        path: Option<&std::path::PathBuf>,
        requests: &mut Vec<Request>,
    ) {
        let (data, signals) = (&output.input, &output.result.signals);
        egui::CollapsingHeader::new("Thresholds and alert list settings").default_open(false).show(ui, |ui| {
            let t = &mut models.thresholds;
            egui::Grid::new("thresholds").num_columns(4).spacing([16.0, 4.0]).show(ui, |ui| {
                percent_drag(ui, "Competitor drop", &mut t.competitor_drop);
                percent_drag(ui, "Competitor rise", &mut t.competitor_rise);
                ui.end_row();
                percent_drag(ui, "Our own change", &mut t.own_change);
                ui.label("Low stock below");
                ui.add(egui::DragValue::new(&mut t.low_stock).range(0..=100_000).suffix(" units"));
                ui.end_row();
                percent_drag(ui, "Undercut / overpriced gap", &mut t.position_gap);
                ui.label("Anomaly above");
                ui.add(egui::DragValue::new(&mut t.anomaly_z).range(1.0..=20.0).speed(0.1).suffix(" robust z"));
                ui.end_row();
                ui.label("Anomaly history");
                ui.add(egui::DragValue::new(&mut t.anomaly_window).range(8..=365).suffix(" observations"));
                ui.label("Stale after");
                ui.add(egui::DragValue::new(&mut t.stale_days).range(1..=365).suffix(" days"));
                ui.end_row();
                ui.label("Demand surge");
                ui.horizontal(|ui| {
                    let mut pct = t.demand_surge * 100.0;
                    if ui.add(egui::DragValue::new(&mut pct).range(10.0..=1000.0).speed(1.0).prefix("+").suffix(" % views")).changed() {
                        t.demand_surge = pct / 100.0;
                    }
                    ui.label("and at least");
                    ui.add(egui::DragValue::new(&mut t.surge_min_views).range(1..=100_000).suffix(" views"));
                })
                .response
                .on_hover_text("A day's views against the median of the previous four weeks (needs events for catalogue products).");
                ui.end_row();
                ui.label("Daily cap per product");
                ui.add(egui::DragValue::new(&mut models.alerts.daily_cap).range(0..=100).suffix(" alerts"))
                    .on_hover_text("0: no cap. The most severe alerts of a product's day are listed first.");
                ui.end_row();
            });
            ui.horizontal_wrapped(|ui| {
                ui.label("List:");
                for kind in SignalKind::ALL {
                    let mut listed = !models.alerts.hidden_kinds.iter().any(|k| k == kind.name());
                    let count = signals.iter().filter(|s| s.kind == kind).count();
                    if ui.checkbox(&mut listed, format!("{} ({count})", kind.label())).changed() {
                        models.alerts.hidden_kinds.retain(|k| k != kind.name());
                        if !listed {
                            models.alerts.hidden_kinds.push(kind.name().to_string());
                        }
                    }
                }
            });
            settings_buttons(ui, models, path, |models| {
                models.thresholds =
                    pricing::PricingSettings { reference_competitor: models.thresholds.reference_competitor.clone(), ..Default::default() };
                models.alerts = alerts::AlertSettings::default();
            });
        });
        let now = chrono::Utc::now().timestamp();
        let list = alerts::alert_list(data, signals, &models.reviews, &models.alerts, now);
        ui.horizontal_wrapped(|ui| {
            ui.strong(format!("{} signals", widgets::number(signals.len() as f64, 0))).on_hover_text(SIGNALS_HELP);
            ui.label(format!(
                "· listed {} · acknowledged {} · snoozed {} · over the daily cap {} · kinds not listed {}",
                list.shown.len(),
                list.acknowledged,
                list.snoozed,
                list.over_cap,
                list.hidden_kind
            ));
            if ui.button("Export every signal (CSV)").clicked() {
                requests.push(Request::ExportTable { file_name: "price_signals.csv".into(), table: pricing::signals_table(data, signals) });
            }
            ui.checkbox(&mut self.show_reviewed, "show acknowledged and snoozed");
        });
        let rows: Vec<usize> = if self.show_reviewed {
            (0..signals.len()).filter(|&i| models.reviews.contains_key(&SignalKey::of(data, &signals[i]))).rev().collect()
        } else {
            list.shown
        };
        if rows.is_empty() {
            ui.label(if self.show_reviewed { "Nothing acknowledged or snoozed." } else { "No alerts to show." });
            return;
        }
        let mut action: Option<(SignalKey, Option<Review>)> = None;
        egui_extras::TableBuilder::new(ui)
            .striped(true)
            .resizable(true)
            .column(egui_extras::Column::initial(60.0))
            .column(egui_extras::Column::initial(170.0))
            .column(egui_extras::Column::initial(240.0).clip(true))
            .column(egui_extras::Column::initial(90.0))
            .column(egui_extras::Column::initial(130.0))
            .column(egui_extras::Column::initial(120.0))
            .column(egui_extras::Column::initial(70.0))
            .column(egui_extras::Column::remainder().at_least(180.0))
            .header(22.0, |mut header| {
                for title in ["severity", "signal", "product", "competitor", "at", "before, after", "change", ""] {
                    header.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(22.0, rows.len(), |mut row| {
                    let signal = &signals[rows[row.index()]];
                    let key = SignalKey::of(data, signal);
                    row.col(|ui| {
                        let colour = match signal.severity {
                            Severity::High => widgets::BAD,
                            Severity::Medium => Color32::from_rgb(230, 150, 30),
                            Severity::Low => ui.visuals().weak_text_color(),
                        };
                        ui.colored_label(colour, signal.severity.name());
                    });
                    row.col(|ui| match data.promotion_at(signal) {
                        // A drop to a promoted price says so: the regular price has not moved.
                        Some(was) => {
                            ui.label(format!("{} (promoted price)", signal.kind.label())).on_hover_text(format!(
                                "The competitor shows {} struck through: a promotion, not a new regular price",
                                widgets::money(was)
                            ));
                        }
                        None => {
                            ui.label(signal.kind.label());
                        }
                    });
                    row.col(|ui| {
                        ui.label(product_label(data, signal.product));
                    });
                    row.col(|ui| {
                        ui.label(signal.competitor.map_or("", |c| data.competitors[c as usize].as_str()));
                    });
                    row.col(|ui| {
                        ui.label(format_time(signal.at));
                    });
                    row.col(|ui| match signal.kind {
                        SignalKind::LowStock => {}
                        SignalKind::DemandSurge => {
                            ui.label(format!("{:.0}  to  {:.0} views", signal.before.unwrap_or(0.0), signal.after.unwrap_or(0.0)));
                        }
                        _ => {
                            ui.label(format!("{}  to  {}", price(signal.before), price(signal.after)));
                        }
                    });
                    row.col(|ui| {
                        ui.label(if signal.kind == SignalKind::LowStock {
                            format!("{} left", signal.change)
                        } else {
                            format!("{:+.1}%", signal.change * 100.0)
                        });
                    });
                    row.col(|ui| {
                        ui.horizontal(|ui| review_buttons(ui, models.reviews.get(&key), &key, now, &mut action));
                    });
                });
            });
        if let Some((key, review)) = action {
            models.review(key, review, path);
        }
    }

    fn elasticity_ui(&mut self, ui: &mut egui::Ui, output: &ElasticityOutput, requests: &mut Vec<Request>) {
        let (data, estimates) = (&output.input, &output.result.estimates);
        let count = |verdict| estimates.iter().filter(|e| e.verdict == verdict).count();
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "{} products with sales: {} identified from their own price changes, {} pooled toward their category, {} not identified.",
                estimates.len(),
                count(Verdict::Identified),
                count(Verdict::Pooled),
                count(Verdict::NotIdentified)
            ))
            .on_hover_text(
                "Poisson GLM per product: log E[units] = a + e·log(price) + day of week (+ month of year with a year of history), \
                 over every day of its active period, days without a sale included (months, when the data holds monthly totals). \
                 95% interval from the quasi-Poisson standard error (real sales vary more than a Poisson count). \
                 Pooled: too uncertain alone, shrunk toward its category's random-effects mean (at least 3 identified products there); \
                 the interval carries the spread between products. Not identified: the price barely moved, changed too few times, \
                 or nothing to pool with; no elasticity is claimed. Every row says why.",
            );
            if ui.small_button("CSV").clicked() {
                let ids: Vec<String> = data.products.iter().map(|p| p.id.clone()).collect();
                requests.push(Request::ExportTable {
                    file_name: "elasticity.csv".into(),
                    table: elasticity::elasticity_table(&ids, estimates),
                });
            }
        });
        let tiers = estimates.iter().filter(|e| e.volume_tiers).count();
        if tiers > 0 {
            ui.label(
                RichText::new(format!(
                    "{tiers} products sell at different unit prices on one day (volume tiers): their daily price is a quantity-weighted mean, marked “tiers”."
                ))
                .weak(),
            );
        }
        let width = ui.available_width();
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width((width * 0.55).max(420.0));
                // The verdict beside the product: in a narrow window the later columns scroll.
                let header = ["product", "verdict", "elasticity", "95% interval", "spells", "periods", "reason"].map(String::from);
                let rows: Vec<Vec<String>> = estimates
                    .iter()
                    .map(|e| {
                        vec![
                            product_label(data, e.product),
                            format!("{}{}", e.verdict.name(), if e.volume_tiers { " (tiers)" } else { "" }),
                            e.elasticity.map_or_else(|| "–".into(), |v| format!("{v:.2}")),
                            e.interval.map_or_else(|| "–".into(), |(lo, hi)| format!("{lo:.2} … {hi:.2}")),
                            e.spells.to_string(),
                            e.days.to_string(),
                            e.reason.clone(),
                        ]
                    })
                    .collect();
                if self.product.is_none() {
                    self.product =
                        estimates.iter().find(|e| e.verdict == Verdict::Identified).map(|e| data.products[e.product as usize].id.clone());
                }
                let selected = estimates.iter().position(|e| Some(&data.products[e.product as usize].id) == self.product.as_ref());
                let numeric = [false, false, true, true, true, true, false];
                if let Some(i) = widgets::pick_table(ui, "elasticities", &header, &rows, &numeric, 460.0, selected) {
                    self.product = Some(data.products[estimates[i].product as usize].id.clone());
                }
            });
            ui.vertical(|ui| {
                let estimate = self.product.as_ref().and_then(|id| estimates.iter().find(|e| &data.products[e.product as usize].id == id));
                let Some(estimate) = estimate else {
                    ui.label("Pick a product to see its price and daily units.");
                    return;
                };
                ui.strong(format!("{}: units per day against our price", product_label(data, estimate.product)));
                let days = output.result.days.get(&estimate.product).map_or(&[][..], |d| d.as_slice());
                let points: Vec<[f64; 2]> = days.iter().map(|d| [d.price, d.units]).collect();
                let mean_units = days.iter().map(|d| d.units).sum::<f64>() / days.len().max(1) as f64;
                let log_mean_price = days.iter().map(|d| d.price.ln()).sum::<f64>() / days.len().max(1) as f64;
                let (low, high) = days.iter().fold((f64::MAX, f64::MIN), |(lo, hi), d| (lo.min(d.price), hi.max(d.price)));
                let curve_name = estimate.elasticity.filter(|_| high > low).map(|e| format!("fitted curve (elasticity {e:.2})"));
                let mut entries = vec![("days", category_colour(0))];
                entries.extend(curve_name.as_deref().map(|name| (name, category_colour(1))));
                widgets::legend_row(ui, &entries);
                // Around the prices seen (a single price would otherwise span -200..200) and from zero units.
                let (from, to) = if days.is_empty() { (0.0, 1.0) } else { (low * 0.9, high * 1.1) };
                widgets::plot(ui, ("elasticity_chart", estimate.product))
                    .height(320.0)
                    .include_x(from)
                    .include_x(to)
                    .include_y(0.0)
                    .x_axis_label("our price")
                    .y_axis_label("units per day")
                    .show(ui, |plot| {
                        plot.points(Points::new("days", PlotPoints::from(points)).radius(2.5).color(category_colour(0)));
                        if let (Some(e), true) = (estimate.elasticity, high > low) {
                            // The fitted shape through the average day: units ∝ price^e.
                            let curve: Vec<[f64; 2]> = (0..=40)
                                .map(|i| {
                                    let p = low + (high - low) * i as f64 / 40.0;
                                    [p, mean_units * (p.ln() - log_mean_price).mul_add(e, 0.0).exp()]
                                })
                                .collect();
                            plot.line(
                                Line::new(format!("elasticity {e:.2}"), PlotPoints::from(curve)).color(category_colour(1)).width(2.0),
                            );
                        }
                    });
                ui.label(RichText::new(estimate.reason.clone()).weak());
            });
        });
    }

    fn recommendations_ui(
        &mut self,
        ui: &mut egui::Ui,
        output: &ProposalsOutput,
        models: &mut PricingModels,
        path: Option<&std::path::PathBuf>,
        requests: &mut Vec<Request>,
    ) {
        let (data, proposals) = (&output.input, &output.result);
        egui::CollapsingHeader::new("Rules").default_open(true).show(ui, |ui| {
            rules_ui(ui, models, &data.competitors);
            settings_buttons(ui, models, path, |models| models.rules = Default::default());
        });
        let rules = &models.rules;
        let margin = |markup: f64| markup / (1.0 + markup) * 100.0;
        let priced = proposals.iter().filter(|r| r.recommended.is_some()).count();
        let changes: Vec<&Recommendation> = proposals.iter().filter(|r| changes_price(r)).collect();
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "{} products: {priced} priced, {} changes. Band cost × {:.2} … {:.2} (gross margin {:.1}% … {:.1}%).",
                proposals.len(),
                changes.len(),
                1.0 + rules.min_markup,
                1.0 + rules.max_markup,
                margin(rules.min_markup),
                margin(rules.max_markup)
            ))
            .on_hover_text(RULES_HELP);
            ui.checkbox(&mut self.only_changes, "only changes");
        });
        let shown: Vec<&Recommendation> = if self.only_changes { changes.clone() } else { proposals.iter().collect() };
        let id_of = |r: &Recommendation| data.products[r.product as usize].id.clone();
        ui.horizontal_wrapped(|ui| {
            if ui.button(format!("Accept all {} changes", changes.len())).clicked() {
                for r in &changes {
                    self.queue.insert(id_of(r), Pending::Accept);
                }
            }
            let pending = self.queue.len();
            // Proposals of the previous rules are not what the user sees asked for: wait.
            let current = models.proposals_current();
            let apply =
                ui.add_enabled(pending > 0 && current && !models.writing(), egui::Button::new(format!("Record {pending} decisions")));
            let hover = if current {
                "Writes the decision log; accepted prices become our prices from now."
            } else {
                "Waiting for the proposals of the rules as they are now"
            };
            if apply.on_hover_text(hover).on_disabled_hover_text(hover).clicked() {
                let decisions = self.decisions(data, proposals);
                self.queue.clear();
                models.decide(decisions, path);
            }
            if ui.add_enabled(pending > 0, egui::Button::new("Clear")).clicked() {
                self.queue.clear();
            }
            ui.separator();
            if ui
                .add_enabled(current, egui::Button::new("Export new price list (CSV)"))
                .on_hover_text("Every product at its price after the decisions in the queue")
                .clicked()
            {
                let pending = self.decisions(data, proposals);
                let table = recommend::price_list_table(data, proposals, &decided_prices(data, &pending));
                requests.push(Request::ExportTable { file_name: "price_list.csv".into(), table });
            }
            if ui
                .add_enabled(current, egui::Button::new("Export proposals (CSV)"))
                .on_hover_text("As `shoplens pricing recommend --out`")
                .clicked()
            {
                requests.push(Request::ExportTable {
                    file_name: "price_recommendations.csv".into(),
                    table: recommend::recommendation_table(data, proposals),
                });
            }
        });
        if shown.is_empty() {
            ui.label("No price changes proposed under these rules.");
            return;
        }
        egui_extras::TableBuilder::new(ui)
            .striped(true)
            .resizable(true)
            .column(egui_extras::Column::initial(230.0).clip(true))
            .columns(egui_extras::Column::initial(64.0), 4)
            .column(egui_extras::Column::initial(60.0))
            .column(egui_extras::Column::initial(90.0))
            .columns(egui_extras::Column::initial(96.0), 3)
            .column(egui_extras::Column::remainder().at_least(250.0))
            .header(22.0, |mut header| {
                for title in [
                    "product",
                    "cost",
                    "current",
                    "optimum",
                    "proposed",
                    "margin",
                    "bound by",
                    "units/day",
                    "revenue/day",
                    "profit/day",
                    "decision",
                ] {
                    header.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(24.0, shown.len(), |mut row| {
                    let r = shown[row.index()];
                    let id = id_of(r);
                    row.col(|ui| {
                        ui.label(product_label(data, r.product)).on_hover_text(r.reasons.join("\n"));
                    });
                    for value in [r.cost, r.current, r.optimum, r.recommended] {
                        row.col(|ui| {
                            ui.label(price(value));
                        });
                    }
                    row.col(|ui| {
                        ui.label(r.margin.map_or_else(|| "–".into(), |m| format!("{:.1}%", m * 100.0)));
                    });
                    row.col(|ui| {
                        ui.label(r.bound_by).on_hover_text(r.reasons.join("\n"));
                    });
                    for change in [r.units_change, r.revenue_change, r.profit_change] {
                        row.col(|ui| match change {
                            Some((low, mid, high)) => {
                                ui.label(format!("{mid:+.2}")).on_hover_text(format!("95% interval {low:+.2} … {high:+.2} per day"));
                            }
                            None => {
                                ui.label("–");
                            }
                        });
                    }
                    row.col(|ui| {
                        ui.horizontal(|ui| decision_buttons(ui, &mut self.queue, id, r));
                    });
                });
            });
    }

    /// The queue as decisions, stamped now by the user running the app.
    fn decisions(&self, data: &PricingData, proposals: &[Recommendation]) -> Vec<PriceDecision> {
        let decided_by = std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "shoplens".into());
        let decided_at = chrono::Utc::now().naive_utc().format("%Y-%m-%d %H:%M:%S").to_string();
        self.queue
            .iter()
            .filter_map(|(id, pending)| {
                let r = proposals.iter().find(|r| &data.products[r.product as usize].id == id)?;
                let (accepted, new_price, reasons) = match *pending {
                    Pending::Accept => (true, r.recommended?, r.reasons.join("; ")),
                    Pending::Reject => (false, r.recommended?, r.reasons.join("; ")),
                    Pending::Set(p) => (true, p, format!("edited from the proposal {}", price(r.recommended))),
                };
                Some(PriceDecision {
                    product_id: id.clone(),
                    old_price: r.current,
                    new_price: Some(new_price),
                    accepted,
                    reasons,
                    decided_by: decided_by.clone(),
                    decided_at: decided_at.clone(),
                })
            })
            .collect()
    }
}

/// Acknowledge / snooze an alert, or undo what was done with it.
fn review_buttons(ui: &mut egui::Ui, review: Option<&Review>, key: &SignalKey, now: i64, action: &mut Option<(SignalKey, Option<Review>)>) {
    match review {
        Some(review) => {
            ui.label(match review {
                Review::Acknowledged => "acknowledged".to_string(),
                Review::SnoozedUntil(until) => format!("snoozed to {}", crate::analytics::customers::format_day(*until)),
            });
            if ui.small_button("Undo").clicked() {
                *action = Some((key.clone(), None));
            }
        }
        None => {
            if ui.small_button("Acknowledge").clicked() {
                *action = Some((key.clone(), Some(Review::Acknowledged)));
            }
            if ui.small_button("Snooze 7 days").clicked() {
                *action = Some((key.clone(), Some(Review::SnoozedUntil(now + 7 * 86_400))));
            }
        }
    }
}

/// Accept / reject / edit a proposal, or undo that.
fn decision_buttons(ui: &mut egui::Ui, queue: &mut BTreeMap<String, Pending>, id: String, r: &Recommendation) {
    let state = queue.get(&id).copied();
    match state {
        Some(Pending::Accept) => {
            ui.colored_label(widgets::GOOD, "accept");
        }
        Some(Pending::Reject) => {
            ui.colored_label(widgets::BAD, "reject");
        }
        Some(Pending::Set(p)) => {
            let mut p = p;
            ui.label("at");
            ui.add(egui::DragValue::new(&mut p).range(0.01..=f64::MAX).speed(0.01).fixed_decimals(2));
            queue.insert(id.clone(), Pending::Set(p));
        }
        None => {}
    }
    if state.is_some() {
        if ui.small_button("Undo").clicked() {
            queue.remove(&id);
        }
        return;
    }
    if r.recommended.is_some() && ui.small_button("Accept").clicked() {
        queue.insert(id.clone(), Pending::Accept);
    }
    if r.recommended.is_some() && ui.small_button("Reject").clicked() {
        queue.insert(id.clone(), Pending::Reject);
    }
    if let Some(start) = r.recommended.or(r.current) {
        if ui.small_button("Edit").clicked() {
            queue.insert(id.clone(), Pending::Set(start));
        }
    }
}

fn changes_price(r: &Recommendation) -> bool {
    r.recommended.zip(r.current).is_some_and(|(a, b)| (a - b).abs() >= 0.005)
}

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

fn rules_ui(ui: &mut egui::Ui, models: &mut PricingModels, competitors: &[String]) {
    let rules = &mut models.rules;
    egui::Grid::new("rules").num_columns(4).spacing([16.0, 4.0]).show(ui, |ui| {
        ui.label("Markup band")
            .on_hover_text("The price stays between cost × (1 + min) and cost × (1 + max), whatever the other rules say.");
        ui.horizontal(|ui| {
            let (mut low, mut high) = (rules.min_markup * 100.0, rules.max_markup * 100.0);
            ui.add(egui::DragValue::new(&mut low).range(0.0..=high).speed(0.1).suffix(" %"));
            ui.label("to");
            ui.add(egui::DragValue::new(&mut high).range(low..=1000.0).speed(0.1).suffix(" %"));
            (rules.min_markup, rules.max_markup) = (low / 100.0, high / 100.0);
        });
        ui.label("Max change per step");
        ui.horizontal(|ui| {
            let mut limited = rules.max_change.is_some();
            ui.checkbox(&mut limited, "");
            let mut pct = rules.max_change.unwrap_or(0.10) * 100.0;
            ui.add_enabled(limited, egui::DragValue::new(&mut pct).range(0.5..=100.0).speed(0.1).suffix(" %"));
            rules.max_change = limited.then_some(pct / 100.0);
        });
        ui.end_row();
        ui.label("Position");
        ui.horizontal(|ui| {
            let (mut kind, mut value) = match rules.position {
                PositionRule::Off => (0, 0.05),
                PositionRule::Within(v) => (1, v),
                PositionRule::Beat(v) => (2, v),
                PositionRule::Match => (3, 0.05),
            };
            egui::ComboBox::from_id_salt("position_rule").selected_text(["off", "within", "beat by", "match"][kind]).show_ui(ui, |ui| {
                for (i, name) in ["off", "within", "beat by", "match"].into_iter().enumerate() {
                    ui.selectable_value(&mut kind, i, name);
                }
            });
            if kind == 1 || kind == 2 {
                let mut pct = value * 100.0;
                ui.add(egui::DragValue::new(&mut pct).range(0.1..=50.0).speed(0.1).suffix(" %"));
                value = pct / 100.0;
            }
            rules.position = match kind {
                1 => PositionRule::Within(value),
                2 => PositionRule::Beat(value),
                3 => PositionRule::Match,
                _ => PositionRule::Off,
            };
        });
        ui.label("of");
        let anchor_text = match &rules.anchor {
            Anchor::Cheapest => "the cheapest".to_string(),
            Anchor::Average => "the average".to_string(),
            Anchor::Competitor(name) => name.clone(),
        };
        egui::ComboBox::from_id_salt("position_anchor").selected_text(anchor_text).show_ui(ui, |ui| {
            ui.selectable_value(&mut rules.anchor, Anchor::Cheapest, "the cheapest");
            ui.selectable_value(&mut rules.anchor, Anchor::Average, "the average");
            for name in competitors {
                ui.selectable_value(&mut rules.anchor, Anchor::Competitor(name.clone()), name);
            }
        });
        ui.end_row();
        ui.label("Price endings");
        ui.checkbox(&mut rules.ending_99, ".99");
        ui.end_row();
    });
}

fn decisions_ui(ui: &mut egui::Ui, data: &PricingData, decisions: &[PriceDecision], requests: &mut Vec<Request>) {
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
    }
    widgets::text_table(ui, "price_decisions", &header, &rows, &[false, true, true, false, false, false, false], 600.0);
}

/// Our price and every competitor's over time as step lines, stock-outs marked.
fn price_history_chart(ui: &mut egui::Ui, data: &PricingData, product: u32, monitor: &pricing::Monitor) {
    let end = monitor.as_of as f64 / DAY;
    ui.strong(format!("{}: prices over time", product_label(data, product)));
    if let Some(position) = monitor.positions.iter().find(|p| p.product == product) {
        ui.label(format!(
            "ours {} · cheapest {} · index {} · rank {}",
            price(position.ours),
            position.cheapest.map_or_else(|| "–".into(), |(c, p)| format!("{} at {p:.2}", data.competitors[c as usize])),
            position.index.map_or_else(|| "–".into(), |i| format!("{i:.1}")),
            position.rank.map_or_else(|| "–".into(), |r| format!("{r} of {}", position.sellers)),
        ));
    }
    // The chart spans the data; a price decided after it (a decision taken today on last
    // year's export) is a labelled marker at the right edge, not a line running into the future.
    let history = data.our_history(product).iter().map(|o| (o.time as f64 / DAY, o.price));
    let (ours, later): (Vec<_>, Vec<_>) = history.partition(|&(day, _)| day <= end);
    let observations = data.observations_of(product);
    let start = observations.first().map(|o| o.time as f64 / DAY);
    // A catalogue price without a history holds over the whole chart.
    let ours = if ours.is_empty() {
        data.products[product as usize].price.zip(start).map(|(p, s)| vec![(s, p)]).unwrap_or_default()
    } else {
        ours
    };
    let mut lines: Vec<(String, Vec<[f64; 2]>, Color32)> = vec![("our price".into(), steps(&ours, end), Color32::from_rgb(30, 30, 30))];
    let (mut stock_outs, mut promotions) = (Vec::new(), Vec::new());
    for (competitor, name) in data.competitors.iter().enumerate() {
        let series: Vec<&pricing::Observation> = observations.iter().filter(|o| o.competitor == competitor as u32).collect();
        if series.is_empty() {
            continue;
        }
        let points: Vec<(f64, f64)> = series.iter().map(|o| (o.time as f64 / DAY, o.price)).collect();
        lines.push((name.clone(), steps(&points, end), category_colour(competitor)));
        stock_outs.extend(series.iter().filter(|o| o.in_stock == Some(false)).map(|o| [o.time as f64 / DAY, o.price]));
        promotions.extend(series.iter().filter(|o| o.was.is_some()).map(|o| [o.time as f64 / DAY, o.price]));
    }
    let decided_after = later.last().map(|&(day, new_price)| {
        let decided = crate::analytics::customers::date_of_day(day.floor() as i64);
        (format!("decided after the data: {} on {}", price(Some(new_price)), widgets::day(decided)), new_price)
    });
    let mut entries: Vec<(&str, Color32)> = lines.iter().map(|(name, _, colour)| (name.as_str(), *colour)).collect();
    if !stock_outs.is_empty() {
        entries.push(("out of stock", widgets::BAD));
    }
    if !promotions.is_empty() {
        entries.push(("on promotion (a struck-through price shown)", PROMOTION));
    }
    if let Some((name, _)) = &decided_after {
        entries.push((name.as_str(), DECIDED_AFTER));
    }
    widgets::legend_row(ui, &entries);
    widgets::plot(ui, ("price_history", product)).height(330.0).x_axis_formatter(|mark, _| date_axis(mark)).y_axis_label("price").show(
        ui,
        |plot| {
            for (name, points, colour) in lines {
                let width = if name == "our price" { 2.5 } else { 1.5 };
                // egui_plot merges points that share a pixel column into a filled band, which
                // turns a step line's vertical edges into solid areas: keep it a line.
                plot.line(Line::new(name, PlotPoints::from(points)).color(colour).width(width).allow_band(false));
            }
            if !stock_outs.is_empty() {
                plot.points(
                    Points::new("out of stock", PlotPoints::from(stock_outs)).shape(MarkerShape::Cross).radius(5.0).color(widgets::BAD),
                );
            }
            if !promotions.is_empty() {
                plot.points(
                    Points::new("on promotion (a struck-through price shown)", PlotPoints::from(promotions))
                        .shape(MarkerShape::Diamond)
                        .radius(3.5)
                        .color(PROMOTION),
                );
            }
            if let Some((name, new_price)) = decided_after {
                plot.points(
                    Points::new(name, PlotPoints::from(vec![[end, new_price]])).shape(MarkerShape::Right).radius(7.0).color(DECIDED_AFTER),
                );
            }
        },
    );
}

/// Observations on promotion, and a price decided after the data ends, in the price history.
const PROMOTION: Color32 = Color32::from_rgb(230, 150, 30);
const DECIDED_AFTER: Color32 = Color32::from_rgb(30, 30, 30);

/// Competitor price moves per day (the last 120 days): up, down, unchanged, stacked.
fn moves_chart(ui: &mut egui::Ui, monitor: &pricing::Monitor) {
    let days = &monitor.moves[monitor.moves.len().saturating_sub(120)..];
    let bars = |value: fn(&pricing::DayMoves) -> u64| -> Vec<Bar> {
        days.iter().map(|d| Bar::new(d.day as f64, value(d) as f64).width(0.8)).collect()
    };
    let down = BarChart::new("down", bars(|d| d.down)).color(widgets::BAD);
    let up = BarChart::new("up", bars(|d| d.up)).color(widgets::GOOD).stack_on(&[&down]);
    let unchanged = BarChart::new("unchanged", bars(|d| d.unchanged)).color(Color32::from_gray(170)).stack_on(&[&down, &up]);
    widgets::legend_row(ui, &[("down", widgets::BAD), ("up", widgets::GOOD), ("unchanged", Color32::from_gray(170))]);
    widgets::plot(ui, "price_moves").height(180.0).x_axis_formatter(|mark, _| date_axis(mark)).y_axis_label("observations").show(
        ui,
        |plot| {
            plot.bar_chart(down);
            plot.bar_chart(up);
            plot.bar_chart(unchanged);
        },
    );
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

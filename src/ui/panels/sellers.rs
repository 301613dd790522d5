//! The Sellers panel (Buy2Sell): which buyers and collectors to invite to sell, ranked by
//! P(becomes an active seller) × how much of their collection is in short supply; the
//! categories' supply and demand; the model's report; and the business overview. Results come
//! from [`MarketplaceModels`].

use eframe::egui::{self, Color32, RichText};
use egui_plot::{Bar, BarChart, Line, PlotPoints, Points};

use super::marketplace_models::{MarketplaceModels, SellersOutput};
use super::{panel_names, Panel, PanelContext, PanelName, Request};
use crate::analytics::marketplace::sellers::{self, FEATURES};
use crate::analytics::marketplace::MarketplaceData;
use crate::analytics::order_frame::month_start;
use crate::ui::models::PanelModels;
use crate::ui::widgets::{self, category_colour};

const MODEL_HELP: &str = "How P(sell) is estimated\n\
• Active seller: at least N sales in the 12 months up to the last date in the data.\n\
• Features: purchases (count, recency, spend), collection size and focus, likes, offers, views, carts, account age — never the user's own listings or sales.\n\
• A logistic regression and a random forest are compared by 5-fold cross-validated AUC; the better is used.\n\
• Non-sellers are undersampled inside each training fold; the out-of-fold scores are then calibrated (Platt), so P(sell) is a probability.\n\
• Every user's P(sell) comes from a model that did not see them.";

const SCORE_HELP: &str = "Score = P(sell) × match. Match = the share of the user's collection in the selected short categories, \
each weighted by how short it is (its shortage ratio over the shortest selected one).";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Candidates,
    Shortage,
    Model,
    Overview,
}

const TABS: [(Tab, &str); 4] = [
    (Tab::Candidates, panel_names::tab::CANDIDATES),
    (Tab::Shortage, panel_names::tab::SHORT_CATEGORIES),
    (Tab::Model, "Model report"),
    (Tab::Overview, "Overview"),
];

pub struct SellersPanel {
    tab: Tab,
    /// Show only candidates owning this category (by name: codes differ between copies).
    category: Option<String>,
    /// The analysis date being typed (YYYY-MM-DD; empty: the data's last date).
    date_text: String,
}

impl Default for SellersPanel {
    fn default() -> Self {
        Self { tab: Tab::Candidates, category: None, date_text: String::new() }
    }
}

impl Panel for SellersPanel {
    fn name(&self) -> PanelName {
        panel_names::SELLERS
    }

    fn hint(&self) -> &'static str {
        "Buyers and collectors to invite to sell: P(active seller) × short-supply collection"
    }

    fn reset(&mut self) {
        *self = Self::default();
    }

    fn view_state(&self, models: &crate::ui::models::Models) -> super::ViewState {
        let mut state = super::ViewState::default();
        state.set("tab", super::tab_name(&TABS, self.tab));
        state.set("category", &self.category);
        state.set("date", &self.date_text);
        // The family's settings, or the ones it would start with.
        let settings = models.find::<MarketplaceModels>().map(|m| m.seller_settings.clone()).unwrap_or_default();
        state.set("active_min", settings.active_min);
        state.set("short_categories", &settings.short_categories);
        state
    }

    fn restore_view(&mut self, state: &super::ViewState, models: &mut crate::ui::models::Models) {
        if let Some(tab) = state.get::<String>("tab").and_then(|t| super::tab_named(&TABS, &t)) {
            self.tab = tab;
        }
        state.restore("category", &mut self.category);
        state.restore("date", &mut self.date_text);
        let settings = &mut models.get::<MarketplaceModels>().seller_settings;
        state.restore("active_min", &mut settings.active_min);
        state.restore("short_categories", &mut settings.short_categories);
        settings.as_of = crate::timestamp::parse_date(self.date_text.trim())
            .ok()
            .and_then(|d| d.and_hms_opt(23, 59, 59))
            .map(|t| t.and_utc().timestamp());
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
        let models = cx.models.get::<MarketplaceModels>();
        let mut requests: Vec<Request> = models.ensure_loaded(cx.data).map(Request::Track).into_iter().collect();
        ui.horizontal(|ui| {
            for (tab, name) in TABS {
                ui.selectable_value(&mut self.tab, tab, RichText::new(name).size(15.0));
            }
        });
        ui.separator();
        match models.data.as_ref().map(|d| d.data.is_empty()) {
            None => widgets::waiting(ui, "Loading the marketplace…"),
            Some(true) => {
                ui.label(
                    "This workspace has no marketplace data yet. Import users (user_id, signup_at, country), collection items \
                     (user_id, item_id, category, brand, added_at), listings (listing_id, seller_id, category, brand, price, listed_at, \
                     sold_at), marketplace orders (order_id, listing_id, buyer_id, seller_id, amount, ordered_at) and interactions \
                     (user_id, listing_id, kind, at).",
                );
            }
            Some(false) => {
                self.controls(ui, models);
                requests.extend(models.request_sellers().map(Request::Track));
                if models.busy() {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(if models.loading() { "reloading…" } else { "fitting the models…" });
                    });
                }
                if let Some(error) = models.sellers_error() {
                    ui.colored_label(widgets::BAD, error);
                }
                match models.sellers.get().cloned() {
                    Some(output) => match self.tab {
                        Tab::Candidates => self.candidates_ui(ui, &output, &mut requests),
                        Tab::Shortage => shortage_ui(ui, &output, models, &mut requests),
                        Tab::Model => model_ui(ui, &output),
                        Tab::Overview => overview_ui(ui, &output),
                    },
                    None if models.sellers_error().is_none() => widgets::waiting(ui, "Fitting the seller models…"),
                    None => {}
                }
            }
        }
        for request in requests {
            cx.request(request);
        }
    }
}

impl SellersPanel {
    fn controls(&mut self, ui: &mut egui::Ui, models: &mut MarketplaceModels) {
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Active seller: at least");
            ui.add(egui::DragValue::new(&mut models.seller_settings.active_min).range(1..=100).suffix(" sales")).labelled_by(label.id);
            ui.label("in the 12 months up to");
            let date = ui.add(egui::TextEdit::singleline(&mut self.date_text).desired_width(90.0).hint_text("last date"));
            if date.lost_focus() || date.changed() {
                let parsed = crate::timestamp::parse_date(self.date_text.trim()).ok();
                models.seller_settings.as_of = parsed.and_then(|d| d.and_hms_opt(23, 59, 59)).map(|t| t.and_utc().timestamp());
            }
            if !self.date_text.trim().is_empty() && crate::timestamp::parse_date(self.date_text.trim()).is_err() {
                ui.colored_label(widgets::BAD, "not a date (YYYY-MM-DD)");
            }
            ui.label(RichText::new("How it works").underline()).on_hover_text(MODEL_HELP);
        });
    }

    fn candidates_ui(&mut self, ui: &mut egui::Ui, output: &SellersOutput, requests: &mut Vec<Request>) {
        let (data, result) = (&output.input, &output.result);
        let r = &result.report;
        let auc = |a: Option<f64>| a.map_or_else(|| "–".into(), |a| format!("{a:.2}"));
        ui.label(format!(
            "As of {}: {} active sellers (≥{} sales in 12 months) among {} users. Model: {} (cross-validated AUC {}; logistic regression {}, random forest {}).",
            &crate::analytics::customers::format_day(result.as_of),
            widgets::number(result.active_sellers as f64, 0),
            result.active_min,
            widgets::number(r.users as f64, 0),
            r.chosen.name(),
            auc(if r.chosen == sellers::ModelKind::Forest { r.auc_forest } else { r.auc_logistic }),
            auc(r.auc_logistic),
            auc(r.auc_forest),
        ));
        for warning in &r.warnings {
            ui.colored_label(widgets::BAD, warning);
        }
        let selected: Vec<&str> =
            result.shortages.iter().filter(|s| s.selected).map(|s| data.categories[s.category as usize].as_str()).collect();
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("Matched against the short categories: {}.", selected.join(", "))).on_hover_text(SCORE_HELP);
            ui.separator();
            let label = ui.label("Owning");
            egui::ComboBox::from_id_salt("candidate_category")
                .selected_text(self.category.clone().unwrap_or_else(|| "any category".into()))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.category, None, "any category");
                    for name in &data.categories {
                        ui.selectable_value(&mut self.category, Some(name.clone()), name);
                    }
                })
                .response
                .labelled_by(label.id);
            if ui
                .button("Campaign CSV")
                .on_hover_text("user, country, score, P(sell), match, top categories owned (every candidate)")
                .clicked()
            {
                requests.push(Request::ExportTable {
                    file_name: "seller_candidates.csv".into(),
                    table: sellers::candidates_table(data, result, None),
                });
            }
        });
        let category = self.category.as_ref().and_then(|name| data.categories.iter().position(|c| c == name)).map(|c| c as u32);
        let owners = category.map(|c| owners_of(data, c));
        let shown: Vec<&sellers::Candidate> =
            result.candidates.iter().filter(|c| owners.as_ref().is_none_or(|o| o[c.user as usize])).take(2_000).collect();
        let header =
            ["user", "country", "score", "P(sell)", "match", "purchases", "collection", "short categories owned", "why P(sell) is high"]
                .map(String::from);
        let rows: Vec<Vec<String>> = shown
            .iter()
            .map(|c| {
                let user = &data.users[c.user as usize];
                vec![
                    user.id.clone(),
                    user.country.clone(),
                    format!("{:.3}", c.score),
                    format!("{:.1}%", c.p_sell * 100.0),
                    format!("{:.2}", c.matched),
                    c.purchases.to_string(),
                    c.collection.to_string(),
                    c.short_items.iter().map(|&(cat, n)| format!("{} {n}", data.categories[cat as usize])).collect::<Vec<_>>().join(", "),
                    sellers::reasons_text(c),
                ]
            })
            .collect();
        ui.label(RichText::new(format!("Best {} of {} candidates", rows.len(), widgets::number(result.candidates.len() as f64, 0))).weak());
        let numeric = [false, false, true, true, true, true, true, false, false];
        widgets::text_table(ui, "seller_candidates", &header, &rows, &numeric, ui.available_height() - 10.0);
    }
}

/// Whether each user owns an item of `category`.
fn owners_of(data: &MarketplaceData, category: u32) -> Vec<bool> {
    let mut owns = vec![false; data.users.len()];
    for item in data.items.iter().filter(|i| i.category == Some(category)) {
        owns[item.user as usize] = true;
    }
    owns
}

fn shortage_ui(ui: &mut egui::Ui, output: &SellersOutput, models: &mut MarketplaceModels, requests: &mut Vec<Request>) {
    let (data, result) = (&output.input, &output.result);
    ui.horizontal_wrapped(|ui| {
        ui.label("Demand = views, likes and orders on a category's listings over the last 90 days; supply = listings active on the last date. Tick the categories to match collections against.");
        if ui.small_button("CSV").clicked() {
            requests.push(Request::ExportTable { file_name: "short_categories.csv".into(), table: sellers::categories_table(data, &result.shortages) });
        }
        let by_hand = models.seller_settings.short_categories.is_some();
        if ui.add_enabled(by_hand, egui::Button::new("Use the three shortest")).clicked() {
            models.seller_settings.short_categories = None;
        }
    });
    let mut chosen: Vec<String> =
        result.shortages.iter().filter(|s| s.selected).map(|s| data.categories[s.category as usize].clone()).collect();
    let mut changed = false;
    let width = ui.available_width();
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width((width * 0.55).max(420.0));
            egui::Grid::new("shortages").striped(true).show(ui, |ui| {
                for h in ["", "category", "demand", "active listings", "new / month", "demand per listing"] {
                    ui.strong(h);
                }
                ui.end_row();
                for s in &result.shortages {
                    let name = &data.categories[s.category as usize];
                    let mut ticked = s.selected;
                    if ui.checkbox(&mut ticked, "").on_hover_text(format!("Match collections against {name}")).changed() {
                        changed = true;
                        if ticked {
                            chosen.push(name.clone());
                        } else {
                            chosen.retain(|c| c != name);
                        }
                    }
                    ui.label(name);
                    ui.label(widgets::number(s.demand as f64, 0));
                    ui.label(widgets::number(s.supply as f64, 0));
                    ui.label(format!("{:.1}", s.new_per_month));
                    ui.label(RichText::new(format!("{:.2}", s.shortage_ratio)).strong());
                    ui.end_row();
                }
            });
        });
        ui.vertical(|ui| {
            ui.strong("Demand per listing, last 7 full months (selected categories)");
            let trends: Vec<(String, Vec<f64>)> = result
                .shortages
                .iter()
                .filter(|s| s.selected)
                .map(|s| (data.categories[s.category as usize].clone(), s.trend.clone()))
                .collect();
            crate::ui::chart_view::show(ui, &crate::present::charts::shortage_trend(&trends), result.as_of, 260.0);
            ui.label(RichText::new("0 = the last full month; −6 = seven months back").weak());
        });
    });
    if changed {
        models.seller_settings.short_categories = Some(chosen);
    }
}

fn model_ui(ui: &mut egui::Ui, output: &SellersOutput) {
    let r = &output.result.report;
    let auc = |a: Option<f64>| a.map_or_else(|| "–".into(), |a| format!("{a:.3}"));
    egui::ScrollArea::vertical().id_salt("model_report").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "{} users, {} active sellers. Cross-validated AUC: logistic regression {}, random forest {} — using the {}.",
                widgets::number(r.users as f64, 0),
                widgets::number(r.positives as f64, 0),
                auc(r.auc_logistic),
                auc(r.auc_forest),
                r.chosen.name()
            ))
            .on_hover_text(MODEL_HELP);
        });
        for warning in &r.warnings {
            ui.colored_label(widgets::BAD, warning);
        }
        ui.columns(r.precision_at.len().max(1), |cols| {
            for (col, (k, p)) in cols.iter_mut().zip(&r.precision_at) {
                widgets::stat_card(
                    col,
                    &format!("Precision at {k}"),
                    &format!("{:.0}%", p * 100.0),
                    "Of the k users with the highest P(sell), the share who are active sellers.",
                );
            }
        });
        let size = egui::vec2((ui.available_width() / 3.0 - 12.0).max(220.0), 260.0);
        let calibration: Vec<(f64, f64)> = r.calibration.iter().filter(|b| b.count > 0).map(|b| (b.mean_predicted, b.observed)).collect();
        ui.horizontal_top(|ui| {
            curve(
                ui,
                size,
                Curve { title: "ROC curve", axes: ("false positive rate", "true positive rate"), diagonal: true, points: &r.roc },
            );
            curve(ui, size, Curve { title: "Precision–recall", axes: ("recall", "precision"), diagonal: false, points: &r.pr });
            curve(
                ui,
                size,
                Curve {
                    title: "Calibration: predicted vs observed",
                    axes: ("predicted P(sell)", "share active"),
                    diagonal: true,
                    points: &calibration,
                },
            );
        });
        ui.add_space(8.0);
        ui.strong(
            "Feature weights (logistic regression, standardised features: a weight is the change in log-odds per standard deviation)",
        );
        let bars: Vec<Bar> = r.weights.iter().enumerate().map(|(j, w)| Bar::new(j as f64, *w).width(0.7).name(FEATURES[j].name)).collect();
        widgets::plot(ui, "weights")
            .height(200.0)
            .allow_drag(false)
            .x_axis_formatter(|mark, _| {
                let i = mark.value.round();
                if (mark.value - i).abs() < 0.01 && i >= 0.0 {
                    FEATURES.get(i as usize).map(|f| f.name.to_string()).unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .show(ui, |plot| plot.bar_chart(BarChart::new("weight", bars)));
        if !r.importances.is_empty() {
            ui.strong("Random forest importances (mean impurity decrease)");
            let rows: Vec<Vec<String>> =
                r.importances.iter().enumerate().map(|(j, v)| vec![FEATURES[j].name.to_string(), format!("{v:.3}")]).collect();
            widgets::text_table(ui, "importances", &["feature".into(), "importance".into()], &rows, &[false, true], 240.0);
        }
    });
}

/// One of the model report's curves.
struct Curve<'a> {
    title: &'static str,
    axes: (&'static str, &'static str),
    /// Draw the y = x line (chance for ROC, perfect calibration).
    diagonal: bool,
    points: &'a [(f64, f64)],
}

fn curve(ui: &mut egui::Ui, size: egui::Vec2, c: Curve<'_>) {
    ui.vertical(|ui| {
        ui.set_width(size.x);
        ui.strong(c.title);
        widgets::plot(ui, c.title).width(size.x).height(size.y).x_axis_label(c.axes.0).y_axis_label(c.axes.1).show(ui, |plot| {
            if c.diagonal {
                plot.line(Line::new("y = x", PlotPoints::from(vec![[0.0, 0.0], [1.0, 1.0]])).color(Color32::GRAY));
            }
            let points: Vec<[f64; 2]> = c.points.iter().map(|&(x, y)| [x, y]).collect();
            plot.line(Line::new("model", PlotPoints::from(points.clone())).width(2.0));
            if points.len() <= 12 {
                plot.points(Points::new("points", PlotPoints::from(points)).radius(4.0));
            }
        });
    });
}

fn overview_ui(ui: &mut egui::Ui, output: &SellersOutput) {
    let months = &output.result.months;
    ui.label("New users, new sellers (first sale), orders, collection adds and likes per month.");
    if months.last().is_some_and(|m| m.partial) {
        ui.label(
            RichText::new("The last month is partial (the data ends before it does): its counts are pale points, not the lines' fall.")
                .weak(),
        );
    }
    type Count = fn(&sellers::MonthActivity) -> u64;
    let series: [(&str, Count); 5] = [
        ("new users", |m| m.new_users),
        ("new sellers", |m| m.new_sellers),
        ("orders", |m| m.orders),
        ("collection adds", |m| m.collection_adds),
        ("likes", |m| m.likes),
    ];
    let entries: Vec<(&str, egui::Color32)> = series.iter().enumerate().map(|(i, s)| (s.0, category_colour(i))).collect();
    widgets::legend_row(ui, &entries);
    widgets::plot(ui, "marketplace_months")
        .height(ui.available_height() - 20.0)
        .x_axis_formatter(|mark, _| month_start(mark.value.round() as i32).format("%b %y").to_string())
        .show(ui, |plot| {
            for (i, (name, value)) in series.into_iter().enumerate() {
                // A last month the data covers in part is a pale point, not the line's fall.
                let points: Vec<[f64; 2]> = months.iter().filter(|m| !m.partial).map(|m| [m.month as f64, value(m) as f64]).collect();
                plot.line(Line::new(name, PlotPoints::from(points)).color(category_colour(i)).width(2.0));
                let partial: Vec<[f64; 2]> = months.iter().filter(|m| m.partial).map(|m| [m.month as f64, value(m) as f64]).collect();
                if !partial.is_empty() {
                    let pale = category_colour(i).gamma_multiply(0.45);
                    // Unnamed: egui_plot keeps it out of the legend (the note above the chart says it).
                    plot.points(Points::new("", PlotPoints::from(partial)).radius(4.0).color(pale));
                }
            }
        });
}

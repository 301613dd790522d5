//! The Findings panel and its models: what changed between the chosen period and the one before
//! it, ranked, each finding with its size, the evidence that it is not noise, a small chart and
//! "Save to story". Without chosen dates it looks at the last full month, as `shoplens findings`.

use std::path::PathBuf;

use eframe::egui::{self, RichText};

use super::event_models::EventModels;
use super::{panel_names, Panel, PanelContext, PanelName, Request, ViewState};
use crate::analytics::event_frame::EventFrame;
use crate::analytics::findings::{self, Finding, FindingKey, FindingKind, FindingsResult, FindingsSettings, Headline};
use crate::analytics::order_frame::OrderFrame;
use crate::analytics::Filters;
use crate::jobs::{Job, JobMonitor};
use crate::ui::chart_view;
use crate::ui::models::{CopyFigures, CopyResults, Models, Versioned};
use crate::ui::widgets::{self, kpi_card};
use crate::workspace;

/// The findings, per copy of the order lines and days.
pub type FindingsModels = CopyResults<FindingsResult>;

impl CopyFigures for FindingsResult {
    const FAILED: &'static str = "Findings failed";
    // Market moves read the catalogue and the prices as the job starts.
    const READS_TABLES: &'static [&'static str] =
        &["products", "our_prices", "competitor_prices", "named_prices", "listings", "interactions", "marketplace_orders"];
}

impl CopyResults<FindingsResult> {
    /// Makes sure the findings of `filters` on `orders` are known or on their way. The job reads
    /// the workspace's segment map, so segment moves use the names the Segments panel shows.
    pub fn request(
        &mut self,
        orders: &Versioned<OrderFrame>,
        events: Option<&Versioned<EventFrame>>,
        filters: &Filters,
        workspace: Option<PathBuf>,
    ) -> Option<JobMonitor> {
        let (frame, job_filters) = (orders.data.clone(), filters.clone());
        let events_frame = events.map(|e| e.data.clone());
        self.request_with((orders.id, events.map(|e| e.id)), filters, move || {
            Job::spawn("find what changed", move |ctx| {
                // The segment map, prices and marketplace are read here; the events copy is the
                // one the Funnel panel shows (read once, kept in memory).
                let Some(path) = workspace else {
                    return Ok(findings::compute(&frame, &job_filters, &FindingsSettings::default(), ctx)?);
                };
                let inputs = workspace::copies::load_findings_inputs(&workspace::open_read_only(&path)?, events_frame, ctx)?;
                Ok(findings::compute_with(&frame, inputs.sources(), &job_filters, &inputs.settings(), ctx)?)
            })
        })
    }
}

#[derive(Default)]
pub struct FindingsPanel {
    /// The finding saved to a story last, or restored from a view: drawn marked.
    chosen: Option<FindingKey>,
}

impl Panel for FindingsPanel {
    fn name(&self) -> PanelName {
        panel_names::FINDINGS
    }

    fn hint(&self) -> &'static str {
        "What changed against the period before, why, and how sure"
    }

    fn reset(&mut self) {
        self.chosen = None;
    }

    fn view_state(&self, _: &Models) -> ViewState {
        let mut state = ViewState::default();
        if let Some(chosen) = &self.chosen {
            state.set("finding", chosen);
        }
        state
    }

    fn restore_view(&mut self, state: &ViewState, _: &mut Models) {
        let mut chosen: Option<FindingKey> = None;
        state.restore("finding", &mut chosen);
        self.chosen = chosen;
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
        let Some(orders) = cx.data.orders.clone() else {
            widgets::waiting(ui, cx.data.orders_waiting_text());
            return;
        };
        let filters = findings::period_filters(cx.filters, orders.data.date_span());
        // The funnel's changes need the events copy: the findings of the order lines show at
        // once, and again with the funnel's when the copy has loaded.
        let event_models = cx.models.get::<EventModels>();
        let events_started = event_models.ensure_loaded(cx.data);
        let (events, events_loading) = (event_models.frame.clone(), event_models.loading());
        cx.track(events_started);
        let workspace = cx.data.path.clone();
        let models = cx.models.get::<FindingsModels>();
        let started = models.request(&orders, events.as_ref(), &filters, workspace);
        let shown = models.shown((orders.id, events.as_ref().map(|e| e.id)), &filters);
        cx.track(started);
        let Some((result, current)) = shown else {
            widgets::waiting(ui, "Looking for what changed…");
            return;
        };
        if events_loading {
            ui.label(RichText::new("Reading the web events: the funnel's changes follow.").weak());
        }
        if cx.filters.from.is_none() && cx.filters.to.is_none() {
            ui.label(RichText::new("No dates chosen: the last full month of the data, against the month before.").weak());
        }
        let mut save = None;
        egui::ScrollArea::vertical().show(ui, |ui| {
            if !current {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("updating…");
                });
            }
            save = self.draw(ui, &result);
        });
        if let Some(finding) = save {
            self.chosen = Some(FindingKey::of(&finding));
            cx.request(Request::SaveView { title: finding.text.clone() });
        }
    }
}

impl FindingsPanel {
    /// Draws the result; the finding whose "Save to story" was clicked.
    fn draw(&self, ui: &mut egui::Ui, result: &FindingsResult) -> Option<Finding> {
        let Some((from, to)) = result.period else {
            ui.label("No order lines in the chosen days.");
            return None;
        };
        let compared = match result.previous_period {
            Some((a, b)) => format!("compared with {} to {}", widgets::day(a), widgets::day(b)),
            None => "no period before it in the data".to_string(),
        };
        ui.label(RichText::new(format!("{} to {}, {compared}", widgets::day(from), widgets::day(to))).weak());
        let currency = result.currency.as_deref();
        headline_cards(ui, &result.current, result.previous.as_ref(), currency);
        ui.add_space(6.0);
        ui.label(format!(
            "{} tested, {} passed: a change that could be chance (false discovery rate 5%) is not shown.",
            widgets::count_of(result.tested as u64, "finding", "findings"),
            widgets::number(result.passed as f64, 0)
        ));
        if result.findings.is_empty() {
            ui.add_space(8.0);
            ui.label(RichText::new("Nothing changed beyond what chance explains.").strong());
        }
        let mut save = None;
        for (rank, finding) in result.findings.iter().enumerate() {
            let chosen = self.chosen.as_ref() == Some(&FindingKey::of(finding));
            let stroke = if chosen { ui.visuals().selection.stroke } else { ui.visuals().widgets.noninteractive.bg_stroke };
            egui::Frame::group(ui.style()).stroke(stroke).show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.horizontal(|ui| {
                    let chart_width = 260.0_f32.min(ui.available_width() * 0.35);
                    ui.vertical(|ui| {
                        ui.set_width(ui.available_width() - chart_width - 12.0);
                        ui.horizontal(|ui| {
                            ui.label(RichText::new(format!("{}.", rank + 1)).weak());
                            ui.label(RichText::new(kind_words(finding.kind)).strong());
                        });
                        ui.add(egui::Label::new(RichText::new(&finding.text).size(15.0)).wrap());
                        ui.add(egui::Label::new(RichText::new(&finding.evidence.text).weak()).wrap());
                        if ui
                            .button("Save to story")
                            .on_hover_text("Save this finding as a view of the story, for the report and presenting")
                            .clicked()
                        {
                            save = Some(finding.clone());
                        }
                    });
                    ui.vertical(|ui| {
                        ui.set_width(chart_width);
                        let chart = crate::present::charts::finding(finding, currency);
                        chart_view::show(ui, &chart, ("finding", rank, &finding.subject, finding.metric.label()), 110.0);
                    });
                });
            });
        }
        for note in &result.notes {
            ui.label(RichText::new(format!("Not looked at: {note}.")).weak().small());
        }
        save
    }
}

fn headline_cards(ui: &mut egui::Ui, current: &Headline, previous: Option<&Headline>, currency: Option<&str>) {
    use crate::present::charts::{AOV_DEF, CUSTOMERS_DEF, ORDERS_DEF, REVENUE_DEF};
    // The Overview's definitions: the figures are the same.
    const DEFINITIONS: [&str; 4] = [REVENUE_DEF, ORDERS_DEF, CUSTOMERS_DEF, AOV_DEF];
    ui.columns(4, |columns| {
        for ((column, figure), definition) in columns.iter_mut().zip(current.figures(previous)).zip(DEFINITIONS) {
            let value = if figure.is_money { widgets::money_in(figure.value, currency) } else { widgets::number(figure.value, 0) };
            kpi_card(column, figure.label, &value, figure.change_pct, true, definition);
        }
    });
}

/// The kind as a marketer reads it.
pub fn kind_words(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::Driver => "Driver",
        FindingKind::Detractor => "Against the trend",
        FindingKind::Concentration => "Concentration",
        FindingKind::UnexpectedDay => "Unexpected day",
        FindingKind::TrendChange => "Trend",
        FindingKind::SegmentMove => "Customers on the move",
        FindingKind::FunnelChange => "Funnel",
        FindingKind::MarketMove => "Market",
        FindingKind::SupplyChange => "Supply",
    }
}

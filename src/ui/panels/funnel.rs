//! The Funnel panel: conversion funnel with breakdowns, abandoned carts and the retargeting
//! list, demand forecast, and live mode. Results come from [`EventModels`].

use std::sync::Arc;

use eframe::egui::{self, RichText};
use egui_plot::{Bar, BarChart, Line, PlotPoints};

use super::event_models::{CartOutput, EventModels, ForecastOutput};
use super::warehouse::{ChosenTable, WarehouseModels};
use super::{panel_names, Panel, PanelContext, PanelName, Request};
use crate::analytics::carts;
use crate::analytics::customers::format_time;
use crate::analytics::event_frame::{EventFrame, EventKind};
use crate::analytics::forecast::{self, ProductNames};
use crate::analytics::funnel::{self, CountBy, Dimension, FunnelResult, Window, CONVERT_BINS};
use crate::ui::models::PanelModels;
use crate::ui::widgets::{self, category_colour};

const FUNNEL_HELP: &str = "How the funnel counts\n\
• Unit: a session (default) or a user. Events outside the date filter are ignored.\n\
• Strict order: step 1 is the first step-1 event; each next step is the first such event at or after the previous step.\n\
• Any order: step k counts when steps 1..k all happen, in any order.\n\
• Window: within the session, or N hours from the first step-1 event.\n\
• Breakdowns run the funnel per unit and value (a session that viewed two brands enters once per brand).";

const CART_HELP: &str = "How abandonment is counted\n\
• A session ends N minutes after its last event. Its cart = cart events minus remove_from_cart events, per product.\n\
• Abandoned: the session has ended, items are left, and nothing was bought in it. Sessions still open are not counted yet.\n\
• Rate = abandoned carts / ended sessions with a cart. By category and brand: per session and category (or brand).\n\
• Contact by = the end of the session + 3 minutes. Bought later = the user bought in a later session.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Funnel,
    Carts,
    Forecast,
    Live,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortBy {
    Entered,
    Conversion,
    Name,
}

const TABS: [(Tab, &str); 4] = [
    (Tab::Funnel, panel_names::tab::FUNNEL),
    (Tab::Carts, "Abandoned carts"),
    (Tab::Forecast, "Demand forecast"),
    (Tab::Live, "Live mode"),
];

pub struct FunnelPanel {
    tab: Tab,
    weekly: bool,
    sort: SortBy,
    window_hours: u32,
    /// The product whose history is shown, by id: codes differ between copies of the events.
    selected_product: Option<i64>,
    /// The retargeting list as drawn, built once per cart result and names (a list can run to
    /// 100,000 carts: formatting it every frame would stall the window).
    retargeting: Option<Retargeting>,
}

/// The retargeting list's text (for the export, and as shown), and the results it was made from.
struct Retargeting {
    carts: std::sync::Weak<CartOutput>,
    names: Option<std::sync::Weak<ProductNames>>,
    table: crate::analytics::Table,
    shown: crate::analytics::Table,
}

impl Default for FunnelPanel {
    fn default() -> Self {
        Self { tab: Tab::Funnel, weekly: false, sort: SortBy::Entered, window_hours: 24, selected_product: None, retargeting: None }
    }
}

/// What the Live tab asks for.
enum LiveRequest {
    PickFile,
    PickFolder,
    Stop,
}

impl Panel for FunnelPanel {
    fn name(&self) -> PanelName {
        panel_names::FUNNEL
    }

    fn hint(&self) -> &'static str {
        "Funnel from view to cart to purchase, abandoned carts and retargeting, demand forecast, live mode"
    }

    fn reset(&mut self) {
        *self = Self::default();
    }

    fn view_state(&self, models: &crate::ui::models::Models) -> super::ViewState {
        let mut state = super::ViewState::default();
        state.set("tab", super::tab_name(&TABS, self.tab));
        state.set("weekly", self.weekly);
        state.set("window_hours", self.window_hours);
        state.set("product", self.selected_product);
        state.set("funnel", models.find::<EventModels>().map(|m| m.funnel_settings.clone()).unwrap_or_default());
        state
    }

    fn restore_view(&mut self, state: &super::ViewState, models: &mut crate::ui::models::Models) {
        if let Some(tab) = state.get::<String>("tab").and_then(|t| super::tab_named(&TABS, &t)) {
            self.tab = tab;
        }
        state.restore("weekly", &mut self.weekly);
        state.restore("window_hours", &mut self.window_hours);
        state.restore("product", &mut self.selected_product);
        state.restore("funnel", &mut models.get::<EventModels>().funnel_settings);
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
        let mut requests = Vec::new();
        // A server table chosen in the Data panel: the funnel may be computed there instead.
        let warehouse = cx.models.get::<WarehouseModels>();
        let mut server = warehouse.events_on.clone().map(|on| (on, warehouse.funnel_on_server));
        let models = cx.models.get::<EventModels>();
        requests.extend(models.ensure_loaded(cx.data).map(Request::Track));
        requests.extend(models.request_coverage(cx.data.orders.as_ref()).map(Request::Track));
        let (live, server_settings) = self.draw(ui, models, cx.filters, &mut requests, server.as_mut());
        match live {
            Some(LiveRequest::PickFile) => requests.push(Request::PickWatchTarget { folder: false }),
            Some(LiveRequest::PickFolder) => requests.push(Request::PickWatchTarget { folder: true }),
            Some(LiveRequest::Stop) => models.stop_watch(),
            None => {}
        }
        if let Some((_, on_server)) = server {
            cx.models.get::<WarehouseModels>().funnel_on_server = on_server;
        }
        if let Some(settings) = server_settings {
            let warehouse = cx.models.get::<WarehouseModels>();
            requests.extend(warehouse.request_funnel(cx.filters, &settings).map(Request::Track));
            let error = warehouse.funnel_error(cx.filters, &settings).map(str::to_string);
            let shown = warehouse.shown_funnel(cx.filters, &settings);
            let mut retry = false;
            egui::ScrollArea::vertical().id_salt("server_funnel_scroll").show(ui, |ui| match (error, shown) {
                (Some(error), _) => {
                    ui.colored_label(widgets::BAD, format!("The server could not compute the funnel: {error}"));
                    if ui.button("Retry").clicked() {
                        retry = true;
                    }
                }
                (None, Some((result, current))) => {
                    if !current {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label("updating…");
                        });
                    }
                    let note = format!("Computed on the server: {} transferred.", widgets::bytes(result.bytes));
                    self.funnel_ui(ui, &result.result, None, &note, &mut requests);
                }
                (None, None) => widgets::waiting(ui, "The server is computing the funnel…"),
            });
            if retry {
                cx.models.get::<WarehouseModels>().retry();
            }
        }
        for request in requests {
            cx.request(request);
        }
    }
}

impl FunnelPanel {
    /// Draws the panel from the workspace's events. With `server` (a server table and whether
    /// to use it) set to the server on the Funnel tab, it draws only the controls and returns
    /// the settings for the caller to run there.
    /// Draws the panel from the workspace's events. With `server` (a server table and whether
    /// to use it) set to the server on the Funnel tab, it draws only the controls and returns
    /// the settings for the caller to run there.
    fn draw(
        &mut self,
        ui: &mut egui::Ui,
        models: &mut EventModels,
        filters: &crate::analytics::Filters,
        requests: &mut Vec<Request>,
        server: Option<&mut (ChosenTable, bool)>,
    ) -> (Option<LiveRequest>, Option<funnel::FunnelSettings>) {
        let mut live = None;
        ui.horizontal(|ui| {
            for (tab, name) in TABS {
                ui.selectable_value(&mut self.tab, tab, RichText::new(name).size(15.0));
            }
            if let Some(watch) = &models.watch {
                ui.separator();
                ui.colored_label(
                    widgets::GOOD,
                    format!(
                        "live: watching {} ({} added)",
                        widgets::display_name(&watch.target),
                        widgets::count_of(watch.job.progress().done, "row", "rows")
                    ),
                );
            }
        });
        ui.separator();
        if let (Tab::Funnel, Some((on, on_server))) = (self.tab, server) {
            let travels = "The server counts the steps; only counts per step, day and breakdown travel";
            super::warehouse::computed_on_ui(ui, on, on_server, "this workspace's events", travels);
            if *on_server {
                self.funnel_controls(ui, models);
                return (None, Some(models.funnel_settings.clone()));
            }
        }
        let Some(frame) = models.frame.as_ref().map(|f| f.data.clone()) else {
            ui.vertical_centered(|ui| {
                ui.add_space(60.0);
                ui.spinner();
                ui.label("Loading events…");
            });
            return (live, None);
        };
        if frame.is_empty() && self.tab != Tab::Live {
            ui.label("This workspace has no events yet. Import a REES46-style events export (event_time, event_type, product_id, …, user_session), or watch a growing file in Live mode.");
            return (live, None);
        }
        if models.loading() || models.busy() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(if models.loading() { "reloading events…" } else { "updating…" });
            });
        }
        match self.tab {
            Tab::Funnel => {
                self.funnel_controls(ui, models);
                requests.extend(models.request_funnel(filters).map(Request::Track));
                egui::ScrollArea::vertical().id_salt("funnel_scroll").show(ui, |ui| match models.funnel.get().cloned() {
                    Some(result) => {
                        if !models.loading() && !models.busy() {
                            crate::ui::first_result_drawn(ui.ctx(), panel_names::FUNNEL.id, result.input.len());
                        }
                        let mut source = format!("{} events from {}", widgets::number(result.input.len() as f64, 0), models.source);
                        if let Some(c) = models.coverage.get().filter(|c| c.customers > 0) {
                            source.push_str(&format!(
                                " · they cover {} of the {} customers in the order lines ({:.0}%): the funnel's purchases are theirs, not every order",
                                widgets::number(c.with_events as f64, 0),
                                widgets::number(c.customers as f64, 0),
                                c.with_events as f64 / c.customers as f64 * 100.0
                            ));
                        }
                        self.funnel_ui(ui, &result.result, Some(&result.input), &source, requests)
                    }
                    None => widgets::waiting(ui, "Computing the funnel…"),
                });
            }
            Tab::Carts => {
                cart_controls(ui, models);
                requests.extend(models.request_carts(filters).map(Request::Track));
                requests.extend(models.request_names().map(Request::Track));
                let names = models.names.get().cloned();
                let cache = &mut self.retargeting;
                egui::ScrollArea::vertical().id_salt("carts_scroll").show(ui, |ui| match models.carts.get().cloned() {
                    Some(result) => carts_ui(ui, &result, names, cache, requests),
                    None => widgets::waiting(ui, "Finding abandoned carts…"),
                });
            }
            Tab::Forecast => {
                requests.extend(models.request_forecast(filters).map(Request::Track));
                if let Some(product) = self.selected_product {
                    requests.extend(models.request_product(filters, product).map(Request::Track));
                }
                egui::ScrollArea::vertical().id_salt("forecast_scroll").show(ui, |ui| match models.forecast.get().cloned() {
                    Some(result) => self.forecast_ui(ui, &result, models, requests),
                    None => widgets::waiting(ui, "Fitting the demand model…"),
                });
            }
            Tab::Live => {
                // The live view lists sales and the latest abandoned carts.
                requests.extend(models.request_carts(filters).map(Request::Track));
                requests.extend(models.request_sales().map(Request::Track));
                requests.extend(models.request_names().map(Request::Track));
                live = live_ui(ui, models);
            }
        }
        (live, None)
    }

    fn funnel_controls(&mut self, ui: &mut egui::Ui, models: &mut EventModels) {
        let s = &mut models.funnel_settings;
        ui.horizontal_wrapped(|ui| {
            ui.label("Steps").on_hover_text(FUNNEL_HELP);
            let mut remove = None;
            let removable = s.steps.len() > 2;
            for (i, step) in s.steps.iter_mut().enumerate() {
                if i > 0 {
                    ui.label("then");
                }
                egui::ComboBox::from_id_salt(("step", i)).width(130.0).selected_text(step.name()).show_ui(ui, |ui| {
                    for kind in EventKind::FUNNEL_STEPS {
                        ui.selectable_value(step, kind, kind.name());
                    }
                });
                if removable && ui.small_button("x").on_hover_text("Remove this step").clicked() {
                    remove = Some(i);
                }
            }
            if let Some(i) = remove {
                s.steps.remove(i);
            }
            if s.steps.len() < 6 && ui.small_button("+ step").clicked() {
                s.steps.push(EventKind::Purchase);
            }
            ui.separator();
            ui.label("Count");
            ui.selectable_value(&mut s.count_by, CountBy::Sessions, "sessions");
            ui.selectable_value(&mut s.count_by, CountBy::Users, "users");
            ui.separator();
            ui.label("Window");
            let mut in_session = s.window == Window::Session;
            if ui.selectable_label(in_session, "session").clicked() {
                in_session = true;
            }
            if ui.selectable_label(!in_session, "hours").clicked() {
                in_session = false;
            }
            if !in_session {
                ui.add(egui::DragValue::new(&mut self.window_hours).range(1..=24 * 90).suffix(" h"));
            }
            s.window = if in_session { Window::Session } else { Window::Hours(self.window_hours) };
            ui.separator();
            ui.selectable_value(&mut s.strict, true, "strict order");
            ui.selectable_value(&mut s.strict, false, "any order");
            ui.separator();
            let by_label = ui.label("Breakdown");
            let mut breakdown = s.breakdown;
            egui::ComboBox::from_id_salt("breakdown")
                .selected_text(breakdown.map_or("none", |d| d.label()))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut breakdown, None, "none");
                    for d in Dimension::ALL {
                        ui.selectable_value(&mut breakdown, Some(d), d.label());
                    }
                })
                .response
                .labelled_by(by_label.id);
            s.breakdown = breakdown;
            ui.label(RichText::new("How it counts").underline()).on_hover_text(FUNNEL_HELP);
        });
        ui.separator();
    }

    /// The funnel's figures; `frame` is the copy they were counted on (a server's result has
    /// none, and no list of who dropped off).
    fn funnel_ui(
        &mut self,
        ui: &mut egui::Ui,
        result: &FunnelResult,
        frame: Option<&EventFrame>,
        source: &str,
        requests: &mut Vec<Request>,
    ) {
        let unit = match result.settings.count_by {
            CountBy::Sessions => "sessions",
            CountBy::Users => "users",
        };
        ui.label(RichText::new(source).weak());
        let width = ui.available_width();
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width((width * 0.45).max(320.0));
                ui.horizontal(|ui| {
                    ui.strong(format!("Funnel ({unit})"));
                    if ui.small_button("CSV").clicked() {
                        requests.push(Request::ExportTable { file_name: "funnel.csv".into(), table: funnel::steps_table(result) });
                    }
                });
                // The chart the report prints for this view (`present::charts`).
                crate::ui::chart_view::show(ui, &crate::present::charts::funnel_steps(result), result.steps.len(), 220.0);
                egui::Grid::new("funnel_steps").striped(true).show(ui, |ui| {
                    for h in ["Step", unit, "from step 1", "from previous", "stopped here"] {
                        ui.strong(h);
                    }
                    ui.end_row();
                    for (i, s) in result.steps.iter().enumerate() {
                        ui.label(format!("{}. {}", i + 1, s.kind.name()));
                        ui.label(widgets::number(s.count as f64, 0));
                        ui.label(format!("{:.1}%", s.from_first * 100.0));
                        ui.label(if i == 0 { "–".to_string() } else { format!("{:.1}%", s.from_previous * 100.0) });
                        match (result.dropped.get(i), frame) {
                            (Some(list), Some(frame)) => {
                                if ui
                                    .small_button(format!("{} (CSV)", widgets::number(list.len() as f64, 0)))
                                    .on_hover_text("Who stopped after this step")
                                    .clicked()
                                {
                                    let (header, rows) = funnel::dropped_table(frame, result);
                                    let step = s.kind.name();
                                    let rows = rows.into_iter().filter(|r| r[0] == step).collect();
                                    requests.push(Request::ExportTable {
                                        file_name: format!("dropped_after_{step}.csv"),
                                        table: (header, rows),
                                    });
                                }
                            }
                            _ => {
                                ui.label("");
                            }
                        }
                        ui.end_row();
                    }
                });
                if let Some(median) = result.median_seconds_to_convert {
                    ui.label(format!("Median time from step 1 to the last step: {}", human(median)));
                }
                if result.events_without_session > 0 {
                    ui.label(
                        RichText::new(format!(
                            "{} events without a session are left out: the funnel is counted in sessions.",
                            widgets::number(result.events_without_session as f64, 0)
                        ))
                        .weak(),
                    );
                }
            });
            ui.vertical(|ui| {
                ui.horizontal(|ui| {
                    ui.strong("Conversion over time (step 1 to the last step)");
                    ui.selectable_value(&mut self.weekly, false, "daily");
                    ui.selectable_value(&mut self.weekly, true, "weekly");
                });
                let points = conversion_series(result, self.weekly);
                widgets::plot(ui, "conversion_time")
                    .height(200.0)
                    .x_axis_formatter(|mark, _| {
                        crate::analytics::customers::date_of_day(mark.value.round() as i64).format("%b %d").to_string()
                    })
                    .y_axis_formatter(|mark, _| format!("{:.0}%", mark.value))
                    .show(ui, |plot| plot.line(Line::new("conversion %", PlotPoints::from(points))));
                ui.strong("Time to convert");
                let bars: Vec<Bar> =
                    result.time_to_convert.iter().enumerate().map(|(i, &n)| Bar::new(i as f64, n as f64).width(0.8)).collect();
                widgets::plot(ui, "time_to_convert")
                    .height(170.0)
                    .allow_drag(false)
                    .allow_zoom(false)
                    .x_axis_formatter(|mark, _| {
                        let i = mark.value.round();
                        if (mark.value - i).abs() < 0.01 && i >= 0.0 {
                            CONVERT_BINS.get(i as usize).map(|b| b.1.to_string()).unwrap_or_default()
                        } else {
                            String::new()
                        }
                    })
                    .show(ui, |plot| plot.bar_chart(BarChart::new("completed", bars).color(category_colour(2))));
            });
        });
        if result.settings.breakdown.is_some() {
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                ui.strong(format!("By {}", result.settings.breakdown.map_or("", |d| d.label())));
                let sort_label = ui.label("sort by");
                egui::ComboBox::from_id_salt("funnel_sort")
                    .selected_text(match self.sort {
                        SortBy::Entered => "entered step 1",
                        SortBy::Conversion => "conversion",
                        SortBy::Name => "name",
                    })
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut self.sort, SortBy::Entered, "entered step 1");
                        ui.selectable_value(&mut self.sort, SortBy::Conversion, "conversion");
                        ui.selectable_value(&mut self.sort, SortBy::Name, "name");
                    })
                    .response
                    .labelled_by(sort_label.id);
                if ui.small_button("CSV").clicked() {
                    requests
                        .push(Request::ExportTable { file_name: "funnel_breakdown.csv".into(), table: funnel::breakdown_table(result) });
                }
            });
            let mut rows = result.breakdown.clone();
            match self.sort {
                SortBy::Entered => {}
                // Conversion of tiny groups is noise: rank groups of at least 20 first.
                SortBy::Conversion => {
                    rows.sort_by(|a, b| (b.counts[0] >= 20).cmp(&(a.counts[0] >= 20)).then(b.conversion().total_cmp(&a.conversion())))
                }
                SortBy::Name => rows.sort_by(|a, b| a.key.cmp(&b.key)),
            }
            let mut header = vec![result.settings.breakdown.map_or("", |d| d.label()).to_string()];
            header.extend(result.settings.steps.iter().map(|k| k.name().to_string()));
            header.push("conversion".into());
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let mut row = vec![r.key.clone()];
                    row.extend(r.counts.iter().map(|&c| widgets::number(c as f64, 0)));
                    row.push(format!("{:.1}%", r.conversion() * 100.0));
                    row
                })
                .collect();
            let numeric: Vec<bool> = (0..header.len()).map(|i| i > 0).collect();
            widgets::text_table(ui, "funnel_breakdown", &header, &cells, &numeric, 300.0);
        }
    }

    fn forecast_ui(&mut self, ui: &mut egui::Ui, output: &ForecastOutput, models: &EventModels, requests: &mut Vec<Request>) {
        let (frame, result): (&EventFrame, &forecast::ForecastResult) = (&output.input, &output.result);
        ui.label(
            RichText::new(
                "Units sold per product next week (one per purchase where the events have no quantity) from last weeks' views, carts, purchases, price and trends (a Poisson regression). \
                 Tested by forecasting the last week from the weeks before it.",
            )
            .weak(),
        );
        if let Some(b) = &result.backtest {
            let week = crate::analytics::customers::date_of_day(forecast::week_end(result.last_day, b.week));
            let text = format!(
                "Backtest on the week ending {week} ({} products): mean absolute error {:.3} units per product; \"same as the week before\": {:.3}. {}",
                widgets::number(b.products as f64, 0),
                b.model_mae,
                b.naive_mae,
                if b.model_wins() { format!("The model is {:.0}% more accurate.", b.lift() * 100.0) } else { String::new() }
            );
            ui.colored_label(if b.model_wins() { widgets::GOOD } else { widgets::BAD }, text);
        }
        if let Some(note) = &result.note {
            ui.colored_label(ui.visuals().warn_fg_color, note);
        }
        if result.products.is_empty() {
            return;
        }
        let width = ui.available_width();
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width((width * 0.42).max(300.0));
                ui.horizontal(|ui| {
                    ui.strong("Rising products (forecast vs last week)");
                    if ui.small_button("CSV").on_hover_text("Every product's forecast").clicked() {
                        requests.push(Request::ExportTable {
                            file_name: "demand_forecast.csv".into(),
                            table: forecast::forecast_table(frame, result),
                        });
                    }
                });
                self.product_grid(ui, "rising", frame, result.rising(15));
                ui.add_space(6.0);
                ui.strong("Top sellers next week");
                self.product_grid(ui, "top_forecast", frame, result.products.iter().take(10).collect());
            });
            // The history carries its own copy of the events: the product code is from that copy.
            let history = models.product_days.get().cloned().filter(|h| Some(h.product_id) == self.selected_product);
            let shown = history.as_ref().map(|h| (&h.input, h.product_id, h.found.as_ref()));
            ui.vertical(|ui| match shown {
                Some((_, id, None)) => {
                    ui.label(format!("Product {id} has no events in the data shown. Click another product."));
                }
                Some((frame, _, Some((product, days)))) => {
                    let product = *product;
                    let p = &frame.products[product as usize];
                    let brand = &frame.brands[p.brand as usize];
                    let name =
                        result.products.iter().find(|f| frame_id(&output.input, f.product) == Some(p.id)).and_then(|f| f.name.clone());
                    ui.strong(format!(
                        "{} · {} · {}",
                        name.map_or_else(|| format!("Product {}", p.id), |n| format!("{n} (product {})", p.id)),
                        short(&frame.categories[p.category as usize]),
                        if brand.is_empty() { "no brand" } else { brand }
                    ));
                    let series = |pick: fn(&forecast::ProductDay) -> f64| -> Vec<[f64; 2]> {
                        days.iter().map(|d| [d.day as f64, pick(d)]).collect()
                    };
                    type Pick = fn(&forecast::ProductDay) -> f64;
                    let lines: [(&str, Pick); 3] = [
                        ("views", |d| f64::from(d.views)),
                        ("units carted", |d| f64::from(d.carts)),
                        ("units bought", |d| f64::from(d.purchases)),
                    ];
                    let entries: Vec<(&str, egui::Color32)> = lines.iter().enumerate().map(|(i, l)| (l.0, category_colour(i))).collect();
                    widgets::legend_row(ui, &entries);
                    widgets::plot(ui, ("product_days", product))
                        .height(200.0)
                        .x_axis_formatter(|mark, _| {
                            crate::analytics::customers::date_of_day(mark.value.round() as i64).format("%b %d").to_string()
                        })
                        .show(ui, |plot| {
                            for (i, (name, pick)) in lines.into_iter().enumerate() {
                                plot.line(Line::new(name, PlotPoints::from(series(pick))).color(category_colour(i)));
                            }
                        });
                    let date_axis = |mark: egui_plot::GridMark, _: &std::ops::RangeInclusive<f64>| {
                        crate::analytics::customers::date_of_day(mark.value.round() as i64).format("%b %d").to_string()
                    };
                    let prices: Vec<[f64; 2]> = days.iter().filter_map(|d| d.mean_price.map(|p| [d.day as f64, p])).collect();
                    ui.columns(2, |cols| {
                        cols[0].strong("Mean price per day");
                        widgets::plot(&cols[0], ("product_price", product))
                            .height(150.0)
                            .x_axis_formatter(date_axis)
                            .show(&mut cols[0], |plot| plot.line(Line::new("mean price", PlotPoints::from(prices))));
                        cols[1].strong("Revenue per day");
                        widgets::plot(&cols[1], ("product_revenue", product))
                            .height(150.0)
                            .x_axis_formatter(date_axis)
                            .y_axis_formatter(|mark, _| widgets::number(mark.value, 0))
                            .show(&mut cols[1], |plot| {
                                plot.bar_chart(BarChart::new(
                                    "revenue",
                                    days.iter().map(|d| Bar::new(d.day as f64, d.revenue).width(0.8)).collect(),
                                ))
                            });
                    });
                }
                None if self.selected_product.is_some() => widgets::waiting(ui, "Reading the product's history…"),
                None => {
                    ui.label(RichText::new("Click a product to see its daily views, carts, purchases, revenue and price.").weak());
                }
            });
        });
    }
}

/// The id of the product with `code` in `frame`.
fn frame_id(frame: &EventFrame, code: u32) -> Option<i64> {
    frame.products.get(code as usize).map(|p| p.id)
}

impl FunnelPanel {
    /// Products with last week's and next week's purchases; a click selects one.
    fn product_grid(&mut self, ui: &mut egui::Ui, id: &str, frame: &EventFrame, rows: Vec<&forecast::ProductForecast>) {
        egui::Grid::new(id).striped(true).show(ui, |ui| {
            for h in ["Product", "Category", "Last 7 days", "Next 7 days"] {
                ui.strong(h);
            }
            ui.end_row();
            for p in rows {
                let product = &frame.products[p.product as usize];
                // The name where the product table gives one; the id is on hover.
                let label = p.name.clone().unwrap_or_else(|| product.id.to_string());
                let clicked = ui
                    .selectable_label(self.selected_product == Some(product.id), label)
                    .on_hover_text(format!("product {}", product.id))
                    .clicked();
                if clicked {
                    self.selected_product = Some(product.id);
                }
                ui.label(short(&frame.categories[product.category as usize]));
                ui.label(p.last_week.to_string());
                ui.label(format!("{:.1}", p.forecast));
                ui.end_row();
            }
        });
    }
}

fn cart_controls(ui: &mut egui::Ui, models: &mut EventModels) {
    let s = &mut models.cart_settings;
    ui.horizontal_wrapped(|ui| {
        ui.label("Session ends after").on_hover_text(CART_HELP);
        ui.add(egui::DragValue::new(&mut s.expiry_minutes).range(1.0..=24.0 * 60.0).speed(1.0).suffix(" min without events"));
        ui.separator();
        ui.label("Coupon for carts from");
        ui.add(egui::DragValue::new(&mut s.coupon_threshold).range(0.0..=100_000.0).speed(5.0));
        ui.add(egui::DragValue::new(&mut s.coupon_percent).range(1..=90).suffix("% off"));
        ui.label("· free shipping from");
        ui.add(egui::DragValue::new(&mut s.free_shipping_minimum).range(0.0..=100_000.0).speed(1.0));
        ui.label("(smaller carts: a reminder)");
        ui.separator();
        ui.checkbox(&mut s.exclude_bought_later, "Leave out users who bought later");
        ui.label(RichText::new("How it counts").underline()).on_hover_text(CART_HELP);
    });
    ui.separator();
}

/// How a cart holding several categories (or brands) is counted in the per-group tables.
const CART_PER_GROUP: &str = "A cart counts once in each group it holds items of, so the groups' rates do not average to the total rate, and their carts add up to more than the total.";

fn carts_ui(
    ui: &mut egui::Ui,
    output: &Arc<CartOutput>,
    names: Option<Arc<ProductNames>>,
    cache: &mut Option<Retargeting>,
    requests: &mut Vec<Request>,
) {
    let (frame, result): (&EventFrame, &carts::CartResult) = (&output.input, &output.result);
    let left_out = if result.events_without_session > 0 {
        format!(
            " · {} events without a session left out (a cart belongs to a session)",
            widgets::number(result.events_without_session as f64, 0)
        )
    } else {
        String::new()
    };
    ui.label(RichText::new(format!("As of {} (UTC){left_out}", format_time(result.now))).weak());
    ui.columns(4, |cols| {
        widgets::stat_card(&mut cols[0], "Abandonment rate", &format!("{:.1}%", result.rate() * 100.0), CART_HELP);
        widgets::stat_card(
            &mut cols[1],
            "Abandoned carts",
            &widgets::number(result.abandoned as f64, 0),
            "Ended sessions with items left in the cart and no purchase.",
        );
        widgets::stat_card(
            &mut cols[2],
            "Value left in carts",
            &widgets::money(result.value_left),
            "Σ price × quantity of the items left in abandoned carts.",
        );
        widgets::stat_card(
            &mut cols[3],
            "Sessions still open",
            &widgets::number(result.open as f64, 0),
            "Carts whose session has not ended yet: not counted either way.",
        );
    });
    let width = ui.available_width();
    ui.strong("Abandonment rate by day");
    let bars: Vec<Bar> = result.by_day.iter().map(|(day, r)| Bar::new(*day as f64, r.rate() * 100.0).width(0.8)).collect();
    widgets::plot(ui, "abandon_by_day")
        .height(170.0)
        .x_axis_formatter(|mark, _| crate::analytics::customers::date_of_day(mark.value.round() as i64).format("%b %d").to_string())
        .y_axis_formatter(|mark, _| format!("{:.0}%", mark.value))
        .show(ui, |plot| plot.bar_chart(BarChart::new("abandonment %", bars).color(widgets::BAD)));
    ui.horizontal_top(|ui| {
        for (title, rows, key, file) in [
            ("By category", &result.by_category, "category", "abandonment_by_category.csv"),
            ("By brand", &result.by_brand, "brand", "abandonment_by_brand.csv"),
        ] {
            ui.vertical(|ui| {
                ui.set_width(width / 2.0 - 10.0);
                ui.horizontal(|ui| {
                    ui.strong(title);
                    if ui.small_button("CSV").clicked() {
                        requests.push(Request::ExportTable { file_name: file.into(), table: carts::rate_table(rows, key) });
                    }
                });
                let header: Vec<String> = [key, "carts", "abandoned", "rate", "value left"].map(String::from).to_vec();
                let cells: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.key.clone(),
                            widgets::number(r.carts as f64, 0),
                            widgets::number(r.abandoned as f64, 0),
                            format!("{:.1}%", r.rate() * 100.0),
                            widgets::money(r.value_left),
                        ]
                    })
                    .collect();
                widgets::text_table(ui, title, &header, &cells, &[false, true, true, true, true], 200.0);
                ui.label(RichText::new(CART_PER_GROUP).weak().small());
            });
        }
    });
    ui.add_space(6.0);
    let current = |c: &Retargeting| {
        c.carts.ptr_eq(&Arc::downgrade(output)) && c.names.as_ref().map(|w| w.as_ptr()) == names.as_ref().map(Arc::as_ptr)
    };
    if !cache.as_ref().is_some_and(current) {
        let no_names = ProductNames::new();
        let table = carts::retargeting_table(frame, result, names.as_deref().unwrap_or(&no_names));
        // On screen the session id (a 36-character UUID, for the email tool) gives its width
        // to the items; the export keeps it.
        let kept: Vec<usize> = (0..table.0.len()).filter(|&i| table.0[i] != "user_session").collect();
        let pick = |row: &Vec<String>| -> Vec<String> { kept.iter().map(|&i| row[i].clone()).collect() };
        let shown = (pick(&table.0), table.1.iter().map(pick).collect());
        *cache = Some(Retargeting { carts: Arc::downgrade(output), names: names.as_ref().map(Arc::downgrade), table, shown });
    }
    let Retargeting { table: (header, rows), shown, .. } = cache.as_ref().expect("filled above");
    ui.horizontal(|ui| {
        ui.strong(format!("Retargeting list: {} carts", widgets::number(rows.len() as f64, 0)));
        if ui.button("Export for the email tool (CSV)").clicked() {
            requests.push(Request::ExportTable { file_name: "retargeting.csv".into(), table: (header.clone(), rows.clone()) });
        }
    });
    let numeric: Vec<bool> = shown.0.iter().map(|h| h == "cart_value").collect();
    widgets::text_table(ui, "retargeting", &shown.0, &shown.1, &numeric, 320.0);
}

fn live_ui(ui: &mut egui::Ui, models: &EventModels) -> Option<LiveRequest> {
    let mut request = None;
    ui.label(
        "Live mode follows an events CSV that keeps growing (or a folder that receives new CSV files), appends new rows to the workspace \
         every 2 seconds, and keeps the funnel, sales and the retargeting list up to date. A partial last line waits for the rest.",
    );
    ui.add_space(6.0);
    match &models.watch {
        Some(watch) => {
            ui.label(format!(
                "Watching {} for {}: {} added.",
                watch.target.display(),
                human(watch.started.elapsed().as_secs() as i64),
                widgets::count_of(watch.job.progress().done, "row", "rows")
            ));
            if ui.button("Stop watching").clicked() {
                request = Some(LiveRequest::Stop);
            }
        }
        None => {
            ui.horizontal(|ui| {
                if ui.button("Watch a file…").clicked() {
                    request = Some(LiveRequest::PickFile);
                }
                if ui.button("Watch a folder…").clicked() {
                    request = Some(LiveRequest::PickFolder);
                }
            });
        }
    }
    if let Some(e) = &models.watch_error {
        ui.colored_label(widgets::BAD, format!("The last watch stopped: {e}"));
    }
    if let Some(sales) = models.sales.get() {
        let frame = &sales.input;
        ui.add_space(6.0);
        ui.strong("Sales per product, last 24 hours of data");
        egui::Grid::new("live_sales").striped(true).show(ui, |ui| {
            for h in ["Product", "Purchases", "Units", "Revenue", "Last sale (UTC)"] {
                ui.strong(h);
            }
            ui.end_row();
            for row in sales.result.iter().take(10) {
                let id = frame.products[row.product as usize].id;
                match models.product_name(id) {
                    Some(name) => ui.label(name).on_hover_text(format!("product {id}")),
                    None => ui.label(id.to_string()),
                };
                ui.label(widgets::number(row.purchases as f64, 0));
                ui.label(widgets::number(row.units as f64, 0));
                ui.label(widgets::money(row.revenue));
                ui.label(format_time(row.last_sale));
                ui.end_row();
            }
        });
    }
    if let Some(result) = models.carts.get() {
        ui.add_space(6.0);
        ui.strong("Latest abandoned carts");
        {
            let frame = &result.input;
            for cart in result.list.iter().take(8) {
                // The cart's first product by name (id without one), and how many more.
                let items = result.items_of(cart);
                let first = items.first().map_or_else(String::new, |item| {
                    let id = frame.products[item.product as usize].id;
                    let name = models.product_name(id).map_or_else(|| format!("product {id}"), |n| n.trim().to_string());
                    let units = if item.quantity > 1 { format!(" ×{}", item.quantity) } else { String::new() };
                    let more = if items.len() > 1 {
                        format!(" and {} more", widgets::count_of(items.len() as u64 - 1, "item", "items"))
                    } else {
                        String::new()
                    };
                    format!(" · {name}{units}{more}")
                });
                ui.label(format!(
                    "user {} · ended {} · contact by {} · {}{first} · {}",
                    frame.users[cart.user as usize],
                    format_time(cart.expired_at),
                    format_time(cart.contact_by()),
                    widgets::money(cart.value),
                    cart.offer(&result.settings)
                ));
            }
        }
    }
    request
}

fn conversion_series(result: &FunnelResult, weekly: bool) -> Vec<[f64; 2]> {
    let mut points: Vec<(i64, u64, u64)> = Vec::new();
    for &(day, entered, converted) in &result.daily {
        let bucket = if weekly { day - day.rem_euclid(7) } else { day };
        match points.last_mut() {
            Some(last) if last.0 == bucket => {
                last.1 += entered;
                last.2 += converted;
            }
            _ => points.push((bucket, entered, converted)),
        }
    }
    points.into_iter().filter(|p| p.1 > 0).map(|(d, e, c)| [d as f64, c as f64 / e as f64 * 100.0]).collect()
}

fn human(seconds: i64) -> String {
    crate::analytics::human_duration(seconds)
}

fn short(category: &str) -> String {
    if category.is_empty() {
        "(none)".into()
    } else {
        category.to_string()
    }
}

//! The Overview panel and its models: KPIs and monthly charts for the global filters, computed
//! in a job per filter set and kept per copy of the order lines, so going back to a filter set
//! is instant.

use std::sync::Arc;

use eframe::egui::{self, RichText};
use egui_plot::{Bar, BarChart};

use super::warehouse::WarehouseModels;
use super::{panel_names, Panel, PanelContext, PanelName, Request};
use crate::analytics::order_frame::OrderFrame;
use crate::analytics::overview::{self, OverviewResult};
use crate::analytics::Filters;
use crate::jobs::{Job, JobMonitor};
use crate::present::charts::{self, AOV_DEF, CANCEL_DEF, CUSTOMERS_DEF, ORDERS_DEF, REVENUE_DEF};
use crate::ui::chart_view;
use crate::ui::models::{CopyFigures, CopyResults, Versioned};
use crate::ui::widgets::{self, kpi_card};

/// The Overview's results, per copy of the order lines and filter set.
pub type OverviewModels = CopyResults<OverviewResult>;

impl CopyFigures for OverviewResult {
    const FAILED: &'static str = "Overview failed";
}

impl CopyResults<OverviewResult> {
    /// Makes sure the Overview of `filters` on `orders` is known or on its way.
    pub fn request(&mut self, orders: &Versioned<OrderFrame>, filters: &Filters) -> Option<JobMonitor> {
        let (frame, job_filters) = (orders.data.clone(), filters.clone());
        self.request_with((orders.id, None), filters, move || {
            Job::spawn("compute overview", move |ctx| Ok(overview::compute(&frame, &job_filters, ctx)?))
        })
    }
}

pub struct OverviewPanel {
    pub log_scale: bool,
    /// Rank postage, fees and manual lines among the products (they are always in the totals).
    pub services_in_ranking: bool,
}

impl Default for OverviewPanel {
    fn default() -> Self {
        // Order values are heavily skewed: on a linear axis a few wholesale orders flatten the rest.
        Self { log_scale: true, services_in_ranking: false }
    }
}

/// Something the user asked for that the shell carries out (exports need a file dialog).
enum OverviewAction {
    ExportMonths,
    ExportCountries,
    ExportProducts,
    /// Save the chart drawn in `rect` (points) as a PNG named like `name`.
    SavePng {
        name: &'static str,
        rect: egui::Rect,
    },
}

fn thousands_axis(mark: egui_plot::GridMark, _: &std::ops::RangeInclusive<f64>) -> String {
    widgets::number(mark.value, 0)
}

impl Panel for OverviewPanel {
    fn name(&self) -> PanelName {
        panel_names::OVERVIEW
    }

    fn hint(&self) -> &'static str {
        "Monthly sales, orders and customers"
    }

    fn view_state(&self, _: &crate::ui::models::Models) -> super::ViewState {
        let mut state = super::ViewState::default();
        state.set("log_scale", self.log_scale);
        state.set("services_in_ranking", self.services_in_ranking);
        state
    }

    fn restore_view(&mut self, state: &super::ViewState, _: &mut crate::ui::models::Models) {
        state.restore("log_scale", &mut self.log_scale);
        state.restore("services_in_ranking", &mut self.services_in_ranking);
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
        // Where the figures come from: the workspace's copy, or a server table chosen in the
        // Data panel (computed there; only totals travel). The panel always says which.
        let on_server = where_computed_ui(ui, cx.models.get::<WarehouseModels>());
        let shown = if on_server {
            let models = cx.models.get::<WarehouseModels>();
            let started = models.request_overview(cx.filters);
            let shown = models.shown_overview(cx.filters);
            let error = models.overview_error(cx.filters).map(str::to_string);
            cx.track(started);
            if let Some(error) = error {
                ui.colored_label(widgets::BAD, format!("The server could not compute the Overview: {error}"));
                if ui.button("Retry").clicked() {
                    cx.models.get::<WarehouseModels>().retry();
                }
                return;
            }
            shown.map(|(server, current)| {
                let note = format!("Computed on the server: {} transferred.", widgets::bytes(server.bytes));
                ui.label(RichText::new(note).weak());
                (Arc::new(server.result.clone()), current)
            })
        } else {
            let Some(orders) = cx.data.orders.clone() else {
                widgets::waiting(ui, cx.data.orders_waiting_text());
                return;
            };
            let models = cx.models.get::<OverviewModels>();
            let started = models.request(&orders, cx.filters);
            let shown = models.shown((orders.id, None), cx.filters);
            cx.track(started);
            shown
        };
        let Some((result, current)) = shown else {
            widgets::waiting(ui, if on_server { "The server is computing the overview…" } else { "Computing the overview…" });
            return;
        };
        if current && !on_server {
            crate::ui::first_result_drawn(ui.ctx(), panel_names::OVERVIEW.id, result.months.len());
        }
        let action = egui::ScrollArea::vertical()
            .show(ui, |ui| {
                if !current {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("updating…");
                    });
                }
                self.draw(ui, &result)
            })
            .inner;
        match action {
            Some(OverviewAction::SavePng { name, rect }) => cx.request(Request::SaveChart { file_name: name.into(), rect }),
            Some(OverviewAction::ExportMonths) => cx.export("overview_months.csv", overview::months_table(&result)),
            Some(OverviewAction::ExportCountries) => {
                cx.export("top_countries.csv", overview::ranked_table(&result.top_countries, ["country", "", "revenue", "orders"]))
            }
            Some(OverviewAction::ExportProducts) => cx.export(
                "top_products.csv",
                overview::ranked_table(self.ranked_products(&result), ["stock_code", "description", "revenue", "units"]),
            ),
            None => {}
        }
    }
}

/// The "computed on" choice, shown once a server table is set for the Overview; true when the
/// server's figures are to be shown.
fn where_computed_ui(ui: &mut egui::Ui, warehouse: &mut WarehouseModels) -> bool {
    let Some(on) = warehouse.overview_on.clone() else { return false };
    let travels = "The server sums and counts; only monthly totals, rankings and order values travel";
    super::warehouse::computed_on_ui(ui, &on, &mut warehouse.overview_on_server, "this workspace's copy", travels);
    warehouse.overview_on_server
}

impl OverviewPanel {
    fn draw(&mut self, ui: &mut egui::Ui, result: &OverviewResult) -> Option<OverviewAction> {
        let mut action = None;
        let k = &result.kpis;
        if let Some((from, to)) = result.period {
            let previous = crate::present::format::compared_with(result)
                .map_or("no earlier data to compare with".to_string(), |compared| format!("compared with {compared}"));
            ui.label(RichText::new(format!("{from} to {to}, {previous}")).weak());
        } else {
            ui.label("No order lines in the chosen period.");
            return None;
        }
        let currency = result.currency.as_deref();
        let money = |value: f64| widgets::money_in(value, currency);
        // Equal columns always fit the window (a wrapping row of frames would widen the page).
        ui.columns(5, |columns| {
            kpi_card(&mut columns[0], "Revenue", &money(k.revenue.current), k.revenue.change_pct(), true, REVENUE_DEF);
            kpi_card(&mut columns[1], "Orders", &widgets::number(k.orders.current, 0), k.orders.change_pct(), true, ORDERS_DEF);
            kpi_card(&mut columns[2], "Customers", &widgets::number(k.customers.current, 0), k.customers.change_pct(), true, CUSTOMERS_DEF);
            let aov = money(k.average_order_value.current);
            kpi_card(&mut columns[3], "Average order value", &aov, k.average_order_value.change_pct(), true, AOV_DEF);
            let rate = format!("{:.1}%", k.cancellation_rate.current);
            kpi_card(&mut columns[4], "Cancellation rate", &rate, k.cancellation_rate.change_pct(), false, CANCEL_DEF);
        });
        if let Some(note) = crate::present::format::adjustments_note(&result.adjustments, money) {
            ui.label(RichText::new(note).weak().small());
        }
        if let Some(note) = crate::present::format::other_currencies_note(currency, result.lines_in_other_currencies) {
            ui.label(RichText::new(note).color(ui.visuals().warn_fg_color).small());
        }
        ui.add_space(8.0);

        // One mark per month; the year only under January keeps the axis short.
        // A new period gives the charts new ids, so they fit the new data instead of keeping the
        // zoom of the previous view.
        let view = result.period;
        let chart_height = (ui.available_height() / 3.0).clamp(160.0, 260.0);
        let half = ((ui.available_width() - 16.0) / 2.0).max(280.0);

        // The same chart descriptions the report prints (`present::charts`).
        ui.horizontal(|ui| {
            ui.vertical(|ui| {
                ui.set_width(half);
                let revenue = charts::monthly_revenue(result);
                let (png, csv) = ui
                    .horizontal(|ui| {
                        ui.strong("Monthly revenue and growth").on_hover_text(charts::REVENUE_DEF);
                        let png = ui.small_button("PNG").on_hover_text("Save this chart as a PNG image").clicked();
                        (png, ui.small_button("CSV").on_hover_text("Export the monthly table as CSV").clicked())
                    })
                    .inner;
                if csv {
                    action = Some(OverviewAction::ExportMonths);
                }
                let top = chart_view::show(ui, &revenue, view, chart_height * 0.65);
                let growth = charts::monthly_growth(result);
                let mut rect = top.response.rect;
                if growth.is_empty() {
                    ui.label(RichText::new("No month-over-month growth: the period holds no two whole months in a row.").weak());
                } else {
                    rect = rect.union(chart_view::show(ui, &growth, view, chart_height * 0.5).response.rect);
                }
                if png {
                    action = Some(OverviewAction::SavePng { name: "monthly_revenue.png", rect });
                }
            });
            ui.vertical(|ui| {
                ui.set_width(half);
                let chart = charts::orders_per_month(result);
                let png = chart_view::title(ui, &chart);
                let plot = chart_view::show(ui, &chart, view, chart_height);
                if png {
                    action = Some(OverviewAction::SavePng { name: "orders_per_month.png", rect: plot.response.rect });
                }
            });
        });

        ui.horizontal(|ui| {
            ui.vertical(|ui| {
                ui.set_width(half);
                let chart = charts::customers_per_month(result);
                let png = chart_view::title(ui, &chart);
                let plot = chart_view::show(ui, &chart, view, chart_height);
                if png {
                    action = Some(OverviewAction::SavePng { name: "customers_per_month.png", rect: plot.response.rect });
                }
            });
            ui.vertical(|ui| {
                ui.set_width(half);
                let png = ui
                    .horizontal(|ui| {
                        ui.strong("Order value distribution").on_hover_text("Value of each order (non-cancelled invoice).");
                        ui.checkbox(&mut self.log_scale, "log scale");
                        ui.small_button("PNG").on_hover_text("Save this chart as a PNG image").clicked()
                    })
                    .inner;
                let (bins, skipped) = overview::histogram(&result.order_values, 40, self.log_scale);
                let bars: Vec<Bar> = bins
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        Bar::new(i as f64, b.count as f64)
                            .name(format!("{} to {}", widgets::money(b.low), widgets::money(b.high)))
                            .width(0.95)
                    })
                    .collect();
                let edges: Vec<(f64, f64)> = bins.iter().map(|b| (b.low, b.high)).collect();
                let plot = widgets::plot(ui, ("order_values", view))
                    .y_axis_formatter(thousands_axis)
                    .height(chart_height)
                    .x_axis_formatter(move |mark, _| {
                        edges.get(mark.value.round().max(0.0) as usize).map_or(String::new(), |(low, _)| widgets::money(*low))
                    })
                    .show(ui, |plot| {
                        plot.bar_chart(
                            BarChart::new("Orders", bars).element_formatter(Box::new(|b, _| format!("{}\n{} orders", b.name, b.value))),
                        )
                    });
                if png {
                    action = Some(OverviewAction::SavePng { name: "order_values.png", rect: plot.response.rect });
                }
                if skipped > 0 {
                    ui.label(
                        RichText::new(format!(
                            "{} orders with a value of 0 or less are not shown on the log scale",
                            widgets::number(skipped as f64, 0)
                        ))
                        .weak(),
                    );
                }
            });
        });

        ui.horizontal(|ui| {
            let countries = ["Country", "", "Revenue", "Orders"];
            if ranked_table(ui, half, "Top countries", &result.top_countries, countries) {
                action = Some(OverviewAction::ExportCountries);
            }
            ui.vertical(|ui| {
                if ranked_table(ui, half, "Top products", self.ranked_products(result), ["Code", "Description", "Revenue", "Units"]) {
                    action = Some(OverviewAction::ExportProducts);
                }
                ui.checkbox(&mut self.services_in_ranking, "rank postage, fees and manual lines too");
                if !self.services_in_ranking && !result.services.is_empty() {
                    let names: Vec<String> =
                        result.services.iter().take(6).map(|r| format!("{} ({})", r.name, widgets::money(r.revenue))).collect();
                    ui.label(RichText::new(format!("Left out of the ranking, still in every total: {}.", names.join(", "))).weak());
                }
            });
        });
        action
    }

    fn ranked_products<'r>(&self, result: &'r OverviewResult) -> &'r [overview::Ranked] {
        if self.services_in_ranking {
            &result.top_products_with_services
        } else {
            &result.top_products
        }
    }
}

/// A titled top-N table with a CSV button; returns true when the button was clicked.
fn ranked_table(ui: &mut egui::Ui, width: f32, title: &str, rows: &[overview::Ranked], header: [&str; 4]) -> bool {
    ui.vertical(|ui| {
        ui.set_width(width);
        let export = ui
            .horizontal(|ui| {
                ui.strong(title);
                ui.small_button("CSV").clicked()
            })
            .inner;
        ranked_grid(ui, title, rows, header);
        export
    })
    .inner
}

fn ranked_grid(ui: &mut egui::Ui, id: &str, rows: &[overview::Ranked], header: [&str; 4]) {
    egui::Grid::new(id).striped(true).num_columns(4).show(ui, |ui| {
        for h in header {
            ui.strong(h);
        }
        ui.end_row();
        for row in rows {
            ui.label(&row.name);
            ui.label(&row.detail);
            ui.label(widgets::money(row.revenue));
            ui.label(widgets::number(row.count as f64, 0));
            ui.end_row();
        }
    });
}

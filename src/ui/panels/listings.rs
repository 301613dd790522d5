//! The Listings panel: listing health by brand or category over the date filter — success rate,
//! time to sell and its distribution, sell-through, engagement and conversion, supply — the
//! listing flow and the most active users. Results come from [`MarketplaceModels`].

use eframe::egui::{self, RichText};
use egui_plot::{Bar, BarChart};

use super::marketplace_models::{ListingsOutput, MarketplaceModels};
use super::{panel_names, Panel, PanelContext, PanelName, Request};
use crate::analytics::marketplace::listings::{self, GroupBy};
use crate::analytics::marketplace::median;
use crate::ui::widgets::{self, category_colour};

const LISTINGS_HELP: &str = "How listings are counted (over the date filter)\n\
• Listed: submitted in the range (drafts never submitted are not listings). Sold: of those, sold before the range ends.\n\
• Days to sell: sold − listed, in days, over the sold ones (median). Sell-through 30 d: sold within 30 days / listed.\n\
• Views, likes, orders: dated in the range, on the group's listings. Conversion = orders / views.\n\
• Active: listed before the range ends and not sold by then. Months of supply = active / sales per month in the range.\n\
• A snapshot without dates (one row per listing with sold 0/1 and likes): every listing is listed, sold as its flag says; conversion = sales / likes. It counts only when no dates are chosen, and the figures that need dates stay empty.\n\
The country filter does not apply: marketplace rows carry no country.";

pub struct ListingsPanel {
    by: GroupBy,
    min_listings: u64,
}

impl Default for ListingsPanel {
    fn default() -> Self {
        Self { by: GroupBy::Category, min_listings: 10 }
    }
}

impl Panel for ListingsPanel {
    fn name(&self) -> PanelName {
        panel_names::LISTINGS
    }

    fn hint(&self) -> &'static str {
        "Time to sell, success rate and conversion by brand and category; the listing flow"
    }

    fn reset(&mut self) {
        *self = Self::default();
    }

    fn view_state(&self, _: &crate::ui::models::Models) -> super::ViewState {
        let mut state = super::ViewState::default();
        state.set("by", self.by.name());
        state.set("min_listings", self.min_listings);
        state
    }

    fn restore_view(&mut self, state: &super::ViewState, _: &mut crate::ui::models::Models) {
        match state.get::<String>("by").as_deref() {
            Some("brand") => self.by = GroupBy::Brand,
            Some("category") => self.by = GroupBy::Category,
            _ => {}
        }
        state.restore("min_listings", &mut self.min_listings);
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelContext<'_>) {
        let models = cx.models.get::<MarketplaceModels>();
        let mut requests: Vec<Request> = models.ensure_loaded(cx.data).map(Request::Track).into_iter().collect();
        match models.data.as_ref().map(|d| d.data.listings.is_empty()) {
            None => widgets::waiting(ui, "Loading the marketplace…"),
            Some(true) => {
                ui.label("This workspace has no listings yet. Import listings (listing_id, seller_id, category, brand, price, listed_at, sold_at), and for engagement interactions (user_id, listing_id, kind, at) and marketplace orders.");
            }
            Some(false) => {
                ui.horizontal_wrapped(|ui| {
                    ui.label("By");
                    ui.selectable_value(&mut self.by, GroupBy::Category, "category");
                    ui.selectable_value(&mut self.by, GroupBy::Brand, "brand");
                    ui.separator();
                    let label = ui.label("Groups with at least");
                    ui.add(egui::DragValue::new(&mut self.min_listings).range(1..=100_000).suffix(" listings")).labelled_by(label.id);
                    ui.label(RichText::new("How it counts").underline()).on_hover_text(LISTINGS_HELP);
                });
                requests.extend(models.request_listings(cx.filters, self.by).map(Request::Track));
                match models.listings.get().cloned() {
                    Some(output) => self.listings_ui(ui, &output, &mut requests),
                    None => widgets::waiting(ui, "Counting listings…"),
                }
            }
        }
        for request in requests {
            cx.request(request);
        }
    }
}

impl ListingsPanel {
    fn listings_ui(&mut self, ui: &mut egui::Ui, output: &ListingsOutput, requests: &mut Vec<Request>) {
        let (data, result) = (&output.input, &output.result);
        let listed: u64 = result.groups.iter().map(|g| g.listed).sum();
        let sold: u64 = result.groups.iter().map(|g| g.sold).sum();
        let views: u64 = result.groups.iter().map(|g| g.views).sum();
        let orders: u64 = result.groups.iter().map(|g| g.orders).sum();
        let likes: u64 = result.groups.iter().map(|g| g.likes).sum();
        let snapshot = result.undated_counted > 0 && views == 0;
        let mut days = result.days_to_sell.clone();
        if result.undated_counted > 0 {
            ui.label(
                RichText::new(format!(
                    "{} listings come from a snapshot without dates: each counts as listed, sold as the export says; days to sell, sell-through, days on market and months of supply need dates and are left empty for them.",
                    widgets::number(result.undated_counted as f64, 0)
                ))
                .weak(),
            );
        }
        if result.undated_left_out > 0 {
            ui.label(
                RichText::new(format!(
                    "{} listings of a snapshot without dates are left out: they cannot be placed in the chosen dates. Clear the dates to count them.",
                    widgets::number(result.undated_left_out as f64, 0)
                ))
                .color(ui.visuals().warn_fg_color),
            );
        }
        for note in data.contradictions.notes() {
            ui.colored_label(ui.visuals().warn_fg_color, format!("{note}."));
        }
        ui.columns(5, |cols| {
            let listed_help = if result.undated_counted > 0 {
                "Listings submitted in the date range, and every listing of a snapshot without dates."
            } else {
                "Listings submitted in the date range."
            };
            widgets::stat_card(&mut cols[0], "Listed", &widgets::number(listed as f64, 0), listed_help);
            widgets::stat_card(
                &mut cols[1],
                "Success rate",
                &if listed > 0 { format!("{:.1}%", sold as f64 / listed as f64 * 100.0) } else { "–".into() },
                "Of the listings submitted in the range, the share sold before it ends.",
            );
            widgets::stat_card(
                &mut cols[2],
                "Median days to sell",
                &median(&mut days).map_or_else(|| "–".into(), |m| format!("{m:.1}")),
                "sold_at − listed_at in days over the listings sold (an even count: the mean of the two middle values).",
            );
            if snapshot {
                widgets::stat_card(
                    &mut cols[3],
                    "Sales per like",
                    &if likes > 0 { format!("{:.2}%", sold as f64 / likes as f64 * 100.0) } else { "–".into() },
                    "A snapshot has likes but no views: its conversion is listings sold / likes.",
                );
            } else {
                widgets::stat_card(
                    &mut cols[3],
                    "Conversion",
                    &if views > 0 { format!("{:.2}%", orders as f64 / views as f64 * 100.0) } else { "–".into() },
                    "Orders / views, both dated in the range.",
                );
            }
            let active: u64 = result.groups.iter().map(|g| g.active).sum();
            widgets::stat_card(
                &mut cols[4],
                "Active listings",
                &widgets::number(active as f64, 0),
                "Listed before the range ends and not sold by then.",
            );
        });
        egui::ScrollArea::vertical().id_salt("listings_scroll").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong(format!("By {}", self.by.name())).on_hover_text(LISTINGS_HELP);
                if ui.small_button("CSV").on_hover_text("As `shoplens listings --by ...`").clicked() {
                    requests.push(Request::ExportTable {
                        file_name: format!("listings_by_{}.csv", self.by.name()),
                        table: listings::groups_table(result, self.min_listings),
                    });
                }
            });
            let (mut header, rows) = listings::groups_table(result, self.min_listings);
            header[0] = self.by.name().to_string();
            let numeric: Vec<bool> = (0..header.len()).map(|i| i > 0).collect();
            widgets::text_table(ui, "listing_groups", &header, &rows, &numeric, 300.0);
            ui.add_space(8.0);
            let width = ui.available_width();
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    ui.set_width(width * 0.5 - 8.0);
                    let chart = crate::present::charts::days_to_sell(&result.days_to_sell);
                    ui.strong(chart.title.as_str());
                    if result.days_to_sell.is_empty() && result.undated_counted > 0 {
                        ui.label("Days to sell need listing and sale dates; this snapshot has none.");
                    } else {
                        crate::ui::chart_view::show(ui, &chart, result.range, 220.0);
                    }
                });
                ui.vertical(|ui| {
                    ui.strong("Listing flow");
                    let flow = result.flow;
                    if flow.has_drafts {
                        let steps = [("started", flow.started), ("submitted", flow.submitted), ("sold", flow.sold)];
                        let bars: Vec<Bar> = steps
                            .iter()
                            .enumerate()
                            .map(|(i, (name, n))| Bar::new(i as f64, *n as f64).width(0.6).name(*name).fill(category_colour(i)))
                            .collect();
                        widgets::plot(ui, "listing_flow")
                            .height(180.0)
                            .allow_drag(false)
                            .allow_zoom(false)
                            .x_axis_formatter(move |mark, _| {
                                let i = mark.value.round();
                                if (mark.value - i).abs() < 0.01 && (0.0..3.0).contains(&i) {
                                    steps[i as usize].0.to_string()
                                } else {
                                    String::new()
                                }
                            })
                            .show(ui, |plot| plot.bar_chart(BarChart::new("listings", bars)));
                        ui.label(format!(
                            "{} drafts started; {:.0}% submitted; {:.0}% of those sold.",
                            widgets::number(flow.started as f64, 0),
                            flow.submitted as f64 / flow.started.max(1) as f64 * 100.0,
                            flow.sold as f64 / flow.submitted.max(1) as f64 * 100.0
                        ));
                    } else if snapshot {
                        ui.label("A snapshot has no flow: it shows each listing as it was when exported.");
                    } else {
                        ui.label("The listings carry no drafts (no created_at, every listing submitted): the flow starts at submission.");
                    }
                    ui.add_space(6.0);
                    ui.horizontal(|ui| {
                        ui.strong("Most active users");
                        if ui.small_button("CSV").clicked() {
                            requests.push(Request::ExportTable {
                                file_name: "most_active_users.csv".into(),
                                table: listings::active_users_table(data, result),
                            });
                        }
                    });
                    let (header, rows) = listings::active_users_table(data, result);
                    widgets::text_table(ui, "active_users", &header, &rows, &[false, true, true, true, true], 220.0);
                });
            });
        });
    }
}

//! The Elasticity tab: each product's price elasticity, its verdict and its demand curve.

use super::*;
use crate::analytics::elasticity;

impl PricingPanel {
    pub(super) fn elasticity_ui(&mut self, ui: &mut egui::Ui, output: &ElasticityOutput, requests: &mut Vec<Request>) {
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
                let (low, high) = days.iter().fold((f64::MAX, f64::MIN), |(lo, hi), d| (lo.min(d.price), hi.max(d.price)));
                let curve = estimate.elasticity.and_then(|e| Some((e, elasticity::demand_curve(days, e, 40)?)));
                let curve_name = curve.as_ref().map(|(e, _)| format!("fitted curve (elasticity {e:.2})"));
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
                        if let Some((e, curve)) = curve {
                            let curve: Vec<[f64; 2]> = curve.into_iter().map(|(p, u)| [p, u]).collect();
                            plot.line(
                                Line::new(format!("elasticity {e:.2}"), PlotPoints::from(curve)).color(category_colour(1)).width(2.0),
                            );
                        }
                    });
                ui.label(RichText::new(estimate.reason.clone()).weak());
            });
        });
    }
}

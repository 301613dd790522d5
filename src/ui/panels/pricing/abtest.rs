//! The A/B test tab: one product in two periods, or two groups of products, compared.

use super::*;

/// The A/B test tab's form: the arms as typed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(super) struct AbForm {
    /// Two groups of products instead of one product in two periods.
    groups: bool,
    product: String,
    group_a: String,
    group_b: String,
    a: String,
    b: String,
}

impl PricingPanel {
    /// The A/B test tab: arms typed as in `shoplens pricing abtest`, the comparison, its
    /// warnings and verdict, the daily units chart and the CSV of the metrics.
    pub(super) fn abtest_ui(&mut self, ui: &mut egui::Ui, data: &PricingData, models: &mut PricingModels, requests: &mut Vec<Request>) {
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

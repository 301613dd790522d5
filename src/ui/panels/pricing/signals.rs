//! The Signals tab: what moved in the market, with acknowledge and snooze.

use super::*;

pub(super) const SIGNALS_HELP: &str = "How signals fire\n\
• Competitor drop / rise: a competitor's price moved this much against its own previous observation.\n\
• Own change: our price moved this much. Low stock: the catalogue's stock is below the level.\n\
• Undercut / overpriced: our price is this far below / above the cheapest current competitor price.\n\
• Anomaly: a price this many robust z-scores away from the median of its series' recent history.\n\
• Demand surge: a day's views of a product far above the median of its previous four weeks (events needed).\n\
• A condition that persists fires once; one judged against a threshold clears only at half of it.\n\
The list below leaves out acknowledged and snoozed alerts and what is over the daily cap per product; \
the CSV export lists every signal.";

impl PricingPanel {
    pub(super) fn signals_ui(
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
}

/// Acknowledge / snooze an alert, or undo what was done with it.
pub(super) fn review_buttons(
    ui: &mut egui::Ui,
    review: Option<&Review>,
    key: &SignalKey,
    now: i64,
    action: &mut Option<(SignalKey, Option<Review>)>,
) {
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

//! The Recommendations tab: proposed prices under the markup band, the rules that make them,
//! and the approval queue.

use super::*;

pub(super) const RULES_HELP: &str = "How a price is proposed\n\
1. Optimum: cost·e/(1+e) when the elasticity e is identified (or pooled) and below −1; otherwise the current price.\n\
2. Position: within / beat by / match the cheapest, the average or a named competitor.\n\
3. Max change: at most this far from the current price in one step.\n\
4. Ending: .99 (rounded down, unless that leaves the band).\n\
The markup band cost × (1 + min) … cost × (1 + max) is a hard limit applied after every step.";

impl PricingPanel {
    pub(super) fn recommendations_ui(
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
    pub(super) fn decisions(&self, data: &PricingData, proposals: &[Recommendation]) -> Vec<PriceDecision> {
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
                // What the price set was expected to do, for the Decisions tab to check later.
                let predicted = accepted.then(|| r.expected_at(new_price)).flatten().map(|e| Predicted::central(&e));
                Some(PriceDecision {
                    product_id: id.clone(),
                    old_price: r.current,
                    new_price: Some(new_price),
                    accepted,
                    reasons,
                    decided_by: decided_by.clone(),
                    decided_at: decided_at.clone(),
                    predicted,
                })
            })
            .collect()
    }
}

/// Accept / reject / edit a proposal, or undo that.
pub(super) fn decision_buttons(ui: &mut egui::Ui, queue: &mut BTreeMap<String, Pending>, id: String, r: &Recommendation) {
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

pub(super) fn changes_price(r: &Recommendation) -> bool {
    r.recommended.zip(r.current).is_some_and(|(a, b)| (a - b).abs() >= 0.005)
}

pub(super) fn rules_ui(ui: &mut egui::Ui, models: &mut PricingModels, competitors: &[String]) {
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

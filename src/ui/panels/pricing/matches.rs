//! The Matches by name tab: competitor products keyed by name, each with its suggested match to
//! confirm or reject.

use super::*;

/// Name-keyed competitor feeds: each competitor product's suggested match, best first, to
/// confirm or reject; only confirmed matches are compared (as `shoplens pricing match`).
pub(super) fn matches_ui(
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

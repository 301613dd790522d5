//! The Decisions tab: the decision log.

use super::*;

pub(super) fn decisions_ui(ui: &mut egui::Ui, data: &PricingData, decisions: &[PriceDecision], requests: &mut Vec<Request>) {
    ui.horizontal(|ui| {
        let accepted = decisions.iter().filter(|d| d.accepted).count();
        ui.label(format!(
            "{}: {accepted} accepted, {} rejected. Newest first.",
            widgets::count_of(decisions.len() as u64, "decision", "decisions"),
            decisions.len() - accepted
        ));
        if ui.small_button("CSV").clicked() {
            requests.push(Request::ExportTable { file_name: "price_decisions.csv".into(), table: decisions_table(decisions) });
        }
    });
    if decisions.is_empty() {
        ui.label("No decisions yet: accept or reject proposals on the Recommendations tab.");
        return;
    }
    let (header, mut rows) = decisions_table(decisions);
    // The product by its name where the catalogue has one (the CSV keeps the id alone).
    for row in &mut rows {
        if let Some(code) = data.product_named(&row[0]) {
            row[0] = product_label(data, code);
        }
    }
    widgets::text_table(ui, "price_decisions", &header, &rows, &[false, true, true, false, false, false, false], 600.0);
}

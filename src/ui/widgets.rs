//! The small UI kit every panel shares: number formatting, KPI cards, CSV export.

use eframe::egui::{self, Color32, RichText};

/// `1234567.891` → `1,234,568` (no decimals) or `1,234,567.89`.
pub fn number(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = text.split_once('.').map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let grouped = crate::import::report::group(whole.parse().unwrap_or(0));
    let sign = if value < 0.0 && text.chars().any(|c| c != '0' && c != '.') { "-" } else { "" };
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Money without a currency sign (exports carry no currency); two decimals under 1,000.
pub fn money(value: f64) -> String {
    if value.abs() >= 1000.0 {
        number(value, 0)
    } else {
        number(value, 2)
    }
}

pub fn percent(value: f64) -> String {
    format!("{value:+.1}%")
}

pub const GOOD: Color32 = Color32::from_rgb(46, 160, 67);
pub const BAD: Color32 = Color32::from_rgb(218, 54, 51);

/// A KPI card: label, big value, change against the previous period, definition on hover.
/// `higher_is_better` colours the change (a rising cancellation rate is bad news).
pub fn kpi_card(ui: &mut egui::Ui, label: &str, value: &str, change_pct: Option<f64>, higher_is_better: bool, definition: &str) {
    egui::Frame::group(ui.style())
        .inner_margin(10.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.vertical(|ui| {
                ui.label(RichText::new(label).weak());
                ui.label(RichText::new(value).size(24.0).strong());
                match change_pct {
                    Some(change) => {
                        let good = (change >= 0.0) == higher_is_better;
                        let text = RichText::new(format!("{} vs previous period", percent(change))).color(if good { GOOD } else { BAD });
                        ui.add(egui::Label::new(text).wrap());
                    }
                    None => {
                        ui.add(egui::Label::new(RichText::new("no earlier period to compare").weak()).wrap());
                    }
                }
            });
        })
        .response
        .on_hover_text(definition);
}

/// Writes `rows` under `header` as CSV; returns the number of rows written.
pub fn write_csv(path: &std::path::Path, header: &[String], rows: impl IntoIterator<Item = Vec<String>>) -> Result<usize, String> {
    let mut writer = csv::Writer::from_path(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    writer.write_record(header).map_err(|e| e.to_string())?;
    let mut n = 0;
    for row in rows {
        writer.write_record(&row).map_err(|e| e.to_string())?;
        n += 1;
    }
    writer.flush().map_err(|e| e.to_string())?;
    Ok(n)
}

/// Cuts the chart at `rect` (points) out of a window screenshot and writes it as a PNG.
pub fn save_chart_png(
    screenshot: &egui::ColorImage,
    rect: egui::Rect,
    pixels_per_point: f32,
    path: &std::path::Path,
) -> Result<String, String> {
    let crop = screenshot.region(&rect, Some(pixels_per_point));
    let [w, h] = crop.size;
    let rgba: Vec<u8> = crop.pixels.iter().flat_map(|p| p.to_array()).collect();
    let image = image::RgbaImage::from_raw(w as u32, h as u32, rgba).ok_or("the screenshot was empty")?;
    image.save(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(format!("Saved the chart as {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_cut_out_of_the_screenshot_at_the_screen_scale() {
        // A 40x20 pixel window at 2 pixels per point, red on the left half, blue on the right.
        let mut shot = egui::ColorImage::filled([40, 20], Color32::RED);
        for y in 0..20 {
            for x in 20..40 {
                shot.pixels[y * 40 + x] = Color32::BLUE;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.png");
        let right_half = egui::Rect::from_min_max(egui::pos2(10.0, 0.0), egui::pos2(20.0, 10.0));
        save_chart_png(&shot, right_half, 2.0, &path).unwrap();
        let png = image::open(&path).unwrap().to_rgba8();
        assert_eq!(png.dimensions(), (20, 20));
        assert!(png.pixels().all(|p| p.0 == [0, 0, 255, 255]), "only the blue half");
    }

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(number(1234567.891, 0), "1,234,568");
        assert_eq!(number(-1234.5, 2), "-1,234.50");
        assert_eq!(number(-0.001, 2), "0.00");
        assert_eq!(money(999.5), "999.50");
        assert_eq!(money(9_539_484.63), "9,539,485");
        assert_eq!(percent(12.345), "+12.3%");
    }
}

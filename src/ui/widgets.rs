//! The small UI kit every panel shares: number formatting, KPI cards, CSV export.

use eframe::egui::{self, Color32, RichText};

pub use crate::present::format::{bytes, count_of, day, money, money_decimals, money_in, money_with_decimals, number, percent};

pub const GOOD: Color32 = Color32::from_rgb(46, 160, 67);
pub const BAD: Color32 = Color32::from_rgb(218, 54, 51);

/// The KPI figure's text size when the card has room for it.
const KPI_SIZE: f32 = 24.0;

/// A KPI card: label, big value, change against the previous period, definition on hover.
/// `higher_is_better` colours the change (a rising cancellation rate is bad news).
pub fn kpi_card(ui: &mut egui::Ui, label: &str, value: &str, change_pct: Option<f64>, higher_is_better: bool, definition: &str) {
    egui::Frame::group(ui.style())
        .inner_margin(10.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.vertical(|ui| {
                // A narrow card (a small window with the story sidebar open) shortens the label
                // and shrinks the figure to fit: a number must never break over lines.
                ui.add(egui::Label::new(RichText::new(label).weak()).truncate());
                let natural = ui.painter().layout_no_wrap(value.to_string(), egui::FontId::proportional(KPI_SIZE), Color32::WHITE).size().x;
                let size = (KPI_SIZE * (ui.available_width() / natural.max(1.0))).clamp(12.0, KPI_SIZE);
                ui.add(egui::Label::new(RichText::new(value).size(size).strong()).extend());
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

/// A file's name for messages and labels (the whole path when it has no name).
pub fn display_name(path: &std::path::Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| path.display().to_string())
}

/// A spinner with a line of text, centred: what a panel shows until its first result.
pub fn waiting(ui: &mut egui::Ui, text: &str) {
    ui.vertical_centered(|ui| {
        ui.add_space(60.0);
        ui.spinner();
        ui.label(text);
    });
}

/// A figure without a comparison: label, big value, definition on hover.
pub fn stat_card(ui: &mut egui::Ui, label: &str, value: &str, definition: &str) {
    egui::Frame::group(ui.style())
        .inner_margin(10.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.vertical(|ui| {
                ui.add(egui::Label::new(RichText::new(label).weak()).wrap());
                ui.label(RichText::new(value).size(24.0).strong());
            });
        })
        .response
        .on_hover_text(definition);
}

/// Ten distinct colours (Tableau 10) for categories such as segments and clusters.
pub fn category_colour(index: usize) -> Color32 {
    let [r, g, b] = crate::present::chart::category_colour(index);
    Color32::from_rgb(r, g, b)
}

/// A cell of a [`heat_map`]: its shade (0..=1) and the text written in it.
pub struct HeatCell {
    pub intensity: f32,
    pub text: String,
    pub hover: String,
}

/// A grid of shaded cells with row and column labels. Returns the clicked cell (row, column).
pub fn heat_map(
    ui: &mut egui::Ui,
    row_labels: &[String],
    column_labels: &[String],
    cell_size: egui::Vec2,
    cell: impl Fn(usize, usize) -> Option<HeatCell>,
) -> Option<(usize, usize)> {
    let font = egui::FontId::proportional(12.0);
    let label_width = row_labels.iter().map(|l| l.len()).max().unwrap_or(0) as f32 * 7.0 + 8.0;
    let header = 18.0;
    let size = egui::vec2(label_width + cell_size.x * column_labels.len() as f32, header + cell_size.y * row_labels.len() as f32);
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click());
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    let text_colour = visuals.text_color();
    let base = visuals.extreme_bg_color;
    let strong = Color32::from_rgb(33, 102, 172);
    let origin = rect.min + egui::vec2(label_width, header);
    for (c, label) in column_labels.iter().enumerate() {
        let pos = egui::pos2(origin.x + (c as f32 + 0.5) * cell_size.x, rect.min.y + header / 2.0);
        painter.text(pos, egui::Align2::CENTER_CENTER, label, font.clone(), text_colour);
    }
    let mut hovered = None;
    for (r, label) in row_labels.iter().enumerate() {
        let y = origin.y + r as f32 * cell_size.y;
        painter.text(egui::pos2(rect.min.x + 4.0, y + cell_size.y / 2.0), egui::Align2::LEFT_CENTER, label, font.clone(), text_colour);
        for c in 0..column_labels.len() {
            let cell_rect = egui::Rect::from_min_size(egui::pos2(origin.x + c as f32 * cell_size.x, y), cell_size).shrink(1.0);
            let Some(value) = cell(r, c) else { continue };
            let t = value.intensity.clamp(0.0, 1.0);
            painter.rect_filled(cell_rect, 2.0, lerp_colour(base, strong, 0.08 + 0.92 * t));
            let ink = if t > 0.5 { Color32::WHITE } else { text_colour };
            painter.text(cell_rect.center(), egui::Align2::CENTER_CENTER, &value.text, font.clone(), ink);
            if response.hover_pos().is_some_and(|p| cell_rect.contains(p)) {
                painter.rect_stroke(cell_rect, 2.0, egui::Stroke::new(2.0, text_colour), egui::StrokeKind::Inside);
                hovered = Some((r, c, value.hover));
            }
        }
    }
    let clicked = response.clicked();
    if let Some((r, c, text)) = hovered {
        if !text.is_empty() {
            response.on_hover_text_at_pointer(text);
        }
        if clicked {
            return Some((r, c));
        }
    }
    None
}

fn lerp_colour(a: Color32, b: Color32, t: f32) -> Color32 {
    let mix = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t).round() as u8;
    Color32::from_rgb(mix(a.r(), b.r()), mix(a.g(), b.g()), mix(a.b(), b.b()))
}

/// A squarified treemap (Bruls, Huizing & van Wijk 2000) of `(label, value, colour)`; values
/// ≤ 0 are left out. Returns the index of the clicked item.
pub fn treemap(ui: &mut egui::Ui, items: &[(String, f64, Color32)], size: egui::Vec2) -> Option<usize> {
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click());
    let painter = ui.painter_at(rect);
    let mut order: Vec<usize> = (0..items.len()).filter(|&i| items[i].1 > 0.0).collect();
    order.sort_by(|&a, &b| items[b].1.total_cmp(&items[a].1));
    let total: f64 = order.iter().map(|&i| items[i].1).sum();
    if total <= 0.0 {
        return None;
    }
    let area = f64::from(rect.width() * rect.height());
    let areas: Vec<(usize, f64)> = order.iter().map(|&i| (i, items[i].1 / total * area)).collect();
    let mut placed = Vec::new();
    squarify(&areas, rect, &mut placed);
    let mut hovered = None;
    for (i, r) in placed {
        let (label, value, colour) = &items[i];
        let cell = r.shrink(1.0);
        painter.rect_filled(cell, 3.0, *colour);
        let share = value / total * 100.0;
        let text = format!("{label}\n{share:.1}%");
        // No wrapping: a label split mid-word reads worse than none (the hover names every cell).
        let galley = painter.layout_no_wrap(text, egui::FontId::proportional(12.0), Color32::BLACK);
        if galley.size().x <= cell.width() - 4.0 && galley.size().y <= cell.height() - 4.0 {
            painter.galley(cell.min + egui::vec2(4.0, 3.0), galley, Color32::BLACK);
        }
        if response.hover_pos().is_some_and(|p| cell.contains(p)) {
            painter.rect_stroke(cell, 3.0, egui::Stroke::new(2.0, Color32::BLACK), egui::StrokeKind::Inside);
            hovered = Some((i, format!("{label}: {} ({share:.1}%)", number(*value, 0))));
        }
    }
    let clicked = response.clicked();
    if let Some((i, text)) = hovered {
        response.on_hover_text_at_pointer(text);
        if clicked {
            return Some(i);
        }
    }
    None
}

/// Lays `areas` (sorted, largest first) out in `rect`, one row at a time along the short side,
/// adding items to a row while that improves its worst aspect ratio.
fn squarify(areas: &[(usize, f64)], rect: egui::Rect, out: &mut Vec<(usize, egui::Rect)>) {
    if areas.is_empty() || rect.width() < 1.0 || rect.height() < 1.0 {
        return;
    }
    let short = f64::from(rect.width().min(rect.height()));
    let worst = |row: &[(usize, f64)]| {
        let sum: f64 = row.iter().map(|r| r.1).sum();
        let (max, min) = row.iter().fold((0.0f64, f64::MAX), |(mx, mn), r| (mx.max(r.1), mn.min(r.1)));
        ((short * short * max) / (sum * sum)).max((sum * sum) / (short * short * min))
    };
    let mut n = 1;
    while n < areas.len() && worst(&areas[..n + 1]) <= worst(&areas[..n]) {
        n += 1;
    }
    let row = &areas[..n];
    let sum: f64 = row.iter().map(|r| r.1).sum();
    let thickness = (sum / short) as f32;
    let mut offset = 0.0f32;
    let horizontal = rect.width() >= rect.height();
    for &(i, a) in row {
        let length = (a / f64::from(thickness)) as f32;
        let r = if horizontal {
            egui::Rect::from_min_size(egui::pos2(rect.min.x, rect.min.y + offset), egui::vec2(thickness, length))
        } else {
            egui::Rect::from_min_size(egui::pos2(rect.min.x + offset, rect.min.y), egui::vec2(length, thickness))
        };
        out.push((i, r));
        offset += length;
    }
    let rest = if horizontal {
        egui::Rect::from_min_max(egui::pos2(rect.min.x + thickness, rect.min.y), rect.max)
    } else {
        egui::Rect::from_min_max(egui::pos2(rect.min.x, rect.min.y + thickness), rect.max)
    };
    squarify(&areas[n..], rest, out);
}

/// A plot as the window draws every plot: labelled y marks at round steps of 1, 2 or 5 times a
/// power of ten (a short range still gets several, not a single "13"), and the scroll wheel
/// scrolling the page, not panning the plot, until the plot is clicked into (a press inside
/// it; a press anywhere else hands the wheel back to the page). Drag and Ctrl+wheel always
/// move and zoom it.
pub fn plot<'a>(ui: &egui::Ui, id_salt: impl egui::AsIdSalt) -> egui_plot::Plot<'a> {
    let id = ui.make_persistent_id(id_salt);
    egui_plot::Plot::new(id)
        .id(id)
        .y_grid_spacer(egui_plot::uniform_grid_spacer(round_steps))
        .y_axis_formatter(|mark, range| if labelled_mark(mark, range) { axis_number(mark) } else { String::new() })
        .allow_scroll(takes_wheel(ui, id))
}

/// Whether a y mark is one of the round steps [`round_steps`] labels (0, 500,000, 1,000,000),
/// not a fine line between them: a label on every fine line reads as a wall of numbers.
pub fn labelled_mark(mark: egui_plot::GridMark, range: &std::ops::RangeInclusive<f64>) -> bool {
    // The spacer may have chosen a coarser labelled step (tiny plots): never hide those.
    mark.step_size >= round_step((range.end() - range.start()).abs() / 5.0) * 0.999
}

/// A y mark with thousands separators and as many decimals as its step needs ("5,600", "0.25").
fn axis_number(mark: egui_plot::GridMark) -> String {
    let decimals = (-mark.step_size.log10().floor()).clamp(0.0, 6.0) as usize;
    number(mark.value, decimals)
}

/// Whether the plot `id` has been clicked into, noting this frame's press: the plot's frame as
/// last drawn (its memory) says whether the press was inside it.
fn takes_wheel(ui: &egui::Ui, id: egui::Id) -> bool {
    let engaged_key = egui::Id::unique("shoplens_engaged_plot");
    let engaged = ui.ctx().data(|d| d.get_temp::<egui::Id>(engaged_key)) == Some(id);
    let press = ui.input(|i| i.pointer.any_pressed().then(|| i.pointer.press_origin()).flatten());
    let Some(press) = press else { return engaged };
    let inside = egui_plot::PlotMemory::load(ui.ctx(), id).is_some_and(|m| m.transform().frame().contains(press));
    if inside {
        ui.ctx().data_mut(|d| d.insert_temp(engaged_key, id));
    } else if engaged {
        ui.ctx().data_mut(|d| d.remove::<egui::Id>(engaged_key));
    }
    inside
}

/// A plot's legend on a line of its own above it (a swatch and the name of each series):
/// inside the plot a legend covers the data and the hover label. Returns where it was drawn.
pub fn legend_row(ui: &mut egui::Ui, entries: &[(&str, egui::Color32)]) -> egui::Rect {
    ui.horizontal_wrapped(|ui| {
        for &(name, colour) in entries {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 2.0, colour);
            ui.label(name);
            ui.add_space(8.0);
        }
    })
    .response
    .rect
}

/// Grid steps for a plot axis: the labelled step is the round step (1, 2 or 5 × 10^k) giving
/// about five marks, never closer than egui_plot can label (five of its minimal steps); a fine
/// step below it and a coarse one above.
fn round_steps(input: egui_plot::GridInput) -> [f64; 3] {
    let (low, high) = input.bounds;
    let labelled = round_step(((high - low).abs() / 5.0).max(input.base_step_size * 5.0));
    [labelled / 5.0, labelled, labelled * 10.0]
}

/// The smallest round step (1, 2 or 5 times a power of ten) at least `wanted`.
fn round_step(wanted: f64) -> f64 {
    let wanted = wanted.max(f64::MIN_POSITIVE);
    let power = 10f64.powf(wanted.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|step| *step >= wanted).unwrap_or(10.0 * power)
}

/// The width a text column keeps when a table is squeezed ("Dec 2009", a product name's start),
/// or its whole width when narrower.
pub const READABLE_TEXT: f64 = 110.0;

/// A virtualised table of text cells: only the visible rows are laid out, so lists of tens of
/// thousands of customers scroll smoothly. `numeric` columns are right-aligned; headings are
/// shown in words.
pub fn text_table(ui: &mut egui::Ui, id: &str, header: &[String], rows: &[Vec<String>], numeric: &[bool], height: f32) {
    draw_table(ui, id, header, rows, numeric, height, false, None);
}

/// [`text_table`] whose rows can be picked: the first cell of each row is a selectable label,
/// `selected` is highlighted, and the row clicked this frame is returned.
pub fn pick_table(
    ui: &mut egui::Ui,
    id: &str,
    header: &[String],
    rows: &[Vec<String>],
    numeric: &[bool],
    height: f32,
    selected: Option<usize>,
) -> Option<usize> {
    draw_table(ui, id, header, rows, numeric, height, true, selected)
}

#[allow(clippy::too_many_arguments)]
fn draw_table(
    ui: &mut egui::Ui,
    id: &str,
    header: &[String],
    rows: &[Vec<String>],
    numeric: &[bool],
    height: f32,
    pickable: bool,
    selected: Option<usize>,
) -> Option<usize> {
    let mut clicked = None;
    ui.push_id(id, |ui| {
        let (available, spacing) = (ui.available_width(), ui.spacing().item_spacing.x);
        egui::ScrollArea::horizontal().id_salt("h").show(ui, |ui| {
            let mut builder = egui_extras::TableBuilder::new(ui)
                .striped(true)
                .resizable(true)
                .max_scroll_height(height)
                .min_scrolled_height(height.min(200.0));
            // As wide as the header or the first rows' text, within reason; in a narrow window
            // the text columns give way first, so the figures are not cut (the rest scrolls).
            let wanted: Vec<f64> = header
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let widest = rows.iter().take(50).filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0);
                    let widest = widest.max(crate::present::format::column_label(name).chars().count());
                    f64::from((widest as f32 * 7.5 + 12.0).clamp(60.0, 300.0))
                })
                .collect();
            // Each column adds its spacing to the width it is given.
            let room = f64::from(available) - header.len() as f64 * f64::from(spacing);
            // A text column keeps enough to be read; what still does not fit scrolls.
            let fitted = crate::present::format::fit_widths(&wanted, numeric, room);
            for (width, wanted) in fitted.into_iter().zip(&wanted) {
                let width = width.max(wanted.min(READABLE_TEXT)) as f32;
                builder = builder.column(egui_extras::Column::initial(width.max(40.0)).at_least(40.0).clip(true));
            }
            builder
                .header(22.0, |mut row| {
                    for name in header {
                        row.col(|ui| {
                            // Machine names (the CSV's) read as words: "share_of_customers" →
                            // "Share of customers"; headings already in words are unchanged.
                            ui.strong(crate::present::format::column_label(name));
                        });
                    }
                })
                .body(|body| {
                    body.rows(20.0, rows.len(), |mut row| {
                        let index = row.index();
                        let cells = &rows[index];
                        row.set_selected(selected == Some(index));
                        for (i, cell) in cells.iter().enumerate() {
                            row.col(|ui| {
                                if pickable && i == 0 {
                                    if ui.selectable_label(selected == Some(index), cell).clicked() {
                                        clicked = Some(index);
                                    }
                                } else if numeric.get(i).copied().unwrap_or(false) {
                                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| ui.label(cell));
                                } else {
                                    ui.label(cell);
                                }
                            });
                        }
                    });
                });
        });
    });
    clicked
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

    #[test]
    fn only_the_round_steps_are_labelled() {
        // 0..1,600,000: the labelled step is 500,000 (about five marks), fine lines every 100,000.
        let range = 0.0..=1_600_000.0;
        assert!(labelled_mark(egui_plot::GridMark { value: 500_000.0, step_size: 500_000.0 }, &range));
        assert!(!labelled_mark(egui_plot::GridMark { value: 300_000.0, step_size: 100_000.0 }, &range));
        assert!(labelled_mark(egui_plot::GridMark { value: 0.0, step_size: 5_000_000.0 }, &range));
    }

    #[test]
    fn axis_marks_group_thousands_and_keep_the_decimals_their_step_needs() {
        let mark = |value, step_size| axis_number(egui_plot::GridMark { value, step_size });
        assert_eq!(mark(5600.0, 400.0), "5,600");
        assert_eq!(mark(0.25, 0.05), "0.25");
        assert_eq!(mark(12.0, 0.5), "12.0");
        assert_eq!(mark(-40.0, 20.0), "-40");
    }
}

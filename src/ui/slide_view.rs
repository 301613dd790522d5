//! A story's slide in presentation mode, drawn from the same [`Slide`] the HTML and PDF reports
//! print: the view's title and caption, its headline figures, the one chart or table it was
//! saved to show (large, fitted to the screen, no buttons), and the analyst's notes as a
//! footnote at the bottom, never first.

use eframe::egui::{self, Align, Color32, Layout, RichText};
use egui_extras::{Column, TableBuilder};

use crate::present::chart::Chart;
use crate::present::slide::{Focused, Slide, SlideTable};
use crate::ui::widgets::READABLE_TEXT;

/// Draws `slide`, number `number` of `count`, in the whole of `ui`.
pub fn show(ui: &mut egui::Ui, slide: &Slide, number: usize, count: usize) {
    ui.horizontal(|ui| {
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            ui.label(RichText::new(format!("{number} / {count}   arrow keys step · Esc leaves")).weak());
            ui.with_layout(Layout::left_to_right(Align::Center), |ui| {
                ui.add(egui::Label::new(RichText::new(&slide.title).size(30.0).strong()).wrap());
            });
        });
    });
    if !slide.caption.is_empty() {
        ui.add(egui::Label::new(RichText::new(&slide.caption).size(19.0)).wrap());
    }
    ui.label(RichText::new(slide.meta_line(false)).weak());
    ui.add_space(8.0);
    if !slide.figures.is_empty() {
        figures(ui, slide);
        ui.add_space(8.0);
    }
    // The footnote's lines are kept free at the bottom; the chart or table takes the rest.
    let notes: Vec<&String> = slide.notes.iter().take(3).collect();
    let footnote = if notes.is_empty() { 0.0 } else { 8.0 + 18.0 * notes.len() as f32 };
    match slide.focused() {
        Some(Focused::Chart(chart)) => chart_with_legend_above(ui, chart, footnote),
        Some(Focused::Table(table)) => table_fitted(ui, table, footnote),
        None => {}
    }
    if !notes.is_empty() {
        ui.add_space(8.0);
        for note in notes {
            ui.add(egui::Label::new(RichText::new(format!("Note: {note}")).small().weak()).truncate());
        }
    }
}

fn figures(ui: &mut egui::Ui, slide: &Slide) {
    ui.horizontal_wrapped(|ui| {
        for f in &slide.figures {
            egui::Frame::group(ui.style()).inner_margin(egui::Margin::symmetric(14, 8)).show(ui, |ui| {
                ui.vertical(|ui| {
                    ui.label(RichText::new(&f.label).weak());
                    ui.label(RichText::new(&f.value).size(28.0).strong());
                    if let Some(under) = &f.under {
                        ui.label(RichText::new(under).weak());
                    }
                });
            });
        }
    });
}

/// The chart's title, then the chart (its legend above the plot) down to `footnote` above the
/// bottom.
fn chart_with_legend_above(ui: &mut egui::Ui, chart: &Chart, footnote: f32) {
    ui.label(RichText::new(&chart.title).size(18.0).strong());
    let legend = if chart.legend { 24.0 } else { 0.0 };
    let height = (ui.available_height() - footnote - legend - 8.0).max(100.0);
    super::chart_view::show(ui, chart, "slide", height);
}

/// Fitted widths where each text column keeps enough to be read (its wanted width, up to
/// [`READABLE_TEXT`]: "Dec 2009", not "Dec …"), taken from the number columns in proportion: their
/// wanted widths carry a heading's margin, so a few pixels each cost no digit.
fn readable_text(mut widths: Vec<f64>, wanted: &[f64], numeric: &[bool]) -> Vec<f64> {
    let short: f64 = (0..widths.len()).filter(|&i| !numeric[i]).map(|i| (wanted[i].min(READABLE_TEXT) - widths[i]).max(0.0)).sum();
    let numbers: f64 = (0..widths.len()).filter(|&i| numeric[i]).map(|i| widths[i]).sum();
    if short <= 0.0 || numbers <= short * 4.0 {
        return widths;
    }
    for i in 0..widths.len() {
        widths[i] = match numeric[i] {
            true => widths[i] * (1.0 - short / numbers),
            false => widths[i].max(wanted[i].min(READABLE_TEXT)),
        };
    }
    widths
}

/// The table, as many rows as fit above `footnote`, the rest counted below it.
fn table_fitted(ui: &mut egui::Ui, table: &SlideTable, footnote: f32) {
    const ROW: f32 = 24.0;
    ui.label(RichText::new(&table.title).size(18.0).strong());
    let fits = (((ui.available_height() - footnote - ROW - 30.0) / ROW).floor().max(3.0)) as usize;
    let shown = table.rows.len().min(fits);
    let columns = table.header.len();
    // Each column as wide as its widest text; when they do not all fit the screen, the text
    // columns give way (cut in their cells) so that no column is pushed off the slide.
    let measure = |ui: &egui::Ui, text: &str, strong: bool| {
        let font = egui::TextStyle::Body.resolve(ui.style());
        let colour = ui.visuals().text_color();
        let text = if strong { format!("{text}  ") } else { text.to_string() };
        ui.fonts_mut(|f| f.layout_no_wrap(text, font, colour).size().x) + 12.0
    };
    let wanted: Vec<f64> = (0..columns)
        .map(|i| {
            let cells = table.rows.iter().take(shown).filter_map(|r| r.get(i)).map(|c| measure(ui, c, false));
            f64::from(cells.fold(measure(ui, &table.header[i], true), f32::max))
        })
        .collect();
    let room = ui.available_width() - 8.0 * columns as f32;
    let numeric: Vec<bool> = (0..columns).map(|i| table.numeric(i)).collect();
    let widths = readable_text(table.fit_widths(&wanted, f64::from(room)), &wanted, &numeric);
    let mut builder = TableBuilder::new(ui).striped(true).vscroll(false).cell_layout(Layout::left_to_right(Align::Center));
    for width in &widths {
        builder = builder.column(Column::exact(*width as f32).clip(true));
    }
    let cell = |ui: &mut egui::Ui, text: &str, numeric: bool, shade: Option<f64>, heading: bool| {
        if let Some(v) = shade {
            let [r, g, b] = crate::present::chart::heat_colour(v);
            ui.painter().rect_filled(ui.max_rect(), 0.0, Color32::from_rgb(r, g, b));
        }
        let text = if heading {
            RichText::new(text).strong()
        } else {
            RichText::new(text).color(if shade.is_some() { Color32::from_gray(30) } else { ui.visuals().text_color() })
        };
        if numeric {
            ui.with_layout(Layout::right_to_left(Align::Center), |ui| ui.label(text));
        } else {
            ui.label(text);
        }
    };
    builder
        .header(ROW, |mut header| {
            for (i, heading) in table.header.iter().enumerate() {
                header.col(|ui| cell(ui, heading, table.numeric(i), None, true));
            }
        })
        .body(|mut body| {
            for (r, row) in table.rows.iter().take(shown).enumerate() {
                body.row(ROW, |mut cells| {
                    for (i, text) in row.iter().enumerate().take(columns) {
                        let shade = table.shade.as_ref().and_then(|s| s.get(r)?.get(i).copied().flatten());
                        cells.col(|ui| cell(ui, text, table.numeric(i), shade, false));
                    }
                });
            }
        });
    if let Some(note) = crate::present::slide::left_out_note(table.rows.len() - shown + table.more) {
        ui.label(RichText::new(note).weak());
    }
}

//! Draws a [`Chart`] description with egui_plot: the window's face of the charts a report
//! prints (`present::svg`, `present::pdf`), placed by the same `Chart::bar_boxes`.

use eframe::egui::{self, Color32};
use egui_plot::{Bar, BarChart, Line, PlotPoints};

use crate::present::chart::{Chart, Rgb, SeriesKind, XAxis};

fn colour([r, g, b]: Rgb) -> Color32 {
    Color32::from_rgb(r, g, b)
}

/// Draws `chart` `height` points tall; `id_salt` tells apart charts of the same title (a new
/// salt, e.g. a new period, refits the view instead of keeping the old zoom).
pub fn show(ui: &mut egui::Ui, chart: &Chart, id_salt: impl std::hash::Hash + std::fmt::Debug, height: f32) -> egui_plot::PlotResponse<()> {
    let x_axis = chart.x.clone();
    let y_format = chart.y_format;
    let ([x_min, x_max], _) = chart.bounds();
    let mut plot = super::widgets::plot(ui, (chart.title.as_str(), id_salt))
        .height(height)
        .x_axis_formatter(move |mark, _| {
            // Months padded around a short range are space, not empty months: no names there.
            if x_axis == XAxis::Months && (mark.value < x_min - 0.01 || mark.value > x_max + 0.01) {
                return String::new();
            }
            let label = x_axis.label(mark.value);
            // A long category name on two lines: egui_plot leaves out a mark it cannot fit.
            match &x_axis {
                XAxis::Categories(_) if label.chars().count() > 12 => crate::present::marks::split_in_two(&label).join("\n"),
                _ => label,
            }
        })
        .y_axis_formatter(
            move |mark, range| if super::widgets::labelled_mark(mark, range) { y_format.axis(mark.value) } else { String::new() },
        );
    if chart.x == XAxis::Months && x_max - x_min < 6.0 {
        // As the report does: a month or two is not drawn as a wall of colour.
        let centre = (x_min + x_max) / 2.0;
        plot = plot.include_x(centre - 3.0).include_x(centre + 3.0);
    }
    plot = match &chart.x {
        XAxis::Months => plot.x_grid_spacer(egui_plot::uniform_grid_spacer(|_| [1.0, 3.0, 12.0])),
        // Categories have nothing between them to zoom into.
        XAxis::Categories(_) => {
            plot.allow_drag(false).allow_zoom(false).x_grid_spacer(egui_plot::uniform_grid_spacer(|_| [1.0, 5.0, 10.0]))
        }
        XAxis::Numbers { label, .. } => plot.x_axis_label(label.clone()),
    };
    if !chart.y_label.is_empty() {
        plot = plot.y_axis_label(chart.y_label.clone());
    }
    let mut legend = None;
    if chart.legend {
        // The legend on a line of its own above the plot: inside, it would cover the bars (and
        // the hover text) the chart is about.
        legend = Some(legend_above(ui, chart));
    }
    let nothing = chart.nothing_to_draw();
    if nothing.is_some() {
        // A positive unit box without value marks, rather than an axis running negative around
        // nothing (or whole-number marks reading 0, 0, 1, 1).
        plot = plot.default_y_bounds(0.0, 1.0).show_axes([true, false]);
    }
    if chart.is_empty() {
        plot = plot.default_x_bounds(0.0, 1.0).show_axes(false).show_grid(false);
    }
    let hover_x = chart.x.clone();
    plot = plot.label_formatter(move |hover| match hover {
        egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => {
            Some(format!("{}\n{plot_name}: {}", hover_x.point_name(position.x), y_format.format(position.y)))
        }
        egui_plot::HoverPosition::Elsewhere { .. } => None,
    });
    let marker_colour = ui.visuals().text_color();
    let mut shown = plot.show(ui, |plot_ui| {
        let mut bar_index = 0;
        for series in &chart.series {
            match series.kind {
                SeriesKind::Bars => {
                    let name = series.name.clone();
                    let x_axis = chart.x.clone();
                    let bars: Vec<Bar> = chart
                        .bar_boxes(bar_index)
                        .into_iter()
                        .zip(&series.points)
                        .map(|((centre, width, base, top), &(x, _))| {
                            Bar::new(centre, top - base).base_offset(base).width(width).name(x_axis.point_name(x))
                        })
                        .collect();
                    plot_ui.bar_chart(
                        BarChart::new(series.name.as_str(), bars)
                            .color(colour(series.colour))
                            .element_formatter(Box::new(move |bar, _| format!("{}\n{name}: {}", bar.name, y_format.format(bar.value)))),
                    );
                    bar_index += 1;
                }
                SeriesKind::Line => {
                    let points: Vec<[f64; 2]> = series.points.iter().map(|&(x, y)| [x, y]).collect();
                    plot_ui.line(Line::new(series.name.as_str(), PlotPoints::from(points)).color(colour(series.colour)).width(2.0));
                }
            }
        }
        if let Some((x, label)) = &chart.marker {
            plot_ui.vline(egui_plot::VLine::new(label.as_str(), *x).color(marker_colour).width(1.0));
        }
    });
    if let Some(text) = nothing {
        let colour = ui.visuals().weak_text_color();
        ui.painter().text(shown.response.rect.center(), egui::Align2::CENTER_CENTER, text, egui::FontId::proportional(14.0), colour);
    }
    // A saved PNG (the caller's rect) keeps the legend with the plot.
    if let Some(legend) = legend {
        shown.response.rect = shown.response.rect.union(legend);
    }
    shown
}

/// A swatch and the name of each series, in a row; returns where it was drawn.
fn legend_above(ui: &mut egui::Ui, chart: &Chart) -> egui::Rect {
    let entries: Vec<(&str, Color32)> = chart.series.iter().map(|s| (s.name.as_str(), colour(s.colour))).collect();
    super::widgets::legend_row(ui, &entries)
}

/// A chart's title (its definition on hover) with a PNG button; true when the button was clicked.
pub fn title(ui: &mut egui::Ui, chart: &Chart) -> bool {
    ui.horizontal(|ui| {
        let title = ui.strong(chart.title.as_str());
        if !chart.note.is_empty() {
            title.on_hover_text(chart.note.as_str());
        }
        ui.small_button("PNG").on_hover_text("Save this chart as a PNG image").clicked()
    })
    .inner
}

//! A chart laid out as marks (rectangles, polylines, text) in a box, top-left origin, in
//! points. The SVG and PDF writers only translate marks, so both print the same picture.

use super::chart::{nice_ticks, Chart, Rgb, SeriesKind, XAxis};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    Rect { x: f64, y: f64, width: f64, height: f64, fill: Rgb },
    Polyline { points: Vec<(f64, f64)>, stroke: Rgb, width: f64 },
    Text { x: f64, y: f64, text: String, size: f64, anchor: Anchor, fill: Rgb },
}

const INK: Rgb = [40, 40, 40];
const MUTED: Rgb = [110, 110, 110];
const GRID: Rgb = [225, 225, 225];
const AXIS_TEXT: f64 = 8.0;

/// Width of `text` at `size` points in the report's font (the PDF sets it in that font; a
/// browser's sans-serif for the SVG is close enough for spacing).
pub fn text_width(text: &str, size: f64) -> f64 {
    super::typeset::width(text, size, super::typeset::Weight::Regular)
}

/// Lays `chart` out in a `width` × `height` box at the origin (the chart's title is printed
/// by the page, not here).
pub fn layout(chart: &Chart, width: f64, height: f64) -> Vec<Mark> {
    if let Some(text) = chart.nothing_to_draw() {
        // Said in words, as the window does, rather than bare axes around nothing.
        let text = text.to_string();
        return vec![Mark::Text { x: width / 2.0, y: height / 2.0, text, size: 9.0, anchor: Anchor::Middle, fill: MUTED }];
    }
    let mut marks = Vec::new();
    let ([mut x_min, mut x_max], [y_min, y_max]) = chart.bounds();
    // Marks name only the data's own slots: the padding below is space, not empty months.
    let data_slots = (x_min.ceil() as i64, x_max.floor() as i64);
    // A month or two would be drawn as a wall of colour: show at least half a year's width.
    if chart.x == XAxis::Months && x_max - x_min < 6.0 {
        let centre = (x_min + x_max) / 2.0;
        (x_min, x_max) = (centre - 3.0, centre + 3.0);
    }
    let y_max = y_max + (y_max - y_min) * 0.05;
    let legend_height = if chart.legend { 14.0 } else { 0.0 };
    let y_ticks = nice_ticks(y_min, y_max, 5);
    let label_width = y_ticks.iter().map(|t| text_width(&chart.y_format.axis(*t), AXIS_TEXT)).fold(0.0, f64::max);
    let left = label_width + 6.0 + if chart.y_label.is_empty() { 0.0 } else { 12.0 };
    let y_label_height = if chart.y_label.is_empty() { 0.0 } else { 12.0 };
    let (top, bottom, right) = (legend_height + y_label_height + 4.0, height - 28.0, width - 6.0);
    let pad = if chart.series.iter().any(|s| s.kind == SeriesKind::Bars) { 0.0 } else { (x_max - x_min).max(1e-9) * 0.02 };
    let (x_lo, x_hi) = (x_min - pad, x_max + pad);
    let sx = |x: f64| left + (x - x_lo) / (x_hi - x_lo).max(1e-9) * (right - left);
    let sy = |y: f64| bottom - (y - y_min) / (y_max - y_min).max(1e-9) * (bottom - top);

    for tick in &y_ticks {
        let y = sy(*tick);
        marks.push(Mark::Polyline { points: vec![(left, y), (right, y)], stroke: GRID, width: 0.6 });
        marks.push(Mark::Text {
            x: left - 4.0,
            y: y + AXIS_TEXT * 0.35,
            text: chart.y_format.axis(*tick),
            size: AXIS_TEXT,
            anchor: Anchor::End,
            fill: MUTED,
        });
    }
    if !chart.y_label.is_empty() {
        // Above the axis, under the legend.
        let y = legend_height + y_label_height;
        marks.push(Mark::Text { x: 2.0, y, text: chart.y_label.clone(), size: AXIS_TEXT, anchor: Anchor::Start, fill: MUTED });
    }
    // X marks: every slot while they fit (names on two lines if that makes them fit), else
    // every k-th.
    let mut two_lines = false;
    let x_ticks: Vec<f64> = match &chart.x {
        XAxis::Numbers { .. } => nice_ticks(x_lo, x_hi, 8),
        _ => {
            let (first, last) = data_slots;
            let slots: Vec<f64> = (first..=last).map(|i| i as f64).collect();
            let widest = slots.iter().map(|x| text_width(&chart.x.label(*x), AXIS_TEXT)).fold(1.0, f64::max);
            let room = (right - left) / slots.len().max(1) as f64;
            let widest_split = slots
                .iter()
                .map(|x| split_in_two(&chart.x.label(*x)).iter().map(|l| text_width(l, AXIS_TEXT)).fold(1.0, f64::max))
                .fold(1.0, f64::max);
            two_lines = matches!(chart.x, XAxis::Categories(_)) && widest > room * 0.95 && widest_split <= room * 0.95;
            let every = if two_lines { 1 } else { (widest / room).ceil().max(1.0) as usize };
            slots.into_iter().enumerate().filter(|(i, _)| i % every == 0).map(|(_, x)| x).collect()
        }
    };
    for x in x_ticks {
        let label = chart.x.label(x);
        let lines = if two_lines { split_in_two(&label) } else { vec![label] };
        for (k, line) in lines.into_iter().enumerate() {
            let y = bottom + 11.0 + k as f64 * 9.0;
            marks.push(Mark::Text { x: sx(x), y, text: line, size: AXIS_TEXT, anchor: Anchor::Middle, fill: MUTED });
        }
    }
    if let XAxis::Numbers { label, .. } = &chart.x {
        marks.push(Mark::Text {
            x: (left + right) / 2.0,
            y: bottom + 24.0,
            text: label.clone(),
            size: AXIS_TEXT,
            anchor: Anchor::Middle,
            fill: MUTED,
        });
    }
    marks.push(Mark::Polyline { points: vec![(left, bottom), (right, bottom)], stroke: MUTED, width: 0.8 });

    let mut bar_index = 0;
    for series in &chart.series {
        match series.kind {
            SeriesKind::Bars => {
                for (centre, bar_width, base, top_value) in chart.bar_boxes(bar_index) {
                    let (x0, x1) = (sx(centre - bar_width / 2.0), sx(centre + bar_width / 2.0));
                    let (y0, y1) = (sy(top_value.max(base)), sy(top_value.min(base)));
                    marks.push(Mark::Rect { x: x0, y: y0, width: (x1 - x0).max(0.5), height: (y1 - y0).max(0.0), fill: series.colour });
                }
                bar_index += 1;
            }
            SeriesKind::Line => {
                let points = series.points.iter().map(|&(x, y)| (sx(x), sy(y))).collect();
                marks.push(Mark::Polyline { points, stroke: series.colour, width: 1.8 });
            }
        }
    }
    if let Some((x, label)) = &chart.marker {
        let x = sx(*x);
        marks.push(Mark::Polyline { points: vec![(x, top), (x, bottom)], stroke: INK, width: 1.0 });
        marks.push(Mark::Text { x: x + 3.0, y: top + AXIS_TEXT, text: label.clone(), size: AXIS_TEXT, anchor: Anchor::Start, fill: INK });
    }
    if chart.legend {
        let mut x = left;
        for series in &chart.series {
            marks.push(Mark::Rect { x, y: 3.0, width: 8.0, height: 8.0, fill: series.colour });
            marks.push(Mark::Text { x: x + 11.0, y: 10.5, text: series.name.clone(), size: AXIS_TEXT, anchor: Anchor::Start, fill: INK });
            x += 11.0 + text_width(&series.name, AXIS_TEXT) + 12.0;
        }
    }
    marks
}

/// A name on two lines, broken at the space nearest its middle ("Potential" / "Loyalists");
/// one line when it has no space.
pub fn split_in_two(name: &str) -> Vec<String> {
    let middle = name.len() / 2;
    let best = name.match_indices(' ').map(|(i, _)| i).min_by_key(|&i| i.abs_diff(middle));
    match best {
        Some(i) => vec![name[..i].to_string(), name[i + 1..].to_string()],
        None => vec![name.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::present::chart::{Series, ValueFormat, PALETTE};

    /// Hand-checked: a bar of half the axis' top reaches half-way up the plot area.
    #[test]
    fn bars_scale_to_the_plot_area() {
        let chart = Chart::new("t", XAxis::Categories(vec!["a".into(), "b".into()]), ValueFormat::Count).series(Series::bars(
            "n",
            PALETTE[0],
            vec![(0.0, 50.0), (1.0, 100.0)],
        ));
        let marks = layout(&chart, 300.0, 200.0);
        let bars: Vec<(f64, f64)> =
            marks.iter().filter_map(|m| if let Mark::Rect { y, height, .. } = m { Some((*y, *height)) } else { None }).collect();
        assert_eq!(bars.len(), 2);
        // The axis runs to 105 (5% headroom): the 100 bar is 100/105 of the area, the 50 bar half that.
        assert!((bars[1].1 / bars[0].1 - 2.0).abs() < 1e-9);
        let texts: Vec<&str> =
            marks.iter().filter_map(|m| if let Mark::Text { text, .. } = m { Some(text.as_str()) } else { None }).collect();
        assert!(texts.contains(&"a") && texts.contains(&"b") && texts.contains(&"100"));
    }

    /// A chart with no data, or only zeros, is said in words instead of drawn as bare axes.
    #[test]
    fn nothing_to_draw_is_said() {
        let zeros = Chart::new("t", XAxis::Categories(vec!["a".into()]), ValueFormat::Count).series(Series::bars(
            "n",
            PALETTE[0],
            vec![(0.0, 0.0)],
        ));
        let marks = layout(&zeros, 300.0, 200.0);
        assert!(matches!(&marks[..], [Mark::Text { text, .. }] if text.starts_with("Every value is 0")));
        let empty = Chart::new("t", XAxis::Months, ValueFormat::Count).series(Series::bars("n", PALETTE[0], Vec::new()));
        assert!(matches!(&layout(&empty, 300.0, 200.0)[..], [Mark::Text { text, .. }] if text.starts_with("Nothing to draw")));
    }
}

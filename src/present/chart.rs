//! One description of a chart, drawn by two writers: egui_plot in the window
//! (`ui::chart_view`) and SVG/PDF in the report (`present::svg`, `present::pdf`). A panel and a
//! report build the same [`Chart`] from the same result, so the screen and the page cannot drift.

use crate::analytics::order_frame::month_start;

/// A colour as RGB bytes (the analytics side knows nothing of egui's colour type).
pub type Rgb = [u8; 3];

/// Colours of categories (steps, segments, series), in order; the window and the report share it.
pub const PALETTE: [Rgb; 10] = [
    [78, 121, 167],
    [242, 142, 43],
    [89, 161, 79],
    [225, 87, 89],
    [118, 183, 178],
    [237, 201, 72],
    [176, 122, 161],
    [255, 157, 167],
    [156, 117, 95],
    [186, 176, 172],
];

pub fn category_colour(index: usize) -> Rgb {
    PALETTE[index % PALETTE.len()]
}

/// A heat map cell's colour: pale to the palette's blue as `v` goes from 0 to 1.
pub fn heat_colour(v: f64) -> Rgb {
    let (low, high) = ([240.0, 245.0, 251.0], [120.0, 165.0, 210.0]);
    let mix = |i: usize| (low[i] + (high[i] - low[i]) * v.clamp(0.0, 1.0)).round() as u8;
    [mix(0), mix(1), mix(2)]
}

pub const GOOD: Rgb = [46, 160, 67];
pub const BAD: Rgb = [218, 54, 51];
/// What is there but not comparable (a partial month).
pub const PALE: Rgb = [175, 175, 175];

/// How a value is written on an axis and in a tooltip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueFormat {
    /// Whole numbers with thousands separators.
    Count,
    /// Money without a currency sign (exports carry none).
    Money,
    /// A percentage with a sign (`+4.2%`).
    Growth,
    /// A plain number with this many decimals.
    Decimal(usize),
    /// A share already in percent (`51.4%`), without a sign.
    Percent,
}

impl ValueFormat {
    pub fn format(self, value: f64) -> String {
        match self {
            ValueFormat::Count => super::format::number(value, 0),
            ValueFormat::Money => super::format::money(value),
            ValueFormat::Growth => format!("{value:+.1}%"),
            ValueFormat::Decimal(d) => super::format::number(value, d),
            ValueFormat::Percent => format!("{}%", super::format::number(value, 1)),
        }
    }

    /// A shorter form for axis marks.
    pub fn axis(self, value: f64) -> String {
        match self {
            ValueFormat::Money | ValueFormat::Count => super::format::number(value, 0),
            ValueFormat::Growth | ValueFormat::Percent => format!("{value:.0}%"),
            ValueFormat::Decimal(d) => super::format::number(value, d),
        }
    }
}

/// What the horizontal axis means.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    /// Month indexes (`order_frame::month_index`): a mark per month, the year under January.
    Months,
    /// One slot per name, at x = 0, 1, 2, ...
    Categories(Vec<String>),
    /// Plain numbers, with a label.
    Numbers { label: String, format: ValueFormat },
}

impl XAxis {
    /// The text under a mark at `x` (whole positions only for months and categories).
    pub fn label(&self, x: f64) -> String {
        let whole = (x - x.round()).abs() < 0.01;
        match self {
            XAxis::Months if whole => month_label(x.round() as i32),
            XAxis::Categories(names) if whole && x >= -0.01 => names.get(x.round() as usize).cloned().unwrap_or_default(),
            XAxis::Numbers { format, .. } => format.axis(x),
            _ => String::new(),
        }
    }

    /// The label of the point at `x` in a tooltip or a table (months in full).
    pub fn point_name(&self, x: f64) -> String {
        match self {
            XAxis::Months => month_start(x.round() as i32).format("%Y-%m").to_string(),
            _ => self.label(x),
        }
    }
}

/// "Jan 2010" under January, else "Feb".
pub fn month_label(month: i32) -> String {
    let start = month_start(month);
    if chrono::Datelike::month(&start) == 1 {
        start.format("%b %Y").to_string()
    } else {
        start.format("%b").to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesKind {
    Bars,
    Line,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub kind: SeriesKind,
    pub colour: Rgb,
    /// (x, y) in the axis' units; bars are centred on x.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn bars(name: impl Into<String>, colour: Rgb, points: Vec<(f64, f64)>) -> Self {
        Self { name: name.into(), kind: SeriesKind::Bars, colour, points }
    }

    pub fn line(name: impl Into<String>, colour: Rgb, points: Vec<(f64, f64)>) -> Self {
        Self { name: name.into(), kind: SeriesKind::Line, colour, points }
    }
}

/// How several bar series share an x slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarLayout {
    /// Each series at its own x values (they do not meet).
    Apart,
    /// Side by side within the slot.
    Grouped,
    /// On top of each other, in series order.
    Stacked,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Also the chart's id in the window and its caption in the report.
    pub title: String,
    /// What the chart shows, for a tooltip on screen and a note under it in the report.
    pub note: String,
    pub x: XAxis,
    pub y_format: ValueFormat,
    pub y_label: String,
    pub series: Vec<Series>,
    pub layout: BarLayout,
    /// Whether a legend is worth its space (more than one series).
    pub legend: bool,
    /// Width of a bar (or of a group of bars) in x units.
    pub bar_width: f64,
    /// A moment to mark with a vertical rule and its label (a price change).
    pub marker: Option<(f64, String)>,
}

impl Chart {
    pub fn new(title: impl Into<String>, x: XAxis, y_format: ValueFormat) -> Self {
        Self {
            title: title.into(),
            note: String::new(),
            x,
            y_format,
            y_label: String::new(),
            series: Vec::new(),
            layout: BarLayout::Apart,
            legend: false,
            bar_width: 0.7,
            marker: None,
        }
    }

    pub fn marker(mut self, x: f64, label: impl Into<String>) -> Self {
        self.marker = Some((x, label.into()));
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    pub fn y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = label.into();
        self
    }

    pub fn layout(mut self, layout: BarLayout) -> Self {
        self.layout = layout;
        self
    }

    pub fn series(mut self, series: Series) -> Self {
        self.legend = !self.series.is_empty();
        self.series.push(series);
        self
    }

    /// Bars of series `index` (of the bar series) as drawn: (centre, width, bottom, top), so
    /// every writer places them alike.
    pub fn bar_boxes(&self, index: usize) -> Vec<(f64, f64, f64, f64)> {
        let bar_series: Vec<&Series> = self.series.iter().filter(|s| s.kind == SeriesKind::Bars).collect();
        let Some(series) = bar_series.get(index) else { return Vec::new() };
        let n = bar_series.len() as f64;
        series
            .points
            .iter()
            .map(|&(x, y)| match self.layout {
                BarLayout::Apart => (x, self.bar_width, 0.0, y),
                BarLayout::Grouped => {
                    let width = (self.bar_width + 0.1) / n;
                    (x - (self.bar_width + 0.1) / 2.0 + width * (index as f64 + 0.5), width * 0.95, 0.0, y)
                }
                BarLayout::Stacked => {
                    let below: f64 =
                        bar_series[..index].iter().filter_map(|s| s.points.iter().find(|p| (p.0 - x).abs() < 1e-9).map(|p| p.1)).sum();
                    (x, self.bar_width, below, below + y)
                }
            })
            .collect()
    }

    /// The x and y ranges every mark fits in (bars include their width and zero).
    pub fn bounds(&self) -> ([f64; 2], [f64; 2]) {
        let (mut x, mut y) = ([f64::INFINITY, f64::NEG_INFINITY], [0.0f64, f64::NEG_INFINITY]);
        let mut grow = |px: f64, py: f64| {
            x = [x[0].min(px), x[1].max(px)];
            y = [y[0].min(py), y[1].max(py)];
        };
        let mut bar_index = 0;
        for series in &self.series {
            match series.kind {
                SeriesKind::Bars => {
                    for (centre, width, bottom, top) in self.bar_boxes(bar_index) {
                        grow(centre - width / 2.0, bottom);
                        grow(centre + width / 2.0, top);
                    }
                    bar_index += 1;
                }
                SeriesKind::Line => series.points.iter().for_each(|&(px, py)| grow(px, py)),
            }
        }
        if !x[0].is_finite() {
            return ([0.0, 1.0], [0.0, 1.0]);
        }
        if y[1] <= y[0] {
            y[1] = y[0] + 1.0;
        }
        (x, y)
    }

    /// Whether any series has a point.
    pub fn is_empty(&self) -> bool {
        self.series.iter().all(|s| s.points.is_empty())
    }

    /// What a reader should be told instead of being shown bare axes: no data, or every value
    /// 0 (the selected period has none of it); `None` when there is something to draw.
    pub fn nothing_to_draw(&self) -> Option<&'static str> {
        if self.is_empty() {
            Some("Nothing to draw: no data for this chart in the selected period and filters.")
        } else if self.series.iter().all(|s| s.points.iter().all(|&(_, y)| y == 0.0)) {
            Some("Every value is 0 in the selected period and filters.")
        } else {
            None
        }
    }

    /// The chart's figures as a table (x, then one column per series), for the report's
    /// structure tests and for readers who want the numbers.
    pub fn table(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut xs: Vec<f64> = self.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        let header = std::iter::once(String::new()).chain(self.series.iter().map(|s| s.name.clone())).collect();
        let rows = xs
            .iter()
            .map(|&x| {
                std::iter::once(self.x.point_name(x))
                    .chain(
                        self.series
                            .iter()
                            .map(|s| s.points.iter().find(|p| (p.0 - x).abs() < 1e-9).map_or(String::new(), |p| self.y_format.format(p.1))),
                    )
                    .collect()
            })
            .collect();
        (header, rows)
    }
}

/// "Nice" axis marks (1, 2 or 5 times a power of ten) covering `[low, high]`, about `count` of them.
pub fn nice_ticks(low: f64, high: f64, count: usize) -> Vec<f64> {
    let span = (high - low).abs().max(f64::MIN_POSITIVE);
    let raw = span / count.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power);
    let first = (low / step).ceil() as i64;
    let last = (high / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked placements: grouped bars share a slot, stacked bars start where the one below ends.
    #[test]
    fn bars_are_placed_alike_for_every_writer() {
        let chart = Chart::new("t", XAxis::Categories(vec!["a".into(), "b".into()]), ValueFormat::Count)
            .series(Series::bars("one", PALETTE[0], vec![(0.0, 2.0), (1.0, 3.0)]))
            .series(Series::bars("two", PALETTE[1], vec![(0.0, 5.0), (1.0, 1.0)]));
        let grouped = chart.clone().layout(BarLayout::Grouped);
        let boxes = grouped.bar_boxes(1);
        assert!((boxes[0].0 - 0.2).abs() < 1e-9 && boxes[0].3 == 5.0);
        let stacked = chart.layout(BarLayout::Stacked);
        assert_eq!(stacked.bar_boxes(1)[0].2, 2.0);
        assert_eq!(stacked.bar_boxes(1)[0].3, 7.0);
        assert_eq!(stacked.bounds().1, [0.0, 7.0]);
        let (header, rows) = stacked.table();
        assert_eq!(header, ["", "one", "two"]);
        assert_eq!(rows[1], ["b", "3", "1"]);
        assert_eq!(nice_ticks(0.0, 7.0, 5), [0.0, 2.0, 4.0, 6.0]);
        assert_eq!(nice_ticks(0.0, 950_000.0, 4), [0.0, 500_000.0]);
    }
}

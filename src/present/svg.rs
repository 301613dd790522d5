//! A chart as an SVG document (inline in the HTML report), written with the `svg` crate.

use svg::node::element::{Polyline, Rectangle, Text, Title};
use svg::Document;

use super::chart::{Chart, Rgb};
use super::marks::{layout, Anchor, Mark};

fn colour([r, g, b]: Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Rounds a coordinate to a tenth of a point: smaller files, the same picture.
fn at(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// `chart` as an SVG element `width` × `height` points, scaling with the page.
pub fn chart_svg(chart: &Chart, width: f64, height: f64) -> String {
    let mut document = Document::new()
        .set("viewBox", (0, 0, width, height))
        .set("width", "100%")
        .set("role", "img")
        .set("class", "chart")
        .set("data-title", chart.title.as_str())
        .set("font-family", "Helvetica, Arial, sans-serif")
        .add(Title::new(chart.title.as_str()));
    for mark in layout(chart, width, height) {
        document = match mark {
            Mark::Rect { x, y, width, height, fill } => document.add(
                Rectangle::new()
                    .set("x", at(x))
                    .set("y", at(y))
                    .set("width", at(width))
                    .set("height", at(height))
                    .set("fill", colour(fill)),
            ),
            Mark::Polyline { points, stroke, width } => {
                let points: Vec<String> = points.iter().map(|(x, y)| format!("{},{}", at(*x), at(*y))).collect();
                document.add(
                    Polyline::new()
                        .set("points", points.join(" "))
                        .set("fill", "none")
                        .set("stroke", colour(stroke))
                        .set("stroke-width", width),
                )
            }
            Mark::Text { x, y, text, size, anchor, fill } => {
                document.add(Text::new(text).set("x", at(x)).set("y", at(y)).set("font-size", size).set("fill", colour(fill)).set(
                    "text-anchor",
                    match anchor {
                        Anchor::Start => "start",
                        Anchor::Middle => "middle",
                        Anchor::End => "end",
                    },
                ))
            }
        };
    }
    document.to_string()
}

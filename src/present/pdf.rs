//! The report as a PDF, one A4 landscape page per view, written with `pdf-writer`. Text is set
//! in the standard Helvetica (every PDF reader has it, so nothing is embedded); charts are the
//! same marks the SVG writer draws.

use std::io::Write;

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::chart::Rgb;
use super::marks::{layout, Anchor, Mark};
use super::slide::{Slide, SlideTable};

const PAGE_WIDTH: f64 = 842.0;
const PAGE_HEIGHT: f64 = 595.0;
const MARGIN: f64 = 36.0;
const REGULAR: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");
const INK: Rgb = [40, 40, 40];
const MUTED: Rgb = [110, 110, 110];
const WARN: Rgb = [138, 90, 0];

/// `text` in the standard fonts' WinAnsi encoding; a character it lacks is spelled out or
/// becomes '?' (the HTML report carries the exact text).
fn win_ansi(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ' '..='~' => out.push(c as u8),
            '\u{a0}'..='\u{ff}' => out.push(c as u32 as u8),
            '€' => out.push(0x80),
            '…' => out.push(0x85),
            '‹' => out.push(0x8b),
            '‘' => out.push(0x91),
            '’' => out.push(0x92),
            '“' => out.push(0x93),
            '”' => out.push(0x94),
            '•' => out.push(0x95),
            '–' => out.push(0x96),
            '—' => out.push(0x97),
            '›' => out.push(0x9b),
            'Σ' => out.extend_from_slice(b"sum"),
            '≥' => out.extend_from_slice(b">="),
            '≤' => out.extend_from_slice(b"<="),
            '→' => out.extend_from_slice(b"->"),
            _ => out.push(b'?'),
        }
    }
    out
}

/// Width of `text` in Helvetica at `size`: exact for digits and the marks around numbers (so
/// right-aligned columns line up), an average for letters.
fn width(text: &str, size: f64) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| match c {
            '0'..='9' => 0.556,
            ',' | '.' | ' ' | ':' => 0.278,
            '-' => 0.333,
            '+' => 0.584,
            '%' => 0.889,
            'i' | 'l' | 'j' | 't' | 'f' | 'I' | '(' | ')' | '\'' => 0.3,
            'm' | 'w' | 'M' | 'W' => 0.85,
            'A'..='Z' => 0.68,
            _ => 0.53,
        })
        .sum();
    em * size
}

/// Cuts `text` to fit `room` points, ending in "…".
fn fit(text: &str, size: f64, room: f64) -> String {
    if width(text, size) <= room {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if width(&format!("{out}{c}…"), size) > room {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// Splits `text` into lines of at most `room` points.
fn wrap(text: &str, size: f64, room: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if width(&candidate, size) > room && !line.is_empty() {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Draws on a page with a top-left origin, as the layout thinks.
struct Page {
    content: Content,
}

impl Page {
    fn fill(&mut self, [r, g, b]: Rgb) {
        self.content.set_fill_rgb(r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0);
    }

    fn text(&mut self, (x, y): (f64, f64), text: &str, size: f64, bold: bool, colour: Rgb, anchor: Anchor) {
        let shift = match anchor {
            Anchor::Start => 0.0,
            Anchor::Middle => width(text, size) / 2.0,
            Anchor::End => width(text, size),
        };
        self.fill(colour);
        self.content
            .begin_text()
            .set_font(if bold { BOLD } else { REGULAR }, size as f32)
            .next_line((x - shift) as f32, (PAGE_HEIGHT - y) as f32)
            .show(Str(&win_ansi(text)))
            .end_text();
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, colour: Rgb) {
        self.fill(colour);
        self.content.rect(x as f32, (PAGE_HEIGHT - y - h) as f32, w as f32, h as f32).fill_nonzero();
    }

    fn line(&mut self, points: &[(f64, f64)], [r, g, b]: Rgb, line_width: f64) {
        let Some(&(x0, y0)) = points.first() else { return };
        self.content.set_stroke_rgb(r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0).set_line_width(line_width as f32);
        self.content.move_to(x0 as f32, (PAGE_HEIGHT - y0) as f32);
        for &(x, y) in &points[1..] {
            self.content.line_to(x as f32, (PAGE_HEIGHT - y) as f32);
        }
        self.content.stroke();
    }

    /// Draws `marks` laid out for a box whose top-left corner is at (`x`, `y`).
    fn marks(&mut self, marks: &[Mark], x: f64, y: f64) {
        for mark in marks {
            match mark {
                Mark::Rect { x: mx, y: my, width, height, fill } => self.rect(x + mx, y + my, *width, *height, *fill),
                Mark::Polyline { points, stroke, width } => {
                    let moved: Vec<(f64, f64)> = points.iter().map(|(px, py)| (x + px, y + py)).collect();
                    self.line(&moved, *stroke, *width);
                }
                Mark::Text { x: tx, y: ty, text, size, anchor, fill } => self.text((x + tx, y + ty), text, *size, false, *fill, *anchor),
            }
        }
    }

    /// A table in a box `room` wide starting at `top`, as many rows as fit above `bottom`.
    fn table(&mut self, table: &SlideTable, x: f64, top: f64, room: f64, bottom: f64) {
        const SIZE: f64 = 8.0;
        const ROW: f64 = 12.0;
        self.text((x, top + 10.0), &table.title, 10.0, true, INK, Anchor::Start);
        let columns = table.header.len().max(1);
        // Columns share the width by their longest text (header included), within limits.
        let wanted: Vec<f64> = (0..columns)
            .map(|i| {
                let longest =
                    table.rows.iter().filter_map(|r| r.get(i)).chain(table.header.get(i)).map(|c| width(c, SIZE)).fold(20.0, f64::max);
                longest.min(room * 0.45) + 10.0
            })
            .collect();
        let scale = (room / wanted.iter().sum::<f64>()).min(1.5);
        let widths: Vec<f64> = wanted.iter().map(|w| w * scale).collect();
        let numeric: Vec<bool> = (0..columns).map(|i| table.numeric(i)).collect();
        let mut y = top + 16.0;
        let draw_row = |page: &mut Page, cells: &[String], y: f64, bold: bool| {
            let mut cx = x;
            for (i, cell) in cells.iter().enumerate().take(columns) {
                let w = widths[i];
                let text = fit(cell, SIZE, w - 8.0);
                if numeric[i] {
                    page.text((cx + w - 4.0, y + 8.5), &text, SIZE, bold, INK, Anchor::End);
                } else {
                    page.text((cx + 4.0, y + 8.5), &text, SIZE, bold, INK, Anchor::Start);
                }
                cx += w;
            }
        };
        self.rect(x, y, widths.iter().sum(), ROW, [240, 240, 240]);
        draw_row(self, &table.header, y, true);
        y += ROW;
        let fits = ((bottom - y) / ROW).floor().max(0.0) as usize;
        let shown = table.rows.len().min(fits.saturating_sub(usize::from(table.more > 0 || fits < table.rows.len())));
        for (i, row) in table.rows.iter().take(shown).enumerate() {
            if i % 2 == 1 {
                self.rect(x, y, widths.iter().sum(), ROW, [248, 248, 248]);
            }
            draw_row(self, row, y, false);
            y += ROW;
        }
        let left_out = table.more + table.rows.len() - shown;
        if left_out > 0 {
            self.text(
                (x + 4.0, y + 9.0),
                &format!("and {left_out} more rows (in the app and in the CLI export)"),
                7.5,
                false,
                MUTED,
                Anchor::Start,
            );
        }
    }
}

/// One page for `slide`.
fn page_content(slide: &Slide, number: usize, count: usize, story: &str) -> Content {
    let mut page = Page { content: Content::new() };
    let inner = PAGE_WIDTH - 2.0 * MARGIN;
    let mut y = MARGIN;
    page.text((MARGIN, y + 18.0), &slide.title, 20.0, true, INK, Anchor::Start);
    y += 28.0;
    for line in wrap(&slide.caption, 12.0, inner) {
        page.text((MARGIN, y + 12.0), &line, 12.0, false, INK, Anchor::Start);
        y += 15.0;
    }
    let meta = format!("{} · dates: {} · {} · data: {}", slide.place, slide.dates, slide.filters, slide.data_range);
    page.text((MARGIN, y + 10.0), &fit(&meta, 8.0, inner), 8.0, false, MUTED, Anchor::Start);
    y += 14.0;
    for note in &slide.notes {
        for line in wrap(note, 8.5, inner) {
            page.text((MARGIN, y + 9.0), &line, 8.5, false, WARN, Anchor::Start);
            y += 11.0;
        }
    }
    if !slide.figures.is_empty() {
        y += 4.0;
        let n = slide.figures.len() as f64;
        let box_width = ((inner - 8.0 * (n - 1.0)) / n).min(150.0);
        for (i, f) in slide.figures.iter().enumerate() {
            let x = MARGIN + i as f64 * (box_width + 8.0);
            page.rect(x, y, box_width, 44.0, [244, 244, 244]);
            page.text((x + 6.0, y + 11.0), &fit(&f.label, 8.0, box_width - 12.0), 8.0, false, MUTED, Anchor::Start);
            page.text((x + 6.0, y + 29.0), &fit(&f.value, 15.0, box_width - 12.0), 15.0, true, INK, Anchor::Start);
            if let Some(change) = &f.change {
                page.text((x + 6.0, y + 40.0), &format!("{change} vs previous"), 7.0, false, MUTED, Anchor::Start);
            }
        }
        y += 52.0;
    }
    let bottom = PAGE_HEIGHT - MARGIN - 10.0;
    if !slide.charts.is_empty() {
        let n = slide.charts.len().min(2) as f64;
        let chart_width = (inner - 16.0 * (n - 1.0)) / n;
        let height = if slide.tables.is_empty() { (bottom - y - 16.0).min(330.0) } else { 190.0 };
        for (i, chart) in slide.charts.iter().take(2).enumerate() {
            let x = MARGIN + i as f64 * (chart_width + 16.0);
            page.text((x, y + 10.0), &fit(&chart.title, 10.0, chart_width), 10.0, true, INK, Anchor::Start);
            page.marks(&layout(chart, chart_width, height - 14.0), x, y + 14.0);
        }
        y += height + 8.0;
    }
    if !slide.tables.is_empty() {
        let n = slide.tables.len().min(2) as f64;
        let table_width = (inner - 16.0 * (n - 1.0)) / n;
        for (i, table) in slide.tables.iter().take(2).enumerate() {
            page.table(table, MARGIN + i as f64 * (table_width + 16.0), y, table_width, bottom);
        }
    }
    let footer = format!("{story} · {number} / {count}");
    page.text((PAGE_WIDTH - MARGIN, PAGE_HEIGHT - MARGIN + 14.0), &footer, 7.5, false, MUTED, Anchor::End);
    page.content
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// The report: one page per slide.
pub fn report_pdf(story: &str, slides: &[Slide]) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let first = 6;
    pdf.catalog(catalog).pages(tree);
    pdf.type1_font(regular).base_font(Name(b"Helvetica")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info).title(TextStr(story)).creator(TextStr("shoplens"));
    let mut kids = Vec::new();
    for (i, slide) in slides.iter().enumerate() {
        let page_id = Ref::new(first + 2 * i as i32);
        let content_id = Ref::new(first + 2 * i as i32 + 1);
        kids.push(page_id);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH as f32, PAGE_HEIGHT as f32)).parent(tree).contents(content_id);
        page.resources().fonts().pair(REGULAR, regular).pair(BOLD, bold);
        page.finish();
        let content = page_content(slide, i + 1, slides.len(), story).finish();
        pdf.stream(content_id, &deflate(&content)).filter(Filter::FlateDecode);
    }
    pdf.pages(tree).count(kids.len() as i32).kids(kids);
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fits_the_standard_font() {
        assert_eq!(win_ansi("£1,234 – Café"), b"\xa31,234 \x96 Caf\xe9");
        assert_eq!(win_ansi("Σ q × p"), b"sum q \xd7 p");
        // Digits are 0.556 em in Helvetica.
        assert!((width("1,234", 10.0) - (4.0 * 5.56 + 2.78)).abs() < 1e-9);
        assert_eq!(wrap("one two three", 10.0, width("one two", 10.0) + 0.1), ["one two", "three"]);
        assert!(fit("a long product description", 8.0, 40.0).ends_with('…'));
    }
}

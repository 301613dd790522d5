//! The report as a PDF: A4 landscape pages, each view starting a page of its own. Text is set
//! in the bundled DejaVu Sans, embedded as a subset with its real metrics and a ToUnicode map
//! (so copying or `pdftotext` gives the exact text back), wrapped to the page. What does not
//! fit a page continues on the next one under the view's title ("continued"): nothing is cut
//! off at the bottom or runs off the side. Charts are the same marks the SVG writer draws.
//!
//! Pages are laid out first as plain drawing instructions ([`Sheet`]s), then written with
//! krilla: the layout can be tested without a PDF, and the writer only translates.

use std::collections::BTreeSet;

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::Document;

use super::chart::Rgb;
use super::marks::{layout, Anchor, Mark};
use super::slide::{Slide, SlideTable};
use super::typeset::{self, Weight};

pub const PAGE_WIDTH: f64 = 842.0;
pub const PAGE_HEIGHT: f64 = 595.0;
const MARGIN: f64 = 36.0;
const INNER: f64 = PAGE_WIDTH - 2.0 * MARGIN;
/// Content stops here; below are the notice of characters not shown and the footer.
const BOTTOM: f64 = PAGE_HEIGHT - MARGIN - 16.0;
/// A table's text, its rows' height and its cells' padding.
const TABLE_TEXT: f64 = 8.0;
const TABLE_ROW: f64 = 12.5;
const CELL_PAD: f64 = 8.0;
/// The analyst's notes at the end of a view: their text and line height.
const NOTE_TEXT: f64 = 7.5;
const NOTE_LEADING: f64 = 9.0;
const INK: Rgb = [40, 40, 40];
const MUTED: Rgb = [110, 110, 110];
const NOTE: Rgb = [120, 90, 30];

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the report font could not be loaded")]
    Font,
    #[error("the page size is not one a PDF can have")]
    PageSize,
    #[error("writing the PDF: {0:?}")]
    Write(krilla::error::KrillaError),
}

/// One drawing instruction, top-left origin, in points. Text is placed by its baseline.
#[derive(Debug, Clone, PartialEq)]
pub enum Ink {
    Text { x: f64, y: f64, text: String, size: f64, weight: Weight, colour: Rgb, anchor: Anchor },
    Rect { x: f64, y: f64, width: f64, height: f64, colour: Rgb },
    Line { points: Vec<(f64, f64)>, colour: Rgb, width: f64 },
}

impl Ink {
    /// Where a text's left edge is, with the font's own width (`None` for other ink).
    pub fn text_left(&self) -> Option<f64> {
        let Ink::Text { x, text, size, weight, anchor, .. } = self else { return None };
        let width = || typeset::width(text, *size, *weight);
        Some(match anchor {
            Anchor::Start => *x,
            Anchor::Middle => x - width() / 2.0,
            Anchor::End => x - width(),
        })
    }
}

/// A page laid out: what to draw, the view it belongs to, and the characters its text has that
/// the font cannot show.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub ink: Vec<Ink>,
    pub view: String,
    pub missing: BTreeSet<char>,
}

impl Sheet {
    /// The text of the page, in drawing order (what a reader of the PDF gets back).
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.ink.iter().filter_map(|i| if let Ink::Text { text, .. } = i { Some(text.as_str()) } else { None })
    }
}

/// Lays a view out on one page or more, top to bottom.
struct Typesetter {
    sheets: Vec<Sheet>,
    y: f64,
    title: String,
}

impl Typesetter {
    fn sheet(&mut self) -> &mut Sheet {
        self.sheets.last_mut().expect("a view starts with a page")
    }

    fn text(&mut self, (x, y): (f64, f64), text: &str, size: f64, weight: Weight, colour: Rgb, anchor: Anchor) {
        let (shown, missing) = typeset::printable(text, weight);
        let sheet = self.sheet();
        sheet.missing.extend(missing);
        sheet.ink.push(Ink::Text { x, y, text: shown, size, weight, colour, anchor });
    }

    fn rect(&mut self, x: f64, y: f64, width: f64, height: f64, colour: Rgb) {
        self.sheet().ink.push(Ink::Rect { x, y, width, height, colour });
    }

    /// A new page for the same view, headed "Title (continued)".
    fn continue_on_next_page(&mut self) {
        let view = self.title.clone();
        self.sheets.push(Sheet { view, ..Sheet::default() });
        self.y = MARGIN;
        let suffix = " (continued)";
        let room = INNER - typeset::width(suffix, 12.0, Weight::Bold);
        let heading = typeset::fit(&self.title, 12.0, room, Weight::Bold) + suffix;
        self.text((MARGIN, self.y + 12.0), &heading, 12.0, Weight::Bold, MUTED, Anchor::Start);
        self.y += 22.0;
    }

    /// Makes room for `height` points, on a new page when this one has too little left.
    fn room(&mut self, height: f64) {
        if self.y + height > BOTTOM {
            self.continue_on_next_page();
        }
    }

    /// Left-aligned lines of wrapped text, each on a new page when this one is full.
    fn paragraph(&mut self, text: &str, size: f64, weight: Weight, colour: Rgb, leading: f64) {
        for line in typeset::wrap(text, size, INNER, weight) {
            self.room(leading);
            self.text((MARGIN, self.y + size), &line, size, weight, colour, Anchor::Start);
            self.y += leading;
        }
    }

    fn figures(&mut self, slide: &Slide) {
        const GAP: f64 = 8.0;
        const HEIGHT: f64 = 46.0;
        let widest = slide.figures.iter().map(|f| typeset::width(&f.value, 15.0, Weight::Bold) + 12.0).fold(110.0, f64::max);
        let box_width = widest.min(INNER);
        let per_row = (((INNER + GAP) / (box_width + GAP)).floor() as usize).max(1);
        let box_width = box_width.max(((INNER + GAP) / per_row as f64 - GAP).min(170.0));
        for row in slide.figures.chunks(per_row) {
            self.room(HEIGHT + GAP);
            for (i, f) in row.iter().enumerate() {
                let x = MARGIN + i as f64 * (box_width + GAP);
                let y = self.y;
                self.rect(x, y, box_width, HEIGHT, [244, 244, 244]);
                let lines = [
                    Some((f.label.clone(), 12.0, 8.0, Weight::Regular, MUTED)),
                    Some((f.value.clone(), 30.0, 15.0, Weight::Bold, INK)),
                    f.under.as_ref().map(|under| (under.clone(), 41.0, 7.0, Weight::Regular, MUTED)),
                ];
                for (text, down, size, weight, colour) in lines.into_iter().flatten() {
                    let text = typeset::fit(&text, size, box_width - 12.0, weight);
                    self.text((x + 6.0, y + down), &text, size, weight, colour, Anchor::Start);
                }
            }
            self.y += HEIGHT + GAP;
        }
    }

    /// The height the view's tables and notes will take (to leave them room beside charts).
    fn after_charts(slide: &Slide) -> f64 {
        let tables: f64 =
            slide.tables.iter().map(|t| 15.0 + 24.0 + TABLE_ROW * t.rows.len() as f64 + if t.more > 0 { 12.0 } else { 0.0 } + 10.0).sum();
        let notes: f64 = if slide.notes.is_empty() {
            0.0
        } else {
            let lines = |note: &String| typeset::wrap(&bullet(note), NOTE_TEXT, INNER, Weight::Regular).len() as f64;
            11.0 + slide.notes.iter().map(|n| NOTE_LEADING * lines(n)).sum::<f64>()
        };
        // The notes' own room check and spacing.
        tables + notes + if slide.notes.is_empty() { 0.0 } else { 24.0 }
    }

    fn charts(&mut self, slide: &Slide) {
        const MIN_HEIGHT: f64 = 140.0;
        let charts: Vec<_> = slide.charts.iter().take(2).collect();
        if charts.is_empty() {
            return;
        }
        let n = charts.len() as f64;
        let chart_width = (INNER - 16.0 * (n - 1.0)) / n;
        let notes: Vec<Vec<String>> =
            charts.iter().map(|c| typeset::wrap(&c.note, 7.0, chart_width, Weight::Regular).into_iter().take(3).collect()).collect();
        let note_height = notes.iter().map(|n| n.len()).max().unwrap_or(0) as f64 * 9.0;
        let wanted = if slide.tables.is_empty() { 330.0 } else { 200.0 };
        if BOTTOM - self.y < MIN_HEIGHT + note_height {
            self.continue_on_next_page();
        }
        // Charts give way to the tables and notes below them, down to a readable height.
        let height = (BOTTOM - self.y - note_height - 12.0 - Self::after_charts(slide))
            .clamp(MIN_HEIGHT, wanted)
            .min(BOTTOM - self.y - note_height - 8.0);
        for (i, chart) in charts.iter().enumerate() {
            let x = MARGIN + i as f64 * (chart_width + 16.0);
            let y = self.y;
            self.text((x, y + 10.0), &typeset::fit(&chart.title, 10.0, chart_width, Weight::Bold), 10.0, Weight::Bold, INK, Anchor::Start);
            for mark in layout(chart, chart_width, height - 14.0) {
                self.mark(mark, x, y + 14.0);
            }
            for (k, line) in notes[i].iter().enumerate() {
                self.text((x, y + height + 8.0 + k as f64 * 9.0), line, 7.0, Weight::Regular, MUTED, Anchor::Start);
            }
        }
        self.y += height + note_height + 12.0;
    }

    /// `text` in a table cell `width` wide at `x`: a number against the cell's right edge, text
    /// against its left, so digits line up down a column.
    fn cell(&mut self, x: f64, width: f64, baseline: f64, text: &str, weight: Weight, numeric: bool) {
        if numeric {
            self.text((x + width - CELL_PAD / 2.0, baseline), text, TABLE_TEXT, weight, INK, Anchor::End);
        } else {
            self.text((x + CELL_PAD / 2.0, baseline), text, TABLE_TEXT, weight, INK, Anchor::Start);
        }
    }

    fn mark(&mut self, mark: Mark, x: f64, y: f64) {
        match mark {
            Mark::Rect { x: mx, y: my, width, height, fill } => self.rect(x + mx, y + my, width, height, fill),
            Mark::Polyline { points, stroke, width } => {
                let points = points.iter().map(|(px, py)| (x + px, y + py)).collect();
                self.sheet().ink.push(Ink::Line { points, colour: stroke, width });
            }
            Mark::Text { x: tx, y: ty, text, size, anchor, fill } => {
                self.text((x + tx, y + ty), &text, size, Weight::Regular, fill, anchor)
            }
        }
    }

    /// A table across the page: numbers right-aligned in columns as wide as their widest
    /// figure, text sharing what is left; headings wrap rather than being cut; rows that do not
    /// fit continue on the next page under the headings again.
    fn table(&mut self, table: &SlideTable) {
        let columns = table.header.len();
        let cell = |r: &Vec<String>, i: usize| r.get(i).cloned().unwrap_or_default();
        let widest = |i: usize, weight| table.rows.iter().map(|r| typeset::width(&cell(r, i), TABLE_TEXT, weight)).fold(0.0, f64::max);
        let longest_word =
            |i: usize| table.header[i].split_whitespace().map(|w| typeset::width(w, TABLE_TEXT, Weight::Bold)).fold(0.0, f64::max);
        // Numbers get their full width; text columns share the rest by their widest cell.
        let needed: Vec<f64> = (0..columns).map(|i| widest(i, Weight::Regular).max(longest_word(i)) + CELL_PAD).collect();
        let widths = table.fit_widths(&needed, INNER);
        // The table is as wide as its columns; spare width stays at the right.
        let total: f64 = widths.iter().sum();
        let headings: Vec<Vec<String>> = (0..columns)
            .map(|i| typeset::wrap(&table.header[i], TABLE_TEXT, widths[i] - CELL_PAD, Weight::Bold).into_iter().take(3).collect())
            .collect();
        let heading_height = headings.iter().map(|h| h.len()).max().unwrap_or(1).max(1) as f64 * 10.0 + 3.0;

        let heading = |me: &mut Self| {
            let y = me.y;
            me.rect(MARGIN, y, total, heading_height, [238, 238, 238]);
            let mut x = MARGIN;
            for i in 0..columns {
                for (k, line) in headings[i].iter().enumerate() {
                    me.cell(x, widths[i], y + 9.0 + k as f64 * 10.0, line, Weight::Bold, table.numeric(i));
                }
                x += widths[i];
            }
            me.y += heading_height;
        };
        self.room(14.0 + heading_height + 3.0 * TABLE_ROW);
        self.text((MARGIN, self.y + 10.0), &typeset::fit(&table.title, 10.0, INNER, Weight::Bold), 10.0, Weight::Bold, INK, Anchor::Start);
        self.y += 15.0;
        if table.rows.is_empty() {
            self.text(
                (MARGIN + 4.0, self.y + 9.0),
                "No rows in the selected period and filters.",
                7.5,
                Weight::Regular,
                MUTED,
                Anchor::Start,
            );
            self.y += 22.0;
            return;
        }
        heading(self);
        for (r, row) in table.rows.iter().enumerate() {
            if self.y + TABLE_ROW > BOTTOM {
                self.continue_on_next_page();
                heading(self);
            }
            let y = self.y;
            if r % 2 == 1 {
                self.rect(MARGIN, y, total, TABLE_ROW, [248, 248, 248]);
            }
            let mut x = MARGIN;
            for (i, &width) in widths.iter().enumerate() {
                if let Some(v) = table.shade.as_ref().and_then(|s| s.get(r)).and_then(|s| s.get(i).copied().flatten()) {
                    self.rect(x, y, width, TABLE_ROW, super::chart::heat_colour(v));
                }
                let text = typeset::fit(&cell(row, i), TABLE_TEXT, width - CELL_PAD, Weight::Regular);
                self.cell(x, width, y + 9.0, &text, Weight::Regular, table.numeric(i));
                x += width;
            }
            self.y += TABLE_ROW;
        }
        if let Some(more) = super::slide::left_out_note(table.more) {
            self.room(12.0);
            self.text((MARGIN + 4.0, self.y + 9.0), &more, 7.5, Weight::Regular, MUTED, Anchor::Start);
            self.y += 12.0;
        }
        self.y += 10.0;
    }
}

/// A note as a list item.
fn bullet(note: &str) -> String {
    format!("• {note}")
}

/// The pages of one view: title, caption, what it shows, figures, charts, tables, then the
/// analyst's notes as footnotes (never first).
pub fn view_sheets(slide: &Slide) -> Vec<Sheet> {
    let mut t = Typesetter { sheets: vec![Sheet { view: slide.title.clone(), ..Sheet::default() }], y: MARGIN, title: slide.title.clone() };
    t.paragraph(&slide.title, 20.0, Weight::Bold, INK, 24.0);
    t.y += 4.0;
    if !slide.caption.is_empty() {
        t.paragraph(&slide.caption, 12.0, Weight::Regular, INK, 15.0);
    }
    t.paragraph(&slide.meta_line(true), 8.0, Weight::Regular, MUTED, 11.0);
    t.y += 6.0;
    if !slide.figures.is_empty() {
        t.figures(slide);
    }
    t.charts(slide);
    for table in &slide.tables {
        t.table(table);
    }
    if !slide.notes.is_empty() {
        t.room(24.0);
        t.paragraph("Notes", 8.5, Weight::Bold, NOTE, 11.0);
        for note in &slide.notes {
            t.paragraph(&bullet(note), NOTE_TEXT, Weight::Regular, NOTE, NOTE_LEADING);
        }
    }
    t.sheets
}

/// Every page of the report, with footers and the notice of characters not shown.
pub fn report_sheets(story: &str, slides: &[Slide]) -> Vec<Sheet> {
    let mut sheets: Vec<Sheet> = slides.iter().flat_map(view_sheets).collect();
    let count = sheets.len();
    for (i, sheet) in sheets.iter_mut().enumerate() {
        if !sheet.missing.is_empty() {
            let chars: Vec<char> = sheet.missing.iter().copied().collect();
            let codes: Vec<String> = chars.iter().take(12).map(|c| format!("U+{:04X}", *c as u32)).collect();
            let notice = format!(
                "{} {} ({} text) {} printed as {} on this page: this PDF's font cannot show {}; the HTML report has the exact text.",
                chars.len(),
                if chars.len() == 1 { "character" } else { "characters" },
                typeset::scripts(&chars).join(", "),
                if chars.len() == 1 { "is" } else { "are" },
                typeset::MISSING,
                codes.join(" ") + if chars.len() > 12 { " …" } else { "" },
            );
            let notice = typeset::fit(&notice, 7.0, INNER, Weight::Regular);
            sheet.ink.push(Ink::Text {
                x: MARGIN,
                y: BOTTOM + 9.0,
                text: notice,
                size: 7.0,
                weight: Weight::Regular,
                colour: NOTE,
                anchor: Anchor::Start,
            });
        }
        let footer = typeset::fit(&format!("{story} · {} · {} / {count}", sheet.view, i + 1), 7.5, INNER, Weight::Regular);
        let footer = typeset::printable(&footer, Weight::Regular).0;
        sheet.ink.push(Ink::Text {
            x: PAGE_WIDTH - MARGIN,
            y: PAGE_HEIGHT - MARGIN + 14.0,
            text: footer,
            size: 7.5,
            weight: Weight::Regular,
            colour: MUTED,
            anchor: Anchor::End,
        });
    }
    sheets
}

fn fill([r, g, b]: Rgb) -> Fill {
    Fill { paint: rgb::Color::new(r, g, b).into(), opacity: NormalizedF32::ONE, rule: FillRule::NonZero }
}

/// The report: every view from a new page.
pub fn report_pdf(story: &str, slides: &[Slide]) -> Result<Vec<u8>, PdfError> {
    let regular = Font::new(typeset::REGULAR_TTF.into(), 0).ok_or(PdfError::Font)?;
    let bold = Font::new(typeset::BOLD_TTF.into(), 0).ok_or(PdfError::Font)?;
    let settings = PageSettings::from_wh(PAGE_WIDTH as f32, PAGE_HEIGHT as f32).ok_or(PdfError::PageSize)?;
    let mut document = Document::new();
    for sheet in report_sheets(story, slides) {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for ink in &sheet.ink {
            match ink {
                Ink::Rect { x, y, width, height, colour } => {
                    let Some(rect) = Rect::from_xywh(*x as f32, *y as f32, *width as f32, *height as f32) else { continue };
                    let mut path = PathBuilder::new();
                    path.push_rect(rect);
                    let Some(path) = path.finish() else { continue };
                    surface.set_stroke(None);
                    surface.set_fill(Some(fill(*colour)));
                    surface.draw_path(&path);
                }
                Ink::Line { points, colour: [r, g, b], width } => {
                    let mut path = PathBuilder::new();
                    for (k, (x, y)) in points.iter().enumerate() {
                        if k == 0 {
                            path.move_to(*x as f32, *y as f32);
                        } else {
                            path.line_to(*x as f32, *y as f32);
                        }
                    }
                    let Some(path) = path.finish() else { continue };
                    surface.set_fill(None);
                    surface.set_stroke(Some(Stroke {
                        paint: rgb::Color::new(*r, *g, *b).into(),
                        width: *width as f32,
                        ..Stroke::default()
                    }));
                    surface.draw_path(&path);
                }
                Ink::Text { x, y, text, size, weight, colour, .. } => {
                    let left = ink.text_left().unwrap_or(*x);
                    let font = if *weight == Weight::Bold { bold.clone() } else { regular.clone() };
                    surface.set_stroke(None);
                    surface.set_fill(Some(fill(*colour)));
                    surface.draw_text(Point::from_xy(left as f32, *y as f32), font, *size as f32, text, false, TextDirection::LeftToRight);
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document.set_metadata(Metadata::new().title(story.to_string()).creator("shoplens".to_string()));
    document.finish().map_err(PdfError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::present::slide::Figure;

    fn slide(title: &str, caption: &str) -> Slide {
        Slide {
            title: title.into(),
            caption: caption.into(),
            place: "Overview".into(),
            dates: "All the data".into(),
            filters: "All countries".into(),
            data_range: "Data: 1 Dec 2009 – 9 Dec 2010".into(),
            figures: vec![Figure { label: "Revenue".into(), value: "£10,169,340".into(), under: Some("+4.2% vs previous".into()) }],
            charts: Vec::new(),
            tables: Vec::new(),
            notes: vec!["A note".into()],
            focus: None,
        }
    }

    /// Every piece of text lies inside the page (measured with the font's own widths).
    fn inside(sheet: &Sheet) -> bool {
        sheet.ink.iter().all(|ink| match ink {
            Ink::Text { y, text, size, weight, .. } => {
                let w = typeset::width(text, *size, *weight);
                let left = ink.text_left().unwrap_or_default();
                left >= MARGIN - 0.5 && left + w <= PAGE_WIDTH - MARGIN + 0.5 && y - size >= 0.0 && *y <= PAGE_HEIGHT - MARGIN / 2.0
            }
            _ => true,
        })
    }

    #[test]
    fn a_long_title_wraps_and_a_long_caption_continues_on_the_next_page() {
        let title = "A very long title for a view that a marketer wrote without thinking of the width of a page at all, twice over";
        let caption = "Revenue builds through the autumn to the November peak. ".repeat(60);
        let sheets = report_sheets("Story", &[slide(title, &caption)]);
        assert!(sheets.len() >= 2, "the caption continues");
        assert!(sheets.iter().all(inside), "nothing outside the page");
        assert!(sheets[1].texts().any(|t| t.ends_with("(continued)")));
        // The whole caption is there, in order.
        let words: usize = sheets.iter().flat_map(|s| s.texts()).map(|t| t.matches("November").count()).sum();
        assert_eq!(words, 60);
        // The figure and the note still come after the caption, not over it.
        let last = sheets.last().unwrap();
        assert!(last.texts().any(|t| t == "£10,169,340") && last.texts().any(|t| t.contains("A note")));
    }

    #[test]
    fn a_table_too_long_for_a_page_continues_under_its_headings() {
        let mut view = slide("Table", "Short.");
        let rows = (0..80).map(|i| vec![format!("product {i}"), format!("{i}.00")]).collect();
        view.tables.push(SlideTable {
            title: "Products".into(),
            header: vec!["Product".into(), "Revenue".into()],
            rows,
            numeric: vec![false, true],
            more: 0,
            shade: None,
        });
        let sheets = report_sheets("Story", &[view]);
        assert!(sheets.len() >= 2);
        assert!(sheets.iter().all(inside));
        assert_eq!(sheets.iter().flat_map(|s| s.texts()).filter(|t| t.starts_with("product ")).count(), 80);
        assert!(sheets.iter().all(|s| s.texts().any(|t| t == "Revenue")), "headings on every page");
    }

    /// A table with no rows in the period (a quiet month) says so instead of drawing empty
    /// headings, and a table that lost every column does not stop the report.
    #[test]
    fn a_table_without_rows_says_so() {
        let mut view = slide("Quiet", "Nothing sold.");
        view.tables.push(SlideTable::top("Top products", (vec!["stock_code".into(), "revenue".into()], Vec::new()), 10, None));
        assert_eq!(view.tables[0].header, ["Code", "Revenue"], "headings are kept without rows");
        view.tables.push(SlideTable { header: Vec::new(), numeric: Vec::new(), ..view.tables[0].clone() });
        let sheets = report_sheets("Story", &[view]);
        assert_eq!(sheets.iter().flat_map(|s| s.texts()).filter(|t| t.starts_with("No rows in the selected period")).count(), 2);
        assert!(sheets.iter().all(inside));
    }

    #[test]
    fn characters_the_font_lacks_are_named_on_their_page() {
        let sheets = report_sheets("Story", &[slide("日本語 sales", "Fine")]);
        assert_eq!(sheets[0].missing.len(), 3);
        assert!(sheets[0].texts().any(|t| t.contains("U+65E5 U+672C U+8A9E") && t.contains("Chinese/Japanese/Korean")));
        let pdf = report_pdf("Story", &[slide("São Paulo", "Ελληνικά")]).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
    }
}

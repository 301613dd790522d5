//! The report as one self-contained HTML file: inline SVG charts, tables, captions, and the
//! filters and data range of every view. No scripts, no network: it opens anywhere, and prints
//! one view per page.

use super::slide::{Slide, SlideTable};
use super::svg::chart_svg;

/// HTML text with `<`, `>`, `&` and quotes escaped.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #282828; margin: 0; background: #f4f4f4; }
header.report { padding: 24px 40px 8px; }
header.report h1 { margin: 0 0 4px; font-size: 28px; }
section.view { background: white; margin: 16px 40px; padding: 24px 32px; border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
section.view h2 { margin: 0 0 6px; font-size: 24px; }
p.caption { font-size: 16px; margin: 0 0 8px; }
p.meta { color: #6e6e6e; font-size: 12px; margin: 0 0 10px; }
ul.notes { color: #785a1e; font-size: 12px; margin: 14px 0 0; padding-left: 18px; }
div.figures { display: flex; gap: 12px; margin: 8px 0 14px; flex-wrap: wrap; }
div.figure { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
div.figure .label { color: #6e6e6e; font-size: 12px; }
div.figure .value { font-size: 22px; font-weight: bold; }
div.figure .change { font-size: 12px; color: #6e6e6e; }
div.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 18px; }
figure { margin: 0; }
figcaption { font-weight: bold; font-size: 14px; margin-bottom: 4px; }
figure p.chart-note { color: #6e6e6e; font-size: 11px; margin: 2px 0 0; }
div.tables { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 18px; margin-top: 14px; }
table { border-collapse: collapse; font-size: 12px; width: 100%; }
caption { text-align: left; font-weight: bold; font-size: 14px; margin-bottom: 4px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #e4e4e4; text-align: left; }
th { background: #f0f0f0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
p.more { color: #6e6e6e; font-size: 11px; }
@media print {
  body { background: white; }
  header.report { display: none; }
  section.view { box-shadow: none; margin: 0; padding: 0; page-break-after: always; break-after: page; }
  @page { size: A4 landscape; margin: 12mm; }
}
";

fn table_html(table: &SlideTable, out: &mut String) {
    out.push_str("<table class=\"data\">");
    out.push_str(&format!("<caption>{}</caption><thead><tr>", esc(&table.title)));
    let numeric: Vec<bool> = (0..table.header.len()).map(|i| table.numeric(i)).collect();
    for (i, h) in table.header.iter().enumerate() {
        let class = if numeric[i] { " class=\"num\"" } else { "" };
        out.push_str(&format!("<th{class}>{}</th>", esc(h)));
    }
    out.push_str("</tr></thead><tbody>");
    for (r, row) in table.rows.iter().enumerate() {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if numeric.get(i).copied().unwrap_or(false) { " class=\"num\"" } else { "" };
            let shade = table.shade.as_ref().and_then(|s| s.get(r)?.get(i).copied().flatten());
            let style = shade.map_or(String::new(), |v| {
                let [red, green, blue] = super::chart::heat_colour(v);
                format!(" style=\"background:rgb({red},{green},{blue})\"")
            });
            out.push_str(&format!("<td{class}{style}>{}</td>", esc(cell)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if let Some(note) = super::slide::left_out_note(table.more) {
        out.push_str(&format!("<p class=\"more\">{}</p>", esc(&note)));
    }
}

/// The whole report.
pub fn report_html(story: &str, workspace: &str, created: &str, slides: &[Slide]) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str(&format!("<title>{}</title><style>{STYLE}</style></head><body>\n", esc(story)));
    out.push_str(&format!(
        "<header class=\"report\"><h1>{}</h1><p class=\"meta\">{} views from {}, made by shoplens on {}</p></header>\n",
        esc(story),
        slides.len(),
        esc(workspace),
        esc(created)
    ));
    for (i, slide) in slides.iter().enumerate() {
        out.push_str(&format!("<section class=\"view\" id=\"view-{}\">", i + 1));
        out.push_str(&format!("<h2>{}</h2>", esc(&slide.title)));
        if !slide.caption.is_empty() {
            out.push_str(&format!("<p class=\"caption\">{}</p>", esc(&slide.caption)));
        }
        out.push_str(&format!("<p class=\"meta\">{}</p>", esc(&slide.meta_line(true))));
        if !slide.figures.is_empty() {
            out.push_str("<div class=\"figures\">");
            for f in &slide.figures {
                out.push_str(&format!(
                    "<div class=\"figure\"><div class=\"label\">{}</div><div class=\"value\">{}</div>{}</div>",
                    esc(&f.label),
                    esc(&f.value),
                    f.under.as_ref().map_or(String::new(), |c| format!("<div class=\"change\">{}</div>", esc(c)))
                ));
            }
            out.push_str("</div>");
        }
        if !slide.charts.is_empty() {
            out.push_str("<div class=\"charts\">");
            for chart in &slide.charts {
                out.push_str(&format!("<figure><figcaption>{}</figcaption>", esc(&chart.title)));
                out.push_str(&chart_svg(chart, 520.0, 240.0));
                if !chart.note.is_empty() {
                    out.push_str(&format!("<p class=\"chart-note\">{}</p>", esc(&chart.note)));
                }
                out.push_str("</figure>");
            }
            out.push_str("</div>");
        }
        if !slide.tables.is_empty() {
            out.push_str("<div class=\"tables\">");
            for table in &slide.tables {
                out.push_str("<div>");
                table_html(table, &mut out);
                out.push_str("</div>");
            }
            out.push_str("</div>");
        }
        // The analyst's warnings come after what the view shows, as footnotes.
        if !slide.notes.is_empty() {
            out.push_str("<ul class=\"notes\">");
            for note in &slide.notes {
                out.push_str(&format!("<li>{}</li>", esc(note)));
            }
            out.push_str("</ul>");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

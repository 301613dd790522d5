//! The demo's "Year in review" story as a report, checked as a reader would: every view is a
//! section of the HTML and a page of the PDF, every chart is there, and the figures equal SQL
//! over the same workspace (an independent computation). With Chromium and poppler-utils on
//! the machine (`.ci/run` installs them) the files are also rendered and read back.

use std::path::{Path, PathBuf};
use std::process::Command;

use shoplens::jobs::JobContext;
use shoplens::present::{self, ReportTargets};

fn demo_workspace(dir: &Path) -> PathBuf {
    let ws = dir.join("demo.shoplens");
    shoplens::demo::build(&ws, &JobContext::detached()).unwrap();
    ws
}

fn sql_f64(path: &Path, sql: &str) -> f64 {
    let conn = shoplens::workspace::open_read_only(path).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// The figure labelled `label` on a slide.
fn figure<'a>(slide: &'a present::slide::Slide, label: &str) -> &'a str {
    &slide.figures.iter().find(|f| f.label == label).unwrap_or_else(|| panic!("no {label} on '{}'", slide.title)).value
}

#[test]
fn year_in_review_prints_every_view_with_the_workspace_figures() {
    let dir = tempfile::tempdir().unwrap();
    let ws = demo_workspace(dir.path());
    let slides = present::story_slides(&ws, shoplens::demo::DEMO_STORY, &JobContext::detached()).unwrap();
    assert!((8..=12).contains(&slides.len()), "{} views", slides.len());
    let with_charts = slides.iter().filter(|s| !s.charts.is_empty()).count();
    assert!(with_charts >= 5, "{with_charts} views with charts");
    assert!(slides.iter().all(|s| !s.caption.is_empty()), "every view has a caption");
    for slide in &slides {
        assert!(slide.notes.iter().all(|n| !n.starts_with("Reports do not print")), "'{}' is printed", slide.title);
        for chart in &slide.charts {
            assert!(!chart.is_empty(), "'{}' on '{}' has data", chart.title, slide.title);
        }
    }

    // The figures are the workspace's, recomputed: SQL over the same order lines, in the demo
    // shop's pounds.
    let money = |value: f64| shoplens::present::format::money_in(value, Some(shoplens::demo::DEMO_CURRENCY));
    let year = sql_f64(&ws, "SELECT sum(quantity * unit_price) FROM order_lines WHERE cancelled = 0");
    assert_eq!(figure(&slides[0], "Revenue"), money(year));
    // The last full month of data that ends on 2010-12-09 is November 2010.
    assert_eq!(slides[1].dates, "The last full month (1 Nov 2010 – 30 Nov 2010)");
    let november = sql_f64(
        &ws,
        "SELECT sum(quantity * unit_price) FROM order_lines WHERE cancelled = 0 AND invoice_date >= '2010-11-01' AND invoice_date < '2010-12-01'",
    );
    assert_eq!(figure(&slides[1], "Revenue"), money(november));
    // "What changed in November": November's findings against October, the same revenue, the
    // saved finding's chart and the ranked list.
    assert_eq!(slides[2].title, "What changed in November");
    assert_eq!(figure(&slides[2], "Revenue"), money(november));
    assert_eq!(slides[2].charts.len(), 1, "{:?}", slides[2].notes);
    assert!(slides[2].tables[0].rows.len() >= 3, "{:?}", slides[2].tables[0]);
    let customers = sql_f64(&ws, "SELECT count(DISTINCT customer_id) FROM order_lines WHERE cancelled = 0 AND customer_id IS NOT NULL");
    assert_eq!(figure(&slides[4], "Customers"), shoplens::present::format::number(customers, 0));
    // The funnel's first step: sessions with a view.
    let funnel = slides.iter().find(|s| s.place.starts_with("Funnel")).unwrap();
    let viewed = sql_f64(&ws, "SELECT count(DISTINCT user_session) FROM events WHERE event_type = 'view'");
    assert_eq!(funnel.tables[0].rows[0][2], shoplens::present::format::number(viewed, 0), "{:?}", funnel.tables[0]);

    // The Funnel says which share of the shop's customers the web events cover; reference: the
    // same count in SQL.
    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    let ctx = JobContext::detached();
    let (events, orders) = (
        shoplens::workspace::copies::load_events(&conn, &ctx).unwrap(),
        shoplens::workspace::copies::load_order_lines(&conn, &ctx).unwrap(),
    );
    let coverage = shoplens::analytics::funnel::customer_coverage(&events, &orders).unwrap();
    let covered = sql_f64(
        &ws,
        "SELECT count(DISTINCT customer_id) FROM order_lines WHERE cancelled = 0 AND CAST(customer_id AS INTEGER) IN (SELECT user_id FROM events)",
    );
    assert_eq!((coverage.customers, coverage.with_events), (customers as u64, covered as u64));
    drop(conn);

    // "Did our price changes pay?": the demo's decisions, each measured beside its prediction;
    // reference: the accepted decisions in SQL.
    let decisions = slides.iter().find(|s| s.place == "Pricing › Decisions").expect("the decisions slide");
    let accepted = sql_f64(&ws, "SELECT count(*) FROM price_decisions WHERE status = 'accepted' AND predicted_units IS NOT NULL");
    assert!(accepted >= 3.0, "{accepted} demo decisions with a prediction");
    assert_eq!(decisions.tables[0].rows.len(), accepted as usize, "{:?}", decisions.tables[0]);
    assert_eq!(figure(decisions, "Changes measured"), format!("{accepted} of {accepted}"));
    assert_eq!(decisions.charts[0].series[0].points.len(), accepted as usize);

    // Tables for people: headings in words, every column formatted alike.
    for slide in &slides {
        for table in &slide.tables {
            for heading in &table.header {
                assert!(
                    !heading.contains('_') && heading.chars().next().is_some_and(|c| !c.is_lowercase()),
                    "'{heading}' on '{}'",
                    slide.title
                );
            }
        }
    }
    let column = |slide: &present::slide::Slide, heading: &str| -> Vec<String> {
        let table = slide.tables.iter().find(|t| t.header.iter().any(|h| h == heading)).unwrap_or_else(|| panic!("no {heading}"));
        let i = table.header.iter().position(|h| h == heading).unwrap();
        table.rows.iter().map(|r| r[i].clone()).collect()
    };
    let segments = &slides[4];
    assert!(column(segments, "Share of customers").iter().all(|c| c.ends_with('%') && c.parse::<f64>().is_err()));
    assert!(column(segments, "CLV").iter().all(|c| c.starts_with('£')), "the segment table's CLV is filled");
    assert!(column(&slides[5], "Cohort").iter().any(|c| c == "Dec 2009"));
    assert!(column(&slides[6], "CLV").iter().all(|c| c.starts_with('£') && !c.contains('.')), "{:?}", column(&slides[6], "CLV"));
    assert!(slides[4].charts.iter().any(|c| c.title.starts_with("Share of customers")), "the RFM page has its chart");
    assert!(slides[5].tables[0].shade.is_some(), "the cohort table is a heat map");
    // The "Save view" dialog offers exactly the slide's charts and tables.
    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    let saved = shoplens::workspace::views::views(&conn, shoplens::demo::DEMO_STORY).unwrap();
    for (view, slide) in saved.iter().zip(&slides) {
        let offered = present::slide::elements(&view.view.panel, &view.view.state);
        assert_eq!(offered.len(), slide.charts.len() + slide.tables.len(), "'{}'", slide.title);
        assert!(slide.focused().is_some(), "'{}' has something to present", slide.title);
    }
    // The shop's story is the shop's; the marketplace, another business, has a story of its own,
    // whose pages carry the marketplace's own days.
    assert!(slides.iter().all(|s| !s.place.starts_with("Sellers") && !s.place.starts_with("Listings")));
    let market = present::story_slides(&ws, shoplens::demo::MARKETPLACE_STORY, &JobContext::detached()).unwrap();
    assert_eq!(market.len(), 2);
    for page in &market {
        assert!(page.data_range.contains("2023") && !page.data_range.contains("2010"), "{}", page.data_range);
        // The shortage trend ends on the last full month: no partial month reads as a collapse.
        for chart in &page.charts {
            assert!(!chart.is_empty());
        }
    }
    let germany = slides.iter().find(|s| s.filters == "Country: Germany").expect("a view filtered to one country");
    let german_revenue = sql_f64(&ws, "SELECT sum(quantity * unit_price) FROM order_lines WHERE cancelled = 0 AND country = 'Germany'");
    assert_eq!(figure(germany, "Revenue"), money(german_revenue));

    // The files: one section / page per view, every chart as inline SVG, nothing fetched.
    let targets = ReportTargets { html: Some(dir.path().join("story.html")), pdf: Some(dir.path().join("story.pdf")) };
    let written = present::write_report(&ws, shoplens::demo::DEMO_STORY, &slides, &targets).unwrap();
    assert_eq!(written.len(), 2);
    let html = std::fs::read_to_string(dir.path().join("story.html")).unwrap();
    assert_eq!(html.matches("<section class=\"view\"").count(), slides.len());
    let charts: usize = slides.iter().map(|s| s.charts.len()).sum();
    assert_eq!(html.matches("<svg class=\"chart\"").count(), charts);
    for slide in &slides {
        for chart in &slide.charts {
            assert!(html.contains(&format!("data-title=\"{}\"", chart.title)), "{} in the HTML", chart.title);
        }
    }
    assert!(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("href=\"http"), "self-contained");
    assert!(html.contains(&money(year)) && html.contains("The last full month (1 Nov 2010 – 30 Nov 2010)"));
    // Each view starts a page; what does not fit continues on the next.
    let sheets = present::pdf::report_sheets(shoplens::demo::DEMO_STORY, &slides);
    let starts: Vec<usize> = (0..sheets.len()).filter(|&k| k == 0 || sheets[k].view != sheets[k - 1].view).collect();
    assert_eq!(starts.len(), slides.len());

    if have("pdftotext") {
        let info = Command::new("pdfinfo").arg(dir.path().join("story.pdf")).output().unwrap();
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(info.lines().any(|l| l.starts_with("Pages:") && l.ends_with(&format!(" {}", sheets.len()))), "{info}");
        // The page starting view k reads as view k: its title, and the first view's revenue.
        for (k, slide) in slides.iter().enumerate() {
            let page = (starts[k] + 1).to_string();
            let out = Command::new("pdftotext")
                .args(["-f", &page, "-l", &page, "-layout"])
                .arg(dir.path().join("story.pdf"))
                .arg("-")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains(&slide.title), "page {} reads '{}':\n{text}", k + 1, slide.title);
            if k == 0 {
                assert!(text.contains(&money(year)), "{text}");
            }
        }
        let out = Command::new("pdftoppm")
            .args(["-r", "40", "-png"])
            .arg(dir.path().join("story.pdf"))
            .arg(dir.path().join("page"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let images = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("page"))
            .count();
        assert_eq!(images, sheets.len());
    } else {
        eprintln!("poppler-utils not installed: the PDF was not rendered (CI installs it)");
    }
    let chromium = ["chromium", "chromium-browser"].into_iter().find(|c| have(c));
    match chromium {
        Some(browser) => {
            let shot = dir.path().join("story.png");
            let out = Command::new(browser)
                .args(["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000"])
                .arg(format!("--screenshot={}", shot.display()))
                .arg(format!("file://{}", dir.path().join("story.html").display()))
                .output()
                .unwrap();
            assert!(shot.exists() && std::fs::metadata(&shot).unwrap().len() > 10_000, "{}", String::from_utf8_lossy(&out.stderr));
        }
        None => eprintln!("Chromium not installed: the HTML was not rendered (CI installs it)"),
    }
}

/// `shoplens report` writes both files, and names the stories when asked for one that is not there.
#[test]
fn report_command_writes_html_and_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let ws = demo_workspace(dir.path());
    let html = dir.path().join("r.html");
    let pdf = dir.path().join("r.pdf");
    let out = Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .arg("report")
        .arg(&ws)
        .args(["--story", "Year in review", "--html"])
        .arg(&html)
        .arg("--pdf")
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
    assert!(std::fs::read_to_string(&html).unwrap().contains("<h1>Year in review</h1>"));
    let out = Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .arg("report")
        .arg(&ws)
        .args(["--story", "Nope", "--html"])
        .arg(&html)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("no story named 'Nope' in this workspace (stories: Year in review, Marketplace review)"));
}

/// Runs a poppler tool on `pdf`, or `None` when poppler-utils is not installed.
fn poppler(tool: &str, args: &[&str], pdf: &Path) -> Option<String> {
    let mut command = Command::new(tool);
    command.args(args).arg(pdf);
    if tool == "pdftotext" {
        command.arg("-");
    }
    let out = command.output().ok()?;
    assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The PDF carries its own font, gives its text back exactly, and keeps every word on its
/// page. Reference: poppler's `pdffonts` and `pdftotext`, an independent PDF reader.
#[test]
fn the_pdf_embeds_its_font_and_gives_every_script_back() {
    use present::slide::{Figure, Slide, SlideTable};
    let dir = tempfile::tempdir().unwrap();
    let long_title = "Sales of every product line in every region, with the long title a manager gives a page the night before";
    let slide = Slide {
        title: long_title.into(),
        caption: "São Paulo, Øre, Ελληνικά, Кириллица — and a decomposed Sa\u{303}o. ".to_string()
            + &"A caption that goes on. ".repeat(150),
        place: "Overview".into(),
        dates: "All the data".into(),
        filters: "All countries".into(),
        data_range: "Data: 1 Dec 2009 – 9 Dec 2010".into(),
        figures: vec![Figure { label: "Revenue".into(), value: "£10,169,340".into(), under: None }],
        charts: Vec::new(),
        tables: vec![SlideTable {
            title: "Top products".into(),
            header: vec!["Product".into(), "Revenue".into()],
            rows: vec![vec!["日本語 teapot".into(), "£1,234".into()], vec!["Tasse à café".into(), "£99.50".into()]],
            numeric: vec![false, true],
            more: 0,
            shade: None,
        }],
        notes: vec!["Churn is not identified from this window.".into()],
        focus: None,
    };
    let pdf = dir.path().join("scripts.pdf");
    std::fs::write(&pdf, present::pdf::report_pdf("Scripts", &[slide]).unwrap()).unwrap();
    let Some(fonts) = poppler("pdffonts", &[], &pdf) else {
        eprintln!("poppler-utils not installed: the PDF was not read back (CI installs it)");
        return;
    };
    // Embedded (the "emb" column) subsets of DejaVu Sans, regular and bold.
    let dejavu: Vec<&str> = fonts.lines().filter(|l| l.contains("DejaVuSans")).collect();
    assert!(dejavu.len() >= 2 && dejavu.iter().all(|l| l.contains(" yes ")), "{fonts}");
    let text = poppler("pdftotext", &[], &pdf).unwrap();
    assert!(text.contains("São Paulo, Øre, Ελληνικά, Кириллица"), "{text}");
    assert!(text.contains("decomposed São."), "{text}");
    // 日本語 is not in the font: printed as □ with a notice naming the characters.
    assert!(text.contains("日本語 teapot") || (text.contains("□□□ teapot") && text.contains("U+65E5 U+672C U+8A9E")), "{text}");
    assert!(text.contains("(continued)"), "the long caption continues on a second page");
    // No word lies outside its page (A4 landscape: 842 × 595 points).
    let boxes = poppler("pdftotext", &["-bbox"], &pdf).unwrap();
    let mut words = 0;
    for line in boxes.lines().filter(|l| l.trim_start().starts_with("<word ")) {
        let attr = |name: &str| -> f64 {
            let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            line[start..].split('"').next().unwrap().parse().unwrap()
        };
        let (x_min, y_min, x_max, y_max) = (attr("xMin"), attr("yMin"), attr("xMax"), attr("yMax"));
        assert!(x_min >= 0.0 && y_min >= 0.0 && x_max <= 842.0 && y_max <= 595.0, "{line}");
        words += 1;
    }
    assert!(words > 500, "{words} words");
}

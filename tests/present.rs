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
    assert!(slides[1].dates.contains("2010-11-01 to 2010-11-30"), "{}", slides[1].dates);
    let november = sql_f64(
        &ws,
        "SELECT sum(quantity * unit_price) FROM order_lines WHERE cancelled = 0 AND invoice_date >= '2010-11-01' AND invoice_date < '2010-12-01'",
    );
    assert_eq!(figure(&slides[1], "Revenue"), money(november));
    let customers = sql_f64(&ws, "SELECT count(DISTINCT customer_id) FROM order_lines WHERE cancelled = 0 AND customer_id IS NOT NULL");
    assert_eq!(figure(&slides[3], "Customers"), shoplens::present::format::number(customers, 0));
    // The funnel's first step: sessions with a view.
    let funnel = slides.iter().find(|s| s.place.starts_with("Funnel")).unwrap();
    let viewed = sql_f64(&ws, "SELECT count(DISTINCT user_session) FROM events WHERE event_type = 'view'");
    assert_eq!(funnel.tables[0].rows[0][2], (viewed as u64).to_string(), "{:?}", funnel.tables[0]);

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
    assert!(html.contains(&money(year)) && html.contains("relative: the last full month (2010-11-01 to 2010-11-30)"));
    let pdf = std::fs::read(dir.path().join("story.pdf")).unwrap();
    let pages = pdf.windows(11).filter(|w| w == b"/Type /Page").count() - pdf.windows(12).filter(|w| w == b"/Type /Pages").count();
    assert_eq!(pages, slides.len(), "one page per view");

    if have("pdftotext") {
        // Page k reads as view k: its title, and the first view's revenue.
        for (k, slide) in slides.iter().enumerate() {
            let out = Command::new("pdftotext")
                .args(["-f", &(k + 1).to_string(), "-l", &(k + 1).to_string(), "-layout"])
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
        assert_eq!(images, slides.len());
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
    assert!(String::from_utf8_lossy(&out.stderr).contains("no story named 'Nope' in this workspace (stories: Year in review)"));
}

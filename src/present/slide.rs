//! A saved view as a report page: its title and caption, the filters and dates it shows, and
//! its figures, charts and tables recomputed from the workspace (a story built on last month's
//! export shows this month's figures). Built headless, by the same analytics the panels run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use rusqlite::Connection;

use super::chart::Chart;
use super::charts;
use super::format::{self, number, ColumnFormat};
use super::panels::{self, tab, CUSTOMER_VALUE, FINDINGS, FUNNEL, LISTINGS, OVERVIEW, PRICING, SEGMENTS, SELLERS};
use crate::analytics::event_frame::EventFrame;
use crate::analytics::marketplace::MarketplaceData;
use crate::analytics::order_frame::OrderFrame;
use crate::analytics::{clv, cohorts, funnel, overview, pricing, rfm, Filters, Table};
use crate::jobs::JobContext;
use crate::workspace::views::View;
use crate::workspace::{self, copies};

/// A headline number (a KPI card on screen).
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub label: String,
    pub value: String,
    /// The line under the value: the change against the previous period ("+4.2% vs
    /// previous"), or an estimate's interval.
    pub under: Option<String>,
}

/// A table as people read it: headings in words, every column formatted alike (money with
/// its currency, ratios as percentages, months by name). CSV exports keep the analytics
/// table's machine form.
#[derive(Debug, Clone, PartialEq)]
pub struct SlideTable {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Which columns hold numbers (right-aligned, so digits line up).
    pub numeric: Vec<bool>,
    /// Rows of the full table left out to fit the page.
    pub more: usize,
    /// Cells shaded by value, as a heat map: per row, the value behind each cell (0 to 1 of the
    /// table's range), `None` for a cell left white.
    pub shade: Option<Vec<Vec<Option<f64>>>>,
}

impl SlideTable {
    /// The first `limit` rows of `table`, each column written as [`format::column_format`]
    /// says for its name; columns with nothing in them and machine lists are left out.
    pub fn top(title: impl Into<String>, table: Table, limit: usize, currency: Option<&str>) -> Self {
        Self::top_with(title, table, limit, currency, format::column_format)
    }

    /// As [`SlideTable::top`], with the column formats chosen by `format_of`.
    pub fn top_with(
        title: impl Into<String>,
        (header, mut rows): Table,
        limit: usize,
        currency: Option<&str>,
        format_of: impl Fn(&str) -> ColumnFormat,
    ) -> Self {
        let more = rows.len().saturating_sub(limit);
        rows.truncate(limit);
        fn cell(row: &[String], i: usize) -> &str {
            row.get(i).map_or("", |c| c.as_str())
        }
        let kept: Vec<(usize, ColumnFormat)> = header
            .iter()
            .enumerate()
            .map(|(i, name)| (i, format_of(name)))
            // A column with nothing in it is left out; a table with no rows keeps its headings.
            .filter(|&(i, f)| f != ColumnFormat::Hidden && (rows.is_empty() || rows.iter().any(|r| !cell(r, i).trim().is_empty())))
            .collect();
        let columns: Vec<Vec<String>> =
            kept.iter().map(|&(i, f)| f.column(&rows.iter().map(|r| cell(r, i)).collect::<Vec<_>>(), currency)).collect();
        Self {
            title: title.into(),
            header: kept.iter().map(|&(i, _)| format::column_label(&header[i])).collect(),
            rows: (0..rows.len()).map(|r| columns.iter().map(|c| c[r].clone()).collect()).collect(),
            numeric: kept.iter().map(|&(_, f)| f.is_numeric()).collect(),
            more,
            shade: None,
        }
    }

    /// Whether column `i` holds numbers (right-aligned).
    pub fn numeric(&self, i: usize) -> bool {
        self.numeric.get(i).copied().unwrap_or(false)
    }

    /// Column widths within `room`: each column as `wanted` while they all fit; else numbers
    /// keep their width and the text columns give way (cut in their cells), and when even the
    /// numbers do not fit, every column shrinks alike. No column is pushed off the page.
    pub fn fit_widths(&self, wanted: &[f64], room: f64) -> Vec<f64> {
        let numeric: Vec<bool> = (0..wanted.len()).map(|i| self.numeric(i)).collect();
        format::fit_widths(wanted, &numeric, room)
    }
}

/// "and 12 more rows (in the app and in the CLI export)" under a table cut to fit, or `None`.
pub fn left_out_note(rows: usize) -> Option<String> {
    (rows > 0).then(|| format!("and {} (in the app and in the CLI export)", format::count_of(rows as u64, "more row", "more rows")))
}

/// The one chart or table a slide shows when presented, by its place among the slide's
/// charts or tables (saved in the view's state as `"slide": {"chart": 0}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlideElement {
    Chart(usize),
    Table(usize),
}

/// What a presented slide shows below its figures.
pub enum Focused<'a> {
    Chart(&'a Chart),
    Table(&'a SlideTable),
}

/// One page of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Slide {
    pub title: String,
    pub caption: String,
    /// The panel (and tab) it restores: "Segments › Cohorts".
    pub place: String,
    /// The view's date range, fixed or relative, and the days it means now.
    pub dates: String,
    /// The active filters ("all countries" or "country: France").
    pub filters: String,
    /// The days the workspace's data covers.
    pub data_range: String,
    pub figures: Vec<Figure>,
    pub charts: Vec<Chart>,
    pub tables: Vec<SlideTable>,
    /// Warnings and remarks: footnotes on the page, never first.
    pub notes: Vec<String>,
    /// The chart or table presentation mode shows (the report prints them all).
    pub focus: Option<SlideElement>,
}

impl Slide {
    /// Where the page comes from, in one line: (its panel ›) dates · filters · the data's days.
    pub fn meta_line(&self, with_place: bool) -> String {
        let place = if with_place { self.place.as_str() } else { "" };
        [place, &self.dates, &self.filters, &self.data_range].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" · ")
    }

    /// The chart or table chosen for presenting.
    pub fn focused(&self) -> Option<Focused<'_>> {
        match self.focus? {
            SlideElement::Chart(i) => self.charts.get(i).map(Focused::Chart),
            SlideElement::Table(i) => self.tables.get(i).map(Focused::Table),
        }
    }
}

/// The charts and tables a view of `panel` with `state` puts on its slide, in the order the
/// slide holds them, named for the "Save view" dialog's choice of what to present.
pub fn elements(panel: &str, state: &serde_json::Value) -> Vec<(SlideElement, &'static str)> {
    use SlideElement::{Chart, Table};
    let tab = state.get("tab").and_then(|t| t.as_str());
    match (panels::named(panel), tab) {
        (Some(OVERVIEW), _) => vec![(Chart(0), "Monthly revenue"), (Chart(1), "New and returning customers"), (Table(0), "Top products")],
        (Some(FINDINGS), _) => vec![(Chart(0), "The finding's chart"), (Table(0), "Findings")],
        (Some(SEGMENTS), None | Some(tab::RFM_SEGMENTS)) => vec![(Chart(0), "Segment shares chart"), (Table(0), "RFM segment table")],
        (Some(SEGMENTS), Some(tab::COHORTS)) => vec![(Table(0), "Cohort heat map")],
        (Some(CUSTOMER_VALUE), _) => vec![(Chart(0), "Holdout check"), (Table(0), "Most valuable customers")],
        (Some(FUNNEL), None | Some(tab::FUNNEL)) => vec![(Chart(0), "Funnel chart"), (Table(0), "Funnel steps table")],
        (Some(PRICING), None | Some(tab::MONITOR)) => vec![(Table(0), "Price index by category")],
        (Some(PRICING), Some(tab::DECISIONS)) => vec![(Chart(0), "Predicted and realised"), (Table(0), "Price changes")],
        (Some(SELLERS), Some(tab::SHORT_CATEGORIES) | Some(tab::CANDIDATES) | None) => {
            vec![(Chart(0), "Demand per listing"), (Table(0), if tab == Some(tab::CANDIDATES) { "Candidates" } else { "Short categories" })]
        }
        (Some(LISTINGS), _) => vec![(Chart(0), "Days to sell"), (Table(0), "Listings by group")],
        _ => Vec::new(),
    }
}

/// The saved choice when the slide has it, else its first chart, else its first table.
fn choose_focus(saved: Option<SlideElement>, slide: &Slide) -> Option<SlideElement> {
    let exists = |e: &SlideElement| match *e {
        SlideElement::Chart(i) => i < slide.charts.len(),
        SlideElement::Table(i) => i < slide.tables.len(),
    };
    saved
        .filter(exists)
        .or_else(|| (!slide.charts.is_empty()).then_some(SlideElement::Chart(0)))
        .or_else(|| (!slide.tables.is_empty()).then_some(SlideElement::Table(0)))
}

#[derive(Debug, thiserror::Error)]
pub enum SlideError {
    #[error(transparent)]
    Workspace(#[from] workspace::WorkspaceError),
    #[error(transparent)]
    Copy(#[from] copies::CopyError),
    #[error("reading the workspace: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{0}")]
    Compute(String),
    #[error(transparent)]
    Cancelled(#[from] crate::jobs::Cancelled),
}

impl From<polars::prelude::PolarsError> for SlideError {
    fn from(e: polars::prelude::PolarsError) -> Self {
        SlideError::Compute(e.to_string())
    }
}

/// The workspace's data, each kind loaded once, when a view first needs it.
pub struct StorySource {
    path: PathBuf,
    conn: Connection,
    orders: Option<Arc<OrderFrame>>,
    events: Option<Arc<EventFrame>>,
    marketplace: Option<Arc<MarketplaceData>>,
    pricing: Option<Arc<pricing::PricingData>>,
    /// Customer value fits by filters and settings: the RFM page's CLV column and a Customer
    /// value page with the same settings share one fit.
    clv: Vec<(String, Arc<clv::ClvResult>)>,
}

impl StorySource {
    pub fn open(path: &Path) -> Result<Self, SlideError> {
        let conn = workspace::open_read_only(path)?;
        Ok(Self { path: path.to_path_buf(), conn, orders: None, events: None, marketplace: None, pricing: None, clv: Vec::new() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    fn orders(&mut self, ctx: &JobContext) -> Result<Arc<OrderFrame>, SlideError> {
        if self.orders.is_none() {
            self.orders = Some(Arc::new(copies::load_order_lines(&self.conn, ctx)?));
        }
        Ok(self.orders.clone().expect("loaded above"))
    }

    fn events(&mut self, ctx: &JobContext) -> Result<Arc<EventFrame>, SlideError> {
        if self.events.is_none() {
            self.events = Some(Arc::new(copies::load_events(&self.conn, ctx)?));
        }
        Ok(self.events.clone().expect("loaded above"))
    }

    fn marketplace(&mut self, ctx: &JobContext) -> Result<Arc<MarketplaceData>, SlideError> {
        if self.marketplace.is_none() {
            self.marketplace = Some(Arc::new(copies::load_marketplace(&self.conn, ctx)?));
        }
        Ok(self.marketplace.clone().expect("loaded above"))
    }

    fn pricing(&mut self, ctx: &JobContext) -> Result<Arc<pricing::PricingData>, SlideError> {
        if self.pricing.is_none() {
            self.pricing = Some(Arc::new(copies::load_pricing(&self.conn, ctx)?));
        }
        Ok(self.pricing.clone().expect("loaded above"))
    }

    fn clv(&mut self, filters: &Filters, settings: &clv::ClvSettings, ctx: &JobContext) -> Result<Arc<clv::ClvResult>, SlideError> {
        let key = format!("{filters:?}|{}", serde_json::to_string(settings).unwrap_or_default());
        if let Some((_, fit)) = self.clv.iter().find(|(k, _)| *k == key) {
            return Ok(fit.clone());
        }
        let frame = self.orders(ctx)?;
        let fit = Arc::new(clv::compute(&frame, filters, settings, ctx).map_err(|e| match e {
            clv::ClvError::Cancelled(c) => SlideError::Cancelled(c),
            other => SlideError::Compute(other.to_string()),
        })?);
        self.clv.push((key, fit.clone()));
        Ok(fit)
    }

    /// The days the data covers: the order lines' span (relative dates count from its last day).
    pub fn data_span(&mut self, ctx: &JobContext) -> Result<Option<(NaiveDate, NaiveDate)>, SlideError> {
        Ok(self.orders(ctx)?.date_span())
    }
}

/// The filters a view applies now: its date range resolved against the data's last day.
pub fn view_filters(view: &View, span: Option<(NaiveDate, NaiveDate)>) -> Filters {
    let (from, to) = span.map_or((None, None), |(_, last)| view.dates.resolve(last));
    Filters { from, to, country: view.country.clone(), ..Filters::default() }
}

/// The title of the panel a view names, for the page's "where it comes from".
fn panel_title(id: &str) -> &str {
    panels::named(id).map_or(id, |panel| panel.title)
}

/// Reads a field the panel wrote into the view's state.
fn field<T: serde::de::DeserializeOwned>(view: &View, key: &str) -> Option<T> {
    view.state.get(key).and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// Recomputes `view` from `source` as a report page.
pub fn build(view: &View, source: &mut StorySource, ctx: &JobContext) -> Result<Slide, SlideError> {
    let span = source.data_span(ctx)?;
    let filters = view_filters(view, span);
    let tab: Option<String> = field(view, "tab");
    let mut slide = Slide {
        title: view.title.clone(),
        caption: view.caption.clone(),
        place: match &tab {
            Some(tab) => format!("{} › {tab}", panel_title(&view.panel)),
            None => panel_title(&view.panel).to_string(),
        },
        dates: format::dates_for_people(&view.dates, span.map(|s| s.1)),
        filters: view.country.as_ref().map_or("All countries".to_string(), |c| format!("Country: {c}")),
        data_range: data_range(span),
        figures: Vec::new(),
        charts: Vec::new(),
        tables: Vec::new(),
        notes: Vec::new(),
        focus: None,
    };
    ctx.check()?;
    match (panels::named(&view.panel), tab.as_deref()) {
        (Some(OVERVIEW), _) => overview_slide(view, source, &filters, &mut slide, ctx)?,
        (Some(FINDINGS), _) => findings_slide(view, source, &filters, &mut slide, ctx)?,
        (Some(SEGMENTS), None | Some(tab::RFM_SEGMENTS)) => rfm_slide(source, &filters, &mut slide, ctx)?,
        (Some(SEGMENTS), Some(tab::COHORTS)) => cohorts_slide(view, source, &filters, &mut slide, ctx)?,
        (Some(CUSTOMER_VALUE), _) => clv_slide(view, source, &filters, &mut slide, ctx)?,
        (Some(FUNNEL), None | Some(tab::FUNNEL)) => funnel_slide(view, source, &filters, &mut slide, ctx)?,
        (Some(PRICING), None | Some(tab::MONITOR)) => pricing_slide(source, &mut slide, ctx)?,
        (Some(PRICING), Some(tab::DECISIONS)) => price_decisions_slide(view, source, &mut slide, ctx)?,
        (Some(SELLERS), Some(tab::SHORT_CATEGORIES) | Some(tab::CANDIDATES) | None) => {
            sellers_slide(view, tab.as_deref() == Some(tab::CANDIDATES), source, &mut slide, ctx)?
        }
        (Some(LISTINGS), _) => listings_slide(view, source, &filters, &mut slide, ctx)?,
        _ => slide.notes.push(format!("Reports do not print {} yet: open this view in shoplens to see it.", slide.place)),
    }
    slide.focus = choose_focus(field(view, "slide"), &slide);
    Ok(slide)
}

/// "Data: 1 Dec 2009 – 9 Dec 2010": the days the page's own business covers.
fn data_range(span: Option<(NaiveDate, NaiveDate)>) -> String {
    span.map_or("No data".to_string(), |(a, b)| format!("Data: {} – {}", format::day(a), format::day(b)))
}

/// A marketplace page covers the marketplace's own days, not the shop's.
fn marketplace_page(data: &MarketplaceData, slide: &mut Slide) {
    slide.data_range = data_range(data.date_span());
    slide.dates = "All the data".to_string();
    slide.filters = String::new();
}

fn change(kpi: overview::Kpi) -> Option<String> {
    kpi.change_pct().map(|c| format!("{c:+.1}% vs previous"))
}

fn overview_slide(view: &View, source: &mut StorySource, filters: &Filters, slide: &mut Slide, ctx: &JobContext) -> Result<(), SlideError> {
    let frame = source.orders(ctx)?;
    let result = overview::compute(&frame, filters, ctx).map_err(|e| SlideError::Compute(e.to_string()))?;
    let k = &result.kpis;
    let figure = |label: &str, value: String, under: Option<String>| Figure { label: label.into(), value, under };
    let currency = result.currency.as_deref();
    let money = |value: f64| super::format::money_in(value, currency);
    slide.figures = vec![
        figure("Revenue", money(k.revenue.current), change(k.revenue)),
        figure("Orders", number(k.orders.current, 0), change(k.orders)),
        figure("Customers", number(k.customers.current, 0), change(k.customers)),
        figure("Average order value", money(k.average_order_value.current), change(k.average_order_value)),
        figure("Cancellation rate", format!("{:.1}%", k.cancellation_rate.current), change(k.cancellation_rate)),
    ];
    if let Some(compared) = crate::present::format::compared_with(&result) {
        slide.notes.push(format!("Changes compare with {compared}."));
    }
    slide.notes.extend(crate::present::format::adjustments_note(&result.adjustments, money));
    slide.notes.extend(crate::present::format::other_currencies_note(currency, result.lines_in_other_currencies));
    slide.charts = vec![charts::monthly_revenue(&result), charts::customers_per_month(&result)];
    let with_services: bool = field(view, "services_in_ranking").unwrap_or(false);
    let products = if with_services { &result.top_products_with_services } else { &result.top_products };
    slide.tables.push(SlideTable::top(
        "Top products",
        overview::ranked_table(products, ["stock_code", "description", "revenue", "units"]),
        10,
        currency,
    ));
    if !with_services && !result.services.is_empty() {
        let names: Vec<String> = result.services.iter().take(6).map(|r| format!("{} ({})", r.name, money(r.revenue))).collect();
        slide.notes.push(format!("Left out of the product ranking, still in every total: {}.", names.join(", ")));
    }
    Ok(())
}

/// The findings of the view's days (the last full month when it has none), the saved finding's
/// chart, and the ranked list.
fn findings_slide(view: &View, source: &mut StorySource, filters: &Filters, slide: &mut Slide, ctx: &JobContext) -> Result<(), SlideError> {
    use crate::analytics::findings::{self, FindingKey, FindingsSettings};
    let grid = workspace::settings::load_segment_grid(source.conn())?;
    let frame = source.orders(ctx)?;
    let filters = findings::period_filters(filters, frame.date_span());
    let settings = FindingsSettings { grid, ..Default::default() };
    let events = source.events(ctx)?;
    let pricing = source.pricing(ctx)?;
    let thresholds: crate::analytics::pricing::PricingSettings =
        workspace::settings::load_pricing_setting(source.conn(), workspace::settings::SIGNAL_THRESHOLDS)?;
    let marketplace = source.marketplace(ctx)?;
    let sources = findings::OtherSources { events: Some(&events), pricing: Some((&pricing, &thresholds)), marketplace: Some(&marketplace) };
    let result = findings::compute_with(&frame, sources, &filters, &settings, ctx).map_err(|e| SlideError::Compute(e.to_string()))?;
    let currency = result.currency.as_deref();
    let money = |value: f64| super::format::money_in(value, currency);
    slide.figures = result
        .current
        .figures(result.previous.as_ref())
        .into_iter()
        .map(|f| Figure {
            label: f.label.into(),
            value: if f.is_money { money(f.value) } else { number(f.value, 0) },
            under: f.change_pct.map(|c| format!("{c:+.1}% vs previous")),
        })
        .collect();
    if let (Some((from, to)), Some((a, b))) = (result.period, result.previous_period) {
        slide.dates = format!("{} – {}, against {} – {}", format::day(from), format::day(to), format::day(a), format::day(b));
    }
    let saved: Option<FindingKey> = field(view, "finding");
    let shown = match &saved {
        Some(key) => {
            let found = result.findings.iter().find(|f| FindingKey::of(f) == *key);
            if found.is_none() {
                slide.notes.push(format!(
                    "The saved finding ({}, {}) is not among this period's findings: it may have been chance this time.",
                    key.subject,
                    key.metric.replace('_', " ")
                ));
            }
            found
        }
        None => result.findings.first(),
    };
    if let Some(finding) = shown {
        slide.charts.push(charts::finding(finding, currency));
        slide.notes.push(format!("{} Evidence: {}.", finding.text, finding.evidence.text));
    }
    // The sentences carry the figures, most important first; each one's evidence is in the app
    // and the CLI export.
    let rows: Vec<Vec<String>> = result.findings.iter().map(|f| vec![f.text.clone()]).collect();
    slide.tables.push(SlideTable::top("Findings", (vec!["finding".into()], rows), 8, currency));
    slide.notes.push(format!(
        "{} tested, {} passed; a change that could be chance (false discovery rate 5%) is not shown.",
        format::count_of(result.tested as u64, "finding", "findings"),
        number(result.passed as f64, 0)
    ));
    slide.notes.extend(result.notes.iter().map(|n| format!("Not looked at: {n}.")));
    Ok(())
}

fn rfm_slide(source: &mut StorySource, filters: &Filters, slide: &mut Slide, ctx: &JobContext) -> Result<(), SlideError> {
    let grid = workspace::settings::load_segment_grid(source.conn())?;
    let frame = source.orders(ctx)?;
    let result = rfm::compute(&frame, filters, None, &grid)?;
    let currency = frame.money_currency(filters).0;
    // The segment table's CLV column, from the fit a Customer value view with default settings
    // would show.
    let value = source.clv(filters, &clv::ClvSettings::default(), ctx)?;
    let by_customer: std::collections::HashMap<u32, f64> = value.customers.iter().filter_map(|c| Some((c.customer, c.clv?))).collect();
    let mean_clv = result.segment_means(&by_customer);
    slide.figures = vec![
        Figure { label: "Customers".into(), value: number(result.customers.len() as f64, 0), under: None },
        Figure { label: "Analysis date".into(), value: format::day(result.analysis_date), under: None },
    ];
    slide.charts.push(charts::segment_shares(&result));
    slide.tables.push(SlideTable::top("RFM segments", rfm::segment_table(&result, &grid, &mean_clv), 12, currency.as_deref()));
    slide.notes.extend(result.thin.iter().map(|thin| format!("Too little spread to score {thin}.")));
    Ok(())
}

fn cohorts_slide(view: &View, source: &mut StorySource, filters: &Filters, slide: &mut Slide, ctx: &JobContext) -> Result<(), SlideError> {
    let frame = source.orders(ctx)?;
    let result = cohorts::compute(&frame, filters)?;
    let revenue: bool = field(view, "cohort_revenue").unwrap_or(false);
    let (mut header, mut rows) = cohorts::table(&result, revenue);
    // A page holds a year of months after the first order.
    let columns = header.len().min(15);
    header.truncate(columns);
    rows.iter_mut().for_each(|r| r.truncate(columns));
    let title =
        if revenue { "Revenue per customer by months since the first order" } else { "Active customers by months since the first order" };
    let currency = frame.money_currency(filters).0;
    let cells: Vec<Vec<Option<f64>>> =
        rows.iter().map(|r| r.iter().enumerate().map(|(i, c)| if i < 2 { None } else { c.trim().parse::<f64>().ok() }).collect()).collect();
    let months = |name: &str| if revenue && name.starts_with("month_") { ColumnFormat::Money } else { format::column_format(name) };
    let mut table = SlideTable::top_with(title, (header, rows), 14, currency.as_deref(), months);
    let mut shade = heat(&cells, table.rows.len(), !revenue);
    // The diagonal of a partial last month is marked, not shaded (it would read as a fall).
    if let Some(partial) = result.partial_month {
        for (r, row) in table.rows.iter_mut().enumerate() {
            let Some(cohort) = result.cohorts.get(r) else { continue };
            let k = partial - cohort.month;
            let column = table.header.iter().position(|h| *h == format!("Month {k}"));
            if let Some(cell) = column.and_then(|c| row.get_mut(c)).filter(|c| !c.is_empty()) {
                cell.push('*');
                if let Some(s) = shade.get_mut(r).and_then(|s| column.and_then(|c| s.get_mut(c))) {
                    *s = None;
                }
            }
        }
    }
    slide.notes.extend(format::cohort_partial_note(&result));
    table.shade = Some(shade);
    slide.tables.push(table);
    Ok(())
}

fn clv_slide(view: &View, source: &mut StorySource, filters: &Filters, slide: &mut Slide, ctx: &JobContext) -> Result<(), SlideError> {
    let settings: clv::ClvSettings = field(view, "settings").unwrap_or_default();
    let frame = source.orders(ctx)?;
    let result = source.clv(filters, &settings, ctx)?;
    let currency = frame.money_currency(filters).0;
    slide.notes.extend(result.warnings.iter().cloned());
    let alive: Vec<f64> = result.customers.iter().map(|c| c.p_alive).collect();
    slide.figures.push(Figure { label: "Customers".into(), value: number(result.customers.len() as f64, 0), under: None });
    if !alive.is_empty() {
        let mean = alive.iter().sum::<f64>() / alive.len() as f64;
        slide.figures.push(Figure { label: "Mean P(alive)".into(), value: format!("{:.1}%", mean * 100.0), under: None });
    }
    if result.has_clv() {
        let total: f64 = result.customers.iter().filter_map(|c| c.clv).sum();
        let value = super::format::money_in(total, currency.as_deref());
        slide.figures.push(Figure { label: "Total predicted CLV".into(), value, under: None });
    }
    if let Ok(holdout) = &result.holdout {
        slide.charts.push(charts::clv_holdout(holdout));
    }
    let top: usize = field(view, "top").unwrap_or(20);
    slide.tables.push(SlideTable::top("Most valuable customers", clv::customer_table(&frame, &result, top), 10, currency.as_deref()));
    Ok(())
}

fn funnel_slide(view: &View, source: &mut StorySource, filters: &Filters, slide: &mut Slide, ctx: &JobContext) -> Result<(), SlideError> {
    let settings: funnel::FunnelSettings = field(view, "funnel").unwrap_or_default();
    let frame = source.events(ctx)?;
    let result = funnel::compute(&frame, filters, &settings, ctx)?;
    if let (Some(first), Some(last)) = (result.steps.first(), result.steps.last()) {
        slide.figures.push(Figure { label: format!("Entered ({})", first.kind.name()), value: number(first.count as f64, 0), under: None });
        slide.figures.push(Figure { label: "Converted".into(), value: format!("{:.1}%", last.from_first * 100.0), under: None });
    }
    slide.charts.push(charts::funnel_steps(&result));
    slide.tables.push(SlideTable::top("Funnel steps", funnel::steps_table(&result), 10, None));
    Ok(())
}

fn pricing_slide(source: &mut StorySource, slide: &mut Slide, ctx: &JobContext) -> Result<(), SlideError> {
    let settings: pricing::PricingSettings =
        workspace::settings::load_pricing_setting(source.conn(), workspace::settings::SIGNAL_THRESHOLDS)?;
    let data = source.pricing(ctx)?;
    let monitor = pricing::monitor(&data, &settings, None);
    let summary = monitor.summary();
    let figure = |label: &str, value: String| Figure { label: label.into(), value, under: None };
    // The day of the last competitor observation: its hour and seconds mean nothing on a slide.
    let as_of = crate::analytics::customers::date_of_day(monitor.as_of.div_euclid(86_400));
    slide.figures.push(figure("As of", format::day(as_of)));
    slide.figures.push(figure("Products compared", number(summary.compared as f64, 0)));
    if let Some(index) = summary.price_index {
        slide.figures.push(figure("Price index", format!("{index:.1}")));
    }
    slide.figures.push(figure("We are cheapest", number(summary.cheapest as f64, 0)));
    let table = pricing::groups_table(&monitor.by_category, "category");
    slide.tables.push(SlideTable::top("Price index by category (100 = market mean)", table, 12, None));
    Ok(())
}

/// Did the price changes work? The portfolio of the changes the Decisions tab lists (those
/// decided in shoplens when there are any, else every change; or every change when the view
/// says so): its totals, predicted against realised per decision, and the changes.
fn price_decisions_slide(view: &View, source: &mut StorySource, slide: &mut Slide, ctx: &JobContext) -> Result<(), SlideError> {
    use crate::analytics::impact;
    let data = source.pricing(ctx)?;
    let window: usize = field(view, "window_days").unwrap_or(28);
    let decisions = workspace::settings::load_decisions(source.conn())?;
    let decided = workspace::settings::decided_changes(&decisions, &data);
    let assessments = impact::assess(&data, window, &decided, ctx)?;
    let every = field::<String>(view, "changes_shown").as_deref() == Some("all");
    let shown = impact::listed(&assessments, every);
    let currency = workspace::settings::our_currency(source.conn())?;
    let money = |v: f64| format::money_in(v, currency.as_deref());
    let signed = |v: f64| crate::text::signed(v, money);
    let portfolio = impact::portfolio(shown.iter().copied());
    let figure = |label: &str, value: String, under: Option<String>| Figure { label: label.into(), value, under };
    slide.figures.push(figure("Changes measured", format!("{} of {}", portfolio.measured, portfolio.changes), None));
    // Each total with its 95% interval under it: a total is an estimate, not a count.
    let total = |label: &str, total: &impact::Total, write: &dyn Fn(f64) -> String| {
        let (low, high) = total.interval;
        figure(label, write(total.effect), Some(format!("95%: {} to {}", write(low), write(high))))
    };
    if portfolio.measured > 0 {
        slide.figures.push(total("Units a day", &portfolio.units, &|v| crate::text::signed(v, |v| number(v, 1))));
        slide.figures.push(total("Revenue a day", &portfolio.revenue, &signed));
        if portfolio.profit.count > 0 {
            slide.figures.push(total("Profit a day", &portfolio.profit, &signed));
        }
    }
    if portfolio.predictions > 0 {
        let inside = format!("{} of {}", portfolio.predictions_inside, portfolio.predictions);
        slide.figures.push(figure("Predictions inside", inside, Some("the realised interval".into())));
    }
    let compared: Vec<(String, f64, f64)> = shown
        .iter()
        .filter_map(|a| {
            let (predicted, realised) = (a.decided?.predicted?, a.outcome.as_ref().ok()?);
            let label = format!(
                "{} {}",
                data.products[a.change.product as usize].id,
                crate::analytics::customers::date_of_day(a.change.day).format("%-d %b")
            );
            Some((label, predicted.units, realised.units.effect))
        })
        .take(12)
        .collect();
    if !compared.is_empty() {
        slide.charts.push(charts::predicted_and_realised(&compared));
    } else if let Some((a, r)) = shown.iter().find_map(|a| Some((a, a.outcome.as_ref().ok()?))) {
        slide.charts.push(charts::price_change(r, &data.products[a.change.product as usize].id));
    }
    let hidden = |name: &str| match name {
        "window_days"
        | "controls"
        | "ci_low"
        | "ci_high"
        | "warnings"
        | "profit_ci_low"
        | "profit_ci_high"
        | "realised_revenue_per_day"
        | "revenue_ci_low"
        | "revenue_ci_high" => format::ColumnFormat::Hidden,
        other => format::column_format(other),
    };
    slide.tables.push(SlideTable::top_with(
        "Price changes",
        impact::impact_table(&data, shown.iter().copied()),
        12,
        currency.as_deref(),
        hidden,
    ));
    slide.notes.extend(portfolio.sentences(window, money));
    // Each warning, by the change it is about.
    for a in shown.iter().take(12) {
        let Ok(r) = &a.outcome else { continue };
        for warning in &r.warnings {
            let id = &data.products[a.change.product as usize].id;
            slide.notes.push(format!("{id} from {}: {warning}.", format::day(crate::analytics::customers::date_of_day(a.change.day))));
        }
    }
    slide.notes.push(
        "Realised: each product's change from the days before to the days after, against comparable products of its category whose \
         price stayed put, scaled to its level. Paid or cost: the 95% interval of the profit a day (of the revenue without a cost) lies \
         above or below zero; P(rise) is the chance that its units rose."
            .into(),
    );
    Ok(())
}

fn sellers_slide(view: &View, candidates: bool, source: &mut StorySource, slide: &mut Slide, ctx: &JobContext) -> Result<(), SlideError> {
    use crate::analytics::marketplace::sellers::{self, SellerSettings};
    let data = source.marketplace(ctx)?;
    let mut settings = SellerSettings::default();
    if let Some(active_min) = field(view, "active_min") {
        settings.active_min = active_min;
    }
    settings.short_categories = field(view, "short_categories").unwrap_or(None);
    marketplace_page(&data, slide);
    // The short categories need no propensity model: it is fitted only for the candidates.
    let supply = sellers::supply(&data, &settings);
    slide.figures.push(Figure { label: "Active sellers".into(), value: number(supply.active_sellers as f64, 0), under: None });
    slide.figures.push(Figure { label: "Candidates".into(), value: number(supply.candidates as f64, 0), under: None });
    let trends: Vec<(String, Vec<f64>)> =
        supply.shortages.iter().filter(|s| s.selected).map(|s| (data.categories[s.category as usize].clone(), s.trend.clone())).collect();
    slide.charts.push(charts::shortage_trend(&trends));
    if candidates {
        let result = sellers::compute(&data, &settings, ctx).map_err(|e| SlideError::Compute(e.to_string()))?;
        slide.tables.push(SlideTable::top("Most likely to start selling", sellers::candidates_table(&data, &result, Some(10)), 10, None));
    } else {
        slide.tables.push(SlideTable::top("Categories in short supply", sellers::categories_table(&data, &supply.shortages), 10, None));
    }
    Ok(())
}

fn listings_slide(view: &View, source: &mut StorySource, filters: &Filters, slide: &mut Slide, ctx: &JobContext) -> Result<(), SlideError> {
    use crate::analytics::marketplace::listings::{self, GroupBy};
    let data = source.marketplace(ctx)?;
    let by = if field::<String>(view, "by").as_deref() == Some("brand") { GroupBy::Brand } else { GroupBy::Category };
    let min_listings: u64 = field(view, "min_listings").unwrap_or(1);
    let result = listings::compute(&data, filters, by);
    marketplace_page(&data, slide);
    let listed: u64 = result.groups.iter().map(|g| g.listed).sum();
    let sold: u64 = result.groups.iter().map(|g| g.sold).sum();
    let mut days = result.days_to_sell.clone();
    slide.figures.push(Figure { label: "Listed".into(), value: number(listed as f64, 0), under: None });
    slide.figures.push(Figure { label: "Sold".into(), value: number(sold as f64, 0), under: None });
    if let Some(median) = crate::analytics::marketplace::median(&mut days) {
        slide.figures.push(Figure { label: "Median days to sell".into(), value: format!("{median:.1}"), under: None });
    }
    slide.charts.push(charts::days_to_sell(&result.days_to_sell));
    slide.tables.push(SlideTable::top(format!("By {}", by.name()), listings::groups_table(&result, min_listings), 12, None));
    slide.notes.extend(data.contradictions.notes().into_iter().map(|n| format!("{n}.")));
    Ok(())
}

/// A heat map's shades: each numeric cell's place (0 to 1) in the range of the shaded cells,
/// for the first `rows` rows. A retention table leaves its first month out of the range (it is
/// 100% by definition and would wash out every other cell).
fn heat(cells: &[Vec<Option<f64>>], rows: usize, skip_first_month: bool) -> Vec<Vec<Option<f64>>> {
    let shaded = |i: usize| i >= 2 + usize::from(skip_first_month);
    let values = || cells.iter().take(rows).flat_map(|r| r.iter().enumerate().filter(|(i, _)| shaded(*i)).filter_map(|(_, v)| *v));
    let (low, high) = (values().fold(f64::INFINITY, f64::min), values().fold(f64::NEG_INFINITY, f64::max));
    cells
        .iter()
        .take(rows)
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(i, v)| v.filter(|_| shaded(i) && high > low).map(|v| ((v - low) / (high - low)).clamp(0.0, 1.0)))
                .collect()
        })
        .collect()
}

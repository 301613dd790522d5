//! `shoplens funnel | abandoned | forecast | watch`: the Funnel panel, headless.

use crate::errln;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::output;
use super::CliError;
use crate::analytics::carts::{self, CartSettings};
use crate::analytics::customers::format_time;
use crate::analytics::event_frame::{EventFrame, EventKind};
use crate::analytics::funnel::{self, CountBy, Dimension, FunnelSettings, Window};
use crate::analytics::{forecast, write_csv, Filters};
use crate::jobs::JobContext;
use crate::workspace::catalogue::Target;
use crate::workspace::{self, Workspace};

/// The workspace's events in memory, with progress on the terminal (see [`super::load_copy`]).
pub fn load_events(path: &Path) -> Result<EventFrame, CliError> {
    super::load_copy(path, "load events", workspace::cache::load_events, |save, frame| save.events(frame))
}

/// `view,cart,purchase` → steps.
pub fn parse_steps(text: &str) -> Result<Vec<EventKind>, CliError> {
    text.split(',')
        .map(|s| match EventKind::parse(s.trim().as_bytes()) {
            EventKind::Other => Err(CliError::Failed(format!("unknown step '{s}' (use view, cart, remove_from_cart, purchase)"))),
            kind => Ok(kind),
        })
        .collect()
}

/// `session`, `4h`, `2d`.
pub fn parse_window(text: &str) -> Result<Window, CliError> {
    let bad = || CliError::Failed(format!("unknown window '{text}' (use session, or hours/days such as 4h or 2d)"));
    match text {
        "session" => Ok(Window::Session),
        t if t.ends_with('h') => t[..t.len() - 1].parse().map(Window::Hours).map_err(|_| bad()),
        t if t.ends_with('d') => t[..t.len() - 1].parse::<u32>().map(|d| Window::Hours(d * 24)).map_err(|_| bad()),
        _ => Err(bad()),
    }
}

pub struct FunnelArgs<'a> {
    pub steps: &'a str,
    pub by_users: bool,
    pub window: &'a str,
    pub any_order: bool,
    pub breakdown: Option<&'a str>,
    pub out: Option<&'a Path>,
    pub dropped: Option<&'a Path>,
    /// The copy `import --then funnel` built while importing (else the workspace's is read).
    pub held: Option<std::sync::Arc<EventFrame>>,
}

pub fn funnel(path: &Path, filters: &Filters, args: &FunnelArgs<'_>, server: &super::warehouse::ServerArgs) -> Result<(), CliError> {
    let breakdown = args
        .breakdown
        .map(|b| {
            Dimension::parse(b).ok_or_else(|| {
                CliError::Failed(format!("unknown breakdown '{b}' (use category, category-code, brand, product, price-band)"))
            })
        })
        .transpose()?;
    let settings = FunnelSettings {
        steps: parse_steps(args.steps)?,
        count_by: if args.by_users { CountBy::Users } else { CountBy::Sessions },
        window: parse_window(args.window)?,
        strict: !args.any_order,
        breakdown,
    };
    let (result, frame) = match server.target()? {
        Some(target) => {
            if args.dropped.is_some() {
                return Err(CliError::Failed(
                    "--dropped lists visitors, which a server run does not fetch: import the events first, or leave out --source".into(),
                ));
            }
            let (filters, settings) = (filters.clone(), settings.clone());
            let result = super::warehouse::on_server(path, target, Target::Events, move |server, ctx, table| {
                crate::warehouse::pushdown::funnel(server, ctx, table, &filters, &settings)
            })?;
            (result, None)
        }
        None => {
            let frame = match &args.held {
                Some(frame) => frame.clone(),
                None => std::sync::Arc::new(load_events(path)?),
            };
            (funnel::compute(&frame, filters, &settings, &JobContext::detached())?, Some(frame))
        }
    };
    let mut out = output::stdout();
    let unit = if args.by_users { "users" } else { "sessions" };
    writeln!(out, "step  event             {unit:>12}  from step 1  from previous")?;
    for (i, s) in result.steps.iter().enumerate() {
        writeln!(
            out,
            "{:<5} {:<16} {:>12}  {:>10.2}%  {:>12.2}%",
            i + 1,
            s.kind.name(),
            s.count,
            s.from_first * 100.0,
            s.from_previous * 100.0
        )?;
    }
    if let Some(median) = result.median_seconds_to_convert {
        writeln!(out, "median time from step 1 to the last step: {}", crate::analytics::human_duration(median))?;
    }
    if result.events_without_session > 0 {
        writeln!(out, "{} events without a session were left out (the funnel is counted in sessions)", result.events_without_session)?;
    }
    if let Some(file) = args.out {
        let (header, rows) = funnel::breakdown_table(&result);
        let n = write_csv(file, &header, rows)?;
        errln!("wrote {n} breakdown rows to {}", file.display());
    }
    if let (Some(file), Some(frame)) = (args.dropped, &frame) {
        let (header, rows) = funnel::dropped_table(frame, &result);
        let n = write_csv(file, &header, rows)?;
        errln!("wrote {n} drop-offs to {}", file.display());
    }
    Ok(())
}

pub fn abandoned(path: &Path, filters: &Filters, settings: &CartSettings, now: Option<i64>, out: &Path) -> Result<(), CliError> {
    let frame = load_events(path)?;
    let result = carts::compute(&frame, filters, settings, now);
    writeln!(
        output::stdout(),
        "as of {}: {} carts in ended sessions, {} abandoned ({:.1}%), {:.2} left in carts, {} sessions still open",
        format_time(result.now),
        result.carts,
        result.abandoned,
        result.rate() * 100.0,
        result.value_left,
        result.open
    )?;
    if result.events_without_session > 0 {
        writeln!(
            output::stdout(),
            "{} events without a session were left out (a cart belongs to a session)",
            result.events_without_session
        )?;
    }
    let names = workspace::copies::product_names(&workspace::open_read_only(path)?, &crate::jobs::JobContext::detached())?;
    let (header, rows) = carts::retargeting_table(&frame, &result, &names);
    let n = write_csv(out, &header, rows)?;
    errln!("wrote {n} abandoned carts to {}", out.display());
    Ok(())
}

pub fn forecast(path: &Path, filters: &Filters, out: Option<&Path>) -> Result<(), CliError> {
    let frame = load_events(path)?;
    let names = workspace::copies::product_names(&workspace::open_read_only(path)?, &crate::jobs::JobContext::detached())?;
    let result = forecast::compute(&frame, filters, &names).map_err(CliError::Failed)?;
    let mut stdout = output::stdout();
    match &result.backtest {
        Some(b) => writeln!(
            stdout,
            "backtest on the week ending {} ({} products): mean absolute error {:.3} (model) vs {:.3} (same as the week before), lift {:+.1}%",
            crate::analytics::customers::date_of_day(forecast::week_end(result.last_day, b.week)),
            b.products,
            b.model_mae,
            b.naive_mae,
            b.lift() * 100.0
        )?,
        None => writeln!(stdout, "backtest: not enough history")?,
    }
    if let Some(note) = &result.note {
        writeln!(stdout, "note: {note}")?;
    }
    writeln!(stdout, "rising products (forecast vs last week):")?;
    for p in result.rising(10) {
        let id = frame.products[p.product as usize].id;
        let name = p.name.as_deref().map(|n| format!(" {n}")).unwrap_or_default();
        writeln!(stdout, "  {id}{name}  last week {}  forecast {:.1}", p.last_week, p.forecast)?;
    }
    drop(stdout);
    if let Some(file) = out {
        let (header, rows) = forecast::forecast_table(&frame, &result);
        let n = write_csv(file, &header, rows)?;
        errln!("wrote {n} products to {}", file.display());
    }
    Ok(())
}

/// Follows `file` (or a folder of CSV files), appending new events every `interval`, and prints
/// what changed: rows appended, the funnel, newly abandoned carts and new sales per product.
pub fn watch(path: &Path, file: &Path, interval: Duration, expiry_minutes: f64, stop_after: Option<Duration>) -> Result<(), CliError> {
    let mut ws = Workspace::open(path)?;
    let mut watcher = crate::import::watch::Watcher::new(file);
    let started = Instant::now();
    let settings = CartSettings { expiry_minutes, ..CartSettings::default() };
    let mut reported: HashSet<u32> = HashSet::new();
    let mut sold: HashMap<i64, u64> = HashMap::new();
    let mut first = true;
    let mut frame = EventFrame::empty();
    // The frame before `frame`, which the next append writes into, and `frame`'s funnel, which
    // the next append updates.
    let mut spare: Option<EventFrame> = None;
    let mut funnel_result: Option<funnel::FunnelResult> = None;
    let funnel_settings = FunnelSettings { breakdown: None, ..Default::default() };
    let mut out = std::io::stdout();
    writeln!(out, "watching {} (every {:.0?}; Ctrl+C stops)", file.display(), interval)?;
    loop {
        let appended = watcher.poll(ws.conn_mut())?;
        if appended.rows > 0 || first {
            // Only the new rows are read; the first poll reads everything.
            let conn = workspace::open_read_only(path)?;
            let ctx = JobContext::detached();
            match workspace::copies::extend_events(&frame, spare.take(), &conn, &ctx)? {
                Some((extended, added)) => {
                    let before = std::mem::replace(&mut frame, extended);
                    funnel_result = match &funnel_result {
                        Some(previous) => funnel::update(previous, &before, &frame, &added, &Filters::default(), &ctx)?,
                        None => None,
                    };
                    spare = Some(before);
                }
                None => {
                    frame = workspace::copies::load_events(&conn, &ctx)?;
                    funnel_result = None;
                }
            }
        }
        if appended.rows > 0 || appended.rejected > 0 {
            writeln!(out, "+{} events ({} rejected), {} in the workspace", appended.rows, appended.rejected, frame.len())?;
            let result = match funnel_result.take() {
                Some(result) => result,
                None => funnel::compute(&frame, &Filters::default(), &funnel_settings, &JobContext::detached())?,
            };
            let steps: Vec<String> = result.steps.iter().map(|s| format!("{} {}", s.kind.name(), s.count)).collect();
            writeln!(out, "funnel (sessions): {}", steps.join(" -> "))?;
            funnel_result = Some(result);
            let purchases: HashMap<i64, u64> =
                forecast::sales_since(&frame, i64::MIN).iter().map(|s| (frame.products[s.product as usize].id, s.purchases)).collect();
            let mut changed: Vec<(i64, u64)> = purchases.iter().filter(|(p, n)| sold.get(p) != Some(n)).map(|(&p, &n)| (p, n)).collect();
            changed.sort_unstable();
            for (product, n) in changed {
                writeln!(out, "sold: product {product}: {n} purchases (+{})", n - sold.get(&product).copied().unwrap_or(0))?;
            }
            sold = purchases;
        }
        // Sessions expire as time passes, with or without new rows.
        let now = carts::live_now(&frame);
        let carts = carts::compute(&frame, &Filters::default(), &settings, Some(now));
        for cart in carts.list.iter().rev() {
            if reported.insert(cart.session) {
                writeln!(
                    out,
                    "abandoned: user {} session {} expired {} contact by {} value {:.2} offer {}",
                    frame.users[cart.user as usize],
                    &frame.sessions[cart.session as usize],
                    format_time(cart.expired_at),
                    format_time(cart.contact_by()),
                    cart.value,
                    cart.offer(&settings)
                )?;
            }
        }
        out.flush()?;
        first = false;
        if stop_after.is_some_and(|limit| started.elapsed() >= limit) {
            break;
        }
        std::thread::sleep(interval);
    }
    watcher.finish(ws.conn())?;
    writeln!(out, "stopped; {} events appended", watcher.rows_loaded())?;
    Ok(())
}

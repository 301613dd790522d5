//! Conversion funnels over shop events (view → cart → purchase by default).
//!
//! Definitions (shown in the Funnel panel's help):
//! - a *unit* is a session (default) or a user; events outside the date filter are ignored;
//! - strict order: step 1 is the unit's first step-1 event; step k is reached by the first
//!   step-k event at or after the time step k−1 was reached. Any order: step k is reached when
//!   steps 1..k all occur, at any time;
//! - window: the session (default), or N hours from the unit's first step-1 event;
//! - counting users within sessions: a user reaches step k if any of their sessions does;
//! - a breakdown runs the same funnel per (unit, value) — e.g. per session and brand — so a
//!   session that viewed two brands enters the funnel once for each;
//! - conversion from step 1 = count_k / count_1; from the previous step = count_k / count_{k−1}.

use std::collections::HashMap;

use super::event_frame::{Appended, EventFrame, EventKind};
use super::Filters;
use crate::jobs::{Cancelled, JobContext};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CountBy {
    Sessions,
    Users,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Window {
    Session,
    Hours(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Dimension {
    TopCategory,
    Category,
    Brand,
    Product,
    PriceBand,
}

impl Dimension {
    pub const ALL: [Dimension; 5] =
        [Dimension::TopCategory, Dimension::Category, Dimension::Brand, Dimension::Product, Dimension::PriceBand];

    pub fn label(self) -> &'static str {
        match self {
            Dimension::TopCategory => "category (top level)",
            Dimension::Category => "category (full code)",
            Dimension::Brand => "brand",
            Dimension::Product => "product",
            Dimension::PriceBand => "price band",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "category" | "top-category" => Some(Dimension::TopCategory),
            "category-code" | "full-category" => Some(Dimension::Category),
            "brand" => Some(Dimension::Brand),
            "product" => Some(Dimension::Product),
            "price" | "price-band" => Some(Dimension::PriceBand),
            _ => None,
        }
    }
}

/// Upper bounds of the price bands (the last band is open).
pub const PRICE_BANDS: [f32; 6] = [10.0, 25.0, 50.0, 100.0, 250.0, 500.0];

pub fn price_band_label(band: usize) -> String {
    match band {
        0 => format!("under {}", PRICE_BANDS[0]),
        b if b >= PRICE_BANDS.len() => format!("{} and over", PRICE_BANDS[PRICE_BANDS.len() - 1]),
        b => format!("{}–{}", PRICE_BANDS[b - 1], PRICE_BANDS[b]),
    }
}

fn price_band(price: f32) -> u32 {
    PRICE_BANDS.iter().filter(|&&b| price >= b).count() as u32
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FunnelSettings {
    pub steps: Vec<EventKind>,
    pub count_by: CountBy,
    pub window: Window,
    pub strict: bool,
    pub breakdown: Option<Dimension>,
}

impl Default for FunnelSettings {
    fn default() -> Self {
        Self {
            steps: vec![EventKind::View, EventKind::Cart, EventKind::Purchase],
            count_by: CountBy::Sessions,
            window: Window::Session,
            strict: true,
            breakdown: Some(Dimension::TopCategory),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepCount {
    pub kind: EventKind,
    pub count: u64,
    /// Share of step 1, 0..=1.
    pub from_first: f64,
    /// Share of the previous step, 0..=1.
    pub from_previous: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BreakdownRow {
    pub key: String,
    /// Units reaching each step.
    pub counts: Vec<u64>,
}

impl BreakdownRow {
    /// Conversion from the first step to the last, 0..=1.
    pub fn conversion(&self) -> f64 {
        match (self.counts.first(), self.counts.last()) {
            (Some(&first), Some(&last)) if first > 0 => last as f64 / first as f64,
            _ => 0.0,
        }
    }
}

/// Bins of the time from step 1 to the last step, for units that completed the funnel.
pub const CONVERT_BINS: [(i64, &str); 8] = [
    (60, "< 1 min"),
    (300, "1–5 min"),
    (900, "5–15 min"),
    (3600, "15–60 min"),
    (6 * 3600, "1–6 h"),
    (86_400, "6–24 h"),
    (7 * 86_400, "1–7 days"),
    (i64::MAX, "> 7 days"),
];

#[derive(Debug, Clone, PartialEq)]
pub struct FunnelResult {
    pub settings: FunnelSettings,
    pub steps: Vec<StepCount>,
    pub breakdown: Vec<BreakdownRow>,
    /// Per day (days since 1970-01-01) of entering step 1: units entering, units completing.
    pub daily: Vec<(i64, u64, u64)>,
    /// Completed units per [`CONVERT_BINS`] bin.
    pub time_to_convert: Vec<u64>,
    pub median_seconds_to_convert: Option<i64>,
    /// Every completed unit's seconds from step 1 to the last step, ascending (what the median
    /// is updated from in live mode; empty for a funnel counted by a server).
    pub convert_seconds: Vec<i64>,
    /// For each step k (0-based) but the last: units that reached step k and no further,
    /// as (user code, session code or `u32::MAX` when counting users, time of step 1), by
    /// time of step 1 (then session, then user).
    pub dropped: Vec<Vec<(u32, u32, i64)>>,
    /// Events in the date range recorded without a session, left out because the funnel is
    /// counted in sessions (or within sessions); 0 when counting users across sessions.
    pub events_without_session: u64,
}

/// How far one unit got: steps reached, when it entered step 1 and when it reached its last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reach {
    level: usize,
    start: i64,
    end: i64,
}

/// The funnel over one unit's events (`rows`, in time order).
fn reach(frame: &EventFrame, rows: impl Iterator<Item = usize> + Clone, steps: &[u8], strict: bool, window: Option<i64>) -> Reach {
    let Some(first) = rows.clone().find(|&r| frame.kind_code(r) == steps[0]) else {
        return Reach { level: 0, start: 0, end: 0 };
    };
    let start = frame.time[first];
    let limit = window.map_or(i64::MAX, |w| start.saturating_add(w));
    let mut level = 1;
    let mut end = start;
    if strict {
        for &step in &steps[1..] {
            // The first event of this step at or after the previous step's time (not row):
            // events in the same second count in either file order, as a SQL `>=` would.
            match rows.clone().find(|&r| frame.kind_code(r) == step && frame.time[r] >= end && frame.time[r] <= limit) {
                Some(r) => {
                    end = frame.time[r];
                    level += 1;
                }
                None => break,
            }
        }
    } else {
        let lower = window.map_or(i64::MIN, |w| start.saturating_sub(w));
        for &step in &steps[1..] {
            match rows
                .clone()
                .filter(|&r| frame.kind_code(r) == step && (lower..=limit).contains(&frame.time[r]))
                .map(|r| frame.time[r])
                .min()
            {
                Some(t) => {
                    end = end.max(t);
                    level += 1;
                }
                None => break,
            }
        }
    }
    Reach { level, start, end }
}

/// Partial sums from one slice of units.
#[derive(Default)]
struct Tally {
    counts: Vec<u64>,
    daily: HashMap<i64, (u64, u64)>,
    convert_bins: Vec<u64>,
    convert_seconds: Vec<i64>,
    dropped: Vec<Vec<(u32, u32, i64)>>,
    /// Units reaching each step per breakdown key: `breakdown[key * steps + step]` (keys are
    /// dense dictionary codes, so a flat array beats a map).
    breakdown: Vec<u64>,
}

impl Tally {
    fn new(steps: usize, keys: usize) -> Self {
        Self {
            counts: vec![0; steps],
            convert_bins: vec![0; CONVERT_BINS.len()],
            dropped: vec![Vec::new(); steps.saturating_sub(1)],
            breakdown: vec![0; keys * steps],
            ..Default::default()
        }
    }

    fn add(&mut self, reach: Reach, steps: usize, user: u32, session: u32) {
        if reach.level == 0 {
            return;
        }
        for c in &mut self.counts[..reach.level] {
            *c += 1;
        }
        let day = self.daily.entry(reach.start.div_euclid(86_400)).or_default();
        day.0 += 1;
        if reach.level == steps {
            day.1 += 1;
            let seconds = reach.end - reach.start;
            let bin = CONVERT_BINS.iter().position(|&(upper, _)| seconds < upper).unwrap_or(CONVERT_BINS.len() - 1);
            self.convert_bins[bin] += 1;
            self.convert_seconds.push(seconds);
        } else {
            self.dropped[reach.level - 1].push((user, session, reach.start));
        }
    }

    fn add_breakdown(&mut self, key: u32, level: usize, steps: usize) {
        let base = key as usize * steps;
        for c in &mut self.breakdown[base..base + level] {
            *c += 1;
        }
    }

    fn merge(&mut self, other: Tally) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        for (day, (e, c)) in other.daily {
            let d = self.daily.entry(day).or_default();
            d.0 += e;
            d.1 += c;
        }
        for (a, b) in self.convert_bins.iter_mut().zip(other.convert_bins) {
            *a += b;
        }
        self.convert_seconds.extend(other.convert_seconds);
        for (a, b) in self.dropped.iter_mut().zip(other.dropped) {
            a.extend(b);
        }
        for (a, b) in self.breakdown.iter_mut().zip(other.breakdown) {
            *a += b;
        }
    }
}

/// How many distinct keys a dimension has (keys are `0..count`).
fn key_count(frame: &EventFrame, dimension: Option<Dimension>) -> usize {
    match dimension {
        None => 0,
        Some(Dimension::TopCategory) => frame.top_categories().1.len(),
        Some(Dimension::Category) => frame.categories.len(),
        Some(Dimension::Brand) => frame.brands.len(),
        Some(Dimension::Product) => frame.products.len(),
        Some(Dimension::PriceBand) => PRICE_BANDS.len() + 1,
    }
}

/// The breakdown key of a row.
fn key_of(frame: &EventFrame, dimension: Dimension, row: usize) -> u32 {
    match dimension {
        Dimension::TopCategory => frame.top_categories().0[frame.category[row] as usize],
        Dimension::Category => frame.category[row],
        Dimension::Brand => frame.brand[row],
        Dimension::Product => frame.product[row],
        Dimension::PriceBand => price_band(frame.price[row]),
    }
}

fn key_label(frame: &EventFrame, dimension: Dimension, key: u32) -> String {
    let none = |s: &str| if s.is_empty() { "(none)".to_string() } else { s.to_string() };
    match dimension {
        Dimension::TopCategory => none(&frame.top_categories().1[key as usize]),
        Dimension::Category => none(&frame.categories[key as usize]),
        Dimension::Brand => none(&frame.brands[key as usize]),
        Dimension::Product => frame.products[key as usize].id.to_string(),
        Dimension::PriceBand => price_band_label(key as usize),
    }
}

/// Funnels for `units` (session codes, or user codes when counting users).
fn tally_units(
    frame: &EventFrame,
    filters: &Filters,
    settings: &FunnelSettings,
    units: impl Iterator<Item = usize>,
    ctx: &JobContext,
) -> Result<Tally, Cancelled> {
    let steps: Vec<u8> = settings.steps.iter().map(|&k| k as u8).collect();
    let n_steps = steps.len();
    let (from, to) = super::customers::time_bounds(filters);
    let in_range = |r: &usize| (from..to).contains(&frame.time[*r]);
    let window = match settings.window {
        Window::Session => None,
        Window::Hours(h) => Some(i64::from(h) * 3600),
    };
    let mut tally = Tally::new(n_steps, key_count(frame, settings.breakdown));
    let mut keyed: Vec<(u32, u32)> = Vec::new();
    let mut breakdown_unit = |tally: &mut Tally, rows: &mut dyn Iterator<Item = usize>| {
        let Some(dimension) = settings.breakdown else { return };
        keyed.clear();
        keyed.extend(rows.map(|r| (key_of(frame, dimension, r), r as u32)));
        // Stable: each key's rows stay in time order.
        keyed.sort_by_key(|&(k, _)| k);
        let mut i = 0;
        while i < keyed.len() {
            let key = keyed[i].0;
            let j = keyed[i..].iter().position(|&(k, _)| k != key).map_or(keyed.len(), |p| i + p);
            let level = reach(frame, keyed[i..j].iter().map(|&(_, r)| r as usize), &steps, settings.strict, window).level;
            tally.add_breakdown(key, level, n_steps);
            i = j;
        }
    };
    match settings.count_by {
        CountBy::Sessions => {
            for s in units {
                if s % 65_536 == 0 {
                    ctx.check()?;
                }
                let rows = frame.session_rows(s).filter(in_range);
                let r = reach(frame, rows.clone(), &steps, settings.strict, window);
                let user = frame.session_rows(s).next().map_or(0, |row| frame.user[row]);
                tally.add(r, n_steps, user, s as u32);
                breakdown_unit(&mut tally, &mut rows.clone());
            }
        }
        CountBy::Users => {
            let runs = frame.user_runs();
            for u in units {
                if u % 65_536 == 0 {
                    ctx.check()?;
                }
                let user_rows = runs.rows(u);
                let rows = user_rows.iter().map(|&r| r as usize).filter(in_range);
                let best = match settings.window {
                    // Within sessions: the user's best session (the earliest among equals).
                    Window::Session => {
                        let mut best = Reach { level: 0, start: 0, end: 0 };
                        let mut sessions: Vec<usize> = rows.clone().filter_map(|r| frame.session_of_row(r)).collect();
                        sessions.sort_unstable();
                        sessions.dedup();
                        for s in sessions {
                            let r = reach(frame, frame.session_rows(s).filter(in_range), &steps, settings.strict, None);
                            if r.level > best.level || (r.level == best.level && r.level > 0 && r.start < best.start) {
                                best = r;
                            }
                        }
                        best
                    }
                    Window::Hours(_) => reach(frame, rows.clone(), &steps, settings.strict, window),
                };
                tally.add(best, n_steps, u as u32, u32::MAX);
                breakdown_unit(&mut tally, &mut rows.clone());
            }
        }
    }
    Ok(tally)
}

pub fn compute(frame: &EventFrame, filters: &Filters, settings: &FunnelSettings, ctx: &JobContext) -> Result<FunnelResult, Cancelled> {
    let n_steps = settings.steps.len().max(1);
    let units = match settings.count_by {
        CountBy::Sessions => frame.session_count(),
        CountBy::Users => {
            // Build the user order before splitting the work, not inside each part.
            frame.user_runs();
            frame.users.len()
        }
    };
    if settings.breakdown == Some(Dimension::TopCategory) {
        frame.top_categories();
    }
    if settings.steps.is_empty() {
        return Ok(FunnelResult {
            settings: settings.clone(),
            steps: Vec::new(),
            breakdown: Vec::new(),
            daily: Vec::new(),
            time_to_convert: vec![0; CONVERT_BINS.len()],
            median_seconds_to_convert: None,
            convert_seconds: Vec::new(),
            dropped: Vec::new(),
            events_without_session: 0,
        });
    }
    let parts = crate::jobs::parallel_ranges(units, |range| tally_units(frame, filters, settings, range, ctx));
    let mut tally = Tally::new(n_steps, key_count(frame, settings.breakdown));
    for part in parts {
        tally.merge(part?);
    }
    let breakdown = match settings.breakdown {
        Some(dimension) => tally
            .breakdown
            .chunks(n_steps)
            .enumerate()
            .filter(|(_, counts)| counts[0] > 0)
            .map(|(key, counts)| BreakdownRow { key: key_label(frame, dimension, key as u32), counts: counts.to_vec() })
            .collect(),
        None => Vec::new(),
    };
    tally.convert_seconds.sort_unstable();
    for list in &mut tally.dropped {
        list.sort_unstable_by_key(dropped_order);
    }
    let by_session = settings.count_by == CountBy::Sessions || settings.window == Window::Session;
    let events_without_session = if by_session {
        let (from, to) = super::customers::time_bounds(filters);
        frame.sessionless_events_between(from, to)
    } else {
        0
    };
    Ok(assemble(
        settings,
        FunnelCounts {
            counts: tally.counts,
            breakdown,
            daily: tally.daily.into_iter().map(|(d, (e, c))| (d, e, c)).collect(),
            time_to_convert: tally.convert_bins,
            median_seconds_to_convert: median(&tally.convert_seconds),
            convert_seconds: tally.convert_seconds,
            dropped: tally.dropped,
            events_without_session,
        },
    ))
}

/// The element at index n / 2 of sorted times.
fn median(sorted: &[i64]) -> Option<i64> {
    sorted.get(sorted.len() / 2).copied()
}

/// The order of a dropped list: by time of step 1, then session, then user (one order,
/// whichever thread found the unit first).
fn dropped_order(&(user, session, start): &(u32, u32, i64)) -> (i64, u32, u32) {
    (start, session, user)
}

/// The funnel after a live append, from `previous` (the funnel of `before` with these filters
/// and its own settings): only the sessions the append touched are counted again, their old
/// contribution taken away and the new one added. Equal to [`compute`] on `after` (tested).
/// `None` when `previous` cannot be updated: counting users (a user's funnel spans sessions),
/// or counted by a server (no times to convert to update the median from).
pub fn update(
    previous: &FunnelResult,
    before: &EventFrame,
    after: &EventFrame,
    appended: &Appended,
    filters: &Filters,
    ctx: &JobContext,
) -> Result<Option<FunnelResult>, Cancelled> {
    let settings = &previous.settings;
    let n_steps = settings.steps.len();
    let completed = previous.steps.last().map_or(0, |s| s.count) as usize;
    if settings.count_by != CountBy::Sessions || n_steps == 0 || previous.convert_seconds.len() != completed {
        return Ok(None);
    }
    let touched = appended.touched.iter().map(|&s| s as usize);
    let gone = tally_units(before, filters, settings, touched.clone(), ctx)?;
    let came = tally_units(after, filters, settings, touched.chain(appended.new_sessions.clone()), ctx)?;

    // Every sum: the old contribution out, the new one in (out first: the old is inside the sum).
    let mut counts: Vec<u64> = previous.steps.iter().map(|s| s.count).collect();
    for (k, count) in counts.iter_mut().enumerate() {
        *count = *count - gone.counts[k] + came.counts[k];
    }
    let mut time_to_convert = previous.time_to_convert.clone();
    for (bin, count) in time_to_convert.iter_mut().enumerate() {
        *count = *count - gone.convert_bins[bin] + came.convert_bins[bin];
    }
    let mut daily: HashMap<i64, (u64, u64)> = previous.daily.iter().map(|&(day, e, c)| (day, (e, c))).collect();
    for (day, (e, c)) in &gone.daily {
        let d = daily.entry(*day).or_default();
        *d = (d.0 - e, d.1 - c);
    }
    for (day, (e, c)) in &came.daily {
        let d = daily.entry(*day).or_default();
        *d = (d.0 + e, d.1 + c);
    }
    let mut breakdown: HashMap<String, Vec<u64>> = previous.breakdown.iter().map(|r| (r.key.clone(), r.counts.clone())).collect();
    if let Some(dimension) = settings.breakdown {
        for (frame, tally, add) in [(before, &gone, false), (after, &came, true)] {
            for (key, by_step) in tally.breakdown.chunks(n_steps).enumerate().filter(|(_, c)| c[0] > 0) {
                let row = breakdown.entry(key_label(frame, dimension, key as u32)).or_insert_with(|| vec![0; n_steps]);
                for (sum, &n) in row.iter_mut().zip(by_step) {
                    *sum = if add { *sum + n } else { *sum - n };
                }
            }
        }
    }

    // The sorted lists: the touched sessions' entries out, the new ones merged in.
    let mut is_touched = vec![false; after.session_count()];
    for &s in &appended.touched {
        is_touched[s as usize] = true;
    }
    let dropped = previous
        .dropped
        .iter()
        .zip(came.dropped)
        .map(|(list, mut came)| {
            came.sort_unstable_by_key(dropped_order);
            merge_sorted(list.iter().copied().filter(|e| !is_touched[e.1 as usize]), came, dropped_order)
        })
        .collect();
    let mut came_seconds = came.convert_seconds;
    came_seconds.sort_unstable();
    let convert_seconds = merge_sorted(without_sorted(&previous.convert_seconds, gone.convert_seconds), came_seconds, |&t| t);

    let (from, to) = super::customers::time_bounds(filters);
    Ok(Some(assemble(
        settings,
        FunnelCounts {
            counts,
            breakdown: breakdown
                .into_iter()
                .filter(|(_, counts)| counts[0] > 0)
                .map(|(key, counts)| BreakdownRow { key, counts })
                .collect(),
            daily: daily.into_iter().filter(|(_, (e, _))| *e > 0).map(|(d, (e, c))| (d, e, c)).collect(),
            time_to_convert,
            median_seconds_to_convert: median(&convert_seconds),
            convert_seconds,
            dropped,
            events_without_session: after.sessionless_events_between(from, to),
        },
    )))
}

/// `sorted` without one occurrence of each of `remove` (all of which it holds), in order.
fn without_sorted(sorted: &[i64], mut remove: Vec<i64>) -> impl Iterator<Item = i64> + '_ {
    remove.sort_unstable();
    let mut remove = remove.into_iter().peekable();
    sorted.iter().copied().filter(move |value| remove.next_if_eq(value).is_none())
}

/// Two runs sorted by `key` as one (of a long run and a short one: no sort, one pass).
fn merge_sorted<T: Copy, K: Ord>(long: impl Iterator<Item = T>, short: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut out = Vec::with_capacity(long.size_hint().0 + short.len());
    let mut short = short.into_iter().peekable();
    for item in long {
        while let Some(next) = short.next_if(|s| key(s) < key(&item)) {
            out.push(next);
        }
        out.push(item);
    }
    out.extend(short);
    out
}

/// What a funnel is assembled from, whoever counted it: the local copy ([`compute`]) or a
/// server (`warehouse::pushdown`, which leaves `dropped` empty: it is a list of visitors, not
/// an aggregate).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunnelCounts {
    /// Units reaching each step.
    pub counts: Vec<u64>,
    /// Per breakdown key with units entering step 1, in any order.
    pub breakdown: Vec<BreakdownRow>,
    /// (day, units entering, units completing), in any order.
    pub daily: Vec<(i64, u64, u64)>,
    /// Completed units per [`CONVERT_BINS`] bin.
    pub time_to_convert: Vec<u64>,
    /// The middle time to convert: the element at index n / 2 of the sorted times.
    pub median_seconds_to_convert: Option<i64>,
    /// Every completed unit's time to convert, ascending (empty from a server).
    pub convert_seconds: Vec<i64>,
    pub dropped: Vec<Vec<(u32, u32, i64)>>,
    pub events_without_session: u64,
}

/// The funnel from its counts: conversions, the breakdown by size and the days in order.
pub fn assemble(settings: &FunnelSettings, counts: FunnelCounts) -> FunnelResult {
    let FunnelCounts {
        counts,
        mut breakdown,
        mut daily,
        time_to_convert,
        median_seconds_to_convert,
        convert_seconds,
        dropped,
        events_without_session,
    } = counts;
    let first = counts.first().copied().unwrap_or(0);
    let ratio = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let steps = settings
        .steps
        .iter()
        .zip(&counts)
        .enumerate()
        .map(|(k, (&kind, &count))| StepCount {
            kind,
            count,
            from_first: ratio(count, first),
            from_previous: if k == 0 { 1.0 } else { ratio(count, counts[k - 1]) },
        })
        .collect();
    breakdown.sort_by(|a, b| b.counts[0].cmp(&a.counts[0]).then_with(|| a.key.cmp(&b.key)));
    daily.sort_unstable();
    FunnelResult {
        settings: settings.clone(),
        steps,
        breakdown,
        daily,
        time_to_convert,
        median_seconds_to_convert,
        convert_seconds,
        dropped,
        events_without_session,
    }
}

/// Step counts and conversions as exported / printed.
pub fn steps_table(result: &FunnelResult) -> crate::analytics::Table {
    let header = ["step", "event", "count", "conversion_from_first", "conversion_from_previous"].map(String::from).to_vec();
    let rows = result
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            vec![
                (i + 1).to_string(),
                s.kind.name().to_string(),
                s.count.to_string(),
                format!("{:.4}", s.from_first),
                format!("{:.4}", s.from_previous),
            ]
        })
        .collect();
    (header, rows)
}

pub fn breakdown_table(result: &FunnelResult) -> crate::analytics::Table {
    let mut header = vec![result.settings.breakdown.map_or("key", |d| d.label()).to_string()];
    header.extend(result.settings.steps.iter().map(|k| k.name().to_string()));
    header.push("conversion".into());
    let rows = result
        .breakdown
        .iter()
        .map(|r| {
            let mut row = vec![r.key.clone()];
            row.extend(r.counts.iter().map(u64::to_string));
            row.push(format!("{:.4}", r.conversion()));
            row
        })
        .collect();
    (header, rows)
}

/// Units that stopped after each step: who to look at, or to retarget.
pub fn dropped_table(frame: &EventFrame, result: &FunnelResult) -> crate::analytics::Table {
    let header = ["reached_step", "did_not_reach", "user_id", "user_session", "entered_at"].map(String::from).to_vec();
    let mut rows = Vec::new();
    for (k, list) in result.dropped.iter().enumerate() {
        for &(user, session, start) in list {
            rows.push(vec![
                result.steps[k].kind.name().to_string(),
                result.steps[k + 1].kind.name().to_string(),
                frame.users[user as usize].to_string(),
                frame.sessions.get(session as usize).map(str::to_string).unwrap_or_default(),
                super::customers::format_time(start),
            ]);
        }
    }
    (header, rows)
}

/// How many of the order lines' customers the events cover: web events often come from one
/// channel (the demo's from a fifth of the shop's customers), so the funnel's purchases are not
/// the shop's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// Distinct customers in the order lines.
    pub customers: u64,
    /// Of them, those who are also users in the events (the same id).
    pub with_events: u64,
}

/// Customers of `orders` (with a line that is not cancelled: the Overview's customers) who
/// appear as users of `events` (ids compared as integers, the events' layout).
pub fn customer_coverage(
    events: &EventFrame,
    orders: &crate::analytics::order_frame::OrderFrame,
) -> polars::prelude::PolarsResult<Coverage> {
    use crate::analytics::order_frame::col;
    let customer = orders.lines.column(col::CUSTOMER)?.u32()?;
    let cancelled = orders.lines.column(col::CANCELLED)?.bool()?;
    let mut ordered = vec![false; orders.customers.len()];
    for (customer, cancelled) in customer.iter().zip(cancelled.iter()) {
        if let (Some(c), Some(false)) = (customer, cancelled) {
            ordered[c as usize] = true;
        }
    }
    let users: std::collections::HashSet<i64> = events.users.iter().copied().collect();
    let holds = |c: &String| c.trim().parse::<i64>().is_ok_and(|id| users.contains(&id));
    let customers = orders.customers.iter().zip(&ordered).filter(|(_, &o)| o);
    let (mut all, mut with_events) = (0, 0);
    for (c, _) in customers {
        all += 1;
        with_events += u64::from(holds(c));
    }
    Ok(Coverage { customers: all, with_events })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::event_frame::EventFrameBuilder;
    use crate::analytics::order_frame::{OrderFrameBuilder, OrderLine};
    use crate::timestamp::{SlashOrder, Timestamp};

    /// Hand-checked: three customers order (12345, 12346 and a text id) and a fourth (12347) only
    /// cancels; the events hold users 12345 and 12347 and a visitor who never ordered, so they
    /// cover 1 of the 3 customers.
    #[test]
    fn coverage_counts_the_customers_the_events_hold() {
        let mut orders = OrderFrameBuilder::with_capacity(3);
        for customer in ["12345", "12346", "guest-7", "12347"] {
            orders.push(OrderLine {
                invoice: customer,
                stock_code: "A",
                description: "a",
                quantity: 1,
                invoice_date: Timestamp::parse("2010-01-01 10:00:00", SlashOrder::MonthFirst).unwrap(),
                unit_price: 1.0,
                customer_id: Some(customer),
                country: "UK",
                cancelled: customer == "12347",
                currency: "",
            });
        }
        let orders = orders.finish().unwrap();
        let mut events = EventFrameBuilder::new();
        events.push(0, EventKind::View, 1, "a", "b", 1.0, 12345, "s1");
        events.push(60, EventKind::View, 1, "a", "b", 1.0, 900001, "s2");
        events.push(120, EventKind::View, 1, "a", "b", 1.0, 12347, "s3");
        let coverage = customer_coverage(&events.finish(), &orders).unwrap();
        assert_eq!(coverage, Coverage { customers: 3, with_events: 1 });
    }
}

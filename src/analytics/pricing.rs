//! Pricing: where our prices stand against competitors (the monitor) and what moved (signals).
//!
//! Everything works on [`PricingData`], an in-memory copy of the catalogue, our price history and
//! the competitor observations (filled by `workspace::copies::load_pricing`, or by tests). Times
//! are seconds since 1970 (UTC).
//!
//! Definitions, shared by the panel, the CLI and the SQL in the tests:
//! - a competitor's *current* price for a product is its latest observation at or before the
//!   as-of moment; it counts for the *market* when it is in stock (or the feed does not say) and
//!   not older than `stale_days`;
//! - our price at a moment is the latest `our_prices` row valid from then or earlier, else the
//!   catalogue price;
//! - price index = our price / the market's mean price × 100 (above 100: we are dearer);
//! - rank: 1 + the number of market prices strictly below ours.

use std::collections::HashMap;

pub use super::customers::format_time;

/// Seconds in a day.
const DAY: i64 = 86_400;

/// A catalogue entry.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueProduct {
    pub id: String,
    pub name: String,
    pub category: String,
    pub brand: String,
    pub cost: Option<f64>,
    pub price: Option<f64>,
    pub stock: Option<i64>,
}

impl CatalogueProduct {
    /// An entry with only its id: a product known from prices or views, not from a catalogue.
    pub fn unnamed(id: &str) -> Self {
        Self {
            id: id.to_string(),
            name: String::new(),
            category: String::new(),
            brand: String::new(),
            cost: None,
            price: None,
            stock: None,
        }
    }
}

/// One competitor observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    pub product: u32,
    pub competitor: u32,
    pub time: i64,
    pub price: f64,
    pub in_stock: Option<bool>,
    /// The price shown struck through beside it: a promotion (name-keyed feeds say so).
    pub was: Option<f64>,
}

/// Our price for `product` from `time` on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OurPrice {
    pub product: u32,
    pub time: i64,
    pub price: f64,
}

/// The pricing data of a workspace, sorted for one-pass analyses.
#[derive(Debug, Clone, Default)]
pub struct PricingData {
    pub products: Vec<CatalogueProduct>,
    pub competitors: Vec<String>,
    /// Sorted by product, then time.
    pub our_prices: Vec<OurPrice>,
    /// Sorted by product, competitor, time (file order among equal times).
    pub observations: Vec<Observation>,
    /// Observations left out because their currency is not ours (compared only like with like).
    pub other_currency: u64,
    /// Observations left out because their prices include tax where ours do not, or the reverse.
    pub other_tax_basis: u64,
    /// Observations left out because their currency is stated and ours is not, by their
    /// currency: comparing them would take their currency for ours (the app asks instead).
    pub unknown_basis: std::collections::BTreeMap<String, u64>,
    /// Observations left out because the same competitor, product and instant has another
    /// price too: which one is right cannot be told, so neither moves a signal or the monitor.
    pub conflicting: u64,
    /// Our daily sales of catalogue products (from `order_lines`), sorted by product and day.
    pub sales: Vec<DailySales>,
    /// Product views per day from the events, where the shop has them (days without a view
    /// have no row), sorted by product and day.
    pub views: Vec<DailyViews>,
}

/// One product's sales on one day (days without a sale have no row).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DailySales {
    pub product: u32,
    /// Days since 1970-01-01.
    pub day: i64,
    pub units: f64,
    pub revenue: f64,
    /// Lowest and highest unit price sold at that day (they differ with volume tiers).
    pub lowest_price: f64,
    pub highest_price: f64,
}

/// One catalogue product's views on one day (events with `event_type` view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyViews {
    pub product: u32,
    /// Days since 1970-01-01.
    pub day: i64,
    pub views: u64,
}

/// Collects rows in any order; `finish` sorts them.
#[derive(Default)]
pub struct PricingDataBuilder {
    data: PricingData,
    product_codes: HashMap<String, u32>,
    competitor_codes: HashMap<String, u32>,
    sales: HashMap<(u32, i64), DailySales>,
}

impl PricingDataBuilder {
    /// Adds (or replaces, for a later catalogue) a catalogue entry.
    pub fn product(&mut self, product: CatalogueProduct) {
        let code = self.product_code(&product.id);
        self.data.products[code as usize] = product;
    }

    pub fn our_price(&mut self, product_id: &str, time: i64, price: f64) {
        let product = self.product_code(product_id);
        self.data.our_prices.push(OurPrice { product, time, price });
    }

    pub fn observation(&mut self, product_id: &str, competitor: &str, time: i64, price: f64, in_stock: Option<bool>) {
        let product = self.product_code(product_id);
        let competitor = match self.competitor_codes.get(competitor) {
            Some(&c) => c,
            None => {
                let c = self.data.competitors.len() as u32;
                self.data.competitors.push(competitor.to_string());
                self.competitor_codes.insert(competitor.to_string(), c);
                c
            }
        };
        self.data.observations.push(Observation { product, competitor, time, price, in_stock, was: None });
    }

    /// Marks the observation added last as a promotion from `was` (a price above it).
    pub fn promotion(&mut self, was: Option<f64>) {
        if let Some(last) = self.data.observations.last_mut() {
            last.was = was.filter(|w| *w > last.price);
        }
    }

    /// One order line of a catalogue product (cancellations are not sales and are left out
    /// by the caller). Lines of a product without a catalogue entry are ignored.
    pub fn sale(&mut self, product_id: &str, time: i64, quantity: f64, unit_price: f64) {
        let Some(&product) = self.product_codes.get(product_id) else { return };
        let day = time.div_euclid(DAY);
        let key = (product, day);
        let entry = self.sales.entry(key).or_insert(DailySales {
            product,
            day,
            units: 0.0,
            revenue: 0.0,
            lowest_price: unit_price,
            highest_price: unit_price,
        });
        entry.units += quantity;
        entry.revenue += quantity * unit_price;
        entry.lowest_price = entry.lowest_price.min(unit_price);
        entry.highest_price = entry.highest_price.max(unit_price);
    }

    /// A catalogue product's views on `day` (days since 1970-01-01); other products are ignored.
    pub fn views(&mut self, product_id: &str, day: i64, views: u64) {
        let Some(&product) = self.product_codes.get(product_id) else { return };
        self.data.views.push(DailyViews { product, day, views });
    }

    pub fn other_currency(&mut self, rows: u64) {
        self.data.other_currency += rows;
    }

    pub fn unknown_basis(&mut self, by_currency: std::collections::BTreeMap<String, u64>) {
        for (currency, rows) in by_currency {
            *self.data.unknown_basis.entry(currency).or_default() += rows;
        }
    }

    pub fn other_tax_basis(&mut self, rows: u64) {
        self.data.other_tax_basis += rows;
    }

    /// A product only seen in prices gets a catalogue entry without cost or name.
    fn product_code(&mut self, id: &str) -> u32 {
        if let Some(&code) = self.product_codes.get(id) {
            return code;
        }
        let code = self.data.products.len() as u32;
        self.data.products.push(CatalogueProduct::unnamed(id));
        self.product_codes.insert(id.to_string(), code);
        code
    }

    pub fn finish(mut self) -> PricingData {
        // Stable sorts: rows with equal keys keep their order in the workspace.
        self.data.our_prices.sort_by_key(|p| (p.product, p.time));
        self.data.observations.sort_by_key(|o| (o.product, o.competitor, o.time));
        self.data.conflicting = drop_conflicts(&mut self.data.observations);
        self.data.sales = self.sales.into_values().collect();
        self.data.sales.sort_by_key(|s| (s.product, s.day));
        self.data.views.sort_by_key(|v| (v.product, v.day));
        self.data
    }
}

/// Removes every observation whose competitor, product and instant also has another price
/// (`observations` sorted by those); identical repeats are kept once. Returns how many went.
fn drop_conflicts(observations: &mut Vec<Observation>) -> u64 {
    let before = observations.len();
    let mut kept = Vec::with_capacity(before);
    let mut conflicting = 0;
    for same in observations.chunk_by(|a, b| (a.product, a.competitor, a.time) == (b.product, b.competitor, b.time)) {
        if same.iter().all(|o| o.price == same[0].price) {
            kept.push(same[0]);
        } else {
            conflicting += same.len() as u64;
        }
    }
    *observations = kept;
    conflicting
}

impl PricingData {
    /// The moment "now" means: the latest competitor observation (the market's date), else our
    /// latest price change, else the last day with views. Never the wall clock, so a story built on last month's export shows
    /// last month's position; a price accepted today takes effect from today, and shows in the
    /// monitor once the market data reaches it (recommendations start from it at once).
    pub fn last_time(&self) -> Option<i64> {
        self.observations
            .iter()
            .map(|o| o.time)
            .max()
            .or_else(|| self.our_prices.iter().map(|p| p.time).max())
            .or_else(|| self.views.iter().map(|v| v.day * DAY).max())
    }

    /// The data as it stood before `day` (days since 1970-01-01): prices, observations, sales
    /// and views of earlier days only, the catalogue as it is. What a decision taken that day
    /// could have known.
    pub fn before(&self, day: i64) -> PricingData {
        let mut data = self.clone();
        data.our_prices.retain(|p| p.time < day * DAY);
        data.observations.retain(|o| o.time < day * DAY);
        data.sales.retain(|s| s.day < day);
        data.views.retain(|v| v.day < day);
        data
    }

    /// Our price history of `product` (a slice of `our_prices`).
    pub fn our_history(&self, product: u32) -> &[OurPrice] {
        rows_of(&self.our_prices, product, |p| p.product)
    }

    /// Daily sales of `product`, by day.
    pub fn sales_of(&self, product: u32) -> &[DailySales] {
        rows_of(&self.sales, product, |s| s.product)
    }

    /// The code of the catalogue product with id `id`.
    pub fn product_named(&self, id: &str) -> Option<u32> {
        self.products.iter().position(|p| p.id == id).map(|i| i as u32)
    }

    /// Daily views of `product`, by day.
    pub fn views_of(&self, product: u32) -> &[DailyViews] {
        rows_of(&self.views, product, |v| v.product)
    }

    /// Observations of `product`, all competitors, sorted by competitor then time.
    pub fn observations_of(&self, product: u32) -> &[Observation] {
        rows_of(&self.observations, product, |o| o.product)
    }

    /// Our price of `product` at `time`.
    pub fn our_price_at(&self, product: u32, time: i64) -> Option<f64> {
        price_in(self.our_history(product), self.products[product as usize].price, time)
    }

    /// The struck-through price of the competitor observation that raised `signal`, when it
    /// was a promotion.
    pub fn promotion_at(&self, signal: &Signal) -> Option<f64> {
        let competitor = signal.competitor?;
        self.observations_of(signal.product).iter().find(|o| o.competitor == competitor && o.time == signal.at).and_then(|o| o.was)
    }

    /// Runs of one competitor's observations of one product, in time order.
    pub fn series(&self) -> impl Iterator<Item = &[Observation]> {
        self.observations.chunk_by(|a, b| a.product == b.product && a.competitor == b.competitor)
    }
}

/// The rows of `product` in `rows`, which are sorted by product first.
pub(crate) fn rows_of<T>(rows: &[T], product: u32, product_of: impl Fn(&T) -> u32) -> &[T] {
    let start = rows.partition_point(|r| product_of(r) < product);
    let end = start + rows[start..].partition_point(|r| product_of(r) == product);
    &rows[start..end]
}

/// Our price at `time` from one product's price history, else its catalogue price. For loops
/// over one product, which look its history up once rather than once per moment.
pub fn price_in(history: &[OurPrice], catalogue: Option<f64>, time: i64) -> Option<f64> {
    match history.partition_point(|p| p.time <= time) {
        0 => catalogue,
        n => Some(history[n - 1].price),
    }
}

/// Thresholds and windows, editable in the panel and saved in the workspace.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PricingSettings {
    /// A competitor price this much below its previous observation is a drop (0.15 = 15%).
    pub competitor_drop: f64,
    pub competitor_rise: f64,
    /// Our own price changing by this much.
    pub own_change: f64,
    /// Stock below this many units.
    pub low_stock: i64,
    /// Our price this much above (overpriced) or below (undercut) the cheapest market price.
    pub position_gap: f64,
    /// Robust z-score above which a price is an anomaly against its series' own history.
    pub anomaly_z: f64,
    /// Observations of history an anomaly is judged against (at least 8 are needed).
    pub anomaly_window: usize,
    /// Competitor observations older than this many days do not count for the market.
    pub stale_days: i64,
    /// A day's views this much above the median of the previous four weeks (1.0: double) is a
    /// demand surge, if they are at least `surge_min_views`.
    pub demand_surge: f64,
    pub surge_min_views: u64,
    /// Compare with this competitor as well as with the market average (the index "vs").
    pub reference_competitor: Option<String>,
}

impl Default for PricingSettings {
    fn default() -> Self {
        // The open-source price-intelligence prototypes' alert levels: 15% competitor drop, 10%
        // own change, stock below 10; 5% away from the cheapest is a common positioning band.
        Self {
            competitor_drop: 0.15,
            competitor_rise: 0.15,
            own_change: 0.10,
            low_stock: 10,
            position_gap: 0.05,
            anomaly_z: 3.5,
            anomaly_window: 30,
            demand_surge: 1.0,
            surge_min_views: 20,
            stale_days: 14,
            reference_competitor: None,
        }
    }
}

/// One competitor's current price of a product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompetitorPrice {
    pub competitor: u32,
    pub price: f64,
    pub observed_at: i64,
    pub in_stock: Option<bool>,
    /// Counts for the market: in stock (or not stated) and not stale.
    pub in_market: bool,
}

/// Where one product stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub product: u32,
    pub ours: Option<f64>,
    pub competitors: Vec<CompetitorPrice>,
    /// The cheapest market price and who offers it (the first such competitor by name order).
    pub cheapest: Option<(u32, f64)>,
    pub market_mean: Option<f64>,
    pub index: Option<f64>,
    /// Index against the reference competitor, when it has a market price.
    pub index_vs_reference: Option<f64>,
    /// 1 = cheapest (ties share the rank); `sellers` = market prices + ours.
    pub rank: Option<usize>,
    pub sellers: usize,
    /// (ours − cheapest) / cheapest.
    pub gap_to_cheapest: Option<f64>,
}

/// Index and shares for a group of products (a category or a brand).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPosition {
    pub group: String,
    /// Products with both our price and a market price.
    pub compared: usize,
    pub mean_index: f64,
    pub cheapest_share: f64,
    pub dearest_share: f64,
}

/// Competitor price moves on one day: how many observations went up, down or stayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayMoves {
    pub day: i64,
    pub up: u64,
    pub down: u64,
    pub unchanged: u64,
    pub out_of_stock: u64,
}

/// The monitor: every product's position, group summaries, daily moves and coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    pub as_of: i64,
    pub positions: Vec<Position>,
    pub by_category: Vec<GroupPosition>,
    pub by_brand: Vec<GroupPosition>,
    pub moves: Vec<DayMoves>,
    /// Per competitor: catalogue products without an observation in the last `stale_days`.
    pub uncovered: Vec<(u32, usize)>,
}

/// The monitor's headline figures, as the Pricing panel's cards and the report's slide show
/// them (computed here once, for both).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonitorSummary {
    /// Products with our price and a market price to compare it with.
    pub compared: usize,
    /// The mean over compared products of our price / the mean market price × 100: below 100,
    /// we are cheaper. `None` when nothing is compared.
    pub price_index: Option<f64>,
    /// Products where our price is the lowest among the sellers (rank 1, ties included).
    pub cheapest: usize,
    /// Products where every competitor is cheaper.
    pub dearest: usize,
}

impl Monitor {
    pub fn summary(&self) -> MonitorSummary {
        let indexes: Vec<f64> = self.positions.iter().filter_map(|p| p.index).collect();
        MonitorSummary {
            compared: indexes.len(),
            price_index: (!indexes.is_empty()).then(|| indexes.iter().sum::<f64>() / indexes.len() as f64),
            cheapest: self.positions.iter().filter(|p| p.rank == Some(1)).count(),
            dearest: self.positions.iter().filter(|p| p.rank.is_some_and(|r| r == p.sellers && r > 1)).count(),
        }
    }
}

pub fn monitor(data: &PricingData, settings: &PricingSettings, as_of: Option<i64>) -> Monitor {
    let as_of = as_of.or_else(|| data.last_time()).unwrap_or(0);
    let fresh_from = as_of - settings.stale_days * DAY;
    let reference = settings.reference_competitor.as_ref().and_then(|name| data.competitors.iter().position(|c| c == name));
    let mut positions = Vec::with_capacity(data.products.len());
    let mut covered = vec![0usize; data.competitors.len()];
    for product in 0..data.products.len() as u32 {
        let mut competitors = Vec::new();
        for series in data.observations_of(product).chunk_by(|a, b| a.competitor == b.competitor) {
            let seen = series.partition_point(|o| o.time <= as_of);
            let Some(latest) = seen.checked_sub(1).map(|i| series[i]) else { continue };
            let fresh = latest.time >= fresh_from;
            if fresh {
                covered[latest.competitor as usize] += 1;
            }
            competitors.push(CompetitorPrice {
                competitor: latest.competitor,
                price: latest.price,
                observed_at: latest.time,
                in_stock: latest.in_stock,
                in_market: fresh && latest.in_stock != Some(false),
            });
        }
        positions.push(position(data, product, data.our_price_at(product, as_of), competitors, reference));
    }
    let uncovered = covered.iter().enumerate().map(|(c, &n)| (c as u32, data.products.len() - n)).collect();
    Monitor {
        as_of,
        by_category: groups(&positions, |p| &data.products[p as usize].category),
        by_brand: groups(&positions, |p| &data.products[p as usize].brand),
        moves: daily_moves(data, as_of),
        uncovered,
        positions,
    }
}

fn position(data: &PricingData, product: u32, ours: Option<f64>, competitors: Vec<CompetitorPrice>, reference: Option<usize>) -> Position {
    let market: Vec<&CompetitorPrice> = competitors.iter().filter(|c| c.in_market).collect();
    let cheapest = market
        .iter()
        .min_by(|a, b| {
            a.price.total_cmp(&b.price).then_with(|| data.competitors[a.competitor as usize].cmp(&data.competitors[b.competitor as usize]))
        })
        .map(|c| (c.competitor, c.price));
    let market_mean = (!market.is_empty()).then(|| market.iter().map(|c| c.price).sum::<f64>() / market.len() as f64);
    let index = ours.zip(market_mean).filter(|(_, mean)| *mean > 0.0).map(|(ours, mean)| ours / mean * 100.0);
    let index_vs_reference = reference.and_then(|r| {
        let theirs = market.iter().find(|c| c.competitor as usize == r)?.price;
        ours.filter(|_| theirs > 0.0).map(|ours| ours / theirs * 100.0)
    });
    let rank = ours.filter(|_| !market.is_empty()).map(|ours| 1 + market.iter().filter(|c| c.price < ours).count());
    let gap_to_cheapest = ours.zip(cheapest).filter(|(_, (_, low))| *low > 0.0).map(|(ours, (_, low))| (ours - low) / low);
    Position {
        product,
        ours,
        sellers: market.len() + usize::from(ours.is_some()),
        cheapest,
        market_mean,
        index,
        index_vs_reference,
        rank,
        gap_to_cheapest,
        competitors,
    }
}

fn groups<'a>(positions: &[Position], group_of: impl Fn(u32) -> &'a String) -> Vec<GroupPosition> {
    // (index sum, compared, cheapest, dearest)
    let mut sums: HashMap<&String, (f64, usize, usize, usize)> = HashMap::new();
    for p in positions {
        let (Some(index), Some(ours)) = (p.index, p.ours) else { continue };
        let market: Vec<f64> = p.competitors.iter().filter(|c| c.in_market).map(|c| c.price).collect();
        let entry = sums.entry(group_of(p.product)).or_default();
        entry.0 += index;
        entry.1 += 1;
        entry.2 += usize::from(market.iter().all(|&m| ours <= m));
        entry.3 += usize::from(market.iter().all(|&m| ours >= m));
    }
    let mut out: Vec<GroupPosition> = sums
        .into_iter()
        .map(|(group, (sum, n, cheapest, dearest))| GroupPosition {
            group: group.clone(),
            compared: n,
            mean_index: sum / n as f64,
            cheapest_share: cheapest as f64 / n as f64,
            dearest_share: dearest as f64 / n as f64,
        })
        .collect();
    out.sort_by(|a, b| b.compared.cmp(&a.compared).then_with(|| a.group.cmp(&b.group)));
    out
}

/// Per day, how the competitor observations of that day compare with each series' previous one.
fn daily_moves(data: &PricingData, as_of: i64) -> Vec<DayMoves> {
    let mut days: HashMap<i64, DayMoves> = HashMap::new();
    for series in data.series() {
        for pair in series.windows(2).filter(|w| w[1].time <= as_of) {
            let day = pair[1].time.div_euclid(DAY);
            let moves = days.entry(day).or_insert(DayMoves { day, ..DayMoves::default() });
            match pair[1].price.total_cmp(&pair[0].price) {
                std::cmp::Ordering::Greater => moves.up += 1,
                std::cmp::Ordering::Less => moves.down += 1,
                std::cmp::Ordering::Equal => moves.unchanged += 1,
            }
            if pair[1].in_stock == Some(false) && pair[0].in_stock != Some(false) {
                moves.out_of_stock += 1;
            }
        }
    }
    let mut out: Vec<DayMoves> = days.into_values().collect();
    out.sort_by_key(|d| d.day);
    out
}

/// What a signal is about. The names are the CLI's `signal` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalKind {
    CompetitorDrop,
    CompetitorRise,
    OwnChange,
    LowStock,
    CompetitorOutOfStock,
    Undercut,
    Overpriced,
    Anomaly,
    DemandSurge,
}

impl SignalKind {
    pub const ALL: [SignalKind; 9] = [
        SignalKind::CompetitorDrop,
        SignalKind::CompetitorRise,
        SignalKind::OwnChange,
        SignalKind::LowStock,
        SignalKind::CompetitorOutOfStock,
        SignalKind::Undercut,
        SignalKind::Overpriced,
        SignalKind::Anomaly,
        SignalKind::DemandSurge,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            SignalKind::CompetitorDrop => "competitor_drop",
            SignalKind::CompetitorRise => "competitor_rise",
            SignalKind::OwnChange => "own_change",
            SignalKind::LowStock => "low_stock",
            SignalKind::CompetitorOutOfStock => "competitor_out_of_stock",
            SignalKind::Undercut => "undercut",
            SignalKind::Overpriced => "overpriced",
            SignalKind::Anomaly => "anomaly",
            SignalKind::DemandSurge => "demand_surge",
        }
    }

    /// The kind for people (the window); [`SignalKind::name`] stays the CSV's and the
    /// settings' key.
    pub fn label(&self) -> &'static str {
        match self {
            SignalKind::CompetitorDrop => "Competitor price drop",
            SignalKind::CompetitorRise => "Competitor price rise",
            SignalKind::OwnChange => "Our price changed",
            SignalKind::LowStock => "Low stock",
            SignalKind::CompetitorOutOfStock => "Competitor out of stock",
            SignalKind::Undercut => "Undercut",
            SignalKind::Overpriced => "Overpriced",
            SignalKind::Anomaly => "Unusual price",
            SignalKind::DemandSurge => "Demand surge",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn name(&self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// By how far a relative change went past its threshold: twice as far is high.
    fn of(change: f64, threshold: f64) -> Self {
        let ratio = change.abs() / threshold.abs().max(f64::MIN_POSITIVE);
        if ratio >= 2.0 {
            Severity::High
        } else if ratio >= 4.0 / 3.0 {
            Severity::Medium
        } else {
            Severity::Low
        }
    }
}

/// One market signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signal {
    pub kind: SignalKind,
    pub product: u32,
    pub competitor: Option<u32>,
    /// When the observation (or price change) that triggered it was made.
    pub at: i64,
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// Relative change (−0.2 = 20% lower), or for stock the units left.
    pub change: f64,
    pub severity: Severity,
}

/// Every signal in the data up to `as_of`, oldest first. A condition that persists (we stay
/// overpriced, a competitor stays out of stock) fires once, when it starts; conditions judged
/// against a threshold clear only at half of it, so a price hovering at the threshold does not
/// fire again and again.
pub fn signals(data: &PricingData, settings: &PricingSettings, as_of: Option<i64>) -> Vec<Signal> {
    let as_of = as_of.or_else(|| data.last_time()).unwrap_or(0);
    let mut out = Vec::new();
    for series in data.series() {
        let series = &series[..series.partition_point(|o| o.time <= as_of)];
        series_signals(series, settings, &mut out);
    }
    for product in 0..data.products.len() as u32 {
        let history = data.our_history(product);
        for pair in history.windows(2).filter(|w| w[1].time <= as_of) {
            let change = relative(pair[0].price, pair[1].price);
            if change.abs() >= settings.own_change {
                out.push(Signal {
                    kind: SignalKind::OwnChange,
                    product,
                    competitor: None,
                    at: pair[1].time,
                    before: Some(pair[0].price),
                    after: Some(pair[1].price),
                    change,
                    severity: Severity::of(change, settings.own_change),
                });
            }
        }
        if let Some(stock) = data.products[product as usize].stock.filter(|&s| s < settings.low_stock) {
            let severity = if stock <= 0 {
                Severity::High
            } else if stock * 2 < settings.low_stock {
                Severity::Medium
            } else {
                Severity::Low
            };
            out.push(Signal {
                kind: SignalKind::LowStock,
                product,
                competitor: None,
                at: as_of,
                before: None,
                after: Some(stock as f64),
                change: stock as f64,
                severity,
            });
        }
        position_signals(data, product, settings, as_of, &mut out);
        demand_signals(data, product, settings, as_of, &mut out);
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then(a.product.cmp(&b.product)).then(a.kind.cmp(&b.kind)).then(a.competitor.cmp(&b.competitor)));
    out
}

/// Days of history a day's views are judged against.
const SURGE_WINDOW: usize = 28;

/// Days of views far above the product's usual (the median of the previous four weeks, days
/// without a view counted as 0). Needs a week of history; fires once per surge, which ends
/// when views fall below half the threshold's excess.
fn demand_signals(data: &PricingData, product: u32, settings: &PricingSettings, as_of: i64, out: &mut Vec<Signal>) {
    let views = rows_of(&data.views, product, |v| v.product);
    let Some(first) = views.first().map(|v| v.day) else { return };
    let last = as_of.div_euclid(DAY);
    let mut daily = Vec::new();
    let mut next = views.iter().peekable();
    let mut surging = false;
    for day in first..=last {
        let count = match next.peek() {
            Some(v) if v.day == day => next.next().map_or(0, |v| v.views),
            _ => 0,
        };
        let history = &daily[daily.len().saturating_sub(SURGE_WINDOW)..];
        if history.len() >= 7 {
            let mut sorted: Vec<u64> = history.to_vec();
            sorted.sort_unstable();
            let n = sorted.len();
            let median = if n % 2 == 1 { sorted[n / 2] as f64 } else { (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0 };
            let ratio = count as f64 / median.max(1.0) - 1.0;
            let above = count >= settings.surge_min_views && ratio >= settings.demand_surge;
            if above && !surging {
                out.push(Signal {
                    kind: SignalKind::DemandSurge,
                    product,
                    competitor: None,
                    at: day * DAY,
                    before: Some(median),
                    after: Some(count as f64),
                    change: ratio,
                    severity: Severity::of(ratio, settings.demand_surge),
                });
            }
            surging = if surging { ratio >= settings.demand_surge / 2.0 } else { above };
        }
        daily.push(count);
    }
}

fn relative(before: f64, after: f64) -> f64 {
    if before != 0.0 {
        after / before - 1.0
    } else {
        0.0
    }
}

/// Drops, rises, stock-outs and anomalies in one competitor's series of one product.
fn series_signals(series: &[Observation], settings: &PricingSettings, out: &mut Vec<Signal>) {
    let mut anomalous = false;
    // The previous `anomaly_window` prices, kept sorted as the window slides: the median and
    // the median absolute deviation then take no sorting per observation.
    let mut window: Vec<f64> = Vec::with_capacity(settings.anomaly_window + 1);
    for (i, o) in series.iter().enumerate() {
        let signal = |kind, before: Option<f64>, change: f64, severity| Signal {
            kind,
            product: o.product,
            competitor: Some(o.competitor),
            at: o.time,
            before,
            after: Some(o.price),
            change,
            severity,
        };
        if let Some(prev) = i.checked_sub(1).map(|j| series[j]) {
            let change = relative(prev.price, o.price);
            if change <= -settings.competitor_drop {
                out.push(signal(SignalKind::CompetitorDrop, Some(prev.price), change, Severity::of(change, settings.competitor_drop)));
            } else if change >= settings.competitor_rise {
                out.push(signal(SignalKind::CompetitorRise, Some(prev.price), change, Severity::of(change, settings.competitor_rise)));
            }
            if o.in_stock == Some(false) && prev.in_stock != Some(false) {
                out.push(signal(SignalKind::CompetitorOutOfStock, Some(prev.price), change, Severity::Medium));
            }
        }
        // Anomaly: against the median of the previous observations, in units of their spread
        // (1.4826 × MAD, floored at 1% of the median so a flat series is not infinitely strict).
        if window.len() >= 8 {
            let (median, mad) = median_and_mad(&window);
            let scale = (1.4826 * mad).max(0.01 * median.abs()).max(f64::MIN_POSITIVE);
            let z = (o.price - median).abs() / scale;
            let now = z >= settings.anomaly_z;
            if now && !anomalous {
                let change = relative(median, o.price);
                out.push(signal(SignalKind::Anomaly, Some(median), change, Severity::of(z, settings.anomaly_z)));
            }
            // Clears only well inside the usual range again.
            anomalous = if anomalous { z >= settings.anomaly_z / 2.0 } else { now };
        }
        window.insert(window.partition_point(|p| p.total_cmp(&o.price).is_lt()), o.price);
        if window.len() > settings.anomaly_window {
            let leaving = series[i - settings.anomaly_window].price;
            let at = window.partition_point(|p| p.total_cmp(&leaving).is_lt());
            window.remove(at);
        }
    }
}

/// The median of sorted values and their median absolute deviation from it. The deviations of
/// sorted values from their median are two sorted runs (leftward and rightward), merged here up
/// to the middle.
pub(super) fn median_and_mad(sorted: &[f64]) -> (f64, f64) {
    let n = sorted.len();
    let middle = |value: &dyn Fn(usize) -> f64| if n % 2 == 1 { value(n / 2) } else { (value(n / 2 - 1) + value(n / 2)) / 2.0 };
    let median = middle(&|k| sorted[k]);
    let mut deviations = Vec::with_capacity(n / 2 + 1);
    let split = sorted.partition_point(|&p| p < median);
    let (mut left, mut right) = (split, split);
    while deviations.len() <= n / 2 {
        let from_left = left.checked_sub(1).map(|l| median - sorted[l]);
        let from_right = sorted.get(right).map(|&r| r - median);
        match (from_left, from_right) {
            (Some(a), Some(b)) if a <= b => {
                deviations.push(a);
                left -= 1;
            }
            (_, Some(b)) => {
                deviations.push(b);
                right += 1;
            }
            (Some(a), None) => {
                deviations.push(a);
                left -= 1;
            }
            (None, None) => break,
        }
    }
    (median, middle(&|k| deviations[k]))
}

/// Overpriced / undercut against the cheapest market price, replayed through time: after every
/// competitor observation or price change of ours, the position is judged again.
fn position_signals(data: &PricingData, product: u32, settings: &PricingSettings, as_of: i64, out: &mut Vec<Signal>) {
    let observations = data.observations_of(product);
    if observations.is_empty() {
        return;
    }
    let (history, catalogue) = (data.our_history(product), data.products[product as usize].price);
    let mut events: Vec<(i64, Option<usize>)> =
        observations.iter().enumerate().filter(|(_, o)| o.time <= as_of).map(|(i, o)| (o.time, Some(i))).collect();
    events.extend(history.iter().filter(|p| p.time <= as_of).map(|p| (p.time, None)));
    events.sort_by_key(|&(time, _)| time);
    let mut latest: HashMap<u32, Observation> = HashMap::new();
    let (mut overpriced, mut undercut) = (false, false);
    let gap = settings.position_gap;
    for (time, event) in events {
        if let Some(i) = event {
            latest.insert(observations[i].competitor, observations[i]);
        }
        let Some(ours) = price_in(history, catalogue, time) else { continue };
        let fresh_from = time - settings.stale_days * DAY;
        let cheapest = latest
            .values()
            .filter(|o| o.time >= fresh_from && o.in_stock != Some(false) && o.price > 0.0)
            .min_by(|a, b| a.price.total_cmp(&b.price).then(a.competitor.cmp(&b.competitor)));
        let Some(cheapest) = cheapest else { continue };
        let difference = ours / cheapest.price - 1.0;
        let signal = |kind| Signal {
            kind,
            product,
            competitor: Some(cheapest.competitor),
            at: time,
            before: Some(cheapest.price),
            after: Some(ours),
            change: difference,
            severity: Severity::of(difference, gap),
        };
        if !overpriced && difference > gap {
            out.push(signal(SignalKind::Overpriced));
        }
        overpriced = if overpriced { difference > gap / 2.0 } else { difference > gap };
        if !undercut && difference < -gap {
            out.push(signal(SignalKind::Undercut));
        }
        undercut = if undercut { difference < -gap / 2.0 } else { difference < -gap };
    }
}

fn number(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(String::new, |v| format!("{v:.decimals$}"))
}

/// The monitor as exported: one row per product.
/// The price index by category or brand, as the Monitor tab and a report show it; `name` heads
/// the first column.
pub fn groups_table(groups: &[GroupPosition], name: &str) -> super::Table {
    let header = [name, "products", "index", "cheapest", "dearest"].map(String::from).to_vec();
    let rows = groups
        .iter()
        .map(|g| {
            vec![
                if g.group.is_empty() { "(none)".into() } else { g.group.clone() },
                g.compared.to_string(),
                format!("{:.1}", g.mean_index),
                format!("{:.0}%", g.cheapest_share * 100.0),
                format!("{:.0}%", g.dearest_share * 100.0),
            ]
        })
        .collect();
    (header, rows)
}

pub fn monitor_table(data: &PricingData, monitor: &Monitor) -> super::Table {
    let header = [
        "product_id",
        "name",
        "category",
        "brand",
        "our_price",
        "cheapest_competitor",
        "cheapest_price",
        "market_mean",
        "price_index",
        "rank",
        "sellers",
        "gap_to_cheapest_pct",
        "competitors_observed",
    ]
    .map(String::from)
    .to_vec();
    let rows = monitor
        .positions
        .iter()
        .map(|p| {
            let product = &data.products[p.product as usize];
            vec![
                product.id.clone(),
                product.name.clone(),
                product.category.clone(),
                product.brand.clone(),
                number(p.ours, 2),
                p.cheapest.map_or_else(String::new, |(c, _)| data.competitors[c as usize].clone()),
                number(p.cheapest.map(|(_, price)| price), 2),
                number(p.market_mean, 4),
                number(p.index, 2),
                p.rank.map_or_else(String::new, |r| r.to_string()),
                p.sellers.to_string(),
                number(p.gap_to_cheapest.map(|g| g * 100.0), 2),
                p.competitors.len().to_string(),
            ]
        })
        .collect();
    (header, rows)
}

/// Signals as exported (`shoplens pricing signals`): every signal, none capped or snoozed.
pub fn signals_table(data: &PricingData, signals: &[Signal]) -> super::Table {
    let header = ["signal", "product_id", "competitor", "at", "before", "after", "change", "severity"].map(String::from).to_vec();
    let rows = signals
        .iter()
        .map(|s| {
            vec![
                s.kind.name().to_string(),
                data.products[s.product as usize].id.clone(),
                s.competitor.map_or_else(String::new, |c| data.competitors[c as usize].clone()),
                format_time(s.at),
                number(s.before, 2),
                number(s.after, 2),
                if s.kind == SignalKind::LowStock { format!("{}", s.change) } else { format!("{:.4}", s.change) },
                s.severity.name().to_string(),
            ]
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000;

    fn data() -> PricingData {
        let mut b = PricingDataBuilder::default();
        b.product(CatalogueProduct {
            id: "P1".into(),
            name: "Kettle".into(),
            category: "kitchen".into(),
            brand: "acme".into(),
            cost: Some(10.0),
            price: Some(20.0),
            stock: Some(5),
        });
        b.our_price("P1", T0, 20.0);
        // A: 20, 20, 16 (−20%: a drop), 16.1, 15.9 (hovering: no new drop), 20 (+25.8%: a rise).
        for (day, price) in [(0, 20.0), (1, 20.0), (2, 16.0), (3, 16.1), (4, 15.9), (5, 20.0)] {
            b.observation("P1", "A", T0 + day * DAY, price, Some(true));
        }
        // B: 21 then out of stock on day 3, still out on day 4.
        for (day, price, stock) in [(0, 21.0, true), (3, 21.0, false), (4, 21.0, false)] {
            b.observation("P1", "B", T0 + day * DAY, price, Some(stock));
        }
        b.finish()
    }

    /// Hand-checked: the drop and the rise of A fire once each; B's stock-out once; our 20 is
    /// 25% above A's 16 from day 2 (overpriced once, not again while it stays so); stock 5 < 10.
    /// Hand-checked: 28 days at 10 views, then 30 (median 10: +200%, twice the +100% threshold:
    /// high), 16 (+60%: still above half the excess, no new signal), 12 (+20%: over), 25
    /// (+150%: a new surge, medium).
    #[test]
    fn a_demand_surge_fires_once_per_surge_against_four_weeks_of_views() {
        let mut b = PricingDataBuilder::default();
        b.product(CatalogueProduct { price: Some(5.0), ..CatalogueProduct::unnamed("4242") });
        b.our_price("4242", 40 * DAY, 5.0);
        for day in 0..28 {
            b.views("4242", day, 10);
        }
        for (day, views) in [(28, 30), (29, 16), (30, 12), (31, 25)] {
            b.views("4242", day, views);
        }
        b.views("elsewhere", 28, 1000);
        let data = b.finish();
        let surges: Vec<(i64, f64, f64, f64, Severity)> = signals(&data, &PricingSettings::default(), None)
            .into_iter()
            .filter(|s| s.kind == SignalKind::DemandSurge)
            .map(|s| (s.at / DAY, s.before.unwrap(), s.after.unwrap(), s.change, s.severity))
            .collect();
        assert_eq!(surges, vec![(28, 10.0, 30.0, 2.0, Severity::High), (31, 10.0, 25.0, 1.5, Severity::Medium)]);
    }

    #[test]
    fn signals_of_a_hand_checked_case() {
        let data = data();
        let got: Vec<(SignalKind, i64)> =
            signals(&data, &PricingSettings::default(), None).iter().map(|s| (s.kind, (s.at - T0) / DAY)).collect();
        assert_eq!(
            got,
            [
                (SignalKind::CompetitorDrop, 2),
                (SignalKind::Overpriced, 2),
                (SignalKind::CompetitorOutOfStock, 3),
                (SignalKind::CompetitorRise, 5),
                (SignalKind::LowStock, 5),
            ]
        );
        let drop = signals(&data, &PricingSettings::default(), None)[0];
        assert_eq!((drop.before, drop.after), (Some(20.0), Some(16.0)));
        assert_eq!(
            (Severity::of(-0.16, 0.15), Severity::of(-0.25, 0.15), Severity::of(-0.31, 0.15)),
            (Severity::Low, Severity::Medium, Severity::High)
        );
        assert!((drop.change + 0.2).abs() < 1e-12);
    }

    /// Hand-checked position on day 4: A 15.9 is the market (B out of stock); ours 20.
    #[test]
    fn the_monitor_of_a_hand_checked_case() {
        let data = data();
        let m = monitor(&data, &PricingSettings::default(), Some(T0 + 4 * DAY));
        let p = &m.positions[0];
        assert_eq!(p.cheapest, Some((0, 15.9)));
        assert_eq!((p.rank, p.sellers), (Some(2), 2));
        assert!((p.index.unwrap() - 20.0 / 15.9 * 100.0).abs() < 1e-9);
        assert_eq!(m.by_category[0].dearest_share, 1.0);
        // One product, 20 against A's 15.9: compared, dearest, never cheapest.
        let summary = m.summary();
        assert_eq!((summary.compared, summary.cheapest, summary.dearest), (1, 0, 1));
        assert!((summary.price_index.unwrap() - 20.0 / 15.9 * 100.0).abs() < 1e-9);
        let day3 = m.moves.iter().find(|d| d.day == (T0 + 3 * DAY).div_euclid(DAY)).unwrap();
        assert_eq!((day3.up, day3.down, day3.unchanged, day3.out_of_stock), (1, 0, 1, 1));
    }

    /// The sliding window's median and MAD against a plain sort of the same values.
    #[test]
    fn median_and_mad_equal_a_sort() {
        let values = [5.0, 1.0, 9.0, 3.0, 3.0, 7.0, 2.0, 8.0, 6.0, 4.0];
        let median = |v: &[f64]| if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 };
        for n in 1..=values.len() {
            let mut sorted = values[..n].to_vec();
            sorted.sort_by(f64::total_cmp);
            let m = median(&sorted);
            let mut deviations: Vec<f64> = sorted.iter().map(|v| (v - m).abs()).collect();
            deviations.sort_by(f64::total_cmp);
            assert_eq!(median_and_mad(&sorted), (m, median(&deviations)), "{n} values");
        }
    }

    /// A price hovering around the threshold does not fire again until it is well clear.
    #[test]
    fn a_position_hovering_at_the_threshold_fires_once() {
        let mut b = PricingDataBuilder::default();
        b.our_price("P", T0, 105.5);
        for (day, price) in [(0, 100.0), (1, 100.2), (2, 99.9), (3, 100.3), (4, 100.0)] {
            b.observation("P", "A", T0 + day * DAY, price, None);
        }
        let data = b.finish();
        let got = signals(&data, &PricingSettings::default(), None);
        assert_eq!(got.iter().filter(|s| s.kind == SignalKind::Overpriced).count(), 1, "{got:?}");
    }
}

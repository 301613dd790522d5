//! `shoplens pricing ...`: the Pricing panel headless. Users script these: the commands and the
//! column names of their CSV files are kept stable.

use crate::{errln, outln};
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::output;
use super::{emit, parse_time_arg, wait_with_progress, CliError};
use crate::analytics::pricing::{self, PricingData, PricingSettings};
use crate::analytics::recommend::{self as recommendations, Anchor, PositionRule, RecommendSettings};
use crate::analytics::write_csv;
use crate::jobs::Job;
use crate::timestamp::Timestamp;
use crate::workspace;

#[derive(Debug, Subcommand)]
pub enum PricingCommand {
    /// Where each product stands: our price, the cheapest competitor, price index, rank.
    Monitor {
        workspace: PathBuf,
        /// The moment to judge at (default: the last observation in the data).
        #[arg(long, value_parser = parse_time_arg)]
        as_of: Option<Timestamp>,
        /// Index our prices against this competitor as well as the market average.
        #[arg(long)]
        vs: Option<String>,
        /// One row per product (CSV); without it a summary is printed.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Price elasticity per product from our price changes and units sold (per day, or per
    /// month for monthly totals): product_id, elasticity, ci_low, ci_high (quasi-Poisson 95%),
    /// verdict (identified, pooled or not identified) and reason.
    Elasticity {
        workspace: PathBuf,
        /// Write them as CSV; without it a summary is printed.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A price per catalogue product: the profit-maximising price, then the rules (position,
    /// max change, .99 endings) inside the markup band. Columns: product_id, cost,
    /// current_price, optimum_price, recommended_price, reasons.
    Recommend {
        workspace: PathBuf,
        /// Lowest price as a markup on cost (0.05: cost × 1.05).
        #[arg(long, value_parser = super::parse_finite, default_value_t = 0.05)]
        min_markup: f64,
        /// Highest price as a markup on cost (0.30: cost × 1.30).
        #[arg(long, value_parser = super::parse_finite, default_value_t = 0.30)]
        max_markup: f64,
        /// Position against the market: `within:0.05`, `beat:0.02` or `match`.
        #[arg(long, value_parser = parse_position)]
        position: Option<PositionRule>,
        /// What the position aims at: `cheapest`, `average` or a competitor's name.
        #[arg(long, default_value = "cheapest")]
        anchor: String,
        /// Most a price may move per step (0.10 = 10%); 0 for no limit.
        #[arg(long, value_parser = super::parse_finite, default_value_t = 0.10)]
        max_change: f64,
        /// End prices in .99.
        #[arg(long)]
        ending_99: bool,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Accept or reject recommendations (computed with the rules last saved, or the defaults):
    /// writes the decision log, and each accepted price into our price history from now on.
    Decide {
        workspace: PathBuf,
        /// Products whose recommended price is accepted.
        #[arg(long, num_args = 1..)]
        accept: Vec<String>,
        /// Products whose recommendation is rejected (logged, price unchanged).
        #[arg(long, num_args = 1..)]
        reject: Vec<String>,
        /// An edited proposal, accepted at this price: PRODUCT=PRICE.
        #[arg(long = "set", num_args = 1..)]
        set: Vec<String>,
        /// Who decides (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// What our prices are: their currency and whether they include tax. Competitor
    /// observations are compared only when theirs (stated per row or at import) match. Without
    /// options it prints what is set.
    Basis {
        workspace: PathBuf,
        #[arg(long)]
        currency: Option<String>,
        #[arg(long, conflicts_with = "exclude_tax")]
        include_tax: bool,
        #[arg(long)]
        exclude_tax: bool,
    },
    /// Did each price change work? One row per change of our price (decisions and imported
    /// history): its realised effect on units and profit a day against untouched products of its
    /// category (difference-in-differences over WINDOW days before and after): product_id,
    /// decided_at, old_price, new_price, window_days, controls, predicted_units_per_day,
    /// realised_units_per_day, ci_low, ci_high, p_positive, predicted_profit_per_day,
    /// realised_profit_per_day, verdict, warnings, profit_ci_low, profit_ci_high,
    /// realised_revenue_per_day, revenue_ci_low, revenue_ci_high. The portfolio goes to stderr.
    Impact {
        workspace: PathBuf,
        /// Days before and after each change that are compared.
        #[arg(long, default_value_t = 28)]
        window_days: usize,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The decision log, newest first: product_id, old_price, new_price, status, reasons,
    /// decided_by, decided_at, predicted_units_per_day, predicted_revenue_per_day,
    /// predicted_profit_per_day.
    Decisions {
        workspace: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The price list as it stands (decisions included): product_id, name, cost, old_price,
    /// new_price, gross_margin_pct, changed; the same file as the panel's "Export new price list".
    PriceList {
        workspace: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Every market signal (none capped or snoozed): signal, product_id, competitor, at,
    /// before, after, change, severity.
    Signals {
        workspace: PathBuf,
        #[arg(long, value_parser = parse_time_arg)]
        as_of: Option<Timestamp>,
        /// Write them as CSV; without it they are printed as CSV on stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Matches the products of name-keyed competitor feeds to ours by name (or, without a
    /// catalogue of ours, across competitors into groups) and keeps the matches in the
    /// workspace: `competitor, competitor_product, product_id, similarity, status`, best first.
    /// Only confirmed matches feed the monitor and the signals.
    Match {
        workspace: PathBuf,
        #[arg(long, value_parser = super::parse_finite, default_value_t = 0.8)]
        min_similarity: f64,
        /// Confirm every suggestion at least this similar.
        #[arg(long, value_parser = super::parse_finite)]
        confirm_above: Option<f64>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// An A/B price test: one product before and after (`--product P --a FROM..TO --b FROM..TO`)
    /// or two groups of products (`--group-a P,Q --group-b R,S`, over `--a`/`--b` or all days).
    /// Prints the comparison, its warnings and the verdict; `--out` writes one row per metric:
    /// `metric, a, b, difference, ci_low, ci_high, p_b_greater`.
    Abtest {
        workspace: PathBuf,
        #[arg(long, conflicts_with_all = ["group_a", "group_b"])]
        product: Option<String>,
        /// Arm A's days, inclusive: `YYYY-MM-DD..YYYY-MM-DD`.
        #[arg(long, value_parser = crate::analytics::abtest::parse_days)]
        a: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
        /// Arm B's days, inclusive.
        #[arg(long, value_parser = crate::analytics::abtest::parse_days)]
        b: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
        #[arg(long, value_delimiter = ',', requires = "group_b")]
        group_a: Vec<String>,
        #[arg(long, value_delimiter = ',', requires = "group_a")]
        group_b: Vec<String>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(command: PricingCommand) -> Result<(), CliError> {
    match command {
        PricingCommand::Monitor { workspace, as_of, vs, out } => monitor(&workspace, as_of.map(|t| t.epoch_seconds()), vs, out.as_deref()),
        PricingCommand::Elasticity { workspace, out } => elasticity(&workspace, out.as_deref()),
        PricingCommand::Decide { workspace, accept, reject, set, by } => decide(&workspace, &accept, &reject, &set, by),
        PricingCommand::Recommend { workspace, min_markup, max_markup, position, anchor, max_change, ending_99, out } => {
            if !(0.0..=10.0).contains(&min_markup) || max_markup < min_markup {
                return Err(CliError::Failed(format!(
                    "the markup band {min_markup}–{max_markup} is empty: --max-markup must be at least --min-markup"
                )));
            }
            let anchor = match anchor.as_str() {
                "cheapest" => Anchor::Cheapest,
                "average" => Anchor::Average,
                name => Anchor::Competitor(name.to_string()),
            };
            let settings = RecommendSettings {
                min_markup,
                max_markup,
                position: position.unwrap_or(PositionRule::Off),
                anchor,
                max_change: (max_change > 0.0).then_some(max_change),
                ending_99,
            };
            recommend(&workspace, &settings, out.as_deref())
        }
        PricingCommand::Basis { workspace, currency, include_tax, exclude_tax } => basis(&workspace, currency, include_tax, exclude_tax),
        PricingCommand::Impact { workspace, window_days, out } => impact(&workspace, window_days, out.as_deref()),
        PricingCommand::Decisions { workspace, out } => {
            let conn = workspace::open_read_only(&workspace)?;
            let log = workspace::settings::load_decisions(&conn)?;
            emit(out.as_deref(), "decisions", workspace::settings::decisions_table(&log))
        }
        PricingCommand::PriceList { workspace, out } => {
            let loaded = load(&workspace)?;
            let proposals = proposals(&loaded, &loaded.rules);
            emit(out.as_deref(), "products", recommendations::price_list_table(&loaded.data, &proposals, &Default::default()))
        }
        PricingCommand::Signals { workspace, as_of, out } => signals(&workspace, as_of.map(|t| t.epoch_seconds()), out.as_deref()),
        PricingCommand::Match { workspace, min_similarity, confirm_above, out } => {
            match_names(&workspace, min_similarity, confirm_above, out.as_deref())
        }
        PricingCommand::Abtest { workspace, product, a, b, group_a, group_b, out } => {
            abtest(&workspace, product, (a, b), (group_a, group_b), out.as_deref())
        }
    }
}

type Days = Option<(chrono::NaiveDate, chrono::NaiveDate)>;

fn match_names(path: &Path, min: f64, confirm: Option<f64>, out: Option<&Path>) -> Result<(), CliError> {
    use crate::analytics::matching;
    if !(0.0..=1.0).contains(&min) || confirm.is_some_and(|c| !(0.0..=1.0).contains(&c)) {
        return Err(CliError::Failed("similarities run from 0 to 1".into()));
    }
    let mut ws = workspace::Workspace::open(path)?;
    let theirs = workspace::settings::named_products(ws.conn())?;
    if theirs.is_empty() {
        return Err(CliError::Failed(
            "this workspace has no competitor prices keyed by name: import a feed with competitor (or vendor), product_name, price (or current_price) and observed_at (or nowtime)".into(),
        ));
    }
    let ours = workspace::settings::catalogue_names(ws.conn())?;
    let saved = workspace::settings::load_matches(ws.conn())?;
    let mut rows = matching::matches(&ours, &theirs, min, &saved);
    let confirmed = confirm.map(|c| matching::confirm_above(&mut rows, c));
    workspace::settings::save_matches(ws.conn_mut(), &rows)?;
    let count = |status| rows.iter().filter(|r| r.status == status).count();
    errln!(
        "{} competitor products{}: {} suggested, {} confirmed{}, {} rejected",
        rows.len(),
        if ours.is_empty() { " grouped across competitors (no catalogue of ours)" } else { " matched to our catalogue" },
        count(matching::MatchStatus::Suggested),
        count(matching::MatchStatus::Confirmed),
        confirmed.map_or(String::new(), |n| format!(" ({n} just now)")),
        count(matching::MatchStatus::Rejected)
    );
    emit(out, "matches", matching::table(&rows))
}

fn abtest(
    path: &Path,
    product: Option<String>,
    (a, b): (Days, Days),
    groups: (Vec<String>, Vec<String>),
    out: Option<&Path>,
) -> Result<(), CliError> {
    use crate::analytics::abtest::{self, Arm};
    let loaded = load(path)?;
    let data = &loaded.data;
    let code =
        |id: &str| data.product_named(id).ok_or_else(|| CliError::Failed(format!("no product '{id}' in the workspace's pricing data")));
    let codes = |ids: &[String]| ids.iter().map(|id| code(id)).collect::<Result<Vec<u32>, CliError>>();
    let (products_a, products_b) = match product {
        Some(p) => {
            if a.is_none() || b.is_none() {
                return Err(CliError::Failed("a test of one product needs both periods: --a FROM..TO --b FROM..TO".into()));
            }
            let p = code(&p)?;
            (vec![p], vec![p])
        }
        None if !groups.0.is_empty() => (codes(&groups.0)?, codes(&groups.1)?),
        None => return Err(CliError::Failed("say what to compare: --product P with --a and --b, or --group-a and --group-b".into())),
    };
    let span = || -> Result<(chrono::NaiveDate, chrono::NaiveDate), CliError> {
        let days = data.sales.iter().map(|s| s.day);
        let (first, last) = (days.clone().min(), days.max());
        let date = |d: i64| chrono::DateTime::from_timestamp(d * 86_400, 0).map(|t| t.date_naive());
        first
            .and_then(date)
            .zip(last.and_then(date))
            .ok_or_else(|| CliError::Failed("the workspace has no sales of catalogue products".into()))
    };
    let (days_a, days_b) = match (a, b) {
        (Some(a), Some(b)) => (a, b),
        (Some(d), None) | (None, Some(d)) => (d, d),
        (None, None) => (span()?, span()?),
    };
    let arm = |products: Vec<u32>, (from, to): (chrono::NaiveDate, chrono::NaiveDate)| Arm { products, from, to };
    let result = abtest::compare(data, &arm(products_a, days_a), &arm(products_b, days_b)).map_err(|e| CliError::Failed(e.to_string()))?;
    let mut stdout = output::stdout();
    let price = |p: Option<f64>| p.map_or("–".to_string(), |p| format!("{p:.2}"));
    writeln!(
        stdout,
        "A: {} days, price paid {}; B: {} days, price paid {}",
        result.days.0,
        price(result.prices.0),
        result.days.1,
        price(result.prices.1)
    )?;
    for m in &result.metrics {
        let ci = m.ci.map_or("–".to_string(), |(l, h)| format!("{l:.2} to {h:.2}"));
        let p = m.p_b_greater.map_or("–".to_string(), |p| format!("{:.1}%", p * 100.0));
        writeln!(stdout, "{:<18} A {:>12.2}  B {:>12.2}  B−A {:>10.2}  95% {ci:<22}  P(B>A) {p}", m.name, m.a, m.b, m.difference)?;
    }
    for w in &result.warnings {
        writeln!(stdout, "warning: {w}")?;
    }
    writeln!(stdout, "{}", result.verdict)?;
    if let Some(path) = out {
        let (header, rows) = abtest::table(&result);
        write_csv(path, &header, rows)?;
    }
    Ok(())
}

/// The workspace's pricing data and its saved signal thresholds and recommendation rules.
struct Loaded {
    data: PricingData,
    thresholds: PricingSettings,
    rules: RecommendSettings,
    /// The decision log, newest first.
    decisions: Vec<workspace::settings::PriceDecision>,
    /// Our prices' currency, when known.
    currency: Option<String>,
}

/// Reads everything the pricing commands need through one read-only connection.
fn load(path: &Path) -> Result<Loaded, CliError> {
    let path = path.to_path_buf();
    let job = Job::spawn("load prices", move |ctx| {
        let conn = workspace::open_read_only(&path)?;
        use workspace::settings::{load_pricing_setting, RECOMMEND_RULES, SIGNAL_THRESHOLDS};
        Ok(Loaded {
            data: workspace::copies::load_pricing(&conn, ctx)?,
            thresholds: load_pricing_setting(&conn, SIGNAL_THRESHOLDS)?,
            rules: load_pricing_setting(&conn, RECOMMEND_RULES)?,
            decisions: workspace::settings::load_decisions(&conn)?,
            currency: workspace::settings::our_currency(&conn)?,
        })
    });
    let loaded = wait_with_progress(job)?;
    let data = &loaded.data;
    if data.observations.is_empty() && data.our_prices.is_empty() && data.products.is_empty() {
        return Err(CliError::Failed(
            "this workspace has no pricing data: import a catalogue (product_id, name, category, brand, cost, price, stock), our prices (product_id, price, valid_from) or competitor prices (product_id, competitor, price, observed_at)".into(),
        ));
    }
    if data.other_currency > 0 {
        errln!("{} competitor observations in another currency than ours were left out", data.other_currency);
    }
    if data.other_tax_basis > 0 {
        errln!("{} competitor observations with tax included where ours exclude it (or the reverse) were left out", data.other_tax_basis);
    }
    for (currency, rows) in &data.unknown_basis {
        errln!(
            "{rows} competitor observations in {currency} were left out: our prices' currency is not stated (`shoplens pricing basis W --currency CODE`)"
        );
    }
    if data.conflicting > 0 {
        errln!(
            "{} competitor observations that disagree (one competitor, product and time, different prices) were left out",
            data.conflicting
        );
    }
    Ok(loaded)
}

/// `name` is a competitor in the data, or an error that lists them.
fn known_competitor(data: &PricingData, name: &str) -> Result<(), CliError> {
    if data.competitors.iter().any(|c| c == name) {
        Ok(())
    } else {
        Err(CliError::Failed(format!("no competitor '{name}' (competitors: {})", data.competitors.join(", "))))
    }
}

/// One proposal per catalogue product under `rules` (the same computation the panel runs).
fn proposals(loaded: &Loaded, rules: &RecommendSettings) -> Vec<recommendations::Recommendation> {
    use crate::analytics::elasticity;
    let monitor = pricing::monitor(&loaded.data, &loaded.thresholds, None);
    let estimates = elasticity::estimate(&elasticity::product_sales(&loaded.data));
    recommendations::recommend(&loaded.data, &monitor, &estimates, rules)
}

fn monitor(path: &Path, as_of: Option<i64>, vs: Option<String>, out: Option<&Path>) -> Result<(), CliError> {
    let Loaded { data, thresholds: mut settings, .. } = load(path)?;
    if let Some(name) = vs {
        known_competitor(&data, &name)?;
        settings.reference_competitor = Some(name);
    }
    let monitor = pricing::monitor(&data, &settings, as_of);
    let mut stdout = output::stdout();
    let compared: Vec<f64> = monitor.positions.iter().filter_map(|p| p.index).collect();
    writeln!(
        stdout,
        "as of {}: {} products, {} competitors",
        pricing::format_time(monitor.as_of),
        data.products.len(),
        data.competitors.len()
    )?;
    if !compared.is_empty() {
        let cheapest = monitor.positions.iter().filter(|p| p.rank == Some(1)).count();
        writeln!(
            stdout,
            "price index {:.1} over {} products compared; cheapest on {}",
            compared.iter().sum::<f64>() / compared.len() as f64,
            compared.len(),
            cheapest
        )?;
    }
    for group in &monitor.by_category {
        writeln!(
            stdout,
            "  {:<20} index {:>6.1}  cheapest {:>5.1}%  dearest {:>5.1}%  ({} products)",
            if group.group.is_empty() { "(no category)" } else { &group.group },
            group.mean_index,
            group.cheapest_share * 100.0,
            group.dearest_share * 100.0,
            group.compared
        )?;
    }
    for &(competitor, missing) in &monitor.uncovered {
        if missing > 0 {
            writeln!(
                stdout,
                "  {} has no observation in the last {} days for {missing} products",
                data.competitors[competitor as usize], settings.stale_days
            )?;
        }
    }
    drop(stdout);
    if let Some(file) = out {
        let (header, rows) = pricing::monitor_table(&data, &monitor);
        let n = write_csv(file, &header, rows)?;
        errln!("wrote {n} products to {}", file.display());
    }
    Ok(())
}

fn signals(path: &Path, as_of: Option<i64>, out: Option<&Path>) -> Result<(), CliError> {
    let Loaded { data, thresholds: settings, .. } = load(path)?;
    let signals = pricing::signals(&data, &settings, as_of);
    let (header, rows) = pricing::signals_table(&data, &signals);
    emit(out, "signals", (header, rows))
}

fn elasticity(path: &Path, out: Option<&Path>) -> Result<(), CliError> {
    use crate::analytics::elasticity::{self, Verdict};
    let Loaded { data, .. } = load(path)?;
    let estimates = elasticity::estimate(&elasticity::product_sales(&data));
    let count = |verdict| estimates.iter().filter(|e| e.verdict == verdict).count();
    let mut stdout = output::stdout();
    writeln!(
        stdout,
        "{} products with sales: {} identified, {} pooled toward their category, {} not identified",
        estimates.len(),
        count(Verdict::Identified),
        count(Verdict::Pooled),
        count(Verdict::NotIdentified)
    )?;
    let tiers = estimates.iter().filter(|e| e.volume_tiers).count();
    if tiers > 0 {
        writeln!(stdout, "{tiers} products sell at different unit prices on one day (volume tiers): their daily price is a mean")?;
    }
    drop(stdout);
    let ids: Vec<String> = data.products.iter().map(|p| p.id.clone()).collect();
    let (header, rows) = elasticity::elasticity_table(&ids, &estimates);
    emit(out, "products", (header, rows))
}

/// `within:0.05`, `beat:0.02` or `match`.
fn parse_position(text: &str) -> Result<PositionRule, String> {
    let (kind, value) = text.split_once(':').unwrap_or((text, ""));
    let fraction =
        || value.parse::<f64>().ok().filter(|v| (0.0..1.0).contains(v)).ok_or_else(|| format!("'{value}' is not a fraction like 0.05"));
    match kind {
        "within" => Ok(PositionRule::Within(fraction()?)),
        "beat" => Ok(PositionRule::Beat(fraction()?)),
        "match" => Ok(PositionRule::Match),
        "off" => Ok(PositionRule::Off),
        other => Err(format!("'{other}' is not a position rule (within:X, beat:X, match)")),
    }
}

fn recommend(path: &Path, settings: &RecommendSettings, out: Option<&Path>) -> Result<(), CliError> {
    if let Some(problem) = settings.problem() {
        return Err(CliError::Failed(problem));
    }
    let loaded = load(path)?;
    if let Anchor::Competitor(name) = &settings.anchor {
        known_competitor(&loaded.data, name)?;
    }
    let proposals = proposals(&loaded, settings);
    let data = &loaded.data;
    let priced = proposals.iter().filter(|r| r.recommended.is_some()).count();
    let changed = proposals.iter().filter(|r| r.recommended.zip(r.current).is_some_and(|(a, b)| (a - b).abs() > 0.005)).count();
    writeln!(
        output::stdout(),
        "{} products: {priced} priced ({changed} changes), {} without a cost or price; band cost × {:.2}–{:.2}",
        proposals.len(),
        proposals.len() - priced,
        1.0 + settings.min_markup,
        1.0 + settings.max_markup
    )?;
    let (header, rows) = recommendations::recommendation_table(data, &proposals);
    emit(out, "products", (header, rows))
}

fn impact(path: &Path, window_days: usize, out: Option<&Path>) -> Result<(), CliError> {
    use crate::analytics::impact;
    let loaded = load(path)?;
    let decided = workspace::settings::decided_changes(&loaded.decisions, &loaded.data);
    let assessments = impact::assess(&loaded.data, window_days, &decided, &crate::jobs::JobContext::detached())?;
    let money = |v: f64| crate::text::money_in(v, loaded.currency.as_deref());
    for sentence in impact::portfolio(&assessments).sentences(window_days, money) {
        errln!("{sentence}");
    }
    emit(out, "price changes", impact::impact_table(&loaded.data, &assessments))
}

fn decide(path: &Path, accept: &[String], reject: &[String], set: &[String], by: Option<String>) -> Result<(), CliError> {
    use crate::analytics::impact::Predicted;
    use crate::workspace::settings::{self, PriceDecision};
    if accept.is_empty() && reject.is_empty() && set.is_empty() {
        return Err(CliError::Failed("nothing to decide: name products with --accept, --reject or --set PRODUCT=PRICE".into()));
    }
    let edited: Vec<(String, f64)> = set
        .iter()
        .map(|s| {
            let (id, price) = s.split_once('=').ok_or_else(|| CliError::Failed(format!("'{s}' is not PRODUCT=PRICE")))?;
            let price: f64 = price
                .trim()
                .parse()
                .ok()
                .filter(|p: &f64| p.is_finite() && *p > 0.0)
                .ok_or_else(|| CliError::Failed(format!("'{price}' is not a price (a positive, finite number)")))?;
            Ok((id.trim().to_string(), price))
        })
        .collect::<Result<_, CliError>>()?;
    let loaded = load(path)?;
    let proposals = proposals(&loaded, &loaded.rules);
    let data = &loaded.data;
    let find = |id: &str| {
        proposals
            .iter()
            .find(|r| data.products[r.product as usize].id == id)
            .ok_or_else(|| CliError::Failed(format!("no product '{id}' in the catalogue")))
    };
    let decided_by = by.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "shoplens".into());
    // What the price set was expected to do, recorded for `shoplens pricing impact` to check.
    let predicted = |r: &recommendations::Recommendation, price: f64| r.expected_at(price).map(|e| Predicted::central(&e));
    let decided_at = chrono::Utc::now().naive_utc().format("%Y-%m-%d %H:%M:%S").to_string();
    let mut decisions = Vec::new();
    for id in accept {
        let r = find(id)?;
        let Some(price) = r.recommended else {
            return Err(CliError::Failed(format!("{id} has no recommendation to accept ({})", r.reasons.join("; "))));
        };
        decisions.push(PriceDecision {
            product_id: id.clone(),
            old_price: r.current,
            new_price: Some(price),
            accepted: true,
            reasons: r.reasons.join("; "),
            decided_by: decided_by.clone(),
            decided_at: decided_at.clone(),
            predicted: predicted(r, price),
        });
    }
    for (id, price) in &edited {
        let r = find(id)?;
        decisions.push(PriceDecision {
            product_id: id.clone(),
            old_price: r.current,
            new_price: Some(*price),
            accepted: true,
            reasons: format!("edited from the proposal {}", r.recommended.map_or_else(|| "(none)".into(), |p| format!("{p:.2}"))),
            decided_by: decided_by.clone(),
            decided_at: decided_at.clone(),
            predicted: predicted(r, *price),
        });
    }
    for id in reject {
        let r = find(id)?;
        decisions.push(PriceDecision {
            product_id: id.clone(),
            old_price: r.current,
            new_price: r.recommended,
            accepted: false,
            reasons: r.reasons.join("; "),
            decided_by: decided_by.clone(),
            decided_at: decided_at.clone(),
            predicted: None,
        });
    }
    let mut ws = workspace::Workspace::open(path)?;
    settings::record_decisions(ws.conn_mut(), &decisions)?;
    let accepted = decisions.iter().filter(|d| d.accepted).count();
    outln!(
        "{accepted} prices accepted (our prices from {decided_at} UTC), {} rejected; logged as decided by {decided_by}",
        decisions.len() - accepted
    )?;
    Ok(())
}

fn basis(path: &Path, currency: Option<String>, include_tax: bool, exclude_tax: bool) -> Result<(), CliError> {
    use workspace::settings::{load_pricing_setting, save_pricing_setting, OUR_CURRENCY, OUR_PRICES_INCLUDE_TAX};
    if currency.is_some() || include_tax || exclude_tax {
        let ws = workspace::Workspace::open(path)?;
        if let Some(currency) = &currency {
            save_pricing_setting(ws.conn(), OUR_CURRENCY, &Some(currency.trim().to_uppercase()))?;
        }
        if include_tax || exclude_tax {
            save_pricing_setting(ws.conn(), OUR_PRICES_INCLUDE_TAX, &Some(include_tax))?;
        }
    }
    let conn = workspace::open_read_only(path)?;
    let currency = workspace::settings::our_currency(&conn)?;
    let tax: Option<bool> = load_pricing_setting(&conn, OUR_PRICES_INCLUDE_TAX)?;
    outln!(
        "our prices: {}, {}",
        currency.map_or_else(|| "currency unknown".to_string(), |c| format!("in {c}")),
        match tax {
            Some(true) => "including tax",
            Some(false) => "excluding tax",
            None => "tax not stated",
        }
    )?;
    Ok(())
}

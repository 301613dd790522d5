//! The demo workspace the app opens on first start: one shop. The real UCI Online Retail II
//! 2009-2010 orders (CC BY 4.0, Daqing Chen, UCI ML Repository); web events generated around
//! those orders (`generate::write_shop_events`: the same customers, products, times and prices);
//! pricing data for the shop's best sellers; a seeded resale marketplace (a different business,
//! over 2023-2024: the gift shop has no resale side); and the "Year in review" story.
//!
//! The UCI file is compiled into the binary so the demo works wherever shoplens is copied.

use std::path::{Path, PathBuf};

use crate::import::{self, ImportError, ImportOptions};
use crate::jobs::JobContext;
use crate::present::panels;
use crate::workspace::{self, Workspace};

static UCI_2009_2010: &[u8] = include_bytes!("../testdata/uci_online_retail_ii_2009-2010.parquet");

/// Share of the UCI customers who shop on the demo's web site (their orders get events).
pub const DEMO_WEB_SHARE: f64 = 0.2;

/// The story a first start can present at once.
pub const DEMO_STORY: &str = "Year in review";
/// The demo marketplace's story (a different business from the shop).
pub const MARKETPLACE_STORY: &str = "Marketplace review";

/// Users of the demo's synthetic resale marketplace (Sellers and Listings panels).
pub const DEMO_MARKET_USERS: usize = 8_000;

/// Best sellers given a catalogue, price history and competitor feeds in the demo.
pub const DEMO_PRICED_PRODUCTS: usize = 300;

/// Price changes the demo logs as decisions taken in shoplens (with their predictions).
pub const DEMO_DECISIONS: usize = 6;

/// Where the demo workspace lives.
/// The currency of the demo shop's orders.
pub const DEMO_CURRENCY: &str = "GBP";

pub fn demo_path() -> PathBuf {
    workspace::default_dir().join(format!("demo.{}", workspace::EXTENSION))
}

/// (Re)builds the demo workspace at `path`, replacing any previous one.
pub fn build(path: &Path, ctx: &JobContext) -> Result<(), ImportError> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::remove_file(&file).map_err(|source| ImportError::Io { path: file.clone(), source })?;
        }
    }
    let scratch = tempfile_dir(path)?;
    let orders = scratch.join("online_retail_II_2009-2010.parquet");
    std::fs::write(&orders, UCI_2009_2010).map_err(|source| ImportError::Io { path: orders.clone(), source })?;
    let mut ws = Workspace::open(path)?;
    // The UCI retailer is British and its prices are in pounds sterling (the dataset's
    // documentation); the export itself does not say, so the import states it.
    let in_pounds = ImportOptions {
        price_feed: import::PriceFeed { currency: Some(DEMO_CURRENCY.into()), prices_include_tax: None },
        ..ImportOptions::default()
    };
    let result = import::import_file(&mut ws, &orders, &in_pounds, ctx)
        .and_then(|_| import_shop_events(&mut ws, &scratch, ctx))
        .and_then(|_| import_pricing(&mut ws, &scratch, ctx))
        .and_then(|_| add_price_decisions(&mut ws, ctx))
        .and_then(|_| import_marketplace(&mut ws, &scratch, ctx))
        .and_then(|_| Ok(add_story(&mut ws)?));
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Web events for the shop's own orders, imported like any REES46-layout file.
fn import_shop_events(ws: &mut Workspace, scratch: &Path, ctx: &JobContext) -> Result<(), ImportError> {
    let orders = workspace::copies::shop_orders(ws.conn())?;
    let events = scratch.join("shop_events.csv");
    let io = |source| ImportError::Io { path: events.clone(), source };
    let file = std::fs::File::create(&events).map_err(io)?;
    crate::generate::write_shop_events(std::io::BufWriter::new(file), &orders, DEMO_WEB_SHARE, 2010).map_err(io)?;
    import::import_file(ws, &events, &ImportOptions::default(), ctx).map(|_| ())
}

/// The first finding of the demo's last full month, for the story's "What changed" view; null
/// (the slide then shows the first finding of the day) if it cannot be computed.
fn top_finding(ws: &Workspace) -> serde_json::Value {
    use crate::analytics::findings::{self, FindingKey};
    let ctx = JobContext::detached();
    let Ok(frame) = workspace::copies::load_order_lines(ws.conn(), &ctx) else { return serde_json::Value::Null };
    let filters = findings::period_filters(&crate::analytics::Filters::default(), frame.date_span());
    let events = workspace::copies::load_events(ws.conn(), &ctx).ok().map(std::sync::Arc::new);
    let Ok(inputs) = workspace::copies::load_findings_inputs(ws.conn(), events, &ctx) else { return serde_json::Value::Null };
    match findings::compute_with(&frame, inputs.sources(), &filters, &inputs.settings(), &ctx) {
        Ok(result) => result.findings.first().map(FindingKey::of).map_or(serde_json::Value::Null, |k| json_of(&k)),
        Err(_) => serde_json::Value::Null,
    }
}

fn json_of(key: &crate::analytics::findings::FindingKey) -> serde_json::Value {
    serde_json::to_value(key).unwrap_or_default()
}

/// The demo story: a year of the shop across the panels, ready to present.
fn add_story(ws: &mut Workspace) -> rusqlite::Result<()> {
    use crate::analytics::period::DateRange;
    use crate::workspace::views::{save_view, View};
    use serde_json::json;
    let view = |title: &str, caption: &str, panel: &str, state: serde_json::Value, dates: DateRange| View {
        title: title.into(),
        caption: caption.into(),
        panel: panel.into(),
        state,
        dates,
        country: None,
    };
    let views = [
        view(
            "The year at a glance",
            "Revenue builds through the autumn to the November peak. December is pale: the data ends on the 9th, so it is not a fall.",
            panels::OVERVIEW.id,
            json!({ "log_scale": true, "services_in_ranking": false, "slide": { "chart": 0 } }),
            DateRange::AllData,
        ),
        view(
            "November, our biggest month",
            "The last full month against the month before: Christmas stock sells from October.",
            panels::OVERVIEW.id,
            json!({ "log_scale": true, "services_in_ranking": false, "slide": { "chart": 0 } }),
            DateRange::LastFullMonth,
        ),
        view(
            "What changed in November",
            "The finding that matters most this month, and the others beside it: what moved against October, why, and how sure.",
            panels::FINDINGS.id,
            json!({ "finding": top_finding(ws), "slide": { "chart": 0 } }),
            DateRange::LastFullMonth,
        ),
        view(
            "The last quarter",
            "September to November, against the three months before.",
            panels::OVERVIEW.id,
            json!({ "log_scale": true, "services_in_ranking": false, "slide": { "table": 0 } }),
            DateRange::LastThreeMonths,
        ),
        view(
            "Who our customers are",
            "RFM segments over the whole year: a small group of champions brings a large share of revenue.",
            panels::SEGMENTS.id,
            json!({ "tab": panels::tab::RFM_SEGMENTS, "slide": { "chart": 0 } }),
            DateRange::AllData,
        ),
        view(
            "Do they come back?",
            "Share of each month's new customers who order again in the months after their first order.",
            panels::SEGMENTS.id,
            json!({ "tab": panels::tab::COHORTS, "cohort_revenue": false, "slide": { "table": 0 } }),
            DateRange::AllData,
        ),
        view(
            "What a customer is worth",
            "BG/NBD and Gamma-Gamma over the year. The holdout check compares predicted and actual repeat purchases.",
            panels::CUSTOMER_VALUE.id,
            json!({ "slide": { "table": 0 } }),
            DateRange::AllData,
        ),
        view(
            "From a visit to an order",
            "Web sessions that viewed, carted and bought, over the year.",
            panels::FUNNEL.id,
            json!({ "tab": panels::tab::FUNNEL, "slide": { "chart": 0 } }),
            DateRange::AllData,
        ),
        view(
            "Are our prices right?",
            "Our best sellers against three competitors: the price index by category (100 = the market's mean).",
            panels::PRICING.id,
            json!({ "tab": panels::tab::MONITOR, "slide": { "table": 0 } }),
            DateRange::AllData,
        ),
        view(
            "Did our price changes pay?",
            "Price changes decided this year, each against comparable products whose price stayed put, beside what was predicted.",
            panels::PRICING.id,
            json!({ "tab": panels::tab::DECISIONS, "window_days": 28, "slide": { "chart": 0 } }),
            DateRange::AllData,
        ),
        View {
            country: Some("Germany".into()),
            ..view(
                "Germany, our widest market abroad",
                "More customers than any other country outside the UK, and what they buy.",
                panels::OVERVIEW.id,
                json!({ "log_scale": true, "services_in_ranking": false, "slide": { "table": 0 } }),
                DateRange::AllData,
            )
        },
        view(
            "What a new customer brings",
            "Revenue per customer of each month's new customers, in the months after their first order.",
            panels::SEGMENTS.id,
            json!({ "tab": panels::tab::COHORTS, "cohort_revenue": true, "slide": { "table": 0 } }),
            DateRange::AllData,
        ),
    ];
    for v in &views {
        save_view(ws.conn_mut(), DEMO_STORY, v)?;
    }
    // The marketplace is another business: its views make a story of their own.
    let marketplace = [
        view(
            "Marketplace: where supply is short",
            "The resale marketplace (2023-2024): categories with the most demand per listing, and their trend.",
            panels::SELLERS.id,
            json!({ "tab": panels::tab::SHORT_CATEGORIES, "slide": { "chart": 0 } }),
            DateRange::AllData,
        ),
        view(
            "Marketplace: how fast things sell",
            "Days from listing to sale, and sales by category.",
            panels::LISTINGS.id,
            json!({ "by": "category", "min_listings": 1, "slide": { "chart": 0 } }),
            DateRange::AllData,
        ),
    ];
    for v in &marketplace {
        save_view(ws.conn_mut(), MARKETPLACE_STORY, v)?;
    }
    Ok(())
}

/// Pricing data for the shop's own best sellers, built from their real prices (see
/// `generate::write_demo_pricing`), imported like any catalogue and feeds.
fn import_pricing(ws: &mut Workspace, scratch: &Path, ctx: &JobContext) -> Result<(), ImportError> {
    let sellers = workspace::copies::best_sellers(ws.conn(), DEMO_PRICED_PRODUCTS)?;
    crate::generate::write_demo_pricing(scratch, &sellers, 2019)
        .map_err(|source| ImportError::Io { path: scratch.to_path_buf(), source })?;
    for file in ["catalogue.csv", "our_prices.csv", "competitor_prices.csv"] {
        import::import_file(ws, &scratch.join(file), &ImportOptions::default(), ctx)?;
    }
    Ok(())
}

/// Price decisions taken in the demo's year: a few of the best sellers' real price changes,
/// logged as decided in shoplens with what the recommendation expected of them then (its
/// elasticity and baseline from the days before, never after), so the Decisions tab holds
/// predictions to check against what the real sales did.
fn add_price_decisions(ws: &mut Workspace, ctx: &JobContext) -> Result<(), ImportError> {
    use crate::analytics::{elasticity, impact, pricing, recommend};
    let data = workspace::copies::load_pricing(ws.conn(), ctx)?;
    let changes = impact::price_changes(&data);
    let mut decisions = Vec::new();
    for change in &changes {
        // Measurable, one per product, at most DEMO_DECISIONS, spread over the year.
        if decisions.len() == DEMO_DECISIONS
            || decisions.iter().any(|d: &workspace::settings::PriceDecision| d.product_id == data.products[change.product as usize].id)
            || impact::realised(&data, change, 28, &changes).is_err()
            || change.day % 3 != 0
        {
            continue;
        }
        let known = data.before(change.day);
        let monitor = pricing::monitor(&known, &pricing::PricingSettings::default(), None);
        let estimates = elasticity::estimate(&elasticity::product_sales(&known));
        let proposals = recommend::recommend(&known, &monitor, &estimates, &recommend::RecommendSettings::default());
        let Some(proposal) = proposals.iter().find(|r| r.product == change.product) else { continue };
        let Some(expected) = proposal.expected_at(change.new_price) else { continue };
        let product = &data.products[change.product as usize];
        decisions.push(workspace::settings::PriceDecision {
            product_id: product.id.clone(),
            old_price: Some(change.old_price),
            new_price: Some(change.new_price),
            accepted: true,
            reasons: format!(
                "set by the buyer (the recommendation then was {})",
                proposal.recommended.map_or("none".into(), |p| format!("{p:.2}"))
            ),
            decided_by: "demo buyer".into(),
            decided_at: format!("{} 00:00:00", crate::analytics::customers::date_of_day(change.day)),
            predicted: Some(impact::Predicted::central(&expected)),
        });
    }
    // Oldest first, as they were taken.
    decisions.reverse();
    workspace::settings::record_decisions(ws.conn_mut(), &decisions)?;
    Ok(())
}

fn tempfile_dir(near: &Path) -> Result<PathBuf, ImportError> {
    let dir = near.parent().unwrap_or(Path::new(".")).join(format!(".shoplens-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| ImportError::Io { path: dir.clone(), source })?;
    Ok(dir)
}

/// A seeded resale marketplace (`generate::write_marketplace`) for the Sellers and Listings
/// panels: the public marketplace datasets are non-commercial, so the demo ships its own.
fn import_marketplace(ws: &mut Workspace, scratch: &Path, ctx: &JobContext) -> Result<(), ImportError> {
    crate::generate::write_marketplace(scratch, DEMO_MARKET_USERS, crate::generate::MARKET_INTERACTIONS_PER_USER, 2019)
        .map_err(|source| ImportError::Io { path: scratch.to_path_buf(), source })?;
    for file in ["users.csv", "collection_items.csv", "listings.csv", "marketplace_orders.csv", "interactions.csv"] {
        import::import_file(ws, &scratch.join(file), &ImportOptions::default(), ctx)?;
    }
    Ok(())
}

//! Price recommendations, one per catalogue product: the profit-maximising price under the
//! estimated elasticity, then business rules in a visible order, all inside the markup band.
//!
//! The order, and what each step does:
//! 1. **optimum**: `cost · e / (1 + e)` when the elasticity is finite and below −1 (demand falls
//!    faster than price rises); otherwise there is no finite optimum and the steps start from
//!    the current price;
//! 2. **position**: within / beat by x% / match the cheapest, the market average or a named
//!    competitor (as the monitor sees them);
//! 3. **max change**: at most x% away from the current price per step;
//! 4. **ending**: the price ending in .99 at or below it (so an ending never undoes "beat by
//!    x%"), or the one above when that leaves the band (skipped, and said, when neither fits);
//! 5. the **markup band**, `cost · (1 + min)` to `cost · (1 + max)`, is a hard limit every step
//!    works inside: it is applied after each of them, so no recommendation ever leaves it.
//!
//! Each step that moved the price says so; the last one that did is the rule that bound.

use std::collections::HashMap;

use super::elasticity::{Estimate, Verdict};
use super::pricing::{Monitor, PricingData};

/// Which market price the position rule aims at.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Anchor {
    Cheapest,
    Average,
    Competitor(String),
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum PositionRule {
    /// No position rule.
    Off,
    /// Within ± this fraction of the anchor.
    Within(f64),
    /// At least this fraction below the anchor.
    Beat(f64),
    /// Exactly the anchor.
    Match,
}

/// The rules, editable in the panel and on the command line.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RecommendSettings {
    /// The markup band: price between cost × (1 + min) and cost × (1 + max). The open-source
    /// price-intelligence prototypes keep prices between cost × 1.05 and cost × 1.30.
    pub min_markup: f64,
    pub max_markup: f64,
    pub position: PositionRule,
    pub anchor: Anchor,
    /// Most a price may move per step, as a fraction of the current price (None: no limit).
    pub max_change: Option<f64>,
    /// End prices in .99.
    pub ending_99: bool,
}

impl RecommendSettings {
    /// Why these settings cannot make a band of prices (`None`: they can). The app and the CLI
    /// refuse such settings rather than propose prices from them.
    pub fn problem(&self) -> Option<String> {
        let finite = [self.min_markup, self.max_markup].iter().chain(&self.max_change).all(|x| x.is_finite());
        let position = match self.position {
            PositionRule::Within(x) | PositionRule::Beat(x) => x.is_finite() && (0.0..=1.0).contains(&x),
            _ => true,
        };
        if !finite || !position {
            Some("every setting must be a finite number (a position margin from 0 to 100%)".into())
        } else if self.min_markup < -1.0 || self.min_markup > self.max_markup {
            Some(format!("the markup band is empty: minimum {:.0}% above maximum {:.0}%", self.min_markup * 100.0, self.max_markup * 100.0))
        } else if self.max_change.is_some_and(|c| !(0.0..=1.0).contains(&c)) {
            Some("the largest change per step is a share from 0 to 100% of the current price".into())
        } else {
            None
        }
    }
}

impl Default for RecommendSettings {
    fn default() -> Self {
        Self {
            min_markup: 0.05,
            max_markup: 0.30,
            position: PositionRule::Off,
            anchor: Anchor::Cheapest,
            max_change: Some(0.10),
            ending_99: false,
        }
    }
}

/// One product's proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub product: u32,
    pub cost: Option<f64>,
    pub current: Option<f64>,
    /// The unconstrained profit-maximising price, when there is a finite one.
    pub optimum: Option<f64>,
    /// `None` when nothing can be recommended (no cost, or no price to start from).
    pub recommended: Option<f64>,
    /// What each step did, in order.
    pub reasons: Vec<String>,
    /// The rule that set the final price ("optimum", "position", "max change", "ending", "band"
    /// or "current price" when nothing moved it).
    pub bound_by: &'static str,
    /// Expected change against the current price, per day, with the elasticity's interval:
    /// (low, central, high).
    pub units_change: Option<(f64, f64, f64)>,
    pub revenue_change: Option<(f64, f64, f64)>,
    pub profit_change: Option<(f64, f64, f64)>,
    /// What the expected changes start from: the product's units a day over the last 28 days,
    /// and its elasticity with the interval (both when known).
    pub baseline_units: Option<f64>,
    pub elasticity: Option<(f64, (f64, f64))>,
    /// Gross margin of the recommended price: (price − cost) / price.
    pub margin: Option<f64>,
}

fn money(v: f64) -> String {
    format!("{v:.2}")
}

/// Recommends a price for every catalogue product.
pub fn recommend(data: &PricingData, monitor: &Monitor, estimates: &[Estimate], settings: &RecommendSettings) -> Vec<Recommendation> {
    let estimate_of = |product: u32| estimates.iter().find(|e| e.product == product);
    let competitor = match &settings.anchor {
        Anchor::Competitor(name) => data.competitors.iter().position(|c| c == name).map(|c| c as u32),
        _ => None,
    };
    let last_sale = data.sales.iter().map(|s| s.day).max();
    monitor
        .positions
        .iter()
        .map(|position| {
            let product = position.product;
            let cost = data.products[product as usize].cost.filter(|c| c.is_finite() && *c > 0.0);
            // The price we sell at now: the latest in our history, which includes decisions
            // taken after the market data's last day (the monitor judges position as of then).
            // Only a positive price is one (the importer refuses others; a stored one is data).
            let current = data.our_history(product).last().map(|p| p.price).or(position.ours).filter(|p| p.is_finite() && *p > 0.0);
            let mut r = Recommendation {
                product,
                cost,
                current,
                optimum: None,
                recommended: None,
                reasons: Vec::new(),
                bound_by: "current price",
                units_change: None,
                revenue_change: None,
                profit_change: None,
                baseline_units: baseline_units(data, product, last_sale),
                elasticity: None,
                margin: None,
            };
            let Some(cost) = cost else {
                r.reasons.push("no cost in the catalogue: no recommendation".into());
                return r;
            };
            let (low, high) = (cost * (1.0 + settings.min_markup), cost * (1.0 + settings.max_markup));
            let estimate = estimate_of(product).filter(|e| e.verdict != Verdict::NotIdentified);
            let elasticity = estimate.and_then(|e| e.elasticity);
            r.elasticity = estimate.and_then(|e| Some((e.elasticity?, e.interval.unwrap_or_default())));
            r.optimum = elasticity.filter(|e| *e < -1.0).map(|e| cost * e / (1.0 + e));
            let price = match (r.optimum, current) {
                (Some(optimum), _) => {
                    r.reasons.push(format!("optimum {} at elasticity {:.2}", money(optimum), elasticity.unwrap_or_default()));
                    r.bound_by = "optimum";
                    optimum
                }
                (None, Some(current)) => {
                    let why = match elasticity {
                        Some(e) => format!("no finite optimum (elasticity {e:.2} ≥ −1): starting from the current price"),
                        None => "elasticity not identified: starting from the current price".into(),
                    };
                    r.reasons.push(why);
                    current
                }
                (None, None) => {
                    r.reasons.push("no price and no elasticity: no recommendation".into());
                    return r;
                }
            };
            let mut steps = Steps { price, low, high, settings };
            // Inside the band from the start.
            steps.apply(&mut r, "band", price, String::new());
            // Position.
            let anchor = match &settings.anchor {
                Anchor::Cheapest => position.cheapest.map(|(_, p)| p),
                Anchor::Average => position.market_mean,
                Anchor::Competitor(_) => {
                    competitor.and_then(|c| position.competitors.iter().find(|p| p.competitor == c && p.in_market).map(|p| p.price))
                }
            };
            let anchor_name = match &settings.anchor {
                Anchor::Cheapest => "the cheapest competitor".to_string(),
                Anchor::Average => "the market average".to_string(),
                Anchor::Competitor(name) => name.clone(),
            };
            if let Some(anchor) = anchor.filter(|a| a.is_finite() && *a > 0.0) {
                match settings.position {
                    PositionRule::Off => {}
                    PositionRule::Within(x) => {
                        let target = within(steps.price, anchor * (1.0 - x), anchor * (1.0 + x));
                        steps.apply(
                            &mut r,
                            "position",
                            target,
                            format!("within {:.0}% of {anchor_name} ({}): {}", x * 100.0, money(anchor), money(target)),
                        );
                    }
                    PositionRule::Beat(x) => {
                        let target = steps.price.min(anchor * (1.0 - x));
                        steps.apply(
                            &mut r,
                            "position",
                            target,
                            format!("beat {anchor_name} ({}) by {:.0}%: {}", money(anchor), x * 100.0, money(target)),
                        );
                    }
                    PositionRule::Match => steps.apply(&mut r, "position", anchor, format!("match {anchor_name}: {}", money(anchor))),
                }
            } else if settings.position != PositionRule::Off {
                r.reasons.push(format!("no market price from {anchor_name}: position rule skipped"));
            }
            // Max change per step.
            if let (Some(limit), Some(current)) = (settings.max_change, current) {
                let target = within(steps.price, current * (1.0 - limit), current * (1.0 + limit));
                steps.apply(
                    &mut r,
                    "max change",
                    target,
                    format!("at most {:.0}% from {} per step: {}", limit * 100.0, money(current), money(target)),
                );
            }
            // Ending: the .99 at or below the price (so an ending never undoes "beat by x%"),
            // or the one above when the one below leaves the band.
            if settings.ending_99 {
                let price = steps.price;
                let below = if (price.fract() - 0.99).abs() < 1e-9 { price } else { price.floor() - 0.01 };
                let above = price.floor() + 0.99;
                let inside = |p: &f64| *p >= low - 1e-9 && *p <= high + 1e-9 && *p > 0.0;
                match [below, above].into_iter().find(inside) {
                    Some(ended) => steps.apply(&mut r, "ending", ended, format!("ending .99: {}", money(ended))),
                    None => r.reasons.push("no price ending in .99 inside the band: ending skipped".into()),
                }
            }
            let price = steps.price;
            r.recommended = Some(price);
            r.margin = Some((price - cost) / price);
            if let Some(expected) = r.expected_at(price) {
                (r.units_change, r.revenue_change, r.profit_change) = (Some(expected.units), Some(expected.revenue), Some(expected.profit));
            }
            r
        })
        .collect()
}

/// The expected change a day from selling at a price instead of the current one: (low,
/// central, high) over the elasticity's interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpectedChange {
    pub units: (f64, f64, f64),
    pub revenue: (f64, f64, f64),
    pub profit: (f64, f64, f64),
}

impl Recommendation {
    /// What selling at `price` instead of the current price is expected to change a day: the
    /// baseline's units moved by (price / current)^elasticity. `None` without a current price,
    /// a cost, a baseline or an elasticity. A decision records this for the price it set (the
    /// recommended one or an edited one), to be held against what happened (`impact`).
    pub fn expected_at(&self, price: f64) -> Option<ExpectedChange> {
        let (current, cost, baseline, (e, (e_low, e_high))) = (self.current?, self.cost?, self.baseline_units?, self.elasticity?);
        let ratio = price / current;
        let outcome = |e: f64| {
            let units = baseline * ratio.powf(e);
            (units - baseline, units * price - baseline * current, units * (price - cost) - baseline * (current - cost))
        };
        let (a, b, c) = (outcome(e_low), outcome(e), outcome(e_high));
        let span = |x: f64, y: f64, z: f64| (x.min(z).min(y), y, x.max(z).max(y));
        Some(ExpectedChange { units: span(a.0, b.0, c.0), revenue: span(a.1, b.1, c.1), profit: span(a.2, b.2, c.2) })
    }
}

fn band_reason(price: f64, high: f64, settings: &RecommendSettings) -> String {
    if (price - high).abs() < 1e-9 {
        format!("markup band: capped at cost × {:.2} = {}", 1.0 + settings.max_markup, money(high))
    } else {
        format!("markup band: raised to cost × {:.2} = {}", 1.0 + settings.min_markup, money(price))
    }
}

/// `x` moved into `low..=high`; never panics (`f64::clamp` does when `low > high`, which a
/// negative anchor or price would make): the upper bound wins then.
fn within(x: f64, low: f64, high: f64) -> f64 {
    x.max(low).min(high)
}

/// The price as the steps move it, always inside the band.
struct Steps<'a> {
    price: f64,
    low: f64,
    high: f64,
    settings: &'a RecommendSettings,
}

impl Steps<'_> {
    /// Moves the price to `target` (clamped into the band); records why if it moved.
    fn apply(&mut self, r: &mut Recommendation, name: &'static str, target: f64, why: String) {
        let bounded = within(target, self.low, self.high);
        if (bounded - self.price).abs() <= 1e-9 {
            return;
        }
        if !why.is_empty() {
            r.reasons.push(why);
            r.bound_by = name;
        }
        if (bounded - target).abs() > 1e-9 {
            r.reasons.push(band_reason(bounded, self.high, self.settings));
            r.bound_by = "band";
        }
        self.price = bounded;
    }
}

/// Mean daily units over the last 28 days of data (zeros included); `None` for a product that
/// never sold, whose expected change cannot be judged.
fn baseline_units(data: &PricingData, product: u32, last: Option<i64>) -> Option<f64> {
    let last = last?;
    let sales = data.sales_of(product);
    if sales.is_empty() {
        return None;
    }
    Some(sales.iter().filter(|s| s.day > last - 28).map(|s| s.units).sum::<f64>() / 28.0)
}

/// Recommendations as exported (`shoplens pricing recommend`).
pub fn recommendation_table(data: &PricingData, recommendations: &[Recommendation]) -> super::Table {
    let header = ["product_id", "cost", "current_price", "optimum_price", "recommended_price", "reasons"].map(String::from).to_vec();
    let number = |v: Option<f64>| v.map_or_else(String::new, money);
    let rows = recommendations
        .iter()
        .map(|r| {
            vec![
                data.products[r.product as usize].id.clone(),
                number(r.cost),
                number(r.current),
                number(r.optimum),
                number(r.recommended),
                r.reasons.join("; "),
            ]
        })
        .collect();
    (header, rows)
}

/// The price list after the decisions in `decided` (product → new price): every catalogue
/// product with the price it will sell at, what it sold at before and the gross margin.
pub fn price_list_table(data: &PricingData, recommendations: &[Recommendation], decided: &HashMap<u32, f64>) -> super::Table {
    let header = ["product_id", "name", "cost", "old_price", "new_price", "gross_margin_pct", "changed"].map(String::from).to_vec();
    let number = |v: Option<f64>| v.map_or_else(String::new, money);
    let rows = recommendations
        .iter()
        .map(|r| {
            let product = &data.products[r.product as usize];
            let new = decided.get(&r.product).copied().or(r.current);
            let margin = new.zip(r.cost).filter(|(p, _)| *p > 0.0).map(|(p, c)| (p - c) / p * 100.0);
            let changed = new.zip(r.current).is_some_and(|(a, b)| (a - b).abs() >= 0.005);
            vec![
                product.id.clone(),
                product.name.clone(),
                number(r.cost),
                number(r.current),
                number(new),
                margin.map_or_else(String::new, |m| format!("{m:.1}")),
                if changed { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::elasticity::Estimate;
    use crate::analytics::pricing::{self, CatalogueProduct, PricingDataBuilder, PricingSettings};

    const T0: i64 = 1_700_000_000;

    fn case(cost: f64, ours: f64, competitors: &[f64], elasticity: Option<f64>) -> (PricingData, Vec<Estimate>) {
        let mut b = PricingDataBuilder::default();
        b.product(CatalogueProduct {
            id: "P".into(),
            name: String::new(),
            category: "c".into(),
            brand: String::new(),
            cost: Some(cost),
            price: Some(ours),
            stock: None,
        });
        for (i, &price) in competitors.iter().enumerate() {
            b.observation("P", &format!("C{i}"), T0, price, Some(true));
        }
        let estimate = Estimate {
            product: 0,
            verdict: if elasticity.is_some() { Verdict::Identified } else { Verdict::NotIdentified },
            elasticity,
            interval: elasticity.map(|e| (e - 0.2, e + 0.2)),
            own: None,
            spells: 4,
            days: 100,
            reason: String::new(),
            volume_tiers: false,
        };
        (b.finish(), vec![estimate])
    }

    fn run(data: &PricingData, estimates: &[Estimate], settings: &RecommendSettings) -> Recommendation {
        let monitor = pricing::monitor(data, &PricingSettings::default(), None);
        recommend(data, &monitor, estimates, settings).remove(0)
    }

    /// Hand-checked: cost 10, e = −3 → optimum 10 · 3/2 = 15, above the band's 10.50–13.00, so
    /// the band caps it at 13.00 and is the rule that bound.
    /// Hand-checked: cost 10, price 20; deciding 18 gives margin (18 − 10) / 18 = 44.4%.
    #[test]
    fn the_price_list_carries_the_decided_price_and_its_margin() {
        let (data, estimates) = case(10.0, 20.0, &[], None);
        let monitor = pricing::monitor(&data, &PricingSettings::default(), None);
        let proposals = recommend(&data, &monitor, &estimates, &RecommendSettings::default());
        let (header, rows) = price_list_table(&data, &proposals, &HashMap::from([(0, 18.0)]));
        assert_eq!(header[4], "new_price");
        assert_eq!(rows[0][2..], ["10.00", "20.00", "18.00", "44.4", "yes"].map(String::from));
        let (_, rows) = price_list_table(&data, &proposals, &HashMap::new());
        assert_eq!(rows[0][4..], ["20.00", "50.0", "no"].map(String::from));
    }

    #[test]
    fn the_optimum_is_capped_by_the_markup_band() {
        let (data, estimates) = case(10.0, 12.0, &[12.5], Some(-3.0));
        let r = run(&data, &estimates, &RecommendSettings { max_change: None, ..RecommendSettings::default() });
        assert!((r.optimum.unwrap() - 15.0).abs() < 1e-9);
        assert_eq!((r.recommended, r.bound_by), (Some(13.0), "band"));
        assert!(r.reasons.iter().any(|x| x.contains("capped at cost × 1.30 = 13.00")), "{:?}", r.reasons);
    }

    /// Hand-checked: e = −5 → optimum 10 · 5/4 = 12.50; "beat the cheapest (12.00) by 5%" →
    /// 11.40; a 10% step limit from 12.00 allows 10.80–13.20, so 11.40 stays; the .99 ending at
    /// or below it is 10.99, inside the band (10.50–13.00).
    #[test]
    fn rules_apply_in_order_and_say_which_bound() {
        let (data, estimates) = case(10.0, 12.0, &[12.0, 13.0], Some(-5.0));
        let settings = RecommendSettings { position: PositionRule::Beat(0.05), ending_99: true, ..RecommendSettings::default() };
        let r = run(&data, &estimates, &settings);
        assert!((r.optimum.unwrap() - 12.5).abs() < 1e-9);
        assert!((r.recommended.unwrap() - 10.99).abs() < 1e-9, "{r:?}");
        assert_eq!(r.bound_by, "ending");
        assert_eq!(r.reasons.len(), 3, "optimum, position, ending: {:?}", r.reasons);
        assert!(r.units_change.is_none(), "no sales history, no baseline");
    }

    /// No finite optimum (e ≥ −1): start from the current price, which the band raises.
    #[test]
    fn without_an_optimum_the_current_price_is_clamped_into_the_band() {
        let (data, estimates) = case(10.0, 9.0, &[], Some(-0.5));
        let r = run(&data, &estimates, &RecommendSettings::default());
        assert_eq!(r.optimum, None);
        assert_eq!((r.recommended, r.bound_by), (Some(10.5), "band"));
        let (data, estimates) = case(10.0, 9.0, &[], None);
        let r = run(&data, &estimates, &RecommendSettings::default());
        assert!(r.reasons[0].contains("not identified"));
    }
}

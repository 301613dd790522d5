//! The alert list the Pricing panel shows: every market signal except those the user
//! acknowledged or snoozed, the kinds they chose to hide, and what is over a daily cap per
//! product (the most severe first). Only the panel's list is filtered: the CSV export and
//! `shoplens pricing signals` list every signal.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::customers::format_time;
use super::pricing::{PricingData, Signal};

/// Which signal a review is about: the `signal_reviews` key, as the CLI would print it, so a
/// review survives a reload (product and competitor codes change between copies; names do not).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignalKey {
    pub signal: String,
    pub product_id: String,
    /// Empty for signals about our own price or stock.
    pub competitor: String,
    /// `format_time` of the signal's `at`.
    pub at: String,
}

impl SignalKey {
    pub fn of(data: &PricingData, signal: &Signal) -> Self {
        Self {
            signal: signal.kind.name().to_string(),
            product_id: data.products[signal.product as usize].id.clone(),
            competitor: signal.competitor.map_or_else(String::new, |c| data.competitors[c as usize].clone()),
            at: format_time(signal.at),
        }
    }
}

/// What the user did with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    Acknowledged,
    /// Hidden until this moment (epoch seconds, wall clock: a snooze is "remind me later").
    SnoozedUntil(i64),
}

/// How the alert list is cut down; saved in the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertSettings {
    /// At most this many alerts per product and day (0: no cap).
    pub daily_cap: u32,
    /// Signal names the user does not want listed.
    pub hidden_kinds: Vec<String>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self { daily_cap: 3, hidden_kinds: Vec::new() }
    }
}

/// The alerts to list, as indexes into the signals (newest first), and how many were left out
/// for each reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertList {
    pub shown: Vec<usize>,
    pub acknowledged: usize,
    pub snoozed: usize,
    pub hidden_kind: usize,
    pub over_cap: usize,
}

/// The alert list at wall-clock time `now` (snoozes end then).
pub fn alert_list(
    data: &PricingData,
    signals: &[Signal],
    reviews: &HashMap<SignalKey, Review>,
    settings: &AlertSettings,
    now: i64,
) -> AlertList {
    let mut list = AlertList::default();
    let mut candidates = Vec::new();
    for (i, signal) in signals.iter().enumerate() {
        if settings.hidden_kinds.iter().any(|k| k == signal.kind.name()) {
            list.hidden_kind += 1;
            continue;
        }
        match reviews.get(&SignalKey::of(data, signal)) {
            Some(Review::Acknowledged) => list.acknowledged += 1,
            Some(Review::SnoozedUntil(until)) if *until > now => list.snoozed += 1,
            _ => candidates.push(i),
        }
    }
    // Per product and day: the most severe first, then the latest.
    candidates.sort_by(|&a, &b| {
        let (a, b) = (&signals[a], &signals[b]);
        (a.product, a.at.div_euclid(86_400))
            .cmp(&(b.product, b.at.div_euclid(86_400)))
            .then(b.severity.cmp(&a.severity))
            .then(b.at.cmp(&a.at))
    });
    let mut in_group = 0u32;
    let mut group = None;
    for i in candidates {
        let key = (signals[i].product, signals[i].at.div_euclid(86_400));
        if group != Some(key) {
            group = Some(key);
            in_group = 0;
        }
        in_group += 1;
        if settings.daily_cap > 0 && in_group > settings.daily_cap {
            list.over_cap += 1;
        } else {
            list.shown.push(i);
        }
    }
    list.shown.sort_by(|&a, &b| signals[b].at.cmp(&signals[a].at).then(signals[b].severity.cmp(&signals[a].severity)).then(a.cmp(&b)));
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::pricing::{CatalogueProduct, PricingDataBuilder, Severity, SignalKind};

    const DAY: i64 = 86_400;

    fn data() -> PricingData {
        let mut b = PricingDataBuilder::default();
        for id in ["P1", "P2"] {
            b.product(CatalogueProduct::unnamed(id));
        }
        b.observation("P1", "Contoso", 0, 10.0, None);
        b.finish()
    }

    fn signal(kind: SignalKind, product: u32, at: i64, severity: Severity) -> Signal {
        Signal { kind, product, competitor: Some(0), at, before: Some(10.0), after: Some(8.0), change: -0.2, severity }
    }

    /// Hand-checked: five signals on P1's day 1 under a cap of 2 keep the two high ones; P2's and
    /// day 2's are their own groups; a review or a hidden kind takes a signal out before the cap.
    #[test]
    fn the_list_leaves_out_reviewed_hidden_and_capped_signals_and_counts_each() {
        let data = data();
        use Severity::*;
        use SignalKind::*;
        let signals = vec![
            signal(CompetitorDrop, 0, DAY + 10, Low),    // 0: capped
            signal(CompetitorDrop, 0, DAY + 20, High),   // 1: shown
            signal(Undercut, 0, DAY + 30, Medium),       // 2: capped (two highs outrank it)
            signal(Anomaly, 0, DAY + 40, High),          // 3: shown
            signal(CompetitorRise, 0, DAY + 50, Low),    // 4: capped
            signal(CompetitorDrop, 1, DAY + 60, Low),    // 5: shown (another product)
            signal(CompetitorDrop, 0, 2 * DAY + 1, Low), // 6: acknowledged
            signal(CompetitorDrop, 0, 2 * DAY + 2, Low), // 7: snoozed until later
            signal(CompetitorDrop, 0, 2 * DAY + 3, Low), // 8: snooze over: shown
            signal(LowStock, 0, 2 * DAY + 4, High),      // 9: kind hidden
        ];
        let now = 10 * DAY;
        let reviews = HashMap::from([
            (SignalKey::of(&data, &signals[6]), Review::Acknowledged),
            (SignalKey::of(&data, &signals[7]), Review::SnoozedUntil(now + 1)),
            (SignalKey::of(&data, &signals[8]), Review::SnoozedUntil(now)),
        ]);
        let settings = AlertSettings { daily_cap: 2, hidden_kinds: vec!["low_stock".into()] };
        let list = alert_list(&data, &signals, &reviews, &settings, now);
        assert_eq!(list.shown, vec![8, 5, 3, 1], "newest first");
        assert_eq!((list.acknowledged, list.snoozed, list.hidden_kind, list.over_cap), (1, 1, 1, 3));
        // Without a cap everything not reviewed or hidden is listed.
        let uncapped = alert_list(&data, &signals, &reviews, &AlertSettings { daily_cap: 0, ..settings }, now);
        assert_eq!(uncapped.shown.len(), 7);
        assert_eq!(SignalKey::of(&data, &signals[0]).competitor, "Contoso");
    }
}

//! Matching competitor products to ours by name, for feeds that share no product id with us
//! (a scraper's output, Project Hammer). Names are normalised — case, punctuation, repeated
//! words, word order, and sizes in one unit ("1.36 kg" = "1360 g") — then compared with the
//! Sørensen–Dice coefficient of their letter pairs (`strsim`). Two sizes that differ (907 g
//! against 794 g, a club pack against the plain pack) are never the same product.
//!
//! With a catalogue of ours, each competitor product is suggested its most similar product of
//! ours; without one, the competitors' products are grouped: products of different competitors
//! that are one product share a group id.

use std::collections::HashMap;

/// A product name made comparable.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalised {
    /// Lower-case words, sizes taken out, each once, in alphabetical order.
    pub words: String,
    /// The amount in grams, millilitres or items, if the name states one.
    pub size: Option<(f64, &'static str)>,
    /// A pack the name states without an amount ("club pack", "family size").
    pub pack: Option<String>,
}

const UNITS: &[(&str, f64, &str)] = &[
    ("kg", 1000.0, "g"),
    ("kilogram", 1000.0, "g"),
    ("kilograms", 1000.0, "g"),
    ("g", 1.0, "g"),
    ("gr", 1.0, "g"),
    ("gram", 1.0, "g"),
    ("grams", 1.0, "g"),
    ("lb", 453.592, "g"),
    ("lbs", 453.592, "g"),
    ("oz", 28.3495, "g"),
    ("l", 1000.0, "ml"),
    ("litre", 1000.0, "ml"),
    ("liter", 1000.0, "ml"),
    ("ml", 1.0, "ml"),
    ("ct", 1.0, "items"),
    ("count", 1.0, "items"),
    ("pk", 1.0, "items"),
    ("pack", 1.0, "items"),
];

const PACKS: &[&str] = &["club pack", "value pack", "family size", "family pack", "bulk", "multipack", "jumbo pack"];

const STOP_WORDS: &[&str] = &["the", "and", "of", "with", "a", "an", "for", "in"];

/// Splits "907g" into ("907", "g").
fn split_amount(token: &str) -> Option<(f64, &str)> {
    let digits = token.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(token.len());
    let amount: f64 = token[..digits].parse().ok()?;
    Some((amount, &token[digits..]))
}

pub fn normalise(name: &str) -> Normalised {
    let lower = name.to_lowercase().replace(['’', '`'], "'");
    let pack = PACKS.iter().find(|p| lower.contains(*p)).map(|p| p.to_string());
    // Letters, digits and decimal points stay; everything else separates words.
    let cleaned: String = lower.chars().map(|c| if c.is_alphanumeric() || c == '.' || c == '\'' { c } else { ' ' }).collect();
    let tokens: Vec<&str> =
        cleaned.split_whitespace().map(|t| t.trim_matches(|c| c == '.' || c == '\'')).filter(|t| !t.is_empty()).collect();
    let mut size = None;
    let mut words: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        // "907 g", "907g", "1.36 kg".
        let amount = split_amount(token).and_then(|(amount, unit)| {
            let unit = if unit.is_empty() { tokens.get(i + 1).copied()? } else { unit };
            let (_, factor, base) = UNITS.iter().find(|(u, _, _)| *u == unit)?;
            Some((amount * factor, *base, unit == token.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')))
        });
        match amount {
            Some((amount, base, joined)) => {
                size = Some((amount, base));
                i += if joined { 1 } else { 2 };
            }
            None => {
                if !STOP_WORDS.contains(&token) && !words.iter().any(|w| w == token) {
                    words.push(token.to_string());
                }
                i += 1;
            }
        }
    }
    if let Some(p) = &pack {
        words.retain(|w| !p.split(' ').any(|part| part == w));
    }
    words.sort();
    Normalised { words: words.join(" "), size, pack }
}

/// Whether two names' sizes rule them out as one product.
pub fn sizes_differ(a: &Normalised, b: &Normalised) -> bool {
    let amounts = match (a.size, b.size) {
        (Some((x, ux)), Some((y, uy))) => ux != uy || (x - y).abs() > 0.02 * x.max(y),
        _ => false,
    };
    amounts || a.pack != b.pack
}

/// Similarity in 0..=1; 0 when the sizes differ.
pub fn similarity(a: &Normalised, b: &Normalised) -> f64 {
    if sizes_differ(a, b) {
        0.0
    } else {
        strsim::sorensen_dice(&a.words, &b.words)
    }
}

/// A competitor's product as its feed names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompetitorProduct {
    pub competitor: String,
    pub name: String,
}

/// What a competitor product is matched to.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub product: CompetitorProduct,
    /// Our product id, or the group id without a catalogue; empty when nothing is similar enough.
    pub product_id: String,
    pub similarity: Option<f64>,
}

/// Each competitor product's most similar product of ours (`(id, name)`), at least `min` similar.
pub fn suggest(ours: &[(String, String)], theirs: &[CompetitorProduct], min: f64) -> Vec<Suggestion> {
    let ours: Vec<(&str, Normalised)> = ours.iter().map(|(id, name)| (id.as_str(), normalise(name))).collect();
    theirs
        .iter()
        .map(|product| {
            let name = normalise(&product.name);
            let best = ours.iter().map(|(id, n)| (*id, similarity(&name, n))).max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(a.0)));
            match best {
                Some((id, s)) if s >= min => Suggestion { product: product.clone(), product_id: id.to_string(), similarity: Some(s) },
                _ => Suggestion { product: product.clone(), product_id: String::new(), similarity: best.map(|b| b.1) },
            }
        })
        .collect()
}

/// Groups the competitors' products without a catalogue: the most similar pairs of different
/// competitors first, at least `min` similar, a group holding at most one product per
/// competitor. `kept` maps products to the group ids they had before, so ids stay put from run
/// to run (a group takes the first kept id no other group took); new groups are numbered from
/// `next_id`. A product alone in its group is returned with its own id and no similarity.
pub fn group(theirs: &[CompetitorProduct], min: f64, kept: &HashMap<CompetitorProduct, String>, mut next: u32) -> Vec<Suggestion> {
    let mut products: Vec<CompetitorProduct> = theirs.to_vec();
    products.sort();
    products.dedup();
    let names: Vec<Normalised> = products.iter().map(|p| normalise(&p.name)).collect();
    let mut pairs = Vec::new();
    for i in 0..products.len() {
        for j in i + 1..products.len() {
            if products[i].competitor != products[j].competitor {
                let s = similarity(&names[i], &names[j]);
                if s >= min {
                    pairs.push((s, i, j));
                }
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    // Union-find; each root keeps its group's members, so a merge checks the two groups'
    // competitors without walking every product.
    let mut parent: Vec<usize> = (0..products.len()).collect();
    let mut members: Vec<Vec<usize>> = (0..products.len()).map(|k| vec![k]).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut best = vec![None::<f64>; products.len()];
    for (s, i, j) in pairs {
        let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
        if ri == rj {
            best[i] = Some(best[i].map_or(s, |b: f64| b.max(s)));
            best[j] = Some(best[j].map_or(s, |b: f64| b.max(s)));
            continue;
        }
        let shared = members[ri].iter().any(|&a| members[rj].iter().any(|&b| products[a].competitor == products[b].competitor));
        if shared {
            continue;
        }
        parent[rj] = ri;
        let moved = std::mem::take(&mut members[rj]);
        members[ri].extend(moved);
        best[i] = Some(best[i].map_or(s, |b: f64| b.max(s)));
        best[j] = Some(best[j].map_or(s, |b: f64| b.max(s)));
    }
    // Ids: a group keeps an id one of its members had; the others are numbered on.
    let mut ids: HashMap<usize, String> = HashMap::new();
    let mut taken = std::collections::HashSet::new();
    for k in 0..products.len() {
        let r = root(&mut parent, k);
        if ids.contains_key(&r) {
            continue;
        }
        // In product order, so the first member's kept id wins.
        members[r].sort_unstable();
        let id = members[r].iter().filter_map(|m| kept.get(&products[*m])).find(|id| !taken.contains(*id)).cloned().unwrap_or_else(|| {
            let id = format!("G{next:04}");
            next += 1;
            id
        });
        taken.insert(id.clone());
        ids.insert(r, id);
    }
    (0..products.len())
        .map(|k| {
            let r = root(&mut parent, k);
            Suggestion { product: products[k].clone(), product_id: ids[&r].clone(), similarity: best[k] }
        })
        .collect()
}

/// Where a match stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchStatus {
    Suggested,
    Confirmed,
    Rejected,
}

impl MatchStatus {
    pub fn name(self) -> &'static str {
        match self {
            MatchStatus::Suggested => "suggested",
            MatchStatus::Confirmed => "confirmed",
            MatchStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [MatchStatus::Suggested, MatchStatus::Confirmed, MatchStatus::Rejected].into_iter().find(|s| s.name() == text)
    }
}

/// A competitor product's match as kept in the workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchRow {
    pub product: CompetitorProduct,
    pub product_id: String,
    pub similarity: Option<f64>,
    pub status: MatchStatus,
}

/// Today's suggestions with what the user decided before: a confirmed match stays as it was
/// (the user's word outranks the similarity); a rejected one stays rejected while the same
/// product is suggested again; everything else is a suggestion. Best first.
pub fn merge(suggestions: Vec<Suggestion>, saved: &HashMap<CompetitorProduct, MatchRow>) -> Vec<MatchRow> {
    let mut rows: Vec<MatchRow> = suggestions
        .into_iter()
        .map(|s| match saved.get(&s.product) {
            Some(kept) if kept.status == MatchStatus::Confirmed => kept.clone(),
            Some(kept) if kept.status == MatchStatus::Rejected && kept.product_id == s.product_id => {
                MatchRow { similarity: s.similarity, ..kept.clone() }
            }
            _ => MatchRow { product: s.product, product_id: s.product_id, similarity: s.similarity, status: MatchStatus::Suggested },
        })
        .collect();
    rows.sort_by(|a, b| b.similarity.unwrap_or(-1.0).total_cmp(&a.similarity.unwrap_or(-1.0)).then_with(|| a.product.cmp(&b.product)));
    rows
}

/// The matches of every competitor product: against our catalogue (`ours`: id and name) when
/// we have one, else across competitors into groups; merged with what was decided before.
pub fn matches(
    ours: &[(String, String)],
    theirs: &[CompetitorProduct],
    min: f64,
    saved: &HashMap<CompetitorProduct, MatchRow>,
) -> Vec<MatchRow> {
    let suggestions = if ours.is_empty() {
        let kept =
            saved.iter().filter(|(_, m)| m.status != MatchStatus::Rejected).map(|(p, m)| (p.clone(), m.product_id.clone())).collect();
        let number = |id: &str| id.strip_prefix('G').and_then(|n| n.parse::<u32>().ok());
        let next = saved.values().filter_map(|m| number(&m.product_id)).max().unwrap_or(0) + 1;
        group(theirs, min, &kept, next)
    } else {
        suggest(ours, theirs, min)
    };
    merge(suggestions, saved)
}

/// Confirms every suggestion at least `threshold` similar (with a product to match).
pub fn confirm_above(rows: &mut [MatchRow], threshold: f64) -> usize {
    let mut n = 0;
    for row in rows.iter_mut() {
        if row.status == MatchStatus::Suggested && !row.product_id.is_empty() && row.similarity.is_some_and(|s| s >= threshold) {
            row.status = MatchStatus::Confirmed;
            n += 1;
        }
    }
    n
}

/// The CLI's and the panel's export: `competitor, competitor_product, product_id, similarity, status`.
pub fn table(rows: &[MatchRow]) -> super::Table {
    let header = ["competitor", "competitor_product", "product_id", "similarity", "status"].map(String::from).to_vec();
    let rows = rows
        .iter()
        .map(|r| {
            vec![
                r.product.competitor.clone(),
                r.product.name.clone(),
                r.product_id.clone(),
                r.similarity.map_or(String::new(), |s| format!("{s:.4}")),
                r.status.name().to_string(),
            ]
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-checked: units and word order do not matter; sizes do.
    #[test]
    fn names_are_normalised_before_they_are_compared() {
        let a = normalise("Maple Syrup 1.36 kg");
        let b = normalise("maple syrup, 1360g");
        assert_eq!(a, b);
        assert_eq!(a.size, Some((1360.0, "g")));
        assert_eq!(normalise("Oats Quick 1 KG").words, "oats quick");
        let voila = normalise("Bob's Red Mill Gluten-Free Rolled Oats Old Fashioned 907 g");
        let save_on = normalise("Bob's Red Mill - Rolled Oats Old Fashioned, Gluten Free, 907 Gram");
        assert_eq!(similarity(&voila, &save_on), 1.0);
        let quick = normalise("Bob's Red Mill Gluten-Free Rolled Oats Quick Cooking 794 g");
        assert_eq!(similarity(&voila, &quick), 0.0, "907 g is not 794 g");
        let club = normalise("100% Whole Grain Large Flake Oats, Club Pack");
        assert_eq!(similarity(&normalise("100% Whole Grain Large Flake Oats"), &club), 0.0, "a club pack is another size");
        assert_eq!(normalise("Walmart Walmart Oats").words, "oats walmart", "repeated words count once");
    }

    #[test]
    fn groups_hold_one_product_per_competitor() {
        let p = |c: &str, n: &str| CompetitorProduct { competitor: c.into(), name: n.into() };
        let theirs = vec![p("A", "Firm Tofu"), p("B", "Firm Tofu"), p("C", "Firm tofu"), p("A", "Extra Firm Tofu"), p("B", "Brown Rice")];
        let groups = group(&theirs, 0.8, &HashMap::new(), 1);
        let id = |c: &str, n: &str| groups.iter().find(|s| s.product == p(c, n)).unwrap().product_id.clone();
        assert_eq!(id("A", "Firm Tofu"), id("B", "Firm Tofu"));
        assert_eq!(id("A", "Firm Tofu"), id("C", "Firm tofu"));
        assert_ne!(id("A", "Extra Firm Tofu"), id("A", "Firm Tofu"), "one product per competitor in a group");
        assert_ne!(id("B", "Brown Rice"), id("B", "Firm Tofu"));
        // A kept id survives a regrouping; new groups number after it.
        let kept = HashMap::from([(p("A", "Firm Tofu"), "G0007".to_string())]);
        let again = group(&theirs, 0.8, &kept, 8);
        assert!(again.iter().filter(|s| s.product_id == "G0007").count() == 3);
        assert!(again.iter().all(|s| s.product_id == "G0007" || s.product_id.as_str() > "G0007"));
    }
}

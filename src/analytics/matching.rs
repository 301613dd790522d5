//! Matching competitor products to ours by name, for feeds that share no product id with us
//! (a scraper's output, Project Hammer). Names are normalised — case, punctuation, repeated
//! words, word order — and what a name says about the package is read apart from its words:
//! every amount ("907 g", "1.36 kg", "190 mL", "2 lb"), count ("12 count", "30 Each", "56 ct",
//! "12 Pack") and multipack ("4 x 95 g", "24gx20", "210G*3"), pack words ("Club Size", "Family
//! Pack") and a brand where the name shows one (a house brand such as "Great Value" or "No
//! Name", or the "Brand - Product" layout of Save-On-Foods). The words are then compared with the
//! Sørensen–Dice coefficient of their letter pairs (`strsim`).
//!
//! The package size, by a stated rule: an amount followed by a nutrient ("9g Protein", "5 g
//! fibre") is a claim, not a size; a multipack's size is count × amount; of several sizes left,
//! the largest (the package, not a portion). Two names are then
//! - **different products** (similarity 0) when both state a size and they differ by more than
//!   2%, both state a count and they differ, one names a pack size the other does not, or they
//!   name different house brands;
//! - **in doubt** (similarity at most [`DOUBT_CAP`], below any sensible confirmation threshold)
//!   when one states a size, count or brand the other does not, one is sold by the bag and the
//!   other not (without sizes that agree), or their sizes are in
//!   different dimensions (grams against millilitres): they may be one product, a person decides.
//!
//! With a catalogue of ours, each competitor product is suggested its most similar product of
//! ours; without one, the competitors' products are grouped: products of different competitors
//! that are one product share a group id, one product per competitor unless a competitor lists
//! the same normalised name twice.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

/// The most similar a pair in doubt can be: below the usual confirmation thresholds (0.9), so
/// it is never confirmed in bulk.
pub const DOUBT_CAP: f64 = 0.85;

/// A product name made comparable.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalised {
    /// Lower-case words, sizes, counts and pack words taken out, each once, in alphabetical order.
    pub words: String,
    /// The package's amount in grams or millilitres, if the name states one.
    pub size: Option<(f64, &'static str)>,
    /// How many items the package holds, if the name says (more than one).
    pub count: Option<u32>,
    /// A pack the name states without an amount ("club size", "family pack").
    pub pack: Option<String>,
    /// The brand, where the name shows one.
    pub brand: Option<String>,
    /// Sold by the bag ("Bag Of Spartan Apples", "4 lb bag"), against loose produce.
    pub bagged: bool,
}

/// Units of amount: the word, its factor to the base unit, the base unit.
const UNITS: &[(&str, f64, &str)] = &[
    ("kg", 1000.0, "g"),
    ("kgs", 1000.0, "g"),
    ("kilogram", 1000.0, "g"),
    ("kilograms", 1000.0, "g"),
    ("g", 1.0, "g"),
    ("gr", 1.0, "g"),
    ("gm", 1.0, "g"),
    ("gram", 1.0, "g"),
    ("grams", 1.0, "g"),
    ("lb", 453.592, "g"),
    ("lbs", 453.592, "g"),
    ("pound", 453.592, "g"),
    ("pounds", 453.592, "g"),
    ("oz", 28.3495, "g"),
    ("l", 1000.0, "ml"),
    ("litre", 1000.0, "ml"),
    ("liter", 1000.0, "ml"),
    ("litres", 1000.0, "ml"),
    ("liters", 1000.0, "ml"),
    ("ml", 1.0, "ml"),
    ("millilitre", 1.0, "ml"),
    ("milliliter", 1.0, "ml"),
    ("millilitres", 1.0, "ml"),
    ("milliliters", 1.0, "ml"),
];

/// Words that count items.
const COUNTS: &[&str] = &["each", "ea", "count", "ct", "pack", "pk", "pcs", "pieces", "bars", "eggs", "pouches", "cups"];

/// After an amount, these make it a nutrition claim, not a size.
const NUTRIENTS: &[&str] = &["protein", "fibre", "fiber", "fat", "sugar", "sugars", "carbs", "carbohydrates", "sodium", "whole", "of"];

const PACKS: &[&str] =
    &["club pack", "club size", "value pack", "value size", "family size", "family pack", "bulk", "multipack", "jumbo pack", "jumbo size"];

/// Grocers' own brands: a name with one is that grocer's product.
const HOUSE_BRANDS: &[&str] = &[
    "great value",
    "no name",
    "president's choice",
    "pc",
    "blue menu",
    "selection",
    "irresistibles",
    "compliments",
    "western family",
    "our finest",
    "sensations",
    "t&t",
    "kirkland",
];

const STOP_WORDS: &[&str] = &["the", "and", "of", "with", "a", "an", "for", "in", "bag", "x"];

/// "4 x 95 g", "24gx20", "210g*3": a multipack (count and amount each, either order).
static MULTIPACK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:(\d+)\s*[x×*]\s*(\d+(?:\.\d+)?)\s*([a-z]+)\b|(\d+(?:\.\d+)?)\s*([a-z]+)\s*[x×*]\s*(\d+)\b)").expect("a valid pattern")
});
/// "Pack of 3".
static PACK_OF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bpack of (\d+)\b").expect("a valid pattern"));
/// "907 g", "1.36kg", "2 lb": an amount and its unit, with the word after it.
static AMOUNT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d+(?:\.\d+)?)\s*([a-z]+)\b\.?(?:[\s,]+([a-z]+))?").expect("a valid pattern"));

fn unit(word: &str) -> Option<(f64, &'static str)> {
    UNITS.iter().find(|(u, _, _)| *u == word).map(|(_, f, b)| (*f, *b))
}

pub fn normalise(name: &str) -> Normalised {
    let lower = name.to_lowercase().replace(['’', '`'], "'");
    let pack = PACKS.iter().find(|p| lower.contains(*p)).map(|p| p.to_string());
    let brand = brand_of(name, &lower);
    // Sizes and counts first, from the whole name; what they matched is blanked out of the words.
    let mut blank: Vec<(usize, usize)> = Vec::new();
    let mut sizes: Vec<(f64, &'static str)> = Vec::new();
    let mut count: Option<u32> = None;
    for m in MULTIPACK.captures_iter(&lower) {
        let (n, amount, word) = match (m.get(1), m.get(4)) {
            (Some(n), _) => (n.as_str(), &m[2], &m[3]),
            (None, Some(amount)) => (&m[6], amount.as_str(), &m[5]),
            _ => continue,
        };
        let (Ok(n), Ok(amount), Some((factor, base))) = (n.parse::<u32>(), amount.parse::<f64>(), unit(word)) else { continue };
        sizes.push((f64::from(n) * amount * factor, base));
        count = Some(n);
        let whole = m.get(0).expect("the whole match");
        blank.push((whole.start(), whole.end()));
    }
    if let Some(m) = PACK_OF.captures(&lower) {
        count = m[1].parse::<u32>().ok().filter(|n| *n >= 2).or(count);
        let whole = m.get(0).expect("the whole match");
        blank.push((whole.start(), whole.end()));
    }
    for m in AMOUNT.captures_iter(&lower) {
        let whole = m.get(0).expect("the whole match");
        if blank.iter().any(|(s, e)| whole.start() < *e && *s < whole.end()) {
            continue;
        }
        let (Ok(amount), word) = (m[1].parse::<f64>(), &m[2]) else { continue };
        let next = m.get(3).map(|w| w.as_str());
        let unit_end = m.get(2).expect("a unit").end();
        if let Some((factor, base)) = unit(word) {
            if next.is_some_and(|w| NUTRIENTS.contains(&w)) {
                blank.push((whole.start(), unit_end));
                continue;
            }
            sizes.push((amount * factor, base));
            blank.push((whole.start(), unit_end));
        } else if COUNTS.contains(&word) {
            if amount >= 2.0 && amount.fract() == 0.0 && count.is_none() {
                count = Some(amount as u32);
            }
            blank.push((whole.start(), unit_end));
        }
    }
    // The package: the largest amount, in the dimension stated most (ties: weight).
    let grams = sizes.iter().filter(|s| s.1 == "g").count();
    let dimension = if sizes.len() - grams > grams { "ml" } else { "g" };
    let size = sizes.iter().copied().filter(|s| s.1 == dimension).max_by(|a, b| a.0.total_cmp(&b.0));
    let mut text = lower.clone().into_bytes();
    for (s, e) in blank {
        text[s..e].iter_mut().for_each(|b| *b = b' ');
    }
    let text = String::from_utf8(text).unwrap_or_default();
    // Letters, digits and decimal points stay; everything else separates words.
    let cleaned: String = text.chars().map(|c| if c.is_alphanumeric() || c == '.' || c == '\'' || c == '%' { c } else { ' ' }).collect();
    let mut words: Vec<String> = Vec::new();
    for token in cleaned.split_whitespace().map(|t| t.trim_matches(|c| c == '.' || c == '\'')) {
        if !token.is_empty() && !STOP_WORDS.contains(&token) && !COUNTS.contains(&token) && !words.iter().any(|w| w == token) {
            words.push(token.to_string());
        }
    }
    if let Some(p) = &pack {
        words.retain(|w| !p.split(' ').any(|part| part == w));
    }
    words.sort();
    let bagged = cleaned.split_whitespace().any(|w| w == "bag" || w == "bagged");
    Normalised { words: words.join(" "), size, count, pack, brand, bagged }
}

/// The brand a name shows: a house brand anywhere in it, else the part before " - " in the
/// "Brand - Product" layout.
fn brand_of(name: &str, lower: &str) -> Option<String> {
    let padded = format!(" {} ", lower.replace([',', '(', ')', '-', '®', '™'], " "));
    if let Some(house) = HOUSE_BRANDS.iter().find(|b| padded.contains(&format!(" {b} "))) {
        return Some(house.to_string());
    }
    let (before, _) = name.split_once(" - ")?;
    let before = before.trim().to_lowercase();
    (!before.is_empty() && before.split_whitespace().count() <= 4).then_some(before)
}

/// What two names' packages and brands say about their being one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Nothing contradicts.
    Agree,
    /// Something is stated on one side only, or cannot be compared: a person decides.
    Doubt,
    /// Different sizes, counts, packs or house brands.
    Different,
}

/// Whether two names' sizes, counts, packs and brands agree.
pub fn agreement(a: &Normalised, b: &Normalised) -> Agreement {
    let mut doubt = false;
    let sizes_agree = match (a.size, b.size) {
        (Some((x, ux)), Some((y, uy))) if ux == uy => {
            if (x - y).abs() > 0.02 * x.max(y) {
                return Agreement::Different;
            }
            true
        }
        (Some(_), Some(_)) => {
            doubt = true;
            false
        }
        (None, None) => false,
        _ => {
            doubt = true;
            false
        }
    };
    match (a.count, b.count) {
        (Some(x), Some(y)) if x != y => return Agreement::Different,
        (Some(_), None) | (None, Some(_)) if !sizes_agree => doubt = true,
        _ => {}
    }
    if a.pack != b.pack {
        return Agreement::Different;
    }
    // A bag against loose produce, with no size to tell: a person decides.
    doubt |= a.bagged != b.bagged && !sizes_agree;
    let house = |n: &Normalised| n.brand.as_deref().is_some_and(|b| HOUSE_BRANDS.contains(&b));
    match (&a.brand, &b.brand) {
        (Some(x), Some(y)) if x != y => {
            if house(a) || house(b) {
                return Agreement::Different;
            }
            // Two brands read from the layout: the words decide.
            doubt |= !(names_brand(a, y) || names_brand(b, x));
        }
        (Some(x), None) => doubt |= !names_brand(b, x),
        (None, Some(y)) => doubt |= !names_brand(a, y),
        _ => {}
    }
    if doubt {
        Agreement::Doubt
    } else {
        Agreement::Agree
    }
}

/// Whether every word of `brand` is among the name's words.
fn names_brand(name: &Normalised, brand: &str) -> bool {
    brand.split(|c: char| !(c.is_alphanumeric() || c == '\'')).filter(|w| !w.is_empty()).all(|w| name.words.split(' ').any(|n| n == w))
}

/// Whether two names' sizes rule them out as one product.
pub fn sizes_differ(a: &Normalised, b: &Normalised) -> bool {
    agreement(a, b) == Agreement::Different
}

/// Similarity in 0..=1: 0 for different products, at most [`DOUBT_CAP`] in doubt.
pub fn similarity(a: &Normalised, b: &Normalised) -> f64 {
    let words = strsim::sorensen_dice(&a.words, &b.words);
    match agreement(a, b) {
        Agreement::Agree => words,
        Agreement::Doubt => words.min(DOUBT_CAP),
        Agreement::Different => 0.0,
    }
}

/// The same product, listed twice: every normalised part equal.
fn identical(a: &Normalised, b: &Normalised) -> bool {
    a == b
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
/// competitor unless it lists the same normalised name twice, and no two members contradicting
/// each other. `kept` maps products to the group ids they had before, so ids stay put from run
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
            } else if identical(&names[i], &names[j]) {
                // The competitor lists one product twice.
                pairs.push((1.0, i, j));
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
    // A group's similarity is its weakest link: the least similar merge that built it, capped
    // when any two of its members are in doubt. Every member shows it, so confirming "at least
    // 0.9" confirms only groups that hold together at 0.9 throughout.
    let mut weakest = vec![None::<f64>; products.len()];
    for (s, i, j) in pairs {
        let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
        if ri == rj {
            continue;
        }
        // One product per competitor (unless listed twice), and nothing in one group that
        // contradicts a member of the other: a chain of doubtful links cannot join 1 lb and 15 oz.
        let mut doubt = false;
        let clash = members[ri].iter().any(|&a| {
            members[rj].iter().any(|&b| {
                let (x, y) = (&names[a], &names[b]);
                let agreement = agreement(x, y);
                doubt |= agreement == Agreement::Doubt;
                (products[a].competitor == products[b].competitor && !identical(x, y)) || agreement == Agreement::Different
            })
        });
        if clash {
            continue;
        }
        let link = if doubt { s.min(DOUBT_CAP) } else { s };
        let weakest_of = |r: usize| weakest[r].unwrap_or(f64::INFINITY);
        weakest[ri] = Some(link.min(weakest_of(ri)).min(weakest_of(rj)));
        parent[rj] = ri;
        let moved = std::mem::take(&mut members[rj]);
        members[ri].extend(moved);
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
            Suggestion { product: products[k].clone(), product_id: ids[&r].clone(), similarity: weakest[r] }
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
        // Units spelled out, singular and plural, read as the unit (Save-On-Foods writes them so).
        assert_eq!(normalise("Oikos - Drinkable Yogurt, 190 Millilitre").size, Some((190.0, "ml")));
        assert_eq!(normalise("Drinkable Yogurt 190 Millilitres").size, Some((190.0, "ml")));
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

//! Who to invite to sell: for every user who is not an active seller, P(becomes an active
//! seller) from their behaviour as a buyer and collector, times how much of their collection is
//! in the categories that are short.
//!
//! - **Active seller**: at least `active_min` orders as seller in the 12 months up to `as_of`
//!   (the data's last moment unless set; never the wall clock).
//! - **Features** come only from a user's purchases, collection, interactions with other
//!   people's listings and account age — never from their own listings or sales, which would
//!   let the label leak in.
//! - **Models**: a logistic regression (linfa-logistic) and a random forest (linfa-ensemble)
//!   are compared by cross-validated ROC AUC on stratified folds; the better is kept. Negatives
//!   are undersampled inside each training fold only (imbalance), and the out-of-fold scores are
//!   calibrated by Platt scaling (a logistic fit of the labels on the scores), since the
//!   undersampling distorts them. Every user's P(sell) is their out-of-fold calibrated score:
//!   no user is scored by a model that saw them.
//! - **Shortage**: demand (views, likes, orders) over the last 90 days per active listing, per
//!   category; **match** = the share of a collection in the chosen short categories, weighted by
//!   how short each is; **score** = P(sell) × match.

use std::collections::HashMap;

use linfa::prelude::*;
use ndarray::{Array1, Array2, Axis};
use ndarray_rand::rand::rngs::SmallRng;
use ndarray_rand::rand::seq::SliceRandom;
use ndarray_rand::rand::SeedableRng;

use super::scoring::{self, CalibrationBin};
use super::{InteractionKind, MarketplaceData, DAY};
use crate::analytics::Table;

/// A feature of the seller model: its name, what it measures, and how a user above or below
/// the average on it is described as a reason.
pub struct Feature {
    pub name: &'static str,
    pub meaning: &'static str,
    pub above: &'static str,
    pub below: &'static str,
}

const fn feature(name: &'static str, meaning: &'static str, above: &'static str, below: &'static str) -> Feature {
    Feature { name, meaning, above, below }
}

/// The features, in the model's column order.
pub const FEATURES: [Feature; 10] = [
    feature("purchases", "orders as a buyer (log)", "buys often", "buys rarely"),
    feature("years_since_purchase", "years since the last purchase (2 without any)", "has not bought for a while", "bought recently"),
    feature("spend", "spent as a buyer (log)", "spends a lot", "spends little"),
    feature("collection_size", "items in the collection (log)", "large collection", "small collection"),
    feature("collection_focus", "share of the collection in its largest category", "focused collection", "varied collection"),
    feature("likes", "listings liked (log)", "likes many listings", "likes few listings"),
    feature("offers", "offers made (log)", "makes offers", "makes few offers"),
    feature("views", "listings viewed (log)", "browses a lot", "browses little"),
    feature("carts", "listings put in a cart (log)", "fills carts", "rarely fills a cart"),
    feature("account_years", "years since signing up", "long-standing account", "new account"),
];

/// What the seller model is asked.
#[derive(Debug, Clone, PartialEq)]
pub struct SellerSettings {
    /// Orders as seller in 12 months that make an active seller.
    pub active_min: u32,
    /// "Now" (epoch seconds); `None`: the data's last moment.
    pub as_of: Option<i64>,
    /// Categories marked short by hand; `None`: the three shortest by the data.
    pub short_categories: Option<Vec<String>>,
    pub folds: usize,
    pub seed: u64,
}

impl Default for SellerSettings {
    fn default() -> Self {
        Self { active_min: 3, as_of: None, short_categories: None, folds: 5, seed: 7 }
    }
}

/// Which learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    Logistic,
    Forest,
}

impl ModelKind {
    pub fn name(&self) -> &'static str {
        match self {
            ModelKind::Logistic => "logistic regression",
            ModelKind::Forest => "random forest",
        }
    }
}

/// How well the chosen model ranks, out of fold.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReport {
    pub chosen: ModelKind,
    pub auc_logistic: Option<f64>,
    pub auc_forest: Option<f64>,
    /// Precision at 50, 100 and 500 over every user, by calibrated P(sell).
    pub precision_at: Vec<(usize, f64)>,
    pub roc: Vec<(f64, f64)>,
    pub pr: Vec<(f64, f64)>,
    pub calibration: Vec<CalibrationBin>,
    /// Platt scaling: P = 1 / (1 + exp(−(a·score + b))).
    pub platt: (f64, f64),
    /// The logistic regression's weights on standardised features (fitted on every user).
    pub weights: Vec<f64>,
    /// The forest's mean impurity decrease per feature (when the forest was fitted).
    pub importances: Vec<f64>,
    pub positives: usize,
    pub users: usize,
    pub warnings: Vec<String>,
}

/// A category's supply and demand.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryShortage {
    pub category: u32,
    /// Views, likes and orders on its listings in the 90 days up to `as_of`.
    pub demand: u64,
    /// Active listings at `as_of`.
    pub supply: u64,
    pub new_per_month: f64,
    /// Demand per active listing.
    pub shortage_ratio: f64,
    /// The ratio in each of the last 7 full calendar months (oldest first): the month's demand
    /// per listing active at its end. A last month the data covers only in part is left out.
    pub trend: Vec<f64>,
    pub selected: bool,
}

/// One candidate: a user who is not an active seller.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub user: u32,
    pub p_sell: f64,
    pub matched: f64,
    pub score: f64,
    pub purchases: u64,
    pub collection: u64,
    /// Items owned per selected short category, most first.
    pub short_items: Vec<(u32, u64)>,
    /// The features that pushed P(sell) up most, largest first.
    pub reasons: Vec<Reason>,
}

/// A feature that raised a user's P(sell): its contribution on the logit (the logistic
/// regression's weight × the user's standardised value) and on which side of average they are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reason {
    pub feature: usize,
    pub contribution: f64,
    pub above_average: bool,
}

impl Reason {
    pub fn text(&self) -> &'static str {
        let f = &FEATURES[self.feature];
        if self.above_average {
            f.above
        } else {
            f.below
        }
    }
}

/// A month of the business overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthActivity {
    /// Months since 1970-01 (as `order_frame::month_index`).
    pub month: i32,
    pub new_users: u64,
    pub new_sellers: u64,
    pub orders: u64,
    pub collection_adds: u64,
    pub likes: u64,
    /// The data ends before this month does (its last month, cut short): its counts are not a
    /// fall.
    pub partial: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SellerResult {
    pub as_of: i64,
    pub active_min: u32,
    pub active_sellers: usize,
    pub report: ModelReport,
    /// Every category, shortest first.
    pub shortages: Vec<CategoryShortage>,
    /// Every user who is not an active seller, best score first.
    pub candidates: Vec<Candidate>,
    pub months: Vec<MonthActivity>,
}

/// Supply and demand without the propensity model: what the "Short categories" page of a report
/// shows, in a fraction of [`compute`]'s time (no folds, no forest).
#[derive(Debug, Clone)]
pub struct SupplyResult {
    pub as_of: i64,
    pub active_sellers: usize,
    /// Users who are not active sellers: the candidates [`compute`] would score.
    pub candidates: usize,
    /// Every category, shortest first, the chosen ones marked.
    pub shortages: Vec<CategoryShortage>,
}

pub fn supply(data: &MarketplaceData, settings: &SellerSettings) -> SupplyResult {
    let as_of = settings.as_of.or_else(|| data.last_time()).unwrap_or(0);
    let features = features(data, as_of, settings.active_min);
    let active_sellers = features.active.iter().filter(|&&a| a).count();
    let (shortages, _) = selected_shortages(data, settings, as_of);
    SupplyResult { as_of, active_sellers, candidates: data.users.len() - active_sellers, shortages }
}

/// Every category's shortage with the chosen ones marked (the settings' names, else the three
/// shortest), and each category's weight in a candidate's match (its ratio against the
/// shortest chosen one; 0 for the rest).
fn selected_shortages(data: &MarketplaceData, settings: &SellerSettings, as_of: i64) -> (Vec<CategoryShortage>, Vec<f64>) {
    let mut shortages = shortages(data, as_of);
    let chosen: Vec<u32> = match &settings.short_categories {
        Some(names) => data.categories.iter().enumerate().filter(|(_, c)| names.contains(c)).map(|(i, _)| i as u32).collect(),
        None => shortages.iter().filter(|s| s.supply + s.demand > 0).take(3).map(|s| s.category).collect(),
    };
    let top_ratio = shortages.iter().filter(|s| chosen.contains(&s.category)).map(|s| s.shortage_ratio).fold(0.0, f64::max);
    let mut weight = vec![0.0; data.categories.len()];
    for s in shortages.iter_mut() {
        s.selected = chosen.contains(&s.category);
        if s.selected && top_ratio > 0.0 {
            weight[s.category as usize] = s.shortage_ratio / top_ratio;
        }
    }
    (shortages, weight)
}

/// Why the model could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum SellerError {
    #[error("no active sellers: nobody has {0} or more sales in the 12 months up to the last date; lower the minimum")]
    NoSellers(u32),
    #[error("everyone is an active seller: there is nobody to invite")]
    NoCandidates,
    #[error("the {model} could not be fitted: {message}")]
    Fit { model: &'static str, message: String },
    #[error("cancelled")]
    Cancelled(#[from] crate::jobs::Cancelled),
}

impl SellerError {
    /// For a job's result: a cancel stays a cancel.
    pub fn into_job_error(self) -> crate::jobs::JobError {
        match self {
            SellerError::Cancelled(_) => crate::jobs::JobError::Cancelled,
            other => crate::jobs::JobError::failed(other),
        }
    }
}

/// The feature matrix (one row per user) and the labels.
pub struct Features {
    pub values: Array2<f64>,
    pub active: Vec<bool>,
    pub purchases: Vec<u64>,
    pub collection: Vec<u64>,
}

/// Features of every user as of `as_of`, and whether each is an active seller then.
pub fn features(data: &MarketplaceData, as_of: i64, active_min: u32) -> Features {
    let n = data.users.len();
    let year_ago = as_of - 365 * DAY;
    let mut sales = vec![0u32; n];
    let (mut purchases, mut spend, mut last_purchase) = (vec![0u64; n], vec![0.0; n], vec![None::<i64>; n]);
    for order in data.orders.iter().filter(|o| o.at <= as_of) {
        if order.at > year_ago {
            sales[order.seller as usize] += 1;
        }
        let b = order.buyer as usize;
        purchases[b] += 1;
        spend[b] += order.amount.unwrap_or(0.0);
        last_purchase[b] = Some(last_purchase[b].map_or(order.at, |t: i64| t.max(order.at)));
    }
    let mut collection = vec![0u64; n];
    let mut by_category: HashMap<(u32, Option<u32>), u64> = HashMap::new();
    for item in data.items.iter().filter(|i| i.added.is_none_or(|t| t <= as_of)) {
        collection[item.user as usize] += 1;
        *by_category.entry((item.user, item.category)).or_default() += 1;
    }
    let mut largest = vec![0u64; n];
    for (&(user, _), &count) in &by_category {
        largest[user as usize] = largest[user as usize].max(count);
    }
    let mut counts = vec![[0u64; 4]; n];
    for x in data.interactions.iter().filter(|x| x.at <= as_of) {
        // Interactions with one's own listings say nothing about buying or collecting.
        if x.listing.is_some_and(|l| data.listings[l as usize].seller == x.user) {
            continue;
        }
        let slot = match x.kind {
            InteractionKind::Like => 0,
            InteractionKind::Offer => 1,
            InteractionKind::View => 2,
            InteractionKind::Cart => 3,
            InteractionKind::Other => continue,
        };
        counts[x.user as usize][slot] += 1;
    }
    let log = |v: f64| (1.0 + v).ln();
    let mut values = Array2::zeros((n, FEATURES.len()));
    for u in 0..n {
        let years_since = last_purchase[u].map_or(2.0, |t| ((as_of - t) as f64 / (365.0 * DAY as f64)).min(2.0));
        let account = data.users[u].signup.map_or(0.0, |s| ((as_of - s) as f64 / (365.0 * DAY as f64)).max(0.0));
        let focus = if collection[u] > 0 { largest[u] as f64 / collection[u] as f64 } else { 0.0 };
        let row = [
            log(purchases[u] as f64),
            years_since,
            log(spend[u]),
            log(collection[u] as f64),
            focus,
            log(counts[u][0] as f64),
            log(counts[u][1] as f64),
            log(counts[u][2] as f64),
            log(counts[u][3] as f64),
            account,
        ];
        for (j, v) in row.into_iter().enumerate() {
            values[[u, j]] = v;
        }
    }
    Features { values, active: sales.iter().map(|&s| s >= active_min).collect(), purchases, collection }
}

/// Standardises columns to mean 0, standard deviation 1 (constant columns to 0). Unsupervised,
/// so doing it once over every user leaks no label into the folds.
fn standardise(x: &Array2<f64>) -> Array2<f64> {
    let mut out = x.clone();
    for (j, mut column) in out.axis_iter_mut(Axis(1)).enumerate() {
        let mean = x.column(j).mean().unwrap_or(0.0);
        let sd = x.column(j).std(0.0);
        let sd = if sd > 0.0 { sd } else { 1.0 };
        column.mapv_inplace(|v| (v - mean) / sd);
    }
    out
}

/// Stratified folds: positives and negatives each shuffled and dealt round-robin.
fn folds(labels: &[bool], k: usize, rng: &mut SmallRng) -> Vec<usize> {
    let mut fold = vec![0; labels.len()];
    for class in [true, false] {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        members.shuffle(rng);
        for (n, i) in members.into_iter().enumerate() {
            fold[i] = n % k;
        }
    }
    fold
}

/// Rows a model is trained on at most: ten features need no more, and it bounds the fits'
/// time whatever the number of users.
const MAX_TRAIN_ROWS: usize = 20_000;

/// Training rows: every positive and at most three negatives per positive, drawn at random;
/// then, past [`MAX_TRAIN_ROWS`], a random subset of those (which keeps the class ratio).
fn undersample(rows: &[usize], labels: &[bool], rng: &mut SmallRng) -> Vec<usize> {
    let positives: Vec<usize> = rows.iter().copied().filter(|&i| labels[i]).collect();
    let mut negatives: Vec<usize> = rows.iter().copied().filter(|&i| !labels[i]).collect();
    negatives.shuffle(rng);
    negatives.truncate((positives.len() * 3).max(50));
    let mut out = positives;
    out.extend(negatives);
    if out.len() > MAX_TRAIN_ROWS {
        out.shuffle(rng);
        out.truncate(MAX_TRAIN_ROWS);
    }
    out.sort_unstable();
    out
}

const LOGISTIC_ALPHA: f64 = 1.0;

/// A logistic regression fitted for P(label = true).
struct Logistic {
    /// Weights and intercept on the logit of `true`.
    weights: Array1<f64>,
    intercept: f64,
}

impl Logistic {
    fn fit(x: &Array2<f64>, y: &[bool], alpha: f64, model: &'static str) -> Result<Self, SellerError> {
        let dataset = Dataset::new(x.clone(), Array1::from(y.to_vec()));
        let fitted = linfa_logistic::LogisticRegression::default()
            .alpha(alpha)
            .max_iterations(200)
            .fit(&dataset)
            .map_err(|e| SellerError::Fit { model, message: e.to_string() })?;
        // linfa-logistic models whichever class it met first: turn it round when that was false.
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        Ok(Self { weights: fitted.params() * sign, intercept: fitted.intercept() * sign })
    }

    fn probabilities(&self, x: &Array2<f64>) -> Vec<f64> {
        (x.dot(&self.weights) + self.intercept).iter().map(|&z| sigmoid(z)).collect()
    }
}

/// Forest size and shape: enough trees to rank, few enough for 200k users in seconds.
const TREES: usize = 30;
/// Rows each tree is grown on at most (a bootstrap sample of the training rows).
const TREE_ROWS: f64 = 3_000.0;

struct Forest {
    model: linfa_ensemble::EnsembleLearner<linfa_trees::DecisionTree<f64, usize>>,
}

impl Forest {
    fn fit(x: &Array2<f64>, y: &[bool], rng: SmallRng) -> Result<Self, SellerError> {
        let targets: Array1<usize> = y.iter().map(|&l| usize::from(l)).collect();
        let dataset = Dataset::new(x.clone(), targets);
        let trees = linfa_trees::DecisionTree::params().max_depth(Some(6)).min_weight_leaf(10.0);
        let model = linfa_ensemble::EnsembleLearnerParams::new_fixed_rng(trees, rng)
            .ensemble_size(TREES)
            .bootstrap_proportion((TREE_ROWS / x.nrows().max(1) as f64).min(0.6))
            .feature_proportion(0.7)
            .fit(&dataset)
            .map_err(|e| SellerError::Fit { model: "random forest", message: e.to_string() })?;
        Ok(Self { model })
    }

    /// The share of trees voting "active seller".
    fn score(&self, x: &Array2<f64>) -> Vec<f64> {
        let mut votes = vec![0.0; x.nrows()];
        for (tree, features) in self.model.models.iter().zip(&self.model.model_features) {
            let predicted: Array1<usize> = tree.predict(&x.select(Axis(1), features));
            for (v, p) in votes.iter_mut().zip(predicted.iter()) {
                *v += *p as f64;
            }
        }
        votes.iter().map(|v| v / self.model.models.len() as f64).collect()
    }

    /// Mean impurity decrease per feature over the trees.
    fn importances(&self, features: usize) -> Vec<f64> {
        let mut total = vec![0.0; features];
        for (tree, used) in self.model.models.iter().zip(&self.model.model_features) {
            for (k, value) in tree.feature_importance().into_iter().enumerate() {
                if let Some(&j) = used.get(k) {
                    total[j] += value;
                }
            }
        }
        let n = self.model.models.len().max(1) as f64;
        total.iter().map(|t| t / n).collect()
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The model, its report and every user's calibrated out-of-fold P(sell).
fn fit_and_score(
    x: &Array2<f64>,
    labels: &[bool],
    settings: &SellerSettings,
    ctx: &crate::jobs::JobContext,
) -> Result<(Vec<f64>, ModelReport), SellerError> {
    let k = settings.folds.clamp(2, 10);
    let fold = folds(labels, k, &mut SmallRng::seed_from_u64(settings.seed));
    let n = labels.len();
    // Folds run side by side on the worker pool; each draws from its own seeded generator, so
    // the result does not depend on how many threads there are.
    let per_fold = crate::jobs::parallel_ranges(k, |folds_here| -> Result<Vec<(usize, f64, f64)>, SellerError> {
        let mut scored = Vec::new();
        for f in folds_here {
            ctx.check()?;
            let mut rng = SmallRng::seed_from_u64(settings.seed.wrapping_add(1 + f as u64));
            let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
            let test: Vec<usize> = (0..n).filter(|&i| fold[i] == f).collect();
            let sample = undersample(&train, labels, &mut rng);
            let (train_x, train_y) = (x.select(Axis(0), &sample), sample.iter().map(|&i| labels[i]).collect::<Vec<_>>());
            let test_x = x.select(Axis(0), &test);
            let logistic = Logistic::fit(&train_x, &train_y, LOGISTIC_ALPHA, "logistic regression")?.probabilities(&test_x);
            let forest = Forest::fit(&train_x, &train_y, rng)?.score(&test_x);
            scored.extend(test.iter().zip(logistic).zip(forest).map(|((&i, l), f)| (i, l, f)));
        }
        Ok(scored)
    });
    let (mut logistic_oof, mut forest_oof) = (vec![0.0; n], vec![0.0; n]);
    for part in per_fold {
        for (i, l, f) in part? {
            (logistic_oof[i], forest_oof[i]) = (l, f);
        }
    }
    let mut rng = SmallRng::seed_from_u64(settings.seed);
    let (auc_logistic, auc_forest) = (scoring::auc(&logistic_oof, labels), scoring::auc(&forest_oof, labels));
    let chosen = if auc_forest.unwrap_or(0.0) > auc_logistic.unwrap_or(0.0) { ModelKind::Forest } else { ModelKind::Logistic };
    let raw = if chosen == ModelKind::Forest { &forest_oof } else { &logistic_oof };
    // Platt scaling on the out-of-fold scores: the labels' logistic regression on the score
    // (over a random subset past MAX_TRAIN_ROWS: two parameters need no more).
    let mut subset: Vec<usize> = (0..n).collect();
    subset.shuffle(&mut rng);
    subset.truncate(MAX_TRAIN_ROWS);
    let scores = Array2::from_shape_fn((subset.len(), 1), |(r, _)| raw[subset[r]]);
    let subset_labels: Vec<bool> = subset.iter().map(|&i| labels[i]).collect();
    let platt_fit = Logistic::fit(&scores, &subset_labels, 0.0, "calibration")?;
    let platt = (platt_fit.weights[0], platt_fit.intercept);
    let p_sell: Vec<f64> = raw.iter().map(|s| sigmoid(platt.0 * s + platt.1)).collect();

    // Weights and importances from fits on every user (undersampled the same way).
    ctx.check()?;
    let all: Vec<usize> = (0..n).collect();
    let sample = undersample(&all, labels, &mut rng);
    let (sample_x, sample_y) = (x.select(Axis(0), &sample), sample.iter().map(|&i| labels[i]).collect::<Vec<_>>());
    let weights = Logistic::fit(&sample_x, &sample_y, LOGISTIC_ALPHA, "logistic regression")?.weights.to_vec();
    let importances = if chosen == ModelKind::Forest {
        Forest::fit(&sample_x, &sample_y, SmallRng::seed_from_u64(settings.seed))?.importances(x.ncols())
    } else {
        Vec::new()
    };

    let positives = labels.iter().filter(|&&l| l).count();
    let best = auc_logistic.unwrap_or(0.0).max(auc_forest.unwrap_or(0.0));
    let mut warnings = Vec::new();
    if positives < 30 {
        warnings.push(format!("only {positives} active sellers to learn from: the ranking is rough"));
    }
    if best < 0.6 {
        warnings.push(format!("the model is weak (AUC {best:.2}, 0.5 is chance): use the ranking as a hint, not a list"));
    } else if best < 0.7 {
        warnings.push(format!("the model is modest (AUC {best:.2}): expect many candidates not to become active sellers"));
    }
    let report = ModelReport {
        chosen,
        auc_logistic,
        auc_forest,
        precision_at: [50, 100, 500].into_iter().filter_map(|k| Some((k, scoring::precision_at(&p_sell, labels, k)?))).collect(),
        roc: scoring::roc_curve(&p_sell, labels, 200),
        pr: scoring::pr_curve(&p_sell, labels, 200),
        calibration: scoring::calibration(&p_sell, labels, 10),
        platt,
        weights,
        importances,
        positives,
        users: n,
        warnings,
    };
    Ok((p_sell, report))
}

/// Supply and demand per category as of `as_of`, shortest first.
pub fn shortages(data: &MarketplaceData, as_of: i64) -> Vec<CategoryShortage> {
    let categories = data.categories.len();
    let window = as_of - 90 * DAY;
    let mut demand = vec![0u64; categories];
    let mut active = vec![0u64; categories];
    let mut new = vec![0u64; categories];
    let category_of = |listing: Option<u32>| listing.and_then(|l| data.listings[l as usize].category);
    for l in &data.listings {
        let (Some(c), Some(listed)) = (l.category, l.listed) else { continue };
        if listed <= as_of && l.sold.is_none_or(|s| s > as_of) {
            active[c as usize] += 1;
        }
        if listed > window && listed <= as_of {
            new[c as usize] += 1;
        }
    }
    for x in data.interactions.iter().filter(|x| x.at > window && x.at <= as_of) {
        if let (Some(c), InteractionKind::View | InteractionKind::Like) = (category_of(x.listing), x.kind) {
            demand[c as usize] += 1;
        }
    }
    for o in data.orders.iter().filter(|o| o.at > window && o.at <= as_of) {
        if let Some(c) = category_of(o.listing) {
            demand[c as usize] += 1;
        }
    }
    // The last 7 full calendar months: demand in the month per listing active at its end. A
    // month the data covers only in part (it ends on the 1st) would read as demand collapsing.
    let start_of = |m: i32| crate::analytics::order_frame::month_start(m).and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp());
    let last_month = if as_of + DAY >= start_of(month_of(as_of) + 1) { month_of(as_of) } else { month_of(as_of) - 1 };
    let month_end = |m: i32| start_of(m + 1).min(as_of + 1);
    // One pass over each table, each row counted in its month's slot.
    let first_month = last_month - 6;
    let ends: Vec<i64> = (first_month..=last_month).map(month_end).collect();
    let slot_of = |t: i64| (t >= month_end(first_month - 1) && t < month_end(last_month)).then(|| (month_of(t) - first_month) as usize);
    let mut month_demand = vec![[0u64; 7]; categories];
    for x in &data.interactions {
        if let (Some(c), InteractionKind::View | InteractionKind::Like, Some(slot)) = (category_of(x.listing), x.kind, slot_of(x.at)) {
            month_demand[c as usize][slot] += 1;
        }
    }
    for o in &data.orders {
        if let (Some(c), Some(slot)) = (category_of(o.listing), slot_of(o.at)) {
            month_demand[c as usize][slot] += 1;
        }
    }
    let mut month_active = vec![[0u64; 7]; categories];
    for l in &data.listings {
        if let (Some(c), Some(listed)) = (l.category, l.listed) {
            for (slot, &end) in ends.iter().enumerate() {
                if listed < end && l.sold.is_none_or(|s| s >= end) {
                    month_active[c as usize][slot] += 1;
                }
            }
        }
    }
    let mut trend: Vec<Vec<f64>> =
        (0..categories).map(|c| (0..7).map(|slot| month_demand[c][slot] as f64 / month_active[c][slot].max(1) as f64).collect()).collect();
    let mut out: Vec<CategoryShortage> = (0..categories)
        .map(|c| CategoryShortage {
            category: c as u32,
            demand: demand[c],
            supply: active[c],
            new_per_month: new[c] as f64 / (90.0 / 30.4375),
            shortage_ratio: demand[c] as f64 / active[c].max(1) as f64,
            trend: std::mem::take(&mut trend[c]),
            selected: false,
        })
        .collect();
    out.sort_by(|a, b| b.shortage_ratio.total_cmp(&a.shortage_ratio).then(a.category.cmp(&b.category)));
    out
}

/// The month (as `order_frame::month_index`) of a moment.
fn month_of(t: i64) -> i32 {
    let d = crate::analytics::customers::date_of_day(t.div_euclid(DAY));
    crate::analytics::order_frame::month_index(chrono::Datelike::year(&d), chrono::Datelike::month(&d))
}

/// Monthly activity for the business overview.
pub fn months(data: &MarketplaceData) -> Vec<MonthActivity> {
    let mut months: std::collections::BTreeMap<i32, MonthActivity> = std::collections::BTreeMap::new();
    let mut add = |t: i64, field: fn(&mut MonthActivity)| {
        let m = month_of(t);
        field(months.entry(m).or_insert(MonthActivity {
            month: m,
            new_users: 0,
            new_sellers: 0,
            orders: 0,
            collection_adds: 0,
            likes: 0,
            partial: false,
        }));
    };
    for t in data.users.iter().filter_map(|u| u.signup) {
        add(t, |m| m.new_users += 1);
    }
    let mut first_sale: HashMap<u32, i64> = HashMap::new();
    for o in &data.orders {
        add(o.at, |m| m.orders += 1);
        let first = first_sale.entry(o.seller).or_insert(o.at);
        *first = (*first).min(o.at);
    }
    for &t in first_sale.values() {
        add(t, |m| m.new_sellers += 1);
    }
    for t in data.items.iter().filter_map(|i| i.added) {
        add(t, |m| m.collection_adds += 1);
    }
    for x in data.interactions.iter().filter(|x| x.kind == InteractionKind::Like) {
        add(x.at, |m| m.likes += 1);
    }
    let mut months: Vec<MonthActivity> = months.into_values().collect();
    let last_day = data.last_time().map(|t| crate::analytics::customers::date_of_day(t.div_euclid(DAY)));
    if let (Some(last), Some(day)) = (months.last_mut(), last_day) {
        last.partial = day.succ_opt().is_some_and(|next| chrono::Datelike::month(&next) == chrono::Datelike::month(&day));
    }
    months
}

/// Everything the Sellers panel shows.
pub fn compute(data: &MarketplaceData, settings: &SellerSettings, ctx: &crate::jobs::JobContext) -> Result<SellerResult, SellerError> {
    let as_of = settings.as_of.or_else(|| data.last_time()).unwrap_or(0);
    ctx.set_message("features");
    let features = features(data, as_of, settings.active_min);
    let active_sellers = features.active.iter().filter(|&&a| a).count();
    if active_sellers == 0 {
        return Err(SellerError::NoSellers(settings.active_min));
    }
    if active_sellers == data.users.len() {
        return Err(SellerError::NoCandidates);
    }
    let x = standardise(&features.values);
    ctx.set_message("fitting and cross-validating the models");
    let (p_sell, report) = fit_and_score(&x, &features.active, settings, ctx)?;

    ctx.set_message("shortage and scores");
    let (shortages, weight) = selected_shortages(data, settings, as_of);
    let mut owned: HashMap<u32, Vec<(u32, u64)>> = HashMap::new();
    let mut counts: HashMap<(u32, u32), u64> = HashMap::new();
    for item in data.items.iter().filter(|i| i.added.is_none_or(|t| t <= as_of)) {
        if let Some(c) = item.category.filter(|c| weight[*c as usize] > 0.0) {
            *counts.entry((item.user, c)).or_default() += 1;
        }
    }
    for ((user, c), n) in counts {
        owned.entry(user).or_default().push((c, n));
    }
    let mut candidates: Vec<Candidate> = (0..data.users.len())
        .filter(|&u| !features.active[u])
        .map(|u| {
            let mut short_items = owned.remove(&(u as u32)).unwrap_or_default();
            short_items.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let size = features.collection[u];
            let matched = if size > 0 { short_items.iter().map(|&(c, n)| n as f64 / size as f64 * weight[c as usize]).sum() } else { 0.0 };
            let mut reasons: Vec<Reason> = report
                .weights
                .iter()
                .enumerate()
                .map(|(j, w)| Reason { feature: j, contribution: w * x[[u, j]], above_average: x[[u, j]] > 0.0 })
                .filter(|r| r.contribution > 0.05)
                .collect();
            reasons.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
            reasons.truncate(3);
            Candidate {
                user: u as u32,
                p_sell: p_sell[u],
                matched,
                score: p_sell[u] * matched,
                purchases: features.purchases[u],
                collection: size,
                short_items,
                reasons,
            }
        })
        .collect();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.p_sell.total_cmp(&a.p_sell)).then(a.user.cmp(&b.user)));
    Ok(SellerResult { as_of, active_min: settings.active_min, active_sellers, report, shortages, candidates, months: months(data) })
}

/// The candidates as exported (`shoplens sellers --out`): every non-seller, best first.
pub fn candidates_table(data: &MarketplaceData, result: &SellerResult, top: Option<usize>) -> Table {
    let header = ["user_id", "score", "p_sell", "match", "country", "purchases", "collection_size", "top_categories", "reasons"]
        .map(String::from)
        .to_vec();
    let rows = result
        .candidates
        .iter()
        .take(top.unwrap_or(usize::MAX))
        .map(|c| {
            let user = &data.users[c.user as usize];
            vec![
                user.id.clone(),
                format!("{:.6}", c.score),
                format!("{:.6}", c.p_sell),
                format!("{:.6}", c.matched),
                user.country.clone(),
                c.purchases.to_string(),
                c.collection.to_string(),
                c.short_items.iter().map(|&(cat, n)| format!("{} {n}", data.categories[cat as usize])).collect::<Vec<_>>().join("; "),
                reasons_text(c),
            ]
        })
        .collect();
    (header, rows)
}

/// "large collection; spends a lot": what raised P(sell) most.
pub fn reasons_text(candidate: &Candidate) -> String {
    candidate.reasons.iter().map(Reason::text).collect::<Vec<_>>().join("; ")
}

/// The categories as exported (`shoplens sellers --categories-out`): shortest first.
pub fn categories_table(data: &MarketplaceData, shortages: &[CategoryShortage]) -> Table {
    let header = ["category", "demand", "supply", "shortage_ratio", "new_listings_per_month", "selected", "trend_7_months"]
        .map(String::from)
        .to_vec();
    let rows = shortages
        .iter()
        .map(|s| {
            vec![
                data.categories[s.category as usize].clone(),
                s.demand.to_string(),
                s.supply.to_string(),
                format!("{:.4}", s.shortage_ratio),
                format!("{:.2}", s.new_per_month),
                if s.selected { "yes" } else { "no" }.to_string(),
                s.trend.iter().map(|t| format!("{t:.3}")).collect::<Vec<_>>().join(";"),
            ]
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::marketplace::MarketplaceBuilder;

    /// The label must not leak into the features: a user's own listings, sales and the
    /// interactions on their own listings change none of their features (hand-checked: only the
    /// purchase, the collection item and the like on someone else's listing count).
    #[test]
    fn features_ignore_the_users_own_listings_and_sales() {
        let day = |d: i64| d * DAY;
        let mut b = MarketplaceBuilder::default();
        b.user("seller", Some(0), Some("FR"));
        b.user("other", Some(0), Some("FR"));
        for (i, sold) in [10, 20, 30].into_iter().enumerate() {
            let id = format!("own{i}");
            b.listing(&id, "seller", Some("watches"), None, Some(100.0), None, Some(day(1)), Some(day(sold)));
            b.order(Some(&id), "other", "seller", Some(100.0), day(sold));
            b.interaction("seller", Some(&id), "view", day(5));
            b.interaction("seller", Some(&id), "like", day(5));
        }
        b.listing("theirs", "other", Some("vinyl"), None, Some(20.0), None, Some(day(2)), Some(day(40)));
        b.order(Some("theirs"), "seller", "other", Some(20.0), day(40));
        b.interaction("seller", Some("theirs"), "like", day(3));
        b.item("seller", Some("vinyl"), None, Some(day(4)));
        let data = b.finish();
        let f = features(&data, day(365), 3);
        assert_eq!(f.active, [true, false], "three sales in the year make the seller active");
        let seller = f.values.row(0);
        let log2 = 2f64.ln();
        assert_eq!(seller[0], log2, "one purchase (as a buyer)");
        assert_eq!(seller[2], 21f64.ln(), "spend 20");
        assert_eq!(seller[3], log2, "one collection item");
        assert_eq!(seller[5], log2, "one like, on someone else's listing");
        assert_eq!((seller[6], seller[7], seller[8]), (0.0, 0.0, 0.0), "no views or carts of others' listings");
        assert_eq!(f.purchases[0], 1);
        // The data runs from 1 Jan to 10 Feb 1970: February is partial, January is not.
        let months = months(&data);
        assert_eq!(months.iter().map(|m| m.partial).collect::<Vec<_>>(), [false, true]);
        assert_eq!(data.date_span().map(|(a, b)| (a.to_string(), b.to_string())), Some(("1970-01-01".into(), "1970-02-10".into())));
    }
}

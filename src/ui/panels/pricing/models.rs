//! The Pricing panel's models: the in-memory copy of the workspace's prices (catalogue, our
//! price history, competitor observations, daily sales), the thresholds and rules being edited,
//! the alerts the user reviewed, the decision log, and the latest monitor, signals, elasticity
//! and recommendation results.
//!
//! Every result carries the copy it was computed from ([`Computed`]); recommendations are made
//! from the monitor and the elasticities of that same copy.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::analytics::abtest::{self, AbError, AbResult, Arm};
use crate::analytics::alerts::{AlertSettings, Review, SignalKey};
use crate::analytics::elasticity::{self, Estimate, SalesDay};
use crate::analytics::impact::{self, Assessment};
use crate::analytics::matching::{self, MatchRow, MatchStatus};
use crate::analytics::pricing::{self, Monitor, PricingData, PricingSettings, Signal};
use crate::analytics::recommend::{self, RecommendSettings, Recommendation};
use crate::jobs::{Job, JobError, JobMonitor, Latest};
use crate::ui::models::{follow_copy, Computed, CopyJob, DataChange, PanelModels, PollContext, Versioned, WorkspaceData};
use crate::workspace::settings::{self as saved, PriceDecision};
use crate::workspace::{self, Workspace};

/// The monitor and the signals for one set of thresholds.
pub struct Market {
    pub monitor: Monitor,
    pub signals: Vec<Signal>,
}

pub type MarketOutput = Computed<PricingData, Market>;
/// Each product's estimate, and the days it was fitted on (for the panel's chart).
pub struct Elasticities {
    pub estimates: Vec<Estimate>,
    pub days: HashMap<u32, Vec<SalesDay>>,
}

pub type ElasticityOutput = Computed<PricingData, Elasticities>;
pub type ProposalsOutput = Computed<PricingData, Vec<Recommendation>>;
pub type AbOutput = Computed<PricingData, Result<AbResult, AbError>>;
/// Every change of our price and what it did (the decisions read with the same copy).
pub type ImpactOutput = Computed<PricingData, Vec<Assessment>>;

/// Tables whose import changes what the panel shows.
const PRICING_TABLES: [&str; 4] = ["products", "our_prices", "competitor_prices", "order_lines"];

/// What one read of the workspace brings.
struct Loaded {
    data: PricingData,
    decisions: Vec<PriceDecision>,
    /// Read only the first time per workspace; afterwards the panel's edits are the truth.
    settings: Option<Saved>,
}

/// The panel's settings as the workspace holds them.
struct Saved {
    thresholds: PricingSettings,
    alerts: AlertSettings,
    rules: RecommendSettings,
    reviews: HashMap<SignalKey, Review>,
    basis: PriceBasis,
}

/// What our prices are: competitor prices are compared only when theirs match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceBasis {
    /// Our currency (else the feeds' most common one is taken to be ours).
    pub currency: Option<String>,
    pub include_tax: Option<bool>,
}

#[derive(Default)]
pub struct PricingModels {
    pub data: Option<Versioned<PricingData>>,
    load: CopyJob<Loaded>,
    settings_read: bool,
    /// Signal thresholds (and the competitor the index is also taken against), as edited.
    pub thresholds: PricingSettings,
    pub alerts: AlertSettings,
    pub rules: RecommendSettings,
    /// What is saved in the workspace, to tell the user about unsaved edits.
    saved: (PricingSettings, AlertSettings, RecommendSettings),
    pub reviews: HashMap<SignalKey, Review>,
    /// Our prices' currency and tax basis, as saved.
    pub basis: PriceBasis,
    /// The decision log, newest first.
    pub decisions: Vec<PriceDecision>,
    /// Every write of the family (settings, reviews, decisions, matches, our price basis), one
    /// at a time in the order made.
    writes: crate::jobs::Serial<Written>,
    pub market: Latest<(u64, PricingSettings), MarketOutput>,
    pub elasticity: Latest<u64, ElasticityOutput>,
    pub proposals: Latest<(u64, PricingSettings, RecommendSettings), ProposalsOutput>,
    pub abtest: Latest<(u64, Arm, Arm), AbOutput>,
    /// Keyed by the copy (which carries the decision log read with it) and the window's days.
    pub impact: Latest<(u64, usize), ImpactOutput>,
    /// Name-keyed feeds: every competitor product's match as last computed and saved.
    pub matches: Option<Vec<MatchRow>>,
    match_job: Option<Job<Vec<MatchRow>>>,
    /// The least similarity a suggestion needs.
    pub min_similarity: f64,
}

impl PricingModels {
    fn reload(&mut self, workspace: PathBuf) -> JobMonitor {
        let read_settings = !self.settings_read;
        self.load.start("load prices", move |ctx| {
            let conn = workspace::open_read_only(&workspace)?;
            let settings = if read_settings {
                Some(Saved {
                    thresholds: saved::load_pricing_setting(&conn, saved::SIGNAL_THRESHOLDS)?,
                    alerts: saved::load_pricing_setting(&conn, saved::ALERTS)?,
                    rules: saved::load_pricing_setting(&conn, saved::RECOMMEND_RULES)?,
                    reviews: saved::load_signal_reviews(&conn)?,
                    basis: PriceBasis {
                        currency: saved::load_pricing_setting(&conn, saved::OUR_CURRENCY)?,
                        include_tax: saved::load_pricing_setting(&conn, saved::OUR_PRICES_INCLUDE_TAX)?,
                    },
                })
            } else {
                None
            };
            let data = workspace::copies::load_pricing(&conn, ctx)?;
            Ok(Loaded { data, decisions: saved::load_decisions(&conn)?, settings })
        })
    }

    /// Loads the workspace's prices unless a copy is shown or on its way (the family is made
    /// when the Pricing panel first asks, so that is when the copy loads).
    pub fn ensure_loaded(&mut self, data: &WorkspaceData) -> Option<JobMonitor> {
        self.load.wanted_from(self.data.is_some(), data).map(|path| self.reload(path))
    }

    pub fn loading(&self) -> bool {
        self.load.running()
    }

    /// Whether the thresholds and rules are read (the panel waits for them before computing).
    pub fn ready(&self) -> Option<Versioned<PricingData>> {
        self.data.clone().filter(|_| self.settings_read)
    }

    pub fn request_market(&mut self) -> Option<JobMonitor> {
        let data = self.ready()?;
        let settings = self.thresholds.clone();
        self.market.request(&(data.id, settings.clone()), move || {
            Job::spawn("monitor prices and signals", move |_| {
                let monitor = pricing::monitor(&data.data, &settings, None);
                let signals = pricing::signals(&data.data, &settings, None);
                Ok(Computed { input: data.data, result: Market { monitor, signals } })
            })
        })
    }

    pub fn request_elasticity(&mut self) -> Option<JobMonitor> {
        let data = self.ready()?;
        self.elasticity.request(&data.id, move || {
            Job::spawn("estimate price elasticities", move |_| {
                let sales = elasticity::product_sales(&data.data);
                let estimates = elasticity::estimate(&sales);
                let days = sales.into_iter().map(|s| (s.product, s.days)).collect();
                Ok(Computed { input: data.data.clone(), result: Elasticities { estimates, days } })
            })
        })
    }

    /// Whether the proposals shown were computed for the copy, thresholds and rules on screen
    /// now: only then may they be recorded or exported (a rule just changed recomputes them).
    pub fn proposals_current(&self) -> bool {
        let Some(data) = self.ready() else { return false };
        self.proposals.get_for(&(data.id, self.thresholds.clone(), self.rules.clone())).is_some()
    }

    /// Proposals from the monitor and the elasticities of the current copy, once both are in.
    pub fn request_proposals(&mut self) -> Vec<JobMonitor> {
        let mut monitors: Vec<JobMonitor> = self.request_market().into_iter().chain(self.request_elasticity()).collect();
        let Some(data) = self.ready() else { return monitors };
        let market_key = (data.id, self.thresholds.clone());
        let (Some(market), Some(estimates)) = (self.market.get_for(&market_key).cloned(), self.elasticity.get_for(&data.id).cloned())
        else {
            return monitors;
        };
        let rules = self.rules.clone();
        let key = (data.id, self.thresholds.clone(), rules.clone());
        monitors.extend(self.proposals.request(&key, move || {
            Job::spawn("recommend prices", move |_| {
                // Rules from a workspace are data: ones that make no band are said, not used.
                if let Some(problem) = rules.problem() {
                    return Err(JobError::Failed(format!("the pricing rules cannot be used: {problem}")));
                }
                let result = recommend::recommend(&data.data, &market.monitor, &estimates.estimates, &rules);
                Ok(Computed { input: data.data, result })
            })
        }));
        monitors
    }

    /// Works out the name matches (keeping what was decided) and saves them, as `shoplens
    /// pricing match` does.
    pub fn refresh_matches(&mut self, workspace: Option<&PathBuf>) -> Option<JobMonitor> {
        let path = workspace.cloned()?;
        let min = if self.min_similarity > 0.0 { self.min_similarity } else { 0.8 };
        let job = Job::spawn("match competitor products by name", move |_| {
            let mut ws = Workspace::open(&path)?;
            let theirs = saved::named_products(ws.conn())?;
            let rows = matching::matches(&saved::catalogue_names(ws.conn())?, &theirs, min, &saved::load_matches(ws.conn())?);
            saved::save_matches(ws.conn_mut(), &rows)?;
            Ok(rows)
        });
        let monitor = job.monitor();
        self.match_job = Some(job);
        Some(monitor)
    }

    /// Confirms or rejects matches; saved, then the prices are read again (only confirmed
    /// matches are compared).
    pub fn decide_matches(&mut self, decide: impl Fn(&MatchRow) -> Option<MatchStatus>, workspace: Option<&PathBuf>) {
        let (Some(path), Some(rows)) = (workspace.cloned(), self.matches.as_mut()) else { return };
        let mut changed = 0;
        for row in rows.iter_mut() {
            if let Some(status) = decide(row).filter(|s| *s != row.status) {
                row.status = status;
                changed += 1;
            }
        }
        if changed == 0 {
            return;
        }
        let rows = rows.clone();
        self.writes.push("save name matches", move |_| {
            let mut ws = Workspace::open(&path)?;
            saved::save_matches(ws.conn_mut(), &rows)?;
            Ok(Written::said(format!("Saved {changed} match decisions; confirmed matches are now compared"), true))
        });
    }

    pub fn matching(&self) -> bool {
        self.match_job.is_some()
    }

    /// Compares arm B with arm A on the current copy (the same as `shoplens pricing abtest`).
    pub fn request_abtest(&mut self, a: Arm, b: Arm) -> Option<JobMonitor> {
        let data = self.ready()?;
        self.abtest.request(&(data.id, a.clone(), b.clone()), move || {
            Job::spawn("compare the A/B arms", move |_| {
                let result = abtest::compare(&data.data, &a, &b);
                Ok(Computed { input: data.data, result })
            })
        })
    }

    /// Measures every change of our price over `window_days` before and after it, matched with
    /// the decisions of the log (the same as `shoplens pricing impact`).
    pub fn request_impact(&mut self, window_days: usize) -> Option<JobMonitor> {
        let data = self.ready()?;
        let decided = saved::decided_changes(&self.decisions, &data.data);
        self.impact.request(&(data.id, window_days), move || {
            Job::spawn("measure price changes", move |ctx| {
                let result = impact::assess(&data.data, window_days, &decided, ctx)?;
                Ok(Computed { input: data.data, result })
            })
        })
    }

    /// Whether the thresholds, alert settings or rules differ from what the workspace holds.
    pub fn unsaved(&self) -> bool {
        (&self.thresholds, &self.alerts, &self.rules) != (&self.saved.0, &self.saved.1, &self.saved.2)
    }

    /// Saves the thresholds, the alert list's settings and the rules in the workspace.
    pub fn save_settings(&mut self, workspace: Option<&PathBuf>) {
        let Some(path) = workspace.cloned() else { return };
        let settings = (self.thresholds.clone(), self.alerts.clone(), self.rules.clone());
        // Counted as saved once the write succeeded, not before.
        self.writes.push("save pricing settings", move |_| {
            let ws = Workspace::open(&path)?;
            saved::save_pricing_setting(ws.conn(), saved::SIGNAL_THRESHOLDS, &settings.0)?;
            saved::save_pricing_setting(ws.conn(), saved::ALERTS, &settings.1)?;
            saved::save_pricing_setting(ws.conn(), saved::RECOMMEND_RULES, &settings.2)?;
            Ok(Written { message: "Saved the pricing thresholds and rules in the workspace".into(), saved: Some(settings), reload: false })
        });
    }

    /// Acknowledges or snoozes an alert (or, with `None`, takes that back): at once on screen,
    /// saved in the workspace by a job.
    pub fn review(&mut self, key: SignalKey, review: Option<Review>, workspace: Option<&PathBuf>) {
        match review {
            Some(review) => self.reviews.insert(key.clone(), review),
            None => self.reviews.remove(&key),
        };
        let Some(path) = workspace.cloned() else { return };
        self.writes.push("save alert review", move |_| {
            let ws = Workspace::open(&path)?;
            saved::save_signal_review(ws.conn(), &key, review)?;
            Ok(Written::said("", false))
        });
    }

    /// Writes the decisions to the log (and accepted prices into our price history), then
    /// reloads the prices so the queue shows the new current prices.
    pub fn decide(&mut self, decisions: Vec<PriceDecision>, workspace: Option<&PathBuf>) {
        let Some(path) = workspace.cloned() else { return };
        self.writes.push("record price decisions", move |_| {
            let mut ws = Workspace::open(&path)?;
            saved::record_decisions(ws.conn_mut(), &decisions)?;
            let accepted = decisions.iter().filter(|d| d.accepted).count();
            let message = format!("Recorded {accepted} accepted and {} rejected prices in the decision log", decisions.len() - accepted);
            Ok(Written::said(message, true))
        });
    }

    /// Saves what our prices are, then reloads the prices (which feeds compare depends on it).
    pub fn set_basis(&mut self, basis: PriceBasis, workspace: Option<&PathBuf>) {
        let Some(path) = workspace.cloned() else { return };
        self.basis = basis.clone();
        self.writes.push("save our price basis", move |_| {
            let ws = Workspace::open(&path)?;
            saved::save_pricing_setting(ws.conn(), saved::OUR_CURRENCY, &basis.currency)?;
            saved::save_pricing_setting(ws.conn(), saved::OUR_PRICES_INCLUDE_TAX, &basis.include_tax)?;
            Ok(Written::said("Saved what our prices are; competitor prices are compared on that basis", true))
        });
    }

    pub fn writing(&self) -> bool {
        self.writes.is_busy()
    }
}

impl PanelModels for PricingModels {
    fn poll(&mut self, cx: &mut PollContext<'_>) {
        match self.load.take_finished() {
            Some(Ok(loaded)) => {
                if let Some(saved) = loaded.settings {
                    self.saved = (saved.thresholds.clone(), saved.alerts.clone(), saved.rules.clone());
                    (self.thresholds, self.alerts, self.rules, self.reviews) = (saved.thresholds, saved.alerts, saved.rules, saved.reviews);
                    self.basis = saved.basis;
                    self.settings_read = true;
                }
                self.data = Some(Versioned::new(loaded.data));
                self.decisions = loaded.decisions;
            }
            Some(Err(JobError::Cancelled)) => {}
            Some(Err(JobError::Failed(e))) => cx.error(format!("Could not load prices: {e}")),
            None => {}
        }
        let (written, started) = self.writes.poll();
        if let Some(monitor) = started {
            cx.track(monitor);
        }
        match written {
            Some(Ok(written)) => {
                if let Some(settings) = written.saved {
                    self.saved = settings;
                }
                // Reviews save silently.
                if !written.message.is_empty() {
                    cx.info(written.message);
                }
                if written.reload {
                    if let Some(path) = cx.data.path.clone() {
                        let monitor = self.reload(path);
                        cx.track(monitor);
                        cx.listing_changed();
                    }
                }
            }
            Some(Err(JobError::Failed(e))) => cx.error(format!("Could not save: {e}")),
            Some(Err(JobError::Cancelled)) | None => {}
        }
        cx.report("Price monitor", self.market.poll());
        cx.report("Elasticity", self.elasticity.poll());
        cx.report("Recommendations", self.proposals.poll());
        cx.report("A/B test", self.abtest.poll());
        cx.report("Price change impact", self.impact.poll());
        match crate::jobs::take_finished(&mut self.match_job) {
            Some(Ok(rows)) => self.matches = Some(rows),
            Some(Err(JobError::Failed(e))) => cx.error(format!("Matching by name failed: {e}")),
            _ => {}
        }
    }

    fn data_changed(&mut self, change: &DataChange, cx: &mut PollContext<'_>) {
        follow_copy(self, change, &PRICING_TABLES, cx, Self::reload);
    }

    fn busy(&self) -> bool {
        self.load.running()
            || self.writes.is_busy()
            || self.market.is_running()
            || self.elasticity.is_running()
            || self.proposals.is_running()
            || self.abtest.is_running()
            || self.impact.is_running()
            || self.match_job.is_some()
    }
}

/// What a write of the pricing family did.
pub struct Written {
    /// For the status line; empty: nothing to say (a review).
    message: String,
    /// Settings now saved in the workspace: what "unsaved edits" is measured against.
    saved: Option<(PricingSettings, AlertSettings, RecommendSettings)>,
    /// The write changed what the prices copy holds (decisions, matches, our price basis): read
    /// the prices again.
    reload: bool,
}

impl Written {
    fn said(message: impl Into<String>, reload: bool) -> Self {
        Self { message: message.into(), saved: None, reload }
    }
}

/// The prices decided in the queue, by product code of `data`.
pub fn decided_prices(data: &PricingData, decisions: &[PriceDecision]) -> HashMap<u32, f64> {
    let code: HashMap<&str, u32> = data.products.iter().enumerate().map(|(i, p)| (p.id.as_str(), i as u32)).collect();
    decisions.iter().filter(|d| d.accepted).filter_map(|d| Some((*code.get(d.product_id.as_str())?, d.new_price?))).collect()
}

//! The models the Sellers and Listings panels read: the in-memory copy of the marketplace
//! tables, the seller model's settings as edited, and the latest seller and listing results.
//! Both panels draw from one copy, so they share one family.

use std::path::PathBuf;

use crate::analytics::marketplace::listings::{self, GroupBy, ListingsResult};
use crate::analytics::marketplace::sellers::{self, SellerResult, SellerSettings};
use crate::analytics::marketplace::MarketplaceData;
use crate::analytics::Filters;
use crate::jobs::{Job, JobError, JobMonitor, Latest};
use crate::ui::models::{follow_copy, Computed, CopyJob, DataChange, PanelModels, PollContext, Versioned, WorkspaceData};
use crate::workspace;

pub type SellersOutput = Computed<MarketplaceData, SellerResult>;
pub type ListingsOutput = Computed<MarketplaceData, ListingsResult>;

/// Tables whose import changes what the panels show.
const MARKETPLACE_TABLES: [&str; 5] = ["users", "collection_items", "listings", "marketplace_orders", "interactions"];

/// What a seller result is for: the copy and the settings that change it.
type SellerKey = (u64, u32, Option<i64>, Option<Vec<String>>);

#[derive(Default)]
pub struct MarketplaceModels {
    pub data: Option<Versioned<MarketplaceData>>,
    load: CopyJob<MarketplaceData>,
    pub seller_settings: SellerSettings,
    pub sellers: Latest<SellerKey, SellersOutput>,
    pub listings: Latest<(u64, Filters, GroupBy), ListingsOutput>,
}

impl MarketplaceModels {
    fn reload(&mut self, workspace: PathBuf) -> JobMonitor {
        self.load.start("load the marketplace", move |ctx| {
            let conn = workspace::open_read_only(&workspace)?;
            Ok(workspace::copies::load_marketplace(&conn, ctx)?)
        })
    }

    /// Loads the marketplace unless a copy is shown or on its way (when a panel first asks).
    pub fn ensure_loaded(&mut self, data: &WorkspaceData) -> Option<JobMonitor> {
        self.load.wanted_from(self.data.is_some(), data).map(|path| self.reload(path))
    }

    pub fn loading(&self) -> bool {
        self.load.running()
    }

    fn seller_key(&self, data: &Versioned<MarketplaceData>) -> SellerKey {
        let s = &self.seller_settings;
        (data.id, s.active_min, s.as_of, s.short_categories.clone())
    }

    pub fn request_sellers(&mut self) -> Option<JobMonitor> {
        let data = self.data.clone()?;
        let settings = self.seller_settings.clone();
        let key = self.seller_key(&data);
        self.sellers.request(&key, move || {
            Job::spawn("score seller candidates", move |ctx| {
                let result = sellers::compute(&data.data, &settings, ctx).map_err(sellers::SellerError::into_job_error)?;
                Ok(Computed { input: data.data, result })
            })
        })
    }

    /// The seller result's error for the current settings, if it failed (no sellers, ...).
    pub fn sellers_error(&self) -> Option<&str> {
        let data = self.data.as_ref()?;
        self.sellers.error_for(&self.seller_key(data))
    }

    pub fn request_listings(&mut self, filters: &Filters, by: GroupBy) -> Option<JobMonitor> {
        let data = self.data.clone()?;
        let key = (data.id, filters.clone(), by);
        let filters = filters.clone();
        self.listings.request(&key, move || {
            Job::spawn("listing metrics", move |_| {
                let result = listings::compute(&data.data, &filters, by);
                Ok(Computed { input: data.data, result })
            })
        })
    }
}

impl PanelModels for MarketplaceModels {
    fn poll(&mut self, cx: &mut PollContext<'_>) {
        match self.load.take_finished() {
            Some(Ok(data)) => self.data = Some(Versioned::new(data)),
            Some(Err(JobError::Cancelled)) => {}
            Some(Err(JobError::Failed(e))) => cx.error(format!("Could not load the marketplace: {e}")),
            None => {}
        }
        // A failed seller fit is shown in the panel (it says why: no sellers, ...), not as an alert.
        let _ = self.sellers.poll();
        cx.report("Listings", self.listings.poll());
    }

    fn data_changed(&mut self, change: &DataChange, cx: &mut PollContext<'_>) {
        follow_copy(self, change, &MARKETPLACE_TABLES, cx, Self::reload);
    }

    fn busy(&self) -> bool {
        self.load.running() || self.sellers.is_running() || self.listings.is_running()
    }
}

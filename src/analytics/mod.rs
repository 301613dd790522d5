//! Analytics: pure functions from workspace data to result types. Nothing here knows about egui;
//! the panels and the CLI render the same results.

pub mod order_frame;
pub mod overview;

use chrono::NaiveDate;

/// The global filters every analysis honours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Filters {
    /// First day included.
    pub from: Option<NaiveDate>,
    /// Last day included.
    pub to: Option<NaiveDate>,
    /// Order lines of this country only.
    pub country: Option<String>,
}

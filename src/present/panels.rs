//! The window's panels by name: the id that saved views, reports, `shoplens open --panel` and
//! the navigation use, and the title people read. Declared once here, below both the window
//! (`ui::panels`, one `Panel` per name) and the reports that rebuild a saved view
//! (`present::slide`).

/// A panel's id and title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PanelName {
    /// Stable: saved views and scripts name panels by it.
    pub id: &'static str,
    pub title: &'static str,
}

pub const OVERVIEW: PanelName = PanelName { id: "overview", title: "Overview" };
pub const FINDINGS: PanelName = PanelName { id: "findings", title: "Findings" };
pub const SEGMENTS: PanelName = PanelName { id: "segments", title: "Segments" };
pub const CUSTOMER_VALUE: PanelName = PanelName { id: "customer_value", title: "Customer value" };
pub const FUNNEL: PanelName = PanelName { id: "funnel", title: "Funnel" };
pub const PRICING: PanelName = PanelName { id: "pricing", title: "Pricing" };
pub const SELLERS: PanelName = PanelName { id: "sellers", title: "Sellers" };
pub const LISTINGS: PanelName = PanelName { id: "listings", title: "Listings" };
pub const DATA: PanelName = PanelName { id: "data", title: "Data" };
pub const SQL: PanelName = PanelName { id: "sql", title: "SQL" };

/// Every panel, in the navigation's order.
pub const ALL: [PanelName; 10] = [OVERVIEW, FINDINGS, SEGMENTS, CUSTOMER_VALUE, FUNNEL, PRICING, SELLERS, LISTINGS, DATA, SQL];

/// The tabs a report rebuilds saved views of, by the names their panels show and save (a
/// view's `tab`), declared here for the panels' tab bars and the slides alike.
pub mod tab {
    pub const RFM_SEGMENTS: &str = "RFM segments";
    pub const COHORTS: &str = "Cohorts";
    pub const FUNNEL: &str = "Funnel";
    pub const MONITOR: &str = "Monitor";
    pub const DECISIONS: &str = "Decisions";
    pub const SHORT_CATEGORIES: &str = "Short categories";
    pub const CANDIDATES: &str = "Candidates";
}

/// The panel with this id.
pub fn named(id: &str) -> Option<PanelName> {
    ALL.into_iter().find(|panel| panel.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_titles_are_unique_and_found_by_id() {
        for (i, panel) in ALL.iter().enumerate() {
            assert_eq!(named(panel.id), Some(*panel));
            assert!(ALL[i + 1..].iter().all(|other| other.id != panel.id && other.title != panel.title), "{panel:?}");
        }
        assert_eq!(named("nowhere"), None);
    }
}

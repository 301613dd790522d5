//! One module per panel. A panel draws prepared results and returns what it wants done; the app
//! shell (`ui::app`) owns the jobs that prepare those results.

pub mod customer_value;
pub mod data;
pub mod funnel;
pub mod overview;
pub mod segments;
pub mod sql;

use crate::analytics::rfm::SegmentGrid;
use crate::analytics::Table;
use crate::jobs::JobMonitor;

/// What a panel asks the shell to do: file dialogs, saving, and tracking the jobs it started.
pub enum PanelRequest {
    /// Ask where to save `table` as CSV, suggesting `file_name`.
    Export {
        file_name: String,
        table: Table,
    },
    SaveGrid(Box<SegmentGrid>),
    Track(JobMonitor),
}

/// The panels in the navigation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PanelId {
    Overview,
    Segments,
    CustomerValue,
    Funnel,
    Data,
    Sql,
}

impl PanelId {
    pub const ALL: [PanelId; 6] =
        [PanelId::Overview, PanelId::Segments, PanelId::CustomerValue, PanelId::Funnel, PanelId::Data, PanelId::Sql];

    pub fn title(&self) -> &'static str {
        match self {
            PanelId::Overview => "Overview",
            PanelId::Segments => "Segments",
            PanelId::CustomerValue => "Customer value",
            PanelId::Funnel => "Funnel",
            PanelId::Data => "Data",
            PanelId::Sql => "SQL",
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            PanelId::Overview => "Monthly sales, orders and customers",
            PanelId::Segments => "RFM segments, k-means clusters, cohort retention, campaign lists",
            PanelId::CustomerValue => "Lifetime value (BG/NBD + Gamma-Gamma), P(alive), expected purchases",
            PanelId::Funnel => "View → cart → purchase, abandoned carts and retargeting, demand forecast, live mode",
            PanelId::Data => "Tables, imports, quality reports, rejected rows",
            PanelId::Sql => "Query the workspace, save queries, export CSV",
        }
    }
}

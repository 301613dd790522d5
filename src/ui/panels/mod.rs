//! One module per panel. A panel draws prepared results and returns what it wants done; the app
//! shell (`ui::app`) owns the jobs that prepare those results.

pub mod data;
pub mod overview;
pub mod sql;

/// The panels in the navigation, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PanelId {
    Overview,
    Data,
    Sql,
}

impl PanelId {
    pub const ALL: [PanelId; 3] = [PanelId::Overview, PanelId::Data, PanelId::Sql];

    pub fn title(&self) -> &'static str {
        match self {
            PanelId::Overview => "Overview",
            PanelId::Data => "Data",
            PanelId::Sql => "SQL",
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            PanelId::Overview => "Monthly sales, orders and customers",
            PanelId::Data => "Tables, imports, quality reports, rejected rows",
            PanelId::Sql => "Query the workspace, save queries, export CSV",
        }
    }
}

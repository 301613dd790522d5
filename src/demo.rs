//! The demo workspace the app opens on first start: the real UCI Online Retail II 2009-2010 data
//! (CC BY 4.0, Daqing Chen, UCI ML Repository) plus seeded synthetic shop events, pricing data
//! for the shop's best sellers, and a seeded resale marketplace.
//!
//! The UCI file is compiled into the binary so the demo works wherever shoplens is copied.

use std::path::{Path, PathBuf};

use crate::import::{self, ImportError, ImportOptions};
use crate::jobs::JobContext;
use crate::workspace::{self, Workspace};

static UCI_2009_2010: &[u8] = include_bytes!("../testdata/uci_online_retail_ii_2009-2010.parquet");

/// Synthetic events in the demo: enough for funnels to mean something, quick to build.
pub const DEMO_EVENTS: u64 = 200_000;

/// Users of the demo's synthetic resale marketplace (Sellers and Listings panels).
pub const DEMO_MARKET_USERS: usize = 8_000;

/// Best sellers given a catalogue, price history and competitor feeds in the demo.
pub const DEMO_PRICED_PRODUCTS: usize = 300;

/// Where the demo workspace lives.
pub fn demo_path() -> PathBuf {
    workspace::default_dir().join(format!("demo.{}", workspace::EXTENSION))
}

/// (Re)builds the demo workspace at `path`, replacing any previous one.
pub fn build(path: &Path, ctx: &JobContext) -> Result<(), ImportError> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            std::fs::remove_file(&file).map_err(|source| ImportError::Io { path: file.clone(), source })?;
        }
    }
    let scratch = tempfile_dir(path)?;
    let orders = scratch.join("online_retail_II_2009-2010.parquet");
    std::fs::write(&orders, UCI_2009_2010).map_err(|source| ImportError::Io { path: orders.clone(), source })?;
    let events = scratch.join("demo_events.csv");
    let file = std::fs::File::create(&events).map_err(|source| ImportError::Io { path: events.clone(), source })?;
    crate::generate::write_events(std::io::BufWriter::new(file), DEMO_EVENTS, 2019)
        .map_err(|source| ImportError::Io { path: events.clone(), source })?;

    let mut ws = Workspace::open(path)?;
    let result = import::import_file(&mut ws, &orders, &ImportOptions::default(), ctx)
        .and_then(|_| import::import_file(&mut ws, &events, &ImportOptions::default(), ctx))
        .and_then(|_| import_pricing(&mut ws, &scratch, ctx))
        .and_then(|_| import_marketplace(&mut ws, &scratch, ctx));
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

/// Pricing data for the shop's own best sellers, built from their real prices (see
/// `generate::write_demo_pricing`), imported like any catalogue and feeds.
fn import_pricing(ws: &mut Workspace, scratch: &Path, ctx: &JobContext) -> Result<(), ImportError> {
    let sellers = workspace::copies::best_sellers(ws.conn(), DEMO_PRICED_PRODUCTS)?;
    crate::generate::write_demo_pricing(scratch, &sellers, 2019)
        .map_err(|source| ImportError::Io { path: scratch.to_path_buf(), source })?;
    for file in ["catalogue.csv", "our_prices.csv", "competitor_prices.csv"] {
        import::import_file(ws, &scratch.join(file), &ImportOptions::default(), ctx)?;
    }
    Ok(())
}

fn tempfile_dir(near: &Path) -> Result<PathBuf, ImportError> {
    let dir = near.parent().unwrap_or(Path::new(".")).join(format!(".shoplens-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|source| ImportError::Io { path: dir.clone(), source })?;
    Ok(dir)
}

/// A seeded resale marketplace (`generate::write_marketplace`) for the Sellers and Listings
/// panels: the public marketplace datasets are non-commercial, so the demo ships its own.
fn import_marketplace(ws: &mut Workspace, scratch: &Path, ctx: &JobContext) -> Result<(), ImportError> {
    crate::generate::write_marketplace(scratch, DEMO_MARKET_USERS, crate::generate::MARKET_INTERACTIONS_PER_USER, 2019)
        .map_err(|source| ImportError::Io { path: scratch.to_path_buf(), source })?;
    for file in ["users.csv", "collection_items.csv", "listings.csv", "marketplace_orders.csv", "interactions.csv"] {
        import::import_file(ws, &scratch.join(file), &ImportOptions::default(), ctx)?;
    }
    Ok(())
}

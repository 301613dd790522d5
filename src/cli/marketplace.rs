//! `shoplens listings` and `shoplens sellers`: the Listings and Sellers panels headless. The
//! column names of their CSV files are kept stable for scripts.

use crate::errln;
use std::path::{Path, PathBuf};

use super::output;
use super::{emit, wait_with_progress, CliError, DateArgs};
use crate::analytics::marketplace::listings::{self, GroupBy};
use crate::analytics::marketplace::MarketplaceData;
use crate::analytics::Filters;
use crate::jobs::Job;
use crate::workspace;

/// Reads the workspace's marketplace tables, or says which to import.
pub fn load(path: &Path) -> Result<MarketplaceData, CliError> {
    let path = path.to_path_buf();
    let job = Job::spawn("load the marketplace", move |ctx| {
        let conn = workspace::open_read_only(&path)?;
        Ok(workspace::copies::load_marketplace(&conn, ctx)?)
    });
    let data = wait_with_progress(job)?;
    if data.is_empty() {
        return Err(CliError::Failed(
            "this workspace has no marketplace data: import listings (listing_id, seller_id, category, brand, price, listed_at, sold_at), marketplace orders (order_id, listing_id, buyer_id, seller_id, amount, ordered_at), interactions (user_id, listing_id, kind, at), collection items (user_id, item_id, category, brand, added_at) or users (user_id, signup_at, country)".into(),
        ));
    }
    Ok(data)
}

/// `shoplens listings W --by brand|category`: one row per group.
pub fn listings(
    workspace: &Path,
    filters: DateArgs,
    by: &str,
    min_listings: u64,
    out: Option<PathBuf>,
    users_out: Option<PathBuf>,
) -> Result<(), CliError> {
    let by = match by {
        "brand" => GroupBy::Brand,
        "category" => GroupBy::Category,
        other => return Err(CliError::Failed(format!("--by {other}: use brand or category"))),
    };
    let data = load(workspace)?;
    let filters: Filters = filters.into();
    let result = listings::compute(&data, &filters, by);
    let flow = result.flow;
    let mut days = result.days_to_sell.clone();
    errln!(
        "{} listed, {} sold; median days to sell {}{}",
        result.groups.iter().map(|g| g.listed).sum::<u64>(),
        result.groups.iter().map(|g| g.sold).sum::<u64>(),
        crate::analytics::marketplace::median(&mut days).map_or_else(|| "–".into(), |m| format!("{m:.1}")),
        if flow.has_drafts {
            format!("; flow: {} started, {} submitted, {} sold", flow.started, flow.submitted, flow.sold)
        } else {
            String::new()
        }
    );
    if result.undated_counted > 0 {
        errln!(
            "note: {} listings come from a snapshot without dates: listed, sold as the export says; figures that need dates are left empty for them, and their conversion is sales per like",
            result.undated_counted
        );
    }
    if result.undated_left_out > 0 {
        errln!("note: {} listings of a snapshot without dates are left out: they cannot be placed in --from/--to", result.undated_left_out);
    }
    for note in data.contradictions.notes() {
        errln!("note: {note}");
    }
    if let Some(file) = users_out {
        emit(Some(&file), "users", listings::active_users_table(&data, &result))?;
    }
    emit(out.as_deref(), "groups", listings::groups_table(&result, min_listings))
}

/// `shoplens sellers W`: every user who is not an active seller, ranked by score.
pub struct SellersArgs {
    pub active_min: u32,
    pub date: Option<chrono::NaiveDate>,
    pub categories: Option<String>,
    pub out: Option<PathBuf>,
    pub top: Option<usize>,
    pub categories_out: Option<PathBuf>,
    pub report: bool,
}

pub fn sellers(workspace: &Path, args: SellersArgs) -> Result<(), CliError> {
    use crate::analytics::marketplace::sellers::{self, SellerSettings, FEATURES};
    let data = load(workspace)?;
    let settings = SellerSettings {
        active_min: args.active_min,
        // The end of the given day.
        as_of: args.date.and_then(|d| d.and_hms_opt(23, 59, 59)).map(|t| t.and_utc().timestamp()),
        short_categories: args.categories.map(|c| c.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()),
        ..SellerSettings::default()
    };
    if let Some(names) = &settings.short_categories {
        if let Some(unknown) = names.iter().find(|n| !data.categories.contains(n)) {
            return Err(CliError::Failed(format!("no category '{unknown}' (categories: {})", data.categories.join(", "))));
        }
    }
    let data = std::sync::Arc::new(data);
    let shared = data.clone();
    let job = Job::spawn("score seller candidates", move |ctx| {
        sellers::compute(&shared, &settings, ctx).map_err(sellers::SellerError::into_job_error)
    });
    let result = wait_with_progress(job)?;
    let r = &result.report;
    let auc = |a: Option<f64>| a.map_or_else(|| "–".into(), |a| format!("{a:.3}"));
    errln!(
        "as of {}: {} active sellers (≥{} sales in 12 months) among {} users; {} candidates",
        crate::analytics::marketplace::format_time(result.as_of),
        result.active_sellers,
        result.active_min,
        r.users,
        result.candidates.len()
    );
    errln!(
        "model: {} (cross-validated AUC: logistic regression {}, random forest {})",
        r.chosen.name(),
        auc(r.auc_logistic),
        auc(r.auc_forest)
    );
    for warning in &r.warnings {
        errln!("warning: {warning}");
    }
    let selected: Vec<&str> =
        result.shortages.iter().filter(|s| s.selected).map(|s| data.categories[s.category as usize].as_str()).collect();
    errln!("short categories matched: {}", selected.join(", "));
    if args.report {
        use std::io::Write;
        let mut stdout = output::stdout();
        writeln!(stdout, "metric,value")?;
        writeln!(stdout, "model,{}", r.chosen.name())?;
        writeln!(stdout, "auc_logistic,{}", auc(r.auc_logistic))?;
        writeln!(stdout, "auc_forest,{}", auc(r.auc_forest))?;
        for (k, p) in &r.precision_at {
            writeln!(stdout, "precision_at_{k},{p:.4}")?;
        }
        for (j, w) in r.weights.iter().enumerate() {
            writeln!(stdout, "weight_{},{w:.4}", FEATURES[j].name)?;
        }
        for (j, w) in r.importances.iter().enumerate() {
            writeln!(stdout, "importance_{},{w:.4}", FEATURES[j].name)?;
        }
        return Ok(());
    }
    if let Some(file) = &args.categories_out {
        emit(Some(file), "categories", sellers::categories_table(&data, &result.shortages))?;
    }
    if args.categories_out.is_none() || args.out.is_some() {
        emit(args.out.as_deref(), "candidates", sellers::candidates_table(&data, &result, args.top))?;
    }
    Ok(())
}

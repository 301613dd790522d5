//! What a file *is*: which dataset its headers name ([`KnownKind`]), how its columns map onto
//! a table of the catalogue ([`guess_mapping`], [`resolve_mapping`]), and how it marks a
//! cancelled order ([`CancellationRule`]). The tables and their columns are the workspace's
//! catalogue (`workspace::catalogue`); turning text into values is `import::convert`.

use std::collections::BTreeMap;

use crate::workspace::catalogue::{normalize_header, Target};

/// Status values that mean a cancelled order when a mapped import names a status column and no
/// values of its own: Olist's `canceled` and `unavailable`, Shopify's `voided` and `refunded`.
pub const CANCELLED_STATUSES: &[&str] = &["canceled", "cancelled", "unavailable", "voided", "refunded"];

/// How an order line is marked cancelled: a property of the layout, decided once per import
/// and named in the quality report. No id is ever read as a status.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancellationRule {
    /// Nothing in the layout marks a cancellation (CDNOW; ids that are not invoice numbers).
    #[default]
    None,
    /// The UCI rule: the invoice is an uppercase `C` followed by the invoice number's digits
    /// (`C489449`).
    InvoicePrefix,
    /// The `status` column holds one of these values (trimmed, any case).
    Status(Vec<String>),
}

impl CancellationRule {
    /// Whether a line with this invoice and status is a cancellation.
    pub fn cancels(&self, invoice: &str, status: &str) -> bool {
        match self {
            CancellationRule::None => false,
            CancellationRule::InvoicePrefix => is_cancellation_invoice(invoice),
            CancellationRule::Status(values) => {
                let status = status.trim();
                !status.is_empty() && values.iter().any(|v| v.eq_ignore_ascii_case(status))
            }
        }
    }

    /// For the quality report.
    pub fn describe(&self) -> String {
        match self {
            CancellationRule::None => "nothing in this layout marks a cancellation: no line is cancelled".into(),
            CancellationRule::InvoicePrefix => "invoice is an uppercase C followed by the invoice number".into(),
            CancellationRule::Status(values) => format!("status is {}", values.join(" or ")),
        }
    }

    /// The rule for a mapped import that names no status column: the UCI rule when every
    /// sampled invoice is an invoice number or a C followed by one (the UCI numbering), else none,
    /// and the sentence that says why.
    pub fn decide_from_invoices<'a>(invoices: impl IntoIterator<Item = &'a str>) -> (Self, String) {
        let mut seen = 0usize;
        let mut odd: Option<&str> = None;
        for invoice in invoices.into_iter().map(str::trim).filter(|i| !i.is_empty()) {
            seen += 1;
            let number = invoice.strip_prefix('C').unwrap_or(invoice);
            let numbered = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
            if odd.is_none() && !numbered {
                odd = Some(invoice);
            }
        }
        match odd {
            None if seen > 0 => (
                CancellationRule::InvoicePrefix,
                "every sampled invoice is a number or C and a number (the UCI numbering): invoices C + number are cancellations".into(),
            ),
            None => (CancellationRule::None, "no invoice in the sample: no line is read as cancelled".into()),
            Some(example) => (
                CancellationRule::None,
                format!(
                    "invoices are not numbered like UCI's (e.g. '{}'), and no status column is mapped: no line is read as cancelled (map one with --map status=COLUMN)",
                    example.chars().take(40).collect::<String>()
                ),
            ),
        }
    }
}

/// The UCI cancellation invoice: `C` then one or more digits, nothing else.
pub fn is_cancellation_invoice(invoice: &str) -> bool {
    invoice.trim().strip_prefix('C').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Datasets recognised from their headers alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownKind {
    UciOnlineRetailII,
    UciOnlineRetail,
    CdnowMaster,
    CdnowSample,
    Rees46Events,
    Catalogue,
    OurPriceHistory,
    CompetitorFeed,
    /// One row per product and month with our `unit_price` and competitors' `comp_1..comp_3`
    /// (the Kaggle "Retail Price Optimization" layout).
    CompetitorFeedWide,
    /// Olist's orders dump joined into one table (order items + orders + customers, see
    /// `import::join`): read with [`KnownKind::preset_mapping`].
    OlistOrders,
    /// Shopify's standard orders export: one row per line item, order-level fields on each
    /// order's first row (`import::shopify`).
    ShopifyOrders,
    /// A product table without prices: product id with category and/or brand (REES46's
    /// `item.csv`, Olist's products), joined onto events and order lines by product id.
    ProductTable,
    /// Competitor prices keyed by product name, no id we share (Project Hammer's layout).
    NamedCompetitorFeed,
    /// Listings as of one moment, without dates: one row per product with `sold` 0/1, brand,
    /// category, likes, price and seller (Vestiaire Collective's export).
    ListingSnapshot,
    MarketplaceUsers,
    CollectionItems,
    Listings,
    MarketplaceOrders,
    Interactions,
}

impl KnownKind {
    pub fn label(&self) -> &'static str {
        match self {
            KnownKind::UciOnlineRetailII => "uci_online_retail_ii",
            KnownKind::UciOnlineRetail => "uci_online_retail",
            KnownKind::CdnowMaster => "cdnow_master",
            KnownKind::CdnowSample => "cdnow_sample",
            KnownKind::Rees46Events => "rees46_events",
            KnownKind::OlistOrders => "olist_orders",
            KnownKind::ShopifyOrders => "shopify_orders",
            KnownKind::Catalogue => "catalogue",
            KnownKind::ProductTable => "products",
            KnownKind::OurPriceHistory => "our_price_history",
            KnownKind::CompetitorFeed => "competitor_prices",
            KnownKind::CompetitorFeedWide => "competitor_prices_wide",
            KnownKind::NamedCompetitorFeed => "competitor_prices_by_name",
            KnownKind::MarketplaceUsers => "users",
            KnownKind::CollectionItems => "collection_items",
            KnownKind::Listings => "listings",
            KnownKind::ListingSnapshot => "listing_snapshot",
            KnownKind::MarketplaceOrders => "marketplace_orders",
            KnownKind::Interactions => "interactions",
        }
    }

    pub fn target(&self) -> Target {
        match self {
            KnownKind::Rees46Events => Target::Events,
            KnownKind::Catalogue | KnownKind::ProductTable => Target::Products,
            KnownKind::OurPriceHistory => Target::OurPrices,
            KnownKind::CompetitorFeed | KnownKind::CompetitorFeedWide => Target::CompetitorPrices,
            KnownKind::NamedCompetitorFeed => Target::NamedPrices,
            KnownKind::MarketplaceUsers => Target::Users,
            KnownKind::CollectionItems => Target::CollectionItems,
            KnownKind::Listings | KnownKind::ListingSnapshot => Target::Listings,
            KnownKind::MarketplaceOrders => Target::MarketplaceOrders,
            KnownKind::Interactions => Target::Interactions,
            _ => Target::OrderLines,
        }
    }

    /// A known layout whose columns the name guess would read wrong: the mapping that reads
    /// it right, in the file's own header names. Olist's customer is `customer_unique_id` (its
    /// `customer_id` is per order: every order would be a new customer), its time the purchase,
    /// its country the customer's state; an item row is one unit.
    pub fn preset_mapping(&self, headers: &[String]) -> Option<Mapping> {
        let pairs: &[(&str, &str)] = match self {
            KnownKind::OlistOrders => &[
                ("invoice", "orderid"),
                ("stock_code", "productid"),
                ("invoice_date", "orderpurchasetimestamp"),
                ("unit_price", "price"),
                ("customer_id", "customeruniqueid"),
                ("country", "customerstate"),
                ("status", "orderstatus"),
                ("freight", "freightvalue"),
            ],
            _ => return None,
        };
        let header = |name: &str| headers.iter().find(|h| normalize_header(h) == name).cloned();
        Some(pairs.iter().filter_map(|(target, source)| Some((target.to_string(), header(source)?))).collect())
    }

    /// Recognises a dataset by its normalised header names.
    pub fn detect(headers: &[String]) -> Option<Self> {
        let names: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
        let has_all = |wanted: &[&str]| wanted.iter().all(|w| names.iter().any(|n| n == w));
        if names == ["customerid", "date", "numberofcds", "dollarvalue"] {
            Some(KnownKind::CdnowMaster)
        } else if names == ["customerid", "sampleid", "date", "numberofcds", "dollarvalue"] {
            Some(KnownKind::CdnowSample)
        } else if has_all(&[
            "orderid",
            "orderitemid",
            "productid",
            "price",
            "freightvalue",
            "orderstatus",
            "orderpurchasetimestamp",
            "customeruniqueid",
        ]) {
            Some(KnownKind::OlistOrders)
        } else if has_all(super::shopify::SIGNATURE) {
            Some(KnownKind::ShopifyOrders)
        } else if has_all(&["invoice", "stockcode", "quantity", "invoicedate", "price", "customerid"]) {
            Some(KnownKind::UciOnlineRetailII)
        } else if has_all(&["invoiceno", "stockcode", "quantity", "invoicedate", "unitprice", "customerid"]) {
            Some(KnownKind::UciOnlineRetail)
        } else if has_all(&["eventtime", "eventtype", "productid", "userid", "usersession"]) {
            Some(KnownKind::Rees46Events)
        } else if has_all(&["orderid", "listingid", "buyerid", "sellerid"]) {
            Some(KnownKind::MarketplaceOrders)
        } else if has_all(&["listingid", "sellerid", "listedat"]) {
            Some(KnownKind::Listings)
        } else if has_all(&["sellerid", "sold"])
            && (has_all(&["productid"]) || has_all(&["listingid"]))
            && ["brand", "brandname", "productcategory", "category"].iter().any(|c| names.iter().any(|n| n == c))
        {
            Some(KnownKind::ListingSnapshot)
        } else if has_all(&["userid", "listingid", "kind", "at"]) {
            Some(KnownKind::Interactions)
        } else if has_all(&["userid", "itemid", "addedat"]) {
            Some(KnownKind::CollectionItems)
        } else if has_all(&["userid", "signupat"]) {
            Some(KnownKind::MarketplaceUsers)
        } else if has_all(&["productid", "unitprice", "comp1", "monthyear"]) {
            Some(KnownKind::CompetitorFeedWide)
        } else if has_all(&["vendor", "productname", "currentprice", "nowtime"]) && !has_all(&["productid"])
            || has_all(&["competitor", "productname", "price", "observedat"]) && !has_all(&["productid"])
        {
            Some(KnownKind::NamedCompetitorFeed)
        } else if has_all(&["productid", "competitor", "price", "observedat"]) {
            Some(KnownKind::CompetitorFeed)
        } else if has_all(&["productid", "price", "validfrom"]) {
            Some(KnownKind::OurPriceHistory)
        } else if has_all(&["productid", "cost", "price"]) {
            Some(KnownKind::Catalogue)
        } else if has_all(&["productid"])
            && ["brand", "brandname", "category", "categorycode", "categoryid", "categoryname", "productcategoryname"]
                .iter()
                .any(|c| names.iter().any(|n| n == c))
            && !["eventtype", "eventtime", "quantity", "qty", "price", "unitprice", "orderid", "invoice", "invoiceno"]
                .iter()
                .any(|c| names.iter().any(|n| n == c))
        {
            Some(KnownKind::ProductTable)
        } else {
            None
        }
    }
}

/// The key under which a confirmed mapping is saved and found again.
pub fn header_signature(headers: &[String]) -> String {
    headers.iter().map(|h| normalize_header(h)).collect::<Vec<_>>().join(",")
}

/// Which source column feeds each target column (by target column name).
pub type Mapping = BTreeMap<String, String>;

/// Pre-guesses a mapping from header names: exact normalised matches first, then synonyms.
/// Each source column is used at most once.
pub fn guess_mapping(target: Target, headers: &[String]) -> Mapping {
    let normalised: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
    let mut used = vec![false; headers.len()];
    let mut mapping = Mapping::new();
    for column in target.columns() {
        let own = normalize_header(column.name);
        let candidates = std::iter::once(own.as_str()).chain(column.synonyms.iter().copied());
        for candidate in candidates {
            if let Some(i) = normalised.iter().enumerate().position(|(i, n)| !used[i] && n == candidate) {
                used[i] = true;
                mapping.insert(column.name.to_string(), headers[i].clone());
                break;
            }
        }
    }
    mapping
}

/// Parses `--map target=source,...` pairs.
pub fn parse_mapping_arg(spec: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for part in spec.split(',').filter(|part| !part.trim().is_empty()) {
        let (target, source) = part.split_once('=').ok_or_else(|| format!("'{part}' in --map is not target=source"))?;
        let (target, source) = (target.trim().to_string(), source.trim().to_string());
        // Two sources for one column is a typo, not a choice: the last must not silently win.
        if let Some((_, first)) = pairs.iter().find(|(t, _)| *t == target) {
            return Err(format!("--map gives {target} twice ('{first}' and '{source}'): keep one"));
        }
        pairs.push((target, source));
    }
    Ok(pairs)
}

/// Checks a mapping against the target and the file, returning source column indices in target
/// column order.
pub fn resolve_mapping(target: Target, mapping: &Mapping, headers: &[String]) -> Result<Vec<Option<usize>>, String> {
    for name in mapping.keys() {
        if !target.columns().iter().any(|c| c.name == name) {
            let known: Vec<&str> = target.columns().iter().map(|c| c.name).collect();
            return Err(format!("'{name}' is not a column of {} (columns: {})", target.table(), known.join(", ")));
        }
    }
    let find = |source: &str| {
        headers.iter().position(|h| h == source).or_else(|| {
            let wanted = normalize_header(source);
            headers.iter().position(|h| normalize_header(h) == wanted)
        })
    };
    let mut indices = Vec::new();
    let mut missing = Vec::new();
    for column in target.columns() {
        match mapping.get(column.name) {
            Some(source) => match find(source) {
                Some(i) => indices.push(Some(i)),
                None => return Err(format!("the file has no column '{source}' (columns: {})", headers.join(", "))),
            },
            None if column.required => {
                missing.push(column.name);
                indices.push(None);
            }
            None => indices.push(None),
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "cannot import as {}: no column for required {} (columns in the file: {}); map them with --map {}=<column>",
            target.table(),
            missing.join(", "),
            headers.join(", "),
            missing[0]
        ));
    }
    Ok(indices)
}

/// What a target needs beyond its required columns: listings need dates (`listed_at`) or a
/// snapshot's `sold` flag.
pub fn check_mapping(target: Target, mapping: &Mapping, headers: &[String]) -> Result<(), String> {
    if target == Target::Listings && !mapping.contains_key("listed_at") && !mapping.contains_key("sold") {
        return Err(format!(
            "cannot import as listings: no column for listed_at (when each was listed) nor for sold (a snapshot's 0/1) (columns in the file: {}); map one with --map listed_at=<column> or --map sold=<column>",
            headers.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn recognises_known_datasets_by_header() {
        let uci2 = headers(&["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]);
        let uci = headers(&["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]);
        let rees = headers(&[
            "event_time",
            "event_type",
            "product_id",
            "category_id",
            "category_code",
            "brand",
            "price",
            "user_id",
            "user_session",
        ]);
        let cosmetics = headers(&["event_time", "event_type", "product_id", "price", "user_id", "user_session"]);
        assert_eq!(KnownKind::detect(&uci2), Some(KnownKind::UciOnlineRetailII));
        assert_eq!(KnownKind::detect(&uci), Some(KnownKind::UciOnlineRetail));
        assert_eq!(KnownKind::detect(&rees), Some(KnownKind::Rees46Events));
        assert_eq!(KnownKind::detect(&cosmetics), Some(KnownKind::Rees46Events));
        assert_eq!(KnownKind::detect(&headers(&["customer_id", "date", "number_of_cds", "dollar_value"])), Some(KnownKind::CdnowMaster));
        assert_eq!(KnownKind::detect(&headers(&["a", "b"])), None);
        // REES46's item table and Olist's products: product tables, not events or orders.
        assert_eq!(KnownKind::detect(&headers(&["product_id", "category_id", "category_code", "brand"])), Some(KnownKind::ProductTable));
        let olist_products = headers(&["product_id", "product_category_name", "product_name_lenght", "product_weight_g"]);
        assert_eq!(KnownKind::detect(&olist_products), Some(KnownKind::ProductTable));
        assert_eq!(KnownKind::detect(&headers(&["product_id", "brand", "price", "qty"])), None);
    }

    #[test]
    fn guesses_and_resolves_mappings() {
        let h = headers(&["Order No", "Qty", "Order Date", "Price Each", "Client", "SKU"]);
        let mapping = guess_mapping(Target::OrderLines, &h);
        assert_eq!(mapping.get("invoice").map(String::as_str), Some("Order No"));
        assert_eq!(mapping.get("quantity").map(String::as_str), Some("Qty"));
        assert_eq!(mapping.get("unit_price").map(String::as_str), Some("Price Each"));
        assert_eq!(mapping.get("stock_code").map(String::as_str), Some("SKU"));
        let indices = resolve_mapping(Target::OrderLines, &mapping, &h).unwrap();
        assert_eq!(indices[0], Some(0));
        let mut incomplete = mapping.clone();
        incomplete.remove("invoice_date");
        let err = resolve_mapping(Target::OrderLines, &incomplete, &h).unwrap_err();
        assert!(err.contains("invoice_date"), "{err}");
        assert_eq!(parse_mapping_arg("invoice=Order No, quantity=Qty").unwrap()[1], ("quantity".to_string(), "Qty".to_string()));
        assert!(parse_mapping_arg("oops").is_err());
    }

    #[test]
    fn cancellations_only_where_the_layout_says_so() {
        let uci = CancellationRule::InvoicePrefix;
        assert!(uci.cancels("C489449", ""));
        assert!(uci.cancels(" C489449 ", ""));
        // Olist's hex ids and Kaggle's invoice names are not cancellations, nor is a bare C.
        for id in ["c0a7f3e1b2d4", "computers1-2017-05", "C", "CX12", "489449", "A506401", "c489449"] {
            assert!(!uci.cancels(id, ""), "{id}");
        }
        let status = CancellationRule::Status(vec!["canceled".into(), "unavailable".into()]);
        assert!(status.cancels("c0a7", " Canceled "));
        assert!(!status.cancels("C489449", "delivered"));
        assert!(!CancellationRule::None.cancels("C489449", "canceled"));

        let decide = |invoices: &[&str]| CancellationRule::decide_from_invoices(invoices.iter().copied()).0;
        assert_eq!(decide(&["489434", "C489449", " 489435"]), CancellationRule::InvoicePrefix);
        assert_eq!(decide(&["489434", "c0a7f3e1b2d4"]), CancellationRule::None);
        assert_eq!(decide(&["computers1-2017-05", "C12"]), CancellationRule::None);
        assert_eq!(decide(&[]), CancellationRule::None);
    }
}

//! What a file *is*: the canonical tables it can load into, how its columns map onto them, and
//! the converters that turn text fields into typed values.
//!
//! Types come from the target schema, never from the first rows of a file: `Invoice` is text
//! even when its first thousand values look numeric.

use std::collections::BTreeMap;

use csv::StringRecord;

use super::batch::{Batch, Value};
use super::numbers::{NotANumber, NumberFormat};
use super::values::{self, SlashOrder};

/// How a target column's text is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    Int,
    Real,
    DateTime,
    /// Text id normalised from float exports (`13085.0` → `13085`).
    CustomerId,
    /// Integer id that must stay exact (up to 19 digits).
    ExactId,
    /// Yes or no (`true`/`false`, `1`/`0`, `yes`/`no`, `in_stock`/`out_of_stock`), stored as 1/0.
    Flag,
}

/// A column of a canonical table.
#[derive(Debug)]
pub struct TargetColumn {
    pub name: &'static str,
    pub kind: ValueKind,
    /// The file must have this column (mapped or recognised).
    pub required: bool,
    /// A row may leave it empty (stored as NULL). Every optional column may; a required one only
    /// where real exports leave it empty (REES46's user_session).
    pub empty_allowed: bool,
    /// Normalised header names (lowercase letters and digits) that usually mean this column;
    /// used to pre-guess mappings.
    pub synonyms: &'static [&'static str],
    /// Which numbers the column may hold (a price of ours or a competitor's is positive).
    pub bounds: Bounds,
}

/// Numbers a column may hold; a row with another is rejected with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bounds {
    Any,
    /// More than zero: a price someone asks.
    Positive,
    /// Zero or more: a cost.
    NonNegative,
    /// A whole number of units from 1 to 4,294,967,295: what an event's quantity may be.
    Units,
}

const fn col(name: &'static str, kind: ValueKind, required: bool, synonyms: &'static [&'static str]) -> TargetColumn {
    TargetColumn { name, kind, required, empty_allowed: !required, synonyms, bounds: Bounds::Any }
}

/// A column the file must have, though some rows leave it empty.
const fn sometimes_empty(name: &'static str, kind: ValueKind, synonyms: &'static [&'static str]) -> TargetColumn {
    TargetColumn { name, kind, required: true, empty_allowed: true, synonyms, bounds: Bounds::Any }
}

impl TargetColumn {
    /// Only numbers above zero (prices).
    const fn positive(self) -> Self {
        TargetColumn { bounds: Bounds::Positive, ..self }
    }

    /// Only zero or more (costs).
    const fn non_negative(self) -> Self {
        TargetColumn { bounds: Bounds::NonNegative, ..self }
    }

    /// Only whole numbers of units, at least one (an event's quantity).
    const fn units(self) -> Self {
        TargetColumn { bounds: Bounds::Units, ..self }
    }
}

pub const ORDER_LINE_COLUMNS: &[TargetColumn] = &[
    col(
        "invoice",
        ValueKind::Text,
        true,
        &["invoice", "invoiceno", "invoicenumber", "invoiceid", "orderid", "ordernumber", "orderno", "order", "transactionid"],
    ),
    col("stock_code", ValueKind::Text, false, &["stockcode", "sku", "productid", "productcode", "itemcode", "itemid", "article"]),
    col("description", ValueKind::Text, false, &["description", "productname", "itemname", "item", "product", "name", "title"]),
    // Without a quantity column every line is one unit (Olist: a row per item); the report says so.
    TargetColumn {
        name: "quantity",
        kind: ValueKind::Int,
        required: false,
        empty_allowed: false,
        synonyms: &["quantity", "qty", "units", "amount", "count"],
        bounds: Bounds::Any,
    },
    col(
        "invoice_date",
        ValueKind::DateTime,
        true,
        &["invoicedate", "orderdate", "orderedat", "date", "datetime", "orderdatetime", "createdat", "purchasedate", "timestamp"],
    ),
    col("unit_price", ValueKind::Real, true, &["price", "unitprice", "itemprice", "priceeach", "unitcost"]),
    col("customer_id", ValueKind::CustomerId, false, &["customerid", "customer", "client", "clientid", "buyerid", "userid", "customerno"]),
    col("country", ValueKind::Text, false, &["country", "countrycode", "shippingcountry", "shipto", "billingcountry"]),
    // The order's status as exported (`delivered`, `canceled`, ...): which values mean a
    // cancellation is the import's [`CancellationRule`].
    col("status", ValueKind::Text, false, &["status", "orderstatus", "financialstatus", "paymentstatus"]),
    // Shipping charged on the line, kept apart: never revenue.
    col("freight", ValueKind::Real, false, &["freight", "freightvalue", "shippingcost", "shippingprice", "shippingfee"]),
    // ISO code (`GBP`) of the line's money; empty: the import's currency (`--currency`), if any.
    col("currency", ValueKind::Text, false, &["currency", "currencycode"]),
];

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

pub const EVENT_COLUMNS: &[TargetColumn] = &[
    col("event_time", ValueKind::DateTime, true, &["eventtime", "timestamp", "time", "datetime", "eventdate", "createdat"]),
    col("event_type", ValueKind::Text, true, &["eventtype", "event", "action", "type"]),
    col("product_id", ValueKind::ExactId, true, &["productid", "itemid", "sku"]),
    col("category_id", ValueKind::ExactId, false, &["categoryid"]),
    col("category_code", ValueKind::Text, false, &["categorycode", "category", "categoryname"]),
    col("brand", ValueKind::Text, false, &["brand", "brandname"]),
    col("price", ValueKind::Real, false, &["price", "unitprice"]),
    col("user_id", ValueKind::ExactId, true, &["userid", "customerid", "visitorid", "clientid"]),
    // REES46 has real events without a session: they load with a NULL session.
    sometimes_empty("user_session", ValueKind::Text, &["usersession", "sessionid", "session"]),
    // Units the event is about (a cart of 48); absent or empty: one.
    col("quantity", ValueKind::Int, false, &["quantity", "qty", "units"]).units(),
    col("product_name", ValueKind::Text, false, &["productname", "itemname", "producttitle"]),
];

/// A product catalogue with costs (the Pricing panel's products).
pub const PRODUCT_COLUMNS: &[TargetColumn] = &[
    col("product_id", ValueKind::Text, true, &["productid", "sku", "itemid", "stockcode", "articleid", "productcode"]),
    col("name", ValueKind::Text, false, &["name", "productname", "title", "description", "itemname"]),
    col("category", ValueKind::Text, false, &["category", "categorycode", "categoryname", "productcategory", "productcategoryname"]),
    // The shop system's category id (REES46's 19-digit ids: exact, never a float).
    col("category_id", ValueKind::ExactId, false, &["categoryid"]),
    col("brand", ValueKind::Text, false, &["brand", "brandname", "manufacturer"]),
    col("cost", ValueKind::Real, false, &["cost", "unitcost", "costprice", "purchaseprice", "cogs"]).non_negative(),
    col("price", ValueKind::Real, false, &["price", "unitprice", "listprice", "retailprice", "currentprice"]).positive(),
    col("stock", ValueKind::Int, false, &["stock", "stocklevel", "inventory", "onhand", "quantityonhand", "qtyonhand"]),
];

/// Our own price history: a price from a moment on.
pub const OUR_PRICE_COLUMNS: &[TargetColumn] = &[
    col("product_id", ValueKind::Text, true, &["productid", "sku", "itemid", "stockcode", "productcode"]),
    col("price", ValueKind::Real, true, &["price", "unitprice", "ourprice", "newprice"]).positive(),
    col(
        "valid_from",
        ValueKind::DateTime,
        true,
        &["validfrom", "from", "effectivefrom", "effectivedate", "startdate", "date", "changedat"],
    ),
];

/// Competitor price observations from a scraper or price-tracking feed.
pub const COMPETITOR_PRICE_COLUMNS: &[TargetColumn] = &[
    col("product_id", ValueKind::Text, true, &["productid", "sku", "itemid", "stockcode", "productcode"]),
    col("competitor", ValueKind::Text, true, &["competitor", "vendor", "seller", "retailer", "shop", "store", "merchant"]),
    col("price", ValueKind::Real, true, &["price", "competitorprice", "currentprice", "observedprice"]).positive(),
    col("observed_at", ValueKind::DateTime, true, &["observedat", "observed", "scrapedat", "timestamp", "date", "nowtime", "time"]),
    col("in_stock", ValueKind::Flag, false, &["instock", "stockstatus", "available", "availability"]),
    col("url", ValueKind::Text, false, &["url", "link", "detailurl"]),
    col("currency", ValueKind::Text, false, &["currency", "currencycode"]),
];

/// A competitor feed keyed by product name (a scraper's output, Project Hammer): matched to our
/// products by name (`analytics::matching`), and only confirmed matches are compared.
pub const NAMED_PRICE_COLUMNS: &[TargetColumn] = &[
    col("competitor", ValueKind::Text, true, &["competitor", "vendor", "seller", "retailer", "shop", "store", "merchant"]),
    col("product_name", ValueKind::Text, true, &["productname", "name", "title", "product", "itemname"]),
    col("price", ValueKind::Real, true, &["currentprice", "price", "observedprice"]).positive(),
    col("observed_at", ValueKind::DateTime, true, &["nowtime", "observedat", "observed", "scrapedat", "timestamp", "date", "time"]),
    col("old_price", ValueKind::Real, false, &["oldprice", "wasprice", "regularprice", "listprice"]).positive(),
    col("price_decrease", ValueKind::Real, false, &["pricedecrease", "discount", "saving"]),
    col("in_stock", ValueKind::Flag, false, &["stockstatus", "instock", "available", "availability"]),
];

const USER_ID: &[&str] = &["userid", "memberid", "customerid", "accountid"];
const LISTING_ID: &[&str] = &["listingid", "productid", "itemid", "adid"];

/// Marketplace members.
pub const USER_COLUMNS: &[TargetColumn] = &[
    col("user_id", ValueKind::Text, true, USER_ID),
    col("signup_at", ValueKind::DateTime, false, &["signupat", "signedupat", "registeredat", "createdat", "joinedat", "signupdate"]),
    col("country", ValueKind::Text, false, &["country", "countrycode", "usercountry"]),
];

/// What collectors own (their wardrobe or collection), one row per item.
pub const COLLECTION_COLUMNS: &[TargetColumn] = &[
    col("user_id", ValueKind::Text, true, USER_ID),
    col("item_id", ValueKind::Text, false, &["itemid", "collectionitemid", "objectid"]),
    col("category", ValueKind::Text, false, &["category", "categoryname", "productcategory"]),
    col("brand", ValueKind::Text, false, &["brand", "brandname", "maker"]),
    col("added_at", ValueKind::DateTime, false, &["addedat", "createdat", "date"]),
];

/// Listings put up for sale: dated (`listed_at`, empty for a draft never submitted; `sold_at`)
/// or a snapshot without dates (Vestiaire's export: a `sold` 0/1 and like counts). An import
/// maps `listed_at` or `sold` (see [`check_mapping`]).
pub const LISTING_COLUMNS: &[TargetColumn] = &[
    col("listing_id", ValueKind::Text, true, LISTING_ID),
    col("seller_id", ValueKind::Text, true, &["sellerid", "userid", "vendorid"]),
    col("category", ValueKind::Text, false, &["category", "categoryname", "productcategory", "productcategoryname"]),
    col("brand", ValueKind::Text, false, &["brand", "brandname"]),
    col("price", ValueKind::Real, false, &["price", "listingprice", "askingprice", "priceusd"]),
    col("created_at", ValueKind::DateTime, false, &["createdat", "draftat", "startedat"]),
    col("listed_at", ValueKind::DateTime, false, &["listedat", "publishedat", "submittedat"]),
    col("sold_at", ValueKind::DateTime, false, &["soldat", "solddate"]),
    // A snapshot's state instead of dates: sold or not as of the export, and its likes.
    col("sold", ValueKind::Flag, false, &["sold", "issold"]),
    col("likes", ValueKind::Int, false, &["likes", "likecount", "productlikecount", "favourites", "favorites", "wishlistcount"]),
];

/// Orders between users on the marketplace.
pub const MARKETPLACE_ORDER_COLUMNS: &[TargetColumn] = &[
    col("order_id", ValueKind::Text, true, &["orderid", "transactionid"]),
    col("listing_id", ValueKind::Text, false, LISTING_ID),
    col("buyer_id", ValueKind::Text, true, &["buyerid", "customerid"]),
    col("seller_id", ValueKind::Text, true, &["sellerid", "vendorid"]),
    col("amount", ValueKind::Real, false, &["amount", "price", "total", "value", "ordervalue"]),
    col("ordered_at", ValueKind::DateTime, true, &["orderedat", "orderdate", "purchasedat", "createdat", "date"]),
];

/// Users' interactions with listings: views, likes (wishlist adds), carts, offers.
pub const INTERACTION_COLUMNS: &[TargetColumn] = &[
    col("user_id", ValueKind::Text, true, USER_ID),
    col("listing_id", ValueKind::Text, false, LISTING_ID),
    col("kind", ValueKind::Text, true, &["kind", "type", "action", "eventtype", "event"]),
    col("at", ValueKind::DateTime, true, &["at", "time", "timestamp", "eventtime", "createdat", "date"]),
];

/// The canonical tables an import can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    OrderLines,
    Events,
    Products,
    OurPrices,
    CompetitorPrices,
    NamedPrices,
    Users,
    CollectionItems,
    Listings,
    MarketplaceOrders,
    Interactions,
    /// A table of its own, all text unless every value of a column parses as a number.
    Raw,
}

impl Target {
    /// Every target, in the order `--help` lists them.
    pub const ALL: [Target; 12] = [
        Target::OrderLines,
        Target::Events,
        Target::Products,
        Target::OurPrices,
        Target::CompetitorPrices,
        Target::NamedPrices,
        Target::Users,
        Target::CollectionItems,
        Target::Listings,
        Target::MarketplaceOrders,
        Target::Interactions,
        Target::Raw,
    ];

    pub fn table(&self) -> &'static str {
        match self {
            Target::OrderLines => "order_lines",
            Target::Events => "events",
            Target::Products => "products",
            Target::OurPrices => "our_prices",
            Target::CompetitorPrices => "competitor_prices",
            Target::NamedPrices => "named_prices",
            Target::Users => "users",
            Target::CollectionItems => "collection_items",
            Target::Listings => "listings",
            Target::MarketplaceOrders => "marketplace_orders",
            Target::Interactions => "interactions",
            Target::Raw => "raw",
        }
    }

    pub fn columns(&self) -> &'static [TargetColumn] {
        match self {
            Target::OrderLines => ORDER_LINE_COLUMNS,
            Target::Events => EVENT_COLUMNS,
            Target::Products => PRODUCT_COLUMNS,
            Target::OurPrices => OUR_PRICE_COLUMNS,
            Target::CompetitorPrices => COMPETITOR_PRICE_COLUMNS,
            Target::NamedPrices => NAMED_PRICE_COLUMNS,
            Target::Users => USER_COLUMNS,
            Target::CollectionItems => COLLECTION_COLUMNS,
            Target::Listings => LISTING_COLUMNS,
            Target::MarketplaceOrders => MARKETPLACE_ORDER_COLUMNS,
            Target::Interactions => INTERACTION_COLUMNS,
            Target::Raw => &[],
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match normalize_header(name).as_str() {
            "orderlines" | "orders" | "order" | "transactions" => Some(Target::OrderLines),
            "events" | "event" => Some(Target::Events),
            "products" | "catalogue" | "catalog" => Some(Target::Products),
            "ourprices" | "prices" | "pricehistory" => Some(Target::OurPrices),
            "competitorprices" | "competitors" | "competitor" => Some(Target::CompetitorPrices),
            "namedprices" | "competitornames" => Some(Target::NamedPrices),
            "users" | "members" => Some(Target::Users),
            "collectionitems" | "collection" | "collections" => Some(Target::CollectionItems),
            "listings" | "listing" => Some(Target::Listings),
            "marketplaceorders" => Some(Target::MarketplaceOrders),
            "interactions" | "interaction" => Some(Target::Interactions),
            "raw" | "table" => Some(Target::Raw),
            _ => None,
        }
    }
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

/// Lowercase letters and digits only: `Customer ID`, `CustomerID` and `customer_id` all match.
pub fn normalize_header(header: &str) -> String {
    header.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
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

/// Why a row was not loaded: a short key for grouping in the report and a detail for the row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub key: String,
    pub detail: String,
}

impl RowError {
    pub fn bad_value(column: &str, problem: &str, value: &str) -> Self {
        let shown: String = value.chars().take(60).collect();
        Self { key: format!("{column}: {problem}"), detail: format!("{column}: {problem} ('{shown}')") }
    }

    pub fn missing(column: &str) -> Self {
        Self { key: format!("{column}: missing"), detail: format!("{column}: missing required value") }
    }

    pub fn field_count(expected: usize, found: usize) -> Self {
        Self { key: "wrong number of fields".into(), detail: format!("wrong number of fields: expected {expected}, found {found}") }
    }
}

/// Turns one row of text fields into typed values appended to a batch.
pub trait Converter: Send {
    /// Names of the columns this converter produces, in order, as the table's columns.
    fn output_columns(&self) -> Vec<String>;
    fn convert(&mut self, fields: &StringRecord, batch: &mut Batch) -> Result<(), RowError>;
    /// SQL types decided from the data once every row has been seen; `None` when the target
    /// table's types are fixed by the schema.
    fn column_types(&self) -> Option<Vec<&'static str>> {
        None
    }
    /// Rows for a second table that the same file carries (a wide layout's own prices):
    /// (table, columns, rows), written in the import's transaction.
    fn extra_rows(&mut self) -> Option<(&'static str, Vec<String>, Batch)> {
        None
    }
    /// What the quality report should say about how the rows were read (once every row has
    /// been seen).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Rows must have as many fields as the header; extra fields are tolerated only when empty
/// (a trailing delimiter).
pub fn check_width(fields: &StringRecord, expected: usize) -> Result<(), RowError> {
    let found = fields.len();
    if found == expected || (found > expected && fields.iter().skip(expected).all(|f| f.trim().is_empty())) {
        Ok(())
    } else {
        Err(RowError::field_count(expected, found))
    }
}

/// Converts mapped columns into `order_lines` or `events`, plus derived columns.
pub struct MappedConverter {
    target: Target,
    sources: Vec<Option<usize>>,
    width: usize,
    slash: SlashOrder,
    /// Order lines without a quantity column: the target column written as 1 (one unit a line).
    one_unit: Option<usize>,
    /// Order lines: the currency target column, and the import's stated currency for lines
    /// that do not say (`--currency`).
    currency_column: Option<usize>,
    stated_currency: Option<String>,
    /// Order lines: what marks a cancelled line, and the file's columns it reads.
    cancellation: CancellationRule,
    invoice_source: Option<usize>,
    status_source: Option<usize>,
    /// How each target column writes numbers (used by `Real` columns), decided from the sample.
    numbers: Vec<NumberFormat>,
    import_id: i64,
    /// Per target column, the last date or customer id converted: see [`LastValue`].
    last: Vec<LastValue>,
}

/// The last value a column converted and what it became. An export repeats an order's date and
/// customer on each of its lines, so most values are the one before, and parsing them again was
/// a twentieth of the import's parser thread on 10M order lines.
#[derive(Debug, Default)]
struct LastValue {
    raw: String,
    /// What `raw` is stored as, when `present` (else NULL); its buffer is reused row to row.
    stored: String,
    present: bool,
    /// Whether `raw` and `stored` belong together (not after a failed conversion).
    valid: bool,
}

impl LastValue {
    /// What `raw` is stored as: the remembered value when `raw` is the last one, else what
    /// `convert(raw, into)` writes into the emptied buffer (returning whether there is a value
    /// at all), remembered unless it failed.
    fn get<E>(&mut self, raw: &str, convert: impl FnOnce(&str, &mut String) -> Result<bool, E>) -> Result<Option<&str>, E> {
        if !self.valid || self.raw != raw {
            self.valid = false;
            self.stored.clear();
            self.present = convert(raw, &mut self.stored)?;
            self.raw.clear();
            self.raw.push_str(raw);
            self.valid = true;
        }
        Ok(self.present.then_some(self.stored.as_str()))
    }
}

impl MappedConverter {
    /// A converter that reads numbers with a decimal point; see [`Self::with_number_formats`].
    pub fn new(target: Target, sources: Vec<Option<usize>>, width: usize, slash: SlashOrder, import_id: i64) -> Self {
        let numbers = vec![NumberFormat::default(); target.columns().len()];
        let last = std::iter::repeat_with(LastValue::default).take(target.columns().len()).collect();
        let source_of = |name: &str| {
            let index = target.columns().iter().position(|c| c.name == name)?;
            sources.get(index).copied().flatten()
        };
        let (invoice_source, status_source) = (source_of("invoice"), source_of("status"));
        let quantity = target.columns().iter().position(|c| c.name == "quantity");
        let one_unit = quantity.filter(|&i| target == Target::OrderLines && sources.get(i).copied().flatten().is_none());
        let currency_column = target.columns().iter().position(|c| c.name == "currency").filter(|_| target == Target::OrderLines);
        Self {
            target,
            sources,
            width,
            slash,
            one_unit,
            currency_column,
            stated_currency: None,
            cancellation: CancellationRule::None,
            invoice_source,
            status_source,
            numbers,
            import_id,
            last,
        }
    }

    /// Order lines: the currency of lines that do not state one (`--currency`).
    pub fn with_currency(mut self, currency: Option<String>) -> Self {
        self.stated_currency = currency.map(|c| c.trim().to_uppercase()).filter(|c| !c.is_empty());
        self
    }

    /// Order lines: marks cancelled lines by `rule`.
    pub fn with_cancellation(mut self, rule: CancellationRule) -> Self {
        self.cancellation = rule;
        self
    }

    /// Reads target column i's numbers with `formats[i]`.
    pub fn with_number_formats(mut self, formats: Vec<NumberFormat>) -> Self {
        self.numbers = formats;
        self
    }

    fn convert_value(&mut self, index: usize, column: &TargetColumn, raw: &str, batch: &mut Batch) -> Result<(), RowError> {
        let trimmed = raw.trim_ascii();
        if trimmed.is_empty() {
            if !column.empty_allowed {
                return Err(RowError::missing(column.name));
            }
            batch.push(Value::Null);
            return Ok(());
        }
        match column.kind {
            // Text stays exactly as exported: `47503J ` and `47503J` are different codes in the
            // source system, and trimming would merge them silently.
            ValueKind::Text => batch.push_text(raw),
            ValueKind::Int => {
                let value = values::parse_int(trimmed).ok_or_else(|| RowError::bad_value(column.name, "not a whole number", raw))?;
                if column.bounds == Bounds::Units && crate::analytics::event_frame::parse_quantity(trimmed).is_none() {
                    return Err(RowError::bad_value(column.name, "not a number of units (1 or more)", raw));
                }
                batch.push(Value::Int(value))
            }
            ValueKind::Real => {
                let format = self.numbers.get(index).copied().unwrap_or_default();
                let value = format.parse(trimmed).map_err(|why| {
                    let other = if format == NumberFormat::POINT { NumberFormat::COMMA } else { NumberFormat::POINT };
                    // A number in the other format is named as such: never reinterpreted.
                    match (why, other.parse(trimmed)) {
                        (NotANumber::NotThisFormat, Ok(_)) => RowError::bad_value(
                            column.name,
                            &format!("written differently from the column's other numbers ({})", format.describe()),
                            raw,
                        ),
                        (why, _) => RowError::bad_value(column.name, why.reason(), raw),
                    }
                })?;
                match column.bounds {
                    Bounds::Positive if value <= 0.0 => return Err(RowError::bad_value(column.name, "not a positive price", raw)),
                    Bounds::NonNegative if value < 0.0 => return Err(RowError::bad_value(column.name, "negative", raw)),
                    _ => {}
                }
                batch.push(Value::Real(value))
            }
            ValueKind::ExactId => batch.push(Value::Int(
                values::parse_exact_id(trimmed).ok_or_else(|| RowError::bad_value(column.name, "not an exact whole-number id", raw))?,
            )),
            ValueKind::DateTime => {
                let slash = self.slash;
                let parsed = self.last[index].get(trimmed, |trimmed, stored| {
                    let parsed =
                        values::parse_datetime(trimmed, slash).ok_or_else(|| RowError::bad_value(column.name, "not a date", raw))?;
                    stored.push_str(&parsed);
                    Ok(true)
                })?;
                batch.push_text(parsed.unwrap_or_default())
            }
            ValueKind::CustomerId => {
                let normalized = |trimmed: &str, stored: &mut String| {
                    let id = values::normalize_customer_id(trimmed);
                    stored.push_str(id.as_deref().unwrap_or(""));
                    Ok::<_, RowError>(id.is_some())
                };
                match self.last[index].get(trimmed, normalized)? {
                    Some(id) => batch.push_text(id),
                    None => batch.push(Value::Null),
                }
            }
            ValueKind::Flag => batch.push(Value::Int(
                values::parse_flag(trimmed).ok_or_else(|| RowError::bad_value(column.name, "not yes or no", raw))? as i64,
            )),
        }
        Ok(())
    }
}

impl Converter for MappedConverter {
    fn output_columns(&self) -> Vec<String> {
        let mut names: Vec<String> = self.target.columns().iter().map(|c| c.name.to_string()).collect();
        if self.target == Target::OrderLines {
            names.push("cancelled".into());
        }
        names.push("import_id".into());
        names
    }

    fn convert(&mut self, fields: &StringRecord, batch: &mut Batch) -> Result<(), RowError> {
        check_width(fields, self.width)?;
        for (index, column) in self.target.columns().iter().enumerate() {
            if Some(index) == self.one_unit {
                batch.push(Value::Int(1));
                continue;
            }
            if Some(index) == self.currency_column {
                // ISO codes, in upper case; a line that does not say is in the stated currency.
                let raw = self.sources.get(index).copied().flatten().and_then(|i| fields.get(i)).unwrap_or("").trim();
                match (raw, &self.stated_currency) {
                    ("", Some(stated)) => batch.push_text(stated),
                    ("", None) => batch.push(Value::Null),
                    (code, _) if code.bytes().any(|b| b.is_ascii_lowercase()) => batch.push_text(&code.to_uppercase()),
                    (code, _) => batch.push_text(code),
                }
                continue;
            }
            let raw = self.sources.get(index).copied().flatten().and_then(|i| fields.get(i)).unwrap_or("");
            self.convert_value(index, column, raw, batch)?;
        }
        if self.target == Target::OrderLines {
            let field = |source: Option<usize>| source.and_then(|i| fields.get(i)).unwrap_or("");
            let cancelled = self.cancellation.cancels(field(self.invoice_source), field(self.status_source));
            batch.push(Value::Int(cancelled as i64));
        }
        batch.push(Value::Int(self.import_id));
        Ok(())
    }
}

/// The wide competitor layout → `competitor_prices`, unpivoted: one row per competitor column
/// (`comp_1`, `comp_2`, ...; the column name is the competitor) that has a price, observed on
/// the first day of `month_year`. Our own `unit_price` of the month goes to `our_prices` (valid
/// from that day) in the same transaction. The layout is fixed: numbers with a decimal point,
/// `month_year` as DD-MM-YYYY unless the sample shows MM-DD-YYYY (see [`month_order`]).
pub struct WideCompetitorConverter {
    product: usize,
    our_price: usize,
    month: usize,
    competitors: Vec<(usize, String)>,
    day_first: bool,
    width: usize,
    import_id: i64,
    ours: Batch,
}

/// Whether `month_year` values are day first (DD-MM-YYYY): yes, unless every value's second
/// part is 01, every first part could be a month, and some is not 01 (then it is MM-DD-YYYY). Returns the decision and the
/// sentence for the quality report.
pub fn month_order<'a>(values: impl IntoIterator<Item = &'a str>) -> (bool, String) {
    let parts: Vec<(u32, u32)> = values
        .into_iter()
        .filter_map(|v| {
            let mut it = v.trim().split(['-', '/', '.']);
            Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
        })
        .collect();
    let month_first =
        !parts.is_empty() && parts.iter().all(|&(a, b)| b == 1 && (1..=12).contains(&a)) && parts.iter().any(|&(a, _)| a != 1);
    if month_first {
        (false, "month_year read as MM-DD-YYYY: in every sampled value the second part is 01 and the first is not always".into())
    } else if parts.iter().any(|&(a, _)| a > 12) {
        (true, "month_year read as DD-MM-YYYY: some sampled values start with a day above 12".into())
    } else {
        (true, "month_year read as DD-MM-YYYY (the layout's order; every sampled value is the first of a month)".into())
    }
}

impl WideCompetitorConverter {
    pub fn new(headers: &[String], day_first: bool, import_id: i64) -> Self {
        let find = |name: &str| headers.iter().position(|h| normalize_header(h) == name).unwrap_or(usize::MAX);
        let competitors = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| {
                let n = normalize_header(h);
                n.strip_prefix("comp").is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()))
            })
            .map(|(i, h)| (i, h.trim().to_string()))
            .collect();
        Self {
            product: find("productid"),
            our_price: find("unitprice"),
            month: find("monthyear"),
            competitors,
            day_first,
            width: headers.len(),
            import_id,
            ours: Batch::new(4),
        }
    }

    /// The columns the converter reads; the rest of the file is not loaded.
    pub fn used_columns(&self) -> Vec<usize> {
        let mut used = vec![self.product, self.our_price, self.month];
        used.extend(self.competitors.iter().map(|(i, _)| *i));
        used
    }

    fn month(&self, raw: &str) -> Result<String, RowError> {
        let bad = || RowError::bad_value("month_year", if self.day_first { "not a DD-MM-YYYY date" } else { "not a MM-DD-YYYY date" }, raw);
        let parts: Vec<&str> = raw.trim().split(['-', '/', '.']).collect();
        let [a, b, year] = parts[..] else { return Err(bad()) };
        let (day, month) = if self.day_first { (a, b) } else { (b, a) };
        let date = chrono::NaiveDate::from_ymd_opt(
            year.parse().map_err(|_| bad())?,
            month.parse().map_err(|_| bad())?,
            day.parse().map_err(|_| bad())?,
        )
        .filter(|_| year.len() == 4)
        .ok_or_else(bad)?;
        Ok(format!("{date} 00:00:00"))
    }
}

impl Converter for WideCompetitorConverter {
    fn output_columns(&self) -> Vec<String> {
        MappedConverter::new(Target::CompetitorPrices, vec![], 0, SlashOrder::default(), 0).output_columns()
    }

    fn convert(&mut self, fields: &StringRecord, batch: &mut Batch) -> Result<(), RowError> {
        check_width(fields, self.width)?;
        let field = |i: usize| fields.get(i).unwrap_or("");
        let product = field(self.product);
        if product.trim().is_empty() {
            return Err(RowError::missing("product_id"));
        }
        let observed_at = self.month(field(self.month))?;
        let number = |column: &str, raw: &str| match NumberFormat::POINT.parse(raw.trim()) {
            Ok(price) if price > 0.0 => Ok(price),
            Ok(_) => Err(RowError::bad_value(column, "not a positive price", raw)),
            Err(NotANumber::NotThisFormat) => Err(RowError::bad_value(column, "not a price", raw)),
            Err(why) => Err(RowError::bad_value(column, why.reason(), raw)),
        };
        let ours = match field(self.our_price).trim() {
            "" => None,
            raw => Some(number("unit_price", raw)?),
        };
        let mut prices = Vec::with_capacity(self.competitors.len());
        for (i, name) in &self.competitors {
            match field(*i).trim() {
                "" => {}
                raw => prices.push((name.as_str(), number(name, raw)?)),
            }
        }
        if prices.is_empty() {
            return Err(RowError { key: "no competitor price".into(), detail: "no competitor price: every comp_ column is empty".into() });
        }
        // Everything parsed: only now is anything written, so a rejected row leaves nothing.
        for (competitor, price) in prices {
            batch.push_text(product);
            batch.push_text(competitor);
            batch.push(Value::Real(price));
            batch.push_text(&observed_at);
            for _ in 0..3 {
                batch.push(Value::Null); // in_stock, url, currency: the layout has none
            }
            batch.push(Value::Int(self.import_id));
        }
        if let Some(price) = ours {
            self.ours.push_text(product);
            self.ours.push(Value::Real(price));
            self.ours.push_text(&observed_at);
            self.ours.push(Value::Int(self.import_id));
        }
        Ok(())
    }

    fn extra_rows(&mut self) -> Option<(&'static str, Vec<String>, Batch)> {
        let columns = ["product_id", "price", "valid_from", "import_id"].map(String::from).to_vec();
        Some((Target::OurPrices.table(), columns, std::mem::replace(&mut self.ours, Batch::new(4))))
    }
}

/// CDNOW transactions → order_lines: one invoice per customer and day (`<customer>-<yyyymmdd>`),
/// quantity = number of CDs, unit price = dollar value / CDs (so quantity × price = the value).
pub struct CdnowConverter {
    date_index: usize,
    width: usize,
    import_id: i64,
    /// The import's stated currency (`--currency`), if any.
    currency: Option<String>,
}

impl CdnowConverter {
    pub fn new(kind: KnownKind, import_id: i64, currency: Option<String>) -> Self {
        let (date_index, width) = if kind == KnownKind::CdnowSample { (2, 5) } else { (1, 4) };
        Self { date_index, width, import_id, currency }
    }
}

impl Converter for CdnowConverter {
    fn output_columns(&self) -> Vec<String> {
        MappedConverter::new(Target::OrderLines, vec![], 0, SlashOrder::default(), 0).output_columns()
    }

    fn convert(&mut self, fields: &StringRecord, batch: &mut Batch) -> Result<(), RowError> {
        check_width(fields, self.width)?;
        let customer = values::strip_leading_zeros(fields[0].trim());
        let date_raw = fields[self.date_index].trim();
        let cds_raw = &fields[self.date_index + 1];
        let value_raw = &fields[self.date_index + 2];
        if customer.is_empty() {
            return Err(RowError::missing("customer_id"));
        }
        let date = values::parse_datetime(date_raw, SlashOrder::default())
            .filter(|_| date_raw.len() == 8)
            .ok_or_else(|| RowError::bad_value("date", "not a yyyymmdd date", date_raw))?;
        let cds = values::parse_int(cds_raw).ok_or_else(|| RowError::bad_value("number_of_cds", "not a whole number", cds_raw))?;
        // CDNOW's layout is fixed: dollars with a decimal point.
        let dollars = NumberFormat::POINT.parse(value_raw).map_err(|why| RowError::bad_value("dollar_value", why.reason(), value_raw))?;
        batch.push_text(&format!("{customer}-{date_raw}"));
        batch.push(Value::Null); // stock_code
        batch.push(Value::Null); // description
        batch.push(Value::Int(cds));
        batch.push_text(&date);
        batch.push(Value::Real(if cds != 0 { dollars / cds as f64 } else { 0.0 }));
        batch.push_text(customer);
        batch.push(Value::Null); // country
        batch.push(Value::Null); // status
        batch.push(Value::Null); // freight
        match &self.currency {
            Some(currency) => batch.push_text(currency),
            None => batch.push(Value::Null),
        }
        batch.push(Value::Int(0));
        batch.push(Value::Int(self.import_id));
        Ok(())
    }
}

/// Files of no known kind: every column kept as text; which columns could be numbers is
/// tracked so the table can be retyped once the whole file has been seen.
pub struct RawConverter {
    columns: Vec<String>,
    /// Per column: every non-empty value so far is an integer / a number.
    all_int: Vec<bool>,
    all_real: Vec<bool>,
}

impl RawConverter {
    pub fn new(headers: &[String]) -> Self {
        let columns = sanitize_column_names(headers);
        let n = columns.len();
        Self { columns, all_int: vec![true; n], all_real: vec![true; n] }
    }
}

impl Converter for RawConverter {
    fn output_columns(&self) -> Vec<String> {
        self.columns.clone()
    }

    fn column_types(&self) -> Option<Vec<&'static str>> {
        Some(
            self.all_int
                .iter()
                .zip(&self.all_real)
                .map(|(&int, &real)| {
                    if int {
                        "INTEGER"
                    } else if real {
                        "REAL"
                    } else {
                        "TEXT"
                    }
                })
                .collect(),
        )
    }

    fn convert(&mut self, fields: &StringRecord, batch: &mut Batch) -> Result<(), RowError> {
        check_width(fields, self.columns.len())?;
        for i in 0..self.columns.len() {
            let value = &fields[i];
            if !value.is_empty() {
                // A column becomes numeric only if SQLite stores every value as the same number
                // it was written as: `+49…`, `007`, a 25-digit id or one past 2^63 keep it text.
                if self.all_int[i] && !values::is_exact_integer(value) {
                    self.all_int[i] = false;
                }
                if self.all_real[i] && !values::is_exact_decimal(value) {
                    self.all_real[i] = false;
                }
            }
            batch.push_text_or_null(value);
        }
        Ok(())
    }
}

/// Column names safe and unique for SQL: empty headers become `column_N`, repeats get a suffix.
pub fn sanitize_column_names(headers: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    headers
        .iter()
        .enumerate()
        .map(|(i, header)| {
            let cleaned: String = header.trim().chars().map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
            let cleaned = cleaned.trim_matches('_').to_string();
            let base = if cleaned.is_empty() { format!("column_{}", i + 1) } else { cleaned };
            let mut name = base.clone();
            let mut n = 2;
            while !seen.insert(name.clone()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            name
        })
        .collect()
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
    fn order_line_conversion_types_values_and_rejects_with_reasons() {
        let h = headers(&["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]);
        let sources = resolve_mapping(Target::OrderLines, &guess_mapping(Target::OrderLines, &h), &h).unwrap();
        let mut conv = MappedConverter::new(Target::OrderLines, sources, 8, SlashOrder::MonthFirst, 7)
            .with_cancellation(CancellationRule::InvoicePrefix);
        let mut batch = Batch::new(conv.output_columns().len());
        let row =
            StringRecord::from(vec!["C489449", "22087", " PAPER BUNTING ", "-12", "2009-12-01 10:33:00", "2.95", "16321.0", "Australia"]);
        batch.push_row(|b| conv.convert(&row, b)).unwrap();
        let values = batch.row(0);
        assert_eq!(batch.text_of(&values[0]), Some("C489449"));
        assert_eq!(batch.text_of(&values[2]), Some(" PAPER BUNTING "));
        assert_eq!(values[3], Value::Int(-12));
        assert_eq!(values[5], Value::Real(2.95));
        assert_eq!(batch.text_of(&values[6]), Some("16321"));
        // status, freight and currency are not in the file; the C invoice is a cancellation.
        assert_eq!(&values[8..], &[Value::Null, Value::Null, Value::Null, Value::Int(1), Value::Int(7)]);

        let bad_qty = StringRecord::from(vec!["1", "x", "d", "12x", "2009-12-01 10:33:00", "2.95", "", "UK"]);
        assert_eq!(batch.push_row(|b| conv.convert(&bad_qty, b)).unwrap_err().key, "quantity: not a whole number");
        let bad_date = StringRecord::from(vec!["1", "x", "d", "1", "31/02/2009", "2.95", "", "UK"]);
        assert_eq!(batch.push_row(|b| conv.convert(&bad_date, b)).unwrap_err().key, "invoice_date: not a date");
        let ragged = StringRecord::from(vec!["1", "x", "d"]);
        assert_eq!(batch.push_row(|b| conv.convert(&ragged, b)).unwrap_err().key, "wrong number of fields");
        let trailing_delimiter = StringRecord::from(vec!["2", "x", "", "1", "2009-12-01 10:33:00", "0", "", "", ""]);
        batch.push_row(|b| conv.convert(&trailing_delimiter, b)).unwrap();
        assert_eq!(batch.len(), 2, "failed rows leave nothing behind");
        assert_eq!(batch.row(1)[2], Value::Null);
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

    #[test]
    fn cdnow_rows_become_one_invoice_per_customer_day() {
        let mut conv = CdnowConverter::new(KnownKind::CdnowSample, 1, None);
        let mut batch = Batch::new(10);
        conv.convert(&StringRecord::from(vec!["00004", "0001", "19970118", "2", "29.73"]), &mut batch).unwrap();
        let row = batch.row(0);
        assert_eq!(batch.text_of(&row[0]), Some("4-19970118"));
        assert_eq!(batch.text_of(&row[4]), Some("1997-01-18 00:00:00"));
        assert_eq!(row[3], Value::Int(2));
        let Value::Real(price) = row[5] else { panic!() };
        assert!((price * 2.0 - 29.73).abs() < 1e-12);
        assert_eq!(batch.text_of(&row[6]), Some("4"));
    }

    #[test]
    fn raw_columns_are_numeric_only_when_every_value_is() {
        let mut conv = RawConverter::new(&headers(&["zip", "n", "x", "", "n"]));
        assert_eq!(conv.output_columns(), ["zip", "n", "x", "column_4", "n_2"]);
        let mut batch = Batch::new(5);
        for row in [["01234", "1", "1.5", "a", "7"], ["12345", "2", "x", "", "8"]] {
            conv.convert(&StringRecord::from(row.to_vec()), &mut batch).unwrap();
        }
        assert_eq!(conv.column_types().unwrap(), ["TEXT", "INTEGER", "TEXT", "TEXT", "INTEGER"]);
    }
}

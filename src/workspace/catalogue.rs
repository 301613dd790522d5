//! The catalogue of the tables an import fills: each table, its columns, their types and the
//! header names that usually mean them. It is the one description of those tables that the code
//! reads: the migrations check a migrated workspace against it ([`super::schema::migrate`]), the
//! importer maps and converts files onto it (`import::kinds`, `import::convert`), and the warehouse
//! push-down pre-guesses a server table's columns from it. The tables themselves are created by
//! the migrations (`schema::MIGRATIONS`), which never change once shipped; a test holds the two equal.
//!
//! Types come from here, never from the first rows of a file: `Invoice` is text even when its
//! first thousand values look numeric.

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
/// maps `listed_at` or `sold` (see `import::kinds::check_mapping`).
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

/// Lowercase letters and digits only: `Customer ID`, `CustomerID` and `customer_id` all match.
pub fn normalize_header(header: &str) -> String {
    header.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

impl ValueKind {
    /// The type the column is declared with in SQLite.
    pub const fn sql_type(self) -> &'static str {
        match self {
            ValueKind::Text | ValueKind::DateTime | ValueKind::CustomerId => "TEXT",
            ValueKind::Int | ValueKind::ExactId | ValueKind::Flag => "INTEGER",
            ValueKind::Real => "REAL",
        }
    }
}

/// A column the importer writes beyond the file's own, after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerivedColumn {
    /// Order lines: 1 when the import's cancellation rule marks the line cancelled, else 0.
    Cancelled,
    /// The `imports.id` that loaded the row (0 in `our_prices`: a decision taken in shoplens).
    ImportId,
}

impl DerivedColumn {
    pub const fn name(self) -> &'static str {
        match self {
            DerivedColumn::Cancelled => "cancelled",
            DerivedColumn::ImportId => "import_id",
        }
    }
}

impl Target {
    /// The columns the importer writes beyond the file's, in the order it writes them.
    pub fn derived_columns(&self) -> &'static [DerivedColumn] {
        match self {
            Target::OrderLines => &[DerivedColumn::Cancelled, DerivedColumn::ImportId],
            Target::Raw => &[],
            _ => &[DerivedColumn::ImportId],
        }
    }

    /// Every column an import writes into the table, in order: the file's, then the derived.
    pub fn stored_column_names(&self) -> Vec<&'static str> {
        let derived = self.derived_columns().iter().map(|d| d.name());
        self.columns().iter().map(|c| c.name).chain(derived).collect()
    }
}

/// A table in a workspace that is not what the catalogue says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDiffers {
    pub table: &'static str,
    pub column: &'static str,
    /// What the workspace has instead, in plain words.
    pub found: String,
}

/// Checks every catalogue table of a migrated workspace: each column the catalogue names is
/// there, with its declared type and, for a column a row may never leave empty, `NOT NULL`.
/// A workspace whose tables were altered elsewhere is refused at open with the column named,
/// instead of failing later in the middle of an import or a model.
pub fn check_tables(conn: &rusqlite::Connection) -> Result<(), CheckError> {
    let mut statement = conn.prepare("SELECT name, type, \"notnull\" FROM pragma_table_info(?1)")?;
    for target in Target::ALL.iter().filter(|t| **t != Target::Raw) {
        let found: Vec<(String, String, bool)> =
            statement.query_map([target.table()], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?.collect::<Result<_, _>>()?;
        let expected = target
            .columns()
            .iter()
            .map(|c| (c.name, c.kind.sql_type(), !c.empty_allowed))
            .chain(target.derived_columns().iter().map(|d| (d.name(), "INTEGER", true)));
        for (name, sql_type, not_null) in expected {
            let differs = |found: String| CheckError::Differs(TableDiffers { table: target.table(), column: name, found });
            match found.iter().find(|(n, _, _)| n == name) {
                None => return Err(differs("no such column".into())),
                Some((_, t, _)) if !t.eq_ignore_ascii_case(sql_type) => return Err(differs(format!("type {t}, not {sql_type}"))),
                Some((_, _, n)) if *n != not_null => {
                    return Err(differs(if not_null { "allows empty values".into() } else { "refuses empty values".into() }))
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// Why [`check_tables`] refused a workspace.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("the workspace's table {} is not as shoplens made it: column {}: {}", .0.table, .0.column, .0.found)]
    Differs(TableDiffers),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::schema;

    fn migrated() -> rusqlite::Connection {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        conn
    }

    /// The reference is the migrations' own SQL: every column SQLite reports for a catalogue
    /// table is one the catalogue names, and the other way round.
    #[test]
    fn the_migrations_make_exactly_the_catalogue_tables() {
        let conn = migrated();
        check_tables(&conn).unwrap();
        for target in Target::ALL.iter().filter(|t| **t != Target::Raw) {
            let mut names: Vec<String> = conn
                .prepare("SELECT name FROM pragma_table_info(?1)")
                .unwrap()
                .query_map([target.table()], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let mut catalogue: Vec<String> = target.stored_column_names().iter().map(|s| s.to_string()).collect();
            names.sort();
            catalogue.sort();
            assert_eq!(names, catalogue, "{}", target.table());
        }
    }

    #[test]
    fn a_table_changed_outside_shoplens_is_named() {
        let conn = migrated();
        conn.execute_batch("ALTER TABLE listings DROP COLUMN likes").unwrap();
        let err = check_tables(&conn).unwrap_err();
        assert!(matches!(&err, CheckError::Differs(d) if d.table == "listings" && d.column == "likes"), "{err}");

        let conn = migrated();
        conn.execute_batch(
            "DROP TABLE users; CREATE TABLE users (user_id TEXT NOT NULL, signup_at INTEGER, country TEXT, import_id INTEGER NOT NULL)",
        )
        .unwrap();
        let err = check_tables(&conn).unwrap_err().to_string();
        assert!(err.contains("users") && err.contains("signup_at") && err.contains("type INTEGER, not TEXT"), "{err}");
    }

    #[test]
    fn header_names_normalise_to_letters_and_digits() {
        assert_eq!(normalize_header("Customer ID"), "customerid");
        assert_eq!(normalize_header("customer_id"), "customerid");
        assert_eq!(Target::parse("Order lines"), Some(Target::OrderLines));
    }
}

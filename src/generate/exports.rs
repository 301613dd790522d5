//! Seeded generators of third-party export layouts, for tests: an Olist-style relational dump
//! (order items, orders, customers) and a Vestiaire-style listing snapshot. The real files are
//! non-commercial, so the fixtures are ours: their columns, id shapes and quirks follow the
//! published layouts (see ../shared/data/SOURCES.md while developing), their values are drawn
//! here. Tests compute their references over the same files (SQL over raw imports), never from
//! what the generator planted.

use std::io;
use std::path::{Path, PathBuf};

use rand::Rng;
use rand_distr::{Distribution, LogNormal, Zipf};
use rand_pcg::Pcg64Mcg;

use super::{rng, timestamp};

/// A 32-digit lowercase hex id, as Olist's ids are (about one in sixteen starts with `c`).
fn hex_id(rng: &mut Pcg64Mcg) -> String {
    format!("{:032x}", rng.random::<u128>())
}

/// A price as pandas writes a float: no trailing zeros (`35.9`, `120`).
fn pandas_number(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

/// The three files of an Olist-style dump.
#[derive(Debug, Clone)]
pub struct OlistFiles {
    pub items: PathBuf,
    pub orders: PathBuf,
    pub customers: PathBuf,
}

const STATES: &[(&str, u32)] = &[("SP", 42), ("RJ", 13), ("MG", 12), ("RS", 6), ("PR", 5), ("SC", 4), ("BA", 3), ("DF", 2), ("GO", 2)];
const STATUSES: &[(&str, u32)] =
    &[("delivered", 9700), ("shipped", 100), ("canceled", 75), ("unavailable", 60), ("invoiced", 30), ("processing", 20)];

/// Writes `orders` orders in Olist's layout into `dir`: `olist_order_items_dataset.csv`,
/// `olist_orders_dataset.csv`, `olist_customers_dataset.csv`. As in the real dump: every order
/// has its own `customer_id`, a few people (`customer_unique_id`) ordered more than once, most
/// orders have one item, some have several, and about one order in a hundred (mostly
/// unavailable or cancelled ones) has no item at all.
pub fn write_olist(dir: &Path, orders: usize, seed: u64) -> io::Result<OlistFiles> {
    let mut rng = rng(seed);
    let files = OlistFiles {
        items: dir.join("olist_order_items_dataset.csv"),
        orders: dir.join("olist_orders_dataset.csv"),
        customers: dir.join("olist_customers_dataset.csv"),
    };
    let mut items = csv::Writer::from_path(&files.items)?;
    items.write_record(["order_id", "order_item_id", "product_id", "seller_id", "shipping_limit_date", "price", "freight_value"])?;
    let mut orders_csv = csv::Writer::from_path(&files.orders)?;
    orders_csv.write_record([
        "order_id",
        "customer_id",
        "order_status",
        "order_purchase_timestamp",
        "order_approved_at",
        "order_delivered_carrier_date",
        "order_delivered_customer_date",
        "order_estimated_delivery_date",
    ])?;
    let mut customers = csv::Writer::from_path(&files.customers)?;
    customers.write_record(["customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city", "customer_state"])?;

    let base = chrono::NaiveDate::from_ymd_opt(2016, 9, 4).and_then(|d| d.and_hms_opt(0, 0, 0)).expect("valid date");
    let span = 760 * 86_400;
    let products: Vec<(String, f64)> = (0..(orders / 3).max(20))
        .map(|_| (hex_id(&mut rng), LogNormal::new(4.2f64, 0.9).expect("valid").sample(&mut rng).clamp(3.0, 4_000.0)))
        .collect();
    let sellers: Vec<String> = (0..(orders / 6).max(5)).map(|_| hex_id(&mut rng)).collect();
    let popularity = Zipf::new(products.len() as f64, 1.05).expect("valid zipf");
    // People, some of whom come back: a repeat buyer's next order gets a new customer_id.
    struct Person {
        unique_id: String,
        zip: String,
        state: &'static str,
    }
    let mut people: Vec<Person> = Vec::new();
    let mut times: Vec<i64> = (0..orders).map(|_| rng.random_range(0..span)).collect();
    times.sort_unstable();
    for &t in &times {
        let person = if !people.is_empty() && rng.random_bool(0.03) {
            rng.random_range(0..people.len())
        } else {
            let state = super::weighted(&mut rng, STATES);
            let state = STATES.iter().map(|(s, _)| *s).find(|s| *s == state).unwrap_or("SP");
            people.push(Person { unique_id: hex_id(&mut rng), zip: format!("{:05}", rng.random_range(1_000..99_999)), state });
            people.len() - 1
        };
        let person = &people[person];
        let customer_id = hex_id(&mut rng);
        customers.write_record([customer_id.as_str(), &person.unique_id, &person.zip, city(person.state), person.state])?;
        let order_id = hex_id(&mut rng);
        let status = super::weighted(&mut rng, STATUSES).to_string();
        let purchase = timestamp(base, t);
        let approved = if rng.random_bool(0.997) { timestamp(base, t + rng.random_range(600..86_400)) } else { String::new() };
        let delivered = status == "delivered";
        let carrier = if delivered { timestamp(base, t + rng.random_range(86_400..5 * 86_400)) } else { String::new() };
        let customer_date = if delivered { timestamp(base, t + rng.random_range(5 * 86_400..20 * 86_400)) } else { String::new() };
        let estimated = format!("{} 00:00:00", &timestamp(base, t + 25 * 86_400)[..10]);
        orders_csv.write_record([&order_id, &customer_id, &status, &purchase, &approved, &carrier, &customer_date, &estimated])?;
        // No items: mostly orders that never went ahead.
        let without_items = match status.as_str() {
            "unavailable" => rng.random_bool(0.95),
            "canceled" => rng.random_bool(0.35),
            "invoiced" => rng.random_bool(0.04),
            _ => false,
        };
        if without_items {
            continue;
        }
        let count = if rng.random_bool(0.9) { 1 } else { rng.random_range(2..=4) };
        let seller = &sellers[rng.random_range(0..sellers.len())];
        for item in 1..=count {
            let (product, price) = &products[popularity.sample(&mut rng) as usize - 1];
            let freight = (rng.random_range(7.0..40.0f64) * 100.0).round() / 100.0;
            let limit = timestamp(base, t + rng.random_range(2 * 86_400..7 * 86_400));
            items.write_record([
                order_id.as_str(),
                &item.to_string(),
                product,
                seller,
                &limit,
                &pandas_number(*price),
                &pandas_number(freight),
            ])?;
        }
    }
    items.flush()?;
    orders_csv.flush()?;
    customers.flush()?;
    Ok(files)
}

/// A state's capital, as the customers file's city.
fn city(state: &str) -> &'static str {
    match state {
        "SP" => "sao paulo",
        "RJ" => "rio de janeiro",
        "MG" => "belo horizonte",
        "RS" => "porto alegre",
        "PR" => "curitiba",
        "SC" => "florianopolis",
        "BA" => "salvador",
        "DF" => "brasilia",
        _ => "goiania",
    }
}

const VESTIAIRE_BRANDS: &[&str] = &[
    "chanel",
    "louis vuitton",
    "hermès",
    "gucci",
    "prada",
    "dior",
    "saint laurent",
    "celine",
    "balenciaga",
    "bottega veneta",
    "fendi",
    "burberry",
    "miu miu",
    "valentino",
    "givenchy",
    "loewe",
    "chloé",
    "isabel marant",
    "acne studios",
    "maje",
    "sandro",
    "zadig & voltaire",
    "the kooples",
    "sézane",
    "ba&sh",
    "a.p.c.",
    "max mara",
    "moncler",
    "stone island",
    "off-white",
    "nike",
    "adidas",
    "levi's",
    "ralph lauren",
    "tommy hilfiger",
    "hugo boss",
    "michael kors",
    "kate spade",
    "tory burch",
    "longchamp",
    "unknown",
];
const VESTIAIRE_CATEGORIES: &[(&str, &str, &str)] = &[
    ("women clothing", "Women", "Dress"),
    ("women bags", "Women", "Handbag"),
    ("women shoes", "Women", "Heels"),
    ("women accessories", "Women", "Sunglasses"),
    ("men clothing", "Men", "Jacket"),
    ("men shoes", "Men", "Trainers"),
    ("men accessories", "Men", "Silk tie"),
    ("women jewellery", "Women", "Necklace"),
];
const VESTIAIRE_COUNTRIES: &[&str] = &["france", "italy", "germany", "united kingdom", "united states", "spain", "belgium", "netherlands"];

/// Writes `rows` listings in the layout of the Vestiaire Collective snapshot (36 columns, one row
/// per product, `sold` 0/1, lowercased brand, category and country, no dates). About one in sixty
/// is sold; likes and sales lean on brand and price.
pub fn write_vestiaire(path: &Path, rows: usize, seed: u64) -> io::Result<()> {
    let mut rng = rng(seed);
    let mut out = csv::Writer::from_path(path)?;
    out.write_record([
        "product_id",
        "product_type",
        "product_name",
        "product_gender_target",
        "product_category",
        "product_season",
        "product_condition",
        "product_like_count",
        "sold",
        "reserved",
        "available",
        "in_stock",
        "should_be_gone",
        "brand_id",
        "brand_name",
        "brand_url",
        "product_material",
        "product_color",
        "price_usd",
        "seller_price",
        "seller_earning",
        "seller_badge",
        "has_cross_border_fees",
        "buyers_fees",
        "warehouse_name",
        "seller_id",
        "seller_username",
        "seller_country",
        "seller_products_sold",
        "seller_num_products_listed",
        "seller_community_rank",
        "seller_num_followers",
        "seller_pass_rate",
        "price_range",
        "conversion_rate",
        "shipping_days",
    ])?;
    let brand_pick = Zipf::new(VESTIAIRE_BRANDS.len() as f64, 1.1).expect("valid zipf");
    let sellers: Vec<u64> = (0..(rows * 4 / 5).max(10)).map(|_| rng.random_range(1_000..30_000_000)).collect();
    let likes = LogNormal::new(1.6f64, 1.1).expect("valid");
    let price = LogNormal::new(5.3f64, 0.9).expect("valid");
    // Distinct ids, increasing with gaps, as a scrape of one site gives.
    let mut next_id = 10_000_000u64;
    for _ in 0..rows {
        next_id += rng.random_range(1..6_000u64);
        let brand_index = brand_pick.sample(&mut rng) as usize - 1;
        let brand = VESTIAIRE_BRANDS[brand_index];
        let (category, gender, kind) = VESTIAIRE_CATEGORIES[rng.random_range(0..VESTIAIRE_CATEGORIES.len())];
        let like_count = likes.sample(&mut rng).floor() as u64;
        let price_usd = (price.sample(&mut rng).clamp(16.5, 9_500.0) * 100.0).round() / 100.0;
        // Popular brands and liked listings sell more often.
        let p_sold = (0.006 + 0.02 / (1.0 + brand_index as f64 / 4.0) + like_count as f64 * 0.0008).min(0.5);
        let sold = rng.random_bool(p_sold);
        let seller = sellers[rng.random_range(0..sellers.len())];
        let listed = rng.random_range(1..2_000u64);
        let sold_by_seller = rng.random_range(0..listed * 2);
        let seller_price = (price_usd / 1.2 * 100.0).round() / 100.0;
        let product_id = next_id.to_string();
        let name = format!("{kind} {brand} in {}", ["Leather", "Cotton", "Silk", "Metal", "Wool"][rng.random_range(0..5)]);
        out.write_record([
            product_id.as_str(),
            kind,
            &name,
            gender,
            category,
            "All seasons",
            ["Never worn", "Very good condition", "Good condition"][rng.random_range(0..3)],
            &like_count.to_string(),
            if sold { "1" } else { "0" },
            "0",
            if sold { "0" } else { "1" },
            "0",
            "0",
            &(brand_index + 1).to_string(),
            brand,
            &format!("http://vestiairecollective.com/{}/", brand.replace(' ', "-")),
            "Leather",
            ["black", "brown", "white", "blue", "red"][rng.random_range(0..5)],
            &format!("{price_usd}"),
            &format!("{seller_price}"),
            &format!("{:.2}", seller_price * 0.85),
            ["Common", "Trusted", "Expert"][rng.random_range(0..3)],
            if rng.random_bool(0.4) { "1" } else { "0" },
            &format!("{:.2}", price_usd - seller_price),
            ["Tourcoing", "Crawley", "Brooklyn"][rng.random_range(0..3)],
            &seller.to_string(),
            &format!("user{seller}"),
            VESTIAIRE_COUNTRIES[rng.random_range(0..VESTIAIRE_COUNTRIES.len())],
            &sold_by_seller.to_string(),
            &listed.to_string(),
            &rng.random_range(0..10_000u32).to_string(),
            &rng.random_range(0..5_000u32).to_string(),
            &format!("{:.1}", rng.random_range(50.0..100.0f64)),
            if price_usd < 300.0 {
                "low"
            } else if price_usd < 1000.0 {
                "medium"
            } else {
                "high"
            },
            &format!("{:.9}", sold_by_seller as f64 / listed as f64),
            &rng.random_range(1..8u32).to_string(),
        ])?;
    }
    out.flush()
}

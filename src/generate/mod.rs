//! Seeded generators of realistic shop data in the exact layouts of the public datasets:
//! UCI Online Retail II order lines and REES46 events. The same seed always gives the same file,
//! so benchmarks and the demo workspace are reproducible.
//!
//! Realism that matters for the analytics: skewed product and customer popularity (Zipf), about
//! 5% of lines on cancellation invoices, about 20% of invoices without a customer id, and event
//! sessions that view far more than they cart and cart more than they buy.

pub mod exports;

use std::io::{self, Write};

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Geometric, LogNormal, Zipf};
use rand_pcg::Pcg64Mcg;

const ADJECTIVES: &[&str] = &[
    "WHITE",
    "RED",
    "PINK",
    "BLUE",
    "VINTAGE",
    "RETRO",
    "REGENCY",
    "JUMBO",
    "SMALL",
    "LARGE",
    "HANGING",
    "GLASS",
    "WOODEN",
    "ENAMEL",
    "HEART",
    "STAR",
    "SPOTTY",
    "PAISLEY",
    "FLORAL",
    "CHRISTMAS",
    "PARTY",
    "GARDEN",
    "KITCHEN",
    "BAROQUE",
    "ZINC",
    "CERAMIC",
];
const NOUNS: &[&str] = &[
    "T-LIGHT HOLDER",
    "LANTERN",
    "BAG",
    "CAKE STAND",
    "TEACUP",
    "BUNTING",
    "MUG",
    "CANDLE",
    "DOORMAT",
    "CLOCK",
    "JAR",
    "TIN",
    "SIGN",
    "PHOTO FRAME",
    "CUSHION COVER",
    "BOWL",
    "NAPKINS",
    "PURSE",
    "NOTEBOOK",
    "WATER BOTTLE",
    "LUNCH BOX",
    "CHALKBOARD",
    "PLATE",
];
const COUNTRIES: &[(&str, u32)] = &[
    ("United Kingdom", 900),
    ("EIRE", 20),
    ("Germany", 17),
    ("France", 14),
    ("Netherlands", 6),
    ("Spain", 5),
    ("Switzerland", 4),
    ("Belgium", 4),
    ("Portugal", 4),
    ("Sweden", 3),
    ("Australia", 3),
    ("Italy", 3),
    ("Norway", 2),
    ("Channel Islands", 2),
    ("Finland", 2),
    ("Denmark", 2),
    ("Cyprus", 2),
    ("Japan", 1),
    ("USA", 1),
    ("Poland", 1),
];
const CATEGORY_CODES: &[&str] = &[
    "electronics.smartphone",
    "electronics.audio.headphone",
    "electronics.video.tv",
    "electronics.clocks",
    "computers.notebook",
    "computers.desktop",
    "computers.peripherals.printer",
    "appliances.kitchen.washer",
    "appliances.kitchen.refrigerators",
    "appliances.environment.vacuum",
    "appliances.environment.water_heater",
    "apparel.shoes",
    "apparel.shoes.keds",
    "apparel.trousers",
    "furniture.living_room.sofa",
    "furniture.bedroom.bed",
    "furniture.kitchen.table",
    "auto.accessories.player",
    "kids.toys",
    "construction.tools.drill",
    "sport.bicycle",
    "accessories.bag",
    "country_yard.cultivator",
    "medicine.tools.tonometer",
];
const BRANDS: &[&str] = &[
    "samsung", "apple", "xiaomi", "huawei", "lucente", "bosch", "lg", "sony", "acer", "lenovo", "hp", "asus", "philips", "indesit", "nike",
    "adidas", "puma", "shiseido", "aqua", "redmond", "artel", "cordiant", "elari", "jbl", "canon", "haier", "vitek", "polaris", "tefal",
    "karcher", "makita", "stels", "lego", "mattel", "casio", "garmin", "dyson", "zara", "hermès", "chloé",
];

pub(crate) fn rng(seed: u64) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(seed)
}

pub(crate) fn weighted<'a, R: Rng>(rng: &mut R, items: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total);
    for (item, weight) in items {
        if pick < *weight {
            return item;
        }
        pick -= weight;
    }
    items[0].0
}

/// Formats seconds since 2009-12-01 00:00 as `YYYY-MM-DD HH:MM:SS`.
/// A random version-4 UUID, as REES46 session ids are.
fn session_uuid(rng: &mut Pcg64Mcg) -> String {
    let s: u128 = rng.random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (s >> 96) as u32,
        (s >> 80) as u16,
        (s >> 68) as u16 & 0xfff,
        ((s >> 52) as u16 & 0x3fff) | 0x8000,
        s as u64 & 0xffff_ffff_ffff
    )
}

pub(crate) fn timestamp(base: chrono::NaiveDateTime, seconds: i64) -> String {
    (base + chrono::Duration::seconds(seconds)).format("%Y-%m-%d %H:%M:%S").to_string()
}

struct Product {
    code: String,
    description: String,
    price: f64,
}

/// The header of UCI Online Retail II order lines, as both generators write it.
pub const UCI_HEADER: [&str; 8] = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"];

/// Writes `rows` order lines (plus a header) in the UCI Online Retail II CSV layout.
pub fn write_order_lines(out: impl Write, rows: u64, seed: u64) -> io::Result<()> {
    let mut rng = rng(seed);
    let product_count = 4000usize;
    let customer_count = (rows / 120).clamp(50, 2_000_000) as usize;
    let price_dist = LogNormal::new(1.0f64, 0.8).expect("valid lognormal");
    let products: Vec<Product> = (0..product_count)
        .map(|i| {
            let mut description =
                format!("{} {}", ADJECTIVES[rng.random_range(0..ADJECTIVES.len())], NOUNS[rng.random_range(0..NOUNS.len())]);
            if i % 97 == 0 {
                description.push_str(" , ASSORTED"); // commas force CSV quoting, as in the real data
            }
            let suffix = if rng.random_bool(0.3) { ((b'A' + rng.random_range(0..4u8)) as char).to_string() } else { String::new() };
            Product {
                code: format!("{}{suffix}", 10000 + i * 19 % 89999),
                description,
                price: (price_dist.sample(&mut rng) * 100.0).round().max(1.0) / 100.0,
            }
        })
        .collect();
    let customers: Vec<(u64, &str)> = (0..customer_count).map(|i| (12346 + i as u64, weighted(&mut rng, COUNTRIES))).collect();
    let product_pick = Zipf::new(product_count as f64, 1.05).expect("valid zipf");
    let customer_pick = Zipf::new(customer_count as f64, 0.8).expect("valid zipf");
    let lines_per_invoice = Geometric::new(1.0 / 18.0).expect("valid geometric");
    let lines_per_cancellation = Geometric::new(1.0 / 6.0).expect("valid geometric");
    let quantities: &[(&str, u32)] = &[("1", 30), ("2", 20), ("3", 8), ("4", 10), ("6", 12), ("12", 12), ("24", 5), ("48", 2), ("96", 1)];

    let expected_invoices = (rows as f64 / 16.0).max(1.0);
    let span_seconds = 373.0 * 86400.0;
    let base = chrono::NaiveDate::from_ymd_opt(2009, 12, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).expect("valid date");
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(UCI_HEADER)?;
    let (mut written, mut invoice_no) = (0u64, 489434u64);
    while written < rows {
        let progress = invoice_no.saturating_sub(489434) as f64 / expected_invoices;
        let day = (progress * span_seconds / 86400.0).floor() as i64;
        let second_of_day = rng.random_range(7 * 3600..20 * 3600);
        let when = timestamp(base, day * 86400 + second_of_day / 60 * 60);
        let cancelled = rng.random_bool(0.14);
        let (invoice, line_count) = if cancelled {
            (format!("C{invoice_no}"), 1 + lines_per_cancellation.sample(&mut rng))
        } else {
            (invoice_no.to_string(), 1 + lines_per_invoice.sample(&mut rng))
        };
        invoice_no += 1;
        let customer = (!rng.random_bool(0.2)).then(|| customers[customer_pick.sample(&mut rng) as usize - 1]);
        let (customer_id, country) = match customer {
            Some((id, country)) => (format!("{id}.0"), country),
            None => (String::new(), "United Kingdom"),
        };
        for _ in 0..line_count.min(rows - written) {
            let product = &products[product_pick.sample(&mut rng) as usize - 1];
            let quantity = weighted(&mut rng, quantities);
            let quantity = if cancelled { format!("-{quantity}") } else { quantity.to_string() };
            let price = format!("{:.2}", product.price);
            writer.write_record([
                invoice.as_str(),
                &product.code,
                &product.description,
                &quantity,
                &when,
                &price,
                &customer_id,
                country,
            ])?;
            written += 1;
        }
    }
    writer.flush()?;
    Ok(())
}

struct EventProduct {
    id: u64,
    category_id: u64,
    category_code: &'static str,
    brand: &'static str,
    price: f64,
}

/// Writes `rows` events (plus a header) in the REES46 CSV layout, session by session from
/// 2019-10-01 00:00:00 UTC.
pub fn write_events(out: impl Write, rows: u64, seed: u64) -> io::Result<()> {
    let mut rng = rng(seed);
    let product_count = (rows / 200).clamp(500, 200_000) as usize;
    let user_count = (rows / 8).clamp(100, 5_000_000) as usize;
    let price_dist = LogNormal::new(4.0f64, 1.1).expect("valid lognormal");
    let products: Vec<EventProduct> = (0..product_count)
        .map(|i| {
            let category = rng.random_range(0..CATEGORY_CODES.len());
            EventProduct {
                id: 1_000_978 + i as u64 * 7,
                category_id: 2_053_013_552_326_770_905 + category as u64 * 1_000_003,
                category_code: if rng.random_bool(0.3) { "" } else { CATEGORY_CODES[category] },
                brand: if rng.random_bool(0.15) { "" } else { BRANDS[rng.random_range(0..BRANDS.len())] },
                price: (price_dist.sample(&mut rng) * 100.0).round() / 100.0,
            }
        })
        .collect();
    let product_pick = Zipf::new(product_count as f64, 1.0).expect("valid zipf");
    let user_pick = Zipf::new(user_count as f64, 0.6).expect("valid zipf");
    let views_per_session = Geometric::new(1.0 / 6.0).expect("valid geometric");
    let base = chrono::NaiveDate::from_ymd_opt(2019, 10, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).expect("valid date");
    let sessions_expected = rows as f64 / 7.5;
    let span_seconds = 30.0 * 86400.0;

    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    writeln!(out, "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session")?;
    let (mut written, mut session_no) = (0u64, 0u64);
    let mut cart: Vec<usize> = Vec::new();
    while written < rows {
        let user_id = 512_000_000 + user_pick.sample(&mut rng) as u64;
        let session = session_uuid(&mut rng);
        let mut clock = (session_no as f64 / sessions_expected * span_seconds) as i64;
        session_no += 1;
        cart.clear();
        let mut emit = |rng: &mut Pcg64Mcg, kind: &str, p: usize, clock: &mut i64, written: &mut u64| -> io::Result<()> {
            if *written >= rows {
                return Ok(());
            }
            let product = &products[p];
            writeln!(
                out,
                "{} UTC,{kind},{},{},{},{},{:.2},{user_id},{session}",
                timestamp(base, *clock),
                product.id,
                product.category_id,
                product.category_code,
                product.brand,
                product.price
            )?;
            *written += 1;
            *clock += rng.random_range(3..120);
            Ok(())
        };
        for _ in 0..1 + views_per_session.sample(&mut rng) {
            let p = product_pick.sample(&mut rng) as usize - 1;
            emit(&mut rng, "view", p, &mut clock, &mut written)?;
            if rng.random_bool(0.09) {
                emit(&mut rng, "cart", p, &mut clock, &mut written)?;
                cart.push(p);
                if rng.random_bool(0.25) {
                    emit(&mut rng, "remove_from_cart", p, &mut clock, &mut written)?;
                    cart.pop();
                }
            } else if rng.random_bool(0.004) {
                emit(&mut rng, "purchase", p, &mut clock, &mut written)?; // bought straight from the page
            }
        }
        if !cart.is_empty() && rng.random_bool(0.4) {
            for &p in &cart {
                emit(&mut rng, "purchase", p, &mut clock, &mut written)?;
            }
        }
    }
    out.flush()
}

/// Purchase histories (x, t_x, T) drawn from the BG/NBD process itself: λ ~ Gamma(r, α) (α a
/// rate), p ~ Beta(a, b); each customer is observed for T ~ Uniform(`weeks`/2, `weeks`)
/// units after their first purchase, buys at rate λ and drops out after each repeat purchase with
/// probability p. Spend per repeat purchase is Gamma(p_gg, ν) with ν ~ Gamma(q, v) (a rate), as
/// the Gamma-Gamma model assumes. Times are in weeks, recorded to the day. Used for the fit benchmark and the parameter-recovery test.
pub fn clv_histories(customers: usize, bgnbd: [f64; 4], gamma_gamma: [f64; 3], weeks: f64, seed: u64) -> Vec<(f64, f64, f64, f64)> {
    use rand_distr::{Beta, Exp, Gamma};
    let [r, alpha, a, b] = bgnbd;
    let [p, q, v] = gamma_gamma;
    let mut rng = rng(seed);
    let (rate, dropout) = (Gamma::new(r, 1.0 / alpha).expect("valid shape"), Beta::new(a, b).expect("valid shape"));
    let spend_rate = Gamma::new(q, 1.0 / v).expect("valid shape");
    (0..customers)
        .map(|_| {
            let big_t = rng.random_range(weeks / 2.0..weeks);
            let lambda: f64 = rate.sample(&mut rng);
            let p_drop: f64 = dropout.sample(&mut rng);
            let nu: f64 = spend_rate.sample(&mut rng);
            let spend = Gamma::new(p, 1.0 / nu).expect("valid shape");
            let (mut t, mut x, mut t_x, mut total) = (0.0, 0.0, 0.0, 0.0);
            if lambda > 0.0 {
                let gap = Exp::new(lambda).expect("positive rate");
                // Alive after the first purchase; may drop out after each repeat one.
                loop {
                    t += gap.sample(&mut rng);
                    if t > big_t {
                        break;
                    }
                    x += 1.0;
                    t_x = t;
                    total += spend.sample(&mut rng);
                    if rng.random::<f64>() < p_drop {
                        break;
                    }
                }
            }
            // Shops record purchases by day: round times to whole days (in units of a week).
            let day = |t: f64| (t * 7.0).floor() / 7.0;
            (x, day(t_x), day(big_t), if x > 0.0 { total / x } else { 0.0 })
        })
        .collect()
}

#[cfg(test)]
mod tests {

    /// Hand-checked: digits times 1000 plus the letter suffix; service codes have no number.
    #[test]
    fn stock_codes_map_to_distinct_event_product_ids() {
        assert_eq!(stock_code_number("85123A"), Some(85_123_001));
        assert_eq!(stock_code_number("22423"), Some(22_423_000));
        assert_eq!(stock_code_number("15056BL"), Some(15_056_000 + 2 * 27 + 12));
        assert_eq!(stock_code_number("85123a "), Some(85_123_001));
        for code in ["POST", "M", "DOT", "BANK CHARGES", "C2", "1234", "123456", "12345ABC", "DCGS0003"] {
            assert_eq!(stock_code_number(code), None, "{code}");
        }
    }
    use super::*;

    #[test]
    fn order_lines_are_reproducible_and_shaped_like_uci() {
        let mut a = Vec::new();
        write_order_lines(&mut a, 5000, 7).unwrap();
        let mut b = Vec::new();
        write_order_lines(&mut b, 5000, 7).unwrap();
        assert_eq!(a, b, "same seed, same file");
        let mut reader = csv::Reader::from_reader(a.as_slice());
        assert_eq!(reader.headers().unwrap(), UCI_HEADER.to_vec());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 5000);
        let cancelled = rows.iter().filter(|r| r[0].starts_with('C')).count() as f64 / 5000.0;
        let no_customer = rows.iter().filter(|r| r[6].is_empty()).count() as f64 / 5000.0;
        assert!((0.02..0.10).contains(&cancelled), "cancelled share {cancelled}");
        assert!((0.10..0.30).contains(&no_customer), "missing customer share {no_customer}");
        assert!(rows.iter().all(|r| r[0].starts_with('C') == r[3].starts_with('-')));
    }

    #[test]
    fn events_follow_the_rees46_layout_and_funnel_shape() {
        let mut out = Vec::new();
        write_events(&mut out, 20_000, 3).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 20_000);
        assert!(rows[0][0].ends_with(" UTC") && rows[0][0].starts_with("2019-10-01"));
        let count = |kind: &str| rows.iter().filter(|r| &r[1] == kind).count();
        let (views, carts, purchases) = (count("view"), count("cart"), count("purchase"));
        assert!(views > carts && carts > purchases && purchases > 0, "{views} {carts} {purchases}");
        assert!(count("remove_from_cart") > 0);
        assert!(rows.iter().all(|r| r[3].len() == 19), "19-digit category ids");
    }
}

/// What [`write_pricing`] planted, for tests to recover.
#[derive(Debug, Clone, Default)]
pub struct PlantedPricing {
    /// Product id → the price elasticity its sales were drawn with.
    pub elasticities: Vec<(String, f64)>,
    /// (product id, competitor, day the drop starts, relative drop): a competitor's price level
    /// falling by 20–35% and staying there.
    pub drops: Vec<(String, String, i64, f64)>,
    /// The first day of the data.
    pub start: chrono::NaiveDate,
}

/// Competitor names of the pricing generator.
pub const COMPETITORS: &[&str] = &["Northwind", "Contoso", "Fabrikam", "Tailspin"];

/// The three pricing files, created with their headers: `catalogue.csv`, `our_prices.csv` and
/// `competitor_prices.csv` (the layouts the importer recognises).
struct PricingFiles {
    catalogue: csv::Writer<std::fs::File>,
    ours: csv::Writer<std::fs::File>,
    theirs: csv::Writer<std::fs::File>,
}

impl PricingFiles {
    fn create(dir: &std::path::Path) -> io::Result<Self> {
        let file = |name: &str, header: &[&str]| -> io::Result<csv::Writer<std::fs::File>> {
            let mut writer = csv::Writer::from_path(dir.join(name))?;
            writer.write_record(header)?;
            Ok(writer)
        };
        Ok(Self {
            catalogue: file("catalogue.csv", &["product_id", "name", "category", "brand", "cost", "price", "stock"])?,
            ours: file("our_prices.csv", &["product_id", "price", "valid_from"])?,
            theirs: file("competitor_prices.csv", &["product_id", "competitor", "price", "observed_at", "in_stock", "currency"])?,
        })
    }
}

/// A shop's pricing data over `days` days for `products` products, as four CSV files in `dir`:
/// `catalogue.csv` (product_id, name, category, brand, cost, price, stock), `our_prices.csv`
/// (product_id, price, valid_from), `competitor_prices.csv` (product_id, competitor, price,
/// observed_at, in_stock, currency) and `orders.csv` (UCI layout; stock_code = product_id).
///
/// Our prices change every 2–6 weeks by −20%…+20%; daily units are Poisson with mean
/// `base × (price / list price)^e × weekday factor`, e drawn per product from −3.0…−0.5 (the
/// planted elasticity). Competitors observe daily with ±1% noise around their own level, miss
/// some days, are out of stock now and then, and one product in eight per competitor gets a
/// planted drop. Returns what was planted.
pub fn write_pricing(dir: &std::path::Path, products: usize, days: i64, seed: u64) -> io::Result<PlantedPricing> {
    use chrono::Datelike;
    use rand_distr::Poisson;
    let mut rng = rng(seed);
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date");
    let base = start.and_hms_opt(0, 0, 0).expect("valid time");
    const CATEGORIES: &[&str] = &["kitchen", "garden", "toys", "stationery", "lighting"];
    const BRANDS: &[&str] = &["acme", "globex", "initech", "umbrella", "hooli", "vandelay", "stark", "wayne"];
    const WEEKDAY: [f64; 7] = [0.9, 0.95, 1.0, 1.0, 1.1, 1.3, 1.2];
    let mut planted = PlantedPricing { start, ..PlantedPricing::default() };
    let PricingFiles { mut catalogue, mut ours, mut theirs } = PricingFiles::create(dir)?;
    let mut orders = csv::Writer::from_path(dir.join("orders.csv"))?;
    orders.write_record(UCI_HEADER)?;
    let mut invoice = 600_000u64;
    for p in 0..products {
        let id = format!("P{:05}", p + 1);
        let name = format!("{} {}", ADJECTIVES[rng.random_range(0..ADJECTIVES.len())], NOUNS[rng.random_range(0..NOUNS.len())]);
        let cost = (rng.random_range(2.0..50.0f64) * 100.0).round() / 100.0;
        let list = (cost * rng.random_range(1.3..1.8) * 100.0).round() / 100.0;
        let elasticity = rng.random_range(-3.0..-0.5f64);
        let demand = rng.random_range(2.0..20.0f64);
        let stock = if rng.random_bool(0.08) { rng.random_range(0..10) } else { rng.random_range(10..400) };
        planted.elasticities.push((id.clone(), elasticity));
        // Our price spells.
        let mut price = list;
        let mut day = 0i64;
        let mut spells = Vec::new();
        while day < days {
            spells.push((day, price));
            ours.write_record([id.as_str(), &format!("{price:.2}"), &timestamp(base, day * 86_400)])?;
            day += rng.random_range(14..42);
            price = (list * rng.random_range(0.8..1.2f64) * 100.0).round() / 100.0;
        }
        catalogue.write_record([
            id.as_str(),
            &name,
            CATEGORIES[p % CATEGORIES.len()],
            BRANDS[rng.random_range(0..BRANDS.len())],
            &format!("{cost:.2}"),
            &format!("{:.2}", spells.last().map_or(list, |s| s.1)),
            &stock.to_string(),
        ])?;
        // Sales: one invoice per sale day, quantity = the day's units.
        let mut spell = 0;
        for day in 0..days {
            while spell + 1 < spells.len() && spells[spell + 1].0 <= day {
                spell += 1;
            }
            let price = spells[spell].1;
            let weekday = (start + chrono::Duration::days(day)).weekday().num_days_from_monday() as usize;
            let mean = demand * (price / list).powf(elasticity) * WEEKDAY[weekday];
            let units = Poisson::new(mean).map(|d| d.sample(&mut rng) as u64).unwrap_or(0);
            if units > 0 {
                invoice += 1;
                let when = timestamp(base, day * 86_400 + rng.random_range(8 * 3600..20 * 3600) / 60 * 60);
                orders.write_record([
                    &invoice.to_string(),
                    id.as_str(),
                    &name,
                    &units.to_string(),
                    &when,
                    &format!("{price:.2}"),
                    "",
                    "United Kingdom",
                ])?;
            }
        }
        // Competitors.
        for competitor in COMPETITORS {
            if rng.random_bool(0.1) {
                continue; // not every competitor sells every product
            }
            let mut level = list * rng.random_range(0.85..1.15f64);
            let drop_day = rng.random_bool(0.125).then(|| rng.random_range(days / 4..days * 3 / 4));
            let drop = rng.random_range(0.20..0.35f64);
            if let Some(day) = drop_day {
                planted.drops.push((id.clone(), competitor.to_string(), day, -drop));
            }
            let mut out_until = -1i64;
            for day in 0..days {
                if Some(day) == drop_day {
                    level *= 1.0 - drop;
                }
                if rng.random_bool(0.05) {
                    continue; // a day the scraper missed
                }
                if out_until < day && rng.random_bool(0.01) {
                    out_until = day + rng.random_range(1..5);
                }
                let observed = (level * rng.random_range(0.99..1.01f64) * 100.0).round() / 100.0;
                let at = timestamp(base, day * 86_400 + 6 * 3600);
                let in_stock = if day <= out_until { "false" } else { "true" };
                theirs.write_record([id.as_str(), competitor, &format!("{observed:.2}"), &at, in_stock, "GBP"])?;
            }
        }
    }
    for writer in [&mut catalogue, &mut ours, &mut theirs] {
        writer.flush()?;
    }
    orders.flush()?;
    Ok(planted)
}

/// Category of a UCI product from the words of its description (the data has no category).
fn demo_category(description: &str) -> &'static str {
    const WORDS: &[(&str, &[&str])] = &[
        ("lighting", &["LIGHT", "LANTERN", "CANDLE", "LAMP"]),
        ("bags", &["BAG", "PURSE"]),
        ("kitchen", &["MUG", "CUP", "PLATE", "BOWL", "TIN", "JAR", "CAKE", "LUNCH", "BOTTLE", "TEA"]),
        ("decoration", &["HEART", "SIGN", "BUNTING", "DECORATION", "FRAME", "CLOCK", "HANGING", "WREATH"]),
        ("stationery", &["CARD", "PAPER", "NOTEBOOK", "WRAP", "PEN", "CHALKBOARD"]),
    ];
    WORDS.iter().find(|(_, words)| words.iter().any(|w| description.contains(w))).map_or("gifts", |(category, _)| category)
}

/// One of the shop's best-selling products with the unit price it sold at most each month
/// (by order lines: the list price, not a volume tier). The demo's pricing data starts here;
/// `workspace::copies::best_sellers` reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct BestSeller {
    pub stock_code: String,
    pub description: String,
    /// (first day of the month, the month's most frequent unit price), in month order.
    pub monthly_prices: Vec<(chrono::NaiveDate, f64)>,
}

/// The demo's pricing data for the shop's own best sellers (`crate::workspace::copies::
/// best_sellers` over the real UCI order lines), written to `dir` as `catalogue.csv`,
/// `our_prices.csv` and `competitor_prices.csv`:
/// - our price history: each month's most frequent real unit price, where it changed;
/// - the catalogue: the real description, a category from its words, a made-up supplier as the
///   brand, a cost below the last price (mostly inside the default markup band), seeded stock;
/// - three synthetic competitors observed twice a week around our prices, with stock-outs,
///   gaps and a few planted price drops near the end, so every tab has something to show.
pub fn write_demo_pricing(dir: &std::path::Path, sellers: &[BestSeller], seed: u64) -> io::Result<()> {
    use chrono::Datelike;
    const SUPPLIERS: &[&str] = &["Hartley & Co", "Bloom Home", "Kettering Crafts", "Little Lark"];
    let mut rng = rng(seed);
    let PricingFiles { mut catalogue, mut ours, mut theirs } = PricingFiles::create(dir)?;
    let Some(end) = sellers.iter().filter_map(|s| s.monthly_prices.last()).map(|&(m, _)| m).max() else {
        return Ok(());
    };
    // The data runs to the end of its last month.
    let end = end + chrono::Months::new(1) - chrono::Duration::days(1);
    for (i, seller) in sellers.iter().enumerate() {
        let id = seller.stock_code.as_str();
        let mut last = None;
        for &(month, price) in &seller.monthly_prices {
            if last != Some(price) {
                ours.write_record([id, &format!("{price:.2}"), &format!("{month} 00:00:00")])?;
                last = Some(price);
            }
        }
        let Some(&(first_month, _)) = seller.monthly_prices.first() else { continue };
        let price = last.unwrap_or(1.0);
        let cost = (price / rng.random_range(1.10..1.34f64) * 100.0).round() / 100.0;
        let stock = if rng.random_bool(0.06) { rng.random_range(0..10) } else { rng.random_range(20..600) };
        catalogue.write_record([
            id,
            &seller.description,
            demo_category(&seller.description),
            SUPPLIERS[i % SUPPLIERS.len()],
            &format!("{cost:.2}"),
            &format!("{price:.2}"),
            &stock.to_string(),
        ])?;
        // Competitors price around the product's typical (median monthly) price of ours, not
        // each month's, which flips with the volume tiers.
        let mut monthly: Vec<f64> = seller.monthly_prices.iter().map(|&(_, p)| p).collect();
        monthly.sort_by(f64::total_cmp);
        let typical = monthly[monthly.len() / 2];
        for (c, competitor) in COMPETITORS[..3].iter().enumerate() {
            if rng.random_bool(0.12) {
                continue; // not every competitor sells every product
            }
            let mut level = rng.random_range(0.88..1.12f64);
            // A few planted drops in the last six weeks; one competitor stops covering some products.
            let drop_at = rng.random_bool(0.04).then(|| end - chrono::Duration::days(rng.random_range(7..42)));
            let stops_at = (c == 2 && rng.random_bool(0.1)).then(|| end - chrono::Duration::days(30));
            let mut out_until = first_month;
            let mut dropped = false;
            // Observed on Mondays and Thursdays from the first Monday of the product's first month.
            let mut day = first_month + chrono::Duration::days((7 - i64::from(first_month.weekday().num_days_from_monday())) % 7);
            while day <= end && stops_at.is_none_or(|stop| day < stop) {
                if !dropped && drop_at.is_some_and(|at| day >= at) {
                    level *= 0.75;
                    dropped = true;
                } else if rng.random_bool(0.02) {
                    level *= rng.random_range(0.95..1.05f64);
                }
                if out_until <= day && rng.random_bool(0.004) {
                    out_until = day + chrono::Duration::days(rng.random_range(3..10));
                }
                // Each competitor keeps its own price ending (.x9 or .x5).
                let ending = if c == 1 { 0.05 } else { 0.09 };
                let observed = ((typical * level * 10.0).floor() / 10.0 + ending).max(0.09);
                let in_stock = if day < out_until { "false" } else { "true" };
                theirs.write_record([id, competitor, &format!("{observed:.2}"), &format!("{day} 07:00:00"), in_stock, "GBP"])?;
                day += chrono::Duration::days(if day.weekday() == chrono::Weekday::Mon { 3 } else { 4 });
            }
        }
    }
    for writer in [&mut catalogue, &mut ours, &mut theirs] {
        writer.flush()?;
    }
    Ok(())
}

/// Categories of the synthetic resale marketplace: (name, demand weight, supply weight). Buyers'
/// interest follows the demand weight and sellers' listings the supply weight, so the categories
/// whose demand far exceeds their supply are short (see [`PlantedMarketplace::short_categories`]).
pub const MARKET_CATEGORIES: &[(&str, f64, f64)] = &[
    ("handbags", 1.0, 1.0),
    ("sneakers", 1.2, 1.3),
    ("watches", 1.5, 0.35),
    ("jewellery", 0.9, 0.9),
    ("jackets", 0.8, 1.1),
    ("dresses", 0.7, 1.2),
    ("sunglasses", 0.5, 0.6),
    ("vinyl records", 1.1, 0.3),
    ("trading cards", 1.3, 0.4),
    ("comics", 0.6, 0.7),
    ("cameras", 0.7, 0.6),
    ("scarves", 0.4, 0.7),
];

/// Interactions per user the marketplace generator writes unless asked otherwise.
pub const MARKET_INTERACTIONS_PER_USER: f64 = 20.0;

const MARKET_BRANDS: &[&str] = &["Atelier Nord", "Maison Lune", "Kobalt", "Vireo", "Old Harbour", "Sable & Co", "Ferro", "Quill"];
const MARKET_COUNTRIES: &[&str] = &["FR", "GB", "DE", "IT", "ES", "US", "NL", "BE"];

/// What the marketplace generator planted.
#[derive(Debug, Clone, Default)]
pub struct PlantedMarketplace {
    /// Per user id, in id order: the planted probability of selling (drawn from latent activity,
    /// collecting, collection size and account age, with noise).
    pub propensity: Vec<(String, f64)>,
    /// The categories planted short (demand far above supply), shortest first.
    pub short_categories: Vec<String>,
    /// The data's last day.
    pub end: chrono::NaiveDate,
}

/// A seeded resale marketplace over two years (2023–2024) with `users` users, written to `dir`
/// as `users.csv`, `collection_items.csv`, `listings.csv` (with drafts), `marketplace_orders.csv`
/// and `interactions.csv` (views, likes, carts, offers) — the layouts the importer recognises.
/// About one user in seven ends up an active seller; interactions come to about
/// `interactions_per_user` per user ([`MARKET_INTERACTIONS_PER_USER`] is the default).
pub fn write_marketplace(dir: &std::path::Path, users: usize, interactions_per_user: f64, seed: u64) -> io::Result<PlantedMarketplace> {
    use rand_distr::{Exp, Poisson};
    let mut rng = rng(seed);
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).expect("valid date");
    let days = 731i64;
    let end = start + chrono::Duration::days(days - 1);
    let base = start.and_hms_opt(0, 0, 0).expect("valid time");
    let at = |seconds: f64| timestamp(base, seconds.max(0.0) as i64);
    let day = 86_400.0;
    let writer = |name: &str, header: &[&str]| -> io::Result<csv::Writer<std::fs::File>> {
        let mut w = csv::Writer::from_path(dir.join(name))?;
        w.write_record(header)?;
        Ok(w)
    };
    let mut users_csv = writer("users.csv", &["user_id", "signup_at", "country"])?;
    let mut items_csv = writer("collection_items.csv", &["user_id", "item_id", "category", "brand", "added_at"])?;
    let mut listings_csv =
        writer("listings.csv", &["listing_id", "seller_id", "category", "brand", "price", "created_at", "listed_at", "sold_at"])?;
    let mut orders_csv = writer("marketplace_orders.csv", &["order_id", "listing_id", "buyer_id", "seller_id", "amount", "ordered_at"])?;
    let mut interactions_csv = writer("interactions.csv", &["user_id", "listing_id", "kind", "at"])?;

    let category_count = MARKET_CATEGORIES.len();
    let pick = |rng: &mut Pcg64Mcg, weights: &[f64]| -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = rng.random_range(0.0..total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    };
    let demand: Vec<f64> = MARKET_CATEGORIES.iter().map(|c| c.1).collect();
    // Four views per listing and shortness unit give about twenty interactions per user.
    let view_rate = 4.0 * interactions_per_user / MARKET_INTERACTIONS_PER_USER;
    let supply: Vec<f64> = MARKET_CATEGORIES.iter().map(|c| c.2).collect();

    // Users and their collections.
    struct User {
        id: String,
        signup: f64,
        activity: f64,
        seller: bool,
        /// Categories of the collection, one per item (what a seller lists from).
        owned: Vec<usize>,
        favourites: Vec<usize>,
    }
    let mut people = Vec::with_capacity(users);
    let mut planted = PlantedMarketplace { end, ..PlantedMarketplace::default() };
    let activity_distribution = LogNormal::new(0.0, 0.8).expect("valid parameters");
    let mut item = 0u64;
    for u in 0..users {
        let id = format!("U{:06}", u + 1);
        let signup = rng.random_range(0.0..(days as f64 - 90.0)) * day;
        let activity: f64 = activity_distribution.sample(&mut rng);
        let collector = rng.random_bool(0.35);
        let favourites: Vec<usize> = (0..rng.random_range(1..=3)).map(|_| pick(&mut rng, &demand)).collect();
        let mean_items = if collector { 12.0 * activity } else { 1.5 * activity };
        let size = Poisson::new(mean_items.max(0.01)).map(|p| p.sample(&mut rng) as usize).unwrap_or(0);
        let mut owned = Vec::with_capacity(size);
        for _ in 0..size {
            let category =
                if rng.random_bool(0.8) { favourites[rng.random_range(0..favourites.len())] } else { rng.random_range(0..category_count) };
            owned.push(category);
            item += 1;
            let added = rng.random_range(signup..days as f64 * day);
            items_csv.write_record([
                id.as_str(),
                &format!("I{item:07}"),
                MARKET_CATEGORIES[category].0,
                MARKET_BRANDS[rng.random_range(0..MARKET_BRANDS.len())],
                &at(added),
            ])?;
        }
        let age_years = (days as f64 * day - signup) / (365.0 * day);
        let noise: f64 = rng.random_range(-1.0..1.0f64) + rng.random_range(-1.0..1.0f64);
        let logit = -4.6
            + 0.8 * (1.0 + size as f64).ln()
            + 0.7 * activity.ln()
            + 0.8 * f64::from(u8::from(collector))
            + 0.6 * age_years
            + 0.5 * noise;
        let propensity = 1.0 / (1.0 + (-logit).exp());
        let seller = rng.random_bool(propensity);
        planted.propensity.push((id.clone(), propensity));
        users_csv.write_record([id.as_str(), &at(signup), MARKET_COUNTRIES[rng.random_range(0..MARKET_COUNTRIES.len())]])?;
        people.push(User { id, signup, activity, seller, owned, favourites });
    }
    // Buyers and interacting users are drawn by activity.
    let cumulative: Vec<f64> = people
        .iter()
        .scan(0.0, |sum, p| {
            *sum += p.activity;
            Some(*sum)
        })
        .collect();
    let total_activity = cumulative.last().copied().unwrap_or(0.0);
    let someone = |rng: &mut Pcg64Mcg, not: usize, from: f64| -> Option<usize> {
        for _ in 0..20 {
            let x = rng.random_range(0.0..total_activity.max(f64::MIN_POSITIVE));
            let i = cumulative.partition_point(|&c| c < x).min(people.len() - 1);
            if i != not && people[i].signup <= from {
                return Some(i);
            }
        }
        None
    };

    // Listings, their sales and the interactions around them.
    let (mut listing, mut order) = (0u64, 0u64);
    for s in 0..people.len() {
        let person = &people[s];
        let count = if person.seller {
            Poisson::new(10.0 * (0.5 + person.activity)).map(|p| p.sample(&mut rng) as usize).unwrap_or(0)
        } else if rng.random_bool(0.12) {
            rng.random_range(1..=2)
        } else {
            0
        };
        for _ in 0..count {
            // From what they own, less often in the categories sellers rarely part with.
            let mut weights = vec![0.05; category_count];
            for &c in person.owned.iter().chain(&person.favourites) {
                weights[c] += 1.0;
            }
            for (w, s) in weights.iter_mut().zip(&supply) {
                *w *= s;
            }
            let category = pick(&mut rng, &weights);
            listing += 1;
            let id = format!("L{listing:07}");
            let listed = rng.random_range(person.signup..days as f64 * day);
            let created = listed - Exp::new(1.0 / (2.0 * day)).map(|e| e.sample(&mut rng)).unwrap_or(0.0);
            let draft = rng.random_bool(0.08);
            let typical = 0.8 + 0.15 * (category % 5) as f64;
            let price = (30.0 * LogNormal::new(typical, 0.6).expect("valid parameters").sample(&mut rng)).round();
            let ratio = demand[category] / supply[category];
            let to_sell = Exp::new(ratio / (45.0 * day)).map(|e| e.sample(&mut rng)).unwrap_or(f64::MAX);
            // Many listings never sell; the short categories' far more often.
            let sells = rng.random_bool((0.25 + 0.2 * ratio).min(0.95));
            let sold = (sells && !draft && listed + to_sell < days as f64 * day).then_some(listed + to_sell);
            listings_csv.write_record([
                id.as_str(),
                person.id.as_str(),
                MARKET_CATEGORIES[category].0,
                MARKET_BRANDS[rng.random_range(0..MARKET_BRANDS.len())],
                &format!("{price:.2}"),
                &at(created),
                &if draft { String::new() } else { at(listed) },
                &sold.map(at).unwrap_or_default(),
            ])?;
            if draft {
                continue;
            }
            let until = sold.unwrap_or(days as f64 * day);
            let views = Poisson::new(view_rate * ratio * (0.3 + (until - listed) / (60.0 * day)).min(3.0))
                .map(|p| p.sample(&mut rng) as usize)
                .unwrap_or(0);
            for _ in 0..views {
                let when = rng.random_range(listed..until.max(listed + 1.0));
                let Some(viewer) = someone(&mut rng, s, when) else { continue };
                interactions_csv.write_record([people[viewer].id.as_str(), id.as_str(), "view", &at(when)])?;
                let roll: f64 = rng.random_range(0.0..1.0);
                let follow_up = if roll < 0.15 {
                    Some("like")
                } else if roll < 0.19 {
                    Some("cart")
                } else if roll < 0.21 {
                    Some("offer")
                } else {
                    None
                };
                if let Some(kind) = follow_up {
                    interactions_csv.write_record([people[viewer].id.as_str(), id.as_str(), kind, &at(when + 60.0)])?;
                }
            }
            if let Some(when) = sold {
                // A sold listing has its order: when the weighted draw finds no one, the first
                // person who had signed up by then buys (no draw, so the seeded data stays).
                let buyer = someone(&mut rng, s, when).or_else(|| (0..people.len()).find(|&i| i != s && people[i].signup <= when));
                if let Some(buyer) = buyer {
                    order += 1;
                    orders_csv.write_record([
                        &format!("O{order:07}"),
                        id.as_str(),
                        people[buyer].id.as_str(),
                        person.id.as_str(),
                        &format!("{price:.2}"),
                        &at(when),
                    ])?;
                }
            }
        }
    }
    let mut shortness: Vec<(f64, &str)> = MARKET_CATEGORIES.iter().map(|c| (c.1 / c.2, c.0)).collect();
    shortness.sort_by(|a, b| b.0.total_cmp(&a.0));
    planted.short_categories = shortness.iter().take(3).map(|(_, name)| name.to_string()).collect();
    for mut w in [users_csv, items_csv, listings_csv, orders_csv, interactions_csv] {
        w.flush()?;
    }
    Ok(planted)
}

/// A real order of the shop (one invoice) that the demo's shop events are built around.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopOrder {
    pub customer: String,
    /// The invoice time, as exported ("YYYY-MM-DD HH:MM:SS").
    pub time: String,
    pub lines: Vec<ShopLine>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShopLine {
    pub stock_code: String,
    pub description: String,
    pub unit_price: f64,
    /// Units ordered: the events' carts and purchases carry it, so cart values compare with orders.
    pub quantity: u32,
}

/// The events table's integer product id of a UCI stock code: the five digits times 1000 plus
/// the letter suffix (A = 1, ..., Z = 26; two letters `XY` = 27·X + Y), so `85123A` is
/// 85123001 and `22423` is 22423000. Codes that are not five digits and at most two letters
/// (postage, fees, manual lines) have none.
pub fn stock_code_number(code: &str) -> Option<u64> {
    let code = code.trim().to_ascii_uppercase();
    let (digits, letters) = code.split_at(code.find(|c: char| !c.is_ascii_digit()).unwrap_or(code.len()));
    if digits.len() != 5 || letters.len() > 2 || !letters.chars().all(|c| c.is_ascii_uppercase()) {
        return None;
    }
    let suffix = letters.bytes().fold(0u64, |n, b| n * 27 + u64::from(b - b'A' + 1));
    Some(digits.parse::<u64>().ok()? * 1000 + suffix)
}

/// The demo's shop events, consistent with the real orders: a seeded `web_share` of the
/// customers shop on the web site, and each of their orders is a session that views and carts
/// every product it buys (and browses a few more) before one purchase event per product at the
/// invoice's time and price. Their other visits, and visitors who never buy, view and cart
/// without buying. Written in the REES46 CSV layout plus `quantity` (carts and purchases carry
/// the order line's units; a browsed cart, the units of the line it was drawn from) and
/// `product_name` (the line's description); product ids are [`stock_code_number`], users are the UCI customer ids (visitors from
/// 900000 up).
pub fn write_shop_events(out: impl Write, orders: &[ShopOrder], web_share: f64, seed: u64) -> io::Result<u64> {
    let mut rng = rng(seed);
    let parse = |t: &str| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok();
    let times: Vec<chrono::NaiveDateTime> = orders.iter().filter_map(|o| parse(&o.time)).collect();
    let (Some(&first), Some(&last)) = (times.iter().min(), times.iter().max()) else { return Ok(0) };
    let span = (last - first).num_seconds().max(1);
    // Every product line, for browsing picked as often as it sells.
    let all_lines: Vec<&ShopLine> =
        orders.iter().flat_map(|o| o.lines.iter()).filter(|l| stock_code_number(&l.stock_code).is_some()).collect();
    if all_lines.is_empty() {
        return Ok(0);
    }
    let mut web: std::collections::HashMap<&str, bool> = std::collections::HashMap::new();
    let mut out = io::BufWriter::with_capacity(1 << 20, out);
    writeln!(out, "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session,quantity,product_name")?;
    let mut written = 0u64;
    let mut write =
        |out: &mut io::BufWriter<_>, at: chrono::NaiveDateTime, kind: &str, line: &ShopLine, user: &str, session: &str| -> io::Result<()> {
            let Some(id) = stock_code_number(&line.stock_code) else { return Ok(()) };
            let category = demo_category(&line.description);
            let category_id = 2_100_000_000_000_000_000u64 + category.bytes().map(u64::from).sum::<u64>();
            // A view is of the product, not of units: its quantity stays empty (one).
            let units = if kind == "view" { String::new() } else { line.quantity.to_string() };
            writeln!(
                out,
                "{} UTC,{kind},{id},{category_id},{category},,{:.2},{user},{session},{units},\"{}\"",
                at.format("%Y-%m-%d %H:%M:%S"),
                line.unit_price,
                line.description.trim().replace('"', "\"\"")
            )?;
            written += 1;
            Ok(())
        };
    let browse = |rng: &mut Pcg64Mcg| all_lines[rng.random_range(0..all_lines.len())];
    let step = |rng: &mut Pcg64Mcg| chrono::Duration::seconds(rng.random_range(15..150));
    let mut visits: Vec<(chrono::NaiveDateTime, String)> = Vec::new();
    for order in orders {
        let Some(time) = parse(&order.time) else { continue };
        let is_web = *web.entry(order.customer.as_str()).or_insert_with(|| rng.random_bool(web_share));
        if !is_web {
            continue;
        }
        let session = session_uuid(&mut rng);
        // One cart and one purchase per product: an invoice listing a product twice buys the
        // sum of its lines (at the first line's price).
        let mut products: Vec<ShopLine> = Vec::new();
        for line in &order.lines {
            match products.iter_mut().find(|p| p.stock_code == line.stock_code) {
                Some(product) => product.quantity = product.quantity.saturating_add(line.quantity),
                None => products.push(line.clone()),
            }
        }
        // Browse, view and cart each product, then buy everything at the invoice's time.
        let mut clock = time - chrono::Duration::seconds(90 * (products.len() as i64 + 3));
        for line in &products {
            if rng.random_bool(0.5) {
                write(&mut out, clock, "view", browse(&mut rng), &order.customer, &session)?;
                clock += step(&mut rng);
            }
            write(&mut out, clock, "view", line, &order.customer, &session)?;
            clock += step(&mut rng);
            write(&mut out, clock, "cart", line, &order.customer, &session)?;
            clock += step(&mut rng);
        }
        for line in &products {
            write(&mut out, time, "purchase", line, &order.customer, &session)?;
        }
        // Two other visits per order that end without one.
        for _ in 0..2 {
            visits.push((first + chrono::Duration::seconds(rng.random_range(0..span)), order.customer.clone()));
        }
    }
    // Visitors who never buy: as many as the web customers' visits.
    let visitors = visits.len();
    for i in 0..visitors {
        visits.push((first + chrono::Duration::seconds(rng.random_range(0..span)), (900_000 + i % (visitors / 3 + 1)).to_string()));
    }
    visits.sort();
    for (mut clock, user) in visits {
        let session = session_uuid(&mut rng);
        for _ in 0..rng.random_range(1..7) {
            let line = browse(&mut rng);
            write(&mut out, clock, "view", line, &user, &session)?;
            clock += step(&mut rng);
            if rng.random_bool(0.12) {
                write(&mut out, clock, "cart", line, &user, &session)?;
                clock += step(&mut rng);
            }
        }
    }
    out.flush()?;
    Ok(written)
}

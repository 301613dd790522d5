//! Cart abandonment and the retargeting list.
//!
//! Definitions (shown in the Funnel panel's help):
//! - a session expires `expiry_minutes` after its last event (REES46's `user_session` groups the
//!   events; the expiry is ours);
//! - a session's cart is, per product, `cart` events minus `remove_from_cart` events (never below
//!   zero); the price of an item is the price on its last `cart` event;
//! - a cart is *abandoned* when its session has expired (at or before `now`), has items left and
//!   has no purchase; sessions not yet expired are *open* and not counted either way;
//! - the abandonment rate is abandoned carts / expired sessions that had a cart; by category and
//!   brand it is per (session, category) pair: left in an abandoned cart / put in a cart;
//! - "bought later": the user made a purchase in a later session, after this cart expired.

use std::collections::HashMap;

use super::customers::format_time;
use super::event_frame::{EventFrame, EventKind};
use super::Filters;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CartSettings {
    /// Minutes without events after which a session has ended.
    pub expiry_minutes: f64,
    /// Carts worth at least this get the coupon offer; smaller ones get free shipping.
    pub coupon_threshold: f64,
    pub coupon_percent: u32,
    /// Leave out users who bought in a later session.
    pub exclude_bought_later: bool,
}

impl Default for CartSettings {
    fn default() -> Self {
        Self { expiry_minutes: 30.0, coupon_threshold: 100.0, coupon_percent: 10, exclude_bought_later: false }
    }
}

impl Eq for CartSettings {}

impl std::hash::Hash for CartSettings {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.expiry_minutes.to_bits(), self.coupon_threshold.to_bits(), self.coupon_percent, self.exclude_bought_later).hash(state);
    }
}

/// Minutes after expiry by which a retargeting message should go out.
pub const CONTACT_WITHIN_MINUTES: i64 = 3;

#[derive(Debug, Clone, PartialEq)]
pub struct CartItem {
    /// Code into `EventFrame::products`.
    pub product: u32,
    pub quantity: u32,
    pub price: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AbandonedCart {
    pub user: u32,
    pub session: u32,
    pub expired_at: i64,
    pub items: Vec<CartItem>,
    pub value: f64,
    pub bought_later: bool,
}

impl AbandonedCart {
    pub fn contact_by(&self) -> i64 {
        self.expired_at + CONTACT_WITHIN_MINUTES * 60
    }

    pub fn offer(&self, settings: &CartSettings) -> String {
        if self.value >= settings.coupon_threshold {
            format!("{}% coupon", settings.coupon_percent)
        } else {
            "free shipping".to_string()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RateRow {
    pub key: String,
    pub carts: u64,
    pub abandoned: u64,
    /// Value left in abandoned carts.
    pub value_left: f64,
}

/// Abandoned carts / carts, 0 when there were none.
fn abandonment_rate(abandoned: u64, carts: u64) -> f64 {
    if carts > 0 {
        abandoned as f64 / carts as f64
    } else {
        0.0
    }
}

impl RateRow {
    pub fn rate(&self) -> f64 {
        abandonment_rate(self.abandoned, self.carts)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CartResult {
    pub settings: CartSettings,
    /// The moment the list is as of.
    pub now: i64,
    /// Expired sessions with a cart.
    pub carts: u64,
    pub abandoned: u64,
    /// Sessions with items in the cart that have not expired yet.
    pub open: u64,
    pub value_left: f64,
    /// By day of expiry.
    pub by_day: Vec<(i64, RateRow)>,
    pub by_category: Vec<RateRow>,
    pub by_brand: Vec<RateRow>,
    /// The retargeting list, most recently expired first (respecting `exclude_bought_later`).
    pub list: Vec<AbandonedCart>,
    /// Events in the date range recorded without a session: a cart is a session's, so these
    /// are left out (and said so).
    pub events_without_session: u64,
}

impl CartResult {
    pub fn rate(&self) -> f64 {
        abandonment_rate(self.abandoned, self.carts)
    }
}

/// "Now" for live mode: the wall clock, or the newest event if the file's clock is ahead of ours.
pub fn live_now(frame: &EventFrame) -> i64 {
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    frame.time_span().map_or(wall, |(_, last)| last.max(wall))
}

/// Abandonment as of `now` (default: the last event in the data).
pub fn compute(frame: &EventFrame, filters: &Filters, settings: &CartSettings, now: Option<i64>) -> CartResult {
    let (from, to) = super::customers::time_bounds(filters);
    let now = now.or_else(|| frame.time_span().map(|s| s.1)).unwrap_or(0);
    let expiry = (settings.expiry_minutes * 60.0).round() as i64;

    // The last purchase of each user, for "bought later".
    let mut last_purchase = vec![i64::MIN; frame.users.len()];
    for row in 0..frame.len() {
        if frame.kind(row) == EventKind::Purchase {
            let u = frame.user[row] as usize;
            last_purchase[u] = last_purchase[u].max(frame.time[row]);
        }
    }

    let mut result = CartResult {
        settings: settings.clone(),
        now,
        carts: 0,
        abandoned: 0,
        open: 0,
        value_left: 0.0,
        by_day: Vec::new(),
        by_category: Vec::new(),
        by_brand: Vec::new(),
        list: Vec::new(),
        events_without_session: frame.sessionless_events_between(from, to),
    };
    let mut by_day: HashMap<i64, RateRow> = HashMap::new();
    let mut by_category: HashMap<u32, RateRow> = HashMap::new();
    let mut by_brand: HashMap<u32, RateRow> = HashMap::new();
    let (top_of, top_names) = frame.top_categories();
    // (product, quantity, price, category, brand) as on the product's last cart event.
    let mut cart: Vec<(u32, i64, f32, u32, u32)> = Vec::new();
    for s in 0..frame.session_count() {
        let rows = frame.session_rows(s);
        cart.clear();
        let (mut purchased, mut last, mut had_cart) = (false, i64::MIN, false);
        for row in rows.clone() {
            let t = frame.time[row];
            if !(from..to).contains(&t) {
                continue;
            }
            last = last.max(t);
            let product = frame.product[row];
            match frame.kind(row) {
                EventKind::Purchase => purchased = true,
                EventKind::Cart => {
                    had_cart = true;
                    let (price, category, brand) = (frame.price[row], frame.category[row], frame.brand[row]);
                    match cart.iter_mut().find(|c| c.0 == product) {
                        Some(item) => *item = (product, item.1 + 1, price, category, brand),
                        None => cart.push((product, 1, price, category, brand)),
                    }
                }
                EventKind::RemoveFromCart => {
                    if let Some(item) = cart.iter_mut().find(|c| c.0 == product) {
                        item.1 = (item.1 - 1).max(0);
                    }
                }
                _ => {}
            }
        }
        if !had_cart {
            continue;
        }
        let expired_at = last + expiry;
        let left: Vec<CartItem> = cart
            .iter()
            .filter(|c| c.1 > 0)
            .map(|&(product, q, price, _, _)| CartItem { product, quantity: q as u32, price: f64::from(price) })
            .collect();
        if expired_at > now {
            if !left.is_empty() && !purchased {
                result.open += 1;
            }
            continue;
        }
        let abandoned = !purchased && !left.is_empty();
        let value: f64 = left.iter().map(|i| i.price * f64::from(i.quantity)).sum();
        result.carts += 1;
        let day = by_day.entry(expired_at.div_euclid(86_400)).or_insert_with(|| RateRow {
            key: String::new(),
            carts: 0,
            abandoned: 0,
            value_left: 0.0,
        });
        day.carts += 1;
        // Per (session, category) and (session, brand): every carted product's category and brand.
        let mut categories: Vec<(u32, bool, f64)> = Vec::new();
        let mut brands: Vec<(u32, bool, f64)> = Vec::new();
        for &(_, q, price, category, brand) in &cart {
            let is_left = abandoned && q > 0;
            let item_value = if is_left { f64::from(price) * q as f64 } else { 0.0 };
            for (list, key) in [(&mut categories, top_of[category as usize]), (&mut brands, brand)] {
                match list.iter_mut().find(|e| e.0 == key) {
                    Some(e) => {
                        e.1 |= is_left;
                        e.2 += item_value;
                    }
                    None => list.push((key, is_left, item_value)),
                }
            }
        }
        for (map, list) in [(&mut by_category, &categories), (&mut by_brand, &brands)] {
            for &(key, is_left, v) in list.iter() {
                let row = map.entry(key).or_insert_with(|| RateRow { key: String::new(), carts: 0, abandoned: 0, value_left: 0.0 });
                row.carts += 1;
                row.abandoned += u64::from(is_left);
                row.value_left += v;
            }
        }
        if !abandoned {
            continue;
        }
        result.abandoned += 1;
        result.value_left += value;
        day.abandoned += 1;
        day.value_left += value;
        let user = frame.user[rows.start];
        let bought_later = last_purchase[user as usize] > expired_at;
        if settings.exclude_bought_later && bought_later {
            continue;
        }
        result.list.push(AbandonedCart { user, session: s as u32, expired_at, items: left, value, bought_later });
    }
    let rows = |map: HashMap<u32, RateRow>, name: &dyn Fn(u32) -> String| {
        let mut rows: Vec<RateRow> = map
            .into_iter()
            .map(|(k, mut r)| {
                r.key = name(k);
                r
            })
            .collect();
        rows.sort_by(|a, b| b.carts.cmp(&a.carts).then_with(|| a.key.cmp(&b.key)));
        rows
    };
    let none = |s: &str| if s.is_empty() { "(none)".to_string() } else { s.to_string() };
    result.by_category = rows(by_category, &|k| none(&top_names[k as usize]));
    result.by_brand = rows(by_brand, &|k| none(&frame.brands[k as usize]));
    let mut days: Vec<(i64, RateRow)> = by_day.into_iter().collect();
    days.sort_by_key(|d| d.0);
    result.by_day = days;
    result.list.sort_by(|a, b| b.expired_at.cmp(&a.expired_at).then(a.session.cmp(&b.session)));
    result
}

/// The retargeting list for an email tool: one row per abandoned cart.
pub fn retargeting_table(frame: &EventFrame, result: &CartResult) -> crate::analytics::Table {
    let header =
        ["user_id", "user_session", "expired_at", "contact_by", "items", "cart_value", "offer", "bought_later"].map(String::from).to_vec();
    let rows = result
        .list
        .iter()
        .map(|c| {
            let items = c
                .items
                .iter()
                .map(|i| {
                    let p = &frame.products[i.product as usize];
                    let brand = &frame.brands[p.brand as usize];
                    let brand = if brand.is_empty() { "-" } else { brand };
                    format!(
                        "{} ({brand}, {:.2}{})",
                        p.id,
                        i.price,
                        if i.quantity > 1 { format!(" x{}", i.quantity) } else { String::new() }
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            vec![
                frame.users[c.user as usize].to_string(),
                frame.sessions[c.session as usize].to_string(),
                format_time(c.expired_at),
                format_time(c.contact_by()),
                items,
                format!("{:.2}", c.value),
                c.offer(&result.settings),
                if c.bought_later { "yes" } else { "no" }.to_string(),
            ]
        })
        .collect();
    (header, rows)
}

pub fn rate_table(rows: &[RateRow], key: &str) -> crate::analytics::Table {
    let header = [key, "carts", "abandoned", "abandonment_rate", "value_left"].map(String::from).to_vec();
    let rows = rows
        .iter()
        .map(|r| {
            vec![r.key.clone(), r.carts.to_string(), r.abandoned.to_string(), format!("{:.4}", r.rate()), format!("{:.2}", r.value_left)]
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::event_frame::EventFrameBuilder;

    /// Hand-checked: s1 carts two items and removes one (abandoned, value 20); s2 carts and buys
    /// (not abandoned); s3 carts then removes (empty cart: not abandoned); s4 carts 4 minutes
    /// before `now` (still open); user 1 buys again later in s5 (so s1 is "bought later").
    #[test]
    fn abandonment_by_hand() {
        let mut b = EventFrameBuilder::new();
        let m = 60;
        b.push(0, EventKind::Cart, 100, "a.x", "acme", 20.0, 1, "s1");
        b.push(m, EventKind::Cart, 101, "b.y", "zed", 5.0, 1, "s1");
        b.push(2 * m, EventKind::RemoveFromCart, 101, "b.y", "zed", 5.0, 1, "s1");
        b.push(0, EventKind::Cart, 100, "a.x", "acme", 20.0, 2, "s2");
        b.push(m, EventKind::Purchase, 100, "a.x", "acme", 20.0, 2, "s2");
        b.push(0, EventKind::Cart, 101, "b.y", "zed", 5.0, 3, "s3");
        b.push(m, EventKind::RemoveFromCart, 101, "b.y", "zed", 5.0, 3, "s3");
        b.push(200 * m, EventKind::Purchase, 100, "a.x", "acme", 20.0, 1, "s5");
        b.push(226 * m, EventKind::Cart, 100, "a.x", "acme", 20.0, 4, "s4");
        let frame = b.finish();
        let settings = CartSettings::default();
        let result = compute(&frame, &Filters::default(), &settings, Some(230 * m));
        assert_eq!((result.carts, result.abandoned, result.open), (3, 1, 1));
        assert!((result.rate() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(result.list.len(), 1);
        let cart = &result.list[0];
        assert_eq!(&frame.sessions[cart.session as usize], "s1");
        assert_eq!(cart.expired_at, 2 * m + 30 * m);
        assert_eq!(cart.contact_by(), 2 * m + 33 * m);
        assert!((cart.value - 20.0).abs() < 1e-9);
        assert!(cart.bought_later);
        assert_eq!(cart.offer(&settings), "free shipping");
        // Category "a": carted in s1 and s2, left in s1 → 1 of 2; "b": carted in s1 and s3, left in neither.
        let a = result.by_category.iter().find(|r| r.key == "a").unwrap();
        assert_eq!((a.carts, a.abandoned), (2, 1));
        let bcat = result.by_category.iter().find(|r| r.key == "b").unwrap();
        assert_eq!((bcat.carts, bcat.abandoned), (2, 0));
        let excluded = compute(&frame, &Filters::default(), &CartSettings { exclude_bought_later: true, ..settings }, Some(230 * m));
        assert!(excluded.list.is_empty());
        assert_eq!(excluded.abandoned, 1, "excluding changes the list, not the rate");
    }
}

//! Cart abandonment and the retargeting list.
//!
//! Definitions (shown in the Funnel panel's help):
//! - a session expires `expiry_minutes` after its last event (REES46's `user_session` groups the
//!   events; the expiry is ours);
//! - a session's cart is, per product, the units of its `cart` events minus the units of its
//!   `remove_from_cart` events (never below zero); an event is one unit unless the export has a
//!   quantity column; the price of an item is the price on its last `cart` event;
//! - a cart is *abandoned* when its session has expired (at or before `now`), has items left and
//!   has no purchase; sessions not yet expired are *open* and not counted either way;
//! - the abandonment rate is abandoned carts / expired sessions that had a cart; by category and
//!   brand it is per (session, category) pair: left in an abandoned cart / put in a cart;
//! - "bought later": the user made a purchase in a later session, after this cart expired.

use std::collections::HashMap;

use super::customers::format_time;
use super::event_frame::{EventFrame, EventKind};
use super::sum::Sum;
use super::Filters;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CartSettings {
    /// Minutes without events after which a session has ended.
    pub expiry_minutes: f64,
    /// Carts worth at least this get the coupon offer.
    pub coupon_threshold: f64,
    pub coupon_percent: u32,
    /// Smaller carts worth at least this get free shipping; below it a reminder alone (a shop
    /// does not ship a 0.42 cart for free).
    pub free_shipping_minimum: f64,
    /// Leave out users who bought in a later session.
    pub exclude_bought_later: bool,
}

impl Default for CartSettings {
    fn default() -> Self {
        Self { expiry_minutes: 30.0, coupon_threshold: 100.0, coupon_percent: 10, free_shipping_minimum: 15.0, exclude_bought_later: false }
    }
}

impl Eq for CartSettings {}

impl std::hash::Hash for CartSettings {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (
            self.expiry_minutes.to_bits(),
            self.coupon_threshold.to_bits(),
            self.coupon_percent,
            self.free_shipping_minimum.to_bits(),
            self.exclude_bought_later,
        )
            .hash(state);
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
    /// Where its items are in [`CartResult::items`] (one buffer for every listed cart: half
    /// a million small lists are slow to make and to free).
    pub items: std::ops::Range<u32>,
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
        } else if self.value >= settings.free_shipping_minimum {
            "free shipping".to_string()
        } else {
            "reminder".to_string()
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
    /// The listed carts' items (see [`AbandonedCart::items`]).
    pub items: Vec<CartItem>,
    /// Events in the date range recorded without a session: a cart is a session's, so these
    /// are left out (and said so).
    pub events_without_session: u64,
}

impl CartResult {
    /// A listed cart's items.
    pub fn items_of(&self, cart: &AbandonedCart) -> &[CartItem] {
        &self.items[cart.items.start as usize..cart.items.end as usize]
    }

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
///
/// Sessions are tallied in parallel parts. Most have no cart and are passed over with a scan of
/// their event kinds; live mode runs this on every append and every ten seconds.
pub fn compute(frame: &EventFrame, filters: &Filters, settings: &CartSettings, now: Option<i64>) -> CartResult {
    let (from, to) = super::customers::time_bounds(filters);
    let now = now.or_else(|| frame.time_span().map(|s| s.1)).unwrap_or(0);

    let (top_of, top_names) = frame.top_categories();
    let pass = Pass {
        frame,
        from,
        to,
        now,
        expiry: (settings.expiry_minutes * 60.0).round() as i64,
        settings,
        // The last purchase of each user, for "bought later".
        last_purchase: frame.last_purchases(),
        top_of,
        tops: top_names.len(),
    };
    let mut tally = CartTally::new(pass.tops, frame.brands.len());
    for part in crate::jobs::parallel_ranges(frame.session_count(), |sessions| pass.tally(sessions)) {
        tally.merge(part);
    }

    let rows = |tallies: Vec<RateTally>, name: &dyn Fn(usize) -> String| {
        let mut rows: Vec<RateRow> = tallies.into_iter().enumerate().filter(|(_, r)| r.carts > 0).map(|(k, r)| r.row(name(k))).collect();
        rows.sort_by(|a, b| b.carts.cmp(&a.carts).then_with(|| a.key.cmp(&b.key)));
        rows
    };
    let none = |s: &str| if s.is_empty() { "(none)".to_string() } else { s.to_string() };
    let mut by_day: Vec<(i64, RateRow)> = tally.by_day.into_iter().map(|(day, r)| (day, r.row(String::new()))).collect();
    by_day.sort_by_key(|d| d.0);
    let mut list = tally.list;
    // Newest first; sessions are unique, so the unstable sort gives one order.
    list.sort_unstable_by_key(|c| (std::cmp::Reverse(c.expired_at), c.session));
    CartResult {
        settings: settings.clone(),
        now,
        carts: tally.carts,
        abandoned: tally.abandoned,
        open: tally.open,
        value_left: tally.value_left.value(),
        by_day,
        by_category: rows(tally.by_category, &|k| none(&top_names[k])),
        by_brand: rows(tally.by_brand, &|k| none(&frame.brands[k])),
        list,
        items: tally.items,
        events_without_session: frame.sessionless_events_between(from, to),
    }
}

const CART: u8 = EventKind::Cart as u8;
const REMOVE: u8 = EventKind::RemoveFromCart as u8;
const PURCHASE: u8 = EventKind::Purchase as u8;

/// Carts and abandoned carts of one key (a day, a category, a brand); money in compensated
/// sums, so the parts' order does not move the cents.
#[derive(Debug, Default, Clone, Copy)]
struct RateTally {
    carts: u64,
    abandoned: u64,
    value_left: Sum,
}

impl RateTally {
    fn merge(&mut self, other: RateTally) {
        self.carts += other.carts;
        self.abandoned += other.abandoned;
        self.value_left.merge(other.value_left);
    }

    fn row(self, key: String) -> RateRow {
        RateRow { key, carts: self.carts, abandoned: self.abandoned, value_left: self.value_left.value() }
    }
}

/// What one part of the sessions adds up to.
struct CartTally {
    carts: u64,
    abandoned: u64,
    open: u64,
    value_left: Sum,
    /// By day of expiry, in the order first met, with where each day is.
    by_day: Vec<(i64, RateTally)>,
    day_index: HashMap<i64, usize>,
    /// By top-level category code and by brand code.
    by_category: Vec<RateTally>,
    by_brand: Vec<RateTally>,
    list: Vec<AbandonedCart>,
    items: Vec<CartItem>,
}

impl CartTally {
    fn new(tops: usize, brands: usize) -> Self {
        Self {
            carts: 0,
            abandoned: 0,
            open: 0,
            value_left: Sum::default(),
            by_day: Vec::new(),
            day_index: HashMap::new(),
            by_category: vec![RateTally::default(); tops],
            by_brand: vec![RateTally::default(); brands],
            list: Vec::new(),
            items: Vec::new(),
        }
    }

    /// The tally of a day. Sessions come roughly in time order, so it is usually the last one.
    fn day(&mut self, day: i64) -> &mut RateTally {
        let at = match self.by_day.last() {
            Some(&(last, _)) if last == day => self.by_day.len() - 1,
            _ => *self.day_index.entry(day).or_insert_with(|| {
                self.by_day.push((day, RateTally::default()));
                self.by_day.len() - 1
            }),
        };
        &mut self.by_day[at].1
    }

    fn merge(&mut self, other: CartTally) {
        self.carts += other.carts;
        self.abandoned += other.abandoned;
        self.open += other.open;
        self.value_left.merge(other.value_left);
        for (day, tally) in other.by_day {
            self.day(day).merge(tally);
        }
        for (rows, others) in [(&mut self.by_category, other.by_category), (&mut self.by_brand, other.by_brand)] {
            for (row, other) in rows.iter_mut().zip(others) {
                row.merge(other);
            }
        }
        let shift = self.items.len() as u32;
        self.list
            .extend(other.list.into_iter().map(|cart| AbandonedCart { items: cart.items.start + shift..cart.items.end + shift, ..cart }));
        self.items.extend(other.items);
    }
}

/// What every part of the pass reads.
struct Pass<'a> {
    frame: &'a EventFrame,
    from: i64,
    to: i64,
    now: i64,
    expiry: i64,
    settings: &'a CartSettings,
    last_purchase: &'a [i64],
    top_of: &'a [u32],
    tops: usize,
}

impl Pass<'_> {
    fn tally(&self, sessions: std::ops::Range<usize>) -> CartTally {
        let frame = self.frame;
        let kinds = frame.kind_codes();
        let mut tally = CartTally::new(self.tops, frame.brands.len());
        // (product, quantity, price, category, brand) as on the product's last cart event.
        let mut cart: Vec<(u32, i64, f32, u32, u32)> = Vec::new();
        // Per (session, category) and (session, brand): left in the cart, value left.
        let mut categories: Vec<(u32, bool, f64)> = Vec::new();
        let mut brands: Vec<(u32, bool, f64)> = Vec::new();
        for s in sessions {
            let rows = frame.session_rows(s);
            if !kinds[rows.clone()].contains(&CART) {
                continue;
            }
            cart.clear();
            let (mut purchased, mut last, mut had_cart) = (false, i64::MIN, false);
            for row in rows.clone() {
                let t = frame.time[row];
                if !(self.from..self.to).contains(&t) {
                    continue;
                }
                last = last.max(t);
                let product = frame.product[row];
                match kinds[row] {
                    PURCHASE => purchased = true,
                    CART => {
                        had_cart = true;
                        let (price, category, brand) = (frame.price[row], frame.category[row], frame.brand[row]);
                        let units = i64::from(frame.quantity.get(row));
                        match cart.iter_mut().find(|c| c.0 == product) {
                            Some(item) => *item = (product, item.1 + units, price, category, brand),
                            None => cart.push((product, units, price, category, brand)),
                        }
                    }
                    REMOVE => {
                        if let Some(item) = cart.iter_mut().find(|c| c.0 == product) {
                            item.1 = (item.1 - i64::from(frame.quantity.get(row))).max(0);
                        }
                    }
                    _ => {}
                }
            }
            if !had_cart {
                continue;
            }
            let expired_at = last + self.expiry;
            let has_items = cart.iter().any(|c| c.1 > 0);
            if expired_at > self.now {
                if has_items && !purchased {
                    tally.open += 1;
                }
                continue;
            }
            let abandoned = !purchased && has_items;
            let value: f64 = cart.iter().filter(|c| c.1 > 0).map(|&(_, q, price, _, _)| f64::from(price) * q as f64).sum();
            tally.carts += 1;
            tally.day(expired_at.div_euclid(86_400)).carts += 1;
            // Per (session, category) and (session, brand): every carted product's category and brand.
            categories.clear();
            brands.clear();
            for &(_, q, price, category, brand) in &cart {
                let is_left = abandoned && q > 0;
                let item_value = if is_left { f64::from(price) * q as f64 } else { 0.0 };
                for (list, key) in [(&mut categories, self.top_of[category as usize]), (&mut brands, brand)] {
                    match list.iter_mut().find(|e| e.0 == key) {
                        Some(e) => {
                            e.1 |= is_left;
                            e.2 += item_value;
                        }
                        None => list.push((key, is_left, item_value)),
                    }
                }
            }
            for (rows, list) in [(&mut tally.by_category, &categories), (&mut tally.by_brand, &brands)] {
                for &(key, is_left, v) in list.iter() {
                    let row = &mut rows[key as usize];
                    row.carts += 1;
                    row.abandoned += u64::from(is_left);
                    row.value_left.add(v);
                }
            }
            if !abandoned {
                continue;
            }
            tally.abandoned += 1;
            tally.value_left.add(value);
            let day = tally.day(expired_at.div_euclid(86_400));
            day.abandoned += 1;
            day.value_left.add(value);
            let user = frame.user[rows.start];
            let bought_later = self.last_purchase[user as usize] > expired_at;
            if self.settings.exclude_bought_later && bought_later {
                continue;
            }
            let first = tally.items.len() as u32;
            tally.items.extend(cart.iter().filter(|c| c.1 > 0).map(|&(product, q, price, _, _)| CartItem {
                product,
                quantity: q as u32,
                price: f64::from(price),
            }));
            let items = first..tally.items.len() as u32;
            tally.list.push(AbandonedCart { user, session: s as u32, expired_at, items, value, bought_later });
        }
        tally
    }
}

/// The retargeting list for an email tool: one row per abandoned cart. Items read
/// "name #id (brand, price x units)", the name where `names` has one, the brand where known.
pub fn retargeting_table(frame: &EventFrame, result: &CartResult, names: &super::forecast::ProductNames) -> crate::analytics::Table {
    let header =
        ["user_id", "user_session", "expired_at", "contact_by", "items", "cart_value", "offer", "bought_later"].map(String::from).to_vec();
    let rows = result
        .list
        .iter()
        .map(|c| {
            let items = result
                .items_of(c)
                .iter()
                .map(|i| {
                    let p = &frame.products[i.product as usize];
                    let product = match names.get(&p.id) {
                        Some(name) => format!("{} #{}", name.trim(), p.id),
                        None => p.id.to_string(),
                    };
                    let brand = match frame.brands[p.brand as usize].as_str() {
                        "" => String::new(),
                        brand => format!("{brand}, "),
                    };
                    let units = if i.quantity > 1 { format!(" x{}", i.quantity) } else { String::new() };
                    format!("{product} ({brand}{:.2}{units})", i.price)
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
        // Below the free-shipping minimum a shop sends a reminder alone.
        assert_eq!(cart.offer(&CartSettings { free_shipping_minimum: 25.0, ..settings.clone() }), "reminder");
        assert_eq!(cart.offer(&CartSettings { coupon_threshold: 20.0, ..settings.clone() }), "10% coupon");
        // Category "a": carted in s1 and s2, left in s1 → 1 of 2; "b": carted in s1 and s3, left in neither.
        let a = result.by_category.iter().find(|r| r.key == "a").unwrap();
        assert_eq!((a.carts, a.abandoned), (2, 1));
        let bcat = result.by_category.iter().find(|r| r.key == "b").unwrap();
        assert_eq!((bcat.carts, bcat.abandoned), (2, 0));
        let excluded = compute(&frame, &Filters::default(), &CartSettings { exclude_bought_later: true, ..settings }, Some(230 * m));
        assert!(excluded.list.is_empty());
        assert_eq!(excluded.abandoned, 1, "excluding changes the list, not the rate");
    }

    /// Hand-checked with quantities (a wholesale cart): s1 carts 48 of A at 2.10 and 12 of B
    /// at 0.42, then removes 5 of B: 48 × 2.10 + 7 × 0.42 = 100.80 + 2.94 = 103.74 left, which
    /// earns the coupon. s2 carts 3 of B and removes 4: nothing left (never below zero).
    #[test]
    fn a_cart_counts_units_not_events() {
        let mut b = EventFrameBuilder::new();
        let m = 60;
        b.push(0, EventKind::Cart, 100, "a.x", "acme", 2.10, 1, "s1");
        b.set_last_quantity(48);
        b.push(m, EventKind::Cart, 101, "b.y", "zed", 0.42, 1, "s1");
        b.set_last_quantity(12);
        b.push(2 * m, EventKind::RemoveFromCart, 101, "b.y", "zed", 0.42, 1, "s1");
        b.set_last_quantity(5);
        b.push(0, EventKind::Cart, 101, "b.y", "zed", 0.42, 2, "s2");
        b.set_last_quantity(3);
        b.push(m, EventKind::RemoveFromCart, 101, "b.y", "zed", 0.42, 2, "s2");
        b.set_last_quantity(4);
        let frame = b.finish();
        let result = compute(&frame, &Filters::default(), &CartSettings::default(), Some(1000 * m));
        assert_eq!((result.carts, result.abandoned), (2, 1));
        let cart = &result.list[0];
        let items: Vec<(i64, u32)> = result.items_of(cart).iter().map(|i| (frame.products[i.product as usize].id, i.quantity)).collect();
        assert_eq!(items, [(100, 48), (101, 7)]);
        // Prices are f32 in the frame: 2.10 and 0.42 to within 1e-6 each.
        assert!((cart.value - 103.74).abs() < 1e-4, "{}", cart.value);
        assert_eq!(cart.offer(&CartSettings::default()), "10% coupon");
    }
}

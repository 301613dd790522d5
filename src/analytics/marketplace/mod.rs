//! A resale marketplace in memory: users, what collectors own, listings, orders between users,
//! and interactions with listings. Ids are dictionary-coded (`u32` per user, listing, category
//! and brand) so the Listings and Sellers models run over plain vectors.
//!
//! - [`listings`]: listing health by brand or category (success rate, time to sell, engagement,
//!   conversion, supply), the listing flow and the most active users.
//! - [`sellers`]: who to invite to sell (P(active seller) × how much of their collection is in
//!   short supply).

pub mod listings;
pub mod scoring;
pub mod sellers;

use std::collections::HashMap;

pub use super::customers::format_time;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

#[derive(Debug, Clone, PartialEq)]
pub struct MarketUser {
    pub id: String,
    pub signup: Option<i64>,
    pub country: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollectionItem {
    pub user: u32,
    pub category: Option<u32>,
    pub brand: Option<u32>,
    pub added: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub id: String,
    pub seller: u32,
    pub category: Option<u32>,
    pub brand: Option<u32>,
    pub price: Option<f64>,
    /// The draft was started (when the export says).
    pub created: Option<i64>,
    /// Submitted; `None` for a draft never submitted, or a snapshot's listing (see
    /// [`Listing::is_undated`]).
    pub listed: Option<i64>,
    pub sold: Option<i64>,
    /// A snapshot's state as of its export: sold or not (`None` when the export has dates).
    pub sold_flag: Option<bool>,
    /// Likes the export counted on the listing (a snapshot's engagement).
    pub likes: Option<u64>,
}

impl Listing {
    /// A listing from a snapshot without dates: listed (it is in the export), sold or not as the
    /// export says, but when is unknown, so it counts only where no date range is asked for.
    pub fn is_undated(&self) -> bool {
        self.listed.is_none() && self.sold_flag.is_some()
    }

    /// Sold, by its date or the snapshot's flag.
    pub fn is_sold(&self) -> bool {
        self.sold.is_some() || self.sold_flag == Some(true)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarketOrder {
    pub listing: Option<u32>,
    pub buyer: u32,
    pub seller: u32,
    pub amount: Option<f64>,
    pub at: i64,
}

/// What a user did with a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InteractionKind {
    View,
    /// A wishlist add.
    Like,
    Cart,
    Offer,
    Other,
}

impl InteractionKind {
    pub fn parse(text: &str) -> Self {
        match text.trim().to_ascii_lowercase().as_str() {
            "view" | "views" | "viewed" | "pageview" => InteractionKind::View,
            "like" | "likes" | "liked" | "wishlist" | "favourite" | "favorite" | "save" => InteractionKind::Like,
            "cart" | "addtocart" | "add_to_cart" | "basket" => InteractionKind::Cart,
            "offer" | "bid" | "makeoffer" | "make_offer" => InteractionKind::Offer,
            _ => InteractionKind::Other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    pub user: u32,
    pub listing: Option<u32>,
    pub kind: InteractionKind,
    pub at: i64,
}

/// The marketplace tables, coded.
#[derive(Debug, Clone, Default)]
pub struct MarketplaceData {
    /// Everyone seen in any table (users not in the users table have no signup or country).
    pub users: Vec<MarketUser>,
    pub categories: Vec<String>,
    pub brands: Vec<String>,
    pub items: Vec<CollectionItem>,
    pub listings: Vec<Listing>,
    pub orders: Vec<MarketOrder>,
    pub interactions: Vec<Interaction>,
    /// Rows that contradict each other, counted when the data is read.
    pub contradictions: Contradictions,
}

/// Marketplace rows that contradict each other: counted, said wherever the figures are shown,
/// and kept out of the figures they would corrupt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contradictions {
    /// Sold before listed: no days to sell (nor the 30-day sell-through) are counted for them.
    pub sold_before_listed: u64,
    /// Sold by their date, though no order names them, in data that has orders at all.
    pub sold_without_order: u64,
    /// Orders naming a listing the data does not have: counted for the buyer, not any group.
    pub orders_for_unknown_listings: u64,
    /// Users listed more than once in the users table: the first signup date, the last country.
    pub duplicate_users: u64,
}

impl Contradictions {
    /// The plain sentences for the panel, the CLI and reports (empty when nothing contradicts).
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.sold_before_listed > 0 {
            notes.push(format!("{} listings were sold before they were listed: their days to sell are left out", self.sold_before_listed));
        }
        if self.sold_without_order > 0 {
            notes.push(format!("{} listings are sold by their date but no order names them", self.sold_without_order));
        }
        if self.orders_for_unknown_listings > 0 {
            notes.push(format!(
                "{} orders name a listing the data does not have: they count for their buyers, in no group",
                self.orders_for_unknown_listings
            ));
        }
        if self.duplicate_users > 0 {
            notes.push(format!("{} users appear more than once in the users table: each is counted once", self.duplicate_users));
        }
        notes
    }
}

impl MarketplaceData {
    pub fn is_empty(&self) -> bool {
        self.listings.is_empty() && self.orders.is_empty() && self.items.is_empty() && self.interactions.is_empty()
    }

    /// The last moment in the data (orders, listings, interactions, collection adds, signups):
    /// what "now" means for the models. Never the wall clock.
    pub fn last_time(&self) -> Option<i64> {
        self.moments().max()
    }

    /// The days the marketplace's data covers (its own, not the shop's: a report labels its
    /// pages with it).
    pub fn date_span(&self) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
        let day = |t: i64| crate::analytics::customers::date_of_day(t.div_euclid(DAY));
        Some((day(self.moments().min()?), day(self.moments().max()?)))
    }

    /// Every dated moment: orders, listings, interactions, collection adds, signups.
    fn moments(&self) -> impl Iterator<Item = i64> + '_ {
        let listings = self.listings.iter().flat_map(|l| [l.created, l.listed, l.sold]).flatten();
        let orders = self.orders.iter().map(|o| o.at);
        let interactions = self.interactions.iter().map(|i| i.at);
        let items = self.items.iter().filter_map(|i| i.added);
        let signups = self.users.iter().filter_map(|u| u.signup);
        listings.chain(orders).chain(interactions).chain(items).chain(signups)
    }

    pub fn category_name(&self, category: Option<u32>) -> &str {
        category.map_or("(none)", |c| self.categories[c as usize].as_str())
    }

    pub fn brand_name(&self, brand: Option<u32>) -> &str {
        brand.map_or("(none)", |b| self.brands[b as usize].as_str())
    }
}

/// Fills a [`MarketplaceData`] a row at a time, in any table order.
#[derive(Default)]
pub struct MarketplaceBuilder {
    data: MarketplaceData,
    users: HashMap<String, u32>,
    listings: HashMap<String, u32>,
    categories: HashMap<String, u32>,
    brands: HashMap<String, u32>,
    /// Orders and interactions name listings that may come later (or never): resolved at the end.
    order_listings: Vec<Option<String>>,
    interaction_listings: Vec<Option<String>>,
    /// Users already read from the users table (a second row of one is a duplicate).
    users_seen: std::collections::HashSet<u32>,
}

fn code(map: &mut HashMap<String, u32>, names: &mut Vec<String>, name: &str) -> u32 {
    if let Some(&c) = map.get(name) {
        return c;
    }
    let c = names.len() as u32;
    names.push(name.to_string());
    map.insert(name.to_string(), c);
    c
}

impl MarketplaceBuilder {
    pub fn user_code(&mut self, id: &str) -> u32 {
        if let Some(&c) = self.users.get(id) {
            return c;
        }
        let c = self.data.users.len() as u32;
        self.data.users.push(MarketUser { id: id.to_string(), signup: None, country: String::new() });
        self.users.insert(id.to_string(), c);
        c
    }

    fn category(&mut self, name: Option<&str>) -> Option<u32> {
        let name = name.map(str::trim).filter(|n| !n.is_empty())?;
        Some(code(&mut self.categories, &mut self.data.categories, name))
    }

    fn brand(&mut self, name: Option<&str>) -> Option<u32> {
        let name = name.map(str::trim).filter(|n| !n.is_empty())?;
        Some(code(&mut self.brands, &mut self.data.brands, name))
    }

    pub fn user(&mut self, id: &str, signup: Option<i64>, country: Option<&str>) {
        let c = self.user_code(id);
        if !self.users_seen.insert(c) {
            self.data.contradictions.duplicate_users += 1;
        }
        let c = c as usize;
        let user = &mut self.data.users[c];
        user.signup = signup.or(user.signup);
        if let Some(country) = country {
            user.country = country.to_string();
        }
    }

    pub fn item(&mut self, user: &str, category: Option<&str>, brand: Option<&str>, added: Option<i64>) {
        let user = self.user_code(user);
        let (category, brand) = (self.category(category), self.brand(brand));
        self.data.items.push(CollectionItem { user, category, brand, added });
    }

    #[allow(clippy::too_many_arguments)]
    pub fn listing(
        &mut self,
        id: &str,
        seller: &str,
        category: Option<&str>,
        brand: Option<&str>,
        price: Option<f64>,
        created: Option<i64>,
        listed: Option<i64>,
        sold: Option<i64>,
    ) {
        let seller = self.user_code(seller);
        let (category, brand) = (self.category(category), self.brand(brand));
        let listing = Listing { id: id.to_string(), seller, category, brand, price, created, listed, sold, sold_flag: None, likes: None };
        // A later export of the same listing replaces it (it may have sold since).
        match self.listings.get(id) {
            Some(&c) => self.data.listings[c as usize] = listing,
            None => {
                self.listings.insert(id.to_string(), self.data.listings.len() as u32);
                self.data.listings.push(listing);
            }
        }
    }

    /// A snapshot's state of listing `id` (added with [`Self::listing`] before): sold or not as
    /// of the export, and its likes.
    pub fn listing_state(&mut self, id: &str, sold: Option<bool>, likes: Option<u64>) {
        if let Some(&c) = self.listings.get(id) {
            let listing = &mut self.data.listings[c as usize];
            listing.sold_flag = sold;
            listing.likes = likes;
        }
    }

    pub fn order(&mut self, listing: Option<&str>, buyer: &str, seller: &str, amount: Option<f64>, at: i64) {
        let (buyer, seller) = (self.user_code(buyer), self.user_code(seller));
        self.order_listings.push(listing.map(str::to_string));
        self.data.orders.push(MarketOrder { listing: None, buyer, seller, amount, at });
    }

    pub fn interaction(&mut self, user: &str, listing: Option<&str>, kind: &str, at: i64) {
        let user = self.user_code(user);
        self.interaction_listings.push(listing.map(str::to_string));
        self.data.interactions.push(Interaction { user, listing: None, kind: InteractionKind::parse(kind), at });
    }

    pub fn finish(mut self) -> MarketplaceData {
        for (order, listing) in self.data.orders.iter_mut().zip(&self.order_listings) {
            order.listing = listing.as_ref().and_then(|id| self.listings.get(id)).copied();
            if listing.is_some() && order.listing.is_none() {
                self.data.contradictions.orders_for_unknown_listings += 1;
            }
        }
        let data = &mut self.data;
        data.contradictions.sold_before_listed =
            data.listings.iter().filter(|l| matches!((l.listed, l.sold), (Some(listed), Some(sold)) if sold < listed)).count() as u64;
        if !data.orders.is_empty() {
            let mut ordered = vec![false; data.listings.len()];
            for listing in data.orders.iter().filter_map(|o| o.listing) {
                ordered[listing as usize] = true;
            }
            data.contradictions.sold_without_order =
                data.listings.iter().zip(&ordered).filter(|(l, ordered)| l.sold.is_some() && !**ordered).count() as u64;
        }
        for (interaction, listing) in self.data.interactions.iter_mut().zip(&self.interaction_listings) {
            interaction.listing = listing.as_ref().and_then(|id| self.listings.get(id)).copied();
        }
        self.data
    }
}

/// The median of `values` (sorted here); the mean of the two middle values for an even count.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_coded_once_and_late_listings_are_resolved() {
        let mut b = MarketplaceBuilder::default();
        b.order(Some("L1"), "buyer", "seller", Some(10.0), 100);
        b.interaction("buyer", Some("L1"), "Wishlist", 50);
        b.interaction("buyer", Some("gone"), "view", 40);
        b.listing("L1", "seller", Some("watches"), None, Some(10.0), None, Some(10), Some(100));
        b.user("seller", Some(5), Some("FR"));
        let data = b.finish();
        assert_eq!(data.users.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), ["buyer", "seller"]);
        assert_eq!(data.orders[0].listing, Some(0));
        assert_eq!((data.interactions[0].listing, data.interactions[0].kind), (Some(0), InteractionKind::Like));
        assert_eq!(data.interactions[1].listing, None);
        assert_eq!(data.users[1].country, "FR");
        assert_eq!(data.last_time(), Some(100));
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 10.0]), Some(2.5));
    }
}

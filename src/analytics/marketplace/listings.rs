//! Listing health, by brand or by category, over the date filter's days:
//!
//! - **listed**: listings submitted (`listed_at`) in the range; drafts never submitted are not
//!   listings;
//! - **sold**: of those, the ones sold before the range ends; **success rate** = sold / listed;
//! - **days to sell**: `sold_at − listed_at` in fractional days over the sold ones (the median of
//!   an even count is the mean of the two middle values); **sell-through 30 d**: sold within 30
//!   days of listing / listed;
//! - **views, likes, orders**: interactions and orders dated in the range on the group's
//!   listings (whenever those were listed); **conversion** = orders / views;
//! - **active** listings when the range ends (listed before, not sold by then), their **days on
//!   market**, and **months of supply** = active / the range's sales per month.
//!
//! A **snapshot** export (Vestiaire Collective's: no dates, a `sold` 0/1 and like counts per
//! listing) has *undated* listings: each is listed, sold as its flag says, active when unsold,
//! and its likes count. Without a date they cannot be placed in a range, so they count only when
//! no dates are chosen (the result says how many a range left out), and the figures that need
//! dates (days to sell, sell-through, days on market, months of supply) are left empty for them
//! rather than 0. Their **conversion** is sales per like (`conversion_of` = likes), where a
//! group has no views to count orders against.
//!
//! The country filter does not apply: marketplace rows carry no order country.

use super::{median, InteractionKind, MarketplaceData, DAY};
use crate::analytics::{Filters, Table};

/// Days in an average month, for sales per month.
const MONTH_DAYS: f64 = 30.4375;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Brand,
    Category,
}

impl GroupBy {
    pub fn name(&self) -> &'static str {
        match self {
            GroupBy::Brand => "brand",
            GroupBy::Category => "category",
        }
    }
}

/// One brand's or category's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingGroup {
    pub group: String,
    pub listed: u64,
    pub sold: u64,
    pub success_rate: f64,
    pub median_days_to_sell: Option<f64>,
    /// `None` when no listing of the group has dates.
    pub sell_through_30: Option<f64>,
    pub views: u64,
    pub likes: u64,
    pub orders: u64,
    pub conversion: Option<f64>,
    /// What `conversion` is over.
    pub conversion_of: ConversionOf,
    pub active: u64,
    pub median_days_on_market: Option<f64>,
    pub months_of_supply: Option<f64>,
}

/// What a group's conversion counts sales against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversionOf {
    /// Orders per view (dated interactions).
    Views,
    /// Sales per like: a snapshot's listings, which have likes but no views.
    Likes,
}

impl ConversionOf {
    pub fn name(self) -> &'static str {
        match self {
            ConversionOf::Views => "views",
            ConversionOf::Likes => "likes",
        }
    }
}

/// Started → submitted → sold, for listings started in the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListingFlow {
    pub started: u64,
    pub submitted: u64,
    pub sold: u64,
    /// Whether the data has drafts at all (a `created_at`, or a listing never submitted);
    /// without them "started" is just "submitted".
    pub has_drafts: bool,
}

/// A user's activity in the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveUser {
    pub user: u32,
    pub listed: u64,
    pub sold: u64,
    pub bought: u64,
    pub interactions: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListingsResult {
    pub by: GroupBy,
    /// The range as epoch seconds, end exclusive.
    pub range: (i64, i64),
    /// Every group, most listed first.
    pub groups: Vec<ListingGroup>,
    /// Days to sell of every listing sold in the range (for the distribution).
    pub days_to_sell: Vec<f64>,
    pub flow: ListingFlow,
    /// The 20 most active users (listings + purchases + interactions).
    pub most_active: Vec<ActiveUser>,
    /// Listings of a snapshot without dates: counted (no range chosen), or left out by a range.
    pub undated_counted: u64,
    pub undated_left_out: u64,
}

/// The filter's days as epoch seconds `[from, to)`; open ends take the data's span.
pub fn range(data: &MarketplaceData, filters: &Filters) -> (i64, i64) {
    let day = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp());
    let from = filters.from.map_or(i64::MIN, day);
    let to = filters.to.map_or_else(|| data.last_time().map_or(i64::MAX, |t| t + 1), |d| day(d) + DAY);
    (from, to)
}

pub fn compute(data: &MarketplaceData, filters: &Filters, by: GroupBy) -> ListingsResult {
    let (from, to) = range(data, filters);
    let inside = |t: i64| t >= from && t < to;
    let group_count = match by {
        GroupBy::Brand => data.brands.len(),
        GroupBy::Category => data.categories.len(),
    } + 1;
    // Group index per listing; the last index is "(none)".
    let group_of: Vec<usize> = data
        .listings
        .iter()
        .map(|l| match by {
            GroupBy::Brand => l.brand,
            GroupBy::Category => l.category,
        })
        .map(|g| g.map_or(group_count - 1, |g| g as usize))
        .collect();
    // Undated listings cannot be placed inside a chosen range.
    let range_chosen = filters.from.is_some() || filters.to.is_some();
    let (mut undated_counted, mut undated_left_out) = (0u64, 0u64);
    #[derive(Default, Clone)]
    struct Acc {
        listed: u64,
        /// Of `listed`, the ones with dates.
        dated: u64,
        undated: u64,
        sold: u64,
        within_30: u64,
        views: u64,
        likes: u64,
        orders: u64,
        active: u64,
        days_to_sell: Vec<f64>,
        days_on_market: Vec<f64>,
    }
    let mut acc = vec![Acc::default(); group_count];
    let mut flow = ListingFlow::default();
    let mut users = vec![ActiveUser { user: 0, listed: 0, sold: 0, bought: 0, interactions: 0 }; data.users.len()];
    for (i, listing) in data.listings.iter().enumerate() {
        let a = &mut acc[group_of[i]];
        if listing.is_undated() {
            if range_chosen {
                undated_left_out += 1;
                continue;
            }
            undated_counted += 1;
            a.listed += 1;
            a.undated += 1;
            a.likes += listing.likes.unwrap_or(0);
            users[listing.seller as usize].listed += 1;
            if listing.is_sold() {
                a.sold += 1;
                users[listing.seller as usize].sold += 1;
            } else {
                a.active += 1;
            }
            continue;
        }
        if !range_chosen {
            a.likes += listing.likes.unwrap_or(0);
        }
        flow.has_drafts |= listing.created.is_some() || listing.listed.is_none();
        if listing.created.or(listing.listed).is_some_and(inside) {
            flow.started += 1;
            if listing.listed.is_some_and(|t| t < to) {
                flow.submitted += 1;
                if listing.sold.is_some_and(|t| t < to) {
                    flow.sold += 1;
                }
            }
        }
        let Some(listed) = listing.listed else { continue };
        let sold = listing.sold.filter(|&t| t < to);
        if inside(listed) {
            a.listed += 1;
            a.dated += 1;
            users[listing.seller as usize].listed += 1;
            if let Some(sold) = sold {
                a.sold += 1;
                users[listing.seller as usize].sold += 1;
                // Sold before listed contradicts itself: no days to sell from it
                // (`Contradictions`).
                if sold >= listed {
                    let days = (sold - listed) as f64 / DAY as f64;
                    a.days_to_sell.push(days);
                    if days <= 30.0 {
                        a.within_30 += 1;
                    }
                }
            }
        }
        if listed < to && sold.is_none() {
            a.active += 1;
            a.days_on_market.push((to - listed) as f64 / DAY as f64);
        }
    }
    for interaction in data.interactions.iter().filter(|x| inside(x.at)) {
        users[interaction.user as usize].interactions += 1;
        let Some(listing) = interaction.listing else { continue };
        let a = &mut acc[group_of[listing as usize]];
        match interaction.kind {
            InteractionKind::View => a.views += 1,
            InteractionKind::Like => a.likes += 1,
            _ => {}
        }
    }
    for order in data.orders.iter().filter(|o| inside(o.at)) {
        users[order.buyer as usize].bought += 1;
        if let Some(listing) = order.listing {
            acc[group_of[listing as usize]].orders += 1;
        }
    }
    let span_days = if from == i64::MIN {
        // An open start: the data's first listing day.
        let first = data.listings.iter().filter_map(|l| l.listed).min().unwrap_or(to);
        (to - first) as f64 / DAY as f64
    } else {
        (to - from) as f64 / DAY as f64
    };
    let names = |g: usize| -> String {
        if g == group_count - 1 {
            "(none)".into()
        } else {
            match by {
                GroupBy::Brand => data.brands[g].clone(),
                GroupBy::Category => data.categories[g].clone(),
            }
        }
    };
    let mut all_days = Vec::new();
    let mut groups: Vec<ListingGroup> = acc
        .into_iter()
        .enumerate()
        .filter(|(_, a)| a.listed > 0 || a.active > 0 || a.views > 0 || a.orders > 0)
        .map(|(g, mut a)| {
            all_days.extend_from_slice(&a.days_to_sell);
            let monthly_sales = if span_days > 0.0 { a.orders as f64 / (span_days / MONTH_DAYS) } else { 0.0 };
            // Sales per like for a snapshot's listings, where there are no views.
            let (conversion, conversion_of) = if a.views == 0 && a.undated > 0 {
                (ratio(a.sold, a.likes), ConversionOf::Likes)
            } else {
                (ratio(a.orders, a.views), ConversionOf::Views)
            };
            ListingGroup {
                group: names(g),
                listed: a.listed,
                sold: a.sold,
                success_rate: ratio(a.sold, a.listed).unwrap_or(0.0),
                median_days_to_sell: median(&mut a.days_to_sell),
                sell_through_30: ratio(a.within_30, a.dated),
                views: a.views,
                likes: a.likes,
                orders: a.orders,
                conversion,
                conversion_of,
                active: a.active,
                median_days_on_market: median(&mut a.days_on_market),
                months_of_supply: (monthly_sales > 0.0).then(|| a.active as f64 / monthly_sales),
            }
        })
        .collect();
    groups.sort_by(|a, b| b.listed.cmp(&a.listed).then(a.group.cmp(&b.group)));
    all_days.sort_by(f64::total_cmp);
    for (i, u) in users.iter_mut().enumerate() {
        u.user = i as u32;
    }
    users.retain(|u| u.listed + u.bought + u.interactions > 0);
    users.sort_by(|a, b| (b.listed + b.bought + b.interactions).cmp(&(a.listed + a.bought + a.interactions)).then(a.user.cmp(&b.user)));
    users.truncate(20);
    ListingsResult { by, range: (from, to), groups, days_to_sell: all_days, flow, most_active: users, undated_counted, undated_left_out }
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn optional(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(String::new, |v| format!("{v:.decimals$}"))
}

/// The groups as exported (`shoplens listings --by …`): the columns first, then the
/// supply columns. Groups with fewer than `min_listings` listed are left out.
pub fn groups_table(result: &ListingsResult, min_listings: u64) -> Table {
    let header = [
        "group",
        "listed",
        "sold",
        "success_rate",
        "median_days_to_sell",
        "views",
        "likes",
        "orders",
        "conversion",
        "sell_through_30d",
        "active",
        "median_days_on_market",
        "months_of_supply",
        "conversion_of",
    ]
    .map(String::from)
    .to_vec();
    let rows = result
        .groups
        .iter()
        .filter(|g| g.listed >= min_listings)
        .map(|g| {
            vec![
                g.group.clone(),
                g.listed.to_string(),
                g.sold.to_string(),
                format!("{:.4}", g.success_rate),
                optional(g.median_days_to_sell, 3),
                g.views.to_string(),
                g.likes.to_string(),
                g.orders.to_string(),
                optional(g.conversion, 4),
                optional(g.sell_through_30, 4),
                g.active.to_string(),
                optional(g.median_days_on_market, 1),
                optional(g.months_of_supply, 2),
                g.conversion_of.name().to_string(),
            ]
        })
        .collect();
    (header, rows)
}

/// The most active users as exported.
pub fn active_users_table(data: &MarketplaceData, result: &ListingsResult) -> Table {
    let header = ["user_id", "listed", "sold", "bought", "interactions"].map(String::from).to_vec();
    let rows = result
        .most_active
        .iter()
        .map(|u| {
            vec![
                data.users[u.user as usize].id.clone(),
                u.listed.to_string(),
                u.sold.to_string(),
                u.bought.to_string(),
                u.interactions.to_string(),
            ]
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::marketplace::MarketplaceBuilder;

    /// Hand-checked: three watches listed in the range (two sold after 1.5 and 3 days, one still
    /// active), one watch sold before the range (out), one scarf draft never submitted.
    #[test]
    fn a_small_case_by_hand() {
        let d = |days: f64| (days * DAY as f64) as i64;
        let mut b = MarketplaceBuilder::default();
        b.listing("a", "s", Some("watches"), Some("K"), Some(10.0), None, Some(d(10.0)), Some(d(11.5)));
        b.listing("b", "s", Some("watches"), Some("K"), Some(10.0), None, Some(d(12.0)), Some(d(15.0)));
        b.listing("c", "s", Some("watches"), Some("K"), Some(10.0), None, Some(d(13.0)), None);
        b.listing("old", "s", Some("watches"), Some("K"), Some(10.0), None, Some(d(1.0)), Some(d(2.0)));
        b.listing("draft", "t", Some("scarves"), None, Some(5.0), Some(d(14.0)), None, None);
        for (listing, kind, at) in [("a", "view", 10.5), ("a", "view", 11.0), ("b", "like", 12.5), ("c", "view", 14.0), ("a", "view", 2.0)]
        {
            b.interaction("u", Some(listing), kind, d(at));
        }
        b.order(Some("a"), "u", "s", Some(10.0), d(11.5));
        b.order(Some("b"), "u", "s", Some(10.0), d(15.0));
        b.order(Some("old"), "u", "s", Some(10.0), d(2.0));
        let data = b.finish();
        let day0 = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let filters = Filters {
            from: Some(day0 + chrono::Duration::days(10)),
            to: Some(day0 + chrono::Duration::days(19)),
            country: None,
            ..Default::default()
        };
        let result = compute(&data, &filters, GroupBy::Category);
        let watches = result.groups.iter().find(|g| g.group == "watches").unwrap();
        assert_eq!((watches.listed, watches.sold, watches.views, watches.likes, watches.orders), (3, 2, 3, 1, 2));
        assert!((watches.success_rate - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(watches.median_days_to_sell, Some(2.25), "the mean of 1.5 and 3");
        assert_eq!(watches.conversion, Some(2.0 / 3.0));
        assert_eq!(watches.active, 1);
        assert_eq!(watches.median_days_on_market, Some(7.0), "listed day 13, the range ends at day 20");
        // 2 orders over 10 days: 6.09 a month; 1 active listing is 0.16 months of supply.
        assert!((watches.months_of_supply.unwrap() - 1.0 / (2.0 / (10.0 / MONTH_DAYS))).abs() < 1e-9);
        assert_eq!(result.flow, ListingFlow { started: 4, submitted: 3, sold: 2, has_drafts: true });
        assert!(!result.groups.iter().any(|g| g.group == "scarves" && g.listed > 0));
        let (header, rows) = groups_table(&result, 2);
        assert_eq!(header[..9].join(","), "group,listed,sold,success_rate,median_days_to_sell,views,likes,orders,conversion");
        assert_eq!(rows.len(), 1, "the minimum-listings filter drops groups listed fewer than 2 times");
    }

    /// Hand-checked: a snapshot without dates (Vestiaire's layout). Bags: 3 listed, 1 sold, 40
    /// likes; shoes: 1 listed, sold, 0 likes. No dates: the dated figures stay empty, and a
    /// chosen range leaves every listing out, saying so.
    #[test]
    fn a_snapshot_without_dates_by_hand() {
        let mut b = MarketplaceBuilder::default();
        for (id, category, sold, likes) in
            [("a", "bags", true, 10), ("b", "bags", false, 30), ("c", "bags", false, 0), ("d", "shoes", true, 0)]
        {
            b.listing(id, "s", Some(category), Some("chanel"), Some(100.0), None, None, None);
            b.listing_state(id, Some(sold), Some(likes));
        }
        let data = b.finish();
        let result = compute(&data, &Filters::default(), GroupBy::Category);
        let bags = result.groups.iter().find(|g| g.group == "bags").unwrap();
        assert_eq!((bags.listed, bags.sold, bags.likes, bags.active, bags.orders), (3, 1, 40, 2, 0));
        assert!((bags.success_rate - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!((bags.conversion, bags.conversion_of), (Some(1.0 / 40.0), ConversionOf::Likes));
        assert_eq!((bags.median_days_to_sell, bags.sell_through_30, bags.months_of_supply), (None, None, None));
        let shoes = result.groups.iter().find(|g| g.group == "shoes").unwrap();
        assert_eq!((shoes.success_rate, shoes.conversion), (1.0, None), "no likes: no sales per like");
        assert_eq!((result.undated_counted, result.undated_left_out), (4, 0));
        assert!(!result.flow.has_drafts, "a snapshot's listings are not drafts");
        let (_, rows) = groups_table(&result, 1);
        assert_eq!(rows[0][9], "", "sell-through needs dates: empty, not 0");

        let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 1);
        let ranged = compute(&data, &Filters { from: day, to: None, country: None, ..Default::default() }, GroupBy::Category);
        assert_eq!((ranged.undated_counted, ranged.undated_left_out, ranged.groups.len()), (0, 4, 0));
    }
}

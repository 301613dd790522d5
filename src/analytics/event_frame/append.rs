//! Live mode's append: new events added to an events copy without regrouping the sessions they
//! do not touch.
//!
//! A copy's rows are grouped by session, so an event of a session the copy already has goes
//! inside that session's run of rows. Rebuilding the frame (a counting sort of every row) costs
//! seconds at 20M events. Here the runs between touched sessions are copied as they are, and
//! only the touched sessions are merged with their new events. The result is the frame a full
//! rebuild gives (`EventFrameBuilder::from_frame`, the new events pushed, `finish`): the same
//! codes and the same row order (tested against it).
//!
//! Writing 20M rows into fresh memory is itself a third of a second of page faults. So an
//! append writes into a *spare*: an older frame of the same lineage that nothing reads any
//! more (the frame before the current one, or a copy made when live mode starts). Spare and
//! current frame have the same first sessions ([`Kin`]), and live events land mostly in the
//! latest sessions, at the end of the rows: only the tail is written.

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{EventFrame, EventFrameBuilder, Product, Quantities, NO_SESSION};
use crate::analytics::dictionary::Texts;

/// A new frame identity.
pub(super) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// "My first `sessions` sessions, with their rows, are those of frame `frame`; my dictionaries
/// begin with its dictionaries": how a frame made by an append (or a spare copy) relates to the
/// frame it was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Kin {
    frame: u64,
    sessions: usize,
}

/// What an append changed, for results that update rather than recompute (the funnel).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Appended {
    /// Sessions the frame had before that gained events, ascending.
    pub touched: Vec<u32>,
    /// Sessions the append created.
    pub new_sessions: Range<usize>,
    /// Events appended.
    pub rows: usize,
}

/// Spare room reserved when a column must grow: a 32nd of its length, so a run of appends
/// writes into memory already faulted in rather than growing the columns each time.
fn with_room(rows: usize) -> usize {
    rows + rows / 32 + 1024
}

/// Where each of `wanted` (distinct keys) is among `existing`, in one parallel pass over
/// `existing`: a live append has thousands of keys to look up among millions, and a pass over
/// a flat column beats keeping a map of millions alive between appends.
fn find_all<K: Copy + Eq + Hash + Send + Sync>(existing: usize, key_at: impl Fn(usize) -> K + Sync, wanted: &[K]) -> Vec<Option<u32>> {
    let index: HashMap<K, usize, super::FastHash> = wanted.iter().enumerate().map(|(i, &k)| (k, i)).collect();
    let found = crate::jobs::parallel_ranges(existing, |range| {
        range.filter_map(|i| index.get(&key_at(i)).map(|&w| (w, i as u32))).collect::<Vec<_>>()
    });
    let mut at = vec![None; wanted.len()];
    for (w, i) in found.into_iter().flatten() {
        at[w].get_or_insert(i);
    }
    at
}

/// Codes of the appended builder's dictionaries in the frame's, with what the frame lacks.
struct Translation<T> {
    /// Builder code → frame code (the frame's, or one past its end for a new value).
    codes: Vec<u32>,
    /// The new values, in code order.
    new: Vec<T>,
}

/// Translates `wanted` values: found ones keep the frame's code, the others get the next codes
/// in the order the builder first saw them (the order a full rebuild gives them).
fn translate<T>(found: Vec<Option<u32>>, existing: usize, wanted: impl IntoIterator<Item = T>) -> Translation<T> {
    let mut new = Vec::new();
    let codes = found
        .into_iter()
        .zip(wanted)
        .map(|(found, value)| {
            found.unwrap_or_else(|| {
                new.push(value);
                (existing + new.len() - 1) as u32
            })
        })
        .collect();
    Translation { codes, new }
}

/// Where a row of the new frame comes from.
#[derive(Debug, Clone)]
enum Piece {
    /// These rows of the current frame, in order.
    Old(Range<usize>),
    /// This row of the appended builder.
    New(usize),
}

/// A column of the new frame: `dest` cut to `keep` rows, then `pieces` from `old` and `new`.
fn fill<T: Copy>(dest: &mut Vec<T>, keep: usize, total: usize, old: &[T], new: &[T], pieces: &[Piece]) {
    dest.truncate(keep);
    if dest.capacity() < total {
        dest.reserve_exact(with_room(total) - dest.len());
    }
    for piece in pieces {
        match piece {
            Piece::Old(range) => dest.extend_from_slice(&old[range.clone()]),
            &Piece::New(row) => dest.push(new[row]),
        }
    }
}

/// Appends `rows` of old rows `old` (time order) merged with new rows `new` (time order) to
/// `pieces`: at equal times the old row first, as a stable sort of old-then-new would.
fn merge(pieces: &mut Vec<Piece>, old: Range<usize>, old_time: &[i64], new: &[u32], new_time: &[i64]) {
    let mut next_old = old.start;
    for &row in new {
        let t = new_time[row as usize];
        let upto = next_old + old_time[next_old..old.end].partition_point(|&o| o <= t);
        if upto > next_old {
            pieces.push(Piece::Old(next_old..upto));
            next_old = upto;
        }
        pieces.push(Piece::New(row as usize));
    }
    if next_old < old.end {
        pieces.push(Piece::Old(next_old..old.end));
    }
}

impl EventFrame {
    /// A copy of this frame for a later [`EventFrame::appended`] to write into (live mode keeps
    /// one from its start, so even the first append does not fault in a new frame's memory).
    pub fn spare(&self) -> EventFrame {
        fn column<T: Copy>(values: &[T]) -> Vec<T> {
            let mut column = Vec::with_capacity(with_room(values.len()));
            column.extend_from_slice(values);
            column
        }
        EventFrame {
            time: column(&self.time),
            kind: column(&self.kind),
            product: column(&self.product),
            category: column(&self.category),
            brand: column(&self.brand),
            user: column(&self.user),
            price: column(&self.price),
            quantity: self.quantity.clone(),
            session_start: self.session_start.clone(),
            sessions: self.sessions.clone(),
            users: self.users.clone(),
            products: self.products.clone(),
            categories: self.categories.clone(),
            brands: self.brands.clone(),
            workspace_rowid: self.workspace_rowid,
            user_runs: Default::default(),
            tops: Default::default(),
            span: self.span.clone(),
            last_purchases: self.last_purchases.clone(),
            id: next_id(),
            kin: Some(Kin { frame: self.id, sessions: self.session_count() }),
        }
    }

    /// How many first sessions `spare` and this frame share (with their rows; and the shorter
    /// one's dictionaries begin the other's), when one was made from the other.
    fn shared_with(&self, spare: &EventFrame) -> Option<usize> {
        match (spare.kin, self.kin) {
            (Some(kin), _) if kin.frame == self.id => Some(kin.sessions),
            (_, Some(kin)) if kin.frame == spare.id => Some(kin.sessions),
            _ => None,
        }
    }

    /// This frame with `added`'s events, and what changed. Written into `spare` when it is this
    /// frame's kin (see the module notes); otherwise into new memory. Equal to rebuilding the
    /// frame with the events pushed after its own.
    pub fn appended(&self, added: EventFrameBuilder, spare: Option<EventFrame>) -> (EventFrame, Appended) {
        let old_sessions = self.session_count();
        let (shared, mut dest) = match spare.and_then(|s| self.shared_with(&s).map(|k| (k, s))) {
            Some((k, spare)) => (k.min(old_sessions), spare),
            None => (0, EventFrame::empty()),
        };

        // Dictionaries: look the builder's values up in the frame's.
        let EventFrameBuilder {
            time,
            kind,
            product,
            category,
            brand,
            user,
            price,
            quantity,
            session,
            sessions,
            users,
            products,
            categories,
            brands,
            ..
        } = added;
        let session_names = sessions.into_values();
        let wanted: Vec<&str> = session_names.iter().map(String::as_str).collect();
        let sessions = translate(find_all(old_sessions, |i| &self.sessions[i], &wanted), old_sessions, session_names.iter());
        let users = translate(find_all(self.users.len(), |i| self.users[i], &users), self.users.len(), users.iter().copied());
        let small = |values: &[String], wanted: Vec<String>| {
            let known: HashMap<&str, u32> = values.iter().enumerate().map(|(i, v)| (v.as_str(), i as u32)).collect();
            let found = wanted.iter().map(|w| known.get(w.as_str()).copied()).collect();
            translate(found, values.len(), wanted)
        };
        let categories = small(&self.categories, categories.into_values());
        let brands = small(&self.brands, brands.into_values());
        let ids: Vec<i64> = products.iter().map(|p| p.id).collect();
        let products = translate(find_all(self.products.len(), |i| self.products[i].id, &ids), self.products.len(), products);
        // The new rows by session (new sessions after the old, events without one last), each
        // session's in time order; stable, so events in the same second keep their read order.
        let session_code = |row: usize| match session[row] {
            NO_SESSION => u32::MAX,
            code => sessions.codes[code as usize],
        };
        let mut order: Vec<u32> = (0..time.len() as u32).collect();
        order.sort_by_key(|&row| (session_code(row as usize), time[row as usize]));
        let groups: Vec<(u32, &[u32])> = order
            .chunk_by(|&a, &b| session_code(a as usize) == session_code(b as usize))
            .map(|g| (session_code(g[0] as usize), g))
            .collect();

        // The plan: old runs copied whole, touched sessions merged, new sessions, then events
        // without a session (merged by time with the old ones, as the rebuild orders them).
        let touched: Vec<u32> = groups.iter().map(|g| g.0).filter(|&s| (s as usize) < old_sessions).collect();
        let keep = touched.first().map_or(old_sessions, |&s| s as usize).min(shared);
        let start = |s: usize| self.session_start[s] as usize;
        let mut pieces = Vec::new();
        dest.session_start.truncate(keep);
        dest.session_start.reserve(old_sessions + sessions.new.len() + 1 - keep);
        let (mut next, mut shift) = (keep, 0u32);
        for &(s, rows) in groups.iter().filter(|g| (g.0 as usize) < old_sessions) {
            let s = s as usize;
            pieces.push(Piece::Old(start(next)..start(s)));
            dest.session_start.extend(self.session_start[next..=s].iter().map(|&at| at + shift));
            merge(&mut pieces, start(s)..start(s + 1), &self.time, rows, &time);
            shift += rows.len() as u32;
            next = s + 1;
        }
        pieces.push(Piece::Old(start(next)..start(old_sessions)));
        dest.session_start.extend(self.session_start[next..old_sessions].iter().map(|&at| at + shift));
        let mut at = self.session_start[old_sessions] + shift;
        for &(_, rows) in groups.iter().filter(|g| (g.0 as usize) >= old_sessions && g.0 != u32::MAX) {
            dest.session_start.push(at);
            pieces.extend(rows.iter().map(|&row| Piece::New(row as usize)));
            at += rows.len() as u32;
        }
        dest.session_start.push(at);
        let sessionless: &[u32] = groups.last().filter(|g| g.0 == u32::MAX).map_or(&[], |g| g.1);
        merge(&mut pieces, start(old_sessions)..self.len(), &self.time, sessionless, &time);
        // The columns, translated where they are codes.
        let keep_rows = start(keep);
        let total = self.len() + time.len();
        let map = |codes: &[u32], to: &[u32]| -> Vec<u32> { codes.iter().map(|&c| to[c as usize]).collect() };
        let (product, category, brand, user) =
            (map(&product, &products.codes), map(&category, &categories.codes), map(&brand, &brands.codes), map(&user, &users.codes));
        crate::jobs::join(
            || {
                fill(&mut dest.time, keep_rows, total, &self.time, &time, &pieces);
                fill(&mut dest.kind, keep_rows, total, &self.kind, &kind, &pieces);
                fill(&mut dest.price, keep_rows, total, &self.price, &price, &pieces);
                fill(&mut dest.user, keep_rows, total, &self.user, &user, &pieces);
            },
            || {
                fill(&mut dest.product, keep_rows, total, &self.product, &product, &pieces);
                fill(&mut dest.category, keep_rows, total, &self.category, &category, &pieces);
                fill(&mut dest.brand, keep_rows, total, &self.brand, &brand, &pieces);
            },
        );
        // Quantities are held only when some event is not one unit (see `Quantities`).
        if self.quantity.all_one() && quantity.all_one() {
            dest.quantity = Quantities::default();
        } else {
            let (old, new) = (self.quantity.dense(self.len()), quantity.dense(time.len()));
            let mut column = std::mem::take(&mut dest.quantity).into_vec();
            if column.len() < keep_rows {
                column.clear();
                column.extend_from_slice(&old[..keep_rows]);
            }
            fill(&mut column, keep_rows, total, &old, &new, &pieces);
            dest.quantity = Quantities::from_vec(column);
        }
        // Dictionaries only grow: the spare's begin with this frame's, or this frame's with the
        // spare's (cut to this frame's, a spare made from it may have grown its own).
        dest.sessions.truncate(self.sessions.len());
        dest.users.truncate(self.users.len());
        dest.products.truncate(self.products.len());
        dest.categories.truncate(self.categories.len());
        dest.brands.truncate(self.brands.len());
        let new_names: Texts = sessions.new.iter().collect();
        let grow_texts = |dest: &mut Texts| {
            dest.extend_from(&self.sessions, dest.len());
            dest.extend_from(&new_names, 0);
        };
        grow_texts(&mut dest.sessions);
        /// `dest` (a prefix of `from`) made `from`, then `new` added.
        fn grow<T: Clone>(dest: &mut Vec<T>, from: &[T], new: impl IntoIterator<Item = T>) {
            dest.extend_from_slice(&from[dest.len()..]);
            dest.extend(new);
        }
        grow(&mut dest.users, &self.users, users.new);
        grow(&mut dest.categories, &self.categories, categories.new);
        grow(&mut dest.brands, &self.brands, brands.new);
        let new_products = products.new.into_iter().map(|p| Product {
            id: p.id,
            category: categories.codes[p.category as usize],
            brand: brands.codes[p.brand as usize],
        });
        grow(&mut dest.products, &self.products, new_products);

        // What was found over every row, brought up to date with the new rows only.
        dest.span = match self.span.get() {
            Some(&old) => {
                let span = [old, super::span_of(&time)].into_iter().flatten().reduce(|(a, b), (c, d)| (a.min(c), b.max(d)));
                std::sync::OnceLock::from(span)
            }
            None => Default::default(),
        };
        let reused = dest.last_purchases.take();
        dest.last_purchases = match self.last_purchases.get() {
            Some(old) => {
                let mut last = reused.unwrap_or_default();
                last.clear();
                last.extend_from_slice(old);
                last.resize(dest.users.len(), i64::MIN);
                super::note_purchases(&mut last, &kind, &user, &time);
                std::sync::OnceLock::from(last)
            }
            None => Default::default(),
        };
        let new_sessions = old_sessions..dest.session_count();
        dest.workspace_rowid = None;
        dest.user_runs = Default::default();
        dest.tops = Default::default();
        dest.id = next_id();
        // The rows before the first touched session are this frame's, whatever the spare held.
        dest.kin = Some(Kin { frame: self.id, sessions: touched.first().map_or(old_sessions, |&s| s as usize) });
        (dest, Appended { touched, new_sessions, rows: time.len() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::event_frame::EventKind;

    /// Every column and dictionary of two frames.
    fn assert_same(a: &EventFrame, b: &EventFrame) {
        assert_eq!(a.time, b.time, "time");
        assert_eq!(a.kind, b.kind, "kind");
        assert_eq!(a.product, b.product, "product");
        assert_eq!(a.category, b.category, "category");
        assert_eq!(a.brand, b.brand, "brand");
        assert_eq!(a.user, b.user, "user");
        assert_eq!(a.price, b.price, "price");
        assert_eq!(a.quantity, b.quantity, "quantity");
        assert_eq!(a.session_start, b.session_start, "session starts");
        assert_eq!(a.sessions, b.sessions, "sessions");
        assert_eq!(a.users, b.users, "users");
        assert_eq!(a.products, b.products, "products");
        assert_eq!(a.categories, b.categories, "categories");
        assert_eq!(a.brands, b.brands, "brands");
        assert_eq!(a.time_span(), b.time_span(), "time span");
        assert_eq!(a.last_purchases(), b.last_purchases(), "last purchases");
    }

    /// A seeded event: few sessions, users, products, categories and brands, so appends touch
    /// old sessions and meet old values, and times that collide within a session.
    fn event(b: &mut EventFrameBuilder, seed: u64, sessions: u64) {
        let r = |k: u64| (seed.wrapping_mul(6364136223846793005).wrapping_add(k * 1442695040888963407) >> 33) % 1_000_003;
        let kinds = [EventKind::View, EventKind::Cart, EventKind::RemoveFromCart, EventKind::Purchase];
        let session = match r(1) % (sessions + 1) {
            0 => String::new(),
            s => format!("s{s}"),
        };
        let product = (r(2) % 40) as i64;
        b.push(
            (r(3) % 50) as i64,
            kinds[(r(4) % 4) as usize],
            product,
            format!("c{}.x", r(5) % 7),
            if r(6) % 5 == 0 { String::new() } else { format!("b{}", r(6) % 9) },
            (r(7) % 100) as f64,
            (r(8) % 30) as i64,
            session,
        );
        // Now and then an event of several units, so some frames hold quantities and some not.
        if seed % 37 == 36 {
            b.set_last_quantity((r(9) % 4 + 2) as u32);
        }
    }

    /// Reference: the frame rebuilt with every event (`from_frame`, the new events pushed,
    /// `finish`), as live mode did before appends.
    fn rebuilt(frame: &EventFrame, added: &[u64], sessions: u64) -> EventFrame {
        let mut b = EventFrameBuilder::from_frame(frame);
        for &seed in added {
            event(&mut b, seed, sessions);
        }
        b.finish()
    }

    fn builder(seeds: impl Iterator<Item = u64>, sessions: u64) -> EventFrameBuilder {
        let mut b = EventFrameBuilder::new();
        for seed in seeds {
            event(&mut b, seed, sessions);
        }
        b
    }

    #[test]
    fn an_append_equals_the_rebuilt_frame() {
        for (old, added, sessions) in [(200u64, 40u64, 25u64), (50, 300, 60), (0, 20, 5), (100, 0, 10), (300, 5, 400), (30, 40, 25)] {
            let frame = builder(0..old, sessions).finish();
            // Seed 36 carries a quantity: (30, 40) appends the first quantities to a frame of units.
            assert_eq!(frame.quantity.all_one(), old <= 36);
            if old % 100 == 0 {
                // Found before the append: carried across it rather than found again.
                frame.time_span();
                frame.last_purchases();
            }
            let seeds: Vec<u64> = (1000..1000 + added).collect();
            let want = rebuilt(&frame, &seeds, sessions);
            let (got, appended) = frame.appended(builder(seeds.iter().copied(), sessions), None);
            assert_same(&got, &want);
            assert_eq!(appended.rows, added as usize);
            assert_eq!(appended.touched.is_empty(), old == 0 || added == 0, "old sessions gain events");
            assert_eq!(appended.new_sessions, frame.session_count()..want.session_count());
            for &s in &appended.touched {
                assert!(want.session_rows(s as usize).len() > frame.session_rows(s as usize).len(), "session {s} gained events");
            }
            // Into a spare made from the frame, and then into the frame before (live mode's
            // alternation): the same frames.
            let (via_spare, _) = frame.appended(builder(seeds.iter().copied(), sessions), Some(frame.spare()));
            assert_same(&via_spare, &want);
            let more: Vec<u64> = (5000..5000 + added / 2 + 3).collect();
            let want_next = rebuilt(&want, &more, sessions);
            let (next, _) = via_spare.appended(builder(more.iter().copied(), sessions), Some(frame.spare()));
            assert_same(&next, &want_next);
            let spare = frame.spare();
            let (first, _) = frame.appended(builder(seeds.iter().copied(), sessions), Some(spare));
            let (second, _) = first.appended(builder(more.iter().copied(), sessions), Some(frame));
            assert_same(&second, &want_next);
        }
    }

    #[test]
    fn a_spare_of_another_lineage_is_not_written_into_as_if_it_were_kin() {
        let frame = builder(0..100, 12).finish();
        let stranger = builder(500..700, 12).finish();
        let seeds: Vec<u64> = (1000..1030).collect();
        let (got, _) = frame.appended(builder(seeds.iter().copied(), 12), Some(stranger));
        assert_same(&got, &rebuilt(&frame, &seeds, 12));
        // A sibling (another append to the same frame) is kin: its own new values are cut off.
        let (sibling, _) = frame.appended(builder(2000..2040, 30), None);
        let (got, _) = frame.appended(builder(seeds.iter().copied(), 12), Some(sibling));
        assert_same(&got, &rebuilt(&frame, &seeds, 12));
    }

    #[test]
    fn new_values_of_known_products_get_codes_as_in_a_rebuild() {
        let mut b = EventFrameBuilder::new();
        b.push(10, EventKind::View, 1, "a.b", "x", 5.0, 1, "s1");
        b.push(20, EventKind::View, 2, "", "", 5.0, 2, "s2");
        let frame = b.finish();
        let mut added = EventFrameBuilder::new();
        // A known product with a new category, a new product with a known brand, a known
        // session at an earlier time than its events, and a sessionless event.
        added.push(30, EventKind::Cart, 1, "z.z", "x", 6.0, 1, "s3");
        added.push(5, EventKind::Cart, 3, "a.b", "y", 7.0, 3, "s1");
        added.push(20, EventKind::Purchase, 2, "", "", 5.0, 2, "s2");
        added.push(1, EventKind::View, 2, "", "", 5.0, 2, "");
        let mut reference = EventFrameBuilder::from_frame(&frame);
        reference.push(30, EventKind::Cart, 1, "z.z", "x", 6.0, 1, "s3");
        reference.push(5, EventKind::Cart, 3, "a.b", "y", 7.0, 3, "s1");
        reference.push(20, EventKind::Purchase, 2, "", "", 5.0, 2, "s2");
        reference.push(1, EventKind::View, 2, "", "", 5.0, 2, "");
        let (got, appended) = frame.appended(added, None);
        assert_same(&got, &reference.finish());
        assert_eq!((appended.touched, appended.new_sessions), (vec![0, 1], 2..3));
        assert_eq!(got.sessionless_events(), 1);
    }
}

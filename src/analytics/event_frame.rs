//! The in-memory columnar copy of `events` that the Funnel panel runs on.
//!
//! Rows are ordered by session, then time, so every session's events are one contiguous run
//! (`session_rows`): funnels, carts and abandonment are single passes over those runs. Text that
//! repeats (sessions, categories, brands) is dictionary-encoded as `u32` codes. Category and brand
//! are kept per event, as exported (real exports do not always repeat a product's brand on every
//! event). About 33 bytes per event plus the dictionaries: 20M events fit in about 1 GB.

use std::collections::HashMap;
use std::path::Path;

mod append;
pub use append::Appended;

use super::dictionary::{Dictionary, Texts};
use crate::jobs::{Cancelled, JobContext};
use crate::timestamp::{SlashOrder, Timestamp};

/// The event types the REES46 layout uses; anything else is kept as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum EventKind {
    View = 0,
    Cart = 1,
    RemoveFromCart = 2,
    Purchase = 3,
    Other = 4,
}

impl EventKind {
    pub const FUNNEL_STEPS: [EventKind; 4] = [EventKind::View, EventKind::Cart, EventKind::RemoveFromCart, EventKind::Purchase];

    pub fn parse(text: &[u8]) -> Self {
        match text {
            b"view" => EventKind::View,
            b"cart" => EventKind::Cart,
            b"remove_from_cart" => EventKind::RemoveFromCart,
            b"purchase" => EventKind::Purchase,
            _ => EventKind::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EventKind::View => "view",
            EventKind::Cart => "cart",
            EventKind::RemoveFromCart => "remove_from_cart",
            EventKind::Purchase => "purchase",
            EventKind::Other => "other",
        }
    }

    fn from_code(code: u8) -> Self {
        match code {
            0 => EventKind::View,
            1 => EventKind::Cart,
            2 => EventKind::RemoveFromCart,
            3 => EventKind::Purchase,
            _ => EventKind::Other,
        }
    }
}

/// What is known about a product: its id and the first category and brand seen with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: i64,
    /// Code into `EventFrame::categories` (0 = none).
    pub category: u32,
    /// Code into `EventFrame::brands` (0 = none).
    pub brand: u32,
}

pub struct EventFrame {
    /// Seconds since 1970-01-01 UTC.
    pub time: Vec<i64>,
    kind: Vec<u8>,
    pub product: Vec<u32>,
    /// Codes into `categories` and `brands` (0 = none).
    pub category: Vec<u32>,
    pub brand: Vec<u32>,
    pub user: Vec<u32>,
    pub price: Vec<f32>,
    /// Units per event, where the export says (an optional column; see [`Quantities`]).
    pub quantity: Quantities,
    /// Rows of session `s` are `session_start[s]..session_start[s + 1]`. Rows from the last
    /// entry on are events without a session (REES46 has some): they count for users and
    /// products, never as a session.
    session_start: Vec<u32>,
    pub sessions: Texts,
    pub users: Vec<i64>,
    pub products: Vec<Product>,
    /// Full `category_code`s; index 0 is the empty code.
    pub categories: Vec<String>,
    /// Index 0 is the empty brand.
    pub brands: Vec<String>,
    /// The highest `events` rowid read, when this copy came from the workspace: live mode reads
    /// only newer rows (`extended`).
    pub workspace_rowid: Option<i64>,
    /// Rows grouped by user in time order, built on first use (user-level funnels).
    user_runs: std::sync::OnceLock<Runs>,
    /// Top-level category of each category code, and the top-level names.
    tops: std::sync::OnceLock<(Vec<u32>, Vec<String>)>,
    /// First and last event time, and each user's last purchase (`i64::MIN`: none): found on
    /// first use, and carried across live appends rather than found again.
    span: std::sync::OnceLock<Option<(i64, i64)>>,
    last_purchases: std::sync::OnceLock<Vec<i64>>,
    /// This frame's identity, and the frame its first sessions are the same as: what lets live
    /// mode append into an older frame's memory ([`append`]).
    id: u64,
    kin: Option<append::Kin>,
}

/// Rows grouped by a key: rows of key k are `order[starts[k]..starts[k + 1]]`, in time order.
pub struct Runs {
    pub starts: Vec<u32>,
    pub order: Vec<u32>,
}

impl Runs {
    pub fn rows(&self, key: usize) -> &[u32] {
        &self.order[self.starts[key] as usize..self.starts[key + 1] as usize]
    }
}

/// Groups rows by a dense key with a counting sort, then orders each group by time (stable).
fn group_rows(keys: &[u32], key_count: usize, time: &[i64]) -> Runs {
    let mut starts = vec![0u32; key_count + 1];
    for &k in keys {
        starts[k as usize + 1] += 1;
    }
    for k in 0..key_count {
        starts[k + 1] += starts[k];
    }
    let mut next = starts.clone();
    let mut order = vec![0u32; keys.len()];
    for (row, &k) in keys.iter().enumerate() {
        order[next[k as usize] as usize] = row as u32;
        next[k as usize] += 1;
    }
    for k in 0..key_count {
        order[starts[k] as usize..starts[k + 1] as usize].sort_by_key(|&row| time[row as usize]);
    }
    Runs { starts, order }
}

#[derive(Debug, thiserror::Error)]
pub enum EventFrameError {
    #[error("reading {path}: {message}")]
    File { path: String, message: String },
    #[error("cancelled")]
    Cancelled(#[from] Cancelled),
}

/// Seconds since the epoch of an event time, read by the one timestamp parser the importer
/// uses ([`crate::timestamp`]), so the file read straight into memory and the workspace agree.
pub fn parse_timestamp(text: &[u8]) -> Option<i64> {
    Timestamp::parse(std::str::from_utf8(text).ok()?, SlashOrder::MonthFirst).map(|t| t.epoch_seconds())
}

/// Where the REES46 columns are in a row (a file's, or an import batch's); a missing category
/// or brand is `usize::MAX`.
pub struct EventColumns {
    pub time: usize,
    pub kind: usize,
    pub product: usize,
    pub category: usize,
    pub brand: usize,
    pub price: usize,
    pub user: usize,
    pub session: usize,
    /// The optional quantity column.
    pub quantity: Option<usize>,
}

/// The offset just after the first newline at or after `offset`.
fn next_line_start(path: &Path, offset: u64) -> std::io::Result<u64> {
    use std::io::{BufRead, Seek};
    let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
    file.seek(std::io::SeekFrom::Start(offset))?;
    let mut skipped = Vec::new();
    let n = file.read_until(b'\n', &mut skipped)?;
    Ok(offset + n as u64)
}

/// Parses bytes `start..end` of a REES46 CSV (whole lines, no header) into a builder.
fn read_part(
    path: &Path,
    start: u64,
    end: u64,
    columns: &EventColumns,
    ctx: &JobContext,
    done: &std::sync::atomic::AtomicU64,
) -> Result<EventFrameBuilder, EventFrameError> {
    use std::io::{Read, Seek};
    use std::sync::atomic::Ordering;
    let file_error = |message: String| EventFrameError::File { path: path.display().to_string(), message };
    let mut file = std::fs::File::open(path).map_err(|e| file_error(e.to_string()))?;
    file.seek(std::io::SeekFrom::Start(start)).map_err(|e| file_error(e.to_string()))?;
    let mut reader =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).buffer_capacity(1 << 20).from_reader(file.take(end - start));
    let mut builder = EventFrameBuilder::new();
    // REES46 lines are ~130 bytes: reserving up front saves regrowing (and re-zeroing) the columns.
    builder.reserve(((end - start) / 120) as usize);
    let mut record = csv::ByteRecord::new();
    fn text(record: &csv::ByteRecord, i: usize) -> &str {
        record.get(i).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("")
    }
    let int = |record: &csv::ByteRecord, i: usize| -> Option<i64> { text(record, i).trim().parse().ok() };
    let (mut n, mut reported) = (0u64, 0u64);
    while reader.read_byte_record(&mut record).map_err(|e| file_error(e.to_string()))? {
        n += 1;
        if n.is_multiple_of(65_536) {
            ctx.check()?;
            let position = record.position().map_or(0, |p| p.byte());
            done.fetch_add(position - reported, Ordering::Relaxed);
            reported = position;
            ctx.set_done(done.load(Ordering::Relaxed));
        }
        let (Some(time), Some(product), Some(user)) =
            (record.get(columns.time).and_then(parse_timestamp), int(&record, columns.product), int(&record, columns.user))
        else {
            continue;
        };
        // A quantity that is there must be a number of units, as the import requires.
        let quantity = match columns.quantity.map(|i| text(&record, i).trim()).filter(|q| !q.is_empty()) {
            None => 1,
            Some(q) => match parse_quantity(q) {
                Some(q) => q,
                None => continue,
            },
        };
        let session = record.get(columns.session).unwrap_or_default();
        builder.push(
            time,
            EventKind::parse(record.get(columns.kind).unwrap_or_default()),
            product,
            record.get(columns.category).unwrap_or_default(),
            record.get(columns.brand).unwrap_or_default(),
            text(&record, columns.price).trim().parse().unwrap_or(0.0),
            user,
            session,
        );
        builder.set_last_quantity(quantity);
    }
    Ok(builder)
}

/// First and last of `times`.
fn span_of(times: &[i64]) -> Option<(i64, i64)> {
    let first = *times.first()?;
    Some(times.iter().fold((first, first), |(min, max), &t| (min.min(t), max.max(t))))
}

/// Raises each user's last purchase time (`last`, by user code) to the purchases among these
/// rows (kind, user code and time columns).
fn note_purchases(last: &mut [i64], kind: &[u8], user: &[u32], time: &[i64]) {
    for row in memchr::memchr_iter(EventKind::Purchase as u8, kind) {
        let last = &mut last[user[row] as usize];
        *last = (*last).max(time[row]);
    }
}

/// The session code of an event without a session.
const NO_SESSION: u32 = u32::MAX;

/// An event's quantity as exported: a whole number of units from 1 to 4,294,967,295 ("12" or
/// "12.0"). The one rule for the import (which rejects anything else with its reason) and for
/// the events file read straight into memory (which skips the row, as the import would).
pub fn parse_quantity(text: &str) -> Option<u32> {
    let text = text.trim_ascii();
    let whole = match text.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() && fraction.bytes().all(|b| b == b'0') => whole,
        Some(_) => return None,
        None => text,
    };
    whole.parse::<u64>().ok().and_then(|n| u32::try_from(n).ok()).filter(|&n| n > 0)
}

/// How many units each event is about: a wholesale cart of 48 is one `cart` event of 48 units.
/// The quantity column is optional (REES46 has none: every event is one unit), so the column
/// is held only once some event says other than 1. Either empty or one entry per row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quantities(Vec<u32>);

impl Quantities {
    /// Units of event `row` (1 when the export gave none).
    pub fn get(&self, row: usize) -> u32 {
        self.0.get(row).copied().unwrap_or(1)
    }

    /// Whether every event is one unit (no column held).
    pub fn all_one(&self) -> bool {
        self.0.is_empty()
    }

    /// One entry per row, or empty when every event is one unit: what the copy cache stores.
    pub fn as_slice(&self) -> &[u32] {
        &self.0
    }

    /// Quantities read back from the cache, checked against the row count by
    /// [`EventFrame::from_parts`].
    pub fn from_vec(values: Vec<u32>) -> Self {
        Quantities(values)
    }

    /// Adds `other`'s `other_rows` rows after this one's `rows`.
    fn extend(&mut self, rows: usize, other: Quantities, other_rows: usize) {
        if self.0.is_empty() && other.0.is_empty() {
            return;
        }
        self.0.resize(rows, 1);
        match other.0.is_empty() {
            true => self.0.resize(rows + other_rows, 1),
            false => self.0.extend(other.0),
        }
    }

    fn into_vec(self) -> Vec<u32> {
        self.0
    }

    /// Every row's quantity, `rows` long (a column of ones when none is held).
    fn dense(&self, rows: usize) -> std::borrow::Cow<'_, [u32]> {
        match self.0.is_empty() {
            true => std::borrow::Cow::Owned(vec![1; rows]),
            false => std::borrow::Cow::Borrowed(&self.0),
        }
    }

    fn heap_bytes(&self) -> usize {
        self.0.capacity() * 4
    }
}

/// Collects events in any order and builds the session-ordered frame.
#[derive(Default)]
pub struct EventFrameBuilder {
    time: Vec<i64>,
    kind: Vec<u8>,
    product: Vec<u32>,
    category: Vec<u32>,
    brand: Vec<u32>,
    user: Vec<u32>,
    price: Vec<f32>,
    quantity: Quantities,
    session: Vec<u32>,
    /// The previous row's session and user codes: exports write a session's events together,
    /// and comparing with the last one skips a lookup in a map of millions (a cache miss).
    last_session: Option<u32>,
    last_user: Option<(i64, u32)>,
    /// Sessions are usually lowercase UUIDs: keyed by their 128-bit value, which hashes far
    /// faster than the text; other session ids are keyed by text.
    uuid_sessions: HashMap<u128, u32, FastHash>,
    sessions: Dictionary,
    user_codes: HashMap<i64, u32, FastHash>,
    users: Vec<i64>,
    product_codes: HashMap<i64, u32, FastHash>,
    products: Vec<Product>,
    categories: Dictionary,
    brands: Dictionary,
}

/// A fast, fixed-seed hasher for the integer keys of the dictionaries (ids from our own files,
/// not attacker-chosen keys).
type FastHash = foldhash::fast::FixedState;

/// A lowercase UUID (`8-4-4-4-12` hex digits) as a number.
fn parse_uuid(bytes: &[u8]) -> Option<u128> {
    if bytes.len() != 36 || bytes[8] != b'-' || bytes[13] != b'-' || bytes[18] != b'-' || bytes[23] != b'-' {
        return None;
    }
    let mut value = 0u128;
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        value = value << 4 | u128::from(digit);
    }
    Some(value)
}

impl EventFrameBuilder {
    pub fn new() -> Self {
        let mut b = Self::default();
        // Code 0 is "none" for categories and brands.
        b.categories.code(b"");
        b.brands.code(b"");
        b
    }

    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        time: i64,
        kind: EventKind,
        product_id: i64,
        category: impl AsRef<[u8]>,
        brand: impl AsRef<[u8]>,
        price: f64,
        user_id: i64,
        session: impl AsRef<[u8]>,
    ) {
        let (category, brand) = (category.as_ref().trim_ascii(), brand.as_ref().trim_ascii());
        self.time.push(time);
        self.kind.push(kind as u8);
        let product = match self.product_codes.get(&product_id) {
            Some(&c) => c,
            None => {
                let category = self.categories.code(category);
                let brand = self.brands.code(brand);
                let c = self.products.len() as u32;
                self.products.push(Product { id: product_id, category, brand });
                self.product_codes.insert(product_id, c);
                c
            }
        };
        // A product's events nearly always repeat its first category and brand: compare with
        // those before hashing.
        let known = &self.products[product as usize];
        let (known_category, known_brand) = (known.category, known.brand);
        let category = self.categories.code_or_likely(Some(known_category), category);
        let brand = self.brands.code_or_likely(Some(known_brand), brand);
        self.category.push(category);
        self.brand.push(brand);
        self.product.push(product);
        let user = match self.last_user {
            Some((id, code)) if id == user_id => code,
            _ => {
                let code = *self.user_codes.entry(user_id).or_insert_with(|| {
                    self.users.push(user_id);
                    (self.users.len() - 1) as u32
                });
                self.last_user = Some((user_id, code));
                code
            }
        };
        self.user.push(user);
        self.price.push(price as f32);
        if !self.quantity.all_one() {
            self.quantity.0.push(1);
        }
        let session = self.session_code(session.as_ref());
        self.session.push(session);
    }

    /// Sets the units of the event pushed last (1 until said): an export's optional quantity.
    pub fn set_last_quantity(&mut self, quantity: u32) {
        let Some(row) = self.time.len().checked_sub(1) else { return };
        if self.quantity.all_one() && quantity == 1 {
            return;
        }
        // Held from now on: every earlier row was one unit.
        self.quantity.0.resize(row + 1, 1);
        self.quantity.0[row] = quantity;
    }

    /// A builder holding every event of `frame`, ready for more: the full rebuild that live
    /// mode's append is tested against ([`EventFrame::appended`] replaced it).
    #[cfg(test)]
    pub(crate) fn from_frame(frame: &EventFrame) -> Self {
        let mut b = Self::new();
        let n = frame.len();
        b.reserve(n);
        b.time.extend_from_slice(&frame.time);
        b.kind.extend_from_slice(&frame.kind);
        b.product.extend_from_slice(&frame.product);
        b.category.extend_from_slice(&frame.category);
        b.brand.extend_from_slice(&frame.brand);
        b.user.extend_from_slice(&frame.user);
        b.price.extend_from_slice(&frame.price);
        b.quantity = frame.quantity.clone();
        for s in 0..frame.session_count() {
            b.session.extend(std::iter::repeat_n(s as u32, frame.session_rows(s).len()));
        }
        b.session.extend(std::iter::repeat_n(NO_SESSION, frame.sessionless_events()));
        // Dictionaries: same codes, maps rebuilt.
        for session in frame.sessions.iter() {
            b.session_code(session.as_bytes());
        }
        b.last_session = None;
        for (code, &id) in frame.users.iter().enumerate() {
            b.user_codes.insert(id, code as u32);
        }
        b.users = frame.users.clone();
        for (code, p) in frame.products.iter().enumerate() {
            b.product_codes.insert(p.id, code as u32);
        }
        b.products = frame.products.clone();
        for c in frame.categories.iter().skip(1) {
            b.categories.code(c);
        }
        for c in frame.brands.iter().skip(1) {
            b.brands.code(c);
        }
        b
    }

    /// Room for `rows` more events.
    pub fn reserve(&mut self, rows: usize) {
        self.time.reserve(rows);
        self.kind.reserve(rows);
        self.product.reserve(rows);
        self.category.reserve(rows);
        self.brand.reserve(rows);
        self.user.reserve(rows);
        self.price.reserve(rows);
        self.session.reserve(rows);
    }

    fn session_code(&mut self, session: &[u8]) -> u32 {
        if session.trim_ascii().is_empty() {
            return NO_SESSION;
        }
        if let Some(last) = self.last_session.filter(|&c| self.sessions.get(c).as_bytes() == session) {
            return last;
        }
        let code = match parse_uuid(session) {
            Some(key) => *self.uuid_sessions.entry(key).or_insert_with(|| self.sessions.push_value(session)),
            None => self.sessions.code(session),
        };
        self.last_session = Some(code);
        code
    }

    pub fn len(&self) -> usize {
        self.time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// Appends another builder's rows, translating its dictionary codes into this one's.
    pub fn absorb(&mut self, other: EventFrameBuilder) {
        let categories: Vec<u32> = other.categories.into_values().iter().map(|c| self.categories.code(c)).collect();
        let brands: Vec<u32> = other.brands.into_values().iter().map(|b| self.brands.code(b)).collect();
        let sessions: Vec<u32> = other.sessions.into_values().iter().map(|s| self.session_code(s.as_bytes())).collect();
        let users: Vec<u32> = other
            .users
            .iter()
            .map(|&u| {
                *self.user_codes.entry(u).or_insert_with(|| {
                    self.users.push(u);
                    (self.users.len() - 1) as u32
                })
            })
            .collect();
        let products: Vec<u32> = other
            .products
            .iter()
            .map(|p| match self.product_codes.get(&p.id) {
                Some(&c) => c,
                None => {
                    let c = self.products.len() as u32;
                    self.products.push(Product { id: p.id, category: categories[p.category as usize], brand: brands[p.brand as usize] });
                    self.product_codes.insert(p.id, c);
                    c
                }
            })
            .collect();
        self.quantity.extend(self.time.len(), other.quantity, other.time.len());
        self.time.extend(other.time);
        self.kind.extend(other.kind);
        self.price.extend(other.price);
        self.product.extend(other.product.iter().map(|&c| products[c as usize]));
        self.category.extend(other.category.iter().map(|&c| categories[c as usize]));
        self.brand.extend(other.brand.iter().map(|&c| brands[c as usize]));
        self.user.extend(other.user.iter().map(|&c| users[c as usize]));
        self.session.extend(other.session.iter().map(|&c| if c == NO_SESSION { NO_SESSION } else { sessions[c as usize] }));
    }

    /// Orders rows by session, then time: a counting sort on the dense session codes (linear)
    /// and a stable sort of each (short) session by time, so events in the same second keep
    /// their file order (view before cart).
    pub fn finish(mut self) -> EventFrame {
        // The lookup maps are done with: freed before the columns are reordered, the import's
        // peak of memory (at 20M events they hold about 150 MB).
        (self.uuid_sessions, self.user_codes, self.product_codes) = Default::default();
        // Events without a session are grouped after every real session, then cut off.
        let real_sessions = self.sessions.len();
        for code in self.session.iter_mut().filter(|c| **c == NO_SESSION) {
            *code = real_sessions as u32;
        }
        let Runs { starts: mut session_start, order } = group_rows(&self.session, real_sessions + 1, &self.time);
        session_start.pop();
        fn permute<T: Copy>(values: Vec<T>, order: &[u32]) -> Vec<T> {
            order.iter().map(|&i| values[i as usize]).collect()
        }
        EventFrame {
            time: permute(self.time, &order),
            kind: permute(self.kind, &order),
            product: permute(self.product, &order),
            category: permute(self.category, &order),
            brand: permute(self.brand, &order),
            user: permute(self.user, &order),
            price: permute(self.price, &order),
            quantity: match self.quantity.all_one() {
                true => Quantities::default(),
                false => Quantities(permute(self.quantity.0, &order)),
            },
            session_start,
            sessions: self.sessions.into_values().into_iter().collect(),
            users: self.users,
            products: self.products,
            categories: self.categories.into_values(),
            brands: self.brands.into_values(),
            workspace_rowid: None,
            user_runs: Default::default(),
            tops: Default::default(),
            span: Default::default(),
            last_purchases: Default::default(),
            id: append::next_id(),
            kin: None,
        }
    }
}

/// An [`EventFrame`]'s columns and dictionaries as plain vectors: what the workspace's copy
/// cache stores and reads back ([`EventFrame::from_parts`] checks they fit together).
pub struct EventParts {
    pub time: Vec<i64>,
    pub kind: Vec<u8>,
    pub product: Vec<u32>,
    pub category: Vec<u32>,
    pub brand: Vec<u32>,
    pub user: Vec<u32>,
    pub price: Vec<f32>,
    /// Empty when every event is one unit.
    pub quantity: Vec<u32>,
    pub session_start: Vec<u32>,
    pub sessions: Texts,
    pub users: Vec<i64>,
    pub products: Vec<Product>,
    pub categories: Vec<String>,
    pub brands: Vec<String>,
    pub workspace_rowid: Option<i64>,
}

/// Parts that do not make a frame: a column of another length, a code past its dictionary,
/// sessions out of order. A damaged cache file is refused here rather than read as wrong data.
#[derive(Debug, thiserror::Error)]
#[error("the events' columns do not fit together: {0}")]
pub struct InconsistentParts(pub &'static str);

impl EventFrame {
    pub fn empty() -> Self {
        EventFrameBuilder::new().finish()
    }

    pub fn len(&self) -> usize {
        self.time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    pub fn kind(&self, row: usize) -> EventKind {
        EventKind::from_code(self.kind[row])
    }

    pub fn session_count(&self) -> usize {
        self.session_start.len().saturating_sub(1)
    }

    /// Row range of session `s`.
    pub fn session_rows(&self, s: usize) -> std::ops::Range<usize> {
        self.session_start[s] as usize..self.session_start[s + 1] as usize
    }

    /// The session a row belongs to (binary search; for occasional lookups); `None` for an
    /// event without a session.
    pub fn session_of_row(&self, row: usize) -> Option<usize> {
        let s = self.session_start.partition_point(|&start| start as usize <= row) - 1;
        (s < self.session_count()).then_some(s)
    }

    /// Events recorded without a session: session-based funnels and carts leave them out and
    /// say how many.
    pub fn sessionless_events(&self) -> usize {
        self.len() - self.sessionless_start()
    }

    /// Events without a session whose time is in `from..to`.
    pub fn sessionless_events_between(&self, from: i64, to: i64) -> u64 {
        self.time[self.sessionless_start()..].iter().filter(|t| (from..to).contains(t)).count() as u64
    }

    fn sessionless_start(&self) -> usize {
        self.session_start.last().map_or(0, |&start| start as usize)
    }

    /// First and last event time.
    pub fn time_span(&self) -> Option<(i64, i64)> {
        *self.span.get_or_init(|| span_of(&self.time))
    }

    /// Each user's last purchase time, by user code (`i64::MIN`: none).
    pub fn last_purchases(&self) -> &[i64] {
        self.last_purchases.get_or_init(|| {
            let mut last = vec![i64::MIN; self.users.len()];
            note_purchases(&mut last, &self.kind, &self.user, &self.time);
            last
        })
    }

    /// (top-level code of each category code, top-level names); code 0 is "no category".
    pub fn top_categories(&self) -> &(Vec<u32>, Vec<String>) {
        self.tops.get_or_init(|| {
            let mut names: Vec<String> = vec![String::new()];
            let codes = self
                .categories
                .iter()
                .map(|c| {
                    let top = c.split('.').next().unwrap_or("");
                    match names.iter().position(|n| n == top) {
                        Some(i) => i as u32,
                        None => {
                            names.push(top.to_string());
                            (names.len() - 1) as u32
                        }
                    }
                })
                .collect();
            (codes, names)
        })
    }

    /// Rows grouped by user, each user's rows in time order (built once, on first use).
    pub fn user_runs(&self) -> &Runs {
        self.user_runs.get_or_init(|| group_rows(&self.user, self.users.len(), &self.time))
    }

    /// Every row's event kind code (see [`EventKind`]).
    pub fn kind_codes(&self) -> &[u8] {
        &self.kind
    }

    /// Where each session's rows start, then where the events without a session start.
    pub fn session_starts(&self) -> &[u32] {
        &self.session_start
    }

    /// A frame from its parts, checked: every column as long as `time`, every code inside its
    /// dictionary, sessions' rows contiguous and in order.
    pub fn from_parts(parts: EventParts) -> Result<Self, InconsistentParts> {
        let n = parts.time.len();
        let lengths = [parts.kind.len(), parts.product.len(), parts.category.len(), parts.brand.len(), parts.user.len(), parts.price.len()];
        if lengths.iter().any(|&l| l != n) {
            return Err(InconsistentParts("columns of different lengths"));
        }
        if !parts.quantity.is_empty() && parts.quantity.len() != n {
            return Err(InconsistentParts("a quantity column of another length"));
        }
        let starts = &parts.session_start;
        if starts.first().is_some_and(|&s| s != 0)
            || starts.windows(2).any(|w| w[0] > w[1])
            || starts.last().is_some_and(|&s| s as usize > n)
            || starts.len() != parts.sessions.len() + 1
        {
            return Err(InconsistentParts("session rows out of order"));
        }
        let fits = |codes: &[u32], len: usize| codes.iter().copied().max().is_none_or(|m| (m as usize) < len);
        if !fits(&parts.product, parts.products.len())
            || !fits(&parts.category, parts.categories.len())
            || !fits(&parts.brand, parts.brands.len())
            || !fits(&parts.user, parts.users.len())
            || parts.products.iter().any(|p| p.category as usize >= parts.categories.len() || p.brand as usize >= parts.brands.len())
            || parts.categories.first().is_none_or(|c| !c.is_empty())
            || parts.brands.first().is_none_or(|b| !b.is_empty())
        {
            return Err(InconsistentParts("a code outside its dictionary"));
        }
        Ok(EventFrame {
            time: parts.time,
            kind: parts.kind,
            product: parts.product,
            category: parts.category,
            brand: parts.brand,
            user: parts.user,
            price: parts.price,
            quantity: Quantities(parts.quantity),
            session_start: parts.session_start,
            sessions: parts.sessions,
            users: parts.users,
            products: parts.products,
            categories: parts.categories,
            brands: parts.brands,
            workspace_rowid: parts.workspace_rowid,
            user_runs: Default::default(),
            tops: Default::default(),
            span: Default::default(),
            last_purchases: Default::default(),
            id: append::next_id(),
            kin: None,
        })
    }

    pub fn kind_code(&self, row: usize) -> u8 {
        self.kind[row]
    }

    /// Reads a REES46-layout CSV file straight into memory, without the workspace: the app shows
    /// the funnel from this while the import writes the same file into SQLite. Rows the import
    /// would reject (bad time, missing ids) are skipped here too. The file is split at line
    /// boundaries into one part per core; each part fills its own builder and the builders are
    /// merged (sessions that straddle a split meet again by their id).
    pub fn from_rees46_csv(path: &Path, ctx: &JobContext) -> Result<Self, EventFrameError> {
        let file_error = |message: String| EventFrameError::File { path: path.display().to_string(), message };
        let mut file = std::fs::File::open(path).map_err(|e| file_error(e.to_string()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        ctx.set_total(size);
        ctx.set_message("reading events into memory");
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(&mut file);
        let headers = reader.byte_headers().map_err(|e| file_error(e.to_string()))?.clone();
        let body_start = reader.position().byte();
        drop(reader);
        let index = |name: &str| {
            headers.iter().position(|h| h.eq_ignore_ascii_case(name.as_bytes())).ok_or_else(|| file_error(format!("no column '{name}'")))
        };
        let columns = EventColumns {
            time: index("event_time")?,
            kind: index("event_type")?,
            product: index("product_id")?,
            category: index("category_code").unwrap_or(usize::MAX),
            brand: index("brand").unwrap_or(usize::MAX),
            price: index("price")?,
            user: index("user_id")?,
            session: index("user_session")?,
            quantity: index("quantity").ok(),
        };
        // Part boundaries: evenly spaced, each moved forward to just after a newline. (A quoted
        // field with an embedded newline at a boundary would split a row; REES46 exports have
        // no quoted newlines.)
        let parts = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4) as u64;
        let mut bounds = vec![body_start];
        for k in 1..parts {
            let target = body_start + (size - body_start) * k / parts;
            bounds.push(next_line_start(path, target).map_err(|e| file_error(e.to_string()))?.max(*bounds.last().unwrap_or(&0)));
        }
        bounds.push(size);
        let done = std::sync::atomic::AtomicU64::new(0);
        let builders = crate::jobs::parallel_ranges(bounds.len() - 1, |range| -> Result<Vec<EventFrameBuilder>, EventFrameError> {
            range.map(|part| read_part(path, bounds[part], bounds[part + 1], &columns, ctx, &done)).collect()
        });
        let mut merged: Option<EventFrameBuilder> = None;
        for part in builders {
            for builder in part? {
                match merged.as_mut() {
                    None => merged = Some(builder),
                    Some(m) => {
                        m.reserve(builder.len());
                        m.absorb(builder)
                    }
                }
            }
        }
        ctx.set_message("ordering events by session");
        // `new`, not `default`: `new` reserves code 0 for "no category" and "no brand".
        let builder = match merged {
            Some(builder) => builder,
            None => EventFrameBuilder::new(),
        };
        Ok(builder.finish())
    }

    /// Approximate bytes held (for the memory benchmark and the status bar).
    pub fn heap_bytes(&self) -> usize {
        let strings = |v: &[String]| v.iter().map(|s| s.capacity() + 24).sum::<usize>();
        self.time.capacity() * 8
            + self.kind.capacity()
            + (self.product.capacity()
                + self.category.capacity()
                + self.brand.capacity()
                + self.user.capacity()
                + self.session_start.capacity())
                * 4
            + self.price.capacity() * 4
            + self.quantity.heap_bytes()
            + self.sessions.heap_bytes()
            + self.users.capacity() * 8
            + self.products.capacity() * std::mem::size_of::<Product>()
            + strings(&self.categories)
            + strings(&self.brands)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_like_chrono() {
        for text in ["2019-10-01 00:00:00 UTC", "1970-01-01 00:00:00", "2000-02-29 23:59:59", "1969-12-31 23:59:59", "2024-12-31 12:34:56"]
        {
            let want = chrono::NaiveDateTime::parse_from_str(&text[..19], "%Y-%m-%d %H:%M:%S").unwrap().and_utc().timestamp();
            assert_eq!(parse_timestamp(text.as_bytes()), Some(want), "{text}");
        }
        assert_eq!(parse_timestamp(b"2019-13-01 00:00:00"), None);
        assert_eq!(parse_timestamp(b"2019-10-01T00:00:0x"), None);
        // The same rules as the importer: no 31 February (it used to read as 3 March here), and
        // a bare date is midnight.
        assert_eq!(parse_timestamp(b"2019-02-31 00:00:00 UTC"), None);
        assert_eq!(parse_timestamp(b"2019-10-01"), parse_timestamp(b"2019-10-01 00:00:00"));
    }

    #[test]
    fn quantities_are_whole_numbers_of_units() {
        assert_eq!(parse_quantity("12"), Some(12));
        assert_eq!(parse_quantity(" 12.00 "), Some(12));
        assert_eq!(parse_quantity("4294967295"), Some(u32::MAX));
        for bad in ["0", "2.5", "-3", "4294967296", "12.", "", "x"] {
            assert_eq!(parse_quantity(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn uuid_sessions_are_keyed_by_value_and_others_by_text() {
        assert_eq!(parse_uuid(b"00000000-0000-0000-0000-0000000000ff"), Some(255));
        assert_eq!(parse_uuid(b"72d76fde-8bb3-4e00-8c23-a032dfed738c").map(|v| v >> 96), Some(0x72d7_6fde));
        // Uppercase and other shapes stay text, so distinct texts stay distinct sessions.
        assert_eq!(parse_uuid(b"72D76FDE-8BB3-4E00-8C23-A032DFED738C"), None);
        assert_eq!(parse_uuid(b"s1"), None);
        let mut b = EventFrameBuilder::new();
        for session in
            ["72d76fde-8bb3-4e00-8c23-a032dfed738c", "72D76FDE-8BB3-4E00-8C23-A032DFED738C", "s1", "72d76fde-8bb3-4e00-8c23-a032dfed738c"]
        {
            b.push(0, EventKind::View, 1, "", "", 1.0, 1, session);
        }
        let f = b.finish();
        assert_eq!(f.session_count(), 3);
        assert_eq!(&f.sessions[0], "72d76fde-8bb3-4e00-8c23-a032dfed738c");
    }

    #[test]
    fn events_without_a_session_are_kept_but_form_no_session() {
        let mut b = EventFrameBuilder::new();
        b.push(10, EventKind::View, 7, "", "", 5.0, 1, "");
        b.push(20, EventKind::View, 7, "", "", 5.0, 1, "s1");
        b.push(30, EventKind::Cart, 8, "", "", 5.0, 2, " ");
        let mut other = EventFrameBuilder::new();
        other.push(40, EventKind::Purchase, 8, "", "", 5.0, 2, "");
        b.absorb(other);
        let f = b.finish();
        assert_eq!((f.len(), f.session_count(), f.sessionless_events()), (4, 1, 3));
        assert_eq!(f.session_rows(0).len(), 1);
        assert_eq!(f.session_of_row(0), Some(0));
        assert_eq!(f.session_of_row(3), None);
        // Rebuilt for live mode, the sessionless events stay sessionless.
        let again = EventFrameBuilder::from_frame(&f).finish();
        assert_eq!((again.len(), again.session_count(), again.sessionless_events()), (4, 1, 3));
        assert_eq!(again.user_runs().starts.len(), 3);
    }

    #[test]
    fn rows_are_grouped_by_session_in_time_order() {
        let mut b = EventFrameBuilder::new();
        b.push(30, EventKind::Purchase, 7, "a.b", "x", 5.0, 1, "s1");
        b.push(10, EventKind::View, 7, "a.b", "x", 5.0, 2, "s2");
        b.push(10, EventKind::View, 7, "a.b", "x", 5.0, 1, "s1");
        b.push(20, EventKind::Cart, 7, "a.b", "x", 5.0, 1, "s1");
        let f = b.finish();
        assert_eq!(f.session_count(), 2);
        let s1 = f.session_rows(0);
        assert_eq!(s1.len(), 3);
        let kinds: Vec<EventKind> = s1.clone().map(|r| f.kind(r)).collect();
        assert_eq!(kinds, [EventKind::View, EventKind::Cart, EventKind::Purchase]);
        assert_eq!(f.session_of_row(3), Some(1));
        let (top_of, tops) = f.top_categories();
        assert_eq!(tops[top_of[f.products[0].category as usize] as usize], "a");
    }
}

//! Counting distinct values (row hashes, customer ids, products) in bounded memory.
//!
//! The quality report counts duplicate rows and distinct customers exactly (up to 64-bit hash
//! collisions, about one in 10^19 per pair). A set of every hash would grow with the file — 9 bytes
//! a row, so a 6 GB export took a gigabyte — so memory is capped:
//!
//! - While the distinct values are few (customers, products: tens of thousands) they live in a
//!   hash set, which costs a probe per value.
//! - Past half the cap the set becomes a buffer of hashes. A full buffer is sorted,
//!   deduplicated and, if still large, written to a temporary file as a sorted run. `finish`
//!   merges the runs. Memory is the buffer whatever the file size; disk is at most 8 bytes per
//!   distinct value, freed when the counter is dropped.
//!
//! The set replaced sorting the buffer for every million values, which for 10M order lines was
//! a tenth of the parser thread's time spent on the customers' and products' counts.

use std::cmp::Reverse;
use std::collections::binary_heap::PeekMut;
use std::collections::BinaryHeap;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// Hashes held in memory before a sorted run is written out: 8 MiB.
const BUFFER_HASHES: usize = 1 << 20;

pub struct DistinctCounter {
    /// The distinct values so far, while they are at most `capacity / 2`; `None` once the
    /// counter has moved to `buffer` and `runs`.
    set: Option<std::collections::HashSet<u64, foldhash::fast::FixedState>>,
    buffer: Vec<u64>,
    capacity: usize,
    /// Sorted, deduplicated runs on disk: (file, number of hashes).
    runs: Vec<(std::fs::File, usize)>,
    total: u64,
    /// The value inserted last.
    last: Option<u64>,
    /// Set when a run could not be written (a full disk): the count becomes a lower bound.
    spill_failed: bool,
}

/// What a counter saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DistinctCount {
    pub total: u64,
    pub distinct: u64,
    /// False when runs could not be written to disk and some repeats across runs were missed:
    /// `distinct` is then an upper bound, which the report says.
    pub exact: bool,
}

impl DistinctCount {
    pub fn repeats(&self) -> u64 {
        self.total - self.distinct
    }
}

impl Default for DistinctCounter {
    fn default() -> Self {
        Self::with_capacity(BUFFER_HASHES)
    }
}

impl DistinctCounter {
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(2);
        Self { set: Some(Default::default()), buffer: Vec::new(), capacity, runs: Vec::new(), total: 0, last: None, spill_failed: false }
    }

    pub fn insert(&mut self, hash: u64) {
        self.total += 1;
        // Exports repeat a customer or an invoice on consecutive lines: one comparison then.
        if self.last == Some(hash) {
            return;
        }
        self.last = Some(hash);
        if let Some(set) = &mut self.set {
            if set.insert(hash) && set.len() > self.capacity / 2 {
                // Too many to keep as a set: from here on, sorted runs.
                self.buffer = set.drain().collect();
                self.buffer.reserve(self.capacity.saturating_sub(self.buffer.len()));
                self.set = None;
            }
            return;
        }
        self.buffer.push(hash);
        if self.buffer.len() >= self.capacity {
            self.compact();
        }
    }

    /// Sorts and deduplicates the buffer; writes it out as a run if that did not free half.
    fn compact(&mut self) {
        self.buffer.sort_unstable();
        self.buffer.dedup();
        if self.buffer.len() < self.capacity / 2 {
            return;
        }
        match write_run(&self.buffer) {
            Ok(file) => self.runs.push((file, self.buffer.len())),
            // Keep going without this run's values: the count is then an upper bound, flagged.
            Err(_) => self.spill_failed = true,
        }
        self.buffer.clear();
    }

    pub fn finish(mut self) -> DistinctCount {
        if let Some(set) = &self.set {
            return DistinctCount { total: self.total, distinct: set.len() as u64, exact: true };
        }
        self.buffer.sort_unstable();
        self.buffer.dedup();
        let mut exact = !self.spill_failed;
        let distinct = if self.runs.is_empty() {
            self.buffer.len() as u64
        } else {
            match merge_count(std::mem::take(&mut self.runs), &self.buffer) {
                Ok(n) => n,
                Err(_) => {
                    exact = false;
                    self.total
                }
            }
        };
        // Values lost with a failed run were counted in `total` but not merged: never report
        // more distinct values than were seen.
        DistinctCount { total: self.total, distinct: distinct.min(self.total), exact }
    }
}

fn write_run(sorted: &[u64]) -> std::io::Result<std::fs::File> {
    let mut file = tempfile::tempfile()?;
    {
        let mut out = BufWriter::with_capacity(1 << 16, &mut file);
        for hash in sorted {
            out.write_all(&hash.to_le_bytes())?;
        }
        out.flush()?;
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

/// Distinct values across sorted runs and the sorted in-memory rest: a k-way merge.
fn merge_count(runs: Vec<(std::fs::File, usize)>, rest: &[u64]) -> std::io::Result<u64> {
    let mut readers: Vec<(BufReader<std::fs::File>, usize)> =
        runs.into_iter().map(|(file, len)| (BufReader::with_capacity(1 << 16, file), len)).collect();
    let mut heap = BinaryHeap::new();
    for (index, (reader, left)) in readers.iter_mut().enumerate() {
        if let Some(hash) = next_hash(reader, left)? {
            heap.push(Reverse((hash, index)));
        }
    }
    let memory = readers.len();
    let mut rest = rest.iter();
    if let Some(&hash) = rest.next() {
        heap.push(Reverse((hash, memory)));
    }
    let (mut distinct, mut last) = (0u64, None);
    // The smallest head is replaced in place (one sift) rather than popped and pushed (two).
    while let Some(mut top) = heap.peek_mut() {
        let Reverse((hash, source)) = *top;
        if last != Some(hash) {
            distinct += 1;
            last = Some(hash);
        }
        let next = if source == memory {
            rest.next().copied()
        } else {
            let (reader, left) = &mut readers[source];
            next_hash(reader, left)?
        };
        match next {
            Some(hash) => *top = Reverse((hash, source)),
            None => {
                PeekMut::pop(top);
            }
        }
    }
    Ok(distinct)
}

fn next_hash(reader: &mut impl Read, left: &mut usize) -> std::io::Result<Option<u64>> {
    if *left == 0 {
        return Ok(None);
    }
    *left -= 1;
    let mut bytes = [0u8; 8];
    reader.read_exact(&mut bytes)?;
    Ok(Some(u64::from_le_bytes(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Reference: a `HashSet` of the same values. Tiny buffers force many runs on disk.
        #[test]
        fn counts_like_a_hash_set(values in prop::collection::vec(0u64..200, 0..600), capacity in 2usize..40) {
            let mut counter = DistinctCounter::with_capacity(capacity);
            for &v in &values {
                counter.insert(v);
            }
            let count = counter.finish();
            let set: std::collections::HashSet<u64> = values.iter().copied().collect();
            prop_assert_eq!(count.distinct, set.len() as u64);
            prop_assert_eq!(count.total, values.len() as u64);
            prop_assert!(count.exact);
        }
    }

    #[test]
    fn distinct_values_past_the_buffer_are_written_out_and_merged() {
        let mut counter = DistinctCounter::with_capacity(64);
        for v in 0..1000u64 {
            counter.insert(v * 7919 % 1000);
            counter.insert(v);
        }
        assert!(counter.set.is_none() && !counter.runs.is_empty(), "a buffer of 64 must have spilled");
        let count = counter.finish();
        assert_eq!((count.total, count.distinct, count.repeats()), (2000, 1000, 1000));
    }
}

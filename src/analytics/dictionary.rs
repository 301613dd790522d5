//! Dictionary encoding for the in-memory copies: each distinct text (an invoice, a customer id,
//! a brand) gets a consecutive `u32` code. Group-bys and distinct counts on integers are what
//! make the panels answer in milliseconds; the texts are kept for display.

use std::collections::HashMap;

/// Consecutive codes for distinct texts, with the texts by code.
#[derive(Debug, Default, Clone)]
pub struct Dictionary {
    // foldhash rather than SipHash: the codes are looked up once per imported line.
    codes: HashMap<Box<[u8]>, u32, foldhash::fast::RandomState>,
    values: Vec<String>,
}

impl Dictionary {
    /// The code of `text`, assigned on first sight. Text is stored as UTF-8 for display (bytes
    /// that are not UTF-8 show as U+FFFD), but told apart by its bytes.
    pub fn code(&mut self, text: impl AsRef<[u8]>) -> u32 {
        let text = text.as_ref();
        if let Some(&code) = self.codes.get(text) {
            return code;
        }
        let code = self.push_value(text);
        self.codes.insert(text.into(), code);
        code
    }

    /// [`Dictionary::code`], comparing with `likely` first (the line before's code: an
    /// invoice's lines repeat its number, customer and country): a repeat skips the hash lookup.
    pub fn code_or_likely(&mut self, likely: Option<u32>, text: impl AsRef<[u8]>) -> u32 {
        let text = text.as_ref();
        match likely {
            Some(code) if same_bytes(self.get(code).as_bytes(), text) => code,
            _ => self.code(text),
        }
    }

    /// Adds a value whose code the caller keys some other way (sessions keyed by their UUID's
    /// number): it shares the code space, but `code` will not find it by text.
    pub fn push_value(&mut self, text: &[u8]) -> u32 {
        self.values.push(String::from_utf8_lossy(text).into_owned());
        (self.values.len() - 1) as u32
    }

    /// The text of `code`.
    pub fn get(&self, code: u32) -> &str {
        &self.values[code as usize]
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The texts by code.
    pub fn into_values(self) -> Vec<String> {
        self.values
    }
}

/// `a == b` for the short texts of ids and countries, compared in place: the call into libc's
/// `memcmp` that `==` makes was a tenth of the copy's time when building it during an import.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Many short texts in one buffer, without an allocation per text: the millions of session
/// ids of an events copy. Copying or reading the column back from the cache is a couple of
/// memcpys rather than millions of small allocations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Texts {
    bytes: String,
    /// Where each text ends in `bytes`.
    ends: Vec<usize>,
}

impl Texts {
    pub fn with_capacity(texts: usize, bytes: usize) -> Self {
        Self { bytes: String::with_capacity(bytes), ends: Vec::with_capacity(texts) }
    }

    pub fn push(&mut self, text: &str) {
        self.bytes.push_str(text);
        self.ends.push(self.bytes.len());
    }

    /// Appends `other`'s texts from index `from` on (two memcpys).
    pub fn extend_from(&mut self, other: &Texts, from: usize) {
        let Some(&last) = other.ends.last() else { return };
        let start = if from == 0 { 0 } else { other.ends[from - 1] };
        let shift = self.bytes.len();
        self.bytes.push_str(&other.bytes[start..last]);
        self.ends.extend(other.ends[from..].iter().map(|&end| end - start + shift));
    }

    /// Keeps the first `texts` texts.
    pub fn truncate(&mut self, texts: usize) {
        if texts < self.len() {
            self.ends.truncate(texts);
            self.bytes.truncate(self.ends.last().copied().unwrap_or(0));
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[start..end])
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(|i| &self[i])
    }

    pub fn heap_bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }
}

impl std::ops::Index<usize> for Texts {
    type Output = str;

    fn index(&self, i: usize) -> &str {
        self.get(i).unwrap_or_else(|| panic!("text {i} of a column of {}", self.len()))
    }
}

impl<S: AsRef<str>> FromIterator<S> for Texts {
    fn from_iter<I: IntoIterator<Item = S>>(texts: I) -> Self {
        let mut column = Texts::default();
        for text in texts {
            column.push(text.as_ref());
        }
        column
    }
}

#[cfg(test)]
mod tests {
    use super::Dictionary;

    #[test]
    fn codes_are_consecutive_and_stable() {
        let mut d = Dictionary::default();
        assert_eq!([d.code("b"), d.code("a"), d.code("b"), d.code(b"c")], [0, 1, 0, 2]);
        let uuid = d.push_value(b"0000");
        assert_eq!(uuid, 3);
        assert_eq!(d.code("0000"), 4, "a value pushed without a key is not found by text");
        assert_eq!(d.get(1), "a");
        assert_eq!(d.into_values(), ["b", "a", "c", "0000", "0000"]);
    }

    #[test]
    fn texts_come_back_as_pushed() {
        let texts: super::Texts = ["", "ab", "é", "cde"].into_iter().collect();
        assert_eq!(texts.len(), 4);
        assert_eq!(texts.iter().collect::<Vec<_>>(), ["", "ab", "é", "cde"]);
        assert_eq!((&texts[2], texts.get(4)), ("é", None));
        let mut tail: super::Texts = ["x"].into_iter().collect();
        tail.extend_from(&texts, 2);
        assert_eq!(tail.iter().collect::<Vec<_>>(), ["x", "é", "cde"]);
        tail.extend_from(&texts, 4);
        assert_eq!(tail.len(), 3, "nothing past the end");
        tail.truncate(2);
        tail.extend_from(&texts, 3);
        assert_eq!(tail.iter().collect::<Vec<_>>(), ["x", "é", "cde"]);
    }
}

//! Dictionary encoding for the in-memory copies: each distinct text (an invoice, a customer id,
//! a brand) gets a consecutive `u32` code. Group-bys and distinct counts on integers are what
//! make the panels answer in milliseconds; the texts are kept for display.

use std::collections::HashMap;

/// Consecutive codes for distinct texts, with the texts by code.
#[derive(Debug, Default, Clone)]
pub struct Dictionary {
    codes: HashMap<Box<[u8]>, u32>,
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
}

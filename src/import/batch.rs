//! Typed rows in flight from the parsing thread to the SQLite writer.
//!
//! A batch stores all its text in one arena so converting a row allocates nothing per field.

/// One value ready to bind to SQLite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    /// Byte range in [`Batch::text`].
    Text {
        start: u32,
        end: u32,
    },
}

/// A row that could not be loaded, bound for the `rejects` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    pub line: u64,
    pub raw: String,
    pub reason: String,
}

/// Rows of a fixed width plus the rejects met while converting them.
#[derive(Debug)]
pub struct Batch {
    width: usize,
    values: Vec<Value>,
    text: String,
    pub rejects: Vec<Reject>,
    /// Rows read from the file while filling this batch (loaded + rejected).
    pub rows_read: u64,
}

/// Roughly how many rows a batch carries before it is sent to the writer.
pub const BATCH_ROWS: usize = 8192;
/// A batch is also sent early once its text reaches this size (huge fields).
pub const BATCH_TEXT_BYTES: usize = 32 << 20;

impl Batch {
    pub fn new(width: usize) -> Self {
        Self {
            width,
            values: Vec::with_capacity(width * BATCH_ROWS),
            text: String::with_capacity(64 * BATCH_ROWS),
            rejects: Vec::new(),
            rows_read: 0,
        }
    }

    /// Empties the batch but keeps its memory, so the parser can refill it without asking the
    /// OS for fresh pages (which showed up as a tenth of the parser's time).
    pub fn clear(&mut self) {
        self.values.clear();
        self.text.clear();
        self.rejects.clear();
        self.rows_read = 0;
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn len(&self) -> usize {
        self.values.len() / self.width
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.len() >= BATCH_ROWS || self.text.len() >= BATCH_TEXT_BYTES
    }

    pub fn row(&self, index: usize) -> &[Value] {
        &self.values[index * self.width..(index + 1) * self.width]
    }

    pub fn rows(&self) -> impl Iterator<Item = &[Value]> {
        self.values.chunks_exact(self.width)
    }

    pub fn text_of(&self, value: &Value) -> Option<&str> {
        match *value {
            Value::Text { start, end } => Some(&self.text[start as usize..end as usize]),
            _ => None,
        }
    }

    pub fn push(&mut self, value: Value) {
        self.values.push(value);
    }

    pub fn push_text(&mut self, text: &str) {
        let start = self.text.len() as u32;
        self.text.push_str(text);
        self.values.push(Value::Text { start, end: self.text.len() as u32 });
    }

    /// Text when non-empty, NULL otherwise: exports cannot tell an empty string from a missing one.
    pub fn push_text_or_null(&mut self, text: &str) {
        if text.is_empty() {
            self.push(Value::Null)
        } else {
            self.push_text(text)
        }
    }

    /// Appends one row with `fill`; if `fill` fails, whatever it pushed is undone, so a batch
    /// never holds part of a row.
    pub fn push_row<E>(&mut self, fill: impl FnOnce(&mut Self) -> Result<(), E>) -> Result<(), E> {
        let (values, text) = (self.values.len(), self.text.len());
        let result = fill(self);
        if result.is_err() {
            self.values.truncate(values);
            self.text.truncate(text);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_keep_their_text_and_rollback_undoes_a_partial_row() {
        let mut batch = Batch::new(2);
        batch.push_text("a");
        batch.push(Value::Int(1));
        let failed: Result<(), ()> = batch.push_row(|b| {
            b.push_text("half");
            Err(())
        });
        assert!(failed.is_err());
        batch
            .push_row(|b| {
                b.push_text_or_null("");
                b.push(Value::Real(2.5));
                Ok::<(), ()>(())
            })
            .unwrap();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch.text_of(&batch.row(0)[0]), Some("a"));
        assert_eq!(batch.row(1), &[Value::Null, Value::Real(2.5)]);
    }
}

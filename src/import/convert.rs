//! Converters: one row of a file's text fields → typed values in a batch, by the column types
//! of the workspace's catalogue. Every value is loaded exactly or the row is rejected with the
//! reason ([`RowError`]); nothing is reinterpreted.

use csv::StringRecord;

use super::batch::{Batch, Value};
use super::kinds::{CancellationRule, KnownKind};
use super::numbers::{NotANumber, NumberFormat};
use super::values::{self, SlashOrder};
use crate::workspace::catalogue::{normalize_header, Bounds, Target, TargetColumn, ValueKind};

/// Why a row was not loaded: a short key for grouping in the report and a detail for the row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub key: String,
    pub detail: String,
}

impl RowError {
    pub fn bad_value(column: &str, problem: &str, value: &str) -> Self {
        let shown: String = value.chars().take(60).collect();
        Self { key: format!("{column}: {problem}"), detail: format!("{column}: {problem} ('{shown}')") }
    }

    pub fn missing(column: &str) -> Self {
        Self { key: format!("{column}: missing"), detail: format!("{column}: missing required value") }
    }

    pub fn field_count(expected: usize, found: usize) -> Self {
        Self { key: "wrong number of fields".into(), detail: format!("wrong number of fields: expected {expected}, found {found}") }
    }
}

/// Turns one row of text fields into typed values appended to a batch.
pub trait Converter: Send {
    /// Names of the columns this converter produces, in order, as the table's columns.
    fn output_columns(&self) -> Vec<String>;
    fn convert(&mut self, fields: &StringRecord, batch: &mut Batch) -> Result<(), RowError>;
    /// SQL types decided from the data once every row has been seen; `None` when the target
    /// table's types are fixed by the schema.
    fn column_types(&self) -> Option<Vec<&'static str>> {
        None
    }
    /// Rows for a second table that the same file carries (a wide layout's own prices):
    /// (table, columns, rows), written in the import's transaction.
    fn extra_rows(&mut self) -> Option<(&'static str, Vec<String>, Batch)> {
        None
    }
    /// What the quality report should say about how the rows were read (once every row has
    /// been seen).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Rows must have as many fields as the header; extra fields are tolerated only when empty
/// (a trailing delimiter).
pub fn check_width(fields: &StringRecord, expected: usize) -> Result<(), RowError> {
    let found = fields.len();
    if found == expected || (found > expected && fields.iter().skip(expected).all(|f| f.trim().is_empty())) {
        Ok(())
    } else {
        Err(RowError::field_count(expected, found))
    }
}

/// Converts mapped columns into `order_lines` or `events`, plus derived columns.
pub struct MappedConverter {
    target: Target,
    sources: Vec<Option<usize>>,
    width: usize,
    slash: SlashOrder,
    /// Order lines without a quantity column: the target column written as 1 (one unit a line).
    one_unit: Option<usize>,
    /// Order lines: the currency target column, and the import's stated currency for lines
    /// that do not say (`--currency`).
    currency_column: Option<usize>,
    stated_currency: Option<String>,
    /// Order lines: what marks a cancelled line, and the file's columns it reads.
    cancellation: CancellationRule,
    invoice_source: Option<usize>,
    status_source: Option<usize>,
    /// How each target column writes numbers (used by `Real` columns), decided from the sample.
    numbers: Vec<NumberFormat>,
    import_id: i64,
    /// Per target column, the last date or customer id converted: see [`LastValue`].
    last: Vec<LastValue>,
}

/// The last value a column converted and what it became. An export repeats an order's date and
/// customer on each of its lines, so most values are the one before, and parsing them again was
/// a twentieth of the import's parser thread on 10M order lines.
#[derive(Debug, Default)]
struct LastValue {
    raw: String,
    /// What `raw` is stored as, when `present` (else NULL); its buffer is reused row to row.
    stored: String,
    present: bool,
    /// Whether `raw` and `stored` belong together (not after a failed conversion).
    valid: bool,
}

impl LastValue {
    /// What `raw` is stored as: the remembered value when `raw` is the last one, else what
    /// `convert(raw, into)` writes into the emptied buffer (returning whether there is a value
    /// at all), remembered unless it failed.
    fn get<E>(&mut self, raw: &str, convert: impl FnOnce(&str, &mut String) -> Result<bool, E>) -> Result<Option<&str>, E> {
        if !self.valid || self.raw != raw {
            self.valid = false;
            self.stored.clear();
            self.present = convert(raw, &mut self.stored)?;
            self.raw.clear();
            self.raw.push_str(raw);
            self.valid = true;
        }
        Ok(self.present.then_some(self.stored.as_str()))
    }
}

impl MappedConverter {
    /// A converter that reads numbers with a decimal point; see [`Self::with_number_formats`].
    pub fn new(target: Target, sources: Vec<Option<usize>>, width: usize, slash: SlashOrder, import_id: i64) -> Self {
        let numbers = vec![NumberFormat::default(); target.columns().len()];
        let last = std::iter::repeat_with(LastValue::default).take(target.columns().len()).collect();
        let source_of = |name: &str| {
            let index = target.columns().iter().position(|c| c.name == name)?;
            sources.get(index).copied().flatten()
        };
        let (invoice_source, status_source) = (source_of("invoice"), source_of("status"));
        let quantity = target.columns().iter().position(|c| c.name == "quantity");
        let one_unit = quantity.filter(|&i| target == Target::OrderLines && sources.get(i).copied().flatten().is_none());
        let currency_column = target.columns().iter().position(|c| c.name == "currency").filter(|_| target == Target::OrderLines);
        Self {
            target,
            sources,
            width,
            slash,
            one_unit,
            currency_column,
            stated_currency: None,
            cancellation: CancellationRule::None,
            invoice_source,
            status_source,
            numbers,
            import_id,
            last,
        }
    }

    /// Order lines: the currency of lines that do not state one (`--currency`).
    pub fn with_currency(mut self, currency: Option<String>) -> Self {
        self.stated_currency = currency.map(|c| c.trim().to_uppercase()).filter(|c| !c.is_empty());
        self
    }

    /// Order lines: marks cancelled lines by `rule`.
    pub fn with_cancellation(mut self, rule: CancellationRule) -> Self {
        self.cancellation = rule;
        self
    }

    /// Reads target column i's numbers with `formats[i]`.
    pub fn with_number_formats(mut self, formats: Vec<NumberFormat>) -> Self {
        self.numbers = formats;
        self
    }

    fn convert_value(&mut self, index: usize, column: &TargetColumn, raw: &str, batch: &mut Batch) -> Result<(), RowError> {
        let trimmed = raw.trim_ascii();
        if trimmed.is_empty() {
            if !column.empty_allowed {
                return Err(RowError::missing(column.name));
            }
            batch.push(Value::Null);
            return Ok(());
        }
        match column.kind {
            // Text stays exactly as exported: `47503J ` and `47503J` are different codes in the
            // source system, and trimming would merge them silently.
            ValueKind::Text => batch.push_text(raw),
            ValueKind::Int => {
                let value = values::parse_int(trimmed).ok_or_else(|| RowError::bad_value(column.name, "not a whole number", raw))?;
                if column.bounds == Bounds::Units && crate::analytics::event_frame::parse_quantity(trimmed).is_none() {
                    return Err(RowError::bad_value(column.name, "not a number of units (1 or more)", raw));
                }
                batch.push(Value::Int(value))
            }
            ValueKind::Real => {
                let format = self.numbers.get(index).copied().unwrap_or_default();
                let value = format.parse(trimmed).map_err(|why| {
                    let other = if format == NumberFormat::POINT { NumberFormat::COMMA } else { NumberFormat::POINT };
                    // A number in the other format is named as such: never reinterpreted.
                    match (why, other.parse(trimmed)) {
                        (NotANumber::NotThisFormat, Ok(_)) => RowError::bad_value(
                            column.name,
                            &format!("written differently from the column's other numbers ({})", format.describe()),
                            raw,
                        ),
                        (why, _) => RowError::bad_value(column.name, why.reason(), raw),
                    }
                })?;
                match column.bounds {
                    Bounds::Positive if value <= 0.0 => return Err(RowError::bad_value(column.name, "not a positive price", raw)),
                    Bounds::NonNegative if value < 0.0 => return Err(RowError::bad_value(column.name, "negative", raw)),
                    _ => {}
                }
                batch.push(Value::Real(value))
            }
            ValueKind::ExactId => batch.push(Value::Int(
                values::parse_exact_id(trimmed).ok_or_else(|| RowError::bad_value(column.name, "not an exact whole-number id", raw))?,
            )),
            ValueKind::DateTime => {
                let slash = self.slash;
                let parsed = self.last[index].get(trimmed, |trimmed, stored| {
                    let parsed =
                        values::parse_datetime(trimmed, slash).ok_or_else(|| RowError::bad_value(column.name, "not a date", raw))?;
                    stored.push_str(&parsed);
                    Ok(true)
                })?;
                batch.push_text(parsed.unwrap_or_default())
            }
            ValueKind::CustomerId => {
                let normalized = |trimmed: &str, stored: &mut String| {
                    let id = values::normalize_customer_id(trimmed);
                    stored.push_str(id.as_deref().unwrap_or(""));
                    Ok::<_, RowError>(id.is_some())
                };
                match self.last[index].get(trimmed, normalized)? {
                    Some(id) => batch.push_text(id),
                    None => batch.push(Value::Null),
                }
            }
            ValueKind::Flag => batch.push(Value::Int(
                values::parse_flag(trimmed).ok_or_else(|| RowError::bad_value(column.name, "not yes or no", raw))? as i64,
            )),
        }
        Ok(())
    }
}

impl Converter for MappedConverter {
    fn output_columns(&self) -> Vec<String> {
        self.target.stored_column_names().into_iter().map(String::from).collect()
    }

    fn convert(&mut self, fields: &StringRecord, batch: &mut Batch) -> Result<(), RowError> {
        check_width(fields, self.width)?;
        for (index, column) in self.target.columns().iter().enumerate() {
            if Some(index) == self.one_unit {
                batch.push(Value::Int(1));
                continue;
            }
            if Some(index) == self.currency_column {
                // ISO codes, in upper case; a line that does not say is in the stated currency.
                let raw = self.sources.get(index).copied().flatten().and_then(|i| fields.get(i)).unwrap_or("").trim();
                match (raw, &self.stated_currency) {
                    ("", Some(stated)) => batch.push_text(stated),
                    ("", None) => batch.push(Value::Null),
                    (code, _) if code.bytes().any(|b| b.is_ascii_lowercase()) => batch.push_text(&code.to_uppercase()),
                    (code, _) => batch.push_text(code),
                }
                continue;
            }
            let raw = self.sources.get(index).copied().flatten().and_then(|i| fields.get(i)).unwrap_or("");
            self.convert_value(index, column, raw, batch)?;
        }
        if self.target == Target::OrderLines {
            let field = |source: Option<usize>| source.and_then(|i| fields.get(i)).unwrap_or("");
            let cancelled = self.cancellation.cancels(field(self.invoice_source), field(self.status_source));
            batch.push(Value::Int(cancelled as i64));
        }
        batch.push(Value::Int(self.import_id));
        Ok(())
    }
}

/// The wide competitor layout → `competitor_prices`, unpivoted: one row per competitor column
/// (`comp_1`, `comp_2`, ...; the column name is the competitor) that has a price, observed on
/// the first day of `month_year`. Our own `unit_price` of the month goes to `our_prices` (valid
/// from that day) in the same transaction. The layout is fixed: numbers with a decimal point,
/// `month_year` as DD-MM-YYYY unless the sample shows MM-DD-YYYY (see [`month_order`]).
pub struct WideCompetitorConverter {
    product: usize,
    our_price: usize,
    month: usize,
    competitors: Vec<(usize, String)>,
    day_first: bool,
    width: usize,
    import_id: i64,
    ours: Batch,
}

impl WideCompetitorConverter {
    pub fn new(headers: &[String], day_first: bool, import_id: i64) -> Self {
        let find = |name: &str| headers.iter().position(|h| normalize_header(h) == name).unwrap_or(usize::MAX);
        let competitors = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| {
                let n = normalize_header(h);
                n.strip_prefix("comp").is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()))
            })
            .map(|(i, h)| (i, h.trim().to_string()))
            .collect();
        Self {
            product: find("productid"),
            our_price: find("unitprice"),
            month: find("monthyear"),
            competitors,
            day_first,
            width: headers.len(),
            import_id,
            ours: Batch::new(4),
        }
    }

    /// The columns the converter reads; the rest of the file is not loaded.
    pub fn used_columns(&self) -> Vec<usize> {
        let mut used = vec![self.product, self.our_price, self.month];
        used.extend(self.competitors.iter().map(|(i, _)| *i));
        used
    }

    fn month(&self, raw: &str) -> Result<String, RowError> {
        let bad = || RowError::bad_value("month_year", if self.day_first { "not a DD-MM-YYYY date" } else { "not a MM-DD-YYYY date" }, raw);
        let parts: Vec<&str> = raw.trim().split(['-', '/', '.']).collect();
        let [a, b, year] = parts[..] else { return Err(bad()) };
        let (day, month) = if self.day_first { (a, b) } else { (b, a) };
        let date = chrono::NaiveDate::from_ymd_opt(
            year.parse().map_err(|_| bad())?,
            month.parse().map_err(|_| bad())?,
            day.parse().map_err(|_| bad())?,
        )
        .filter(|_| year.len() == 4)
        .ok_or_else(bad)?;
        Ok(format!("{date} 00:00:00"))
    }
}

impl Converter for WideCompetitorConverter {
    fn output_columns(&self) -> Vec<String> {
        Target::CompetitorPrices.stored_column_names().into_iter().map(String::from).collect()
    }

    fn convert(&mut self, fields: &StringRecord, batch: &mut Batch) -> Result<(), RowError> {
        check_width(fields, self.width)?;
        let field = |i: usize| fields.get(i).unwrap_or("");
        let product = field(self.product);
        if product.trim().is_empty() {
            return Err(RowError::missing("product_id"));
        }
        let observed_at = self.month(field(self.month))?;
        let number = |column: &str, raw: &str| match NumberFormat::POINT.parse(raw.trim()) {
            Ok(price) if price > 0.0 => Ok(price),
            Ok(_) => Err(RowError::bad_value(column, "not a positive price", raw)),
            Err(NotANumber::NotThisFormat) => Err(RowError::bad_value(column, "not a price", raw)),
            Err(why) => Err(RowError::bad_value(column, why.reason(), raw)),
        };
        let ours = match field(self.our_price).trim() {
            "" => None,
            raw => Some(number("unit_price", raw)?),
        };
        let mut prices = Vec::with_capacity(self.competitors.len());
        for (i, name) in &self.competitors {
            match field(*i).trim() {
                "" => {}
                raw => prices.push((name.as_str(), number(name, raw)?)),
            }
        }
        if prices.is_empty() {
            return Err(RowError { key: "no competitor price".into(), detail: "no competitor price: every comp_ column is empty".into() });
        }
        // Everything parsed: only now is anything written, so a rejected row leaves nothing.
        for (competitor, price) in prices {
            batch.push_text(product);
            batch.push_text(competitor);
            batch.push(Value::Real(price));
            batch.push_text(&observed_at);
            for _ in 0..3 {
                batch.push(Value::Null); // in_stock, url, currency: the layout has none
            }
            batch.push(Value::Int(self.import_id));
        }
        if let Some(price) = ours {
            self.ours.push_text(product);
            self.ours.push(Value::Real(price));
            self.ours.push_text(&observed_at);
            self.ours.push(Value::Int(self.import_id));
        }
        Ok(())
    }

    fn extra_rows(&mut self) -> Option<(&'static str, Vec<String>, Batch)> {
        let columns = ["product_id", "price", "valid_from", "import_id"].map(String::from).to_vec();
        Some((Target::OurPrices.table(), columns, std::mem::replace(&mut self.ours, Batch::new(4))))
    }
}

/// CDNOW transactions → order_lines: one invoice per customer and day (`<customer>-<yyyymmdd>`),
/// quantity = number of CDs, unit price = dollar value / CDs (so quantity × price = the value).
pub struct CdnowConverter {
    date_index: usize,
    width: usize,
    import_id: i64,
    /// The import's stated currency (`--currency`), if any.
    currency: Option<String>,
}

impl CdnowConverter {
    pub fn new(kind: KnownKind, import_id: i64, currency: Option<String>) -> Self {
        let (date_index, width) = if kind == KnownKind::CdnowSample { (2, 5) } else { (1, 4) };
        Self { date_index, width, import_id, currency }
    }
}

impl Converter for CdnowConverter {
    fn output_columns(&self) -> Vec<String> {
        Target::OrderLines.stored_column_names().into_iter().map(String::from).collect()
    }

    fn convert(&mut self, fields: &StringRecord, batch: &mut Batch) -> Result<(), RowError> {
        check_width(fields, self.width)?;
        let customer = values::strip_leading_zeros(fields[0].trim());
        let date_raw = fields[self.date_index].trim();
        let cds_raw = &fields[self.date_index + 1];
        let value_raw = &fields[self.date_index + 2];
        if customer.is_empty() {
            return Err(RowError::missing("customer_id"));
        }
        let date = values::parse_datetime(date_raw, SlashOrder::default())
            .filter(|_| date_raw.len() == 8)
            .ok_or_else(|| RowError::bad_value("date", "not a yyyymmdd date", date_raw))?;
        let cds = values::parse_int(cds_raw).ok_or_else(|| RowError::bad_value("number_of_cds", "not a whole number", cds_raw))?;
        // CDNOW's layout is fixed: dollars with a decimal point.
        let dollars = NumberFormat::POINT.parse(value_raw).map_err(|why| RowError::bad_value("dollar_value", why.reason(), value_raw))?;
        batch.push_text(&format!("{customer}-{date_raw}"));
        batch.push(Value::Null); // stock_code
        batch.push(Value::Null); // description
        batch.push(Value::Int(cds));
        batch.push_text(&date);
        batch.push(Value::Real(if cds != 0 { dollars / cds as f64 } else { 0.0 }));
        batch.push_text(customer);
        batch.push(Value::Null); // country
        batch.push(Value::Null); // status
        batch.push(Value::Null); // freight
        match &self.currency {
            Some(currency) => batch.push_text(currency),
            None => batch.push(Value::Null),
        }
        batch.push(Value::Int(0));
        batch.push(Value::Int(self.import_id));
        Ok(())
    }
}

/// Files of no known kind: every column kept as text; which columns could be numbers is
/// tracked so the table can be retyped once the whole file has been seen.
pub struct RawConverter {
    columns: Vec<String>,
    /// Per column: every non-empty value so far is an integer / a number.
    all_int: Vec<bool>,
    all_real: Vec<bool>,
}

impl RawConverter {
    pub fn new(headers: &[String]) -> Self {
        let columns = sanitize_column_names(headers);
        let n = columns.len();
        Self { columns, all_int: vec![true; n], all_real: vec![true; n] }
    }
}

impl Converter for RawConverter {
    fn output_columns(&self) -> Vec<String> {
        self.columns.clone()
    }

    fn column_types(&self) -> Option<Vec<&'static str>> {
        Some(
            self.all_int
                .iter()
                .zip(&self.all_real)
                .map(|(&int, &real)| {
                    if int {
                        "INTEGER"
                    } else if real {
                        "REAL"
                    } else {
                        "TEXT"
                    }
                })
                .collect(),
        )
    }

    fn convert(&mut self, fields: &StringRecord, batch: &mut Batch) -> Result<(), RowError> {
        check_width(fields, self.columns.len())?;
        for i in 0..self.columns.len() {
            let value = &fields[i];
            if !value.is_empty() {
                // A column becomes numeric only if SQLite stores every value as the same number
                // it was written as: `+49…`, `007`, a 25-digit id or one past 2^63 keep it text.
                if self.all_int[i] && !values::is_exact_integer(value) {
                    self.all_int[i] = false;
                }
                if self.all_real[i] && !values::is_exact_decimal(value) {
                    self.all_real[i] = false;
                }
            }
            batch.push_text_or_null(value);
        }
        Ok(())
    }
}

/// Whether `month_year` values are day first (DD-MM-YYYY): yes, unless every value's second
/// part is 01, every first part could be a month, and some is not 01 (then it is MM-DD-YYYY). Returns the decision and the
/// sentence for the quality report.
pub fn month_order<'a>(values: impl IntoIterator<Item = &'a str>) -> (bool, String) {
    let parts: Vec<(u32, u32)> = values
        .into_iter()
        .filter_map(|v| {
            let mut it = v.trim().split(['-', '/', '.']);
            Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
        })
        .collect();
    let month_first =
        !parts.is_empty() && parts.iter().all(|&(a, b)| b == 1 && (1..=12).contains(&a)) && parts.iter().any(|&(a, _)| a != 1);
    if month_first {
        (false, "month_year read as MM-DD-YYYY: in every sampled value the second part is 01 and the first is not always".into())
    } else if parts.iter().any(|&(a, _)| a > 12) {
        (true, "month_year read as DD-MM-YYYY: some sampled values start with a day above 12".into())
    } else {
        (true, "month_year read as DD-MM-YYYY (the layout's order; every sampled value is the first of a month)".into())
    }
}

/// Column names safe and unique for SQL: empty headers become `column_N`, repeats get a suffix.
pub fn sanitize_column_names(headers: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    headers
        .iter()
        .enumerate()
        .map(|(i, header)| {
            let cleaned: String = header.trim().chars().map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
            let cleaned = cleaned.trim_matches('_').to_string();
            let base = if cleaned.is_empty() { format!("column_{}", i + 1) } else { cleaned };
            let mut name = base.clone();
            let mut n = 2;
            while !seen.insert(name.clone()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            name
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::kinds::{guess_mapping, resolve_mapping};

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn order_line_conversion_types_values_and_rejects_with_reasons() {
        let h = headers(&["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]);
        let sources = resolve_mapping(Target::OrderLines, &guess_mapping(Target::OrderLines, &h), &h).unwrap();
        let mut conv = MappedConverter::new(Target::OrderLines, sources, 8, SlashOrder::MonthFirst, 7)
            .with_cancellation(CancellationRule::InvoicePrefix);
        let mut batch = Batch::new(conv.output_columns().len());
        let row =
            StringRecord::from(vec!["C489449", "22087", " PAPER BUNTING ", "-12", "2009-12-01 10:33:00", "2.95", "16321.0", "Australia"]);
        batch.push_row(|b| conv.convert(&row, b)).unwrap();
        let values = batch.row(0);
        assert_eq!(batch.text_of(&values[0]), Some("C489449"));
        assert_eq!(batch.text_of(&values[2]), Some(" PAPER BUNTING "));
        assert_eq!(values[3], Value::Int(-12));
        assert_eq!(values[5], Value::Real(2.95));
        assert_eq!(batch.text_of(&values[6]), Some("16321"));
        // status, freight and currency are not in the file; the C invoice is a cancellation.
        assert_eq!(&values[8..], &[Value::Null, Value::Null, Value::Null, Value::Int(1), Value::Int(7)]);

        let bad_qty = StringRecord::from(vec!["1", "x", "d", "12x", "2009-12-01 10:33:00", "2.95", "", "UK"]);
        assert_eq!(batch.push_row(|b| conv.convert(&bad_qty, b)).unwrap_err().key, "quantity: not a whole number");
        let bad_date = StringRecord::from(vec!["1", "x", "d", "1", "31/02/2009", "2.95", "", "UK"]);
        assert_eq!(batch.push_row(|b| conv.convert(&bad_date, b)).unwrap_err().key, "invoice_date: not a date");
        let ragged = StringRecord::from(vec!["1", "x", "d"]);
        assert_eq!(batch.push_row(|b| conv.convert(&ragged, b)).unwrap_err().key, "wrong number of fields");
        let trailing_delimiter = StringRecord::from(vec!["2", "x", "", "1", "2009-12-01 10:33:00", "0", "", "", ""]);
        batch.push_row(|b| conv.convert(&trailing_delimiter, b)).unwrap();
        assert_eq!(batch.len(), 2, "failed rows leave nothing behind");
        assert_eq!(batch.row(1)[2], Value::Null);
    }

    #[test]
    fn cdnow_rows_become_one_invoice_per_customer_day() {
        let mut conv = CdnowConverter::new(KnownKind::CdnowSample, 1, None);
        let mut batch = Batch::new(10);
        conv.convert(&StringRecord::from(vec!["00004", "0001", "19970118", "2", "29.73"]), &mut batch).unwrap();
        let row = batch.row(0);
        assert_eq!(batch.text_of(&row[0]), Some("4-19970118"));
        assert_eq!(batch.text_of(&row[4]), Some("1997-01-18 00:00:00"));
        assert_eq!(row[3], Value::Int(2));
        let Value::Real(price) = row[5] else { panic!() };
        assert!((price * 2.0 - 29.73).abs() < 1e-12);
        assert_eq!(batch.text_of(&row[6]), Some("4"));
    }

    #[test]
    fn raw_columns_are_numeric_only_when_every_value_is() {
        let mut conv = RawConverter::new(&headers(&["zip", "n", "x", "", "n"]));
        assert_eq!(conv.output_columns(), ["zip", "n", "x", "column_4", "n_2"]);
        let mut batch = Batch::new(5);
        for row in [["01234", "1", "1.5", "a", "7"], ["12345", "2", "x", "", "8"]] {
            conv.convert(&StringRecord::from(row.to_vec()), &mut batch).unwrap();
        }
        assert_eq!(conv.column_types().unwrap(), ["TEXT", "INTEGER", "TEXT", "TEXT", "INTEGER"]);
    }
}

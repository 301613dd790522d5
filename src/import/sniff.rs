//! Deciding what a file is before reading it: container, format, text encoding, delimiter.
//!
//! Decisions look at the first megabyte; none of them decides a column's type (that is the
//! target schema's job, see `kinds`).

use encoding_rs::Encoding;

/// How the file's bytes are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV-like text with a delimiter: `,` `;` tab or `|`.
    Delimited {
        delimiter: u8,
    },
    /// Columns separated by runs of spaces (CDNOW's text files).
    Whitespace,
    /// One JSON object per line.
    JsonLines,
    Parquet,
    Xlsx,
}

impl Format {
    pub fn name(&self) -> String {
        match self {
            Format::Delimited { delimiter: b',' } => "csv".into(),
            Format::Delimited { delimiter: b'\t' } => "tsv".into(),
            Format::Delimited { delimiter } => format!("delimited '{}'", *delimiter as char),
            Format::Whitespace => "whitespace-separated text".into(),
            Format::JsonLines => "json lines".into(),
            Format::Parquet => "parquet".into(),
            Format::Xlsx => "xlsx".into(),
        }
    }
}

/// Container formats recognised by their first bytes, whatever the file is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Plain,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
    Parquet,
    /// An Excel workbook or a zip of one text file: which, `sources` decides from its entries.
    Zip,
    /// Not a table at all (an image, a database, a compressed format not read here): what it is.
    Other(&'static str),
}

/// Bytes that identify a file, whatever it is called (the first 16 are enough).
const MAGIC: &[(&[u8], &str)] = &[
    (b"SQLite format 3\0", "an SQLite database (a shoplens workspace is one: open it with File > Open)"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive (extract the file first)"),
    (b"Rar!", "a RAR archive (extract the file first)"),
    (b"\x7fELF", "a program"),
    (b"\xd0\xcf\x11\xe0", "an old Excel or Office file (.xls): save it as .xlsx or CSV"),
];

pub fn container_of(head: &[u8]) -> Container {
    if head.starts_with(&[0x1f, 0x8b]) {
        Container::Gzip
    } else if head.starts_with(b"\x28\xb5\x2f\xfd") {
        Container::Zstd
    } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|d| (b'1'..=b'9').contains(d)) {
        Container::Bzip2
    } else if head.starts_with(b"\xfd7zXZ\0") {
        Container::Xz
    } else if head.starts_with(b"PAR1") {
        Container::Parquet
    } else if head.starts_with(b"PK\x03\x04") {
        Container::Zip
    } else if let Some((_, what)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        Container::Other(what)
    } else {
        Container::Plain
    }
}

/// Why decoded text is not a table to import, if it is not: mostly control characters (random
/// bytes, a run of NULs, a binary format without a known signature) or a JSON array.
pub fn not_a_table(decoded: &str) -> Option<String> {
    let total = decoded.chars().take(1 << 16).count();
    let control = decoded.chars().take(1 << 16).filter(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n')).count();
    if total > 0 && control * 20 > total {
        let nul = decoded.chars().take(1 << 16).filter(|&c| c == '\0').count();
        return Some(if nul == total {
            "it holds only NUL bytes".into()
        } else {
            format!("it does not look like text ({}% of its first characters are control bytes)", control * 100 / total)
        });
    }
    let start = decoded.trim_start_matches('\u{feff}').trim_start();
    start.starts_with('[').then(|| "it is a JSON array; shoplens reads JSON lines (one object per line)".into())
}

/// The text encoding of a sample, and how many BOM bytes to skip.
///
/// The text encoding of a file, decided from the whole sample, with why (for the report).
#[derive(Debug, Clone, PartialEq)]
pub struct EncodingDecision {
    pub encoding: &'static Encoding,
    /// Bytes of byte order mark to skip.
    pub bom_len: usize,
    pub why: String,
}

/// A byte order mark wins; then UTF-16 without one (every other byte zero); then UTF-8 when the
/// sample's UTF-8 characters outnumber its invalid byte sequences, so one stray byte does not
/// turn a UTF-8 file into Windows-1252 (its row is repaired and counted instead); otherwise
/// chardetng guesses (it tells Windows-1252 from other legacy encodings far better than a
/// byte-frequency guess of our own would).
pub fn text_encoding(sample: &[u8], at_eof: bool) -> EncodingDecision {
    let decision = |encoding, bom_len, why: String| EncodingDecision { encoding, bom_len, why };
    if let Some((encoding, bom_len)) = Encoding::for_bom(sample) {
        return decision(encoding, bom_len, format!("{} (byte order mark)", encoding.name()));
    }
    if let Some(encoding) = utf16_without_bom(sample) {
        return decision(encoding, 0, format!("{} without a byte order mark (every other byte is zero)", encoding.name()));
    }
    // A multi-byte character cut by the end of the sample is still UTF-8.
    let sample = match std::str::from_utf8(sample) {
        Ok(_) => return decision(encoding_rs::UTF_8, 0, "UTF-8".into()),
        Err(e) if e.error_len().is_none() && !at_eof => &sample[..e.valid_up_to()],
        Err(_) => sample,
    };
    let (mut beyond_ascii, mut invalid) = (0usize, 0usize);
    for chunk in sample.utf8_chunks() {
        beyond_ascii += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += usize::from(!chunk.invalid().is_empty());
    }
    if invalid == 0 {
        return decision(encoding_rs::UTF_8, 0, "UTF-8".into());
    }
    if beyond_ascii >= invalid {
        let why = format!(
            "UTF-8 ({beyond_ascii} characters beyond ASCII, {invalid} byte sequences that are not UTF-8 in the first MiB; rows with such bytes are read as Windows-1252 and counted)"
        );
        return decision(encoding_rs::UTF_8, 0, why);
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(sample, at_eof);
    let encoding = detector.guess(None, chardetng::Utf8Detection::Allow);
    decision(
        encoding,
        0,
        format!("{} (not UTF-8: {invalid} invalid byte sequences, {beyond_ascii} UTF-8 characters; guessed by chardetng)", encoding.name()),
    )
}

/// UTF-16 text without a byte order mark: in the first 4 KiB, most bytes on one side of each
/// pair are zero (ASCII in UTF-16) and almost none on the other.
fn utf16_without_bom(sample: &[u8]) -> Option<&'static Encoding> {
    let head = &sample[..sample.len().min(4096) & !1];
    let pairs = head.len() / 2;
    if pairs < 8 {
        return None;
    }
    let zeros = |offset: usize| head.iter().skip(offset).step_by(2).filter(|&&b| b == 0).count();
    let (even, odd) = (zeros(0), zeros(1));
    if odd * 10 >= pairs * 4 && even * 20 < pairs {
        Some(encoding_rs::UTF_16LE)
    } else if even * 10 >= pairs * 4 && odd * 20 < pairs {
        Some(encoding_rs::UTF_16BE)
    } else {
        None
    }
}

/// Picks the text format from a decoded sample: JSON lines, a delimiter, or whitespace columns.
///
/// Delimiters are judged by parsing the sample as CSV with each candidate, so quoted fields with
/// delimiters or newlines inside do not mislead: the winner splits most records into the header's
/// number of fields.
pub fn text_format(sample: &str) -> Format {
    let first_line = sample.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first_line.trim_start().starts_with('{') {
        return Format::JsonLines;
    }
    // A minority of odd lines (a short row, a line of spaces) must not change how the whole
    // file is read: a format wins when most of the sample's records agree with it.
    let mut best: Option<(u8, usize)> = None;
    for delimiter in [b',', b';', b'\t', b'|'] {
        let widths = record_widths(sample, delimiter);
        let Some(&header_width) = widths.first() else { continue };
        if header_width < 2 {
            continue;
        }
        if mostly(&widths, header_width) && best.is_none_or(|(_, n)| header_width > n) {
            best = Some((delimiter, header_width));
        }
    }
    if let Some((delimiter, _)) = best {
        return Format::Delimited { delimiter };
    }
    let lines: Vec<&str> = sample.lines().filter(|l| !l.trim().is_empty()).take(SNIFF_RECORDS).collect();
    let widths: Vec<usize> = lines.iter().map(|l| l.split_whitespace().count()).collect();
    // Whitespace columns (CDNOW) have no header: the body's usual width decides.
    if let Some(usual) = mode(widths.get(1..).unwrap_or_default()) {
        if widths[0] > 1 && usual > 1 && mostly(&widths[1..], usual) {
            return Format::Whitespace;
        }
    }
    // A single column: any delimiter reads it the same.
    Format::Delimited { delimiter: b',' }
}

/// Records of the sample that judge a format.
const SNIFF_RECORDS: usize = 200;

/// At least 80% of `widths` equal `width`.
fn mostly(widths: &[usize], width: usize) -> bool {
    !widths.is_empty() && widths.iter().filter(|&&w| w == width).count() * 10 >= widths.len() * 8
}

/// The most common value.
fn mode(values: &[usize]) -> Option<usize> {
    let mut counts = std::collections::BTreeMap::new();
    for &v in values {
        *counts.entry(v).or_insert(0usize) += 1;
    }
    counts.into_iter().max_by_key(|&(_, n)| n).map(|(v, _)| v)
}

/// Field counts of the sample's first records, lines of only spaces left out; the last record
/// is left out when there are others, since the sample may cut it short.
fn record_widths(sample: &str, delimiter: u8) -> Vec<usize> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(sample.as_bytes());
    let mut widths: Vec<usize> = reader
        .byte_records()
        .map_while(Result::ok)
        .filter(|r| !(r.len() == 1 && r[0].iter().all(u8::is_ascii_whitespace)))
        .take(SNIFF_RECORDS + 1)
        .map(|r| r.len())
        .collect();
    if widths.len() > 1 {
        widths.pop();
    }
    widths
}

/// Whether lines end in CRLF (judged by the first line end).
pub fn uses_crlf(sample: &[u8]) -> bool {
    memchr::memchr(b'\n', sample).is_some_and(|i| i > 0 && sample[i - 1] == b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_containers_by_magic_bytes() {
        assert_eq!(container_of(&[0x1f, 0x8b, 8]), Container::Gzip);
        assert_eq!(container_of(b"PAR1...."), Container::Parquet);
        assert_eq!(container_of(b"PK\x03\x04..."), Container::Zip);
        assert_eq!(container_of(b"a,b\n"), Container::Plain);
    }

    #[test]
    fn sniffs_delimiters_and_text_formats() {
        assert_eq!(text_format("a,b,c\n1,2,3\n4,5,6\n"), Format::Delimited { delimiter: b',' });
        assert_eq!(text_format("a;b;c\n1;\"2,5\";3\n"), Format::Delimited { delimiter: b';' });
        assert_eq!(text_format("a\tb\n1\t2\n"), Format::Delimited { delimiter: b'\t' });
        assert_eq!(text_format(" 00001 19970101  1   11.77\n 00002 19970112  1   12.00\n 00002 19970112  5   77.00\n"), Format::Whitespace);
        assert_eq!(text_format("{\"a\":1}\n{\"a\":2}\n"), Format::JsonLines);
        // Delimiters and newlines inside quotes do not count.
        let quoted = "a;b;c\r\n1;\"x; y\";3\r\n2;\"two\r\nlines\";4\r\n5;6;7\r\n";
        assert_eq!(text_format(quoted), Format::Delimited { delimiter: b';' });
        assert!(uses_crlf(quoted.as_bytes()));
        assert!(!uses_crlf(b"a,b\n1,2\r\n"));
    }

    #[test]
    fn a_minority_of_odd_lines_does_not_change_the_format() {
        let mut csv = String::from("Invoice,StockCode,Description,Quantity\n");
        for i in 0..20 {
            csv.push_str(&format!("{i},A{i},RED WOODEN HEART {i},1\n"));
            if i == 1 {
                csv.push_str("   \n");
            }
            if i == 5 {
                csv.push_str("7,SHORT\n");
            }
        }
        assert_eq!(text_format(&csv), Format::Delimited { delimiter: b',' });
        let mut cdnow = String::new();
        for i in 1..30 {
            cdnow.push_str(&format!(" {i:05} 19970101  1   11.77\n"));
            if i == 2 {
                cdnow.push_str(" 00002 19970112  1\n");
            }
        }
        assert_eq!(text_format(&cdnow), Format::Whitespace);
    }

    #[test]
    fn detects_windows_1252_and_keeps_utf8() {
        let d = text_encoding("brand\nHermès\n".as_bytes(), true);
        assert_eq!((d.encoding, d.bom_len), (encoding_rs::UTF_8, 0));
        let d = text_encoding(b"brand,city\nHerm\xe8s,Paris\nChlo\xe9,Paris\nC\xe9line,Lyon\n", true);
        assert_eq!(d.encoding, encoding_rs::WINDOWS_1252);
        let d = text_encoding(b"\xef\xbb\xbfa,b\n", true);
        assert_eq!((d.encoding, d.bom_len), (encoding_rs::UTF_8, 3));
        // One stray byte in UTF-8 text: still UTF-8, and the decision says so.
        let d =
            text_encoding("brand\nHermès\nCrème\nCaf".as_bytes().iter().copied().chain(*b"\xe9\n").collect::<Vec<u8>>().as_slice(), true);
        assert_eq!(d.encoding, encoding_rs::UTF_8);
        assert!(d.why.contains("1 byte sequences that are not UTF-8"), "{}", d.why);
        // UTF-16 without a byte order mark.
        let utf16: Vec<u8> = "brand,city\nHermès,Paris\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(text_encoding(&utf16, true).encoding, encoding_rs::UTF_16LE);
        let utf16be: Vec<u8> = "brand,city\nHermès,Paris\n".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(text_encoding(&utf16be, true).encoding, encoding_rs::UTF_16BE);
    }
}

//! Row sources: every supported format read as rows of text fields with their line numbers.
//!
//! A source does not judge values (that is `kinds`); it only reports rows it could not split at
//! all (a line of invalid JSON) as malformed, so they still reach the rejects table.

pub use crate::workspace::report::RepairCounts;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use csv::{ByteRecord, StringRecord};
use encoding_rs::Encoding;

use super::error::ImportError;
use super::sniff::{self, Container, Format};

/// One row as read from a file.
#[derive(Debug, Default, Clone)]
pub struct RawRow {
    /// Line in the file for text formats; row number (header = 1) for Parquet, Excel.
    pub line: u64,
    pub fields: StringRecord,
    /// Set when the row could not be split into fields; the text is kept for the rejects table.
    pub malformed: Option<(String, String)>,
    /// The row exactly as in the file, where fields are not the file's text (JSON lines): a
    /// rejected row is stored as written, not as its converted fields.
    pub original: Option<String>,
    /// Set by a source that reads the row but cannot load it as it stands (a line whose order is
    /// not in the joined orders file): rejected with this reason.
    pub rejected: Option<super::convert::RowError>,
}

pub trait RowSource: Send {
    fn headers(&self) -> &[String];
    /// Reads the next row into `row`; `Ok(false)` at the end of the data.
    fn read_row(&mut self, row: &mut RawRow) -> Result<bool, ImportError>;
    /// Work done and total, in the source's own unit (bytes or rows), for progress bars.
    fn progress(&self) -> (u64, u64);
    fn repairs(&self) -> RepairCounts {
        RepairCounts::default()
    }
    /// Several files read as one (`import::join`): what the report says about the join.
    fn join_notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// Several files read as one: the related files' rows no line referred to.
    fn unmatched(&self) -> Vec<super::join::Unmatched> {
        Vec::new()
    }
}

/// What was detected about a file, recorded with its import.
#[derive(Debug, Clone)]
pub struct SourceInfo {
    pub format: Format,
    /// The compression the text was read through (`gzip`, `zstd`, `bzip2`), if any.
    pub compression: Option<&'static str>,
    pub encoding: &'static Encoding,
    /// The encoding and why, for the quality report (empty for binary formats).
    pub encoding_decision: String,
}

impl SourceInfo {
    pub fn format_name(&self) -> String {
        if let Some(compression) = self.compression {
            format!("{} ({compression})", self.format.name())
        } else {
            self.format.name()
        }
    }
}

/// Opens `path` with the right reader for whatever it contains.
pub fn open(path: &Path, sheet: Option<&str>) -> Result<(Box<dyn RowSource>, SourceInfo), ImportError> {
    let io_err = |source| ImportError::Io { path: path.to_path_buf(), source };
    let size = std::fs::metadata(path).map_err(io_err)?.len();
    if size == 0 {
        return Err(ImportError::Empty { path: path.to_path_buf() });
    }
    let mut head = [0u8; 16];
    let head_len = read_up_to(&mut File::open(path).map_err(io_err)?, &mut head).map_err(io_err)?;
    let container = sniff::container_of(&head[..head_len]);
    let binary_info = |format| SourceInfo { format, compression: None, encoding: encoding_rs::UTF_8, encoding_decision: String::new() };
    match container {
        Container::Parquet => Ok((Box::new(ParquetSource::open(path)?), binary_info(Format::Parquet))),
        Container::Zip => match zip_member(path)? {
            ZipMember::Workbook => Ok((Box::new(XlsxSource::open(path, sheet)?), binary_info(Format::Xlsx))),
            ZipMember::Text(entry) => open_text(path, size, Packing::Zip(entry)),
        },
        Container::Other(what) => Err(ImportError::NotATable { path: path.to_path_buf(), what: what.to_string() }),
        Container::Gzip => open_text(path, size, Packing::Gzip),
        Container::Zstd => open_text(path, size, Packing::Zstd),
        Container::Bzip2 => open_text(path, size, Packing::Bzip2),
        Container::Xz => open_text(path, size, Packing::Xz),
        Container::Plain => open_text(path, size, Packing::Plain),
    }
}

/// How a text file's bytes reach the reader.
enum Packing {
    Plain,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
    Zip(ZipEntry),
}

impl Packing {
    fn name(&self) -> Option<&'static str> {
        match self {
            Packing::Plain => None,
            Packing::Gzip => Some("gzip"),
            Packing::Zstd => Some("zstd"),
            Packing::Bzip2 => Some("bzip2"),
            Packing::Xz => Some("xz"),
            Packing::Zip(_) => Some("zip"),
        }
    }
}

/// The one file inside a zip archive, located so it can be read straight from the archive.
struct ZipEntry {
    data_start: u64,
    compressed_size: u64,
    deflated: bool,
    crc32: u32,
}

enum ZipMember {
    /// An Excel workbook (also a zip).
    Workbook,
    Text(ZipEntry),
}

/// What a zip holds: a workbook, or exactly one file to read as text. Anything else is refused
/// by naming what is inside, since picking one of several files would be a guess.
fn zip_member(path: &Path) -> Result<ZipMember, ImportError> {
    let refuse = |what: String| ImportError::NotATable { path: path.to_path_buf(), what };
    let file = File::open(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| refuse(format!("a damaged zip archive ({e})")))?;
    // Excel (.xlsx, .xlsb) keeps its sheets under xl/; OpenDocument (.ods) starts with a mimetype.
    if archive.file_names().any(|n| n.is_ok_and(|n| n.starts_with("xl/") || n == "mimetype")) {
        return Ok(ZipMember::Workbook);
    }
    let mut files = Vec::new();
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(|e| refuse(format!("a damaged zip archive ({e})")))?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        // Folders and the metadata macOS adds to every archive are not content.
        if entry.is_dir() || name.starts_with("__MACOSX/") || name.ends_with(".DS_Store") {
            continue;
        }
        files.push(index);
    }
    let names = |archive: &zip::ZipArchive<_>| archive.file_names().filter_map(Result::ok).take(5).collect::<Vec<_>>().join(", ");
    let index = match files.as_slice() {
        [] => return Err(refuse("an empty zip archive".into())),
        [one] => *one,
        more => return Err(refuse(format!("a zip archive of {} files ({}…): extract the one to import", more.len(), names(&archive)))),
    };
    let entry = archive.by_index_raw(index).map_err(|e| refuse(format!("a damaged zip archive ({e})")))?;
    if entry.encrypted() {
        return Err(refuse("an encrypted zip archive (extract the file first)".into()));
    }
    let deflated = match entry.compression() {
        zip::CompressionMethod::Stored => false,
        zip::CompressionMethod::Deflated => true,
        other => return Err(refuse(format!("a zip archive compressed with {other} (extract the file first)"))),
    };
    let data_start = entry.data_start().ok_or_else(|| refuse("a damaged zip archive (no data offset)".into()))?;
    Ok(ZipMember::Text(ZipEntry { data_start, compressed_size: entry.compressed_size(), deflated, crc32: entry.crc32() }))
}

/// Checks the zip entry's CRC when its data ends, so a damaged entry is an error, not short data.
struct Crc32Check<R> {
    inner: R,
    hasher: crc32fast::Hasher,
    expected: u32,
}

impl<R: Read> Read for Crc32Check<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && self.hasher.clone().finalize() != self.expected {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "the zipped file's checksum does not match"));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Counts bytes read from the file itself (before decompression), for progress.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

const SAMPLE_BYTES: usize = 1 << 20;

fn open_text(path: &Path, size: u64, packing: Packing) -> Result<(Box<dyn RowSource>, SourceInfo), ImportError> {
    let mut file = File::open(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
    let bytes_read = Arc::new(AtomicU64::new(0));
    let compression = packing.name();
    if let Packing::Zip(entry) = &packing {
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(entry.data_start)).map_err(|e| ImportError::read(path, e))?;
    }
    // Progress counts the file's own bytes, before decompression.
    let counted = CountingReader { inner: file, count: bytes_read.clone() };
    let buffered = |reader| BufReader::with_capacity(1 << 16, reader);
    let mut raw: Box<dyn Read + Send> = match packing {
        Packing::Plain => Box::new(counted),
        Packing::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered(counted))),
        Packing::Zstd => Box::new(zstd::stream::read::Decoder::new(counted).map_err(|e| ImportError::read(path, e))?),
        Packing::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(buffered(counted))),
        Packing::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(buffered(counted))),
        Packing::Zip(entry) => {
            let data = buffered(counted).take(entry.compressed_size);
            let unpacked: Box<dyn Read + Send> =
                if entry.deflated { Box::new(flate2::read::DeflateDecoder::new(data)) } else { Box::new(data) };
            Box::new(Crc32Check { inner: unpacked, hasher: crc32fast::Hasher::new(), expected: entry.crc32 })
        }
    };
    // Sample the start to pick the encoding, then put the sample back in front of the stream.
    let mut sample = vec![0u8; SAMPLE_BYTES];
    let sample_len = read_up_to(&mut raw, &mut sample).map_err(|e| ImportError::read(path, e))?;
    sample.truncate(sample_len);
    if sample.is_empty() {
        return Err(ImportError::Empty { path: path.to_path_buf() });
    }
    let decision = sniff::text_encoding(&sample, sample_len < SAMPLE_BYTES);
    let (encoding, bom_len) = (decision.encoding, decision.bom_len);
    let decoded_sample: String = if encoding == encoding_rs::UTF_8 {
        String::from_utf8_lossy(&sample[bom_len..]).into_owned()
    } else {
        encoding.decode_without_bom_handling(&sample[bom_len..]).0.into_owned()
    };
    if let Some(what) = sniff::not_a_table(&decoded_sample) {
        return Err(ImportError::NotATable { path: path.to_path_buf(), what });
    }
    let format = sniff::text_format(&decoded_sample);
    let crlf = sniff::uses_crlf(decoded_sample.as_bytes());
    let rest = std::io::Cursor::new(sample).chain(raw);
    let text: Box<dyn Read + Send> = if encoding == encoding_rs::UTF_8 {
        // UTF-8 passes through untouched; a stray non-UTF-8 row is repaired per row below.
        let mut rest = rest;
        std::io::copy(&mut (&mut rest).take(bom_len as u64), &mut std::io::sink()).map_err(|e| ImportError::read(path, e))?;
        Box::new(rest)
    } else {
        Box::new(encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(encoding)).build(rest))
    };
    let info = SourceInfo { format, compression, encoding, encoding_decision: decision.why };
    let progress = Progress { bytes_read, size };
    let source: Box<dyn RowSource> = match format {
        Format::Delimited { delimiter } => Box::new(DelimitedSource::new(path, text, delimiter, crlf, progress)?),
        Format::Whitespace => Box::new(WhitespaceSource::new(path, text, progress)?),
        Format::JsonLines => Box::new(JsonLinesSource::new(path, text, progress)?),
        Format::Parquet | Format::Xlsx => unreachable!("binary formats are recognised by magic bytes"),
    };
    Ok((source, info))
}

/// CSV text streamed from elsewhere (a server's `COPY … TO STDOUT (FORMAT csv, HEADER)`):
/// UTF-8, commas, LF line ends, a header row. `bytes_read` counts what arrived and `expected`
/// is an estimate of the total for progress (0 when unknown).
pub fn csv_stream(
    name: &Path,
    text: Box<dyn Read + Send>,
    bytes_read: Arc<AtomicU64>,
    expected: u64,
) -> Result<(Box<dyn RowSource>, SourceInfo), ImportError> {
    let info = SourceInfo {
        format: Format::Delimited { delimiter: b',' },
        compression: None,
        encoding: encoding_rs::UTF_8,
        encoding_decision: "UTF-8 (the server was asked to send UTF-8)".into(),
    };
    let source = DelimitedSource::new(name, text, b',', false, Progress { bytes_read, size: expected })?;
    Ok((Box::new(source), info))
}

struct Progress {
    bytes_read: Arc<AtomicU64>,
    size: u64,
}

impl Progress {
    fn get(&self) -> (u64, u64) {
        let read = self.bytes_read.load(Ordering::Relaxed);
        // A stream of unknown length (size 0) reports what arrived as both.
        if self.size == 0 {
            (read, read)
        } else {
            (read.min(self.size), self.size)
        }
    }
}

/// CSV, TSV, semicolon- or pipe-separated text, via the `csv` crate (quotes, embedded newlines,
/// CRLF). Rows may have any number of fields; judging the count is the kind's job.
pub struct DelimitedSource {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read + Send>>,
    headers: Vec<String>,
    bytes: ByteRecord,
    /// CRLF files are read with LF as the terminator (the csv crate counts lines one short
    /// after CRLF); the CR left at the end of each record is removed here.
    strip_cr: bool,
    spare: ByteRecord,
    progress: Progress,
    repairs: RepairCounts,
}

impl DelimitedSource {
    fn new(path: &Path, text: Box<dyn Read + Send>, delimiter: u8, crlf: bool, progress: Progress) -> Result<Self, ImportError> {
        let mut builder = csv::ReaderBuilder::new();
        builder.has_headers(false).flexible(true).delimiter(delimiter).buffer_capacity(1 << 16);
        if crlf {
            builder.terminator(csv::Terminator::Any(b'\n'));
        }
        let reader = builder.from_reader(text);
        let mut source = Self {
            path: path.to_path_buf(),
            reader,
            headers: Vec::new(),
            bytes: ByteRecord::new(),
            strip_cr: crlf,
            spare: ByteRecord::new(),
            progress,
            repairs: RepairCounts::default(),
        };
        let mut header = RawRow::default();
        if !source.read_row(&mut header)? {
            return Err(ImportError::NoHeader { path: path.to_path_buf() });
        }
        source.headers = header.fields.iter().map(|h| h.trim().to_string()).collect();
        Ok(source)
    }
}

impl RowSource for DelimitedSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn read_row(&mut self, row: &mut RawRow) -> Result<bool, ImportError> {
        loop {
            let more = self.reader.read_byte_record(&mut self.bytes).map_err(|e| csv_error(&self.path, e))?;
            if !more {
                return Ok(false);
            }
            // A line of only spaces is a blank line, not a one-field row (the csv crate skips
            // only truly empty lines); the report counts them.
            let blank = self.bytes.len() == 1 && self.bytes[0].iter().all(u8::is_ascii_whitespace);
            if !blank {
                break;
            }
            self.repairs.blank_lines_skipped += 1;
        }
        row.line = self.bytes.position().map_or(0, |p| p.line());
        row.malformed = None;
        if self.strip_cr && self.bytes.as_slice().last() == Some(&b'\r') {
            self.spare.clear();
            let last = self.bytes.len() - 1;
            for (i, field) in self.bytes.iter().enumerate() {
                self.spare.push_field(if i == last { &field[..field.len() - 1] } else { field });
            }
            std::mem::swap(&mut self.bytes, &mut self.spare);
        }
        let has_nul = memchr::memchr(0, self.bytes.as_slice()).is_some();
        // Swap buffers instead of allocating: the previous row's storage becomes the next byte buffer.
        let bytes = std::mem::replace(&mut self.bytes, std::mem::take(&mut row.fields).into_byte_record());
        // The encoding is decided on the bytes as written, NUL bytes included: a NUL inside a
        // multi-byte character makes the row not UTF-8, and removing it first would heal the
        // character into one the file does not hold.
        match StringRecord::from_byte_record(bytes) {
            Ok(fields) => row.fields = fields,
            // Field by field: a stray byte in one field must not re-read another field (a quoted
            // field can run over several lines) that is valid UTF-8.
            Err(err) => {
                let bytes = err.into_byte_record();
                self.repairs.rows_decoded_as_windows_1252 += 1;
                row.fields = bytes
                    .iter()
                    .map(|f| match std::str::from_utf8(f) {
                        Ok(text) => text.to_string(),
                        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(f).0.into_owned(),
                    })
                    .collect();
            }
        }
        if has_nul {
            let mut cleaned = StringRecord::with_capacity(row.fields.as_slice().len(), row.fields.len());
            for field in row.fields.iter() {
                let kept = field.replace('\0', "");
                self.repairs.nul_bytes_removed += (field.len() - kept.len()) as u64;
                cleaned.push_field(&kept);
            }
            row.fields = cleaned;
        }
        Ok(true)
    }

    fn progress(&self) -> (u64, u64) {
        self.progress.get()
    }

    fn repairs(&self) -> RepairCounts {
        self.repairs.clone()
    }
}

fn csv_error(path: &Path, err: csv::Error) -> ImportError {
    match err.into_kind() {
        csv::ErrorKind::Io(io) => ImportError::read(path, io),
        other => ImportError::Format { path: path.to_path_buf(), message: format!("{other:?}") },
    }
}

/// Columns separated by runs of spaces, as in CDNOW's `CDNOW_master.txt` and `CDNOW_sample.txt`.
/// The header line is optional; without one, CDNOW's column names are used when the width fits.
pub struct WhitespaceSource {
    path: PathBuf,
    lines: std::io::Lines<BufReader<Box<dyn Read + Send>>>,
    headers: Vec<String>,
    pending: Option<(u64, String)>,
    line_no: u64,
    progress: Progress,
}

/// CDNOW column names by width: the master file has 4 columns, the sample adds its own id.
pub const CDNOW_MASTER_COLUMNS: [&str; 4] = ["customer_id", "date", "number_of_cds", "dollar_value"];
pub const CDNOW_SAMPLE_COLUMNS: [&str; 5] = ["customer_id", "sample_id", "date", "number_of_cds", "dollar_value"];

impl WhitespaceSource {
    fn new(path: &Path, text: Box<dyn Read + Send>, progress: Progress) -> Result<Self, ImportError> {
        let mut lines = BufReader::with_capacity(1 << 16, text).lines();
        let mut line_no = 0;
        let first = loop {
            line_no += 1;
            match lines.next() {
                None => return Err(ImportError::NoHeader { path: path.to_path_buf() }),
                Some(line) => {
                    let line = line.map_err(|e| ImportError::read(path, e))?;
                    if !line.trim().is_empty() {
                        break line;
                    }
                }
            }
        };
        let tokens: Vec<&str> = first.split_whitespace().collect();
        let is_header = tokens.iter().any(|t| t.parse::<f64>().is_err());
        let headers: Vec<String> = if is_header {
            tokens.iter().map(|t| t.to_string()).collect()
        } else {
            match tokens.len() {
                4 => CDNOW_MASTER_COLUMNS.iter().map(|s| s.to_string()).collect(),
                5 => CDNOW_SAMPLE_COLUMNS.iter().map(|s| s.to_string()).collect(),
                n => (1..=n).map(|i| format!("column_{i}")).collect(),
            }
        };
        let pending = (!is_header).then(|| (line_no, first.clone()));
        Ok(Self { path: path.to_path_buf(), lines, headers, pending, line_no, progress })
    }
}

impl RowSource for WhitespaceSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn read_row(&mut self, row: &mut RawRow) -> Result<bool, ImportError> {
        let (line_no, text) = match self.pending.take() {
            Some(pending) => pending,
            None => loop {
                self.line_no += 1;
                match self.lines.next() {
                    None => return Ok(false),
                    Some(line) => {
                        let line = line.map_err(|e| ImportError::read(&self.path, e))?;
                        if !line.trim().is_empty() {
                            break (self.line_no, line);
                        }
                    }
                }
            },
        };
        row.line = line_no;
        row.malformed = None;
        row.fields.clear();
        for token in text.split_whitespace() {
            row.fields.push_field(token);
        }
        Ok(true)
    }

    fn progress(&self) -> (u64, u64) {
        self.progress.get()
    }
}

/// One JSON object per line. Columns are the keys seen in the first rows, in order of first
/// appearance; values are written as text (numbers as written, nested values as JSON).
pub struct JsonLinesSource {
    path: PathBuf,
    repairs: RepairCounts,
    lines: std::io::Lines<BufReader<Box<dyn Read + Send>>>,
    headers: Vec<String>,
    buffered: std::collections::VecDeque<(u64, String)>,
    line_no: u64,
    progress: Progress,
}

/// JSON lines: rows whose keys decide the columns.
pub const JSON_HEADER_SAMPLE_ROWS: usize = 1000;

impl JsonLinesSource {
    fn new(path: &Path, text: Box<dyn Read + Send>, progress: Progress) -> Result<Self, ImportError> {
        let mut source = Self {
            path: path.to_path_buf(),
            repairs: RepairCounts::default(),
            lines: BufReader::with_capacity(1 << 16, text).lines(),
            headers: Vec::new(),
            buffered: Default::default(),
            line_no: 0,
            progress,
        };
        while source.buffered.len() < JSON_HEADER_SAMPLE_ROWS {
            let Some(line) = source.next_line()? else { break };
            if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&line.1) {
                for key in map.keys() {
                    if !source.headers.iter().any(|h| h == key) {
                        source.headers.push(key.clone());
                    }
                }
            }
            source.buffered.push_back(line);
        }
        if source.headers.is_empty() {
            return Err(ImportError::NoHeader { path: path.to_path_buf() });
        }
        Ok(source)
    }

    fn next_line(&mut self) -> Result<Option<(u64, String)>, ImportError> {
        loop {
            self.line_no += 1;
            match self.lines.next() {
                None => return Ok(None),
                Some(line) => {
                    let line = line.map_err(|e| ImportError::read(&self.path, e))?;
                    if !line.trim().is_empty() {
                        return Ok(Some((self.line_no, line)));
                    }
                }
            }
        }
    }
}

impl RowSource for JsonLinesSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn repairs(&self) -> RepairCounts {
        self.repairs.clone()
    }

    fn read_row(&mut self, row: &mut RawRow) -> Result<bool, ImportError> {
        let Some((line_no, text)) = (match self.buffered.pop_front() {
            Some(line) => Some(line),
            None => self.next_line()?,
        }) else {
            return Ok(false);
        };
        row.line = line_no;
        row.fields.clear();
        row.malformed = None;
        row.original = None;
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(map)) => {
                // Columns are fixed by the first rows; a later key cannot get a column, so it is
                // counted and named in the report instead of vanishing.
                for key in map.keys().filter(|k| !self.headers.contains(k)) {
                    self.repairs.json_values_without_column += 1;
                    if !self.repairs.json_keys_without_column.contains(key) && self.repairs.json_keys_without_column.len() < 20 {
                        self.repairs.json_keys_without_column.push(key.clone());
                    }
                }
                let mut inexact = None;
                for header in &self.headers {
                    match map.get(header) {
                        None | Some(serde_json::Value::Null) => row.fields.push_field(""),
                        Some(serde_json::Value::String(s)) => row.fields.push_field(&s.replace('\0', "")),
                        // A whole number past 2^64 (a long id) reaches us only as a float that has
                        // lost digits: the row is rejected rather than loaded changed.
                        Some(serde_json::Value::Number(n))
                            if n.is_f64() && n.as_f64().is_some_and(|x| x.fract() == 0.0 && x.abs() >= 2f64.powi(53)) =>
                        {
                            inexact.get_or_insert_with(|| header.clone());
                            row.fields.push_field("");
                        }
                        Some(other) => row.fields.push_field(&other.to_string()),
                    }
                }
                match inexact {
                    Some(key) => row.malformed = Some((text, format!("{key}: a number too long to read exactly (write it as a string)"))),
                    None => row.original = Some(text),
                }
            }
            Ok(_) => row.malformed = Some((text, "not a JSON object".into())),
            Err(e) => row.malformed = Some((text, format!("not valid JSON: {e}"))),
        }
        Ok(true)
    }

    fn progress(&self) -> (u64, u64) {
        self.progress.get()
    }
}

/// Parquet via polars, read in slices so a large file never sits in memory whole. Every column is
/// cast to text here; the target kind parses it back with the same rules as CSV.
pub struct ParquetSource {
    path: PathBuf,
    headers: Vec<String>,
    total_rows: usize,
    next_slice_start: usize,
    slice: Vec<polars::prelude::StringChunked>,
    slice_start: usize,
    slice_len: usize,
    cursor: usize,
}

const PARQUET_SLICE_ROWS: usize = 200_000;

impl ParquetSource {
    fn open(path: &Path) -> Result<Self, ImportError> {
        use polars::prelude::*;
        let format_err =
            |e: PolarsError| ImportError::Format { path: path.to_path_buf(), message: format!("not a readable Parquet file: {e}") };
        let file = File::open(path).map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
        let damaged =
            |message: String| ImportError::Format { path: path.to_path_buf(), message: format!("a damaged Parquet file ({message})") };
        // polars panics on some malformed files rather than returning an error.
        let (total_rows, schema) = crate::jobs::catch_panic(|| {
            let mut reader = ParquetReader::new(file);
            Ok::<_, PolarsError>((reader.num_rows()?, reader.schema()?))
        })
        .map_err(damaged)?
        .map_err(format_err)?;
        // pandas writes its index as a column; it is not data.
        let columns: Vec<(&PlSmallStr, &ArrowDataType)> =
            schema.iter().filter(|(name, _)| name.as_str() != "__index_level_0__").map(|(name, field)| (name, field.dtype())).collect();
        // A list or struct in a cell is not a value a table column can hold: refuse the file by
        // naming the column rather than flattening it into text nobody asked for.
        if let Some((name, dtype)) = columns.iter().find(|(_, dtype)| is_nested(dtype)) {
            return Err(ImportError::Format {
                path: path.to_path_buf(),
                message: format!(
                    "column '{name}' holds nested values ({}), which shoplens does not import; write the file without it or flatten it first",
                    nested_name(dtype)
                ),
            });
        }
        let headers = columns.iter().map(|(name, _)| name.to_string()).collect();
        Ok(Self {
            path: path.to_path_buf(),
            headers,
            total_rows,
            next_slice_start: 0,
            slice: Vec::new(),
            slice_start: 0,
            slice_len: 0,
            cursor: 0,
        })
    }

    fn load_next_slice(&mut self) -> Result<bool, ImportError> {
        use polars::prelude::*;
        if self.next_slice_start >= self.total_rows {
            return Ok(false);
        }
        let format_err =
            |e: PolarsError| ImportError::Format { path: self.path.clone(), message: format!("not a readable Parquet file: {e}") };
        let file = File::open(&self.path).map_err(|source| ImportError::Io { path: self.path.clone(), source })?;
        let (columns, start) = (self.headers.clone(), self.next_slice_start);
        // polars panics on some malformed files rather than returning an error.
        let df = crate::jobs::catch_panic(move || {
            ParquetReader::new(file).with_columns(Some(columns)).with_slice(Some((start, PARQUET_SLICE_ROWS))).finish()
        })
        .map_err(|message| ImportError::Format { path: self.path.clone(), message: format!("a damaged Parquet file ({message})") })?
        .map_err(format_err)?;
        self.slice = df.columns().iter().map(parquet_text).collect::<PolarsResult<_>>().map_err(format_err)?;
        self.slice_start = self.next_slice_start;
        self.slice_len = df.height();
        self.next_slice_start += df.height().max(1);
        self.cursor = 0;
        Ok(self.slice_len > 0)
    }
}

fn is_nested(dtype: &polars::prelude::ArrowDataType) -> bool {
    use polars::prelude::ArrowDataType as A;
    matches!(dtype, A::List(_) | A::LargeList(_) | A::FixedSizeList(..) | A::Struct(_) | A::Map(..) | A::Union(_))
}

fn nested_name(dtype: &polars::prelude::ArrowDataType) -> &'static str {
    use polars::prelude::ArrowDataType as A;
    match dtype {
        A::Struct(_) => "a struct",
        A::Map(..) => "a map",
        A::Union(_) => "a union",
        _ => "a list",
    }
}

/// One Parquet column as the text its values stand for, exactly: decimals digit for digit from
/// their unscaled integers (a float would turn 6.95 into 6.9500000000000002), timestamps as
/// `YYYY-MM-DD HH:MM:SS[.fraction]` with ` UTC` when the file stores an instant (a time zone
/// on the column), so the importer's one time parser reads them like CSV text.
fn parquet_text(column: &polars::prelude::Column) -> polars::prelude::PolarsResult<polars::prelude::StringChunked> {
    use polars::prelude::*;
    let name = column.name().clone();
    let text = match column.dtype() {
        DataType::Decimal(_, scale) => {
            let scale = *scale;
            column.decimal()?.physical().iter().map(|v| v.map(|unscaled| decimal_text(unscaled, scale))).collect::<StringChunked>()
        }
        DataType::Datetime(unit, zone) => {
            let datetimes = column.datetime()?;
            let suffix = if zone.is_some() { " UTC" } else { "" };
            let nanos_per_unit = match unit {
                TimeUnit::Nanoseconds => 1,
                TimeUnit::Microseconds => 1_000,
                TimeUnit::Milliseconds => 1_000_000,
            };
            datetimes
                .physical()
                .iter()
                .map(|v| v.map(|value| datetime_text(value as i128 * nanos_per_unit, suffix)))
                .collect::<StringChunked>()
        }
        DataType::Binary => {
            // Strings written without their UTF-8 annotation (older writers): text if it is text.
            let binary = column.binary()?;
            let text: StringChunked = binary.iter().map(|v| v.and_then(|bytes| std::str::from_utf8(bytes).ok())).collect();
            if text.null_count() != binary.null_count() {
                polars_bail!(ComputeError: "column '{}' holds binary data, not text", name);
            }
            text
        }
        _ => column.cast(&DataType::String)?.str()?.rechunk().into_owned(),
    };
    Ok(text.with_name(name))
}

/// `unscaled × 10^-scale` written out exactly: (695, 2) → `6.95`, (-5, 3) → `-0.005`.
fn decimal_text(unscaled: i128, scale: usize) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    format!("{sign}{whole}.{fraction}")
}

/// Nanoseconds since 1970 as `YYYY-MM-DD HH:MM:SS`, with only the fraction digits it has.
fn datetime_text(nanos: i128, suffix: &str) -> String {
    let seconds = nanos.div_euclid(1_000_000_000) as i64;
    let fraction = nanos.rem_euclid(1_000_000_000) as u32;
    match chrono::DateTime::from_timestamp(seconds, fraction) {
        Some(t) => format!("{}{suffix}", t.naive_utc().format("%Y-%m-%d %H:%M:%S%.f")),
        // Out of chrono's range (year ±262,000): keep the raw number rather than invent a date.
        None => nanos.to_string(),
    }
}

impl RowSource for ParquetSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn read_row(&mut self, row: &mut RawRow) -> Result<bool, ImportError> {
        if self.cursor >= self.slice_len && !self.load_next_slice()? {
            return Ok(false);
        }
        row.line = (self.slice_start + self.cursor) as u64 + 2;
        row.malformed = None;
        row.fields.clear();
        for column in &self.slice {
            row.fields.push_field(column.get(self.cursor).unwrap_or(""));
        }
        self.cursor += 1;
        Ok(true)
    }

    fn progress(&self) -> (u64, u64) {
        ((self.slice_start + self.cursor) as u64, self.total_rows as u64)
    }
}

/// Excel workbooks via calamine: one sheet (the first unless named), first row as header.
///
/// A thread owns the workbook and streams the sheet's rows through a bounded channel, so a
/// sheet of a million rows never sits in memory whole (calamine's cell reader for .xlsx; other
/// workbooks, such as .ods, through its whole-sheet range).
pub struct XlsxSource {
    headers: Vec<String>,
    rows: std::sync::mpsc::Receiver<SheetMessage>,
    /// Columns the sheet spans: every row is padded to it, as a table's rows are.
    width: usize,
    total: u64,
    done: u64,
    last_line: u64,
    blank_rows: u64,
}

enum SheetMessage {
    /// The sheet was found: its data rows (header included) and columns.
    Start {
        rows: u64,
        width: usize,
    },
    /// A row that has cells, with its row number in the sheet (1-based).
    Row(u64, Vec<String>),
    Failed(ImportError),
}

/// Rows in flight between the reading thread and the import.
const SHEET_ROWS_IN_FLIGHT: usize = 1024;

impl XlsxSource {
    fn open(path: &Path, sheet: Option<&str>) -> Result<Self, ImportError> {
        let (sender, rows) = std::sync::mpsc::sync_channel(SHEET_ROWS_IN_FLIGHT);
        let (owned_path, sheet) = (path.to_path_buf(), sheet.map(str::to_string));
        std::thread::Builder::new()
            .name("read sheet".into())
            .spawn(move || {
                if let Err(e) = read_sheet(&owned_path, sheet.as_deref(), &sender) {
                    let _ = sender.send(SheetMessage::Failed(e));
                }
            })
            .map_err(|source| ImportError::Io { path: path.to_path_buf(), source })?;
        let (total, width) = match rows.recv() {
            Ok(SheetMessage::Start { rows, width }) => (rows, width),
            Ok(SheetMessage::Failed(e)) => return Err(e),
            Ok(SheetMessage::Row(..)) | Err(_) => return Err(ImportError::NoHeader { path: path.to_path_buf() }),
        };
        let (header_line, headers) = match rows.recv() {
            Ok(SheetMessage::Row(line, cells)) => (line, cells),
            Ok(SheetMessage::Failed(e)) => return Err(e),
            Ok(SheetMessage::Start { .. }) | Err(_) => return Err(ImportError::NoHeader { path: path.to_path_buf() }),
        };
        let mut headers: Vec<String> = headers.into_iter().map(|h| h.trim().to_string()).collect();
        headers.resize(width.max(headers.len()), String::new());
        // Trailing columns with neither a header nor (so far as the header row shows) data.
        while headers.last().is_some_and(String::is_empty) && headers.len() > 1 {
            headers.pop();
        }
        Ok(Self { headers, rows, width, total: total.saturating_sub(1), done: 0, last_line: header_line, blank_rows: 0 })
    }
}

fn read_sheet(path: &Path, sheet: Option<&str>, sender: &std::sync::mpsc::SyncSender<SheetMessage>) -> Result<(), ImportError> {
    use calamine::Reader;
    let format_err = |message: String| ImportError::Format { path: path.to_path_buf(), message };
    let choose = |names: Vec<String>| -> Result<String, ImportError> {
        match sheet {
            Some(wanted) => names.iter().find(|n| n.as_str() == wanted).cloned().ok_or_else(|| ImportError::UnknownSheet {
                path: path.to_path_buf(),
                sheet: wanted.to_string(),
                available: names.join(", "),
            }),
            None => names.first().cloned().ok_or_else(|| format_err("the workbook has no sheets".into())),
        }
    };
    // The reader went away (the import finished early or was cancelled): stop quietly.
    let send = |message| sender.send(message).is_ok();
    if let Ok(mut workbook) = calamine::open_workbook::<calamine::Xlsx<_>, _>(path) {
        let name = choose(workbook.sheet_names())?;
        let mut cells = workbook.worksheet_cells_reader(&name).map_err(|e| format_err(format!("cannot read sheet '{name}': {e}")))?;
        let dimensions = cells.dimensions();
        let (first_row, first_column) = dimensions.start;
        let width = (dimensions.end.1.saturating_sub(first_column) + 1) as usize;
        if !send(SheetMessage::Start { rows: u64::from(dimensions.end.0.saturating_sub(first_row)) + 1, width }) {
            return Ok(());
        }
        let mut row: Vec<String> = Vec::new();
        let mut current: Option<u32> = None;
        while let Some(cell) = cells.next_cell().map_err(|e| format_err(format!("cannot read sheet '{name}': {e}")))? {
            let (r, c) = cell.get_position();
            if current != Some(r) {
                if let Some(done) = current {
                    if !send(SheetMessage::Row(u64::from(done) + 1, std::mem::take(&mut row))) {
                        return Ok(());
                    }
                }
                current = Some(r);
            }
            let column = c.saturating_sub(first_column) as usize;
            if row.len() <= column {
                row.resize(column + 1, String::new());
            }
            row[column] = cell_text(&calamine::Data::from(cell.get_value().clone()));
        }
        if let Some(done) = current {
            send(SheetMessage::Row(u64::from(done) + 1, row));
        }
        return Ok(());
    }
    let mut workbook = calamine::open_workbook_auto(path).map_err(|e| format_err(format!("not a readable Excel workbook: {e}")))?;
    let name = choose(workbook.sheet_names())?;
    let range = workbook.worksheet_range(&name).map_err(|e| format_err(format!("cannot read sheet '{name}': {e}")))?;
    let first_row = range.start().map_or(0, |(row, _)| u64::from(row));
    if !send(SheetMessage::Start { rows: range.height() as u64, width: range.width() }) {
        return Ok(());
    }
    for (i, cells) in range.rows().enumerate() {
        if cells.iter().all(|c| matches!(c, calamine::Data::Empty)) {
            continue;
        }
        if !send(SheetMessage::Row(first_row + i as u64 + 1, cells.iter().map(cell_text).collect())) {
            break;
        }
    }
    Ok(())
}

fn cell_text(cell: &calamine::Data) -> String {
    use calamine::Data;
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.replace('\0', ""),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

impl RowSource for XlsxSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn read_row(&mut self, row: &mut RawRow) -> Result<bool, ImportError> {
        let (line, mut cells) = match self.rows.recv() {
            Ok(SheetMessage::Row(line, cells)) => (line, cells),
            Ok(SheetMessage::Failed(e)) => return Err(e),
            Ok(SheetMessage::Start { .. }) | Err(_) => return Ok(false),
        };
        // Rows without a single cell between data rows are blank lines, skipped and counted.
        self.blank_rows += line.saturating_sub(self.last_line + 1);
        self.last_line = line;
        self.done = line.saturating_sub(1);
        cells.resize(self.width.max(cells.len()), String::new());
        row.line = line;
        row.malformed = None;
        row.fields.clear();
        // Trailing empty cells are not extra columns.
        let width = cells.len().max(self.headers.len());
        for i in 0..width {
            if i < self.headers.len() || cells.get(i).is_some_and(|c| !c.is_empty()) {
                row.fields.push_field(cells.get(i).map_or("", String::as_str));
            }
        }
        Ok(true)
    }

    fn progress(&self) -> (u64, u64) {
        (self.done, self.total)
    }

    fn repairs(&self) -> RepairCounts {
        RepairCounts { blank_lines_skipped: self.blank_rows, ..RepairCounts::default() }
    }
}

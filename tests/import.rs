//! End-to-end import tests on the fixtures in testdata/ (see testdata/README.md).
//!
//! Reference figures for the UCI file come from an independent computation with pandas over the
//! same parquet (also listed in the dataset notes): `len(df)`, `df.duplicated().sum()`, etc.

use std::path::{Path, PathBuf};

use shoplens::import::{self, ImportError, ImportOptions, ImportOutcome};
use shoplens::jobs::JobContext;
use shoplens::workspace::catalogue::Target;
use shoplens::workspace::Workspace;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name)
}

fn workspace() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&dir.path().join("test.shoplens")).unwrap();
    (dir, ws)
}

fn import(ws: &mut Workspace, name: &str) -> Result<ImportOutcome, ImportError> {
    import_with(ws, &fixture(name), &ImportOptions::default())
}

fn import_with(ws: &mut Workspace, path: &Path, options: &ImportOptions) -> Result<ImportOutcome, ImportError> {
    import::import_file(ws, path, options, &JobContext::detached())
}

fn scalar<T: rusqlite::types::FromSql>(ws: &Workspace, sql: &str) -> T {
    ws.conn().query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every import must account for every row: read = loaded + rejected, and each rejected row is
/// in the rejects table.
fn assert_accounted(ws: &Workspace, outcome: &ImportOutcome) {
    let r = &outcome.report;
    assert_eq!(r.rows_read, r.rows_loaded + r.rows_rejected, "{}", outcome.file.display());
    let rejects: i64 =
        ws.conn().query_row("SELECT count(*) FROM rejects WHERE import_id = ?1", [outcome.import_id], |row| row.get(0)).unwrap();
    assert_eq!(rejects as u64, r.rows_rejected);
    let by_reason: u64 = r.rejected_by_reason.values().sum();
    assert_eq!(by_reason, r.rows_rejected);
}

#[test]
fn full_uci_parquet_loads_every_row_with_pandas_figures() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "uci_online_retail_ii_2009-2010.parquet").unwrap();
    assert_accounted(&ws, &out);
    let r = &out.report;
    assert_eq!(out.kind, "uci_online_retail_ii");
    assert_eq!(r.rows_read, 525_461);
    assert_eq!(r.rows_loaded, 525_461, "rejected: {:?}", r.rejected_by_reason);
    assert_eq!(r.cancelled_lines, Some(10_206));
    assert_eq!(r.cancelled_invoices, Some(4_592));
    assert_eq!(r.missing_customer_ids, Some(107_927));
    assert_eq!(r.distinct_customers, Some(4_383));
    assert_eq!(r.distinct_products, Some(4_632));
    assert_eq!(r.negative_quantities, Some(12_326));
    assert_eq!(r.zero_prices, Some(3_687));
    assert_eq!(r.duplicate_rows, 6_865);
    assert_eq!(r.first_date.as_deref(), Some("2009-12-01 07:45:00"));
    assert_eq!(r.last_date.as_deref(), Some("2010-12-09 20:01:00"));
    assert!(r.nulls_by_column.contains(&("description".to_string(), 2_928)), "{:?}", r.nulls_by_column);

    // The same figures by SQL over the loaded table.
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM order_lines"), 525_461);
    assert_eq!(scalar::<i64>(&ws, "SELECT count(DISTINCT customer_id) FROM order_lines"), 4_383);
    assert_eq!(scalar::<i64>(&ws, "SELECT sum(cancelled) FROM order_lines"), 10_206);
    let revenue: f64 = scalar(&ws, "SELECT sum(quantity * unit_price) FROM order_lines");
    assert!((revenue - 9_539_484.634).abs() < 0.01, "{revenue}");
    let duplicates: i64 = scalar(
        &ws,
        "SELECT sum(n - 1) FROM (SELECT count(*) n FROM order_lines GROUP BY invoice, stock_code, description, quantity, invoice_date, unit_price, customer_id, country)",
    );
    assert_eq!(duplicates, 6_865);
    // Float exports of ids are normalised; invoices stay text even though most look numeric.
    assert_eq!(scalar::<String>(&ws, "SELECT customer_id FROM order_lines WHERE customer_id IS NOT NULL LIMIT 1"), "13085");
    assert_eq!(scalar::<String>(&ws, "SELECT typeof(invoice) FROM order_lines LIMIT 1"), "text");
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM order_lines WHERE unit_price < 0"), 3);
}

#[test]
fn uci_csv_head_matches_the_parquet_rows() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "uci_online_retail_ii_2009-12_head.csv").unwrap();
    assert_accounted(&ws, &out);
    assert_eq!((out.report.rows_read, out.report.rows_loaded), (2_000, 2_000));
    assert_eq!(out.format, "csv");
    // Descriptions keep their spaces and embedded quotes, as exported.
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM order_lines WHERE description = 'CAT BOWL '"), 3);
    let first: (String, String, f64, String) = ws
        .conn()
        .query_row("SELECT invoice, invoice_date, unit_price, customer_id FROM order_lines LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!(first, ("489434".into(), "2009-12-01 07:45:00".into(), 6.95, "13085".into()));
    // Imports load in rollback-journal mode but leave the workspace in WAL mode for readers.
    assert_eq!(scalar::<String>(&ws, "PRAGMA journal_mode"), "wal");
}

#[test]
fn rees46_events_keep_exact_ids_and_reject_the_truncated_last_row() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "rees46_2019-Oct_head.csv").unwrap();
    assert_accounted(&ws, &out);
    assert_eq!(out.kind, "rees46_events");
    assert_eq!((out.report.rows_read, out.report.rows_loaded, out.report.rows_rejected), (3_001, 3_000, 1));
    let line: i64 = scalar(&ws, "SELECT line FROM rejects");
    assert_eq!(line, 3_002, "the truncated row is the file's last line");
    assert_eq!(scalar::<i64>(&ws, "SELECT category_id FROM events LIMIT 1"), 2_103_807_459_595_387_724);
    assert_eq!(scalar::<String>(&ws, "SELECT event_time FROM events LIMIT 1"), "2019-10-01 00:00:00");
    assert_eq!(scalar::<String>(&ws, "SELECT typeof(user_id) FROM events LIMIT 1"), "integer");
}

#[test]
fn rees46_cosmetics_events_without_category_columns() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "rees46_cosmetics_2022-10_head.csv").unwrap();
    assert_accounted(&ws, &out);
    assert_eq!(out.report.rows_loaded, 999);
    // Counts from the dataset notes (pandas value_counts on the same file).
    let types = &out.report.event_types;
    assert_eq!((types["view"], types["cart"], types["remove_from_cart"], types["purchase"]), (319, 287, 252, 141));
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM events WHERE category_id IS NULL AND brand IS NULL"), 999);
}

/// Sums a CDNOW file's dollar column independently of the importer.
fn cdnow_file_totals(name: &str) -> (usize, f64, usize) {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|t| t.first().is_some_and(|f| f.parse::<u64>().is_ok()))
        .collect();
    let dollars = rows.iter().map(|t| t[t.len() - 1].parse::<f64>().unwrap()).sum();
    let customers = rows.iter().map(|t| t[0]).collect::<std::collections::HashSet<_>>().len();
    (rows.len(), dollars, customers)
}

#[test]
fn cdnow_sample_and_master_become_order_lines() {
    let (_dir, mut ws) = workspace();
    for (name, kind, customers) in [("CDNOW_sample.txt", "cdnow_sample", 2_357), ("CDNOW_master.txt", "cdnow_master", 23_570)] {
        let out = import(&mut ws, name).unwrap();
        assert_accounted(&ws, &out);
        assert_eq!(out.kind, kind);
        let (rows, dollars, distinct) = cdnow_file_totals(name);
        assert_eq!(out.report.rows_loaded as usize, rows);
        assert_eq!(distinct, customers);
        assert_eq!(out.report.distinct_customers, Some(customers as u64));
        let loaded: f64 = ws
            .conn()
            .query_row("SELECT sum(quantity * unit_price) FROM order_lines WHERE import_id = ?1", [out.import_id], |r| r.get(0))
            .unwrap();
        assert!((loaded - dollars).abs() < 1e-6 * dollars, "{loaded} vs {dollars}");
    }
    // Ids lose their zero padding so that both files name customer 4 the same way.
    assert_eq!(scalar::<i64>(&ws, "SELECT count(DISTINCT import_id) FROM order_lines WHERE customer_id = '4'"), 2);
    assert_eq!(scalar::<String>(&ws, "SELECT invoice FROM order_lines WHERE customer_id = '4' LIMIT 1"), "4-19970101");
}

#[test]
fn excel_first_sheet_by_default_named_sheet_on_request() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "uci_online_retail_ii_head.xlsx").unwrap();
    assert_accounted(&ws, &out);
    assert_eq!((out.format.as_str(), out.report.rows_loaded), ("xlsx", 200));
    assert_eq!(scalar::<String>(&ws, "SELECT invoice_date FROM order_lines LIMIT 1"), "2009-12-01 07:45:00");
    assert_eq!(scalar::<String>(&ws, "SELECT customer_id FROM order_lines LIMIT 1"), "13085");

    let notes = ImportOptions { sheet: Some("Notes".into()), ..Default::default() };
    let out = import_with(&mut ws, &fixture("uci_online_retail_ii_head.xlsx"), &ImportOptions { force: true, ..notes }).unwrap();
    assert_eq!(out.kind, "raw");
    let missing = ImportOptions { sheet: Some("Nope".into()), force: true, ..Default::default() };
    let err = import_with(&mut ws, &fixture("uci_online_retail_ii_head.xlsx"), &missing).unwrap_err();
    assert!(err.to_string().contains("no sheet named 'Nope'") && err.to_string().contains("Notes"), "{err}");
}

#[test]
fn json_lines_with_a_broken_line() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "rees46_head.jsonl").unwrap();
    assert_accounted(&ws, &out);
    assert_eq!((out.report.rows_read, out.report.rows_loaded, out.report.rows_rejected), (301, 300, 1));
    assert_eq!(out.report.rejected_by_reason.keys().collect::<Vec<_>>(), ["unreadable row"]);
    assert_eq!(scalar::<i64>(&ws, "SELECT category_id FROM events LIMIT 1"), 2_103_807_459_595_387_724);
}

#[test]
fn windows_1252_text_comes_out_exactly() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "windows1252_accents.csv").unwrap();
    assert_eq!(out.encoding, "windows-1252");
    let names: Vec<String> = ws
        .conn()
        .prepare("SELECT description FROM order_lines WHERE invoice IN ('489500', '489501') ORDER BY stock_code")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names, ["Hermès silk scarf", "Chloé leather bag", "Gift voucher £50"]);
}

#[test]
fn nul_bytes_are_removed_and_counted() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "nul_bytes.csv").unwrap();
    assert_eq!(out.report.rows_loaded, 3);
    assert_eq!(out.report.repairs.nul_bytes_removed, 2);
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM order_lines WHERE description = 'PINK CHERRY LIGHTS'"), 1);
}

/// Found by the damage properties (tests/hostile.rs): a NUL inside a multi-byte character
/// (`C3 00 88`) makes the row not UTF-8 as written. It is read as Windows-1252 and the NUL
/// removed — the NUL is never removed first, which would heal the bytes into an `È` the file
/// does not hold.
#[test]
fn a_nul_inside_a_character_does_not_heal_it() {
    let (dir, mut ws) = workspace();
    let file = dir.path().join("nul_in_char.csv");
    let mut bytes = b"Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n".to_vec();
    for invoice in 1..=9 {
        bytes.extend_from_slice(format!("{invoice},A,CRÈME,1,2010-03-01 00:00:00,1.00,12001,United Kingdom\n").as_bytes());
    }
    bytes.extend_from_slice(b"10,A,CR\xC3\x00\x88ME,1,2010-03-01 00:00:00,1.00,12001,United Kingdom\n");
    std::fs::write(&file, bytes).unwrap();
    let out = import::import_file(&mut ws, &file, &ImportOptions::default(), &JobContext::detached()).unwrap();
    assert_eq!((out.report.repairs.nul_bytes_removed, out.report.repairs.rows_decoded_as_windows_1252), (1, 1), "{}", out.report.encoding);
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM order_lines WHERE description = 'CRÈME'"), 9, "the UTF-8 rows stay UTF-8");
    let second: String = scalar(&ws, "SELECT description FROM order_lines WHERE invoice = '10'");
    assert_eq!(second, "CRÃˆME", "C3 and 88 read as Windows-1252 (Ã and ˆ), the NUL gone");
}

#[test]
fn ragged_rows_are_rejected_with_line_and_reason() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "ragged_rows.csv").unwrap();
    assert_accounted(&ws, &out);
    assert_eq!((out.report.rows_read, out.report.rows_loaded, out.report.rows_rejected), (5, 3, 2));
    let rejects: Vec<(i64, String)> = ws
        .conn()
        .prepare("SELECT line, reason FROM rejects ORDER BY line")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rejects[0], (3, "wrong number of fields: expected 8, found 4".to_string()));
    assert_eq!(rejects[1], (4, "wrong number of fields: expected 8, found 10".to_string()));
    let raw: String = scalar(&ws, "SELECT raw FROM rejects ORDER BY line LIMIT 1");
    assert_eq!(raw, "489434,79323P,PINK CHERRY LIGHTS,12");
}

#[test]
fn bad_values_are_rejected_by_reason_and_good_rows_load() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "bad_values.csv").unwrap();
    assert_accounted(&ws, &out);
    assert_eq!((out.report.rows_read, out.report.rows_loaded), (7, 2));
    let reasons: Vec<&str> = out.report.rejected_by_reason.keys().map(String::as_str).collect();
    assert_eq!(reasons, ["invoice: missing", "invoice_date: not a date", "quantity: not a whole number", "unit_price: not a number"]);
    assert_eq!(out.report.rejected_by_reason["invoice_date: not a date"], 2);
}

#[test]
fn empty_and_header_only_files() {
    let (_dir, mut ws) = workspace();
    let err = import(&mut ws, "empty.csv").unwrap_err();
    assert!(matches!(err, ImportError::Empty { .. }), "{err}");
    assert!(err.to_string().ends_with("empty.csv is empty"), "{err}");
    let out = import(&mut ws, "header_only.csv").unwrap();
    assert_eq!(out.report.rows_read, 0);
    assert!(out.report.warnings.iter().any(|w| w.contains("no data rows")));
}

#[test]
fn gzip_whole_and_truncated() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "orders_small.csv.gz").unwrap();
    assert_eq!((out.format.as_str(), out.report.rows_loaded), ("csv (gzip)", 4));
    let err = import(&mut ws, "truncated.csv.gz").unwrap_err();
    assert!(matches!(err, ImportError::Truncated { .. }), "{err}");
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM order_lines"), 4, "nothing of the truncated file loaded");
    assert_eq!(scalar::<String>(&ws, "SELECT status FROM imports ORDER BY id DESC LIMIT 1"), "failed");
}

#[test]
fn semicolons_decimal_commas_crlf_and_embedded_newlines() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "semicolon_decimal_comma.csv").unwrap();
    assert_accounted(&ws, &out);
    assert_eq!((out.format.as_str(), out.report.rows_loaded), ("delimited ';'", 3));
    assert_eq!(scalar::<f64>(&ws, "SELECT unit_price FROM order_lines LIMIT 1"), 6.95);
    assert_eq!(scalar::<String>(&ws, "SELECT invoice_date FROM order_lines LIMIT 1"), "2009-12-01 07:45:00");
    assert_eq!(scalar::<String>(&ws, "SELECT description FROM order_lines WHERE stock_code = '22350'"), "CAT BOWL\r\nWITH A SECOND LINE");
    assert_eq!(scalar::<String>(&ws, "SELECT description FROM order_lines LIMIT 1"), "15CM CHRISTMAS GLASS BALL; 20 LIGHTS");
}

#[test]
fn old_uci_layout_tsv_with_us_slash_dates() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "uci_old_layout.tsv").unwrap();
    assert_eq!((out.kind.as_str(), out.format.as_str(), out.report.rows_loaded), ("uci_online_retail", "tsv", 3));
    assert_eq!(scalar::<String>(&ws, "SELECT max(invoice_date) FROM order_lines"), "2010-12-13 08:28:00");
}

#[test]
fn unknown_layout_becomes_raw_or_maps_and_the_mapping_is_remembered() {
    let (dir, mut ws) = workspace();
    let out = import(&mut ws, "shop_export.csv").unwrap();
    assert_eq!((out.kind.as_str(), out.table.as_str()), ("raw", "shop_export"));

    let options = ImportOptions {
        target: Some(Target::OrderLines),
        mapping: import::kinds::parse_mapping_arg("invoice=Order No,invoice_date=Ordered At,customer_id=Client,country=Ship To").unwrap(),
        force: true,
        ..Default::default()
    };
    let out = import_with(&mut ws, &fixture("shop_export.csv"), &options).unwrap();
    assert_eq!((out.table.as_str(), out.report.rows_loaded), ("order_lines", 3));
    assert_eq!(
        scalar::<String>(&ws, "SELECT stock_code || '|' || quantity || '|' || country FROM order_lines LIMIT 1"),
        "SKU-1|2|Netherlands"
    );

    // Another file with the same header is loaded with the saved mapping, no questions asked.
    let next_week = dir.path().join("shop_export_next_week.csv");
    std::fs::write(
        &next_week,
        "Order No,Ordered At,SKU,Item,Qty,Price Each,Client,Ship To\nA-1003,2024-03-09 10:00:00,SKU-3,Spoon,4,1.25,c-20,France\n",
    )
    .unwrap();
    let out = import_with(&mut ws, &next_week, &ImportOptions::default()).unwrap();
    assert_eq!((out.kind.as_str(), out.table.as_str()), ("saved mapping for order_lines", "order_lines"));
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM order_lines"), 4);

    // As events, an order export has no event time or type: a clear error, nothing loaded.
    let as_events = ImportOptions { target: Some(Target::Events), force: true, ..Default::default() };
    let err = import_with(&mut ws, &fixture("shop_export.csv"), &as_events).unwrap_err();
    assert!(err.to_string().contains("no column for required event_time, event_type"), "{err}");
    let wrong_column = ImportOptions {
        target: Some(Target::OrderLines),
        mapping: vec![("invoice".into(), "Nope".into())],
        force: true,
        ..Default::default()
    };
    let err = import_with(&mut ws, &fixture("shop_export.csv"), &wrong_column).unwrap_err();
    assert!(err.to_string().contains("the file has no column 'Nope'"), "{err}");
}

#[test]
fn raw_tables_type_a_column_only_when_every_value_parses() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "marketplace_sellers.csv").unwrap();
    assert_eq!(out.table, "marketplace_sellers");
    let types: Vec<(String, String)> = ws
        .conn()
        .prepare("SELECT name, type FROM pragma_table_info('marketplace_sellers')")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let type_of = |c: &str| types.iter().find(|(n, _)| n == c).map(|(_, t)| t.clone()).unwrap();
    assert_eq!((type_of("zip_prefix"), type_of("listed_items"), type_of("rating")), ("TEXT".into(), "INTEGER".into(), "REAL".into()));
    assert_eq!(scalar::<String>(&ws, "SELECT zip_prefix FROM marketplace_sellers LIMIT 1"), "01234");
    assert_eq!(scalar::<String>(&ws, "SELECT city FROM marketplace_sellers LIMIT 1"), "São Paulo");
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM marketplace_sellers WHERE listed_items IS NULL"), 1);
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM raw_tables"), 1);
}

#[test]
fn the_same_file_twice_is_refused_unless_forced() {
    let (_dir, mut ws) = workspace();
    import(&mut ws, "uci_old_layout.tsv").unwrap();
    let err = import(&mut ws, "uci_old_layout.tsv").unwrap_err();
    assert!(matches!(err, ImportError::AlreadyImported { import_id: 1, .. }), "{err}");
    assert!(err.to_string().contains("--force"));
    import_with(&mut ws, &fixture("uci_old_layout.tsv"), &ImportOptions { force: true, ..Default::default() }).unwrap();
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM order_lines"), 6);
}

#[test]
fn a_huge_field_loads_intact() {
    let (dir, mut ws) = workspace();
    let path = dir.path().join("huge.csv");
    let huge = "X".repeat(5_000_000);
    std::fs::write(&path, format!("Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n1,A,\"{huge}\",1,2009-12-01 07:45:00,1.00,,UK\n2,B,small,1,2009-12-01 07:45:00,1.00,,UK\n")).unwrap();
    let out = import_with(&mut ws, &path, &ImportOptions::default()).unwrap();
    assert_eq!(out.report.rows_loaded, 2);
    assert_eq!(scalar::<i64>(&ws, "SELECT max(length(description)) FROM order_lines"), 5_000_000);
}

/// Writes `rows` generated order lines to `path`, gzip'd when the name ends in .gz.
fn generated_orders(path: &Path, rows: u64) {
    let file = std::fs::File::create(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        shoplens::generate::write_order_lines(gz, rows, 1).unwrap();
    } else {
        shoplens::generate::write_order_lines(std::io::BufWriter::new(file), rows, 1).unwrap();
    }
}

fn data_counts(ws: &Workspace) -> (i64, i64, i64) {
    (
        scalar(ws, "SELECT count(*) FROM order_lines"),
        scalar(ws, "SELECT count(*) FROM rejects"),
        scalar(ws, "SELECT count(*) FROM imports WHERE status = 'loaded'"),
    )
}

#[test]
fn a_failure_after_rows_were_written_leaves_the_workspace_as_before() {
    let (dir, mut ws) = workspace();
    import(&mut ws, "uci_old_layout.tsv").unwrap();
    let before = data_counts(&ws);
    // 200k lines gzip'd, cut at 70%: the parser fails long after the first batches were inserted.
    let full = dir.path().join("big.csv.gz");
    generated_orders(&full, 200_000);
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.path().join("cut.csv.gz");
    std::fs::write(&cut, &bytes[..bytes.len() * 7 / 10]).unwrap();
    let err = import_with(&mut ws, &cut, &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, ImportError::Truncated { .. }), "{err}");
    assert_eq!(data_counts(&ws), before);
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM imports WHERE status = 'failed'"), 1, "the attempt is in the history");
}

#[test]
fn cancelling_an_import_leaves_the_workspace_as_before() {
    let (dir, ws) = workspace();
    let path = dir.path().join("orders.csv");
    generated_orders(&path, 300_000);
    let ws_path = ws.path().to_path_buf();
    drop(ws);
    let job = shoplens::jobs::Job::spawn("import", move |ctx| {
        let mut ws = Workspace::open(&ws_path).unwrap();
        let result = import::import_file(&mut ws, &path, &ImportOptions::default(), ctx);
        Ok((result, ws))
    });
    // Cancel once rows are flowing.
    while job.progress().done == 0 && !job.is_finished() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    job.cancel();
    let (result, ws) = job.join().unwrap();
    assert!(matches!(result, Err(ImportError::Cancelled(_))), "{:?}", result.map(|o| o.report.rows_loaded));
    assert_eq!(data_counts(&ws), (0, 0, 0));
    assert_eq!(scalar::<String>(&ws, "SELECT status FROM imports"), "cancelled");
}

/// Starts `shoplens import` on `rows` generated lines, kills it with SIGKILL once `grown` shows
/// that part of the transaction is on disk, and checks that only the earlier import remains.
fn kill_9_mid_import(rows: u64, hold_reader: bool, grown: impl Fn(&Path) -> bool) {
    let dir = tempfile::tempdir().unwrap();
    let ws_path = dir.path().join("kill.shoplens");
    {
        let mut ws = Workspace::open(&ws_path).unwrap();
        import(&mut ws, "uci_old_layout.tsv").unwrap();
    }
    // An open connection (as the app's SQL console keeps) makes the import stay in WAL mode.
    let reader = hold_reader.then(|| {
        let conn = shoplens::workspace::open_read_only(&ws_path).unwrap();
        let rows: i64 = conn.query_row("SELECT count(*) FROM order_lines", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 3);
        conn
    });
    let path = dir.path().join("orders.csv");
    generated_orders(&path, rows);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .arg("import")
        .arg(&path)
        .arg("--workspace")
        .arg(&ws_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !grown(dir.path()) {
        assert!(std::time::Instant::now() < deadline, "import never got going");
        assert!(child.try_wait().unwrap().is_none(), "import finished before it could be killed");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    drop(reader);

    let ws = Workspace::open(&ws_path).unwrap();
    assert_eq!(scalar::<String>(&ws, "PRAGMA integrity_check"), "ok");
    assert_eq!(data_counts(&ws), (3, 0, 1), "only the earlier import remains");
}

fn file_len(path: PathBuf) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[test]
fn kill_9_while_pages_spill_to_the_workspace_loses_nothing() {
    // 3M lines need more pages than the import's page cache holds, so they spill into the main
    // file (rollback-journal mode) long before the commit.
    kill_9_mid_import(3_000_000, false, |dir| file_len(dir.join("kill.shoplens")) > 64 << 20);
}

#[test]
fn kill_9_mid_import_in_wal_mode_loses_nothing() {
    kill_9_mid_import(1_000_000, true, |dir| file_len(dir.join("kill.shoplens-wal")) > 8 << 20);
}

#[test]
fn every_fixture_accounts_for_every_row() {
    let (_dir, mut ws) = workspace();
    let mut seen = 0;
    for entry in std::fs::read_dir(fixture("")).unwrap() {
        let path = entry.unwrap().path();
        // Reference results (testdata/reference) and notes are not inputs.
        if path.is_dir() || path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        match import_with(&mut ws, &path, &ImportOptions { force: true, ..Default::default() }) {
            Ok(out) => {
                assert_accounted(&ws, &out);
                seen += 1;
            }
            Err(ImportError::Empty { .. } | ImportError::Truncated { .. }) => {}
            Err(other) => panic!("{}: {other}", path.display()),
        }
    }
    assert!(seen >= 15, "{seen}");
}

#[test]
fn a_file_that_differs_only_in_the_middle_is_not_taken_for_a_duplicate() {
    let (dir, mut ws) = workspace();
    // Over 2 MiB, so the fingerprint (size, first and last MiB) cannot see the middle.
    let first = dir.path().join("first.csv");
    generated_orders(&first, 60_000);
    let mut bytes = std::fs::read(&first).unwrap();
    assert!(bytes.len() > 3 << 20);
    let middle = bytes.len() / 2;
    let digit = (middle..).find(|&i| bytes[i].is_ascii_digit() && bytes[i + 1] == b',').unwrap();
    bytes[digit] = if bytes[digit] == b'9' { b'8' } else { b'9' };
    let second = dir.path().join("second.csv");
    std::fs::write(&second, &bytes).unwrap();

    import_with(&mut ws, &first, &ImportOptions::default()).unwrap();
    import_with(&mut ws, &second, &ImportOptions::default()).unwrap();
    let err = import_with(&mut ws, &second, &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, ImportError::AlreadyImported { import_id: 2, .. }), "{err}");
    let hashes: i64 = scalar(&ws, "SELECT count(DISTINCT file_hash) FROM imports WHERE status = 'loaded'");
    assert_eq!(hashes, 2);
}

#[test]
fn inspection_shows_columns_samples_and_whether_the_file_is_recognised() {
    let (_dir, mut ws) = workspace();
    let shop = import::inspect(ws.conn(), &fixture("shop_export.csv"), None).unwrap();
    assert_eq!(shop.headers[0], "Order No");
    assert_eq!(shop.samples_of("Qty"), ["2", "1", "1"]);
    assert_eq!(shop.recognised, None);
    let uci = import::inspect(ws.conn(), &fixture("uci_old_layout.tsv"), None).unwrap();
    assert_eq!(uci.recognised.as_deref(), Some("uci_online_retail"));

    // Once a mapping is confirmed, the same header is recognised.
    let options = ImportOptions {
        target: Some(Target::OrderLines),
        mapping: import::kinds::parse_mapping_arg("invoice=Order No,invoice_date=Ordered At").unwrap(),
        ..Default::default()
    };
    import_with(&mut ws, &fixture("shop_export.csv"), &options).unwrap();
    let again = import::inspect(ws.conn(), &fixture("shop_export.csv"), None).unwrap();
    assert_eq!(again.recognised.as_deref(), Some("saved mapping for order_lines"));
}

#[test]
fn json_keys_that_appear_late_are_counted_and_named_not_lost_silently() {
    let (dir, mut ws) = workspace();
    let path = dir.path().join("late_keys.jsonl");
    let mut text = String::new();
    for i in 0..1_005 {
        let extra = if i >= 1_002 { r#", "coupon": "SPRING""# } else { "" };
        text.push_str(&format!("{{\"id\": {i}, \"city\": \"Lyon\"{extra}}}\n"));
    }
    std::fs::write(&path, text).unwrap();
    let out = import_with(&mut ws, &path, &ImportOptions::default()).unwrap();
    assert_eq!(out.report.rows_loaded, 1_005);
    assert_eq!(out.report.repairs.json_values_without_column, 3);
    assert!(
        out.report.warnings.iter().any(|w| w.contains("3 values were not loaded") && w.contains("coupon")),
        "{:?}",
        out.report.warnings
    );
}

/// Hostile input, thousands separators: the number format is decided once per column from the
/// sample, values are read with it exactly, a contradicting value is rejected with a reason, and
/// the report says how each column's numbers were read (testdata/hostile/README.md).
#[test]
fn thousands_separators_are_read_by_the_columns_format_never_guessed_per_value() {
    let prices = |ws: &Workspace, invoices: &str| -> Vec<(String, f64)> {
        let sql = format!("SELECT invoice, unit_price FROM order_lines WHERE invoice IN ({invoices}) ORDER BY invoice");
        let mut stmt = ws.conn().prepare(&sql).unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    let rejects = |ws: &Workspace, id: i64| -> Vec<String> {
        let mut stmt = ws.conn().prepare("SELECT reason FROM rejects WHERE import_id = ?1 ORDER BY line").unwrap();
        stmt.query_map([id], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };

    let (_dir, mut ws) = workspace();
    let point = import(&mut ws, "hostile/thousands_decimal_point.csv").unwrap();
    assert_accounted(&ws, &point);
    let want = [("1001", 12000.0), ("1002", 1234.5), ("1003", 6.95), ("1004", 1234.0), ("1006", 1299.0)];
    assert_eq!(prices(&ws, "'1001','1002','1003','1004','1005','1006'"), want.map(|(i, p)| (i.to_string(), p)).to_vec());
    assert_eq!(
        rejects(&ws, point.import_id),
        ["unit_price: written differently from the column's other numbers (decimal point, ',' or a space groups thousands) ('3,5')"]
    );
    let report = point.report.to_string();
    let line = report.lines().find(|l| l.contains("numbers in unit_price")).unwrap_or_default();
    assert!(line.ends_with("decimal point, ',' or a space groups thousands"), "{report}");
    assert!(report.contains("both ways"), "the mixed sample is said: {report}");

    let comma = import(&mut ws, "hostile/thousands_decimal_comma.csv").unwrap();
    assert_accounted(&ws, &comma);
    let want = [("2001", 1234.5), ("2002", 3.5), ("2003", 1234.5), ("2004", 12000.0), ("2006", 7.0)];
    assert_eq!(prices(&ws, "'2001','2002','2003','2004','2005','2006'"), want.map(|(i, p)| (i.to_string(), p)).to_vec());
    assert_eq!(
        rejects(&ws, comma.import_id),
        ["unit_price: written differently from the column's other numbers (decimal comma, '.' or a space groups thousands) ('6.95')"]
    );

    let ambiguous = import(&mut ws, "hostile/thousands_ambiguous.csv").unwrap();
    assert_eq!(
        prices(&ws, "'3001','3002','3003'"),
        [("3001".to_string(), 1234.0), ("3002".to_string(), 2500.0), ("3003".to_string(), 7.0)]
    );
    assert!(ambiguous.report.warnings.iter().any(|w| w.contains("could be thousands or decimals")), "{:?}", ambiguous.report.warnings);
}

/// Hostile input, raw tables: a column becomes INTEGER or REAL only when SQLite stores every
/// value as the number it was written as; otherwise it stays text, exactly as in the file.
#[test]
fn raw_numeric_looking_text_is_kept_exactly() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "hostile/raw_numbers_keep_their_text.csv").unwrap();
    assert_accounted(&ws, &out);
    let table = out.table.clone();
    let column = |name: &str| -> (String, Vec<String>) {
        let kind: String = scalar(&ws, &format!("SELECT type FROM pragma_table_info('{table}') WHERE name = '{name}'"));
        let mut stmt = ws.conn().prepare(&format!("SELECT CAST({name} AS TEXT) FROM \"{table}\" ORDER BY rowid")).unwrap();
        (kind, stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect())
    };
    let text = |values: &[&str]| values.iter().map(|v| v.to_string()).collect::<Vec<_>>();
    assert_eq!(column("phone"), ("TEXT".into(), text(&["+4915112345678", "+4930123456"])));
    assert_eq!(column("big_id"), ("TEXT".into(), text(&["1234567890123456789012345", "1234567890123456789012346"])));
    assert_eq!(column("id19"), ("TEXT".into(), text(&["9223372036854775806", "9223372036854775808"])));
    assert_eq!(column("code"), ("TEXT".into(), text(&["007", "012"])));
    assert_eq!(column("amount"), ("REAL".into(), text(&["1.5", "2.0"])));
    assert_eq!(column("items"), ("INTEGER".into(), text(&["1", "2"])));
    assert_eq!(column("ratio"), ("TEXT".into(), text(&["0.25", "1e-3"])));
}

/// Hostile input, customer ids from float columns: `nan` is a missing id (not the customer
/// "nan"), `1.3085e4` is customer 13085, and a value that is not a whole number stays as written.
#[test]
fn customer_ids_from_float_exports_are_normalised_exactly() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "hostile/customer_ids_from_float_exports.csv").unwrap();
    assert_accounted(&ws, &out);
    let mut stmt = ws.conn().prepare("SELECT customer_id FROM order_lines ORDER BY invoice").unwrap();
    let ids: Vec<Option<String>> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    let want = [Some("13085"), None, Some("13085"), None, Some("1.30851e4")];
    assert_eq!(ids, want.map(|v| v.map(String::from)).to_vec());
    assert_eq!(out.report.missing_customer_ids, Some(2));
}

/// Hostile input, one odd line: a line of spaces inside a CSV, or a short line early in a
/// CDNOW file, no longer changes how the whole file is read; and an import in which every row
/// is rejected fails instead of succeeding with nothing loaded.
#[test]
fn a_minority_of_odd_lines_does_not_change_how_a_file_is_read() {
    let (_dir, mut ws) = workspace();
    let blank = import(&mut ws, "hostile/blank_line_inside.csv").unwrap();
    assert_accounted(&ws, &blank);
    assert_eq!((blank.format.as_str(), blank.report.rows_loaded, blank.report.rows_rejected), ("csv", 9, 0));
    assert_eq!(blank.report.repairs.blank_lines_skipped, 1);
    assert!(blank.report.warnings.iter().any(|w| w.contains("1 lines of only spaces were skipped")), "{:?}", blank.report.warnings);

    let cdnow = import(&mut ws, "hostile/cdnow_short_line_early.txt").unwrap();
    assert_accounted(&ws, &cdnow);
    assert_eq!(cdnow.kind, "cdnow_sample");
    assert_eq!((cdnow.report.rows_loaded, cdnow.report.rows_rejected), (40, 1));

    let before: i64 = scalar(&ws, "SELECT count(*) FROM order_lines");
    let err = import(&mut ws, "hostile/everything_rejected.csv").unwrap_err();
    assert!(matches!(err, ImportError::NothingLoaded { rejected: 3, count: 3, .. }), "{err}");
    assert!(err.to_string().contains("none of its 3 rows could be loaded"), "{err}");
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM order_lines"), before, "nothing was loaded");
    assert_eq!(scalar::<String>(&ws, "SELECT status FROM imports ORDER BY id DESC LIMIT 1"), "failed");
}

/// Hostile input, encodings: one stray byte does not make a UTF-8 file Windows-1252 (its row is
/// repaired and counted), UTF-16 without a byte order mark is read, and the report says what
/// encoding was chosen and why.
#[test]
fn the_encoding_is_decided_by_the_whole_sample_and_reported() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "hostile/utf8_one_bad_byte.csv").unwrap();
    assert_accounted(&ws, &out);
    assert_eq!(out.encoding, "UTF-8");
    assert_eq!(scalar::<String>(&ws, "SELECT description FROM order_lines WHERE invoice = '7003'"), "CRÈME BRÛLÉE SET 3");
    assert_eq!(
        scalar::<String>(&ws, "SELECT description FROM order_lines WHERE invoice = '7009'"),
        "CAFé MUG",
        "the byte 0xE9 read as Windows-1252"
    );
    assert_eq!(out.report.repairs.rows_decoded_as_windows_1252, 1);
    let report = out.report.to_string();
    assert!(report.contains("encoding       UTF-8 ("), "{report}");
    assert!(report.contains("1 byte sequences that are not UTF-8"), "{report}");

    let out = import(&mut ws, "hostile/utf16le_no_bom.csv").unwrap();
    assert_accounted(&ws, &out);
    assert_eq!((out.encoding.as_str(), out.report.rows_loaded), ("UTF-16LE", 8));
    assert_eq!(
        scalar::<String>(&ws, "SELECT description FROM order_lines WHERE import_id = 2 ORDER BY invoice LIMIT 1"),
        "CRÈME BRÛLÉE SET 1"
    );
    assert!(out.report.encoding.contains("without a byte order mark"), "{}", out.report.encoding);
}

/// Hostile input, garbage: files that are not tables are refused with a message that names what
/// they look like, and no raw table is created from their bytes.
#[test]
fn files_that_are_not_tables_are_refused_by_name() {
    let (dir, mut ws) = workspace();
    for (file, what) in [
        ("random_bytes.bin", "does not look like text"),
        ("nul_bytes_only.csv", "only NUL bytes"),
        ("image.png", "a PNG image"),
        ("archive.7z", "a 7-Zip archive"),
        ("two_files.zip", "a zip archive of 2 files"),
        ("array.json", "a JSON array"),
    ] {
        let err = import(&mut ws, &format!("hostile/{file}")).unwrap_err();
        assert!(matches!(err, ImportError::NotATable { .. }), "{file}: {err}");
        assert!(err.to_string().contains(what), "{file}: {err}");
    }
    // A workspace (an SQLite file), even this one.
    let other = dir.path().join("other.shoplens");
    drop(Workspace::open(&other).unwrap());
    let err = import_with(&mut ws, &other, &ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("an SQLite database"), "{err}");
    let itself = ws.path().to_path_buf();
    let err = import_with(&mut ws, &itself, &ImportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("an SQLite database"), "{err}");
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM raw_tables"), 0, "no junk tables");
}

/// Hostile input, compressed exports: bzip2 and zstd are read through their decompressors like
/// gzip; corrupt compressed data is refused as such.
#[test]
fn bzip2_and_zstd_exports_are_read_and_corrupt_ones_refused() {
    let (dir, mut ws) = workspace();
    let bz2 = import(&mut ws, "hostile/orders.csv.bz2").unwrap();
    assert_accounted(&ws, &bz2);
    assert_eq!((bz2.format.as_str(), bz2.report.rows_loaded), ("csv (bzip2)", 1));
    let zst = dir.path().join("orders.csv.zst");
    let csv = std::fs::read(fixture("uci_online_retail_ii_2009-12_head.csv")).unwrap();
    std::fs::write(&zst, zstd::encode_all(csv.as_slice(), 3).unwrap()).unwrap();
    let out = import_with(&mut ws, &zst, &ImportOptions::default()).unwrap();
    assert_accounted(&ws, &out);
    assert_eq!((out.format.as_str(), out.report.rows_loaded), ("csv (zstd)", 2000));
    let err = import(&mut ws, "hostile/corrupt.csv.zst").unwrap_err();
    assert!(matches!(err, ImportError::Truncated { .. } | ImportError::Io { .. }), "{err}");
}

/// Hostile input, quotes (DuckDB's "unquoted values" category): a quote inside an unquoted field
/// is text, a quoted field keeps its comma, and a quote never closed is rejected with the lines it
/// swallowed named, so they do not vanish into one reject unexplained.
#[test]
fn stray_and_unclosed_quotes_are_read_as_written_or_rejected_by_name() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "hostile/stray_quotes.csv").unwrap();
    assert_accounted(&ws, &out);
    assert_eq!((out.report.rows_loaded, out.report.rows_rejected), (3, 1));
    let descriptions: Vec<String> = ws
        .conn()
        .prepare("SELECT description FROM order_lines ORDER BY invoice")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(descriptions, ["12\" TV STAND", "QUOTED, WITH COMMA", "SAY \"HI\" MUG"]);
    let (line, reason): (i64, String) =
        ws.conn().query_row("SELECT line, reason FROM rejects", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(line, 5);
    assert!(reason.contains("lines 5–6 were read as this one row; is a quote left open?"), "{reason}");
}

/// Hostile input, compressed exports: xz is read through the reference liblzma, and a zip of one
/// CSV (with the folder and macOS entries zip tools add) is read as that CSV, not as a workbook.
#[test]
fn xz_and_zipped_csv_exports_are_read() {
    let (_dir, mut ws) = workspace();
    let xz = import(&mut ws, "hostile/orders.csv.xz").unwrap();
    assert_accounted(&ws, &xz);
    assert_eq!((xz.format.as_str(), xz.report.rows_loaded), ("csv (xz)", 1));
    let zip = import_with(&mut ws, &fixture("hostile/orders.csv.zip"), &ImportOptions { force: true, ..Default::default() }).unwrap();
    assert_accounted(&ws, &zip);
    assert_eq!((zip.format.as_str(), zip.report.rows_loaded), ("csv (zip)", 1));
    assert_eq!(scalar::<f64>(&ws, "SELECT sum(unit_price) FROM order_lines"), 2.0);
}

/// Hostile input, Parquet types: every logical type a shop export holds is read exactly —
/// decimals digit for digit, naive, time-zone-aware and INT96 timestamps, dates, dictionary and
/// binary strings, float32 — and a nested column is refused by name.
/// Reference: the values pyarrow wrote (testdata/hostile/make_parquet_types.py).
#[test]
fn parquet_logical_types_are_read_exactly() {
    let (_dir, mut ws) = workspace();
    let orders = import(&mut ws, "hostile/orders_types.parquet").unwrap();
    assert_accounted(&ws, &orders);
    assert_eq!((orders.kind.as_str(), orders.report.rows_loaded), ("uci_online_retail_ii", 4));
    let prices: Vec<String> = ws
        .conn()
        .prepare("SELECT CAST(unit_price AS TEXT) FROM order_lines ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(prices, ["6.95", "1234.5", "0.85", "6.95"], "decimals exactly, never through a float");
    assert_eq!(scalar::<String>(&ws, "SELECT invoice_date FROM order_lines WHERE stock_code = '22195'"), "2009-12-01 09:06:30");
    assert_eq!(scalar::<String>(&ws, "SELECT min(customer_id) FROM order_lines"), "13085");
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM order_lines WHERE customer_id IS NULL"), 1, "NaN is a missing id");
    assert_eq!(scalar::<String>(&ws, "SELECT invoice FROM order_lines WHERE quantity < 0"), "C489436");
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM order_lines WHERE description = 'CRÈME BRÛLÉE SET'"), 2);

    let events = import(&mut ws, "hostile/events_tz.parquet").unwrap();
    assert_accounted(&ws, &events);
    assert_eq!((events.kind.as_str(), events.report.rows_loaded, events.report.rows_rejected), ("rees46_events", 3, 0));
    let times: Vec<String> = ws
        .conn()
        .prepare("SELECT event_time FROM events ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    // 02:00 in Berlin (summer time) is 00:00 UTC: the instant is kept, stored in UTC.
    assert_eq!(times, ["2019-10-01 00:00:00", "2019-10-01 00:00:05", "2019-10-01 00:01:00"]);
    assert_eq!(scalar::<i64>(&ws, "SELECT max(category_id) FROM events"), 2103807459595387724);
    assert_eq!(
        scalar::<String>(&ws, "SELECT CAST(price AS TEXT) FROM events WHERE product_id = 3900821"),
        "33.2",
        "float32 33.2 read as written"
    );
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM events WHERE user_session IS NULL"), 1);

    let other = import(&mut ws, "hostile/int96_dates.parquet").unwrap();
    assert_accounted(&ws, &other);
    let table = scalar::<String>(&ws, "SELECT name FROM raw_tables");
    let row: (String, String, String, String) = ws
        .conn()
        .query_row(&format!("SELECT order_date, shipped_at, CAST(amount AS TEXT), code FROM \"{table}\" ORDER BY rowid LIMIT 1"), [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!(row, ("2024-02-29".into(), "2024-03-01 12:30:15".into(), "12345678901234567890.0123456789".into(), "A-17".into()));
    assert_eq!(scalar::<String>(&ws, &format!("SELECT code FROM \"{table}\" WHERE order_date = '1999-12-31'")), "B-é");
    assert_eq!(scalar::<String>(&ws, &format!("SELECT amount FROM \"{table}\" WHERE order_date = '1999-12-31'")), "-0.0000000001");

    let err = import(&mut ws, "hostile/nested.parquet").unwrap_err();
    assert!(err.to_string().contains("column 'tags' holds nested values (a list)"), "{err}");
}

/// Hostile input, REES46 events without a session: they load (user_session NULL), the report
/// counts them, and the session-based funnel and carts leave them out and say how many, instead
/// of merging them into one empty session. Reference: the counts worked by hand from the file.
#[test]
fn events_without_a_session_are_loaded_counted_and_left_out_of_sessions() {
    use shoplens::analytics::funnel::{self, CountBy, FunnelSettings, Window};
    use shoplens::analytics::{carts, Filters};
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "hostile/events_without_session.csv").unwrap();
    assert_accounted(&ws, &out);
    assert_eq!((out.report.rows_loaded, out.report.rows_rejected), (10, 0));
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM events WHERE user_session IS NULL"), 5);
    assert!(out.report.warnings.iter().any(|w| w.starts_with("5 events have no session")), "{:?}", out.report.warnings);

    let frame = shoplens::workspace::copies::load_events(ws.conn(), &JobContext::detached()).unwrap();
    assert_eq!((frame.len(), frame.session_count(), frame.sessionless_events()), (10, 2, 5));
    let ctx = JobContext::detached();
    let run = |settings: FunnelSettings| funnel::compute(&frame, &Filters::default(), &settings, &ctx).unwrap();
    let counts = |r: &funnel::FunnelResult| r.steps.iter().map(|s| s.count).collect::<Vec<_>>();
    // Sessions s1 (view, cart) and s2 (view, cart, purchase).
    let sessions = run(FunnelSettings { breakdown: None, ..FunnelSettings::default() });
    assert_eq!((counts(&sessions), sessions.events_without_session), (vec![2, 2, 1], 5));
    // Users across sessions: user 1 (view, cart), 2 and 3 (all three steps); nothing left out.
    let users = run(FunnelSettings { count_by: CountBy::Users, window: Window::Hours(24), breakdown: None, ..FunnelSettings::default() });
    assert_eq!((counts(&users), users.events_without_session), (vec![3, 3, 2], 0));
    // Users within sessions: user 3 has none.
    let within = run(FunnelSettings { count_by: CountBy::Users, breakdown: None, ..FunnelSettings::default() });
    assert_eq!((counts(&within), within.events_without_session), (vec![2, 2, 1], 5));
    // Carts: s1 abandoned, s2 bought; the sessionless carts of users 1 and 3 are not carts.
    let now = shoplens::timestamp::parse_time("2019-10-02 00:00:00").unwrap().epoch_seconds();
    let carts = carts::compute(&frame, &Filters::default(), &carts::CartSettings::default(), Some(now));
    assert_eq!((carts.carts, carts.abandoned, carts.events_without_session), (2, 1, 5));
}

/// Hostile input, JSON lines: a number too long to hold exactly is rejected with a reason (never
/// loaded changed), the reject keeps the line as written, and keys no column was mapped to are
/// named in the report.
#[test]
fn json_lines_keep_long_numbers_exact_or_reject_them_and_name_unused_keys() {
    let (_dir, mut ws) = workspace();
    let out = import(&mut ws, "hostile/events_long_numbers.jsonl").unwrap();
    assert_accounted(&ws, &out);
    assert_eq!((out.report.rows_loaded, out.report.rows_rejected), (2, 1));
    let (raw, reason): (String, String) =
        ws.conn().query_row("SELECT raw, reason FROM rejects", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert!(raw.contains("\"user_id\":12345678901234567890123"), "the line as written: {raw}");
    assert!(reason.contains("user_id: a number too long to read exactly"), "{reason}");
    assert_eq!(scalar::<i64>(&ws, "SELECT category_id FROM events WHERE user_id = 541312140"), 2103807459595387724);
    assert_eq!(out.report.unused_columns, ["coupon"]);
    assert!(out.report.to_string().contains("not loaded     columns"), "{}", out.report);
}

/// A 300-column export (marketing exports this wide are common) loads every value; one wider
/// than a workspace table can be is refused by name, leaving nothing behind. Reference: the
/// values written, read back with SQL.
#[test]
fn wide_files_load_up_to_the_column_limit_and_wider_ones_are_refused_by_name() {
    let (dir, mut ws) = workspace();
    let write = |name: &str, columns: usize, rows: usize| {
        let path = dir.path().join(name);
        let mut text = (0..columns).map(|c| format!("metric_{c}")).collect::<Vec<_>>().join(",");
        text.push('\n');
        for row in 0..rows {
            text.push_str(&(0..columns).map(|c| format!("{}", row * 1000 + c)).collect::<Vec<_>>().join(","));
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        path
    };
    let out = import_with(&mut ws, &write("wide.csv", 300, 1_000), &ImportOptions::default()).unwrap();
    assert_accounted(&ws, &out);
    assert_eq!((out.table.as_str(), out.report.rows_loaded), ("wide", 1_000));
    assert_eq!(scalar::<i64>(&ws, "SELECT metric_299 FROM wide WHERE metric_0 = 999000"), 999_299);
    assert_eq!(scalar::<i64>(&ws, "SELECT sum(metric_150) FROM wide"), (0..1_000).map(|r| r * 1000 + 150).sum::<i64>());

    let err = import_with(&mut ws, &write("too_wide.csv", 2_001, 2), &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, ImportError::TooManyColumns { columns: 2_001, limit: 2_000, .. }), "{err}");
    assert!(err.to_string().contains("2001 columns; a workspace table holds at most 2000"), "{err}");
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM sqlite_schema WHERE name = 'too_wide'"), 0);
}

/// The window shows an import's copy before the rows are committed (`early_copy`): the copy
/// sent early is the very copy the outcome carries. When the commit then fails (forced here by
/// a commit hook that turns the COMMIT into a ROLLBACK, as a full disk or a kill would), the
/// import fails, nothing of it is in the workspace, and the copy already sent is what the
/// window then marks as not saved (`ui::early_copies`, unit-tested there).
#[test]
fn the_copy_is_sent_before_the_commit_and_a_failed_commit_keeps_nothing() {
    use shoplens::import::copy::ImportedCopy;
    let (sender, early) = std::sync::mpsc::channel::<ImportedCopy>();
    let options = ImportOptions { keep_copy: true, early_copy: Some(sender), ..Default::default() };
    let (_dir, mut ws) = workspace();
    let out = import_with(&mut ws, &fixture("uci_online_retail_ii_2009-2010.parquet"), &options).unwrap();
    let sent = early.try_recv().expect("the copy was sent during the import");
    let Some(Ok(kept)) = &out.copy else { panic!("no copy: {:?}", out.copy) };
    assert!(sent.is(kept), "the copy sent early is the outcome's");
    assert!(early.try_recv().is_err(), "sent once");

    let (_dir, mut ws) = workspace();
    ws.conn_mut().commit_hook(Some(|| true)).unwrap();
    let err = import_with(&mut ws, &fixture("uci_online_retail_ii_2009-2010.parquet"), &options).unwrap_err();
    ws.conn_mut().commit_hook(None::<fn() -> bool>).unwrap();
    let sent = early.try_recv().expect("the copy was sent before the commit failed");
    let ImportedCopy::OrderLines(frame) = sent else { panic!("not the order lines") };
    assert!(frame.lines.height() > 0);
    assert_eq!(scalar::<i64>(&ws, "SELECT count(*) FROM order_lines"), 0, "rolled back: {err}");

    // A file whose every row is rejected sends nothing: there are no figures to show.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("orders.csv");
    std::fs::write(
        &bad,
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n1,A,x,many,2010-01-01 10:00:00,1.0,1,UK\n",
    )
    .unwrap();
    let (_dir, mut ws) = workspace();
    assert!(import_with(&mut ws, &bad, &options).is_err());
    assert!(early.try_recv().is_err(), "nothing sent for a file with no row loaded");
}

/// The copy an import builds from the rows it writes equals the copy read back from the
/// workspace afterwards (reference: `workspace::copies`, which reads SQLite): every figure of
/// the Overview and the RFM table for the UCI year, and every column of the events' copy for
/// both REES46 samples. A second import into the same table builds none, and says why.
#[test]
fn the_copy_built_while_importing_equals_the_copy_read_back() {
    use shoplens::analytics::{overview, rfm, Filters};
    use shoplens::import::copy::{ImportedCopy, NoCopy};
    let keep = ImportOptions { keep_copy: true, ..Default::default() };
    let (_dir, mut ws) = workspace();
    let out = import_with(&mut ws, &fixture("uci_online_retail_ii_2009-2010.parquet"), &keep).unwrap();
    let Some(Ok(ImportedCopy::OrderLines(built))) = out.copy else { panic!("no order-lines copy: {:?}", out.copy) };
    let read = shoplens::workspace::copies::load_order_lines(ws.conn(), &JobContext::detached()).unwrap();
    assert_eq!(built.lines, read.lines, "the lines");
    let ctx = JobContext::detached();
    let (a, b) =
        (overview::compute(&built, &Filters::default(), &ctx).unwrap(), overview::compute(&read, &Filters::default(), &ctx).unwrap());
    assert_eq!(overview::months_table(&a), overview::months_table(&b));
    let grid = rfm::SegmentGrid::default();
    let (a, b) =
        (rfm::compute(&built, &Filters::default(), None, &grid).unwrap(), rfm::compute(&read, &Filters::default(), None, &grid).unwrap());
    let table = |frame, result| rfm::customer_table(&rfm::CustomerNames::of(frame), result, None, None);
    assert_eq!(table(&built, &a), table(&read, &b));
    // The same file again (forced): the table holds rows, so the copy is the cache's.
    let again =
        import_with(&mut ws, &fixture("uci_online_retail_ii_2009-2010.parquet"), &ImportOptions { force: true, ..keep.clone() }).unwrap();
    assert!(matches!(again.copy, Some(Err(NoCopy::TableNotEmpty("order_lines")))), "{:?}", again.copy);

    for file in ["rees46_2019-Oct_head.csv", "rees46_cosmetics_2022-10_head.csv"] {
        let (_dir, mut ws) = workspace();
        let out = import_with(&mut ws, &fixture(file), &keep).unwrap();
        let Some(Ok(ImportedCopy::Events(built))) = out.copy else { panic!("no events copy: {:?}", out.copy) };
        let read = shoplens::workspace::copies::load_events(ws.conn(), &JobContext::detached()).unwrap();
        assert_eq!(built.len(), read.len(), "{file}");
        assert_eq!(built.time, read.time, "{file}");
        assert_eq!(built.kind_codes(), read.kind_codes(), "{file}");
        assert_eq!((&built.product, &built.category, &built.brand, &built.user), (&read.product, &read.category, &read.brand, &read.user));
        assert_eq!(built.price, read.price, "{file}");
        assert_eq!(built.quantity, read.quantity, "{file}");
        assert_eq!(built.session_starts(), read.session_starts(), "{file}");
        assert_eq!(built.sessions, read.sessions, "{file}");
        assert_eq!(
            (&built.users, &built.products, &built.categories, &built.brands),
            (&read.users, &read.products, &read.categories, &read.brands)
        );
        assert_eq!(built.workspace_rowid, read.workspace_rowid, "{file}");
    }
}

//! The columnar cache beside a workspace (`workspace::cache`): a copy read back from it, or
//! caught up with rows imported since, must equal the copy read from SQLite (the reference:
//! `workspace::copies`, which the cache never replaces as the source of truth), and anything
//! that does not match the workspace must not be used.

use std::path::{Path, PathBuf};
use std::process::Command;

use shoplens::analytics::event_frame::EventFrame;
use shoplens::analytics::funnel::{self, FunnelSettings};
use shoplens::analytics::order_frame::OrderFrame;
use shoplens::analytics::{overview, Filters};
use shoplens::import::{self, ImportOptions};
use shoplens::jobs::JobContext;
use shoplens::workspace::cache::{self, Freshness, Origin};
use shoplens::workspace::{self, Workspace};

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name)
}

fn import(path: &Path, file: &str) {
    let mut ws = Workspace::open(path).unwrap();
    import::import_file(&mut ws, &testdata(file), &ImportOptions::default(), &JobContext::detached()).unwrap();
}

fn from_sqlite_orders(path: &Path) -> OrderFrame {
    workspace::copies::load_order_lines(&workspace::open_read_only(path).unwrap(), &JobContext::detached()).unwrap()
}

fn from_sqlite_events(path: &Path) -> EventFrame {
    workspace::copies::load_events(&workspace::open_read_only(path).unwrap(), &JobContext::detached()).unwrap()
}

fn assert_same_orders(a: &OrderFrame, b: &OrderFrame) {
    assert!(a.lines.equals_missing(&b.lines), "lines differ:\n{:?}\n{:?}", a.lines.head(Some(5)), b.lines.head(Some(5)));
    assert_eq!(a.invoices, b.invoices);
    assert_eq!(a.products, b.products);
    assert_eq!(a.customers, b.customers);
    assert_eq!(a.countries, b.countries);
}

fn assert_same_events(a: &EventFrame, b: &EventFrame) {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.time, b.time);
    assert_eq!(a.kind_codes(), b.kind_codes());
    assert_eq!(a.product, b.product);
    assert_eq!(a.category, b.category);
    assert_eq!(a.brand, b.brand);
    assert_eq!(a.user, b.user);
    assert_eq!(a.price, b.price);
    assert_eq!(a.session_starts(), b.session_starts());
    assert_eq!(a.sessions, b.sessions);
    assert_eq!(a.users, b.users);
    assert_eq!(a.products, b.products);
    assert_eq!(a.categories, b.categories);
    assert_eq!(a.brands, b.brands);
    assert_eq!(a.workspace_rowid, b.workspace_rowid);
}

fn load_orders(path: &Path) -> cache::Loaded<OrderFrame> {
    cache::load_order_lines(path, &JobContext::detached()).unwrap()
}

fn load_events(path: &Path) -> cache::Loaded<EventFrame> {
    cache::load_events(path, &JobContext::detached()).unwrap()
}

fn save_orders(path: &Path, loaded: &cache::Loaded<OrderFrame>) {
    cache::save_order_lines(path, &loaded.frame, &loaded.stamp).unwrap();
}

fn save_events(path: &Path, loaded: &cache::Loaded<EventFrame>) {
    cache::save_events(path, &loaded.frame, &loaded.stamp).unwrap();
}

#[test]
fn order_lines_read_back_from_the_cache_equal_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.shoplens");
    import(&path, "uci_online_retail_ii_2009-2010.parquet");

    let first = load_orders(&path);
    assert_eq!(first.origin, Origin::Workspace, "nothing cached yet");
    assert!(first.needs_saving());
    save_orders(&path, &first);
    assert!(cache::cache_dir(&path).join("order_lines/lines.parquet").exists());
    assert_eq!(cache::status(&path).unwrap()[0].freshness, Freshness::Current);

    let again = load_orders(&path);
    assert_eq!(again.origin, Origin::Cache);
    assert!(!again.needs_saving());
    let reference = from_sqlite_orders(&path);
    assert_same_orders(&again.frame, &reference);
    let (ctx, all) = (JobContext::detached(), Filters::default());
    assert_eq!(overview::compute(&again.frame, &all, &ctx).unwrap(), overview::compute(&reference, &all, &ctx).unwrap());
}

#[test]
fn a_cache_behind_the_workspace_reads_only_the_new_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.shoplens");
    import(&path, "uci_online_retail_ii_2009-12_head.csv");
    save_orders(&path, &load_orders(&path));
    let before = from_sqlite_orders(&path).lines.height();

    // The listing takes the row count from a current copy; SQL's count is the reference.
    let listed = |path: &Path| {
        let conn = workspace::open_read_only(path).unwrap();
        let counted: i64 = conn.query_row("SELECT count(*) FROM order_lines", [], |r| r.get(0)).unwrap();
        let listed = workspace::table_counts(&conn).unwrap().into_iter().find(|(t, _)| t == "order_lines").unwrap().1;
        (listed, counted)
    };
    let (shown, counted) = listed(&path);
    assert_eq!(shown, counted);
    assert_eq!(cache::current_rows(&path, &workspace::open_read_only(&path).unwrap(), "order_lines"), Some(counted as u64));

    // Another export of the same shop, imported since: the cache holds the first rows only.
    import(&path, "orders_small.csv.gz");
    assert_eq!(cache::current_rows(&path, &workspace::open_read_only(&path).unwrap(), "order_lines"), None, "not current: counted");
    let (shown, counted) = listed(&path);
    assert_eq!(shown, counted);
    assert_eq!(cache::status(&path).unwrap()[0].freshness, Freshness::Behind);
    let caught_up = load_orders(&path);
    let reference = from_sqlite_orders(&path);
    assert_eq!(caught_up.origin, Origin::CachePlusNew((reference.lines.height() - before) as u64));
    assert!(caught_up.needs_saving(), "a caught-up copy is saved again");
    assert_same_orders(&caught_up.frame, &reference);

    save_orders(&path, &caught_up);
    assert_eq!(load_orders(&path).origin, Origin::Cache);
}

#[test]
fn a_damaged_or_foreign_cache_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.shoplens");
    import(&path, "uci_online_retail_ii_2009-12_head.csv");
    save_orders(&path, &load_orders(&path));

    // A Parquet file cut short: read from the workspace, the same rows as ever.
    let lines = cache::cache_dir(&path).join("order_lines/lines.parquet");
    let bytes = std::fs::read(&lines).unwrap();
    std::fs::write(&lines, &bytes[..bytes.len() / 2]).unwrap();
    let loaded = load_orders(&path);
    assert_eq!(loaded.origin, Origin::Workspace);
    assert_same_orders(&loaded.frame, &from_sqlite_orders(&path));

    // Another workspace's cache copied beside this one: its imports are not this one's.
    let other = dir.path().join("other.shoplens");
    import(&other, "orders_small.csv.gz");
    save_orders(&other, &load_orders(&other));
    cache::clear(&path).unwrap();
    copy_dir(&cache::cache_dir(&other), &cache::cache_dir(&path));
    assert_eq!(cache::status(&path).unwrap()[0].freshness, Freshness::Stale);
    let loaded = load_orders(&path);
    assert_eq!(loaded.origin, Origin::Workspace);
    assert_same_orders(&loaded.frame, &from_sqlite_orders(&path));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn events_read_back_and_caught_up_equal_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.shoplens");
    import(&path, "rees46_2019-Oct_head.csv");
    let first = load_events(&path);
    assert_eq!(first.origin, Origin::Workspace);
    save_events(&path, &first);

    let again = load_events(&path);
    assert_eq!(again.origin, Origin::Cache);
    let reference = from_sqlite_events(&path);
    assert_same_events(&again.frame, &reference);
    let (ctx, all, settings) = (JobContext::detached(), Filters::default(), FunnelSettings::default());
    assert_eq!(funnel::compute(&again.frame, &all, &settings, &ctx).unwrap(), funnel::compute(&reference, &all, &settings, &ctx).unwrap());

    import(&path, "rees46_cosmetics_2022-10_head.csv");
    let caught_up = load_events(&path);
    assert!(matches!(caught_up.origin, Origin::CachePlusNew(n) if n > 0), "{:?}", caught_up.origin);
    let reference = from_sqlite_events(&path);
    assert_same_events(&caught_up.frame, &reference);
    assert_eq!(
        funnel::compute(&caught_up.frame, &all, &settings, &ctx).unwrap(),
        funnel::compute(&reference, &all, &settings, &ctx).unwrap()
    );
}

fn shoplens(args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_shoplens")).args(args).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_first_command_saves_the_cache_and_the_next_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.shoplens");
    import(&path, "uci_online_retail_ii_2009-12_head.csv");
    let w = path.as_os_str();
    assert!(shoplens(&["cache".as_ref(), w]).contains("none yet"));

    let first = shoplens(&["overview".as_ref(), w]);
    let status = shoplens(&["cache".as_ref(), w]);
    assert!(status.lines().any(|l| l.contains("order_lines") && l.contains("current")), "{status}");
    assert_eq!(shoplens(&["overview".as_ref(), w]), first, "the same figures from the cache");
    assert_eq!(load_orders(&path).origin, Origin::Cache);

    assert!(shoplens(&["cache".as_ref(), w, "--clear".as_ref()]).contains("removed"));
    assert!(!cache::cache_dir(&path).exists());
}

//! The app driven as a person would, through egui_kittest (AccessKit labels): drop a file on the
//! window, read the Data panel's counts, open the Overview and read a KPI, run a SQL query.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use shoplens::ui::app::{Settings, ShoplensApp};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name)
}

/// A file dropped on the window, as winit delivers it.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn app_on(workspace: &Path) -> Harness<'static, ShoplensApp> {
    // Connections the tests add are trusted in a folder of their own, not the user's settings.
    static CONFIG: std::sync::Once = std::sync::Once::new();
    CONFIG.call_once(|| {
        std::env::set_var("SHOPLENS_CONFIG_DIR", std::env::temp_dir().join(format!("shoplens-ui-tests-{}", std::process::id())))
    });
    let workspace = workspace.to_path_buf();
    Harness::builder()
        .with_size(egui::vec2(1440.0, 900.0))
        .build_eframe(move |cc| ShoplensApp::with_settings(&cc.egui_ctx, Settings::default(), Some(workspace)))
}

/// The app on a new, empty workspace in a temporary folder, ready for input.
fn app_on_new_workspace(name: &str) -> (tempfile::TempDir, PathBuf, Harness<'static, ShoplensApp>) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join(name);
    let mut harness = app_on(&ws);
    wait_for(&mut harness, "the empty workspace", |h| !h.state().busy());
    (dir, ws, harness)
}

/// Steps frames until `ready` holds; background jobs finish on their own threads meanwhile.
fn wait_for(harness: &mut Harness<'static, ShoplensApp>, what: &str, ready: impl Fn(&Harness<'static, ShoplensApp>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        harness.step();
        if ready(harness) {
            return;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}; the window shows: {:?}", labels(harness));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every label and value in the accessibility tree, for failure messages.
fn labels(harness: &Harness<'static, ShoplensApp>) -> Vec<String> {
    use egui_kittest::kittest::NodeT;
    harness
        .root()
        .children_recursive()
        .filter_map(|n| {
            let node = n.accesskit_node();
            let text = [node.label(), node.value()].into_iter().flatten().collect::<Vec<_>>().join(" = ");
            (!text.is_empty()).then_some(text)
        })
        .collect()
}

/// Some node's label contains `text` (a button and its text may both carry it).
fn shows(harness: &Harness<'static, ShoplensApp>, text: &str) -> bool {
    labels(harness).iter().any(|l| l.contains(text))
}

/// Clicks the first widget whose label contains `text`.
fn click_text(harness: &Harness<'static, ShoplensApp>, text: &str) {
    use egui_kittest::kittest::NodeT;
    let node = harness.root().children_recursive().find(|n| n.accesskit_node().label().is_some_and(|l| l.contains(text)));
    node.unwrap_or_else(|| panic!("nothing labelled '{text}' in {:?}", labels(harness))).click_accesskit();
}

fn click_button(harness: &Harness<'static, ShoplensApp>, label: &str) {
    // An accessibility action hits the widget itself, wherever a layout change moved it.
    harness.get_by_role_and_label(egui::accesskit::Role::Button, label).click_accesskit();
}

fn sql_f64(path: &Path, sql: &str) -> f64 {
    let conn = shoplens::workspace::open_read_only(path).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn import_by_drop_then_read_data_overview_and_sql() {
    let (_dir, ws, mut harness) = app_on_new_workspace("ui.shoplens");

    // Drop the UCI CSV head on the window.
    let dropped: egui::DroppedFileHandle = Arc::new(Dropped(fixture("uci_online_retail_ii_2009-12_head.csv")));
    harness.input_mut().dropped_files.push(dropped);
    wait_for(&mut harness, "the import message", |h| {
        shows(h, "Imported uci_online_retail_ii_2009-12_head.csv into order_lines: 2,000 rows loaded, 0 rejected")
    });

    // Data panel: the table with its row count, then the import's quality report.
    click_button(&harness, "Data");
    wait_for(&mut harness, "the tables list", |h| shows(h, "order_lines: 2,000") && shows(h, "Imports") && shows(h, "#1 uci"));
    click_text(&harness, "#1 uci_online_retail_ii_2009-12_head.csv");
    wait_for(&mut harness, "the quality report", |h| shows(h, "rows loaded"));

    // Overview: the revenue KPI equals SQL over the same workspace.
    click_button(&harness, "Overview");
    let revenue = sql_f64(&ws, "SELECT sum(quantity * unit_price) FROM order_lines WHERE cancelled = 0");
    let shown = shoplens::ui::widgets::money(revenue);
    wait_for(&mut harness, "the revenue KPI", |h| shows(h, "Revenue") && shows(h, &shown));

    // SQL: run the starter query and see rows.
    click_button(&harness, "SQL");
    wait_for(&mut harness, "the SQL console", |h| shows(h, "Run (Ctrl+Enter)"));
    // Ctrl+Enter runs the query even while the editor has the keyboard focus.
    harness.get_by_role(egui::accesskit::Role::MultilineTextInput).focus();
    harness.run_steps(2);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    wait_for(&mut harness, "query results", |h| shows(h, "rows in"));
    assert!(shows(&harness, "United Kingdom"), "the top country is listed");
    assert!(shows(&harness, "revenue"), "result columns are labelled");
}

/// What the file manager hands over (a double-click, "Open with", or a drop): a workspace
/// opens in the window, and a data file given with it is imported into that workspace.
#[test]
fn a_workspace_and_a_data_file_handed_over_open_and_import_into_it() {
    let (dir, first, mut harness) = app_on_new_workspace("first.shoplens");
    // A second workspace, made headless, with the UCI head in it.
    let second = dir.path().join("second.shoplens");
    {
        let mut ws = shoplens::workspace::Workspace::open(&second).unwrap();
        let options = shoplens::import::ImportOptions::default();
        shoplens::import::import_file(
            &mut ws,
            &fixture("uci_online_retail_ii_2009-12_head.csv"),
            &options,
            &shoplens::jobs::JobContext::detached(),
        )
        .unwrap();
    }
    assert!(shoplens::workspace::is_workspace_file(&second) && !shoplens::workspace::is_workspace_file(&fixture("shop_export.csv")));

    for file in [second.clone(), fixture("uci_online_retail_ii_2009-2010.parquet")] {
        harness.input_mut().dropped_files.push(Arc::new(Dropped(file)));
    }
    wait_for(&mut harness, "the import into the second workspace", |h| {
        shows(h, "Imported uci_online_retail_ii_2009-2010.parquet into order_lines") && !h.state().busy()
    });
    click_button(&harness, "Data");
    wait_for(&mut harness, "the second workspace's tables", |h| shows(h, "#1 uci_online_retail_ii_2009-12_head.csv") && shows(h, "#2 uci"));
    let lines = |path: &Path| sql_f64(path, "SELECT count(*) FROM order_lines");
    assert_eq!(lines(&first), 0.0, "nothing went into the workspace that was open before");
    let parquet_rows = sql_f64(&second, "SELECT rows_loaded FROM imports WHERE id = 2");
    assert_eq!(lines(&second), 2000.0 + parquet_rows);
}

#[test]
fn a_bad_file_shows_a_message_and_the_app_keeps_going() {
    let (_dir, _ws, mut harness) = app_on_new_workspace("bad.shoplens");
    harness.state_mut().import_files(vec![fixture("truncated.csv.gz")]);
    wait_for(&mut harness, "the error message", |h| shows(h, "truncated.csv.gz:"));
    assert!(shows(&harness, "ended early"));
    assert_eq!(harness.get_all_by_role_and_label(egui::accesskit::Role::Button, "Dismiss").count(), 1, "{:?}", labels(&harness));
    click_button(&harness, "Dismiss");
    harness.run_steps(3);
    assert!(!shows(&harness, "ended early"), "messages can be dismissed");
}

#[test]
fn an_unknown_layout_asks_for_a_mapping_and_the_next_file_does_not() {
    let (dir, _ws, mut harness) = app_on_new_workspace("map.shoplens");

    harness.state_mut().import_files(vec![fixture("shop_export.csv")]);
    wait_for(&mut harness, "the mapping dialog", |h| shows(h, "How should shoplens read shop_export.csv?"));
    // Columns are pre-guessed from their names and shown with sample values.
    assert!(shows(&harness, "Order No"), "{:?}", labels(&harness));
    assert!(shows(&harness, "2, 1, 1"), "sample values of Qty");
    click_button(&harness, "Import");
    wait_for(&mut harness, "the import message", |h| shows(h, "Imported shop_export.csv into order_lines: 3 rows loaded"));

    // Same header next week: no dialog, the saved mapping is used.
    let next_week = dir.path().join("shop_export_next_week.csv");
    std::fs::write(
        &next_week,
        "Order No,Ordered At,SKU,Item,Qty,Price Each,Client,Ship To\nA-1003,2024-03-09 10:00:00,SKU-3,Spoon,4,1.25,c-20,France\n",
    )
    .unwrap();
    harness.state_mut().import_files(vec![next_week]);
    wait_for(&mut harness, "the second import", |h| shows(h, "Imported shop_export_next_week.csv into order_lines: 1 row loaded"));
    assert!(!shows(&harness, "How should shoplens read"));
}

/// Related files dropped together: Olist's three files import as one (no dialog), and files of
/// a layout nobody knows are joined in the mapping dialog (the join guessed from the shared
/// column names, the joined columns then mapped), imported as one, the other files' dialogs
/// gone. Reference: SQL over the workspace.
#[test]
fn related_files_dropped_together_are_joined() {
    let (dir, ws, mut harness) = app_on_new_workspace("joins.shoplens");
    let olist = dir.path().join("olist");
    std::fs::create_dir_all(&olist).unwrap();
    let files = shoplens::generate::exports::write_olist(&olist, 300, 3).unwrap();
    harness.state_mut().import_files(vec![files.orders, files.customers, files.items]);
    wait_for(&mut harness, "the joined import", |h| {
        shows(h, "Imported olist_order_items_dataset.csv into order_lines") && !h.state().busy()
    });
    assert!(!shows(&harness, "How should shoplens read"), "a known dump needs no dialog");
    let people = sql_f64(&ws, "SELECT count(DISTINCT customer_id) FROM order_lines");
    assert!(people > 250.0, "customers are people (customer_unique_id): {people}");

    let write = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    };
    let lines = write("lines.csv", "order_id,sku,qty,unit_price\nA1,p1,2,5.00\nA1,p2,1,3.50\nB2,p1,1,5.00\n");
    let orders = write("orders.csv", "order_id,order_date,client_id\nA1,2024-03-01 10:00:00,k1\nB2,2024-03-02 11:00:00,k2\n");
    let clients = write("clients.csv", "client_id,email,country\nk1,a@example.com,NL\nk2,b@example.com,BE\n");
    harness.state_mut().import_files(vec![lines, orders, clients]);
    wait_for(&mut harness, "the mapping dialog", |h| shows(h, "How should shoplens read lines.csv?"));
    click_text(&harness, "+ orders.csv");
    wait_for(&mut harness, "the orders join", |h| shows(h, "orders.csv: where") && shows(h, "+ clients.csv"));
    click_text(&harness, "+ clients.csv");
    wait_for(&mut harness, "the clients join", |h| shows(h, "clients.csv: where"));
    // The joined columns are mapped by their names: the order's date, the client's country.
    assert!(shows(&harness, "2024-03-01 10:00:00"), "{:?}", labels(&harness));
    click_button(&harness, "Import");
    wait_for(&mut harness, "the joined import", |h| shows(h, "Imported lines.csv into order_lines: 3 rows loaded") && !h.state().busy());
    assert!(!shows(&harness, "How should shoplens read"), "the joined files are part of the import");
    let joined =
        sql_f64(&ws, "SELECT count(*) FROM order_lines WHERE invoice = 'A1' AND country = 'NL' AND invoice_date = '2024-03-01 10:00:00'");
    assert_eq!(joined, 2.0);
}

/// The customer panels on the UCI data: segment sizes equal the headless RFM, a click lists a
/// segment's customers, clusters and cohorts draw, and the CLV fit shows its parameters.
#[test]
fn segments_and_customer_value_panels() {
    use shoplens::analytics::rfm::{self, SegmentGrid};
    let (_dir, ws, mut harness) = app_on_new_workspace("customers.shoplens");
    let dropped: egui::DroppedFileHandle = Arc::new(Dropped(fixture("uci_online_retail_ii_2009-2010.parquet")));
    harness.input_mut().dropped_files.push(dropped);
    wait_for(&mut harness, "the import", |h| shows(h, "525,461 rows loaded"));

    // The same numbers computed headless from the same workspace.
    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    let frame = shoplens::workspace::copies::load_order_lines(&conn, &shoplens::jobs::JobContext::detached()).unwrap();
    let expected = rfm::compute(&frame, &Default::default(), None, &SegmentGrid::default()).unwrap();
    let champions = expected.segments.iter().find(|s| s.name == "Champions").unwrap().customers;

    click_button(&harness, "Segments");
    wait_for(&mut harness, "the segment table", |h| shows(h, "Champions") && shows(h, "4,314 customers") && !h.state().busy());
    click_text(&harness, "Champions");
    let heading = format!("Champions: {} customers", shoplens::ui::widgets::number(champions as f64, 0));
    wait_for(&mut harness, "the Champions list", |h| shows(h, &heading) && shows(h, "Export this segment (CSV)"));

    click_text(&harness, "Clusters");
    wait_for(&mut harness, "the cluster profiles", |h| shows(h, "Cluster 0") && shows(h, "suggested:"));
    click_text(&harness, "Cohorts");
    wait_for(&mut harness, "the cohort heat map", |h| shows(h, "% customers retained"));

    click_button(&harness, "Customer value");
    wait_for(&mut harness, "the fitted models", |h| {
        shows(h, "BG/NBD (4,314 customers, time in months)") && shows(h, "Calibration / holdout check")
    });
    // Back on Segments, the CLV column is filled from the fit.
    click_button(&harness, "Segments");
    wait_for(&mut harness, "the Segments tabs", |h| shows(h, "RFM segments"));
    click_text(&harness, "RFM segments");
    wait_for(&mut harness, "CLV in the segment table", |h| !shows(h, "CLV columns fill in once"));
}

/// The Funnel panel on dropped events: step counts and the retargeting list equal the headless
/// computations, the forecast shows its backtest, and live mode picks up appended rows.
#[test]
fn funnel_panel_and_live_mode() {
    use shoplens::analytics::{carts, funnel};
    let (dir, ws, mut harness) = app_on_new_workspace("funnel.shoplens");
    let file = dir.path().join("events.csv");
    shoplens::generate::write_events(std::fs::File::create(&file).unwrap(), 20_000, 9).unwrap();
    let dropped: egui::DroppedFileHandle = Arc::new(Dropped(file.clone()));
    harness.input_mut().dropped_files.push(dropped);
    wait_for(&mut harness, "the import", |h| shows(h, "20,000 rows loaded"));

    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    let frame = shoplens::workspace::copies::load_events(&conn, &shoplens::jobs::JobContext::detached()).unwrap();
    let expected = funnel::compute(&frame, &Default::default(), &Default::default(), &shoplens::jobs::JobContext::detached()).unwrap();
    let purchases = shoplens::ui::widgets::number(expected.steps[2].count as f64, 0);
    let abandoned = carts::compute(&frame, &Default::default(), &Default::default(), None).list.len();

    click_button(&harness, "Funnel");
    wait_for(&mut harness, "the funnel", |h| {
        shows(h, "3. purchase") && shows(h, &purchases) && shows(h, "20,000 events from the workspace")
    });
    click_text(&harness, "Abandoned carts");
    let heading = format!("Retargeting list: {} carts", shoplens::ui::widgets::number(abandoned as f64, 0));
    wait_for(&mut harness, "the retargeting list", |h| shows(h, &heading));
    click_text(&harness, "Demand forecast");
    wait_for(&mut harness, "the backtest", |h| shows(h, "Backtest on the week ending"));

    // Live mode on a second file: rows appended to it reach the workspace and the panel.
    let live = dir.path().join("live.csv");
    std::fs::write(&live, "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session\n2019-12-01 10:00:00 UTC,view,4242,2,a.b,acme,5.00,77,live-1\n").unwrap();
    harness.state_mut().watch(live.clone());
    click_text(&harness, "Live mode");
    wait_for(&mut harness, "the watch", |h| shows(h, "1 row added"));
    let mut out = std::fs::OpenOptions::new().append(true).open(&live).unwrap();
    std::io::Write::write_all(&mut out, b"2019-12-01 10:00:05 UTC,purchase,4242,2,a.b,acme,5.00,77,live-1\n").unwrap();
    wait_for(&mut harness, "the appended purchase", |h| shows(h, "2 rows added"));
    // The sale shows in the live sales list (written 10:00:05, within the data's last 24 hours).
    wait_for(&mut harness, "the live sales list", |h| shows(h, "Sales per product") && shows(h, "4242") && shows(h, "2019-12-01 10:00:05"));
    // With the funnel on screen, the next append updates it: live-1's view came with the first
    // rows, a new session's view comes now.
    {
        use egui_kittest::kittest::NodeT;
        let tabs: Vec<_> =
            harness.root().children_recursive().filter(|n| n.accesskit_node().label().as_deref() == Some("Funnel")).collect();
        tabs.last().expect("the Funnel tab").click_accesskit();
    }
    let views = |n: u64| shoplens::ui::widgets::number((expected.steps[0].count + n) as f64, 0);
    wait_for(&mut harness, "the funnel with live-1", |h| shows(h, "1. view") && shows(h, &views(1)));
    std::io::Write::write_all(&mut out, b"2019-12-01 10:01:00 UTC,view,4243,2,a.b,acme,6.00,78,live-2\n").unwrap();
    wait_for(&mut harness, "the funnel updated with live-2", |h| shows(h, &views(2)));
    click_text(&harness, "Live mode");
    wait_for(&mut harness, "the live tab", |h| shows(h, "Stop watching"));
    // An accessibility click reaches the widget by id, and the id of a button below a spinner
    // that comes and goes (the copy catching up with live-2) can change between the frame the
    // click was read in and the next: click until it takes (a second Stop is a no-op).
    let deadline = Instant::now() + Duration::from_secs(120);
    while !shows(&harness, "Watch a file") {
        assert!(Instant::now() < deadline, "timed out waiting for the watch to stop: {:?}", labels(&harness));
        if harness.get_all_by_role_and_label(egui::accesskit::Role::Button, "Stop watching").next().is_some() {
            click_button(&harness, "Stop watching");
        }
        harness.run_steps(2);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(sql_f64(&ws, "SELECT count(*) FROM events"), 20_003.0);
}

/// Editing the segment map in the panel regroups customers at once and is saved in the
/// workspace; a renamed segment keeps its customers.
#[test]
fn segment_map_edits_are_applied_and_saved() {
    let (_dir, ws, mut harness) = app_on_new_workspace("map.shoplens");
    let dropped: egui::DroppedFileHandle = Arc::new(Dropped(fixture("uci_online_retail_ii_2009-2010.parquet")));
    harness.input_mut().dropped_files.push(dropped);
    wait_for(&mut harness, "the import", |h| shows(h, "525,461 rows loaded"));
    click_button(&harness, "Segments");
    wait_for(&mut harness, "the segments", |h| shows(h, "4,314 customers") && !h.state().busy());
    // The default analysis date follows the data (not the empty workspace it was first shown on).
    assert!(shows(&harness, "2010-12-10"), "{:?}", labels(&harness));
    click_text(&harness, "Edit the segment map");
    wait_for(&mut harness, "the map editor", |h| shows(h, "Reset to the standard map"));

    // Rename New Customers (selected by clicking its row) to "Fresh Faces".
    click_text(&harness, "New Customers");
    wait_for(&mut harness, "the rename field", |h| shows(h, "Rename 'New Customers' to"));
    harness.get_by_role_and_label(egui::accesskit::Role::TextInput, "Rename 'New Customers' to").focus();
    harness.run_steps(1);
    harness.get_by_role_and_label(egui::accesskit::Role::TextInput, "Rename 'New Customers' to").type_text("Fresh Faces");
    harness.run_steps(2);
    click_button(&harness, "Rename");
    wait_for(&mut harness, "the renamed segment", |h| shows(h, "Fresh Faces") && !shows(h, "New Customers") && !h.state().busy());
    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    let grid = shoplens::workspace::settings::load_segment_grid(&conn).unwrap();
    assert_eq!(grid.segment(5, 1), "Fresh Faces");
}

/// A result is drawn only against the copy it was computed from. With a product selected in the
/// demand forecast, the events copy is swapped for a smaller one read straight from a file
/// (whose codes number products differently): the old forecast keeps drawing with its own copy
/// until the new one arrives, and the selected product is looked up by id, never by an old code.
/// Before results carried their copy, this indexed the small copy with the big one's codes and
/// panicked on the UI thread.
#[test]
fn swapping_to_a_smaller_events_copy_with_a_product_selected_keeps_drawing() {
    use shoplens::ui::panels::event_models::EventModels;
    let (dir, _ws, mut harness) = app_on_new_workspace("swap.shoplens");
    let big = dir.path().join("big.csv");
    shoplens::generate::write_events(std::fs::File::create(&big).unwrap(), 20_000, 9).unwrap();
    harness.input_mut().dropped_files.push(Arc::new(Dropped(big)));
    wait_for(&mut harness, "the import", |h| shows(h, "20,000 rows loaded"));
    click_button(&harness, "Funnel");
    wait_for(&mut harness, "the funnel", |h| shows(h, "20,000 events from the workspace"));
    click_text(&harness, "Demand forecast");
    wait_for(&mut harness, "the forecast", |h| shows(h, "Top sellers next week") && !h.state().busy());

    // Select the top seller: the product with the highest code this copy has is the likeliest
    // to be out of range in a smaller copy, so pick the one with the highest code on screen.
    let (product_id, old_copy_products) = {
        let models = harness.state_mut().models_mut().get::<EventModels>();
        let forecast = models.forecast.get().unwrap().clone();
        let top = forecast.products.iter().take(10).max_by_key(|p| p.product).unwrap();
        (forecast.input.products[top.product as usize].id, forecast.input.products.len())
    };
    click_text(&harness, &product_id.to_string());
    wait_for(&mut harness, "the product's history", |h| shows(h, &format!("Product {product_id} ·")));

    // A much smaller events file, read straight into memory while it is imported.
    let small = dir.path().join("small.csv");
    shoplens::generate::write_events(std::fs::File::create(&small).unwrap(), 300, 4).unwrap();
    harness.input_mut().dropped_files.push(Arc::new(Dropped(small)));
    // Frames drawn while the small copy was current and the product still selected: each one
    // drew the big copy's forecast with the big copy (a panic would end the test here).
    let frames_on_small_copy = std::cell::Cell::new(0);
    wait_for(&mut harness, "the second import", |h| {
        let events = h.state().models().find::<EventModels>().and_then(|m| m.frame.as_ref().map(|f| f.data.len()));
        if events == Some(300) {
            frames_on_small_copy.set(frames_on_small_copy.get() + 1);
        }
        shows(h, "Imported small.csv into events: 300 rows loaded") && events == Some(20_300) && !h.state().busy()
    });
    assert!(frames_on_small_copy.get() > 0, "the small copy was shown before the workspace copy replaced it");
    let models = harness.state_mut().models_mut().get::<EventModels>();
    let now = models.frame.as_ref().unwrap().data.products.len();
    assert!(now >= old_copy_products, "the workspace copy has every product again");
    // The product is still selected (by id) and its history is read from the new copy.
    wait_for(&mut harness, "the product's history on the new copy", |h| shows(h, &format!("Product {product_id} ·")));
}

/// A workspace damaged on disk opens with a clear message and the offer to copy what still
/// reads (not one more error line); "Not now" dismisses it.
#[test]
fn a_damaged_workspace_offers_to_recover_what_still_reads() {
    let (dir, ws, harness) = app_on_new_workspace("whole.shoplens");
    drop(harness);
    let orders = dir.path().join("orders.csv");
    shoplens::generate::write_order_lines(std::fs::File::create(&orders).unwrap(), 20_000, 3).unwrap();
    {
        let mut workspace = shoplens::workspace::Workspace::open(&ws).unwrap();
        shoplens::import::import_file(&mut workspace, &orders, &Default::default(), &shoplens::jobs::JobContext::detached()).unwrap();
    }
    let mut bytes = std::fs::read(&ws).unwrap();
    let page = 16_384;
    let at = bytes.len() / page / 2 * page;
    bytes[at..at + page].fill(0xA5);
    let damaged = dir.path().join("damaged.shoplens");
    std::fs::write(&damaged, bytes).unwrap();

    let mut harness = app_on(&damaged);
    // The window lays itself out over its first frame: wait for its buttons.
    wait_for(&mut harness, "the offer to recover", |h| shows(h, "This workspace file is damaged") && shows(h, "Not now"));
    assert!(shows(&harness, "Copy what still reads into a new workspace"));
    click_button(&harness, "Not now");
    wait_for(&mut harness, "the offer window to close", |h| !shows(h, "Not now"));
    assert!(shows(&harness, "Copy what still reads into a new workspace"), "the central area keeps the offer");
}

/// A workspace carrying a trigger (a file from someone else) is not opened: the window says so
/// and offers a clean copy of its data, which opens with the data and without the trigger.
#[test]
fn a_workspace_with_a_planted_trigger_is_refused_and_offers_a_clean_copy() {
    let (dir, ws, harness) = app_on_new_workspace("received.shoplens");
    drop(harness);
    let orders = dir.path().join("orders.csv");
    shoplens::generate::write_order_lines(std::fs::File::create(&orders).unwrap(), 2_000, 3).unwrap();
    {
        let mut workspace = shoplens::workspace::Workspace::open(&ws).unwrap();
        shoplens::import::import_file(&mut workspace, &orders, &Default::default(), &shoplens::jobs::JobContext::detached()).unwrap();
    }
    let conn = rusqlite::Connection::open(&ws).unwrap();
    conn.execute_batch("CREATE TRIGGER planted AFTER INSERT ON order_lines BEGIN DELETE FROM order_lines; END;").unwrap();
    drop(conn);

    let mut harness = app_on(&ws);
    wait_for(&mut harness, "the refusal", |h| shows(h, "This workspace file was not opened") && shows(h, "Not now"));
    assert!(shows(&harness, "Copy its data into a clean workspace"), "the offer of a clean copy");
    assert!(!shows(&harness, "This workspace file is damaged"), "an untrusted file is not called damaged");
    assert!(!shows(&harness, "Loading order lines"), "no panel reads a refused file");
    click_button(&harness, "Not now");
    // The window closes; the central area keeps the offer, and no panel draws.
    wait_for(&mut harness, "the refusal window to close", |h| !shows(h, "Not now"));
    assert!(shows(&harness, "This workspace file was not opened") && shows(&harness, "Open another workspace"));
    assert!(!labels(&harness).iter().any(|l| l.starts_with("Could not")), "no error lines beside it: {:?}", labels(&harness));
}

/// A workspace of the pricing generator's files (30 products, 90 days).
fn pricing_workspace(dir: &Path) -> PathBuf {
    shoplens::generate::write_pricing(dir, 30, 90, 5).unwrap();
    let ws = dir.join("pricing.shoplens");
    let mut workspace = shoplens::workspace::Workspace::open(&ws).unwrap();
    for file in ["catalogue.csv", "our_prices.csv", "competitor_prices.csv", "orders.csv"] {
        let options = shoplens::import::ImportOptions::default();
        shoplens::import::import_file(&mut workspace, &dir.join(file), &options, &shoplens::jobs::JobContext::detached()).unwrap();
    }
    // The feed states GBP; ours are said to be GBP too (else they are not compared).
    let currency = shoplens::workspace::settings::OUR_CURRENCY;
    shoplens::workspace::settings::save_pricing_setting(workspace.conn(), currency, &Some("GBP")).unwrap();
    ws
}

/// A snooze whose end date cannot be read (a damaged or hand-edited workspace) is shown as such;
/// the Signals tab keeps drawing (it sliced the empty formatted date and panicked the window).
#[test]
fn an_unreadable_snooze_date_keeps_the_signals_tab_drawing() {
    use shoplens::analytics::{alerts::SignalKey, pricing};
    let dir = tempfile::tempdir().unwrap();
    let ws = pricing_workspace(dir.path());
    {
        let conn = shoplens::workspace::open_read_only(&ws).unwrap();
        let data = shoplens::workspace::copies::load_pricing(&conn, &shoplens::jobs::JobContext::detached()).unwrap();
        let writer = rusqlite::Connection::open(&ws).unwrap();
        for signal in pricing::signals(&data, &Default::default(), None) {
            let key = SignalKey::of(&data, &signal);
            writer
                .execute(
                    "INSERT OR REPLACE INTO signal_reviews (signal, product_id, competitor, at, state, until) VALUES (?1, ?2, ?3, ?4, 'snoozed', 'not a date')",
                    rusqlite::params![key.signal, key.product_id, key.competitor, key.at],
                )
                .unwrap();
        }
    }
    let mut harness = app_on(&ws);
    wait_for(&mut harness, "the workspace", |h| !h.state().busy());
    click_button(&harness, "Pricing");
    wait_for(&mut harness, "the monitor", |h| shows(h, "Price index (market = 100)"));
    click_text(&harness, "Signals");
    wait_for(&mut harness, "the alert list", |h| shows(h, "snoozed to an unreadable date"));
    harness.run_steps(5);
    assert!(shows(&harness, "snoozed to an unreadable date"), "still drawing: {:?}", labels(&harness));
}

/// Proposals computed for the previous rules are never recorded: a rule changed on screen
/// disables Record (and the exports) until the proposals of the new rules are in.
#[test]
fn record_waits_for_the_proposals_of_the_rules_on_screen() {
    let dir = tempfile::tempdir().unwrap();
    let ws = pricing_workspace(dir.path());
    let mut harness = app_on(&ws);
    wait_for(&mut harness, "the workspace", |h| !h.state().busy());
    click_button(&harness, "Pricing");
    wait_for(&mut harness, "the monitor", |h| shows(h, "Price index (market = 100)"));
    click_text(&harness, "Recommendations");
    wait_for(&mut harness, "the proposals", |h| shows(h, "Accept all"));
    click_text(&harness, "Accept all");
    wait_for(&mut harness, "the queue", |h| labels(h).iter().any(|l| l.starts_with("Record ") && l.ends_with(" decisions")));
    let record = labels(&harness).into_iter().find(|l| l.starts_with("Record ") && l.ends_with(" decisions")).unwrap();
    let disabled = |h: &Harness<'static, ShoplensApp>| {
        use egui_kittest::kittest::NodeT;
        h.get_by_role_and_label(egui::accesskit::Role::Button, &record).accesskit_node().is_disabled()
    };
    wait_for(&mut harness, "Record enabled", |h| !disabled(h));
    // A rule changes: in the frame that shows the change, Record waits.
    harness.get_by_role_and_label(egui::accesskit::Role::CheckBox, ".99").click_accesskit();
    harness.step();
    assert!(disabled(&harness), "Record must wait for the new rules' proposals");
    wait_for(&mut harness, "the new proposals", |h| !disabled(h));
    assert_eq!(sql_f64(&ws, "SELECT count(*) FROM price_decisions"), 0.0, "nothing was recorded meanwhile");
}

/// The Pricing panel as a category manager uses it: read the monitor, acknowledge an alert
/// (saved), accept every proposed change and record it (the decision log and our prices), and
/// find it in the Decisions tab. Figures are checked against the library's own results on the
/// same workspace (the library is checked against SQL and statsmodels in tests/pricing.rs).
#[test]
fn pricing_panel_monitor_alerts_and_decisions() {
    use shoplens::analytics::pricing;
    let dir = tempfile::tempdir().unwrap();
    let ws = pricing_workspace(dir.path());
    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    let data = shoplens::workspace::copies::load_pricing(&conn, &shoplens::jobs::JobContext::detached()).unwrap();
    drop(conn);
    let monitor = pricing::monitor(&data, &Default::default(), None);
    let cheapest = monitor.positions.iter().filter(|p| p.rank == Some(1)).count();
    let compared = monitor.positions.iter().filter(|p| p.index.is_some()).count();
    let signals = pricing::signals(&data, &Default::default(), None).len();

    let mut harness = app_on(&ws);
    wait_for(&mut harness, "the workspace", |h| !h.state().busy());
    click_button(&harness, "Pricing");
    wait_for(&mut harness, "the monitor", |h| {
        shows(h, "Price index (market = 100)") && shows(h, &format!("{cheapest} of {compared}")) && shows(h, "P00001")
    });
    assert!(shows(&harness, "prices over time"), "the first product's chart: {:?}", labels(&harness));

    click_text(&harness, "Signals");
    let heading = format!("{} signals", shoplens::ui::widgets::number(signals as f64, 0));
    wait_for(&mut harness, "the alert list", |h| shows(h, &heading) && shows(h, "acknowledged 0"));
    click_text(&harness, "Acknowledge");
    wait_for(&mut harness, "the acknowledgement", |h| shows(h, "acknowledged 1") && !h.state().busy());
    assert_eq!(sql_f64(&ws, "SELECT count(*) FROM signal_reviews WHERE state = 'acknowledged'"), 1.0);

    click_text(&harness, "Elasticity");
    wait_for(&mut harness, "the estimates", |h| shows(h, "identified from their own price changes"));

    click_text(&harness, "Recommendations");
    wait_for(&mut harness, "the proposals", |h| shows(h, "Accept all"));
    let changes: usize = labels(&harness)
        .iter()
        .find_map(|l| l.strip_prefix("Accept all ").and_then(|rest| rest.split(' ').next()?.parse().ok()))
        .expect("the Accept all button names the number of changes");
    assert!(changes > 0, "the generator's prices leave the band, so there are changes");
    click_text(&harness, "Accept all");
    wait_for(&mut harness, "the queue", |h| shows(h, &format!("Record {changes} decisions")));
    click_text(&harness, "Record ");
    wait_for(&mut harness, "the decisions", |h| shows(h, &format!("Recorded {changes} accepted")) && !h.state().busy());
    assert_eq!(sql_f64(&ws, "SELECT count(*) FROM price_decisions WHERE status = 'accepted'"), changes as f64);
    assert_eq!(sql_f64(&ws, "SELECT count(*) FROM our_prices WHERE import_id = 0"), changes as f64);
    // The Decisions tab lists them, each taken today, after the sales data ends: not measured,
    // with the reason; the log of accepted and rejected proposals folds out below.
    click_text(&harness, "Decisions");
    wait_for(&mut harness, "the changes", |h| shows(h, &format!("0 of {changes} price changes could be measured")));
    wait_for(&mut harness, "why not", |h| shows(h, "Not measured: the 28 days before and after"));
    click_text(&harness, &format!("Decision log ({changes} decisions)"));
    wait_for(&mut harness, "the decision log", |h| shows(h, &format!("{changes} decisions: {changes} accepted")));

    // Saying our prices are in euros leaves the pound feeds out of every comparison.
    click_text(&harness, "Monitor");
    wait_for(&mut harness, "the monitor again", |h| shows(h, "Our prices: in GBP"));
    click_button(&harness, "Change");
    harness.run_steps(2);
    harness.get_by_role_and_label(egui::accesskit::Role::TextInput, "Our prices are in").focus();
    harness.run_steps(1);
    // Replace the GBP in the field.
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_steps(1);
    harness.get_by_role_and_label(egui::accesskit::Role::TextInput, "Our prices are in").type_text("eur");
    harness.run_steps(2);
    click_button(&harness, "Save");
    wait_for(&mut harness, "the feeds left out", |h| shows(h, "in another currency than ours are left out") && !h.state().busy());
    assert!(shows(&harness, "Our prices: in EUR, tax not stated."), "{:?}", labels(&harness));
    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    assert_eq!(shoplens::workspace::settings::our_currency(&conn).unwrap().as_deref(), Some("EUR"));

    // A/B test: the first product, split at its last price change, compared as the CLI does.
    click_button(&harness, "A/B test");
    wait_for(&mut harness, "the comparison", |h| shows(h, "units per day") && shows(h, "P(B > A)") && !h.state().busy());
    assert!(shows(&harness, "Units per day, arm A then arm B"), "the chart");
}

/// The Sellers and Listings panels on a generated marketplace: the candidates' heading, the
/// model report and the listing figures equal the library's results on the same workspace
/// (which tests/marketplace.rs checks against SQL and the planted truth); unticking a short
/// category re-scores against the others.
#[test]
fn sellers_and_listings_panels() {
    use shoplens::analytics::marketplace::{listings, sellers};
    let dir = tempfile::tempdir().unwrap();
    shoplens::generate::write_marketplace(dir.path(), 2_000, shoplens::generate::MARKET_INTERACTIONS_PER_USER, 4).unwrap();
    let ws = dir.path().join("market.shoplens");
    {
        let mut workspace = shoplens::workspace::Workspace::open(&ws).unwrap();
        for file in ["users.csv", "collection_items.csv", "listings.csv", "marketplace_orders.csv", "interactions.csv"] {
            let options = shoplens::import::ImportOptions::default();
            shoplens::import::import_file(&mut workspace, &dir.path().join(file), &options, &shoplens::jobs::JobContext::detached())
                .unwrap();
        }
    }
    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    let data = shoplens::workspace::copies::load_marketplace(&conn, &shoplens::jobs::JobContext::detached()).unwrap();
    drop(conn);
    let expected = sellers::compute(&data, &Default::default(), &shoplens::jobs::JobContext::detached()).unwrap();
    let listed: u64 = listings::compute(&data, &Default::default(), listings::GroupBy::Category).groups.iter().map(|g| g.listed).sum();
    let number = |n: usize| shoplens::ui::widgets::number(n as f64, 0);

    let mut harness = app_on(&ws);
    wait_for(&mut harness, "the workspace", |h| !h.state().busy());
    click_button(&harness, "Sellers");
    let heading =
        format!("{} active sellers (≥3 sales in 12 months) among {} users", number(expected.active_sellers), number(data.users.len()));
    wait_for(&mut harness, "the candidates", |h| shows(h, &heading) && shows(h, "Campaign CSV"));
    let best = &data.users[expected.candidates[0].user as usize].id;
    assert!(shows(&harness, best), "the best candidate {best} is listed: {:?}", labels(&harness));

    click_text(&harness, "Model report");
    wait_for(&mut harness, "the model report", |h| shows(h, "Precision at 50") && shows(h, "Feature weights"));

    click_text(&harness, "Short categories");
    wait_for(&mut harness, "the categories", |h| shows(h, "Match collections against watches"));
    harness.get_by_label("Match collections against watches").click_accesskit();
    wait_for(&mut harness, "the re-scoring", |h| shows(h, "Use the three shortest") && !h.state().busy());
    click_text(&harness, "Candidates");
    wait_for(&mut harness, "the new match", |h| shows(h, "Matched against the short categories: vinyl records, trading cards."));

    click_button(&harness, "Listings");
    wait_for(&mut harness, "the listing figures", |h| shows(h, "Median days to sell") && shows(h, &number(listed as usize)));
    assert!(shows(&harness, "Listing flow"));
}

/// The demo story from the sidebar: open a view (its panel, tab and dates come back), present
/// it with the arrow keys as a clicker sends them, leave with Esc, and save a new view.
#[test]
fn story_sidebar_opens_presents_and_saves_views() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("demo.shoplens");
    shoplens::demo::build(&ws, &shoplens::jobs::JobContext::detached()).unwrap();
    let mut harness = app_on(&ws);
    wait_for(&mut harness, "the story and the order lines", |h| shows(h, "1. The year at a glance") && !h.state().busy());

    // Opening "Do they come back?" shows the Segments panel's cohorts over all the data.
    click_text(&harness, "6. Do they come back?");
    wait_for(&mut harness, "the cohort table", |h| shows(h, "% customers retained") && !h.state().busy());
    assert!(h_filters_are(&harness, None, None));

    // "Did our price changes pay?" opens Pricing › Decisions on the demo's decisions, measured
    // against their controls. Reference: the library's assessment of the same workspace.
    let portfolio = {
        use shoplens::analytics::impact;
        let conn = shoplens::workspace::open_read_only(&ws).unwrap();
        let data = shoplens::workspace::copies::load_pricing(&conn, &shoplens::jobs::JobContext::detached()).unwrap();
        let log = shoplens::workspace::settings::load_decisions(&conn).unwrap();
        let decided = shoplens::workspace::settings::decided_changes(&log, &data);
        let assessed = impact::assess(&data, 28, &decided, &shoplens::jobs::JobContext::detached()).unwrap();
        impact::portfolio(assessed.iter().filter(|a| a.decided.is_some())).sentences(28, shoplens::present::format::money)
    };
    assert!(portfolio[0].starts_with("4 of 4 price changes could be measured"), "{portfolio:?}");
    click_text(&harness, "Did our price changes pay?");
    wait_for(&mut harness, "the measured decisions", |h| {
        portfolio.iter().all(|line| shows(h, line)) && shows(h, "Verdict: ") && shows(h, "units a day around")
    });

    // Present from the first view; Right (and PageDown) step, Left steps back, Esc leaves.
    click_button(&harness, "Present");
    wait_for(&mut harness, "the first slide", |h| {
        h.state().presenting() == Some(0) && shows(h, "1 / 12") && shows(h, "Revenue builds through the autumn")
    });
    assert!(!shows(&harness, "Save view"), "no side panels while presenting");
    // Each slide shows its chosen chart or table alone: no other chart or table of its view,
    // and no editing controls (reference: the report's slides, computed headless).
    let slides = shoplens::present::story_slides(&ws, shoplens::demo::DEMO_STORY, &shoplens::jobs::JobContext::detached()).unwrap();
    for (k, slide) in slides.iter().enumerate() {
        let chosen = match slide.focused().expect("every demo slide presents something") {
            shoplens::present::slide::Focused::Chart(c) => c.title.clone(),
            shoplens::present::slide::Focused::Table(t) => t.title.clone(),
        };
        let page = format!("{} / 12", k + 1);
        wait_for(&mut harness, &chosen, |h| shows(h, &page) && shows(h, &chosen) && shows(h, &slide.title));
        let others = slide.charts.iter().map(|c| &c.title).chain(slide.tables.iter().map(|t| &t.title)).filter(|t| **t != chosen);
        for other in others {
            assert!(!labels(&harness).iter().any(|l| l == other), "slide {} shows '{other}' besides '{chosen}'", k + 1);
        }
        for control in ["PNG", "CSV", "Save view…"] {
            assert!(!labels(&harness).iter().any(|l| l == control), "slide {} has a '{control}' button", k + 1);
        }
        harness.key_press(egui::Key::ArrowRight);
    }
    wait_for(&mut harness, "the last slide", |h| h.state().presenting() == Some(11));
    for _ in 0..10 {
        harness.key_press(egui::Key::ArrowLeft);
        harness.step();
    }
    wait_for(&mut harness, "the second slide", |h| h.state().presenting() == Some(1));
    // "November, our biggest month" is the last full month of the data.
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    assert!(h_filters_are(&harness, day("2010-11-01"), day("2010-11-30")));
    harness.key_press(egui::Key::PageDown);
    wait_for(&mut harness, "the third slide", |h| h.state().presenting() == Some(2) && shows(h, "What changed in November"));
    harness.key_press(egui::Key::ArrowLeft);
    wait_for(&mut harness, "back to the second", |h| h.state().presenting() == Some(1));
    harness.key_press(egui::Key::Escape);
    wait_for(&mut harness, "the window again", |h| h.state().presenting().is_none() && shows(h, "Save view"));

    // Save the panel as it is now in a new story.
    click_button(&harness, "Save view…");
    wait_for(&mut harness, "the dialog", |h| shows(h, "Caption"));
    harness.get_by_label("Title").focus();
    harness.get_by_label("Title").type_text(" for the board");
    harness.get_by_label("In the story").focus();
    harness.get_by_label("In the story").type_text(" (board)");
    harness.run_steps(2);
    click_button(&harness, "Save");
    wait_for(&mut harness, "the saved view", |h| shows(h, "for the board") && !h.state().busy());
    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    let stories = shoplens::workspace::views::stories(&conn).unwrap();
    let board = stories.iter().find(|s| s.contains("(board)")).unwrap_or_else(|| panic!("{stories:?}"));
    let saved = shoplens::workspace::views::views(&conn, board).unwrap();
    assert_eq!(saved.len(), 1);
    assert!(saved[0].view.title.contains("for the board"), "{:?}", saved[0].view.title);
    assert_eq!(saved[0].view.panel, "overview", "the panel on screen when it was saved");
}

fn h_filters_are(harness: &Harness<'static, ShoplensApp>, from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>) -> bool {
    let filters = harness.state().filters();
    (filters.from, filters.to) == (from, to)
}

/// A competitor feed keyed by name (the Hammer excerpt): the Matches tab lists the suggestions
/// best first; confirming them saves them and the monitor compares the confirmed groups, named
/// after a member, with promotions marked in the signal list.
#[test]
fn pricing_matches_by_name_are_confirmed_in_the_panel() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("hammer.shoplens");
    {
        let mut workspace = shoplens::workspace::Workspace::open(&ws).unwrap();
        let options = shoplens::import::ImportOptions::default();
        shoplens::import::import_file(
            &mut workspace,
            &fixture("hammer_oats_tofu_rice_excerpt.csv"),
            &options,
            &shoplens::jobs::JobContext::detached(),
        )
        .unwrap();
    }
    let mut harness = app_on(&ws);
    wait_for(&mut harness, "the workspace", |h| !h.state().busy());
    click_button(&harness, "Pricing");
    wait_for(&mut harness, "the pricing tabs", |h| shows(h, "Matches by name"));
    click_button(&harness, "Matches by name");
    wait_for(&mut harness, "the suggestions", |h| {
        shows(h, "21 competitor products: 21 suggested, 0 confirmed, 0 rejected.") && !h.state().busy()
    });
    click_button(&harness, "Confirm every suggestion from 0.90");
    // Tofu, brown rice, flake oats, quick oats and chewy bars; the Cheerios (516 g at one grocer,
    // no size at the others) and the Bob's Red Mill spellings stay for a person to decide.
    wait_for(&mut harness, "the decisions", |h| shows(h, "Saved 12 match decisions") && !h.state().busy());
    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    let confirmed: i64 = conn.query_row("SELECT count(*) FROM name_matches WHERE status = 'confirmed'", [], |r| r.get(0)).unwrap();
    assert_eq!(confirmed, 12);
    click_button(&harness, "Monitor");
    wait_for(&mut harness, "the grouped products", |h| shows(h, "G0006 Firm Tofu") && !h.state().busy());
    click_button(&harness, "Signals");
    wait_for(&mut harness, "a promotion among the signals", |h| shows(h, "Competitor price drop (promoted price)") && !h.state().busy());
}

#[test]
fn a_warehouse_connection_is_added_in_the_data_panel_without_its_password() {
    let (_dir, ws, mut harness) = app_on_new_workspace("sources.shoplens");
    click_button(&harness, "Data");
    wait_for(&mut harness, "the sources list", |h| shows(h, "Warehouse sources") && shows(h, "None saved"));
    click_button(&harness, "Add connection…");
    wait_for(&mut harness, "the form", |h| shows(h, "New warehouse connection"));
    for (field, text) in [("Name", "warehouse"), ("Database", "shop"), ("User", "analyst")] {
        harness.get_by_role_and_label(egui::accesskit::Role::TextInput, field).focus();
        harness.run_steps(1);
        harness.get_by_role_and_label(egui::accesskit::Role::TextInput, field).type_text(text);
        harness.run_steps(2);
    }
    // Nothing listens on port 1: the test must end with a message, never hang the window.
    harness.get_by_role_and_label(egui::accesskit::Role::TextInput, "Port").focus();
    harness.run_steps(1);
    for _ in 0..4 {
        harness.key_press(egui::Key::Backspace);
    }
    harness.get_by_role_and_label(egui::accesskit::Role::TextInput, "Port").type_text("1");
    harness.run_steps(2);
    click_button(&harness, "Save connection");
    wait_for(&mut harness, "the saved connection", |h| {
        shows(h, "Saved the connection warehouse") && shows(h, "warehouse  ·  analyst@localhost:1/shop")
    });
    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    let saved = shoplens::workspace::sources::list(&conn).unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!((saved[0].port, saved[0].database.as_str(), saved[0].user.as_str()), (1, "shop", "analyst"));

    click_text(&harness, "warehouse  ·  analyst@localhost:1/shop");
    wait_for(&mut harness, "the source view", |h| shows(h, "Browse tables"));
    harness.get_by_role_and_label(egui::accesskit::Role::PasswordInput, "Password").focus();
    harness.run_steps(1);
    harness.get_by_role_and_label(egui::accesskit::Role::PasswordInput, "Password").type_text("s3cret-typed");
    harness.run_steps(2);
    click_button(&harness, "Test");
    wait_for(&mut harness, "the connection error", |h| shows(h, "cannot reach analyst@localhost:1/shop"));
    // The typed password lives in memory only.
    drop(harness);
    let bytes = std::fs::read(&ws).unwrap();
    assert!(!bytes.windows(12).any(|w| w == b"s3cret-typed"), "the typed password reached the workspace file");
}

/// The Findings panel on the demo: with no dates chosen it looks at November against October,
/// lists what passed its test with the count tested, and "Save to story" saves the finding as a
/// view titled by its sentence, which names it again when the view is opened.
#[test]
fn findings_panel_lists_what_changed_and_saves_a_finding_to_the_story() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("demo.shoplens");
    shoplens::demo::build(&ws, &shoplens::jobs::JobContext::detached()).unwrap();
    let mut harness = app_on(&ws);
    wait_for(&mut harness, "the order lines", |h| h.state().workspace().is_some() && !h.state().busy());
    click_button(&harness, "Findings");
    wait_for(&mut harness, "the findings", |h| shows(h, "passed: a change that could be chance") && !h.state().busy());
    assert!(shows(&harness, "1 Nov 2010 to 30 Nov 2010, compared with 1 Oct 2010 to 31 Oct 2010"), "{:?}", labels(&harness));
    // Reference: the same findings computed headless (as `shoplens findings` does).
    let frame = shoplens::workspace::copies::load_order_lines(
        &shoplens::workspace::open_read_only(&ws).unwrap(),
        &shoplens::jobs::JobContext::detached(),
    )
    .unwrap();
    let filters = shoplens::analytics::findings::period_filters(&Default::default(), frame.date_span());
    let ctx = shoplens::jobs::JobContext::detached();
    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    let events = std::sync::Arc::new(shoplens::workspace::copies::load_events(&conn, &ctx).unwrap());
    let inputs = shoplens::workspace::copies::load_findings_inputs(&conn, Some(events), &ctx).unwrap();
    let expected = shoplens::analytics::findings::compute_with(&frame, inputs.sources(), &filters, &inputs.settings(), &ctx).unwrap();
    let first = &expected.findings[0];
    assert!(shows(&harness, &first.text), "the first finding '{}' in {:?}", first.text, labels(&harness));

    harness.get_all_by_label("Save to story").next().expect("a Save to story button").click_accesskit();
    wait_for(&mut harness, "the dialog", |h| shows(h, "Caption"));
    harness.run_steps(2);
    click_button(&harness, "Save");
    wait_for(&mut harness, "the saved view", |h| !h.state().busy() && !shows(h, "Caption"));
    let conn = shoplens::workspace::open_read_only(&ws).unwrap();
    let saved = shoplens::workspace::views::views(&conn, shoplens::demo::DEMO_STORY).unwrap();
    let last = &saved.last().unwrap().view;
    assert_eq!(last.panel, "findings");
    assert_eq!(last.title, first.text);
    assert_eq!(last.state["finding"]["subject"], first.subject.as_str(), "{:?}", last.state);
}

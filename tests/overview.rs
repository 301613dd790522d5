//! Overview figures against independent SQL over the same workspace (the UCI 2009-2010 data).

use std::path::Path;

use chrono::NaiveDate;
use shoplens::analytics::{overview, Filters};
use shoplens::import::{self, ImportOptions};
use shoplens::jobs::JobContext;
use shoplens::workspace::Workspace;

fn uci_workspace() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = Workspace::open(&dir.path().join("overview.shoplens")).unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/uci_online_retail_ii_2009-2010.parquet");
    import::import_file(&mut ws, &file, &ImportOptions::default(), &JobContext::detached()).unwrap();
    (dir, ws)
}

fn sql_f64(ws: &Workspace, sql: &str) -> f64 {
    ws.conn().query_row(sql, [], |r| r.get::<_, Option<f64>>(0)).unwrap().unwrap_or(0.0)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// SQL condition for a period (inclusive days) and optional country.
fn window(from: &str, to_exclusive: &str, country: Option<&str>) -> String {
    let country = country.map(|c| format!(" AND country = '{c}'")).unwrap_or_default();
    format!("invoice_date >= '{from}' AND invoice_date < '{to_exclusive}'{country}")
}

/// Non-cancelled invoices under `cond` with their value and whether any line has a customer;
/// an adjustment (not an order) is worth 0 or less in cents and has no customer.
fn invoices(cond: &str) -> String {
    format!(
        "(SELECT invoice, sum(quantity * unit_price) AS value, round(sum(quantity * unit_price), 2) <= 0 AND count(customer_id) = 0 AS adjustment
          FROM order_lines WHERE cancelled = 0 AND {cond} GROUP BY invoice)"
    )
}

fn check_totals(ws: &Workspace, kpis: [f64; 5], cond: &str) {
    let revenue = sql_f64(ws, &format!("SELECT sum(quantity * unit_price) FROM order_lines WHERE cancelled = 0 AND {cond}"));
    let orders = sql_f64(ws, &format!("SELECT count(*) FROM {} WHERE NOT adjustment", invoices(cond)));
    let order_value = sql_f64(ws, &format!("SELECT sum(value) FROM {} WHERE NOT adjustment", invoices(cond)));
    let customers = sql_f64(ws, &format!("SELECT count(DISTINCT customer_id) FROM order_lines WHERE cancelled = 0 AND {cond}"));
    let cancelled = sql_f64(ws, &format!("SELECT count(DISTINCT invoice) FROM order_lines WHERE cancelled = 1 AND {cond}"));
    let expected = [revenue, orders, customers, order_value / orders, cancelled / (orders + cancelled) * 100.0];
    for (name, (got, want)) in ["revenue", "orders", "customers", "aov", "cancel rate"].iter().zip(kpis.iter().zip(expected)) {
        assert!(close(*got, want), "{name}: {got} vs SQL {want} ({cond})");
    }
}

#[test]
fn overview_figures_equal_sql_over_the_same_workspace() {
    let (_dir, ws) = uci_workspace();
    let frame = shoplens::workspace::copies::load_order_lines(ws.conn(), &JobContext::detached()).unwrap();
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();

    // Whole data: no previous period to compare with.
    let all = overview::compute(&frame, &Filters::default(), &JobContext::detached()).unwrap();
    assert_eq!(all.period, Some((d(2009, 12, 1), d(2010, 12, 9))));
    assert_eq!(all.previous_period, None);
    let k = &all.kpis;
    check_totals(
        &ws,
        [k.revenue.current, k.orders.current, k.customers.current, k.average_order_value.current, k.cancellation_rate.current],
        "1 = 1",
    );
    assert_eq!(k.revenue.previous, None);

    // Spring 2010 (three whole months) in the UK, against the three months before.
    let filters =
        Filters { from: Some(d(2010, 3, 1)), to: Some(d(2010, 5, 31)), country: Some("United Kingdom".into()), ..Default::default() };
    let spring = overview::compute(&frame, &filters, &JobContext::detached()).unwrap();
    assert_eq!(spring.previous_period, Some((d(2009, 12, 1), d(2010, 2, 28))));
    let k = &spring.kpis;
    check_totals(
        &ws,
        [k.revenue.current, k.orders.current, k.customers.current, k.average_order_value.current, k.cancellation_rate.current],
        &window("2010-03-01", "2010-06-01", Some("United Kingdom")),
    );
    let previous = |kpi: overview::Kpi| kpi.previous.unwrap();
    check_totals(
        &ws,
        [previous(k.revenue), previous(k.orders), previous(k.customers), previous(k.average_order_value), previous(k.cancellation_rate)],
        &window("2009-12-01", "2010-03-01", Some("United Kingdom")),
    );

    // Months.
    assert_eq!(spring.months.iter().map(|m| m.label()).collect::<Vec<_>>(), ["2010-03", "2010-04", "2010-05"]);
    for m in &spring.months {
        let cond = format!("substr(invoice_date, 1, 7) = '{}' AND country = 'United Kingdom'", m.label());
        assert!(close(
            m.revenue,
            sql_f64(&ws, &format!("SELECT sum(quantity * unit_price) FROM order_lines WHERE cancelled = 0 AND {cond}"))
        ));
        assert_eq!(m.placed_orders as f64, sql_f64(&ws, &format!("SELECT count(*) FROM {} WHERE NOT adjustment", invoices(&cond))));
        assert_eq!(
            m.cancelled_orders as f64,
            sql_f64(&ws, &format!("SELECT count(DISTINCT invoice) FROM order_lines WHERE cancelled = 1 AND {cond}"))
        );
        assert_eq!(
            m.active_customers as f64,
            sql_f64(&ws, &format!("SELECT count(DISTINCT customer_id) FROM order_lines WHERE cancelled = 0 AND {cond}"))
        );
        let new = sql_f64(
            &ws,
            &format!(
                "SELECT count(*) FROM (SELECT customer_id, min(substr(invoice_date, 1, 7)) AS first FROM order_lines
                 WHERE cancelled = 0 AND customer_id IS NOT NULL AND country = 'United Kingdom' GROUP BY customer_id) WHERE first = '{}'",
                m.label()
            ),
        );
        assert_eq!(m.new_customers as f64, new, "{}", m.label());
        assert_eq!(m.returning_customers, m.active_customers - m.new_customers);
    }
    let (march, april) = (&spring.months[0], &spring.months[1]);
    let growth = april.growth_pct.unwrap();
    assert!(close(growth, (april.revenue - march.revenue) / march.revenue * 100.0));
    assert_eq!(march.growth_pct, None, "the month before March is outside the period");
    // The data ends on 9 December 2010: that month is partial, and has no growth (not a −70%
    // collapse); the months before it are whole.
    let (november, december) = (&all.months[all.months.len() - 2], &all.months[all.months.len() - 1]);
    assert_eq!((december.label(), december.partial, december.growth_pct), ("2010-12".to_string(), true, None));
    assert!(!november.partial && november.growth_pct.is_some());
    assert!(!all.months[0].partial, "the data starts on 1 December 2009");
    let (header, rows) = overview::months_table(&all);
    assert_eq!(header.last().map(String::as_str), Some("partial"));
    assert_eq!(rows.last().unwrap()[2..].first().map(String::as_str), Some(""), "growth_pct empty for the partial month");
    assert_eq!(rows.last().unwrap().last().map(String::as_str), Some("true"));

    // Orders: one value per order, adding up to the revenue without the adjustments.
    assert_eq!(spring.order_values.len() as f64, k.orders.current);
    assert!(close(spring.order_values.iter().sum::<f64>() + spring.adjustments.value, k.revenue.current));

    // Adjustments (the UCI data's stock write-offs and bad-debt entries): counted and valued
    // as SQL counts them, and left out of the orders.
    let (count, value) = (
        sql_f64(&ws, &format!("SELECT count(*) FROM {} WHERE adjustment", invoices("1 = 1"))),
        sql_f64(&ws, &format!("SELECT sum(value) FROM {} WHERE adjustment", invoices("1 = 1"))),
    );
    assert!(count > 3_000.0, "{count}");
    assert_eq!(all.adjustments.invoices as f64, count);
    assert!(close(all.adjustments.value, value), "{} vs {value}", all.adjustments.value);
    // Orders per country leave them out too.
    let uk_orders = sql_f64(&ws, &format!("SELECT count(*) FROM {} WHERE NOT adjustment", invoices("country = 'United Kingdom'")));
    assert_eq!(all.top_countries[0].count as f64, uk_orders);

    // Top tables.
    let top_country = &all.top_countries[0];
    assert_eq!(top_country.name, "United Kingdom");
    assert!(close(
        top_country.revenue,
        sql_f64(&ws, "SELECT sum(quantity * unit_price) FROM order_lines WHERE cancelled = 0 AND country = 'United Kingdom'")
    ));
    let second: String = ws
        .conn()
        .query_row("SELECT country FROM order_lines WHERE cancelled = 0 GROUP BY country ORDER BY sum(quantity * unit_price) DESC LIMIT 1 OFFSET 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(all.top_countries[1].name, second);
    let (code, revenue, units): (String, f64, f64) = ws
        .conn()
        .query_row(
            "SELECT stock_code, sum(quantity * unit_price) r, sum(quantity) FROM order_lines WHERE cancelled = 0 GROUP BY stock_code ORDER BY r DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let top = &all.top_products_with_services[0];
    assert_eq!(top.name, code);
    assert!(close(top.revenue, revenue));
    assert_eq!(top.count as f64, units);
    // The product ranking leaves out postage, fees and manual lines: the same question in SQL
    // over codes with a digit that are not tests, vouchers, adjustments or C2.
    let products: Vec<String> = ws
        .conn()
        .prepare(
            "SELECT stock_code FROM order_lines WHERE cancelled = 0 AND stock_code GLOB '*[0-9]*'
               AND upper(stock_code) NOT LIKE 'TEST%' AND substr(upper(stock_code), 1, 5) <> 'GIFT_'
               AND upper(stock_code) NOT LIKE 'ADJUST%' AND upper(stock_code) NOT IN ('C2', 'C3')
             GROUP BY stock_code ORDER BY sum(quantity * unit_price) DESC LIMIT 10",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(all.top_products.iter().map(|r| r.name.clone()).collect::<Vec<_>>(), products);
    assert!(all.services.iter().any(|r| r.name == "DOT" || r.name == "POST"), "{:?}", all.services);
}

#[test]
fn a_period_outside_the_data_is_empty_not_an_error() {
    let (_dir, ws) = uci_workspace();
    let frame = shoplens::workspace::copies::load_order_lines(ws.conn(), &JobContext::detached()).unwrap();
    let filters =
        Filters { from: NaiveDate::from_ymd_opt(2030, 1, 1), to: NaiveDate::from_ymd_opt(2030, 2, 1), country: None, ..Default::default() };
    let result = overview::compute(&frame, &filters, &JobContext::detached()).unwrap();
    assert_eq!(result.period, None);
    assert!(result.months.is_empty() && result.order_values.is_empty());
    assert_eq!(result.kpis.revenue.current, 0.0);
}

/// The copy keeps its lines in month order (what lets the Overview count a month's distinct
/// invoices and customers in one pass); lines that arrive in any other order give the same
/// figures. The reference is the workspace's own order, itself checked against SQL above.
#[test]
fn the_overview_does_not_depend_on_the_order_lines_arrive_in() {
    use shoplens::analytics::order_frame::{OrderFrameBuilder, OrderLine};
    use shoplens::timestamp::{SlashOrder, Timestamp};
    let (_dir, ws) = uci_workspace();
    let ctx = JobContext::detached();
    let in_order = shoplens::workspace::copies::load_order_lines(ws.conn(), &ctx).unwrap();
    // Every line, newest first: months arrive backwards.
    let mut stmt = ws
        .conn()
        .prepare(
            "SELECT invoice, stock_code, description, quantity, invoice_date, unit_price, customer_id, country, cancelled
             FROM order_lines ORDER BY rowid DESC",
        )
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut builder = OrderFrameBuilder::default();
    while let Some(r) = rows.next().unwrap() {
        let text = |i: usize| r.get::<_, Option<String>>(i).unwrap();
        let (invoice, code, description, customer, country) =
            (text(0).unwrap(), text(1).unwrap_or_default(), text(2).unwrap_or_default(), text(6), text(7));
        builder.push(OrderLine {
            invoice: &invoice,
            stock_code: &code,
            description: &description,
            quantity: r.get(3).unwrap(),
            invoice_date: Timestamp::parse(&r.get::<_, String>(4).unwrap(), SlashOrder::MonthFirst).unwrap(),
            unit_price: r.get(5).unwrap(),
            customer_id: customer.as_deref(),
            country: country.as_deref().unwrap_or("Unspecified"),
            cancelled: r.get::<_, i64>(8).unwrap() != 0,
            currency: "",
        });
    }
    let reversed = builder.finish().unwrap();
    reversed.check().unwrap();
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    for filters in [
        Filters::default(),
        Filters { from: Some(d(2010, 3, 1)), to: Some(d(2010, 5, 31)), country: Some("United Kingdom".into()), ..Default::default() },
        Filters { from: Some(d(2010, 6, 15)), to: Some(d(2010, 9, 10)), country: Some("Germany".into()), ..Default::default() },
    ] {
        let (a, b) = (overview::compute(&in_order, &filters, &ctx).unwrap(), overview::compute(&reversed, &filters, &ctx).unwrap());
        assert_eq!((a.period, a.previous_period), (b.period, b.previous_period));
        assert_eq!(a.months.len(), b.months.len());
        for (x, y) in a.months.iter().zip(&b.months) {
            assert_eq!(
                (x.month, x.placed_orders, x.cancelled_orders, x.active_customers, x.new_customers),
                (y.month, y.placed_orders, y.cancelled_orders, y.active_customers, y.new_customers)
            );
            assert!(close(x.revenue, y.revenue), "{} {} vs {}", x.label(), x.revenue, y.revenue);
        }
        for (x, y) in [
            (a.kpis.revenue, b.kpis.revenue),
            (a.kpis.orders, b.kpis.orders),
            (a.kpis.customers, b.kpis.customers),
            (a.kpis.cancellation_rate, b.kpis.cancellation_rate),
        ] {
            assert!(close(x.current, y.current) && x.previous.is_some() == y.previous.is_some(), "{x:?} vs {y:?}");
        }
        let (mut va, mut vb) = (a.order_values.clone(), b.order_values.clone());
        va.sort_by(f64::total_cmp);
        vb.sort_by(f64::total_cmp);
        assert_eq!(va.len(), vb.len());
        assert!(va.iter().zip(&vb).all(|(x, y)| close(*x, *y)));
        let names =
            |r: &[overview::Ranked]| r.iter().map(|r| (r.name.clone(), r.count, (r.revenue * 100.0).round() as i64)).collect::<Vec<_>>();
        assert_eq!(names(&a.top_countries), names(&b.top_countries));
        assert_eq!(names(&a.top_products_with_services), names(&b.top_products_with_services));
    }
}

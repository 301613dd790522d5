//! Numbers as people read them, the same in the window and in reports.

/// `1234567.891` → `1,234,568` (no decimals) or `1,234,567.89`.
pub fn number(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = text.split_once('.').map_or((text.as_str(), None), |(w, f)| (w, Some(f)));
    let grouped = crate::import::report::group(whole.parse().unwrap_or(0));
    let sign = if value < 0.0 && text.chars().any(|c| c != '0' && c != '.') { "-" } else { "" };
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Money without a currency sign (exports carry no currency); two decimals under 1,000.
pub fn money(value: f64) -> String {
    if value.abs() >= 1000.0 {
        number(value, 0)
    } else {
        number(value, 2)
    }
}

/// A size in bytes: `512 B`, `12.3 KB`, `4.1 MB`, `2.0 GB` (powers of 1,000, as networks count).
pub fn bytes(n: u64) -> String {
    let units = [("GB", 1e9), ("MB", 1e6), ("KB", 1e3)];
    match units.iter().find(|(_, size)| n as f64 >= *size) {
        Some((unit, size)) => format!("{:.1} {unit}", n as f64 / size),
        None => format!("{n} B"),
    }
}

pub fn percent(value: f64) -> String {
    format!("{value:+.1}%")
}

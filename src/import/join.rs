//! Several related files read as one table: a lines file joined to the files it refers to (an
//! orders file, a customers file), as relational dumps come (Olist: order items → orders →
//! customers).
//!
//! Each related file is read whole into memory, keyed by its key column; the lines file is then
//! streamed, and each line gets the related rows' columns appended. The result is an ordinary
//! [`RowSource`], so kinds, mappings, the quality report and the single transaction are those of
//! any file. A line whose key has no row in a related file is rejected with that reason; rows
//! of a related file that no line refers to (orders without items) are counted, by status
//! where a status column is mapped, in the quality report.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::convert::RowError;
use super::error::ImportError;
use super::sources::{self, RawRow, RowSource, SourceInfo};
use crate::workspace::catalogue::normalize_header;
use crate::workspace::report::RepairCounts;

/// A file joined to the lines, and how.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Related {
    pub path: PathBuf,
    /// A column of the rows so far (the lines and the files joined before this one).
    pub key: String,
    /// The column of this file it equals.
    pub their_key: String,
}

/// How to read several files as one: the lines file, then each related file in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinSpec {
    pub lines: PathBuf,
    pub related: Vec<Related>,
}

/// One related file in memory.
struct Table {
    /// How the report names it (its file name).
    name: String,
    /// Its columns as they appear in the joined header (clashes prefixed with the file's stem).
    headers: Vec<String>,
    /// Position of the key in the rows so far.
    key: usize,
    /// Rows by key value (trimmed), without the key column.
    rows: HashMap<String, usize>,
    values: Vec<Vec<String>>,
    /// Which rows a line referred to.
    used: Vec<bool>,
    /// Rows whose key repeated an earlier row's: the first is used.
    duplicate_keys: u64,
    /// Rows without a key value: no line can refer to them.
    without_key: u64,
}

/// The lines file with its related files' columns appended (see the module's notes).
pub struct JoinedSource {
    lines: Box<dyn RowSource>,
    headers: Vec<String>,
    tables: Vec<Table>,
}

/// A related file's rows that no line referred to, for the quality report.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmatched {
    pub file: String,
    pub rows: u64,
    /// The rows themselves, as in the joined header's columns of that file.
    pub headers: Vec<String>,
    pub values: Vec<Vec<String>>,
}

impl JoinedSource {
    /// Opens the lines file and reads each related file into memory.
    pub fn open(spec: &JoinSpec, sheet: Option<&str>) -> Result<(Self, SourceInfo), ImportError> {
        let (lines, info) = sources::open(&spec.lines, sheet)?;
        let mut headers: Vec<String> = lines.headers().to_vec();
        let mut tables = Vec::new();
        for related in &spec.related {
            let table = read_related(related, &headers)?;
            headers.extend(table.headers.iter().cloned());
            tables.push(table);
        }
        Ok((Self { lines, headers, tables }, info))
    }

    /// Rows of each related file no line referred to.
    pub fn unmatched(&self) -> Vec<Unmatched> {
        self.tables
            .iter()
            .map(|t| {
                let values: Vec<Vec<String>> =
                    t.used.iter().zip(&t.values).filter(|(used, _)| !**used).map(|(_, row)| row.clone()).collect();
                Unmatched { file: t.name.clone(), rows: values.len() as u64, headers: t.headers.clone(), values }
            })
            .collect()
    }

    /// What the quality report says about the join itself.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for t in &self.tables {
            let matched = t.used.iter().filter(|u| **u).count();
            notes.push(format!(
                "joined {} on {} ({} of its {} rows have lines)",
                t.name,
                self.headers[t.key],
                crate::import::report::group(matched as u64),
                crate::import::report::group(t.values.len() as u64)
            ));
            if t.duplicate_keys > 0 {
                notes.push(format!("{}: {} rows repeat an earlier row's key; the first of each is used", t.name, t.duplicate_keys));
            }
            if t.without_key > 0 {
                notes.push(format!("{}: {} rows have no key value; no line can refer to them", t.name, t.without_key));
            }
        }
        notes
    }
}

/// Reads a related file whole, keyed by `their_key`; its header (minus the key) as it will
/// appear after `before`, prefixed with the file's stem where a name is taken.
fn read_related(related: &Related, before: &[String]) -> Result<Table, ImportError> {
    let path = &related.path;
    let find = |headers: &[String], name: &str| {
        headers.iter().position(|h| h == name).or_else(|| headers.iter().position(|h| normalize_header(h) == normalize_header(name)))
    };
    let key = find(before, &related.key).ok_or_else(|| {
        ImportError::Mapping(format!(
            "cannot join {}: the lines have no column '{}' (columns: {})",
            path.display(),
            related.key,
            before.join(", ")
        ))
    })?;
    let (mut source, _) = sources::open(path, None)?;
    let own: Vec<String> = source.headers().to_vec();
    let their_key = find(&own, &related.their_key).ok_or_else(|| {
        ImportError::Mapping(format!(
            "cannot join {}: it has no column '{}' (columns: {})",
            path.display(),
            related.their_key,
            own.join(", ")
        ))
    })?;
    let headers = added_headers(path, &own, their_key, before);
    let mut table = Table {
        name: path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned()),
        headers,
        key,
        rows: HashMap::new(),
        values: Vec::new(),
        used: Vec::new(),
        duplicate_keys: 0,
        without_key: 0,
    };
    let mut row = RawRow::default();
    while source.read_row(&mut row)? {
        if row.malformed.is_some() || row.fields.len() != own.len() {
            return Err(ImportError::Format {
                path: path.clone(),
                message: format!("line {} cannot be read as {} fields: a file joined to others must be read whole", row.line, own.len()),
            });
        }
        let value = row.fields[their_key].trim();
        if value.is_empty() {
            table.without_key += 1;
            continue;
        }
        if table.rows.contains_key(value) {
            table.duplicate_keys += 1;
            continue;
        }
        table.rows.insert(value.to_string(), table.values.len());
        table.values.push(row.fields.iter().enumerate().filter(|(i, _)| *i != their_key).map(|(_, f)| f.to_string()).collect());
    }
    table.used = vec![false; table.values.len()];
    Ok(table)
}

/// The columns a related file adds after the columns `before`: its own (`own`) without its key,
/// each named `stem.column` where `before` has the name already. The mapping dialog names the
/// joined columns with this too.
pub fn added_headers(path: &Path, own: &[String], their_key: usize, before: &[String]) -> Vec<String> {
    let stem = stem(path);
    let taken = |name: &str| before.iter().any(|h| normalize_header(h) == normalize_header(name));
    own.iter().enumerate().filter(|(i, _)| *i != their_key).map(|(_, h)| if taken(h) { format!("{stem}.{h}") } else { h.clone() }).collect()
}

fn stem(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    name.split('.').next().unwrap_or("related").to_string()
}

impl RowSource for JoinedSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }

    fn read_row(&mut self, row: &mut RawRow) -> Result<bool, ImportError> {
        if !self.lines.read_row(row)? {
            return Ok(false);
        }
        row.rejected = None;
        if row.malformed.is_some() {
            return Ok(true);
        }
        let width = self.lines.headers().len();
        if row.fields.len() < width {
            // Too few fields: the converter rejects the row for its width.
            return Ok(true);
        }
        // Extra empty fields (a trailing delimiter) would shift the joined columns.
        if row.fields.len() > width {
            let kept: Vec<String> = row.fields.iter().take(width).map(str::to_string).collect();
            row.fields = kept.into();
        }
        for t in &mut self.tables {
            let value = row.fields.get(t.key).unwrap_or("").trim().to_string();
            match t.rows.get(&value) {
                Some(&i) => {
                    t.used[i] = true;
                    for field in &t.values[i] {
                        row.fields.push_field(field);
                    }
                }
                None => {
                    let column = &self.headers[t.key];
                    // The first file without a match is the reason; later ones follow from it.
                    row.rejected = row.rejected.take().or_else(|| {
                        Some(RowError {
                            key: format!("{column} not in {}", t.name),
                            detail: format!("{column} '{}' has no row in {}", value.chars().take(60).collect::<String>(), t.name),
                        })
                    });
                    // Keep the width: the row is rejected, but its fields stay what they were.
                    for _ in 0..t.headers.len() {
                        row.fields.push_field("");
                    }
                }
            }
        }
        Ok(true)
    }

    fn progress(&self) -> (u64, u64) {
        self.lines.progress()
    }

    fn repairs(&self) -> RepairCounts {
        self.lines.repairs()
    }

    fn join_notes(&self) -> Vec<String> {
        self.notes()
    }

    fn unmatched(&self) -> Vec<Unmatched> {
        JoinedSource::unmatched(self)
    }
}

/// Which files go together and on which keys: a built-in layout (Olist's) or a join the user
/// made once and shoplens remembers (`joins` table), found again by the files' columns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Recipe {
    /// Normalised column names the lines file has (all of them).
    pub lines: Vec<String>,
    pub related: Vec<RelatedRecipe>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RelatedRecipe {
    /// Normalised column names the related file has.
    pub columns: Vec<String>,
    pub key: String,
    pub their_key: String,
}

impl Recipe {
    /// Olist's orders dump: order items → orders (order_id) → customers (customer_id).
    pub fn olist() -> Self {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Recipe {
            lines: names(&["orderid", "orderitemid", "productid", "price", "freightvalue"]),
            related: vec![
                RelatedRecipe {
                    columns: names(&["orderid", "customerid", "orderstatus", "orderpurchasetimestamp"]),
                    key: "order_id".into(),
                    their_key: "order_id".into(),
                },
                RelatedRecipe {
                    columns: names(&["customerid", "customeruniqueid"]),
                    key: "customer_id".into(),
                    their_key: "customer_id".into(),
                },
            ],
        }
    }

    /// The recipe of a join the user made: the files' columns as they are now.
    pub fn of(spec: &JoinSpec) -> Result<Self, ImportError> {
        let columns = |path: &Path| -> Result<Vec<String>, ImportError> {
            Ok(sources::open(path, None)?.0.headers().iter().map(|h| normalize_header(h)).collect())
        };
        Ok(Recipe {
            lines: columns(&spec.lines)?,
            related: spec
                .related
                .iter()
                .map(|r| Ok(RelatedRecipe { columns: columns(&r.path)?, key: r.key.clone(), their_key: r.their_key.clone() }))
                .collect::<Result<_, ImportError>>()?,
        })
    }
}

/// The recipes files are grouped by: Olist's, then the joins remembered in the workspace
/// (none without one).
pub fn recipes(conn: Option<&rusqlite::Connection>) -> Result<Vec<Recipe>, ImportError> {
    let mut recipes = vec![Recipe::olist()];
    if let Some(conn) = conn {
        let has_table: bool = conn.query_row("SELECT count(*) > 0 FROM sqlite_schema WHERE name = 'joins'", [], |r| r.get(0))?;
        if has_table {
            let mut stmt = conn.prepare("SELECT recipe FROM joins ORDER BY saved_at DESC")?;
            let saved = stmt.query_map([], |r| r.get::<_, String>(0))?;
            for recipe in saved {
                // A recipe this build cannot read is left out, not an error: it only saves asking.
                if let Ok(recipe) = serde_json::from_str(&recipe?) {
                    recipes.push(recipe);
                }
            }
        }
    }
    Ok(recipes)
}

/// Remembers a join the user made, so the same layouts given together are joined next time.
pub fn remember(conn: &rusqlite::Connection, recipe: &Recipe) -> Result<(), ImportError> {
    conn.execute(
        "INSERT OR REPLACE INTO joins (lines_signature, recipe, saved_at) VALUES (?1, ?2, ?3)",
        rusqlite::params![recipe.lines.join(","), serde_json::to_string(recipe).unwrap_or_default(), super::now()],
    )?;
    Ok(())
}

/// Files given together, grouped: the sets a recipe joins, and the files left to import alone.
/// A file's columns are read from its header only.
pub fn group_files(files: &[PathBuf], recipes: &[Recipe]) -> Result<(Vec<JoinSpec>, Vec<PathBuf>), ImportError> {
    if files.len() < 2 {
        return Ok((Vec::new(), files.to_vec()));
    }
    let mut columns: Vec<Option<Vec<String>>> = Vec::with_capacity(files.len());
    for path in files {
        // A file that cannot be opened is left to its own import, which says why.
        columns.push(sources::open(path, None).ok().map(|(s, _)| s.headers().iter().map(|h| normalize_header(h)).collect()));
    }
    let has_all = |i: usize, wanted: &[String]| columns[i].as_ref().is_some_and(|c| wanted.iter().all(|w| c.contains(w)));
    let mut taken = vec![false; files.len()];
    let mut joins = Vec::new();
    for recipe in recipes {
        for lines in 0..files.len() {
            if taken[lines] || !has_all(lines, &recipe.lines) {
                continue;
            }
            let mut chosen = vec![lines];
            for related in &recipe.related {
                match (0..files.len()).find(|&j| !taken[j] && !chosen.contains(&j) && has_all(j, &related.columns)) {
                    Some(j) => chosen.push(j),
                    None => break,
                }
            }
            if chosen.len() != recipe.related.len() + 1 {
                continue;
            }
            for &i in &chosen {
                taken[i] = true;
            }
            joins.push(JoinSpec {
                lines: files[lines].clone(),
                related: recipe
                    .related
                    .iter()
                    .zip(&chosen[1..])
                    .map(|(r, &j)| Related { path: files[j].clone(), key: r.key.clone(), their_key: r.their_key.clone() })
                    .collect(),
            });
        }
    }
    let alone = files.iter().zip(&taken).filter(|(_, t)| !**t).map(|(f, _)| f.clone()).collect();
    Ok((joins, alone))
}

/// Parses `--join FILE:KEY` or `--join FILE:KEY=THEIR_KEY` (the last `:` splits, so a Windows
/// drive letter stays part of the path).
pub fn parse_join_arg(spec: &str) -> Result<Related, String> {
    let (path, keys) = spec.rsplit_once(':').ok_or_else(|| format!("--join {spec}: write FILE:KEY or FILE:KEY=THEIR_KEY"))?;
    let (key, their_key) = keys.split_once('=').unwrap_or((keys, keys));
    let (key, their_key) = (key.trim(), their_key.trim());
    if path.is_empty() || key.is_empty() || their_key.is_empty() {
        return Err(format!("--join {spec}: write FILE:KEY or FILE:KEY=THEIR_KEY"));
    }
    Ok(Related { path: PathBuf::from(path), key: key.to_string(), their_key: their_key.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Hand-checked: two items of order A and one of B (whose order is missing); order C has no
    /// items; customers joined through the orders' customer_id.
    #[test]
    fn lines_get_their_order_and_customer_columns() {
        let dir = tempfile::tempdir().unwrap();
        let items = write(dir.path(), "items.csv", "order_id,product_id,price\nA,p1,10\nA,p2,5\nB,p1,7\n");
        let orders = write(dir.path(), "orders.csv", "order_id,customer_id,order_status\nA,c1,delivered\nC,c2,canceled\nA,c9,shipped\n");
        let customers = write(dir.path(), "customers.csv", "customer_id,customer_unique_id,state\nc1,u1,SP\nc2,u2,RJ\n");
        let spec = JoinSpec {
            lines: items,
            related: vec![
                Related { path: orders, key: "order_id".into(), their_key: "order_id".into() },
                Related { path: customers, key: "customer_id".into(), their_key: "customer_id".into() },
            ],
        };
        let (mut source, _) = JoinedSource::open(&spec, None).unwrap();
        assert_eq!(source.headers(), ["order_id", "product_id", "price", "customer_id", "order_status", "customer_unique_id", "state"]);
        let mut row = RawRow::default();
        let mut rows = Vec::new();
        while source.read_row(&mut row).unwrap() {
            rows.push((row.fields.iter().map(str::to_string).collect::<Vec<_>>(), row.rejected.clone().map(|r| r.key)));
        }
        assert_eq!(rows[0].0, ["A", "p1", "10", "c1", "delivered", "u1", "SP"]);
        assert_eq!(rows[1].0[5], "u1");
        assert_eq!(rows[2].1.as_deref(), Some("order_id not in orders.csv"), "B has no order: rejected with the reason");
        let unmatched = source.unmatched();
        assert_eq!((unmatched[0].rows, unmatched[0].values[0][1].as_str()), (1, "canceled"), "order C has no items");
        assert_eq!(unmatched[1].rows, 1, "customer c2 only has order C");
        let notes = source.notes().join("\n");
        assert!(notes.contains("orders.csv: 1 rows repeat an earlier row's key"), "{notes}");
    }

    #[test]
    fn files_given_together_are_grouped_by_recipe() {
        let dir = tempfile::tempdir().unwrap();
        let customers = write(dir.path(), "c.csv", "customer_id,customer_unique_id,customer_state\nc1,u1,SP\n");
        let items = write(dir.path(), "i.csv", "order_id,order_item_id,product_id,price,freight_value\nA,1,p,1,2\n");
        let orders =
            write(dir.path(), "o.csv", "order_id,customer_id,order_status,order_purchase_timestamp\nA,c1,delivered,2018-01-01 10:00:00\n");
        let other = write(dir.path(), "x.csv", "a,b\n1,2\n");
        let (joins, alone) = group_files(&[customers.clone(), other.clone(), items.clone(), orders.clone()], &[Recipe::olist()]).unwrap();
        assert_eq!(alone, [other]);
        assert_eq!(joins.len(), 1);
        assert_eq!((&joins[0].lines, &joins[0].related[0].path, &joins[0].related[1].path), (&items, &orders, &customers));
        let (joins, alone) = group_files(&[items.clone(), orders.clone()], &[Recipe::olist()]).unwrap();
        assert!(joins.is_empty() && alone.len() == 2, "without the customers file the trio is not complete");
        assert_eq!(parse_join_arg("C:\\data\\orders.csv:order_id").unwrap().path, PathBuf::from("C:\\data\\orders.csv"));
        assert_eq!(parse_join_arg("o.csv:cust=customer_id").unwrap().their_key, "customer_id");
        assert!(parse_join_arg("o.csv").is_err());
    }
}

//! Saved views and stories (migration 7): a view is a panel's state with a title, a caption and
//! a date range; a story is a named, ordered list of views. What a panel's state holds is the
//! panel's business (JSON it wrote); this module only keeps it.

use rusqlite::{params, Connection, OptionalExtension};

use crate::analytics::period::DateRange;

/// What a view shows.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub title: String,
    pub caption: String,
    /// `Panel::id` of the panel it restores.
    pub panel: String,
    /// The panel's state, as the panel wrote it.
    pub state: serde_json::Value,
    pub dates: DateRange,
    pub country: Option<String>,
}

/// A view as stored: where it is, and what it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedView {
    pub id: i64,
    pub story: String,
    pub position: i64,
    pub view: View,
}

fn json_error(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

/// The story's id, made if there is none of that name.
pub fn story(conn: &Connection, name: &str) -> rusqlite::Result<i64> {
    if let Some(id) = conn.query_row("SELECT id FROM stories WHERE name = ?1", [name], |r| r.get(0)).optional()? {
        return Ok(id);
    }
    conn.execute("INSERT INTO stories (name, created_at) VALUES (?1, ?2)", params![name, super::now_utc()])?;
    Ok(conn.last_insert_rowid())
}

/// Every story's name, oldest first.
pub fn stories(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare("SELECT name FROM stories ORDER BY id")?.query_map([], |r| r.get(0))?.collect()
}

/// Adds `view` at the end of the story `story_name` (made if needed); returns its id.
pub fn save_view(conn: &mut Connection, story_name: &str, view: &View) -> rusqlite::Result<i64> {
    let tx = conn.transaction()?;
    let story_id = story(&tx, story_name)?;
    let position: i64 = tx.query_row("SELECT count(*) FROM saved_views WHERE story_id = ?1", [story_id], |r| r.get(0))?;
    tx.execute(
        "INSERT INTO saved_views (story_id, position, title, caption, panel, state, dates, country, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            story_id,
            position,
            view.title,
            view.caption,
            view.panel,
            view.state.to_string(),
            serde_json::to_string(&view.dates).map_err(json_error)?,
            view.country,
            super::now_utc()
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(id)
}

/// The views of a story, in order.
pub fn views(conn: &Connection, story_name: &str) -> rusqlite::Result<Vec<SavedView>> {
    let mut stmt = conn.prepare(
        "SELECT v.id, s.name, v.position, v.title, v.caption, v.panel, v.state, v.dates, v.country
         FROM saved_views v JOIN stories s ON s.id = v.story_id WHERE s.name = ?1 ORDER BY v.position",
    )?;
    let rows = stmt.query_map([story_name], |r| {
        let state: String = r.get(6)?;
        let dates: String = r.get(7)?;
        Ok(SavedView {
            id: r.get(0)?,
            story: r.get(1)?,
            position: r.get(2)?,
            view: View {
                title: r.get(3)?,
                caption: r.get(4)?,
                panel: r.get(5)?,
                // A state or range this build cannot read restores the panel's defaults / all dates.
                state: serde_json::from_str(&state).unwrap_or(serde_json::Value::Null),
                dates: serde_json::from_str(&dates).unwrap_or(DateRange::AllData),
                country: r.get(8)?,
            },
        })
    })?;
    rows.collect()
}

/// Changes a view's title and caption.
pub fn edit_view(conn: &Connection, id: i64, title: &str, caption: &str) -> rusqlite::Result<()> {
    conn.execute("UPDATE saved_views SET title = ?2, caption = ?3 WHERE id = ?1", params![id, title, caption])?;
    Ok(())
}

/// Deletes a view and closes the gap it leaves in its story's order.
pub fn delete_view(conn: &mut Connection, id: i64) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let place: Option<(i64, i64)> =
        tx.query_row("SELECT story_id, position FROM saved_views WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    if let Some((story_id, position)) = place {
        tx.execute("DELETE FROM saved_views WHERE id = ?1", [id])?;
        tx.execute("UPDATE saved_views SET position = position - 1 WHERE story_id = ?1 AND position > ?2", [story_id, position])?;
    }
    tx.commit()
}

/// Moves a view to `position` in its story (clamped), shifting the others.
pub fn move_view(conn: &mut Connection, id: i64, position: i64) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let place: Option<(i64, i64)> =
        tx.query_row("SELECT story_id, position FROM saved_views WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    if let Some((story_id, from)) = place {
        let count: i64 = tx.query_row("SELECT count(*) FROM saved_views WHERE story_id = ?1", [story_id], |r| r.get(0))?;
        let to = position.clamp(0, count - 1);
        if to < from {
            tx.execute(
                "UPDATE saved_views SET position = position + 1 WHERE story_id = ?1 AND position >= ?2 AND position < ?3",
                params![story_id, to, from],
            )?;
        } else if to > from {
            tx.execute(
                "UPDATE saved_views SET position = position - 1 WHERE story_id = ?1 AND position > ?2 AND position <= ?3",
                params![story_id, from, to],
            )?;
        }
        tx.execute("UPDATE saved_views SET position = ?2 WHERE id = ?1", params![id, to])?;
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(title: &str) -> View {
        View {
            title: title.into(),
            caption: format!("{title} caption"),
            panel: "overview".into(),
            state: serde_json::json!({ "tab": title }),
            dates: DateRange::LastFullMonth,
            country: None,
        }
    }

    #[test]
    fn views_are_kept_in_order_through_moves_edits_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let mut ws = crate::workspace::Workspace::open(&dir.path().join("w.shoplens")).unwrap();
        let conn = ws.conn_mut();
        let ids: Vec<i64> = ["a", "b", "c", "d"].iter().map(|t| save_view(conn, "Year in review", &view(t)).unwrap()).collect();
        save_view(conn, "Other", &view("x")).unwrap();
        let titles = |conn: &Connection| views(conn, "Year in review").unwrap().iter().map(|v| v.view.title.clone()).collect::<Vec<_>>();
        assert_eq!(titles(conn), ["a", "b", "c", "d"]);
        move_view(conn, ids[3], 0).unwrap();
        assert_eq!(titles(conn), ["d", "a", "b", "c"]);
        move_view(conn, ids[3], 99).unwrap();
        assert_eq!(titles(conn), ["a", "b", "c", "d"]);
        delete_view(conn, ids[1]).unwrap();
        assert_eq!(titles(conn), ["a", "c", "d"]);
        assert_eq!(views(conn, "Year in review").unwrap().iter().map(|v| v.position).collect::<Vec<_>>(), [0, 1, 2]);
        edit_view(conn, ids[2], "C", "new caption").unwrap();
        let saved = views(conn, "Year in review").unwrap();
        assert_eq!((saved[1].view.title.as_str(), saved[1].view.caption.as_str()), ("C", "new caption"));
        assert_eq!(saved[0].view.state, serde_json::json!({ "tab": "a" }));
        assert_eq!(saved[0].view.dates, DateRange::LastFullMonth);
        assert_eq!(stories(conn).unwrap(), ["Year in review", "Other"]);
    }
}

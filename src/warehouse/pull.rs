//! Importing a server table or a query's result: `COPY (…) TO STDOUT (FORMAT csv, HEADER)`
//! streamed into the importer, which treats it as a CSV file: the same kinds and mappings, the
//! same quality report, one transaction. Nothing is held in memory beyond a few batches.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;

use super::browse::Relation;
use super::{Server, WarehouseError};
use crate::import::{self, ImportOptions, ImportOutcome, StreamHash, StreamInput};
use crate::jobs::{self, JobContext};
use crate::workspace::Workspace;

/// Imports `relation` from `server` into `workspace`.
pub fn import(
    workspace: &mut Workspace,
    server: &Server,
    relation: &Relation,
    options: &ImportOptions,
    ctx: &JobContext,
) -> Result<ImportOutcome, WarehouseError> {
    ctx.set_message(format!("asking {} for {}", server.source().name, relation.describe()));
    let expected = estimated_bytes(server, relation, ctx);
    let sql = format!("COPY (SELECT * FROM {}) TO STDOUT (FORMAT csv, HEADER)", relation.from_clause()?);
    let stream = server.wait(ctx, server.client().copy_out(&sql))?;
    let bytes_read = Arc::new(AtomicU64::new(0));
    let hash = Arc::new(StreamHash::default());
    let reader = CopyReader {
        stream: Box::pin(stream),
        chunk: Bytes::new(),
        bytes_read: bytes_read.clone(),
        hash: hash.clone(),
        finished: false,
        cancel: Some(Box::new(server.cancel_request())),
    };
    let name = format!("postgres://{} {}", server.source().address(), relation.describe());
    let table_stem = match relation {
        Relation::Table(table) => table.rsplit('.').next().unwrap_or(table).trim_matches('"').to_string(),
        Relation::Query(_) => "query".to_string(),
    };
    let (source, info) = import::sources::csv_stream(std::path::Path::new(&name), Box::new(reader), bytes_read, expected)?;
    let input = StreamInput { name, table_stem, source, info, hash };
    Ok(import::import_stream(workspace, input, options, ctx)?)
}

/// The on-disk size of a table, as a rough total for the progress bar (0 for a query).
fn estimated_bytes(server: &Server, relation: &Relation, ctx: &JobContext) -> u64 {
    let Relation::Table(table) = relation else { return 0 };
    let Ok(quoted) = super::quote_table(table) else { return 0 };
    server
        .query(ctx, "SELECT pg_relation_size($1::text::regclass)::int8", &[&quoted])
        .ok()
        .and_then(|rows| rows.first().map(|r| r.get::<_, i64>(0)))
        .map_or(0, |n| n.max(0) as u64)
}

/// A COPY stream read as `std::io::Read` on the importer's parser thread (each chunk awaited
/// on the runtime). Dropped before its end (a cancel, or a failed import), it asks the server to
/// stop sending.
struct CopyReader {
    stream: std::pin::Pin<Box<tokio_postgres::CopyOutStream>>,
    chunk: Bytes,
    bytes_read: Arc<AtomicU64>,
    hash: Arc<StreamHash>,
    finished: bool,
    cancel: Option<Box<dyn FnOnce() + Send>>,
}

impl Read for CopyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            if self.finished {
                return Ok(0);
            }
            match jobs::wait_for(self.stream.next()) {
                Some(Ok(chunk)) => {
                    self.bytes_read.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    self.hash.update(&chunk);
                    self.chunk = chunk;
                }
                Some(Err(err)) => return Err(std::io::Error::other(super::describe(&err))),
                None => self.finished = true,
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        let _ = self.chunk.split_to(n);
        Ok(n)
    }
}

impl Drop for CopyReader {
    fn drop(&mut self) {
        if !self.finished {
            if let Some(cancel) = self.cancel.take() {
                cancel();
            }
        }
    }
}

//! Rebuilding a read model from the first event while the engine keeps serving.
//!
//! The events are replayed into fresh copies of the projection's tables in a schema of their
//! own (`rebuild_<name>`), reached through the search path, so `apply` runs unchanged; batches
//! go through `apply_all`, which the views write set-based, and the indexes only queries use are
//! built after the replay (`docs/benchmarks.md` has what each step bought). Then, in
//! one transaction holding the projection's checkpoint (which keeps its live follower waiting),
//! the last events are applied, the old tables dropped, the new ones moved in under the old
//! index names and the checkpoint moved: readers see the old view or the new one, never a mix.

use std::time::Instant;

use sqlx::{PgConnection, PgPool, Row};

use super::follower::{lock_checkpoint, move_checkpoint, FailedAt, Projection, ProjectionError};
use super::reader::{read_after, LogPosition, StoredEvent};

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("проєкцію «{0}» не перебудовують: її наслідки (листи, записи аудиту) не відтворюються з журналу подій")]
    NotRebuildable(&'static str),
    #[error("проєкцію «{0}» вже перебудовує інший процес")]
    AlreadyRunning(&'static str),
    #[error("подію {global_id} не вдалося застосувати: {source}")]
    Apply { global_id: i64, source: ProjectionError },
    #[error("база даних: {0}")]
    Database(#[from] sqlx::Error),
    #[error("журнал подій не читається: {0}")]
    Read(#[from] ProjectionError),
}

/// How far a rebuild has come, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct RebuildProgress {
    pub applied: u64,
    /// Events in the log when the rebuild started (more may arrive).
    pub total: u64,
}

/// What a finished rebuild did.
#[derive(Debug, Clone)]
pub struct RebuildReport {
    pub events: u64,
    pub seconds: f64,
    pub position: LogPosition,
}

const BATCH: i64 = 2_000;

/// Replays the whole log into fresh tables and swaps them in. Fails, leaving the live view as it
/// was, when an event cannot be applied.
pub async fn rebuild(
    pool: &PgPool,
    projection: &dyn Projection,
    mut progress: impl FnMut(RebuildProgress),
) -> Result<RebuildReport, RebuildError> {
    let name = projection.name();
    let tables = projection.tables();
    if tables.is_empty() {
        return Err(RebuildError::NotRebuildable(name));
    }
    let schema = format!("rebuild_{name}");
    debug_assert!(schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "a plain identifier");
    let started = Instant::now();
    // One connection for the whole rebuild: it holds the advisory lock that keeps a second
    // rebuild of the same projection out.
    let mut conn = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))").bind(&schema).fetch_one(&mut *conn).await?;
    if !locked {
        return Err(RebuildError::AlreadyRunning(name));
    }
    let result = replay_and_swap(pool, &mut conn, projection, &schema, tables, &mut progress).await;
    if result.is_err() {
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut *conn).await;
    }
    let _ = sqlx::query("SELECT pg_advisory_unlock(hashtext($1))").bind(&schema).execute(&mut *conn).await;
    let (events, position) = result?;
    Ok(RebuildReport { events, seconds: started.elapsed().as_secs_f64(), position })
}

async fn replay_and_swap(
    pool: &PgPool,
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    tables: &[&str],
    progress: &mut impl FnMut(RebuildProgress),
) -> Result<(u64, LogPosition), RebuildError> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut *tx).await?;
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut *tx).await?;
    for table in tables {
        sqlx::query(&format!("CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)")).execute(&mut *tx).await?;
    }
    // Indexes only queries use are built once after the replay, as a bulk load does, rather
    // than kept up row by row (the trigram index most of all); unique ones stay, for `apply`
    // finds its rows by them.
    let deferred: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
           FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
          WHERE n.nspname = $1 AND NOT i.indisunique",
    )
    .bind(schema)
    .fetch_all(&mut *tx)
    .await?;
    for (index, _) in &deferred {
        sqlx::query(&format!("DROP INDEX {index}")).execute(&mut *tx).await?;
    }
    tx.commit().await?;

    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&mut *conn).await?;
    let total = u64::try_from(total).unwrap_or(0);
    let mut position = LogPosition::default();
    let mut applied = 0u64;
    // Reading and applying take about as long as each other: a second connection reads the
    // next batch while this one applies the last.
    let mut reader = pool.acquire().await?;
    let mut next = read_after(&mut reader, position, BATCH).await?;
    while let Some(last) = next.last().map(|e| e.position) {
        let events = std::mem::take(&mut next);
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let (written, read) = tokio::join!(apply_events(&mut tx, projection, schema, &events), read_after(&mut reader, last, BATCH));
        written?;
        tx.commit().await?;
        next = read?;
        position = last;
        applied += events.len() as u64;
        progress(RebuildProgress { applied, total: total.max(applied) });
    }
    drop(reader);
    for (_, definition) in &deferred {
        sqlx::query(definition).execute(&mut *conn).await?;
    }

    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    lock_checkpoint(&mut tx, projection.name()).await?;
    loop {
        let n = apply_batch(&mut tx, projection, schema, &mut position).await?;
        applied += n;
        if n == 0 {
            break;
        }
    }
    for table in tables {
        let old = index_names(&mut tx, "public", table).await?;
        let new = index_names(&mut tx, schema, table).await?;
        sqlx::query(&format!("DROP TABLE public.{table}")).execute(&mut *tx).await?;
        for (definition, new_name) in &new {
            if let Some((_, old_name)) = old.iter().find(|(d, _)| d == definition) {
                if old_name != new_name {
                    sqlx::query(&format!("ALTER INDEX {schema}.{new_name} RENAME TO {old_name}")).execute(&mut *tx).await?;
                }
            }
        }
        sqlx::query(&format!("ALTER TABLE {schema}.{table} SET SCHEMA public")).execute(&mut *tx).await?;
    }
    move_checkpoint(&mut tx, projection.name(), position).await?;
    sqlx::query("UPDATE projection_checkpoints SET rebuilt_at = now() WHERE projection = $1")
        .bind(projection.name())
        .execute(&mut *tx)
        .await?;
    sqlx::query(&format!("DROP SCHEMA {schema}")).execute(&mut *tx).await?;
    tx.commit().await?;
    progress(RebuildProgress { applied, total: total.max(applied) });
    Ok((applied, position))
}

/// Applies the next batch after `position` to the tables in `schema`; moves `position`.
async fn apply_batch(
    tx: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    position: &mut LogPosition,
) -> Result<u64, RebuildError> {
    let events = read_after(&mut *tx, *position, BATCH).await?;
    apply_events(tx, projection, schema, &events).await?;
    if let Some(last) = events.last() {
        *position = last.position;
    }
    Ok(events.len() as u64)
}

/// Applies `events` to the tables in `schema`.
async fn apply_events(
    tx: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    events: &[StoredEvent],
) -> Result<(), RebuildError> {
    // Unqualified names resolve to the fresh tables first; the log stays in `public`.
    sqlx::query(&format!("SET LOCAL search_path TO {schema}, public")).execute(&mut *tx).await?;
    if let Err(FailedAt { index, error }) = projection.apply_all(&mut *tx, events).await {
        let global_id = events.get(index).or(events.first()).map_or(0, |e| e.position.global_id);
        return Err(RebuildError::Apply { global_id, source: error });
    }
    sqlx::query("SET LOCAL search_path TO DEFAULT").execute(&mut *tx).await?;
    Ok(())
}

/// A table's indexes as (definition without its name and schema, name): the definition is what
/// matches an old index to its fresh copy.
async fn index_names(conn: &mut PgConnection, schema: &str, table: &str) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2")
        .bind(schema)
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(|row| {
            let name: String = row.try_get("indexname")?;
            let definition: String = row.try_get("indexdef")?;
            // "CREATE [UNIQUE] INDEX name ON schema.table USING method (columns) [WHERE …]"
            let unique = definition.starts_with("CREATE UNIQUE");
            let shape = definition.split_once(" USING ").map_or(definition.as_str(), |(_, rest)| rest);
            Ok((format!("{unique} {shape}"), name))
        })
        .collect()
}

//! Projections and reactors follow the log with a durable checkpoint: each batch of events is
//! applied and the checkpoint moved in one transaction, so a process that dies anywhere resumes
//! exactly where its last commit left it — no event lost, none applied twice.
//!
//! A batch that fails is rolled back and its error kept on the checkpoint row, for `projections
//! status` and `/health`. A database error is retried with backoff; an event the projection
//! cannot apply halts that projection alone (the others go on) until it is rebuilt or resumed.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::{PgConnection, PgPool, Row};
use tokio::sync::watch;

use super::reader::{read_after, LogPosition, StoredEvent};
use super::wakeups::Wakeups;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event {aggregate_type}/{aggregate_id}#{sequence} does not decode: {source}")]
    Decode { aggregate_type: String, aggregate_id: String, sequence: i64, source: serde_json::Error },
    /// The event decodes, but the projection cannot record it (it breaks the projection's own
    /// invariants): retrying will not help.
    #[error("the event cannot be applied: {0}")]
    Unapplicable(String),
    /// An event's sealed personal fields do not open: the key or the event is damaged.
    #[error("personal data: {0}")]
    PersonalData(String),
    #[error("projection {projection} is halted at event {failed_global_id:?}: {error}")]
    Halted { projection: &'static str, failed_global_id: Option<i64>, error: String },
}

impl From<crate::personal_data::PersonalDataError> for ProjectionError {
    fn from(e: crate::personal_data::PersonalDataError) -> Self {
        match e {
            crate::personal_data::PersonalDataError::Database(e) => Self::Database(e),
            other => Self::PersonalData(other.to_string()),
        }
    }
}

impl ProjectionError {
    pub fn decode(event: &StoredEvent, source: serde_json::Error) -> Self {
        Self::Decode {
            aggregate_type: event.aggregate_type.clone(),
            aggregate_id: event.aggregate_id.clone(),
            sequence: event.sequence,
            source,
        }
    }

    /// Whether retrying cannot help: the event itself is the problem, so the projection stops.
    pub fn halts(&self) -> bool {
        matches!(self, Self::Decode { .. } | Self::Unapplicable(_) | Self::PersonalData(_) | Self::Halted { .. })
    }
}

/// A read model or reactor built from the log. `apply` runs inside the transaction that also
/// moves the checkpoint: it must write only through `conn`, and only to unqualified table names
/// (a rebuild points them at fresh tables through the search path). It must find the rows it
/// changes by a unique key: a rebuild builds the other indexes only after the replay.
#[async_trait]
pub trait Projection: Send + Sync {
    /// Stable name: the checkpoint's key.
    fn name(&self) -> &'static str;
    /// The tables this projection alone writes, which a rebuild replaces. Empty for a reactor,
    /// whose effects leave the database and must not be replayed.
    fn tables(&self) -> &'static [&'static str] {
        &[]
    }
    /// How many events one transaction applies. A projection whose batch holds a lock others
    /// wait for (the audit trail's head) keeps it small.
    fn batch_size(&self) -> i64 {
        500
    }
    /// Whether its batches put letters in the outbox: the delivery workers are then woken
    /// after each one that applied events.
    fn enqueues_mail(&self) -> bool {
        false
    }
    async fn apply(&self, conn: &mut PgConnection, event: &StoredEvent) -> Result<(), ProjectionError>;
    /// Applies a batch in log order, as `apply` would one by one; on failure, says which event
    /// (its index in `events`). A view overrides it to write a batch in a few set-based
    /// statements rather than a round trip per event; then an error of those statements names
    /// the batch's first event (database errors are retried, so it only says where to look).
    async fn apply_all(&self, conn: &mut PgConnection, events: &[StoredEvent]) -> Result<(), FailedAt> {
        for (index, event) in events.iter().enumerate() {
            self.apply(&mut *conn, event).await.map_err(|error| FailedAt { index, error })?;
        }
        Ok(())
    }
}

/// Which event of a batch failed, and why.
#[derive(Debug)]
pub struct FailedAt {
    pub index: usize,
    pub error: ProjectionError,
}

impl FailedAt {
    /// A failure of the batch as a whole (a set-based statement): filed under its first event.
    pub fn batch(error: impl Into<ProjectionError>) -> Self {
        Self { index: 0, error: error.into() }
    }
}

/// Locks the projection's checkpoint row (creating it at the start of the log), so that
/// concurrent runners of one projection, and a rebuild's swap, serialise on it.
pub(crate) async fn lock_checkpoint(conn: &mut PgConnection, projection: &str) -> Result<CheckpointRow, sqlx::Error> {
    sqlx::query("INSERT INTO projection_checkpoints (projection) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(projection)
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query(
        "SELECT tx_id::text::bigint AS tx, global_id, halted, last_error, failed_global_id
           FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
    )
    .bind(projection)
    .fetch_one(&mut *conn)
    .await?;
    Ok(CheckpointRow {
        position: LogPosition { tx_id: row.try_get("tx")?, global_id: row.try_get("global_id")? },
        halted: row.try_get("halted")?,
        last_error: row.try_get("last_error")?,
        failed_global_id: row.try_get("failed_global_id")?,
    })
}

pub(crate) struct CheckpointRow {
    pub position: LogPosition,
    pub halted: bool,
    pub last_error: Option<String>,
    pub failed_global_id: Option<i64>,
}

/// Moves the checkpoint and clears any error: the projection is healthy at `to`.
pub(crate) async fn move_checkpoint(conn: &mut PgConnection, projection: &str, to: LogPosition) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE projection_checkpoints
            SET tx_id = $2::text::xid8, global_id = $3, updated_at = now(),
                last_error = NULL, failed_global_id = NULL, failed_at = NULL, halted = false
          WHERE projection = $1",
    )
    .bind(projection)
    .bind(to.tx_id.to_string())
    .bind(to.global_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether a batch has anything to do: events visible past the checkpoint, or a checkpoint to
/// create, clear or report. One statement outside any transaction: an empty look locks nothing and
/// takes no transaction id, so it never holds back the visibility horizon of the other followers
/// (`read_after` stops below the oldest running transaction, a follower's own included).
async fn has_work(pool: &PgPool, projection: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT c.projection IS NULL OR c.halted OR c.last_error IS NOT NULL
                -- A scalar subquery with its order and limit, not EXISTS: EXISTS drops them,
                -- and the planner then scans the whole log instead of the index.
                OR (SELECT true FROM events e
                     WHERE (e.tx_id, e.global_id) > (c.tx_id, c.global_id)
                       AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
                     ORDER BY e.tx_id, e.global_id LIMIT 1) IS NOT NULL
           FROM (SELECT 1) AS one LEFT JOIN projection_checkpoints c ON c.projection = $1",
    )
    .bind(projection)
    .fetch_one(pool)
    .await
}

/// Applies the next batch of events; returns how many were applied.
pub async fn run_batch(pool: &PgPool, projection: &dyn Projection) -> Result<usize, ProjectionError> {
    if !has_work(pool, projection.name()).await? {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    let checkpoint = lock_checkpoint(&mut tx, projection.name()).await?;
    if checkpoint.halted {
        return Err(ProjectionError::Halted {
            projection: projection.name(),
            failed_global_id: checkpoint.failed_global_id,
            error: checkpoint.last_error.unwrap_or_default(),
        });
    }
    let events = read_after(&mut tx, checkpoint.position, projection.batch_size()).await?;
    let Some(last) = events.last().map(|e| e.position) else {
        if checkpoint.last_error.is_some() {
            // An earlier failure was transient and nothing is left to apply: healthy again.
            move_checkpoint(&mut tx, projection.name(), checkpoint.position).await?;
            tx.commit().await?;
        }
        return Ok(0);
    };
    if let Err(FailedAt { index, error }) = projection.apply_all(&mut tx, &events).await {
        tx.rollback().await?;
        let global_id = events.get(index).or(events.first()).map_or(0, |e| e.position.global_id);
        record_failure(pool, projection.name(), &error, global_id).await;
        return Err(error);
    }
    move_checkpoint(&mut tx, projection.name(), last).await?;
    tx.commit().await?;
    Ok(events.len())
}

/// Keeps a failed batch's error on the checkpoint row. Best effort: when the database itself is
/// what failed, this may fail too, and the follower's log line is all that is left.
async fn record_failure(pool: &PgPool, projection: &str, error: &ProjectionError, global_id: i64) {
    let recorded = sqlx::query(
        "UPDATE projection_checkpoints
            SET last_error = $2, failed_global_id = $3, failed_at = now(), halted = $4
          WHERE projection = $1",
    )
    .bind(projection)
    .bind(error.to_string())
    .bind(global_id)
    .bind(error.halts())
    .execute(pool)
    .await;
    if let Err(e) = recorded {
        tracing::warn!(projection, error = %e, "could not record the projection's failure");
    }
}

/// Lets a halted projection try its failed event again (after the code that applies it was
/// fixed). Returns whether it was halted.
pub async fn resume(pool: &PgPool, projection: &str) -> Result<bool, sqlx::Error> {
    let resumed = sqlx::query("UPDATE projection_checkpoints SET halted = false WHERE projection = $1 AND halted")
        .bind(projection)
        .execute(pool)
        .await?;
    Ok(resumed.rows_affected() > 0)
}

/// Applies batches until the projection has caught up with everything committed so far.
pub async fn catch_up(pool: &PgPool, projection: &dyn Projection) -> Result<usize, ProjectionError> {
    let mut total = 0;
    loop {
        let n = run_batch(pool, projection).await?;
        total += n;
        if n == 0 {
            return Ok(total);
        }
    }
}

/// How often a halted projection looks whether it was resumed or rebuilt.
const HALTED_POLL: Duration = Duration::from_secs(2);

/// The shortest time between two batches of one follower. Every append wakes every follower;
/// under load, answering each notification on its own means thousands of near-empty batches a
/// second. Waiting this long lets the notifications of a burst become one batch (ADR 0007).
const COALESCE: Duration = Duration::from_millis(10);

/// Follows the log until `stop` turns true: woken by the announcements of appends (`wakeups`),
/// and by a poll in case one was missed (or an older transaction still held the events back).
pub fn spawn_follower(
    pool: PgPool,
    projection: Arc<dyn Projection>,
    wakeups: Arc<Wakeups>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let mut wake = wakeups.events();
    tokio::spawn(async move {
        let mut failures = 0u32;
        let mut halted = false;
        loop {
            if *stop.borrow() {
                return;
            }
            let cycle = tokio::time::Instant::now();
            let pause = match catch_up(&pool, projection.as_ref()).await {
                Ok(applied) => {
                    if applied > 0 && projection.enqueues_mail() {
                        wakeups.mail_enqueued();
                    }
                    if halted {
                        tracing::info!(projection = projection.name(), "projection resumed");
                    }
                    (failures, halted) = (0, false);
                    Duration::from_millis(500)
                }
                Err(e) if e.halts() => {
                    if !halted {
                        tracing::error!(projection = projection.name(), error = %e, "projection halted: rebuild or resume it");
                    }
                    halted = true;
                    HALTED_POLL
                }
                Err(e) => {
                    failures += 1;
                    tracing::error!(projection = projection.name(), error = %e, failures, "projection batch failed; will retry");
                    Duration::from_millis(200 * 2u64.pow(failures.min(6)))
                }
            };
            let healthy = failures == 0 && !halted;
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(pause) => {}
                _ = async {
                    super::wakeups::next(&mut wake).await;
                    tokio::time::sleep_until(cycle + COALESCE).await;
                    // The burst's other notifications are answered by the same batch.
                    wake.borrow_and_update();
                }, if healthy => {}
            }
        }
    })
}

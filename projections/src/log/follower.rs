//! Projections and reactors follow the log with a durable checkpoint: each batch of events is
//! applied and the checkpoint moved in one transaction, so a process that dies anywhere resumes
//! exactly where its last commit left it — no event lost, none applied twice.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool, Row};
use tokio::sync::watch;

use super::reader::{read_after, LogPosition, StoredEvent};

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event {aggregate_type}/{aggregate_id}#{sequence} does not decode: {source}")]
    Decode { aggregate_type: String, aggregate_id: String, sequence: i64, source: serde_json::Error },
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
}

/// A read model or reactor built from the log. `apply` runs inside the transaction that also
/// moves the checkpoint: it must write only through `conn`.
#[async_trait]
pub trait Projection: Send + Sync {
    /// Stable name: the checkpoint's key.
    fn name(&self) -> &'static str;
    async fn apply(&self, conn: &mut PgConnection, event: &StoredEvent) -> Result<(), ProjectionError>;
}

const BATCH: i64 = 500;

/// Applies the next batch of events; returns how many were applied. Concurrent runners of one
/// projection serialise on the checkpoint row's lock.
pub async fn run_batch(pool: &PgPool, projection: &dyn Projection) -> Result<usize, ProjectionError> {
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO projection_checkpoints (projection) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(projection.name())
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query("SELECT tx_id::text::bigint AS tx, global_id FROM projection_checkpoints WHERE projection = $1 FOR UPDATE")
        .bind(projection.name())
        .fetch_one(&mut *tx)
        .await?;
    let checkpoint = LogPosition { tx_id: row.try_get("tx")?, global_id: row.try_get("global_id")? };
    let events = read_after(&mut tx, checkpoint, BATCH).await?;
    let Some(last) = events.last().map(|e| e.position) else {
        return Ok(0);
    };
    for event in &events {
        projection.apply(&mut tx, event).await?;
    }
    sqlx::query("UPDATE projection_checkpoints SET tx_id = $2::text::xid8, global_id = $3 WHERE projection = $1")
        .bind(projection.name())
        .bind(last.tx_id.to_string())
        .bind(last.global_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(events.len())
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

/// Follows the log until `stop` turns true: woken by the insert trigger's NOTIFY, and by a poll
/// in case a notification was missed (or the events' transaction committed after it).
pub fn spawn_follower(pool: PgPool, projection: Arc<dyn Projection>, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(mut l) => match l.listen("diia_qr_events").await {
                Ok(()) => Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN failed; polling only");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "no listener connection; polling only");
                None
            }
        };
        let mut failures = 0u32;
        loop {
            if *stop.borrow() {
                return;
            }
            match catch_up(&pool, projection.as_ref()).await {
                Ok(_) => failures = 0,
                Err(e) => {
                    failures += 1;
                    tracing::error!(projection = projection.name(), error = %e, failures, "projection batch failed; will retry");
                }
            }
            let pause = if failures == 0 { Duration::from_millis(500) } else { Duration::from_millis(200 * 2u64.pow(failures.min(6))) };
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(pause) => {}
                _ = async {
                    match listener.as_mut() {
                        Some(l) => { let _ = l.recv().await; }
                        None => std::future::pending::<()>().await,
                    }
                }, if failures == 0 => {}
            }
        }
    })
}

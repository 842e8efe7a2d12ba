//! Where each projection stands: its position in the log, how far behind it is, and the error
//! that stopped or slowed it. Read by `diia-qr projections status` and `/health`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Row};

use super::reader::LogPosition;

/// One projection's standing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectionStatus {
    pub name: String,
    /// The last event applied (the start of the log when nothing was applied yet).
    pub position: LogPosition,
    /// Committed events not applied yet.
    pub lag_events: i64,
    /// The age of the oldest event not applied yet; zero when caught up.
    pub lag_seconds: f64,
    pub updated_at: Option<DateTime<Utc>>,
    /// The error of the last failed batch, until a batch succeeds.
    pub last_error: Option<String>,
    /// The event the last failed batch stopped at.
    pub failed_global_id: Option<i64>,
    pub failed_at: Option<DateTime<Utc>>,
    /// Stopped at an event it cannot apply: it applies nothing until resumed or rebuilt.
    pub halted: bool,
    pub rebuilt_at: Option<DateTime<Utc>>,
}

impl ProjectionStatus {
    /// Whether an operator should look: it is halted or its last batch failed.
    pub fn degraded(&self) -> bool {
        self.halted || self.last_error.is_some()
    }
}

/// The standing of each of `names` (in that order), and of any other projection that has a
/// checkpoint, such as one a newer version of the engine runs.
pub async fn projection_status(pool: &PgPool, names: &[&str]) -> Result<Vec<ProjectionStatus>, sqlx::Error> {
    // The lag counts every committed event after the checkpoint, also those the followers do
    // not read yet because an older transaction is still open: they are applied, just not yet.
    let rows = sqlx::query(
        "WITH known AS (SELECT unnest($1::text[]) AS projection, generate_subscripts($1::text[], 1) AS ord),
              standing AS (
                SELECT coalesce(c.projection, k.projection) AS projection, k.ord,
                       coalesce(c.tx_id, '0'::xid8) AS tx_id, coalesce(c.global_id, 0) AS global_id,
                       c.updated_at, c.last_error, c.failed_global_id, c.failed_at,
                       coalesce(c.halted, false) AS halted, c.rebuilt_at
                  FROM projection_checkpoints c FULL JOIN known k ON k.projection = c.projection)
         SELECT s.projection, s.tx_id::text::bigint AS tx, s.global_id, s.updated_at, s.last_error,
                s.failed_global_id, s.failed_at, s.halted, s.rebuilt_at,
                behind.events AS lag_events,
                coalesce(extract(epoch FROM now() - behind.oldest), 0)::float8 AS lag_seconds
           FROM standing s
           CROSS JOIN LATERAL (
                SELECT count(*) AS events, min(e.recorded_at) AS oldest
                  FROM events e
                 WHERE (e.tx_id, e.global_id) > (s.tx_id, s.global_id)) behind
          ORDER BY s.ord NULLS LAST, s.projection",
    )
    .bind(names)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(ProjectionStatus {
                name: row.try_get("projection")?,
                position: LogPosition { tx_id: row.try_get("tx")?, global_id: row.try_get("global_id")? },
                lag_events: row.try_get("lag_events")?,
                lag_seconds: row.try_get::<f64, _>("lag_seconds")?.max(0.0),
                updated_at: row.try_get("updated_at")?,
                last_error: row.try_get("last_error")?,
                failed_global_id: row.try_get("failed_global_id")?,
                failed_at: row.try_get("failed_at")?,
                halted: row.try_get("halted")?,
                rebuilt_at: row.try_get("rebuilt_at")?,
            })
        })
        .collect()
}

/// Whether `projection` has applied every committed event of these aggregates (type, id): what
/// a page waits for after its own command, however far the rest of the log runs ahead.
pub async fn caught_up_on(pool: &PgPool, projection: &str, aggregates: &[(&str, String)]) -> Result<bool, sqlx::Error> {
    let (types, ids): (Vec<&str>, Vec<&str>) = aggregates.iter().map(|(t, id)| (*t, id.as_str())).unzip();
    sqlx::query_scalar(
        "SELECT NOT EXISTS (
                SELECT 1 FROM events e
                  JOIN unnest($2::text[], $3::text[]) AS w(aggregate_type, aggregate_id)
                    ON e.aggregate_type = w.aggregate_type AND e.aggregate_id = w.aggregate_id
                 WHERE (e.tx_id, e.global_id) > (SELECT coalesce(max(c.tx_id), '0'::xid8), coalesce(max(c.global_id), 0)
                                                   FROM projection_checkpoints c WHERE c.projection = $1))",
    )
    .bind(projection)
    .bind(types)
    .bind(ids)
    .fetch_one(pool)
    .await
}

/// Whether `projection` has applied every committed event (a cheap check, for a use case that
/// read its view, found nothing and must tell "not there" from "not there yet").
pub async fn caught_up(pool: &PgPool, projection: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT NOT EXISTS (
                SELECT 1 FROM events e
                 WHERE (e.tx_id, e.global_id) > (SELECT coalesce(max(c.tx_id), '0'::xid8), coalesce(max(c.global_id), 0)
                                                   FROM projection_checkpoints c WHERE c.projection = $1))",
    )
    .bind(projection)
    .fetch_one(pool)
    .await
}

//! Reading the whole event log in commit-safe order, from a durable position.
//!
//! Positions are `(tx_id, global_id)`: the writing transaction's id, then the row's serial.
//! A reader only returns events of transactions older than the oldest one still running
//! (`pg_snapshot_xmin`), so an event that commits after a later position was seen is held back
//! until it is visible — never skipped. A long-open write transaction therefore delays readers:
//! keep write transactions short.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::follower::ProjectionError;

/// A place in the log: everything at or before it has been handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LogPosition {
    pub tx_id: i64,
    pub global_id: i64,
}

/// One event as stored, with its place in the log.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub position: LogPosition,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: serde_json::Value,
    pub metadata: serde_json::Value,
    pub recorded_at: DateTime<Utc>,
}

/// The columns [`StoredEvent::from_row`] reads, for a `SELECT … FROM events`.
pub const EVENT_COLUMNS: &str = "tx_id::text::bigint AS tx, global_id, aggregate_type, aggregate_id, sequence,
     event_type, event_version, payload, metadata, recorded_at";

impl StoredEvent {
    /// An event from a row of [`EVENT_COLUMNS`], its personal fields still sealed.
    pub fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            position: LogPosition { tx_id: row.try_get("tx")?, global_id: row.try_get("global_id")? },
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            sequence: row.try_get("sequence")?,
            event_type: row.try_get("event_type")?,
            event_version: row.try_get("event_version")?,
            payload: row.try_get("payload")?,
            metadata: row.try_get("metadata")?,
            recorded_at: row.try_get("recorded_at")?,
        })
    }

    /// Decodes the payload as an aggregate's event type.
    pub fn decode<E: serde::de::DeserializeOwned>(&self) -> Result<E, serde_json::Error> {
        // From the borrowed tree: no copy of the payload per projection.
        E::deserialize(&self.payload)
    }
}

/// Reads up to `limit` events after `after`, in commit-safe order, their personal fields opened
/// (or erased: `crate::personal_data`).
pub async fn read_after(conn: &mut PgConnection, after: LogPosition, limit: i64) -> Result<Vec<StoredEvent>, ProjectionError> {
    let rows = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS}
           FROM events
          WHERE (tx_id, global_id) > ($1::text::xid8, $2)
            AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
          ORDER BY tx_id, global_id
          LIMIT $3"
    ))
    .bind(after.tx_id.to_string())
    .bind(after.global_id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut events = rows.iter().map(StoredEvent::from_row).collect::<Result<Vec<_>, sqlx::Error>>()?;
    crate::personal_data::open_stored(conn, &mut events).await?;
    Ok(events)
}

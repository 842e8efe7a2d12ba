//! postgres-es's event table, written and read in one round trip each, with share requests'
//! personal fields sealed on the way in and opened on the way out.
//!
//! postgres-es appends in a transaction of one `INSERT` per event (BEGIN, n × INSERT, COMMIT) and
//! loads events and data keys separately; on the scan path those round trips, not PostgreSQL's
//! work, were the cost (ADR 0007). The table, its columns and the optimistic lock — the primary
//! key (aggregate_type, aggregate_id, sequence) — stay postgres-es's; its repository still
//! serves the streams.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use cqrs_es::persist::{PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot};
use cqrs_es::Aggregate;
use diia_qr_projections::log::wakeups::Wakeups;
use diia_qr_projections::personal_data::{self, DataKey, PersonalDataError};
use postgres_es::PostgresEventRepository;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

const SHARE_REQUEST: &str = "ShareRequest";

/// One aggregate's events, with its data key when it is a share request.
const LOAD: &str = "SELECT e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.event_version, e.payload, e.metadata,
        k.share_request_id IS NOT NULL AS has_key, k.data_key
   FROM events e LEFT JOIN share_data_keys k ON k.share_request_id = $3
  WHERE e.aggregate_type = $1 AND e.aggregate_id = $2 AND e.sequence > $4
  ORDER BY e.sequence";

/// The events of several aggregates after a sequence each: the facts a scan needs in one read.
const LOAD_MANY: &str = "SELECT e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.event_version, e.payload, e.metadata
   FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS w(aggregate_type, aggregate_id, after)
   JOIN events e ON e.aggregate_type = w.aggregate_type AND e.aggregate_id = w.aggregate_id AND e.sequence > w.after
  ORDER BY e.aggregate_type, e.aggregate_id, e.sequence";

/// Every event of one command in one statement, if the facts the command was decided on — the
/// aggregates in `$10..$12`, each at the version read — have not moved on meanwhile. A share
/// request's first events also file its fresh data key; if that id already has one, nothing is
/// appended (the caller sees a conflict, as it would from the primary key).
const APPEND: &str = "WITH stale AS (
        SELECT 1 FROM UNNEST($10::text[], $11::text[], $12::bigint[]) AS g(aggregate_type, aggregate_id, after)
         WHERE EXISTS (SELECT 1 FROM events e
                        WHERE e.aggregate_type = g.aggregate_type AND e.aggregate_id = g.aggregate_id AND e.sequence > g.after)),
    fresh_key AS (
        INSERT INTO share_data_keys (share_request_id, data_key)
        SELECT $8::uuid, $9::bytea WHERE $8::uuid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM stale)
        ON CONFLICT DO NOTHING RETURNING 1),
    appended AS (
        INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
        SELECT $1, $2, e.sequence, e.event_type, e.event_version, e.payload, e.metadata
          FROM UNNEST($3::bigint[], $4::text[], $5::text[], $6::json[], $7::json[])
               AS e(sequence, event_type, event_version, payload, metadata)
         WHERE NOT EXISTS (SELECT 1 FROM stale) AND ($8::uuid IS NULL OR EXISTS (SELECT 1 FROM fresh_key))
        RETURNING 1)
    SELECT (SELECT count(*) FROM appended) AS appended, EXISTS (SELECT 1 FROM stale) AS stale";

/// A share request's data key, made on first use for requests opened before keys were filed
/// with their first events; NULL once destroyed.
const KEY: &str = "WITH made AS (
        INSERT INTO share_data_keys (share_request_id, data_key) VALUES ($1, $2)
        ON CONFLICT DO NOTHING RETURNING data_key)
    SELECT data_key FROM made UNION ALL SELECT data_key FROM share_data_keys WHERE share_request_id = $1";

/// An aggregate a command was decided on, and the version of it read: (type, id, sequence).
pub(crate) type FactRead = (&'static str, String, usize);

pub(crate) struct SealingRepository {
    inner: PostgresEventRepository,
    pool: PgPool,
    /// Ids the caller has just made (a share request's UUID at a scan), shared by the command
    /// side and the reads: their load is known to be empty without asking. If one were not new
    /// after all, its append would conflict.
    fresh: Arc<Mutex<HashSet<String>>>,
    /// The events appended for each of those fresh ids, until the caller takes them: the answer
    /// to a scan is built from them, not from a second read of what was just written.
    written: Arc<Mutex<HashMap<String, Option<Vec<SerializedEvent>>>>>,
    /// For the next append of an id: the aggregates its command was decided on and the version
    /// of each read; the append goes in only if none has moved on, else the id is `stale`.
    facts_read: Arc<Mutex<HashMap<String, Vec<FactRead>>>>,
    stale: Arc<Mutex<HashSet<String>>>,
    /// Told of each append after its commit: the followers wake without a trigger's NOTIFY.
    wakeups: Arc<Wakeups>,
}

/// A database that is down is a connection error (503, try again); anything else is unexpected.
fn connection_error(e: sqlx::Error) -> PersistenceError {
    if crate::app::error::database_unavailable(&e) {
        PersistenceError::ConnectionError(Box::new(e))
    } else {
        PersistenceError::UnknownError(Box::new(e))
    }
}

fn sealing_error(e: PersonalDataError) -> PersistenceError {
    match e {
        PersonalDataError::Database(e) => connection_error(e),
        other => PersistenceError::UnknownError(Box::new(other)),
    }
}

fn share_key_id(aggregate_type: &str, aggregate_id: &str) -> Option<Uuid> {
    (aggregate_type == SHARE_REQUEST).then(|| aggregate_id.parse().ok()).flatten()
}

fn serialized_event(row: &PgRow) -> SerializedEvent {
    SerializedEvent::new(
        row.get("aggregate_id"),
        row.get::<i64, _>("sequence") as usize,
        row.get("aggregate_type"),
        row.get("event_type"),
        row.get("event_version"),
        row.get("payload"),
        row.get("metadata"),
    )
}

fn random_key() -> Result<Vec<u8>, PersistenceError> {
    let mut key = vec![0u8; 32];
    openssl::rand::rand_bytes(&mut key).map_err(|e| PersistenceError::UnknownError(Box::new(e)))?;
    Ok(key)
}

impl SealingRepository {
    pub(crate) fn new(pool: &PgPool, wakeups: Arc<Wakeups>) -> Self {
        Self {
            inner: PostgresEventRepository::new(pool.clone()),
            pool: pool.clone(),
            fresh: Arc::default(),
            written: Arc::default(),
            facts_read: Arc::default(),
            stale: Arc::default(),
            wakeups,
        }
    }

    /// A second repository on the same pool that knows the same fresh ids.
    pub(crate) fn twin(&self) -> Self {
        Self {
            inner: PostgresEventRepository::new(self.pool.clone()),
            pool: self.pool.clone(),
            fresh: self.fresh.clone(),
            written: self.written.clone(),
            facts_read: self.facts_read.clone(),
            stale: self.stale.clone(),
            wakeups: self.wakeups.clone(),
        }
    }

    /// The next load of `id` is of an aggregate no one has written yet.
    pub(crate) fn expect_new(&self, id: &str) {
        self.fresh.lock().expect("the fresh ids").insert(id.to_string());
        self.written.lock().expect("the fresh ids' events").insert(id.to_string(), None);
    }

    /// The next append of `id` goes in only if none of `facts` has moved past the version read.
    pub(crate) fn expect_unchanged(&self, id: &str, facts: Vec<FactRead>) {
        self.facts_read.lock().expect("the facts read").insert(id.to_string(), facts);
    }

    /// Whether the last append of `id` was refused because a fact it was decided on had moved
    /// on; forgets it (and any facts not used).
    pub(crate) fn take_stale(&self, id: &str) -> bool {
        self.facts_read.lock().expect("the facts read").remove(id);
        self.stale.lock().expect("the stale ids").remove(id)
    }

    /// The events appended for fresh `id` (as the command made them, not sealed), and forgets
    /// them; None when nothing was appended.
    pub(crate) fn take_written(&self, id: &str) -> Option<Vec<SerializedEvent>> {
        self.written.lock().expect("the fresh ids' events").remove(id).flatten()
    }

    /// The events of one aggregate after `after`, opened.
    pub(crate) async fn events_after(
        &self,
        aggregate_type: &str,
        id: &str,
        after: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        if self.fresh.lock().expect("the fresh ids").remove(id) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(LOAD)
            .bind(aggregate_type)
            .bind(id)
            .bind(share_key_id(aggregate_type, id))
            .bind(after as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(connection_error)?;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let key = match (row.get::<bool, _>("has_key"), row.get::<Option<Vec<u8>>, _>("data_key")) {
                (false, _) => DataKey::None,
                (true, Some(key)) => DataKey::Present(key),
                (true, None) => DataKey::Destroyed,
            };
            let mut event = serialized_event(&row);
            if personal_data::is_personal(&event.aggregate_type, &event.event_type) {
                personal_data::open(&mut event.payload, &event.aggregate_id, event.sequence as i64, &event.event_type, &key)
                    .map_err(sealing_error)?;
            }
            events.push(event);
        }
        Ok(events)
    }

    /// The events after each `(aggregate type, id, sequence)` asked for, in one query, in
    /// sequence order per aggregate. For aggregates without personal fields: nothing is opened.
    pub(crate) async fn events_after_many(&self, wants: &[(&str, String, usize)]) -> Result<Vec<SerializedEvent>, PersistenceError> {
        debug_assert!(wants.iter().all(|(t, _, _)| *t != SHARE_REQUEST), "share requests are loaded one by one, opened");
        let rows = sqlx::query(LOAD_MANY)
            .bind(wants.iter().map(|w| w.0.to_string()).collect::<Vec<_>>())
            .bind(wants.iter().map(|w| w.1.clone()).collect::<Vec<_>>())
            .bind(wants.iter().map(|w| w.2 as i64).collect::<Vec<_>>())
            .fetch_all(&self.pool)
            .await
            .map_err(connection_error)?;
        Ok(rows.iter().map(serialized_event).collect())
    }

    /// Appends one command's events in one statement; a taken sequence is an optimistic-lock
    /// conflict, as with postgres-es.
    async fn append(&self, events: &[SerializedEvent]) -> Result<(), PersistenceError> {
        let Some(first) = events.first() else { return Ok(()) };
        let (aggregate_type, aggregate_id) = (first.aggregate_type.as_str(), first.aggregate_id.as_str());
        let personal = events.iter().any(|e| personal_data::is_personal(&e.aggregate_type, &e.event_type));
        let share_id = share_key_id(aggregate_type, aggregate_id).filter(|_| personal);
        // A request's first events file its key with them; later ones use the key on file.
        let (key, fresh_key) = match share_id {
            None => (None, None),
            Some(_) if first.sequence == 1 => {
                let key = random_key()?;
                (Some(key.clone()), Some(key))
            }
            Some(id) => {
                let key: Option<Vec<u8>> =
                    sqlx::query_scalar(KEY).bind(id).bind(random_key()?).fetch_one(&self.pool).await.map_err(connection_error)?;
                (Some(key.ok_or_else(|| sealing_error(PersonalDataError::Erased(aggregate_id.to_string())))?), None)
            }
        };
        let mut payloads = Vec::with_capacity(events.len());
        for e in events {
            let mut payload = e.payload.clone();
            if let (Some(key), true) = (&key, personal_data::is_personal(&e.aggregate_type, &e.event_type)) {
                personal_data::seal(&mut payload, &e.aggregate_id, e.sequence as i64, &e.event_type, key).map_err(sealing_error)?;
            }
            payloads.push(payload);
        }
        let facts = self.facts_read.lock().expect("the facts read").remove(aggregate_id).unwrap_or_default();
        let result = sqlx::query(APPEND)
            .bind(aggregate_type)
            .bind(aggregate_id)
            .bind(events.iter().map(|e| e.sequence as i64).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.event_type.clone()).collect::<Vec<_>>())
            .bind(events.iter().map(|e| e.event_version.clone()).collect::<Vec<_>>())
            .bind(payloads)
            .bind(events.iter().map(|e| e.metadata.clone()).collect::<Vec<_>>())
            .bind(fresh_key.as_ref().and(share_id))
            .bind(fresh_key)
            .bind(facts.iter().map(|f| f.0).collect::<Vec<_>>())
            .bind(facts.iter().map(|f| f.1.as_str()).collect::<Vec<_>>())
            .bind(facts.iter().map(|f| f.2 as i64).collect::<Vec<_>>())
            .fetch_one(&self.pool)
            .await;
        match result.map(|row| (row.get::<i64, _>("appended"), row.get::<bool, _>("stale"))) {
            Ok((appended, _)) if appended == events.len() as i64 => {
                self.wakeups.events_appended();
                if let Some(slot) = self.written.lock().expect("the fresh ids' events").get_mut(aggregate_id) {
                    *slot = Some(events.to_vec());
                }
                Ok(())
            }
            Ok((_, true)) => {
                self.stale.lock().expect("the stale ids").insert(aggregate_id.to_string());
                Err(PersistenceError::OptimisticLockError)
            }
            Ok(_) => Err(PersistenceError::OptimisticLockError),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => Err(PersistenceError::OptimisticLockError),
            Err(e) => Err(connection_error(e)),
        }
    }
}

impl PersistedEventRepository for SealingRepository {
    async fn get_events<A: Aggregate>(&self, aggregate_id: &str) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.events_after(A::TYPE, aggregate_id, 0).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.events_after(A::TYPE, aggregate_id, last_sequence).await
    }

    async fn get_snapshot<A: Aggregate>(&self, aggregate_id: &str) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.inner.get_snapshot::<A>(aggregate_id).await
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        // The engine's stores are plain event stores (see `Store::new`): no snapshot comes here.
        debug_assert!(snapshot_update.is_none(), "snapshots are unused");
        self.append(events).await
    }

    /// Streams carry the sealed payloads: nothing in the engine replays through them (the read
    /// side follows the log with `diia_qr_projections::log`, which opens them).
    async fn stream_events<A: Aggregate>(&self, aggregate_id: &str) -> Result<ReplayStream, PersistenceError> {
        self.inner.stream_events::<A>(aggregate_id).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        self.inner.stream_all_events::<A>().await
    }
}

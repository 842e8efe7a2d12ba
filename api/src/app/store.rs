//! One aggregate type's command side on the PostgreSQL event store, and who issued each command.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cqrs_es::persist::{
    PersistedEventRepository, PersistedEventStore, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::{Aggregate, AggregateContext, CqrsFramework, EventStore};
use diia_qr_domain::RuleViolation;
use diia_qr_projections::personal_data::{self, DataKey, PersonalDataError};
use postgres_es::PostgresEventRepository;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use super::EngineError;

/// Who issued a command: kept in every event's metadata for the audit trail. People are named
/// by their role towards an aggregate, never by РНОКПП: the citizen of a share request (who
/// that was is in the request's sealed fields, so erasing its data unlinks every event it made)
/// and the head of a partner (the partner's own events name its head).
#[derive(Debug, Clone)]
pub struct Actor(String);

impl Actor {
    pub fn head_of(partner_id: Uuid) -> Self {
        Self(format!("partner-head:of-partner-{partner_id}"))
    }
    pub fn citizen_of(share_request_id: Uuid) -> Self {
        Self(format!("citizen:of-share-{share_request_id}"))
    }
    pub fn operator(name: &str) -> Self {
        Self(format!("operator:{name}"))
    }
    pub fn mailbox_of(branch_id: Uuid) -> Self {
        Self(format!("mailbox-of:{branch_id}"))
    }
    pub fn system(what: &str) -> Self {
        Self(format!("system:{what}"))
    }
}

/// postgres-es's repository with share requests' personal fields sealed on the way in and
/// opened on the way out (`diia_qr_projections::personal_data`): the log itself never holds them
/// in clear, and destroying a request's data key erases them.
pub(super) struct SealingRepository {
    inner: PostgresEventRepository,
    pool: PgPool,
}

fn persistence_error(e: PersonalDataError) -> PersistenceError {
    match e {
        PersonalDataError::Database(e) => PersistenceError::ConnectionError(Box::new(e)),
        other => PersistenceError::UnknownError(Box::new(other)),
    }
}

impl SealingRepository {
    fn new(pool: &PgPool) -> Self {
        Self { inner: PostgresEventRepository::new(pool.clone()), pool: pool.clone() }
    }

    async fn open(&self, events: &mut [SerializedEvent]) -> Result<(), PersistenceError> {
        let ids: Vec<&str> = events
            .iter()
            .filter(|e| personal_data::is_personal(&e.aggregate_type, &e.event_type))
            .map(|e| e.aggregate_id.as_str())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await.map_err(|e| PersistenceError::ConnectionError(Box::new(e)))?;
        let keys = personal_data::data_keys(&mut conn, &ids).await.map_err(persistence_error)?;
        for e in events.iter_mut().filter(|e| personal_data::is_personal(&e.aggregate_type, &e.event_type)) {
            let key = keys.get(&e.aggregate_id).cloned().unwrap_or(DataKey::None);
            personal_data::open(&mut e.payload, &e.aggregate_id, e.sequence as i64, &e.event_type, &key).map_err(persistence_error)?;
        }
        Ok(())
    }

    async fn seal(&self, events: &mut [SerializedEvent]) -> Result<(), PersistenceError> {
        let mut keys: HashMap<String, Vec<u8>> = HashMap::new();
        for e in events.iter_mut().filter(|e| personal_data::is_personal(&e.aggregate_type, &e.event_type)) {
            if !keys.contains_key(&e.aggregate_id) {
                let mut conn = self.pool.acquire().await.map_err(|e| PersistenceError::ConnectionError(Box::new(e)))?;
                let key = personal_data::data_key_for(&mut conn, &e.aggregate_id).await.map_err(persistence_error)?;
                keys.insert(e.aggregate_id.clone(), key);
            }
            personal_data::seal(&mut e.payload, &e.aggregate_id, e.sequence as i64, &e.event_type, &keys[&e.aggregate_id])
                .map_err(persistence_error)?;
        }
        Ok(())
    }
}

impl PersistedEventRepository for SealingRepository {
    async fn get_events<A: Aggregate>(&self, aggregate_id: &str) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let mut events = self.inner.get_events::<A>(aggregate_id).await?;
        self.open(&mut events).await?;
        Ok(events)
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let mut events = self.inner.get_last_events::<A>(aggregate_id, last_sequence).await?;
        self.open(&mut events).await?;
        Ok(events)
    }

    async fn get_snapshot<A: Aggregate>(&self, aggregate_id: &str) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.inner.get_snapshot::<A>(aggregate_id).await
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        let mut sealed = events.to_vec();
        self.seal(&mut sealed).await?;
        self.inner.persist::<A>(&sealed, snapshot_update).await
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

/// Commands through cqrs-es, and a plain event store to load current state with.
pub(super) struct Store<A: Aggregate> {
    cqrs: CqrsFramework<A, PersistedEventStore<SealingRepository, A>>,
    events: PersistedEventStore<SealingRepository, A>,
}

impl<A: Aggregate> Store<A>
where
    A::Error: RuleViolation,
{
    pub(super) fn new(pool: &PgPool, services: A::Services) -> Self {
        // The plain event store: postgres-es 0.5.0's snapshot and aggregate stores apply events twice.
        Self {
            cqrs: CqrsFramework::new(PersistedEventStore::new_event_store(SealingRepository::new(pool)), vec![], services),
            events: PersistedEventStore::new_event_store(SealingRepository::new(pool)),
        }
    }

    pub(super) async fn load(&self, id: Uuid) -> Result<A, EngineError> {
        let mut ctx = self.events.load_aggregate(&id.to_string()).await?;
        Ok(std::mem::take(ctx.aggregate()))
    }

    pub(super) async fn execute(&self, id: Uuid, command: A::Command, actor: &Actor, issued_at: DateTime<Utc>) -> Result<(), EngineError> {
        let mut metadata = HashMap::from([
            ("actor".to_string(), actor.0.clone()),
            ("command_id".to_string(), Uuid::new_v4().to_string()),
            ("issued_at".to_string(), issued_at.to_rfc3339()),
        ]);
        if let Some(request_id) = super::request_context::current_request_id() {
            metadata.insert("request_id".to_string(), request_id);
        }
        self.cqrs.execute_with_metadata(&id.to_string(), command, metadata).await?;
        super::request_context::note_written(A::TYPE, id.to_string());
        Ok(())
    }
}

//! One aggregate type's command side on the PostgreSQL event store, and who issued each command.
//!
//! `repository.rs` reads and writes postgres-es's table in one round trip each; `cache.rs` keeps
//! the aggregates a scan reads (partner, branch, service) in memory, brought up to date by one
//! query for the events after the version held.

mod cache;
mod repository;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use cqrs_es::persist::{PersistedEventStore, SerializedEvent};
use cqrs_es::{Aggregate, CqrsFramework};
use diia_qr_domain::RuleViolation;
use diia_qr_projections::log::wakeups::Wakeups;
use sqlx::PgPool;
use uuid::Uuid;

use self::cache::AggregateCache;
pub(super) use self::repository::FactRead;
use self::repository::SealingRepository;

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

/// Commands through cqrs-es, and current state loaded through the cache when the aggregate has
/// no personal fields (a share request's opened fields are never kept in memory: erasure must
/// reach every copy, and the only copy is then the sealed one in the log).
pub(super) struct Store<A: Aggregate> {
    cqrs: CqrsFramework<A, PersistedEventStore<SealingRepository, A>>,
    reads: SealingRepository,
    cache: Option<AggregateCache<A>>,
}

impl<A: Aggregate + Clone> Store<A>
where
    A::Error: RuleViolation,
{
    pub(super) fn new(pool: &PgPool, wakeups: &Arc<Wakeups>, services: A::Services) -> Self {
        // The plain event store: postgres-es 0.5.0's snapshot and aggregate stores apply events twice.
        let reads = SealingRepository::new(pool, wakeups.clone());
        let commands = reads.twin();
        let cache = (A::TYPE != diia_qr_domain::share_request::ShareRequest::TYPE).then(AggregateCache::default);
        Self { cqrs: CqrsFramework::new(PersistedEventStore::new_event_store(commands), vec![], services), reads, cache }
    }

    /// The aggregate as the log has it now: one query either way (for the events after the
    /// cached version, or for all of them).
    pub(super) async fn load(&self, id: Uuid) -> Result<A, EngineError> {
        Ok(self.load_with_sequence(id).await?.0)
    }

    /// [`Store::load`], with the sequence of the version loaded.
    pub(super) async fn load_with_sequence(&self, id: Uuid) -> Result<(A, usize), EngineError> {
        let id = id.to_string();
        let after = self.cached_sequence(&id);
        let events = self.reads.events_after(A::TYPE, &id, after).await?;
        self.brought_up_to_date(&id, after, events).await
    }

    /// The version of `id` held in memory and its sequence.
    pub(super) fn cached(&self, id: &str) -> Option<(A, usize)> {
        self.cache.as_ref().and_then(|c| c.get(id))
    }

    /// The version of `id` held in memory (0: none).
    pub(super) fn cached_sequence(&self, id: &str) -> usize {
        self.cache.as_ref().and_then(|c| c.sequence(id)).unwrap_or(0)
    }

    /// The aggregate after applying `events` — the log's events of `id` after `after` — to the
    /// version held, and its sequence. A version evicted meanwhile is loaded again in full.
    pub(super) async fn brought_up_to_date(&self, id: &str, after: usize, events: Vec<SerializedEvent>) -> Result<(A, usize), EngineError> {
        let advanced = match &self.cache {
            Some(cache) => cache.advance(id, after, events)?,
            None if after == 0 => Some(cache::replay(A::default(), 0, events)?),
            None => None,
        };
        match advanced {
            Some(versioned) => Ok(versioned),
            None => {
                let events = self.reads.events_after(A::TYPE, id, 0).await?;
                cache::replay(A::default(), 0, events)
            }
        }
    }

    /// The repository reads go through (for reads of several aggregates in one query).
    pub(super) fn reads(&self) -> &SealingRepository {
        &self.reads
    }

    /// Runs the command that creates aggregate `id`, a UUID the caller has just made: its empty
    /// history is not asked for, and the aggregate it made is answered without reading it back.
    pub(super) async fn execute_new(
        &self,
        id: Uuid,
        command: A::Command,
        actor: &Actor,
        issued_at: DateTime<Utc>,
    ) -> Result<A, EngineError> {
        let key = id.to_string();
        self.reads.expect_new(&key);
        let executed = self.execute(id, command, actor, issued_at).await;
        let written = self.reads.take_written(&key);
        executed?;
        // The new aggregate is its first events applied to nothing: no read of what was just written.
        let events = written.ok_or_else(|| EngineError::Internal(format!("the events of new {} {key} were not kept", A::TYPE)))?;
        Ok(cache::replay(A::default(), 0, events)?.0)
    }

    /// [`Store::execute_new`] for a command decided on `facts` (aggregates at the versions read):
    /// `None`, with nothing appended, when one of them has moved on since — decide again on what
    /// the log has now. The check is part of the append's one statement, so a command decided on
    /// versions held in memory needs no read when they are still current.
    pub(super) async fn execute_new_if_unchanged(
        &self,
        id: Uuid,
        command: A::Command,
        actor: &Actor,
        issued_at: DateTime<Utc>,
        facts: Vec<FactRead>,
    ) -> Result<Option<A>, EngineError> {
        let key = id.to_string();
        self.reads.expect_unchanged(&key, facts);
        let executed = self.execute_new(id, command, actor, issued_at).await;
        if self.reads.take_stale(&key) {
            return Ok(None);
        }
        executed.map(Some)
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

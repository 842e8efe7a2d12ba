//! One aggregate type's command side on the PostgreSQL event store, and who issued each command.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateContext, CqrsFramework, EventStore};
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_domain::partner::Head;
use diia_qr_domain::RuleViolation;
use postgres_es::PostgresEventRepository;
use sqlx::PgPool;
use uuid::Uuid;

use super::EngineError;

/// Who issued a command: kept in every event's metadata for the audit trail.
#[derive(Debug, Clone)]
pub struct Actor(String);

impl Actor {
    pub fn partner_head(head: &Head) -> Self {
        Self(format!("partner-head:{}", head.rnokpp))
    }
    pub fn citizen(rnokpp: &Rnokpp) -> Self {
        Self(format!("citizen:{rnokpp}"))
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

/// Commands through cqrs-es, and a plain event store to load current state with.
pub(super) struct Store<A: Aggregate> {
    cqrs: CqrsFramework<A, PersistedEventStore<PostgresEventRepository, A>>,
    events: PersistedEventStore<PostgresEventRepository, A>,
}

impl<A: Aggregate> Store<A>
where
    A::Error: RuleViolation,
{
    pub(super) fn new(pool: &PgPool, services: A::Services) -> Self {
        // The plain event store: postgres-es 0.5.0's snapshot and aggregate stores apply events twice.
        Self {
            cqrs: CqrsFramework::new(PersistedEventStore::new_event_store(PostgresEventRepository::new(pool.clone())), vec![], services),
            events: PersistedEventStore::new_event_store(PostgresEventRepository::new(pool.clone())),
        }
    }

    pub(super) async fn load(&self, id: Uuid) -> Result<A, EngineError> {
        let mut ctx = self.events.load_aggregate(&id.to_string()).await?;
        Ok(std::mem::take(ctx.aggregate()))
    }

    pub(super) async fn execute(&self, id: Uuid, command: A::Command, actor: &Actor, issued_at: DateTime<Utc>) -> Result<(), EngineError> {
        let metadata = HashMap::from([
            ("actor".to_string(), actor.0.clone()),
            ("command_id".to_string(), Uuid::new_v4().to_string()),
            ("issued_at".to_string(), issued_at.to_rfc3339()),
        ]);
        Ok(self.cqrs.execute_with_metadata(&id.to_string(), command, metadata).await?)
    }
}

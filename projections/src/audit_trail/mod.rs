//! The tamper-evident audit trail, stored: entries appended from the event log by the
//! `audit_trail` follower and from accesses by the use cases, the tree's complete subtrees,
//! signed checkpoints, exports that prove themselves and their offline verification. The
//! formats are `crate::audit`'s (RFC 9162, C2SP, RFC 8785), fixed by `../shared/AUDIT-LOG.md`.
//!
//! - `entries`: what an entry says about an event; personal values only as commitments;
//! - `store`: append, roots and proofs from stored subtrees, salts, checkpoints;
//! - `access`: entries for reads of personal data (searches, downloads, exports, verifications);
//! - `export`: the JSON Lines (and CSV) export, streamed in constant memory;
//! - `verify`: checking an export offline, naming the first line that does not hold.

pub mod access;
pub mod entries;
pub mod export;
pub mod store;
pub mod verify;

use async_trait::async_trait;
use diia_qr_domain::branch::BranchEvent;
use diia_qr_domain::service::ServiceEvent;
use diia_qr_domain::share_request::ShareRequestEvent;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::keys::{KeyPurpose, KeyRing, PurposeKey};
use crate::log::{FailedAt, Projection, ProjectionError, StoredEvent};
use entries::{actor_of, describe, partner_scope, share_scope, source_of, EntryBody};
use store::{append, salts_for, NewEntry, TrailError};

/// The keyed digest a citizen's entries are filed under.
pub fn citizen_digest(key: &PurposeKey, rnokpp: &str) -> Vec<u8> {
    key.mac(rnokpp.as_bytes())
}

/// Appends one entry per event of the log, in log order. Not rebuildable: the trail also holds
/// access entries the log does not, and an entry once appended is never rewritten.
pub struct AuditTrail {
    citizen_index: PurposeKey,
}

impl AuditTrail {
    pub fn new(keys: &KeyRing) -> Self {
        Self { citizen_index: keys.key(KeyPurpose::AuditCitizenIndex).clone() }
    }
}

impl From<TrailError> for ProjectionError {
    fn from(e: TrailError) -> Self {
        match e {
            TrailError::Database(e) => ProjectionError::Database(e),
            // Anything else is about the entry itself: retrying will not help.
            other => ProjectionError::Unapplicable(other.to_string()),
        }
    }
}

#[async_trait]
impl Projection for AuditTrail {
    fn name(&self) -> &'static str {
        "audit_trail"
    }

    /// The batch holds the trail's head row, which every access entry waits for: keep it short.
    fn batch_size(&self) -> i64 {
        32
    }

    async fn apply(&self, conn: &mut PgConnection, event: &StoredEvent) -> Result<(), ProjectionError> {
        self.apply_run(conn, std::slice::from_ref(event)).await
    }

    /// A batch in a few statements for all its events (owners, salts, chain heads, entries), not
    /// about ten per event: the trail is the follower every event passes through. An erasure
    /// ends a run: what comes after it must see its scope erased.
    async fn apply_all(&self, conn: &mut PgConnection, events: &[StoredEvent]) -> Result<(), FailedAt> {
        let mut start = 0;
        while start < events.len() {
            let end = events[start..].iter().position(is_erasure).map_or(events.len(), |i| start + i + 1);
            self.apply_run(&mut *conn, &events[start..end]).await.map_err(|error| FailedAt { index: start, error })?;
            start = end;
        }
        Ok(())
    }
}

fn is_erasure(event: &StoredEvent) -> bool {
    event.event_type == "ShareRequestPersonalDataErased"
}

/// What an aggregate's first event records of its owner: the partner, and a share request's
/// citizen as a keyed digest.
type Recorded = (Option<Uuid>, Option<Vec<u8>>);

#[derive(Clone)]
struct Owner {
    partner_id: Option<Uuid>,
    share_request_id: Option<Uuid>,
    citizen_digest: Option<Vec<u8>>,
}

impl AuditTrail {
    /// One entry per event of `events`, of which only the last may be an erasure.
    async fn apply_run(&self, conn: &mut PgConnection, events: &[StoredEvent]) -> Result<(), ProjectionError> {
        let owners = self.file(conn, events).await?;
        let scopes: Vec<String> = events
            .iter()
            .zip(&owners)
            .map(|(event, owner)| match (event.aggregate_type.as_str(), owner.share_request_id, owner.partner_id) {
                ("ShareRequest", Some(share), _) => share_scope(share),
                (_, _, Some(partner)) => partner_scope(partner),
                _ => format!("aggregate:{}", event.aggregate_id),
            })
            .collect();
        let salts = salts_for(conn, &scopes).await?;
        let mut entries = Vec::with_capacity(events.len());
        for ((event, owner), scope) in events.iter().zip(owners).zip(&scopes) {
            let salt = salts[scope].clone();
            let mut body = EntryBody::new(&event.event_type, event.recorded_at, owner.partner_id, salt.clone());
            body.set("event", source_of(event)).set("actor", actor_of(event, &salt));
            if let Some(share) = owner.share_request_id {
                body.set("share_request_id", serde_json::json!(share.to_string()));
            }
            describe(event, &mut body);
            entries.push(NewEntry {
                kind: event.event_type.clone(),
                partner_id: owner.partner_id,
                share_request_id: owner.share_request_id,
                source_event: Some(event.position.global_id),
                body: body.finish(),
                citizen: if is_erasure(event) { None } else { owner.citizen_digest.map(|digest| (digest, scope.clone())) },
            });
        }
        append(conn, &entries).await?;
        if let (Some(last), Some(scope)) = (events.last(), scopes.last()) {
            if is_erasure(last) {
                // In log order, after every entry of the share: unlink them all from the citizen.
                // The erasure use case does the same at once; whichever runs second finds it done.
                store::erase_scope(conn, scope).await?;
            }
        }
        Ok(())
    }

    /// Whose each event's aggregate is: recorded from its first event, read for the rest (in
    /// one statement each for the whole run, the recording first, so a later event of the run
    /// reads what its first event recorded).
    async fn file(&self, conn: &mut PgConnection, events: &[StoredEvent]) -> Result<Vec<Owner>, ProjectionError> {
        let firsts: Vec<Option<Recorded>> = events.iter().map(|e| self.first_owner(e)).collect();
        let (mut ids, mut partners, mut digests) = (Vec::new(), Vec::new(), Vec::new());
        for (event, first) in events.iter().zip(&firsts) {
            if let Some((partner_id, digest)) = first {
                ids.push(event.aggregate_id.clone());
                partners.push(*partner_id);
                digests.push(digest.clone());
            }
        }
        if !ids.is_empty() {
            sqlx::query(
                "INSERT INTO audit_owners (aggregate_id, partner_id, citizen_digest)
                 SELECT * FROM unnest($1::text[], $2::uuid[], $3::bytea[]) ON CONFLICT DO NOTHING",
            )
            .bind(&ids)
            .bind(&partners)
            .bind(&digests)
            .execute(&mut *conn)
            .await?;
        }
        let mut asked: Vec<String> = events.iter().zip(&firsts).filter(|(_, f)| f.is_none()).map(|(e, _)| e.aggregate_id.clone()).collect();
        asked.sort_unstable();
        asked.dedup();
        let mut recorded = std::collections::HashMap::new();
        if !asked.is_empty() {
            let rows = sqlx::query("SELECT aggregate_id, partner_id, citizen_digest FROM audit_owners WHERE aggregate_id = ANY($1)")
                .bind(&asked)
                .fetch_all(&mut *conn)
                .await?;
            for row in rows {
                let id: String = row.try_get("aggregate_id")?;
                recorded.insert(id, (row.try_get::<Option<Uuid>, _>("partner_id")?, row.try_get::<Option<Vec<u8>>, _>("citizen_digest")?));
            }
        }
        Ok(events
            .iter()
            .zip(firsts)
            .map(|(event, first)| {
                let id: Option<Uuid> = event.aggregate_id.parse().ok();
                let share_request_id = if event.aggregate_type == "ShareRequest" { id } else { None };
                let (partner_id, citizen_digest) = match first {
                    Some(first) => first,
                    None => match recorded.get(&event.aggregate_id) {
                        Some(found) => found.clone(),
                        // A partner's later events name it by their own id.
                        None if event.aggregate_type == "Partner" => (id, None),
                        None => (None, None),
                    },
                };
                Owner { partner_id, share_request_id, citizen_digest }
            })
            .collect())
    }

    /// The owner an aggregate's first event records: its partner, and for a share request the
    /// citizen's digest.
    fn first_owner(&self, event: &StoredEvent) -> Option<Recorded> {
        let id: Option<Uuid> = event.aggregate_id.parse().ok();
        match event.aggregate_type.as_str() {
            "Partner" if event.event_type == "PartnerRegistered" => Some((id, None)),
            "Branch" => match event.decode::<BranchEvent>() {
                Ok(BranchEvent::Created { partner_id, .. }) => Some((Some(partner_id), None)),
                _ => None,
            },
            "Service" => match event.decode::<ServiceEvent>() {
                Ok(ServiceEvent::Created { partner_id, .. }) => Some((Some(partner_id), None)),
                _ => None,
            },
            "ShareRequest" => match event.decode::<ShareRequestEvent>() {
                Ok(ShareRequestEvent::Opened { snapshot, citizen, .. }) => {
                    Some((Some(snapshot.partner_id), Some(citizen_digest(&self.citizen_index, citizen.as_str()))))
                }
                _ => None,
            },
            _ => None,
        }
    }
}

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
use crate::log::{Projection, ProjectionError, StoredEvent};
use entries::{actor_of, describe, partner_scope, share_scope, source_of, EntryBody};
use store::{append, salt_for, NewEntry, TrailError};

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
        let owner = self.file(conn, event).await?;
        let scope = match (event.aggregate_type.as_str(), owner.share_request_id, owner.partner_id) {
            ("ShareRequest", Some(share), _) => share_scope(share),
            (_, _, Some(partner)) => partner_scope(partner),
            _ => format!("aggregate:{}", event.aggregate_id),
        };
        let salt = salt_for(conn, &scope).await?;
        let mut body = EntryBody::new(&event.event_type, event.recorded_at, owner.partner_id, salt.clone());
        body.set("event", source_of(event)).set("actor", actor_of(event, &salt));
        if let Some(share) = owner.share_request_id {
            body.set("share_request_id", serde_json::json!(share.to_string()));
        }
        describe(event, &mut body);
        let erasure = event.event_type == "ShareRequestPersonalDataErased";
        let entry = NewEntry {
            kind: event.event_type.clone(),
            partner_id: owner.partner_id,
            share_request_id: owner.share_request_id,
            source_event: Some(event.position.global_id),
            body: body.finish(),
            citizen: if erasure { None } else { owner.citizen_digest.map(|digest| (digest, scope.clone())) },
        };
        append(conn, &[entry]).await?;
        if erasure {
            // In log order, after every entry of the share: unlink them all from the citizen.
            // The erasure use case does the same at once; whichever runs second finds it done.
            store::erase_scope(conn, &scope).await?;
        }
        Ok(())
    }
}

struct Owner {
    partner_id: Option<Uuid>,
    share_request_id: Option<Uuid>,
    citizen_digest: Option<Vec<u8>>,
}

impl AuditTrail {
    /// Whose the event's aggregate is: recorded from its first event, read for the rest.
    async fn file(&self, conn: &mut PgConnection, event: &StoredEvent) -> Result<Owner, ProjectionError> {
        let id: Option<Uuid> = event.aggregate_id.parse().ok();
        let first = match event.aggregate_type.as_str() {
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
        };
        let share_request_id = if event.aggregate_type == "ShareRequest" { id } else { None };
        if let Some((partner_id, citizen_digest)) = first {
            sqlx::query("INSERT INTO audit_owners (aggregate_id, partner_id, citizen_digest) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(&event.aggregate_id)
                .bind(partner_id)
                .bind(&citizen_digest)
                .execute(&mut *conn)
                .await?;
            return Ok(Owner { partner_id, share_request_id, citizen_digest });
        }
        let row = sqlx::query("SELECT partner_id, citizen_digest FROM audit_owners WHERE aggregate_id = $1")
            .bind(&event.aggregate_id)
            .fetch_optional(&mut *conn)
            .await?;
        let (partner_id, citizen_digest) = match row {
            Some(row) => (row.try_get("partner_id")?, row.try_get("citizen_digest")?),
            // A partner's later events name it by their own id.
            None if event.aggregate_type == "Partner" => (id, None),
            None => (None, None),
        };
        Ok(Owner { partner_id, share_request_id, citizen_digest })
    }
}

//! Entries for reads of personal data: a partner's search or download, an export, a copy verified
//! by someone else. The use case appends the entry before it answers, so no read goes unrecorded.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::entries::{commit, partner_scope, share_scope, EntryBody};
use super::store::{append, salt_for, NewEntry, TrailError};

/// One read, as the trail records it.
#[derive(Debug, Clone)]
pub struct Access {
    /// `access.search`, `access.download`, `access.export`, `access.verification`.
    pub kind: &'static str,
    pub partner_id: Option<Uuid>,
    pub share_request_id: Option<Uuid>,
    /// Who read: a role, and an id that is committed for people (`partner-head`, `citizen`) and
    /// named for staff.
    pub actor_role: &'static str,
    pub actor_id: String,
    /// Facts without personal data.
    pub facts: Vec<(&'static str, Value)>,
    /// Personal values, committed under the entry's scope.
    pub committed: Vec<(&'static str, String)>,
}

/// Appends the access entry; returns its index.
pub async fn record_access(pool: &PgPool, access: &Access, at: DateTime<Utc>) -> Result<u64, TrailError> {
    let mut tx = pool.begin().await?;
    let scope = match (access.share_request_id, access.partner_id) {
        (Some(share), _) => share_scope(share),
        (None, Some(partner)) => partner_scope(partner),
        (None, None) => "service".to_string(),
    };
    let salt = salt_for(&mut tx, &scope).await?;
    let mut body = EntryBody::new(access.kind, at, access.partner_id, salt.clone());
    let actor_id = match access.actor_role {
        "partner-head" | "citizen" => commit(&salt, "actor", &access.actor_id),
        _ => access.actor_id.clone(),
    };
    body.set("actor", json!({"role": access.actor_role, "id": actor_id}));
    if let Some(share) = access.share_request_id {
        body.set("share_request_id", json!(share.to_string()));
    }
    for (key, value) in &access.facts {
        body.fact(key, value.clone());
    }
    for (key, value) in &access.committed {
        body.committed(key, value);
    }
    // A read of a share is filed under its citizen too, so the citizen's export has it.
    let citizen = match access.share_request_id {
        Some(share) => sqlx::query_scalar::<_, Option<Vec<u8>>>("SELECT citizen_digest FROM audit_owners WHERE aggregate_id = $1")
            .bind(share.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .flatten()
            .map(|digest| (digest, scope.clone())),
        None => None,
    };
    let entry = NewEntry {
        kind: access.kind.to_string(),
        partner_id: access.partner_id,
        share_request_id: access.share_request_id,
        source_event: None,
        body: body.finish(),
        citizen,
    };
    let index = append(&mut tx, &[entry]).await?;
    tx.commit().await?;
    Ok(index[0])
}

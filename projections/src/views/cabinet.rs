//! The cabinet's read models: partners, branches, services and the share requests they
//! received, plus each citizen's sharing history. Built from the log; queried by the API.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use diia_qr_domain::branch::{Branch, BranchEvent};
use diia_qr_domain::names::ServiceName;
use diia_qr_domain::partner::{Partner, PartnerEvent};
use diia_qr_domain::service::{Service, ServiceEvent};
use diia_qr_domain::share_request::{ShareRequest, ShareRequestEvent, ShareStatus};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::log::{FailedAt, Projection, ProjectionError, StoredEvent};

pub struct CabinetViews;

fn status_name(s: ShareStatus) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

#[async_trait]
impl Projection for CabinetViews {
    fn name(&self) -> &'static str {
        "cabinet_views"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["partners_view", "branches_view", "services_view", "share_requests_view", "qr_short_codes_view"]
    }

    async fn apply(&self, conn: &mut PgConnection, event: &StoredEvent) -> Result<(), ProjectionError> {
        self.apply_all(conn, std::slice::from_ref(event)).await.map_err(|failed| failed.error)
    }

    /// Share requests, nearly all of the log, are folded per batch and written in two
    /// statements; the rarer events of partners, branches and services one by one. Their rows
    /// are disjoint, so the two orders never meet.
    async fn apply_all(&self, conn: &mut PgConnection, events: &[StoredEvent]) -> Result<(), FailedAt> {
        let mut shares = ShareChanges::default();
        for (index, event) in events.iter().enumerate() {
            let Ok(id) = event.aggregate_id.parse::<Uuid>() else {
                continue; // ids are always UUIDs; anything else is not ours to show
            };
            let applied = if event.aggregate_type == ShareRequest::TYPE {
                shares.add(id, event)
            } else {
                apply_to_organisation(&mut *conn, id, event).await
            };
            applied.map_err(|error| FailedAt { index, error })?;
        }
        shares.write(conn).await.map_err(FailedAt::batch)
    }
}

/// An event of a partner, branch or service, applied to its view.
async fn apply_to_organisation(conn: &mut PgConnection, id: Uuid, event: &StoredEvent) -> Result<(), ProjectionError> {
    let decode_err = |e| ProjectionError::decode(event, e);
    match event.aggregate_type.as_str() {
        t if t == Partner::TYPE => match event.decode::<PartnerEvent>().map_err(decode_err)? {
            PartnerEvent::Registered { kind, organisation_name, .. } => {
                sqlx::query("INSERT INTO partners_view VALUES ($1, $2, $3, 'onboarding', $4) ON CONFLICT DO NOTHING")
                    .bind(id)
                    .bind(organisation_name)
                    .bind(kind.registry_code())
                    .bind(event.recorded_at)
                    .execute(conn)
                    .await?;
            }
            e @ (PartnerEvent::AccessionApplicationSigned { .. } | PartnerEvent::Suspended { .. } | PartnerEvent::Reinstated) => {
                let status = if matches!(e, PartnerEvent::Suspended { .. }) { "suspended" } else { "active" };
                sqlx::query("UPDATE partners_view SET status = $2 WHERE partner_id = $1").bind(id).bind(status).execute(conn).await?;
            }
            _ => {}
        },
        t if t == Branch::TYPE => match event.decode::<BranchEvent>().map_err(decode_err)? {
            BranchEvent::Created { partner_id, name, address, .. } => {
                sqlx::query(
                    "INSERT INTO branches_view (branch_id, partner_id, name, address, email, email_confirmed, name_submitted_at)
                         VALUES ($1, $2, $3, $4, '', false, $5) ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(partner_id)
                .bind(name.as_str())
                .bind(address.one_line())
                .bind(event.recorded_at)
                .execute(conn)
                .await?;
            }
            BranchEvent::EmailConfirmationRequested { email, .. } => {
                sqlx::query("UPDATE branches_view SET email = $2, email_confirmed = false WHERE branch_id = $1")
                    .bind(id)
                    .bind(email.as_str())
                    .execute(conn)
                    .await?;
            }
            BranchEvent::EmailConfirmed { .. } => {
                sqlx::query("UPDATE branches_view SET email_confirmed = true WHERE branch_id = $1").bind(id).execute(conn).await?;
            }
            // A wrong code changes nothing the cabinet shows; a renewal comes as a new request.
            BranchEvent::EmailConfirmationCodeRejected { .. } | BranchEvent::EmailConfirmationCodeVoided => {}
            BranchEvent::Renamed { name, revision } => {
                let name = serde_json::Value::String(name.as_str().to_string());
                renamed(conn, "branches_view", "branch_id", "name = $2::jsonb #>> '{}'", id, &name, revision, event).await?;
            }
            BranchEvent::NameApproved { .. } => moderated(conn, "branches_view", "branch_id", id, "approved", None, event).await?,
            BranchEvent::RemovedByModeration { reason, .. } => {
                moderated(conn, "branches_view", "branch_id", id, "removed", Some(&reason), event).await?;
            }
        },
        t if t == Service::TYPE => match event.decode::<ServiceEvent>().map_err(decode_err)? {
            ServiceEvent::Created { partner_id, branch_id, names, documents, retention_days, .. } => {
                sqlx::query(
                    "INSERT INTO services_view (service_id, partner_id, branch_id, names, documents, retention_days, name_submitted_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(partner_id)
                .bind(branch_id)
                .bind(names_json(&names))
                .bind(serde_json::to_value(documents).unwrap_or_default())
                .bind(retention_days as i32)
                .bind(event.recorded_at)
                .execute(conn)
                .await?;
            }
            ServiceEvent::QrIssued { qr_version, short_code, .. } => {
                sqlx::query("UPDATE services_view SET qr_version = $2, qr_active = true WHERE service_id = $1")
                    .bind(id)
                    .bind(qr_version as i32)
                    .execute(&mut *conn)
                    .await?;
                if !short_code.is_empty() {
                    sqlx::query("INSERT INTO qr_short_codes_view VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                        .bind(short_code)
                        .bind(id)
                        .bind(qr_version as i32)
                        .execute(conn)
                        .await?;
                }
            }
            ServiceEvent::QrRevoked { .. } => {
                sqlx::query("UPDATE services_view SET qr_active = false WHERE service_id = $1").bind(id).execute(conn).await?;
            }
            ServiceEvent::Deactivated => {
                sqlx::query("UPDATE services_view SET active = false, qr_active = false WHERE service_id = $1")
                    .bind(id)
                    .execute(conn)
                    .await?;
            }
            ServiceEvent::Renamed { names, revision } => {
                renamed(conn, "services_view", "service_id", "names = $2::jsonb", id, &names_json(&names), revision, event).await?;
            }
            ServiceEvent::NamesApproved { .. } => moderated(conn, "services_view", "service_id", id, "approved", None, event).await?,
            ServiceEvent::RemovedByModeration { reason, .. } => {
                moderated(conn, "services_view", "service_id", id, "removed", Some(&reason), event).await?;
                sqlx::query("UPDATE services_view SET active = false, qr_active = false WHERE service_id = $1")
                    .bind(id)
                    .execute(conn)
                    .await?;
            }
        },
        _ => {}
    }
    Ok(())
}

fn names_json(names: &[ServiceName]) -> serde_json::Value {
    serde_json::Value::Array(names.iter().map(|n| serde_json::Value::String(n.as_str().to_string())).collect())
}

/// A new revision of a branch's name or a service's names, bound as JSON (`set_name` says how
/// its column takes it): it waits for moderation again.
#[allow(clippy::too_many_arguments)]
async fn renamed(
    conn: &mut PgConnection,
    table: &str,
    key: &str,
    set_name: &str,
    id: Uuid,
    name: &serde_json::Value,
    revision: u32,
    event: &StoredEvent,
) -> Result<(), ProjectionError> {
    sqlx::query(&format!(
        "UPDATE {table} SET {set_name}, name_revision = $3, moderation = 'pending', moderation_reason = NULL,
                name_submitted_at = $4, moderated_at = NULL
          WHERE {key} = $1"
    ))
    .bind(id)
    .bind(name)
    .bind(revision as i32)
    .bind(event.recorded_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// An operator's decision on the current revision.
async fn moderated(
    conn: &mut PgConnection,
    table: &str,
    key: &str,
    id: Uuid,
    state: &str,
    reason: Option<&str>,
    event: &StoredEvent,
) -> Result<(), ProjectionError> {
    sqlx::query(&format!("UPDATE {table} SET moderation = $2, moderation_reason = $3, moderated_at = $4 WHERE {key} = $1"))
        .bind(id)
        .bind(state)
        .bind(reason)
        .bind(event.recorded_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// What one batch does to `share_requests_view`: the requests it opened and, per request, the
/// fields its later events set (the last event to set a field wins, as one by one).
#[derive(Default)]
struct ShareChanges {
    opened: Vec<OpenedShare>,
    changed: HashMap<Uuid, ShareChange>,
}

struct OpenedShare {
    id: Uuid,
    partner_id: Uuid,
    branch_id: Uuid,
    service_id: Uuid,
    citizen: String,
    organisation_name: String,
    branch_address: String,
    purposes: serde_json::Value,
    documents: serde_json::Value,
    opened_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    retention_days: i32,
}

#[derive(Default)]
struct ShareChange {
    status: Option<ShareStatus>,
    /// When the request ended (sent, declined, expired): the retention clock starts there.
    ended_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    /// `Some(None)` clears it (erasure).
    failure_reason: Option<Option<String>>,
    /// When and why its personal data was erased: the citizen is no longer named.
    erased: Option<(DateTime<Utc>, Option<String>)>,
}

impl ShareChanges {
    fn add(&mut self, id: Uuid, event: &StoredEvent) -> Result<(), ProjectionError> {
        let decoded = event.decode::<ShareRequestEvent>().map_err(|e| ProjectionError::decode(event, e))?;
        if let ShareRequestEvent::Opened { citizen, snapshot, opened_at, expires_at, .. } = decoded {
            self.opened.push(OpenedShare {
                id,
                partner_id: snapshot.partner_id,
                branch_id: snapshot.branch_id,
                service_id: snapshot.service_id,
                citizen: citizen.as_str().to_string(),
                organisation_name: snapshot.organisation_name,
                branch_address: snapshot.branch_address,
                purposes: serde_json::to_value(&snapshot.service_names).unwrap_or_default(),
                documents: serde_json::to_value(&snapshot.documents).unwrap_or_default(),
                opened_at,
                expires_at,
                retention_days: snapshot.retention_days as i32,
            });
            return Ok(());
        }
        let change = self.changed.entry(id).or_default();
        match decoded {
            ShareRequestEvent::Opened { .. } | ShareRequestEvent::DocumentsChosen { .. } => {}
            ShareRequestEvent::PersonalDataErased { at, reason } => {
                // When and why stay for the partner; the mail server's reply goes with the rest.
                change.erased = Some((at, serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_string))));
                change.failure_reason = Some(None);
            }
            ShareRequestEvent::PhotoVerified { .. } => change.status = Some(ShareStatus::PhotoVerified),
            ShareRequestEvent::ConsentSigned { .. } => change.status = Some(ShareStatus::Consented),
            ShareRequestEvent::Sent { sent_at, .. } => {
                change.status = Some(ShareStatus::Sent);
                change.sent_at = Some(sent_at);
                change.ended_at = Some(sent_at);
            }
            ShareRequestEvent::Delivered { accepted_at, .. } => {
                change.status = Some(ShareStatus::Delivered);
                change.delivered_at = Some(accepted_at);
            }
            ShareRequestEvent::DeliveryFailed { reason, .. } => {
                change.status = Some(ShareStatus::DeliveryFailed);
                change.failure_reason = Some(Some(reason));
            }
            ShareRequestEvent::Declined { at } | ShareRequestEvent::Expired { at } => {
                change.status =
                    Some(if matches!(decoded, ShareRequestEvent::Declined { .. }) { ShareStatus::Declined } else { ShareStatus::Expired });
                change.ended_at = Some(at);
            }
        }
        Ok(())
    }

    /// The opened requests in one statement, then the changes in another (which sees them).
    async fn write(self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        if !self.opened.is_empty() {
            let o = &self.opened;
            sqlx::query(
                "INSERT INTO share_requests_view (share_request_id, partner_id, branch_id, service_id, citizen,
                     organisation_name, branch_address, purposes, documents, status, opened_at, expires_at, retention_days)
                 SELECT u.id, u.partner_id, u.branch_id, u.service_id, u.citizen, u.organisation_name, u.branch_address,
                        u.purposes, u.documents, 'opened', u.opened_at, u.expires_at, u.retention_days
                   FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[],
                               $8::jsonb[], $9::jsonb[], $10::timestamptz[], $11::timestamptz[], $12::integer[])
                        AS u (id, partner_id, branch_id, service_id, citizen, organisation_name, branch_address,
                              purposes, documents, opened_at, expires_at, retention_days)
                 ON CONFLICT DO NOTHING",
            )
            .bind(o.iter().map(|s| s.id).collect::<Vec<_>>())
            .bind(o.iter().map(|s| s.partner_id).collect::<Vec<_>>())
            .bind(o.iter().map(|s| s.branch_id).collect::<Vec<_>>())
            .bind(o.iter().map(|s| s.service_id).collect::<Vec<_>>())
            .bind(o.iter().map(|s| s.citizen.as_str()).collect::<Vec<_>>())
            .bind(o.iter().map(|s| s.organisation_name.as_str()).collect::<Vec<_>>())
            .bind(o.iter().map(|s| s.branch_address.as_str()).collect::<Vec<_>>())
            .bind(o.iter().map(|s| s.purposes.clone()).collect::<Vec<_>>())
            .bind(o.iter().map(|s| s.documents.clone()).collect::<Vec<_>>())
            .bind(o.iter().map(|s| s.opened_at).collect::<Vec<_>>())
            .bind(o.iter().map(|s| s.expires_at).collect::<Vec<_>>())
            .bind(o.iter().map(|s| s.retention_days).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
        }
        if !self.changed.is_empty() {
            // In id order, so two writers of the same rows take their locks in the same order.
            let mut changed: Vec<(Uuid, ShareChange)> = self.changed.into_iter().collect();
            changed.sort_unstable_by_key(|(id, _)| *id);
            let c = &changed;
            sqlx::query(
                "UPDATE share_requests_view v SET
                     status         = coalesce(u.status, v.status),
                     ended_at       = coalesce(u.ended_at, v.ended_at),
                     sent_at        = coalesce(u.sent_at, v.sent_at),
                     delivered_at   = coalesce(u.delivered_at, v.delivered_at),
                     failure_reason = CASE WHEN u.sets_failure THEN u.failure_reason ELSE v.failure_reason END,
                     citizen        = CASE WHEN u.erased_at IS NOT NULL THEN '' ELSE v.citizen END,
                     erased_at      = coalesce(u.erased_at, v.erased_at),
                     erased_reason  = CASE WHEN u.erased_at IS NOT NULL THEN u.erased_reason ELSE v.erased_reason END
                   FROM UNNEST($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[],
                               $6::boolean[], $7::text[], $8::timestamptz[], $9::text[])
                        AS u (id, status, ended_at, sent_at, delivered_at, sets_failure, failure_reason, erased_at, erased_reason)
                  WHERE v.share_request_id = u.id",
            )
            .bind(c.iter().map(|(id, _)| *id).collect::<Vec<_>>())
            .bind(c.iter().map(|(_, s)| s.status.map(status_name)).collect::<Vec<_>>())
            .bind(c.iter().map(|(_, s)| s.ended_at).collect::<Vec<_>>())
            .bind(c.iter().map(|(_, s)| s.sent_at).collect::<Vec<_>>())
            .bind(c.iter().map(|(_, s)| s.delivered_at).collect::<Vec<_>>())
            .bind(c.iter().map(|(_, s)| s.failure_reason.is_some()).collect::<Vec<_>>())
            .bind(c.iter().map(|(_, s)| s.failure_reason.clone().flatten()).collect::<Vec<_>>())
            .bind(c.iter().map(|(_, s)| s.erased.as_ref().map(|(at, _)| *at)).collect::<Vec<_>>())
            .bind(c.iter().map(|(_, s)| s.erased.as_ref().and_then(|(_, why)| why.clone())).collect::<Vec<_>>())
            .execute(conn)
            .await?;
        }
        Ok(())
    }
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct BranchRow {
    pub branch_id: Uuid,
    pub name: String,
    pub address: String,
    pub email: String,
    pub email_confirmed: bool,
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub moderation: ModerationRow,
}

/// Where the moderation of a branch's or service's current name stands, as its partner sees it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ModerationRow {
    pub name_revision: i32,
    /// `pending` (serving, not yet reviewed), `approved` or `removed`.
    pub moderation: String,
    /// The operator's reason, for a removal.
    pub moderation_reason: Option<String>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ServiceRow {
    pub service_id: Uuid,
    pub branch_id: Uuid,
    pub names: serde_json::Value,
    pub documents: serde_json::Value,
    pub retention_days: i32,
    pub qr_version: i32,
    pub qr_active: bool,
    pub active: bool,
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub moderation: ModerationRow,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ShareRow {
    pub share_request_id: Uuid,
    pub branch_id: Uuid,
    pub service_id: Uuid,
    pub organisation_name: String,
    pub branch_address: String,
    pub purposes: serde_json::Value,
    pub documents: serde_json::Value,
    pub status: String,
    pub opened_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
    /// When and why the request's personal data was erased.
    pub erased_at: Option<DateTime<Utc>>,
    pub erased_reason: Option<String>,
}

pub async fn branches_of(pool: &PgPool, partner_id: Uuid) -> Result<Vec<BranchRow>, sqlx::Error> {
    sqlx::query_as("SELECT branch_id, name, address, email, email_confirmed, name_revision, moderation, moderation_reason FROM branches_view WHERE partner_id = $1 ORDER BY name")
        .bind(partner_id)
        .fetch_all(pool)
        .await
}

pub async fn services_of(pool: &PgPool, partner_id: Uuid) -> Result<Vec<ServiceRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT service_id, branch_id, names, documents, retention_days, qr_version, qr_active, active, name_revision, moderation, moderation_reason
           FROM services_view WHERE partner_id = $1 ORDER BY service_id",
    )
    .bind(partner_id)
    .fetch_all(pool)
    .await
}

const SHARE_COLUMNS: &str = "share_request_id, branch_id, service_id, organisation_name, branch_address, purposes, documents, status, opened_at, sent_at, delivered_at, failure_reason, erased_at, erased_reason";

/// The shares a partner received, newest first.
pub async fn shares_received_by(pool: &PgPool, partner_id: Uuid, limit: i64) -> Result<Vec<ShareRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {SHARE_COLUMNS} FROM share_requests_view WHERE partner_id = $1 ORDER BY opened_at DESC LIMIT $2"))
        .bind(partner_id)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// A citizen's sharing history, newest first.
pub async fn history_of(pool: &PgPool, citizen: &str, limit: i64) -> Result<Vec<ShareRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {SHARE_COLUMNS} FROM share_requests_view WHERE citizen = $1 ORDER BY opened_at DESC LIMIT $2"))
        .bind(citizen)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// The service and QR version a printed short code belongs to.
pub async fn short_code_target(pool: &PgPool, short_code: &str) -> Result<Option<(Uuid, i32)>, sqlx::Error> {
    sqlx::query_as("SELECT service_id, qr_version FROM qr_short_codes_view WHERE short_code = $1")
        .bind(short_code)
        .fetch_optional(pool)
        .await
}

/// Ended requests whose retention ran out by `now` and whose data is not erased yet: the
/// retention sweep's work list. The aggregate decides; this only says where to look.
pub async fn shares_due_for_erasure(pool: &PgPool, now: DateTime<Utc>, limit: i64) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT share_request_id FROM share_requests_view
          WHERE erased_at IS NULL AND ended_at IS NOT NULL AND ended_at + make_interval(days => retention_days) <= $1
          ORDER BY ended_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Open requests whose time ran out by `now`: the expiry sweep's work list.
pub async fn open_shares_expiring_by(pool: &PgPool, now: DateTime<Utc>, limit: i64) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT share_request_id FROM share_requests_view
          WHERE status IN ('opened', 'photo_verified', 'consented') AND expires_at <= $1 LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// One of the partner's branches; `None` when it is not the partner's.
pub async fn branch_of(pool: &PgPool, partner_id: Uuid, branch_id: Uuid) -> Result<Option<BranchRow>, sqlx::Error> {
    sqlx::query_as("SELECT branch_id, name, address, email, email_confirmed, name_revision, moderation, moderation_reason FROM branches_view WHERE partner_id = $1 AND branch_id = $2")
        .bind(partner_id)
        .bind(branch_id)
        .fetch_optional(pool)
        .await
}

/// One of the partner's services; `None` when it is not the partner's.
pub async fn service_of(pool: &PgPool, partner_id: Uuid, service_id: Uuid) -> Result<Option<ServiceRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT service_id, branch_id, names, documents, retention_days, qr_version, qr_active, active, name_revision, moderation, moderation_reason
           FROM services_view WHERE partner_id = $1 AND service_id = $2",
    )
    .bind(partner_id)
    .bind(service_id)
    .fetch_optional(pool)
    .await
}

/// One share the partner received; `None` when it is not the partner's.
pub async fn share_of(pool: &PgPool, partner_id: Uuid, share_id: Uuid) -> Result<Option<ShareRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {SHARE_COLUMNS} FROM share_requests_view WHERE partner_id = $1 AND share_request_id = $2"))
        .bind(partner_id)
        .bind(share_id)
        .fetch_optional(pool)
        .await
}

/// The partner as the cabinet shows it: name, registry code and status; `None` before it registered.
pub async fn partner_of(pool: &PgPool, partner_id: Uuid) -> Result<Option<PartnerRow>, sqlx::Error> {
    sqlx::query_as("SELECT organisation_name, registry_code, status FROM partners_view WHERE partner_id = $1")
        .bind(partner_id)
        .fetch_optional(pool)
        .await
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct PartnerRow {
    pub organisation_name: String,
    pub registry_code: String,
    /// `onboarding`, `active` or `suspended`.
    pub status: String,
}

//! The cabinet's read models: partners, branches, services and the share requests they
//! received, plus each citizen's sharing history. Built from the log; queried by the API.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use diia_qr_domain::branch::{Branch, BranchEvent};
use diia_qr_domain::partner::{Partner, PartnerEvent};
use diia_qr_domain::service::{Service, ServiceEvent};
use diia_qr_domain::share_request::{ShareRequest, ShareRequestEvent, ShareStatus};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::log::{Projection, ProjectionError, StoredEvent};

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
        let decode_err = |e| ProjectionError::decode(event, e);
        let id: Uuid = match event.aggregate_id.parse() {
            Ok(id) => id,
            Err(_) => return Ok(()), // ids are always UUIDs; anything else is not ours to show
        };
        let conn = &mut *conn;
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
                    sqlx::query("INSERT INTO branches_view VALUES ($1, $2, $3, $4, '', false) ON CONFLICT DO NOTHING")
                        .bind(id)
                        .bind(partner_id)
                        .bind(name.as_str())
                        .bind(address.one_line())
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
            },
            t if t == Service::TYPE => match event.decode::<ServiceEvent>().map_err(decode_err)? {
                ServiceEvent::Created { partner_id, branch_id, names, documents, retention_days, .. } => {
                    sqlx::query(
                        "INSERT INTO services_view (service_id, partner_id, branch_id, names, documents, retention_days)
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    )
                    .bind(id)
                    .bind(partner_id)
                    .bind(branch_id)
                    .bind(serde_json::to_value(names.iter().map(|n| n.as_str()).collect::<Vec<_>>()).unwrap_or_default())
                    .bind(serde_json::to_value(documents).unwrap_or_default())
                    .bind(retention_days as i32)
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
            },
            t if t == ShareRequest::TYPE => {
                let e = event.decode::<ShareRequestEvent>().map_err(decode_err)?;
                let (status, extra) = match &e {
                    ShareRequestEvent::Opened { citizen, snapshot, opened_at, expires_at, .. } => {
                        sqlx::query(
                            "INSERT INTO share_requests_view (share_request_id, partner_id, branch_id, service_id, citizen,
                                 organisation_name, branch_address, purposes, documents, status, opened_at, expires_at, retention_days)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'opened', $10, $11, $12) ON CONFLICT DO NOTHING",
                        )
                        .bind(id)
                        .bind(snapshot.partner_id)
                        .bind(snapshot.branch_id)
                        .bind(snapshot.service_id)
                        .bind(citizen.as_str())
                        .bind(&snapshot.organisation_name)
                        .bind(&snapshot.branch_address)
                        .bind(serde_json::to_value(&snapshot.service_names).unwrap_or_default())
                        .bind(serde_json::to_value(&snapshot.documents).unwrap_or_default())
                        .bind(opened_at)
                        .bind(expires_at)
                        .bind(snapshot.retention_days as i32)
                        .execute(conn)
                        .await?;
                        return Ok(());
                    }
                    ShareRequestEvent::DocumentsChosen { .. } => return Ok(()),
                    ShareRequestEvent::PersonalDataErased { at, reason } => {
                        // The citizen is no longer named; when and why stay for the partner.
                        sqlx::query(
                            "UPDATE share_requests_view SET citizen = '', failure_reason = NULL, erased_at = $2, erased_reason = $3 WHERE share_request_id = $1",
                        )
                        .bind(id)
                        .bind(at)
                        .bind(serde_json::to_value(reason).ok().and_then(|v| v.as_str().map(str::to_string)))
                        .execute(conn)
                        .await?;
                        return Ok(());
                    }
                    ShareRequestEvent::PhotoVerified { .. } => (ShareStatus::PhotoVerified, None),
                    ShareRequestEvent::ConsentSigned { .. } => (ShareStatus::Consented, None),
                    ShareRequestEvent::Sent { sent_at, .. } => (ShareStatus::Sent, Some(("sent_at", *sent_at))),
                    ShareRequestEvent::Delivered { accepted_at, .. } => (ShareStatus::Delivered, Some(("delivered_at", *accepted_at))),
                    ShareRequestEvent::DeliveryFailed { .. } => (ShareStatus::DeliveryFailed, None),
                    ShareRequestEvent::Declined { .. } => (ShareStatus::Declined, None),
                    ShareRequestEvent::Expired { .. } => (ShareStatus::Expired, None),
                };
                sqlx::query("UPDATE share_requests_view SET status = $2 WHERE share_request_id = $1")
                    .bind(id)
                    .bind(status_name(status))
                    .execute(&mut *conn)
                    .await?;
                // The retention clock starts when the request ends.
                let ended_at = match &e {
                    ShareRequestEvent::Sent { sent_at, .. } => Some(*sent_at),
                    ShareRequestEvent::Declined { at } | ShareRequestEvent::Expired { at } => Some(*at),
                    _ => None,
                };
                if let Some(at) = ended_at {
                    sqlx::query("UPDATE share_requests_view SET ended_at = $2 WHERE share_request_id = $1")
                        .bind(id)
                        .bind(at)
                        .execute(&mut *conn)
                        .await?;
                }
                match (extra, &e) {
                    (Some(("sent_at", at)), _) => {
                        sqlx::query("UPDATE share_requests_view SET sent_at = $2 WHERE share_request_id = $1")
                            .bind(id)
                            .bind(at)
                            .execute(conn)
                            .await?;
                    }
                    (Some((_, at)), _) => {
                        sqlx::query("UPDATE share_requests_view SET delivered_at = $2 WHERE share_request_id = $1")
                            .bind(id)
                            .bind(at)
                            .execute(conn)
                            .await?;
                    }
                    (None, ShareRequestEvent::DeliveryFailed { reason, .. }) => {
                        sqlx::query("UPDATE share_requests_view SET failure_reason = $2 WHERE share_request_id = $1")
                            .bind(id)
                            .bind(reason)
                            .execute(conn)
                            .await?;
                    }
                    _ => {}
                }
            }
            _ => {}
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
    sqlx::query_as("SELECT branch_id, name, address, email, email_confirmed FROM branches_view WHERE partner_id = $1 ORDER BY name")
        .bind(partner_id)
        .fetch_all(pool)
        .await
}

pub async fn services_of(pool: &PgPool, partner_id: Uuid) -> Result<Vec<ServiceRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT service_id, branch_id, names, documents, retention_days, qr_version, qr_active, active
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
    sqlx::query_as("SELECT branch_id, name, address, email, email_confirmed FROM branches_view WHERE partner_id = $1 AND branch_id = $2")
        .bind(partner_id)
        .bind(branch_id)
        .fetch_optional(pool)
        .await
}

/// One of the partner's services; `None` when it is not the partner's.
pub async fn service_of(pool: &PgPool, partner_id: Uuid, service_id: Uuid) -> Result<Option<ServiceRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT service_id, branch_id, names, documents, retention_days, qr_version, qr_active, active
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

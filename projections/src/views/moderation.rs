//! The operators' desk: the moderation queue of branch and service names, and the partners
//! with their standing. Queries only: the rows are the cabinet's (`cabinet_views` keeps each
//! name's revision and review), so the queue is rebuilt from the log with them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

/// One name under review: a branch's name or a service's names, at its current revision.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct ModerationItem {
    /// `branch` or `service`.
    pub subject: String,
    /// The branch's or the service's id.
    pub subject_id: Uuid,
    pub partner_id: Uuid,
    pub organisation_name: Option<String>,
    /// The branch the name belongs to, or that the service is attached to.
    pub branch_id: Uuid,
    pub branch_name: Option<String>,
    /// The names as citizens read them: one for a branch, one or more for a service.
    pub names: serde_json::Value,
    /// The revision a decision must name.
    pub revision: i32,
    /// `pending`, `approved` or `removed`.
    pub state: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

/// The names in `state` (`pending`: the queue), oldest submission first.
pub async fn moderation_items(pool: &PgPool, state: &str, limit: i64) -> Result<Vec<ModerationItem>, sqlx::Error> {
    sqlx::query_as(
        "SELECT * FROM (
            SELECT 'branch' AS subject, b.branch_id AS subject_id, b.partner_id, p.organisation_name, b.branch_id,
                   b.name AS branch_name, jsonb_build_array(b.name) AS names, b.name_revision AS revision,
                   b.moderation AS state, b.name_submitted_at AS submitted_at, b.moderated_at AS decided_at,
                   b.moderation_reason AS reason
              FROM branches_view b LEFT JOIN partners_view p ON p.partner_id = b.partner_id
             WHERE b.moderation = $1
            UNION ALL
            SELECT 'service', s.service_id, s.partner_id, p.organisation_name, s.branch_id,
                   b.name, s.names, s.name_revision, s.moderation, s.name_submitted_at, s.moderated_at, s.moderation_reason
              FROM services_view s
              LEFT JOIN branches_view b ON b.branch_id = s.branch_id
              LEFT JOIN partners_view p ON p.partner_id = s.partner_id
             WHERE s.moderation = $1
         ) items
         ORDER BY submitted_at NULLS FIRST, subject_id
         LIMIT $2",
    )
    .bind(state)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A partner as operators see it.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct PartnerOnRecord {
    pub partner_id: Uuid,
    pub organisation_name: String,
    /// ЄДРПОУ, or the sole proprietor's РНОКПП.
    pub registry_code: String,
    /// `onboarding`, `active` or `suspended`.
    pub status: String,
    pub registered_at: DateTime<Utc>,
}

/// Partners, newest first; `status` narrows them to one standing.
pub async fn partners(pool: &PgPool, status: Option<&str>, limit: i64) -> Result<Vec<PartnerOnRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT partner_id, organisation_name, registry_code, status, registered_at FROM partners_view
          WHERE $1::text IS NULL OR status = $1
          ORDER BY registered_at DESC, partner_id LIMIT $2",
    )
    .bind(status)
    .bind(limit)
    .fetch_all(pool)
    .await
}

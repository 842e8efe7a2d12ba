//! The mail outbox reactor: turns events that promise mail into delivery jobs, in the same
//! transaction as its checkpoint. A job exists exactly once for each such event.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use diia_qr_domain::branch::{Branch, BranchEvent};
use diia_qr_domain::documents::HeldDocument;
use diia_qr_domain::identifiers::EmailAddress;
use diia_qr_domain::service::{Service, ServiceEvent};
use diia_qr_domain::share_request::{ShareRequest, ShareRequestEvent, ShareSnapshot};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::log::{Projection, ProjectionError, StoredEvent};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MailJob {
    EmailConfirmation {
        branch_id: Uuid,
        branch_name: String,
        email: EmailAddress,
        nonce: String,
    },
    Copies {
        share_request_id: Uuid,
        snapshot: ShareSnapshot,
        copies: Vec<HeldDocument>,
        sent_at: DateTime<Utc>,
        /// The `Sent` event's seed of the copies' ids (absent in jobs made before it existed).
        #[serde(default)]
        copy_seed: Option<Uuid>,
    },
    /// The partner is told that moderation removed a branch or a service, and why.
    Removal {
        subject: RemovedSubject,
        subject_id: Uuid,
        names: Vec<String>,
        reason: String,
        email: EmailAddress,
    },
}

/// What moderation removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovedSubject {
    Branch,
    Service,
}

impl MailJob {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::EmailConfirmation { .. } => "email_confirmation",
            Self::Copies { .. } => "copies",
            Self::Removal { .. } => "removal",
        }
    }
}

pub struct MailOutbox;

fn parse_id(event: &StoredEvent) -> Result<Uuid, ProjectionError> {
    event.aggregate_id.parse().map_err(|e| ProjectionError::decode(event, serde::de::Error::custom(format!("aggregate id: {e}"))))
}

/// The first event of an aggregate: its creation, which carries the names later events omit.
async fn first_event(conn: &mut PgConnection, event: &StoredEvent) -> Result<serde_json::Value, ProjectionError> {
    Ok(sqlx::query_scalar("SELECT payload FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence = 1")
        .bind(&event.aggregate_type)
        .bind(&event.aggregate_id)
        .fetch_one(&mut *conn)
        .await?)
}

#[async_trait]
impl Projection for MailOutbox {
    fn name(&self) -> &'static str {
        "mail_outbox"
    }

    fn enqueues_mail(&self) -> bool {
        true
    }

    async fn apply(&self, conn: &mut PgConnection, event: &StoredEvent) -> Result<(), ProjectionError> {
        let decode_err = |e| ProjectionError::decode(event, e);
        let job = match event.aggregate_type.as_str() {
            t if t == Branch::TYPE => match event.decode::<BranchEvent>().map_err(decode_err)? {
                BranchEvent::EmailConfirmationRequested { email, nonce, .. } => {
                    let created: BranchEvent = serde_json::from_value(first_event(conn, event).await?).map_err(decode_err)?;
                    let BranchEvent::Created { branch_id, name, .. } = created else { return Ok(()) };
                    MailJob::EmailConfirmation { branch_id, branch_name: name.as_str().to_string(), email, nonce }
                }
                BranchEvent::RemovedByModeration { name, reason, notified: Some(email), .. } => {
                    let names = vec![name.as_str().to_string()];
                    MailJob::Removal { subject: RemovedSubject::Branch, subject_id: parse_id(event)?, names, reason, email }
                }
                _ => return Ok(()),
            },
            t if t == Service::TYPE => match event.decode::<ServiceEvent>().map_err(decode_err)? {
                ServiceEvent::RemovedByModeration { names, reason, notified: Some(email), .. } => {
                    let names = names.iter().map(|n| n.as_str().to_string()).collect();
                    MailJob::Removal { subject: RemovedSubject::Service, subject_id: parse_id(event)?, names, reason, email }
                }
                _ => return Ok(()),
            },
            t if t == ShareRequest::TYPE => match event.decode::<ShareRequestEvent>().map_err(decode_err)? {
                ShareRequestEvent::Sent { copies, sent_at, copy_seed, .. } => {
                    let opened: ShareRequestEvent = serde_json::from_value(first_event(conn, event).await?).map_err(decode_err)?;
                    let ShareRequestEvent::Opened { share_request_id, snapshot, .. } = opened else { return Ok(()) };
                    MailJob::Copies { share_request_id, snapshot, copies, sent_at, copy_seed }
                }
                _ => return Ok(()),
            },
            _ => return Ok(()),
        };
        let job_id = format!("{}/{}/{}", event.aggregate_type, event.aggregate_id, event.sequence);
        sqlx::query(
            "INSERT INTO mail_outbox (job_id, kind, aggregate_id, payload) VALUES ($1, $2, $3, $4) ON CONFLICT (job_id) DO NOTHING",
        )
        .bind(job_id)
        .bind(job.kind())
        .bind(&event.aggregate_id)
        .bind(serde_json::to_value(&job).expect("a mail job serialises"))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

//! Consent history, replayed from the event log: for one partner or one citizen, every share
//! request with its timeline, the consent with the verdict on its signature, what was sent and
//! delivered, and the state **as of** any past moment. Computed from the events themselves (each
//! request's aggregate rebuilt from its events up to that moment), never from today's views.
//!
//! Which requests belong to the subject is read from the audit trail's filing (`audit_owners`:
//! partner and the citizen's keyed digest), which the trail keeps from the first event on.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use diia_qr_domain::share_request::{ShareRequest, ShareRequestEvent, ShareStatus};
use openssl::x509::X509;
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::log::{StoredEvent, EVENT_COLUMNS};
use crate::seal::verify_detached;

/// Whose history.
#[derive(Debug, Clone)]
pub enum HistorySubject {
    Partner(Uuid),
    /// A citizen, by the keyed digest the audit trail files them under.
    Citizen(Vec<u8>),
}

/// One share request as it stood at the chosen moment.
#[derive(Debug, Clone, Serialize)]
pub struct ShareAsOf {
    pub share_request_id: Uuid,
    pub partner_id: Uuid,
    pub organisation_name: String,
    pub branch_name: String,
    pub service_names: Vec<String>,
    pub status: ShareStatus,
    pub timeline: Vec<TimelineItem>,
    /// The consent, if given by then, with the verdict on its signature.
    pub consent: Option<ConsentRecord>,
    /// Document types sent, if sent by then.
    pub documents_sent: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineItem {
    pub at: DateTime<Utc>,
    pub event: String,
    pub global_id: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentRecord {
    pub signed_at: DateTime<Utc>,
    pub statement_sha256: String,
    /// Whether the citizen's signature verifies over the statement against the trust anchors.
    pub signature_valid: bool,
    /// The signer's subject when it verifies; why not, when it does not.
    pub signature_detail: String,
}

/// A subject's history as of a moment.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentHistory {
    pub as_of: DateTime<Utc>,
    pub shares: Vec<ShareAsOf>,
    /// Events replayed.
    pub events: u64,
}

/// Replays the subject's share requests from the log, each up to `as_of`; `progress` is told
/// (events replayed, events in all) as it goes.
pub async fn consent_history(
    pool: &PgPool,
    subject: &HistorySubject,
    as_of: DateTime<Utc>,
    anchors: &[X509],
    mut progress: impl FnMut(u64, u64),
) -> Result<ConsentHistory, sqlx::Error> {
    let (partner, citizen) = match subject {
        HistorySubject::Partner(p) => (Some(*p), None),
        HistorySubject::Citizen(d) => (None, Some(d.clone())),
    };
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT o.aggregate_id FROM audit_owners o
          WHERE ($1::uuid IS NULL OR o.partner_id = $1) AND ($2::bytea IS NULL OR o.citizen_digest = $2)
            AND EXISTS (SELECT 1 FROM events e WHERE e.aggregate_type = 'ShareRequest' AND e.aggregate_id = o.aggregate_id)",
    )
    .bind(partner)
    .bind(&citizen)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM events WHERE aggregate_type = 'ShareRequest' AND aggregate_id = ANY($1) AND recorded_at <= $2",
    )
    .bind(&ids)
    .bind(as_of)
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS}
           FROM events WHERE aggregate_type = 'ShareRequest' AND aggregate_id = ANY($1) AND recorded_at <= $2
          ORDER BY aggregate_id, sequence"
    ))
    .bind(&ids)
    .bind(as_of)
    .fetch_all(pool)
    .await?;
    let mut events = rows.iter().map(StoredEvent::from_row).collect::<Result<Vec<_>, sqlx::Error>>()?;
    let mut conn = pool.acquire().await?;
    crate::personal_data::open_stored(&mut conn, &mut events).await.map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let mut shares: Vec<(ShareRequest, ShareAsOf)> = Vec::new();
    let mut replayed = 0u64;
    for event in events {
        replayed += 1;
        progress(replayed, total as u64);
        let Ok(decoded) = event.decode::<ShareRequestEvent>() else { continue };
        if let ShareRequestEvent::Opened { share_request_id, snapshot, .. } = &decoded {
            shares.push((
                ShareRequest::default(),
                ShareAsOf {
                    share_request_id: *share_request_id,
                    partner_id: snapshot.partner_id,
                    organisation_name: snapshot.organisation_name.clone(),
                    branch_name: snapshot.branch_name.clone(),
                    service_names: snapshot.service_names.clone(),
                    status: ShareStatus::Opened,
                    timeline: Vec::new(),
                    consent: None,
                    documents_sent: Vec::new(),
                },
            ));
        }
        let Some((aggregate, view)) = shares.last_mut().filter(|(_, v)| v.share_request_id.to_string() == event.aggregate_id) else {
            continue;
        };
        match &decoded {
            ShareRequestEvent::ConsentSigned { signed_at, .. } if crate::personal_data::is_erased(&event.payload) => {
                view.consent = Some(ConsentRecord {
                    signed_at: *signed_at,
                    statement_sha256: String::new(),
                    signature_valid: false,
                    signature_detail: "заяву й підпис видалено разом із персональними даними".into(),
                });
            }
            ShareRequestEvent::ConsentSigned { statement, signature_base64, signed_at } => {
                use base64::Engine as _;
                let verdict = base64::engine::general_purpose::STANDARD
                    .decode(signature_base64)
                    .map_err(|e| e.to_string())
                    .and_then(|der| verify_detached(&der, statement.as_bytes(), anchors).map_err(|e| e.to_string()));
                view.consent = Some(ConsentRecord {
                    signed_at: *signed_at,
                    statement_sha256: crate::digest::sha256_hex(statement.as_bytes()),
                    signature_valid: verdict.is_ok(),
                    signature_detail: match verdict {
                        Ok(v) => v.signer_subject,
                        Err(e) => e,
                    },
                });
            }
            ShareRequestEvent::Sent { copies, .. } => {
                view.documents_sent = copies.iter().map(|c| c.document_type.code().to_string()).collect();
            }
            _ => {}
        }
        view.timeline.push(TimelineItem { at: event.recorded_at, event: event.event_type.clone(), global_id: event.position.global_id });
        aggregate.apply(decoded);
        view.status = aggregate.status();
    }
    let mut shares: Vec<ShareAsOf> = shares.into_iter().map(|(_, v)| v).collect();
    shares.sort_by_key(|s| s.timeline.first().map(|t| (t.at, t.global_id)));
    Ok(ConsentHistory { as_of, shares, events: replayed })
}

//! The audit desk: signed checkpoints, proofs, exports of the trail and the access entries every
//! read of personal data leaves. Its own object, so the command line can export without a
//! running server.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_projections::audit::{Hash, LogKey};
use diia_qr_projections::audit_trail::access::{record_access, Access};
use diia_qr_projections::audit_trail::citizen_digest;
use diia_qr_projections::audit_trail::export::{export, ExportContext, ExportFilter, ExportFormat};
use diia_qr_projections::audit_trail::store::{self, SignedCheckpoint, TrailError};
use diia_qr_projections::history::{consent_history, ConsentHistory, HistorySubject};
use diia_qr_projections::keys::{KeyPurpose, KeyRing, PurposeKey};
use diia_qr_projections::seal::Seal;
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Clock, EngineError};

impl From<TrailError> for EngineError {
    fn from(e: TrailError) -> Self {
        match e {
            TrailError::Database(e) => e.into(),
            TrailError::Proof(e) => EngineError::invalid("audit-proof-out-of-range", e),
            TrailError::Empty => EngineError::not_found("audit-trail-empty", e.to_string()),
            other => EngineError::Internal(other.to_string()),
        }
    }
}

/// Who asks for an export, which decides what it may hold.
#[derive(Debug, Clone)]
pub enum ExportRequester {
    /// A partner's head: the partner's own entries only.
    Partner { partner_id: Uuid, head: Rnokpp },
    /// The service's staff or an auditor: any entries.
    Operator { name: String },
}

/// What an export asks for; the partner's own id is forced for a partner.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    pub partner_id: Option<Uuid>,
    pub citizen: Option<Rnokpp>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

pub struct AuditDesk {
    pool: PgPool,
    seal: Arc<dyn Seal>,
    log_key: LogKey,
    citizen_index: PurposeKey,
    /// PEM of the CAs that verify the seal and the citizens' consent signatures.
    certificates: String,
    anchors: Vec<openssl::x509::X509>,
    clock: Clock,
}

/// Whose consent history an auditor replays.
#[derive(Debug, Clone)]
pub enum HistoryRequest {
    Partner(Uuid),
    Citizen(Rnokpp),
}

/// The log's name when it has no checkpoint yet, from the public address of the deployment.
pub fn default_origin(public_base_url: &str) -> String {
    let rest = public_base_url.split_once("://").map_or(public_base_url, |(_, r)| r);
    let host = rest.split(['/', ':']).next().filter(|h| !h.is_empty()).unwrap_or("localhost");
    format!("{host}/audit")
}

impl AuditDesk {
    /// The desk of the trail in `pool`. The log keeps the origin of its first checkpoint for
    /// good; `origin` names a log that has none yet.
    pub async fn new(
        pool: PgPool,
        keys: &KeyRing,
        seal: Arc<dyn Seal>,
        certificates: String,
        origin: &str,
        clock: Clock,
    ) -> Result<Self, EngineError> {
        let origin = match store::latest_checkpoint(&pool).await? {
            Some(latest) => latest.checkpoint.origin,
            None => origin.to_string(),
        };
        let log_key = LogKey::from_raw(&origin, keys.key(KeyPurpose::AuditLog).seed())
            .map_err(|e| EngineError::Internal(format!("ключ журналу аудиту: {e}")))?;
        let anchors = openssl::x509::X509::stack_from_pem(certificates.as_bytes())
            .map_err(|e| EngineError::Internal(format!("сертифікати довіри: {e}")))?;
        Ok(Self { pool, seal, log_key, citizen_index: keys.key(KeyPurpose::AuditCitizenIndex).clone(), certificates, anchors, clock })
    }

    /// The subject's share requests as they stood at `as_of` (now when absent), replayed from
    /// the log; `progress` hears (events replayed, events in all).
    pub async fn history(
        &self,
        request: &HistoryRequest,
        as_of: Option<DateTime<Utc>>,
        progress: impl FnMut(u64, u64),
    ) -> Result<ConsentHistory, EngineError> {
        let subject = match request {
            HistoryRequest::Partner(p) => HistorySubject::Partner(*p),
            HistoryRequest::Citizen(c) => HistorySubject::Citizen(citizen_digest(&self.citizen_index, c.as_str())),
        };
        let as_of = as_of.unwrap_or_else(|| self.clock.now());
        Ok(consent_history(&self.pool, &subject, as_of, &self.anchors, progress).await?)
    }

    /// An operator's replay: recorded in the trail first, since it reads personal data.
    pub async fn history_for_operator(
        &self,
        operator: &str,
        request: &HistoryRequest,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<ConsentHistory, EngineError> {
        let (partner_id, committed) = match request {
            HistoryRequest::Partner(p) => (Some(*p), Vec::new()),
            HistoryRequest::Citizen(c) => (None, vec![("subject_rnokpp", c.to_string())]),
        };
        let mut facts = vec![("subject", json!(if partner_id.is_some() { "partner" } else { "citizen" }))];
        if let Some(as_of) = as_of {
            facts.push(("as_of", json!(as_of.to_rfc3339())));
        }
        let access = Access {
            kind: "access.history",
            partner_id,
            share_request_id: None,
            actor_role: "operator",
            actor_id: operator.to_string(),
            facts,
            committed,
        };
        self.record(&access).await?;
        self.history(request, as_of, |_, _| {}).await
    }

    /// The verifier key auditors pin: `name+id+key`.
    pub fn log_key(&self) -> String {
        self.log_key.verifier_key()
    }

    pub fn certificates(&self) -> &str {
        &self.certificates
    }

    /// A checkpoint of the whole trail as it is now: signed now if the trail grew since the last.
    pub async fn checkpoint(&self) -> Result<SignedCheckpoint, EngineError> {
        if store::size(&self.pool).await? == 0 {
            return Err(TrailError::Empty.into());
        }
        Ok(store::checkpoint_now(&self.pool, self.log_key.name(), &self.log_key, self.seal.as_ref(), self.clock.now()).await?)
    }

    /// Entry `index`'s inclusion proof in the tree of `size` entries (a checkpoint's size).
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<(Hash, Vec<Hash>), EngineError> {
        self.within_trail(size).await?;
        let mut conn = self.pool.acquire().await?;
        let leaf: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT leaf_hash FROM audit_entries WHERE idx = $1").bind(index as i64).fetch_optional(&mut *conn).await?;
        let leaf = leaf
            .and_then(|l| Hash::try_from(l).ok())
            .ok_or_else(|| EngineError::not_found("audit-entry-not-found", format!("запису №{index} немає в журналі аудиту")))?;
        Ok((leaf, store::inclusion_proof(&mut conn, index, size).await?))
    }

    /// The proof that the tree of `old_size` entries is the beginning of the tree of `new_size`.
    pub async fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, EngineError> {
        self.within_trail(new_size).await?;
        let mut conn = self.pool.acquire().await?;
        Ok(store::consistency_proof(&mut conn, old_size, new_size).await?)
    }

    async fn within_trail(&self, size: u64) -> Result<(), EngineError> {
        let now = store::size(&self.pool).await?;
        if size > now {
            return Err(EngineError::invalid("audit-size-beyond-trail", format!("журнал аудиту має лише {now} записів, а не {size}")));
        }
        Ok(())
    }

    /// Appends the entry of a read of personal data; the read must not answer if this fails.
    pub async fn record(&self, access: &Access) -> Result<u64, EngineError> {
        Ok(record_access(&self.pool, access, self.clock.now()).await?)
    }

    /// Streams an export to `lines`: records the export itself, signs a checkpoint that covers
    /// it, then writes the header and the entries. A partner gets its own entries only.
    pub async fn export(
        &self,
        requester: &ExportRequester,
        request: ExportRequest,
        format: ExportFormat,
        lines: mpsc::Sender<String>,
    ) -> Result<u64, EngineError> {
        if let (Some(from), Some(to)) = (request.from, request.to) {
            if from >= to {
                return Err(EngineError::invalid("audit-export-range", "початок проміжку має бути раніше за його кінець"));
            }
        }
        let partner_id = match requester {
            ExportRequester::Partner { partner_id, .. } => Some(*partner_id),
            ExportRequester::Operator { .. } => request.partner_id,
        };
        let filter = ExportFilter {
            partner_id,
            citizen_digest: request.citizen.as_ref().map(|c| citizen_digest(&self.citizen_index, c.as_str())),
            from: request.from,
            to: request.to,
        };
        let (actor_role, actor_id) = match requester {
            ExportRequester::Partner { head, .. } => ("partner-head", head.to_string()),
            ExportRequester::Operator { name } => ("operator", name.clone()),
        };
        let mut facts = vec![("format", json!(if format == ExportFormat::Csv { "csv" } else { "jsonl" }))];
        if let Some(p) = filter.partner_id {
            facts.push(("filter_partner_id", json!(p.to_string())));
        }
        if let Some(from) = filter.from {
            facts.push(("filter_from", json!(from.to_rfc3339())));
        }
        if let Some(to) = filter.to {
            facts.push(("filter_to", json!(to.to_rfc3339())));
        }
        let committed = request.citizen.iter().map(|c| ("filter_citizen", c.to_string())).collect();
        let access = Access {
            kind: "access.export",
            partner_id: match requester {
                ExportRequester::Partner { partner_id, .. } => Some(*partner_id),
                ExportRequester::Operator { .. } => None,
            },
            share_request_id: None,
            actor_role,
            actor_id,
            facts,
            committed,
        };
        self.record(&access).await?;
        let checkpoint = self.checkpoint().await?;
        let log_key = self.log_key();
        let context = ExportContext {
            checkpoint: &checkpoint,
            log_key: &log_key,
            certificates: &self.certificates,
            seal: self.seal.as_ref(),
            now: self.clock.now(),
        };
        Ok(export(&self.pool, &filter, format, &context, lines).await?)
    }
}

//! The audit trail over HTTP: checkpoints and proofs for anyone (they are hashes, as in
//! Certificate Transparency), exports for a partner (its own entries) and for operators.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_projections::audit_trail::export::ExportFormat;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiQuery, Session};
use super::problem::ApiError;
use super::AppState;
use crate::app::audit::{ExportRequest, ExportRequester, HistoryRequest};
use crate::app::sessions::{OperatorRole, PartnerRole};
use crate::app::{Engine, EngineError};
use crate::schemas::mirrors;
use diia_qr_projections::history::ConsentHistory;

/// A signed checkpoint of the trail, in the formats of AUDIT-LOG.md.
#[derive(Serialize, ToSchema)]
pub struct CheckpointView {
    origin: String,
    size: u64,
    /// Standard base64 of the 32-byte root hash.
    root: String,
    /// The C2SP signed note.
    note: String,
    /// The note's body sealed as detached CMS (DER, base64).
    checkpoint_cms: String,
    /// The log's verifier key, `name+id+key`.
    log_key: String,
    signed_at: DateTime<Utc>,
}

/// The newest checkpoint, signed now if the trail grew since the last one.
#[utoipa::path(
    get,
    path = "/api/v1/audit/checkpoint",
    tag = "public",
    responses((status = 200, description = "The newest checkpoint, signed now if the trail grew", body = CheckpointView))
)]
pub async fn checkpoint(State(s): State<AppState>) -> Result<Json<CheckpointView>, ApiError> {
    let signed = s.engine.audit().checkpoint().await?;
    Ok(Json(CheckpointView {
        origin: signed.checkpoint.origin.clone(),
        size: signed.checkpoint.size,
        root: STANDARD.encode(signed.checkpoint.root),
        note: signed.note,
        checkpoint_cms: STANDARD.encode(signed.cms),
        log_key: s.engine.audit().log_key(),
        signed_at: signed.signed_at,
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    index: u64,
    /// The size of the checkpoint the proof is for.
    size: u64,
}

#[derive(Serialize, ToSchema)]
pub struct InclusionProofView {
    index: u64,
    size: u64,
    leaf_hash: String,
    proof: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit/proofs/inclusion",
    tag = "public",
    params(InclusionQuery),
    responses((status = 200, description = "The entry's leaf hash and its RFC 9162 inclusion proof", body = InclusionProofView))
)]
pub async fn inclusion_proof(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> Result<Json<InclusionProofView>, ApiError> {
    let (leaf, proof) = s.engine.audit().inclusion_proof(q.index, q.size).await?;
    Ok(Json(InclusionProofView {
        index: q.index,
        size: q.size,
        leaf_hash: STANDARD.encode(leaf),
        proof: proof.iter().map(|h| STANDARD.encode(h)).collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    from: u64,
    to: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ConsistencyProofView {
    from: u64,
    to: u64,
    proof: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit/proofs/consistency",
    tag = "public",
    params(ConsistencyQuery),
    responses((status = 200, description = "The RFC 9162 consistency proof between two sizes", body = ConsistencyProofView))
)]
pub async fn consistency_proof(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyProofView>, ApiError> {
    let proof = s.engine.audit().consistency_proof(q.from, q.to).await?;
    Ok(Json(ConsistencyProofView { from: q.from, to: q.to, proof: proof.iter().map(|h| STANDARD.encode(h)).collect() }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PartnerExportQuery {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    /// `jsonl` (verifiable, the default) or `csv` (for people).
    format: Option<String>,
}

/// The signed-in partner's own entries.
#[utoipa::path(
    get,
    path = "/api/v1/partner/audit-export",
    tag = "partner",
    params(PartnerExportQuery),
    security(("partner" = [])),
    responses((status = 200, description = "The partner's own entries with their proofs (JSON Lines) or as CSV, streamed", content((String = "application/x-ndjson"), (String = "text/csv"))))
)]
pub async fn partner_export(
    State(s): State<AppState>,
    Session(who): Session<PartnerRole>,
    ApiQuery(q): ApiQuery<PartnerExportQuery>,
) -> Result<Response, ApiError> {
    let requester = ExportRequester::Partner { partner_id: who.partner_id(), head: who.head.rnokpp.clone() };
    let request = ExportRequest { partner_id: None, citizen: None, from: q.from, to: q.to };
    stream_export(s.engine.clone(), requester, request, format_of(q.format.as_deref())?).await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OperatorExportQuery {
    partner: Option<Uuid>,
    /// A citizen's РНОКПП: the entries of their requests.
    rnokpp: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    format: Option<String>,
}

/// Any entries, by partner, citizen and time.
#[utoipa::path(
    get,
    path = "/api/v1/operator/audit-export",
    tag = "operator",
    params(OperatorExportQuery),
    security(("operator" = [])),
    responses((status = 200, description = "Entries by partner, citizen and time, with their proofs, streamed", content((String = "application/x-ndjson"), (String = "text/csv"))))
)]
pub async fn operator_export(
    State(s): State<AppState>,
    Session(operator): Session<OperatorRole>,
    ApiQuery(q): ApiQuery<OperatorExportQuery>,
) -> Result<Response, ApiError> {
    let citizen = q.rnokpp.as_deref().map(Rnokpp::parse).transpose().map_err(|e| EngineError::invalid("audit-export-rnokpp", e))?;
    let request = ExportRequest { partner_id: q.partner, citizen, from: q.from, to: q.to };
    stream_export(s.engine.clone(), ExportRequester::Operator { name: operator }, request, format_of(q.format.as_deref())?).await
}

fn format_of(format: Option<&str>) -> Result<ExportFormat, ApiError> {
    match format {
        None | Some("jsonl") => Ok(ExportFormat::JsonLines),
        Some("csv") => Ok(ExportFormat::Csv),
        Some(other) => Err(EngineError::invalid("audit-export-format", format!("формат «{other}» невідомий: jsonl або csv")).into()),
    }
}

/// Runs the export beside the response and streams its lines as they come. A refusal before
/// the first line (a bad range, an empty trail) is a problem response; a failure later ends the
/// stream early, which the export's sealed manifest then shows.
pub(crate) async fn stream_export(
    engine: Arc<Engine>,
    requester: ExportRequester,
    request: ExportRequest,
    format: ExportFormat,
) -> Result<Response, ApiError> {
    let (lines, mut received) = mpsc::channel::<String>(256);
    let task = tokio::spawn(async move {
        let result = engine.audit().export(&requester, request, format, lines).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, "audit export stopped");
        }
        result
    });
    let Some(first) = received.recv().await else {
        return match task.await {
            Ok(Err(e)) => Err(e.into()),
            _ => Err(EngineError::Internal("вивантаження не почалося".into()).into()),
        };
    };
    let rest = futures_util::stream::unfold(received, |mut received| async move {
        received.recv().await.map(|line| (Ok::<_, std::io::Error>(format!("{line}\n")), received))
    });
    let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(format!("{first}\n")) });
    let content_type = match format {
        ExportFormat::JsonLines => "application/x-ndjson; charset=utf-8",
        ExportFormat::Csv => "text/csv; charset=utf-8",
    };
    let name = match format {
        ExportFormat::JsonLines => "audit.jsonl",
        ExportFormat::Csv => "audit.csv",
    };
    Ok((
        [(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))],
        Body::from_stream(futures_util::StreamExt::chain(body, rest)),
    )
        .into_response())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PartnerHistoryQuery {
    /// The moment to replay to (RFC 3339); now when absent.
    as_of: Option<DateTime<Utc>>,
}

/// The signed-in partner's consent history, replayed from the log as of a moment.
#[utoipa::path(
    get,
    path = "/api/v1/partner/history",
    tag = "partner",
    params(PartnerHistoryQuery),
    security(("partner" = [])),
    responses((status = 200, description = "The partner's consent history replayed from the log", body = mirrors::ConsentHistory))
)]
pub async fn partner_history(
    State(s): State<AppState>,
    Session(who): Session<PartnerRole>,
    ApiQuery(q): ApiQuery<PartnerHistoryQuery>,
) -> Result<Json<ConsentHistory>, ApiError> {
    Ok(Json(s.engine.audit().history(&HistoryRequest::Partner(who.partner_id()), q.as_of, |_, _| {}).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OperatorHistoryQuery {
    partner: Option<Uuid>,
    rnokpp: Option<String>,
    as_of: Option<DateTime<Utc>>,
}

/// One partner's or one citizen's consent history, for operators and auditors; a citizen's is
/// a read of personal data, recorded in the trail.
#[utoipa::path(
    get,
    path = "/api/v1/operator/history",
    tag = "operator",
    params(OperatorHistoryQuery),
    security(("operator" = [])),
    responses((status = 200, description = "One partner's or citizen's consent history replayed from the log", body = mirrors::ConsentHistory))
)]
pub async fn operator_history(
    State(s): State<AppState>,
    Session(operator): Session<OperatorRole>,
    ApiQuery(q): ApiQuery<OperatorHistoryQuery>,
) -> Result<Json<ConsentHistory>, ApiError> {
    let request = match (q.partner, q.rnokpp.as_deref()) {
        (Some(partner), None) => HistoryRequest::Partner(partner),
        (None, Some(rnokpp)) => HistoryRequest::Citizen(Rnokpp::parse(rnokpp).map_err(|e| EngineError::invalid("history-rnokpp", e))?),
        _ => return Err(EngineError::invalid("history-subject", "вкажіть або partner, або rnokpp").into()),
    };
    Ok(Json(s.engine.audit().history_for_operator(&operator, &request, q.as_of).await?))
}

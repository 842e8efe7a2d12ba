//! The partner's side: onboarding, branches, services, QR codes and received shares.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use diia_qr_domain::branch::BranchAddress;
use diia_qr_domain::documents::DocumentType;
use diia_qr_domain::service::LegalBasis;
use diia_qr_projections::cabinet;
use diia_qr_projections::poster;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, PartnerSession};
use super::problem::ApiError;
use super::AppState;
use crate::engine::{offer_sha256, poster_content, status_uk, Engine, OFFER_TEXT, OFFER_VERSION};

type ApiResult<T> = Result<T, ApiError>;

pub async fn show(State(s): State<AppState>, PartnerSession(who): PartnerSession) -> ApiResult<Json<Value>> {
    let partner = s.engine.partner(&who).await?;
    Ok(Json(json!({
        "partner_id": who.partner_id(),
        "organisation_name": who.organisation_name,
        "registry_code": who.kind.registry_code(),
        "status": partner.status(),
        "status_uk": status_uk(partner.status()),
    })))
}

pub async fn register(State(s): State<AppState>, PartnerSession(who): PartnerSession) -> ApiResult<impl IntoResponse> {
    let id = s.engine.register_partner(&who).await?;
    Ok((StatusCode::CREATED, Json(json!({ "partner_id": id }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    email: String,
    phone: String,
    passport: String,
}

pub async fn fill_profile(
    State(s): State<AppState>,
    PartnerSession(who): PartnerSession,
    ApiJson(b): ApiJson<ProfileBody>,
) -> ApiResult<StatusCode> {
    s.engine.fill_profile(&who, &b.email, &b.phone, &b.passport).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn offer() -> Json<Value> {
    Json(json!({ "version": OFFER_VERSION, "sha256": offer_sha256(), "text": OFFER_TEXT }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferBody {
    version: String,
    sha256: String,
}

pub async fn accept_offer(
    State(s): State<AppState>,
    PartnerSession(who): PartnerSession,
    ApiJson(b): ApiJson<OfferBody>,
) -> ApiResult<StatusCode> {
    s.engine.accept_offer(&who, &b.version, &b.sha256).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn application(PartnerSession(who): PartnerSession) -> Json<Value> {
    Json(json!({ "text": Engine::accession_application(&who) }))
}

pub async fn sign_application(State(s): State<AppState>, PartnerSession(who): PartnerSession) -> ApiResult<StatusCode> {
    s.engine.sign_accession_application(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchBody {
    name: String,
    address: BranchAddress,
    email: String,
}

pub async fn create_branch(
    State(s): State<AppState>,
    PartnerSession(who): PartnerSession,
    ApiJson(b): ApiJson<BranchBody>,
) -> ApiResult<impl IntoResponse> {
    let id = s.engine.create_branch(&who, &b.name, b.address, &b.email).await?;
    Ok((StatusCode::CREATED, Json(json!({ "branch_id": id, "email_confirmation": "код підтвердження надіслано на вказану пошту" }))))
}

pub async fn branches(State(s): State<AppState>, PartnerSession(who): PartnerSession) -> ApiResult<Json<Value>> {
    let rows = cabinet::branches_of(&s.engine.pool, who.partner_id()).await.map_err(crate::engine::EngineError::from)?;
    Ok(Json(json!({ "branches": rows })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceBody {
    branch_id: Uuid,
    /// One or more purposes separated by commas.
    names: String,
    documents: Vec<String>,
    legal_basis: LegalBasisBody,
    retention_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasisBody {
    acknowledged: bool,
    statement: String,
}

pub async fn create_service(
    State(s): State<AppState>,
    PartnerSession(who): PartnerSession,
    ApiJson(b): ApiJson<ServiceBody>,
) -> ApiResult<impl IntoResponse> {
    let documents = b
        .documents
        .iter()
        .map(|code| {
            DocumentType::from_code(code).ok_or_else(|| {
                let known = DocumentType::ALL.map(|t| t.code()).join(", ");
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "document-type-unknown",
                    format!("невідомий тип документа «{code}»; можливі: {known}"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let legal_basis = LegalBasis { acknowledged: b.legal_basis.acknowledged, statement: b.legal_basis.statement };
    let id = s.engine.create_service(&who, b.branch_id, &b.names, documents, legal_basis, b.retention_days).await?;
    Ok((StatusCode::CREATED, Json(json!({ "service_id": id }))))
}

pub async fn services(State(s): State<AppState>, PartnerSession(who): PartnerSession) -> ApiResult<Json<Value>> {
    let rows = cabinet::services_of(&s.engine.pool, who.partner_id()).await.map_err(crate::engine::EngineError::from)?;
    Ok(Json(json!({ "services": rows })))
}

pub async fn issue_qr(
    State(s): State<AppState>,
    PartnerSession(who): PartnerSession,
    ApiPath(service_id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    let qr = s.engine.issue_qr(&who, service_id).await?;
    Ok((StatusCode::CREATED, Json(qr)))
}

pub async fn current_qr(
    State(s): State<AppState>,
    PartnerSession(who): PartnerSession,
    ApiPath(service_id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    let qr = s.engine.current_qr(&who, service_id).await?;
    let refused = cabinet::refused_scans_of(&s.engine.pool, service_id).await.map_err(crate::engine::EngineError::from)?;
    let refused: serde_json::Map<String, Value> = refused.into_iter().map(|(reason, n)| (reason, json!(n))).collect();
    let mut body = serde_json::to_value(qr).unwrap_or_default();
    body["refused_scans"] = Value::Object(refused);
    Ok(Json(body))
}

pub async fn deactivate_service(
    State(s): State<AppState>,
    PartnerSession(who): PartnerSession,
    ApiPath(service_id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    s.engine.deactivate_service(&who, service_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleQuery {
    scale: Option<usize>,
}

/// The QR alone as PNG; `?scale=` pixels per module (default 10).
pub async fn qr_png(
    State(s): State<AppState>,
    PartnerSession(who): PartnerSession,
    ApiPath(service_id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ScaleQuery>,
) -> ApiResult<impl IntoResponse> {
    let qr = s.engine.current_qr(&who, service_id).await?;
    let scale = q.scale.unwrap_or(10).clamp(1, 40);
    let png = diia_qr_projections::qr::qr_png(&qr.link, scale).map_err(render_error)?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png))
}

fn render_error(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "rendering failed");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "render-failed", "не вдалося сформувати файл")
}

/// The A4 poster as PDF (rendered off the async executor: it is CPU work).
pub async fn poster_pdf(
    State(s): State<AppState>,
    PartnerSession(who): PartnerSession,
    ApiPath(service_id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    let (qr, snapshot) = s.engine.poster(&who, service_id).await?;
    let pdf = tokio::task::spawn_blocking(move || poster::poster_pdf(&poster_content(&qr, &snapshot), chrono::Utc::now()))
        .await
        .map_err(render_error)?
        .map_err(render_error)?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf))
}

pub async fn poster_svg(
    State(s): State<AppState>,
    PartnerSession(who): PartnerSession,
    ApiPath(service_id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    let (qr, snapshot) = s.engine.poster(&who, service_id).await?;
    let svg = poster::poster_svg(&poster_content(&qr, &snapshot)).map_err(render_error)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg))
}

pub async fn revoke_qr(
    State(s): State<AppState>,
    PartnerSession(who): PartnerSession,
    ApiPath(service_id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    s.engine.revoke_qr(&who, service_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn qr_svg(
    State(s): State<AppState>,
    PartnerSession(who): PartnerSession,
    ApiPath(service_id): ApiPath<Uuid>,
) -> ApiResult<impl IntoResponse> {
    let qr = s.engine.current_qr(&who, service_id).await?;
    let svg = diia_qr_projections::qr::qr_svg(&qr.link).map_err(render_error)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg))
}

pub async fn shares(State(s): State<AppState>, PartnerSession(who): PartnerSession) -> ApiResult<Json<Value>> {
    let rows = cabinet::shares_received_by(&s.engine.pool, who.partner_id(), 200).await.map_err(crate::engine::EngineError::from)?;
    Ok(Json(json!({ "shares": rows })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    email: String,
}

pub async fn change_branch_email(
    State(s): State<AppState>,
    PartnerSession(who): PartnerSession,
    ApiPath(branch_id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<EmailBody>,
) -> ApiResult<StatusCode> {
    s.engine.change_branch_email(&who, branch_id, &b.email).await?;
    Ok(StatusCode::ACCEPTED)
}

//! The citizen's side, as the Diia app calls it: scan, choose, photo verification, consent with
//! Diia.Signature, send, and the sharing history.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use chrono::{DateTime, Utc};
use diia_qr_domain::documents::{DocumentCandidate, DocumentType};
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_domain::share_request::{DocumentChoice, ShareRequest, ShareStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Session};
use super::problem::ApiError;
use super::public::DocumentTitle;
use super::AppState;
use crate::app::qr_tokens::display_short_code;
use crate::app::sessions::CitizenRole;
use crate::app::ShareHistoryEntry;
use crate::schemas::{mirrors, DocumentTypeCode, ShareStatusName};

type ApiResult<T> = Result<T, ApiError>;
type Citizen = Session<CitizenRole>;

/// What the app shows for a request: who asks, for what, which documents, what is left to do.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareRequestView {
    share_request_id: Uuid,
    #[schema(value_type = ShareStatusName)]
    status: ShareStatus,
    history_label: &'static str,
    organisation_name: Option<String>,
    branch_name: Option<String>,
    branch_address: Option<String>,
    purposes: Option<Vec<String>>,
    retention_days: Option<u32>,
    qr_short_code: Option<String>,
    documents: Option<Vec<DocumentTitle>>,
    #[schema(value_type = Vec<mirrors::DocumentCandidate>)]
    candidates: Vec<DocumentCandidate>,
    #[schema(value_type = Vec<DocumentTypeCode>)]
    choice_needed: Vec<DocumentType>,
    expires_at: Option<DateTime<Utc>>,
}

impl ShareRequestView {
    fn of(id: Uuid, share: &ShareRequest) -> Self {
        let snapshot = share.snapshot();
        Self {
            share_request_id: id,
            status: share.status(),
            history_label: share.status().history_label_uk(),
            organisation_name: snapshot.map(|s| s.organisation_name.clone()),
            branch_name: snapshot.map(|s| s.branch_name.clone()),
            branch_address: snapshot.map(|s| s.branch_address.clone()),
            purposes: snapshot.map(|s| s.service_names.clone()),
            retention_days: snapshot.map(|s| s.retention_days),
            qr_short_code: snapshot.map(|s| display_short_code(&s.qr_short_code)),
            documents: snapshot.map(|s| DocumentTitle::all(&s.documents)),
            candidates: share.candidates().to_vec(),
            choice_needed: share.unchosen(),
            expires_at: share.expires_at(),
        }
    }
}

async fn view(s: &AppState, who: &Rnokpp, id: Uuid) -> ApiResult<Json<ShareRequestView>> {
    let share = s.engine.share_request(who, id).await?;
    Ok(Json(ShareRequestView::of(id, &share)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanBody {
    /// The scanned link, or the token alone.
    link: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/citizen/scans",
    tag = "citizen",
    request_body = ScanBody,
    security(("citizen" = [])),
    responses((status = 201, description = "A request opened from the scanned QR", body = ShareRequestView))
)]
pub async fn scan(
    State(s): State<AppState>,
    Session(who): Citizen,
    ApiJson(b): ApiJson<ScanBody>,
) -> ApiResult<(StatusCode, Json<ShareRequestView>)> {
    let (id, opened) = s.engine.scan(&who, &b.link).await?;
    Ok((StatusCode::CREATED, Json(ShareRequestView::of(id, &opened))))
}

#[utoipa::path(
    get,
    operation_id = "show_share_request",
    path = "/api/v1/citizen/share-requests/{id}",
    tag = "citizen",
    params(("id" = Uuid, Path, description = "The share request")),
    security(("citizen" = [])),
    responses((status = 200, description = "The request as the app shows it", body = ShareRequestView))
)]
pub async fn show(State(s): State<AppState>, Session(who): Citizen, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<ShareRequestView>> {
    view(&s, &who, id).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceBody {
    #[schema(value_type = Vec<mirrors::DocumentChoice>)]
    choices: Vec<DocumentChoice>,
}

#[utoipa::path(
    post,
    path = "/api/v1/citizen/share-requests/{id}/choices",
    tag = "citizen",
    params(("id" = Uuid, Path, description = "The share request")),
    request_body = ChoiceBody,
    security(("citizen" = [])),
    responses((status = 200, description = "Choices recorded", body = ShareRequestView))
)]
pub async fn choose(
    State(s): State<AppState>,
    Session(who): Citizen,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ChoiceBody>,
) -> ApiResult<Json<ShareRequestView>> {
    s.engine.choose_documents(&who, id, b.choices).await?;
    view(&s, &who, id).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhotoBody {
    /// The liveness provider's signed assertion for this request (compact JWS, EdDSA).
    assertion: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/citizen/share-requests/{id}/photo-verification",
    tag = "citizen",
    params(("id" = Uuid, Path, description = "The share request")),
    request_body = PhotoBody,
    security(("citizen" = [])),
    responses((status = 200, description = "The assertion verified the citizen", body = ShareRequestView))
)]
pub async fn verify_photo(
    State(s): State<AppState>,
    Session(who): Citizen,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<PhotoBody>,
) -> ApiResult<Json<ShareRequestView>> {
    s.engine.verify_photo(&who, id, &b.assertion).await?;
    view(&s, &who, id).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LivenessCheckBody {
    share_request_id: Uuid,
    /// The selfie, base64.
    photo_base64: String,
}

#[derive(Serialize, ToSchema)]
pub struct LivenessAssertion {
    assertion: String,
}

/// The development liveness provider (`--dev-sign-in` only): what the Diia app gets from the real one.
#[utoipa::path(
    post,
    path = "/api/v1/dev/liveness-checks",
    tag = "development",
    request_body = LivenessCheckBody,
    security(("citizen" = [])),
    responses((status = 201, description = "The provider's signed assertion", body = LivenessAssertion))
)]
pub async fn dev_liveness_check(
    State(s): State<AppState>,
    Session(who): Citizen,
    ApiJson(b): ApiJson<LivenessCheckBody>,
) -> ApiResult<(StatusCode, Json<LivenessAssertion>)> {
    s.engine.require_dev_sign_in()?;
    let photo = BASE64_STANDARD
        .decode(b.photo_base64.trim())
        .map_err(|_| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "photo-not-base64", "фото має бути в base64"))?;
    let assertion = s.engine.dev_liveness_check(&who, b.share_request_id, &photo).await?;
    Ok((StatusCode::CREATED, Json(LivenessAssertion { assertion })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// The Diia.Signature code.
    code: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/citizen/share-requests/{id}/confirmation",
    tag = "citizen",
    params(("id" = Uuid, Path, description = "The share request")),
    request_body = ConfirmBody,
    security(("citizen" = [])),
    responses((status = 200, description = "Consent signed with Diia.Signature", body = ShareRequestView))
)]
pub async fn confirm(
    State(s): State<AppState>,
    Session(who): Citizen,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ConfirmBody>,
) -> ApiResult<Json<ShareRequestView>> {
    s.engine.confirm(&who, id, &b.code).await?;
    view(&s, &who, id).await
}

#[utoipa::path(
    post,
    path = "/api/v1/citizen/share-requests/{id}/send",
    tag = "citizen",
    params(("id" = Uuid, Path, description = "The share request")),
    security(("citizen" = [])),
    responses((status = 200, description = "Sent: the copies are on their way", body = ShareRequestView))
)]
pub async fn send(State(s): State<AppState>, Session(who): Citizen, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<ShareRequestView>> {
    s.engine.send(&who, id).await?;
    view(&s, &who, id).await
}

#[utoipa::path(
    post,
    path = "/api/v1/citizen/share-requests/{id}/decline",
    tag = "citizen",
    params(("id" = Uuid, Path, description = "The share request")),
    security(("citizen" = [])),
    responses((status = 200, description = "Declined", body = ShareRequestView))
)]
pub async fn decline(State(s): State<AppState>, Session(who): Citizen, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<ShareRequestView>> {
    s.engine.decline(&who, id).await?;
    view(&s, &who, id).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct History {
    history: Vec<ShareHistoryEntry>,
}

#[utoipa::path(
    get,
    path = "/api/v1/citizen/history",
    tag = "citizen",
    security(("citizen" = [])),
    responses((status = 200, description = "The citizen's latest 200 requests, newest first", body = History))
)]
pub async fn history(State(s): State<AppState>, Session(who): Citizen) -> ApiResult<Json<History>> {
    Ok(Json(History { history: s.engine.history(&who).await? }))
}

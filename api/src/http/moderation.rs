//! The operators' desk: the moderation queue of branch and service names and the decisions on
//! them, and the partners' standing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, Session};
use super::problem::ApiError;
use super::AppState;
use crate::app::moderation::Decision;
use crate::app::sessions::OperatorRole;
use crate::schemas::mirrors;
use diia_qr_projections::views::moderation::{ModerationItem, PartnerOnRecord};

type Operator = Session<OperatorRole>;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// `pending` (the default: the queue), `approved` or `removed`.
    state: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ModerationQueue {
    #[schema(value_type = Vec<mirrors::ModerationItem>)]
    items: Vec<ModerationItem>,
}

/// New and changed names, oldest first: each serves while it waits.
#[utoipa::path(
    get,
    path = "/api/v1/operator/moderation",
    tag = "operator",
    params(QueueQuery),
    security(("operator" = [])),
    responses((status = 200, description = "Names in the state asked for, oldest submission first", body = ModerationQueue))
)]
pub async fn queue(
    State(s): State<AppState>,
    Session(_): Operator,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<ModerationQueue>, ApiError> {
    Ok(Json(ModerationQueue { items: s.engine.moderation_queue(q.state.as_deref()).await? }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalBody {
    /// The revision of the name the operator saw (from the queue).
    revision: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemovalBody {
    /// The revision of the name the operator saw (from the queue).
    revision: u32,
    /// Why: the partner receives it by e-mail.
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/operator/moderation/branches/{branch_id}/approval",
    tag = "operator",
    params(("branch_id" = Uuid, Path, description = "The branch")),
    request_body = ApprovalBody,
    security(("operator" = [])),
    responses(
        (status = 204, description = "The revision is approved"),
        (status = 409, description = "Renamed since (`moderation-revision-stale`), already approved or removed", body = super::openapi::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn approve_branch(
    State(s): State<AppState>,
    Session(operator): Operator,
    ApiPath(branch_id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ApprovalBody>,
) -> Result<StatusCode, ApiError> {
    s.engine.moderate_branch(&operator, branch_id, b.revision, Decision::Approve).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/operator/moderation/branches/{branch_id}/removal",
    tag = "operator",
    params(("branch_id" = Uuid, Path, description = "The branch")),
    request_body = RemovalBody,
    security(("operator" = [])),
    responses(
        (status = 204, description = "Removed: the QR codes of its services stop working, and the partner is told by e-mail"),
        (status = 409, description = "Renamed since (`moderation-revision-stale`) or already removed", body = super::openapi::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_branch(
    State(s): State<AppState>,
    Session(operator): Operator,
    ApiPath(branch_id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<RemovalBody>,
) -> Result<StatusCode, ApiError> {
    s.engine.moderate_branch(&operator, branch_id, b.revision, Decision::Remove { reason: b.reason }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/operator/moderation/services/{service_id}/approval",
    tag = "operator",
    params(("service_id" = Uuid, Path, description = "The service")),
    request_body = ApprovalBody,
    security(("operator" = [])),
    responses(
        (status = 204, description = "The revision is approved"),
        (status = 409, description = "Renamed since (`moderation-revision-stale`), already approved or removed", body = super::openapi::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn approve_service(
    State(s): State<AppState>,
    Session(operator): Operator,
    ApiPath(service_id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ApprovalBody>,
) -> Result<StatusCode, ApiError> {
    s.engine.moderate_service(&operator, service_id, b.revision, Decision::Approve).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/operator/moderation/services/{service_id}/removal",
    tag = "operator",
    params(("service_id" = Uuid, Path, description = "The service")),
    request_body = RemovalBody,
    security(("operator" = [])),
    responses(
        (status = 204, description = "Removed: its QR stops working, and the partner is told by e-mail"),
        (status = 409, description = "Renamed since (`moderation-revision-stale`) or already removed", body = super::openapi::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_service(
    State(s): State<AppState>,
    Session(operator): Operator,
    ApiPath(service_id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<RemovalBody>,
) -> Result<StatusCode, ApiError> {
    s.engine.moderate_service(&operator, service_id, b.revision, Decision::Remove { reason: b.reason }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PartnersQuery {
    /// `onboarding`, `active` or `suspended`; all when absent.
    status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Partners {
    #[schema(value_type = Vec<mirrors::PartnerOnRecord>)]
    partners: Vec<PartnerOnRecord>,
}

/// Partners and their standing, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/operator/partners",
    tag = "operator",
    params(PartnersQuery),
    security(("operator" = [])),
    responses((status = 200, description = "Partners, newest first", body = Partners))
)]
pub async fn partners(
    State(s): State<AppState>,
    Session(_): Operator,
    ApiQuery(q): ApiQuery<PartnersQuery>,
) -> Result<Json<Partners>, ApiError> {
    Ok(Json(Partners { partners: s.engine.partners_on_record(q.status.as_deref()).await? }))
}

//! The service's staff: development sign-ins (standing for КЕП, Diia and staff accounts) and
//! partner suspension.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Session};
use super::problem::ApiError;
use super::AppState;
use crate::app::sessions::OperatorRole;
use crate::app::{DevPartnerSignIn, Health, HealthStatus};
use crate::schemas::mirrors;
use diia_qr_projections::log::ProjectionStatus;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevPartnerSignInBody {
    /// `legal_entity` with `edrpou`, or `sole_proprietor` (the head's РНОКПП is the code).
    kind: String,
    #[serde(default)]
    edrpou: Option<String>,
    organisation_name: String,
    head_rnokpp: String,
    head_full_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct PartnerSessionCreated {
    token: String,
    partner_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct SessionCreated {
    token: String,
}

/// Development sign-in standing for the head's КЕП: it trusts the submitted certificate fields.
#[utoipa::path(
    post,
    path = "/api/v1/dev/partner-sessions",
    tag = "development",
    request_body = DevPartnerSignInBody,
    responses((status = 201, description = "Development only: a partner session for the submitted identity", body = PartnerSessionCreated))
)]
pub async fn dev_partner_session(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<DevPartnerSignInBody>,
) -> Result<(StatusCode, Json<PartnerSessionCreated>), ApiError> {
    let sign_in = DevPartnerSignIn {
        kind: b.kind,
        edrpou: b.edrpou,
        organisation_name: b.organisation_name,
        head_rnokpp: b.head_rnokpp,
        head_full_name: b.head_full_name,
    };
    let (token, partner_id) = s.engine.dev_partner_session(sign_in)?;
    Ok((StatusCode::CREATED, Json(PartnerSessionCreated { token, partner_id })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevCitizenSignInBody {
    rnokpp: String,
}

/// Development sign-in standing for the Diia app: any citizen the registry knows.
#[utoipa::path(
    post,
    path = "/api/v1/dev/citizen-sessions",
    tag = "development",
    request_body = DevCitizenSignInBody,
    responses((status = 201, description = "Development only: a session of a citizen the development registry knows", body = SessionCreated))
)]
pub async fn dev_citizen_session(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<DevCitizenSignInBody>,
) -> Result<(StatusCode, Json<SessionCreated>), ApiError> {
    let token = s.engine.dev_citizen_session(&b.rnokpp).await?;
    Ok((StatusCode::CREATED, Json(SessionCreated { token })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevOperatorSignInBody {
    name: String,
}

/// Development sign-in of the service's own staff.
#[utoipa::path(
    post,
    path = "/api/v1/dev/operator-sessions",
    tag = "development",
    request_body = DevOperatorSignInBody,
    responses((status = 201, description = "Development only: an operator session", body = SessionCreated))
)]
pub async fn dev_operator_session(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<DevOperatorSignInBody>,
) -> Result<(StatusCode, Json<SessionCreated>), ApiError> {
    let token = s.engine.dev_operator_session(&b.name)?;
    Ok((StatusCode::CREATED, Json(SessionCreated { token })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspensionBody {
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/operator/partners/{partner_id}/suspension",
    tag = "operator",
    params(("partner_id" = Uuid, Path, description = "The partner")),
    request_body = SuspensionBody,
    security(("operator" = [])),
    responses((status = 204, description = "Suspended: its QR codes stop working"))
)]
pub async fn suspend_partner(
    State(s): State<AppState>,
    Session(operator): Session<OperatorRole>,
    ApiPath(partner_id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<SuspensionBody>,
) -> Result<StatusCode, ApiError> {
    s.engine.suspend_partner(&operator, partner_id, &b.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/api/v1/operator/partners/{partner_id}/suspension",
    tag = "operator",
    params(("partner_id" = Uuid, Path, description = "The partner")),
    security(("operator" = [])),
    responses((status = 204, description = "Reinstated"))
)]
pub async fn reinstate_partner(
    State(s): State<AppState>,
    Session(operator): Session<OperatorRole>,
    ApiPath(partner_id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    s.engine.reinstate_partner(&operator, partner_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every projection's position, lag and last error.
#[utoipa::path(
    get,
    path = "/api/v1/operator/projections",
    tag = "operator",
    security(("operator" = [])),
    responses((status = 200, description = "Every projection's position, lag and last error", body = Vec<mirrors::ProjectionStatus>))
)]
pub async fn projections(State(s): State<AppState>, Session(_): Session<OperatorRole>) -> Result<Json<Vec<ProjectionStatus>>, ApiError> {
    Ok(Json(s.engine.projection_status().await?))
}

/// Whether the engine serves and its projections keep up; 503 when the database does not answer.
#[utoipa::path(
    get,
    path = "/health",
    tag = "public",
    responses(
        (status = 200, description = "Serving; `degraded` when a projection is halted or failing", body = Health),
        (status = 503, description = "The database does not answer", body = Health)
    )
)]
pub async fn health(State(s): State<AppState>) -> (StatusCode, Json<Health>) {
    let health = s.engine.health().await;
    let status = if health.status == HealthStatus::Unavailable { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (status, Json(health))
}

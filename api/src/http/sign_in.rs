//! Signing in and out: a partner's head signs a one-time challenge with the КЕП; any session
//! can be ended by its holder.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{bearer_token, ApiJson};
use super::problem::ApiError;
use super::AppState;
use crate::app::sign_in::{OperatorSignedIn, PartnerSignedIn, SignInChallenge};

#[utoipa::path(
    post,
    path = "/api/v1/partner/sign-in/challenge",
    tag = "partner",
    responses((status = 201, description = "A one-time text to sign with the head's КЕП within five minutes", body = SignInChallenge))
)]
pub async fn challenge(State(s): State<AppState>) -> Result<(StatusCode, Json<SignInChallenge>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.engine.kep_challenge().await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KepSignInBody {
    challenge_id: Uuid,
    /// A CMS SignedData (DER, base64) over the challenge's `text`, detached, with the signer's
    /// certificate and chain embedded (`diia-qr kep sign-challenge` makes one).
    signature_base64: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/partner/sign-in",
    tag = "partner",
    request_body = KepSignInBody,
    responses(
        (status = 201, description = "Signed in: who the certificate names, and the session", body = PartnerSignedIn),
        (status = 401, description = "Refused, with the reason: a revoked, expired or untrusted certificate, a signature over other bytes, an unknown, used or expired challenge", body = super::openapi::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign_in(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<KepSignInBody>,
) -> Result<(StatusCode, Json<PartnerSignedIn>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.engine.kep_sign_in(b.challenge_id, &b.signature_base64).await?)))
}

#[utoipa::path(
    post,
    path = "/api/v1/operator/sign-in/challenge",
    tag = "operator",
    responses((status = 201, description = "A one-time text for an operator to sign with their КЕП within five minutes", body = SignInChallenge))
)]
pub async fn operator_challenge(State(s): State<AppState>) -> Result<(StatusCode, Json<SignInChallenge>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.engine.operator_kep_challenge().await?)))
}

#[utoipa::path(
    post,
    path = "/api/v1/operator/sign-in",
    tag = "operator",
    request_body = KepSignInBody,
    responses(
        (status = 201, description = "Signed in as an operator: the certificate's holder is one the configuration names", body = OperatorSignedIn),
        (status = 401, description = "Refused, with the reason: as a partner's sign-in, or the holder is not an operator (`kep-not-an-operator`)", body = super::openapi::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn operator_sign_in(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<KepSignInBody>,
) -> Result<(StatusCode, Json<OperatorSignedIn>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.engine.operator_kep_sign_in(b.challenge_id, &b.signature_base64).await?)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "public",
    security(("partner" = []), ("citizen" = []), ("operator" = [])),
    responses((status = 204, description = "The session is ended: its token is refused from now on"))
)]
pub async fn sign_out(State(s): State<AppState>, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    s.engine.end_session(bearer_token(&headers)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

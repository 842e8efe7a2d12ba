//! Verification of copies, for anyone: no cabinet, no sign-in. An API for programs, a page for
//! people (also where the QR printed on each copy leads).

use axum::extract::State;
use axum::http::StatusCode;
use std::sync::LazyLock;

use axum::response::Response;
use axum::Json;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use diia_qr_projections::verification::{CopyVerification, IssuedCopy};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::edge::{page_policy, Page};
use super::extract::{ApiJson, ApiPath};
use super::problem::ApiError;
use super::AppState;
use crate::schemas::mirrors;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationBody {
    pdf_base64: String,
    /// The `.p7s` that came with the copy. Without it the registry of issued copies alone says
    /// whether these bytes were issued.
    #[serde(default)]
    p7s_base64: Option<String>,
    /// ЄДРПОУ (or РНОКПП of a ФОП) of the organisation presenting the copy, to compare with the
    /// addressee.
    #[serde(default)]
    presented_by: Option<String>,
}

fn decode(field: &'static str, value: &str) -> Result<Vec<u8>, ApiError> {
    BASE64_STANDARD.decode(value.trim()).map_err(|_| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "verification-input-not-base64", format!("поле {field} має бути в base64"))
    })
}

/// The verdict is the answer, whatever it is: an altered copy is a 200 with `genuine: false`.
#[utoipa::path(
    post,
    path = "/api/v1/copies/verification",
    tag = "public",
    request_body = VerificationBody,
    responses((status = 200, description = "The verdict, whatever it is: an altered copy is `genuine: false`", body = mirrors::CopyVerification))
)]
pub async fn verify(State(s): State<AppState>, ApiJson(b): ApiJson<VerificationBody>) -> Result<Json<CopyVerification>, ApiError> {
    let pdf = decode("pdf_base64", &b.pdf_base64)?;
    let p7s = b.p7s_base64.as_deref().map(|p| decode("p7s_base64", p)).transpose()?;
    Ok(Json(s.engine.verify_copy(&pdf, p7s.as_deref(), b.presented_by.as_deref()).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/copies/{copy_id}",
    tag = "public",
    params(("copy_id" = Uuid, Path, description = "The copy's id, printed on it")),
    responses((status = 200, description = "What the registry of issued copies says about it", body = mirrors::IssuedCopy))
)]
pub async fn issued_copy(State(s): State<AppState>, ApiPath(copy_id): ApiPath<Uuid>) -> Result<Json<IssuedCopy>, ApiError> {
    Ok(Json(s.engine.issued_copy(copy_id).await?))
}

#[utoipa::path(
    get,
    path = "/verify",
    tag = "public",
    responses((status = 200, description = "The verification page for people", body = String, content_type = "text/html"))
)]
pub async fn page() -> Response {
    VERIFY_PAGE.respond()
}

static VERIFY_PAGE: Page = Page { html: include_str!("verify.html"), policy: LazyLock::new(|| page_policy(include_str!("verify.html"))) };

#[utoipa::path(
    get,
    path = "/verify/{copy_id}",
    tag = "public",
    params(("copy_id" = Uuid, Path, description = "The copy's id: where the QR printed on each copy leads")),
    responses((status = 200, description = "The verification page for one copy", body = String, content_type = "text/html"))
)]
pub async fn page_for_copy(ApiPath(_copy_id): ApiPath<Uuid>) -> Response {
    VERIFY_PAGE.respond()
}

//! What anyone may call without signing in: the mailbox owner's confirmation, the published
//! certificates, the QR link's landing page and its preview, the short link.

use std::sync::LazyLock;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use diia_qr_domain::documents::DocumentType;
use diia_qr_domain::share_request::ShareSnapshot;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::edge::{page_policy, Page};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::problem::ApiError;
use super::AppState;
use crate::app::qr_tokens::display_short_code;
use crate::schemas::DocumentTypeCode;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailConfirmationBody {
    branch_id: uuid::Uuid,
    code: String,
}

/// Whoever holds the mailbox confirms it: no partner session needed, the code is the proof.
#[utoipa::path(
    post,
    path = "/api/v1/branch-email-confirmations",
    tag = "public",
    request_body = EmailConfirmationBody,
    responses((status = 204, description = "The mailbox is confirmed: copies may go to it"))
)]
pub async fn confirm_branch_email(State(s): State<AppState>, ApiJson(b): ApiJson<EmailConfirmationBody>) -> Result<StatusCode, ApiError> {
    s.engine.confirm_branch_email(b.branch_id, &b.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/ca.pem",
    tag = "public",
    responses((status = 200, description = "The trust anchors that verify the copies' seal", body = String, content_type = "application/x-pem-file"))
)]
pub async fn ca_pem(State(s): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/x-pem-file")], s.engine.ca_pem().to_string())
}

#[utoipa::path(
    get,
    path = "/api/v1/seal-certificates.pem",
    tag = "public",
    responses((status = 200, description = "The service's seal certificates, current first, then retired ones: the only signers of a genuine copy, to pin offline", body = String, content_type = "application/x-pem-file"))
)]
pub async fn seal_certificates_pem(State(s): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/x-pem-file")], s.engine.seal_certificates_pem().to_string())
}

/// A document type with its Ukrainian title, as the app and the landing page list it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentTitle {
    #[serde(rename = "type")]
    #[schema(value_type = DocumentTypeCode)]
    pub document_type: DocumentType,
    pub title: &'static str,
}

impl DocumentTitle {
    pub fn all(documents: &[DocumentType]) -> Vec<Self> {
        documents.iter().map(|&d| Self { document_type: d, title: d.title_uk() }).collect()
    }
}

/// Who asks for what through a QR, before anything is shared.
#[derive(Debug, Serialize, ToSchema)]
pub struct QrPreview {
    organisation_name: String,
    branch_name: String,
    branch_address: String,
    purposes: Vec<String>,
    documents: Vec<DocumentTitle>,
    short_code: String,
}

impl From<ShareSnapshot> for QrPreview {
    fn from(snap: ShareSnapshot) -> Self {
        Self {
            documents: DocumentTitle::all(&snap.documents),
            short_code: display_short_code(&snap.qr_short_code),
            organisation_name: snap.organisation_name,
            branch_name: snap.branch_name,
            branch_address: snap.branch_address,
            purposes: snap.service_names,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// A QR link, its token, a short link or a short code.
    link: String,
}

/// What a QR leads to, without opening a request: the landing page shows it.
#[utoipa::path(
    get,
    path = "/api/v1/qr-preview",
    tag = "public",
    params(PreviewQuery),
    responses((status = 200, description = "Who asks for what through this QR", body = QrPreview))
)]
pub async fn qr_preview(State(s): State<AppState>, ApiQuery(q): ApiQuery<PreviewQuery>) -> Result<Json<QrPreview>, ApiError> {
    Ok(Json(s.engine.preview_qr(&q.link).await?.into()))
}

/// A typed short link leads to the same page as the QR's own link.
#[utoipa::path(
    get,
    path = "/q/{code}",
    tag = "public",
    params(("code" = String, Path, description = "The short code printed beside the QR, `XXXX-XXXX` or without the dash")),
    responses((status = 303, description = "To the QR's own link", headers(("location" = String, description = "The QR link"))))
)]
pub async fn short_link(State(s): State<AppState>, ApiPath(code): ApiPath<String>) -> Result<Redirect, ApiError> {
    let target = s.engine.qr_link_for_short_code(&code).await?;
    Ok(Redirect::to(&target))
}

/// Where a QR link leads in a browser: who asks for what, the code to compare, and how to share
/// with the Diia app. Details are filled in by script from the preview API, as text, never HTML.
#[utoipa::path(
    get,
    path = "/qr/v1/{token}",
    tag = "public",
    params(("token" = String, Path, description = "The QR's token")),
    responses((status = 200, description = "The landing page (its details come from `/api/v1/qr-preview`)", body = String, content_type = "text/html"))
)]
pub async fn qr_landing(ApiPath(_token): ApiPath<String>) -> Response {
    QR_LANDING.respond()
}

static QR_LANDING: Page =
    Page { html: include_str!("qr_landing.html"), policy: LazyLock::new(|| page_policy(include_str!("qr_landing.html"))) };

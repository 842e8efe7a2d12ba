//! The HTTP API (JSON; errors as problem details): the partner side, the citizen side, and the
//! public pieces (CA certificates, the QR link's landing page, health).

mod citizen;
pub mod extract;
mod partner;
pub mod problem;
mod verify;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde::Deserialize;

use crate::engine::Engine;
use extract::{citizen_session_token, partner_session_token, ApiJson, ApiPath};
use problem::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    /// The trust anchors that verify the copies' seal, as PEM.
    pub ca_pem: Arc<String>,
    /// The same anchors, parsed.
    pub trust_anchors: Arc<Vec<openssl::x509::X509>>,
}

/// Bodies larger than this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn router(state: AppState) -> Router {
    let partner = Router::new()
        .route("/", get(partner::show))
        .route("/registration", post(partner::register))
        .route("/profile", put(partner::fill_profile))
        .route("/offer", get(partner::offer))
        .route("/offer-acceptance", post(partner::accept_offer))
        .route("/accession-application", get(partner::application).post(partner::sign_application))
        .route("/branches", get(partner::branches).post(partner::create_branch))
        .route("/branches/{branch_id}/email", put(partner::change_branch_email))
        .route("/services", get(partner::services).post(partner::create_service))
        .route("/services/{service_id}/qr", get(partner::current_qr).post(partner::issue_qr).delete(partner::revoke_qr))
        .route("/services/{service_id}", axum::routing::delete(partner::deactivate_service))
        .route("/services/{service_id}/qr.svg", get(partner::qr_svg))
        .route("/services/{service_id}/qr.png", get(partner::qr_png))
        .route("/services/{service_id}/poster.pdf", get(partner::poster_pdf))
        .route("/services/{service_id}/poster.svg", get(partner::poster_svg))
        .route("/shares", get(partner::shares));
    let citizen = Router::new()
        .route("/scans", post(citizen::scan))
        .route("/share-requests/{id}", get(citizen::show))
        .route("/share-requests/{id}/choices", post(citizen::choose))
        .route("/share-requests/{id}/photo-verification", post(citizen::verify_photo))
        .route("/share-requests/{id}/confirmation", post(citizen::confirm))
        .route("/share-requests/{id}/send", post(citizen::send))
        .route("/share-requests/{id}/decline", post(citizen::decline))
        .route("/history", get(citizen::history));
    Router::new()
        .nest("/api/v1/partner", partner)
        .nest("/api/v1/citizen", citizen)
        .route("/api/v1/branch-email-confirmations", post(confirm_branch_email))
        .route("/api/v1/dev/partner-sessions", post(dev_partner_session))
        .route("/api/v1/dev/citizen-sessions", post(dev_citizen_session))
        .route("/api/v1/dev/operator-sessions", post(dev_operator_session))
        .route("/api/v1/operator/partners/{partner_id}/suspension", post(suspend_partner).delete(reinstate_partner))
        .route("/api/v1/ca.pem", get(ca_pem))
        .route("/api/v1/copies/verification", post(verify::verify))
        .route("/api/v1/copies/{copy_id}", get(verify::issued_copy))
        .route("/verify", get(verify::page))
        .route("/verify/{copy_id}", get(verify::page_for_copy))
        .route("/api/v1/qr-preview", get(qr_preview))
        .route("/qr/v1/{token}", get(qr_landing))
        .route("/q/{code}", get(short_link))
        .route("/health", get(|| async { "ok" }))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "route-not-found", "такої адреси в API немає") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "цей метод не підтримується за цією адресою")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One line per request, inside a span that carries the method and path.
async fn log_request(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let span = tracing::info_span!("http", %method, %path);
    let started = Instant::now();
    let response = {
        let _enter = span.enter();
        next.run(request)
    }
    .await;
    let status = response.status().as_u16();
    let _enter = span.enter();
    if status >= 500 {
        tracing::error!(status, elapsed_ms = started.elapsed().as_millis() as u64, "request failed");
    } else {
        tracing::info!(status, elapsed_ms = started.elapsed().as_millis() as u64, "request");
    }
    response
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailConfirmation {
    branch_id: uuid::Uuid,
    code: String,
}

/// Whoever holds the mailbox confirms it: no partner session needed, the code is the proof.
async fn confirm_branch_email(State(s): State<AppState>, ApiJson(body): ApiJson<EmailConfirmation>) -> Result<StatusCode, ApiError> {
    s.engine.confirm_branch_email(body.branch_id, &body.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DevPartnerSignIn {
    /// `legal_entity` with `edrpou`, or `sole_proprietor` (the head's РНОКПП is the code).
    kind: String,
    #[serde(default)]
    edrpou: Option<String>,
    organisation_name: String,
    head_rnokpp: String,
    head_full_name: String,
}

/// Development sign-in standing for the head's КЕП: it trusts the submitted certificate fields.
async fn dev_partner_session(State(s): State<AppState>, ApiJson(body): ApiJson<DevPartnerSignIn>) -> Result<impl IntoResponse, ApiError> {
    use diia_qr_domain::identifiers::{Edrpou, Rnokpp};
    use diia_qr_domain::partner::{Head, PartnerKind};
    let invalid = |e: diia_qr_domain::identifiers::IdentifierError| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "identifier-invalid", e.to_string())
    };
    let rnokpp = Rnokpp::parse(&body.head_rnokpp).map_err(invalid)?;
    let kind = match body.kind.as_str() {
        "legal_entity" => {
            let edrpou = body.edrpou.as_deref().ok_or_else(|| {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "identifier-invalid", "для юридичної особи потрібен ЄДРПОУ")
            })?;
            PartnerKind::LegalEntity { edrpou: Edrpou::parse(edrpou).map_err(invalid)? }
        }
        "sole_proprietor" => PartnerKind::SoleProprietor { rnokpp: rnokpp.clone() },
        other => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "partner-kind-invalid",
                format!("невідомий вид партнера «{other}»: legal_entity або sole_proprietor"),
            ))
        }
    };
    let head_full_name = body.head_full_name.trim().to_string();
    if head_full_name.is_empty() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "head-name-empty", "вкажіть ПІБ керівника"));
    }
    let identity = crate::engine::PartnerIdentity {
        kind,
        organisation_name: body.organisation_name,
        head: Head { rnokpp, full_name: head_full_name },
    };
    let partner_id = identity.partner_id();
    let token = partner_session_token(s.engine.secret(), identity);
    Ok((StatusCode::CREATED, axum::Json(serde_json::json!({ "token": token, "partner_id": partner_id }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DevCitizenSignIn {
    rnokpp: String,
}

/// Development sign-in standing for the Diia app: any citizen the registry knows.
async fn dev_citizen_session(State(s): State<AppState>, ApiJson(body): ApiJson<DevCitizenSignIn>) -> Result<impl IntoResponse, ApiError> {
    let rnokpp = diia_qr_domain::identifiers::Rnokpp::parse(&body.rnokpp)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "identifier-invalid", e.to_string()))?;
    s.engine.known_citizen(&rnokpp).await?;
    let token = citizen_session_token(s.engine.secret(), rnokpp);
    Ok((StatusCode::CREATED, axum::Json(serde_json::json!({ "token": token }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DevOperatorSignIn {
    name: String,
}

/// Development sign-in of the service's own staff.
async fn dev_operator_session(State(s): State<AppState>, ApiJson(body): ApiJson<DevOperatorSignIn>) -> Result<impl IntoResponse, ApiError> {
    let name = body.name.trim().to_string();
    if name.is_empty() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "operator-name-empty", "вкажіть ім'я оператора"));
    }
    let token = extract::operator_session_token(s.engine.secret(), name);
    Ok((StatusCode::CREATED, axum::Json(serde_json::json!({ "token": token }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuspensionBody {
    reason: String,
}

async fn suspend_partner(
    State(s): State<AppState>,
    extract::OperatorSession(operator): extract::OperatorSession,
    ApiPath(partner_id): ApiPath<uuid::Uuid>,
    ApiJson(body): ApiJson<SuspensionBody>,
) -> Result<StatusCode, ApiError> {
    s.engine.suspend_partner(&operator, partner_id, &body.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reinstate_partner(
    State(s): State<AppState>,
    extract::OperatorSession(operator): extract::OperatorSession,
    ApiPath(partner_id): ApiPath<uuid::Uuid>,
) -> Result<StatusCode, ApiError> {
    s.engine.reinstate_partner(&operator, partner_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn ca_pem(State(s): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/x-pem-file")], s.ca_pem.as_str().to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewQuery {
    /// A QR link, its token, a short link or a short code.
    link: String,
}

/// What a QR leads to, without opening a request: the landing page shows it.
async fn qr_preview(
    State(s): State<AppState>,
    extract::ApiQuery(q): extract::ApiQuery<PreviewQuery>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let snap = s.engine.preview_qr(&q.link).await?;
    Ok(axum::Json(serde_json::json!({
        "organisation_name": snap.organisation_name,
        "branch_name": snap.branch_name,
        "branch_address": snap.branch_address,
        "purposes": snap.service_names,
        "documents": snap.documents.iter().map(|d| serde_json::json!({ "type": d, "title": d.title_uk() })).collect::<Vec<_>>(),
        "short_code": crate::engine::display_short_code(&snap.qr_short_code),
    })))
}

/// A typed short link leads to the same page as the QR's own link.
async fn short_link(State(s): State<AppState>, ApiPath(code): ApiPath<String>) -> Result<axum::response::Redirect, ApiError> {
    let target = s.engine.qr_link_for_short_code(&code).await?;
    Ok(axum::response::Redirect::to(&target))
}

/// Where a QR link leads in a browser: who asks for what, the code to compare, and how to share
/// with the Diia app. Details are filled in by script from the preview API, as text, never HTML.
async fn qr_landing(ApiPath(_token): ApiPath<String>) -> Html<&'static str> {
    Html(include_str!("qr_landing.html"))
}

//! The HTTP API (JSON; errors as problem details). Handlers parse the request, call one
//! application-layer method and answer with that endpoint's response type; nothing here touches
//! the database or builds JSON by hand. One module per caller: `partner`, `citizen`, `operator`
//! (and the development sign-ins), `public` (no sign-in), `verify` (copies).

mod audit;
mod citizen;
pub mod extract;
mod operator;
mod partner;
pub mod problem;
mod public;
mod search;
mod verify;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::app::Engine;
use problem::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
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
        .route("/services/{service_id}", delete(partner::deactivate_service))
        .route("/services/{service_id}/qr.svg", get(partner::qr_svg))
        .route("/services/{service_id}/qr.png", get(partner::qr_png))
        .route("/services/{service_id}/poster.pdf", get(partner::poster_pdf))
        .route("/services/{service_id}/poster.svg", get(partner::poster_svg))
        .route("/shares", get(partner::shares))
        .route("/shares/{id}/copies", get(partner::received_copies))
        .route("/shares/{id}/copies/{file}", get(partner::download_copy))
        .route("/documents", get(search::search))
        .route("/audit-export", get(audit::partner_export))
        .route("/history", get(audit::partner_history));
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
        .route("/api/v1/branch-email-confirmations", post(public::confirm_branch_email))
        .route("/api/v1/dev/partner-sessions", post(operator::dev_partner_session))
        .route("/api/v1/dev/citizen-sessions", post(operator::dev_citizen_session))
        .route("/api/v1/dev/operator-sessions", post(operator::dev_operator_session))
        .route("/api/v1/operator/partners/{partner_id}/suspension", post(operator::suspend_partner).delete(operator::reinstate_partner))
        .route("/api/v1/ca.pem", get(public::ca_pem))
        .route("/api/v1/copies/verification", post(verify::verify))
        .route("/api/v1/copies/{copy_id}", get(verify::issued_copy))
        .route("/verify", get(verify::page))
        .route("/verify/{copy_id}", get(verify::page_for_copy))
        .route("/api/v1/qr-preview", get(public::qr_preview))
        .route("/qr/v1/{token}", get(public::qr_landing))
        .route("/q/{code}", get(public::short_link))
        .route("/api/v1/operator/projections", get(operator::projections))
        .route("/api/v1/operator/audit-export", get(audit::operator_export))
        .route("/api/v1/operator/history", get(audit::operator_history))
        .route("/api/v1/audit/checkpoint", get(audit::checkpoint))
        .route("/api/v1/audit/proofs/inclusion", get(audit::inclusion_proof))
        .route("/api/v1/audit/proofs/consistency", get(audit::consistency_proof))
        .route("/health", get(operator::health))
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

/// A downloaded file: its media type and bytes.
struct File(crate::app::Rendered);

impl axum::response::IntoResponse for File {
    fn into_response(self) -> Response {
        ([(axum::http::header::CONTENT_TYPE, self.0.content_type)], self.0.bytes).into_response()
    }
}

//! The HTTP API (JSON; errors as problem details). Handlers parse the request, call one
//! application-layer method and answer with that endpoint's response type; nothing here touches
//! the database or builds JSON by hand. One module per caller: `partner`, `citizen`, `operator`
//! (and the development sign-ins), `public` (no sign-in), `verify` (copies), `cabinet` (the
//! partner's overview and details), `openapi` (this API's own description and its docs page).

pub(crate) mod audit;
mod cabinet;
mod citizen;
pub mod edge;
pub mod extract;
pub mod metrics;
mod moderation;
pub mod openapi;
mod operator;
mod partner;
pub mod problem;
mod public;
pub(crate) mod search;
mod sign_in;
mod verify;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

use crate::app::Engine;
use problem::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub metrics: Arc<metrics::Metrics>,
}

/// Bodies larger than this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// One route: a method on a path, and its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    handler: MethodRouter<AppState>,
}

fn route<H: Handler<T, AppState>, T: 'static>(method: Method, path: &'static str, handler: H) -> Route {
    let filter = MethodFilter::try_from(method.clone()).expect("a method axum routes");
    Route { method, path, handler: on(filter, handler) }
}

/// Every route the API serves: the router is built from this table alone, and a test holds the
/// OpenAPI document (`openapi::ApiDoc`) to exactly these methods and paths.
pub fn routes() -> Vec<Route> {
    use Method as M;
    vec![
        route(M::POST, "/api/v1/partner/sign-in/challenge", sign_in::challenge),
        route(M::POST, "/api/v1/partner/sign-in", sign_in::sign_in),
        route(M::DELETE, "/api/v1/session", sign_in::sign_out),
        route(M::GET, "/api/v1/partner", partner::show),
        route(M::POST, "/api/v1/partner/registration", partner::register),
        route(M::PUT, "/api/v1/partner/profile", partner::fill_profile),
        route(M::GET, "/api/v1/partner/offer", partner::offer),
        route(M::POST, "/api/v1/partner/offer-acceptance", partner::accept_offer),
        route(M::GET, "/api/v1/partner/accession-application", partner::application),
        route(M::POST, "/api/v1/partner/accession-application", partner::sign_application),
        route(M::GET, "/api/v1/partner/accession-application.pdf", partner::application_pdf),
        route(M::GET, "/api/v1/partner/overview", cabinet::overview),
        route(M::GET, "/api/v1/partner/branches", partner::branches),
        route(M::POST, "/api/v1/partner/branches", partner::create_branch),
        route(M::GET, "/api/v1/partner/branches/{branch_id}", cabinet::branch_details),
        route(M::PUT, "/api/v1/partner/branches/{branch_id}/email", partner::change_branch_email),
        route(M::PUT, "/api/v1/partner/branches/{branch_id}/name", partner::rename_branch),
        route(M::GET, "/api/v1/partner/services", partner::services),
        route(M::POST, "/api/v1/partner/services", partner::create_service),
        route(M::GET, "/api/v1/partner/services/{service_id}", cabinet::service_details),
        route(M::DELETE, "/api/v1/partner/services/{service_id}", partner::deactivate_service),
        route(M::PUT, "/api/v1/partner/services/{service_id}/names", partner::rename_service),
        route(M::GET, "/api/v1/partner/services/{service_id}/qr", partner::current_qr),
        route(M::POST, "/api/v1/partner/services/{service_id}/qr", partner::issue_qr),
        route(M::DELETE, "/api/v1/partner/services/{service_id}/qr", partner::revoke_qr),
        route(M::GET, "/api/v1/partner/services/{service_id}/qr.svg", partner::qr_svg),
        route(M::GET, "/api/v1/partner/services/{service_id}/qr.png", partner::qr_png),
        route(M::GET, "/api/v1/partner/services/{service_id}/poster.pdf", partner::poster_pdf),
        route(M::GET, "/api/v1/partner/services/{service_id}/poster.svg", partner::poster_svg),
        route(M::GET, "/api/v1/partner/shares", partner::shares),
        route(M::GET, "/api/v1/partner/shares/{id}", cabinet::share_details),
        route(M::GET, "/api/v1/partner/shares/{id}/copies", partner::received_copies),
        route(M::GET, "/api/v1/partner/shares/{id}/copies/{file}", partner::download_copy),
        route(M::GET, "/api/v1/partner/documents", search::search),
        route(M::GET, "/api/v1/partner/audit-export", audit::partner_export),
        route(M::GET, "/api/v1/partner/history", audit::partner_history),
        route(M::POST, "/api/v1/citizen/scans", citizen::scan),
        route(M::GET, "/api/v1/citizen/share-requests/{id}", citizen::show),
        route(M::POST, "/api/v1/citizen/share-requests/{id}/choices", citizen::choose),
        route(M::POST, "/api/v1/citizen/share-requests/{id}/photo-verification", citizen::verify_photo),
        route(M::POST, "/api/v1/citizen/share-requests/{id}/confirmation", citizen::confirm),
        route(M::POST, "/api/v1/citizen/share-requests/{id}/send", citizen::send),
        route(M::POST, "/api/v1/citizen/share-requests/{id}/decline", citizen::decline),
        route(M::GET, "/api/v1/citizen/history", citizen::history),
        route(M::POST, "/api/v1/branch-email-confirmations", public::confirm_branch_email),
        route(M::POST, "/api/v1/dev/partner-sessions", operator::dev_partner_session),
        route(M::POST, "/api/v1/dev/citizen-sessions", operator::dev_citizen_session),
        route(M::POST, "/api/v1/dev/liveness-checks", citizen::dev_liveness_check),
        route(M::POST, "/api/v1/dev/operator-sessions", operator::dev_operator_session),
        route(M::POST, "/api/v1/operator/sign-in/challenge", sign_in::operator_challenge),
        route(M::POST, "/api/v1/operator/sign-in", sign_in::operator_sign_in),
        route(M::GET, "/api/v1/operator/moderation", moderation::queue),
        route(M::POST, "/api/v1/operator/moderation/branches/{branch_id}/approval", moderation::approve_branch),
        route(M::POST, "/api/v1/operator/moderation/branches/{branch_id}/removal", moderation::remove_branch),
        route(M::POST, "/api/v1/operator/moderation/services/{service_id}/approval", moderation::approve_service),
        route(M::POST, "/api/v1/operator/moderation/services/{service_id}/removal", moderation::remove_service),
        route(M::GET, "/api/v1/operator/partners", moderation::partners),
        route(M::POST, "/api/v1/operator/partners/{partner_id}/suspension", operator::suspend_partner),
        route(M::DELETE, "/api/v1/operator/partners/{partner_id}/suspension", operator::reinstate_partner),
        route(M::GET, "/api/v1/ca.pem", public::ca_pem),
        route(M::GET, "/api/v1/seal-certificates.pem", public::seal_certificates_pem),
        route(M::POST, "/api/v1/copies/verification", verify::verify),
        route(M::GET, "/api/v1/copies/{copy_id}", verify::issued_copy),
        route(M::GET, "/verify", verify::page),
        route(M::GET, "/verify/{copy_id}", verify::page_for_copy),
        route(M::GET, "/api/v1/qr-preview", public::qr_preview),
        route(M::GET, "/qr/v1/{token}", public::qr_landing),
        route(M::GET, "/q/{code}", public::short_link),
        route(M::GET, "/api/v1/operator/projections", operator::projections),
        route(M::GET, "/api/v1/operator/audit-export", audit::operator_export),
        route(M::GET, "/api/v1/operator/history", audit::operator_history),
        route(M::GET, "/api/v1/audit/checkpoint", audit::checkpoint),
        route(M::GET, "/api/v1/audit/proofs/inclusion", audit::inclusion_proof),
        route(M::GET, "/api/v1/audit/proofs/consistency", audit::consistency_proof),
        route(M::GET, "/health", operator::health),
        route(M::GET, "/api/v1/openapi.json", openapi::openapi_json),
        route(M::GET, "/api/v1/docs", openapi::docs_page),
        route(M::GET, "/api/v1/docs/{file}", openapi::docs_asset),
    ]
}

/// The API behind its edge: per-client limits, the in-flight limit and timeout, security
/// headers on every answer (the fallbacks' too), and a log line per request.
pub fn router(state: AppState, edge: Arc<edge::Edge>) -> Router {
    let counted = state.metrics.clone();
    routes()
        .into_iter()
        .fold(Router::new(), |router, r| router.route(r.path, r.handler))
        .merge(crate::pages::router())
        // Outside the OpenAPI document: it is for a scraper, not for the API's callers.
        .route("/metrics", axum::routing::get(metrics::scrape))
        .fallback(not_found)
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "цей метод не підтримується за цією адресою")
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(edge, edge::limit_request))
        // Inside the routing (after the fallbacks, so they are counted too): each request is
        // counted by its route's template, an address nothing serves as `unmatched`. Outside the
        // edge, so the requests it refuses (429, busy, timed out) are counted as well.
        .layer(middleware::from_fn_with_state(counted, metrics::record))
        .layer(middleware::from_fn(log_request))
        .layer(middleware::from_fn(edge::security_headers))
        .with_state(state)
}

/// An address nothing serves: a problem for the API, a page for a browser.
async fn not_found(uri: axum::http::Uri, lang: crate::pages::lang::Lang) -> Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        return ApiError::new(StatusCode::NOT_FOUND, "route-not-found", "такої адреси в API немає").into_response();
    }
    crate::pages::not_found(lang, uri.path())
}

/// One line per request, inside a span that carries the method, the path and the request's id;
/// the id is answered in `X-Request-Id` and goes into the metadata of every event the request's
/// commands append.
async fn log_request(request: Request, next: Next) -> Response {
    use crate::app::request_context::{accepted_request_id, with_request_id};
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let request_id = accepted_request_id(request.headers().get("x-request-id").and_then(|v| v.to_str().ok()));
    let span = tracing::info_span!("http", %method, %path, request_id = %request_id);
    let started = Instant::now();
    let mut response = tracing::Instrument::instrument(with_request_id(request_id.clone(), next.run(request)), span.clone()).await;
    if let Ok(value) = axum::http::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
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

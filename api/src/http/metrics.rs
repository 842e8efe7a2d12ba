//! `GET /metrics`: Prometheus metrics, for a scraper holding the configured metrics token.
//!
//! Counted as requests pass (`record`, a middleware): requests by method, route template and
//! status with a latency histogram, and problems by their rule code (what commands were refused
//! for). Read from the database at each scrape, so every instance reports the same cluster-wide
//! figures: each projection's lag and whether it halted, and the mail outbox (jobs pending, jobs
//! given up, delivery attempts made).

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use diia_qr_projections::reactors::delivery::DeliveryCounts;

use super::problem::ApiError;
use super::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route's template (`/api/v1/partner/shares/{id}`), never the raw path: bounded.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProblemLabels {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProjectionLabels {
    projection: String,
}

/// The rule code of a problem answer, left in its response's extensions for the counter.
#[derive(Clone, Copy, Debug)]
pub struct ProblemCode(pub &'static str);

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    problems: Family<ProblemLabels, Counter>,
    lag_events: Family<ProjectionLabels, Gauge>,
    lag_seconds: Family<ProjectionLabels, Gauge<f64, AtomicU64>>,
    halted: Family<ProjectionLabels, Gauge>,
    outbox_pending: Gauge,
    outbox_failed: Gauge,
    outbox_attempts: Gauge,
    /// This instance's delivery attempts by outcome, copied from the workers' counts at a scrape.
    deliveries: Family<OutcomeLabels, Counter>,
    delivery_counts: Arc<DeliveryCounts>,
    /// Who may scrape: `None` keeps `/metrics` closed.
    token: Option<String>,
}

impl Metrics {
    pub fn new(token: Option<String>, delivery_counts: Arc<DeliveryCounts>) -> Self {
        let mut registry = Registry::with_prefix("diia_qr");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by method, route and status", requests.clone());
        // 1 ms to ~16 s.
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 15)));
        registry.register("http_request_duration_seconds", "HTTP request latency by method and route", latency.clone());
        let problems = Family::<ProblemLabels, Counter>::default();
        registry.register("problems", "Problem answers (refused commands and requests) by rule code", problems.clone());
        let lag_events = Family::<ProjectionLabels, Gauge>::default();
        registry.register("projection_lag_events", "Committed events a projection has not applied", lag_events.clone());
        let lag_seconds = Family::<ProjectionLabels, Gauge<f64, AtomicU64>>::default();
        registry.register("projection_lag_seconds", "Age of the oldest event a projection has not applied", lag_seconds.clone());
        let halted = Family::<ProjectionLabels, Gauge>::default();
        registry.register("projection_halted", "1 while a projection is stopped at an event it cannot apply", halted.clone());
        let (outbox_pending, outbox_failed, outbox_attempts) = (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register("mail_outbox_pending", "Mail jobs waiting to be sent (all instances)", outbox_pending.clone());
        registry.register("mail_outbox_failed", "Mail jobs given up after their last attempt", outbox_failed.clone());
        registry.register("mail_delivery_attempts", "SMTP delivery attempts made for the jobs in the outbox", outbox_attempts.clone());
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "instance_deliveries",
            "Delivery attempts of this instance by outcome (accepted, deferred, failed)",
            deliveries.clone(),
        );
        Self {
            deliveries,
            delivery_counts,
            registry,
            requests,
            latency,
            problems,
            lag_events,
            lag_seconds,
            halted,
            outbox_pending,
            outbox_failed,
            outbox_attempts,
            token: token.filter(|t| !t.is_empty()),
        }
    }
}

/// Counts every request by its route's template, status and time taken, and every problem by code.
pub async fn record(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    // Any token parses as a method: only the ones HTTP names get their own series.
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m.to_string(),
        _ => "other".to_string(),
    };
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    metrics.latency.get_or_create(&RouteLabels { method: method.clone(), route: route.clone() }).observe(elapsed);
    metrics.requests.get_or_create(&RequestLabels { method, route, status: response.status().as_u16() }).inc();
    if let Some(ProblemCode(code)) = response.extensions().get::<ProblemCode>() {
        metrics.problems.get_or_create(&ProblemLabels { code: (*code).to_string() }).inc();
    }
    response
}

/// The metrics in Prometheus's text format, for the bearer of the metrics token.
pub async fn scrape(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let metrics = &s.metrics;
    let Some(expected) = &metrics.token else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "route-not-found", "метрики вимкнено: задайте токен метрик"));
    };
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let genuine = given.is_some_and(|g| g.len() == expected.len() && openssl::memcmp::eq(g.as_bytes(), expected.as_bytes()));
    if !genuine {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "metrics-token-invalid", "потрібен токен метрик (Authorization: Bearer …)"));
    }
    for p in s.engine.projection_status().await? {
        let labels = ProjectionLabels { projection: p.name.clone() };
        metrics.lag_events.get_or_create(&labels).set(p.lag_events);
        metrics.lag_seconds.get_or_create(&labels).set(p.lag_seconds);
        metrics.halted.get_or_create(&labels).set(i64::from(p.halted));
    }
    let outbox = s.engine.outbox_figures().await?;
    metrics.outbox_pending.set(outbox.pending);
    metrics.outbox_failed.set(outbox.failed);
    metrics.outbox_attempts.set(outbox.attempts);
    let counts = &metrics.delivery_counts;
    for (outcome, count) in [("accepted", &counts.accepted), ("deferred", &counts.deferred), ("failed", &counts.failed)] {
        let value = count.load(std::sync::atomic::Ordering::Relaxed);
        metrics.deliveries.get_or_create(&OutcomeLabels { outcome }).inner().store(value, std::sync::atomic::Ordering::Relaxed);
    }
    let mut text = String::new();
    encode(&mut text, &metrics.registry).map_err(|e| crate::app::EngineError::Internal(format!("метрики не закодовано: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response())
}

//! Operational counters that are not derived from the log: a refused scan changes no aggregate,
//! so it is no event. The scan use case counts refusals here, per service and reason, best
//! effort; a rebuild of the views leaves these counts as they are.

use sqlx::PgPool;
use uuid::Uuid;

/// Counts a refused scan (best effort: a counter must never fail a scan).
pub async fn count_refused_scan(pool: &PgPool, service_id: Option<Uuid>, reason: &str) {
    let result = sqlx::query(
        "INSERT INTO qr_scan_refusals (service_id, reason, refusals) VALUES ($1, $2, 1)
         ON CONFLICT (service_id, reason) DO UPDATE SET refusals = qr_scan_refusals.refusals + 1, last_refused_at = now()",
    )
    .bind(service_id.unwrap_or(Uuid::nil()))
    .bind(reason)
    .execute(pool)
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, reason, "refused scan not counted");
    }
}

/// Refused scans of one service, by reason.
pub async fn refused_scans_of(pool: &PgPool, service_id: Uuid) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT reason, refusals FROM qr_scan_refusals WHERE service_id = $1 ORDER BY reason")
        .bind(service_id)
        .fetch_all(pool)
        .await
}

/// Refused scans of each of `service_ids`, by reason: (service, reason, count).
pub async fn refused_scans_of_services(pool: &PgPool, service_ids: &[Uuid]) -> Result<Vec<(Uuid, String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT service_id, reason, refusals FROM qr_scan_refusals WHERE service_id = ANY($1) ORDER BY service_id, reason")
        .bind(service_ids)
        .fetch_all(pool)
        .await
}

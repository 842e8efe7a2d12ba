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

/// Reserves one of a partner's confirmation letters of the Kyiv day of `at`: `false` when
/// `limit` were already reserved that day. Atomic, so parallel requests cannot pass the limit
/// together.
pub async fn reserve_partner_letter(
    pool: &PgPool,
    partner_id: Uuid,
    at: chrono::DateTime<chrono::Utc>,
    limit: i32,
) -> Result<bool, sqlx::Error> {
    let day = at.with_timezone(&chrono_tz::Europe::Kyiv).date_naive();
    let reserved: Option<i32> = sqlx::query_scalar(
        "INSERT INTO partner_letter_days (partner_id, day, letters) VALUES ($1, $2, 1)
         ON CONFLICT (partner_id, day) DO UPDATE SET letters = partner_letter_days.letters + 1
         WHERE partner_letter_days.letters < $3
         RETURNING letters",
    )
    .bind(partner_id)
    .bind(day)
    .bind(limit)
    .fetch_optional(pool)
    .await?;
    // Old days are of no use once past: dropped as new ones come, a few at a time.
    sqlx::query("DELETE FROM partner_letter_days WHERE ctid IN (SELECT ctid FROM partner_letter_days WHERE day < $1 - 2 LIMIT 100)")
        .bind(day)
        .execute(pool)
        .await?;
    Ok(reserved.is_some())
}

/// Gives back a letter reserved by a command that was then refused (best effort: a failure
/// leaves the limit erring on the side of fewer letters).
pub async fn release_partner_letter(pool: &PgPool, partner_id: Uuid, at: chrono::DateTime<chrono::Utc>) {
    let day = at.with_timezone(&chrono_tz::Europe::Kyiv).date_naive();
    let result = sqlx::query("UPDATE partner_letter_days SET letters = letters - 1 WHERE partner_id = $1 AND day = $2 AND letters > 0")
        .bind(partner_id)
        .bind(day)
        .execute(pool)
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "a refused command's letter was not given back");
    }
}

/// A partner's branches whose mailbox waits for confirmation (not removed by moderation).
pub async fn unconfirmed_branches_of(pool: &PgPool, partner_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM branches_view WHERE partner_id = $1 AND NOT email_confirmed AND moderation <> 'removed'")
        .bind(partner_id)
        .fetch_one(pool)
        .await
}

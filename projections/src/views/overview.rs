//! The cabinet's overview and details: what a partner sees at a glance over a range of Kyiv days
//! (shares received per day and per service, zero-filled; delivery failures) and, for one
//! received share, its status timeline with the mail server's Message-ID.
//!
//! The timeline is its own projection, `share_timeline` (table `share_timeline_view`): one row
//! per status a share request reached, at the time its event says, so it is rebuilt from the log
//! like every view. It holds no personal data (a failure's reply stays in `share_requests_view`,
//! which drops it on erasure), so erasure leaves it as it is. Every query here is scoped to one
//! partner in SQL.

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Kyiv;
use cqrs_es::Aggregate;
use diia_qr_domain::share_request::{ShareRequest, ShareRequestEvent, ShareStatus};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::log::{FailedAt, Projection, ProjectionError, StoredEvent};
use crate::views::search::TimeBound;

/// `share_timeline_view`: each status a share request reached, with its time.
pub struct ShareTimeline;

fn status_name(s: ShareStatus) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

#[async_trait]
impl Projection for ShareTimeline {
    fn name(&self) -> &'static str {
        "share_timeline"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["share_timeline_view"]
    }

    async fn apply(&self, conn: &mut PgConnection, event: &StoredEvent) -> Result<(), ProjectionError> {
        self.apply_all(conn, std::slice::from_ref(event)).await.map_err(|failed| failed.error)
    }

    /// A batch in two statements: the requests it opened, then every later status, each filed
    /// under the partner its request was opened for.
    async fn apply_all(&self, conn: &mut PgConnection, events: &[StoredEvent]) -> Result<(), FailedAt> {
        let mut opened = TimelineRows::default();
        let mut later = TimelineRows::default();
        for (index, event) in events.iter().enumerate() {
            if event.aggregate_type != ShareRequest::TYPE {
                continue;
            }
            let Ok(share_id) = event.aggregate_id.parse::<Uuid>() else {
                continue; // ids are always UUIDs; anything else is not ours to show
            };
            let decoded = event.decode::<ShareRequestEvent>().map_err(|e| FailedAt { index, error: ProjectionError::decode(event, e) })?;
            let (status, at, message_id) = match decoded {
                ShareRequestEvent::Opened { snapshot, opened_at, .. } => {
                    opened.partners.push(snapshot.partner_id);
                    opened.push(share_id, event.sequence, ShareStatus::Opened, opened_at, None);
                    continue;
                }
                ShareRequestEvent::PhotoVerified { at, .. } => (ShareStatus::PhotoVerified, at, None),
                ShareRequestEvent::ConsentSigned { signed_at, .. } => (ShareStatus::Consented, signed_at, None),
                ShareRequestEvent::Sent { sent_at, .. } => (ShareStatus::Sent, sent_at, None),
                ShareRequestEvent::Delivered { accepted_at, message_id } => (ShareStatus::Delivered, accepted_at, Some(message_id)),
                ShareRequestEvent::DeliveryFailed { at, .. } => (ShareStatus::DeliveryFailed, at, None),
                ShareRequestEvent::Declined { at } => (ShareStatus::Declined, at, None),
                ShareRequestEvent::Expired { at } => (ShareStatus::Expired, at, None),
                // Choices and erasure change no status.
                ShareRequestEvent::DocumentsChosen { .. } | ShareRequestEvent::PersonalDataErased { .. } => continue,
            };
            later.push(share_id, event.sequence, status, at, message_id);
        }
        if !opened.shares.is_empty() {
            sqlx::query(
                "INSERT INTO share_timeline_view (share_request_id, sequence, partner_id, status, at)
                 SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::uuid[], $4::text[], $5::timestamptz[])
                 ON CONFLICT DO NOTHING",
            )
            .bind(&opened.shares)
            .bind(&opened.sequences)
            .bind(&opened.partners)
            .bind(&opened.statuses)
            .bind(&opened.times)
            .execute(&mut *conn)
            .await
            .map_err(FailedAt::batch)?;
        }
        if !later.shares.is_empty() {
            sqlx::query(
                "INSERT INTO share_timeline_view (share_request_id, sequence, partner_id, status, at, message_id)
                 SELECT u.share_request_id, u.sequence, o.partner_id, u.status, u.at, u.message_id
                   FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[])
                        AS u (share_request_id, sequence, status, at, message_id)
                   -- One primary-key probe per row, whatever the planner knows of a fresh table.
                  CROSS JOIN LATERAL (SELECT partner_id FROM share_timeline_view o
                                       WHERE o.share_request_id = u.share_request_id AND o.status = 'opened' LIMIT 1) o
                 ON CONFLICT DO NOTHING",
            )
            .bind(&later.shares)
            .bind(&later.sequences)
            .bind(&later.statuses)
            .bind(&later.times)
            .bind(&later.message_ids)
            .execute(&mut *conn)
            .await
            .map_err(FailedAt::batch)?;
        }
        Ok(())
    }
}

/// Timeline rows of one batch, column by column, as `UNNEST` takes them.
#[derive(Default)]
struct TimelineRows {
    shares: Vec<Uuid>,
    sequences: Vec<i64>,
    partners: Vec<Uuid>,
    statuses: Vec<String>,
    times: Vec<DateTime<Utc>>,
    message_ids: Vec<Option<String>>,
}

impl TimelineRows {
    fn push(&mut self, share: Uuid, sequence: i64, status: ShareStatus, at: DateTime<Utc>, message_id: Option<String>) {
        self.shares.push(share);
        self.sequences.push(sequence);
        self.statuses.push(status_name(status));
        self.times.push(at);
        self.message_ids.push(message_id);
    }
}

/// One status a share reached.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TimelineRow {
    pub status: String,
    pub at: DateTime<Utc>,
    /// The Message-ID the mail server accepted, on `delivered`.
    pub message_id: Option<String>,
}

/// A share's statuses in the order they were reached; empty when the share is not the partner's.
pub async fn timeline_of(pool: &PgPool, partner_id: Uuid, share_id: Uuid) -> Result<Vec<TimelineRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, at, message_id FROM share_timeline_view WHERE partner_id = $1 AND share_request_id = $2 ORDER BY sequence",
    )
    .bind(partner_id)
    .bind(share_id)
    .fetch_all(pool)
    .await
}

/// A range of time over whole or partial Kyiv days: `[start, end)`, and the Kyiv days it touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KyivRange {
    pub start: DateTime<Utc>,
    /// The first instant after the range.
    pub end: DateTime<Utc>,
    pub days: Vec<NaiveDate>,
}

/// Why a range cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeProblem {
    #[error("початок проміжку пізніший за його кінець")]
    Reversed,
    #[error("проміжок довший за {MAX_RANGE_DAYS} днів; розбийте його на кілька")]
    TooLong,
    #[error("такої дати немає в календарі")]
    OutOfCalendar,
}

/// The longest range an overview covers, in Kyiv days: a year and its leap day.
pub const MAX_RANGE_DAYS: usize = 366;
/// The range an overview covers when none is asked for: today in Kyiv and the 29 days before.
pub const DEFAULT_RANGE_DAYS: i64 = 30;

impl KyivRange {
    /// `from` and `to` both included (a day to its end, an instant as it is); either missing,
    /// the range is [`DEFAULT_RANGE_DAYS`] long, ending today in Kyiv or starting at `from`.
    pub fn of(from: Option<TimeBound>, to: Option<TimeBound>, now: DateTime<Utc>) -> Result<Self, RangeProblem> {
        let span = Duration::days(DEFAULT_RANGE_DAYS - 1);
        let today = now.with_timezone(&Kyiv).date_naive();
        let after = |day: NaiveDate| day.checked_add_signed(span).ok_or(RangeProblem::OutOfCalendar);
        let before = |day: NaiveDate| day.checked_sub_signed(span).ok_or(RangeProblem::OutOfCalendar);
        let (from, to) = match (from, to) {
            (Some(from), Some(to)) => (from, to),
            // A range given only its start does not run into the future.
            (Some(from), None) => (from, TimeBound::Day(after(day_of(from))?.min(today))),
            (None, Some(to)) => (TimeBound::Day(before(day_of(to))?), to),
            (None, None) => (TimeBound::Day(before(today)?), TimeBound::Day(today)),
        };
        let (start, end) = (start_of(from)?, end_of(to)?);
        if start >= end {
            return Err(RangeProblem::Reversed);
        }
        let last_instant = end.checked_sub_signed(Duration::microseconds(1)).ok_or(RangeProblem::OutOfCalendar)?;
        let (first, last) = (start.with_timezone(&Kyiv).date_naive(), last_instant.with_timezone(&Kyiv).date_naive());
        if (last - first).num_days() >= MAX_RANGE_DAYS as i64 {
            return Err(RangeProblem::TooLong);
        }
        Ok(Self { start, end, days: first.iter_days().take_while(|d| *d <= last).collect() })
    }
}

/// The Kyiv day a bound falls on.
fn day_of(bound: TimeBound) -> NaiveDate {
    match bound {
        TimeBound::Day(day) => day,
        TimeBound::Instant(t) => t.with_timezone(&Kyiv).date_naive(),
    }
}

fn start_of(bound: TimeBound) -> Result<DateTime<Utc>, RangeProblem> {
    match bound {
        TimeBound::Instant(t) => Ok(t),
        TimeBound::Day(day) => kyiv_midnight(day),
    }
}

/// The first instant after a range's end: a day ends at the next Kyiv midnight; an instant is
/// included (timestamps are stored to the microsecond).
fn end_of(bound: TimeBound) -> Result<DateTime<Utc>, RangeProblem> {
    match bound {
        TimeBound::Instant(t) => t.checked_add_signed(Duration::microseconds(1)).ok_or(RangeProblem::OutOfCalendar),
        TimeBound::Day(day) => kyiv_midnight(day.succ_opt().ok_or(RangeProblem::OutOfCalendar)?),
    }
}

/// Midnight exists on every Kyiv day (clocks change at 03:00 and 04:00), so `earliest` finds it.
pub fn kyiv_midnight(day: NaiveDate) -> Result<DateTime<Utc>, RangeProblem> {
    let midnight = day.and_hms_opt(0, 0, 0).ok_or(RangeProblem::OutOfCalendar)?;
    Kyiv.from_local_datetime(&midnight).earliest().map(|t| t.with_timezone(&Utc)).ok_or(RangeProblem::OutOfCalendar)
}

/// How many shares one service received on one Kyiv day (days with none are absent).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReceivedCount {
    pub day: NaiveDate,
    pub service_id: Uuid,
    pub shares: i64,
}

/// Shares the partner received (sent by the citizen) in the range, by Kyiv day and service.
pub async fn received_per_day(pool: &PgPool, partner_id: Uuid, range: &KyivRange) -> Result<Vec<ReceivedCount>, sqlx::Error> {
    sqlx::query_as(
        "SELECT (sent_at AT TIME ZONE 'Europe/Kyiv')::date AS day, service_id, count(*) AS shares
           FROM share_requests_view
          WHERE partner_id = $1 AND sent_at >= $2 AND sent_at < $3
          GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .bind(partner_id)
    .bind(range.start)
    .bind(range.end)
    .fetch_all(pool)
    .await
}

/// A share whose copies the mail server refused.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeliveryFailureRow {
    pub share_request_id: Uuid,
    pub branch_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub failed_at: DateTime<Utc>,
    /// The mail server's reply; gone once the share's personal data is erased.
    pub reason: Option<String>,
}

/// The most delivery failures an overview lists (the newest).
pub const MAX_FAILURES_LISTED: i64 = 100;

/// Delivery failures in the range, newest first, at most [`MAX_FAILURES_LISTED`]; and how many in all.
pub async fn delivery_failures(pool: &PgPool, partner_id: Uuid, range: &KyivRange) -> Result<(Vec<DeliveryFailureRow>, i64), sqlx::Error> {
    let rows = sqlx::query_as(
        "SELECT t.share_request_id, s.branch_id, s.service_id, t.at AS failed_at, s.failure_reason AS reason
           FROM share_timeline_view t
           LEFT JOIN share_requests_view s ON s.share_request_id = t.share_request_id AND s.partner_id = t.partner_id
          WHERE t.partner_id = $1 AND t.status = 'delivery_failed' AND t.at >= $2 AND t.at < $3
          ORDER BY t.at DESC, t.share_request_id LIMIT $4",
    )
    .bind(partner_id)
    .bind(range.start)
    .bind(range.end)
    .bind(MAX_FAILURES_LISTED)
    .fetch_all(pool)
    .await?;
    let all: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM share_timeline_view WHERE partner_id = $1 AND status = 'delivery_failed' AND at >= $2 AND at < $3",
    )
    .bind(partner_id)
    .bind(range.start)
    .bind(range.end)
    .fetch_one(pool)
    .await?;
    Ok((rows, all))
}

/// A delivery failure on the operators' desk: whose it was, besides what failed.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FailureOnRecord {
    pub share_request_id: Uuid,
    pub partner_id: Uuid,
    pub organisation_name: Option<String>,
    pub failed_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// The newest delivery failures of every partner, at most [`MAX_FAILURES_LISTED`].
pub async fn recent_delivery_failures(pool: &PgPool) -> Result<Vec<FailureOnRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.share_request_id, t.partner_id, s.organisation_name, t.at AS failed_at, s.failure_reason AS reason
           FROM share_timeline_view t
           LEFT JOIN share_requests_view s ON s.share_request_id = t.share_request_id AND s.partner_id = t.partner_id
          WHERE t.status = 'delivery_failed'
          ORDER BY t.at DESC, t.share_request_id LIMIT $1",
    )
    .bind(MAX_FAILURES_LISTED)
    .fetch_all(pool)
    .await
}

/// A service's share requests by status, all time.
pub async fn shares_by_status(pool: &PgPool, partner_id: Uuid, service_id: Uuid) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, count(*) FROM share_requests_view WHERE partner_id = $1 AND service_id = $2 GROUP BY status ORDER BY status",
    )
    .bind(partner_id)
    .bind(service_id)
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn day(s: &str) -> TimeBound {
        TimeBound::Day(s.parse().unwrap())
    }
    fn days(r: &KyivRange) -> (String, String, usize) {
        (r.days[0].to_string(), r.days[r.days.len() - 1].to_string(), r.days.len())
    }

    #[test]
    fn by_default_the_range_is_the_last_thirty_kyiv_days_today_included() {
        // 23:30 UTC on 14 January is already 15 January in Kyiv.
        let r = KyivRange::of(None, None, at("2026-01-14T23:30:00Z")).unwrap();
        assert_eq!(days(&r), ("2025-12-17".into(), "2026-01-15".into(), 30));
        assert_eq!(r.start, at("2025-12-16T22:00:00Z"));
        assert_eq!(r.end, at("2026-01-15T22:00:00Z"));
    }

    #[test]
    fn one_end_given_the_other_is_thirty_days_away_and_never_in_the_future() {
        let now = at("2026-03-10T10:00:00Z");
        let r = KyivRange::of(Some(day("2026-03-01")), None, now).unwrap();
        assert_eq!(days(&r), ("2026-03-01".into(), "2026-03-10".into(), 10), "up to today");
        let r = KyivRange::of(Some(day("2026-01-01")), None, now).unwrap();
        assert_eq!(days(&r), ("2026-01-01".into(), "2026-01-30".into(), 30));
        let r = KyivRange::of(None, Some(day("2026-02-28")), now).unwrap();
        assert_eq!(days(&r), ("2026-01-30".into(), "2026-02-28".into(), 30));
    }

    #[test]
    fn instants_cut_their_days_and_the_day_the_clocks_go_forward_counts_once() {
        let r = KyivRange::of(Some(TimeBound::Instant(at("2026-03-28T12:00:00Z"))), Some(day("2026-03-30")), at("2026-04-01T00:00:00Z"))
            .unwrap();
        assert_eq!(days(&r), ("2026-03-28".into(), "2026-03-30".into(), 3));
        assert_eq!(r.start, at("2026-03-28T12:00:00Z"));
        assert_eq!(r.end, at("2026-03-30T21:00:00Z"), "summer time from 29 March");
    }

    #[test]
    fn a_reversed_or_overlong_range_is_refused() {
        let now = at("2026-03-10T10:00:00Z");
        assert_eq!(KyivRange::of(Some(day("2026-03-02")), Some(day("2026-03-01")), now), Err(RangeProblem::Reversed));
        assert_eq!(KyivRange::of(Some(day("2025-01-01")), Some(day("2026-01-02")), now), Err(RangeProblem::TooLong));
        assert_eq!(KyivRange::of(Some(day("2025-01-01")), Some(day("2026-01-01")), now).map(|r| r.days.len()), Ok(366));
    }
}

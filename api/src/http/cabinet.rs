//! The cabinet's views: the overview over a range of Kyiv days, and the details of one branch,
//! one service and one received share. Each scoped to the signed-in partner.
//!
//! `from` and `to` are a Kyiv calendar day (`YYYY-MM-DD`, the whole day) or an RFC 3339 instant,
//! both ends included; the last 30 Kyiv days when neither is given. A value that does not parse,
//! a reversed range or one over 366 days is a 422 problem.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use diia_qr_projections::views::search::TimeBound;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::extract::{ApiPath, ApiQuery, Session};
use super::problem::ApiError;
use super::AppState;
use crate::app::cabinet::{BranchDetails, Overview, ServiceDetails, ShareDetails};
use crate::app::sessions::PartnerRole;

type ApiResult<T> = Result<T, ApiError>;
type Partner = Session<PartnerRole>;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// The first Kyiv day (`2026-03-01`) or instant (`2026-03-01T09:30:00+02:00`), included;
    /// 29 days before `to` when absent.
    from: Option<String>,
    /// The last Kyiv day or instant, included; today in Kyiv when absent (or 29 days after `from`,
    /// but never past today).
    to: Option<String>,
}

/// A Kyiv calendar day, or an instant with its offset. An unencoded `+` of the offset arrives as
/// a space; it is read back as the `+` it was.
pub(super) fn moment(value: &str) -> Option<TimeBound> {
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Some(TimeBound::Day(day));
    }
    let offset_restored = value.rsplit_once(' ').map(|(time, offset)| format!("{time}+{offset}"));
    [Some(value.to_string()), offset_restored]
        .into_iter()
        .flatten()
        .find_map(|v| DateTime::parse_from_rfc3339(&v).ok())
        .map(|t| TimeBound::Instant(t.with_timezone(&Utc)))
}

fn bound(parameter: &str, value: Option<&str>) -> ApiResult<Option<TimeBound>> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    moment(value).map(Some).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "overview-time-invalid",
            format!("«{value}» у параметрі «{parameter}» — не дата (РРРР-ММ-ДД) і не час RFC 3339 (2026-03-01T09:30:00+02:00)"),
        )
    })
}

/// The cabinet at a glance: branches and their mailboxes, services with their QR and refused
/// scans, shares received per Kyiv day (all services, and each), delivery failures.
#[utoipa::path(
    get,
    path = "/api/v1/partner/overview",
    tag = "partner",
    params(OverviewQuery),
    security(("partner" = [])),
    responses((status = 200, description = "The overview over the range", body = Overview))
)]
pub async fn overview(State(s): State<AppState>, Session(who): Partner, ApiQuery(q): ApiQuery<OverviewQuery>) -> ApiResult<Json<Overview>> {
    let (from, to) = (bound("from", q.from.as_deref())?, bound("to", q.to.as_deref())?);
    Ok(Json(s.engine.overview(&who, from, to).await?))
}

/// One branch: its mailbox and its services.
#[utoipa::path(
    get,
    path = "/api/v1/partner/branches/{branch_id}",
    tag = "partner",
    params(("branch_id" = Uuid, Path, description = "The branch")),
    security(("partner" = [])),
    responses((status = 200, description = "The branch", body = BranchDetails))
)]
pub async fn branch_details(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiPath(branch_id): ApiPath<Uuid>,
) -> ApiResult<Json<BranchDetails>> {
    Ok(Json(s.engine.branch_details(&who, branch_id).await?))
}

/// One service: its QR, refused scans, branch and requests by status.
#[utoipa::path(
    get,
    path = "/api/v1/partner/services/{service_id}",
    tag = "partner",
    params(("service_id" = Uuid, Path, description = "The service")),
    security(("partner" = [])),
    responses((status = 200, description = "The service", body = ServiceDetails))
)]
pub async fn service_details(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiPath(service_id): ApiPath<Uuid>,
) -> ApiResult<Json<ServiceDetails>> {
    Ok(Json(s.engine.service_details(&who, service_id).await?))
}

/// One received share: what was asked, its status timeline, the mail server's acceptance time and
/// Message-ID or the failure's reason, and when and why its personal data was removed.
#[utoipa::path(
    get,
    path = "/api/v1/partner/shares/{id}",
    tag = "partner",
    params(("id" = Uuid, Path, description = "The share request")),
    security(("partner" = [])),
    responses((status = 200, description = "The share request", body = ShareDetails))
)]
pub async fn share_details(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiPath(share_id): ApiPath<Uuid>,
) -> ApiResult<Json<ShareDetails>> {
    Ok(Json(s.engine.share_details(&who, share_id).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_is_a_day_or_an_instant_and_anything_else_a_422() {
        assert_eq!(bound("from", Some("2026-03-01")).unwrap(), Some(TimeBound::Day("2026-03-01".parse().unwrap())));
        assert_eq!(
            bound("to", Some("2026-03-01T09:30:00 02:00")).unwrap(),
            Some(TimeBound::Instant("2026-03-01T07:30:00Z".parse().unwrap()))
        );
        assert_eq!(bound("from", Some(" ")).unwrap(), None);
        let refused = bound("from", Some("01.03.2026")).unwrap_err();
        assert_eq!((refused.status, refused.code), (StatusCode::UNPROCESSABLE_ENTITY, "overview-time-invalid"));
        assert!(refused.detail.contains("«from»"), "{}", refused.detail);
    }
}

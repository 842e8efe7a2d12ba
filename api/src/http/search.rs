//! `GET /api/v1/partner/documents`: the partner searches the copies it received.
//!
//! Parameters (each at most once; an empty one counts as not given): `q` (the holder's name or
//! part of it, Cyrillic or Latin), `type` (a document type code), `number`, `rnokpp`, `branch`,
//! `service` (ids), `from` and `to` (a Kyiv calendar day `YYYY-MM-DD`, or an RFC 3339 instant;
//! both ends included), `sort` (`relevance` — the default with `q` — or `date`), `limit` (1–100,
//! 20 by default) and `cursor` (the previous page's `next_cursor`). A parameter that does not
//! parse, or one this endpoint does not know, is a 422 problem naming it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use diia_qr_domain::documents::DocumentType;
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_projections::views::search::{DeliveryState, ReceivedDocument, SearchPage, SearchQuery, SearchSort, TimeBound};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiQuery, Session};
use super::partner::document_type;
use super::problem::ApiError;
use super::AppState;
use crate::app::sessions::PartnerRole;
use crate::schemas::{DeliveryStateName, DocumentTypeCode};

const PARAMETERS: &str = "q, type, number, rnokpp, branch, service, from, to, sort, limit, cursor";

/// One page of the partner's received copies.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    documents: Vec<FoundDocument>,
    /// Pass as `cursor` for the next page; absent on the last one.
    next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FoundDocument {
    share_request_id: Uuid,
    /// The copy's place among its share's copies, from 0.
    copy_index: i32,
    #[schema(value_type = DocumentTypeCode)]
    document_type: DocumentType,
    document_title_uk: &'static str,
    holder_name: String,
    document_number: Option<String>,
    rnokpp: Option<String>,
    branch_id: Uuid,
    branch_name: String,
    service_id: Uuid,
    service_names: Vec<String>,
    received_at: DateTime<Utc>,
    #[schema(value_type = DeliveryStateName)]
    delivery: DeliveryState,
    /// How well the name matched; only when `q` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    relevance: Option<f64>,
}

impl From<ReceivedDocument> for FoundDocument {
    fn from(d: ReceivedDocument) -> Self {
        Self {
            share_request_id: d.share_request_id,
            copy_index: d.copy_index,
            document_type: d.document_type,
            document_title_uk: d.document_type.title_uk(),
            holder_name: d.holder_name,
            document_number: d.document_number,
            rnokpp: d.rnokpp,
            branch_id: d.branch_id,
            branch_name: d.branch_name,
            service_id: d.service_id,
            service_names: d.service_names,
            received_at: d.received_at,
            delivery: d.delivery,
            relevance: d.relevance,
        }
    }
}

impl From<SearchPage> for SearchResults {
    fn from(page: SearchPage) -> Self {
        Self { documents: page.documents.into_iter().map(FoundDocument::from).collect(), next_cursor: page.next_cursor }
    }
}

/// The query string as pairs: so a repeated or unknown parameter is refused by name, as a 422
/// like any other bad value, rather than as a deserialiser's 400.
#[utoipa::path(
    get,
    path = "/api/v1/partner/documents",
    tag = "partner",
    summary = "Searches the copies the partner received",
    description = "Each parameter at most once; an empty one is no filter. A parameter that does not parse, or one not listed, is a 422 naming it.",
    params(
        ("q" = Option<String>, Query, description = "The holder's name or part of it, Cyrillic or Latin (KMU-55); typos forgiven"),
        ("type" = Option<DocumentTypeCode>, Query, description = "A document type"),
        ("number" = Option<String>, Query, description = "The document's number"),
        ("rnokpp" = Option<String>, Query, description = "The holder's РНОКПП"),
        ("branch" = Option<Uuid>, Query, description = "A branch"),
        ("service" = Option<Uuid>, Query, description = "A service"),
        ("from" = Option<String>, Query, description = "Received from this Kyiv day (`YYYY-MM-DD`) or RFC 3339 instant, included"),
        ("to" = Option<String>, Query, description = "Received up to this Kyiv day or instant, included"),
        ("sort" = Option<String>, Query, description = "`relevance` (the default with `q`) or `date`"),
        ("limit" = Option<u32>, Query, description = "Results per page, 1 to 100 (20)"),
        ("cursor" = Option<String>, Query, description = "The previous page's `next_cursor`")
    ),
    security(("partner" = [])),
    responses((status = 200, description = "One page of the partner's received copies; every search is an audit entry", body = SearchResults))
)]
pub async fn search(
    State(s): State<AppState>,
    Session(who): Session<PartnerRole>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<SearchResults>, ApiError> {
    let query = search_query(pairs)?;
    Ok(Json(s.engine.search_received(&who, query).await?.into()))
}

fn invalid(code: &'static str, detail: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
}

pub(crate) fn search_query(pairs: Vec<(String, String)>) -> Result<SearchQuery, ApiError> {
    let mut query = SearchQuery::default();
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in pairs {
        if seen.contains(&name) {
            return Err(invalid("search-parameter-repeated", format!("параметр «{name}» вказано більше одного разу")));
        }
        seen.push(name.clone());
        let value = value.trim();
        if value.is_empty() && PARAMETERS.split(", ").any(|p| p == name) {
            continue;
        }
        match name.as_str() {
            "q" => query.name = Some(value.to_string()),
            "type" => query.document_type = Some(document_type(value)?),
            "number" => query.document_number = Some(value.to_string()),
            "rnokpp" => {
                query.rnokpp = Some(Rnokpp::parse(value).map_err(|e| invalid("search-rnokpp-invalid", e.to_string()))?);
            }
            "branch" => query.branch_id = Some(id(&name, value)?),
            "service" => query.service_id = Some(id(&name, value)?),
            "from" => query.received_from = Some(time_bound(&name, value)?),
            "to" => query.received_to = Some(time_bound(&name, value)?),
            "sort" => {
                query.sort = Some(match value {
                    "relevance" => SearchSort::Relevance,
                    "date" => SearchSort::Date,
                    other => {
                        return Err(invalid("search-sort-unknown", format!("невідоме сортування «{other}»; можливі: relevance, date")));
                    }
                })
            }
            "limit" => {
                query.limit = Some(
                    value
                        .parse()
                        .map_err(|_| invalid("search-limit-invalid", format!("«{value}» у параметрі «limit» — не ціле додатне число")))?,
                );
            }
            "cursor" => query.cursor = Some(value.to_string()),
            other => return Err(invalid("search-parameter-unknown", format!("невідомий параметр «{other}»; можливі: {PARAMETERS}"))),
        }
    }
    Ok(query)
}

fn id(parameter: &str, value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value).map_err(|_| invalid("search-id-invalid", format!("«{value}» у параметрі «{parameter}» — не ідентифікатор")))
}

/// A Kyiv calendar day, or an instant with its offset (`cabinet::moment`).
fn time_bound(parameter: &str, value: &str) -> Result<TimeBound, ApiError> {
    super::cabinet::moment(value).ok_or_else(|| {
        invalid(
            "search-time-invalid",
            format!("«{value}» у параметрі «{parameter}» — не дата (РРРР-ММ-ДД) і не час RFC 3339 (2026-03-01T09:30:00+02:00)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn refused(list: &[(&str, &str)]) -> (StatusCode, &'static str) {
        let e = search_query(pairs(list)).unwrap_err();
        (e.status, e.code)
    }

    #[test]
    fn every_parameter_is_read_into_the_query() {
        let q = search_query(pairs(&[
            ("q", " Мар'яна "),
            ("type", "internal-passport"),
            ("number", "004512377"),
            ("rnokpp", "3294600243"),
            ("branch", "00000000-0000-0000-0000-000000000001"),
            ("service", ""),
            ("from", "2026-03-01"),
            ("to", "2026-03-01T09:30:00 02:00"),
            ("sort", "date"),
            ("limit", "5"),
        ]))
        .unwrap();
        assert_eq!(q.name.as_deref(), Some("Мар'яна"));
        assert_eq!(q.document_type, Some(DocumentType::InternalPassport));
        assert_eq!(q.rnokpp.as_ref().map(Rnokpp::as_str), Some("3294600243"));
        assert_eq!(q.branch_id, Some(Uuid::from_u128(1)));
        assert_eq!(q.service_id, None, "an empty parameter is no filter");
        assert_eq!(q.received_from, Some(TimeBound::Day("2026-03-01".parse().unwrap())));
        assert_eq!(q.received_to, Some(TimeBound::Instant("2026-03-01T07:30:00Z".parse().unwrap())));
        assert_eq!((q.sort, q.limit), (Some(SearchSort::Date), Some(5)));
    }

    #[test]
    fn a_bad_unknown_or_repeated_parameter_is_a_422_naming_it() {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        assert_eq!(refused(&[("type", "passport")]), (unprocessable, "document-type-unknown"));
        assert_eq!(refused(&[("rnokpp", "3294600244")]), (unprocessable, "search-rnokpp-invalid"));
        assert_eq!(refused(&[("branch", "Львів")]), (unprocessable, "search-id-invalid"));
        assert_eq!(refused(&[("from", "01.03.2026")]), (unprocessable, "search-time-invalid"));
        assert_eq!(refused(&[("sort", "name")]), (unprocessable, "search-sort-unknown"));
        assert_eq!(refused(&[("limit", "-1")]), (unprocessable, "search-limit-invalid"));
        assert_eq!(refused(&[("name", "Ольга")]), (unprocessable, "search-parameter-unknown"));
        assert_eq!(refused(&[("q", "Ольга"), ("q", "Ігор")]), (unprocessable, "search-parameter-repeated"));
    }
}

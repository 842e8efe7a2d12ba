//! `/cabinet/audit-export`: the partner's own entries of the audit trail, with their proofs
//! (JSON Lines, to verify) or as CSV (to read), over Kyiv days the partner picks. The same
//! export as `GET /api/v1/partner/audit-export`, itself recorded in the trail.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{Days, NaiveDate};
use diia_qr_projections::audit_trail::export::ExportFormat;
use diia_qr_projections::views::overview::kyiv_midnight;
use maud::{html, Markup};

use super::texts::{texts, Texts};
use super::{signed_in, to_sign_in};
use crate::app::audit::{ExportRequest, ExportRequester};
use crate::http::AppState;
use crate::pages::lang::Lang;

pub const PATH: &str = "/cabinet/audit-export";

/// The export's form, shown under the search.
pub fn export_form(t: &Texts) -> Markup {
    html! {
        section aria-labelledby="audit-export" {
            h2 #audit-export { (t.audit_title) }
            p.hint { (t.audit_hint) }
            form method="get" action=(PATH) {
                div.fields {
                    div { label for="audit-from" { (t.search_from) } input #audit-from name="from" type="date"; }
                    div { label for="audit-to" { (t.search_to) } input #audit-to name="to" type="date"; }
                    div {
                        label for="audit-format" { (t.audit_format) }
                        select #audit-format name="format" {
                            option value="jsonl" { (t.audit_jsonl) }
                            option value="csv" { (t.audit_csv) }
                        }
                    }
                }
                button type="submit" { (t.audit_button) }
            }
        }
    }
}

pub async fn export(State(s): State<AppState>, lang: Lang, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let Some(signed) = signed_in(&s, &headers).await else { return to_sign_in() };
    let t = texts(lang);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim());
    let refused =
        |text: &str| super::super::error_page(lang, "/cabinet/documents", (axum::http::StatusCode::UNPROCESSABLE_ENTITY, text.to_string()));
    // A day from its Kyiv midnight; `to` to the end of its day.
    let day = |name: &str, after: u64| -> Result<Option<chrono::DateTime<chrono::Utc>>, ()> {
        match field(name) {
            "" => Ok(None),
            text => {
                let day: NaiveDate = text.parse().map_err(|_| ())?;
                let day = day.checked_add_days(Days::new(after)).ok_or(())?;
                kyiv_midnight(day).map(Some).map_err(|_| ())
            }
        }
    };
    let (Ok(from), Ok(to)) = (day("from", 0), day("to", 1)) else { return refused(t.audit_bad_day) };
    let format = match field("format") {
        "" | "jsonl" => ExportFormat::JsonLines,
        "csv" => ExportFormat::Csv,
        _ => return refused(t.audit_bad_format),
    };
    let requester = ExportRequester::Partner { partner_id: signed.who.partner_id(), head: signed.who.head.rnokpp.clone() };
    let request = ExportRequest { partner_id: None, citizen: None, from, to };
    match crate::http::audit::stream_export(s.engine.clone(), requester, request, format).await {
        Ok(response) => response,
        Err(e) => super::super::error_page(lang, "/cabinet/documents", (e.status, e.detail)),
    }
}

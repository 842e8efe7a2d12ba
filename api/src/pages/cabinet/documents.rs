//! `/cabinet/documents`: the copies the partner received. The search form is a GET form whose
//! fields are the JSON API's parameters, so the filters live in the URL (a result can be
//! bookmarked, the next page keeps them); each share opens to its delivery, its timeline and
//! its copies, downloaded exactly as mailed. Every search and every download is an entry in the
//! audit trail, as through the API.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use diia_qr_domain::documents::DocumentType;
use diia_qr_projections::views::search::{DeliveryState, SearchPage};
use maud::{html, Markup};
use uuid::Uuid;

use super::texts::{texts, Texts};
use super::{cabinet_page, problem, refusal, signed_in, to_sign_in, Signed};
use crate::app::cabinet::DeliveryOutcome;
use crate::app::copies::CopyPart;
use crate::app::EngineError;
use crate::http::AppState;
use crate::pages::lang::Lang;

const PATH: &str = "/cabinet/documents";

pub async fn search(State(s): State<AppState>, lang: Lang, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let Some(signed) = signed_in(&s, &headers).await else { return to_sign_in() };
    let t = texts(lang);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let pairs: Vec<(String, String)> = pairs.into_iter().filter(|(name, _)| name != "lang").collect();
    let typed = |name: &str| pairs.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str());
    let (branches, services) = match (s.engine.branches_of(&signed.who).await, s.engine.services_of(&signed.who).await) {
        (Ok(b), Ok(sv)) => (b, sv),
        (Err(e), _) | (_, Err(e)) => return super::super::error_page(lang, PATH, refusal(e)),
    };
    let outcome = match crate::http::search::search_query(pairs.clone()) {
        Ok(query) => s.engine.search_received(&signed.who, query).await.map_err(refusal),
        Err(e) => Err((e.status, e.detail)),
    };
    let (status, results) = match outcome {
        Ok(page) => (StatusCode::OK, Ok(page)),
        Err((status, text)) => (status, Err(text)),
    };
    let selected = |name: &str, value: &str| typed(name) == value;
    let main = html! {
        h1 { (t.documents_title) }
        form.search method="get" action=(PATH) role="search" aria-label=(t.documents_search) {
            div.fields {
                div { label for="q" { (t.search_name) } input #q name="q" type="search" value=(typed("q")) autocomplete="off"; }
                div {
                    label for="type" { (t.search_type) }
                    select #type name="type" {
                        option value="" { (t.search_any) }
                        @for d in DocumentType::ALL {
                            option value=(d.code()) selected[selected("type", d.code())] { (lang.document_title(d)) }
                        }
                    }
                }
                div { label for="number" { (t.search_number) } input #number name="number" type="text" value=(typed("number")) autocomplete="off"; }
                div { label for="rnokpp" { (t.search_rnokpp) } input #rnokpp name="rnokpp" type="text" inputmode="numeric" value=(typed("rnokpp")) autocomplete="off"; }
                div {
                    label for="branch" { (t.service_branch) }
                    select #branch name="branch" {
                        option value="" { (t.search_any) }
                        @for b in &branches {
                            @let id = b.branch_id.to_string();
                            option value=(id) selected[selected("branch", &id)] { (b.name) }
                        }
                    }
                }
                div {
                    label for="service" { (t.search_service) }
                    select #service name="service" {
                        option value="" { (t.search_any) }
                        @for sv in &services {
                            @let id = sv.service_id.to_string();
                            @let names: Vec<String> = serde_json::from_value(sv.names.clone()).unwrap_or_default();
                            option value=(id) selected[selected("service", &id)] { (names.join(", ")) }
                        }
                    }
                }
                div { label for="from" { (t.search_from) } input #from name="from" type="date" value=(typed("from")); }
                div { label for="to" { (t.search_to) } input #to name="to" type="date" value=(typed("to")); }
                div {
                    label for="sort" { (t.search_sort) }
                    select #sort name="sort" {
                        option value="" { (t.sort_default) }
                        option value="date" selected[selected("sort", "date")] { (t.sort_date) }
                        option value="relevance" selected[selected("sort", "relevance")] { (t.sort_relevance) }
                    }
                }
            }
            button type="submit" { (t.search_button) }
            " "
            a href=(PATH) { (t.search_reset) }
        }
        @match &results {
            Err(text) => (problem(lang, text)),
            Ok(page) => (results_table(lang, t, page, &pairs)),
        }
        (super::audit_export::export_form(t))
    };
    cabinet_page(status, lang, t.documents_title, PATH, Some(&signed), main)
}

fn results_table(lang: Lang, t: &Texts, page: &SearchPage, pairs: &[(String, String)]) -> Markup {
    let when = |at| short_time(lang, at);
    html! {
        section aria-labelledby="results" {
            h2 #results { (t.results) }
            @if page.documents.is_empty() {
                p { (t.results_none) }
            } @else {
                div.table-scroll tabindex="0" role="region" aria-labelledby="results" {
                    table {
                        thead { tr {
                            th scope="col" { (t.col_received) }
                            th scope="col" { (t.col_holder) }
                            th scope="col" { (t.col_document) }
                            th scope="col" { (t.col_service) }
                            th scope="col" { (t.col_delivery) }
                        } }
                        tbody {
                            @for d in &page.documents {
                                tr {
                                    td { (when(d.received_at)) }
                                    td { a href={ (PATH) "/" (d.share_request_id) } { (d.holder_name) } }
                                    td {
                                        (lang.document_title(d.document_type))
                                        @if let Some(n) = &d.document_number { br; small { "№ " (n) } }
                                    }
                                    td { (d.service_names.join(", ")) br; small { (d.branch_name) } }
                                    td { (delivery_word(t, d.delivery)) }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(cursor) = &page.next_cursor {
                p { a rel="next" href={ (PATH) "?" (next_page_query(pairs, cursor)) } { (t.results_next) } }
            }
        }
    }
}

/// The next page's query: the same filters, and the cursor the page gave.
fn next_page_query(pairs: &[(String, String)], cursor: &str) -> String {
    let mut next: Vec<(&str, &str)> = pairs.iter().filter(|(k, _)| k != "cursor").map(|(k, v)| (k.as_str(), v.as_str())).collect();
    next.push(("cursor", cursor));
    serde_urlencoded::to_string(&next).unwrap_or_default()
}

fn delivery_word(t: &Texts, d: DeliveryState) -> &'static str {
    match d {
        DeliveryState::Sent => t.delivery_sent,
        DeliveryState::Delivered => t.delivery_delivered,
        DeliveryState::Failed => t.delivery_failed,
    }
}

/// "26.11.2026 12:00", Kyiv time: the table's short form of an instant.
fn short_time(lang: Lang, at: chrono::DateTime<chrono::Utc>) -> String {
    let full = lang.kyiv_time(at);
    full.get(..16).unwrap_or(&full).to_string()
}

/// One share: what was asked, where it stands, its timeline and its copies.
pub async fn share(State(s): State<AppState>, lang: Lang, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let Some(signed) = signed_in(&s, &headers).await else { return to_sign_in() };
    let Ok(share_id) = id.parse::<Uuid>() else { return crate::pages::not_found(lang, PATH) };
    match details(&s, lang, &signed, share_id).await {
        Ok(page) => page,
        Err(e) => super::super::error_page(lang, PATH, refusal(e)),
    }
}

async fn details(s: &AppState, lang: Lang, signed: &Signed, share_id: Uuid) -> Result<Response, EngineError> {
    let t = texts(lang);
    let share = s.engine.share_details(&signed.who, share_id).await?;
    let copies = s.engine.received_copies(&signed.who, share_id).await?;
    let when = |at| lang.kyiv_time(at);
    let main = html! {
        p { a href=(PATH) { "← " (t.documents_title) } }
        h1 { (t.share_title) }
        dl.facts {
            dt { (t.share_purpose) } dd { (share.purposes.join(", ")) }
            dt { (t.branch_mailbox) } dd { (share.branch_address) }
            dt { (t.service_documents) } dd { (share.documents.iter().map(|d| lang.document_title(d.document_type)).collect::<Vec<_>>().join(", ")) }
            dt { (t.share_status) } dd { strong { (status_word(lang, &serde_plain(&share.status))) } }
            @if let Some(delivery) = &share.delivery {
                dt { (t.col_delivery) }
                dd {
                    @match delivery {
                        DeliveryOutcome::Awaiting => { (t.delivery_sent) }
                        DeliveryOutcome::Delivered { accepted_at, .. } => { (t.delivery_delivered) ", " (when(*accepted_at)) }
                        DeliveryOutcome::Failed { reason, .. } => {
                            (t.delivery_failed) @if let Some(r) = reason { ": " (r) }
                        }
                    }
                }
            }
            @if let Some(erasure) = &share.erasure {
                dt { (t.share_erased) } dd { (when(erasure.at)) @if let Some(r) = erasure.reason_uk { " — " (r) } }
            }
        }
        section aria-labelledby="timeline" {
            h2 #timeline { (t.share_timeline) }
            ol.timeline {
                @for entry in &share.timeline {
                    li { strong { (status_word(lang, &entry.status)) } " — " time datetime=(entry.at.to_rfc3339()) { (when(entry.at)) } }
                }
            }
        }
        section aria-labelledby="copies" {
            h2 #copies { (t.share_copies) }
            @if copies.is_empty() {
                p { (t.share_no_copies) }
            } @else {
                p.hint { (t.share_copies_hint) }
                ul.cards {
                    @for c in &copies {
                        li.card {
                            h3 { (DocumentType::from_code(&c.document_type).map_or(c.document_type.as_str(), |d| lang.document_title(d))) }
                            p {
                                a download href={ (PATH) "/" (share_id) "/" (c.copy_id) ".pdf" } { (t.copy_pdf) " (" (c.file_stem) ".pdf)" }
                                " · "
                                a download href={ (PATH) "/" (share_id) "/" (c.copy_id) ".p7s" } { (t.copy_p7s) " (" (c.file_stem) ".p7s)" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(cabinet_page(StatusCode::OK, lang, t.share_title, PATH, Some(signed), main))
}

/// A status as its serde name (`delivery_failed`), the timeline's spelling.
fn serde_plain(status: &impl serde::Serialize) -> String {
    serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn status_word(lang: Lang, status: &str) -> &str {
    let (uk, en) = match status {
        "new" => ("новий", "new"),
        "opened" => ("громадянин відкрив запит", "opened by the citizen"),
        "photo_verified" => ("фото перевірено", "photo verified"),
        "consented" => ("згоду підписано Дія.Підписом", "consent signed with Diia.Signature"),
        "sent" => ("копії надіслано", "copies sent"),
        "delivered" => ("лист прийнято поштовим сервером", "letter accepted by the mail server"),
        "delivery_failed" => ("лист не доставлено", "letter not delivered"),
        "declined" => ("громадянин відмовився", "declined by the citizen"),
        "expired" => ("час на запит минув", "request expired"),
        other => return other,
    };
    if lang == Lang::Uk {
        uk
    } else {
        en
    }
}

/// A copy's PDF or its signature, as mailed, named as in the letter.
pub async fn copy(State(s): State<AppState>, lang: Lang, headers: HeaderMap, Path((id, file)): Path<(String, String)>) -> Response {
    let Some(signed) = signed_in(&s, &headers).await else { return to_sign_in() };
    let (copy, part, extension) = match file.rsplit_once('.') {
        Some((copy, "pdf")) => (copy, CopyPart::Pdf, "pdf"),
        Some((copy, "p7s")) => (copy, CopyPart::Signature, "p7s"),
        _ => return crate::pages::not_found(lang, PATH),
    };
    let (Ok(share_id), Ok(copy_id)) = (id.parse::<Uuid>(), copy.parse::<Uuid>()) else { return crate::pages::not_found(lang, PATH) };
    let stem = match s.engine.received_copies(&signed.who, share_id).await {
        Ok(copies) => copies.into_iter().find(|c| c.copy_id == copy_id).map(|c| c.file_stem),
        Err(e) => return super::super::error_page(lang, PATH, refusal(e)),
    };
    match s.engine.download_copy(&signed.who, share_id, copy_id, part).await {
        Ok(r) => {
            let name = format!("attachment; filename=\"{}.{extension}\"", stem.unwrap_or_else(|| copy_id.to_string()));
            (
                [
                    (header::CONTENT_TYPE, r.content_type.to_string()),
                    (header::CONTENT_DISPOSITION, name),
                    (header::CACHE_CONTROL, "no-store".into()),
                ],
                r.bytes,
            )
                .into_response()
        }
        Err(e) => super::super::error_page(lang, PATH, refusal(e)),
    }
}

//! `/cabinet/services`: the partner's services with their QR (a preview and the files to print),
//! issuing, rotating or revoking it, and a new service: purposes, documents as checkboxes with
//! the all-or-nothing warning, the legal-basis acknowledgement and the retention.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use diia_qr_domain::documents::DocumentType;
use diia_qr_domain::service::LegalBasis;
use maud::html;
use uuid::Uuid;

use super::texts::texts;
use super::{cabinet_page, checked_form, csrf_field, problem, refusal, signed_in, to_sign_in, Fields, Signed};
use crate::app::EngineError;
use crate::app::NewService;
use crate::http::AppState;
use crate::pages::lang::Lang;

const PATH: &str = "/cabinet/services";
/// How long copies are kept unless the partner says otherwise.
const DEFAULT_RETENTION_DAYS: u32 = 30;

pub async fn list(State(s): State<AppState>, lang: Lang, headers: HeaderMap) -> Response {
    let Some(signed) = signed_in(&s, &headers).await else { return to_sign_in() };
    show(&s, lang, &signed, StatusCode::OK, None, None).await
}

async fn show(s: &AppState, lang: Lang, signed: &Signed, status: StatusCode, refused: Option<String>, typed: Option<&Fields>) -> Response {
    let t = texts(lang);
    let (services, branches) = match (s.engine.services_of(&signed.who).await, s.engine.branches_of(&signed.who).await) {
        (Ok(services), Ok(branches)) => (services, branches),
        (Err(e), _) | (_, Err(e)) => return super::super::error_page(lang, PATH, refusal(e)),
    };
    let title = |d: DocumentType| lang.document_title(d);
    let value = |name: &str| typed.map_or(String::new(), |f| f.get(name).to_string());
    let chosen = |code: &str| typed.is_some_and(|f| f.all("documents").contains(&code));
    let main = html! {
        h1 { (t.services_title) }
        // A refusal of a card's action is said at the top; of the new service, beside its form.
        @if typed.is_none() { @if let Some(text) = &refused { (problem(lang, text)) } }
        @if services.is_empty() { p { (t.services_none) } }
        ul.cards {
            @for svc in &services {
                @let id = svc.service_id;
                @let names: Vec<String> = serde_json::from_value(svc.names.clone()).unwrap_or_default();
                @let documents: Vec<String> = serde_json::from_value(svc.documents.clone()).unwrap_or_default();
                li.card {
                    h2 { (names.join(", ")) }
                    dl.facts {
                        dt { (t.service_documents) }
                        dd { ul { @for code in &documents { li { (DocumentType::from_code(code).map_or_else(|| code.clone(), |d| title(d).to_string())) } } } }
                        dt { (t.service_retention) } dd { (svc.retention_days) }
                        dt { (t.service_qr) }
                        dd { @if svc.qr_active { (t.qr_active) " (" (t.qr_version) " " (svc.qr_version) ")" } @else { (t.qr_none) } }
                        dt { (t.branch_moderation) }
                        dd {
                            (match svc.moderation.moderation.as_str() { "approved" => t.moderation_approved, "removed" => t.moderation_removed, _ => t.moderation_pending })
                            @if let Some(reason) = &svc.moderation.moderation_reason { ": " (reason) }
                        }
                        @if !svc.active { dt { (t.service_state) } dd { strong { (t.service_deactivated) } } }
                    }
                    @if svc.qr_active {
                        img.qr-preview src={ (PATH) "/" (id) "/qr.svg" } alt=(t.qr_preview_alt) width="160" height="160";
                        p.downloads {
                            (t.qr_download) ": "
                            a href={ (PATH) "/" (id) "/poster.pdf" } download { (t.poster) " PDF" } " · "
                            a href={ (PATH) "/" (id) "/poster.svg" } download { (t.poster) " SVG" } " · "
                            a href={ (PATH) "/" (id) "/qr.svg" } download { "QR SVG" } " · "
                            a href={ (PATH) "/" (id) "/qr.png" } download { "QR PNG" }
                            // Made in the browser from the SVG (poster-png.js); shown only with script.
                            span data-poster-png-separator hidden { " · " }
                            a href={ (PATH) "/" (id) "/poster.svg" } data-poster-png={ (PATH) "/" (id) "/poster.svg" } download={ "poster-" (id) ".png" } hidden { (t.poster) " PNG" }
                        }
                    }
                    @if svc.active {
                        div.actions {
                            form.inline method="post" action={ (PATH) "/" (id) "/qr" } {
                                (csrf_field(signed))
                                button type="submit" { @if svc.qr_active { (t.qr_rotate) } @else { (t.qr_issue) } }
                            }
                            @if svc.qr_active {
                                form.inline method="post" action={ (PATH) "/" (id) "/qr-revocation" } {
                                    (csrf_field(signed))
                                    button.secondary type="submit" { (t.qr_revoke) }
                                }
                            }
                        }
                        details {
                            summary { (t.service_change) }
                            form method="post" action={ (PATH) "/" (id) "/names" } {
                                (csrf_field(signed))
                                label for={ "names-" (id) } { (t.service_names) }
                                input id={ "names-" (id) } name="names" type="text" required value=(names.join(", ")) aria-describedby={ "names-hint-" (id) };
                                p.hint id={ "names-hint-" (id) } { (t.service_names_hint) " " (t.rename_hint) }
                                button type="submit" { (t.rename) }
                            }
                            form method="post" action={ (PATH) "/" (id) "/deactivation" } {
                                (csrf_field(signed))
                                p.hint { (t.deactivate_hint) }
                                button.secondary type="submit" { (t.deactivate) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="new-service" {
            h2 #new-service { (t.service_new) }
            @if typed.is_some() { @if let Some(text) = &refused { (problem(lang, text)) } }
            @if branches.iter().all(|b| !b.email_confirmed) {
                p.note { (t.service_needs_branch) " " a href="/cabinet/branches" { (t.nav_branches) } }
            }
            form method="post" action=(PATH) {
                (csrf_field(signed))
                label for="branch" { (t.service_branch) }
                select #branch name="branch_id" required {
                    @for b in &branches {
                        option value=(b.branch_id) selected[value("branch_id") == b.branch_id.to_string()] { (b.name) }
                    }
                }
                label for="names" { (t.service_names) }
                input #names name="names" type="text" required aria-describedby="names-hint" value=(value("names"));
                p.hint #names-hint { (t.service_names_hint) }
                fieldset aria-describedby="all-or-nothing" {
                    legend { (t.service_documents) }
                    p.note #all-or-nothing { (t.all_or_nothing) }
                    @for d in DocumentType::ALL {
                        div.choice {
                            input type="checkbox" id={ "doc-" (d.code()) } name="documents" value=(d.code()) checked[chosen(d.code())];
                            label for={ "doc-" (d.code()) } { (title(d)) }
                        }
                    }
                }
                div.choice {
                    input #legal name="legal_basis" type="checkbox" value="yes" required checked[value("legal_basis") == "yes"];
                    label for="legal" { (t.legal_basis_ack) }
                }
                label for="statement" { (t.legal_basis_statement) }
                input #statement name="statement" type="text" required maxlength="1000" aria-describedby="statement-hint" value=(value("statement"));
                p.hint #statement-hint { (t.legal_basis_hint) }
                label for="retention" { (t.service_retention) }
                input #retention name="retention_days" type="number" min="1" max="3650" required
                    value=(typed.map_or(DEFAULT_RETENTION_DAYS.to_string(), |f| f.get("retention_days").to_string()));
                button type="submit" { (t.service_create) }
            }
        }
    };
    let main = html! { (main) script src="/assets/poster-png.js" {} };
    cabinet_page(status, lang, t.services_title, PATH, Some(signed), main)
}

pub async fn create(State(s): State<AppState>, lang: Lang, headers: HeaderMap, body: Bytes) -> Response {
    let (signed, f) = match checked_form(&s, lang, &headers, &body).await {
        Ok(ok) => ok,
        Err(answer) => return answer,
    };
    let service = (|| {
        let branch_id = f.get("branch_id").parse::<Uuid>().map_err(|_| EngineError::invalid("branch-required", "оберіть відділення"))?;
        let documents = f.all("documents").into_iter().filter_map(DocumentType::from_code).collect();
        let retention_days = f
            .get("retention_days")
            .trim()
            .parse::<u32>()
            .map_err(|_| EngineError::invalid("retention-invalid", "строк зберігання — ціле число днів"))?;
        let legal_basis = LegalBasis { acknowledged: f.get("legal_basis") == "yes", statement: f.get("statement").to_string() };
        Ok::<_, EngineError>(NewService { branch_id, names: f.get("names").to_string(), documents, legal_basis, retention_days })
    })();
    let outcome = match service {
        Ok(service) => s.engine.create_service(&signed.who, service).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match super::settled(&s, outcome).await {
        Ok(()) => Redirect::to(PATH).into_response(),
        Err((status, text)) => show(&s, lang, &signed, status, Some(text), Some(&f)).await,
    }
}

/// Issues, rotates (`qr`) or revokes (`qr-revocation`) a service's QR, renames it (`names`) or
/// deactivates it (`deactivation`, its QR with it).
pub async fn act(
    State(s): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (signed, f) = match checked_form(&s, lang, &headers, &body).await {
        Ok(ok) => ok,
        Err(answer) => return answer,
    };
    let not_found = || EngineError::not_found("service-not-found", "послугу не знайдено");
    let outcome = match (id.parse::<Uuid>(), action.as_str()) {
        (Ok(service_id), "qr") => s.engine.issue_qr(&signed.who, service_id).await.map(|_| ()),
        (Ok(service_id), "qr-revocation") => s.engine.revoke_qr(&signed.who, service_id).await,
        (Ok(service_id), "names") => s.engine.rename_service(&signed.who, service_id, f.get("names")).await,
        (Ok(service_id), "deactivation") => s.engine.deactivate_service(&signed.who, service_id).await,
        _ => Err(not_found()),
    };
    match super::settled(&s, outcome).await {
        Ok(()) => Redirect::to(PATH).into_response(),
        Err((status, text)) => show(&s, lang, &signed, status, Some(text), None).await,
    }
}

/// The QR and the poster as files, for the partner's own services only.
pub async fn file(State(s): State<AppState>, lang: Lang, headers: HeaderMap, Path((id, name)): Path<(String, String)>) -> Response {
    let Some(signed) = signed_in(&s, &headers).await else { return to_sign_in() };
    let Ok(service_id) = id.parse::<Uuid>() else { return crate::pages::not_found(lang, PATH) };
    let rendered = match name.as_str() {
        "qr.svg" => s.engine.qr_svg(&signed.who, service_id).await,
        "qr.png" => s.engine.qr_png(&signed.who, service_id, 10).await,
        "poster.pdf" => s.engine.poster_pdf(&signed.who, service_id).await,
        "poster.svg" => s.engine.poster_svg(&signed.who, service_id).await,
        _ => return crate::pages::not_found(lang, PATH),
    };
    match rendered {
        Ok(r) => ([(header::CONTENT_TYPE, r.content_type), (header::CACHE_CONTROL, "no-store")], r.bytes).into_response(),
        Err(e) => super::super::error_page(lang, PATH, refusal(e)),
    }
}

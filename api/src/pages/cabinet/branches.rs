//! `/cabinet/branches`: the partner's branches with their mailbox and moderation state, a new
//! branch (the name rules said before the name is typed), and the mailbox's confirmation code.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use diia_qr_domain::branch::BranchAddress;
use maud::html;
use uuid::Uuid;

use super::texts::texts;
use super::{cabinet_page, checked_form, csrf_field, problem, refusal, settled, signed_in, to_sign_in, Fields, Signed};
use crate::app::EngineError;
use crate::http::AppState;
use crate::pages::lang::Lang;

const PATH: &str = "/cabinet/branches";

pub async fn list(State(s): State<AppState>, lang: Lang, headers: HeaderMap) -> Response {
    let Some(signed) = signed_in(&s, &headers).await else { return to_sign_in() };
    show(&s, lang, &signed, StatusCode::OK, None, None).await
}

/// The page, with a refusal said beside the form it came from (`at`: `new` or a branch id) and
/// the typed values kept.
async fn show(
    s: &AppState,
    lang: Lang,
    signed: &Signed,
    status: StatusCode,
    refused: Option<(&str, String)>,
    typed: Option<&Fields>,
) -> Response {
    let t = texts(lang);
    let branches = match s.engine.branches_of(&signed.who).await {
        Ok(rows) => rows,
        Err(e) => return super::super::error_page(lang, PATH, refusal(e)),
    };
    let refused_at = |at: &str| refused.as_ref().filter(|(place, _)| *place == at).map(|(_, text)| problem(lang, text));
    // A refusal about no branch on this page (another's id) is said at the top.
    let elsewhere = refused
        .as_ref()
        .filter(|(at, _)| *at != "new" && !branches.iter().any(|b| b.branch_id.to_string() == *at))
        .map(|(_, text)| problem(lang, text));
    let value = |name: &str| typed.map_or(String::new(), |f| f.get(name).to_string());
    let main = html! {
        h1 { (t.branches_title) }
        @if let Some(p) = elsewhere { (p) }
        @if branches.is_empty() {
            p { (t.branches_none) }
        } @else {
            ul.cards {
                @for b in &branches {
                    li.card {
                        h2 { (b.name) }
                        p { (b.address) }
                        dl.facts {
                            dt { (t.branch_mailbox) }
                            dd {
                                (b.email) " — "
                                @if b.email_confirmed { strong { (t.mailbox_confirmed) } } @else { strong { (t.mailbox_unconfirmed) } }
                            }
                            dt { (t.branch_moderation) }
                            dd {
                                (match b.moderation.moderation.as_str() { "approved" => t.moderation_approved, "removed" => t.moderation_removed, _ => t.moderation_pending })
                                @if let Some(reason) = &b.moderation.moderation_reason { ": " (reason) }
                            }
                        }
                        @let id = b.branch_id.to_string();
                        @if let Some(p) = refused_at(&id) { (p) }
                        @if !b.email_confirmed {
                            @let code_id = format!("code-{id}");
                            form method="post" action={ (PATH) "/" (id) "/confirmation" } {
                                (csrf_field(signed))
                                label for=(code_id) { (t.mailbox_code) }
                                input id=(code_id) name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required
                                    aria-describedby={ "hint-" (id) };
                                p.hint id={ "hint-" (id) } { (t.mailbox_code_hint) " " (b.email) }
                                button type="submit" { (t.mailbox_confirm) }
                            }
                        }
                        details {
                            summary { (t.branch_change) }
                            form method="post" action={ (PATH) "/" (id) "/name" } {
                                (csrf_field(signed))
                                label for={ "name-" (id) } { (t.branch_name) }
                                input id={ "name-" (id) } name="name" type="text" required maxlength="200" value=(b.name) aria-describedby="name-rules";
                                p.hint { (t.rename_hint) }
                                button type="submit" { (t.rename) }
                            }
                            form method="post" action={ (PATH) "/" (id) "/mailbox" } {
                                (csrf_field(signed))
                                label for={ "email-" (id) } { (t.branch_email) }
                                input id={ "email-" (id) } name="email" type="email" required autocomplete="email" value=(b.email);
                                p.hint { (t.mailbox_change_hint) }
                                button type="submit" { (t.mailbox_change) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="new-branch" {
            h2 #new-branch { (t.branch_new) }
            p.note #name-rules { (t.branch_name_rules) }
            @if let Some(p) = refused_at("new") { (p) }
            form method="post" action=(PATH) {
                (csrf_field(signed))
                label for="name" { (t.branch_name) }
                input #name name="name" type="text" required maxlength="200" aria-describedby="name-rules" value=(value("name"));
                label for="region" { (t.region) }
                input #region name="region" type="text" required autocomplete="address-level1" value=(value("region"));
                label for="district" { (t.district) }
                input #district name="district" type="text" value=(value("district"));
                label for="locality" { (t.locality) }
                input #locality name="locality" type="text" required autocomplete="address-level2" value=(value("locality"));
                label for="street" { (t.street) }
                input #street name="street" type="text" required value=(value("street"));
                label for="house" { (t.house) }
                input #house name="house" type="text" required value=(value("house"));
                label for="email" { (t.branch_email) }
                input #email name="email" type="email" required autocomplete="email" aria-describedby="email-hint" value=(value("email"));
                p.hint #email-hint { (t.branch_email_hint) }
                button type="submit" { (t.branch_create) }
            }
        }
    };
    cabinet_page(status, lang, t.branches_title, PATH, Some(signed), main)
}

pub async fn create(State(s): State<AppState>, lang: Lang, headers: HeaderMap, body: Bytes) -> Response {
    let (signed, f) = match checked_form(&s, lang, &headers, &body).await {
        Ok(ok) => ok,
        Err(answer) => return answer,
    };
    let district = Some(f.get("district").trim()).filter(|d| !d.is_empty()).map(str::to_string);
    let address = BranchAddress {
        region: f.get("region").to_string(),
        district,
        locality: f.get("locality").to_string(),
        street: f.get("street").to_string(),
        house: f.get("house").to_string(),
    };
    match settled(&s, s.engine.create_branch(&signed.who, f.get("name"), address, f.get("email")).await.map(|_| ())).await {
        Ok(()) => Redirect::to(PATH).into_response(),
        Err((status, text)) => show(&s, lang, &signed, status, Some(("new", text)), Some(&f)).await,
    }
}

/// Confirms the mailbox with its code (`confirmation`), renames the branch (`name`) or gives it
/// a new mailbox (`mailbox`): for the partner's own branches only.
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
    // Only the partner's own branch: another's id is answered as no branch at all.
    let own = match (id.parse::<Uuid>(), s.engine.branches_of(&signed.who).await) {
        (Ok(branch_id), Ok(rows)) if rows.iter().any(|b| b.branch_id == branch_id) => Ok(branch_id),
        (_, Err(e)) => Err(e),
        _ => Err(EngineError::not_found("branch-not-found", "відділення не знайдено")),
    };
    let outcome = match (own, action.as_str()) {
        (Ok(branch_id), "confirmation") => s.engine.confirm_branch_email(branch_id, f.get("code").trim()).await,
        (Ok(branch_id), "name") => s.engine.rename_branch(&signed.who, branch_id, f.get("name")).await,
        (Ok(branch_id), "mailbox") => s.engine.change_branch_email(&signed.who, branch_id, f.get("email").trim()).await,
        (Ok(_), _) => return crate::pages::not_found(lang, PATH),
        (Err(e), _) => Err(e),
    };
    match settled(&s, outcome).await {
        Ok(()) => Redirect::to(PATH).into_response(),
        Err((status, text)) => show(&s, lang, &signed, status, Some((&id, text)), None).await,
    }
}

//! `/desk/partners`: every partner and its standing; an operator suspends one with a reason
//! (its QR codes stop answering) or reinstates it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use uuid::Uuid;

use super::texts::texts;
use super::{checked_form, desk_page, problem, refusal, settled, signed_in, to_sign_in, Operator};
use crate::app::EngineError;
use crate::http::AppState;
use crate::pages::lang::Lang;

const PATH: &str = "/desk/partners";

pub async fn list(State(s): State<AppState>, lang: Lang, headers: HeaderMap) -> Response {
    let Some(operator) = signed_in(&s, &headers).await else { return to_sign_in() };
    show(&s, lang, &operator, StatusCode::OK, None).await
}

async fn show(s: &AppState, lang: Lang, operator: &Operator, status: StatusCode, refused: Option<(Uuid, String)>) -> Response {
    let t = texts(lang);
    let partners = match s.engine.partners_on_record(None).await {
        Ok(rows) => rows,
        Err(e) => return crate::pages::error_page(lang, PATH, refusal(e)),
    };
    let when = |at| lang.kyiv_time(at);
    let standing = |code: &str| match code {
        "onboarding" => t.partner_statuses[0],
        "active" => t.partner_statuses[1],
        "suspended" => t.partner_statuses[2],
        _ => "—",
    };
    let main = html! {
        h1 { (t.partners_title) }
        @if let Some((_, text)) = refused.as_ref().filter(|(id, _)| !partners.iter().any(|p| p.partner_id == *id)) { (problem(lang, text)) }
        @if partners.is_empty() {
            p { (t.partners_none) }
        } @else {
            ul.cards {
                @for p in &partners {
                    @let id = p.partner_id.to_string();
                    li.card {
                        h2 { (p.organisation_name) }
                        dl.facts {
                            dt { (t.registry_code) } dd { (p.registry_code) }
                            dt { (t.status) } dd { strong { (standing(&p.status)) } }
                            dt { (t.registered) } dd { (when(p.registered_at)) }
                        }
                        @if let Some((_, text)) = refused.as_ref().filter(|(at, _)| *at == p.partner_id) { (problem(lang, text)) }
                        @if p.status == "suspended" {
                            form method="post" action={ (PATH) "/" (id) "/reinstatement" } {
                                (operator.csrf_field())
                                button type="submit" { (t.reinstate) }
                            }
                        } @else if p.status == "active" {
                            form method="post" action={ (PATH) "/" (id) "/suspension" } {
                                (operator.csrf_field())
                                label for={ "suspend-" (id) } { (t.suspend_reason) }
                                textarea id={ "suspend-" (id) } name="reason" required rows="2" maxlength="1000" {}
                                button.secondary type="submit" { (t.suspend) }
                            }
                        }
                    }
                }
            }
        }
    };
    desk_page(status, lang, t.partners_title, PATH, Some(operator), main)
}

pub async fn act(
    State(s): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (operator, f) = match checked_form(&s, lang, &headers, &body).await {
        Ok(ok) => ok,
        Err(answer) => return answer,
    };
    let Ok(partner_id) = id.parse::<Uuid>() else { return crate::pages::not_found(lang, PATH) };
    let outcome = match action.as_str() {
        "suspension" => s.engine.suspend_partner(&operator.name, partner_id, f.get("reason").trim()).await,
        "reinstatement" => s.engine.reinstate_partner(&operator.name, partner_id).await,
        _ => Err(EngineError::not_found("partner-not-found", "такого партнера немає")),
    };
    match settled(&s, outcome).await {
        Ok(()) => Redirect::to(PATH).into_response(),
        Err((status, text)) => show(&s, lang, &operator, status, Some((partner_id, text))).await,
    }
}

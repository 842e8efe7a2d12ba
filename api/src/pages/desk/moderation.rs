//! `/desk`: the moderation queue (and, by `?state=`, the names approved or removed), each name
//! with the revision the operator sees, so a decision names what was read: a name changed
//! since is refused, not approved unseen.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::texts::texts;
use super::{checked_form, desk_page, problem, refusal, settled, signed_in, to_sign_in, Operator};
use crate::app::moderation::Decision;
use crate::app::EngineError;
use crate::http::AppState;
use crate::pages::lang::Lang;

const PATH: &str = "/desk";

#[derive(Deserialize)]
pub struct StateQuery {
    state: Option<String>,
}

pub async fn queue(State(s): State<AppState>, lang: Lang, headers: HeaderMap, Query(q): Query<StateQuery>) -> Response {
    let Some(operator) = signed_in(&s, &headers).await else { return to_sign_in() };
    show(&s, lang, &operator, q.state.as_deref().unwrap_or("pending"), StatusCode::OK, None).await
}

/// The names in `state`, with a refusal (`at`: the subject's id, and the words) said beside its form.
async fn show(s: &AppState, lang: Lang, operator: &Operator, state: &str, status: StatusCode, refused: Option<(Uuid, String)>) -> Response {
    let t = texts(lang);
    let items = match s.engine.moderation_queue(Some(state)).await {
        Ok(items) => items,
        Err(e) => return crate::pages::error_page(lang, PATH, refusal(e)),
    };
    let when = |at| lang.kyiv_time(at);
    let states = [("pending", t.state_pending), ("approved", t.state_approved), ("removed", t.state_removed)];
    let main = html! {
        h1 { (t.moderation_title) }
        p { (t.moderation_intro) }
        nav aria-label=(t.status) {
            ul.tabs {
                @for (code, name) in states {
                    li { a href={ (PATH) "?state=" (code) } aria-current=[(code == state).then_some("page")] { (name) } }
                }
            }
        }
        @if let Some((_, text)) = refused.as_ref().filter(|(id, _)| !items.iter().any(|i| i.subject_id == *id)) {
            (problem(lang, text))
        }
        @if items.is_empty() {
            p { (t.queue_empty) }
        } @else {
            ul.cards {
                @for item in &items {
                    @let names: Vec<String> = serde_json::from_value(item.names.clone()).unwrap_or_default();
                    @let id = item.subject_id.to_string();
                    li.card {
                        h2 { (names.join(" · ")) }
                        dl.facts {
                            dt { (t.status) } dd { (if item.subject == "branch" { t.subject_branch } else { t.subject_service }) }
                            dt { (t.organisation) } dd { (item.organisation_name.as_deref().unwrap_or("—")) }
                            @if item.subject == "service" {
                                dt { (t.branch) } dd { (item.branch_name.as_deref().unwrap_or("—")) }
                            }
                            @if let Some(at) = item.submitted_at { dt { (t.submitted) } dd { (when(at)) } }
                            @if let Some(at) = item.decided_at { dt { (t.decided) } dd { (when(at)) } }
                            @if let Some(reason) = &item.reason { dt { (t.reason) } dd { (reason) } }
                        }
                        @if let Some((_, text)) = refused.as_ref().filter(|(at, _)| *at == item.subject_id) { (problem(lang, text)) }
                        @if item.state == "pending" {
                            @let action = format!("{PATH}/moderation/{}/{id}", item.subject);
                            div.actions {
                                form.inline method="post" action={ (action) "/approval" } {
                                    (operator.csrf_field())
                                    input type="hidden" name="revision" value=(item.revision);
                                    button type="submit" { (t.approve) }
                                }
                            }
                            form method="post" action={ (action) "/removal" } {
                                (operator.csrf_field())
                                input type="hidden" name="revision" value=(item.revision);
                                label for={ "reason-" (id) } { (t.reason) }
                                textarea id={ "reason-" (id) } name="reason" required rows="2" maxlength="1000" aria-describedby={ "reason-hint-" (id) } {}
                                p.hint id={ "reason-hint-" (id) } { (t.reason_hint) }
                                button.secondary type="submit" { (t.remove) }
                            }
                        }
                    }
                }
            }
        }
    };
    desk_page(status, lang, t.moderation_title, PATH, Some(operator), main)
}

pub async fn decide(
    State(s): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Path((subject, id, decision)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let (operator, f) = match checked_form(&s, lang, &headers, &body).await {
        Ok(ok) => ok,
        Err(answer) => return answer,
    };
    let not_found = || EngineError::not_found("moderation-subject-not-found", "такої назви на модерації немає");
    let Ok(subject_id) = id.parse::<Uuid>() else { return crate::pages::not_found(lang, PATH) };
    let outcome = match (f.get("revision").parse::<u32>(), decision.as_str()) {
        (Ok(revision), "approval" | "removal") => {
            let decided =
                if decision == "approval" { Decision::Approve } else { Decision::Remove { reason: f.get("reason").trim().to_string() } };
            match subject.as_str() {
                "branch" => s.engine.moderate_branch(&operator.name, subject_id, revision, decided).await,
                "service" => s.engine.moderate_service(&operator.name, subject_id, revision, decided).await,
                _ => Err(not_found()),
            }
        }
        _ => Err(not_found()),
    };
    match settled(&s, outcome).await {
        Ok(()) => Redirect::to(PATH).into_response(),
        Err((status, text)) => show(&s, lang, &operator, "pending", status, Some((subject_id, text))).await,
    }
}

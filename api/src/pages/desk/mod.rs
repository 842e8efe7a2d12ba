//! `/desk`: the operators' desk. An operator signs in with their КЕП in the browser, at the
//! operators' door (the certificate's РНОКПП must be an operator's), then moderates the names
//! citizens read, suspends and reinstates partners, and watches the projections and the mail.
//! The session is an operator token in an HTTP-only, same-site cookie for `/desk`; every form
//! carries the session's anti-forgery token and is taken only from this origin.

mod moderation;
mod partners;
mod sign_in;
mod status;
mod texts;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};

use super::forms::{cookie, csrf_token, genuine_form, Fields};
use super::lang::Lang;
use super::layout::{page, respond};
use super::outcome::{problem, refusal, settled};
use crate::app::sessions::Claims;
use crate::http::AppState;
use texts::texts;

const SESSION_COOKIE: &str = "diia_qr_desk";
const COOKIE_PATH: &str = "/desk";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/desk", get(moderation::queue))
        .route("/desk/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/desk/sign-out", post(sign_in::sign_out))
        .route("/desk/moderation/{subject}/{id}/{decision}", post(moderation::decide))
        .route("/desk/partners", get(partners::list))
        .route("/desk/partners/{id}/{action}", post(partners::act))
        .route("/desk/status", get(status::show))
}

/// A signed-in operator: their name (as their certificate has it) and the session's token.
pub struct Operator {
    pub name: String,
    token: String,
}

impl Operator {
    fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(csrf_token(&self.token)); }
    }
}

async fn signed_in(s: &AppState, headers: &HeaderMap) -> Option<Operator> {
    let token = cookie(headers, SESSION_COOKIE)?;
    match s.engine.session(&token).await.ok()?.claims {
        Claims::Operator { name, .. } => Some(Operator { name, token }),
        _ => None,
    }
}

fn to_sign_in() -> Response {
    Redirect::to("/desk/sign-in").into_response()
}

/// A signed-in form, checked: its session, then that it is this session's form from this origin.
async fn checked_form(s: &AppState, lang: Lang, headers: &HeaderMap, body: &Bytes) -> Result<(Operator, Fields), Response> {
    let Some(operator) = signed_in(s, headers).await else { return Err(to_sign_in()) };
    let fields = Fields::parse(body);
    if !genuine_form(headers, &operator.token, fields.get("csrf")) {
        let words = super::cabinet::texts(lang);
        return Err(desk_page(StatusCode::FORBIDDEN, lang, words.refused, "/desk", Some(&operator), problem(lang, words.foreign_form)));
    }
    Ok((operator, fields))
}

/// A desk page: the shell's page with the desk's navigation (when signed in) above `main`.
fn desk_page(status: StatusCode, lang: Lang, title: &str, path: &str, operator: Option<&Operator>, main: Markup) -> Response {
    let t = texts(lang);
    let words = super::cabinet::texts(lang);
    let current = |p: &str| (path == p).then_some("page");
    let body = html! {
        @if let Some(operator) = operator {
            div.cabinet-bar {
                p.who { (words.signed_in_as) ": " strong { (operator.name) } " (" (t.nav_label) ")" }
                form.inline method="post" action="/desk/sign-out" {
                    (operator.csrf_field())
                    button.secondary type="submit" { (words.sign_out) }
                }
            }
            nav.cabinet aria-label=(t.nav_label) {
                ul {
                    li { a href="/desk" aria-current=[current("/desk")] { (t.nav_moderation) } }
                    li { a href="/desk/partners" aria-current=[current("/desk/partners")] { (t.nav_partners) } }
                    li { a href="/desk/status" aria-current=[current("/desk/status")] { (t.nav_status) } }
                }
            }
        }
        (main)
    };
    let mut response = respond(status, page(lang, title, path, body));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

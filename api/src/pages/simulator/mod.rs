//! `/simulator`: the citizen's side of Diia.QR as the Diia app would show it, for development
//! only (it answers only with `--dev-sign-in`, as the development sign-ins do). A demo citizen
//! is chosen, a QR is "scanned" (a photo of the poster read in the browser, its link, or the
//! printed code), and the request is walked through: choices, the photo check, Diia.Signature,
//! the draft letter, Send, and the letter as it was delivered. The simulated citizen's session
//! is an HTTP-only, same-site cookie; forms are accepted only from this origin.

mod request;
mod texts;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use diia_qr_domain::demo::demo_citizens;
use diia_qr_domain::identifiers::Rnokpp;
use maud::{html, Markup};
use serde::Deserialize;

use super::forms::{cookie, from_this_origin, set_cookie};
use super::lang::Lang;
use super::layout::{page, respond_with_decoder};
use crate::app::sessions::Claims;
use crate::http::problem::ApiError;
use crate::http::AppState;
use texts::texts;

/// The cookie that holds the simulated citizen's session.
const SESSION_COOKIE: &str = "diia_qr_simulator";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/simulator", get(start))
        .route("/simulator/scans", post(scan))
        .route("/simulator/requests/{id}", get(request::show))
        .route("/simulator/requests/{id}/{action}", post(request::act))
        .route("/simulator/requests/{id}/letter/{index}", get(request::attachment))
        .route("/assets/simulator.js", get(script))
}

/// Reads a poster's QR code from a picked image, in the browser (zxing-wasm), into the link field.
async fn script() -> Response {
    super::asset("text/javascript; charset=utf-8", include_str!("../../../assets/cabinet/simulator.js"))
}

/// The simulator exists only where the development sign-ins do: elsewhere, the page that says
/// there is no such page.
fn absent(s: &AppState, lang: Lang, path: &str) -> Option<Response> {
    (!s.engine.dev_sign_in_enabled()).then(|| super::not_found(lang, path))
}

/// The simulated citizen, from the session cookie.
async fn citizen(s: &AppState, headers: &HeaderMap) -> Option<Rnokpp> {
    let token = cookie(headers, SESSION_COOKIE)?;
    match s.engine.session(&token).await.ok()?.claims {
        Claims::Citizen { rnokpp, .. } => Some(rnokpp),
        _ => None,
    }
}

fn start_form(lang: Lang, problem: Option<&str>) -> Markup {
    let t = texts(lang);
    html! {
        h1 { (t.title) }
        p { (t.intro) }
        @if let Some(problem) = problem {
            div.problem role="alert" { strong { (t.refused) ": " } (problem) }
        }
        form method="post" action="/simulator/scans" {
            label for="citizen" { (t.citizen) }
            select #citizen name="citizen" {
                @for c in demo_citizens() {
                    option value=(c.rnokpp.as_str()) { (c.full_name) }
                }
            }
            label for="link" { (t.link) }
            input #link name="link" type="text" required autocomplete="off" aria-describedby="link-hint";
            p.hint #link-hint { (t.link_hint) }
            // Read in the browser by simulator.js; without scripts the field above is the way.
            label for="poster" { (t.photo_of_poster) }
            input #poster type="file" accept="image/*" aria-describedby="poster-hint poster-status"
                data-read=(t.poster_read) data-unreadable=(t.poster_unreadable);
            p.hint #poster-hint { (t.photo_of_poster_hint) }
            p.hint #poster-status role="status" aria-live="polite" {}
            button type="submit" { (t.scan) }
        }
        script src="/assets/zxing-reader.js" {}
        script src="/assets/simulator.js" {}
    }
}

pub async fn start(State(s): State<AppState>, lang: Lang) -> Response {
    if let Some(absent) = absent(&s, lang, "/simulator") {
        return absent;
    }
    respond_with_decoder(StatusCode::OK, page(lang, texts(lang).title, "/simulator", start_form(lang, None)))
}

#[derive(Deserialize)]
pub struct ScanForm {
    citizen: String,
    link: String,
}

pub async fn scan(State(s): State<AppState>, lang: Lang, headers: HeaderMap, Form(form): Form<ScanForm>) -> Response {
    if let Some(absent) = absent(&s, lang, "/simulator") {
        return absent;
    }
    let refuse = |status: StatusCode, problem: &str| {
        respond_with_decoder(status, page(lang, texts(lang).title, "/simulator", start_form(lang, Some(problem))))
    };
    if !from_this_origin(&headers) {
        return refuse(StatusCode::FORBIDDEN, texts(lang).foreign_form);
    }
    let opened = async {
        let token = s.engine.dev_citizen_session(form.citizen.trim()).await?;
        let citizen = Rnokpp::parse(form.citizen.trim()).map_err(|e| crate::app::EngineError::invalid("rnokpp-invalid", e))?;
        let (id, _) = s.engine.scan(&citizen, &form.link).await?;
        Ok::<_, crate::app::EngineError>((token, id))
    };
    match opened.await {
        Ok((token, id)) => {
            let mut response = Redirect::to(&format!("/simulator/requests/{id}")).into_response();
            set_cookie(&mut response, &s.engine.settings().public_base_url, SESSION_COOKIE, &token, "/simulator");
            response
        }
        Err(e) => {
            let e = ApiError::from(e);
            refuse(e.status, &e.detail)
        }
    }
}

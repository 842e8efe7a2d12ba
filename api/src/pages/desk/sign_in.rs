//! An operator signs in with their КЕП, signed in the browser by the cabinet's own form, at the
//! operators' door: a partner's challenge does not open it, nor a certificate not an operator's.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::texts::texts;
use super::{checked_form, desk_page, problem, refusal, COOKIE_PATH, SESSION_COOKIE};
use crate::app::sign_in::SignInChallenge;
use crate::http::AppState;
use crate::pages::cabinet::signing_form;
use crate::pages::forms::{clear_cookie, from_this_origin, set_cookie, Fields};
use crate::pages::lang::Lang;

fn sign_in_page(s: &AppState, lang: Lang, status: StatusCode, challenge: &SignInChallenge, problem_text: Option<&str>) -> Response {
    let t = texts(lang);
    let words = crate::pages::cabinet::texts(lang);
    let hidden = html! { input type="hidden" name="challenge_id" value=(challenge.challenge_id); };
    let main = html! {
        h1 { (t.sign_in_title) }
        p { (t.sign_in_intro) }
        @if let Some(text) = problem_text { (problem(lang, text)) }
        (signing_form(words, "/desk/sign-in", ("text", &challenge.text), hidden, t.sign_in_button))
        @if let Some(dir) = &s.engine.settings().dev_pki_dir {
            p.note { (t.dev_pki) " " code { (dir.join("operators").display()) } " (operator.key.pem, operator.pem)." }
        }
    };
    desk_page(status, lang, t.sign_in_title, "/desk/sign-in", None, main)
}

async fn fresh(s: &AppState, lang: Lang, status: StatusCode, problem_text: Option<&str>) -> Response {
    match s.engine.operator_kep_challenge().await {
        Ok(challenge) => sign_in_page(s, lang, status, &challenge, problem_text),
        Err(e) => crate::pages::error_page(lang, "/desk/sign-in", refusal(e)),
    }
}

pub async fn form(State(s): State<AppState>, lang: Lang) -> Response {
    fresh(&s, lang, StatusCode::OK, None).await
}

pub async fn submit(State(s): State<AppState>, lang: Lang, headers: HeaderMap, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    let words = crate::pages::cabinet::texts(lang);
    if !from_this_origin(&headers) {
        return fresh(&s, lang, StatusCode::FORBIDDEN, Some(words.foreign_form)).await;
    }
    let Ok(challenge_id) = fields.get("challenge_id").parse() else {
        return fresh(&s, lang, StatusCode::BAD_REQUEST, Some(words.challenge_gone)).await;
    };
    match s.engine.operator_kep_sign_in(challenge_id, fields.get("signature")).await {
        Ok(signed) => {
            let mut response = Redirect::to("/desk").into_response();
            set_cookie(&mut response, &s.engine.settings().public_base_url, SESSION_COOKIE, &signed.token, COOKIE_PATH);
            response
        }
        Err(e) => {
            let (status, text) = refusal(e);
            fresh(&s, lang, status, Some(&text)).await
        }
    }
}

pub async fn sign_out(State(s): State<AppState>, lang: Lang, headers: HeaderMap, body: Bytes) -> Response {
    let (operator, _) = match checked_form(&s, lang, &headers, &body).await {
        Ok(ok) => ok,
        Err(answer) => return answer,
    };
    let _ = s.engine.end_session(&operator.token).await;
    let mut response = Redirect::to("/desk/sign-in").into_response();
    clear_cookie(&mut response, SESSION_COOKIE, COOKIE_PATH);
    response
}

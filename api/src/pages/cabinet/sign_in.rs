//! Signing in with the head's КЕП: the page carries a fresh challenge, `kep.js` signs it in the
//! browser, and the engine checks the signature exactly as `POST /api/v1/partner/sign-in` does.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

use super::texts::{texts, Texts};
use super::{cabinet_page, checked_form, problem, refusal, Fields, COOKIE_PATH, SESSION_COOKIE};
use crate::app::sign_in::SignInChallenge;
use crate::http::AppState;
use crate::pages::forms::{clear_cookie, from_this_origin, set_cookie};
use crate::pages::lang::Lang;

/// The КЕП fields and messages of a signing form; `kep.js` does the rest. The file inputs have
/// no name: the browser never sends them.
fn kep_fields(t: &Texts, button: &str) -> Markup {
    html! {
        input type="hidden" name="signature" value="";
        label for="kep-key" { (t.kep_key) }
        input #kep-key type="file" data-kep-key required accept=".pem,.key,.p12,.pfx" aria-describedby="kep-key-hint";
        p.hint #kep-key-hint { (t.kep_key_hint) }
        label for="kep-cert" { (t.kep_cert) }
        input #kep-cert type="file" data-kep-cert accept=".pem,.crt,.cer" aria-describedby="kep-cert-hint";
        p.hint #kep-cert-hint { (t.kep_cert_hint) }
        label for="kep-password" { (t.kep_password) }
        input #kep-password type="password" data-kep-password autocomplete="off" aria-describedby="kep-password-hint";
        p.hint #kep-password-hint { (t.kep_password_hint) " " (t.kep_private) }
        p.hint #kep-status data-kep-status role="status" aria-live="polite" {}
        noscript { p.problem { (t.kep_no_script) } }
        button type="submit" { (button) }
    }
}

/// A form that signs in the browser: `target` is what it signs (`data-text` or `data-document`).
pub fn signing_form(t: &Texts, action: &str, target: (&str, &str), hidden: Markup, button: &str) -> Markup {
    // The messages kep.js shows, in the page's language.
    html! {
        form method="post" action=(action) data-kep-sign
            data-text=[(target.0 == "text").then_some(target.1)] data-document=[(target.0 == "document").then_some(target.1)]
            data-msg-working=(t.msg_working) data-msg-signed=(t.msg_signed) data-msg-no-key=(t.msg_no_key)
            data-msg-no-certificate=(t.msg_no_certificate) data-msg-encrypted-pem=(t.msg_encrypted_pem)
            data-msg-wrong-password=(t.msg_wrong_password) data-msg-unsupported=(t.msg_unsupported)
            data-msg-mismatch=(t.msg_mismatch) data-msg-signing=(t.msg_signing) data-msg-document=(t.msg_document) {
            (hidden)
            (kep_fields(t, button))
        }
        script src="/assets/pkijs.js" {}
        script src="/assets/kep.js" {}
    }
}

fn sign_in_page(s: &AppState, lang: Lang, status: StatusCode, challenge: &SignInChallenge, problem_text: Option<&str>) -> Response {
    let t = texts(lang);
    let hidden = html! { input type="hidden" name="challenge_id" value=(challenge.challenge_id); };
    let main = html! {
        h1 { (t.sign_in_title) }
        p { (t.sign_in_intro) }
        @if let Some(text) = problem_text { (problem(lang, text)) }
        (signing_form(t, "/cabinet/sign-in", ("text", &challenge.text), hidden, t.sign_in_button))
        @if let Some(dir) = &s.engine.settings().dev_pki_dir {
            p.note { (t.dev_pki) " " code { (dir.join("partners").display()) } " (hotel-palazzo.key.pem, hotel-palazzo.pem)." }
        }
    };
    cabinet_page(status, lang, t.sign_in_title, "/cabinet/sign-in", None, main)
}

pub async fn form(State(s): State<AppState>, lang: Lang) -> Response {
    match s.engine.kep_challenge().await {
        Ok(challenge) => sign_in_page(&s, lang, StatusCode::OK, &challenge, None),
        Err(e) => super::super::error_page(lang, "/cabinet/sign-in", refusal(e)),
    }
}

pub async fn submit(State(s): State<AppState>, lang: Lang, headers: HeaderMap, body: Bytes) -> Response {
    let fields = Fields::parse(&body);
    // A refused sign-in shows the reason beside a fresh challenge (the old one may be spent).
    let again = |status: StatusCode, text: String| {
        let s = s.clone();
        async move {
            match s.engine.kep_challenge().await {
                Ok(challenge) => sign_in_page(&s, lang, status, &challenge, Some(&text)),
                Err(e) => super::super::error_page(lang, "/cabinet/sign-in", refusal(e)),
            }
        }
    };
    if !from_this_origin(&headers) {
        return again(StatusCode::FORBIDDEN, texts(lang).foreign_form.to_string()).await;
    }
    let Ok(challenge_id) = fields.get("challenge_id").parse() else {
        return again(StatusCode::BAD_REQUEST, texts(lang).challenge_gone.to_string()).await;
    };
    match s.engine.kep_sign_in(challenge_id, fields.get("signature")).await {
        Ok(signed) => {
            let mut response = Redirect::to("/cabinet").into_response();
            set_cookie(&mut response, &s.engine.settings().public_base_url, SESSION_COOKIE, &signed.token, COOKIE_PATH);
            response
        }
        Err(e) => {
            let (status, text) = refusal(e);
            again(status, text).await
        }
    }
}

pub async fn sign_out(State(s): State<AppState>, lang: Lang, headers: HeaderMap, body: Bytes) -> Response {
    let (signed, _) = match checked_form(&s, lang, &headers, &body).await {
        Ok(ok) => ok,
        Err(answer) => return answer,
    };
    // Ending a session that is already over is not the user's problem: they are out either way.
    let _ = s.engine.end_session(&signed.token).await;
    let mut response = Redirect::to("/cabinet/sign-in").into_response();
    clear_cookie(&mut response, SESSION_COOKIE, COOKIE_PATH);
    response
}

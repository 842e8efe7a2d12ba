//! `/cabinet` until the organisation is a partner: registration from the КЕП's details, the
//! profile, the public offer, and the accession application signed in the browser; afterwards,
//! where the partner stands.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use diia_qr_domain::partner::{Partner, PartnerStatus};
use maud::{html, Markup};

use super::sign_in::signing_form;
use super::texts::{texts, Texts};
use super::{cabinet_page, checked_form, csrf_field, problem, refusal, signed_in, to_sign_in, Signed};
use crate::app::offer::{offer_sha256, OFFER_TEXT, OFFER_VERSION};
use crate::app::EngineError;
use crate::http::AppState;
use crate::pages::lang::Lang;

/// Which onboarding step the partner is at (0 = registration … 3 = the application; 4 = done).
fn step_of(partner: &Partner) -> usize {
    match partner.status() {
        PartnerStatus::Unregistered => 0,
        PartnerStatus::Onboarding if partner.profile().is_none() => 1,
        PartnerStatus::Onboarding if partner.offer().is_none() => 2,
        PartnerStatus::Onboarding => 3,
        PartnerStatus::Active | PartnerStatus::Suspended => 4,
    }
}

pub async fn home(State(s): State<AppState>, lang: Lang, headers: HeaderMap) -> Response {
    let Some(signed) = signed_in(&s, &headers).await else { return to_sign_in() };
    show(&s, lang, &signed, StatusCode::OK, None).await
}

/// The cabinet's first page as it stands, with `problem_text` said above the step's form.
async fn show(s: &AppState, lang: Lang, signed: &Signed, status: StatusCode, problem_text: Option<&str>) -> Response {
    let t = texts(lang);
    let partner = match s.engine.partner(&signed.who).await {
        Ok(partner) => partner,
        Err(e) => return super::super::error_page(lang, "/cabinet", refusal(e)),
    };
    let step = step_of(&partner);
    // Once a partner, the page opens on the last 30 days; a view that cannot answer leaves the
    // chart out rather than the page.
    let overview = if step == 4 { s.engine.overview(&signed.who, None, None).await.ok() } else { None };
    let main = html! {
        @if step < 4 {
            h1 { (t.onboarding_title) }
            p { (t.onboarding_intro) }
            ol.progress aria-label=(t.onboarding_title) {
                @for (i, name) in t.steps.iter().enumerate() {
                    @if i == step { li.current aria-current="step" { (name) } }
                    @else if i < step { li.done { (name) } }
                    @else { li { (name) } }
                }
            }
        } @else {
            h1 { (partner.organisation_name()) }
        }
        dl.facts {
            dt { (t.organisation) } dd { (signed.who.organisation_name) " (" (signed.who.kind.registry_code()) ")" }
            dt { (t.head) } dd { (signed.who.head.full_name) }
        }
        @if let Some(text) = problem_text { (problem(lang, text)) }
        (step_form(t, signed, step))
        @if let Some(overview) = &overview { (super::overview::section(t, overview)) }
        @if partner.status() == PartnerStatus::Suspended { div.problem role="status" { (t.suspended) } }
    };
    let title = if step < 4 { t.onboarding_title } else { t.nav_overview };
    cabinet_page(status, lang, title, "/cabinet", Some(signed), main)
}

fn step_form(t: &Texts, signed: &Signed, step: usize) -> Markup {
    match step {
        0 => html! {
            section aria-labelledby="register-title" {
                h2 #register-title { (t.register_title) }
                p { (t.register_text) }
                form method="post" action="/cabinet/registration" {
                    (csrf_field(signed))
                    button type="submit" { (t.register_button) }
                }
            }
        },
        1 => html! {
            section aria-labelledby="profile-title" {
                h2 #profile-title { (t.profile_title) }
                p.hint { (t.profile_hint) }
                form method="post" action="/cabinet/profile" {
                    (csrf_field(signed))
                    label for="email" { (t.email) }
                    input #email name="email" type="email" required autocomplete="email";
                    label for="phone" { (t.phone) }
                    input #phone name="phone" type="tel" required autocomplete="tel" aria-describedby="phone-hint";
                    p.hint #phone-hint { (t.phone_hint) }
                    label for="passport" { (t.passport) }
                    input #passport name="passport" type="text" required autocomplete="off" aria-describedby="passport-hint";
                    p.hint #passport-hint { (t.passport_hint) }
                    button type="submit" { (t.save) }
                }
            }
        },
        2 => html! {
            section aria-labelledby="offer-title" {
                h2 #offer-title { (t.offer_title) }
                p.hint { (t.offer_hint) }
                p { (t.offer_version) ": " (OFFER_VERSION) }
                h3 { (t.offer_read) }
                div.offer-text lang="uk" tabindex="0" aria-label=(t.offer_read) {
                    @for paragraph in OFFER_TEXT.lines() { p { (paragraph) } }
                }
                form method="post" action="/cabinet/offer" {
                    (csrf_field(signed))
                    input type="hidden" name="version" value=(OFFER_VERSION);
                    input type="hidden" name="sha256" value=(offer_sha256());
                    div.choice {
                        input #agree name="agree" type="checkbox" value="yes" required;
                        label for="agree" { (t.offer_agree) }
                    }
                    button type="submit" { (t.offer_button) }
                }
            }
        },
        3 => html! {
            section aria-labelledby="application-title" {
                h2 #application-title { (t.application_title) }
                p.hint { (t.application_hint) }
                p { a href="/cabinet/application.pdf" { (t.application_pdf) } }
                (signing_form(t, "/cabinet/application", ("document", "/cabinet/application.pdf"), csrf_field(signed), t.application_button))
            }
        },
        _ => html! {},
    }
}

/// After an onboarding action: the cabinet via a redirect when it was done (a reload repeats
/// nothing), else the same step with the refusal said above its form.
async fn after(s: &AppState, lang: Lang, signed: &Signed, outcome: Result<(), EngineError>) -> Response {
    match outcome {
        Ok(()) => Redirect::to("/cabinet").into_response(),
        Err(e) => {
            let (status, text) = refusal(e);
            show(s, lang, signed, status, Some(&text)).await
        }
    }
}

pub async fn register(State(s): State<AppState>, lang: Lang, headers: HeaderMap, body: Bytes) -> Response {
    let (signed, _) = match checked_form(&s, lang, &headers, &body).await {
        Ok(ok) => ok,
        Err(answer) => return answer,
    };
    let outcome = s.engine.register_partner(&signed.who).await.map(|_| ());
    after(&s, lang, &signed, outcome).await
}

pub async fn profile(State(s): State<AppState>, lang: Lang, headers: HeaderMap, body: Bytes) -> Response {
    let (signed, f) = match checked_form(&s, lang, &headers, &body).await {
        Ok(ok) => ok,
        Err(answer) => return answer,
    };
    let outcome = s.engine.fill_profile(&signed.who, f.get("email"), f.get("phone"), f.get("passport")).await;
    after(&s, lang, &signed, outcome).await
}

pub async fn accept_offer(State(s): State<AppState>, lang: Lang, headers: HeaderMap, body: Bytes) -> Response {
    let (signed, f) = match checked_form(&s, lang, &headers, &body).await {
        Ok(ok) => ok,
        Err(answer) => return answer,
    };
    let outcome = if f.get("agree") == "yes" {
        s.engine.accept_offer(&signed.who, f.get("version"), f.get("sha256")).await
    } else {
        Err(EngineError::invalid("offer-not-agreed", "позначте, що ви прочитали оферту і приймаєте її умови"))
    };
    after(&s, lang, &signed, outcome).await
}

pub async fn sign_application(State(s): State<AppState>, lang: Lang, headers: HeaderMap, body: Bytes) -> Response {
    let (signed, f) = match checked_form(&s, lang, &headers, &body).await {
        Ok(ok) => ok,
        Err(answer) => return answer,
    };
    let outcome = s.engine.sign_accession_application(&signed.who, f.get("signature")).await;
    after(&s, lang, &signed, outcome).await
}

/// The exact bytes the head signs.
pub async fn application_pdf(State(s): State<AppState>, lang: Lang, headers: HeaderMap) -> Response {
    let Some(signed) = signed_in(&s, &headers).await else { return to_sign_in() };
    match s.engine.accession_application_pdf(&signed.who).await {
        Ok(pdf) => ([(header::CONTENT_TYPE, "application/pdf"), (header::CACHE_CONTROL, "no-store")], pdf).into_response(),
        Err(e) => super::super::error_page(lang, "/cabinet", refusal(e)),
    }
}

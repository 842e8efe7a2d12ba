//! `/cabinet`: the partner's cabinet. The head signs in with the КЕП in the browser (the key
//! never leaves it), then walks the onboarding (registration, profile, offer, the signed
//! accession application) and works with branches, services and received documents. The
//! session is the API's sealed token in an HTTP-only, same-site cookie for `/cabinet`; every
//! form carries the session's anti-forgery token and is taken only from this origin. Each
//! action is one engine call, as the JSON API's is.

mod audit_export;
mod branches;
mod documents;
mod onboarding;
mod overview;
mod services;
mod sign_in;
mod texts;

// The operators' desk signs in with the same КЕП form and its words.
pub(super) use sign_in::signing_form;
pub(super) use texts::texts;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};

pub use super::forms::Fields;
use super::forms::{cookie, csrf_token, genuine_form};
use super::lang::Lang;
use super::layout::{page, respond};
use super::outcome::{problem, refusal, settled};
use crate::app::sessions::Claims;
use crate::app::PartnerIdentity;
use crate::http::AppState;

/// The cookie that holds the partner's session.
const SESSION_COOKIE: &str = "diia_qr_cabinet";
const COOKIE_PATH: &str = "/cabinet";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cabinet", get(onboarding::home))
        .route("/cabinet/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/cabinet/sign-out", post(sign_in::sign_out))
        .route("/cabinet/registration", post(onboarding::register))
        .route("/cabinet/profile", post(onboarding::profile))
        .route("/cabinet/offer", post(onboarding::accept_offer))
        .route("/cabinet/application.pdf", get(onboarding::application_pdf))
        .route("/cabinet/application", post(onboarding::sign_application))
        .route("/cabinet/branches", get(branches::list).post(branches::create))
        .route("/cabinet/branches/{id}/{action}", post(branches::act))
        .route("/cabinet/services", get(services::list).post(services::create))
        .route("/cabinet/services/{id}/{action}", post(services::act).get(services::file))
        .route("/cabinet/documents", get(documents::search))
        .route("/cabinet/documents/{id}", get(documents::share))
        .route("/cabinet/documents/{id}/{file}", get(documents::copy))
        .route(audit_export::PATH, get(audit_export::export))
        .route("/assets/kep.js", get(kep_script))
        .route("/assets/pkijs.js", get(pkijs_script))
        .route("/assets/poster-png.js", get(poster_png_script))
}

/// Signs with the КЕП in the browser (see the file's header).
async fn kep_script() -> Response {
    super::asset("text/javascript; charset=utf-8", include_str!("../../../assets/cabinet/kep.js"))
}

/// Makes the poster's PNG in the browser (see the file's header).
async fn poster_png_script() -> Response {
    super::asset("text/javascript; charset=utf-8", include_str!("../../../assets/cabinet/poster-png.js"))
}

/// PKI.js and asn1js, bundled by `scripts/vendor-browser-libs`.
async fn pkijs_script() -> Response {
    super::asset("text/javascript; charset=utf-8", include_str!("../../../assets/vendor/pkijs/pkijs.js"))
}

/// A signed-in partner's head: whom they act for, and the session's token (its anti-forgery
/// token is derived from it).
pub struct Signed {
    pub who: PartnerIdentity,
    token: String,
}

impl Signed {
    pub fn csrf(&self) -> String {
        csrf_token(&self.token)
    }
}

async fn signed_in(s: &AppState, headers: &HeaderMap) -> Option<Signed> {
    let token = cookie(headers, SESSION_COOKIE)?;
    match s.engine.session(&token).await.ok()?.claims {
        Claims::Partner { identity, .. } => Some(Signed { who: identity, token }),
        _ => None,
    }
}

/// The way to a page for someone not signed in: the sign-in page.
fn to_sign_in() -> Response {
    Redirect::to("/cabinet/sign-in").into_response()
}

/// A signed-in form, checked: its session, then that it is this session's form from this
/// origin. `Err` is the answer to give instead (the sign-in page, or a refusal).
async fn checked_form(s: &AppState, lang: Lang, headers: &HeaderMap, body: &Bytes) -> Result<(Signed, Fields), Response> {
    let Some(signed) = signed_in(s, headers).await else { return Err(to_sign_in()) };
    let fields = Fields::parse(body);
    if !genuine_form(headers, &signed.token, fields.get("csrf")) {
        let t = texts(lang);
        return Err(cabinet_page(StatusCode::FORBIDDEN, lang, t.refused, "/cabinet", Some(&signed), problem(lang, t.foreign_form)));
    }
    Ok((signed, fields))
}

/// The hidden field every signed-in form carries.
fn csrf_field(signed: &Signed) -> Markup {
    html! { input type="hidden" name="csrf" value=(signed.csrf()); }
}

/// A cabinet page: the shell's page with the cabinet's navigation (when signed in) above `main`.
fn cabinet_page(status: StatusCode, lang: Lang, title: &str, path: &str, signed: Option<&Signed>, main: Markup) -> Response {
    let t = texts(lang);
    let body = html! {
        @if let Some(signed) = signed {
            div.cabinet-bar {
                p.who { (t.signed_in_as) ": " strong { (signed.who.head.full_name) } ", " (signed.who.organisation_name) }
                form.inline method="post" action="/cabinet/sign-out" {
                    (csrf_field(signed))
                    button.secondary type="submit" { (t.sign_out) }
                }
            }
            nav.cabinet aria-label=(t.nav_label) {
                ul {
                    li { a href="/cabinet" aria-current=[(path == "/cabinet").then_some("page")] { (t.nav_overview) } }
                    li { a href="/cabinet/branches" aria-current=[(path == "/cabinet/branches").then_some("page")] { (t.nav_branches) } }
                    li { a href="/cabinet/services" aria-current=[(path == "/cabinet/services").then_some("page")] { (t.nav_services) } }
                    li { a href="/cabinet/documents" aria-current=[(path == "/cabinet/documents").then_some("page")] { (t.nav_documents) } }
                }
            }
        }
        (main)
    };
    let mut response = respond(status, page(lang, title, path, body));
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
}

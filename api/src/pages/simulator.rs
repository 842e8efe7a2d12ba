//! `/simulator`: the citizen's side of Diia.QR as the Diia app would show it, for development
//! only (it answers only with `--dev-sign-in`, as the development sign-ins do). A demo citizen
//! is chosen, a QR's link or printed code is entered, and the request shows who asks for which
//! documents and why, with the code to compare against the poster. The simulated citizen's
//! session is an HTTP-only, same-site cookie; forms are accepted only from this origin.

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use diia_qr_domain::demo::demo_citizens;
use diia_qr_domain::identifiers::Rnokpp;
use maud::{html, Markup};
use serde::Deserialize;
use uuid::Uuid;

use super::forms::{cookie, from_this_origin, set_cookie};
use super::lang::Lang;
use super::layout::{page, respond};
use crate::app::qr_tokens::display_short_code;
use crate::app::sessions::Claims;
use crate::http::AppState;

/// The cookie that holds the simulated citizen's session.
const SESSION_COOKIE: &str = "diia_qr_simulator";

struct Texts {
    title: &'static str,
    intro: &'static str,
    citizen: &'static str,
    link: &'static str,
    link_hint: &'static str,
    scan: &'static str,
    request_title: &'static str,
    asks: &'static str,
    branch: &'static str,
    purposes: &'static str,
    documents: &'static str,
    code: &'static str,
    code_hint: &'static str,
    retention: &'static str,
    status: &'static str,
    again: &'static str,
    refused: &'static str,
    foreign_form: &'static str,
}

const UK: Texts = Texts {
    title: "Симулятор застосунку Дія",
    intro: "Тут можна пройти шлях громадянина: обрати демонстраційну особу, «відсканувати» QR-код послуги \
            (вставити його посилання або надрукований код) і побачити запит так, як його показує Дія. \
            Лише для середовища розробки.",
    citizen: "Громадянин",
    link: "Посилання з QR-коду або код з плаката",
    link_hint: "Напр. XXXX-XXXX з плаката під QR-кодом",
    scan: "Сканувати",
    request_title: "Запит на передачу документів",
    asks: "Хто запитує",
    branch: "Відділення",
    purposes: "Мета",
    documents: "Документи",
    code: "Код на плакаті",
    code_hint: "Порівняйте з кодом під QR-кодом на плакаті: якщо вони різні, наклейку могли підмінити.",
    retention: "Строк зберігання копій, днів",
    status: "Стан",
    again: "Сканувати інший QR-код",
    refused: "Не вдалося",
    foreign_form: "Форму надіслано не з цієї сторінки: відкрийте симулятор і спробуйте ще раз.",
};

const EN: Texts = Texts {
    title: "Diia app simulator",
    intro: "Walk the citizen's path here: choose a demo citizen, \u{201c}scan\u{201d} a service's QR code \
            (paste its link or the printed code) and see the request as the Diia app shows it. \
            Development only.",
    citizen: "Citizen",
    link: "The QR code's link, or the code printed on the poster",
    link_hint: "E.g. XXXX-XXXX, printed under the QR code",
    scan: "Scan",
    request_title: "A request to share documents",
    asks: "Who asks",
    branch: "Branch",
    purposes: "Purpose",
    documents: "Documents",
    code: "Code on the poster",
    code_hint: "Compare it with the code under the QR code on the poster: if they differ, the sticker may have been swapped.",
    retention: "Copies kept for, days",
    status: "Status",
    again: "Scan another QR code",
    refused: "It did not work",
    foreign_form: "The form was not sent from this page: open the simulator and try again.",
};

fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Uk => &UK,
        Lang::En => &EN,
    }
}

/// The simulator exists only where the development sign-ins do: elsewhere, the page that says
/// there is no such page.
fn absent(s: &AppState, lang: Lang, path: &str) -> Option<Response> {
    (!s.engine.dev_sign_in_enabled()).then(|| super::not_found(lang, path))
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
            button type="submit" { (t.scan) }
        }
    }
}

pub async fn start(State(s): State<AppState>, lang: Lang) -> Response {
    if let Some(absent) = absent(&s, lang, "/simulator") {
        return absent;
    }
    respond(StatusCode::OK, page(lang, texts(lang).title, "/simulator", start_form(lang, None)))
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
    let refuse =
        |status: StatusCode, problem: &str| respond(status, page(lang, texts(lang).title, "/simulator", start_form(lang, Some(problem))));
    if !from_this_origin(&headers) {
        return refuse(StatusCode::FORBIDDEN, texts(lang).foreign_form);
    }
    let opened = async {
        let token = s.engine.dev_citizen_session(form.citizen.trim()).await?;
        let citizen = Rnokpp::parse(form.citizen.trim()).map_err(|e| crate::app::EngineError::invalid("rnokpp-invalid", e))?;
        let id = s.engine.scan(&citizen, &form.link).await?;
        Ok::<_, crate::app::EngineError>((token, id))
    };
    match opened.await {
        Ok((token, id)) => {
            let mut response = Redirect::to(&format!("/simulator/requests/{id}")).into_response();
            set_cookie(&mut response, SESSION_COOKIE, &token, "/simulator");
            response
        }
        Err(e) => refuse(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
    }
}

pub async fn request(State(s): State<AppState>, lang: Lang, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let path = format!("/simulator/requests/{id}");
    if let Some(absent) = absent(&s, lang, &path) {
        return absent;
    }
    let t = texts(lang);
    let Ok(id) = id.parse::<Uuid>() else { return super::not_found(lang, &path) };
    let citizen = match cookie(&headers, SESSION_COOKIE) {
        Some(token) => match s.engine.session(&token).await {
            Ok(session) => match session.claims {
                Claims::Citizen { rnokpp, .. } => Some(rnokpp),
                _ => None,
            },
            Err(_) => None,
        },
        None => None,
    };
    // Without the simulated citizen's session the request is nobody's to see: back to the start.
    let Some(citizen) = citizen else { return Redirect::to("/simulator").into_response() };
    let share = match s.engine.share_request(&citizen, id).await {
        Ok(share) => share,
        Err(_) => return super::not_found(lang, &path),
    };
    let Some(snapshot) = share.snapshot() else { return super::not_found(lang, &path) };
    let main = html! {
        h1 { (t.request_title) }
        dl.facts {
            dt { (t.asks) } dd { (snapshot.organisation_name) }
            dt { (t.branch) } dd { (snapshot.branch_name) br; (snapshot.branch_address) }
            dt { (t.purposes) } dd { ul { @for p in &snapshot.service_names { li { (p) } } } }
            dt { (t.documents) } dd { ul { @for d in &snapshot.documents { li { (if lang == Lang::Uk { d.title_uk() } else { d.title_en() }) } } } }
            dt { (t.retention) } dd { (snapshot.retention_days) }
            dt { (t.code) } dd { strong.code { (display_short_code(&snapshot.qr_short_code)) } p.hint { (t.code_hint) } }
            dt { (t.status) } dd { (share.status().history_label_uk()) }
        }
        p { a href="/simulator" { (t.again) } }
    };
    let mut response = respond(StatusCode::OK, page(lang, t.request_title, &path, main));
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

//! The pages people read in a browser: server-rendered HTML (maud, escaped by construction),
//! Ukrainian first with an English switch, styles and scripts as this origin's files (the pages'
//! policy allows nothing inline). The JSON API is `http/`; a page never builds JSON by hand and
//! never shows it.

mod cabinet;
mod desk;
mod forms;
mod home;
pub mod lang;
mod layout;
mod outcome;
mod simulator;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;

use crate::http::AppState;
use lang::Lang;
use layout::{page, respond};

/// The pages' routes (outside the OpenAPI document, which describes the JSON API).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .merge(simulator::routes())
        .merge(cabinet::routes())
        .merge(desk::routes())
        .route("/assets/cabinet.css", get(stylesheet))
        .route("/assets/zxing-reader.js", get(zxing_reader))
        .route("/assets/zxing_reader.wasm", get(zxing_reader_wasm))
        .layer(axum::middleware::from_fn(lang::remember_choice))
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", include_str!("../../assets/cabinet/cabinet.css"))
}

/// zxing-wasm, vendored by `scripts/vendor-browser-libs`: reads a QR code from an image in the
/// browser (its WebAssembly decoder is the next file).
async fn zxing_reader() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("../../assets/vendor/zxing-wasm/index.js"))
}

async fn zxing_reader_wasm() -> Response {
    asset("application/wasm", &include_bytes!("../../assets/vendor/zxing-wasm/zxing_reader.wasm")[..])
}

/// One of the pages' files, built into the binary.
fn asset(content_type: &'static str, body: impl IntoResponse) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// What a browser gets for an address that is no page: a page that says so, in its language.
pub fn not_found(lang: Lang, path: &str) -> Response {
    let (title, text, back) = match lang {
        Lang::Uk => ("Сторінку не знайдено", "За цією адресою сторінки немає. Перевірте адресу або почніть з головної.", "На головну"),
        Lang::En => ("Page not found", "There is no page at this address. Check it, or start from the home page.", "Home page"),
    };
    let main = html! {
        h1 { (title) }
        p { (text) }
        p { a href="/" { (back) } }
    };
    respond(StatusCode::NOT_FOUND, page(lang, title, path, main))
}

/// A refusal the engine gave, as a page in the reader's language: the rule's words, never a raw
/// error, and the way home.
pub fn error_page(lang: Lang, path: &str, (status, detail): (StatusCode, String)) -> Response {
    let (title, back) = match lang {
        Lang::Uk => ("Не вдалося виконати", "На головну"),
        Lang::En => ("Could not be done", "Home page"),
    };
    let main = html! {
        h1 { (title) }
        div.problem role="alert" { (detail) }
        p { a href="/" { (back) } }
    };
    respond(status, page(lang, title, path, main))
}

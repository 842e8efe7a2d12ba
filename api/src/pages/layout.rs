//! The shell every page shares: the language, a skip link, the header with the language switch,
//! the footer; and how a page is answered (HTML with the cabinet's Content-Security-Policy).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::lang::Lang;

/// Pages load only this origin's files (their styles and scripts are files, never inline), may
/// call this origin's API, post forms only here, and are framed by no one.
pub const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The same, and WebAssembly compiled from this origin's file: the simulator's start page, whose
/// QR decoder is zxing-wasm.
pub const DECODER_PAGE_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

struct ShellTexts {
    skip: &'static str,
    switch: &'static str,
    footer: &'static str,
    verify: &'static str,
    api: &'static str,
}

const UK: ShellTexts = ShellTexts {
    skip: "Перейти до змісту",
    switch: "English",
    footer: "Дія.QR — передача засвідчених копій цифрових документів організаціям.",
    verify: "Перевірити копію",
    api: "API для розробників",
};

const EN: ShellTexts = ShellTexts {
    skip: "Skip to content",
    switch: "Українською",
    footer: "Diia.QR: certified copies of digital documents, shared with organisations.",
    verify: "Verify a copy",
    api: "API for developers",
};

fn texts(lang: Lang) -> &'static ShellTexts {
    match lang {
        Lang::Uk => &UK,
        Lang::En => &EN,
    }
}

/// A whole page: `title` in the browser's tab, `path` the page's own address (the language
/// switch leads back to it), `main` its content.
pub fn page(lang: Lang, title: &str, path: &str, main: Markup) -> Markup {
    let t = texts(lang);
    let other = lang.other();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Дія.QR" }
                link rel="stylesheet" href="/assets/cabinet.css";
            }
            body {
                a.skip href="#main" { (t.skip) }
                header.top {
                    a.brand href="/" { "Дія.QR" }
                    nav aria-label=(if lang == Lang::Uk { "Мова" } else { "Language" }) {
                        a href={ (path) "?lang=" (other.code()) } lang=(other.code()) hreflang=(other.code()) { (t.switch) }
                    }
                }
                main #main tabindex="-1" { (main) }
                footer.bottom {
                    p { (t.footer) }
                    p {
                        a href="/verify" { (t.verify) }
                        " · "
                        a href="/api/v1/docs" { (t.api) }
                    }
                }
            }
        }
    }
}

/// A page as an answer.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    answer(status, markup, PAGE_POLICY)
}

/// A page that runs the QR decoder, as an answer.
pub fn respond_with_decoder(status: StatusCode, markup: Markup) -> Response {
    answer(status, markup, DECODER_PAGE_POLICY)
}

fn answer(status: StatusCode, markup: Markup, policy: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CONTENT_SECURITY_POLICY, policy)], markup.into_string())
        .into_response()
}

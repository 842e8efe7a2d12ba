//! `/desk/status`: each projection's position, lag and last error (a halted one waits for an
//! operator), and the letters the mail servers refused, newest first.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;

use super::texts::texts;
use super::{desk_page, refusal, signed_in, to_sign_in};
use crate::http::AppState;
use crate::pages::lang::Lang;

const PATH: &str = "/desk/status";

pub async fn show(State(s): State<AppState>, lang: Lang, headers: HeaderMap) -> Response {
    let Some(operator) = signed_in(&s, &headers).await else { return to_sign_in() };
    let t = texts(lang);
    let (projections, failures) = match (s.engine.projection_status().await, s.engine.delivery_failures_on_record().await) {
        (Ok(p), Ok(f)) => (p, f),
        (Err(e), _) | (_, Err(e)) => return crate::pages::error_page(lang, PATH, refusal(e)),
    };
    let when = |at| lang.kyiv_time(at);
    let main = html! {
        h1 { (t.status_title) }
        section aria-labelledby="projections" {
            h2 #projections { (t.projections) }
            div.table-scroll tabindex="0" role="region" aria-labelledby="projections" {
                table {
                    thead { tr {
                        th scope="col" { (t.projection) }
                        th scope="col" { (t.status) }
                        th scope="col" { (t.lag_events) }
                        th scope="col" { (t.lag_seconds) }
                        th scope="col" { (t.last_error) }
                    } }
                    tbody {
                        @for p in &projections {
                            tr {
                                td { code { (p.name) } }
                                td { @if p.halted { strong { (t.halted) } } @else { (t.running) } }
                                td { (p.lag_events) }
                                td { (format!("{:.1}", p.lag_seconds)) }
                                td { (p.last_error.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="failures" {
            h2 #failures { (t.failures) }
            @if failures.is_empty() {
                p { (t.failures_none) }
            } @else {
                ul {
                    @for f in &failures {
                        li {
                            (when(f.failed_at)) " — " (f.organisation_name.as_deref().unwrap_or("—"))
                            @if let Some(reason) = &f.reason { ": " (reason) }
                        }
                    }
                }
            }
        }
    };
    desk_page(StatusCode::OK, lang, t.status_title, PATH, Some(&operator), main)
}

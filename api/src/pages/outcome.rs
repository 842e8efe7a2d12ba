//! What follows a page's command, the same in every room: the engine's refusal as the page says
//! it (the status and the rule's words), or, on success, the views settled so that the page
//! shown next already shows the change.

use axum::http::StatusCode;
use maud::{html, Markup};

use super::lang::Lang;
use crate::app::EngineError;
use crate::http::problem::ApiError;
use crate::http::AppState;

/// An engine refusal as a page says it: the status, and the rule's words.
pub fn refusal(e: EngineError) -> (StatusCode, String) {
    let e = ApiError::from(e);
    (e.status, e.detail)
}

/// After a page's command: done (the cabinet views then settled), or the refusal to say.
pub async fn settled(s: &AppState, outcome: Result<(), EngineError>) -> Result<(), (StatusCode, String)> {
    match outcome {
        Ok(()) => {
            s.engine.settle_cabinet_views().await;
            Ok(())
        }
        Err(e) => Err(refusal(e)),
    }
}

/// A refusal on a page, announced to screen readers.
pub fn problem(lang: Lang, text: &str) -> Markup {
    let refused = match lang {
        Lang::Uk => "Не виконано",
        Lang::En => "Not done",
    };
    html! { div.problem role="alert" { strong { (refused) ": " } (text) } }
}

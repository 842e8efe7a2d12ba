//! The request a command came in with: the HTTP edge names each request (its caller's
//! `X-Request-Id` when it is a plain token, else a new one) and runs it inside this scope, so the
//! events a command appends carry the same id as the request's log lines.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `work` as the request `id`.
pub async fn with_request_id<F: Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// The current request's id, if the caller runs inside one (the followers and workers do not).
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// A caller's id is kept only if it is a plain token of at most 64 characters: it goes into
/// logs and the event log, so nothing else may ride in on it.
pub fn accepted_request_id(given: Option<&str>) -> String {
    match given {
        Some(id) if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)) => {
            id.to_string()
        }
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_short_tokens_are_kept() {
        assert_eq!(accepted_request_id(Some("req-42.a:b_c")), "req-42.a:b_c");
        for refused in [None, Some(""), Some("with space"), Some("line\nbreak"), Some("Ґ"), Some(&"x".repeat(65)[..])] {
            let made = accepted_request_id(refused);
            assert!(uuid::Uuid::parse_str(&made).is_ok(), "{refused:?} → {made}");
        }
    }

    #[tokio::test]
    async fn the_id_holds_inside_its_scope_only() {
        assert_eq!(current_request_id(), None);
        let inside = with_request_id("r-1".into(), async { current_request_id() }).await;
        assert_eq!(inside.as_deref(), Some("r-1"));
    }
}

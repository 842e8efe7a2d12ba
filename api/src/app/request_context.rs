//! The request a command came in with: the HTTP edge names each request (its caller's
//! `X-Request-Id` when it is a plain token, else a new one) and runs it inside this scope, so the
//! events a command appends carry the same id as the request's log lines; and the scope notes
//! which aggregates the request's commands wrote, so a page can wait for its own events alone.

use std::future::Future;
use std::sync::Mutex;

struct RequestContext {
    id: String,
    /// (aggregate type, aggregate id) of every successful command in the request.
    written: Mutex<Vec<(&'static str, String)>>,
}

tokio::task_local! {
    static REQUEST: RequestContext;
}

/// Runs `work` as the request `id`.
pub async fn with_request_id<F: Future>(id: String, work: F) -> F::Output {
    REQUEST.scope(RequestContext { id, written: Mutex::new(Vec::new()) }, work).await
}

/// The current request's id, if the caller runs inside one (the followers and workers do not).
pub fn current_request_id() -> Option<String> {
    REQUEST.try_with(|r| r.id.clone()).ok()
}

/// Notes that the current request's command appended to this aggregate.
pub fn note_written(aggregate_type: &'static str, aggregate_id: String) {
    let _ = REQUEST.try_with(|r| {
        if let Ok(mut written) = r.written.lock() {
            if !written.iter().any(|(t, id)| *t == aggregate_type && *id == aggregate_id) {
                written.push((aggregate_type, aggregate_id));
            }
        }
    });
}

/// The aggregates the current request's commands wrote so far.
pub fn written() -> Vec<(&'static str, String)> {
    REQUEST.try_with(|r| r.written.lock().map(|w| w.clone()).unwrap_or_default()).unwrap_or_default()
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
    async fn the_id_and_the_written_aggregates_hold_inside_their_scope_only() {
        assert_eq!(current_request_id(), None);
        note_written("Branch", "b-1".into());
        assert!(written().is_empty(), "outside a request nothing is noted");
        let (id, noted) = with_request_id("r-1".into(), async {
            note_written("Branch", "b-1".into());
            note_written("Branch", "b-1".into());
            note_written("Service", "s-1".into());
            (current_request_id(), written())
        })
        .await;
        assert_eq!(id.as_deref(), Some("r-1"));
        assert_eq!(noted, vec![("Branch", "b-1".to_string()), ("Service", "s-1".to_string())]);
    }
}

//! `GET /metrics`: Prometheus's text format for the bearer of the metrics token, closed without
//! one; requests counted by their route's template, problems by rule code, the projections' lag
//! and the mail outbox read from the database at each scrape. And the request id, carried from
//! the HTTP request into its events.

use diia_qr_tests::{spawn_app, spawn_app_with};
use reqwest::StatusCode;

const TOKEN: &str = "scrape-token-for-tests";

#[tokio::test]
async fn metrics_are_for_the_bearer_of_the_token_and_count_requests_problems_lag_and_mail() {
    let app = spawn_app_with(|c| c.metrics_token = Some(TOKEN.into())).await;
    let scrape = |token: Option<&str>| {
        let request = app.client.get(app.url("/metrics"));
        match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
        .send()
    };
    for token in [None, Some("scrape-token-for-test"), Some("guess")] {
        let refused = scrape(token).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(refused.headers()["content-type"], "application/problem+json");
    }

    // A live QR (the partner's commands, a confirmation letter), then a refused preview.
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (status, _) = app.get("/api/v1/qr-preview?link=https%3A%2F%2Fdiia.example.org%2Fqr%2Fv1%2Fforged", None).await;
    assert!(status.is_client_error());
    let (status, _) = app.get("/api/v1/no-such-address/12345", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _) = app.get(&format!("/api/v1/partner/services/{}/qr", qr.service_id), Some(&qr.partner.token)).await;

    let answer = scrape(Some(TOKEN)).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = answer.text().await.unwrap();
    let line = |prefix: &str| text.lines().find(|l| l.starts_with(prefix)).map(str::to_string);
    // The route's template, never the raw path with its id.
    let by_route = line(r#"diia_qr_http_requests_total{method="GET",route="/api/v1/partner/services/{service_id}/qr",status="200"} "#);
    assert_eq!(by_route.as_deref().map(|l| l.rsplit(' ').next().unwrap()), Some("1"), "{text}");
    assert!(!text.contains(&qr.service_id), "no raw ids in labels");
    assert!(
        line(r#"diia_qr_http_request_duration_seconds_count{method="GET",route="/api/v1/partner/services/{service_id}/qr"}"#).is_some(),
        "{text}"
    );
    assert!(line(r#"diia_qr_problems_total{code="qr-link-foreign"} 1"#).is_some(), "{text}");
    // An address nothing serves is counted, but under one label: a guesser cannot grow the series.
    assert!(line(r#"diia_qr_http_requests_total{method="GET",route="unmatched",status="404"} 1"#).is_some(), "{text}");
    assert!(!text.contains("no-such-address"));
    assert!(line(r#"diia_qr_projection_lag_events{projection="cabinet_views"} "#).is_some(), "{text}");
    assert!(line(r#"diia_qr_projection_halted{projection="cabinet_views"} 0"#).is_some(), "{text}");
    // The mailbox's confirmation letter went through the outbox.
    let attempts = line("diia_qr_mail_delivery_attempts ").expect("attempts");
    assert!(attempts.rsplit(' ').next().unwrap().parse::<i64>().unwrap() >= 1, "{attempts}");
    // And this instance counts it as its own accepted delivery, nothing deferred or failed.
    let accepted = line(r#"diia_qr_instance_deliveries_total{outcome="accepted"} "#).expect("this instance's deliveries");
    assert!(accepted.rsplit(' ').next().unwrap().parse::<u64>().unwrap() >= 1, "{accepted}");
    assert!(line(r#"diia_qr_instance_deliveries_total{outcome="failed"} 0"#).is_some(), "{text}");
    assert!(text.trim_end().ends_with("# EOF"));
    app.shutdown().await;
}

#[tokio::test]
async fn without_a_token_metrics_are_closed() {
    let app = spawn_app().await;
    let answer = app.client.get(app.url("/metrics")).bearer_auth("anything").send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    app.shutdown().await;
}

#[tokio::test]
async fn a_requests_id_is_answered_and_carried_into_its_events_metadata() {
    let app = spawn_app().await;
    let token = app.partner_session("45172831", "ТОВ «Готель „Палаццо“»").await;
    let registered = app
        .client
        .post(app.url("/api/v1/partner/registration"))
        .bearer_auth(&token)
        .header("x-request-id", "load-run-7.req-42")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    assert_eq!(registered.headers()["x-request-id"], "load-run-7.req-42");
    let ids: Vec<Option<String>> = sqlx::query_scalar("SELECT metadata->>'request_id' FROM events WHERE aggregate_type = 'Partner'")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(ids, vec![Some("load-run-7.req-42".to_string())]);

    // An id that is not a plain token is replaced by one of ours, answered all the same.
    let answer = app.client.get(app.url("/health")).header("x-request-id", "two words").send().await.unwrap();
    let made = answer.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(made).is_ok(), "{made}");
    app.shutdown().await;
}

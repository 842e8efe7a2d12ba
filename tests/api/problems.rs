//! Bad input gets a clear problem+json 4xx, never a 500, and writes nothing.

use diia_qr_tests::{parts, spawn_app, LiveQr};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn assert_problem(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["type"], format!("/problems/{code}"), "{body}");
    assert_eq!(body["status"], expected.as_u16(), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
}

#[tokio::test]
async fn malformed_unknown_oversized_and_misrouted_input_is_refused_cleanly() {
    let app = spawn_app().await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let before = app.event_count().await;
    let branches = app.url("/api/v1/partner/branches");

    let r = app
        .client
        .post(&branches)
        .bearer_auth(&partner.token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let (status, body) = parts(r).await;
    assert_problem(status, &body, StatusCode::BAD_REQUEST, "json-malformed");

    let (status, body) = app
        .post(
            "/api/v1/partner/branches",
            Some(&partner.token),
            json!({"name": "Готель «Палаццо»", "address": {"region": "r", "locality": "l", "street": "s", "house": "1"}, "email": "a@b.ua", "admin": true}),
        )
        .await;
    assert_problem(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "json-does-not-fit");
    assert!(body["detail"].as_str().unwrap().contains("admin"), "names the unknown field: {body}");

    let r = app.client.post(&branches).bearer_auth(&partner.token).header("content-type", "text/plain").body("hello").send().await.unwrap();
    let (status, body) = parts(r).await;
    assert_problem(status, &body, StatusCode::UNSUPPORTED_MEDIA_TYPE, "content-type-not-json");

    let huge = json!({"name": "x".repeat(400_000), "address": {}, "email": "a@b.ua"});
    let (status, body) = app.post("/api/v1/partner/branches", Some(&partner.token), huge).await;
    assert_problem(status, &body, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large");

    let (status, body) = app.post("/api/v1/partner/services/not-a-uuid/qr", Some(&partner.token), json!({})).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "path-invalid");
    let (status, body) = app.post(&format!("/api/v1/partner/services/{}/qr", uuid::Uuid::new_v4()), Some(&partner.token), json!({})).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "service-not-found");

    let (status, body) = app.get("/api/v1/partner/branches", None).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, body) = app.get("/api/v1/partner/branches", Some("forged.token")).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let (status, body) = app.get("/api/v1/no/such/route", None).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "route-not-found");
    let r = app.client.delete(app.url("/api/v1/partner/branches")).bearer_auth(&partner.token).send().await.unwrap();
    let (status, body) = parts(r).await;
    assert_problem(status, &body, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");

    let (status, body) = app
        .post(
            "/api/v1/partner/branches",
            Some(&partner.token),
            json!({"name": "Готель", "address": {"region": "r", "locality": "l", "street": "s", "house": "1"}, "email": "not an email"}),
        )
        .await;
    assert_problem(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "email-invalid");

    assert_eq!(app.event_count().await, before, "refused input wrote no event");
    app.shutdown().await;
}

#[tokio::test]
async fn a_citizen_never_sees_another_citizens_request() {
    let app = spawn_app().await;
    let LiveQr { link, .. } = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let owner = app.citizen_session(&diia_qr_tests::citizens::maryana().0).await;
    let other = app.citizen_session(&diia_qr_tests::citizens::olha().0).await;
    let (_, share) = app.scan(&owner, &link).await;
    let id = share["share_request_id"].as_str().unwrap();
    let (status, body) = app.get(&format!("/api/v1/citizen/share-requests/{id}"), Some(&other)).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "share-not-found");
    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&other), json!({})).await;
    assert_problem(status, &body, StatusCode::NOT_FOUND, "share-not-found");
    let (status, body) = app.get("/api/v1/partner/branches", Some(&owner)).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    app.shutdown().await;
}

#[tokio::test]
async fn a_session_ends_after_twelve_hours_and_the_printed_qr_keeps_working() {
    let app = spawn_app().await;
    let LiveQr { partner, link, .. } = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (status, body) = app.get("/api/v1/partner/branches", Some(&partner.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.clock.advance(chrono::Duration::hours(12) + chrono::Duration::minutes(1));
    let (status, body) = app.get("/api/v1/partner/branches", Some(&partner.token)).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(body["detail"].as_str().unwrap().contains("завершилася"), "{body}");
    // A new session works, and the QR printed half a day ago still opens a request.
    let citizen = app.citizen_session(&diia_qr_tests::citizens::maryana().0).await;
    let (status, body) = app.scan(&citizen, &link).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn rotating_the_session_key_ends_sessions_and_leaves_qr_codes_and_short_codes_working() {
    let app = spawn_app().await;
    let LiveQr { partner, service_id, link, .. } = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (_, qr) = app.get(&format!("/api/v1/partner/services/{service_id}/qr"), Some(&partner.token)).await;
    let short_code = qr["short_code"].as_str().unwrap().to_string();
    let app = app.restart_with(|c| c.key_generations.sessions += 1).await;
    let (status, body) = app.get("/api/v1/partner/branches", Some(&partner.token)).await;
    assert_problem(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    let citizen = app.citizen_session(&diia_qr_tests::citizens::maryana().0).await;
    for printed in [link.as_str(), short_code.as_str()] {
        let (status, body) = app.scan(&citizen, printed).await;
        assert_eq!(status, StatusCode::CREATED, "{printed}: {body}");
    }
    app.shutdown().await;
}

//! Photo verification as the Diia app meets it: the liveness provider's assertion verifies the
//! citizen for one request; none, a forged one, a stale one, one for another request and a
//! failed face match are refused, each with its code, and every check is recorded.

use reqwest::StatusCode;
use serde_json::{json, Value};

use diia_qr_tests::{citizens, spawn_app, TestApp};

async fn present(app: &TestApp, token: &str, id: &str, assertion: &str) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/citizen/share-requests/{id}/photo-verification"), Some(token), json!({"assertion": assertion})).await
}

async fn scanned(app: &TestApp, token: &str, link: &str) -> String {
    let (status, share) = app.scan(token, link).await;
    assert_eq!(status, StatusCode::CREATED, "{share}");
    share["share_request_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn only_a_fresh_assertion_for_this_citizen_and_request_verifies_the_photo() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let token = app.citizen_session(&citizens::maryana().0).await;
    let id = scanned(&app, &token, &qr.link).await;
    let other = scanned(&app, &token, &qr.link).await;

    let refused = |code: &'static str| {
        move |(status, body): (StatusCode, Value)| {
            assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{body}");
        }
    };
    refused("photo-assertion-missing")(present(&app, &token, &id, "").await);
    let for_other = app.liveness_assertion(&token, &other, b"selfie").await;
    refused("photo-assertion-other-request")(present(&app, &token, &id, &for_other).await);
    // One character of the signature changed, at its start: the last characters of base64url
    // carry padding bits, so changing those alone can leave the signature as it was.
    let mut forged = app.liveness_assertion(&token, &id, b"selfie").await;
    let at = forged.rfind('.').expect("a compact JWS") + 1;
    let changed = if forged[at..].starts_with('A') { "B" } else { "A" };
    forged.replace_range(at..at + 1, changed);
    refused("photo-assertion-invalid")(present(&app, &token, &id, &forged).await);
    let no_match = app.liveness_assertion(&token, &id, b"NO-MATCH").await;
    refused("photo-verification-failed")(present(&app, &token, &id, &no_match).await);
    let stale = app.liveness_assertion(&token, &id, b"selfie").await;
    app.clock.advance(chrono::Duration::minutes(3));
    refused("photo-assertion-stale")(present(&app, &token, &id, &stale).await);

    // Another citizen gets no assertion for this request, and cannot present one.
    let stranger = app.citizen_session(&citizens::yevhen().0).await;
    let (status, _) =
        app.post("/api/v1/dev/liveness-checks", Some(&stranger), json!({"share_request_id": id, "photo_base64": "c2VsZmll"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = app.verify_photo(&token, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "photo_verified", "{body}");

    let outcomes: Vec<String> =
        sqlx::query_scalar("SELECT outcome FROM photo_verification_attempts WHERE share_request_id = $1::uuid ORDER BY id")
            .bind(&id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        outcomes,
        [
            "photo-assertion-missing",
            "photo-assertion-other-request",
            "photo-assertion-invalid",
            "photo-verification-failed",
            "photo-assertion-stale",
            "verified"
        ]
    );
    app.shutdown().await;
}

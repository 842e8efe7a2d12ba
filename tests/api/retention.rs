//! Retention that really deletes: when a service's retention ends, the share's personal data
//! leaves every view, the search index and the download, and becomes unreadable in the log;
//! the events, their order and every audit proof stay.

use std::process::Command;
use std::time::Duration;

use diia_qr_projections::log::projection_status;
use reqwest::StatusCode;
use serde_json::{json, Value};

use diia_qr_tests::{citizens, engine_binary, eventually, spawn_app, temp_dir, TestApp};

async fn caught_up(app: &TestApp) {
    eventually(Duration::from_secs(30), "the projections to catch up", || async {
        let all = projection_status(&app.pool, &diia_qr_projections::projection_names()).await.ok()?;
        all.iter().all(|p| p.lag_events == 0 && !p.degraded()).then_some(())
    })
    .await;
}

async fn raw_log_of(app: &TestApp, share: &str) -> String {
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload::text FROM events WHERE aggregate_id = $1 ORDER BY sequence")
        .bind(share)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    payloads.join("\n")
}

#[tokio::test]
async fn after_its_retention_a_share_is_gone_from_every_view_and_unreadable_in_the_log_while_the_trail_verifies() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (citizen, share) = app.consented_share(&qr.link, &citizens::maryana()).await;
    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{share}/send"), Some(&citizen), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.wait_for_share_status(&citizen, &share, "delivered").await;
    caught_up(&app).await;
    let (rnokpp, _) = citizens::maryana();
    let search = format!("/api/v1/partner/documents?rnokpp={rnokpp}");
    let (_, found) = app.get(&search, Some(&qr.partner.token)).await;
    assert_eq!(found["documents"].as_array().map(Vec::len), Some(1), "{found}");
    let (_, copies) = app.get(&format!("/api/v1/partner/shares/{share}/copies"), Some(&qr.partner.token)).await;
    let copy = copies["copies"][0]["copy_id"].as_str().unwrap().to_string();

    // Sealed at rest from the start: the log never holds the citizen's data in clear.
    let log = raw_log_of(&app, &share).await;
    for personal in [rnokpp.as_str(), "Їжакевич", "Мар'яна"] {
        assert!(!log.contains(personal), "{personal} in the log:\n{log}");
    }

    let engine = app.app.as_ref().unwrap().engine.clone();
    assert_eq!(engine.erase_overdue().await.unwrap(), 0, "nothing is due before the retention ends");
    app.clock.advance(chrono::Duration::days(30) + chrono::Duration::minutes(1));
    assert_eq!(engine.erase_overdue().await.unwrap(), 1);
    assert_eq!(engine.erase_overdue().await.unwrap(), 0, "erased once");
    caught_up(&app).await;
    // A month on, the head signs in again.
    let token = app.partner_session("45172831", "ТОВ «Готель „Палаццо“»").await;

    // Not found, not downloadable, and the partner is told when and why.
    let (_, found) = app.get(&search, Some(&token)).await;
    assert_eq!(found["documents"], json!([]), "{found}");
    let (_, found) = app.get("/api/v1/partner/documents?q=%D0%87%D0%B6%D0%B0%D0%BA%D0%B5%D0%B2%D0%B8%D1%87", Some(&token)).await;
    assert_eq!(found["documents"], json!([]), "{found}");
    let (status, problem) = app.get(&format!("/api/v1/partner/shares/{share}/copies/{copy}.pdf"), Some(&token)).await;
    assert_eq!(status, StatusCode::GONE, "{problem}");
    assert_eq!(problem["code"], "share-data-erased");
    let (_, shares) = app.get("/api/v1/partner/shares", Some(&token)).await;
    let listed = shares["shares"].as_array().unwrap().iter().find(|s| s["share_request_id"] == share.as_str()).cloned().unwrap();
    assert_eq!(listed["erased_reason"], "retention_ended", "{listed}");
    assert!(listed["erased_at"].is_string(), "{listed}");

    // The key is gone: what the log holds can no longer be opened by anyone.
    let key: Option<Vec<u8>> = sqlx::query_scalar("SELECT data_key FROM share_data_keys WHERE share_request_id = $1::uuid")
        .bind(&share)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(key.is_none());
    let (_, history) = app.get("/api/v1/partner/history", Some(&token)).await;
    let replayed = &history["shares"][0];
    assert_eq!(replayed["documents_sent"], json!([]), "{history}");
    assert_eq!(replayed["consent"]["signature_valid"], false, "{history}");
    let events: Vec<&str> = replayed["timeline"].as_array().unwrap().iter().map(|t| t["event"].as_str().unwrap()).collect();
    assert_eq!(events.last(), Some(&"ShareRequestPersonalDataErased"), "the events and their order stay: {events:?}");
    // A rebuilt view finds nothing either: the log itself no longer yields the data.
    diia_qr_projections::log::rebuild(&app.pool, &diia_qr_projections::views::search::SearchIndex, |_| {}).await.unwrap();
    let (_, found) = app.get(&search, Some(&token)).await;
    assert_eq!(found["documents"], json!([]));

    // The audit trail still verifies; the share's evidence is gone, its entries stay.
    let operator = app.operator_session().await;
    let response = app.client.get(app.url("/api/v1/operator/audit-export")).bearer_auth(&operator).send().await.unwrap();
    let text = response.text().await.unwrap();
    let entries: Vec<Value> = text.lines().skip(1).map(|l| serde_json::from_str(l).unwrap()).collect();
    let of_share: Vec<&Value> = entries.iter().filter(|e| e["entry"]["share_request_id"] == share.as_str()).collect();
    assert!(of_share.iter().any(|e| e["entry"]["kind"] == "ShareRequestPersonalDataErased"));
    assert!(of_share.iter().all(|e| e["evidence"]["erased"] == true && e["evidence"].get("consent").is_none()), "{of_share:?}");
    let dir = temp_dir("retention");
    std::fs::write(dir.join("audit.jsonl"), &text).unwrap();
    std::fs::write(dir.join("ca.pem"), &app.app.as_ref().unwrap().ca_pem).unwrap();
    let (_, checkpoint) = app.get("/api/v1/audit/checkpoint", None).await;
    let out = Command::new(engine_binary())
        .args(["audit", "verify"])
        .arg(dir.join("audit.jsonl"))
        .arg("--ca")
        .arg(dir.join("ca.pem"))
        .args(["--log-key", checkpoint["log_key"].as_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // Nor can the citizen's number find the share's entries any more.
    let response =
        app.client.get(app.url(&format!("/api/v1/operator/audit-export?rnokpp={rnokpp}"))).bearer_auth(&operator).send().await.unwrap();
    let by_citizen = response.text().await.unwrap();
    assert!(!by_citizen.lines().skip(1).any(|l| l.contains(&share)), "{by_citizen}");
    app.shutdown().await;
}

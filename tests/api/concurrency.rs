//! Optimistic concurrency: of commands racing on one aggregate, one wins and the others get a
//! clear 409 — never a lost or a duplicated event.

use diia_qr_tests::{citizens, spawn_app, LiveQr};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_sends_of_one_request_send_it_once() {
    let app = spawn_app().await;
    let LiveQr { link, .. } = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (rnokpp, code) = citizens::maryana();
    let citizen = app.citizen_session(&rnokpp).await;
    let (_, share) = app.scan(&citizen, &link).await;
    let id = share["share_request_id"].as_str().unwrap().to_string();
    app.verify_and_confirm(&citizen, &id, &code).await;

    let url = app.url(&format!("/api/v1/citizen/share-requests/{id}/send"));
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(32));
    let racers: Vec<_> = (0..32)
        .map(|_| {
            let (client, url, token, barrier) = (app.client.clone(), url.clone(), citizen.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let r = client.post(url).bearer_auth(token).json(&json!({})).send().await.expect("send");
                let status = r.status();
                let body: serde_json::Value = r.json().await.expect("json body");
                (status, body)
            })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        let (status, body) = racer.await.unwrap();
        match status {
            StatusCode::OK => won += 1,
            StatusCode::CONFLICT => {
                assert!(matches!(body["code"].as_str(), Some("concurrent-modification" | "share-already-sent")), "{body}");
                assert!(!body["detail"].as_str().unwrap().is_empty());
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(won, 1, "exactly one send wins");
    let sent: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'ShareRequestSent'")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(sent, 1, "one Sent event, none lost, none duplicated");
    let sequences: Vec<i64> = sqlx::query_scalar("SELECT sequence FROM events WHERE aggregate_id = $1 ORDER BY sequence")
        .bind(&id)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(sequences, (1..=sequences.len() as i64).collect::<Vec<_>>(), "no gaps in the aggregate's sequence");
    app.shutdown().await;
}

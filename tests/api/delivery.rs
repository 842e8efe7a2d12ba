//! Delivery over a real SMTP exchange on loopback, including the faults a mail server brings:
//! down then up, a full mailbox, a refused recipient, and the engine killed in the middle of a
//! delivery.

use std::time::Duration;

use diia_qr::config::MailConfig;
use diia_qr_tests::{
    citizens, eventually, fresh_database, message_ids, spawn_app_with, spawn_serve_process, temp_dir, unpack_mail, SmtpServer,
};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn copies_travel_over_smtp_and_the_acceptance_time_is_recorded() {
    let smtp = SmtpServer::start(&[]);
    let url = smtp.url();
    let app = spawn_app_with(|c| c.mail = MailConfig::Smtp(url)).await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let branch = app.confirmed_branch_via_smtp(&partner, "reception@palazzo.example", &smtp).await;
    let (_, link) = app.service_with_qr(&partner, &branch, "для поселення у готель", &["internal-passport", "taxpayer-card"]).await;
    let (citizen, id) = app.consented_share(&link, &citizens::maryana()).await;
    app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;

    let copies =
        eventually(Duration::from_secs(30), "the copies over SMTP", || async { (smtp.received().len() == 2).then(|| smtp.received()) })
            .await;
    let dir = temp_dir("smtp-mail");
    let found = copies.iter().map(|eml| unpack_mail(eml, &dir)).find(|(h, _)| h["message_id"] == format!("<share-{id}@127.0.0.1>"));
    let (headers, attachments) = found.expect("the copies letter");
    assert_eq!(headers["to"], "reception@palazzo.example");
    let mut kinds: Vec<&str> = attachments.iter().map(|(_, t)| t.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, ["application/pdf", "application/pdf", "application/pkcs7-signature", "application/pkcs7-signature"]);
    let delivered = app.wait_for_share_status(&citizen, &id, "delivered").await;
    assert_eq!(delivered["label"], "Виконано");
    assert!(delivered["share"]["delivered_at"].is_string());
    app.shutdown().await;
}

#[tokio::test]
async fn mail_waits_out_a_server_that_is_down_and_nothing_is_lost() {
    let mut smtp = SmtpServer::start(&[]);
    let (port, url) = (smtp.port, smtp.url());
    let app = spawn_app_with(|c| {
        c.mail = MailConfig::Smtp(url);
        c.delivery_max_attempts = 50;
    })
    .await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let branch = app.confirmed_branch_via_smtp(&partner, "reception@palazzo.example", &smtp).await;
    let (_, link) = app.service_with_qr(&partner, &branch, "для поселення у готель", &["internal-passport"]).await;
    let (citizen, id) = app.consented_share(&link, &citizens::maryana()).await;
    smtp.stop();

    app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;
    let (attempts, error) = eventually(Duration::from_secs(30), "failed attempts while the server is down", || async {
        let row: (i32, Option<String>, String) =
            sqlx::query_as("SELECT attempts, last_error, status FROM mail_outbox WHERE kind = 'copies'")
                .fetch_optional(&app.pool)
                .await
                .unwrap()?;
        (row.0 >= 2).then_some((row.0, row.1))
    })
    .await;
    assert!(attempts >= 2 && error.is_some_and(|e| e.contains("недоступний")), "retried with a reason");
    let (_, waiting) = app.get(&format!("/api/v1/citizen/share-requests/{id}"), Some(&citizen)).await;
    assert_eq!(waiting["status"], "sent", "still on its way, not failed");

    let back = SmtpServer::start_on(port, &[], 0.0);
    app.wait_for_share_status(&citizen, &id, "delivered").await;
    assert_eq!(message_ids(&back.received()), [format!("<share-{id}@127.0.0.1>")], "delivered once");
    app.shutdown().await;
}

#[tokio::test]
async fn a_full_mailbox_holds_the_letter_until_there_is_room() {
    let smtp = SmtpServer::start(&[]);
    let url = smtp.url();
    let app = spawn_app_with(|c| {
        c.mail = MailConfig::Smtp(url);
        c.delivery_max_attempts = 50;
    })
    .await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let branch = app.confirmed_branch_via_smtp(&partner, "reception@palazzo.example", &smtp).await;
    let (_, link) = app.service_with_qr(&partner, &branch, "для поселення у готель", &["internal-passport"]).await;
    let (citizen, id) = app.consented_share(&link, &citizens::maryana()).await;
    // The organisation's mailbox is over its quota: the server answers 552 5.2.2.
    let full = smtp.inbox.join(".full");
    std::fs::write(&full, b"").unwrap();

    app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;
    let error = eventually(Duration::from_secs(30), "deferred attempts while the mailbox is full", || async {
        let row: (i32, Option<String>) = sqlx::query_as("SELECT attempts, last_error FROM mail_outbox WHERE kind = 'copies'")
            .fetch_optional(&app.pool)
            .await
            .unwrap()?;
        (row.0 >= 2).then_some(row.1)
    })
    .await;
    assert!(error.as_deref().is_some_and(|e| e.contains("переповнена") && e.contains("5.2.2")), "{error:?}");
    let (_, waiting) = app.get(&format!("/api/v1/citizen/share-requests/{id}"), Some(&citizen)).await;
    assert_eq!(waiting["status"], "sent", "waiting for room, not failed");

    // The owner makes room: the letter goes out, once.
    std::fs::remove_file(&full).unwrap();
    app.wait_for_share_status(&citizen, &id, "delivered").await;
    let share_letters = message_ids(&smtp.received()).into_iter().filter(|m| m.contains(&id)).count();
    assert_eq!(share_letters, 1, "delivered once");
    app.shutdown().await;
}

#[tokio::test]
async fn a_recipient_the_server_refuses_fails_the_share_with_the_reason() {
    let mut smtp = SmtpServer::start(&[]);
    let (port, url) = (smtp.port, smtp.url());
    let app = spawn_app_with(|c| c.mail = MailConfig::Smtp(url)).await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let branch = app.confirmed_branch_via_smtp(&partner, "reception@palazzo.example", &smtp).await;
    let (_, link) = app.service_with_qr(&partner, &branch, "для поселення у готель", &["internal-passport"]).await;
    let (citizen, id) = app.consented_share(&link, &citizens::maryana()).await;
    smtp.stop();
    let refusing = SmtpServer::start_on(port, &["reception@palazzo.example"], 0.0);

    app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;
    let failed = app.wait_for_share_status(&citizen, &id, "delivery_failed").await;
    assert_eq!(failed["label"], "Відмовлено");
    let reason = failed["share"]["failure_reason"].as_str().unwrap();
    assert!(reason.contains("550") && reason.contains("mailbox unavailable"), "{reason}");
    let (_, shares) = app.get("/api/v1/partner/shares", Some(&partner.token)).await;
    assert_eq!(shares["shares"][0]["status"], "delivery_failed", "the cabinet sees it too: {shares}");
    assert!(refusing.received().is_empty());
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM mail_outbox WHERE kind = 'copies'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(attempts, 1, "a permanent refusal is not retried");
    app.shutdown().await;
}

#[tokio::test]
async fn an_engine_killed_mid_delivery_delivers_after_restart_with_at_most_one_duplicate() {
    let smtp = SmtpServer::start(&[]);
    let port = smtp.port;
    let (url, pool) = fresh_database().await;
    let data = temp_dir("killed");
    let (app, mut first) = spawn_serve_process(&url, pool.clone(), &data, &smtp.url(), 3).await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let branch = app.confirmed_branch_via_smtp(&partner, "reception@palazzo.example", &smtp).await;
    let (_, link) = app.service_with_qr(&partner, &branch, "для поселення у готель", &["internal-passport"]).await;
    let (citizen, id) = app.consented_share(&link, &citizens::maryana()).await;
    drop(smtp);
    // This server holds the copies, once received, for five seconds before saying "250".
    let slow = SmtpServer::start_on(port, &[], 5.0);

    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually(Duration::from_secs(30), "the message to reach the server", || async { slow.stalling().then_some(()) }).await;
    first.kill().unwrap(); // SIGKILL: no shutdown, no outcome recorded
    first.wait().unwrap();

    let (app, mut second) = spawn_serve_process(&url, pool, &data, &slow.url(), 3).await;
    app.wait_for_share_status(&citizen, &id, "delivered").await;
    let ids = eventually(Duration::from_secs(15), "the held message to land too", || async {
        let ids = message_ids(&slow.received());
        (!slow.received().is_empty()).then_some(ids)
    })
    .await;
    assert!((1..=2).contains(&ids.len()), "at most one duplicate: {ids:?}");
    assert!(ids.iter().all(|m| *m == format!("<share-{id}@127.0.0.1>")), "a duplicate carries the same Message-ID: {ids:?}");
    second.kill().unwrap();
    second.wait().unwrap();
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test]
async fn a_shutdown_waits_for_the_letter_in_flight_and_records_its_delivery() {
    let smtp = SmtpServer::start(&[]);
    let port = smtp.port;
    let url = smtp.url();
    let app = spawn_app_with(|c| c.mail = MailConfig::Smtp(url)).await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let branch = app.confirmed_branch_via_smtp(&partner, "reception@palazzo.example", &smtp).await;
    let (_, link) = app.service_with_qr(&partner, &branch, "для поселення у готель", &["internal-passport"]).await;
    let (citizen, id) = app.consented_share(&link, &citizens::maryana()).await;
    drop(smtp);
    // Holds the copies, once received, for three seconds before saying "250".
    let slow = SmtpServer::start_on(port, &[], 3.0);

    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually(Duration::from_secs(30), "the message to reach the server", || async { slow.stalling().then_some(()) }).await;
    let pool = app.pool.clone();
    app.shutdown().await; // as on SIGTERM: stop taking work, finish what is in flight

    assert_eq!(message_ids(&slow.received()), [format!("<share-{id}@127.0.0.1>")], "the letter was accepted before the engine stopped");
    let (status, accepted): (String, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT status, accepted_at FROM mail_outbox WHERE kind = 'copies'").fetch_one(&pool).await.unwrap();
    assert_eq!(status, "sent", "the job is settled, not left leased for another worker to resend");
    assert!(accepted.is_some());
    let delivered: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'ShareRequestDelivered'")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(delivered, 1, "the delivery is in the log");
}

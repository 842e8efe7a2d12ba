//! Delivery over a real SMTP exchange on loopback.

use std::time::Duration;

use diia_qr::config::MailConfig;
use diia_qr_tests::{citizens, eventually, spawn_app_with, temp_dir, unpack_mail, SmtpServer};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn copies_travel_over_smtp_and_the_acceptance_time_is_recorded() {
    let smtp = SmtpServer::start(&[]);
    let url = smtp.url();
    let app = spawn_app_with(|c| c.mail = MailConfig::Smtp(url)).await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let (status, body) = app.create_branch(&partner, "Готель «Палаццо»", "reception@palazzo.example").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let branch = body["branch_id"].as_str().unwrap().to_string();

    // The confirmation letter arrives through the server too; its code confirms the mailbox.
    let letter = eventually(Duration::from_secs(30), "the confirmation letter", || async { smtp.received().pop() }).await;
    let text = diia_qr_tests::mail_text_body(&letter);
    let code: String = text.split_once("Код підтвердження:").unwrap().1.trim_start().chars().take_while(char::is_ascii_digit).collect();
    let (status, body) = app.post("/api/v1/branch-email-confirmations", None, json!({"branch_id": branch, "code": code})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let (_, link) = app.service_with_qr(&partner, &branch, "для поселення у готель", &["internal-passport", "taxpayer-card"]).await;
    let (rnokpp, sig) = citizens::maryana();
    let citizen = app.citizen_session(&rnokpp).await;
    let (_, share) = app.scan(&citizen, &link).await;
    let id = share["share_request_id"].as_str().unwrap().to_string();
    app.verify_and_confirm(&citizen, &id, &sig).await;
    app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;

    let copies =
        eventually(Duration::from_secs(30), "the copies over SMTP", || async { (smtp.received().len() == 2).then(|| smtp.received()) })
            .await;
    let dir = temp_dir("smtp-mail");
    let found = copies.iter().map(|eml| unpack_mail(eml, &dir)).find(|(h, _)| h["message_id"] == format!("<share-{id}@127.0.0.1>"));
    let (headers, attachments) = found.expect("the copies letter");
    assert_eq!(headers["to"], "reception@palazzo.example");
    assert_eq!(attachments.len(), 4, "{attachments:?}");
    let delivered = eventually(Duration::from_secs(20), "delivered", || async {
        let (_, h) = app.get("/api/v1/citizen/history", Some(&citizen)).await;
        (h["history"][0]["share"]["status"] == "delivered").then_some(h)
    })
    .await;
    assert!(delivered["history"][0]["share"]["delivered_at"].is_string());
    app.shutdown().await;
}

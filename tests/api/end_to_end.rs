//! The whole chain once: partner → branch → confirmed e-mail → service → QR → scan → confirm →
//! send → an e-mail whose PDF copies verify with `openssl cms` and read back with `pdftotext`.

use std::process::Command;
use std::time::Duration;

use diia_qr_tests::{citizens, eventually, run, spawn_app, temp_dir, unpack_mail, LiveQr};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_citizen_shares_documents_and_the_branch_mailbox_gets_signed_copies() {
    let app = spawn_app().await;
    let LiveQr { partner, service_id: service, link, .. } =
        app.live_qr("для поселення у готель", &["internal-passport", "taxpayer-card"]).await;
    assert!(link.contains("/qr/v1/"), "{link}");

    let (rnokpp, code) = citizens::maryana();
    let citizen = app.citizen_session(&rnokpp).await;
    let (status, share) = app.scan(&citizen, &link).await;
    assert_eq!(status, StatusCode::CREATED, "{share}");
    assert_eq!(share["organisation_name"], "ТОВ «Готель „Палаццо“»");
    assert_eq!(share["branch_address"], "Тернопільська область, м. Тернопіль, вул. Руська, 12");
    assert_eq!(share["purposes"], json!(["для поселення у готель"]));
    assert_eq!(share["history_label"], "В обробці");
    let id = share["share_request_id"].as_str().unwrap().to_string();
    // The scan's answer is the request as the log has it.
    let (_, stored) = app.get(&format!("/api/v1/citizen/share-requests/{id}"), Some(&citizen)).await;
    assert_eq!(stored, share);

    app.verify_and_confirm(&citizen, &id, &code).await;
    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The mailbox receives one letter with a PDF and a P7S per document.
    let eml = app.wait_for_mail(&format!("share-{id}")).await;
    let dir = temp_dir("mail");
    let (headers, attachments) = unpack_mail(&eml, &dir);
    assert_eq!(headers["to"], "reception@palazzo.example");
    assert_eq!(headers["message_id"], format!("<share-{id}@127.0.0.1>"));
    assert!(headers["subject"].as_str().unwrap().contains("для поселення у готель"), "{headers}");
    let body = headers["body"].as_str().unwrap();
    assert!(body.contains("Паспорт громадянина України (ID-картка)") && body.contains("Картка платника податків"), "{body}");
    let pdfs: Vec<&String> = attachments.iter().filter(|(_, t)| t == "application/pdf").map(|(n, _)| n).collect();
    assert_eq!(pdfs.len(), 2, "{attachments:?}");
    assert_eq!(attachments.iter().filter(|(_, t)| t == "application/pkcs7-signature").count(), 2, "{attachments:?}");

    let (_, ca) = app.get("/api/v1/ca.pem", None).await;
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.as_str().unwrap()).unwrap();
    for pdf in pdfs {
        let pdf_path = dir.join(pdf);
        let p7s = pdf_path.with_extension("p7s");
        // The same command a recipient runs; the default S/MIME purpose, not `-purpose any`.
        run(Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-out", "/dev/null"])
            .arg("-in")
            .arg(&p7s)
            .arg("-content")
            .arg(&pdf_path)
            .arg("-CAfile")
            .arg(&ca_file));
        // A changed byte breaks the signature.
        let mut tampered = std::fs::read(&pdf_path).unwrap();
        let last = tampered.len() - 10;
        tampered[last] ^= 1;
        let tampered_path = dir.join("tampered.pdf");
        std::fs::write(&tampered_path, tampered).unwrap();
        let refused = Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-out", "/dev/null"])
            .arg("-in")
            .arg(&p7s)
            .arg("-content")
            .arg(&tampered_path)
            .arg("-CAfile")
            .arg(&ca_file)
            .output()
            .unwrap();
        assert!(!refused.status.success(), "a tampered copy must not verify");
        {
            let text = run(Command::new("pdftotext").arg("-layout").arg(&pdf_path).arg("-"));
            for expected in
                ["ТОВ «Готель „Палаццо“»", "Копію сформовано", "за київським часом, UTC+0", "для поселення у готель", "Мар'яна", "30 днів"]
            {
                assert!(text.contains(expected), "{expected} missing from {pdf}:\n{text}");
            }
        }
    }

    // The citizen sees the outcome, the partner sees the share in the cabinet.
    eventually(Duration::from_secs(20), "delivered status", || async {
        let (_, s) = app.get(&format!("/api/v1/citizen/share-requests/{id}"), Some(&citizen)).await;
        (s["status"] == "delivered").then_some(())
    })
    .await;
    let history = eventually(Duration::from_secs(20), "history", || async {
        let (_, h) = app.get("/api/v1/citizen/history", Some(&citizen)).await;
        (h["history"][0]["label"] == "Виконано").then_some(h)
    })
    .await;
    assert!(history["history"][0]["share"]["delivered_at"].is_string(), "{history}");
    let (_, shares) = app.get("/api/v1/partner/shares", Some(&partner.token)).await;
    assert_eq!(shares["shares"][0]["share_request_id"], id.as_str(), "{shares}");
    assert_eq!(shares["shares"][0]["service_id"], service.as_str());

    // No second send.
    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "share-already-sent");
    app.shutdown().await;
}

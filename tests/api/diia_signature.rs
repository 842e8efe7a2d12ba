//! Diia.Signature as a citizen and an auditor meet it: the consent statement taken from the event
//! store verifies with `openssl cms -verify` against the citizens' CA and names the request and
//! the organisation; the citizen signs with the same certificate after a restart; wrong codes
//! lock signing, the lock and the attempts survive a restart, and the key is never stored in the
//! clear.

use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use diia_qr_projections::log::{StoredEvent, EVENT_COLUMNS};
use diia_qr_projections::personal_data::open_stored;
use diia_qr_projections::pki::DevPki;
use reqwest::StatusCode;
use serde_json::{json, Value};

use diia_qr_tests::{citizens, run, spawn_app, temp_dir, TestApp};

/// The statement and the DER signature of a share's consent, as the event store holds them
/// (opened with the request's data key, as every reader of the log does).
async fn stored_consent(app: &TestApp, share_id: &str) -> (String, Vec<u8>) {
    let mut conn = app.pool.acquire().await.unwrap();
    let row =
        sqlx::query(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE aggregate_id = $1 AND event_type = 'ShareRequestConsentSigned'"))
            .bind(share_id)
            .fetch_one(&mut *conn)
            .await
            .expect("the consent event");
    let mut events = vec![StoredEvent::from_row(&row).unwrap()];
    assert!(events[0].payload["ConsentSigned"]["statement"].as_str().is_some_and(str::is_empty), "sealed in the log itself");
    open_stored(&mut conn, &mut events).await.expect("the request's data key opens it");
    let consent = &events[0].payload["ConsentSigned"];
    let statement = consent["statement"].as_str().expect("statement").to_string();
    (statement, STANDARD.decode(consent["signature_base64"].as_str().expect("signature")).expect("base64"))
}

/// `openssl cms -verify` of a consent against the development PKI's root and citizens' CA;
/// returns the signer's certificate (PEM) and its subject.
fn openssl_verify(app: &TestApp, statement: &str, signature: &[u8]) -> (String, String) {
    let dir = temp_dir("consent");
    let pki = app.data_dir.join("pki");
    let mut anchors = std::fs::read(pki.join(DevPki::CA_FILE)).unwrap();
    anchors.extend(std::fs::read(pki.join(DevPki::CITIZENS_CA_FILE)).unwrap());
    std::fs::write(dir.join("citizens-trust.pem"), anchors).unwrap();
    std::fs::write(dir.join("statement.json"), statement).unwrap();
    std::fs::write(dir.join("consent.p7s"), signature).unwrap();
    run(Command::new("openssl").current_dir(&dir).args([
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        "consent.p7s",
        "-content",
        "statement.json",
        "-CAfile",
        "citizens-trust.pem",
        "-purpose",
        "any",
        "-signer",
        "signer.pem",
        "-out",
        "/dev/null",
    ]));
    let subject =
        run(Command::new("openssl").current_dir(&dir).args(["x509", "-in", "signer.pem", "-noout", "-subject", "-nameopt", "utf8"]));
    (std::fs::read_to_string(dir.join("signer.pem")).unwrap(), subject)
}

#[tokio::test]
async fn a_stored_consent_verifies_with_openssl_and_the_citizen_keeps_the_certificate_across_restarts() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (rnokpp, _) = citizens::maryana();
    let (_, id) = app.consented_share(&qr.link, &citizens::maryana()).await;

    let (statement, signature) = stored_consent(&app, &id).await;
    let (signer, subject) = openssl_verify(&app, &statement, &signature);
    assert!(subject.contains(&format!("TINUA-{rnokpp}")), "{subject}");
    assert!(subject.contains("Їжакевич"), "{subject}");
    let fields: Value = serde_json::from_str(&statement).unwrap();
    assert_eq!(fields["share_request_id"], id.as_str());
    assert_eq!(fields["organisation_name"], "ТОВ «Готель „Палаццо“»");
    assert_eq!(fields["citizen"], rnokpp.as_str());
    assert_eq!(fields["service_id"], qr.service_id.as_str());
    assert_eq!(fields["purposes"], json!(["для поселення у готель"]));
    assert_eq!(fields["documents"][0]["document_type"], "internal-passport");
    let wording = fields["wording_uk"].as_str().unwrap();
    assert!(wording.contains("ТОВ «Готель „Палаццо“»") && wording.contains(&id) && wording.contains("надаю згоду"), "{wording}");

    // What the store holds: the certificate, a key that is not a key in the clear, a hash of the code.
    let (certificate, wrapped, code_hash): (String, Vec<u8>, String) =
        sqlx::query_as("SELECT certificate_pem, wrapped_key, code_hash FROM diia_signature_keys WHERE rnokpp = $1")
            .bind(&rnokpp)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(certificate.trim(), signer.trim());
    assert!(openssl::pkey::PKey::private_key_from_der(&wrapped).is_err() && openssl::pkey::PKey::private_key_from_pkcs8(&wrapped).is_err());
    assert!(code_hash.starts_with("$argon2id$") && !code_hash.contains(&citizens::maryana().1), "{code_hash}");

    let app = app.restart_with(|_| {}).await;
    let (_, second) = app.consented_share(&qr.link, &citizens::maryana()).await;
    let (statement, signature) = stored_consent(&app, &second).await;
    let (signer_after_restart, _) = openssl_verify(&app, &statement, &signature);
    assert_eq!(signer_after_restart, signer, "the same certificate after a restart");
    app.shutdown().await;
}

async fn confirm(app: &TestApp, token: &str, id: &str, code: &str) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/citizen/share-requests/{id}/confirmation"), Some(token), json!({"code": code})).await
}

async fn photo_verified_share(app: &TestApp, link: &str, token: &str) -> String {
    let (status, share) = app.scan(token, link).await;
    assert_eq!(status, StatusCode::CREATED, "{share}");
    let id = share["share_request_id"].as_str().unwrap().to_string();
    let (status, body) = app.verify_photo(token, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

async fn attempts(app: &TestApp, rnokpp: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT outcome FROM diia_signature_attempts WHERE rnokpp = $1 ORDER BY id")
        .bind(rnokpp)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn wrong_codes_lock_signing_and_the_lock_and_every_attempt_survive_a_restart() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (rnokpp, code) = citizens::maryana();
    let token = app.citizen_session(&rnokpp).await;
    let id = photo_verified_share(&app, &qr.link, &token).await;

    let (status, body) = confirm(&app, &token, &id, "000000").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("signature-code-wrong")), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("залишилось спроб: 2"), "{body}");
    // A flood of digits is a wrong code like any other (and is not hashed).
    let (status, body) = confirm(&app, &token, &id, &"9".repeat(100_000)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("signature-code-wrong")), "{body}");
    let (status, body) = confirm(&app, &token, &id, "123123").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("signature-locked")), "{body}");

    let app = app.restart_with(|_| {}).await;
    let token = app.citizen_session(&rnokpp).await;
    let (status, body) = confirm(&app, &token, &id, &code).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("signature-locked")),
        "the right code while locked: {body}"
    );
    let recorded = attempts(&app, &rnokpp).await;
    assert_eq!(recorded, ["wrong-code", "wrong-code", "locked-out", "refused-while-locked"]);

    // After the lockout, the right code signs again (on a new request: the first has expired).
    app.clock.advance(chrono::Duration::minutes(16));
    let id = photo_verified_share(&app, &qr.link, &token).await;
    let (status, body) = confirm(&app, &token, &id, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(attempts(&app, &rnokpp).await.last().map(String::as_str), Some("signed"));
    app.shutdown().await;
}

//! Partners sign in with the head's КЕП: a one-time challenge signed as CMS; the identity comes
//! from the certificate. Each refusal has its own reason.

use std::path::PathBuf;
use std::process::Command;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use chrono::Utc;
use diia_qr_projections::pki::{DevPki, Subject};
use diia_qr_projections::seal::{OpenSslSeal, Signer};
use diia_qr_tests::{engine_binary, spawn_app, spawn_app_with, temp_dir, TestApp};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn pki_dir(app: &TestApp) -> PathBuf {
    app.data_dir.join("pki")
}

/// A test partner's head, as the development PKI issued them, ready to sign.
fn head(app: &TestApp, name: &str) -> OpenSslSeal {
    let (pki, _) = DevPki::load_or_create(&pki_dir(app)).unwrap();
    let (key, cert): (PKey<Private>, X509) = DevPki::test_partner(&pki_dir(app), name).unwrap();
    OpenSslSeal::new(key, cert, pki.qualified_chain())
}

async fn challenge(app: &TestApp) -> (String, String) {
    let (status, c) = app.post("/api/v1/partner/sign-in/challenge", None, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    (c["challenge_id"].as_str().unwrap().to_owned(), c["text"].as_str().unwrap().to_owned())
}

async fn sign_in_with(app: &TestApp, challenge_id: &str, signature: &[u8]) -> (StatusCode, Value) {
    app.post("/api/v1/partner/sign-in", None, json!({"challenge_id": challenge_id, "signature_base64": BASE64_STANDARD.encode(signature)}))
        .await
}

async fn sign_in(app: &TestApp, signer: &OpenSslSeal) -> (StatusCode, Value) {
    let (id, text) = challenge(app).await;
    let signature = signer.sign_detached(text.as_bytes(), Utc::now()).unwrap();
    sign_in_with(app, &id, &signature).await
}

#[tokio::test]
async fn a_head_signs_in_with_the_kep_and_the_certificate_names_the_partner() {
    let app = spawn_app().await;
    let (status, v) = sign_in(&app, &head(&app, "hotel-palazzo")).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["organisation_name"], "ТОВ «Готель „Палаццо“»");
    assert_eq!(v["head_full_name"], "Ґарбуз Марія Олексіївна");
    assert_eq!(v["head_title"], "Директор");
    let token = v["token"].as_str().unwrap().to_owned();
    let (status, registered) = app.post("/api/v1/partner/registration", Some(&token), json!({})).await;
    assert!(status.is_success(), "{registered}");
    let (status, partner) = app.get("/api/v1/partner", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{partner}");
    assert_eq!(partner["partner_id"], v["partner_id"]);
    assert_eq!(partner["organisation_name"], "ТОВ «Готель „Палаццо“»", "from the certificate, never from a body: {partner}");

    // Signing out ends the session on the server.
    let response = app.client.delete(app.url("/api/v1/session")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (status, problem) = app.get("/api/v1/partner", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("вийшли"), "{problem}");

    // A sole proprietor is named by the head's РНОКПП.
    let (status, v) = sign_in(&app, &head(&app, "sole-proprietor")).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["organisation_name"], "ФОП Олійник-Д'Арко Ігор Васильович");
    app.shutdown().await;
}

#[tokio::test]
async fn revoked_expired_untrusted_and_mismatched_signatures_and_replayed_challenges_are_refused_each_with_its_reason() {
    let app = spawn_app().await;
    let refused = |v: &Value, code: &str| {
        assert_eq!(v["status"], 401, "{v}");
        assert_eq!(v["code"], code, "{v}");
        assert!(!v["detail"].as_str().unwrap_or_default().is_empty(), "{v}");
    };
    let (_, v) = sign_in(&app, &head(&app, "revoked")).await;
    refused(&v, "kep-certificate-revoked");
    // Our signer will not sign with an expired certificate; a client's may.
    let (id, text) = challenge(&app).await;
    let (key, cert) = DevPki::test_partner(&pki_dir(&app), "expired").unwrap();
    let mut chain = openssl::stack::Stack::new().unwrap();
    chain.push(DevPki::load_or_create(&pki_dir(&app)).unwrap().0.qualified.certificate).unwrap();
    let flags = openssl::cms::CMSOptions::DETACHED | openssl::cms::CMSOptions::BINARY;
    let expired = openssl::cms::CmsContentInfo::sign(Some(&cert), Some(&key), Some(&chain), Some(text.as_bytes()), flags).unwrap();
    let (_, v) = sign_in_with(&app, &id, &expired.to_der().unwrap()).await;
    refused(&v, "kep-certificate-expired");

    // A citizen's Diia.Signature certificate: from the citizens' CA, not a qualified provider
    // configured for partners.
    let (pki, _) = DevPki::load_or_create(&pki_dir(&app)).unwrap();
    let subject = Subject { common_name: "Ґудзь Мар'яна", serial_number: Some("TINUA-3012345678"), ..Subject::default() };
    let (key, cert) = pki.citizens.issue_new_key(&subject, 30).unwrap();
    let (_, v) = sign_in(&app, &OpenSslSeal::new(key, cert, pki.citizens_chain())).await;
    refused(&v, "kep-certificate-untrusted");
    // Another CA altogether, however well its certificate imitates a partner's.
    let other_dir = temp_dir("other-pki");
    let (other, _) = DevPki::load_or_create(&other_dir).unwrap();
    let (key, cert) = DevPki::test_partner(&other_dir, "hotel-palazzo").unwrap();
    let (_, v) = sign_in(&app, &OpenSslSeal::new(key, cert, other.qualified_chain())).await;
    refused(&v, "kep-certificate-untrusted");

    let hotel = head(&app, "hotel-palazzo");
    // A signature over other bytes than the challenge.
    let (id, _) = challenge(&app).await;
    let (_, v) = sign_in_with(&app, &id, &hotel.sign_detached(b"another text", Utc::now()).unwrap()).await;
    refused(&v, "kep-signature-mismatch");
    let (_, v) = sign_in_with(&app, &id, b"not a signature").await;
    refused(&v, "kep-signature-invalid");
    // A challenge is good for one sign-in.
    let (id, text) = challenge(&app).await;
    let signature = hotel.sign_detached(text.as_bytes(), Utc::now()).unwrap();
    let (status, _) = sign_in_with(&app, &id, &signature).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, v) = sign_in_with(&app, &id, &signature).await;
    refused(&v, "kep-challenge-used");
    // An unknown challenge, and one signed too late.
    let (_, v) = sign_in_with(&app, "6b3f0c1e-2a4d-4e5f-8a9b-0c1d2e3f4a5b", &signature).await;
    refused(&v, "kep-challenge-unknown");
    let (id, text) = challenge(&app).await;
    let signature = hotel.sign_detached(text.as_bytes(), Utc::now()).unwrap();
    app.clock.advance(chrono::Duration::minutes(6));
    let (_, v) = sign_in_with(&app, &id, &signature).await;
    refused(&v, "kep-challenge-expired");
    // Not base64 at all: the body is wrong, not the signer.
    let (status, v) = app.post("/api/v1/partner/sign-in", None, json!({"challenge_id": id, "signature_base64": "%%%"})).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("kep-signature-not-base64")), "{v}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_command_line_signs_a_challenge_a_script_can_send() {
    let app = spawn_app().await;
    let (id, text) = challenge(&app).await;
    let dir = temp_dir("kep-cli");
    std::fs::write(dir.join("challenge.txt"), &text).unwrap();
    let (cert, key) = DevPki::partner_files(&pki_dir(&app), "hotel-palazzo");
    let out = Command::new(engine_binary())
        .args(["kep", "sign-challenge", "--key"])
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .arg("--chain")
        .arg(pki_dir(&app).join(DevPki::QUALIFIED_CA_FILE))
        .arg(dir.join("challenge.txt"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let signature = BASE64_STANDARD.decode(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    let (status, v) = sign_in_with(&app, &id, &signature).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    app.shutdown().await;
}

#[tokio::test]
async fn without_dev_sign_in_the_development_sign_ins_do_not_exist() {
    let app = spawn_app_with(|c| c.dev_sign_in = false).await;
    let partner = json!({"kind": "legal_entity", "edrpou": "45172831", "organisation_name": "ТОВ «Будь-яка»", "head_rnokpp": "3124502180", "head_full_name": "Ґарбуз Марія"});
    for (path, body) in [
        ("/api/v1/dev/partner-sessions", partner),
        ("/api/v1/dev/citizen-sessions", json!({"rnokpp": "3294600243"})),
        ("/api/v1/dev/operator-sessions", json!({"name": "Оксана"})),
    ] {
        let (status, v) = app.post(path, None, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    let (status, _) = sign_in(&app, &head(&app, "hotel-palazzo")).await;
    assert_eq!(status, StatusCode::CREATED, "КЕП sign-in needs no switch");
    app.shutdown().await;
}

#[tokio::test]
async fn the_accession_application_is_a_pdf_the_head_signs_with_the_kep_and_the_log_keeps_it() {
    let app = spawn_app().await;
    let hotel = head(&app, "hotel-palazzo");
    let (_, v) = sign_in(&app, &hotel).await;
    let token = v["token"].as_str().unwrap().to_owned();
    app.post("/api/v1/partner/registration", Some(&token), json!({})).await;
    app.put(
        "/api/v1/partner/profile",
        &token,
        json!({"email": "director@palazzo.example", "phone": "0671234567", "passport": "123456789"}),
    )
    .await;
    let (_, offer) = app.get("/api/v1/partner/offer", Some(&token)).await;
    app.post("/api/v1/partner/offer-acceptance", Some(&token), json!({"version": offer["version"], "sha256": offer["sha256"]})).await;

    let (status, application) = app.get("/api/v1/partner/accession-application", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{application}");
    let response = app.client.get(app.url(application["pdf_path"].as_str().unwrap())).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.unwrap().to_vec();
    assert_eq!(application["pdf_sha256"], diia_qr_projections::digest::sha256_hex(&pdf));
    let dir = temp_dir("accession");
    std::fs::write(dir.join("application.pdf"), &pdf).unwrap();
    let text = Command::new("pdftotext").arg(dir.join("application.pdf")).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("ТОВ «Готель „Палаццо“»") && text.contains("Ґарбуз Марія Олексіївна") && text.contains("45172831"), "{text}");

    let send = |signature: Vec<u8>| {
        let token = token.clone();
        let app = &app;
        async move {
            app.post("/api/v1/partner/accession-application", Some(&token), json!({"signature_base64": BASE64_STANDARD.encode(signature)}))
                .await
        }
    };
    let (status, v) = send(head(&app, "sole-proprietor").sign_detached(&pdf, Utc::now()).unwrap()).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("application-signer-not-head")), "{v}");
    let elsewhere = app.head_kep("21904668", "ТОВ «Інша»");
    let (_, v) = send(elsewhere.sign_detached(&pdf, Utc::now()).unwrap()).await;
    assert_eq!(v["code"], "application-signer-other-organisation", "{v}");
    let (_, v) = send(head(&app, "revoked").sign_detached(&pdf, Utc::now()).unwrap()).await;
    assert_eq!(v["code"], "kep-certificate-revoked", "{v}");
    let (_, v) = send(hotel.sign_detached(b"another document", Utc::now()).unwrap()).await;
    assert_eq!(v["code"], "kep-signature-mismatch", "{v}");
    let (_, me) = app.get("/api/v1/partner", Some(&token)).await;
    assert_ne!(me["status"], "active", "nothing refused made a partner: {me}");

    let signature = hotel.sign_detached(&pdf, Utc::now()).unwrap();
    let (status, v) = send(signature.clone()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
    let (_, me) = app.get("/api/v1/partner", Some(&token)).await;
    assert_eq!(me["status"], "active", "{me}");

    // The log keeps the PDF and the signature: an auditor checks them with openssl alone.
    let payload: Value = sqlx::query_scalar("SELECT payload FROM events WHERE event_type = 'PartnerAccessionApplicationSigned'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let evidence = &payload["AccessionApplicationSigned"]["evidence"];
    let kept_pdf = BASE64_STANDARD.decode(evidence["pdf_base64"].as_str().unwrap()).unwrap();
    let kept_signature = BASE64_STANDARD.decode(evidence["signature_base64"].as_str().unwrap()).unwrap();
    assert_eq!((kept_pdf.as_slice(), kept_signature.as_slice()), (pdf.as_slice(), signature.as_slice()));
    std::fs::write(dir.join("kept.pdf"), &kept_pdf).unwrap();
    std::fs::write(dir.join("kept.p7s"), &kept_signature).unwrap();
    let verified = Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-out", "/dev/null", "-in"])
        .arg(dir.join("kept.p7s"))
        .arg("-content")
        .arg(dir.join("kept.pdf"))
        .arg("-CAfile")
        .arg(pki_dir(&app).join(DevPki::CA_FILE))
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));
    app.shutdown().await;
}

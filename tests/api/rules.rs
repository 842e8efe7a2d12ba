//! Domain rules as a partner and a citizen meet them through the API.

use std::time::Duration;

use diia_qr_tests::{citizens, eventually, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn onboarding_goes_in_order_and_branch_names_are_checked() {
    let app = spawn_app().await;
    let token = app.partner_session("45172831", "ТОВ «Готель „Палаццо“»").await;
    let partner = diia_qr_tests::TestPartner { token: token.clone(), partner_id: String::new() };
    let (status, body) = app.create_branch(&partner, "Готель «Палаццо»", "desk@palazzo.example").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("onboarding-not-finished")), "{body}");

    app.post("/api/v1/partner/registration", Some(&token), json!({})).await;
    let (status, body) = app.post("/api/v1/partner/registration", Some(&token), json!({})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("partner-already-registered")), "{body}");
    let unchecked = json!({"signature_base64": "MA=="});
    let (status, body) = app.post("/api/v1/partner/accession-application", Some(&token), unchecked.clone()).await;
    assert_eq!(body["code"], "onboarding-profile-required", "{status} {body}");
    app.put("/api/v1/partner/profile", &token, json!({"email": "d@palazzo.example", "phone": "0671234567", "passport": "123456789"})).await;
    let (status, body) = app.post("/api/v1/partner/accession-application", Some(&token), unchecked).await;
    assert_eq!(body["code"], "onboarding-offer-not-accepted", "{status} {body}");
    let (status, body) = app.post("/api/v1/partner/offer-acceptance", Some(&token), json!({"version": "2020-01-01", "sha256": "00"})).await;
    assert_eq!(body["code"], "offer-outdated", "{status} {body}");
    let (_, offer) = app.get("/api/v1/partner/offer", Some(&token)).await;
    app.post("/api/v1/partner/offer-acceptance", Some(&token), json!({"version": offer["version"], "sha256": offer["sha256"]})).await;
    let (status, body) = app.sign_accession_application(&token, "45172831", "ТОВ «Готель „Палаццо“»").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, me) = app.get("/api/v1/partner", Some(&token)).await;
    assert_eq!(me["status"], "active", "{me}");

    for bad in ["Дія", "Дiя готель", "ІДЕНТИФІКАЦІЯ!", "впровадження   Дії"] {
        let (status, body) = app.create_branch(&partner, bad, "desk@palazzo.example").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("branch-name-forbidden")), "{bad}: {body}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn services_need_a_purpose_documents_and_a_confirmed_mailbox_for_their_qr() {
    let app = spawn_app().await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let (_, branch) = app.create_branch(&partner, "Готель «Палаццо»", "desk@palazzo.example").await;
    let branch_id = branch["branch_id"].as_str().unwrap().to_string();

    let (status, body) = app.create_service(&partner, &branch_id, "Дія", &["internal-passport"]).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("service-name-forbidden")), "{body}");
    let (_, body) = app.create_service(&partner, &branch_id, "для поселення у готель", &[]).await;
    assert_eq!(body["code"], "service-without-documents", "{body}");
    let (_, body) = app.create_service(&partner, &branch_id, "для поселення у готель", &["passport-of-mars"]).await;
    assert_eq!(body["code"], "document-type-unknown", "{body}");

    let (status, body) = app
        .create_service(&partner, &branch_id, "для поселення у готель, для надання адміністративних послуг", &["internal-passport"])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let service_id = body["service_id"].as_str().unwrap().to_string();
    let (status, body) = app.post(&format!("/api/v1/partner/services/{service_id}/qr"), Some(&partner.token), json!({})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("branch-email-not-confirmed")), "{body}");

    let (status, body) = app.post("/api/v1/branch-email-confirmations", None, json!({"branch_id": branch_id, "code": "00000000"})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("email-confirmation-code-wrong")), "{body}");
    app.confirm_branch_from_mail(&branch_id).await;
    let (status, qr) = app.post(&format!("/api/v1/partner/services/{service_id}/qr"), Some(&partner.token), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{qr}");
    let services = eventually(Duration::from_secs(20), "services view", || async {
        let (_, s) = app.get("/api/v1/partner/services", Some(&partner.token)).await;
        (s["services"][0]["qr_active"] == true).then_some(s)
    })
    .await;
    assert_eq!(services["services"][0]["names"], json!(["для поселення у готель", "для надання адміністративних послуг"]));
    app.shutdown().await;
}

#[tokio::test]
async fn forged_rotated_revoked_and_unknown_qr_codes_are_each_refused() {
    let app = spawn_app().await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let branch = app.confirmed_branch(&partner, "desk@palazzo.example").await;
    let (service_id, first) = app.service_with_qr(&partner, &branch, "для поселення у готель", &["internal-passport"]).await;
    let citizen = app.citizen_session(&citizens::maryana().0).await;

    let (_, rotated) = app.post(&format!("/api/v1/partner/services/{service_id}/qr"), Some(&partner.token), json!({})).await;
    let current = rotated["link"].as_str().unwrap().to_string();
    assert_ne!(current, first);
    let (status, body) = app.scan(&citizen, &first).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("qr-rotated")), "{body}");

    let mut forged = current.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (status, body) = app.scan(&citizen, &forged).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("qr-forged")), "{body}");

    let (status, body) = app.scan(&citizen, "https://diia.app/acquirers/branch/offer/offer-request/nonsense").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("qr-link-foreign")), "{body}");
    let (status, body) = app.scan(&citizen, &format!("{}/qr/v1/nonsense", app.base)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("qr-unknown")), "{body}");

    let (status, _) = app.scan(&citizen, &current).await;
    assert_eq!(status, StatusCode::CREATED);
    let r =
        app.client.delete(app.url(&format!("/api/v1/partner/services/{service_id}/qr"))).bearer_auth(&partner.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, body) = app.scan(&citizen, &current).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("qr-revoked")), "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn all_or_nothing_a_missing_document_is_named_before_photo_verification() {
    let app = spawn_app().await;
    let partner = app.onboard_partner("45172831", "ТОВ «Прокат „Їжак“»").await;
    let branch = app.confirmed_branch(&partner, "desk@yizhak.example").await;
    let (_, link) =
        app.service_with_qr(&partner, &branch, "для оренди автомобіля", &["internal-passport", "driver-license", "vehicle-license"]).await;
    let olha = app.citizen_session(&citizens::olha().0).await;
    let before = app.event_count().await;
    let (status, body) = app.scan(&olha, &link).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("documents-missing")), "{body}");
    assert_eq!(body["diia_code"], 12141002);
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("Посвідчення водія") && detail.contains("Свідоцтво про реєстрацію транспортного засобу"), "{detail}");
    assert!(!detail.contains("Паспорт"), "names only what is missing: {detail}");
    assert_eq!(app.event_count().await, before, "no request is opened");
    app.shutdown().await;
}

#[tokio::test]
async fn a_driver_with_two_vehicles_chooses_which_one_is_sent() {
    let app = spawn_app().await;
    let partner = app.onboard_partner("45172831", "ТОВ «Прокат „Їжак“»").await;
    let branch = app.confirmed_branch(&partner, "desk@yizhak.example").await;
    let (_, link) = app.service_with_qr(&partner, &branch, "для оренди автомобіля", &["driver-license", "vehicle-license"]).await;
    let (rnokpp, code) = citizens::ihor();
    let ihor = app.citizen_session(&rnokpp).await;
    let (_, share) = app.scan(&ihor, &link).await;
    let id = share["share_request_id"].as_str().unwrap().to_string();
    assert_eq!(share["choice_needed"], json!(["vehicle-license"]), "{share}");
    assert_eq!(share["candidates"].as_array().unwrap().iter().filter(|c| c["document_type"] == "vehicle-license").count(), 2);

    let (status, body) = app.verify_photo(&ihor, &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{id}/confirmation"), Some(&ihor), json!({"code": code})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("document-choice-incomplete")), "{body}");
    let (status, body) = app
        .post(
            &format!("/api/v1/citizen/share-requests/{id}/choices"),
            Some(&ihor),
            json!({"choices": [{"document_type": "vehicle-license", "document_id": "СХК 204617"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["choice_needed"], json!([]));
    let (status, body) =
        app.post(&format!("/api/v1/citizen/share-requests/{id}/confirmation"), Some(&ihor), json!({"code": "000000"})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("signature-code-wrong")), "{body}");
    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{id}/confirmation"), Some(&ihor), json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&ihor), json!({})).await;

    let eml = app.wait_for_mail(&format!("share-{id}")).await;
    let dir = diia_qr_tests::temp_dir("mail");
    let (_, attachments) = diia_qr_tests::unpack_mail(&eml, &dir);
    assert_eq!(attachments.len(), 4, "{attachments:?}");
    {
        let vehicle = attachments.iter().find(|(n, _)| n.starts_with("vehicle-license") && n.ends_with(".pdf")).unwrap();
        let text = diia_qr_tests::run(std::process::Command::new("pdftotext").arg(dir.join(&vehicle.0)).arg("-"));
        assert!(text.contains("ВС 0917 ІМ") && !text.contains("ВС 4821 ЕК"), "the chosen vehicle only:\n{text}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn an_unfinished_request_expires_and_the_citizen_sees_it_refused() {
    let app = spawn_app().await;
    let link = app.live_qr("для поселення у готель", &["internal-passport"]).await.link;
    let (rnokpp, _) = citizens::maryana();
    let citizen = app.citizen_session(&rnokpp).await;
    let (_, share) = app.scan(&citizen, &link).await;
    let id = share["share_request_id"].as_str().unwrap().to_string();
    // Past the 15-minute lifetime of a request, without waiting for it.
    app.clock.advance(chrono::Duration::minutes(16));
    let (status, body) = app.verify_photo(&citizen, &id).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("share-expired")), "{body}");
    assert_eq!(body["diia_code"], 12201002);
    eventually(Duration::from_secs(30), "the sweeper to expire the request", || async {
        let (_, h) = app.get("/api/v1/citizen/history", Some(&citizen)).await;
        (h["history"][0]["label"] == "Відмовлено" && h["history"][0]["share"]["status"] == "expired").then_some(())
    })
    .await;
    app.shutdown().await;
}

//! Moderation: operators sign in with a КЕП under the operator role from configuration, see new
//! and changed branch and service names, approve the revision they saw or remove it with a
//! reason — the QR stops and the partner is told by e-mail.

use std::time::Duration;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use chrono::Utc;
use diia_qr_projections::pki::DevPki;
use diia_qr_projections::seal::{OpenSslSeal, Signer};
use diia_qr_tests::{citizens, eventually, spawn_app, spawn_app_with, unpack_mail, LiveQr, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn kep_of(app: &TestApp, holder: Option<&str>) -> OpenSslSeal {
    let dir = app.data_dir.join("pki");
    let (pki, _) = DevPki::load_or_create(&dir).unwrap();
    let (key, cert) = match holder {
        None => DevPki::test_operator(&dir).unwrap(),
        Some(partner) => DevPki::test_partner(&dir, partner).unwrap(),
    };
    OpenSslSeal::new(key, cert, pki.qualified_chain())
}

/// Signs a challenge of the door `challenge_path` with `signer` and answers it at `sign_in_path`.
async fn kep_sign_in(app: &TestApp, challenge_path: &str, sign_in_path: &str, signer: &OpenSslSeal) -> (StatusCode, Value) {
    let (status, c) = app.post(challenge_path, None, json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let signature = signer.sign_detached(c["text"].as_str().unwrap().as_bytes(), Utc::now()).unwrap();
    app.post(sign_in_path, None, json!({"challenge_id": c["challenge_id"], "signature_base64": BASE64_STANDARD.encode(signature)})).await
}

const OPERATOR_CHALLENGE: &str = "/api/v1/operator/sign-in/challenge";
const OPERATOR_SIGN_IN: &str = "/api/v1/operator/sign-in";

async fn operator_token(app: &TestApp) -> String {
    let (status, v) = kep_sign_in(app, OPERATOR_CHALLENGE, OPERATOR_SIGN_IN, &kep_of(app, None)).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["token"].as_str().unwrap().to_string()
}

/// The queue (or another state) once it shows `subject_id`.
async fn moderation_item(app: &TestApp, token: &str, state: &str, subject_id: &str, revision: i64) -> Value {
    eventually(Duration::from_secs(30), &format!("{subject_id} revision {revision} to be {state}"), || async {
        let (status, body) = app.get(&format!("/api/v1/operator/moderation?state={state}"), Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"].as_array().unwrap().iter().find(|i| i["subject_id"] == subject_id && i["revision"] == revision).cloned()
    })
    .await
}

#[tokio::test]
async fn operators_sign_in_with_a_kep_when_the_configuration_names_them() {
    let app = spawn_app().await;
    let (status, v) = kep_sign_in(&app, OPERATOR_CHALLENGE, OPERATOR_SIGN_IN, &kep_of(&app, None)).await;
    assert_eq!(status, StatusCode::CREATED, "the development PKI's test operator: {v}");
    assert_eq!(v["full_name"], "Ковальчук Ярина Степанівна");
    let (status, body) = app.get("/api/v1/operator/moderation", v["token"].as_str()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let head = kep_of(&app, Some("hotel-palazzo"));
    let (status, v) = kep_sign_in(&app, OPERATOR_CHALLENGE, OPERATOR_SIGN_IN, &head).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("kep-not-an-operator")), "{v}");
    let (status, v) = kep_sign_in(&app, "/api/v1/partner/sign-in/challenge", OPERATOR_SIGN_IN, &kep_of(&app, None)).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("kep-challenge-unknown")), "a partner's challenge: {v}");
    let (status, v) = kep_sign_in(&app, OPERATOR_CHALLENGE, "/api/v1/partner/sign-in", &head).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("kep-challenge-unknown")), "an operator's challenge: {v}");
    let (status, v) = kep_sign_in(&app, OPERATOR_CHALLENGE, OPERATOR_SIGN_IN, &kep_of(&app, Some("revoked"))).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("kep-certificate-revoked")), "{v}");
    app.shutdown().await;

    // The configuration's operators: the hotel's head becomes one.
    let head_rnokpp = diia_qr_domain::identifiers::Rnokpp::with_check_digit("312450218").unwrap().as_str().to_string();
    let app = spawn_app_with(|c| c.operators = vec![head_rnokpp.clone()]).await;
    let (status, v) = kep_sign_in(&app, OPERATOR_CHALLENGE, OPERATOR_SIGN_IN, &kep_of(&app, Some("hotel-palazzo"))).await;
    assert_eq!(status, StatusCode::CREATED, "{head_rnokpp} is configured as an operator: {v}");
    app.shutdown().await;
}

#[tokio::test]
async fn new_and_renamed_names_wait_for_an_operator_who_decides_on_the_revision_they_saw() {
    let app = spawn_app().await;
    let LiveQr { partner, branch_id, service_id, link } = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let operator = operator_token(&app).await;

    let branch = moderation_item(&app, &operator, "pending", &branch_id, 1).await;
    assert_eq!(branch["subject"], "branch");
    assert_eq!(branch["names"], json!(["Готель «Палаццо»"]));
    assert_eq!(branch["organisation_name"], "ТОВ «Готель „Палаццо“»");
    let service = moderation_item(&app, &operator, "pending", &service_id, 1).await;
    assert_eq!((service["names"].clone(), service["branch_name"].clone()), (json!(["для поселення у готель"]), json!("Готель «Палаццо»")));
    let citizen = app.citizen_session(&citizens::maryana().0).await;
    let (status, body) = app.scan(&citizen, &link).await;
    assert_eq!(status, StatusCode::CREATED, "a pending name serves meanwhile: {body}");

    let (status, body) =
        app.post(&format!("/api/v1/operator/moderation/branches/{branch_id}/approval"), Some(&operator), json!({"revision": 1})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    moderation_item(&app, &operator, "approved", &branch_id, 1).await;
    let (status, body) =
        app.post(&format!("/api/v1/operator/moderation/branches/{branch_id}/approval"), Some(&operator), json!({"revision": 1})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("moderation-already-approved")), "{body}");

    // The partner renames the service while it waits: the operator's view of revision 1 is stale.
    let names_path = format!("/api/v1/partner/services/{service_id}/names");
    let (status, body) = app.put(&names_path, &partner.token, json!({"names": "Дія"})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("service-name-forbidden")), "{body}");
    let (status, body) = app.put(&names_path, &partner.token, json!({"names": "для поселення у готель, для бронювання номера"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let renamed = moderation_item(&app, &operator, "pending", &service_id, 2).await;
    assert_eq!(renamed["names"], json!(["для поселення у готель", "для бронювання номера"]));
    let approval = format!("/api/v1/operator/moderation/services/{service_id}/approval");
    let (status, body) = app.post(&approval, Some(&operator), json!({"revision": 1})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("moderation-revision-stale")), "{body}");
    let (status, body) = app.post(&approval, Some(&operator), json!({"revision": 2})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let services = eventually(Duration::from_secs(30), "the cabinet to show the approval", || async {
        let (_, body) = app.get("/api/v1/partner/services", Some(&partner.token)).await;
        let s = body["services"].as_array()?.iter().find(|s| s["service_id"] == service_id.as_str())?.clone();
        (s["moderation"] == "approved").then_some(s)
    })
    .await;
    assert_eq!((services["name_revision"].clone(), services["names"][1].clone()), (json!(2), json!("для бронювання номера")));
    let (_, branches) = app.get("/api/v1/partner/branches", Some(&partner.token)).await;
    assert_eq!(branches["branches"][0]["moderation"], "approved", "{branches}");

    // A renamed branch is a new revision too; a forbidden one is refused before any queue.
    let name_path = format!("/api/v1/partner/branches/{branch_id}/name");
    let (status, body) = app.put(&name_path, &partner.token, json!({"name": "Дiя готель"})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("branch-name-forbidden")), "{body}");
    let (status, body) = app.put(&name_path, &partner.token, json!({"name": "Готель «Палаццо» на Руській"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    moderation_item(&app, &operator, "pending", &branch_id, 2).await;
    app.shutdown().await;
}

#[tokio::test]
async fn a_removed_service_stops_its_qr_and_the_partner_reads_why_in_a_letter() {
    let app = spawn_app().await;
    let LiveQr { partner, branch_id, service_id, link } = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let operator = operator_token(&app).await;
    let removal = format!("/api/v1/operator/moderation/services/{service_id}/removal");

    let (status, body) = app.post(&removal, Some(&operator), json!({"revision": 1, "reason": "  "})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("moderation-reason-missing")), "{body}");
    let (status, body) = app.post(&removal, Some(&partner.token), json!({"revision": 1, "reason": "сам собі"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a partner does not moderate: {body}");
    let reason = "Назва не показує мети обробки: вкажіть, для чого потрібні документи";
    let (status, body) = app.post(&removal, Some(&operator), json!({"revision": 1, "reason": reason})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let citizen = app.citizen_session(&citizens::maryana().0).await;
    let (status, body) = app.scan(&citizen, &link).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("qr-removed-by-moderation")), "{body}");
    let (status, body) = app.post(&format!("/api/v1/partner/services/{service_id}/qr"), Some(&partner.token), json!({})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("service-removed-by-moderation")), "{body}");
    let (status, body) =
        app.put(&format!("/api/v1/partner/services/{service_id}/names"), &partner.token, json!({"names": "для вступу"})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("service-removed-by-moderation")), "{body}");

    let letter = app.wait_for_mail(&format!("removal-{service_id}")).await;
    let (headers, _) = unpack_mail(&letter, &app.data_dir);
    assert_eq!(headers["to"], "director@palazzo.example", "the profile's address: {headers}");
    assert_eq!(headers["subject"], "Дія.QR: модерація видалила послугу", "no partner-typed text in the subject");
    let body = headers["body"].as_str().unwrap();
    assert!(body.contains("«для поселення у готель»") && body.contains(reason), "{body}");
    let removed = moderation_item(&app, &operator, "removed", &service_id, 1).await;
    assert_eq!(removed["reason"], reason);
    let (_, services) = app.get("/api/v1/partner/services", Some(&partner.token)).await;
    let service = &services["services"][0];
    assert_eq!((service["moderation_reason"].as_str(), service["qr_active"].as_bool()), (Some(reason), Some(false)), "{services}");

    // Removing the branch stops every service under it and refuses new ones.
    let (other_service, other_link) = app.service_with_qr(&partner, &branch_id, "для бронювання номера", &["internal-passport"]).await;
    let (status, body) = app
        .post(
            &format!("/api/v1/operator/moderation/branches/{branch_id}/removal"),
            Some(&operator),
            json!({"revision": 1, "reason": "назва вводить громадян в оману"}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app.scan(&citizen, &other_link).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("qr-removed-by-moderation")), "service {other_service}: {body}");
    let (status, body) = app.create_service(&partner, &branch_id, "для вступу", &["internal-passport"]).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("branch-removed-by-moderation")), "{body}");
    let letter = app.wait_for_mail(&format!("removal-{branch_id}")).await;
    assert_eq!(unpack_mail(&letter, &app.data_dir).0["subject"], "Дія.QR: модерація видалила відділення");
    app.shutdown().await;
}

#[tokio::test]
async fn a_partner_renames_only_its_own_and_an_operator_moderates_only_what_exists() {
    let app = spawn_app().await;
    let LiveQr { branch_id, service_id, .. } = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let other = app.onboard_partner("43395033", "ТОВ «Інша»").await;
    let (status, body) =
        app.put(&format!("/api/v1/partner/branches/{branch_id}/name"), &other.token, json!({"name": "Чужий готель"})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("branch-not-found")), "{body}");
    let (status, body) =
        app.put(&format!("/api/v1/partner/services/{service_id}/names"), &other.token, json!({"names": "для чужого"})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("service-not-found")), "{body}");

    let operator = operator_token(&app).await;
    let nobody = uuid::Uuid::new_v4();
    let (status, body) =
        app.post(&format!("/api/v1/operator/moderation/branches/{nobody}/approval"), Some(&operator), json!({"revision": 1})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("branch-not-found")), "{body}");
    let (status, body) = app.get("/api/v1/operator/moderation?state=everything", Some(&operator)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("moderation-state-invalid")), "{body}");
    let active = eventually(Duration::from_secs(30), "both partners listed as active", || async {
        let (status, body) = app.get("/api/v1/operator/partners?status=active", Some(&operator)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let partners = body["partners"].as_array().cloned().unwrap_or_default();
        (partners.len() == 2).then_some(partners)
    })
    .await;
    assert!(active.iter().any(|p| p["organisation_name"] == "ТОВ «Інша»" && p["registry_code"] == "43395033"), "{active:?}");
    app.shutdown().await;
}

//! Verifying a presented copy: genuine or not, when and for whom it was made, and a warning when
//! someone other than the addressee presents it.

use base64::prelude::{Engine as _, BASE64_STANDARD};
use diia_qr_tests::{citizens, spawn_app, temp_dir, unpack_mail, LiveQr, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn verify(app: &TestApp, pdf: &[u8], p7s: &[u8], presented_by: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({ "pdf_base64": BASE64_STANDARD.encode(pdf), "p7s_base64": BASE64_STANDARD.encode(p7s) });
    if let Some(p) = presented_by {
        body["presented_by"] = json!(p);
    }
    app.post("/api/v1/copies/verification", None, body).await
}

#[tokio::test]
async fn a_copy_is_verified_with_its_origin_and_a_stranger_presenting_it_is_flagged() {
    let app = spawn_app().await;
    let LiveQr { link, .. } = app.live_qr("для поселення у готель", &["taxpayer-card"]).await;
    let (citizen, id) = app.consented_share(&link, &citizens::maryana()).await;
    app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;
    let eml = app.wait_for_mail(&format!("share-{id}")).await;
    let dir = temp_dir("verify");
    let (_, attachments) = unpack_mail(&eml, &dir);
    let pdf_name = &attachments.iter().find(|(n, _)| n.ends_with(".pdf")).unwrap().0;
    let pdf = std::fs::read(dir.join(pdf_name)).unwrap();
    let p7s = std::fs::read(dir.join(pdf_name.replace(".pdf", ".p7s"))).unwrap();

    let (status, v) = verify(&app, &pdf, &p7s, Some("45172831")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["verdict"], "genuine", "{v}");
    assert_eq!(v["copy"]["organisation_name"], "ТОВ «Готель „Палаццо“»");
    assert_eq!(v["copy"]["registry_code"], "45172831");
    assert_eq!(v["copy"]["document_type"], "taxpayer-card");
    assert!(v["message"].as_str().unwrap().contains("для організації «ТОВ «Готель „Палаццо“»»"), "{v}");
    assert!(v["signed_at_kyiv"].as_str().unwrap().contains("за київським часом"), "{v}");
    assert_eq!(v["warnings"], json!([]), "the addressee itself presents it");

    let (_, v) = verify(&app, &pdf, &p7s, Some("21904668")).await;
    assert_eq!(v["verdict"], "genuine");
    let warning = v["warnings"][0].as_str().unwrap_or_default();
    assert!(warning.contains("21904668") && warning.contains("ТОВ «Готель „Палаццо“»"), "{v}");

    let (_, copy) = app.get(&format!("/api/v1/copies/{}", v["copy"]["copy_id"].as_str().unwrap()), None).await;
    assert_eq!(copy["share_request_id"], id.as_str());
    let page =
        app.client.get(app.url(&format!("/verify/{}", v["copy"]["copy_id"].as_str().unwrap()))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Перевірити") && page.contains("/api/v1/copies/verification"));

    let mut altered = pdf.clone();
    let at = altered.len() / 2;
    altered[at] ^= 0x20;
    let (status, v) = verify(&app, &altered, &p7s, None).await;
    assert_eq!((status, v["verdict"].as_str()), (StatusCode::OK, Some("altered")), "{v}");
    assert_eq!(v["genuine"], false);
    let (_, v) = verify(&app, &pdf, b"not a signature", None).await;
    assert_eq!(v["verdict"], "malformed", "{v}");
    let (status, v) = app.post("/api/v1/copies/verification", None, json!({"pdf_base64": "%%%", "p7s_base64": ""})).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("verification-input-not-base64")), "{v}");
    app.shutdown().await;
}

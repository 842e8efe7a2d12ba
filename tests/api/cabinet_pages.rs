//! The partner cabinet's pages over HTTP: a КЕП-signed challenge opens a cookie session, every
//! signed-in form needs that session's anti-forgery token, and refusals are said in words on
//! the page. (The signing in the browser itself is tests/browser/specs/cabinet.spec.js.)

use base64::prelude::{Engine as _, BASE64_STANDARD};
use diia_qr_projections::seal::Signer as _;
use diia_qr_tests::spawn_app;
use reqwest::StatusCode;

/// The value of a page's `name="{field}" value="…"`.
fn field(body: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = body.find(&marker).unwrap_or_else(|| panic!("no field {name}: {body}")) + marker.len();
    body[start..].split('"').next().unwrap().to_string()
}

fn attribute(body: &str, name: &str) -> String {
    let marker = format!(r#"{name}=""#);
    let start = body.find(&marker).unwrap_or_else(|| panic!("no {name}: {body}")) + marker.len();
    body[start..].split('"').next().unwrap().replace("&quot;", "\"").replace("&amp;", "&")
}

#[tokio::test]
async fn a_kep_signed_challenge_opens_the_cabinet_and_its_forms_need_the_sessions_token() {
    let app = spawn_app().await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let anonymous = browser.get(app.url("/cabinet")).send().await.unwrap();
    assert_eq!((anonymous.status(), anonymous.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/cabinet/sign-in"));

    let page = browser.get(app.url("/cabinet/sign-in")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"src="/assets/pkijs.js""#) && page.contains("data-kep-sign"), "{page}");
    assert!(!page.contains(r#"name="key""#), "the key's file input has no name: the browser never sends it");
    let (challenge_id, text) = (field(&page, "challenge_id"), attribute(&page, "data-text"));

    // A signature over other bytes is refused, in words, beside a fresh challenge.
    let kep = app.head_kep("45172831", "ТОВ «Готель „Палаццо“»");
    let sign = |bytes: &[u8]| BASE64_STANDARD.encode(kep.sign_detached(bytes, chrono::Utc::now()).unwrap());
    let wrong = browser
        .post(app.url("/cabinet/sign-in"))
        .form(&[("challenge_id", challenge_id.as_str()), ("signature", sign(b"other bytes").as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong = wrong.text().await.unwrap();
    assert!(wrong.contains(r#"role="alert""#) && field(&wrong, "challenge_id") != challenge_id, "{wrong}");

    let signed = browser
        .post(app.url("/cabinet/sign-in"))
        .form(&[("challenge_id", challenge_id.as_str()), ("signature", sign(text.as_bytes()).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER, "{}", signed.text().await.unwrap());
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/cabinet", "Secure"] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    let session = cookie.split(';').next().unwrap().to_string();

    let cabinet = browser.get(app.url("/cabinet")).header("cookie", &session).send().await.unwrap();
    assert_eq!(cabinet.headers()["cache-control"], "no-store");
    let cabinet = cabinet.text().await.unwrap();
    assert!(cabinet.contains("Як стати партнером") && cabinet.contains("Ґарбуз Марія Олексіївна"), "{cabinet}");
    let csrf = field(&cabinet, "csrf");

    // Without the token, or with another's, nothing happens; with it, the partner registers.
    let forged = browser.post(app.url("/cabinet/registration")).header("cookie", &session).form(&[("csrf", "guess")]).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.text().await.unwrap().contains("Форму надіслано не з цієї сторінки"));
    let (_, partner) = app.get("/api/v1/partner", Some(&app.partner_session("45172831", "ТОВ «Готель „Палаццо“»").await)).await;
    assert_eq!(partner["status"], "unregistered", "{partner}");
    let registered =
        browser.post(app.url("/cabinet/registration")).header("cookie", &session).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(registered.status(), StatusCode::SEE_OTHER);

    // A refused profile is said on the form, and the form is still there.
    let profile = [("csrf", csrf.as_str()), ("email", "reception@palazzo.example"), ("phone", "12"), ("passport", "АБ123456")];
    let refused = browser.post(app.url("/cabinet/profile")).header("cookie", &session).form(&profile).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains(r#"role="alert""#) && refused.contains(r#"id="phone""#), "{refused}");

    // Signing out ends the session itself, not just the cookie.
    let out = browser.post(app.url("/cabinet/sign-out")).header("cookie", &session).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let after = browser.get(app.url("/cabinet")).header("cookie", &session).send().await.unwrap();
    assert_eq!(after.headers()["location"], "/cabinet/sign-in");
    app.shutdown().await;
}

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

/// A cabinet session for the hotel «Палаццо»'s head, signed in with the КЕП: (cookie, csrf).
async fn cabinet_session(app: &diia_qr_tests::TestApp, browser: &reqwest::Client) -> (String, String) {
    let page = browser.get(app.url("/cabinet/sign-in")).send().await.unwrap().text().await.unwrap();
    let kep = app.head_kep("45172831", "ТОВ «Готель „Палаццо“»");
    let signature = BASE64_STANDARD.encode(kep.sign_detached(attribute(&page, "data-text").as_bytes(), chrono::Utc::now()).unwrap());
    let signed = browser
        .post(app.url("/cabinet/sign-in"))
        .form(&[("challenge_id", field(&page, "challenge_id").as_str()), ("signature", signature.as_str())])
        .send()
        .await
        .unwrap();
    let session = signed.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let cabinet = browser.get(app.url("/cabinet/branches")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
    (session, field(&cabinet, "csrf"))
}

#[tokio::test]
async fn a_branch_is_created_and_confirmed_only_by_its_own_partner() {
    let app = spawn_app().await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let other = app.onboard_partner("43395033", "ТОВ «Інший готель»").await;
    let (_, foreign) = app.create_branch(&other, "Готель «Інший»", "desk@other.example").await;
    let foreign = foreign["branch_id"].as_str().unwrap().to_string();
    let (session, csrf) = cabinet_session(&app, &browser).await;

    let branch = [
        ("csrf", csrf.as_str()),
        ("name", "Готель «Палаццо» — рецепція"),
        ("region", "Тернопільська область"),
        ("district", ""),
        ("locality", "м. Тернопіль"),
        ("street", "вул. Руська"),
        ("house", "12"),
        ("email", "reception@palazzo.example"),
    ];
    let cross_site =
        browser.post(app.url("/cabinet/branches")).header("cookie", &session).header("sec-fetch-site", "cross-site").form(&branch).send();
    assert_eq!(cross_site.await.unwrap().status(), StatusCode::FORBIDDEN);
    let created = browser.post(app.url("/cabinet/branches")).header("cookie", &session).form(&branch).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    // The branch the page made, in the partner's view (built as the events come).
    diia_qr_tests::eventually(std::time::Duration::from_secs(10), "the branch in the view", || async {
        let (_, view) = app.get("/api/v1/partner/branches", Some(&partner.token)).await;
        (view["branches"].as_array().map(Vec::len) == Some(1) && view["branches"][0]["name"] == "Готель «Палаццо» — рецепція").then_some(())
    })
    .await;

    // Another partner's branch is no branch here, whatever code is tried.
    let path = format!("/cabinet/branches/{foreign}/confirmation");
    let guessed = browser.post(app.url(&path)).header("cookie", &session).form(&[("csrf", csrf.as_str()), ("code", "123456")]).send();
    let guessed = guessed.await.unwrap();
    assert_eq!(guessed.status(), StatusCode::NOT_FOUND);
    let guessed = guessed.text().await.unwrap();
    assert!(guessed.contains("відділення не знайдено"), "{guessed}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_services_files_and_qr_are_its_own_partners_only() {
    let app = spawn_app().await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let ours = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let other = app.onboard_partner("43395033", "ТОВ «Інший готель»").await;
    let branch = app.confirmed_branch(&other, "desk@other.example").await;
    let (foreign, _) = app.service_with_qr(&other, &branch, "для екскурсії", &["internal-passport"]).await;
    let (session, csrf) = cabinet_session(&app, &browser).await;

    let mine = browser.get(app.url(&format!("/cabinet/services/{}/poster.pdf", ours.service_id))).header("cookie", &session).send();
    let mine = mine.await.unwrap();
    assert_eq!((mine.status(), mine.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "application/pdf"));
    let theirs = browser.get(app.url(&format!("/cabinet/services/{foreign}/poster.pdf"))).header("cookie", &session).send();
    let theirs = theirs.await.unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    assert!(theirs.text().await.unwrap().contains("послугу не знайдено"));
    let revoke = browser
        .post(app.url(&format!("/cabinet/services/{foreign}/qr-revocation")))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NOT_FOUND);
    let (_, qr) = app.get(&format!("/api/v1/partner/services/{foreign}/qr"), Some(&other.token)).await;
    assert!(qr["link"].is_string(), "the other partner's QR still stands: {qr}");

    // Its own QR is revoked from the page: the link stops working.
    let revoke = browser
        .post(app.url(&format!("/cabinet/services/{}/qr-revocation", ours.service_id)))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::SEE_OTHER);
    let citizen = app.citizen_session(&diia_qr_tests::citizens::maryana().0).await;
    let (status, _) = app.scan(&citizen, &ours.link).await;
    assert_ne!(status, StatusCode::CREATED, "a revoked QR opens no request");
    app.shutdown().await;
}

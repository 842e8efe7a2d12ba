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
    for action in ["names", "deactivation"] {
        let foreign_action = browser
            .post(app.url(&format!("/cabinet/services/{foreign}/{action}")))
            .header("cookie", &session)
            .form(&[("csrf", csrf.as_str()), ("names", "для іншого")])
            .send();
        assert_eq!(foreign_action.await.unwrap().status(), StatusCode::NOT_FOUND, "{action}");
    }

    // Its own service renamed from the page: the new name serves in the partner's view.
    let renamed = browser
        .post(app.url(&format!("/cabinet/services/{}/names", ours.service_id)))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str()), ("names", "для поселення у готель «Ґрація»")])
        .send();
    assert_eq!(renamed.await.unwrap().status(), StatusCode::SEE_OTHER);
    let page = browser.get(app.url("/cabinet/services")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("для поселення у готель «Ґрація»"), "{page}");

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

#[tokio::test]
async fn received_documents_are_found_opened_and_downloaded_in_the_cabinet() {
    let app = spawn_app().await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let ours = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (token, share) = app.consented_share(&ours.link, &diia_qr_tests::citizens::maryana()).await;
    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{share}/send"), Some(&token), serde_json::json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (session, _) = cabinet_session(&app, &browser).await;
    let get = |path: String| browser.get(app.url(&path)).header("cookie", &session).send();

    // The name as typed, apostrophe and Ї included, finds the copy once the index has it.
    let found = diia_qr_tests::eventually(std::time::Duration::from_secs(30), "the copy in the cabinet's search", || async {
        let page =
            get("/cabinet/documents?q=%D0%9C%D0%B0%D1%80%27%D1%8F%D0%BD%D0%B0+%D0%87%D0%B6%D0%B0%D0%BA%D0%B5%D0%B2%D0%B8%D1%87".into());
        let page = page.await.unwrap().text().await.unwrap();
        page.contains(&format!("/cabinet/documents/{share}")).then_some(page)
    })
    .await;
    assert!(found.contains("Їжакевич Мар&#39;яна Ігорівна") || found.contains("Їжакевич Мар'яна Ігорівна"), "{found}");
    assert!(found.contains(r#"value="Мар'яна Їжакевич""#), "the typed filter stays in the form: {found}");

    // A filter that does not parse is said on the page, as HTML, never as JSON.
    let refused = get("/cabinet/documents?rnokpp=12".into()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(refused.text().await.unwrap().contains(r#"role="alert""#));

    let details = get(format!("/cabinet/documents/{share}")).await.unwrap().text().await.unwrap();
    let pdf_link =
        details.split(&format!(r#"href="/cabinet/documents/{share}/"#)).nth(1).expect("a copy's link").split('"').next().unwrap();
    let pdf = get(format!("/cabinet/documents/{share}/{pdf_link}")).await.unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    let disposition = pdf.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with(r#"attachment; filename="internal-passport-"#) && disposition.ends_with(r#".pdf""#), "{disposition}");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));

    // Nobody's share, or a copy that is not the share's, is not found, in words.
    let missing = get(format!("/cabinet/documents/{}", uuid::Uuid::new_v4())).await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let missing = get(format!("/cabinet/documents/{share}/{}.pdf", uuid::Uuid::new_v4())).await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("такої копії"));

    // The partner's audit export from the page: its own entries, the search and download among them.
    let csv = get("/cabinet/audit-export?format=csv&from=&to=".into()).await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    let csv = csv.text().await.unwrap();
    assert!(csv.contains("access.search") && csv.contains("access.download"), "{csv}");
    let bad_day = get("/cabinet/audit-export?from=01.12.2026".into()).await.unwrap();
    assert_eq!(bad_day.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.shutdown().await;
}

#[tokio::test]
async fn the_operators_desk_opens_to_operators_only_and_its_forms_need_the_sessions_token() {
    let app = spawn_app().await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let (_, branch) = app.create_branch(&partner, "Готель «Палаццо» — корпус «Ґірлянда»", "girlianda@palazzo.example").await;
    let branch = branch["branch_id"].as_str().unwrap().to_string();

    let anonymous = browser.get(app.url("/desk")).send().await.unwrap();
    assert_eq!(anonymous.headers()["location"], "/desk/sign-in");
    // A partner's session is no operator's, whatever cookie it travels in.
    let (partner_cookie, _) = cabinet_session(&app, &browser).await;
    let as_desk = partner_cookie.replace("diia_qr_cabinet=", "diia_qr_desk=");
    let refused = browser.get(app.url("/desk")).header("cookie", &as_desk).send().await.unwrap();
    assert_eq!(refused.headers()["location"], "/desk/sign-in");

    let session = format!("diia_qr_desk={}", app.operator_session().await);
    // The queue is a view, built as the events come.
    let queue = diia_qr_tests::eventually(std::time::Duration::from_secs(10), "the name in the queue", || async {
        let queue = browser.get(app.url("/desk")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
        queue.contains("корпус «Ґірлянда»").then_some(queue)
    })
    .await;
    let csrf = field(&queue, "csrf");
    let revision = field(&queue, "revision");
    let removal = format!("/desk/moderation/branch/{branch}/removal");

    let forged =
        browser.post(app.url(&removal)).header("cookie", &session).form(&[("csrf", "guess"), ("revision", &revision), ("reason", "x")]);
    assert_eq!(forged.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let reason = "Назва має містити повну назву організації.";
    let removed = browser.post(app.url(&removal)).header("cookie", &session).form(&[
        ("csrf", csrf.as_str()),
        ("revision", &revision),
        ("reason", reason),
    ]);
    assert_eq!(removed.send().await.unwrap().status(), StatusCode::SEE_OTHER);
    let (_, moderation) = app.get("/api/v1/operator/moderation?state=removed", Some(&app.operator_session().await)).await;
    assert_eq!(moderation["items"][0]["reason"], reason, "{moderation}");

    // The same decision again names a revision no longer pending: refused, in words.
    let again = browser.post(app.url(&removal)).header("cookie", &session).form(&[
        ("csrf", csrf.as_str()),
        ("revision", &revision),
        ("reason", reason),
    ]);
    let again = again.send().await.unwrap();
    assert!(again.status().is_client_error(), "{}", again.status());
    assert!(again.text().await.unwrap().contains(r#"role="alert""#));

    for page in ["/desk/partners", "/desk/status"] {
        let answer = browser.get(app.url(page)).header("cookie", &session).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{page}");
    }
    app.shutdown().await;
}

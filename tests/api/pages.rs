//! The pages people read in a browser: Ukrainian first, English on request and remembered, a
//! page (never JSON) for an address that is none, and the pages' strict policy.

use diia_qr_tests::spawn_app;
use reqwest::StatusCode;

async fn page(app: &diia_qr_tests::TestApp, path: &str, cookie: Option<&str>) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(c) = cookie {
        request = request.header("cookie", c);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

#[tokio::test]
async fn the_home_page_is_ukrainian_first_and_english_on_request() {
    let app = spawn_app().await;
    let (status, headers, body) = page(&app, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(body.starts_with("<!DOCTYPE html>") && body.contains(r#"<html lang="uk">"#), "{body}");
    assert!(body.contains("Дія.QR для організацій") && body.contains("Підпишіть заяву про приєднання"), "{body}");
    assert!(body.contains(r#"href="/?lang=en""#), "the switch to English: {body}");
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"), "{policy}");
    assert!(!body.contains("<script>") && !body.contains("style="), "nothing inline the policy would have to allow");

    // English, chosen by the link, then remembered by the cookie it sets.
    let (status, headers, body) = page(&app, "/?lang=en", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"<html lang="en">"#) && body.contains("Diia.QR for organisations"), "{body}");
    let cookie = headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("lang=en;") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let (_, _, body) = page(&app, "/", Some("lang=en")).await;
    assert!(body.contains("Diia.QR for organisations") && body.contains(r#"href="/?lang=uk""#), "{body}");

    let (status, headers, css) = page(&app, "/assets/cabinet.css", None).await;
    assert_eq!((status, headers["content-type"].to_str().unwrap()), (StatusCode::OK, "text/css; charset=utf-8"));
    assert!(css.contains(":focus-visible"), "focus stays visible");
    app.shutdown().await;
}

#[tokio::test]
async fn an_address_that_is_no_page_is_a_page_in_the_readers_language_and_the_api_answers_problems() {
    let app = spawn_app().await;
    let (status, headers, body) = page(&app, "/no/such/page", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(body.contains("Сторінку не знайдено") && body.contains(r#"href="/""#), "{body}");
    let (_, _, body) = page(&app, "/no/such/page", Some("lang=en")).await;
    assert!(body.contains("Page not found"), "{body}");
    let (status, headers, body) = page(&app, "/api/v1/no-such-endpoint", None).await;
    assert_eq!((status, headers["content-type"].to_str().unwrap()), (StatusCode::NOT_FOUND, "application/problem+json"));
    assert!(body.contains("route-not-found"), "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_simulator_scans_a_printed_code_and_shows_who_asks_for_what() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (_, current) = app.get(&format!("/api/v1/partner/services/{}/qr", qr.service_id), Some(&qr.partner.token)).await;
    let printed = current["short_code"].as_str().unwrap().to_string();
    let (status, _, body) = page(&app, "/simulator", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Симулятор застосунку Дія") && body.contains("Їжакевич"), "{body}");

    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let maryana = diia_qr_tests::citizens::maryana().0;
    let post = |site: &'static str| {
        browser
            .post(app.url("/simulator/scans"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", site)
            .body(format!("citizen={maryana}&link={printed}"))
            .send()
    };
    // A form posted from another site is refused, and opens nothing.
    let refused = post("cross-site").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("Форму надіслано не з цієї сторінки"));

    let scanned = post("same-origin").await.unwrap();
    assert_eq!(scanned.status(), StatusCode::SEE_OTHER);
    let location = scanned.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/simulator/requests/"), "{location}");
    let cookie = scanned.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/simulator"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();

    let (status, _, body) = page(&app, &location, Some(&session)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for shown in ["ТОВ «Готель „Палаццо“»", "для поселення у готель", "Паспорт громадянина України", &printed]
    {
        assert!(body.contains(shown), "the request shows {shown}: {body}");
    }
    // Without the citizen's session the request is nobody's to see.
    let anonymous = browser.get(app.url(&location)).send().await.unwrap();
    assert_eq!((anonymous.status(), anonymous.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/simulator"));
    // A code that names no QR is said on the form, in words.
    let wrong = browser
        .post(app.url("/simulator/scans"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("citizen={maryana}&link=ZZZZ-ZZZZ"))
        .send()
        .await
        .unwrap();
    let (status, body) = (wrong.status(), wrong.text().await.unwrap());
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("QR-код не розпізнано") && body.contains(r#"id="link""#), "said on the form: {body}");
    app.shutdown().await;
}

#[tokio::test]
async fn without_the_development_sign_ins_there_is_no_simulator() {
    let app = diia_qr_tests::spawn_app_with(|c| c.dev_sign_in = false).await;
    let (status, _, body) = page(&app, "/simulator", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Сторінку не знайдено"), "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_simulator_walks_a_request_from_the_scan_to_the_delivered_letter() {
    let app = spawn_app().await;
    let qr = app.live_qr("для зарахування дитини до школи", &["birth-certificate"]).await;
    let (yevhen, code) = diia_qr_tests::citizens::yevhen();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let scanned =
        browser.post(app.url("/simulator/scans")).form(&[("citizen", yevhen.as_str()), ("link", qr.link.as_str())]).send().await.unwrap();
    assert_eq!(scanned.status(), StatusCode::SEE_OTHER);
    let request = scanned.headers()["location"].to_str().unwrap().to_string();
    let session = scanned.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let step = |action: &'static str, fields: Vec<(&'static str, String)>, site: &'static str| {
        browser.post(app.url(&format!("{request}/{action}"))).header("cookie", &session).header("sec-fetch-site", site).form(&fields).send()
    };
    let shown = || async { page(&app, &request, Some(&session)).await.2 };

    // Two children: the citizen chooses which certificate to share.
    let body = shown().await;
    assert!(
        body.contains("Оберіть документи") && body.contains(r#"value="I-ТР 482913""#) && body.contains(r#"value="I-ТР 519064""#),
        "{body}"
    );
    let chosen = step("choices", vec![("birth-certificate", "I-ТР 519064".into())], "same-origin").await.unwrap();
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);

    // A form from another site moves nothing on.
    let foreign = step("photo", vec![], "cross-site").await.unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert!(foreign.text().await.unwrap().contains("Форму надіслано не з цієї сторінки"));
    assert!(shown().await.contains("Перевірка фото"));
    assert_eq!(step("photo", vec![], "same-origin").await.unwrap().status(), StatusCode::SEE_OTHER);

    // Diia.Signature: a wrong code is said on the page, the right one signs.
    let body = shown().await;
    assert!(body.contains("Підтвердіть Дія.Підписом") && body.contains(&code), "the demo code is shown: {body}");
    let wrong = step("confirmation", vec![("code", "000000".into())], "same-origin").await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = wrong.text().await.unwrap();
    assert!(wrong.contains(r#"role="alert""#) && wrong.contains("Підтвердіть Дія.Підписом"), "{wrong}");
    assert_eq!(step("confirmation", vec![("code", code.clone())], "same-origin").await.unwrap().status(), StatusCode::SEE_OTHER);

    // The draft names the organisation's confirmed mailbox; Send, and the letter arrives.
    let body = shown().await;
    assert!(body.contains("Чернетка листа") && body.contains(r#"id="draft-to""#), "{body}");
    assert_eq!(step("send", vec![], "same-origin").await.unwrap().status(), StatusCode::SEE_OTHER);
    let body = diia_qr_tests::eventually(std::time::Duration::from_secs(20), "the letter is delivered", || async {
        let body = shown().await;
        body.contains("Лист доставлено").then_some(body)
    })
    .await;
    assert!(body.contains(r#"id="letter-subject""#) && body.contains("для зарахування дитини до школи"), "{body}");
    assert!(!body.contains("data-refresh"), "nothing left to wait for");
    let pdf = browser.get(app.url(&format!("{request}/letter/0"))).header("cookie", &session).send().await.unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\""));
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    let p7s = browser.get(app.url(&format!("{request}/letter/1"))).header("cookie", &session).send().await.unwrap();
    assert_eq!(p7s.headers()["content-type"], "application/pkcs7-signature");
    let missing = browser.get(app.url(&format!("{request}/letter/2"))).header("cookie", &session).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // Another citizen's session sees neither the request nor its letter.
    let maryana = diia_qr_tests::citizens::maryana().0;
    let (_, passport) = app.service_with_qr(&qr.partner, &qr.branch_id, "для екскурсії", &["internal-passport"]).await;
    let other =
        browser.post(app.url("/simulator/scans")).form(&[("citizen", maryana.as_str()), ("link", passport.as_str())]).send().await.unwrap();
    let other = other.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    assert_eq!(page(&app, &request, Some(&other)).await.0, StatusCode::NOT_FOUND);
    let stolen = browser.get(app.url(&format!("{request}/letter/0"))).header("cookie", &other).send().await.unwrap();
    assert_eq!(stolen.status(), StatusCode::NOT_FOUND);

    // In English, the same request.
    let (_, _, english) = page(&app, &request, Some(&format!("{session}; lang=en"))).await;
    assert!(english.contains("Letter delivered") && english.contains("Choose documents"), "{english}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_simulators_decoder_is_served_by_the_engine() {
    let app = spawn_app().await;
    let (status, headers, body) = page(&app, "/simulator", None).await;
    assert_eq!(status, StatusCode::OK);
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval'") && !policy.contains("'unsafe-inline'"), "{policy}");
    assert!(body.contains(r#"src="/assets/zxing-reader.js""#) && body.contains(r#"id="poster""#), "{body}");
    let wasm = app.client.get(app.url("/assets/zxing_reader.wasm")).send().await.unwrap();
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert!(wasm.bytes().await.unwrap().starts_with(b"\0asm"));
    let (_, headers, script) = page(&app, "/assets/simulator.js", None).await;
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert!(script.contains("locateFile") && !script.contains("jsdelivr"), "the decoder is fetched from this origin");
    app.shutdown().await;
}

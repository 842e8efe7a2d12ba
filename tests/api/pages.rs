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
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().await.unwrap().contains("QR-код не розпізнано"));
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

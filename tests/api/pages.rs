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

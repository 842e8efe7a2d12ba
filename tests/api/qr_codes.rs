//! QR codes and posters: what a partner downloads decodes to the service's link with an
//! independent decoder, survives a modest resolution, and every refused scan says why.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use diia_qr_tests::{citizens, eventually, run, spawn_app, temp_dir, LiveQr, TestApp, TestPartner};
use reqwest::StatusCode;
use serde_json::json;

async fn download(app: &TestApp, partner: &TestPartner, path: &str, into: &Path) {
    let r = app.client.get(app.url(path)).bearer_auth(&partner.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    std::fs::write(into, r.bytes().await.unwrap()).unwrap();
}

/// zbarimg's reading of an image: the decoded text, or nothing.
fn zbar(image: &Path) -> String {
    let out = Command::new("zbarimg").args(["--raw", "-q"]).arg(image).output().expect("zbarimg");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn every_rendering_decodes_to_the_service_link_and_the_poster_reads_in_ukrainian() {
    let app = spawn_app().await;
    let LiveQr { partner, service_id: service, link, .. } =
        app.live_qr("для поселення у готель", &["internal-passport", "taxpayer-card", "foreign-passport"]).await;
    let (_, qr) = app.get(&format!("/api/v1/partner/services/{service}/qr"), Some(&partner.token)).await;
    let short_code = qr["short_code"].as_str().unwrap().to_string();
    assert_eq!(qr["link"], link.as_str());
    assert!(short_code.len() == 9 && short_code.as_bytes()[4] == b'-', "{short_code}");

    let dir = temp_dir("qr");
    let base = format!("/api/v1/partner/services/{service}");
    for (path, file) in [("qr.svg", "qr.svg"), ("qr.png?scale=2", "qr.png"), ("poster.pdf", "poster.pdf"), ("poster.svg", "poster.svg")] {
        download(&app, &partner, &format!("{base}/{path}"), &dir.join(file)).await;
    }
    {
        // The PNG at two pixels a module: about what a cheap camera resolves across a desk.
        assert_eq!(zbar(&dir.join("qr.png")), link);
        run(Command::new("rsvg-convert").args(["--width", "150", "-o"]).arg(dir.join("qr-svg.png")).arg(dir.join("qr.svg")));
        assert_eq!(zbar(&dir.join("qr-svg.png")), link, "the SVG rasterised at 150 px");
        run(Command::new("pdftoppm").args(["-r", "150", "-png", "-singlefile"]).arg(dir.join("poster.pdf")).arg(dir.join("poster-pdf")));
        assert_eq!(zbar(&dir.join("poster-pdf.png")), link, "the poster PDF at 150 dpi");
        run(Command::new("rsvg-convert")
            .args(["--dpi-x", "100", "--dpi-y", "100", "-o"])
            .arg(dir.join("poster-svg.png"))
            .arg(dir.join("poster.svg")));
        assert_eq!(zbar(&dir.join("poster-svg.png")), link, "the poster SVG");
    }
    {
        // Lines wrap where the layout wraps them: compare with white space folded.
        let text = run(Command::new("pdftotext").arg(dir.join("poster.pdf")).arg("-")).split_whitespace().collect::<Vec<_>>().join(" ");
        for expected in [
            "ТОВ «Готель „Палаццо“»",
            "Тернопільська область, м. Тернопіль, вул. Руська, 12",
            "для поселення у готель",
            "Паспорт громадянина України (ID-картка)",
            "Картка платника податків (РНОКПП)",
            "Паспорт громадянина України для виїзду за кордон",
            "Сканувати QR-код",
            &short_code,
        ] {
            assert!(text.contains(expected), "{expected} missing from the poster:\n{text}");
        }
    }
    let svg = std::fs::read_to_string(dir.join("poster.svg")).unwrap();
    assert!(svg.contains("ТОВ «Готель „Палаццо“»") && svg.contains(&short_code), "the SVG poster's text is text");

    // The citizen's app shows the poster's code after the scan.
    let citizen = app.citizen_session(&citizens::maryana().0).await;
    let (_, share) = app.scan(&citizen, &link).await;
    assert_eq!(share["qr_short_code"], short_code.as_str());
    app.shutdown().await;
}

#[tokio::test]
async fn the_short_link_and_the_short_code_lead_to_the_same_request() {
    let app = spawn_app().await;
    let LiveQr { partner, service_id: service, link, .. } = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (_, qr) = app.get(&format!("/api/v1/partner/services/{service}/qr"), Some(&partner.token)).await;
    let (short_link, short_code) = (qr["short_link"].as_str().unwrap().to_string(), qr["short_code"].as_str().unwrap().to_string());

    // Typed into a browser: the short link redirects to the QR's own landing page.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let location = eventually(Duration::from_secs(20), "the short code to be known", || async {
        let r = no_redirects.get(&short_link).send().await.unwrap();
        r.status().is_redirection().then(|| r.headers()["location"].to_str().unwrap().to_string())
    })
    .await;
    assert_eq!(location, link);
    let page = app.client.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Сканувати QR-код"));
    let (status, preview) = app.get(&format!("/api/v1/qr-preview?link={}", short_code), None).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["organisation_name"], "ТОВ «Готель „Палаццо“»");

    // Typed into the app, in lower case, with O for 0: the same request.
    let citizen = app.citizen_session(&citizens::maryana().0).await;
    let typed = short_code.to_lowercase().replace('0', "o");
    let (status, share) = app.scan(&citizen, &typed).await;
    assert_eq!(status, StatusCode::CREATED, "{share}");
    assert_eq!(share["organisation_name"], "ТОВ «Готель „Палаццо“»");
    let (status, body) = app.scan(&citizen, "ZZZZ-ZZZZ").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("qr-unknown")), "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn refused_scans_have_their_own_reasons_and_are_counted() {
    let app = spawn_app().await;
    let LiveQr { partner, branch_id: branch, service_id: service, link } =
        app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let citizen = app.citizen_session(&citizens::maryana().0).await;

    // A new, unconfirmed mailbox stops the QR until it is confirmed.
    let (status, _) =
        app.put(&format!("/api/v1/partner/branches/{branch}/email"), &partner.token, json!({"email": "new@palazzo.example"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, body) = app.scan(&citizen, &link).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("qr-branch-email-not-confirmed")), "{body}");
    app.confirm_branch_mailbox(&branch, "new@palazzo.example").await;
    let (status, _) = app.scan(&citizen, &link).await;
    assert_eq!(status, StatusCode::CREATED);

    let mut forged = link.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for _ in 0..2 {
        let (_, body) = app.scan(&citizen, &forged).await;
        assert_eq!(body["code"], "qr-forged");
    }
    let (_, qr) = app.get(&format!("/api/v1/partner/services/{service}/qr"), Some(&partner.token)).await;
    assert_eq!(qr["refused_scans"], json!({"qr-branch-email-not-confirmed": 1, "qr-forged": 2}), "{qr}");

    let r = app.client.delete(app.url(&format!("/api/v1/partner/services/{service}"))).bearer_auth(&partner.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, body) = app.scan(&citizen, &link).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("qr-service-deactivated")), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("більше не надається"), "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_suspended_partners_qr_is_refused_until_it_is_reinstated() {
    let app = spawn_app().await;
    let LiveQr { partner, service_id: service, link, .. } = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let citizen = app.citizen_session(&citizens::maryana().0).await;
    let (_, operator) = app.post("/api/v1/dev/operator-sessions", None, json!({"name": "Оксана Ковальчук"})).await;
    let operator = operator["token"].as_str().unwrap().to_string();
    let suspension = format!("/api/v1/operator/partners/{}/suspension", partner.partner_id);
    // A scan first, so the partner, branch and service are held in memory: the next scans are
    // decided on them, and the append must see that the partner has moved on since.
    let (status, body) = app.scan(&citizen, &link).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, body) = app.post(&suspension, Some(&partner.token), json!({"reason": "x"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a partner cannot suspend: {body}");
    let (status, body) = app.post(&suspension, Some(&operator), json!({"reason": "скарга на назву послуги"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app.scan(&citizen, &link).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("qr-partner-not-active")), "{body}");
    // The suspension ended the head's session: signed in again, the cabinet shows the refusals.
    let (status, _) = app.get(&format!("/api/v1/partner/services/{service}/qr"), Some(&partner.token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a suspension ends the partner's sessions");
    let fresh = app.partner_session("45172831", "ТОВ «Готель „Палаццо“»").await;
    let (_, qr) = app.get(&format!("/api/v1/partner/services/{service}/qr"), Some(&fresh)).await;
    assert_eq!(qr["refused_scans"]["qr-partner-not-active"], 1, "{qr}");

    // Memory now holds the suspended partner: its refusal is checked against the log, which
    // has the reinstatement, and neither counted nor kept.
    let r = app.client.delete(app.url(&suspension)).bearer_auth(&operator).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, body) = app.scan(&citizen, &link).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, qr) = app.get(&format!("/api/v1/partner/services/{service}/qr"), Some(&fresh)).await;
    assert_eq!(qr["refused_scans"]["qr-partner-not-active"], 1, "{qr}");
    app.shutdown().await;
}

//! The pages in a real browser: starts the engine on a throwaway database, prepares what the
//! specs need (a live QR and a photo of its poster), writes it to a fixtures file, and runs the
//! Playwright specs in `tests/browser/specs` against Debian's Chromium. Screenshots of every main
//! page (both languages, phone width) are left in `target/tmp/browser-artifacts/screenshots`.

use std::path::PathBuf;
use std::process::Command;

use diia_qr_tests::{citizens, spawn_app};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_work_in_chromium() {
    let app = spawn_app().await;
    let purpose = "для зарахування дитини до школи";
    let qr = app.live_qr(purpose, &["birth-certificate"]).await;
    let (_, current) = app.get(&format!("/api/v1/partner/services/{}/qr", qr.service_id), Some(&qr.partner.token)).await;

    // The "photo" of the poster: the poster as the partner downloads it, rasterised.
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifacts folder");
    let poster = app
        .client
        .get(app.url(&format!("/api/v1/partner/services/{}/poster.svg", qr.service_id)))
        .bearer_auth(&qr.partner.token)
        .send()
        .await
        .expect("poster")
        .bytes()
        .await
        .expect("poster body");
    let poster_svg = artifacts.join("poster.svg");
    let poster_png = artifacts.join("poster.png");
    std::fs::write(&poster_svg, &poster).expect("write the poster");
    diia_qr_tests::run(Command::new("rsvg-convert").arg("--width=900").arg("-o").arg(&poster_png).arg(&poster_svg));

    // The sole proprietor of the development PKI onboards in the browser: its PEM files sign in,
    // a PKCS#12 made from them (as openssl makes one: PBES2, AES-256) signs the application.
    let partners = app.data_dir.join("pki").join("partners");
    let p12 = artifacts.join("sole-proprietor.p12");
    let p12_password = "Пароль-Ґ1";
    diia_qr_tests::run(
        Command::new("openssl")
            .args(["pkcs12", "-export", "-inkey"])
            .arg(partners.join("sole-proprietor.key.pem"))
            .arg("-in")
            .arg(partners.join("sole-proprietor.pem"))
            .arg("-passout")
            .arg(format!("pass:{p12_password}"))
            .arg("-out")
            .arg(&p12),
    );

    // A second branch of the hotel, its name awaiting moderation: the operator removes it.
    let moderated = "Готель «Палаццо» — корпус «Ґірлянда»";
    let (status, body) = app.create_branch(&qr.partner, moderated, "girlianda@palazzo.example").await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    let (operator_cert, operator_key) = diia_qr_projections::pki::DevPki::operator_files(&app.data_dir.join("pki"));

    let (rnokpp, signature_code) = citizens::yevhen();
    let fixtures = json!({
        "base": app.base,
        "mail_dir": app.mail_dir,
        "poster_png": poster_png,
        "qr_link": qr.link,
        "qr_short_code": diia_qr::app::qr_tokens::display_short_code(current["short_code"].as_str().expect("short code")),
        "organisation_name": "ТОВ «Готель „Палаццо“»",
        "purpose": purpose,
        "mailbox": "reception@palazzo.example",
        "kep": {
            "key": partners.join("sole-proprietor.key.pem"),
            "cert": partners.join("sole-proprietor.pem"),
            "other_cert": partners.join("hotel-palazzo.pem"),
            "p12": p12,
            "p12_password": p12_password,
            "surname": "Олійник-Д'Арко",
        },
        "hotel_kep": { "key": partners.join("hotel-palazzo.key.pem"), "cert": partners.join("hotel-palazzo.pem") },
        "operator_kep": { "key": operator_key, "cert": operator_cert },
        "moderated_branch": moderated,
        "citizen": { "rnokpp": rnokpp, "signature_code": signature_code, "second_certificate": "Ілля Ґонта, 2019" },
    });
    let fixtures_file = artifacts.join("fixtures.json");
    std::fs::write(&fixtures_file, serde_json::to_vec_pretty(&fixtures).unwrap()).expect("write the fixtures");

    let specs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser");
    let status = tokio::task::spawn_blocking(move || {
        Command::new("npx")
            .args(["--no-install", "playwright", "test"])
            .current_dir(&specs)
            .env("DIIA_QR_FIXTURES", &fixtures_file)
            .env("DIIA_QR_ARTIFACTS", &artifacts)
            .status()
            .expect("npx (scripts/setup-machine installs Node.js and the browser tests' packages)")
    })
    .await
    .unwrap();
    assert!(status.success(), "the browser specs failed (screenshots and traces in target/tmp/browser-artifacts)");
    app.shutdown().await;
}

//! Verifying a presented copy, with or without its P7S: genuine or not, when and for whom it was
//! made, what changed in an altered one, a warning when someone other than the addressee presents
//! it; and that only the service's seal makes a copy genuine.

use std::path::Path;
use std::process::Command;

use base64::prelude::{Engine as _, BASE64_STANDARD};
use diia_qr_projections::pki::{DevPki, Subject};
use diia_qr_projections::seal::{OpenSslSeal, Signer};
use diia_qr_tests::{citizens, engine_binary, spawn_app, temp_dir, unpack_mail, LiveQr, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn verify(app: &TestApp, pdf: &[u8], p7s: &[u8], presented_by: Option<&str>) -> (StatusCode, Value) {
    verify_optional(app, pdf, Some(p7s), presented_by).await
}

async fn verify_optional(app: &TestApp, pdf: &[u8], p7s: Option<&[u8]>, presented_by: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({ "pdf_base64": BASE64_STANDARD.encode(pdf) });
    if let Some(p7s) = p7s {
        body["p7s_base64"] = json!(BASE64_STANDARD.encode(p7s));
    }
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
    assert_eq!(copy["copy_id"], v["copy"]["copy_id"], "{copy}");
    for private in ["share_request_id", "partner_id"] {
        assert!(copy.get(private).is_none() && v["copy"].get(private).is_none(), "a copy id discloses no {private}: {copy}");
    }
    assert!(!copy.to_string().contains(id.as_str()), "{copy}");
    let page =
        app.client.get(app.url(&format!("/verify/{}", v["copy"]["copy_id"].as_str().unwrap()))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Перевірити") && page.contains("/api/v1/copies/verification"));
    assert!(
        page.contains("<input id=\"p7s\" name=\"p7s\" type=\"file\" accept=\".p7s,application/pkcs7-signature\">"),
        "the P7S is optional"
    );

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

/// A copy delivered by mail: its PDF and P7S, and its copy id.
async fn delivered_copy(app: &TestApp, label: &str) -> (Vec<u8>, Vec<u8>) {
    let LiveQr { link, .. } = app.live_qr("для поселення у готель", &["taxpayer-card"]).await;
    let (citizen, id) = app.consented_share(&link, &citizens::maryana()).await;
    app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;
    let eml = app.wait_for_mail(&format!("share-{id}")).await;
    let dir = temp_dir(label);
    let (_, attachments) = unpack_mail(&eml, &dir);
    let pdf_name = &attachments.iter().find(|(n, _)| n.ends_with(".pdf")).unwrap().0;
    let pdf = std::fs::read(dir.join(pdf_name)).unwrap();
    let p7s = std::fs::read(dir.join(pdf_name.replace(".pdf", ".p7s"))).unwrap();
    (pdf, p7s)
}

/// The copy with its page content replaced by an incremental update, as a PDF editor saves it.
fn with_incremental_update(pdf: &[u8]) -> Vec<u8> {
    let mut update: lopdf::IncrementalDocument = pdf.try_into().unwrap();
    let page = *update.get_prev_documents().get_pages().get(&1).unwrap();
    let content =
        update.new_document.add_object(lopdf::Stream::new(lopdf::Dictionary::new(), b"BT /F1 30 Tf 50 400 Td <0001> Tj ET\n".to_vec()));
    update.opt_clone_object_to_new_document(page).unwrap();
    update.new_document.get_object_mut(page).and_then(lopdf::Object::as_dict_mut).unwrap().set("Contents", content);
    let mut out = Vec::new();
    update.save_to(&mut out).unwrap();
    out
}

/// A one-page PDF this service never made.
fn foreign_pdf() -> Vec<u8> {
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.7");
    let pages = doc.new_object_id();
    let content = doc.add_object(Stream::new(dictionary! {}, b"0 0 m 100 100 l S".to_vec()));
    let page = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages, "Contents" => content, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()] });
    doc.objects.insert(pages, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 }));
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// A signer with a certificate from the service's own development CA, as citizens' Diia.Signature
/// certificates are: it chains to the very anchor the seal chains to.
fn citizen_signer(data_dir: &Path) -> OpenSslSeal {
    let (pki, _) = DevPki::load_or_create(&data_dir.join("pki")).unwrap();
    let subject = Subject {
        common_name: "Ґудзь Мар'яна Ївгенівна", serial_number: Some("TINUA-3012345678"), ..Subject::default()
    };
    let (key, cert) = pki.citizens.issue_new_key(&subject, 365).unwrap();
    OpenSslSeal::new(key, cert, pki.citizens_chain())
}

#[tokio::test]
async fn a_pdf_alone_an_altered_one_an_updated_one_and_a_foreign_one_each_get_their_verdict() {
    let app = spawn_app().await;
    let (pdf, p7s) = delivered_copy(&app, "verdicts").await;

    // The PDF alone: the registry knows these bytes.
    let (status, v) = verify_optional(&app, &pdf, None, None).await;
    assert_eq!((status, v["verdict"].as_str()), (StatusCode::OK, Some("genuine")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("за реєстром"), "{v}");
    let copy_id = v["copy"]["copy_id"].as_str().unwrap().to_owned();
    assert_eq!(v["claimed_copy_id"], copy_id.as_str());

    // One byte changed inside the page content: altered, naming the object, with and without P7S.
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let page = *doc.get_pages().get(&1).unwrap();
    let content_id = doc.get_dictionary(page).unwrap().get(b"Contents").unwrap().as_reference().unwrap();
    let lopdf::xref::XrefEntry::Normal { offset, .. } = doc.reference_table.entries[&content_id.0] else { panic!("in the table") };
    let mut altered = pdf.clone();
    altered[offset as usize + 300] ^= 0x01;
    for p7s in [None, Some(p7s.as_slice())] {
        let (_, v) = verify_optional(&app, &altered, p7s, None).await;
        assert_eq!(v["verdict"], "altered", "{v}");
        assert_eq!(v["claimed_copy_id"], copy_id.as_str(), "{v}");
        assert_eq!(v["copy"]["organisation_name"], "ТОВ «Готель „Палаццо“»", "says what it claims to be: {v}");
        assert_eq!(v["changes"], json!([format!("змінено об'єкт {} (вміст сторінки 1)", content_id.0)]), "{v}");
    }

    // An incremental update appended after issue: altered, naming the update.
    let updated = with_incremental_update(&pdf);
    for p7s in [None, Some(p7s.as_slice())] {
        let (_, v) = verify_optional(&app, &updated, p7s, None).await;
        assert_eq!(v["verdict"], "altered", "{v}");
        let change = v["changes"][0].as_str().unwrap_or_default();
        assert!(change.contains("інкрементне оновлення") && change.contains("вміст сторінки 1"), "{v}");
    }

    // A PDF the service never made: alone, and signed by a certificate of the service's own CA.
    let foreign = foreign_pdf();
    let (_, v) = verify_optional(&app, &foreign, None, None).await;
    assert_eq!(v["verdict"], "not_issued", "{v}");
    let citizen = citizen_signer(&app.data_dir);
    let signed = citizen.sign_detached(&foreign, chrono::Utc::now()).unwrap();
    let (_, v) = verify(&app, &foreign, &signed, None).await;
    assert_eq!(v["verdict"], "not_issued", "{v}");

    // Not a PDF at all: refused, never a 500.
    let (status, v) = verify_optional(&app, b"not a pdf", None, None).await;
    assert_eq!((status, v["verdict"].as_str()), (StatusCode::OK, Some("unreadable")), "{v}");
    app.shutdown().await;
}

#[tokio::test]
async fn only_the_services_seal_makes_a_copy_genuine() {
    let app = spawn_app().await;
    let (pdf, _) = delivered_copy(&app, "pinned").await;
    let citizen = citizen_signer(&app.data_dir);

    // A citizen's signed consent statement, presented as a "PDF" with its CMS signature.
    let statement = "Я, Ґудзь Мар'яна Ївгенівна, погоджуюся передати ТОВ «Готель „Палаццо“» картку платника податків.".as_bytes();
    let consent = citizen.sign_detached(statement, chrono::Utc::now()).unwrap();
    let (_, v) = verify(&app, statement, &consent, None).await;
    assert_eq!(v["verdict"], "not_issued", "{v}");
    assert_eq!(v["genuine"], false);
    assert!(v["message"].as_str().unwrap().contains("не печатка Дія.QR"), "{v}");

    // The citizen signing a genuine copy's very bytes does not make that signature a seal.
    let resigned = citizen.sign_detached(&pdf, chrono::Utc::now()).unwrap();
    let (_, v) = verify(&app, &pdf, &resigned, None).await;
    assert_eq!(v["verdict"], "not_issued", "{v}");

    // The published seal certificates pin exactly the seal.
    let pem = app.client.get(app.url("/api/v1/seal-certificates.pem")).send().await.unwrap().text().await.unwrap();
    assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 1, "{pem}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_command_line_gives_the_same_verdicts_offline_and_with_the_registry() {
    let app = spawn_app().await;
    let (pdf, p7s) = delivered_copy(&app, "cli").await;
    let dir = temp_dir("verify-cli");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let copy = write("copy.pdf", &pdf);
    let seal = write("copy.p7s", &p7s);
    let mut altered = pdf.clone();
    let at = altered.len() / 2;
    altered[at] ^= 0x20;
    let altered = write("altered.pdf", &altered);
    let updated = write("updated.pdf", &with_incremental_update(&pdf));
    let foreign = write("foreign.pdf", &foreign_pdf());
    let citizen = citizen_signer(&app.data_dir);
    let statement = write("consent.txt", "Я, Ґудзь Мар'яна, погоджуюся".as_bytes());
    let consent = write("consent.p7s", &citizen.sign_detached(&std::fs::read(&statement).unwrap(), chrono::Utc::now()).unwrap());

    let run = |args: &[&Path], registry: bool| {
        let mut cmd = Command::new(engine_binary());
        cmd.arg("verify").args(args).arg("--data-dir").arg(&app.data_dir);
        if registry {
            cmd.args(["--registry", "--database-url", &app.database_url]);
        }
        let out = cmd.output().unwrap();
        (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    };
    // Offline: the seal, pinned to the data folder's seal certificates.
    let (ok, out) = run(&[&copy, &seal], false);
    assert!(ok && out.contains("Реєстр виданих копій не перевірено"), "{out}");
    let (ok, out) = run(&[&altered, &seal], false);
    assert!(!ok && out.contains("(altered)"), "{out}");
    let (ok, out) = run(&[&statement, &consent], false);
    assert!(!ok && out.contains("(not_issued)"), "a citizen's signature is not a seal: {out}");
    let (ok, out) = run(&[&copy], false);
    assert!(!ok && out.contains("--registry") && out.contains("Файл називає себе копією"), "{out}");
    // With the registry: with and without the P7S.
    for args in [vec![copy.as_path()], vec![copy.as_path(), seal.as_path()]] {
        let (ok, out) = run(&args, true);
        assert!(ok && out.contains("Справжня копія"), "{out}");
    }
    for args in
        [vec![altered.as_path()], vec![altered.as_path(), seal.as_path()], vec![updated.as_path()], vec![updated.as_path(), seal.as_path()]]
    {
        let (ok, out) = run(&args, true);
        assert!(!ok && out.contains("(altered)") && out.contains("  • "), "{args:?}: {out}");
    }
    let (ok, out) = run(&[&updated], true);
    assert!(out.contains("інкрементне оновлення"), "{ok} {out}");
    for args in [vec![foreign.as_path()], vec![statement.as_path(), consent.as_path()]] {
        let (ok, out) = run(&args, true);
        assert!(!ok && out.contains("(not_issued)"), "{args:?}: {out}");
    }
    app.shutdown().await;
}

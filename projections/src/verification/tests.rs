//! The verdicts that need no database: the seal, pinned; and what changed in an altered copy.

use chrono::Utc;

use super::*;
use crate::documents::copies::tests::sample_copy;
use crate::documents::pdf::read::tests::with_incremental_update;
use crate::pki::{DevPki, Subject};
use crate::seal::{OpenSslSeal, Signer};

fn temp(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("diia-qr-verification-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

struct Fixture {
    dir: std::path::PathBuf,
    pki: DevPki,
    seal: OpenSslSeal,
    trust: SealTrust,
}

fn fixture(label: &str) -> Fixture {
    let dir = temp(label);
    let (pki, seal) = DevPki::load_or_create(&dir).expect("development PKI");
    let trust = SealTrust {
        anchors: vec![pki.root.certificate.clone()],
        seals: DevPki::seal_certificates(&dir).expect("seal certificates"),
        revocation: None,
    };
    Fixture { dir, pki, seal, trust }
}

#[test]
fn the_services_seal_over_its_copy_is_sealed() {
    let f = fixture("sealed");
    let (_, pdf) = sample_copy();
    let p7s = f.seal.sign_detached(&pdf, Utc::now()).expect("signature");
    let result = check_seal(&pdf, &p7s, &f.trust, None);
    assert_eq!(result.verdict, Verdict::Sealed, "{}", result.message);
    assert!(!result.genuine, "the seal alone is not the registry's word");
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn a_citizens_signature_from_the_same_ca_is_not_a_copy() {
    let f = fixture("citizen");
    let subject = Subject {
        common_name: "Ґудзь Мар'яна Ївгенівна", serial_number: Some("TINUA-3012345678"), ..Subject::default()
    };
    let (key, cert) = f.pki.citizens.issue_new_key(&subject, 365).expect("a citizen's certificate");
    let citizen = OpenSslSeal::new(key, cert, f.pki.citizens_chain());
    let (_, pdf) = sample_copy();
    for content in [pdf.as_slice(), "Я, Ґудзь Мар'яна, погоджуюся передати документи".as_bytes()] {
        let p7s = citizen.sign_detached(content, Utc::now()).expect("signature");
        let result = check_seal(content, &p7s, &f.trust, None);
        assert_eq!(result.verdict, Verdict::NotIssued, "{}", result.message);
        assert!(result.message.contains("Ґудзь Мар'яна"), "names who signed: {}", result.message);
    }
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn a_seal_lookalike_from_another_trusted_ca_is_not_a_copy() {
    let f = fixture("lookalike");
    let other_dir = temp("lookalike-other");
    // Another CA, trusted by the verifier, issued a certificate with the very subject of our seal.
    let (other, lookalike) = DevPki::load_or_create(&other_dir).expect("another PKI");
    let trust = SealTrust {
        anchors: vec![f.pki.root.certificate.clone(), other.root.certificate.clone()],
        seals: f.trust.seals.clone(),
        revocation: None,
    };
    assert_eq!(lookalike.certificate().subject_name().to_der().ok(), f.seal.certificate().subject_name().to_der().ok());
    let (_, pdf) = sample_copy();
    let p7s = lookalike.sign_detached(&pdf, Utc::now()).expect("signature");
    assert_eq!(check_seal(&pdf, &p7s, &trust, None).verdict, Verdict::NotIssued);
    let _ = std::fs::remove_dir_all(&f.dir);
    let _ = std::fs::remove_dir_all(&other_dir);
}

#[test]
fn the_seal_over_something_other_than_a_pdf_is_not_a_copy() {
    let f = fixture("not-pdf");
    let checkpoint = b"diia-qr.example/audit\n42\nq83jOpVmQ8dFUz1mVi4aBaoHnkBdFSLDtRUIDrxvkvQ=\n";
    let p7s = f.seal.sign_detached(checkpoint, Utc::now()).expect("signature");
    let result = check_seal(checkpoint, &p7s, &f.trust, None);
    assert_eq!(result.verdict, Verdict::NotIssued, "{}", result.message);
    assert!(result.message.contains("не PDF"), "{}", result.message);
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn a_retired_seal_still_seals_and_a_forgotten_one_does_not() {
    let f = fixture("retired");
    let (_, pdf) = sample_copy();
    let before = f.seal.sign_detached(&pdf, Utc::now()).expect("signature");
    DevPki::rotate_seal(&f.dir).expect("rotation");
    let pinned = SealTrust {
        anchors: f.trust.anchors.clone(),
        seals: DevPki::seal_certificates(&f.dir).expect("seal certificates"),
        revocation: None,
    };
    assert_eq!(pinned.seals.all().len(), 2);
    assert_eq!(check_seal(&pdf, &before, &pinned, None).verdict, Verdict::Sealed);
    // A verifier that pins only the new certificate does not take the old seal.
    let current_only = SealTrust {
        anchors: f.trust.anchors.clone(),
        seals: SealCertificates::new(pinned.seals.current().clone(), Vec::new()),
        revocation: None,
    };
    assert_eq!(check_seal(&pdf, &before, &current_only, None).verdict, Verdict::NotIssued);
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn the_registry_time_not_the_signers_claim_judges_the_certificate() {
    let f = fixture("dated");
    let (_, pdf) = sample_copy();
    let p7s = f.seal.sign_detached(&pdf, Utc::now()).expect("signature");
    // A registry time long after the seal certificate expired.
    let later = Utc::now() + chrono::Duration::days(365 * 30);
    let result = check_seal(&pdf, &p7s, &f.trust, Some(later));
    assert_eq!(result.verdict, Verdict::NotIssued, "{}", result.message);
    let _ = std::fs::remove_dir_all(&f.dir);
}

fn issued(pdf: &[u8]) -> IssuedFile {
    let read = read::open(pdf).expect("a copy reads");
    IssuedFile {
        pdf_sha256: sha256_hex(pdf),
        pdf_length: Some(pdf.len() as i64),
        object_digests: Some(sqlx::types::Json(read::object_digests(&read, pdf))),
    }
}

#[test]
fn a_changed_byte_names_its_object() {
    let (_, pdf) = sample_copy();
    let read = read::open(&pdf).expect("a copy reads");
    let content = read.objects.iter().find(|o| o.role == read::ObjectRole::PageContent(1)).expect("page content");
    let mut altered = pdf.clone();
    altered[content.span.start + 200] ^= 0x01;
    let presented = read::open(&altered).expect("still readable");
    let changes = what_changed(&altered, &presented, &[issued(&pdf)]);
    assert_eq!(changes, vec![format!("змінено об'єкт {} (вміст сторінки 1)", content.number)]);
}

#[test]
fn an_appended_update_is_named_with_what_it_replaces() {
    let (_, pdf) = sample_copy();
    let updated = with_incremental_update(&pdf);
    let presented = read::open(&updated).expect("the updated file reads");
    let changes = what_changed(&updated, &presented, &[issued(&pdf)]);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(changes[0].starts_with(&format!("перші {} байтів — видана копія", pdf.len())), "{changes:?}");
    assert!(changes[0].contains("інкрементне оновлення") && changes[0].contains("вміст сторінки 1"), "{changes:?}");
    // Bytes appended without an update are said to be just that.
    let mut padded = pdf.clone();
    padded.extend_from_slice(b"\n%%EOF\nextra bytes");
    let presented = read::open(&padded).expect("reads");
    let changes = what_changed(&padded, &presented, &[issued(&pdf)]);
    assert!(changes[0].contains("після її кінця дописано"), "{changes:?}");
}

#[test]
fn a_revoked_seal_is_reported_and_copies_it_made_before_stay_sealed() {
    use crate::pki::revocation::RevocationLists;
    let f = fixture("revoked-seal");
    let (_, pdf) = sample_copy();
    let p7s = f.seal.sign_detached(&pdf, Utc::now()).expect("signature");
    let revoked_at = Utc::now() - chrono::Duration::hours(1);
    let crl = f.pki.qualified.crl(&[(f.trust.seals.current(), revoked_at)], 30).expect("a CRL");
    let path = f.dir.join("seal-revoked.crl.pem");
    std::fs::write(&path, crl.to_pem().expect("PEM")).expect("CRL file");
    let lists = RevocationLists::load(vec![path], vec![f.pki.qualified.certificate.clone()]).expect("the list");
    let trust = SealTrust { revocation: Some(Arc::new(lists)), ..f.trust.clone() };

    // Made (by the registry's time) after the revocation: not the service's copy any more.
    let after = check_seal(&pdf, &p7s, &trust, Some(Utc::now()));
    assert_eq!(after.verdict, Verdict::Revoked, "{}", after.message);
    assert!(after.message.contains("відкликано"), "{}", after.message);
    // Made before it: still sealed, with a warning that the certificate was revoked since.
    let before = check_seal(&pdf, &p7s, &trust, Some(revoked_at - chrono::Duration::hours(1)));
    assert_eq!(before.verdict, Verdict::Sealed, "{}", before.message);
    assert!(before.warnings.iter().any(|w| w.contains("уже після того")), "{:?}", before.warnings);
    // A list that is not there is said, not silently passed.
    let unlisted = RevocationLists::load(Vec::new(), vec![f.pki.qualified.certificate.clone()]).expect("no lists");
    let unchecked = check_seal(&pdf, &p7s, &SealTrust { revocation: Some(Arc::new(unlisted)), ..f.trust.clone() }, None);
    assert_eq!(unchecked.verdict, Verdict::Sealed);
    assert!(unchecked.warnings.iter().any(|w| w.contains("не перевірено")), "{:?}", unchecked.warnings);
    let _ = std::fs::remove_dir_all(&f.dir);
}

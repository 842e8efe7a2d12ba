use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use chrono::Utc;

use super::qualified::{IdentityError, QualifiedIdentity};
use super::revocation::{RevocationError, RevocationLists};
use super::*;
use crate::seal::Signer;

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("diia-qr-pki-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl_verify(dir: &std::path::Path, certificate: &std::path::Path, with_crl: bool) -> (bool, String) {
    let mut cmd = Command::new("openssl");
    cmd.arg("verify").arg("-CAfile").arg(dir.join(DevPki::CA_FILE)).arg("-untrusted").arg(dir.join(DevPki::QUALIFIED_CA_FILE));
    if with_crl {
        cmd.arg("-crl_check").arg("-CRLfile").arg(dir.join(DevPki::QUALIFIED_CRL_FILE));
    }
    let out = cmd.arg(certificate).output().expect("the openssl command line");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_development_pki_has_a_root_two_issuing_cas_crls_and_test_partners_that_openssl_checks() {
    let dir = Scratch::new("layout");
    let (pki, seal) = DevPki::load_or_create(&dir.0).expect("a development PKI");
    for file in
        [DevPki::CA_FILE, DevPki::QUALIFIED_CA_FILE, DevPki::CITIZENS_CA_FILE, DevPki::QUALIFIED_CRL_FILE, DevPki::CITIZENS_CRL_FILE]
    {
        assert!(dir.0.join(file).exists(), "{file}");
    }
    for key in ["diia-qr-dev-ca.key.pem", "qualified-ca.key.pem", "citizens-ca.key.pem", "partners/hotel-palazzo.key.pem"] {
        let mode = std::fs::metadata(dir.0.join(key)).expect(key).permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{key}");
    }
    // The seal is issued by the qualified CA; the root anchors it.
    assert!(seal.certificate().verify(&pki.qualified.certificate.public_key().unwrap()).unwrap());
    let (ok, out) = openssl_verify(&dir.0, &DevPki::partner_files(&dir.0, "hotel-palazzo").0, true);
    assert!(ok, "{out}");
    let (ok, out) = openssl_verify(&dir.0, &DevPki::partner_files(&dir.0, "revoked").0, false);
    assert!(ok, "valid but for its revocation: {out}");
    let (ok, out) = openssl_verify(&dir.0, &DevPki::partner_files(&dir.0, "revoked").0, true);
    assert!(!ok && out.contains("revoked"), "{out}");
    let (ok, out) = openssl_verify(&dir.0, &DevPki::partner_files(&dir.0, "expired").0, true);
    assert!(!ok && out.contains("expired"), "{out}");

    // Loading again changes nothing but the CRLs' dates.
    let (again, seal_again) = DevPki::load_or_create(&dir.0).expect("loads");
    assert_eq!(again.root.certificate, pki.root.certificate);
    assert_eq!(again.qualified.certificate, pki.qualified.certificate);
    assert_eq!(seal_again.certificate(), seal.certificate());
}

#[test]
fn a_partner_certificate_names_the_head_and_the_organisation_as_ukrainian_qualified_certificates_do() {
    let dir = Scratch::new("identity");
    DevPki::load_or_create(&dir.0).expect("a development PKI");
    let (_, hotel) = DevPki::test_partner(&dir.0, "hotel-palazzo").expect("a test partner");
    let identity = QualifiedIdentity::of(&hotel).expect("an identity");
    assert_eq!(identity.full_name, "Ґарбуз Марія Олексіївна");
    assert_eq!(identity.edrpou.as_deref(), Some("45172831"));
    assert_eq!(identity.organisation.as_deref(), Some("ТОВ «Готель „Палаццо“»"));
    assert_eq!(identity.title.as_deref(), Some("Директор"));
    assert_eq!(identity.rnokpp.len(), 10);
    diia_qr_domain::identifiers::Rnokpp::parse(&identity.rnokpp).expect("a valid РНОКПП");

    let (_, sole) = DevPki::test_partner(&dir.0, "sole-proprietor").expect("a test partner");
    let identity = QualifiedIdentity::of(&sole).expect("an identity");
    assert_eq!((identity.edrpou, identity.organisation), (None, None), "a ФОП is a natural person");
    assert_eq!(identity.full_name, "Олійник-Д'Арко Ігор Васильович");

    // The seal names an organisation, not a person: no РНОКПП.
    let (_, seal) = DevPki::load_or_create(&dir.0).expect("loads");
    assert_eq!(QualifiedIdentity::of(seal.certificate()), Err(IdentityError::NoRnokpp));
}

#[test]
fn revocation_is_checked_at_a_time_and_fails_closed() {
    let dir = Scratch::new("crl");
    let (pki, _) = DevPki::load_or_create(&dir.0).expect("a development PKI");
    let lists =
        RevocationLists::load(vec![dir.0.join(DevPki::QUALIFIED_CRL_FILE)], vec![pki.qualified.certificate.clone()]).expect("the CRL");
    let now = Utc::now();
    let (_, hotel) = DevPki::test_partner(&dir.0, "hotel-palazzo").expect("a test partner");
    assert_eq!(lists.check(&hotel, now, now), Ok(()));
    let (_, revoked) = DevPki::test_partner(&dir.0, "revoked").expect("a test partner");
    assert!(matches!(lists.check(&revoked, now, now), Err(RevocationError::Revoked(_))));
    // Before its revocation it was good.
    let issued = now - chrono::Duration::days(1);
    assert_eq!(lists.check(&revoked, issued, now), Ok(()));
    // A list past its nextUpdate is refused; so is a certificate whose CA has no list.
    assert!(matches!(lists.check(&hotel, now, now + chrono::Duration::days(31)), Err(RevocationError::Stale(_))));
    let (_, citizen) =
        pki.citizens.issue_new_key(&Subject { common_name: "Ґудзь Мар'яна", ..Subject::default() }, 30).expect("a certificate");
    assert!(matches!(lists.check(&citizen, now, now), Err(RevocationError::NoList(_))));
    // A CRL signed by a CA not configured is refused at load.
    assert!(RevocationLists::load(vec![dir.0.join(DevPki::QUALIFIED_CRL_FILE)], vec![pki.citizens.certificate.clone()]).is_err());
}

#[test]
fn a_folder_from_before_the_intermediate_cas_is_upgraded_and_its_old_seal_retired() {
    let dir = Scratch::new("upgrade");
    std::fs::create_dir_all(&dir.0).unwrap();
    // The old layout: a root that issued the seal itself.
    let now = Utc::now().timestamp();
    let root = Authority::root_between("Дія.QR — тестовий кореневий сертифікат", now - 86_400, now + 86_400 * 3650).unwrap();
    let (key, old_seal) = root.issue_new_key(&DEV_SEAL_SUBJECT, 365).unwrap();
    std::fs::write(dir.0.join(DevPki::CA_FILE), root.certificate.to_pem().unwrap()).unwrap();
    std::fs::write(dir.0.join("diia-qr-dev-ca.key.pem"), root.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(dir.0.join("diia-qr-dev-seal.pem"), old_seal.to_pem().unwrap()).unwrap();
    std::fs::write(dir.0.join("diia-qr-dev-seal.key.pem"), key.private_key_to_pem_pkcs8().unwrap()).unwrap();

    let (pki, seal) = DevPki::load_or_create(&dir.0).expect("upgraded");
    assert_eq!(pki.root.certificate, root.certificate, "the same root: old copies keep their anchor");
    assert_ne!(seal.certificate(), &old_seal);
    let pinned = DevPki::seal_certificates(&dir.0).unwrap();
    assert!(pinned.pins(&old_seal), "the old seal is retired, not forgotten");
    assert!(pinned.pins(seal.certificate()));
}

use super::verify::*;
use super::*;
use crate::pki::{certificate_builder, new_p256_key, write_private, Authority, DevPki, DEV_SEAL_SUBJECT};
use openssl::cms::CmsContentInfo;
use openssl::hash::MessageDigest;
use openssl::x509::extension::{AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::X509NameBuilder;
use std::fs;
use std::process::Command;

/// A scratch folder removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("diia-qr-seal-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().with_timezone(&Utc)
}

/// A CA and a seal valid over the given span, independent of today's date.
fn pki_between(from: &str, to: &str) -> (Authority, OpenSslSeal) {
    let (from, to) = (at(from).timestamp(), at(to).timestamp());
    let pki = Authority::root_between("Дія.QR — тестовий кореневий сертифікат", from, to).unwrap();
    let key = new_p256_key().unwrap();
    let cert = pki.issue_between(&key, &DEV_SEAL_SUBJECT, from, to).unwrap();
    let seal = OpenSslSeal::new(key, cert, vec![pki.certificate.clone()]);
    (pki, seal)
}

const DEV_SEAL_LINE: &str =
    "CN=Дія.QR — кваліфікована електронна печатка (розробка), organizationIdentifier=NTRUA-43395033, O=Дія.QR (середовище розробки), C=UA";

/// A stand-in for a rendered copy: 30 KB that look like a PDF.
fn copy_bytes() -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend((0..30 * 1024).map(|i| (i * 31 % 251) as u8));
    pdf.extend_from_slice(b"\n%%EOF\n");
    pdf
}

fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl").args(args).output().expect("the openssl command line")
}

#[test]
fn the_dev_pki_is_made_once_and_its_seal_verifies() {
    let dir = Scratch::new("dev");
    let (pki, seal) = DevPki::load_or_create(&dir.0).unwrap();
    let (_, again) = DevPki::load_or_create(&dir.0).unwrap();
    assert_eq!(seal.certificate().to_der().unwrap(), again.certificate().to_der().unwrap());
    let now = Utc::now();
    let sig = seal.sign_detached(b"copy", now).unwrap();
    let verified = verify_detached(&sig, b"copy", std::slice::from_ref(&pki.root.certificate)).unwrap();
    assert_eq!(verified.signing_time.unwrap().timestamp(), now.timestamp());
    assert_eq!(verified.signer_subject, DEV_SEAL_LINE);
    assert!(matches!(verify_detached(&sig, b"altered", std::slice::from_ref(&pki.root.certificate)), Err(VerifyError::ContentMismatch)));
    assert_eq!(seal.trust_anchors_pem().unwrap(), String::from_utf8(pki.root.certificate.to_pem().unwrap()).unwrap());
    for file in [DevPki::SEAL_KEY_FILE, DevPki::CA_KEY_FILE] {
        let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(dir.path(file)).unwrap().permissions());
        assert_eq!(mode & 0o077, 0, "private keys are readable by their owner only");
    }
}

#[test]
fn a_signature_carries_the_chosen_signing_time_and_verifies_with_openssl() {
    let dir = Scratch::new("chosen-time");
    let (pki, seal) = pki_between("2026-01-01T00:00:00Z", "2046-01-01T00:00:00Z");
    let pdf = copy_bytes();
    // Milliseconds are dropped: the attribute holds whole seconds.
    let sig = seal.sign_detached(&pdf, at("2026-11-26T10:00:05.750Z")).unwrap();
    fs::write(dir.path("X.p7s"), &sig).unwrap();
    fs::write(dir.path("X.pdf"), &pdf).unwrap();
    fs::write(dir.path("ca.pem"), pki.certificate.to_pem().unwrap()).unwrap();
    let (p7s, content, ca) = (dir.path("X.p7s"), dir.path("X.pdf"), dir.path("ca.pem"));
    let (p7s, content, ca) = (p7s.to_str().unwrap(), content.to_str().unwrap(), ca.to_str().unwrap());

    let verify = ["cms", "-verify", "-binary", "-inform", "DER", "-in", p7s, "-content", content, "-CAfile", ca];
    for extra in [&["-purpose", "any", "-cades", "-out", "/dev/null"][..], &["-cades", "-out", "/dev/null"][..]] {
        let out = openssl(&[&verify[..], extra].concat());
        assert!(out.status.success(), "openssl cms -verify {extra:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let altered = dir.path("altered.pdf");
    fs::write(&altered, [&pdf[..], b" "].concat()).unwrap();
    let mut on_altered = verify.to_vec();
    on_altered[9] = altered.to_str().unwrap();
    assert_eq!(openssl(&[&on_altered[..], &["-purpose", "any", "-out", "/dev/null"]].concat()).status.code(), Some(4));

    let printed = openssl(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", p7s]);
    assert!(printed.status.success());
    let printed = String::from_utf8(printed.stdout).unwrap();
    println!("{printed}");
    assert_eq!(printed.matches("object: signingTime").count(), 1, "one signingTime attribute");
    assert_eq!(printed.matches("UTCTIME:Nov 26 10:00:05 2026 GMT").count(), 1);
    for attribute in ["object: contentType", "object: messageDigest", "object: id-smime-aa-signingCertificateV2"] {
        assert_eq!(printed.matches(attribute).count(), 1, "{attribute}");
    }
    assert!(printed.contains("algorithm: sha256"));

    let verified = verify_detached(&sig, &pdf, std::slice::from_ref(&pki.certificate)).unwrap();
    assert_eq!(verified.signing_time, Some(at("2026-11-26T10:00:05Z")));
    assert_eq!(verified.signer_subject, DEV_SEAL_LINE);
    assert_eq!(verified.signer_certificate, *seal.certificate());
}

#[test]
fn after_2049_the_signing_time_is_a_generalized_time() {
    let (pki, seal) = pki_between("2049-06-01T00:00:00Z", "2060-01-01T00:00:00Z");
    let sig = seal.sign_detached(b"copy", at("2051-03-04T05:06:07Z")).unwrap();
    let verified = verify_detached(&sig, b"copy", std::slice::from_ref(&pki.certificate)).unwrap();
    assert_eq!(verified.signing_time, Some(at("2051-03-04T05:06:07Z")));
    // The attribute's DER: SET { GeneralizedTime "20510304050607Z" }.
    let generalized = [&[0x31, 0x11, 0x18, 0x0f][..], b"20510304050607Z"].concat();
    assert!(sig.windows(generalized.len()).any(|w| w == generalized));
}

#[test]
fn verification_tells_altered_documents_untrusted_signers_broken_signatures_and_garbage_apart() {
    let (pki, seal) = pki_between("2026-01-01T00:00:00Z", "2046-01-01T00:00:00Z");
    let anchors = std::slice::from_ref(&pki.certificate);
    let pdf = copy_bytes();
    let sig = seal.sign_detached(&pdf, at("2026-11-26T10:00:05Z")).unwrap();

    let mut altered = pdf.clone();
    altered[100] ^= 1;
    let err = verify_detached(&sig, &altered, anchors).unwrap_err();
    assert!(matches!(err, VerifyError::ContentMismatch), "{err:?}");
    assert_eq!(err.to_string(), "підпис не відповідає документу: документ змінено після підписання");

    let (_, stranger) = pki_between("2026-01-01T00:00:00Z", "2046-01-01T00:00:00Z");
    let foreign = stranger.sign_detached(&pdf, at("2026-11-26T10:00:05Z")).unwrap();
    let err = verify_detached(&foreign, &pdf, anchors).unwrap_err();
    assert!(matches!(err, VerifyError::UntrustedSigner(_)), "{err:?}");
    println!("{err}");
    assert!(matches!(verify_detached(&sig, &pdf, &[]), Err(VerifyError::UntrustedSigner(_))));

    // A changed signed attribute (the signing time, one second later): the signature no
    // longer matches what it signed.
    let when = b"261126100005Z";
    let pos = sig.windows(when.len()).position(|w| w == when).unwrap();
    let mut forged = sig.clone();
    forged[pos + 11] = b'6';
    let err = verify_detached(&forged, &pdf, anchors).unwrap_err();
    assert!(matches!(err, VerifyError::Other(_)), "{err:?}");

    for garbage in [&b"not a signature"[..], &sig[..sig.len() / 2], &[]] {
        let err = verify_detached(garbage, &pdf, anchors).unwrap_err();
        assert!(matches!(err, VerifyError::Malformed(_)), "{err:?}");
    }
}

#[test]
fn a_copy_sealed_while_the_certificate_was_valid_verifies_after_it_expired() {
    let (from, to) = (at("2019-01-01T00:00:00Z").timestamp(), at("2040-01-01T00:00:00Z").timestamp());
    let pki = Authority::root_between("Дія.QR — тестовий кореневий сертифікат", from, to).unwrap();
    let key = new_p256_key().unwrap();
    let (valid_from, valid_to) = (at("2020-01-01T00:00:00Z").timestamp(), at("2021-01-01T00:00:00Z").timestamp());
    let cert = pki.issue_between(&key, &DEV_SEAL_SUBJECT, valid_from, valid_to).unwrap();
    let seal = OpenSslSeal::new(key, cert, vec![pki.certificate.clone()]);
    let anchors = std::slice::from_ref(&pki.certificate);

    let sig = seal.sign_detached(b"copy", at("2020-06-01T12:00:00Z")).unwrap();
    let verified = verify_detached(&sig, b"copy", anchors).unwrap();
    assert_eq!(verified.signing_time, Some(at("2020-06-01T12:00:00Z")));

    // The seal refuses to claim a time outside its certificate…
    assert!(matches!(seal.sign_detached(b"copy", at("2021-06-01T12:00:00Z")), Err(SealError::Invalid(_))));
    // …and a signature that claims one does not verify.
    let mut chain = Stack::new().unwrap();
    chain.push(pki.certificate.clone()).unwrap();
    let late = Asn1Time::from_unix(at("2021-06-01T12:00:00Z").timestamp()).unwrap();
    let sig = ffi::sign_detached_at(&seal.certificate, &seal.key, &chain, b"copy", &late).unwrap().to_der().unwrap();
    let err = verify_detached(&sig, b"copy", anchors).unwrap_err();
    assert!(matches!(&err, VerifyError::UntrustedSigner(m) if m.contains("expired")), "{err:?}");
}

#[test]
fn a_plain_cms_signature_verifies_and_a_substituted_signer_certificate_does_not() {
    let (pki, seal) = pki_between("2026-01-01T00:00:00Z", "2046-01-01T00:00:00Z");
    let anchors = std::slice::from_ref(&pki.certificate);
    let mut chain = Stack::new().unwrap();
    chain.push(pki.certificate.clone()).unwrap();

    // As Diia.Signature statements are signed: no ESS attribute, OpenSSL's clock.
    let flags = CMSOptions::DETACHED | CMSOptions::BINARY | CMSOptions::NOSMIMECAP;
    let plain = CmsContentInfo::sign(Some(&seal.certificate), Some(&seal.key), Some(&chain), Some(b"copy"), flags).unwrap();
    let verified = verify_detached(&plain.to_der().unwrap(), b"copy", anchors).unwrap();
    assert!((verified.signing_time.unwrap() - Utc::now()).num_seconds().abs() < 60);

    // Another certificate for the same key, issuer and serial, swapped into a CAdES signature:
    // the signature still matches the key, only signingCertificateV2 tells them apart.
    let sig = seal.sign_detached(b"copy", at("2026-11-26T10:00:05Z")).unwrap();
    let original = seal.certificate().to_der().unwrap();
    let twin = (0..100)
        .map(|i| {
            let (from, to) = (at("2026-01-01T00:00:00Z").timestamp(), at("2045-01-01T00:00:00Z").timestamp() + i);
            let mut b =
                certificate_builder(seal.certificate().subject_name(), pki.certificate.subject_name(), &seal.key, from, to).unwrap();
            b.set_serial_number(seal.certificate().serial_number()).unwrap();
            b.append_extension(BasicConstraints::new().build().unwrap()).unwrap();
            b.append_extension(KeyUsage::new().critical().digital_signature().non_repudiation().build().unwrap()).unwrap();
            b.append_extension(ExtendedKeyUsage::new().email_protection().build().unwrap()).unwrap();
            let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(Some(&pki.certificate), None)).unwrap();
            b.append_extension(ski).unwrap();
            let aki = AuthorityKeyIdentifier::new().keyid(true).build(&b.x509v3_context(Some(&pki.certificate), None)).unwrap();
            b.append_extension(aki).unwrap();
            b.sign(&pki.key, MessageDigest::sha256()).unwrap();
            b.build().to_der().unwrap()
        })
        .find(|der| der.len() == original.len())
        .expect("a twin certificate of the same length");
    let pos = sig.windows(original.len()).position(|w| w == original).unwrap();
    let mut swapped = sig.clone();
    swapped[pos..pos + original.len()].copy_from_slice(&twin);
    let err = verify_detached(&swapped, b"copy", anchors).unwrap_err();
    assert!(matches!(&err, VerifyError::UntrustedSigner(m) if m.contains("signingCertificateV2")), "{err:?}");
}

#[test]
fn a_certificate_not_for_signing_is_not_trusted() {
    let (pki, _) = pki_between("2026-01-01T00:00:00Z", "2046-01-01T00:00:00Z");
    let key = new_p256_key().unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "key agreement only").unwrap();
    let name = name.build();
    let (from, to) = (at("2026-01-01T00:00:00Z").timestamp(), at("2046-01-01T00:00:00Z").timestamp());
    let mut b = certificate_builder(&name, pki.certificate.subject_name(), &key, from, to).unwrap();
    b.append_extension(KeyUsage::new().critical().key_agreement().build().unwrap()).unwrap();
    let aki = AuthorityKeyIdentifier::new().keyid(true).build(&b.x509v3_context(Some(&pki.certificate), None)).unwrap();
    b.append_extension(aki).unwrap();
    b.sign(&pki.key, MessageDigest::sha256()).unwrap();
    let seal = OpenSslSeal::new(key, b.build(), vec![pki.certificate.clone()]);
    let sig = seal.sign_detached(b"copy", at("2026-11-26T10:00:05Z")).unwrap();
    let err = verify_detached(&sig, b"copy", std::slice::from_ref(&pki.certificate)).unwrap_err();
    assert!(matches!(&err, VerifyError::UntrustedSigner(m) if m.contains("keyUsage")), "{err:?}");
}

#[test]
fn the_development_source_loads_the_dev_pki_with_its_ca_as_anchor() {
    let dir = Scratch::new("source-dev");
    let loaded = load_seal(&SealKeySource::Development { dir: dir.0.clone() }).unwrap();
    let (pki, _) = DevPki::load_or_create(&dir.0).unwrap();
    assert_eq!(loaded.trust_anchors, vec![pki.root.certificate]);
}

#[test]
fn pem_files_load_with_the_chain_in_its_own_file_or_after_the_certificate() {
    let dir = Scratch::new("pem");
    let (pki, seal) = DevPki::load_or_create(&dir.path("pki")).unwrap();
    fs::write(dir.path("key.pem"), seal.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    fs::write(dir.path("cert.pem"), seal.certificate().to_pem().unwrap()).unwrap();
    let chain_pem = [pki.qualified.certificate.to_pem().unwrap(), pki.root.certificate.to_pem().unwrap()].concat();
    fs::write(dir.path("chain.pem"), &chain_pem).unwrap();
    fs::write(dir.path("bundle.pem"), [seal.certificate().to_pem().unwrap(), chain_pem].concat()).unwrap();

    for (certificate, chain) in [("cert.pem", Some(dir.path("chain.pem"))), ("bundle.pem", None)] {
        let source = SealKeySource::Pem { key: dir.path("key.pem"), certificate: dir.path(certificate), chain };
        let loaded = load_seal(&source).unwrap();
        assert_eq!(loaded.trust_anchors, vec![pki.root.certificate.clone()]);
        let sig = loaded.seal.sign_detached(b"copy", Utc::now()).unwrap();
        verify_detached(&sig, b"copy", &loaded.trust_anchors).unwrap();
    }

    // Without a chain there is nothing to publish as an anchor.
    let source = SealKeySource::Pem { key: dir.path("key.pem"), certificate: dir.path("cert.pem"), chain: None };
    assert!(matches!(load_seal(&source), Err(SealError::Invalid(_))));
    // Another key than the certificate's.
    fs::write(dir.path("other.pem"), new_p256_key().unwrap().private_key_to_pem_pkcs8().unwrap()).unwrap();
    let source = SealKeySource::Pem { key: dir.path("other.pem"), certificate: dir.path("bundle.pem"), chain: None };
    assert!(matches!(load_seal(&source), Err(SealError::Invalid(m)) if m.contains("не відповідає")));
    // An encrypted key is refused, not prompted for.
    let encrypted = seal.key.private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"secret").unwrap();
    fs::write(dir.path("encrypted.pem"), encrypted).unwrap();
    let source = SealKeySource::Pem { key: dir.path("encrypted.pem"), certificate: dir.path("bundle.pem"), chain: None };
    assert!(matches!(load_seal(&source), Err(SealError::Invalid(_))));
}

#[test]
fn a_pkcs12_file_loads_and_a_wrong_password_is_refused() {
    let dir = Scratch::new("p12");
    let (pki, seal) = DevPki::load_or_create(&dir.path("pki")).unwrap();
    let mut ca = Stack::new().unwrap();
    ca.push(pki.qualified.certificate.clone()).unwrap();
    ca.push(pki.root.certificate.clone()).unwrap();
    let p12 = Pkcs12::builder().name("seal").pkey(&seal.key).cert(seal.certificate()).ca(ca).build2("пароль").unwrap();
    fs::write(dir.path("seal.p12"), p12.to_der().unwrap()).unwrap();

    let loaded = load_seal(&SealKeySource::Pkcs12 { path: dir.path("seal.p12"), password: "пароль".into() }).unwrap();
    assert_eq!(loaded.trust_anchors, vec![pki.root.certificate.clone()]);
    assert_eq!(loaded.seal.certificate(), seal.certificate());
    let sig = loaded.seal.sign_detached(b"copy", Utc::now()).unwrap();
    verify_detached(&sig, b"copy", &loaded.trust_anchors).unwrap();

    let wrong = SealKeySource::Pkcs12 { path: dir.path("seal.p12"), password: "не той".into() };
    assert!(matches!(load_seal(&wrong), Err(SealError::Invalid(_))));
    assert!(!format!("{wrong:?}").contains("не той"), "the password stays out of logs");
}

#[test]
fn trust_anchors_are_the_last_self_signed_chain_certificate_else_the_whole_chain() {
    let (root, _) = pki_between("2026-01-01T00:00:00Z", "2046-01-01T00:00:00Z");
    let (other_root, _) = pki_between("2026-01-01T00:00:00Z", "2046-01-01T00:00:00Z");
    let key = new_p256_key().unwrap();
    let leaf = root.issue(&key, &DEV_SEAL_SUBJECT, 30).unwrap();
    let anchors = default_trust_anchors(&leaf, &[other_root.certificate.clone(), leaf.clone(), root.certificate.clone()]);
    assert_eq!(anchors, vec![root.certificate.clone()]);
    let not_self_signed = vec![leaf.clone()];
    assert_eq!(default_trust_anchors(&leaf, &not_self_signed), not_self_signed);
    assert!(default_trust_anchors(&leaf, &[]).is_empty());
    assert_eq!(default_trust_anchors(&root.certificate, &[]), vec![root.certificate.clone()]);

    // An anchor need not be self-signed: a chain may end at any of them (PARTIAL_CHAIN).
    let seal = OpenSslSeal::new(key, leaf.clone(), vec![root.certificate.clone()]);
    let sig = seal.sign_detached(b"copy", Utc::now()).unwrap();
    verify_detached(&sig, b"copy", &not_self_signed).unwrap();
    assert!(matches!(verify_detached(&sig, b"copy", &[other_root.certificate]), Err(VerifyError::UntrustedSigner(_))));
}

#[test]
fn rotation_issues_a_new_seal_and_old_signatures_still_verify() {
    let dir = Scratch::new("rotation");
    let (pki, old) = DevPki::load_or_create(&dir.0).unwrap();
    let anchors = std::slice::from_ref(&pki.root.certificate);
    let before = old.sign_detached(b"copy", Utc::now()).unwrap();
    let old_key = fs::read(dir.path(DevPki::SEAL_KEY_FILE)).unwrap();

    let new = DevPki::rotate_seal(&dir.0).unwrap();
    assert_ne!(new.certificate(), old.certificate());
    assert_eq!(new.certificate().issuer_name().to_der().unwrap(), pki.qualified.certificate.subject_name().to_der().unwrap());
    let retired = X509::from_pem(&fs::read(dir.path("diia-qr-dev-seal.1.pem")).unwrap()).unwrap();
    assert_eq!(&retired, old.certificate());
    assert_ne!(fs::read(dir.path(DevPki::SEAL_KEY_FILE)).unwrap(), old_key, "the retired key is gone");
    let (pki_again, current) = DevPki::load_or_create(&dir.0).unwrap();
    assert_eq!(current.certificate(), new.certificate());
    assert_eq!(pki_again.root.certificate, pki.root.certificate);

    let verified = verify_detached(&before, b"copy", anchors).unwrap();
    assert_eq!(&verified.signer_certificate, old.certificate());
    let after = current.sign_detached(b"copy", Utc::now()).unwrap();
    assert_eq!(&verify_detached(&after, b"copy", anchors).unwrap().signer_certificate, new.certificate());

    DevPki::rotate_seal(&dir.0).unwrap();
    let retired = X509::from_pem(&fs::read(dir.path("diia-qr-dev-seal.2.pem")).unwrap()).unwrap();
    assert_eq!(&retired, new.certificate());
    verify_detached(&before, b"copy", anchors).unwrap();
    verify_detached(&after, b"copy", anchors).unwrap();
}

#[test]
fn a_rotation_cut_between_its_renames_is_finished_at_the_next_load() {
    let dir = Scratch::new("rotation-cut");
    let (pki, _) = DevPki::load_or_create(&dir.0).unwrap();
    let (key, cert) = pki.qualified.issue_new_key(&DEV_SEAL_SUBJECT, 30).unwrap();
    // The key was renamed into place, the certificate not yet.
    fs::remove_file(dir.path(DevPki::SEAL_KEY_FILE)).unwrap();
    write_private(&dir.path(DevPki::SEAL_KEY_FILE), &key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    fs::write(dir.path(DevPki::NEW_SEAL_FILE), cert.to_pem().unwrap()).unwrap();
    let (_, seal) = DevPki::load_or_create(&dir.0).unwrap();
    assert_eq!(seal.certificate(), &cert);
    assert!(!dir.path(DevPki::NEW_SEAL_FILE).exists());
}

/// pyHanko, an independent implementation, validates the detached CMS against the CA.
/// Without pyHanko (scripts/setup-machine installs it) the test fails.
#[test]
fn pyhanko_validates_the_signature() {
    let importable = Command::new("python3").args(["-c", "import pyhanko.sign.validation"]).output().is_ok_and(|o| o.status.success());
    assert!(importable, "pyHanko is not installed: scripts/setup-machine installs it");
    let dir = Scratch::new("pyhanko");
    let (pki, seal) = pki_between("2026-01-01T00:00:00Z", "2046-01-01T00:00:00Z");
    let pdf = copy_bytes();
    let sig = seal.sign_detached(&pdf, at("2026-11-26T10:00:05Z")).unwrap();
    fs::write(dir.path("X.p7s"), &sig).unwrap();
    fs::write(dir.path("X.pdf"), &pdf).unwrap();
    fs::write(dir.path("ca.pem"), pki.certificate.to_pem().unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pyhanko_verify.py");
    let run = |content: &Path| {
        let out = Command::new("python3").arg(&script).arg(dir.path("X.p7s")).arg(content).arg(dir.path("ca.pem")).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        (out.status.code(), stdout)
    };
    let (code, report) = run(&dir.path("X.pdf"));
    assert_eq!(code, Some(0));
    for line in ["intact=True", "valid=True", "trusted=True", "signing_time=2026-11-26T10:00:05+00:00"] {
        assert!(report.lines().any(|l| l == line), "pyHanko: {line} missing");
    }

    fs::write(dir.path("altered.pdf"), [&pdf[..], b" "].concat()).unwrap();
    let (code, report) = run(&dir.path("altered.pdf"));
    assert_eq!(code, Some(1));
    assert!(report.lines().any(|l| l == "intact=False"));
}

/// Hostile signatures: whatever bytes arrive as a P7S, verification answers with a refusal and
/// never panics; a genuine signature cut short or with a byte changed never verifies the content.
mod hostile_signatures {
    use super::*;
    use proptest::prelude::*;

    fn genuine() -> (Authority, Vec<u8>, Vec<u8>) {
        let (pki, seal) = pki_between("2026-01-01T00:00:00Z", "2036-01-01T00:00:00Z");
        let content = copy_bytes();
        let signature = seal.sign_detached(&content, at("2026-06-01T12:00:00Z")).unwrap();
        (pki, content, signature)
    }

    /// The committed corpus (`tests/corpus/cms/`, written by its `generate.py`): real signatures
    /// this service does not trust or does not make, and hand-made DER that is deep, long or
    /// cut. Each is refused with a reason, none panics; the reason names what is wrong.
    #[test]
    fn the_hostile_corpus_is_refused() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/cms");
        let content = std::fs::read(dir.join("content.txt")).expect("the corpus's content");
        let (pki, _) = pki_between("2026-01-01T00:00:00Z", "2036-01-01T00:00:00Z");
        let mut seen = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a corpus entry").path();
            if path.extension().is_none_or(|e| e != "p7s") {
                continue;
            }
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).expect("a corpus file");
            let refusal = match verify_detached(&bytes, &content, std::slice::from_ref(&pki.certificate)) {
                Ok(verified) => panic!("{name} verified: {verified:?}"),
                Err(refusal) => refusal,
            };
            // Signatures by a signer the anchor does not know are well formed: untrusted.
            let expected = match name.as_str() {
                "self-signed-signer" | "sha1-digest" | "no-signed-attributes" | "attached-content" | "indefinite-length-ber" => {
                    matches!(refusal, VerifyError::UntrustedSigner(_))
                }
                "no-certificates" => matches!(refusal, VerifyError::UntrustedSigner(_) | VerifyError::Other(_)),
                _ => matches!(refusal, VerifyError::Malformed(_) | VerifyError::Other(_)),
            };
            assert!(expected, "{name}: {refusal:?}");
            seen.push(name);
        }
        assert!(seen.len() >= 20, "the corpus is in the repository: {seen:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn arbitrary_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let (pki, content, _) = genuine();
            prop_assert!(verify_detached(&bytes, &content, std::slice::from_ref(&pki.certificate)).is_err());
        }

        #[test]
        fn a_signature_cut_short_is_refused(cut in 0usize..4096) {
            let (pki, content, signature) = genuine();
            let cut = cut % signature.len();
            prop_assert!(verify_detached(&signature[..cut], &content, std::slice::from_ref(&pki.certificate)).is_err());
        }

        #[test]
        fn a_changed_byte_never_verifies_other_content(at_byte in 0usize..4096, xor in 1u8..=255) {
            let (pki, content, mut signature) = genuine();
            let i = at_byte % signature.len();
            signature[i] ^= xor;
            // A change in what the signature covers, or in its value, is refused. A change that
            // DER does not bind (rare) may still verify, but only over the same signer and content.
            if let Ok(verified) = verify_detached(&signature, &content, std::slice::from_ref(&pki.certificate)) {
                prop_assert!(verify_detached(&signature, b"other content", std::slice::from_ref(&pki.certificate)).is_err(), "{verified:?}");
            }
        }
    }
}

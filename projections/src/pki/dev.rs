//! The development PKI, made by `diia-qr pki init DIR` and at the first start of the embedded
//! default, kept as PEM files in one folder. Nothing here is for production: a deployment points
//! at its real CA bundle, CRLs and seal ([`crate::seal::SealKeySource`]).
//!
//! ```text
//! diia-qr-dev-ca.pem               the root: the anchor published at /api/v1/ca.pem
//! qualified-ca.pem                 a qualified trust service CA: partners' КЕП and the seal
//! citizens-ca.pem                  the CA of citizens' Diia.Signature certificates
//! qualified-ca.crl.pem, citizens-ca.crl.pem   their revocation lists, re-issued at each load
//! diia-qr-dev-seal.pem             the service's seal (diia-qr-dev-seal.<n>.pem: retired ones)
//! partners/<name>.pem, .key.pem    КЕП of test partners' heads: a legal entity, a sole
//!                                  proprietor, one revoked, one expired
//! operators/operator.pem, .key.pem the КЕП of a test operator of the service
//! ```
//! Keys (`*.key.pem`) are written 0600. A folder made before the intermediate CAs existed (its
//! root issued the seal directly) is upgraded in place: the CAs are added under the same root,
//! the old seal certificate is retired (its copies keep verifying) and a new seal is issued.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use diia_qr_domain::identifiers::Rnokpp;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::authority::{asn1_unix, Authority, Subject, BACKDATE_SECONDS};
use super::PkiError;
use crate::seal::{OpenSslSeal, SealCertificates, Signer};

/// The development seal's subject; every rotation keeps it.
pub const DEV_SEAL_SUBJECT: Subject<'static> = Subject {
    common_name: "Дія.QR — кваліфікована електронна печатка (розробка)",
    surname: None,
    given_name: None,
    title: None,
    organisation: Some("Дія.QR (середовище розробки)"),
    serial_number: None,
    organization_identifier: Some("NTRUA-43395033"),
};
const DEV_SEAL_DAYS: u32 = 3650;
const ROOT_YEARS: i64 = 20;
const CRL_DAYS: u32 = 30;

/// A test partner's head and the certificate the development PKI gives them.
pub struct TestPartner {
    /// The file stem in `partners/`.
    pub name: &'static str,
    pub organisation: Option<&'static str>,
    pub edrpou: Option<&'static str>,
    pub surname: &'static str,
    pub given_name: &'static str,
    /// First nine digits of the head's РНОКПП (the check digit is computed).
    pub rnokpp_prefix: &'static str,
    pub title: Option<&'static str>,
}

/// The test partners: a legal entity, a sole proprietor, and two heads whose certificates must
/// be refused (revoked; expired).
pub const TEST_PARTNERS: [TestPartner; 4] = [
    TestPartner {
        name: "hotel-palazzo",
        organisation: Some("ТОВ «Готель „Палаццо“»"),
        edrpou: Some("45172831"),
        surname: "Ґарбуз",
        given_name: "Марія Олексіївна",
        rnokpp_prefix: "312450218",
        title: Some("Директор"),
    },
    TestPartner {
        name: "sole-proprietor",
        organisation: None,
        edrpou: None,
        surname: "Олійник-Д'Арко",
        given_name: "Ігор Васильович",
        rnokpp_prefix: "298765432",
        title: None,
    },
    TestPartner {
        name: "revoked",
        organisation: Some("ТОВ «Відкликана печатка»"),
        edrpou: Some("45172831"),
        surname: "Єрмоленко",
        given_name: "Ілля Петрович",
        rnokpp_prefix: "301234567",
        title: Some("Директор"),
    },
    TestPartner {
        name: "expired",
        organisation: Some("ТОВ «Готель „Палаццо“»"),
        edrpou: Some("45172831"),
        surname: "Їжак",
        given_name: "Олена Іванівна",
        rnokpp_prefix: "305551234",
        title: Some("Директор"),
    },
];

/// The test operator: a member of the service's staff, whose КЕП opens the operators' desk when
/// the engine trusts the development PKI.
pub const TEST_OPERATOR: TestPartner = TestPartner {
    name: "operator",
    organisation: Some("Дія.QR (середовище розробки)"),
    edrpou: None,
    surname: "Ковальчук",
    given_name: "Ярина Степанівна",
    rnokpp_prefix: "287654321",
    title: Some("Модератор"),
};

/// The development PKI: a root, the qualified trust service CA (partners' КЕП, the seal), the
/// citizens' CA (Diia.Signature).
pub struct DevPki {
    pub root: Authority,
    pub qualified: Authority,
    pub citizens: Authority,
}

impl DevPki {
    /// The root certificate (the anchor) and its key.
    pub const CA_FILE: &'static str = "diia-qr-dev-ca.pem";
    pub(crate) const CA_KEY_FILE: &'static str = "diia-qr-dev-ca.key.pem";
    pub const QUALIFIED_CA_FILE: &'static str = "qualified-ca.pem";
    const QUALIFIED_CA_KEY_FILE: &'static str = "qualified-ca.key.pem";
    pub const CITIZENS_CA_FILE: &'static str = "citizens-ca.pem";
    const CITIZENS_CA_KEY_FILE: &'static str = "citizens-ca.key.pem";
    pub const QUALIFIED_CRL_FILE: &'static str = "qualified-ca.crl.pem";
    pub const CITIZENS_CRL_FILE: &'static str = "citizens-ca.crl.pem";
    pub(crate) const SEAL_FILE: &'static str = "diia-qr-dev-seal.pem";
    pub(crate) const SEAL_KEY_FILE: &'static str = "diia-qr-dev-seal.key.pem";
    pub(crate) const NEW_SEAL_FILE: &'static str = "diia-qr-dev-seal.pem.new";
    pub(crate) const NEW_SEAL_KEY_FILE: &'static str = "diia-qr-dev-seal.key.pem.new";
    const PARTNERS_DIR: &'static str = "partners";
    const OPERATORS_DIR: &'static str = "operators";

    /// Where rotation `n` (1, 2, …) keeps the certificate it retired.
    pub(crate) fn retired_seal_file(n: u32) -> String {
        format!("diia-qr-dev-seal.{n}.pem")
    }

    /// The certificate and key files of a test partner's head.
    pub fn partner_files(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let partners = dir.join(Self::PARTNERS_DIR);
        (partners.join(format!("{name}.pem")), partners.join(format!("{name}.key.pem")))
    }

    /// The certificate and key files of the test operator.
    pub fn operator_files(dir: &Path) -> (PathBuf, PathBuf) {
        let operators = dir.join(Self::OPERATORS_DIR);
        (operators.join(format!("{}.pem", TEST_OPERATOR.name)), operators.join(format!("{}.key.pem", TEST_OPERATOR.name)))
    }

    /// The test operator's РНОКПП, as their certificate names it.
    pub fn test_operator_rnokpp() -> Result<String, PkiError> {
        Ok(Rnokpp::with_check_digit(TEST_OPERATOR.rnokpp_prefix).map_err(|e| PkiError::Invalid(e.to_string()))?.as_str().to_string())
    }

    /// The chain a certificate of the qualified CA is sent with: the CA, then the root.
    pub fn qualified_chain(&self) -> Vec<X509> {
        vec![self.qualified.certificate.clone(), self.root.certificate.clone()]
    }

    /// The chain a citizen's certificate is sent with: the citizens' CA, then the root.
    pub fn citizens_chain(&self) -> Vec<X509> {
        vec![self.citizens.certificate.clone(), self.root.certificate.clone()]
    }

    /// Loads the PKI from `dir`, making what is missing (all of it on first start), finishing a
    /// seal rotation that was interrupted between its two renames, and re-issuing the CRLs.
    pub fn load_or_create(dir: &Path) -> Result<(Self, OpenSslSeal), PkiError> {
        fs::create_dir_all(dir).map_err(|source| PkiError::File { path: dir.to_path_buf(), source })?;
        let root = Self::load_or_create_root(dir)?;
        let upgrading = !dir.join(Self::QUALIFIED_CA_FILE).exists() && dir.join(Self::SEAL_FILE).exists();
        let qualified = load_or_create_authority(dir, Self::QUALIFIED_CA_FILE, Self::QUALIFIED_CA_KEY_FILE, || {
            root.issue_authority("Тестовий кваліфікований надавач електронних довірчих послуг", "Дія.QR (середовище розробки)")
        })?;
        let citizens = load_or_create_authority(dir, Self::CITIZENS_CA_FILE, Self::CITIZENS_CA_KEY_FILE, || {
            root.issue_authority("Дія.Підпис — тестовий центр сертифікації", "Дія (середовище розробки)")
        })?;
        let pki = Self { root, qualified, citizens };
        if upgrading {
            // The root issued the seal directly: keep that certificate as a retired one.
            let old = X509::from_pem(&read(&dir.join(Self::SEAL_FILE))?)?;
            Self::retire(dir, &old)?;
            fs::remove_file(dir.join(Self::SEAL_FILE)).map_err(|source| PkiError::File { path: dir.join(Self::SEAL_FILE), source })?;
            remove_if_exists(&dir.join(Self::SEAL_KEY_FILE))?;
        }
        if !dir.join(Self::SEAL_FILE).exists() {
            let (key, cert) = pki.qualified.issue_new_key(&DEV_SEAL_SUBJECT, DEV_SEAL_DAYS)?;
            write_private(&dir.join(Self::SEAL_KEY_FILE), &key.private_key_to_pem_pkcs8()?)?;
            write_public(&dir.join(Self::SEAL_FILE), &cert.to_pem()?)?;
        }
        pki.make_test_partners(dir)?;
        pki.write_crls(dir)?;
        Self::finish_interrupted_rotation(dir)?;
        let seal_cert = X509::from_pem(&read(&dir.join(Self::SEAL_FILE))?)?;
        let seal_key = private_key_from_pem_file(&dir.join(Self::SEAL_KEY_FILE))?;
        if !seal_cert.public_key()?.public_eq(&seal_key) {
            return Err(PkiError::Invalid(format!("{}: ключ печатки не відповідає її сертифікату", dir.display())));
        }
        let seal = OpenSslSeal::new(seal_key, seal_cert, pki.chain_of_seal());
        Ok((pki, seal))
    }

    fn chain_of_seal(&self) -> Vec<X509> {
        self.qualified_chain()
    }

    fn load_or_create_root(dir: &Path) -> Result<Authority, PkiError> {
        let ca_path = dir.join(Self::CA_FILE);
        if !ca_path.exists() {
            let now = Utc::now().timestamp();
            let root =
                Authority::root_between("Дія.QR — тестовий кореневий сертифікат", now - BACKDATE_SECONDS, now + ROOT_YEARS * 365 * 86_400)?;
            write_private(&dir.join(Self::CA_KEY_FILE), &root.key.private_key_to_pem_pkcs8()?)?;
            // The certificate last: its presence means the root is complete.
            write_public(&ca_path, &root.certificate.to_pem()?)?;
        }
        Ok(Authority { certificate: X509::from_pem(&read(&ca_path)?)?, key: private_key_from_pem_file(&dir.join(Self::CA_KEY_FILE))? })
    }

    /// The test partners' and the test operator's certificates and keys, each made once (a
    /// folder made before the operator existed gains theirs at the next load).
    fn make_test_partners(&self, dir: &Path) -> Result<(), PkiError> {
        for sub in [Self::PARTNERS_DIR, Self::OPERATORS_DIR] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(|source| PkiError::File { path: path.clone(), source })?;
        }
        let holders =
            TEST_PARTNERS.iter().map(|p| (p, Self::partner_files(dir, p.name))).chain([(&TEST_OPERATOR, Self::operator_files(dir))]);
        for (partner, (cert_path, key_path)) in holders {
            if cert_path.exists() {
                continue;
            }
            let rnokpp = Rnokpp::with_check_digit(partner.rnokpp_prefix).map_err(|e| PkiError::Invalid(e.to_string()))?;
            let serial = format!("TINUA-{}", rnokpp.as_str());
            let identifier = partner.edrpou.map(|code| format!("NTRUA-{code}"));
            let common_name = format!("{} {}", partner.surname, partner.given_name);
            let subject = Subject {
                common_name: &common_name,
                surname: Some(partner.surname),
                given_name: Some(partner.given_name),
                title: partner.title,
                organisation: partner.organisation,
                serial_number: Some(&serial),
                organization_identifier: identifier.as_deref(),
            };
            let key = super::authority::new_p256_key()?;
            let now = Utc::now().timestamp();
            let cert = if partner.name == "expired" {
                self.qualified.issue_between(&key, &subject, now - 400 * 86_400, now - 30 * 86_400)?
            } else {
                self.qualified.issue(&key, &subject, 730)?
            };
            write_private(&key_path, &key.private_key_to_pem_pkcs8()?)?;
            write_public(&cert_path, &cert.to_pem()?)?;
        }
        Ok(())
    }

    /// The test operator: key and certificate.
    pub fn test_operator(dir: &Path) -> Result<(PKey<Private>, X509), PkiError> {
        let (cert, key) = Self::operator_files(dir);
        Ok((private_key_from_pem_file(&key)?, X509::from_pem(&read(&cert)?)?))
    }

    /// A test partner's head: key and certificate.
    pub fn test_partner(dir: &Path, name: &str) -> Result<(PKey<Private>, X509), PkiError> {
        let (cert, key) = Self::partner_files(dir, name);
        Ok((private_key_from_pem_file(&key)?, X509::from_pem(&read(&cert)?)?))
    }

    /// Re-issues both CRLs (they expire after 30 days): the qualified CA's lists the `revoked`
    /// test partner, revoked an hour after its certificate was issued.
    fn write_crls(&self, dir: &Path) -> Result<(), PkiError> {
        let (revoked_path, _) = Self::partner_files(dir, "revoked");
        let revoked = X509::from_pem(&read(&revoked_path)?)?;
        let at = DateTime::from_timestamp(asn1_unix(revoked.not_before())? + 3600, 0).unwrap_or_else(Utc::now);
        let qualified = self.qualified.crl(&[(&revoked, at)], CRL_DAYS)?;
        write_replacing(&dir.join(Self::QUALIFIED_CRL_FILE), &qualified.to_pem()?)?;
        let citizens = self.citizens.crl(&[], CRL_DAYS)?;
        write_replacing(&dir.join(Self::CITIZENS_CRL_FILE), &citizens.to_pem()?)
    }

    /// The seal certificates this folder's development seal has had, current first, then those
    /// rotations retired (oldest first): what verification pins.
    pub fn seal_certificates(dir: &Path) -> Result<SealCertificates, PkiError> {
        let current = X509::from_pem(&read(&dir.join(Self::SEAL_FILE))?)?;
        let mut retired = Vec::new();
        for n in 1.. {
            let path = dir.join(Self::retired_seal_file(n));
            if !path.exists() {
                break;
            }
            retired.push(X509::from_pem(&read(&path)?)?);
        }
        Ok(SealCertificates::new(current, retired))
    }

    /// Issues a new seal key and certificate from the qualified CA and makes them current. The
    /// retired certificate is kept as `diia-qr-dev-seal.<n>.pem` (its signatures still verify
    /// against the same root); the retired private key is destroyed, so it signs nothing more.
    /// The new key and certificate are written beside the current ones and renamed over them, key
    /// first; [`DevPki::load_or_create`] completes a rotation cut between the renames. Not safe
    /// against two rotations at once in the same folder.
    pub fn rotate_seal(dir: &Path) -> Result<OpenSslSeal, PkiError> {
        let (pki, current) = Self::load_or_create(dir)?;
        let (key, cert) = pki.qualified.issue_new_key(&DEV_SEAL_SUBJECT, DEV_SEAL_DAYS)?;
        let (new_key, new_cert) = (dir.join(Self::NEW_SEAL_KEY_FILE), dir.join(Self::NEW_SEAL_FILE));
        remove_if_exists(&new_key)?;
        write_private(&new_key, &key.private_key_to_pem_pkcs8()?)?;
        write_public(&new_cert, &cert.to_pem()?)?;
        Self::retire(dir, current.certificate())?;
        rename(&new_key, &dir.join(Self::SEAL_KEY_FILE))?;
        rename(&new_cert, &dir.join(Self::SEAL_FILE))?;
        Ok(OpenSslSeal::new(key, cert, pki.chain_of_seal()))
    }

    /// Keeps `certificate` under the first free retired name.
    fn retire(dir: &Path, certificate: &X509) -> Result<PathBuf, PkiError> {
        use std::io::Write;
        let pem = certificate.to_pem()?;
        for n in 1.. {
            let path = dir.join(Self::retired_seal_file(n));
            match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(&pem).map_err(|source| PkiError::File { path: path.clone(), source })?;
                    return Ok(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(PkiError::File { path, source }),
            }
        }
        unreachable!("u32 retired names are never all taken")
    }

    /// A rotation cut after the key rename leaves the new certificate beside a key that matches
    /// it: finish it. Cut earlier, the current pair is intact: drop the leftovers.
    fn finish_interrupted_rotation(dir: &Path) -> Result<(), PkiError> {
        let new_cert = dir.join(Self::NEW_SEAL_FILE);
        if new_cert.exists() {
            let key = private_key_from_pem_file(&dir.join(Self::SEAL_KEY_FILE))?;
            let cert = X509::from_pem(&read(&new_cert)?)?;
            if cert.public_key()?.public_eq(&key) {
                rename(&new_cert, &dir.join(Self::SEAL_FILE))?;
            } else {
                remove_if_exists(&new_cert)?;
            }
        }
        remove_if_exists(&dir.join(Self::NEW_SEAL_KEY_FILE))
    }
}

fn load_or_create_authority(
    dir: &Path,
    cert_file: &str,
    key_file: &str,
    create: impl FnOnce() -> Result<Authority, PkiError>,
) -> Result<Authority, PkiError> {
    let cert_path = dir.join(cert_file);
    if !cert_path.exists() {
        let authority = create()?;
        write_private(&dir.join(key_file), &authority.key.private_key_to_pem_pkcs8()?)?;
        write_public(&cert_path, &authority.certificate.to_pem()?)?;
    }
    Ok(Authority { certificate: X509::from_pem(&read(&cert_path)?)?, key: private_key_from_pem_file(&dir.join(key_file))? })
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    fs::read(path).map_err(|source| PkiError::File { path: path.to_path_buf(), source })
}

/// A PEM private key; an encrypted one is refused instead of prompting on the terminal.
pub(crate) fn private_key_from_pem_file(path: &Path) -> Result<PKey<Private>, PkiError> {
    PKey::private_key_from_pem_callback(&read(path)?, |_password| Ok(0)).map_err(|e| {
        PkiError::Invalid(format!("{}: не вдалося прочитати закритий ключ PEM (зашифровані ключі не підтримуються): {e}", path.display()))
    })
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
    file.and_then(|mut f| f.write_all(bytes)).map_err(|source| PkiError::File { path: path.to_path_buf(), source })
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    fs::write(path, bytes).map_err(|source| PkiError::File { path: path.to_path_buf(), source })
}

/// Writes beside `path` and renames over it, so a concurrent reader sees the old or the new file.
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    let temp = path.with_extension(format!("tmp.{}", std::process::id()));
    write_public(&temp, bytes)?;
    rename(&temp, path)
}

fn rename(from: &Path, to: &Path) -> Result<(), PkiError> {
    fs::rename(from, to).map_err(|source| PkiError::File { path: from.to_path_buf(), source })
}

fn remove_if_exists(path: &Path) -> Result<(), PkiError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PkiError::File { path: path.to_path_buf(), source: e }),
        _ => Ok(()),
    }
}

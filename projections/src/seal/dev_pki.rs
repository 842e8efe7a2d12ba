//! The development PKI made at first start: a CA and the seal certificate it issued, as PEM files
//! in the data folder; rotation of the development seal. Nothing here is for production.

use super::*;

/// The development PKI: a CA, and certificates it issues for the seal and for citizens'
/// development Diia.Signature keys. Nothing here is for production: real keys come from
/// configuration ([`SealKeySource`]).
pub struct DevPki {
    pub ca_key: PKey<Private>,
    pub ca_cert: X509,
}

pub(super) fn new_p256_key() -> Result<PKey<Private>, SealError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

pub(super) fn random_serial() -> Result<Asn1Integer, SealError> {
    let mut bn = BigNum::new()?;
    bn.rand(127, openssl::bn::MsbOption::MAYBE_ZERO, false)?;
    Ok(bn.to_asn1_integer()?)
}

/// A v3 certificate with a random serial, its names, key and validity (Unix seconds) set;
/// extensions are the caller's.
pub(super) fn certificate_builder(
    subject: &X509NameRef,
    issuer: &X509NameRef,
    key: &PKey<Private>,
    not_before: i64,
    not_after: i64,
) -> Result<X509Builder, SealError> {
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = random_serial()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(subject)?;
    b.set_issuer_name(issuer)?;
    b.set_pubkey(key)?;
    let (not_before, not_after) = (Asn1Time::from_unix(not_before)?, Asn1Time::from_unix(not_after)?);
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    Ok(b)
}

pub(super) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SealError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
    file.and_then(|mut f| f.write_all(bytes)).map_err(|source| SealError::File { path: path.to_path_buf(), source })
}

pub(super) fn write_public(path: &Path, bytes: &[u8]) -> Result<(), SealError> {
    fs::write(path, bytes).map_err(|source| SealError::File { path: path.to_path_buf(), source })
}

fn rename(from: &Path, to: &Path) -> Result<(), SealError> {
    fs::rename(from, to).map_err(|source| SealError::File { path: from.to_path_buf(), source })
}

fn remove_if_exists(path: &Path) -> Result<(), SealError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(SealError::File { path: path.to_path_buf(), source: e }),
        _ => Ok(()),
    }
}

/// Subject fields of an issued certificate.
pub struct Subject<'a> {
    pub common_name: &'a str,
    pub organisation: Option<&'a str>,
    /// ETSI EN 319 412-1 semantics: `TINUA-<РНОКПП>` for people; put in serialNumber.
    pub serial_number: Option<&'a str>,
    /// `NTRUA-<ЄДРПОУ>` for legal persons and seals.
    pub organization_identifier: Option<&'a str>,
}

/// The development seal's subject; every rotation keeps it.
pub(super) const DEV_SEAL_SUBJECT: Subject<'static> = Subject {
    common_name: "Дія.QR — кваліфікована електронна печатка (розробка)",
    organisation: Some("Дія.QR (середовище розробки)"),
    serial_number: None,
    organization_identifier: Some("NTRUA-43395033"),
};
const DEV_SEAL_DAYS: u32 = 3650;
/// Certificates start a day back, so a clock slightly behind the CA's still accepts fresh ones.
const BACKDATE_SECONDS: i64 = 86_400;

impl DevPki {
    pub const CA_FILE: &'static str = "diia-qr-dev-ca.pem";
    pub(super) const CA_KEY_FILE: &'static str = "diia-qr-dev-ca.key.pem";
    pub(super) const SEAL_FILE: &'static str = "diia-qr-dev-seal.pem";
    pub(super) const SEAL_KEY_FILE: &'static str = "diia-qr-dev-seal.key.pem";
    pub(super) const NEW_SEAL_FILE: &'static str = "diia-qr-dev-seal.pem.new";
    pub(super) const NEW_SEAL_KEY_FILE: &'static str = "diia-qr-dev-seal.key.pem.new";

    /// Where rotation `n` (1, 2, …) keeps the certificate it retired.
    pub(super) fn retired_seal_file(n: u32) -> String {
        format!("diia-qr-dev-seal.{n}.pem")
    }

    /// Loads the development CA and seal from `dir`, creating them on first start, and finishing
    /// a rotation that was interrupted between its two renames.
    pub fn load_or_create(dir: &Path) -> Result<(Self, OpenSslSeal), SealError> {
        fs::create_dir_all(dir).map_err(|source| SealError::File { path: dir.to_path_buf(), source })?;
        let ca_path = dir.join(Self::CA_FILE);
        if !ca_path.exists() {
            let pki = Self::create_ca()?;
            let (seal_key, seal_cert) = pki.issue_new_key(&DEV_SEAL_SUBJECT, DEV_SEAL_DAYS)?;
            write_private(&dir.join(Self::SEAL_KEY_FILE), &seal_key.private_key_to_pem_pkcs8()?)?;
            write_public(&dir.join(Self::SEAL_FILE), &seal_cert.to_pem()?)?;
            write_private(&dir.join(Self::CA_KEY_FILE), &pki.ca_key.private_key_to_pem_pkcs8()?)?;
            // The CA file last: its presence means the set is complete.
            write_public(&ca_path, &pki.ca_cert.to_pem()?)?;
        }
        Self::finish_interrupted_rotation(dir)?;
        let ca_cert = X509::from_pem(&read(&ca_path)?)?;
        let ca_key = private_key_from_pem_file(&dir.join(Self::CA_KEY_FILE))?;
        let seal_cert = X509::from_pem(&read(&dir.join(Self::SEAL_FILE))?)?;
        let seal_key = private_key_from_pem_file(&dir.join(Self::SEAL_KEY_FILE))?;
        if !seal_cert.public_key()?.public_eq(&seal_key) {
            return Err(SealError::Invalid(format!("{}: ключ печатки не відповідає її сертифікату", dir.display())));
        }
        let seal = OpenSslSeal::new(seal_key, seal_cert, vec![ca_cert.clone()]);
        Ok((Self { ca_key, ca_cert }, seal))
    }

    /// Issues a new seal key and certificate from the same CA and makes them current. The retired
    /// certificate is kept as `diia-qr-dev-seal.<n>.pem` (its signatures still verify against
    /// the same anchor, the dev CA); the retired private key is destroyed, so it signs nothing
    /// more. The new key and certificate are written beside the current ones and renamed over
    /// them, key first; [`DevPki::load_or_create`] completes a rotation cut between the renames.
    /// Not safe against two rotations at once in the same folder.
    pub fn rotate_seal(dir: &Path) -> Result<OpenSslSeal, SealError> {
        let (pki, current) = Self::load_or_create(dir)?;
        let (key, cert) = pki.issue_new_key(&DEV_SEAL_SUBJECT, DEV_SEAL_DAYS)?;
        let (new_key, new_cert) = (dir.join(Self::NEW_SEAL_KEY_FILE), dir.join(Self::NEW_SEAL_FILE));
        remove_if_exists(&new_key)?;
        write_private(&new_key, &key.private_key_to_pem_pkcs8()?)?;
        write_public(&new_cert, &cert.to_pem()?)?;
        Self::retire(dir, current.certificate())?;
        rename(&new_key, &dir.join(Self::SEAL_KEY_FILE))?;
        rename(&new_cert, &dir.join(Self::SEAL_FILE))?;
        Ok(OpenSslSeal::new(key, cert, vec![pki.ca_cert]))
    }

    /// The seal certificates this folder's development seal has had, current first, then those
    /// rotations retired (oldest first): what verification pins.
    pub fn seal_certificates(dir: &Path) -> Result<SealCertificates, SealError> {
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

    /// Keeps `certificate` under the first free retired name.
    fn retire(dir: &Path, certificate: &X509) -> Result<PathBuf, SealError> {
        use std::io::Write;
        let pem = certificate.to_pem()?;
        for n in 1.. {
            let path = dir.join(Self::retired_seal_file(n));
            match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(&pem).map_err(|source| SealError::File { path: path.clone(), source })?;
                    return Ok(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(source) => return Err(SealError::File { path, source }),
            }
        }
        unreachable!("u32 retired names are never all taken")
    }

    /// A rotation cut after the key rename leaves the new certificate beside a key that matches
    /// it: finish it. Cut earlier, the current pair is intact: drop the leftovers.
    fn finish_interrupted_rotation(dir: &Path) -> Result<(), SealError> {
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

    fn create_ca() -> Result<Self, SealError> {
        let now = Utc::now().timestamp();
        Self::create_ca_between(now - BACKDATE_SECONDS, now + 2 * 3650 * 86_400)
    }

    /// A CA valid from `not_before` to `not_after` (Unix seconds).
    pub(super) fn create_ca_between(not_before: i64, not_after: i64) -> Result<Self, SealError> {
        let key = new_p256_key()?;
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_text("C", "UA")?;
        name.append_entry_by_text("O", "Дія.QR (середовище розробки)")?;
        name.append_entry_by_text("CN", "Дія.QR — тестовий кореневий сертифікат")?;
        let name = name.build();
        let mut b = certificate_builder(&name, &name, &key, not_before, not_after)?;
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build()?)?;
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
        b.append_extension(ski)?;
        b.sign(&key, MessageDigest::sha256())?;
        Ok(Self { ca_key: key, ca_cert: b.build() })
    }

    /// Issues an end-entity signing certificate for `key`, valid for `days` (from a day back).
    pub fn issue(&self, key: &PKey<Private>, subject: &Subject<'_>, days: u32) -> Result<X509, SealError> {
        let now = Utc::now().timestamp();
        self.issue_between(key, subject, now - BACKDATE_SECONDS, now + i64::from(days) * 86_400)
    }

    /// Issues an end-entity signing certificate valid from `not_before` to `not_after`.
    pub(super) fn issue_between(
        &self,
        key: &PKey<Private>,
        subject: &Subject<'_>,
        not_before: i64,
        not_after: i64,
    ) -> Result<X509, SealError> {
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_text("C", "UA")?;
        if let Some(o) = subject.organisation {
            name.append_entry_by_text("O", o)?;
        }
        if let Some(oi) = subject.organization_identifier {
            name.append_entry_by_text("organizationIdentifier", oi)?;
        }
        name.append_entry_by_text("CN", subject.common_name)?;
        if let Some(sn) = subject.serial_number {
            name.append_entry_by_text("serialNumber", sn)?;
        }
        let name = name.build();
        let mut b = certificate_builder(&name, self.ca_cert.subject_name(), key, not_before, not_after)?;
        b.append_extension(BasicConstraints::new().build()?)?;
        b.append_extension(KeyUsage::new().critical().digital_signature().non_repudiation().build()?)?;
        // emailProtection keeps `openssl cms -verify` content with its default S/MIME purpose.
        b.append_extension(ExtendedKeyUsage::new().email_protection().build()?)?;
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(Some(&self.ca_cert), None))?;
        b.append_extension(ski)?;
        let aki = AuthorityKeyIdentifier::new().keyid(true).build(&b.x509v3_context(Some(&self.ca_cert), None))?;
        b.append_extension(aki)?;
        b.sign(&self.ca_key, MessageDigest::sha256())?;
        Ok(b.build())
    }

    /// A fresh P-256 key with a certificate from this CA.
    pub fn issue_new_key(&self, subject: &Subject<'_>, days: u32) -> Result<(PKey<Private>, X509), SealError> {
        let key = new_p256_key()?;
        let cert = self.issue(&key, subject, days)?;
        Ok((key, cert))
    }
}

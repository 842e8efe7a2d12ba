//! The service's qualified seal: detached CMS signatures over copies, behind the `Seal` trait so
//! that a DSTU 4145 signer can stand beside the OpenSSL one. Also the development PKI made at first
//! start: a CA and a seal certificate it issued, kept as PEM files in the data folder.

use std::fs;
use std::path::{Path, PathBuf};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::extension::{AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509Builder, X509NameBuilder, X509NameRef, X509};

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("OpenSSL: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
}

/// Makes detached signatures over documents.
pub trait Seal: Send + Sync {
    /// A detached CMS SignedData (DER) over `content`, carrying the signer's chain.
    fn sign_detached(&self, content: &[u8]) -> Result<Vec<u8>, SealError>;
    /// The certificates that verify this seal's signatures, as PEM: the trust anchors to publish.
    fn trust_anchors_pem(&self) -> Result<String, SealError>;
}

/// A key and its certificate, with the chain up to (and including) the CA.
pub struct OpenSslSeal {
    key: PKey<Private>,
    certificate: X509,
    chain: Vec<X509>,
}

/// CMS_CADES (0x100000): OpenSSL adds ESS signing-certificate-v2, making the signature CAdES-BES.
/// The openssl crate has no named flag for it.
const CMS_CADES: u32 = 0x100000;

impl OpenSslSeal {
    pub fn new(key: PKey<Private>, certificate: X509, chain: Vec<X509>) -> Self {
        Self { key, certificate, chain }
    }

    pub fn certificate(&self) -> &X509 {
        &self.certificate
    }
}

impl Seal for OpenSslSeal {
    fn sign_detached(&self, content: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut certs = Stack::new()?;
        for c in &self.chain {
            certs.push(c.clone())?;
        }
        let flags = CMSOptions::DETACHED | CMSOptions::BINARY | CMSOptions::NOSMIMECAP | CMSOptions::from_bits_retain(CMS_CADES);
        let cms = CmsContentInfo::sign(Some(&self.certificate), Some(&self.key), Some(&certs), Some(content), flags)?;
        Ok(cms.to_der()?)
    }

    fn trust_anchors_pem(&self) -> Result<String, SealError> {
        let mut pem = String::new();
        for c in &self.chain {
            pem.push_str(&String::from_utf8_lossy(&c.to_pem()?));
        }
        Ok(pem)
    }
}

/// The development PKI: a CA, and certificates it issues for the seal and for citizens'
/// development Diia.Signature keys. Nothing here is for production: real keys come from
/// configuration.
pub struct DevPki {
    pub ca_key: PKey<Private>,
    pub ca_cert: X509,
}

fn new_p256_key() -> Result<PKey<Private>, SealError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

fn random_serial() -> Result<Asn1Integer, SealError> {
    let mut bn = BigNum::new()?;
    bn.rand(127, openssl::bn::MsbOption::MAYBE_ZERO, false)?;
    Ok(bn.to_asn1_integer()?)
}

/// A v3 certificate with a random serial, its names and its key set; extensions and validity are
/// the caller's.
fn certificate_builder(subject: &X509NameRef, issuer: &X509NameRef, key: &PKey<Private>) -> Result<X509Builder, SealError> {
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = random_serial()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(subject)?;
    b.set_issuer_name(issuer)?;
    b.set_pubkey(key)?;
    Ok(b)
}

fn read(path: &Path) -> Result<Vec<u8>, SealError> {
    fs::read(path).map_err(|source| SealError::File { path: path.to_path_buf(), source })
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SealError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
    file.and_then(|mut f| f.write_all(bytes)).map_err(|source| SealError::File { path: path.to_path_buf(), source })
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<(), SealError> {
    fs::write(path, bytes).map_err(|source| SealError::File { path: path.to_path_buf(), source })
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

impl DevPki {
    pub const CA_FILE: &'static str = "diia-qr-dev-ca.pem";
    const CA_KEY_FILE: &'static str = "diia-qr-dev-ca.key.pem";
    const SEAL_FILE: &'static str = "diia-qr-dev-seal.pem";
    const SEAL_KEY_FILE: &'static str = "diia-qr-dev-seal.key.pem";

    /// Loads the development CA and seal from `dir`, creating them on first start.
    pub fn load_or_create(dir: &Path) -> Result<(Self, OpenSslSeal), SealError> {
        fs::create_dir_all(dir).map_err(|source| SealError::File { path: dir.to_path_buf(), source })?;
        let ca_path = dir.join(Self::CA_FILE);
        if !ca_path.exists() {
            let pki = Self::create_ca()?;
            let seal_key = new_p256_key()?;
            let seal_cert = pki.issue(
                &seal_key,
                &Subject {
                    common_name: "Дія.QR — кваліфікована електронна печатка (розробка)",
                    organisation: Some("Дія.QR (середовище розробки)"),
                    serial_number: None,
                    organization_identifier: Some("NTRUA-43395033"),
                },
                3650,
            )?;
            write_private(&dir.join(Self::SEAL_KEY_FILE), &seal_key.private_key_to_pem_pkcs8()?)?;
            write_public(&dir.join(Self::SEAL_FILE), &seal_cert.to_pem()?)?;
            write_private(&dir.join(Self::CA_KEY_FILE), &pki.ca_key.private_key_to_pem_pkcs8()?)?;
            // The CA file last: its presence means the set is complete.
            write_public(&ca_path, &pki.ca_cert.to_pem()?)?;
        }
        let ca_cert = X509::from_pem(&read(&ca_path)?)?;
        let ca_key = PKey::private_key_from_pem(&read(&dir.join(Self::CA_KEY_FILE))?)?;
        let seal_cert = X509::from_pem(&read(&dir.join(Self::SEAL_FILE))?)?;
        let seal_key = PKey::private_key_from_pem(&read(&dir.join(Self::SEAL_KEY_FILE))?)?;
        let seal = OpenSslSeal::new(seal_key, seal_cert, vec![ca_cert.clone()]);
        Ok((Self { ca_key, ca_cert }, seal))
    }

    fn create_ca() -> Result<Self, SealError> {
        let key = new_p256_key()?;
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_text("C", "UA")?;
        name.append_entry_by_text("O", "Дія.QR (середовище розробки)")?;
        name.append_entry_by_text("CN", "Дія.QR — тестовий кореневий сертифікат")?;
        let name = name.build();
        let mut b = certificate_builder(&name, &name, &key)?;
        let (not_before, not_after) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(3650 * 2)?);
        b.set_not_before(&not_before)?;
        b.set_not_after(&not_after)?;
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build()?)?;
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
        b.append_extension(ski)?;
        b.sign(&key, MessageDigest::sha256())?;
        Ok(Self { ca_key: key, ca_cert: b.build() })
    }

    /// Issues an end-entity signing certificate for `key`.
    pub fn issue(&self, key: &PKey<Private>, subject: &Subject<'_>, days: u32) -> Result<X509, SealError> {
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
        let mut b = certificate_builder(&name, self.ca_cert.subject_name(), key)?;
        // A day back, so a clock slightly behind the CA's still accepts fresh certificates.
        let (not_before, not_after) = (Asn1Time::from_unix(chrono::Utc::now().timestamp() - 86_400)?, Asn1Time::days_from_now(days)?);
        b.set_not_before(&not_before)?;
        b.set_not_after(&not_after)?;
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

/// Verifies a detached CMS signature against trust anchors; returns the signer certificates.
pub fn verify_detached(signature_der: &[u8], content: &[u8], anchors: &[X509]) -> Result<(), SealError> {
    let mut store = openssl::x509::store::X509StoreBuilder::new()?;
    for a in anchors {
        store.add_cert(a.clone())?;
    }
    let store = store.build();
    let mut cms = CmsContentInfo::from_der(signature_der)?;
    let mut out = Vec::new();
    cms.verify(None, Some(&store), Some(content), Some(&mut out), CMSOptions::BINARY)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_pki_is_made_once_and_its_seal_verifies() {
        let dir = std::env::temp_dir().join(format!("diia-qr-seal-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (pki, seal) = DevPki::load_or_create(&dir).unwrap();
        let (_, again) = DevPki::load_or_create(&dir).unwrap();
        assert_eq!(seal.certificate().to_der().unwrap(), again.certificate().to_der().unwrap());
        let sig = seal.sign_detached(b"copy").unwrap();
        verify_detached(&sig, b"copy", std::slice::from_ref(&pki.ca_cert)).unwrap();
        assert!(verify_detached(&sig, b"altered", std::slice::from_ref(&pki.ca_cert)).is_err());
        let mode = std::os::unix::fs::PermissionsExt::mode(&fs::metadata(dir.join(DevPki::SEAL_KEY_FILE)).unwrap().permissions());
        assert_eq!(mode & 0o077, 0, "private keys are readable by their owner only");
        fs::remove_dir_all(&dir).unwrap();
    }
}

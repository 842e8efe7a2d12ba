//! The service's qualified seal: detached CMS signatures over copies, behind the `Seal` trait so
//! that a DSTU 4145 signer can stand beside the OpenSSL one. Also the development PKI made at first
//! start (a CA and a seal certificate it issued, kept as PEM files in the data folder), loading real
//! keys from configuration (PEM or PKCS#12), rotation of the development seal, and verification.
//!
//! Signatures are CAdES-BES: SHA-256, signed attributes contentType, signingTime (the time printed
//! on the copy, chosen by the caller), messageDigest and ESS signing-certificate-v2, with the
//! signer's certificate and chain embedded. OpenSSL's safe API only signs with the current clock,
//! so signing goes through a few libcrypto calls kept in the private `ffi` module below; every
//! `unsafe` of this file is there.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::extension::{AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509Builder, X509KeyUsage, X509NameBuilder, X509NameRef, X509PurposeId, X509Ref, X509VerifyResult, X509};

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("OpenSSL: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    /// Key material or input that cannot be used: a key that does not match its certificate, no
    /// chain to publish as trust anchors, a seal that fails its self-test, a signing time outside
    /// the certificate's validity.
    #[error("{0}")]
    Invalid(String),
}

/// Makes detached signatures over documents.
pub trait Seal: Send + Sync {
    /// A detached CMS SignedData (DER) over `content`, CAdES-BES, carrying the signer's chain.
    /// Its signingTime attribute is `signing_time` truncated to whole seconds: the time printed on
    /// the copy. It is the signer's claim (no time-stamp token), so a signing time outside the
    /// seal certificate's validity is refused rather than signed.
    fn sign_detached(&self, content: &[u8], signing_time: DateTime<Utc>) -> Result<Vec<u8>, SealError>;
    /// The certificates that verify this seal's signatures, as PEM: the trust anchors to publish.
    fn trust_anchors_pem(&self) -> Result<String, SealError>;
}

/// A key and its certificate, with the chain above it (intermediates and, usually, the root).
pub struct OpenSslSeal {
    key: PKey<Private>,
    certificate: X509,
    chain: Vec<X509>,
}

/// CMS_CADES (0x100000): when signing, OpenSSL adds ESS signing-certificate-v2 (CAdES-BES); when
/// verifying, it checks that attribute against the signer's certificate. The openssl crate has no
/// named flag for it.
const CMS_CADES: u32 = 0x100000;

impl OpenSslSeal {
    /// `chain` is the certificates above `certificate`; a copy of `certificate` in it and
    /// duplicates are dropped.
    pub fn new(key: PKey<Private>, certificate: X509, chain: Vec<X509>) -> Self {
        let mut unique: Vec<X509> = Vec::with_capacity(chain.len());
        for c in chain {
            if c != certificate && !unique.contains(&c) {
                unique.push(c);
            }
        }
        Self { key, certificate, chain: unique }
    }

    pub fn certificate(&self) -> &X509 {
        &self.certificate
    }

    /// The trust anchors for this seal's chain: see [`default_trust_anchors`].
    fn trust_anchors(&self) -> Vec<X509> {
        default_trust_anchors(&self.certificate, &self.chain)
    }
}

impl Seal for OpenSslSeal {
    fn sign_detached(&self, content: &[u8], signing_time: DateTime<Utc>) -> Result<Vec<u8>, SealError> {
        let time = Asn1Time::from_unix(signing_time.timestamp())?;
        let (not_before, not_after) = (self.certificate.not_before(), self.certificate.not_after());
        if not_before > time || not_after < time {
            return Err(SealError::Invalid(format!(
                "час підпису {} поза строком дії сертифіката печатки ({not_before} — {not_after})",
                signing_time.format("%Y-%m-%dT%H:%M:%SZ")
            )));
        }
        let mut certs = Stack::new()?;
        for c in &self.chain {
            certs.push(c.clone())?;
        }
        let cms = ffi::sign_detached_at(&self.certificate, &self.key, &certs, content, &time)?;
        Ok(cms.to_der()?)
    }

    fn trust_anchors_pem(&self) -> Result<String, SealError> {
        let mut pem = String::new();
        for c in self.trust_anchors() {
            pem.push_str(&String::from_utf8_lossy(&c.to_pem()?));
        }
        Ok(pem)
    }
}

/// Where the seal's key and certificates come from (configuration).
#[derive(Clone)]
pub enum SealKeySource {
    /// The development PKI in `dir`, made at first start ([`DevPki::load_or_create`]).
    Development { dir: PathBuf },
    /// An unencrypted PKCS#8 or traditional PEM key; `certificate` holds the seal certificate
    /// first, optionally followed by its chain; `chain` holds more chain certificates.
    Pem { key: PathBuf, certificate: PathBuf, chain: Option<PathBuf> },
    /// A PKCS#12 file with the key, the seal certificate and its chain (the OpenSSL 3 default
    /// algorithms; files protected with RC2-40 need the legacy provider and are refused).
    Pkcs12 { path: PathBuf, password: String },
}

impl fmt::Debug for SealKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Development { dir } => f.debug_struct("Development").field("dir", dir).finish(),
            Self::Pem { key, certificate, chain } => {
                f.debug_struct("Pem").field("key", key).field("certificate", certificate).field("chain", chain).finish()
            }
            Self::Pkcs12 { path, .. } => f.debug_struct("Pkcs12").field("path", path).field("password", &"<приховано>").finish(),
        }
    }
}

/// A seal ready to sign, and the anchors that verify its signatures.
pub struct LoadedSeal {
    pub seal: OpenSslSeal,
    pub trust_anchors: Vec<X509>,
}

/// Loads the seal from its configured source and checks it: the key matches the certificate,
/// there are trust anchors, and a signature made now verifies against them (so an expired
/// certificate, a wrong chain or a certificate without a signing key usage stops the start).
///
/// Trust anchors: for `Development` the dev CA. For `Pem` and `Pkcs12`, the last self-signed
/// certificate of the chain (a chain is conventionally ordered towards its root, and the root is
/// what relying parties pin); when no chain certificate is self-signed (the chain stops at an
/// intermediate because the root is distributed otherwise), every chain certificate is an anchor,
/// and verification accepts a chain that ends at any of them; with no chain at all, a
/// self-signed seal certificate is its own anchor, and anything else is refused.
pub fn load_seal(source: &SealKeySource) -> Result<LoadedSeal, SealError> {
    let (seal, trust_anchors) = match source {
        SealKeySource::Development { dir } => {
            let (pki, seal) = DevPki::load_or_create(dir)?;
            (seal, vec![pki.ca_cert])
        }
        SealKeySource::Pem { key, certificate, chain } => {
            let key = private_key_from_pem_file(key)?;
            let mut certs = X509::stack_from_pem(&read(certificate)?)?.into_iter();
            let leaf = certs.next().ok_or_else(|| SealError::Invalid(format!("{}: немає сертифіката", certificate.display())))?;
            let mut rest: Vec<X509> = certs.collect();
            if let Some(chain) = chain {
                rest.extend(X509::stack_from_pem(&read(chain)?)?);
            }
            let seal = OpenSslSeal::new(key, leaf, rest);
            let anchors = seal.trust_anchors();
            (seal, anchors)
        }
        SealKeySource::Pkcs12 { path, password } => {
            let parsed = Pkcs12::from_der(&read(path)?).and_then(|p| p.parse2(password)).map_err(|e| {
                SealError::Invalid(format!(
                    "{}: не вдалося відкрити PKCS#12 (неправильний пароль або застарілі алгоритми шифрування): {e}",
                    path.display()
                ))
            })?;
            let missing = |what: &str| SealError::Invalid(format!("{}: у PKCS#12 немає {what}", path.display()));
            let key = parsed.pkey.ok_or_else(|| missing("закритого ключа"))?;
            let leaf = parsed.cert.ok_or_else(|| missing("сертифіката печатки"))?;
            let chain: Vec<X509> = parsed.ca.map(|s| s.into_iter().collect()).unwrap_or_default();
            let seal = OpenSslSeal::new(key, leaf, chain);
            let anchors = seal.trust_anchors();
            (seal, anchors)
        }
    };
    if !seal.certificate.public_key()?.public_eq(&seal.key) {
        return Err(SealError::Invalid("закритий ключ не відповідає сертифікату печатки".into()));
    }
    if trust_anchors.is_empty() {
        return Err(SealError::Invalid(
            "немає ланцюжка сертифікатів: додайте сертифікат кореневого (або проміжного) центру, якому довіряють".into(),
        ));
    }
    let probe = b"Diia.QR seal self-test";
    let signature = seal.sign_detached(probe, Utc::now())?;
    verify_detached(&signature, probe, &trust_anchors)
        .map_err(|e| SealError::Invalid(format!("печатка не проходить самоперевірку: {e}")))?;
    Ok(LoadedSeal { seal, trust_anchors })
}

/// The anchors rule of [`load_seal`]: the last self-signed chain certificate; else every chain
/// certificate; else the seal certificate itself if it is self-signed; else none.
fn default_trust_anchors(certificate: &X509, chain: &[X509]) -> Vec<X509> {
    if let Some(root) = chain.iter().rev().find(|c| is_self_signed(c)) {
        return vec![root.clone()];
    }
    if !chain.is_empty() {
        return chain.to_vec();
    }
    if is_self_signed(certificate) {
        return vec![certificate.clone()];
    }
    Vec::new()
}

fn is_self_signed(cert: &X509Ref) -> bool {
    cert.issued(cert) == X509VerifyResult::OK && cert.public_key().and_then(|k| cert.verify(&k)).unwrap_or(false)
}

/// A signature that verified: the document is intact and the signer chains to an anchor.
#[derive(Debug, Clone)]
pub struct VerifiedSignature {
    /// The signed signingTime attribute, if any: the signer's claim, not a time-stamp.
    pub signing_time: Option<DateTime<Utc>>,
    /// The signer's subject on one line, most specific first (RFC 4514 order), UTF-8:
    /// `CN=…, organizationIdentifier=…, O=…, C=UA`.
    pub signer_subject: String,
    pub signer_certificate: X509,
}

/// Why a signature does not verify; the messages are for people.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Not a CMS SignedData in DER, or one this service does not make (several signers, a
    /// malformed signingTime).
    #[error("це не підпис CMS, який можна перевірити: {0}")]
    Malformed(String),
    /// The signature is intact but the document's digest differs: the document was altered.
    #[error("підпис не відповідає документу: документ змінено після підписання")]
    ContentMismatch,
    /// The signer's certificate does not lead to a trust anchor, was not valid at the signing
    /// time, is not for signing, or is missing.
    #[error("підписувачу не можна довіряти: {0}")]
    UntrustedSigner(String),
    /// Anything else, notably a signature value that does not match its signed attributes.
    #[error("підпис не перевірено: {0}")]
    Other(String),
}

/// Verifies a detached CAdES-BES signature (as [`Seal::sign_detached`] makes) over `content`.
///
/// In order, so that each failure has one meaning: the signature over the signed attributes
/// (else `Other`, or `UntrustedSigner` when the signer's certificate is missing); the document's
/// digest (else `ContentMismatch`); then the chain to `anchors` at the signing time (at the
/// current time when the signature has none), with purpose "any", any anchor accepted as the end
/// of the chain, and the ESS signing-certificate-v2 attribute checked against the signer's
/// certificate (else `UntrustedSigner`); finally the signer's key usage must allow
/// digitalSignature or nonRepudiation. A copy sealed while the seal certificate was valid keeps
/// verifying after that certificate expires. Revocation is not checked (no CRLs here).
pub fn verify_detached(signature_der: &[u8], content: &[u8], anchors: &[X509]) -> Result<VerifiedSignature, VerifyError> {
    let mut cms = CmsContentInfo::from_der(signature_der).map_err(|e| VerifyError::Malformed(format!("не DER CMS ({e})")))?;
    match ffi::signer_count(&cms) {
        None => return Err(VerifyError::Malformed("це не SignedData".into())),
        Some(1) => {}
        Some(n) => return Err(VerifyError::Malformed(format!("очікувався один підписувач, а їх {n}"))),
    }
    let signing_time = match ffi::signing_time(&cms).map_err(VerifyError::Malformed)? {
        None => None,
        Some(seconds) => Some(
            DateTime::from_timestamp(seconds, 0).ok_or_else(|| VerifyError::Malformed(format!("час підпису поза межами: {seconds}")))?,
        ),
    };

    let no_chain = CMSOptions::BINARY | CMSOptions::NO_SIGNER_CERT_VERIFY;
    if let Err(e) = cms.verify(None, None, Some(content), None, no_chain | CMSOptions::NO_CONTENT_VERIFY) {
        if ffi::signer_certificate(&cms).is_none() {
            return Err(VerifyError::UntrustedSigner("у підписі немає сертифіката підписувача".into()));
        }
        return Err(VerifyError::Other(format!("значення підпису не відповідає підписаним атрибутам: підпис пошкоджено ({e})")));
    }
    if cms.verify(None, None, Some(content), None, no_chain).is_err() {
        return Err(VerifyError::ContentMismatch);
    }
    let at = signing_time.map_or_else(|| Utc::now().timestamp(), |t| t.timestamp());
    let store = trust_store(anchors, at).map_err(|e| VerifyError::Other(format!("сховище довірених сертифікатів: {e}")))?;
    // CAdES: the signed ESS signing-certificate(-v2) attribute must name the signer's
    // certificate. A plain CMS signature (no such attribute, as Diia.Signature statements are
    // made here) is verified without it: the attribute cannot have been stripped, it is signed.
    let ess = [Nid::ID_SMIME_AA_SIGNINGCERTIFICATE, signing_certificate_v2()];
    let mut full = CMSOptions::BINARY;
    if ess.iter().any(|nid| ffi::has_signed_attribute(&cms, nid.as_raw())) {
        full |= CMSOptions::from_bits_retain(CMS_CADES);
    }
    if let Err(e) = cms.verify(None, Some(&store), Some(content), None, full) {
        return Err(VerifyError::UntrustedSigner(match chain_error(&e) {
            Some(reason) => format!("сертифікат підписувача не веде до довіреного кореня або був недійсний на час підписання ({reason})"),
            None => format!("сертифікат підписувача не відповідає підписаному атрибуту signingCertificateV2 ({e})"),
        }));
    }
    let signer_certificate =
        ffi::signer_certificate(&cms).ok_or_else(|| VerifyError::Other("не знайдено сертифікат підписувача".into()))?;
    if let Some(usage) = signer_certificate.key_usage() {
        if !usage.intersects(X509KeyUsage::DIGITAL_SIGNATURE | X509KeyUsage::NON_REPUDIATION) {
            return Err(VerifyError::UntrustedSigner(
                "сертифікат підписувача не призначений для підпису (keyUsage без digitalSignature і nonRepudiation)".into(),
            ));
        }
    }
    Ok(VerifiedSignature { signing_time, signer_subject: one_line_subject(signer_certificate.subject_name()), signer_certificate })
}

/// Only `anchors` are trusted; each may end a chain (PARTIAL_CHAIN); the purpose is "any" (key
/// usage is checked by the caller) and validity is judged at `at` (Unix seconds).
fn trust_store(anchors: &[X509], at: i64) -> Result<X509Store, openssl::error::ErrorStack> {
    let mut store = X509StoreBuilder::new()?;
    for a in anchors {
        store.add_cert(a.clone())?;
    }
    let mut param = X509VerifyParam::new()?;
    param.set_purpose(X509PurposeId::ANY)?;
    param.set_flags(X509VerifyFlags::PARTIAL_CHAIN)?;
    param.set_time(at);
    store.set_param(&param)?;
    Ok(store.build())
}

/// OpenSSL's own words for a failed chain ("Verify error: certificate has expired"), if that is
/// what failed.
fn chain_error(e: &openssl::error::ErrorStack) -> Option<String> {
    e.errors().iter().find_map(|err| err.data().filter(|d| d.starts_with("Verify error")).map(str::to_owned))
}

/// id-smime-aa-signingCertificateV2 (RFC 5035), which the openssl crate does not name.
fn signing_certificate_v2() -> Nid {
    openssl::asn1::Asn1Object::from_str("1.2.840.113549.1.9.16.2.47").map_or(Nid::UNDEF, |o| o.nid())
}

/// A name on one line, most specific first (RFC 4514 order), values UTF-8 and escaped as RFC 4514
/// asks. Multi-valued RDNs come out as separate components.
fn one_line_subject(name: &X509NameRef) -> String {
    let mut parts: Vec<String> = name
        .entries()
        .map(|entry| {
            let nid = entry.object().nid();
            let key = match nid.short_name() {
                Ok(short) if nid != Nid::UNDEF => short.to_owned(),
                _ => entry.object().to_string(),
            };
            let value = entry.data().to_string().unwrap_or_else(|_| String::from_utf8_lossy(entry.data().as_slice()).into_owned());
            format!("{key}={}", escape_rdn_value(&value))
        })
        .collect();
    parts.reverse();
    parts.join(", ")
}

fn escape_rdn_value(value: &str) -> String {
    let count = value.chars().count();
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        if c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\{b:02X}"));
            }
            continue;
        }
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';');
        let edge = (i == 0 && (c == '#' || c == ' ')) || (i + 1 == count && c == ' ');
        if special || edge {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The development PKI: a CA, and certificates it issues for the seal and for citizens'
/// development Diia.Signature keys. Nothing here is for production: real keys come from
/// configuration ([`SealKeySource`]).
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

/// A v3 certificate with a random serial, its names, key and validity (Unix seconds) set;
/// extensions are the caller's.
fn certificate_builder(
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

fn read(path: &Path) -> Result<Vec<u8>, SealError> {
    fs::read(path).map_err(|source| SealError::File { path: path.to_path_buf(), source })
}

/// A PEM private key; an encrypted one is refused instead of prompting on the terminal.
fn private_key_from_pem_file(path: &Path) -> Result<PKey<Private>, SealError> {
    PKey::private_key_from_pem_callback(&read(path)?, |_password| Ok(0)).map_err(|e| {
        SealError::Invalid(format!("{}: не вдалося прочитати закритий ключ PEM (зашифровані ключі не підтримуються): {e}", path.display()))
    })
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
const DEV_SEAL_SUBJECT: Subject<'static> = Subject {
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
    const CA_KEY_FILE: &'static str = "diia-qr-dev-ca.key.pem";
    const SEAL_FILE: &'static str = "diia-qr-dev-seal.pem";
    const SEAL_KEY_FILE: &'static str = "diia-qr-dev-seal.key.pem";
    const NEW_SEAL_FILE: &'static str = "diia-qr-dev-seal.pem.new";
    const NEW_SEAL_KEY_FILE: &'static str = "diia-qr-dev-seal.key.pem.new";

    /// Where rotation `n` (1, 2, …) keeps the certificate it retired.
    fn retired_seal_file(n: u32) -> String {
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
    fn create_ca_between(not_before: i64, not_after: i64) -> Result<Self, SealError> {
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
    fn issue_between(&self, key: &PKey<Private>, subject: &Subject<'_>, not_before: i64, not_after: i64) -> Result<X509, SealError> {
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

/// The libcrypto calls that openssl 0.10 / openssl-sys 0.9 do not wrap, declared here and only
/// here, each used behind a safe function that owns what it allocates (so nothing leaks on any
/// error path) and lends out no raw pointer. Every `unsafe` block of this file is in this module.
///
/// The declarations follow OpenSSL 3.0's `<openssl/cms.h>` (the project's OpenSSL; all of them
/// exist since 1.0.2). `CMS_SignerInfo` is opaque there, and `STACK_OF(CMS_SignerInfo)` is an
/// `OPENSSL_STACK`, read with `OPENSSL_sk_num`/`OPENSSL_sk_value`.
mod ffi {
    use std::ffi::{c_int, c_uint, c_void};
    use std::marker::PhantomData;
    use std::ptr;

    use foreign_types::{ForeignType, ForeignTypeRef};
    use openssl::asn1::{Asn1Time, Asn1TimeRef};
    use openssl::cms::{CmsContentInfo, CmsContentInfoRef};
    use openssl::error::ErrorStack;
    use openssl::pkey::{PKeyRef, Private};
    use openssl::stack::StackRef;
    use openssl::x509::{X509Ref, X509};
    use openssl_sys as sys;

    use super::SealError;

    #[allow(non_camel_case_types)]
    enum CMS_SignerInfo {}

    extern "C" {
        /// Adds a SignerInfo for `signer`/`pk`; takes its own references to both. The result is
        /// owned by `cms` (NULL on error, when nothing was added).
        fn CMS_add1_signer(
            cms: *mut sys::CMS_ContentInfo,
            signer: *mut sys::X509,
            pk: *mut sys::EVP_PKEY,
            md: *const sys::EVP_MD,
            flags: c_uint,
        ) -> *mut CMS_SignerInfo;
        /// Adds a signed attribute; with `len == -1` `bytes` is an ASN1 object of `attr_type`,
        /// which is copied. Returns 1 on success.
        fn CMS_signed_add1_attr_by_NID(si: *mut CMS_SignerInfo, nid: c_int, attr_type: c_int, bytes: *const c_void, len: c_int) -> c_int;
        /// Digests `data` and signs every SignerInfo; does not free `data`. Returns 1 on success.
        fn CMS_final(cms: *mut sys::CMS_ContentInfo, data: *mut sys::BIO, dcont: *mut sys::BIO, flags: c_uint) -> c_int;
        /// The SignerInfos of a SignedData, owned by `cms`; NULL (and an error queued) otherwise.
        fn CMS_get0_SignerInfos(cms: *mut sys::CMS_ContentInfo) -> *mut sys::OPENSSL_STACK;
        /// Index of the next signed attribute with `nid` after `lastpos`, or -1.
        fn CMS_signed_get_attr_by_NID(si: *const CMS_SignerInfo, nid: c_int, lastpos: c_int) -> c_int;
        /// The signed attribute at `loc`, owned by the SignerInfo.
        fn CMS_signed_get_attr(si: *const CMS_SignerInfo, loc: c_int) -> *mut sys::X509_ATTRIBUTE;
        /// Writes internal pointers (not references) to the SignerInfo's key, signer certificate
        /// (set once CMS_verify found it) and algorithms; NULL outputs are skipped.
        fn CMS_SignerInfo_get0_algs(
            si: *mut CMS_SignerInfo,
            pk: *mut *mut sys::EVP_PKEY,
            signer: *mut *mut sys::X509,
            pdig: *mut *mut sys::X509_ALGOR,
            psig: *mut *mut sys::X509_ALGOR,
        );
    }

    /// A read-only memory BIO over borrowed bytes, freed on drop.
    struct MemBioSlice<'a>(*mut sys::BIO, PhantomData<&'a [u8]>);

    impl<'a> MemBioSlice<'a> {
        fn new(buf: &'a [u8]) -> Result<Self, SealError> {
            let len = c_int::try_from(buf.len()).map_err(|_| SealError::Invalid(format!("документ завеликий: {} байтів", buf.len())))?;
            // SAFETY: BIO_new_mem_buf makes a read-only BIO that reads `buf` in place; the
            // lifetime ties the BIO to `buf`, and Drop frees it.
            let bio = unsafe { sys::BIO_new_mem_buf(buf.as_ptr().cast(), len) };
            if bio.is_null() {
                return Err(ErrorStack::get().into());
            }
            Ok(Self(bio, PhantomData))
        }
    }

    impl Drop for MemBioSlice<'_> {
        fn drop(&mut self) {
            // SAFETY: the BIO was made by BIO_new_mem_buf, is owned by self alone and is freed once.
            unsafe { sys::BIO_free_all(self.0) };
        }
    }

    /// A detached SignedData over `content` by `signer`/`key` with SHA-256, the CAdES-BES signed
    /// attributes, signingTime = `signing_time`, and the `chain` certificates.
    ///
    /// How: CMS_sign with PARTIAL and no signer makes an unsigned SignedData holding the chain;
    /// CMS_add1_signer with CMS_CADES adds the SignerInfo with ESS signing-certificate-v2; we add
    /// signingTime; CMS_final digests the content, adds messageDigest and contentType, and signs.
    /// OpenSSL's CMS_SignerInfo_sign adds a signingTime of its own only when none is present
    /// (`CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1) < 0`), so ours is the only one.
    pub(super) fn sign_detached_at(
        signer: &X509Ref,
        key: &PKeyRef<Private>,
        chain: &StackRef<X509>,
        content: &[u8],
        signing_time: &Asn1TimeRef,
    ) -> Result<CmsContentInfo, SealError> {
        let data = MemBioSlice::new(content)?;
        let flags = sys::CMS_PARTIAL | sys::CMS_DETACHED | sys::CMS_BINARY | sys::CMS_NOSMIMECAP;
        // SAFETY: NULL signer, key and data are allowed with CMS_PARTIAL; CMS_sign takes its own
        // references to the chain's certificates and leaves the stack ours. The result, checked
        // for NULL, is owned by `cms` at once and freed by its Drop on every path below.
        let cms = unsafe {
            let p = sys::CMS_sign(ptr::null_mut(), ptr::null_mut(), chain.as_ptr(), ptr::null_mut(), flags);
            if p.is_null() {
                return Err(ErrorStack::get().into());
            }
            CmsContentInfo::from_ptr(p)
        };
        let signer_flags = sys::CMS_DETACHED | sys::CMS_BINARY | sys::CMS_NOSMIMECAP | super::CMS_CADES;
        // SAFETY: all pointers are live for the call; CMS_add1_signer up-refs `signer` and `key`
        // (it checks that they match). EVP_sha256 returns a static. The SignerInfo it returns
        // belongs to `cms`: it is used only below, while `cms` lives, and never freed here.
        let si = unsafe { CMS_add1_signer(cms.as_ptr(), signer.as_ptr(), key.as_ptr(), sys::EVP_sha256(), signer_flags) };
        if si.is_null() {
            return Err(ErrorStack::get().into());
        }
        // SAFETY: `signing_time` is a live ASN1_TIME (an ASN1_STRING of type UTCTime, or
        // GeneralizedTime outside 1950–2049); with len -1 OpenSSL copies it into the attribute,
        // exactly as its own cms_add1_signingTime does. `si` is live (owned by `cms`).
        let added = unsafe {
            let time = signing_time.as_ptr();
            let kind = sys::ASN1_STRING_type(time as *const sys::ASN1_STRING);
            CMS_signed_add1_attr_by_NID(si, sys::NID_pkcs9_signingTime, kind, time as *const c_void, -1)
        };
        if added <= 0 {
            return Err(ErrorStack::get().into());
        }
        // SAFETY: `cms` and the data BIO are live; CMS_final reads the BIO to its end and does not
        // free it (MemBioSlice does). No output BIO for detached content.
        if unsafe { CMS_final(cms.as_ptr(), data.0, ptr::null_mut(), flags) } <= 0 {
            return Err(ErrorStack::get().into());
        }
        Ok(cms)
    }

    /// The SignerInfos of `cms`, or None when it is not a SignedData.
    fn signer_infos(cms: &CmsContentInfoRef) -> Option<*mut sys::OPENSSL_STACK> {
        // SAFETY: a read-only look-up; the stack belongs to `cms` and is used only by the callers
        // below while their `cms` borrow lives.
        let infos = unsafe { CMS_get0_SignerInfos(cms.as_ptr()) };
        if infos.is_null() {
            // Drop the queued "not signed data" so it does not surface in a later error.
            drop(ErrorStack::get());
            None
        } else {
            Some(infos)
        }
    }

    /// The first SignerInfo of `cms` (owned by it), if any.
    fn first_signer(cms: &CmsContentInfoRef) -> Option<*mut CMS_SignerInfo> {
        let infos = signer_infos(cms)?;
        // SAFETY: `infos` is a live stack of CMS_SignerInfo owned by `cms`; index 0 is checked by
        // OPENSSL_sk_value, which returns NULL when out of range.
        let si = unsafe { sys::OPENSSL_sk_value(infos, 0) } as *mut CMS_SignerInfo;
        (!si.is_null()).then_some(si)
    }

    /// How many SignerInfos `cms` has; None when it is not a SignedData.
    pub(super) fn signer_count(cms: &CmsContentInfoRef) -> Option<usize> {
        let infos = signer_infos(cms)?;
        // SAFETY: `infos` is a live stack owned by `cms`.
        let n = unsafe { sys::OPENSSL_sk_num(infos) };
        Some(usize::try_from(n).unwrap_or(0))
    }

    /// The first signer's signingTime attribute as Unix seconds; None when absent; Err (for
    /// people) when repeated, multi-valued, of a wrong type or unreadable.
    pub(super) fn signing_time(cms: &CmsContentInfoRef) -> Result<Option<i64>, String> {
        let Some(si) = first_signer(cms) else { return Ok(None) };
        // SAFETY: `si` is a live SignerInfo owned by `cms`; the look-ups read its attribute list.
        let (first, second) = unsafe {
            let first = CMS_signed_get_attr_by_NID(si, sys::NID_pkcs9_signingTime, -1);
            (first, if first >= 0 { CMS_signed_get_attr_by_NID(si, sys::NID_pkcs9_signingTime, first) } else { -1 })
        };
        if first < 0 {
            return Ok(None);
        }
        if second >= 0 {
            return Err("атрибут signingTime повторено".into());
        }
        // SAFETY: `first` is a valid index, so the attribute exists and belongs to `si`; its single
        // value's ASN1_TYPE is read in place. For UTCTime and GeneralizedTime the value is an
        // ASN1_STRING, i.e. an ASN1_TIME, borrowed only within this block.
        let seconds = unsafe {
            let attr = CMS_signed_get_attr(si, first);
            if attr.is_null() || sys::X509_ATTRIBUTE_count(attr) != 1 {
                return Err("атрибут signingTime має мати одне значення".into());
            }
            let value = sys::X509_ATTRIBUTE_get0_type(attr, 0);
            if value.is_null() || !matches!((*value).type_, sys::V_ASN1_UTCTIME | sys::V_ASN1_GENERALIZEDTIME) {
                return Err("атрибут signingTime не є часом (UTCTime або GeneralizedTime)".into());
            }
            let time = Asn1TimeRef::from_ptr((*value).value.ptr as *mut sys::ASN1_TIME);
            let epoch = Asn1Time::from_unix(0).map_err(|e| e.to_string())?;
            let diff = epoch.diff(time).map_err(|e| format!("атрибут signingTime не читається: {e}"))?;
            i64::from(diff.days) * 86_400 + i64::from(diff.secs)
        };
        Ok(Some(seconds))
    }

    /// Whether the first signer has a signed attribute `nid`.
    pub(super) fn has_signed_attribute(cms: &CmsContentInfoRef, nid: c_int) -> bool {
        // SAFETY: `si` is a live SignerInfo owned by `cms`; the look-up only reads its attributes.
        first_signer(cms).is_some_and(|si| unsafe { CMS_signed_get_attr_by_NID(si, nid, -1) } >= 0)
    }

    /// The first signer's certificate, once a CMS_verify call has matched it (a reference of our
    /// own); None when the signature carries no matching certificate.
    pub(super) fn signer_certificate(cms: &CmsContentInfoRef) -> Option<X509> {
        let si = first_signer(cms)?;
        let mut signer: *mut sys::X509 = ptr::null_mut();
        // SAFETY: `si` is live (owned by `cms`); only the signer output is requested. The pointer
        // is internal to `si`: it is up-ref'd into an owned X509 (to_owned) before `cms` can go.
        unsafe {
            CMS_SignerInfo_get0_algs(si, ptr::null_mut(), &mut signer, ptr::null_mut(), ptr::null_mut());
            (!signer.is_null()).then(|| X509Ref::from_ptr(signer).to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn pki_between(from: &str, to: &str) -> (DevPki, OpenSslSeal) {
        let (from, to) = (at(from).timestamp(), at(to).timestamp());
        let pki = DevPki::create_ca_between(from, to).unwrap();
        let key = new_p256_key().unwrap();
        let cert = pki.issue_between(&key, &DEV_SEAL_SUBJECT, from, to).unwrap();
        let seal = OpenSslSeal::new(key, cert, vec![pki.ca_cert.clone()]);
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
        let verified = verify_detached(&sig, b"copy", std::slice::from_ref(&pki.ca_cert)).unwrap();
        assert_eq!(verified.signing_time.unwrap().timestamp(), now.timestamp());
        assert_eq!(verified.signer_subject, DEV_SEAL_LINE);
        assert!(matches!(verify_detached(&sig, b"altered", std::slice::from_ref(&pki.ca_cert)), Err(VerifyError::ContentMismatch)));
        assert_eq!(seal.trust_anchors_pem().unwrap(), String::from_utf8(pki.ca_cert.to_pem().unwrap()).unwrap());
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
        fs::write(dir.path("ca.pem"), pki.ca_cert.to_pem().unwrap()).unwrap();
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

        let verified = verify_detached(&sig, &pdf, std::slice::from_ref(&pki.ca_cert)).unwrap();
        assert_eq!(verified.signing_time, Some(at("2026-11-26T10:00:05Z")));
        assert_eq!(verified.signer_subject, DEV_SEAL_LINE);
        assert_eq!(verified.signer_certificate, *seal.certificate());
    }

    #[test]
    fn after_2049_the_signing_time_is_a_generalized_time() {
        let (pki, seal) = pki_between("2049-06-01T00:00:00Z", "2060-01-01T00:00:00Z");
        let sig = seal.sign_detached(b"copy", at("2051-03-04T05:06:07Z")).unwrap();
        let verified = verify_detached(&sig, b"copy", std::slice::from_ref(&pki.ca_cert)).unwrap();
        assert_eq!(verified.signing_time, Some(at("2051-03-04T05:06:07Z")));
        // The attribute's DER: SET { GeneralizedTime "20510304050607Z" }.
        let generalized = [&[0x31, 0x11, 0x18, 0x0f][..], b"20510304050607Z"].concat();
        assert!(sig.windows(generalized.len()).any(|w| w == generalized));
    }

    #[test]
    fn verification_tells_altered_documents_untrusted_signers_broken_signatures_and_garbage_apart() {
        let (pki, seal) = pki_between("2026-01-01T00:00:00Z", "2046-01-01T00:00:00Z");
        let anchors = std::slice::from_ref(&pki.ca_cert);
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
        let pki = DevPki::create_ca_between(from, to).unwrap();
        let key = new_p256_key().unwrap();
        let (valid_from, valid_to) = (at("2020-01-01T00:00:00Z").timestamp(), at("2021-01-01T00:00:00Z").timestamp());
        let cert = pki.issue_between(&key, &DEV_SEAL_SUBJECT, valid_from, valid_to).unwrap();
        let seal = OpenSslSeal::new(key, cert, vec![pki.ca_cert.clone()]);
        let anchors = std::slice::from_ref(&pki.ca_cert);

        let sig = seal.sign_detached(b"copy", at("2020-06-01T12:00:00Z")).unwrap();
        let verified = verify_detached(&sig, b"copy", anchors).unwrap();
        assert_eq!(verified.signing_time, Some(at("2020-06-01T12:00:00Z")));

        // The seal refuses to claim a time outside its certificate…
        assert!(matches!(seal.sign_detached(b"copy", at("2021-06-01T12:00:00Z")), Err(SealError::Invalid(_))));
        // …and a signature that claims one does not verify.
        let mut chain = Stack::new().unwrap();
        chain.push(pki.ca_cert.clone()).unwrap();
        let late = Asn1Time::from_unix(at("2021-06-01T12:00:00Z").timestamp()).unwrap();
        let sig = ffi::sign_detached_at(&seal.certificate, &seal.key, &chain, b"copy", &late).unwrap().to_der().unwrap();
        let err = verify_detached(&sig, b"copy", anchors).unwrap_err();
        assert!(matches!(&err, VerifyError::UntrustedSigner(m) if m.contains("expired")), "{err:?}");
    }

    #[test]
    fn a_plain_cms_signature_verifies_and_a_substituted_signer_certificate_does_not() {
        let (pki, seal) = pki_between("2026-01-01T00:00:00Z", "2046-01-01T00:00:00Z");
        let anchors = std::slice::from_ref(&pki.ca_cert);
        let mut chain = Stack::new().unwrap();
        chain.push(pki.ca_cert.clone()).unwrap();

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
                    certificate_builder(seal.certificate().subject_name(), pki.ca_cert.subject_name(), &seal.key, from, to).unwrap();
                b.set_serial_number(seal.certificate().serial_number()).unwrap();
                b.append_extension(BasicConstraints::new().build().unwrap()).unwrap();
                b.append_extension(KeyUsage::new().critical().digital_signature().non_repudiation().build().unwrap()).unwrap();
                b.append_extension(ExtendedKeyUsage::new().email_protection().build().unwrap()).unwrap();
                let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(Some(&pki.ca_cert), None)).unwrap();
                b.append_extension(ski).unwrap();
                let aki = AuthorityKeyIdentifier::new().keyid(true).build(&b.x509v3_context(Some(&pki.ca_cert), None)).unwrap();
                b.append_extension(aki).unwrap();
                b.sign(&pki.ca_key, MessageDigest::sha256()).unwrap();
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
        let mut b = certificate_builder(&name, pki.ca_cert.subject_name(), &key, from, to).unwrap();
        b.append_extension(KeyUsage::new().critical().key_agreement().build().unwrap()).unwrap();
        let aki = AuthorityKeyIdentifier::new().keyid(true).build(&b.x509v3_context(Some(&pki.ca_cert), None)).unwrap();
        b.append_extension(aki).unwrap();
        b.sign(&pki.ca_key, MessageDigest::sha256()).unwrap();
        let seal = OpenSslSeal::new(key, b.build(), vec![pki.ca_cert.clone()]);
        let sig = seal.sign_detached(b"copy", at("2026-11-26T10:00:05Z")).unwrap();
        let err = verify_detached(&sig, b"copy", std::slice::from_ref(&pki.ca_cert)).unwrap_err();
        assert!(matches!(&err, VerifyError::UntrustedSigner(m) if m.contains("keyUsage")), "{err:?}");
    }

    #[test]
    fn the_development_source_loads_the_dev_pki_with_its_ca_as_anchor() {
        let dir = Scratch::new("source-dev");
        let loaded = load_seal(&SealKeySource::Development { dir: dir.0.clone() }).unwrap();
        let (pki, _) = DevPki::load_or_create(&dir.0).unwrap();
        assert_eq!(loaded.trust_anchors, vec![pki.ca_cert]);
    }

    #[test]
    fn pem_files_load_with_the_chain_in_its_own_file_or_after_the_certificate() {
        let dir = Scratch::new("pem");
        let (pki, seal) = DevPki::load_or_create(&dir.path("pki")).unwrap();
        fs::write(dir.path("key.pem"), seal.key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        fs::write(dir.path("cert.pem"), seal.certificate().to_pem().unwrap()).unwrap();
        fs::write(dir.path("chain.pem"), pki.ca_cert.to_pem().unwrap()).unwrap();
        fs::write(dir.path("bundle.pem"), [seal.certificate().to_pem().unwrap(), pki.ca_cert.to_pem().unwrap()].concat()).unwrap();

        for (certificate, chain) in [("cert.pem", Some(dir.path("chain.pem"))), ("bundle.pem", None)] {
            let source = SealKeySource::Pem { key: dir.path("key.pem"), certificate: dir.path(certificate), chain };
            let loaded = load_seal(&source).unwrap();
            assert_eq!(loaded.trust_anchors, vec![pki.ca_cert.clone()]);
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
        ca.push(pki.ca_cert.clone()).unwrap();
        let p12 = Pkcs12::builder().name("seal").pkey(&seal.key).cert(seal.certificate()).ca(ca).build2("пароль").unwrap();
        fs::write(dir.path("seal.p12"), p12.to_der().unwrap()).unwrap();

        let loaded = load_seal(&SealKeySource::Pkcs12 { path: dir.path("seal.p12"), password: "пароль".into() }).unwrap();
        assert_eq!(loaded.trust_anchors, vec![pki.ca_cert.clone()]);
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
        let anchors = default_trust_anchors(&leaf, &[other_root.ca_cert.clone(), leaf.clone(), root.ca_cert.clone()]);
        assert_eq!(anchors, vec![root.ca_cert.clone()]);
        let not_self_signed = vec![leaf.clone()];
        assert_eq!(default_trust_anchors(&leaf, &not_self_signed), not_self_signed);
        assert!(default_trust_anchors(&leaf, &[]).is_empty());
        assert_eq!(default_trust_anchors(&root.ca_cert, &[]), vec![root.ca_cert.clone()]);

        // An anchor need not be self-signed: a chain may end at any of them (PARTIAL_CHAIN).
        let seal = OpenSslSeal::new(key, leaf.clone(), vec![root.ca_cert.clone()]);
        let sig = seal.sign_detached(b"copy", Utc::now()).unwrap();
        verify_detached(&sig, b"copy", &not_self_signed).unwrap();
        assert!(matches!(verify_detached(&sig, b"copy", &[other_root.ca_cert]), Err(VerifyError::UntrustedSigner(_))));
    }

    #[test]
    fn rotation_issues_a_new_seal_and_old_signatures_still_verify() {
        let dir = Scratch::new("rotation");
        let (pki, old) = DevPki::load_or_create(&dir.0).unwrap();
        let anchors = std::slice::from_ref(&pki.ca_cert);
        let before = old.sign_detached(b"copy", Utc::now()).unwrap();
        let old_key = fs::read(dir.path(DevPki::SEAL_KEY_FILE)).unwrap();

        let new = DevPki::rotate_seal(&dir.0).unwrap();
        assert_ne!(new.certificate(), old.certificate());
        assert_eq!(new.certificate().issuer_name().to_der().unwrap(), pki.ca_cert.subject_name().to_der().unwrap());
        let retired = X509::from_pem(&fs::read(dir.path("diia-qr-dev-seal.1.pem")).unwrap()).unwrap();
        assert_eq!(&retired, old.certificate());
        assert_ne!(fs::read(dir.path(DevPki::SEAL_KEY_FILE)).unwrap(), old_key, "the retired key is gone");
        let (pki_again, current) = DevPki::load_or_create(&dir.0).unwrap();
        assert_eq!(current.certificate(), new.certificate());
        assert_eq!(pki_again.ca_cert, pki.ca_cert);

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
        let (key, cert) = pki.issue_new_key(&DEV_SEAL_SUBJECT, 30).unwrap();
        // The key was renamed into place, the certificate not yet.
        fs::remove_file(dir.path(DevPki::SEAL_KEY_FILE)).unwrap();
        write_private(&dir.path(DevPki::SEAL_KEY_FILE), &key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        fs::write(dir.path(DevPki::NEW_SEAL_FILE), cert.to_pem().unwrap()).unwrap();
        let (_, seal) = DevPki::load_or_create(&dir.0).unwrap();
        assert_eq!(seal.certificate(), &cert);
        assert!(!dir.path(DevPki::NEW_SEAL_FILE).exists());
    }

    /// pyHanko, an independent implementation, validates the detached CMS against the CA.
    /// Skipped with a note when pyHanko is missing, except under CI (`CI` set), where it fails.
    #[test]
    fn pyhanko_validates_the_signature() {
        let importable = Command::new("python3").args(["-c", "import pyhanko.sign.validation"]).output().is_ok_and(|o| o.status.success());
        if !importable {
            assert!(std::env::var_os("CI").is_none(), "CI needs pyHanko: python3 -m pip install pyhanko");
            println!("SKIPPED pyhanko_validates_the_signature: pyHanko is not installed (python3 -m pip install pyhanko)");
            return;
        }
        let dir = Scratch::new("pyhanko");
        let (pki, seal) = pki_between("2026-01-01T00:00:00Z", "2046-01-01T00:00:00Z");
        let pdf = copy_bytes();
        let sig = seal.sign_detached(&pdf, at("2026-11-26T10:00:05Z")).unwrap();
        fs::write(dir.path("X.p7s"), &sig).unwrap();
        fs::write(dir.path("X.pdf"), &pdf).unwrap();
        fs::write(dir.path("ca.pem"), pki.ca_cert.to_pem().unwrap()).unwrap();
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
}

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

use crate::pki::DevPki;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use openssl::asn1::Asn1Time;
use openssl::cms::CMSOptions;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509KeyUsage, X509NameRef, X509PurposeId, X509Ref, X509VerifyResult, X509};

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

/// Makes detached CMS signatures with one key and certificate: the service's seal, a partner's
/// КЕП (`diia-qr kep sign-challenge`), a citizen's Diia.Signature. [`OpenSslSeal`] signs with
/// ECDSA or RSA keys; a DSTU 4145 signer (the algorithm of most Ukrainian qualified keys, which
/// OpenSSL 3 cannot compute) is another implementation of this trait.
pub trait Signer: Send + Sync {
    /// A detached CMS SignedData (DER) over `content`, CAdES-BES, carrying the signer's chain.
    /// Its signingTime attribute is `signing_time` truncated to whole seconds (for a copy, the
    /// time printed on it). It is the signer's claim (no time-stamp token), so a signing time
    /// outside the certificate's validity is refused rather than signed.
    fn sign_detached(&self, content: &[u8], signing_time: DateTime<Utc>) -> Result<Vec<u8>, SealError>;
    /// The signer's certificate.
    fn certificate(&self) -> &X509;
}

/// The service's seal: a signer whose trust anchors the service publishes.
pub trait Seal: Signer {
    /// The certificates that verify this seal's signatures, as PEM: the trust anchors to publish.
    fn trust_anchors_pem(&self) -> Result<String, SealError>;
}

/// A key and its certificate, with the chain above it (intermediates and, usually, the root):
/// the OpenSSL [`Signer`], and the service's [`Seal`].
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

    /// The trust anchors for this seal's chain: see [`default_trust_anchors`].
    fn trust_anchors(&self) -> Vec<X509> {
        default_trust_anchors(&self.certificate, &self.chain)
    }
}

impl Signer for OpenSslSeal {
    fn certificate(&self) -> &X509 {
        &self.certificate
    }

    fn sign_detached(&self, content: &[u8], signing_time: DateTime<Utc>) -> Result<Vec<u8>, SealError> {
        let time = Asn1Time::from_unix(signing_time.timestamp())?;
        let (not_before, not_after) = (self.certificate.not_before(), self.certificate.not_after());
        if not_before > time || not_after < time {
            return Err(SealError::Invalid(format!(
                "час підпису {} поза строком дії сертифіката ({not_before} — {not_after})",
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
}

impl Seal for OpenSslSeal {
    fn trust_anchors_pem(&self) -> Result<String, SealError> {
        let mut pem = String::new();
        for c in self.trust_anchors() {
            pem.push_str(&String::from_utf8_lossy(&c.to_pem()?));
        }
        Ok(pem)
    }
}

/// The service's own seal certificates: the current one and those it retired. Only a signature
/// by one of these makes a copy genuine: chaining to a trusted CA is not enough, because the
/// CAs a verifier trusts also issue citizens' and other organisations' certificates.
#[derive(Clone, Debug)]
pub struct SealCertificates {
    /// Current first.
    certificates: Vec<X509>,
}

impl SealCertificates {
    /// `current` and the `retired` ones (duplicates dropped).
    pub fn new(current: X509, retired: Vec<X509>) -> Self {
        let mut certificates = vec![current];
        for c in retired {
            if !certificates.contains(&c) {
                certificates.push(c);
            }
        }
        Self { certificates }
    }

    /// The published PEM bundle (current first). An empty bundle is refused: it would pin nothing.
    pub fn from_pem(pem: &[u8]) -> Result<Self, SealError> {
        let mut certs = X509::stack_from_pem(pem)?.into_iter();
        let current = certs.next().ok_or_else(|| SealError::Invalid("у файлі немає жодного сертифіката печатки".into()))?;
        Ok(Self::new(current, certs.collect()))
    }

    /// Adds retired certificates from a PEM bundle (configuration).
    pub fn with_retired_pem(mut self, pem: &[u8]) -> Result<Self, SealError> {
        for c in X509::stack_from_pem(pem)? {
            if !self.certificates.contains(&c) {
                self.certificates.push(c);
            }
        }
        Ok(self)
    }

    pub fn current(&self) -> &X509 {
        &self.certificates[0]
    }

    pub fn all(&self) -> &[X509] {
        &self.certificates
    }

    /// True if `certificate` is one of them, byte for byte.
    pub fn pins(&self, certificate: &X509Ref) -> bool {
        let Ok(der) = certificate.to_der() else { return false };
        self.certificates.iter().any(|c| c.to_der().is_ok_and(|d| d == der))
    }

    /// The PEM bundle to publish.
    pub fn to_pem(&self) -> Result<String, openssl::error::ErrorStack> {
        let mut pem = String::new();
        for c in &self.certificates {
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
            (seal, vec![pki.root.certificate])
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
fn read(path: &Path) -> Result<Vec<u8>, SealError> {
    Ok(crate::pki::read(path)?)
}

fn private_key_from_pem_file(path: &Path) -> Result<PKey<Private>, SealError> {
    Ok(crate::pki::private_key_from_pem_file(path)?)
}

mod ffi;
#[cfg(test)]
mod tests;
mod verify;

pub use verify::{verify_detached, verify_detached_at, VerifiedSignature, VerifyError};

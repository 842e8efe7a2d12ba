//! A certification authority of the development PKI: its key and certificate, the certificates it
//! issues, and its certificate revocation list.

use chrono::{DateTime, Utc};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{AuthorityKeyIdentifier, BasicConstraints, CrlNumber, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509Builder, X509Crl, X509CrlBuilder, X509NameBuilder, X509NameRef, X509RevokedBuilder, X509};

use super::PkiError;

/// Certificates start a day back, so a clock slightly behind the CA's still accepts fresh ones.
pub const BACKDATE_SECONDS: i64 = 86_400;

/// Subject fields of an issued certificate, as Ukrainian qualified certificates carry them
/// (ETSI EN 319 412-1): a person's РНОКПП as `serialNumber` `TINUA-…`, a legal person's ЄДРПОУ
/// as `organizationIdentifier` `NTRUA-…`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Subject<'a> {
    pub common_name: &'a str,
    pub surname: Option<&'a str>,
    pub given_name: Option<&'a str>,
    /// The person's position in the organisation (`title`), e.g. «Директор».
    pub title: Option<&'a str>,
    pub organisation: Option<&'a str>,
    /// `TINUA-<РНОКПП>` for people.
    pub serial_number: Option<&'a str>,
    /// `NTRUA-<ЄДРПОУ>` for legal persons and seals.
    pub organization_identifier: Option<&'a str>,
}

/// A CA's key and certificate.
pub struct Authority {
    pub key: PKey<Private>,
    pub certificate: X509,
}

pub fn new_p256_key() -> Result<PKey<Private>, PkiError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

fn random_serial() -> Result<Asn1Integer, PkiError> {
    let mut bn = BigNum::new()?;
    bn.rand(127, openssl::bn::MsbOption::MAYBE_ZERO, false)?;
    Ok(bn.to_asn1_integer()?)
}

/// A v3 certificate with a random serial, its names, key and validity (Unix seconds) set;
/// extensions are the caller's.
pub fn certificate_builder(
    subject: &X509NameRef,
    issuer: &X509NameRef,
    key: &PKey<Private>,
    not_before: i64,
    not_after: i64,
) -> Result<X509Builder, PkiError> {
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

fn name(subject: &Subject<'_>) -> Result<openssl::x509::X509Name, PkiError> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("C", "UA")?;
    if let Some(o) = subject.organisation {
        name.append_entry_by_text("O", o)?;
    }
    if let Some(oi) = subject.organization_identifier {
        name.append_entry_by_text("organizationIdentifier", oi)?;
    }
    if let Some(title) = subject.title {
        name.append_entry_by_text("title", title)?;
    }
    if let Some(surname) = subject.surname {
        name.append_entry_by_text("SN", surname)?;
    }
    if let Some(given) = subject.given_name {
        name.append_entry_by_text("GN", given)?;
    }
    name.append_entry_by_text("CN", subject.common_name)?;
    if let Some(sn) = subject.serial_number {
        name.append_entry_by_text("serialNumber", sn)?;
    }
    Ok(name.build())
}

impl Authority {
    /// A self-signed root valid from `not_before` to `not_after` (Unix seconds).
    pub fn root_between(common_name: &str, not_before: i64, not_after: i64) -> Result<Self, PkiError> {
        let key = new_p256_key()?;
        let subject =
            name(&Subject { common_name, organisation: Some("Дія.QR (середовище розробки)"), ..Subject::default() })?;
        let mut b = certificate_builder(&subject, &subject, &key, not_before, not_after)?;
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build()?)?;
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
        b.append_extension(ski)?;
        b.sign(&key, MessageDigest::sha256())?;
        Ok(Self { key, certificate: b.build() })
    }

    /// A CA under this one (no further CA below it), valid as long as this one.
    pub fn issue_authority(&self, common_name: &str, organisation: &str) -> Result<Self, PkiError> {
        let key = new_p256_key()?;
        let subject = name(&Subject { common_name, organisation: Some(organisation), ..Subject::default() })?;
        let (not_before, not_after) = (Utc::now().timestamp() - BACKDATE_SECONDS, asn1_unix(self.certificate.not_after())?);
        let mut b = certificate_builder(&subject, self.certificate.subject_name(), &key, not_before, not_after)?;
        b.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
        b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build()?)?;
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(Some(&self.certificate), None))?;
        b.append_extension(ski)?;
        let aki = AuthorityKeyIdentifier::new().keyid(true).build(&b.x509v3_context(Some(&self.certificate), None))?;
        b.append_extension(aki)?;
        b.sign(&self.key, MessageDigest::sha256())?;
        Ok(Self { key, certificate: b.build() })
    }

    /// Issues an end-entity signing certificate for `key`, valid for `days` (from a day back).
    pub fn issue(&self, key: &PKey<Private>, subject: &Subject<'_>, days: u32) -> Result<X509, PkiError> {
        let now = Utc::now().timestamp();
        self.issue_between(key, subject, now - BACKDATE_SECONDS, now + i64::from(days) * 86_400)
    }

    /// Issues an end-entity signing certificate valid from `not_before` to `not_after`: keyUsage
    /// digitalSignature and nonRepudiation, as qualified signatures and seals have.
    pub fn issue_between(&self, key: &PKey<Private>, subject: &Subject<'_>, not_before: i64, not_after: i64) -> Result<X509, PkiError> {
        let subject = name(subject)?;
        let mut b = certificate_builder(&subject, self.certificate.subject_name(), key, not_before, not_after)?;
        b.append_extension(BasicConstraints::new().build()?)?;
        b.append_extension(KeyUsage::new().critical().digital_signature().non_repudiation().build()?)?;
        // emailProtection keeps `openssl cms -verify` content with its default S/MIME purpose.
        b.append_extension(ExtendedKeyUsage::new().email_protection().build()?)?;
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(Some(&self.certificate), None))?;
        b.append_extension(ski)?;
        let aki = AuthorityKeyIdentifier::new().keyid(true).build(&b.x509v3_context(Some(&self.certificate), None))?;
        b.append_extension(aki)?;
        b.sign(&self.key, MessageDigest::sha256())?;
        Ok(b.build())
    }

    /// A fresh P-256 key with a certificate from this CA.
    pub fn issue_new_key(&self, subject: &Subject<'_>, days: u32) -> Result<(PKey<Private>, X509), PkiError> {
        let key = new_p256_key()?;
        let cert = self.issue(&key, subject, days)?;
        Ok((key, cert))
    }

    /// This CA's revocation list, issued now and valid for `days`, listing `revoked` (each
    /// certificate with the time it was revoked).
    pub fn crl(&self, revoked: &[(&X509, DateTime<Utc>)], days: u32) -> Result<X509Crl, PkiError> {
        let mut b = X509CrlBuilder::new()?;
        b.set_issuer_name(self.certificate.subject_name())?;
        // RFC 5280: a CRL names its issuer's key and carries an increasing number.
        let context = X509Builder::new()?;
        b.append_extension(AuthorityKeyIdentifier::new().keyid(true).build(&context.x509v3_context(Some(&self.certificate), None))?)?;
        b.append_extension(CrlNumber::new(BigNum::from_u32(u32::try_from(Utc::now().timestamp()).unwrap_or(u32::MAX))?)?.build()?)?;
        let now = Utc::now().timestamp();
        let (last, next) = (Asn1Time::from_unix(now - 60)?, Asn1Time::from_unix(now + i64::from(days) * 86_400)?);
        b.set_last_update(&last)?;
        b.set_next_update(&next)?;
        for (certificate, at) in revoked {
            let mut entry = X509RevokedBuilder::new()?;
            entry.set_serial_number(certificate.serial_number())?;
            let date = Asn1Time::from_unix(at.timestamp())?;
            entry.set_revocation_date(&date)?;
            b.add_revoked(entry.build())?;
        }
        b.sort()?;
        b.sign(&self.key, MessageDigest::sha256())?;
        Ok(b.build()?)
    }
}

/// Unix seconds of an ASN.1 time.
pub fn asn1_unix(t: &openssl::asn1::Asn1TimeRef) -> Result<i64, PkiError> {
    let epoch = Asn1Time::from_unix(0)?;
    let diff = epoch.diff(t)?;
    Ok(i64::from(diff.days) * 86_400 + i64::from(diff.secs))
}

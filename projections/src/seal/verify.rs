//! Verification of detached CMS signatures: the content is intact, the signer chains to a trust
//! anchor at the signing time, and the certificate may sign.

use super::*;

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
    verify_detached_at(signature_der, content, anchors, None)
}

/// [`verify_detached`], with the chain judged at `at` rather than at the signer's claimed time:
/// for a copy the registry of issued copies dates, its record is the time that counts.
pub fn verify_detached_at(
    signature_der: &[u8],
    content: &[u8],
    anchors: &[X509],
    at: Option<DateTime<Utc>>,
) -> Result<VerifiedSignature, VerifyError> {
    let mut cms = ffi::content_info_of_whole(signature_der).map_err(|read| match read {
        None => VerifyError::Malformed("не DER CMS: структуру не прочитано".into()),
        Some(n) => VerifyError::Malformed(format!("після підпису ({n} байт) є зайві дані: {} байт", signature_der.len() - n)),
    })?;
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
    let at = at.or(signing_time).map_or_else(|| Utc::now().timestamp(), |t| t.timestamp());
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

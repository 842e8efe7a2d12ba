//! Who a Ukrainian qualified certificate names (ETSI EN 319 412-1 as Ukrainian QTSPs apply it):
//! the person's РНОКПП as `serialNumber` `TINUA-<10 digits>`, a legal person's ЄДРПОУ as
//! `organizationIdentifier` `NTRUA-<8 digits>` with the organisation's name in `O`, the person's
//! name in `CN` (or `SN` and `GN`) and position in `title`. Older certificates put the codes
//! elsewhere; those forms are read too where they are unambiguous (a bare 10-digit serialNumber,
//! `UA-<8 digits>`).

use openssl::nid::Nid;
use openssl::x509::{X509NameRef, X509Ref};

/// The identity fields of a certificate's subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifiedIdentity {
    pub full_name: String,
    pub rnokpp: String,
    /// Present for a legal person's representative; absent for a natural person (a ФОП).
    pub edrpou: Option<String>,
    pub organisation: Option<String>,
    pub title: Option<String>,
}

/// Why a certificate names no one this service can act for; messages are for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("сертифікат не містить РНОКПП підписувача (serialNumber TINUA-…)")]
    NoRnokpp,
    #[error("сертифікат не містить імені підписувача")]
    NoName,
}

/// The first value of `nid`, as UTF-8; a value with control characters (a NUL that would cut
/// a name short, a line break) is as good as absent.
fn entry(name: &X509NameRef, nid: Nid) -> Option<String> {
    let value = name.entries_by_nid(nid).next()?.data().to_string().ok()?;
    let value = value.trim();
    (!value.is_empty() && !value.chars().any(char::is_control)).then(|| value.to_owned())
}

/// organizationIdentifier (2.5.4.97), which the openssl crate does not name.
fn organization_identifier() -> Nid {
    openssl::asn1::Asn1Object::from_str("2.5.4.97").map_or(Nid::UNDEF, |o| o.nid())
}

fn digits(s: &str, n: usize) -> Option<String> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.to_owned())
}

impl QualifiedIdentity {
    /// Reads the subject of `certificate`. The codes are taken as written (their checksums are
    /// the caller's to check, with the domain's identifier types).
    pub fn of(certificate: &X509Ref) -> Result<Self, IdentityError> {
        let subject = certificate.subject_name();
        let serial = entry(subject, Nid::SERIALNUMBER).unwrap_or_default();
        let rnokpp =
            serial.strip_prefix("TINUA-").and_then(|s| digits(s, 10)).or_else(|| digits(&serial, 10)).ok_or(IdentityError::NoRnokpp)?;
        let organization_identifier = entry(subject, organization_identifier()).unwrap_or_default();
        let edrpou = ["NTRUA-", "UA-"].iter().find_map(|prefix| organization_identifier.strip_prefix(prefix).and_then(|s| digits(s, 8)));
        let full_name = entry(subject, Nid::COMMONNAME)
            .or_else(|| {
                let (surname, given) = (entry(subject, Nid::SURNAME)?, entry(subject, Nid::GIVENNAME)?);
                Some(format!("{surname} {given}"))
            })
            .ok_or(IdentityError::NoName)?;
        Ok(Self { full_name, rnokpp, edrpou, organisation: entry(subject, Nid::ORGANIZATIONNAME), title: entry(subject, Nid::TITLE) })
    }
}

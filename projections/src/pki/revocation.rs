//! Certificate revocation lists from files, each checked against the CA that signed it, and
//! re-read when a file changes (so a job that downloads fresh CRLs needs no restart).
//! Revocation fails closed: a certificate whose issuer has no list, or whose list is past its
//! nextUpdate, is refused.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use openssl::x509::{CrlStatus, X509Crl, X509Ref, X509};

use super::authority::asn1_unix;
use super::PkiError;

/// Why a certificate is not accepted as unrevoked; messages are for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationError {
    #[error("сертифікат відкликано {0}")]
    Revoked(String),
    #[error("немає списку відкликаних сертифікатів центру «{0}»: відкликання не перевірити")]
    NoList(String),
    #[error("список відкликаних сертифікатів центру «{0}» застарів: його треба оновити")]
    Stale(String),
    #[error("список відкликаних сертифікатів не прочитано: {0}")]
    Unreadable(String),
}

struct Loaded {
    modified: Vec<Option<SystemTime>>,
    /// Each list with the certificate of the CA that signed it.
    lists: Vec<(X509, X509Crl)>,
}

/// The configured CRL files and the CAs whose lists they may be.
pub struct RevocationLists {
    paths: Vec<PathBuf>,
    authorities: Vec<X509>,
    loaded: Mutex<Loaded>,
}

fn modified(paths: &[PathBuf]) -> Vec<Option<SystemTime>> {
    paths.iter().map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok()).collect()
}

fn load(paths: &[PathBuf], authorities: &[X509]) -> Result<Vec<(X509, X509Crl)>, PkiError> {
    let mut lists = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).map_err(|source| PkiError::File { path: path.clone(), source })?;
        let crl = X509Crl::from_pem(&bytes).or_else(|_| X509Crl::from_der(&bytes))?;
        let issuer = authorities
            .iter()
            .find(|ca| {
                ca.subject_name().try_cmp(crl.issuer_name()).is_ok_and(|o| o.is_eq())
                    && ca.public_key().and_then(|k| crl.verify(&k)).unwrap_or(false)
            })
            .ok_or_else(|| PkiError::Invalid(format!("{}: список не підписав жоден із довірених центрів", path.display())))?;
        lists.push((issuer.clone(), crl));
    }
    Ok(lists)
}

fn issuer_line(name: &openssl::x509::X509NameRef) -> String {
    name.entries_by_nid(openssl::nid::Nid::COMMONNAME).next().and_then(|e| e.data().to_string().ok()).unwrap_or_else(|| "невідомий".into())
}

impl RevocationLists {
    /// Reads every list now: a list that does not parse, or that none of `authorities` signed,
    /// stops the start rather than being ignored.
    pub fn load(paths: Vec<PathBuf>, authorities: Vec<X509>) -> Result<Self, PkiError> {
        let lists = load(&paths, &authorities)?;
        let loaded = Mutex::new(Loaded { modified: modified(&paths), lists });
        Ok(Self { paths, authorities, loaded })
    }

    /// Is `certificate` unrevoked at `at` by the list of the CA that issued it, and is that list
    /// current `now`? Files changed since the last check are read again first.
    pub fn check(&self, certificate: &X509Ref, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), RevocationError> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let current = modified(&self.paths);
        if current != loaded.modified {
            let lists = load(&self.paths, &self.authorities).map_err(|e| RevocationError::Unreadable(e.to_string()))?;
            *loaded = Loaded { modified: current, lists };
        }
        let issuer = certificate.issuer_name();
        let (_, crl) = loaded
            .lists
            .iter()
            .find(|(ca, _)| {
                ca.subject_name().try_cmp(issuer).is_ok_and(|o| o.is_eq())
                    && ca.public_key().and_then(|k| certificate.verify(&k)).unwrap_or(false)
            })
            .ok_or_else(|| RevocationError::NoList(issuer_line(issuer)))?;
        let next_update = crl.next_update().map(asn1_unix).transpose().map_err(|e| RevocationError::Unreadable(e.to_string()))?;
        if next_update.is_none_or(|t| t < now.timestamp()) {
            return Err(RevocationError::Stale(issuer_line(issuer)));
        }
        if let CrlStatus::Revoked(entry) = crl.get_by_serial(certificate.serial_number()) {
            let since = asn1_unix(entry.revocation_date()).map_err(|e| RevocationError::Unreadable(e.to_string()))?;
            if since <= at.timestamp() {
                let when = DateTime::from_timestamp(since, 0).map(crate::documents::wording::kyiv_time).unwrap_or_default();
                return Err(RevocationError::Revoked(when));
            }
        }
        Ok(())
    }
}

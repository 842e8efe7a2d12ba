//! Development stand-ins for what cannot run here: the state registries of citizens' documents,
//! photo verification and Diia.Signature. Each implements the domain's trait honestly; none is
//! for production. The registry is seeded with fictional citizens who together hold every
//! document type, with valid РНОКПП and document numbers in their real formats.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
pub use diia_qr_domain::demo::{demo_citizens, DemoCitizen};
use diia_qr_domain::documents::HeldDocument;
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_domain::share_request::{DiiaSignature, DiiaSignatureError, DocumentRegistry, PhotoVerdict, PhotoVerification, RegistryError};
use diia_qr_projections::pki::{DevPki, Subject};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::X509;

/// The seeded registry.
pub struct DemoRegistry {
    citizens: HashMap<Rnokpp, DemoCitizen>,
}

impl DemoRegistry {
    pub fn seeded() -> Self {
        Self { citizens: demo_citizens().into_iter().map(|c| (c.rnokpp.clone(), c)).collect() }
    }
    pub fn citizen(&self, rnokpp: &Rnokpp) -> Option<&DemoCitizen> {
        self.citizens.get(rnokpp)
    }
}

#[async_trait]
impl DocumentRegistry for DemoRegistry {
    async fn documents_of(&self, citizen: &Rnokpp) -> Result<Vec<HeldDocument>, RegistryError> {
        self.citizens.get(citizen).map(|c| c.documents.clone()).ok_or(RegistryError::UnknownCitizen)
    }
}

/// Development photo verification: there is no liveness provider here. It accepts any photo
/// except an empty one or the bytes `NO-MATCH`, which stand for a failed face match.
pub struct DevPhotoVerification;

#[async_trait]
impl PhotoVerification for DevPhotoVerification {
    async fn verify(&self, _: &Rnokpp, photo: &[u8]) -> Result<PhotoVerdict, String> {
        Ok(if photo.is_empty() || photo == b"NO-MATCH" { PhotoVerdict::NoMatch } else { PhotoVerdict::Match })
    }
}

struct CitizenKey {
    key: PKey<Private>,
    cert: X509,
}

#[derive(Default)]
struct Attempts {
    wrong: u32,
    locked_until: Option<Instant>,
}

/// Development Diia.Signature: each citizen gets a P-256 key and a certificate from the dev CA
/// (serialNumber `TINUA-<РНОКПП>`) on first use. The code is an online check with an attempt
/// limit, never the key's only protection.
pub struct DevDiiaSignature {
    pki: Arc<DevPki>,
    codes: HashMap<Rnokpp, (String, String)>,
    keys: Mutex<HashMap<Rnokpp, Arc<CitizenKey>>>,
    attempts: Mutex<HashMap<Rnokpp, Attempts>>,
}

impl DevDiiaSignature {
    pub const MAX_WRONG_CODES: u32 = 3;
    const LOCKOUT: Duration = Duration::from_secs(15 * 60);

    pub fn new(pki: Arc<DevPki>, citizens: &[DemoCitizen]) -> Self {
        Self {
            pki,
            codes: citizens.iter().map(|c| (c.rnokpp.clone(), (c.signature_code.clone(), c.full_name.clone()))).collect(),
            keys: Mutex::new(HashMap::new()),
            attempts: Mutex::new(HashMap::new()),
        }
    }

    fn check_code(&self, citizen: &Rnokpp, code: &str) -> Result<String, DiiaSignatureError> {
        let (expected, name) = self.codes.get(citizen).ok_or(DiiaSignatureError::NoSignatureKey)?;
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        let entry = attempts.entry(citizen.clone()).or_default();
        if entry.locked_until.is_some_and(|t| Instant::now() < t) {
            return Err(DiiaSignatureError::Locked);
        }
        if code.trim() != expected {
            entry.wrong += 1;
            if entry.wrong >= Self::MAX_WRONG_CODES {
                *entry = Attempts { wrong: 0, locked_until: Some(Instant::now() + Self::LOCKOUT) };
                return Err(DiiaSignatureError::Locked);
            }
            return Err(DiiaSignatureError::WrongCode { attempts_left: Self::MAX_WRONG_CODES - entry.wrong });
        }
        *entry = Attempts::default();
        Ok(name.clone())
    }

    fn key_of(&self, citizen: &Rnokpp, name: &str) -> Result<Arc<CitizenKey>, DiiaSignatureError> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = keys.get(citizen) {
            return Ok(k.clone());
        }
        let serial = format!("TINUA-{citizen}");
        let subject = Subject { common_name: name, serial_number: Some(&serial), ..Subject::default() };
        let (key, cert) = self.pki.citizens.issue_new_key(&subject, 730).map_err(|e| DiiaSignatureError::Unavailable(e.to_string()))?;
        let k = Arc::new(CitizenKey { key, cert });
        keys.insert(citizen.clone(), k.clone());
        Ok(k)
    }
}

#[async_trait]
impl DiiaSignature for DevDiiaSignature {
    async fn sign(&self, citizen: &Rnokpp, code: &str, statement: &[u8]) -> Result<Vec<u8>, DiiaSignatureError> {
        let name = self.check_code(citizen, code)?;
        let key = self.key_of(citizen, &name)?;
        let unavailable = |e: openssl::error::ErrorStack| DiiaSignatureError::Unavailable(e.to_string());
        let mut chain = Stack::new().map_err(unavailable)?;
        for ca in self.pki.citizens_chain() {
            chain.push(ca).map_err(unavailable)?;
        }
        let flags = CMSOptions::DETACHED | CMSOptions::BINARY | CMSOptions::NOSMIMECAP;
        let cms = CmsContentInfo::sign(Some(&key.cert), Some(&key.key), Some(&chain), Some(statement), flags).map_err(unavailable)?;
        cms.to_der().map_err(unavailable)
    }
}

//! Diia.Signature as the service holds it. Each citizen has one P-256 key and a certificate from
//! the citizens' CA (`serialNumber` `TINUA-<РНОКПП>`); the key is stored wrapped with AES-256-GCM
//! under a key derived from the service secret, bound to its citizen, and survives restarts.
//! The citizen's code is kept as an Argon2id hash and is an online check only: a few wrong codes
//! lock signing for a while, and every attempt is recorded in PostgreSQL.
//!
//! Enrolment (choosing the code and getting the certificate) happens in the Diia app; here the
//! development registry's citizens are enrolled on their first signature with their seeded code.

use std::collections::HashMap;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use diia_qr_domain::demo::DemoCitizen;
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_domain::share_request::{DiiaSignature, DiiaSignatureError};
use diia_qr_projections::digest::sha256_hex;
use diia_qr_projections::keys::{KeyPurpose, KeyRing};
use diia_qr_projections::pki::{DevPki, Subject};
use openssl::asn1::Asn1Time;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use openssl::x509::X509;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::Clock;

/// Wrong codes in a row that lock signing.
pub const MAX_WRONG_CODES: i32 = 3;
/// How long signing stays locked after them.
pub const LOCKOUT_MINUTES: i64 = 15;
/// Longer input is a wrong code without being hashed: a flood of megabyte "codes" costs nothing.
const MAX_CODE_LENGTH: usize = 64;
/// Days a citizen's certificate is valid; an expired one is re-issued on a new key at the next signature.
const CERTIFICATE_DAYS: u32 = 730;

/// The AES-256-GCM key that wraps signing keys; `aad` binds each wrapped key to its citizen, so a
/// row copied onto another citizen does not unwrap.
pub struct KeyWrapping([u8; 32]);

impl KeyWrapping {
    const NONCE: usize = 12;
    const TAG: usize = 16;

    pub fn new(keys: &KeyRing) -> Self {
        Self(*keys.key(KeyPurpose::SignatureKeyWrapping).seed())
    }

    fn aad(citizen: &Rnokpp) -> Vec<u8> {
        format!("diia-qr diia-signature key v1\n{citizen}").into_bytes()
    }

    /// nonce || ciphertext of the PKCS#8 key || tag.
    pub fn wrap(&self, citizen: &Rnokpp, key: &PKey<Private>) -> Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut nonce = [0u8; Self::NONCE];
        openssl::rand::rand_bytes(&mut nonce)?;
        let mut tag = [0u8; Self::TAG];
        let pkcs8 = key.private_key_to_pkcs8()?;
        let ciphertext = encrypt_aead(Cipher::aes_256_gcm(), &self.0, Some(&nonce), &Self::aad(citizen), &pkcs8, &mut tag)?;
        Ok([&nonce[..], &ciphertext, &tag].concat())
    }

    pub fn unwrap(&self, citizen: &Rnokpp, wrapped: &[u8]) -> Result<PKey<Private>, String> {
        if wrapped.len() <= Self::NONCE + Self::TAG {
            return Err("пошкоджений ключ Дія.Підпису".into());
        }
        let (nonce, rest) = wrapped.split_at(Self::NONCE);
        let (ciphertext, tag) = rest.split_at(rest.len() - Self::TAG);
        let pkcs8 = decrypt_aead(Cipher::aes_256_gcm(), &self.0, Some(nonce), &Self::aad(citizen), ciphertext, tag)
            .map_err(|_| "ключ Дія.Підпису не розгортається ключем сервісу (інший секрет сервісу?)".to_string())?;
        PKey::private_key_from_pkcs8(&pkcs8).map_err(|e| e.to_string())
    }
}

/// Argon2id with the crate's defaults (RFC 9106's second recommendation: 19 MiB, 2 passes); the
/// PHC string keeps the salt and the parameters, so they can be raised later.
fn hash_code(code: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    openssl::rand::rand_bytes(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default().hash_password(code.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

fn code_matches(code: &str, phc: &str) -> Result<bool, String> {
    if code.len() > MAX_CODE_LENGTH {
        return Ok(false);
    }
    let hash = PasswordHash::new(phc).map_err(|e| e.to_string())?;
    Ok(Argon2::default().verify_password(code.as_bytes(), &hash).is_ok())
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    certificate_pem: String,
    wrapped_key: Vec<u8>,
    code_hash: String,
    wrong_codes: i32,
    locked_until: Option<DateTime<Utc>>,
}

/// The outcome of one attempt, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Signed,
    WrongCode,
    LockedOut,
    RefusedWhileLocked,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Signed => "signed",
            Self::WrongCode => "wrong-code",
            Self::LockedOut => "locked-out",
            Self::RefusedWhileLocked => "refused-while-locked",
        }
    }
}

/// One attempt to sign: who, for which request, when, what.
struct Attempt<'a> {
    citizen: &'a Rnokpp,
    request: Uuid,
    at: DateTime<Utc>,
    statement: &'a [u8],
}

/// Who may enrol, with the code they chose and the name for their certificate.
struct Enrolment {
    code: String,
    full_name: String,
}

/// The service's Diia.Signature: keys and lockouts in PostgreSQL, certificates from the citizens' CA.
pub struct HeldDiiaSignature {
    pool: PgPool,
    wrapping: KeyWrapping,
    pki: Arc<DevPki>,
    clock: Clock,
    enrolments: HashMap<Rnokpp, Enrolment>,
    /// Argon2id checks at once: each takes 19 MiB and a core, so a burst of confirmations waits
    /// here instead of growing the process by 19 MiB per citizen and thrashing the cores.
    hashing: Arc<tokio::sync::Semaphore>,
}

fn unavailable(e: impl std::fmt::Display) -> DiiaSignatureError {
    DiiaSignatureError::Unavailable(e.to_string())
}

impl HeldDiiaSignature {
    pub fn new(pool: PgPool, keys: &KeyRing, pki: Arc<DevPki>, clock: Clock, citizens: &[DemoCitizen]) -> Self {
        let enrolments = citizens
            .iter()
            .map(|c| (c.rnokpp.clone(), Enrolment { code: c.signature_code.clone(), full_name: c.full_name.clone() }))
            .collect();
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self { pool, wrapping: KeyWrapping::new(keys), pki, clock, enrolments, hashing: Arc::new(tokio::sync::Semaphore::new(cores)) }
    }

    /// A new key and certificate for `citizen`, the key wrapped.
    async fn certify(&self, citizen: &Rnokpp, full_name: String) -> Result<(String, Vec<u8>), DiiaSignatureError> {
        let pki = self.pki.clone();
        let serial = format!("TINUA-{citizen}");
        let (key, cert) = tokio::task::spawn_blocking(move || {
            let subject = Subject { common_name: &full_name, serial_number: Some(&serial), ..Subject::default() };
            pki.citizens.issue_new_key(&subject, CERTIFICATE_DAYS)
        })
        .await
        .map_err(unavailable)?
        .map_err(unavailable)?;
        let pem = String::from_utf8(cert.to_pem().map_err(unavailable)?).map_err(unavailable)?;
        Ok((pem, self.wrapping.wrap(citizen, &key).map_err(unavailable)?))
    }

    /// The citizen's row, locked for this attempt; enrols a citizen of the registry on first use.
    async fn key_row(&self, tx: &mut Transaction<'_, Postgres>, citizen: &Rnokpp) -> Result<KeyRow, DiiaSignatureError> {
        const SELECT: &str = "SELECT certificate_pem, wrapped_key, code_hash, wrong_codes, locked_until
                              FROM diia_signature_keys WHERE rnokpp = $1 FOR UPDATE";
        if let Some(row) = sqlx::query_as(SELECT).bind(citizen.as_str()).fetch_optional(&mut **tx).await.map_err(unavailable)? {
            return Ok(row);
        }
        let enrolment = self.enrolments.get(citizen).ok_or(DiiaSignatureError::NoSignatureKey)?;
        let code = enrolment.code.clone();
        let permit = self.hashing.acquire().await.map_err(unavailable)?;
        let code_hash = tokio::task::spawn_blocking(move || hash_code(&code)).await.map_err(unavailable)?.map_err(unavailable)?;
        drop(permit);
        let (certificate_pem, wrapped_key) = self.certify(citizen, enrolment.full_name.clone()).await?;
        let now = self.clock.now();
        // Two first signatures at once: one enrols, the other waits for it and reads its row.
        sqlx::query(
            "INSERT INTO diia_signature_keys (rnokpp, certificate_pem, wrapped_key, code_hash, enrolled_at, certified_at)
             VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (rnokpp) DO NOTHING",
        )
        .bind(citizen.as_str())
        .bind(&certificate_pem)
        .bind(&wrapped_key)
        .bind(&code_hash)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
        sqlx::query_as(SELECT).bind(citizen.as_str()).fetch_one(&mut **tx).await.map_err(unavailable)
    }

    /// Saves the lockout state (wrong codes, locked until) and the attempt, then answers with `result`.
    async fn settle<T>(
        mut tx: Transaction<'_, Postgres>,
        attempt: &Attempt<'_>,
        state: (i32, Option<DateTime<Utc>>),
        outcome: Outcome,
        result: Result<T, DiiaSignatureError>,
    ) -> Result<T, DiiaSignatureError> {
        sqlx::query("UPDATE diia_signature_keys SET wrong_codes = $2, locked_until = $3 WHERE rnokpp = $1")
            .bind(attempt.citizen.as_str())
            .bind(state.0)
            .bind(state.1)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        let signed = (outcome == Outcome::Signed).then(|| sha256_hex(attempt.statement));
        sqlx::query(
            "INSERT INTO diia_signature_attempts (rnokpp, share_request_id, at, outcome, statement_sha256) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(attempt.citizen.as_str())
        .bind(attempt.request)
        .bind(attempt.at)
        .bind(outcome.as_str())
        .bind(signed)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        result
    }

    /// The key to sign with: the held one, or a new one if its certificate has expired.
    async fn signing_key(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        citizen: &Rnokpp,
        row: &KeyRow,
        now: DateTime<Utc>,
    ) -> Result<(PKey<Private>, X509), DiiaSignatureError> {
        let cert = X509::from_pem(row.certificate_pem.as_bytes()).map_err(unavailable)?;
        let in_a_minute = Asn1Time::from_unix(now.timestamp() + 60).map_err(unavailable)?;
        if cert.not_after() > in_a_minute {
            let key = self.wrapping.unwrap(citizen, &row.wrapped_key).map_err(DiiaSignatureError::Unavailable)?;
            return Ok((key, cert));
        }
        let full_name = cert
            .subject_name()
            .entries_by_nid(openssl::nid::Nid::COMMONNAME)
            .next()
            .map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned())
            .unwrap_or_default();
        let (pem, wrapped) = self.certify(citizen, full_name).await?;
        sqlx::query("UPDATE diia_signature_keys SET certificate_pem = $2, wrapped_key = $3, certified_at = $4 WHERE rnokpp = $1")
            .bind(citizen.as_str())
            .bind(&pem)
            .bind(&wrapped)
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err(unavailable)?;
        let key = self.wrapping.unwrap(citizen, &wrapped).map_err(DiiaSignatureError::Unavailable)?;
        Ok((key, X509::from_pem(pem.as_bytes()).map_err(unavailable)?))
    }

    fn sign_cms(&self, key: &PKey<Private>, cert: &X509, statement: &[u8]) -> Result<Vec<u8>, DiiaSignatureError> {
        let mut chain = Stack::new().map_err(unavailable)?;
        for ca in self.pki.citizens_chain() {
            chain.push(ca).map_err(unavailable)?;
        }
        let flags = CMSOptions::DETACHED | CMSOptions::BINARY | CMSOptions::NOSMIMECAP;
        let cms = CmsContentInfo::sign(Some(cert), Some(key), Some(&chain), Some(statement), flags).map_err(unavailable)?;
        cms.to_der().map_err(unavailable)
    }
}

#[async_trait]
impl DiiaSignature for HeldDiiaSignature {
    async fn sign(&self, citizen: &Rnokpp, code: &str, request: Uuid, statement: &[u8]) -> Result<Vec<u8>, DiiaSignatureError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        // The row stays locked until the attempt is settled: parallel guesses wait their turn.
        let row = self.key_row(&mut tx, citizen).await?;
        let now = self.clock.now();
        let attempt = Attempt { citizen, request, at: now, statement };
        if row.locked_until.is_some_and(|until| now < until) {
            let state = (row.wrong_codes, row.locked_until);
            return Self::settle(tx, &attempt, state, Outcome::RefusedWhileLocked, Err(DiiaSignatureError::Locked)).await;
        }
        let (code, phc) = (code.trim().to_string(), row.code_hash.clone());
        let permit = self.hashing.acquire().await.map_err(unavailable)?;
        let matches = tokio::task::spawn_blocking(move || code_matches(&code, &phc)).await.map_err(unavailable)?.map_err(unavailable)?;
        drop(permit);
        if !matches {
            let wrong = row.wrong_codes + 1;
            if wrong >= MAX_WRONG_CODES {
                let state = (0, Some(now + Duration::minutes(LOCKOUT_MINUTES)));
                return Self::settle(tx, &attempt, state, Outcome::LockedOut, Err(DiiaSignatureError::Locked)).await;
            }
            let left = Err(DiiaSignatureError::WrongCode { attempts_left: (MAX_WRONG_CODES - wrong) as u32 });
            return Self::settle(tx, &attempt, (wrong, None), Outcome::WrongCode, left).await;
        }
        let (key, cert) = self.signing_key(&mut tx, citizen, &row, now).await?;
        let signature = self.sign_cms(&key, &cert, statement)?;
        Self::settle(tx, &attempt, (0, None), Outcome::Signed, Ok(signature)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapping(secret: &[u8]) -> KeyWrapping {
        KeyWrapping::new(&KeyRing::derive(secret, Default::default()).unwrap())
    }

    fn citizen(n: usize) -> Rnokpp {
        diia_qr_domain::demo::demo_citizens()[n].rnokpp.clone()
    }

    #[test]
    fn a_wrapped_key_unwraps_only_for_its_citizen_under_the_same_secret() {
        let key = PKey::ec_gen("prime256v1").unwrap();
        let maryana = citizen(0);
        let wrapped = wrapping(b"secret one").wrap(&maryana, &key).unwrap();
        let pkcs8 = key.private_key_to_pkcs8().unwrap();
        assert!(!wrapped.windows(pkcs8.len()).any(|w| w == pkcs8.as_slice()), "the key is not stored in the clear");
        let unwrapped = wrapping(b"secret one").unwrap(&maryana, &wrapped).unwrap();
        assert!(unwrapped.public_eq(&key));
        assert!(wrapping(b"secret two").unwrap(&maryana, &wrapped).is_err(), "another service secret");
        assert!(wrapping(b"secret one").unwrap(&citizen(1), &wrapped).is_err(), "another citizen's row");
        let mut flipped = wrapped.clone();
        flipped[20] ^= 1;
        assert!(wrapping(b"secret one").unwrap(&maryana, &flipped).is_err(), "a changed byte");
        assert!(wrapping(b"secret one").unwrap(&maryana, &wrapped[..20]).is_err(), "a cut one");
    }

    #[test]
    fn codes_are_kept_as_argon2id_and_checked_against_it() {
        let phc = hash_code("111111").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("111111"));
        assert_ne!(phc, hash_code("111111").unwrap(), "a fresh salt each time");
        assert!(code_matches("111111", &phc).unwrap());
        assert!(!code_matches("111112", &phc).unwrap());
        assert!(!code_matches(&"1".repeat(10_000), &phc).unwrap());
    }
}

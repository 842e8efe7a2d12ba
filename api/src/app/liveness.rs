//! Photo verification through a liveness provider. The Diia app sends the selfie to the
//! provider, which compares it with the registry photo and answers with a short-lived assertion
//! signed with its Ed25519 key, for one citizen and one share request; the app hands the assertion
//! to the engine, which verifies it ([`LivenessVerifier`]) and records every check.
//!
//! The assertion is a compact JWS (RFC 7515) with `alg` `EdDSA` (RFC 8037), so a real provider can
//! issue it with any JOSE library. [`DevLivenessProvider`] is the development stand-in: there is no
//! face matching here, so any photo matches except an empty one or the bytes `NO-MATCH`.

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_domain::share_request::{PhotoError, PhotoRefusal, PhotoVerification};
use diia_qr_projections::keys::{KeyPurpose, KeyRing};
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::sign::{Signer, Verifier};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

/// How long an assertion is good for after the provider made it.
pub const ASSERTION_LIFETIME_SECONDS: i64 = 120;
/// The provider's clock may run this far ahead of ours.
const CLOCK_SKEW_SECONDS: i64 = 30;
/// Longer input is not an assertion: refused before decoding.
const MAX_ASSERTION_LENGTH: usize = 4096;

const HEADER: &str = r#"{"alg":"EdDSA","typ":"liveness+jwt"}"#;

/// What the provider asserts.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    /// The citizen's РНОКПП.
    sub: String,
    share_request_id: Uuid,
    /// `match` or `no-match`.
    verdict: String,
    iat: i64,
    exp: i64,
    jti: String,
}

/// The development liveness provider, its key derived from the service secret.
pub struct DevLivenessProvider {
    key: PKey<Private>,
}

impl DevLivenessProvider {
    pub const ISSUER: &'static str = "diia-qr-dev-liveness";

    pub fn new(keys: &KeyRing) -> Result<Self, openssl::error::ErrorStack> {
        let key = PKey::private_key_from_raw_bytes(keys.key(KeyPurpose::DevLivenessProvider).seed(), Id::ED25519)?;
        Ok(Self { key })
    }

    pub fn public_key(&self) -> Result<PKey<Public>, openssl::error::ErrorStack> {
        PKey::public_key_from_raw_bytes(&self.key.raw_public_key()?, Id::ED25519)
    }

    /// Checks `photo` for `citizen` and `request` and signs the verdict.
    pub fn check(&self, citizen: &Rnokpp, request: Uuid, photo: &[u8], now: DateTime<Utc>) -> Result<String, openssl::error::ErrorStack> {
        let verdict = if photo.is_empty() || photo == b"NO-MATCH" { "no-match" } else { "match" };
        let claims = Claims {
            iss: Self::ISSUER.into(),
            sub: citizen.to_string(),
            share_request_id: request,
            verdict: verdict.into(),
            iat: now.timestamp(),
            exp: now.timestamp() + ASSERTION_LIFETIME_SECONDS,
            jti: Uuid::new_v4().to_string(),
        };
        let claims = serde_json::to_vec(&claims).expect("plain claims serialise");
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(HEADER), URL_SAFE_NO_PAD.encode(claims));
        let signature = Signer::new_without_digest(&self.key)?.sign_oneshot_to_vec(signing_input.as_bytes())?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// Verifies a provider's assertions and records each check in `photo_verification_attempts`.
pub struct LivenessVerifier {
    pool: PgPool,
    provider: PKey<Public>,
    issuer: String,
}

impl LivenessVerifier {
    pub fn new(pool: PgPool, provider: PKey<Public>, issuer: &str) -> Self {
        Self { pool, provider, issuer: issuer.to_string() }
    }

    /// The assertion's id, or why it does not verify `citizen` for `request` at `at`.
    fn check(&self, citizen: &Rnokpp, request: Uuid, assertion: &str, at: DateTime<Utc>) -> Result<String, PhotoRefusal> {
        let assertion = assertion.trim();
        if assertion.is_empty() {
            return Err(PhotoRefusal::Missing);
        }
        if assertion.len() > MAX_ASSERTION_LENGTH {
            return Err(PhotoRefusal::Forged);
        }
        let mut parts = assertion.split('.');
        let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(PhotoRefusal::Forged);
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| PhotoRefusal::Forged);
        let header: serde_json::Value = serde_json::from_slice(&decode(header)?).map_err(|_| PhotoRefusal::Forged)?;
        if header["alg"] != "EdDSA" {
            return Err(PhotoRefusal::Forged);
        }
        let signing_input = &assertion[..assertion.rfind('.').expect("three parts")];
        let signature = decode(signature)?;
        let valid = Verifier::new_without_digest(&self.provider)
            .and_then(|mut v| v.verify_oneshot(&signature, signing_input.as_bytes()))
            .unwrap_or(false);
        if !valid {
            return Err(PhotoRefusal::Forged);
        }
        let claims: Claims = serde_json::from_slice(&decode(claims)?).map_err(|_| PhotoRefusal::Forged)?;
        if claims.iss != self.issuer {
            return Err(PhotoRefusal::Forged);
        }
        let now = at.timestamp();
        let too_long = claims.exp - claims.iat > ASSERTION_LIFETIME_SECONDS;
        if claims.exp <= now || claims.iat > now + CLOCK_SKEW_SECONDS || too_long {
            return Err(PhotoRefusal::Stale);
        }
        if claims.share_request_id != request {
            return Err(PhotoRefusal::OtherRequest);
        }
        if claims.sub != citizen.as_str() {
            return Err(PhotoRefusal::OtherCitizen);
        }
        if claims.verdict != "match" {
            return Err(PhotoRefusal::NoMatch);
        }
        Ok(claims.jti)
    }
}

#[async_trait]
impl PhotoVerification for LivenessVerifier {
    async fn verify(&self, citizen: &Rnokpp, request: Uuid, assertion: &str, at: DateTime<Utc>) -> Result<String, PhotoError> {
        let checked = self.check(citizen, request, assertion, at);
        let (outcome, assertion_id) = match &checked {
            Ok(id) => ("verified", Some(id.as_str())),
            Err(refusal) => (refusal.code(), None),
        };
        sqlx::query("INSERT INTO photo_verification_attempts (share_request_id, at, outcome, assertion_id) VALUES ($1, $2, $3, $4)")
            .bind(request)
            .bind(at)
            .bind(outcome)
            .bind(assertion_id)
            .execute(&self.pool)
            .await
            .map_err(|e| PhotoError::Unavailable(e.to_string()))?;
        checked.map_err(PhotoError::Refused)
    }
}

/// When an assertion made now stops being good.
pub fn assertion_expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::seconds(ASSERTION_LIFETIME_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pool is never connected: `check` is pure, only `verify` records.
    fn parties(secret: &[u8]) -> (DevLivenessProvider, LivenessVerifier) {
        let keys = KeyRing::derive(secret, Default::default()).unwrap();
        let provider = DevLivenessProvider::new(&keys).unwrap();
        let pool = sqlx::postgres::PgPoolOptions::new().connect_lazy("postgres://nobody@127.0.0.1:1/none").unwrap();
        let verifier = LivenessVerifier::new(pool, provider.public_key().unwrap(), DevLivenessProvider::ISSUER);
        (provider, verifier)
    }

    fn citizen(n: usize) -> Rnokpp {
        diia_qr_domain::demo::demo_citizens()[n].rnokpp.clone()
    }

    #[tokio::test]
    async fn an_assertion_verifies_only_its_citizen_and_request_while_fresh() {
        let (provider, verifier) = parties(b"secret");
        let (request, now) = (Uuid::new_v4(), Utc::now());
        let assertion = provider.check(&citizen(0), request, b"selfie", now).unwrap();
        assert!(verifier.check(&citizen(0), request, &assertion, now + Duration::seconds(60)).is_ok());
        assert_eq!(verifier.check(&citizen(0), Uuid::new_v4(), &assertion, now), Err(PhotoRefusal::OtherRequest));
        assert_eq!(verifier.check(&citizen(1), request, &assertion, now), Err(PhotoRefusal::OtherCitizen));
        assert_eq!(verifier.check(&citizen(0), request, &assertion, now + Duration::seconds(121)), Err(PhotoRefusal::Stale));
        assert_eq!(verifier.check(&citizen(0), request, &assertion, now - Duration::minutes(5)), Err(PhotoRefusal::Stale));
        let no_match = provider.check(&citizen(0), request, b"NO-MATCH", now).unwrap();
        assert_eq!(verifier.check(&citizen(0), request, &no_match, now), Err(PhotoRefusal::NoMatch));
        assert_eq!(verifier.check(&citizen(0), request, " ", now), Err(PhotoRefusal::Missing));
    }

    #[tokio::test]
    async fn a_forged_or_foreign_assertion_is_refused() {
        let (provider, verifier) = parties(b"secret");
        let (other_provider, _) = parties(b"another provider");
        let (request, now) = (Uuid::new_v4(), Utc::now());
        let foreign = other_provider.check(&citizen(0), request, b"selfie", now).unwrap();
        assert_eq!(verifier.check(&citizen(0), request, &foreign, now), Err(PhotoRefusal::Forged));
        // A "no-match" turned into "match" without the key.
        let no_match = provider.check(&citizen(0), request, b"NO-MATCH", now).unwrap();
        let parts: Vec<&str> = no_match.split('.').collect();
        let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap().replace("no-match", "match");
        let edited = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims), parts[2]);
        assert_eq!(verifier.check(&citizen(0), request, &edited, now), Err(PhotoRefusal::Forged));
        for garbage in ["a.b.c", "a.b", "a.b.c.d", "....", &"x".repeat(10_000)] {
            assert_eq!(verifier.check(&citizen(0), request, garbage, now), Err(PhotoRefusal::Forged), "{garbage:.20}");
        }
    }
}

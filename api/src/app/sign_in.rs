//! Signing in. Partners sign a one-time challenge with the head's КЕП; the identity is taken
//! from the certificate, never from the request. Sessions end at their expiry or at sign-out.
//! The development sign-ins, which trust the submitted fields, answer only when the engine runs
//! with `--dev-sign-in` (tests, the embedded development default).

use base64::prelude::{Engine as _, BASE64_STANDARD, BASE64_URL_SAFE_NO_PAD};
use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use diia_qr_domain::identifiers::{Edrpou, IdentifierError, Rnokpp};
use diia_qr_domain::partner::{Head, PartnerKind};
use diia_qr_projections::pki::qualified::QualifiedIdentity;
use diia_qr_projections::pki::revocation::{RevocationError, RevocationLists};
use diia_qr_projections::seal::{verify_detached, VerifyError};
use openssl::x509::X509;
use uuid::Uuid;

use super::sessions::{Claims, SessionError, VerifiedSession};
use super::{Engine, EngineError, PartnerIdentity};

/// How long a sign-in challenge may be signed.
pub const CHALLENGE_MINUTES: i64 = 5;
/// How far a signer's clock may run ahead of ours.
const CLOCK_SKEW_SECONDS: i64 = 120;

/// What a КЕП sign-in trusts: the CAs whose certificates may sign in (qualified trust service
/// providers' CAs, from configuration), and their revocation lists.
pub struct KepTrust {
    pub anchors: Vec<X509>,
    /// Shared with copy verification: the seal's certificate is issued by a qualified provider
    /// too, and checked against the same lists.
    pub revocation: Arc<RevocationLists>,
    /// The РНОКПП of the service's operators (configuration): their КЕП opens the operators' desk.
    pub operators: BTreeSet<String>,
}

/// The door a КЕП challenge opens: a challenge made for one is refused at the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Partner,
    Operator,
}

impl Audience {
    fn as_str(self) -> &'static str {
        match self {
            Self::Partner => "partner",
            Self::Operator => "operator",
        }
    }
    fn door(self) -> &'static str {
        match self {
            Self::Partner => "вхід до кабінету партнера",
            Self::Operator => "вхід до робочого місця оператора",
        }
    }
}

/// An operator signed in: the session and who, as the certificate names them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OperatorSignedIn {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub full_name: String,
}

/// A challenge to sign: its id, the exact text, and until when it may be signed.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SignInChallenge {
    pub challenge_id: Uuid,
    /// Sign exactly these bytes (UTF-8), as a detached CMS signature.
    pub text: String,
    pub expires_at: DateTime<Utc>,
}

/// A partner signed in: the session and whom it acts for, as the certificate says.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PartnerSignedIn {
    pub token: String,
    pub partner_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub organisation_name: String,
    pub head_full_name: String,
    /// The head's position, if the certificate names one.
    pub head_title: Option<String>,
}

/// A challenge as it was issued.
#[derive(sqlx::FromRow)]
struct StoredChallenge {
    audience: String,
    text: String,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
}

/// What the development partner sign-in is told, as the head's certificate would say it.
pub struct DevPartnerSignIn {
    /// `legal_entity` with `edrpou`, or `sole_proprietor` (the head's РНОКПП is the code).
    pub kind: String,
    pub edrpou: Option<String>,
    pub organisation_name: String,
    pub head_rnokpp: String,
    pub head_full_name: String,
}

fn invalid_identifier(e: IdentifierError) -> EngineError {
    EngineError::invalid("identifier-invalid", e)
}

fn refused(code: &'static str, message: impl std::fmt::Display) -> EngineError {
    EngineError::unauthenticated(code, message)
}

/// The partner a qualified certificate's subject names: a legal entity by its ЄДРПОУ (its
/// name from `O`), otherwise a sole proprietor by the signer's РНОКПП.
fn partner_of(identity: &QualifiedIdentity) -> Result<PartnerIdentity, EngineError> {
    let rnokpp = Rnokpp::parse(&identity.rnokpp).map_err(|e| refused("kep-identity-invalid", format!("РНОКПП у сертифікаті: {e}")))?;
    let head = Head { rnokpp: rnokpp.clone(), full_name: identity.full_name.clone() };
    let (kind, organisation_name) = match &identity.edrpou {
        Some(code) => {
            let edrpou = Edrpou::parse(code).map_err(|e| refused("kep-identity-invalid", format!("ЄДРПОУ у сертифікаті: {e}")))?;
            let name = identity
                .organisation
                .clone()
                .ok_or_else(|| refused("kep-identity-invalid", "сертифікат представника юридичної особи не називає організацію (O)"))?;
            (PartnerKind::LegalEntity { edrpou }, name)
        }
        None => {
            let name = identity.organisation.clone().unwrap_or_else(|| format!("ФОП {}", identity.full_name));
            (PartnerKind::SoleProprietor { rnokpp }, name)
        }
    };
    Ok(PartnerIdentity { kind, organisation_name, head })
}

/// A КЕП signature that passed [`Engine::check_kep`]: who made it, and when (their claim, checked
/// against the window the caller allowed).
pub struct KepSignature {
    pub identity: QualifiedIdentity,
    pub signed_at: DateTime<Utc>,
}

/// Why a КЕП signature was not accepted: a stable code and a sentence for a person.
#[derive(Debug)]
pub struct KepRefusal {
    pub code: &'static str,
    pub message: String,
    /// Revocation could not be checked: the service, not the signer, is at fault.
    pub unavailable: bool,
}

impl KepRefusal {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), unavailable: false }
    }

    /// As a sign-in's answer: 401, or 503 when revocation could not be checked.
    fn signing_in(self) -> EngineError {
        if self.unavailable {
            return EngineError::Rule {
                code: self.code,
                kind: diia_qr_domain::RuleKind::Unavailable,
                diia_code: None,
                message: self.message,
            };
        }
        refused(self.code, self.message)
    }

    /// As a signed document's answer: 422, or 503 when revocation could not be checked.
    pub fn signing_document(self) -> EngineError {
        let kind = if self.unavailable { diia_qr_domain::RuleKind::Unavailable } else { diia_qr_domain::RuleKind::Invalid };
        EngineError::Rule { code: self.code, kind, diia_code: None, message: self.message }
    }
}

impl KepTrust {
    fn check(
        &self,
        signature: &[u8],
        content: &[u8],
        window: (DateTime<Utc>, DateTime<Utc>),
        now: DateTime<Utc>,
    ) -> Result<KepSignature, KepRefusal> {
        let verified = verify_detached(signature, content, &self.anchors).map_err(|e| match e {
            VerifyError::ContentMismatch => KepRefusal::new("kep-signature-mismatch", "підпис зроблено не над цим документом"),
            VerifyError::UntrustedSigner(reason) if reason.contains("expired") => {
                KepRefusal::new("kep-certificate-expired", "строк дії сертифіката КЕП минув на час підпису")
            }
            VerifyError::UntrustedSigner(reason) => {
                KepRefusal::new("kep-certificate-untrusted", format!("сертифікат КЕП не видав довірений кваліфікований надавач: {reason}"))
            }
            VerifyError::Malformed(reason) => KepRefusal::new("kep-signature-invalid", format!("це не підпис CMS: {reason}")),
            VerifyError::Other(reason) => KepRefusal::new("kep-signature-invalid", format!("підпис не перевірено: {reason}")),
        })?;
        let signed_at = verified.signing_time.unwrap_or(now);
        if signed_at < window.0 || signed_at > window.1 {
            return Err(KepRefusal::new("kep-signature-time", "час підпису поза строком, у який його чекали"));
        }
        self.revocation.check(&verified.signer_certificate, signed_at, now).map_err(|e| match e {
            RevocationError::Revoked(_) => KepRefusal::new("kep-certificate-revoked", format!("сертифікат КЕП {e}")),
            other => KepRefusal {
                code: "kep-revocation-unknown",
                message: format!("не вдалося перевірити відкликання сертифіката КЕП: {other}"),
                unavailable: true,
            },
        })?;
        let identity =
            QualifiedIdentity::of(&verified.signer_certificate).map_err(|e| KepRefusal::new("kep-identity-missing", e.to_string()))?;
        Ok(KepSignature { identity, signed_at })
    }
}

impl Engine {
    /// Checks a detached КЕП signature over `content`: the CMS is intact, its signer chains to a
    /// configured qualified CA and was valid at the signing time, which lies inside `window`, may
    /// sign, is unrevoked by its CA's current CRL, and names a person (РНОКПП) in its subject.
    /// The checks are CPU work (RSA, chain building, CRL lookup): they run on a blocking thread,
    /// so a flood of signatures cannot stall the requests the executor serves meanwhile.
    pub async fn check_kep(
        &self,
        signature: Vec<u8>,
        content: Vec<u8>,
        window: (DateTime<Utc>, DateTime<Utc>),
        now: DateTime<Utc>,
    ) -> Result<KepSignature, KepRefusal> {
        let kep = self.kep.clone();
        tokio::task::spawn_blocking(move || kep.check(&signature, &content, window, now))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// A session's claims, if its token verifies and it was not ended.
    pub async fn session(&self, token: &str) -> Result<VerifiedSession, SessionError> {
        let session = self.sessions.verify(token)?;
        let partner_id = match &session.claims {
            Claims::Partner { identity, .. } => Some(identity.partner_id()),
            _ => None,
        };
        // Signed out, or a partner's session issued before the partner was suspended.
        let ended: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM ended_sessions WHERE session_id = $1)
                 OR EXISTS (SELECT 1 FROM partner_sessions_ended WHERE partner_id = $2 AND ended_at >= to_timestamp($3 / 1000.0))",
        )
        .bind(session.id)
        .bind(partner_id)
        .bind(session.issued_at as f64)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not look up whether a session was ended");
            SessionError::Unavailable
        })?;
        if ended {
            Err(SessionError::Ended)
        } else {
            Ok(session)
        }
    }

    /// Ends the session of `token` (sign-out): it is refused from now on, on every instance.
    pub async fn end_session(&self, token: &str) -> Result<(), EngineError> {
        let session = self.sessions.verify(token).map_err(|e| refused("session-invalid", e))?;
        let expires = DateTime::from_timestamp(session.expires_at(), 0).unwrap_or_else(Utc::now);
        sqlx::query("INSERT INTO ended_sessions (session_id, ended_at, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(session.id)
            .bind(self.clock.now())
            .bind(expires)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A one-time challenge for a partner's КЕП sign-in.
    pub async fn kep_challenge(&self) -> Result<SignInChallenge, EngineError> {
        self.issue_challenge(Audience::Partner).await
    }

    /// A one-time challenge for an operator's КЕП sign-in.
    pub async fn operator_kep_challenge(&self) -> Result<SignInChallenge, EngineError> {
        self.issue_challenge(Audience::Operator).await
    }

    /// A one-time challenge for a КЕП sign-in at `audience`'s door, valid for five minutes.
    /// Expired challenges older than a day are swept as new ones are made.
    async fn issue_challenge(&self, audience: Audience) -> Result<SignInChallenge, EngineError> {
        let now = self.clock.now();
        let challenge_id = Uuid::new_v4();
        let mut nonce = [0u8; 32];
        openssl::rand::rand_bytes(&mut nonce).map_err(|e| EngineError::Internal(e.to_string()))?;
        let expires_at = now + Duration::minutes(CHALLENGE_MINUTES);
        let text = format!(
            "Дія.QR: {}\nАдреса: {}\nЗапит: {challenge_id}\nОдноразовий код: {}\nДійсний до: {}\n",
            audience.door(),
            self.settings.public_base_url,
            BASE64_URL_SAFE_NO_PAD.encode(nonce),
            expires_at.format("%Y-%m-%dT%H:%M:%SZ"),
        );
        sqlx::query("DELETE FROM kep_challenges WHERE ctid IN (SELECT ctid FROM kep_challenges WHERE expires_at < $1 LIMIT 100)")
            .bind(now - Duration::days(1))
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO kep_challenges (challenge_id, text, issued_at, expires_at, audience) VALUES ($1, $2, $3, $4, $5)")
            .bind(challenge_id)
            .bind(&text)
            .bind(now)
            .bind(expires_at)
            .bind(audience.as_str())
            .execute(&self.pool)
            .await?;
        Ok(SignInChallenge { challenge_id, text, expires_at })
    }

    /// Signs a partner's head in: `signature_base64` must be a CMS signature over the
    /// challenge's exact text, made within its five minutes by a certificate that chains to a
    /// configured qualified CA, was valid and unrevoked then, may sign, and names its holder. The
    /// challenge is used up by the first sign-in that passes.
    pub async fn kep_sign_in(&self, challenge_id: Uuid, signature_base64: &str) -> Result<PartnerSignedIn, EngineError> {
        let qualified = self.answer_challenge(Audience::Partner, challenge_id, signature_base64, |q| partner_of(q).map(|_| ())).await?;
        let identity = partner_of(&qualified)?;
        let partner_id = identity.partner_id();
        let (organisation_name, head_full_name) = (identity.organisation_name.clone(), identity.head.full_name.clone());
        let token = self.sessions.partner(identity);
        let expires_at = self.session_expiry(&token);
        Ok(PartnerSignedIn { token, partner_id, expires_at, organisation_name, head_full_name, head_title: qualified.title })
    }

    /// Signs an operator in, as a partner's head is signed in, but at the operators' door: the
    /// certificate's РНОКПП must be one the configuration names as an operator's.
    pub async fn operator_kep_sign_in(&self, challenge_id: Uuid, signature_base64: &str) -> Result<OperatorSignedIn, EngineError> {
        let is_operator = |q: &QualifiedIdentity| {
            if self.kep.operators.contains(&q.rnokpp) {
                Ok(())
            } else {
                Err(refused("kep-not-an-operator", "власник цього сертифіката КЕП не є оператором Дія.QR"))
            }
        };
        let qualified = self.answer_challenge(Audience::Operator, challenge_id, signature_base64, is_operator).await?;
        let token = self.sessions.operator(qualified.full_name.clone());
        let expires_at = self.session_expiry(&token);
        Ok(OperatorSignedIn { token, expires_at, full_name: qualified.full_name })
    }

    fn session_expiry(&self, token: &str) -> DateTime<Utc> {
        self.sessions.verify(token).ok().and_then(|s| DateTime::from_timestamp(s.expires_at(), 0)).unwrap_or_else(|| self.clock.now())
    }

    /// Checks a signed challenge of `audience` and uses it up: the signer's КЕП as
    /// [`Engine::check_kep`] checks it, and `admit`'s say on who they are. Returns whom the
    /// certificate names.
    async fn answer_challenge(
        &self,
        audience: Audience,
        challenge_id: Uuid,
        signature_base64: &str,
        admit: impl Fn(&QualifiedIdentity) -> Result<(), EngineError>,
    ) -> Result<QualifiedIdentity, EngineError> {
        let now = self.clock.now();
        let signature = BASE64_STANDARD
            .decode(signature_base64.trim())
            .map_err(|_| EngineError::invalid("kep-signature-not-base64", "підпис має бути в base64 (DER CMS)"))?;
        let row: Option<StoredChallenge> =
            sqlx::query_as("SELECT audience, text, issued_at, expires_at, used_at FROM kep_challenges WHERE challenge_id = $1")
                .bind(challenge_id)
                .fetch_optional(&self.pool)
                .await?;
        // A challenge made for the other door is as unknown here as one never made.
        let StoredChallenge { text, issued_at, expires_at, used_at, .. } = row
            .filter(|c| c.audience == audience.as_str())
            .ok_or_else(|| refused("kep-challenge-unknown", "такого запиту на вхід немає: отримайте новий"))?;
        if used_at.is_some() {
            return Err(refused("kep-challenge-used", "цей запит на вхід уже використано: отримайте новий"));
        }
        if expires_at < now {
            return Err(refused("kep-challenge-expired", "час запиту на вхід минув: отримайте новий і підпишіть його за 5 хвилин"));
        }

        // The signer's claimed time must fall within the challenge's life: a signature made for
        // another time is not this sign-in's.
        let window = (issued_at - Duration::seconds(CLOCK_SKEW_SECONDS), expires_at);
        let qualified = self.check_kep(signature, text.into_bytes(), window, now).await.map_err(KepRefusal::signing_in)?.identity;
        admit(&qualified)?;

        let consumed =
            sqlx::query("UPDATE kep_challenges SET used_at = $2 WHERE challenge_id = $1 AND used_at IS NULL AND expires_at >= $2")
                .bind(challenge_id)
                .bind(now)
                .execute(&self.pool)
                .await?;
        if consumed.rows_affected() != 1 {
            return Err(refused("kep-challenge-used", "цей запит на вхід уже використано: отримайте новий"));
        }
        Ok(qualified)
    }

    /// Whether the development sign-ins answer (`--dev-sign-in`).
    pub fn dev_sign_in_enabled(&self) -> bool {
        self.settings.dev_sign_in
    }

    pub fn require_dev_sign_in(&self) -> Result<(), EngineError> {
        if self.settings.dev_sign_in {
            Ok(())
        } else {
            Err(EngineError::not_found("route-not-found", "такої адреси в API немає"))
        }
    }

    /// A partner session and the partner id it acts for (development sign-in).
    pub fn dev_partner_session(&self, sign_in: DevPartnerSignIn) -> Result<(String, Uuid), EngineError> {
        self.require_dev_sign_in()?;
        let rnokpp = Rnokpp::parse(&sign_in.head_rnokpp).map_err(invalid_identifier)?;
        let kind = match sign_in.kind.as_str() {
            "legal_entity" => {
                let edrpou = sign_in
                    .edrpou
                    .as_deref()
                    .ok_or_else(|| EngineError::invalid("identifier-invalid", "для юридичної особи потрібен ЄДРПОУ"))?;
                PartnerKind::LegalEntity { edrpou: Edrpou::parse(edrpou).map_err(invalid_identifier)? }
            }
            "sole_proprietor" => PartnerKind::SoleProprietor { rnokpp: rnokpp.clone() },
            other => {
                let message = format!("невідомий вид партнера «{other}»: legal_entity або sole_proprietor");
                return Err(EngineError::invalid("partner-kind-invalid", message));
            }
        };
        let full_name = sign_in.head_full_name.trim().to_string();
        if full_name.is_empty() {
            return Err(EngineError::invalid("head-name-empty", "вкажіть ПІБ керівника"));
        }
        let identity = PartnerIdentity { kind, organisation_name: sign_in.organisation_name, head: Head { rnokpp, full_name } };
        let partner_id = identity.partner_id();
        Ok((self.sessions.partner(identity), partner_id))
    }

    /// A citizen session for anyone the registries know (development sign-in, standing for the
    /// Diia app).
    pub async fn dev_citizen_session(&self, rnokpp: &str) -> Result<String, EngineError> {
        self.require_dev_sign_in()?;
        let rnokpp = Rnokpp::parse(rnokpp).map_err(invalid_identifier)?;
        self.known_citizen(&rnokpp).await?;
        Ok(self.sessions.citizen(rnokpp))
    }

    /// An operator session (development sign-in).
    pub fn dev_operator_session(&self, name: &str) -> Result<String, EngineError> {
        self.require_dev_sign_in()?;
        let name = name.trim();
        if name.is_empty() {
            return Err(EngineError::invalid("operator-name-empty", "вкажіть ім'я оператора"));
        }
        Ok(self.sessions.operator(name.to_string()))
    }
}

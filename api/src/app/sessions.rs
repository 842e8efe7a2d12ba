//! Sign-in sessions: a bearer token is a claim (a session id, who, which role, since and until
//! when) sealed with AES-256-GCM under a key derived from the sessions key: opaque to whoever
//! holds it (a token copied from a log or a browser shows no РНОКПП or name), and any change to
//! it fails its tag. Partners earn one by signing a challenge with their КЕП
//! (`sign_in`); the development sign-ins, behind `--dev-sign-in`, stand for the Diia app and the
//! staff's КЕП. A session ends at its expiry, or earlier when its holder signs out (its id is
//! then listed in `ended_sessions`), or when an operator suspends its partner (every partner
//! session issued before is ended: `partner_sessions_ended`). Rotating the sessions key ends
//! every session and nothing else.

use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD};
use chrono::Duration;
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_projections::keys::{KeyPurpose, KeyRing};
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::clock::Clock;
use super::identity::PartnerIdentity;

/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Claims {
    Partner { identity: PartnerIdentity, exp: i64 },
    Citizen { rnokpp: Rnokpp, exp: i64 },
    Operator { name: String, exp: i64 },
}

impl Claims {
    fn expires_at(&self) -> i64 {
        match self {
            Self::Partner { exp, .. } | Self::Citizen { exp, .. } | Self::Operator { exp, .. } => *exp,
        }
    }
}

/// What a token carries: its session's id and the claims.
#[derive(Debug, Serialize, Deserialize)]
struct Body {
    sid: Uuid,
    /// When it was issued (engine clock, Unix milliseconds).
    iat: i64,
    #[serde(flatten)]
    claims: Claims,
}

/// A token that verified: the session it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSession {
    pub id: Uuid,
    pub issued_at: i64,
    pub claims: Claims,
}

impl VerifiedSession {
    pub fn expires_at(&self) -> i64 {
        self.claims.expires_at()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("сесія недійсна: увійдіть знову")]
    Invalid,
    #[error("сесія завершилася: увійдіть знову")]
    Expired,
    #[error("ви вийшли з цієї сесії: увійдіть знову")]
    Ended,
    /// Whether it was ended could not be looked up: the database is down. Not the caller's fault,
    /// and not a reason to sign in again.
    #[error("сесію зараз не перевірити: сховище тимчасово недоступне, спробуйте ще раз")]
    Unavailable,
}

/// A role a session can hold, and the identity it gives a handler.
pub trait Role {
    type Identity;
    /// Shown when a session of another role is presented.
    const REQUIRED: &'static str;
    fn identity(claims: Claims) -> Option<Self::Identity>;
}

/// The signed-in head of a partner.
pub struct PartnerRole;
/// The signed-in citizen.
pub struct CitizenRole;
/// A signed-in operator of the service (moderation, suspensions).
pub struct OperatorRole;

impl Role for PartnerRole {
    type Identity = PartnerIdentity;
    const REQUIRED: &'static str = "потрібна сесія партнера";
    fn identity(claims: Claims) -> Option<PartnerIdentity> {
        match claims {
            Claims::Partner { identity, .. } => Some(identity),
            _ => None,
        }
    }
}

impl Role for CitizenRole {
    type Identity = Rnokpp;
    const REQUIRED: &'static str = "потрібна сесія громадянина";
    fn identity(claims: Claims) -> Option<Rnokpp> {
        match claims {
            Claims::Citizen { rnokpp, .. } => Some(rnokpp),
            _ => None,
        }
    }
}

impl Role for OperatorRole {
    type Identity = String;
    const REQUIRED: &'static str = "потрібна сесія оператора";
    fn identity(claims: Claims) -> Option<String> {
        match claims {
            Claims::Operator { name, .. } => Some(name),
            _ => None,
        }
    }
}

pub struct Sessions {
    /// AES-256-GCM key of the tokens, derived from the sessions key.
    key: [u8; 32],
    clock: Clock,
}

const NONCE: usize = 12;
const TAG: usize = 16;
const AAD: &[u8] = b"diia-qr session v2";

impl Sessions {
    pub fn new(keys: &KeyRing, clock: Clock) -> Self {
        let mac = keys.key(KeyPurpose::Sessions).mac(b"session token encryption");
        let mut key = [0u8; 32];
        key.copy_from_slice(&mac[..32]);
        Self { key, clock }
    }

    fn expiry(&self) -> i64 {
        (self.clock.now() + Duration::hours(SESSION_HOURS)).timestamp()
    }

    pub fn partner(&self, identity: PartnerIdentity) -> String {
        self.sign(&Claims::Partner { identity, exp: self.expiry() })
    }

    pub fn citizen(&self, rnokpp: Rnokpp) -> String {
        self.sign(&Claims::Citizen { rnokpp, exp: self.expiry() })
    }

    pub fn operator(&self, name: String) -> String {
        self.sign(&Claims::Operator { name, exp: self.expiry() })
    }

    fn sign(&self, claims: &Claims) -> String {
        let body = Body { sid: Uuid::new_v4(), iat: self.clock.now().timestamp_millis(), claims: claims.clone() };
        let plain = serde_json::to_vec(&body).expect("claims serialise");
        let mut nonce = [0u8; NONCE];
        openssl::rand::rand_bytes(&mut nonce).expect("the system's random source");
        let mut tag = [0u8; TAG];
        let sealed = encrypt_aead(Cipher::aes_256_gcm(), &self.key, Some(&nonce), AAD, &plain, &mut tag).expect("AES-256-GCM");
        BASE64_URL_SAFE_NO_PAD.encode([&nonce[..], &sealed, &tag].concat())
    }

    /// The session of a token this service signed and that has not expired (whether it was
    /// ended is the caller's to ask: `Engine::session`).
    pub fn verify(&self, token: &str) -> Result<VerifiedSession, SessionError> {
        // Longer than any session: not decoded at all.
        if token.len() > 4096 {
            return Err(SessionError::Invalid);
        }
        let raw = BASE64_URL_SAFE_NO_PAD.decode(token).map_err(|_| SessionError::Invalid)?;
        if raw.len() <= NONCE + TAG {
            return Err(SessionError::Invalid);
        }
        let (nonce, rest) = raw.split_at(NONCE);
        let (sealed, tag) = rest.split_at(rest.len() - TAG);
        let plain = decrypt_aead(Cipher::aes_256_gcm(), &self.key, Some(nonce), AAD, sealed, tag).map_err(|_| SessionError::Invalid)?;
        let body: Body = serde_json::from_slice(&plain).map_err(|_| SessionError::Invalid)?;
        if body.claims.expires_at() < self.clock.now().timestamp() {
            return Err(SessionError::Expired);
        }
        Ok(VerifiedSession { id: body.sid, issued_at: body.iat, claims: body.claims })
    }
}

#[cfg(test)]
mod tests {
    use diia_qr_projections::keys::KeyGenerations;

    use super::*;

    fn sessions(generations: KeyGenerations, clock: &Clock) -> Sessions {
        Sessions::new(&KeyRing::derive(b"secret", generations).unwrap(), clock.clone())
    }
    fn rnokpp() -> Rnokpp {
        Rnokpp::parse("3294600243").unwrap()
    }

    #[test]
    fn a_session_verifies_until_it_expires_after_twelve_hours() {
        let clock = Clock::shiftable();
        let s = sessions(KeyGenerations::default(), &clock);
        let token = s.citizen(rnokpp());
        assert!(matches!(s.verify(&token).map(|v| v.claims), Ok(Claims::Citizen { .. })));
        clock.advance(Duration::hours(SESSION_HOURS) - Duration::minutes(1));
        assert!(s.verify(&token).is_ok(), "still valid a minute before the end");
        clock.advance(Duration::minutes(2));
        assert_eq!(s.verify(&token), Err(SessionError::Expired));
    }

    #[test]
    fn an_altered_or_foreign_token_is_invalid() {
        let clock = Clock::system();
        let s = sessions(KeyGenerations::default(), &clock);
        let token = s.operator("Оксана".into());
        let forged = BASE64_URL_SAFE_NO_PAD
            .encode(br#"{"sid":"00000000-0000-0000-0000-000000000000","iat":0,"role":"operator","name":"Mallory","exp":99999999999}"#);
        let mut flipped = BASE64_URL_SAFE_NO_PAD.decode(&token).unwrap();
        flipped[20] ^= 1;
        let flipped = BASE64_URL_SAFE_NO_PAD.encode(flipped);
        for bad in [forged, flipped, token[1..].to_string(), String::new(), "a.b".into(), "A".repeat(5000)] {
            assert_eq!(s.verify(&bad), Err(SessionError::Invalid), "{bad}");
        }
        let rotated = sessions(KeyGenerations { sessions: 2, ..KeyGenerations::default() }, &clock);
        assert_eq!(rotated.verify(&token), Err(SessionError::Invalid), "a rotated sessions key ends every session");
    }

    #[test]
    fn a_token_shows_nothing_of_its_holder() {
        let s = sessions(KeyGenerations::default(), &Clock::system());
        let token = s.citizen(rnokpp());
        let raw = BASE64_URL_SAFE_NO_PAD.decode(&token).unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains("3294600243") && !text.contains("citizen") && !token.contains('.'), "{text}");
        assert_ne!(token, s.citizen(rnokpp()), "each session its own nonce and id");
    }

    #[test]
    fn each_role_takes_only_its_own_claims() {
        let s = sessions(KeyGenerations::default(), &Clock::system());
        let citizen = s.verify(&s.citizen(rnokpp())).unwrap().claims;
        assert_eq!(CitizenRole::identity(citizen.clone()), Some(rnokpp()));
        assert_eq!(OperatorRole::identity(citizen.clone()), None);
        assert!(PartnerRole::identity(citizen).is_none());
    }
}

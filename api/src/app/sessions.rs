//! Sign-in sessions: a bearer token is a claim (a session id, who, which role, until when) with a
//! MAC under the sessions key. Partners earn one by signing a challenge with their КЕП
//! (`sign_in`); the development sign-ins, behind `--dev-sign-in`, stand for the Diia app and the
//! staff's КЕП. A session ends at its expiry, or earlier when its holder signs out (its id is
//! then listed in `ended_sessions`). Rotating the sessions key ends every session and nothing
//! else.

use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD};
use chrono::Duration;
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_projections::keys::{KeyPurpose, KeyRing, PurposeKey};
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
    #[serde(flatten)]
    claims: Claims,
}

/// A token that verified: the session it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSession {
    pub id: Uuid,
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
    key: PurposeKey,
    clock: Clock,
}

impl Sessions {
    pub fn new(keys: &KeyRing, clock: Clock) -> Self {
        Self { key: keys.key(KeyPurpose::Sessions).clone(), clock }
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
        let body = Body { sid: Uuid::new_v4(), claims: claims.clone() };
        let body = BASE64_URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).expect("claims serialise"));
        let mac = BASE64_URL_SAFE_NO_PAD.encode(self.key.mac(format!("session\n{body}").as_bytes()));
        format!("{body}.{mac}")
    }

    /// The session of a token this service signed and that has not expired (whether it was
    /// ended is the caller's to ask: `Engine::session`).
    pub fn verify(&self, token: &str) -> Result<VerifiedSession, SessionError> {
        let (body, mac) = token.split_once('.').ok_or(SessionError::Invalid)?;
        let mac = BASE64_URL_SAFE_NO_PAD.decode(mac).map_err(|_| SessionError::Invalid)?;
        if !self.key.verify(format!("session\n{body}").as_bytes(), &mac) {
            return Err(SessionError::Invalid);
        }
        let body: Body =
            BASE64_URL_SAFE_NO_PAD.decode(body).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(SessionError::Invalid)?;
        if body.claims.expires_at() < self.clock.now().timestamp() {
            return Err(SessionError::Expired);
        }
        Ok(VerifiedSession { id: body.sid, claims: body.claims })
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
        let (body, mac) = token.split_once('.').unwrap();
        let forged_body = BASE64_URL_SAFE_NO_PAD.encode(br#"{"role":"operator","name":"Mallory","exp":99999999999}"#);
        for bad in [format!("{forged_body}.{mac}"), format!("{body}.{}", &mac[1..]), body.to_string(), String::new(), "a.b".into()] {
            assert_eq!(s.verify(&bad), Err(SessionError::Invalid), "{bad}");
        }
        let rotated = sessions(KeyGenerations { sessions: 2, ..KeyGenerations::default() }, &clock);
        assert_eq!(rotated.verify(&token), Err(SessionError::Invalid), "a rotated sessions key ends every session");
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

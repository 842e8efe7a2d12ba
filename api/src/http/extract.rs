//! Extractors whose rejections are problem details, and the sign-in sessions behind one
//! extractor per role. Sign-in is a development placeholder for КЕП (partners) and Diia
//! (citizens): a session is an HMAC-signed claim, so swapping sign-in leaves handlers as they are.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::Json;
use base64::prelude::{Engine as _, BASE64_URL_SAFE_NO_PAD};
use chrono::Utc;
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_projections::codes::hmac_sha256;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::problem::ApiError;
use super::AppState;
use crate::engine::PartnerIdentity;

/// `Json<T>` whose rejection is a problem response.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Ok(Self(Json::<T>::from_request(req, state).await?.0))
    }
}

/// `Path<T>` whose rejection is a problem response.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Ok(Self(Path::<T>::from_request_parts(parts, state).await?.0))
    }
}

/// `Query<T>` whose rejection is a problem response.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Ok(Self(Query::<T>::from_request_parts(parts, state).await?.0))
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
enum Claims {
    Partner { identity: PartnerIdentity, exp: i64 },
    Citizen { rnokpp: Rnokpp, exp: i64 },
    Operator { name: String, exp: i64 },
}

const SESSION_HOURS: i64 = 12;

fn sign(secret: &[u8], claims: &Claims) -> String {
    let body = BASE64_URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let mac = BASE64_URL_SAFE_NO_PAD.encode(hmac_sha256(secret, format!("session\n{body}").as_bytes()));
    format!("{body}.{mac}")
}

fn verify(secret: &[u8], token: &str) -> Result<Claims, ApiError> {
    let invalid = || ApiError::unauthorized("сесія недійсна: увійдіть знову");
    let (body, mac) = token.split_once('.').ok_or_else(invalid)?;
    let expected = BASE64_URL_SAFE_NO_PAD.encode(hmac_sha256(secret, format!("session\n{body}").as_bytes()));
    if expected.len() != mac.len() || !openssl::memcmp::eq(expected.as_bytes(), mac.as_bytes()) {
        return Err(invalid());
    }
    let claims: Claims = BASE64_URL_SAFE_NO_PAD.decode(body).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(invalid)?;
    let exp = match &claims {
        Claims::Partner { exp, .. } | Claims::Citizen { exp, .. } | Claims::Operator { exp, .. } => *exp,
    };
    if exp < Utc::now().timestamp() {
        return Err(ApiError::unauthorized("сесія завершилася: увійдіть знову"));
    }
    Ok(claims)
}

pub fn partner_session_token(secret: &[u8], identity: PartnerIdentity) -> String {
    sign(secret, &Claims::Partner { identity, exp: Utc::now().timestamp() + SESSION_HOURS * 3600 })
}

pub fn operator_session_token(secret: &[u8], name: String) -> String {
    sign(secret, &Claims::Operator { name, exp: Utc::now().timestamp() + SESSION_HOURS * 3600 })
}

pub fn citizen_session_token(secret: &[u8], rnokpp: Rnokpp) -> String {
    sign(secret, &Claims::Citizen { rnokpp, exp: Utc::now().timestamp() + SESSION_HOURS * 3600 })
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("потрібен заголовок Authorization: Bearer <сесія>"))
}

/// The signed-in head of a partner.
pub struct PartnerSession(pub PartnerIdentity);

impl FromRequestParts<AppState> for PartnerSession {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match verify(state.engine.secret(), bearer(parts)?)? {
            Claims::Partner { identity, .. } => Ok(Self(identity)),
            _ => Err(ApiError::unauthorized("потрібна сесія партнера")),
        }
    }
}

/// The signed-in citizen.
pub struct CitizenSession(pub Rnokpp);

impl FromRequestParts<AppState> for CitizenSession {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match verify(state.engine.secret(), bearer(parts)?)? {
            Claims::Citizen { rnokpp, .. } => Ok(Self(rnokpp)),
            _ => Err(ApiError::unauthorized("потрібна сесія громадянина")),
        }
    }
}

/// A signed-in operator of the service (moderation, suspensions).
pub struct OperatorSession(pub String);

impl FromRequestParts<AppState> for OperatorSession {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match verify(state.engine.secret(), bearer(parts)?)? {
            Claims::Operator { name, .. } => Ok(Self(name)),
            _ => Err(ApiError::unauthorized("потрібна сесія оператора")),
        }
    }
}

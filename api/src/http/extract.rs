//! Extractors whose rejections are problem details, and the one session extractor, generic over
//! the role it requires: `Session<PartnerRole>`, `Session<CitizenRole>`, `Session<OperatorRole>`.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;

use super::problem::ApiError;
use super::AppState;
use crate::app::sessions::Role;

/// `Json<T>` whose rejection is a problem response.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<serde_json::Value>::from_request(req, state).await?;
        if holds_nul(&value) {
            return Err(nul_refused());
        }
        T::deserialize(value)
            .map(Self)
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "json-does-not-fit", format!("JSON не прийнято: {e}")))
    }
}

/// PostgreSQL text cannot hold U+0000, and no field of this API means one: a NUL anywhere in a
/// request is refused at the door, before it could reach a rule or a statement.
fn holds_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match value {
        V::String(s) => s.contains('\0'),
        V::Array(items) => items.iter().any(holds_nul),
        V::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        V::Null | V::Bool(_) | V::Number(_) => false,
    }
}

fn nul_refused() -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "text-has-nul", "запит містить нульовий символ (U+0000): приберіть його")
}

/// `%00` in a path or query: the same refusal as a NUL in a body.
fn uri_holds_nul(text: Option<&str>) -> bool {
    text.is_some_and(|t| t.as_bytes().windows(3).any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0'))
}

/// `Path<T>` whose rejection is a problem response.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if uri_holds_nul(Some(parts.uri.path())) {
            return Err(nul_refused());
        }
        Ok(Self(Path::<T>::from_request_parts(parts, state).await?.0))
    }
}

/// `Query<T>` whose rejection is a problem response.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if uri_holds_nul(parts.uri.query()) {
            return Err(nul_refused());
        }
        Ok(Self(Query::<T>::from_request_parts(parts, state).await?.0))
    }
}

/// The bearer token of a request.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("потрібен заголовок Authorization: Bearer <сесія>"))
}

/// The signed-in identity of role `R`; any other session, or none, is 401.
pub struct Session<R: Role>(pub R::Identity);

impl<R: Role> FromRequestParts<AppState> for Session<R> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let session = state.engine.session(bearer_token(&parts.headers)?).await?;
        R::identity(session.claims).map(Self).ok_or_else(|| ApiError::unauthorized(R::REQUIRED))
    }
}

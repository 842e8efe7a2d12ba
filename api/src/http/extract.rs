//! Extractors whose rejections are problem details, and the one session extractor, generic over
//! the role it requires: `Session<PartnerRole>`, `Session<CitizenRole>`, `Session<OperatorRole>`.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
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

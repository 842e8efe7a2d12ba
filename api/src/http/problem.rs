//! Errors as RFC 9457 problem details (`application/problem+json`), in one place: rule
//! violations, malformed input, unknown routes and internal failures all take this shape. A
//! rule's status follows from its kind alone.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use diia_qr_domain::RuleKind;
use serde::Serialize;

use crate::app::sessions::SessionError;
use crate::app::EngineError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable machine code; the problem `type` is `/problems/<code>`.
    pub code: &'static str,
    pub detail: String,
    pub diia_code: Option<u32>,
}

/// The problem document as sent.
#[derive(Debug, Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    problem_type: String,
    title: &'static str,
    status: u16,
    detail: &'a str,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    diia_code: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into(), diia_code: None }
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
}

fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Неправильний запит",
        401 => "Потрібно увійти",
        403 => "Доступ заборонено",
        404 => "Не знайдено",
        405 => "Метод не підтримується",
        409 => "Конфлікт",
        410 => "Час минув",
        413 => "Завеликий запит",
        415 => "Непідтримуваний тип даних",
        422 => "Дію не виконано",
        429 => "Забагато спроб",
        503 => "Сервіс тимчасово недоступний",
        _ => "Внутрішня помилка",
    }
}

/// The HTTP status of each kind of refusal.
pub fn status_of(kind: RuleKind) -> StatusCode {
    match kind {
        RuleKind::NotFound => StatusCode::NOT_FOUND,
        RuleKind::Gone => StatusCode::GONE,
        RuleKind::Conflict => StatusCode::CONFLICT,
        RuleKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        RuleKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        RuleKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Rule { code, kind, diia_code, message } => Self { status: status_of(kind), code, detail: message, diia_code },
            EngineError::Conflict => Self::new(StatusCode::CONFLICT, "concurrent-modification", e.to_string()),
            EngineError::Unauthenticated { code, message } => Self::new(StatusCode::UNAUTHORIZED, code, message),
            EngineError::Unavailable(ref cause) => {
                tracing::error!(cause, "storage unavailable");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "storage-unavailable", "сервіс тимчасово недоступний, спробуйте за хвилину")
            }
            EngineError::Internal(ref cause) => {
                tracing::error!(cause, "internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "внутрішня помилка; її зафіксовано")
            }
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            // The database did not answer: a 503 to retry, never a 401 that sends people to sign in.
            SessionError::Unavailable => EngineError::Unavailable(e.to_string()).into(),
            other => Self::unauthorized(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "body-too-large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "content-type-not-json",
            StatusCode::UNPROCESSABLE_ENTITY => "json-does-not-fit",
            _ => "json-malformed",
        };
        let detail = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "тіло запиту завелике".to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "надішліть дані як JSON із заголовком Content-Type: application/json".to_string(),
            _ => format!("JSON не прийнято: {}", r.body_text()),
        };
        Self::new(status, code, detail)
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::new(StatusCode::NOT_FOUND, "path-invalid", format!("неправильний ідентифікатор у шляху: {}", r.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "query-invalid", format!("неправильні параметри запиту: {}", r.body_text()))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            problem_type: format!("/problems/{}", self.code),
            title: title(self.status),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
            diia_code: self.diia_code,
        };
        let body = serde_json::to_string(&problem).expect("a problem serialises");
        let mut response = (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response();
        response.extensions_mut().insert(super::metrics::ProblemCode(self.code));
        response
    }
}

#[cfg(test)]
mod tests {
    use diia_qr_domain::share_request::{DiiaSignatureError, ScanError, ShareRequestError};
    use diia_qr_domain::RuleViolation;

    use super::*;

    fn status(e: &impl RuleViolation) -> (StatusCode, &'static str) {
        let api = ApiError::from(EngineError::rule(e));
        (api.status, api.code)
    }

    #[test]
    fn each_kind_of_refusal_has_one_status() {
        assert_eq!(status(&ScanError::UnknownQr), (StatusCode::NOT_FOUND, "qr-unknown"));
        assert_eq!(status(&ScanError::RotatedQr), (StatusCode::GONE, "qr-rotated"));
        assert_eq!(status(&ScanError::ForgedQr), (StatusCode::UNPROCESSABLE_ENTITY, "qr-forged"));
        assert_eq!(status(&ShareRequestError::AlreadySent), (StatusCode::CONFLICT, "share-already-sent"));
        assert_eq!(status(&ShareRequestError::Finished("відхилено")), (StatusCode::CONFLICT, "share-finished"));
        assert_eq!(status(&ShareRequestError::Expired), (StatusCode::GONE, "share-expired"));
        assert_eq!(status(&ShareRequestError::Signature(DiiaSignatureError::Locked)), (StatusCode::TOO_MANY_REQUESTS, "signature-locked"));
        assert_eq!(
            status(&ShareRequestError::PhotoUnavailable("timeout".into())),
            (StatusCode::SERVICE_UNAVAILABLE, "photo-verification-unavailable")
        );
    }

    #[test]
    fn diia_codes_pass_through_and_internal_causes_do_not() {
        let missing = ApiError::from(EngineError::rule(&ShareRequestError::MissingDocuments(vec![])));
        assert_eq!(missing.diia_code, Some(12141002));
        let internal = ApiError::from(EngineError::Internal("password=hunter2 at db:5432".into()));
        assert_eq!((internal.status, internal.code), (StatusCode::INTERNAL_SERVER_ERROR, "internal"));
        assert!(!internal.detail.contains("hunter2"));
        assert_eq!(ApiError::from(EngineError::Conflict).status, StatusCode::CONFLICT);
        assert_eq!(ApiError::from(EngineError::Unavailable("down".into())).status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn sessions_that_fail_are_unauthorized_with_the_reason() {
        let expired = ApiError::from(SessionError::Expired);
        assert_eq!((expired.status, expired.code), (StatusCode::UNAUTHORIZED, "unauthorized"));
        assert!(expired.detail.contains("завершилася"));
        // A session the database could not check is the database's failure, not the caller's.
        assert_eq!(ApiError::from(SessionError::Unavailable).status, StatusCode::SERVICE_UNAVAILABLE);
    }
}

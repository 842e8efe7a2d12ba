//! Errors as RFC 9457 problem details (`application/problem+json`), in one place: rule
//! violations, malformed input, unknown routes and internal failures all take this shape.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::engine::EngineError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable machine code; the problem `type` is `/problems/<code>`.
    pub code: &'static str,
    pub detail: String,
    pub diia_code: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into(), diia_code: None }
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", format!("{what} не знайдено"))
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
        503 => "Сервіс тимчасово недоступний",
        _ => "Внутрішня помилка",
    }
}

/// The HTTP status of each domain rule, by its stable code.
fn status_of_rule(code: &str) -> StatusCode {
    match code {
        c if c.ends_with("-not-found") || c == "citizen-unknown" || c == "qr-unknown" || c == "qr-not-issued" => StatusCode::NOT_FOUND,
        "share-expired" | "qr-rotated" | "qr-revoked" | "qr-service-deactivated" => StatusCode::GONE,
        c if c.contains("already") || c == "share-finished" => StatusCode::CONFLICT,
        c if c.ends_with("-unavailable") => StatusCode::SERVICE_UNAVAILABLE,
        "signature-locked" => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Rule { code, diia_code, message } => Self { status: status_of_rule(code), code, detail: message, diia_code },
            EngineError::NotFound(code, message) => Self::new(StatusCode::NOT_FOUND, code, message),
            EngineError::Conflict => Self::new(StatusCode::CONFLICT, "concurrent-modification", e.to_string()),
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
        let mut body = json!({
            "type": format!("/problems/{}", self.code),
            "title": title(self.status),
            "status": self.status.as_u16(),
            "detail": self.detail,
            "code": self.code,
        });
        if let Some(d) = self.diia_code {
            body["diia_code"] = json!(d);
        }
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
    }
}

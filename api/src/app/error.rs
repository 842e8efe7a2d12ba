//! What the application layer answers when a use case does not succeed. Each variant says what
//! kind of failure it is; `http::problem` maps them to statuses without reading codes.

use cqrs_es::AggregateError;
use diia_qr_domain::{RuleKind, RuleViolation};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A rule refused the command (or a query found nothing the caller may see).
    #[error("{message}")]
    Rule { code: &'static str, kind: RuleKind, diia_code: Option<u32>, message: String },
    /// Another command changed the aggregate first (optimistic concurrency).
    #[error("запит змінено іншою дією одночасно з вашою; оновіть дані і спробуйте ще раз")]
    Conflict,
    /// The caller could not be signed in (a КЕП sign-in refused): a 401 with its reason.
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    #[error("сховище подій тимчасово недоступне: {0}")]
    Unavailable(String),
    #[error("внутрішня помилка: {0}")]
    Internal(String),
}

impl EngineError {
    pub fn rule(e: &impl RuleViolation) -> Self {
        Self::Rule { code: e.code(), kind: e.kind(), diia_code: e.diia_code(), message: e.to_string() }
    }

    /// Nothing the caller may see has this id; someone else's is "not found" too, never "forbidden".
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::Rule { code, kind: RuleKind::NotFound, diia_code: None, message: message.into() }
    }

    /// Input that breaks a rule checked by the application layer itself (formats, versions).
    pub fn invalid(code: &'static str, message: impl std::fmt::Display) -> Self {
        Self::Rule { code, kind: RuleKind::Invalid, diia_code: None, message: message.to_string() }
    }

    /// Too many of something in a while, counted by the application layer itself: try later.
    pub fn rate_limited(code: &'static str, message: impl std::fmt::Display) -> Self {
        Self::Rule { code, kind: RuleKind::RateLimited, diia_code: None, message: message.to_string() }
    }

    pub fn unauthenticated(code: &'static str, message: impl std::fmt::Display) -> Self {
        Self::Unauthenticated { code, message: message.to_string() }
    }

    /// The stable code of a refused rule, if this is one.
    pub fn rule_code(&self) -> Option<&'static str> {
        match self {
            Self::Rule { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl<E: RuleViolation> From<AggregateError<E>> for EngineError {
    fn from(err: AggregateError<E>) -> Self {
        match err {
            AggregateError::UserError(e) => Self::rule(&e),
            AggregateError::AggregateConflict => Self::Conflict,
            AggregateError::DatabaseConnectionError(e) => Self::Unavailable(e.to_string()),
            AggregateError::DeserializationError(e) | AggregateError::UnexpectedError(e) => Self::Internal(e.to_string()),
        }
    }
}

impl From<cqrs_es::persist::PersistenceError> for EngineError {
    fn from(e: cqrs_es::persist::PersistenceError) -> Self {
        use cqrs_es::persist::PersistenceError;
        match e {
            PersistenceError::OptimisticLockError => Self::Conflict,
            PersistenceError::ConnectionError(e) => Self::Unavailable(e.to_string()),
            PersistenceError::DeserializationError(e) | PersistenceError::UnknownError(e) => Self::Internal(e.to_string()),
        }
    }
}

/// Whether the database, not the request, is what failed: it is down, restarting, refusing
/// connections or out of them. Such a request can succeed when retried, so it is a 503.
pub fn database_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) => true,
        // SQLSTATE class 08 (connection exception), 57P01-57P03 (shut down by the administrator,
        // after a crash, or not yet accepting connections), class 53 (insufficient resources: the
        // disk full, out of memory, too many connections). The transaction was rolled back.
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P0") || c.starts_with("53")),
        _ => false,
    }
}

impl From<sqlx::Error> for EngineError {
    fn from(e: sqlx::Error) -> Self {
        if database_unavailable(&e) {
            Self::Unavailable(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}

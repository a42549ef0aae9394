//! The one error type of the use cases; the HTTP edge maps it to a status and a stable code.

use quoin_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is well-formed but a value breaks a rule (HTTP 422).
    #[error("{message}")]
    Invalid {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    /// The request cannot be read at all (HTTP 400).
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    /// Several problems at once (a catalog document); each names its field (HTTP 422).
    #[error("{}", summary(errors))]
    InvalidMany {
        code: &'static str,
        errors: Vec<(String, String)>,
    },
    #[error("missing or invalid API key")]
    Unauthenticated,
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{resource} `{id}` not found")]
    NotFound { resource: &'static str, id: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A payment gateway declined the charge (HTTP 402); the failed payment is recorded.
    #[error("{message}")]
    PaymentDeclined { code: &'static str, message: String },
    /// A dependency (a payment gateway) failed transiently; nothing was recorded (HTTP 503).
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    #[error("storage failure: {0}")]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// "path: message" for one problem; "N problems; first: path: message" for several.
fn summary(errors: &[(String, String)]) -> String {
    let first = errors
        .first()
        .map(|(f, m)| format!("{f}: {m}"))
        .unwrap_or_default();
    match errors.len() {
        1 => first,
        n => format!("{n} problems; first: {first}"),
    }
}

impl AppError {
    /// A transaction the database failed to break a deadlock (or to serialize it): running
    /// it again may succeed, so callers retry instead of reporting it.
    pub fn is_retryable_conflict(&self) -> bool {
        matches!(self, AppError::Store(e) if e.is_retryable_conflict())
    }

    /// A 422 naming the offending field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid {
            code: "invalid_field",
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn not_found(resource: &'static str, id: impl Into<String>) -> Self {
        AppError::NotFound {
            resource,
            id: id.into(),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid { .. } | AppError::InvalidMany { .. } => 422,
            AppError::BadRequest { .. } => 400,
            AppError::Unauthenticated => 401,
            AppError::Forbidden { .. } => 403,
            AppError::NotFound { .. } => 404,
            AppError::Conflict { .. } => 409,
            AppError::PaymentDeclined { .. } => 402,
            AppError::Unavailable { .. } => 503,
            AppError::Store(_) | AppError::Internal(_) => 500,
        }
    }

    /// Stable machine-readable code; clients branch on it, never on the message.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid { code, .. }
            | AppError::InvalidMany { code, .. }
            | AppError::BadRequest { code, .. }
            | AppError::Forbidden { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::PaymentDeclined { code, .. }
            | AppError::Unavailable { code, .. } => code,
            AppError::Unauthenticated => "unauthenticated",
            AppError::NotFound { .. } => "not_found",
            AppError::Store(_) | AppError::Internal(_) => "internal",
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } | AppError::BadRequest { field, .. } => {
                field.as_deref()
            }
            AppError::InvalidMany { errors, .. } => errors.first().map(|(f, _)| f.as_str()),
            // The credential is what is missing or wrong.
            AppError::Unauthenticated => Some("Authorization"),
            _ => None,
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

impl From<StoreError> for AppError {
    /// A unique-key violation that validation did not foresee (usually a concurrent write of
    /// the same code) is a conflict the client can retry, not a server failure.
    fn from(e: StoreError) -> Self {
        if e.is_unique_violation() {
            AppError::Conflict {
                code: "conflict",
                message: "a record with the same unique value was written concurrently; retry"
                    .into(),
            }
        } else {
            AppError::Store(e)
        }
    }
}

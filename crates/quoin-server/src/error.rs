//! The one error body of the API: `{code, message, field?, details?}` with a stable `code`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use quoin_app::AppError;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `invalid_field`, `not_found`, `unauthenticated`.
    pub code: String,
    pub message: String,
    /// The offending field as a path (`billing.bill_cycle_day`, `prices[0].amount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem when there are several: `[{field, message}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// An error on its way out as HTTP.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl ApiError {
    pub fn bad_request(
        code: &'static str,
        field: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError(AppError::BadRequest {
            code,
            field,
            message: message.into(),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = if status.is_server_error() {
            // Details of internal failures go to the log, not to the client.
            tracing::error!(error = %e, "request failed");
            "internal error; see the server log".to_string()
        } else {
            e.to_string()
        };
        let details = match &e {
            AppError::InvalidMany { errors, .. } => Some(serde_json::Value::Array(
                errors
                    .iter()
                    .map(|(field, message)| serde_json::json!({"field": field, "message": message}))
                    .collect(),
            )),
            _ => None,
        };
        let body = ErrorBody {
            code: e.code().to_string(),
            message,
            field: e.field().map(str::to_string),
            details,
        };
        (status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

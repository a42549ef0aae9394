//! TMF `Error` bodies: `{code, reason, message, status, @type: "Error"}`, plus the offending
//! `field` (and every problem in `details`) where Quoin names them.

use axum::http::header::{ALLOW, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use quoin_app::AppError;
use serde_json::{json, Value};

/// An error on its way out of the TMF facade (boxed: results stay small).
#[derive(Debug)]
pub struct TmfError(Box<Details>);

#[derive(Debug)]
struct Details {
    status: StatusCode,
    /// Stable machine-readable code (Quoin's codes: `not_found`, `invalid_field`, …).
    code: String,
    message: String,
    field: Option<String>,
    /// Every problem when Quoin found several: `[{field, message}]`.
    details: Option<Value>,
    /// The `Allow` header of a 405.
    allow: Option<&'static str>,
}

pub type TmfResult<T> = Result<T, TmfError>;

impl TmfError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        TmfError(Box::new(Details {
            status,
            code: code.to_string(),
            message: message.into(),
            field: None,
            details: None,
            allow: None,
        }))
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.0.field = Some(field.into());
        self
    }

    /// 400: the body or query cannot be used as sent.
    pub fn bad_request(code: &str, field: Option<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::BAD_REQUEST, code, message);
        e.0.field = field;
        e
    }

    /// 422: a value breaks a rule.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).with_field(field)
    }

    /// 422: a field the operation needs is missing.
    pub fn missing(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "missing_field", message).with_field(field)
    }

    /// 404 in the TMF form.
    pub fn not_found(resource: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{resource} `{id}` not found"),
        )
    }

    /// 405: the operation exists in TMF620 but Quoin does not offer it on this resource.
    pub fn not_allowed(allow: &'static str, message: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "operation_not_supported",
            message,
        );
        e.0.allow = Some(allow);
        e
    }

    /// Renames Quoin field paths to the TMF attributes they came from (first match wins).
    pub fn rename_fields(mut self, names: &[(&str, &str)]) -> Self {
        let rename = |f: &str| -> String {
            for (quoin, tmf) in names {
                if f == *quoin {
                    return (*tmf).to_string();
                }
                if let Some(rest) = f.strip_prefix(quoin) {
                    if rest.starts_with('.') || rest.starts_with('[') {
                        return format!("{tmf}{rest}");
                    }
                }
            }
            f.to_string()
        };
        self.0.field = self.0.field.as_deref().map(rename);
        if let Some(Value::Array(items)) = &mut self.0.details {
            for item in items {
                if let Some(Value::String(f)) = item.get_mut("field") {
                    *f = rename(f);
                }
            }
        }
        self
    }
}

impl From<AppError> for TmfError {
    fn from(e: AppError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = if status.is_server_error() {
            tracing::error!(error = %e, "TMF request failed");
            "internal error; see the server log".to_string()
        } else {
            e.to_string()
        };
        let details = match &e {
            AppError::InvalidMany { errors, .. } if errors.len() > 1 => Some(Value::Array(
                errors
                    .iter()
                    .map(|(field, message)| json!({"field": field, "message": message}))
                    .collect(),
            )),
            _ => None,
        };
        TmfError(Box::new(Details {
            status,
            code: e.code().to_string(),
            message,
            field: e.field().map(str::to_string),
            details,
            allow: None,
        }))
    }
}

impl IntoResponse for TmfError {
    fn into_response(self) -> Response {
        let e = *self.0;
        let mut body = json!({
            "code": e.code,
            "reason": e.status.canonical_reason().unwrap_or("Error"),
            "message": e.message,
            "status": e.status.as_u16().to_string(),
            "@type": "Error",
        });
        if let Some(field) = e.field {
            body["field"] = Value::String(field);
        }
        if let Some(details) = e.details {
            body["details"] = details;
        }
        let mut res = (
            e.status,
            [(CONTENT_TYPE, super::list::JSON_UTF8)],
            body.to_string(),
        )
            .into_response();
        if let Some(allow) = e.allow {
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
        }
        res
    }
}

//! Extractors that turn bad input into the API's error body with the field named.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use bytes::Bytes;
use quoin_app::Principal;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. An empty body reads as `{}` so all-optional bodies may be omitted.
pub struct ApiJson<T>(pub T);

/// Joins a serde path (`.` for the root) with a field name.
fn join(path: &str, name: &str) -> String {
    if path.is_empty() || path == "." {
        name.to_string()
    } else if path.ends_with(name) {
        path.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The name between the first pair of backticks of a serde message, if any.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

fn describe(path: String, message: String, syntax: bool) -> ApiError {
    if syntax {
        return ApiError::bad_request(
            "malformed_json",
            None,
            format!("request body is not valid JSON: {message}"),
        );
    }
    let (code, field) = if message.starts_with("unknown field") {
        ("unknown_field", quoted(&message).map(|n| join(&path, n)))
    } else if message.starts_with("missing field") {
        ("missing_field", quoted(&message).map(|n| join(&path, n)))
    } else {
        ("invalid_field", Some(path.clone()).filter(|p| p != "."))
    };
    ApiError::bad_request(code, field, message)
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if let Some(ct) = req.headers().get(CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("");
            if !ct.starts_with("application/json") {
                return Err(ApiError::bad_request(
                    "unsupported_content_type",
                    None,
                    format!("expected Content-Type application/json, got `{ct}`"),
                ));
            }
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request("unreadable_body", None, e.to_string()))?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        match serde_path_to_error::deserialize(de) {
            Ok(v) => Ok(ApiJson(v)),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let syntax = inner.is_syntax() || inner.is_eof();
                Err(describe(path, inner.to_string(), syntax))
            }
        }
    }
}

/// Query parameters, rejecting unknown or mistyped ones with the parameter named.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = e.into_inner().to_string();
                let field = quoted(&message)
                    .map(str::to_string)
                    .or(Some(path).filter(|p| p != "."));
                ApiError::bad_request("invalid_query", field, message)
            })
    }
}

/// The authenticated caller, put in the request by the auth middleware.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or(ApiError(quoin_app::AppError::Unauthenticated))
    }
}

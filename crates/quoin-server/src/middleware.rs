//! Request pipeline pieces: API-key authentication, Idempotency-Key replay, metrics.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use quoin_app::{AppError, Principal};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::AppState;

/// How long an Idempotency-Key is remembered (24 hours, as payment APIs commonly do).
pub const KEY_LIFETIME_US: i64 = 24 * 3600 * 1_000_000;

/// A claim still without a response after this long was abandoned (the client hung up
/// mid-request) and may be taken over by a retry.
pub const IN_FLIGHT_LIFETIME_US: i64 = 60 * 1_000_000;

/// Largest request body accepted anywhere (bytes).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Resolves `Authorization: Bearer <key>` (or `X-Api-Key`) to a [`Principal`].
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::to_string);
    let Some(key) = presented else {
        return ApiError(AppError::Unauthenticated).into_response();
    };
    match state.app.authenticate(&key).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(e) => ApiError(e).into_response(),
    }
}

fn idempotency_error(status: StatusCode, code: &'static str, message: String) -> Response {
    let body = crate::error::ErrorBody {
        code: code.into(),
        message,
        field: Some("Idempotency-Key".into()),
        details: None,
    };
    (status, axum::Json(body)).into_response()
}

/// Makes a POST with an `Idempotency-Key` header safe to retry: the first response is stored;
/// the same key with the same request replays it; with a different request it is a 409.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // API-key creation is never replayed: its response carries a secret that must not be
    // stored anywhere.
    if req.method() != Method::POST || req.uri().path().starts_with("/v1/api-keys") {
        return next.run(req).await;
    }
    let Some(key) = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_string))
    else {
        return next.run(req).await;
    };
    let key = match key {
        Ok(k) if !k.is_empty() && k.len() <= 255 => k,
        _ => {
            return idempotency_error(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "Idempotency-Key must be 1–255 visible ASCII characters".into(),
            )
        }
    };
    let Some(principal) = req.extensions().get::<Principal>().cloned() else {
        return ApiError(AppError::Unauthenticated).into_response();
    };
    let (parts, body) = req.into_parts();
    let bytes = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return ApiError::bad_request("unreadable_body", None, e.to_string()).into_response()
        }
    };
    let mut hasher = Sha256::new();
    // The caller is part of the request: another key (another role) never gets a replay.
    hasher.update(principal.key_id.as_bytes());
    hasher.update([0]);
    hasher.update(parts.method.as_str());
    hasher.update(parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or(""));
    hasher.update([0]);
    hasher.update(&bytes);
    let hash = hex::encode(hasher.finalize());
    let tenant = principal.tenant_id.as_str();

    match claim(&state, tenant, &key, &hash).await {
        Ok(Claim::Mine) => {}
        Ok(Claim::Replay(status, body)) => {
            let mut res = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                [("content-type", "application/json")],
                body,
            )
                .into_response();
            res.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return res;
        }
        Ok(Claim::Reused) => {
            return idempotency_error(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request".into(),
            )
        }
        Ok(Claim::InFlight) => {
            return idempotency_error(
                StatusCode::CONFLICT,
                "idempotency_request_in_progress",
                "a request with this Idempotency-Key is still being processed".into(),
            )
        }
        Err(e) => return ApiError(e).into_response(),
    }

    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (res_parts, res_body) = res.into_parts();
    let res_bytes = match res_body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            release(&state, tenant, &key).await;
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if res_parts.status.is_server_error() {
        // Unexpected failures are not remembered, so the client can retry.
        release(&state, tenant, &key).await;
    } else if let Err(e) =
        complete(&state, tenant, &key, res_parts.status.as_u16(), &res_bytes).await
    {
        tracing::error!(error = %e, "could not store idempotent response");
    }
    Response::from_parts(res_parts, Body::from(res_bytes))
}

enum Claim {
    Mine,
    Replay(u16, String),
    Reused,
    InFlight,
}

async fn claim(state: &AppState, tenant: &str, key: &str, hash: &str) -> Result<Claim, AppError> {
    let now = jiff::Timestamp::now().as_microsecond();
    let mut tx = state.app.store().begin().await?;
    let claimed = tx
        .claim_idempotency(
            tenant,
            key,
            hash,
            now,
            now - KEY_LIFETIME_US,
            now - IN_FLIGHT_LIFETIME_US,
        )
        .await?;
    let outcome = if claimed {
        Claim::Mine
    } else {
        match tx.get_idempotency(tenant, key).await? {
            Some(row) if row.request_hash != hash => Claim::Reused,
            Some(row) => match (row.status_code, row.response_body) {
                (Some(s), Some(b)) => Claim::Replay(u16::try_from(s).unwrap_or(200), b),
                _ => Claim::InFlight,
            },
            None => Claim::InFlight,
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

async fn complete(
    state: &AppState,
    tenant: &str,
    key: &str,
    status: u16,
    body: &[u8],
) -> Result<(), AppError> {
    let mut tx = state.app.store().begin().await?;
    let text = String::from_utf8_lossy(body);
    tx.complete_idempotency(tenant, key, i64::from(status), &text)
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn release(state: &AppState, tenant: &str, key: &str) {
    let result: Result<(), AppError> = async {
        let mut tx = state.app.store().begin().await?;
        tx.release_idempotency(tenant, key).await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "could not release idempotency key");
    }
}

/// The 500 a panicking handler turns into (the panic is logged, the details are not sent).
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError(AppError::Internal("handler panicked".into())).into_response()
}

/// Counts requests and their latency per route and status for `/metrics`.
pub async fn track_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", res.status().as_u16().to_string()),
    ];
    metrics::counter!("quoin_http_requests_total", &labels).increment(1);
    metrics::histogram!("quoin_http_request_duration_seconds", &labels).record(started.elapsed());
    res
}

//! Invoice runs and run schedules. A started run executes in the background; poll
//! `GET /v1/invoice-runs/{id}` for its progress. The scheduler loop lives here too.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use quoin_app::model::*;
use quoin_app::runs::RunOptions;
use quoin_app::App;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Caller};
use crate::routes::PageQuery;
use crate::AppState;

/// Executes a run on the runtime, logging how it ended.
pub fn spawn_run(app: App, tenant: String, id: String) {
    tokio::spawn(async move {
        match app
            .execute_invoice_run(&tenant, &id, RunOptions::default())
            .await
        {
            Ok(run) => {
                tracing::info!(tenant, run = id, status = ?run.status, invoices = run.counts.invoices_created, "invoice run ended")
            }
            Err(e) => tracing::warn!(tenant, run = id, error = %e, "invoice run stopped"),
        }
    });
}

/// The scheduler: every `every`, starts the runs whose schedule is due on the tenant's
/// clock and resumes runs whose process died (stale lease).
pub fn spawn_scheduler(app: App, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match app.scheduler_tick().await {
                Ok(runs) => {
                    for (tenant, id) in runs {
                        spawn_run(app.clone(), tenant, id);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "scheduler tick failed"),
            }
        }
    })
}

#[utoipa::path(operation_id = "startInvoiceRun", post, path = "/v1/invoice-runs", tag = "billing", request_body = StartInvoiceRun,
    responses((status = 202, body = InvoiceRun, description = "Queued; it executes in the background"),
        (status = 409, body = ErrorBody, description = "`run_in_progress`: the tenant has an active run"),
        (status = 422, body = ErrorBody)))]
pub async fn start(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<StartInvoiceRun>,
) -> ApiResult<(StatusCode, Json<InvoiceRun>)> {
    let run = s.app.create_invoice_run(&p, body).await?;
    spawn_run(s.app.clone(), p.tenant_id.clone(), run.id.clone());
    Ok((StatusCode::ACCEPTED, Json(run)))
}

#[utoipa::path(operation_id = "listInvoiceRuns", get, path = "/v1/invoice-runs", tag = "billing", params(PageQuery),
    responses((status = 200, body = InvoiceRunPage)))]
pub async fn list(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<InvoiceRunPage>> {
    Ok(Json(s.app.list_invoice_runs(&p, &(&q).into()).await?))
}

#[utoipa::path(operation_id = "getInvoiceRun", get, path = "/v1/invoice-runs/{id}", tag = "billing", params(("id" = String, Path)),
    responses((status = 200, body = InvoiceRun), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<InvoiceRun>> {
    Ok(Json(s.app.get_invoice_run(&p, &id).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ResumeQuery {
    /// Take the run over even if another process holds a fresh lease on it.
    pub force: Option<bool>,
}

#[utoipa::path(operation_id = "resumeInvoiceRun", post, path = "/v1/invoice-runs/{id}/resume", tag = "billing", params(("id" = String, Path), ResumeQuery),
    responses((status = 202, body = InvoiceRun, description = "Resuming from its cursor in the background"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`run_in_progress` (a live process holds it) or `run_finished`")))]
pub async fn resume(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ResumeQuery>,
) -> ApiResult<(StatusCode, Json<InvoiceRun>)> {
    let force = q.force.unwrap_or(false);
    let run = s.app.check_resumable(&p, &id, force).await?;
    let (app, tenant) = (s.app.clone(), p.tenant_id.clone());
    tokio::spawn(async move {
        let opts = RunOptions {
            force,
            ..RunOptions::default()
        };
        if let Err(e) = app.execute_invoice_run(&tenant, &id, opts).await {
            tracing::warn!(tenant, run = id, error = %e, "resumed invoice run stopped");
        }
    });
    Ok((StatusCode::ACCEPTED, Json(run)))
}

#[utoipa::path(operation_id = "createInvoiceRunSchedule", post, path = "/v1/invoice-run-schedules", tag = "billing", request_body = CreateRunSchedule,
    responses((status = 201, body = RunSchedule), (status = 422, body = ErrorBody)))]
pub async fn create_schedule(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<CreateRunSchedule>,
) -> ApiResult<(StatusCode, Json<RunSchedule>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.app.create_run_schedule(&p, body).await?),
    ))
}

#[utoipa::path(operation_id = "listInvoiceRunSchedules", get, path = "/v1/invoice-run-schedules", tag = "billing",
    responses((status = 200, body = RunSchedulePage)))]
pub async fn list_schedules(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> ApiResult<Json<RunSchedulePage>> {
    Ok(Json(s.app.list_run_schedules(&p).await?))
}

#[utoipa::path(operation_id = "getInvoiceRunSchedule", get, path = "/v1/invoice-run-schedules/{id}", tag = "billing", params(("id" = String, Path)),
    responses((status = 200, body = RunSchedule), (status = 404, body = ErrorBody)))]
pub async fn get_schedule(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RunSchedule>> {
    Ok(Json(s.app.get_run_schedule(&p, &id).await?))
}

#[utoipa::path(operation_id = "deleteInvoiceRunSchedule", delete, path = "/v1/invoice-run-schedules/{id}", tag = "billing", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_schedule(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    s.app.delete_run_schedule(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

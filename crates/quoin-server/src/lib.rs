//! Quoin's HTTP API: REST under `/v1` (JSON, API-key auth, idempotent POSTs, cursor
//! pagination), its OpenAPI document, health, readiness and Prometheus metrics.

pub mod error;
pub mod extract;
pub mod middleware;
#[cfg(feature = "nats")]
pub mod nats;
pub mod openapi;
pub mod routes;
pub mod tmf620;
pub mod tmf635;
pub mod tmf678;

use std::sync::OnceLock;

use axum::routing::{get, post, put};
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use quoin_app::App;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use routes::{accounts, analytics, billing, catalog, finishing, keys, runs, system, usage};

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub metrics: PrometheusHandle,
}

/// The process-wide Prometheus recorder (installed once, shared by every router).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
        })
        .clone()
}

/// Builds the whole HTTP application around an [`App`].
pub fn router(app: App) -> Router {
    let state = AppState {
        app,
        metrics: metrics_handle(),
    };
    let v1 = Router::new()
        .route("/v1/accounts", post(accounts::create).get(accounts::list))
        .route(
            "/v1/accounts/{id}",
            get(accounts::get).patch(accounts::update),
        )
        .route(
            "/v1/accounts/{id}/contacts",
            post(accounts::add_contact).get(accounts::list_contacts),
        )
        .route(
            "/v1/accounts/{id}/locations",
            post(accounts::add_location).get(accounts::list_locations),
        )
        .route("/v1/accounts/{id}/bill", post(billing::bill_account))
        .route("/v1/accounts/{id}/dunning", get(billing::account_dunning))
        .route(
            "/v1/accounts/{id}/upcoming-invoice",
            get(billing::upcoming_invoice),
        )
        .route(
            "/v1/dunning-policy",
            get(billing::get_dunning_policy).put(billing::put_dunning_policy),
        )
        .route(
            "/v1/tax-rates",
            put(finishing::put_tax_rates).get(finishing::get_tax_rates),
        )
        .route(
            "/v1/tax-categories/{product_code}",
            put(finishing::put_tax_category),
        )
        .route(
            "/v1/accounts/{id}/tax-profile",
            put(finishing::put_tax_profile).get(finishing::get_tax_profile),
        )
        .route(
            "/v1/fees",
            put(finishing::put_fees).get(finishing::get_fees),
        )
        .route(
            "/v1/coupons",
            post(finishing::create_coupon).get(finishing::list_coupons),
        )
        .route("/v1/accounts/{id}/coupons", post(finishing::redeem_coupon))
        .route(
            "/v1/accounts/{id}/wallets",
            post(finishing::create_wallet).get(finishing::list_wallets),
        )
        .route("/v1/fx-rates", get(analytics::list_fx_rates))
        .route("/v1/fx-rates/{currency}", put(analytics::put_fx_rate))
        .route("/v1/analytics/mrr", get(analytics::mrr))
        .route("/v1/products", post(catalog::create).get(catalog::list))
        .route(
            "/v1/products/{id}",
            get(catalog::get)
                .patch(catalog::update)
                .delete(catalog::delete),
        )
        .route("/v1/products/{id}/prices", post(catalog::add_price))
        .route("/v1/prices", get(catalog::list_prices))
        .route("/v1/prices/{id}", get(catalog::get_price))
        .route("/v1/catalog/import", post(catalog::import))
        .route("/v1/catalog/export", get(catalog::export))
        .route(
            "/v1/catalog/change-rules",
            get(catalog::get_change_rules).put(catalog::put_change_rules),
        )
        .route("/v1/metrics", get(catalog::metrics))
        .route(
            "/v1/metrics/{code}",
            get(catalog::get_metric)
                .put(catalog::put_metric)
                .delete(catalog::delete_metric),
        )
        .route("/v1/terms", get(catalog::terms))
        .route(
            "/v1/terms/{code}",
            get(catalog::get_term)
                .put(catalog::put_term)
                .delete(catalog::delete_term),
        )
        .route("/v1/price-books", get(catalog::price_books))
        .route(
            "/v1/price-books/{code}",
            get(catalog::get_price_book)
                .put(catalog::put_price_book)
                .delete(catalog::delete_price_book),
        )
        .route("/v1/categories", get(catalog::categories))
        .route(
            "/v1/categories/{code}",
            get(catalog::get_category)
                .put(catalog::put_category)
                .delete(catalog::delete_category),
        )
        .route(
            "/v1/subscriptions",
            post(billing::create_subscription).get(billing::list_subscriptions),
        )
        .route("/v1/subscriptions/{id}", get(billing::get_subscription))
        .route(
            "/v1/subscriptions/{id}/operations",
            post(billing::operate_subscription),
        )
        .route(
            "/v1/subscriptions/{id}/history",
            get(billing::subscription_history),
        )
        .route("/v1/invoices", get(billing::list_invoices))
        .route("/v1/invoices/{id}", get(billing::get_invoice))
        .route("/v1/invoices/{id}/pdf", get(billing::invoice_pdf))
        .route("/v1/invoices/{id}/html", get(billing::invoice_html))
        .route(
            "/v1/invoices/{id}/finalize",
            post(billing::finalize_invoice),
        )
        .route("/v1/billing/run", post(billing::run_billing))
        .route("/v1/invoice-runs", post(runs::start).get(runs::list))
        .route("/v1/invoice-runs/{id}", get(runs::get))
        .route("/v1/invoice-runs/{id}/resume", post(runs::resume))
        .route(
            "/v1/invoice-run-schedules",
            post(runs::create_schedule).get(runs::list_schedules),
        )
        .route(
            "/v1/invoice-run-schedules/{id}",
            get(runs::get_schedule).delete(runs::delete_schedule),
        )
        .route(
            "/v1/test-clock",
            get(billing::get_clock)
                .post(billing::set_clock)
                .delete(billing::clear_clock),
        )
        .route("/v1/test-clock/advance", post(billing::advance_clock))
        .route("/v1/api-keys", post(keys::create).get(keys::list))
        .route("/v1/api-keys/{id}/revoke", post(keys::revoke))
        .route(
            "/v1/events",
            get(keys::events)
                .post(usage::ingest)
                .layer(axum::extract::DefaultBodyLimit::max(usage::MAX_INGEST_BODY)),
        )
        .route("/v1/usage/events", get(usage::search))
        .route("/v1/usage/suspense", get(usage::suspense))
        .route("/v1/usage/suspense/recycle", post(usage::recycle))
        .route(
            "/v1/subscriptions/{id}/usage",
            get(usage::subscription_usage),
        )
        // TMF620 follows the TM Forum spec, not ours: routed here, not in the OpenAPI document.
        .merge(tmf620::routes())
        .merge(tmf678::routes())
        .merge(tmf635::routes())
        .merge(routes::payments::routes())
        .merge(routes::voice::routes())
        .merge(routes::drafts::routes())
        .merge(routes::payment_methods::routes())
        // A panic becomes a 500 inside the idempotency layer, so its claim is released.
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        // Layers run bottom-up: authenticate first, then idempotency sees the tenant.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::idempotency,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::authenticate,
        ));
    Router::new()
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .route("/v1/openapi.json", get(system::openapi))
        .merge(v1)
        .layer(axum::middleware::from_fn(middleware::track_metrics))
        .layer(axum::extract::DefaultBodyLimit::max(middleware::MAX_BODY))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serves until Ctrl-C / SIGTERM, letting requests in flight finish.
pub async fn serve(app: App, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let scheduler = runs::spawn_scheduler(app.clone(), std::time::Duration::from_secs(5));
    let served = axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    scheduler.abort();
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

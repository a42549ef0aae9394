//! The OpenAPI 3.1 document, generated from the handlers and models. The committed copy
//! (`openapi.json` at the repository root) is checked against it by a test.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{accounts, analytics, billing, catalog, finishing, keys, runs, usage};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Quoin API",
        description = "Lead-to-cash for subscription service providers. Authenticate with `Authorization: Bearer <API key>`. Every POST accepts an `Idempotency-Key` header. Errors are `{code, message, field?, details?}`.",
        license(name = "Apache-2.0")
    ),
    paths(
        accounts::create, accounts::list, accounts::get, accounts::update,
        accounts::add_contact, accounts::list_contacts,
        accounts::add_location, accounts::list_locations,
        catalog::create, catalog::list, catalog::get, catalog::update, catalog::delete,
        catalog::add_price, catalog::list_prices, catalog::get_price,
        catalog::import, catalog::export, catalog::put_change_rules, catalog::get_change_rules, catalog::metrics, catalog::terms, catalog::price_books, catalog::categories,
        catalog::get_metric, catalog::put_metric, catalog::delete_metric,
        catalog::get_term, catalog::put_term, catalog::delete_term,
        catalog::get_price_book, catalog::put_price_book, catalog::delete_price_book,
        catalog::get_category, catalog::put_category, catalog::delete_category,
        billing::create_subscription, billing::list_subscriptions, billing::get_subscription,
        billing::operate_subscription, billing::subscription_history,
        billing::put_dunning_policy, billing::get_dunning_policy, billing::account_dunning,
        billing::upcoming_invoice,
        billing::bill_account, billing::run_billing,
        billing::list_invoices, billing::get_invoice, billing::finalize_invoice,
        billing::invoice_pdf, billing::invoice_html,
        billing::get_clock, billing::set_clock, billing::clear_clock, billing::advance_clock,
        keys::create, keys::list, keys::revoke, keys::events,
        usage::ingest, usage::search, usage::suspense, usage::recycle, usage::subscription_usage,
        finishing::put_tax_rates, finishing::get_tax_rates, finishing::put_tax_category,
        finishing::put_tax_profile, finishing::get_tax_profile, finishing::put_fees, finishing::get_fees,
        finishing::create_coupon, finishing::list_coupons, finishing::redeem_coupon,
        finishing::create_wallet, finishing::list_wallets,
        runs::start, runs::list, runs::get, runs::resume,
        runs::create_schedule, runs::list_schedules, runs::get_schedule, runs::delete_schedule,
        analytics::put_fx_rate, analytics::list_fx_rates, analytics::mrr,
    ),
    modifiers(&BearerAuth),
    security(("api_key" = [])),
    tags(
        (name = "accounts", description = "Customers, hierarchy, contacts and service locations"),
        (name = "catalog", description = "Products, prices, metrics, terms, price books, categories; catalog import/export"),
        (name = "subscriptions", description = "Services an account subscribes to"),
        (name = "billing", description = "Billing runs"),
        (name = "invoices", description = "Invoices and their lines"),
        (name = "test-clock", description = "Per-tenant simulated time (not in production mode)"),
        (name = "access", description = "API keys"),
        (name = "events", description = "The outbox: every state change, in order"),
        (name = "usage", description = "Usage events: exactly-once ingestion, suspense, rollups"),
        (name = "taxes", description = "Tax rates, product tax categories, account tax profiles, regulatory fees"),
        (name = "coupons", description = "Coupons and their redemptions by accounts"),
        (name = "wallets", description = "Prepaid credit wallets"),
        (name = "analytics", description = "Exchange rates into the reporting currency; MRR and ARR"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document with the crate version filled in.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::routes::payments::ReceivablesDoc::openapi());
    doc.merge(crate::routes::voice::VoiceDoc::openapi());
    doc.merge(crate::routes::drafts::DraftsDoc::openapi());
    doc.merge(crate::routes::payment_methods::PaymentMethodsDoc::openapi());
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// Pretty JSON, as committed in the repository.
pub fn document_json() -> String {
    let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
    s.push('\n');
    s
}

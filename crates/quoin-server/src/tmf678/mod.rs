//! TM Forum TMF678 Customer Bill Management (v4) as a read-only facade over Quoin's
//! invoices, under `/tmf-api/customerBillManagement/v4/`.
//!
//! - A Quoin invoice is a `customerBill` (same id); its lines are
//!   `appliedCustomerBillingRate`s with the id `{invoice id}.{line id}`, so a rate is found
//!   from its id without scanning the tenant's invoices.
//! - `state`: a draft is `new`; a finalized invoice is `validated` while nothing is paid
//!   (Quoin does not track delivery, so it never claims `sent`), `partiallyPaid`, then
//!   `settled` once paid — or voided, since nothing remains due. `onHold` and `sent` are
//!   not used.
//! - Lists take `offset`/`limit`, `fields` and attribute filters (`billingAccount.id`,
//!   `state`, …) and answer with `X-Total-Count` and `X-Result-Count`, as TMF620 does;
//!   errors are TMF `Error` bodies. Creating or changing bills (`customerBillOnDemand`,
//!   PATCH) is not offered: Quoin bills through its own API.

mod handlers;
mod mapping;

use axum::routing::get;
use axum::Router;

use crate::AppState;

/// Path prefix of every TMF678 resource.
pub const BASE: &str = "/tmf-api/customerBillManagement/v4";

/// The TMF678 routes; mount them behind the same authentication as `/v1`.
pub fn routes() -> Router<AppState> {
    use handlers::*;
    let path = |resource: &str| format!("{BASE}/{resource}");
    Router::new()
        .route(&path("customerBill"), get(list_bills))
        .route(&path("customerBill/{id}"), get(get_bill))
        .route(&path("appliedCustomerBillingRate"), get(list_rates))
        .route(&path("appliedCustomerBillingRate/{id}"), get(get_rate))
}

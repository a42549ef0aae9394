//! TMF678 handlers: read Quoin invoices through the app, answer in TMF form.

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use quoin_app::model::{Invoice, ListParams};
use quoin_app::{AppError, Principal};
use quoin_store::repo::InvoiceFilter;
use serde_json::Value;

use super::mapping as map;
use crate::extract::Caller;
use crate::tmf620::error::{TmfError, TmfResult};
use crate::tmf620::list::{json_response, select, ListQuery};
use crate::AppState;

type Reply = TmfResult<Response>;

fn one(resource: Value, uri: &Uri) -> Response {
    let fields = ListQuery::fields_only(uri.query());
    json_response(StatusCode::OK, &select(resource, fields.as_deref()))
}

/// The single value of a filter on `attr.id` (e.g. `billingAccount.id`), to narrow what is
/// read; the list filter still applies to what comes back.
fn narrowed(q: &ListQuery, attr: &str) -> Option<String> {
    q.filters
        .iter()
        .find(|(path, values)| path == &[attr.to_string(), "id".into()] && values.len() == 1)
        .map(|(_, v)| v[0].clone())
}

/// Every invoice of the tenant, or of one account, oldest first.
async fn invoices(s: &AppState, p: &Principal, account: Option<String>) -> TmfResult<Vec<Invoice>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let filter = InvoiceFilter {
            account_id: account.clone(),
            status: None,
        };
        let page = ListParams {
            limit: Some(ListParams::MAX_LIMIT),
            cursor,
        };
        let page = s.app.list_invoices(p, filter, &page).await?;
        out.extend(page.data);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

async fn invoice(s: &AppState, p: &Principal, id: &str, resource: &str) -> TmfResult<Invoice> {
    s.app.get_invoice(p, id).await.map_err(|e| match e {
        AppError::NotFound { .. } => TmfError::not_found(resource, id),
        other => other.into(),
    })
}

pub async fn list_bills(State(s): State<AppState>, Caller(p): Caller, uri: Uri) -> Reply {
    let q = ListQuery::parse(uri.query(), map::BILL_ATTRS)?;
    let all = invoices(&s, &p, narrowed(&q, "billingAccount")).await?;
    Ok(q.respond(all.iter().map(map::customer_bill).collect()))
}

pub async fn get_bill(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Reply {
    let inv = invoice(&s, &p, &id, "customerBill").await?;
    Ok(one(map::customer_bill(&inv), &uri))
}

pub async fn list_rates(State(s): State<AppState>, Caller(p): Caller, uri: Uri) -> Reply {
    let q = ListQuery::parse(uri.query(), map::RATE_ATTRS)?;
    let all = match narrowed(&q, "bill") {
        Some(bill) => match s.app.get_invoice(&p, &bill).await {
            Ok(inv) => vec![inv],
            Err(AppError::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(e.into()),
        },
        None => invoices(&s, &p, narrowed(&q, "billingAccount")).await?,
    };
    let rates = all
        .iter()
        .flat_map(|inv| inv.lines.iter().map(move |l| map::applied_rate(inv, l)))
        .collect();
    Ok(q.respond(rates))
}

pub async fn get_rate(
    State(s): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Reply {
    let not_found = || TmfError::not_found("appliedCustomerBillingRate", &id);
    let (bill, line) = id.split_once('.').ok_or_else(not_found)?;
    let inv = match s.app.get_invoice(&p, bill).await {
        Ok(inv) => inv,
        Err(AppError::NotFound { .. }) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    let l = inv
        .lines
        .iter()
        .find(|l| l.id == line)
        .ok_or_else(not_found)?;
    Ok(one(map::applied_rate(&inv, l), &uri))
}

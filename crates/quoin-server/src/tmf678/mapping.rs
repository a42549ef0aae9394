//! Quoin invoices as TMF678 `CustomerBill` and their lines as `AppliedCustomerBillingRate`.

use jiff::civil::Date;
use quoin_app::model::{Invoice, InvoiceLine};
use serde_json::{json, Map, Value};

use super::BASE;
use crate::tmf620::mapping::number;

/// Attributes a `customerBill` list may filter on.
pub const BILL_ATTRS: &[&str] = &[
    "id",
    "billNo",
    "state",
    "billingAccount",
    "category",
    "runType",
    "billDate",
    "paymentDueDate",
];

/// Attributes an `appliedCustomerBillingRate` list may filter on.
pub const RATE_ATTRS: &[&str] = &[
    "id",
    "type",
    "bill",
    "billingAccount",
    "product",
    "isBilled",
];

pub fn bill_href(id: &str) -> String {
    format!("{BASE}/customerBill/{id}")
}

pub fn rate_id(invoice: &str, line: &str) -> String {
    format!("{invoice}.{line}")
}

/// Midnight UTC of a billing date: TMF dates are date-times, Quoin's billing dates are
/// civil dates in the account's zone.
fn date_time(d: Date) -> String {
    format!("{d}T00:00:00Z")
}

fn money(decimal: &str, currency: &str) -> Value {
    json!({"unit": currency, "value": number(decimal).unwrap_or(Value::Null)})
}

fn account_ref(id: &str) -> Value {
    json!({"id": id, "href": format!("/v1/accounts/{id}"), "@referredType": "BillingAccount"})
}

/// The TMF state of an invoice (see the module documentation).
pub fn state(inv: &Invoice) -> &'static str {
    if inv.status == "draft" {
        return "new";
    }
    match inv.settlement.as_ref().map(|s| s.payment_status.as_str()) {
        Some("paid" | "void") => "settled",
        Some("partially_paid") => "partiallyPaid",
        _ => "validated",
    }
}

pub fn customer_bill(inv: &Invoice) -> Value {
    let c = inv.currency.as_str();
    let remaining = inv
        .settlement
        .as_ref()
        .map_or(inv.amount_due.as_str(), |s| s.open.as_str());
    let last = inv.finalized_at.unwrap_or(inv.created_at);
    let mut m = Map::new();
    m.insert("id".into(), json!(inv.id));
    m.insert("href".into(), json!(bill_href(&inv.id)));
    if let Some(n) = &inv.number {
        m.insert("billNo".into(), json!(n));
    }
    m.insert("billDate".into(), json!(date_time(inv.invoice_date)));
    m.insert("paymentDueDate".into(), json!(date_time(inv.due_date)));
    m.insert("lastUpdate".into(), json!(last.to_string()));
    m.insert("category".into(), json!("normal"));
    m.insert("runType".into(), json!("onCycle"));
    m.insert("state".into(), json!(state(inv)));
    m.insert("amountDue".into(), money(&inv.amount_due, c));
    m.insert("remainingAmount".into(), money(remaining, c));
    m.insert("taxExcludedAmount".into(), money(&inv.subtotal, c));
    m.insert("taxIncludedAmount".into(), money(&inv.total, c));
    m.insert(
        "billingPeriod".into(),
        json!({"startDateTime": date_time(inv.period_start), "endDateTime": date_time(inv.period_end)}),
    );
    m.insert("billingAccount".into(), account_ref(&inv.account_id));
    let name = format!("{}.pdf", inv.number.as_deref().unwrap_or(&inv.id));
    let pdf = format!("/v1/invoices/{}/pdf", inv.id);
    m.insert(
        "billDocument".into(),
        json!([{"id": inv.id, "href": pdf, "url": pdf, "mimeType": "application/pdf",
                "name": name, "attachmentType": "invoice", "@type": "AttachmentRefOrValue"}]),
    );
    if number(&inv.tax).is_some_and(|t| t != json!(0)) {
        m.insert("taxItem".into(), json!([{"taxAmount": money(&inv.tax, c)}]));
    }
    m.insert("@type".into(), json!("CustomerBill"));
    Value::Object(m)
}

/// A line's amounts excluding and including tax, after its discount, whatever its tax mode.
fn line_amounts(l: &InvoiceLine) -> (rust_decimal::Decimal, rust_decimal::Decimal) {
    let d = |s: &str| s.parse::<rust_decimal::Decimal>().unwrap_or_default();
    let net = d(&l.amount) - d(&l.discount);
    let inclusive = l
        .detail
        .as_ref()
        .and_then(|v| v.get("tax_mode"))
        .and_then(Value::as_str)
        == Some("inclusive");
    if inclusive {
        (net - d(&l.tax), net)
    } else {
        (net, net + d(&l.tax))
    }
}

pub fn applied_rate(inv: &Invoice, l: &InvoiceLine) -> Value {
    let c = inv.currency.as_str();
    let id = rate_id(&inv.id, &l.id);
    let (excluded, included) = line_amounts(l);
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert(
        "href".into(),
        json!(format!("{BASE}/appliedCustomerBillingRate/{id}")),
    );
    m.insert("date".into(), json!(date_time(inv.invoice_date)));
    m.insert("name".into(), json!(l.description));
    m.insert("description".into(), json!(l.description));
    m.insert("type".into(), json!(l.kind));
    m.insert("isBilled".into(), json!(inv.status != "draft"));
    m.insert(
        "bill".into(),
        json!({"id": inv.id, "href": bill_href(&inv.id), "@referredType": "CustomerBill"}),
    );
    m.insert("billingAccount".into(), account_ref(&inv.account_id));
    m.insert(
        "periodCoverage".into(),
        json!({"startDateTime": date_time(l.period_start), "endDateTime": date_time(l.period_end)}),
    );
    if !l.subscription_id.is_empty() {
        m.insert(
            "product".into(),
            json!({"id": l.subscription_id, "href": format!("/v1/subscriptions/{}", l.subscription_id),
                   "@referredType": "Product"}),
        );
    }
    m.insert("taxExcludedAmount".into(), money(&excluded.to_string(), c));
    m.insert("taxIncludedAmount".into(), money(&included.to_string(), c));
    if number(&l.tax).is_some_and(|t| t != json!(0)) {
        m.insert(
            "appliedTax".into(),
            json!([{"taxAmount": money(&l.tax, c)}]),
        );
    }
    let p = &l.proration;
    m.insert(
        "characteristic".into(),
        json!([
            {"name": "quantity", "valueType": "string", "value": l.quantity},
            {"name": "unitAmount", "valueType": "string", "value": l.unit_amount},
            {"name": "proration", "valueType": "string", "value": format!("{}/{}", p.numerator, p.denominator)},
            {"name": "amount", "valueType": "string", "value": l.amount},
            {"name": "discount", "valueType": "string", "value": l.discount},
            {"name": "priceId", "valueType": "string", "value": l.price_id},
        ]),
    );
    m.insert("@type".into(), json!("AppliedCustomerBillingRate"));
    Value::Object(m)
}

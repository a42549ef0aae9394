//! Credit notes by line: checks each requested line credit against the finalized
//! invoice's lines and earlier line credits, and computes amount and tax with
//! `quoin_core::ledger::credit_line` (whose doc states the rounding).

use std::collections::HashSet;

use quoin_core::ledger::{credit_line, CreditableLine, LineCreditAsk, LineCreditError};
use quoin_core::money::{Currency, Money};
use quoin_store::repo::ledger::CreditNoteLineRow;
use quoin_store::rows::{InvoiceLineRow, InvoiceRow};
use quoin_store::Tx;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::error::{AppError, AppResult};
use crate::ledger::{internal, parse_amount};
use crate::model::{CreditNoteLine, CreditNoteLineInput};
use crate::validate;

/// Most lines one credit note may list.
const MAX_LINES: usize = 1000;

fn invalid(code: &'static str, field: String, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        code,
        field: Some(field),
        message: message.into(),
    }
}

/// A stored line as credit notes see it: its total with tax after discounts (tax is
/// added to tax-exclusive amounts and already inside tax-inclusive ones), its tax, the
/// part prepaid credit paid, and its quantity.
fn creditable(row: &InvoiceLineRow, currency: Currency) -> AppResult<CreditableLine> {
    let detail: Value = match row.detail.as_str() {
        "" => Value::Null,
        d => serde_json::from_str(d).map_err(internal)?,
    };
    let inclusive = detail["tax_mode"] == "inclusive";
    let net = row
        .amount_minor
        .checked_sub(row.discount_minor)
        .ok_or_else(|| internal("overflow"))?;
    let total = if inclusive {
        net
    } else {
        net.checked_add(row.tax_minor)
            .ok_or_else(|| internal("overflow"))?
    };
    let prepaid = match detail["prepaid"].as_str() {
        Some(t) => {
            let d: Decimal = t.parse().map_err(internal)?;
            Money::from_decimal_exact(d, currency).map_err(internal)?
        }
        None => Money::zero(currency),
    };
    Ok(CreditableLine {
        total: Money::from_minor(total, currency),
        tax: Money::from_minor(row.tax_minor, currency),
        prepaid,
        quantity: row.quantity.parse().unwrap_or(Decimal::ZERO),
        credited: Money::zero(currency),
        credited_quantity: Decimal::ZERO,
    })
}

/// Checks the requested line credits of a credit note against `inv` and computes them;
/// nothing is written. Every refusal is a 422 naming `lines[i].…`.
pub(crate) async fn plan_line_credits(
    tx: &mut Tx,
    inv: &InvoiceRow,
    currency: Currency,
    credit_note_id: &str,
    inputs: &[CreditNoteLineInput],
) -> AppResult<Vec<CreditNoteLineRow>> {
    if inputs.len() > MAX_LINES {
        return Err(invalid(
            "too_many_lines",
            "lines".into(),
            format!("at most {MAX_LINES} lines per credit note"),
        ));
    }
    let tenant = inv.tenant_id.as_str();
    let lines = tx.invoice_lines(tenant, &inv.id).await?;
    let earlier = tx.invoice_line_credits(tenant, &inv.id).await?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let at = |f: &str| format!("lines[{i}].{f}");
        let Some(row) = lines.iter().find(|l| l.id == input.line_id) else {
            return Err(match tx.get_invoice_line(tenant, &input.line_id).await? {
                Some(other) => invalid(
                    "line_not_on_invoice",
                    at("line_id"),
                    format!(
                        "line `{}` is on invoice `{}`, not `{}`",
                        input.line_id, other.invoice_id, inv.id
                    ),
                ),
                None => invalid(
                    "unknown_invoice_line",
                    at("line_id"),
                    format!("no invoice line `{}`", input.line_id),
                ),
            });
        };
        if !seen.insert(row.id.as_str()) {
            return Err(invalid(
                "duplicate_line",
                at("line_id"),
                format!("line `{}` is listed twice", row.id),
            ));
        }
        let (ask, field) = match (&input.amount, &input.quantity) {
            (Some(a), None) => (
                LineCreditAsk::Amount(parse_amount(&at("amount"), a, currency)?),
                at("amount"),
            ),
            (None, Some(q)) => (
                LineCreditAsk::Quantity(validate::positive_decimal(&at("quantity"), q)?),
                at("quantity"),
            ),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "amount_and_quantity",
                    at("quantity"),
                    "give either `amount` or `quantity`, not both",
                ))
            }
            (None, None) => {
                return Err(invalid(
                    "amount_or_quantity_required",
                    at("amount"),
                    "give `amount` or `quantity`",
                ))
            }
        };
        let mut line = creditable(row, currency)?;
        for e in earlier.iter().filter(|e| e.invoice_line_id == row.id) {
            line.credited = line
                .credited
                .checked_add(Money::from_minor(e.amount_minor, currency))
                .map_err(internal)?;
            if let Some(q) = &e.quantity {
                line.credited_quantity += q.parse::<Decimal>().map_err(internal)?;
            }
        }
        let credit = credit_line(&line, ask).map_err(|e| {
            let code = match &e {
                LineCreditError::NotCreditable => "line_not_creditable",
                LineCreditError::ExceedsLine { .. } | LineCreditError::ExceedsQuantity { .. } => {
                    "credit_exceeds_line"
                }
                LineCreditError::NonPositiveAmount => "invalid_amount",
                LineCreditError::NonPositiveQuantity
                | LineCreditError::NoQuantity
                | LineCreditError::RoundsToZero => "invalid_quantity",
                LineCreditError::Money(_) => return internal(&e),
            };
            let field = if code == "line_not_creditable" {
                at("line_id")
            } else {
                field.clone()
            };
            invalid(code, field, format!("line `{}`: {e}", row.id))
        })?;
        out.push(CreditNoteLineRow {
            tenant_id: tenant.to_string(),
            credit_note_id: credit_note_id.to_string(),
            position: i64::try_from(i).map_err(internal)?,
            invoice_id: inv.id.clone(),
            invoice_line_id: row.id.clone(),
            quantity: match ask {
                LineCreditAsk::Quantity(q) => Some(q.normalize().to_string()),
                LineCreditAsk::Amount(_) => None,
            },
            amount_minor: credit.amount.minor(),
            tax_minor: credit.tax.minor(),
        });
    }
    Ok(out)
}

pub(crate) fn credit_note_line_view(r: &CreditNoteLineRow, currency: Currency) -> CreditNoteLine {
    let text = |m: i64| Money::from_minor(m, currency).to_decimal().to_string();
    CreditNoteLine {
        invoice_line_id: r.invoice_line_id.clone(),
        quantity: r.quantity.clone(),
        amount: text(r.amount_minor),
        tax: text(r.tax_minor),
    }
}

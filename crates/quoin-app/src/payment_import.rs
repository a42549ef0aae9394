//! Importing payments from a CSV file (a bank statement export, a lockbox file): each valid
//! row is recorded in its own transaction, each invalid one is reported with its row
//! number, field and reason.
//!
//! Columns (header names, any order): `account_id` or `account_number` (the BAN), `amount`,
//! `currency`, and optionally `received_on` (YYYY-MM-DD, default today), `method` (default
//! `bank_transfer`), `reference` (a payment with the same reference on the account is a
//! duplicate and rejected, so a file can be re-imported safely) and `invoice_number`
//! (pay that invoice up to its open amount; the rest becomes account credit).

use crate::auth::{Action, Principal};
use crate::error::{AppError, AppResult};
use crate::model::{CreatePayment, ImportRowError, PaymentImportResult, PaymentMethodCode};
use crate::payments::Allocate;
use crate::App;

const COLUMNS: &[&str] = &[
    "account_id",
    "account_number",
    "amount",
    "currency",
    "received_on",
    "method",
    "reference",
    "invoice_number",
];

/// Largest file accepted in one import.
const MAX_ROWS: usize = 100_000;

fn bad_file(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::BadRequest {
        code,
        field: None,
        message: message.into(),
    }
}

/// Where an app field of a payment is in the file.
fn column_of(field: &str) -> String {
    match field {
        "allocations" | "invoice_id" => "invoice_number",
        f if f.starts_with("allocations") => "invoice_number",
        f => f,
    }
    .to_string()
}

struct Row {
    account_id: Option<String>,
    account_number: Option<String>,
    amount: String,
    currency: String,
    received_on: Option<String>,
    method: Option<String>,
    reference: Option<String>,
    invoice_number: Option<String>,
}

fn parse_rows(csv_text: &str) -> AppResult<Vec<Result<Row, ImportRowError>>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(csv_text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| bad_file("malformed_csv", format!("cannot read the header row: {e}")))?
        .clone();
    let names: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    if let Some(unknown) = names.iter().find(|n| !COLUMNS.contains(&n.as_str())) {
        return Err(bad_file(
            "unknown_column",
            format!(
                "unknown column `{unknown}`; expected some of {}",
                COLUMNS.join(", ")
            ),
        ));
    }
    for required in ["amount", "currency"] {
        if !names.iter().any(|n| n == required) {
            return Err(bad_file(
                "missing_column",
                format!("the file has no `{required}` column"),
            ));
        }
    }
    if !names
        .iter()
        .any(|n| n == "account_id" || n == "account_number")
    {
        return Err(bad_file(
            "missing_column",
            "the file needs an `account_id` or an `account_number` column",
        ));
    }
    let col = |name: &str| names.iter().position(|n| n == name);
    let mut out = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let row = n + 1;
        if row > MAX_ROWS {
            return Err(bad_file(
                "too_many_rows",
                format!("at most {MAX_ROWS} rows per import"),
            ));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                out.push(Err(ImportRowError {
                    row,
                    field: None,
                    reason: format!("unreadable row: {e}"),
                }));
                continue;
            }
        };
        if record.len() != names.len() {
            out.push(Err(ImportRowError {
                row,
                field: None,
                reason: format!("{} values for {} columns", record.len(), names.len()),
            }));
            continue;
        }
        let get = |name: &str| {
            col(name)
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        out.push(Ok(Row {
            account_id: get("account_id"),
            account_number: get("account_number"),
            amount: get("amount").unwrap_or_default(),
            currency: get("currency").unwrap_or_default(),
            received_on: get("received_on"),
            method: get("method"),
            reference: get("reference"),
            invoice_number: get("invoice_number"),
        }));
    }
    Ok(out)
}

fn row_error(row: usize, e: &AppError) -> ImportRowError {
    ImportRowError {
        row,
        field: e.field().map(column_of),
        reason: e.to_string(),
    }
}

impl App {
    /// Imports payments from CSV text. `progress(done, total)` is called after each row.
    pub async fn import_payments(
        &self,
        p: &Principal,
        csv_text: &str,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> AppResult<PaymentImportResult> {
        p.require(Action::Bill)?;
        let rows = parse_rows(csv_text)?;
        let total = rows.len();
        let mut result = PaymentImportResult {
            accepted: 0,
            payment_ids: Vec::new(),
            rejected: Vec::new(),
        };
        for (n, row) in rows.into_iter().enumerate() {
            let row_no = n + 1;
            let outcome = match row {
                Err(e) => Err(e),
                Ok(row) => self
                    .import_row(p, &row)
                    .await
                    .map_err(|e| row_error(row_no, &e)),
            };
            match outcome {
                Ok(id) => {
                    result.accepted += 1;
                    result.payment_ids.push(id);
                }
                Err(mut e) => {
                    e.row = row_no;
                    result.rejected.push(e);
                }
            }
            progress(n + 1, total);
        }
        Ok(result)
    }

    async fn import_row(&self, p: &Principal, row: &Row) -> AppResult<String> {
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let account_id = match (&row.account_id, &row.account_number) {
            (Some(id), _) => id.clone(),
            (None, Some(ban)) => tx
                .get_account_by_ban(tenant, ban)
                .await?
                .map(|a| a.id)
                .ok_or_else(|| AppError::Invalid {
                    code: "unknown_account",
                    field: Some("account_number".into()),
                    message: format!("no account with number `{ban}`"),
                })?,
            (None, None) => {
                return Err(AppError::Invalid {
                    code: "missing_field",
                    field: Some("account".into()),
                    message: "an account_id or account_number is required".into(),
                })
            }
        };
        let method = match &row.method {
            None => PaymentMethodCode::BankTransfer,
            Some(m) => match PaymentMethodCode::parse(m) {
                Some(PaymentMethodCode::Gateway) | None => {
                    return Err(AppError::invalid(
                        "method",
                        format!("`{m}` is not one of manual, bank_transfer, card, check, cash"),
                    ))
                }
                Some(m) => m,
            },
        };
        let received_on = row
            .received_on
            .as_deref()
            .map(|d| {
                d.parse::<jiff::civil::Date>().map_err(|_| {
                    AppError::invalid("received_on", format!("`{d}` is not a YYYY-MM-DD date"))
                })
            })
            .transpose()?;
        let input = CreatePayment {
            account_id,
            amount: row.amount.clone(),
            currency: row.currency.clone(),
            method: Some(method),
            reference: row.reference.clone(),
            received_on,
            allocations: None,
            gateway: None,
            payment_method: None,
        };
        let mut new = self.new_payment(&mut tx, tenant, &input).await?;
        if let Some(reference) = &new.reference {
            if tx
                .payment_reference_exists(tenant, &new.account.id, reference)
                .await?
            {
                return Err(AppError::Invalid {
                    code: "duplicate_reference",
                    field: Some("reference".into()),
                    message: format!(
                        "account `{}` already has a payment with reference `{reference}`",
                        new.account.id
                    ),
                });
            }
        }
        if let Some(number) = &row.invoice_number {
            let inv = tx
                .get_invoice_by_number(tenant, number)
                .await?
                .filter(|i| i.account_id == new.account.id)
                .ok_or_else(|| AppError::Invalid {
                    code: "unknown_invoice",
                    field: Some("invoice_number".into()),
                    message: format!("account `{}` has no invoice `{number}`", new.account.id),
                })?;
            new.allocate = Allocate::UpTo(inv.id);
        }
        let payment = self.post_payment(&mut tx, new).await??;
        tx.commit().await?;
        Ok(payment.id)
    }
}

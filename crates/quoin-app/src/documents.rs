//! Invoice documents: an invoice with its seller (the tenant) and buyer (the bill-to
//! account) rendered as printable HTML or PDF by `quoin-documents`.

use quoin_documents::{DocLine, DocumentError, InvoiceDocument, Party};
use quoin_store::repo::ledger::CreditNoteFilter;

use crate::accounts::load_account;
use crate::auth::{Action, Principal};
use crate::error::{AppError, AppResult};
use crate::App;

fn render_error(e: DocumentError) -> AppError {
    AppError::Internal(format!("invoice document: {e}"))
}

/// The description, with the line's discount and tax components when it has them.
fn line_label(l: &crate::model::InvoiceLine) -> String {
    let Some(detail) = &l.detail else {
        return l.description.clone();
    };
    let mut parts = Vec::new();
    if l.discount.chars().any(|c| c.is_ascii_digit() && c != '0') {
        parts.push(format!("discount {}", l.discount));
    }
    if let Some(components) = detail["tax"]["components"].as_array() {
        for c in components {
            parts.push(format!(
                "{} {}% {}",
                c["name"].as_str().unwrap_or("tax"),
                c["percent"].as_str().unwrap_or("?"),
                c["amount"].as_str().unwrap_or("?")
            ));
        }
    }
    if detail["tax_mode"] == "inclusive" {
        parts.push("tax included".into());
    }
    if parts.is_empty() {
        l.description.clone()
    } else {
        format!("{} ({})", l.description, parts.join(", "))
    }
}

impl App {
    /// The document view of one invoice.
    pub async fn invoice_document(&self, p: &Principal, id: &str) -> AppResult<InvoiceDocument> {
        p.require(Action::Read)?;
        let invoice = self.get_invoice(p, id).await?;
        let mut tx = self.store.read().await?;
        let tenant = tx
            .get_tenant(&p.tenant_id)
            .await?
            .ok_or_else(|| AppError::not_found("tenant", &p.tenant_id))?;
        let account = load_account(&mut tx, &p.tenant_id, &invoice.account_id).await?;
        let site = tx
            .list_locations(&p.tenant_id, &account.id)
            .await?
            .into_iter()
            .next();
        // Credit notes against the invoice, each with the lines it credits.
        let filter = CreditNoteFilter {
            account_id: None,
            invoice_id: Some(invoice.id.clone()),
        };
        let mut credits = Vec::new();
        for cn in tx
            .list_credit_notes(&p.tenant_id, &filter, None, 200)
            .await?
            .items
        {
            let lines = tx.credit_note_lines(&p.tenant_id, &cn.id).await?;
            credits.push(crate::credit_notes::credit_note_view(&cn, &lines)?);
        }
        tx.commit().await?;
        let address = site
            .map(|l| {
                let mut lines = vec![l.line1];
                lines.extend(l.line2);
                let city = [l.postal_code, Some(l.city), l.region]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>();
                lines.push(city.join(" "));
                lines.push(l.country);
                lines
            })
            .unwrap_or_default();
        // Finishing (discounts, taxes, prepaid credit) shows in the line descriptions and a
        // breakdown note until the document layout has rows of its own for them.
        let finished = invoice.lines.iter().any(|l| l.detail.is_some());
        let mut notes = Vec::new();
        if finished {
            notes.push(format!(
                "Subtotal {} {c} (after discounts of {}), tax {}, total {} {c}, amount due {} {c}.",
                invoice.subtotal,
                invoice.discount,
                invoice.tax,
                invoice.total,
                invoice.amount_due,
                c = invoice.currency
            ));
        }
        for cn in &credits {
            let c = &invoice.currency;
            let mut text = format!(
                "Credit note {} of {}: {} {c}",
                cn.number, cn.issued_on, cn.amount
            );
            if let Some(tax) = &cn.tax {
                text.push_str(&format!(" (tax {tax})"));
            }
            let parts: Vec<String> = cn
                .lines
                .iter()
                .map(|l| {
                    let what = invoice
                        .lines
                        .iter()
                        .find(|il| il.id == l.invoice_line_id)
                        .map_or(l.invoice_line_id.as_str(), |il| il.description.as_str());
                    match &l.quantity {
                        Some(q) => format!("{what} × {q}: {}", l.amount),
                        None => format!("{what}: {}", l.amount),
                    }
                })
                .collect();
            if !parts.is_empty() {
                text.push_str(&format!(" on {}", parts.join("; ")));
            }
            text.push_str(&format!(", {}.", cn.reason));
            notes.push(text);
        }
        notes.push(format!(
            "Payment due by {} (net {} days).",
            invoice.due_date, account.payment_terms_days
        ));
        Ok(InvoiceDocument {
            seller: Party {
                name: tenant.name,
                ban: None,
                address: Vec::new(),
            },
            buyer: Party {
                name: account.name,
                ban: Some(account.ban),
                address,
            },
            number: invoice.number,
            status: invoice.status,
            currency: invoice.currency,
            invoice_date: invoice.invoice_date,
            due_date: invoice.due_date,
            period_start: invoice.period_start,
            period_end: invoice.period_end,
            lines: invoice
                .lines
                .into_iter()
                .map(|l| DocLine {
                    description: line_label(&l),
                    period_start: l.period_start,
                    period_end: l.period_end,
                    quantity: l.quantity,
                    unit_amount: l.unit_amount,
                    proration_numerator: l.proration.numerator,
                    proration_denominator: l.proration.denominator,
                    amount: l.amount,
                })
                .collect(),
            total: invoice.total,
            notes,
        })
    }

    pub async fn invoice_html(&self, p: &Principal, id: &str) -> AppResult<String> {
        let doc = self.invoice_document(p, id).await?;
        doc.validate().map_err(render_error)?;
        Ok(quoin_documents::render_html(&doc))
    }

    pub async fn invoice_pdf(&self, p: &Principal, id: &str) -> AppResult<Vec<u8>> {
        let doc = self.invoice_document(p, id).await?;
        quoin_documents::render_pdf(&doc).map_err(render_error)
    }
}

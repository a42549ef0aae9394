//! Invoice documents: a printable, self-contained HTML page ([`render_html`]) and an A4
//! PDF ([`render_pdf`]) built from one plain input, [`InvoiceDocument`].
//!
//! The crate knows nothing of the app's models: the caller maps its invoice, account and
//! tenant into an [`InvoiceDocument`]. Amounts stay decimal strings exactly as computed
//! ("24.95"): nothing here parses or rounds money. Periods follow Quoin's convention of an
//! exclusive end (`period_end` is the first day *not* served); documents print the last
//! day served, so a January period is shown as `2026-01-01 – 2026-01-31`.

use jiff::civil::Date;

mod html;
mod metrics;
mod pdf;

pub use html::render_html;
pub use pdf::render_pdf;

/// The seller or the buyer of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    pub name: String,
    /// Billing account number; usually set for the buyer only.
    pub ban: Option<String>,
    /// Postal address, one printed line per entry.
    pub address: Vec<String>,
}

/// One charge on the invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocLine {
    pub description: String,
    /// First day served.
    pub period_start: Date,
    /// First day not served (exclusive end).
    pub period_end: Date,
    /// Decimal string, e.g. "1" or "12.5".
    pub quantity: String,
    /// Decimal string: the full-period unit price.
    pub unit_amount: String,
    /// Days (or 30/360 days) served; equal to the denominator for a full period.
    pub proration_numerator: i64,
    pub proration_denominator: i64,
    /// Decimal string: the line's charge.
    pub amount: String,
}

impl DocLine {
    /// True when the line covers only part of its billing period.
    pub fn is_partial(&self) -> bool {
        self.proration_numerator != self.proration_denominator
    }

    /// The rate as printed: `24.95`, or `9/31 of 24.95` for a partial period.
    pub fn rate_label(&self) -> String {
        if self.is_partial() {
            format!(
                "{}/{} of {}",
                self.proration_numerator, self.proration_denominator, self.unit_amount
            )
        } else {
            self.unit_amount.clone()
        }
    }

    /// The service period as printed, both ends inclusive.
    pub fn period_label(&self) -> String {
        period_label(self.period_start, self.period_end)
    }
}

/// Everything an invoice document shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDocument {
    pub seller: Party,
    pub buyer: Party,
    /// Set on finalize; `None` renders the document as a DRAFT.
    pub number: Option<String>,
    /// "draft", "finalized", ...
    pub status: String,
    /// ISO 4217 code, e.g. "USD".
    pub currency: String,
    pub invoice_date: Date,
    pub due_date: Date,
    pub period_start: Date,
    /// Exclusive end, as for lines.
    pub period_end: Date,
    pub lines: Vec<DocLine>,
    /// Decimal string.
    pub total: String,
    /// Free text printed below the total, one paragraph each.
    pub notes: Vec<String>,
}

impl InvoiceDocument {
    /// True when the invoice has no number yet.
    pub fn is_draft(&self) -> bool {
        self.number.is_none()
    }

    /// "Invoice INV-0042" or "Draft invoice": also the document title.
    pub fn title(&self) -> String {
        match &self.number {
            Some(number) => format!("Invoice {number}"),
            None => "Draft invoice".to_owned(),
        }
    }

    /// The invoice's billing period as printed, both ends inclusive.
    pub fn period_label(&self) -> String {
        period_label(self.period_start, self.period_end)
    }

    /// Checks what rendering relies on: a sane proration fraction on every line.
    pub fn validate(&self) -> Result<(), DocumentError> {
        for (index, line) in self.lines.iter().enumerate() {
            let (n, d) = (line.proration_numerator, line.proration_denominator);
            if d <= 0 || n < 0 || n > d {
                return Err(DocumentError::InvalidProration {
                    line: index + 1,
                    numerator: n,
                    denominator: d,
                });
            }
        }
        Ok(())
    }
}

/// Why a document could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("line {line}: proration {numerator}/{denominator} is not a fraction in [0, 1]")]
    InvalidProration {
        line: usize,
        numerator: i64,
        denominator: i64,
    },
}

/// `start – last day` from an exclusive end; a single day (or an empty period) prints once.
fn period_label(start: Date, end_exclusive: Date) -> String {
    let last = end_exclusive.yesterday().unwrap_or(end_exclusive);
    if last <= start {
        start.to_string()
    } else {
        format!("{start} \u{2013} {last}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn period_label_prints_the_last_day_served() {
        assert_eq!(
            period_label(date(2026, 1, 1), date(2026, 2, 1)),
            "2026-01-01 \u{2013} 2026-01-31"
        );
        assert_eq!(
            period_label(date(2026, 1, 5), date(2026, 1, 6)),
            "2026-01-05"
        );
    }
}

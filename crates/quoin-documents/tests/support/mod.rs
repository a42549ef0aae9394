//! Sample invoices shared by the tests and the `sample` example.
#![allow(dead_code)]

use jiff::civil::date;
use quoin_documents::{DocLine, InvoiceDocument, Party};

pub fn seller() -> Party {
    Party {
        name: "Quoin Networks Ltd".into(),
        ban: None,
        address: vec![
            "12 Harbour Street".into(),
            "Bristol BS1 4QA".into(),
            "United Kingdom".into(),
        ],
    }
}

pub fn buyer(name: &str) -> Party {
    Party {
        name: name.into(),
        ban: Some("100000017".into()),
        address: vec!["Unit 4, Riverside Park".into(), "Leeds LS1 2AB".into()],
    }
}

/// A finalized January invoice: two full-period lines and one prorated line (9/31).
pub fn invoice(buyer_name: &str) -> InvoiceDocument {
    InvoiceDocument {
        seller: seller(),
        buyer: buyer(buyer_name),
        number: Some("INV-2026-0042".into()),
        status: "finalized".into(),
        currency: "USD".into(),
        invoice_date: date(2026, 1, 1),
        due_date: date(2026, 1, 31),
        period_start: date(2026, 1, 1),
        period_end: date(2026, 2, 1),
        lines: vec![
            DocLine {
                description: "Fibre 500 \u{2013} business broadband, static IPv4 block".into(),
                period_start: date(2026, 1, 1),
                period_end: date(2026, 2, 1),
                quantity: "1".into(),
                unit_amount: "79.00".into(),
                proration_numerator: 31,
                proration_denominator: 31,
                amount: "79.00".into(),
            },
            DocLine {
                description: "Mobile seat".into(),
                period_start: date(2026, 1, 1),
                period_end: date(2026, 2, 1),
                quantity: "12".into(),
                unit_amount: "15.50".into(),
                proration_numerator: 31,
                proration_denominator: 31,
                amount: "186.00".into(),
            },
            DocLine {
                description: "Managed firewall (added mid-period)".into(),
                period_start: date(2026, 1, 23),
                period_end: date(2026, 2, 1),
                quantity: "1".into(),
                unit_amount: "24.95".into(),
                proration_numerator: 9,
                proration_denominator: 31,
                amount: "7.24".into(),
            },
        ],
        total: "272.24".into(),
        notes: vec![
            "Payment by bank transfer to Quoin Networks Ltd, sort code 00-00-00, account 12345678, quoting the invoice number.".into(),
        ],
    }
}

/// The same invoice as a draft: no number yet.
pub fn draft(buyer_name: &str) -> InvoiceDocument {
    InvoiceDocument {
        number: None,
        status: "draft".into(),
        ..invoice(buyer_name)
    }
}

/// An invoice of `count` lines, each amount distinct so each can be looked for.
pub fn long_invoice(count: usize) -> InvoiceDocument {
    let template = invoice("Northwind Traders").lines[1].clone();
    let lines = (0..count)
        .map(|i| DocLine {
            description: format!("Mobile seat #{:02} (user {})", i + 1, 1000 + i),
            amount: line_amount(i),
            ..template.clone()
        })
        .collect();
    InvoiceDocument {
        lines,
        total: "9999.99".into(),
        ..invoice("Northwind Traders")
    }
}

pub fn line_amount(i: usize) -> String {
    format!("{}.{:02}", 100 + i * 7, (i * 13) % 100)
}

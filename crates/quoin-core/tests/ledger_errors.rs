//! Every refused ledger operation reports why and leaves the ledger exactly as it was.

use jiff::civil::{date, Date};
use quoin_core::ledger::{DocumentKind, Ledger, LedgerError};
use quoin_core::money::{Currency, Money};

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn d(m: i8, day: i8) -> Date {
    date(2026, m, day)
}

/// A ledger with an open invoice, a paid one, a payment and some unapplied credit.
fn seeded() -> Ledger {
    let mut l = Ledger::new(Currency::USD);
    l.add_invoice("paid", d(1, 1), d(1, 31), usd(5000)).unwrap();
    l.add_payment("p", d(1, 5), usd(6000)).unwrap();
    l.add_invoice("open", d(2, 1), d(2, 28), usd(10000))
        .unwrap();
    l.add_credit_note("cn", d(2, 2), usd(500), Some("open"))
        .unwrap();
    l.add_payment_to("p2", d(2, 3), usd(300), &[]).unwrap();
    l.refund("r", "p2", d(2, 4), usd(100)).unwrap();
    l
}

/// Runs `op` on a seeded ledger, checks it fails with `expected` and changed nothing.
fn rejects<T: std::fmt::Debug>(
    expected: LedgerError,
    op: impl FnOnce(&mut Ledger) -> Result<T, LedgerError>,
) {
    let mut l = seeded();
    let before = l.clone();
    assert_eq!(op(&mut l).unwrap_err(), expected);
    assert_eq!(l, before);
}

#[test]
fn seed_is_as_expected() {
    let l = seeded();
    // p's 10.00 overpayment was consumed by "open" (CBA) before the credit note.
    assert_eq!(l.open_amount("open"), Ok(usd(8500)));
    assert_eq!(l.unapplied_credit(), usd(200));
    assert_eq!(l.balance(), usd(8300));
}

#[test]
fn currency_mismatch() {
    let eur = Money::from_minor(100, Currency::EUR);
    let err = LedgerError::CurrencyMismatch {
        expected: Currency::USD,
        found: Currency::EUR,
    };
    assert_eq!(
        err.to_string(),
        "currency mismatch: ledger is USD, amount is EUR"
    );
    rejects(err.clone(), |l| l.add_invoice("x", d(3, 1), d(3, 31), eur));
    rejects(err.clone(), |l| l.add_credit_note("x", d(3, 1), eur, None));
    rejects(err.clone(), |l| l.add_payment("x", d(3, 1), eur));
    rejects(err.clone(), |l| {
        l.add_payment_to("x", d(3, 1), usd(100), &[("open", eur)])
    });
    rejects(err.clone(), |l| l.refund("x", "p", d(3, 1), eur));
    rejects(err, |l| l.apply_credit("open", eur));
}

#[test]
fn zero_and_negative_amounts() {
    for minor in [0, -1] {
        // Invoices may be zero or negative (see ledger_examples); nothing else may.
        let err = LedgerError::NonPositiveAmount(usd(minor));
        rejects(err.clone(), |l| {
            l.add_credit_note("x", d(3, 1), usd(minor), Some("open"))
        });
        rejects(err.clone(), |l| l.add_payment("x", d(3, 1), usd(minor)));
        rejects(err.clone(), |l| {
            l.add_payment_to("x", d(3, 1), usd(100), &[("open", usd(minor))])
        });
        rejects(err.clone(), |l| l.refund("x", "p", d(3, 1), usd(minor)));
        rejects(err, |l| l.apply_credit("open", usd(minor)));
    }
}

#[test]
fn duplicate_ids() {
    let dup = |kind, id: &str| LedgerError::DuplicateId {
        kind,
        id: id.to_string(),
    };
    rejects(dup(DocumentKind::Invoice, "open"), |l| {
        l.add_invoice("open", d(3, 1), d(3, 31), usd(1))
    });
    rejects(dup(DocumentKind::CreditNote, "cn"), |l| {
        l.add_credit_note("cn", d(3, 1), usd(1), None)
    });
    rejects(dup(DocumentKind::Payment, "p"), |l| {
        l.add_payment("p", d(3, 1), usd(1))
    });
    rejects(dup(DocumentKind::Payment, "p"), |l| {
        l.add_payment_to("p", d(3, 1), usd(1), &[])
    });
    rejects(dup(DocumentKind::Refund, "r"), |l| {
        l.refund("r", "p", d(3, 1), usd(1))
    });
    assert_eq!(
        dup(DocumentKind::CreditNote, "cn").to_string(),
        "duplicate credit note id `cn`"
    );
}

#[test]
fn unknown_documents() {
    let unknown = LedgerError::UnknownInvoice("nope".into());
    rejects(unknown.clone(), |l| {
        l.add_credit_note("x", d(3, 1), usd(1), Some("nope"))
    });
    rejects(unknown.clone(), |l| {
        l.add_payment_to("x", d(3, 1), usd(10), &[("open", usd(5)), ("nope", usd(1))])
    });
    rejects(unknown.clone(), |l| l.apply_credit("nope", usd(1)));
    assert_eq!(seeded().open_amount("nope"), Err(unknown.clone()));
    assert_eq!(seeded().status("nope", d(1, 1)), Err(unknown));
    rejects(LedgerError::UnknownPayment("nope".into()), |l| {
        l.refund("x", "nope", d(3, 1), usd(1))
    });
}

#[test]
fn due_date_before_invoice_date() {
    rejects(
        LedgerError::DueBeforeDate {
            date: d(3, 2),
            due: d(3, 1),
        },
        |l| l.add_invoice("x", d(3, 2), d(3, 1), usd(1)),
    );
}

#[test]
fn over_allocation() {
    rejects(
        LedgerError::OverAllocation {
            invoice: "open".into(),
            requested: usd(8501),
            open: usd(8500),
        },
        |l| l.add_payment_to("x", d(3, 1), usd(20000), &[("open", usd(8501))]),
    );
    rejects(
        LedgerError::OverAllocation {
            invoice: "paid".into(),
            requested: usd(1),
            open: usd(0),
        },
        |l| l.add_payment_to("x", d(3, 1), usd(20000), &[("paid", usd(1))]),
    );
    rejects(
        LedgerError::AllocationExceedsPayment {
            allocated: usd(101),
            amount: usd(100),
        },
        |l| l.add_payment_to("x", d(3, 1), usd(100), &[("open", usd(101))]),
    );
    rejects(LedgerError::RepeatedAllocation("open".into()), |l| {
        l.add_payment_to(
            "x",
            d(3, 1),
            usd(100),
            &[("open", usd(1)), ("open", usd(1))],
        )
    });
    rejects(
        LedgerError::OverAllocation {
            invoice: "paid".into(),
            requested: usd(1),
            open: usd(0),
        },
        |l| l.apply_credit("paid", usd(1)),
    );
    rejects(
        LedgerError::InsufficientCredit {
            requested: usd(201),
            available: usd(200),
        },
        |l| l.apply_credit("open", usd(201)),
    );
}

#[test]
fn over_credit_and_over_refund() {
    rejects(
        LedgerError::OverCredit {
            invoice: "open".into(),
            requested: usd(9501),
            creditable: usd(9500),
        },
        |l| l.add_credit_note("x", d(3, 1), usd(9501), Some("open")),
    );
    rejects(
        LedgerError::OverRefund {
            payment: "p2".into(),
            requested: usd(201),
            refundable: usd(200),
        },
        |l| l.refund("x", "p2", d(3, 1), usd(201)),
    );
}

#[test]
fn overflow_is_refused_without_change() {
    let mut l = Ledger::new(Currency::USD);
    l.add_invoice("big", d(1, 1), d(1, 31), usd(i64::MAX))
        .unwrap();
    let before = l.clone();
    assert_eq!(
        l.add_invoice("more", d(1, 2), d(1, 31), usd(1)),
        Err(LedgerError::Overflow)
    );
    assert_eq!(l, before);
}

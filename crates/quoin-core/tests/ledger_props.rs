//! Ledger invariants over random sequences of valid and invalid operations.

use jiff::civil::{date, Date};
use jiff::ToSpan;
use proptest::prelude::*;
use quoin_core::ledger::{Ledger, LedgerError};
use quoin_core::money::{Currency, Money};

#[derive(Debug, Clone)]
enum Op {
    Invoice {
        id: u8,
        day: i32,
        terms: i32,
        amount: i64,
    },
    CreditNote {
        id: u8,
        day: i32,
        amount: i64,
        invoice: Option<u8>,
    },
    Payment {
        id: u8,
        day: i32,
        amount: i64,
    },
    PaymentTo {
        id: u8,
        day: i32,
        amount: i64,
        parts: Vec<(u8, i64)>,
    },
    Refund {
        id: u8,
        payment: u8,
        day: i32,
        amount: i64,
    },
    ApplyCredit {
        invoice: u8,
        amount: i64,
    },
}

/// Mostly valid amounts, with zero and negative ones mixed in.
fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![8 => 1i64..30_000, 1 => -100i64..=0]
}

/// Smaller amounts for refunds and credit applications, which are limited by what exists.
fn small_amount() -> impl Strategy<Value = i64> {
    prop_oneof![8 => 1i64..3_000, 1 => -100i64..=0]
}

/// Small id pools so duplicates and unknown references happen often.
fn op() -> impl Strategy<Value = Op> {
    let id = || 0u8..6;
    let day = || 0i32..200;
    prop_oneof![
        (id(), day(), -2i32..60, amount()).prop_map(|(id, day, terms, amount)| Op::Invoice {
            id,
            day,
            terms,
            amount
        }),
        (id(), day(), amount(), proptest::option::of(id())).prop_map(
            |(id, day, amount, invoice)| Op::CreditNote {
                id,
                day,
                amount,
                invoice
            }
        ),
        (id(), day(), amount()).prop_map(|(id, day, amount)| Op::Payment { id, day, amount }),
        (
            id(),
            day(),
            amount(),
            proptest::collection::vec((id(), amount()), 0..3)
        )
            .prop_map(|(id, day, amount, parts)| Op::PaymentTo {
                id,
                day,
                amount,
                parts
            }),
        (id(), id(), day(), small_amount()).prop_map(|(id, payment, day, amount)| Op::Refund {
            id,
            payment,
            day,
            amount
        }),
        (id(), small_amount()).prop_map(|(invoice, amount)| Op::ApplyCredit { invoice, amount }),
    ]
}

fn base() -> Date {
    date(2026, 1, 1)
}

fn day(n: i32) -> Date {
    base().checked_add(n.days()).unwrap()
}

/// Signed totals of accepted documents, kept independently of the ledger.
#[derive(Default, Clone)]
struct Totals {
    invoices: i64,
    credit_notes: i64,
    /// Credit notes not against an invoice and negative invoices: the only money in credit
    /// or allocations that did not come from a payment.
    account_credit_notes: i64,
    payments: i64,
    refunds: i64,
}

fn apply(
    l: &mut Ledger,
    op: &Op,
    currency: Currency,
    totals: &mut Totals,
) -> Result<(), LedgerError> {
    let m = |minor| Money::from_minor(minor, currency);
    match op {
        Op::Invoice {
            id,
            day: dd,
            terms,
            amount,
        } => {
            l.add_invoice(&format!("i{id}"), day(*dd), day(dd + terms), m(*amount))?;
            totals.invoices += amount;
            // A negative invoice's absolute amount becomes account credit.
            totals.account_credit_notes += (-amount).max(0);
        }
        Op::CreditNote {
            id,
            day: dd,
            amount,
            invoice,
        } => {
            let inv = invoice.map(|i| format!("i{i}"));
            l.add_credit_note(&format!("c{id}"), day(*dd), m(*amount), inv.as_deref())?;
            totals.credit_notes += amount;
            if invoice.is_none() {
                totals.account_credit_notes += amount;
            }
        }
        Op::Payment {
            id,
            day: dd,
            amount,
        } => {
            l.add_payment(&format!("p{id}"), day(*dd), m(*amount))?;
            totals.payments += amount;
        }
        Op::PaymentTo {
            id,
            day: dd,
            amount,
            parts,
        } => {
            let names: Vec<String> = parts.iter().map(|(i, _)| format!("i{i}")).collect();
            let parts: Vec<(&str, Money)> = names
                .iter()
                .zip(parts)
                .map(|(n, (_, a))| (n.as_str(), m(*a)))
                .collect();
            l.add_payment_to(&format!("p{id}"), day(*dd), m(*amount), &parts)?;
            totals.payments += amount;
        }
        Op::Refund {
            id,
            payment,
            day: dd,
            amount,
        } => {
            l.refund(
                &format!("r{id}"),
                &format!("p{payment}"),
                day(*dd),
                m(*amount),
            )?;
            totals.refunds += amount;
        }
        Op::ApplyCredit { invoice, amount } => {
            l.apply_credit(&format!("i{invoice}"), m(*amount))?;
        }
    }
    Ok(())
}

fn check_invariants(l: &Ledger, totals: &Totals, as_of: Date) {
    let expected = totals.invoices - totals.credit_notes - totals.payments + totals.refunds;
    assert_eq!(l.balance().minor(), expected);

    let open: i64 = l.invoices().iter().map(|i| i.open().minor()).sum();
    assert_eq!(open, l.open_total().minor());
    assert!(!l.unapplied_credit().is_negative());
    assert_eq!(open - l.unapplied_credit().minor(), l.balance().minor());

    for inv in l.invoices() {
        let o = inv.open().minor();
        assert!(o >= 0 && o <= inv.total().minor().max(0), "{inv:?}");
        let allocated: i64 = l
            .allocations()
            .iter()
            .filter(|a| a.invoice == inv.id())
            .map(|a| a.amount.minor())
            .sum();
        assert_eq!(allocated, inv.paid().minor());
    }
    assert!(l.allocations().iter().all(|a| a.amount.is_positive()));
    // Payment money (net of refunds) and account credit notes are either still unapplied
    // or allocated; credit notes against invoices only move money between the two.
    let allocated: i64 = l.allocations().iter().map(|a| a.amount.minor()).sum();
    assert_eq!(
        l.unapplied_credit().minor() + allocated,
        totals.payments - totals.refunds + totals.account_credit_notes
    );
    for p in l.payments() {
        assert!(p.refunded.minor() <= p.amount.minor());
    }

    let aging = l.aging(as_of);
    assert_eq!(aging.total(), l.open_total());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn invariants_hold_and_rejections_change_nothing(
        ops in proptest::collection::vec((op(), proptest::bool::weighted(0.05)), 1..40),
        as_of in 0i32..400,
    ) {
        let mut l = Ledger::new(Currency::USD);
        let mut totals = Totals::default();
        for (op, foreign) in &ops {
            let currency = if *foreign { Currency::EUR } else { Currency::USD };
            let before = l.clone();
            let before_totals = totals.clone();
            let result = apply(&mut l, op, currency, &mut totals);
            if let Err(e) = result {
                prop_assert_eq!(&l, &before, "{:?} failed with {} but changed the ledger", op, e);
                prop_assert_eq!(totals.invoices, before_totals.invoices);
            } else {
                prop_assert!(!*foreign, "{:?} in EUR was accepted", op);
            }
            check_invariants(&l, &totals, day(as_of));
        }
    }

    /// Refunding every payment in full always succeeds (credit plus allocations always cover
    /// what is refundable) and leaves only account credit notes applied or unapplied.
    #[test]
    fn full_refunds_are_always_possible(
        ops in proptest::collection::vec(op(), 1..30),
    ) {
        let mut l = Ledger::new(Currency::USD);
        let mut totals = Totals::default();
        for op in &ops {
            let _ = apply(&mut l, op, Currency::USD, &mut totals);
        }
        let payments: Vec<(String, Money)> = l
            .payments()
            .iter()
            .map(|p| (p.id.clone(), p.amount.checked_sub(p.refunded).unwrap()))
            .collect();
        for (n, (id, left)) in payments.iter().enumerate() {
            if left.is_positive() {
                l.refund(&format!("full{n}"), id, day(300), *left).unwrap();
                totals.refunds += left.minor();
            }
        }
        check_invariants(&l, &totals, day(300));
        let allocated: i64 = l.allocations().iter().map(|a| a.amount.minor()).sum();
        prop_assert_eq!(
            l.unapplied_credit().minor() + allocated,
            totals.account_credit_notes
        );
    }
}

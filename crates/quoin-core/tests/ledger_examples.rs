//! Exact ledger scenarios: Kill Bill's credit balance arithmetic (PUBLIC-EXAMPLES B15) and
//! the allocation, refund and aging rules documented in `quoin_core::ledger`.

use jiff::civil::{date, Date};
use quoin_core::ledger::{Aging, Allocation, AllocationSource, InvoiceStatus, Ledger};
use quoin_core::money::{Currency, Money};

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn d(m: i8, day: i8) -> Date {
    date(2026, m, day)
}

fn ledger() -> Ledger {
    Ledger::new(Currency::USD)
}

fn alloc(invoice: &str, source: AllocationSource, minor: i64) -> Allocation {
    Allocation {
        invoice: invoice.to_string(),
        source,
        amount: usd(minor),
    }
}

fn paid_by(p: &str) -> AllocationSource {
    AllocationSource::Payment(p.to_string())
}

#[test]
fn b15_account_credit_is_consumed_by_the_next_invoice() {
    let mut l = ledger();
    l.add_credit_note("cn1", d(1, 1), usd(2000), None).unwrap();
    assert_eq!(l.unapplied_credit(), usd(2000));
    assert_eq!(l.balance(), usd(-2000));

    let consumed = l.add_invoice("inv1", d(1, 2), d(2, 1), usd(10000)).unwrap();
    assert_eq!(consumed, usd(2000));
    assert_eq!(l.open_amount("inv1"), Ok(usd(8000)));
    assert_eq!(l.unapplied_credit(), usd(0));
    assert_eq!(l.balance(), usd(8000));
    assert_eq!(
        l.allocations(),
        [alloc("inv1", AllocationSource::AccountCredit, 2000)]
    );
}

/// Kill Bill's "balance 0" here is the invoice balance; the account itself is in credit by
/// the adjusted $10, which is what `balance()` reports (Σ open − credit).
#[test]
fn b15_item_adjustment_on_a_paid_invoice_becomes_account_credit() {
    let mut l = ledger();
    l.add_invoice("inv1", d(1, 1), d(1, 31), usd(10000))
        .unwrap();
    l.add_payment("pay1", d(1, 5), usd(10000)).unwrap();
    l.add_credit_note("adj1", d(1, 10), usd(1000), Some("inv1"))
        .unwrap();

    let inv = l.invoice("inv1").unwrap();
    assert_eq!(inv.open(), usd(0));
    assert_eq!(inv.credited(), usd(1000));
    assert_eq!(inv.paid(), usd(9000)); // charged 90
    assert_eq!(l.status("inv1", d(3, 1)), Ok(InvoiceStatus::Paid));
    assert_eq!(l.unapplied_credit(), usd(1000)); // CBA +10
    assert_eq!(l.balance(), usd(-1000));
    assert_eq!(l.allocations(), [alloc("inv1", paid_by("pay1"), 9000)]);
}

#[test]
fn b15_refund_without_adjustment_reopens_the_invoice() {
    let mut l = ledger();
    l.add_invoice("inv1", d(1, 1), d(1, 31), usd(10000))
        .unwrap();
    l.add_payment("pay1", d(1, 5), usd(10000)).unwrap();
    l.refund("ref1", "pay1", d(1, 10), usd(1000)).unwrap();

    assert_eq!(l.balance(), usd(1000));
    assert_eq!(l.open_amount("inv1"), Ok(usd(1000)));
    assert_eq!(l.unapplied_credit(), usd(0));
    assert_eq!(l.payment("pay1").unwrap().refunded, usd(1000));
    assert_eq!(l.status("inv1", d(1, 20)), Ok(InvoiceStatus::PartiallyPaid));
}

#[test]
fn b15_beatrix_overpayment_carries_to_the_next_invoice() {
    let mut l = ledger();
    l.add_invoice("inv1", d(1, 1), d(1, 31), usd(24995))
        .unwrap();
    let left = l.add_payment("pay1", d(1, 15), usd(30000)).unwrap();
    assert_eq!(left, usd(5005));
    assert_eq!(l.balance(), usd(-5005));
    assert_eq!(l.unapplied_credit(), usd(5005));
    assert_eq!(l.open_amount("inv1"), Ok(usd(0)));

    let consumed = l.add_invoice("inv2", d(2, 1), d(3, 3), usd(24995)).unwrap();
    assert_eq!(consumed, usd(5005));
    assert_eq!(l.open_amount("inv2"), Ok(usd(19990)));
    assert_eq!(l.balance(), usd(19990));
    assert_eq!(l.unapplied_credit(), usd(0));

    l.add_payment("pay2", d(2, 10), usd(19990)).unwrap();
    assert_eq!(l.balance(), usd(0));
    assert_eq!(l.status("inv2", d(4, 1)), Ok(InvoiceStatus::Paid));
}

fn three_invoices() -> Ledger {
    let mut l = ledger();
    // Added out of due-date order on purpose.
    l.add_invoice("c", d(3, 1), d(3, 31), usd(30000)).unwrap();
    l.add_invoice("a", d(1, 1), d(1, 31), usd(10000)).unwrap();
    l.add_invoice("b", d(2, 1), d(2, 28), usd(20000)).unwrap();
    l
}

#[test]
fn payment_goes_to_the_oldest_due_invoice_first() {
    let mut l = three_invoices();
    let left = l.add_payment("p", d(3, 5), usd(35000)).unwrap();
    assert_eq!(left, usd(0));
    assert_eq!(l.open_amount("a"), Ok(usd(0)));
    assert_eq!(l.open_amount("b"), Ok(usd(0)));
    assert_eq!(l.open_amount("c"), Ok(usd(25000)));
    assert_eq!(
        l.allocations(),
        [
            alloc("a", paid_by("p"), 10000),
            alloc("b", paid_by("p"), 20000),
            alloc("c", paid_by("p"), 5000),
        ]
    );
    assert_eq!(l.balance(), usd(25000));
}

#[test]
fn equal_due_dates_fall_back_to_invoice_date_then_insertion() {
    let mut l = ledger();
    l.add_invoice("late-issue", d(1, 10), d(2, 1), usd(100))
        .unwrap();
    l.add_invoice("early-issue", d(1, 5), d(2, 1), usd(100))
        .unwrap();
    l.add_payment("p", d(1, 20), usd(150)).unwrap();
    assert_eq!(l.open_amount("early-issue"), Ok(usd(0)));
    assert_eq!(l.open_amount("late-issue"), Ok(usd(50)));
}

#[test]
fn explicit_allocation_is_followed_and_the_rest_is_credit() {
    let mut l = three_invoices();
    let left = l
        .add_payment_to(
            "p",
            d(3, 5),
            usd(20000),
            &[("c", usd(10000)), ("a", usd(5000))],
        )
        .unwrap();
    assert_eq!(left, usd(5000));
    assert_eq!(l.open_amount("a"), Ok(usd(5000)));
    assert_eq!(l.open_amount("b"), Ok(usd(20000)));
    assert_eq!(l.open_amount("c"), Ok(usd(20000)));
    assert_eq!(l.unapplied_credit(), usd(5000));
    assert_eq!(l.balance(), usd(40000));
    assert_eq!(l.open_total(), usd(45000));
}

#[test]
fn partial_payment_then_overdue() {
    let mut l = ledger();
    l.add_invoice("inv", d(1, 1), d(1, 31), usd(10000)).unwrap();
    assert_eq!(l.status("inv", d(1, 31)), Ok(InvoiceStatus::Open));
    assert_eq!(l.status("inv", d(2, 1)), Ok(InvoiceStatus::Overdue));
    l.add_payment("p", d(1, 10), usd(3000)).unwrap();
    assert_eq!(l.open_amount("inv"), Ok(usd(7000)));
    assert_eq!(l.status("inv", d(1, 31)), Ok(InvoiceStatus::PartiallyPaid));
    assert_eq!(l.status("inv", d(2, 1)), Ok(InvoiceStatus::Overdue));
    assert_eq!(l.balance(), usd(7000));
}

#[test]
fn overpayment_becomes_unapplied_credit() {
    let mut l = ledger();
    l.add_invoice("inv", d(1, 1), d(1, 31), usd(10000)).unwrap();
    let left = l.add_payment("p", d(1, 10), usd(13000)).unwrap();
    assert_eq!(left, usd(3000));
    assert_eq!(l.unapplied_credit(), usd(3000));
    assert_eq!(l.balance(), usd(-3000));
    assert_eq!(l.open_total(), usd(0));
}

#[test]
fn payment_with_nothing_open_is_all_credit() {
    let mut l = ledger();
    assert_eq!(l.add_payment("p", d(1, 1), usd(500)), Ok(usd(500)));
    assert_eq!(l.allocations(), []);
}

#[test]
fn explicit_credit_application() {
    let mut l = ledger();
    l.add_invoice("a", d(1, 1), d(1, 31), usd(10000)).unwrap();
    l.add_payment_to("p", d(1, 2), usd(4000), &[]).unwrap();
    assert_eq!(l.open_amount("a"), Ok(usd(10000)));
    l.apply_credit("a", usd(2500)).unwrap();
    assert_eq!(l.open_amount("a"), Ok(usd(7500)));
    assert_eq!(l.unapplied_credit(), usd(1500));
    assert_eq!(l.balance(), usd(6000));
}

#[test]
fn refunds_are_limited_to_what_is_left_of_the_payment() {
    let mut l = ledger();
    l.add_invoice("inv", d(1, 1), d(1, 31), usd(10000)).unwrap();
    l.add_payment("p", d(1, 10), usd(10000)).unwrap();
    l.refund("r1", "p", d(1, 11), usd(6000)).unwrap();
    let before = l.clone();
    let err = l.refund("r2", "p", d(1, 12), usd(4001)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "refund of 40.01 USD exceeds the 40.00 USD still refundable on payment `p`"
    );
    assert_eq!(l, before);
    l.refund("r2", "p", d(1, 12), usd(4000)).unwrap();
    assert_eq!(l.open_amount("inv"), Ok(usd(10000)));
    assert_eq!(l.balance(), usd(10000));
    assert_eq!(l.allocations(), []);
    assert!(l.refund("r3", "p", d(1, 13), usd(1)).is_err());
}

#[test]
fn refund_takes_unapplied_credit_first() {
    let mut l = ledger();
    l.add_invoice("inv", d(1, 1), d(1, 31), usd(10000)).unwrap();
    l.add_payment("p", d(1, 10), usd(13000)).unwrap();
    l.refund("r", "p", d(1, 11), usd(2000)).unwrap();
    assert_eq!(l.unapplied_credit(), usd(1000));
    assert_eq!(l.open_amount("inv"), Ok(usd(0)));
    l.refund("r2", "p", d(1, 12), usd(3000)).unwrap();
    assert_eq!(l.unapplied_credit(), usd(0));
    assert_eq!(l.open_amount("inv"), Ok(usd(2000)));
    assert_eq!(l.balance(), usd(2000));
}

#[test]
fn refund_unallocates_newest_invoice_first() {
    let mut l = ledger();
    l.add_invoice("jan", d(1, 1), d(1, 31), usd(10000)).unwrap();
    l.add_invoice("feb", d(2, 1), d(2, 28), usd(10000)).unwrap();
    l.add_payment("p", d(2, 5), usd(20000)).unwrap();
    l.refund("r", "p", d(2, 6), usd(15000)).unwrap();
    assert_eq!(l.open_amount("feb"), Ok(usd(10000)));
    assert_eq!(l.open_amount("jan"), Ok(usd(5000)));
    assert_eq!(l.allocations(), [alloc("jan", paid_by("p"), 5000)]);
}

#[test]
fn refund_takes_back_the_refunded_payments_own_allocation_first() {
    let mut l = ledger();
    l.add_invoice("inv", d(1, 1), d(1, 31), usd(10000)).unwrap();
    l.add_payment("p1", d(1, 2), usd(6000)).unwrap();
    l.add_payment("p2", d(1, 3), usd(4000)).unwrap();
    l.refund("r", "p1", d(1, 4), usd(3000)).unwrap();
    assert_eq!(
        l.allocations(),
        [
            alloc("inv", paid_by("p1"), 3000),
            alloc("inv", paid_by("p2"), 4000),
        ]
    );
}

#[test]
fn partial_credit_notes_reduce_the_open_amount() {
    let mut l = ledger();
    l.add_invoice("inv", d(1, 1), d(1, 31), usd(10000)).unwrap();
    l.add_credit_note("cn1", d(1, 5), usd(2500), Some("inv"))
        .unwrap();
    l.add_credit_note("cn2", d(1, 6), usd(2500), Some("inv"))
        .unwrap();
    assert_eq!(l.open_amount("inv"), Ok(usd(5000)));
    assert_eq!(l.unapplied_credit(), usd(0));
    assert_eq!(l.balance(), usd(5000));
    assert_eq!(l.status("inv", d(1, 10)), Ok(InvoiceStatus::PartiallyPaid));
    assert!(l
        .add_credit_note("cn3", d(1, 7), usd(5001), Some("inv"))
        .is_err());
    l.add_credit_note("cn3", d(1, 7), usd(5000), Some("inv"))
        .unwrap();
    assert_eq!(l.status("inv", d(3, 1)), Ok(InvoiceStatus::Paid));
    assert_eq!(l.balance(), usd(0));
}

#[test]
fn aging_buckets_on_exact_day_boundaries() {
    let mut l = ledger();
    let as_of = d(6, 30);
    // (id, due, amount): days past due as of June 30 in the comments.
    let invoices = [
        ("future", d(7, 15), 1),    // -15: current
        ("due-today", d(6, 30), 2), // 0: current
        ("d1", d(6, 29), 4),        // 1
        ("d30", d(5, 31), 8),       // 30
        ("d31", d(5, 30), 16),      // 31
        ("d60", d(5, 1), 32),       // 60
        ("d61", d(4, 30), 64),      // 61
        ("d90", d(4, 1), 128),      // 90
        ("d91", d(3, 31), 256),     // 91
        ("paid", d(1, 31), 512),    // settled below, so absent
        ("partly", d(1, 31), 2048), // 150, half paid below
    ];
    for (id, due, minor) in invoices {
        l.add_invoice(id, d(1, 1), due, usd(minor)).unwrap();
    }
    l.add_payment_to(
        "p",
        d(6, 1),
        usd(512 + 1024),
        &[("paid", usd(512)), ("partly", usd(1024))],
    )
    .unwrap();
    let aging = l.aging(as_of);
    assert_eq!(
        aging,
        Aging {
            current: usd(1 + 2),
            days_1_30: usd(4 + 8),
            days_31_60: usd(16 + 32),
            days_61_90: usd(64 + 128),
            over_90: usd(256 + 1024),
        }
    );
    assert_eq!(aging.total(), l.open_total());
    assert_eq!(l.status("d1", as_of), Ok(InvoiceStatus::Overdue));
    assert_eq!(l.status("due-today", as_of), Ok(InvoiceStatus::Open));
}

/// Kill Bill: a plan change whose repairs exceed the new charges yields a negative invoice
/// (−2164.88); its absolute amount becomes account credit that later invoices consume.
#[test]
fn negative_invoice_becomes_account_credit() {
    let mut l = ledger();
    l.add_invoice("old", d(1, 1), d(1, 31), usd(300000))
        .unwrap();
    l.add_payment("p1", d(1, 5), usd(300000)).unwrap();
    let consumed = l
        .add_invoice("neg", d(2, 1), d(3, 3), usd(-216488))
        .unwrap();
    assert_eq!(consumed, usd(0));
    assert_eq!(l.open_amount("neg").unwrap(), usd(0));
    assert_eq!(l.status("neg", d(4, 1)).unwrap(), InvoiceStatus::Paid);
    assert_eq!(l.unapplied_credit(), usd(216488));
    assert_eq!(l.balance(), usd(-216488));

    // The next invoice is paid from that credit, the rest stays unapplied.
    let consumed = l
        .add_invoice("next", d(3, 1), d(3, 31), usd(100000))
        .unwrap();
    assert_eq!(consumed, usd(100000));
    assert_eq!(l.status("next", d(3, 1)).unwrap(), InvoiceStatus::Paid);
    assert_eq!(l.unapplied_credit(), usd(116488));
    assert_eq!(l.balance(), usd(-116488));

    // Nothing can be paid or credited on the negative invoice itself.
    assert!(l
        .add_credit_note("cn", d(3, 2), usd(1), Some("neg"))
        .is_err());
    assert!(l
        .add_payment_to("p2", d(3, 2), usd(1), &[("neg", usd(1))])
        .is_err());
    assert_eq!(l.aging(d(12, 31)).total(), usd(0));
}

#[test]
fn zero_invoice_is_settled_on_arrival() {
    let mut l = ledger();
    l.add_credit_note("cn1", d(1, 1), usd(500), None).unwrap();
    assert_eq!(
        l.add_invoice("zero", d(1, 2), d(2, 1), usd(0)).unwrap(),
        usd(0)
    );
    assert_eq!(l.status("zero", d(3, 1)).unwrap(), InvoiceStatus::Paid);
    assert_eq!(l.unapplied_credit(), usd(500));
    assert_eq!(l.balance(), usd(-500));
}

#[test]
fn paid_by_payments_ignores_account_credit() {
    let mut l = ledger();
    l.add_credit_note("cn1", d(1, 1), usd(2000), None).unwrap();
    l.add_invoice("inv", d(1, 2), d(2, 1), usd(10000)).unwrap();
    assert_eq!(l.paid_by_payments("inv"), usd(0));
    l.add_payment("p1", d(1, 3), usd(3000)).unwrap();
    assert_eq!(l.paid_by_payments("inv"), usd(3000));
}

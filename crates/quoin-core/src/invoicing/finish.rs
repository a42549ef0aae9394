//! The finishing pipeline: from raw charge lines and the account's commercial context to
//! a final invoice.
//!
//! Order: minimum true-ups, the commitment true-up, coupons (before tax), subscription
//! commitment true-ups (compared after coupons, so not discounted themselves), tax per
//! line, fees on the discounted lines (then taxed), prepaid credit (after tax), totals.

use crate::money::{Currency, Money};

use super::charge::{ChargeLine, TaxMode};
use super::coupon::{apply_coupons, AppliedCoupon};
use super::error::InvoicingError;
use super::fee::{fee_lines, Fee};
use super::invoice::{FinalInvoice, InvoiceLine, InvoiceTotals, LineOrigin, TaxSummary};
use super::minimum::{
    add_charge_true_ups, add_commitment_true_up, add_subscription_true_ups, ChargeMinimum,
    MinimumCommitment, SubscriptionCommitment,
};
use super::tax::{rates_for, tax_line, total_percent, without_tax, TaxProfile, TaxTable};
use super::validate::validate;
use super::wallet::{apply_wallets, Wallet};

/// Everything about the bill-to account and its deals that shapes the invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceContext {
    pub currency: Currency,
    /// How prices are expressed unless a line says otherwise.
    pub tax_mode: TaxMode,
    pub taxes: TaxTable,
    pub tax_profile: TaxProfile,
    pub minimums: Vec<ChargeMinimum>,
    pub commitment: Option<MinimumCommitment>,
    /// Per-subscription minimum commitments (at most one per group).
    pub subscription_commitments: Vec<SubscriptionCommitment>,
    pub coupons: Vec<AppliedCoupon>,
    pub fees: Vec<Fee>,
    pub wallets: Vec<Wallet>,
}

impl InvoiceContext {
    /// Tax-exclusive prices, no minimums, coupons, fees or wallets.
    pub fn new(currency: Currency, taxes: TaxTable, tax_profile: TaxProfile) -> Self {
        Self {
            currency,
            tax_mode: TaxMode::Exclusive,
            taxes,
            tax_profile,
            minimums: Vec::new(),
            commitment: None,
            subscription_commitments: Vec::new(),
            coupons: Vec::new(),
            fees: Vec::new(),
            wallets: Vec::new(),
        }
    }
}

/// Finishes an invoice. Pure: the caller persists the lines and the coupon and wallet
/// consumptions it returns.
pub fn finish_invoice(
    charges: &[ChargeLine],
    ctx: &InvoiceContext,
) -> Result<FinalInvoice, InvoicingError> {
    validate(charges, ctx)?;
    let mut lines: Vec<InvoiceLine> = charges.iter().map(|c| charge_line(c, ctx)).collect();
    add_charge_true_ups(&mut lines, &ctx.minimums, ctx.tax_mode, &ctx.taxes)?;
    if let Some(commitment) = &ctx.commitment {
        add_commitment_true_up(&mut lines, commitment, ctx.tax_mode, &ctx.taxes)?;
    }
    let coupons = apply_coupons(&mut lines, &ctx.coupons, ctx.currency)?;
    add_subscription_true_ups(
        &mut lines,
        &ctx.subscription_commitments,
        ctx.tax_mode,
        &ctx.taxes,
    )?;
    for line in &mut lines {
        apply_tax(line, ctx)?;
    }
    let mut fees = fee_lines(&lines, &ctx.fees, &ctx.taxes)?;
    for line in &mut fees {
        apply_tax(line, ctx)?;
    }
    lines.extend(fees);
    let wallets = apply_wallets(&mut lines, &ctx.wallets, ctx.currency)?;
    Ok(FinalInvoice {
        currency: ctx.currency,
        totals: totals(&lines, ctx.currency)?,
        tax_summary: tax_summary(&lines, ctx.currency)?,
        lines,
        coupons,
        wallets,
    })
}

fn charge_line(charge: &ChargeLine, ctx: &InvoiceContext) -> InvoiceLine {
    let origin = LineOrigin::Charge {
        key: charge.key,
        kind: charge.kind,
    };
    let category = ctx.taxes.resolve_category(charge.tax_category.as_deref());
    let mode = charge.tax_mode.unwrap_or(ctx.tax_mode);
    let mut line = InvoiceLine::pending(origin, charge.amount, mode, category);
    line.product_code.clone_from(&charge.product_code);
    line.price_code.clone_from(&charge.price_code);
    line.metric_code.clone_from(&charge.metric_code);
    line.period = charge.period;
    line.group.clone_from(&charge.group);
    line
}

/// Fills a line's gross, discount, net, tax and total from its priced amount and coupon
/// discount.
fn apply_tax(line: &mut InvoiceLine, ctx: &InvoiceContext) -> Result<(), InvoicingError> {
    let components = rates_for(&ctx.taxes, &ctx.tax_profile, &line.tax.category)?;
    let charged = line.priced.checked_sub(line.coupon_discount)?;
    let (net, tax) = tax_line(
        charged,
        line.tax_mode,
        line.tax.category.clone(),
        components,
    )?;
    line.gross = without_tax(line.priced, line.tax_mode, total_percent(components))?;
    line.discount = line.gross.checked_sub(net)?;
    line.net = net;
    line.total = net.checked_add(tax.amount)?;
    line.tax = tax;
    Ok(())
}

fn totals(lines: &[InvoiceLine], currency: Currency) -> Result<InvoiceTotals, InvoicingError> {
    let sum = |f: fn(&InvoiceLine) -> Money| Money::sum(currency, lines.iter().map(f));
    let subtotal = sum(|l| l.net)?;
    let tax = sum(|l| l.tax.amount)?;
    let total = subtotal.checked_add(tax)?;
    let prepaid = sum(|l| l.prepaid)?;
    Ok(InvoiceTotals {
        gross: sum(|l| l.gross)?,
        discounts: sum(|l| l.discount)?,
        subtotal,
        tax,
        total,
        prepaid,
        amount_due: total.checked_sub(prepaid)?,
    })
}

fn tax_summary(
    lines: &[InvoiceLine],
    currency: Currency,
) -> Result<Vec<TaxSummary>, InvoicingError> {
    let mut rows: Vec<TaxSummary> = Vec::new();
    for line in lines {
        for component in &line.tax.components {
            let same = |r: &TaxSummary| r.name == component.name && r.percent == component.percent;
            let index = match rows.iter().position(same) {
                Some(index) => index,
                None => {
                    rows.push(TaxSummary {
                        name: component.name.clone(),
                        percent: component.percent,
                        base: Money::zero(currency),
                        amount: Money::zero(currency),
                    });
                    rows.len() - 1
                }
            };
            let row = &mut rows[index];
            row.base = row.base.checked_add(line.net)?;
            row.amount = row.amount.checked_add(component.amount)?;
        }
    }
    Ok(rows)
}

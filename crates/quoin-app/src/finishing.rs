//! Invoice finishing in the app: the tenant's tax rates, tax categories and fees, the
//! account's tax profile, coupons and wallets (storage and API), and the billing step
//! that turns a draft's lines into a finished invoice with `quoin_core::invoicing`.
//!
//! Persisted shape of a finished invoice:
//! - a charge line keeps `amount` as priced (in its tax mode), `discount` is the coupon
//!   discount in the same mode, `tax` its rounded tax; `detail` explains both (tax mode,
//!   gross/net/total, tax components, coupon shares, prepaid share);
//! - minimum true-ups, subscription minimum commitment true-ups and fees are extra lines
//!   (kind `minimum_true_up`, `minimum_commitment`, `fee`) without a subscription or item,
//!   so reconciliation never mistakes them for billed service (a commitment true-up names
//!   its subscription in `detail.subscription_id`);
//! - wallet use is a negative line of kind `prepaid_credit` per wallet;
//! - the invoice's `subtotal` is the net without tax, `discount` the discounts without
//!   tax, `tax` the tax and `total_minor` the amount due after prepaid credit (what the
//!   ledger receives). The view's `total` is `subtotal + tax`.
//!
//! With no tax rates, profile, fees, coupons, wallets or price minimums nothing changes:
//! the draft is persisted exactly as before finishing existed.

use std::collections::HashMap;

use quoin_core::calendar::{Period, ProrationConvention};
use quoin_core::invoicing::{
    finish_invoice, AppliedCoupon, ChargeKind, ChargeLine, ChargeMinimum, Coupon, CouponDuration,
    CouponValue, Fee, FeeRate, InvoiceContext, InvoicingError, LineFilter, LineOrigin,
    SubscriptionCommitment, TaxComponent, TaxMode, TaxProfile as CoreTaxProfile, TaxTable,
    Wallet as CoreWallet,
};
use quoin_core::money::{round_half_up, Currency, Money};
use quoin_store::new_id;
use quoin_store::repo::finishing::{RedemptionRow, TaxProfileRow, WalletRow};
use quoin_store::rows::{AccountRow, InvoiceLineRow, InvoiceRow, PriceRow};
use quoin_store::Tx;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::accounts::{load_account, lock_account};
use crate::auth::{Action, Principal};
use crate::catalog::spec::PriceSpec;
use crate::clock::to_us;
use crate::commitments::CommitmentSchedule;
use crate::error::{AppError, AppResult};
use crate::model::*;
use crate::validate;
use crate::App;

const TAX_RATES: &str = "tax_rates";
const TAX_CATEGORY: &str = "tax_category";
const FEES: &str = "fees";
const COUPON: &str = "coupon";

fn internal(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(what.to_string())
}

fn percent(field: &str, text: &str) -> AppResult<Decimal> {
    let d = validate::decimal(field, text)?;
    if d < Decimal::ZERO || d > Decimal::ONE_HUNDRED {
        return Err(AppError::invalid(field, "must be between 0 and 100"));
    }
    Ok(d)
}

fn money(field: &str, text: &str, currency: Currency) -> AppResult<Money> {
    let d = validate::decimal(field, text)?;
    if d < Decimal::ZERO {
        return Err(AppError::invalid(field, "must not be negative"));
    }
    Money::from_decimal_exact(d, currency).map_err(|e| AppError::invalid(field, e.to_string()))
}

fn text_of(m: Money) -> String {
    m.to_decimal().to_string()
}

fn products_filter(products: &[String]) -> LineFilter {
    if products.is_empty() {
        LineFilter::any()
    } else {
        LineFilter::products(products.iter().cloned())
    }
}

// ---- validation into core types (used on write and again when billing) ----

fn tax_table(doc: &TaxRates) -> AppResult<TaxTable> {
    let mut table = TaxTable::new(validate::code("default_category", &doc.default_category)?);
    let mut seen = std::collections::HashSet::new();
    for (i, r) in doc.rates.iter().enumerate() {
        let at = |f: &str| format!("rates[{i}].{f}");
        let j = validate::code(&at("jurisdiction"), &r.jurisdiction)?;
        let c = validate::code(&at("category"), &r.category)?;
        if !seen.insert((j.clone(), c.clone())) {
            return Err(AppError::Invalid {
                code: "duplicate_tax_rate",
                field: Some(at("category")),
                message: format!("a rate for `{c}` in `{j}` is given twice"),
            });
        }
        let mut components = Vec::new();
        for (k, comp) in r.components.iter().enumerate() {
            let f = format!("rates[{i}].components[{k}]");
            let name = validate::text(&format!("{f}.name"), &comp.name, 64)?;
            components.push(TaxComponent::new(
                name,
                percent(&format!("{f}.percent"), &comp.percent)?,
            ));
        }
        table = table.with_rate(j, c, components).map_err(internal)?;
    }
    Ok(table)
}

fn coupon_of(input: &CouponInput) -> AppResult<Coupon> {
    let code = validate::code("code", &input.code)?;
    let value = match (&input.percent, &input.amount) {
        (Some(p), None) => {
            if input.currency.is_some() {
                return Err(AppError::invalid(
                    "currency",
                    "only for fixed-amount coupons",
                ));
            }
            CouponValue::Percent(percent("percent", p)?)
        }
        (None, Some(a)) => {
            let c = input
                .currency
                .as_deref()
                .ok_or_else(|| AppError::invalid("currency", "required with `amount`"))?;
            let m = money("amount", a, validate::currency("currency", c)?)?;
            if m.is_zero() {
                return Err(AppError::invalid("amount", "must be positive"));
            }
            CouponValue::Amount(m)
        }
        _ => {
            return Err(AppError::invalid(
                "percent",
                "give exactly one of `percent` and `amount`",
            ))
        }
    };
    let duration = match (input.duration, input.periods) {
        (CouponDurationCode::Periods, Some(n)) if n >= 1 => CouponDuration::Periods(n),
        (CouponDurationCode::Periods, _) => {
            return Err(AppError::invalid(
                "periods",
                "required and at least 1 with `duration: periods`",
            ))
        }
        (_, Some(_)) => {
            return Err(AppError::invalid(
                "periods",
                "only with `duration: periods`",
            ))
        }
        (CouponDurationCode::Once, None) => CouponDuration::Once,
        (CouponDurationCode::Forever, None) => CouponDuration::Forever,
    };
    for (i, p) in input.products.iter().enumerate() {
        validate::code(&format!("products[{i}]"), p)?;
    }
    Ok(Coupon {
        code,
        value,
        duration,
        applies_to: products_filter(&input.products),
    })
}

fn fees_of(doc: &Fees) -> AppResult<Vec<Fee>> {
    let mut out: Vec<Fee> = Vec::new();
    for (i, f) in doc.fees.iter().enumerate() {
        let at = |x: &str| format!("fees[{i}].{x}");
        let code = validate::code(&at("code"), &f.code)?;
        if out.iter().any(|o| o.code == code) {
            return Err(AppError::Invalid {
                code: "duplicate_fee",
                field: Some(at("code")),
                message: format!("fee `{code}` is given twice"),
            });
        }
        let rate = match (&f.percent, &f.per_line) {
            (Some(p), None) => FeeRate::Percent(percent(&at("percent"), p)?),
            (None, Some(a)) => {
                let c = f
                    .currency
                    .as_deref()
                    .ok_or_else(|| AppError::invalid(at("currency"), "required with `per_line`"))?;
                FeeRate::PerLine(money(
                    &at("per_line"),
                    a,
                    validate::currency(&at("currency"), c)?,
                )?)
            }
            _ => {
                return Err(AppError::invalid(
                    at("percent"),
                    "give exactly one of `percent` and `per_line`",
                ))
            }
        };
        let tax_category = match &f.tax_category {
            Some(c) => Some(validate::code(&at("tax_category"), c)?),
            None => None,
        };
        for (k, p) in f.products.iter().enumerate() {
            validate::code(&at(&format!("products[{k}]")), p)?;
        }
        out.push(Fee {
            code,
            rate,
            applies_to: products_filter(&f.products),
            tax_category,
        });
    }
    Ok(out)
}

fn redemption_view(r: &RedemptionRow, currency: Currency) -> CouponRedemption {
    CouponRedemption {
        id: r.id.clone(),
        account_id: r.account_id.clone(),
        coupon_code: r.coupon_code.clone(),
        periods_used: r.periods_used,
        remaining: r
            .remaining_minor
            .map(|m| text_of(Money::from_minor(m, currency))),
        status: r.status.clone(),
    }
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct WalletFilter {
    #[serde(default)]
    metrics: Vec<String>,
    #[serde(default)]
    products: Vec<String>,
}

fn wallet_view(r: &WalletRow) -> AppResult<Wallet> {
    let f: WalletFilter = serde_json::from_str(&r.applies_to).map_err(internal)?;
    let c = Currency::parse(&r.currency).map_err(internal)?;
    Ok(Wallet {
        id: r.id.clone(),
        account_id: r.account_id.clone(),
        code: r.code.clone(),
        currency: r.currency.clone(),
        balance: text_of(Money::from_minor(r.balance_minor, c)),
        metrics: f.metrics,
        products: f.products,
    })
}

async fn tax_rates_doc(tx: &mut Tx, tenant: &str) -> AppResult<Option<TaxRates>> {
    match tx.get_setting(tenant, TAX_RATES, "").await? {
        Some(body) => Ok(Some(serde_json::from_str(&body).map_err(internal)?)),
        None => Ok(None),
    }
}

async fn fees_doc(tx: &mut Tx, tenant: &str) -> AppResult<Fees> {
    match tx.get_setting(tenant, FEES, "").await? {
        Some(body) => serde_json::from_str(&body).map_err(internal),
        None => Ok(Fees { fees: Vec::new() }),
    }
}

async fn coupon_doc(tx: &mut Tx, tenant: &str, code: &str) -> AppResult<Option<CouponInput>> {
    match tx.get_setting(tenant, COUPON, code).await? {
        Some(body) => Ok(Some(serde_json::from_str(&body).map_err(internal)?)),
        None => Ok(None),
    }
}

impl App {
    fn now_us(&self) -> i64 {
        to_us(self.clock.now())
    }

    pub async fn put_tax_rates(&self, p: &Principal, doc: TaxRates) -> AppResult<TaxRates> {
        p.require(Action::WriteCatalog)?;
        tax_table(&doc)?;
        let mut tx = self.store.begin().await?;
        let body = serde_json::to_string(&doc).map_err(internal)?;
        tx.put_setting(&p.tenant_id, TAX_RATES, "", &body, self.now_us())
            .await?;
        tx.commit().await?;
        Ok(doc)
    }

    pub async fn get_tax_rates(&self, p: &Principal) -> AppResult<TaxRates> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let doc = tax_rates_doc(&mut tx, &p.tenant_id).await?;
        tx.commit().await?;
        Ok(doc.unwrap_or(TaxRates {
            default_category: crate::finishing_model::default_category(),
            tax_inclusive: false,
            rates: Vec::new(),
        }))
    }

    pub async fn put_tax_category(
        &self,
        p: &Principal,
        product_code: &str,
        input: SetTaxCategory,
    ) -> AppResult<TaxCategory> {
        p.require(Action::WriteCatalog)?;
        let category = validate::code("category", &input.category)?;
        let mut tx = self.store.begin().await?;
        if tx
            .get_product_by_code(&p.tenant_id, product_code)
            .await?
            .is_none()
        {
            return Err(AppError::not_found("product", product_code));
        }
        let body = serde_json::to_string(&category).map_err(internal)?;
        tx.put_setting(
            &p.tenant_id,
            TAX_CATEGORY,
            product_code,
            &body,
            self.now_us(),
        )
        .await?;
        tx.commit().await?;
        Ok(TaxCategory {
            product_code: product_code.to_string(),
            category,
        })
    }

    pub async fn put_tax_profile(
        &self,
        p: &Principal,
        account_id: &str,
        input: SetTaxProfile,
    ) -> AppResult<TaxProfile> {
        p.require(Action::WriteAccounts)?;
        let jurisdiction = validate::code("jurisdiction", &input.jurisdiction)?;
        let mut tx = self.store.begin().await?;
        lock_account(&mut tx, &p.tenant_id, account_id).await?;
        tx.put_tax_profile(&TaxProfileRow {
            tenant_id: p.tenant_id.clone(),
            account_id: account_id.to_string(),
            jurisdiction: jurisdiction.clone(),
            exempt: i64::from(input.exempt),
            tax_inclusive: input.tax_inclusive.map(i64::from),
            updated_at_us: self.now_us(),
        })
        .await?;
        tx.commit().await?;
        Ok(TaxProfile {
            account_id: account_id.to_string(),
            jurisdiction,
            exempt: input.exempt,
            tax_inclusive: input.tax_inclusive,
        })
    }

    pub async fn get_tax_profile(&self, p: &Principal, account_id: &str) -> AppResult<TaxProfile> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        load_account(&mut tx, &p.tenant_id, account_id).await?;
        let row = tx
            .get_tax_profile(&p.tenant_id, account_id)
            .await?
            .ok_or_else(|| AppError::not_found("tax profile", account_id))?;
        tx.commit().await?;
        Ok(TaxProfile {
            account_id: row.account_id,
            jurisdiction: row.jurisdiction,
            exempt: row.exempt != 0,
            tax_inclusive: row.tax_inclusive.map(|v| v != 0),
        })
    }

    pub async fn create_coupon(&self, p: &Principal, input: CouponInput) -> AppResult<CouponInput> {
        p.require(Action::WriteCatalog)?;
        coupon_of(&input)?;
        let mut tx = self.store.begin().await?;
        if coupon_doc(&mut tx, &p.tenant_id, &input.code)
            .await?
            .is_some()
        {
            return Err(AppError::Conflict {
                code: "coupon_exists",
                message: format!("coupon `{}` already exists", input.code),
            });
        }
        let body = serde_json::to_string(&input).map_err(internal)?;
        tx.put_setting(&p.tenant_id, COUPON, &input.code, &body, self.now_us())
            .await?;
        tx.commit().await?;
        Ok(input)
    }

    pub async fn list_coupons(&self, p: &Principal) -> AppResult<CouponList> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let rows = tx.list_settings(&p.tenant_id, COUPON).await?;
        tx.commit().await?;
        let coupons = rows
            .iter()
            .map(|r| serde_json::from_str(&r.body).map_err(internal))
            .collect::<AppResult<_>>()?;
        Ok(CouponList { coupons })
    }

    pub async fn redeem_coupon(
        &self,
        p: &Principal,
        account_id: &str,
        input: RedeemCoupon,
    ) -> AppResult<CouponRedemption> {
        p.require(Action::WriteAccounts)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let account = lock_account(&mut tx, tenant, account_id).await?;
        let currency = Currency::parse(&account.currency).map_err(internal)?;
        let doc = coupon_doc(&mut tx, tenant, &input.coupon_code)
            .await?
            .ok_or_else(|| AppError::Invalid {
                code: "unknown_coupon",
                field: Some("coupon_code".into()),
                message: format!("no coupon `{}`", input.coupon_code),
            })?;
        if let CouponValue::Amount(m) = coupon_of(&doc)?.value {
            if m.currency() != currency {
                return Err(AppError::Invalid {
                    code: "currency_mismatch",
                    field: Some("coupon_code".into()),
                    message: format!(
                        "coupon `{}` is in {} but the account bills in {}",
                        doc.code,
                        m.currency().code(),
                        account.currency
                    ),
                });
            }
        }
        let now = self.now_us();
        let row = RedemptionRow {
            id: new_id("cpr"),
            tenant_id: tenant.to_string(),
            account_id: account_id.to_string(),
            coupon_code: doc.code.clone(),
            periods_used: 0,
            remaining_minor: None,
            status: "active".into(),
            created_at_us: now,
            updated_at_us: now,
        };
        tx.insert_redemption(&row).await?;
        tx.commit().await?;
        Ok(redemption_view(&row, currency))
    }

    pub async fn put_fees(&self, p: &Principal, doc: Fees) -> AppResult<Fees> {
        p.require(Action::WriteCatalog)?;
        fees_of(&doc)?;
        let mut tx = self.store.begin().await?;
        let body = serde_json::to_string(&doc).map_err(internal)?;
        tx.put_setting(&p.tenant_id, FEES, "", &body, self.now_us())
            .await?;
        tx.commit().await?;
        Ok(doc)
    }

    pub async fn get_fees(&self, p: &Principal) -> AppResult<Fees> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let doc = fees_doc(&mut tx, &p.tenant_id).await?;
        tx.commit().await?;
        Ok(doc)
    }

    pub async fn create_wallet(
        &self,
        p: &Principal,
        account_id: &str,
        input: CreateWallet,
    ) -> AppResult<Wallet> {
        p.require(Action::WriteAccounts)?;
        let tenant = p.tenant_id.as_str();
        let code = validate::code("code", &input.code)?;
        for (i, m) in input.metrics.iter().enumerate() {
            validate::code(&format!("metrics[{i}]"), m)?;
        }
        for (i, m) in input.products.iter().enumerate() {
            validate::code(&format!("products[{i}]"), m)?;
        }
        let mut tx = self.store.begin().await?;
        let account = lock_account(&mut tx, tenant, account_id).await?;
        let currency = Currency::parse(&account.currency).map_err(internal)?;
        let balance = money("balance", &input.balance, currency)?;
        let existing = tx.account_wallets(tenant, account_id).await?;
        if existing.iter().any(|w| w.code == code) {
            return Err(AppError::Conflict {
                code: "wallet_exists",
                message: format!("account `{account_id}` already has a wallet `{code}`"),
            });
        }
        let filter = WalletFilter {
            metrics: input.metrics,
            products: input.products,
        };
        let now = self.now_us();
        let row = WalletRow {
            id: new_id("wal"),
            tenant_id: tenant.to_string(),
            account_id: account_id.to_string(),
            code,
            currency: account.currency.clone(),
            balance_minor: balance.minor(),
            applies_to: serde_json::to_string(&filter).map_err(internal)?,
            created_at_us: now,
            updated_at_us: now,
        };
        tx.insert_wallet(&row).await?;
        tx.commit().await?;
        wallet_view(&row)
    }

    pub async fn list_wallets(&self, p: &Principal, account_id: &str) -> AppResult<WalletList> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        load_account(&mut tx, &p.tenant_id, account_id).await?;
        let rows = tx.account_wallets(&p.tenant_id, account_id).await?;
        tx.commit().await?;
        Ok(WalletList {
            wallets: rows.iter().map(wallet_view).collect::<AppResult<_>>()?,
        })
    }
}

// ---- the billing step ----

/// What finishing needs to know about one draft line besides its row.
pub(crate) struct LineRef<'a> {
    pub product_code: &'a str,
    pub price: &'a PriceRow,
    /// The subscription's own minimum commitment over time, on lines of its base item;
    /// where it sets one, it replaces the price's.
    pub commitment: Option<&'a CommitmentSchedule>,
}

struct Loaded {
    rates: Option<TaxRates>,
    profile: Option<TaxProfileRow>,
    categories: HashMap<String, String>,
    fees: Vec<Fee>,
    /// Active redemptions with their coupons.
    coupons: Vec<(RedemptionRow, Coupon)>,
    wallets: Vec<(WalletRow, CoreWallet)>,
}

/// The tenant's finishing settings (tax rates, tax categories, fees): the same for every
/// account, so an invoice run reads them once per page.
#[derive(Clone)]
pub(crate) struct TenantFinishing {
    rates: Option<TaxRates>,
    categories: HashMap<String, String>,
    fees: Vec<Fee>,
}

impl TenantFinishing {
    pub(crate) async fn load(tx: &mut Tx, tenant: &str) -> AppResult<Self> {
        let rates = tax_rates_doc(tx, tenant).await?;
        let categories = tx
            .list_settings(tenant, TAX_CATEGORY)
            .await?
            .into_iter()
            .map(|r| Ok((r.key, serde_json::from_str(&r.body).map_err(internal)?)))
            .collect::<AppResult<_>>()?;
        let fees = fees_of(&fees_doc(tx, tenant).await?)?;
        Ok(Self {
            rates,
            categories,
            fees,
        })
    }
}

/// An account's own finishing rows: its tax profile, coupon redemptions and wallets.
pub(crate) struct AccountFinishingRows {
    pub profile: Option<TaxProfileRow>,
    pub redemptions: Vec<RedemptionRow>,
    pub wallets: Vec<WalletRow>,
}

/// The account's finishing context, loaded on the first draft and carried across the
/// drafts of one billing pass so coupon and wallet consumption accumulates.
pub(crate) struct Finishing<'a> {
    account: &'a AccountRow,
    loaded: Option<Loaded>,
}

fn finishing_error(e: InvoicingError) -> AppError {
    let code = match e {
        InvoicingError::NoTaxRate { .. } => "tax_rate_missing",
        _ => "invoice_finishing_failed",
    };
    AppError::Invalid {
        code,
        field: None,
        message: e.to_string(),
    }
}

fn charge_kind(kind: &str) -> ChargeKind {
    match kind {
        "recurring" => ChargeKind::Recurring,
        "repair" => ChargeKind::Repair,
        "one_time" => ChargeKind::OneTime,
        // Usage invoiced early and its credit on the final invoice are usage too.
        "usage" | "progressive_usage" | "progressive_credit" => ChargeKind::Usage,
        _ => ChargeKind::Adjustment,
    }
}

fn date(text: &str) -> AppResult<jiff::civil::Date> {
    text.parse().map_err(internal)
}

impl<'a> Finishing<'a> {
    pub(crate) fn new(account: &'a AccountRow) -> Self {
        Self {
            account,
            loaded: None,
        }
    }

    /// The finishing context of an account whose rows the caller has read already (an
    /// invoice run reads them for a page of accounts at once).
    pub(crate) async fn preload(
        &mut self,
        tx: &mut Tx,
        tenant: &TenantFinishing,
        rows: AccountFinishingRows,
    ) -> AppResult<()> {
        self.loaded = Some(Self::assemble(tx, self.account, tenant.clone(), rows).await?);
        Ok(())
    }

    async fn load(tx: &mut Tx, account: &AccountRow) -> AppResult<Loaded> {
        let tenant = account.tenant_id.as_str();
        let settings = TenantFinishing::load(tx, tenant).await?;
        let rows = AccountFinishingRows {
            profile: tx.get_tax_profile(tenant, &account.id).await?,
            redemptions: tx.account_redemptions(tenant, &account.id).await?,
            wallets: tx.account_wallets(tenant, &account.id).await?,
        };
        Self::assemble(tx, account, settings, rows).await
    }

    async fn assemble(
        tx: &mut Tx,
        account: &AccountRow,
        settings: TenantFinishing,
        rows: AccountFinishingRows,
    ) -> AppResult<Loaded> {
        let tenant = account.tenant_id.as_str();
        let mut coupons = Vec::new();
        for r in rows.redemptions {
            if r.status != "active" {
                continue;
            }
            let doc = coupon_doc(tx, tenant, &r.coupon_code)
                .await?
                .ok_or_else(|| internal(format!("coupon {} missing", r.coupon_code)))?;
            coupons.push((r.clone(), coupon_of(&doc)?));
        }
        let mut wallets = Vec::new();
        for w in rows.wallets {
            if w.balance_minor <= 0 || w.currency != account.currency {
                continue;
            }
            let f: WalletFilter = serde_json::from_str(&w.applies_to).map_err(internal)?;
            let mut applies_to = LineFilter::any();
            applies_to.metric_codes = f.metrics;
            applies_to.product_codes = f.products;
            let c = Currency::parse(&w.currency).map_err(internal)?;
            let core = CoreWallet {
                code: w.code.clone(),
                balance: Money::from_minor(w.balance_minor, c),
                applies_to,
            };
            wallets.push((w, core));
        }
        Ok(Loaded {
            rates: settings.rates,
            profile: rows.profile,
            categories: settings.categories,
            fees: settings.fees,
            coupons,
            wallets,
        })
    }

    /// Finishes one draft before it is inserted: fills the lines' discount, tax and
    /// detail, appends true-up, fee and prepaid-credit lines, sets the invoice totals and
    /// persists coupon and wallet consumption. Leaves everything as is when nothing
    /// applies.
    pub(crate) async fn finish(
        &mut self,
        tx: &mut Tx,
        inv: &mut InvoiceRow,
        lines: &mut Vec<InvoiceLineRow>,
        refs: &[LineRef<'_>],
        now_us: i64,
    ) -> AppResult<()> {
        if self.loaded.is_none() {
            self.loaded = Some(Self::load(tx, self.account).await?);
        }
        let account = self.account;
        let l = self.loaded.as_mut().ok_or_else(|| internal("finishing"))?;
        let currency = Currency::parse(&account.currency).map_err(internal)?;
        let specs: Vec<PriceSpec> = refs
            .iter()
            .map(|r| serde_json::from_str(&r.price.definition).map_err(internal))
            .collect::<AppResult<_>>()?;
        let has_minimum = specs
            .iter()
            .any(|s| s.minimum.is_some() || s.minimum_commitment.is_some())
            || refs
                .iter()
                .any(|r| r.commitment.is_some_and(|c| c.has_own()));
        let taxed = l.rates.is_some() && l.profile.is_some();
        if !taxed
            && !has_minimum
            && l.fees.is_empty()
            && l.coupons.is_empty()
            && l.wallets.is_empty()
        {
            return Ok(());
        }
        // Tax table: the configured rates for a taxed account; otherwise every category
        // in play is explicitly untaxed in an unnamed jurisdiction.
        let doc = l.rates.clone().unwrap_or(TaxRates {
            default_category: crate::finishing_model::default_category(),
            tax_inclusive: false,
            rates: Vec::new(),
        });
        let mut table = tax_table(&doc)?;
        let inclusive = l
            .profile
            .as_ref()
            .and_then(|p| p.tax_inclusive)
            .map(|v| v != 0)
            .unwrap_or(doc.tax_inclusive);
        let profile = match (&l.profile, taxed) {
            (Some(p), true) => CoreTaxProfile {
                jurisdiction: p.jurisdiction.clone(),
                exempt: p.exempt != 0,
            },
            _ => {
                let mut cats: Vec<String> = vec![doc.default_category.clone()];
                cats.extend(l.categories.values().cloned());
                cats.extend(l.fees.iter().filter_map(|f| f.tax_category.clone()));
                for c in cats {
                    table = table.with_rate("", c, Vec::new()).map_err(internal)?;
                }
                CoreTaxProfile {
                    jurisdiction: String::new(),
                    exempt: false,
                }
            }
        };
        let convention = ProrationConvention::parse(&account.proration)
            .ok_or_else(|| internal("stored proration"))?;
        let mut charges = Vec::with_capacity(lines.len());
        let mut minimums: Vec<ChargeMinimum> = Vec::new();
        let mut commitments: Vec<(SubscriptionCommitment, Decimal)> = Vec::new();
        for (i, (row, r)) in lines.iter().zip(refs).enumerate() {
            let spec = &specs[i];
            let period =
                Period::new(date(&row.period_start)?, date(&row.period_end)?).map_err(internal)?;
            let mut c = ChargeLine::new(
                i,
                charge_kind(&row.kind),
                Money::from_minor(row.amount_minor, currency),
            )
            .product(r.product_code)
            .price(r.price.code.clone())
            .period(period);
            c.metric_code.clone_from(&spec.metric);
            c.tax_category = l.categories.get(r.product_code).cloned();
            c.group.clone_from(&row.subscription_id);
            let part = match (&row.subscription_id, row.kind.as_str()) {
                (Some(_), "recurring") => {
                    // Prorated like the period (each part at the commitment then in force).
                    let price_mc = spec
                        .minimum_commitment
                        .as_deref()
                        .map(|m| m.parse::<Decimal>().map_err(internal))
                        .transpose()?;
                    let factor = (row.proration_num, row.proration_den);
                    match r.commitment {
                        Some(schedule) => {
                            let full = match (&row.full_start, &row.full_end) {
                                (Some(s), Some(e)) => {
                                    Some(Period::new(date(s)?, date(e)?).map_err(internal)?)
                                }
                                _ => None,
                            };
                            schedule.part_for(price_mc, period, full, factor, convention)?
                        }
                        None => price_mc
                            .map(|m| m * Decimal::from(factor.0) / Decimal::from(factor.1.max(1))),
                    }
                }
                _ => None,
            };
            if let (Some(part), Some(sub)) = (part, &row.subscription_id) {
                // Several recurring lines of one subscription on the invoice (a
                // mid-period plan change) add up their parts.
                match commitments.iter_mut().find(|(m, _)| &m.group == sub) {
                    Some((m, sum)) => {
                        *sum += part;
                        m.period = m.period.map(|p| Period {
                            start: p.start.min(period.start),
                            end: p.end.max(period.end),
                        });
                    }
                    None => {
                        let mut m = SubscriptionCommitment::new(sub.clone(), Money::zero(currency));
                        m.period = Some(period);
                        m.product_code = Some(r.product_code.to_string());
                        m.price_code = Some(r.price.code.clone());
                        m.tax_category.clone_from(&c.tax_category);
                        commitments.push((m, part));
                    }
                }
            }
            if let (Some(min), "recurring") = (&spec.minimum, row.kind.as_str()) {
                if !minimums
                    .iter()
                    .any(|m| m.price_code == r.price.code && m.period == Some(period))
                {
                    // A prorated period has a prorated minimum.
                    let full: Decimal = min.parse().map_err(internal)?;
                    let part = full * Decimal::from(row.proration_num)
                        / Decimal::from(row.proration_den.max(1));
                    let amount =
                        Money::from_decimal(round_half_up(part, currency.exponent()), currency)
                            .map_err(internal)?;
                    let mut m = ChargeMinimum::new(r.price.code.clone(), amount);
                    m.period = Some(period);
                    m.kind = ChargeKind::Recurring;
                    m.product_code = c.product_code.clone();
                    m.metric_code.clone_from(&c.metric_code);
                    m.tax_category.clone_from(&c.tax_category);
                    m.group.clone_from(&row.subscription_id);
                    minimums.push(m);
                }
            }
            charges.push(c);
        }
        let mut ctx = InvoiceContext::new(currency, table, profile);
        ctx.tax_mode = if inclusive {
            TaxMode::Inclusive
        } else {
            TaxMode::Exclusive
        };
        ctx.minimums = minimums;
        ctx.subscription_commitments = commitments
            .into_iter()
            .map(|(mut m, sum)| {
                m.amount = Money::from_decimal(round_half_up(sum, currency.exponent()), currency)
                    .map_err(internal)?;
                Ok(m)
            })
            .collect::<AppResult<_>>()?;
        ctx.fees = l.fees.clone();
        ctx.coupons = l
            .coupons
            .iter()
            .map(|(r, c)| AppliedCoupon {
                coupon: c.clone(),
                period_number: u32::try_from(r.periods_used + 1).unwrap_or(u32::MAX),
                remaining: r.remaining_minor.map(|m| Money::from_minor(m, currency)),
            })
            .collect();
        ctx.wallets = l.wallets.iter().map(|(_, w)| w.clone()).collect();
        let fin = finish_invoice(&charges, &ctx).map_err(finishing_error)?;

        // Coupon shares per finished line.
        let mut shares: Vec<Vec<serde_json::Value>> = vec![Vec::new(); fin.lines.len()];
        for u in &fin.coupons {
            for s in &u.shares {
                shares[s.line].push(json!({"coupon": u.code, "amount": text_of(s.amount)}));
            }
        }
        let mut row_ids: Vec<String> = Vec::with_capacity(fin.lines.len());
        let mut extra = Vec::new();
        for (i, fl) in fin.lines.iter().enumerate() {
            let detail = json!({
                "tax_mode": if fl.tax_mode == TaxMode::Inclusive { "inclusive" } else { "exclusive" },
                "gross": text_of(fl.gross),
                "discount": text_of(fl.discount),
                "net": text_of(fl.net),
                "tax": {
                    "category": fl.tax.category,
                    "exempt": fl.tax.exempt,
                    "percent": fl.tax.percent.normalize().to_string(),
                    "amount": text_of(fl.tax.amount),
                    "components": fl.tax.components.iter().map(|c| json!({
                        "name": c.name, "percent": c.percent.normalize().to_string(), "amount": text_of(c.amount)
                    })).collect::<Vec<_>>(),
                },
                "coupons": shares[i],
                "total": text_of(fl.total),
                "prepaid": text_of(fl.prepaid),
            });
            let (kind, description, price_id, on_line) = match &fl.origin {
                LineOrigin::Charge { key, .. } => {
                    let row = &mut lines[*key];
                    row.discount_minor = fl.coupon_discount.minor();
                    row.tax_minor = fl.tax.amount.minor();
                    // Keep what billing put there (the voice usage summary).
                    let mut detail = detail.clone();
                    if let Ok(Value::Object(before)) = serde_json::from_str(&row.detail) {
                        if let Some(usage) = before.get("usage") {
                            detail["usage"] = usage.clone();
                        }
                    }
                    row.detail = detail.to_string();
                    row_ids.push(row.id.clone());
                    continue;
                }
                LineOrigin::MinimumTrueUp { price_code, .. } => {
                    let price = refs.iter().find(|r| &r.price.code == price_code);
                    (
                        "minimum_true_up",
                        format!("Minimum charge true-up ({price_code})"),
                        price.map(|r| r.price.id.clone()),
                        None,
                    )
                }
                LineOrigin::SubscriptionCommitmentTrueUp { .. } => {
                    let price = fl
                        .price_code
                        .as_ref()
                        .and_then(|code| refs.iter().find(|r| &r.price.code == code));
                    (
                        "minimum_commitment",
                        "Minimum commitment true-up".to_string(),
                        price.map(|r| r.price.id.clone()),
                        None,
                    )
                }
                LineOrigin::CommitmentTrueUp => (
                    "commitment_true_up",
                    "Minimum commitment true-up".to_string(),
                    None,
                    None,
                ),
                LineOrigin::Fee { code, on_line } => (
                    "fee",
                    format!("Fee {code}"),
                    None,
                    row_ids.get(*on_line).cloned(),
                ),
            };
            let mut detail = detail;
            if let Some(on) = on_line {
                detail["on_line_id"] = json!(on);
            }
            if let LineOrigin::SubscriptionCommitmentTrueUp { group } = &fl.origin {
                detail["subscription_id"] = json!(group);
            }
            let (start, end) = match fl.period {
                Some(p) => (p.start.to_string(), p.end.to_string()),
                None => (inv.period_start.clone(), inv.period_end.clone()),
            };
            let row = InvoiceLineRow {
                id: new_id("inl"),
                tenant_id: inv.tenant_id.clone(),
                invoice_id: inv.id.clone(),
                position: 0,
                kind: kind.into(),
                subscription_id: None,
                item_id: None,
                price_id,
                description,
                period_start: start,
                period_end: end,
                full_start: None,
                full_end: None,
                quantity: "1".into(),
                unit_amount: text_of(fl.priced),
                proration_num: 1,
                proration_den: 1,
                amount_minor: fl.priced.minor(),
                repairs_line_id: None,
                discount_minor: fl.coupon_discount.minor(),
                tax_minor: fl.tax.amount.minor(),
                detail: detail.to_string(),
            };
            row_ids.push(row.id.clone());
            extra.push(row);
        }
        // Wallets: a negative line each, and the balance persisted.
        for (u, (w, core)) in fin.wallets.iter().zip(l.wallets.iter_mut()) {
            if u.used.is_zero() {
                continue;
            }
            let paid: Vec<_> = u
                .shares
                .iter()
                .map(|s| json!({"line_id": row_ids.get(s.line), "amount": text_of(s.amount)}))
                .collect();
            extra.push(InvoiceLineRow {
                id: new_id("inl"),
                tenant_id: inv.tenant_id.clone(),
                invoice_id: inv.id.clone(),
                position: 0,
                kind: "prepaid_credit".into(),
                subscription_id: None,
                item_id: None,
                price_id: None,
                description: format!("Prepaid credit (wallet {})", u.code),
                period_start: inv.period_start.clone(),
                period_end: inv.period_end.clone(),
                full_start: None,
                full_end: None,
                quantity: "1".into(),
                unit_amount: text_of(Money::from_minor(-u.used.minor(), currency)),
                proration_num: 1,
                proration_den: 1,
                amount_minor: -u.used.minor(),
                repairs_line_id: None,
                discount_minor: 0,
                tax_minor: 0,
                detail: json!({"wallet_id": w.id, "wallet": u.code, "paid": paid,
                               "balance_after": text_of(u.balance_after)})
                .to_string(),
            });
            w.balance_minor = u.balance_after.minor();
            core.balance = u.balance_after;
            tx.set_wallet_balance(&w.tenant_id, &w.id, w.balance_minor, now_us)
                .await?;
        }
        l.wallets.retain(|(w, _)| w.balance_minor > 0);
        // Coupons: count the period and keep what a fixed "once" coupon has left.
        for (u, (r, c)) in fin.coupons.iter().zip(l.coupons.iter_mut()) {
            if u.applied.is_zero() {
                continue;
            }
            r.periods_used += 1;
            r.remaining_minor = u.remaining.map(|m| m.minor());
            let done = match (c.duration, c.value) {
                (CouponDuration::Once, CouponValue::Percent(_)) => true,
                (CouponDuration::Once, CouponValue::Amount(_)) => {
                    r.remaining_minor.unwrap_or(0) <= 0
                }
                (CouponDuration::Periods(n), _) => r.periods_used >= i64::from(n),
                (CouponDuration::Forever, _) => false,
            };
            if done {
                r.status = "exhausted".into();
            }
            r.updated_at_us = now_us;
            tx.update_redemption(r).await?;
        }
        l.coupons.retain(|(r, _)| r.status == "active");

        lines.extend(extra);
        for (pos, row) in lines.iter_mut().enumerate() {
            row.position = i64::try_from(pos).map_err(internal)?;
        }
        inv.subtotal_minor = fin.totals.subtotal.minor();
        inv.discount_minor = fin.totals.discounts.minor();
        inv.tax_minor = fin.totals.tax.minor();
        inv.total_minor = fin.totals.amount_due.minor();
        Ok(())
    }
}

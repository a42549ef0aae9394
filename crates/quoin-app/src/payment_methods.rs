//! An account's default payment method (a gateway token) and whether its invoices are
//! collected automatically. Charging happens in `auto_collection.rs`, never inside
//! billing.

use jiff::Timestamp;
use quoin_store::repo::payment_methods::PaymentMethodRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::lock_account;
use crate::auth::{Action, Principal};
use crate::clock::{from_us, to_us};
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::ledger::require_bill_to;
use crate::{validate, App};

/// `PUT /v1/accounts/{id}/payment-method`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPaymentMethod {
    /// A configured payment gateway (`test` outside production).
    pub gateway: String,
    /// The gateway's token for the card or other instrument (at most 200 characters).
    pub payment_method: String,
    /// Charge each invoice with an amount due once, when it is finalized (default true).
    #[serde(default)]
    pub auto_collection: Option<bool>,
}

/// An account's default payment method.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountPaymentMethod {
    pub account_id: String,
    pub gateway: String,
    pub payment_method: String,
    pub auto_collection: bool,
    /// When auto-collection last became active: invoices finalized from then on are
    /// charged; those open before are not.
    #[schema(value_type = String, format = DateTime)]
    pub active_since: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

fn view(r: &PaymentMethodRow) -> AccountPaymentMethod {
    AccountPaymentMethod {
        account_id: r.account_id.clone(),
        gateway: r.gateway.clone(),
        payment_method: r.payment_method.clone(),
        auto_collection: r.auto_collection != 0,
        active_since: from_us(r.active_since_us),
        updated_at: from_us(r.updated_at_us),
    }
}

fn none_on(account: &str) -> AppError {
    AppError::not_found("payment_method", account)
}

impl App {
    /// Sets (or replaces) the account's default payment method. Invoices finalized
    /// before auto-collection was on are not charged by turning it on.
    pub async fn put_payment_method(
        &self,
        p: &Principal,
        account_id: &str,
        input: SetPaymentMethod,
    ) -> AppResult<AccountPaymentMethod> {
        p.require(Action::Bill)?;
        let tenant = p.tenant_id.as_str();
        let gateway =
            self.gateway_named(input.gateway.trim())
                .ok_or_else(|| AppError::Invalid {
                    code: "unknown_gateway",
                    field: Some("gateway".into()),
                    message: format!("no payment gateway `{}` is configured", input.gateway),
                })?;
        let token = validate::text("payment_method", &input.payment_method, 200)?;
        if token.chars().any(char::is_whitespace) {
            return Err(AppError::invalid(
                "payment_method",
                "a gateway token has no spaces",
            ));
        }
        let auto = input.auto_collection.unwrap_or(true);
        let mut tx = self.store.begin().await?;
        let account = lock_account(&mut tx, tenant, account_id).await?;
        require_bill_to(&account)?;
        let now = to_us(self.tenant_now(&mut tx, tenant).await?);
        let before = tx.get_payment_method(tenant, account_id).await?;
        let was_active = before.as_ref().is_some_and(|b| b.auto_collection != 0);
        let active_since = match &before {
            // Still collecting: the invoices waiting for a charge keep waiting for it.
            Some(b) if was_active && auto => b.active_since_us,
            _ => now,
        };
        let row = PaymentMethodRow {
            tenant_id: tenant.to_string(),
            account_id: account.id.clone(),
            gateway: gateway.name().to_string(),
            payment_method: token,
            auto_collection: i64::from(auto),
            active_since_us: active_since,
            created_at_us: before.as_ref().map_or(now, |b| b.created_at_us),
            updated_at_us: now,
        };
        if auto && !was_active {
            // Becoming active does not reach back: what is open now is not charged.
            let today = crate::billing::account_today(&account, from_us(now))?;
            tx.skip_open_invoices(tenant, &account.id, &today.to_string(), now)
                .await?;
        }
        tx.put_payment_method(&row).await?;
        let out = view(&row);
        emit(
            &mut tx,
            tenant,
            "account.payment_method_updated",
            "account",
            account_id,
            &out,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn get_payment_method(
        &self,
        p: &Principal,
        account_id: &str,
    ) -> AppResult<AccountPaymentMethod> {
        p.require(Action::Read)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.read().await?;
        if tx.get_account(tenant, account_id).await?.is_none() {
            return Err(AppError::not_found("account", account_id));
        }
        let row = tx.get_payment_method(tenant, account_id).await?;
        tx.commit().await?;
        row.as_ref().map(view).ok_or_else(|| none_on(account_id))
    }

    /// Removes the account's payment method: nothing more is charged automatically
    /// (scheduled retries keep the token they were given).
    pub async fn delete_payment_method(&self, p: &Principal, account_id: &str) -> AppResult<()> {
        p.require(Action::Bill)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        lock_account(&mut tx, tenant, account_id).await?;
        if !tx.delete_payment_method(tenant, account_id).await? {
            return Err(none_on(account_id));
        }
        let now = to_us(self.tenant_now(&mut tx, tenant).await?);
        emit(
            &mut tx,
            tenant,
            "account.payment_method_removed",
            "account",
            account_id,
            &serde_json::json!({"account_id": account_id}),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

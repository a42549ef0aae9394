//! Dunning: the tenant's schedule (e.g. reminder at +3 days, suspend at +14, disconnect at
//! +30) applied to each bill-to account after billing and after each payment. Every step
//! is an outbox event; paying everything overdue resolves it and resumes what dunning
//! suspended (a disconnect is final).

use jiff::civil::Date;
use quoin_core::dunning::{next_move, DunningAction, DunningMove, DunningSchedule, DunningStep};
use quoin_store::rows::{AccountRow, DunningPolicyRow, DunningStateRow};
use quoin_store::Tx;
use serde_json::json;

use crate::accounts::load_account;
use crate::auth::{Action, Principal};
use crate::billing::account_today;
use crate::billing_reads::Reads;
use crate::clock::to_us;
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::model::*;
use crate::timeline::{opt_date, status, status_on};
use crate::App;

/// Marks the operations dunning makes, so resolution resumes only what dunning suspended.
const REASON: &str = "dunning";

fn internal(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(what.to_string())
}

fn schedule_of(steps: &[DunningStepSpec]) -> AppResult<DunningSchedule> {
    DunningSchedule::new(
        steps
            .iter()
            .map(|s| DunningStep {
                after_days: s.after_days,
                action: match s.action {
                    DunningActionCode::Reminder => DunningAction::Reminder,
                    DunningActionCode::Suspend => DunningAction::Suspend,
                    DunningActionCode::Disconnect => DunningAction::Disconnect,
                },
            })
            .collect(),
    )
    .map_err(|e| AppError::Invalid {
        code: "invalid_dunning_schedule",
        field: Some("steps".into()),
        message: e.to_string(),
    })
}

pub(crate) async fn load_policy(tx: &mut Tx, tenant: &str) -> AppResult<Option<DunningPolicy>> {
    tx.get_dunning_policy(tenant)
        .await?
        .map(|r| {
            Ok(DunningPolicy {
                steps: serde_json::from_str(&r.steps).map_err(internal)?,
            })
        })
        .transpose()
}

/// Due date of the account's oldest overdue invoice, if any.
fn oldest_overdue(books: crate::ledger::Books, today: Date) -> Option<Date> {
    books
        .ledger
        .invoices()
        .iter()
        .filter(|i| i.open().is_positive() && i.due() < today)
        .map(|i| i.due())
        .min()
}

impl App {
    pub async fn put_dunning_policy(
        &self,
        p: &Principal,
        input: DunningPolicy,
    ) -> AppResult<DunningPolicy> {
        p.require(Action::Bill)?;
        schedule_of(&input.steps)?;
        let mut tx = self.store.begin().await?;
        let now = to_us(self.tenant_now(&mut tx, &p.tenant_id).await?);
        tx.put_dunning_policy(&DunningPolicyRow {
            tenant_id: p.tenant_id.clone(),
            steps: serde_json::to_string(&input.steps).map_err(internal)?,
            updated_at_us: now,
        })
        .await?;
        emit(
            &mut tx,
            &p.tenant_id,
            "dunning_policy.updated",
            "tenant",
            &p.tenant_id,
            &input,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(input)
    }

    pub async fn get_dunning_policy(&self, p: &Principal) -> AppResult<DunningPolicy> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let policy = load_policy(&mut tx, &p.tenant_id).await?;
        tx.commit().await?;
        Ok(policy.unwrap_or(DunningPolicy { steps: Vec::new() }))
    }

    /// Where an account stands in the tenant's dunning schedule today.
    pub async fn account_dunning(&self, p: &Principal, id: &str) -> AppResult<DunningStatus> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let account = load_account(&mut tx, &p.tenant_id, id).await?;
        let now = self.tenant_now(&mut tx, &p.tenant_id).await?;
        let today = account_today(&account, now)?;
        let oldest = oldest_overdue(crate::ledger::load_books(&mut tx, &account).await?, today);
        let state = tx.get_dunning_state(&p.tenant_id, id).await?;
        let policy = load_policy(&mut tx, &p.tenant_id).await?;
        tx.commit().await?;
        let done = state.map_or(0, |s| s.steps_done);
        let next = policy.and_then(|pol| pol.steps.get(usize::try_from(done).ok()?).cloned());
        Ok(DunningStatus {
            account_id: id.to_string(),
            steps_done: done,
            oldest_overdue_due_date: oldest,
            days_overdue: oldest.map(|d| quoin_core::calendar::days_between(d, today)),
            next_step: next,
        })
    }

    /// Applies the schedule to one bill-to account inside the caller's transaction (the
    /// caller holds the account's lock).
    pub(crate) async fn dunning_in_tx(
        &self,
        tx: &mut Tx,
        account: &AccountRow,
        today: Date,
        now_us: i64,
    ) -> AppResult<()> {
        self.dunning_with(tx, account, today, now_us, Reads::DIRECT)
            .await
            .map(|_| ())
    }

    /// [`Self::dunning_in_tx`] reading through `reads`; `true` when it changed anything
    /// (a step applied or the account cleared), so what was read ahead may be stale.
    pub(crate) async fn dunning_with(
        &self,
        tx: &mut Tx,
        account: &AccountRow,
        today: Date,
        now_us: i64,
        reads: Reads<'_>,
    ) -> AppResult<bool> {
        let tenant = account.tenant_id.as_str();
        let Some(policy) = reads.dunning_policy(tx, tenant).await? else {
            return Ok(false);
        };
        let schedule = schedule_of(&policy.steps)?;
        let state = tx.get_dunning_state(tenant, &account.id).await?;
        let done = state
            .as_ref()
            .map_or(0, |s| usize::try_from(s.steps_done).unwrap_or(0));
        let oldest = oldest_overdue(reads.books(tx, account).await?, today);
        let reached = schedule.reached(oldest, today);
        let steps_done = match next_move(&schedule, done, reached) {
            DunningMove::Stay => return Ok(false),
            DunningMove::Escalate(steps) => {
                for (i, step) in steps.iter().enumerate() {
                    self.apply_step(tx, account, today, now_us, *step).await?;
                    let payload = json!({
                        "account_id": account.id,
                        "step": done + i + 1,
                        "action": step.action.code(),
                        "after_days": step.after_days,
                        "overdue_since": oldest.map(|d| d.to_string()),
                    });
                    emit(
                        tx,
                        tenant,
                        &format!("dunning.{}", step.action.code()),
                        "account",
                        &account.id,
                        &payload,
                        now_us,
                    )
                    .await?;
                }
                reached
            }
            DunningMove::Resolve => {
                self.resolve(tx, account, today, now_us).await?;
                emit(
                    tx,
                    tenant,
                    "dunning.resolved",
                    "account",
                    &account.id,
                    &json!({"account_id": account.id, "steps_done": done}),
                    now_us,
                )
                .await?;
                0
            }
        };
        tx.put_dunning_state(&DunningStateRow {
            tenant_id: tenant.to_string(),
            account_id: account.id.clone(),
            steps_done: i64::try_from(steps_done).map_err(internal)?,
            overdue_since: oldest.map(|d| d.to_string()),
            updated_at_us: now_us,
        })
        .await?;
        Ok(true)
    }

    async fn apply_step(
        &self,
        tx: &mut Tx,
        account: &AccountRow,
        today: Date,
        now_us: i64,
        step: DunningStep,
    ) -> AppResult<()> {
        let operation = match step.action {
            DunningAction::Reminder => return Ok(()),
            DunningAction::Suspend => OperationKind::Suspend,
            DunningAction::Disconnect => OperationKind::Disconnect,
        };
        for sub in tx
            .subscriptions_billed_to(&account.tenant_id, &account.id)
            .await?
        {
            // Add-ons go with their base on disconnect; ended services are left alone.
            if sub.end_date.is_some()
                || (operation == OperationKind::Disconnect && sub.parent_id.is_some())
            {
                continue;
            }
            let versions = tx.subscription_versions(&sub.tenant_id, &sub.id).await?;
            let now = status_on(&sub, &versions, today)?;
            let applies = match operation {
                OperationKind::Suspend => now == status::ACTIVE,
                _ => now != status::PENDING_ACTIVATION,
            };
            if !applies {
                continue;
            }
            let fresh = tx
                .get_subscription(&sub.tenant_id, &sub.id)
                .await?
                .ok_or_else(|| internal("subscription vanished"))?;
            if opt_date(fresh.end_date.as_deref(), "end_date")?.is_some() {
                continue;
            }
            self.operate_in_tx(
                tx,
                fresh,
                account.clone(),
                today,
                now_us,
                dunning_op(operation),
            )
            .await?;
        }
        Ok(())
    }

    /// Resumes the services dunning suspended.
    async fn resolve(
        &self,
        tx: &mut Tx,
        account: &AccountRow,
        today: Date,
        now_us: i64,
    ) -> AppResult<()> {
        for sub in tx
            .subscriptions_billed_to(&account.tenant_id, &account.id)
            .await?
        {
            let versions = tx.subscription_versions(&sub.tenant_id, &sub.id).await?;
            let by_dunning = versions
                .iter()
                .rev()
                .find(|v| v.operation == "suspend")
                .is_some_and(|v| v.details.contains(&format!("\"reason\":\"{REASON}\"")));
            if sub.end_date.is_none()
                && by_dunning
                && status_on(&sub, &versions, today)? == status::SUSPENDED
            {
                self.operate_in_tx(
                    tx,
                    sub,
                    account.clone(),
                    today,
                    now_us,
                    dunning_op(OperationKind::Resume),
                )
                .await?;
            }
        }
        Ok(())
    }
}

fn dunning_op(operation: OperationKind) -> SubscriptionOperation {
    SubscriptionOperation {
        operation,
        effective_date: None,
        timing: None,
        item_id: None,
        price_id: None,
        quantity: None,
        unit_amount: None,
        reason: Some(REASON.into()),
        // A contract broken by non-payment still owes its early-termination fee.
        waive_etl: None,
        minimum_commitment: None,
    }
}

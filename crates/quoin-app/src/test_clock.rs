//! Per-tenant test clocks: freeze a tenant's time and move it forward, running the billing
//! that falls due on the way. Refused in production mode.

use jiff::{SignedDuration, Timestamp};

use crate::auth::{Action, Principal};
use crate::clock::to_us;
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::model::{AccountError, AdvanceResult, AdvanceTestClock, SetTestClock, TestClock};
use crate::{App, Mode};

impl App {
    fn require_test_clock(&self, p: &Principal) -> AppResult<()> {
        p.require(Action::TestClock)?;
        if self.mode == Mode::Production {
            return Err(AppError::Forbidden {
                code: "test_clock_disabled",
                message: "test clocks are disabled in production mode".into(),
            });
        }
        Ok(())
    }

    pub async fn get_test_clock(&self, p: &Principal) -> AppResult<TestClock> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let row = tx
            .get_tenant(&p.tenant_id)
            .await?
            .ok_or_else(|| AppError::not_found("tenant", &p.tenant_id))?;
        let now = self.tenant_now(&mut tx, &p.tenant_id).await?;
        tx.commit().await?;
        Ok(TestClock {
            mode: row.clock_mode,
            now,
        })
    }

    /// Puts the tenant on a test clock frozen at `now` (no billing runs on a set).
    pub async fn set_test_clock(&self, p: &Principal, input: SetTestClock) -> AppResult<TestClock> {
        self.require_test_clock(p)?;
        let mut tx = self.store.begin().await?;
        let at = to_us(input.now);
        tx.set_tenant_clock(&p.tenant_id, Some(at)).await?;
        let event = serde_json::json!({"mode": "test", "now": input.now});
        emit(
            &mut tx,
            &p.tenant_id,
            "test_clock.set",
            "tenant",
            &p.tenant_id,
            &event,
            at,
        )
        .await?;
        tx.commit().await?;
        self.get_test_clock(p).await
    }

    /// Back to the system clock.
    pub async fn clear_test_clock(&self, p: &Principal) -> AppResult<TestClock> {
        self.require_test_clock(p)?;
        let mut tx = self.store.begin().await?;
        tx.set_tenant_clock(&p.tenant_id, None).await?;
        let now = self.clock.now();
        let event = serde_json::json!({"mode": "system", "now": now});
        emit(
            &mut tx,
            &p.tenant_id,
            "test_clock.cleared",
            "tenant",
            &p.tenant_id,
            &event,
            to_us(now),
        )
        .await?;
        tx.commit().await?;
        self.get_test_clock(p).await
    }

    /// Moves the tenant's test clock forward and bills what came due (finalized invoices).
    pub async fn advance_test_clock(
        &self,
        p: &Principal,
        input: AdvanceTestClock,
    ) -> AppResult<AdvanceResult> {
        self.require_test_clock(p)?;
        let current = self.get_test_clock(p).await?;
        if current.mode != "test" {
            return Err(AppError::Conflict {
                code: "test_clock_not_set",
                message: "the tenant is on the system clock; set a test clock first (POST /v1/test-clock)".into(),
            });
        }
        let target: Timestamp = match (input.to, input.days) {
            (Some(to), None) => to,
            (None, Some(days)) if (1..=3660).contains(&days) => current
                .now
                .checked_add(SignedDuration::from_hours(days * 24))
                .map_err(|e| AppError::invalid("days", e.to_string()))?,
            (None, Some(days)) => {
                return Err(AppError::invalid(
                    "days",
                    format!("must be between 1 and 3660, got {days}"),
                ))
            }
            _ => {
                return Err(AppError::invalid(
                    "to",
                    "give exactly one of `to` or `days`",
                ))
            }
        };
        if target <= current.now {
            return Err(AppError::invalid(
                "to",
                format!(
                    "must be later than the clock's current time {}",
                    current.now
                ),
            ));
        }
        if current.now.duration_until(target) > SignedDuration::from_hours(24 * 3660) {
            return Err(AppError::invalid(
                "to",
                "a test clock moves at most 3660 days per call",
            ));
        }
        // Step a day at a time so each cycle is billed at the moment it falls due, as it
        // would have been in real time (invoice timestamps follow the simulated calendar).
        let mut invoices = Vec::new();
        let mut errors: Vec<AccountError> = Vec::new();
        let mut step = current.now;
        while step < target {
            step = step
                .checked_add(SignedDuration::from_hours(24))
                .map_err(|e| AppError::invalid("to", e.to_string()))?
                .min(target);
            let mut tx = self.store.begin().await?;
            tx.set_tenant_clock(&p.tenant_id, Some(to_us(step))).await?;
            tx.commit().await?;
            let (mut created, failed) = self.run_billing(&p.tenant_id, step).await?;
            invoices.append(&mut created);
            // An account that fails keeps failing each day; report it once.
            for e in failed {
                if !errors.iter().any(|x| x.account_id == e.account_id) {
                    errors.push(e);
                }
            }
        }
        let mut tx = self.store.begin().await?;
        let event =
            serde_json::json!({"from": current.now, "to": target, "invoices": invoices.len()});
        emit(
            &mut tx,
            &p.tenant_id,
            "test_clock.advanced",
            "tenant",
            &p.tenant_id,
            &event,
            to_us(target),
        )
        .await?;
        tx.commit().await?;
        Ok(AdvanceResult {
            clock: TestClock {
                mode: "test".into(),
                now: target,
            },
            invoices,
            errors,
        })
    }

    /// Bills every bill-to account for what is due now (the scheduled run's body).
    pub async fn run_billing_now(&self, p: &Principal) -> AppResult<AdvanceResult> {
        p.require(Action::Bill)?;
        let clock = self.get_test_clock(p).await?;
        let (invoices, errors) = self.run_billing(&p.tenant_id, clock.now).await?;
        Ok(AdvanceResult {
            clock,
            invoices,
            errors,
        })
    }
}

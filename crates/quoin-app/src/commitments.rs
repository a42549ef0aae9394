//! A subscription's own minimum commitment over time. It is set at creation and changed by
//! the `change_commitment` operation, which takes effect on a date; the operation log
//! (`subscription_versions`, details `{from, to}`) is the history, so billing reads the
//! commitment in force on each day of a plan line from the versions it already loads and
//! prorates each part like the line: a part of the line's full period under the account's
//! proration convention.

use jiff::civil::Date;
use quoin_core::calendar::{proration_factor, Period, ProrationConvention};
use quoin_core::money::{Currency, Money};
use quoin_store::rows::{SubscriptionRow, SubscriptionVersionRow};
use rust_decimal::Decimal;

use crate::error::{AppError, AppResult};
use crate::validate;

/// The operation that changes the commitment, as recorded in the version log.
pub(crate) const OPERATION: &str = "change_commitment";

fn internal(what: impl std::fmt::Display) -> AppError {
    AppError::Internal(what.to_string())
}

/// A commitment amount as input: non-negative, at most the currency's minor digits.
/// Answers the canonical text stored (e.g. `50.00`).
pub(crate) fn parse_amount(field: &str, text: &str, currency: &str) -> AppResult<String> {
    let d = validate::non_negative_decimal(field, text)?;
    let currency = Currency::parse(currency).map_err(internal)?;
    let amount = Money::from_decimal_exact(d, currency)
        .map_err(|e| AppError::invalid(field, e.to_string()))?;
    Ok(amount.to_decimal().to_string())
}

/// The subscription's own commitment from each date on (`None`: the plan price's, if any).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CommitmentSchedule {
    /// (first day, amount), in date order; the first piece starts at `Date::MIN`.
    pieces: Vec<(Date, Option<Decimal>)>,
}

fn amount(text: Option<&str>) -> AppResult<Option<Decimal>> {
    text.map(|t| t.parse::<Decimal>().map_err(internal))
        .transpose()
}

impl CommitmentSchedule {
    /// From the subscription and its operation log (in version order).
    pub(crate) fn of(
        sub: &SubscriptionRow,
        versions: &[SubscriptionVersionRow],
    ) -> AppResult<CommitmentSchedule> {
        let mut changes = Vec::new();
        for v in versions.iter().filter(|v| v.operation == OPERATION) {
            let details: serde_json::Value = serde_json::from_str(&v.details).map_err(internal)?;
            let date: Date = v.effective_date.parse().map_err(internal)?;
            changes.push((date, details));
        }
        let Some((_, first)) = changes.first() else {
            return Ok(CommitmentSchedule {
                pieces: vec![(Date::MIN, amount(sub.minimum_commitment.as_deref())?)],
            });
        };
        let mut pieces = vec![(Date::MIN, amount(first["from"].as_str())?)];
        for (date, details) in &changes {
            pieces.push((*date, amount(details["to"].as_str())?));
        }
        Ok(CommitmentSchedule { pieces })
    }

    /// The schedule of a subscription that has, or had, a commitment of its own; None
    /// for the (many) that never did, so billing them allocates nothing.
    pub(crate) fn if_any(
        sub: &SubscriptionRow,
        versions: &[SubscriptionVersionRow],
    ) -> AppResult<Option<CommitmentSchedule>> {
        if sub.minimum_commitment.is_none() && !versions.iter().any(|v| v.operation == OPERATION) {
            return Ok(None);
        }
        let s = Self::of(sub, versions)?;
        Ok(s.has_own().then_some(s))
    }

    /// Whether any part sets a commitment of the subscription's own.
    pub(crate) fn has_own(&self) -> bool {
        self.pieces.iter().any(|(_, v)| v.is_some())
    }

    /// The commitment a plan line serving `service` (of its full period `full`, prorated
    /// by `factor` = numerator / denominator) carries: each part of the service takes the
    /// commitment in force then — the subscription's, else `price_commitment` — prorated
    /// like the line. A line the schedule does not split keeps the line's own factor, so
    /// a commitment that never changed counts exactly as before. None: no commitment on
    /// any part.
    pub(crate) fn part_for(
        &self,
        price_commitment: Option<Decimal>,
        service: Period,
        full: Option<Period>,
        factor: (i64, i64),
        convention: ProrationConvention,
    ) -> AppResult<Option<Decimal>> {
        let mut total: Option<Decimal> = None;
        for (k, (from, value)) in self.pieces.iter().enumerate() {
            let until = self.pieces.get(k + 1).map(|p| p.0);
            let start = service.start.max(*from);
            let end = until.map_or(service.end, |u| service.end.min(u));
            if start >= end {
                continue;
            }
            let Some(c) = value.or(price_commitment) else {
                continue;
            };
            let (num, den) = if start == service.start && end == service.end {
                factor
            } else {
                let full = full.ok_or_else(|| internal("plan line without its full period"))?;
                let part = Period::new(start, end).map_err(internal)?;
                let f = proration_factor(part, full, convention).map_err(internal)?;
                (f.numerator(), f.denominator())
            };
            let share = c * Decimal::from(num) / Decimal::from(den.max(1));
            total = Some(total.unwrap_or(Decimal::ZERO) + share);
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn schedule(pieces: &[(Date, Option<&str>)]) -> CommitmentSchedule {
        CommitmentSchedule {
            pieces: pieces
                .iter()
                .map(|(d, v)| (*d, v.map(|v| v.parse().unwrap())))
                .collect(),
        }
    }

    fn feb() -> Period {
        Period::new(date(2026, 2, 1), date(2026, 3, 1)).unwrap()
    }

    #[test]
    fn an_unchanged_commitment_uses_the_line_factor() {
        let s = schedule(&[(Date::MIN, Some("50"))]);
        let service = Period::new(date(2026, 1, 11), date(2026, 2, 1)).unwrap();
        let part = s
            .part_for(
                None,
                service,
                None,
                (21, 31),
                ProrationConvention::ActualDays,
            )
            .unwrap();
        assert_eq!(part, Some(Decimal::from(50 * 21) / Decimal::from(31)));
    }

    #[test]
    fn a_change_inside_a_line_prorates_each_part() {
        // 50 until Feb 15, 30 from then: 50 × 14/28 + 30 × 14/28 = 40.
        let s = schedule(&[(Date::MIN, Some("50")), (date(2026, 2, 15), Some("30"))]);
        let part = s
            .part_for(
                None,
                feb(),
                Some(feb()),
                (1, 1),
                ProrationConvention::ActualDays,
            )
            .unwrap();
        assert_eq!(part, Some(Decimal::from(40)));
        // Back to the price's 20 from Feb 15, on 30E/360.
        let s = schedule(&[(Date::MIN, Some("50")), (date(2026, 2, 15), None)]);
        let price = Some(Decimal::from(20));
        let part = s
            .part_for(
                price,
                feb(),
                Some(feb()),
                (1, 1),
                ProrationConvention::Thirty360,
            )
            .unwrap()
            .unwrap();
        // 30E/360: Feb 1 → 15 is 14 of 30 days, Feb 15 → Mar 1 the other 16.
        assert_eq!(
            part,
            Decimal::from(50 * 14) / Decimal::from(30) + Decimal::from(20 * 16) / Decimal::from(30)
        );
    }

    #[test]
    fn no_commitment_on_any_part_is_none() {
        let s = schedule(&[(Date::MIN, None)]);
        let part = s
            .part_for(
                None,
                feb(),
                Some(feb()),
                (1, 1),
                ProrationConvention::ActualDays,
            )
            .unwrap();
        assert_eq!(part, None);
    }
}

//! Dunning: which steps of a tenant's schedule an account has reached, counted in days
//! since its oldest overdue invoice fell due, and when it is clear again.

use jiff::civil::Date;

use crate::calendar::days_between;

/// What a dunning step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DunningAction {
    /// Tell the customer (an outbox event for the notifier).
    Reminder,
    /// Suspend the account's services.
    Suspend,
    /// Disconnect the account's services.
    Disconnect,
}

impl DunningAction {
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "reminder" => Some(Self::Reminder),
            "suspend" => Some(Self::Suspend),
            "disconnect" => Some(Self::Disconnect),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Reminder => "reminder",
            Self::Suspend => "suspend",
            Self::Disconnect => "disconnect",
        }
    }
}

/// One step: `action` once the oldest overdue invoice is `after_days` past due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DunningStep {
    pub after_days: i64,
    pub action: DunningAction,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DunningError {
    #[error("step {index}: after_days must be between 1 and 3650, got {days}")]
    DaysOutOfRange { index: usize, days: i64 },
    #[error("step {index}: after_days must be greater than the previous step's ({previous})")]
    NotIncreasing { index: usize, previous: i64 },
    #[error("step {index}: nothing can follow a disconnect")]
    AfterDisconnect { index: usize },
}

/// A validated schedule: strictly increasing days, disconnect last if at all.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DunningSchedule {
    steps: Vec<DunningStep>,
}

impl DunningSchedule {
    pub fn new(steps: Vec<DunningStep>) -> Result<Self, DunningError> {
        let mut previous: Option<&DunningStep> = None;
        for (index, s) in steps.iter().enumerate() {
            if !(1..=3650).contains(&s.after_days) {
                return Err(DunningError::DaysOutOfRange {
                    index,
                    days: s.after_days,
                });
            }
            if let Some(p) = previous {
                if p.action == DunningAction::Disconnect {
                    return Err(DunningError::AfterDisconnect { index });
                }
                if s.after_days <= p.after_days {
                    return Err(DunningError::NotIncreasing {
                        index,
                        previous: p.after_days,
                    });
                }
            }
            previous = Some(s);
        }
        Ok(Self { steps })
    }

    pub fn steps(&self) -> &[DunningStep] {
        &self.steps
    }

    /// How many steps are due `today` for an account whose oldest overdue invoice fell
    /// due on `oldest_due` (none overdue: zero, the account is clear).
    pub fn reached(&self, oldest_due: Option<Date>, today: Date) -> usize {
        let Some(due) = oldest_due.filter(|d| *d < today) else {
            return 0;
        };
        let days = days_between(due, today);
        self.steps
            .iter()
            .take_while(|s| s.after_days <= days)
            .count()
    }
}

/// What to do now for an account that had reached `done` steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DunningMove {
    /// Apply these steps, in order.
    Escalate(Vec<DunningStep>),
    /// Paid up: undo suspensions and start over.
    Resolve,
    Stay,
}

pub fn next_move(schedule: &DunningSchedule, done: usize, reached: usize) -> DunningMove {
    if reached == 0 && done > 0 {
        DunningMove::Resolve
    } else if reached > done {
        DunningMove::Escalate(schedule.steps[done..reached].to_vec())
    } else {
        DunningMove::Stay
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn step(after_days: i64, action: DunningAction) -> DunningStep {
        DunningStep { after_days, action }
    }

    /// PUBLIC-EXAMPLES B16: warning at 10 days, blocked at 14, cancellation at 21.
    #[test]
    fn b16_thresholds() {
        use DunningAction::*;
        let s = DunningSchedule::new(vec![
            step(10, Reminder),
            step(14, Suspend),
            step(21, Disconnect),
        ])
        .unwrap();
        let due = Some(date(2024, 1, 1));
        assert_eq!(s.reached(due, date(2024, 1, 10)), 0);
        assert_eq!(s.reached(due, date(2024, 1, 11)), 1);
        assert_eq!(s.reached(due, date(2024, 1, 15)), 2);
        assert_eq!(s.reached(due, date(2024, 1, 22)), 3);
        assert_eq!(s.reached(None, date(2024, 1, 22)), 0);
        // Due today is not overdue.
        assert_eq!(s.reached(Some(date(2024, 1, 22)), date(2024, 1, 22)), 0);
        assert_eq!(
            next_move(&s, 1, 3),
            DunningMove::Escalate(vec![step(14, Suspend), step(21, Disconnect)])
        );
        assert_eq!(next_move(&s, 2, 0), DunningMove::Resolve);
        assert_eq!(next_move(&s, 2, 2), DunningMove::Stay);
        assert_eq!(next_move(&s, 0, 0), DunningMove::Stay);
    }

    #[test]
    fn schedules_are_validated() {
        use DunningAction::*;
        assert_eq!(
            DunningSchedule::new(vec![step(5, Reminder), step(5, Suspend)]),
            Err(DunningError::NotIncreasing {
                index: 1,
                previous: 5
            })
        );
        assert_eq!(
            DunningSchedule::new(vec![step(5, Disconnect), step(9, Reminder)]),
            Err(DunningError::AfterDisconnect { index: 1 })
        );
        assert_eq!(
            DunningSchedule::new(vec![step(0, Reminder)]),
            Err(DunningError::DaysOutOfRange { index: 0, days: 0 })
        );
    }
}

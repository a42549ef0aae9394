//! Planned dates of a work order's tasks (the Gantt view): each task starts as soon as
//! every task it depends on has ended, i.e. at the longest path to it through the
//! dependency graph.
//!
//! Hours are elapsed hours on the civil clock of the start: no working calendar and no
//! time zone, which the caller applies when it needs them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use jiff::civil::DateTime;
use jiff::SignedDuration;

use super::error::CatalogErrors;
use super::graph::first_occurrences;
use super::work_order::{dependency_edges, WorkOrderTemplate};

/// One task on the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTask {
    /// Position of the task in the template.
    pub index: usize,
    pub key: String,
    pub start: DateTime,
    pub end: DateTime,
}

/// The tasks in a topological order (ties by planned start, then template order, so the
/// list reads top-down as a Gantt chart) and the span of the whole order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub tasks: Vec<PlannedTask>,
    pub start: DateTime,
    /// When the last task ends (`start` for an order of instant tasks).
    pub end: DateTime,
    pub span_hours: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Only a valid template has a schedule: a cycle or unknown dependency has none.
    #[error("invalid work-order template: {0}")]
    Invalid(CatalogErrors),
    #[error("planned dates out of the supported range")]
    OutOfRange,
}

impl WorkOrderTemplate {
    /// Plans every task from `start`.
    pub fn schedule(&self, start: DateTime) -> Result<Schedule, ScheduleError> {
        self.validate().map_err(ScheduleError::Invalid)?;
        let (keys, _) = first_occurrences(self.tasks.iter().map(|t| t.key.as_str()));
        let waits_for = dependency_edges(&self.tasks, &keys);

        let mut pending: Vec<usize> = waits_for.iter().map(Vec::len).collect();
        let mut dependents = vec![Vec::new(); self.tasks.len()];
        for (task, deps) in waits_for.iter().enumerate() {
            for &(_, dep) in deps {
                dependents[dep].push(task);
            }
        }

        // Hour offsets from `start`; a task's start is final once it is ready.
        let mut earliest = vec![0u64; self.tasks.len()];
        let mut ready: BinaryHeap<Reverse<(u64, usize)>> = (0..self.tasks.len())
            .filter(|&t| pending[t] == 0)
            .map(|t| Reverse((0, t)))
            .collect();
        let mut planned = Vec::with_capacity(self.tasks.len());
        let mut span = 0u64;
        while let Some(Reverse((from, task))) = ready.pop() {
            let to = from
                .checked_add(u64::from(self.tasks[task].duration_hours))
                .ok_or(ScheduleError::OutOfRange)?;
            span = span.max(to);
            for &next in &dependents[task] {
                earliest[next] = earliest[next].max(to);
                pending[next] -= 1;
                if pending[next] == 0 {
                    ready.push(Reverse((earliest[next], next)));
                }
            }
            planned.push(PlannedTask {
                index: task,
                key: self.tasks[task].key.clone(),
                start: after_hours(start, from)?,
                end: after_hours(start, to)?,
            });
        }
        Ok(Schedule {
            tasks: planned,
            start,
            end: after_hours(start, span)?,
            span_hours: span,
        })
    }
}

fn after_hours(start: DateTime, hours: u64) -> Result<DateTime, ScheduleError> {
    let secs = i64::try_from(hours)
        .ok()
        .and_then(|h| h.checked_mul(3600))
        .ok_or(ScheduleError::OutOfRange)?;
    start
        .checked_add(SignedDuration::from_secs(secs))
        .map_err(|_| ScheduleError::OutOfRange)
}

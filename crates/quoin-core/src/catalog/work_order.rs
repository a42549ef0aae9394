//! Work-order templates: the tasks an order line with a given action spawns, with their
//! dependencies, durations and assignee roles. Checked when the template is defined so
//! fulfilment can always schedule it.

use std::collections::HashMap;

use crate::rating::Problem;

use super::error::{CatalogErrors, CatalogPath, CatalogProblem, Problems};
use super::graph::{back_edges, first_occurrences};
use super::structure::MacdAction;

/// One task of a template. `depends_on` names other tasks' keys; the task starts when all
/// of them have ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTemplate {
    pub key: String,
    pub name: String,
    /// Planned effort. Zero only for automated tasks ("code tasks"), which are instant.
    pub duration_hours: u32,
    /// Who is assigned (e.g. `field_engineer`).
    pub role: String,
    /// Run by the platform (an HTTP call to a provisioning system) rather than a person.
    pub automated: bool,
    pub depends_on: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkOrderTemplate {
    pub action: MacdAction,
    pub tasks: Vec<TaskTemplate>,
}

impl WorkOrderTemplate {
    /// Checks keys, names, roles, durations and that the dependencies name tasks of this
    /// template and form no cycle. Reports every problem, in task order.
    pub fn validate(&self) -> Result<(), CatalogErrors> {
        let mut p = Problems::default();
        if self.tasks.is_empty() {
            p.push(CatalogPath::field("tasks"), Problem::Empty);
        }
        let (keys, repeats) = first_occurrences(self.tasks.iter().map(|t| t.key.as_str()));
        let cycles = dependency_cycles(&self.tasks, &keys);
        for (i, task) in self.tasks.iter().enumerate() {
            let at = |name| CatalogPath::element("tasks", i, name);
            p.blank(|| at("key"), &task.key);
            if let Some(&(_, first)) = repeats.iter().find(|&&(r, _)| r == i) {
                p.push(
                    at("key"),
                    CatalogProblem::Duplicate {
                        value: task.key.clone(),
                        first,
                    },
                );
            }
            p.blank(|| at("name"), &task.name);
            if task.duration_hours == 0 && !task.automated {
                p.push(at("duration_hours"), CatalogProblem::ZeroDuration);
            }
            p.blank(|| at("role"), &task.role);
            let (_, dup_deps) = first_occurrences(task.depends_on.iter().map(String::as_str));
            for (j, dep) in task.depends_on.iter().enumerate() {
                let path = || at("depends_on").index(j);
                if !keys.contains_key(dep.as_str()) {
                    p.push(path(), CatalogProblem::UnknownTask(dep.clone()));
                }
                if let Some(&(_, first)) = dup_deps.iter().find(|&&(r, _)| r == j) {
                    p.push(
                        path(),
                        CatalogProblem::Duplicate {
                            value: dep.clone(),
                            first,
                        },
                    );
                }
                for (_, _, cycle) in cycles.iter().filter(|(t, d, _)| (*t, *d) == (i, j)) {
                    p.push(path(), CatalogProblem::DependencyCycle(cycle.clone()));
                }
            }
        }
        p.finish()
    }
}

/// `(task, dependency, keys of the cycle)` for each dependency closing a cycle; the cycle
/// reads "waits for": `a → b → a` is a waiting for b waiting for a.
fn dependency_cycles(
    tasks: &[TaskTemplate],
    keys: &HashMap<&str, usize>,
) -> Vec<(usize, usize, Vec<String>)> {
    back_edges(&dependency_edges(tasks, keys))
        .into_iter()
        .map(|b| {
            let names = b.cycle.iter().map(|&k| tasks[k].key.clone()).collect();
            (b.from, b.edge, names)
        })
        .collect()
}

/// For each task, `(position in depends_on, index of the task it waits for)`; unknown
/// keys are skipped and duplicate keys resolve to their first task.
pub(crate) fn dependency_edges(
    tasks: &[TaskTemplate],
    keys: &HashMap<&str, usize>,
) -> Vec<Vec<(usize, usize)>> {
    tasks
        .iter()
        .map(|t| {
            t.depends_on
                .iter()
                .enumerate()
                .filter_map(|(j, d)| keys.get(d.as_str()).map(|&k| (j, k)))
                .collect()
        })
        .collect()
}

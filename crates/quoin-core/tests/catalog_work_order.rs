//! Work-order templates are checked by path, and the schedule is the longest path
//! through the dependency graph.

use jiff::civil::{date, DateTime};
use quoin_core::catalog::{
    MacdAction, PlannedTask, Schedule, ScheduleError, TaskTemplate, WorkOrderTemplate,
};

fn task(key: &str, hours: u32, automated: bool, depends_on: &[&str]) -> TaskTemplate {
    TaskTemplate {
        key: key.into(),
        name: format!("Task {key}"),
        duration_hours: hours,
        role: if automated {
            "system"
        } else {
            "field_engineer"
        }
        .into(),
        automated,
        depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
    }
}

fn template(tasks: Vec<TaskTemplate>) -> WorkOrderTemplate {
    WorkOrderTemplate {
        action: MacdAction::New,
        tasks,
    }
}

fn problems(t: &WorkOrderTemplate) -> Vec<String> {
    match t.validate() {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
    }
}

fn at(day: i8, hour: i8) -> DateTime {
    date(2024, 3, day).at(hour, 0, 0, 0)
}

/// survey → (ship ∥ configure) → install → activate, listed out of order.
fn diamond() -> WorkOrderTemplate {
    template(vec![
        task("install", 4, false, &["ship", "configure"]),
        task("survey", 8, false, &[]),
        task("activate", 0, true, &["install"]),
        task("configure", 2, true, &["survey"]),
        task("ship", 24, false, &["survey"]),
    ])
}

#[test]
fn diamond_is_scheduled_by_longest_path() {
    let plan = diamond().schedule(at(1, 9)).unwrap();
    let planned = |index: usize, key: &str, start, end| PlannedTask {
        index,
        key: key.into(),
        start,
        end,
    };
    assert_eq!(
        plan,
        Schedule {
            tasks: vec![
                planned(1, "survey", at(1, 9), at(1, 17)),
                planned(3, "configure", at(1, 17), at(1, 19)),
                planned(4, "ship", at(1, 17), at(2, 17)),
                // Waits for the slower branch: ship ends 24 h after the survey.
                planned(0, "install", at(2, 17), at(2, 21)),
                planned(2, "activate", at(2, 21), at(2, 21)),
            ],
            start: at(1, 9),
            end: at(2, 21),
            span_hours: 36,
        }
    );
}

#[test]
fn independent_tasks_all_start_at_once() {
    let t = template(vec![
        task("b", 5, false, &[]),
        task("a", 3, false, &[]),
        task("c", 0, true, &[]),
    ]);
    let plan = t.schedule(at(4, 8)).unwrap();
    let order: Vec<(&str, DateTime, DateTime)> = plan
        .tasks
        .iter()
        .map(|p| (p.key.as_str(), p.start, p.end))
        .collect();
    assert_eq!(
        order,
        [
            ("b", at(4, 8), at(4, 13)),
            ("a", at(4, 8), at(4, 11)),
            ("c", at(4, 8), at(4, 8)),
        ]
    );
    assert_eq!((plan.end, plan.span_hours), (at(4, 13), 5));
}

#[test]
fn a_chain_of_instant_tasks_keeps_dependency_order() {
    // Zero-hour tasks share a start time; the dependency still comes first.
    let t = template(vec![
        task("notify", 0, true, &["provision"]),
        task("provision", 0, true, &[]),
    ]);
    let plan = t.schedule(at(1, 0)).unwrap();
    let keys: Vec<&str> = plan.tasks.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["provision", "notify"]);
    assert_eq!((plan.end, plan.span_hours), (at(1, 0), 0));
}

#[test]
fn hours_cross_days_and_months_on_the_civil_clock() {
    let t = template(vec![task("long", 50, false, &[])]);
    let plan = t.schedule(date(2024, 2, 28).at(12, 0, 0, 0)).unwrap();
    assert_eq!(plan.end, date(2024, 3, 1).at(14, 0, 0, 0));
}

#[test]
fn a_sound_template_passes() {
    assert_eq!(diamond().validate(), Ok(()));
}

#[test]
fn a_template_needs_tasks() {
    assert_eq!(
        problems(&template(vec![])),
        ["tasks: must have at least one element"]
    );
}

#[test]
fn keys_names_and_roles_must_be_filled_in_and_keys_unique() {
    let mut blank = task("", 1, false, &[]);
    blank.name = String::new();
    blank.role = "  ".into();
    let t = template(vec![
        task("a", 1, false, &[]),
        task("a", 1, false, &[]),
        blank,
    ]);
    assert_eq!(
        problems(&t),
        [
            "tasks[1].key: duplicates \"a\" at index 0",
            "tasks[2].key: must not be blank",
            "tasks[2].name: must not be blank",
            "tasks[2].role: must not be blank",
        ]
    );
}

#[test]
fn only_automated_tasks_may_take_no_time() {
    let t = template(vec![
        task("manual", 0, false, &[]),
        task("code", 0, true, &[]),
    ]);
    assert_eq!(
        problems(&t),
        ["tasks[0].duration_hours: must be greater than zero for a manual task (only automated tasks may take no time)"]
    );
}

#[test]
fn dependencies_must_name_tasks_of_the_template_once() {
    let t = template(vec![
        task("a", 1, false, &[]),
        task("b", 1, false, &["a", "a"]),
        task("c", 1, false, &["x", "b"]),
    ]);
    assert_eq!(
        problems(&t),
        [
            "tasks[1].depends_on[1]: duplicates \"a\" at index 0",
            "tasks[2].depends_on[0]: unknown task \"x\"",
        ]
    );
}

#[test]
fn dependency_cycles_are_reported_with_their_path() {
    let t = template(vec![
        task("a", 1, false, &["b"]),
        task("b", 1, false, &["c"]),
        task("c", 1, false, &["a"]),
        task("d", 1, false, &["d"]),
    ]);
    assert_eq!(
        problems(&t),
        [
            "tasks[2].depends_on[0]: dependency cycle a → b → c → a",
            "tasks[3].depends_on[0]: dependency cycle d → d",
        ]
    );
}

#[test]
fn an_invalid_template_has_no_schedule() {
    let t = template(vec![
        task("a", 1, false, &["b"]),
        task("b", 1, false, &["a"]),
    ]);
    let err = t.schedule(at(1, 0)).unwrap_err();
    assert!(matches!(err, ScheduleError::Invalid(_)));
    assert_eq!(
        err.to_string(),
        "invalid work-order template: tasks[1].depends_on[0]: dependency cycle a → b → a"
    );
}

#[test]
fn dates_past_the_calendar_are_an_error() {
    let t = template(vec![task("a", u32::MAX, false, &[])]);
    assert_eq!(
        t.schedule(date(9999, 1, 1).at(0, 0, 0, 0)),
        Err(ScheduleError::OutOfRange)
    );
}

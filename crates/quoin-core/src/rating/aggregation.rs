//! Turning a period's usage events into the quantity a price rates: count, sum, max,
//! unique count, latest value or time-weighted sum, after property filters, per group.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use rust_decimal::Decimal;

use super::arith::{add, mul};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregationError {
    #[error("window {start} → {end} is empty or reversed")]
    EmptyWindow { start: Timestamp, end: Timestamp },
    #[error("aggregated value out of the decimal range")]
    Arithmetic,
}

/// One usage event as the aggregation sees it; borrowed so a caller's stored events
/// need no copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    pub timestamp: Timestamp,
    /// The metric's numeric field: summed, maxed, or, for a weighted sum, a signed
    /// change of level. Count and unique count ignore it.
    pub value: Decimal,
    pub properties: &'a [(&'a str, &'a str)],
}

impl<'a> Event<'a> {
    pub fn property(&self, key: &str) -> Option<&'a str> {
        self.properties
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aggregation {
    Count,
    Sum,
    /// Zero when there are no events, as in Lago.
    Max,
    /// Distinct values of a property; events without it are not counted.
    UniqueCount {
        property: String,
    },
    /// The value of the last event by timestamp (the later one in the slice on ties);
    /// zero when there are none.
    Latest,
    /// Average level over the window: values are increments of a level that starts at
    /// zero, and the result is ∫ level dt / window length. A level carried over from
    /// the previous period is passed as an increment at the window's start.
    WeightedSum,
}

/// Keeps events whose property `key` equals one of `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyFilter {
    pub key: String,
    pub values: Vec<String>,
}

impl PropertyFilter {
    fn keeps(&self, event: &Event<'_>) -> bool {
        event
            .property(&self.key)
            .is_some_and(|v| self.values.iter().any(|allowed| allowed == v))
    }
}

/// A billable metric: how to aggregate, which events count (every filter must keep an
/// event) and which properties split the result into groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub aggregation: Aggregation,
    pub filters: Vec<PropertyFilter>,
    pub group_by: Vec<String>,
}

impl Metric {
    pub fn new(aggregation: Aggregation) -> Self {
        Self {
            aggregation,
            filters: Vec::new(),
            group_by: Vec::new(),
        }
    }

    pub fn filter(mut self, key: &str, values: &[&str]) -> Self {
        self.filters.push(PropertyFilter {
            key: key.to_string(),
            values: values.iter().map(|v| v.to_string()).collect(),
        });
        self
    }

    pub fn group_by(mut self, key: &str) -> Self {
        self.group_by.push(key.to_string());
        self
    }
}

/// The half-open period `[start, end)` being billed; events outside it are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    start: Timestamp,
    end: Timestamp,
}

impl Window {
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, AggregationError> {
        if start < end {
            Ok(Self { start, end })
        } else {
            Err(AggregationError::EmptyWindow { start, end })
        }
    }

    pub fn start(&self) -> Timestamp {
        self.start
    }

    pub fn end(&self) -> Timestamp {
        self.end
    }

    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

/// The aggregate of one group: `key` holds the group-by properties' values in the
/// metric's order (`None` where an event lacks the property).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupValue<'a> {
    pub key: Vec<Option<&'a str>>,
    pub value: Decimal,
    /// Events that went into the value, after filters.
    pub events: usize,
}

/// Aggregates the events of `window` per group, ordered by key. Without `group_by`
/// there is exactly one group (key `[]`), even when no event matched.
pub fn aggregate<'a>(
    metric: &Metric,
    window: Window,
    events: &[Event<'a>],
) -> Result<Vec<GroupValue<'a>>, AggregationError> {
    let kept = events
        .iter()
        .filter(|e| window.contains(e.timestamp) && metric.filters.iter().all(|f| f.keeps(e)));
    let mut groups: BTreeMap<Vec<Option<&'a str>>, Vec<&Event<'a>>> = BTreeMap::new();
    if metric.group_by.is_empty() {
        groups.insert(Vec::new(), kept.collect());
    } else {
        for event in kept {
            let key = metric.group_by.iter().map(|k| event.property(k)).collect();
            groups.entry(key).or_default().push(event);
        }
    }
    groups
        .into_iter()
        .map(|(key, group)| {
            Ok(GroupValue {
                key,
                value: aggregate_group(&metric.aggregation, window, &group)?,
                events: group.len(),
            })
        })
        .collect()
}

fn aggregate_group(
    aggregation: &Aggregation,
    window: Window,
    events: &[&Event<'_>],
) -> Result<Decimal, AggregationError> {
    let overflow = |_| AggregationError::Arithmetic;
    match aggregation {
        Aggregation::Count => Ok(Decimal::from(events.len())),
        Aggregation::Sum => events
            .iter()
            .try_fold(Decimal::ZERO, |acc, e| add(acc, e.value))
            .map_err(overflow),
        Aggregation::Max => Ok(events.iter().map(|e| e.value).max().unwrap_or_default()),
        Aggregation::UniqueCount { property } => {
            let distinct: BTreeSet<&str> =
                events.iter().filter_map(|e| e.property(property)).collect();
            Ok(Decimal::from(distinct.len()))
        }
        Aggregation::Latest => Ok(events
            .iter()
            .enumerate()
            .max_by_key(|(i, e)| (e.timestamp, *i))
            .map(|(_, e)| e.value)
            .unwrap_or_default()),
        Aggregation::WeightedSum => weighted_sum(window, events).map_err(overflow),
    }
}

/// ∫ level dt / window length, in microseconds. The integral is exact; the one
/// division at the end rounds to Decimal's 28 significant digits.
fn weighted_sum(window: Window, events: &[&Event<'_>]) -> Result<Decimal, super::RatingError> {
    let mut sorted = events.to_vec();
    sorted.sort_by_key(|e| e.timestamp);
    let micros = |t: Timestamp| Decimal::from(t.as_microsecond());
    let mut level = Decimal::ZERO;
    let mut integral = Decimal::ZERO;
    let mut since = micros(window.start);
    for event in sorted {
        let at = micros(event.timestamp);
        integral = add(integral, mul(level, at - since)?)?;
        level = add(level, event.value)?;
        since = at;
    }
    let end = micros(window.end);
    integral = add(integral, mul(level, end - since)?)?;
    integral
        .checked_div(end - micros(window.start))
        .ok_or(super::RatingError::Arithmetic)
}

//! Sets of half-open date ranges: what a line still covers, what a timeline wants billed.

use jiff::civil::Date;

use crate::calendar::Period;

/// A sorted list of disjoint, non-empty `[start, end)` ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spans(Vec<(Date, Date)>);

impl Spans {
    pub fn of(period: Period) -> Self {
        Self(vec![(period.start, period.end)])
    }

    pub fn from_ranges(ranges: impl IntoIterator<Item = (Date, Date)>) -> Self {
        let mut v: Vec<(Date, Date)> = ranges.into_iter().filter(|(s, e)| s < e).collect();
        v.sort();
        let mut out: Vec<(Date, Date)> = Vec::with_capacity(v.len());
        for (s, e) in v {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        Self(out)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn periods(&self) -> impl Iterator<Item = Period> + '_ {
        self.0.iter().map(|&(start, end)| Period { start, end })
    }

    /// The parts of `self` not in `other`.
    pub fn minus(&self, other: &Spans) -> Spans {
        let mut out = Vec::new();
        for &(mut s, e) in &self.0 {
            for &(os, oe) in &other.0 {
                if oe <= s || os >= e {
                    continue;
                }
                if os > s {
                    out.push((s, os));
                }
                s = s.max(oe);
                if s >= e {
                    break;
                }
            }
            if s < e {
                out.push((s, e));
            }
        }
        Spans(out)
    }

    /// The parts of `self` also in `other`.
    pub fn intersect(&self, other: &Spans) -> Spans {
        Spans::from_ranges(
            self.0
                .iter()
                .flat_map(|&(s, e)| other.0.iter().map(move |&(os, oe)| (s.max(os), e.min(oe)))),
        )
    }

    pub fn union(&self, other: &Spans) -> Spans {
        Spans::from_ranges(self.0.iter().chain(other.0.iter()).copied())
    }

    /// Everything from `date` on.
    pub fn from_date(&self, date: Date) -> Spans {
        Spans::from_ranges(self.0.iter().map(|&(s, e)| (s.max(date), e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn r(a: i8, b: i8) -> (Date, Date) {
        (date(2024, 1, a), date(2024, 1, b))
    }

    #[test]
    fn minus_intersect_union() {
        let a = Spans::from_ranges([r(1, 10), r(15, 20)]);
        let b = Spans::from_ranges([r(5, 16)]);
        assert_eq!(a.minus(&b), Spans::from_ranges([r(1, 5), r(16, 20)]));
        assert_eq!(a.intersect(&b), Spans::from_ranges([r(5, 10), r(15, 16)]));
        assert_eq!(a.union(&b), Spans::from_ranges([r(1, 20)]));
        assert_eq!(
            a.from_date(date(2024, 1, 18)),
            Spans::from_ranges([r(18, 20)])
        );
        assert!(a.minus(&a).is_empty());
        assert_eq!(Spans::from_ranges([r(3, 3)]), Spans::default());
    }
}

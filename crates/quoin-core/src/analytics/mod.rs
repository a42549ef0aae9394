//! Revenue metrics computed from plain values; the app gathers subscriptions and sums.

pub mod mrr;

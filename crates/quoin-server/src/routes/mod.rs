//! Handlers, one module per resource. Each is a thin shell: extract, call the app, answer.

pub mod accounts;
pub mod analytics;
pub mod billing;
pub mod catalog;
pub mod drafts;
pub mod finishing;
pub mod keys;
pub mod payment_methods;
pub mod payments;
pub mod runs;
pub mod system;
pub mod usage;
pub mod voice;

use serde::Deserialize;
use utoipa::IntoParams;

/// `limit` (1–200, default 50) and `cursor` (the previous page's `next_cursor`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl From<&PageQuery> for quoin_app::model::ListParams {
    fn from(q: &PageQuery) -> Self {
        Self {
            limit: q.limit,
            cursor: q.cursor.clone(),
        }
    }
}

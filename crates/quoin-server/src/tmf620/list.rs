//! Query handling shared by the resources: `fields=` attribute selection, attribute
//! filters (`?lifecycleStatus=Active&category.id=fiber`), `offset`/`limit` paging with the
//! `X-Total-Count` and `X-Result-Count` headers.

use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::error::{TmfError, TmfResult};

pub const JSON_UTF8: &str = "application/json;charset=utf-8";

/// Attributes every representation keeps whatever `fields` says.
const MANDATORY: [&str; 3] = ["id", "href", "@type"];

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// A parsed list query.
#[derive(Debug, Default)]
pub struct ListQuery {
    pub fields: Option<Vec<String>>,
    pub offset: usize,
    pub limit: usize,
    /// (attribute path, accepted values): a resource matches when, for every attribute, its
    /// value equals one of the values (a repeated parameter is an OR).
    pub filters: Vec<(Vec<String>, Vec<String>)>,
}

fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn fields_of(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect()
}

fn number(name: &str, value: &str, range: std::ops::RangeInclusive<usize>) -> TmfResult<usize> {
    match value.trim().parse::<usize>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(TmfError::bad_request(
            "invalid_query",
            Some(name.to_string()),
            format!(
                "{name} must be an integer between {} and {}, got `{value}`",
                range.start(),
                range.end()
            ),
        )),
    }
}

impl ListQuery {
    /// Parses a list query; `filterable` are the top-level attributes a filter may name.
    pub fn parse(query: Option<&str>, filterable: &[&str]) -> TmfResult<ListQuery> {
        let mut q = ListQuery {
            limit: DEFAULT_LIMIT,
            ..Default::default()
        };
        for (name, value) in pairs(query) {
            match name.as_str() {
                "fields" => q.fields = Some(fields_of(&value)),
                "offset" => q.offset = number("offset", &value, 0..=usize::MAX)?,
                "limit" => q.limit = number("limit", &value, 1..=MAX_LIMIT)?,
                _ => {
                    let path: Vec<String> = name.split('.').map(str::to_string).collect();
                    if !filterable.contains(&path[0].as_str()) {
                        return Err(TmfError::bad_request(
                            "invalid_query",
                            Some(name.clone()),
                            format!(
                                "cannot filter on `{name}`; filterable attributes: {}",
                                filterable.join(", ")
                            ),
                        ));
                    }
                    match q.filters.iter_mut().find(|(p, _)| *p == path) {
                        Some((_, values)) => values.push(value),
                        None => q.filters.push((path, vec![value])),
                    }
                }
            }
        }
        Ok(q)
    }

    /// `fields` of a single-resource GET (other parameters are not used there).
    pub fn fields_only(query: Option<&str>) -> Option<Vec<String>> {
        pairs(query)
            .into_iter()
            .rev()
            .find(|(n, _)| n == "fields")
            .map(|(_, v)| fields_of(&v))
    }

    pub fn matches(&self, resource: &Value) -> bool {
        self.filters
            .iter()
            .all(|(path, values)| values.iter().any(|v| matches_at(resource, path, v)))
    }

    /// Filters, pages and selects; returns the page with its headers.
    pub fn respond(&self, all: Vec<Value>) -> Response {
        let matching: Vec<Value> = all.into_iter().filter(|r| self.matches(r)).collect();
        let total = matching.len();
        let page: Vec<Value> = matching
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .map(|r| select(r, self.fields.as_deref()))
            .collect();
        let count = page.len();
        let mut res = json_response(StatusCode::OK, &Value::Array(page));
        let headers = res.headers_mut();
        headers.insert(
            HeaderName::from_static("x-total-count"),
            HeaderValue::from(total),
        );
        headers.insert(
            HeaderName::from_static("x-result-count"),
            HeaderValue::from(count),
        );
        res
    }
}

/// Whether the value at `path` (arrays: any element) equals `wanted` in its text form.
fn matches_at(value: &Value, path: &[String], wanted: &str) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|i| matches_at(i, path, wanted)),
        _ => match path.split_first() {
            Some((head, rest)) => value
                .get(head)
                .is_some_and(|inner| matches_at(inner, rest, wanted)),
            None => match value {
                Value::String(s) => s == wanted,
                Value::Bool(b) => b.to_string() == wanted,
                Value::Number(n) => n.to_string() == wanted,
                _ => false,
            },
        },
    }
}

/// Keeps the mandatory attributes and those named in `fields` (a dotted name keeps its
/// top-level attribute); `None` keeps everything.
pub fn select(resource: Value, fields: Option<&[String]>) -> Value {
    let (Some(fields), Value::Object(map)) = (fields, &resource) else {
        return resource;
    };
    let keep = |k: &str| {
        MANDATORY.contains(&k)
            || fields
                .iter()
                .any(|f| f.split('.').next().is_some_and(|top| top == k))
    };
    let selected: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(selected)
}

pub fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(CONTENT_TYPE, JSON_UTF8)], body.to_string()).into_response()
}

/// `201 Created` with `Location` (the resource's `href`) and the resource.
pub fn created(resource: &Value) -> Response {
    let mut res = json_response(StatusCode::CREATED, resource);
    if let Some(Ok(location)) = resource
        .get("href")
        .and_then(Value::as_str)
        .map(HeaderValue::from_str)
    {
        res.headers_mut().insert(LOCATION, location);
    }
    res
}

//! Plays a scenario against the real HTTP router: every action is an API request, every
//! expectation is read back through the API.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::compare;
use super::format::{AccountSpec, ExpectedInvoice, Scenario, Step};
use crate::common::{Reply, TestApi};

/// Aliases → ids (accounts, subscriptions, price codes, invoices, payments, call results).
#[derive(Default)]
struct Names {
    ids: BTreeMap<String, String>,
    /// ids → aliases, to print actual invoices in the file's words.
    aliases: BTreeMap<String, String>,
}

impl Names {
    fn bind(&mut self, alias: &str, id: &str) {
        self.ids.insert(alias.into(), id.into());
        self.aliases.insert(id.into(), alias.into());
    }

    fn id(&self, alias: &str) -> Result<String, String> {
        self.ids
            .get(alias)
            .cloned()
            .ok_or_else(|| format!("unknown alias `{alias}`"))
    }

    /// Replaces every `${alias}` in the strings of `v`.
    fn substitute(&self, v: &Value) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => Value::String(self.substitute_str(s)?),
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.substitute(x))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| Ok((k.clone(), self.substitute(x)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    fn substitute_str(&self, s: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let end = rest[at..]
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in `{s}`"))?;
            out.push_str(&self.id(&rest[at + 2..at + end])?);
            rest = &rest[at + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Runs every step; the error names the scenario, the step and what differed.
pub async fn run(api: &TestApi, sc: &Scenario) -> Result<(), String> {
    let mut names = Names::default();
    let at = |what: &str, e: String| {
        format!(
            "scenario `{}` ({}; {}), {what}: {e}",
            sc.name, sc.source, sc.convention
        )
    };
    ok(
        api,
        "POST",
        "/v1/test-clock",
        Some(json!({"now": sc.clock})),
    )
    .await
    .map_err(|e| at("clock", e))?;
    for m in &sc.catalog.metrics {
        let path = format!("/v1/metrics/{}", str_of(&m["code"]));
        ok(api, "PUT", &path, Some(m.clone()))
            .await
            .map_err(|e| at("catalog metrics", e))?;
    }
    for t in &sc.catalog.terms {
        let path = format!("/v1/terms/{}", str_of(&t["code"]));
        ok(api, "PUT", &path, Some(t.clone()))
            .await
            .map_err(|e| at("catalog terms", e))?;
    }
    for p in &sc.catalog.products {
        let created = ok(api, "POST", "/v1/products", Some(p.clone()))
            .await
            .map_err(|e| at("catalog", e))?;
        for price in created["prices"].as_array().into_iter().flatten() {
            names.bind(str_of(&price["code"]), str_of(&price["id"]));
        }
    }
    for a in &sc.accounts {
        create_account(api, &mut names, a)
            .await
            .map_err(|e| at(&format!("account `{}`", a.alias), e))?;
    }
    for (n, step) in sc.steps.iter().enumerate() {
        let label = match &step.note {
            Some(note) => format!("step {} ({note})", n + 1),
            None => format!("step {}", n + 1),
        };
        run_step(api, &mut names, step)
            .await
            .map_err(|e| at(&label, e))?;
    }
    Ok(())
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

async fn ok(api: &TestApi, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
    let r = api.call(method, path, Some(&api.key), body).await;
    if r.status.is_success() {
        Ok(r.body)
    } else {
        Err(format!("{method} {path} answered {}: {}", r.status, r.body))
    }
}

async fn create_account(api: &TestApi, names: &mut Names, a: &AccountSpec) -> Result<(), String> {
    let mut billing = json!({"currency": a.currency});
    let optional = [
        ("bill_cycle_day", a.bill_cycle_day.map(|d| json!(d))),
        ("alignment", a.alignment.as_ref().map(|v| json!(v))),
        ("time_zone", a.time_zone.as_ref().map(|v| json!(v))),
        ("proration", a.proration.as_ref().map(|v| json!(v))),
        (
            "termination_day",
            a.termination_day.as_ref().map(|v| json!(v)),
        ),
        ("payment_terms_days", a.payment_terms_days.map(|d| json!(d))),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            billing[k] = v;
        }
    }
    let mut body = json!({
        "kind": a.kind.as_deref().unwrap_or("business"),
        "name": a.alias,
        "billing": billing,
    });
    if let Some(p) = &a.parent {
        body["parent_id"] = json!(names.id(p)?);
    }
    if let Some(b) = &a.bill_to {
        body["bill_to_id"] = json!(names.id(b)?);
    }
    let created = ok(api, "POST", "/v1/accounts", Some(body)).await?;
    let id = str_of(&created["id"]).to_string();
    names.bind(&a.alias, &id);
    if let Some(profile) = &a.tax_profile {
        let path = format!("/v1/accounts/{id}/tax-profile");
        ok(api, "PUT", &path, Some(profile.clone())).await?;
    }
    Ok(())
}

/// An action's request: what to send and how to read what it produced.
struct Request {
    method: &'static str,
    path: String,
    body: Option<Value>,
    /// Binds the response's `id` to this alias.
    alias: Option<String>,
}

fn request_of(names: &Names, step: &Step) -> Result<Option<Request>, String> {
    let mut actions = 0;
    let mut req = None;
    let mut set = |r: Request| {
        actions += 1;
        req = Some(r);
    };
    if let Some(t) = &step.clock {
        set(Request {
            method: "POST",
            path: "/v1/test-clock".into(),
            body: Some(json!({"now": t})),
            alias: None,
        });
    }
    if let Some(t) = &step.advance {
        set(Request {
            method: "POST",
            path: "/v1/test-clock/advance".into(),
            body: Some(json!({"to": t})),
            alias: None,
        });
    }
    if let Some(s) = &step.subscribe {
        let mut body = json!({
            "account_id": names.id(&s.account)?,
            "price_id": names.id(&s.price)?,
            "start_date": s.start,
        });
        let optional = [
            ("quantity", s.quantity.as_ref().map(|v| json!(v))),
            ("coterminate", s.coterminate.map(|v| json!(v))),
            ("term", s.term.as_ref().map(|v| json!(v))),
            ("unit_amount", s.unit_amount.as_ref().map(|v| json!(v))),
            ("usage_key", s.usage_key.as_ref().map(|v| json!(v))),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                body[k] = v;
            }
        }
        if let Some(p) = &s.parent {
            body["parent_id"] = json!(names.id(p)?);
        }
        if !s.items.is_empty() {
            let mut items = Vec::new();
            for it in &s.items {
                let mut item = json!({"price_id": names.id(&it.price)?});
                if let Some(q) = &it.quantity {
                    item["quantity"] = json!(q);
                }
                if let Some(k) = &it.usage_key {
                    item["usage_key"] = json!(k);
                }
                items.push(item);
            }
            body["items"] = json!(items);
        }
        if !s.progressive_thresholds.is_empty() {
            body["progressive_billing"] = json!({"thresholds": s.progressive_thresholds});
        }
        if let Some(m) = &s.minimum_commitment {
            body["minimum_commitment"] = json!(m);
        }
        set(Request {
            method: "POST",
            path: "/v1/subscriptions".into(),
            body: Some(body),
            alias: Some(s.alias.clone()),
        });
    }
    if let Some(o) = &step.operate {
        let mut body = json!({"operation": o.operation});
        let optional = [
            ("effective_date", o.effective.map(|v| json!(v))),
            ("timing", o.timing.as_ref().map(|v| json!(v))),
            ("quantity", o.quantity.as_ref().map(|v| json!(v))),
            ("unit_amount", o.unit_amount.as_ref().map(|v| json!(v))),
        ];
        for (k, v) in optional {
            if let Some(v) = v {
                body[k] = v;
            }
        }
        if let Some(p) = &o.price {
            body["price_id"] = json!(names.id(p)?);
        }
        set(Request {
            method: "POST",
            path: format!(
                "/v1/subscriptions/{}/operations",
                names.id(&o.subscription)?
            ),
            body: Some(body),
            alias: None,
        });
    }
    if let Some(b) = &step.bill {
        set(Request {
            method: "POST",
            path: format!("/v1/accounts/{}/bill", names.id(&b.account)?),
            body: Some(json!({"as_of": b.as_of, "finalize": b.finalize.unwrap_or(false)})),
            alias: None,
        });
    }
    if let Some(events) = &step.usage {
        let events = names.substitute(&Value::Array(events.clone()))?;
        set(Request {
            method: "POST",
            path: "/v1/events".into(),
            body: Some(json!({ "events": events })),
            alias: None,
        });
    }
    if let Some(p) = &step.pay {
        let account = names.id(&p.account)?;
        // The currency is the account's, read when the step runs.
        let mut body = json!({"account_id": account, "amount": p.amount, "currency": null});
        if let Some(d) = p.received_on {
            body["received_on"] = json!(d);
        }
        set(Request {
            method: "POST",
            path: "/v1/payments".into(),
            body: Some(body),
            alias: p.alias.clone(),
        });
    }
    if let Some(c) = &step.call {
        let method = match c.method.to_ascii_uppercase().as_str() {
            "GET" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            "PATCH" => "PATCH",
            "DELETE" => "DELETE",
            other => return Err(format!("unknown method `{other}`")),
        };
        set(Request {
            method,
            path: names.substitute_str(&c.path)?,
            body: c.body.as_ref().map(|b| names.substitute(b)).transpose()?,
            alias: c.alias.clone(),
        });
    }
    if actions > 1 {
        return Err("a step holds one action".into());
    }
    Ok(req)
}

async fn run_step(api: &TestApi, names: &mut Names, step: &Step) -> Result<(), String> {
    let req = request_of(names, step)?;
    let mut produced: Option<Vec<Value>> = None;
    if let Some(mut req) = req {
        if step.pay.is_some() {
            let account = str_of(&req.body.as_ref().unwrap()["account_id"]).to_string();
            let a = ok(api, "GET", &format!("/v1/accounts/{account}"), None).await?;
            req.body.as_mut().unwrap()["currency"] = a["billing"]["currency"].clone();
        }
        let counts_before = match step.error {
            Some(_) => Some(api.counts().await),
            None => None,
        };
        let r = api
            .call(req.method, &req.path, Some(&api.key), req.body.clone())
            .await;
        let what = format!("{} {}", req.method, req.path);
        if let Some(want) = &step.error {
            return check_error(api, &what, &r, want, counts_before.unwrap()).await;
        }
        check_status(&what, &r, step)?;
        if let Some(alias) = &req.alias {
            names.bind(alias, str_of(&r.body["id"]));
        }
        if let Some(c) = &step.call {
            if let Some(want) = &c.response {
                let want = names.substitute(want)?;
                if !compare::contains(&r.body, &want) {
                    return Err(format!(
                        "{what}: the response differs\n{}",
                        compare::diff(&want, &compare::pick(&r.body, &want))
                    ));
                }
            }
        }
        if step.advance.is_some() {
            if r.body["errors"] != json!([]) {
                return Err(format!("{what}: billing errors {}", r.body["errors"]));
            }
            produced = r.body["invoices"].as_array().cloned();
        }
        if step.bill.is_some() {
            produced = r.body["invoices"].as_array().cloned();
        }
    } else if step.error.is_some() {
        return Err("`error` needs an action".into());
    }
    if let Some(want) = &step.invoices {
        let Some(got) = produced else {
            return Err("`invoices` needs an `advance` or `bill` action".into());
        };
        check_invoices("invoices produced", names, want, &got)?;
    }
    if let Some(balances) = &step.balances {
        for (alias, want) in balances {
            let path = format!("/v1/accounts/{}/balance", names.id(alias)?);
            let got = ok(api, "GET", &path, None).await?;
            if got["balance"] != json!(want) {
                return Err(format!(
                    "balance of `{alias}`: expected {want}, got {}",
                    got["balance"]
                ));
            }
        }
    }
    if let Some(statuses) = &step.status {
        for (alias, want) in statuses {
            let path = format!("/v1/subscriptions/{}", names.id(alias)?);
            let got = ok(api, "GET", &path, None).await?;
            if got["status"] != json!(want) {
                return Err(format!(
                    "status of `{alias}`: expected {want}, got {}",
                    got["status"]
                ));
            }
        }
    }
    if let Some(want) = &step.mrr {
        check_mrr(api, names, want).await?;
    }
    if let Some(per_account) = &step.account_invoices {
        for (alias, want) in per_account {
            let path = format!("/v1/invoices?account_id={}&limit=200", names.id(alias)?);
            let got = ok(api, "GET", &path, None).await?;
            let got = got["data"].as_array().cloned().unwrap_or_default();
            check_invoices(&format!("invoices of `{alias}`"), names, want, &got)?;
        }
    }
    Ok(())
}

fn check_status(what: &str, r: &Reply, step: &Step) -> Result<(), String> {
    let want = step.call.as_ref().and_then(|c| c.status);
    let fine = match want {
        Some(code) => r.status.as_u16() == code,
        None => r.status.is_success(),
    };
    if fine {
        Ok(())
    } else {
        Err(format!("{what} answered {}: {}", r.status, r.body))
    }
}

async fn check_error(
    api: &TestApi,
    what: &str,
    r: &Reply,
    want: &super::format::ExpectedError,
    before: Vec<(&'static str, i64)>,
) -> Result<(), String> {
    let mut expected = json!({"status": want.status, "code": want.code});
    let mut actual = json!({"status": r.status.as_u16(), "code": r.body["code"]});
    if let Some(f) = &want.field {
        expected["field"] = json!(f);
        actual["field"] = r.body["field"].clone();
    }
    if expected != actual {
        return Err(format!(
            "{what}: the error differs ({})\n{}",
            r.body,
            compare::diff(&expected, &actual)
        ));
    }
    if api.counts().await != before {
        return Err(format!("{what}: the rejected request changed stored rows"));
    }
    Ok(())
}

fn check_invoices(
    what: &str,
    names: &mut Names,
    want: &[ExpectedInvoice],
    got: &[Value],
) -> Result<(), String> {
    let expected: Vec<Value> = want.iter().map(compare::expected_invoice).collect();
    let actual: Vec<Value> = got
        .iter()
        .map(|i| compare::actual_invoice(i, &names.aliases))
        .collect();
    let matched =
        compare::match_invoices(&expected, &actual).map_err(|d| format!("{what} differ\n{d}"))?;
    for (w, k) in want.iter().zip(matched) {
        if let Some(alias) = &w.alias {
            names.bind(alias, str_of(&got[k]["id"]));
        }
    }
    Ok(())
}

async fn check_mrr(
    api: &TestApi,
    names: &Names,
    want: &super::format::ExpectedMrr,
) -> Result<(), String> {
    let mut path = format!("/v1/analytics/mrr?date={}", want.date);
    if let Some(c) = &want.currency {
        path.push_str(&format!("&currency={c}"));
    }
    let got = ok(api, "GET", &path, None).await?;
    let mut expected = json!({"mrr": want.mrr, "arr": want.arr});
    let mut actual = json!({"mrr": got["mrr"], "arr": got["arr"]});
    if let Some(c) = &want.currency {
        expected["currency"] = json!(c);
        actual["currency"] = got["currency"].clone();
    }
    if let Some(subs) = &want.subscriptions {
        let mut e = serde_json::Map::new();
        for (alias, s) in subs {
            let mut v = json!({"mrr": s.mrr});
            if let Some(a) = &s.arr {
                v["arr"] = json!(a);
            }
            e.insert(alias.clone(), v);
        }
        let mut a = serde_json::Map::new();
        for s in got["subscriptions"].as_array().into_iter().flatten() {
            let id = str_of(&s["subscription_id"]);
            let alias = names.aliases.get(id).cloned().unwrap_or_else(|| id.into());
            let mut v = json!({"mrr": s["mrr"]});
            if subs.get(&alias).is_some_and(|x| x.arr.is_some()) {
                v["arr"] = s["arr"].clone();
            }
            a.insert(alias, v);
        }
        expected["subscriptions"] = Value::Object(e);
        actual["subscriptions"] = Value::Object(a);
    }
    if expected != actual {
        return Err(format!(
            "GET {path}: MRR differs\n{}",
            compare::diff(&expected, &actual)
        ));
    }
    Ok(())
}

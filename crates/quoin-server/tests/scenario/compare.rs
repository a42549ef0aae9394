//! Compares API invoices with expected ones. An expected invoice names only the fields it
//! checks; invoices and their lines match as sets (an expected item matches an actual one
//! carrying every field it names with the same value). On a mismatch both sides are printed
//! in the file's words (aliases, not ids), the actual side reduced to the fields expected.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::format::{ExpectedInvoice, ExpectedLine};

fn put<T: ToString>(m: &mut Map<String, Value>, key: &str, v: &Option<T>) {
    if let Some(v) = v {
        m.insert(key.into(), json!(v.to_string()));
    }
}

pub fn expected_invoice(i: &ExpectedInvoice) -> Value {
    let mut m = Map::new();
    m.insert("account".into(), json!(i.account));
    m.insert("date".into(), json!(i.date.to_string()));
    m.insert("total".into(), json!(i.total));
    put(&mut m, "subtotal", &i.subtotal);
    put(&mut m, "discount", &i.discount);
    put(&mut m, "tax", &i.tax);
    put(&mut m, "amount_due", &i.amount_due);
    put(&mut m, "status", &i.status);
    put(&mut m, "due_date", &i.due_date);
    put(&mut m, "payment_status", &i.payment_status);
    let lines = i.lines.iter().map(expected_line).collect();
    m.insert("lines".into(), Value::Array(lines));
    Value::Object(m)
}

fn expected_line(l: &ExpectedLine) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!(l.kind));
    put(&mut m, "period", &l.period);
    m.insert("amount".into(), json!(l.amount));
    put(&mut m, "proration", &l.proration);
    put(&mut m, "quantity", &l.quantity);
    put(&mut m, "tax", &l.tax);
    put(&mut m, "discount", &l.discount);
    put(&mut m, "subscription", &l.subscription);
    Value::Object(m)
}

/// Every comparable field of an API invoice; `names` maps ids back to aliases.
pub fn actual_invoice(i: &Value, names: &BTreeMap<String, String>) -> Value {
    let name = |v: &Value| -> Value {
        match v.as_str() {
            Some(id) => json!(names.get(id).cloned().unwrap_or_else(|| id.to_string())),
            None => Value::Null,
        }
    };
    let lines: Vec<Value> = i["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            let p = &l["proration"];
            json!({
                "kind": l["kind"],
                "period": format!(
                    "{}..{}",
                    l["period_start"].as_str().unwrap_or("?"),
                    l["period_end"].as_str().unwrap_or("?")
                ),
                "amount": l["amount"],
                "proration": format!("{}/{}", p["numerator"], p["denominator"]),
                "quantity": l["quantity"],
                "tax": l["tax"],
                "discount": l["discount"],
                "subscription": name(&l["subscription_id"]),
            })
        })
        .collect();
    json!({
        "account": name(&i["account_id"]),
        "date": i["invoice_date"],
        "total": i["total"],
        "subtotal": i["subtotal"],
        "discount": i["discount"],
        "tax": i["tax"],
        "amount_due": i["amount_due"],
        "status": i["status"],
        "due_date": i["due_date"],
        "payment_status": i["settlement"]["payment_status"],
        "lines": lines,
    })
}

/// For each expected item, the index of a distinct actual item it matches (greedy, in
/// file order), or `None`.
fn assign(
    expected: &[Value],
    actual: &[Value],
    matches: impl Fn(&Value, &Value) -> bool,
) -> Vec<Option<usize>> {
    let mut used = vec![false; actual.len()];
    expected
        .iter()
        .map(|e| {
            let k = (0..actual.len()).find(|&k| !used[k] && matches(&actual[k], e))?;
            used[k] = true;
            Some(k)
        })
        .collect()
}

fn lines(v: &Value) -> &[Value] {
    v["lines"].as_array().map_or(&[], |a| a.as_slice())
}

fn invoice_matches(actual: &Value, expected: &Value) -> bool {
    let fields_match = expected
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| *k != "lines")
        .all(|(k, v)| actual.get(k) == Some(v));
    let (al, el) = (lines(actual), lines(expected));
    fields_match && al.len() == el.len() && assign(el, al, contains).iter().all(Option::is_some)
}

/// The actual invoice reduced to the expected's fields, lines in the expected's order
/// (unmatched actual lines last, reduced to the fields any expected line names).
fn project(actual: &Value, expected: &Value) -> Value {
    let mut out = pick(actual, &strip_lines(expected));
    let (al, el) = (lines(actual), lines(expected));
    let order = assign(el, al, contains);
    let mut union = Map::new();
    for l in el {
        for (k, v) in l.as_object().into_iter().flatten() {
            union.insert(k.clone(), v.clone());
        }
    }
    let union = Value::Object(union);
    let mut projected = Vec::new();
    let mut used = vec![false; al.len()];
    for (e, k) in el.iter().zip(&order) {
        if let Some(k) = k {
            used[*k] = true;
            projected.push(pick(&al[*k], e));
        }
    }
    for (k, l) in al.iter().enumerate() {
        if !used[k] {
            projected.push(pick(l, &union));
        }
    }
    out["lines"] = Value::Array(projected);
    out
}

fn strip_lines(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("lines");
    }
    v
}

/// Compares invoices as sets. `Ok` carries, for each expected invoice, the index of the
/// actual one it matched; `Err` a printable diff.
pub fn match_invoices(expected: &[Value], actual: &[Value]) -> Result<Vec<usize>, String> {
    let found = assign(expected, actual, invoice_matches);
    if found.iter().all(Option::is_some) && expected.len() == actual.len() {
        return Ok(found.into_iter().flatten().collect());
    }
    // Pair each unmatched expected invoice with a leftover actual one of the same account
    // and date (else any leftover) so the diff shows what differs.
    let mut used: Vec<bool> = vec![false; actual.len()];
    for k in found.iter().flatten() {
        used[*k] = true;
    }
    let mut shown_actual = Vec::new();
    for (e, k) in expected.iter().zip(&found) {
        let k = k.or_else(|| {
            let same = |a: &Value| a["account"] == e["account"] && a["date"] == e["date"];
            let k = (0..actual.len())
                .find(|&k| !used[k] && same(&actual[k]))
                .or_else(|| (0..actual.len()).find(|&k| !used[k]))?;
            used[k] = true;
            Some(k)
        });
        match k {
            Some(k) => shown_actual.push(project(&actual[k], e)),
            None => shown_actual.push(json!("(missing)")),
        }
    }
    let brief = json!({"account": "", "date": "", "total": "",
        "lines": [{"kind": "", "period": "", "amount": ""}]});
    for (k, a) in actual.iter().enumerate() {
        if !used[k] {
            shown_actual.push(project(a, &brief));
        }
    }
    Err(diff(
        &Value::Array(expected.to_vec()),
        &Value::Array(shown_actual),
    ))
}

pub fn yaml(v: &Value) -> String {
    serde_yaml_ng::to_string(v).unwrap_or_else(|_| v.to_string())
}

/// Expected and actual line by line, the differing lines marked.
pub fn diff(expected: &Value, actual: &Value) -> String {
    let (e, a) = (yaml(expected), yaml(actual));
    let (el, al): (Vec<&str>, Vec<&str>) = (e.lines().collect(), a.lines().collect());
    let mut out = String::from("  (- expected, + actual)\n");
    for k in 0..el.len().max(al.len()) {
        match (el.get(k), al.get(k)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("    {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("  - {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!("  + {y}\n"));
                }
            }
        }
    }
    out
}

/// Whether `actual` has every key of `expected` with the same value (arrays elementwise).
pub fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, ev)| a.get(k).is_some_and(|av| contains(av, ev))),
        (Value::Array(a), Value::Array(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(x, y)| contains(x, y))
        }
        _ => actual == expected,
    }
}

/// Only the keys of `actual` that `expected` names, so a diff shows what was compared.
pub fn pick(actual: &Value, expected: &Value) -> Value {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => Value::Object(
            e.iter()
                .map(|(k, ev)| (k.clone(), a.get(k).map_or(Value::Null, |av| pick(av, ev))))
                .collect(),
        ),
        (Value::Array(a), Value::Array(e)) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(n, av)| e.get(n).or(e.first()).map_or(av.clone(), |ev| pick(av, ev)))
                .collect(),
        ),
        _ => actual.clone(),
    }
}

//! The catalog as one document: atomic import (matched by code, changed prices versioned)
//! and normalized export.

use std::collections::HashMap;

use quoin_store::new_id;
use quoin_store::repo::DefinitionTable;
use quoin_store::rows::{CategoryRow, DefinitionRow, PriceBookRow, PriceRow, ProductRow};
use quoin_store::Tx;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::check::{check, Checked};
use super::spec::*;
use crate::auth::{Action, Principal};
use crate::change_rules::{check_rules, store_rules, stored_rules};
use crate::clock::to_us;
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::model::ChangeRules;
use crate::App;

use super::stored::*;

/// Counts of what an import created, changed or found identical, per kind of entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportCounts {
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
}

impl ImportCounts {
    pub(super) fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportReport {
    /// True when nothing was written (`dry_run`).
    pub dry_run: bool,
    pub categories: ImportCounts,
    pub metrics: ImportCounts,
    pub terms: ImportCounts,
    pub price_books: ImportCounts,
    pub products: ImportCounts,
    /// A changed price becomes a new version; subscriptions keep theirs.
    pub prices: ImportCounts,
    /// The change rules as one entry (all zero when the document leaves them out).
    pub change_rules: ImportCounts,
}

pub(super) struct Writer<'a> {
    pub(super) tx: &'a mut Tx,
    pub(super) tenant: &'a str,
    pub(super) now: i64,
}

impl Writer<'_> {
    pub(super) async fn definition(
        &mut self,
        table: DefinitionTable,
        prefix: &str,
        code: &str,
        name: &str,
        json: String,
        existing: &HashMap<String, DefinitionRow>,
    ) -> AppResult<Outcome> {
        let outcome = match existing.get(code) {
            None => Outcome::Created,
            Some(row) if row.name == name && row.definition == json => {
                return Ok(Outcome::Unchanged)
            }
            Some(_) => Outcome::Updated,
        };
        self.tx
            .upsert_definition(
                table,
                &DefinitionRow {
                    id: new_id(prefix),
                    tenant_id: self.tenant.to_string(),
                    code: code.to_string(),
                    name: name.to_string(),
                    definition: json,
                    updated_at_us: self.now,
                },
            )
            .await?;
        Ok(outcome)
    }

    /// Inserts or updates a product and versions its changed prices.
    pub(super) async fn product(
        &mut self,
        spec: &ProductSpec,
        report: &mut ImportReport,
    ) -> AppResult<ProductRow> {
        let mut bare = spec.clone();
        bare.prices.clear();
        let definition = to_json(&bare)?;
        let status = code_of(&spec.status.unwrap_or(LifecycleCode::Active));
        let kind = code_of(&spec.kind.unwrap_or(ProductKindCode::Service));
        let row = match self.tx.get_product_by_code(self.tenant, &spec.code).await? {
            None => {
                let row = ProductRow {
                    id: new_id("prd"),
                    tenant_id: self.tenant.to_string(),
                    code: spec.code.clone(),
                    name: spec.name.clone(),
                    status,
                    created_at_us: self.now,
                    kind,
                    category_code: spec.category.clone(),
                    definition,
                    updated_at_us: self.now,
                };
                self.tx.insert_product(&row).await?;
                report.products.add(Outcome::Created);
                row
            }
            Some(mut row) => {
                let from =
                    LifecycleCode::deserialize(serde_json::Value::String(row.status.clone()))
                        .map_err(internal)?;
                let to = spec.status.unwrap_or(LifecycleCode::Active);
                if from != to && !lifecycle(from).can_become(lifecycle(to)) {
                    return Err(AppError::Conflict {
                        code: "invalid_transition",
                        message: format!(
                            "product `{}` is {} and cannot become {}",
                            spec.code,
                            row.status,
                            code_of(&to)
                        ),
                    });
                }
                if row.name == spec.name
                    && row.status == status
                    && row.kind == kind
                    && row.category_code == spec.category
                    && row.definition == definition
                {
                    report.products.add(Outcome::Unchanged);
                } else {
                    row.name = spec.name.clone();
                    row.status = status;
                    row.kind = kind;
                    row.category_code = spec.category.clone();
                    row.definition = definition;
                    row.updated_at_us = self.now;
                    self.tx.update_product(&row).await?;
                    report.products.add(Outcome::Updated);
                }
                row
            }
        };
        let existing = latest_versions(self.tx.list_prices(self.tenant, &row.id).await?);
        for price in &spec.prices {
            let code = price.code.clone().unwrap_or_default();
            let json = to_json(price)?;
            let version = match existing.iter().find(|r| r.code == code) {
                Some(r) if r.definition == json => {
                    report.prices.add(Outcome::Unchanged);
                    continue;
                }
                Some(r) => {
                    report.prices.add(Outcome::Updated);
                    r.version + 1
                }
                None => {
                    report.prices.add(Outcome::Created);
                    1
                }
            };
            let amount = match &price.model {
                Some(ModelSpec::PerUnit { unit_amount }) => unit_amount.clone(),
                Some(ModelSpec::Flat { amount }) => amount.clone(),
                _ => "0".into(),
            };
            self.tx
                .insert_price(&PriceRow {
                    id: new_id("pri"),
                    tenant_id: self.tenant.to_string(),
                    product_id: row.id.clone(),
                    currency: price.currency.clone(),
                    amount,
                    period: price.period.clone().unwrap_or_default(),
                    timing: price.timing.clone().unwrap_or_else(|| "in_advance".into()),
                    created_at_us: self.now,
                    code,
                    version,
                    effective_from: price.effective_from.map(|d| d.to_string()),
                    price_type: code_of(&price.price_type.unwrap_or(PriceTypeCode::Recurring)),
                    price_book: price.price_book.clone(),
                    definition: json,
                })
                .await?;
        }
        Ok(row)
    }
}

impl App {
    pub(super) async fn checked(
        &self,
        tx: &mut Tx,
        tenant: &str,
        doc: &CatalogDocument,
    ) -> AppResult<Checked> {
        let known = known(tx, tenant).await?;
        let checked = check(doc, &known).map_err(invalid_catalog)?;
        if let Some(rules) = &checked.document.change_rules {
            // A rule may name a product or price book the same document brings.
            let d = &checked.document;
            check_rules(
                rules,
                "change_rules",
                |c| known.products.contains_key(c) || d.products.iter().any(|p| p.code == c),
                |b| known.price_books.contains_key(b) || d.price_books.iter().any(|p| p.code == b),
            )?;
        }
        Ok(checked)
    }

    /// Applies a catalog document atomically: all of it, or (on any problem) none of it.
    /// Entries are matched by code; changed prices get a new version.
    pub async fn import_catalog(
        &self,
        p: &Principal,
        doc: CatalogDocument,
        dry_run: bool,
    ) -> AppResult<ImportReport> {
        p.require(Action::WriteCatalog)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let checked = self.checked(&mut tx, tenant, &doc).await?;
        let now = to_us(self.tenant_now(&mut tx, tenant).await?);
        let mut report = ImportReport {
            dry_run,
            ..Default::default()
        };
        let doc = checked.document;

        let categories: HashMap<String, CategoryRow> = tx
            .list_categories(tenant)
            .await?
            .into_iter()
            .map(|c| (c.code.clone(), c))
            .collect();
        for c in &doc.categories {
            let outcome = match categories.get(&c.code) {
                None => Outcome::Created,
                Some(row) if row.name == c.name && row.parent_code == c.parent => {
                    Outcome::Unchanged
                }
                Some(_) => Outcome::Updated,
            };
            report.categories.add(outcome);
            if outcome != Outcome::Unchanged {
                tx.upsert_category(&CategoryRow {
                    id: new_id("cat"),
                    tenant_id: tenant.to_string(),
                    code: c.code.clone(),
                    name: c.name.clone(),
                    parent_code: c.parent.clone(),
                    updated_at_us: now,
                })
                .await?;
            }
        }
        let books: HashMap<String, PriceBookRow> = tx
            .list_price_books(tenant)
            .await?
            .into_iter()
            .map(|b| (b.code.clone(), b))
            .collect();
        for b in &doc.price_books {
            let outcome = match books.get(&b.code) {
                None => Outcome::Created,
                Some(row)
                    if row.name == b.name
                        && row.currency == b.currency
                        && row.segment == b.segment =>
                {
                    Outcome::Unchanged
                }
                Some(_) => Outcome::Updated,
            };
            report.price_books.add(outcome);
            if outcome != Outcome::Unchanged {
                tx.upsert_price_book(&PriceBookRow {
                    id: new_id("pbk"),
                    tenant_id: tenant.to_string(),
                    code: b.code.clone(),
                    name: b.name.clone(),
                    currency: b.currency.clone(),
                    segment: b.segment.clone(),
                    updated_at_us: now,
                })
                .await?;
            }
        }
        let metrics: HashMap<String, DefinitionRow> = tx
            .list_definitions(DefinitionTable::Metrics, tenant)
            .await?
            .into_iter()
            .map(|m| (m.code.clone(), m))
            .collect();
        let terms: HashMap<String, DefinitionRow> = tx
            .list_definitions(DefinitionTable::Terms, tenant)
            .await?
            .into_iter()
            .map(|t| (t.code.clone(), t))
            .collect();
        let mut w = Writer {
            tx: &mut tx,
            tenant,
            now,
        };
        for m in &doc.metrics {
            let o = w
                .definition(
                    DefinitionTable::Metrics,
                    "met",
                    &m.code,
                    &m.name,
                    to_json(m)?,
                    &metrics,
                )
                .await?;
            report.metrics.add(o);
        }
        for t in &doc.terms {
            let o = w
                .definition(
                    DefinitionTable::Terms,
                    "trm",
                    &t.code,
                    &t.name,
                    to_json(t)?,
                    &terms,
                )
                .await?;
            report.terms.add(o);
        }
        for prod in &doc.products {
            w.product(prod, &mut report).await?;
        }
        if let Some(rules) = &doc.change_rules {
            let outcome = match stored_rules(&mut tx, tenant).await? {
                None => Outcome::Created,
                Some(old) if old.rules == *rules => Outcome::Unchanged,
                Some(_) => Outcome::Updated,
            };
            report.change_rules.add(outcome);
            if outcome != Outcome::Unchanged {
                let rules = ChangeRules {
                    rules: rules.clone(),
                };
                store_rules(&mut tx, tenant, &rules, now).await?;
            }
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            emit(
                &mut tx,
                tenant,
                "catalog.imported",
                "catalog",
                tenant,
                &report,
                now,
            )
            .await?;
            tx.commit().await?;
        }
        Ok(report)
    }

    /// The tenant's whole catalog as a document (latest price versions), in code order.
    pub async fn export_catalog(&self, p: &Principal) -> AppResult<CatalogDocument> {
        self.read_catalog(p, true).await
    }

    /// The catalog document, with or without its products (the reference lists alone are
    /// cheap; products bring every price).
    pub(super) async fn read_catalog(
        &self,
        p: &Principal,
        with_products: bool,
    ) -> AppResult<CatalogDocument> {
        p.require(Action::Read)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.read().await?;
        let mut doc = CatalogDocument {
            categories: tx
                .list_categories(tenant)
                .await?
                .into_iter()
                .map(|c| CategorySpec {
                    code: c.code,
                    name: c.name,
                    parent: c.parent_code,
                })
                .collect(),
            ..Default::default()
        };
        for m in tx
            .list_definitions(DefinitionTable::Metrics, tenant)
            .await?
        {
            doc.metrics
                .push(serde_json::from_str(&m.definition).map_err(internal)?);
        }
        for t in tx.list_definitions(DefinitionTable::Terms, tenant).await? {
            doc.terms
                .push(serde_json::from_str(&t.definition).map_err(internal)?);
        }
        doc.price_books = tx
            .list_price_books(tenant)
            .await?
            .into_iter()
            .map(|b| PriceBookSpec {
                code: b.code,
                name: b.name,
                currency: b.currency,
                segment: b.segment,
            })
            .collect();
        let products = if with_products {
            tx.all_products(tenant).await?
        } else {
            Vec::new()
        };
        for row in products {
            let mut spec = product_spec_of(&row)?;
            for price in latest_versions(tx.list_prices(tenant, &row.id).await?) {
                spec.prices
                    .push(serde_json::from_str(&price.definition).map_err(internal)?);
            }
            doc.products.push(spec);
        }
        if with_products {
            doc.change_rules = stored_rules(&mut tx, tenant)
                .await?
                .map(|r| r.rules)
                .filter(|r| !r.is_empty());
        }
        tx.commit().await?;
        Ok(doc)
    }
}

//! The reference lists: metrics, terms, price books and categories, each read, put and
//! deleted by code.

use quoin_store::repo::CatalogTable;

use super::spec::*;
use super::stored::relative_to;
use crate::auth::{Action, Principal};
use crate::clock::to_us;
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::App;

impl App {
    pub async fn list_metrics(&self, p: &Principal) -> AppResult<Vec<MetricSpec>> {
        Ok(self.read_catalog(p, false).await?.metrics)
    }

    pub async fn list_terms(&self, p: &Principal) -> AppResult<Vec<TermSpec>> {
        Ok(self.read_catalog(p, false).await?.terms)
    }

    pub async fn list_price_books(&self, p: &Principal) -> AppResult<Vec<PriceBookSpec>> {
        Ok(self.read_catalog(p, false).await?.price_books)
    }

    pub async fn list_categories(&self, p: &Principal) -> AppResult<Vec<CategorySpec>> {
        Ok(self.read_catalog(p, false).await?.categories)
    }

    /// Creates or replaces one entry (metric, term, price book or category) by its code,
    /// with the same validation as a catalog import.
    pub async fn put_catalog_entry(
        &self,
        p: &Principal,
        code: &str,
        entry: CatalogEntry,
    ) -> AppResult<CatalogEntry> {
        let mut doc = CatalogDocument::default();
        let kind = entry.kind();
        let (list, entry_code) = match &entry {
            CatalogEntry::Metric(m) => ("metrics[0].", m.code.clone()),
            CatalogEntry::Term(t) => ("terms[0].", t.code.clone()),
            CatalogEntry::PriceBook(b) => ("price_books[0].", b.code.clone()),
            CatalogEntry::Category(c) => ("categories[0].", c.code.clone()),
        };
        if entry_code != code {
            return Err(AppError::invalid(
                "code",
                format!("must match the code in the path, `{code}`"),
            ));
        }
        match entry {
            CatalogEntry::Metric(m) => doc.metrics.push(m),
            CatalogEntry::Term(t) => doc.terms.push(t),
            CatalogEntry::PriceBook(b) => doc.price_books.push(b),
            CatalogEntry::Category(c) => doc.categories.push(c),
        }
        match self.import_catalog(p, doc, false).await {
            Err(e) => Err(relative_to(e, list)),
            Ok(_) => self.get_catalog_entry(p, kind, code).await,
        }
    }

    pub async fn get_catalog_entry(
        &self,
        p: &Principal,
        kind: CatalogEntryKind,
        code: &str,
    ) -> AppResult<CatalogEntry> {
        let doc = self.read_catalog(p, false).await?;
        let found = match kind {
            CatalogEntryKind::Metric => doc
                .metrics
                .into_iter()
                .find(|m| m.code == code)
                .map(CatalogEntry::Metric),
            CatalogEntryKind::Term => doc
                .terms
                .into_iter()
                .find(|t| t.code == code)
                .map(CatalogEntry::Term),
            CatalogEntryKind::PriceBook => doc
                .price_books
                .into_iter()
                .find(|b| b.code == code)
                .map(CatalogEntry::PriceBook),
            CatalogEntryKind::Category => doc
                .categories
                .into_iter()
                .find(|c| c.code == code)
                .map(CatalogEntry::Category),
        };
        found.ok_or_else(|| AppError::not_found(kind.resource(), code))
    }

    /// Deletes an entry that nothing refers to (409 naming the users otherwise).
    pub async fn delete_catalog_entry(
        &self,
        p: &Principal,
        kind: CatalogEntryKind,
        code: &str,
    ) -> AppResult<()> {
        p.require(Action::WriteCatalog)?;
        let doc = self.export_catalog(p).await?;
        let mut users: Vec<String> = Vec::new();
        for product in &doc.products {
            if kind == CatalogEntryKind::Category && product.category.as_deref() == Some(code) {
                users.push(product.code.clone());
            }
            for price in &product.prices {
                let uses = match kind {
                    CatalogEntryKind::Metric => price.metric.as_deref() == Some(code),
                    CatalogEntryKind::Term => price.term.as_deref() == Some(code),
                    CatalogEntryKind::PriceBook => price.price_book.as_deref() == Some(code),
                    CatalogEntryKind::Category => false,
                };
                if uses {
                    users.push(price.code.clone().unwrap_or_default());
                }
            }
        }
        // A rule naming a deleted book would fail the next import of this catalog's export.
        if kind == CatalogEntryKind::PriceBook {
            for (i, r) in doc.change_rules.iter().flatten().enumerate() {
                if [&r.from_price_book, &r.to_price_book]
                    .into_iter()
                    .any(|b| b.as_deref() == Some(code))
                {
                    users.push(format!("change rule {i}"));
                }
            }
        }
        if kind == CatalogEntryKind::Category {
            users.extend(
                doc.categories
                    .iter()
                    .filter(|c| c.parent.as_deref() == Some(code))
                    .map(|c| c.code.clone()),
            );
        }
        if !users.is_empty() {
            return Err(AppError::Conflict {
                code: "in_use",
                message: format!(
                    "{} `{code}` is used by {}",
                    kind.resource(),
                    users.join(", ")
                ),
            });
        }
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        if !tx.delete_catalog_entry(kind.table(), tenant, code).await? {
            return Err(AppError::not_found(kind.resource(), code));
        }
        let now = to_us(self.tenant_now(&mut tx, tenant).await?);
        let topic = format!("{}.deleted", kind.resource().replace(' ', "_"));
        emit(
            &mut tx,
            tenant,
            &topic,
            kind.resource(),
            code,
            &serde_json::json!({"code": code}),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// One entry of the catalog's reference lists.
#[derive(Debug, Clone, PartialEq)]
pub enum CatalogEntry {
    Metric(MetricSpec),
    Term(TermSpec),
    PriceBook(PriceBookSpec),
    Category(CategorySpec),
}

impl CatalogEntry {
    pub fn kind(&self) -> CatalogEntryKind {
        match self {
            CatalogEntry::Metric(_) => CatalogEntryKind::Metric,
            CatalogEntry::Term(_) => CatalogEntryKind::Term,
            CatalogEntry::PriceBook(_) => CatalogEntryKind::PriceBook,
            CatalogEntry::Category(_) => CatalogEntryKind::Category,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogEntryKind {
    Metric,
    Term,
    PriceBook,
    Category,
}

impl CatalogEntryKind {
    fn resource(self) -> &'static str {
        match self {
            CatalogEntryKind::Metric => "metric",
            CatalogEntryKind::Term => "term",
            CatalogEntryKind::PriceBook => "price book",
            CatalogEntryKind::Category => "category",
        }
    }

    fn table(self) -> CatalogTable {
        match self {
            CatalogEntryKind::Metric => CatalogTable::Metrics,
            CatalogEntryKind::Term => CatalogTable::Terms,
            CatalogEntryKind::PriceBook => CatalogTable::PriceBooks,
            CatalogEntryKind::Category => CatalogTable::Categories,
        }
    }
}

//! Accounts: business or person, hierarchy with a bill-to account, billing profile,
//! contacts and service locations.

use quoin_core::calendar::BillCycleDay;
use quoin_store::new_id;
use quoin_store::repo::{AccountFilter, InvoiceFilter};
use quoin_store::rows::{AccountRow, ContactRow, LocationRow};
use quoin_store::Tx;

use crate::auth::{Action, Principal};
use crate::clock::{from_us, to_us};
use crate::error::{AppError, AppResult};
use crate::events::emit;
use crate::model::*;
use crate::{validate, App};

/// How deep an account hierarchy may go; also stops a corrupted cycle from looping.
const MAX_DEPTH: usize = 32;

pub(crate) fn account_view(r: &AccountRow) -> AppResult<Account> {
    let bad = |what: &str| AppError::Internal(format!("account {} has stored {what}", r.id));
    Ok(Account {
        id: r.id.clone(),
        kind: match r.kind.as_str() {
            "business" => AccountKind::Business,
            "person" => AccountKind::Person,
            _ => return Err(bad("kind")),
        },
        name: r.name.clone(),
        email: r.email.clone(),
        external_id: r.external_id.clone(),
        parent_id: r.parent_id.clone(),
        bill_to_id: r.bill_to_id.clone(),
        ban: r.ban.clone(),
        status: r.status.clone(),
        billing: BillingProfile {
            currency: r.currency.clone(),
            bill_cycle_day: r.bill_cycle_day,
            alignment: match r.alignment.as_str() {
                "calendar" => AlignmentCode::Calendar,
                "anniversary" => AlignmentCode::Anniversary,
                _ => return Err(bad("alignment")),
            },
            payment_terms_days: r.payment_terms_days,
            time_zone: r.time_zone.clone(),
            proration: match r.proration.as_str() {
                "actual_days" => ProrationCode::ActualDays,
                "thirty_360" => ProrationCode::Thirty360,
                _ => return Err(bad("proration")),
            },
            termination_day: match r.termination_day.as_str() {
                "excluded" => TerminationDayCode::Excluded,
                "included" => TerminationDayCode::Included,
                _ => return Err(bad("termination_day")),
            },
        },
        created_at: from_us(r.created_at_us),
        updated_at: from_us(r.updated_at_us),
    })
}

fn contact_role_code(r: ContactRole) -> &'static str {
    match r {
        ContactRole::Primary => "primary",
        ContactRole::Billing => "billing",
        ContactRole::Technical => "technical",
        ContactRole::Other => "other",
    }
}

fn contact_view(r: &ContactRow) -> Contact {
    Contact {
        id: r.id.clone(),
        account_id: r.account_id.clone(),
        name: r.name.clone(),
        email: r.email.clone(),
        phone: r.phone.clone(),
        role: match r.role.as_str() {
            "primary" => ContactRole::Primary,
            "billing" => ContactRole::Billing,
            "technical" => ContactRole::Technical,
            _ => ContactRole::Other,
        },
    }
}

fn location_view(r: &LocationRow) -> Location {
    Location {
        id: r.id.clone(),
        account_id: r.account_id.clone(),
        label: r.label.clone(),
        line1: r.line1.clone(),
        line2: r.line2.clone(),
        city: r.city.clone(),
        region: r.region.clone(),
        postal_code: r.postal_code.clone(),
        country: r.country.clone(),
    }
}

fn contact_row(
    tenant: &str,
    account: &str,
    field: &str,
    c: &CreateContact,
    now: i64,
) -> AppResult<ContactRow> {
    Ok(ContactRow {
        id: new_id("con"),
        tenant_id: tenant.to_string(),
        account_id: account.to_string(),
        name: validate::text(&format!("{field}.name"), &c.name, 200)?,
        email: validate::email(&format!("{field}.email"), &c.email)?,
        phone: validate::optional_text(&format!("{field}.phone"), &c.phone, 40)?,
        role: contact_role_code(c.role.unwrap_or(ContactRole::Primary)).to_string(),
        created_at_us: now,
    })
}

fn location_row(
    tenant: &str,
    account: &str,
    field: &str,
    l: &CreateLocation,
    now: i64,
) -> AppResult<LocationRow> {
    let country = l.country.trim().to_string();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(AppError::invalid(
            format!("{field}.country"),
            format!(
                "`{}` is not an ISO 3166-1 alpha-2 code such as US",
                l.country
            ),
        ));
    }
    Ok(LocationRow {
        id: new_id("loc"),
        tenant_id: tenant.to_string(),
        account_id: account.to_string(),
        label: validate::text(&format!("{field}.label"), &l.label, 200)?,
        line1: validate::text(&format!("{field}.line1"), &l.line1, 200)?,
        line2: validate::optional_text(&format!("{field}.line2"), &l.line2, 200)?,
        city: validate::text(&format!("{field}.city"), &l.city, 100)?,
        region: validate::optional_text(&format!("{field}.region"), &l.region, 100)?,
        postal_code: validate::optional_text(&format!("{field}.postal_code"), &l.postal_code, 20)?,
        country,
        created_at_us: now,
    })
}

fn payment_terms(days: i64) -> AppResult<i64> {
    if (0..=365).contains(&days) {
        Ok(days)
    } else {
        Err(AppError::invalid(
            "billing.payment_terms_days",
            format!("must be between 0 and 365 days, got {days}"),
        ))
    }
}

fn bill_cycle_day(day: i64) -> AppResult<BillCycleDay> {
    BillCycleDay::new(day).map_err(|e| AppError::invalid("billing.bill_cycle_day", e.to_string()))
}

fn alignment_code(a: AlignmentCode) -> &'static str {
    match a {
        AlignmentCode::Calendar => "calendar",
        AlignmentCode::Anniversary => "anniversary",
    }
}

fn proration_code(p: ProrationCode) -> &'static str {
    match p {
        ProrationCode::ActualDays => "actual_days",
        ProrationCode::Thirty360 => "thirty_360",
    }
}

fn termination_day_code(t: TerminationDayCode) -> &'static str {
    match t {
        TerminationDayCode::Excluded => "excluded",
        TerminationDayCode::Included => "included",
    }
}

/// Loads an account for a read-modify-write (row-locked on PostgreSQL) or answers 404.
pub(crate) async fn lock_account(tx: &mut Tx, tenant: &str, id: &str) -> AppResult<AccountRow> {
    tx.lock_account(tenant, id)
        .await?
        .ok_or_else(|| AppError::not_found("account", id))
}

/// Loads an account of the caller's tenant or answers 404.
pub(crate) async fn load_account(tx: &mut Tx, tenant: &str, id: &str) -> AppResult<AccountRow> {
    tx.get_account(tenant, id)
        .await?
        .ok_or_else(|| AppError::not_found("account", id))
}

impl App {
    pub async fn create_account(&self, p: &Principal, input: CreateAccount) -> AppResult<Account> {
        p.require(Action::WriteAccounts)?;
        let tenant = p.tenant_id.as_str();
        let name = validate::text("name", &input.name, 200)?;
        let email = validate::email("email", &input.email)?;
        let external_id = input
            .external_id
            .as_deref()
            .map(|e| validate::code("external_id", e))
            .transpose()?;
        let b = &input.billing;
        let currency = validate::currency("billing.currency", &b.currency)?;
        let bcd = b.bill_cycle_day.map(bill_cycle_day).transpose()?;
        let terms = payment_terms(b.payment_terms_days.unwrap_or(30))?;

        let mut tx = self.store.begin().await?;
        let tenant_row = tx
            .get_tenant(tenant)
            .await?
            .ok_or_else(|| AppError::not_found("tenant", tenant))?;
        let time_zone = match &b.time_zone {
            Some(tz) => {
                validate::time_zone("billing.time_zone", tz)?;
                tz.clone()
            }
            None => tenant_row.time_zone.clone(),
        };
        let id = new_id("acc");
        // The parent chain, nearest first; bill-to must be this account or one of these.
        let mut ancestors: Vec<AccountRow> = Vec::new();
        if let Some(parent_id) = &input.parent_id {
            let mut next = tx.get_account(tenant, parent_id).await?;
            if next.is_none() {
                return Err(AppError::invalid(
                    "parent_id",
                    format!("no account `{parent_id}`"),
                ));
            }
            while let Some(a) = next {
                if ancestors.len() >= MAX_DEPTH {
                    return Err(AppError::invalid(
                        "parent_id",
                        format!("hierarchy deeper than {MAX_DEPTH}"),
                    ));
                }
                next = match &a.parent_id {
                    Some(pid) => tx.get_account(tenant, pid).await?,
                    None => None,
                };
                ancestors.push(a);
            }
        }
        let bill_to_id = match &input.bill_to_id {
            None => id.clone(),
            Some(bt) => {
                let payer = ancestors.iter().find(|a| &a.id == bt).ok_or_else(|| {
                    AppError::invalid(
                        "bill_to_id",
                        format!("`{bt}` is not an ancestor of this account"),
                    )
                })?;
                if payer.currency != currency.code() {
                    return Err(AppError::Invalid {
                        code: "currency_mismatch",
                        field: Some("billing.currency".into()),
                        message: format!(
                            "bill-to account `{bt}` bills in {}, this account in {currency}",
                            payer.currency
                        ),
                    });
                }
                bt.clone()
            }
        };
        let now = to_us(self.now_of(&tenant_row));
        let contacts = input
            .contacts
            .iter()
            .enumerate()
            .map(|(i, c)| contact_row(tenant, &id, &format!("contacts[{i}]"), c, now))
            .collect::<AppResult<Vec<_>>>()?;
        let locations = input
            .locations
            .iter()
            .enumerate()
            .map(|(i, l)| location_row(tenant, &id, &format!("locations[{i}]"), l, now))
            .collect::<AppResult<Vec<_>>>()?;
        if let Some(ext) = &external_id {
            let f = AccountFilter {
                external_id: Some(ext.clone()),
                ..Default::default()
            };
            if !tx
                .list_accounts(tenant, &f, None, 1)
                .await?
                .items
                .is_empty()
            {
                return Err(AppError::Conflict {
                    code: "external_id_taken",
                    message: format!("an account with external_id `{ext}` exists"),
                });
            }
        }
        let seq = tx.next_sequence_value(tenant, "ban", 100_000_001).await?;
        let row = AccountRow {
            id: id.clone(),
            tenant_id: tenant.to_string(),
            kind: match input.kind {
                AccountKind::Business => "business",
                AccountKind::Person => "person",
            }
            .into(),
            name,
            email,
            external_id,
            parent_id: input.parent_id.clone(),
            bill_to_id,
            ban: validate::with_luhn(&seq.to_string()),
            currency: currency.code().to_string(),
            bill_cycle_day: bcd.map(|d| i64::from(d.get())),
            alignment: alignment_code(b.alignment.unwrap_or(AlignmentCode::Calendar)).into(),
            proration: proration_code(b.proration.unwrap_or(ProrationCode::ActualDays)).into(),
            payment_terms_days: terms,
            time_zone,
            status: "active".into(),
            created_at_us: now,
            updated_at_us: now,
            termination_day: termination_day_code(
                b.termination_day.unwrap_or(TerminationDayCode::Excluded),
            )
            .into(),
        };
        tx.insert_account(&row).await?;
        for c in &contacts {
            tx.insert_contact(c).await?;
        }
        for l in &locations {
            tx.insert_location(l).await?;
        }
        let view = account_view(&row)?;
        emit(
            &mut tx,
            tenant,
            "account.created",
            "account",
            &id,
            &view,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn update_account(
        &self,
        p: &Principal,
        id: &str,
        input: UpdateAccount,
    ) -> AppResult<Account> {
        p.require(Action::WriteAccounts)?;
        let tenant = p.tenant_id.as_str();
        let mut tx = self.store.begin().await?;
        let mut row = lock_account(&mut tx, tenant, id).await?;
        if let Some(name) = &input.name {
            row.name = validate::text("name", name, 200)?;
        }
        if let Some(email) = &input.email {
            row.email = if email.trim().is_empty() {
                None
            } else {
                validate::email("email", &Some(email.clone()))?
            };
        }
        if let Some(ext) = &input.external_id {
            let ext = validate::code("external_id", ext)?;
            let f = AccountFilter {
                external_id: Some(ext.clone()),
                ..Default::default()
            };
            let taken = tx.list_accounts(tenant, &f, None, 1).await?;
            if taken.items.iter().any(|a| a.id != row.id) {
                return Err(AppError::Conflict {
                    code: "external_id_taken",
                    message: format!("an account with external_id `{ext}` exists"),
                });
            }
            row.external_id = Some(ext);
        }
        if let Some(b) = &input.billing {
            if let Some(d) = b.payment_terms_days {
                row.payment_terms_days = payment_terms(d)?;
            }
            if let Some(tz) = &b.time_zone {
                validate::time_zone("billing.time_zone", tz)?;
                row.time_zone = tz.clone();
            }
            let cycle_change = b.bill_cycle_day.is_some()
                || b.alignment.is_some()
                || b.proration.is_some()
                || b.termination_day.is_some();
            if cycle_change {
                let invoices = InvoiceFilter {
                    account_id: Some(row.id.clone()),
                    status: None,
                };
                let billed = !tx
                    .subscriptions_billed_to(tenant, &row.id)
                    .await?
                    .is_empty()
                    || !tx
                        .list_invoices(tenant, &invoices, None, 1)
                        .await?
                        .items
                        .is_empty();
                if billed {
                    return Err(AppError::Conflict {
                        code: "billing_cycle_locked",
                        message: "the bill cycle day, alignment, proration and termination day of an account with subscriptions or invoices cannot change".into(),
                    });
                }
                if let Some(d) = b.bill_cycle_day {
                    row.bill_cycle_day = Some(i64::from(bill_cycle_day(d)?.get()));
                }
                if let Some(a) = b.alignment {
                    row.alignment = alignment_code(a).into();
                }
                if let Some(pr) = b.proration {
                    row.proration = proration_code(pr).into();
                }
                if let Some(t) = b.termination_day {
                    row.termination_day = termination_day_code(t).into();
                }
            }
        }
        row.updated_at_us = to_us(self.tenant_now(&mut tx, tenant).await?);
        tx.update_account(&row).await?;
        let view = account_view(&row)?;
        emit(
            &mut tx,
            tenant,
            "account.updated",
            "account",
            id,
            &view,
            row.updated_at_us,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn get_account(&self, p: &Principal, id: &str) -> AppResult<Account> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        let row = load_account(&mut tx, &p.tenant_id, id).await?;
        tx.commit().await?;
        account_view(&row)
    }

    pub async fn list_accounts(
        &self,
        p: &Principal,
        filter: AccountFilter,
        page: &ListParams,
    ) -> AppResult<AccountPage> {
        p.require(Action::Read)?;
        let limit = page.limit()?;
        let mut tx = self.store.read().await?;
        let rows = tx
            .list_accounts(&p.tenant_id, &filter, page.cursor.as_deref(), limit)
            .await?;
        tx.commit().await?;
        Ok(AccountPage {
            data: rows
                .items
                .iter()
                .map(account_view)
                .collect::<AppResult<_>>()?,
            next_cursor: rows.next_cursor,
        })
    }

    pub async fn add_contact(
        &self,
        p: &Principal,
        account: &str,
        input: CreateContact,
    ) -> AppResult<Contact> {
        p.require(Action::WriteAccounts)?;
        let mut tx = self.store.begin().await?;
        load_account(&mut tx, &p.tenant_id, account).await?;
        let now = to_us(self.tenant_now(&mut tx, &p.tenant_id).await?);
        let row = contact_row(&p.tenant_id, account, "contact", &input, now)?;
        tx.insert_contact(&row).await?;
        let view = contact_view(&row);
        emit(
            &mut tx,
            &p.tenant_id,
            "account.contact_added",
            "account",
            account,
            &view,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn list_contacts(&self, p: &Principal, account: &str) -> AppResult<Vec<Contact>> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        load_account(&mut tx, &p.tenant_id, account).await?;
        let rows = tx.list_contacts(&p.tenant_id, account).await?;
        tx.commit().await?;
        Ok(rows.iter().map(contact_view).collect())
    }

    pub async fn add_location(
        &self,
        p: &Principal,
        account: &str,
        input: CreateLocation,
    ) -> AppResult<Location> {
        p.require(Action::WriteAccounts)?;
        let mut tx = self.store.begin().await?;
        load_account(&mut tx, &p.tenant_id, account).await?;
        let now = to_us(self.tenant_now(&mut tx, &p.tenant_id).await?);
        let row = location_row(&p.tenant_id, account, "location", &input, now)?;
        tx.insert_location(&row).await?;
        let view = location_view(&row);
        emit(
            &mut tx,
            &p.tenant_id,
            "account.location_added",
            "account",
            account,
            &view,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn list_locations(&self, p: &Principal, account: &str) -> AppResult<Vec<Location>> {
        p.require(Action::Read)?;
        let mut tx = self.store.read().await?;
        load_account(&mut tx, &p.tenant_id, account).await?;
        let rows = tx.list_locations(&p.tenant_id, account).await?;
        tx.commit().await?;
        Ok(rows.iter().map(location_view).collect())
    }
}

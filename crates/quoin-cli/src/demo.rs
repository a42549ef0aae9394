//! `quoin demo`: a demo tenant of a broadband provider with a few accounts whose
//! subscriptions are billed over six simulated months on the tenant's test clock.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use jiff::civil::date;
use quoin_app::catalog::format::{parse, Format};
use quoin_app::model::*;
use quoin_app::{App, Mode, Principal, SystemClock};
use quoin_store::Store;

struct DemoAccount {
    name: &'static str,
    kind: AccountKind,
    bcd: Option<i64>,
    alignment: AlignmentCode,
    /// (product code, start date as (month, day) in 2025)
    services: &'static [(&'static str, (i8, i8))],
}

/// The example catalogs shipped in the repository.
pub const BROADBAND_CATALOG: &str = include_str!("../../../examples/catalogs/broadband.yaml");
pub const SAAS_CATALOG: &str = include_str!("../../../examples/catalogs/saas.yaml");

/// Demo catalog products sold as add-ons to a base service.
const ADD_ONS: &[&str] = &["router-rental", "static-ip"];

const ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        name: "Jane Doe",
        kind: AccountKind::Person,
        bcd: Some(1),
        alignment: AlignmentCode::Calendar,
        services: &[("fiber-100", (1, 10)), ("router-rental", (1, 10))],
    },
    DemoAccount {
        name: "Acme Corporation",
        kind: AccountKind::Business,
        bcd: Some(15),
        alignment: AlignmentCode::Calendar,
        services: &[("fiber-1000", (1, 3)), ("static-ip", (2, 20))],
    },
    DemoAccount {
        name: "Riverside Cafe",
        kind: AccountKind::Business,
        bcd: None,
        alignment: AlignmentCode::Calendar,
        services: &[("business-fiber-annual", (1, 17))],
    },
    DemoAccount {
        name: "Bob Smith",
        kind: AccountKind::Person,
        bcd: None,
        alignment: AlignmentCode::Anniversary,
        services: &[("fiber-100", (3, 31))],
    },
];

fn account_input(a: &DemoAccount, parent: Option<&str>) -> CreateAccount {
    CreateAccount {
        kind: a.kind,
        name: a.name.to_string(),
        email: Some(format!(
            "{}@example.com",
            a.name.to_lowercase().replace(' ', ".")
        )),
        external_id: None,
        parent_id: parent.map(str::to_string),
        bill_to_id: parent.map(str::to_string),
        billing: BillingProfileInput {
            currency: "USD".into(),
            bill_cycle_day: a.bcd,
            alignment: Some(a.alignment),
            payment_terms_days: Some(14),
            time_zone: None,
            proration: None,
            termination_day: None,
        },
        contacts: vec![CreateContact {
            name: a.name.to_string(),
            email: None,
            phone: Some("+1 555 0100".into()),
            role: Some(ContactRole::Billing),
        }],
        locations: vec![CreateLocation {
            label: "Service address".into(),
            line1: "100 Main Street".into(),
            line2: None,
            city: "Springfield".into(),
            region: Some("IL".into()),
            postal_code: Some("62701".into()),
            country: "US".into(),
        }],
    }
}

/// Builds the demo tenant and returns it with the admin key.
pub async fn seed(app: &App) -> anyhow::Result<(Principal, String, usize)> {
    let tenant = app
        .create_tenant("Demo Broadband", "America/Chicago")
        .await?;
    let p = app.operator(&tenant.tenant_id).await?;
    app.set_test_clock(
        &p,
        SetTestClock {
            now: "2025-01-01T12:00:00Z".parse()?,
        },
    )
    .await?;

    let catalog = parse(BROADBAND_CATALOG, Format::Yaml)?;
    app.import_catalog(&p, catalog, false).await?;
    // Price ids by product code (each demo product has one recurring price).
    let mut prices = std::collections::HashMap::new();
    let page = app
        .list_products(
            &p,
            &ListParams {
                limit: Some(200),
                cursor: None,
            },
        )
        .await?;
    for product in page.data {
        if let Some(price) = product
            .prices
            .iter()
            .find(|pr| pr.period.is_some() && pr.amount.is_some())
        {
            prices.insert(product.code.clone(), price.id.clone());
        }
    }
    let mut subscriptions: Vec<(CreateSubscription, bool)> = Vec::new();
    for a in ACCOUNTS {
        let account = app.create_account(&p, account_input(a, None)).await?;
        for (code, (m, d)) in a.services {
            // Add-ons hang off the account's first (base) service.
            let add_on = ADD_ONS.contains(code);
            subscriptions.push((
                CreateSubscription::new(
                    account.id.clone(),
                    prices[*code].clone(),
                    date(2025, *m, *d),
                ),
                add_on,
            ));
        }
        if a.name == "Acme Corporation" {
            // A branch office served on its own line, invoiced to the head office.
            let branch = DemoAccount {
                name: "Acme West Branch",
                kind: AccountKind::Business,
                bcd: Some(15),
                alignment: AlignmentCode::Calendar,
                services: &[],
            };
            let b = app
                .create_account(&p, account_input(&branch, Some(&account.id)))
                .await?;
            subscriptions.push((
                CreateSubscription {
                    quantity: Some("2".into()),
                    ..CreateSubscription::new(b.id, prices["fiber-100"].clone(), date(2025, 4, 2))
                },
                false,
            ));
        }
    }
    let mut base: Option<(String, String)> = None;
    for (mut s, add_on) in subscriptions {
        if add_on {
            s.parent_id = base
                .as_ref()
                .filter(|(account, _)| *account == s.account_id)
                .map(|(_, id)| id.clone());
        }
        let account = s.account_id.clone();
        let created = app.create_subscription(&p, s).await?;
        if !add_on {
            base = Some((account, created.id));
        }
    }
    // Walk the clock month by month so each cycle is billed when it falls due.
    let mut invoices = 0;
    for month in 1..=6 {
        let to = date(2025, month, 28)
            .at(12, 0, 0, 0)
            .to_zoned(jiff::tz::TimeZone::UTC)?
            .timestamp();
        let r = app
            .advance_test_clock(
                &p,
                AdvanceTestClock {
                    to: Some(to),
                    days: None,
                },
            )
            .await?;
        anyhow::ensure!(r.errors.is_empty(), "demo billing failed: {:?}", r.errors);
        invoices += r.invoices.len();
    }
    Ok((p, tenant.admin_key.key, invoices))
}

pub async fn run(dir: &Path, listen: &str, no_serve: bool) -> anyhow::Result<()> {
    let db = dir.join("quoin.db");
    for suffix in ["", "-wal", "-shm"] {
        let mut f = db.clone().into_os_string();
        f.push(suffix);
        let _ = std::fs::remove_file(f);
    }
    let store = Store::open_sqlite(&db)
        .await
        .with_context(|| format!("cannot create the demo database in {}", dir.display()))?;
    store.migrate().await?;
    let app = App::new(store, Arc::new(SystemClock), Mode::Development);
    let (p, key, invoices) = seed(&app).await?;
    let saas = app.create_tenant("Demo SaaS", "Europe/Berlin").await?;
    let saas_admin = app.operator(&saas.tenant_id).await?;
    app.import_catalog(&saas_admin, parse(SAAS_CATALOG, Format::Yaml)?, false)
        .await?;
    let url = format!("http://{listen}");
    println!("Quoin demo: tenant \"Demo Broadband\" with 5 accounts, {invoices} invoices over Jan–Jun 2025 (test clock).");
    println!("  tenant:   {} (pass --tenant to the CLI)", p.tenant_id);
    println!("  data:     {}", db.display());
    println!("  URL:      {url}");
    println!("  API key:  {key}");
    println!(
        "  (a second tenant, \"Demo SaaS\", holds the SaaS example catalog; its key: {})",
        saas.admin_key.key
    );
    println!();
    println!("Try:");
    println!("  curl -H 'Authorization: Bearer {key}' {url}/v1/accounts");
    println!("  curl -H 'Authorization: Bearer {key}' '{url}/v1/invoices?limit=3'");
    println!("  curl -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' -X POST {url}/v1/test-clock/advance -d '{{\"days\": 31}}'");
    println!("  OpenAPI:  {url}/v1/openapi.json");
    if no_serve {
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}: pass --listen 127.0.0.1:PORT"))?;
    println!("\nServing; Ctrl-C to stop.");
    quoin_server::serve(app, listener).await?;
    Ok(())
}

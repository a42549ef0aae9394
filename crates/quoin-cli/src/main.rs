//! `quoin`: the Quoin server and its operator commands.

mod bench;
mod config;
mod demo;
mod ingest_bench;
mod payments;
mod runs;
mod usage;
mod usage_query_bench;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use jiff::civil::Date;
use quoin_app::model::{
    AccountKind, AlignmentCode, BillRequest, BillingProfileInput, CreateAccount, ListParams,
};
use quoin_app::{App, Principal, SystemClock};
use quoin_store::repo::AccountFilter;
use quoin_store::Store;

use config::Config;

#[derive(Parser)]
#[command(
    name = "quoin",
    version,
    about = "Quoin: lead-to-cash for subscription service providers"
)]
struct Cli {
    /// Configuration file (default: ./quoin.toml when present).
    #[arg(long, global = true, env = "QUOIN_CONFIG")]
    config: Option<PathBuf>,
    /// PostgreSQL URL (postgres://…); without it Quoin uses SQLite in the data directory.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Data directory for the embedded SQLite store.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API.
    Serve {
        /// Address to bind, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<String>,
        /// Also consume usage events from this NATS server (JetStream; subjects
        /// `quoin.usage.<tenant id>`). Same as QUOIN_NATS_URL / `nats_url`.
        #[arg(long)]
        nats_url: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Create a demo tenant with accounts billed over simulated months, print the URL and an
    /// API key, and serve. Uses its own data directory, recreated on every run.
    Demo {
        #[arg(long, default_value = "quoin-demo")]
        dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Prepare the data and print the key, but do not serve.
        #[arg(long)]
        no_serve: bool,
    },
    /// Tenants (operator commands).
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Accounts of a tenant.
    #[command(subcommand)]
    Accounts(AccountsCmd),
    /// Bill one account for everything due by a date.
    Bill {
        #[arg(long, env = "QUOIN_TENANT")]
        tenant: Option<String>,
        #[arg(long)]
        account: String,
        /// Bill what is due on this date (YYYY-MM-DD); default today in the account's zone.
        #[arg(long)]
        as_of: Option<Date>,
        /// Finalize (number) the invoices.
        #[arg(long)]
        finalize: bool,
    },
    /// The product catalog as code (YAML or JSON).
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// Print the OpenAPI document.
    Openapi,
    /// Usage events.
    #[command(subcommand)]
    Usage(UsageCmd),
    /// Payments received.
    #[command(subcommand)]
    Payments(PaymentsCmd),
    /// Invoice runs: billing the whole population in resumable chunks.
    #[command(subcommand)]
    Runs(runs::RunsCmd),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCmd),
}

#[derive(Subcommand)]
enum UsageCmd {
    /// Ingest events from a .csv (id, subscription, item_key, metric, timestamp, quantity;
    /// other columns become properties) or .ndjson file, reporting each rejected row.
    Import {
        file: PathBuf,
        #[arg(long, env = "QUOIN_TENANT")]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum PaymentsCmd {
    /// Record payments from a CSV file (columns: account_id or account_number, amount,
    /// currency, received_on, method, reference, invoice_number). Valid rows are recorded;
    /// invalid ones are reported with row, field and reason (exit status 2 when any).
    Import {
        file: PathBuf,
        #[arg(long, env = "QUOIN_TENANT")]
        tenant: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Exactly-once ingestion in process and over HTTP on loopback, each next to a plain
    /// batched INSERT of the same rows, in a fresh tenant of the configured store (use a
    /// scratch --data-dir or --database-url).
    Ingest {
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Events per batch.
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
        /// Batches per transaction (group commit).
        #[arg(long, default_value_t = 10)]
        group: usize,
        /// Events sent over HTTP (0: skip the HTTP run).
        #[arg(long, default_value_t = 200_000)]
        http_events: usize,
        /// Events per HTTP request.
        #[arg(long, default_value_t = 1_000)]
        http_batch: usize,
        /// Concurrent keep-alive HTTP connections.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Events the in-process raw baseline writes (default: as many as --events); the
        /// ratio compares rates.
        #[arg(long)]
        baseline_events: Option<usize>,
        /// Print RSS and peak RSS each time this many more events are stored (0: never).
        #[arg(long, default_value_t = 10_000_000)]
        rss_every: usize,
        /// Only create the bench tenant (metric `calls`, item key `bench-item`) and print
        /// its id and admin key.
        #[arg(long)]
        setup_only: bool,
    },
    /// Store N events for a population of subscriptions with usage items (in-process
    /// exactly-once path), then time the current-usage query (`GET
    /// /v1/subscriptions/{id}/usage`) on random subscriptions, in process and over HTTP.
    UsageQuery {
        #[arg(long, default_value_t = 50_000_000)]
        events: usize,
        /// Subscriptions, each with three usage items (calls, data_mb, sms).
        #[arg(long, default_value_t = 10_000)]
        subscriptions: usize,
        /// Events per batch.
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
        /// Batches per transaction.
        #[arg(long, default_value_t = 50)]
        group: usize,
        /// Timed in-process queries.
        #[arg(long, default_value_t = 10_000)]
        queries: usize,
        /// Timed HTTP queries over one loopback keep-alive connection (0: skip).
        #[arg(long, default_value_t = 10_000)]
        http_queries: usize,
        /// The order events are stored in (same stored data either way).
        #[arg(long, value_enum, default_value = "subscription")]
        order: usage_query_bench::Order,
        /// Only query the tenant an earlier run populated in the same data dir.
        #[arg(long)]
        reuse_tenant: Option<String>,
    },
    /// Generate N subscriptions in a new tenant, run one invoice run, report throughput.
    InvoiceRun {
        #[arg(long, default_value_t = 100_000)]
        subscriptions: usize,
        /// Accounts per run transaction.
        #[arg(long)]
        chunk: Option<i64>,
        /// Only generate the data and print the tenant id.
        #[arg(long)]
        generate_only: bool,
    },
}

#[derive(Subcommand)]
enum CatalogCmd {
    /// Validate and apply a catalog file atomically (entries matched by code; a changed
    /// price becomes a new version).
    Import {
        /// A .yaml/.yml or .json file.
        file: PathBuf,
        /// Check the file and report what would change, writing nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, env = "QUOIN_TENANT")]
        tenant: Option<String>,
    },
    /// Print the whole catalog (latest price versions) to standard output.
    Export {
        /// yaml or json
        #[arg(long, default_value = "yaml")]
        format: String,
        #[arg(long, env = "QUOIN_TENANT")]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum TenantCmd {
    /// Create a tenant and print its admin API key (shown once).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "UTC")]
        time_zone: String,
    },
    List,
}

#[derive(Subcommand)]
enum AccountsCmd {
    Create {
        #[arg(long, env = "QUOIN_TENANT")]
        tenant: Option<String>,
        #[arg(long)]
        name: String,
        /// business or person
        #[arg(long, default_value = "business")]
        kind: String,
        #[arg(long, default_value = "USD")]
        currency: String,
        /// Bill cycle day 1–31.
        #[arg(long)]
        bcd: Option<i64>,
        /// calendar or anniversary
        #[arg(long, default_value = "calendar")]
        alignment: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        parent: Option<String>,
    },
    List {
        #[arg(long, env = "QUOIN_TENANT")]
        tenant: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    Show {
        #[arg(long, env = "QUOIN_TENANT")]
        tenant: Option<String>,
        id: String,
    },
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

async fn open_app(cfg: &Config) -> anyhow::Result<App> {
    let url = cfg.store_url();
    let store = Store::open(&url)
        .await
        .with_context(|| format!("cannot open the store at {url}"))?;
    store.migrate().await.context("migrating the database")?;
    Ok(App::new(store, Arc::new(SystemClock), cfg.mode()?))
}

/// The tenant to act on: the one named, or the only one there is.
async fn pick_tenant(app: &App, tenant: Option<String>) -> anyhow::Result<Principal> {
    let id = match tenant {
        Some(t) => t,
        None => {
            let tenants = app.list_tenants().await?;
            match tenants.as_slice() {
                [one] => one.id.clone(),
                [] => bail!("no tenant yet: create one with `quoin tenant create --name NAME`"),
                many => bail!(
                    "several tenants exist; pass --tenant (or QUOIN_TENANT) with one of: {}",
                    many.iter()
                        .map(|t| format!("{} ({})", t.id, t.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
    };
    Ok(app.operator(&id).await?)
}

#[cfg(feature = "nats")]
async fn start_nats(app: &App, cfg: &Config, url: String) -> anyhow::Result<()> {
    let nats = quoin_server::nats::NatsConfig {
        subject_prefix: cfg.nats_subject_prefix.clone(),
        stream: cfg.nats_stream.clone(),
        consumer: cfg.nats_consumer.clone(),
        ..quoin_server::nats::NatsConfig::new(url)
    };
    quoin_server::nats::start(app.clone(), nats).await?;
    Ok(())
}

#[cfg(not(feature = "nats"))]
async fn start_nats(_: &App, _: &Config, url: String) -> anyhow::Result<()> {
    anyhow::bail!(
        "NATS consumer requested ({url}) but this quoin was built without the `nats` feature"
    )
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(url) = cli.database_url {
        cfg.database_url = Some(url);
    }
    if let Some(dir) = cli.data_dir {
        cfg.data_dir = dir;
    }
    match cli.command {
        Command::Openapi => {
            print!("{}", quoin_server::openapi::document_json());
        }
        Command::Serve { listen, nats_url } => {
            init_tracing(&cfg.log);
            let listen = listen.unwrap_or_else(|| cfg.listen.clone());
            let app = open_app(&cfg).await?;
            if let Some(url) = nats_url.or_else(|| cfg.nats_url.clone()) {
                start_nats(&app, &cfg, url).await?;
            }
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| {
                    format!("cannot listen on {listen} (is another server running? use --listen)")
                })?;
            tracing::info!(url = %format!("http://{listen}"), backend = app.store().backend().name(), "Quoin is serving");
            quoin_server::serve(app, listener).await?;
        }
        Command::Migrate => {
            let app = open_app(&cfg).await?;
            println!(
                "migrated {} ({})",
                cfg.store_url(),
                app.store().backend().name()
            );
        }
        Command::Demo {
            dir,
            listen,
            no_serve,
        } => {
            init_tracing("warn");
            demo::run(&dir, &listen, no_serve).await?;
        }
        Command::Tenant(TenantCmd::Create { name, time_zone }) => {
            let app = open_app(&cfg).await?;
            let t = app.create_tenant(&name, &time_zone).await?;
            println!("tenant {} ({})", t.tenant_id, t.name);
            println!("admin API key (shown once): {}", t.admin_key.key);
        }
        Command::Tenant(TenantCmd::List) => {
            let app = open_app(&cfg).await?;
            for t in app.list_tenants().await? {
                println!(
                    "{}  {}  tz={}  clock={}",
                    t.id, t.name, t.time_zone, t.clock_mode
                );
            }
        }
        Command::Accounts(cmd) => accounts(&cfg, cmd).await?,
        Command::Usage(UsageCmd::Import { file, tenant }) => {
            let app = open_app(&cfg).await?;
            let p = pick_tenant(&app, tenant).await?;
            let r = usage::import(&app, &p, &file).await?;
            print_json(&r)?;
        }
        Command::Bench(BenchCmd::Ingest {
            events,
            batch,
            group,
            http_events,
            http_batch,
            clients,
            baseline_events,
            rss_every,
            setup_only,
        }) => {
            let app = open_app(&cfg).await?;
            let options = ingest_bench::BenchOptions {
                events,
                batch: batch.max(1),
                group: group.max(1),
                http_events,
                http_batch: http_batch.max(1),
                clients: clients.max(1),
                baseline_events,
                rss_every,
                setup_only,
            };
            ingest_bench::bench(&app, options).await?;
        }
        Command::Runs(cmd) => {
            let app = open_app(&cfg).await?;
            let p = pick_tenant(&app, cmd.tenant()).await?;
            runs::run(&app, &p, cmd).await?;
        }
        Command::Bench(BenchCmd::UsageQuery {
            events,
            subscriptions,
            batch,
            group,
            queries,
            http_queries,
            order,
            reuse_tenant,
        }) => {
            let app = open_app(&cfg).await?;
            let options = usage_query_bench::UsageQueryOptions {
                events,
                subscriptions,
                batch: batch.max(1),
                group: group.max(1),
                queries,
                http_queries,
                order,
                reuse_tenant,
            };
            usage_query_bench::bench(&app, options).await?;
        }
        Command::Bench(BenchCmd::InvoiceRun {
            subscriptions,
            chunk,
            generate_only,
        }) => {
            // Warnings name accounts that failed to bill; RUST_LOG shows more (e.g. statements).
            init_tracing("warn");
            let app = open_app(&cfg).await?;
            bench::invoice_run(&app, subscriptions, chunk, generate_only).await?;
        }
        Command::Catalog(cmd) => catalog(&cfg, cmd).await?,
        Command::Payments(PaymentsCmd::Import { file, tenant, json }) => {
            let app = open_app(&cfg).await?;
            let p = pick_tenant(&app, tenant).await?;
            if payments::import(&app, &p, &file, json).await? > 0 {
                std::process::exit(2);
            }
        }
        Command::Bill {
            tenant,
            account,
            as_of,
            finalize,
        } => {
            let app = open_app(&cfg).await?;
            let p = pick_tenant(&app, tenant).await?;
            let result = app
                .bill_account(
                    &p,
                    &account,
                    BillRequest {
                        as_of,
                        finalize: Some(finalize),
                    },
                )
                .await?;
            if result.invoices.is_empty() {
                eprintln!("nothing due for {account}");
            }
            print_json(&result)?;
        }
    }
    Ok(())
}

/// Prints every problem of a rejected catalog, one `path: message` per line.
fn report_catalog_error(e: quoin_app::AppError) -> anyhow::Error {
    if let quoin_app::AppError::InvalidMany { errors, .. } = &e {
        for (field, message) in errors {
            eprintln!("  {field}: {message}");
        }
        anyhow::anyhow!(
            "the catalog has {} problem(s); nothing was changed",
            errors.len()
        )
    } else if let Some(field) = e.field() {
        anyhow::anyhow!("{field}: {e}")
    } else {
        e.into()
    }
}

async fn catalog(cfg: &Config, cmd: CatalogCmd) -> anyhow::Result<()> {
    use quoin_app::catalog::format::{parse, render, Format};
    let app = open_app(cfg).await?;
    match cmd {
        CatalogCmd::Import {
            file,
            dry_run,
            tenant,
        } => {
            let p = pick_tenant(&app, tenant).await?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let doc = parse(&text, Format::of_path(&file.to_string_lossy()))
                .map_err(report_catalog_error)
                .with_context(|| format!("{} is not a valid catalog document", file.display()))?;
            let report = app
                .import_catalog(&p, doc, dry_run)
                .await
                .map_err(report_catalog_error)?;
            if dry_run {
                eprintln!("dry run: valid; nothing written");
            }
            print_json(&report)?;
        }
        CatalogCmd::Export { format, tenant } => {
            let p = pick_tenant(&app, tenant).await?;
            let format = match format.as_str() {
                "yaml" => Format::Yaml,
                "json" => Format::Json,
                other => bail!("--format must be yaml or json, got `{other}`"),
            };
            print!("{}", render(&app.export_catalog(&p).await?, format)?);
        }
    }
    Ok(())
}

async fn accounts(cfg: &Config, cmd: AccountsCmd) -> anyhow::Result<()> {
    let app = open_app(cfg).await?;
    match cmd {
        AccountsCmd::Create {
            tenant,
            name,
            kind,
            currency,
            bcd,
            alignment,
            email,
            parent,
        } => {
            let p = pick_tenant(&app, tenant).await?;
            let kind = match kind.as_str() {
                "business" => AccountKind::Business,
                "person" => AccountKind::Person,
                other => bail!("--kind must be business or person, got `{other}`"),
            };
            let alignment = match alignment.as_str() {
                "calendar" => AlignmentCode::Calendar,
                "anniversary" => AlignmentCode::Anniversary,
                other => bail!("--alignment must be calendar or anniversary, got `{other}`"),
            };
            let input = CreateAccount {
                kind,
                name,
                email,
                external_id: None,
                parent_id: parent,
                bill_to_id: None,
                billing: BillingProfileInput {
                    currency,
                    bill_cycle_day: bcd,
                    alignment: Some(alignment),
                    payment_terms_days: None,
                    time_zone: None,
                    proration: None,
                    termination_day: None,
                },
                contacts: vec![],
                locations: vec![],
            };
            print_json(&app.create_account(&p, input).await?)?;
        }
        AccountsCmd::List { tenant, limit } => {
            let p = pick_tenant(&app, tenant).await?;
            let page = app
                .list_accounts(
                    &p,
                    AccountFilter::default(),
                    &ListParams {
                        limit: Some(limit),
                        cursor: None,
                    },
                )
                .await?;
            println!(
                "{:<36}  {:<11}  {:<8}  {:>4}  NAME",
                "ID", "BAN", "KIND", "BCD"
            );
            for a in &page.data {
                let kind = serde_json::to_value(a.kind)?
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let bcd = a
                    .billing
                    .bill_cycle_day
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:<36}  {:<11}  {:<8}  {:>4}  {}",
                    a.id, a.ban, kind, bcd, a.name
                );
            }
            if let Some(c) = page.next_cursor {
                eprintln!("(more: the API lists further pages with cursor={c})");
            }
        }
        AccountsCmd::Show { tenant, id } => {
            let p = pick_tenant(&app, tenant).await?;
            print_json(&app.get_account(&p, &id).await?)?;
        }
    }
    Ok(())
}

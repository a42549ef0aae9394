//! `quoin runs start|list|show|resume`: invoice runs from the command line, executed in this
//! process with a progress bar (the same machinery `quoin serve` runs in the background).

use anyhow::bail;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::civil::Date;
use quoin_app::model::*;
use quoin_app::runs::RunOptions;
use quoin_app::{App, Principal};

#[derive(Subcommand)]
pub enum RunsCmd {
    /// Start an invoice run and execute it here (Ctrl-C or a crash leaves it resumable).
    Start {
        #[arg(long, env = "QUOIN_TENANT")]
        tenant: Option<String>,
        /// Bill what is due on this date (default: each account's today).
        #[arg(long)]
        as_of: Option<Date>,
        /// Steps, comma-separated: bill,finalize,send (default bill,finalize).
        #[arg(long, value_delimiter = ',')]
        chain: Option<Vec<String>>,
        /// Accounts per transaction.
        #[arg(long)]
        chunk: Option<i64>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Runs, newest first (JSON).
    List {
        #[arg(long, env = "QUOIN_TENANT")]
        tenant: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One run with its counts and errors (JSON).
    Show {
        #[arg(long, env = "QUOIN_TENANT")]
        tenant: Option<String>,
        id: String,
    },
    /// Continue a run from its cursor (after a crash, or a failure).
    Resume {
        #[arg(long, env = "QUOIN_TENANT")]
        tenant: Option<String>,
        id: String,
        /// Take the run over even if its lease looks alive (the other process is known dead).
        #[arg(long)]
        force: bool,
        #[arg(long)]
        chunk: Option<i64>,
        #[arg(long)]
        quiet: bool,
    },
}

fn parse_chain(steps: Option<Vec<String>>) -> anyhow::Result<Option<Vec<RunStep>>> {
    let Some(steps) = steps else { return Ok(None) };
    steps
        .iter()
        .map(|s| match s.trim() {
            "bill" => Ok(RunStep::Bill),
            "finalize" => Ok(RunStep::Finalize),
            "send" => Ok(RunStep::Send),
            other => bail!("--chain: unknown step `{other}` (bill, finalize, send)"),
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .map(Some)
}

async fn execute(
    app: &App,
    p: &Principal,
    id: &str,
    chunk: Option<i64>,
    force: bool,
    quiet: bool,
) -> anyhow::Result<InvoiceRun> {
    let total = app.run_population(p).await?;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(u64::try_from(total).unwrap_or(0))
    };
    bar.set_style(ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} accounts ({per_sec}, eta {eta}) {msg}",
    )?);
    let progress = |run: &InvoiceRun| {
        bar.set_position(
            u64::try_from(run.counts.accounts_billed + run.counts.errors).unwrap_or(0),
        );
        bar.set_message(format!(
            "{} invoices, {} errors{}",
            run.counts.invoices_created,
            run.counts.errors,
            run.step
                .map(|s| format!(", step {}", s.code()))
                .unwrap_or_default()
        ));
    };
    let done = app
        .execute_invoice_run(
            &p.tenant_id,
            id,
            RunOptions {
                chunk,
                force,
                progress: Some(&progress),
            },
        )
        .await?;
    bar.finish();
    Ok(done)
}

pub async fn run(app: &App, p: &Principal, cmd: RunsCmd) -> anyhow::Result<()> {
    match cmd {
        RunsCmd::Start {
            as_of,
            chain,
            chunk,
            quiet,
            ..
        } => {
            let run = app
                .create_invoice_run(
                    p,
                    StartInvoiceRun {
                        as_of,
                        chain: parse_chain(chain)?,
                    },
                )
                .await?;
            eprintln!("run {}", run.id);
            let done = execute(app, p, &run.id, chunk, false, quiet).await?;
            crate::print_json(&done)?;
        }
        RunsCmd::List { limit, .. } => {
            let page = app
                .list_invoice_runs(
                    p,
                    &ListParams {
                        limit: Some(limit),
                        cursor: None,
                    },
                )
                .await?;
            crate::print_json(&page)?;
        }
        RunsCmd::Show { id, .. } => crate::print_json(&app.get_invoice_run(p, &id).await?)?,
        RunsCmd::Resume {
            id,
            force,
            chunk,
            quiet,
            ..
        } => {
            app.check_resumable(p, &id, force).await?;
            let done = execute(app, p, &id, chunk, force, quiet).await?;
            crate::print_json(&done)?;
        }
    }
    Ok(())
}

impl RunsCmd {
    pub fn tenant(&self) -> Option<String> {
        match self {
            RunsCmd::Start { tenant, .. }
            | RunsCmd::List { tenant, .. }
            | RunsCmd::Show { tenant, .. }
            | RunsCmd::Resume { tenant, .. } => tenant.clone(),
        }
    }
}

//! `quoin payments import FILE`: records the valid rows of a payments CSV through the app
//! (one transaction per row) with a progress bar, and reports every rejected row.

use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use quoin_app::{App, Principal};

/// Imports the file; returns the number of rejected rows.
pub async fn import(app: &App, p: &Principal, file: &Path, json: bool) -> anyhow::Result<usize> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} rows {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut on_row = |done: usize, total: usize| {
        bar.set_length(u64::try_from(total).unwrap_or(u64::MAX));
        bar.set_position(u64::try_from(done).unwrap_or(u64::MAX));
    };
    let result = app.import_payments(p, &text, &mut on_row).await;
    bar.finish_and_clear();
    let result = result.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        println!(
            "{} payment(s) recorded, {} row(s) rejected",
            result.accepted,
            result.rejected.len()
        );
        for r in &result.rejected {
            match &r.field {
                Some(f) => println!("row {}: {f}: {}", r.row, r.reason),
                None => println!("row {}: {}", r.row, r.reason),
            }
        }
    }
    Ok(result.rejected.len())
}

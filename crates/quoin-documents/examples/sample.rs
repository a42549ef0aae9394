//! Writes sample invoices (HTML and PDF) to a folder, for looking at them:
//! `cargo run -p quoin-documents --example sample -- /tmp/invoices`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "invoice-samples".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let samples = [
        ("invoice", support::invoice("Bäcker & <Söhne> GmbH")),
        ("draft", support::draft("Northwind Traders")),
        ("long", support::long_invoice(60)),
    ];
    for (name, doc) in samples {
        std::fs::write(
            dir.join(format!("{name}.html")),
            quoin_documents::render_html(&doc),
        )?;
        std::fs::write(
            dir.join(format!("{name}.pdf")),
            quoin_documents::render_pdf(&doc)?,
        )?;
    }
    println!("wrote samples to {}", dir.display());
    Ok(())
}

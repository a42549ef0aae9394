//! The HTML invoice: one self-contained page (inline CSS, no scripts, no external assets)
//! that reads on screen and prints on A4. maud escapes every interpolated value.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::{InvoiceDocument, Party};

/// The stylesheet, written for this page: screen shows a sheet on a grey desk, print
/// uses the page itself; the table header repeats on every printed page, the total
/// (a row group, not a repeating footer) prints once at the end.
const CSS: &str = r#"
*{box-sizing:border-box}
html{background:#e9ebee}
body{margin:0;font:14px/1.45 "Helvetica Neue",Helvetica,Arial,sans-serif;color:#1d232b}
.sheet{position:relative;max-width:210mm;min-height:297mm;margin:24px auto;padding:18mm 16mm;background:#fff;box-shadow:0 1px 6px rgba(0,0,0,.18)}
.top{display:flex;justify-content:space-between;align-items:flex-start;gap:24px;padding-bottom:14px;border-bottom:2px solid #1d232b}
.seller .name{font-size:18px;font-weight:700;margin:0 0 4px}
.address{color:#4a5562;font-size:13px}
.heading{text-align:right}
.heading h1{margin:0;font-size:26px;letter-spacing:.04em;text-transform:uppercase}
.heading .number{margin:2px 0 0;font-size:16px;font-weight:700}
.heading .draft{color:#bf1f1f;letter-spacing:.08em}
.heading .status{margin:2px 0 0;color:#6b7682;font-size:12px;text-transform:uppercase;letter-spacing:.08em}
.parties{display:flex;justify-content:space-between;gap:24px;margin:22px 0 26px}
.label{margin:0 0 4px;color:#6b7682;font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.08em}
.buyer .name{font-weight:700;font-size:15px}
.ban{font-size:13px;color:#4a5562}
.meta{flex:none;border-collapse:collapse;font-size:13px}
.meta th{padding:1px 0 1px 16px;color:#6b7682;font-weight:400;text-align:right;white-space:nowrap}
.meta td{padding:1px 0 1px 16px;text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
table.lines{width:100%;border-collapse:collapse;font-size:13px}
.lines thead{display:table-header-group}
.lines tfoot{display:table-row-group}
.lines th{padding:6px 8px;border-bottom:1.5px solid #1d232b;text-align:left;font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#4a5562}
.lines td{padding:7px 8px;border-bottom:1px solid #dde1e6;vertical-align:top}
.lines tr{break-inside:avoid;page-break-inside:avoid}
.lines .num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.lines .period{white-space:nowrap;color:#4a5562}
.lines .partial{color:#4a5562}
.lines tfoot td{border-bottom:none;padding-top:12px;font-size:15px;font-weight:700}
.lines tfoot .total{border-top:2px solid #1d232b}
.notes{margin-top:28px;font-size:12px;color:#4a5562}
.notes p{margin:0 0 6px}
.watermark{position:fixed;top:40%;left:0;right:0;text-align:center;font-size:140px;font-weight:800;letter-spacing:.1em;color:rgba(200,30,30,.10);transform:rotate(-30deg);pointer-events:none;z-index:1}
@page{size:A4;margin:14mm 14mm 18mm;@bottom-right{content:"Page " counter(page) " of " counter(pages);font:10px Helvetica,Arial,sans-serif;color:#6b7682}}
@media print{html{background:none}.sheet{margin:0;padding:0;max-width:none;min-height:0;box-shadow:none}}
"#;

/// Renders the invoice as a complete, printable HTML page.
pub fn render_html(doc: &InvoiceDocument) -> String {
    let title = doc.title();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " \u{2013} " (doc.seller.name) }
                style { (PreEscaped(CSS)) }
            }
            body {
                @if doc.is_draft() {
                    div class="watermark" aria-hidden="true" { "DRAFT" }
                }
                main class="sheet" {
                    header class="top" {
                        div class="seller" {
                            p class="name" { (doc.seller.name) }
                            (address(&doc.seller))
                        }
                        div class="heading" {
                            h1 { "Invoice" }
                            @match &doc.number {
                                Some(number) => p class="number" { "No. " (number) },
                                None => p class="number draft" { "DRAFT" },
                            }
                            @if !doc.is_draft() || !doc.status.eq_ignore_ascii_case("draft") {
                                p class="status" { (doc.status) }
                            }
                        }
                    }
                    section class="parties" {
                        div class="buyer" {
                            p class="label" { "Bill to" }
                            div class="name" { (doc.buyer.name) }
                            @if let Some(ban) = &doc.buyer.ban {
                                div class="ban" { "Account " (ban) }
                            }
                            (address(&doc.buyer))
                        }
                        table class="meta" {
                            tr { th scope="row" { "Invoice date" } td { (doc.invoice_date) } }
                            tr { th scope="row" { "Due date" } td { (doc.due_date) } }
                            tr { th scope="row" { "Billing period" } td { (doc.period_label()) } }
                            tr { th scope="row" { "Currency" } td { (doc.currency) } }
                        }
                    }
                    table class="lines" {
                        thead {
                            tr {
                                th { "Description" }
                                th { "Service period" }
                                th class="num" { "Qty" }
                                th class="num" { "Rate" }
                                th class="num" { "Amount (" (doc.currency) ")" }
                            }
                        }
                        tbody {
                            @for line in &doc.lines {
                                tr {
                                    td { (line.description) }
                                    td class="period" { (line.period_label()) }
                                    td class="num" { (line.quantity) }
                                    @if line.is_partial() {
                                        td class="num partial"
                                            title={ "Prorated: " (line.proration_numerator) " of " (line.proration_denominator) " days" } {
                                            (line.rate_label())
                                        }
                                    } @else {
                                        td class="num" { (line.rate_label()) }
                                    }
                                    td class="num" { (line.amount) }
                                }
                            }
                        }
                        tfoot {
                            tr {
                                td colspan="3" {}
                                td class="num total" { "Total " (doc.currency) }
                                td class="num total" { (doc.total) }
                            }
                        }
                    }
                    @if !doc.notes.is_empty() {
                        section class="notes" {
                            @for note in &doc.notes { p { (note) } }
                        }
                    }
                }
            }
        }
    };
    page.into_string()
}

fn address(party: &Party) -> Markup {
    html! {
        @if !party.address.is_empty() {
            div class="address" {
                @for line in &party.address { div { (line) } }
            }
        }
    }
}

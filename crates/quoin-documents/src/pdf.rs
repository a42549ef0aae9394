//! The PDF invoice: A4 pages drawn with pdf-writer in the built-in Helvetica fonts (no
//! font files). Text is WinAnsi-encoded, measured with the fonts' AFM widths so money
//! sits right-aligned, and the lines table flows onto as many pages as it needs, its
//! header repeated on each.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::metrics::{win_ansi, wrap, Font};
use crate::{DocLine, DocumentError, InvoiceDocument, Party};

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_W - 50.0;
const TOP: f32 = PAGE_H - 52.0;
/// Nothing but the footer goes below this line.
const BOTTOM: f32 = 58.0;
const FOOTER_Y: f32 = 36.0;

// Columns of the lines table: left edges for text, right edges for numbers.
const COL_DESC: f32 = LEFT;
const DESC_WIDTH: f32 = 168.0;
const COL_PERIOD: f32 = 226.0;
const COL_QTY_RIGHT: f32 = 360.0;
const COL_RATE_RIGHT: f32 = 458.0;
const COL_AMOUNT_RIGHT: f32 = RIGHT;

const BODY: f32 = 9.0;
const LEADING: f32 = 11.5;
/// Room the total takes below the last line.
const TOTAL_HEIGHT: f32 = 37.0;

const INK: f32 = 0.11;
const MUTED: f32 = 0.38;
const FAINT: f32 = 0.82;

/// Renders the invoice as an A4 PDF.
pub fn render_pdf(doc: &InvoiceDocument) -> Result<Vec<u8>, DocumentError> {
    doc.validate()?;
    let mut layout = Layout::new(doc);
    layout.first_page_header();
    layout.table_header();
    for (index, line) in doc.lines.iter().enumerate() {
        // The last line keeps the total company, so a total never stands alone.
        let keep = if index + 1 == doc.lines.len() {
            TOTAL_HEIGHT
        } else {
            0.0
        };
        layout.line_row(line, keep);
    }
    layout.total();
    layout.notes();
    Ok(layout.finish())
}

struct Layout<'a> {
    doc: &'a InvoiceDocument,
    pages: Vec<Content>,
    /// The page drawn on.
    current: usize,
    y: f32,
}

impl<'a> Layout<'a> {
    fn new(doc: &'a InvoiceDocument) -> Self {
        let mut layout = Layout {
            doc,
            pages: Vec::new(),
            current: 0,
            y: TOP,
        };
        layout.new_page();
        layout
    }

    fn page(&mut self) -> &mut Content {
        &mut self.pages[self.current]
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.current = self.pages.len() - 1;
        self.y = TOP;
        if self.doc.is_draft() {
            self.watermark();
        }
    }

    /// Opens a continuation page (with a short heading) when `height` does not fit.
    fn ensure(&mut self, height: f32, with_table_header: bool) {
        if self.y - height >= BOTTOM {
            return;
        }
        self.new_page();
        let heading = format!(
            "{} \u{2013} {} (continued)",
            self.doc.seller.name,
            self.doc.title()
        );
        self.text(Font::Bold, 10.0, INK, LEFT, self.y - 10.0, &heading);
        self.y -= 28.0;
        if with_table_header {
            self.table_header();
        }
    }

    // ---- drawing primitives -------------------------------------------------------

    fn show(&mut self, font: Font, size: f32, gray: f32, x: f32, y: f32, bytes: &[u8]) {
        let name = match font {
            Font::Regular => Name(b"F1"),
            Font::Bold => Name(b"F2"),
        };
        let content = self.page();
        content.set_fill_gray(gray);
        content.begin_text();
        content.set_font(name, size);
        content.next_line(x, y);
        content.show(Str(bytes));
        content.end_text();
    }

    fn text(&mut self, font: Font, size: f32, gray: f32, x: f32, y: f32, text: &str) {
        self.show(font, size, gray, x, y, &win_ansi(text));
    }

    fn text_right(&mut self, font: Font, size: f32, gray: f32, right: f32, y: f32, text: &str) {
        let bytes = win_ansi(text);
        let x = right - font.width(&bytes, size);
        self.show(font, size, gray, x, y, &bytes);
    }

    fn rule(&mut self, from: f32, to: f32, y: f32, width: f32, gray: f32) {
        let content = self.page();
        content.set_stroke_gray(gray);
        content.set_line_width(width);
        content.move_to(from, y);
        content.line_to(to, y);
        content.stroke();
    }

    fn watermark(&mut self) {
        let size = 120.0;
        let text = b"DRAFT";
        let half_w = Font::Bold.width(text, size) / 2.0;
        let half_h = 0.36 * size;
        let (sin, cos) = 30f32.to_radians().sin_cos();
        let (cx, cy) = (PAGE_W / 2.0, PAGE_H / 2.0);
        let x = cx - (cos * half_w - sin * half_h);
        let y = cy - (sin * half_w + cos * half_h);
        let content = self.page();
        content.save_state();
        content.set_fill_rgb(0.97, 0.86, 0.86);
        content.begin_text();
        content.set_font(Name(b"F2"), size);
        content.set_text_matrix([cos, sin, -sin, cos, x, y]);
        content.show(Str(text));
        content.end_text();
        content.restore_state();
    }

    // ---- sections -------------------------------------------------------------------

    fn first_page_header(&mut self) {
        let doc = self.doc;
        // Seller, top left.
        let mut left_y = TOP - 14.0;
        self.text(Font::Bold, 16.0, INK, LEFT, left_y, &doc.seller.name);
        left_y -= 16.0;
        left_y = self.address_lines(&doc.seller, LEFT, left_y);

        // Title, number and status, top right.
        let mut right_y = TOP - 18.0;
        self.text_right(Font::Bold, 22.0, INK, RIGHT, right_y, "INVOICE");
        right_y -= 18.0;
        match &doc.number {
            Some(number) => self.text_right(
                Font::Bold,
                12.0,
                INK,
                RIGHT,
                right_y,
                &format!("No. {number}"),
            ),
            None => {
                self.page().set_fill_rgb(0.75, 0.12, 0.12);
                let bytes = win_ansi("DRAFT");
                let x = RIGHT - Font::Bold.width(&bytes, 12.0);
                let content = self.page();
                content.begin_text();
                content.set_font(Name(b"F2"), 12.0);
                content.next_line(x, right_y);
                content.show(Str(&bytes));
                content.end_text();
            }
        }
        if !doc.is_draft() || !doc.status.eq_ignore_ascii_case("draft") {
            right_y -= 13.0;
            self.text_right(
                Font::Regular,
                8.0,
                MUTED,
                RIGHT,
                right_y,
                &doc.status.to_uppercase(),
            );
        }

        self.y = left_y.min(right_y) - 10.0;
        self.rule(LEFT, RIGHT, self.y, 1.5, INK);

        // Buyer on the left, dates on the right.
        let top = self.y - 22.0;
        let mut buyer_y = top;
        self.text(Font::Bold, 7.5, MUTED, LEFT, buyer_y, "BILL TO");
        buyer_y -= 15.0;
        for line in wrap(&win_ansi(&doc.buyer.name), Font::Bold, 12.0, 260.0) {
            self.show(Font::Bold, 12.0, INK, LEFT, buyer_y, &line);
            buyer_y -= 14.0;
        }
        if let Some(ban) = &doc.buyer.ban {
            self.text(
                Font::Regular,
                9.5,
                MUTED,
                LEFT,
                buyer_y,
                &format!("Account {ban}"),
            );
            buyer_y -= 12.5;
        }
        buyer_y = self.address_lines(&doc.buyer, LEFT, buyer_y);

        let mut meta_y = top;
        let rows = [
            ("Invoice date", doc.invoice_date.to_string()),
            ("Due date", doc.due_date.to_string()),
            ("Billing period", doc.period_label()),
            ("Currency", doc.currency.clone()),
        ];
        for (label, value) in rows {
            self.text_right(Font::Regular, 9.5, MUTED, RIGHT - 125.0, meta_y, label);
            self.text_right(Font::Regular, 9.5, INK, RIGHT, meta_y, &value);
            meta_y -= 13.5;
        }

        self.y = buyer_y.min(meta_y) - 22.0;
    }

    /// Prints a party's address lines from `y` down; returns the next free baseline.
    fn address_lines(&mut self, party: &Party, x: f32, mut y: f32) -> f32 {
        for line in &party.address {
            self.text(Font::Regular, 9.5, MUTED, x, y, line);
            y -= 12.5;
        }
        y
    }

    fn table_header(&mut self) {
        let y = self.y - 10.0;
        self.text(Font::Bold, 7.5, MUTED, COL_DESC, y, "DESCRIPTION");
        self.text(Font::Bold, 7.5, MUTED, COL_PERIOD, y, "SERVICE PERIOD");
        self.text_right(Font::Bold, 7.5, MUTED, COL_QTY_RIGHT, y, "QTY");
        self.text_right(Font::Bold, 7.5, MUTED, COL_RATE_RIGHT, y, "RATE");
        let amount = format!("AMOUNT ({})", self.doc.currency);
        self.text_right(Font::Bold, 7.5, MUTED, COL_AMOUNT_RIGHT, y, &amount);
        self.y = y - 6.0;
        self.rule(LEFT, RIGHT, self.y, 1.0, INK);
    }

    fn line_row(&mut self, line: &DocLine, keep_below: f32) {
        let description = wrap(
            &win_ansi(&line.description),
            Font::Regular,
            BODY,
            DESC_WIDTH,
        );
        let height = description.len() as f32 * LEADING + 8.0;
        self.ensure(height + keep_below, true);

        let first = self.y - 4.0 - BODY;
        for (i, text) in description.iter().enumerate() {
            self.show(
                Font::Regular,
                BODY,
                INK,
                COL_DESC,
                first - i as f32 * LEADING,
                text,
            );
        }
        self.text(
            Font::Regular,
            8.5,
            MUTED,
            COL_PERIOD,
            first,
            &line.period_label(),
        );
        self.text_right(
            Font::Regular,
            BODY,
            INK,
            COL_QTY_RIGHT,
            first,
            &line.quantity,
        );
        let rate_gray = if line.is_partial() { MUTED } else { INK };
        self.text_right(
            Font::Regular,
            BODY,
            rate_gray,
            COL_RATE_RIGHT,
            first,
            &line.rate_label(),
        );
        self.text_right(
            Font::Regular,
            BODY,
            INK,
            COL_AMOUNT_RIGHT,
            first,
            &line.amount,
        );

        self.y -= height;
        self.rule(LEFT, RIGHT, self.y, 0.5, FAINT);
    }

    fn total(&mut self) {
        self.ensure(TOTAL_HEIGHT, false);
        let y = self.y - 8.0;
        self.rule(COL_QTY_RIGHT + 20.0, RIGHT, y, 1.5, INK);
        let baseline = y - 17.0;
        let label = format!("Total {}", self.doc.currency);
        self.text_right(Font::Bold, 11.0, INK, COL_RATE_RIGHT, baseline, &label);
        self.text_right(
            Font::Bold,
            11.0,
            INK,
            COL_AMOUNT_RIGHT,
            baseline,
            &self.doc.total,
        );
        self.y = baseline - 12.0;
    }

    fn notes(&mut self) {
        if self.doc.notes.is_empty() {
            return;
        }
        self.y -= 16.0;
        for note in &self.doc.notes {
            for line in wrap(&win_ansi(note), Font::Regular, 8.5, RIGHT - LEFT) {
                self.ensure(11.0, false);
                self.show(Font::Regular, 8.5, MUTED, LEFT, self.y - 8.5, &line);
                self.y -= 11.0;
            }
            self.y -= 4.0;
        }
    }

    /// Adds the footers (now that the page count is known) and writes the file.
    fn finish(mut self) -> Vec<u8> {
        let count = self.pages.len();
        let footer_left = format!("{} \u{2013} {}", self.doc.seller.name, self.doc.title());
        for index in 0..count {
            self.current = index;
            self.rule(LEFT, RIGHT, FOOTER_Y + 11.0, 0.5, FAINT);
            self.text(Font::Regular, 7.5, MUTED, LEFT, FOOTER_Y, &footer_left);
            let number = format!("Page {} of {count}", index + 1);
            self.text_right(Font::Regular, 7.5, MUTED, RIGHT, FOOTER_Y, &number);
        }
        let pages = std::mem::take(&mut self.pages);

        let catalog_id = Ref::new(1);
        let tree_id = Ref::new(2);
        let regular_id = Ref::new(3);
        let bold_id = Ref::new(4);
        let info_id = Ref::new(5);
        let page_ids: Vec<Ref> = (0..count).map(|i| Ref::new(6 + 2 * i as i32)).collect();

        let mut pdf = Pdf::new();
        pdf.catalog(catalog_id).pages(tree_id);
        pdf.pages(tree_id)
            .kids(page_ids.iter().copied())
            .count(count as i32);
        for (page_id, content) in page_ids.iter().zip(pages) {
            let content_id = Ref::new(page_id.get() + 1);
            let mut page = pdf.page(*page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
            page.parent(tree_id);
            page.contents(content_id);
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            fonts.pair(Name(b"F1"), regular_id);
            fonts.pair(Name(b"F2"), bold_id);
            fonts.finish();
            resources.finish();
            page.finish();
            pdf.stream(content_id, &content.finish());
        }
        for (id, base) in [(regular_id, "Helvetica"), (bold_id, "Helvetica-Bold")] {
            pdf.type1_font(id)
                .base_font(Name(base.as_bytes()))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        let title = format!("{} \u{2013} {}", self.doc.title(), self.doc.seller.name);
        pdf.document_info(info_id)
            .title(TextStr(&title))
            .producer(TextStr("Quoin"));
        pdf.finish()
    }
}

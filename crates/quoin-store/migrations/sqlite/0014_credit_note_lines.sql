-- The invoice lines a credit note credits, when it credits by line: how much of the line
-- it credits (tax included), the tax part of that, and the quantity when the credit was
-- asked by quantity. A credit note with no rows here credits the invoice as a whole.
CREATE TABLE credit_note_lines (
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    credit_note_id   TEXT NOT NULL REFERENCES credit_notes(id),
    position         BIGINT NOT NULL,
    invoice_id       TEXT NOT NULL REFERENCES invoices(id),
    invoice_line_id  TEXT NOT NULL REFERENCES invoice_lines(id),
    -- Decimal text; null when the credit was asked as an amount.
    quantity         TEXT,
    amount_minor     BIGINT NOT NULL,
    tax_minor        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, credit_note_id, position)
);
CREATE INDEX credit_note_lines_invoice ON credit_note_lines(tenant_id, invoice_id);

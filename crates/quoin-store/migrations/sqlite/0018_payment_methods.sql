-- An account's default payment method and automatic collection: when an invoice of the
-- account with an amount due is finalized while auto-collection is on, it is charged once
-- through the gateway after the finalizing transaction commits.

CREATE TABLE account_payment_methods (
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    gateway          TEXT NOT NULL,
    -- The gateway's token for the card (or other instrument).
    payment_method   TEXT NOT NULL,
    -- 1: charge invoices automatically when finalized; 0: stored only.
    auto_collection  BIGINT NOT NULL,
    -- When auto-collection last became active (tenant clock). Invoices open then are not
    -- charged: they get an `auto_collections` row with outcome `skipped`.
    active_since_us  BIGINT NOT NULL,
    created_at_us    BIGINT NOT NULL,
    updated_at_us    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account_id)
);

-- One automatic charge per invoice: written in the transaction that charges it, so the
-- collection step never charges an invoice twice (or, outcome `skipped`, when
-- auto-collection became active while the invoice was already open: it is not charged). `payment_id` is also the gateway's
-- idempotency key of the charge (derived from the invoice), so a charge whose recording
-- transaction was lost is not charged again by a gateway that de-duplicates.
CREATE TABLE auto_collections (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    invoice_id     TEXT NOT NULL REFERENCES invoices(id),
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    -- NULL when skipped.
    payment_id     TEXT,
    amount_minor   BIGINT NOT NULL,
    -- succeeded, declined, skipped
    outcome        TEXT NOT NULL,
    attempted_on   TEXT NOT NULL,
    created_at_us  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, invoice_id)
);

-- Receivables: payments, their allocations, credit notes, refunds, and the per-account
-- journal that replays them into quoin_core::ledger::Ledger in order.

-- Money received (or attempted: a declined gateway charge is kept as `failed`).
CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    currency        TEXT NOT NULL,
    amount_minor    BIGINT NOT NULL,
    -- manual, bank_transfer, card, check, cash, gateway
    method          TEXT NOT NULL,
    reference       TEXT,
    received_on     TEXT NOT NULL,
    -- succeeded, failed, partially_refunded, refunded
    status          TEXT NOT NULL,
    refunded_minor  BIGINT NOT NULL DEFAULT 0,
    gateway         TEXT,
    gateway_reference TEXT,
    failure_code    TEXT,
    failure_message TEXT,
    created_at_us   BIGINT NOT NULL
);
CREATE INDEX payments_account ON payments(tenant_id, account_id, id);
CREATE INDEX payments_tenant ON payments(tenant_id, id);

-- How a payment was applied when it was received (what the ledger replays).
CREATE TABLE payment_allocations (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    payment_id    TEXT NOT NULL REFERENCES payments(id),
    position      BIGINT NOT NULL,
    invoice_id    TEXT NOT NULL REFERENCES invoices(id),
    amount_minor  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, payment_id, position)
);
CREATE INDEX payment_allocations_invoice ON payment_allocations(tenant_id, invoice_id);

-- Credit notes: against an invoice (partial, or the whole of it when voiding) or on the
-- account as credit. Numbered CN-000001 from their own gapless per-tenant sequence.
CREATE TABLE credit_notes (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    number          TEXT NOT NULL,
    invoice_id      TEXT REFERENCES invoices(id),
    currency        TEXT NOT NULL,
    amount_minor    BIGINT NOT NULL,
    -- adjustment, void, account_credit
    kind            TEXT NOT NULL,
    reason          TEXT NOT NULL,
    issued_on       TEXT NOT NULL,
    created_at_us   BIGINT NOT NULL,
    UNIQUE (tenant_id, number)
);
CREATE INDEX credit_notes_tenant ON credit_notes(tenant_id, id);
CREATE INDEX credit_notes_account ON credit_notes(tenant_id, account_id, id);

CREATE TABLE refunds (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    payment_id      TEXT NOT NULL REFERENCES payments(id),
    currency        TEXT NOT NULL,
    amount_minor    BIGINT NOT NULL,
    reason          TEXT,
    refunded_on     TEXT NOT NULL,
    created_at_us   BIGINT NOT NULL
);
CREATE INDEX refunds_payment ON refunds(tenant_id, payment_id, id);

-- The order in which documents entered an account's ledger. Written under the account
-- lock, so `seq` has no gaps or duplicates per account.
CREATE TABLE ledger_entries (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    seq            BIGINT NOT NULL,
    -- invoice, credit_note, payment, refund
    kind           TEXT NOT NULL,
    document_id    TEXT NOT NULL,
    created_at_us  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account_id, seq),
    UNIQUE (tenant_id, kind, document_id)
);

-- A read model of each finalized invoice's settlement, rewritten from the replayed ledger
-- after every change to the account; the ledger stays the source of truth.
CREATE TABLE invoice_settlements (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    invoice_id      TEXT NOT NULL REFERENCES invoices(id),
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    paid_minor      BIGINT NOT NULL,
    credited_minor  BIGINT NOT NULL,
    open_minor      BIGINT NOT NULL,
    void_reason     TEXT,
    voided_at_us    BIGINT,
    PRIMARY KEY (tenant_id, invoice_id)
);
CREATE INDEX invoice_settlements_account ON invoice_settlements(tenant_id, account_id);

-- Continuous draft invoices: per bill-to account, a counter bumped once per ingest
-- transaction that brought the account usage (usage_version), and the stored snapshot of
-- the account's next invoice as it was computed at refreshed_at_us from the usage up to
-- draft_version. A draft is due for refresh when usage_version > draft_version and the
-- tenant's cadence has passed since refreshed_at_us.
CREATE TABLE draft_invoices (
    tenant_id       TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    usage_version   BIGINT NOT NULL DEFAULT 0,
    -- Tenant instant of the last usage that marked the account.
    usage_at_us     BIGINT,
    draft_version   BIGINT NOT NULL DEFAULT 0,
    -- The usage_at_us the snapshot includes (its watermark).
    draft_usage_at_us BIGINT,
    refreshed_at_us BIGINT,
    -- The Invoice JSON, or NULL when the account has nothing to bill / failed to bill.
    invoice         TEXT,
    -- Why the last refresh produced no invoice (error code and message), if it did not.
    problem         TEXT,
    PRIMARY KEY (tenant_id, account_id)
);
CREATE INDEX draft_invoices_due ON draft_invoices(tenant_id, refreshed_at_us);

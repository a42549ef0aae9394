-- Invoice runs: a billing run over a tenant's bill-to accounts as a first-class, resumable
-- record. A run walks the accounts in id order in chunks; each chunk commits its invoices,
-- the run's cursor and its counts atomically, so a crash resumes from the cursor.

CREATE TABLE invoice_runs (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    -- JSON array of steps run in order, e.g. ["bill","finalize","send"].
    chain              TEXT NOT NULL,
    -- Bill what is due on this date; NULL = each account's own date at `at_us`.
    as_of              TEXT,
    -- The tenant instant the run bills for (fixed at creation, so a resume bills the same).
    at_us              BIGINT NOT NULL,
    -- queued | running | succeeded | failed | cancelled
    status             TEXT NOT NULL,
    -- manual | schedule
    triggered_by       TEXT NOT NULL,
    schedule_id        TEXT,
    -- Index into `chain` of the step in progress, and the last key that step finished
    -- (a bill-to account id for `bill`, an invoice id for `finalize` and `send`).
    step               BIGINT NOT NULL DEFAULT 0,
    cursor             TEXT,
    accounts_billed    BIGINT NOT NULL DEFAULT 0,
    invoices_created   BIGINT NOT NULL DEFAULT 0,
    invoices_finalized BIGINT NOT NULL DEFAULT 0,
    invoices_sent      BIGINT NOT NULL DEFAULT 0,
    errors             BIGINT NOT NULL DEFAULT 0,
    -- The process executing the run and when it last proved it is alive (each chunk).
    lease_owner        TEXT,
    heartbeat_us       BIGINT,
    failure            TEXT,
    created_at_us      BIGINT NOT NULL,
    started_at_us      BIGINT,
    finished_at_us     BIGINT
);
CREATE INDEX invoice_runs_tenant ON invoice_runs(tenant_id, id);
-- At most one active run per tenant.
CREATE UNIQUE INDEX invoice_runs_one_active ON invoice_runs(tenant_id)
    WHERE status IN ('queued', 'running');

CREATE TABLE invoice_run_errors (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    run_id        TEXT NOT NULL REFERENCES invoice_runs(id),
    account_id    TEXT NOT NULL,
    code          TEXT NOT NULL,
    message       TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, run_id, account_id)
);

-- The last billing failure of an account (cleared when a later run bills it).
CREATE TABLE account_billing_errors (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    account_id    TEXT NOT NULL,
    run_id        TEXT NOT NULL,
    code          TEXT NOT NULL,
    message       TEXT NOT NULL,
    at_us         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account_id)
);

-- Which run created an invoice (NULL for invoices billed outside runs): the finalize and
-- send steps walk the run's own invoices.
ALTER TABLE invoices ADD COLUMN run_id TEXT;
CREATE INDEX invoices_run ON invoices(tenant_id, run_id, id) WHERE run_id IS NOT NULL;

CREATE TABLE invoice_run_schedules (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    -- Standard 5-field cron (optionally 6 with seconds), evaluated in `time_zone`.
    cron          TEXT NOT NULL,
    time_zone     TEXT NOT NULL,
    chain         TEXT NOT NULL,
    enabled       BIGINT NOT NULL DEFAULT 1,
    next_run_at_us BIGINT,
    last_run_id   TEXT,
    created_at_us BIGINT NOT NULL
);
CREATE INDEX invoice_run_schedules_tenant ON invoice_run_schedules(tenant_id, id);
CREATE INDEX invoice_run_schedules_due ON invoice_run_schedules(tenant_id, next_run_at_us) WHERE enabled = 1;

-- A run pages bill-to accounts by range seek; this index covers the billable filter.
CREATE INDEX subscriptions_bill_to_billable
    ON subscriptions(tenant_id, bill_to_id, status, reconcile_from);
-- Serves `subscription_segments` (filter by subscription, order by item and start) so the
-- planner does not walk the primary key over every segment of the tenant instead.
CREATE INDEX subscription_item_segments_sub_item
    ON subscription_item_segments(tenant_id, subscription_id, item_id, start_date);

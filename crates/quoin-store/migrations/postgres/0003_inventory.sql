-- Service inventory: a subscription is a service with items, a lifecycle, a contract term
-- and a history of operations (activate, change, suspend, resume, disconnect, renew), each
-- with an effective date. Items are logical (stable id, usage key); what an item costs over
-- time is a sequence of segments, so "changes vs original" and proration are both exact.

ALTER TABLE subscriptions ADD COLUMN external_id TEXT;
ALTER TABLE subscriptions ADD COLUMN parent_id TEXT REFERENCES subscriptions(id);
ALTER TABLE subscriptions ADD COLUMN location_id TEXT;
-- Exclusive end of service once a disconnect is recorded (may be in the future).
ALTER TABLE subscriptions ADD COLUMN end_date TEXT;
ALTER TABLE subscriptions ADD COLUMN term_code TEXT;
ALTER TABLE subscriptions ADD COLUMN term_start TEXT;
ALTER TABLE subscriptions ADD COLUMN term_end TEXT;
ALTER TABLE subscriptions ADD COLUMN end_of_term TEXT;
-- Add-ons co-terminated with their base service end with it.
ALTER TABLE subscriptions ADD COLUMN coterminate BIGINT NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN operational_status TEXT;
ALTER TABLE subscriptions ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
-- Earliest date whose billing must be reconciled against what was invoiced, set by an
-- operation dated before what has been billed and cleared by the next billing.
ALTER TABLE subscriptions ADD COLUMN reconcile_from TEXT;
ALTER TABLE subscriptions ADD COLUMN updated_at_us BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX subscriptions_external ON subscriptions(tenant_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX subscriptions_parent ON subscriptions(tenant_id, parent_id)
    WHERE parent_id IS NOT NULL;

CREATE TABLE subscription_items (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id),
    -- The "order number" usage events name to reach this item; unique per tenant.
    usage_key       TEXT,
    position        BIGINT NOT NULL,
    -- End (exclusive) of the last service period invoiced for the item.
    billed_through  TEXT,
    created_at_us   BIGINT NOT NULL
);
CREATE INDEX subscription_items_sub ON subscription_items(tenant_id, subscription_id, position);
CREATE UNIQUE INDEX subscription_items_usage_key ON subscription_items(tenant_id, usage_key)
    WHERE usage_key IS NOT NULL;

-- What an item is priced at from start_date to end_date (exclusive, open when NULL).
CREATE TABLE subscription_item_segments (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    item_id         TEXT NOT NULL REFERENCES subscription_items(id),
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id),
    start_date      TEXT NOT NULL,
    end_date        TEXT,
    price_id        TEXT NOT NULL REFERENCES prices(id),
    quantity        TEXT NOT NULL,
    -- A negotiated unit amount replacing the price's, if any.
    unit_amount     TEXT,
    version         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, item_id, start_date)
);
CREATE INDEX subscription_item_segments_sub
    ON subscription_item_segments(tenant_id, subscription_id, start_date);

-- The operation log; the state after each operation is kept with it.
CREATE TABLE subscription_versions (
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id),
    version         BIGINT NOT NULL,
    operation       TEXT NOT NULL,
    effective_date  TEXT NOT NULL,
    status          TEXT NOT NULL,
    details         TEXT NOT NULL,
    created_at_us   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, subscription_id, version)
);

-- Existing subscriptions become one item with one segment and an activation version.
INSERT INTO subscription_items (id, tenant_id, subscription_id, usage_key, position, billed_through, created_at_us)
    SELECT 'itm_' || id, tenant_id, id, NULL, 0, billed_through, created_at_us FROM subscriptions;
INSERT INTO subscription_item_segments (tenant_id, item_id, subscription_id, start_date, end_date, price_id, quantity, unit_amount, version)
    SELECT tenant_id, 'itm_' || id, id, start_date, NULL, price_id, quantity, NULL, 1 FROM subscriptions;
INSERT INTO subscription_versions (tenant_id, subscription_id, version, operation, effective_date, status, details, created_at_us)
    SELECT tenant_id, id, 1, 'activate', start_date, status, '{}', created_at_us FROM subscriptions;

-- Invoice lines gain a kind (recurring, one_time, usage, repair, early_termination, fee,
-- adjustment), the item they bill, the full period a partial one is prorated over, the line
-- a repair credits, and their discount and tax. A period may now be billed, repaired and
-- billed again (plan changed back), so the old one-line-per-period key goes; exactly-once
-- comes from reconciling against what is already billed under the account lock.
ALTER TABLE invoice_lines DROP CONSTRAINT invoice_lines_tenant_id_subscription_id_period_start_key;
ALTER TABLE invoice_lines ALTER COLUMN subscription_id DROP NOT NULL;
ALTER TABLE invoice_lines ALTER COLUMN price_id DROP NOT NULL;
ALTER TABLE invoice_lines ADD COLUMN kind TEXT NOT NULL DEFAULT 'recurring';
ALTER TABLE invoice_lines ADD COLUMN item_id TEXT;
ALTER TABLE invoice_lines ADD COLUMN full_start TEXT;
ALTER TABLE invoice_lines ADD COLUMN full_end TEXT;
ALTER TABLE invoice_lines ADD COLUMN repairs_line_id TEXT;
ALTER TABLE invoice_lines ADD COLUMN discount_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoice_lines ADD COLUMN tax_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoice_lines ADD COLUMN detail TEXT NOT NULL DEFAULT '{}';
UPDATE invoice_lines SET item_id = 'itm_' || subscription_id;
CREATE INDEX invoice_lines_item ON invoice_lines(tenant_id, item_id, period_end);

ALTER TABLE invoices ADD COLUMN subtotal_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN discount_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN tax_minor BIGINT NOT NULL DEFAULT 0;
UPDATE invoices SET subtotal_minor = total_minor;

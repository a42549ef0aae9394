-- Billing lifecycle: whether a disconnect's day is billed as used, one-off charges raised
-- by operations (early-termination fees), and progressive (usage threshold) billing.

-- 'excluded' (default, Kill Bill): service ends at the start of the disconnect day;
-- 'included' (Lago): the disconnect day is the last day billed.
ALTER TABLE accounts ADD COLUMN termination_day TEXT NOT NULL DEFAULT 'excluded';

-- Progressive billing thresholds (JSON: ascending amounts and an optional recurring step).
ALTER TABLE subscriptions ADD COLUMN progressive_threshold TEXT;

-- Earliest billed usage period to re-rate: set when late events arrive for billed days or
-- an invoice with the item's usage is voided; the next billing adjusts the difference.
ALTER TABLE subscription_items ADD COLUMN usage_reconcile_from TEXT;

CREATE TABLE subscription_charges (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id),
    -- 'early_termination'
    kind            TEXT NOT NULL,
    description     TEXT NOT NULL,
    -- Exact decimal in the account's currency; the invoice line rounds it once.
    amount          TEXT NOT NULL,
    charge_date     TEXT NOT NULL,
    -- JSON explaining the amount (policy, remaining months, monthly rate).
    details         TEXT NOT NULL,
    -- Set when the charge is on an invoice.
    invoice_line_id TEXT,
    created_at_us   INTEGER NOT NULL
);
CREATE INDEX subscription_charges_unbilled ON subscription_charges(tenant_id, account_id)
    WHERE invoice_line_id IS NULL;
CREATE INDEX subscription_charges_sub ON subscription_charges(tenant_id, subscription_id);

-- A refund of a gateway payment is sent back through the gateway; its reference there.
ALTER TABLE refunds ADD COLUMN gateway_reference TEXT;

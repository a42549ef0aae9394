-- Dunning: a tenant's schedule of steps after an invoice falls due, and how far each
-- account has gone through it.
CREATE TABLE dunning_policies (
    tenant_id     TEXT PRIMARY KEY REFERENCES tenants(id),
    -- JSON: [{"after_days": 3, "action": "reminder"}, …]
    steps         TEXT NOT NULL,
    updated_at_us BIGINT NOT NULL
);

CREATE TABLE dunning_states (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    -- Number of steps applied since the account was last clear.
    steps_done    BIGINT NOT NULL,
    -- Due date of the oldest overdue invoice when the last step was applied.
    overdue_since TEXT,
    updated_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account_id)
);

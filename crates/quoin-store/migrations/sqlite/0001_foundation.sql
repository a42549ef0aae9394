-- Foundation schema. Every row carries its tenant; money is integer minor units,
-- decimals are TEXT, dates are 'YYYY-MM-DD' TEXT, instants are microseconds since the epoch.

CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    time_zone     TEXT NOT NULL,
    clock_mode    TEXT NOT NULL DEFAULT 'system',
    test_now_us   BIGINT,
    created_at_us BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    revoked_at_us BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys(tenant_id, id);

CREATE TABLE sequences (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    next_value BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE accounts (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    kind               TEXT NOT NULL,
    name               TEXT NOT NULL,
    email              TEXT,
    external_id        TEXT,
    parent_id          TEXT REFERENCES accounts(id),
    bill_to_id         TEXT NOT NULL,
    ban                TEXT NOT NULL,
    currency           TEXT NOT NULL,
    bill_cycle_day     BIGINT,
    alignment          TEXT NOT NULL,
    proration          TEXT NOT NULL,
    payment_terms_days BIGINT NOT NULL,
    time_zone          TEXT NOT NULL,
    status             TEXT NOT NULL,
    created_at_us      BIGINT NOT NULL,
    updated_at_us      BIGINT NOT NULL,
    UNIQUE (tenant_id, ban)
);
CREATE INDEX accounts_tenant ON accounts(tenant_id, id);
CREATE INDEX accounts_parent ON accounts(tenant_id, parent_id);
CREATE INDEX accounts_bill_to ON accounts(tenant_id, bill_to_id);
CREATE UNIQUE INDEX accounts_external ON accounts(tenant_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE contacts (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    name          TEXT NOT NULL,
    email         TEXT,
    phone         TEXT,
    role          TEXT NOT NULL,
    created_at_us BIGINT NOT NULL
);
CREATE INDEX contacts_account ON contacts(tenant_id, account_id, id);

CREATE TABLE locations (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    label         TEXT NOT NULL,
    line1         TEXT NOT NULL,
    line2         TEXT,
    city          TEXT NOT NULL,
    region        TEXT,
    postal_code   TEXT,
    country       TEXT NOT NULL,
    created_at_us BIGINT NOT NULL
);
CREATE INDEX locations_account ON locations(tenant_id, account_id, id);

CREATE TABLE products (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    UNIQUE (tenant_id, code)
);

CREATE TABLE prices (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    product_id    TEXT NOT NULL REFERENCES products(id),
    currency      TEXT NOT NULL,
    amount        TEXT NOT NULL,
    period        TEXT NOT NULL,
    timing        TEXT NOT NULL,
    created_at_us BIGINT NOT NULL
);
CREATE INDEX prices_product ON prices(tenant_id, product_id);

CREATE TABLE subscriptions (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    bill_to_id     TEXT NOT NULL REFERENCES accounts(id),
    product_id     TEXT NOT NULL REFERENCES products(id),
    price_id       TEXT NOT NULL REFERENCES prices(id),
    quantity       TEXT NOT NULL,
    start_date     TEXT NOT NULL,
    status         TEXT NOT NULL,
    billed_through TEXT,
    created_at_us  BIGINT NOT NULL
);
CREATE INDEX subscriptions_bill_to ON subscriptions(tenant_id, bill_to_id);
CREATE INDEX subscriptions_account ON subscriptions(tenant_id, account_id, id);

CREATE TABLE invoices (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL,
    number          TEXT,
    invoice_date    TEXT NOT NULL,
    due_date        TEXT NOT NULL,
    period_start    TEXT NOT NULL,
    period_end      TEXT NOT NULL,
    total_minor     BIGINT NOT NULL,
    created_at_us   BIGINT NOT NULL,
    finalized_at_us BIGINT,
    UNIQUE (tenant_id, number)
);
CREATE INDEX invoices_tenant ON invoices(tenant_id, id);
-- Not unique: a subscription added on a day already invoiced gets its own invoice; each
-- service period is billed once by the unique key on invoice_lines.
CREATE INDEX invoices_account_date ON invoices(tenant_id, account_id, invoice_date);

CREATE TABLE invoice_lines (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    invoice_id      TEXT NOT NULL REFERENCES invoices(id),
    position        BIGINT NOT NULL,
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id),
    price_id        TEXT NOT NULL REFERENCES prices(id),
    description     TEXT NOT NULL,
    period_start    TEXT NOT NULL,
    period_end      TEXT NOT NULL,
    quantity        TEXT NOT NULL,
    unit_amount     TEXT NOT NULL,
    proration_num   BIGINT NOT NULL,
    proration_den   BIGINT NOT NULL,
    amount_minor    BIGINT NOT NULL,
    -- A service period is billed once, whatever happens to the run that bills it.
    UNIQUE (tenant_id, subscription_id, period_start)
);
CREATE INDEX invoice_lines_invoice ON invoice_lines(tenant_id, invoice_id, position);

CREATE TABLE outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id      TEXT NOT NULL,
    topic          TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    payload        TEXT NOT NULL,
    created_at_us  BIGINT NOT NULL,
    published_at_us BIGINT
);
CREATE INDEX outbox_tenant ON outbox(tenant_id, id);

CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status_code   BIGINT,
    response_body TEXT,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

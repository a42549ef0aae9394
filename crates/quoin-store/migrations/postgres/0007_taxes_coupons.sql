-- Invoice finishing: tax rates and categories, regulatory fees, coupons and their
-- redemptions, account tax profiles and prepaid wallets.

-- Tenant-level finishing documents stored as the app's canonical JSON, by kind and key:
-- 'tax_rates' (key '': default category, tax-inclusive default, rates by jurisdiction ×
-- category), 'tax_category' (key: product code, body: the category as a JSON string),
-- 'fees' (key '': the list of fees), 'coupon' (key: the coupon code).
CREATE TABLE billing_settings (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    kind          TEXT NOT NULL,
    key           TEXT NOT NULL,
    body          TEXT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, key)
);

-- Where and how a bill-to account is taxed. tax_inclusive NULL: the tenant default.
CREATE TABLE account_tax_profiles (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    jurisdiction  TEXT NOT NULL,
    exempt        BIGINT NOT NULL DEFAULT 0,
    tax_inclusive BIGINT,
    updated_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account_id)
);

-- A coupon applied to an account. periods_used counts invoices it applied to;
-- remaining_minor is what a fixed "once" coupon has left (NULL: untouched / not fixed-once).
-- status: active, exhausted.
CREATE TABLE coupon_redemptions (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    coupon_code     TEXT NOT NULL,
    periods_used    BIGINT NOT NULL DEFAULT 0,
    remaining_minor BIGINT,
    status          TEXT NOT NULL,
    created_at_us   BIGINT NOT NULL,
    updated_at_us   BIGINT NOT NULL
);
CREATE INDEX coupon_redemptions_account ON coupon_redemptions(tenant_id, account_id, created_at_us);

-- Prepaid credit of an account; applies_to is a JSON line filter (metrics, products).
CREATE TABLE wallets (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    code          TEXT NOT NULL,
    currency      TEXT NOT NULL,
    balance_minor BIGINT NOT NULL,
    applies_to    TEXT NOT NULL DEFAULT '{}',
    created_at_us BIGINT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    UNIQUE (tenant_id, account_id, code)
);

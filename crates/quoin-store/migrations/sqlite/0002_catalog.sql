-- The catalog: categories, billable metrics, contract terms, price books, and the richer
-- product and price definitions. Nested definitions (tiers, add-on rules, work-order
-- templates, phases) are stored as the app's canonical JSON, since they are read and
-- written whole and never queried piecemeal.

CREATE TABLE categories (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    parent_code   TEXT,
    updated_at_us BIGINT NOT NULL,
    UNIQUE (tenant_id, code)
);

CREATE TABLE metrics (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    definition    TEXT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    UNIQUE (tenant_id, code)
);

CREATE TABLE terms (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    definition    TEXT NOT NULL,
    updated_at_us BIGINT NOT NULL,
    UNIQUE (tenant_id, code)
);

CREATE TABLE price_books (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    currency      TEXT NOT NULL,
    segment       TEXT,
    updated_at_us BIGINT NOT NULL,
    UNIQUE (tenant_id, code)
);

ALTER TABLE products ADD COLUMN kind TEXT NOT NULL DEFAULT 'service';
ALTER TABLE products ADD COLUMN category_code TEXT;
ALTER TABLE products ADD COLUMN definition TEXT NOT NULL DEFAULT '{}';
ALTER TABLE products ADD COLUMN updated_at_us BIGINT NOT NULL DEFAULT 0;

-- A row is one version of a price; `code` names the price across its versions. A
-- subscription points at the version it was sold on (grandfathering).
ALTER TABLE prices ADD COLUMN code TEXT NOT NULL DEFAULT '';
ALTER TABLE prices ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE prices ADD COLUMN effective_from TEXT;
ALTER TABLE prices ADD COLUMN price_type TEXT NOT NULL DEFAULT 'recurring';
ALTER TABLE prices ADD COLUMN price_book TEXT;
ALTER TABLE prices ADD COLUMN definition TEXT NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX prices_code ON prices(tenant_id, product_id, code, version) WHERE code <> '';

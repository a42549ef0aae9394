-- Voice rating plans: destinations by number prefix, time bands, increments and rates,
-- stored as the app's canonical JSON under a per-tenant code. A usage price with the
-- `voice` model names one; billing rates an item's calls against it call by call.
CREATE TABLE voice_rating_plans (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    code          TEXT NOT NULL,
    currency      TEXT NOT NULL,
    definition    TEXT NOT NULL,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, code)
);

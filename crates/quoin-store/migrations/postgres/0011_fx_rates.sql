-- Exchange rates into a tenant's reporting currency, for MRR/ARR. One reporting currency
-- per tenant: every row of a tenant names the same one (enforced by the app).
CREATE TABLE fx_rates (
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    currency           TEXT NOT NULL,
    reporting_currency TEXT NOT NULL,
    -- Units of `currency` per one unit of `reporting_currency`, decimal text (> 0).
    rate               TEXT NOT NULL,
    updated_at_us      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, currency)
);

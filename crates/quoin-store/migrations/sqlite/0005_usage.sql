-- Usage: ingested events (the row is also the exactly-once dedup record), the suspense
-- queue of events that matched no subscription item, and incremental rollups per item,
-- metric, group and local day that answer "usage of an item in a period" without reading
-- the events. Hot-path tables carry their tenant but no foreign keys (checked by the app).

-- One row per accepted (tenant, event id): the primary key is the dedup record, written
-- in the same commit as the event. item_id is NULL while the event is in suspense.
CREATE TABLE usage_events (
    tenant_id   TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    item_id     TEXT,
    metric_code TEXT NOT NULL,
    ts_us       BIGINT NOT NULL,
    -- Decimal text; NULL when the event carried none.
    quantity    TEXT,
    -- JSON object of the event's properties; NULL when empty.
    properties  TEXT,
    -- (receive instant in µs << 10) | random bits: tells this batch's rows from earlier ones.
    batch_no    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
) WITHOUT ROWID;
CREATE INDEX usage_events_item ON usage_events(tenant_id, item_id, ts_us);

-- Events that matched nothing, with why and how they named their target.
CREATE TABLE usage_suspense (
    tenant_id       TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    reason          TEXT NOT NULL,
    subscription_ref TEXT,
    item_key        TEXT,
    metric_code     TEXT NOT NULL,
    ts_us           BIGINT NOT NULL,
    received_at_us  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX usage_suspense_received ON usage_suspense(tenant_id, received_at_us, event_id);

-- Per item, metric, group (JSON array of group-by values, '' without group-by) and day
-- (the account's local date): count, sum, max, min, latest value and the weighted-sum
-- integral Σ value × (day end − ts) in µs. Decimals as text, merged by the app.
CREATE TABLE usage_rollups (
    tenant_id   TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    metric_code TEXT NOT NULL,
    group_key   TEXT NOT NULL,
    day         TEXT NOT NULL,
    events      BIGINT NOT NULL,
    sum_value   TEXT NOT NULL,
    max_value   TEXT NOT NULL,
    min_value   TEXT NOT NULL,
    latest_us   BIGINT NOT NULL,
    latest_value TEXT NOT NULL,
    wsum_value  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, item_id, metric_code, group_key, day)
);

-- Unique count: each distinct value once per item, metric, group and day.
CREATE TABLE usage_unique (
    tenant_id   TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    metric_code TEXT NOT NULL,
    group_key   TEXT NOT NULL,
    day         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, item_id, metric_code, group_key, day, value)
);

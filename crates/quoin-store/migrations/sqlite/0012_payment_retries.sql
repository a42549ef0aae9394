-- Payment retries: a declined gateway charge of an invoice is tried again on the tenant's
-- retry days (days after the first failure) until the invoice is paid or the days run out.

-- The retry plan of one invoice (one at a time; a new failure after it ended starts another).
CREATE TABLE payment_retries (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    invoice_id     TEXT NOT NULL REFERENCES invoices(id),
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    gateway        TEXT NOT NULL,
    -- The gateway token the failed charge used; retries charge it again.
    payment_method TEXT NOT NULL,
    -- Date of the failure the retry days count from.
    failed_on      TEXT NOT NULL,
    -- JSON: the tenant's retry days when the plan was made, e.g. [1, 9, 13, 20].
    retry_days     TEXT NOT NULL,
    retries_done   BIGINT NOT NULL,
    -- NULL once no retry is left.
    next_retry_on  TEXT,
    -- scheduled, succeeded, stopped (paid otherwise), exhausted
    status         TEXT NOT NULL,
    updated_at_us  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, invoice_id)
);
CREATE INDEX payment_retries_due ON payment_retries(tenant_id, account_id, next_retry_on);

-- Every gateway charge attempt aimed at an invoice: the first (by request) and each retry.
CREATE TABLE payment_attempts (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    invoice_id    TEXT NOT NULL REFERENCES invoices(id),
    -- 1, 2, … in the order made.
    attempt       BIGINT NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    -- 0 for the charge by request, then the retry's number.
    retry         BIGINT NOT NULL,
    attempted_on  TEXT NOT NULL,
    -- The payment recorded (failed or succeeded); NULL when the gateway was unreachable.
    payment_id    TEXT,
    currency      TEXT NOT NULL,
    amount_minor  BIGINT NOT NULL,
    -- succeeded, declined, unavailable
    outcome       TEXT NOT NULL,
    failure_code  TEXT,
    created_at_us BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, invoice_id, attempt)
);

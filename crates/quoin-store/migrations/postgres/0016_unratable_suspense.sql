-- Why a suspended event could not be used, beyond its reason code: for `unratable` voice
-- CDRs the rating problem (e.g. no destination prefix of the plan matches the number).
ALTER TABLE usage_suspense ADD COLUMN detail TEXT;

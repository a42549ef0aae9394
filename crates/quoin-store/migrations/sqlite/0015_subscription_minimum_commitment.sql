-- A subscription's own minimum commitment per billing period (decimal text), replacing
-- the one its plan price may carry; null: the price's, if any.
ALTER TABLE subscriptions ADD COLUMN minimum_commitment TEXT;

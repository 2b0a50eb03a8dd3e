-- Orders created through the API carry the caller's Idempotency-Key: with the key store
-- in DynamoDB this makes a retried create return the first order even if the response
-- was lost between the commit and saving it.
ALTER TABLE orders ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX orders_idempotency_key ON orders (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- The account that owns a partner's orders (a CLIENT account named after the partner).
ALTER TABLE api_partners ADD COLUMN user_id uuid REFERENCES users (id);

-- Every price quoted, with the configuration version that produced it.
CREATE TABLE pricing_quotes (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    configuration_id       uuid NOT NULL REFERENCES pricing_configurations (id),
    order_id               uuid REFERENCES orders (id),
    user_id                uuid REFERENCES users (id),
    partner_id             uuid REFERENCES api_partners (id),
    inputs                 jsonb NOT NULL,
    breakdown              jsonb NOT NULL,
    delivery_fee_cents     bigint NOT NULL CHECK (delivery_fee_cents >= 0),
    created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pricing_quotes_order_idx ON pricing_quotes (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX pricing_quotes_created_idx ON pricing_quotes (created_at DESC);

-- CaterValley's delivery-fee configuration. The "beyond 10 miles" chart column is kept as
-- data; the active setting bills the within-10-miles fee plus mileage at any distance,
-- which is what partners are billed today. Switching is a new version, not a code change.
INSERT INTO pricing_configurations (id, slug, version, name, is_active, distance_threshold_miles,
    mileage_rate_cents, minimum_fee_cents, bridge_toll_cents, charge_bridge_toll,
    beyond_threshold_uses_within_fee, daily_drive_discount_cents, notes)
VALUES ('5ca7e11e-0000-4000-8000-000000000001', 'catervalley', 1, 'CaterValley', true, 10,
    300, 4250, 850, false, true, 0,
    'Bridge toll is paid by Ready Set to the driver, not charged to CaterValley.');

INSERT INTO pricing_tiers (configuration_id, tier_number, min_head_count, max_head_count,
    min_food_cost_cents, max_food_cost_cents, within_fee_cents, beyond_fee_cents, food_cost_basis_points)
VALUES
    ('5ca7e11e-0000-4000-8000-000000000001', 1, 0, 25, 0, 30000, 4250, 8500, NULL),
    ('5ca7e11e-0000-4000-8000-000000000001', 2, 26, 49, 30001, 59999, 5250, 9000, NULL),
    ('5ca7e11e-0000-4000-8000-000000000001', 3, 50, 74, 60000, 89999, 6250, 11000, NULL),
    ('5ca7e11e-0000-4000-8000-000000000001', 4, 75, 99, 90000, 119999, 7250, 12000, NULL),
    ('5ca7e11e-0000-4000-8000-000000000001', 5, 100, NULL, 120000, NULL, NULL, NULL, 1000);

-- Driver pay is data, like customer pricing: the base by head-count tier lives here and
-- can be changed without a release. The amounts below are the starting schedule.
CREATE TABLE driver_pay_tiers (
    tier_number    integer PRIMARY KEY,
    min_head_count integer NOT NULL CHECK (min_head_count >= 0),
    max_head_count integer CHECK (max_head_count IS NULL OR max_head_count >= min_head_count),
    base_cents     bigint NOT NULL CHECK (base_cents >= 0)
);
INSERT INTO driver_pay_tiers (tier_number, min_head_count, max_head_count, base_cents) VALUES
    (1, 0, 24, 2300),
    (2, 25, 49, 3300),
    (3, 50, 74, 4300),
    (4, 75, 99, 5300),
    (5, 100, NULL, 6300);

-- What each completed delivery paid its driver, and from what.
ALTER TABLE deliveries
    ADD COLUMN pay_base_cents    bigint,
    ADD COLUMN pay_mileage_cents bigint,
    ADD COLUMN pay_bonus_cents   bigint,
    ADD COLUMN pay_toll_cents    bigint,
    ADD COLUMN pay_tip_cents     bigint,
    ADD COLUMN pay_total_cents   bigint,
    ADD COLUMN pay_distance_miles numeric(8, 2),
    ADD COLUMN completed_at      timestamptz;
CREATE INDEX deliveries_driver_completed_idx ON deliveries (driver_id, completed_at DESC) WHERE completed_at IS NOT NULL;

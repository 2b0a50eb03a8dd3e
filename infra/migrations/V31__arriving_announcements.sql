-- When the partner heard `driver.arriving` for each stop of a delivery: once per stop.
ALTER TABLE deliveries
    ADD COLUMN arriving_pickup_announced_at timestamptz,
    ADD COLUMN arriving_dropoff_announced_at timestamptz;

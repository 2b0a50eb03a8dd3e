-- An accepted auto-dispatch offer times its delivery like an applied plan does: when the
-- driver is to be at the pickup and at the drop, and the pickup's place among the route's
-- stops, by the insertion that ranked the driver. A delivery's timetable comes from a plan
-- or from an offer, never both.
ALTER TABLE deliveries
    ADD COLUMN offer_id uuid REFERENCES dispatch_offers (id),
    DROP CONSTRAINT deliveries_planned_check,
    ADD CONSTRAINT deliveries_planned_check CHECK (
        (plan_id IS NULL OR offer_id IS NULL)
        AND (plan_id IS NULL AND offer_id IS NULL) = (planned_pickup_at IS NULL)
        AND (planned_pickup_at IS NULL) = (planned_dropoff_at IS NULL)
        AND (planned_pickup_at IS NULL) = (planned_sequence IS NULL)
        AND (planned_dropoff_at IS NULL OR planned_dropoff_at >= planned_pickup_at));

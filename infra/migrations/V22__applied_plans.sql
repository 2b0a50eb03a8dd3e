-- An applied plan's timetable on each delivery it assigned: the plan, when the driver is
-- to be at the pickup and at the drop, and the pickup's place among the route's stops, so
-- the driver's route of a day reads in order. Who applied a plan, and when.
ALTER TABLE deliveries
    ADD COLUMN plan_id            uuid REFERENCES dispatch_plans (id),
    ADD COLUMN planned_pickup_at  timestamptz,
    ADD COLUMN planned_dropoff_at timestamptz,
    ADD COLUMN planned_sequence   smallint CHECK (planned_sequence >= 0),
    ADD CONSTRAINT deliveries_planned_check CHECK (
        (plan_id IS NULL) = (planned_pickup_at IS NULL)
        AND (plan_id IS NULL) = (planned_dropoff_at IS NULL)
        AND (plan_id IS NULL) = (planned_sequence IS NULL)
        AND (planned_dropoff_at IS NULL OR planned_dropoff_at >= planned_pickup_at));
-- A driver's route of a day: its planned deliveries by time.
CREATE INDEX deliveries_driver_planned_idx ON deliveries (driver_id, planned_pickup_at)
    WHERE planned_pickup_at IS NOT NULL;
CREATE INDEX deliveries_plan_idx ON deliveries (plan_id) WHERE plan_id IS NOT NULL;

ALTER TABLE dispatch_plans
    ADD COLUMN applied_at timestamptz,
    ADD COLUMN applied_by uuid REFERENCES users (id),
    ADD CONSTRAINT dispatch_plans_applied_check
        CHECK ((status = 'APPLIED') = (applied_at IS NOT NULL AND applied_by IS NOT NULL));

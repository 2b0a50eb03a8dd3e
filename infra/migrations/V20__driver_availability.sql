-- A driver's planned working windows: route planning's vehicles (live shifts say who is
-- working now; these say who will work, when, from where to where, and in what). Set by
-- the driver for itself or by dispatching staff. `service_date` is the business day
-- (Pacific time, as every order date) the window starts on, which the day's list and
-- the planner read by.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE driver_availability (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    driver_id        uuid NOT NULL REFERENCES drivers (id),
    starts_at        timestamptz NOT NULL,
    ends_at          timestamptz NOT NULL,
    service_date     date NOT NULL
        GENERATED ALWAYS AS ((starts_at AT TIME ZONE 'America/Los_Angeles')::date) STORED,
    start_address_id uuid NOT NULL REFERENCES addresses (id),
    end_address_id   uuid NOT NULL REFERENCES addresses (id),
    vehicle_type     text NOT NULL CHECK (vehicle_type IN ('CAR', 'VAN', 'TRUCK')),
    created_by       uuid NOT NULL REFERENCES users (id),
    updated_by       uuid NOT NULL REFERENCES users (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- The API says the same with field names; these hold for every writer.
    CONSTRAINT driver_availability_span_check
        CHECK (ends_at > starts_at AND ends_at - starts_at <= interval '16 hours'),
    -- One driver is never planned in two places at once.
    CONSTRAINT driver_availability_no_overlap
        EXCLUDE USING gist (driver_id WITH =, tstzrange(starts_at, ends_at) WITH &&)
);
-- The day's list and the planner: every window of a day, by driver and time.
CREATE INDEX driver_availability_day_idx ON driver_availability (service_date, driver_id, starts_at);
CREATE INDEX driver_availability_start_address_idx ON driver_availability (start_address_id);
CREATE INDEX driver_availability_end_address_idx ON driver_availability (end_address_id);
CREATE TRIGGER driver_availability_updated_at BEFORE UPDATE ON driver_availability
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

ALTER TABLE staff_audits DROP CONSTRAINT IF EXISTS staff_audits_entity_type_check;
ALTER TABLE staff_audits
    ADD CONSTRAINT staff_audits_entity_type_check
        CHECK (entity_type IN ('ORDER', 'PRICING_CONFIGURATION', 'JOB_APPLICATION',
                               'DRIVER_AVAILABILITY'));

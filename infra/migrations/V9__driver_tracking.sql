-- Driver tracking: locations partitioned by UTC day of recording, so retention drops whole
-- partitions instead of deleting rows; one point per driver and instant, so a retried
-- batch stores nothing twice.
ALTER TABLE driver_locations RENAME TO driver_locations_unpartitioned;
ALTER INDEX driver_locations_pkey RENAME TO driver_locations_unpartitioned_pkey;
DROP INDEX driver_locations_driver_time_idx;
DROP INDEX driver_locations_location_gist;
DROP INDEX driver_locations_recorded_brin;

CREATE TABLE driver_locations (
    driver_id     uuid NOT NULL REFERENCES drivers (id),
    shift_id      uuid REFERENCES driver_shifts (id),
    location      geography(Point, 4326) NOT NULL,
    accuracy_m    real CHECK (accuracy_m IS NULL OR accuracy_m >= 0),
    speed_mps     real CHECK (speed_mps IS NULL OR speed_mps >= 0),
    heading_deg   real CHECK (heading_deg IS NULL OR (heading_deg >= 0 AND heading_deg < 360)),
    altitude_m    real,
    battery_level smallint CHECK (battery_level IS NULL OR battery_level BETWEEN 0 AND 100),
    is_moving     boolean,
    activity_type text,
    recorded_at   timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (driver_id, recorded_at)
) PARTITION BY RANGE (recorded_at);
-- A shift's track, in order (mileage).
CREATE INDEX driver_locations_shift_idx ON driver_locations (shift_id, recorded_at);

-- Creates the daily partitions from `from_day` to `to_day` (UTC) that do not exist yet;
-- returns how many it created. Safe to run concurrently.
CREATE FUNCTION driver_locations_ensure_partitions(from_day date, to_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    day date;
    created integer := 0;
BEGIN
    FOR day IN SELECT generate_series(from_day, to_day, interval '1 day')::date LOOP
        IF to_regclass('driver_locations_' || to_char(day, 'YYYYMMDD')) IS NULL THEN
            BEGIN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF driver_locations FOR VALUES FROM (%L) TO (%L)',
                    'driver_locations_' || to_char(day, 'YYYYMMDD'),
                    (day::timestamp AT TIME ZONE 'UTC'),
                    ((day + 1)::timestamp AT TIME ZONE 'UTC'));
                created := created + 1;
            EXCEPTION WHEN duplicate_table THEN
                NULL; -- another session created it first
            END;
        END IF;
    END LOOP;
    RETURN created;
END $$;

SELECT driver_locations_ensure_partitions(
    LEAST((now() AT TIME ZONE 'UTC')::date - 1,
          COALESCE((SELECT min(recorded_at AT TIME ZONE 'UTC')::date FROM driver_locations_unpartitioned), 'infinity')),
    (now() AT TIME ZONE 'UTC')::date + 7);
INSERT INTO driver_locations (driver_id, shift_id, location, accuracy_m, speed_mps, heading_deg,
                              altitude_m, battery_level, is_moving, activity_type, recorded_at, created_at)
SELECT driver_id, shift_id, location, accuracy_m, speed_mps, heading_deg, altitude_m,
       battery_level, is_moving, activity_type, recorded_at, created_at
  FROM driver_locations_unpartitioned
ON CONFLICT DO NOTHING;
DROP TABLE driver_locations_unpartitioned;

-- How many open deliveries a driver takes at once (nearest-driver search skips full ones).
ALTER TABLE drivers
    ADD COLUMN max_active_deliveries smallint NOT NULL DEFAULT 3 CHECK (max_active_deliveries > 0);
-- A driver's current dispatches (the cap, the driver's feed).
CREATE INDEX dispatches_driver_current_idx ON dispatches (driver_id) WHERE unassigned_at IS NULL;

-- The mileage the driver reports at the end of a shift, beside the tracked one.
ALTER TABLE driver_shifts ADD COLUMN reported_miles numeric(8, 2) CHECK (reported_miles >= 0);

-- A delivery belongs to the dispatch that created it.
ALTER TABLE deliveries ADD COLUMN dispatch_id uuid REFERENCES dispatches (id);

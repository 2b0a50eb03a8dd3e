-- Failed delivery attempts: the driver reached the drop-off (or set out for it) and could
-- not hand the food over. The order goes back to dispatch; the attempt stays on record
-- with its reason and photo, once per dispatch.
CREATE TABLE failed_attempts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id        uuid NOT NULL REFERENCES orders (id),
    dispatch_id     uuid NOT NULL UNIQUE REFERENCES dispatches (id),
    driver_id       uuid NOT NULL REFERENCES drivers (id),
    reason          text NOT NULL CHECK (reason IN ('NO_ONE_THERE', 'ADDRESS_WRONG', 'REFUSED', 'UNSAFE')),
    note            text CHECK (length(note) <= 500),
    -- The driver's photo at the drop-off (an upload of category POD made for the order).
    photo_upload_id uuid NOT NULL REFERENCES file_uploads (id),
    location        geography(Point, 4326),
    history_id      bigint NOT NULL REFERENCES order_status_history (id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX failed_attempts_order_idx ON failed_attempts (order_id, created_at);
CREATE INDEX failed_attempts_driver_idx ON failed_attempts (driver_id, created_at);

-- A delivery that ended in a failed attempt: paid (the trip, not the tip) and ended
-- (completed_at), but not a completed delivery.
ALTER TABLE deliveries ADD COLUMN failed_at timestamptz;

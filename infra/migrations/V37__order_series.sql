-- Recurring catering orders: a series makes an ordinary order for each date of its
-- recurrence rule, a horizon ahead, from the order it keeps as a template.
CREATE TABLE order_series (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- Whose orders they are (a client or vendor), and who set the series up.
    user_id       uuid NOT NULL REFERENCES users (id),
    created_by    uuid NOT NULL REFERENCES users (id),
    -- An RFC 5545 RRULE value (FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE), counted from starts_on
    -- in Pacific time; the series' last day is ends_on.
    rule          text NOT NULL CHECK (length(rule) BETWEEN 1 AND 200),
    starts_on     date NOT NULL,
    ends_on       date CHECK (ends_on IS NULL OR ends_on >= starts_on),
    -- Local (Pacific) times of each occurrence: the same wall-clock time across daylight
    -- saving changes.
    pickup_time   time NOT NULL,
    arrival_time  time NOT NULL CHECK (arrival_time > pickup_time),
    horizon_days  integer NOT NULL DEFAULT 14 CHECK (horizon_days BETWEEN 1 AND 366),
    -- The catering order body each occurrence is placed with, without its two times.
    template      jsonb NOT NULL,
    paused_at     timestamptz,
    -- Counts the times an edit or a pause cancelled the orders to come: part of each
    -- date's idempotency key, so a date placed again after a resume is a new order.
    generation    integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_series_user_idx ON order_series (user_id, created_at DESC, id DESC);
CREATE INDEX order_series_created_idx ON order_series (created_at DESC, id DESC);
CREATE TRIGGER order_series_updated_at BEFORE UPDATE ON order_series FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Each date of a series the job has dealt with, once: its order, a skip (an exception),
-- or a creation that failed and why. The primary key makes a second run create nothing.
CREATE TABLE order_series_occurrences (
    series_id   uuid NOT NULL REFERENCES order_series (id),
    occurs_on   date NOT NULL,
    status      text NOT NULL CHECK (status IN ('CREATED', 'SKIPPED', 'FAILED')),
    order_id    uuid REFERENCES orders (id),
    error       text CHECK (length(error) <= 500),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (series_id, occurs_on),
    CHECK ((status = 'CREATED') <= (order_id IS NOT NULL)),
    CHECK ((status = 'FAILED') = (error IS NOT NULL))
);
CREATE INDEX order_series_occurrences_order_idx ON order_series_occurrences (order_id) WHERE order_id IS NOT NULL;

-- A failed occurrence is emailed to its client: a customer email that no order carries.
ALTER TABLE outbox ALTER COLUMN order_id DROP NOT NULL;
ALTER TABLE outbox ADD CONSTRAINT outbox_order_kinds CHECK (order_id IS NOT NULL OR kind = 'CUSTOMER_EMAIL');
-- Found by a purge, by recipient.
CREATE INDEX outbox_orderless_idx ON outbox (created_at) WHERE order_id IS NULL;

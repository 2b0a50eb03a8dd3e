-- Auto-dispatch: an order without a driver is offered to one driver at a time, the best by
-- added drive time, each offer with a deadline; a decline or expiry offers the next, and
-- after the last attempt (or with no one to offer it to) the order is escalated to staff.

-- What auto-dispatch does per order type. Staff edit it; every change is audited.
CREATE TABLE auto_dispatch_settings (
    order_type          text PRIMARY KEY CHECK (order_type IN ('CATERING', 'ON_DEMAND')),
    enabled             boolean NOT NULL DEFAULT false,
    -- How long a driver has to accept.
    acceptance_seconds  integer NOT NULL DEFAULT 45 CHECK (acceptance_seconds BETWEEN 10 AND 600),
    -- How long before its pickup window a catering order starts being offered.
    horizon_minutes     integer NOT NULL DEFAULT 180 CHECK (horizon_minutes BETWEEN 15 AND 1440),
    -- Offers made before the order is escalated.
    max_attempts        integer NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 50),
    -- Orders a vehicle carries at once, offers included, per vehicle type.
    max_carried_car     integer NOT NULL DEFAULT 3 CHECK (max_carried_car BETWEEN 1 AND 10),
    max_carried_van     integer NOT NULL DEFAULT 3 CHECK (max_carried_van BETWEEN 1 AND 10),
    max_carried_truck   integer NOT NULL DEFAULT 2 CHECK (max_carried_truck BETWEEN 1 AND 10),
    updated_by          uuid REFERENCES users (id),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
INSERT INTO auto_dispatch_settings (order_type) VALUES ('CATERING'), ('ON_DEMAND');
CREATE TRIGGER auto_dispatch_settings_updated_at BEFORE UPDATE ON auto_dispatch_settings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- One offer of one order to one driver. Its status changes once, from PENDING, by a
-- conditional update: an accept racing the expiry has one winner.
CREATE TABLE dispatch_offers (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_id            uuid NOT NULL REFERENCES orders (id),
    driver_id           uuid NOT NULL REFERENCES drivers (id),
    -- 1 for the order's first offer.
    attempt             integer NOT NULL CHECK (attempt >= 1),
    status              text NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING', 'ACCEPTED', 'DECLINED', 'EXPIRED', 'WITHDRAWN')),
    -- What taking it adds to the driver's route, by the routing core's insertion.
    added_drive_seconds integer NOT NULL CHECK (added_drive_seconds >= 0),
    offered_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    answered_at         timestamptz,
    decline_reason      text CHECK (char_length(decline_reason) <= 500),
    CHECK ((status = 'PENDING') = (answered_at IS NULL)),
    CHECK (expires_at > offered_at)
);
-- One pending offer per order and one per driver.
CREATE UNIQUE INDEX dispatch_offers_pending_order_key ON dispatch_offers (order_id) WHERE status = 'PENDING';
CREATE UNIQUE INDEX dispatch_offers_pending_driver_key ON dispatch_offers (driver_id) WHERE status = 'PENDING';
CREATE INDEX dispatch_offers_order_idx ON dispatch_offers (order_id, offered_at);
CREATE INDEX dispatch_offers_expiry_idx ON dispatch_offers (expires_at) WHERE status = 'PENDING';
CREATE INDEX dispatch_offers_listed_idx ON dispatch_offers (offered_at DESC, id DESC);

-- Orders auto-dispatch gave up on: they wait for a dispatcher, who may assign at any time.
-- An order is escalated once; a dispatcher's assignment ends it.
CREATE TABLE dispatch_escalations (
    order_id     uuid PRIMARY KEY REFERENCES orders (id),
    reason       text NOT NULL CHECK (reason IN ('NO_CANDIDATE', 'ATTEMPTS_EXHAUSTED')),
    attempts     integer NOT NULL,
    escalated_at timestamptz NOT NULL DEFAULT now(),
    -- When the sweep raised its alert.
    alerted_at   timestamptz,
    -- Once the order has a driver or is closed; its alert resolves then.
    resolved_at  timestamptz
);
CREATE INDEX dispatch_escalations_open_idx ON dispatch_escalations (escalated_at) WHERE resolved_at IS NULL;

ALTER TABLE staff_audits DROP CONSTRAINT IF EXISTS staff_audits_entity_type_check;
ALTER TABLE staff_audits
    ADD CONSTRAINT staff_audits_entity_type_check
        CHECK (entity_type IN ('ORDER', 'PRICING_CONFIGURATION', 'JOB_APPLICATION',
                               'DRIVER_AVAILABILITY', 'AUTO_DISPATCH_SETTINGS'));

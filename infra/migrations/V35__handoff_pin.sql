-- The hand-off PIN: a completion may require a code the recipient is sent as the driver
-- arrives, and the driver enters to complete.
ALTER TABLE completion_requirements ADD COLUMN pin boolean NOT NULL DEFAULT false;

-- The code itself is never stored, nor a hash of it (four digits hash to nothing secret):
-- it is derived from the signed-link key, the delivery and this nonce, drawn afresh each
-- time a code is sent. Five wrong codes lock it; staff then complete the order.
ALTER TABLE deliveries
    ADD COLUMN handoff_pin_nonce       uuid,
    ADD COLUMN handoff_pin_failures    integer NOT NULL DEFAULT 0 CHECK (handoff_pin_failures >= 0),
    ADD COLUMN handoff_pin_verified_at timestamptz;

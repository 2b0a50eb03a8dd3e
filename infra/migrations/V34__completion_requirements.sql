-- What a driver must record before completing an order: per order type, and per client
-- (a client's rule replaces its order type's). No row: nothing required.
CREATE TABLE completion_requirements (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_type text CHECK (order_type IN ('CATERING', 'ON_DEMAND')),
    client_id  uuid REFERENCES users (id),
    photo      boolean NOT NULL DEFAULT false,
    signature  boolean NOT NULL DEFAULT false,
    updated_by uuid REFERENCES users (id),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((order_type IS NULL) <> (client_id IS NULL))
);
CREATE UNIQUE INDEX completion_requirements_order_type_key ON completion_requirements (order_type)
    WHERE order_type IS NOT NULL;
CREATE UNIQUE INDEX completion_requirements_client_key ON completion_requirements (client_id)
    WHERE client_id IS NOT NULL;

ALTER TABLE staff_audits DROP CONSTRAINT IF EXISTS staff_audits_entity_type_check;
ALTER TABLE staff_audits
    ADD CONSTRAINT staff_audits_entity_type_check
        CHECK (entity_type IN ('ORDER', 'PRICING_CONFIGURATION', 'JOB_APPLICATION',
                               'DRIVER_AVAILABILITY', 'AUTO_DISPATCH_SETTINGS', 'API_PARTNER',
                               'COMPLETION_REQUIREMENTS'));
